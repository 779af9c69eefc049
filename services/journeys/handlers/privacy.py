"""Internal API of journeys (invoked with IAM by identity): a person's journeys and programmes data, for their
export."""

from __future__ import annotations

from typing import Any

from services.common.privacy import ExportRequest
from services.journeys import app
from services.journeys.use_cases.privacy import export_profile


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    request = ExportRequest.model_validate(event)
    repo, programmes, pools = app.journeys(), app.programmes(), app.coupons()
    parts = [export_profile(profile_id, repo, programmes, pools) for profile_id in request.profile_ids]
    return {
        key: [item for part in parts for item in part[key]] for key in ("entries", "messages", "devices", "couponCodes")
    }
