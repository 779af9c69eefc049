"""The console's journeys: the list with its counts and templates, a journey drawn as a graph with counts, the
editor refusing a broken step with the API's field errors on that step, and a journey made in the editor that
mails the person who enters it once the virtual clock (moved on the Clock page) ends its wait: the email is in the
Mailbox page."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.browser.conftest import Browser
from tests.browser.console import READY, Console, assert_clean, console_errors, make_console, serious_violations
from tests.conftest import api_for

SUBJECT = "Console welcome for {{firstName}}"
HTML = (
    '<p>Hello {{firstName}}, welcome to the console kitchen.</p><p><a href="https://shop.example/start">Start '
    'here</a></p><p><a href="{{unsubscribeUrl}}">Unsubscribe</a></p>'
)


OPEN_DORAS_MESSAGE = (
    "[...document.querySelectorAll('[data-message]')]"
    ".find(b => b.innerText.includes('Console welcome for Dora')).click()"
)


@pytest.fixture(scope="module")
def console(cloud: Any, browser: Browser) -> Iterator[Console]:
    yield make_console(cloud, api_for(cloud), browser)


def until(check: Callable[[], Any], console: Console, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        console.cloud.settle()
        time.sleep(0.2)


def sent_by(console: Console, journey_id: str, node: str) -> int:
    versions = console.api.admin("GET", f"/v1/journeys/{journey_id}/analytics").body["versions"]
    return sum(v["nodes"].get(node, {}).get("sent", 0) for v in versions)


def text_of(selector: str) -> dict[str, Any]:
    return {"eval": f"document.querySelector({selector!r})?.innerText ?? ''", "as": "text"}


def test_the_journeys_list_shows_states_counts_and_templates(console: Console) -> None:
    report = console.open("/journeys", [text_of("main")], screenshot="journeys")
    assert_clean(report)
    text = report.saved["text"]
    assert "Recipe readers welcome" in text and "active" in text.lower()
    assert "Start from a template" in text and "Cart abandonment with incentive" in text
    phone = console.open("/journeys", screenshot="journeys-phone", phone=True)
    assert_clean(phone)


def test_installing_a_template_opens_its_draft(console: Console) -> None:
    report = console.open(
        "/journeys",
        [
            {"click": "button[aria-label='Install Post-purchase reminders']"},
            {"waitFor": "document.querySelector('[role=dialog] form') !== null"},
            {"click": "[role=dialog] button[type=submit]"},
            {"waitFor": "/^#\\/journeys\\/[0-9a-f-]{36}$/.test(location.hash)", "timeout": 15000},
            {"waitFor": READY, "timeout": 15000},
            text_of("main"),
        ],
        screenshot="journey-installed",
    )
    assert_clean(report)
    assert "Post-purchase reminders" in report.saved["text"] and "draft" in report.saved["text"].lower()


def test_the_editor_shows_the_api_s_errors_on_the_step(console: Console) -> None:
    report = console.open(
        "/journeys/new",
        [
            {"fill": ["#journey-name", "Broken"]},
            {"fill": ["#trigger-event", "Console Broken"]},
            {"click": "#add-step-email"},
            {"fill": ["#node-0-html", ""]},
            {"click": "#save-draft"},
            {"waitFor": "document.querySelector('[data-node-card] [role=alert]') !== null", "timeout": 10000},
            text_of("[data-node-card='email-1']"),
        ],
        screenshot="journey-editor-errors",
    )
    # the refusal itself is the one error the browser logs (a 400 answer); nothing else may be
    unexpected = [e for e in console_errors(report) if "status of 400" not in e["text"]]
    assert not unexpected and not serious_violations(report), (unexpected, serious_violations(report))
    assert "html" in report.saved["text"] and "template" in report.saved["text"]


def test_a_journey_made_in_the_editor_mails_who_enters_it(console: Console) -> None:
    created = console.open(
        "/journeys/new",
        [
            {"fill": ["#journey-name", "Console signup welcome"]},
            {"fill": ["#trigger-event", "Console Signup"]},
            {"click": "#add-step-wait"},
            {"click": "#add-step-email"},
            {"fill": ["#node-1-name", "Welcome email"]},
            {"fill": ["#node-1-subject", SUBJECT]},
            {"fill": ["#node-1-html", HTML]},
            {"screenshot": "build/test-output/console/journey-editor.png"},
            {"click": "#save-publish"},
            {"waitFor": "/^#\\/journeys\\/[0-9a-f-]{36}$/.test(location.hash)", "timeout": 15000},
            {"eval": "location.hash", "as": "hash"},
        ],
        screenshot="journey-published",
    )
    assert_clean(created)
    journey_id = created.saved["hash"].rsplit("/", 1)[1]
    journey = console.api.admin("GET", f"/v1/journeys/{journey_id}").body
    assert journey["status"] == "active"
    assert [n["type"] for n in journey["definition"]["nodes"]] == ["wait", "email"]
    assert journey["definition"]["nodes"][0]["seconds"] == 86400

    traits = {"email": "dora@example.com", "firstName": "Dora"}
    assert console.api.backend("identify", {"userId": "user-dora", "traits": traits}).status == 200
    reply = console.api.backend("track", {"userId": "user-dora", "event": "Console Signup"})
    assert reply.status == 200, reply.body
    console.cloud.settle()

    moved = console.open(
        "/clock",
        [
            {"click": "#clock-advance-2d"},
            {"waitFor": "document.body.innerText.includes('Moved forward by 2d')", "timeout": 15000},
        ],
        screenshot="clock",
    )
    assert_clean(moved)
    console.cloud.settle_runs()
    # the pages read what is there when they open: wait until the send is in the mailbox and in the counts
    until(lambda: console.api.admin("GET", "/_local/mailbox?to=dora@example.com").body["messages"], console)
    until(lambda: sent_by(console, journey_id, "email-1") == 1, console)

    mailbox = console.open(
        "/mailbox",
        [
            {"waitFor": "document.body.innerText.includes('Console welcome for Dora')", "timeout": 10000},
            {"eval": OPEN_DORAS_MESSAGE},
            {"waitFor": "document.querySelector('#mail-message iframe') !== null"},
            text_of("#mail-message"),
            {"eval": "document.querySelector('#mail-message iframe').getAttribute('srcdoc')", "as": "html"},
            {"eval": "document.querySelector('#mail-message iframe').getAttribute('sandbox')", "as": "sandbox"},
        ],
        screenshot="mailbox",
    )
    assert_clean(mailbox)
    assert "Console welcome for Dora" in mailbox.saved["text"] and "dora@example.com" in mailbox.saved["text"]
    assert "Hello Dora, welcome to the console kitchen." in mailbox.saved["html"]
    assert mailbox.saved["sandbox"] == ""

    graph = console.open(
        f"/journeys/{journey_id}",
        [
            {"waitFor": "document.querySelector('.react-flow__node') !== null"},
            # the counts come with the analytics, which the page asks for beside the definition
            {"waitFor": "/entered/.test(document.querySelector('[data-node=\"wait-1\"]')?.innerText ?? '')"},
            text_of("[data-node='wait-1']"),
            {"eval": "document.querySelector('[data-node=\"email-1\"]').innerText", "as": "email"},
            {"eval": "document.querySelector('[data-node=\"entry\"]').innerText", "as": "entry"},
        ],
        screenshot="journey-graph",
    )
    assert_clean(graph)
    assert "Wait 1 day" in graph.saved["text"] and re.search(r"\b1\s+entered", graph.saved["text"])
    assert "Welcome email" in graph.saved["email"] and re.search(r"\b1\s+sent", graph.saved["email"])
    assert "Console Signup" in graph.saved["entry"] and re.search(r"\b1\s+entered", graph.saved["entry"])


def test_the_editor_builds_conditions_and_splits_as_a_draft(console: Console) -> None:
    report = console.open(
        "/journeys/new",
        [
            {"fill": ["#journey-name", "Console branches"]},
            {"fill": ["#trigger-event", "Console Branch"]},
            {"click": "#add-step-condition"},
            {"fill": ["#node-0-b0-value", "NL"]},
            {"click": "#add-step-email"},
            {"fill": ["#node-1-subject", "Hallo {{firstName}}"]},
            {"click": "#add-step-split"},
            {"select": ["#node-0-b0-next", "email-1"]},
            {"select": ["#node-0-elseNext", "split-1"]},
            {"select": ["#node-1-next", ""]},  # a new step follows the last one: the email led to the split
            {"select": ["#node-2-b0-next", "email-1"]},
            {"fill": ["#node-2-b0-percent", "30"]},
            {"fill": ["#node-2-b1-percent", "70"]},
            {"click": "#save-draft"},
            {"waitFor": "/^#\\/journeys\\/[0-9a-f-]{36}\\/edit$/.test(location.hash)", "timeout": 15000},
            {"waitFor": "document.querySelectorAll('[data-node-card]').length === 3", "timeout": 15000},
            {"eval": "location.hash", "as": "hash"},
            text_of("main"),
        ],
        screenshot="journey-editor-branches",
    )
    assert_clean(report)
    journey_id = report.saved["hash"].split("/")[2]
    draft = console.api.admin("GET", f"/v1/journeys/{journey_id}").body["draft"]
    nodes = {n["id"]: n for n in draft["nodes"]}
    assert draft["start"] == "condition-1" and draft["entry"]["trigger"]["event"]["event"] == "Console Branch"
    condition = nodes["condition-1"]
    assert (
        condition["branches"] == [{"condition": {"trait": "country", "op": "equals", "value": "NL"}, "next": "email-1"}]
        and condition["elseNext"] == "split-1"
    )
    assert [(b["percent"], b.get("next")) for b in nodes["split-1"]["branches"]] == [(30, "email-1"), (70, None)]
    graph = console.open(
        f"/journeys/{journey_id}",
        [{"waitFor": "document.querySelector('.react-flow__edge') !== null"}, text_of(".react-flow")],
        screenshot="journey-graph-branches",
    )
    assert_clean(graph)
    assert "if country = NL" in graph.saved["text"] and "otherwise" in graph.saved["text"]
    assert "30 %" in graph.saved["text"]
    assert_clean(console.open(f"/journeys/{journey_id}", screenshot="journey-graph-phone", phone=True))
    assert_clean(console.open(f"/journeys/{journey_id}/edit", screenshot="journey-editor-phone", phone=True))
