"""Is an email open or click made by a machine (a security scanner, a mail proxy, a link checker)? Pure."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

# Substrings (lower-case) of user agents that fetch links and images on a person's behalf or to scan them.
SCANNER_AGENTS = (
    "googleimageproxy",
    "yahoomailproxy",
    "ggpht.com",
    "barracuda",
    "mimecast",
    "proofpoint",
    "symantec",
    "forcepoint",
    "trendmicro",
    "sophos",
    "fortiguard",
    "safelinks",
    "bingpreview",
    "microsoft office existence discovery",
    "linkchecker",
    "urlscan",
    "headlesschrome",
    "phantomjs",
    "python-requests",
    "python-urllib",
    "aiohttp",
    "go-http-client",
    "apache-httpclient",
    "libwww-perl",
    "curl/",
    "wget/",
    "bot",
    "crawler",
    "spider",
)


@dataclass(frozen=True)
class Thresholds:
    after_delivery: dt.timedelta = dt.timedelta(seconds=10)  # nobody reads and clicks faster than this
    burst: dt.timedelta = dt.timedelta(seconds=1)  # two different links of one email within this: a scanner


@dataclass(frozen=True)
class Verdict:
    machine: bool  # scoring and journeys ignore flagged activity (`enrichment.machine`)
    reason: str | None = None  # after-delivery, scanner-agent, link-burst


HUMAN = Verdict(False)


def scanner_agent(user_agent: str | None) -> bool:
    if not user_agent:
        return True  # a real mail client always sends one
    lowered = user_agent.lower()
    return any(marker in lowered for marker in SCANNER_AGENTS)


def judge(
    *,
    at: dt.datetime,
    issued_at: dt.datetime,
    user_agent: str | None,
    link: str | None = None,
    other_clicks: Mapping[str, dt.datetime] | None = None,
    thresholds: Thresholds = Thresholds(),
) -> Verdict:
    """`other_clicks`: the last click time of each link of the same email, as recorded before this one."""
    if at - issued_at < thresholds.after_delivery:
        return Verdict(True, "after-delivery")
    if scanner_agent(user_agent):
        return Verdict(True, "scanner-agent")
    if link is not None and other_clicks:
        for other, when in other_clicks.items():
            if other != link and abs(at - when) <= thresholds.burst:
                return Verdict(True, "link-burst")
    return HUMAN
