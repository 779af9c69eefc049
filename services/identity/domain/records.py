"""The records identity keeps and the pure rules that fold and unfold them. Pure."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from services.identity.domain import computed as computed_traits
from services.identity.domain.computed import Computed
from services.identity.domain.consent import (
    Decision,
    consent_from_json,
    consent_to_json,
    merge_consent,
    unmerge_consent,
)
from services.identity.domain.profiles import KNOWN_KINDS, Identifier, MergePolicy
from services.identity.domain.stamps import Stamped, stamped_from_json, stamped_to_json
from services.identity.domain.traits import merge_traits, trait_diff, unmerge_traits

# - `Profile`: the durable part of a person (identities, traits, consent, merge links), versioned for optimistic writes;
#   it changes only when traits, consent, identities or merges change.
# - `Entry`: one link of a profile's timeline chain. Entries are numbered (`seq`), appended with a conditional put, and
#   each carries the computed traits *after* it, so recording an event is one write and the newest entry is the
#   profile's behavioural state. A closed chain (merged, erased) ends with a fence entry that later writers see.
# - `MergeLog`: what a merge changed, enough to undo it.

EntryKind = Literal["activity", "merge", "merged", "unmerge", "restored", "erased"]
RECENT_IDS = 32  # message ids remembered per profile to recognise a redelivered event
DEFAULT_RETENTION_DAYS = 395  # 13 months


def identity_key(identifier: Identifier) -> str:
    return f"{identifier[0]}:{identifier[1]}"


def identity_of(key: str) -> Identifier:
    kind, _, value = key.partition(":")
    return kind, value


@dataclass(frozen=True)
class Profile:
    profile_id: str
    created_at: str
    identities: tuple[str, ...] = ()  # "kind:value"
    traits: Mapping[str, Stamped] = field(default_factory=dict)
    consent: Mapping[str, Decision] = field(default_factory=dict)
    merged_into: str | None = None
    merge_id: str | None = None
    merged_from: tuple[str, ...] = ()
    version: int = 0
    imported_by: str | None = None  # the last import job that wrote it (a redelivered chunk recognises its work)
    # Addresses only *claimed* by a public source (address → the source): nobody confirmed them yet (docs/identity.md,
    # "Trust"). An address not listed is confirmed (a verified event, an admin, an import, a link in our email).
    unconfirmed: Mapping[str, str] = field(default_factory=dict)
    # Consent waiting for the person's confirmation (double opt-in): purpose → {"at", "source", "email"}
    pending: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    @property
    def known(self) -> bool:
        return any(i.partition(":")[0] in KNOWN_KINDS for i in self.identities)

    @property
    def emails(self) -> list[str]:
        return [i.partition(":")[2] for i in self.identities if i.startswith("email:")]

    def email_confirmed(self, address: str) -> bool:
        return address not in self.unconfirmed

    def with_identities(self, ids: Iterable[Identifier]) -> Profile:
        added = [k for k in dict.fromkeys(identity_key(i) for i in ids) if k not in self.identities]
        return replace(self, identities=(*self.identities, *added)) if added else self

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "profileId": self.profile_id,
            "createdAt": self.created_at,
            "identities": list(self.identities),
            "traits": stamped_to_json(self.traits),
            "consent": consent_to_json(self.consent),
            "mergedFrom": list(self.merged_from),
            "version": self.version,
        }
        if self.merged_into:
            out["mergedInto"] = self.merged_into
            out["mergeId"] = self.merge_id
        if self.imported_by:
            out["importedBy"] = self.imported_by
        if self.unconfirmed:
            out["unconfirmed"] = dict(self.unconfirmed)
        if self.pending:
            out["pending"] = {p: dict(v) for p, v in self.pending.items()}
        return out

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Profile:
        return cls(
            profile_id=str(raw["profileId"]),
            created_at=str(raw.get("createdAt", "")),
            identities=tuple(str(i) for i in raw.get("identities") or ()),
            traits=stamped_from_json(raw.get("traits")),
            consent=consent_from_json(raw.get("consent")),
            merged_into=raw.get("mergedInto") or None,
            merge_id=raw.get("mergeId") or None,
            merged_from=tuple(str(p) for p in raw.get("mergedFrom") or ()),
            version=int(raw.get("version") or 0),
            imported_by=raw.get("importedBy") or None,
            unconfirmed={str(k): str(v) for k, v in (raw.get("unconfirmed") or {}).items()},
            pending={
                str(p): {str(k): str(v) for k, v in d.items()}
                for p, d in (raw.get("pending") or {}).items()
                if isinstance(d, Mapping)
            },
        )


def new_profile(profile_id: str, ids: Sequence[Identifier], at: str) -> Profile:
    return Profile(profile_id, at, identities=tuple(dict.fromkeys(identity_key(i) for i in ids)))


def fold_profile(survivor: Profile, folded: Profile) -> Profile:
    """The survivor after absorbing another profile: traits and consent merge (most recent wins), identities and
    the folded profile's own merged history join."""
    merged_from = tuple(dict.fromkeys((*survivor.merged_from, folded.profile_id, *folded.merged_from)))
    return replace(
        survivor.with_identities(identity_of(i) for i in folded.identities),
        traits=merge_traits(survivor.traits, folded.traits),
        consent=merge_consent(survivor.consent, folded.consent),
        merged_from=merged_from,
        unconfirmed={**folded.unconfirmed, **survivor.unconfirmed},
        pending=_merge_pending(survivor.pending, folded.pending),
    )


