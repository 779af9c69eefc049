"""The console's create and edit forms for experiments, scoring plans and questionnaires, on demo data: what a
marketer builds in a form is saved as built (read back through the admin API) and works (an experiment started
from its page splits the visitors `GET /v1/decide` serves; a plan scores the visitor who does what its rule pays
for; a questionnaire sorts the person who answers it); the demo's plan and questionnaire survive an edit
unchanged but for what was edited; and an API refusal shows on the field it names, with everything typed kept."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from infra.local.demo import ENGAGEMENT_PLAN
from infra.local.scenarios.content_brand import HERO_DEFAULT, QUESTIONNAIRE
from tests.browser.conftest import Browser
from tests.browser.console import READY, Console, assert_clean, console_errors, make_console, serious_violations
from tests.conftest import api_for

BROWSER = {  # without a browser's user agent, activity counts as machine-made (not scored, not converted)
    "User-Agent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Version/17.5 Safari/605.1.15"
}
MAIN_TEXT = {"eval": "document.querySelector('main').innerText", "as": "text"}
DRAWER_OPEN = "document.querySelector('[role=dialog] form') !== null"
DRAWER_CLOSED = "document.querySelector('[role=dialog] form') === null"


@pytest.fixture(scope="module")
def console(cloud: Any, browser: Browser) -> Iterator[Console]:
    yield make_console(cloud, api_for(cloud), browser)


def submit(form: str) -> dict[str, Any]:
    return {"click": f"form[aria-label='{form}'] button[type=submit]"}


def field(selector: str, name: str) -> dict[str, Any]:
    """What a marketer sees of one input: its value, whether it is marked invalid, the error shown under it (the
    texts its aria-describedby names) and whether it has the focus."""
    script = (
        "(() => { const i = document.querySelector(SELECTOR); if (!i) return null; return {"
        "value: i.value, invalid: i.getAttribute('aria-invalid') === 'true', focused: document.activeElement === i,"
        "error: (i.getAttribute('aria-describedby') || '').split(' ').filter(Boolean)"
        ".map(id => document.getElementById(id)?.innerText ?? '').join(' ')}; })()"
    ).replace("SELECTOR", json.dumps(selector))
    return {"eval": script, "as": name}


def only_refusals_logged(report: Any) -> None:
    """A refusal is the one error the browser logs (the 400 answer); nothing else may be, and axe stays clean."""
    unexpected = [e for e in console_errors(report) if "status of 400" not in e["text"]]
    assert not unexpected and not serious_violations(report), (unexpected, serious_violations(report))


# ---- experiments -------------------------------------------------------------------------------------------------


def test_an_experiment_built_in_the_form_is_saved_started_and_splits_visitors(console: Console) -> None:
    created = console.open(
        "/experiments",
        [
            {"click": "#new-experiment"},
            {"waitFor": DRAWER_OPEN},
            {"waitFor": "document.querySelector('#experiment-slot option[value=home-hero]') !== null"},
            {"fill": ["#experiment-name", "Console hero"]},
            {"fill": ["#experiment-hypothesis", "A warmer headline makes more people order."]},
            {"select": ["#experiment-slot", "home-hero"]},
            # the variants start from what the slot shows today
            {"waitFor": "document.querySelector('#experiment-v1-content-0-name')?.value === 'title'"},
            {"fill": ["#experiment-v1-id", "bold"]},
            {"fill": ["#experiment-v1-content-0-value", "Cook something bold tonight"]},
            {"click": "#experiment-add-variant"},
            {"fill": ["#experiment-v2-id", "calm"]},
            {"fill": ["#experiment-v2-content-0-value", "Dinner, sorted"]},
            {"fill": ["#experiment-v2-weight", "2"]},
            {"fill": ["#experiment-goal-event", "Order Completed"]},
            {"click": "#experiment-goal-where-add"},
            {"fill": ["#experiment-goal-where-0-name", "currency"]},
            {"fill": ["#experiment-goal-where-0-value", "EUR"]},
            field("#experiment-id", "id"),
            {"screenshot": "build/test-output/console/experiment-form.png"},
            submit("Experiment"),
            {"waitFor": "location.hash === '#/experiments/console-hero'", "timeout": 15000},
            {"waitFor": READY, "timeout": 15000},
            MAIN_TEXT,
        ],
        screenshot="experiment-created",
    )
    assert_clean(created)
    assert created.saved["id"]["value"] == "console-hero"  # made from the name
    assert "Console hero" in created.saved["text"] and "draft" in created.saved["text"].lower()

    # a draft can still change; then it starts, and can no longer change
    started = console.open(
        "/experiments/console-hero",
        [
            {"click": "#edit-experiment"},
            {"waitFor": DRAWER_OPEN},
            field("#experiment-v2-content-0-value", "loaded"),
            {"fill": ["#experiment-hypothesis", "A warmer or bolder headline makes more people order."]},
            submit("Experiment"),
            {"waitFor": DRAWER_CLOSED},
            {"waitFor": "document.querySelector('main').innerText.includes('warmer or bolder')"},
            {"click": "#start-experiment"},
            {"waitFor": "document.querySelector('[data-frozen]') !== null"},
            {"eval": "document.querySelector('#edit-experiment') === null", "as": "noEdit"},
            {"eval": "document.querySelector('#copy-experiment') !== null", "as": "canCopy"},
            MAIN_TEXT,
        ],
        screenshot="experiment-started",
    )
    assert_clean(started)
    assert started.saved["loaded"]["value"] == "Dinner, sorted"  # the edit form shows what was saved
    assert started.saved["noEdit"] and started.saved["canCopy"]
    assert "can no longer change" in started.saved["text"] and "running" in started.saved["text"].lower()

    saved = console.api.admin("GET", "/v1/experiments/console-hero").body
    bold = {**HERO_DEFAULT, "title": "Cook something bold tonight"}
    calm = {**HERO_DEFAULT, "title": "Dinner, sorted"}
    assert saved["status"] == "running"
    assert {k: saved[k] for k in ("name", "hypothesis", "target", "variants", "goal", "coverage")} == {
        "name": "Console hero",
        "hypothesis": "A warmer or bolder headline makes more people order.",
        "target": {"slotId": "home-hero"},
        "variants": [
            {"id": "control", "weight": 1.0, "content": HERO_DEFAULT},
            {"id": "bold", "weight": 1.0, "content": bold},
            {"id": "calm", "weight": 2.0, "content": calm},
        ],
        "goal": {"event": "Order Completed", "where": {"currency": "EUR"}, "click": False},
        "coverage": 1.0,
    }

    # the page's visitors are now split between the three variants, each shown its content
    contents = {"control": HERO_DEFAULT, "bold": bold, "calm": calm}
    seen: dict[str, int] = {}
    api = console.api
    for n in range(60):
        reply = api.request("GET", f"/v1/decide?slots=home-hero&anonymousId=plans-visitor-{n}", key=api.write_key)
        assert reply.status == 200, reply.body
        (answer,) = reply.body["slots"]
        assert answer["content"] == contents[answer["variantId"]], answer
        seen[answer["variantId"]] = seen.get(answer["variantId"], 0) + 1
    assert set(seen) == {"control", "bold", "calm"} and seen["calm"] > seen["bold"] / 2, seen
    console.cloud.settle()
    results = api.admin("GET", "/v1/experiments/console-hero/results").body
    assert {v["variantId"]: v["users"] for v in results["variants"]} == seen


def test_an_experiments_audience_is_built_in_the_form_and_only_it_takes_part(console: Console) -> None:
    api = console.api
    banner = {"name": "Banner", "variants": [{"variantId": "plain", "content": {"title": "Free delivery"}}]}
    assert api.admin("PUT", "/v1/content/slots/audience-banner", banner).status == 200
    segment_id = console.demo["segmentId"]
    created = console.open(
        "/experiments",
        [
            {"click": "#new-experiment"},
            {"waitFor": DRAWER_OPEN},
            {"waitFor": "document.querySelector('#experiment-slot option[value=audience-banner]') !== null"},
            {"fill": ["#experiment-name", "Readers banner"]},
            {"select": ["#experiment-slot", "audience-banner"]},
            {"waitFor": "document.querySelector('#experiment-v1-content-0-name')?.value === 'title'"},
            {"fill": ["#experiment-v1-id", "bold"]},
            {"fill": ["#experiment-v1-content-0-value", "Free delivery for readers"]},
            {"fill": ["#experiment-goal-event", "Order Completed"]},
            {"click": "#experiment-audience-add-segment"},
            {"waitFor": f"document.querySelector('#experiment-audience-rule-0-segment [value=\"{segment_id}\"]')"},
            {"select": ["#experiment-audience-rule-0-segment", segment_id]},
            submit("Experiment"),
            {"waitFor": "location.hash === '#/experiments/readers-banner'", "timeout": 15000},
            {"waitFor": READY, "timeout": 15000},
        ],
        screenshot="experiment-audience",
    )
    assert_clean(created)
    saved = api.admin("GET", "/v1/experiments/readers-banner").body
    assert saved["audience"] == {"inSegment": segment_id}
    assert api.admin("POST", "/v1/experiments/readers-banner/start").status == 200

    def shown(anonymous_id: str) -> str:
        reply = api.request("GET", f"/v1/decide?slot=audience-banner&anonymousId={anonymous_id}", key=api.write_key)
        assert reply.status == 200, reply.body
        return str(reply.body["variantId"])

    assert shown("console-ada") in ("control", "bold")  # a reader of the demo segment takes part
    assert shown("console-cleo") == "plain"  # outside the audience: the slot as it is, not counted
    results = api.admin("GET", "/v1/experiments/readers-banner/results").body
    assert sum(v["users"] for v in results["variants"]) == 1
    assert api.admin("POST", "/v1/experiments/readers-banner/stop", {}).status == 200


def test_a_running_experiment_is_copied_into_a_new_draft(console: Console) -> None:
    running = console.api.admin("GET", "/v1/experiments/console-hero").body
    assert running["status"] == "running", "runs after test_an_experiment_built_in_the_form_…"
    report = console.open(
        "/experiments/console-hero",
        [
            {"click": "#copy-experiment"},
            {"waitFor": DRAWER_OPEN},
            field("#experiment-id", "id"),
            submit("Experiment"),
            {"waitFor": "location.hash === '#/experiments/console-hero-2'", "timeout": 15000},
            {"waitFor": READY, "timeout": 15000},
            {"waitFor": "document.querySelector('#edit-experiment') !== null"},
        ],
        screenshot="experiment-copied",
    )
    assert_clean(report)
    copy = console.api.admin("GET", "/v1/experiments/console-hero-2").body
    assert copy["status"] == "draft" and copy["name"] == "Console hero (copy)"
    assert {k: copy[k] for k in ("target", "variants", "goal")} == {
        k: running[k] for k in ("target", "variants", "goal")
    }


def test_an_email_experiment_refused_for_its_liquid_then_saved(console: Console) -> None:
    """A template experiment's variant whose HTML does not compile is refused with its line and column on that
    variant's HTML field; fixed, the same form saves it with its click goal."""
    report = console.open(
        "/experiments",
        [
            {"click": "#new-experiment"},
            {"waitFor": DRAWER_OPEN},
            {"fill": ["#experiment-name", "Console digest"]},
            {"select": ["#experiment-target", "template"]},
            {"waitFor": "document.querySelector('#experiment-template option[value=weekly-digest]') !== null"},
            {"select": ["#experiment-template", "weekly-digest"]},
            {"fill": ["#experiment-v1-subject", "This week in the kitchen, {{ profile.firstName }}"]},
            {"fill": ["#experiment-v1-html", "<p>Hi</p>\n{% if profile.firstName %}<p>unclosed</p>"]},
            {"select": ["#experiment-goal", "click"]},
            {"fill": ["#experiment-goal-url", "/recipes"]},
            submit("Experiment"),
            {"waitFor": "document.querySelector('#experiment-v1-html')?.getAttribute('aria-invalid') === 'true'"},
            field("#experiment-v1-html", "html"),
            {"fill": ["#experiment-v1-html", "<p>Hi {{ profile.firstName }}, new this week:</p>"]},
            submit("Experiment"),
            {"waitFor": "location.hash === '#/experiments/console-digest'", "timeout": 15000},
            {"waitFor": READY, "timeout": 15000},
        ],
        screenshot="experiment-email-created",
    )
    only_refusals_logged(report)
    refused = report.saved["html"]
    assert refused["invalid"] and "line 2" in refused["error"], refused
    saved = console.api.admin("GET", "/v1/experiments/console-digest").body
    assert saved["target"] == {"templateId": "weekly-digest"}
    assert saved["variants"] == [
        {"id": "control", "weight": 1.0},
        {
            "id": "b",
            "weight": 1.0,
            "subject": "This week in the kitchen, {{ profile.firstName }}",
            "html": "<p>Hi {{ profile.firstName }}, new this week:</p>",
        },
    ]
    assert saved["goal"] == {"where": {}, "click": True, "urlContains": "/recipes"}


