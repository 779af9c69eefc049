"""Journey webhooks: the signed request of a "call a webhook" step, its verification by a receiver, its outcome."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import re
from collections.abc import Mapping
from typing import Any, Literal
from urllib.parse import urlsplit

SIGNATURE_HEADER = "X-CxM-Signature"
TIMESTAMP_HEADER = "X-CxM-Timestamp"
ID_HEADER = "X-CxM-Delivery"  # the delivery's dedupe key, so a receiver can drop a duplicate
USER_AGENT = "CxM-Webhooks/1"
SIGNATURE_VERSION = "v1"
Outcome = Literal["delivered", "retry", "refused"]

# 408 and 425 ask the client to try again, 429 to slow down: the receiver is fine, the moment was not.
_RETRIED = frozenset({408, 425, 429})
_HEADER_VALUE = re.compile(r"[!-~]{1,200}")  # visible ASCII: a delivery id can never split a header
_TIMESTAMP = re.compile(r"[0-9]{1,15}")  # int() alone would also take " 17", "+17" and "1_7"
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def payload(profile: Mapping[str, Any], context: Mapping[str, Any]) -> bytes:
    """Canonical JSON body (sorted keys, compact separators, UTF-8): {"profile": ..., "journey": context}."""
    document = {"profile": dict(profile), "journey": dict(context)}
    try:
        text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
        return text.encode("utf-8")
    except UnicodeEncodeError:
        # A lone surrogate (legal in a JSON string we were sent) has no UTF-8 form; escaped, it stays valid JSON.
        return json.dumps(document, sort_keys=True, separators=(",", ":"), allow_nan=False).encode("ascii")


def sign(secret: bytes, body: bytes, timestamp: int) -> str:
    """'v1=' + hex HMAC-SHA256(secret, f"{timestamp}.".encode() + body). An empty secret is a ValueError."""
    if not secret:
        raise ValueError("a webhook secret must not be empty")
    mac = hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"{SIGNATURE_VERSION}={mac.hexdigest()}"


def signed_headers(secret: bytes, body: bytes, timestamp: int, delivery_id: str) -> dict[str, str]:
    """Content-Type application/json, the timestamp, signature and delivery id headers, a User-Agent 'CxM-Webhooks/1'.
    A delivery id that is not 1 to 200 visible ASCII characters is a ValueError."""
    if not _HEADER_VALUE.fullmatch(delivery_id):
        raise ValueError("a delivery id is 1 to 200 visible ASCII characters")
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: sign(secret, body, timestamp),
        ID_HEADER: delivery_id,
    }


def verify(secret: bytes, body: bytes, headers: Mapping[str, str], now: int, tolerance: int = 300) -> bool:
    """What a receiver does (used in tests and documented): constant-time compare, refuse timestamps older/newer than
    tolerance seconds; header names case-insensitive. The signature header may list several space- or
    comma-separated `v1=` signatures (one per secret during a rotation); one match is enough."""
    if not secret:
        return False
    named = {name.lower(): value for name, value in headers.items()}
    stamp = named.get(TIMESTAMP_HEADER.lower(), "").strip()
    if not _TIMESTAMP.fullmatch(stamp):
        return False
    timestamp = int(stamp)
    if abs(now - timestamp) > tolerance:
        return False
    expected = sign(secret, body, timestamp).encode()
    given = re.split(r"[\s,]+", named.get(SIGNATURE_HEADER.lower(), "").strip())
    # Every candidate is compared (no early exit), and as bytes: compare_digest refuses non-ASCII str.
    matches = [hmac.compare_digest(candidate.encode("utf-8", "replace"), expected) for candidate in given]
    return any(matches)


def classify(status: int | None) -> Outcome:
    """2xx delivered; None (timeout, connection refused, DNS, TLS error), 408, 425, 429 and 5xx retry; every other
    status (3xx, other 4xx) refused — a refused 4xx is a failure, never retried."""
    if status is None or status in _RETRIED or 500 <= status <= 599:
        return "retry"
    if 200 <= status <= 299:
        return "delivered"
    return "refused"


def check_url(url: str, allow_private: bool = False) -> str | None:
    """None when the URL may be called, else the reason: must be https (http is allowed only when allow_private is
    True, for the local cloud), must have a host, no userinfo. Pure: no DNS here (the adapter checks the addresses)."""
    if not url.isascii() or any(ch <= " " or ch == "\x7f" for ch in url):
        # http.client refuses these later anyway, with a message quoting the URL (which may hold a token).
        return "the URL must be ASCII (percent-encoded) without spaces or control characters"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - parsing the port is what raises on a malformed one
    except ValueError:
        return "the URL is malformed"
    if parts.scheme not in ("https", "http") or (parts.scheme == "http" and not allow_private):
        return "the URL must be https"
    if "@" in parts.netloc:
        return "the URL must not carry credentials (userinfo)"
    if not parts.hostname:
        return "the URL must have a host"
    return None


def is_public_address(address: str) -> bool:
    """Whether an IP address (as getaddrinfo gives it, IPv6 scope allowed) may be called from the cloud: not loopback,
    private, link-local (the instance metadata service), shared, multicast, reserved or unspecified."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        # An IPv6 address that carries an IPv4 one reaches that IPv4 host (mapped, NAT64 in a dual-stack VPC, 6to4,
        # Teredo); Python 3.11 does not look inside ::ffff:127.0.0.1 when asked is_loopback.
        embedded = [ip.ipv4_mapped, ip.sixtofour, *(ip.teredo or ())]
        if ip in _NAT64:
            embedded.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
        if any(inner is not None and not is_public_address(str(inner)) for inner in embedded):
            return False
        blocked = ip.is_site_local
    else:
        blocked = False
    return not (
        blocked
        or not ip.is_global
        or ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )
