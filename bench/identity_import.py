"""Bulk contact import on the local cloud: CSV rows through `cxm import` (upload in 1 MB parts, the asynchronous
job, chunks of 500 rows), with the background pump as `make dev` runs it.

Two measurements:
- identity alone: 100,000 rows, with the other services' rules on identity's events disabled for the run (so the
  figure is identity's: pointer claims, profile writes, PutEvents);
- the whole platform: a smaller file with every consumer subscribed, to show what the consumers of the announced
  events (segments evaluating each imported profile) add locally (`import_full` does this at full size).

`IDENTITY_IMPORT_ROWS=20000 make bench ARGS=identity_import` changes the size of the first file.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import boto3

from bench.table import render

ROWS = int(os.environ.get("IDENTITY_IMPORT_ROWS", "100000"))
PLATFORM_ROWS = int(os.environ.get("IDENTITY_IMPORT_PLATFORM_ROWS", "500"))


def contacts(path: Path, rows: int, prefix: str = "contact") -> Path:
    """Contacts as a CRM exports them: email, names, city, consent, 8 questionnaire answers; 1 row in 1,000 bad."""
    questions = [f"answers.q{i}" for i in range(1, 9)]
    with path.open("w") as out:
        out.write(",".join(["email", "firstName", "lastName", "city", "consent.email_marketing", *questions]) + "\n")
        for i in range(rows):
            email = f"{prefix}-{i}@example.com" if i % 1000 != 999 else f"{prefix}-{i}-example.com"
            answers = [str(1 + (i * (q + 3)) % 7) for q in range(8)]
            out.write(",".join([email, f"First{i}", f"Last{i}", f"City {i % 50}", "yes" if i % 3 else "no", *answers]))
            out.write("\n")
    return path


def _others_subscribed(cloud: Any, enabled: bool) -> None:
    """Enable or disable every rule of another service on the bus (identity's own rules stay as they are)."""
    events = boto3.client("events", region_name=cloud.region)
    for consumer in cloud.provisioned.consumers:
        if consumer.service != "identity":
            rule = cloud.names.rule(consumer.service, consumer.subscription)
            switch = events.enable_rule if enabled else events.disable_rule
            switch(Name=rule, EventBusName=cloud.names.bus())


def _measure(cloud: Any, folder: str, rows: int, label: str) -> list[Any]:
    from infra import cli

    source = contacts(Path(folder) / f"contacts-{rows}.csv", rows, prefix=label.replace(" ", "-"))
    output = io.StringIO()
    started = time.perf_counter()
    with contextlib.redirect_stdout(output), contextlib.redirect_stderr(io.StringIO()):
        cli.main(["import", str(source), "--poll", "1"])
    imported = time.perf_counter() - started
    cloud.settle(timeout=7200, quiet_for=1.0)
    drained = time.perf_counter() - started
    result = output.getvalue().splitlines()[0].partition(": ")[2]
    return [label, f"{rows:,} rows, {source.stat().st_size / 1e6:.1f} MB", f"{imported:,.0f} s",
            f"{rows / imported:,.0f}", f"{drained:,.0f} s", result]  # fmt: skip


def run() -> str:
    from infra.local.cloud import LocalCloud

    rows = []
    with tempfile.TemporaryDirectory() as folder, LocalCloud(start=dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)) as cloud:
        os.environ["CXM_URL"], os.environ["CXM_ADMIN_KEY"] = cloud.url, cloud.create_key("admin", "bench")
        try:
            _others_subscribed(cloud, enabled=False)
            rows.append(_measure(cloud, folder, ROWS, "identity alone"))
            _others_subscribed(cloud, enabled=True)
            rows.append(_measure(cloud, folder, PLATFORM_ROWS, "whole platform"))
        finally:
            for name in ("CXM_URL", "CXM_ADMIN_KEY"):
                os.environ.pop(name, None)
    return render(
        "Contact import on the local cloud (`cxm import`: 1 MB parts, a job of 500-row chunks)",
        ["consumers", "file", "import done", "rows/s", "all queues idle", "result"],
        rows,
        note=(
            "In-process moto: each new contact costs one conditional pointer claim (~2 ms of request handling "
            "locally) plus its share of batch writes and PutEvents; the pump runs one function at a time. With every "
            "consumer subscribed, segments evaluates each ProfileUpdated (a rollup read and write); the local cloud's "
            "SQS patch keeps each delivery independent of the backlog, so that column grows linearly with the file "
            "(`make bench ARGS=import_full` measures it at 100,000 rows). In AWS, chunks run in parallel."
        ),
    )
