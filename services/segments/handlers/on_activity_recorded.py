"""Consumer: ActivityRecorded and ProfileUpdated → the profile's rollup, scores and memberships, in real time;
ProfileErased → the rollup is erased."""

from services.common.consumer import sqs_handler
from services.segments import app
from services.segments.use_cases import erase_profile, record_activity, record_profile_update


def _activity(envelope: object) -> object:
    repo = app.segments()
    return record_activity(envelope, repo, app.publisher(), app.catalog(repo))  # type: ignore[arg-type]


def _profile_updated(envelope: object) -> object:
    repo = app.segments()
    return record_profile_update(envelope, repo, app.publisher(), app.catalog(repo))  # type: ignore[arg-type]


def _erased(envelope: object) -> object:
    return erase_profile(envelope, app.segments())  # type: ignore[arg-type]


handler = sqs_handler(
    "segments", {"ActivityRecorded": _activity, "ProfileUpdated": _profile_updated, "ProfileErased": _erased}
)
