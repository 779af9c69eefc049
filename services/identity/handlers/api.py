"""HTTP entry of identity: the admin profiles API, privacy (export, erasure, suppression, unsubscribe), settings."""

from __future__ import annotations

from html import escape
from typing import Annotated, Any
from urllib.parse import unquote

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from services.common.api import View, http_handler, resolver
from services.common.problems import FieldError, bad_request
from services.identity import app as deps
from services.identity.domain.profiles import MergePolicy, looks_like_email, normalise_email
from services.identity.domain.records import IdentitySettings
from services.identity.domain.stats import MAX_DAYS
from services.identity.handlers import problems
from services.identity.manifest import MANIFEST
from services.identity.use_cases import merges, overview, privacy, profiles, reads, settings

app = resolver("CxM identity API")
problems.register(app)

TRAIT_NAME = r"^[A-Za-z0-9_\-]{1,100}$"


class TraitsPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    traits: dict[str, Any] = Field(
        min_length=1,
        max_length=200,
        description="Trait name → value; `null` removes the trait. Values set now win over older ones.",
        examples=[{"crmStage": "customer", "phone": "+31 20 123 4567", "nickname": None}],
    )

    @field_validator("traits")
    @classmethod
    def _names(cls, traits: dict[str, Any]) -> dict[str, Any]:
        for name in traits:
            if not name or len(name) > 100:
                raise ValueError(f"trait names are 1 to 100 characters: {name[:20]!r}")
        return traits


class ConsentBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tracking: bool | None = None
    email_marketing: bool | None = None
    personalisation: bool | None = None
    source: str = Field(default="admin", min_length=1, max_length=100, description="Where the decision came from.")

    @model_validator(mode="after")
    def _some(self) -> ConsentBody:
        if self.decisions() == {}:
            raise ValueError("give at least one of tracking, email_marketing, personalisation")
        return self

    def decisions(self) -> dict[str, bool]:
        return {
            p: v
            for p, v in (
                ("tracking", self.tracking),
                ("email_marketing", self.email_marketing),
                ("personalisation", self.personalisation),
            )
            if v is not None
        }


