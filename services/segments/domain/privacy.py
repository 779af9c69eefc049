"""What the segments service holds about one profile, made readable for the person's data export. Pure."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from services.common.conditions.activities import EventFilter
from services.common.conditions.rollups import Counter
from services.segments.domain.catalog import Catalog
from services.segments.domain.merges import Share
from services.segments.domain.profiles import ProfileState
from services.segments.domain.scoring import tier_of, value_at

# Every field of `ProfileState` has its place in the document (`SECTIONS`, checked by a unit test), so a field
# added to the state without a place in the export fails the tests instead of silently going unexported. Ids are
# named from the catalog (segment, plan, questionnaire and answer names; the filter behind each behaviour counter
# and the definitions that count it); epoch milliseconds become ISO-8601 UTC.

# ProfileState field → the section of the export that shows it.
SECTIONS = {
    "traits": "traits",
    "environment": "environment",
    "environment_at": "environment",
    "counters": "behaviour",
    "scores": "scores",
    "answers": "questionnaires",
    "members": "memberships",
    "due": "nextReviewAt",
    "first_seen": "firstSeenAt",
    "segment_dues": "segmentReviews",
}


def iso(ms: int | None) -> str | None:
    if ms is None:
        return None
    moment = dt.datetime.fromtimestamp(ms / 1000, dt.UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _day(day: int) -> str:
    """A UTC day number (epoch ms // DAY_MS) as a date."""
    return dt.date.fromordinal(dt.date(1970, 1, 1).toordinal() + int(day)).isoformat()


def profile_export(
    profile_id: str,
    state: ProfileState,
    catalog: Catalog,
    now: int,
    *,
    inputs: Mapping[str, list[dict[str, Any]]] | None = None,
    pending: Iterable[dict[str, Any]] = (),
) -> dict[str, Any]:
    """One profile's part of the export at `now` (epoch ms). `inputs`: the latest inputs applied (bus event ids,
    sweep ticks, backfills) with the announcements each may replay; `pending`: announcements written but not yet
    confirmed on the bus."""
    inputs = inputs or {}
    return {
        "profileId": profile_id,
        "firstSeenAt": iso(state.first_seen),
        "memberships": _memberships(state, catalog),
        "scores": _scores(state, catalog, now),
        "questionnaires": _questionnaires(state, catalog),
        "behaviour": _behaviour(state.counters, catalog),
        "traits": dict(state.traits),
        "environment": {**state.environment, "at": iso(state.environment_at)} if state.environment else {},
        "nextReviewAt": iso(state.due),
        "segmentReviews": {segment_id: iso(at) for segment_id, at in sorted(state.segment_dues.items())},
        "recentInputs": list(inputs),
        "announcements": _announcements(m for replay in inputs.values() for m in replay),
        "pendingAnnouncements": _announcements(pending),
    }


def folded_export(
    profile_id: str,
    *,
    into: str,
    merge_id: str,
    at: str,
    kept_until: int,
    share: Share,
    catalog: Catalog,
    now: int,
    inputs: Mapping[str, list[dict[str, Any]]] | None = None,
) -> dict[str, Any]:
    """A profile folded into another (a merge): where it went and the share kept for an un-merge — its state as it
    was at the fold, and what the fold replaced on the survivor."""
    before: dict[str, Any] = {
        "firstSeenAt": iso(share.first_seen),
        "firstOccurrences": {key: iso(first) for key, first in sorted(share.first.items())},
        "questionnaires": {q: before for q, (before, _after) in sorted(share.answers.items())},
    }
    if share.environment is not None:
        before["environment"] = {**(share.environment[0] or {}), "at": iso(share.environment[1])}
    return {
        "profileId": profile_id,
        "foldedInto": into,
        "mergeId": merge_id,
        "foldedAt": at,
        "keptUntil": iso(kept_until * 1000),
        "asFolded": profile_export(profile_id, share.folded, catalog, now),
        "scoreShares": share.plans,
        "survivorBeforeTheFold": before,
        "recentInputs": list(inputs or {}),
    }


def _memberships(state: ProfileState, catalog: Catalog) -> list[dict[str, Any]]:
    out = []
    for segment_id, since in sorted(state.members.items(), key=lambda m: (m[1], m[0])):
        rule = catalog.segment(segment_id)
        out.append({"segmentId": segment_id, "name": rule.name if rule else None, "since": iso(since)})
    return out


def _scores(state: ProfileState, catalog: Catalog, now: int) -> list[dict[str, Any]]:
    out = []
    for plan_id, plan_state in sorted(state.scores.items()):
        plan = catalog.plans.get(plan_id)
        announced = {"score": plan_state.get("s", 0.0), "tier": plan_state.get("tier")}
        if plan is not None:
            exact = value_at(plan, plan_state, now)
            current = {"score": round(exact, 2), "tier": tier_of(plan, exact)}
        else:  # a plan that no longer parses: what was last announced is all there is
            current = dict(announced)
        entry: dict[str, Any] = {"planId": plan_id, "name": plan.name if plan else None, **current}
        entry["announced"] = announced
        if "d" in plan_state:
            entry["pointsByDay"] = [{"day": _day(day), "points": points} for day, points in plan_state["d"]]
        if "v" in plan_state:
            entry["points"] = {"value": plan_state["v"], "at": iso(plan_state.get("t"))}
        if "c" in plan_state:
            entry["rulesPaid"] = [
                {"rule": rule, "lastDay": _day(day), "pointsThatDay": today, "pointsEver": ever}
                for rule, (day, today, ever) in sorted(plan_state["c"].items())
            ]
        if "o" in plan_state:
            entry["traitRulesPaid"] = list(plan_state["o"])
        out.append(entry)
    return out


def _questionnaires(state: ProfileState, catalog: Catalog) -> list[dict[str, Any]]:
    out = []
    for questionnaire_id, answered in sorted(state.answers.items()):
        questionnaire = catalog.questionnaires.get(questionnaire_id)
        key = answered.get("k")
        names = {c.key: c.name for c in questionnaire.segments} if questionnaire else {}
        out.append(
            {
                "questionnaireId": questionnaire_id,
                "name": questionnaire.name if questionnaire else None,
                "answers": dict(answered.get("a") or {}),
                "complete": bool(answered.get("done")),
                "segment": key,  # None: the neutral pool
                "segmentName": names.get(key) if key else None,
                "confidence": answered.get("c"),
                "answeredAt": iso(answered.get("at")),
            }
        )
    return out


def _behaviour(counters: Mapping[str, Counter], catalog: Catalog) -> list[dict[str, Any]]:
    filters, used_by = _filters(catalog)
    out = []
    for key, counter in sorted(counters.items()):
        flt = filters.get(key)
        out.append(
            {
                "filterKey": key,
                "filter": describe_filter(flt) if flt else None,  # None: no definition counts it any more
                "usedBy": used_by.get(key, []),
                "total": counter.total,
                "firstAt": iso(counter.first),
                "lastAt": iso(counter.last),
                "recent": [{"at": iso(at), "hits": hits} for at, hits in counter.buckets],
            }
        )
    return out


def _filters(catalog: Catalog) -> tuple[dict[str, EventFilter], dict[str, list[dict[str, str]]]]:
    """Each counted filter by key, and the segments and scoring rules that use it."""
    filters: dict[str, EventFilter] = {}
    used_by: dict[str, list[dict[str, str]]] = {}
    for rule in catalog.segments:
        for flt in rule.needs.filters:
            filters[flt.key] = flt
            used_by.setdefault(flt.key, []).append({"segmentId": rule.segment_id, "name": rule.name})
    for plan in catalog.plans.values():
        for scoring_rule in plan.rules:
            if scoring_rule.activity is not None:
                key = scoring_rule.activity.key
                filters[key] = scoring_rule.activity
                used_by.setdefault(key, []).append({"planId": plan.plan_id, "rule": scoring_rule.name})
    return filters, used_by


def describe_filter(flt: EventFilter) -> dict[str, Any]:
    """An event filter as a marketer wrote it: type, event, where clauses."""
    out: dict[str, Any] = {"type": flt.type}
    if flt.name is not None:
        out["event"] = flt.name
    if flt.where:
        out["where"] = [
            {clause.source: ".".join(clause.path), "op": clause.test.op, "value": _plain(clause.test.value)}
            for clause in flt.where
        ]
    return out


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple | frozenset | set) else value


def _announcements(messages: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Stored bus messages as the person reads them: what was announced about them, when, and why."""
    out = [
        {
            "type": m.get("type"),
            "at": m.get("at"),
            "cause": m.get("cause"),
            **{k: v for k, v in (m.get("data") or {}).items() if k != "profileId"},
        }
        for m in messages
    ]
    return sorted(out, key=lambda m: (str(m["at"]), str(m["type"])))
