"""Identity a public write key cannot spoof (docs/identity.md, "Trust"), played by an attacker over real HTTP on the
local cloud: with only the site's write key (it sits in every page) and a victim's email and user id, no request
joins the attacker's browser to her profile, reveals whether she is known or what she is targeted with, or makes
a journey email her. Then the paths that do verify an identity: the site's back-end signing the user id
(`context.userHash`), a server key, and the everyday newsletter form with an email nobody holds yet."""

from __future__ import annotations

import html
import re
import uuid
from typing import Any

import pytest

from services.common.access import AccessKeys
from services.common.identity_proof import user_hash
from tests.conftest import Api, identity_secret

BROWSER = {
    "User-Agent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Version/17.5 Safari/605.1.15"
}


def send(api: Api, kind: str, message: dict[str, Any], key: str | None = None, scheme: str = "basic") -> Any:
    reply = api.request("POST", f"/v1/{kind}", message, key=key or api.write_key, scheme=scheme, headers=BROWSER)
    assert reply.status == 200, reply.body
    return reply


def settle(cloud: Any) -> None:
    cloud.settle()
    cloud.settle_runs()
    cloud.advance("1m")
    cloud.settle()
    cloud.settle_runs()


def profile_of(api: Api, **identifier: str) -> dict[str, Any] | None:
    (kind, value), *_ = identifier.items()
    reply = api.admin("GET", f"/v1/profiles?{kind}={value}")
    return reply.body if reply.status == 200 else None


def timeline(api: Api, profile_id: str) -> list[dict[str, Any]]:
    return list(api.admin("GET", f"/v1/profiles/{profile_id}/timeline?limit=200").body["items"])


def hero(api: Api, key: str | None = None, **visitor: str) -> str:
    query = "&".join(f"{k}={v}" for k, v in visitor.items())
    reply = api.request("GET", f"/v1/decide?slot=trust-hero&{query}", key=key or api.write_key, headers=BROWSER)
    assert reply.status == 200, reply.body
    return str(reply.body["variantId"])


@pytest.fixture(scope="module")
def site(cloud: Any, api: Api) -> dict[str, Any]:
    """A VIP segment on a trait, a hero slot that shows VIPs their offer, a journey that emails whoever requests a
    demo, the site's identity secret and a server key; and Vera, a known VIP customer whose back-end signed in."""
    vip = api.admin(
        "POST", "/v1/segments", {"name": "VIPs", "condition": {"trait": "plan", "op": "equals", "value": "vip"}}
    )
    assert vip.status == 201, vip.body
    slot = api.admin("PUT", "/v1/content/slots/trust-hero", {"name": "Hero", "variants": [
        {"variantId": "vip-offer", "segmentId": vip.body["segmentId"], "content": {"title": "Your VIP offer"}},
        {"variantId": "everyone", "content": {"title": "Welcome"}},
    ]})  # fmt: skip
    assert slot.status == 200, slot.body
    journey = api.admin("POST", "/v1/journeys", {
        "name": "Demo follow-up",
        "entry": {"trigger": {"event": {"event": "Demo Requested"}}},
        "start": "mail",
        "nodes": [{"id": "mail", "type": "email", "subject": "Your demo, {{firstName}}", "html": "<p>See you</p>"}],
    })  # fmt: skip
    assert journey.status == 201, journey.body
    assert api.admin("POST", f"/v1/journeys/{journey.body['journeyId']}/publish").status == 200
    secret = identity_secret(cloud)
    server_key = cloud.create_key("server", "test-site", "shop back-end")
    vera = {"userId": f"vera-{uuid.uuid4().hex[:6]}", "anonymousId": f"vera-laptop-{uuid.uuid4().hex[:6]}"}
    vera["email"] = f"{vera['userId']}@example.com"
    send(api, "identify", {**{k: vera[k] for k in ("userId", "anonymousId")},
                           "traits": {"email": vera["email"], "firstName": "Vera", "plan": "vip"}},
         key=server_key, scheme="bearer")  # fmt: skip
    settle(cloud)
    vera["profileId"] = profile_of(api, userId=vera["userId"])["profileId"]  # type: ignore[index]
    assert hero(api, anonymousId=vera["anonymousId"]) == "vip-offer"  # the targeting works for her own device
    return {"secret": secret, "server_key": server_key, "vera": vera}


