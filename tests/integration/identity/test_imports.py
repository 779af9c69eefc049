"""Contact imports on the local cloud: a file in one request, a bigger one through `cxm import` (parts, a job, a
progress bar), idempotent by email, with a report of rejected rows."""

from __future__ import annotations

import contextlib
import io
import time
from pathlib import Path
from typing import Any

import boto3
import pytest

from infra import cli
from services.common.bus import RecordingPublisher
from services.identity.adapters.dynamodb import DynamoImports, DynamoProfiles
from services.identity.use_cases.imports import add_part, create_import, import_status, process_chunk, start_import
from tests.conftest import Api

PROBLEM = "application/problem+json"


def wait_until_done(api: Api, import_id: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = api.admin("GET", f"/v1/imports/{import_id}")
        assert status.status == 200, status.body
        if status.body["status"] == "completed":
            return dict(status.body)
        time.sleep(0.05)
    raise TimeoutError(f"import {import_id} did not complete")


def test_a_small_file_in_one_request_is_imported_with_a_report_of_rejected_rows(cloud: Any, api: Api) -> None:
    text = (
        "email,firstName,consent.email_marketing,answers.q1\n"
        "one-ana@example.com,Ana,yes,5\n"
        "not-an-address,Bo,yes,\n"
        "one-cy@example.com,Cy,perhaps,\n"
    )
    reply = api.request(
        "POST", "/v1/imports?name=crm.csv", raw=text.encode(), key=api.admin_key, scheme="bearer",
        headers={"content-type": "text/csv"},
    )  # fmt: skip
    assert reply.status == 202, reply.body
    assert reply.body["rows"] == 3
    status = wait_until_done(api, reply.body["importId"])
    assert (status["created"], status["rejected"], status["name"]) == (1, 2, "crm.csv")
    assert [(r["row"], r["reasons"]) for r in status["rejectedRows"]] == [
        (2, ["email: not a valid address"]),
        (3, ["consent.email_marketing: expected yes or no (true/false, 1/0, granted/denied)"]),
    ]
    ana = api.admin("GET", "/v1/profiles?email=one-ana@example.com").body
    assert ana["traits"] == {"email": "one-ana@example.com", "firstName": "Ana", "answers": {"q1": 5}}
    assert ana["consent"]["email_marketing"]["granted"] is True


def contacts_file(path: Path, rows: int, prefix: str, bad_every: int = 500) -> Path:
    lines = ["email,firstName,city,consent.email_marketing,answers.q1,answers.q2"]
    for i in range(rows):
        email = f"{prefix}-{i}@example.com" if i % bad_every != 7 else f"{prefix}-{i}-at-example.com"
        lines.append(f"{email},Name {i},City {i % 10},{'yes' if i % 2 else 'no'},{1 + i % 7},{1 + (i * 3) % 7}")
    path.write_text("\n".join(lines) + "\n")
    return path


def test_cxm_import_uploads_in_parts_follows_the_job_and_a_second_run_changes_nothing(
    cloud: Any, api: Api, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CXM_URL", api.base_url)
    monkeypatch.setenv("CXM_ADMIN_KEY", api.admin_key)
    source = contacts_file(tmp_path / "contacts.csv", 200, "cli", bad_every=100)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        assert cli.main(["import", str(source), "--part-bytes", "4000", "--poll", "0.05"]) == 0
    assert "200 rows, 198 created, 0 updated, 0 unchanged, 2 rejected" in out.getvalue()
    assert "row 8: email: not a valid address" in out.getvalue()
    assert "row 108: email: not a valid address" in out.getvalue()
    assert "importing  [##############################] 100% 200/200 rows" in err.getvalue()
    assert "uploading  [##############################] 100%" in err.getvalue()
    profile = api.admin("GET", "/v1/profiles?email=cli-199@example.com").body
    assert profile["traits"]["answers"] == {"q1": 4, "q2": 3}
    assert profile["consent"]["email_marketing"]["granted"] is True

    again = io.StringIO()
    with contextlib.redirect_stdout(again), contextlib.redirect_stderr(io.StringIO()):
        assert cli.main(["import", str(source), "--part-bytes", "4000", "--poll", "0.05"]) == 0
    assert "0 created, 0 updated, 198 unchanged, 2 rejected" in again.getvalue()


def test_the_import_job_takes_a_few_thousand_rows_in_chunks_on_dynamodb(cloud: Any, tmp_path: Path) -> None:
    """The job's unit of work on the real adapters (moto), without the platform's consumers of what it publishes
    (segments evaluating every new profile would dominate the time)."""
    dynamodb = boto3.resource("dynamodb", region_name=cloud.region)
    imports = DynamoImports(dynamodb.Table(cloud.table_name("identity", "imports")))
    store = DynamoProfiles(
        dynamodb.Table(cloud.table_name("identity", "profiles")),
        dynamodb.Table(cloud.table_name("identity", "timeline")),
    )
    text = contacts_file(tmp_path / "bulk.csv", 2000, "bulk").read_text()
    bus = RecordingPublisher()
    job = create_import(imports, "csv", "bulk.csv")
    header, *rows = text.splitlines()
    for part, start in ((1, 0), (2, 1200)):  # two uploaded parts, each starting with the header
        chunk = rows[start : start + 1200] if part == 1 else rows[start:]
        add_part(imports, job["importId"], part, "\n".join([header, *chunk]), first_row=start + 1)
    add_part(imports, job["importId"], 2, "\n".join([header, *rows[1200:]]), first_row=1201)  # a retried upload
    start_import(imports, bus, job["importId"])
    start_import(imports, bus, job["importId"])  # a second start queues nothing more
    queued = [e.data for e in bus.published if e.detail_type == "ContactsImportChunkQueued"]
    assert len(queued) == 5  # chunks of at most 500 rows: 500, 500, 200 | 500, 300
    for chunk in queued:
        process_chunk(imports, store, bus, chunk.import_id, chunk.chunk)
    process_chunk(imports, store, bus, queued[0].import_id, queued[0].chunk)  # a redelivered chunk counts once

    status = import_status(imports, job["importId"], limit=10)
    assert (status["status"], status["rows"], status["processed"]) == ("completed", 2000, 2000)
    assert (status["created"], status["rejected"]) == (1996, 4)
    assert [r["row"] for r in status["rejectedRows"]] == [8, 508, 1008, 1508]
    created = [e.data.profile_id for e in bus.published if e.detail_type == "ProfileCreated"]
    assert len(set(created)) == 1996
    assert store.pointers([("email", "bulk-1999@example.com")]) != {}


def test_import_refusals(api: Api) -> None:
    no_format = api.request("POST", "/v1/imports", raw=b"email\na@b.co\n", key=api.admin_key, scheme="bearer",
                            headers={"content-type": "application/octet-stream"})  # fmt: skip
    assert (no_format.status, no_format.content_type, no_format.body["errors"][0]["field"]) == (400, PROBLEM, "format")
    assert api.admin("GET", "/v1/imports/nope").status == 404
    job = api.admin("POST", "/v1/imports", {"format": "jsonl"})
    assert job.status == 201, job.body
    import_id = job.body["importId"]
    assert api.admin("POST", f"/v1/imports/{import_id}/start").status == 202
    late = api.request("PUT", f"/v1/imports/{import_id}/parts/1", raw=b'{"email": "a@b.co"}\n', key=api.admin_key,
                       scheme="bearer", headers={"content-type": "application/x-ndjson"})  # fmt: skip
    assert (late.status, late.body["errors"][0]["field"]) == (409, "importId")
    bad_part = api.admin("PUT", f"/v1/imports/{import_id}/parts/zero", {})
    assert (bad_part.status, bad_part.body["errors"][0]["field"]) == (400, "part")
    with_write_key = api.request("POST", "/v1/imports", {"format": "csv"}, key=api.write_key)
    assert with_write_key.status == 403
