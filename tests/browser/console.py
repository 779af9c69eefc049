"""The marketer's console (web/console, served by the local cloud at /console/) in headless Chromium: a local cloud
with `make dev DEMO=1`'s data and a few visitors, a signed-in console, and what every console test checks of a page
(no console errors, no serious or critical accessibility violations, a screenshot under build/test-output/console)."""

from __future__ import annotations

import json
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infra.local.demo import load
from tests.browser.conftest import ROOT, Browser, Report, drive
from tests.conftest import Api

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"
SCREENSHOTS = ROOT / "build" / "test-output" / "console"
SERIOUS = ("serious", "critical")
VISITORS = [  # (email, first name, pages read): enough traffic for every page to show real figures
    ("ada@example.com", "Ada", ["/recipes/pancakes", "/recipes/risotto", "/recipes/soup"]),
    ("ben@example.com", "Ben", ["/recipes/curry", "/products/kettle"]),
    ("cleo@example.com", "Cleo", ["/inspiration/spring", "/about"]),
]


def visit(api: Api, email: str, first_name: str, pages: list[str]) -> str:
    """A visitor reads pages anonymously, then the site's back-end identifies them (a verified email)."""
    anonymous_id = "console-" + email.split("@")[0]
    for path in pages:
        page = {"anonymousId": anonymous_id, "name": path, "properties": {"path": path}}
        reply = api.send("page", {**page, "context": {"userAgent": BROWSER}})  # a person's browser, not a machine
        assert reply.status == 200, reply.body
    traits = {"email": email, "firstName": first_name}
    reply = api.backend(
        "identify", {"anonymousId": anonymous_id, "userId": "user-" + first_name.lower(), "traits": traits}
    )
    assert reply.status == 200, reply.body
    return anonymous_id


@dataclass
class Console:
    """The console on a local cloud with demo data; `open` runs steps on a console page as a signed-in marketer."""

    cloud: Any
    api: Api
    browser: Browser
    demo: dict[str, str]
    reports: list[Report] = field(default_factory=list)

    @property
    def url(self) -> str:
        return str(self.cloud.url)

    def open(
        self, route: str, steps: list[dict[str, Any]] | None = None, *, screenshot: str, phone: bool = False
    ) -> Report:
        """Open `#<route>` signed in with the admin key, wait until the page has shown its data (no `Loading…`
        left), run `steps`, scan it with axe-core and save a full-page screenshot as `<screenshot>.png`."""
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        key = urllib.parse.quote(self.api.admin_key)
        prelude: list[dict[str, Any]] = [{"viewport": [390, 844]}] if phone else [{"viewport": [1280, 900]}]
        prelude += [
            {"goto": f"/console/#key={key}"},
            {"waitFor": "document.querySelector('nav') !== null"},
            {"goto": f"/console/#{route}"},
            {"waitFor": READY, "timeout": 15000},
        ]
        finale = [
            {"waitFor": READY, "timeout": 15000},
            {"axe": "axe"},
            {"screenshot": str(SCREENSHOTS / f"{screenshot}.png")},
        ]
        report = drive(self.browser, self.url, prelude + (steps or []) + finale)
        self.reports.append(report)
        return report


# A console page is ready when it has a heading and nothing says it is still loading.
READY = "document.querySelector('main h1') !== null && document.querySelector('[role=status]') === null"


def console_errors(report: Report) -> list[dict[str, str]]:
    """What the page wrote to the browser console as errors (a failed request shows here too)."""
    return [line for line in report.console if line["type"] == "error"]


def serious_violations(report: Report) -> list[dict[str, Any]]:
    return [v for v in report.saved.get("axe", []) if v["impact"] in SERIOUS]


def assert_clean(report: Report) -> None:
    """No console errors and no serious or critical accessibility violations on the page."""
    errors = console_errors(report)
    assert not errors, json.dumps(errors, indent=1)
    violations = serious_violations(report)
    assert not violations, json.dumps(violations, indent=1)


def make_console(cloud: Any, api: Api, browser: Browser) -> Console:
    demo = load(cloud.url, api.admin_key)
    for email, first_name, pages in VISITORS:
        visit(api, email, first_name, pages)
    cloud.settle()
    return Console(cloud, api, browser, demo)


__all__ = ["Console", "Path", "assert_clean", "console_errors", "make_console", "serious_violations", "visit"]
