"""Where a visitor is: CloudFront viewer headers when present, else a MaxMind-format database record, else nothing.
Pure: the database lookup is passed in as a function (the reader lives in the adapters)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import unquote

Locate = Callable[[str], Mapping[str, Any] | None]  # full IP → a MaxMind (GeoIP2/GeoLite2 City) record
MAX_NAME = 100


def from_viewer_headers(headers: Mapping[str, str]) -> dict[str, str] | None:
    """CloudFront's `cloudfront-viewer-country`, `-country-region` and `-city` (lower-cased header names)."""
    country = headers.get("cloudfront-viewer-country")
    if not country:
        return None
    out = {"country": country.strip().upper()[:2]}
    region = headers.get("cloudfront-viewer-country-region")
    if region:
        out["region"] = region.strip()[:MAX_NAME]
    city = headers.get("cloudfront-viewer-city")
    if city:
        out["city"] = unquote(city).strip()[:MAX_NAME]  # CloudFront URL-encodes non-ASCII city names
    return out


def from_record(record: Mapping[str, Any] | None) -> dict[str, str] | None:
    """Country ISO code, first subdivision ISO code and English city name of a GeoIP2 City-shaped record."""
    if not isinstance(record, Mapping):
        return None
    out: dict[str, str] = {}
    country = record.get("country")
    if isinstance(country, Mapping) and isinstance(country.get("iso_code"), str):
        out["country"] = country["iso_code"]
    subdivisions = record.get("subdivisions")
    if isinstance(subdivisions, list) and subdivisions and isinstance(subdivisions[0], Mapping):
        code = subdivisions[0].get("iso_code")
        if isinstance(code, str):
            out["region"] = code
    city = record.get("city")
    names = city.get("names") if isinstance(city, Mapping) else None
    if isinstance(names, Mapping) and isinstance(names.get("en"), str):
        out["city"] = names["en"][:MAX_NAME]
    return out or None


def locate(ip: str | None, viewer: dict[str, str] | None, database: Locate | None) -> dict[str, str] | None:
    """Viewer headers win (CloudFront already did the lookup); the database needs the full, not anonymised, IP."""
    if viewer:
        return viewer
    if database is None or not ip:
        return None
    try:
        return from_record(database(ip))
    except ValueError:  # not an IP the database can look up
        return None
