"""Questionnaire segmentation: a key turns answers into one of the questionnaire's segments, with a confidence. Pure."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from services.common.conditions.activities import ActivityView
from services.common.conditions.faults import Reader, is_number, join

# N questions on a scale (1–7 by default) and a key that turns answers into one of the questionnaire's segments, with a
# confidence.
#
# Two kinds of key, as typing tools publish them:
# - `centroids`: each segment's typical answers; the nearest (Euclidean) wins, and the confidence is 1 − d(best) /
#   d(second best): 1 on the centroid itself, 0 half-way between two segments;
# - `weights`: a linear score per segment (bias + Σ weight × answer); the highest wins, and the confidence is its
#   softmax probability among all segments.
# Below `minConfidence`, or with questions unanswered, the profile stays in the neutral pool (segment None).

KEY = re.compile(r"[a-z0-9][a-z0-9_\-]{0,49}")
DEFAULT_EVENT = "Questionnaire Answered"
FIELDS = ("name", "description", "event", "questions", "scale", "key", "minConfidence")


@dataclass(frozen=True)
class Choice:
    key: str
    name: str
    vector: tuple[float, ...]  # centroid, or weights
    bias: float = 0.0


@dataclass(frozen=True)
class Questionnaire:
    questionnaire_id: str
    version: int
    name: str
    event: str
    questions: tuple[str, ...]
    low: int
    high: int
    method: str  # "centroids" | "weights"
    segments: tuple[Choice, ...]
    min_confidence: float

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(c.key for c in self.segments)


def parse_questionnaire(raw: Any, questionnaire_id: str, version: int = 1) -> Questionnaire:
    """Validate a questionnaire body; raises InvalidDefinition naming each fault's path."""
    reader = Reader()
    body = reader.obj(raw, "", FIELDS, required=("name", "questions", "key"))
    if body is None:
        reader.check()
        raise AssertionError  # pragma: no cover
    name = reader.string(body.get("name"), "name") if "name" in body else ""
    if "description" in body:
        reader.string(body["description"], "description", max_length=2000, min_length=0)
    event = reader.string(body["event"], "event") if "event" in body else DEFAULT_EVENT
    questions: list[str] = []
    for index, question in enumerate(reader.items(body.get("questions"), "questions", 2, 50)):
        path = join("questions", index)
        node = reader.obj(question, path, ("id", "text"), ("id",))
        if node is None or "id" not in node:
            continue
        qid = reader.string(node["id"], join(path, "id"), max_length=50, pattern=KEY)
        if "text" in node:
            reader.string(node["text"], join(path, "text"), max_length=500)
        if qid is not None and qid in questions:
            reader.fault(join(path, "id"), f"another question is already {qid!r}")
        if qid is not None:
            questions.append(qid)
    low, high = 1, 7
    if "scale" in body:
        scale = reader.obj(body["scale"], "scale", ("min", "max"), ("min", "max"))
        if scale is not None and "min" in scale and "max" in scale:
            low = reader.integer(scale["min"], "scale.min", -100, 100) or 0
            high = reader.integer(scale["max"], "scale.max", -100, 100) or 0
            if low >= high:
                reader.fault("scale.max", "must be above scale.min")
    minimum = reader.number(body.get("minConfidence", 0.0), "minConfidence", 0.0, 1.0)
    method, segments = _key(reader, body.get("key"), len(questions), low, high)
    reader.check()
    return Questionnaire(
        questionnaire_id,
        version,
        name or "",
        event or DEFAULT_EVENT,
        tuple(questions),
        low,
        high,
        method,
        segments,
        minimum or 0.0,
    )


def _key(reader: Reader, raw: Any, size: int, low: int, high: int) -> tuple[str, tuple[Choice, ...]]:
    node = reader.obj(raw, "key", ("method", "segments"), ("method", "segments"))
    if node is None:
        return "centroids", ()
    method = node.get("method")
    if method not in ("centroids", "weights"):
        reader.fault("key.method", f"unknown method {method!r}; expected centroids or weights")
        return "centroids", ()
    field = "centroid" if method == "centroids" else "weights"
    allowed = ("key", "name", field) + (("bias",) if method == "weights" else ())
    choices: list[Choice] = []
    for index, entry in enumerate(reader.items(node.get("segments"), "key.segments", 2, 50)):
        path = join("key.segments", index)
        item = reader.obj(entry, path, allowed, ("key", field))
        if item is None or "key" not in item or field not in item:
            continue
        key = reader.string(item["key"], join(path, "key"), max_length=50, pattern=KEY)
        label = reader.string(item["name"], join(path, "name")) if "name" in item else key
        vector = reader.items(item[field], join(path, field), size, size) if size else []
        values: list[float] = []
        for position, value in enumerate(vector):
            where = join(join(path, field), position)
            if method == "centroids":
                number = reader.number(value, where, low, high)
            else:
                number = reader.number(value, where, -1000, 1000)
            values.append(number or 0.0)
        bias = reader.number(item["bias"], join(path, "bias"), -1000, 1000) if "bias" in item else 0.0
        if key is not None and key in {c.key for c in choices}:
            reader.fault(join(path, "key"), f"another segment is already {key!r}")
        if key is not None and vector:
            if method == "centroids" and any(c.vector == tuple(values) for c in choices):
                reader.fault(join(path, field), "two segments cannot share a centroid")
            choices.append(Choice(key, label or key, tuple(values), bias or 0.0))
    return method, tuple(choices)


def answers_in(questionnaire: Questionnaire, activity: ActivityView) -> dict[str, float] | None:
    """The answers an activity carries for this questionnaire (a track event or a form post), or None.

    Answers come as `properties.answers` (`{"q1": 5, ...}`) or as one property per question (a form); a
    `questionnaireId` or `formId` property, when present, must name this questionnaire. Values outside the
    scale are ignored; numeric strings (what forms post) are accepted.
    """
    if activity.type != "track" or activity.name != questionnaire.event:
        return None
    props = activity.properties
    named = props.get("questionnaireId", props.get("formId"))
    if named is not None and named != questionnaire.questionnaire_id:
        return None
    nested = props.get("answers")
    source: dict[str, Any] = nested if isinstance(nested, dict) else props
    found: dict[str, float] = {}
    for question in questionnaire.questions:
        value: Any = source.get(question)
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                continue
        if is_number(value) and questionnaire.low <= value <= questionnaire.high:
            found[question] = float(value)
    return found or None


def assign(questionnaire: Questionnaire, answers: dict[str, float]) -> tuple[str | None, float]:
    """The best-matching segment and the confidence; (None, confidence) when below the threshold or incomplete."""
    if any(q not in answers for q in questionnaire.questions):
        return None, 0.0
    point = [answers[q] for q in questionnaire.questions]
    if questionnaire.method == "centroids":
        ranked = sorted((math.dist(point, c.vector), c.key) for c in questionnaire.segments)
        (best, key), (second, _) = ranked[0], ranked[1]
        confidence = 1.0 if best == 0 else (1 - best / second if second else 0.0)
    else:
        scores = sorted(
            (
                (c.bias + sum(w * x for w, x in zip(c.vector, point, strict=True)), c.key)
                for c in questionnaire.segments
            ),
            reverse=True,
        )
        top = scores[0][0]
        total = sum(math.exp(s - top) for s, _ in scores)
        key, confidence = scores[0][1], 1 / total
    confidence = round(confidence, 4)
    if confidence < questionnaire.min_confidence:
        return None, confidence
    return key, confidence
