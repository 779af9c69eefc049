"""Enrichment through the HTTP API on the local cloud: device, geo (CloudFront headers, else a MaxMind database,
else none), IP anonymisation before anything is stored, referrer and campaign, site search, local time."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Api

from .conftest import Tap
from .mmdb import city, write_database

IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.2 Mobile/15E148 Safari/604.1"
)
WINDOWS_CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
)


@pytest.fixture(scope="module")
def geo_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small MaxMind-format database: only the upper quarter of 203.0.113.0/24 is in Paris, so a lookup with the
    anonymised address (203.0.113.0) would find nothing."""
    path = tmp_path_factory.mktemp("geo") / "test-city.mmdb"
    return write_database(
        path, {"203.0.113.64/26": city("FR", "IDF", "Paris"), "198.51.100.0/24": city("DE", "BE", "Berlin")}
    )


def page_view(
    api: Api, published: Tap, context: dict[str, Any], headers: dict[str, str] | None = None
) -> dict[str, Any]:
    reply = api.request(
        "POST",
        "/v1/page",
        {"anonymousId": "enriched", "properties": {"path": "/"}, "context": context},
        key=api.write_key,
        headers=headers,
    )
    assert reply.status == 200, reply.body
    (event,) = published.take()
    return dict(event["data"])


def test_the_user_agent_gives_device_type_browser_and_os(api: Api, published: Tap) -> None:
    from_context = page_view(api, published, {"userAgent": IPHONE})
    from_header = page_view(api, published, {}, headers={"user-agent": WINDOWS_CHROME})
    assert from_context["enrichment"]["device"] == {"type": "mobile", "browser": "Mobile Safari", "os": "iOS"}
    assert from_header["enrichment"]["device"] == {"type": "desktop", "browser": "Chrome", "os": "Windows"}
    assert from_header["context"]["userAgent"] == WINDOWS_CHROME


def test_cloudfront_viewer_headers_give_the_geo_and_the_viewer_ip_is_stored_anonymised(
    api: Api, published: Tap
) -> None:
    data = page_view(
        api,
        published,
        {},
        headers={
            "cloudfront-viewer-country": "PT",
            "cloudfront-viewer-country-region": "11",
            "cloudfront-viewer-city": "Lisboa",
            "cloudfront-viewer-address": "192.0.2.77:51234",
        },
    )
    assert data["enrichment"]["geo"] == {"country": "PT", "region": "11", "city": "Lisboa"}
    assert data["context"]["ip"] == "192.0.2.0"
    assert "192.0.2.77" not in json.dumps(data)


def test_without_headers_the_configured_database_locates_the_full_ip_and_only_the_anonymised_one_is_stored(
    cloud: Any, api: Api, published: Tap, geo_database: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a MaxMind-format database configured for the functions
    monkeypatch.setitem(cloud.runtime.extra_env, "GEOIP_DATABASE", str(geo_database))

    # When a server-side library reports its visitor's IP in the context
    data = page_view(api, published, {"ip": "203.0.113.77"})

    # Then the lookup used the full address (the anonymised one is outside the Paris network), which is not stored
    assert data["enrichment"]["geo"] == {"country": "FR", "region": "IDF", "city": "Paris"}
    assert data["context"]["ip"] == "203.0.113.0"
    assert "203.0.113.77" not in json.dumps(data)
    # And CloudFront's answer wins over the database when both are there
    both = page_view(api, published, {"ip": "203.0.113.77"}, headers={"cloudfront-viewer-country": "ES"})
    assert both["enrichment"]["geo"] == {"country": "ES"}
    # And an address the database does not know, or an IPv6 one in an IPv4 database, gives no geo
    assert "geo" not in page_view(api, published, {"ip": "192.0.2.10"})["enrichment"]
    assert "geo" not in page_view(api, published, {"ip": "2001:db8::1"})["enrichment"]


def test_without_headers_or_database_there_is_no_geo(api: Api, published: Tap) -> None:
    assert "geo" not in page_view(api, published, {"ip": "203.0.113.77"})["enrichment"]


def test_ip_anonymisation_can_be_switched_off(
    cloud: Any, api: Api, published: Tap, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert page_view(api, published, {"ip": "203.0.113.77"})["context"]["ip"] == "203.0.113.0"
    monkeypatch.setitem(cloud.runtime.extra_env, "IP_ANONYMISATION", "off")
    assert page_view(api, published, {"ip": "203.0.113.77"})["context"]["ip"] == "203.0.113.77"


def test_a_page_view_from_a_campaign_with_a_site_search_in_the_visitors_time_zone(
    cloud: Any, api: Api, published: Tap
) -> None:
    # Given an analytics.js-style page view: a search results page reached from a newsletter, in Tokyo
    context = {
        "page": {
            "path": "/search",
            "url": "https://shop.example.com/search?q=descaler+kit&utm_source=newsletter&utm_medium=email&utm_campaign=spring",
            "referrer": "https://mail.google.com/",
        },
        "timezone": "Asia/Tokyo",
        "userAgent": IPHONE,
    }

    # When it is collected (the local cloud's clock: Monday 2 March 2026, 09:00 UTC or later)
    data = page_view(api, published, context)

    # Then the enrichment names the campaign, an email visit from it, the search terms and the local time
    enrichment = data["enrichment"]
    assert enrichment["campaign"] == {"source": "newsletter", "medium": "email", "name": "spring"}
    assert enrichment["referrer"] == {"type": "email", "source": "newsletter"}
    assert enrichment["searchTerms"] == "descaler kit"
    local_hour = (cloud.clock.now().hour + 9) % 24
    assert enrichment["local"]["timezone"] == "Asia/Tokyo"
    assert enrichment["local"]["hour"] == local_hour
    assert enrichment["machine"] is False


def test_the_search_parameters_are_configurable(
    cloud: Any, api: Api, published: Tap, monkeypatch: pytest.MonkeyPatch
) -> None:
    context = {"page": {"url": "https://example.com/find?term=kettle&q=ignored"}}
    assert page_view(api, published, context)["enrichment"]["searchTerms"] == "ignored"
    monkeypatch.setitem(cloud.runtime.extra_env, "SEARCH_QUERY_PARAMETERS", "term")
    assert page_view(api, published, context)["enrichment"]["searchTerms"] == "kettle"


def test_a_crawler_is_flagged_machine_made(api: Api, published: Tap) -> None:
    data = page_view(
        api, published, {"userAgent": "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"}
    )
    assert data["enrichment"]["device"]["type"] == "bot"
    assert (data["enrichment"]["machine"], data["enrichment"]["machineReason"]) == (True, "bot-agent")
