"""The request every service's internal export function answers: the person's profile ids (survivor + merged)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class ExportRequest(BaseModel):
    profile_ids: list[str] = Field(alias="profileIds", min_length=1, max_length=100)
