"""HTTP entry of the segments service: segments, scoring plans, questionnaires and their analytics (admin)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from pydantic import BaseModel, ConfigDict, Field

from services.common import clock
from services.common.api import View, http_handler, problem_response, resolver
from services.common.problems import FieldError, bad_request, not_found
from services.segments import app as deps
from services.segments.handlers.problems import SEGMENTS_ERRORS, SegmentsError, problem
from services.segments.manifest import MANIFEST
from services.segments.use_cases import analytics
from services.segments.use_cases.definitions import preview, save, segment_view

app = resolver("CxM segments API")


@app.exception_handler(SEGMENTS_ERRORS)
def _refused(error: SegmentsError) -> Response[Any]:
    return problem_response(problem(error))


CONDITION_EXAMPLE = {
    "all": [
        {
            "behaviour": {"type": "page", "where": [{"property": "path", "op": "startsWith", "value": "/recipes"}]},
            "op": "atLeast",
            "value": 2,
            "withinDays": 14,
        },
        {"environment": "country", "op": "in", "value": ["NL", "BE"]},
    ]
}


class SegmentBody(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=2000)
    condition: dict[str, Any] = Field(
        description="A condition tree: all / any / not over trait, behaviour, environment, score, tier, inSegment "
        "and questionnaire leaves (docs/segments.md).",
        examples=[CONDITION_EXAMPLE],
    )


class SegmentUpdate(SegmentBody):
    expected_version: int | None = Field(
        default=None, alias="expectedVersion", ge=1, description="Refuse (409) unless this is the current version."
    )


class PreviewBody(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    condition: dict[str, Any] = Field(examples=[CONDITION_EXAMPLE])
    sample_size: int = Field(default=10, ge=0, le=100, alias="sampleSize")


class PlanBody(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=2000)
    rules: list[dict[str, Any]] = Field(
        min_length=1,
        max_length=100,
        description="Each: `name`, `points` (negative removes), and `activity` (an event filter; with optional "
        "`maxPerDay` / `maxLifetime`) or `traits` (a trait condition, paid once).",
        examples=[
            [
                {"name": "purchase", "activity": {"event": "Order Completed"}, "points": 50},
                {"name": "has-email", "traits": {"trait": "email", "op": "exists"}, "points": 5},
            ]
        ],
    )
    decay: dict[str, Any] | None = Field(
        default=None, description='`{"expireAfterDays": 90}` or `{"percentPerWeek": 10}`.'
    )
    tiers: list[dict[str, Any]] = Field(
        default_factory=list,
        max_length=10,
        description="Lowest first; the first has no `min`.",
        examples=[[{"name": "cold"}, {"name": "warm", "min": 10}, {"name": "hot", "min": 50}]],
    )


class PlanUpdate(PlanBody):
    expected_version: int | None = Field(default=None, alias="expectedVersion", ge=1)


class QuestionnaireBody(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=2000)
    event: str | None = Field(
        default=None, max_length=200, description="The track event carrying answers (default `Questionnaire Answered`)."
    )
    questions: list[dict[str, Any]] = Field(min_length=2, max_length=50, description="Each `{id, text}`.")
    scale: dict[str, Any] | None = Field(default=None, description='`{"min": 1, "max": 7}` (the default).')
    key: dict[str, Any] = Field(
        description='`{"method": "centroids", "segments": [{"key", "name", "centroid": [...]}]}` or '
        '`{"method": "weights", "segments": [{"key", "weights": [...], "bias"}]}`.'
    )
    min_confidence: float = Field(default=0.0, ge=0, le=1, alias="minConfidence")


class QuestionnaireUpdate(QuestionnaireBody):
    expected_version: int | None = Field(default=None, alias="expectedVersion", ge=1)


# ---- answers ---------------------------------------------------------------------------------------------------


class Stored(View):
    version: int = Field(description="Each change is a new version, from 1.")
    createdAt: str
    updatedAt: str
    name: str


class SegmentView(Stored):
    """A segment as stored, with its backfill progress (and, when read, its current size)."""

    segmentId: str
    condition: dict[str, Any]


class SegmentList(View):
    segments: list[SegmentView]


class PlanView(Stored):
    planId: str
    rules: list[dict[str, Any]]


class PlanList(View):
    plans: list[PlanView]


class QuestionnaireView(Stored):
    questionnaireId: str
    questions: list[dict[str, Any]]
    key: dict[str, Any]


class QuestionnaireList(View):
    questionnaires: list[QuestionnaireView]


class SegmentPreview(View):
    count: int = Field(description="Profiles meeting the condition among those scanned.")
    scanned: int
    complete: bool = Field(description="Whether every profile was scanned.")
    sample: list[Any]


class SegmentOverlap(View):
    segmentIds: list[str]
    matrix: list[list[int]] = Field(description="Profiles in both of each pair; the diagonal is each one's size.")


class ProfileMemberships(View):
    profileId: str
    segments: list[dict[str, Any]] = Field(description="Each `{segmentId, since}`.")
    scores: dict[str, dict[str, Any]] = Field(description="Per plan: `{score, tier}`.")
    questionnaires: dict[str, dict[str, Any]] = Field(
        description="Per questionnaire: `{segment, confidence, complete}`."
    )
    traits: dict[str, Any]
    sequence: int


class SegmentVersions(View):
    versions: list[dict[str, Any]]


class SegmentSizes(View):
    segmentId: str
    days: list[dict[str, Any]] = Field(description="Per day: the size at its end, entries and exits.")


class PlanPyramid(View):
    planId: str
    tiers: list[dict[str, Any]] = Field(description="Top first: `{tier, min, profiles}`.")


class QuestionnaireMovements(View):
    questionnaireId: str
    from_: str = Field(alias="from")
    to: str
    movements: list[dict[str, Any]] = Field(description="`{from, to, profiles}` per pair of segments.")
    sizes: dict[str, int]


def _body(model: BaseModel) -> dict[str, Any]:
    return {k: v for k, v in model.model_dump(by_alias=True, exclude_none=True).items() if k != "expectedVersion"}


def _save(kind: str, model: BaseModel, definition_id: str | None = None) -> dict[str, Any]:
    saved = save(
        kind,
        _body(model),
        deps.segments(),
        deps.publisher(),
        definition_id,
        getattr(model, "expected_version", None),
    )
    deps.definitions_changed()
    return saved


def _found(kind: str, definition_id: str) -> dict[str, Any]:
    found = deps.segments().definition(kind, definition_id)
    if found is None:
        raise not_found(f"No {kind} {definition_id}.", f"{kind}Id")
    return found


def _days(first: str | None, last: str | None) -> tuple[dt.date, dt.date]:
    today = clock.now().date()
    try:
        end = analytics.parse_day(last, today)
        start = analytics.parse_day(first, end - dt.timedelta(days=29))
    except ValueError:
        raise bad_request("Dates are ISO dates such as 2026-03-02.", [FieldError("from", "not an ISO date")]) from None
    if start > end or (end - start).days >= analytics.MAX_DAYS:
        raise bad_request(
            "`from` must not be after `to`, and the range is at most a year.",
            [FieldError("from", f"must be on or before `to` and within {analytics.MAX_DAYS} days of it")],
        )
    return start, end


# ---- segments -------------------------------------------------------------------------------------------------


@app.post("/v1/segments", summary="Define a segment (its backfill starts at once)", tags=["segments"], status_code=201)
def create_segment(body: Annotated[SegmentBody, Body()]) -> SegmentView:
    return SegmentView.model_validate(_save("segment", body))


@app.get("/v1/segments", summary="List segments", tags=["segments"])
def list_segments() -> SegmentList:
    return SegmentList.model_validate({"segments": deps.segments().definitions().segments})


@app.post("/v1/segments/preview", summary="Count and sample current profiles meeting a condition", tags=["segments"])
def preview_segment(body: Annotated[PreviewBody, Body()]) -> SegmentPreview:
    repo = deps.segments()
    return SegmentPreview.model_validate(preview(body.condition, repo, deps.catalog(repo), body.sample_size))


@app.get("/v1/segments/overlap", summary="Profiles in both of each pair of the chosen segments", tags=["analytics"])
def segment_overlap(
    segmentIds: Annotated[str, Query(min_length=1, max_length=2000, description="Comma-separated segment ids")],
) -> SegmentOverlap:
    ids = [s for s in segmentIds.split(",") if s]
    if not 1 <= len(ids) <= 20:
        raise bad_request("Choose 1 to 20 segments.", [FieldError("segmentIds", "1 to 20 comma-separated ids")])
    return SegmentOverlap.model_validate(analytics.overlap(deps.segments(), ids))


@app.get(
    "/v1/segments/memberships/<profileId>",
    summary="A profile's segments, scores and questionnaire segments",
    tags=["segments"],
)
def profile_memberships(profileId: str) -> ProfileMemberships:
    repo = deps.segments()
    return ProfileMemberships.model_validate(analytics.memberships(repo, deps.catalog(repo), profileId))


@app.get("/v1/segments/<segmentId>", summary="A segment, its backfill progress and its size", tags=["segments"])
def get_segment(segmentId: str) -> SegmentView:
    return SegmentView.model_validate(segment_view(deps.segments(), segmentId))


@app.put("/v1/segments/<segmentId>", summary="Change a segment (a new version; backfilled)", tags=["segments"])
def update_segment(segmentId: str, body: Annotated[SegmentUpdate, Body()]) -> SegmentView:
    return SegmentView.model_validate(_save("segment", body, segmentId))


@app.get("/v1/segments/<segmentId>/versions", summary="Every saved version of a segment", tags=["segments"])
def segment_versions(segmentId: str) -> SegmentVersions:
    _found("segment", segmentId)
    return SegmentVersions.model_validate({"versions": deps.segments().history("segment", segmentId)})


@app.get("/v1/segments/<segmentId>/sizes", summary="A segment's size at the end of each day", tags=["analytics"])
def segment_sizes(
    segmentId: str,
    first: Annotated[str | None, Query(alias="from", max_length=10)] = None,
    last: Annotated[str | None, Query(alias="to", max_length=10)] = None,
) -> SegmentSizes:
    _found("segment", segmentId)
    start, end = _days(first, last)
    return SegmentSizes.model_validate(analytics.segment_sizes(deps.segments(), segmentId, start, end))


# ---- scoring plans --------------------------------------------------------------------------------------------


@app.post("/v1/scoring/plans", summary="Define a scoring plan", tags=["scoring"], status_code=201)
def create_plan(body: Annotated[PlanBody, Body()]) -> PlanView:
    return PlanView.model_validate(_save("plan", body))


@app.get("/v1/scoring/plans", summary="List scoring plans", tags=["scoring"])
def list_plans() -> PlanList:
    return PlanList.model_validate({"plans": deps.segments().definitions().plans})


@app.get("/v1/scoring/plans/<planId>", summary="A scoring plan", tags=["scoring"])
def get_plan(planId: str) -> PlanView:
    return PlanView.model_validate(_found("plan", planId))


@app.put("/v1/scoring/plans/<planId>", summary="Change a scoring plan (a new version)", tags=["scoring"])
def update_plan(planId: str, body: Annotated[PlanUpdate, Body()]) -> PlanView:
    return PlanView.model_validate(_save("plan", body, planId))


@app.get(
    "/v1/scoring/plans/<planId>/pyramid",
    summary="Profiles per tier (the engagement pyramid); with `days` or `from`/`to`, also per day",
    tags=["analytics"],
)
def plan_pyramid(
    planId: str,
    first: Annotated[str | None, Query(alias="from", max_length=10, description="First day (YYYY-MM-DD)")] = None,
    last: Annotated[str | None, Query(alias="to", max_length=10, description="Last day (default today)")] = None,
    days: Annotated[int | None, Query(ge=1, le=analytics.MAX_DAYS, description="Or: the last N days")] = None,
) -> PlanPyramid:
    repo = deps.segments()
    if days is not None and not (first or last):
        today = clock.now().date()
        first, last = (today - dt.timedelta(days=days - 1)).isoformat(), today.isoformat()
    window = _days(first, last) if first or last else None
    return PlanPyramid.model_validate(analytics.pyramid(repo, planId, window))


# ---- questionnaires -------------------------------------------------------------------------------------------


@app.post(
    "/v1/questionnaires",
    summary="Define a questionnaire and its segmentation key",
    tags=["questionnaires"],
    status_code=201,
)
def create_questionnaire(body: Annotated[QuestionnaireBody, Body()]) -> QuestionnaireView:
    return QuestionnaireView.model_validate(_save("questionnaire", body))


@app.get("/v1/questionnaires", summary="List questionnaires", tags=["questionnaires"])
def list_questionnaires() -> QuestionnaireList:
    return QuestionnaireList.model_validate({"questionnaires": deps.segments().definitions().questionnaires})


@app.get("/v1/questionnaires/<questionnaireId>", summary="A questionnaire", tags=["questionnaires"])
def get_questionnaire(questionnaireId: str) -> QuestionnaireView:
    return QuestionnaireView.model_validate(_found("questionnaire", questionnaireId))


@app.put(
    "/v1/questionnaires/<questionnaireId>", summary="Change a questionnaire (a new version)", tags=["questionnaires"]
)
def update_questionnaire(questionnaireId: str, body: Annotated[QuestionnaireUpdate, Body()]) -> QuestionnaireView:
    return QuestionnaireView.model_validate(_save("questionnaire", body, questionnaireId))


@app.get(
    "/v1/questionnaires/<questionnaireId>/movements",
    summary="Movements between a questionnaire's segments, and their sizes",
    tags=["analytics"],
)
def questionnaire_movements(
    questionnaireId: str,
    first: Annotated[str | None, Query(alias="from", max_length=10)] = None,
    last: Annotated[str | None, Query(alias="to", max_length=10)] = None,
) -> QuestionnaireMovements:
    start, end = _days(first, last)
    repo = deps.segments()
    return QuestionnaireMovements.model_validate(analytics.movements(repo, questionnaireId, start, end))


handler = http_handler(app, MANIFEST.name, MANIFEST.function("api"))