def test_a_refused_experiment_shows_the_error_on_its_field_and_keeps_what_was_typed(console: Console) -> None:
    report = console.open(
        "/experiments",
        [
            {"click": "#new-experiment"},
            {"waitFor": DRAWER_OPEN},
            {"waitFor": "document.querySelector('#experiment-slot option[value=home-hero]') !== null"},
            {"fill": ["#experiment-name", "Console refused"]},
            {"select": ["#experiment-slot", "home-hero"]},
            {"waitFor": "document.querySelector('#experiment-v1-content-0-name')?.value === 'title'"},
            {"fill": ["#experiment-v1-id", "bold one"]},  # a space: the API refuses the id
            {"fill": ["#experiment-v1-content-0-value", "Typed before the refusal"]},
            {"fill": ["#experiment-goal-event", "Order Completed"]},
            submit("Experiment"),
            {"waitFor": "document.querySelector('#experiment-v1-id')?.getAttribute('aria-invalid') === 'true'"},
            field("#experiment-v1-id", "id"),
            field("#experiment-name", "name"),
            field("#experiment-v1-content-0-value", "content"),
            {"eval": "document.querySelector('[role=dialog]').innerText", "as": "drawer"},
        ],
        screenshot="experiment-form-refused",
    )
    only_refusals_logged(report)
    refused = report.saved["id"]
    assert refused["invalid"] and "letters, digits" in refused["error"], refused  # the id's pattern in words
    assert refused["focused"]  # the first field in error has the focus
    assert report.saved["name"]["value"] == "Console refused"
    assert report.saved["content"]["value"] == "Typed before the refusal"
    assert "The experiment was not saved" in report.saved["drawer"] and "variants[1].id" in report.saved["drawer"]
    assert console.api.admin("GET", "/v1/experiments/console-refused").status == 404


