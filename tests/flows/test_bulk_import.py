"""A bulk contact import through the whole local cloud, as `make dev DEMO=1` runs it: `cxm import` uploads the file
in parts, the job imports chunks, and every consumer downstream (segments, content, journeys) processes what the
import announced. Every row is accounted for: imported or rejected with its reason, and nothing dropped or
dead-lettered on the way."""

from __future__ import annotations

import contextlib
import io
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bench.import_full import count_items
from infra import cli
from infra.local.demo import call, load
from tests.conftest import START

pytestmark = pytest.mark.slow

ROWS = 2_000
CITY_EVERY = 50  # every 50th contact lives in Amsterdam: a segment with a journey
BAD_EMAIL = {8, 258, 1_258}  # rows (1-based, as the job reports them)
BAD_CONSENT = {100}
NO_EMAIL = {500}
DUPLICATE = 1_001  # the same person as the row before it


def contacts(path: Path) -> tuple[Path, dict[str, str]]:
    """The file, and the city of each distinct person in it (their last row wins)."""
    lines = ["email,firstName,city,consent.email_marketing,answers.q1"]
    people: dict[str, str] = {}
    for row in range(1, ROWS + 1):
        email = f"bulk-{row}@example.com"
        if row in BAD_EMAIL:
            email = f"bulk-{row}-at-example.com"
        elif row in NO_EMAIL:
            email = ""
        elif row == DUPLICATE:
            email = f"bulk-{row - 1}@example.com"
        consent = "perhaps" if row in BAD_CONSENT else ("yes" if row % 3 else "no")
        city = "Amsterdam" if row % CITY_EVERY == 0 else f"City {row % 7}"
        lines.append(f"{email},Name {row},{city},{consent},{1 + row % 7}")
        if row not in BAD_EMAIL | BAD_CONSENT | NO_EMAIL:
            people[email] = city
    path.write_text("\n".join(lines) + "\n")
    return path, people


@pytest.fixture(scope="module")
def cloud() -> Iterator[Any]:
    from infra.local.cloud import LocalCloud

    with LocalCloud(start=START, stage=f"bulk{uuid.uuid4().hex[:6]}") as running:
        yield running


def test_every_imported_row_reaches_every_consumer_or_is_reported(
    cloud: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    admin = cloud.create_key("admin", "ops", "tests")
    load(cloud.url, admin)  # the demo definitions of `make dev DEMO=1`
    amsterdam = call(
        cloud.url,
        "POST",
        "/v1/segments",
        admin,
        {"name": "Amsterdam", "condition": {"trait": "city", "op": "equals", "value": "Amsterdam"}},
    )
    call(
        cloud.url,
        "POST",
        "/v1/journeys",
        admin,
        {
            "name": "Welcome, Amsterdam",
            "trigger": {"segmentEntered": amsterdam["segmentId"]},
            "waitSeconds": 86_400,
            "email": {"subject": "Hi {{firstName}}", "html": "<p>Hi {{firstName}}</p>", "text": "Hi {{firstName}}"},
        },
    )
    cloud.settle()
    before = {name: stats.delivered for name, stats in cloud.pump.stats.items()}

    source, people = contacts(tmp_path / "contacts.csv")
    monkeypatch.setenv("CXM_URL", cloud.url)
    monkeypatch.setenv("CXM_ADMIN_KEY", admin)
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        assert cli.main(["import", str(source), "--part-bytes", "20000", "--poll", "0.2"]) == 0
    cloud.settle(timeout=1200, quiet_for=0.5)  # 2,000 rows through every consumer: minutes on a loaded machine

    import_id = out.getvalue().split(":", 1)[0].removeprefix("import ").strip()
    status = call(cloud.url, "GET", f"/v1/imports/{import_id}?limit=1000", admin)
    rejected = BAD_EMAIL | BAD_CONSENT | NO_EMAIL
    assert status["status"] == "completed" and status["rows"] == ROWS and status["chunksDone"] == status["chunks"]
    assert (status["created"], status["updated"], status["unchanged"], status["rejected"]) == (
        ROWS - len(rejected),  # the duplicate row counts as created: it went into the profile its twin created
        0,
        0,
        len(rejected),
    )
    reasons = {r["row"]: r["reasons"] for r in status["rejectedRows"]}
    assert set(reasons) == rejected
    assert all(reasons[row][0].startswith("email:") for row in BAD_EMAIL | NO_EMAIL), reasons
    assert reasons[100][0].startswith("consent.email_marketing:"), reasons

    # identity: one profile per person, the duplicate row merged into its twin
    assert count_items(cloud.region, cloud.table_name("identity", "profiles"), "PROFILE") == len(people)
    twin = call(cloud.url, "GET", f"/v1/profiles?email=bulk-{DUPLICATE - 1}@example.com", admin)
    assert twin["traits"]["firstName"] == f"Name {DUPLICATE}"  # the later row wins

    # downstream: segments evaluated every new profile once, content and journeys got every segment entry
    delivered = {name: stats.delivered - before.get(name, 0) for name, stats in cloud.pump.stats.items()}
    entered = sum(city == "Amsterdam" for city in people.values())
    assert entered == ROWS // CITY_EVERY - 3  # rows 100 and 500 were rejected, row 1,000's person moved (row 1,001)
    assert delivered["identity/import-chunk"] == status["chunks"]
    assert delivered["segments/activity-recorded"] == len(people)
    # content follows segment entries and score changes: the demo's engagement plan gives every address 5 points
    assert delivered["content/segment-changed"] == entered + len(people)
    assert delivered["journeys/segment-changes"] == entered
    assert count_items(cloud.region, cloud.table_name("segments", "segments"), "ROLLUP") == len(people)
    running = [e for e in cloud.executions("RUNNING") if "journey" in e["stateMachineArn"]]
    assert len(running) == entered  # each waits a day before its welcome mail
    assert cloud.dead_letters() == {}
    assert all(stats.failed == 0 for stats in cloud.pump.stats.values())
