"""Events use cases: collection, email tracking and the raw event archive."""

from services.events.use_cases.archive import keep, shred
from services.events.use_cases.collection import Collection, collect
from services.events.use_cases.tracking import Tracking, record_click, record_open, verified

__all__ = [
    "Collection",
    "Tracking",
    "collect",
    "keep",
    "record_click",
    "record_open",
    "shred",
    "verified",
]