def test_the_experiment_form_on_a_phone(console: Console) -> None:
    report = console.open(
        "/experiments",
        [{"click": "#new-experiment"}, {"waitFor": DRAWER_OPEN}, {"select": ["#experiment-target", "template"]}],
        screenshot="experiment-form-phone",
        phone=True,
    )
    assert_clean(report)


# ---- scoring plans -----------------------------------------------------------------------------------------------


def plan_named(console: Console, name: str) -> dict[str, Any]:
    plans = console.api.admin("GET", "/v1/scoring/plans").body["plans"]
    return dict(next(p for p in plans if p["name"] == name))


def test_a_plan_built_in_the_form_scores_the_visitor_who_does_what_it_pays_for(console: Console) -> None:
    report = console.open(
        "/scoring",
        [
            {"click": "#new-plan"},
            {"waitFor": DRAWER_OPEN},
            {"fill": ["#plan-name", "Console leads"]},
            {"fill": ["#plan-r0-event", "Demo Requested"]},  # the rule's name follows: demo-requested
            {"fill": ["#plan-r0-points", "25"]},
            {"click": "#plan-add-trait-rule"},  # once, for having an email address
            {"fill": ["#plan-r1-points", "5"]},
            {"select": ["#plan-decay", "expire"]},
            {"fill": ["#plan-decay-days", "30"]},
            {"fill": ["#plan-t2-min", "20"]},
            {"screenshot": "build/test-output/console/plan-form.png"},
            submit("Scoring plan"),
            {"waitFor": DRAWER_CLOSED},
            {"waitFor": "document.querySelector('main').innerText.includes('Scoring plan “Console leads” saved')"},
            {"waitFor": "document.querySelector('section[aria-label=\"Console leads\"]') !== null"},
            MAIN_TEXT,
        ],
        screenshot="plan-created",
    )
    assert_clean(report)
    assert "demo-requested" in report.saved["text"]
    plan = plan_named(console, "Console leads")
    assert plan["version"] == 1
    assert plan["rules"] == [
        {"name": "demo-requested", "points": 25, "activity": {"type": "track", "event": "Demo Requested"}},
        {"name": "has-email", "points": 5, "traits": {"trait": "email", "op": "exists"}},
    ]
    assert plan["decay"] == {"expireAfterDays": 30}
    assert plan["tiers"] == [{"name": "cold"}, {"name": "warm", "min": 10}, {"name": "hot", "min": 20}]

    api = console.api
    lead = {"anonymousId": "plans-lead", "event": "Demo Requested", "properties": {"plan": "team"}}
    assert api.request("POST", "/v1/track", lead, key=api.write_key, headers=BROWSER).status == 200
    console.cloud.settle()
    profile = api.admin("GET", "/v1/profiles?anonymousId=plans-lead").body
    scores = api.admin("GET", f"/v1/segments/memberships/{profile['profileId']}").body["scores"]
    assert scores[plan["planId"]]["score"] == 25 and scores[plan["planId"]]["tier"] == "hot", scores


