"""Coupon pools on the local cloud: pools generated and imported over HTTP, the low flag, claims racing on DynamoDB,
and journeys that claim a code per profile and mail it."""

from __future__ import annotations

import datetime as dt
import re
import threading
import uuid
from typing import Any

import boto3

from services.journeys.adapters.coupons import DynamoCouponPools
from services.journeys.domain.coupons import ALPHABET
from services.journeys.use_cases.coupons import Claimed, claim_code, forget_profile
from tests.conftest import Api
from tests.integration.journeys.test_engine import customer, emails_to, enrol, journey, settle_time

NOW = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)
CODE = re.compile(rf"SPRING-[{ALPHABET}]{{6}}")


def new_pool(api: Api, count: int | None = None, low_watermark: int = 50) -> str:
    pool_id = f"spring-{uuid.uuid4().hex[:6]}"
    body: dict[str, Any] = {"name": "Spring sale", "lowWatermark": low_watermark}
    if count is not None:
        body["generate"] = {"pattern": "SPRING-{XXXXXX}", "count": count}
    reply = api.admin("PUT", f"/v1/coupons/pools/{pool_id}", body)
    assert reply.status == 200, reply.body
    return pool_id


def pools_table(cloud: Any) -> DynamoCouponPools:
    region = cloud.region
    return DynamoCouponPools(
        boto3.resource("dynamodb", region_name=region).Table(cloud.names.table("journeys", "programmes"))
    )


def test_a_generated_pool_shows_what_is_left_and_whether_it_is_low(api: Api) -> None:
    # Given a pool of 40 generated codes that is low under 50
    pool_id = new_pool(api, count=40)

    # Then the API shows 40 left, low; listed among the pools
    pool = api.admin("GET", f"/v1/coupons/pools/{pool_id}").body
    assert (pool["total"], pool["claimed"], pool["remaining"], pool["low"]) == (40, 0, 40, True)
    assert pool_id in {p["poolId"] for p in api.admin("GET", "/v1/coupons/pools").body["pools"]}

    # When the watermark is lowered, then it is no longer low (and no codes were added)
    reply = api.admin("PUT", f"/v1/coupons/pools/{pool_id}", {"name": "Spring sale", "lowWatermark": 10})
    assert (reply.body["total"], reply.body["low"]) == (40, False)


def test_imported_codes_are_kept_once_with_duplicates_and_refusals_reported(api: Api) -> None:
    pool_id = new_pool(api, low_watermark=2)

    first = api.admin("POST", f"/v1/coupons/pools/{pool_id}/codes", {"codes": ["A-1", "A-2", "A-2", "bad code"]})
    assert first.status == 200, first.body
    assert (first.body["added"], first.body["duplicates"]) == (2, ["A-2"])
    assert [i["code"] for i in first.body["invalid"]] == ["bad code"]

    lines = b"A-2\r\nA-3\n\nA-4\n"
    second = api.request(
        "POST",
        f"/v1/coupons/pools/{pool_id}/codes",
        raw=lines,
        key=api.admin_key,
        scheme="bearer",
        headers={"content-type": "text/plain"},
    )
    assert second.status == 200, second.body
    assert (second.body["added"], second.body["duplicates"]) == (2, ["A-2"])
    assert (second.body["pool"]["total"], second.body["pool"]["low"]) == (4, False)


def test_refusals_are_problems(api: Api) -> None:
    assert api.admin("GET", "/v1/coupons/pools/no-such-pool").status == 404
    assert api.admin("POST", "/v1/coupons/pools/no-such-pool/codes", {"codes": ["A"]}).status == 404
    too_many = api.admin(
        "POST", f"/v1/coupons/pools/{new_pool(api)}/codes", {"codes": [f"C{i}" for i in range(10_001)]}
    )
    assert too_many.status == 400 and too_many.content_type == "application/problem+json"
    weak = api.admin("PUT", "/v1/coupons/pools/weak", {"name": "W", "generate": {"pattern": "W-{XX}", "count": 50}})
    assert weak.status == 400 and weak.body["errors"][0]["field"].startswith("generate")


