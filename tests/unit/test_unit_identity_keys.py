"""The keys admin API's rule: the last active admin key cannot be revoked."""

from __future__ import annotations

from services.identity.domain.keys import keeper, last_admin_key


def key(key_id: str, role: str = "admin", revoked: str | None = None, created: str = "") -> dict[str, str | None]:
    return {"keyId": key_id, "role": role, "revokedAt": revoked, "createdAt": created}


def test_the_only_active_admin_key_is_the_last_one() -> None:
    keys = [key("a"), key("b", revoked="2026-03-01T00:00:00.000Z"), key("w", role="write")]
    assert last_admin_key(keys, "a")
    assert not last_admin_key(keys, "w")  # a write key is never the last admin key


def test_with_another_active_admin_key_any_may_go() -> None:
    keys = [key("a"), key("b")]
    assert not last_admin_key(keys, "a") and not last_admin_key(keys, "b")


def test_a_revoked_key_is_not_the_last_admin_key() -> None:
    assert not last_admin_key([key("a"), key("b", revoked="2026-03-01T00:00:00.000Z")], "b")


def test_revoking_an_admin_key_keeps_the_newest_other_active_admin_key() -> None:
    keys = [key("a", created="1"), key("b", created="2"), key("c", created="3"), key("d", created="4", revoked="x")]
    assert [keeper(keys, k) for k in ("a", "b", "c")] == ["c", "c", "b"]  # a revoked key keeps nothing
    assert keeper(keys, "d") is None


def test_revoking_a_key_that_locks_no_one_out_keeps_nothing() -> None:
    keys = [key("a"), key("w", role="write"), key("s", role="server")]
    assert keeper(keys, "w") is None and keeper(keys, "s") is None
    assert keeper(keys, "a") is None  # the last admin key: refused before, by last_admin_key
    assert keeper(keys, "missing") is None
