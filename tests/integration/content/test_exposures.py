"""Decisions on the local cloud: content's own read model (fed by bus events) targets slots, decide records what a
known visitor was served, consent, erasure and export reach it."""

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
from services.common.contracts.registry import SegmentEntered
from tests.conftest import Api

SLOT = "exposure-hero"


@pytest.fixture(scope="module")
def table(cloud: Any) -> Any:
    return boto3.resource("dynamodb", region_name=cloud.region).Table(cloud.table_name("content", "content"))


@pytest.fixture(scope="module")
def bus(cloud: Any) -> EventBridgePublisher:
    return EventBridgePublisher(boto3.client("events", region_name=cloud.region), cloud.names.bus())


@pytest.fixture(scope="module")
def recipes(api: Api) -> str:
    """A segment of recipe readers (its members come from SegmentEntered events in these tests)."""
    reply = api.admin(
        "POST",
        "/v1/segments",
        {"name": "Recipe readers", "condition": {"trait": "favouriteTopic", "op": "equals", "value": "recipes"}},
    )
    assert reply.status == 201, reply.body
    return str(reply.body["segmentId"])


@pytest.fixture(scope="module")
def hero(api: Api, recipes: str) -> str:
    """Given a home hero with a variant for recipe readers, one for Dutch visitors, and a default."""
    reply = api.admin(
        "PUT",
        f"/v1/content/slots/{SLOT}",
        {
            "name": "Home hero",
            "variants": [
                {"variantId": "recipes", "segmentId": recipes, "content": {"title": "Cook tonight"}},
                {
                    "variantId": "dutch",
                    "when": {"environment": "country", "op": "equals", "value": "NL"},
                    "content": {"title": "Welkom"},
                },
                {"variantId": "generic", "content": {"title": "Welcome"}},
            ],
        },
    )
    assert reply.status == 200, reply.body
    return SLOT


def known(cloud: Any, api: Api, who: str) -> str:
    """A visitor who told us who they are: identity holds a profile for their device, content saw the activity."""
    assert api.send("identify", {"anonymousId": f"{who}-device", "userId": who}).status == 200
    cloud.settle()
    return str(api.admin("GET", f"/v1/profiles?userId={who}").body["profileId"])


def decide(api: Api, anonymous_id: str, slot: str = SLOT, headers: dict[str, str] | None = None) -> str:
    reply = api.request("GET", f"/v1/decide?slot={slot}&anonymousId={anonymous_id}", key=api.write_key, headers=headers)
    assert reply.status == 200, reply.body
    assert set(reply.body) == {"slot", "variantId", "content"}  # nothing about the visitor
    return str(reply.body["variantId"])


def visitor_item(table: Any, anonymous_id: str) -> dict[str, Any]:
    return table.get_item(Key={"pk": f"VISITOR#a:{anonymous_id}", "sk": "VISITOR"}).get("Item") or {}


def exposure(table: Any, anonymous_id: str, slot: str = SLOT) -> dict[str, Any] | None:
    item = visitor_item(table, anonymous_id)
    if f"e:{slot}" not in item:
        return None
    return {
        "variant": item[f"e:{slot}"]["v"],
        "segment": item[f"e:{slot}"].get("s"),
        "first": item[f"f:{slot}"],
        "last": item[f"e:{slot}"]["at"],
        "hours": int(item[f"h:{slot}"]),
    }


def test_decide_records_the_exposure_of_a_known_visitor_and_nothing_for_an_unknown_one(
    cloud: Any, api: Api, table: Any, hero: str
) -> None:
    # Given Ana, known to identity (content saw her identify), and a device nobody has seen
    known(cloud, api, "exp-ana")
    stranger = f"stranger-{uuid.uuid4()}"

    # When both are served the hero
    now = iso(cloud.clock.now())
    assert decide(api, "exp-ana-device") == "generic"
    assert decide(api, stranger) == "generic"

    # Then Ana's exposure is recorded on her visitor item, and the stranger left nothing behind
    assert exposure(table, "exp-ana-device") == {
        "variant": "generic",
        "segment": None,
        "first": now,
        "last": now,
        "hours": 1,
    }
    assert visitor_item(table, stranger) == {}
    assert int(visitor_item(table, "exp-ana-device")["expiresAt"]) > cloud.clock.now().timestamp() + 365 * 86400


