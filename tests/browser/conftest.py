"""Browser tests: Debian's headless Chromium driven by playwright-core (tests/browser/drive.mjs) against the local
cloud, which serves the API, the tracker (`/v1/tracker.js`) and the demo site (`/demo/`) on one origin."""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from infra.local.demo import DEMO_WRITE_KEY
from tests.conftest import Api

ROOT = Path(__file__).resolve().parents[2]
DRIVER = Path(__file__).with_name("drive.mjs")
CHROMIUM = os.environ.get("CXM_CHROMIUM", "/usr/bin/chromium")
SCENARIO_TIMEOUT_S = 60


def browser_problem() -> str | None:
    """Why the browser tests cannot run here, or None. They fail (never skip) with this message."""
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        return (
            f"Chromium is not installed at {CHROMIUM}: run `make browser` (as root it runs "
            "`apt-get install chromium`; `make test` does it first). Playwright's own browser download does not work "
            "here."
        )
    if shutil.which("node") is None:
        return "Node.js is not on PATH: the browser tests drive Chromium from Node (tests/browser/drive.mjs)."
    if not (ROOT / "node_modules" / "playwright-core").is_dir():
        return "node_modules/playwright-core is missing: run `make install` (npm ci)."
    return None


class Browser:
    """One headless Chromium (tests/browser/drive.mjs) for the session; runs scenarios one at a time."""

    def __init__(self) -> None:
        # A file, not a pipe, so the driver never blocks on it; closed in close().
        self._stderr = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115
        self._process = subprocess.Popen(
            ["node", str(DRIVER)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
            bufsize=1,
        )
        self._lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self._process.stdout is not None
        for line in self._process.stdout:
            self._lines.put(line)
        self._lines.put(None)  # the driver ended

    def run(self, scenario: dict[str, Any]) -> dict[str, Any]:
        if self._process.poll() is not None:
            raise AssertionError(f"the browser driver is not running (exit {self._process.returncode}): {self._log()}")
        assert self._process.stdin is not None
        try:
            self._process.stdin.write(json.dumps(scenario) + "\n")
            self._process.stdin.flush()
            line = self._lines.get(timeout=SCENARIO_TIMEOUT_S)
        except queue.Empty:
            self._process.kill()
            raise AssertionError(f"the browser driver did not answer in {SCENARIO_TIMEOUT_S}s: {self._log()}") from None
        except BrokenPipeError:
            line = None
        if line is None:
            self._process.wait(timeout=15)
            raise AssertionError(f"the browser driver stopped (exit {self._process.returncode}): {self._log()}")
        return dict(json.loads(line))

    def _log(self) -> str:
        self._stderr.seek(0)
        return self._stderr.read()[-3000:]

    def close(self) -> None:
        if self._process.poll() is None:
            assert self._process.stdin is not None
            self._process.stdin.close()
            try:
                self._process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._stderr.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    problem = browser_problem()
    if problem:
        pytest.fail(problem, pytrace=False)
    running = Browser()
    yield running
    running.close()


@dataclass
class Report:
    """What drive.mjs saw: saved values, the API requests the page made (with their fate) and the console."""

    saved: dict[str, Any]
    requests: list[dict[str, Any]]
    console: list[dict[str, str]]

    def batches(self, outcome: str = "ok") -> list[dict[str, Any]]:
        """Bodies of the `/v1/batch` requests that succeeded (`ok`), failed (`failed`) or all (`any`)."""
        found = []
        for request in self.requests:
            if request["path"] != "/v1/batch":
                continue
            ok = 200 <= request.get("status", 0) < 300
            if outcome == "any" or (outcome == "ok") == ok:
                found.append(request["body"])
        return found

    def messages(self, outcome: str = "ok") -> list[dict[str, Any]]:
        return [message for body in self.batches(outcome) for message in body["batch"]]

    def cookie(self, saved_as: str, name: str = "cxm_aid") -> dict[str, Any] | None:
        return next((c for c in self.saved[saved_as] if c["name"] == name), None)


def drive(browser: Browser, base_url: str, steps: list[dict[str, Any]], visitor: str | None = None) -> Report:
    """Run `steps` in a new page: a new visitor (fresh cookies and storage), or the returning `visitor` named."""
    scenario: dict[str, Any] = {"baseUrl": base_url, "steps": steps}
    if visitor is not None:
        scenario["context"] = visitor
    report = browser.run(scenario)
    if not report["ok"]:
        step = steps[report["step"]] if 0 <= report.get("step", -1) < len(steps) else None
        raise AssertionError(
            f"browser step {report.get('step')} {json.dumps(step)} failed: {report['error']}\n"
            f"console: {report['console']}\npage errors: {report.get('pageErrors')}\n"
            f"requests: {json.dumps(report['requests'])[:3000]}"
        )
    return Report(report["saved"], report["requests"], report["console"])


@dataclass
class Site:
    """The local cloud with the demo site's write key (as `make dev DEMO=1` creates it) and an admin key."""

    cloud: Any
    api: Api
    browser: Browser

    @property
    def url(self) -> str:
        return str(self.cloud.url)

    def drive(self, steps: list[dict[str, Any]], visitor: str | None = None) -> Report:
        return drive(self.browser, self.url, steps, visitor)

    def profile(self, **lookup: str) -> dict[str, Any]:
        """The admin view of the profile found by `email=`, `userId=` or `anonymousId=`, once the cloud settled."""
        self.cloud.settle()
        (kind, value), *_ = lookup.items()
        reply = self.api.admin("GET", f"/v1/profiles?{urlencode({kind: value})}")
        assert reply.status == 200, reply.body
        return dict(reply.body)

    def activity(self, **lookup: str) -> list[dict[str, Any]]:
        """Everything recorded for that profile (its whole timeline, newest first)."""
        profile_id = self.profile(**lookup)["profileId"]
        reply = self.api.admin("GET", f"/v1/profiles/{profile_id}/timeline?limit=200")
        assert reply.status == 200, reply.body
        return list(reply.body["items"])


@pytest.fixture(scope="module")
def site(browser: Browser, cloud: Any) -> Site:
    write_key = cloud.create_key("write", "demo-site", "demo write key", DEMO_WRITE_KEY)
    admin_key = cloud.create_key("admin", "ops", "browser tests")
    return Site(cloud, Api(cloud.url, write_key, admin_key), browser)
