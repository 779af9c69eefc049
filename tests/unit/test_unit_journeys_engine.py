"""Journeys engine: the definition validator (refusals by path), the ASL compiler, and the decisions inside a run."""

from __future__ import annotations

import datetime as dt
import random
import uuid
from itertools import pairwise
from typing import Any, get_args

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter

from services.journeys.domain.compiler import compile_journey
from services.journeys.domain.definition import (
    ACTION_TYPES,
    ACTIONS,
    Condition,
    DefinitionError,
    EmailNode,
    WaitNode,
    parse,
)
from services.journeys.domain.runs import (
    ProfileFacts,
    bucket,
    holds,
    may_enter,
    run_facts,
    split_branch,
    trait_date_start,
    wait_until,
)

UTC = dt.UTC
NOW = dt.datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # a Monday
CONDITION: TypeAdapter[Any] = TypeAdapter(Condition)


# ---- documents -------------------------------------------------------------------------------------------


def journey(nodes: list[dict[str, Any]], start: str | None = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Welcome",
        "entry": {"trigger": {"segmentEntered": "seg-new"}},
        "start": start or nodes[0]["id"],
        "nodes": nodes,
    }
    body.update(extra)
    return body


def wait(node_id: str, next_: str | None = None, seconds: int = 3600) -> dict[str, Any]:
    return {"id": node_id, "type": "wait", "seconds": seconds, "next": next_}


def email(node_id: str, next_: str | None = None, **extra: Any) -> dict[str, Any]:
    return {"id": node_id, "type": "email", "subject": "Hi {{firstName}}", "html": "<p>Hi</p>", "next": next_, **extra}


def condition(node_id: str, when: dict[str, Any], then: str | None, otherwise: str | None = None) -> dict[str, Any]:
    return {"id": node_id, "type": "condition", "branches": [{"condition": when, "next": then}], "elseNext": otherwise}


def exit_(node_id: str) -> dict[str, Any]:
    return {"id": node_id, "type": "exit"}


def refusals(document: dict[str, Any], **kwargs: Any) -> list[tuple[str, str]]:
    with pytest.raises(DefinitionError) as refused:
        parse(document, **kwargs)
    assert refused.value.errors, "a refusal always says why"
    return refused.value.errors


def paths(errors: list[tuple[str, str]]) -> list[str]:
    return [path for path, _ in errors]


SIX_NODES = journey(
    [
        wait("settle", "welcome"),
        email("welcome", "await-open"),
        {
            "id": "await-open",
            "type": "waitForEvent",
            "branches": [{"event": "Email Opened", "message": "welcome", "next": "check"}],
            "timeoutSeconds": 86400,
            "timeoutNext": "check",
        },
        condition("check", {"happened": "opened", "message": "welcome"}, "ab", "bye"),
        {"id": "ab", "type": "split", "branches": [{"percent": 50, "next": "bye"}, {"percent": 50, "next": None}]},
        exit_("bye"),
    ]
)


# ---- the validator ---------------------------------------------------------------------------------------


def test_a_valid_six_node_journey_is_accepted_with_its_graph_intact() -> None:
    # When a journey using waits, an email, a wait for its open, a condition, a split and an exit is saved
    parsed = parse(SIX_NODES, known_segments={"seg-new"})

    # Then every node is kept, in order, with its type and edges
    assert [(n.id, n.type) for n in parsed.nodes] == [
        ("settle", "wait"),
        ("welcome", "email"),
        ("await-open", "waitForEvent"),
        ("check", "condition"),
        ("ab", "split"),
        ("bye", "exit"),
    ]
    assert parsed.start == "settle"
    assert parsed.nodes[2].timeout_next == "check"
    assert parsed.entry.reentry == "once"


def test_the_legacy_shape_becomes_a_wait_then_an_email() -> None:
    # Given a journey saved in the walking skeleton's shape
    legacy = {
        "name": "Welcome",
        "trigger": {"segmentEntered": "seg-new"},
        "waitSeconds": 3600,
        "email": {"subject": "Hi {{firstName}}", "html": "<p>Hello</p>"},
    }

    # When it is parsed
    parsed = parse(legacy)

    # Then it is the graph: segment entered → wait 1h → email → end
    assert parsed.entry.trigger.segment_entered == "seg-new"
    assert parsed.start == "wait"
    first, second = parsed.nodes
    assert isinstance(first, WaitNode) and (first.seconds, first.next) == (3600, "email")
    assert isinstance(second, EmailNode) and (second.subject, second.html, second.next) == (
        "Hi {{firstName}}",
        "<p>Hello</p>",
        None,
    )


def test_a_legacy_journey_without_a_wait_starts_at_the_email() -> None:
    parsed = parse(
        {
            "name": "Now",
            "trigger": {"segmentEntered": "s"},
            "waitSeconds": 0,
            "email": {"subject": "Hi", "html": "<p>Hi</p>"},
        }
    )
    assert parsed.start == "email"
    assert [n.type for n in parsed.nodes] == ["email"]


@pytest.mark.parametrize(
    "trigger",
    [{}, {"segmentEntered": "a", "segmentExited": "b"}, {"api": True, "event": {"event": "Signed Up"}}],
)
def test_a_trigger_names_exactly_one_kind(trigger: dict[str, Any]) -> None:
    errors = refusals(journey([email("a")], entry={"trigger": trigger}))
    assert paths(errors) == ["entry.trigger"]
    assert "exactly one" in errors[0][1]