def test_an_attackers_claim_of_her_email_and_user_id_joins_nothing_and_reveals_nothing(
    cloud: Any, api: Api, site: dict[str, Any]
) -> None:
    vera = site["vera"]
    before = len(timeline(api, vera["profileId"]))
    emails_before = len(cloud.sent_emails())
    device = f"attacker-{uuid.uuid4().hex[:6]}"
    # the attacker claims her email, then her user id, from their own browser with the public write key
    claim = send(api, "identify", {"anonymousId": device, "traits": {"email": vera["email"]}})
    send(api, "identify", {"anonymousId": device, "userId": vera["userId"]})
    send(api, "track", {"anonymousId": device, "userId": vera["userId"], "event": "Demo Requested"})
    send(api, "page", {"anonymousId": device, "properties": {"path": "/pricing"}})
    settle(cloud)
    # the answer to a claim of a known email is the answer to any identify: nothing tells them she is known
    unknown = send(api, "identify", {"anonymousId": device + "-2", "traits": {"email": "nobody@example.org"}})
    assert (claim.status, sorted(claim.body)) == (unknown.status, sorted(unknown.body))
    # nothing landed in her timeline, and no journey emailed her
    assert len(timeline(api, vera["profileId"])) == before
    assert [m for m in cloud.sent_emails()[emails_before:] if vera["email"] in m.destinations["ToAddresses"]] == []
    # the attacker's browser has a profile of its own, without her identity, with the claims on record
    own = profile_of(api, anonymousId=device)
    assert own is not None and own["profileId"] != vera["profileId"]
    assert "email" not in own["traits"] and profile_of(api, email=vera["email"])["profileId"] == vera["profileId"]  # type: ignore[index]
    claimed = [a for a in timeline(api, own["profileId"]) if (a.get("context") or {}).get("unverifiedClaims")]
    assert claimed and "userId" not in claimed[0]
    # and decide shows them what their own device earned, not her offer: by device, or by her user id unsigned
    assert hero(api, anonymousId=device) == "everyone"
    assert hero(api, userId=vera["userId"]) == "everyone"
    assert hero(api, userId=vera["userId"], userHash="0" * 64) == "everyone"


def test_the_sites_back_end_signs_her_user_id_and_her_new_phone_joins_her_profile(
    cloud: Any, api: Api, site: dict[str, Any]
) -> None:
    vera = site["vera"]
    phone = f"vera-phone-{uuid.uuid4().hex[:6]}"
    send(api, "page", {"anonymousId": phone, "properties": {"path": "/shop"}})
    signed = user_hash(site["secret"], vera["userId"])
    send(api, "identify", {"anonymousId": phone, "userId": vera["userId"], "context": {"userHash": signed}})
    settle(cloud)
    assert profile_of(api, anonymousId=phone)["profileId"] == vera["profileId"]  # type: ignore[index]
    assert any(a.get("anonymousId") == phone and a["type"] == "page" for a in timeline(api, vera["profileId"]))
    assert hero(api, anonymousId=phone) == "vip-offer"
    assert hero(api, userId=vera["userId"], userHash=signed) == "vip-offer"


def test_a_server_key_is_trusted_and_may_validate_referral_codes(cloud: Any, api: Api, site: dict[str, Any]) -> None:
    vera, server = site["vera"], site["server_key"]
    tablet = f"vera-tablet-{uuid.uuid4().hex[:6]}"
    send(api, "identify", {"anonymousId": tablet, "userId": vera["userId"]}, key=server, scheme="bearer")
    settle(cloud)
    assert profile_of(api, anonymousId=tablet)["profileId"] == vera["profileId"]  # type: ignore[index]
    assert hero(api, key=server, userId=vera["userId"]) == "vip-offer"
    # a shop's checkout validates codes with its server key; the page's write key may not
    body = {"code": "ZZZZZZZZ", "email": "friend@example.com"}
    assert api.request("POST", "/v1/referrals/validate", body, key=server, scheme="bearer").body["status"] == "unknown"
    refused = api.request("POST", "/v1/referrals/validate", body, key=api.write_key)
    assert refused.status == 403 and refused.content_type.startswith("application/problem+json")
    # and a server key is no admin key
    assert api.request("GET", "/v1/segments", key=server, scheme="bearer").status == 403


