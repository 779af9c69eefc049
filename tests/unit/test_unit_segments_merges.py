"""Two profiles become one: behaviour counts add up whatever the order and lose nothing, scores add up within the
plans' caps and decay, the survivor's answers stand, the survivor is evaluated again and the folded profile leaves
every segment — and an un-merge gives the share back."""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from services.common.conditions.activities import ActivityView, activity_view
from services.common.conditions.rollups import Counter, count_within, merge, prune, record
from services.segments.domain.catalog import Catalog, build
from services.segments.domain.merges import Share, combine, fold, leave, restore, unfold
from services.segments.domain.profiles import Activity, ProfileState, TraitsChanged, apply
from services.segments.domain.scoring import DAY_MS, parse_plan, value_at
from services.segments.domain.scoring import combine as combine_plan
from tests.segments_seed import answers_like, questionnaire

T0 = int(dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC).timestamp() * 1000)
HOUR = 3_600_000
DAY = 24 * HOUR
WEEK = 7 * DAY
RECIPES = {"type": "page", "where": [{"property": "path", "op": "startsWith", "value": "/recipes"}]}
RECIPE_RULE = {"name": "recipe-view", "activity": RECIPES, "points": 5, "maxPerDay": 10, "maxLifetime": 30}
TIERS = [{"name": "cold"}, {"name": "warm", "min": 10}, {"name": "hot", "min": 25}]


def catalog() -> Catalog:
    """A recipe segment (2 in 14 days), a visitors segment (any page), a warm-leads segment, an engagement plan
    with caps and a trait rule, the same plan with expiring and with fading points, and the cook questionnaire."""
    plan = {"rules": [RECIPE_RULE, {"name": "has-email", "traits": {"trait": "email", "op": "exists"}, "points": 3}]}
    return build(
        [
            {
                "segmentId": "recipes",
                "version": 3,
                "condition": {"behaviour": RECIPES, "op": "atLeast", "value": 2, "withinDays": 14},
            },
            {
                "segmentId": "visitors",
                "version": 1,
                "condition": {"behaviour": {"type": "page"}, "op": "atLeast", "value": 1},
            },
            {"segmentId": "warm", "version": 1, "condition": {"tier": "engagement", "op": "atLeast", "value": "warm"}},
        ],
        [
            {"planId": "engagement", "name": "Engagement", **plan, "tiers": TIERS},
            {"planId": "expiring", "name": "Expiring", **plan, "decay": {"expireAfterDays": 30}},
            {"planId": "fading", "name": "Fading", **plan, "decay": {"percentPerWeek": 10}},
        ],
        [{"questionnaireId": "cook", **questionnaire()}],
    )


def page(at: int, path: str = "/recipes/soup", index: int = 0) -> Activity:
    return Activity(
        activity_view(
            {
                "messageId": f"m{index}",
                "type": "page",
                "properties": {"path": path},
                "timestamp": dt.datetime.fromtimestamp(at / 1000, dt.UTC).isoformat(),
            }
        )
    )


def answered(answers: dict[str, Any], at: int) -> Activity:
    return Activity(ActivityView("q", "track", "Questionnaire Answered", at, properties={"answers": answers}))


def profile(cat: Catalog, *stimuli: tuple[Any, int]) -> ProfileState:
    state = ProfileState()
    for stimulus, at in stimuli:
        state = apply(cat, state, stimulus, at).state
    return state


def score(cat: Catalog, state: ProfileState, plan_id: str, now: int) -> float:
    return round(value_at(cat.plans[plan_id], state.scores[plan_id], now), 4)


# ---- behaviour ----------------------------------------------------------------------------------------------------

hits = st.lists(st.integers(min_value=0, max_value=40 * DAY), max_size=25)


def counted(times: list[int], keep: int, horizon: int, now: int) -> Counter:
    counter = Counter()
    for at in times:
        record(counter, T0 + at, keep, horizon, now)
    return counter


@settings(max_examples=200, deadline=None)
@given(a=hits, b=hits, c=hits, keep=st.integers(1, 6), horizon_days=st.integers(1, 30))
def test_folded_counters_are_what_one_profile_with_all_the_hits_would_hold(
    a: list[int], b: list[int], c: list[int], keep: int, horizon_days: int
) -> None:
    # Given three profiles' counters of one filter, each pruned as the service prunes
    horizon, now = horizon_days * DAY, T0 + 40 * DAY
    one, two, three = (counted(times, keep, horizon, now) for times in (a, b, c))

    def folded(x: Counter, y: Counter) -> Counter:
        joined = merge(x, y)
        prune(joined, keep, horizon, now)
        return joined

    # When they are folded, in any order and grouping
    left, right = folded(folded(one, two), three), folded(one, folded(three, two))
    everything = counted(a + b + c, keep, horizon, now)

    # Then the result is the same, and the same as one profile that had every hit: nothing lost, nothing twice
    assert left == right == everything
    assert left.total == len(a) + len(b) + len(c)
    for window in (HOUR, DAY, 7 * DAY, horizon):
        assert count_within(left, window, now, keep) == count_within(everything, window, now, keep)


