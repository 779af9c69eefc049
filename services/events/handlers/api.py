"""HTTP entry of the events service: the Segment HTTP Tracking API and the platform's API docs."""

from __future__ import annotations

from importlib import resources
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body
from pydantic import BaseModel, Field

from services.common.api import http_handler, principal, problem_response, resolver
from services.events import app as deps
from services.events.domain.ingestion import Prepared, ingest_batch, ingest_one
from services.events.domain.messages import (
    MAX_BATCH_BYTES,
    AliasMessage,
    BatchRequest,
    GroupMessage,
    IdentifyMessage,
    PageMessage,
    Request,
    ScreenMessage,
    TrackMessage,
)
from services.events.handlers.problems import COLLECTION_ERRORS, CollectionError, no_valid_message, problem
from services.events.handlers.request import from_event
from services.events.manifest import MANIFEST
from services.events.use_cases import Collection, collect

app = resolver("CxM API")


@app.exception_handler(COLLECTION_ERRORS)
def _refused(error: CollectionError) -> Response[Any]:
    return problem_response(problem(error))


class Duplicate(BaseModel):
    index: int
    messageId: str


class BatchAnswer(BaseModel):
    success: bool = True
    accepted: int = Field(description="Messages collected now.")
    duplicates: list[Duplicate] = Field(
        default_factory=list, description="Already collected from this source within the dedupe window: not again."
    )
    rejected: list[dict[str, Any]] = Field(
        default_factory=list, description="Refused messages: `index`, `messageId` and `errors[].field`."
    )


class Answer(BaseModel):
    success: bool = True
    duplicate: bool = Field(default=False, description="Already collected within the dedupe window: not again.")


def _request() -> Request:
    return from_event(app.current_event, principal(app).source_id)


def _collect(events: list[Prepared], request: Request) -> Collection:
    return collect(events, request, deps.current().dedupe_window, deps.ledger(), deps.publisher())


# The collection routes document their body for OpenAPI but leave validation to the ingestion core, which parses
# the raw body once (whatever its content type: sendBeacon posts text/plain) and refuses per message.
@app.post("/v1/batch", summary="Send a batch of Segment-spec messages", tags=["collect"], enable_validation=False)
def batch(
    body: Annotated[BatchRequest, Body()] = None,  # type: ignore[assignment]
) -> BatchAnswer:
    request = _request()
    ingested = ingest_batch(app.current_event.body or "", request, deps.current().enrichment)
    if not ingested.events:
        raise no_valid_message(ingested.refused)
    outcome = _collect(ingested.events, request)
    return BatchAnswer(
        accepted=len(outcome.published),
        duplicates=[Duplicate(index=e.index, messageId=e.message_id) for e in outcome.duplicates],
        rejected=[r.as_dict() for r in ingested.refused],
    )


def _single(kind: str) -> Answer:
    request = _request()
    event = ingest_one(kind, app.current_event.body or "", request, deps.current().enrichment)
    outcome = _collect([event], request)
    return Answer(duplicate=bool(outcome.duplicates))


@app.post("/v1/track", summary="Record an action", tags=["collect"], enable_validation=False)
def track(
    body: Annotated[TrackMessage, Body()] = None,  # type: ignore[assignment]
) -> Answer:
    return _single("track")


@app.post("/v1/identify", summary="Tie a visitor to traits and a user id", tags=["collect"], enable_validation=False)
def identify(
    body: Annotated[IdentifyMessage, Body()] = None,  # type: ignore[assignment]
) -> Answer:
    return _single("identify")


@app.post("/v1/page", summary="Record a page view", tags=["collect"], enable_validation=False)
def page(
    body: Annotated[PageMessage, Body()] = None,  # type: ignore[assignment]
) -> Answer:
    return _single("page")


@app.post("/v1/screen", summary="Record an app screen view", tags=["collect"], enable_validation=False)
def screen(
    body: Annotated[ScreenMessage, Body()] = None,  # type: ignore[assignment]
) -> Answer:
    return _single("screen")


@app.post("/v1/group", summary="Associate a visitor with a group", tags=["collect"], enable_validation=False)
def group(
    body: Annotated[GroupMessage, Body()] = None,  # type: ignore[assignment]
) -> Answer:
    return _single("group")


@app.post("/v1/alias", summary="Link a previous id to a user id", tags=["collect"], enable_validation=False)
def alias(
    body: Annotated[AliasMessage, Body()] = None,  # type: ignore[assignment]
) -> Answer:
    return _single("alias")


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


handler = http_handler(app, MANIFEST.name, MANIFEST.function("api"), max_body_bytes=MAX_BATCH_BYTES)
