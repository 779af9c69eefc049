"""Bus events published by the content service (source cxm.content)."""

from __future__ import annotations

from pydantic import Field

from services.common.contracts.envelope import Contract

CONTENT = "cxm.content"


class VariantServed(Contract):
    SOURCE = CONTENT
    DETAIL_TYPE = "VariantServed"
    profile_id: str | None = Field(default=None, alias="profileId")
    slot_id: str = Field(alias="slotId")
    variant_id: str = Field(alias="variantId")


class ExperimentConcluded(Contract):
    SOURCE = CONTENT
    DETAIL_TYPE = "ExperimentConcluded"
    experiment_id: str = Field(alias="experimentId")
    winner_variant_id: str | None = Field(default=None, alias="winnerVariantId")
