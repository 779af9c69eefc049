"""HTTP entry of the identity service: the admin profiles API."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Query

from services.common.api import http_handler, resolver
from services.common.problems import FieldError, bad_request, not_found
from services.identity import app as deps
from services.identity.manifest import MANIFEST
from services.identity.use_cases import ProfileNotFound, find_profile_id, profile_view

app = resolver("CxM identity API")


@app.get("/v1/profiles/<profileId>", summary="A profile with its traits and recent activity", tags=["profiles"])
def get_profile(profileId: str) -> dict[str, Any]:
    try:
        return profile_view(profileId, deps.profiles())
    except ProfileNotFound:
        raise not_found(f"No profile {profileId}.", "profileId") from None


@app.get("/v1/profiles", summary="Look up a profile by email, user id or anonymous id", tags=["profiles"])
def lookup_profile(
    email: Annotated[str | None, Query(max_length=320)] = None,
    userId: Annotated[str | None, Query(max_length=200)] = None,
    anonymousId: Annotated[str | None, Query(max_length=200)] = None,
) -> dict[str, Any]:
    given = [(k, v) for k, v in (("email", email), ("user", userId), ("anon", anonymousId)) if v]
    if len(given) != 1:
        raise bad_request(
            "Give exactly one of email, userId, anonymousId.",
            [FieldError("email", "exactly one of email, userId, anonymousId is required")],
        )
    kind, value = given[0]
    repo = deps.profiles()
    try:
        return profile_view(find_profile_id(kind, value, repo), repo)
    except ProfileNotFound:
        raise not_found(
            f"No profile for {kind} {value}.", {"user": "userId", "anon": "anonymousId"}.get(kind, kind)
        ) from None


handler = http_handler(app, MANIFEST.name, MANIFEST.function("api"))
