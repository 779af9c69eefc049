"""Content-by-segment analytics: what each audience reads and clicks, per day, and its share of a topic's readers."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from services.content.ports import Analytics
from services.content.use_cases.published import Published

MAX_DAYS = 92


class BadRange(ValueError):
    pass


def days_between(start: str, end: str) -> list[str]:
    first, last = dt.date.fromisoformat(start), dt.date.fromisoformat(end)
    if last < first:
        raise BadRange("`to` is before `from`")
    if (last - first).days >= MAX_DAYS:
        raise BadRange(f"at most {MAX_DAYS} days at a time")
    return [(first + dt.timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]


def report(store: Analytics, start: str, end: str, by: str, published: Published) -> dict[str, Any]:
    """Rows per (audience, topic | item | link) over the range with their per-day figures; for topics, each
    audience's share of the topic's readers per day (how a topic moves from early adopters to a broader
    segment); for items, the top items per audience. `all` is every reader; `neutral` is the questionnaire's
    neutral pool (readers without a questionnaire segment)."""
    days = days_between(start, end)
    rows = [r for r in store.stats(days) if r["kind"] == by]
    totals: dict[tuple[str, str], dict[str, Any]] = {}
    for r in rows:
        key = (r["audience"], r["key"])
        row = totals.setdefault(
            key, {"audience": r["audience"], by: r["key"], "views": 0, "readers": 0, "clicks": 0, "days": {}}
        )
        for figure in ("views", "readers", "clicks"):
            row[figure] += r[figure]
        row["days"][r["day"]] = {f: r[f] for f in ("views", "readers", "clicks")}
    out: dict[str, Any] = {"from": start, "to": end, "by": by, "rows": sorted(totals.values(), key=_order(by))}
    if by == "topic":
        out["shareOfReaders"] = _shares(rows)
    if by == "item":
        titles = {i.id: i.title for i in published.items}
        top: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for row in out["rows"]:
            row["title"] = titles.get(row["item"])
            top[row["audience"]].append(row)
        out["topItems"] = {
            a: [
                {"item": r["item"], "title": r["title"], "views": r["views"], "readers": r["readers"]}
                for r in sorted(rs, key=lambda r: (-r["views"], r["item"]))[:10]
            ]
            for a, rs in sorted(top.items())
        }
    return out


def _order(by: str) -> Any:
    return lambda r: (r["audience"] == "all", r["audience"], -r["views"] - r["clicks"], r[by])


def _shares(rows: list[dict[str, Any]]) -> dict[str, dict[str, dict[str, float]]]:
    """topic → day → audience → its readers / all readers of the topic that day."""
    everyone = {(r["key"], r["day"]): r["readers"] for r in rows if r["audience"] == "all"}
    shares: dict[str, dict[str, dict[str, float]]] = defaultdict(lambda: defaultdict(dict))
    for r in rows:
        total = everyone.get((r["key"], r["day"])) or 0
        if r["audience"] != "all" and total:
            shares[r["key"]][r["day"]][r["audience"]] = round(r["readers"] / total, 4)
    return {t: dict(d) for t, d in shares.items()}
