"""HTTP entry of the events service: the Segment HTTP Tracking API and the platform's API docs."""

from __future__ import annotations

from importlib import resources
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body

from services.common import clock
from services.common.api import http_handler, principal, resolver
from services.common.bus import PublishFailed
from services.common.contracts import envelope
from services.common.problems import Problem
from services.events import app as deps
from services.events.domain.messages import (
    AliasMessage,
    BatchRequest,
    GroupMessage,
    IdentifyMessage,
    PageMessage,
    Request,
    ScreenMessage,
    SegmentMessage,
    TrackMessage,
    collected,
    validate_batch,
)
from services.events.manifest import MANIFEST

app = resolver("CxM API")


def _request() -> Request:
    event = app.current_event
    http = event.request_context.http
    return Request(
        received_at=clock.now(), source_id=principal(app).source_id, ip=http.source_ip, user_agent=http.user_agent
    )


def _publish(messages: list[SegmentMessage]) -> None:
    request = _request()
    try:
        deps.publisher().publish(
            [
                envelope(collected(m, request), correlation_id=app.current_event.request_context.request_id)
                for m in messages
            ]
        )
    except PublishFailed as failure:
        raise Problem(
            503, "Service Unavailable", "Events could not be queued; retry the request.", extra={"retryable": True}
        ) from failure


@app.post("/v1/batch", summary="Send a batch of Segment-spec messages", tags=["collect"])
def batch(body: Annotated[BatchRequest, Body()]) -> dict[str, Any]:
    accepted, refused = validate_batch(body)
    if not accepted:
        errors = [error for refusal in refused for error in refusal.errors]
        raise Problem(
            400,
            "Bad Request",
            "No message in the batch is valid.",
            errors,
            extra={"rejected": [r.as_dict() for r in refused]},
        )
    _publish(accepted)
    return {"success": True, "accepted": len(accepted), "rejected": [r.as_dict() for r in refused]}


def _single(message: SegmentMessage) -> dict[str, Any]:
    _publish([message])
    return {"success": True}


@app.post("/v1/track", summary="Record an action", tags=["collect"])
def track(body: Annotated[TrackMessage, Body()]) -> dict[str, Any]:
    return _single(body)


@app.post("/v1/identify", summary="Tie a visitor to traits and a user id", tags=["collect"])
def identify(body: Annotated[IdentifyMessage, Body()]) -> dict[str, Any]:
    return _single(body)


@app.post("/v1/page", summary="Record a page view", tags=["collect"])
def page(body: Annotated[PageMessage, Body()]) -> dict[str, Any]:
    return _single(body)


@app.post("/v1/screen", summary="Record an app screen view", tags=["collect"])
def screen(body: Annotated[ScreenMessage, Body()]) -> dict[str, Any]:
    return _single(body)


@app.post("/v1/group", summary="Associate a visitor with a group", tags=["collect"])
def group(body: Annotated[GroupMessage, Body()]) -> dict[str, Any]:
    return _single(body)


@app.post("/v1/alias", summary="Link a previous id to a user id", tags=["collect"])
def alias(body: Annotated[AliasMessage, Body()]) -> dict[str, Any]:
    return _single(body)


@app.get("/v1/openapi.json", include_in_schema=False)
def openapi() -> Response[str]:
    text = resources.files("services.common").joinpath("openapi.json").read_text()
    return Response(status_code=200, content_type="application/json", body=text)


_SWAGGER = """<!doctype html><html><head><meta charset="utf-8"><title>CxM API</title>
<link rel="stylesheet" href="https://unpkg.com/swagger-ui-dist@5/swagger-ui.css"></head>
<body><div id="ui"></div><script src="https://unpkg.com/swagger-ui-dist@5/swagger-ui-bundle.js"></script>
<script>SwaggerUIBundle({url: "openapi.json", dom_id: "#ui"});</script></body></html>"""


@app.get("/v1/docs", include_in_schema=False)
def docs() -> Response[str]:
    return Response(status_code=200, content_type="text/html", body=_SWAGGER)


handler = http_handler(app, MANIFEST.name, MANIFEST.function("api"))
