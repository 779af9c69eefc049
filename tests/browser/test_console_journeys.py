"""The console's journeys: the list with its counts and templates, a journey drawn as a graph with counts, the
editor refusing a broken step with the API's field errors on that step, and a journey made in the editor that
mails the person who enters it once the virtual clock (moved on the Clock page) ends its wait: the email is in the
Mailbox page. The rarer steps too: a journey built in their forms (wait for an event with a timeout branch, update
profile, publish an event, SMS) comes back as built, and its visitors take the branch of what they did; a refusal of
one of their fields shows on that field."""

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


def publish_in_the_editor(
    console: Console, steps: list[dict[str, Any]], *, editor: str, screenshot: str
) -> dict[str, Any]:
    """A new journey built in the editor by `steps` (a screenshot of the editor as `editor`), saved and published:
    the journey as the API then gives it."""
    created = console.open(
        "/journeys/new",
        [
            *steps,
            {"screenshot": f"build/test-output/console/{editor}.png"},
            {"click": "#save-publish"},
            {"waitFor": "/^#\\/journeys\\/[0-9a-f-]{36}$/.test(location.hash)", "timeout": 15000},
            {"eval": "location.hash", "as": "hash"},
        ],
        screenshot=screenshot,
    )
    assert_clean(created)
    journey = console.api.admin("GET", f"/v1/journeys/{created.saved['hash'].rsplit('/', 1)[1]}").body
    assert journey["status"] == "active"
    return journey


def move_the_clock_two_days(console: Console, screenshot: str) -> None:
    """Fast-forward the local cloud's clock on the Clock page, then let every run move on."""
    moved = console.open(
        "/clock",
        [
            {"click": "#clock-advance-2d"},
            {"waitFor": "document.body.innerText.includes('Moved forward by 2d')", "timeout": 15000},
        ],
        screenshot=screenshot,
    )
    assert_clean(moved)
    console.cloud.settle_runs()


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
    journey = publish_in_the_editor(
        console,
        [
            {"fill": ["#journey-name", "Console signup welcome"]},
            {"fill": ["#trigger-event", "Console Signup"]},
            {"click": "#add-step-wait"},
            {"click": "#add-step-email"},
            {"fill": ["#node-1-name", "Welcome email"]},
            {"fill": ["#node-1-subject", SUBJECT]},
            {"fill": ["#node-1-html", HTML]},
        ],
        editor="journey-editor",
        screenshot="journey-published",
    )
    journey_id = journey["journeyId"]
    assert [n["type"] for n in journey["definition"]["nodes"]] == ["wait", "email"]
    assert journey["definition"]["nodes"][0]["seconds"] == 86400

    traits = {"email": "dora@example.com", "firstName": "Dora"}
    assert console.api.backend("identify", {"userId": "user-dora", "traits": traits}).status == 200
    reply = console.api.backend("track", {"userId": "user-dora", "event": "Console Signup"})
    assert reply.status == 200, reply.body
    console.cloud.settle()

    move_the_clock_two_days(console, "clock")
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


def more_step(kind: str) -> list[dict[str, Any]]:
    """Add a step of a rarer kind from the editor's "More steps…" menu."""
    return [
        {"click": "#add-step-more"},
        {"waitFor": f"document.querySelector('#add-step-{kind}') !== null"},
        {"click": f"#add-step-{kind}"},
    ]


def built(node: dict[str, Any]) -> dict[str, Any]:
    """A node as the API gives it back, without the defaults it fills in (an empty name, list or map, false)."""
    return {k: v for k, v in node.items() if v not in ("", [], {}, False)}


def run_of(console: Console, user_id: str, journey_id: str) -> dict[str, Any] | None:
    profile = console.api.admin("GET", f"/v1/profiles?userId={user_id}").body
    runs = console.api.admin("GET", f"/v1/journeys/runs/{profile['profileId']}").body["runs"]
    return next((r for r in runs if r["journeyId"] == journey_id), None)


def ended(console: Console, user_id: str, journey_id: str) -> bool:
    run = run_of(console, user_id, journey_id)
    return run is not None and run["state"] != "running"


