"""Internal API of content (invoked with IAM by identity): a person's content data, for their export."""

from __future__ import annotations

from typing import Any

from services.common.clock import iso
from services.common.privacy import ExportRequest
from services.content import app
from services.content.domain.exposures import Exposure


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    request = ExportRequest.model_validate(event)
    repo = app.content()
    return {
        "segmentMemberships": {p: repo.membership_record(p) for p in request.profile_ids},
        "exposures": {p: [_record(e) for e in repo.exposures(p)] for p in request.profile_ids},
    }


def _record(exposure: Exposure) -> dict[str, Any]:
    return {
        "slotId": exposure.slot_id,
        "variantId": exposure.variant_id,
        "segmentId": exposure.segment_id,
        "firstServedAt": iso(exposure.first_served_at),
        "lastServedAt": iso(exposure.last_served_at),
        "servedHours": exposure.served_hours,
    }
