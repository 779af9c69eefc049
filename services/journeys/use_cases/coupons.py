"""Coupon pools: define a pool, fill it (imported or generated codes), and claim one code per profile and journey."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from services.journeys.domain import coupons
from services.journeys.domain.coupons import PoolDefinition, PoolNotFound
from services.journeys.ports import CouponPools

MAX_GENERATE_ROUNDS = 5  # redraws for codes already in the pool: with the pattern's space ≥ 1,000× the count, rare


def save_pool(pool_id: str, definition: PoolDefinition, pools: CouponPools, now: dt.datetime) -> dict[str, Any]:
    """Create the pool or change its name and watermark; `generate` adds that many new codes of the pattern."""
    saved = pools.save_pool(pool_id, definition.name, definition.low_watermark, now)
    out: dict[str, Any] = {}
    if definition.generate is not None:
        wanted = definition.generate.count
        added: list[str] = []
        for _ in range(MAX_GENERATE_ROUNDS):
            fresh, _present = pools.add_codes(
                pool_id, coupons.generate(definition.generate.pattern, wanted - len(added), avoid=added), now
            )
            added += fresh
            if len(added) == wanted:
                break
        out["generated"] = len(added)
        saved = pools.pool(pool_id) or saved
    return {**coupons.view(saved), **out}


def import_codes(pool_id: str, raw: list[Any], pools: CouponPools, now: dt.datetime) -> dict[str, Any]:
    """Add the valid codes; report repeats (in this batch or already in the pool) and refusals, keep the rest."""
    if pools.pool(pool_id) is None:
        raise PoolNotFound(pool_id)
    batch = coupons.check_codes(raw)
    added, present = pools.add_codes(pool_id, batch.valid, now) if batch.valid else ([], [])
    pool = pools.pool(pool_id) or {"poolId": pool_id}
    return {
        "added": len(added),
        "duplicates": batch.repeated + present,
        "invalid": batch.invalid,
        "pool": coupons.view(pool),
    }


def list_pools(pools: CouponPools) -> list[dict[str, Any]]:
    return [coupons.view(found) for found in pools.pools()]


def pool_view(pool_id: str, pools: CouponPools) -> dict[str, Any]:
    found = pools.pool(pool_id)
    if found is None:
        raise PoolNotFound(pool_id)
    return coupons.view(found)


@dataclass(frozen=True)
class Claimed:
    """The profile's code in this journey. `fresh`: handed out by this call (not found from an earlier try)."""

    code: str
    fresh: bool
    remaining: int | None = None
    low: bool = False


@dataclass(frozen=True)
class PoolEmpty:
    """Every code of the pool was handed out (or the pool has none)."""

    pool_id: str


def claim_code(
    pool_id: str, profile_id: str, journey_id: str, pools: CouponPools, now: dt.datetime
) -> Claimed | PoolEmpty:
    """One code per (pool, journey, profile), atomically: never the same code twice, never two codes to one person.

    1. A claim marker from an earlier try answers at once (a retried step gets the same code).
    2. Else the pool's counter hands out the next index (`next < total`, atomic), so no two claims get one code.
    3. The marker (if still absent) and the code's owner are written in one transaction. When a concurrent try of
       the same claim won that race, its code is the answer and the index taken in 2 is skipped: a code wasted
       (counted as `wasted`), never given twice. Raises PoolNotFound for an unknown pool."""
    earlier = pools.claim_of(pool_id, journey_id, profile_id)
    if earlier is not None:
        return Claimed(str(earlier["code"]), fresh=False)
    taken = pools.allocate(pool_id)
    if taken is None:
        return PoolEmpty(pool_id)
    status = coupons.status(taken)
    if pools.record_claim(pool_id, journey_id, profile_id, int(taken["index"]), str(taken["code"]), now):
        return Claimed(str(taken["code"]), fresh=True, remaining=status.remaining, low=status.low)
    winner = pools.claim_of(pool_id, journey_id, profile_id)
    if winner is None:  # pragma: no cover - the code was claimed by someone else: the counter was bypassed
        raise RuntimeError(f"code {taken['index']} of pool {pool_id} was already claimed")
    return Claimed(str(winner["code"]), fresh=False, remaining=status.remaining, low=status.low)


def forget_profile(profile_id: str, pools: CouponPools) -> int:
    """Erasure (`ProfileErased`): the person's claims are removed; their codes stay handed out, never reissued."""
    return pools.erase_profile(profile_id)
