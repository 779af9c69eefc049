"""The shared HTTP guard as the collection endpoints use it: gzip and base64 bodies, the limit on the decompressed
size (zip bombs), UTF-8, and the write key from the header or from a (compressed) body."""

from __future__ import annotations

import base64
import gzip
import json
import zlib
from typing import Any

import pytest

from services.common.access import Principal
from services.common.api import Guard, decoded_body
from services.common.manifest import Function, Route
from services.common.problems import Problem
from services.events.manifest import MANIFEST

LIMIT = 1000
SITE = Principal(role="write", source_id="site", key_id="k1")


class Keys:
    def __init__(self) -> None:
        self.asked: list[str] = []

    def lookup(self, key: str) -> Principal | None:
        self.asked.append(key)
        return SITE if key == "wk_good" else None


def guard(keys: Keys | None = None) -> Guard:
    store = keys or Keys()
    return Guard(MANIFEST.function("api"), LIMIT, lambda: store)  # type: ignore[arg-type, return-value]


def event(
    body: bytes | str, *, encoding: str | None = None, key: str | None = "wk_good", b64: bool = False
) -> dict[str, Any]:
    headers = {"Content-Type": "application/json"}
    if encoding:
        headers["Content-Encoding"] = encoding
    if key:
        headers["Authorization"] = "Basic " + base64.b64encode(f"{key}:".encode()).decode()
    raw = body.encode() if isinstance(body, str) else body
    encoded = b64 or encoding is not None
    return {
        "routeKey": "POST /v1/batch",
        "headers": headers,
        "body": base64.b64encode(raw).decode() if encoded else raw.decode(),
        "isBase64Encoded": encoded,
    }


def refused(call: Any) -> Problem:
    with pytest.raises(Problem) as problem:
        call()
    return problem.value


def test_a_plain_body_passes_unchanged() -> None:
    original = event('{"batch": []}')
    who, prepared = guard().prepare(original)
    assert who == SITE
    assert prepared is original


def test_a_gzipped_base64_body_is_handed_on_as_text_without_the_encoding_header() -> None:
    who, prepared = guard().prepare(event(gzip.compress(b'{"batch": [1]}'), encoding="gzip"))
    assert who == SITE
    assert prepared["body"] == '{"batch": [1]}'
    assert prepared["isBase64Encoded"] is False
    assert "Content-Encoding" not in prepared["headers"]
    assert prepared["headers"]["Content-Type"] == "application/json"


def test_concatenated_gzip_members_are_one_body() -> None:
    body = gzip.compress(b'{"batch": ') + gzip.compress(b"[1]}")
    assert guard().prepare(event(body, encoding="gzip"))[1]["body"] == '{"batch": [1]}'


def test_the_write_key_may_hide_in_a_compressed_body() -> None:
    keys = Keys()
    body = gzip.compress(json.dumps({"writeKey": "wk_good", "batch": []}).encode())
    who, _ = guard(keys).prepare(event(body, encoding="gzip", key=None))
    assert who == SITE
    assert keys.asked == ["wk_good"]


def test_the_body_is_not_parsed_for_a_key_when_the_header_has_one() -> None:
    keys = Keys()
    guard(keys).prepare(event('{"writeKey": "wk_other", "batch": []}'))
    assert keys.asked == ["wk_good"]


def test_the_limit_applies_to_the_decompressed_size_and_stops_inflating_there() -> None:
    # Given 10 MB of zeros: under 20 KB compressed, ten thousand times the limit once inflated
    bomb = gzip.compress(b"0" * 10_000_000, compresslevel=9)
    assert len(bomb) < 20_000
    problem = refused(lambda: decoded_body(bomb, "gzip", LIMIT))
    assert (problem.status, [e.field for e in problem.errors]) == (413, ["body"])
    # And at the limit exactly it passes
    assert len(decoded_body(gzip.compress(b"x" * LIMIT), "gzip", LIMIT)) == LIMIT
    assert refused(lambda: decoded_body(gzip.compress(b"x" * (LIMIT + 1)), "gzip", LIMIT)).status == 413


def test_a_compressed_body_over_the_limit_is_refused_before_inflating() -> None:
    noise = gzip.compress(bytes(range(256)) * 20, compresslevel=0)
    assert len(noise) > LIMIT
    assert refused(lambda: guard().prepare(event(noise, encoding="gzip"))).status == 413


def test_the_guard_refuses_a_bomb_with_413() -> None:
    problem = refused(lambda: guard().prepare(event(gzip.compress(b" " * 100_000), encoding="gzip")))
    assert problem.status == 413


@pytest.mark.parametrize(
    ("body", "encoding", "status", "field"),
    [
        (b"\x1f\x8b not gzip at all", "gzip", 400, "body"),
        (gzip.compress(b'{"a": 1}')[:-4], "gzip", 400, "body"),
        (zlib.compress(b"{}"), "deflate", 415, "content-encoding"),
        ('{"name": "José"}'.encode("latin-1"), None, 400, "body"),
        (gzip.compress('{"name": "José"}'.encode("latin-1")), "gzip", 400, "body"),
    ],
    ids=["not-gzip", "truncated-gzip", "deflate", "latin-1", "gzipped-latin-1"],
)
def test_undecodable_bodies_are_refused_naming_the_field(
    body: bytes, encoding: str | None, status: int, field: str
) -> None:
    problem = refused(lambda: guard().prepare(event(body, encoding=encoding, b64=True)))
    assert (problem.status, [e.field for e in problem.errors]) == (status, [field])


def test_identity_encoding_is_no_encoding() -> None:
    assert guard().prepare(event("{}", encoding="identity"))[1]["body"] == "{}"


def test_public_routes_need_no_key_but_get_a_decoded_body() -> None:
    public = Guard(Function("f", "h", "d", routes=(Route("POST", "/p", "public"),)), LIMIT, Keys)  # type: ignore[arg-type]
    who, prepared = public.prepare({**event(gzip.compress(b"{}"), encoding="gzip", key=None), "routeKey": "POST /p"})
    assert (who, prepared["body"]) == (None, "{}")


def test_without_any_key_it_is_401() -> None:
    problem = refused(lambda: guard().prepare(event('{"batch": []}', key=None)))
    assert (problem.status, [e.field for e in problem.errors]) == (401, ["authorization"])
