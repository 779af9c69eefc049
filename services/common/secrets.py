"""Platform secrets (Secrets Manager), read once per container, never logged."""

from __future__ import annotations

from functools import cache

from services.common import settings
from services.common.manifest import PLATFORM


def secret(name: str) -> bytes:
    """The value of a PLATFORM secret the function declared in `secrets` (its ARN is in the environment)."""
    return _read(settings.setting(PLATFORM.secret(name).env))


@cache
def _read(arn: str) -> bytes:
    value = settings.client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"]
    return str(value).encode()
