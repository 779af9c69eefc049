"""What the identity core needs from the outside world, as small protocols (adapters in adapters/)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from typing import Any, Protocol

from services.identity.domain.profiles import Identifier
from services.identity.domain.records import Entry, IdentitySettings, MergeLog, Profile


class Pointers(Protocol):
    """The identity graph: identifier → profile. A claim is conditional: an owner returned means someone else came
    first."""

    def pointers(self, ids: Sequence[Identifier]) -> dict[Identifier, str]: ...
    def claim(self, identifier: Identifier, profile_id: str, at: str) -> str | None:
        """Point an unclaimed identifier at the profile; the current owner when someone holds it already."""
        ...

    def point(self, ids: Sequence[Identifier], profile_id: str, at: str, *, if_owner: str | None = None) -> None:
        """Point identifiers at a profile (only those still owned by `if_owner`, when given)."""
        ...

    def unpoint(self, ids: Sequence[Identifier], owners: Collection[str]) -> None:
        """Delete pointers, each only if it still points at one of `owners`."""
        ...


class Profiles(Protocol):
    """Durable profiles, saved on their version: a `False` means someone else wrote first (read again, decide
    again)."""

    def profile(self, profile_id: str, consistent: bool = False) -> Profile | None: ...
    def profiles(self, profile_ids: Sequence[str]) -> dict[str, Profile]: ...
    def create_profile(self, profile: Profile) -> bool: ...
    def create_profiles(self, profiles: Sequence[Profile]) -> None:
        """Store new profiles in bulk (ids nobody else can hold: an import's derived ids); unconditional."""
        ...

    def save_profile(self, profile: Profile) -> bool:
        """Store `profile` (its version already incremented) if the stored version is the one before."""
        ...

    def delete_profile(self, profile_id: str) -> None: ...
    def count_profile(self, profile_id: str) -> None:
        """Count a profile stored by `create_profiles` (uncounted) in the overview's figures, once."""
        ...

    def search(self, trait: str, value: Any, limit: int, cursor: str | None) -> tuple[list[Profile], str | None]: ...


class Timeline(Protocol):
    """Timeline chains (appended on the next seq: a `False` means another writer came first) and merge logs."""

    def head(self, profile_id: str, consistent: bool = False) -> Entry | None: ...
    def append(self, profile_id: str, entry: Entry, expires_at: int | None) -> bool:
        """Add the entry at its seq unless that seq is taken (another writer came first)."""
        ...

    def entry(self, profile_id: str, seq: int) -> Entry | None: ...
    def entries(
        self, profile_id: str, *, before_seq: int | None, limit: int, types: Collection[str], now_epoch: int
    ) -> list[Entry]:
        """Activity entries, newest first, older than `before_seq`, of the given activity types (all when empty),
        not past their retention."""
        ...

    def erase_chain(self, profile_id: str, keep_seq: int) -> int:
        """Delete every entry and merge log of a chain except the fence at `keep_seq` (-1: keep nothing, the fence
        included); returns how many."""
        ...

    def save_merge(self, log: MergeLog) -> None: ...
    def merge_log(self, survivor: str, merge_id: str) -> MergeLog | None: ...
    def merge_logs(self, survivor: str) -> list[MergeLog]: ...


class Fences(Protocol):
    """Erasure fences: they name the erased profile only until the sweep lifts them."""

    def hold_fences(self, profile_ids: Sequence[str], at: str) -> None:
        """Note the fences erected at `at`, so the sweep can lift them once no writer can still be in flight."""
        ...

    def lapsed_fences(self, before: str) -> list[tuple[str, str]]:
        """(at, profile id) of the fences erected before `before`."""
        ...

    def lift_fence(self, at: str, profile_id: str) -> None: ...


class Suppressions(Protocol):
    """The suppression list of email addresses."""

    def suppress(self, email: str, reason: str, at: str, detail: dict[str, Any]) -> bool:
        """Put an address on the suppression list; False when it was there already."""
        ...

    def suppressions(self, emails: Sequence[str]) -> dict[str, dict[str, Any]]: ...
    def unsuppress(self, emails: Sequence[str]) -> None: ...

    def suppression_list(self, limit: int, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
        """A page of the suppression list, newest first, and the cursor of the next page; ValueError for a cursor
        this store did not give."""
        ...


class Settings(Protocol):
    """The installation's identity settings (merge policy, timeline retention)."""

    def settings(self) -> IdentitySettings: ...
    def save_settings(self, settings: IdentitySettings) -> None: ...


class Overview(Protocol):
    """The overview's exact counters: stored profiles per class, recorded events per UTC day."""

    def profile_counts(self) -> dict[str, int]: ...
    def events_per_day(self, first_day: str, last_day: str) -> dict[str, int]: ...


class Graph(Pointers, Profiles, Protocol):
    """Pointers and the profiles they name: what finding a person by an identifier needs."""


class History(Profiles, Timeline, Protocol):
    """Profiles with their timeline chains: what reading a person's activity needs."""


class Contacts(Profiles, Suppressions, Protocol):
    """Profiles and the suppression list: what a sender asks about a person."""


class Attribution(Pointers, Profiles, Timeline, Settings, Protocol):
    """Pointers, profiles, their chains and the settings: what recording events and merging profiles need."""


class Directory(Pointers, Profiles, Timeline, Protocol):
    """What finding a person by an identifier and reading them needs."""


class ProfileStore(Pointers, Profiles, Timeline, Fences, Suppressions, Settings, Overview, Protocol):
    """The profiles and timeline tables (adapters/dynamodb.py; adapters/memory.py in tests)."""


class ImportStore(Protocol):
    """Import jobs: the job (status, counters), its stored chunks of rows, and rejected rows."""

    def create_job(self, job: dict[str, Any]) -> None: ...
    def job(self, import_id: str) -> dict[str, Any] | None: ...
    def add_chunks(
        self, import_id: str, part: str, chunks: Sequence[tuple[str, list[dict[str, Any]]]], rows: int
    ) -> bool:
        """Store one uploaded part's chunks (key → raw rows) and count them on the job, once per part."""
        ...

    def chunk(self, import_id: str, key: str) -> list[dict[str, Any]] | None: ...
    def chunk_keys(self, import_id: str) -> list[str]: ...
    def mark_started(self, import_id: str, at: str) -> bool:
        """Move an uploading job to running; False when it was started already."""
        ...

    def finish_chunk(self, import_id: str, key: str, counts: dict[str, int], rejected: list[dict[str, Any]]) -> bool:
        """Record a processed chunk's counts and rejected rows, once; False when it was recorded before."""
        ...

    def rejected(self, import_id: str, after_row: int, limit: int) -> list[dict[str, Any]]: ...


ExportPart = Callable[[Sequence[str]], dict[str, Any]]
"""One service's part of a person's export, given the person's profile ids (survivor first, then every profile
merged into it). Raises `ExportPartFailed` when the service cannot give it."""


class ExportPartFailed(RuntimeError):
    """A service could not give its part of an export: it failed (`unavailable` False), or it could not be asked
    at all — throttled, unreachable, not deployed (`unavailable` True)."""

    def __init__(self, service: str, reason: str, *, unavailable: bool) -> None:
        super().__init__(f"{service}: {reason}")
        self.service = service
        self.reason = reason
        self.unavailable = unavailable
