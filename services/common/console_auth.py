"""Marketers' console sign-in: the user pool's JSON Web Tokens (Amazon Cognito) accepted as admin credentials."""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
import time
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

CONSOLE_USER_POOL_ENV = "CONSOLE_USER_POOL_ID"
CONSOLE_CLIENT_ENV = "CONSOLE_CLIENT_ID"
# Where the pool's signing keys are read; unset in AWS (the pool's well-known JWKS address is used). The local cloud
# points it at moto's keys, which no network address serves outside moto.
CONSOLE_JWKS_URL_ENV = "CONSOLE_JWKS_URL"

LEEWAY = dt.timedelta(seconds=60)  # clock skew tolerated on exp/nbf/iat
TOKEN_USES = ("access", "id")
_JWT = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$")
_REFETCH_SECONDS = 300.0  # an unknown `kid` fetches the keys again (a rotation), at most this often
_FETCH_TIMEOUT_SECONDS = 3.0


class TokenRefused(Exception):
    """The token is not one this deployment's console issued, or no longer valid; the message says why (never the
    token itself)."""


class KeysUnavailable(Exception):
    """The pool's signing keys could not be fetched: no token can be verified for now."""


@dataclass(frozen=True)
class ConsoleSignIn:
    """The user pool and app client whose tokens the API accepts (set by the stack and the local cloud)."""

    user_pool_id: str
    client_id: str
    jwks_url: str = ""  # empty: the pool's well-known address

    @property
    def region(self) -> str:
        return self.user_pool_id.partition("_")[0]  # pool ids are `<region>_<id>`

    @property
    def issuer(self) -> str:
        return issuer(self.region, self.user_pool_id)

    @property
    def keys_url(self) -> str:
        return self.jwks_url or f"{self.issuer}/.well-known/jwks.json"

    def environment(self) -> dict[str, str]:
        env = {CONSOLE_USER_POOL_ENV: self.user_pool_id, CONSOLE_CLIENT_ENV: self.client_id}
        if self.jwks_url:
            env[CONSOLE_JWKS_URL_ENV] = self.jwks_url
        return env


def issuer(region: str, user_pool_id: str) -> str:
    return f"https://cognito-idp.{region}.amazonaws.com/{user_pool_id}"


def looks_like_jwt(value: str) -> bool:
    """Three base64url parts separated by dots (API keys never hold a dot)."""
    return bool(_JWT.match(value))


def verify_console_token(
    token: str, jwks: Mapping[str, Any], issuer: str, client_id: str, now: dt.datetime
) -> dict[str, Any]:
    """The claims of a token the pool signed for the console's app client, valid at `now`; else `TokenRefused`.

    RS256 only (never `none`, never HMAC with the public key as secret), a key of the pool's JWKS by `kid`, the
    pool as issuer, an access token's `client_id` or an ID token's `aud` equal to the console's client id, and
    `exp`/`nbf`/`iat` with a minute of leeway."""
    import jwt  # PyJWT; imported here so API functions that never see a token do not pay for it at cold start

    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as error:
        raise TokenRefused("The token is malformed.") from error
    if header.get("alg") != "RS256":
        raise TokenRefused("The token is not signed with RS256.")
    kid = header.get("kid")
    key = next((k for k in jwks.get("keys", []) if isinstance(k, dict) and k.get("kid") == kid), None)
    if key is None:
        raise TokenRefused("The token is signed with a key this user pool does not have.")
    try:
        public_key = jwt.PyJWK(key, algorithm="RS256").key
        claims: dict[str, Any] = jwt.decode(
            token,
            public_key,
            algorithms=["RS256"],
            # times are checked below against the injected `now`; the audience by token use
            options={"verify_exp": False, "verify_nbf": False, "verify_iat": False, "verify_aud": False},
        )
    except jwt.PyJWTError as error:
        raise TokenRefused("The token's signature is not valid.") from error
    if claims.get("iss") != issuer:
        raise TokenRefused("The token was not issued by this deployment's user pool.")
    use = claims.get("token_use")
    if use not in TOKEN_USES:
        raise TokenRefused("The token is neither an access token nor an ID token.")
    audience = claims.get("client_id") if use == "access" else claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    if client_id not in audiences:
        raise TokenRefused("The token was issued to another client than the console.")
    if not isinstance(claims.get("sub"), str) or not claims["sub"]:
        raise TokenRefused("The token names no user.")
    _check_times(claims, now)
    return claims


