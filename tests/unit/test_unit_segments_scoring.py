"""Scoring plans: validation with paths, caps per day and lifetime, trait rules paid once, machine-made activity
ignored, decay (expiry and a percentage per week), tiers and the events announcing each change once."""

from __future__ import annotations

import datetime as dt
import itertools
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.common.conditions.activities import ActivityView
from services.common.conditions.faults import InvalidDefinition
from services.segments.domain.catalog import build
from services.segments.domain.profiles import (
    Activity,
    Outcome,
    PointsAwarded,
    ProfileState,
    ScoreChange,
    Tick,
    TierCrossing,
    TraitsChanged,
    apply,
)
from services.segments.domain.scoring import changes_at, parse_plan, tier_of, value_at

T0 = int(dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC).timestamp() * 1000)
HOUR = 3_600_000
DAY = 24 * HOUR
TIERS = [{"name": "cold"}, {"name": "warm", "min": 10}, {"name": "hot", "min": 50}, {"name": "champion", "min": 150}]


def plan(rules: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"planId": "eng", "name": "Engagement", "rules": rules, "tiers": TIERS, **extra}


def track(event: str, at: int, index: int = 0, machine: bool = False, **properties: Any) -> Activity:
    return Activity(ActivityView(f"m{index}", "track", event, at, properties=properties, machine=machine))


def run(stored_plan: dict[str, Any], steps: list[tuple[Any, int]]) -> tuple[ProfileState, list[Outcome]]:
    catalog = build([], [stored_plan], [])
    state = ProfileState()
    outcomes = []
    for stimulus, now in steps:
        outcome = apply(catalog, state, stimulus, now)
        state = outcome.state
        outcomes.append(outcome)
    return state, outcomes


def score(state: ProfileState, stored_plan: dict[str, Any], now: int) -> float:
    parsed = parse_plan({k: v for k, v in stored_plan.items() if k != "planId"}, "eng")
    return value_at(parsed, state.scores.get("eng", {}), now)


# ---- validation ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "path"),
    [
        pytest.param({"name": "x", "rules": []}, "rules", id="no-rules"),
        pytest.param({"name": "x", "rules": [{"name": "a", "points": 1}]}, "rules[0]", id="no-source"),
        pytest.param(
            {"name": "x", "rules": [{"name": "a", "activity": {"event": "X"}, "points": 0}]},
            "rules[0].points",
            id="zero-points",
        ),
        pytest.param(
            {"name": "x", "rules": [{"name": "a", "activity": {"event": "X"}, "points": "5"}]},
            "rules[0].points",
            id="points-type",
        ),
        pytest.param(
            {"name": "x", "rules": [{"name": "a", "activity": {"event": "X"}, "points": 1, "maxPerDay": 0}]},
            "rules[0].maxPerDay",
            id="cap-0",
        ),
        pytest.param(
            {"name": "x", "rules": [{"name": "a", "activity": {"type": "tap"}, "points": 1}]},
            "rules[0].activity.type",
            id="filter",
        ),
        pytest.param(
            {"name": "x", "rules": [{"name": "a", "traits": {"behaviour": {}, "op": "never"}, "points": 1}]},
            "rules[0].traits",
            id="trait-rule-with-behaviour",
        ),
        pytest.param(
            {
                "name": "x",
                "rules": [{"name": "a", "traits": {"trait": "e", "op": "exists"}, "points": 1, "maxLifetime": 5}],
            },
            "rules[0].maxLifetime",
            id="trait-cap",
        ),
        pytest.param(
            {
                "name": "x",
                "rules": [{"name": "a", "activity": {}, "points": 1}, {"name": "a", "activity": {}, "points": 2}],
            },
            "rules[1].name",
            id="duplicate-rule",
        ),
        pytest.param(
            {
                "name": "x",
                "rules": [{"name": "a", "activity": {}, "points": 1}],
                "decay": {"expireAfterDays": 9, "percentPerWeek": 5},
            },
            "decay",
            id="two-decays",
        ),
        pytest.param(
            {"name": "x", "rules": [{"name": "a", "activity": {}, "points": 1}], "decay": {"x": 1}},
            "decay.x",
            id="decay-unknown",
        ),
        pytest.param(
            {"name": "x", "rules": [{"name": "a", "activity": {}, "points": 1}], "decay": {}},
            "decay",
            id="decay-empty",
        ),
        pytest.param(
            {"name": "x", "rules": [{"name": "a", "activity": {}, "points": 1}], "decay": {"percentPerWeek": 100}},
            "decay.percentPerWeek",
            id="decay-100",
        ),
        pytest.param(
            {"name": "x", "rules": [{"name": "a", "activity": {}, "points": 1}], "tiers": [{"name": "cold", "min": 0}]},
            "tiers[0].min",
            id="floor-min",
        ),
        pytest.param(
            {
                "name": "x",
                "rules": [{"name": "a", "activity": {}, "points": 1}],
                "tiers": [{"name": "cold"}, {"name": "hot", "min": 5}, {"name": "warm", "min": 5}],
            },
            "tiers[2].min",
            id="tiers-not-rising",
        ),
        pytest.param(
            {
                "name": "x",
                "rules": [{"name": "a", "activity": {}, "points": 1}],
                "tiers": [{"name": "cold"}, {"name": "hot"}],
            },
            "tiers[1].min",
            id="tier-min-missing",
        ),
        pytest.param(
            {"name": "x", "rules": [{"name": "a", "activity": {}, "points": 1}], "owner": "me"},
            "owner",
            id="unknown-field",
        ),
    ],
)
def test_an_invalid_plan_is_refused_naming_the_field(body: dict[str, Any], path: str) -> None:
    with pytest.raises(InvalidDefinition) as refused:
        parse_plan(body, "p")
    assert path in {f.path for f in refused.value.faults}, refused.value.faults


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=12,
)
PLAN_KEYS = st.sampled_from(["name", "description", "rules", "tiers", "decay", "points", "activity", "traits"])


