"""The account's SES reputation (CloudWatch) and the platform's sending switch (SES v2 configuration set)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from services.journeys.domain.reputation import Rates

SES_NAMESPACE = "AWS/SES"
BOUNCE_RATE_METRIC = "Reputation.BounceRate"
COMPLAINT_RATE_METRIC = "Reputation.ComplaintRate"
# SES updates the reputation metrics a few times an hour; the newest value of the last six hours is the current one.
LOOKBACK = timedelta(hours=6)


class CloudWatchReputation:
    """The newest account-level reputation rates (`AWS/SES`, no dimensions) from CloudWatch."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def rates(self, now: datetime) -> Rates:
        queries = [
            {
                "Id": key,
                "MetricStat": {
                    "Metric": {"Namespace": SES_NAMESPACE, "MetricName": metric},
                    "Period": 300,
                    "Stat": "Maximum",
                },
                "ReturnData": True,
            }
            for key, metric in (("bounce", BOUNCE_RATE_METRIC), ("complaint", COMPLAINT_RATE_METRIC))
        ]
        answer = self._client.get_metric_data(
            MetricDataQueries=queries, StartTime=now - LOOKBACK, EndTime=now, ScanBy="TimestampDescending"
        )
        newest: dict[str, float] = {}
        for result in answer.get("MetricDataResults", []):
            if result.get("Values"):
                newest[result["Id"]] = float(result["Values"][0])
        return Rates(bounce=newest.get("bounce"), complaint=newest.get("complaint"))


class SesSendingSwitch:
    """Sending on or off for one SES configuration set: every platform email names it, other mail does not."""

    def __init__(self, client: Any, configuration_set: str) -> None:
        self._client = client
        self.configuration_set = configuration_set

    def pause(self) -> None:
        self._client.put_configuration_set_sending_options(
            ConfigurationSetName=self.configuration_set, SendingEnabled=False
        )
