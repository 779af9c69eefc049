"""Cold-start proxy: import time of each function's handler module in a fresh interpreter, next to bare boto3."""

from __future__ import annotations

import statistics
import subprocess
import sys

from bench.table import render
from infra import catalog

RUNS = 5
_SNIPPET = "import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"


def import_seconds(module: str) -> float:
    samples = []
    for _ in range(RUNS):
        out = subprocess.run(
            [sys.executable, "-c", _SNIPPET.format(module=module)],
            check=True,
            capture_output=True,
            text=True,
            env={"PYTHONPATH": ".", "PATH": "", "AWS_DEFAULT_REGION": "us-east-1"},
        )
        samples.append(float(out.stdout.strip().splitlines()[-1]))
    return statistics.median(samples)


def run() -> str:
    baseline = import_seconds("boto3")
    rows: list[list[object]] = [["(bare) import boto3", baseline * 1000, 1.0]]
    seen: set[str] = set()
    for service in catalog.SERVICES:
        for function in service.functions:
            module = function.handler.rpartition(".")[0]
            if module in seen:
                continue
            seen.add(module)
            seconds = import_seconds(module)
            rows.append([f"{service.name}.{function.name}", seconds * 1000, seconds / baseline])
    return render(
        "Handler import time (cold-start proxy), median of 5 fresh interpreters",
        ["function", "import ms", "× boto3"],
        rows,
        note="Command: make bench. Includes importing boto3 itself where the handler does.",
    )