@settings(max_examples=300)
@given(
    st.fixed_dictionaries(
        {"name": st.just("p"), "rules": st.lists(st.dictionaries(PLAN_KEYS, JSON, max_size=4), max_size=2)},
        optional={
            "decay": st.dictionaries(st.sampled_from(["expireAfterDays", "percentPerWeek", "x"]), JSON),
            "tiers": st.lists(st.dictionaries(st.sampled_from(["name", "min", "x"]), JSON), max_size=3),
        },
    )
)
def test_any_json_plan_is_parsed_or_refused_naming_fields_never_crashes(body: dict[str, Any]) -> None:
    try:
        parse_plan(body, "p")
    except InvalidDefinition as refused:
        assert refused.faults


# ---- points, caps, once, machines ------------------------------------------------------------------------------


def test_points_are_paid_per_matching_event_within_the_daily_cap() -> None:
    # Given 5 points per recipe view, at most 10 a day
    stored = plan([{"name": "recipe", "activity": {"event": "Viewed Recipe"}, "points": 5, "maxPerDay": 10}])

    # When 3 views happen on day one and 1 on day two
    steps = [(track("Viewed Recipe", T0 + i, i), T0 + i) for i in range(3)]
    steps.append((track("Viewed Recipe", T0 + DAY, 9), T0 + DAY))
    state, outcomes = run(stored, steps)

    # Then 10 points on day one (the third view pays nothing) and 5 more on day two
    assert [o.score_changes for o in outcomes] == [
        [ScoreChange("eng", 5.0, 0.0, "cold")],
        [ScoreChange("eng", 10.0, 5.0, "warm")],
        [],
        [ScoreChange("eng", 15.0, 10.0, "warm")],
    ]
    assert outcomes[1].crossings == [TierCrossing("eng", "warm", "cold", "up", 10.0)]
    assert score(state, stored, T0 + DAY) == 15


def test_a_lifetime_cap_pays_part_of_the_rule_then_nothing() -> None:
    stored = plan([{"name": "form", "activity": {"event": "Form Submitted"}, "points": 30, "maxLifetime": 40}])
    steps = [(track("Form Submitted", T0 + i * DAY, i), T0 + i * DAY) for i in range(3)]
    state, _ = run(stored, steps)
    assert score(state, stored, T0 + 3 * DAY) == 40


def test_negative_points_remove_and_a_tier_can_drop() -> None:
    stored = plan(
        [
            {"name": "buy", "activity": {"event": "Order Completed"}, "points": 60},
            {"name": "unsubscribe", "activity": {"event": "Unsubscribed"}, "points": -30},
        ]
    )
    _, outcomes = run(stored, [(track("Order Completed", T0), T0), (track("Unsubscribed", T0 + 1, 1), T0 + 1)])
    assert outcomes[1].crossings == [TierCrossing("eng", "warm", "hot", "down", 30.0)]


