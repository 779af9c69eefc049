"""The keys admin API's rule: the last active admin key cannot be revoked."""

from __future__ import annotations

from services.identity.domain.keys import last_admin_key


def key(key_id: str, role: str = "admin", revoked: str | None = None) -> dict[str, str | None]:
    return {"keyId": key_id, "role": role, "revokedAt": revoked}


def test_the_only_active_admin_key_is_the_last_one() -> None:
    keys = [key("a"), key("b", revoked="2026-03-01T00:00:00.000Z"), key("w", role="write")]
    assert last_admin_key(keys, "a")
    assert not last_admin_key(keys, "w")  # a write key is never the last admin key


def test_with_another_active_admin_key_any_may_go() -> None:
    keys = [key("a"), key("b")]
    assert not last_admin_key(keys, "a") and not last_admin_key(keys, "b")


def test_a_revoked_key_is_not_the_last_admin_key() -> None:
    assert not last_admin_key([key("a"), key("b", revoked="2026-03-01T00:00:00.000Z")], "b")
