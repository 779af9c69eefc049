"""Merging two profiles into one and un-merging them: survivor state, folded exits, the share taken. Pure."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from services.common.conditions.rollups import merge, prune, take_back
from services.segments.domain.catalog import Catalog
from services.segments.domain.profiles import Assignment, Outcome, ProfileState, Rebuilt, Transition, apply
from services.segments.domain.questionnaires import assign
from services.segments.domain.scoring import combine as combine_plan
from services.segments.domain.scoring import take_back as take_back_plan

# Two profiles become one — identity folded a profile (typically an anonymous one) into another — and, when the merge is
# undone, two again: the state the survivor gets, the exits of the folded profile, and the share the survivor took, kept
# so an un-merge can give it back.
#
# Fold rules (`combine`):
# - behaviour counters add up per filter: buckets per millisecond, lifetime totals; the first occurrence is the earlier;
#   then pruned as every counter is (so "at least N in W" stays exact up to its threshold);
# - scores add up per plan, within the plan's caps and decay (`scoring.combine`); the survivor keeps what it last
#   announced, so what changes is announced;
# - questionnaire answers: the survivor's, question by question, else the folded profile's; the segment is assigned
#   again from them (a survivor with complete answers keeps exactly its own);
# - traits: the survivor's (identity announces the merged traits with `ProfileUpdated`); environment: the newer; first
#   seen: the earlier; memberships and review times: evaluated again over everything.


@dataclass
class Share:
    """What a fold moved into the survivor, with what it replaced there: enough to give it back on an un-merge."""

    folded: ProfileState  # the folded profile's state as it was (what an un-merge restores)
    first: dict[str, int | None] = field(default_factory=dict)  # filter → the survivor's first occurrence before
    plans: dict[str, dict[str, Any]] = field(default_factory=dict)  # plan → the folded share (scoring.combine)
    answers: dict[str, list[Any]] = field(default_factory=dict)  # questionnaire → [survivor's before, the fold's]
    environment: list[Any] | None = None  # [survivor's environment, its time] when the folded one replaced it
    first_seen: int | None = None  # the survivor's, before

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"f": self.folded.to_json()}
        if self.first:
            out["first"] = self.first
        if self.plans:
            out["p"] = self.plans
        if self.answers:
            out["q"] = self.answers
        if self.environment is not None:
            out["env"] = self.environment
        if self.first_seen is not None:
            out["fs"] = self.first_seen
        return out

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Share:
        return cls(
            folded=ProfileState.from_json(raw.get("f")),
            first=dict(raw.get("first") or {}),
            plans=dict(raw.get("p") or {}),
            answers=dict(raw.get("q") or {}),
            environment=raw.get("env"),
            first_seen=raw.get("fs"),
        )


def combine(catalog: Catalog, survivor: ProfileState, folded: ProfileState, now: int) -> tuple[ProfileState, Share]:
    """The survivor's state with the folded profile's history in it (before evaluation), and the share it took."""
    share = Share(folded=folded, first_seen=survivor.first_seen)
    state = survivor.copy()
    state.first_seen = min((t for t in (survivor.first_seen, folded.first_seen) if t is not None), default=None)
    state.segment_dues = dict(survivor.segment_dues)
    if folded.environment and (folded.environment_at or 0) > (survivor.environment_at or 0):
        share.environment = [survivor.environment, survivor.environment_at]
        state.environment, state.environment_at = folded.environment, folded.environment_at

    for key, theirs in folded.counters.items():
        mine = survivor.counters.get(key)
        share.first[key] = mine.first if mine is not None else None
        joined = merge(mine, theirs) if mine is not None else theirs.copy()
        needs = catalog.counted.get(key)
        if needs is not None:
            prune(joined, needs[0], needs[1], now)
        state.counters[key] = joined

    for plan_id, theirs_plan in folded.scores.items():
        plan = catalog.plans.get(plan_id)
        mine_plan = survivor.scores.get(plan_id)
        if plan is None:  # a plan that no longer parses: nothing to add up with; keep what there is
            if mine_plan is None:
                state.scores[plan_id] = {k: v for k, v in theirs_plan.items() if k not in ("s", "tier")}
            continue
        state.scores[plan_id], share.plans[plan_id] = combine_plan(plan, mine_plan, theirs_plan, now)

    for questionnaire_id, theirs_answers in folded.answers.items():
        mine_answers = survivor.answers.get(questionnaire_id)
        questionnaire = catalog.questionnaires.get(questionnaire_id)
        if mine_answers is not None and (mine_answers.get("done") or questionnaire is None):
            continue  # the survivor's own complete answers stand
        if questionnaire is None:
            joined_answers = dict(theirs_answers)
        else:
            answers = {**(theirs_answers.get("a") or {}), **((mine_answers or {}).get("a") or {})}
            segment, confidence = assign(questionnaire, answers)
            joined_answers = {
                "a": answers,
                "k": segment,
                "c": confidence,
                "done": all(q in answers for q in questionnaire.questions),
                "at": max(a.get("at") or 0 for a in (theirs_answers, mine_answers or {})),
            }
        state.answers[questionnaire_id] = joined_answers
        share.answers[questionnaire_id] = [mine_answers, joined_answers]
    return state, share


def fold(catalog: Catalog, survivor: ProfileState, folded: ProfileState, now: int) -> tuple[Outcome, Share]:
    """The survivor after the fold at `now`: its new state evaluated against every segment, with the transitions,
    score changes, tier crossings and questionnaire assignments to announce for it."""
    combined, share = combine(catalog, survivor, folded, now)
    outcome = apply(catalog, combined, Rebuilt(frozenset(share.plans)), now)
    outcome.assignments.extend(_assignments(survivor.answers, outcome.state.answers, share.answers))
    return outcome, share


def leave(catalog: Catalog, folded: ProfileState) -> Outcome:
    """The folded profile leaves every segment it was in; nothing of its state stays (the share keeps it)."""
    transitions = []
    for segment_id in sorted(folded.members):
        rule = catalog.segment(segment_id)
        transitions.append(Transition(segment_id, False, rule.version if rule is not None else 1))
    return Outcome(ProfileState(), changed=True, transitions=transitions)


def unfold(catalog: Catalog, survivor: ProfileState, share: Share, now: int) -> Outcome:
    """The survivor after an un-merge: the share taken back out (what it gained since the fold stays), then
    evaluated against every segment."""
    state = survivor.copy()
    for key, theirs in share.folded.counters.items():
        mine = state.counters.get(key)
        if mine is None:
            continue
        left = take_back(mine, theirs, share.first.get(key))
        if left.total > 0 or left.buckets:
            state.counters[key] = left
        else:
            del state.counters[key]
    for plan_id, plan_share in share.plans.items():
        plan = catalog.plans.get(plan_id)
        if plan is not None and plan_id in state.scores:
            state.scores[plan_id] = take_back_plan(plan, state.scores[plan_id], plan_share, now)
    restored: dict[str, list[Any]] = {}
    for questionnaire_id, (before, after) in share.answers.items():
        if state.answers.get(questionnaire_id) != after:
            continue  # answered again since: the new answers stand
        if before is None:
            del state.answers[questionnaire_id]
        else:
            state.answers[questionnaire_id] = before
        restored[questionnaire_id] = [after, before]
    if share.environment is not None and state.environment_at == share.folded.environment_at:
        state.environment, state.environment_at = share.environment[0], share.environment[1]
    if share.first_seen is not None and state.first_seen == share.folded.first_seen:
        state.first_seen = share.first_seen
    outcome = apply(catalog, state, Rebuilt(frozenset(share.plans)), now)
    outcome.assignments.extend(_assignments(survivor.answers, outcome.state.answers, restored))
    return outcome


def restore(catalog: Catalog, share: Share, now: int) -> Outcome:
    """The folded profile standing alone again (an un-merge): its state as it was at the fold, time passed since,
    evaluated from no memberships — so every segment it qualifies for is entered and announced anew, like its
    scores, tiers and questionnaire segments."""
    folded = share.folded
    counters = {}
    for key, counter in folded.counters.items():
        copy = counter.copy()
        needs = catalog.counted.get(key)
        if needs is not None:
            prune(copy, needs[0], needs[1], now)
        counters[key] = copy
    state = replace(
        folded,
        counters=counters,
        scores={p: {k: v for k, v in s.items() if k not in ("s", "tier")} for p, s in folded.scores.items()},
        answers=dict(folded.answers),
        members={},
        due=None,
        segment_dues={},
    )
    outcome = apply(catalog, state, Rebuilt(frozenset(state.scores)), now)
    outcome.assignments.extend(_assignments({}, outcome.state.answers, {q: [None, None] for q in state.answers}))
    return outcome


def _assignments(
    before: dict[str, dict[str, Any]], after: dict[str, dict[str, Any]], touched: dict[str, list[Any]]
) -> list[Assignment]:
    """Questionnaire segments to announce: complete answers whose segment differs from the one held before."""
    out = []
    for questionnaire_id in sorted(touched):
        old, new = before.get(questionnaire_id) or {}, after.get(questionnaire_id) or {}
        if new.get("done") and (not old.get("done") or old.get("k") != new.get("k")):
            previous = old.get("k") if old.get("done") else None
            out.append(Assignment(questionnaire_id, new.get("k"), previous, float(new.get("c") or 0.0)))
    return out


__all__ = ["Share", "combine", "fold", "leave", "restore", "unfold"]
