"""The archive's sealing core: what a record reveals (nothing), what opening it needs (the person's key)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.events.domain.archive import (
    ArchiveKey,
    Unreadable,
    day_prefixes,
    object_key,
    open_record,
    pack,
    person_ref,
    seal,
    unpack,
)

EVENT = {
    "id": "0193a1b2-0000-7000-8000-000000000001",
    "detailType": "ActivityRecorded",
    "detail": {"data": {"profileId": "p-ada", "traits": {"email": "ada@example.com"}, "event": "Recipe Viewed"}},
}

# Long enough that a chance match inside 40+ characters of base64 is out of the question.
names = st.text(st.characters(codec="utf-8", categories=("L", "N", "Zs")), min_size=16, max_size=40)


@given(email=st.emails().filter(lambda e: len(e) >= 16), event_name=names)
def test_a_sealed_record_shows_nothing_of_the_event(email: str, event_name: str) -> None:
    key = ArchiveKey.new()
    record = seal({"traits": {"email": email}, "event": event_name}, key)
    text = json.dumps(record)
    assert email not in text and json.dumps(email)[1:-1] not in text
    assert event_name not in text and json.dumps(event_name)[1:-1] not in text
    assert set(record) == {"v", "key", "nonce", "data"}


def test_the_persons_key_opens_their_record() -> None:
    key = ArchiveKey.new()
    assert open_record(seal(EVENT, key), key) == EVENT


def test_another_key_or_a_tampered_record_does_not_open() -> None:
    key, other = ArchiveKey.new(), ArchiveKey.new()
    record = seal(EVENT, key)
    with pytest.raises(Unreadable):
        open_record(record, other)
    # the key id is bound to the ciphertext: relabelling a record for another key fails authentication
    with pytest.raises(Unreadable):
        open_record({**record, "key": other.key_id}, ArchiveKey(other.key_id, key.secret))
    flipped = bytearray(__import__("base64").b64decode(record["data"]))
    flipped[0] ^= 1
    with pytest.raises(Unreadable):
        open_record({**record, "data": __import__("base64").b64encode(bytes(flipped)).decode()}, key)


def test_each_record_has_its_own_nonce() -> None:
    key = ArchiveKey.new()
    assert seal(EVENT, key)["nonce"] != seal(EVENT, key)["nonce"]


def test_key_ids_and_person_refs_name_nobody() -> None:
    assert ArchiveKey.new().key_id != ArchiveKey.new().key_id
    assert "p-ada" not in person_ref("p-ada") and person_ref("p-ada") == person_ref("p-ada")
    assert person_ref("p-ada") != person_ref("p-bob")


def test_a_batch_packs_into_one_object_and_back() -> None:
    key = ArchiveKey.new()
    records = [seal({**EVENT, "n": n}, key) for n in range(25)]
    assert list(unpack(pack(records))) == records


def test_objects_are_named_by_utc_hour_and_read_back_by_day() -> None:
    at = dt.datetime(2026, 3, 2, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=-2)))
    assert object_key(at, "b1") == "activity/2026/03/03/01/b1.jsonl.gz"
    assert day_prefixes(dt.date(2026, 2, 27), dt.date(2026, 3, 1)) == [
        "activity/2026/02/27/",
        "activity/2026/02/28/",
        "activity/2026/03/01/",
    ]
    with pytest.raises(ValueError, match="before"):
        day_prefixes(dt.date(2026, 3, 2), dt.date(2026, 3, 1))
