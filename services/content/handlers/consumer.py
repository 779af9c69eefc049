"""Consumer: the visitor read model (activity, memberships, scores, answers, traits, consent, merges), content
analytics and experiment conversions; erasure of everything content holds about a person."""

from __future__ import annotations

from typing import Any

from services.common import clock
from services.common.consumer import sqs_handler
from services.common.contracts import Envelope
from services.common.erasure import erased_profile_ids
from services.content import app
from services.content.domain import visitors
from services.content.use_cases import privacy
from services.content.use_cases.visitors import merge, record_activity, update


def _membership(envelope: Envelope[Any], member: bool) -> None:
    d = envelope.data
    update(
        app.content(), d.profile_id, lambda s: visitors.set_membership(s, d.segment_id, member, d.sequence), clock.now()
    )


def _score(envelope: Envelope[Any]) -> None:
    d = envelope.data
    update(
        app.content(),
        d.profile_id,
        lambda s: visitors.set_score(s, d.plan_id, d.score, d.tier, d.sequence),
        clock.now(),
    )


def _answer(envelope: Envelope[Any]) -> None:
    d = envelope.data
    change = lambda s: visitors.set_answer(s, d.questionnaire_id, d.segment, d.sequence)  # noqa: E731
    update(app.content(), d.profile_id, change, clock.now())


def _traits(envelope: Envelope[Any]) -> None:
    d = envelope.data
    update(app.content(), d.profile_id, lambda s: visitors.set_traits(s, d.changed), clock.now())


def _consent(envelope: Envelope[Any]) -> None:
    d = envelope.data
    update(app.content(), d.profile_id, lambda s: visitors.set_consent(s, d.purpose, d.granted), clock.now())


def _activity(envelope: Envelope[Any]) -> None:
    data = envelope.data.model_dump(by_alias=True, mode="json")
    record_activity(app.content(), app.definitions(), envelope.data.profile_id, data, clock.now())


def _merged(envelope: Envelope[Any]) -> None:
    d = envelope.data
    merge(app.content(), d.surviving_profile_id, d.merged_profile_id, clock.now())


def _erase(envelope: Envelope[Any]) -> None:
    """The survivor and every profile merged into it: state, visitors, exposures, markers."""
    for profile_id in erased_profile_ids(envelope.data):
        privacy.erase(app.content(), profile_id, envelope.data.identifiers, clock.now())


handler = sqs_handler(
    "content",
    {
        "ActivityRecorded": _activity,
        "SegmentEntered": lambda e: _membership(e, True),
        "SegmentExited": lambda e: _membership(e, False),
        "ScoreChanged": _score,
        "QuestionnaireSegmentAssigned": _answer,
        "ProfileUpdated": _traits,
        "ConsentChanged": _consent,
        "ProfilesMerged": _merged,
        "ProfileErased": _erase,
    },
)
