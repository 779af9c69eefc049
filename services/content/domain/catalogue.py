"""The content catalogue: items, matching a page view to its item, and bulk import rows. Pure."""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_serializer,
    field_validator,
    model_validator,
)

from services.common.clock import iso
from services.content.domain.faults import Fault, refuse

# Matching (CatalogueIndex.match):
# - `contentId` wins when it names an item; an unknown contentId falls through to the page's path.
# - Paths are compared normalised: scheme, host, query string and fragment dropped, percent-decoded, lower-cased,
#   empty segments ignored (so a trailing or doubled slash is insignificant).
# - An item's `path` may be a pattern: `*` stands for one whole segment, and a final `*` for one or more (so
#   `/recipes/*` covers `/recipes/lemon-tart` and `/recipes/desserts/lemon-tart`, not `/recipes`).
# - An exact path beats any pattern; among patterns the most literal segments win, then the longer pattern (the
#   closer fit), then the smallest item id. Two items on the same exact path: the smallest id wins.
#
# Bulk import (parse_rows): rows are numbered from 1 (CSV: the first data row after the header; JSON lines:
# non-blank lines). A bad row becomes faults (one per field) and the other rows are kept. An id repeated in one file:
# the last row wins (a file appended to is a file corrected) and each earlier row gets an `id` fault saying which
# row superseded it, so every faulted row is a row not imported. Unknown CSV columns are reported once, as faults on
# row 0 (the header), and ignored.

Format = Literal["jsonl", "csv"]

SLUG = r"^[A-Za-z0-9_-]{1,100}$"
TOPIC = r"^[a-z0-9][a-z0-9_-]{0,63}$"
AUDIENCE = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$"
LOCALE = r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$"
MAX_URL_CHARS = 2000
MAX_PATH_CHARS = 1000
LIST_SEPARATOR = "|"
WILDCARD = "*"


