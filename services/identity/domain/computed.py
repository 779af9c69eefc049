"""Computed traits: what identity derives from a profile's activity, maintained on every event. Pure."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

from services.common.clock import iso, parse_iso
from services.common.contracts.registry import EventCollected
from services.identity.domain.stamps import Stamped, later

# Every field declares how two profiles' values combine when they merge (sum, min, max, most recent, per-key sum or
# max), so a merge is commutative and associative — the order in which profiles fold together never matters — and an
# un-merge can take the folded profile's share back out (sums subtract; anything else goes back to its pre-merge value
# unless it changed since).
#
# Content topics: a page's `properties.topic`, else `properties.category` (the Segment page spec's category).
# Site sections: the first segment of the page path (`/recipes/pancakes` → `recipes`; `/` → `home`).
# Sessions: a page or event more than 30 minutes after the profile's last activity opens a new one; an event older
# than the last activity (a late, offline batch) never opens one. Machine-made events (enrichment `machine`: bots,
# mail scanners) count as events, and orders and carts they report count; they are not engagement (no session, page
# view, device, place, referrer or campaign).

SESSION_GAP = dt.timedelta(minutes=30)
ORDER_EVENTS = frozenset({"Order Completed"})
CART_EVENTS = frozenset({"Product Added", "Product Removed", "Cart Viewed", "Checkout Started"})
MAX_KEYS = 100  # per map (sections, topics, devices): new keys beyond it are not tracked

SUM, SUM_MAP, MIN, MAX, MAX_MAP, LATEST = "sum", "sum_map", "min", "max", "max_map", "latest"


@dataclass(frozen=True)
class Facts:
    """What one activity contributes to the computed traits."""

    at: str
    type: str
    machine: bool = False
    section: str | None = None
    topic: str | None = None
    referrer: dict[str, Any] | None = None
    campaign: dict[str, Any] | None = None
    device: str | None = None
    city: str | None = None
    country: str | None = None
    purchase: bool = False
    revenue: Decimal | None = None
    cart: bool = False


@dataclass(frozen=True)
class Computed:
    events: int = field(default=0, metadata={"kind": SUM})
    page_views: int = field(default=0, metadata={"kind": SUM})
    sessions: int = field(default=0, metadata={"kind": SUM})
    purchases: int = field(default=0, metadata={"kind": SUM})
    revenue: Decimal = field(default=Decimal(0), metadata={"kind": SUM})
    by_section: Mapping[str, int] = field(default_factory=dict, metadata={"kind": SUM_MAP})
    by_topic: Mapping[str, int] = field(default_factory=dict, metadata={"kind": SUM_MAP})
    first_seen: str | None = field(default=None, metadata={"kind": MIN})
    last_seen: str | None = field(default=None, metadata={"kind": MAX})
    cart_updated: str | None = field(default=None, metadata={"kind": MAX})
    last_purchase: str | None = field(default=None, metadata={"kind": MAX})
    devices: Mapping[str, str] = field(default_factory=dict, metadata={"kind": MAX_MAP})  # device → last seen
    referrer: Stamped | None = field(default=None, metadata={"kind": LATEST})
    campaign: Stamped | None = field(default=None, metadata={"kind": LATEST})
    city: Stamped | None = field(default=None, metadata={"kind": LATEST})
    country: Stamped | None = field(default=None, metadata={"kind": LATEST})

    # ---- storage ----
    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None or value == {} or value == 0:
                continue
            out[f.name] = value.to_json() if isinstance(value, Stamped) else (dict(value) if f.name in _MAPS else value)
        return out

    @classmethod
    def from_json(cls, raw: Mapping[str, Any] | None) -> Computed:
        raw = raw or {}
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name not in raw or raw[f.name] is None:
                continue
            value = raw[f.name]
            kind = f.metadata["kind"]
            if kind == LATEST:
                values[f.name] = Stamped.from_json(value)
            elif f.name == "revenue":
                values[f.name] = _decimal(value) or Decimal(0)
            elif kind == SUM:
                values[f.name] = int(value)
            elif kind == SUM_MAP:
                values[f.name] = {str(k): int(v) for k, v in value.items()}
            elif kind == MAX_MAP:
                values[f.name] = {str(k): str(v) for k, v in value.items()}
            else:
                values[f.name] = str(value)
        return cls(**values)


_MAPS = {f.name for f in fields(Computed) if f.metadata["kind"] in (SUM_MAP, MAX_MAP)}


# ---- one activity ------------------------------------------------------------------------------------------


def facts(event: EventCollected) -> Facts:
    """The computed-trait facts of a collected event (enrichment from the events service, Segment spec fields)."""
    enrichment = event.enrichment
    props = event.properties
    section = topic = None
    if event.type == "page":
        section = _section(props.get("path") or (event.context.get("page") or {}).get("path") or props.get("url"))
        raw_topic = props.get("topic") or props.get("category")
        topic = raw_topic.strip().lower()[:100] if isinstance(raw_topic, str) and raw_topic.strip() else None
    referrer = None
    if enrichment.referrer and enrichment.referrer.type not in ("internal", "direct"):
        referrer = {"type": enrichment.referrer.type, "source": enrichment.referrer.source}
    campaign = None
    if enrichment.campaign:
        fields_set = {k: v for k, v in enrichment.campaign.model_dump(exclude_none=True).items() if v}
        campaign = fields_set if fields_set.keys() & {"name", "source", "medium"} else None
    device = None
    if enrichment.device and enrichment.device.type != "bot":
        d = enrichment.device
        device = "/".join(part or "?" for part in (d.type, d.os, d.browser))
    geo = enrichment.geo
    purchase = event.type == "track" and event.event in ORDER_EVENTS
    revenue = _decimal(props.get("revenue", props.get("total"))) if purchase else None
    return Facts(
        at=iso(event.timestamp),
        type=event.type,
        machine=enrichment.machine,
        section=section,
        topic=topic,
        referrer=referrer,
        campaign=campaign,
        device=device,
        city=geo.city if geo and geo.city else None,
        country=geo.country if geo and geo.country else None,
        purchase=purchase,
        revenue=revenue,
        cart=event.type == "track" and event.event in CART_EVENTS,
    )


def apply(state: Computed, f: Facts) -> Computed:
    """The computed traits after one more activity."""
    if f.machine:  # a scanner or bot: not engagement; an order or a cart is a fact whoever reports it
        return _commerce(replace(state, events=state.events + 1), f, {})
    opens_session = state.last_seen is None or parse_iso(f.at) - parse_iso(state.last_seen) > SESSION_GAP
    changes: dict[str, Any] = {
        "events": state.events + 1,
        "sessions": state.sessions + (1 if opens_session else 0),
        "first_seen": _min(state.first_seen, f.at),
        "last_seen": _max(state.last_seen, f.at),
    }
    if f.type == "page":
        changes["page_views"] = state.page_views + 1
        if f.section:
            changes["by_section"] = _count(state.by_section, f.section)
        if f.topic:
            changes["by_topic"] = _count(state.by_topic, f.topic)
    for name, value in (("referrer", f.referrer), ("campaign", f.campaign), ("city", f.city), ("country", f.country)):
        if value:
            changes[name] = later(getattr(state, name), Stamped(value, f.at))
    if f.device and (f.device in state.devices or len(state.devices) < MAX_KEYS):
        changes["devices"] = {**state.devices, f.device: _max(state.devices.get(f.device), f.at)}
    return _commerce(state, f, changes)


def _commerce(state: Computed, f: Facts, changes: dict[str, Any]) -> Computed:
    if f.purchase:
        changes["purchases"] = state.purchases + 1
        changes["revenue"] = state.revenue + (f.revenue or Decimal(0))
        changes["last_purchase"] = _max(state.last_purchase, f.at)
    if f.cart:
        changes["cart_updated"] = _max(state.cart_updated, f.at)
    return replace(state, **changes)


# ---- merge and un-merge --------------------------------------------------------------------------------------


def merge(a: Computed, b: Computed) -> Computed:
    """Two profiles' computed traits as one: commutative and associative, so merge order never matters."""
    return Computed(**{f.name: _MERGE[f.metadata["kind"]](getattr(a, f.name), getattr(b, f.name)) for f in fields(a)})