def _merge_pending(
    a: Mapping[str, Mapping[str, str]], b: Mapping[str, Mapping[str, str]]
) -> dict[str, Mapping[str, str]]:
    """Per purpose the most recent request (ties: any fixed order), so folding is order-independent."""
    out = dict(a)
    for purpose, request in b.items():
        old = out.get(purpose)
        if old is None or (request.get("at", ""), sorted(request.items())) > (old.get("at", ""), sorted(old.items())):
            out[purpose] = request
    return out


@dataclass(frozen=True)
class Entry:
    seq: int
    kind: EntryKind
    recorded_at: str
    computed: Computed = field(default_factory=Computed)
    recent: tuple[str, ...] = ()  # "<digest>:<seq>" of the latest message ids
    absorbed: tuple[str, ...] = ()  # profiles folded into this chain (a merge resumed after a crash is not redone)
    merged_into: str | None = None
    merge_id: str | None = None
    activity: Mapping[str, Any] | None = None
    changed: Mapping[str, Any] = field(default_factory=dict)  # what this entry changed, re-published on redelivery
    consent: Mapping[str, Decision] = field(default_factory=dict)  # consent decisions it flipped (idem)

    @property
    def open(self) -> bool:
        return self.kind not in ("merged", "erased")

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "seq": self.seq,
            "kind": self.kind,
            "recordedAt": self.recorded_at,
            "computed": self.computed.to_json(),
        }
        for name, value in (
            ("recent", list(self.recent)),
            ("absorbed", list(self.absorbed)),
            ("mergedInto", self.merged_into),
            ("mergeId", self.merge_id),
            ("activity", dict(self.activity) if self.activity else None),
            ("changed", dict(self.changed)),
            ("consent", consent_to_json(self.consent)),
        ):
            if value:
                out[name] = value
        return out

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Entry:
        return cls(
            seq=int(raw["seq"]),
            kind=raw["kind"],
            recorded_at=str(raw.get("recordedAt", "")),
            computed=Computed.from_json(raw.get("computed")),
            recent=tuple(str(r) for r in raw.get("recent") or ()),
            absorbed=tuple(str(p) for p in raw.get("absorbed") or ()),
            merged_into=raw.get("mergedInto") or None,
            merge_id=raw.get("mergeId") or None,
            activity=raw.get("activity") or None,
            changed=raw.get("changed") or {},
            consent=consent_from_json(raw.get("consent")),
        )


def message_digest(message_id: str) -> str:
    return hashlib.sha256(message_id.encode()).hexdigest()[:12]


def seen(recent: Sequence[str], message_id: str) -> tuple[str | None, int] | None:
    """Where this message was recorded, if it is among the recent ones: (chain, seq); chain None is this one.
    Items are `<digest>:<seq>`, or `<digest>:<seq>@<chain>` for messages recorded by a profile merged into this."""
    digest = message_digest(message_id)
    for item in reversed(recent):
        key, _, rest = item.partition(":")
        if key == digest:
            seq, _, chain = rest.partition("@")
            return (chain or None), int(seq)
    return None


def remember(recent: Sequence[str], message_id: str, seq: int) -> tuple[str, ...]:
    return (*recent, f"{message_digest(message_id)}:{seq}")[-RECENT_IDS:]


