"""Shared fixtures: the local cloud (moto + virtual clock + HTTP API) and a small HTTP client for it."""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import json
import os
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import settings

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
os.environ.setdefault("AWS_ACCOUNT_ID_ENDPOINT_MODE", "disabled")

# No per-example deadline: a property test asserts behaviour, not speed (speed is measured in bench/), and on a
# loaded machine an example's first run can take longer than hypothesis' 200 ms and fail the build as "flaky".
settings.register_profile("cxm", deadline=None)
settings.load_profile("cxm")

START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)  # a Monday morning


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: Any

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")


class Api:
    """HTTP calls against the local gateway, as a front-end or a marketer's script would make them."""

    def __init__(self, base_url: str, write_key: str, admin_key: str, server_key: str | None = None) -> None:
        self.base_url = base_url
        self.write_key = write_key
        self.admin_key = admin_key
        self.server_key = server_key

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        key: str | None = None,
        scheme: str = "basic",
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        sent = {"content-type": "application/json", **(headers or {})}
        if key:
            sent["authorization"] = (
                f"Bearer {key}" if scheme == "bearer" else "Basic " + base64.b64encode(f"{key}:".encode()).decode()
            )
        request = urllib.request.Request(self.base_url + path, method=method, data=data, headers=sent)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return Reply(
                    response.status, {k.lower(): v for k, v in response.headers.items()}, _decode(response.read())
                )
        except urllib.error.HTTPError as error:
            return Reply(error.code, {k.lower(): v for k, v in error.headers.items()}, _decode(error.read()))

    def send(self, kind: str, message: dict[str, Any]) -> Reply:
        """A front-end sending one Segment-spec message with the write key: what it says about identity is a claim."""
        return self.request("POST", f"/v1/{kind}", message, key=self.write_key)

    def backend(self, kind: str, message: dict[str, Any]) -> Reply:
        """The site's back-end (after a login, a checkout) sending a message with its server key: what it says about
        who the visitor is, is verified (docs/identity.md, "Trust"), so journeys may mail the address."""
        assert self.server_key, "this Api has no server key"
        return self.request("POST", f"/v1/{kind}", message, key=self.server_key, scheme="bearer")

    def admin(self, method: str, path: str, body: Any = None) -> Reply:
        return self.request(method, path, body, key=self.admin_key, scheme="bearer")


def identity_secret(cloud: Any, source: str = "test-site") -> bytes:
    """The test site's identity secret (made once per cloud): what its back-end signs visitors with."""
    return cloud.keys.identity_secret(source) or cloud.keys.create_identity_secret(source).encode()


def signed(cloud: Any, message: dict[str, Any]) -> dict[str, Any]:
    """A page's message carrying the site back-end's proof of who is signed in (`context.userHash` of the userId,
    else the email): its identity is verified, so a visitor signing in on another device joins their profile."""
    from services.common.identity_proof import subject, user_hash

    signed_subject = subject(message.get("userId"), (message.get("traits") or {}).get("email"))
    assert signed_subject, "a signed message names a userId or an email"
    proof = user_hash(identity_secret(cloud), signed_subject)
    return {**message, "context": {**(message.get("context") or {}), "userHash": proof}}


def home_hero_slot(api: Api, segment_id: str, title: str = "Cook tonight") -> None:
    """The marketer's home-page slot: a recipes hero for the segment's members, a generic one for everyone else."""
    slot = api.admin(
        "PUT",
        "/v1/content/slots/home-hero",
        {
            "name": "Home hero",
            "variants": [
                {"variantId": "recipes-hero", "segmentId": segment_id, "content": {"title": title}},
                {"variantId": "generic-hero", "content": {"title": "Welcome"}},
            ],
        },
    )
    assert slot.status == 200, slot.body


def _decode(raw: bytes) -> Any:
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return raw.decode("utf-8", "replace")


@pytest.fixture(scope="module")
def cloud() -> Iterator[Any]:
    """A fresh local cloud per test module, on a frozen virtual clock starting at START."""
    from infra.local.cloud import LocalCloud

    with LocalCloud(start=START, stage=f"t{uuid.uuid4().hex[:6]}") as running:
        yield running


def api_for(cloud: Any) -> Api:
    """A test site's keys on this cloud: a write key (its pages), a server key (its back-end), an admin key; and
    its identity secret, made before any traffic (functions cache a source's secret, and its absence, a minute)."""
    identity_secret(cloud)
    return Api(
        cloud.url,
        cloud.create_key("write", "test-site", "tests"),
        cloud.create_key("admin", "ops", "tests"),
        cloud.create_key("server", "test-site", "tests"),
    )


@pytest.fixture(scope="module")
def api(cloud: Any) -> Api:
    return api_for(cloud)


class BusTap:
    """A rule of the test's own delivering every event of one source to a queue: what a service published,
    independent of its consumers. `drain()` returns every event seen so far as {type, id, data}."""

    def __init__(self, cloud: Any, source: str) -> None:
        import boto3

        name = "test-tap-" + source.replace(".", "-")
        self._sqs = boto3.client("sqs", region_name=cloud.region)
        events = boto3.client("events", region_name=cloud.region)
        self._url = self._sqs.create_queue(QueueName=name)["QueueUrl"]
        arn = self._sqs.get_queue_attributes(QueueUrl=self._url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_rule(Name=name, EventBusName=cloud.names.bus(), EventPattern=json.dumps({"source": [source]}))
        events.put_targets(Rule=name, EventBusName=cloud.names.bus(), Targets=[{"Id": "tap", "Arn": arn}])
        self.seen: list[dict[str, Any]] = []

    def drain(self) -> list[dict[str, Any]]:
        while True:
            messages = self._sqs.receive_message(QueueUrl=self._url, MaxNumberOfMessages=10).get("Messages", [])
            if not messages:
                return self.seen
            for message in messages:
                body = json.loads(message["Body"])
                self.seen.append(
                    {
                        "type": body["detail-type"],
                        "id": body["detail"]["id"],
                        "data": body["detail"]["data"],
                        "source": body["source"],
                        "detail": body["detail"],
                    }
                )
                self._sqs.delete_message(QueueUrl=self._url, ReceiptHandle=message["ReceiptHandle"])
