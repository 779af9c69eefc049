"""Consumer: activity, profile, merge, erasure and score-points events → the profile's segmentation rollup."""

from services.common.consumer import sqs_handler
from services.segments import app
from services.segments.use_cases import (
    erase_profile,
    fold_profiles,
    record_activity,
    record_points,
    record_profile_update,
    unfold_profiles,
)

# - ActivityRecorded and ProfileUpdated → the profile's rollup, scores and memberships, in real time;
# - ProfilesMerged / ProfilesUnmerged → the folded profile's rollup joins the survivor's (or comes back);
# - ProfileErased → the rollup is erased;
# - ScorePointsRequested (a journey's addScore step) → points in a plan.


def _activity(envelope: object) -> object:
    repo = app.segments()
    return record_activity(envelope, repo, app.publisher(), app.catalog(repo))  # type: ignore[arg-type]


def _profile_updated(envelope: object) -> object:
    repo = app.segments()
    return record_profile_update(envelope, repo, app.publisher(), app.catalog(repo))  # type: ignore[arg-type]


def _merged(envelope: object) -> object:
    repo = app.segments()
    return fold_profiles(envelope, repo, app.publisher(), app.catalog(repo))  # type: ignore[arg-type]


def _unmerged(envelope: object) -> object:
    repo = app.segments()
    return unfold_profiles(envelope, repo, app.publisher(), app.catalog(repo))  # type: ignore[arg-type]


def _points(envelope: object) -> object:
    repo = app.segments()
    return record_points(envelope, repo, app.publisher(), app.catalog(repo))  # type: ignore[arg-type]


def _erased(envelope: object) -> object:
    return erase_profile(envelope, app.segments())  # type: ignore[arg-type]


handler = sqs_handler(
    "segments",
    {
        "ActivityRecorded": _activity,
        "ProfileUpdated": _profile_updated,
        "ProfilesMerged": _merged,
        "ProfilesUnmerged": _unmerged,
        "ProfileErased": _erased,
        "ScorePointsRequested": _points,
    },
)
