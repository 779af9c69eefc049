"""Journeys use cases over the in-memory adapters (no moto, no sockets): entries and re-entry rules, the steps of a
run and its end, reactions to activity (goals, opens), and the analytics the counters add up to."""

from __future__ import annotations

import datetime as dt
import inspect
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
from botocore.exceptions import ClientError

from services.common import clock
from services.common.bus import PublishFailed, RecordingPublisher
from services.common.clock import iso
from services.common.dynamo import is_condition_failure
from services.common.erasure import TOMBSTONE_DAYS
from services.journeys.adapters.aws import SendOutcomeUnknown
from services.journeys.adapters.dynamodb import DynamoJourneys
from services.journeys.adapters.memory import (
    MemoryDirectory,
    MemoryJourneys,
    MemoryMailer,
    MemoryRunner,
    MemoryTexter,
    MemoryWebhooks,
)
from services.journeys.domain.catalog import LiveJourney
from services.journeys.domain.compiler import FINISH
from services.journeys.domain.definition import parse
from services.journeys.domain.runs import bucket, split_branch
from services.journeys.domain.tracked_email import LinkSigning
from services.journeys.use_cases.analytics import analytics
from services.journeys.use_cases.entries import enter
from services.journeys.use_cases.reactions import react, stop_run
from services.journeys.use_cases.sending import send_journey_email
from services.journeys.use_cases.steps import run_step
from tests.unit.clocks import Moment, frozen_at

UTC = dt.UTC
NOW = dt.datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # a Monday
DAY = dt.timedelta(days=1)
JOURNEY_ID = "j-cart-rescue"
SIGNING = LinkSigning("https://api.example.test", b"k" * 32)


# ---- the world: a clock, the memory adapters, a journey -------------------------------------------------


@pytest.fixture
def moment() -> Iterator[Moment]:
    with frozen_at(NOW) as now:
        yield now


@dataclass
class World:
    repo: MemoryJourneys = field(default_factory=MemoryJourneys)
    runner: MemoryRunner = field(default_factory=MemoryRunner)
    directory: MemoryDirectory = field(default_factory=MemoryDirectory)
    bus: RecordingPublisher = field(default_factory=RecordingPublisher)
    mailer: MemoryMailer = field(default_factory=MemoryMailer)
    texter: MemoryTexter = field(default_factory=MemoryTexter)
    hooks: MemoryWebhooks = field(default_factory=MemoryWebhooks)


@pytest.fixture
def world(moment: Moment) -> World:
    return World()


def person(world: World, profile_id: str, **traits: Any) -> str:
    world.directory.contacts[profile_id] = {"email": f"{profile_id}@example.test", "traits": traits}
    return profile_id


def document(nodes: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Cart rescue",
        "entry": {"trigger": {"api": True}},
        "start": nodes[0]["id"],
        "nodes": nodes,
    }
    body.update(extra)
    return body


def wait(node_id: str, next_: str | None = None, seconds: int = 3600) -> dict[str, Any]:
    return {"id": node_id, "type": "wait", "seconds": seconds, "next": next_}


def email(node_id: str, next_: str | None = None) -> dict[str, Any]:
    return {"id": node_id, "type": "email", "subject": "Hi {{firstName}}", "html": "<p>Your cart</p>", "next": next_}


def live_journey(world: World, body: dict[str, Any], journey_id: str = JOURNEY_ID, version: int = 1) -> LiveJourney:
    """A published journey as the consumer sees it: the parsed definition and its deployed machine."""
    definition = parse(body)
    machine_arn = world.runner.deploy(journey_id, version, "{}")
    return LiveJourney(journey_id, "active", version, machine_arn, definition)


def once(world: World, body: dict[str, Any] | None = None, **entry: Any) -> LiveJourney:
    return live_journey(
        world, body or document([wait("w")], entry={"trigger": {"api": True}, **entry}), journey_id=JOURNEY_ID
    )


def admit(world: World, journey: LiveJourney, profile_id: str, key: str = "event-1") -> str:
    return enter(journey, profile_id, key, world.repo, world.runner, world.directory, world.bus)