def test_the_survivor_enters_a_segment_only_the_folded_history_qualifies_it_for() -> None:
    # Given a recipe read anonymously on the phone, and one read by the known profile on the laptop
    cat = catalog()
    phone = profile(cat, (page(T0), T0))
    laptop = profile(cat, (TraitsChanged({"email": "ana@example.com"}), T0), (page(T0 + HOUR, index=1), T0 + HOUR))
    assert "recipes" not in phone.members and "recipes" not in laptop.members

    # When the phone's profile is folded into the laptop's
    outcome, share = fold(cat, laptop, phone, T0 + 2 * HOUR)

    # Then the person read two recipes: the survivor enters the recipe segment, and warm leads (3 + 5 + 5 points)
    assert [(t.segment_id, t.entered, t.version) for t in outcome.transitions] == [
        ("recipes", True, 3),
        ("warm", True, 1),
    ]
    (recipes,) = [c for k, c in outcome.state.counters.items() if cat.counted[k][0] == 3]
    assert (recipes.total, recipes.first, recipes.last) == (2, T0, T0 + HOUR)
    assert outcome.state.first_seen == T0
    assert outcome.state.traits == {"email": "ana@example.com"}
    # and it is due when the first recipe leaves the 14-day window
    assert outcome.state.segment_dues["recipes"] == T0 + 14 * DAY
    assert share.folded == phone

    # And the folded profile leaves every segment it was in
    gone = leave(cat, phone)
    assert [(t.segment_id, t.entered) for t in gone.transitions] == [("visitors", False)]
    assert gone.state.is_blank()


def test_the_newer_environment_and_the_earlier_first_visit_win() -> None:
    cat = build(
        [{"segmentId": "mobile", "condition": {"environment": "deviceType", "op": "equals", "value": "mobile"}}], [], []
    )
    laptop = profile(cat, (Activity(ActivityView("l", "page", None, T0, environment={"deviceType": "desktop"})), T0))
    phone = profile(
        cat, (Activity(ActivityView("p", "page", None, T0 + HOUR, environment={"deviceType": "mobile"})), T0 + HOUR)
    )
    outcome, share = fold(cat, laptop, phone, T0 + 2 * HOUR)
    assert outcome.state.environment == {"deviceType": "mobile"}
    assert [t.segment_id for t in outcome.transitions] == ["mobile"]
    assert share.environment == [{"deviceType": "desktop"}, T0]
    # and the other way round the survivor's newer environment stays
    assert fold(cat, phone, laptop, T0 + 2 * HOUR)[0].state.environment == {"deviceType": "mobile"}


# ---- scores -------------------------------------------------------------------------------------------------------


def test_points_add_up_and_the_change_is_announced_for_the_survivor() -> None:
    cat = catalog()
    phone = profile(cat, (page(T0), T0))  # 5 points
    laptop = profile(cat, (page(T0 - 2 * DAY, index=1), T0 - 2 * DAY))  # 5 points, another day
    outcome, _ = fold(cat, laptop, phone, T0 + HOUR)
    assert score(cat, outcome.state, "engagement", T0 + HOUR) == 10
    changes = {c.plan_id: (c.score, c.previous, c.tier) for c in outcome.score_changes}
    assert changes["engagement"] == (10.0, 5.0, "warm")
    assert [(c.plan_id, c.tier, c.previous, c.direction) for c in outcome.crossings] == [
        ("engagement", "warm", "cold", "up")
    ]
    assert [t.segment_id for t in outcome.transitions if t.entered] == ["recipes", "warm"]


def test_a_daily_cap_both_profiles_reached_the_same_day_is_paid_once() -> None:
    # Given both profiles read two recipes today (10 points each: the daily cap)
    cat = catalog()
    phone = profile(cat, (page(T0), T0), (page(T0 + 1, index=1), T0 + 1))
    laptop = profile(cat, (page(T0 + 2, index=2), T0 + 2), (page(T0 + 3, index=3), T0 + 3))
    outcome, share = fold(cat, laptop, phone, T0 + HOUR)
    # Then the person has 10 for today, and a further read today pays nothing
    assert score(cat, outcome.state, "engagement", T0 + HOUR) == 10
    after = apply(cat, outcome.state, page(T0 + 2 * HOUR, index=9), T0 + 2 * HOUR).state
    assert score(cat, after, "engagement", T0 + 2 * HOUR) == 10
    assert share.plans["engagement"]["v"] == 0