class MergeBody(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    surviving_profile_id: str = Field(alias="survivingProfileId", min_length=1, max_length=100)
    merged_profile_id: str = Field(alias="mergedProfileId", min_length=1, max_length=100)


class PersonRef(BaseModel):
    """Exactly one way of naming the person."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    profile_id: str | None = Field(default=None, alias="profileId", max_length=100)
    email: str | None = Field(default=None, max_length=320)
    user_id: str | None = Field(default=None, alias="userId", max_length=200)
    anonymous_id: str | None = Field(default=None, alias="anonymousId", max_length=200)

    @model_validator(mode="after")
    def _one(self) -> PersonRef:
        given = [v for v in (self.profile_id, self.email, self.user_id, self.anonymous_id) if v]
        if len(given) != 1:
            raise ValueError("give exactly one of profileId, email, userId, anonymousId")
        return self

    def naming(self) -> tuple[str, str]:
        """How the person is named: (profileId, email, userId or anonymousId, the value)."""
        given = (
            ("profileId", self.profile_id),
            ("email", self.email),
            ("userId", self.user_id),
            ("anonymousId", self.anonymous_id),
        )
        return next((kind, value) for kind, value in given if value)


class PolicyBody(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    link_anonymous_on_email: bool = Field(
        default=True,
        alias="linkAnonymousOnEmail",
        description="An unverified email (public client) links anonymous activity to the profile owning it.",
    )
    merge_known_on_verified: bool = Field(
        default=True,
        alias="mergeKnownOnVerified",
        description="Two known profiles merge on a verified identifier (signed email-click profile reference).",
    )


class SettingsBody(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    merge_policy: PolicyBody = Field(default_factory=PolicyBody, alias="mergePolicy")
    retention_days: int = Field(
        default=395, alias="retentionDays", ge=30, le=3650, description="Timeline retention (TTL), in days."
    )


def _person(ref: PersonRef) -> str:
    return reads.find_person(deps.profiles(), *ref.naming())


# ---- profiles ------------------------------------------------------------------------------------------------


# ---- answers ---------------------------------------------------------------------------------------------------


class ProfileView(View):
    """A profile (an old, merged id resolves to the survivor, named in `resolvedFrom`)."""

    profileId: str
    createdAt: str
    identities: Any
    traits: dict[str, Any]
    computed: dict[str, Any]
    consent: dict[str, Any]
    mergedFrom: list[str]


class PatchedProfile(ProfileView):
    changed: dict[str, Any] = Field(description="Each trait that changed, with its new value (null: removed).")


class ProfileMatch(View):
    profileId: str
    traits: dict[str, Any]


class ProfileSearch(View):
    profiles: list[ProfileMatch]
    next: str | None = Field(description="The cursor of the next page; none after the last.")


class Merged(View):
    mergeId: str
    survivingProfileId: str
    mergedProfileId: str
    changed: Any


class Unmerged(View):
    mergeId: str
    survivingProfileId: str
    restoredProfileId: str
    status: str
    undoneAt: str | None


class Timeline(View):
    profileId: str
    items: list[dict[str, Any]]
    next: str | None


class ConsentRecorded(View):
    profileId: str
    consent: dict[str, Any]
    changed: list[str]


class MergeHistory(View):
    profileId: str
    merges: list[dict[str, Any]]


class Erased(View):
    profileId: str
    profileIds: list[str]
    identifiers: int
    timelineEntries: int
    erasedAt: str


class Suppression(View):
    email: str
    suppressed: bool


class SuppressionEntry(View):
    email: str
    reason: str = Field(description="Why: `bounce` (a permanent bounce) or `complaint` (marked as spam).")
    at: str = Field(description="When the address was put on the list (ISO 8601).")


class SuppressionList(View):
    suppressions: list[SuppressionEntry]
    next: str | None = Field(description="The cursor of the next page; null on the last.")


class IdentitySettingsView(View):
    mergePolicy: dict[str, bool]
    retentionDays: int | None


@app.get("/v1/profiles", summary="Look up a profile by email, user id or anonymous id", tags=["profiles"])
def lookup_profile(
    email: Annotated[str | None, Query(max_length=320)] = None,
    userId: Annotated[str | None, Query(max_length=200)] = None,
    anonymousId: Annotated[str | None, Query(max_length=200)] = None,
) -> ProfileView:
    given = [(k, v) for k, v in (("email", email), ("userId", userId), ("anonymousId", anonymousId)) if v]
    if len(given) != 1:
        raise bad_request(
            "Give exactly one of email, userId, anonymousId.",
            [FieldError("email", "exactly one of email, userId, anonymousId is required")],
        )
    name, value = given[0]
    return ProfileView.model_validate(reads.lookup_profile(reads.IDENTIFIER_KINDS[name], value, deps.profiles()))


@app.get("/v1/profiles/search", summary="Profiles whose trait has a value (a paged scan)", tags=["profiles"])
def search_profiles(
    trait: Annotated[str, Query(pattern=TRAIT_NAME)],
    value: Annotated[str, Query(max_length=500)],
    limit: Annotated[int, Query(ge=1, le=100)] = 25,
    cursor: Annotated[str | None, Query(max_length=2000)] = None,
) -> ProfileSearch:
    return ProfileSearch.model_validate(reads.search_profiles(deps.profiles(), trait, value, limit, cursor))


class ProfileCounts(View):
    known: int = Field(description="Profiles an email or a user id points at.")
    anonymous: int = Field(description="Profiles of devices and anonymous ids only.")


class DayEvents(View):
    day: str = Field(description="A UTC day, YYYY-MM-DD.")
    events: int


class ProfileStats(View):
    profiles: ProfileCounts
    eventsPerDay: list[DayEvents] = Field(description="The last `days` UTC days, oldest first, today last.")


@app.get(
    "/v1/profiles/stats",
    summary="Overview: profiles known and anonymous, events recorded per day",
    description="Exact counters kept by identity's own writes: a redelivered event is not counted again, a merged "
    "profile counts once (as its survivor), an erased one not at all. An event counts on its own UTC day.",
    tags=["profiles"],
)
def profile_stats(days: Annotated[int, Query(ge=1, le=MAX_DAYS)] = 14) -> ProfileStats:
    return ProfileStats.model_validate(overview.profile_stats(deps.profiles(), days))


@app.post("/v1/profiles/merge", summary="Merge two profiles (a verified decision: known ones too)", tags=["merges"])
def merge_profiles(body: Annotated[MergeBody, Body()]) -> Merged:
    log = merges.merge_by_admin(deps.profiles(), deps.publisher(), body.surviving_profile_id, body.merged_profile_id)
    return Merged.model_validate(
        {
            "mergeId": log.merge_id,
            "survivingProfileId": log.survivor,
            "mergedProfileId": log.folded_id,
            "changed": log.changed(),
        }
    )


@app.get(
    "/v1/profiles/<profileId>",
    summary="A profile: traits, computed traits, consent, recent activity",
    tags=["profiles"],
)
def get_profile(profileId: str) -> ProfileView:
    return ProfileView.model_validate(reads.profile_view(profileId, deps.profiles()))


@app.patch("/v1/profiles/<profileId>", summary="Set or clear traits (CRM fields)", tags=["profiles"])
def patch_profile(profileId: str, body: Annotated[TraitsPatch, Body()]) -> PatchedProfile:
    return PatchedProfile.model_validate(
        profiles.patch_traits(deps.profiles(), deps.publisher(), profileId, body.traits)
    )


@app.delete("/v1/profiles/<profileId>", summary="Erase the person (as POST /v1/privacy/erase)", tags=["privacy"])
def delete_profile(profileId: str) -> Erased:
    return Erased.model_validate(erase(PersonRef(profileId=profileId)))


@app.get("/v1/profiles/<profileId>/timeline", summary="A profile's activity, newest first, paged", tags=["profiles"])
def get_timeline(
    profileId: str,
    type: Annotated[str | None, Query(max_length=100, description="Comma-separated: page,track,identify,…")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=4000)] = None,
) -> Timeline:
    types = [t.strip() for t in (type or "").split(",") if t.strip()]
    return Timeline.model_validate(
        reads.timeline_page(profileId, deps.profiles(), limit=limit, types=types, cursor=cursor)
    )


@app.put("/v1/profiles/<profileId>/consent", summary="Record consent decisions", tags=["privacy"])
def put_consent(profileId: str, body: Annotated[ConsentBody, Body()]) -> ConsentRecorded:
    return ConsentRecorded.model_validate(
        privacy.set_consent(deps.profiles(), deps.publisher(), profileId, body.decisions(), body.source)
    )


@app.get("/v1/profiles/<profileId>/merges", summary="The merges into a profile (the merge log)", tags=["merges"])
def get_merges(profileId: str) -> MergeHistory:
    return MergeHistory.model_validate(reads.merge_history(profileId, deps.profiles()))


@app.post("/v1/profiles/<profileId>/merges/<mergeId>/undo", summary="Undo a merge (un-merge)", tags=["merges"])
def undo_merge(profileId: str, mergeId: str) -> Unmerged:
    log = merges.unmerge(deps.profiles(), deps.publisher(), profileId, mergeId)
    return Unmerged.model_validate(
        {
            "mergeId": log.merge_id,
            "survivingProfileId": log.survivor,
            "restoredProfileId": log.folded_id,
            "status": log.status,
            "undoneAt": log.undone_at,
        }
    )


# ---- privacy ---------------------------------------------------------------------------------------------------


class PersonExport(BaseModel):
    """A person's data export: identity's part and one section per service, all or nothing."""

    model_config = ConfigDict(populate_by_name=True, extra="allow")
    exported_at: str = Field(alias="exportedAt", description="When the document was made (ISO-8601 UTC).")
    profile_id: str = Field(alias="profileId", description="The person's profile (the survivor of any merges).")
    profile_ids: list[str] = Field(
        alias="profileIds", description="The profile and every profile merged into it: what each service was asked."
    )
    identity: dict[str, Any] = Field(
        description="`profiles` (identities, merged into), `traits` (value, setAt), `computed`, `consent`, "
        "`suppression`, `merges`, `activity` (the whole timeline, newest first)."
    )
    segments: dict[str, Any] = Field(
        description="`profiles[]`: memberships (segment, since), scores per plan with tier and points, behaviour "
        "counters per event filter, questionnaire answers and segment, the trait and context snapshot, what was "
        "announced about the person."
    )
    journeys: dict[str, Any] = Field(description="`entries` (journeys entered) and `messages` (sends).")
    content: dict[str, Any] = Field(description="`segmentMemberships`: the read model decisions use, per profile.")


@app.post(
    "/v1/privacy/export",
    summary="Everything held about a person, from every service, as one document",
    description="All or nothing: when a service cannot give its part the answer is a problem (502 when it failed, "
    "503 when it could not be asked) naming the service, never a partial document.",
    tags=["privacy"],
)
def export(body: Annotated[PersonRef, Body()]) -> PersonExport:
    document = privacy.export(deps.profiles(), _person(body), deps.export_parts())
    return PersonExport.model_validate(document)


@app.post("/v1/privacy/erase", summary="Erase a person from identity (and tell every service)", tags=["privacy"])
def erase(body: Annotated[PersonRef, Body()]) -> Erased:
    return Erased.model_validate(privacy.erase(deps.profiles(), deps.publisher(), _person(body)))


def _address(email: str) -> str:
    address = normalise_email(unquote(email))
    if not looks_like_email(address):
        raise bad_request("Not an email address.", [FieldError("email", "not an email address")])
    return address


@app.get("/v1/privacy/suppressions", summary="The suppression list, newest first (paged)", tags=["privacy"])
def list_suppressions(
    limit: Annotated[int, Query(ge=1, le=100)] = 25,
    cursor: Annotated[str | None, Query(max_length=2000)] = None,
) -> SuppressionList:
    return SuppressionList.model_validate(privacy.suppression_list(deps.profiles(), limit, cursor))


@app.get("/v1/privacy/suppressions/<email>", summary="Whether an address is on the suppression list", tags=["privacy"])
def get_suppression(email: str) -> Suppression:
    return Suppression.model_validate(privacy.suppression(deps.profiles(), _address(email)))


@app.delete("/v1/privacy/suppressions/<email>", summary="Take an address off the suppression list", tags=["privacy"])
def delete_suppression(email: str) -> Suppression:
    return Suppression.model_validate(privacy.unsuppress(deps.profiles(), _address(email)))


_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width"></head><body><main><h1>{title}</h1>{body}</main></body></html>"""


def _page(title: str, body: str, status: int = 200) -> Response[str]:
    return Response(
        status_code=status,
        content_type="text/html; charset=utf-8",
        body=_PAGE.format(title=escape(title), body=body),
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )


_HTML: OpenAPIResponse = {
    "description": "The page.",
    "content": {"text/html; charset=utf-8": {"schema": {"type": "string"}}},
}


@app.get(
    "/v1/privacy/unsubscribe",
    summary="The unsubscribe page of an email link (asks to confirm)",
    tags=["privacy"],
    responses={200: _HTML},
)
def unsubscribe_page(token: Annotated[str, Query(min_length=10, max_length=300)]) -> Response[str]:
    # A GET never unsubscribes: mail scanners follow links. The page posts the one-click form (RFC 8058).
    return _page(
        "Unsubscribe",
        '<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click">'
        '<p>Stop receiving these emails?</p><button type="submit">Unsubscribe</button></form>',
    )


@app.post(
    "/v1/privacy/unsubscribe",
    summary="One-click unsubscribe (RFC 8058 List-Unsubscribe-Post)",
    tags=["privacy"],
    responses={200: _HTML},
)
def unsubscribe(token: Annotated[str, Query(min_length=10, max_length=300)]) -> Response[str]:
    privacy.unsubscribe(deps.profiles(), deps.publisher(), token, deps.signing_key())
    return _page("Unsubscribed", "<p>You will not receive these emails any more.</p>")


@app.get(
    "/v1/consent/confirm",
    summary="The confirmation page of a double opt-in email (asks to confirm)",
    tags=["privacy"],
    responses={200: _HTML},
)
def confirm_page(token: Annotated[str, Query(min_length=10, max_length=300)]) -> Response[str]:
    # A GET never confirms: mail scanners follow links, and a scanner's visit is nobody's consent.
    return _page(
        "Confirm your subscription",
        '<form method="post"><p>Confirm that you want to receive our emails at this address?</p>'
        '<button type="submit">Yes, subscribe me</button></form>',
    )


@app.post(
    "/v1/consent/confirm",
    summary="Confirm a double opt-in (the button of the confirmation page)",
    tags=["privacy"],
    responses={200: _HTML},
)
def confirm(token: Annotated[str, Query(min_length=10, max_length=300)]) -> Response[str]:
    # The same answer for a valid, used, expired or forged token: a link reveals nothing about anyone.
    privacy.confirm_email(deps.profiles(), deps.publisher(), token, deps.signing_key())
    return _page("Thank you", "<p>If this link was still valid, your subscription is now confirmed.</p>")


# ---- settings --------------------------------------------------------------------------------------------------


@app.get("/v1/identity/settings", summary="Merge policy and timeline retention", tags=["settings"])
def get_settings() -> IdentitySettingsView:
    return IdentitySettingsView.model_validate(settings.current_settings(deps.profiles()))


@app.put("/v1/identity/settings", summary="Change the merge policy or the timeline retention", tags=["settings"])
def put_settings(body: Annotated[SettingsBody, Body()]) -> IdentitySettingsView:
    chosen = IdentitySettings(
        policy=MergePolicy(
            link_anonymous_on_email=body.merge_policy.link_anonymous_on_email,
            merge_known_on_verified=body.merge_policy.merge_known_on_verified,
        ),
        retention_days=body.retention_days,
    )
    changed = settings.change_settings(deps.profiles(), chosen)
    deps.forget_settings()
    return IdentitySettingsView.model_validate(changed)


handler = http_handler(app, MANIFEST.name, MANIFEST.function("api"))
