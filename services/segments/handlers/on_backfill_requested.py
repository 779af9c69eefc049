"""Consumer: SegmentBackfillRequested → evaluate one page of existing profiles, then request the next page."""

from services.common.consumer import sqs_handler
from services.segments import app
from services.segments.use_cases import run_backfill_page


def _page(envelope: object) -> object:
    repo = app.segments()
    return run_backfill_page(
        envelope,  # type: ignore[arg-type]
        repo,
        app.publisher(),
        lambda generation: app.catalog(repo, min_generation=generation),
    )


handler = sqs_handler("segments", {"SegmentBackfillRequested": _page})
