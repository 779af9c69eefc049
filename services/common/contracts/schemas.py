"""Generates the JSON Schema of every bus event into `schemas/`; `--check` fails when the files drifted."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from services.common.contracts.envelope import Envelope
from services.common.contracts.registry import ALL

SCHEMA_DIR = Path(__file__).with_name("schemas")


def rendered() -> dict[str, str]:
    out: dict[str, str] = {}
    for contract in ALL:
        schema = Envelope[contract].model_json_schema(by_alias=True)  # type: ignore[valid-type]
        schema["title"] = contract.DETAIL_TYPE
        schema["description"] = contract.DESCRIPTION or f"{contract.DETAIL_TYPE} from {contract.SOURCE}."
        schema["x-cxm"] = {"source": contract.SOURCE, "detailType": contract.DETAIL_TYPE, "version": contract.VERSION}
        name = f"{contract.SOURCE}.{contract.DETAIL_TYPE}.v{contract.VERSION}.json"
        out[name] = json.dumps(schema, indent=2, sort_keys=True) + "\n"
    return out


def drift() -> list[str]:
    """Names of schema files that differ from the models (missing, changed or stale)."""
    want = rendered()
    have = {p.name: p.read_text() for p in SCHEMA_DIR.glob("*.json")}
    return sorted(n for n in want.keys() | have.keys() if want.get(n) != have.get(n))


def main() -> int:
    if "--check" in sys.argv:
        stale = drift()
        for name in stale:
            print(f"schema drift: {name} (run `make schemas`)")
        return 1 if stale else 0
    SCHEMA_DIR.mkdir(exist_ok=True)
    for old in SCHEMA_DIR.glob("*.json"):
        old.unlink()
    for name, text in rendered().items():
        (SCHEMA_DIR / name).write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
