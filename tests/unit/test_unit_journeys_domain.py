"""Journeys: the execution name (one run per profile and journey), definition validation, email data."""

from __future__ import annotations

import re
import string
import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from services.journeys.domain.journeys import (
    MAX_WAIT_SECONDS,
    JourneyDefinition,
    execution_name,
    template_data,
    template_name,
)

SAFE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,80}$")

any_id = st.text(min_size=1, max_size=200)
uuids = st.uuids().map(str)
long_safe_ids = st.text(alphabet=string.ascii_letters + string.digits + "_", min_size=40, max_size=200)


# ---- execution names -------------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])  # unicode tables load once
@given(journey_id=any_id, profile_id=any_id)
def test_an_execution_name_is_a_valid_step_functions_name_and_deterministic(journey_id: str, profile_id: str) -> None:
    name = execution_name(journey_id, profile_id)
    assert SAFE_NAME.match(name), name
    assert execution_name(journey_id, profile_id) == name


def test_our_ids_give_a_readable_name_and_long_ids_a_readable_prefix_within_80_chars() -> None:
    journey, profile = str(uuid.UUID(int=1)), str(uuid.UUID(int=2))
    assert execution_name(journey, profile) == f"{journey}-{profile}"
    long_name = execution_name("j" * 60, "p" * 60)
    assert len(long_name) <= 80
    assert long_name.startswith("j" * 50)


@given(first=st.tuples(uuids, uuids), second=st.tuples(uuids, uuids))
def test_distinct_uuid_pairs_give_distinct_names(first: tuple[str, str], second: tuple[str, str]) -> None:
    if first != second:
        assert execution_name(*first) != execution_name(*second)


@given(first=st.tuples(long_safe_ids, long_safe_ids), second=st.tuples(long_safe_ids, long_safe_ids))
def test_distinct_long_ids_give_distinct_names(first: tuple[str, str], second: tuple[str, str]) -> None:
    if first != second:
        assert execution_name(*first) != execution_name(*second)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        pytest.param(("journey-1", "ana.b@example.com"), ("journey-1", "ana_b@example_com"), id="unsafe-characters"),
        pytest.param(("j-1", "p"), ("j", "1-p"), id="hyphen-in-an-id"),
        pytest.param(("j-" + "x" * 60, "p" * 40), ("j", "x" * 60 + "-" + "p" * 40), id="hyphen-in-a-long-id"),
    ],
)
def test_distinct_id_pairs_never_share_an_execution_name(first: tuple[str, str], second: tuple[str, str]) -> None:
    # Given two different (journey, profile) pairs
    assert first != second

    # Then they get different names: a shared name would make Step Functions refuse the second run
    assert execution_name(*first) != execution_name(*second)


def test_template_names_are_per_journey() -> None:
    assert template_name("j-1") == "journey-j-1"


# ---- definitions -----------------------------------------------------------------------------------------


def definition(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Welcome",
        "trigger": {"segmentEntered": "seg-new"},
        "waitSeconds": 3600,
        "email": {"subject": "Hi {{firstName}}", "html": "<p>Hello {{firstName}}</p>", "text": "Hello"},
    }
    body.update(overrides)
    return body


def test_a_valid_definition_is_accepted() -> None:
    parsed = JourneyDefinition.model_validate(definition())
    assert (parsed.trigger.segment_entered, parsed.wait_seconds) == ("seg-new", 3600)


def test_a_wait_of_one_year_is_the_longest_accepted() -> None:
    assert JourneyDefinition.model_validate(definition(waitSeconds=MAX_WAIT_SECONDS)).wait_seconds == 365 * 86400
    with pytest.raises(ValidationError) as refused:
        JourneyDefinition.model_validate(definition(waitSeconds=MAX_WAIT_SECONDS + 1))
    assert [e["loc"] for e in refused.value.errors()] == [("waitSeconds",)]


def test_a_negative_wait_is_refused() -> None:
    with pytest.raises(ValidationError):
        JourneyDefinition.model_validate(definition(waitSeconds=-1))


@pytest.mark.parametrize(
    ("part", "value"),
    [
        ("subject", "Hi {{firstName}"),
        ("html", "<p>{{firstName}}, {{plan</p>"),
        ("text", "Hello firstName}}"),
    ],
)
def test_unbalanced_placeholders_are_refused_by_field(part: str, value: str) -> None:
    email = {**definition()["email"], part: value}
    with pytest.raises(ValidationError) as refused:
        JourneyDefinition.model_validate(definition(email=email))
    assert [e["loc"] for e in refused.value.errors()] == [("email", part)]


def test_placeholders_closed_before_they_are_opened_are_refused() -> None:
    # Given a subject whose braces are equal in number but in the wrong order (Handlebars cannot render it)
    email = {**definition()["email"], "subject": "Hi }}firstName{{"}

    # Then the definition is refused up front rather than failing at send time
    with pytest.raises(ValidationError):
        JourneyDefinition.model_validate(definition(email=email))


def test_unknown_fields_are_refused() -> None:
    with pytest.raises(ValidationError):
        JourneyDefinition.model_validate(definition(steps=[]))


# ---- template data ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "contact",
    [{}, {"traits": None}, {"traits": {}}, {"traits": {"firstName": ""}}, {"traits": {"firstName": None}}],
)
def test_the_first_name_falls_back_to_there(contact: dict[str, Any]) -> None:
    assert template_data(contact)["firstName"] == "there"


def test_template_data_keeps_scalar_traits_and_the_real_first_name() -> None:
    contact = {"traits": {"firstName": "Ana", "plan": "pro", "seats": 3, "vip": True, "address": {"city": "Lyon"}}}
    assert template_data(contact) == {"firstName": "Ana", "plan": "pro", "seats": 3, "vip": True}


def test_template_data_uses_the_contact_first_name_when_traits_lack_one() -> None:
    assert template_data({"firstName": "Léa", "traits": {"plan": "pro"}}) == {"firstName": "Léa", "plan": "pro"}