@dataclass
class Run:
    """A run the runner started: what Step Functions hands each task."""

    world: World
    journey: LiveJourney
    execution: str
    run: dict[str, Any]

    def task(self, kind: str, node: str, via: dict[str, Any] | None) -> dict[str, Any]:
        return {
            "kind": kind,
            "node": node,
            "run": self.run,
            "via": via or {"node": None, "branch": None, "until": None},
            "execution": self.execution,
            "enteredTime": iso(clock.now()),
        }

    def step(self, kind: str, node: str, via: dict[str, Any] | None = None) -> dict[str, Any]:
        w = self.world
        return run_step(
            self.task(kind, node, via),
            self.journey.definition,
            w.repo,
            w.directory,
            w.runner,
            w.bus,
            w.texter,
            w.hooks,
            "active",
            {},
        )

    def send_email(self, node: str, via: dict[str, Any] | None = None) -> dict[str, Any]:
        w = self.world
        return send_journey_email(
            self.task("email", node, via),
            self.journey.definition,
            w.repo,
            w.directory,
            w.mailer,
            "shop@example.test",
            "",
            w.bus,
            SIGNING,
            {},
            "active",
        )

    def finish(self, via: dict[str, Any]) -> dict[str, Any]:
        return self.step("finish", FINISH, via)

    def live(self) -> dict[str, Any] | None:
        return self.world.repo.live_run(self.run["profileId"], self.journey.journey_id)


def started(world: World, journey: LiveJourney, profile_id: str) -> Run:
    """The profile's run as its execution began (the input the runner was started with)."""
    (execution,) = [
        e
        for e in world.runner.executions.values()
        if e["machineArn"] == journey.machine_arn and e["input"]["run"]["profileId"] == profile_id
    ]
    return Run(world, journey, execution["executionArn"], execution["input"]["run"])


def entered(world: World, journey: LiveJourney, profile_id: str, key: str = "event-1") -> Run:
    assert admit(world, journey, profile_id, key) == "entered"
    return started(world, journey, profile_id)


def counters(world: World, node: str, version: int = 1) -> dict[str, int]:
    return world.repo.stats(JOURNEY_ID).get(f"v{version}#{node}", {})


def exits(world: World) -> list[Any]:
    return [e for e in world.bus.published if e.detail_type == "JourneyExited"]


def profiles_where(journey_id: str, node_id: str, wanted: Any, count: int = 1) -> list[str]:
    """Profile ids whose fixed bucket at the node satisfies `wanted` (deterministic: found by counting up)."""
    found = [f"p-{i}" for i in range(1000) if wanted(bucket(journey_id, node_id, f"p-{i}"))]
    assert len(found) >= count
    return found[:count]


# ---- entries ----------------------------------------------------------------------------------------------


def test_re_entry_once_lets_a_profile_in_a_single_time(world: World, moment: Moment) -> None:
    # Given a journey a profile may enter once, and a profile who went through it
    journey = once(world, reentry="once")
    run = entered(world, journey, person(world, "ann"), "event-1")
    run.finish(run.step("wait", "w"))

    # When a later event would enter them again
    moment.advance(400 * DAY)
    outcome = admit(world, journey, "ann", "event-2")

    # Then they stay out, whatever the time since
    assert outcome == "entered before (re-entry: once)"
    assert world.repo.live_run("ann", JOURNEY_ID) is None
    assert len(world.runner.executions) == 1


def test_when_not_inside_a_profile_re_enters_as_soon_as_the_run_ended(world: World, moment: Moment) -> None:
    # Given a journey a profile may enter whenever not already inside, and a profile inside it
    journey = once(world, reentry="whenNotInside")
    run = entered(world, journey, person(world, "ann"), "event-1")

    # When another event comes while inside: never two runs at once
    assert admit(world, journey, "ann", "event-2") == "already inside"

    # And when another comes a minute after the run ended
    run.finish(run.step("wait", "w"))
    moment.advance(dt.timedelta(minutes=1))

    # Then the profile enters again: a second run, a second execution
    assert admit(world, journey, "ann", "event-3") == "entered"
    assert [r["state"] for r in world.repo.runs_of_profile("ann")] == ["completed", "running"]
    assert len(world.runner.running()) == 2  # (the memory runner never ends an execution by itself)
    assert counters(world, "journey")["entered"] == 2


def test_after_days_lets_a_profile_in_again_only_once_the_days_have_passed(world: World, moment: Moment) -> None:
    # Given a journey a profile may re-enter after 7 days, entered and finished today
    journey = once(world, reentry={"afterDays": 7})
    run = entered(world, journey, person(world, "ann"), "event-1")
    run.finish(run.step("wait", "w"))

    # When they trigger it again six days later, then seven days after the first entry
    moment.advance(6 * DAY)
    too_soon = admit(world, journey, "ann", "event-2")
    moment.advance(DAY)
    in_time = admit(world, journey, "ann", "event-3")

    # Then the first is refused with the reason and the second enters
    assert (too_soon, in_time) == ("entered less than 7 days ago", "entered")
    assert counters(world, "journey")["entered"] == 2


