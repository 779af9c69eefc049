"""HTTP entry of the content service: decisions for front-ends; the admin API for slots, the catalogue, email
templates, experiments and content analytics."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from pydantic import BaseModel, ConfigDict, Field

from services.common import clock, observability
from services.common.api import View, access_keys, body_bytes, http_handler, principal, problem_response, resolver
from services.common.identity_proof import proves
from services.common.problems import FieldError, bad_request, not_found
from services.content import app as deps
from services.content.domain.catalogue import ContentItem
from services.content.domain.experiments import ExperimentDefinition
from services.content.domain.request import request_environment
from services.content.domain.targeting import SlotDefinition
from services.content.domain.templates import TemplateSource
from services.content.handlers.problems import CONTENT_ERRORS, ContentError, problem
from services.content.manifest import MANIFEST
from services.content.ports import RecipientRefused
from services.content.use_cases import analytics, decisions, definitions, experiments, templates

app = resolver("CxM content API")

ID = r"^[A-Za-z0-9_-]{1,100}$"
REMOVED: OpenAPIResponse = {"description": "Removed; no body."}
MAX_SLOTS = 20


@app.exception_handler(CONTENT_ERRORS)
def _refused(error: ContentError) -> Response[Any]:
    return problem_response(problem(error))


# ---- answers ---------------------------------------------------------------------------------------------------


class DecidedSlot(View):
    """What to show in one slot: `{slot, variantId, content}`, or for a list slot `{slot, items}`."""

    slot: str


class DecidedSlots(View):
    slots: list[DecidedSlot]
    unknown: list[str] = Field(
        default_factory=list,
        description="Slots asked for that no one defined (or deleted since): left out, the others are decided.",
    )


class SlotView(View):
    slotId: str
    updatedAt: str | None


class SlotList(View):
    slots: list[SlotView]


class Stored(View):
    id: str
    updatedAt: str


class ItemView(View):
    id: str
    title: str


class ItemList(View):
    items: list[ItemView]
    count: int


class ItemImport(View):
    saved: int
    failed: int
    errors: list[dict[str, Any]] = Field(description="`{row, field, message}` per bad row (the first 1000).")


class TemplateView(Stored):
    pass


class TemplateList(View):
    templates: list[TemplateView]


class RenderedEmail(View):
    subject: str
    html: str
    text: str
    templateVersion: int


class RenderedDraft(View):
    subject: str
    html: str
    text: str


class SentTest(View):
    sent: bool
    messageId: str
    subject: str


class ExperimentView(Stored):
    pass


class ExperimentList(View):
    experiments: list[ExperimentView]


class ExperimentResults(View):
    experimentId: str
    status: str | None
    goal: Any
    control: str
    variants: list[dict[str, Any]]
    leader: Any


class ContentAnalytics(View):
    from_: str = Field(alias="from")
    to: str
    by: str
    rows: list[dict[str, Any]]


def _found(kind: str, definition_id: str) -> dict[str, Any]:
    """A slot, item, template or experiment by the id in the path, or a 404 naming that path parameter."""
    found = deps.content().definition(kind, definition_id)
    if not found:
        raise not_found(f"No {kind} {definition_id}.", f"{kind}Id")
    return found


def _delete(kind: str, definition_id: str) -> None:
    if not deps.content().delete_definition(kind, definition_id):
        raise not_found(f"No {kind} {definition_id}.", f"{kind}Id")


# ---- decisions (write key) -------------------------------------------------------------------------------------


@app.get("/v1/decide", summary="What this visitor sees in one or more slots", tags=["content"])
def decide_slots(
    slot: Annotated[str | None, Query(min_length=1, max_length=100, description="One slot (first format)")] = None,
    slots: Annotated[str | None, Query(min_length=1, max_length=2100, description="Comma-separated slot ids")] = None,
    anonymousId: Annotated[str | None, Query(max_length=200)] = None,
    userId: Annotated[
        str | None,
        Query(max_length=200, description="Used from a write key only with `userHash` (docs/identity.md, Trust)"),
    ] = None,
    userHash: Annotated[
        str | None, Query(max_length=128, description="The site back-end's HMAC-SHA256 of `userId`")
    ] = None,
    url: Annotated[str | None, Query(max_length=2048, description="This page, with its UTM parameters")] = None,
    referrer: Annotated[str | None, Query(max_length=2048, description="This visit's referrer")] = None,
    timezone: Annotated[str | None, Query(max_length=64, description="The visitor's IANA time zone")] = None,
) -> DecidedSlot | DecidedSlots:
    wanted = [s for s in (slots or "").split(",") if s] if slots else ([slot] if slot else [])
    if not wanted or len(wanted) > MAX_SLOTS or (slot and slots):
        raise bad_request("Name the slots to decide.", [FieldError("slots", f"1 to {MAX_SLOTS} slot ids (or `slot`)")])
    now = clock.now()
    headers = {k.lower(): v for k, v in (app.current_event.headers or {}).items()}
    caller = principal(app)
    user_id = userId
    if user_id and not caller.trusted:  # a user id in a page is a claim: without the back-end's proof, not used
        secret = access_keys().identity_secret(caller.source_id)
        user_id = user_id if proves(secret, user_id, None, userHash) else None
    request = decisions.DecideRequest(
        slots=list(dict.fromkeys(wanted)),
        anonymous_id=anonymousId,
        user_id=user_id,
        environment=request_environment(headers, url, referrer, timezone, now),
    )
    published = deps.definitions()
    answers = decisions.decide(deps.content(), published, request, now, deps.popular)
    observability.count(MANIFEST.name, observability.DECISIONS, len(answers))
    # A public caller learns what to show, never the visitor's profile id, segments or traits.
    if slot:
        return DecidedSlot.model_validate(answers[0])
    return DecidedSlots.model_validate({"slots": answers, "unknown": decisions.unknown_slots(published, request.slots)})


# ---- slots ----------------------------------------------------------------------------------------------------


@app.put("/v1/content/slots/<slotId>", summary="Create or replace a slot (variants or a list)", tags=["content"])
def put_slot(slotId: Annotated[str, Path(pattern=ID)], body: Annotated[SlotDefinition, Body()]) -> SlotView:
    saved = definitions.save_slot(deps.content(), slotId, body, deps.segment_definitions, clock.now())
    deps.definitions_changed()
    return SlotView.model_validate(saved)


@app.get("/v1/content/slots/<slotId>", summary="A slot and its variants", tags=["content"])
def get_slot(slotId: Annotated[str, Path(pattern=ID)]) -> SlotView:
    return SlotView.model_validate(definitions.slot_view(_found("slot", slotId)))


@app.get("/v1/content/slots", summary="Every slot", tags=["content"])
def list_slots() -> SlotList:
    return SlotList.model_validate({"slots": [definitions.slot_view(s) for s in deps.content().definitions("slot")]})


@app.delete("/v1/content/slots/<slotId>", summary="Delete a slot", tags=["content"], responses={204: REMOVED})
def delete_slot(slotId: Annotated[str, Path(pattern=ID)]) -> Response[None]:
    _delete("slot", slotId)
    deps.definitions_changed()
    return Response(status_code=204)


# ---- the catalogue --------------------------------------------------------------------------------------------


class ItemBody(ContentItem):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)
    id: str = Field(default="", max_length=100)  # type: ignore[assignment]


@app.put("/v1/content/items/<itemId>", summary="Create or replace a catalogue item", tags=["content"])
def put_item(itemId: Annotated[str, Path(pattern=ID)], body: Annotated[ItemBody, Body()]) -> ItemView:
    if body.id and body.id != itemId:
        raise bad_request("The item id is the path's.", [FieldError("id", f"must be {itemId} or left out")])
    item = ContentItem.model_validate({**body.as_json(), "id": itemId})
    definitions.save_items(deps.content(), [item], clock.now())
    deps.definitions_changed()
    return ItemView.model_validate(item.as_json())


@app.get("/v1/content/items/<itemId>", summary="A catalogue item", tags=["content"])
def get_item(itemId: Annotated[str, Path(pattern=ID)]) -> ItemView:
    return ItemView.model_validate(_found("item", itemId))


@app.get("/v1/content/items", summary="The catalogue", tags=["content"])
def list_items(
    topic: Annotated[str | None, Query(max_length=100)] = None,
    type: Annotated[str | None, Query(max_length=100)] = None,
) -> ItemList:
    items = deps.content().definitions("item")
    if topic:
        items = [i for i in items if topic in (i.get("topics") or [])]
    if type:
        items = [i for i in items if i.get("type") == type]
    return ItemList.model_validate({"items": items, "count": len(items)})


@app.delete("/v1/content/items/<itemId>", summary="Remove a catalogue item", tags=["content"], responses={204: REMOVED})
def delete_item(itemId: Annotated[str, Path(pattern=ID)]) -> Response[None]:
    _delete("item", itemId)
    deps.definitions_changed()
    return Response(status_code=204)


@app.post(
    "/v1/content/items/import",
    summary="Add or replace catalogue items in bulk: JSON lines or CSV (valid rows kept, bad rows reported)",
    tags=["content"],
)
def import_items() -> ItemImport:
    kind = (app.current_event.headers or {}).get("content-type", "").split(";")[0].strip().lower()
    formats = {"text/csv": "csv", "application/x-ndjson": "jsonl", "application/jsonl": "jsonl"}
    if kind not in formats:
        raise bad_request(
            "Send the items as CSV or JSON lines.",
            [FieldError("content-type", "text/csv or application/x-ndjson")],
        )
    try:
        text = body_bytes(app.current_event.raw_event).decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise bad_request("The file is not UTF-8.", [FieldError("body", "UTF-8 text")]) from error
    saved, faults = definitions.import_items(
        deps.content(),
        text.splitlines(),
        formats[kind],  # type: ignore[arg-type]
        clock.now(),
    )
    deps.definitions_changed()
    return ItemImport.model_validate(
        {"saved": saved, "failed": len(faults), "errors": [f.to_json() for f in faults[:1000]]}
    )


# ---- email templates ------------------------------------------------------------------------------------------


class TemplateBody(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    name: str = Field(default="", max_length=200)
    subject: str = Field(min_length=1, max_length=998)
    html: str = Field(min_length=1, max_length=512_000)
    text: str | None = Field(default=None, max_length=512_000, description="None: produced from the HTML.")
    preheader: str | None = Field(default=None, max_length=500)


class PreviewBody(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    profile_id: str | None = Field(
        default=None, alias="profileId", max_length=200, description="None: a neutral reader."
    )
    variables: dict[str, Any] = Field(default_factory=dict)


class TestSendBody(PreviewBody):
    to: str = Field(
        # an RFC 5322 dot-atom address with an ASCII domain: what SES takes (no quotes, brackets or controls)
        pattern=r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$",
        max_length=254,
        description="Where the test goes (a verified address while SES is in its sandbox).",
    )


class DraftPreviewBody(TemplateBody, PreviewBody):
    """A template as `PUT /v1/content/templates/{templateId}` takes it, and the reader to render it for."""


@app.post(
    "/v1/content/templates/preview",
    summary="An unsaved template (the PUT body) rendered for a chosen profile (or a neutral reader); nothing is saved",
    tags=["content"],
)
def preview_draft(body: Annotated[DraftPreviewBody, Body()]) -> RenderedDraft:
    source = TemplateSource.model_validate(body.model_dump(include=set(TemplateSource.model_fields), exclude_none=True))
    try:
        rendered = templates.render_draft(
            deps.content(), deps.definitions(), source, body.profile_id, body.variables, clock.now()
        )
    except templates.RenderRefused as refused:  # as the saved template's preview answers it
        raise bad_request(
            "The template cannot be rendered for this reader.", [FieldError("template", refused.reason)]
        ) from refused
    return RenderedDraft.model_validate(rendered)


@app.put(
    "/v1/content/templates/<templateId>", summary="Save an email template (Liquid); a new version", tags=["content"]
)
def put_template(templateId: Annotated[str, Path(pattern=ID)], body: Annotated[TemplateBody, Body()]) -> TemplateView:
    source = TemplateSource.model_validate(body.model_dump(exclude={"name"}, exclude_none=True))
    saved = templates.save_template(deps.content(), templateId, body.name or templateId, source, clock.now())
    return TemplateView.model_validate(saved)


@app.get("/v1/content/templates/<templateId>", summary="An email template", tags=["content"])
def get_template(templateId: Annotated[str, Path(pattern=ID)]) -> TemplateView:
    return TemplateView.model_validate(_found("template", templateId))


@app.get("/v1/content/templates", summary="Every email template", tags=["content"])
def list_templates() -> TemplateList:
    return TemplateList.model_validate({"templates": deps.content().definitions("template")})


@app.delete(
    "/v1/content/templates/<templateId>",
    summary="Delete an email template (refused while a running experiment targets it)",
    tags=["content"],
    responses={204: REMOVED},
)
def delete_template(templateId: Annotated[str, Path(pattern=ID)]) -> Response[None]:
    templates.delete_template(deps.content(), templateId)
    return Response(status_code=204)


@app.post(
    "/v1/content/templates/<templateId>/preview",
    summary="The template rendered for a chosen profile (or a neutral reader)",
    tags=["content"],
)
def preview_template(
    templateId: Annotated[str, Path(pattern=ID)], body: Annotated[PreviewBody, Body()]
) -> RenderedEmail:
    return RenderedEmail.model_validate(_render(templateId, body))


@app.post(
    "/v1/content/templates/<templateId>/test-send",
    summary="Send the template, rendered for a chosen profile, to a test address",
    tags=["content"],
)
def test_send_template(templateId: Annotated[str, Path(pattern=ID)], body: Annotated[TestSendBody, Body()]) -> SentTest:
    rendered = _render(templateId, body)
    try:
        message_id = deps.mailer().send_test(str(body.to), rendered["subject"], rendered["html"], rendered["text"])
    except RecipientRefused as refused:
        raise bad_request("SES refused to send the test.", [FieldError("to", refused.reason)]) from refused
    return SentTest.model_validate({"sent": True, "messageId": message_id, "subject": rendered["subject"]})


def _render(template_id: str, body: PreviewBody) -> dict[str, Any]:
    try:
        return templates.render_for_profile(
            deps.content(), deps.definitions(), template_id, body.profile_id, body.variables, clock.now()
        )
    except templates.RenderRefused as refused:
        raise bad_request(
            "The template cannot be rendered for this reader.", [FieldError("template", refused.reason)]
        ) from refused


# ---- experiments ----------------------------------------------------------------------------------------------


class StopBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    promote: bool = Field(default=False, description="Make the winner the slot's default (or the template's).")
    winner: str | None = Field(default=None, max_length=100, description="The variant to promote; default: best.")


@app.put("/v1/experiments/<experimentId>", summary="Define an experiment (a draft)", tags=["experiments"])
def put_experiment(
    experimentId: Annotated[str, Path(pattern=ID)], body: Annotated[ExperimentDefinition, Body()]
) -> ExperimentView:
    saved = definitions.save_experiment(deps.content(), experimentId, body, clock.now(), deps.segment_definitions)
    deps.definitions_changed()
    return ExperimentView.model_validate(saved)


@app.get("/v1/experiments/<experimentId>", summary="An experiment", tags=["experiments"])
def get_experiment(experimentId: Annotated[str, Path(pattern=ID)]) -> ExperimentView:
    return ExperimentView.model_validate(_found("experiment", experimentId))


@app.get("/v1/experiments", summary="Every experiment", tags=["experiments"])
def list_experiments() -> ExperimentList:
    return ExperimentList.model_validate({"experiments": deps.content().definitions("experiment")})


@app.post("/v1/experiments/<experimentId>/start", summary="Start an experiment", tags=["experiments"])
def start_experiment(experimentId: Annotated[str, Path(pattern=ID)]) -> ExperimentView:
    saved = definitions.set_experiment_status(deps.content(), experimentId, "running", clock.now())
    deps.definitions_changed()
    return ExperimentView.model_validate(saved)


@app.post(
    "/v1/experiments/<experimentId>/stop", summary="Stop an experiment, maybe promote its winner", tags=["experiments"]
)
def stop_experiment(
    experimentId: Annotated[str, Path(pattern=ID)], body: Annotated[StopBody | None, Body()] = None
) -> ExperimentView:
    choice = body or StopBody()
    saved = experiments.stop(deps.content(), experimentId, choice.promote, choice.winner, clock.now())
    deps.definitions_changed()
    return ExperimentView.model_validate(saved)


@app.get(
    "/v1/experiments/<experimentId>/results",
    summary="Users, conversions and statistics per variant",
    tags=["experiments"],
)
def experiment_results(experimentId: Annotated[str, Path(pattern=ID)]) -> ExperimentResults:
    return ExperimentResults.model_validate(experiments.results(deps.content(), experimentId))


# ---- analytics ------------------------------------------------------------------------------------------------


@app.get(
    "/v1/content/analytics",
    summary="Views, unique readers and clicks per audience and topic (or item, or link) per day",
    tags=["content"],
)
def content_analytics(
    start: Annotated[dt.date, Query(alias="from")],
    end: Annotated[dt.date, Query(alias="to")],
    by: Annotated[str, Query(pattern="^(topic|item|link)$")] = "topic",
) -> ContentAnalytics:
    # typed as dates, not patterns: 2026-02-30 is refused naming the parameter, not a 500 from the report
    return ContentAnalytics.model_validate(
        analytics.report(deps.content(), start.isoformat(), end.isoformat(), by, deps.definitions())
    )


handler = http_handler(app, MANIFEST.name, MANIFEST.function("api"))
