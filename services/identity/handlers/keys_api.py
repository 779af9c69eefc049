"""HTTP entry of the keys admin API: list, create (shown once) and revoke API keys; the sources' settings."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from pydantic import BaseModel, ConfigDict, Field

from services.common.api import View, access_keys, http_handler, problem_response, resolver
from services.common.problems import conflict, not_found
from services.identity.manifest import MANIFEST
from services.identity.use_cases import keys

# Its own function: the only one granted writes on the platform's access table.
app = resolver("CxM keys API")

SOURCE_ID = r"^[A-Za-z0-9._\-]{1,100}$"
KEY_ID = r"^[0-9a-f]{12}$"


class NewKey(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    role: Literal["write", "server", "admin"] = Field(
        description="write: a public page sends events; server: a site's back-end (verified identity); admin: all."
    )
    source_id: str = Field(alias="sourceId", pattern=SOURCE_ID, description="The website or app the key is for.")
    name: str = Field(min_length=1, max_length=100, description="What the key is for, for people.")


class KeyView(View):
    keyId: str = Field(description="The first 12 hex digits of the key's SHA-256: names the key, reveals nothing.")
    role: str
    sourceId: str
    name: str
    createdAt: str
    revokedAt: str | None = Field(description="When it was revoked; none while it is active.")


class CreatedKey(KeyView):
    key: str = Field(description="The key itself: shown this once (only its SHA-256 is stored).")


class KeyList(View):
    keys: list[KeyView]


class SourceView(View):
    sourceId: str
    mailClaimedAddresses: bool
    doubleOptIn: bool
    identitySecret: bool = Field(description="Whether the source has an identity secret (the secret is never shown).")
    activeKeys: int


class SourceList(View):
    sources: list[SourceView]


@app.exception_handler(keys.KeyNotFound)
def _no_key(error: keys.KeyNotFound) -> Response[Any]:
    return problem_response(not_found(f"No key {error}.", "keyId"))


@app.exception_handler(keys.LastAdminKey)
def _last_admin(error: keys.LastAdminKey) -> Response[Any]:
    return problem_response(conflict(str(error), "keyId"))


@app.get("/v1/keys", summary="List API keys (never the key itself)", tags=["keys"])
def list_keys() -> KeyList:
    return KeyList.model_validate({"keys": keys.list_keys(access_keys())})


@app.post("/v1/keys", summary="Create an API key (shown once)", tags=["keys"], status_code=201)
def create_key(body: Annotated[NewKey, Body()]) -> CreatedKey:
    return CreatedKey.model_validate(keys.create_key(access_keys(), body.role, body.source_id, body.name))


@app.get("/v1/keys/sources", summary="Sources: their settings, whether they have an identity secret", tags=["keys"])
def list_sources() -> SourceList:
    return SourceList.model_validate({"sources": keys.sources(access_keys())})


@app.delete(
    "/v1/keys/<keyId>",
    summary="Revoke an API key (refused within a minute everywhere; never the last admin key)",
    tags=["keys"],
)
def revoke_key(keyId: Annotated[str, Path(pattern=KEY_ID)]) -> KeyView:
    return KeyView.model_validate(keys.revoke_key(access_keys(), keyId))


handler = http_handler(app, MANIFEST.name, MANIFEST.function("keys"))