def test_targeting_follows_segment_events_and_the_request_and_exposures_count_hours(
    cloud: Any, api: Api, table: Any, bus: EventBridgePublisher, hero: str, recipes: str
) -> None:
    # Given Bo was served the default hero
    bo = known(cloud, api, "exp-bo")
    first = iso(cloud.clock.now())
    assert decide(api, "exp-bo-device") == "generic"
    # (a visitor from the Netherlands, by CloudFront's viewer header, sees the Dutch variant — nothing stored for
    # a device content never saw)
    assert decide(api, f"nl-{uuid.uuid4()}", headers={"CloudFront-Viewer-Country": "NL"}) == "dutch"

    # When he is served it again within the hour, nothing is written
    cloud.clock.advance_by(dt.timedelta(minutes=20))
    assert decide(api, "exp-bo-device") == "generic"
    assert exposure(table, "exp-bo-device") == {
        "variant": "generic",
        "segment": None,
        "first": first,
        "last": first,
        "hours": 1,
    }

    # When segments says he entered the recipe segment, the next decide serves and records the targeted variant
    bus.publish([envelope(SegmentEntered(profileId=bo, segmentId=recipes, sequence=1))])
    cloud.settle()
    switched = iso(cloud.clock.now())
    assert decide(api, "exp-bo-device") == "recipes"
    assert exposure(table, "exp-bo-device") == {
        "variant": "recipes", "segment": recipes, "first": first, "last": switched, "hours": 1
    }  # fmt: skip

    # When an hour later he is served it again, the new hour is counted
    cloud.advance("1h")
    later = iso(cloud.clock.now())
    assert decide(api, "exp-bo-device") == "recipes"
    assert exposure(table, "exp-bo-device") == {
        "variant": "recipes", "segment": recipes, "first": first, "last": later, "hours": 2
    }  # fmt: skip


def test_several_slots_in_one_call_and_unknown_slots_named(api: Api, hero: str) -> None:
    footer = api.admin(
        "PUT",
        "/v1/content/slots/exposure-footer",
        {"name": "Footer", "variants": [{"variantId": "plain", "content": {"text": "Bye"}}]},
    )
    assert footer.status == 200, footer.body
    reply = api.request(
        "GET", f"/v1/decide?slots={hero},exposure-footer&anonymousId=x-{uuid.uuid4()}", key=api.write_key
    )
    assert reply.status == 200, reply.body
    assert [(s["slot"], s["variantId"]) for s in reply.body["slots"]] == [
        (hero, "generic"),
        ("exposure-footer", "plain"),
    ]

    # A slot no one defined (deleted since, or a typo) is left out: the rest of the page still gets its content
    partly = api.request("GET", f"/v1/decide?slots=nope,{hero},gone&anonymousId=x", key=api.write_key)
    assert partly.status == 200, partly.body
    assert [(s["slot"], s["variantId"]) for s in partly.body["slots"]] == [(hero, "generic")]
    assert partly.body["unknown"] == ["nope", "gone"]
    assert reply.body["unknown"] == []
    # and when none of them exists, the answer is a 404 naming the first
    missing = api.request("GET", "/v1/decide?slots=nope,gone&anonymousId=x", key=api.write_key)
    assert missing.status == 404
    assert missing.body["errors"][0]["field"] == "slots"
    assert "nope" in missing.body["detail"]
    assert api.request("GET", "/v1/decide?slot=nope&anonymousId=x", key=api.write_key).status == 404


def test_a_visitor_who_refused_personalisation_gets_the_default_and_leaves_no_exposure(
    cloud: Any, api: Api, table: Any, bus: EventBridgePublisher, hero: str, recipes: str
) -> None:
    # Given Cleo, in the recipe segment, refuses personalisation
    cleo = known(cloud, api, "exp-cleo")
    bus.publish([envelope(SegmentEntered(profileId=cleo, segmentId=recipes, sequence=1))])
    cloud.settle()
    reply = api.admin("PUT", f"/v1/profiles/{cleo}/consent", {"personalisation": False})
    assert reply.status == 200, reply.body
    cloud.settle()

    # When she is served the hero, she gets the default, and nothing is stored
    assert decide(api, "exp-cleo-device") == "generic"
    assert exposure(table, "exp-cleo-device") is None


