"""Erasure end to end, over real HTTP on the local cloud: a person with events on two devices, segment memberships,
a lead score, a running journey and content exposures is erased; then every table, every stored object (the raw
event archive included) and every queue is scanned for anything of theirs — their profile ids, anonymous ids, user
id, email, message ids and the words only their events contained. Someone else's data is scanned the same way and
must still be there (so the scan is not blind)."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest

from services.common.bus import EventBridgePublisher
from services.common.contracts import envelope
from services.common.contracts.registry import ActivityRecorded, SegmentEntered
from services.events.adapters.archive import DynamoKeyRing, S3Archive
from services.events.use_cases.archive import ReadReport, read
from tests.conftest import START, Api, home_hero_slot

BROWSER = {
    "user-agent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Safari/605.1.15"
}
RECIPES = {"type": "page", "where": [{"property": "path", "op": "startsWith", "value": "/recipes"}]}


@dataclass
class Person:
    """Everything that identifies a person or their events, as the scan looks for it."""

    name: str
    devices: tuple[str, str]
    user_id: str
    email: str  # as they typed it
    search: str  # a site search only they made
    order: str  # an order id only they have
    profile_id: str = ""  # the surviving profile
    profile_ids: set[str] = field(default_factory=set)
    message_ids: list[str] = field(default_factory=list)

    def markers(self) -> set[str]:
        return {
            *self.profile_ids,
            *self.devices,
            self.user_id,
            self.email,
            self.email.lower(),
            self.search,
            self.order,
            *self.message_ids,
        }

    def send(self, api: Api, device: str, kind: str, *, signed_in: bool = False, **message: Any) -> None:
        """A message from the page (write key); `signed_in`: from the site's back-end after a login (server key)."""
        message_id = f"{self.name}-msg-{len(self.message_ids) + 1:02d}"
        self.message_ids.append(message_id)
        body = {"anonymousId": device, "messageId": message_id, **message}
        key, scheme = (api.server_key, "bearer") if signed_in else (api.write_key, "basic")
        reply = api.request("POST", f"/v1/{kind}", body, key=key, scheme=scheme, headers=BROWSER)
        assert reply.status == 200, reply.body


def live_a_little(cloud: Any, api: Api, person: Person) -> None:
    """Two devices, recipes (segment + score), a site search, a form that identifies, a purchase, a decision."""
    laptop, phone = person.devices
    person.send(api, laptop, "page", properties={"path": "/recipes/pancakes"})
    person.send(
        api, laptop, "page", properties={"path": "/search", "url": f"https://shop.example/search?q={person.search}"}
    )
    person.send(api, laptop, "page", properties={"path": "/recipes/risotto"})
    person.send(api, laptop, "track", event="Form Submitted", properties={"form": "newsletter"})
    person.send(
        api,
        laptop,
        "identify",
        signed_in=True,
        userId=person.user_id,
        traits={"email": person.email, "firstName": person.name},
    )
    cloud.settle()
    person.send(api, phone, "page", properties={"path": "/recipes/curry"})
    person.send(api, phone, "identify", signed_in=True, userId=person.user_id, traits={"email": person.email})
    person.send(api, phone, "track", event="Order Completed", properties={"orderId": person.order, "revenue": 42.5})
    cloud.settle()
    for device in person.devices:
        reply = api.request("GET", f"/v1/decide?slot=home-hero&anonymousId={device}", key=api.write_key)
        assert reply.status == 200 and reply.body["variantId"] == "recipes-hero", reply.body
    cloud.settle()
    found = api.admin("GET", f"/v1/profiles?email={person.email.lower()}")
    assert found.status == 200, found.body
    person.profile_id = found.body["profileId"]
    person.profile_ids.add(person.profile_id)
    person.profile_ids.update(p["profileId"] for p in found.body.get("profiles", []) if "profileId" in p)
    person.profile_ids.update(found.body.get("mergedFrom", []))


# ---- the scan ---------------------------------------------------------------------------------------------------
def _text(value: Any) -> str:
    return json.dumps(value, default=lambda v: v.decode("latin-1") if isinstance(v, bytes) else str(v))


