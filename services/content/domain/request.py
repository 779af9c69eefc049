"""This request's environment for targeting: device, place, referrer, campaign and local time. Pure."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from services.common.conditions.activities import environment_of
from services.common.enrichment import devices, geo, local_time, referrers

# The same enrichment the events service applies to a collected event (services/common/enrichment), applied to
# what a decide call carries: the browser's user agent, CloudFront's viewer headers when the API is fronted by
# CloudFront, and what the page passes (`url` with its UTM parameters, `referrer`, the visitor's `timezone`).
# Whatever the request does not say comes from the visitor's latest visit in the read model.


def request_environment(
    headers: Mapping[str, str],
    url: str | None,
    referrer: str | None,
    timezone: str | None,
    now: dt.datetime,
) -> dict[str, Any]:
    enrichment: dict[str, Any] = {}
    agent = headers.get("user-agent")
    device = devices.device(agent) if agent else None
    if device:
        enrichment["device"] = device
    place = geo.from_viewer_headers(headers)
    if place:
        enrichment["geo"] = place
    if url or referrer:
        host, query = referrers.split(url)
        campaign = referrers.campaign(None, query)
        if campaign:
            enrichment["campaign"] = campaign
        enrichment["referrer"] = referrers.classify(referrer, host, query, campaign, ())
    local = local_time.local_time(now, timezone)
    if local:
        enrichment["local"] = local
    return environment_of(enrichment)
