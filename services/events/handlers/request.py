"""What an HTTP request tells the events core: receipt time, source, client IP and agent, CloudFront geo."""

from __future__ import annotations

from typing import Any

from services.common import clock
from services.common.enrichment import geo
from services.events.domain.messages import Request


def from_event(
    event: Any, source_id: str, trusted_caller: bool = False, identity_secret: bytes | None = None
) -> Request:
    """`event`: powertools' API Gateway HTTP API event of the current request."""
    headers = {k.lower(): v for k, v in (event.headers or {}).items()}
    http = event.request_context.http
    ip = http.source_ip
    viewer_address = headers.get("cloudfront-viewer-address")  # behind CloudFront, sourceIp is the edge's
    if viewer_address and ":" in viewer_address:
        ip = viewer_address.rsplit(":", 1)[0].strip("[]")
    return Request(
        received_at=clock.now(),
        source_id=source_id,
        ip=ip,
        user_agent=headers.get("user-agent") or http.user_agent or None,
        viewer_geo=geo.from_viewer_headers(headers),
        correlation_id=event.request_context.request_id,
        trusted_caller=trusted_caller,
        identity_secret=identity_secret,
    )
