"""Console sign-in: which user-pool tokens the admin API accepts (signature, issuer, client, times) and how the
guard answers them. Tokens are signed here with an RSA key made for the test, as Cognito signs its own."""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from services.common.api import Guard
from services.common.console_auth import (
    ConsoleSignIn,
    ConsoleTokens,
    TokenRefused,
    configured_sign_in,
    looks_like_jwt,
    verify_console_token,
)
from services.common.problems import Problem
from services.segments.manifest import MANIFEST as SEGMENTS

POOL = "eu-west-1_TestPool"
ISSUER = f"https://cognito-idp.eu-west-1.amazonaws.com/{POOL}"
CLIENT = "console-client-id"
NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


POOL_KEY = _key()
OTHER_KEY = _key()


def jwks_of(*pairs: tuple[str, rsa.RSAPrivateKey]) -> dict[str, Any]:
    keys = []
    for kid, key in pairs:
        public = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
        keys.append({**public, "kid": kid, "alg": "RS256", "use": "sig"})
    return {"keys": keys}


JWKS = jwks_of(("pool-key", POOL_KEY))


def token(*, use: str = "access", key: rsa.RSAPrivateKey = POOL_KEY, kid: str = "pool-key", **claims: Any) -> str:
    """A token as Cognito issues it to the console: an access token names the client in `client_id`, an ID token
    in `aud`; issued a minute before NOW, valid for an hour."""
    issued = int(NOW.timestamp()) - 60
    body: dict[str, Any] = {
        "iss": ISSUER,
        "sub": "5f0c-marketer",
        "token_use": use,
        "iat": issued,
        "auth_time": issued,
        "exp": issued + 3600,
        ("client_id" if use == "access" else "aud"): CLIENT,
    }
    body.update(claims)
    return jwt.encode({k: v for k, v in body.items() if v is not None}, key, algorithm="RS256", headers={"kid": kid})


def verify(value: str, at: dt.datetime = NOW, client: str = CLIENT, issuer: str = ISSUER) -> dict[str, Any]:
    return verify_console_token(value, JWKS, issuer, client, at)


def refusal(value: str, **kwargs: Any) -> str:
    with pytest.raises(TokenRefused) as refused:
        verify(value, **kwargs)
    return str(refused.value)


def b64(part: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(part).encode()).rstrip(b"=").decode()


# --- what is accepted -----------------------------------------------------------------------------------------
def test_an_access_token_for_the_console_is_accepted() -> None:
    claims = verify(token())
    assert (claims["sub"], claims["token_use"], claims["client_id"]) == ("5f0c-marketer", "access", CLIENT)


def test_an_id_token_for_the_console_is_accepted() -> None:
    assert verify(token(use="id", email="ana@example.com"))["email"] == "ana@example.com"


def test_a_minute_of_clock_skew_is_tolerated_both_ways() -> None:
    expiring = token(exp=int(NOW.timestamp()))
    assert verify(expiring, at=NOW + dt.timedelta(seconds=59))
    assert verify(token(nbf=int(NOW.timestamp()) + 30))


# --- what is refused ------------------------------------------------------------------------------------------
def test_an_expired_token_is_refused() -> None:
    assert "expired" in refusal(token(), at=NOW + dt.timedelta(hours=1, minutes=2))


def test_a_token_not_valid_yet_is_refused() -> None:
    assert "not valid yet" in refusal(token(nbf=int(NOW.timestamp()) + 600))


def test_a_token_issued_in_the_future_is_refused() -> None:
    assert "future" in refusal(token(iat=int(NOW.timestamp()) + 600))


def test_a_token_without_expiry_is_refused() -> None:
    assert "no expiry" in refusal(token(exp=None))


def test_a_token_of_another_pool_is_refused() -> None:
    other = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Other"
    assert "not issued by" in refusal(token(iss=other))


def test_an_access_token_for_another_client_is_refused() -> None:
    assert "another client" in refusal(token(client_id="someone-elses-app"))


def test_an_id_token_for_another_client_is_refused() -> None:
    assert "another client" in refusal(token(use="id", aud="someone-elses-app"))
    assert "another client" in refusal(token(use="id", aud=None, client_id=CLIENT))  # an id token names `aud`


def test_a_refresh_or_unknown_token_use_is_refused() -> None:
    assert "neither" in refusal(token(token_use="refresh"))
    assert "neither" in refusal(token(token_use=None))


def test_a_token_signed_by_another_key_under_the_pools_kid_is_refused() -> None:
    assert "signature" in refusal(token(key=OTHER_KEY))


def test_a_token_whose_claims_were_edited_is_refused() -> None:
    header, _, signature = token().split(".")
    edited = b64({**jwt.decode(token(), options={"verify_signature": False}), "sub": "someone-else"})
    assert "signature" in refusal(f"{header}.{edited}.{signature}")


def test_a_token_signed_with_a_key_the_pool_does_not_have_is_refused() -> None:
    assert "key this user pool does not have" in refusal(token(kid="attacker", key=OTHER_KEY))


def test_an_unsigned_alg_none_token_is_refused() -> None:
    unsigned = (
        f"{b64({'alg': 'none', 'kid': 'pool-key'})}.{b64(jwt.decode(token(), options={'verify_signature': False}))}."
    )
    assert looks_like_jwt(unsigned)
    assert "RS256" in refusal(unsigned)