def test_the_same_entry_key_enrols_once_while_inside(world: World) -> None:
    # Given a profile entered by an event
    journey = once(world, reentry="whenNotInside")
    entered(world, journey, person(world, "ann"), "event-1")

    # When the same event is delivered again (a retried consumer)
    again = admit(world, journey, "ann", "event-1")

    # Then it answers as the first time but nothing is enrolled twice
    assert again == "entered"
    assert len(world.repo.runs_of_profile("ann")) == 1
    assert len(world.runner.executions) == 1
    assert counters(world, "journey")["entered"] == 1
    assert len({e.id for e in world.bus.published if e.detail_type == "JourneyEntered"}) == 1


@pytest.mark.parametrize(
    "reentry",
    [
        "once",
        {"afterDays": 1},
        "whenNotInside",
    ],
)
def test_the_same_entry_key_never_enrols_twice_even_after_the_run_ended(
    world: World, moment: Moment, reentry: Any
) -> None:
    # Given a profile whose run for an event ended
    journey = once(world, reentry=reentry)
    run = entered(world, journey, person(world, "ann"), "event-1")
    run.finish(run.step("wait", "w"))

    # When that same event is delivered again two days later (a DLQ replay)
    moment.advance(2 * DAY)
    again = admit(world, journey, "ann", "event-1")

    # Then no second run is made (its execution name is taken: it could never start)
    assert again != "entered"
    assert world.repo.live_run("ann", JOURNEY_ID) is None
    assert len(world.repo.runs_of_profile("ann")) == 1


def test_an_erased_profile_is_not_entered_until_its_tombstone_expires(world: World, moment: Moment) -> None:
    # Given a profile erased a moment ago
    journey = once(world, reentry="whenNotInside")
    world.repo.mark_erased(person(world, "ann"), clock.now())

    # When a late trigger about them arrives
    outcome = admit(world, journey, "ann")

    # Then nothing about them is created: no run, no execution, no counter, no event
    assert outcome == "erased"
    assert world.repo.profile_records("ann") == []
    assert world.runner.executions == {} and world.repo.stats(JOURNEY_ID) == {} and world.bus.published == []

    # And once the tombstone has expired, the id is just a profile again
    moment.advance((TOMBSTONE_DAYS + 1) * DAY)
    assert admit(world, journey, "ann", "event-2") == "entered"


def test_the_audience_keeps_others_out(world: World) -> None:
    # Given a journey for Dutch VIPs only
    journey = once(world, audience={"all": [{"trait": "country", "value": "NL"}, {"segment": "vip"}]})
    person(world, "vip-nl", country="NL")
    person(world, "vip-be", country="BE")
    person(world, "nl", country="nl")
    world.directory.segment_memberships.update({"vip-nl": {"segments": ["vip"]}, "vip-be": {"segments": ["vip"]}})

    # When each of them, and a profile identity does not know, triggers it
    outcomes = {p: admit(world, journey, p) for p in ("vip-nl", "vip-be", "nl", "ghost")}

    # Then only the Dutch VIP enters
    assert outcomes == {
        "vip-nl": "entered",
        "vip-be": "not in the audience",
        "nl": "not in the audience",
        "ghost": "not in the audience",
    }
    assert [r["profileId"] for r in world.repo.runs_of_journey(JOURNEY_ID, None)] == ["vip-nl"]
    assert counters(world, "journey") == {"entered": 1}


class CountCrashesOnce(MemoryJourneys):
    """A table whose first counter write dies with the Lambda (a timeout between two writes)."""

    def __init__(self) -> None:
        super().__init__()
        self.crash = True

    def count(self, *args: Any, **kwargs: Any) -> bool:
        if self.crash:
            self.crash = False
            raise TimeoutError("Task timed out")
        return super().count(*args, **kwargs)


def test_an_entry_retried_after_a_crash_is_still_counted(moment: Moment) -> None:
    # Given an entry that died after the run was written but before it was counted
    world = World(repo=CountCrashesOnce())
    journey = once(world, reentry="once")
    person(world, "ann")
    with pytest.raises(TimeoutError):
        admit(world, journey, "ann")

    # When the consumer's retry delivers the event again
    assert admit(world, journey, "ann") == "entered"

    # Then the run is counted as entered, once
    assert counters(world, "journey").get("entered") == 1


