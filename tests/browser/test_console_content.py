"""The console's content, experiments and settings pages on demo data: the catalogue, slots with their targeting,
an email template previewed for a chosen profile (their name in the rendered email) and test-sent to the mailbox,
the segment × topic heatmap; an experiment's results drawn; API keys created (shown once) and webhooks listed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.conftest import Browser
from tests.browser.console import READY, Console, assert_clean, make_console
from tests.conftest import api_for

BROWSER = {  # without a browser's user agent, activity counts as machine-made (no views, no conversions)
    "User-Agent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Version/17.5 Safari/605.1.15"
}
READING = {  # catalogued pages the demo visitors read: the content analytics count them per audience and topic
    "console-ada": ["/recipes/grain-bowl", "/tutorials/fresh-pasta", "/recipes/grain-bowl"],
    "console-ben": ["/history/brand-history", "/tutorials/batch-cooking"],
}


@pytest.fixture(scope="module")
def console(cloud: Any, browser: Browser) -> Iterator[Console]:
    made = make_console(cloud, api_for(cloud), browser)
    api = made.api
    for anonymous_id, paths in READING.items():
        for path in paths:
            page = {"anonymousId": anonymous_id, "name": path, "properties": {"path": path}}
            reply = api.request("POST", "/v1/page", page, key=api.write_key, headers=BROWSER)
            assert reply.status == 200, reply.body
    experiment = {
        "name": "Hero headline",
        "hypothesis": "A bolder headline makes more people order.",
        "target": {"slotId": "home-hero"},
        "variants": [{"id": "control", "content": {"title": "Welcome"}}, {"id": "bold", "content": {"title": "Bold"}}],
        "goal": {"event": "Order Completed"},
    }
    assert api.admin("PUT", "/v1/experiments/hero-headline", experiment).status == 200
    assert api.admin("POST", "/v1/experiments/hero-headline/start").status == 200
    for n in range(40):
        visitor = f"xp-visitor-{n}"
        decided = api.request("GET", f"/v1/decide?slots=home-hero&anonymousId={visitor}", key=api.write_key)
        assert decided.status == 200, decided.body
        if n % 4 == 0:
            order = {"anonymousId": visitor, "event": "Order Completed", "properties": {"total": 10}}
            assert api.request("POST", "/v1/track", order, key=api.write_key, headers=BROWSER).status == 200
    hook = {
        "name": "Hot leads to the CRM",
        "entry": {"trigger": {"event": {"event": "Demo Requested"}}},
        "start": "crm",
        "nodes": [
            {"id": "crm", "name": "Tell the CRM", "type": "webhook", "url": "https://crm.example/hooks/leads"},
        ],
    }
    assert api.admin("POST", "/v1/journeys?publish=true", hook).status == 201
    cloud.settle()
    yield made


def text_of(selector: str) -> dict[str, Any]:
    return {"eval": f"document.querySelector({selector!r})?.innerText ?? ''", "as": "text"}


def test_the_catalogue_lists_the_demo_items(console: Console) -> None:
    report = console.open("/content", [text_of("main")], screenshot="content-catalogue")
    assert_clean(report)
    assert "Batch cooking for a week in two hours" in report.saved["text"]
    assert "28 of 28 items" in report.saved["text"]
    assert_clean(console.open("/content", screenshot="content-catalogue-phone", phone=True))


def test_slots_show_their_variants_and_targeting(console: Console) -> None:
    report = console.open("/content?tab=slots", [text_of("main")], screenshot="content-slots")
    assert_clean(report)
    text = report.saved["text"]
    assert "Home page hero" in text and "questionnaire taste is explorer" in text
    assert "in segment Recipe readers" in text and "everyone else (the default)" in text
    assert "Front page: for you" in text


def test_a_template_preview_shows_the_chosen_profile(console: Console) -> None:
    report = console.open(
        "/content?tab=templates",
        [
            {"waitFor": "document.querySelector('#preview-subject') !== null", "timeout": 10000},
            {"fill": ["#preview-email", "ada@example.com"]},
            {"click": "#preview-email ~ button, form:has(#preview-email) button[type=submit]"},
            {"waitFor": "document.querySelector('#preview-subject')?.innerText.startsWith('Ada')", "timeout": 10000},
            text_of("#template-preview"),
            {"eval": "document.querySelector('#template-preview iframe').getAttribute('srcdoc')", "as": "html"},
            {"eval": "document.querySelector('#template-preview iframe').getAttribute('sandbox')", "as": "sandbox"},
            {"fill": ["#test-send-to", "marketer@example.com"]},
            {"click": "form:has(#test-send-to) button[type=submit]"},
            {"waitFor": "document.body.innerText.includes('was sent to marketer@example.com')", "timeout": 10000},
        ],
        screenshot="content-template-preview",
    )
    assert_clean(report)
    assert "Ada, your week at Hearth & Table" in report.saved["text"] and "For Ada" in report.saved["text"]
    assert "Hi Ada," in report.saved["html"] and report.saved["sandbox"] == ""
    sent = console.api.admin("GET", "/_local/mailbox?to=marketer@example.com").body["messages"]
    assert [m["subject"] for m in sent] == ["[Test] Ada, your week at Hearth & Table"]


def test_the_analytics_tab_draws_the_segment_topic_heatmap(console: Console) -> None:
    report = console.open(
        "/content?tab=analytics",
        [
            {"waitFor": "document.querySelector('#content-heatmap') !== null", "timeout": 10000},
            {"waitFor": READY, "timeout": 10000},
            text_of("main"),
        ],
        screenshot="content-analytics",
    )
    assert_clean(report)
    text = report.saved["text"]
    assert "Segment × topic" in text and "Everyone" in text and "recipes" in text and "tutorials" in text
    assert "Top content per audience" in text and "Rainbow grain bowl with tahini" in text


def test_an_experiment_shows_its_results(console: Console) -> None:
    listed = console.open("/experiments", [text_of("main")], screenshot="experiments")
    assert_clean(listed)
    assert "Hero headline" in listed.saved["text"] and "slot home-hero" in listed.saved["text"]
    report = console.open(
        "/experiments/hero-headline",
        [
            {
                # the charts come with the results, after the page's first data: give a loaded machine time
                "waitFor": "document.querySelector('.recharts-surface') !== null"
                " && document.querySelector('main').innerText.includes('Chance to win')",
                "timeout": 30000,
            },
            text_of("main"),
        ],
        screenshot="experiment",
    )
    assert_clean(report)
    text = report.saved["text"]
    assert "Sample ratio check passed" in text and "Chance to win" in text and "Uplift against the control" in text
    results = console.api.admin("GET", "/v1/experiments/hero-headline/results").body
    users = sum(v["users"] for v in results["variants"])
    assert users == 40 and f"USERS\n{users}" in text.upper().replace("\n\n", "\n")
    assert_clean(console.open("/experiments/hero-headline", screenshot="experiment-phone", phone=True))


def test_settings_create_a_key_shown_once_and_list_webhooks(console: Console) -> None:
    report = console.open(
        "/settings",
        [
            {"select": ["#key-role", "server"]},
            {"fill": ["#key-source", "web-shop"]},
            {"fill": ["#key-name", "shop back-end"]},
            {"click": "form:has(#key-name) button[type=submit]"},
            {"waitFor": "document.querySelector('#created-key') !== null", "timeout": 10000},
            {"eval": "document.querySelector('#created-key').innerText", "as": "key"},
            {"screenshot": "build/test-output/console/settings-key-created.png"},
            {"click": "[role=dialog] .mantine-Group-root:last-child button"},
            {"waitFor": "document.querySelector('#keys-table').innerText.includes('shop back-end')"},
            text_of("main"),
        ],
        screenshot="settings",
    )
    assert_clean(report)
    key = report.saved["key"].strip()
    assert key and key not in report.saved["text"]  # shown once, in the dialog only
    assert console.api.request("GET", "/v1/journeys", key=key, scheme="bearer").status in (401, 403)
    text = report.saved["text"]
    assert "shop back-end" in text and "web-shop" in text
    assert "Hot leads to the CRM" in text and "https://crm.example/hooks/leads" in text and "whsec_" in text


def test_the_clock_and_mailbox_pages_open_on_a_phone(console: Console) -> None:
    assert_clean(console.open("/clock", screenshot="clock-phone", phone=True))
    assert_clean(console.open("/mailbox", screenshot="mailbox-phone", phone=True))
