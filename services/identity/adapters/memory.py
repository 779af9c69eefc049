"""In-memory `ProfileStore` and `ImportStore` with the same conditional semantics as DynamoDB: for unit tests of
the use cases (fakes beat mocks)."""

from __future__ import annotations

import threading
from collections.abc import Collection, Sequence
from typing import Any

from services.identity.domain.profiles import Identifier
from services.identity.domain.records import Entry, IdentitySettings, MergeLog, Profile
from services.identity.domain.stats import PROFILE_CLASSES, event_day, profile_class
from services.identity.ports import ImportStore, ProfileStore


class MemoryProfiles:
    def __init__(self) -> None:
        self.pointer_items: dict[Identifier, str] = {}
        self.profile_items: dict[str, Profile] = {}
        self.chains: dict[str, dict[int, tuple[Entry, int | None]]] = {}
        self.logs: dict[tuple[str, str], MergeLog] = {}
        self.suppressed: dict[str, dict[str, Any]] = {}
        self.config = IdentitySettings()
        self.writes = 0
        self._lock = threading.Lock()
        self.fences: set[tuple[str, str]] = set()
        self.event_days: dict[str, int] = {}

    # ---- identity graph ----
    def pointers(self, ids: Sequence[Identifier]) -> dict[Identifier, str]:
        with self._lock:
            return {i: self.pointer_items[i] for i in ids if i in self.pointer_items}

    def claim(self, identifier: Identifier, profile_id: str, at: str) -> str | None:
        with self._lock:
            owner = self.pointer_items.get(identifier)
            if owner is not None:
                return owner
            self.pointer_items[identifier] = profile_id
            self.writes += 1
            return None

    def point(self, ids: Sequence[Identifier], profile_id: str, at: str, *, if_owner: str | None = None) -> None:
        with self._lock:
            for identifier in ids:
                if if_owner is None or self.pointer_items.get(identifier) == if_owner:
                    self.pointer_items[identifier] = profile_id
                    self.writes += 1

    def unpoint(self, ids: Sequence[Identifier], owners: Collection[str]) -> None:
        with self._lock:
            for identifier in ids:
                if self.pointer_items.get(identifier) in owners:
                    del self.pointer_items[identifier]

    # ---- durable profiles ----
    def profile(self, profile_id: str, consistent: bool = False) -> Profile | None:
        with self._lock:
            return self.profile_items.get(profile_id)

    def profiles(self, profile_ids: Sequence[str]) -> dict[str, Profile]:
        with self._lock:
            return {p: self.profile_items[p] for p in profile_ids if p in self.profile_items}

    def create_profile(self, profile: Profile) -> bool:
        with self._lock:
            if profile.profile_id in self.profile_items:
                return False
            self.profile_items[profile.profile_id] = profile
            self.writes += 1
            return True

    def create_profiles(self, profiles: Sequence[Profile]) -> None:
        with self._lock:
            for profile in profiles:
                self.profile_items[profile.profile_id] = profile
                self.writes += 1

    def save_profile(self, profile: Profile) -> bool:
        with self._lock:
            stored = self.profile_items.get(profile.profile_id)
            if stored is None or stored.version != profile.version - 1:
                return False
            self.profile_items[profile.profile_id] = profile
            self.writes += 1
            return True

    def delete_profile(self, profile_id: str) -> None:
        with self._lock:
            self.profile_items.pop(profile_id, None)

    def count_profile(self, profile_id: str) -> None:
        pass  # profile counts are derived from the stored profiles here

    def profile_counts(self) -> dict[str, int]:
        with self._lock:
            classes = [profile_class(p) for p in self.profile_items.values()]
        return {name: classes.count(name) for name in PROFILE_CLASSES}

    def events_per_day(self, first_day: str, last_day: str) -> dict[str, int]:
        with self._lock:
            return {day: n for day, n in self.event_days.items() if first_day <= day <= last_day}

    def search(self, trait: str, value: Any, limit: int, cursor: str | None) -> tuple[list[Profile], str | None]:
        with self._lock:
            found = [
                p
                for p in sorted(self.profile_items.values(), key=lambda p: p.profile_id)
                if trait in p.traits and str(p.traits[trait].value) == str(value)
            ]
        after = [p for p in found if cursor is None or p.profile_id > cursor]
        page = after[:limit]
        return page, (page[-1].profile_id if len(after) > limit else None)

    # ---- timeline chains ----
    def head(self, profile_id: str, consistent: bool = False) -> Entry | None:
        with self._lock:
            chain = self.chains.get(profile_id) or {}
            return chain[max(chain)][0] if chain else None

    def append(self, profile_id: str, entry: Entry, expires_at: int | None) -> bool:
        with self._lock:
            chain = self.chains.setdefault(profile_id, {})
            if entry.seq in chain:
                return False
            chain[entry.seq] = (entry, expires_at)
            self.writes += 1
            day = event_day(entry)
            if day:
                self.event_days[day] = self.event_days.get(day, 0) + 1
            return True

    def entry(self, profile_id: str, seq: int) -> Entry | None:
        with self._lock:
            found = (self.chains.get(profile_id) or {}).get(seq)
            return found[0] if found else None

    def entries(
        self, profile_id: str, *, before_seq: int | None, limit: int, types: Collection[str], now_epoch: int
    ) -> list[Entry]:
        with self._lock:
            chain = self.chains.get(profile_id) or {}
            rows = [
                entry
                for seq, (entry, expires) in sorted(chain.items(), reverse=True)
                if (before_seq is None or seq < before_seq)
                and entry.kind == "activity"
                and (expires is None or expires > now_epoch)
                and (not types or (entry.activity or {}).get("type") in types)
            ]
        return rows[:limit]

    def erase_chain(self, profile_id: str, keep_seq: int) -> int:
        with self._lock:
            chain = self.chains.get(profile_id) or {}
            gone = [seq for seq in chain if seq != keep_seq]
            for seq in gone:
                del chain[seq]
            logs = [key for key in self.logs if key[0] == profile_id]
            for key in logs:
                del self.logs[key]
            return len(gone) + len(logs)

    # ---- erasure fences ----
    def hold_fences(self, profile_ids: Sequence[str], at: str) -> None:
        with self._lock:
            self.fences.update((at, pid) for pid in profile_ids)

    def lapsed_fences(self, before: str) -> list[tuple[str, str]]:
        with self._lock:
            return sorted(f for f in self.fences if f[0] < before)

    def lift_fence(self, at: str, profile_id: str) -> None:
        with self._lock:
            self.fences.discard((at, profile_id))

    # ---- merge logs ----
    def save_merge(self, log: MergeLog) -> None:
        with self._lock:
            self.logs[(log.survivor, log.merge_id)] = log

    def merge_log(self, survivor: str, merge_id: str) -> MergeLog | None:
        with self._lock:
            return self.logs.get((survivor, merge_id))

    def merge_logs(self, survivor: str) -> list[MergeLog]:
        with self._lock:
            return sorted((log for (s, _), log in self.logs.items() if s == survivor), key=lambda log: log.at)

    # ---- suppression ----
    def suppress(self, email: str, reason: str, at: str, detail: dict[str, Any]) -> bool:
        with self._lock:
            if email in self.suppressed:
                return False
            self.suppressed[email] = {"email": email, "reason": reason, "at": at, **detail}
            return True

    def suppressions(self, emails: Sequence[str]) -> dict[str, dict[str, Any]]:
        with self._lock:
            return {e: self.suppressed[e] for e in emails if e in self.suppressed}

    def unsuppress(self, emails: Sequence[str]) -> None:
        with self._lock:
            for email in emails:
                self.suppressed.pop(email, None)

    def suppression_list(self, limit: int, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
        with self._lock:
            ordered = sorted(self.suppressed.values(), key=lambda e: f"{e['at']}#{e['email']}", reverse=True)
        if cursor is not None and "#" not in cursor:
            raise ValueError("not a cursor this API returned")
        after = [e for e in ordered if cursor is None or f"{e['at']}#{e['email']}" < cursor]
        page = after[:limit]
        return page, (f"{page[-1]['at']}#{page[-1]['email']}" if len(after) > limit else None)

    # ---- settings ----
    def settings(self) -> IdentitySettings:
        return self.config

    def save_settings(self, settings: IdentitySettings) -> None:
        self.config = settings


class MemoryImports:
    def __init__(self) -> None:
        self.jobs: dict[str, dict[str, Any]] = {}
        self.chunks: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.rejects: dict[tuple[str, int], dict[str, Any]] = {}
        self._lock = threading.Lock()

    def create_job(self, job: dict[str, Any]) -> None:
        with self._lock:
            self.jobs[job["importId"]] = {**job, "chunksDone": set(), "chunkCount": 0, "rows": 0, "parts": set()}

    def job(self, import_id: str) -> dict[str, Any] | None:
        with self._lock:
            job = self.jobs.get(import_id)
            return {**job, "chunksDone": len(job["chunksDone"]), "parts": len(job["parts"])} if job else None

    def add_chunks(
        self, import_id: str, part: str, chunks: Sequence[tuple[str, list[dict[str, Any]]]], rows: int
    ) -> bool:
        with self._lock:
            job = self.jobs[import_id]
            if part in job["parts"]:
                return False
            for key, chunk_rows in chunks:
                self.chunks[(import_id, key)] = list(chunk_rows)
            job["parts"] = {*job["parts"], part}
            job["chunkCount"] += len(chunks)
            job["rows"] += rows
            return True

    def chunk(self, import_id: str, key: str) -> list[dict[str, Any]] | None:
        with self._lock:
            return self.chunks.get((import_id, key))

    def chunk_keys(self, import_id: str) -> list[str]:
        with self._lock:
            return sorted(k for i, k in self.chunks if i == import_id)

    def mark_started(self, import_id: str, at: str) -> bool:
        with self._lock:
            job = self.jobs[import_id]
            if job["status"] != "uploading":
                return False
            job.update(status="running", startedAt=at)
            return True

    def finish_chunk(self, import_id: str, key: str, counts: dict[str, int], rejected: list[dict[str, Any]]) -> bool:
        with self._lock:
            for row in rejected:
                self.rejects[(import_id, int(row["row"]))] = row
            job = self.jobs[import_id]
            if key in job["chunksDone"]:
                return False
            job["chunksDone"] = {*job["chunksDone"], key}
            for name, count in counts.items():
                job[name] = job.get(name, 0) + count
            return True

    def rejected(self, import_id: str, after_row: int, limit: int) -> list[dict[str, Any]]:
        with self._lock:
            rows = sorted((r, row) for (i, r), row in self.rejects.items() if i == import_id and r > after_row)
        return [row for _, row in rows[:limit]]


def _implements_the_ports(profiles: MemoryProfiles, imports: MemoryImports) -> tuple[ProfileStore, ImportStore]:
    """mypy checks here that these adapters implement the whole ports."""
    return profiles, imports
