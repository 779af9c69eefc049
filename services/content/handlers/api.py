"""HTTP entry of the content service: decisions for front-ends and the admin slots API."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Body, Query

from services.common import clock, internal
from services.common.api import http_handler, resolver
from services.common.problems import FieldError, bad_request, not_found
from services.content import app as deps
from services.content.domain.decisions import SlotDefinition, decide
from services.content.domain.exposures import Audience, serve_to_record
from services.content.manifest import MANIFEST

app = resolver("CxM content API")


@app.get("/v1/decide", summary="The variant of a slot for this visitor", tags=["content"])
def decide_slot(
    slot: Annotated[str, Query(min_length=1, max_length=100)],
    anonymousId: Annotated[str | None, Query(max_length=200)] = None,
    userId: Annotated[str | None, Query(max_length=200)] = None,
) -> dict[str, Any]:
    found = deps.content().slot(slot)
    if not found:
        raise not_found(f"No slot {slot}.", "slot")
    definition = SlotDefinition.model_validate({k: found[k] for k in ("name", "variants")})
    profile_id = None
    if anonymousId or userId:
        request = {"op": "resolve", "anonymousId": anonymousId, "userId": userId}
        profile_id = internal.invoke("identity.lookup", request).get("profileId")
    audience = deps.content().audience(profile_id, slot) if profile_id else Audience()
    variant = decide(definition, audience.segments)
    if profile_id:  # a visitor identity does not know leaves no exposure behind
        serve = serve_to_record(audience.exposure, slot, variant, clock.now())
        if serve:
            deps.content().record_exposure(profile_id, serve)
    # A public caller learns which variant to show, never the visitor's profile id or segments.
    return {"slot": slot, "variantId": variant.variant_id, "content": variant.content}


@app.put("/v1/content/slots/<slotId>", summary="Create or replace a slot and its variants", tags=["content"])
def put_slot(slotId: str, body: Annotated[SlotDefinition, Body()]) -> dict[str, Any]:
    if not slotId.replace("-", "").replace("_", "").isalnum() or len(slotId) > 100:
        raise bad_request("Invalid slot id.", [FieldError("slotId", "letters, digits, - and _ only, ≤ 100")])
    return deps.content().save_slot(slotId, body.model_dump(by_alias=True), clock.now())


@app.get("/v1/content/slots/<slotId>", summary="A slot and its variants", tags=["content"])
def get_slot(slotId: str) -> dict[str, Any]:
    found = deps.content().slot(slotId)
    if not found:
        raise not_found(f"No slot {slotId}.", "slotId")
    return found


handler = http_handler(app, MANIFEST.name, MANIFEST.function("api"))
