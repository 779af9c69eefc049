"""Questionnaire segmentation: the key (centroids or weights) picks the best match with a confidence; a profile
stays neutral until it has answered every question confidently; answering again moves it."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.common.conditions.activities import ActivityView
from services.common.conditions.faults import InvalidDefinition
from services.segments.domain.catalog import build
from services.segments.domain.profiles import Activity, Assignment, ProfileState, apply
from services.segments.domain.questionnaires import answers_in, assign, parse_questionnaire
from services.segments.domain.statistics import deltas, snapshot
from tests.segments_seed import CENTROIDS, QUESTIONS, answers_like, questionnaire

T0 = 1_772_442_000_000
SEED = parse_questionnaire(questionnaire(), "food")


def answered(properties: dict[str, Any], event: str = "Questionnaire Answered", index: int = 0) -> ActivityView:
    return ActivityView(f"m{index}", "track", event, T0 + index, properties=properties)


# ---- the key ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", list(CENTROIDS))
def test_answers_on_a_centroid_get_that_segment_with_full_confidence(key: str) -> None:
    assert assign(SEED, {q: float(v) for q, v in answers_like(key).items()}) == (key, 1.0)


def test_answers_half_way_between_two_segments_stay_neutral() -> None:
    between = {
        q: (a + b) / 2 for (q, _), a, b in zip(QUESTIONS, CENTROIDS["explorer"], CENTROIDS["social-host"], strict=True)
    }
    segment, confidence = assign(SEED, between)
    assert segment is None
    assert confidence == 0.0


def test_confidence_is_one_minus_the_ratio_of_the_two_nearest_distances() -> None:
    answers = {q: float(v) for q, v in answers_like("explorer", nudge=1).items()}
    ranked = sorted(math.dist(list(answers.values()), c) for c in CENTROIDS.values())
    segment, confidence = assign(SEED, answers)
    assert segment == "explorer"
    assert confidence == pytest.approx(1 - ranked[0] / ranked[1], abs=1e-4)


def test_a_weights_key_picks_the_highest_score_with_its_softmax_probability() -> None:
    body = {
        "name": "Two types",
        "questions": [{"id": "a"}, {"id": "b"}],
        "key": {
            "method": "weights",
            "segments": [
                {"key": "doer", "weights": [1.0, -0.5], "bias": 0},
                {"key": "dreamer", "weights": [-0.5, 1.0], "bias": 0.5},
            ],
        },
        "minConfidence": 0.7,
    }
    key = parse_questionnaire(body, "t")
    segment, confidence = assign(key, {"a": 7, "b": 1})
    assert segment == "doer"
    assert confidence == pytest.approx(1 / (1 + math.exp((-3.5 + 1 + 0.5) - 6.5)), abs=1e-4)
    # 4, 4: doer 2, dreamer 2.5 → dreamer at 1 / (1 + e^-0.5) = 0.62, below the 0.7 threshold: neutral
    assert assign(key, {"a": 4, "b": 4}) == (None, pytest.approx(1 / (1 + math.exp(-0.5)), abs=1e-4))


def test_missing_answers_give_no_segment() -> None:
    assert assign(SEED, {"q1": 7.0}) == (None, 0.0)


@settings(max_examples=200, deadline=None)
@given(point=st.lists(st.integers(1, 7), min_size=8, max_size=8), order=st.permutations(list(CENTROIDS)))
def test_the_nearest_centroid_wins_whatever_the_order_of_the_key(point: list[int], order: list[str]) -> None:
    body = questionnaire(min_confidence=0.0)
    body["key"]["segments"] = [s for key in order for s in body["key"]["segments"] if s["key"] == key]
    key = parse_questionnaire(body, "food")
    answers = {qid: float(v) for (qid, _), v in zip(QUESTIONS, point, strict=True)}
    segment, confidence = assign(key, answers)
    distances = {k: math.dist(point, c) for k, c in CENTROIDS.items()}
    best = min(distances.values())
    assert 0.0 <= confidence <= 1.0
    if confidence > 0:
        assert distances[segment] == best  # type: ignore[index]
    assert assign(SEED, answers) == ((segment, confidence) if confidence >= SEED.min_confidence else (None, confidence))


# ---- validation ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "path"),
    [
        pytest.param(lambda b: b["key"]["segments"][2]["centroid"].pop(), "key.segments[2].centroid", id="short"),
        pytest.param(
            lambda b: b["key"]["segments"][1]["centroid"].__setitem__(3, 9),
            "key.segments[1].centroid[3]",
            id="off-scale",
        ),
        pytest.param(
            lambda b: b["key"]["segments"][4].__setitem__("key", "explorer"), "key.segments[4].key", id="duplicate-key"
        ),
        pytest.param(lambda b: b["key"].__setitem__("method", "knn"), "key.method", id="method"),
        pytest.param(lambda b: b.__setitem__("minConfidence", 1.5), "minConfidence", id="confidence"),
        pytest.param(lambda b: b["questions"][1].__setitem__("id", "q1"), "questions[1].id", id="duplicate-question"),
        pytest.param(lambda b: b.__setitem__("scale", {"min": 7, "max": 1}), "scale.max", id="scale"),
        pytest.param(
            lambda b: b["key"]["segments"][5].__setitem__("centroid", CENTROIDS["explorer"]),
            "key.segments[5].centroid",
            id="same-centroid",
        ),
    ],
)
def test_an_invalid_questionnaire_is_refused_naming_the_field(change: Any, path: str) -> None:
    body = questionnaire()
    change(body)
    with pytest.raises(InvalidDefinition) as refused:
        parse_questionnaire(body, "food")
    assert path in {f.path for f in refused.value.faults}, refused.value.faults


# ---- answers in activities -------------------------------------------------------------------------------------


def test_answers_come_from_a_track_event_or_a_form_post() -> None:
    as_event = answered({"questionnaireId": "food", "answers": {"q1": 7, "q2": 5}})
    as_form = answered({"formId": "food", "q1": "7", "q2": "5", "q3": "eight"}, event="Questionnaire Answered")
    assert answers_in(SEED, as_event) == {"q1": 7.0, "q2": 5.0}
    assert answers_in(SEED, as_form) == {"q1": 7.0, "q2": 5.0}


def test_answers_for_another_questionnaire_or_off_the_scale_are_ignored() -> None:
    assert answers_in(SEED, answered({"questionnaireId": "other", "answers": {"q1": 7}})) is None
    assert answers_in(SEED, answered({"answers": {"q1": 0, "q2": 8}})) is None
    assert answers_in(SEED, answered({"answers": {"q1": 7}}, event="Signed Up")) is None


# ---- a profile's questionnaire segment -------------------------------------------------------------------------


def test_a_profile_is_neutral_until_it_answers_everything_then_gets_its_segment_and_moves_when_it_answers_again() -> (
    None
):
    catalog = build(
        [
            {
                "segmentId": "explorers",
                "name": "Explorers",
                "condition": {"questionnaire": "food", "op": "equals", "value": "explorer"},
            }
        ],
        [],
        [{"questionnaireId": "food", **questionnaire()}],
    )
    explorer = answers_like("explorer")

    # When half the questions are answered: no segment yet, nothing announced
    first_half = {q: explorer[q] for q in ("q1", "q2", "q3", "q4")}
    step = apply(catalog, ProfileState(), Activity(answered({"answers": first_half})), T0)
    assert step.assignments == [] and step.transitions == []
    assert step.state.answers["food"]["done"] is False

    # When the rest arrives: the explorer segment, announced once, and the segment condition holds
    rest = {q: explorer[q] for q in ("q5", "q6", "q7", "q8")}
    step = apply(catalog, step.state, Activity(answered({"answers": rest}, index=1)), T0 + 1)
    assert step.assignments == [Assignment("food", "explorer", None, 1.0)]
    assert [t.segment_id for t in step.transitions if t.entered] == ["explorers"]

    # When the visitor answers again like a time-saver: moved, and out of the explorers segment
    again = apply(catalog, step.state, Activity(answered({"answers": answers_like("time-saver")}, index=2)), T0 + 2)
    assert again.assignments == [Assignment("food", "time-saver", "explorer", 1.0)]
    assert [t.segment_id for t in again.transitions if not t.entered] == ["explorers"]

    # And the statistics count one movement explorer → time-saver
    day, current = deltas(snapshot(step.state), snapshot(again.state))
    assert day["mv|food|explorer|time-saver"] == 1
    assert current == {"q|food|explorer": -1, "q|food|time-saver": 1, "size|explorers": -1}


def test_a_low_confidence_answer_lands_in_the_neutral_pool() -> None:
    catalog = build([], [], [{"questionnaireId": "food", **questionnaire(min_confidence=0.9)}])
    answers = answers_like("social-host", nudge=2)
    step = apply(catalog, ProfileState(), Activity(answered({"answers": answers})), T0)
    assert step.state.answers["food"]["k"] is None
    assert step.state.answers["food"]["done"] is True
    assert step.assignments == [Assignment("food", None, None, step.state.answers["food"]["c"])]
    assert snapshot(step.state).answers == {"food": "neutral"}
