"""Contact imports: upload a file (one body, or parts), then a job that imports its stored chunks of rows."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from services.common import clock
from services.common.bus import Publisher
from services.common.contracts.identity import (
    ConsentChanged,
    ContactsImportChunkQueued,
    ProfileCreated,
    ProfileUpdated,
)
from services.common.ids import derived_id, new_id
from services.identity.domain.consent import apply_consent, as_purpose, granted
from services.identity.domain.import_rows import Contact, Format, RawRow, Rejection, parse, validate
from services.identity.domain.profiles import Identifier
from services.identity.domain.records import Profile, new_profile
from services.identity.domain.stamps import Stamped
from services.identity.domain.traits import apply_traits, trait_values
from services.identity.ports import Graph, ImportStore
from services.identity.use_cases.writes import Conflict, Outbox, attempts

CHUNK_ROWS = 500
CHUNK_CHARS = 300_000  # a chunk item stays well under DynamoDB's 400 KB
JOB_DAYS = 30
REJECTED_PAGE = 100


class ImportNotFound(LookupError):
    pass


class ImportStateError(ValueError):
    pass


def create_import(imports: ImportStore, fmt: Format, name: str | None) -> dict[str, Any]:
    now = clock.now()
    job = {
        "importId": new_id(),
        "status": "uploading",
        "format": fmt,
        "name": name or "",
        "createdAt": clock.iso(now),
        "expiresAt": int((now + dt.timedelta(days=JOB_DAYS)).timestamp()),
    }
    imports.create_job(job)
    return import_status(imports, str(job["importId"]))


def add_part(imports: ImportStore, import_id: str, part: int, text: str, first_row: int) -> dict[str, Any]:
    """Parse one uploaded part and store it as chunks; uploading the same part again changes nothing."""
    job = imports.job(import_id)
    if job is None:
        raise ImportNotFound(import_id)
    if job["status"] != "uploading":
        raise ImportStateError(f"import {import_id} was started already; parts can only be added before")
    rows = parse(text, job["format"], first_row)
    chunks = [(f"{part:05d}-{index:04d}", chunk) for index, chunk in enumerate(_chunks(rows))]
    added = imports.add_chunks(import_id, f"{part:05d}", chunks, len(rows))
    return {"importId": import_id, "part": part, "rows": len(rows), "chunks": len(chunks), "added": added}


def start_import(imports: ImportStore, publisher: Publisher, import_id: str) -> dict[str, Any]:
    """Queue every chunk; starting twice queues nothing more."""
    job = imports.job(import_id)
    if job is None:
        raise ImportNotFound(import_id)
    if imports.mark_started(import_id, clock.iso(clock.now())):
        out = Outbox(import_id)
        for key in imports.chunk_keys(import_id):
            out.add(ContactsImportChunkQueued(importId=import_id, chunk=key), key)
        out.publish(publisher)
    return import_status(imports, import_id)


def import_status(
    imports: ImportStore, import_id: str, after_row: int = 0, limit: int = REJECTED_PAGE
) -> dict[str, Any]:
    """The job, its counts, and a page of rejected rows with their reasons (`nextRejectedAfter` pages on)."""
    job = imports.job(import_id)
    if job is None:
        raise ImportNotFound(import_id)
    chunks, done = int(job.get("chunkCount", 0)), int(job.get("chunksDone", 0))
    status = job["status"]
    if status == "running" and done >= chunks:
        status = "completed"
    counts = {name: int(job.get(name, 0)) for name in ("created", "updated", "unchanged", "rejected")}
    rejected = imports.rejected(import_id, after_row, limit)
    return {
        "importId": import_id,
        "status": status,
        "format": job.get("format"),
        "name": job.get("name", ""),
        "createdAt": job.get("createdAt"),
        "startedAt": job.get("startedAt"),
        "rows": int(job.get("rows", 0)),
        "processed": sum(counts.values()),
        "chunks": chunks,
        "chunksDone": done,
        **counts,
        "rejectedRows": rejected,
        "nextRejectedAfter": rejected[-1]["row"] if len(rejected) == limit else None,
    }


def _chunks(rows: Sequence[RawRow]) -> list[list[dict[str, Any]]]:
    chunks: list[list[dict[str, Any]]] = []
    current: list[dict[str, Any]] = []
    size = 0
    for row in rows:
        raw = row.to_json()
        weight = len(str(raw))
        if current and (len(current) >= CHUNK_ROWS or size + weight > CHUNK_CHARS):
            chunks.append(current)
            current, size = [], 0
        current.append(raw)
        size += weight
    if current:
        chunks.append(current)
    return chunks


# ---- the job: one chunk ----------------------------------------------------------------------------------------


def process_chunk(imports: ImportStore, store: Graph, publisher: Publisher, import_id: str, key: str) -> dict[str, int]:
    """Import one chunk of rows; returns the counts (created, updated, unchanged, rejected).

    The API stores the upload as chunks of at most 500 rows in the `imports` table; starting the job publishes one
    `ContactsImportChunkQueued` per chunk, which identity itself consumes (one chunk per invocation, retried and
    dead-lettered like every consumer). A chunk is idempotent: rows match profiles by email (or user id), new
    profiles get ids derived from the import and the email, and a chunk's counts are added to the job once.
    """
    raw_rows = imports.chunk(import_id, key)
    job = imports.job(import_id)
    if raw_rows is None or job is None:
        return {}
    # Values are stamped with the job's time (or the row's updatedAt), the same on a retry: so a redelivered chunk
    # recognises what it set before and announces it again (same event ids), instead of calling it unchanged.
    at = str(job["createdAt"])
    source = f"import:{import_id}"
    out = Outbox(derived_id(import_id, key))
    counts = {"created": 0, "updated": 0, "unchanged": 0, "rejected": 0}
    rejected: list[Rejection] = []
    groups: dict[str, list[Contact]] = {}
    for raw in raw_rows:
        checked = validate(RawRow.from_json(raw))
        if isinstance(checked, Rejection):
            rejected.append(checked)
        else:
            groups.setdefault(checked.email, []).append(checked)

    lookups: list[Identifier] = [("email", email) for email in groups]
    lookups += [("user", c.user_id) for contacts in groups.values() for c in contacts if c.user_id]
    pointers = store.pointers(lookups)
    targets: dict[str, str | None] = {}
    for email, contacts in list(groups.items()):
        owners = {pointers[("email", email)]} if ("email", email) in pointers else set()
        kept: list[Contact] = []
        for contact in contacts:
            user_owner = pointers.get(("user", contact.user_id)) if contact.user_id else None
            if user_owner and owners and user_owner not in owners:
                rejected.append(
                    Rejection(
                        contact.row,
                        (
                            f"userId: {contact.user_id} belongs to another profile than {contact.email_as_given}; "
                            "merge them first (POST /v1/profiles/merge)",
                        ),
                    )
                )
                continue
            if user_owner:
                owners.add(user_owner)
            kept.append(contact)
        if kept:
            groups[email] = kept
            targets[email] = next(iter(owners)) if owners else None
        else:
            del groups[email]
    counts["rejected"] = len(rejected)

    existing = store.profiles([t for t in targets.values() if t])
    new_profiles: list[tuple[Profile, list[Contact], dict[str, Any], dict[str, Any]]] = []
    for email, contacts in groups.items():
        target = targets[email]
        if target is None:
            profile_id = derived_id(import_id, "profile", email)
            ids = _identifiers(contacts)
            blank = new_profile(profile_id, ids, at)
            built, trait_changes, consent_changes = _apply(blank, contacts, at, source)
            new_profiles.append((built, contacts, trait_changes, consent_changes))
            continue
        if target == derived_id(import_id, "profile", email):  # created by this import before a crash
            out.add(ProfileCreated(profileId=target), target)
            store.count_profile(target)  # (once: a profile counted already is left as it is)
        missing = [i for i in _identifiers(contacts) if pointers.get(i) != target]
        outcome = _update(store, existing.get(target), target, contacts, missing, at, source, out)
        counts[outcome] += len(contacts)

    store.create_profiles([p for p, *_ in new_profiles])
    for profile, contacts, trait_changes, consent_changes in new_profiles:
        email = contacts[0].email
        owner = store.claim(("email", email), profile.profile_id, at)
        if owner is not None and owner != profile.profile_id:
            # Someone created this person meanwhile (an event, another chunk): import into theirs.
            store.delete_profile(profile.profile_id)
            counts[_update(store, None, owner, contacts, _identifiers(contacts), at, source, out)] += len(contacts)
            continue
        for contact in contacts:
            if contact.user_id:
                store.claim(("user", contact.user_id), profile.profile_id, at)
        counts["created"] += len(contacts)
        store.count_profile(profile.profile_id)  # stored in bulk, uncounted: counted now that it is the person's
        out.add(ProfileCreated(profileId=profile.profile_id), profile.profile_id)
        _announce(out, profile.profile_id, trait_changes, consent_changes)

    out.publish(publisher)
    imports.finish_chunk(import_id, key, counts, [r.to_json() for r in sorted(rejected, key=lambda r: r.row)])
    return counts


def _identifiers(contacts: Sequence[Contact]) -> list[Identifier]:
    ids: list[Identifier] = [("email", contacts[0].email)]
    ids += [("user", c.user_id) for c in contacts if c.user_id]
    return list(dict.fromkeys(ids))


def _apply(
    profile: Profile, contacts: Sequence[Contact], at: str, source: str
) -> tuple[Profile, dict[str, Any], dict[str, Any]]:
    """The profile after the rows (in file order), and what to announce: the values that changed, plus — when this
    very import wrote the profile before (a redelivered chunk) — the values it set, announced again with the same
    event ids."""
    traits, consent = dict(profile.traits), dict(profile.consent)
    for contact in contacts:
        traits, _ = apply_traits(traits, contact.traits, contact.at or at)
        consent, _ = apply_consent(consent, contact.consent, contact.at or at, source)
    before, after = trait_values(profile.traits), trait_values(traits)
    trait_changes = {k: v for k, v in after.items() if before.get(k) != v}
    ours = profile.imported_by == source
    if ours:
        for contact in contacts:
            stamp = contact.at or at
            trait_changes.update(
                {name: value for name, value in contact.traits.items() if traits.get(name) == Stamped(value, stamp)}
            )
    consent_changes = {
        p: d
        for p, d in consent.items()
        if p not in profile.consent or profile.consent[p].granted != d.granted or (ours and d.source == source)
    }
    imported = {contact.email for contact in contacts}  # an admin's import confirms its addresses
    updated = replace(
        profile.with_identities(_identifiers(contacts)),
        traits=traits,
        consent=consent,
        imported_by=source,
        unconfirmed={e: s for e, s in profile.unconfirmed.items() if e not in imported},
    )
    return updated, trait_changes, consent_changes


def _update(
    store: Graph,
    current: Profile | None,
    profile_id: str,
    contacts: Sequence[Contact],
    claim: Sequence[Identifier],
    at: str,
    source: str,
    out: Outbox,
) -> str:
    for _ in attempts(
        lambda: Conflict(f"profile {profile_id} kept changing during the import; the chunk will be retried")
    ):
        current = current or store.profile(profile_id, consistent=True)
        if current is None:
            raise Conflict(f"profile {profile_id} disappeared during the import; the chunk will be retried")
        updated, trait_changes, consent_changes = _apply(current, contacts, at, source)
        same_values = trait_values(updated.traits) == trait_values(current.traits) and granted(
            updated.consent
        ) == granted(current.consent)
        if (  # nothing to write (not even newer stamps)
            same_values and updated.identities == current.identities and updated.unconfirmed == current.unconfirmed
        ):
            if not trait_changes and not consent_changes:
                return "unchanged"  # a re-import of the same file writes and announces nothing
            _announce(out, profile_id, trait_changes, consent_changes)  # this import's own values, again
            return "created" if profile_id == _new_id_of(source, contacts) else "updated"
        if store.save_profile(replace(updated, version=current.version + 1)):
            for identifier in claim:
                store.claim(identifier, profile_id, at)
            _announce(out, profile_id, trait_changes, consent_changes)
            break
        current = None
    return "updated"


def _new_id_of(source: str, contacts: Sequence[Contact]) -> str:
    return derived_id(source.removeprefix("import:"), "profile", contacts[0].email)


def _announce(out: Outbox, profile_id: str, trait_changes: dict[str, Any], consent_changes: dict[str, Any]) -> None:
    if trait_changes:
        out.add(ProfileUpdated(profileId=profile_id, changed=trait_changes), profile_id)
    for purpose, decision in sorted(consent_changes.items()):
        out.add(
            ConsentChanged(
                profileId=profile_id, purpose=as_purpose(purpose), granted=decision.granted, source=decision.source
            ),
            profile_id,
            purpose,
        )
