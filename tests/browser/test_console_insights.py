"""The console's overview, scoring and imports pages: real figures from the demo data and the visitors (events per
day, known and anonymous profiles, the engagement pyramid, the questionnaire's segments), and a CSV of contacts
imported through the page with its result (counts and rejected rows with their reasons)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import Browser
from tests.browser.console import Console, assert_clean, make_console
from tests.conftest import api_for

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"
MAIN_TEXT = "document.querySelector('main').innerText"
PLAN = {
    "name": "Engagement",
    "rules": [
        {
            "name": "recipe-view",
            "activity": {"type": "page", "where": [{"property": "path", "op": "startsWith", "value": "/recipes"}]},
            "points": 5,
            "maxPerDay": 10,
        },
        {"name": "has-email", "traits": {"trait": "email", "op": "exists"}, "points": 5},
    ],
    "decay": {"expireAfterDays": 90},
    "tiers": [{"name": "cold"}, {"name": "warm", "min": 10}, {"name": "hot", "min": 60}],
}


@pytest.fixture(scope="module")
def console(cloud: Any, browser: Browser) -> Iterator[Console]:
    api = api_for(cloud)
    made = make_console(cloud, api, browser)
    reply = api.admin("POST", "/v1/scoring/plans", PLAN)
    assert reply.status in (200, 201), reply.body
    made.demo["planId"] = reply.body["planId"]
    for path in ("/recipes/pancakes", "/recipes/curry"):  # Ada reads two more recipes: 10 points, warm
        assert (
            api.send("page", {"anonymousId": "console-ada", "name": path, "properties": {"path": path}}).status == 200
        )
    cloud.settle()
    yield made


def assert_pyramid(console: Console, text: str) -> None:
    """The page shows the plan's pyramid as the API counts it (or says nobody has a score yet)."""
    tiers = console.api.admin("GET", f"/v1/scoring/plans/{console.demo['planId']}/pyramid").body["tiers"]
    if sum(t["profiles"] for t in tiers) == 0:
        assert "Nobody has a score in this plan yet" in text
    for tier in tiers if sum(t["profiles"] for t in tiers) else []:
        assert f"{tier['tier']}: {tier['profiles']}" in text


def test_the_overview_shows_events_profiles_journeys_and_the_pyramid(console: Console) -> None:
    stats = console.api.admin("GET", "/v1/profiles/stats?days=14").body
    journeys = console.api.admin("GET", "/v1/journeys/stats?days=7").body
    steps = [
        {"eval": MAIN_TEXT, "as": "text"},
        {
            "eval": "[...document.querySelectorAll('[data-figure]')].map(e => [e.dataset.figure, e.innerText])",
            "as": "figures",
        },
    ]
    report = console.open("/", steps, screenshot="overview")
    assert_clean(report)
    figures = dict(report.saved["figures"])
    assert figures["Known profiles"] == str(stats["profiles"]["known"]) and stats["profiles"]["known"] >= 3
    assert figures["Anonymous profiles"] == str(stats["profiles"]["anonymous"])
    assert figures["Active journeys"] == str(journeys["active"]) and journeys["active"] >= 1
    text = report.saved["text"]
    assert "Events per day" in text and "Engagement pyramid" in text
    assert_pyramid(console, text)


def test_the_scoring_page_shows_plans_with_their_pyramid_and_the_questionnaire(console: Console) -> None:
    report = console.open("/scoring", [{"eval": MAIN_TEXT, "as": "text"}], screenshot="scoring")
    assert_clean(report)
    text = report.saved["text"]
    assert "recipe-view" in text and "has-email" in text and "Points expire after 90 days." in text
    assert_pyramid(console, text)
    assert "taste" in text and "Explorer" in text  # the demo questionnaire and its segments


def test_a_csv_imported_through_the_page_shows_its_result(console: Console, tmp_path: Path) -> None:
    csv = tmp_path / "contacts.csv"
    csv.write_text(
        "email,firstName,consent.newsletter\n"
        "dora@example.com,Dora,yes\n"
        "not-an-address,Bad,yes\n"
        "eve@example.com,Eve,maybe\n"
        "ada@example.com,Ada,yes\n"
    )
    finished = "document.querySelector('[data-import-status=completed], [data-import-status=done]') !== null"
    steps: list[dict[str, Any]] = [
        {"upload": ["input[type=file]", str(csv)]},
        {"fill": ["input[placeholder=crm-export]", "crm"]},
        {"click": "form[aria-label='Import contacts'] button[type=submit]"},
        {"waitFor": finished, "timeout": 30000},
        {"eval": "document.querySelector('[aria-label=\"Import result\"]').innerText", "as": "result"},
        {
            "eval": "[...document.querySelectorAll('[data-figure]')].map(e => [e.dataset.figure, e.innerText])",
            "as": "figures",
        },
    ]
    report = console.open("/imports", steps, screenshot="imports")
    assert_clean(report)
    figures = dict(report.saved["figures"])
    assert figures == {"New contacts": "1", "Updated": "1", "Unchanged": "0", "Rejected": "2"}
    result = report.saved["result"]
    assert "4 of 4 rows processed" in result
    assert "not a valid address" in result and "expected yes or no" in result
    dora = console.api.admin("GET", "/v1/profiles?email=dora@example.com")
    assert dora.status == 200 and dora.body["traits"]["firstName"] == "Dora"


def test_the_suppression_list_look_up(console: Console) -> None:
    steps = [
        {"fill": ["input[name=suppression-email]", "ben@example.com"]},
        {"press": ["input[name=suppression-email]", "Enter"]},
        {"waitFor": "document.querySelector('[data-suppressed]') !== null"},
        {"eval": "document.querySelector('[data-suppressed]').innerText", "as": "answer"},
    ]
    report = console.open("/imports", steps, screenshot="suppression", phone=True)
    assert_clean(report)
    assert "ben@example.com is not on the suppression list." in report.saved["answer"]