def test_an_unknown_node_type_is_refused_at_its_node() -> None:
    # Given a journey whose second node has a type the engine does not know
    document = journey([wait("a", "b"), {"id": "b", "type": "teleport", "next": None}])

    # Then the refusal points at that node and says which types exist
    errors = refusals(document)
    assert paths(errors) == ["nodes[1]"]
    assert "teleport" in errors[0][1] and "waitForEvent" in errors[0][1]


def test_a_dangling_edge_is_refused_at_the_edge() -> None:
    errors = refusals(journey([wait("a", "ghost")]))
    assert errors == [("nodes[0].next", "no node 'ghost'")]


def test_a_start_naming_no_node_is_refused() -> None:
    assert refusals(journey([wait("a")], start="nowhere")) == [("start", "no node 'nowhere'")]


def test_every_dangling_edge_is_reported_at_once() -> None:
    # Given two broken edges in different nodes
    document = journey([condition("a", {"segment": "vip"}, "b", "missing-1"), email("b", "missing-2")])

    # Then both are named in one refusal: the marketer fixes everything in one go
    assert sorted(paths(refusals(document))) == ["nodes[0].elseNext", "nodes[1].next"]


def test_an_unreachable_node_is_refused_at_its_index() -> None:
    errors = refusals(journey([wait("a", "b"), email("b"), email("orphan")]))
    assert paths(errors) == ["nodes[2]"]
    assert "orphan" in errors[0][1] and "cannot be reached" in errors[0][1]


def test_a_cycle_without_a_wait_is_refused() -> None:
    # Given condition → email → condition with nothing in between to slow the loop down
    document = journey([condition("check", {"segment": "vip"}, "nudge", "bye"), email("nudge", "check"), exit_("bye")])

    # Then it is refused (a run would send emails as fast as Step Functions can loop)
    errors = refusals(document)
    assert len(errors) == 1
    path, message = errors[0]
    assert path in ("nodes[0]", "nodes[1]")
    assert "cycle without a wait" in message and "check" in message and "nudge" in message


def test_a_cycle_through_a_wait_is_accepted() -> None:
    # Given the same loop with a day's wait in it
    document = journey(
        [
            condition("check", {"segment": "vip"}, "nudge", "bye"),
            email("nudge", "pause"),
            wait("pause", "check", seconds=86400),
            exit_("bye"),
        ]
    )

    # Then it is a valid reminder loop
    assert [n.id for n in parse(document).nodes] == ["check", "nudge", "pause", "bye"]


def test_a_cycle_through_a_wait_for_an_event_is_accepted() -> None:
    document = journey(
        [
            email("nudge", "listen"),
            {
                "id": "listen",
                "type": "waitForEvent",
                "branches": [{"event": "Order Completed", "next": None}],
                "timeoutSeconds": 86400,
                "timeoutNext": "nudge",
            },
        ]
    )
    assert parse(document).nodes[1].timeout_next == "nudge"


def test_a_node_leading_to_itself_is_refused() -> None:
    errors = refusals(journey([email("a", "a")]))
    assert ("nodes[0].next", "a node cannot lead to itself") in errors


def test_a_duplicate_id_is_refused_at_the_second_node() -> None:
    errors = refusals(journey([wait("a", "b"), email("b"), email("a")]))
    assert errors == [("nodes[2].id", "duplicate node id 'a'")]


def test_an_unknown_segment_in_a_condition_node_is_refused_at_the_condition() -> None:
    # Given a condition node whose second branch tests an InSegment condition of a deleted segment
    node = {
        "id": "check",
        "type": "condition",
        "branches": [
            {"condition": {"segment": "seg-new"}, "next": None},
            {"condition": {"segment": "seg-deleted"}, "next": None},
        ],
    }
    document = journey([wait("a", "check"), node])

    # When it is saved against the workspace's segments
    errors = refusals(document, known_segments={"seg-new"})

    # Then the refusal names exactly that condition
    assert errors == [("nodes[1].branches[1].condition.segment", "no segment 'seg-deleted'")]


def test_an_unknown_segment_nested_in_a_condition_is_refused_at_its_nested_path() -> None:
    when = {"all": [{"trait": "plan", "value": "pro"}, {"not": {"segment": "gone"}}]}
    errors = refusals(journey([condition("check", when, None)]), known_segments={"seg-new"})
    assert errors == [("nodes[0].branches[0].condition.all[1].not.segment", "no segment 'gone'")]


def test_an_unknown_trigger_segment_is_refused_at_the_trigger() -> None:
    errors = refusals(journey([email("a")]), known_segments={"seg-other"})
    assert errors == [("entry.trigger.segmentEntered", "no segment 'seg-new'")]


def test_segments_are_not_checked_when_the_workspace_list_is_not_given() -> None:
    assert parse(journey([condition("c", {"segment": "anything"}, None)])).nodes[0].id == "c"


def test_a_wait_for_event_branch_naming_no_email_node_is_refused() -> None:
    # Given a wait for the open of "welcom" (a typo), while the email node is "welcome"
    listen = {
        "id": "listen",
        "type": "waitForEvent",
        "branches": [
            {"event": "Order Completed", "next": None},
            {"event": "Email Opened", "message": "welcom", "next": None},
        ],
        "timeoutSeconds": 3600,
    }
    errors = refusals(journey([email("welcome", "listen"), listen]))

    # Then the refusal names that branch's message
    assert errors == [("nodes[1].branches[1].message", "no email node 'welcom'")]


