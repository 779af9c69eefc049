"""A marketer signed in to the console calls the admin API with the user pool's token, over HTTP on the local cloud
(moto's Cognito issues and signs the tokens); tokens that are not the console's are refused like a wrong key."""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any

import boto3
import jwt
import pytest

from tests.conftest import Api, Reply

EMAIL = "marketer@brand.example"
PASSWORD = "Corr3ct-Horse-Battery!"


@pytest.fixture(scope="module")
def tokens(cloud: Any) -> dict[str, Any]:
    cloud.create_marketer(EMAIL, PASSWORD)
    return dict(cloud.marketer_tokens(EMAIL, PASSWORD))


def segments(api: Api, token: str) -> Reply:
    return api.request("GET", "/v1/segments", key=token, scheme="bearer")


def assert_refused(reply: Reply, token: str, status: int = 401) -> None:
    assert reply.status == status, reply.body
    assert reply.content_type.startswith("application/problem+json")
    assert [e["field"] for e in reply.body["errors"]] == ["authorization"]
    assert token not in json.dumps(reply.body)


def claims_of(token: str) -> dict[str, Any]:
    return dict(jwt.decode(token, options={"verify_signature": False}))


def test_a_signed_in_marketer_lists_segments_with_the_access_token(api: Api, tokens: dict[str, Any]) -> None:
    reply = segments(api, tokens["AccessToken"])
    assert reply.status == 200, reply.body
    assert "segments" in reply.body


def test_the_id_token_is_accepted_too(api: Api, tokens: dict[str, Any]) -> None:
    assert segments(api, tokens["IdToken"]).status == 200


def test_a_signed_in_marketer_can_write_as_an_admin(api: Api, tokens: dict[str, Any]) -> None:
    created = api.request(
        "POST",
        "/v1/segments",
        {"name": "Made in the console", "condition": {"trait": "plan", "op": "equals", "value": "pro"}},
        key=tokens["AccessToken"],
        scheme="bearer",
    )
    assert created.status in (200, 201), created.body


def test_a_tampered_token_is_refused(api: Api, tokens: dict[str, Any]) -> None:
    header, _, signature = tokens["AccessToken"].split(".")
    edited = {**claims_of(tokens["AccessToken"]), "sub": "someone-else"}
    body = base64.urlsafe_b64encode(json.dumps(edited).encode()).rstrip(b"=").decode()
    tampered = f"{header}.{body}.{signature}"
    assert_refused(segments(api, tampered), tampered)


def test_an_expired_token_of_the_pool_is_refused(cloud: Any, api: Api, tokens: dict[str, Any]) -> None:
    """Signed with the key moto signs the pool's tokens with, but expired an hour ago (moto only issues fresh ones)."""
    from moto.utilities.utils import load_resource

    private = jwt.PyJWK(load_resource("cognitoidp/resources/jwks-private.json"), algorithm="RS256").key
    an_hour_ago = int(dt.datetime.now(dt.UTC).timestamp()) - 3600
    expired = jwt.encode(
        {**claims_of(tokens["AccessToken"]), "iat": an_hour_ago - 3600, "exp": an_hour_ago},
        private,
        algorithm="RS256",
        headers={"kid": "dummy"},
    )
    assert_refused(segments(api, expired), expired)
    # the same claims, still valid, pass: what was refused is the expiry alone
    fresh = jwt.encode(claims_of(tokens["AccessToken"]), private, algorithm="RS256", headers={"kid": "dummy"})
    assert segments(api, fresh).status == 200


def test_a_token_the_pool_issued_to_another_client_is_refused(cloud: Any, api: Api) -> None:
    idp = boto3.client("cognito-idp", region_name=cloud.region)
    other = idp.create_user_pool_client(
        UserPoolId=cloud.console.user_pool_id,
        ClientName="another-app",
        GenerateSecret=False,
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )["UserPoolClient"]["ClientId"]
    theirs = cloud.marketer_tokens(EMAIL, PASSWORD, client_id=other)
    assert_refused(segments(api, theirs["AccessToken"]), theirs["AccessToken"])
    assert_refused(segments(api, theirs["IdToken"]), theirs["IdToken"])


def test_a_token_of_another_pool_is_refused(cloud: Any, api: Api) -> None:
    idp = boto3.client("cognito-idp", region_name=cloud.region)
    pool = idp.create_user_pool(PoolName="someone-elses-pool")["UserPool"]["Id"]
    client = idp.create_user_pool_client(
        UserPoolId=pool, ClientName="app", GenerateSecret=False, ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"]
    )["UserPoolClient"]["ClientId"]
    idp.admin_create_user(UserPoolId=pool, Username="eve", MessageAction="SUPPRESS")
    idp.admin_set_user_password(UserPoolId=pool, Username="eve", Password=PASSWORD, Permanent=True)
    theirs = idp.initiate_auth(
        ClientId=client, AuthFlow="USER_PASSWORD_AUTH", AuthParameters={"USERNAME": "eve", "PASSWORD": PASSWORD}
    )["AuthenticationResult"]["AccessToken"]
    assert_refused(segments(api, theirs), theirs)


def test_a_write_key_still_cannot_call_admin_routes(api: Api) -> None:
    assert_refused(api.request("GET", "/v1/segments", key=api.write_key, scheme="bearer"), api.write_key, 403)
    assert_refused(api.request("GET", "/v1/segments", key=api.write_key), api.write_key, 403)


def test_admin_keys_still_work_beside_console_sign_in(api: Api) -> None:
    assert api.admin("GET", "/v1/segments").status == 200


def test_the_console_pool_admits_only_users_an_admin_creates(cloud: Any) -> None:
    idp = boto3.client("cognito-idp", region_name=cloud.region)
    pool = idp.describe_user_pool(UserPoolId=cloud.console.user_pool_id)["UserPool"]
    assert pool["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    client = idp.describe_user_pool_client(UserPoolId=cloud.console.user_pool_id, ClientId=cloud.console.client_id)
    assert "ClientSecret" not in client["UserPoolClient"]
