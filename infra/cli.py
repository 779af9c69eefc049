"""`cxm`: the operator's command line.

`clock now|advance` reads or fast-forwards the local cloud's virtual clock. `import` uploads a contacts file (CSV or
JSON lines) in parts and follows the import job (the API at CXM_URL with CXM_ADMIN_KEY, else the local cloud).
`content import` adds or replaces content catalogue items from a CSV or JSON-lines file, in requests of whole rows.
`replay` puts dead-lettered messages back on their queues (the local cloud, or AWS with --aws). `archive read` prints
the raw event archive's events of some UTC days as JSON lines (the local cloud, or a stack with --stack or
--bucket). `keys create` creates an API key in a deployed stack (--stack or --table)."""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

STATE_FILE = Path(".cxm/local.json")


def _local() -> dict[str, str]:
    if not STATE_FILE.exists():
        raise SystemExit(f"no local cloud found ({STATE_FILE} is missing): start it with `make dev`")
    state: dict[str, str] = json.loads(STATE_FILE.read_text())
    state["url"] = os.environ.get("CXM_URL", state["url"])
    return state


def _post(url: str, key: str, body: dict[str, Any]) -> Any:
    request = urllib.request.Request(
        url,
        method="POST",
        data=json.dumps(body).encode(),
        headers={"content-type": "application/json", "authorization": f"Bearer {key}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as error:
        raise SystemExit(f"refused ({error.code}): {error.read().decode()}") from None
    except urllib.error.URLError as error:
        raise SystemExit(f"cannot reach the local cloud at {url}: {error.reason}") from None


def clock(args: argparse.Namespace) -> int:
    state = _local()
    if args.action == "now":
        with urllib.request.urlopen(state["url"] + "/_local/clock", timeout=10) as response:
            print(json.loads(response.read())["now"])
        return 0
    if not args.duration:
        raise SystemExit("usage: cxm clock advance 14d   (s, m, h, d or w)")
    moved = _post(state["url"] + "/_local/clock/advance", state["adminKey"], {"by": args.duration})
    print(f"virtual time is now {moved['now']}")
    return 0


def replay(args: argparse.Namespace) -> int:
    """Dead-lettered messages back onto their queues: in the local cloud, or in AWS with --aws."""
    if args.aws:
        import boto3

        from infra.replay import replay_all

        moved = replay_all(boto3.client("sqs"), prefix=args.prefix, only=args.only)
    else:
        state = _local()
        moved = _post(state["url"] + "/_local/replay", state["adminKey"], {"only": args.only})["replayed"]
    for queue, count in sorted(moved.items()):
        print(f"{queue}: {count} message(s) replayed")
    if not any(moved.values()):
        print("no dead-lettered messages")
    return 0


def keys(args: argparse.Namespace) -> int:
    """Create an API key in a deployed stack (its access table is found through the stack output)."""
    import boto3

    from services.common.access import AccessKeys

    table_name = args.table
    if args.stack:
        stack = boto3.client("cloudformation").describe_stacks(StackName=args.stack)["Stacks"][0]
        table_name = next(
            (o["OutputValue"] for o in stack.get("Outputs", []) if o["OutputKey"] == "AccessTableName"), None
        )
        if not table_name:
            raise SystemExit(f"stack {args.stack} has no AccessTableName output: is it a CxM stack?")
    key = AccessKeys(boto3.resource("dynamodb").Table(table_name)).create(args.role, args.source, args.name)
    print(f"{args.role} key for source {args.source!r} (shown once, only its SHA-256 is stored):\n{key}")
    return 0


# ---- cxm archive ----


def _stack_outputs(stack_name: str) -> dict[str, str]:
    import boto3

    stack = boto3.client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def archive(args: argparse.Namespace) -> int:
    """The raw event archive's events of some UTC days, as JSON lines on stdout (a summary on stderr): from a
    deployed stack (--stack, or --bucket and --keys-table), else from the local cloud."""
    import datetime as dt

    try:
        # The local cloud's "today" is its virtual clock's: it fills in what is not given.
        today = dt.datetime.now(dt.UTC).date() if (args.stack or args.bucket) else None
        until = dt.date.fromisoformat(args.until) if args.until else today
        since = dt.date.fromisoformat(args.since) if args.since else until
    except ValueError as error:
        raise SystemExit(f"dates are YYYY-MM-DD: {error}") from None
    if since and until and since > until:
        raise SystemExit("--since is after --until")
    if args.stack or args.bucket:
        assert since is not None and until is not None
        import boto3

        from services.events.adapters.archive import DynamoKeyRing, S3Archive
        from services.events.use_cases.archive import ReadReport, read

        bucket, table = args.bucket, args.keys_table
        if args.stack:
            outputs = _stack_outputs(args.stack)
            bucket, table = outputs.get("ArchiveBucketName"), outputs.get("ArchiveKeysTableName")
            if not bucket or not table:
                raise SystemExit(f"stack {args.stack} has no archive outputs: is it a CxM stack?")
        if not table:
            raise SystemExit("--bucket needs --keys-table")
        report = ReadReport()
        for event in read(
            S3Archive(boto3.client("s3"), bucket), DynamoKeyRing(boto3.client("dynamodb"), table), since, until, report
        ):
            print(json.dumps(event, separators=(",", ":")))
        summary = report.to_json()
    else:
        state = _local()
        asked = {"since": args.since, "until": args.until}
        query = urllib.parse.urlencode({k: v for k, v in asked.items() if v})
        answer = _call("GET", f"{state['url'].rstrip('/')}/_local/archive?{query}", state["adminKey"])
        for event in answer["events"]:
            print(json.dumps(event, separators=(",", ":")))
        summary = answer["report"]
    print(
        f"{summary['events']} event(s) from {summary['objects']} object(s); "
        f"{summary['shredded']} record(s) of erased people cannot be read; {summary['duplicates']} duplicate(s) "
        "dropped",
        file=sys.stderr,
    )
    return 0


# ---- cxm import ----------------------------------------------------------------------------------------------

PART_BYTES = 1024 * 1024  # per upload request (the imports API takes up to 4 MB)


def _admin_target() -> tuple[str, str]:
    """The API and an admin key: `CXM_URL` and `CXM_ADMIN_KEY` (a deployed stack), else the local cloud's."""
    url, key = os.environ.get("CXM_URL"), os.environ.get("CXM_ADMIN_KEY")
    if url and key:
        return url.rstrip("/"), key
    state = _local()
    return state["url"].rstrip("/"), key or state["adminKey"]


def _call(method: str, url: str, key: str, body: bytes | None = None, content_type: str = "application/json") -> Any:
    request = urllib.request.Request(
        url, method=method, data=body, headers={"content-type": content_type, "authorization": f"Bearer {key}"}
    )
    for attempt in range(5):
        try:
            with urllib.request.urlopen(request, timeout=300) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            if error.code >= 500 and attempt < 4:  # the part or start is idempotent: try again
                time.sleep(0.5 * (attempt + 1))
                continue
            raise SystemExit(f"refused ({error.code}): {error.read().decode()}") from None
        except urllib.error.URLError as error:
            raise SystemExit(f"cannot reach the API at {url}: {error.reason}") from None
    raise SystemExit(f"{method} {url} kept failing")


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
    url, key = _admin_target()
    job = _call("POST", f"{url}/v1/imports", key, json.dumps({"format": fmt, "name": path.name}).encode())
    import_id = job["importId"]
    size = path.stat().st_size
    upload = Progress("uploading", size)
    sent = 0
    with path.open(encoding="utf-8-sig", newline="") as handle:
        for number, (first, body, _records) in enumerate(_parts(handle, fmt, args.part_bytes), start=1):
            query = urllib.parse.urlencode({"firstRow": first})
            kind = "text/csv" if fmt == "csv" else "application/x-ndjson"
            _call("PUT", f"{url}/v1/imports/{import_id}/parts/{number}?{query}", key, body, kind)
            sent += len(body)
            upload.show(min(sent, size), "bytes")
    upload.show(size, "bytes")
    upload.close()
    status = _call("POST", f"{url}/v1/imports/{import_id}/start", key)
    progress = Progress("importing", int(status["rows"]))
    deadline = time.monotonic() + args.timeout
    while status["status"] != "completed":
        if time.monotonic() > deadline:
            progress.close()
            print(f"import {import_id} still running after {args.timeout}s: GET /v1/imports/{import_id}")
            return 1
        progress.show(int(status["processed"]), "rows")
        time.sleep(args.poll)
        status = _call("GET", f"{url}/v1/imports/{import_id}?limit=20", key)
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
    url, key = _admin_target()
    kind = "text/csv" if fmt == "csv" else "application/x-ndjson"
    with path.open(encoding="utf-8-sig", newline="") as handle:
        total = sum(records for _, _, records in _parts(handle, fmt, PART_BYTES, args.rows))
    progress = Progress("importing", total)
    saved = failed = done = 0
    faults: list[dict[str, Any]] = []
    with path.open(encoding="utf-8-sig", newline="") as handle:
        for first, body, records in _parts(handle, fmt, PART_BYTES, args.rows):
            answer = _call("POST", f"{url}/v1/content/items/import", key, body, kind)
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


# ---- cxm journeys ----------------------------------------------------------------------------------------------


def _parameter(text: str) -> tuple[str, Any]:
    """`name=value`; a value that reads as JSON (a number, true/false) keeps its type, else it is a string."""
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected name=value, not {text!r}")
    try:
        parsed = json.loads(value)
    except ValueError:
        parsed = value
    return name, parsed if isinstance(parsed, str | int | float | bool) else value


def journey_templates(args: argparse.Namespace) -> int:
    url, key = _admin_target()
    for template in _call("GET", f"{url}/v1/journeys/templates", key)["templates"]:
        print(f"{template['name']:24} {template['title']}")
        for name, spec in template["parameters"].items():
            default = f" (default {spec['default']})" if "default" in spec else " (required)"
            print(f"{'':26}{name}{default}: {spec.get('description', '')}")
    return 0


def install_journey(args: argparse.Namespace) -> int:
    url, key = _admin_target()
    body = {"parameters": dict(args.param or []), "publish": args.publish}
    answer = _call("POST", f"{url}/v1/journeys/templates/{args.name}/install", key, json.dumps(body).encode())
    for journey in answer["journeys"]:
        print(f"{journey['journeyId']}  {journey.get('status', '')}  {journey.get('name', '')}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="cxm", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    clock_parser = commands.add_parser("clock", help="read or fast-forward the local cloud's virtual clock")
    clock_parser.add_argument("action", choices=("now", "advance"))
    clock_parser.add_argument("duration", nargs="?", help="e.g. 14d, 36h, 2w")
    clock_parser.set_defaults(run=clock)
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
    journeys_parser = commands.add_parser("journeys", help="ready journey templates")
    journeys_commands = journeys_parser.add_subparsers(dest="action", required=True)
    journeys_commands.add_parser("templates", help="list the templates and their parameters").set_defaults(
        run=journey_templates
    )
    journeys_install = journeys_commands.add_parser("install", help="install a template's journeys (drafts)")
    journeys_install.add_argument("name", help="the template (cxm journeys templates lists them)")
    journeys_install.add_argument(
        "--param", action="append", type=_parameter, metavar="NAME=VALUE", help="a parameter (repeatable)"
    )
    journeys_install.add_argument("--publish", action="store_true", help="publish at once (default: drafts)")
    journeys_install.set_defaults(run=install_journey)
    replay_parser = commands.add_parser("replay", help="put dead-lettered messages back on their queues")
    replay_parser.add_argument("--only", help="only queues whose name contains this (e.g. event-collected)")
    replay_parser.add_argument("--aws", action="store_true", help="replay in the AWS account of your credentials")
    replay_parser.add_argument("--prefix", default="", help="with --aws: only queues whose name starts with this")
    replay_parser.set_defaults(run=replay)
    archive_parser = commands.add_parser("archive", help="read the raw event archive back (JSON lines)")
    archive_parser.add_argument("action", choices=("read",))
    archive_parser.add_argument("--since", help="first UTC day, YYYY-MM-DD (default: --until)")
    archive_parser.add_argument("--until", help="last UTC day, YYYY-MM-DD (default: today)")
    archive_where = archive_parser.add_mutually_exclusive_group()
    archive_where.add_argument("--stack", help="a deployed stack, e.g. cxm-prod (default: the local cloud)")
    archive_where.add_argument("--bucket", help="or the archive bucket's name directly (with --keys-table)")
    archive_parser.add_argument("--keys-table", help="with --bucket: the archive key ring table's name")
    archive_parser.set_defaults(run=archive)
    keys_parser = commands.add_parser("keys", help="create an API key in a deployed stack")
    keys_parser.add_argument("action", choices=("create",))
    where = keys_parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--stack", help="the CloudFormation stack name, e.g. cxm-prod")
    where.add_argument("--table", help="or the access table's name directly")
    keys_parser.add_argument("--role", choices=("write", "admin"), required=True)
    keys_parser.add_argument("--source", required=True, help="what the key is for, e.g. website, shop-app, ops")
    keys_parser.add_argument("--name", default="", help="a label for people")
    keys_parser.set_defaults(run=keys)
    args = parser.parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
