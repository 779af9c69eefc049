"""Internal API of content (invoked with IAM by identity): a person's content data, for their export."""

from __future__ import annotations

from typing import Any

from services.common.privacy import ExportRequest
from services.content import app
from services.content.use_cases import privacy


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    request = ExportRequest.model_validate(event)
    return privacy.export(app.content(), request.profile_ids)
