"""The ingestion core: body → validated, enriched, serialised EventCollected envelopes, and every refusal named."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.common.contracts.collection import EventCollected
from services.common.contracts.envelope import Envelope
from services.common.ids import derived_id
from services.common.problems import Problem
from services.events.domain.ingestion import (
    Config,
    RequestRefused,
    collected,
    event_id,
    ingest_batch,
    ingest_one,
    parse,
)
from services.events.domain.messages import MAX_MESSAGE_BYTES, Request, SegmentMessage
from services.events.handlers.problems import problem

RECEIVED = dt.datetime(2026, 3, 2, 9, 0, 10, tzinfo=dt.UTC)
CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
)


def request(**overrides: Any) -> Request:
    fields: dict[str, Any] = {"received_at": RECEIVED, "source_id": "site", "ip": "198.51.100.23", "user_agent": CHROME}
    return Request(**{**fields, **overrides})


def page(message_id: str, **extra: Any) -> dict[str, Any]:
    return {"type": "page", "anonymousId": "a-1", "messageId": message_id, "properties": {"path": "/"}, **extra}


def body(*messages: dict[str, Any], **top: Any) -> bytes:
    return json.dumps({"batch": list(messages), **top}).encode()


def answer(refused: pytest.ExceptionInfo[RequestRefused]) -> Problem:
    """The HTTP answer the API gives to the refusal (the one mapping of domain errors to problems)."""
    return problem(refused.value)


def refused_fields(refused: pytest.ExceptionInfo[RequestRefused]) -> list[str]:
    return [e.field for e in answer(refused).errors]


# ---- parsing and request-level refusals ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "detail"),
    [
        (b"{", "not valid JSON"),
        (b"", "empty"),
        (b"   ", "empty"),
        (b'{"a": NaN}', "not valid JSON"),
        (b'{"a": Infinity}', "not valid JSON"),
        ('{"a": "é"}'.encode("latin-1"), "not UTF-8"),
    ],
)
def test_a_body_that_is_not_standard_json_in_utf8_is_refused_naming_the_body(raw: bytes, detail: str) -> None:
    with pytest.raises(RequestRefused) as refused:
        parse(raw)
    assert answer(refused).status == 400
    assert detail in answer(refused).detail
    assert refused_fields(refused) == ["body"]


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (b"[]", "body"),
        (b'"batch"', "body"),
        (b"{}", "batch"),
        (b'{"batch": {}}', "batch"),
        (b'{"batch": []}', "batch"),
        (b'{"batch": [{"type": "page", "anonymousId": "a"}], "context": []}', "context"),
        (b'{"batch": [{"type": "page", "anonymousId": "a"}], "sentAt": "soon"}', "sentAt"),
        (b'{"batch": [{"type": "page", "anonymousId": "a"}], "sentAt": 1700000000}', "sentAt"),
    ],
)
def test_a_batch_request_that_is_wrong_as_a_whole_is_refused_naming_the_field(raw: bytes, field: str) -> None:
    with pytest.raises(RequestRefused) as refused:
        ingest_batch(raw, request())
    assert answer(refused).status == 400
    assert field in refused_fields(refused)


def test_a_batch_of_2501_messages_is_refused() -> None:
    with pytest.raises(RequestRefused) as refused:
        ingest_batch(body(*[page(f"m-{i}") for i in range(2501)]), request())
    assert refused_fields(refused) == ["batch"]


# ---- per-message outcomes --------------------------------------------------------------------------------


def test_valid_messages_are_prepared_in_order_and_bad_ones_refused_by_index() -> None:
    # Given a batch with a good message, a non-object, a duplicate and another good one
    outcome = ingest_batch(body(page("m-0"), "junk", page("m-0"), page("m-3")), request())

    # Then the two good ones are prepared, keeping their position, and the others are named
    assert [(e.index, e.message_id) for e in outcome.events] == [(0, "m-0"), (3, "m-3")]
    assert [(r.index, [e.field for e in r.errors]) for r in outcome.refused] == [
        (1, ["batch[1]"]),
        (2, ["batch[2].messageId"]),
    ]


def test_an_invalid_first_copy_does_not_make_the_valid_second_a_duplicate() -> None:
    outcome = ingest_batch(body({"type": "track", "anonymousId": "a", "messageId": "m"}, page("m")), request())
    assert [e.index for e in outcome.events] == [1]
    assert [r.index for r in outcome.refused] == [0]


def test_a_single_message_larger_than_32KB_is_413() -> None:
    message = {"anonymousId": "a", "event": "x", "properties": {"pad": "x" * MAX_MESSAGE_BYTES}}
    with pytest.raises(RequestRefused) as refused:
        ingest_one("track", json.dumps(message), request())
    assert (answer(refused).status, refused_fields(refused)) == (413, ["body"])


@pytest.mark.parametrize(
    ("kind", "raw", "field"),
    [
        ("track", {"anonymousId": "a"}, "event"),
        ("track", {"anonymousId": "a", "event": "x", "type": "page"}, "type"),
        ("alias", {"userId": "u"}, "previousId"),
        ("page", [], "body"),
        ("identify", {"userId": "u", "traits": "vip"}, "traits"),
    ],
)
def test_a_single_message_is_refused_naming_the_field(kind: str, raw: Any, field: str) -> None:
    with pytest.raises(RequestRefused) as refused:
        ingest_one(kind, json.dumps(raw), request())
    assert answer(refused).status == 400
    assert refused_fields(refused) == [field]


# ---- what is published -----------------------------------------------------------------------------------


def test_the_serialised_envelope_is_what_consumers_read_as_EventCollected() -> None:
    # Given a realistic analytics.js page view
    message = page(
        "m-1",
        userId="u-1",
        originalTimestamp="2026-03-02T10:00:00.250+01:00",
        sentAt="2026-03-02T10:00:05.250+01:00",
        context={
            "ip": "203.0.113.77",
            "userAgent": CHROME,
            "timezone": "Europe/Paris",
            "page": {"url": "https://example.com/?utm_source=google&utm_medium=cpc", "referrer": "https://google.com"},
            "library": {"name": "analytics.js", "version": "5"},
        },
    )

    # When it is prepared
    (event,) = ingest_batch(body(message), request(correlation_id="req-1")).events

    # Then the detail parses as the contract, with the derived id, the corrected time and every enrichment
    envelope = Envelope[EventCollected].model_validate_json(event.detail)
    assert envelope.id == event.id == derived_id("site", "m-1", "EventCollected")
    assert (envelope.correlation_id, envelope.occurred_at) == ("req-1", RECEIVED)
    data = envelope.data
    assert (data.message_id, data.type, data.anonymous_id, data.user_id) == ("m-1", "page", "a-1", "u-1")
    assert data.timestamp == RECEIVED - dt.timedelta(seconds=5)
    assert data.context["ip"] == "203.0.113.0"
    assert data.context["library"] == {"name": "analytics.js", "version": "5"}
    enrichment = data.enrichment.model_dump(by_alias=True, exclude_none=True)
    assert enrichment == {
        "device": {"type": "desktop", "browser": "Chrome", "os": "Windows"},
        "referrer": {"type": "paid", "source": "google"},
        "campaign": {"source": "google", "medium": "cpc"},
        "local": {"hour": 10, "weekday": 0, "partOfDay": "morning", "timezone": "Europe/Paris"},
        "machine": False,
    }
    assert "203.0.113.77" not in event.detail


def test_the_detail_is_the_same_as_the_validated_contract() -> None:
    message = SegmentMessage.model_validate(page("m-2", context={"timezone": "Asia/Tokyo"}))
    (event,) = ingest_batch(body(page("m-2", context={"timezone": "Asia/Tokyo"})), request()).events
    assert event.envelope().data == collected(message, request())


def test_a_number_beyond_double_range_becomes_null_so_the_detail_stays_standard_json() -> None:
    raw = b'{"batch": [{"type": "track", "anonymousId": "a", "event": "E", "properties": {"huge": 1e400, "n": 1e5}}]}'
    (event,) = ingest_batch(raw, request()).events

    def refuse(constant: str) -> Any:
        raise ValueError(constant)

    properties = json.loads(event.detail, parse_constant=refuse)["data"]["properties"]
    assert properties == {"huge": None, "n": 100000.0}


def test_a_write_key_or_unknown_top_level_field_never_reaches_the_bus() -> None:
    (event,) = ingest_batch(body(page("m", writeKey="wk_secret", sneaky=1), writeKey="wk_secret"), request()).events
    assert "wk_secret" not in event.detail
    assert "sneaky" not in event.detail


def test_ip_anonymisation_can_be_switched_off_but_never_stores_a_non_ip() -> None:
    config = Config(anonymise_ip=False)
    (kept,) = ingest_batch(body(page("m", context={"ip": "203.0.113.77"})), request(), config).events
    (junk,) = ingest_batch(body(page("m", context={"ip": "<script>"})), request(ip=None), config).events
    assert json.loads(kept.detail)["data"]["context"]["ip"] == "203.0.113.77"
    assert "ip" not in json.loads(junk.detail)["data"]["context"]


def test_a_message_without_messageId_gets_a_fresh_one_and_so_is_never_a_duplicate() -> None:
    unnamed = {"type": "page", "anonymousId": "a"}
    first, second = ingest_batch(body(unnamed, unnamed), request()).events
    assert first.message_id != second.message_id
    assert first.id != second.id


def test_event_id_is_the_platforms_derived_id() -> None:
    for source, message in [("site", "m-1"), ("é", "x" * 200), ("", ""), ("a\x1fb", "c")]:
        assert event_id(source, message) == derived_id(source, message, "EventCollected")


_text = st.text(min_size=1, max_size=30)
_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.floats(allow_nan=False, allow_infinity=False) | _text,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(_text, children, max_size=3),
    max_leaves=10,
)


@settings(max_examples=150, deadline=None)
@given(
    kind=st.sampled_from(["track", "identify", "page", "screen", "group", "alias"]),
    properties=st.dictionaries(_text, _json, max_size=4),
    context=st.dictionaries(_text, _json, max_size=4),
    ip=st.one_of(st.none(), st.ip_addresses().map(str), _text),
    user_agent=st.one_of(st.none(), _text, st.just(CHROME)),
    timezone=st.sampled_from([None, "Europe/Paris", "America/St_Johns", "Nowhere/Else", "../../etc/passwd"]),
)
def test_any_valid_message_becomes_a_contract_valid_envelope_without_its_raw_ip(
    kind: str,
    properties: dict[str, Any],
    context: dict[str, Any],
    ip: str | None,
    user_agent: str | None,
    timezone: str | None,
) -> None:
    # Given any valid message of any type, with arbitrary JSON in properties and context
    message: dict[str, Any] = {"type": kind, "userId": "u", "previousId": "p", "groupId": "g", "event": "E"}
    message["properties"] = properties
    message["context"] = {**context, "timezone": timezone, "ip": ip}

    # When it is prepared
    (event,) = ingest_batch(body(message), request(ip=ip, user_agent=user_agent)).events

    # Then the detail is a valid EventCollected envelope, and a valid IP appears only anonymised
    data = Envelope[EventCollected].model_validate_json(event.detail).data
    assert data.type == kind
    stored = data.context.get("ip")
    assert stored is None or stored.endswith((".0", "::"))
