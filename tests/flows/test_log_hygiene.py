"""No log line holds an email address, an IP address or a credential, and the key figures reach the logs as EMF.

A representative flow on the local cloud (identify with an email, events from IPv4 and IPv6 addresses, a merge, a
journey sending an email, decisions, refused keys) while every log record of every logger and everything printed
(the powertools JSON logs and the EMF metrics) is captured; then the capture is scanned.
"""

from __future__ import annotations

import contextlib
import io
import ipaddress
import json
import logging
import re
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest

from tests.conftest import START, Api, home_hero_slot

ANA_EMAIL = "Ana.Lovelace@Example.com"
BO_EMAIL = "bo+news@shop.example.org"
IPV4 = "203.0.113.77"
IPV6 = "2001:db8:85a3::8a2e:370:7334"
SENDER = "no-reply@example.com"  # the platform's own From address (the stack's `emailFrom`), not a person's

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
IPV4_CANDIDATE = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w.])")
IPV6_CANDIDATE = re.compile(r"(?<![\w:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![\w:])")
API_KEY = re.compile(r"\b(?:wk|ak)_[A-Za-z0-9_-]{16,}")  # write keys and admin keys (services/common/access.py)
AUTHORIZATION = re.compile(r"(?i)\b(?:bearer|basic)\s+[A-Za-z0-9+/=._-]{8,}")


@dataclass
class Capture:
    """Every log record (as each of its logger's handlers would format it, and its raw attributes) and everything
    written to stdout/stderr."""

    lines: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, text: str) -> None:
        with self.lock:
            self.lines.extend(text.splitlines())


class Tee(io.TextIOBase):
    def __init__(self, capture: Capture, name: str) -> None:
        self._capture = capture
        self.name = name

    def write(self, text: str) -> int:
        self._capture.add(text)
        return len(text)


@contextlib.contextmanager
def capturing() -> Iterator[Capture]:
    capture = Capture()
    original = logging.Logger.handle

    def handle(self: logging.Logger, record: logging.LogRecord) -> None:
        # a record's attributes hold its message, arguments and `extra`; the formatters add what a logger keeps
        # (powertools' appended keys, the Lambda context)
        capture.add(json.dumps({k: v for k, v in vars(record).items() if k != "exc_info"}, default=str))
        logger: logging.Logger | None = self
        while logger is not None:
            for handler in logger.handlers:
                with contextlib.suppress(Exception):
                    capture.add(handler.format(record))
            logger = logger.parent if logger.propagate else None
        original(self, record)

    logging.Logger.handle = handle  # type: ignore[method-assign]
    try:
        with contextlib.redirect_stdout(Tee(capture, "stdout")), contextlib.redirect_stderr(Tee(capture, "stderr")):
            yield capture
    finally:
        logging.Logger.handle = original  # type: ignore[method-assign]


