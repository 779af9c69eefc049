"""The console's segments: the list with sizes and overlap, a segment's page, and a segment built in the builder by
filling its fields — its live preview equals the API's preview of the same condition, and Save keeps what was built."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.conftest import Browser
from tests.browser.console import Console, assert_clean, make_console
from tests.conftest import api_for

# what the builder's fields below describe: recipe pages read at least twice in 14 days, by a profile with an email
BUILT = {
    "all": [
        {
            "behaviour": {"type": "page", "where": [{"property": "path", "op": "startsWith", "value": "/recipes"}]},
            "op": "atLeast",
            "value": 2,
            "withinDays": 14,
        },
        {"trait": "email", "op": "exists"},
    ]
}
PREVIEW_SETTLED = (
    "(() => { const p = document.querySelector('[data-preview-for]');"
    " return p && p.dataset.previewBusy === 'no' && p.dataset.previewFor !== ''"
    " && p.dataset.previewFor === p.dataset.previewCurrent; })()"
)


@pytest.fixture(scope="module")
def console(cloud: Any, browser: Browser) -> Iterator[Console]:
    yield make_console(cloud, api_for(cloud), browser)


def text_of(report: Any) -> str:
    return str(report.saved["text"])


def test_the_list_shows_each_segment_with_its_size_and_their_overlap(console: Console) -> None:
    steps = [
        {"waitFor": "document.querySelector('[data-profiles]') !== null"},
        {"waitFor": "document.querySelector('[data-testid=overlap]') !== null"},
        {"eval": "document.querySelector('main').innerText", "as": "text"},
        {"eval": "document.querySelector('[data-profiles]').dataset.profiles", "as": "size"},
    ]
    report = console.open("/segments", steps, screenshot="segments-list")
    assert_clean(report)
    size = console.api.admin("GET", f"/v1/segments/{console.demo['segmentId']}").body["size"]
    assert size >= 1 and report.saved["size"] == str(size)
    assert "Recipe readers" in text_of(report) and "Overlap" in text_of(report)


def test_a_segment_page_shows_its_definition_sizes_and_versions(console: Console) -> None:
    steps = [{"eval": "document.querySelector('main').innerText", "as": "text"}]
    report = console.open(f"/segments/{console.demo['segmentId']}", steps, screenshot="segment-page")
    assert_clean(report)
    text = text_of(report)
    assert "Recipe readers" in text and "Size over time" in text and "Versions" in text
    assert "viewed a page where path starts with /recipes at least 2 times in the last 14 days" in text


def test_a_segment_built_in_the_builder_previews_its_size_and_is_saved_as_built(console: Console) -> None:
    steps: list[dict[str, Any]] = [
        {"fill": ["input[name=name]", "Recipe readers with an email"]},
        {"fill": ["input[name=rule-0-where-0-value]", "/recipes"]},
        {"fill": ["input[name=rule-0-times]", "2"]},
        {"fill": ["input[name=rule-0-days]", "14"]},
        {"click": "button:has-text('+ Trait')"},
        {"fill": ["input[name=rule-1-trait]", "email"]},
        {"select": ["select[name=rule-1-op]", "exists"]},
        {"waitFor": PREVIEW_SETTLED, "timeout": 15000},
        {"eval": "document.querySelector('[data-preview-for]').dataset.previewFor", "as": "condition"},
        {"eval": "document.querySelector('[data-preview-count]').dataset.previewCount", "as": "count"},
        {"screenshot": "build/test-output/console/segment-builder.png"},
        {"click": "button[type=submit]"},
        {"waitFor": "/^#\\/segments\\/[^/]+$/.test(location.hash) && location.hash !== '#/segments/new'"},
        {"waitFor": "document.querySelector('main h1')?.innerText === 'Recipe readers with an email'"},
        {"eval": "decodeURIComponent(location.hash.split('/')[2])", "as": "segmentId"},
    ]
    report = console.open("/segments/new", steps, screenshot="segment-saved")
    assert_clean(report)
    assert json.loads(report.saved["condition"]) == BUILT
    preview = console.api.admin("POST", "/v1/segments/preview", {"condition": BUILT})
    assert preview.status == 200, preview.body
    assert int(report.saved["count"]) == preview.body["count"] == 1  # Ada read three recipes; Ben one
    saved = console.api.admin("GET", f"/v1/segments/{report.saved['segmentId']}")
    assert saved.status == 200 and saved.body["condition"] == BUILT
    assert saved.body["name"] == "Recipe readers with an email"


def test_the_builder_opens_a_saved_segment_for_editing(console: Console) -> None:
    steps = [
        {"waitFor": PREVIEW_SETTLED, "timeout": 15000},
        {"eval": "document.querySelector('input[name=rule-0-where-0-value]').value", "as": "path"},
        {"eval": "document.querySelector('[data-preview-count]').dataset.previewCount", "as": "count"},
    ]
    report = console.open(f"/segments/{console.demo['segmentId']}/edit", steps, screenshot="segment-edit")
    assert_clean(report)
    assert report.saved["path"] == "/recipes"
    assert report.saved["count"] == "1"


def test_the_builder_is_usable_on_a_phone(console: Console) -> None:
    steps = [
        {"click": "button:has-text('+ Environment')"},
        {"click": "input[name=rule-1-value][value=mobile]"},
        {"waitFor": PREVIEW_SETTLED, "timeout": 15000},
        {"eval": "document.documentElement.scrollWidth <= window.innerWidth + 1", "as": "fits"},
    ]
    report = console.open("/segments/new", steps, screenshot="segment-builder-phone", phone=True)
    assert_clean(report)
    assert report.saved["fits"] is True
