"""The raw event archive, crypto-shredded: each activity sealed under its person's key, destroyed on erasure."""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import json
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from services.common.erasure import profile_digest

# Every attributed activity is kept, sealed (AES-256-GCM) under a key of its own person; erasing the person destroys the
# key, and what the archive holds of them becomes noise.
#
# Pure functions: sealing and opening records, packing a batch into one object, and the names of things. Nothing in
# an archived record names a person in the clear: the record carries only a random key id, a nonce and ciphertext.

FORMAT_VERSION = 1
KEY_BYTES = 32  # AES-256
NONCE_BYTES = 12  # GCM's standard nonce; random per record (a key seals far fewer than 2^32 records)
PREFIX = "activity/"


@dataclass(frozen=True)
class ArchiveKey:
    """One person's archive key. `key_id` is random: it says nothing about whose key it is."""

    key_id: str
    secret: bytes

    @classmethod
    def new(cls) -> ArchiveKey:
        return cls(key_id=base64.urlsafe_b64encode(os.urandom(16)).decode().rstrip("="), secret=os.urandom(KEY_BYTES))


class Unreadable(ValueError):
    """A record that cannot be opened with the key it names (tampered, or sealed under another key)."""


def person_ref(profile_id: str) -> str:
    """How the key ring refers to a profile: the platform's one-way digest, so not even the key ring holds the id
    in the clear (and the tombstone left by an erasure names nobody)."""
    return profile_digest(profile_id)


def seal(event: Mapping[str, Any], key: ArchiveKey) -> dict[str, Any]:
    """One archived record: the event (as JSON) encrypted and authenticated under `key`; the key id is bound as
    associated data so a record cannot be passed off under another key."""
    nonce = os.urandom(NONCE_BYTES)
    plaintext = json.dumps(event, separators=(",", ":"), sort_keys=True).encode()
    ciphertext = AESGCM(key.secret).encrypt(nonce, plaintext, key.key_id.encode())
    return {"v": FORMAT_VERSION, "key": key.key_id, "nonce": _b64(nonce), "data": _b64(ciphertext)}


def open_record(record: Mapping[str, Any], key: ArchiveKey) -> dict[str, Any]:
    if record.get("v") != FORMAT_VERSION or record.get("key") != key.key_id:
        raise Unreadable("record format or key id does not match")
    try:
        plaintext = AESGCM(key.secret).decrypt(
            base64.b64decode(record["nonce"]), base64.b64decode(record["data"]), key.key_id.encode()
        )
    except (InvalidTag, KeyError, ValueError) as error:
        raise Unreadable(str(error) or "authentication failed") from None
    event: dict[str, Any] = json.loads(plaintext)
    return event


def pack(records: Iterable[Mapping[str, Any]]) -> bytes:
    """A batch of sealed records as one gzipped JSON-lines object."""
    lines = "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in records)
    return gzip.compress(lines.encode(), compresslevel=6)


def unpack(body: bytes) -> Iterator[dict[str, Any]]:
    for line in gzip.decompress(body).splitlines():
        if line.strip():
            yield json.loads(line)


def object_key(at: dt.datetime, batch_id: str) -> str:
    """`activity/YYYY/MM/DD/HH/<batch id>.jsonl.gz` (UTC): listable by day for reading a period back."""
    at = at.astimezone(dt.UTC)
    return f"{PREFIX}{at:%Y/%m/%d/%H}/{batch_id}.jsonl.gz"


def day_prefixes(since: dt.date, until: dt.date) -> list[str]:
    """The object prefixes covering each UTC day from `since` to `until` (inclusive)."""
    if until < since:
        raise ValueError("until is before since")
    days = (until - since).days + 1
    return [f"{PREFIX}{since + dt.timedelta(days=n):%Y/%m/%d}/" for n in range(days)]


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()
