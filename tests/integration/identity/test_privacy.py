"""Privacy on the local cloud: one-click unsubscribe with a signed token, SES bounces and complaints on the bus,
the contact answer of the internal API, export and erasure."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3

from services.common.manifest import invoke_env
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
    visit(api, "identify", {"anonymousId": "erase-phone", "userId": "erase-eve"}, signed_in=True)  # she logs in
    cloud.settle()
    document = api.admin("POST", "/v1/privacy/export", {"email": "eve@example.com"})
    assert document.status == 200, document.body
    assert len(document.body["identity"]["profiles"]) == 2
    assert len(document.body["identity"]["activity"]) == 4
    assert document.body["identity"]["traits"]["email"]["value"] == "eve@example.com"
    assert set(document.body["profileIds"]) == {p["profileId"] for p in document.body["identity"]["profiles"]}
    # every other service gave its part, for both of her profiles (segments heard of both)
    assert {p["profileId"] for p in document.body["segments"]["profiles"]} == set(document.body["profileIds"])
    assert document.body["journeys"] == {"entries": [], "messages": [], "devices": [], "couponCodes": []}
    assert set(document.body["content"]["visitorState"]) == set(document.body["profileIds"])
    profile_id = document.body["profileId"]

    erased = api.admin("POST", "/v1/privacy/erase", {"userId": "erase-eve"})
    assert erased.status == 200, erased.body
    assert set(erased.body["profileIds"]) == set(document.body["profileIds"])
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


@contextmanager
def reconfigured(cloud: Any, service: str, function: str, **changes: Any) -> Iterator[None]:
    """A function deployed with another configuration for the duration (a bad deployment), then restored."""
    lam = boto3.client("lambda", region_name=cloud.region)
    name = cloud.names.function_name(service, function)
    before = lam.get_function_configuration(FunctionName=name)
    lam.update_function_configuration(FunctionName=name, **changes)
    try:
        yield
    finally:
        lam.update_function_configuration(
            FunctionName=name, Handler=before["Handler"], Environment={"Variables": before["Environment"]["Variables"]}
        )


def test_an_export_a_service_fails_to_give_its_part_of_is_refused_naming_the_service(cloud: Any, api: Api) -> None:
    known(cloud, api, "export-fay", "fay@example.com")
    # When segments' export function fails (a deployment whose handler does not load)
    with reconfigured(cloud, "segments", "privacy", Handler="services.segments.handlers.privacy.gone"):
        refused = api.admin("POST", "/v1/privacy/export", {"userId": "export-fay"})
    # Then the answer is a problem naming segments (502), never a document with a section missing
    assert (refused.status, refused.content_type) == (502, PROBLEM), refused.body
    assert refused.body["service"] == "segments"
    assert refused.body["errors"][0]["field"] == "segments"
    assert "identity" not in refused.body

    # When identity cannot even ask content (its function is not where identity was told it is)
    identity_api = boto3.client("lambda", region_name=cloud.region).get_function_configuration(
        FunctionName=cloud.names.function_name("identity", "api")
    )
    variables = {**identity_api["Environment"]["Variables"], invoke_env("content.privacy"): "no-such-function"}
    with reconfigured(cloud, "identity", "api", Environment={"Variables": variables}):
        unavailable = api.admin("POST", "/v1/privacy/export", {"userId": "export-fay"})
    assert (unavailable.status, unavailable.content_type) == (503, PROBLEM), unavailable.body
    assert unavailable.body["service"] == "content"

    # And once both are back, the export is whole again
    whole = api.admin("POST", "/v1/privacy/export", {"userId": "export-fay"})
    assert whole.status == 200, whole.body
    assert {"identity", "segments", "journeys", "content"} <= set(whole.body)


def _listed(api: Api, limit: int) -> list[dict[str, Any]]:
    """Every entry of the suppression list, read page by page."""
    entries: list[dict[str, Any]] = []
    cursor = ""
    while True:
        page = api.admin("GET", f"/v1/privacy/suppressions?limit={limit}{cursor}")
        assert page.status == 200, page.body
        entries += page.body["suppressions"]
        if page.body["next"] is None:
            return entries
        cursor = f"&cursor={page.body['next']}"


def test_the_suppression_list_is_listed_newest_first_page_by_page(cloud: Any, api: Api) -> None:
    addresses = [f"list-{n}@example.com" for n in range(5)]
    for address in addresses:
        ses_notification(
            cloud,
            "Email Bounced",
            {
                "eventType": "Bounce",
                "bounce": {"bounceType": "Permanent", "bouncedRecipients": [{"emailAddress": address}]},
            },
        )
        cloud.settle()
        cloud.advance(dt.timedelta(minutes=1))  # each a minute after the last
    listed = _listed(api, limit=2)
    ours = [e for e in listed if e["email"] in addresses]
    assert [e["email"] for e in ours] == addresses[::-1]  # newest first, each once, across pages of two
    assert {e["reason"] for e in ours} == {"bounce"}
    assert [e["at"] for e in listed] == sorted((e["at"] for e in listed), reverse=True)
    assert not any(key.startswith("suppressed") for e in listed for key in e)  # the index's keys stay inside

    api.admin("DELETE", "/v1/privacy/suppressions/list-2@example.com")
    assert "list-2@example.com" not in {e["email"] for e in _listed(api, limit=100)}

    refused = api.admin("GET", "/v1/privacy/suppressions?cursor=not-a-cursor")
    assert refused.status == 400
    assert refused.body["errors"][0]["field"] == "cursor"
