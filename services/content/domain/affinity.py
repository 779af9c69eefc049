"""What a visitor likes to read (decayed topic affinity, recent reads) and the list slot ranked for them. Pure."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from services.content.domain.catalogue import ContentItem

# Affinity: a view adds 1, shared equally by the item's topics; a topic's weight halves every half-life. Each topic
# keeps its own [weight, epochMs] so a view rewrites only the topics it touches. A view older than a topic's stamp
# (events arriving out of order) is decayed to that stamp instead of the stamp moving back, so the weights do not
# depend on the order the views arrive in. Topics that faded below MIN_WEIGHT are forgotten; at most MAX_TOPICS
# are kept (the weakest dropped, ties by name).
#
# Ranking: an item is personal when the visitor's affinity for its topics reaches MIN_WEIGHT (a single view about 6.5
# months ago); personal items come first by affinity, with a freshness bonus of at most FRESHNESS_BONUS (1/20 of a
# fresh view) so freshness only reorders near-ties. The rest fill the list by views in the visitor's audience, then
# views overall, then newest; ties always by publishedAt (newest first) then id.

HALF_LIFE_DAYS = 30.0
MAX_TOPICS = 50
MIN_WEIGHT = 0.01
MAX_RECENT = 20
FRESHNESS_BONUS = 0.05
FRESHNESS_HALF_LIFE_DAYS = 30.0
_MS_PER_DAY = 86_400_000


@functools.lru_cache(maxsize=65_536)
def _published_ms(at: dt.datetime) -> int:
    """An item's publication moment in ms, computed once per distinct moment (items are ranked on every decide)."""
    return epoch_ms(at)


def epoch_ms(at: dt.datetime) -> int:
    if at.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware")
    return int(at.timestamp() * 1000)


def _decay(weight: float, elapsed_ms: int, half_life_days: float) -> float:
    return weight * 0.5 ** (max(elapsed_ms, 0) / (half_life_days * _MS_PER_DAY))


@dataclass(frozen=True)
class TopicWeight:
    weight: float
    at_ms: int  # when `weight` was true; it decays from there


@dataclass(frozen=True)
class Affinity:
    """A visitor's decayed interest per topic. Never mutated: `record_view` returns a new one."""

    topics: Mapping[str, TopicWeight] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.topics)

    def weight(self, topic: str, at: dt.datetime, half_life_days: float = HALF_LIFE_DAYS) -> float:
        """The topic's weight at `at` (a moment before its last view reads as that view's weight)."""
        entry = self.topics.get(topic)
        if entry is None:
            return 0.0
        return _decay(entry.weight, epoch_ms(at) - entry.at_ms, half_life_days)

    def weights(self, at: dt.datetime, half_life_days: float = HALF_LIFE_DAYS) -> dict[str, float]:
        now_ms = epoch_ms(at)
        return {t: _decay(e.weight, now_ms - e.at_ms, half_life_days) for t, e in self.topics.items()}

    def to_json(self) -> dict[str, list[float | int]]:
        """`{topic: [weight, epochMs]}`, what the profile stores."""
        return {t: [e.weight, e.at_ms] for t, e in self.topics.items()}

    @classmethod
    def from_json(cls, raw: Mapping[str, Any] | None) -> Affinity:
        """Malformed entries are forgotten rather than failing the visitor's every view (it is only a preference)."""
        topics: dict[str, TopicWeight] = {}
        for topic, entry in (raw or {}).items():
            if (
                isinstance(topic, str)
                and isinstance(entry, list | tuple)
                and len(entry) == 2
                and all(isinstance(v, int | float) and not isinstance(v, bool) for v in entry)
                and entry[0] > 0
            ):
                topics[topic] = TopicWeight(float(entry[0]), int(entry[1]))
        return cls(topics)


def record_view(
    affinity: Affinity, item_topics: Iterable[str], at: dt.datetime, *, half_life_days: float = HALF_LIFE_DAYS
) -> Affinity:
    """The affinity after one view of an item about `item_topics` (an item without topics teaches nothing)."""
    viewed = list(dict.fromkeys(item_topics))
    if not viewed:
        return affinity
    at_ms = epoch_ms(at)
    share = 1.0 / len(viewed)
    topics = dict(affinity.topics)
    for topic in viewed:
        entry = topics.get(topic)
        if entry is None:
            topics[topic] = TopicWeight(share, at_ms)
        elif at_ms >= entry.at_ms:
            topics[topic] = TopicWeight(_decay(entry.weight, at_ms - entry.at_ms, half_life_days) + share, at_ms)
        else:  # a late event: its share decays to the stamp already there
            topics[topic] = TopicWeight(entry.weight + _decay(share, entry.at_ms - at_ms, half_life_days), entry.at_ms)
    reference = max(e.at_ms for e in topics.values())
    current = {t: _decay(e.weight, reference - e.at_ms, half_life_days) for t, e in topics.items()}
    kept = sorted((t for t, w in current.items() if w >= MIN_WEIGHT), key=lambda t: (-current[t], t))[:MAX_TOPICS]
    return Affinity({t: topics[t] for t in kept})


