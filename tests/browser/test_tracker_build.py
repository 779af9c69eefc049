"""The minified tracker served at `GET /v1/tracker.js` is the current build of web/tracker/tracker.js, under 10 KB."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "web" / "tracker" / "tracker.js"
BUILT = ROOT / "services" / "events" / "static" / "tracker.min.js"
LIMIT = 10 * 1024


def test_the_checked_in_minified_tracker_is_current_and_under_10_kb(tmp_path: Path) -> None:
    if shutil.which("node") is None or not (ROOT / "node_modules" / "terser").is_dir():
        pytest.fail("Node.js and node_modules/terser are needed to build the tracker: run `make install`.")
    rebuilt = tmp_path / "tracker.min.js"
    done = subprocess.run(
        ["node", "web/tracker/build.mjs", str(rebuilt)], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert BUILT.read_bytes() == rebuilt.read_bytes(), "services/events/static/tracker.min.js is stale: `make tracker`"
    assert len(BUILT.read_bytes()) < LIMIT
    assert len(BUILT.read_bytes()) < len(SOURCE.read_bytes()) / 2