def test_a_lifetime_cap_counts_both_profiles_together() -> None:
    # Given 20 points each from recipe reading on different days (lifetime cap 30)
    cat = catalog()
    phone = profile(cat, *((page(T0 + d * DAY + i, index=d * 2 + i), T0 + d * DAY + i) for d in (0, 1) for i in (0, 1)))
    laptop = profile(
        cat, *((page(T0 + d * DAY + i, index=10 + d * 2 + i), T0 + d * DAY + i) for d in (2, 3) for i in (0, 1))
    )
    now = T0 + 4 * DAY
    assert score(cat, phone, "engagement", now) == score(cat, laptop, "engagement", now) == 20
    outcome, _ = fold(cat, laptop, phone, now)
    assert score(cat, outcome.state, "engagement", now) == 30
    assert outcome.state.scores["engagement"]["c"]["recipe-view"][2] == 30


def test_a_trait_rule_paid_on_both_is_paid_once() -> None:
    cat = catalog()
    has_email = (TraitsChanged({"email": "ana@example.com"}), T0)
    phone, laptop = profile(cat, has_email), profile(cat, has_email)
    outcome, _ = fold(cat, laptop, phone, T0 + HOUR)
    assert score(cat, outcome.state, "engagement", T0 + HOUR) == 3
    assert outcome.state.scores["engagement"]["o"] == ["has-email"]


