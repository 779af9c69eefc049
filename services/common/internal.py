"""Calls another service's internal API: a synchronous, IAM-authorised Lambda invoke."""

from __future__ import annotations

import json
from typing import Any

from services.common import settings
from services.common.manifest import invoke_env


class InternalCallFailed(RuntimeError):
    pass


def invoke(target: str, request: dict[str, Any]) -> dict[str, Any]:
    """`target` is `<service>.<function>` as declared in the caller's manifest `invokes`."""
    response = settings.client("lambda").invoke(
        FunctionName=settings.setting(invoke_env(target)), Payload=json.dumps(request).encode()
    )
    payload = json.loads(response["Payload"].read() or b"{}")
    if response.get("FunctionError"):
        raise InternalCallFailed(f"{target} failed: {payload.get('errorMessage', payload)}")
    return payload  # type: ignore[no-any-return]
