"""Raw event archive use cases: keep activity sealed per person, shred on erasure, read a period back."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from services.common.ids import new_id
from services.events.domain.archive import (
    Unreadable,
    day_prefixes,
    object_key,
    open_record,
    pack,
    seal,
    unpack,
)
from services.events.ports import ArchiveStore, KeyRing


@dataclass(frozen=True)
class Archived:
    records: int
    skipped_erased: int
    object_name: str | None


def keep(
    activities: Sequence[tuple[str, Mapping[str, Any]]], ring: KeyRing, store: ArchiveStore, now: dt.datetime
) -> Archived:
    """Seal each (profile id, bus event) under its person's key and write the batch as one object. Activity of a
    person erased meanwhile is not kept. Redelivery may keep an event twice; `read` drops the copies."""
    sealed = []
    skipped = 0
    for profile_id, event in activities:
        key = ring.key_for(profile_id, now)
        if key is None:
            skipped += 1
            continue
        sealed.append(seal(event, key))
    if not sealed:
        return Archived(0, skipped, None)
    name = object_key(now, new_id())
    store.put(name, pack(sealed))
    return Archived(len(sealed), skipped, name)


def shred(profile_ids: Sequence[str], ring: KeyRing, now: dt.datetime) -> int:
    """Erasure: destroy the key of the profile and of every profile merged into it; returns how many existed."""
    return sum(1 for profile_id in dict.fromkeys(profile_ids) if ring.shred(profile_id, now))


@dataclass
class ReadReport:
    objects: int = 0
    records: int = 0
    duplicates: int = 0
    shredded: int = 0  # records whose key was destroyed (erased people)
    unreadable: int = 0  # records that failed authentication (should stay 0)
    key_ids: set[str] = field(default_factory=set)

    def to_json(self) -> dict[str, int]:
        return {
            "objects": self.objects,
            "events": self.records,
            "duplicates": self.duplicates,
            "shredded": self.shredded,
            "unreadable": self.unreadable,
        }


def read(
    store: ArchiveStore, ring: KeyRing, since: dt.date, until: dt.date, report: ReadReport | None = None
) -> Iterator[dict[str, Any]]:
    """The archived events of the UTC days `since`..`until`, oldest object first, each event once. Records of
    erased people are counted in `report.shredded` and never yielded."""
    report = report if report is not None else ReadReport()
    seen: set[str] = set()
    keys: dict[str, Any] = {}
    for prefix in day_prefixes(since, until):
        for name in sorted(store.names(prefix)):
            report.objects += 1
            for record in unpack(store.get(name)):
                key_id = str(record.get("key"))
                report.key_ids.add(key_id)
                if key_id not in keys:
                    keys[key_id] = ring.key(key_id)
                key = keys[key_id]
                if key is None:
                    report.shredded += 1
                    continue
                try:
                    event = open_record(record, key)
                except Unreadable:
                    report.unreadable += 1
                    continue
                event_id = str(event.get("id", ""))
                if event_id and event_id in seen:
                    report.duplicates += 1
                    continue
                seen.add(event_id)
                report.records += 1
                yield event
