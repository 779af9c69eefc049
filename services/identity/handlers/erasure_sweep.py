"""Scheduled entry (every 5 minutes): the last step of each erasure — lift the fences erected more than 10 minutes
ago, with anything appended after them, so nothing keyed by an erased profile's id is left in identity."""

from __future__ import annotations

from typing import Any

from services.common import clock, observability
from services.identity import app
from services.identity.use_cases.privacy import lift_fences

log = observability.logger("identity")


@log.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, int]:
    lifted = lift_fences(app.profiles(), clock.now())
    if lifted:
        log.info("erasure fences lifted", extra={"fences": lifted})
    return {"fencesLifted": lifted}
