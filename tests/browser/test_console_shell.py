"""The console's frame: served at /console/, signs in with the local admin key from `make dev`'s link, refuses a
wrong key with the sign-in form, and every page of the navigation opens without console errors."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.conftest import Browser, drive
from tests.browser.console import SCREENSHOTS, Console, assert_clean, make_console
from tests.conftest import api_for


@pytest.fixture(scope="module")
def console(cloud: Any, browser: Browser) -> Iterator[Console]:
    yield make_console(cloud, api_for(cloud), browser)


def test_the_console_is_served_with_its_local_configuration(console: Console) -> None:
    config = console.api.request("GET", "/console/config.json")
    assert config.status == 200 and config.body == {"apiUrl": "", "auth": {"kind": "adminKey"}, "local": True}
    page = console.api.request("GET", "/console/")
    assert page.status == 200 and page.headers["content-type"].startswith("text/html")
    assert "/console/assets/" in page.body
    assert console.api.request("GET", "/console/assets/../../pyproject.toml").status == 404


def test_a_wrong_key_leaves_the_marketer_at_the_sign_in_form(console: Console) -> None:
    report = drive(
        console.browser,
        console.url,
        [
            {"goto": "/console/"},
            {"fill": ["input[type=password]", "ak_not_a_key"]},
            {"click": "button[type=submit]"},
            {"waitFor": "document.querySelector('[role=alert]') !== null", "timeout": 10000},
            {"eval": "document.body.innerText", "as": "text"},
            {"screenshot": str(SCREENSHOTS / "sign-in-refused.png")},
        ],
    )
    assert "Admin key" in report.saved["text"] and "This key was refused" in report.saved["text"]


def test_the_overview_opens_signed_in_on_a_phone(console: Console) -> None:
    report = console.open("/", screenshot="shell-phone", phone=True)
    assert_clean(report)


FOCUSED = "document.activeElement ? document.activeElement.textContent.trim() : ''"


def test_the_navigation_works_from_the_keyboard(console: Console) -> None:
    """Tab moves through the header and the navigation's links in order, Enter follows one: no mouse needed."""
    steps: list[dict[str, Any]] = []
    for n in range(8):
        steps += [{"keys": ["Tab"]}, {"eval": FOCUSED, "as": f"focus{n}"}]
    report = console.open("/", steps, screenshot="keyboard")
    reached = [report.saved[f"focus{n}"] for n in range(8)]
    assert reached.index("Overview") < reached.index("Profiles") < reached.index("Segments"), reached
    tabs_to_segments = reached.index("Segments") + 1
    followed = console.open(
        "/",
        [
            {"keys": ["Tab"] * tabs_to_segments + ["Enter"]},
            {"waitFor": "document.querySelector('main h1')?.textContent === 'Segments'"},
            {"eval": "location.hash", "as": "hash"},
        ],
        screenshot="keyboard-segments",
    )
    assert followed.saved["hash"] == "#/segments"
    assert_clean(followed)
