"""User agent → device type, browser and OS, with ua-parser (the maintained uap-core rules) behind an LRU cache."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

MAX_USER_AGENT = 512  # longer strings are cut before parsing: the rules never need more, regexes stay bounded
CACHE_SIZE = 4096  # distinct user agents kept per container (a site sees a few hundred to a few thousand)

_BOT_WORDS = ("bot", "crawl", "spider", "slurp", "headless", "lighthouse", "preview", "scanner", "monitor")
_MOBILE_OSES = frozenset({"iOS", "Android", "Windows Phone", "BlackBerry OS", "KaiOS", "Firefox OS", "Symbian OS"})
_DESKTOP_OSES = frozenset(
    {"Windows", "Mac OS X", "Linux", "Ubuntu", "Chrome OS", "Fedora", "Debian", "FreeBSD", "OpenBSD", "Mint"}
)
_resolver: Any = None


def _parse(user_agent: str) -> Any:
    """ua-parser's result; the rules are loaded on first use (lazily compiled), never at import (cold start)."""
    global _resolver
    if _resolver is None:
        from ua_parser import BasicResolver, load_lazy_builtins

        _resolver = BasicResolver(load_lazy_builtins())
    from ua_parser import Domain

    return _resolver(user_agent, Domain.ALL).complete()


@lru_cache(maxsize=CACHE_SIZE)
def device(user_agent: str) -> dict[str, str] | None:
    """`{"type", "browser", "os"}` of a user agent (the enrichment's `device`, camelCase-ready), or None if empty.

    `type` is one of desktop, mobile, tablet, bot, other; browser and OS are left out when unknown.
    """
    if not user_agent:
        return None
    text = user_agent[:MAX_USER_AGENT]
    parsed = _parse(text)
    browser = parsed.user_agent.family if parsed.user_agent and parsed.user_agent.family != "Other" else None
    os = parsed.os.family if parsed.os and parsed.os.family != "Other" else None
    out = {"type": device_type(text, parsed.device.family if parsed.device else None, os)}
    if browser:
        out["browser"] = browser
    if os:
        out["os"] = os
    return out


def device_type(user_agent: str, device_family: str | None, os: str | None) -> str:
    """Classify from the parsed device and OS, with the conventional hints of the string itself."""
    lowered = user_agent.lower()
    if device_family == "Spider" or any(word in lowered for word in _BOT_WORDS):
        return "bot"
    if device_family and ("iPad" in device_family or "Tablet" in device_family or "Kindle" in device_family):
        return "tablet"
    if "tablet" in lowered or (os == "Android" and "mobile" not in lowered):
        return "tablet"
    if os in _MOBILE_OSES or "mobi" in lowered:
        return "mobile"
    if os in _DESKTOP_OSES:
        return "desktop"
    return "other"
