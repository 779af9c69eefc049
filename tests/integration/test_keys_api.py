"""The keys admin API on the local cloud: list (never the key), create (shown once), revoke (refused at once by the
keys function, everywhere within the cache minute; never the last admin key), and the sources' settings."""

from __future__ import annotations

from typing import Any

import pytest

from services.identity.use_cases import keys
from tests.conftest import Api


def test_keys_are_listed_without_the_key_or_its_hash(cloud: Any, api: Api) -> None:
    # When the marketer lists the keys
    reply = api.admin("GET", "/v1/keys")

    # Then each of the test site's keys is there, described, and no key (nor its full hash) is in the answer
    assert reply.status == 200, reply.body
    assert sorted((k["role"], k["sourceId"]) for k in reply.body["keys"]) == [
        ("admin", "ops"),
        ("server", "test-site"),
        ("write", "test-site"),
    ]
    for described in reply.body["keys"]:
        assert set(described) == {"keyId", "role", "sourceId", "name", "createdAt", "revokedAt"}
        assert len(described["keyId"]) == 12 and described["revokedAt"] is None
    text = str(reply.body)
    for secret in (api.write_key, api.admin_key, api.server_key):
        assert secret and secret not in text


def test_a_created_key_is_shown_once_works_and_revoked_is_refused(cloud: Any, api: Api) -> None:
    # Given a new admin key for a colleague
    created = api.admin("POST", "/v1/keys", {"role": "admin", "sourceId": "ops", "name": "colleague"})
    assert created.status == 201, created.body
    new_key, key_id = created.body["key"], created.body["keyId"]
    assert new_key.startswith("ak_") and created.body["revokedAt"] is None
    # Then it works, and the list shows it without the key
    assert api.request("GET", "/v1/keys", key=new_key, scheme="bearer").status == 200
    listed = {k["keyId"]: k for k in api.admin("GET", "/v1/keys").body["keys"]}
    assert listed[key_id]["name"] == "colleague" and "key" not in listed[key_id]

    # When it is revoked
    revoked = api.admin("DELETE", f"/v1/keys/{key_id}")

    # Then it is marked revoked, and the keys API refuses it at once (other functions within their cache minute)
    assert revoked.status == 200, revoked.body
    assert revoked.body["keyId"] == key_id and revoked.body["revokedAt"] == "2026-03-02T09:00:00.000Z"
    refused = api.request("GET", "/v1/keys", key=new_key, scheme="bearer")
    assert refused.status == 401 and refused.content_type == "application/problem+json"
    assert cloud.keys.lookup(new_key) is None  # a fresh lookup (a new container) refuses it
    # And revoking it again changes nothing
    again = api.admin("DELETE", f"/v1/keys/{key_id}")
    assert again.status == 200 and again.body["revokedAt"] == revoked.body["revokedAt"]


def test_the_last_active_admin_key_cannot_be_revoked(cloud: Any, api: Api) -> None:
    # Given the ops admin key is the only active admin key
    admins = [k for k in api.admin("GET", "/v1/keys").body["keys"] if k["role"] == "admin" and not k["revokedAt"]]
    (last,) = admins

    # When someone revokes it
    reply = api.admin("DELETE", f"/v1/keys/{last['keyId']}")

    # Then it is refused, naming the key, and the key still works
    assert reply.status == 409 and reply.content_type == "application/problem+json"
    assert reply.body["errors"][0]["field"] == "keyId"
    assert api.admin("GET", "/v1/keys").status == 200


class ReadBeforeEitherWrote:
    """The key store as two requests at the same moment see it: both listed the keys before either revoked one."""

    def __init__(self, store: Any) -> None:
        self._store = store
        self._listed = store.key_descriptions()

    def key_descriptions(self) -> list[dict[str, Any]]:
        return self._listed

    def revoke(self, key_id: str, keeping: str | None = None) -> dict[str, Any] | None:
        return self._store.revoke(key_id, keeping)


def test_two_admins_revoking_the_last_two_admin_keys_at_once_leave_one_working(cloud: Any, api: Api) -> None:
    # Given two active admin keys, the ops key and a colleague's
    colleague = api.admin("POST", "/v1/keys", {"role": "admin", "sourceId": "ops", "name": "colleague 2"}).body
    listed = api.admin("GET", "/v1/keys").body["keys"]
    (ops,) = [k for k in listed if k["role"] == "admin" and not k["revokedAt"] and k["keyId"] != colleague["keyId"]]
    first, second = ReadBeforeEitherWrote(cloud.keys), ReadBeforeEitherWrote(cloud.keys)

    # When each admin revokes the other's key at the same moment (each saw two active admin keys)
    assert keys.revoke_key(first, colleague["keyId"])["revokedAt"] is not None
    with pytest.raises(keys.LastAdminKey):
        keys.revoke_key(second, ops["keyId"])

    # Then the second revocation was refused and the ops key still administers the platform
    assert api.admin("GET", "/v1/keys").status == 200
    listed = {k["keyId"]: k["revokedAt"] for k in api.admin("GET", "/v1/keys").body["keys"]}
    assert listed[ops["keyId"]] is None and listed[colleague["keyId"]] is not None


def test_a_write_key_can_be_revoked_and_bad_input_is_named(cloud: Any, api: Api) -> None:
    made = api.admin("POST", "/v1/keys", {"role": "write", "sourceId": "app", "name": "mobile app"})
    assert made.status == 201 and made.body["key"].startswith("wk_")
    assert api.admin("DELETE", f"/v1/keys/{made.body['keyId']}").status == 200
    for body, field in (
        ({"role": "owner", "sourceId": "app", "name": "x"}, "role"),
        ({"role": "write", "sourceId": "no spaces", "name": "x"}, "sourceId"),
        ({"role": "write", "sourceId": "app", "name": ""}, "name"),
    ):
        bad = api.admin("POST", "/v1/keys", body)
        assert bad.status == 400 and bad.content_type == "application/problem+json", body
        assert bad.body["errors"][0]["field"].endswith(field), bad.body
    assert api.admin("DELETE", "/v1/keys/not-a-key-id").status == 400
    missing = api.admin("DELETE", "/v1/keys/0123456789ab")
    assert missing.status == 404 and missing.body["errors"][0]["field"] == "keyId"
    # And only an admin key may manage keys
    assert api.request("GET", "/v1/keys", key=api.server_key, scheme="bearer").status == 403


def test_sources_show_their_settings_and_whether_they_have_an_identity_secret(cloud: Any, api: Api) -> None:
    cloud.keys.change_source_settings("app", mail_claimed_addresses=True)
    sources = {s["sourceId"]: s for s in api.admin("GET", "/v1/keys/sources").body["sources"]}
    assert sources["test-site"] == {
        "sourceId": "test-site",
        "mailClaimedAddresses": False,
        "doubleOptIn": True,
        "identitySecret": True,
        "activeKeys": 2,
    }
    assert sources["app"]["mailClaimedAddresses"] is True and sources["app"]["identitySecret"] is False
    assert "secret" not in str(sources).replace("identitySecret", "")
