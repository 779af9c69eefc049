"""Events use cases over in-memory adapters: dedupe claims and releases, opens and clicks with their verdicts."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from services.common.bus import PublishFailed
from services.common.email_links import TrackingToken
from services.events.adapters.dynamodb import DynamoLedger, claim_key
from services.events.adapters.memory import MemoryClickLog, MemoryLedger, RecordingPublisher
from services.events.domain.ingestion import Config, Prepared, ingest_batch
from services.events.domain.messages import Request
from services.events.domain.scanners import Thresholds
from services.events.ports import LedgerUnavailable
from services.events.use_cases import Tracking, collect, record_click, record_open

NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(hours=24)
HUMAN = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Safari"


def request(at: dt.datetime = NOW, source: str = "site") -> Request:
    return Request(received_at=at, source_id=source, ip="203.0.113.77", user_agent=HUMAN)


def prepared(*message_ids: str, at: dt.datetime = NOW, source: str = "site") -> list[Prepared]:
    body = json.dumps({"batch": [{"type": "page", "anonymousId": "a", "messageId": m} for m in message_ids]})
    return ingest_batch(body, request(at, source)).events


def test_a_resent_message_is_a_duplicate_and_not_published_again() -> None:
    ledger, bus = MemoryLedger(), RecordingPublisher()
    first = collect(prepared("m-1", "m-2"), request(), DAY, ledger, bus)
    again = collect(prepared("m-2", "m-3"), request(), DAY, ledger, bus)
    assert [e.message_id for e in first.published] == ["m-1", "m-2"]
    assert ([e.message_id for e in again.published], [e.message_id for e in again.duplicates]) == (["m-3"], ["m-2"])
    assert [e.message_id for e in bus.published] == ["m-1", "m-2", "m-3"]


def test_after_the_window_a_message_is_collected_again() -> None:
    ledger, bus = MemoryLedger(), RecordingPublisher()
    collect(prepared("m-1"), request(), DAY, ledger, bus)
    later = NOW + DAY + dt.timedelta(seconds=1)
    assert [e.message_id for e in collect(prepared("m-1", at=later), request(later), DAY, ledger, bus).published] == [
        "m-1"
    ]


def test_when_the_bus_refuses_the_claims_are_released_so_the_retry_is_collected() -> None:
    # Given a bus that refuses the first attempt
    ledger, bus = MemoryLedger(), RecordingPublisher()
    bus.fail = PublishFailed([{"id": "x", "error": "InternalFailure"}])
    with pytest.raises(PublishFailed):
        collect(prepared("m-1", "m-2"), request(), DAY, ledger, bus)
    assert ledger.seen == {}

    # When the client retries (Segment clients retry on 5xx)
    bus.fail = None
    retry = collect(prepared("m-1", "m-2"), request(), DAY, ledger, bus)

    # Then nothing is taken for a duplicate
    assert [e.message_id for e in retry.published] == ["m-1", "m-2"]
    assert retry.duplicates == []


def test_nothing_to_collect_costs_nothing() -> None:
    ledger, bus = MemoryLedger(), RecordingPublisher()
    assert collect([], request(), DAY, ledger, bus).published == []
    assert ledger.seen == {} and bus.published == []


# ---- opens and clicks ------------------------------------------------------------------------------------

TRACKING = Tracking(b"k" * 32, dt.timedelta(days=365), Thresholds(), Config())
SENT = NOW - dt.timedelta(hours=2)


def test_an_open_is_an_email_opened_event_for_the_tokens_profile_with_the_ip_anonymised() -> None:
    bus = RecordingPublisher()
    record_open(TrackingToken("open", "p-1", "msg-1", SENT), request(), TRACKING, bus)
    (event,) = bus.data()
    assert (event.type, event.event, event.profile_id, event.source_id) == ("track", "Email Opened", "p-1", "email")
    assert event.properties == {"emailMessageId": "msg-1"}
    assert event.context["ip"] == "203.0.113.0"
    assert event.enrichment.machine is False
    assert event.enrichment.device is not None and event.enrichment.device.type == "desktop"


def test_clicks_on_every_link_at_once_are_flagged_but_not_the_first() -> None:
    bus, clicks = RecordingPublisher(), MemoryClickLog()
    for offset, link in enumerate(["https://x.example/a", "https://x.example/b", "https://x.example/c"]):
        at = NOW + dt.timedelta(milliseconds=150 * offset)
        record_click(TrackingToken("click", "p-1", "msg-9", SENT, link), request(at), TRACKING, clicks, bus)
    flags = [(e.enrichment.machine, e.enrichment.machine_reason) for e in bus.data()]
    assert flags == [(False, None), (True, "link-burst"), (True, "link-burst")]
    assert [e.properties["url"] for e in bus.data()] == [
        "https://x.example/a",
        "https://x.example/b",
        "https://x.example/c",
    ]


# ---- the DynamoDB ledger when DynamoDB fails part of a batch -----------------------------------------------


class ThrottlingDynamo:
    """A DynamoDB client fake: remembers items, refuses puts of the ids it is told to throttle."""

    def __init__(self, throttled: set[str], source: str = "site") -> None:
        self.items: dict[str, dict[str, Any]] = {}
        self.throttled = throttled
        self.source = source

    def put_item(self, TableName: str, Item: dict[str, Any], **condition: Any) -> None:
        pk = Item["pk"]["S"]
        if pk in {claim_key(self.source, message_id) for message_id in self.throttled}:
            raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException"}}, "PutItem")
        if pk in self.items:
            raise ClientError({"Error": {"Code": "ConditionalCheckFailedException"}}, "PutItem")
        self.items[pk] = Item

    def delete_item(self, TableName: str, Key: dict[str, Any]) -> None:
        self.items.pop(Key["pk"]["S"], None)


def test_a_partly_failed_claim_gives_back_what_it_claimed_and_says_so() -> None:
    # Given a table where one id of a batch gets throttled and one was claimed before
    dynamo = ThrottlingDynamo(throttled={"m-3"})
    ledger = DynamoLedger(dynamo, "messages")
    assert ledger.claim("site", ["m-0"], NOW, NOW + DAY) == set()

    # When a batch is claimed
    with pytest.raises(LedgerUnavailable):
        ledger.claim("site", ["m-0", "m-1", "m-2", "m-3"], NOW, NOW + DAY)

    # Then only the earlier claim remains: the retry will claim m-1..m-3 again rather than drop them
    assert set(dynamo.items) == {claim_key("site", "m-0")}
    dynamo.throttled.clear()
    assert ledger.claim("site", ["m-0", "m-1", "m-2", "m-3"], NOW, NOW + DAY) == {"m-0"}


def test_a_zero_window_claims_nothing_and_a_resent_message_keeps_its_envelope_id() -> None:
    # Given dedupe turned off (DEDUPE_WINDOW_HOURS=0): no write per event on the events side
    ledger, bus = MemoryLedger(), RecordingPublisher()
    collect(prepared("m-1"), request(), dt.timedelta(0), ledger, bus)
    collect(prepared("m-1"), request(), dt.timedelta(0), ledger, bus)

    # Then both are published, with one id that consumers (idempotent on the event id) take once
    assert ledger.seen == {}
    first, second = bus.published
    assert first.id == second.id


# ---- settings from the environment -----------------------------------------------------------------------


def test_settings_have_defaults_and_read_the_optional_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    from services.events import app

    for name in app._OPTIONAL:
        monkeypatch.delenv(name, raising=False)
    defaults = app.current()
    assert defaults.dedupe_window == DAY
    assert defaults.enrichment == Config()
    assert defaults.token_max_age == dt.timedelta(days=365)

    monkeypatch.setenv("DEDUPE_WINDOW_HOURS", "0")
    monkeypatch.setenv("IP_ANONYMISATION", "off")
    monkeypatch.setenv("SEARCH_QUERY_PARAMETERS", "")
    monkeypatch.setenv("INTERNAL_DOMAINS", "Shop.example, pay.example")
    monkeypatch.setenv("MACHINE_AFTER_DELIVERY_SECONDS", "30")
    configured = app.current()
    assert configured.dedupe_window == dt.timedelta(0)
    assert configured.enrichment == Config(
        anonymise_ip=False, search_parameters=(), internal_domains=("shop.example", "pay.example")
    )
    assert configured.machine.after_delivery == dt.timedelta(seconds=30)

    monkeypatch.setenv("TRACKING_TOKEN_DAYS", "-1")
    with pytest.raises(RuntimeError, match="TRACKING_TOKEN_DAYS"):
        app.current()