def test_the_demo_plan_survives_an_edit_unchanged_but_for_its_hot_lead_threshold(console: Console) -> None:
    plan_id = console.demo["planId"]
    report = console.open(
        "/scoring",
        [
            {"click": f"[data-edit-plan='{plan_id}']"},
            {"waitFor": DRAWER_OPEN},
            field("#plan-r0-w0-value", "path"),
            {"fill": ["#plan-t2-min", "70"]},
            submit("Scoring plan"),
            {"waitFor": DRAWER_CLOSED},
            {"waitFor": "document.querySelector('main').innerText.includes('saved (version 2)')"},
        ],
        screenshot="plan-edited",
    )
    assert_clean(report)
    assert report.saved["path"]["value"] == "/recipes"
    plan = console.api.admin("GET", f"/v1/scoring/plans/{plan_id}").body
    assert plan["version"] == 2
    assert plan["rules"] == ENGAGEMENT_PLAN["rules"] and plan["decay"] == ENGAGEMENT_PLAN["decay"]
    assert plan["description"] == ENGAGEMENT_PLAN["description"]
    assert plan["tiers"] == [{"name": "cold"}, {"name": "warm", "min": 10}, {"name": "hot", "min": 70}]


def test_a_refused_plan_shows_each_error_on_its_field(console: Console) -> None:
    report = console.open(
        "/scoring",
        [
            {"click": "#new-plan"},
            {"waitFor": DRAWER_OPEN},
            {"fill": ["#plan-name", "Console refused plan"]},
            {"fill": ["#plan-r0-event", "Form Sent"]},
            {"fill": ["#plan-r0-name", "Form Sent"]},  # capitals and a space: not a rule name
            {"fill": ["#plan-t1-min", "60"]},  # above the next tier's 50
            submit("Scoring plan"),
            {"waitFor": "document.querySelector('#plan-t2-min')?.getAttribute('aria-invalid') === 'true'"},
            field("#plan-r0-name", "rule"),
            field("#plan-t2-min", "tier"),
            field("#plan-name", "name"),
        ],
        screenshot="plan-form-refused",
    )
    only_refusals_logged(report)
    assert report.saved["rule"]["invalid"] and "Form Sent" in report.saved["rule"]["value"]
    assert report.saved["rule"]["focused"]
    assert (
        report.saved["tier"]["invalid"]
        and "must be above the previous tier's min (60)" in report.saved["tier"]["error"]
    )
    assert report.saved["name"]["value"] == "Console refused plan"
    assert not any(
        p["name"] == "Console refused plan" for p in console.api.admin("GET", "/v1/scoring/plans").body["plans"]
    )


