"""Consumer of the journeys service: triggers enter profiles, activity moves runs, erasures stop them."""

from typing import Any

from services.common.consumer import sqs_handler
from services.journeys import app
from services.journeys.use_cases import privacy, reactions


def _with(use_case: Any) -> Any:
    def run(incoming: Any) -> Any:
        repo = app.journeys()
        return use_case(incoming, app.catalog(repo), repo, app.runner(), app.directory(), app.publisher())

    return run


def _activity(incoming: Any) -> Any:
    repo = app.journeys()
    return reactions.on_activity(
        incoming,
        app.catalog(repo),
        repo,
        app.runner(),
        app.directory(),
        app.publisher(),
        lambda j, v: app.version(repo, j, v),
    )


handler = sqs_handler(
    "journeys",
    {
        "SegmentEntered": _with(reactions.on_segment_entered),
        "SegmentExited": _with(reactions.on_segment_exited),
        "ScoreThresholdCrossed": _with(reactions.on_threshold_crossed),
        "ProfileUpdated": _with(reactions.on_profile_updated),
        "ActivityRecorded": _activity,
        "ProfileErased": lambda e: privacy.erase_profile(e, app.journeys(), app.runner()),
        "ConsentChanged": lambda e: reactions.on_consent_changed(e, app.journeys()),
    },
)
