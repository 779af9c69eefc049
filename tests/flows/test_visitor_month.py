"""A visitor's month, replayed over real HTTP on virtual time: anonymous visits on a laptop and a phone, a form
fill, a cart, a login on the phone, a purchase, a one-click unsubscribe — and the one profile it all adds up to."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from tests.conftest import Api, signed

LAPTOP = {
    "user-agent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Safari/605.1.15",
    "cloudfront-viewer-country": "FR",
    "cloudfront-viewer-city": "Lyon",
}
PHONE = {
    "user-agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Mobile/15E148 Safari/604.1",
    "cloudfront-viewer-country": "FR",
    "cloudfront-viewer-city": "Paris",
}


class Visitor:
    """Ana's browsers: each sends Segment-spec messages with its own anonymous id, user agent and place."""

    def __init__(self, api: Api) -> None:
        self.api = api

    def send(self, device: str, kind: str, cloud: Any = None, **message: Any) -> None:
        """With `cloud`: the site signs who is logged in (`context.userHash`), as its back-end does at a login."""
        headers = LAPTOP if device == "laptop" else PHONE
        body = {"anonymousId": f"month-ana-{device}", **message}
        if cloud is not None:
            body = signed(cloud, body)
        reply = self.api.request("POST", f"/v1/{kind}", body, key=self.api.write_key, headers=headers)
        assert reply.status == 200, reply.body

    def page(self, device: str, path: str, **context: Any) -> None:
        url = f"https://shop.example{path}"
        self.send(device, "page", properties={"path": path, "url": url}, context={"page": {"url": url, **context}})


def contact_of(cloud: Any, profile_id: str) -> dict[str, Any]:
    """What journeys' send step asks identity before an email (the internal API, IAM-invoked)."""
    response = boto3.client("lambda", region_name=cloud.region).invoke(
        FunctionName=cloud.names.function_name("identity", "lookup"),
        Payload=json.dumps({"op": "contact", "profileId": profile_id}).encode(),
    )
    return dict(json.loads(response["Payload"].read()))


@pytest.fixture(scope="module")
def month(cloud: Any, api: Api) -> dict[str, Any]:
    ana = Visitor(api)
    # Day 1, laptop: she arrives from a Google search and reads two recipes (one session)
    ana.page("laptop", "/recipes/pancakes", referrer="https://www.google.com/search?q=pancakes")
    cloud.advance("5m")
    ana.page("laptop", "/recipes/risotto")
    # Day 3, phone: a spring newsletter link brings her to an inspiration page
    cloud.advance("2d")
    ana.page("phone", "/inspiration/spring?utm_source=newsletter&utm_medium=email&utm_campaign=spring")
    # Day 5, laptop: she fills in the newsletter form (an identify with her email and her consent)
    cloud.advance("2d")
    ana.send(
        "laptop",
        "identify",
        traits={"email": "Month.Ana@Example.com", "firstName": "Ana"},
        context={"consent": {"categoryPreferences": {"email_marketing": True, "tracking": True}}},
    )
    ana.send("laptop", "track", event="Newsletter Subscribed", properties={"form": "footer"})
    # Day 8, phone, still anonymous there: she puts a kettle in her cart
    cloud.advance("3d")
    ana.page("phone", "/products/kettle")
    ana.send("phone", "track", event="Product Added", properties={"product_id": "kettle", "price": 49.9})
    # Day 9, phone: she logs in with her email (her phone's history joins her profile) and buys the kettle
    cloud.advance("1d")
    ana.send("phone", "identify", cloud, traits={"email": "month.ana@example.com"})
    cloud.advance("10m")
    ana.send("phone", "track", event="Order Completed", properties={"order_id": "o-1", "revenue": 49.9})
    cloud.settle()
    profile_id = api.admin("GET", "/v1/profiles?email=month.ana@example.com").body["profileId"]
    # Day 15: from the next newsletter she unsubscribes in one click (RFC 8058), with the token the email carried
    cloud.advance("6d")
    token = contact_of(cloud, profile_id)["unsubscribeToken"]
    unsubscribed = api.request(
        "POST",
        f"/v1/privacy/unsubscribe?token={token}",
        raw=b"List-Unsubscribe=One-Click",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert unsubscribed.status == 200
    # Day 20, laptop: one more recipe
    cloud.advance("5d")
    ana.page("laptop", "/recipes/soup")
    cloud.settle()
    assert cloud.dead_letters() == {}
    return {"profileId": profile_id}


def test_one_profile_holds_both_devices_and_the_whole_month(api: Api, month: dict[str, Any]) -> None:
    profile = api.admin("GET", f"/v1/profiles/{month['profileId']}").body
    assert api.admin("GET", "/v1/profiles?anonymousId=month-ana-phone").body["profileId"] == month["profileId"]
    assert api.admin("GET", "/v1/profiles?anonymousId=month-ana-laptop").body["profileId"] == month["profileId"]
    assert profile["identities"]["anonymousIds"] == ["month-ana-laptop", "month-ana-phone"]
    assert profile["identities"]["emails"] == ["month.ana@example.com"]
    assert len(profile["mergedFrom"]) == 1  # the phone's anonymous profile
    assert profile["traits"]["firstName"] == "Ana"
    timeline = api.admin("GET", f"/v1/profiles/{month['profileId']}/timeline?limit=100").body["items"]
    assert len(timeline) == 10
    assert [i["type"] for i in timeline[:3]] == ["page", "track", "identify"]
    assert timeline[0]["properties"]["path"] == "/recipes/soup"
    assert timeline[-1]["properties"]["path"] == "/recipes/pancakes"


def test_the_computed_traits_add_up_the_month(api: Api, month: dict[str, Any]) -> None:
    computed = api.admin("GET", f"/v1/profiles/{month['profileId']}").body["computed"]
    assert computed["events"] == 10
    assert computed["pageViews"] == 5
    assert computed["sessions"] == 6  # days 1, 3, 5, 8, 9 and 20
    assert computed["pageViewsBySection"] == {"recipes": 3, "inspiration": 1, "products": 1}
    assert computed["purchases"] == 1
    assert computed["revenue"] == 49.9
    assert computed["openCart"] is False  # the kettle was bought
    assert computed["lastCampaign"]["name"] == "spring"
    assert computed["lastReferrer"] == {"type": "email", "source": "newsletter"}
    assert computed["devices"] == ["desktop/Mac OS X/Safari", "mobile/iOS/Mobile Safari"]
    assert (computed["city"], computed["country"]) == ("Lyon", "FR")
    assert computed["firstSeenAt"] < computed["lastSeenAt"]


def test_consent_and_the_unsubscribe_reach_the_contact_answer(cloud: Any, api: Api, month: dict[str, Any]) -> None:
    profile = api.admin("GET", f"/v1/profiles/{month['profileId']}").body
    assert profile["consent"]["tracking"]["granted"] is True
    assert profile["consent"]["email_marketing"]["granted"] is False
    assert profile["consent"]["email_marketing"]["source"] == "unsubscribe"
    contact = contact_of(cloud, month["profileId"])
    assert contact["email"] in ("Month.Ana@Example.com", "month.ana@example.com")
    assert (contact["firstName"], contact["suppressed"]) == ("Ana", False)
    assert contact["consent"] == {"tracking": True, "email_marketing": False, "personalisation": None}
