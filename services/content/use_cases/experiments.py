"""An experiment's results (counts and statistics per variant), and stopping it with its winner promoted."""

from __future__ import annotations

import datetime as dt
from typing import Any

from services.common.experiments import statistics
from services.content.ports import ContentStore
from services.content.use_cases.definitions import Conflict, InvalidDefinition, NotFound, set_experiment_status


def results(store: ContentStore, experiment_id: str) -> dict[str, Any]:
    """Per variant (the first listed is the control): exposed users, converted users, rate; against the control:
    uplift with its confidence interval and p-value (frequentist), credible interval and chance to win (Bayesian);
    and the sample ratio mismatch check of the whole split."""
    stored = store.definition("experiment", experiment_id)
    if stored is None:
        raise NotFound("experiment", experiment_id)
    counts = store.experiment_counts(experiment_id)
    variants = stored["variants"]
    observed = [
        statistics.VariantCounts(
            counts.get(v["id"], {}).get("users", 0),
            min(counts.get(v["id"], {}).get("conversions", 0), counts.get(v["id"], {}).get("users", 0)),
        )
        for v in variants
    ]
    figures = statistics.results(observed, [float(v.get("weight", 1)) for v in variants])
    out = figures.as_json()
    for variant, row in zip(variants, out["variants"], strict=True):
        row["variantId"] = variant["id"]
    return {
        "experimentId": experiment_id,
        "status": stored.get("status"),
        "goal": stored.get("goal"),
        "control": variants[0]["id"],
        **out,
        "leader": leader(out["variants"]),
    }


def leader(rows: list[dict[str, Any]]) -> str | None:
    """The variant most likely best: the treatment with the highest chance to beat the control, if above 50 %;
    otherwise the control. None before anyone converted."""
    if not any(r["conversions"] for r in rows):
        return None
    best = max(rows[1:], key=lambda r: r.get("chanceToWin") or 0, default=None)
    if best is not None and (best.get("chanceToWin") or 0) > 0.5:
        return str(best["variantId"])
    return str(rows[0]["variantId"])


def stop(
    store: ContentStore, experiment_id: str, promote: bool, winner: str | None, now: dt.datetime
) -> dict[str, Any]:
    """Stop; with `promote`, the winner (named, or the leader) becomes what everyone sees: a slot's default
    variant content, or a template's subject and body."""
    stored = store.definition("experiment", experiment_id)
    if stored is None:
        raise NotFound("experiment", experiment_id)
    ids = [v["id"] for v in stored["variants"]]
    if winner is not None and winner not in ids:
        raise InvalidDefinition([("winner", f"not a variant of this experiment; expected one of {', '.join(ids)}")])
    chosen = winner or (leader(results(store, experiment_id)["variants"]) if promote else None)
    if promote and chosen is None:
        raise Conflict("No variant has converted anyone yet; name the `winner` to promote.", "winner")
    saved = set_experiment_status(store, experiment_id, "stopped", now, chosen)
    if promote and chosen is not None:
        _promote(store, stored, next(v for v in stored["variants"] if v["id"] == chosen), now)
        saved = {**saved, "promoted": chosen}
    return saved


def _promote(store: ContentStore, experiment: dict[str, Any], variant: dict[str, Any], now: dt.datetime) -> None:
    target = experiment["target"]
    if target.get("slotId"):
        slot = store.definition("slot", target["slotId"])
        if slot is None:
            return
        definition = slot["definition"]
        for v in definition.get("variants", []):
            if v.get("when") is None and v.get("segmentId") is None:
                v["content"] = variant["content"]
        store.save_definition("slot", target["slotId"], {k: slot[k] for k in ("definition", "references")}, now)
        return
    template = store.definition("template", target["templateId"])
    if template is None:
        return
    source = dict(template["source"])
    for part in ("subject", "html"):
        if variant.get(part):
            source[part] = variant[part]
    store.save_definition(
        "template",
        target["templateId"],
        {
            **{k: v for k, v in template.items() if k not in ("id", "updatedAt")},
            "source": source,
            "version": int(template.get("version", 1)) + 1,
        },
        now,
    )
