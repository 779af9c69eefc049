"""Bus events published by the identity service (source cxm.identity)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AwareDatetime, Field

from services.common.contracts.collection import Enrichment, MessageType
from services.common.contracts.envelope import Contract

IDENTITY = "cxm.identity"


class ActivityRecorded(Contract):
    SOURCE = IDENTITY
    DETAIL_TYPE = "ActivityRecorded"
    DESCRIPTION = "A collected event attributed to the profile it was resolved to."

    profile_id: str = Field(alias="profileId")
    message_id: str = Field(alias="messageId")
    type: MessageType
    event: str | None = None
    name: str | None = None
    properties: dict[str, Any] = Field(default_factory=dict)
    traits: dict[str, Any] = Field(default_factory=dict)
    context: dict[str, Any] = Field(default_factory=dict)
    timestamp: AwareDatetime
    anonymous_id: str | None = Field(default=None, alias="anonymousId")
    user_id: str | None = Field(default=None, alias="userId")
    enrichment: Enrichment = Field(default_factory=Enrichment)


class ProfileCreated(Contract):
    SOURCE = IDENTITY
    DETAIL_TYPE = "ProfileCreated"
    profile_id: str = Field(alias="profileId")
    anonymous_id: str | None = Field(default=None, alias="anonymousId")
    user_id: str | None = Field(default=None, alias="userId")


class ProfileUpdated(Contract):
    SOURCE = IDENTITY
    DETAIL_TYPE = "ProfileUpdated"
    DESCRIPTION = (
        "Traits or computed traits of a profile changed: `changed` maps each name to its new value (None: removed)."
    )
    profile_id: str = Field(alias="profileId")
    changed: dict[str, Any] = Field(default_factory=dict, description="Trait name → new value.")


class ProfilesMerged(Contract):
    SOURCE = IDENTITY
    DETAIL_TYPE = "ProfilesMerged"
    DESCRIPTION = "A profile was folded into another; its id resolves to the survivor from now on."
    surviving_profile_id: str = Field(alias="survivingProfileId")
    merged_profile_id: str = Field(alias="mergedProfileId")
    reason: str
    merge_id: str | None = Field(default=None, alias="mergeId", description="Undo it with this id.")
    changed: dict[str, Any] = Field(default_factory=dict, description="What the merge changed on the survivor.")


class ProfilesUnmerged(Contract):
    SOURCE = IDENTITY
    DETAIL_TYPE = "ProfilesUnmerged"
    DESCRIPTION = "A merge was undone: the restored profile stands on its own again with its identifiers."
    surviving_profile_id: str = Field(alias="survivingProfileId")
    restored_profile_id: str = Field(alias="restoredProfileId")
    merge_id: str = Field(alias="mergeId")


class ConsentChanged(Contract):
    SOURCE = IDENTITY
    DETAIL_TYPE = "ConsentChanged"
    profile_id: str = Field(alias="profileId")
    purpose: Literal["tracking", "email_marketing", "personalisation"]
    granted: bool
    source: str


class EmailConfirmationRequested(Contract):
    SOURCE = IDENTITY
    DETAIL_TYPE = "EmailConfirmationRequested"
    DESCRIPTION = (
        "A public source granted email-marketing consent on a claim (double opt-in): the consent is pending until "
        "the person follows the link in a confirmation email, which journeys (the owner of sends) sends to the "
        "profile's address. The token is signed for that address; it goes in `/v1/consent/confirm?token=`."
    )
    profile_id: str = Field(alias="profileId")
    token: str = Field(description="The signed confirmation token (names the profile, no personal data).")
    source: str = Field(description="The source (sourceId) whose page collected the consent.")


class ProfileErased(Contract):
    SOURCE = IDENTITY
    DETAIL_TYPE = "ProfileErased"
    DESCRIPTION = "A person was erased from identity; every service erases what it holds about them."
    profile_id: str = Field(alias="profileId")
    identifiers: list[str] = Field(default_factory=list, description="Every id and email the profile had.")
    profile_ids: list[str] = Field(
        default_factory=list, alias="profileIds", description="The profile and every profile merged into it."
    )


class ContactsImportChunkQueued(Contract):
    SOURCE = IDENTITY
    DETAIL_TYPE = "ContactsImportChunkQueued"
    DESCRIPTION = "Internal to identity: one stored chunk of an import job is ready to be processed."
    import_id: str = Field(alias="importId")
    chunk: str