# ---- steps ------------------------------------------------------------------------------------------------


def test_a_wait_answers_until_now_plus_its_seconds_and_notes_where_the_run_is(world: World) -> None:
    # Given a run at the start of a journey that waits an hour
    run = entered(world, once(world), person(world, "ann"))

    # When the wait node's step runs
    answer = run.step("wait", "w")

    # Then the state machine is told to wait until an hour from now
    assert answer == {"node": "w", "branch": None, "until": iso(NOW + dt.timedelta(hours=1))}
    assert (run.live() or {})["at"] == "w"
    assert counters(world, "w") == {"entered": 1}


def test_a_split_sends_a_profile_down_the_same_branch_on_every_call(world: World, moment: Moment) -> None:
    # Given a 30/70 split, and two profiles, one on each side of the 30% edge
    body = document(
        [
            {"id": "ab", "type": "split", "branches": [{"percent": 30, "next": "a"}, {"percent": 70, "next": "b"}]},
            wait("a"),
            wait("b"),
        ]
    )
    journey = live_journey(world, body)
    low, high = profiles_where(JOURNEY_ID, "ab", lambda place: place < 30) + profiles_where(
        JOURNEY_ID, "ab", lambda place: place >= 30
    )
    runs = {p: entered(world, journey, person(world, p)) for p in (low, high)}

    # When each one's split step runs again and again (retries, later visits)
    answers = {}
    for profile_id, run in runs.items():
        branches = set()
        for _ in range(5):
            branches.add(run.step("split", "ab")["branch"])
            moment.advance(dt.timedelta(seconds=1))
        answers[profile_id] = branches

    # Then each gets one branch every time, the one its fixed place falls in
    assert answers == {low: {"0"}, high: {"1"}}
    assert answers[low] == {str(split_branch([30, 70], bucket(JOURNEY_ID, "ab", low)))}


def test_a_holdout_keeps_its_share_out_and_counts_them_as_holdout_not_completed(world: World) -> None:
    # Given a journey whose first node holds out 40%, a profile inside that 40% and one outside
    journey = live_journey(
        world, document([{"id": "control", "type": "holdout", "percent": 40, "next": "w"}, wait("w")])
    )
    (held,) = profiles_where(JOURNEY_ID, "control", lambda place: place < 40)
    (treated,) = profiles_where(JOURNEY_ID, "control", lambda place: place >= 40)
    held_run = entered(world, journey, person(world, held))
    treated_run = entered(world, journey, person(world, treated))

    # When both pass the holdout (the held-out one twice: a retried step) and the held-out run ends
    first = held_run.step("holdout", "control")
    again = held_run.step("holdout", "control")
    went_on = treated_run.step("holdout", "control")
    held_run.finish(first)

    # Then the held-out profile is answered `holdout` every time, the other `continue`
    assert (first["branch"], again["branch"], went_on["branch"]) == ("holdout", "holdout", "continue")
    # And the held-out run counts as holdout (not a completion), its branch once
    assert counters(world, "journey") == {"entered": 2, "holdout": 1}
    assert counters(world, "control")["branch:holdout"] == 1
    assert [r["state"] for r in world.repo.runs_of_profile(held)] == ["holdout"]


def condition_journey(world: World) -> LiveJourney:
    """An email, then a condition on whether a human opened it."""
    return live_journey(
        world,
        document(
            [
                email("welcome", "check"),
                {
                    "id": "check",
                    "type": "condition",
                    "branches": [{"condition": {"happened": "opened", "message": "welcome"}, "next": "thanks"}],
                    "elseNext": "nudge",
                },
                wait("thanks"),
                wait("nudge"),
            ]
        ),
    )


def opened(run: Run, message_id: str, machine: bool = False) -> str:
    live = run.live()
    assert live is not None
    world = run.world
    properties = {"emailMessageId": message_id}
    return react(
        live, run.journey.definition, "Email Opened", properties, machine, world.repo, world.runner, world.bus, NOW
    )


