"""What content knows of a visitor, kept from bus events: memberships, scores, answers, traits, visits, reading."""

from __future__ import annotations

import copy
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from services.content.domain import affinity as reading

# The read model a decision needs, so `GET /v1/decide` costs one GetItem and no call to another service.
#
# The canonical state is kept per profile (`PROFILE#<id>`, fed by events that name a profile) and projected to one
# item per identifier the profile is known by (`VISITOR#a:<anonymousId>`, `VISITOR#u:<userId>`): the decision reads
# the visitor's item by the id the page sends. Every transition carries the per-profile `sequence` segments gives
# it, so a late or redelivered event never undoes a newer one. A visit is a run of activity with gaps under 30
# minutes; a visitor is *returning* once a visit started after an earlier one.

VISIT_GAP_MS = 30 * 60 * 1000
MAX_IDENTIFIERS = 50
MAX_TRAIT_BYTES = 16_000
VISIT_FIELDS = ("referrerType", "referrerSource", "campaign", "campaignSource", "campaignMedium", "searchTerms")
DEVICE_FIELDS = ("deviceType", "country", "region", "city")
NEUTRAL = "neutral"


def identifier(anonymous_id: str | None = None, user_id: str | None = None) -> str | None:
    """The key a visitor is read by: the user id when the page sends one, else the anonymous id."""
    if user_id:
        return f"u:{user_id}"
    if anonymous_id:
        return f"a:{anonymous_id}"
    return None


@dataclass
class VisitorState:
    profile_id: str
    version: int = 0
    identifiers: list[str] = field(default_factory=list)
    members: dict[str, dict[str, Any]] = field(default_factory=dict)  # segment → {in, seq}
    scores: dict[str, dict[str, Any]] = field(default_factory=dict)  # plan → {score, tier, seq}
    answers: dict[str, dict[str, Any]] = field(default_factory=dict)  # questionnaire → {key | None, seq}
    traits: dict[str, Any] = field(default_factory=dict)
    known: bool = False
    personalisation: bool = True  # until the person refuses it
    affinity: dict[str, list[float]] = field(default_factory=dict)  # topic → [weight, epoch ms]
    recent: list[str] = field(default_factory=list)  # item ids, most recent first
    first_seen: int | None = None
    last_seen: int | None = None
    visits: int = 0
    visit: dict[str, Any] = field(default_factory=dict)  # the current visit's referrer and campaign
    device: dict[str, Any] = field(default_factory=dict)  # the latest activity's device and place
    merged_into: str | None = None

    def copy(self) -> VisitorState:
        return copy.deepcopy(self)

    @property
    def segments(self) -> list[str]:
        return sorted(s for s, m in self.members.items() if m.get("in"))

    def audiences(self) -> list[str]:
        """What content is targeted at and counted by: segment ids and questionnaire segment keys; a reader who
        answered no questionnaire (or matched none) is in the neutral pool."""
        keys = sorted({a["key"] for a in self.answers.values() if a.get("key")})
        return [*self.segments, *(keys or [NEUTRAL])]

    def _observed(self) -> dict[str, Any]:
        """What the stored state and the visitor's projection both carry as they are."""
        return {
            "profileId": self.profile_id,
            "traits": self.traits,
            "known": self.known,
            "personalisation": self.personalisation,
            "affinity": self.affinity,
            "recent": self.recent,
            "firstSeen": self.first_seen,
            "lastSeen": self.last_seen,
            "visits": self.visits,
            "visit": self.visit,
            "device": self.device,
        }

    def as_item(self) -> dict[str, Any]:
        return {
            **self._observed(),
            "version": self.version,
            "identifiers": self.identifiers,
            "members": self.members,
            "scores": self.scores,
            "answers": self.answers,
            "mergedInto": self.merged_into,
        }

    def projection(self) -> dict[str, Any]:
        """What a visitor's item carries: everything a decision reads (not the identifiers or sequences)."""
        return {
            **self._observed(),
            "segments": self.segments,
            "audiences": self.audiences(),
            "scores": {p: s.get("score", 0) for p, s in self.scores.items()},
            "tiers": {p: s["tier"] for p, s in self.scores.items() if s.get("tier")},
            "answers": {q: a.get("key") for q, a in self.answers.items()},
        }


def from_item(item: dict[str, Any]) -> VisitorState:
    return VisitorState(
        profile_id=item["profileId"],
        version=int(item.get("version") or 0),
        identifiers=list(item.get("identifiers") or []),
        members=dict(item.get("members") or {}),
        scores=dict(item.get("scores") or {}),
        answers=dict(item.get("answers") or {}),
        traits=dict(item.get("traits") or {}),
        known=bool(item.get("known")),
        personalisation=item.get("personalisation", True) is not False,
        affinity={k: [float(v[0]), float(v[1])] for k, v in (item.get("affinity") or {}).items()},
        recent=list(item.get("recent") or []),
        first_seen=_int(item.get("firstSeen")),
        last_seen=_int(item.get("lastSeen")),
        visits=int(item.get("visits") or 0),
        visit=dict(item.get("visit") or {}),
        device=dict(item.get("device") or {}),
        merged_into=item.get("mergedInto"),
    )


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


# ---- transitions (each returns whether the state changed) -------------------------------------------------------


