"""The console's overview, scoring and imports pages: real figures from the demo data and the visitors (events per
day, known and anonymous profiles, the engagement pyramid, the questionnaire's segments), and a CSV of contacts
imported through the page with its result (counts and rejected rows with their reasons)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.browser.conftest import Browser
from tests.browser.console import Console, assert_clean, make_console
from tests.conftest import api_for

MAIN_TEXT = "document.querySelector('main').innerText"


@pytest.fixture(scope="module")
def console(cloud: Any, browser: Browser) -> Iterator[Console]:
    yield make_console(cloud, api_for(cloud), browser)


def assert_pyramid(console: Console, text: str) -> None:
    """The page shows the demo plan's pyramid as the API counts it: the visitors who read recipes and gave their
    address have scores (Ada: 3 recipes, 10 points a day at most, and 5 for her address: warm)."""
    tiers = console.api.admin("GET", f"/v1/scoring/plans/{console.demo['planId']}/pyramid").body["tiers"]
    assert {t["tier"]: t["profiles"] for t in tiers}["warm"] >= 1, tiers
    for tier in tiers:
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
    steps = [
        {"eval": MAIN_TEXT, "as": "text"},
        {"eval": "document.querySelector('[data-pyramid-days]')?.dataset.pyramidDays", "as": "days"},
        {"eval": "document.querySelector('[data-pyramid-days]').innerText", "as": "overTime"},
    ]
    report = console.open("/scoring", steps, screenshot="scoring")
    assert_clean(report)
    text = report.saved["text"]
    assert "Over the last 30 days" in text and report.saved["days"] == "30"  # the pyramid over time
    assert all(tier in report.saved["overTime"].split() for tier in ("hot", "warm", "cold"))  # a band per tier
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


def test_the_suppression_list_is_listed_looked_up_and_an_address_taken_off(console: Console) -> None:
    for address in ("gone@example.com", "angry@example.com"):
        kind, detail = (
            ("Email Complaint Received", {"complaint": {"complainedRecipients": [{"emailAddress": address}]}})
            if address.startswith("angry")
            else (
                "Email Bounced",
                {"bounce": {"bounceType": "Permanent", "bouncedRecipients": [{"emailAddress": address}]}},
            )
        )
        boto3.client("events", region_name=console.cloud.region).put_events(
            Entries=[
                {
                    "EventBusName": "default",
                    "Source": "aws.ses",
                    "DetailType": kind,
                    "Detail": json.dumps({"mail": {"messageId": f"ses-{address}"}, **detail}),
                }
            ]
        )
    console.cloud.settle()
    rows = "[...document.querySelectorAll('[data-testid=suppressions] tbody tr')]"
    steps = [
        {"waitFor": f"{rows}.length >= 2"},
        {"eval": f"{rows}.map(r => r.innerText)", "as": "listed"},
        {"click": "[data-remove='gone@example.com']"},
        {"waitFor": "document.querySelector('tr[data-email=\"gone@example.com\"]') === null"},
        {"fill": ["input[name=suppression-email]", "ben@example.com"]},
        {"press": ["input[name=suppression-email]", "Enter"]},
        {"waitFor": "document.querySelector('[data-suppressed]') !== null"},
        {"eval": "document.querySelector('[data-suppressed]').innerText", "as": "answer"},
    ]
    report = console.open("/imports", steps, screenshot="suppression", phone=True)
    assert_clean(report)
    listed = " ".join(report.saved["listed"]).lower()
    assert "gone@example.com" in listed and "bounce" in listed
    assert "angry@example.com" in listed and "complaint" in listed
    assert "ben@example.com is not on the suppression list." in report.saved["answer"]
    assert console.api.admin("GET", "/v1/privacy/suppressions/gone@example.com").body["suppressed"] is False
    assert console.api.admin("GET", "/v1/privacy/suppressions/angry@example.com").body["suppressed"] is True