def test_a_condition_on_an_open_follows_the_human_open_of_the_runs_message(world: World, moment: Moment) -> None:
    # Given a run that was sent the welcome email
    run = entered(world, condition_journey(world), person(world, "ann"))
    sent = run.send_email("welcome")
    assert sent["status"] == "sent" and len(world.mailer.sent) == 1
    moment.advance(dt.timedelta(hours=1))

    # When nobody opened it, the condition takes `else`
    assert run.step("condition", "check", sent)["branch"] == "else"

    # And when a human opened it, the condition takes the first branch
    opened(run, sent["dedupeKey"])
    moment.advance(dt.timedelta(seconds=1))
    assert run.step("condition", "check", sent)["branch"] == "0"
    assert (run.live() or {})["facts"] == {"opened": ["welcome"]}


def test_finish_moves_the_run_to_history_and_counts_it_once_even_when_called_twice(world: World) -> None:
    # Given a run that waited at its only node
    run = entered(world, once(world), person(world, "ann"))
    waited = run.step("wait", "w")

    # When its finish step runs, and runs again (a retry after a timeout)
    first = run.finish(waited)
    second = run.finish(waited)

    # Then the run left the live items for history, ended at the wait
    assert first == second == {"node": FINISH, "branch": "completed", "until": None}
    assert run.live() is None
    (history,) = world.repo.runs_of_profile("ann")
    assert (history["state"], history["reason"], history["endedAtNode"]) == ("completed", "completed", "w")
    assert world.repo.runs_of_journey(JOURNEY_ID, "completed")[0]["profileId"] == "ann"
    # And it is counted once, at the journey and at the node it came from
    assert counters(world, "journey") == {"entered": 1, "completed": 1}
    assert counters(world, "w") == {"entered": 1, "completed": 1}
    # And its exit announced twice is one event to consumers (the same id)
    assert len({e.id for e in exits(world)}) == 1


# ---- reactions --------------------------------------------------------------------------------------------


def goal_journey(world: World) -> LiveJourney:
    """A 50/50 split into a day's wait, ended by a purchase."""
    body = document(
        [
            {"id": "ab", "type": "split", "branches": [{"percent": 50, "next": "w"}, {"percent": 50, "next": "w"}]},
            wait("w", seconds=86400),
        ],
        goal={"event": "Order Completed"},
    )
    return live_journey(world, body)


def bought(run: Run, live: dict[str, Any]) -> str:
    world = run.world
    return react(
        live, run.journey.definition, "Order Completed", {"total": 80}, False, world.repo, world.runner, world.bus, NOW
    )


def test_a_goal_converts_a_live_run_exactly_once_and_credits_the_branch_it_took(world: World) -> None:
    # Given a run that went down a split and waits
    run = entered(world, goal_journey(world), person(world, "ann"))
    branch = run.step("split", "ab")
    run.step("wait", "w", branch)
    live = run.live()
    assert live is not None

    # When the profile buys, and the same purchase is seen again with the run as it was read before
    first = bought(run, live)
    second = bought(run, live)

    # Then the run converts once: stopped, in history as converted, counted for its branch of the split
    assert (first, second) == ("converted", "ended")
    assert run.live() is None
    execution = world.runner.executions[run.execution]
    assert (execution["status"], execution["error"], execution["cause"]) == ("ABORTED", "JourneyConverted", "goal")
    (history,) = world.repo.runs_of_profile("ann")
    assert (history["state"], history["endedAtNode"], history["path"]) == ("converted", "w", {"ab": branch["branch"]})
    assert counters(world, "journey") == {"entered": 1, "goal": 1}
    assert counters(world, "ab")[f"goal:{branch['branch']}"] == 1
    assert counters(world, "w")["exited"] == 1
    assert len(exits(world)) == 1


def test_a_goal_during_the_holdout_window_is_credited_to_the_holdout(world: World) -> None:
    # Given a held-out run (it waits out the conversion window; the journey has a purchase goal)
    body = document(
        [{"id": "control", "type": "holdout", "percent": 40, "next": "w"}, wait("w")],
        goal={"event": "Order Completed"},
    )
    journey = live_journey(world, body)
    (held,) = profiles_where(JOURNEY_ID, "control", lambda place: place < 40)
    run = entered(world, journey, person(world, held))
    assert run.step("holdout", "control")["branch"] == "holdout"

    # When the held-out profile buys within the window
    live = run.live()
    assert live is not None and bought(run, live) == "converted"

    # Then the conversion counts against the holdout: the control group's conversion rate
    assert counters(world, "control")["goal:holdout"] == 1
    assert counters(world, "journey")["goal"] == 1


