"""Scheduled entry (every minute): memberships and tiers that change with time alone — a window sliding past,
points decaying — change now, with no event needed from the visitor; stalled backfills are requested again."""

from __future__ import annotations

from typing import Any

from services.common import observability
from services.segments import app
from services.segments.use_cases import resend_stalled, sweep

log = observability.logger("segments")
SAFETY_MS = 10_000  # stop taking new pages this long before the function's timeout


@log.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, int]:
    repo = app.segments()
    catalog = app.catalog(repo)
    figures = sweep(repo, app.publisher(), catalog, budget=lambda: context.get_remaining_time_in_millis() > SAFETY_MS)
    found = repo.definitions()
    figures["backfillsResent"] = resend_stalled(repo, app.publisher(), found.segments, found.generation)
    log.info("sweep done", extra=figures)
    return figures
