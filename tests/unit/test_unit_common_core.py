"""Shared core: problem field paths, identifiers, presented API keys and the injectable clock."""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import uuid
from typing import Any
from unittest import mock

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from services.common import clock
from services.common.access import Principal, presented_key
from services.common.ids import derived_id, new_id
from services.common.problems import FieldError, Problem, bad_request, field_path, from_pydantic, render
from services.events.domain.messages import SegmentMessage

# ---- problems --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("loc", "path"),
    [
        (("body", "batch", 3, "type"), "batch[3].type"),
        (("query", "limit"), "limit"),
        (("path", "profileId"), "profileId"),
        (("traits", "email"), "traits.email"),
        (("body",), "body"),
        ((), "body"),
        ((0, "type"), "[0].type"),
        (("variants", 1, "segmentId"), "variants[1].segmentId"),
        (("matrix", 0, 2), "matrix[0][2]"),
    ],
)
def test_field_path(loc: tuple[Any, ...], path: str) -> None:
    assert field_path(loc) == path


def test_from_pydantic_prefixes_each_error_with_the_message_position() -> None:
    # Given a message that breaks a field rule and has a bad nested value
    with pytest.raises(ValidationError) as refused:
        SegmentMessage.model_validate({"type": "track", "anonymousId": "a", "properties": []})

    # When its errors are mapped under a batch position
    errors = from_pydantic(refused.value.errors(), prefix="batch[2]")

    # Then each names the message and the field
    assert sorted(e.field for e in errors) == ["batch[2].event", "batch[2].properties"]


@pytest.mark.parametrize(
    ("loc", "expected"),
    [
        ((), "batch[4]"),
        (("body",), "batch[4]"),
        ((0, "x"), "batch[4][0].x"),
        (("context", "ip"), "batch[4].context.ip"),
    ],
)
def test_from_pydantic_joins_the_prefix_without_stray_dots(loc: tuple[Any, ...], expected: str) -> None:
    assert from_pydantic([{"loc": loc, "msg": "bad"}], prefix="batch[4]") == [FieldError(expected, "bad")]


def test_a_problem_renders_as_problem_json_with_its_field_errors() -> None:
    status, headers, body = render(bad_request("No message is valid.", [FieldError("batch[0].type", "required")]))
    assert (status, headers) == (400, {"Content-Type": "application/problem+json"})
    assert json.loads(body) == {
        "type": "https://cxm.dev/problems/400",
        "title": "Bad Request",
        "status": 400,
        "detail": "No message is valid.",
        "errors": [{"field": "batch[0].type", "message": "required"}],
    }
    assert json.loads(render(Problem(503, "Service Unavailable", extra={"retryable": True}))[2])["retryable"] is True


# ---- ids -------------------------------------------------------------------------------------------------


def test_new_id_is_a_uuid_version_7_carrying_the_creation_millisecond() -> None:
    with mock.patch("services.common.ids.time.time_ns", return_value=1_740_000_000_123_456_789):
        value = uuid.UUID(new_id())
    assert value.version == 7
    assert value.variant == uuid.RFC_4122
    assert value.int >> 80 == 1_740_000_000_123


def test_new_ids_are_unique() -> None:
    assert len({new_id() for _ in range(2000)}) == 2000


@given(steps=st.lists(st.integers(1, 10**6), min_size=2, max_size=20), start=st.integers(0, 2**47))
def test_new_ids_sort_by_creation_time_across_milliseconds(steps: list[int], start: int) -> None:
    # Given ids created at strictly increasing milliseconds
    moments = [start]
    for step in steps:
        moments.append(moments[-1] + step)
    created = []
    for millis in moments:
        with mock.patch("services.common.ids.time.time_ns", return_value=millis * 1_000_000 + 999_999):
            created.append(new_id())

    # Then sorting them as strings (how DynamoDB sorts keys) gives creation order
    assert sorted(created) == created
    assert all(uuid.UUID(i).version == 7 for i in created)


def test_derived_id_is_deterministic_and_depends_on_every_part() -> None:
    first = derived_id("ev-1", "ProfileCreated")
    assert first == derived_id("ev-1", "ProfileCreated")
    assert uuid.UUID(first).version == 5
    assert len({first, derived_id("ev-2", "ProfileCreated"), derived_id("ev-1", "ProfilesMerged")}) == 3
    assert derived_id("ev-1", "ProfilesMerged", "p-1") != derived_id("ev-1", "ProfilesMerged", "p-2")


