"""A person's data export, over real HTTP on virtual time: Ana reads recipes, enters a segment, earns a score,
gets a journey's email and a targeted hero — and the admin export returns every service's part of it in one
document."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Api, home_hero_slot

RECIPES = {"type": "page", "where": [{"property": "path", "op": "startsWith", "value": "/recipes"}]}
# A browser's user agent: activity from an unknown client is machine-made, which neither scores nor counts as engagement
BROWSER = {"user-agent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko)"}


def send(api: Api, kind: str, message: dict[str, Any]) -> None:
    reply = api.request("POST", f"/v1/{kind}", message, key=api.write_key, headers=BROWSER)
    assert reply.status == 200, reply.body


@pytest.fixture(scope="module")
def marketing(api: Api) -> dict[str, str]:
    """Given an engagement plan, a recipe segment, a welcome journey on it and a targeted home-page slot."""
    plan = api.admin(
        "POST",
        "/v1/scoring/plans",
        {
            "name": "Engagement",
            "rules": [{"name": "recipe-view", "activity": RECIPES, "points": 5}],
            "tiers": [{"name": "cold"}, {"name": "warm", "min": 10}, {"name": "hot", "min": 50}],
        },
    )
    segment = api.admin(
        "POST",
        "/v1/segments",
        {"name": "Recipe readers", "condition": {"behaviour": RECIPES, "op": "atLeast", "value": 2, "withinDays": 14}},
    )
    assert (plan.status, segment.status) == (201, 201), (plan.body, segment.body)
    journey = api.admin(
        "POST",
        "/v1/journeys",
        {
            "name": "Recipe welcome",
            "trigger": {"segmentEntered": segment.body["segmentId"]},
            "waitSeconds": 86400,
            "email": {"subject": "{{firstName}}, your recipes", "html": "<p>Hello {{firstName}}</p>", "text": "Hi"},
        },
    )
    assert journey.status == 201, journey.body
    home_hero_slot(api, segment.body["segmentId"], "Cook")
    return {"plan": plan.body["planId"], "segment": segment.body["segmentId"], "journey": journey.body["journeyId"]}


@pytest.fixture(scope="module")
def ana(cloud: Any, api: Api, marketing: dict[str, str]) -> dict[str, Any]:
    """Ana signs up, reads two recipes, sees the recipe hero and, a day later, gets the welcome email."""
    visitor = {"anonymousId": "export-ana-browser"}
    send(api, "page", {**visitor, "properties": {"path": "/inspiration/spring"}})
    identify = {**visitor, "userId": "export-ana", "traits": {"email": "export.ana@example.com", "firstName": "Ana"}}
    assert api.backend("identify", identify).status == 200  # her account, created by the site's back-end
    cloud.settle()
    for path in ("/recipes/pancakes", "/recipes/risotto"):
        send(api, "page", {**visitor, "properties": {"path": path}})
    cloud.settle()
    hero = api.request("GET", "/v1/decide?slot=home-hero&anonymousId=export-ana-browser", key=api.write_key)
    assert hero.body["variantId"] == "recipes-hero", hero.body
    cloud.advance("1d")
    emails = cloud.wait_for(cloud.sent_emails)
    assert [e.subject for e in emails] == ["Ana, your recipes"]
    cloud.wait_for(lambda: cloud.executions("SUCCEEDED"))
    assert cloud.dead_letters() == {}
    return {"profileId": api.admin("GET", "/v1/profiles?userId=export-ana").body["profileId"]}


@pytest.fixture(scope="module")
def document(api: Api, ana: dict[str, Any]) -> dict[str, Any]:
    exported = api.admin("POST", "/v1/privacy/export", {"email": "export.ana@example.com"})
    assert exported.status == 200, exported.body
    return dict(exported.body)


def test_the_export_is_one_document_with_a_section_per_service(document: dict[str, Any], ana: dict[str, Any]) -> None:
    assert document["profileId"] == ana["profileId"]
    assert document["profileIds"] == [ana["profileId"]]
    assert {"exportedAt", "identity", "segments", "journeys", "content"} <= set(document)
    assert document["exportedAt"].startswith("2026-03-03T")  # a day after the visit, on the virtual clock


def test_identitys_part_holds_her_traits_and_every_event(document: dict[str, Any]) -> None:
    identity = document["identity"]
    assert identity["traits"]["email"]["value"] == "export.ana@example.com"
    assert identity["traits"]["firstName"]["value"] == "Ana"
    pages = [a["properties"]["path"] for a in identity["activity"] if a["type"] == "page"]
    assert pages == ["/recipes/risotto", "/recipes/pancakes", "/inspiration/spring"]
    assert [a["type"] for a in identity["activity"]].count("identify") == 1
    assert identity["computed"]["pageViews"] == 3


def test_segments_part_holds_her_membership_score_behaviour_and_the_traits_it_keeps(
    document: dict[str, Any], ana: dict[str, Any], marketing: dict[str, str]
) -> None:
    (part,) = document["segments"]["profiles"]
    assert part["profileId"] == ana["profileId"]
    (membership,) = part["memberships"]
    assert (membership["segmentId"], membership["name"]) == (marketing["segment"], "Recipe readers")
    assert membership["since"].startswith("2026-03-02T")
    (score,) = part["scores"]
    assert (score["planId"], score["name"], score["score"], score["tier"]) == (
        marketing["plan"],
        "Engagement",
        10.0,
        "warm",
    )
    (recipes,) = part["behaviour"]
    assert recipes["filter"] == {
        "type": "page",
        "where": [{"property": "path", "op": "startsWith", "value": "/recipes"}],
    }
    assert recipes["total"] == 2
    # the copy of her traits (and computed traits) segment conditions read
    assert (part["traits"]["email"], part["traits"]["firstName"], part["traits"]["sessions"]) == (
        "export.ana@example.com",
        "Ana",
        1,
    )
    assert {"ScoreChanged"} <= {a["type"] for a in part["announcements"]}


def test_journeys_part_holds_her_run_and_the_email_sent(document: dict[str, Any], marketing: dict[str, str]) -> None:
    (entry,) = document["journeys"]["entries"]
    assert entry["journeyId"] == marketing["journey"]
    assert entry["enteredAt"].startswith("2026-03-02T")
    (message,) = document["journeys"]["messages"]
    assert message["status"] == "sent"
    assert message["detail"]["messageId"]


def test_contents_part_holds_the_membership_her_hero_was_chosen_by(
    document: dict[str, Any], ana: dict[str, Any], marketing: dict[str, str]
) -> None:
    memberships = document["content"]["visitorState"][ana["profileId"]]["members"]
    assert memberships[marketing["segment"]]["in"] is True