def unmerge(now: Computed, before: Computed, folded: Computed, after: Computed) -> Computed:
    """The survivor without the folded profile's share: sums subtract what the folded profile brought; any other
    field goes back to its value `before` the merge if it still has the value the merge gave it (`after`)."""
    values: dict[str, Any] = {}
    for f in fields(now):
        kind = f.metadata["kind"]
        current, old, gone, merged = (getattr(x, f.name) for x in (now, before, folded, after))
        if kind == SUM:
            values[f.name] = max(current - gone, 0) if f.name != "revenue" else current - gone
        elif kind == SUM_MAP:
            values[f.name] = {k: v - gone.get(k, 0) for k, v in current.items() if v - gone.get(k, 0) > 0}
        elif kind == MAX_MAP:
            keys = current.keys() | old.keys()
            picked = {k: old.get(k) if current.get(k) == merged.get(k) else current.get(k) for k in keys}
            values[f.name] = {k: v for k, v in picked.items() if v is not None}
        else:
            values[f.name] = old if current == merged else current
    return Computed(**values)


# ---- what readers see --------------------------------------------------------------------------------------


def view(state: Computed) -> dict[str, Any]:
    """The computed traits by their public names (the profile API, `ProfileUpdated.changed`)."""
    return {
        "events": state.events,
        "pageViews": state.page_views,
        "sessions": state.sessions,
        "pageViewsBySection": dict(state.by_section),
        "pageViewsByTopic": dict(state.by_topic),
        "firstSeenAt": state.first_seen,
        "lastSeenAt": state.last_seen,
        "lastReferrer": state.referrer.value if state.referrer else None,
        "lastCampaign": state.campaign.value if state.campaign else None,
        "purchases": state.purchases,
        "revenue": _number(state.revenue),
        "openCart": bool(
            state.cart_updated and (state.last_purchase is None or state.cart_updated > state.last_purchase)
        ),
        "cartUpdatedAt": state.cart_updated,
        "lastPurchaseAt": state.last_purchase,
        "devices": sorted(state.devices),
        "city": state.city.value if state.city else None,
        "country": state.country.value if state.country else None,
    }


