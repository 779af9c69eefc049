"""`make bench`: run every benchmark section (each module in bench/ with a `run() -> str`) and print its table.

`make bench ARGS="cold_start aws_requests"` runs only the named sections; `name=value` words are options for the
chosen sections whose `run()` takes a parameter of that name (`make bench ARGS="import_full rows=20000"`).
"""

from __future__ import annotations

import importlib
import inspect
import os
import pkgutil
import sys
import time
from pathlib import Path

os.environ.setdefault("AWS_ACCOUNT_ID_ENDPOINT_MODE", "disabled")
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

NOT_SECTIONS = {"table", "__main__"}


def sections() -> list[str]:
    here = Path(__file__).parent
    return sorted(
        m.name for m in pkgutil.iter_modules([str(here)]) if m.name not in NOT_SECTIONS and not m.name.startswith("_")
    )


def main() -> int:
    words = sys.argv[1:]
    options = dict(word.split("=", 1) for word in words if "=" in word)
    chosen = [word for word in words if "=" not in word] or sections()
    for name in chosen:
        module = importlib.import_module(f"bench.{name}")
        if not hasattr(module, "run"):
            continue
        accepted = inspect.signature(module.run).parameters
        kwargs = {key: value for key, value in options.items() if key in accepted}
        started = time.perf_counter()
        print(module.run(**kwargs))
        print(f"({name}: {time.perf_counter() - started:.1f} s)\n", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
