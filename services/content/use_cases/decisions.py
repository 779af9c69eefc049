"""Deciding slots for a visitor: one read of their item, the choices, at most one write of what was served."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from services.content.domain import affinity as reading
from services.content.domain.experiments import variant_for
from services.content.domain.exposures import Exposure, serve_to_record
from services.content.domain.targeting import VisitorView, choose_variant, visitor_view
from services.content.domain.visitors import NEUTRAL, identifier
from services.content.ports import ContentStore, DecisionWrite
from services.content.use_cases.published import Published


def unknown_slots(published: Published, slots: Sequence[str]) -> list[str]:
    """The slots asked for that no one defined (a page asking for a slot deleted since, or a typo)."""
    return [s for s in slots if s not in published.slots]


class UnknownSlot(LookupError):
    def __init__(self, slot_id: str) -> None:
        super().__init__(slot_id)
        self.slot_id = slot_id


@dataclass(frozen=True)
class DecideRequest:
    slots: Sequence[str]
    anonymous_id: str | None = None
    user_id: str | None = None
    environment: Mapping[str, Any] = field(default_factory=dict)  # from this request: device, geo, referrer, time


Popular = Callable[[str], Mapping[str, int]]  # audience → item id → views (cached by the caller)


def decide(
    store: ContentStore, published: Published, request: DecideRequest, now: dt.datetime, popular: Popular
) -> list[dict[str, Any]]:
    """Per slot, what to show: `{slot, variantId, content}` or, for a list slot, `{slot, items}`. A public
    caller learns nothing else — no profile id, segment or trait. A visitor who refused personalisation (or whom
    content has never seen) gets the default variants and the generic lists, and a refusal stores nothing.
    Slots no one defined (or that were deleted) are left out, so the rest of the page still gets its content
    (`unknown_slots` names them); UnknownSlot when none of the slots asked for exists."""
    known = [s for s in request.slots if s in published.slots]
    if not known:
        raise UnknownSlot(request.slots[0])
    if len(known) < len(request.slots):
        request = replace(request, slots=known)
    running = {e.definition["target"].get("slotId"): e for e in published.experiments if e.running_at(now)}
    key = identifier(request.anonymous_id, request.user_id)
    item = store.visitor(key) if key else None
    projection: dict[str, Any] | None = (item or {}).get("p")
    consented = projection is None or projection.get("personalisation", True) is not False
    view = visitor_view(projection, request.environment, now) if consented else None
    profile_id = projection.get("profileId") if projection else None
    # The experiment unit is the id the page sends, as GrowthBook's `id` attribute: the same visitor keeps their
    # variant before and after content learns who they are.
    unit = f"VISITOR#{key}" if key else None
    unit_id = request.user_id or request.anonymous_id
    answers: list[dict[str, Any]] = []
    serves = []
    exposed: list[tuple[str, str, str]] = []
    for slot_id in request.slots:
        compiled = published.slots[slot_id]
        if compiled.definition.type == "list":
            answers.append(
                {"slot": slot_id, "items": _list(published, compiled.definition, projection, view, now, popular)}
            )
            continue
        variant = choose_variant(compiled, view)
        answer: dict[str, Any] = {"slot": slot_id, "variantId": variant.variant_id, "content": variant.content}
        live = running.get(slot_id) if view is not None and unit else None
        # outside the experiment's audience: what the slot shows them anyway, and not counted
        experiment = live.definition if live is not None and live.admits(view) else None
        if experiment is not None and unit is not None and unit_id:
            chosen = variant_for(experiment, unit_id)
            if chosen is not None:
                answer = {"slot": slot_id, "variantId": chosen["id"], "content": chosen["content"]}
                if f"x:{experiment['id']}" not in (item or {}):
                    exposed.append((experiment["id"], chosen["id"], unit))
        answers.append(answer)
        if consented and key and (profile_id or exposed):
            previous = _exposure(item or {}, slot_id)
            serve = serve_to_record(
                previous, slot_id, answer["variantId"], compiled.segments.get(variant.variant_id), now
            )
            if serve is not None:
                serves.append(serve)
    if key and (serves or exposed):
        store.record_decision(
            DecisionWrite(key=key, serves=tuple(serves), experiments=tuple(exposed), profile_id=profile_id)
        )
    return answers


def _list(
    published: Published,
    definition: Any,
    projection: Mapping[str, Any] | None,
    view: VisitorView | None,
    now: dt.datetime,
    popular: Popular,
) -> list[dict[str, Any]]:
    spec = definition.list_spec
    personal = view is not None and projection is not None
    audiences: list[str] = list(projection.get("audiences") or []) if personal and projection else []
    topics: set[str] = set()
    for audience in audiences:
        topics.update(spec.topics_by_audience.get(audience, ()))
    if not audiences or audiences == [NEUTRAL]:
        topics.update(spec.topics_by_audience.get(NEUTRAL, ()))
    items = [i for i in published.items if not spec.types or i.type in spec.types]
    first = next((a for a in audiences if a in spec.topics_by_audience), audiences[0] if audiences else None)
    ranked = reading.rank_list(
        items,
        affinity=reading.Affinity.from_json(projection.get("affinity")) if personal and projection else None,
        audiences=audiences if personal else (),
        recent=reading.Recent.from_json(projection.get("recent")) if personal and projection else (),
        limit=spec.limit,
        now=now,
        topics=topics or None,
        popular_in_audience=popular(first) if first else None,
        popular_overall=popular("all"),
    )
    return [_public_item(i.as_json()) for i in ranked]


def _public_item(item: dict[str, Any]) -> dict[str, Any]:
    """What a page shows of an item; the audiences it targets stay private."""
    return {k: v for k, v in item.items() if k not in ("segments", "keywords")}


def _exposure(item: Mapping[str, Any], slot_id: str) -> Exposure | None:
    stored = item.get(f"e:{slot_id}")
    if not stored:
        return None
    at = dt.datetime.fromisoformat(stored["at"])
    first = item.get(f"f:{slot_id}")
    return Exposure(
        slot_id=slot_id,
        variant_id=stored["v"],
        segment_id=stored.get("s"),
        first_served_at=dt.datetime.fromisoformat(first) if first else at,
        last_served_at=at,
        served_hours=int(item.get(f"h:{slot_id}") or 0),
    )
