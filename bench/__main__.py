"""`make bench`: run every benchmark section and print its table."""

from __future__ import annotations

import os
import sys
import time

os.environ.setdefault("AWS_ACCOUNT_ID_ENDPOINT_MODE", "disabled")


def main() -> int:
    from bench import aws_requests, cold_start

    sections = {"cold-start": cold_start.run, "aws-requests": aws_requests.run}
    chosen = sys.argv[1:] or list(sections)
    for name in chosen:
        started = time.perf_counter()
        print(sections[name]())
        print(f"({name}: {time.perf_counter() - started:.1f} s)\n", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
