"""Typed settings read from the function's environment at call time (never at import time)."""

from __future__ import annotations

import os
import threading
from functools import cache
from typing import Any

import boto3
from botocore.config import Config

from services.common.manifest import BUS_ENV


class MissingSetting(RuntimeError):
    pass


def setting(name: str, default: str | None = None) -> str:
    value = os.environ.get(name, default)
    if value is None:
        raise MissingSetting(f"environment variable {name} is not set")
    return value


def bus_name() -> str:
    return setting(BUS_ENV)


_CONFIG = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=2, read_timeout=10)
# For a call that must not be repeated blindly (an email send: SES has no idempotency token, and a retry after a
# lost answer sends the mail twice): no retries by botocore, the caller decides what a failure means.
_ONCE = Config(retries={"mode": "standard", "max_attempts": 0}, connect_timeout=2, read_timeout=10)


# Creating clients is not thread-safe in boto3 (a shared session's loaders race); handlers may run on several
# threads of one process (the local cloud, Step Functions tasks), so ours are made one at a time from a session of
# our own, never from the default session other code (moto's) uses concurrently.
_CREATING = threading.Lock()
_SESSION: list[boto3.session.Session] = []


def _session() -> boto3.session.Session:
    if not _SESSION:
        _SESSION.append(boto3.session.Session())
    return _SESSION[0]


@cache
def _client(service: str, region: str, endpoint: str | None, retried: bool = True) -> Any:
    config = _CONFIG if retried else _ONCE
    with _CREATING:
        return _session().client(service, region_name=region, endpoint_url=endpoint, config=config)  # type: ignore[call-overload]


def client(service: str, *, retried: bool = True) -> Any:
    """A cached boto3 client, built on first use so imports stay cheap (cold start) and tests need no hacks.
    `retried=False`: botocore makes one attempt (for calls that are not idempotent, such as sending an email)."""
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    return _client(service, region, os.environ.get("AWS_ENDPOINT_URL"), retried)


def table(env_name: str) -> Any:
    """A boto3 DynamoDB Table resource for the table whose name is in `env_name` (cached: building one costs boto3
    a new resource class, about a millisecond of CPU, which consumers that build their adapters per message
    would otherwise pay on every message)."""
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    return _table(region, os.environ.get("AWS_ENDPOINT_URL"), setting(env_name))


@cache
def _table(region: str, endpoint: str | None, name: str) -> Any:
    return _resource(region, endpoint).Table(name)


@cache
def _resource(region: str, endpoint: str | None) -> Any:
    with _CREATING:
        return _session().resource("dynamodb", region_name=region, endpoint_url=endpoint, config=_CONFIG)  # type: ignore[call-overload]
