"""HTTP entry of the segments service: the admin segments API."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Body

from services.common import clock
from services.common.api import http_handler, resolver
from services.common.ids import new_id
from services.common.problems import not_found
from services.segments import app as deps
from services.segments.domain.rules import SegmentDefinition
from services.segments.manifest import MANIFEST

app = resolver("CxM segments API")


@app.post("/v1/segments", summary="Define a segment", tags=["segments"])
def create_segment(body: Annotated[SegmentDefinition, Body()]) -> Any:
    saved = deps.segments().save_segment(new_id(), body.model_dump(by_alias=True), clock.now())
    return saved, 201


@app.get("/v1/segments", summary="List segments", tags=["segments"])
def list_segments() -> dict[str, Any]:
    return {"segments": deps.segments().segments()}


@app.get("/v1/segments/<segmentId>", summary="A segment definition", tags=["segments"])
def get_segment(segmentId: str) -> dict[str, Any]:
    found = deps.segments().segment(segmentId)
    if not found:
        raise not_found(f"No segment {segmentId}.", "segmentId")
    return found


handler = http_handler(app, MANIFEST.name, MANIFEST.function("api"))
