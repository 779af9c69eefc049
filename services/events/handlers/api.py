"""HTTP entry of the events service: the Segment HTTP Tracking API and the platform's API docs."""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from pydantic import BaseModel, Field

from services.common.api import View, access_keys, http_handler, principal, problem_response, resolver
from services.common.problems import not_found
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
from services.events.domain.sdk_settings import rudderstack_source_config, segment_project_settings
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
    caller = principal(app)
    secret = None if caller.trusted else access_keys().identity_secret(caller.source_id)
    return from_event(app.current_event, caller.source_id, caller.trusted, secret)


def _collect(events: list[Prepared], request: Request) -> Collection:
    return collect(events, request, deps.current().dedupe_window, deps.ledger(), deps.publisher())


# The collection routes document their body for OpenAPI but leave validation to the ingestion core, which parses
# the raw body once (whatever its content type: sendBeacon and analytics.js 2.0 post text/plain) and refuses per
# message. Each also answers at the one-letter path analytics.js 2.0 posts to (/v1/t for /v1/track, /v1/b for a batch).
@app.post("/v1/batch", summary="Send a batch of Segment-spec messages", tags=["collect"], enable_validation=False)
@app.post(
    "/v1/b",
    summary="Send a batch of Segment-spec messages (`/v1/batch` as analytics.js 2.0 calls it)",
    tags=["collect"],
    enable_validation=False,
)
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
@app.post(
    "/v1/t",
    summary="Record an action (`/v1/track` as analytics.js 2.0 calls it)",
    tags=["collect"],
    enable_validation=False,
)
def track(
    body: Annotated[TrackMessage, Body()] = None,  # type: ignore[assignment]
) -> Answer:
    return _single("track")


@app.post("/v1/identify", summary="Tie a visitor to traits and a user id", tags=["collect"], enable_validation=False)
@app.post(
    "/v1/i",
    summary="Tie a visitor to traits and a user id (`/v1/identify` as analytics.js 2.0 calls it)",
    tags=["collect"],
    enable_validation=False,
)
def identify(
    body: Annotated[IdentifyMessage, Body()] = None,  # type: ignore[assignment]
) -> Answer:
    return _single("identify")


@app.post("/v1/page", summary="Record a page view", tags=["collect"], enable_validation=False)
@app.post(
    "/v1/p",
    summary="Record a page view (`/v1/page` as analytics.js 2.0 calls it)",
    tags=["collect"],
    enable_validation=False,
)
def page(
    body: Annotated[PageMessage, Body()] = None,  # type: ignore[assignment]
) -> Answer:
    return _single("page")


@app.post("/v1/screen", summary="Record an app screen view", tags=["collect"], enable_validation=False)
@app.post(
    "/v1/s",
    summary="Record an app screen view (`/v1/screen` as analytics.js 2.0 calls it)",
    tags=["collect"],
    enable_validation=False,
)
def screen(
    body: Annotated[ScreenMessage, Body()] = None,  # type: ignore[assignment]
) -> Answer:
    return _single("screen")


@app.post("/v1/group", summary="Associate a visitor with a group", tags=["collect"], enable_validation=False)
@app.post(
    "/v1/g",
    summary="Associate a visitor with a group (`/v1/group` as analytics.js 2.0 calls it)",
    tags=["collect"],
    enable_validation=False,
)
def group(
    body: Annotated[GroupMessage, Body()] = None,  # type: ignore[assignment]
) -> Answer:
    return _single("group")


@app.post("/v1/alias", summary="Link a previous id to a user id", tags=["collect"], enable_validation=False)
@app.post(
    "/v1/a",
    summary="Link a previous id to a user id (`/v1/alias` as analytics.js 2.0 calls it)",
    tags=["collect"],
    enable_validation=False,
)
def alias(
    body: Annotated[AliasMessage, Body()] = None,  # type: ignore[assignment]
) -> Answer:
    return _single("alias")


# The configuration browser SDKs load first. Only the write key (in the URL, checked by the guard) is needed: the
# documents name no person, and they may be cached like the CDN copies they replace.
SDK_SETTINGS_CACHE = {"Cache-Control": "public, max-age=300"}


class SegmentProjectSettings(View):
    """What analytics.js 2.0 reads at start: its `Segment.io` integration pointed at this platform."""

    integrations: dict[str, Any]
    analyticsNextEnabled: bool


class RudderStackSourceConfig(View):
    isHosted: bool
    source: dict[str, Any] = Field(description="`{id, name, workspaceId, enabled, config, destinations}`.")


