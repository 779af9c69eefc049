"""Step Functions task: one node of a journey run (see services/journeys/domain/compiler.py)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit, single_metric

from services.common import observability
from services.journeys import app
from services.journeys.domain.definition import ACTION_TYPES
from services.journeys.manifest import COUPON_POOL_LOW, JOURNEY_MACHINES
from services.journeys.use_cases.reactions import next_anniversary
from services.journeys.use_cases.steps import run_step

POOL_LOW_METRIC = COUPON_POOL_LOW.metric
log = observability.logger("journeys")
metrics = observability.metrics("journeys")
tracer = observability.tracer("journeys")


@log.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    repo = app.journeys()
    run = event["run"]
    definition, _ = app.version(repo, run["journeyId"], int(run["version"]))
    # only an action holds while its journey is paused: the other steps need not read the journey's status
    acts = event["kind"] in ACTION_TYPES
    status = (repo.journey(run["journeyId"]) or {}).get("status", "archived") if acts else "active"
    if event["kind"] == "fail" and JOURNEY_MACHINES.failure_metric:
        metrics.add_metric(name=JOURNEY_MACHINES.failure_metric, unit=MetricUnit.Count, value=1)
    answered = run_step(
        event,
        definition,
        repo,
        app.directory(),
        app.runner(),
        app.publisher(),
        app.texter(),
        app.webhooks(),
        status,
        app.delivery_settings("sms"),
        app.webhooks_allow_private(),
        app.coupons() if event["kind"] == "claimCode" else None,
    )
    if event["kind"] == "claimCode" and answered.get("low"):
        pool_low(str(answered["pool"]), int(answered.get("remaining") or 0))
    trigger = definition.entry.trigger.trait_date
    if event["kind"] in ("finish", "exit") and trigger is not None and trigger.yearly:
        next_anniversary(run, app.catalog(repo), repo, app.runner(), app.directory(), app.publisher())
    return answered


def pool_low(pool_id: str, remaining: int) -> None:
    """`CouponPoolLow` (namespace CxM): by service, what an alarm watches, and by service and pool, which one."""
    metrics.add_metric(name=POOL_LOW_METRIC, unit=MetricUnit.Count, value=1)
    with single_metric(
        name=POOL_LOW_METRIC,
        unit=MetricUnit.Count,
        value=1,
        namespace=observability.NAMESPACE,
        default_dimensions={"service": "journeys", "pool": pool_id},
    ):
        log.warning("coupon pool running low", extra={"pool": pool_id, "remaining": remaining})