def test_20_profiles_claiming_at_once_get_20_distinct_codes_and_a_retry_gets_the_same(cloud: Any, api: Api) -> None:
    # Given a pool of 30 codes
    pool_id = new_pool(api, count=30, low_watermark=5)
    pools = pools_table(cloud)
    got: dict[str, list[str]] = {}
    errors: list[BaseException] = []
    start = threading.Barrier(20, timeout=30)

    def claim(profile: str) -> None:
        try:
            start.wait()
            for _ in range(2):  # the step, then its retry
                outcome = claim_code(pool_id, profile, "j-race", pools, NOW)
                assert isinstance(outcome, Claimed)
                got.setdefault(profile, []).append(outcome.code)
        except BaseException as error:
            errors.append(error)

    # When 20 profiles claim at once, each twice
    threads = [threading.Thread(target=claim, args=(f"p-{i}",)) for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    # Then each holds one code, and no two hold the same
    assert errors == []
    assert all(len(set(codes)) == 1 for codes in got.values())
    assert len({codes[0] for codes in got.values()}) == 20
    pool = api.admin("GET", f"/v1/coupons/pools/{pool_id}").body
    assert (pool["claimed"], pool["remaining"], pool["low"]) == (20, 10, False)


CLAIM = {"id": "claim", "type": "claimCode", "next": "mail", "onEmpty": "sorry"}
MAIL = {
    "id": "mail",
    "type": "email",
    "subject": "{{firstName}}, your code {{couponCode}}",
    "html": "<p>Use <b>{{couponCode}}</b> at checkout.</p>",
    "transactional": True,
}
SORRY = {"id": "sorry", "type": "email", "subject": "All gone", "html": "<p>Sorry, no codes left.</p>"}


def test_a_journey_mails_each_profile_its_own_code(cloud: Any, api: Api) -> None:
    # Given a pool of 5 codes and a journey that claims one and mails it
    pool_id = new_pool(api, count=5, low_watermark=3)
    created = journey(api, [{**CLAIM, "pool": pool_id}, MAIL, SORRY])
    people = [customer(cloud, api, name) for name in ("ana", "bob", "cy")]

    # When three profiles are enrolled
    enrol(api, created["journeyId"], *people)
    settle_time(cloud)

    # Then each got one email carrying a code of its own
    codes = []
    for profile_id in people:
        (sent,) = emails_to(cloud, profile_id, api)
        (code,) = CODE.findall(sent.subject)
        assert code in sent.body
        codes.append(code)
    assert len(set(codes)) == 3
    pool = api.admin("GET", f"/v1/coupons/pools/{pool_id}").body
    assert (pool["claimed"], pool["remaining"], pool["low"]) == (3, 2, True)
    nodes = api.admin("GET", f"/v1/journeys/{created['journeyId']}/analytics").body["versions"][0]["nodes"]
    assert (nodes["claim"]["claimed"], nodes["mail"]["sent"]) == (3, 3)


def test_an_empty_pool_takes_on_empty(cloud: Any, api: Api) -> None:
    # Given a pool holding a single imported code
    pool_id = new_pool(api)
    assert api.admin("POST", f"/v1/coupons/pools/{pool_id}/codes", {"codes": ["ONLY-ONE"]}).body["added"] == 1
    created = journey(api, [{**CLAIM, "pool": pool_id}, MAIL, SORRY])
    dee, eve = customer(cloud, api, "dee"), customer(cloud, api, "eve")

    # When two profiles go through it, one after the other
    enrol(api, created["journeyId"], dee)
    settle_time(cloud)
    enrol(api, created["journeyId"], eve)
    settle_time(cloud)

    # Then the first gets the code, the second the "all gone" email
    assert [m.subject for m in emails_to(cloud, dee, api)] == ["dee, your code ONLY-ONE"]
    assert [m.subject for m in emails_to(cloud, eve, api)] == ["All gone"]
    nodes = api.admin("GET", f"/v1/journeys/{created['journeyId']}/analytics").body["versions"][0]["nodes"]
    assert (nodes["claim"]["claimed"], nodes["claim"]["empty"]) == (1, 1)


def test_a_journey_naming_an_unknown_pool_is_not_published(api: Api) -> None:
    document = {
        "name": "No pool",
        "entry": {"trigger": {"api": True}},
        "start": "claim",
        "nodes": [{**CLAIM, "pool": "no-such-pool"}, MAIL, SORRY],
    }
    reply = api.admin("POST", "/v1/journeys?publish=true", document)
    assert reply.status == 400, reply.body
    assert [e["field"] for e in reply.body["errors"]] == ["nodes[0].pool"]


def test_erasure_removes_a_persons_claims_and_the_code_is_not_reissued(cloud: Any, api: Api) -> None:
    pool_id = new_pool(api, count=2, low_watermark=0)
    pools = pools_table(cloud)
    ana = claim_code(pool_id, "ana", "j-1", pools, NOW)
    assert isinstance(ana, Claimed)

    assert forget_profile("ana", pools) == 1

    assert pools.claim_of(pool_id, "j-1", "ana") is None
    bob = claim_code(pool_id, "bob", "j-1", pools, NOW)
    assert isinstance(bob, Claimed) and bob.code != ana.code
    assert api.admin("GET", f"/v1/coupons/pools/{pool_id}").body["remaining"] == 0
