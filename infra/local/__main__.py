"""`make dev`: run the whole platform on this machine (moto, virtual clock, HTTP API on localhost)."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import threading
from pathlib import Path

from infra.local.cloud import LocalCloud
from infra.local.demo import DEMO_ADMIN_KEY, DEMO_WRITE_KEY, load
from infra.local.moto_patches import Faults

STATE_FILE = Path(".cxm/local.json")


def demo_lines(demo: dict[str, str]) -> str:
    if not demo:
        return ""
    return (
        f"  Demo data     segment {demo['segmentId']}, journey {demo['journeyId']}\n"
        f"                questionnaire taste ({demo['questionnaireId']}), {demo['items']} catalogue items, "
        f"template {demo['templateId']}\n"
        f"  Slots         {demo['heroSlot']} (a variant per taste segment), {demo['listSlot']} (a list of 6)\n"
        f"  Device shop   {demo['shopUrl']}   demo serials {demo['serials']} (Brewer 3000)\n"
        f"                coupon pools {demo['pools']}, {demo['shopJourneys']} journey templates published"
    )


def fault_line(faults: Faults | None) -> str:
    if faults is None:
        return ""
    overrides = "".join(f", {name} {rate:.0%}" for name, rate in faults.overrides.items())
    return (
        f"\nFault injection ON: {faults.rate:.0%} of the functions' AWS calls fail{overrides} "
        f"({', '.join(faults.kinds)}; seed {faults.seed})\n"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make dev", description=__doc__)
    parser.add_argument("--port", type=int, default=int(os.environ.get("CXM_PORT", "8080")))
    parser.add_argument("--host", default=os.environ.get("CXM_HOST", "127.0.0.1"))
    parser.add_argument("--demo", action="store_true", default=os.environ.get("DEMO", "") not in ("", "0"))
    parser.add_argument("--log-level", default=os.environ.get("CXM_LOG_LEVEL", "WARNING"))
    parser.add_argument(
        "--faults",
        default=os.environ.get("CXM_FAULTS", ""),
        help="inject AWS faults into the functions' calls: a rate (0.1), optionally with seed=, kinds=a+b and "
        "per-service or per-operation rates (0.1,seed=7,kinds=throttle+timeout,dynamodb.PutItem=0.3)",
    )
    args = parser.parse_args(argv)
    try:
        faults = Faults.parse(args.faults) if args.faults else None
    except ValueError as error:
        parser.error(f"--faults: {error}")

    cloud = LocalCloud(
        port=args.port, host=args.host, follow_real_time=True, log_level=args.log_level, faults=faults
    ).start()
    write_key = cloud.create_key("write", "demo-site", "demo write key", DEMO_WRITE_KEY if args.demo else None)
    admin_key = cloud.create_key("admin", "local", "local admin key", DEMO_ADMIN_KEY if args.demo else None)
    if args.demo:
        # The demo pages have no back-end to sign who a visitor is: let journeys mail what their forms claim
        # (`cxm keys settings --mail-claimed-addresses yes` in a deployment; docs/identity.md, "Trust").
        cloud.keys.change_source_settings("demo-site", mail_claimed_addresses=True)
    demo = load(cloud.url, admin_key, cloud.clock.now()) if args.demo else {}
    STATE_FILE.parent.mkdir(exist_ok=True)
    STATE_FILE.write_text(json.dumps({"url": cloud.url, "writeKey": write_key, "adminKey": admin_key}, indent=2))
    STATE_FILE.chmod(0o600)

    try_decide = (
        f"  curl -u {write_key}: '{cloud.url}/v1/decide?slots=home-hero,front-page&anonymousId=visitor-1'\n"
        if demo
        else ""
    )
    print(
        f"""
CxM is running locally (AWS emulated in-process by moto; virtual clock at {cloud.clock.now():%Y-%m-%d %H:%M} UTC)

  Console       {cloud.url}/console/#key={admin_key}
  HTTP API      {cloud.url}
  OpenAPI       {cloud.url}/v1/openapi.json
  Swagger UI    {cloud.url}/v1/docs
  Demo page     {cloud.url}/demo/
  Write key     {write_key}   (HTTP Basic user: curl -u {write_key}: ...)
  Admin key     {admin_key}   (Authorization: Bearer ...)
{demo_lines(demo)}
Try:
  curl -u {write_key}: -H 'content-type: application/json' \\
       -d '{{"anonymousId":"visitor-1","event":"Signed Up","properties":{{"plan":"free"}}}}' {cloud.url}/v1/track
  curl -H 'authorization: Bearer {admin_key}' '{cloud.url}/v1/profiles?anonymousId=visitor-1'
{try_decide}  .venv/bin/cxm clock advance 2d      # fast-forward journeys and windows

Keys and URL are in {STATE_FILE}. Ctrl-C stops (all data is in memory).
{fault_line(faults)}""",
        flush=True,
    )

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with contextlib.suppress(KeyboardInterrupt):
        stop.wait()
    cloud.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