# Counters and times that move with (nearly) every event: the event itself (ActivityRecorded) tells consumers about
# them, so an activity's ProfileUpdated leaves them out; a merge, un-merge or import announces them.
PER_EVENT = frozenset({"events", "pageViews", "pageViewsBySection", "pageViewsByTopic", "lastSeenAt"})


def announced(changed: dict[str, Any]) -> dict[str, Any]:
    """What an activity's ProfileUpdated carries: every changed trait and computed trait but the per-event ones."""
    return {name: value for name, value in changed.items() if name not in PER_EVENT}


def view_diff(before: Computed, after: Computed) -> dict[str, Any]:
    """Public name → new value of each computed trait that changed."""
    old, new = view(before), view(after)
    return {name: value for name, value in new.items() if old[name] != value}


# ---- helpers -----------------------------------------------------------------------------------------------


def _section(path: Any) -> str | None:
    if not isinstance(path, str) or not path:
        return None
    if "://" in path:
        path = urlsplit(path).path
    first = path.strip("/").split("/", 1)[0].strip().lower()
    return first[:100] if first else "home"


def _decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _number(value: Decimal) -> int | float:
    """Money is kept as Decimal; readers get a JSON number (segments compare it with thresholds)."""
    return int(value) if value == value.to_integral_value() else float(value)


def _count(counts: Mapping[str, int], key: str) -> dict[str, int]:
    if key not in counts and len(counts) >= MAX_KEYS:
        return dict(counts)
    return {**counts, key: counts.get(key, 0) + 1}


def _min(a: str | None, b: str | None) -> str | None:
    return b if a is None else a if b is None else min(a, b)


def _max(a: str | None, b: str | None) -> str | None:
    return b if a is None else a if b is None else max(a, b)


def _sum_maps(a: Mapping[str, int], b: Mapping[str, int]) -> dict[str, int]:
    return {k: a.get(k, 0) + b.get(k, 0) for k in a.keys() | b.keys()}


def _max_maps(a: Mapping[str, str], b: Mapping[str, str]) -> dict[str, str]:
    return {k: _max(a.get(k), b.get(k)) or "" for k in a.keys() | b.keys()}


_MERGE: dict[str, Callable[[Any, Any], Any]] = {
    SUM: lambda a, b: a + b,
    SUM_MAP: _sum_maps,
    MIN: _min,
    MAX: _max,
    MAX_MAP: _max_maps,
    LATEST: later,
}