def merge(a: Affinity, b: Affinity, *, half_life_days: float = HALF_LIFE_DAYS) -> Affinity:
    """Two visitors' affinities as one (profiles merged): per topic, both weights decayed to the later stamp."""
    topics = dict(a.topics)
    for topic, entry in b.topics.items():
        mine = topics.get(topic)
        if mine is None:
            topics[topic] = entry
            continue
        later = max(mine.at_ms, entry.at_ms)
        weight = _decay(mine.weight, later - mine.at_ms, half_life_days) + _decay(
            entry.weight, later - entry.at_ms, half_life_days
        )
        topics[topic] = TopicWeight(weight, later)
    kept = sorted(topics, key=lambda t: (-topics[t].weight, t))[:MAX_TOPICS]
    return Affinity({t: topics[t] for t in kept})


@dataclass(frozen=True)
class Recent:
    """The ids of the items a visitor read last, most recent first, without duplicates."""

    item_ids: tuple[str, ...] = ()

    def __contains__(self, item_id: object) -> bool:
        return item_id in self.item_ids

    def __iter__(self) -> Iterator[str]:
        return iter(self.item_ids)

    def __len__(self) -> int:
        return len(self.item_ids)

    def to_json(self) -> list[str]:
        return list(self.item_ids)

    @classmethod
    def from_json(cls, raw: Iterable[Any] | None) -> Recent:
        ids = [i for i in (raw or ()) if isinstance(i, str) and i]
        return cls(tuple(dict.fromkeys(ids))[:MAX_RECENT])


def record(recent: Recent, item_id: str) -> Recent:
    """The recent reads after reading `item_id`: it moves to the front; the oldest beyond MAX_RECENT is forgotten."""
    return Recent((item_id, *(i for i in recent.item_ids if i != item_id))[:MAX_RECENT])


def rank_list(
    items: Sequence[ContentItem],
    *,
    affinity: Affinity | None,
    audiences: Collection[str],
    recent: Collection[str],
    limit: int,
    now: dt.datetime,
    topics: Collection[str] | None = None,
    popular_in_audience: Mapping[str, int] | None = None,
    popular_overall: Mapping[str, int] | None = None,
    half_life_days: float = HALF_LIFE_DAYS,
) -> list[ContentItem]:
    """Up to `limit` items for a visitor: published, not read recently, for everyone or for one of their audiences,
    about the slot's `topics` when it has some; the ones matching their affinity first, then the popular, then
    the newest. A visitor in no audience is never ranked by an audience's popularity."""
    if limit < 0:
        raise ValueError("limit must not be negative")
    now_ms = epoch_ms(now)
    audience = set(audiences)
    read = set(recent)
    wanted = set(topics) if topics else None
    in_audience = (popular_in_audience or {}) if audience else {}
    overall = popular_overall or {}
    weights = affinity.weights(now, half_life_days) if affinity else {}

    personal: list[tuple[float, int, str, ContentItem]] = []
    rest: list[tuple[int, int, int, str, ContentItem]] = []
    chosen: set[str] = set()
    for item in items:
        published_ms = _published_ms(item.published_at)
        if (
            (published_ms >= now_ms and item.published_at > now)  # exact where ms rounding could hide it
            or item.id in chosen
            or item.id in read
            or (item.segments and audience.isdisjoint(item.segments))
            or (wanted is not None and wanted.isdisjoint(item.topics))
        ):
            continue
        chosen.add(item.id)
        score = sum(weights.get(t, 0.0) for t in item.topics)
        if score >= MIN_WEIGHT:
            score += _decay(FRESHNESS_BONUS, now_ms - published_ms, FRESHNESS_HALF_LIFE_DAYS)
            personal.append((-score, -published_ms, item.id, item))
        else:
            views = (-in_audience.get(item.id, 0), -overall.get(item.id, 0))
            rest.append((*views, -published_ms, item.id, item))
    personal.sort(key=lambda entry: entry[:3])
    rest.sort(key=lambda entry: entry[:4])
    return [entry[-1] for entry in personal[:limit]] + [entry[-1] for entry in rest[: max(limit - len(personal), 0)]]
