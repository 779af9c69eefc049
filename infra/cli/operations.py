"""`cxm clock`, `replay`, `archive read` and `keys create|identity-secret|settings`: operating the local cloud or a
deployed stack."""

from __future__ import annotations

import argparse
import json
import sys
import urllib.parse

from infra.cli.api import call, local_cloud, post_local


def clock(args: argparse.Namespace) -> int:
    state = local_cloud()
    if args.action == "now":
        print(call("GET", state["url"] + "/_local/clock", state["adminKey"])["now"])
        return 0
    if not args.duration:
        raise SystemExit("usage: cxm clock advance 14d   (s, m, h, d or w)")
    moved = post_local(state["url"] + "/_local/clock/advance", state["adminKey"], {"by": args.duration})
    print(f"virtual time is now {moved['now']}")
    return 0


def replay(args: argparse.Namespace) -> int:
    """Dead-lettered messages back onto their queues: in the local cloud, or in AWS with --aws."""
    if args.aws:
        import boto3

        from infra.replay import replay_all

        moved = replay_all(boto3.client("sqs"), prefix=args.prefix, only=args.only)
    else:
        state = local_cloud()
        moved = post_local(state["url"] + "/_local/replay", state["adminKey"], {"only": args.only})["replayed"]
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
    store = AccessKeys(boto3.resource("dynamodb").Table(table_name))
    if args.action == "settings":
        chosen = {"mail_claimed_addresses": args.mail_claimed_addresses, "double_opt_in": args.double_opt_in}
        if all(value is None for value in chosen.values()):
            current = store.source_settings(args.source)
        else:
            current = store.change_source_settings(
                args.source, **{k: v == "yes" for k, v in chosen.items() if v is not None}
            )
        print(json.dumps({"sourceId": args.source, **current.to_json()}))
        return 0
    if args.action == "identity-secret":
        secret = store.create_identity_secret(args.source)
        print(
            f"identity secret for source {args.source!r} (replaces any earlier one; keep it on your back-end, never "
            f"in a page):\n{secret}"
        )
        return 0
    if not args.role:
        raise SystemExit("keys create needs --role write|server|admin")
    key = store.create(args.role, args.source, args.name)
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
        state = local_cloud()
        asked = {"since": args.since, "until": args.until}
        query = urllib.parse.urlencode({k: v for k, v in asked.items() if v})
        answer = call("GET", f"{state['url'].rstrip('/')}/_local/archive?{query}", state["adminKey"])
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


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    clock_parser = commands.add_parser("clock", help="read or fast-forward the local cloud's virtual clock")
    clock_parser.add_argument("action", choices=("now", "advance"))
    clock_parser.add_argument("duration", nargs="?", help="e.g. 14d, 36h, 2w")
    clock_parser.set_defaults(run=clock)
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
    keys_parser = commands.add_parser(
        "keys",
        help="create an API key, or a source's identity secret (signs userHash), or show/change a source's settings "
        "(what its public pages may make the platform do), in a deployed stack",
    )
    keys_parser.add_argument("action", choices=("create", "identity-secret", "settings"))
    where = keys_parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--stack", help="the CloudFormation stack name, e.g. cxm-prod")
    where.add_argument("--table", help="or the access table's name directly")
    keys_parser.add_argument(
        "--role", choices=("write", "server", "admin"), help="write: pages; server: a site's back-end; admin: all"
    )
    keys_parser.add_argument("--source", required=True, help="what the key is for, e.g. website, shop-app, ops")
    keys_parser.add_argument("--name", default="", help="a label for people")
    keys_parser.add_argument(
        "--mail-claimed-addresses",
        choices=("yes", "no"),
        help="settings: journeys may email addresses this source's pages only claimed (default no)",
    )
    keys_parser.add_argument(
        "--double-opt-in",
        choices=("yes", "no"),
        help="settings: email-marketing consent from this source's pages waits for a confirmation link (default yes)",
    )
    keys_parser.set_defaults(run=keys)