def _absolute_http_url(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    parts = urlsplit(value)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc or any(c.isspace() for c in value):
        raise ValueError("expected an absolute http(s) URL")
    return value


class ContentItem(BaseModel):
    """One piece of content on the brand's site, where it lives, what it is about and whom it is for."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)

    id: str = Field(pattern=SLUG, description="The content id, a slug; what `properties.contentId` names.")
    title: str = Field(min_length=1, max_length=300)
    url: str | None = Field(default=None, max_length=MAX_URL_CHARS, description="Its canonical absolute URL.")
    path: str | None = Field(
        default=None,
        max_length=MAX_PATH_CHARS,
        description="Its site path, or a pattern of paths where `*` stands for a whole segment (`/recipes/*`).",
    )
    type: str = Field(default="article", pattern=r"^[a-z0-9][a-z0-9_-]{0,49}$")
    topics: list[str] = Field(default_factory=list, max_length=20)
    keywords: list[str] = Field(default_factory=list, max_length=50)
    segments: list[str] = Field(
        default_factory=list,
        max_length=50,
        description="Whom it is for: segment ids or questionnaire segment keys; empty: everyone.",
    )
    locale: str | None = Field(default=None, pattern=LOCALE, max_length=35)
    published_at: AwareDatetime = Field(alias="publishedAt")
    updated_at: AwareDatetime | None = Field(default=None, alias="updatedAt")
    summary: str | None = Field(default=None, max_length=1000)
    image: str | None = Field(default=None, max_length=MAX_URL_CHARS)

    @field_validator("id", "title", mode="before")
    @classmethod
    def _stripped(cls, value: Any) -> Any:
        return value.strip() if isinstance(value, str) else value

    @field_validator("type", mode="before")
    @classmethod
    def _lower_type(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("url", "image")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        return _absolute_http_url(value)

    @field_validator("path")
    @classmethod
    def _site_path(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        if not value.startswith("/") or value.startswith("//"):
            raise ValueError("expected a site path starting with / (an absolute URL goes in url)")
        if any(c in value for c in "?#") or any(c.isspace() for c in value):
            raise ValueError("a path has no query string, fragment or spaces")
        if any(WILDCARD in s and s != WILDCARD for s in value.split("/")):
            raise ValueError("* stands for a whole segment (/recipes/*), not part of one")
        return value

    @field_validator("topics", mode="before")
    @classmethod
    def _lower_topics(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [t.strip().lower() if isinstance(t, str) else t for t in value]
        return value

    @field_validator("topics")
    @classmethod
    def _topic_slugs(cls, value: list[str]) -> list[str]:
        return _unique(value, TOPIC, "topic (a lower-case slug: letters, digits, - and _)")

    @field_validator("segments")
    @classmethod
    def _audiences(cls, value: list[str]) -> list[str]:
        return _unique([s.strip() for s in value], AUDIENCE, "segment id or key")

    @field_validator("keywords")
    @classmethod
    def _keywords(cls, value: list[str]) -> list[str]:
        kept = [k.strip() for k in value if k.strip()]
        if any(len(k) > 100 for k in kept):
            raise ValueError("a keyword is at most 100 characters")
        return list(dict.fromkeys(kept))

    @field_validator("published_at", "updated_at")
    @classmethod
    def _utc(cls, value: dt.datetime | None) -> dt.datetime | None:
        return value.astimezone(dt.UTC) if value is not None else None

    @model_validator(mode="after")
    def _somewhere(self) -> ContentItem:
        if self.url is None and self.path is None:  # named at `path`, in a request and in an import row alike
            refuse("ContentItem", [Fault(("path",), "a url or a path is required (where the item lives)")])
        return self

    @field_serializer("published_at", "updated_at")
    def _iso(self, value: dt.datetime | None) -> str | None:
        return iso(value) if value is not None else None

    def as_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


def _unique(values: list[str], pattern: str, what: str) -> list[str]:
    for value in values:
        if not re.match(pattern, value):
            raise ValueError(f"{value!r} is not a valid {what}")
    return list(dict.fromkeys(values))


# ---------------------------------------------------------------------------------------------------------------
# Matching


def path_segments(raw: str) -> tuple[str, ...]:
    """A URL's or a path's segments, normalised for matching (host, query, fragment dropped; decoded; lower-case)."""
    text = raw.strip()
    text = urlsplit(text).path if "://" in text or text.startswith("//") else text.partition("#")[0].partition("?")[0]
    if "%" in text:
        text = unquote(text)
    return tuple(s for s in text.lower().split("/") if s)


@dataclass(frozen=True)
class _Pattern:
    segments: tuple[str, ...]
    item: ContentItem

    @property
    def rank(self) -> tuple[int, int, str]:
        literals = sum(1 for s in self.segments if s != WILDCARD)
        return (-literals, -len(self.segments), self.item.id)

    def covers(self, path: tuple[str, ...]) -> bool:
        pattern = self.segments
        if len(path) != len(pattern) and not (pattern[-1] == WILDCARD and len(path) > len(pattern)):
            return False
        return all(p in (WILDCARD, s) for p, s in zip(pattern, path, strict=False))


class CatalogueIndex:
    """The catalogue ready for matching page views: by id, by exact path (a dict), by pattern (grouped by their
    first segment, most specific first)."""

    def __init__(self, items: Iterable[ContentItem]) -> None:
        by_id: dict[str, ContentItem] = {}
        for item in items:
            by_id[item.id] = item  # a repeated id: the last one wins, as in a bulk import
        self._by_id = by_id
        self._exact: dict[tuple[str, ...], ContentItem] = {}
        self._patterns: dict[str, list[_Pattern]] = {}
        for item in sorted(by_id.values(), key=lambda i: i.id):
            places = [path_segments(item.path)] if item.path is not None else []
            if item.url is not None:
                places.append(path_segments(item.url))
            for segments in places:
                if WILDCARD in segments:
                    self._patterns.setdefault(segments[0], []).append(_Pattern(segments, item))
                else:
                    self._exact.setdefault(segments, item)
        for group in self._patterns.values():
            group.sort(key=lambda p: p.rank)

    def __len__(self) -> int:
        return len(self._by_id)

    def __iter__(self) -> Iterator[ContentItem]:
        return iter(self._by_id.values())

    def get(self, item_id: str) -> ContentItem | None:
        return self._by_id.get(item_id)

    def match(
        self, url: str | None = None, path: str | None = None, content_id: str | None = None
    ) -> ContentItem | None:
        """The item a page view is about: its contentId, else its path (or its url's), exactly, else by pattern."""
        if content_id is not None and (item := self._by_id.get(content_id)) is not None:
            return item
        places = [path_segments(p) for p in (path, url) if p]
        for segments in places:
            if (item := self._exact.get(segments)) is not None:
                return item
        for segments in places:
            if (item := self._by_pattern(segments)) is not None:
                return item
        return None

    def match_properties(self, properties: Mapping[str, Any]) -> ContentItem | None:
        """The item an event's properties name (`contentId`, `path`, `url`, as in Segment's `page` spec)."""

        def text(key: str) -> str | None:
            value = properties.get(key)
            return value if isinstance(value, str) and value else None

        return self.match(url=text("url"), path=text("path"), content_id=text("contentId"))

    def _by_pattern(self, segments: tuple[str, ...]) -> ContentItem | None:
        if not segments:
            return None
        best: _Pattern | None = None
        for group in (self._patterns.get(segments[0], ()), self._patterns.get(WILDCARD, ())):
            found = next((p for p in group if p.covers(segments)), None)
            if found is not None and (best is None or found.rank < best.rank):
                best = found
        return best.item if best is not None else None


# ---------------------------------------------------------------------------------------------------------------
# Bulk import

CSV_COLUMNS = (
    "id",
    "title",
    "url",
    "path",
    "type",
    "topics",
    "keywords",
    "segments",
    "locale",
    "publishedAt",
    "updatedAt",
    "summary",
    "image",
)
LIST_COLUMNS = frozenset({"topics", "keywords", "segments"})


@dataclass(frozen=True)
class RowFault:
    """Why (part of) one row was not imported: its number, the field at fault (None: the whole row), the reason."""

    row: int
    field: str | None
    message: str

    def to_json(self) -> dict[str, Any]:
        return {"row": self.row, "field": self.field, "message": self.message}


def parse_rows(lines: Iterable[str], format: Format) -> tuple[list[ContentItem], list[RowFault]]:
    """The valid items of an import file (in file order of the row kept) and the faults of the others."""
    records = _csv_records(lines) if format == "csv" else _jsonl_records(lines)
    kept: dict[str, tuple[int, ContentItem]] = {}
    faults: list[RowFault] = []
    for row, record in records:
        if isinstance(record, RowFault):
            faults.append(record)
            continue
        try:
            item = ContentItem.model_validate(record)
        except ValidationError as error:
            faults.extend(_faults(row, error))
            continue
        if item.id in kept:
            earlier, _ = kept.pop(item.id)
            faults.append(RowFault(earlier, "id", f"superseded by row {row}, which has the same id"))
        kept[item.id] = (row, item)
    faults.sort(key=lambda f: f.row)
    return [item for _, item in kept.values()], faults


def _faults(row: int, error: ValidationError) -> list[RowFault]:
    faults = []
    for detail in error.errors():
        loc = detail["loc"]
        field = str(loc[0]) if loc else None
        message = detail["msg"].removeprefix("Value error, ")
        if len(loc) > 1 and isinstance(loc[1], int):
            message = f"{message} (item {loc[1] + 1})"
        faults.append(RowFault(row, field, message))
    return faults


Record = tuple[int, dict[str, Any] | RowFault]


def _jsonl_records(lines: Iterable[str]) -> Iterator[Record]:
    row = 0
    for line in lines:
        text = line.lstrip("\ufeff").strip()
        if not text:
            continue
        row += 1
        try:
            record = json.loads(text)
        except ValueError as error:
            yield row, RowFault(row, None, f"not valid JSON: {error}")
            continue
        if not isinstance(record, dict):
            yield row, RowFault(row, None, "a JSON line must be an object")
            continue
        yield row, record


def _csv_records(lines: Iterable[str]) -> Iterator[Record]:
    reader = csv.reader(_without_bom(lines))
    header = next(reader, None)
    if header is None:
        return
    names = [h.strip() for h in header]
    for name in names:
        if name not in CSV_COLUMNS:
            yield 0, RowFault(0, name or None, f"unknown column, ignored (expected: {', '.join(CSV_COLUMNS)})")
    row = 0
    for cells in reader:
        if not any(c.strip() for c in cells):
            continue
        row += 1
        if len(cells) > len(names):
            yield row, RowFault(row, None, f"the row has {len(cells)} cells, the header {len(names)}")
            continue
        record: dict[str, Any] = {}
        for name, cell in zip(names, cells, strict=False):
            value = cell.strip()
            if name not in CSV_COLUMNS or not value:
                continue
            record[name] = (
                [v.strip() for v in value.split(LIST_SEPARATOR) if v.strip()] if name in LIST_COLUMNS else value
            )
        yield row, record


def _without_bom(lines: Iterable[str]) -> Iterator[str]:
    first = True
    for line in lines:
        yield line.lstrip("\ufeff") if first else line
        first = False
