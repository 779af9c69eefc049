"""A journey's analytics per version and node: entered, completed, waiting now, exited, failed, branches, sends,
human opens and clicks, goal conversions per branch and against the holdout."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from services.common import clock
from services.common.experiments import statistics
from services.journeys.domain.overview import journeys_overview, last_days
from services.journeys.ports import JourneyStore
from services.journeys.use_cases.counting import JOURNEY_LEVEL

NODE_COUNTERS = (
    "entered",
    "completed",
    "failed",
    "exited",
    "sent",
    "skipped",
    "deferred",
    "sendFailed",
    "delivered",
    "opened",
    "clicked",
    "unsubscribed",
)


def analytics(journey_id: str, repo: JourneyStore) -> dict[str, Any]:
    versions: dict[int, dict[str, Any]] = defaultdict(lambda: {"nodes": {}, "journey": {}})
    for key, counters in repo.stats(journey_id).items():
        version_text, _, node = key.partition("#")
        version = int(version_text.removeprefix("v"))
        if node == JOURNEY_LEVEL:
            entered = counters.get("entered", 0)
            goal = counters.get("goal", 0)
            versions[version]["journey"] = {
                "entered": entered,
                "completed": counters.get("completed", 0),
                "holdout": counters.get("holdout", 0),
                "exited": counters.get("exited", 0) + counters.get("archived", 0) + counters.get("erased", 0),
                "failed": counters.get("failed", 0),
                "converted": goal,
                "active": entered
                - sum(
                    counters.get(k, 0)
                    for k in ("completed", "holdout", "exited", "archived", "erased", "failed", "goal")
                ),
                "conversionRate": round(goal / entered, 4) if entered else None,
            }
            continue
        view: dict[str, Any] = {c: counters.get(c, 0) for c in NODE_COUNTERS}
        view["waitingNow"] = view["entered"] - view["completed"] - view["failed"] - view["exited"]
        for counter in ("claimed", "empty"):  # claimCode nodes: a code claimed, the pool found empty
            if counter in counters:
                view[counter] = counters[counter]
        branches: dict[str, dict[str, Any]] = {}
        for name, value in counters.items():
            if name.startswith("branch:"):
                branches.setdefault(name[7:], {"taken": 0, "converted": 0})["taken"] = value
            elif name.startswith("goal:"):
                branches.setdefault(name[5:], {"taken": 0, "converted": 0})["converted"] = value
        for branch in branches.values():
            branch["conversionRate"] = round(branch["converted"] / branch["taken"], 4) if branch["taken"] else None
        view["branches"] = branches
        versions[version]["nodes"][node] = view
    for version, view in versions.items():
        _experiments(journey_id, version, view["nodes"], repo)
    return {"journeyId": journey_id, "versions": [{"version": v, **versions[v]} for v in sorted(versions)]}


def _experiments(journey_id: str, version: int, nodes: dict[str, Any], repo: JourneyStore) -> None:
    """A split is an A/B/n test of its branches, a holdout a test of the journey against doing nothing: each gets
    the experiment figures content reports (users = runs down the branch, conversions = goals reached; the first
    branch, or the holdout, is the control), with the sample ratio check against the split's percentages."""
    stored = repo.version(journey_id, version) or {}
    for node in (stored.get("definition") or {}).get("nodes", []):
        view = nodes.get(node.get("id"))
        if view is None or node.get("type") not in ("split", "holdout"):
            continue
        if node["type"] == "split":
            names = [str(i) for i in range(len(node["branches"]))]
            weights = [float(b["percent"]) for b in node["branches"]]
        else:
            names, weights = ["holdout", "continue"], [float(node["percent"]), 100 - float(node["percent"])]
        counts = [view["branches"].get(n, {"taken": 0, "converted": 0}) for n in names]
        observed = [
            statistics.VariantCounts(int(c["taken"]), min(int(c["converted"]), int(c["taken"]))) for c in counts
        ]
        figures = statistics.results(observed, weights).as_json()
        for name, row in zip(names, figures["variants"], strict=True):
            row["branch"] = name
        view["experiment"] = figures


def profile_runs(profile_id: str, repo: JourneyStore) -> list[dict[str, Any]]:
    """A profile's runs, newest first, each with the messages it sent (emails, SMS, webhook calls with their
    payload and the answer), so a failed hand-off can be read and replayed by hand."""
    records = repo.profile_records(profile_id)
    sends: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        if record["kind"] == "send" and record.get("runId"):
            message = {k: v for k, v in record.items() if k not in ("kind", "runId", "journeyId")}
            sends[record["runId"]].append(message)
    runs = [r for r in records if r["kind"] == "run"]
    runs.sort(key=lambda r: str(r.get("enteredAt", "")), reverse=True)
    return [
        {
            **{k: v for k, v in run.items() if k not in ("kind", "runJourney", "runState")},
            "messages": sorted(sends.get(run["runId"], []), key=lambda m: str(m.get("claimedAt", ""))),
        }
        for run in runs
    ]


def overview(repo: JourneyStore, days: int) -> dict[str, Any]:
    """The console overview: active journeys, sends per UTC day and channel (each send counted once, with its
    node's `sent` counter, in one write)."""
    wanted = last_days(clock.now().date(), days)
    return journeys_overview(repo.journeys(), repo.sends_per_day(wanted[0], wanted[-1]), wanted)