def test_erasure_removes_the_visitor_state_and_every_exposure_of_the_person_and_no_one_else_s(
    cloud: Any, api: Api, table: Any, hero: str
) -> None:
    # Given Eve and Cy were both served the hero
    eve = known(cloud, api, "exp-eve")
    known(cloud, api, "exp-cy")
    assert decide(api, "exp-eve-device") == "generic"
    assert decide(api, "exp-cy-device") == "generic"

    # When Eve is erased
    reply = api.admin("POST", "/v1/privacy/erase", {"userId": "exp-eve"})
    assert reply.status in (200, 202), reply.body
    cloud.settle()

    # Then nothing of hers is left in content's table; Cy keeps his
    left = [
        i for i in table.scan()["Items"] if eve in json.dumps(i, default=str) or "exp-eve" in json.dumps(i, default=str)
    ]
    assert left == []
    assert exposure(table, "exp-cy-device") is not None
    assert cloud.dead_letters() == {}


def test_the_privacy_export_lists_the_visitor_state_and_exposures(
    cloud: Any, api: Api, bus: EventBridgePublisher, hero: str, recipes: str
) -> None:
    # Given Flo, known and in the recipe segment, was served the hero
    flo = known(cloud, api, "exp-flo")
    bus.publish([envelope(SegmentEntered(profileId=flo, segmentId=recipes, sequence=1))])
    cloud.settle()
    served_at = iso(cloud.clock.now())
    assert decide(api, "exp-flo-device") == "recipes"

    # When identity asks content for her data (IAM-invoked internal API)
    response = boto3.client("lambda", region_name=cloud.region).invoke(
        FunctionName=cloud.names.function_name("content", "privacy"),
        Payload=json.dumps({"profileIds": [flo, "p-nobody"]}).encode(),
    )
    assert not response.get("FunctionError"), response["Payload"].read()
    document = json.loads(response["Payload"].read())

    # Then her exposure is listed beside what content knows of her
    assert document["exposures"] == {
        flo: [
            {
                "visitor": "a:exp-flo-device",
                "slotId": hero,
                "variantId": "recipes",
                "segmentId": recipes,
                "firstServedAt": served_at,
                "lastServedAt": served_at,
                "servedHours": 1,
            }
        ],
        "p-nobody": [],
    }
    assert document["visitorState"][flo]["members"][recipes]["in"] is True
    assert document["visitorState"]["p-nobody"] == {}


def test_an_experiments_audience_alone_takes_part_and_is_counted(cloud: Any, api: Api) -> None:
    # Given a banner slot and an experiment on it for visitors from the Netherlands only
    slot = {"name": "Banner", "variants": [{"variantId": "plain", "content": {"title": "Free delivery"}}]}
    assert api.admin("PUT", "/v1/content/slots/audience-banner", slot).status == 200
    experiment = {
        "name": "Dutch banner",
        "target": {"slotId": "audience-banner"},
        "variants": [
            {"id": "control", "content": {"title": "Gratis bezorging"}},
            {"id": "bold", "content": {"title": "Nu gratis!"}},
        ],
        "goal": {"event": "Order Completed"},
        "audience": {"environment": "country", "op": "equals", "value": "NL"},
    }
    saved = api.admin("PUT", "/v1/experiments/dutch-banner", experiment)
    assert saved.status == 200 and saved.body["audience"] == experiment["audience"], saved.body
    assert api.admin("POST", "/v1/experiments/dutch-banner/start").status == 200

    # When 30 Dutch and 10 other visitors are served the banner
    dutch = {
        decide(api, f"nl-{n}-{uuid.uuid4()}", "audience-banner", {"CloudFront-Viewer-Country": "NL"}) for n in range(30)
    }
    others = {
        decide(api, f"be-{n}-{uuid.uuid4()}", "audience-banner", {"CloudFront-Viewer-Country": "BE"}) for n in range(10)
    }

    # Then only the Dutch take part (both variants shown), the others see the slot, and only the Dutch are counted
    assert dutch == {"control", "bold"} and others == {"plain"}
    results = api.admin("GET", "/v1/experiments/dutch-banner/results").body
    assert sum(v["users"] for v in results["variants"]) == 30
    assert api.admin("POST", "/v1/experiments/dutch-banner/stop", {}).status == 200


def test_an_audience_naming_an_unknown_segment_is_refused_at_its_path(api: Api) -> None:
    experiment = {
        "name": "Nobody",
        "target": {"slotId": "audience-banner"},
        "variants": [{"id": "a", "content": {"title": "A"}}, {"id": "b", "content": {"title": "B"}}],
        "goal": {"event": "Order Completed"},
        "audience": {"any": [{"inSegment": "no-such-segment"}]},
    }
    refused = api.admin("PUT", "/v1/experiments/nobody", experiment)
    assert refused.status == 400
    assert [e["field"] for e in refused.body["errors"]] == ["audience.any[0].inSegment"]
    assert api.admin("GET", "/v1/experiments/nobody").status == 404
