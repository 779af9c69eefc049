"""Fixtures shared by the journeys integration tests."""

from __future__ import annotations

import copy
import threading
from typing import Any

import pytest
from moto.dynamodb.models import DynamoDBBackend


@pytest.fixture
def atomic_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    """DynamoDB applies each write request atomically (its condition, its update and the values it returns; a
    transaction as a whole); moto, called from threads, checks the condition, then parses and applies the update,
    and answers the live item, so another thread may write in between or change the answer. Races (claims,
    registrations, redemptions from threads) need DynamoDB's guarantee, so each moto write request runs under one
    lock and answers a copy; the steps of a use case (reads, several requests) still interleave freely."""
    lock = threading.RLock()
    for name in ("put_item", "update_item", "delete_item", "transact_write_items"):
        original = getattr(DynamoDBBackend, name)

        def atomic(self: Any, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
            with lock:
                return copy.deepcopy(_original(self, *args, **kwargs))

        monkeypatch.setattr(DynamoDBBackend, name, atomic)
