"""HTTP entry of the e-shop programmes: device registration (write key, rate-limited), the product registry and
referral codes (admin)."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from services.common import clock
from services.common.api import View, body_bytes, http_handler, principal, resolver
from services.common.clock import iso
from services.common.problems import PROBLEM_JSON, FieldError, bad_request, not_found
from services.journeys import app as deps
from services.journeys.domain.referrals import Status
from services.journeys.domain.registry import MAX_FIELD, RateLimited, normalise_serial, parse_import, product
from services.journeys.handlers.problems import PROGRAMME_ERRORS, ProgrammeError, programme_problem
from services.journeys.manifest import MANIFEST
from services.journeys.use_cases import referrals, registrations

app = resolver("CxM programmes API")

EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
MAX_ANSWERS = 50
Answer = str | int | float | bool | list[str] | None


@app.exception_handler(PROGRAMME_ERRORS)
def _refused(error: ProgrammeError) -> Response[Any]:
    problem = programme_problem(error)
    headers = {"Retry-After": str(error.retry_after)} if isinstance(error, RateLimited) else None
    return Response(
        status_code=problem.status, content_type=PROBLEM_JSON, body=json.dumps(problem.body()), headers=headers
    )


# ---- device registration (write key) ----------------------------------------------------------------------------


class RegistrationBody(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    serial: str = Field(min_length=1, max_length=64, description="As printed: case, spaces and dashes are ignored.")
    email: str = Field(pattern=EMAIL, max_length=254)
    anonymous_id: str | None = Field(default=None, alias="anonymousId", min_length=1, max_length=200)
    user_id: str | None = Field(default=None, alias="userId", min_length=1, max_length=200)
    first_name: str | None = Field(default=None, alias="firstName", max_length=MAX_FIELD)
    last_name: str | None = Field(default=None, alias="lastName", max_length=MAX_FIELD)
    phone: str | None = Field(default=None, max_length=40)
    preferences: dict[str, Answer] = Field(default_factory=dict, description="Traits `preference_<key>`.")
    demographics: dict[str, Answer] = Field(default_factory=dict, description="Traits `demographic_<key>`.")
    write_key: str | None = Field(default=None, alias="writeKey", description="When not sent as HTTP Basic.")

    @field_validator("preferences", "demographics")
    @classmethod
    def _few_answers(cls, value: dict[str, Answer]) -> dict[str, Answer]:
        if len(value) > MAX_ANSWERS or any(not k or len(k) > 64 for k in value):
            raise ValueError(f"at most {MAX_ANSWERS} answers with keys of 1 to 64 characters")
        return value


@app.post(
    "/v1/devices/register",
    summary="Register a device by its serial (the shop's form); the owner's referral code in the answer",
    tags=["programmes"],
)
def register_device(body: Annotated[RegistrationBody, Body()]) -> Registered:
    context = app.current_event.request_context
    registration = registrations.Registration(
        serial=body.serial,
        email=body.email,
        source_id=principal(app).source_id,
        anonymous_id=body.anonymous_id,
        user_id=body.user_id,
        first_name=body.first_name,
        last_name=body.last_name,
        phone=body.phone,
        preferences=body.preferences,
        demographics=body.demographics,
        ip=context.http.source_ip if context and context.http else None,
    )
    return Registered.model_validate(
        registrations.register(deps.programmes(), deps.publisher(), registration, clock.now())
    )


# ---- the product registry (admin) -------------------------------------------------------------------------------


class ProductBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    model: str = Field(min_length=1, max_length=MAX_FIELD)
    category: str = Field(min_length=1, max_length=MAX_FIELD, description="e.g. main, additional, accessory")


@app.put("/v1/products/serials/<serial>", summary="Add or change one serial (its owner is kept)", tags=["programmes"])
def put_serial(serial: str, body: Annotated[ProductBody, Body()]) -> SerialView:
    found, faults = product(serial, body.model, body.category)
    if found is None:
        normalise_serial(serial)  # a malformed serial answers with its own problem type
        raise bad_request("The product is invalid.", [FieldError(f, m) for f, m in faults])
    store = deps.programmes()
    registrations.save_products(store, [found], clock.now())
    return SerialView.model_validate(
        registrations.serial_view(store.serial(found.serial, consistent=True) or found.as_json())
    )


@app.get(
    "/v1/products/serials/<serial>", summary="A serial: its product and whether it is registered", tags=["programmes"]
)
def get_serial(serial: str) -> SerialView:
    found = deps.programmes().serial(normalise_serial(serial))
    if found is None:
        raise not_found("No product has this serial number.", "serial")
    return SerialView.model_validate(registrations.serial_view(found))


@app.post(
    "/v1/products/serials/import",
    summary="Add serials in bulk: CSV (serial,model,category) or JSON lines; valid rows kept, bad rows reported",
    tags=["programmes"],
)
def import_serials() -> SerialsImported:
    kind = (app.current_event.headers or {}).get("content-type", "").split(";")[0].strip().lower()
    formats: dict[str, Literal["csv", "jsonl"]] = {
        "text/csv": "csv",
        "application/x-ndjson": "jsonl",
        "application/jsonl": "jsonl",
    }
    if kind not in formats:
        raise bad_request(
            "Send the serials as CSV or JSON lines.", [FieldError("content-type", "text/csv or application/x-ndjson")]
        )
    try:
        text = body_bytes(app.current_event.raw_event).decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise bad_request("The file is not UTF-8.", [FieldError("body", "UTF-8 text")]) from error
    products, faults = parse_import(text.splitlines(), formats[kind])
    saved = registrations.save_products(deps.programmes(), products, clock.now())
    return SerialsImported.model_validate(registrations.import_report(saved, faults))


# ---- referral codes ---------------------------------------------------------------------------------------------


class ValidateBody(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    code: str = Field(min_length=1, max_length=40)
    email: str | None = Field(default=None, pattern=EMAIL, max_length=254)
    anonymous_id: str | None = Field(default=None, alias="anonymousId", min_length=1, max_length=200)
    user_id: str | None = Field(default=None, alias="userId", min_length=1, max_length=200)


class Registered(View):
    registered: bool
    serial: str
    model: str | None
    referralCode: str | None = Field(description="The owner's code to share, when the referral programme is on.")


class SerialView(View):
    serial: str
    model: str | None
    category: str | None
    registered: bool
    registeredAt: str | None
    ownerProfileId: str | None
    referralCode: str | None
    registrations: int


class SerialsImported(View):
    saved: int
    failed: int
    errors: list[dict[str, Any]]


class ReferralCode(View):
    code: str
    ownerProfileIds: list[str]
    issuedAt: str | None
    expiresOn: str | None
    cap: int | None
    redeemed: int
    refused: int
    retired: bool


class ReferralCodeDetail(ReferralCode):
    redemptions: list[dict[str, Any]]


class ReferralCodeList(View):
    codes: list[ReferralCode]
    count: int
    capped: bool = Field(description="Whether the list stopped at its limit.")


class Validity(BaseModel):
    status: Status


@app.post(
    "/v1/referrals/validate",
    summary="May this friend use this code? valid, unknown, expired, exhausted, self-referral or already-used",
    tags=["referrals"],
)
def validate_code(body: Annotated[ValidateBody, Body()]) -> Validity:
    check = referrals.Check(body.code, body.email, body.anonymous_id, body.user_id)
    return Validity(status=referrals.validate(deps.programmes(), check, clock.now()))


@app.get("/v1/referrals/codes", summary="Referral codes with their counts (at most 1000)", tags=["referrals"])
def list_codes() -> ReferralCodeList:
    return ReferralCodeList.model_validate(referrals.codes_view(deps.programmes()))


@app.get(
    "/v1/referrals/codes/<code>", summary="A code: its owner's profile, redemptions and refusals", tags=["referrals"]
)
def get_code(code: str) -> ReferralCodeDetail:
    found = referrals.code_view(deps.programmes(), code)
    if found is None:
        raise not_found("No such referral code.", "code")
    return ReferralCodeDetail.model_validate(found)


class CodeChange(BaseModel):
    """What a marketer may change on one referral code; what is left out stays as it is."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    cap: int | None = Field(default=None, ge=1, le=1_000_000, description="Redemptions allowed (default 10).")
    expires_on: AwareDatetime | None = Field(default=None, alias="expiresOn", description="When the code lapses.")
    retired: bool | None = Field(default=None, description="A retired code is refused as unknown.")

    def sets(self) -> dict[str, Any]:
        sets: dict[str, Any] = {}
        if self.cap is not None:
            sets["cap"] = self.cap
        if self.expires_on is not None:
            sets["expiresOn"] = iso(self.expires_on)
        if self.retired is not None:
            sets["retired"] = self.retired
        return sets


@app.patch("/v1/referrals/codes/<code>", summary="Change a code's cap, expiry or retire it", tags=["referrals"])
def change_code(code: str, body: Annotated[CodeChange, Body()]) -> ReferralCodeDetail:
    changed = referrals.change_code(deps.programmes(), code, body.sets())
    if changed is None:
        raise not_found("No such referral code.", "code")
    return ReferralCodeDetail.model_validate(changed)


handler = http_handler(app, MANIFEST.name, MANIFEST.function("programmes"))