def test_property_filters_decide_which_events_score() -> None:
    stored = plan(
        [
            {
                "name": "big",
                "activity": {"event": "Order Completed", "where": [{"property": "total", "op": "gte", "value": 100}]},
                "points": 50,
            }
        ]
    )
    state, _ = run(stored, [(track("Order Completed", T0, 0, total=20), T0), (track("Order Completed", T0, 1), T0)])
    assert score(state, stored, T0) == 0
    state, _ = run(stored, [(track("Order Completed", T0, 0, total=120), T0)])
    assert score(state, stored, T0) == 50


def test_plans_score_side_by_side() -> None:
    # Given an engagement plan and a purchase-intent plan that value the same events differently
    engagement = plan([{"name": "view", "activity": {"event": "Viewed Product"}, "points": 1}])
    intent = {
        "planId": "intent",
        "name": "Purchase intent",
        "rules": [
            {"name": "view", "activity": {"event": "Viewed Product"}, "points": 10, "maxPerDay": 20},
            {"name": "cart", "activity": {"event": "Added to Cart"}, "points": 30},
        ],
        "tiers": [{"name": "browsing"}, {"name": "likely", "min": 40}],
    }
    catalog = build([], [engagement, intent], [])

    # When a visitor views three products and adds one to the cart
    state = ProfileState()
    changes: list[ScoreChange] = []
    for i, event in enumerate(["Viewed Product"] * 3 + ["Added to Cart"]):
        outcome = apply(catalog, state, track(event, T0 + i, i), T0 + i)
        state = outcome.state
        changes += outcome.score_changes

    # Then each plan kept its own score, caps and tier
    assert state.scores["eng"]["s"] == 3 and state.scores["eng"]["tier"] == "cold"
    assert state.scores["intent"]["s"] == 50 and state.scores["intent"]["tier"] == "likely"
    assert [c.plan_id for c in changes].count("intent") == 3  # the third view was over the daily cap


def test_machine_made_activity_does_not_score() -> None:
    stored = plan([{"name": "click", "activity": {"event": "Email Link Clicked"}, "points": 5}])
    state, outcomes = run(stored, [(track("Email Link Clicked", T0, machine=True), T0)])
    assert score(state, stored, T0) == 0
    assert outcomes[0].score_changes == []


def test_a_trait_rule_pays_once_even_when_the_trait_changes_again() -> None:
    stored = plan([{"name": "has-email", "traits": {"trait": "email", "op": "exists"}, "points": 5}])
    state, outcomes = run(
        stored,
        [
            (TraitsChanged({"email": "a@example.com"}), T0),
            (TraitsChanged({"email": None}), T0 + 1),
            (TraitsChanged({"email": "b@example.com"}), T0 + 2),
        ],
    )
    assert score(state, stored, T0 + 2) == 5
    assert [len(o.score_changes) for o in outcomes] == [1, 0, 0]


# ---- decay -----------------------------------------------------------------------------------------------------