def set_membership(state: VisitorState, segment_id: str, member: bool, sequence: int) -> bool:
    before = state.members.get(segment_id)
    if before is not None and int(before.get("seq", 0)) >= sequence:
        return False
    state.members[segment_id] = {"in": member, "seq": sequence}
    return True


def set_score(state: VisitorState, plan_id: str, score: float, tier: str | None, sequence: int) -> bool:
    before = state.scores.get(plan_id)
    if before is not None and int(before.get("seq", 0)) >= sequence:
        return False
    state.scores[plan_id] = {"score": score, "tier": tier, "seq": sequence}
    return True


def set_answer(state: VisitorState, questionnaire_id: str, key: str | None, sequence: int) -> bool:
    before = state.answers.get(questionnaire_id)
    if before is not None and int(before.get("seq", 0)) >= sequence:
        return False
    state.answers[questionnaire_id] = {"key": key, "seq": sequence}
    return True


def set_traits(state: VisitorState, changed: dict[str, Any]) -> bool:
    """Trait changes (None removes); nested values are kept whole. Oversized values are not kept (a decision
    has no use for a blob, and the visitor item must stay small)."""
    traits = dict(state.traits)
    for name, value in changed.items():
        if value is None:
            traits.pop(name, None)
        elif len(repr(value)) <= 2_000:
            traits[name] = value
    if len(repr(traits)) > MAX_TRAIT_BYTES or traits == state.traits:
        return False
    state.traits = traits
    state.known = state.known or bool(traits.get("email"))
    return True


def set_consent(state: VisitorState, purpose: str, granted: bool) -> bool:
    if purpose != "personalisation" or state.personalisation == granted:
        return False
    state.personalisation = granted
    return True


def add_identifier(state: VisitorState, key: str | None) -> bool:
    if not key or key in state.identifiers:
        return False
    state.identifiers = [*state.identifiers, key][-MAX_IDENTIFIERS:]
    return True


@dataclass(frozen=True)
class Activity:
    """The parts of an `ActivityRecorded` the read model keeps."""

    at: int  # epoch ms
    anonymous_id: str | None = None
    user_id: str | None = None
    environment: dict[str, Any] = field(default_factory=dict)  # environment_of(enrichment)
    traits: dict[str, Any] = field(default_factory=dict)
    item_id: str | None = None
    item_topics: tuple[str, ...] = ()
    timezone: str | None = None  # the visitor's IANA zone, when the page said it


def record_activity(state: VisitorState, activity: Activity) -> bool:
    """Identifiers, known-ness, visits (a new one after a 30-minute gap, keeping its referrer and campaign), the
    device and place, and reading (topic affinity, recently read)."""
    add_identifier(state, identifier(anonymous_id=activity.anonymous_id))
    add_identifier(state, identifier(user_id=activity.user_id))
    if activity.user_id:
        state.known = True
    if activity.traits:
        set_traits(state, activity.traits)
    at = activity.at
    if state.last_seen is None or at - state.last_seen > VISIT_GAP_MS:
        state.visits += 1
        state.visit = {k: activity.environment[k] for k in VISIT_FIELDS if k in activity.environment}
    if state.first_seen is None or at < state.first_seen:
        state.first_seen = at
    if state.last_seen is None or at >= state.last_seen:
        state.last_seen = at
        device = {k: activity.environment[k] for k in DEVICE_FIELDS if k in activity.environment}
        if activity.timezone:
            device["timezone"] = activity.timezone
        elif state.device.get("timezone"):
            device["timezone"] = state.device["timezone"]
        if device:
            state.device = device
    if activity.item_id:
        moment = dt.datetime.fromtimestamp(at / 1000, dt.UTC)
        state.affinity = reading.record_view(
            reading.Affinity.from_json(state.affinity), activity.item_topics, moment
        ).to_json()  # type: ignore[assignment]
        state.recent = reading.record(reading.Recent.from_json(state.recent), activity.item_id).to_json()
    return True


def merge_into(survivor: VisitorState, merged: VisitorState) -> None:
    """Fold a merged profile's visitor knowledge into the survivor's. Memberships and scores are left to segments
    (it re-evaluates the survivor and publishes its transitions); reading, visits and identifiers join."""
    for key in merged.identifiers:
        add_identifier(survivor, key)
    survivor.known = survivor.known or merged.known
    survivor.traits = {**merged.traits, **survivor.traits}
    survivor.personalisation = survivor.personalisation and merged.personalisation
    survivor.affinity = reading.merge(
        reading.Affinity.from_json(survivor.affinity), reading.Affinity.from_json(merged.affinity)
    ).to_json()  # type: ignore[assignment]
    survivor.recent = list(dict.fromkeys([*survivor.recent, *merged.recent]))[: reading.MAX_RECENT]
    survivor.visits += merged.visits
    if merged.first_seen is not None and (survivor.first_seen is None or merged.first_seen < survivor.first_seen):
        survivor.first_seen = merged.first_seen
    if merged.last_seen is not None and (survivor.last_seen is None or merged.last_seen > survivor.last_seen):
        survivor.last_seen, survivor.visit, survivor.device = merged.last_seen, merged.visit, merged.device
    for qid, answer in merged.answers.items():
        survivor.answers.setdefault(qid, answer)
    merged.merged_into = survivor.profile_id
