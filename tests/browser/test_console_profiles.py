"""The console's profiles: a marketer finds a profile by email, sees its activity and segments, exports everything
held about the person as a JSON file, and erases a person after confirming; the profile page on a phone."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.conftest import Browser
from tests.browser.console import Console, assert_clean, make_console
from tests.conftest import api_for

MAIN_TEXT = "document.querySelector('main').innerText"


@pytest.fixture(scope="module")
def console(cloud: Any, browser: Browser) -> Iterator[Console]:
    yield make_console(cloud, api_for(cloud), browser)


def profile_id(console: Console, email: str) -> str:
    reply = console.api.admin("GET", f"/v1/profiles?email={email}")
    assert reply.status == 200, reply.body
    return str(reply.body["profileId"])


def test_a_profile_found_by_email_shows_its_timeline_and_exports_as_json(console: Console) -> None:
    steps: list[dict[str, Any]] = [
        {"fill": ["input[name=lookup]", "ada@example.com"]},
        {"press": ["input[name=lookup]", "Enter"]},
        {"waitFor": "[...document.querySelectorAll('main a')].some(a => a.innerText === 'Ada')"},
        {"screenshot": "build/test-output/console/profiles-search.png"},
        {"click": "main a:has-text('Ada')"},
        {"waitFor": "document.querySelector('main h1')?.innerText === 'Ada'"},
        {"waitFor": "document.querySelector('[data-testid=timeline]') !== null"},
        {"waitFor": "document.querySelector('[role=status]') === null"},
        {"eval": MAIN_TEXT, "as": "text"},
        {"eval": "location.hash", "as": "hash"},
        {"download": ["button:has-text('Export as JSON')", "export"]},
    ]
    report = console.open("/profiles", steps, screenshot="profile-page")
    assert_clean(report)
    ada = profile_id(console, "ada@example.com")
    assert report.saved["hash"] == f"#/profiles/{ada}"
    text = report.saved["text"]
    for read in ("/recipes/pancakes", "/recipes/risotto", "/recipes/soup"):
        assert read in text  # the timeline
    assert "Recipe readers" in text  # her segment
    assert "Recipe readers welcome" in text  # the journey that segment started
    exported = json.loads(report.saved["export"])
    assert exported["profileId"] == ada
    assert "ada@example.com" in report.saved["export"]
    assert exported["identity"]["profiles"][0]["identities"]["emails"] == ["ada@example.com"]


def test_the_timeline_pages_back_with_its_cursor(console: Console) -> None:
    ben = profile_id(console, "ben@example.com")
    for n in range(22):  # more than a page of 20
        reply = console.api.send("track", {"anonymousId": "console-ben", "event": f"Recipe Saved {n}"})
        assert reply.status == 200, reply.body
    console.cloud.settle()
    rows = "document.querySelectorAll('[data-testid=timeline] tbody tr').length"
    steps = [
        {"waitFor": f"{rows} === 20"},
        {"click": "button:has-text('Show older activity')"},
        {"waitFor": f"{rows} > 20"},
        {"eval": rows, "as": "rows"},
        {"eval": MAIN_TEXT, "as": "text"},
    ]
    report = console.open(f"/profiles/{ben}", steps, screenshot="profile-timeline-paged")
    assert_clean(report)
    total = len(console.api.admin("GET", f"/v1/profiles/{ben}/timeline?limit=200").body["items"])
    assert report.saved["rows"] == min(total, 40)
    assert "Recipe Saved 21" in report.saved["text"] and "/products/kettle" in report.saved["text"]


def test_the_profile_page_on_a_phone(console: Console) -> None:
    cleo = profile_id(console, "cleo@example.com")
    steps = [{"eval": "document.documentElement.scrollWidth <= window.innerWidth + 1", "as": "fits"}]
    report = console.open(f"/profiles/{cleo}", steps, screenshot="profile-phone", phone=True)
    assert_clean(report)
    assert report.saved["fits"] is True


def test_erasing_a_person_asks_first_then_erases_them(console: Console) -> None:
    cleo = profile_id(console, "cleo@example.com")
    steps = [
        {"click": "button:has-text('Erase…')"},
        {"waitFor": "document.querySelector('[role=dialog]') !== null"},
        {"eval": "document.querySelector('[role=dialog]').innerText", "as": "dialog"},
        {"click": "[role=dialog] button:has-text('Erase permanently')"},
        {"waitFor": "location.hash === '#/profiles'"},
    ]
    report = console.open(f"/profiles/{cleo}", steps, screenshot="profile-erased")
    assert_clean(report)
    assert "cannot be undone" in report.saved["dialog"]
    console.cloud.settle()
    assert console.api.admin("GET", "/v1/profiles?email=cleo@example.com").status == 404
