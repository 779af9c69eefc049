"""The segments part of a person's export: every field of a profile's state has a place in the document, ids are
named from the definitions, and times are readable."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest

from services.common.conditions.activities import ActivityView, activity_view
from services.segments.domain.catalog import Catalog, build
from services.segments.domain.privacy import SECTIONS, profile_export
from services.segments.domain.profiles import Activity, ProfileState, TraitsChanged, apply
from tests.segments_seed import answers_like, questionnaire

T0 = int(dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC).timestamp() * 1000)
HOUR = 3_600_000
RECIPES = {"type": "page", "where": [{"property": "path", "op": "startsWith", "value": "/recipes"}]}


def catalog() -> Catalog:
    """A segment on recipe reading in the evening (behaviour + environment), a Dutch segment (traits), an
    engagement plan with caps, a trait rule, expiring points and tiers, a plan without decay, and the cook
    questionnaire."""
    return build(
        [
            {
                "segmentId": "recipe-readers",
                "version": 1,
                "name": "Recipe readers",
                "condition": {"behaviour": RECIPES, "op": "atLeast", "value": 2, "withinDays": 14},
            },
            {
                "segmentId": "dutch-evenings",
                "version": 1,
                "name": "Dutch evenings",
                "condition": {
                    "all": [
                        {"trait": "country", "op": "equals", "value": "NL"},
                        {"environment": "partOfDay", "op": "equals", "value": "evening"},
                    ]
                },
            },
        ],
        [
            {
                "planId": "engagement",
                "version": 1,
                "name": "Engagement",
                "rules": [
                    {"name": "recipe-view", "activity": RECIPES, "points": 5, "maxPerDay": 10},
                    {"name": "has-email", "traits": {"trait": "email", "op": "exists"}, "points": 3},
                ],
                "decay": {"expireAfterDays": 90},
                "tiers": [{"name": "cold"}, {"name": "warm", "min": 10}],
            },
            {
                "planId": "lifetime",
                "version": 1,
                "name": "Lifetime",
                "rules": [{"name": "order", "activity": {"event": "Order Completed"}, "points": 40}],
            },
        ],
        [{"questionnaireId": "cook", "version": 1, **questionnaire()}],
    )


def rich_state(rules: Catalog) -> ProfileState:
    """A profile that read three recipes on a Dutch evening, bought once and answered the questionnaire."""
    state = ProfileState()
    steps: list[Any] = [
        TraitsChanged({"country": "NL", "email": "ana@example.com"}),
        *(
            Activity(
                activity_view(
                    {
                        "messageId": f"r{i}",
                        "type": "page",
                        "properties": {"path": f"/recipes/{i}"},
                        "timestamp": dt.datetime.fromtimestamp((T0 + i * HOUR) / 1000, dt.UTC).isoformat(),
                        "enrichment": {"geo": {"country": "NL"}, "local": {"partOfDay": "evening"}},
                    }
                )
            )
            for i in range(3)
        ),
        Activity(ActivityView("o1", "track", "Order Completed", T0 + 4 * HOUR)),
        Activity(
            ActivityView(
                "q1", "track", "Questionnaire Answered", T0 + 5 * HOUR, properties={"answers": answers_like("explorer")}
            )
        ),
    ]
    for index, step in enumerate(steps):
        state = apply(rules, state, step, T0 + index * HOUR + 1).state
    return state


def test_every_field_of_a_profiles_state_has_a_place_in_the_export() -> None:
    # A field added to ProfileState must be given a section here, or it would silently go unexported
    assert set(SECTIONS) == {f.name for f in dataclasses.fields(ProfileState)}


def test_a_profile_with_everything_exports_every_section() -> None:
    rules = catalog()
    state = rich_state(rules)
    # Given a state where no field is empty (so this test covers them all)
    empty = [f.name for f in dataclasses.fields(ProfileState) if getattr(state, f.name) in (None, {}, [])]
    assert empty == []

    document = profile_export("p-ana", state, rules, T0 + 6 * HOUR)

    # Then every section that shows a field holds something
    assert [s for s in sorted(set(SECTIONS.values())) if document[s] in (None, {}, [])] == []
    assert document["profileId"] == "p-ana"
    assert document["firstSeenAt"] == "2026-03-02T09:00:00.001Z"
    assert document["memberships"] == [
        {"segmentId": "dutch-evenings", "name": "Dutch evenings", "since": "2026-03-02T10:00:00.001Z"},
        {"segmentId": "recipe-readers", "name": "Recipe readers", "since": "2026-03-02T11:00:00.001Z"},
    ]
    engagement, lifetime = document["scores"]
    assert (engagement["planId"], engagement["name"], engagement["score"], engagement["tier"]) == (
        "engagement",
        "Engagement",
        13.0,  # 2 × 5 recipe views within the daily cap of 10, and 3 for the email
        "warm",
    )
    assert engagement["announced"] == {"score": 13.0, "tier": "warm"}
    assert engagement["pointsByDay"] == [{"day": "2026-03-02", "points": 13.0}]
    assert engagement["rulesPaid"] == [
        {"rule": "recipe-view", "lastDay": "2026-03-02", "pointsThatDay": 10.0, "pointsEver": 10.0}
    ]
    assert engagement["traitRulesPaid"] == ["has-email"]
    assert (lifetime["score"], lifetime["tier"], lifetime["points"]["value"]) == (40.0, None, 40.0)
    (cook,) = document["questionnaires"]
    assert (cook["questionnaireId"], cook["name"], cook["complete"]) == ("cook", "What kind of cook are you?", True)
    assert (cook["segment"], cook["segmentName"], cook["confidence"]) == ("explorer", "Explorer", 1.0)
    assert cook["answers"] == answers_like("explorer")
    assert cook["answeredAt"] == "2026-03-02T14:00:00.000Z"
    assert document["traits"] == {"country": "NL", "email": "ana@example.com"}
    assert document["environment"] == {
        "country": "NL",
        "partOfDay": "evening",
        "at": "2026-03-02T11:00:00.000Z",
    }
    assert document["nextReviewAt"] is not None
    assert set(document["segmentReviews"]) == {"recipe-readers"}


def test_behaviour_counters_name_their_filter_and_the_definitions_that_count_it() -> None:
    rules = catalog()
    document = profile_export("p-ana", rich_state(rules), rules, T0 + 6 * HOUR)
    recipes = next(b for b in document["behaviour"] if b["filter"]["type"] == "page")
    assert recipes["filter"] == {
        "type": "page",
        "where": [{"property": "path", "op": "startsWith", "value": "/recipes"}],
    }
    assert recipes["usedBy"] == [
        {"segmentId": "recipe-readers", "name": "Recipe readers"},
        {"planId": "engagement", "rule": "recipe-view"},
    ]
    assert (recipes["total"], recipes["firstAt"], recipes["lastAt"]) == (
        3,
        "2026-03-02T09:00:00.000Z",
        "2026-03-02T11:00:00.000Z",
    )
    assert [b["hits"] for b in recipes["recent"]] == [1, 1, 1]
    # Scoring alone keeps no counter (a rule pays as the activity arrives): the order is in the score only
    assert len(document["behaviour"]) == 1


def test_ids_no_definition_names_any_more_are_exported_as_they_are() -> None:
    # Given a profile whose segment, plan and questionnaire definitions are gone from the catalog
    state = rich_state(catalog())
    document = profile_export("p-ana", state, build([], [], []), T0 + 6 * HOUR)
    assert {m["segmentId"]: m["name"] for m in document["memberships"]} == {
        "dutch-evenings": None,
        "recipe-readers": None,
    }
    assert [(s["planId"], s["name"], s["score"], s["tier"]) for s in document["scores"]] == [
        ("engagement", None, 13.0, "warm"),  # as last announced
        ("lifetime", None, 40.0, None),
    ]
    assert document["questionnaires"][0]["segment"] == "explorer"
    assert {b["filter"] for b in document["behaviour"]} == {None}
    assert [b["total"] for b in document["behaviour"]] == [3]


@pytest.mark.parametrize("pending", [[], [{"type": "SegmentEntered", "at": "2026-03-02T10:00:00.000Z"}]])
def test_inputs_and_announcements_are_listed_oldest_first(pending: list[dict[str, Any]]) -> None:
    replayed = {
        "type": "ScoreChanged",
        "id": "x",
        "at": "2026-03-02T11:00:00.000Z",
        "cause": "ev-2",
        "data": {"profileId": "p", "sequence": 2, "planId": "engagement", "score": 5.0, "previous": 0.0},
    }
    document = profile_export(
        "p", ProfileState(), build([], [], []), T0, inputs={"ev-1": [], "ev-2": [replayed]}, pending=pending
    )
    assert document["recentInputs"] == ["ev-1", "ev-2"]
    assert document["announcements"] == [
        {
            "type": "ScoreChanged",
            "at": "2026-03-02T11:00:00.000Z",
            "cause": "ev-2",
            "sequence": 2,
            "planId": "engagement",
            "score": 5.0,
            "previous": 0.0,
        }
    ]
    assert [m["type"] for m in document["pendingAnnouncements"]] == [m["type"] for m in pending]
