"""Seed definitions for the segments tests: the content brand's 8-question, 6-segment questionnaire."""

from __future__ import annotations

from typing import Any

QUESTIONS = [
    ("q1", "I like to try dishes from other countries"),
    ("q2", "Cooking is how I relax"),
    ("q3", "I check the nutrition label before I buy"),
    ("q4", "On weekdays dinner has to be ready in 20 minutes"),
    ("q5", "I often cook for friends"),
    ("q6", "I stick to the recipes I grew up with"),
    ("q7", "I compare prices before I buy"),
    ("q8", "I follow food creators online"),
]
CENTROIDS = {
    "explorer": [7, 5, 3, 3, 5, 1, 3, 6],
    "traditionalist": [2, 5, 3, 3, 4, 7, 4, 2],
    "health-conscious": [4, 4, 7, 4, 3, 3, 4, 4],
    "time-saver": [3, 1, 3, 7, 2, 4, 4, 3],
    "social-host": [5, 6, 3, 3, 7, 3, 3, 5],
    "budget-minded": [3, 3, 4, 5, 3, 4, 7, 2],
}


def questionnaire(min_confidence: float = 0.2) -> dict[str, Any]:
    return {
        "name": "What kind of cook are you?",
        "event": "Questionnaire Answered",
        "questions": [{"id": qid, "text": text} for qid, text in QUESTIONS],
        "scale": {"min": 1, "max": 7},
        "key": {
            "method": "centroids",
            "segments": [
                {"key": key, "name": key.replace("-", " ").title(), "centroid": list(c)} for key, c in CENTROIDS.items()
            ],
        },
        "minConfidence": min_confidence,
    }


def answers_like(key: str, nudge: int = 0) -> dict[str, int]:
    """Answers close to a segment's centroid (each moved `nudge` towards the middle of the scale)."""
    return {
        qid: max(1, min(7, value + (nudge if value < 4 else -nudge)))
        for (qid, _), value in zip(QUESTIONS, CENTROIDS[key], strict=True)
    }
