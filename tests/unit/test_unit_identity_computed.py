"""Computed traits from activity: sessions, page views by section and topic, referrer, campaign, purchases, cart,
devices and place — maintained on every event."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from services.common.contracts.registry import EventCollected
from services.identity.domain.computed import Computed, apply, facts, view, view_diff

START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def event(kind: str = "page", minutes: float = 0, **fields: Any) -> EventCollected:
    at = START + dt.timedelta(minutes=minutes)
    return EventCollected.model_validate(
        {"messageId": "m", "type": kind, "timestamp": at, "receivedAt": at, "sourceId": "site", **fields}
    )


def page(path: str, minutes: float = 0, **fields: Any) -> EventCollected:
    return event("page", minutes, properties={"path": path, **fields.pop("properties", {})}, **fields)


def track(name: str, minutes: float = 0, **properties: Any) -> EventCollected:
    return event("track", minutes, event=name, properties=properties)


def play(*events: EventCollected) -> Computed:
    state = Computed()
    for one in events:
        state = apply(state, facts(one))
    return state


def test_thirty_minutes_of_inactivity_end_a_session() -> None:
    # Given pages at 0, 10 and 39 minutes (one session), then at 70 (31 minutes later: a new one)
    state = play(page("/a", 0), page("/b", 10), page("/c", 39), page("/d", 70))
    assert state.sessions == 2
    assert view(state)["firstSeenAt"] == "2026-03-02T09:00:00.000Z"
    assert view(state)["lastSeenAt"] == "2026-03-02T10:10:00.000Z"


def test_a_late_event_from_an_offline_batch_never_opens_a_session() -> None:
    state = play(page("/a", 120), page("/offline", 0))
    assert state.sessions == 1
    assert state.first_seen == "2026-03-02T09:00:00.000Z"


def test_page_views_count_in_total_per_site_section_and_per_content_topic() -> None:
    state = play(
        page("/recipes/pancakes", properties={"category": "Recipes"}),
        page("/recipes/risotto", 1, properties={"topic": "inspiration", "category": "Recipes"}),
        page("/", 2),
        page("https://brand.example/history/1920", 3),
        track("Video Played", 4),
    )
    assert view(state)["pageViews"] == 4
    assert view(state)["events"] == 5
    assert view(state)["pageViewsBySection"] == {"recipes": 2, "home": 1, "history": 1}
    assert view(state)["pageViewsByTopic"] == {"recipes": 1, "inspiration": 1}


def test_the_last_external_referrer_and_the_last_campaign_are_kept() -> None:
    state = play(
        page("/a", 0, enrichment={"referrer": {"type": "search", "source": "google"}}),
        page("/b", 1, enrichment={"referrer": {"type": "internal"}}),
        page("/c", 2, enrichment={"referrer": {"type": "direct"}}),
        page("/d", 3, enrichment={"campaign": {"name": "spring", "source": "newsletter", "medium": "email"}}),
    )
    assert view(state)["lastReferrer"] == {"type": "search", "source": "google"}
    assert view(state)["lastCampaign"] == {"name": "spring", "source": "newsletter", "medium": "email"}


def test_orders_count_purchases_and_revenue_as_decimals() -> None:
    state = play(track("Order Completed", 0, revenue=19.99), track("Order Completed", 1, total="5.01"))
    assert state.purchases == 2
    assert state.revenue == Decimal("25.00")
    assert view(state)["revenue"] == 25


@pytest.mark.parametrize(
    ("events", "open_cart"),
    [
        ([track("Product Added", 0)], True),
        ([track("Product Added", 0), track("Order Completed", 5, revenue=10)], False),
        ([track("Order Completed", 0, revenue=10), track("Cart Viewed", 5)], True),
        ([track("Checkout Started", 0)], True),
        ([page("/a")], False),
    ],
)
def test_a_cart_is_open_when_it_was_updated_after_the_last_order(events: list[EventCollected], open_cart: bool) -> None:
    assert view(play(*events))["openCart"] is open_cart


def test_devices_seen_and_the_latest_place() -> None:
    state = play(
        page("/a", 0, enrichment={"device": {"type": "desktop", "os": "macOS", "browser": "Chrome"}}),
        page("/b", 1, enrichment={"device": {"type": "mobile", "os": "iOS", "browser": "Safari"}}),
        page("/c", 2, enrichment={"geo": {"city": "Lyon", "country": "FR"}}),
        page("/d", 3, enrichment={"geo": {"country": "BE"}}),
    )
    assert view(state)["devices"] == ["desktop/macOS/Chrome", "mobile/iOS/Safari"]
    assert (view(state)["city"], view(state)["country"]) == ("Lyon", "BE")


def test_machine_made_events_count_as_events_but_not_as_engagement() -> None:
    scanner = {"machine": True, "device": {"type": "bot"}, "geo": {"country": "US"}}
    state = play(
        page("/a", 0, enrichment=scanner),
        event("track", 1, event="Order Completed", properties={"revenue": 30}, enrichment=scanner),
    )
    assert (state.events, state.page_views, state.sessions, state.last_seen, state.country) == (2, 0, 0, None, None)
    assert (state.purchases, state.revenue) == (1, Decimal(30))


def test_view_diff_names_only_what_changed() -> None:
    before = play(page("/recipes/a", 0))
    after = apply(before, facts(page("/recipes/b", 5)))
    assert view_diff(before, after) == {
        "events": 2,
        "pageViews": 2,
        "pageViewsBySection": {"recipes": 2},
        "lastSeenAt": "2026-03-02T09:05:00.000Z",
    }


def test_computed_traits_survive_storage_exactly() -> None:
    state = play(
        page("/recipes/a", 0, enrichment={"geo": {"city": "Lyon"}, "referrer": {"type": "social", "source": "x"}}),
        track("Order Completed", 1, revenue="12.30"),
    )
    assert Computed.from_json(state.to_json()) == state
