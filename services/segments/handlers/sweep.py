"""Scheduled entry: ends memberships whose rolling window has passed."""

from __future__ import annotations

from typing import Any

from services.common import observability
from services.segments import app
from services.segments.use_cases import sweep

log = observability.logger("segments")


@log.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, int]:
    exits = sweep(app.segments(), app.publisher())
    log.info("sweep done", extra={"exits": exits})
    return {"exits": exits}