def stored_texts(cloud: Any) -> Iterator[tuple[str, str]]:
    """(where, text) for every item of every table, every object of every bucket (gunzipped) and every message
    waiting in any queue or dead-letter queue of the local cloud."""
    ddb = boto3.client("dynamodb", region_name=cloud.region)
    for table in ddb.list_tables()["TableNames"]:
        for page in ddb.get_paginator("scan").paginate(TableName=table):
            for item in page["Items"]:
                yield f"table {table}", _text(item)
    s3 = boto3.client("s3", region_name=cloud.region)
    for bucket in s3.list_buckets()["Buckets"]:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket["Name"]):
            for obj in page.get("Contents", []):
                body = s3.get_object(Bucket=bucket["Name"], Key=obj["Key"])["Body"].read()
                if body[:2] == b"\x1f\x8b":
                    body = gzip.decompress(body)
                yield f"object {bucket['Name']}/{obj['Key']}", obj["Key"] + body.decode("utf-8", "replace")
    sqs = boto3.client("sqs", region_name=cloud.region)
    for url in sqs.list_queues().get("QueueUrls", []):
        for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0).get(
            "Messages", []
        ):
            yield f"queue {url}", message["Body"]


def traces(cloud: Any, person: Person) -> dict[str, set[str]]:
    """marker → the places it was found."""
    markers = person.markers()
    found: dict[str, set[str]] = {}
    for where, text in stored_texts(cloud):
        for marker in markers:
            if marker in text:
                found.setdefault(marker, set()).add(where)
    return found


def archived(cloud: Any, person: Person) -> tuple[list[dict[str, Any]], ReadReport]:
    """What the raw event archive gives back for the person, read with the key ring (as an operator would)."""
    report = ReadReport()
    events = read(
        S3Archive(boto3.client("s3", region_name=cloud.region), cloud.names.bucket("events", "archive")),
        DynamoKeyRing(boto3.client("dynamodb", region_name=cloud.region), cloud.table_name("events", "archive-keys")),
        START.date(),
        cloud.clock.now().date(),
        report,
    )
    mine = [e for e in events if e["detail"]["data"]["profileId"] in person.profile_ids]
    return mine, report


# ---- the scenario -----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def marketing(cloud: Any, api: Api) -> dict[str, str]:
    plan = api.admin(
        "POST",
        "/v1/scoring/plans",
        {
            "name": "Engagement",
            "rules": [
                {"name": "recipe-view", "activity": RECIPES, "points": 5},
                {"name": "form", "activity": {"event": "Form Submitted"}, "points": 30},
            ],
            "tiers": [{"name": "cold"}, {"name": "warm", "min": 10}, {"name": "hot", "min": 40}],
        },
    )
    segment = api.admin(
        "POST",
        "/v1/segments",
        {"name": "Recipe fans", "condition": {"behaviour": RECIPES, "op": "atLeast", "value": 2, "withinDays": 14}},
    )
    assert plan.status == segment.status == 201, (plan.body, segment.body)
    journey = api.admin(
        "POST",
        "/v1/journeys",
        {
            "name": "Recipe nurture",
            "trigger": {"segmentEntered": segment.body["segmentId"]},
            "waitSeconds": 7 * 86400,  # still waiting when the erasure comes
            "email": {"subject": "Recipes for {{firstName}}", "html": "<p>Hello {{firstName}}</p>"},
        },
    )
    home_hero_slot(api, segment.body["segmentId"], "Cook")
    assert journey.status == 201, journey.body
    cloud.settle()
    return {"plan": plan.body["planId"], "segment": segment.body["segmentId"], "journey": journey.body["journeyId"]}


@pytest.fixture(scope="module")
def erased(cloud: Any, api: Api, people: dict[str, Person]) -> Person:
    """Eve, erased by her email; 15 minutes later (whatever fences off in-flight events lapses within minutes)."""
    eve = people["eve"]
    reply = api.admin("POST", "/v1/privacy/erase", {"email": eve.email})
    assert reply.status == 200, reply.body
    eve.profile_ids.update(reply.body["profileIds"])
    cloud.settle()
    cloud.advance("15m")
    cloud.settle()
    return eve


@pytest.fixture(scope="module")
def people(cloud: Any, api: Api, marketing: dict[str, str]) -> dict[str, Person]:
    eve = Person(
        "eve",
        ("eve-laptop-7f3a", "eve-phone-91bc"),
        "crm-eve-5521",
        "Eve.Quill@Example.org",
        "saffron-quince-tart",
        "ORD-EVE-88310",
    )
    bob = Person(
        "bob",
        ("bob-laptop-2d4e", "bob-phone-63aa"),
        "crm-bob-7734",
        "Bob.Marsh@Example.net",
        "juniper-rye-loaf",
        "ORD-BOB-11902",
    )
    for person in (eve, bob):
        live_a_little(cloud, api, person)
    return {"eve": eve, "bob": bob}


