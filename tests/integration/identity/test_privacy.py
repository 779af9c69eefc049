"""Privacy on the local cloud: one-click unsubscribe with a signed token, SES bounces and complaints on the bus,
the contact answer of the internal API, export and erasure."""

from __future__ import annotations

import json
from typing import Any

import boto3

from tests.conftest import Api
from tests.integration.identity.conftest import Tap, visit

PROBLEM = "application/problem+json"


def lookup(cloud: Any, request: dict[str, Any]) -> dict[str, Any]:
    """identity's internal API, invoked as another service would (IAM, direct Lambda invoke)."""
    response = boto3.client("lambda", region_name=cloud.region).invoke(
        FunctionName=cloud.names.function_name("identity", "lookup"), Payload=json.dumps(request).encode()
    )
    assert not response.get("FunctionError"), response["Payload"].read()
    return dict(json.loads(response["Payload"].read()))


def known(cloud: Any, api: Api, who: str, email: str) -> str:
    visit(
        api, "identify", {"anonymousId": f"{who}-device", "userId": who, "traits": {"email": email, "firstName": who}}
    )
    cloud.settle()
    return str(api.admin("GET", f"/v1/profiles?userId={who}").body["profileId"])


def test_one_click_unsubscribe_needs_a_valid_token_and_turns_email_consent_off(cloud: Any, api: Api, tap: Tap) -> None:
    profile_id = known(cloud, api, "unsub-ana", "unsub-ana@example.com")
    api.admin("PUT", f"/v1/profiles/{profile_id}/consent", {"email_marketing": True})
    contact = lookup(cloud, {"op": "contact", "profileId": profile_id})
    assert contact["consent"]["email_marketing"] is True
    token = contact["unsubscribeToken"]
    # A GET (a mail scanner following the link) only shows the confirmation page
    page = api.request("GET", f"/v1/privacy/unsubscribe?token={token}")
    assert page.status == 200
    assert 'name="List-Unsubscribe" value="One-Click"' in page.body
    assert lookup(cloud, {"op": "contact", "profileId": profile_id})["consent"]["email_marketing"] is True
    # A forged token is refused and changes nothing
    forged = api.request("POST", f"/v1/privacy/unsubscribe?token={token[:-4]}AAAA", raw=b"List-Unsubscribe=One-Click")
    assert (forged.status, forged.content_type, forged.body["errors"][0]["field"]) == (400, PROBLEM, "token")
    # The mail client's one-click POST (RFC 8058) unsubscribes, with no key, and reveals nothing about the person
    done = api.request(
        "POST",
        f"/v1/privacy/unsubscribe?token={token}",
        raw=b"List-Unsubscribe=One-Click",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert done.status == 200
    assert "unsub-ana" not in done.body
    assert lookup(cloud, {"op": "contact", "profileId": profile_id})["consent"]["email_marketing"] is False
    changed = tap.of("ConsentChanged", profileId=profile_id, purpose="email_marketing")
    assert [(e["data"]["granted"], e["data"]["source"]) for e in changed] == [(True, "admin"), (False, "unsubscribe")]


def ses_notification(cloud: Any, detail_type: str, detail: dict[str, Any]) -> None:
    """An SES event as its configuration set's EventBridge destination sends it: on the default bus."""
    boto3.client("events", region_name=cloud.region).put_events(
        Entries=[
            {
                "EventBusName": "default",
                "Source": "aws.ses",
                "DetailType": detail_type,
                "Detail": json.dumps({"mail": {"messageId": "ses-msg-1"}, **detail}),
            }
        ]
    )


def test_ses_bounces_and_complaints_put_addresses_on_the_suppression_list(cloud: Any, api: Api) -> None:
    profile_id = known(cloud, api, "bounce-bo", "Bounce.Bo@Example.com")
    assert lookup(cloud, {"op": "contact", "profileId": profile_id})["suppressed"] is False
    ses_notification(
        cloud,
        "Email Bounced",
        {
            "eventType": "Bounce",
            "bounce": {"bounceType": "Permanent", "bouncedRecipients": [{"emailAddress": "bounce.bo@example.com"}]},
        },
    )
    ses_notification(
        cloud,
        "Email Bounced",
        {
            "eventType": "Bounce",
            "bounce": {"bounceType": "Transient", "bouncedRecipients": [{"emailAddress": "t@x.io"}]},
        },
    )
    ses_notification(
        cloud,
        "Email Complaint Received",
        {"eventType": "Complaint", "complaint": {"complainedRecipients": [{"emailAddress": "spam-cy@example.com"}]}},
    )
    cloud.settle()
    contact = lookup(cloud, {"op": "contact", "profileId": profile_id})
    assert (contact["email"], contact["suppressed"]) == ("Bounce.Bo@Example.com", True)
    bounced = api.admin("GET", "/v1/privacy/suppressions/bounce.bo%40example.com")
    assert bounced.body["suppressed"] is True
    assert bounced.body["entry"]["reason"] == "bounce"
    assert api.admin("GET", "/v1/privacy/suppressions/spam-cy@example.com").body["entry"]["reason"] == "complaint"
    assert api.admin("GET", "/v1/privacy/suppressions/t@x.io").body["suppressed"] is False
    assert cloud.dead_letters() == {}
    # An operator can take an address off the list (a fixed mailbox)
    api.admin("DELETE", "/v1/privacy/suppressions/bounce.bo@example.com")
    assert lookup(cloud, {"op": "contact", "profileId": profile_id})["suppressed"] is False


def test_export_then_erasure_of_a_person_with_a_merged_history(cloud: Any, api: Api, tap: Tap) -> None:
    visit(api, "page", {"anonymousId": "erase-phone", "properties": {"path": "/recipes/a"}})
    visit(api, "page", {"anonymousId": "erase-laptop", "properties": {"path": "/history/b"}})
    visit(
        api, "identify", {"anonymousId": "erase-laptop", "userId": "erase-eve", "traits": {"email": "eve@example.com"}}
    )
    visit(api, "identify", {"anonymousId": "erase-phone", "userId": "erase-eve"})
    cloud.settle()
    document = api.admin("POST", "/v1/privacy/export", {"email": "eve@example.com"})
    assert document.status == 200, document.body
    assert len(document.body["profiles"]) == 2
    assert len(document.body["activity"]) == 4
    assert document.body["traits"]["email"]["value"] == "eve@example.com"
    profile_id = document.body["profileId"]

    erased = api.admin("POST", "/v1/privacy/erase", {"userId": "erase-eve"})
    assert erased.status == 200, erased.body
    assert set(erased.body["profileIds"]) == {p["profileId"] for p in document.body["profiles"]}
    # Nothing about her is found any more, by any identifier or profile id
    for query in ("email=eve@example.com", "userId=erase-eve", "anonymousId=erase-phone", "anonymousId=erase-laptop"):
        assert api.admin("GET", f"/v1/profiles?{query}").status == 404
    for old in erased.body["profileIds"]:
        assert api.admin("GET", f"/v1/profiles/{old}").status == 404
    assert lookup(cloud, {"op": "resolve", "anonymousId": "erase-phone"}) == {"profileId": None}
    # And every service is told, with every identifier
    (event,) = tap.of("ProfileErased", profileId=profile_id)
    assert {"anon:erase-phone", "anon:erase-laptop", "user:erase-eve", "email:eve@example.com"} <= set(
        event["data"]["identifiers"]
    )
    assert api.admin("DELETE", f"/v1/profiles/{profile_id}").status == 404