# ---- presented keys --------------------------------------------------------------------------------------


def basic(text: str) -> str:
    return "Basic " + base64.b64encode(text.encode()).decode()


@pytest.mark.parametrize(
    ("headers", "body_key", "expected"),
    [
        pytest.param({"authorization": basic("wk_live:")}, None, "wk_live", id="basic-user-segment-style"),
        pytest.param({"Authorization": basic("wk_live:ignored")}, None, "wk_live", id="basic-capitalised-header"),
        pytest.param({"authorization": basic("wk_live")}, None, "wk_live", id="basic-without-colon"),
        pytest.param({"authorization": basic(":password")}, None, None, id="basic-empty-user"),
        pytest.param({"authorization": "Basic !!!not-base64"}, None, None, id="basic-malformed-base64"),
        pytest.param({"authorization": "Basic d2tf"}, "wk_body", "wk_", id="basic-wins-over-body"),
        pytest.param({"authorization": "Basic d2t"}, None, None, id="basic-bad-padding"),
        pytest.param(
            {"authorization": "Basic " + base64.b64encode(b"\xff\xfe:").decode()}, None, None, id="basic-not-utf8"
        ),
        pytest.param({"authorization": "Bearer ak_admin"}, None, "ak_admin", id="bearer"),
        pytest.param({"authorization": "bearer ak_admin "}, None, "ak_admin", id="bearer-lower-case"),
        pytest.param({}, "wk_body", "wk_body", id="body-write-key"),
        pytest.param({"authorization": "Digest abc"}, "wk_body", "wk_body", id="unknown-scheme-falls-back-to-body"),
        pytest.param({}, "", None, id="empty-body-key"),
        pytest.param({}, None, None, id="nothing"),
    ],
)
def test_presented_key(headers: dict[str, str], body_key: str | None, expected: str | None) -> None:
    assert presented_key(headers, body_key) == expected


@pytest.mark.parametrize(
    ("role", "auth", "allowed"),
    [
        ("write", "public", True),
        ("write", "write_key", True),
        ("write", "admin", False),
        ("admin", "public", True),
        ("admin", "write_key", True),
        ("admin", "admin", True),
    ],
)
def test_what_a_principal_may_call(role: Any, auth: Any, allowed: bool) -> None:
    assert Principal(role=role, source_id="src", key_id="k").may(auth) is allowed


# ---- clock -----------------------------------------------------------------------------------------------

ISO_MS_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
ZONES = [dt.timezone(dt.timedelta(hours=h, minutes=m)) for h, m in [(0, 0), (1, 0), (-8, 0), (5, 45), (13, 0)]]


@given(
    st.datetimes(
        min_value=dt.datetime(1970, 1, 2), max_value=dt.datetime(9998, 12, 30), timezones=st.sampled_from(ZONES)
    )
)
def test_iso_is_utc_with_milliseconds_and_round_trips(moment: dt.datetime) -> None:
    text = clock.iso(moment)
    assert ISO_MS_Z.match(text), text
    assert clock.parse_iso(text) == moment - dt.timedelta(microseconds=moment.microsecond % 1000)


def test_iso_examples() -> None:
    paris = dt.timezone(dt.timedelta(hours=1))
    assert clock.iso(dt.datetime(2025, 3, 1, 13, 0, tzinfo=paris)) == "2025-03-01T12:00:00.000Z"
    assert clock.iso(dt.datetime(2025, 3, 1, 12, 0, 0, 987654, tzinfo=dt.UTC)) == "2025-03-01T12:00:00.987Z"
    assert clock.parse_iso("2025-03-01T12:00:00") == dt.datetime(2025, 3, 1, 12, tzinfo=dt.UTC)


def test_set_source_swaps_the_clock_and_none_restores_real_time() -> None:
    virtual = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    try:
        # Given the local cloud's virtual clock
        clock.set_source(lambda: virtual)
        # Then every now() reads it
        assert clock.now() == virtual
    finally:
        # When the source is cleared
        clock.set_source(None)
    # Then real, aware UTC time is back
    real = clock.now()
    assert real.tzinfo is not None
    assert abs(real - dt.datetime.now(dt.UTC)) < dt.timedelta(seconds=5)


def test_no_socket_can_be_opened_in_unit_tests() -> None:
    import socket

    with pytest.raises(RuntimeError, match="must not open sockets"):
        socket.socket()