def test_a_visitor_who_types_their_own_new_email_in_a_form_keeps_their_history(cloud: Any, api: Api) -> None:
    device = f"reader-{uuid.uuid4().hex[:6]}"
    email = f"{device}@example.net"
    send(api, "page", {"anonymousId": device, "properties": {"path": "/recipes/soup"}})
    send(api, "identify", {"anonymousId": device, "traits": {"email": email, "firstName": "Rea"}})
    settle(cloud)
    person = profile_of(api, email=email)
    assert person is not None and person["profileId"] == profile_of(api, anonymousId=device)["profileId"]  # type: ignore[index]
    assert person["traits"]["email"] == email
    assert [a["type"] for a in timeline(api, person["profileId"])].count("page") == 1


# ---- addresses only claimed, and double opt-in (docs/identity.md, "Trust") -----------------------------------


@pytest.fixture(scope="module")
def guide(api: Api) -> str:
    """A journey that emails whoever asks for the guide, again each time they ask."""
    journey = api.admin("POST", "/v1/journeys", {
        "name": "Guide",
        "entry": {"trigger": {"event": {"event": "Guide Requested"}}, "reentry": "whenNotInside"},
        "start": "mail",
        "nodes": [{"id": "mail", "type": "email", "subject": "Your guide, {{firstName}}", "html": "<p>Here</p>"}],
    })  # fmt: skip
    assert journey.status == 201, journey.body
    assert api.admin("POST", f"/v1/journeys/{journey.body['journeyId']}/publish").status == 200
    return str(journey.body["journeyId"])


def mails_to(cloud: Any, address: str, since: int = 0) -> list[Any]:
    return [m for m in cloud.sent_emails()[since:] if address in m.destinations["ToAddresses"]]


def newsletter_form(api: Api, device: str, email: str, key: str | None = None) -> None:
    """The everyday newsletter form: an email typed in a page and the box ticked, sent with a write key."""
    consent = {"consent": {"categoryPreferences": {"newsletter": True}}}
    send(api, "identify", {"anonymousId": device, "traits": {"email": email, "firstName": "Nia"}, "context": consent},
         key=key)  # fmt: skip


def confirmation_link(cloud: Any, message: Any) -> str:
    (link,) = {u for u in re.findall(r'href="([^"]+)"', message.body) if "/v1/consent/confirm?" in u}
    assert link.startswith(f"{cloud.url}/v1/consent/confirm?token=")
    return html.unescape(link)


