"""Coupon pools: codes drawn from a pattern, imports checked, and claims — one code per profile and journey, never
the same code twice, the same code on a retry — over the in-memory pools; the claimCode node of a journey."""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import ValidationError

from services.journeys.adapters.coupons import MemoryCouponPools
from services.journeys.domain import coupons
from services.journeys.domain.compiler import FAILED, compile_journey
from services.journeys.domain.coupons import ALPHABET, PoolDefinition, PoolNotFound
from services.journeys.domain.definition import DefinitionError, parse
from services.journeys.use_cases import definitions
from services.journeys.use_cases.coupons import (
    Claimed,
    PoolEmpty,
    claim_code,
    forget_profile,
    import_codes,
    pool_view,
    save_pool,
)
from services.journeys.use_cases.sending import render_request
from services.journeys.use_cases.steps import run_step
from tests.unit.clocks import Moment, frozen_at
from tests.unit.test_unit_journeys_use_cases import Run, World, document, entered, live_journey, person

NOW = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)


@pytest.fixture
def moment() -> Iterator[Moment]:
    with frozen_at(NOW) as now:
        yield now


@pytest.fixture
def pools() -> MemoryCouponPools:
    return MemoryCouponPools()


def pool_of(pools: MemoryCouponPools, pool_id: str, count: int, low_watermark: int = 50) -> str:
    """A pool of `count` generated codes."""
    definition = PoolDefinition.model_validate(
        {"name": pool_id, "lowWatermark": low_watermark, "generate": {"pattern": "SPRING-{XXXXXX}", "count": count}}
    )
    assert save_pool(pool_id, definition, pools, NOW)["total"] == count
    return pool_id


# ---- generation and imports ----


def test_a_pattern_draws_distinct_codes_from_the_unambiguous_alphabet() -> None:
    codes = coupons.generate("SPRING-{XXXXXX}-{XX}", 500)

    assert len(set(codes)) == 500
    shape = re.compile(rf"^SPRING-[{ALPHABET}]{{6}}-[{ALPHABET}]{{2}}$")
    assert all(shape.match(code) for code in codes)
    assert not set("".join(code.replace("SPRING-", "") for code in codes)) & set("01OIL")


def test_generated_codes_avoid_the_codes_given() -> None:
    # Given a pattern with only 31 possible codes, 30 of them already taken
    everything = {f"A{c}" for c in ALPHABET}
    taken = set(sorted(everything)[:30])

    # When one more is drawn, then it is the one left
    assert coupons.generate("A{X}", 1, avoid=taken) == list(everything - taken)


@pytest.mark.parametrize(
    ("generate", "why"),
    [
        ({"pattern": "SPRING", "count": 1}, "at least one {X"),
        ({"pattern": "SPR ING-{XXXX}", "count": 1}, "only letters"),
        ({"pattern": "SPRING-{XX}", "count": 10}, "too short"),
        ({"pattern": "S-{XXXXXXXX}", "count": 100_001}, "less than or equal"),
    ],
)
def test_a_pattern_that_cannot_give_unguessable_codes_is_refused(generate: dict[str, Any], why: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(why)):
        PoolDefinition.model_validate({"name": "Spring", "generate": generate})


def test_an_import_keeps_valid_codes_and_reports_repeats_and_refusals(pools: MemoryCouponPools) -> None:
    # Given a pool holding one code
    save_pool("spring", PoolDefinition(name="Spring"), pools, NOW)
    import_codes("spring", ["OLD-1"], pools, NOW)

    # When a batch with a repeat, a code already there, a blank line and a code with a space comes in
    answer = import_codes("spring", [" NEW-1 ", "NEW-2", "NEW-1", "OLD-1", "", "BAD CODE"], pools, NOW)

    # Then the two new codes are kept, the rest is reported
    assert answer["added"] == 2
    assert answer["duplicates"] == ["NEW-1", "OLD-1"]
    assert [(i["index"], i["code"]) for i in answer["invalid"]] == [(5, "BAD CODE")]
    assert (answer["pool"]["total"], answer["pool"]["remaining"]) == (3, 3)


def test_codes_cannot_be_imported_into_a_pool_that_does_not_exist(pools: MemoryCouponPools) -> None:
    with pytest.raises(PoolNotFound):
        import_codes("nope", ["A-1"], pools, NOW)


# ---- claims ----


def test_a_retried_claim_gets_the_same_code(pools: MemoryCouponPools) -> None:
    pool_of(pools, "spring", 10)

    first = claim_code("spring", "ana", "j-1", pools, NOW)
    again = claim_code("spring", "ana", "j-1", pools, NOW)

    assert isinstance(first, Claimed) and isinstance(again, Claimed)
    assert (first.fresh, again.fresh, again.code) == (True, False, first.code)
    assert (pool_view("spring", pools)["claimed"], pool_view("spring", pools)["remaining"]) == (1, 9)


