"""Journeys: the execution name (one run per profile and journey), definition validation, email data."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.journeys.domain.definition import MAX_WAIT_SECONDS, DefinitionError, WaitNode, parse
from services.journeys.use_cases.entries import execution_name, run_id_of
from services.journeys.use_cases.sending import email_template_name, template_data

SAFE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,80}$")

any_id = st.text(min_size=1, max_size=200)
uuids = st.uuids().map(str)


# ---- run ids and execution names -------------------------------------------------------------------------


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])  # unicode tables load once
@given(journey_id=any_id, profile_id=any_id, entry_key=any_id)
def test_an_execution_name_is_a_valid_step_functions_name_and_deterministic(
    journey_id: str, profile_id: str, entry_key: str
) -> None:
    run_id = run_id_of(journey_id, profile_id, entry_key)
    name = execution_name(run_id, profile_id)
    assert SAFE_NAME.match(name)
    assert name == execution_name(run_id_of(journey_id, profile_id, entry_key), profile_id)


@given(profile_id=uuids, journey_id=uuids)
def test_our_profile_ids_end_the_execution_name_so_an_operator_finds_a_persons_runs(
    profile_id: str, journey_id: str
) -> None:
    assert execution_name(run_id_of(journey_id, profile_id, "event-1"), profile_id).endswith(f"-{profile_id}")


@given(first=st.tuples(uuids, uuids, any_id), second=st.tuples(uuids, uuids, any_id))
def test_distinct_entries_give_distinct_runs(first: tuple[str, str, str], second: tuple[str, str, str]) -> None:
    if first != second:
        assert run_id_of(*first) != run_id_of(*second)


def test_email_templates_are_per_journey_version_and_node() -> None:
    assert email_template_name("j-1", 2, "welcome") == "journey-j-1-v2-welcome"


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


def test_a_valid_definition_is_accepted_as_segment_entered_then_wait_then_email() -> None:
    parsed = parse(definition())
    assert parsed.entry.trigger.segment_entered == "seg-new"
    wait = parsed.nodes[0]
    assert isinstance(wait, WaitNode) and (parsed.start, wait.seconds, wait.next) == ("wait", 3600, "email")


def test_a_wait_of_one_year_is_the_longest_accepted() -> None:
    wait = parse(definition(waitSeconds=MAX_WAIT_SECONDS)).nodes[0]
    assert isinstance(wait, WaitNode) and wait.seconds == 365 * 86400
    with pytest.raises(DefinitionError) as refused:
        parse(definition(waitSeconds=MAX_WAIT_SECONDS + 1))
    assert [path for path, _ in refused.value.errors] == ["waitSeconds"]


def test_a_negative_wait_is_refused() -> None:
    with pytest.raises(DefinitionError):
        parse(definition(waitSeconds=-1))


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
    with pytest.raises(DefinitionError) as refused:
        parse(definition(email=email))
    assert [path for path, _ in refused.value.errors] == [f"email.{part}"]


def test_placeholders_closed_before_they_are_opened_are_refused() -> None:
    # Given a subject whose braces are equal in number but in the wrong order (Handlebars cannot render it)
    email = {**definition()["email"], "subject": "Hi }}firstName{{"}

    # Then the definition is refused up front rather than failing at send time
    with pytest.raises(DefinitionError):
        parse(definition(email=email))


def test_unknown_fields_are_refused() -> None:
    with pytest.raises(DefinitionError):
        parse(definition(steps=[]))


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
