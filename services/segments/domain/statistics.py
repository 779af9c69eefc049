"""Segment statistics as counter deltas, computed from a profile's state before and after a change. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

from services.segments.domain.profiles import ProfileState

# The shell adds the deltas to sharded counter items in the same transaction as the profile's write, so each
# transition is counted exactly once: per day (entries, exits, questionnaire movements) and current (segment
# sizes, pairwise overlaps, profiles per tier, profiles per questionnaire segment).

NEUTRAL = "neutral"  # answered, but no segment matched with enough confidence
UNANSWERED = "unanswered"


@dataclass(frozen=True)
class Snapshot:
    members: frozenset[str]
    tiers: dict[str, str]  # plan → tier (profiles that have a score)
    answers: dict[str, str]  # questionnaire → segment key or NEUTRAL (complete answers only)


def snapshot(state: ProfileState) -> Snapshot:
    return Snapshot(
        members=frozenset(state.members),
        tiers={p: s["tier"] for p, s in state.scores.items() if s.get("tier")},
        answers={q: a.get("k") or NEUTRAL for q, a in state.answers.items() if a.get("done")},
    )


def deltas(before: Snapshot, after: Snapshot) -> tuple[dict[str, int], dict[str, int]]:
    """(per-day counters, current counters) to add; empty when nothing countable changed."""
    day: dict[str, int] = {}
    current: dict[str, int] = {}
    for segment in after.members - before.members:
        _add(day, f"in|{segment}", 1)
        _add(current, f"size|{segment}", 1)
    for segment in before.members - after.members:
        _add(day, f"out|{segment}", 1)
        _add(current, f"size|{segment}", -1)
    if before.members != after.members:
        old_pairs = set(combinations(sorted(before.members), 2))
        new_pairs = set(combinations(sorted(after.members), 2))
        for a, b in new_pairs - old_pairs:
            _add(current, f"pair|{a}|{b}", 1)
        for a, b in old_pairs - new_pairs:
            _add(current, f"pair|{a}|{b}", -1)
    for plan in before.tiers.keys() | after.tiers.keys():
        old, new = before.tiers.get(plan), after.tiers.get(plan)
        if old != new:
            if old:
                _add(current, f"tier|{plan}|{old}", -1)
                _add(day, f"tout|{plan}|{old}", 1)  # the day's moves, for the pyramid over time
            if new:
                _add(current, f"tier|{plan}|{new}", 1)
                _add(day, f"tin|{plan}|{new}", 1)
    for questionnaire in before.answers.keys() | after.answers.keys():
        old, new = before.answers.get(questionnaire), after.answers.get(questionnaire)
        if old != new:
            _add(day, f"mv|{questionnaire}|{old or UNANSWERED}|{new}", 1)
            if old:
                _add(current, f"q|{questionnaire}|{old}", -1)
            if new:
                _add(current, f"q|{questionnaire}|{new}", 1)
    return {k: v for k, v in day.items() if v}, {k: v for k, v in current.items() if v}


def _add(counters: dict[str, int], key: str, amount: int) -> None:
    counters[key] = counters.get(key, 0) + amount


def tiers_by_day(
    current: dict[str, int], days: list[str], moves: dict[str, dict[str, tuple[int, int]]]
) -> list[dict[str, object]]:
    """End-of-day profiles per tier for `days` (ascending ISO dates ending today), walking back from the current
    counts. `moves` maps a date to {tier: (moved in, moved out)} that day."""
    out: list[dict[str, object]] = []
    sizes = dict(current)
    for date in reversed(days):
        out.append({"date": date, "tiers": dict(sizes)})
        for tier, (moved_in, moved_out) in moves.get(date, {}).items():
            sizes[tier] = sizes.get(tier, 0) - moved_in + moved_out
    return list(reversed(out))


def sizes_by_day(current_size: int, days: list[str], per_day: dict[str, tuple[int, int]]) -> list[dict[str, int | str]]:
    """End-of-day sizes for `days` (ascending ISO dates ending today), walking back from the current size.
    `per_day` maps a date to (entered, exited) that day."""
    out: list[dict[str, int | str]] = []
    size = current_size
    for date in reversed(days):
        entered, exited = per_day.get(date, (0, 0))
        out.append({"date": date, "size": size, "entered": entered, "exited": exited})
        size -= entered - exited
    return list(reversed(out))