def test_points_expire_at_the_utc_midnight_after_n_days() -> None:
    # Given points that expire after 7 days, paid at 09:00 on day 0 and day 3
    stored = plan([{"name": "buy", "activity": {"event": "Buy"}, "points": 30}], decay={"expireAfterDays": 7})
    day0 = (T0 // DAY) * DAY
    state, _ = run(stored, [(track("Buy", T0), T0), (track("Buy", T0 + 3 * DAY, 1), T0 + 3 * DAY)])

    # Then day 0's points last until midnight after day 7, day 3's until midnight after day 10
    assert score(state, stored, day0 + 8 * DAY - 1) == 60
    assert score(state, stored, day0 + 8 * DAY) == 30
    assert score(state, stored, day0 + 11 * DAY) == 0
    # and the plan knows when its tier changes: hot (60) → warm (30) at the first expiry
    parsed = parse_plan({k: v for k, v in stored.items() if k != "planId"}, "eng")
    assert changes_at(parsed, state.scores["eng"], T0 + 3 * DAY, ()) == day0 + 8 * DAY


def test_a_percentage_per_week_decays_continuously_and_the_tier_drop_is_scheduled_exactly() -> None:
    # Given 10 % a week, and 100 points paid at T0 (hot: 50 and above)
    stored = plan([{"name": "buy", "activity": {"event": "Buy"}, "points": 100}], decay={"percentPerWeek": 10})
    state, _ = run(stored, [(track("Buy", T0), T0)])
    week = 7 * DAY
    assert score(state, stored, T0 + week) == pytest.approx(90)
    assert score(state, stored, T0 + 2 * week) == pytest.approx(81)

    # Then the moment it falls below 50 is solved, not polled: 100 × 0.9^w = 50
    parsed = parse_plan({k: v for k, v in stored.items() if k != "planId"}, "eng")
    drop = changes_at(parsed, state.scores["eng"], T0, ())
    assert drop is not None
    assert drop == pytest.approx(T0 + week * math.log(0.5) / math.log(0.9), abs=2)
    assert tier_of(parsed, value_at(parsed, state.scores["eng"], drop - 2)) == "hot"
    assert tier_of(parsed, value_at(parsed, state.scores["eng"], drop)) == "warm"

    # And a tick at that moment announces the crossing (and the score) once
    catalog = build([], [stored], [])
    ticked = apply(catalog, state, Tick(), drop)
    assert ticked.crossings == [
        TierCrossing("eng", "warm", "hot", "down", round(value_at(parsed, state.scores["eng"], drop), 2))
    ]
    assert apply(catalog, ticked.state, Tick(), drop + DAY).crossings == []


def test_the_profile_is_due_when_decay_will_move_its_tier() -> None:
    stored = plan([{"name": "buy", "activity": {"event": "Buy"}, "points": 60}], decay={"expireAfterDays": 2})
    state, _ = run(stored, [(track("Buy", T0), T0)])
    assert state.due == (T0 // DAY + 3) * DAY


@settings(max_examples=150, deadline=None)
@given(
    payments=st.lists(st.tuples(st.integers(0, 60 * 24), st.integers(-40, 80).filter(bool)), min_size=1, max_size=8),
    probe=st.integers(0, 90 * 24),
    percent=st.sampled_from([None, 5, 30]),
)
def test_tiers_follow_the_score_and_every_crossing_is_announced_in_order(
    payments: list[tuple[int, int]], probe: int, percent: int | None
) -> None:
    # Given a plan with a rule per payment size and an optional weekly decay
    rules = [{"name": f"r{p}".replace("-", "m"), "activity": {"event": f"E{p}"}, "points": p} for _, p in payments]
    unique = list({r["name"]: r for r in rules}.values())
    stored = plan(unique, **({"decay": {"percentPerWeek": percent}} if percent else {}))
    steps = sorted((T0 + minutes * 60_000, p) for minutes, p in payments)
    state, outcomes = run(stored, [(track(f"E{p}", at, i), at) for i, (at, p) in enumerate(steps)])
    parsed = parse_plan({k: v for k, v in stored.items() if k != "planId"}, "eng")

    # Then the last announced tier is the tier of the score at the last payment
    crossings = [c for o in outcomes for c in o.crossings]
    last = steps[-1][0]
    assert state.scores["eng"]["tier"] == tier_of(parsed, value_at(parsed, state.scores["eng"], last))
    # and consecutive crossings chain: each starts where the previous ended
    for before, after in itertools.pairwise(crossings):
        assert after.previous == before.tier
    # and a later tick announces a drop only if decay moved the tier
    later = last + probe * HOUR
    ticked = apply(build([], [stored], []), state, Tick(), later)
    expected = tier_of(parsed, value_at(parsed, state.scores["eng"], later))
    assert (ticked.crossings != []) == (expected != state.scores["eng"]["tier"])


def test_points_a_journey_gives_move_the_score_and_cross_tiers_like_rule_points() -> None:
    # Given a plan whose forms pay 20 points
    stored = plan([{"name": "form", "activity": {"event": "Form Submitted"}, "points": 20}])

    # When a form is sent, then a journey step gives 40 points, then takes 55 back
    state, outcomes = run(
        stored,
        [
            (track("Form Submitted", T0), T0),
            (PointsAwarded("eng", 40), T0 + HOUR),
            (PointsAwarded("eng", -55), T0 + 2 * HOUR),
        ],
    )

    # Then the score follows (20, 60, 5) and each tier crossing is announced, up to hot and down to cold
    assert [c.score for o in outcomes for c in o.score_changes] == [20, 60, 5]
    assert [(c.previous, c.tier, c.direction) for o in outcomes for c in o.crossings] == [
        ("cold", "warm", "up"),
        ("warm", "hot", "up"),
        ("hot", "cold", "down"),
    ]
    assert score(state, stored, T0 + 2 * HOUR) == 5


def test_points_for_a_plan_that_does_not_exist_change_nothing() -> None:
    state, outcomes = run(plan([]), [(PointsAwarded("no-such-plan", 40), T0)])
    assert [o.score_changes for o in outcomes] == [[]]
    assert state.scores == {}
