"""`cxm`: the operator's command line (local clock control now; replay, import and keys as they land)."""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="cxm", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    clock_parser = commands.add_parser("clock", help="read or fast-forward the local cloud's virtual clock")
    clock_parser.add_argument("action", choices=("now", "advance"))
    clock_parser.add_argument("duration", nargs="?", help="e.g. 14d, 36h, 2w")
    clock_parser.set_defaults(run=clock)
    replay_parser = commands.add_parser("replay", help="put dead-lettered messages back on their queues")
    replay_parser.add_argument("--only", help="only queues whose name contains this (e.g. event-collected)")
    replay_parser.add_argument("--aws", action="store_true", help="replay in the AWS account of your credentials")
    replay_parser.add_argument("--prefix", default="", help="with --aws: only queues whose name starts with this")
    replay_parser.set_defaults(run=replay)
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