def test_stopping_a_run_from_outside_happens_once(world: World) -> None:
    # Given a waiting run
    run = entered(world, once(world), person(world, "ann"))
    run.step("wait", "w")
    live = run.live()
    assert live is not None

    # When the profile leaves the exit segment, and the same exit is handled again
    stopped = [stop_run(live, "exited", "left segment s", world.repo, world.runner, world.bus, NOW) for _ in "12"]

    # Then the run is stopped and counted once
    assert stopped == [True, False]
    assert counters(world, "journey") == {"entered": 1, "exited": 1}
    assert counters(world, "w") == {"entered": 1, "exited": 1}
    assert world.runner.stop(run.execution, "again", "stopped already") is False


def test_a_machine_made_open_does_not_count_but_a_human_open_of_the_runs_message_does(
    world: World, moment: Moment
) -> None:
    # Given a run that was sent the welcome email
    run = entered(world, condition_journey(world), person(world, "ann"))
    sent = run.send_email("welcome")

    # When a mail scanner opens it, then the profile opens another message, then this one, twice
    scanner = opened(run, sent["dedupeKey"], machine=True)
    facts_after_scanner = (run.live() or {})["facts"]
    opened(run, "someone-elses-message")
    facts_after_other = (run.live() or {})["facts"]
    opened(run, sent["dedupeKey"])
    opened(run, sent["dedupeKey"])

    # Then neither the scanner nor the other message set the fact; the human open did, counted once
    assert scanner == "noted"
    assert facts_after_scanner == facts_after_other == {}
    assert (run.live() or {})["facts"] == {"opened": ["welcome"]}
    assert counters(world, "welcome")["opened"] == 1


# ---- analytics --------------------------------------------------------------------------------------------


def test_analytics_add_up_the_counts_the_runs_made(world: World, moment: Moment) -> None:
    # Given three runs through a split into a wait: one completes, one converts while waiting, one still waits
    journey = goal_journey(world)
    runs = {p: entered(world, journey, person(world, p)) for p in ("ann", "bob", "cy")}
    waits = {}
    for profile_id, run in runs.items():
        split = run.step("split", "ab")
        waits[profile_id] = (split["branch"], run.step("wait", "w", split))
    moment.advance(DAY)
    runs["ann"].finish(waits["ann"][1])
    bob_live = runs["bob"].live()
    assert bob_live is not None and bought(runs["bob"], bob_live) == "converted"

    # When the journey's analytics are read
    (version,) = analytics(JOURNEY_ID, world.repo)["versions"]  # type: ignore[arg-type]

    # Then the journey: three in, one completed, one converted, one still active
    assert version["version"] == 1
    assert version["journey"] == {
        "entered": 3,
        "completed": 1,
        "holdout": 0,
        "exited": 0,
        "failed": 0,
        "converted": 1,
        "active": 1,
        "conversionRate": round(1 / 3, 4),
    }
    # And the wait: three arrived, one completed, one left by the goal, so one is waiting now
    wait_node = version["nodes"]["w"]
    assert (wait_node["entered"], wait_node["completed"], wait_node["exited"]) == (3, 1, 1)
    assert wait_node["waitingNow"] == 3 - 1 - 0 - 1 == 1
    # And the split: everyone passed it; each branch taken as often as profiles fell in it, bob's converted
    split_node = version["nodes"]["ab"]
    assert (split_node["entered"], split_node["completed"], split_node["waitingNow"]) == (3, 3, 0)
    taken: dict[str, int] = {}
    for branch, _ in waits.values():
        taken[branch] = taken.get(branch, 0) + 1
    assert {b: v["taken"] for b, v in split_node["branches"].items()} == taken
    assert sum(v["converted"] for v in split_node["branches"].values()) == 1
    assert split_node["branches"][waits["bob"][0]]["converted"] == 1


# ---- the memory adapter keeps DynamoJourneys' contract ----------------------------------------------------


def test_the_memory_table_has_the_public_methods_of_the_dynamodb_one() -> None:
    def public(cls: type) -> dict[str, str]:
        return {n: str(inspect.signature(f)) for n, f in vars(cls).items() if callable(f) and not n.startswith("_")}

    assert public(MemoryJourneys) == public(DynamoJourneys)