def test_a_message_on_a_non_email_event_is_refused() -> None:
    listen = {
        "id": "listen",
        "type": "waitForEvent",
        "branches": [{"event": "Order Completed", "message": "welcome", "next": None}],
        "timeoutSeconds": 3600,
    }
    assert paths(refusals(journey([email("welcome", "listen"), listen]))) == ["nodes[1].branches[0].message"]


@pytest.mark.parametrize("percents", [[50, 40], [60, 60], [33, 33, 33]])
def test_a_split_whose_percents_do_not_add_up_to_100_is_refused(percents: list[float]) -> None:
    split = {"id": "ab", "type": "split", "branches": [{"percent": p, "next": None} for p in percents]}
    errors = refusals(journey([wait("a", "ab"), split]))
    assert paths(errors) == ["nodes[1]"]
    assert "100" in errors[0][1]


def test_a_split_of_thirds_adding_up_to_100_is_accepted() -> None:
    split = {"id": "ab", "type": "split", "branches": [{"percent": p} for p in (33.3, 33.3, 33.4)]}
    assert len(parse(journey([split])).nodes[0].branches) == 3


@pytest.mark.parametrize("happened", ["opened", "clicked"])
def test_an_open_or_click_condition_without_a_message_is_refused(happened: str) -> None:
    errors = refusals(journey([email("welcome", "check"), condition("check", {"happened": happened}, None)]))
    assert errors == [("nodes[1].branches[0].condition.message", f"{happened} needs the id of an email node")]


def test_an_open_condition_naming_an_email_node_is_accepted() -> None:
    document = journey(
        [email("welcome", "check"), condition("check", {"happened": "opened", "message": "welcome"}, None)]
    )
    assert parse(document).nodes[1].branches[0].condition.message == "welcome"


def test_a_malformed_condition_is_refused_under_its_condition_path() -> None:
    # Given a condition node whose condition uses an operator that does not exist
    document = journey([wait("a", "check"), condition("check", {"trait": "plan", "op": "approximately"}, None)])

    # Then one refusal names the operator at its path in the document
    errors = refusals(document)
    assert paths(errors) == ["nodes[1].branches[0].condition.op"]


def test_a_condition_of_no_known_kind_is_one_refusal_that_lists_the_kinds() -> None:
    document = journey([wait("a", "check"), condition("check", {"weather": "sunny"}, None)])
    errors = refusals(document)
    assert paths(errors) == ["nodes[1].branches[0].condition"]
    assert "trait, segment, plan" in errors[0][1]


# ---- the compiler ----------------------------------------------------------------------------------------


EVERY_KIND = journey(
    [
        wait("settle", "welcome", seconds=600),
        email("welcome", "listen", onFailure="sorry"),
        {
            "id": "listen",
            "type": "waitForEvent",
            "branches": [
                {"event": "Email Link Clicked", "message": "welcome", "next": "ab"},
                {"event": "Order Completed", "next": "bye"},
            ],
            "timeoutSeconds": 172800,
            "timeoutNext": "check",
        },
        {
            "id": "check",
            "type": "condition",
            "branches": [
                {"condition": {"segment": "vip"}, "next": "ping"},
                {"condition": {"trait": "plan", "value": "pro"}, "next": "bye"},
            ],
            "elseNext": "control",
        },
        {"id": "ab", "type": "split", "branches": [{"percent": 30, "next": "ping"}, {"percent": 70, "next": "bye"}]},
        {"id": "control", "type": "holdout", "percent": 10, "next": "hook"},
        {"id": "ping", "type": "sms", "text": "Hi {{firstName}}", "next": None},
        {"id": "hook", "type": "webhook", "url": "https://example.com/hook", "next": "bye"},
        email("sorry", None),
        exit_("bye"),
    ]
)


def compiled(document: dict[str, Any] = EVERY_KIND) -> dict[str, Any]:
    return compile_journey(parse(document))


def successors(state: dict[str, Any]) -> list[str]:
    out = [state["Next"]] if "Next" in state else []
    out += [choice["Next"] for choice in state.get("Choices", [])]
    out += [state["Default"]] if "Default" in state else []
    out += [catch["Next"] for catch in state.get("Catch", [])]
    return out


def reachable(asl: dict[str, Any]) -> set[str]:
    seen: set[str] = set()
    pending = [asl["StartAt"]]
    while pending:
        name = pending.pop()
        if name not in seen:
            seen.add(name)
            pending.extend(successors(asl["States"][name]))
    return seen


def choice_targets(state: dict[str, Any]) -> dict[str, str]:
    assert state["Type"] == "Choice"
    assert all(c["Variable"] == "$.step.branch" for c in state["Choices"])
    return {c["StringEquals"]: c["Next"] for c in state["Choices"]}


def test_the_machine_starts_at_the_start_node_and_has_a_state_per_node() -> None:
    asl = compiled()
    assert asl["StartAt"] == "settle"
    node_ids = [n["id"] for n in EVERY_KIND["nodes"]]
    assert set(node_ids) <= set(asl["States"])
    assert set(node_ids) <= reachable(asl)