def _check_times(claims: Mapping[str, Any], now: dt.datetime) -> None:
    def moment(name: str) -> dt.datetime | None:
        value = claims.get(name)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TokenRefused(f"The token's {name} is not a time.")
        return dt.datetime.fromtimestamp(value, dt.UTC)

    expires = moment("exp")
    if expires is None:
        raise TokenRefused("The token has no expiry.")
    if now > expires + LEEWAY:
        raise TokenRefused("The token has expired: sign in again.")
    not_before = moment("nbf")
    if not_before is not None and now + LEEWAY < not_before:
        raise TokenRefused("The token is not valid yet.")
    issued = moment("iat")
    if issued is not None and now + LEEWAY < issued:
        raise TokenRefused("The token was issued in the future.")


def fetch_json(url: str) -> dict[str, Any]:
    """GET a JSON document (the pool's JWKS)."""
    if not url.startswith(("https://", "file:")):  # file: only for the local cloud's copy of moto's keys
        raise KeysUnavailable(f"refusing to fetch signing keys from {url}")
    try:
        with urllib.request.urlopen(url, timeout=_FETCH_TIMEOUT_SECONDS) as answer:
            document = json.loads(answer.read())
    except (OSError, ValueError) as error:
        raise KeysUnavailable(f"the user pool's signing keys could not be read: {error}") from error
    if not isinstance(document, dict):
        raise KeysUnavailable("the user pool's signing keys are not a JSON object")
    return document


class ConsoleTokens:
    """Verifies console tokens for one deployment, with the pool's keys cached per container."""

    def __init__(self, sign_in: ConsoleSignIn, fetch: Callable[[str], dict[str, Any]] = fetch_json) -> None:
        self.sign_in = sign_in
        self._fetch = fetch
        self._jwks: dict[str, Any] | None = None
        self._refetched_at: float | None = None
        self._lock = threading.Lock()

    def claims(self, token: str, now: dt.datetime) -> dict[str, Any]:
        jwks = self._keys(refresh=False)
        try:
            return verify_console_token(token, jwks, self.sign_in.issuer, self.sign_in.client_id, now)
        except TokenRefused:
            # a key the cached set lacks may be a rotation: read the keys again (rate-limited), then decide
            if not self._knows_kid(token, jwks) and self._keys(refresh=True) is not jwks:
                return verify_console_token(token, self._jwks or {}, self.sign_in.issuer, self.sign_in.client_id, now)
            raise

    def _knows_kid(self, token: str, jwks: Mapping[str, Any]) -> bool:
        import jwt

        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.PyJWTError:
            return True  # malformed: fetching again would not help
        return any(isinstance(k, dict) and k.get("kid") == kid for k in jwks.get("keys", []))

    def _keys(self, refresh: bool) -> dict[str, Any]:
        with self._lock:
            if self._jwks is None:
                self._jwks = self._fetch(self.sign_in.keys_url)
            elif refresh and (self._refetched_at is None or time.monotonic() - self._refetched_at >= _REFETCH_SECONDS):
                self._refetched_at = time.monotonic()
                self._jwks = self._fetch(self.sign_in.keys_url)
            return self._jwks


_VERIFIERS: dict[ConsoleSignIn, ConsoleTokens] = {}


def configured_sign_in(environ: Mapping[str, str]) -> ConsoleSignIn | None:
    """The console's pool and client from a function's environment; None when the console is not deployed."""
    pool, client = environ.get(CONSOLE_USER_POOL_ENV, ""), environ.get(CONSOLE_CLIENT_ENV, "")
    if not pool or not client:
        return None
    return ConsoleSignIn(pool, client, environ.get(CONSOLE_JWKS_URL_ENV, ""))


def verifier(sign_in: ConsoleSignIn) -> ConsoleTokens:
    """The container's verifier for this pool and client (keys fetched once, then cached)."""
    found = _VERIFIERS.get(sign_in)
    if found is None:
        found = _VERIFIERS[sign_in] = ConsoleTokens(sign_in)
    return found


def configured_tokens(environ: Mapping[str, str]) -> ConsoleTokens | None:
    """The verifier of the console this function's environment names; None when the console is not deployed."""
    sign_in = configured_sign_in(environ)
    return verifier(sign_in) if sign_in is not None else None