@app.get(
    "/v1/projects/<writeKey>/settings",
    summary="Project settings for analytics.js 2.0 (its `cdnURL` pointed here): send to this platform",
    tags=["sdk"],
)
def segment_settings(writeKey: str) -> Response[SegmentProjectSettings]:
    body = SegmentProjectSettings.model_validate(segment_project_settings(writeKey, deps.public_api_url()))
    return Response(status_code=200, content_type="application/json", body=body, headers=SDK_SETTINGS_CACHE)


# The SDK asks for `/sourceConfig/`: API Gateway hands it to the `/sourceConfig` route with the slash kept in the path.
@app.get(
    "/sourceConfig",
    summary="Source configuration for RudderStack's JavaScript SDK v3 (its `configUrl` pointed here)",
    tags=["sdk"],
)
@app.get("/sourceConfig/", include_in_schema=False)
def rudderstack_config(
    writeKey: Annotated[str | None, Query(description="The source's write key, if not the HTTP Basic user.")] = None,
) -> Response[RudderStackSourceConfig]:
    body = RudderStackSourceConfig.model_validate(rudderstack_source_config(principal(app).source_id))
    return Response(status_code=200, content_type="application/json", body=body, headers=SDK_SETTINGS_CACHE)


@app.get("/v1/openapi.json", include_in_schema=False)
def openapi() -> Response[str]:
    text = resources.files("services.common").joinpath("openapi.json").read_text()
    return Response(status_code=200, content_type="application/json", body=text)


# Swagger UI is served from here, not a CDN, so the docs work offline and load nothing from another origin. The
# files are swagger-ui-dist's, pinned in package.json (a test checks they are byte-equal to node_modules' copy);
# the version is in their path, so browsers may keep them for good. validatorUrl null: no badge from swagger.io.
SWAGGER_UI_VERSION = "5.35.0"
SWAGGER_UI_DIR = Path(__file__).resolve().parents[1] / "static" / "swagger-ui"
SWAGGER_UI_ASSETS = {
    "swagger-ui-bundle.js": "application/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
}
SWAGGER_UI_PATH = f"/v1/docs/assets/{SWAGGER_UI_VERSION}"
IMMUTABLE = {"Cache-Control": "public, max-age=31536000, immutable"}

_SWAGGER = f"""<!doctype html><html><head><meta charset="utf-8"><title>CxM API</title>
<link rel="stylesheet" href="{SWAGGER_UI_PATH}/swagger-ui.css"></head>
<body><div id="ui"></div><script src="{SWAGGER_UI_PATH}/swagger-ui-bundle.js"></script>
<script>SwaggerUIBundle({{url: "/v1/openapi.json", dom_id: "#ui", validatorUrl: null}});</script></body></html>"""


@app.get("/v1/docs", include_in_schema=False)
def docs() -> Response[str]:
    return Response(status_code=200, content_type="text/html; charset=utf-8", body=_SWAGGER)


@app.get(
    "/v1/docs/assets/<version>/<asset>",
    summary="Swagger UI's script and style sheet for /v1/docs (a pinned swagger-ui-dist; cached for good)",
    tags=["docs"],
    enable_validation=False,  # not JSON; an unknown version or file is a 404
    responses={
        200: {
            "description": "`swagger-ui-bundle.js` or `swagger-ui.css` of the version the docs page names.",
            "content": {
                "application/javascript": {"schema": {"type": "string"}},
                "text/css": {"schema": {"type": "string"}},
            },
        },
        404: {
            "description": "No such asset (another version, another file).",
            "content": {"application/problem+json": {}},
        },
    },
)
def docs_asset(version: str, asset: str) -> Response[str]:
    if version != SWAGGER_UI_VERSION or asset not in SWAGGER_UI_ASSETS:
        raise not_found(f"No asset {asset!r} of Swagger UI {version!r}.")
    return Response(
        status_code=200,
        content_type=SWAGGER_UI_ASSETS[asset],
        body=_swagger_ui_asset(asset),
        headers=IMMUTABLE,
        compress=True,  # gzip when the browser accepts it: the bundle is 1.7 MB, about 0.5 MB compressed
    )


@cache
def _swagger_ui_asset(asset: str) -> str:
    return (SWAGGER_UI_DIR / asset).read_text(encoding="utf-8")


handler = http_handler(app, MANIFEST.name, MANIFEST.function("api"), max_body_bytes=MAX_BATCH_BYTES)