def test_the_plan_form_on_a_phone(console: Console) -> None:
    report = console.open(
        "/scoring",
        [{"click": "#new-plan"}, {"waitFor": DRAWER_OPEN}, {"click": "#plan-add-page-rule"}],
        screenshot="plan-form-phone",
        phone=True,
    )
    assert_clean(report)


def test_the_plan_form_works_from_the_keyboard(console: Console) -> None:
    """Enter on the button opens the form with the focus in its first field; Escape closes it and gives the focus
    back to the button."""
    active = "(document.activeElement?.id ?? '')"
    report = console.open(
        "/scoring",
        [
            {"eval": "document.querySelector('#new-plan').focus()", "as": "focus"},
            {"keys": ["Enter"]},
            {"waitFor": DRAWER_OPEN},
            {"waitFor": f"{active} === 'plan-name'"},
            {"keys": ["K", "e", "y", "Tab"]},
            {"eval": "document.querySelector('#plan-name').value", "as": "typed"},
            {"eval": active, "as": "next"},
            {"keys": ["Escape"]},
            {"waitFor": DRAWER_CLOSED},
            {"waitFor": f"{active} === 'new-plan'"},
        ],
        screenshot="plan-form-keyboard",
    )
    assert_clean(report)
    assert report.saved["typed"] == "Key" and report.saved["next"] == "plan-description"