def test_the_same_profile_gets_another_code_in_another_journey(pools: MemoryCouponPools) -> None:
    pool_of(pools, "spring", 10)

    one = claim_code("spring", "ana", "j-1", pools, NOW)
    other = claim_code("spring", "ana", "j-2", pools, NOW)

    assert isinstance(one, Claimed) and isinstance(other, Claimed) and one.code != other.code


def test_200_profiles_claiming_at_once_never_share_a_code(pools: MemoryCouponPools) -> None:
    # Given a pool of 250 codes
    pool_of(pools, "spring", 250)
    got: dict[str, str] = {}

    def claim(profile: str) -> None:
        for _ in range(2):  # each claim tried twice, as a retried step would
            outcome = claim_code("spring", profile, "j-1", pools, NOW)
            assert isinstance(outcome, Claimed)
            assert got.setdefault(profile, outcome.code) == outcome.code

    # When 200 profiles claim from 8 threads
    profiles = [f"p-{i}" for i in range(200)]
    threads = [threading.Thread(target=lambda part=profiles[i::8]: [claim(p) for p in part]) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Then each got one code, no two the same, and the pool counts 200 claimed
    assert len(got) == 200 and len(set(got.values())) == 200
    assert sorted(pools.claimed_codes("spring")) == sorted(got.values())
    assert pool_view("spring", pools) | {"createdAt": None, "updatedAt": None} == {
        "poolId": "spring",
        "name": "spring",
        "lowWatermark": 50,
        "total": 250,
        "claimed": 200,
        "remaining": 50,
        "wasted": 0,
        "low": False,
        "createdAt": None,
        "updatedAt": None,
    }


class SlowTwin(MemoryCouponPools):
    """Two tries of one claim racing: the second try looks for a claim before the first has written its own."""

    def __init__(self) -> None:
        super().__init__()
        self.blind = 0

    def claim_of(self, pool_id: str, journey_id: str, profile_id: str) -> dict[str, Any] | None:
        if self.blind:
            self.blind -= 1
            return None
        return super().claim_of(pool_id, journey_id, profile_id)


def test_a_try_losing_the_race_answers_the_winners_code_and_wastes_its_own() -> None:
    # Given a first try that claimed Ana's code
    pools = SlowTwin()
    pool_of(pools, "spring", 5, low_watermark=0)
    first = claim_code("spring", "ana", "j-1", pools, NOW)

    # When a concurrent try did not see that claim and took the next code
    pools.blind = 1
    second = claim_code("spring", "ana", "j-1", pools, NOW)

    # Then it answers Ana's code; the code it took is skipped, never handed to anyone
    assert isinstance(first, Claimed) and isinstance(second, Claimed)
    assert second.code == first.code and not second.fresh
    view = pool_view("spring", pools)
    assert (view["claimed"], view["wasted"], view["remaining"]) == (1, 1, 3)
    assert pools.claimed_codes("spring") == [first.code]


def test_an_empty_pool_says_so(pools: MemoryCouponPools) -> None:
    pool_of(pools, "spring", 2)
    assert isinstance(claim_code("spring", "ana", "j-1", pools, NOW), Claimed)
    assert isinstance(claim_code("spring", "bob", "j-1", pools, NOW), Claimed)

    assert claim_code("spring", "cy", "j-1", pools, NOW) == PoolEmpty("spring")
    # a profile that had its code still gets it
    assert isinstance(claim_code("spring", "ana", "j-1", pools, NOW), Claimed)


def test_a_claim_leaving_fewer_than_the_watermark_says_the_pool_is_low(pools: MemoryCouponPools) -> None:
    pool_of(pools, "spring", 5, low_watermark=3)

    outcomes = [claim_code("spring", f"p-{i}", "j-1", pools, NOW) for i in range(3)]

    assert [(o.remaining, o.low) for o in outcomes if isinstance(o, Claimed)] == [(4, False), (3, False), (2, True)]
    assert pool_view("spring", pools)["low"] is True


# ---- the claimCode node ----

CLAIM = {"id": "claim", "type": "claimCode", "pool": "spring", "next": "mail", "onEmpty": "sorry"}
MAIL = {"id": "mail", "type": "email", "subject": "Your code {{couponCode}}", "html": "<p>{{couponCode}}</p>"}
SORRY = {"id": "sorry", "type": "email", "subject": "All gone", "html": "<p>Sorry</p>"}


def test_a_claim_code_node_compiles_to_an_action_with_an_empty_branch() -> None:
    states = compile_journey(parse(document([CLAIM, MAIL, SORRY])))["States"]

    choices = {c["StringEquals"]: c["Next"] for c in states["claim.branch"]["Choices"]}
    assert (choices["empty"], choices["failed"], states["claim.branch"]["Default"]) == ("sorry", FAILED, "mail")
    assert states["claim"]["Parameters"]["Payload"]["kind"] == "claimCode"


def test_on_empty_must_name_a_node() -> None:
    with pytest.raises(DefinitionError) as refused:
        parse(document([{**CLAIM, "onEmpty": "nowhere"}, MAIL]))
    assert ("nodes[0].onEmpty", "no node 'nowhere'") in refused.value.errors


def test_publishing_needs_the_pool_to_exist(pools: MemoryCouponPools) -> None:
    with pytest.raises(DefinitionError) as refused:
        definitions.validate(document([CLAIM, MAIL, SORRY]), None, pools=pools)
    assert refused.value.errors == [("nodes[0].pool", "no coupon pool 'spring'")]

    save_pool("spring", PoolDefinition(name="Spring"), pools, NOW)
    assert definitions.validate(document([CLAIM, MAIL, SORRY]), None, pools=pools)


def claim_step(world: World, run: Run, pools: MemoryCouponPools, via: dict[str, Any] | None = None) -> dict[str, Any]:
    return run_step(
        run.task("claimCode", "claim", via),
        run.journey.definition,
        world.repo,
        world.directory,
        world.runner,
        world.bus,
        world.texter,
        world.hooks,
        "active",
        {},
        pools=pools,
    )


def test_the_step_keeps_the_code_on_the_run_and_the_email_carries_it(moment: Moment, pools: MemoryCouponPools) -> None:
    # Given Ana inside a journey that claims a code, then mails it
    world = World()
    pool_of(pools, "spring", 3)
    journey = live_journey(world, document([CLAIM, MAIL, SORRY]))
    run = entered(world, journey, person(world, "ana", firstName="Ana"))

    # When the step runs (and is retried)
    answered = claim_step(world, run, pools)
    assert claim_step(world, run, pools)["branch"] == "ok"

    # Then the run holds one code, counted once, and the email's template data carries it
    code = (run.live() or {})["couponCode"]
    assert (answered["branch"], pools.claimed_codes("spring")) == ("ok", [code])
    counters = world.repo.stats(journey.journey_id)["v1#claim"]
    assert (counters["entered"], counters["claimed"]) == (1, 1)
    run.send_email("mail", {"node": "claim", "branch": "ok", "until": None})
    (sent,) = world.mailer.sent
    assert f'"couponCode": "{code}"' in sent["Content"]["Template"]["TemplateData"]


def test_an_empty_pool_takes_on_empty_or_fails_the_run_as_pool_empty(moment: Moment, pools: MemoryCouponPools) -> None:
    world = World()
    save_pool("spring", PoolDefinition(name="Spring"), pools, NOW)
    with_fallback = live_journey(world, document([CLAIM, MAIL, SORRY]), journey_id="j-fallback")
    without = live_journey(world, document([{**CLAIM, "onEmpty": None}, MAIL]), journey_id="j-strict")
    ana = entered(world, with_fallback, person(world, "ana"))
    bob = entered(world, without, person(world, "bob"))

    assert claim_step(world, ana, pools)["branch"] == "empty"
    assert claim_step(world, bob, pools)["branch"] == "failed"
    bob.step("fail", FAILED, {"node": "claim", "branch": "failed", "until": None})

    assert world.repo.stats("j-fallback")["v1#claim"]["empty"] == 1
    (ended,) = world.repo.runs_of_profile("bob")
    assert (ended["state"], ended["reason"]) == ("failed", "pool empty")


def test_erasure_forgets_who_claimed_but_never_hands_the_code_out_again(pools: MemoryCouponPools) -> None:
    pool_of(pools, "spring", 2, low_watermark=0)
    ana = claim_code("spring", "ana", "j-1", pools, NOW)
    assert isinstance(ana, Claimed)

    assert forget_profile("ana", pools) == 1

    assert pools.claim_of("spring", "j-1", "ana") is None and pools.claimed_codes("spring") == []
    bob = claim_code("spring", "bob", "j-1", pools, NOW)
    assert isinstance(bob, Claimed) and bob.code != ana.code
    assert claim_code("spring", "cy", "j-1", pools, NOW) == PoolEmpty("spring")


def test_a_content_template_gets_the_runs_code_as_a_variable() -> None:
    node = parse(document([{"id": "mail", "type": "email", "template": "spring-offer", "variables": {"x": 1}}])).nodes[
        0
    ]

    request = render_request(node, "ana", "j-1", "key-1", None, {"couponCode": "SPRING-ABCDEF"})

    assert request["variables"] == {"x": 1, "couponCode": "SPRING-ABCDEF"}
