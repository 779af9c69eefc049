"""The pause decision: SES's review thresholds (bounce 5 %, complaint 0.1 %) on the account's reputation rates."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from services.journeys.domain.reputation import BOUNCE_RATE_LIMIT, COMPLAINT_RATE_LIMIT, Rates, sending_verdict
from services.journeys.handlers.pause_sending import pause_when_over_limits

rate = st.none() | st.floats(min_value=0, max_value=1)


def test_healthy_rates_keep_sending_on() -> None:
    assert sending_verdict(Rates(bounce=0.02, complaint=0.0005)).pause is False


def test_a_bounce_rate_at_five_percent_pauses_and_says_why() -> None:
    verdict = sending_verdict(Rates(bounce=0.05, complaint=0.0))
    assert verdict.pause is True
    assert verdict.reasons == ("bounce rate 5.00% >= 5.00%",)


def test_a_complaint_rate_at_a_tenth_of_a_percent_pauses() -> None:
    assert sending_verdict(Rates(bounce=0.0, complaint=0.001)).pause is True
    assert sending_verdict(Rates(bounce=0.0, complaint=0.00099)).pause is False


def test_no_data_never_pauses() -> None:
    assert sending_verdict(Rates(bounce=None, complaint=None)).pause is False


@given(bounce=rate, complaint=rate, more=st.floats(min_value=0, max_value=1))
def test_worse_rates_never_unpause(bounce: float | None, complaint: float | None, more: float) -> None:
    """Monotone: if some rates pause, higher rates pause too."""
    if sending_verdict(Rates(bounce, complaint)).pause:
        worse = Rates(None if bounce is None else bounce + more, None if complaint is None else complaint + more)
        assert sending_verdict(worse).pause


@given(bounce=rate, complaint=rate)
def test_pauses_exactly_when_a_rate_reaches_its_limit(bounce: float | None, complaint: float | None) -> None:
    expected = (bounce or 0) >= BOUNCE_RATE_LIMIT or (complaint or 0) >= COMPLAINT_RATE_LIMIT
    assert sending_verdict(Rates(bounce, complaint)).pause is expected


class FixedReputation:
    def __init__(self, rates: Rates) -> None:
        self._rates = rates

    def rates(self, now: Any) -> Rates:
        return self._rates


class RecordingSwitch:
    configuration_set = "cxm-dev-config-set"

    def __init__(self) -> None:
        self.paused = 0

    def pause(self) -> None:
        self.paused += 1


def alarm(state: str) -> dict[str, Any]:
    """The event a CloudWatch alarm's Lambda action delivers."""
    return {
        "source": "aws.cloudwatch",
        "alarmArn": "arn:aws:cloudwatch:eu-west-1:111122223333:alarm:cxm-dev-ses-bounce-rate",
        "alarmData": {"alarmName": "cxm-dev-ses-bounce-rate", "state": {"value": state, "reason": "Threshold"}},
    }


def test_an_alarm_with_rates_over_the_limits_pauses_the_configuration_set() -> None:
    switch = RecordingSwitch()
    outcome = pause_when_over_limits(alarm("ALARM"), FixedReputation(Rates(0.07, 0.0)), switch)
    assert (outcome["paused"], switch.paused) == (True, 1)


def test_an_alarm_whose_rates_are_back_under_the_limits_does_not_pause() -> None:
    switch = RecordingSwitch()
    outcome = pause_when_over_limits(alarm("ALARM"), FixedReputation(Rates(0.01, 0.0)), switch)
    assert (outcome["paused"], switch.paused) == (False, 0)


def test_an_alarm_going_back_to_ok_does_nothing() -> None:
    switch = RecordingSwitch()
    outcome = pause_when_over_limits(alarm("OK"), FixedReputation(Rates(0.5, 0.5)), switch)
    assert (outcome["paused"], switch.paused) == (False, 0)
