"""Internal API of content (invoked with IAM by identity): a person's content data, for their export."""

from __future__ import annotations

from typing import Any

from services.common.privacy import ExportRequest
from services.content import app


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    request = ExportRequest.model_validate(event)
    repo = app.content()
    return {"segmentMemberships": {p: repo.membership_record(p) for p in request.profile_ids}}
