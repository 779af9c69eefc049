"""The optional MaxMind-format (GeoIP2/GeoLite2 City) database: opened once per container, memory-mapped."""

from __future__ import annotations

from functools import cache
from typing import Any

from services.common.enrichment.geo import Locate


@cache
def _reader(path: str) -> Any:
    import maxminddb  # only when a database is configured (cold start)

    return maxminddb.open_database(path, maxminddb.MODE_AUTO)


def locator(path: str) -> Locate:
    """The lookup function of the database at `path` (full IP → record or None; ValueError for a non-IP)."""
    return _reader(path).get  # type: ignore[no-any-return]