def test_what_goes_in_and_comes_out_of_the_memory_table_is_a_copy() -> None:
    repo = MemoryJourneys()
    run = {"runId": "r1", "journeyId": "j", "version": 1, "profileId": "p", "enteredAt": iso(NOW), "ctx": {"a": [1]}}
    assert repo.enter("p", "j", run, NOW)
    run["ctx"]["a"].append(2)
    read = repo.live_run("p", "j")
    assert read is not None and read["ctx"] == {"a": [1]}
    read["facts"]["opened"] = ["x"]
    assert (repo.live_run("p", "j") or {})["facts"] == {}
    # And it answers as DynamoDB would: a whole float is a number like any other, None inside a map is dropped
    assert repo.update_live("p", "j", "r1", {"facts.score": 2.0, "path": {"a": None, "b": "1"}})
    assert (repo.live_run("p", "j") or {})["facts"] == {"score": 2}
    assert (repo.live_run("p", "j") or {})["path"] == {"b": "1"}


def test_the_memory_table_updates_a_live_run_only_for_that_run_and_refuses_bad_paths() -> None:
    repo = MemoryJourneys()
    run = {"runId": "r1", "journeyId": "j", "version": 1, "profileId": "p", "enteredAt": iso(NOW)}
    assert repo.enter("p", "j", run, NOW) and not repo.enter("p", "j", {**run, "runId": "r2"}, NOW)
    assert repo.update_live("p", "j", "r2", {"at": "x"}) is False
    with pytest.raises(ClientError, match="invalid for update"):
        repo.update_live("p", "j", "r1", {"nowhere.deep": 1})
    with pytest.raises(ClientError, match="overlap"):
        repo.update_live("p", "j", "r1", {"waiting": {}}, removes=("waiting",))
    assert repo.finish_run("p", {**run, "at": "x"}, "completed", "done", NOW)
    assert repo.finish_run("p", {**run, "at": "x"}, "completed", "done", NOW) is False
    assert repo.update_live("p", "j", "r1", {"at": "y"}) is False


def test_the_memory_table_counts_all_or_nothing_once_per_marker() -> None:
    repo = MemoryJourneys()
    assert repo.count("j", "m1", {"v1#a": {"entered": 1}, "v1#b": {"completed": 1, "branch:0": 1}}, NOW)
    assert repo.count("j", "m1", {"v1#a": {"entered": 1}, "v1#c": {"entered": 1}}, NOW) is False
    assert repo.count("j", "m2", {"v1#a": {}}, NOW) is False  # nothing to add writes no marker
    assert repo.count("j", "m2", {"v1#a": {"entered": 2}}, NOW)
    assert repo.stats("j") == {"v1#a": {"entered": 3}, "v1#b": {"completed": 1, "branch:0": 1}}


def test_the_memory_table_lets_a_send_be_claimed_again_only_after_it_did_not_go() -> None:
    repo = MemoryJourneys()
    assert repo.claim_send("p", "k", NOW) is None
    assert repo.claim_send("p", "k", NOW) == {"status": "sending", "claimedAt": iso(NOW)}
    for status in ("failed", "retry", "deferred"):
        repo.finish_send("p", "k", status, {"reason": "x"})
        assert repo.claim_send("p", "k", NOW) is None
    repo.finish_send("p", "k", "sent", {"messageId": "m"})
    assert (repo.claim_send("p", "k", NOW) or {})["detail"] == {"messageId": "m"}


def test_the_memory_table_keeps_windows_rates_and_holds_as_dynamodb_does() -> None:
    repo = MemoryJourneys()
    for minutes in (0, 30, 90):
        repo.record_sent("p", "email", f"k{minutes}", NOW - dt.timedelta(minutes=minutes), 400)
    repo.record_sent("p", "sms", "s", NOW, 400)
    assert repo.recent_sends("p", "email", NOW - dt.timedelta(hours=1)) == [
        NOW - dt.timedelta(minutes=30),
        NOW,
    ]
    assert [repo.take_rate_slot("email", "w1", 2, NOW) for _ in "123"] == [True, True, False]
    assert repo.take_rate_slot("email", "w2", 2, NOW)
    repo.hold("j", "r1", "n1", "t1", NOW)
    assert repo.holds("j") == [{"token": "t1", "heldAt": iso(NOW), "key": "r1#n1"}]
    repo.release("j", "r1#n1")
    assert repo.holds("j") == []


def test_the_memory_table_lifecycle_conditions_fail_like_dynamodb() -> None:
    repo = MemoryJourneys()
    repo.create_journey("j", "J", {"name": "J"}, NOW)
    with pytest.raises(ClientError) as duplicate:
        repo.create_journey("j", "J", {"name": "J"}, NOW)
    assert is_condition_failure(duplicate.value)
    record = {"definition": {"name": "J2"}, "machineArn": "arn", "trackedLinks": {}}
    assert repo.publish("j", 1, record, NOW)
    assert repo.publish("j", 1, record, NOW) is False  # a concurrent publish of the same version loses
    assert repo.set_status("j", "paused", NOW, ["active"])
    assert repo.publish("j", 2, record, NOW)
    assert (repo.journey("j") or {})["status"] == "paused"  # a publish keeps a paused journey paused
    assert repo.set_status("j", "active", NOW, ["draft"]) is False
    assert [v["version"] for v in repo.versions("j")] == [1, 2]


