"""Trust in identity claims (docs/identity.md, "Trust"): the back-end's proof, a message's trust, and which known
identifiers an unverified message only claims."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from services.common.access import Principal
from services.common.identity_proof import message_trust, proves, subject, user_hash
from services.identity.domain.profiles import unverified_claims

SECRET = b"is_" + b"s" * 40


def test_the_proof_is_intercoms_hmac_of_the_user_id_else_the_lower_cased_email() -> None:
    assert user_hash(SECRET, "u-9") == hmac.new(SECRET, b"u-9", hashlib.sha256).hexdigest()
    assert subject("u-9", "Ana@Example.com") == "u-9"
    assert subject(None, " Ana@Example.COM ") == "ana@example.com"
    assert subject(None, "not an email") is None
    assert proves(SECRET, None, "ANA@example.com", user_hash(SECRET, "ana@example.com"))
    assert proves(SECRET, "u-9", None, user_hash(SECRET, "u-9").upper())


@pytest.mark.parametrize(
    ("secret", "user_id", "presented"),
    [
        (SECRET, "u-9", user_hash(b"another source's secret", "u-9")),  # signed by someone else
        (SECRET, "u-9", user_hash(SECRET, "u-10")),  # for another user
        (None, "u-9", user_hash(SECRET, "u-9")),  # the source has no secret: nothing can be proved
        (SECRET, None, user_hash(SECRET, "u-9")),  # nothing to prove
        (SECRET, "u-9", None),
        (SECRET, "u-9", 42),
        (SECRET, "u-9", "x" * 500),
    ],
)
def test_a_proof_that_does_not_match_proves_nothing(
    secret: bytes | None, user_id: str | None, presented: object
) -> None:
    assert not proves(secret, user_id, None, presented)


def test_a_message_is_verified_by_a_trusted_caller_or_a_valid_proof_and_otherwise_a_claim() -> None:
    assert message_trust(True, None, "u-9", {}, {}) == "verified"
    assert message_trust(False, SECRET, "u-9", {}, {"userHash": user_hash(SECRET, "u-9")}) == "verified"
    assert message_trust(False, SECRET, None, {"email": "a@b.co"}, {"userHash": user_hash(SECRET, "a@b.co")}) == (
        "verified"
    )
    assert message_trust(False, SECRET, "u-9", {}, {}) == "claim"
    assert message_trust(False, None, "u-9", {}, {"userHash": user_hash(SECRET, "u-9")}) == "claim"


def test_server_keys_verify_identity_and_call_server_routes_but_are_not_admins() -> None:
    write, server, admin = (Principal(role, "site", "k") for role in ("write", "server", "admin"))
    assert [p.trusted for p in (write, server, admin)] == [False, True, True]
    assert [p.may("server") for p in (write, server, admin)] == [False, True, True]
    assert [p.may("admin") for p in (write, server, admin)] == [False, False, True]
    assert all(p.may("write_key") for p in (write, server, admin))


DEVICE, EMAIL, USER = ("anon", "a-1"), ("email", "vera@example.com"), ("user", "u-vera")


def test_a_claim_is_a_known_identifier_that_belongs_to_another_profile_than_the_devices() -> None:
    # the attacker's device (its own profile) claims Vera's email and user id: both are claims
    assert unverified_claims([DEVICE, EMAIL, USER], {DEVICE: "p-attacker", EMAIL: "p-vera", USER: "p-vera"}) == [
        EMAIL,
        USER,
    ]
    # a brand-new device claiming them: still claims
    assert unverified_claims([DEVICE, EMAIL], {EMAIL: "p-vera"}) == [EMAIL]
    # Vera's own device naming her own email: no claim (it already holds it)
    assert unverified_claims([DEVICE, EMAIL], {DEVICE: "p-vera", EMAIL: "p-vera"}) == []
    # an email nobody holds yet (the everyday newsletter form): no claim, it will be linked to the device
    assert unverified_claims([DEVICE, EMAIL], {DEVICE: "p-reader"}) == []
