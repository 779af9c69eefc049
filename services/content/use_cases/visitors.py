"""Keeping the visitor read model from bus events, and counting what each audience reads and clicks."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from services.common.conditions.activities import environment_of
from services.content.domain import visitors
from services.content.domain.experiments import goal_reached
from services.content.domain.visitors import Activity, VisitorState
from services.content.ports import ContentStore, StaleState, ViewCount
from services.content.use_cases.published import Published

ATTEMPTS = 5
MAX_AUDIENCES = 8  # counted per activity (each audience's rows in one transaction, ≤ 100 items)
MAX_TOPICS = 5
EMAIL_CLICK = "Email Link Clicked"

Change = Callable[[VisitorState], bool]


def update(
    store: ContentStore, profile_id: str, change: Change, now: dt.datetime, create: bool = True
) -> VisitorState | None:
    """Apply a change to the profile's state (optimistic: re-read and re-apply when another consumer won) and
    project it to each identifier the profile is known by; the state as it now stands (None when there is none).
    A profile erased meanwhile is not brought back; a profile merged into another passes its changes to nobody
    (the survivor has its own events)."""
    for _ in range(ATTEMPTS):
        state = store.state(profile_id)
        if state is None:
            if not create or store.is_erased(profile_id, now):
                return None
            state = VisitorState(profile_id)
        if state.merged_into:
            return state
        read_version = state.version
        if not change(state):  # a change that answers False left the state as it was
            return state
        try:
            store.save_state(state, read_version, now)
        except StaleState:
            continue
        if not state.merged_into:  # a merged profile's identifiers now belong to the survivor's projection
            for key in state.identifiers:
                store.project(key, state, now)
        return state
    raise StaleState(f"{profile_id}: {ATTEMPTS} concurrent updates in a row")


def record_activity(
    store: ContentStore, published: Published, profile_id: str, data: dict[str, Any], now: dt.datetime
) -> None:
    """An `ActivityRecorded`: the visitor's identifiers, visits and reading; then the analytics of a view of a
    catalogued item or a click in an email (machine-made activity — bots, scanners — counts for neither); then
    any experiment goal it reaches."""
    properties = data.get("properties") or {}
    enrichment = data.get("enrichment") or {}
    machine = bool(enrichment.get("machine"))
    at = dt.datetime.fromisoformat(str(data["timestamp"]).replace("Z", "+00:00"))
    event = data.get("event")
    item = None
    if not machine and data.get("type") in ("page", "screen", "track") and event != EMAIL_CLICK:
        page = (data.get("context") or {}).get("page") or {}
        item = published.index.match(
            url=properties.get("url") or page.get("url"),
            path=properties.get("path") or page.get("path"),
            content_id=properties.get("contentId"),
        )
    clicked = published.index.match(url=properties.get("url")) if event == EMAIL_CLICK and not machine else None
    activity = Activity(
        at=int(at.timestamp() * 1000),
        anonymous_id=data.get("anonymousId"),
        user_id=data.get("userId"),
        environment=environment_of(enrichment),
        traits=data.get("traits") or {} if data.get("type") == "identify" else {},
        item_id=item.id if item else None,
        item_topics=tuple(item.topics) if item else (),
        timezone=(enrichment.get("local") or {}).get("timezone"),
    )
    state = update(store, profile_id, lambda s: visitors.record_activity(s, activity), now)
    if item is None and not (event == EMAIL_CLICK and not machine):
        _convert(store, published, profile_id, data, now)
        return
    audiences = tuple((state.audiences() if state else [visitors.NEUTRAL])[:MAX_AUDIENCES])
    day = at.astimezone(dt.UTC).date().isoformat()
    counted = item if item is not None else clicked
    topics = tuple(counted.topics[:MAX_TOPICS]) if counted else ()
    store.count_activity(
        ViewCount(
            profile_id=profile_id,
            message_id=data["messageId"],
            day=day,
            audiences=audiences,
            item_id=counted.id if counted else None,
            topics=topics,
            kind="view" if item is not None else "click",
            link=None if item is not None else (str(properties.get("url") or "")[:500] or None),
            reader_keys=(*(f"topic|{t}" for t in topics), f"item|{item.id}") if item is not None else (),
        ),
        now,
    )
    _convert(store, published, profile_id, data, now)


def _convert(
    store: ContentStore, published: Published, profile_id: str, data: dict[str, Any], now: dt.datetime
) -> None:
    """Each running experiment whose goal this activity reaches: a conversion of the exposed unit (the profile,
    or the anonymous visitor it was exposed as), once."""
    if (data.get("enrichment") or {}).get("machine"):
        return
    properties = data.get("properties") or {}
    units = [f"PROFILE#{profile_id}"]
    if data.get("anonymousId"):
        units.append(f"VISITOR#{visitors.identifier(anonymous_id=data['anonymousId'])}")
    if data.get("userId"):
        units.append(f"VISITOR#{visitors.identifier(user_id=data['userId'])}")
    for experiment in published.running(now):
        if not goal_reached(experiment["goal"], data.get("event"), properties):
            continue
        marks = store.exposure_marks(experiment["id"], units)
        for unit, variant_id in marks.items():
            store.record_conversion(experiment["id"], unit, variant_id, now)
            break


def merge(store: ContentStore, survivor_id: str, merged_id: str, now: dt.datetime) -> None:
    merged = store.state(merged_id)
    if merged is None or merged.merged_into:
        return
    snapshot = merged.copy()
    update(store, survivor_id, lambda s: _merge(s, snapshot), now)
    update(store, merged_id, lambda s: _mark_merged(s, survivor_id), now, create=False)


def _merge(survivor: VisitorState, merged: VisitorState) -> bool:
    visitors.merge_into(survivor, merged)
    return True


def _mark_merged(state: VisitorState, survivor_id: str) -> bool:
    state.merged_into = survivor_id
    return True
