"""Internal API of segments (invoked with IAM by identity): a person's segments data, for their export."""

from __future__ import annotations

from typing import Any

from services.common.privacy import ExportRequest
from services.segments import app
from services.segments.use_cases import privacy


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    request = ExportRequest.model_validate(event)
    repo = app.segments()
    # the definitions as they are now (names of segments saved a moment ago), not a cached catalog
    return privacy.export(repo, app.catalog(repo, min_generation=repo.generation()), request.profile_ids)
