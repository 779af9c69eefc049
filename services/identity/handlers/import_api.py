"""HTTP entry of contact imports: upload CSV or JSON lines (one body, or parts), start the job, follow it."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Query
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from services.common.api import View, body_bytes, http_handler, resolver
from services.common.problems import FieldError, bad_request, from_pydantic
from services.identity import app as deps
from services.identity.domain.import_rows import Format, format_of
from services.identity.handlers import problems
from services.identity.manifest import MANIFEST
from services.identity.use_cases.imports import add_part, create_import, import_status, start_import

# A separate function from the profiles API because it accepts large bodies.
MAX_UPLOAD_BYTES = 4 * 1024 * 1024  # per request; bigger files go in parts (`cxm import` does that)
MAX_PARTS = 10_000

app = resolver("CxM contact imports API")
problems.register(app)


class NewImport(BaseModel):
    """Create a job and upload its file in parts (`PUT /v1/imports/{id}/parts/{n}`), then start it."""

    model_config = ConfigDict(extra="forbid")
    format: Format
    name: str | None = Field(default=None, max_length=200)


class ImportStatus(View):
    importId: str
    status: str = Field(description="uploading, running, done (or failed).")
    format: Any
    name: str
    createdAt: str | None
    startedAt: str | None
    rows: int
    processed: int
    chunks: int
    chunksDone: int
    rejectedRows: list[dict[str, Any]]
    nextRejectedAfter: int | None


class PartAdded(View):
    importId: str
    part: int
    rows: int
    chunks: int
    added: Any


def _text() -> str:
    raw = body_bytes(app.current_event.raw_event)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise bad_request("The file is not UTF-8 text.", [FieldError("body", "not UTF-8 text")]) from None


def _content_type() -> str:
    return (app.current_event.headers or {}).get("content-type", "")


@app.post(
    "/v1/imports",
    summary="Import contacts: send the CSV or JSON-lines file as the body, or JSON {format} to upload in parts",
    tags=["imports"],
    status_code=202,
    responses={
        202: {
            "description": "The file was taken and its import started: follow it at GET /v1/imports/{importId}",
            "content": {"application/json": {"model": ImportStatus}},
        },
        201: {
            "description": "An upload in parts was opened (JSON {format}): send the parts, then start it",
            "content": {"application/json": {"model": ImportStatus}},
        },
    },
)
def post_import(
    format: Annotated[str | None, Query(max_length=20, description="csv or jsonl (else from Content-Type)")] = None,
    name: Annotated[str | None, Query(max_length=200)] = None,
) -> ImportStatus | tuple[ImportStatus, int]:
    content_type = _content_type().split(";", 1)[0].strip().lower()
    if content_type == "application/json" and format is None:
        try:
            body = NewImport.model_validate_json(body_bytes(app.current_event.raw_event) or b"{}")
        except ValidationError as invalid:
            raise bad_request("The request is invalid.", from_pydantic(invalid.errors())) from None
        return ImportStatus.model_validate(create_import(deps.imports(), body.format, body.name)), 201
    fmt = format_of(content_type, format)
    if fmt is None:
        raise bad_request(
            "Say what the file is: Content-Type text/csv or application/x-ndjson, or ?format=csv|jsonl.",
            [FieldError("format", "csv or jsonl")],
        )
    text = _text()
    if not text.strip():
        raise bad_request("The file is empty.", [FieldError("body", "empty")])
    imports = deps.imports()
    job = create_import(imports, fmt, name)
    add_part(imports, job["importId"], 1, text, first_row=1)
    return ImportStatus.model_validate(start_import(imports, deps.publisher(), job["importId"]))


@app.put("/v1/imports/<importId>/parts/<part>", summary="Upload one part of a file (before starting)", tags=["imports"])
def put_part(
    importId: str,
    part: str,
    firstRow: Annotated[int, Query(ge=1, description="The number of this part's first record in the file")] = 1,
) -> PartAdded:
    if not part.isdigit() or not 1 <= int(part) <= MAX_PARTS:
        raise bad_request("Parts are numbered 1, 2, 3, …", [FieldError("part", f"a number from 1 to {MAX_PARTS}")])
    return PartAdded.model_validate(add_part(deps.imports(), importId, int(part), _text(), first_row=firstRow))


@app.post(
    "/v1/imports/<importId>/start",
    summary="Start the import job of an uploaded file",
    tags=["imports"],
    status_code=202,
)
def post_start(importId: str) -> ImportStatus:
    return ImportStatus.model_validate(start_import(deps.imports(), deps.publisher(), importId))


@app.get(
    "/v1/imports/<importId>", summary="An import job: status, counts, rejected rows with reasons", tags=["imports"]
)
def get_import(
    importId: str,
    rejectedAfter: Annotated[int, Query(ge=0, description="Rejected rows after this row number")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> ImportStatus:
    return ImportStatus.model_validate(import_status(deps.imports(), importId, rejectedAfter, limit))


handler = http_handler(app, MANIFEST.name, MANIFEST.function("imports"), max_body_bytes=MAX_UPLOAD_BYTES)