def test_every_next_in_the_machine_names_an_existing_state() -> None:
    asl = compiled()
    dangling = [
        (name, target)
        for name, state in asl["States"].items()
        for target in successors(state)
        if target not in asl["States"]
    ]
    assert dangling == []
    # and the machine ends only in a Succeed or Fail state
    ends = {name for name, state in asl["States"].items() if not successors(state)}
    assert {asl["States"][name]["Type"] for name in ends} <= {"Succeed", "Fail"}


def test_a_wait_node_asks_the_step_then_waits_until_its_answer() -> None:
    states = compiled()["States"]
    task = states["settle"]
    assert task["Type"] == "Task"
    assert task["Parameters"]["FunctionName"] == "${step}"
    assert task["Parameters"]["Payload"]["kind"] == "wait"
    assert task["ResultPath"] == "$.step"
    timer = states[task["Next"]]
    assert timer["Type"] == "Wait"
    assert timer["TimestampPath"] == "$.step.until"
    assert timer["Next"] == "welcome"


def test_a_wait_for_an_event_is_a_token_task_with_the_node_timeout_and_a_timeout_path() -> None:
    states = compiled()["States"]
    task = states["listen"]

    # Then the task pauses on a task token for at most the node's timeout
    assert task["Resource"].endswith(".waitForTaskToken")
    assert task["Parameters"]["Payload"]["token.$"] == "$$.Task.Token"
    assert task["TimeoutSeconds"] == 172800

    # And a timeout is caught and leads, via a state recording the "timeout" branch, to the timeout node
    (catch,) = [c for c in task["Catch"] if "States.Timeout" in c["ErrorEquals"]]
    on_timeout = states[catch["Next"]]
    assert on_timeout["Result"]["branch"] == "timeout"
    assert on_timeout["Next"] == "check"

    # And an event resumes the run down its branch (labels are branch indexes)
    branch = states[task["Next"]]
    assert choice_targets(branch) == {"0": "ab", "1": "bye"}
    assert branch["Default"] == "check"


def test_a_condition_has_one_choice_per_branch_and_else_as_default() -> None:
    states = compiled()["States"]
    assert states["check"]["Parameters"]["Payload"]["kind"] == "condition"
    branch = states[states["check"]["Next"]]
    assert choice_targets(branch) == {"0": "ping", "1": "bye"}
    assert branch["Default"] == "control"


def test_a_condition_without_else_ends_the_run_by_default() -> None:
    asl = compiled(journey([condition("check", {"segment": "vip"}, "hi"), email("hi")]))
    branch = asl["States"][asl["States"]["check"]["Next"]]
    assert choice_targets(branch) == {"0": "hi"}
    finish = asl["States"][branch["Default"]]
    assert finish["Parameters"]["Payload"]["kind"] == "finish"


def test_a_split_has_one_choice_per_branch() -> None:
    states = compiled()["States"]
    assert states["ab"]["Parameters"]["Payload"]["kind"] == "split"
    branch = states[states["ab"]["Next"]]
    assert choice_targets(branch) == {"0": "ping", "1": "bye"}
    assert branch["Default"] in {"ping", "bye"}


def test_a_holdout_sends_its_control_group_to_the_holdout_wait_and_the_rest_on() -> None:
    states = compiled()["States"]
    branch = states[states["control"]["Next"]]
    (held_out,) = choice_targets(branch).values()
    assert states[held_out]["Type"] == "Wait"
    assert branch["Default"] == "hook"


def test_email_nodes_invoke_the_email_function_and_other_tasks_the_step_function() -> None:
    states = compiled()["States"]
    node_ids = {n["id"]: n["type"] for n in EVERY_KIND["nodes"]}
    for node_id, kind in node_ids.items():
        function = states[node_id]["Parameters"]["FunctionName"]
        assert function == ("${send_email}" if kind == "email" else "${step}"), node_id


@pytest.mark.parametrize("node_id", ["welcome", "ping", "hook", "sorry"])
def test_action_tasks_retry_on_try_again_and_route_failures(node_id: str) -> None:
    states = compiled()["States"]
    task = states[node_id]
    try_again = [r for r in task["Retry"] if r["ErrorEquals"] == ["TryAgain"]]
    assert try_again and try_again[0]["MaxAttempts"] >= 1
    # and on what AWS failed past botocore's retries (events the bus refused, a lost answer): found by the faults test
    aws = {error for r in task["Retry"] for error in r["ErrorEquals"]}
    assert {"PublishFailed", "ClientError", "ReadTimeoutError", "ProvisionedThroughputExceededException"} <= aws

    # A failed action goes through a "failed" branch to onFailure, or to the run's failure end
    failed = states[next(c["Next"] for c in task["Catch"] if "States.ALL" in c["ErrorEquals"])]
    expected = "sorry" if node_id == "welcome" else "journey.fail"
    assert failed["Next"] == expected
    branch = states[task["Next"]]
    assert choice_targets(branch)["failed"] == expected
    assert states["journey.fail"]["Parameters"]["Payload"]["kind"] == "fail"


def test_an_action_on_time_goes_on_to_its_next_node() -> None:
    states = compiled()["States"]
    assert states[states["welcome"]["Next"]]["Default"] == "listen"
    assert states[states["hook"]["Next"]]["Default"] == "bye"


