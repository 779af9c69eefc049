"""The console's content forms on demo data, as a marketer uses them: a slot made in the form (a variant for the demo
segment, a default) decides by segment; a slot edited (a variant for known visitors, moved to the top) decides by
the visit, then is deleted after a confirmation; a catalogue item made, edited and deleted; a template edited and
its draft previewed for a profile before anything is saved, then saved and test-sent with its new subject, a new
template made, a template deleted after a confirmation (and not while an experiment runs on it); the API's refusals
shown at the fields they name with what was typed kept; the forms on a phone."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.conftest import Browser, Report
from tests.browser.console import Console, assert_clean, console_errors, make_console, serious_violations
from tests.conftest import api_for

DIALOG_OPEN = "document.querySelector('[role=dialog]') !== null"
DIALOG_GONE = "document.querySelector('[role=dialog]') === null"


@pytest.fixture(scope="module")
def console(cloud: Any, browser: Browser) -> Iterator[Console]:
    yield make_console(cloud, api_for(cloud), browser)


def text_of(selector: str, name: str = "text") -> dict[str, Any]:
    return {"eval": f"document.querySelector({selector!r})?.innerText ?? ''", "as": name}


def value_of(selector: str, name: str) -> dict[str, Any]:
    return {"eval": f"document.querySelector({selector!r})?.value ?? null", "as": name}


def error_at(selector: str, name: str) -> dict[str, Any]:
    """The error message shown for an input (what its aria-describedby names), or null when it is not invalid."""
    script = (
        f"(() => {{ const input = document.querySelector({selector!r});"
        " if (!input || input.getAttribute('aria-invalid') !== 'true') return null;"
        " return (input.getAttribute('aria-describedby') || '').split(' ')"
        ".map(id => document.getElementById(id)?.innerText || '').join(' | '); })()"
    )
    return {"eval": script, "as": name}


def form_scanned(name: str) -> dict[str, Any]:
    """axe-core on the page while a form is open (the page's own scan runs at the end, when it may have closed)."""
    return {"axe": name}


def assert_form_clean(report: Report, name: str) -> None:
    violations = [v for v in report.saved[name] if v["impact"] in ("serious", "critical")]
    assert not violations, json.dumps(violations, indent=1)


def refused_only(report: Report, status: int = 400) -> None:
    """Clean, but for the refusals the test provoked (the browser logs each such answer as an error)."""
    unexpected = [e for e in console_errors(report) if f"status of {status}" not in e["text"]]
    assert not unexpected and not serious_violations(report), (unexpected, serious_violations(report))


def decided(console: Console, slot: str, anonymous_id: str) -> str:
    reply = console.api.request("GET", f"/v1/decide?slot={slot}&anonymousId={anonymous_id}", key=console.api.write_key)
    assert reply.status == 200, reply.body
    return str(reply.body["variantId"])


def test_a_slot_made_in_the_form_shows_the_segment_its_variant_and_everyone_else_the_default(
    console: Console,
) -> None:
    segment_id = console.demo["segmentId"]
    report = console.open(
        "/content?tab=slots",
        [
            # from the keyboard: the button opens the form with the focus in its first field
            {"eval": "document.querySelector('#slot-new').focus()"},
            {"keys": ["Enter"]},
            {"waitFor": DIALOG_OPEN},
            {"waitFor": "document.activeElement?.id === 'slot-name'"},
            {"fill": ["#slot-name", "Console banner"]},
            value_of("#slot-id", "slotId"),
            {"fill": ["#variant-0-title", "Welcome, everyone"]},
            {"click": "#slot-add-variant"},
            {"fill": ["#variant-1-id", "readers"]},
            {"fill": ["#variant-1-title", "Cook something new tonight"]},
            {"fill": ["#variant-1-link", "/recipes"]},
            {"click": "#variant-1-when-add-segment"},
            {"select": ["#variant-1-when-rule-0-segment", segment_id]},
            {"click": "#variant-1-up"},
            value_of("#variant-0-id", "first"),
            form_scanned("formAxe"),
            {"screenshot": "build/test-output/console/content-slot-form.png"},
            {"click": "#slot-save"},
            {"waitFor": DIALOG_GONE},
            {"waitFor": "document.querySelector('[data-slot=console-banner]') !== null"},
            text_of("[data-slot=console-banner]"),
        ],
        screenshot="content-slot-saved",
    )
    assert_clean(report)
    assert_form_clean(report, "formAxe")
    assert report.saved["slotId"] == "console-banner" and report.saved["first"] == "readers"
    assert "in segment Recipe readers" in report.saved["text"] and "everyone else (the default)" in report.saved["text"]
    slot = console.api.admin("GET", "/v1/content/slots/console-banner").body
    assert slot["name"] == "Console banner" and slot["type"] == "variants"
    assert slot["variants"] == [
        {
            "variantId": "readers",
            "when": {"inSegment": segment_id},
            "content": {"title": "Cook something new tonight", "link": "/recipes"},
        },
        {"variantId": "default", "content": {"title": "Welcome, everyone"}},
    ]
    # Ada read three recipes (the demo segment: two or more in 14 days); Cleo none
    assert decided(console, "console-banner", "console-ada") == "readers"
    assert decided(console, "console-banner", "console-cleo") == "default"


def test_a_slot_edited_in_the_form_decides_by_the_visit_and_is_deleted_after_a_confirmation(console: Console) -> None:
    slot = {
        "name": "Console returning",
        "variants": [
            {
                "variantId": "again",
                "when": {"environment": "visitor", "op": "equals", "value": "returning"},
                "content": {"title": "Welcome back"},
            },
            {"variantId": "default", "content": {"title": "Hello", "cta": {"label": "Read", "href": "/start"}}},
        ],
    }
    assert console.api.admin("PUT", "/v1/content/slots/console-returning", slot).status == 200
    edit = "button[aria-label='Edit the slot Console returning']"
    report = console.open(
        "/content?tab=slots",
        [
            {"click": edit},
            {"waitFor": DIALOG_OPEN},
            {"eval": "document.querySelector('#variant-0-when-rule-0-value-returning').checked", "as": "returning"},
            value_of("#variant-1-extra-0-value", "cta"),
            {"fill": ["#variant-1-title", "Hello there"]},
            {"click": "#slot-add-variant"},
            {"fill": ["#variant-2-id", "known"]},
            {"fill": ["#variant-2-title", "Good to see you"]},
            {"click": "#variant-2-when-add-visit"},
            {"select": ["#variant-2-when-rule-0-field", "identity"]},
            {"click": "#variant-2-when-rule-0-value-known"},
            {"click": "#variant-2-up"},
            {"click": "#variant-1-up"},
            form_scanned("formAxe"),
            {"click": "#slot-save"},
            {"waitFor": DIALOG_GONE},
            {"waitFor": "document.body.innerText.includes('Good to see you')"},
            text_of("[data-slot=console-returning]"),
        ],
        screenshot="content-slot-edited",
    )
    assert_clean(report)
    assert_form_clean(report, "formAxe")
    assert report.saved["returning"] is True and json.loads(report.saved["cta"]) == {"label": "Read", "href": "/start"}
    saved = console.api.admin("GET", "/v1/content/slots/console-returning").body
    assert [v["variantId"] for v in saved["variants"]] == ["known", "again", "default"]
    assert saved["variants"][0]["when"] == {"environment": "identity", "op": "in", "value": ["known"]}
    assert saved["variants"][1]["when"] == {"environment": "visitor", "op": "in", "value": ["returning"]}
    assert saved["variants"][2]["content"] == {"title": "Hello there", "cta": {"label": "Read", "href": "/start"}}
    # Ada is known (her site's back-end identified her); a visitor never seen before is new and anonymous
    assert decided(console, "console-returning", "console-ada") == "known"
    assert decided(console, "console-returning", "console-never-seen") == "default"

    deleted = console.open(
        "/content?tab=slots",
        [
            {"click": "button[aria-label='Delete the slot Console returning']"},
            {"waitFor": DIALOG_OPEN},
            text_of("[role=dialog]", "question"),
            {"click": "#confirm-delete"},
            {"waitFor": DIALOG_GONE},
            {"waitFor": "document.querySelector('[data-slot=console-returning]') === null"},
            text_of("main"),
        ],
        screenshot="content-slot-deleted",
    )
    assert_clean(deleted)
    assert "Delete the slot “Console returning”?" in deleted.saved["question"]
    assert "The slot console-returning was deleted." in deleted.saved["text"]
    assert console.api.admin("GET", "/v1/content/slots/console-returning").status == 404


def test_saving_a_demo_slot_and_item_unchanged_keeps_them_as_they_were(console: Console) -> None:
    # the hero's questionnaire conditions, its segmentId shorthand and its order; the list slot's topics per
    # audience; every field of an item
    def slot() -> dict[str, Any]:
        return {
            k: v for k, v in console.api.admin("GET", "/v1/content/slots/home-hero").body.items() if k != "updatedAt"
        }

    def front_page() -> dict[str, Any]:
        return {
            k: v for k, v in console.api.admin("GET", "/v1/content/slots/front-page").body.items() if k != "updatedAt"
        }

    def item() -> dict[str, Any]:
        return {
            k: v for k, v in console.api.admin("GET", "/v1/content/items/grain-bowl").body.items() if k != "updatedAt"
        }

    slot_before, list_before, item_before = slot(), front_page(), item()
    report = console.open(
        "/content?tab=slots",
        [
            {"click": "button[aria-label='Edit the slot Home page hero']"},
            {"waitFor": DIALOG_OPEN},
            {"click": "#slot-save"},
            {"waitFor": DIALOG_GONE},
            {"waitFor": "document.body.innerText.includes('The slot home-hero was saved')"},
            {"click": "button[aria-label='Edit the slot Front page: for you']"},
            {"waitFor": DIALOG_OPEN},
            {"click": "#slot-save"},
            {"waitFor": DIALOG_GONE},
            {"waitFor": "document.body.innerText.includes('The slot front-page was saved')"},
            {"click": "button[role=tab]:has-text('Catalogue')"},
            {"click": "button[aria-label='Edit Rainbow grain bowl with tahini']"},
            {"waitFor": DIALOG_OPEN},
            {"click": "#item-save"},
            {"waitFor": DIALOG_GONE},
            {"waitFor": "document.body.innerText.includes('The item grain-bowl was saved')"},
        ],
        screenshot="content-saved-unchanged",
    )
    assert_clean(report)
    assert slot() == slot_before and front_page() == list_before and item() == item_before


def test_the_api_s_refusals_show_at_the_fields_they_name_and_keep_what_was_typed(console: Console) -> None:
    slot = console.open(
        "/content?tab=slots",
        [
            {"click": "#slot-new"},
            {"waitFor": DIALOG_OPEN},
            {"fill": ["#slot-name", "Console broken"]},
            {"fill": ["#variant-0-id", "hero one"]},
            {"fill": ["#variant-0-title", "Typed before the refusal"]},
            {"click": "#slot-add-variant"},
            {"click": "#variant-1-when-add-trait"},
            {"fill": ["#variant-1-when-rule-0-trait", "signupDate"]},
            {"select": ["#variant-1-when-rule-0-op", "before"]},
            {"fill": ["#variant-1-when-rule-0-value", "someday"]},
            {"click": "#slot-save"},
            {"waitFor": "document.querySelector('#variant-0-id[aria-invalid=true]') !== null"},
            error_at("#variant-0-id", "idError"),
            value_of("#variant-0-title", "title"),
            # the id fixed, the API checks the condition: its refusal shows on the condition's value
            {"fill": ["#variant-0-id", "hero-one"]},
            {"click": "#slot-save"},
            {"waitFor": "document.querySelector('#variant-1-when-rule-0-value[aria-invalid=true]') !== null"},
            error_at("#variant-1-when-rule-0-value", "valueError"),
            error_at("#variant-0-id", "idErrorAfter"),
            value_of("#variant-1-when-rule-0-trait", "trait"),
            {"eval": "document.querySelector('#variant-1-when-rule-0-value').scrollIntoView({block: 'center'})"},
        ],
        screenshot="content-slot-refused",
    )
    refused_only(slot)
    assert "letters, digits" in slot.saved["idError"] and slot.saved["title"] == "Typed before the refusal"
    assert slot.saved["valueError"] and slot.saved["idErrorAfter"] is None and slot.saved["trait"] == "signupDate"
    assert console.api.admin("GET", "/v1/content/slots/console-broken").status == 404

    item = console.open(
        "/content",
        [
            {"click": "#item-new"},
            {"waitFor": DIALOG_OPEN},
            {"fill": ["#item-title", "Console broken tart"]},
            {"fill": ["#item-path", "/recipes/console-broken-tart"]},
            {"fill": ["#item-topics", "Not A Slug"]},
            {"press": ["#item-topics", "Enter"]},
            {"click": "#item-save"},
            {"waitFor": "document.querySelector('#item-topics[aria-invalid=true]') !== null"},
            error_at("#item-topics", "topicsError"),
            value_of("#item-title", "title"),
        ],
        screenshot="content-item-refused",
    )
    refused_only(item)
    assert "is not a valid topic" in item.saved["topicsError"] and item.saved["title"] == "Console broken tart"

    template = console.open(
        "/content?tab=templates",
        [
            {"waitFor": "document.querySelector('#preview-subject') !== null", "timeout": 10000},
            {"fill": ["#template-html", "<p>Hello</p>{% if reader.known %}<p>again</p>"]},
            {"click": "#template-save"},
            {"waitFor": "document.querySelector('#template-html[aria-invalid=true]') !== null"},
            error_at("#template-html", "htmlError"),
            value_of("#template-html", "html"),
            text_of("#template-dirty", "dirty"),
        ],
        screenshot="content-template-refused",
    )
    refused_only(template)
    assert "never closed" in template.saved["htmlError"] and "line 1" in template.saved["htmlError"]
    assert template.saved["html"] == "<p>Hello</p>{% if reader.known %}<p>again</p>"
    assert template.saved["dirty"].lower() == "unsaved changes"  # a badge, in capitals
    assert console.api.admin("GET", "/v1/content/templates/weekly-digest").body["version"] == 1

    # a draft's preview is refused as its save would be: at the part, with the line
    draft = console.open(
        "/content?tab=templates",
        [
            {"waitFor": "document.querySelector('#preview-subject') !== null", "timeout": 10000},
            {"fill": ["#template-subject", "Hi {{ profile.firstName | shout }}"]},
            {"click": "#template-preview-draft"},
            {"waitFor": "document.querySelector('#template-subject[aria-invalid=true]') !== null"},
            error_at("#template-subject", "subjectError"),
            value_of("#template-subject", "subject"),
        ],
        screenshot="content-template-draft-refused",
    )
    refused_only(draft)
    assert "unknown filter 'shout'" in draft.saved["subjectError"] and "line 1" in draft.saved["subjectError"]
    assert draft.saved["subject"] == "Hi {{ profile.firstName | shout }}"
    assert console.api.admin("GET", "/v1/content/templates/weekly-digest").body["version"] == 1


def test_a_repeated_variant_id_is_refused_on_the_variant_that_repeats_it(console: Console) -> None:
    """The console does not check variant ids against each other: the API does, and names the later variant's id
    (`variants[1].variantId`), which the form shows on that variant's id field."""
    report = console.open(
        "/content?tab=slots",
        [
            {"click": "#slot-new"},
            {"waitFor": DIALOG_OPEN},
            {"fill": ["#slot-name", "Console twins"]},
            {"fill": ["#variant-0-id", "twin"]},
            {"click": "#slot-add-variant"},
            {"fill": ["#variant-1-id", "twin"]},
            {"fill": ["#variant-1-title", "Welcome back"]},
            {"click": "#variant-1-when-add-visit"},
            {"click": "#slot-save"},
            {"waitFor": "document.querySelector('#variant-1-id[aria-invalid=true]') !== null"},
            error_at("#variant-1-id", "repeated"),
            error_at("#variant-0-id", "first"),
            value_of("#variant-1-title", "title"),
            {"eval": "document.querySelector('#variant-1-id').scrollIntoView({block: 'center'})"},
        ],
        screenshot="content-slot-repeated-id-refused",
    )
    refused_only(report)
    assert "has this id already" in report.saved["repeated"], report.saved
    assert report.saved["first"] is None and report.saved["title"] == "Welcome back"
    assert console.api.admin("GET", "/v1/content/slots/console-twins").status == 404


def test_a_catalogue_item_is_made_edited_and_deleted_in_the_form(console: Console) -> None:
    made = console.open(
        "/content",
        [
            {"click": "#item-new"},
            {"waitFor": DIALOG_OPEN},
            {"fill": ["#item-title", "Console lemon tart"]},
            value_of("#item-id", "id"),
            value_of("#item-published", "published"),
            {"fill": ["#item-path", "/recipes/console-lemon-tart"]},
            {"fill": ["#item-type", "recipe"]},
            {"fill": ["#item-topics", "recipes"]},
            {"press": ["#item-topics", "Enter"]},
            {"fill": ["#item-topics", "baking"]},
            {"press": ["#item-topics", "Enter"]},
            {"press": ["#item-topics", "Escape"]},  # closes the suggestions, not the form
            {"click": "#item-segments"},
            {"click": "[role=option]:has-text('Healthy (taste)')"},
            {"press": ["#item-segments", "Escape"]},
            {"waitFor": DIALOG_OPEN},
            {"fill": ["#item-summary", "Sharp, sweet and done in an hour."]},
            form_scanned("formAxe"),
            {"screenshot": "build/test-output/console/content-item-form.png"},
            {"click": "#item-save"},
            {"waitFor": DIALOG_GONE},
            {"waitFor": "document.querySelector('[data-item=console-lemon-tart]') !== null"},
            text_of("[data-item=console-lemon-tart]"),
        ],
        screenshot="content-item-saved",
    )
    assert_clean(made)
    assert_form_clean(made, "formAxe")
    assert made.saved["id"] == "console-lemon-tart"
    assert made.saved["published"].startswith("2026-03-02T")  # the local cloud's clock, not the browser's
    item = console.api.admin("GET", "/v1/content/items/console-lemon-tart").body
    assert item["title"] == "Console lemon tart" and item["path"] == "/recipes/console-lemon-tart"
    assert item["type"] == "recipe" and item["topics"] == ["recipes", "baking"] and item["segments"] == ["healthy"]
    assert item["summary"] == "Sharp, sweet and done in an hour." and item["publishedAt"].startswith("2026-03-02T")
    assert "healthy" in made.saved["text"] and "BAKING" in made.saved["text"]  # topics are badges, in capitals

    edited = console.open(
        "/content",
        [
            {"click": "button[aria-label='Edit Console lemon tart']"},
            {"waitFor": DIALOG_OPEN},
            {"fill": ["#item-title", "Console lemon tart, revisited"]},
            {"click": "#item-save"},
            {"waitFor": DIALOG_GONE},
            {"waitFor": "document.body.innerText.includes('Console lemon tart, revisited')"},
            {"click": "button[aria-label='Delete Console lemon tart, revisited']"},
            {"waitFor": DIALOG_OPEN},
            {"click": "#confirm-delete"},
            {"waitFor": DIALOG_GONE},
            {"waitFor": "document.querySelector('[data-item=console-lemon-tart]') === null"},
            text_of("main"),
        ],
        screenshot="content-item-deleted",
    )
    assert_clean(edited)
    assert "The item console-lemon-tart was deleted." in edited.saved["text"]
    assert console.api.admin("GET", "/v1/content/items/console-lemon-tart").status == 404


def test_a_template_edited_in_the_form_previews_and_sends_its_new_subject(console: Console) -> None:
    subject = '{{ profile.firstName | default: "there" }}, your console week'
    before = console.api.admin("GET", "/v1/content/templates/weekly-digest").body
    drafted = console.open(
        "/content?tab=templates",
        [
            {"waitFor": "document.querySelector('#preview-subject') !== null", "timeout": 10000},
            text_of("#preview-subject", "saved"),
            {"fill": ["#template-subject", subject]},
            {"waitFor": "document.querySelector('#template-dirty') !== null"},
            {"fill": ["#preview-email", "ada@example.com"]},
            {"click": "#template-preview-draft"},
            {"waitFor": "document.querySelector('#preview-subject')?.innerText === 'Ada, your console week'"},
            text_of("#template-preview"),
            text_of("#template-dirty", "dirty"),
        ],
        screenshot="content-template-draft-previewed",
    )
    assert_clean(drafted)
    assert drafted.saved["saved"] != "Ada, your console week"
    assert "For Ada" in drafted.saved["text"] and "your draft, not saved" in drafted.saved["text"]
    assert drafted.saved["dirty"].lower() == "unsaved changes"
    # nothing was saved: the API has the version journeys send, as it was
    after = console.api.admin("GET", "/v1/content/templates/weekly-digest").body
    assert after == before and after["version"] == 1 and after["source"]["subject"] != subject

    report = console.open(
        "/content?tab=templates",
        [
            {"waitFor": "document.querySelector('#preview-subject') !== null", "timeout": 10000},
            {"fill": ["#template-subject", subject]},
            {"waitFor": "document.querySelector('#template-dirty') !== null"},
            {"click": "#template-save"},
            {"waitFor": "document.querySelector('#preview-subject')?.innerText === 'there, your console week'"},
            {"waitFor": "document.querySelector('#template-dirty') === null"},
            {"fill": ["#preview-email", "ada@example.com"]},
            {"click": "form:has(#preview-email) button[type=submit]"},
            {"waitFor": "document.querySelector('#preview-subject')?.innerText === 'Ada, your console week'"},
            text_of("#template-preview"),
            {"fill": ["#test-send-to", "console-forms@example.com"]},
            {"click": "form:has(#test-send-to) button[type=submit]"},
            {"waitFor": "document.body.innerText.includes('was sent to console-forms@example.com')", "timeout": 10000},
        ],
        screenshot="content-template-edited",
    )
    assert_clean(report)
    assert "version 2" in report.saved["text"] and "For Ada" in report.saved["text"]
    template = console.api.admin("GET", "/v1/content/templates/weekly-digest").body
    assert template["version"] == 2 and template["source"]["subject"] == subject
    assert "newest: 3, for_reader: true" in template["source"]["html"]  # the rest as it was
    sent = console.api.admin("GET", "/_local/mailbox?to=console-forms@example.com").body["messages"]
    assert [m["subject"] for m in sent] == ["[Test] Ada, your console week"]

    made = console.open(
        "/content?tab=templates",
        [
            {"waitFor": "document.querySelector('#template-new') !== null"},
            {"click": "#template-new"},
            {"fill": ["#template-name", "Console note"]},
            value_of("#template-id", "id"),
            {"fill": ["#template-subject", "A note for {{ profile.firstName | default: 'you' }}"]},
            form_scanned("formAxe"),
            {"click": "#template-save"},
            {"waitFor": "document.querySelector('#preview-subject')?.innerText === 'A note for you'", "timeout": 10000},
            {"eval": "document.querySelector('#template-choice').value", "as": "chosen"},
        ],
        screenshot="content-template-made",
    )
    assert_clean(made)
    assert_form_clean(made, "formAxe")
    assert made.saved["id"] == "console-note" and made.saved["chosen"] == "console-note"
    note = console.api.admin("GET", "/v1/content/templates/console-note").body
    assert note["name"] == "Console note" and note["version"] == 1


def test_a_template_is_deleted_after_a_confirmation_unless_an_experiment_runs_on_it(console: Console) -> None:
    farewell = {"name": "Console farewell", "subject": "Bye {{ profile.firstName }}", "html": "<p>Bye</p>"}
    assert console.api.admin("PUT", "/v1/content/templates/console-farewell", farewell).status == 200
    experiment = {
        "name": "Console farewell subject",
        "target": {"templateId": "console-farewell"},
        "variants": [{"id": "control"}, {"id": "short", "subject": "Bye"}],
        "goal": {"click": True},
    }
    assert console.api.admin("PUT", "/v1/experiments/console-farewell-subject", experiment).status == 200
    assert console.api.admin("POST", "/v1/experiments/console-farewell-subject/start").status == 200
    chosen = [
        {"waitFor": "document.querySelector('#template-choice') !== null", "timeout": 10000},
        {"select": ["#template-choice", "console-farewell"]},
        {"waitFor": "document.body.innerText.includes('console-farewell · version 1')"},
        {"click": "#template-delete"},
        {"waitFor": DIALOG_OPEN},
    ]
    # While the experiment runs, the API refuses: the dialog says why and the template stays
    refused = console.open(
        "/content?tab=templates",
        [
            *chosen,
            {"click": "#confirm-delete"},
            {"waitFor": "document.querySelector('[role=dialog] [role=alert]') !== null"},
            text_of("[role=dialog]", "dialog"),
            form_scanned("dialogAxe"),
        ],
        screenshot="content-template-delete-refused",
    )
    refused_only(refused, 409)
    assert_form_clean(refused, "dialogAxe")
    assert "Delete the template “Console farewell”?" in refused.saved["dialog"]
    assert "The template was not deleted" in refused.saved["dialog"]
    assert "console-farewell-subject is running" in refused.saved["dialog"]
    assert console.api.admin("GET", "/v1/content/templates/console-farewell").status == 200

    # Stopped, it is deleted once confirmed, and leaves the list
    assert console.api.admin("POST", "/v1/experiments/console-farewell-subject/stop", {}).status == 200
    deleted = console.open(
        "/content?tab=templates",
        [
            *chosen,
            {"click": "#confirm-delete"},
            {"waitFor": DIALOG_GONE},
            {"waitFor": "document.querySelector('[data-done]') !== null"},
            text_of("[data-done]", "done"),
            {"eval": "[...document.querySelectorAll('#template-choice option')].map(o => o.value)", "as": "left"},
        ],
        screenshot="content-template-deleted",
    )
    assert_clean(deleted)
    assert "The template Console farewell was deleted." in deleted.saved["done"]
    assert "console-farewell" not in deleted.saved["left"]
    assert console.api.admin("GET", "/v1/content/templates/console-farewell").status == 404


def test_the_forms_fit_a_phone(console: Console) -> None:
    fits = "document.documentElement.scrollWidth <= window.innerWidth + 1"
    drawer_fits = (
        "(() => { const d = document.querySelector('[role=dialog]');"
        " return d.getBoundingClientRect().width <= window.innerWidth + 1 && d.scrollWidth <= d.clientWidth + 1; })()"
    )
    slot = console.open(
        "/content?tab=slots",
        [
            {"click": "button[aria-label='Edit the slot Home page hero']"},
            {"waitFor": DIALOG_OPEN},
            {"eval": drawer_fits, "as": "drawer"},
        ],
        screenshot="content-slot-form-phone",
        phone=True,
    )
    assert_clean(slot)
    assert slot.saved["drawer"] is True
    item = console.open(
        "/content",
        [
            {"click": "#item-new"},
            {"waitFor": DIALOG_OPEN},
            {"eval": drawer_fits, "as": "drawer"},
            # Escape on a form with changes asks first; keeping on editing keeps what was typed
            {"fill": ["#item-title", "Half-typed"]},
            {"keys": ["Escape"]},
            {"waitFor": "document.activeElement?.id === 'keep-editing'"},
            {"keys": ["Enter"]},
            {"waitFor": "document.querySelector('#keep-editing') === null"},
            value_of("#item-title", "kept"),
        ],
        screenshot="content-item-form-phone",
        phone=True,
    )
    assert_clean(item)
    assert item.saved["drawer"] is True and item.saved["kept"] == "Half-typed"
    template = console.open(
        "/content?tab=templates",
        [{"waitFor": "document.querySelector('#preview-subject') !== null"}, {"eval": fits, "as": "fits"}],
        screenshot="content-template-form-phone",
        phone=True,
    )
    assert_clean(template)
    assert template.saved["fits"] is True
