"""Analytics over the statistics counters: segment sizes per day, the overlap of chosen segments, movements
between questionnaire segments, the engagement pyramid of a plan — and one profile's memberships and scores."""

from __future__ import annotations

import datetime as dt
from typing import Any

from services.common import clock
from services.common.conditions.activities import to_ms
from services.segments.domain.catalog import Catalog, definition_body
from services.segments.domain.profiles import ProfileState
from services.segments.domain.questionnaires import parse_questionnaire
from services.segments.domain.scoring import parse_plan, tier_of, value_at
from services.segments.domain.statistics import NEUTRAL, sizes_by_day, tiers_by_day
from services.segments.ports import Rollups, SegmentStore, Statistics
from services.segments.use_cases.definitions import NotFound

MAX_DAYS = 366


def _days(first: dt.date, last: dt.date) -> list[str]:
    return [(first + dt.timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]


def segment_sizes(repo: Statistics, segment_id: str, first: dt.date, last: dt.date) -> dict[str, Any]:
    """End-of-day size, entries and exits for each day from `first` to `last` (UTC)."""
    today = clock.now().date()
    counters = repo.day_counters(first.isoformat(), today.isoformat())
    per_day = {
        day: (values.get(f"in|{segment_id}", 0), values.get(f"out|{segment_id}", 0)) for day, values in counters.items()
    }
    size = repo.current_counters().get(f"size|{segment_id}", 0)
    series = sizes_by_day(size, _days(first, max(today, last)), per_day)
    return {"segmentId": segment_id, "days": [d for d in series if str(d["date"]) <= last.isoformat()]}


def overlap(repo: Statistics, segment_ids: list[str]) -> dict[str, Any]:
    """Profiles in each pair of the chosen segments (the diagonal is each segment's size)."""
    counters = repo.current_counters()

    def both(a: str, b: str) -> int:
        if a == b:
            return counters.get(f"size|{a}", 0)
        first, second = sorted((a, b))
        return counters.get(f"pair|{first}|{second}", 0)

    return {"segmentIds": segment_ids, "matrix": [[both(a, b) for b in segment_ids] for a in segment_ids]}


def pyramid(repo: SegmentStore, plan_id: str, days: tuple[dt.date, dt.date] | None = None) -> dict[str, Any]:
    """Profiles per tier now, top first; with `days` (first, last), also each day's end-of-day counts per tier
    (counted from the day moves between tiers were first recorded; earlier days show today's counts)."""
    stored = repo.definition("plan", plan_id)
    if stored is None:
        raise NotFound("plan", plan_id)
    plan = parse_plan(definition_body(stored), plan_id)
    counters = repo.current_counters()
    tiers = [
        {"tier": t.name, "min": t.min, "profiles": counters.get(f"tier|{plan_id}|{t.name}", 0)} for t in plan.tiers
    ]
    answer: dict[str, Any] = {"planId": plan_id, "tiers": list(reversed(tiers))}  # top of the pyramid first
    if days is not None:
        first, last = days
        today = clock.now().date()
        moves: dict[str, dict[str, tuple[int, int]]] = {}
        for day, values in repo.day_counters(first.isoformat(), today.isoformat()).items():
            moves[day] = {
                t.name: (values.get(f"tin|{plan_id}|{t.name}", 0), values.get(f"tout|{plan_id}|{t.name}", 0))
                for t in plan.tiers
            }
        now = {t.name: counters.get(f"tier|{plan_id}|{t.name}", 0) for t in plan.tiers}
        series = tiers_by_day(now, _days(first, max(today, last)), moves)
        answer["days"] = [d for d in series if str(d["date"]) <= last.isoformat()]
    return answer


def movements(repo: SegmentStore, questionnaire_id: str, first: dt.date, last: dt.date) -> dict[str, Any]:
    stored = repo.definition("questionnaire", questionnaire_id)
    if stored is None:
        raise NotFound("questionnaire", questionnaire_id)
    questionnaire = parse_questionnaire(definition_body(stored), questionnaire_id)
    moves: dict[tuple[str, str], int] = {}
    prefix = f"mv|{questionnaire_id}|"
    for values in repo.day_counters(first.isoformat(), last.isoformat()).values():
        for name, amount in values.items():
            if name.startswith(prefix):
                origin, _, target = name[len(prefix) :].partition("|")
                moves[(origin, target)] = moves.get((origin, target), 0) + amount
    counters = repo.current_counters()
    sizes = {key: counters.get(f"q|{questionnaire_id}|{key}", 0) for key in (*questionnaire.keys, NEUTRAL)}
    return {
        "questionnaireId": questionnaire_id,
        "from": first.isoformat(),
        "to": last.isoformat(),
        "movements": [{"from": o, "to": t, "profiles": n} for (o, t), n in sorted(moves.items()) if n],
        "sizes": sizes,
    }


def memberships(repo: Rollups, catalog: Catalog, profile_id: str) -> dict[str, Any]:
    """What the segments service knows about one profile: memberships, scores and tiers, questionnaires."""
    stored = repo.rollup(profile_id)
    state = ProfileState.from_json(stored.state)
    now = to_ms(clock.now())
    scores = {}
    for plan_id, plan_state in state.scores.items():
        plan = catalog.plans.get(plan_id)
        if plan is not None:
            value = round(value_at(plan, plan_state, now), 2)
            scores[plan_id] = {"score": value, "tier": tier_of(plan, value)}
    return {
        "profileId": profile_id,
        "segments": [
            {"segmentId": s, "since": clock.iso(dt.datetime.fromtimestamp(at / 1000, dt.UTC))}
            for s, at in sorted(state.members.items())
        ],
        "scores": scores,
        "questionnaires": {
            q: {"segment": a.get("k"), "confidence": a.get("c"), "complete": bool(a.get("done"))}
            for q, a in state.answers.items()
        },
        "traits": state.traits,
        "sequence": stored.version,
    }


def parse_day(text: str | None, default: dt.date) -> dt.date:
    if not text:
        return default
    return dt.date.fromisoformat(text)