def test_before_the_erasure_the_person_is_everywhere(cloud: Any, api: Api, people: dict[str, Person]) -> None:
    """The baseline that makes the scan meaningful: each service holds something of Eve."""
    eve = people["eve"]
    profile_id = eve.profile_id
    memberships = api.admin("GET", f"/v1/segments/memberships/{profile_id}")
    assert memberships.status == 200 and memberships.body, memberships.body
    running = [e for e in cloud.executions("RUNNING") if profile_id in e["name"]]
    assert running, cloud.executions()
    exposures = [
        item
        for item in boto3.client("dynamodb", region_name=cloud.region).scan(
            TableName=cloud.table_name("content", "content")
        )["Items"]
        if item["sk"]["S"] == "VISITOR" and item.get("profileId", {}).get("S") in eve.profile_ids
    ]
    assert {v["M"]["v"]["S"] for e in exposures for k, v in e.items() if k.startswith("e:")} == {"recipes-hero"}
    export = api.admin("POST", "/v1/privacy/export", {"profileId": profile_id})
    assert export.status == 200, export.body
    assert {"identity", "segments", "journeys", "content"} <= set(export.body)
    found = traces(cloud, eve)
    services = {where.split()[1].split("-")[2] for places in found.values() for where in places}
    assert {"identity", "segments", "journeys", "content"} <= services, found
    mine, _ = archived(cloud, eve)
    assert sorted(e["detail"]["data"]["messageId"] for e in mine) == sorted(eve.message_ids)


def test_after_the_erasure_no_trace_of_the_person_is_left_anywhere(
    cloud: Any, api: Api, people: dict[str, Person], erased: Person
) -> None:
    eve, bob = erased, people["bob"]
    assert traces(cloud, eve) == {}
    # Her journey run was stopped, not left to send the email
    assert not [e for e in cloud.executions("RUNNING") if any(p in e["name"] for p in eve.profile_ids)]
    cloud.advance("8d")
    cloud.settle()
    assert all(eve.email not in json.dumps(m.destinations) for m in cloud.sent_emails())
    assert any(bob.email in json.dumps(m.destinations) for m in cloud.sent_emails())  # the journey did mail others
    # The archive still holds her sealed records, but no key opens them any more
    mine, report = archived(cloud, eve)
    assert mine == [] and report.shredded >= len(eve.message_ids) and report.unreadable == 0
    assert cloud.dead_letters() == {}

    # Bob is untouched: found by the same scan, his archive readable, his profile answering
    bob_found = traces(cloud, bob)
    assert {bob.email.lower(), bob.user_id, *bob.devices} <= set(bob_found), bob_found
    bob_archived, _ = archived(cloud, bob)
    assert sorted(e["detail"]["data"]["messageId"] for e in bob_archived) == sorted(bob.message_ids)
    assert api.admin("GET", f"/v1/profiles?email={bob.email.lower()}").status == 200


def test_messages_about_her_delivered_late_bring_nothing_back(
    cloud: Any, erased: Person, marketing: dict[str, str]
) -> None:
    """A retry or a dead-letter replay after the erasure: her activity and her segment entry, once more."""
    eve = erased
    bus = EventBridgePublisher(boto3.client("events", region_name=cloud.region), cloud.names.bus())
    late = cloud.clock.now()
    for profile_id in sorted(eve.profile_ids):
        bus.publish(
            [
                envelope(
                    ActivityRecorded(
                        profileId=profile_id,
                        messageId=eve.message_ids[0],
                        type="page",
                        properties={"path": "/recipes/pancakes"},
                        traits={"email": eve.email},
                        timestamp=late,
                    )
                ),
                envelope(SegmentEntered(profileId=profile_id, segmentId=marketing["segment"], sequence=99)),
            ]
        )
    cloud.settle()
    cloud.advance("15m")
    cloud.settle()
    assert traces(cloud, eve) == {}
    assert not [e for e in cloud.executions("RUNNING") if any(p in e["name"] for p in eve.profile_ids)]
    mine, _ = archived(cloud, eve)
    assert mine == []
    assert cloud.dead_letters() == {}
