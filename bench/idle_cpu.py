"""Idle CPU of `make dev`: start `python -m infra.local`, wait until it is ready, then sample its CPU time.

Reproducible on its own: `make bench ARGS="idle_cpu"` (options `seconds=60 warmup=5 demo=0`). The figure is the
process's user + system CPU time (/proc/<pid>/stat) over the window, as a share of one core.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.table import render

ROOT = Path(__file__).resolve().parent.parent
READY = "CxM is running locally"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, in seconds (fields 14 and 15 of /proc/<pid>/stat)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()  # the command name may contain spaces
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def idle_share(seconds: float = 60.0, warmup: float = 5.0, demo: bool = False) -> tuple[float, float]:
    """(share of one core while idle, seconds until ready) for a fresh `python -m infra.local`."""
    # A scratch working directory, so the run does not overwrite the developer's .cxm/local.json.
    with tempfile.TemporaryDirectory(prefix="cxm-idle-") as cwd:
        env = {**os.environ, "PYTHONPATH": str(ROOT), "CXM_PORT": str(_free_port()), "DEMO": "1" if demo else ""}
        started = time.monotonic()
        process = subprocess.Popen(
            [sys.executable, "-m", "infra.local"],
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        try:
            assert process.stdout is not None
            for line in process.stdout:
                if READY in line:
                    break
            else:
                raise RuntimeError(f"python -m infra.local exited ({process.wait()}) before it was ready")
            ready_after = time.monotonic() - started
            time.sleep(warmup)
            cpu_before, wall_before = cpu_seconds(process.pid), time.monotonic()
            time.sleep(seconds)
            cpu_after, wall_after = cpu_seconds(process.pid), time.monotonic()
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
    return (cpu_after - cpu_before) / (wall_after - wall_before), ready_after


def run(seconds: str = "60", warmup: str = "5", demo: str = "0") -> str:
    share, ready_after = idle_share(float(seconds), float(warmup), demo not in ("", "0"))
    return render(
        f"Idle CPU of make dev (python -m infra.local), {float(seconds):g} s after a {float(warmup):g} s warm-up",
        ["process", "ready after s", "CPU % of one core"],
        [["python -m infra.local" + (" --demo" if demo not in ("", "0") else ""), ready_after, share * 100]],
        note=f'Command: make bench ARGS="idle_cpu seconds={seconds} warmup={warmup} demo={demo}". utime + stime from '
        "/proc/<pid>/stat; target < 2 %. Idle still runs the scheduled rules (segments' sweep every minute, its "
        "first run a cold start): a window that starts within a minute of start-up includes that first run.",
    )