def test_the_memory_runner_starts_by_name_once_and_resumes_a_token_once() -> None:
    runner = MemoryRunner()
    machine = runner.deploy("j", 1, "{}")
    execution = runner.start(machine, "run-1", {"n": 1})
    assert runner.start(machine, "run-1", {"n": 2}) == execution
    assert runner.executions[execution]["input"] == {"n": 1}
    token = runner.task_token(execution)
    assert runner.resume(token, {"branch": "0"}) and not runner.resume(token, {"branch": "0"})
    assert runner.resume("unknown", {}) is False
    late = runner.task_token(execution)
    assert runner.stop(execution, "E", "c") and not runner.stop(execution, "E", "c")
    assert runner.resume(late, {}) is False and runner.stop("arn:unknown", "E", "c") is False
    assert runner.resumed == [(token, {"branch": "0"})]


# ---- a send task retried after a failure: the email goes once, and what follows it happens once ----------------


class RefusesMessageSentOnce(RecordingPublisher):
    """The bus refusing the first MessageSent (a partial PutEvents failure)."""

    def __init__(self) -> None:
        super().__init__()
        self.refused = False

    def publish(self, events: Sequence[Any]) -> None:
        if not self.refused and any(e.detail_type == "MessageSent" for e in events):
            self.refused = True
            raise PublishFailed([{"id": events[0].id, "error": "InternalFailure"}])
        super().publish(events)


def test_a_send_task_that_failed_before_sending_sends_on_its_retry(world: World) -> None:
    # Given a run at its email node, and identity's contact lookup failing once
    run = entered(world, once(world, document([email("mail")])), person(world, "p-1", firstName="Ana"))
    contacts = world.directory.contacts
    world.directory.contacts = {}  # an unknown profile would be skipped; make the lookup itself fail
    world.directory.contact = lambda profile_id: (_ for _ in ()).throw(RuntimeError("identity unavailable"))  # type: ignore[method-assign]
    with pytest.raises(RuntimeError):
        run.send_email("mail")
    del world.directory.contact  # type: ignore[method-assign]
    world.directory.contacts = contacts

    # When Step Functions retries the task
    answer = run.send_email("mail")

    # Then the email goes, once
    assert answer["status"] == "sent"
    assert len(world.mailer.sent) == 1
    assert counters(world, "mail")["sent"] == 1


def test_a_send_task_that_failed_after_sending_finishes_on_its_retry_without_a_second_email(world: World) -> None:
    # Given a run at its email node, and a bus that refuses the first MessageSent
    world.bus = RefusesMessageSentOnce()
    run = entered(world, once(world, document([email("mail")])), person(world, "p-2", firstName="Ana"))
    with pytest.raises(PublishFailed):
        run.send_email("mail")
    assert len(world.mailer.sent) == 1

    # When Step Functions retries the task
    answer = run.send_email("mail")

    # Then no second email; MessageSent is published and the send counted, once each
    assert answer["status"] == "duplicate"
    assert len(world.mailer.sent) == 1
    assert [e.detail_type for e in world.bus.published].count("MessageSent") == 1
    assert counters(world, "mail")["sent"] == 1


def test_an_email_whose_answer_was_lost_counts_as_sent_and_is_never_sent_again(world: World) -> None:
    # Given SES sending the email but its answer lost on the way back
    run = entered(world, once(world, document([email("mail")])), person(world, "p-3", firstName="Ana"))
    world.mailer.fail = SendOutcomeUnknown("Read timeout")

    # When the send step runs, and runs again
    first = run.send_email("mail")
    again = run.send_email("mail")

    # Then it counts as sent (SES may have sent it) and is not sent a second time: at most once (the retry publishes
    # MessageSent again under the same id, which its consumers take once)
    assert (first["status"], first["messageId"], again["status"]) == ("sent", "unknown", "duplicate")
    assert counters(world, "mail")["sent"] == 1
    assert len({e.id for e in world.bus.published if e.detail_type == "MessageSent"}) == 1