# ---- questionnaires ----------------------------------------------------------------------------------------------


def test_a_questionnaire_built_in_the_form_sorts_who_answers_it(console: Console) -> None:
    steps: list[dict[str, Any]] = [
        {"click": "#new-questionnaire"},
        {"waitFor": DRAWER_OPEN},
        {"fill": ["#questionnaire-name", "Console diet"]},
        {"fill": ["#questionnaire-q0-text", "I eat meat most days"]},
        {"fill": ["#questionnaire-q1-text", "I cook vegetables as the main dish"]},
        {"click": "#questionnaire-add-question"},
        {"fill": ["#questionnaire-q2-text", "I read the label before I buy"]},
        {"fill": ["#questionnaire-s0-name", "Meat lover"]},  # its key follows: meat-lover
        {"fill": ["#questionnaire-s1-name", "Veggie"]},
        {"click": "#questionnaire-add-segment"},
        {"fill": ["#questionnaire-s2-name", "Label reader"]},
    ]
    typical = {0: (7, 2, 3), 1: (1, 7, 4), 2: (4, 4, 7)}
    for segment, centroid in typical.items():
        steps += [{"fill": [f"#questionnaire-s{segment}-v{q}", str(a)]} for q, a in enumerate(centroid)]
    steps += [
        {"fill": ["#questionnaire-confidence", "20"]},
        {"screenshot": "build/test-output/console/questionnaire-form.png"},
        submit("Questionnaire"),
        {"waitFor": DRAWER_CLOSED},
        {"waitFor": "document.querySelector('main').innerText.includes('Questionnaire “Console diet” saved')"},
        {"waitFor": "document.querySelector('section[aria-label=\"Console diet\"]') !== null"},
        MAIN_TEXT,
    ]
    report = console.open("/scoring", steps, screenshot="questionnaire-created")
    assert_clean(report)
    assert "Console diet" in report.saved["text"]
    listed = console.api.admin("GET", "/v1/questionnaires").body["questionnaires"]
    saved = next(q for q in listed if q["name"] == "Console diet")
    assert saved["questions"] == [
        {"id": "q1", "text": "I eat meat most days"},
        {"id": "q2", "text": "I cook vegetables as the main dish"},
        {"id": "q3", "text": "I read the label before I buy"},
    ]
    assert saved["event"] == "Questionnaire Answered" and saved["scale"] == {"min": 1, "max": 7}
    assert saved["key"] == {
        "method": "centroids",
        "segments": [
            {"key": "meat-lover", "name": "Meat lover", "centroid": [7, 2, 3]},
            {"key": "veggie", "name": "Veggie", "centroid": [1, 7, 4]},
            {"key": "label-reader", "name": "Label reader", "centroid": [4, 4, 7]},
        ],
    }
    assert saved["minConfidence"] == 0.2

    api = console.api
    answers = {
        "anonymousId": "plans-answerer",
        "event": "Questionnaire Answered",
        "properties": {"questionnaireId": saved["questionnaireId"], "answers": {"q1": 1, "q2": 6, "q3": 4}},
    }
    assert api.request("POST", "/v1/track", answers, key=api.write_key, headers=BROWSER).status == 200
    console.cloud.settle()
    profile = api.admin("GET", "/v1/profiles?anonymousId=plans-answerer").body
    found = api.admin("GET", f"/v1/segments/memberships/{profile['profileId']}").body["questionnaires"]
    assert found[saved["questionnaireId"]]["segment"] == "veggie", found


