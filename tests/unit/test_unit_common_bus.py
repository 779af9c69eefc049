"""Publishing to EventBridge: PutEvents-sized chunks, in order, and failures that are raised, never dropped."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.common.bus import MAX_ENTRIES, MAX_REQUEST_BYTES, EventBridgePublisher, PublishFailed
from services.common.contracts import Envelope, envelope
from services.common.contracts.registry import ProfileUpdated

PUT_EVENTS_LIMIT = 256 * 1024  # what EventBridge itself refuses above


def request_bytes(entries: list[dict[str, Any]]) -> int:
    """EventBridge's own accounting: UTF-8 bytes of Source, DetailType, Detail (+ 14 for Time) per entry."""
    return sum(
        14 + len(e["Source"].encode()) + len(e["DetailType"].encode()) + len(e["Detail"].encode()) for e in entries
    )


class FakeEventBridge:
    """Records put_events calls; refuses the entries whose envelope id is listed, like PutEvents does."""

    def __init__(self, refuse: set[str] | None = None) -> None:
        self.calls: list[list[dict[str, Any]]] = []
        self.refuse = refuse or set()

    def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        if len(Entries) > MAX_ENTRIES:
            raise AssertionError(f"PutEvents accepts at most {MAX_ENTRIES} entries, got {len(Entries)}")
        if request_bytes(Entries) > PUT_EVENTS_LIMIT:
            raise AssertionError(f"PutEvents refuses requests over 256 KB, got {request_bytes(Entries)} bytes")
        self.calls.append(Entries)
        results = []
        for entry in Entries:
            event_id = json.loads(entry["Detail"])["id"]
            if event_id in self.refuse:
                results.append({"ErrorCode": "InternalFailure", "ErrorMessage": "try again"})
            else:
                results.append({"EventId": f"eb-{event_id}"})
        return {"FailedEntryCount": sum(1 for r in results if "ErrorCode" in r), "Entries": results}

    def sent_ids(self) -> list[str]:
        return [json.loads(e["Detail"])["id"] for call in self.calls for e in call]


def events(count: int, payload: str = "x") -> list[Envelope[Any]]:
    return [
        envelope(ProfileUpdated(profileId=f"p-{i}", changed={"note": payload}), id=f"ev-{i:04d}") for i in range(count)
    ]


def test_events_are_sent_in_order_in_batches_of_ten() -> None:
    # Given 25 small events
    client = FakeEventBridge()
    batch = events(25)

    # When they are published
    EventBridgePublisher(client, "cxm-bus").publish(batch)

    # Then PutEvents gets 10, 10 and 5, in the original order, each entry fully addressed
    assert [len(call) for call in client.calls] == [10, 10, 5]
    assert client.sent_ids() == [e.id for e in batch]
    first = client.calls[0][0]
    assert first["EventBusName"] == "cxm-bus"
    assert (first["Source"], first["DetailType"]) == ("cxm.identity", "ProfileUpdated")
    assert json.loads(first["Detail"])["data"] == {"profileId": "p-0", "changed": {"note": "x"}}
    assert first["Time"] == batch[0].occurred_at


def test_nothing_is_sent_for_no_events() -> None:
    client = FakeEventBridge()
    EventBridgePublisher(client, "bus").publish([])
    assert client.calls == []


def test_large_events_are_split_to_stay_under_the_request_size() -> None:
    # Given 5 events of about 100 KB each
    client = FakeEventBridge()
    batch = events(5, payload="x" * 100_000)

    # When they are published
    EventBridgePublisher(client, "bus").publish(batch)

    # Then no request exceeds 240 KB and all are sent, in order
    assert [len(call) for call in client.calls] == [2, 2, 1]
    assert all(request_bytes(call) <= MAX_REQUEST_BYTES for call in client.calls)
    assert client.sent_ids() == [e.id for e in batch]


def test_the_size_limit_counts_bytes_not_characters() -> None:
    # Given 8 events whose payload is 30 000 non-ASCII characters (about 90 KB of UTF-8 each)
    client = FakeEventBridge()
    batch = events(8, payload="確" * 30_000)

    # When they are published
    EventBridgePublisher(client, "bus").publish(batch)

    # Then every request stays within 240 KB of UTF-8, so EventBridge does not refuse it whole
    assert all(request_bytes(call) <= MAX_REQUEST_BYTES for call in client.calls)
    assert client.sent_ids() == [e.id for e in batch]


@settings(max_examples=40, deadline=None)
@given(sizes=st.lists(st.integers(0, 120_000), min_size=1, max_size=30))
def test_chunks_respect_both_limits_and_keep_order(sizes: list[int]) -> None:
    client = FakeEventBridge()
    batch = [
        envelope(ProfileUpdated(profileId="p", changed={"note": "y" * size}), id=f"ev-{i:04d}")
        for i, size in enumerate(sizes)
    ]
    EventBridgePublisher(client, "bus").publish(batch)
    assert client.sent_ids() == [e.id for e in batch]
    assert all(1 <= len(call) <= MAX_ENTRIES for call in client.calls)
    assert all(request_bytes(call) <= MAX_REQUEST_BYTES for call in client.calls)


def test_refused_entries_raise_with_their_ids_after_everything_was_attempted() -> None:
    # Given a bus that refuses one event in the first chunk and one in the third
    client = FakeEventBridge(refuse={"ev-0003", "ev-0021"})
    batch = events(25)

    # When they are published
    with pytest.raises(PublishFailed) as failed:
        EventBridgePublisher(client, "bus").publish(batch)

    # Then the failure names exactly the refused events, with the bus's reason
    assert [f["id"] for f in failed.value.failures] == ["ev-0003", "ev-0021"]
    assert {f["error"] for f in failed.value.failures} == {"InternalFailure"}
    assert {f["detailType"] for f in failed.value.failures} == {"ProfileUpdated"}
    assert "2 event(s) not published" in str(failed.value)
    # And every chunk was still attempted
    assert client.sent_ids() == [e.id for e in batch]


def test_a_client_error_is_not_swallowed() -> None:
    class Broken:
        def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:
            raise ConnectionError("throttled")

    with pytest.raises(ConnectionError):
        EventBridgePublisher(Broken(), "bus").publish(events(1))


@dataclass(frozen=True)
class Collected:
    """An event serialised by its producer (as the events service does), with a second id worth logging."""

    id: str
    message_id: str
    source: str = "cxm.events"
    detail_type: str = "EventCollected"
    occurred_at: dt.datetime = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)

    @property
    def detail(self) -> str:
        return json.dumps({"id": self.id, "data": {"messageId": self.message_id}})

    def names(self) -> dict[str, str]:
        return {"id": self.id, "messageId": self.message_id}


def test_pre_serialised_events_go_as_they_are_and_failures_name_their_own_ids() -> None:
    # Given twelve events serialised by their producer, one of which the bus refuses
    client = FakeEventBridge(refuse={"c-0011"})
    batch = [Collected(f"c-{i:04d}", f"m-{i}") for i in range(12)]

    # When they are published
    with pytest.raises(PublishFailed) as failed:
        EventBridgePublisher(client, "bus").publish_serialised(batch)

    # Then the details went unchanged, ten then two, and the failure names the event and its message
    assert [len(call) for call in client.calls] == [10, 2]
    assert [e["Detail"] for call in client.calls for e in call] == [c.detail for c in batch]
    assert {e["Source"] for call in client.calls for e in call} == {"cxm.events"}
    assert failed.value.failures == [
        {
            "id": "c-0011",
            "messageId": "m-11",
            "detailType": "EventCollected",
            "error": "InternalFailure",
            "message": "try again",
        }
    ]
