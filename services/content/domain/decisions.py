"""Which variant of a slot a visitor sees. Pure: the first variant targeted at one of their segments wins."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator


class Variant(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    variant_id: str = Field(alias="variantId", min_length=1, max_length=100)
    segment_id: str | None = Field(
        default=None,
        alias="segmentId",
        max_length=100,
        description="Shown to members of this segment; none: the default variant.",
    )
    content: dict[str, Any] = Field(description="What the front-end renders (title, image, link, ...).")


class SlotDefinition(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    variants: list[Variant] = Field(min_length=1, max_length=50)

    @model_validator(mode="after")
    def _one_default(self) -> SlotDefinition:
        defaults = [v for v in self.variants if v.segment_id is None]
        if len(defaults) != 1:
            raise ValueError("a slot needs exactly one default variant (one without segmentId)")
        ids = [v.variant_id for v in self.variants]
        if len(ids) != len(set(ids)):
            raise ValueError("variant ids must be unique within a slot")
        return self


def decide(slot: SlotDefinition, segments: Collection[str]) -> Variant:
    """Targeted variants are tried in the order the marketer listed them; the default catches everyone else."""
    for variant in slot.variants:
        if variant.segment_id is not None and variant.segment_id in segments:
            return variant
    return next(v for v in slot.variants if v.segment_id is None)
