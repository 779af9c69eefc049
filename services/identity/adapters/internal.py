"""Other services' internal export functions, invoked with IAM through `services.common.internal`: one
`ExportPart` per service."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from services.common import internal
from services.common.privacy import ExportRequest
from services.identity.ports import ExportPart, ExportPartFailed

MAX_REASON = 300  # characters of the failing service's error kept for the answer


def export_part(target: str) -> ExportPart:
    """`target` is `<service>.<function>` as declared in the caller's manifest `invokes`."""
    service = target.partition(".")[0]

    def part(profile_ids: Sequence[str]) -> dict[str, Any]:
        request = ExportRequest.model_validate({"profileIds": list(profile_ids)}).model_dump(by_alias=True)
        try:
            answer = internal.invoke(target, request)
        except internal.InternalCallFailed as failed:
            raise ExportPartFailed(service, str(failed)[:MAX_REASON], unavailable=False) from failed
        except (ClientError, BotoCoreError) as error:
            raise ExportPartFailed(service, str(error)[:MAX_REASON], unavailable=True) from error
        if not isinstance(answer, dict):
            raise ExportPartFailed(service, f"answered {type(answer).__name__}, not an object", unavailable=False)
        return answer

    return part
