"""HTTP entry of email tracking (open pixel, click redirect; public, signed tokens), of the tracker script and of
analytics.js 2.0 for sites that load it with Segment's snippet."""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

from services.common import observability
from services.common.api import http_handler, problem_response, resolver
from services.common.email_links import ExpiredToken, InvalidToken
from services.common.problems import not_found
from services.events import app as deps
from services.events.domain.email_tracking import EMAIL_SOURCE, PIXEL
from services.events.domain.messages import Request
from services.events.handlers.problems import problem
from services.events.handlers.request import from_event
from services.events.manifest import MANIFEST
from services.events.use_cases import Tracking, record_click, record_open, verified

app = resolver("CxM tracking")
log = observability.logger(MANIFEST.name)
TRACKER = Path(__file__).resolve().parents[1] / "static" / "tracker.min.js"
NO_STORE = {"Cache-Control": "no-store, private", "Pragma": "no-cache"}
TRACKER_CACHE = "public, max-age=86400, stale-while-revalidate=604800"


def _tracking() -> Tracking:
    settings = deps.current()
    return Tracking(deps.signing_key(), settings.token_max_age, settings.machine, settings.enrichment)


def _request() -> Request:
    return from_event(app.current_event, EMAIL_SOURCE)


@app.get(
    "/v1/t/open/<token>",
    summary="Email open pixel: a 1×1 GIF for any token; only a valid one records an open",
    tags=["email tracking"],
    enable_validation=False,  # a binary body; the token is checked by its signature
    responses={200: {"description": "The pixel.", "content": {"image/gif": {"schema": {"type": "string"}}}}},
)
def email_open(token: str) -> Response[bytes]:
    request = _request()
    tracking = _tracking()
    try:
        verified_token = verified(token, "open", request, tracking)
    except (InvalidToken, ExpiredToken) as refused:
        log.info("open not recorded", extra={"reason": str(refused)})
    else:
        try:
            record_open(verified_token, request, tracking, deps.publisher())
        except Exception:  # the mail client gets its pixel whatever happens; the failure is logged as an error
            log.exception("open could not be recorded", extra={"emailMessageId": verified_token.message_id})
    return Response(status_code=200, content_type="image/gif", body=PIXEL, headers=NO_STORE)


@app.get(
    "/v1/t/click/<token>",
    summary="Email link click: redirects to the link inside a valid token, never elsewhere",
    tags=["email tracking"],
    enable_validation=False,
    responses={
        302: {"description": "To the link inside the token (`Location`)."},
        404: {"description": "The link expired.", "content": {"application/problem+json": {}}},
    },
)
def email_click(token: str) -> Response[str]:
    request = _request()
    tracking = _tracking()
    try:
        verified_token = verified(token, "click", request, tracking)
    except (InvalidToken, ExpiredToken) as refused:
        return problem_response(problem(refused))
    try:
        record_click(verified_token, request, tracking, deps.clicks(), deps.publisher())
    except Exception:  # the visitor is sent on whatever happens; the failure is logged as an error
        log.exception("click could not be recorded", extra={"emailMessageId": verified_token.message_id})
    assert verified_token.url is not None
    return Response(status_code=302, body="", headers={"Location": verified_token.url, **NO_STORE})


@app.get(
    "/v1/tracker.js",
    summary="The tracker script for web pages (cached a day; ETag)",
    tags=["collect"],
    enable_validation=False,
    responses={
        200: {"description": "The script.", "content": {"application/javascript": {"schema": {"type": "string"}}}},
        304: {"description": "Not modified (`If-None-Match`)."},
    },
)
def tracker() -> Response[str]:
    text, etag = _script(TRACKER.stat().st_mtime_ns)
    headers = {"Cache-Control": TRACKER_CACHE, "ETag": etag}
    if etag in (app.current_event.headers or {}).get("if-none-match", ""):
        return Response(status_code=304, body="", headers=headers)
    return Response(status_code=200, content_type="application/javascript; charset=utf-8", body=text, headers=headers)


@cache
def _script(modified: int) -> tuple[str, str]:
    """The script and its ETag, read again only when the file changes (the tracker is rebuilt in development)."""
    text = TRACKER.read_text()
    return text, '"' + hashlib.sha256(text.encode()).hexdigest()[:32] + '"'


# analytics.js 2.0 as Segment's CDN serves it, for a site whose snippet loads it from here (script host and `_cdn`
# pointed at the platform): the standalone build and the chunks it loads lazily from `<cdn>/analytics-next/bundles/`,
# copied from @segment/analytics-next as package.json pins it (a unit test checks they are byte-equal). Chunk names
# carry their content hash, so browsers may keep them for good; the loader changes with the pin, so it is kept a day.
ANALYTICS_NEXT_VERSION = "1.84.3"
ANALYTICS_NEXT_DIR = Path(__file__).resolve().parents[1] / "static" / "analytics-next"
ANALYTICS_NEXT_LOADER = "standalone.js"
JAVASCRIPT = "application/javascript; charset=utf-8"
_SCRIPT: OpenAPIResponse = {
    "description": "The script.",
    "content": {"application/javascript": {"schema": {"type": "string"}}},
}


@app.get(
    "/analytics.js/v1/<writeKey>/analytics.min.js",
    summary="analytics.js 2.0 (@segment/analytics-next, standalone) for Segment's snippet, cached a day",
    tags=["sdk"],
    enable_validation=False,
    responses={200: _SCRIPT},
)
def analytics_next(writeKey: str) -> Response[str]:  # the library reads the key from its own URL
    headers = {"Cache-Control": TRACKER_CACHE}
    return Response(
        status_code=200,
        content_type=JAVASCRIPT,
        body=_library_file(ANALYTICS_NEXT_LOADER),
        headers=headers,
        compress=True,
    )


@app.get(
    "/analytics-next/bundles/<bundle>",
    summary="A chunk analytics.js 2.0 loads lazily (name with content hash; cached for good)",
    tags=["sdk"],
    enable_validation=False,
    responses={
        200: _SCRIPT,
        404: {"description": "No such chunk.", "content": {"application/problem+json": {}}},
    },
)
def analytics_next_bundle(bundle: str) -> Response[str]:
    if bundle not in _bundles():
        raise not_found(f"analytics.js {ANALYTICS_NEXT_VERSION} has no chunk {bundle!r}.", "bundle")
    headers = {"Cache-Control": "public, max-age=31536000, immutable"}
    return Response(
        status_code=200, content_type=JAVASCRIPT, body=_library_file(bundle), headers=headers, compress=True
    )


@cache
def _bundles() -> frozenset[str]:
    return frozenset(path.name for path in ANALYTICS_NEXT_DIR.glob("*.bundle.*.js"))


@cache
def _library_file(name: str) -> str:
    return (ANALYTICS_NEXT_DIR / name).read_text(encoding="utf-8")


handler = http_handler(app, MANIFEST.name, MANIFEST.function("tracking"))
