"""Bulk contact import through the whole local cloud, as `make dev DEMO=1` runs it: `cxm import` uploads the CSV in
1 MB parts, the asynchronous job imports 500-row chunks, and every consumer is subscribed, with the background pump
and a clock that follows the wall clock (so the every-minute sweeps run too). Besides the demo definitions there is
a segment on a trait that 2% of the contacts have (`city` = `City 7`) with a welcome journey: segments evaluates
every new profile, and for those 2% records a transition, content updates its read model and journeys starts an
execution (which then waits a day).

Then the same file size through identity alone (the other services' rules disabled), for comparison, each in a
fresh local cloud. Every row is accounted for: the job's counts, the profiles in identity's table, one segments
evaluation and one rollup per profile, one content update and one journey per segment entry, no dead letters.

`make bench ARGS="import_full"` imports 100,000 rows; `make bench ARGS="import_full rows=20000 identity_rows=0"`
imports 20,000 and skips the comparison.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import os
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.identity_import import _others_subscribed, contacts
from bench.table import render

ROWS = 100_000
START = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
CITY = "City 7"  # bench.identity_import.contacts gives row i the city `City {i % 50}`


@dataclass
class Outcome:
    label: str
    rows: int
    megabytes: float
    imported: float  # seconds until the job reported completed
    idle: float  # seconds until every queue was empty
    status: dict[str, Any]
    profiles: int
    rollups: int
    dead_letters: int
    executions: int  # journey executions started (and waiting)
    consumers: list[tuple[str, int, int, int, float | None]] = field(default_factory=list)
    all_consumers: bool = True

    def delivered(self, subscription: str) -> int:
        return next((d for name, d, *_ in self.consumers if name == subscription), 0)

    @property
    def entered(self) -> int:
        return sum(1 for i in range(self.rows) if f"City {i % 50}" == CITY and i % 1000 != 999)

    @property
    def accounted(self) -> bool:
        counted = sum(int(self.status[k]) for k in ("created", "updated", "unchanged", "rejected"))
        job = counted == self.rows and self.status["status"] == "completed"
        identity = self.profiles == int(self.status["created"]) and self.dead_letters == 0
        if not self.all_consumers:
            return job and identity
        downstream = (
            self.delivered("segments/activity-recorded") == self.profiles == self.rollups
            and self.delivered("content/segment-changed") == self.entered
            and self.delivered("journeys/segment-changes") == self.entered == self.executions
        )
        return job and identity and downstream


def count_items(region: str, table_name: str, sort_key: str) -> int:
    """Items of one kind (by sort key) in a local table, read from moto directly (a scan would page 100,000s)."""
    from moto.dynamodb.models import dynamodb_backends

    from infra.local.resources import ACCOUNT

    table = dynamodb_backends[ACCOUNT][region].get_table(table_name)
    return sum(1 for by_range in list(table.items.values()) for key in list(by_range) if key.value == sort_key)


@contextlib.contextmanager
def _admin_env(url: str, key: str) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in ("CXM_URL", "CXM_ADMIN_KEY")}
    os.environ["CXM_URL"], os.environ["CXM_ADMIN_KEY"] = url, key
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def import_through_local_cloud(rows: int, all_consumers: bool, folder: str) -> Outcome:
    from infra import cli
    from infra.local.cloud import LocalCloud
    from infra.local.demo import call, load

    label = "whole platform" if all_consumers else "identity alone"
    stage = f"bench-{'all' if all_consumers else 'identity'}"
    with LocalCloud(start=START, follow_real_time=True, stage=stage) as cloud:
        admin = cloud.create_key("admin", "bench")
        if all_consumers:
            load(cloud.url, admin)  # the demo definitions of `make dev DEMO=1`
            segment = call(
                cloud.url,
                "POST",
                "/v1/segments",
                admin,
                {"name": CITY, "condition": {"trait": "city", "op": "equals", "value": CITY}},
            )
            call(cloud.url, "POST", "/v1/journeys", admin, {
                "name": f"Welcome to {CITY}", "trigger": {"segmentEntered": segment["segmentId"]},
                "waitSeconds": 86_400,
                "email": {"subject": "Hi {{firstName}}", "html": "<p>Hi {{firstName}}</p>", "text": "Hi {{firstName}}"},
            })  # fmt: skip
            cloud.settle()
        else:
            _others_subscribed(cloud, enabled=False)
        source = contacts(Path(folder) / f"{stage}-{rows}.csv", rows, prefix=stage)
        assert cloud.pump is not None
        output = io.StringIO()
        started = time.monotonic()
        with (
            _admin_env(cloud.url, admin),
            contextlib.redirect_stdout(output),
            contextlib.redirect_stderr(io.StringIO()),
        ):
            cli.main(["import", str(source), "--poll", "1", "--timeout", "7200"])
        imported = time.monotonic() - started
        cloud.settle(timeout=7200, quiet_for=1.0)
        idle = time.monotonic() - started
        import_id = output.getvalue().split(":", 1)[0].removeprefix("import ").strip()
        status = call(cloud.url, "GET", f"/v1/imports/{import_id}?limit=5", admin)
        consumers = [
            (name, s.delivered, s.failed, s.batches, None if s.last_delivery is None else s.last_delivery - started)
            for name, s in cloud.pump.stats.items()
            if s.delivered or s.failed
        ]
        return Outcome(
            label=label,
            rows=rows,
            megabytes=source.stat().st_size / 1e6,
            imported=imported,
            idle=idle,
            status=status,
            profiles=count_items(cloud.region, cloud.table_name("identity", "profiles"), "PROFILE"),
            rollups=count_items(cloud.region, cloud.table_name("segments", "segments"), "ROLLUP"),
            dead_letters=sum(len(v) for v in cloud.dead_letters().values()),
            executions=sum(1 for e in cloud.executions() if "journey" in e["stateMachineArn"]),
            consumers=consumers,
            all_consumers=all_consumers,
        )


def run(rows: int | str = ROWS, identity_rows: int | str | None = None) -> str:
    total = int(rows)
    alone_rows = total if identity_rows is None else int(identity_rows)
    with tempfile.TemporaryDirectory() as folder:
        outcomes = [import_through_local_cloud(total, all_consumers=True, folder=folder)]
        if alone_rows:
            outcomes.append(import_through_local_cloud(alone_rows, all_consumers=False, folder=folder))
    summary = render(
        "Contact import through the local cloud (`cxm import`: 1 MB parts, a job of 500-row chunks, the pump)",
        ["consumers", "file", "job done", "rows/s", "all queues idle", "rows/s end to end", "created",
         "rejected", "profiles", "rollups", "journeys", "dead letters", "every row accounted"],
        [[o.label, f"{o.rows:,} rows, {o.megabytes:.1f} MB", f"{o.imported:,.0f} s", f"{o.rows / o.imported:,.0f}",
          f"{o.idle:,.0f} s", f"{o.rows / o.idle:,.0f}", int(o.status["created"]), int(o.status["rejected"]),
          o.profiles, o.rollups, o.executions, o.dead_letters, "yes" if o.accounted else "NO"] for o in outcomes],
        note=(
            "1 row in 1,000 has a bad email (rejected with its reason). 'job done' is when the job reported every "
            "chunk imported; 'all queues idle' is when every consumer had processed what the import announced. "
            f"Accounted: job counts = rows, a profile per created row; whole platform also one segments evaluation "
            f"and rollup per profile, and one content update and journey per contact in {CITY} "
            f"({outcomes[0].entered:,})."
        ),
    )  # fmt: skip
    full = outcomes[0]
    per_consumer = render(
        f"Per consumer, {full.label} ({full.rows:,} rows)",
        ["subscription", "messages", "failed", "batches", "last delivery"],
        [[name, delivered, failed, batches, "-" if at is None else "before" if at < 0 else f"{at:,.0f} s"]
         for name, delivered, failed, batches, at in full.consumers],
        note="Time from the start of the upload ('before': the demo set-up); failed = records retried (a record that "
        "keeps failing ends in a DLQ).",
    )  # fmt: skip
    return summary + "\n" + per_consumer
