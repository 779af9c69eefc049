"""Backfill: evaluate a new or changed segment over the profiles that exist already, asynchronously."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from services.common import clock
from services.common.bus import Publisher
from services.common.contracts import Envelope, envelope
from services.common.contracts.segments import SegmentBackfillRequested
from services.common.ids import derived_id
from services.segments.domain.catalog import Catalog
from services.segments.domain.profiles import Reevaluate
from services.segments.ports import Backfills, SegmentStore
from services.segments.use_cases.evaluation import process

# A batched fan-out on the bus: saving a segment requests `PARTS` parallel-scan parts; each message evaluates one
# page of its part and requests the next page, so no invocation runs long and parts run side by side. Progress
# (pages, profiles, changes, parts done) is counted once per page on the segment's backfill item, visible at
# `GET /v1/segments/{id}`. A page is idempotent: each profile's re-evaluation is keyed by (backfill, profile).

PARTS = 4
PAGE_SIZE = 100
RESEND_AFTER = dt.timedelta(minutes=1)


def backfill_id(segment_id: str, version: int) -> str:
    return derived_id(segment_id, str(version), "backfill")


def request_backfill(
    repo: Backfills, publisher: Publisher, segment: dict[str, Any], generation: int, fresh: bool = True
) -> str:
    """Record that a backfill runs for this version and request its first page of every part."""
    segment_id, version = segment["segmentId"], int(segment["version"])
    ident = backfill_id(segment_id, version)
    if fresh:
        repo.start_backfill(segment_id, ident, version, PARTS, clock.iso(clock.now()))
    publisher.publish(
        [
            _page(
                SegmentBackfillRequested(
                    segmentId=segment_id,
                    segmentVersion=version,
                    backfillId=ident,
                    generation=generation,
                    part=part,
                    parts=PARTS,
                    page=0,
                )
            )
            for part in range(PARTS)
        ]
    )
    return ident


def _page(request: SegmentBackfillRequested) -> Envelope[SegmentBackfillRequested]:
    return envelope(request, id=derived_id(request.backfill_id, str(request.part), str(request.page)))


def run_backfill_page(
    incoming: Envelope[SegmentBackfillRequested],
    repo: SegmentStore,
    publisher: Publisher,
    catalog_for: Callable[[int], Catalog],
    page_size: int = PAGE_SIZE,
) -> int:
    """Evaluate one page of one part; returns how many profiles changed membership."""
    request = incoming.data
    catalog = catalog_for(request.generation)
    rule = catalog.segment(request.segment_id)
    if rule is None or rule.version != request.segment_version:
        return 0  # superseded by a newer version, which runs its own backfill
    rows, cursor = repo.scan_rollups(request.part, request.parts, request.cursor, page_size)
    changed = 0
    for profile_id, stored in rows:
        result = process(
            repo,
            publisher,
            catalog,
            profile_id,
            Reevaluate(frozenset({request.segment_id})),
            f"backfill:{request.backfill_id}:{profile_id}",
            correlation_id=incoming.correlation_id,
            first_read=stored,
        )
        changed += 1 if result.transitions else 0
    if cursor:
        publisher.publish([_page(request.model_copy(update={"page": request.page + 1, "cursor": cursor}))])
    repo.record_backfill_page(
        request.segment_id,
        request.backfill_id,
        f"{request.part}:{request.page}",
        len(rows),
        changed,
        part_done=cursor is None,
        now_iso=clock.iso(clock.now()),
    )
    return changed


def resend_stalled(repo: Backfills, publisher: Publisher, segments: list[dict[str, Any]], generation: int) -> int:
    """The sweep's safety net: a backfill recorded but never started (its requests were lost) is requested
    again, with the same message ids."""
    now = clock.now()
    resent = 0
    for segment in segments:
        progress = repo.backfill(segment["segmentId"])
        if not progress or progress.get("status") != "running" or int(progress.get("pages", 0)) > 0:
            continue
        if progress.get("backfillId") != backfill_id(segment["segmentId"], int(segment["version"])):
            continue
        if clock.parse_iso(str(progress["requestedAt"])) > now - RESEND_AFTER:
            continue
        request_backfill(repo, publisher, segment, generation)  # restarts its clock: at most once a minute
        resent += 1
    return resent