def test_the_demo_questionnaire_survives_an_edit_unchanged_but_for_its_neutral_pool(console: Console) -> None:
    listed = console.api.admin("GET", "/v1/questionnaires").body["questionnaires"]
    taste = next(q for q in listed if q["name"] == QUESTIONNAIRE["name"])
    report = console.open(
        "/scoring",
        [
            {"click": f"[data-edit-questionnaire='{taste['questionnaireId']}']"},
            {"waitFor": DRAWER_OPEN},
            field("#questionnaire-s0-v0", "explorer"),
            {"fill": ["#questionnaire-confidence", "25"]},
            submit("Questionnaire"),
            {"waitFor": DRAWER_CLOSED},
            {"waitFor": "document.querySelector('main').innerText.includes('saved (version 2)')"},
        ],
        screenshot="questionnaire-edited",
    )
    assert_clean(report)
    assert report.saved["explorer"]["value"] == "7"
    saved = console.api.admin("GET", f"/v1/questionnaires/{taste['questionnaireId']}").body
    assert saved["version"] == 2 and saved["minConfidence"] == 0.25
    for part in ("name", "description", "event", "questions", "scale", "key"):
        assert saved[part] == QUESTIONNAIRE[part], part


def test_a_refused_questionnaire_shows_the_error_on_its_answer(console: Console) -> None:
    report = console.open(
        "/scoring",
        [
            {"click": "#new-questionnaire"},
            {"waitFor": DRAWER_OPEN},
            {"fill": ["#questionnaire-name", "Console refused questionnaire"]},
            {"fill": ["#questionnaire-s0-name", "First"]},
            {"fill": ["#questionnaire-s1-name", "Second"]},
            {"fill": ["#questionnaire-high", "5"]},  # the scale now ends at 5: the first segment's 7 is outside it
            submit("Questionnaire"),
            {"waitFor": "document.querySelector('#questionnaire-s0-v0')?.getAttribute('aria-invalid') === 'true'"},
            field("#questionnaire-s0-v0", "answer"),
            field("#questionnaire-name", "name"),
        ],
        screenshot="questionnaire-form-refused",
        phone=True,
    )
    only_refusals_logged(report)
    assert report.saved["answer"]["invalid"] and report.saved["answer"]["error"], report.saved["answer"]
    assert report.saved["name"]["value"] == "Console refused questionnaire"