def test_expiring_points_keep_their_day_and_fading_points_their_decay() -> None:
    cat = catalog()
    phone = profile(cat, (page(T0), T0))
    laptop = profile(cat, (page(T0 + 10 * DAY, index=1), T0 + 10 * DAY))
    now = T0 + 10 * DAY + HOUR
    outcome, _ = fold(cat, laptop, phone, now)
    # expiring: each day's points expire 30 days after their own day
    assert score(cat, outcome.state, "expiring", now) == 10
    first_expiry = (T0 // DAY_MS + 31) * DAY_MS
    assert score(cat, outcome.state, "expiring", first_expiry - 1) == 10
    assert score(cat, outcome.state, "expiring", first_expiry) == 5
    # fading: the sum of what each is worth now, fading on together
    fading = score(cat, phone, "fading", now) + score(cat, laptop, "fading", now)
    assert abs(score(cat, outcome.state, "fading", now) - fading) < 1e-3
    later = now + 4 * WEEK
    assert abs(score(cat, outcome.state, "fading", later) - fading * 0.9**4) < 1e-3


caps = st.tuples(st.integers(0, 3), st.floats(0, 10), st.floats(0, 30)).map(lambda c: [c[0], c[1], max(c[1], c[2])])


@settings(max_examples=200, deadline=None)
@given(
    mine=st.fixed_dictionaries({"v": st.floats(0, 100), "c": st.fixed_dictionaries({"recipe-view": caps})}),
    theirs=st.fixed_dictionaries({"v": st.floats(0, 100), "c": st.fixed_dictionaries({"recipe-view": caps})}),
)
def test_adding_up_scores_is_symmetric_and_keeps_within_the_caps(mine: dict[str, Any], theirs: dict[str, Any]) -> None:
    plan = parse_plan({"name": "p", "rules": [RECIPE_RULE]}, "p")
    now = T0
    one, share = combine_plan(plan, mine, theirs, now)
    other, _ = combine_plan(plan, theirs, mine, now)
    assert abs(value_at(plan, one, now) - value_at(plan, other, now)) < 1e-3
    ever = one["c"]["recipe-view"][2]
    assert ever <= max(30.0, mine["c"]["recipe-view"][2], theirs["c"]["recipe-view"][2]) + 1e-9
    assert value_at(plan, one, now) <= mine["v"] + theirs["v"] + 1e-3
    assert abs(value_at(plan, one, now) - mine["v"] - share["v"]) < 1e-3


# ---- questionnaires ---------------------------------------------------------------------------------------------


def test_the_survivors_complete_answers_stand() -> None:
    cat = catalog()
    phone = profile(cat, (answered(answers_like("explorer"), T0), T0))
    laptop = profile(cat, (answered(answers_like("time-saver"), T0 + HOUR), T0 + HOUR))
    outcome, share = fold(cat, laptop, phone, T0 + 2 * HOUR)
    assert outcome.state.answers["cook"] == laptop.answers["cook"]
    assert outcome.assignments == [] and share.answers == {}


def test_a_survivor_without_answers_takes_the_folded_ones_and_the_assignment_is_announced() -> None:
    cat = catalog()
    phone = profile(cat, (answered(answers_like("explorer"), T0), T0))
    laptop = profile(cat, (page(T0), T0))
    outcome, _ = fold(cat, laptop, phone, T0 + HOUR)
    assert outcome.state.answers["cook"]["k"] == "explorer"
    assert [(a.questionnaire_id, a.segment, a.previous) for a in outcome.assignments] == [("cook", "explorer", None)]


def test_partial_answers_fill_each_others_gaps_the_survivors_first() -> None:
    cat = catalog()
    explorer, saver = answers_like("explorer"), answers_like("time-saver")
    phone = profile(cat, (answered({q: v for q, v in explorer.items() if q <= "q4"}, T0), T0))
    laptop = profile(cat, (answered({q: v for q, v in saver.items() if q >= "q4"}, T0 + HOUR), T0 + HOUR))
    outcome, _ = fold(cat, laptop, phone, T0 + 2 * HOUR)
    answers = outcome.state.answers["cook"]
    assert answers["done"] and answers["a"]["q4"] == saver["q4"] and answers["a"]["q1"] == explorer["q1"]
    assert [a.questionnaire_id for a in outcome.assignments] == ["cook"]


# ---- un-merge -----------------------------------------------------------------------------------------------------


def test_an_unmerge_gives_the_share_back_and_keeps_what_came_since() -> None:
    # Given the phone's recipe folded into the laptop's profile, which reads another recipe the next day
    cat = catalog()
    phone = profile(cat, (page(T0), T0), (answered(answers_like("explorer"), T0), T0))
    laptop = profile(cat, (page(T0 + HOUR, index=1), T0 + HOUR))
    folded, share = fold(cat, laptop, phone, T0 + 2 * HOUR)
    share = Share.from_json(share.to_json())  # as stored
    later = apply(cat, folded.state, page(T0 + DAY, index=2), T0 + DAY).state
    assert score(cat, later, "engagement", T0 + DAY) == 15

    # When the merge is undone
    now = T0 + DAY + HOUR
    back = unfold(cat, later, share, now)
    restored = restore(cat, share, now)

    # Then the survivor keeps its own two recipe views (still a recipe reader), loses the phone's answers and points
    (counter,) = [c for k, c in back.state.counters.items() if cat.counted[k][0] == 3]
    assert (counter.total, counter.first) == (2, T0 + HOUR)
    assert "recipes" in back.state.members and "cook" not in back.state.answers
    assert score(cat, back.state, "engagement", now) == 10
    assert back.state.first_seen == T0 + HOUR
    # and the phone's profile is as it was, entering again what it qualifies for, announced anew
    assert restored.state.counters == phone.counters and restored.state.answers == phone.answers
    assert sorted(t.segment_id for t in restored.transitions if t.entered) == ["visitors"]
    assert [a.segment for a in restored.assignments] == ["explorer"]
    assert {c.plan_id: c.score for c in restored.score_changes}["engagement"] == 5.0


def test_the_fold_combines_only_what_the_folded_profile_had() -> None:
    cat = catalog()
    laptop = profile(cat, (page(T0), T0))
    state, share = combine(cat, laptop, ProfileState(), T0 + HOUR)
    assert state.counters == laptop.counters and state.scores == laptop.scores
    assert share.plans == {} and share.first == {}


def test_an_unmerge_right_after_the_fold_gives_every_plan_its_own_score_back() -> None:
    # Given both profiles scored under every plan, the phone's points capped against the laptop's the same day
    cat = catalog()
    email = (TraitsChanged({"email": "ana@example.com"}), T0)
    phone = profile(cat, email, (page(T0), T0), (page(T0 + 1, index=1), T0 + 1), (page(T0 + 2, index=2), T0 + 2))
    laptop = profile(cat, email, (page(T0 + 3, index=3), T0 + 3), (page(T0 - 9 * DAY, index=4), T0 - 9 * DAY))
    now = T0 + DAY

    # When the merge is undone at once
    folded, share = fold(cat, laptop, phone, T0 + HOUR)
    back = unfold(cat, folded.state, Share.from_json(share.to_json()), now)

    # Then each plan holds the laptop's own points again
    for plan_id in ("engagement", "expiring", "fading"):
        assert abs(score(cat, back.state, plan_id, now) - score(cat, laptop, plan_id, now)) < 1e-3, plan_id
    assert back.state.scores["engagement"]["o"] == ["has-email"]