def test_an_address_typed_in_a_form_gets_no_journey_email_until_its_owner_confirms_it(
    cloud: Any, api: Api, guide: str
) -> None:
    device = f"nia-{uuid.uuid4().hex[:6]}"
    email = f"{device}@example.net"
    start = len(cloud.sent_emails())
    # Given a visitor who subscribes in the newsletter form, twice, and asks for the guide
    newsletter_form(api, device, email)
    newsletter_form(api, device, email)
    settle(cloud)
    send(api, "track", {"anonymousId": device, "event": "Guide Requested"})
    settle(cloud)
    # Then the journey skipped its email (the address is only claimed), with the reason on record
    person = profile_of(api, email=email)
    assert person is not None and person["consent"].get("email_marketing") is None  # pending, not granted
    exported = api.admin("POST", "/v1/privacy/export", {"email": email}).body
    skips = [m for m in exported["journeys"]["messages"] if m["status"] == "skipped"]
    assert [m["detail"]["reason"] for m in skips] == [
        "unconfirmed address (only claimed on a public page; not confirmed)"
    ]
    # and one confirmation email arrived (two submissions, one email), with a signed link and nothing else to follow
    (confirmation,) = mails_to(cloud, email, start)
    assert confirmation.subject == "Please confirm your subscription"
    link = confirmation_link(cloud, confirmation)
    # When a mail scanner opens the link, nothing is confirmed (the page asks)
    page = api.request("GET", link.removeprefix(cloud.url))
    assert page.status == 200 and "<form" in page.body
    settle(cloud)
    assert profile_of(api, email=email)["consent"].get("email_marketing") is None  # type: ignore[index]
    # When she presses the button
    confirmed = api.request("POST", link.removeprefix(cloud.url))
    assert confirmed.status == 200
    settle(cloud)
    # Then her consent is granted by double opt-in, and the next guide she asks for is emailed to her
    consent = profile_of(api, email=email)["consent"]["email_marketing"]  # type: ignore[index]
    assert (consent["granted"], consent["source"]) == (True, "double-opt-in")
    send(api, "track", {"anonymousId": device, "event": "Guide Requested"})
    settle(cloud)
    assert [m.subject for m in mails_to(cloud, email, start)] == ["Please confirm your subscription", "Your guide, Nia"]
    # and following the link again changes nothing and says the same
    again = api.request("POST", link.removeprefix(cloud.url))
    assert (again.status, again.body) == (confirmed.status, confirmed.body)


def test_a_forged_or_foreign_confirmation_token_changes_nothing_and_reveals_nothing(
    cloud: Any, api: Api, guide: str
) -> None:
    device = f"noa-{uuid.uuid4().hex[:6]}"
    email = f"{device}@example.net"
    start = len(cloud.sent_emails())
    newsletter_form(api, device, email)
    settle(cloud)
    (confirmation,) = mails_to(cloud, email, start)
    token = confirmation_link(cloud, confirmation).partition("token=")[2]
    version, profile_id, issued, signature = token.split(".")
    forged = [
        f"{version}.{profile_id}.{issued}.{'A' * len(signature)}",  # a signature of their own
        f"{version}.{profile_id}.{int(issued) + 60}.{signature}",  # a later issue time
        f"{version}.{uuid.uuid4()}.{issued}.{signature}",  # another profile with this signature
        "c1.nobody.1.AAAAAAAAAAAAAAAAAAAAAA",
    ]
    answers = {
        (reply.status, reply.body) for reply in (api.request("POST", f"/v1/consent/confirm?token={t}") for t in forged)
    }
    settle(cloud)
    assert len(answers) == 1 and profile_of(api, email=email)["consent"].get("email_marketing") is None  # type: ignore[index]
    # the genuine token, by contrast, confirms, and its answer is the same page
    genuine = api.request("POST", f"/v1/consent/confirm?token={token}")
    settle(cloud)
    assert {(genuine.status, genuine.body)} == answers
    assert profile_of(api, email=email)["consent"]["email_marketing"]["granted"] is True  # type: ignore[index]


def test_a_source_that_opted_in_mails_the_addresses_its_forms_claim(cloud: Any, api: Api, guide: str) -> None:
    # Given a source whose form the site trusts (say it confirms addresses itself): `cxm keys settings --source
    # partner-form --mail-claimed-addresses yes --double-opt-in no`
    AccessKeys(cloud.keys._table).change_source_settings(
        "partner-form", mail_claimed_addresses=True, double_opt_in=False
    )
    partner = cloud.create_key("write", "partner-form", "partner landing page")
    device = f"pia-{uuid.uuid4().hex[:6]}"
    email = f"{device}@example.net"
    start = len(cloud.sent_emails())
    # When a visitor subscribes there and asks for the guide
    newsletter_form(api, device, email, key=partner)
    settle(cloud)
    send(api, "track", {"anonymousId": device, "event": "Guide Requested"}, key=partner)
    settle(cloud)
    # Then the guide goes at once, no confirmation is asked, and her consent is the form's
    assert [m.subject for m in mails_to(cloud, email, start)] == ["Your guide, Nia"]
    consent = profile_of(api, email=email)["consent"]["email_marketing"]  # type: ignore[index]
    assert (consent["granted"], consent["source"]) == (True, "event:partner-form")
