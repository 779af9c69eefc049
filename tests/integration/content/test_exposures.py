"""Content exposures on the local cloud: decide records what a known profile was served, erasure and export
reach them."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

import boto3
import pytest

from services.common.bus import EventBridgePublisher
from services.common.clock import iso
from services.common.contracts import envelope
from services.common.contracts.registry import ProfileErased, SegmentEntered
from services.content.adapters.dynamodb import DynamoContent
from services.content.domain.exposures import Serve
from tests.conftest import Api

SLOT = "exposure-hero"


@pytest.fixture(scope="module")
def repo(cloud: Any) -> DynamoContent:
    return DynamoContent(
        boto3.resource("dynamodb", region_name=cloud.region).Table(cloud.table_name("content", "content"))
    )


@pytest.fixture(scope="module")
def bus(cloud: Any) -> EventBridgePublisher:
    return EventBridgePublisher(boto3.client("events", region_name=cloud.region), cloud.names.bus())


@pytest.fixture(scope="module")
def hero(api: Api) -> str:
    """Given a home hero with a variant for recipe readers and a default."""
    reply = api.admin(
        "PUT",
        f"/v1/content/slots/{SLOT}",
        {
            "name": "Home hero",
            "variants": [
                {"variantId": "recipes", "segmentId": "seg-recipes", "content": {"title": "Cook tonight"}},
                {"variantId": "generic", "content": {"title": "Welcome"}},
            ],
        },
    )
    assert reply.status == 200, reply.body
    return SLOT


def known(cloud: Any, api: Api, who: str) -> str:
    """A visitor who told us who they are: identity holds a profile for their device."""
    assert api.send("identify", {"anonymousId": f"{who}-device", "userId": who}).status == 200
    cloud.settle()
    return str(api.admin("GET", f"/v1/profiles?userId={who}").body["profileId"])


def decide(api: Api, anonymous_id: str, slot: str = SLOT) -> str:
    reply = api.request("GET", f"/v1/decide?slot={slot}&anonymousId={anonymous_id}", key=api.write_key)
    assert reply.status == 200, reply.body
    return str(reply.body["variantId"])


def exposure_items(cloud: Any) -> list[dict[str, Any]]:
    table = boto3.resource("dynamodb", region_name=cloud.region).Table(cloud.table_name("content", "content"))
    return [i for i in table.scan()["Items"] if str(i["sk"]).startswith("EXPOSURE#")]


def stored(repo: DynamoContent, profile_id: str) -> dict[str, Any]:
    (exposure,) = repo.exposures(profile_id)
    return {
        "variant": exposure.variant_id,
        "segment": exposure.segment_id,
        "first": exposure.first_served_at,
        "last": exposure.last_served_at,
        "hours": exposure.served_hours,
    }


def test_decide_records_the_exposure_of_a_known_profile_and_nothing_for_an_unknown_visitor(
    cloud: Any, api: Api, repo: DynamoContent, hero: str
) -> None:
    # Given Ana, known to identity, and a device nobody has seen
    ana = known(cloud, api, "exp-ana")
    before = exposure_items(cloud)

    # When both are served the hero
    now = cloud.clock.now()
    assert decide(api, "exp-ana-device") == "generic"
    assert decide(api, f"stranger-{uuid.uuid4()}") == "generic"

    # Then Ana's exposure is recorded, and the stranger left nothing behind
    assert stored(repo, ana) == {"variant": "generic", "segment": None, "first": now, "last": now, "hours": 1}
    after = exposure_items(cloud)
    assert [i["profileId"] for i in after if i not in before] == [ana]
    (item,) = [i for i in after if i["profileId"] == ana]
    assert item["sk"] == f"EXPOSURE#{hero}"
    assert int(item["expiresAt"]) > now.timestamp() + 365 * 86400  # personal data: a retention TTL


def test_later_decides_update_the_exposure_once_per_hour_or_variant(
    cloud: Any, api: Api, repo: DynamoContent, bus: EventBridgePublisher, hero: str
) -> None:
    # Given Bo was served the default hero
    bo = known(cloud, api, "exp-bo")
    first = cloud.clock.now()
    assert decide(api, "exp-bo-device") == "generic"

    # When he is served it again within the hour, nothing is written
    cloud.clock.advance_by(dt.timedelta(minutes=20))
    assert decide(api, "exp-bo-device") == "generic"
    assert stored(repo, bo) == {"variant": "generic", "segment": None, "first": first, "last": first, "hours": 1}

    # When he enters the recipe segment, the next decide records the targeted variant (same hour: not counted)
    bus.publish([envelope(SegmentEntered(profileId=bo, segmentId="seg-recipes", sequence=1))])
    cloud.settle()
    switched = cloud.clock.now()
    assert decide(api, "exp-bo-device") == "recipes"
    assert stored(repo, bo) == {
        "variant": "recipes", "segment": "seg-recipes", "first": first, "last": switched, "hours": 1
    }  # fmt: skip

    # When an hour later he is served it again, the new hour is counted
    cloud.advance("1h")
    later = cloud.clock.now()
    assert decide(api, "exp-bo-device") == "recipes"
    assert stored(repo, bo) == {
        "variant": "recipes", "segment": "seg-recipes", "first": first, "last": later, "hours": 2
    }  # fmt: skip


def test_profile_erased_removes_every_exposure_of_the_person_and_no_one_else_s(
    cloud: Any, repo: DynamoContent, bus: EventBridgePublisher
) -> None:
    # Given Eve, whose phone profile was merged into her laptop's, was served two slots on each; Cy one
    eve, eve_phone, cy = (f"p-{who}-{uuid.uuid4()}" for who in ("eve", "eve-phone", "cy"))
    now = cloud.clock.now()
    for profile_id, slots in ((eve, ("hero", "footer")), (eve_phone, ("hero", "sidebar")), (cy, ("hero",))):
        repo.set_membership(profile_id, "seg-recipes", True, 1, now)
        for slot in slots:
            repo.record_exposure(profile_id, Serve(slot, "generic", None, now, new_hour=True))

    # When identity erases Eve (the survivor and the profile merged into it)
    bus.publish([envelope(ProfileErased(profileId=eve, profileIds=[eve, eve_phone], identifiers=["user:eve"]))])
    cloud.settle()

    # Then nothing of either of her profiles is left: no exposure, no membership
    for profile_id in (eve, eve_phone):
        assert repo.exposures(profile_id) == []
        assert repo.membership_record(profile_id) == {}
    # And Cy keeps his
    assert [e.slot_id for e in repo.exposures(cy)] == ["hero"]
    assert repo.membership_record(cy)["seg-recipes"]["in"] is True
    assert cloud.dead_letters() == {}


def test_the_privacy_export_lists_the_exposures_with_the_memberships(
    cloud: Any, api: Api, repo: DynamoContent, hero: str
) -> None:
    # Given Flo, known and in the recipe segment, was served the hero
    flo = known(cloud, api, "exp-flo")
    repo.set_membership(flo, "seg-recipes", True, 1, cloud.clock.now())
    served_at = cloud.clock.now()
    assert decide(api, "exp-flo-device") == "recipes"

    # When identity asks content for her data (IAM-invoked internal API)
    response = boto3.client("lambda", region_name=cloud.region).invoke(
        FunctionName=cloud.names.function_name("content", "privacy"),
        Payload=json.dumps({"profileIds": [flo, "p-nobody"]}).encode(),
    )
    assert not response.get("FunctionError"), response["Payload"].read()
    document = json.loads(response["Payload"].read())

    # Then her exposure is listed beside her memberships
    assert document["exposures"] == {
        flo: [
            {
                "slotId": hero,
                "variantId": "recipes",
                "segmentId": "seg-recipes",
                "firstServedAt": iso(served_at),
                "lastServedAt": iso(served_at),
                "servedHours": 1,
            }
        ],
        "p-nobody": [],
    }
    assert document["segmentMemberships"][flo]["seg-recipes"]["in"] is True
