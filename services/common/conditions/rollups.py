"""Per-profile behavioural rollups: sparse time buckets of hits per event filter, lifetime total, first hit. Pure."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

# For each event filter: sparse time buckets of hits, a lifetime total and the first occurrence.
#
# A condition "at least N in W" (or at most / exactly N, or never) only needs to tell counts up to its threshold
# apart, so a filter keeps its most recent buckets until they hold `keep` = largest threshold + 1 hits, and drops
# buckets older than its longest window: when the oldest kept bucket ages out of the window, every dropped one
# already has. Counts within any window are therefore exact up to `keep`, the moment each bucket leaves a window
# is known, and so is the exact time a membership ends or begins — no scan of past events, no nightly rebuild.
# Buckets are one millisecond wide (hits in the same millisecond share one), so exits are exact, not rounded.


@dataclass(slots=True)
class Counter:
    """Hits of one filter: `buckets` are [epoch ms, hits], newest first."""

    buckets: list[list[int]] = field(default_factory=list)
    total: int = 0
    first: int | None = None

    @property
    def last(self) -> int | None:
        return self.buckets[0][0] if self.buckets else None

    def copy(self) -> Counter:
        return Counter([list(b) for b in self.buckets], self.total, self.first)

    def as_json(self) -> list[object]:
        return [self.buckets, self.total, self.first]

    @classmethod
    def from_json(cls, raw: list[object]) -> Counter:
        buckets, total, first = raw
        return cls([list(b) for b in buckets], int(total), None if first is None else int(first))  # type: ignore[attr-defined,arg-type,call-overload]


def record(counter: Counter, at: int, keep: int, horizon: int, now: int) -> None:
    """Add one hit at `at` (epoch ms, not after `now`), then prune to `keep` hits within `horizon` ms of now."""
    buckets = counter.buckets
    counter.total += 1
    if counter.first is None or at < counter.first:
        counter.first = at
    index = 0
    while index < len(buckets) and buckets[index][0] > at:
        index += 1
    if index < len(buckets) and buckets[index][0] == at:
        buckets[index][1] += 1
    else:
        buckets.insert(index, [at, 1])
    prune(counter, keep, horizon, now)


def prune(counter: Counter, keep: int, horizon: int, now: int) -> None:
    """Keep the newest bucket always (last occurrence), then buckets until `keep` hits, none older than horizon."""
    kept = 0
    cutoff = now - horizon
    for index, (at, hits) in enumerate(counter.buckets):
        if index and (kept >= keep or at <= cutoff):
            del counter.buckets[index:]
            return
        kept += hits


def count_within(counter: Counter | None, window: int, now: int, cap: int) -> int:
    """Hits in (now − window, now], counted up to `cap` (enough to decide any threshold below it)."""
    if counter is None:
        return 0
    cutoff = now - window
    count = 0
    for at, hits in counter.buckets:
        if at <= cutoff:
            break
        if at <= now:
            count += hits
            if count >= cap:
                return count
    return count


def count_changes_at(
    counter: Counter | None, window: int, now: int, cap: int, holds: Callable[[int], bool]
) -> int | None:
    """The first moment after `now` at which `holds(count within window)` changes by time alone, or None."""
    if counter is None:
        return None
    cutoff = now - window
    inside = [(at, hits) for at, hits in counter.buckets if cutoff < at <= now]
    count = sum(hits for _, hits in inside)
    current = holds(min(count, cap))
    for at, hits in reversed(inside):  # oldest first: the order in which hits leave the window
        count -= hits
        if holds(min(count, cap)) != current:
            return at + window
    return None


def merge(a: Counter, b: Counter) -> Counter:
    """The hits of both counters as one (two profiles folded into one): buckets add up per millisecond, totals add
    up, the first occurrence is the earlier. Commutative and associative; prune the result as `record` would."""
    hits: dict[int, int] = {}
    for at, count in (*a.buckets, *b.buckets):
        hits[at] = hits.get(at, 0) + count
    firsts = [f for f in (a.first, b.first) if f is not None]
    return Counter([[at, hits[at]] for at in sorted(hits, reverse=True)], a.total + b.total, min(firsts, default=None))


def take_back(counter: Counter, share: Counter, first_before: int | None) -> Counter:
    """`counter` without the hits `share` brought into it (an un-merge). Buckets the share added lose its hits (those
    pruned since are gone from both); the first occurrence goes back to `first_before` if it still is the share's."""
    own = {at: hits for at, hits in share.buckets}
    buckets = []
    for at, hits in counter.buckets:
        left = hits - own.get(at, 0)
        if left > 0:
            buckets.append([at, left])
    total = max(counter.total - share.total, sum(hits for _, hits in buckets))
    first = counter.first
    if first is not None and first == share.first:
        first = first_before if first_before is not None else (buckets[-1][0] if buckets else None)
    return Counter(buckets, total, first)