def test_a_deferred_email_waits_then_tries_the_same_node_again() -> None:
    states = compiled()["States"]
    defer = states[choice_targets(states[states["welcome"]["Next"]])["deferred"]]
    assert (defer["Type"], defer["TimestampPath"], defer["Next"]) == ("Wait", "$.step.until", "welcome")


def test_a_trait_date_trigger_waits_for_the_run_start_before_the_start_node() -> None:
    document = journey(
        [email("greet")],
        entry={"trigger": {"traitDate": {"trait": "birthday", "yearly": True}}, "reentry": "whenNotInside"},
    )
    asl = compiled(document)
    first = asl["States"][asl["StartAt"]]
    assert first["Type"] == "Wait"
    assert first["TimestampPath"] == "$.run.startAt"
    assert first["Next"] == "greet"


def test_other_triggers_start_straight_at_the_start_node() -> None:
    asl = compiled(journey([email("greet")]))
    assert asl["StartAt"] == "greet"
    assert not any(s.get("TimestampPath") == "$.run.startAt" for s in asl["States"].values())


MIDDLE_KINDS = ["wait", "email", "sms", "webhook", "holdout", "condition", "split", "waitForEvent"]


def node_of(kind: str, node_id: str, first: str | None, second: str | None) -> dict[str, Any]:
    if kind == "wait":
        return wait(node_id, first)
    if kind == "email":
        return email(node_id, first)
    if kind == "sms":
        return {"id": node_id, "type": "sms", "text": "Hi", "next": first}
    if kind == "webhook":
        return {"id": node_id, "type": "webhook", "url": "https://example.com/h", "next": first, "onFailure": second}
    if kind == "holdout":
        return {"id": node_id, "type": "holdout", "percent": 5, "next": first}
    if kind == "condition":
        return condition(node_id, {"trait": "plan", "value": "pro"}, first, second)
    if kind == "split":
        return {"id": node_id, "type": "split", "branches": [{"percent": 50, "next": t} for t in (first, second)]}
    if kind == "waitForEvent":
        return {
            "id": node_id,
            "type": "waitForEvent",
            "branches": [{"event": "Order Completed", "next": first}],
            "timeoutSeconds": 60,
            "timeoutNext": second,
        }
    return exit_(node_id)


@st.composite
def journeys(draw: st.DrawFn) -> dict[str, Any]:
    """Valid journeys: a chain through every node, plus random forward (never backward) second edges."""
    kinds = draw(st.lists(st.sampled_from(MIDDLE_KINDS), min_size=0, max_size=8))
    kinds.append(draw(st.sampled_from([*MIDDLE_KINDS, "exit"])))
    ids = [f"n{i}" for i in range(len(kinds))]
    nodes = []
    for i, kind in enumerate(kinds):
        first = ids[i + 1] if i + 1 < len(ids) else None
        second = draw(st.sampled_from([None, *ids[i + 1 :]]))
        nodes.append(node_of(kind, ids[i], first, second))
    return journey(nodes)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document=journeys())
def test_any_valid_journey_compiles_to_a_closed_machine_reaching_every_node(document: dict[str, Any]) -> None:
    # Given any valid journey
    definition = parse(document)

    # When it is compiled
    asl = compile_journey(definition)

    # Then no Next dangles, and every node is a reachable state
    states = asl["States"]
    assert all(target in states for state in states.values() for target in successors(state))
    assert asl["StartAt"] == definition.start
    assert {n.id for n in definition.nodes} <= reachable(asl)


# ---- decisions inside a run ------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(journey_id=st.text(max_size=50), node_id=st.text(max_size=50), profile_id=st.text(max_size=50))
def test_a_bucket_is_a_fixed_place_in_0_to_100(journey_id: str, node_id: str, profile_id: str) -> None:
    place = bucket(journey_id, node_id, profile_id)
    assert 0 <= place < 100
    assert bucket(journey_id, node_id, profile_id) == place


def test_a_bucket_depends_on_journey_node_and_profile() -> None:
    base = bucket("j1", "ab", "p1")
    assert base == pytest.approx(bucket("j1", "ab", "p1"))
    assert len({base, bucket("j2", "ab", "p1"), bucket("j1", "cd", "p1"), bucket("j1", "ab", "p2")}) == 4
    # the separator keeps "j1" + "ab1" apart from "j1a" + "b1"
    assert bucket("j1", "ab1", "p") != bucket("j1a", "b1", "p")


def share_of_first_branch(journey_id: str, node_id: str, profiles: list[str], percents: list[float]) -> float:
    first = sum(1 for p in profiles if split_branch(percents, bucket(journey_id, node_id, p)) == 0)
    return first / len(profiles)


