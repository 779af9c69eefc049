"""Collection endpoint core: batch validation, clock-skew correction, IP anonymisation and enrichment."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import uuid
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from services.events.domain.ingestion import collected
from services.events.domain.messages import (
    MAX_MESSAGE_BYTES,
    AliasMessage,
    BatchRequest,
    GroupMessage,
    IdentifyMessage,
    PageMessage,
    Request,
    ScreenMessage,
    SegmentMessage,
    TrackMessage,
    anonymise_ip,
    event_time,
    validate_batch,
)

RECEIVED = dt.datetime(2025, 3, 1, 12, 0, 10, tzinfo=dt.UTC)
OFFSETS = [dt.timezone(dt.timedelta(hours=h, minutes=m)) for h, m in [(0, 0), (2, 0), (-5, 0), (5, 30), (-9, 30)]]


def track(message_id: str, **extra: Any) -> dict[str, Any]:
    return {"type": "track", "event": "Signed Up", "anonymousId": "anon-1", "messageId": message_id, **extra}


def batch_of(*messages: dict[str, Any], **top: Any) -> BatchRequest:
    return BatchRequest.model_validate({"batch": list(messages), **top})


def request(ip: str | None = "198.51.100.23", user_agent: str | None = "Mozilla/5.0") -> Request:
    return Request(received_at=RECEIVED, source_id="src-web", ip=ip, user_agent=user_agent)


# ---- batch validation ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        pytest.param({"event": "Signed Up", "anonymousId": "a"}, "batch[1].type", id="missing-type"),
        pytest.param({"type": "track", "anonymousId": "a"}, "batch[1].event", id="track-without-event"),
        pytest.param({"type": "page", "name": "Home"}, "batch[1].userId", id="no-anonymousId-nor-userId"),
        pytest.param({"type": "alias", "userId": "u-1"}, "batch[1].previousId", id="alias-without-previousId"),
        pytest.param({"type": "group", "anonymousId": "a"}, "batch[1].groupId", id="group-without-groupId"),
        pytest.param(track("ignored", properties={"blob": "x" * MAX_MESSAGE_BYTES}), "batch[1]", id="larger-than-32KB"),
    ],
)
def test_a_bad_message_is_refused_by_field_and_its_neighbours_are_kept(bad: dict[str, Any], field: str) -> None:
    # Given a batch whose middle message breaks one rule
    body = batch_of(track("m-0"), {**bad, "messageId": "m-1"}, track("m-2"))

    # When the batch is validated
    accepted, refused = validate_batch(body)

    # Then the valid messages are kept, in order, and the refusal names the message and the field
    assert [m.messageId for m in accepted] == ["m-0", "m-2"]
    assert len(refused) == 1
    refusal = refused[0].as_dict()
    assert refusal["index"] == 1
    assert refusal["messageId"] == "m-1"
    assert [e["field"] for e in refusal["errors"]] == [field]
    assert all(e["message"] for e in refusal["errors"])


def compact(message: dict[str, Any]) -> bytes:
    return json.dumps(message, separators=(",", ":")).encode()


def test_the_32KB_limit_is_inclusive() -> None:
    # Given a message padded to exactly 32 KB of compact JSON (as clients send it), and one a single byte larger
    base = track("m-0", properties={"blob": ""})
    pad = MAX_MESSAGE_BYTES - len(compact(base))
    at_limit = track("m-0", properties={"blob": "x" * pad})
    over_limit = track("m-1", properties={"blob": "x" * (pad + 1)})
    assert len(compact(at_limit)) == MAX_MESSAGE_BYTES

    # When both are sent in one batch
    accepted, refused = validate_batch(batch_of(at_limit, over_limit))

    # Then only the one over the limit is refused, with its size in the message
    assert [m.messageId for m in accepted] == ["m-0"]
    assert [(r.index, r.errors[0].field) for r in refused] == [(1, "batch[1]")]
    assert str(MAX_MESSAGE_BYTES + 1) in refused[0].errors[0].message


def test_every_bad_message_of_a_batch_is_reported_with_its_own_index() -> None:
    # Given a batch with two bad messages
    body = batch_of({"type": "track", "anonymousId": "a"}, track("ok"), {"type": "identify"})

    # When it is validated
    accepted, refused = validate_batch(body)

    # Then each refusal carries its own index in the field path
    assert [m.messageId for m in accepted] == ["ok"]
    assert [(r.index, [e.field for e in r.errors]) for r in refused] == [
        (0, ["batch[0].event"]),
        (2, ["batch[2].userId"]),
    ]


def test_batch_context_is_merged_into_each_message_and_the_message_wins() -> None:
    # Given a batch-level context and one message overriding part of it
    body = batch_of(
        track("m-0"),
        track("m-1", context={"locale": "fr-FR", "page": {"path": "/prix"}}),
        context={"library": {"name": "analytics.js"}, "locale": "en-GB"},
    )

    # When it is validated
    accepted, _ = validate_batch(body)

    # Then every message has the batch context, with the message's own keys taking precedence
    assert accepted[0].context == {"library": {"name": "analytics.js"}, "locale": "en-GB"}
    assert accepted[1].context == {"library": {"name": "analytics.js"}, "locale": "fr-FR", "page": {"path": "/prix"}}


def test_batch_sentAt_applies_to_messages_without_their_own() -> None:
    # Given a batch-level sentAt and one message with its own
    own = dt.datetime(2025, 3, 1, 11, 0, tzinfo=dt.UTC)
    body = batch_of(track("m-0"), track("m-1", sentAt=own.isoformat()), sentAt="2025-03-01T12:00:00Z")

    # When it is validated
    accepted, _ = validate_batch(body)

    # Then the batch sentAt fills the gap and never overrides
    assert accepted[0].sentAt == dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.UTC)
    assert accepted[1].sentAt == own


@pytest.mark.parametrize("bad_context", [None, "web", ["a", "b"]], ids=["null", "string", "list"])
def test_a_message_with_a_malformed_context_does_not_sink_the_batch(bad_context: Any) -> None:
    # Given a batch with a batch-level context and one message whose own context is not an object
    body = batch_of(track("m-0"), track("m-1", context=bad_context), track("m-2"), context={"library": {"name": "x"}})

    # When it is validated
    accepted, refused = validate_batch(body)

    # Then the other messages are kept and the bad one, if refused, is refused by its own field path
    assert {"m-0", "m-2"} <= {m.messageId for m in accepted}
    for refusal in refused:
        assert refusal.index == 1
        assert all(e.field.startswith("batch[1]") for e in refusal.errors)


# ---- clock-skew correction -------------------------------------------------------------------------------


def test_event_time_corrects_the_client_clock() -> None:
    # Given a device whose clock is an hour fast, which recorded an event and sent it 5 s later
    message = SegmentMessage.model_validate(
        track("m", originalTimestamp="2025-03-01T13:00:00Z", sentAt="2025-03-01T13:00:05Z")
    )

    # When the server received it at 12:00:10 UTC
    # Then the event happened 5 s before it was received
    assert event_time(message, RECEIVED) == dt.datetime(2025, 3, 1, 12, 0, 5, tzinfo=dt.UTC)


def test_event_time_uses_timestamp_as_the_original_when_originalTimestamp_is_absent() -> None:
    message = SegmentMessage.model_validate(track("m", timestamp="2025-03-01T13:00:00Z", sentAt="2025-03-01T13:00:07Z"))
    assert event_time(message, RECEIVED) == RECEIVED - dt.timedelta(seconds=7)


def test_event_time_trusts_a_timestamp_without_sentAt() -> None:
    message = SegmentMessage.model_validate(track("m", timestamp="2024-12-31T23:59:59.123+01:00"))
    assert event_time(message, RECEIVED) == dt.datetime(2024, 12, 31, 22, 59, 59, 123000, tzinfo=dt.UTC)


def test_event_time_is_the_receipt_time_when_the_client_sent_no_time() -> None:
    message = SegmentMessage.model_validate(track("m", sentAt="2025-03-01T13:00:07Z"))
    assert event_time(message, RECEIVED) == RECEIVED


@settings(max_examples=200, deadline=None)
@given(
    received=st.datetimes(
        min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2100, 1, 1), timezones=st.sampled_from(OFFSETS)
    ),
    skew=st.timedeltas(min_value=dt.timedelta(days=-400), max_value=dt.timedelta(days=400)),
    delay=st.timedeltas(min_value=dt.timedelta(0), max_value=dt.timedelta(days=30)),
    client_tz=st.sampled_from(OFFSETS),
    sent_tz=st.sampled_from(OFFSETS),
)
def test_event_time_is_receipt_minus_the_client_side_delay_whatever_the_skew(
    received: dt.datetime, skew: dt.timedelta, delay: dt.timedelta, client_tz: dt.tzinfo, sent_tz: dt.tzinfo
) -> None:
    # Given a client clock off by `skew` that held the event for `delay` before sending it
    original = (received + skew).astimezone(client_tz)
    sent = (original + delay).astimezone(sent_tz)
    message = SegmentMessage.model_validate(track("m", originalTimestamp=original, sentAt=sent))

    # When the time of the event is corrected
    # Then it is exactly the receipt time minus the client-side delay
    assert event_time(message, received) == received - delay


# ---- IP anonymisation ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ip", "expected"),
    [
        ("203.0.113.77", "203.0.113.0"),
        ("10.1.2.255", "10.1.2.0"),
        ("2001:db8:abcd:12:34:56:78:9a", "2001:db8:abcd::"),
        ("2001:db8:1::1", "2001:db8:1::"),
        (None, None),
        ("", None),
        ("not-an-ip", None),
        ("999.1.1.1", None),
        ("1.2.3", None),
        ("1.2.3.4/24", None),
        ("<script>", None),
    ],
)
def test_anonymise_ip(ip: str | None, expected: str | None) -> None:
    assert anonymise_ip(ip) == expected


@given(st.ip_addresses(v=4))
def test_anonymised_ipv4_keeps_the_first_three_octets_only(address: ipaddress.IPv4Address) -> None:
    result = ipaddress.IPv4Address(anonymise_ip(str(address)))
    assert result.packed[:3] == address.packed[:3]
    assert result.packed[3] == 0


@given(st.ip_addresses(v=6))
def test_anonymised_ipv6_keeps_the_48_bit_prefix_only(address: ipaddress.IPv6Address) -> None:
    result = ipaddress.IPv6Address(anonymise_ip(str(address)))
    assert int(result) >> 80 == int(address) >> 80
    assert int(result) & ((1 << 80) - 1) == 0


# ---- enrichment ------------------------------------------------------------------------------------------


def test_collected_anonymises_the_request_ip_and_keeps_the_context() -> None:
    # Given a track message with a page context and no IP of its own
    message = SegmentMessage.model_validate(
        track("m-1", context={"page": {"path": "/pricing"}, "library": {"name": "analytics.js"}})
    )

    # When it is enriched with what the HTTP request told us
    event = collected(message, request(ip="198.51.100.23"))

    # Then the stored IP is anonymised, the client context is kept and the user agent is added
    assert event.context == {
        "page": {"path": "/pricing"},
        "library": {"name": "analytics.js"},
        "ip": "198.51.100.0",
        "userAgent": "Mozilla/5.0",
    }
    assert event.message_id == "m-1"
    assert event.type == "track"
    assert event.event == "Signed Up"
    assert event.anonymous_id == "anon-1"
    assert event.received_at == RECEIVED
    assert event.source_id == "src-web"


def test_collected_prefers_the_client_context_ip_and_user_agent_and_anonymises_it() -> None:
    message = SegmentMessage.model_validate(track("m", context={"ip": "2001:db8:aa:bb::1", "userAgent": "app/1.0"}))
    event = collected(message, request(ip="198.51.100.23"))
    assert event.context["ip"] == "2001:db8:aa::"
    assert event.context["userAgent"] == "app/1.0"


def test_collected_never_stores_an_ip_it_could_not_anonymise() -> None:
    message = SegmentMessage.model_validate(track("m", context={"ip": "garbage"}))
    event = collected(message, request(ip=None, user_agent=None))
    assert "ip" not in event.context
    assert "userAgent" not in event.context


@pytest.mark.parametrize(
    "context",
    [{"ip": 3232235777}, {"ip": True}, {"traits": "vip"}],
    ids=["ip-as-number", "ip-as-boolean", "traits-as-string"],
)
def test_collected_survives_malformed_client_context(context: dict[str, Any]) -> None:
    # Given a message whose client-supplied context has values of the wrong JSON type (the model accepts any)
    message = SegmentMessage.model_validate(track("m", context=context))

    # When it is enriched
    event = collected(message, request(ip="198.51.100.23"))

    # Then enrichment does not blow up (one such message would fail the whole request), and no raw IP is stored
    assert event.context.get("ip") in (None, "198.51.100.0", "192.168.1.0", "0.0.0.0")


def test_collected_assigns_a_time_ordered_message_id_when_the_client_sent_none() -> None:
    message = SegmentMessage.model_validate({"type": "page", "anonymousId": "a"})
    first, second = collected(message, request()), collected(message, request())
    assert uuid.UUID(first.message_id).version == 7
    assert first.message_id != second.message_id


def test_collected_uses_the_corrected_event_time() -> None:
    message = SegmentMessage.model_validate(
        track("m", originalTimestamp="2025-03-01T13:00:00Z", sentAt="2025-03-01T13:00:05Z")
    )
    assert collected(message, request()).timestamp == RECEIVED - dt.timedelta(seconds=5)


def test_collected_takes_traits_from_context_when_the_message_has_none() -> None:
    message = SegmentMessage.model_validate(track("m", context={"traits": {"email": "ana@example.com"}}))
    assert collected(message, request()).traits == {"email": "ana@example.com"}
    identify = SegmentMessage.model_validate(
        {"type": "identify", "userId": "u", "traits": {"plan": "pro"}, "context": {"traits": {"plan": "free"}}}
    )
    assert collected(identify, request()).traits == {"plan": "pro"}


ENDPOINTS = [
    pytest.param(TrackMessage, "track", {"event": "Signed Up", "anonymousId": "a"}, id="track"),
    pytest.param(IdentifyMessage, "identify", {"userId": "u", "traits": {"plan": "pro"}}, id="identify"),
    pytest.param(PageMessage, "page", {"anonymousId": "a", "name": "Home"}, id="page"),
    pytest.param(ScreenMessage, "screen", {"anonymousId": "a", "name": "Home"}, id="screen"),
    pytest.param(GroupMessage, "group", {"userId": "u", "groupId": "g"}, id="group"),
    pytest.param(AliasMessage, "alias", {"userId": "u", "previousId": "a"}, id="alias"),
]


@pytest.mark.parametrize(("model", "kind", "body"), ENDPOINTS)
def test_an_endpoint_implies_the_message_type(model: type[SegmentMessage], kind: str, body: dict[str, Any]) -> None:
    # Given a body posted to /v1/<kind> without a `type`
    message = model.model_validate(body)

    # When it is enriched
    # Then the collected event has the endpoint's type
    assert collected(message, request()).type == kind


@pytest.mark.parametrize(
    ("model", "body", "field"),
    [
        (TrackMessage, {"anonymousId": "a"}, "event"),
        (GroupMessage, {"userId": "u"}, "groupId"),
        (AliasMessage, {"userId": "u"}, "previousId"),
        (PageMessage, {"name": "Home"}, "userId"),
    ],
)
def test_an_endpoint_applies_its_type_rules(model: type[SegmentMessage], body: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as refused:
        model.model_validate(body)
    assert [e["loc"] for e in refused.value.errors()] == [(field,)]


def test_a_body_cannot_turn_a_track_call_into_another_type() -> None:
    # Given a body posted to /v1/track that claims to be an identify (and so skips the `event` rule)
    body = {"type": "identify", "userId": "u-1", "traits": {"plan": "free"}}

    # When the endpoint's model reads it
    try:
        message = TrackMessage.model_validate(body)
    except ValidationError:
        return  # refusing the mismatch is acceptable

    # Then it is recorded as what the endpoint says, never as another type
    assert collected(message, request()).type == "track"