UPGRADE_SMS = "{{firstName}}, your upgrade is one click away"
EVENT_BRANCH_NODES = [
    {
        "id": "wait-for-event-1",
        "type": "waitForEvent",
        "branches": [
            {
                "event": "Console Upgrade",
                "where": [{"property": "plan", "op": "equals", "value": "pro"}],
                "next": "update-profile-1",
            }
        ],
        "timeoutSeconds": 86400,
        "timeoutNext": "sms-1",
    },
    {
        "id": "update-profile-1",
        "type": "updateProfile",
        "set": {"consoleStage": "upgraded", "loyaltyLevel": 3},
        "addTags": ["console-vip"],
        "next": "publish-event-1",
    },
    {"id": "publish-event-1", "type": "publishEvent", "event": "Console Upgraded", "properties": {"source": "console"}},
    {"id": "sms-1", "type": "sms", "text": UPGRADE_SMS},
]


def test_a_journey_of_the_rarer_steps_built_in_forms_follows_the_event_its_visitor_sends(console: Console) -> None:
    journey = publish_in_the_editor(
        console,
        [
            {"fill": ["#journey-name", "Console upgrade offer"]},
            {"fill": ["#trigger-event", "Console Upgrade Offer"]},
            *more_step("waitForEvent"),
            {"fill": ["#node-0-b0-event", "Console Upgrade"]},
            {"click": "#node-0-b0-add-filter"},
            {"fill": ["#node-0-b0-w0-property", "plan"]},
            {"fill": ["#node-0-b0-w0-value", "pro"]},
            {"fill": ["#node-0-timeout", "1"]},  # days: the default is 2 days
            *more_step("updateProfile"),
            {"fill": ["#node-1-set-0-name", "consoleStage"]},
            {"fill": ["#node-1-set-0-value", "upgraded"]},
            {"click": "#node-1-set-add"},
            {"fill": ["#node-1-set-1-name", "loyaltyLevel"]},
            {"fill": ["#node-1-set-1-value", "3"]},
            {"fill": ["#node-1-addTags", "console-vip"]},
            {"select": ["#node-0-b0-next", "update-profile-1"]},
            *more_step("publishEvent"),  # follows the update (a new step follows the last one)
            {"fill": ["#node-2-event", "Console Upgraded"]},
            {"fill": ["#node-2-properties-0-name", "source"]},
            {"fill": ["#node-2-properties-0-value", "console"]},
            *more_step("sms"),
            {"select": ["#node-2-next", ""]},  # the SMS is for those who did not upgrade in time
            {"fill": ["#node-3-text", UPGRADE_SMS]},
            {"select": ["#node-0-timeoutNext", "sms-1"]},
        ],
        editor="journey-editor-rarer-steps-built",
        screenshot="journey-rarer-steps-published",
    )
    journey_id = journey["journeyId"]
    assert journey["definition"]["start"] == "wait-for-event-1"
    assert [built(n) for n in journey["definition"]["nodes"]] == EVENT_BRANCH_NODES

    # Fern upgrades within the day; Gus does not, and gets the SMS once the day is over
    for user, name in (("user-fern", "Fern"), ("user-gus", "Gus")):
        traits = {"email": f"{name.lower()}@example.com", "firstName": name}
        assert console.api.backend("identify", {"userId": user, "traits": traits}).status == 200
        reply = console.api.backend("track", {"userId": user, "event": "Console Upgrade Offer"})
        assert reply.status == 200, reply.body
    console.cloud.settle_runs()
    upgrade = {"userId": "user-fern", "event": "Console Upgrade", "properties": {"plan": "pro"}}
    assert console.api.backend("track", upgrade).status == 200
    console.cloud.settle_runs()
    until(lambda: ended(console, "user-fern", journey_id), console)

    move_the_clock_two_days(console, "clock-rarer-steps")
    until(lambda: ended(console, "user-gus", journey_id), console)

    fern = run_of(console, "user-fern", journey_id)
    gus = run_of(console, "user-gus", journey_id)
    assert fern and fern["state"] == "completed" and fern["endedAtNode"] == "publish-event-1", fern
    assert gus and gus["state"] == "completed" and gus["endedAtNode"] == "sms-1", gus
    traits = console.api.admin("GET", "/v1/profiles?userId=user-fern").body["traits"]
    assert traits["consoleStage"] == "upgraded" and traits["loyaltyLevel"] == 3, traits
    assert "console-vip" in traits["tags"], traits
    assert "consoleStage" not in console.api.admin("GET", "/v1/profiles?userId=user-gus").body["traits"]
    versions = console.api.admin("GET", f"/v1/journeys/{journey_id}/analytics").body["versions"]
    waited = versions[0]["nodes"]["wait-for-event-1"]["branches"]
    assert waited["0"]["taken"] == 1 and waited["timeout"]["taken"] == 1, waited

    graph = console.open(
        f"/journeys/{journey_id}",
        [
            {"waitFor": "document.querySelector('.react-flow__edge') !== null"},
            {"waitFor": "/entered/.test(document.querySelector('[data-node=\"wait-for-event-1\"]')?.innerText ?? '')"},
            text_of(".react-flow"),
        ],
        screenshot="journey-graph-rarer-steps",
    )
    assert_clean(graph)
    assert "on Console Upgrade" in graph.saved["text"] and "timed out" in graph.saved["text"]
    assert "Sets consoleStage, loyaltyLevel; +console-vip" in graph.saved["text"]

    # the editor shows the published steps in their forms again, as they were typed
    fields = [
        "node-0-b0-event",
        "node-0-b0-w0-value",
        "node-1-set-1-value",
        "node-1-addTags",
        "node-2-event",
        "node-3-text",
    ]
    values = f"{fields!r}.map(id => document.getElementById(id)?.value)"
    for phone in (False, True):
        editor = console.open(
            f"/journeys/{journey_id}/edit",
            [
                {"waitFor": "document.querySelectorAll('[data-node-card]').length === 4"},
                {"eval": values, "as": "values"},
            ],
            screenshot="journey-editor-rarer-steps" + ("-phone" if phone else ""),
            phone=phone,
        )
        assert_clean(editor)
        assert editor.saved["values"] == ["Console Upgrade", "pro", "3", "console-vip", "Console Upgraded", UPGRADE_SMS]


