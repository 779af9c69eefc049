"""The product registry's pure rules: serial normalisation, the email digest an owner is stored under, rows of a
bulk import, registration traits and the fixed rate-limit windows of the public registration endpoint."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

SERIAL_PATTERN = re.compile(r"^[A-Z0-9]{6,24}$")
# What a person types around a serial printed as "ab12-cd34 ef": case, spaces and dashes carry no meaning.
_SEPARATORS = re.compile(r"[\s\-]+")
MAX_FIELD = 100

# Attempts per fixed window: a visitor (anonymousId, else the email) and a client IP (a shop behind one NAT has
# many visitors, so the IP allows more). Checked before any serial is looked up, so serials cannot be enumerated.
RATE_WINDOW_SECONDS = 600
VISITOR_ATTEMPTS = 10
IP_ATTEMPTS = 30

# Registration answers become profile traits with these prefixes (a flat namespace, no nested objects).
PREFERENCE_PREFIX = "preference_"
DEMOGRAPHIC_PREFIX = "demographic_"


class SerialMalformed(ValueError):
    def __init__(self, serial: str) -> None:
        super().__init__(f"{serial!r} is not a serial number: 6 to 24 letters and digits (spaces and dashes ignored).")


class SerialUnknown(LookupError):
    def __init__(self) -> None:
        super().__init__("No product has this serial number.")


class SerialTaken(ValueError):
    def __init__(self) -> None:
        super().__init__("This serial number is registered to someone else.")


class RateLimited(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"Too many registration attempts; try again in {retry_after} seconds.")
        self.retry_after = retry_after


def normalise_serial(raw: str) -> str:
    """The canonical serial (upper-case, spaces and dashes removed); raises SerialMalformed."""
    serial = _SEPARATORS.sub("", raw or "").upper()
    if not SERIAL_PATTERN.match(serial):
        raise SerialMalformed(raw)
    return serial


def email_digest(email: str) -> str:
    """How the registry names an owner: a digest of the lower-cased email, never the email itself."""
    return identity_digest("email", email.strip().lower())


def identity_digest(kind: str, value: str) -> str:
    """A client identity (`email`, `anon`, `user`, `profile` — identity's kinds) as a digest: what fraud checks
    compare and friend markers are keyed by."""
    return hashlib.sha256(f"cxm-programmes:{kind}:{value}".encode()).hexdigest()


@dataclass(frozen=True)
class RateWindow:
    start: int  # epoch seconds
    retry_after: int  # seconds until the next window


def rate_window(now: dt.datetime, seconds: int = RATE_WINDOW_SECONDS) -> RateWindow:
    """The fixed window `now` falls in; the counter of a window lives in the table until its TTL."""
    epoch = int(now.timestamp())
    start = epoch - epoch % seconds
    return RateWindow(start, max(1, start + seconds - epoch))


# ---- bulk import ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Product:
    serial: str
    model: str
    category: str

    def as_json(self) -> dict[str, str]:
        return {"serial": self.serial, "model": self.model, "category": self.category}


@dataclass(frozen=True)
class RowFault:
    row: int  # 1-based data row (the CSV header is not counted)
    field: str
    message: str

    def as_json(self) -> dict[str, Any]:
        return {"row": self.row, "field": self.field, "message": self.message}


def product(serial: Any, model: Any, category: Any) -> tuple[Product | None, list[tuple[str, str]]]:
    """A registry row, or what is wrong with it (field, message)."""
    faults: list[tuple[str, str]] = []
    canonical = ""
    try:
        canonical = normalise_serial(serial if isinstance(serial, str) else "")
    except SerialMalformed as error:
        faults.append(("serial", str(error)))
    for name, value in (("model", model), ("category", category)):
        if not isinstance(value, str) or not value.strip() or len(value.strip()) > MAX_FIELD:
            faults.append((name, f"1 to {MAX_FIELD} characters"))
    if faults:
        return None, faults
    return Product(canonical, str(model).strip(), str(category).strip()), []


def parse_import(lines: Iterable[str], kind: Literal["csv", "jsonl"]) -> tuple[list[Product], list[RowFault]]:
    """Rows of a CSV (`serial,model,category` header) or JSON lines file; valid rows kept, each bad one reported."""
    products: list[Product] = []
    faults: list[RowFault] = []
    rows: Iterable[tuple[int, Any]]
    if kind == "csv":
        reader = csv.DictReader(io.StringIO("\n".join(lines)))
        missing = {"serial", "model", "category"} - set(reader.fieldnames or ())
        if missing:
            return [], [RowFault(0, sorted(missing)[0], "the header names serial, model and category")]
        rows = enumerate(reader, start=1)
    else:
        rows = enumerate((line for line in lines if line.strip()), start=1)
    for number, raw in rows:
        row = raw
        if kind == "jsonl":
            try:
                row = json.loads(raw)
            except ValueError:
                faults.append(RowFault(number, "row", "not a JSON object"))
                continue
        if not isinstance(row, Mapping):
            faults.append(RowFault(number, "row", "not a JSON object"))
            continue
        found, problems = product(row.get("serial"), row.get("model"), row.get("category"))
        if found is None:
            faults.extend(RowFault(number, name, message) for name, message in problems)
        else:
            products.append(found)
    return products, faults


# ---- registration traits ----------------------------------------------------------------------------------------


def registration_traits(
    email: str,
    names: Mapping[str, str | None],
    preferences: Mapping[str, Any],
    demographics: Mapping[str, Any],
) -> dict[str, Any]:
    """The identify traits of a registration: contact fields as given, answers flattened under their prefixes."""
    traits: dict[str, Any] = {"email": email.strip()}
    traits.update({name: value for name, value in names.items() if value})
    traits.update({f"{PREFERENCE_PREFIX}{key}": value for key, value in preferences.items()})
    traits.update({f"{DEMOGRAPHIC_PREFIX}{key}": value for key, value in demographics.items()})
    return traits
