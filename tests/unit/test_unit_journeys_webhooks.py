"""Journey webhooks: canonical body, signature and its verification, answer outcome, URL and address checks."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.journeys.domain.webhooks import (
    ID_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    check_url,
    classify,
    is_public_address,
    payload,
    sign,
    signed_headers,
    verify,
)

SECRET = b"whsec_test_secret"
NOW = 1_767_225_600  # 2026-01-01T00:00:00Z
PROFILE = {"email": "ada@example.com"}
CONTEXT = {"journeyId": "j-1"}


@pytest.fixture
def delivery() -> tuple[bytes, dict[str, str]]:
    """A lead hand-off as the journey sends it: the body and its signed headers."""
    body = payload({"email": "ada@example.com", "traits": {"plan": "pro", "city": "Zürich"}}, {"journeyId": "j-1"})
    return body, signed_headers(SECRET, body, NOW, "j-1:p-1:step-3")


# ---- body ------------------------------------------------------------------------------------------------


def test_the_body_is_compact_sorted_utf8_json_of_profile_and_journey() -> None:
    body = payload({"name": "Zoë", "age": 36}, {"step": "crm", "journeyId": "j-1"})
    assert body == '{"journey":{"journeyId":"j-1","step":"crm"},"profile":{"age":36,"name":"Zoë"}}'.encode()
    assert json.loads(body) == {"profile": {"name": "Zoë", "age": 36}, "journey": {"step": "crm", "journeyId": "j-1"}}


def test_the_body_does_not_depend_on_key_order() -> None:
    first = payload({"a": 1, "b": {"y": 2, "x": 1}}, {"k": 1, "j": 2})
    second = payload({"b": {"x": 1, "y": 2}, "a": 1}, {"j": 2, "k": 1})
    assert first == second


@given(profile=st.dictionaries(st.text(), st.one_of(st.none(), st.booleans(), st.integers(), st.text())))
def test_any_json_profile_gives_a_body_that_reads_back(profile: dict[str, Any]) -> None:
    body = payload(profile, {})
    assert json.loads(body.decode("utf-8")) == {"profile": profile, "journey": {}}
    assert payload(dict(reversed(list(profile.items()))), {}) == body


def test_a_lone_surrogate_in_a_trait_still_gives_valid_utf8_json() -> None:
    body = payload({"name": "broken \ud800"}, {})
    assert json.loads(body.decode("utf-8")) == {"profile": {"name": "broken \ud800"}, "journey": {}}


def test_a_value_json_cannot_hold_is_refused() -> None:
    with pytest.raises(ValueError):
        payload({"score": float("nan")}, {})


# ---- signature -------------------------------------------------------------------------------------------


def test_the_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    body = payload(PROFILE, CONTEXT)
    expected = hmac.new(SECRET, b"1767225600." + body, hashlib.sha256).hexdigest()
    assert sign(SECRET, body, NOW) == f"v1={expected}"
    # printf '1767225600.<body>' | openssl dgst -sha256 -hmac whsec_test_secret
    assert expected == "2ecff96c76110b842519fc1f5b6c631b6846b178d05454b3f72e46b1c342448f"


def test_an_empty_secret_signs_nothing() -> None:
    with pytest.raises(ValueError):
        sign(b"", b"{}", NOW)


def test_the_signed_headers_carry_type_agent_timestamp_signature_and_delivery_id() -> None:
    body = payload(PROFILE, CONTEXT)
    headers = signed_headers(SECRET, body, NOW, "delivery-1")
    assert headers == {
        "Content-Type": "application/json",
        "User-Agent": "CxM-Webhooks/1",
        TIMESTAMP_HEADER: "1767225600",
        SIGNATURE_HEADER: sign(SECRET, body, NOW),
        ID_HEADER: "delivery-1",
    }


@pytest.mark.parametrize("delivery_id", ["", "has space", "line\r\nX-Injected: 1", "é", "x" * 201])
def test_a_delivery_id_that_could_break_the_header_is_refused(delivery_id: str) -> None:
    with pytest.raises(ValueError):
        signed_headers(SECRET, b"{}", NOW, delivery_id)


# ---- verification (what a receiver does) -----------------------------------------------------------------


def test_a_fresh_signed_delivery_verifies(delivery: tuple[bytes, dict[str, str]]) -> None:
    body, headers = delivery
    assert verify(SECRET, body, headers, now=NOW + 5)


def test_header_names_are_case_insensitive(delivery: tuple[bytes, dict[str, str]]) -> None:
    body, headers = delivery
    assert verify(SECRET, body, {name.lower(): value for name, value in headers.items()}, now=NOW)
    assert verify(SECRET, body, {name.upper(): value for name, value in headers.items()}, now=NOW)


def test_a_wrong_secret_is_refused(delivery: tuple[bytes, dict[str, str]]) -> None:
    body, headers = delivery
    assert not verify(b"whsec_another_secret", body, headers, now=NOW)
    assert not verify(b"", body, headers, now=NOW)


def test_a_modified_body_is_refused(delivery: tuple[bytes, dict[str, str]]) -> None:
    body, headers = delivery
    assert not verify(SECRET, body.replace(b"pro", b"max"), headers, now=NOW)
    assert not verify(SECRET, body + b" ", headers, now=NOW)


def test_a_modified_timestamp_is_refused(delivery: tuple[bytes, dict[str, str]]) -> None:
    body, headers = delivery
    assert not verify(SECRET, body, {**headers, TIMESTAMP_HEADER: str(NOW + 1)}, now=NOW)


@pytest.mark.parametrize("age", [301, -301, 86_400])
def test_a_timestamp_outside_the_tolerance_is_refused_even_when_signed(
    delivery: tuple[bytes, dict[str, str]], age: int
) -> None:
    body, headers = delivery
    assert verify(SECRET, body, headers, now=NOW + 300)
    assert verify(SECRET, body, headers, now=NOW - 300)
    assert not verify(SECRET, body, headers, now=NOW + age)
    assert verify(SECRET, body, headers, now=NOW + age, tolerance=abs(age))


@pytest.mark.parametrize("stamp", ["", "+1767225600", "1_767_225_600", "1767225600.0", "١٢٣"])
def test_a_timestamp_that_is_not_plain_digits_is_refused(stamp: str) -> None:
    body = b"{}"
    headers = {TIMESTAMP_HEADER: stamp, SIGNATURE_HEADER: sign(SECRET, body, NOW)}
    assert not verify(SECRET, body, headers, now=NOW)


@pytest.mark.parametrize("signature", ["", "v1=", "v0=00", "v1=zz", "v1=é", "garbage"])
def test_a_missing_or_malformed_signature_is_refused(delivery: tuple[bytes, dict[str, str]], signature: str) -> None:
    body, headers = delivery
    assert not verify(SECRET, body, {**headers, SIGNATURE_HEADER: signature}, now=NOW)
    assert not verify(SECRET, body, {k: v for k, v in headers.items() if k != SIGNATURE_HEADER}, now=NOW)


def test_during_a_secret_rotation_one_matching_signature_of_several_is_enough() -> None:
    body = payload(PROFILE, CONTEXT)
    old, new = b"whsec_old", b"whsec_new"
    headers = {TIMESTAMP_HEADER: str(NOW), SIGNATURE_HEADER: f"{sign(old, body, NOW)}, {sign(new, body, NOW)}"}
    assert verify(old, body, headers, now=NOW)
    assert verify(new, body, headers, now=NOW)
    assert not verify(b"whsec_other", body, headers, now=NOW)


# ---- outcome of an answer --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (200, "delivered"),
        (202, "delivered"),
        (204, "delivered"),
        (301, "refused"),
        (302, "refused"),
        (400, "refused"),
        (401, "refused"),
        (404, "refused"),
        (410, "refused"),
        (408, "retry"),
        (425, "retry"),
        (429, "retry"),
        (500, "retry"),
        (502, "retry"),
        (503, "retry"),
        (599, "retry"),
        (None, "retry"),
        (100, "refused"),
        (600, "refused"),
    ],
)
def test_classify_an_answer(status: int | None, outcome: str) -> None:
    assert classify(status) == outcome


# ---- URL and address checks ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://crm.example.com/hooks/lead",
        "https://crm.example.com:8443/hooks/lead?token=abc&x=1",
        "HTTPS://CRM.example.com/",
        "https://[2001:db8::1]/hook",
        "https://crm.example.com",
    ],
)
def test_an_https_url_with_a_host_may_be_called(url: str) -> None:
    assert check_url(url) is None


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://crm.example.com/hook", "https"),
        ("ftp://crm.example.com/hook", "https"),
        ("file:///etc/passwd", "https"),
        ("crm.example.com/hook", "https"),
        ("", "https"),
        ("https:///hook", "host"),
        ("https://:443/hook", "host"),
        ("https://user:pass@crm.example.com/hook", "userinfo"),
        ("https://token@crm.example.com/hook", "userinfo"),
        ("https://crm.example.com:99999/hook", "malformed"),
        ("https://crm.example.com:port/hook", "malformed"),
        ("https://[::1/hook", "malformed"),
        ("https://crm.example.com/a hook", "ASCII"),
        ("https://crm.example.com/hook\r\nHost: evil", "ASCII"),
        ("https://crm.example.com/bücher", "ASCII"),
    ],
)
def test_a_url_that_may_not_be_called_says_why(url: str, reason: str) -> None:
    refused = check_url(url)
    assert refused is not None
    assert reason in refused


def test_plain_http_is_only_for_the_local_cloud() -> None:
    assert check_url("http://127.0.0.1:8080/hook") is not None
    assert check_url("http://127.0.0.1:8080/hook", allow_private=True) is None
    assert check_url("http://user@127.0.0.1:8080/hook", allow_private=True) is not None


@pytest.mark.parametrize("address", ["93.184.215.14", "8.8.8.8", "2606:4700:4700::1111", "2a00:1450:4001:82a::200e"])
def test_a_public_address_may_be_called(address: str) -> None:
    assert is_public_address(address)


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.1.2.3",
        "10.0.0.5",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",  # the instance metadata service
        "100.64.0.1",  # shared address space (carrier NAT)
        "0.0.0.0",
        "224.0.0.1",
        "240.0.0.1",
        "255.255.255.255",
        "::1",
        "::",
        "fe80::1%eth0",
        "fd00:ec2::254",  # the instance metadata service over IPv6
        "fc00::1",
        "ff02::1",
        "::ffff:127.0.0.1",  # IPv4-mapped
        "::ffff:169.254.169.254",
        "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
        "2002:7f00:1::",  # 6to4 of 127.0.0.1
        "not an address",
    ],
)
def test_an_address_inside_the_cloud_may_not_be_called(address: str) -> None:
    assert not is_public_address(address)
