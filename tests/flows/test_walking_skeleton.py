"""The walking skeleton: a page view travels through all five services, over real HTTP, on virtual time."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.conftest import Api, home_hero_slot

RECIPE_CONDITION = {
    "behaviour": {"type": "page", "where": [{"property": "path", "op": "startsWith", "value": "/recipes"}]},
    "op": "atLeast",
    "value": 2,
    "withinDays": 14,
}


@pytest.fixture(scope="module")
def marketing_setup(cloud: Any, api: Api) -> dict[str, str]:
    """Given a marketer who defined a recipe segment, a welcome journey on it and a targeted home-page slot."""
    segment = api.admin("POST", "/v1/segments", {"name": "Recipe readers", "condition": RECIPE_CONDITION})
    assert segment.status == 201, segment.body
    segment_id = segment.body["segmentId"]
    journey = api.admin(
        "POST",
        "/v1/journeys",
        {
            "name": "Recipe welcome",
            "trigger": {"segmentEntered": segment_id},
            "waitSeconds": 2 * 86400,
            "email": {
                "subject": "{{firstName}}, your recipes",
                "html": "<p>Hello {{firstName}}, cook with us.</p>",
                "text": "Hello {{firstName}}",
            },
        },
    )
    assert journey.status == 201, journey.body
    home_hero_slot(api, segment_id)
    return {"segment": segment_id, "journey": journey.body["journeyId"]}


def decided_variant(api: Api, anonymous_id: str) -> str:
    reply = api.request("GET", f"/v1/decide?slot=home-hero&anonymousId={anonymous_id}", key=api.write_key)
    assert reply.status == 200, reply.body
    assert "profileId" not in reply.body  # a public caller never learns the profile
    return str(reply.body["variantId"])


def test_a_recipe_reader_gets_the_welcome_email_after_two_days_and_the_targeted_hero(
    cloud: Any, api: Api, marketing_setup: dict[str, str]
) -> None:
    # Given Ana, an anonymous visitor who signs up (the site's back-end identifies her: a verified address)
    assert api.send("page", {"anonymousId": "ana-device", "properties": {"path": "/inspiration"}}).status == 200
    assert (
        api.backend(
            "identify",
            {
                "anonymousId": "ana-device",
                "userId": "ana-1",
                "traits": {"email": "Ana@Example.com", "firstName": "Ana"},
            },
        ).status
        == 200
    )
    cloud.settle()
    assert decided_variant(api, "ana-device") == "generic-hero"

    # When she reads two recipes
    for path in ("/recipes/pancakes", "/recipes/risotto"):
        assert api.send("page", {"anonymousId": "ana-device", "properties": {"path": path}}).status == 200
    cloud.settle()

    # Then the admin lookup by email shows her known profile with the page views
    profile = api.admin("GET", "/v1/profiles?email=ana@example.com")
    assert profile.status == 200, profile.body
    assert profile.body["traits"]["firstName"] == "Ana"
    paths = [a["properties"].get("path") for a in profile.body["activity"] if a["type"] == "page"]
    assert paths[:2] == ["/recipes/risotto", "/recipes/pancakes"]

    # And the home page shows her the recipe hero at once
    assert decided_variant(api, "ana-device") == "recipes-hero"

    # And the journey waits: no email yet, not after a day either
    running = cloud.wait_for(lambda: cloud.executions("RUNNING"))
    assert len(running) == 1
    assert cloud.sent_emails() == []
    cloud.advance("1d")
    time.sleep(0.2)
    assert cloud.sent_emails() == []

    # When the second day passes on the virtual clock
    cloud.advance("1d")
    emails = cloud.wait_for(cloud.sent_emails)

    # Then exactly one email, rendered with her first name, went to her address, and the run ended
    assert len(emails) == 1
    assert emails[0].destinations["ToAddresses"] == ["Ana@Example.com"]  # as she typed it
    assert emails[0].subject == "Ana, your recipes"
    assert "Hello Ana, cook with us." in emails[0].html
    cloud.wait_for(lambda: cloud.executions("SUCCEEDED"))
    assert cloud.dead_letters() == {}


def test_membership_ends_when_the_window_passes_without_any_new_event(
    cloud: Any, api: Api, marketing_setup: dict[str, str]
) -> None:
    # Given Bo, who read two recipes just now
    for path in ("/recipes/soup", "/recipes/bread"):
        assert api.send("page", {"anonymousId": "bo-device", "properties": {"path": path}}).status == 200
    cloud.settle()
    assert decided_variant(api, "bo-device") == "recipes-hero"

    # When 13 days pass he is still a member; when the 14-day window passes he leaves (the scheduled sweep)
    cloud.advance("13d")
    assert decided_variant(api, "bo-device") == "recipes-hero"
    cloud.advance("1d")
    cloud.settle()
    assert decided_variant(api, "bo-device") == "generic-hero"


def test_a_second_entry_does_not_start_the_journey_twice(cloud: Any, api: Api, marketing_setup: dict[str, str]) -> None:
    # Given Cy entered the segment, left it when the window passed, and enters it again
    for path in ("/recipes/a", "/recipes/b"):
        api.send("page", {"anonymousId": "cy-device", "properties": {"path": path}})
    cloud.settle()
    cloud.advance("15d")
    for path in ("/recipes/c", "/recipes/d"):
        api.send("page", {"anonymousId": "cy-device", "properties": {"path": path}})
    cloud.settle()
    assert decided_variant(api, "cy-device") == "recipes-hero"

    # Then the journey was entered once (re-entry: once), however often the segment is
    profile_id = api.admin("GET", "/v1/profiles?anonymousId=cy-device").body["profileId"]
    cy_runs = api.admin("GET", f"/v1/journeys/runs/{profile_id}").body["runs"]
    assert len(cy_runs) == 1
