"""Contact import rows: parse CSV or JSON lines, and validate each row into a contact or a rejection. Pure."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from services.common.clock import iso, parse_iso
from services.identity.domain.consent import as_bool, purpose_of
from services.identity.domain.profiles import looks_like_email, normalise_email
from services.identity.domain.stamps import is_empty

# A row names a person by `email` (required: the import is idempotent by email) and may carry `userId`, traits,
# consent per purpose, questionnaire answers and `updatedAt` (when the values were true; default: the import time).
#
# - CSV: a header row; columns `email`, `userId`, `updatedAt`, `consent.<purpose>`, `answers.<question>`,
#   `questionnaireId`, and any other column (optionally `traits.<name>`) is a trait. Empty cells are ignored.
# - JSON lines: one object per line with the same flat keys, or nested `traits`, `consent`, `answers` objects.
#
# Row numbers count records from 1 (CSV: the first data row after the header).

Format = Literal["csv", "jsonl"]
MAX_FIELDS = 100
MAX_VALUE_CHARS = 2000
MAX_ID_CHARS = 200
SHOWN_VALUE_CHARS = 80  # a rejected row's values are echoed in the report, shortened


@dataclass(frozen=True)
class RawRow:
    row: int
    record: dict[str, Any] | None = None
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return (
            {"row": self.row, "record": self.record} if self.error is None else {"row": self.row, "error": self.error}
        )

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> RawRow:
        return cls(int(raw["row"]), raw.get("record"), raw.get("error"))


@dataclass(frozen=True)
class Contact:
    row: int
    email: str  # lower-cased: the identity
    email_as_given: str
    user_id: str | None = None
    traits: dict[str, Any] = field(default_factory=dict)
    consent: dict[str, bool] = field(default_factory=dict)
    at: str | None = None


@dataclass(frozen=True)
class Rejection:
    row: int
    reasons: tuple[str, ...]
    values: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"row": self.row, "reasons": list(self.reasons), "values": self.values}


def format_of(content_type: str | None, explicit: str | None = None) -> Format | None:
    """`?format=` wins; else the content type (text/csv; application/x-ndjson, application/jsonl, ...)."""
    if explicit:
        name = explicit.strip().lower()
        return "csv" if name == "csv" else "jsonl" if name in ("jsonl", "ndjson", "json-lines", "jsonlines") else None
    kind = (content_type or "").split(";", 1)[0].strip().lower()
    if kind in ("text/csv", "application/csv"):
        return "csv"
    if kind in ("application/x-ndjson", "application/ndjson", "application/jsonl", "application/x-jsonlines"):
        return "jsonl"
    return None


def parse(text: str, fmt: Format, first_row: int = 1) -> list[RawRow]:
    return parse_csv(text, first_row) if fmt == "csv" else parse_jsonl(text, first_row)


def parse_csv(text: str, first_row: int = 1) -> list[RawRow]:
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")), restkey="\x00extra")
    rows: list[RawRow] = []
    for index, record in enumerate(reader):
        row = first_row + index
        if "\x00extra" in record:
            rows.append(RawRow(row, error="the row has more cells than the header"))
            continue
        rows.append(RawRow(row, {k.strip(): v for k, v in record.items() if k and v not in (None, "")}))
    return rows


def parse_jsonl(text: str, first_row: int = 1) -> list[RawRow]:
    rows: list[RawRow] = []
    for line in text.lstrip("\ufeff").splitlines():
        if not line.strip():
            continue
        row = first_row + len(rows)
        try:
            record = json.loads(line)
        except ValueError as error:
            rows.append(RawRow(row, error=f"not valid JSON: {error}"))
            continue
        if not isinstance(record, dict):
            rows.append(RawRow(row, error="a JSON line must be an object"))
            continue
        rows.append(RawRow(row, record))
    return rows


def validate(raw: RawRow) -> Contact | Rejection:
    """A contact ready to import, or the reasons the row cannot be imported."""
    if raw.error is not None or raw.record is None:
        return Rejection(raw.row, (raw.error or "empty row",))
    record = raw.record
    reasons: list[str] = []
    traits: dict[str, Any] = {}
    consent: dict[str, bool] = {}
    answers: dict[str, Any] = {}
    email = user_id = at = None

    def nested(name: str) -> Mapping[str, Any]:
        value = record.get(name)
        if value is None:
            return {}
        if not isinstance(value, dict):
            reasons.append(f"{name}: expected an object")
            return {}
        return value

    flat: list[tuple[str, Any]] = [(k, v) for k, v in record.items() if k not in ("traits", "consent", "answers")]
    flat += [(f"traits.{k}", v) for k, v in nested("traits").items()]
    flat += [(f"consent.{k}", v) for k, v in nested("consent").items()]
    flat += [(f"answers.{k}", v) for k, v in nested("answers").items()]
    if len(flat) > MAX_FIELDS:
        reasons.append(f"more than {MAX_FIELDS} fields")
    for key, value in flat:
        if is_empty(value):
            continue
        name = key.strip()
        lowered = name.lower()
        if len(json.dumps(value, default=str)) > MAX_VALUE_CHARS:
            reasons.append(f"{name}: longer than {MAX_VALUE_CHARS} characters")
        elif lowered == "email":
            email = value
        elif lowered in ("userid", "user_id"):
            user_id = value
        elif lowered in ("updatedat", "updated_at"):
            at = value
        elif lowered.startswith("consent."):
            purpose, granted = purpose_of(name.partition(".")[2]), as_bool(value)
            if purpose is None:
                reasons.append(f"{name}: unknown consent purpose (tracking, email_marketing, personalisation)")
            elif granted is None:
                reasons.append(f"{name}: expected yes or no (true/false, 1/0, granted/denied)")
            else:
                consent[purpose] = granted
        elif lowered.startswith(("answers.", "answer.")):
            answer = _answer(value)
            if answer is None:
                reasons.append(f"{name}: expected a number or a short text")
            else:
                answers[name.partition(".")[2]] = answer
        else:
            traits[name.removeprefix("traits.")] = value
    if email is None:
        reasons.append("email: missing (the import matches contacts by email)")
    elif not looks_like_email(email):
        reasons.append("email: not a valid address")
    if user_id is not None and (not isinstance(user_id, str | int) or isinstance(user_id, bool)):
        reasons.append("userId: expected text")
    elif user_id is not None and len(str(user_id)) > MAX_ID_CHARS:
        reasons.append(f"userId: longer than {MAX_ID_CHARS} characters")
    stamp = None
    if at is not None:
        try:
            stamp = iso(parse_iso(str(at)))
        except ValueError:
            reasons.append("updatedAt: not an ISO-8601 timestamp")
    if reasons:
        return Rejection(raw.row, tuple(reasons), _shown(record))
    assert isinstance(email, str)
    if answers:
        traits["answers"] = answers
    return Contact(
        row=raw.row,
        email=normalise_email(email),
        email_as_given=email.strip(),
        user_id=str(user_id) if user_id is not None else None,
        traits={"email": email.strip(), **traits},
        consent=consent,
        at=stamp,
    )


def _answer(value: Any) -> Any:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value
    if isinstance(value, str) and len(value) <= 200:
        text = value.strip()
        try:
            number = float(text)
        except ValueError:
            return text
        return int(number) if number.is_integer() else number
    return None


def _shown(record: Mapping[str, Any]) -> dict[str, Any]:
    shown: dict[str, Any] = {}
    for key, value in list(record.items())[:20]:
        text = value if isinstance(value, str) else json.dumps(value, default=str)
        shown[str(key)[:SHOWN_VALUE_CHARS]] = text if len(text) <= SHOWN_VALUE_CHARS else text[:SHOWN_VALUE_CHARS] + "…"
    return shown