@dataclass(frozen=True)
class MergeLog:
    """A merge, recorded so it can be undone. `before`/`after` are the survivor's traits, consent and computed
    traits around the merge; `folded` is the absorbed profile as it was (its chain is closed, so it is final)."""

    merge_id: str
    survivor: str
    folded_id: str
    reason: str
    at: str
    folded: Profile
    folded_computed: Computed
    status: Literal["pending", "done", "undone"] = "pending"
    traits_before: Mapping[str, Stamped] = field(default_factory=dict)
    traits_after: Mapping[str, Stamped] = field(default_factory=dict)
    consent_before: Mapping[str, Decision] = field(default_factory=dict)
    consent_after: Mapping[str, Decision] = field(default_factory=dict)
    computed_before: Computed = field(default_factory=Computed)
    computed_after: Computed = field(default_factory=Computed)
    undone_at: str | None = None

    def changed(self) -> dict[str, Any]:
        """What the merge changed on the survivor (trait and computed-trait names → new values)."""
        return {
            **trait_diff(self.traits_before, self.traits_after),
            **computed_traits.view_diff(self.computed_before, self.computed_after),
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "mergeId": self.merge_id,
            "survivingProfileId": self.survivor,
            "mergedProfileId": self.folded_id,
            "reason": self.reason,
            "at": self.at,
            "status": self.status,
            "folded": self.folded.to_json(),
            "foldedComputed": self.folded_computed.to_json(),
            "traitsBefore": stamped_to_json(self.traits_before),
            "traitsAfter": stamped_to_json(self.traits_after),
            "consentBefore": consent_to_json(self.consent_before),
            "consentAfter": consent_to_json(self.consent_after),
            "computedBefore": self.computed_before.to_json(),
            "computedAfter": self.computed_after.to_json(),
            "undoneAt": self.undone_at,
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> MergeLog:
        return cls(
            merge_id=str(raw["mergeId"]),
            survivor=str(raw["survivingProfileId"]),
            folded_id=str(raw["mergedProfileId"]),
            reason=str(raw.get("reason", "")),
            at=str(raw.get("at", "")),
            status=raw.get("status", "pending"),
            folded=Profile.from_json(raw["folded"]),
            folded_computed=Computed.from_json(raw.get("foldedComputed")),
            traits_before=stamped_from_json(raw.get("traitsBefore")),
            traits_after=stamped_from_json(raw.get("traitsAfter")),
            consent_before=consent_from_json(raw.get("consentBefore")),
            consent_after=consent_from_json(raw.get("consentAfter")),
            computed_before=Computed.from_json(raw.get("computedBefore")),
            computed_after=Computed.from_json(raw.get("computedAfter")),
            undone_at=raw.get("undoneAt") or None,
        )


def unfold_profile(now: Profile, log: MergeLog) -> Profile:
    """The survivor without a folded profile: its identities and merged history leave, and traits and consent the
    merge set go back to their earlier values unless they changed since."""
    leaving_ids = set(log.folded.identities)
    leaving_profiles = {log.folded_id, *log.folded.merged_from}
    return replace(
        now,
        identities=tuple(i for i in now.identities if i not in leaving_ids),
        merged_from=tuple(p for p in now.merged_from if p not in leaving_profiles),
        traits=unmerge_traits(now.traits, log.traits_before, log.traits_after),
        consent=unmerge_consent(now.consent, log.consent_before, log.consent_after),
        unconfirmed={e: s for e, s in now.unconfirmed.items() if f"email:{e}" not in leaving_ids},
        pending={p: r for p, r in now.pending.items() if log.folded.pending.get(p) != r},
    )


@dataclass(frozen=True)
class IdentitySettings:
    """Per-installation configuration (admin API), cached by functions for a minute."""

    policy: MergePolicy = field(default_factory=MergePolicy)
    retention_days: int = DEFAULT_RETENTION_DAYS

    def to_json(self) -> dict[str, Any]:
        return {
            "mergePolicy": {
                "linkAnonymousOnEmail": self.policy.link_anonymous_on_email,
                "mergeKnownOnVerified": self.policy.merge_known_on_verified,
            },
            "retentionDays": self.retention_days,
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any] | None) -> IdentitySettings:
        raw = raw or {}
        policy = raw.get("mergePolicy") or {}
        return cls(
            policy=MergePolicy(
                link_anonymous_on_email=bool(policy.get("linkAnonymousOnEmail", True)),
                merge_known_on_verified=bool(policy.get("mergeKnownOnVerified", True)),
            ),
            retention_days=int(raw.get("retentionDays") or DEFAULT_RETENTION_DAYS),
        )