@pytest.fixture(scope="module")
def cloud() -> Iterator[Any]:
    """The local cloud with the services' loggers at DEBUG (stricter than production's INFO) and powertools
    metrics on."""
    from infra.local.cloud import LocalCloud
    from services.common import observability

    loggers = [observability.logger(service) for service in ("events", "identity", "segments", "journeys", "content")]
    levels = [logger.log_level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
    with LocalCloud(start=START, stage=f"t{uuid.uuid4().hex[:6]}", log_level="DEBUG") as running:
        lam = boto3.client("lambda", region_name=running.region)
        for page in lam.get_paginator("list_functions").paginate():
            for function in page["Functions"]:
                env = dict(function["Environment"]["Variables"])
                env["POWERTOOLS_METRICS_DISABLED"] = "false"
                lam.update_function_configuration(FunctionName=function["FunctionName"], Environment={"Variables": env})
        yield running
    for logger, level in zip(loggers, levels, strict=True):
        logger.setLevel(level)


@pytest.fixture(scope="module")
def flow(cloud: Any, api: Api) -> tuple[list[str], Api]:
    """Given a marketer's recipe segment, welcome journey and targeted hero; when Ana and Bo visit, identify with
    their emails from IPv4 and IPv6 addresses, Ana's devices are merged and her welcome email goes out."""
    with capturing() as capture:
        segment = api.admin(
            "POST",
            "/v1/segments",
            {
                "name": "Recipe readers",
                "condition": {
                    "behaviour": {
                        "type": "page",
                        "where": [{"property": "path", "op": "startsWith", "value": "/recipes"}],
                    },
                    "op": "atLeast",
                    "value": 2,
                    "withinDays": 14,
                },
            },
        )
        assert segment.status == 201, segment.body
        journey = api.admin(
            "POST",
            "/v1/journeys",
            {
                "name": "Recipe welcome",
                "trigger": {"segmentEntered": segment.body["segmentId"]},
                "waitSeconds": 86400,
                "email": {"subject": "{{firstName}}, your recipes", "html": "<p>Hello {{firstName}}</p>"},
            },
        )
        assert journey.status == 201, journey.body
        home_hero_slot(api, segment.body["segmentId"])

        for device, ip in (("ana-laptop", IPV4), ("ana-phone", IPV6)):
            page = {"anonymousId": device, "properties": {"path": "/inspiration"}, "context": {"ip": ip}}
            assert api.send("page", page).status == 200
        for device, email, name in (("ana-laptop", ANA_EMAIL, "Ana"), ("bo-tablet", BO_EMAIL, "Bo")):
            identify = {
                "anonymousId": device,
                "userId": f"user-{name.lower()}",
                "traits": {"email": email, "firstName": name},
                "context": {"ip": IPV4},
            }
            assert api.backend("identify", identify).status == 200  # signed in: the site's back-end
        batch = [
            {"type": "page", "anonymousId": "ana-laptop", "properties": {"path": p}, "context": {"ip": IPV6}}
            for p in ("/recipes/pancakes", "/recipes/risotto")
        ]
        assert api.request("POST", "/v1/batch", {"batch": batch}, key=api.write_key).status == 200
        cloud.settle()

        # a marketer merges Ana's phone into her known profile, looks her up by email, and she is decided for
        laptop = api.admin("GET", "/v1/profiles?anonymousId=ana-laptop").body["profileId"]
        phone = api.admin("GET", "/v1/profiles?anonymousId=ana-phone").body["profileId"]
        merged = api.admin("POST", "/v1/profiles/merge", {"survivingProfileId": laptop, "mergedProfileId": phone})
        assert merged.status in (200, 201), merged.body
        assert api.admin("GET", f"/v1/profiles?email={ANA_EMAIL}").status == 200
        decide = api.request("GET", "/v1/decide?slot=home-hero&anonymousId=ana-laptop", key=api.write_key)
        assert decide.status == 200, decide.body

        # refused credentials are logged as refusals, never with the key that was tried
        assert api.request("GET", "/v1/segments", key="ak_" + "x" * 43, scheme="bearer").status == 401
        assert api.request("GET", "/v1/segments", key=api.write_key).status == 403

        # an event a consumer must refuse (retried, then dead-lettered): its error names fields, not their values
        malformed = {"id": "malformed-1", "data": {"traits": {"email": BO_EMAIL}, "context": {"ip": IPV4}}}
        boto3.client("events", region_name=cloud.region).put_events(
            Entries=[
                {
                    "EventBusName": cloud.names.bus(),
                    "Source": "cxm.events",
                    "DetailType": "EventCollected",
                    "Detail": json.dumps(malformed),
                }
            ]
        )
        cloud.settle()
        cloud.wait_for(lambda: cloud.dead_letters().get("identity/event-collected"))
        cloud.wait_for(lambda: cloud.executions("RUNNING"))
        cloud.advance("1d")
        emails = cloud.wait_for(cloud.sent_emails)
        assert emails[0].destinations["ToAddresses"] == [ANA_EMAIL]
        cloud.settle_runs()
    return capture.lines, api


def leaks(line: str, secrets: list[str]) -> list[str]:
    found = [m for m in EMAIL.findall(line) if m.lower() != SENDER]
    found += [m for m in IPV4_CANDIDATE.findall(line) if _is_ip(m)]
    found += [m for m in IPV6_CANDIDATE.findall(line) if ":" in m and _is_ip(m)]
    found += API_KEY.findall(line) + AUTHORIZATION.findall(line)
    found += [s for s in secrets if s and s in line]
    return found


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def test_the_scanner_finds_what_it_looks_for() -> None:
    line = f'{{"msg": "x", "email": "{ANA_EMAIL}", "ip": "{IPV4}", "ip6": "{IPV6}", "auth": "Bearer ak_{"y" * 40}"}}'
    assert len(leaks(line, [])) == 5
    assert leaks('{"time": "2026-03-02T09:00:00.000Z", "version": "1.2.3", "id": "01HX:ab"}', []) == []


def test_no_log_line_holds_an_email_an_ip_address_or_a_key(flow: tuple[list[str], Api], cloud: Any) -> None:
    lines, api = flow
    assert len(lines) > 50, "the capture saw the flow's logs"
    secret = boto3.client("secretsmanager", region_name=cloud.region).get_secret_value(
        SecretId=cloud.names.secret_arn("link-signing")
    )["SecretString"]
    found = {line[:300]: leaks(line, [api.write_key, api.admin_key, secret]) for line in lines}
    assert {line: hits for line, hits in found.items() if hits} == {}


def emf_records(lines: list[str]) -> list[dict[str, Any]]:
    out = []
    for line in lines:
        if line.startswith("{") and '"_aws"' in line:
            with contextlib.suppress(ValueError):
                out.append(json.loads(line))
    return out


def test_the_key_figures_are_emitted_as_emf(flow: tuple[list[str], Api]) -> None:
    lines, _ = flow
    figures: dict[tuple[str, str], float] = {}
    for record in emf_records(lines):
        (directive,) = record["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == "CxM"
        for metric in directive["Metrics"]:
            value = record[metric["Name"]]
            total = sum(value) if isinstance(value, list) else value
            label = metric["Name"] + "".join(
                f"/{record[d]}" for d in directive["Dimensions"][0] if d not in ("service",)
            )
            key = (record["service"], label)
            figures[key] = figures.get(key, 0) + total
    assert figures[("events", "EventsCollected")] >= 6
    assert figures[("identity", "ProfilesCreated")] >= 3
    assert figures[("identity", "ProfilesMerged")] == 1
    assert figures[("segments", "SegmentEntries")] >= 1
    assert figures[("content", "Decisions")] == 1
    assert figures[("journeys", "Sends/email/sent")] == 1
