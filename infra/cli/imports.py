"""`cxm import` (contacts) and `cxm content import` (the catalogue): a file sent in parts, with a progress bar."""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from infra.cli.api import admin_target, call

PART_BYTES = 1024 * 1024  # per upload request (the imports API takes up to 4 MB)


def _format(path: Path, chosen: str | None) -> str:
    if chosen:
        return chosen
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in (".jsonl", ".ndjson"):
        return "jsonl"
    raise SystemExit(f"cannot tell the format of {path.name}: use --format csv or --format jsonl")


def _parts(handle: TextIO, fmt: str, limit: int, max_records: int | None = None) -> Iterator[tuple[int, bytes, int]]:
    """(first record number, body, records) per part of about `limit` bytes (and at most `max_records` records):
    whole records only, numbered as the API numbers them (blank rows skipped); each CSV part repeats the header."""
    full = max_records or sys.maxsize
    first, count, size = 1, 0, 0
    buffer = io.StringIO()
    if fmt == "csv":
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None:
            return
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(header)
        start = buffer.tell()
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            writer.writerow(row)
            count += 1
            if buffer.tell() >= limit or count >= full:
                yield first, buffer.getvalue().encode(), count
                first, count = first + count, 0
                buffer = io.StringIO()
                writer = csv.writer(buffer, lineterminator="\n")
                writer.writerow(header)
        if buffer.tell() > start or count:
            yield first, buffer.getvalue().encode(), count
        return
    for line in handle:
        if not line.strip():
            continue
        buffer.write(line if line.endswith("\n") else line + "\n")
        count += 1
        size += len(line)
        if size >= limit or count >= full:
            yield first, buffer.getvalue().encode(), count
            first, count, size = first + count, 0, 0
            buffer = io.StringIO()
    if count:
        yield first, buffer.getvalue().encode(), count


class Progress:
    """A progress bar on stderr (stdlib only): redrawn in place on a terminal, every 10% otherwise."""

    def __init__(self, label: str, total: int, out: TextIO | None = None) -> None:
        self.label, self.total, self.out = label, max(total, 1), out or sys.stderr
        self.tty = self.out.isatty()
        self.shown = -1

    def show(self, done: int, note: str = "") -> None:
        share = min(done / self.total, 1.0)
        step = int(share * 100) if self.tty else int(share * 10) * 10
        if step == self.shown and done < self.total:
            return
        self.shown = step
        bar = "#" * int(share * 30) + "." * (30 - int(share * 30))
        text = f"{self.label:<10} [{bar}] {share:4.0%} {done:,}/{self.total:,} {note}"
        self.out.write(("\r" + text) if self.tty else text + "\n")
        self.out.flush()

    def close(self) -> None:
        if self.tty:
            self.out.write("\n")
            self.out.flush()


def import_contacts(args: argparse.Namespace) -> int:
    """Upload a contacts file in parts, start the import job and follow it to the end with a progress bar."""
    path = Path(args.file)
    if not path.is_file():
        raise SystemExit(f"no such file: {path}")
    fmt = _format(path, args.format)
    url, key = admin_target()
    job = call("POST", f"{url}/v1/imports", key, json.dumps({"format": fmt, "name": path.name}).encode())
    import_id = job["importId"]
    size = path.stat().st_size
    upload = Progress("uploading", size)
    sent = 0
    with path.open(encoding="utf-8-sig", newline="") as handle:
        for number, (first, body, _records) in enumerate(_parts(handle, fmt, args.part_bytes), start=1):
            query = urllib.parse.urlencode({"firstRow": first})
            kind = "text/csv" if fmt == "csv" else "application/x-ndjson"
            call("PUT", f"{url}/v1/imports/{import_id}/parts/{number}?{query}", key, body, kind)
            sent += len(body)
            upload.show(min(sent, size), "bytes")
    upload.show(size, "bytes")
    upload.close()
    status = call("POST", f"{url}/v1/imports/{import_id}/start", key)
    progress = Progress("importing", int(status["rows"]))
    deadline = time.monotonic() + args.timeout
    while status["status"] != "completed":
        if time.monotonic() > deadline:
            progress.close()
            print(f"import {import_id} still running after {args.timeout}s: GET /v1/imports/{import_id}")
            return 1
        progress.show(int(status["processed"]), "rows")
        time.sleep(args.poll)
        status = call("GET", f"{url}/v1/imports/{import_id}?limit=20", key)
    progress.show(int(status["processed"]), "rows")
    progress.close()
    print(
        f"import {import_id}: {status['rows']:,} rows, {status['created']:,} created, {status['updated']:,} updated, "
        f"{status['unchanged']:,} unchanged, {status['rejected']:,} rejected"
    )
    for row in status["rejectedRows"]:
        print(f"  row {row['row']}: {'; '.join(row['reasons'])}")
    if status["rejected"] > len(status["rejectedRows"]):
        print(f"  … every rejected row: GET /v1/imports/{import_id}?rejectedAfter=<row>")
    return 0


