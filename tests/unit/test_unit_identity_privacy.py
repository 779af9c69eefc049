"""Consent per purpose, the signed unsubscribe token, and SES feedback for the suppression list."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from services.common.contracts.registry import EventCollected
from services.identity.domain.consent import (
    Decision,
    apply_consent,
    as_bool,
    event_consent,
    granted,
    unsubscribe_token,
    verify_unsubscribe_token,
)
from services.identity.domain.suppression import feedback

T1, T2 = "2026-03-01T10:00:00.000Z", "2026-03-02T10:00:00.000Z"
KEY = b"k" * 48


def test_consent_is_kept_per_purpose_with_time_and_source() -> None:
    state, changed = apply_consent({}, {"email_marketing": True, "tracking": False}, T1, "signup-form")
    assert state["email_marketing"] == Decision(True, T1, "signup-form")
    assert set(changed) == {"email_marketing", "tracking"}
    assert granted(state) == {"tracking": False, "email_marketing": True, "personalisation": None}


def test_an_older_decision_never_overrides_a_newer_one_and_a_repeat_changes_nothing() -> None:
    state, _ = apply_consent({}, {"email_marketing": False}, T2, "unsubscribe")
    older, changed = apply_consent(state, {"email_marketing": True}, T1, "import")
    assert older == state
    assert changed == {}
    again, changed = apply_consent(state, {"email_marketing": False}, T2, "unsubscribe")
    assert (again, changed) == (state, {})


def test_consent_from_segments_consent_object_in_the_event_context() -> None:
    at = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
    event = EventCollected.model_validate(
        {
            "messageId": "m",
            "type": "track",
            "event": "Consent Updated",
            "timestamp": at,
            "receivedAt": at,
            "sourceId": "site",
            "context": {"consent": {"categoryPreferences": {"analytics": True, "newsletter": "no", "ads": True}}},
        }
    )
    assert event_consent(event) == {"tracking": True, "email_marketing": False}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("yes", True),
        ("No", False),
        ("1", True),
        (0, False),
        (True, True),
        ("granted", True),
        ("maybe", None),
        (2, None),
    ],
)
def test_consent_values_from_forms_and_files(value: Any, expected: bool | None) -> None:
    assert as_bool(value) is expected


def test_an_unsubscribe_token_names_its_profile_and_cannot_be_forged() -> None:
    token = unsubscribe_token("0196b1c2-profile", KEY)
    assert verify_unsubscribe_token(token, KEY) == "0196b1c2-profile"
    # another profile id with the same signature, another key, a truncated or garbled token: all refused
    version, _, signature = token.split(".")
    assert verify_unsubscribe_token(f"{version}.other-profile.{signature}", KEY) is None
    assert verify_unsubscribe_token(token, b"x" * 48) is None
    assert verify_unsubscribe_token(token[:-2], KEY) is None
    assert verify_unsubscribe_token("u1..", KEY) is None
    assert verify_unsubscribe_token("not a token", KEY) is None


def ses(kind: str, **body: Any) -> dict[str, Any]:
    return {"eventType": kind, "mail": {"messageId": "ses-1", "destination": ["x@example.com"]}, **body}


def test_a_hard_bounce_suppresses_each_bounced_recipient() -> None:
    detail = ses(
        "Bounce",
        bounce={
            "bounceType": "Permanent",
            "bounceSubType": "General",
            "bouncedRecipients": [{"emailAddress": "Ana@Example.com"}, {"emailAddress": "bo@example.com"}],
        },
    )
    found = feedback("Email Bounced", detail)
    assert found is not None
    assert found.reason == "bounce"
    assert found.addresses == ("ana@example.com", "bo@example.com")
    assert found.detail == {"sesMessageId": "ses-1", "bounceSubType": "General"}


def test_a_transient_bounce_suppresses_nothing() -> None:
    detail = ses("Bounce", bounce={"bounceType": "Transient", "bouncedRecipients": [{"emailAddress": "a@b.co"}]})
    assert feedback("Email Bounced", detail) is None


def test_a_complaint_suppresses_the_complaining_recipient() -> None:
    detail = ses("Complaint", complaint={"complainedRecipients": [{"emailAddress": "cy@example.com"}]})
    found = feedback("Email Complaint Received", detail)
    assert found is not None
    assert (found.reason, found.addresses) == ("complaint", ("cy@example.com",))


def test_other_notifications_and_malformed_ones_suppress_nothing() -> None:
    assert feedback("Email Delivered", ses("Delivery")) is None
    assert feedback("Email Bounced", {"bounce": "?"}) is None
    assert (
        feedback("Email Complaint Received", ses("Complaint", complaint={"complainedRecipients": [{"x": 1}]})) is None
    )
