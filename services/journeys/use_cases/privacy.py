"""A person's journeys data: their runs stop and every record goes on erasure; export lists runs and messages."""

from __future__ import annotations

from typing import Any

from services.common import clock
from services.common.contracts import Envelope
from services.common.contracts.identity import ProfileErased
from services.common.erasure import erased_profile_ids
from services.journeys.ports import CouponPools, JourneyStore, ProgrammeStore, Runner
from services.journeys.use_cases import counting


def erase_profile(incoming: Envelope[ProfileErased], repo: JourneyStore, runner: Runner) -> int:
    """Stop the person's running journeys and delete every run and send record held about them."""
    erased = 0
    for profile_id in erased_profile_ids(incoming.data):
        repo.mark_erased(profile_id, clock.now())  # first: a late trigger must not start a new run
        for record in repo.profile_records(profile_id):
            if record["kind"] == "live" and record.get("execution"):
                runner.stop(record["execution"], "ProfileErased", "The person asked for erasure.")
                # the run leaves the counts as an erasure (once: the same marker as any other stop)
                changes = [(counting.JOURNEY_LEVEL, "erased")]
                if record.get("at") and record["at"] != "entry":
                    changes.append((record["at"], "exited"))
                counting.count(
                    repo,
                    record["journeyId"],
                    int(record["version"]),
                    f"{record['runId']}#stopped",
                    changes,
                    clock.now(),
                )
        erased += repo.erase_profile(profile_id)
    return erased


def export_profile(
    profile_id: str, repo: JourneyStore, programmes: ProgrammeStore, pools: CouponPools
) -> dict[str, Any]:
    """The journeys part of a person's data export: the runs they were in, what was sent, the devices they
    registered with their referral code and its use, and the incentive codes they were given."""
    records = repo.profile_records(profile_id)
    return {
        "entries": [r for r in records if r["kind"] == "run"],
        "messages": [r for r in records if r["kind"] == "send"],
        "devices": _devices(profile_id, programmes),
        "couponCodes": pools.claims(profile_id),
    }


def _devices(profile_id: str, programmes: ProgrammeStore) -> list[dict[str, Any]]:
    owner = programmes.owner_of_profile(profile_id)
    record = programmes.owner(owner) if owner else None
    if not record:
        return []
    code = programmes.code(record["code"]) if record.get("code") else None
    out = []
    for serial in sorted(record.get("serials") or ()):
        device = programmes.serial(serial) or {}
        out.append(
            {
                "serial": serial,
                "model": device.get("model"),
                "category": device.get("category"),
                "registeredAt": device.get("registeredAt"),
                "referralCode": {
                    k: code.get(k) for k in ("code", "issuedAt", "expiresOn", "cap", "redeemed", "retired")
                }
                if code
                else None,
            }
        )
    return out
