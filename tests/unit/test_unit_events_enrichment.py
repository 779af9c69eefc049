"""Enrichment rules: device from the user agent, geo, referrer classification, UTM campaign, site search, local time."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.common.enrichment import devices, geo, local_time, referrers

# ---- device ---------------------------------------------------------------------------------------------

USER_AGENTS = [
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/17.2 Mobile/15E148 Safari/604.1",
        {"type": "mobile", "browser": "Mobile Safari", "os": "iOS"},
    ),
    (
        "Mozilla/5.0 (iPad; CPU OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 "
        "Mobile/15E148 Safari/604.1",
        {"type": "tablet", "browser": "Mobile Safari", "os": "iOS"},
    ),
    (
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile "
        "Safari/537.36",
        {"type": "mobile", "browser": "Chrome Mobile", "os": "Android"},
    ),
    (
        "Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 "
        "Safari/537.36",
        {"type": "tablet", "browser": "Chrome", "os": "Android"},
    ),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 "
        "Safari/537.36",
        {"type": "desktop", "browser": "Chrome", "os": "Mac OS X"},
    ),
    (
        "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
        {"type": "desktop", "browser": "Firefox", "os": "Linux"},
    ),
    (
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        {"type": "bot", "browser": "Googlebot"},
    ),
    ("curl/8.4.0", {"type": "other", "browser": "curl"}),
]


@pytest.mark.parametrize(("user_agent", "expected"), USER_AGENTS)
def test_the_user_agent_gives_device_type_browser_and_os(user_agent: str, expected: dict[str, str]) -> None:
    assert devices.device(user_agent) == expected


def test_device_parsing_is_cached_per_user_agent() -> None:
    user_agent = USER_AGENTS[0][0] + " cache-test"
    before = devices.device.cache_info()
    first = devices.device(user_agent)
    second = devices.device(user_agent)
    after = devices.device.cache_info()
    assert first is second
    assert (after.misses - before.misses, after.hits - before.hits) == (1, 1)


def test_a_huge_user_agent_is_parsed_from_its_start_only() -> None:
    assert devices.device(USER_AGENTS[4][0] + " x" * 100_000) == USER_AGENTS[4][1]


def test_an_empty_user_agent_gives_no_device() -> None:
    assert devices.device("") is None


# ---- referrer, campaign, site search -----------------------------------------------------------------------


def classify(referrer: str | None, page: str = "https://www.shop.example/p", utm: dict[str, str] | None = None) -> Any:
    host, query = referrers.split(page)
    return referrers.classify(referrer, host, query, utm or referrers.campaign(None, query))


@pytest.mark.parametrize(
    ("referrer", "page", "expected"),
    [
        (None, "https://www.shop.example/", {"type": "direct"}),
        ("", "https://www.shop.example/", {"type": "direct"}),
        ("https://www.google.com/", "https://www.shop.example/", {"type": "search", "source": "google"}),
        ("https://www.google.co.uk/search", "https://www.shop.example/", {"type": "search", "source": "google"}),
        ("https://google.example.com/", "https://www.shop.example/", {"type": "other", "source": "google.example.com"}),
        ("https://duckduckgo.com/", "https://www.shop.example/", {"type": "search", "source": "duckduckgo"}),
        ("https://yandex.com.tr/", "https://www.shop.example/", {"type": "search", "source": "yandex"}),
        ("https://l.facebook.com/l.php?u=x", "https://www.shop.example/", {"type": "social", "source": "facebook"}),
        ("https://t.co/abc", "https://www.shop.example/", {"type": "social", "source": "twitter"}),
        ("https://www.pinterest.de/pin/1", "https://www.shop.example/", {"type": "social", "source": "pinterest"}),
        ("https://mail.google.com/mail/u/0", "https://www.shop.example/", {"type": "email", "source": "gmail"}),
        ("https://www.shop.example/cart", "https://www.shop.example/", {"type": "internal"}),
        ("https://blog.shop.example/post", "https://www.shop.example/", {"type": "internal"}),
        ("https://news.example.org/a", "https://www.shop.example/", {"type": "other", "source": "news.example.org"}),
        ("android-app://com.google.android.gm", "https://www.shop.example/", {"type": "direct"}),
        ("https://www.google.com/", "https://www.shop.example/?gclid=abc", {"type": "paid", "source": "google"}),
        ("https://www.bing.com/", "https://www.shop.example/?msclkid=abc", {"type": "paid", "source": "bing"}),
        (
            None,
            "https://www.shop.example/?utm_source=newsletter&utm_medium=email",
            {"type": "email", "source": "newsletter"},
        ),
        (None, "https://www.shop.example/?utm_source=fb&utm_medium=paid_social", {"type": "paid", "source": "fb"}),
        (
            "https://www.facebook.com/",
            "https://www.shop.example/?utm_medium=social",
            {"type": "social", "source": "facebook"},
        ),
        (None, "https://www.shop.example/?utm_source=partner", {"type": "other", "source": "partner"}),
        (
            "https://www.google.com/",
            "https://www.shop.example/?utm_source=partner&utm_medium=referral",
            {"type": "search", "source": "google"},
        ),
    ],
)
def test_referrer_classification(referrer: str | None, page: str, expected: dict[str, str]) -> None:
    assert classify(referrer, page) == expected


def test_configured_internal_domains_are_internal() -> None:
    host, query = referrers.split("https://www.shop.example/")
    assert referrers.classify("https://checkout.payments.example/", host, query, None, ("payments.example",)) == {
        "type": "internal"
    }


def test_the_clients_campaign_wins_over_the_page_url_and_utm_campaign_is_the_name() -> None:
    _, query = referrers.split("https://x.example/?utm_source=url&utm_campaign=spring&utm_term=kettle&utm_foo=bar")
    assert referrers.campaign({"source": "client", "medium": 7}, query) == {
        "source": "client",
        "name": "spring",
        "term": "kettle",
    }
    assert referrers.campaign(None, []) is None
    assert referrers.campaign("not a dict", []) is None


@pytest.mark.parametrize(
    ("url", "parameters", "expected"),
    [
        ("https://x.example/search?q=descaler+kit", ("q",), "descaler kit"),
        ("https://x.example/search?s=%20%20tea%20%20pot", ("q", "s"), "tea pot"),
        ("https://x.example/search?q=&query=milk", ("q", "query"), "milk"),
        ("https://x.example/search?q=milk", (), None),
        ("https://x.example/search?term=milk", ("q",), None),
        ("https://x.example/search?q=" + "a" * 500, ("q",), "a" * referrers.MAX_VALUE),
    ],
)
def test_site_search_terms_come_from_the_configured_parameters(
    url: str, parameters: tuple[str, ...], expected: str | None
) -> None:
    _, query = referrers.split(url)
    assert referrers.search_terms(query, parameters) == expected


@given(st.text(max_size=300))
def test_splitting_never_raises_on_any_text(url: str) -> None:
    host, query = referrers.split(url)
    assert isinstance(host, str) and isinstance(query, list)


# ---- local time ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "zone", "expected"),
    [
        (dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC), "Europe/Paris", (10, 0, "morning")),
        (dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC), "America/Los_Angeles", (1, 0, "night")),
        (dt.datetime(2026, 3, 2, 23, 30, tzinfo=dt.UTC), "Asia/Tokyo", (8, 1, "morning")),
        (dt.datetime(2026, 7, 1, 16, 0, tzinfo=dt.UTC), "Europe/London", (17, 2, "afternoon")),  # summer time
        (dt.datetime(2026, 1, 1, 18, 0, tzinfo=dt.UTC), "Europe/London", (18, 3, "evening")),
        (dt.datetime(2026, 3, 29, 1, 30, tzinfo=dt.UTC), "Europe/Berlin", (3, 6, "night")),  # the hour that skips
    ],
)
def test_local_hour_weekday_and_part_of_day(moment: dt.datetime, zone: str, expected: tuple[int, int, str]) -> None:
    local = local_time.local_time(moment, zone)
    assert local is not None
    assert (local["hour"], local["weekday"], local["partOfDay"], local["timezone"]) == (*expected, zone)


@pytest.mark.parametrize("zone", [None, "", "Mars/Olympus", "../../etc/passwd", "/etc/localtime", 3, "x" * 100])
def test_an_absent_or_unknown_time_zone_gives_no_local_time(zone: Any) -> None:
    assert local_time.local_time(dt.datetime(2026, 3, 2, tzinfo=dt.UTC), zone) is None


@given(st.integers(0, 23))
def test_every_hour_has_exactly_one_part_of_day(hour: int) -> None:
    part = local_time.part_of_day(hour)
    assert (
        part
        == {range(0, 6): "night", range(6, 12): "morning", range(12, 18): "afternoon", range(18, 24): "evening"}[
            next(r for r in (range(0, 6), range(6, 12), range(12, 18), range(18, 24)) if hour in r)
        ]
    )


# ---- geo -------------------------------------------------------------------------------------------------

PARIS = {"country": {"iso_code": "FR"}, "subdivisions": [{"iso_code": "IDF"}], "city": {"names": {"en": "Paris"}}}


def test_cloudfront_headers_win_and_the_city_is_url_decoded() -> None:
    viewer = geo.from_viewer_headers(
        {
            "cloudfront-viewer-country": "de",
            "cloudfront-viewer-country-region": "BY",
            "cloudfront-viewer-city": "M%C3%BCnchen",
        }
    )
    assert viewer == {"country": "DE", "region": "BY", "city": "München"}
    assert geo.locate("203.0.113.7", viewer, lambda ip: PARIS) == viewer


def test_without_headers_the_database_is_asked_with_the_full_ip() -> None:
    asked: list[str] = []

    def database(ip: str) -> Any:
        asked.append(ip)
        return PARIS

    assert geo.locate("203.0.113.77", None, database) == {"country": "FR", "region": "IDF", "city": "Paris"}
    assert asked == ["203.0.113.77"]


def test_no_headers_no_database_or_no_record_gives_no_geo() -> None:
    def refuses(ip: str) -> Any:
        raise ValueError("IPv6 address in an IPv4-only database")

    assert geo.from_viewer_headers({}) is None
    assert geo.locate("203.0.113.7", None, None) is None
    assert geo.locate(None, None, lambda ip: PARIS) is None
    assert geo.locate("203.0.113.7", None, lambda ip: None) is None
    assert geo.locate("2001:db8::1", None, refuses) is None


@pytest.mark.parametrize(
    "record",
    [{}, {"country": "FR"}, {"subdivisions": []}, {"subdivisions": ["x"]}, {"city": {"names": "Paris"}}, [], "x"],
)
def test_odd_database_records_give_no_geo_rather_than_an_error(record: Any) -> None:
    assert geo.from_record(record) is None
