"""Coupon pools: a pool's definition, codes generated from a pattern, imported codes checked and de-duplicated. Pure."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

POOL_ID = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
# No 0/O, 1/I/L: a code read aloud or typed from a printed voucher is not misread.
ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
# Codes a call may generate or import: every code is checked against the pool and written (two items) within the
# request, so a call must stay well inside the API's 10 s function timeout (5,000: about 8 s on the local cloud).
# A bigger pool is filled by further calls; each adds to it.
MAX_GENERATE = 5_000
MAX_IMPORT = 5_000
MAX_CODE_LENGTH = 64
# A pattern's random part must be at least this many times larger than the codes drawn from it, so that guessing a
# code is hopeless (under 1 in 1,000 per guess) and drawing distinct codes needs few redraws.
MIN_SPACE_FACTOR = 1_000
_GROUP = re.compile(r"\{(X+)\}")
_LITERAL = re.compile(r"^[A-Za-z0-9_-]*$")
_CODE = re.compile(r"^[!-~]{1,64}$")  # printable ASCII, no spaces (MAX_CODE_LENGTH)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Generation(_Model):
    """`{"pattern": "SPRING-{XXXXXX}", "count": 500}`: each `X` in braces is drawn from `ALPHABET`."""

    pattern: str = Field(min_length=3, max_length=MAX_CODE_LENGTH + 2)
    count: int = Field(ge=1, le=MAX_GENERATE)

    @field_validator("pattern")
    @classmethod
    def _pattern(cls, value: str) -> str:
        if not _GROUP.search(value):
            raise ValueError("a pattern has at least one {X…} group, e.g. SPRING-{XXXXXX}")
        if not _LITERAL.match(_GROUP.sub("", value)):
            raise ValueError("outside {X…} groups a pattern has only letters, digits, - and _")
        if len(expand_length(value)) > MAX_CODE_LENGTH:
            raise ValueError(f"a code has at most {MAX_CODE_LENGTH} characters")
        return value

    @field_validator("count")
    @classmethod
    def _enough_space(cls, value: int, info: Any) -> int:
        pattern = info.data.get("pattern")
        if pattern and len(ALPHABET) ** random_length(pattern) < value * MIN_SPACE_FACTOR:
            raise ValueError(
                f"the pattern's {{X…}} groups are too short for {value} unguessable codes: add X's "
                f"(the random part must allow {MIN_SPACE_FACTOR}× more codes than are drawn)"
            )
        return value


class PoolDefinition(_Model):
    """What an admin sets on a pool (`PUT /v1/coupons/pools/{poolId}`)."""

    name: str = Field(min_length=1, max_length=200)
    low_watermark: int = Field(default=50, alias="lowWatermark", ge=0, le=10_000_000)
    generate: Generation | None = None


def expand_length(pattern: str) -> str:
    """The pattern with its groups replaced by as many X's (only its length matters)."""
    return _GROUP.sub(lambda m: m.group(1), pattern)


def random_length(pattern: str) -> int:
    return sum(len(m.group(1)) for m in _GROUP.finditer(pattern))


def draw(pattern: str, choose: Any = secrets.choice) -> str:
    """One code of the pattern, its X's drawn with `secrets` (unguessable)."""
    return _GROUP.sub(lambda m: "".join(choose(ALPHABET) for _ in m.group(1)), pattern)


def generate(pattern: str, count: int, avoid: Iterable[str] = (), choose: Any = secrets.choice) -> list[str]:
    """`count` distinct codes of the pattern, none of them in `avoid`."""
    taken = set(avoid)
    out: list[str] = []
    while len(out) < count:
        code = draw(pattern, choose)
        if code not in taken:
            taken.add(code)
            out.append(code)
    return out


@dataclass(frozen=True)
class ImportBatch:
    """Codes of one import, in order: the valid ones (first occurrence), repeats within the batch, refusals."""

    valid: list[str]
    repeated: list[str]
    invalid: list[dict[str, Any]]


def check_codes(codes: Iterable[Any]) -> ImportBatch:
    """Each code trimmed; blank lines dropped; a code is 1–64 printable ASCII characters without spaces."""
    seen: set[str] = set()
    valid: list[str] = []
    repeated: list[str] = []
    invalid: list[dict[str, Any]] = []
    for index, raw in enumerate(codes):
        code = raw.strip() if isinstance(raw, str) else raw
        if code == "":
            continue
        if not isinstance(code, str) or not _CODE.match(code):
            invalid.append({"index": index, "code": raw if isinstance(raw, str) else str(raw), "reason": _why(code)})
        elif code in seen:
            repeated.append(code)
        else:
            seen.add(code)
            valid.append(code)
    return ImportBatch(valid, repeated, invalid)


def _why(code: Any) -> str:
    if not isinstance(code, str):
        return "not a string"
    if len(code) > MAX_CODE_LENGTH:
        return f"longer than {MAX_CODE_LENGTH} characters"
    return "only printable ASCII characters without spaces"


def parse_lines(text: str) -> list[str]:
    """A text/plain import: one code a line (CR LF or LF)."""
    return text.splitlines()


@dataclass(frozen=True)
class PoolStatus:
    """What is left of a pool. `remaining` counts codes not yet handed out; a code lost to a race between two
    tries of one claim is neither claimed nor remaining (`wasted`)."""

    total: int
    claimed: int
    allocated: int
    low_watermark: int

    @property
    def remaining(self) -> int:
        return max(self.total - self.allocated, 0)

    @property
    def wasted(self) -> int:
        return max(self.allocated - self.claimed, 0)

    @property
    def low(self) -> bool:
        return self.remaining < self.low_watermark


def status(pool: dict[str, Any]) -> PoolStatus:
    return PoolStatus(
        int(pool.get("total", 0)),
        int(pool.get("claimed", 0)),
        int(pool.get("next", 0)),
        int(pool.get("lowWatermark", 50)),
    )


def view(pool: dict[str, Any]) -> dict[str, Any]:
    """A pool as the API shows it."""
    now = status(pool)
    return {
        "poolId": pool["poolId"],
        "name": pool.get("name", ""),
        "lowWatermark": now.low_watermark,
        "total": now.total,
        "claimed": now.claimed,
        "remaining": now.remaining,
        "wasted": now.wasted,
        "low": now.low,
        "createdAt": pool.get("createdAt"),
        "updatedAt": pool.get("updatedAt"),
    }


class PoolNotFound(LookupError):
    def __init__(self, pool_id: str) -> None:
        super().__init__(f"No coupon pool {pool_id}.")
        self.pool_id = pool_id


class PoolBusy(RuntimeError):
    """Another import into this pool is under way (codes are appended one import at a time)."""

    def __init__(self, pool_id: str) -> None:
        super().__init__(f"Codes are being added to pool {pool_id} by another call; try again in a minute.")
        self.pool_id = pool_id
