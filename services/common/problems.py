"""Domain errors and their one mapping to HTTP: every refusal is `application/problem+json` naming the field."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from services.common.patterns import described

PROBLEM_JSON = "application/problem+json"


@dataclass
class FieldError:
    field: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


@dataclass
class Problem(Exception):
    """A refusal the caller can act on. Raised by the core or the shell; rendered once, by the API layer."""

    status: int
    title: str
    detail: str = ""
    errors: list[FieldError] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": f"https://cxm.dev/problems/{self.status}",
            "title": self.title,
            "status": self.status,
        }
        if self.detail:
            out["detail"] = self.detail
        if self.errors:
            out["errors"] = [e.as_dict() for e in self.errors]
        out.update(self.extra)
        return out

    def __str__(self) -> str:
        return f"{self.status} {self.title}: {self.detail}"


def bad_request(detail: str, errors: Sequence[FieldError] = ()) -> Problem:
    return Problem(400, "Bad Request", detail, list(errors))


def unauthorized(detail: str) -> Problem:
    return Problem(401, "Unauthorized", detail, [FieldError("authorization", detail)])


def forbidden(detail: str) -> Problem:
    return Problem(403, "Forbidden", detail, [FieldError("authorization", detail)])


def not_found(detail: str, field_name: str = "path") -> Problem:
    return Problem(404, "Not Found", detail, [FieldError(field_name, detail)])


def too_large(detail: str, field_name: str = "body") -> Problem:
    return Problem(413, "Payload Too Large", detail, [FieldError(field_name, detail)])


def conflict(detail: str, field_name: str) -> Problem:
    return Problem(409, "Conflict", detail, [FieldError(field_name, detail)])


def field_path(loc: Sequence[Any]) -> str:
    """('body', 'batch', 3, 'type') → 'batch[3].type'; the location prefix (body/query/path) is dropped."""
    parts = list(loc)
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        parts = parts[1:]
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "body"


def from_pydantic(errors: Sequence[Any], prefix: str = "") -> list[FieldError]:
    result = []
    for err in errors:
        path = field_path(err.get("loc", ()))
        if prefix:
            path = prefix if path == "body" else f"{prefix}{'' if path.startswith('[') else '.'}{path}"
        result.append(FieldError(path, _message(err)))
    return result


def _message(err: Any) -> str:
    """Pydantic's message, but a pattern said in words ("String should match pattern '^[a-z0-9]…'" is regex)."""
    if err.get("type") == "string_pattern_mismatch":
        said = described(str((err.get("ctx") or {}).get("pattern", "")))
        if said:
            return f"must be {said}"
    return str(err.get("msg", "invalid"))


def render(problem: Problem) -> tuple[int, dict[str, str], str]:
    return problem.status, {"Content-Type": PROBLEM_JSON}, json.dumps(problem.body())
