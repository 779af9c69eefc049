"""What the pause function needs: the account's reputation rates and a switch for the platform's sending."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from services.operations.domain.reputation import Rates


class Reputation(Protocol):
    def rates(self, now: datetime) -> Rates: ...


class SendingSwitch(Protocol):
    @property
    def configuration_set(self) -> str: ...

    def pause(self) -> None: ...
