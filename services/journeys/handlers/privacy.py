"""Internal API of journeys (invoked with IAM by identity): a person's journeys data, for their export."""

from __future__ import annotations

from typing import Any

from services.common.privacy import ExportRequest
from services.journeys import app
from services.journeys.use_cases.privacy import export_profile


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    request = ExportRequest.model_validate(event)
    repo = app.journeys()
    parts = [export_profile(profile_id, repo) for profile_id in request.profile_ids]
    return {"entries": [e for p in parts for e in p["entries"]], "messages": [m for p in parts for m in p["messages"]]}
