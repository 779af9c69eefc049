"""The suppression list read page by page: newest first, each address once, a foreign cursor refused."""

from __future__ import annotations

import pytest

from services.identity.adapters.memory import MemoryProfiles
from services.identity.use_cases import privacy
from services.identity.use_cases.reads import InvalidCursor


def test_pages_of_the_suppression_list_are_newest_first_and_cover_every_address_once() -> None:
    store = MemoryProfiles()
    for n, reason in enumerate(["bounce", "complaint", "bounce", "bounce", "complaint"]):
        assert store.suppress(f"a{n}@example.com", reason, f"2026-12-0{n + 1}T10:00:00Z", {"messageId": f"m{n}"})
    assert not store.suppress("a0@example.com", "bounce", "2026-12-09T10:00:00Z", {})  # already on the list

    pages, cursor = [], None
    while True:
        page = privacy.suppression_list(store, 2, cursor)
        pages.append([e["email"] for e in page["suppressions"]])
        cursor = page["next"]
        if cursor is None:
            break
    assert pages == [["a4@example.com", "a3@example.com"], ["a2@example.com", "a1@example.com"], ["a0@example.com"]]
    first = privacy.suppression_list(store, 1, None)["suppressions"][0]
    assert (first["reason"], first["at"], first["messageId"]) == ("complaint", "2026-12-05T10:00:00Z", "m4")


def test_a_cursor_the_list_did_not_give_is_refused() -> None:
    with pytest.raises(InvalidCursor):
        privacy.suppression_list(MemoryProfiles(), 10, "garbage")