# ---- cxm content import --------------------------------------------------------------------------------------

CONTENT_ROWS_PER_REQUEST = 500
CONTENT_FAULTS_SHOWN = 20


def import_content(args: argparse.Namespace) -> int:
    """Post a catalogue file to `POST /v1/content/items/import` in requests of whole rows; print what was saved and
    the first faults, numbered by their row in the file (an id in two requests: the later row wins, unreported)."""
    path = Path(args.file)
    if not path.is_file():
        raise SystemExit(f"no such file: {path}")
    fmt = _format(path, args.format)
    url, key = admin_target()
    kind = "text/csv" if fmt == "csv" else "application/x-ndjson"
    with path.open(encoding="utf-8-sig", newline="") as handle:
        total = sum(records for _, _, records in _parts(handle, fmt, PART_BYTES, args.rows))
    progress = Progress("importing", total)
    saved = failed = done = 0
    faults: list[dict[str, Any]] = []
    with path.open(encoding="utf-8-sig", newline="") as handle:
        for first, body, records in _parts(handle, fmt, PART_BYTES, args.rows):
            answer = call("POST", f"{url}/v1/content/items/import", key, body, kind)
            saved += int(answer["saved"])
            failed += int(answer["failed"])
            for fault in answer["errors"]:
                if fault["row"] == 0 and first > 1:  # the header's faults (unknown columns) come with every part
                    failed -= 1
                    continue
                faults.append({**fault, "row": fault["row"] + first - 1 if fault["row"] else 0})
            done += records
            progress.show(done, "rows")
    progress.show(total, "rows")
    progress.close()
    print(f"{path.name}: {total:,} rows, {saved:,} saved, {failed:,} failed")
    for fault in faults[:CONTENT_FAULTS_SHOWN]:
        where = "header" if fault["row"] == 0 else f"row {fault['row']}"
        field = f"{fault['field']}: " if fault.get("field") else ""
        print(f"  {where}: {field}{fault['message']}")
    if failed > CONTENT_FAULTS_SHOWN:
        print(f"  … {failed - CONTENT_FAULTS_SHOWN:,} more")
    return 0


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    import_parser = commands.add_parser("import", help="import contacts from a CSV or JSON-lines file")
    import_parser.add_argument("file", help="contacts.csv or contacts.jsonl (email required on every row)")
    import_parser.add_argument("--format", choices=("csv", "jsonl"), help="default: from the file's extension")
    import_parser.add_argument("--part-bytes", type=int, default=PART_BYTES, help=argparse.SUPPRESS)
    import_parser.add_argument("--poll", type=float, default=0.5, help=argparse.SUPPRESS)
    import_parser.add_argument("--timeout", type=float, default=3600.0, help="give up following after this (s)")
    import_parser.set_defaults(run=import_contacts)
    content_parser = commands.add_parser("content", help="the content catalogue")
    content_commands = content_parser.add_subparsers(dest="action", required=True)
    content_import = content_commands.add_parser(
        "import", help="add or replace catalogue items from a CSV or JSON-lines file (bad rows are reported)"
    )
    content_import.add_argument(
        "file", help="items.csv (a header row: id,title,url,path,type,topics,…; lists |-separated) or items.jsonl"
    )
    content_import.add_argument("--format", choices=("csv", "jsonl"), help="default: from the file's extension")
    content_import.add_argument(
        "--rows",
        type=int,
        default=CONTENT_ROWS_PER_REQUEST,
        help=f"rows per request (default {CONTENT_ROWS_PER_REQUEST})",
    )
    content_import.set_defaults(run=import_content)
