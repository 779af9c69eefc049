"""Alarm action (SES bounce/complaint rate alarms): pause the platform's email sending when a rate is too high."""

from __future__ import annotations

from typing import Any

from services.common import clock, observability
from services.journeys import app
from services.journeys.domain.reputation import sending_verdict
from services.journeys.ports import Reputation, SendingSwitch

log = observability.logger("operations")
tracer = observability.tracer("operations")


def pause_when_over_limits(
    alarm_event: dict[str, Any], reputation: Reputation, switch: SendingSwitch
) -> dict[str, Any]:
    """A CloudWatch alarm's Lambda action → pause the configuration set if the rates (read again, not taken from
    the alarm) are at SES's review thresholds. Only an alarm entering ALARM acts; OK transitions do nothing."""
    alarm = alarm_event.get("alarmData") or {}
    state = (alarm.get("state") or {}).get("value")
    if state != "ALARM":
        return {"paused": False, "reasons": [], "alarm": alarm.get("alarmName"), "state": state}
    rates = reputation.rates(clock.now())
    verdict = sending_verdict(rates)
    if verdict.pause:
        switch.pause()
        log.warning(
            "email sending paused",
            extra={"configuration_set": switch.configuration_set, "reasons": list(verdict.reasons)},
        )
    else:
        log.info("email sending left on", extra={"bounce_rate": rates.bounce, "complaint_rate": rates.complaint})
    return {"paused": verdict.pause, "reasons": list(verdict.reasons), "alarm": alarm.get("alarmName"), "state": state}


@log.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return pause_when_over_limits(event, app.reputation(), app.sending_switch())