def test_a_refusal_of_a_rarer_step_shows_on_its_field(console: Console) -> None:
    field_error = "document.querySelector('#{0}-error')?.innerText ?? ''"
    report = console.open(
        "/journeys/new",
        [
            {"fill": ["#journey-name", "Console refused steps"]},
            {"fill": ["#trigger-event", "Console Refused"]},
            # by keyboard: the menu of more steps opens on Enter, an arrow reaches its first item (wait for an event)
            {"focus": "#add-step-more"},
            {"keys": ["Enter"]},
            {"waitFor": "document.querySelector('#add-step-waitForEvent') !== null"},
            {"keys": ["ArrowDown"]},
            {"waitFor": "document.activeElement?.id === 'add-step-waitForEvent'"},
            {"keys": ["Enter"]},
            {"waitFor": "document.querySelector('#node-0-b0-event') !== null"},
            {"fill": ["#node-0-b0-event", ""]},
            *more_step("sms"),
            {"fill": ["#node-1-text", "{{firstName, your offer"]},
            *more_step("claimCode"),
            # the other kinds' forms, for the scan and the screenshot
            *more_step("addScore"),
            *more_step("holdout"),
            {"click": "#add-step-wait"},
            {"select": ["#node-5-wait-mode", "localTime"]},
            {"click": "#node-5-day-tue"},
            {"click": "#add-step-condition"},
            {"select": ["#node-6-b0-kind", "plan"]},
            {"click": "#save-draft"},
            {"waitFor": "document.querySelector('#node-1-text-error') !== null", "timeout": 10000},
            {"eval": field_error.format("node-0-b0-event"), "as": "event"},
            {"eval": field_error.format("node-1-text"), "as": "text"},
            {"eval": "document.querySelector('#node-0-b0-event').getAttribute('aria-invalid')", "as": "invalid"},
            {"eval": "document.querySelector('#node-2-pool').value", "as": "pool"},
            {"eval": "document.querySelector('#node-5-day-tue').checked", "as": "weekday"},
        ],
        screenshot="journey-editor-rarer-errors",
    )
    unexpected = [e for e in console_errors(report) if "status of 400" not in e["text"]]
    assert not unexpected and not serious_violations(report), (unexpected, serious_violations(report))
    assert "at least 1 character" in report.saved["event"] and report.saved["invalid"] == "true"
    assert "unbalanced" in report.saved["text"] and report.saved["weekday"] is True
    pools = [p["poolId"] for p in console.api.admin("GET", "/v1/coupons/pools").body["pools"]]
    assert report.saved["pool"] == pools[0]  # a new claim step takes the first pool the API lists
