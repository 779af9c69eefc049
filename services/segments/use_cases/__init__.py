"""Segments use cases: real-time evaluation, the sweep and backfill, definitions, analytics."""

from services.segments.use_cases.backfill import request_backfill, resend_stalled, run_backfill_page
from services.segments.use_cases.evaluation import (
    erase_profile,
    process,
    record_activity,
    record_points,
    record_profile_update,
    reevaluate,
    sweep,
)
from services.segments.use_cases.merges import fold_profiles, unfold_profiles

__all__ = [
    "erase_profile",
    "fold_profiles",
    "process",
    "record_activity",
    "record_points",
    "record_profile_update",
    "reevaluate",
    "request_backfill",
    "resend_stalled",
    "run_backfill_page",
    "sweep",
    "unfold_profiles",
]