@settings(max_examples=20, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(journey_id=st.uuids().map(str), node_id=st.from_regex(r"[A-Za-z][A-Za-z0-9_-]{0,20}", fullmatch=True))
def test_a_50_50_split_sends_about_half_of_10k_random_profiles_each_way(journey_id: str, node_id: str) -> None:
    # Given 10,000 random profile ids (seeded from the example, so a failure reproduces)
    rng = random.Random(f"{journey_id}/{node_id}")
    profiles = [str(uuid.UUID(int=rng.getrandbits(128))) for _ in range(10_000)]

    # Then a 50/50 split sends between 48 % and 52 % down the first branch
    assert 0.48 <= share_of_first_branch(journey_id, node_id, profiles, [50, 50]) <= 0.52


def test_sequential_profile_ids_are_split_evenly_too() -> None:
    profiles = [f"user-{i}" for i in range(10_000)]
    assert 0.48 <= share_of_first_branch("journey-1", "ab", profiles, [50, 50]) <= 0.52
    assert 0.18 <= share_of_first_branch("journey-1", "ab", profiles, [20, 80]) <= 0.22


def test_two_splits_in_one_journey_are_independent() -> None:
    # Given two 50/50 splits in the same journey
    profiles = [f"user-{i}" for i in range(10_000)]
    both_first = sum(
        1
        for p in profiles
        if split_branch([50, 50], bucket("j", "ab", p)) == 0 and split_branch([50, 50], bucket("j", "cd", p)) == 0
    )

    # Then landing in A at the first says nothing about the second (about a quarter take A twice)
    assert 0.23 <= both_first / len(profiles) <= 0.27


@st.composite
def percent_lists(draw: st.DrawFn) -> list[float]:
    cuts = sorted(draw(st.lists(st.integers(1, 99), min_size=1, max_size=9, unique=True)))
    edges = [0, *cuts, 100]
    return [float(b - a) for a, b in pairwise(edges)]


@given(
    journey_id=st.text(max_size=30),
    node_id=st.text(max_size=30),
    profile_id=st.text(max_size=30),
    percents=percent_lists(),
)
def test_the_same_profile_always_gets_the_same_branch(
    journey_id: str, node_id: str, profile_id: str, percents: list[float]
) -> None:
    branches = {split_branch(percents, bucket(journey_id, node_id, profile_id)) for _ in range(3)}
    assert len(branches) == 1
    assert 0 <= branches.pop() < len(percents)


@given(percents=percent_lists(), place=st.floats(min_value=0, max_value=100, exclude_max=True))
def test_a_split_branch_is_the_one_whose_cumulative_share_holds_the_place(percents: list[float], place: float) -> None:
    index = split_branch(percents, place)
    assert sum(percents[:index]) <= place < sum(percents[: index + 1])


@pytest.mark.parametrize(
    ("percents", "place", "branch"),
    [([50, 50], 0.0, 0), ([50, 50], 49.999, 0), ([50, 50], 50.0, 1), ([20, 30, 50], 50.0, 2), ([20, 30, 50], 99.99, 2)],
)
def test_a_place_on_a_boundary_belongs_to_the_later_branch(percents: list[float], place: float, branch: int) -> None:
    assert split_branch(percents, place) == branch


@given(percents=percent_lists(), places=st.lists(st.floats(0, 100, exclude_max=True), min_size=2, max_size=2))
def test_a_higher_place_never_gets_an_earlier_branch(percents: list[float], places: list[float]) -> None:
    low, high = sorted(places)
    assert split_branch(percents, low) <= split_branch(percents, high)


def cond(document: Any) -> Any:
    return CONDITION.validate_python(document)


@pytest.mark.parametrize(
    ("when", "traits", "expected"),
    [
        ({"trait": "plan", "value": "pro"}, {"plan": "pro"}, True),
        ({"trait": "plan", "value": "pro"}, {"plan": " PRO "}, True),
        ({"trait": "plan", "value": "pro"}, {"plan": "free"}, False),
        ({"trait": "plan", "value": "pro"}, {}, False),
        ({"trait": "plan", "op": "notEquals", "value": "pro"}, {}, True),
        ({"trait": "plan", "op": "exists"}, {"plan": None}, False),
        ({"trait": "plan", "op": "notExists"}, {}, True),
        ({"trait": "address.city", "value": "Berlin"}, {"address": {"city": "berlin"}}, True),
        ({"trait": "address.city", "value": "Berlin"}, {"address": "Berlin"}, False),
        ({"trait": "age", "op": "gte", "value": 18}, {"age": "21"}, True),
        ({"trait": "age", "op": "gte", "value": 18}, {"age": 17}, False),
        ({"trait": "age", "op": "gt", "value": 1}, {"age": True}, False),
        ({"trait": "age", "op": "lt", "value": 10}, {"age": "nine"}, False),
        ({"trait": "plan", "op": "in", "value": ["pro", "team"]}, {"plan": "Team"}, True),
        ({"trait": "plan", "op": "in", "value": "pro"}, {"plan": "pro"}, False),
        ({"trait": "tags", "op": "contains", "value": "vip"}, {"tags": ["new", "VIP"]}, True),
        ({"trait": "email", "op": "contains", "value": "@example"}, {"email": "ana@Example.com"}, True),
        ({"trait": "email", "op": "startsWith", "value": "ana"}, {"email": "Ana@example.com"}, True),
    ],
)
def test_trait_conditions(when: dict[str, Any], traits: dict[str, Any], expected: bool) -> None:
    assert holds(cond(when), ProfileFacts(traits=traits)) is expected


def test_segment_conditions() -> None:
    inside = ProfileFacts(segments=frozenset({"vip"}))
    outside = ProfileFacts(segments=frozenset({"new"}))
    assert holds(cond({"segment": "vip"}), inside) is True
    assert holds(cond({"segment": "vip"}), outside) is False
    assert holds(cond({"segment": "vip", "member": False}), outside) is True
    assert holds(cond({"segment": "vip", "member": False}), inside) is False


def test_score_and_tier_conditions() -> None:
    facts = ProfileFacts(scores={"engagement": {"score": 60, "tier": "Gold"}})
    assert holds(cond({"plan": "engagement", "op": "gte", "value": 60}), facts) is True
    assert holds(cond({"plan": "engagement", "op": "gt", "value": 60}), facts) is False
    assert holds(cond({"plan": "engagement", "op": "lt", "value": 100}), facts) is True
    assert holds(cond({"plan": "engagement", "tier": "gold"}), facts) is True
    assert holds(cond({"plan": "engagement", "tier": "silver"}), facts) is False
    # a plan the profile was never scored on: no tier, and 0 points
    assert holds(cond({"plan": "other", "tier": "gold"}), facts) is False
    assert holds(cond({"plan": "other", "op": "gte", "value": 1}), facts) is False
    assert holds(cond({"plan": "other", "op": "lt", "value": 1}), facts) is True


@pytest.mark.parametrize(
    ("recorded", "granted", "refused"),
    [(True, True, False), (False, False, True), (None, False, True), ("missing", False, True)],
)
def test_consent_holds_only_when_explicitly_granted(recorded: Any, granted: bool, refused: bool) -> None:
    facts = ProfileFacts(consent={} if recorded == "missing" else {"email_marketing": recorded})
    assert holds(cond({"consent": "email_marketing"}), facts) is granted
    assert holds(cond({"consent": "email_marketing", "granted": False}), facts) is refused


def test_run_fact_conditions() -> None:
    opened = ProfileFacts(opened=frozenset({"welcome"}))
    clicked = ProfileFacts(clicked=frozenset({"welcome"}))
    nothing = ProfileFacts()
    assert holds(cond({"happened": "opened", "message": "welcome"}), opened) is True
    assert holds(cond({"happened": "opened", "message": "reminder"}), opened) is False
    assert holds(cond({"happened": "opened", "message": "welcome"}), clicked) is True  # a click implies an open
    assert holds(cond({"happened": "clicked", "message": "welcome"}), opened) is False
    assert holds(cond({"happened": "clicked", "message": "welcome"}), clicked) is True
    assert holds(cond({"happened": "returned"}), ProfileFacts(returned=True)) is True
    assert holds(cond({"happened": "returned"}), nothing) is False
    assert holds(cond({"happened": "purchased"}), ProfileFacts(purchased=True)) is True
    assert holds(cond({"happened": "purchased"}), nothing) is False


def test_all_any_and_not() -> None:
    facts = ProfileFacts(traits={"plan": "pro"}, segments=frozenset({"vip"}))
    pro, vip, churned = {"trait": "plan", "value": "pro"}, {"segment": "vip"}, {"segment": "churned"}
    assert holds(cond({"all": [pro, vip]}), facts) is True
    assert holds(cond({"all": [pro, churned]}), facts) is False
    assert holds(cond({"any": [churned, vip]}), facts) is True
    assert holds(cond({"any": [churned, {"trait": "plan", "value": "free"}]}), facts) is False
    assert holds(cond({"not": churned}), facts) is True
    assert holds(cond({"not": {"all": [pro, vip]}}), facts) is False
    assert holds(cond({"all": [pro, {"any": [churned, {"not": churned}]}]}), facts) is True


SEGMENTS = ["a", "b", "c"]
leaf = st.sampled_from(SEGMENTS).map(lambda s: {"segment": s})
conditions = st.recursive(
    leaf,
    lambda inner: st.one_of(
        st.lists(inner, min_size=1, max_size=3).map(lambda cs: {"all": cs}),
        st.lists(inner, min_size=1, max_size=3).map(lambda cs: {"any": cs}),
        inner.map(lambda c: {"not": c}),
    ),
    max_leaves=8,
)


@given(first=conditions, second=conditions, segments=st.frozensets(st.sampled_from(SEGMENTS)))
def test_combinators_follow_boolean_logic(first: Any, second: Any, segments: frozenset[str]) -> None:
    facts = ProfileFacts(segments=segments)
    a, b = holds(cond(first), facts), holds(cond(second), facts)
    assert holds(cond({"all": [first, second]}), facts) is (a and b)
    assert holds(cond({"any": [first, second]}), facts) is (a or b)
    assert holds(cond({"not": {"any": [first, second]}}), facts) is (not a and not b)
    assert holds(cond({"not": {"not": first}}), facts) is a


def reentry(policy: Any) -> Any:
    document = journey([email("a")], entry={"trigger": {"api": True}, "reentry": policy})
    return parse(document).entry.reentry


@pytest.mark.parametrize("policy", ["once", "whenNotInside", {"afterDays": 7}])
def test_anyone_may_enter_the_first_time_but_never_while_inside(policy: Any) -> None:
    assert may_enter(reentry(policy), None, False, NOW) is None
    assert may_enter(reentry(policy), None, True, NOW) == "already inside"
    assert may_enter(reentry(policy), NOW - dt.timedelta(days=400), True, NOW) == "already inside"


def test_once_means_once_ever() -> None:
    why = may_enter(reentry("once"), NOW - dt.timedelta(days=3650), False, NOW)
    assert why is not None and "once" in why


def test_after_days_lets_a_profile_back_only_after_that_many_days() -> None:
    policy = reentry({"afterDays": 7})
    too_soon = may_enter(policy, NOW - dt.timedelta(days=7) + dt.timedelta(seconds=1), False, NOW)
    assert too_soon is not None and "7 days" in too_soon
    assert may_enter(policy, NOW - dt.timedelta(days=7), False, NOW) is None
    assert may_enter(policy, NOW - dt.timedelta(days=30), False, NOW) is None


def test_when_not_inside_lets_a_profile_back_as_soon_as_its_run_ended() -> None:
    assert may_enter(reentry("whenNotInside"), NOW - dt.timedelta(minutes=1), False, NOW) is None


MESSAGES = {"msg-1": "welcome", "msg-2": "reminder"}


@pytest.mark.parametrize(
    ("name", "message_id", "expected"),
    [
        ("Email Opened", "msg-1", {"opened": "welcome"}),
        ("Email Link Clicked", "msg-2", {"clicked": "reminder"}),
        ("Email Opened", "msg-of-another-run", {}),
        ("Email Link Clicked", None, {}),
    ],
)
def test_email_engagement_counts_for_this_runs_messages_only(
    name: str, message_id: str | None, expected: dict[str, Any]
) -> None:
    properties = {} if message_id is None else {"emailMessageId": message_id}
    assert run_facts(name, properties, False, MESSAGES) == expected


@pytest.mark.parametrize("name", ["Email Opened", "Email Link Clicked"])
def test_machine_opens_and_clicks_never_count(name: str) -> None:
    assert run_facts(name, {"emailMessageId": "msg-1"}, True, MESSAGES) == {}


def test_returning_and_purchasing_are_run_facts_and_other_events_are_not() -> None:
    assert run_facts("page", {}, False, MESSAGES) == {"returned": True}
    assert run_facts("Order Completed", {"total": 10}, False, MESSAGES) == {"purchased": True}
    assert run_facts("Product Viewed", {}, False, MESSAGES) == {}
    assert run_facts(None, {}, False, MESSAGES) == {}


def wait_node(**fields: Any) -> WaitNode:
    return WaitNode.model_validate({"id": "w", "type": "wait", **fields})


def test_wait_until_seconds_and_fixed_dates() -> None:
    assert wait_until(wait_node(seconds=90), NOW, {}, "UTC") == NOW + dt.timedelta(seconds=90)
    assert wait_until(wait_node(until="2026-12-24T09:00:00+01:00"), NOW, {}, "UTC") == dt.datetime(
        2026, 12, 24, 8, tzinfo=UTC
    )
    assert wait_until(wait_node(until="2020-01-01T00:00:00Z"), NOW, {}, "UTC") == NOW  # never in the past


def test_wait_until_a_trait_date_plus_offset_or_at_once_without_one() -> None:
    node = wait_node(untilTrait={"trait": "renewal", "offsetSeconds": -86400})
    assert wait_until(node, NOW, {"renewal": "2026-04-10"}, "UTC") == dt.datetime(2026, 4, 9, tzinfo=UTC)
    assert wait_until(node, NOW, {}, "UTC") == NOW
    assert wait_until(node, NOW, {"renewal": "soon"}, "UTC") == NOW


def test_wait_until_a_local_time_uses_the_profile_zone_and_weekdays() -> None:
    # Given 11:00 in Berlin on a Monday, and a wait for 09:00 local time
    berlin = {"timezone": "Europe/Berlin"}
    any_day = wait_node(localTime={"time": "09:00"})
    friday = wait_node(localTime={"time": "09:00", "weekdays": ["fri"]})

    # Then the run goes on at the next 09:00 in Berlin (08:00 UTC in winter), on the given weekdays
    assert wait_until(any_day, NOW, berlin, "UTC") == dt.datetime(2026, 3, 3, 8, tzinfo=UTC)
    assert wait_until(friday, NOW, berlin, "UTC") == dt.datetime(2026, 3, 6, 8, tzinfo=UTC)
    assert wait_until(any_day, NOW, {}, "America/New_York") == dt.datetime(2026, 3, 2, 14, tzinfo=UTC)


def test_a_yearly_trait_date_begins_on_its_next_anniversary_and_keeps_29_february_on_the_28th() -> None:
    now = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
    born = dt.datetime(1990, 3, 10, tzinfo=dt.UTC)
    # Given a birthday later this year, one passed this year, and a leap-day birthday
    assert trait_date_start(born, 0, True, now) == dt.datetime(2026, 3, 10, tzinfo=dt.UTC)
    assert trait_date_start(born.replace(month=1), 0, True, now) == dt.datetime(2027, 1, 10, tzinfo=dt.UTC)
    leap = dt.datetime(2000, 2, 29, tzinfo=dt.UTC)
    assert trait_date_start(leap, 0, True, dt.datetime(2027, 1, 1, tzinfo=dt.UTC)) == dt.datetime(
        2027, 2, 28, tzinfo=dt.UTC
    )
    assert trait_date_start(leap, 0, True, dt.datetime(2028, 1, 1, tzinfo=dt.UTC)) == dt.datetime(
        2028, 2, 29, tzinfo=dt.UTC
    )
    # And an offset (a week before) moves it; a once-only date in the past begins at once
    assert trait_date_start(born, -7, True, now) == dt.datetime(2026, 3, 3, tzinfo=dt.UTC)
    assert trait_date_start(born, 14, False, now) == now


def test_the_action_types_are_exactly_the_action_nodes() -> None:
    # (the step task reads a journey's pause state only for these)
    assert {get_args(node.model_fields["type"].annotation)[0] for node in ACTIONS} == ACTION_TYPES
