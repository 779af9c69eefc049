"""Definitions through the admin API: segments, scoring plans and questionnaires validated, saved, backfilled."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from services.common import clock
from services.common.bus import Publisher
from services.common.conditions.activities import to_ms
from services.common.conditions.faults import Fault, InvalidDefinition
from services.common.conditions.language import compile_condition, parse
from services.common.ids import new_id
from services.segments.domain.catalog import Catalog, references
from services.segments.domain.profiles import ProfileState, ProfileView
from services.segments.domain.questionnaires import parse_questionnaire
from services.segments.domain.scoring import parse_plan
from services.segments.ports import Definitions, SegmentStore, StaleDefinition
from services.segments.use_cases.backfill import request_backfill

# Segments, scoring plans and questionnaires are validated against what they name (with the path of every fault), saved
# as a new version atomically, and segments backfilled.
#
# Nothing is half-saved: a definition is fully validated before the one transaction that writes it, its history
# entry and the definitions generation.


class NotFound(LookupError):
    def __init__(self, kind: str, definition_id: str) -> None:
        super().__init__(f"No {kind} {definition_id}.")
        self.kind = kind
        self.definition_id = definition_id


class VersionConflict(RuntimeError):
    pass


def validate(kind: str, body: dict[str, Any], repo: Definitions, definition_id: str | None) -> None:
    """Raise InvalidDefinition (every fault with its path) unless `body` is a valid definition of `kind`."""
    if kind == "plan":
        tiers = parse_plan(body, definition_id or "new").tier_names
    elif kind == "questionnaire":
        keys = parse_questionnaire(body, definition_id or "new").keys
    found = repo.definitions()
    if kind == "segment":
        refs = references(found.segments, found.plans, found.questionnaires, self_id=definition_id or "\x00new")
        parse(body.get("condition"), refs)
        return
    if definition_id is None:
        return
    # A changed plan or questionnaire must keep every tier or segment key that a segment names.
    refs = references(found.segments, found.plans, found.questionnaires)
    if kind == "plan":
        refs = replace(refs, plans={**refs.plans, definition_id: tiers})
        field = "tiers"
    else:
        refs = replace(refs, questionnaires={**refs.questionnaires, definition_id: keys})
        field = "key.segments"
    for segment in found.segments:
        try:
            parse(segment.get("condition"), refs)
        except InvalidDefinition as error:
            names = ", ".join(sorted({f.message for f in error.faults}))
            raise InvalidDefinition(
                [Fault(field, f"segment {segment['segmentId']} ({segment.get('name', '')}) still needs it: {names}")]
            ) from error


def save(
    kind: str,
    body: dict[str, Any],
    repo: SegmentStore,
    publisher: Publisher,
    definition_id: str | None = None,
    expected_version: int | None = None,
) -> dict[str, Any]:
    """Create (no id) or replace (id) a definition; a segment's backfill is requested at once."""
    previous = None
    if definition_id is not None:
        previous = repo.definition(kind, definition_id)
        if previous is None:
            raise NotFound(kind, definition_id)
        if expected_version is not None and int(previous["version"]) != expected_version:
            raise VersionConflict(f"{kind} {definition_id} is at version {previous['version']}, not {expected_version}")
    validate(kind, body, repo, definition_id)
    try:
        saved = repo.save_definition(kind, definition_id or new_id(), body, clock.iso(clock.now()), previous)
    except StaleDefinition as error:
        raise VersionConflict(f"{kind} {definition_id} was changed meanwhile; read it again") from error
    if kind == "segment":
        request_backfill(repo, publisher, saved, int(saved.get("generation", 0)))
        saved["backfill"] = repo.backfill(saved["segmentId"])
    saved.pop("generation", None)
    return saved


def segment_view(repo: SegmentStore, segment_id: str) -> dict[str, Any]:
    found = repo.definition("segment", segment_id)
    if found is None:
        raise NotFound("segment", segment_id)
    found["backfill"] = repo.backfill(segment_id)
    found["size"] = repo.current_counters().get(f"size|{segment_id}", 0)
    return found


def preview(
    raw_condition: Any, repo: SegmentStore, catalog: Catalog, sample_size: int = 10, max_profiles: int = 20_000
) -> dict[str, Any]:
    """Count (and sample) the current profiles that meet a condition, without saving anything."""
    found = repo.definitions()
    node = parse(raw_condition, references(found.segments, found.plans, found.questionnaires))
    test = compile_condition(node).test
    now = to_ms(clock.now())
    count = scanned = 0
    sample: list[str] = []
    cursor = None
    while scanned < max_profiles:
        rows, cursor = repo.scan_rollups(0, 1, cursor, min(500, max_profiles - scanned))
        for profile_id, stored in rows:
            scanned += 1
            if test(ProfileView(ProfileState.from_json(stored.state), catalog.plans, now)):
                count += 1
                if len(sample) < sample_size:
                    sample.append(profile_id)
        if not cursor:
            break
    return {"count": count, "scanned": scanned, "complete": cursor is None, "sample": sample}
