"""Dedupe by messageId on the local cloud: a retrying client's re-sent batch produces no second activity anywhere."""

from __future__ import annotations

import datetime as dt
from typing import Any

import boto3
import pytest

from services.events.adapters.dynamodb import DynamoLedger, claim_key
from tests.conftest import Api

from .conftest import Tap, ledger_items, profile_count


def page_views(visitor: str, *message_ids: str) -> dict[str, Any]:
    return {
        "batch": [
            {"type": "page", "anonymousId": visitor, "messageId": m, "properties": {"path": f"/recipes/{m}"}}
            for m in message_ids
        ]
    }


def activity_ids(api: Api, visitor: str) -> list[str]:
    profile = api.admin("GET", f"/v1/profiles?anonymousId={visitor}")
    assert profile.status == 200, profile.body
    return sorted(a["messageId"] for a in profile.body["activity"])


def test_a_resent_batch_is_answered_200_and_nothing_reaches_the_bus_again(cloud: Any, api: Api, published: Tap) -> None:
    # Given a batch that was collected, its effects settled downstream
    body = page_views("retrying", "r-1", "r-2", "r-3")
    first = api.request("POST", "/v1/batch", body, key=api.write_key)
    assert first.body == {"success": True, "accepted": 3, "duplicates": [], "rejected": []}
    assert len(published.take()) == 3
    cloud.settle()
    assert activity_ids(api, "retrying") == ["r-1", "r-2", "r-3"]

    # When the client re-sends it (its first answer was lost, say), with one new message added
    again = api.request(
        "POST", "/v1/batch", {"batch": [*body["batch"], *page_views("retrying", "r-4")["batch"]]}, key=api.write_key
    )

    # Then the answer is 200, the three are marked duplicates, only the new one is published
    assert again.status == 200, again.body
    assert again.body["accepted"] == 1
    assert again.body["duplicates"] == [
        {"index": 0, "messageId": "r-1"},
        {"index": 1, "messageId": "r-2"},
        {"index": 2, "messageId": "r-3"},
    ]
    assert [e["data"]["messageId"] for e in published.take()] == ["r-4"]
    # And downstream there is no second activity: one more (r-4), nothing else
    cloud.settle()
    assert activity_ids(api, "retrying") == ["r-1", "r-2", "r-3", "r-4"]


def test_a_duplicate_inside_one_batch_is_refused_by_field_and_the_rest_kept(
    cloud: Any, api: Api, published: Tap
) -> None:
    reply = api.request("POST", "/v1/batch", page_views("twice", "t-1", "t-2", "t-1"), key=api.write_key)

    assert reply.status == 200, reply.body
    assert reply.body["accepted"] == 2
    assert reply.body["rejected"] == [
        {
            "index": 2,
            "messageId": "t-1",
            "errors": [{"field": "batch[2].messageId", "message": "duplicate of batch[0] in this request"}],
        }
    ]
    assert [e["data"]["messageId"] for e in published.take()] == ["t-1", "t-2"]
    cloud.settle()
    assert activity_ids(api, "twice") == ["t-1", "t-2"]


def test_a_resent_single_message_says_duplicate_and_writes_nothing(cloud: Any, api: Api, published: Tap) -> None:
    # Given a message that was collected and settled downstream
    message = {"anonymousId": "single-dup", "event": "Signed Up", "messageId": "s-1"}
    assert api.send("track", message).body == {"success": True, "duplicate": False}
    cloud.settle()
    before = (profile_count(cloud), len(ledger_items(cloud)), activity_ids(api, "single-dup"))

    # When it is sent again
    assert api.send("track", message).body == {"success": True, "duplicate": True}

    # Then exactly one event was ever published, and the re-send changed nothing anywhere
    assert [e["data"]["messageId"] for e in published.take()] == ["s-1"]
    cloud.settle()
    assert (profile_count(cloud), len(ledger_items(cloud)), activity_ids(api, "single-dup")) == before
    assert before[2] == ["s-1"]


def test_the_same_message_id_from_another_source_is_not_a_duplicate(cloud: Any, api: Api, published: Tap) -> None:
    other_key = cloud.create_key("write", "other-site", "tests")
    message = {"anonymousId": "two-sites", "event": "Viewed", "messageId": "shared-id"}
    assert api.send("track", message).body["duplicate"] is False
    assert api.request("POST", "/v1/track", message, key=other_key).body["duplicate"] is False
    assert sorted(e["data"]["sourceId"] for e in published.take()) == ["other-site", "test-site"]


def test_the_window_is_configurable_and_a_message_is_collected_again_after_it(
    cloud: Any, api: Api, published: Tap, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a one-hour dedupe window (the functions' environment, as an operator would set it)
    monkeypatch.setitem(cloud.runtime.extra_env, "DEDUPE_WINDOW_HOURS", "1")
    message = {"anonymousId": "windowed", "event": "Viewed", "messageId": "w-1"}
    assert api.send("track", message).body["duplicate"] is False

    # When it comes again within the hour, and again two hours later
    cloud.clock.advance(minutes=59)
    within = api.send("track", message).body
    cloud.clock.advance(hours=2)
    after = api.send("track", message).body

    # Then only the one within the window is a duplicate; the claim records the window as its expiry (TTL)
    assert (within["duplicate"], after["duplicate"]) == (True, False)
    assert len(published.take()) == 2
    (claim,) = [i for i in ledger_items(cloud) if i["pk"] == claim_key("test-site", "w-1")]
    assert int(claim["expiresAt"]) == int((cloud.clock.now() + dt.timedelta(hours=1)).timestamp())


def test_released_claims_let_a_retry_through(cloud: Any) -> None:
    # Given the ledger on the real table (what the API does when the bus refused the events)
    ledger = DynamoLedger(boto3.client("dynamodb", region_name=cloud.region), cloud.table_name("events", "messages"))
    now = cloud.clock.now()
    until = now + dt.timedelta(hours=24)
    assert ledger.claim("src", ["x-1", "x-2", "x-3"], now, until) == set()
    assert ledger.claim("src", ["x-1", "x-4"], now, until) == {"x-1"}

    # When claims are released
    ledger.release("src", ["x-1", "x-2"])

    # Then those ids can be claimed again, the others are still duplicates
    assert ledger.claim("src", ["x-1", "x-2", "x-3", "x-4"], now, until) == {"x-3", "x-4"}
    # And an expired claim that TTL has not deleted yet does not count
    assert ledger.claim("src", ["x-3"], until + dt.timedelta(seconds=1), until + dt.timedelta(hours=24)) == set()


def test_with_a_zero_window_nothing_is_claimed_and_a_resend_keeps_its_event_id(
    cloud: Any, api: Api, published: Tap, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the claims turned off (no DynamoDB write per event on the events side)
    monkeypatch.setitem(cloud.runtime.extra_env, "DEDUPE_WINDOW_HOURS", "0")
    message = {"anonymousId": "unclaimed", "event": "Viewed", "messageId": "u-1"}

    # When a message is sent twice
    assert api.send("track", message).body["duplicate"] is False
    assert api.send("track", message).body["duplicate"] is False

    # Then both are published under one event id (which consumers dedupe on), and no claim was written
    first, second = published.take()
    assert first["id"] == second["id"]
    assert not [i for i in ledger_items(cloud) if i["pk"] == claim_key("test-site", "u-1")]
