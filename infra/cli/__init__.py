"""`cxm`: the operator's and the marketer's command line.

`segments list|show|create -f FILE`, `journeys list|show|pause|resume|templates|install`, `profiles find EMAIL` and
`privacy export|erase EMAIL` call the admin API (CXM_URL with CXM_ADMIN_KEY, else the local cloud) and print tables,
or with --json the API's JSON unchanged; a refusal is one line on stderr and a non-zero exit. `import` uploads a
contacts file (CSV or JSON lines) in parts and follows the import job. `content import` adds or replaces content
catalogue items from a CSV or JSON-lines file. `clock now|advance` reads or fast-forwards the local cloud's virtual
clock. `replay` puts dead-lettered messages back on their queues (the local cloud, or AWS with --aws). `archive read`
prints the raw event archive's events of some UTC days as JSON lines (the local cloud, or a stack with --stack or
--bucket). `keys create` creates an API key in a deployed stack (--stack or --table)."""

from __future__ import annotations

import argparse

from infra.cli import imports, marketing, operations


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="cxm", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    marketing.add_commands(commands)
    imports.add_commands(commands)
    operations.add_commands(commands)
    args = parser.parse_args(argv)
    return int(args.run(args))
