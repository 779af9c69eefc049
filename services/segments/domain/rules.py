"""Segment rules and membership evaluation over per-profile rollups. Pure: no I/O, time is an argument.

A behavioural rule "at least N matching events within D days" needs only the N most recent matching
timestamps: the profile is a member while the oldest of them is younger than D days, and it leaves exactly
when that one ages past the window — so exits are scheduled, not discovered by rescanning events.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.common.clock import iso, parse_iso


class BehaviourRule(BaseModel):
    """Count of matching events within a rolling window."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["page", "track", "screen"] = "page"
    event: str | None = Field(default=None, min_length=1, max_length=200, description="track: the event name")
    path_prefix: str | None = Field(
        default=None, alias="pathPrefix", max_length=500, description="page: the path must start with this"
    )
    at_least: int = Field(alias="atLeast", ge=1, le=100)
    within_days: int = Field(alias="withinDays", ge=1, le=365)

    @model_validator(mode="after")
    def _coherent(self) -> BehaviourRule:
        if self.type == "track" and not self.event:
            raise ValueError("a track rule needs `event`")
        return self

    @property
    def window(self) -> dt.timedelta:
        return dt.timedelta(days=self.within_days)


class SegmentDefinition(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=2000)
    rule: BehaviourRule


@dataclass(frozen=True)
class Segment:
    segment_id: str
    version: int
    rule: BehaviourRule


@dataclass(frozen=True)
class Transition:
    segment_id: str
    entered: bool
    version: int

    def as_dict(self) -> dict[str, Any]:
        return {"segmentId": self.segment_id, "entered": self.entered, "version": self.version}


@dataclass
class Rollup:
    """Per-profile state: recent matching timestamps per segment, and current memberships."""

    hits: dict[str, list[str]] = field(default_factory=dict)
    members: dict[str, str] = field(default_factory=dict)  # segment id → entered at (ISO)

    def as_dict(self) -> dict[str, Any]:
        return {"hits": self.hits, "members": self.members}

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Rollup:
        data = data or {}
        return cls(hits={k: list(v) for k, v in data.get("hits", {}).items()}, members=dict(data.get("members", {})))


def activity_path(activity: dict[str, Any]) -> str:
    path = (activity.get("properties") or {}).get("path")
    if not path:
        path = ((activity.get("context") or {}).get("page") or {}).get("path")
    return str(path or "")


def matches(rule: BehaviourRule, activity: dict[str, Any]) -> bool:
    if activity.get("type") != rule.type:
        return False
    if rule.type == "track" and activity.get("event") != rule.event:
        return False
    return not (rule.path_prefix and not activity_path(activity).startswith(rule.path_prefix))


def hit(activity: dict[str, Any]) -> str:
    """A hit is `<ISO time>|<message id>`: sorts by time, and two events in one millisecond stay two."""
    return f"{iso(parse_iso(str(activity['timestamp'])))}|{activity.get('messageId', '')}"


def hit_time(value: str) -> dt.datetime:
    return parse_iso(value.partition("|")[0])


def is_member(rule: BehaviourRule, hits: list[str], now: dt.datetime) -> bool:
    return len(hits) >= rule.at_least and hit_time(hits[rule.at_least - 1]) > now - rule.window


def leaves_at(rule: BehaviourRule, hits: list[str]) -> dt.datetime | None:
    """When membership ends if nothing else happens: the N-th most recent hit plus the window."""
    if len(hits) < rule.at_least:
        return None
    return hit_time(hits[rule.at_least - 1]) + rule.window


def evaluate(
    segments: list[Segment], rollup: Rollup, activity: dict[str, Any] | None, now: dt.datetime
) -> tuple[Rollup, list[Transition]]:
    """Apply one activity (or none: the passage of time) and return the new rollup and the transitions."""
    hits = {k: list(v) for k, v in rollup.hits.items()}
    members = dict(rollup.members)
    transitions: list[Transition] = []
    for segment in segments:
        rule = segment.rule
        mine = hits.get(segment.segment_id, [])
        if activity is not None and matches(rule, activity):
            stamp = hit(activity)
            if stamp not in mine:
                mine = sorted([*mine, stamp], reverse=True)[: rule.at_least]
                hits[segment.segment_id] = mine
        now_member = is_member(rule, mine, now)
        was_member = segment.segment_id in members
        if now_member and not was_member:
            members[segment.segment_id] = iso(now)
            transitions.append(Transition(segment.segment_id, True, segment.version))
        elif was_member and not now_member:
            del members[segment.segment_id]
            transitions.append(Transition(segment.segment_id, False, segment.version))
    return Rollup(hits=hits, members=members), transitions


def next_review(segments: list[Segment], rollup: Rollup) -> dt.datetime | None:
    """The earliest moment a membership of this profile can end by time alone."""
    rules = {s.segment_id: s.rule for s in segments}
    due = [leaves_at(rules[sid], rollup.hits.get(sid, [])) for sid in rollup.members if sid in rules]
    known = [d for d in due if d is not None]
    return min(known) if known else None
