"""Bad input to the collection API on the local cloud: each case gets its documented answer (status, problem+json
naming the field) and writes nothing — no profile, no bus event, no dedupe claim."""

from __future__ import annotations

import gzip
import json
from typing import Any

import pytest

from services.events.domain.messages import MAX_BATCH_BYTES, MAX_MESSAGE_BYTES
from tests.conftest import Api

from .conftest import assert_problem, gzipped, post_raw

pytestmark = pytest.mark.usefixtures("nothing_written")
JSON = {"content-type": "application/json"}


def test_a_single_message_over_32KB_is_413_naming_the_body(api: Api) -> None:
    message = {"anonymousId": "big", "event": "x", "properties": {"pad": "x" * MAX_MESSAGE_BYTES}}
    assert_problem(api.send("track", message), 413, "body")


def test_a_batch_over_500KB_is_413_before_anything_is_read(api: Api) -> None:
    batch = {
        "batch": [{"type": "page", "anonymousId": f"b{i}", "properties": {"pad": "x" * 30_000}} for i in range(18)]
    }
    assert len(json.dumps(batch)) > MAX_BATCH_BYTES
    assert_problem(api.request("POST", "/v1/batch", batch, key=api.write_key), 413, "body")


def test_a_gzip_bomb_is_413_on_its_decompressed_size(api: Api) -> None:
    # Given 5 MB of zeros inside a valid JSON string: a few KB on the wire
    bomb = gzip.compress(b'{"batch": [{"type": "page", "anonymousId": "' + b"0" * 5_000_000 + b'"}]}')
    assert len(bomb) < 10_000
    reply = post_raw(api, "/v1/batch", bomb, {**JSON, "content-encoding": "gzip"}, key=api.write_key)
    assert_problem(reply, 413, "body")
    assert str(MAX_BATCH_BYTES) in reply.body["detail"]


def test_an_oversized_message_inside_a_batch_is_refused_alone(api: Api) -> None:
    batch = {"batch": [{"type": "page", "anonymousId": "a", "properties": {"pad": "x" * MAX_MESSAGE_BYTES}}]}
    reply = api.request("POST", "/v1/batch", batch, key=api.write_key)
    assert_problem(reply, 400, "batch[0]")
    assert reply.body["rejected"][0]["index"] == 0


@pytest.mark.parametrize(
    "raw",
    [b'{"event": "x", "anonymousId": ', b"not json", b"[1, 2", b'{"event": NaN, "anonymousId": "a"}', b""],
    ids=["truncated", "text", "array", "nan", "empty"],
)
def test_malformed_json_is_400_naming_the_body(api: Api, raw: bytes) -> None:
    reply = post_raw(api, "/v1/track", raw, JSON, key=api.write_key)
    assert_problem(reply, 400, "body")


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v1/track", {"anonymousId": "a", "event": "x", "properties": "not an object"}, "properties"),
        ("/v1/track", {"anonymousId": "a", "event": 42}, "event"),
        ("/v1/page", {"anonymousId": ["a"]}, "anonymousId"),
        ("/v1/identify", {"userId": "u", "timestamp": "yesterday"}, "timestamp"),
        ("/v1/identify", {"userId": "u", "timestamp": "2026-03-02T09:00:00"}, "timestamp"),  # no zone
        ("/v1/track", ["a", "list"], "body"),
        ("/v1/batch", {"batch": "not a list"}, "batch"),
        ("/v1/batch", {"batch": []}, "batch"),
        ("/v1/batch", {"batch": [{"type": "page", "anonymousId": "a"}], "context": "web"}, "context"),
        ("/v1/batch", {"batch": [{"type": "page", "anonymousId": "a"}], "sentAt": 7}, "sentAt"),
    ],
)
def test_a_wrongly_typed_field_is_400_naming_it(api: Api, path: str, body: Any, field: str) -> None:
    assert_problem(api.request("POST", path, body, key=api.write_key), 400, field)


def test_every_refused_message_of_a_batch_is_named_and_the_request_is_400(api: Api) -> None:
    batch = {"batch": [{"type": "click", "anonymousId": "a"}, "a string", {"type": "track", "anonymousId": "a"}]}
    reply = api.request("POST", "/v1/batch", batch, key=api.write_key)
    assert_problem(reply, 400)
    assert [(r["index"], [e["field"] for e in r["errors"]]) for r in reply.body["rejected"]] == [
        (0, ["batch[0].type"]),
        (1, ["batch[1]"]),
        (2, ["batch[2].event"]),
    ]


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/batch", {"batch": [{"type": "purchase", "anonymousId": "a"}]}),
        ("/v1/track", {"type": "identify", "userId": "u"}),
    ],
    ids=["unknown-type", "type-not-of-the-endpoint"],
)
def test_an_unknown_or_mismatched_type_is_400_naming_the_type(api: Api, path: str, body: Any) -> None:
    reply = api.request("POST", path, body, key=api.write_key)
    assert_problem(reply, 400)
    assert any(e["field"].endswith("type") for e in reply.body["errors"]), reply.body


def test_a_body_that_is_not_utf8_is_400(api: Api) -> None:
    latin1 = '{"type": "page", "anonymousId": "José"}'.encode("latin-1")
    # API Gateway hands binary content types to the function base64-encoded, and so does the local gateway
    plain = post_raw(api, "/v1/page", latin1, {"content-type": "application/octet-stream"}, key=api.write_key)
    assert_problem(plain, 400, "body")
    assert "UTF-8" in plain.body["detail"]
    # Labelled JSON, but not UTF-8: refused too, not "repaired" into a profile for "Jos\ufffd"
    labelled = post_raw(api, "/v1/page", latin1, JSON, key=api.write_key)
    assert_problem(labelled, 400, "body")
    assert "UTF-8" in labelled.body["detail"]
    compressed = post_raw(
        api, "/v1/page", gzip.compress(latin1), {**JSON, "content-encoding": "gzip"}, key=api.write_key
    )
    assert_problem(compressed, 400, "body")


def test_a_corrupt_gzip_body_is_400_and_an_unknown_encoding_415(api: Api) -> None:
    corrupt = gzipped({"anonymousId": "a"})[:-6]
    assert_problem(
        post_raw(api, "/v1/page", corrupt, {**JSON, "content-encoding": "gzip"}, key=api.write_key), 400, "body"
    )
    brotli = post_raw(api, "/v1/page", b"\x1b\x03", {**JSON, "content-encoding": "br"}, key=api.write_key)
    assert_problem(brotli, 415, "content-encoding")


def test_without_a_valid_write_key_nothing_is_collected(api: Api) -> None:
    message = {"anonymousId": "a", "event": "x"}
    assert_problem(api.request("POST", "/v1/track", message), 401, "authorization")
    assert_problem(api.request("POST", "/v1/track", message, key="wk_unknown"), 401, "authorization")
    hidden = gzipped({"writeKey": "wk_unknown", "batch": [{"type": "page", "anonymousId": "a"}]})
    assert_problem(post_raw(api, "/v1/batch", hidden, {**JSON, "content-encoding": "gzip"}), 401, "authorization")
