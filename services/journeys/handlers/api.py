"""HTTP entry of the journeys service: the admin journeys API (definitions, lifecycle, runs, analytics)."""

from __future__ import annotations

import json
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from pydantic import BaseModel, ConfigDict, Field

from services.common import clock
from services.common.api import View, http_handler, problem_response, resolver
from services.common.problems import FieldError, bad_request, not_found
from services.journeys import app as deps
from services.journeys.domain import library
from services.journeys.domain.overview import MAX_DAYS
from services.journeys.handlers.problems import JOURNEY_ERRORS, JourneyError, problem
from services.journeys.manifest import MANIFEST
from services.journeys.use_cases import analytics, definitions
from services.journeys.use_cases.entries import enter

app = resolver("CxM journeys API")


@app.exception_handler(JOURNEY_ERRORS)
def _refused(error: JourneyError) -> Response[Any]:
    return problem_response(problem(error))


class Enrolment(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    profile_ids: list[str] = Field(alias="profileIds", min_length=1, max_length=1000)
    key: str = Field(default="", max_length=200, description="An enrolment key: the same call twice enrols once.")


def _document() -> Any:
    """The journey document as sent: validated by the definition parser, which names every node path."""
    try:
        return json.loads(app.current_event.body or "null")
    except ValueError:
        raise bad_request("The body is not JSON.", [FieldError("body", "not valid JSON")]) from None


def _publish(journey_id: str, repo: Any) -> dict[str, Any]:
    """Publish the draft, and let this container's cache of live journeys see it at once."""
    saved = definitions.publish(
        journey_id,
        repo,
        deps.directory(),
        deps.runner(),
        deps.mailer(),
        deps.machine_functions(),
        deps.webhooks_allow_private(),
        deps.coupons(),
    )
    deps.journeys_changed()
    return saved


# ---- answers ---------------------------------------------------------------------------------------------------


class JourneySummary(View):
    journeyId: str
    status: str = Field(description="draft, active, paused or archived.")


class JourneyView(JourneySummary):
    """A journey with its draft, its current definition and its published versions."""

    definition: Any
    versions: list[dict[str, Any]] = Field(description="`{version, publishedAt, machineArn}` per published version.")


class JourneyList(View):
    journeys: list[JourneySummary]


class JourneyTemplate(View):
    name: str
    title: str
    description: str
    parameters: Any
    journeys: list[Any] = Field(description="The names of the template's journeys.")


class JourneyTemplateList(View):
    templates: list[JourneyTemplate]


class JourneyTemplateDetail(JourneyTemplate):
    definitions: list[dict[str, Any]]


class InstalledTemplate(View):
    template: str
    journeys: list[JourneyView]


class Enrolled(View):
    results: dict[str, str] = Field(description="Per profile: entered, or why not.")
    entered: int


class JourneyVersion(View):
    version: int


class JourneyRuns(View):
    runs: list[dict[str, Any]]


class JourneyAnalytics(View):
    journeyId: str
    versions: list[dict[str, Any]] = Field(description="Per version: counts per node and branch, and the journey's.")


class ProfileRuns(View):
    profileId: str
    runs: list[dict[str, Any]] = Field(description="Each run with the messages it sent.")


@app.post(
    "/v1/journeys",
    summary="Save a journey (a draft; `?publish=true` publishes it at once)",
    tags=["journeys"],
    status_code=201,
)
def create_journey(publish: Annotated[bool, Query()] = False) -> JourneyView:
    document = _document()
    legacy = isinstance(document, dict) and "trigger" in document and "nodes" not in document
    repo = deps.journeys()
    saved = definitions.create(document, repo, deps.directory(), deps.webhooks_allow_private())
    if publish or legacy:  # the walking skeleton's one-call journeys are live at once, as they always were
        saved = _publish(saved["journeyId"], repo)
    return JourneyView.model_validate(definitions.journey_view(saved, repo))


@app.get("/v1/journeys", summary="List journeys", tags=["journeys"])
def list_journeys() -> JourneyList:
    repo = deps.journeys()
    return JourneyList.model_validate(
        {"journeys": [{k: v for k, v in j.items() if k not in ("current", "draft", "paused")} for j in repo.journeys()]}
    )


class InstallBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    parameters: dict[str, str | int | float | bool] = Field(
        default_factory=dict, description="The template's parameters (GET the template for their meaning)."
    )
    publish: bool = Field(default=False, description="Publish at once (default: install drafts to review).")


class DaySends(View):
    day: str = Field(description="A UTC day, YYYY-MM-DD.")
    sends: int
    byChannel: dict[str, int]


class JourneysOverview(View):
    active: int = Field(description="Journeys taking entries now (published, not paused or archived).")
    sendsPerDay: list[DaySends] = Field(description="The last `days` UTC days, oldest first, today last.")
    sendsByChannel: dict[str, int] = Field(description="Sends over those days per channel (email, sms, webhook).")


@app.get(
    "/v1/journeys/stats",
    summary="Overview: active journeys, sends per day and channel",
    description="Each send is counted once (with its node's `sent` counter, in one write), on its UTC day.",
    tags=["journeys"],
)
def journeys_stats(days: Annotated[int, Query(ge=1, le=MAX_DAYS)] = 7) -> JourneysOverview:
    return JourneysOverview.model_validate(analytics.overview(deps.journeys(), days))


@app.get("/v1/journeys/templates", summary="Ready journey templates", tags=["journeys"])
def list_templates() -> JourneyTemplateList:
    return JourneyTemplateList.model_validate({"templates": [library.load(name).summary() for name in library.names()]})


@app.get("/v1/journeys/templates/<name>", summary="A journey template, its parameters and journeys", tags=["journeys"])
def get_template(name: str) -> JourneyTemplateDetail:
    template = _template(name)
    return JourneyTemplateDetail.model_validate({**template.summary(), "definitions": list(template.journeys)})


@app.post(
    "/v1/journeys/templates/<name>/install",
    summary="Install a template: its journeys as drafts (or published), with your parameters",
    tags=["journeys"],
    status_code=201,
)
def install_template(name: str, body: Annotated[InstallBody, Body()]) -> InstalledTemplate:
    template = _template(name)
    try:
        documents = library.fill(template, body.parameters)
    except library.MissingParameters as missing:
        raise bad_request("Give the template's parameters.", [FieldError(p, m) for p, m in missing.faults]) from missing
    repo = deps.journeys()
    for document in documents:  # every journey is checked before any is saved
        definitions.validate(document, deps.directory(), deps.webhooks_allow_private())
    installed = []
    for document in documents:
        saved = definitions.create(document, repo, deps.directory(), deps.webhooks_allow_private())
        if body.publish:
            saved = _publish(saved["journeyId"], repo)
        installed.append(definitions.journey_view(saved, repo))
    return InstalledTemplate.model_validate({"template": name, "journeys": installed})


def _template(name: str) -> library.Template:
    try:
        return library.load(name)
    except library.UnknownTemplate as unknown:
        raise not_found(f"No journey template {name}; GET /v1/journeys/templates lists them.", "name") from unknown


@app.get("/v1/journeys/<journeyId>", summary="A journey: draft, current definition, versions", tags=["journeys"])
def get_journey(journeyId: str) -> JourneyView:
    repo = deps.journeys()
    return JourneyView.model_validate(
        definitions.journey_view(definitions.require(repo.journey(journeyId), journeyId), repo)
    )


@app.put("/v1/journeys/<journeyId>", summary="Replace a journey's draft", tags=["journeys"])
def update_journey(journeyId: str) -> JourneyView:
    repo = deps.journeys()
    saved = definitions.update(journeyId, _document(), repo, deps.directory(), deps.webhooks_allow_private())
    return JourneyView.model_validate(definitions.journey_view(saved, repo))


@app.post("/v1/journeys/<journeyId>/publish", summary="Publish the draft as a new version", tags=["journeys"])
def publish_journey(journeyId: str) -> JourneyView:
    repo = deps.journeys()
    saved = _publish(journeyId, repo)
    return JourneyView.model_validate(definitions.journey_view(saved, repo))


@app.post(
    "/v1/journeys/<journeyId>/pause", summary="Pause: no new entries; runs hold at their next action", tags=["journeys"]
)
def pause_journey(journeyId: str) -> JourneySummary:
    saved = definitions.set_status(journeyId, "paused", deps.journeys())
    deps.journeys_changed()
    return JourneySummary.model_validate(saved)


@app.post("/v1/journeys/<journeyId>/resume", summary="Resume: held runs go on", tags=["journeys"])
def resume_journey(journeyId: str) -> JourneySummary:
    saved = definitions.resume(journeyId, deps.journeys(), deps.runner())
    deps.journeys_changed()
    return JourneySummary.model_validate(saved)


@app.post("/v1/journeys/<journeyId>/archive", summary="Archive: every run stops", tags=["journeys"])
def archive_journey(journeyId: str) -> JourneySummary:
    saved = definitions.archive(journeyId, deps.journeys(), deps.runner(), deps.publisher())
    deps.journeys_changed()
    return JourneySummary.model_validate(saved)


@app.post(
    "/v1/journeys/<journeyId>/enrol", summary="Enrol profiles (journeys with the `api` trigger)", tags=["journeys"]
)
def enrol(journeyId: str, body: Annotated[Enrolment, Body()]) -> Enrolled:
    repo = deps.journeys()
    deps.journeys_changed()  # a fresh read: a journey published from another container may not be cached here
    journey = deps.catalog(repo).journeys.get(journeyId)
    if journey is None or journey.status != "active":
        raise not_found(f"No active journey {journeyId}.", "journeyId")
    key = body.key or clock.iso(clock.now())
    results = {
        profile_id: enter(
            journey,
            profile_id,
            f"api#{key}",
            repo,
            deps.runner(),
            deps.directory(),
            deps.publisher(),
            context={"enrolledBy": "api"},
        )
        for profile_id in dict.fromkeys(body.profile_ids)
    }
    return Enrolled.model_validate({"results": results, "entered": sum(1 for r in results.values() if r == "entered")})


@app.get("/v1/journeys/<journeyId>/versions/<version>", summary="One published version", tags=["journeys"])
def get_version(journeyId: str, version: str) -> JourneyVersion:
    if not version.isdigit():
        raise bad_request("The version is a number.", [FieldError("version", "not a number")])
    found = deps.journeys().version(journeyId, int(version))
    if found is None:
        raise not_found(f"Journey {journeyId} has no version {version}.", "version")
    return JourneyVersion.model_validate(found)


@app.get("/v1/journeys/<journeyId>/runs", summary="A journey's runs, by state", tags=["journeys"])
def journey_runs(journeyId: str, state: Annotated[str | None, Query()] = None) -> JourneyRuns:
    allowed = ("running", "completed", "converted", "exited", "failed", "archived", "holdout")
    if state is not None and state not in allowed:
        raise bad_request(f"state is one of {', '.join(allowed)}", [FieldError("state", "unknown state")])
    return JourneyRuns.model_validate({"runs": deps.journeys().runs_of_journey(journeyId, state)})


@app.get("/v1/journeys/<journeyId>/analytics", summary="Counts per version, node and branch", tags=["journeys"])
def journey_analytics(journeyId: str) -> JourneyAnalytics:
    repo = deps.journeys()
    definitions.require(repo.journey(journeyId), journeyId)
    return JourneyAnalytics.model_validate(analytics.analytics(journeyId, repo))


@app.get("/v1/journeys/runs/<profileId>", summary="A profile's journey runs, with what each sent", tags=["journeys"])
def profile_runs(profileId: str) -> ProfileRuns:
    return ProfileRuns.model_validate(
        {"profileId": profileId, "runs": analytics.profile_runs(profileId, deps.journeys())}
    )


handler = http_handler(app, MANIFEST.name, MANIFEST.function("api"))