def test_an_hmac_token_keyed_with_the_pools_public_key_is_refused() -> None:
    """The classic confusion: HS256 with the public key (known to all) as the shared secret."""
    header = b64({"alg": "HS256", "kid": "pool-key"})
    body = b64(jwt.decode(token(), options={"verify_signature": False}))
    assert "RS256" in refusal(f"{header}.{body}.c2lnbmF0dXJl")


def test_garbage_is_refused_as_malformed() -> None:
    assert "malformed" in refusal("abc.def.ghi")


def test_only_three_base64url_parts_look_like_a_token() -> None:
    assert looks_like_jwt(token())
    assert not looks_like_jwt("ak_" + "x" * 40)
    assert not looks_like_jwt("a.b")
    assert not looks_like_jwt("a.b.c.d")
    assert not looks_like_jwt("a b.c.d")


# --- the pool's keys, fetched once per container ----------------------------------------------------------------
class Fetches:
    def __init__(self, *documents: dict[str, Any]) -> None:
        self.documents = list(documents)
        self.urls: list[str] = []

    def __call__(self, url: str) -> dict[str, Any]:
        self.urls.append(url)
        return self.documents[min(len(self.urls), len(self.documents)) - 1]


def test_keys_are_fetched_once_from_the_pools_well_known_address() -> None:
    fetches = Fetches(JWKS)
    tokens = ConsoleTokens(ConsoleSignIn(POOL, CLIENT), fetch=fetches)
    for _ in range(3):
        tokens.claims(token(), NOW)
    assert fetches.urls == [f"{ISSUER}/.well-known/jwks.json"]


def test_a_rotated_key_is_fetched_again_and_an_unknown_one_refused() -> None:
    rotated = jwks_of(("pool-key", POOL_KEY), ("next-key", OTHER_KEY))
    fetches = Fetches(JWKS, rotated)
    tokens = ConsoleTokens(ConsoleSignIn(POOL, CLIENT), fetch=fetches)
    tokens.claims(token(), NOW)
    assert tokens.claims(token(kid="next-key", key=OTHER_KEY), NOW)["sub"] == "5f0c-marketer"
    with pytest.raises(TokenRefused):  # within the refetch interval: no new fetch for every unknown kid
        tokens.claims(token(kid="made-up", key=OTHER_KEY), NOW)
    assert len(fetches.urls) == 2


def test_the_environment_names_the_console_only_when_it_is_deployed() -> None:
    assert configured_sign_in({}) is None
    assert configured_sign_in({"CONSOLE_USER_POOL_ID": POOL}) is None
    found = configured_sign_in({"CONSOLE_USER_POOL_ID": POOL, "CONSOLE_CLIENT_ID": CLIENT})
    assert found == ConsoleSignIn(POOL, CLIENT) and found.issuer == ISSUER
    assert ConsoleSignIn(POOL, CLIENT, "file:///tmp/jwks.json").keys_url == "file:///tmp/jwks.json"


# --- the guard: a signed-in marketer is an admin ----------------------------------------------------------------
class NoKeys:
    def lookup(self, key: str) -> None:
        raise AssertionError("a console token is never looked up as an API key")


def guard(console: ConsoleTokens | None) -> Guard:
    return Guard(SEGMENTS.function("api"), 1000, lambda: NoKeys(), console=lambda: console)  # type: ignore[arg-type, return-value]


def admin_request(authorization: str) -> dict[str, Any]:
    return {"routeKey": "GET /v1/segments", "headers": {"Authorization": authorization}, "body": None}


def test_the_guard_makes_a_signed_in_marketer_an_admin() -> None:
    tokens = ConsoleTokens(ConsoleSignIn(POOL, CLIENT), fetch=Fetches(JWKS))
    tokens.claims(token(), NOW)  # keys cached; the guard checks times against the wall clock
    fresh = jwt.encode(
        {
            "iss": ISSUER,
            "sub": "5f0c-marketer",
            "token_use": "access",
            "client_id": CLIENT,
            "exp": int(dt.datetime.now(dt.UTC).timestamp()) + 600,
        },
        POOL_KEY,
        algorithm="RS256",
        headers={"kid": "pool-key"},
    )
    who = guard(tokens).check(admin_request(f"Bearer {fresh}"))
    assert who is not None
    assert (who.role, who.source_id, who.key_id) == ("admin", "console", "cognito:5f0c-marketer")


@pytest.mark.parametrize("console", ["deployed", "not deployed"])
def test_the_guard_refuses_a_bad_token_as_it_refuses_a_bad_key(console: str) -> None:
    tokens = ConsoleTokens(ConsoleSignIn(POOL, CLIENT), fetch=Fetches(JWKS)) if console == "deployed" else None
    an_hour_ago = int(dt.datetime.now(dt.UTC).timestamp()) - 3600  # the guard checks against the wall clock
    expired = token(iat=an_hour_ago - 3600, exp=an_hour_ago)
    with pytest.raises(Problem) as refused:
        guard(tokens).check(admin_request(f"Bearer {expired}"))
    problem = refused.value
    assert problem.status == 401
    assert [e.field for e in problem.errors] == ["authorization"]
    assert expired not in json.dumps(problem.body())  # the answer never echoes the token
