"""The Segment HTTP Tracking API on the local cloud: every endpoint, both ways of sending the write key, gzip,
clock-skew correction, the client's context kept, and an unmodified Segment client library."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from segment.analytics import Client

from tests.conftest import Api

from .conftest import Tap, dead_letter_count, gzipped, post_raw, profile_count

ENDPOINTS = [
    ("track", {"anonymousId": "spec-track", "event": "Signed Up", "properties": {"plan": "free"}}),
    ("identify", {"anonymousId": "spec-identify", "userId": "u-spec", "traits": {"firstName": "Ana"}}),
    ("page", {"anonymousId": "spec-page", "name": "Home", "properties": {"path": "/"}}),
    ("screen", {"anonymousId": "spec-screen", "name": "Settings"}),
    ("group", {"anonymousId": "spec-group", "groupId": "acme", "traits": {"plan": "enterprise"}}),
    ("alias", {"previousId": "spec-anon", "userId": "u-alias"}),
]


@pytest.mark.parametrize(("kind", "message"), ENDPOINTS, ids=[k for k, _ in ENDPOINTS])
def test_each_endpoint_publishes_one_event_of_its_type(
    cloud: Any, api: Api, published: Tap, kind: str, message: dict[str, Any]
) -> None:
    # Given a message posted to its endpoint with the write key as the HTTP Basic user
    parked = dead_letter_count(cloud)
    reply = api.send(kind, message)

    # Then it is accepted, and exactly one EventCollected of that type is on the bus, with the source of the key
    assert reply.status == 200, reply.body
    assert reply.body == {"success": True, "duplicate": False}
    (event,) = published.take()
    assert event["data"]["type"] == kind
    assert event["data"]["sourceId"] == "test-site"
    for field in ("anonymousId", "userId", "event", "name", "groupId", "previousId"):
        assert event["data"].get(field) == message.get(field)
    # And the identity consumer took it without failing
    cloud.settle()
    assert dead_letter_count(cloud) == parked


def test_a_batch_with_every_type_is_collected_and_identity_builds_the_profile(
    cloud: Any, api: Api, published: Tap
) -> None:
    # Given a batch mixing every message type for one visitor
    batch = [{"type": kind, **message} for kind, message in ENDPOINTS]
    batch = [{**m, "anonymousId": "spec-batch"} if "anonymousId" in m else m for m in batch]

    # When it is posted
    profiles = profile_count(cloud)
    reply = api.request("POST", "/v1/batch", {"batch": batch}, key=api.write_key)

    # Then all are accepted and published in order, and the visitor's profile exists downstream
    assert reply.status == 200, reply.body
    assert reply.body == {"success": True, "accepted": 6, "duplicates": [], "rejected": []}
    assert [e["data"]["type"] for e in published.take()] == [kind for kind, _ in ENDPOINTS]
    cloud.settle()
    profile = api.admin("GET", "/v1/profiles?anonymousId=spec-batch")
    assert profile.status == 200, profile.body
    assert profile.body["traits"]["firstName"] == "Ana"
    assert profile_count(cloud) > profiles  # what `nothing_written` counts does move when something is written


def test_the_write_key_may_come_in_the_body_of_a_single_message(api: Api, published: Tap) -> None:
    reply = api.request("POST", "/v1/track", {"writeKey": api.write_key, "anonymousId": "body-key", "event": "Opened"})
    assert reply.status == 200, reply.body
    (event,) = published.take()
    assert event["data"]["sourceId"] == "test-site"
    assert api.write_key not in str(event)  # the key is a credential: it never travels on the bus


def test_a_gzipped_batch_is_collected(api: Api, published: Tap) -> None:
    # Given a batch compressed with gzip, the write key inside the compressed body only (as some clients do)
    body = {
        "writeKey": api.write_key,
        "batch": [{"type": "track", "anonymousId": "gz", "event": f"E{i}"} for i in range(3)],
    }

    # When it is posted with Content-Encoding: gzip
    reply = post_raw(api, "/v1/batch", gzipped(body), {"content-type": "application/json", "content-encoding": "gzip"})

    # Then it is read like the plain one
    assert reply.status == 200, reply.body
    assert reply.body["accepted"] == 3
    assert [e["data"]["event"] for e in published.take()] == ["E0", "E1", "E2"]


def test_a_gzipped_single_message_with_the_basic_key_is_collected(api: Api, published: Tap) -> None:
    reply = post_raw(
        api,
        "/v1/page",
        gzipped({"anonymousId": "gz-page", "properties": {"path": "/gz"}}),
        {"content-type": "application/json", "content-encoding": "gzip"},
        key=api.write_key,
    )
    assert reply.status == 200, reply.body
    assert [e["data"]["properties"]["path"] for e in published.take()] == ["/gz"]


def test_a_text_plain_beacon_body_is_read_as_json(api: Api, published: Tap) -> None:
    # navigator.sendBeacon posts text/plain unless told otherwise
    reply = post_raw(
        api,
        "/v1/batch",
        b'{"writeKey": "' + api.write_key.encode() + b'", "batch": [{"type": "page", "anonymousId": "beacon"}]}',
        {"content-type": "text/plain;charset=UTF-8"},
    )
    assert reply.status == 200, reply.body
    assert [e["data"]["anonymousId"] for e in published.take()] == ["beacon"]


def test_the_event_time_is_corrected_for_the_client_clock_and_the_context_is_kept(
    cloud: Any, api: Api, published: Tap
) -> None:
    # Given a device whose clock is 1 h fast, which recorded an event and sent it 30 s later
    fast = cloud.clock.now() + dt.timedelta(hours=1)
    context = {"locale": "fr-FR", "library": {"name": "analytics.js", "version": "5.0"}, "page": {"path": "/x"}}
    message = {
        "type": "track",
        "anonymousId": "skewed",
        "event": "Clicked",
        "originalTimestamp": (fast - dt.timedelta(seconds=30)).isoformat(),
        "context": context,
    }

    # When it is posted with the batch's sentAt from the same fast clock
    reply = api.request("POST", "/v1/batch", {"batch": [message], "sentAt": fast.isoformat()}, key=api.write_key)

    # Then the stored time is the receipt time minus the 30 s the client held it, and the context is kept
    assert reply.status == 200, reply.body
    (event,) = published.take()
    stamp = dt.datetime.fromisoformat(event["data"]["timestamp"].replace("Z", "+00:00"))
    assert stamp == cloud.clock.now() - dt.timedelta(seconds=30)
    assert event["data"]["receivedAt"].startswith(cloud.clock.now().strftime("%Y-%m-%dT%H:%M:%S"))
    assert {k: event["data"]["context"][k] for k in context} == context


def test_an_unmodified_segment_client_library_works_against_our_host(cloud: Any, api: Api, published: Tap) -> None:
    # Given the official Segment Python library (segment-analytics-python), pointed at our host, gzip on, with the
    # site's server key as its write key (a back-end's identity is verified; a page's write key only claims one)
    errors: list[Any] = []
    client = Client(write_key=api.server_key, host=cloud.url, gzip=True, on_error=lambda e, batch: errors.append(e))

    # When a server-side app identifies a visitor, records a page view and an action, and flushes
    client.identify("u-segment", {"email": "lib@example.com", "firstName": "Lib"}, anonymous_id="lib-anon")
    client.page("u-segment", category="Docs", name="Setup", properties={"path": "/docs/setup"})
    client.track("u-segment", "Signed Up", {"plan": "pro"})
    client.flush()
    client.shutdown()

    # Then nothing failed, the three messages are on the bus with the library's own messageIds and times
    assert errors == []
    events = published.take()
    assert [e["data"]["type"] for e in events] == ["identify", "page", "track"]
    assert all(e["data"]["context"]["library"]["name"] == "analytics-python" for e in events)
    # And identity built the profile, found by the email the library sent
    cloud.settle()
    profile = api.admin("GET", "/v1/profiles?email=lib@example.com")
    assert profile.status == 200, profile.body
    assert profile.body["traits"]["firstName"] == "Lib"
    assert {a["type"] for a in profile.body["activity"]} >= {"identify", "page", "track"}
