"""Email open and click tracking on the local cloud, with tokens signed by the platform's `link-signing` secret;
and the tracker script."""

from __future__ import annotations

import datetime as dt
from typing import Any

import boto3
import pytest

from services.common.email_links import TrackingToken, sign
from services.events.domain.email_tracking import PIXEL
from tests.conftest import Api

from .conftest import PROBLEM, Tap, assert_problem, get_raw

HUMAN = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 "
    "Safari/605.1.15"
)


@pytest.fixture(scope="module")
def key(cloud: Any) -> bytes:
    """The secret the platform generated at deploy time (what journeys signs its links with)."""
    secrets = boto3.client("secretsmanager", region_name=cloud.region)
    return str(secrets.get_secret_value(SecretId=cloud.names.secret_arn("link-signing"))["SecretString"]).encode()


def sent(cloud: Any, ago: dt.timedelta = dt.timedelta(hours=1)) -> dt.datetime:
    return (cloud.clock.now() - ago).replace(microsecond=0)


def opened(key: bytes, message_id: str, issued: dt.datetime, profile: str = "p-reader") -> str:
    return sign(TrackingToken("open", profile, message_id, issued), key)


def clicked(key: bytes, message_id: str, url: str, issued: dt.datetime, profile: str = "p-reader") -> str:
    return sign(TrackingToken("click", profile, message_id, issued, url), key)


def test_an_open_serves_the_pixel_and_records_it_for_the_tokens_profile(
    cloud: Any, api: Api, published: Tap, key: bytes
) -> None:
    # Given an email sent an hour ago, opened in a mail client
    reply = get_raw(api, f"/v1/t/open/{opened(key, 'msg-open', sent(cloud))}", {"user-agent": HUMAN})

    # Then the client gets an uncacheable 1×1 GIF
    assert (reply.status, reply.content_type, reply.body) == (200, "image/gif", PIXEL)
    assert "no-store" in reply.headers["cache-control"]
    # And an "Email Opened" event names the profile the email went to, and is not machine-made
    (event,) = published.take()
    data = event["data"]
    assert (data["type"], data["event"], data["profileId"]) == ("track", "Email Opened", "p-reader")
    assert data["properties"] == {"emailMessageId": "msg-open"}
    assert "anonymousId" not in data and "userId" not in data
    assert data["enrichment"]["machine"] is False
    assert data["context"]["ip"] == "127.0.0.0"


@pytest.mark.parametrize(
    "token", ["garbage", "a.b", "x" * 5000, "eyJ9.AAAA"], ids=["garbage", "two-parts", "too-long", "bad-mac"]
)
def test_a_bad_open_token_still_gets_the_pixel_and_records_nothing(api: Api, published: Tap, token: str) -> None:
    reply = get_raw(api, f"/v1/t/open/{token}")
    assert (reply.status, reply.body) == (200, PIXEL)
    assert published.take() == []


def test_an_open_within_seconds_of_delivery_or_by_a_proxy_is_flagged_machine_made(
    cloud: Any, api: Api, published: Tap, key: bytes
) -> None:
    get_raw(api, f"/v1/t/open/{opened(key, 'msg-fast', sent(cloud, dt.timedelta(seconds=2)))}", {"user-agent": HUMAN})
    get_raw(
        api,
        f"/v1/t/open/{opened(key, 'msg-proxy', sent(cloud))}",
        {"user-agent": "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)"},
    )
    reasons = [(e["data"]["enrichment"]["machine"], e["data"]["enrichment"]["machineReason"]) for e in published.take()]
    assert reasons == [(True, "after-delivery"), (True, "scanner-agent")]


def test_a_click_redirects_to_the_link_in_the_token_and_records_it(
    cloud: Any, api: Api, published: Tap, key: bytes
) -> None:
    url = "https://shop.example.com/descaler?utm_source=newsletter&utm_medium=email"
    reply = get_raw(api, f"/v1/t/click/{clicked(key, 'msg-click', url, sent(cloud))}", {"user-agent": HUMAN})

    assert reply.status == 302
    assert reply.headers["location"] == url
    (event,) = published.take()
    data = event["data"]
    assert (data["event"], data["profileId"], data["properties"]) == (
        "Email Link Clicked",
        "p-reader",
        {"emailMessageId": "msg-click", "url": url},
    )
    assert data["enrichment"]["machine"] is False


def test_a_forged_or_tampered_click_never_redirects(cloud: Any, api: Api, published: Tap, key: bytes) -> None:
    # Given a genuine click token, one with its payload swapped for another URL's, and one signed with another key
    genuine = clicked(key, "msg-forge", "https://shop.example.com/a", sent(cloud))
    evil = clicked(key, "msg-forge", "https://evil.example.net/phish", sent(cloud))
    swapped = evil.split(".")[0] + "." + genuine.split(".")[1]
    foreign = clicked(b"not-our-secret", "msg-forge", "https://evil.example.net/phish", sent(cloud))
    open_token = opened(key, "msg-forge", sent(cloud))

    # Then each is refused with problem+json naming the token, and there is no Location to follow
    for token in (swapped, foreign, open_token, "garbage"):
        reply = get_raw(api, f"/v1/t/click/{token}")
        assert_problem(reply, 400, "token")
        assert "location" not in reply.headers
    assert published.take() == []


def test_an_expired_click_is_404_and_records_nothing(cloud: Any, api: Api, published: Tap, key: bytes) -> None:
    token = clicked(key, "msg-old", "https://shop.example.com/", sent(cloud, dt.timedelta(days=400)))
    reply = get_raw(api, f"/v1/t/click/{token}")
    assert_problem(reply, 404, "token")
    assert reply.content_type.startswith(PROBLEM)
    assert "location" not in reply.headers
    assert published.take() == []


def test_every_link_clicked_at_once_is_flagged_as_a_scanner(cloud: Any, api: Api, published: Tap, key: bytes) -> None:
    # Given an email whose three links a security gateway follows in the same second
    issued = sent(cloud)
    links = [f"https://shop.example.com/{name}" for name in ("a", "b", "c")]
    for url in links:
        assert (
            get_raw(api, f"/v1/t/click/{clicked(key, 'msg-burst', url, issued)}", {"user-agent": HUMAN}).status == 302
        )

    # Then the clicks after the first are flagged (the first cannot know what follows)
    flags = [
        (e["data"]["enrichment"]["machine"], e["data"]["enrichment"].get("machineReason")) for e in published.take()
    ]
    assert flags == [(False, None), (True, "link-burst"), (True, "link-burst")]

    # And a person clicking the same email's links minutes apart is not
    cloud.clock.advance(minutes=3)
    get_raw(api, f"/v1/t/click/{clicked(key, 'msg-burst', links[0], issued)}", {"user-agent": HUMAN})
    assert [e["data"]["enrichment"]["machine"] for e in published.take()] == [False]


def test_the_tracker_script_is_served_with_long_cache_headers_and_an_etag(api: Api) -> None:
    reply = get_raw(api, "/v1/tracker.js")
    assert reply.status == 200
    assert reply.content_type.startswith("application/javascript")
    assert "max-age=86400" in reply.headers["cache-control"]
    assert reply.body  # whatever the tracker build put there
    again = get_raw(api, "/v1/tracker.js", {"if-none-match": reply.headers["etag"]})
    assert again.status == 304
    assert again.headers["etag"] == reply.headers["etag"]


def test_an_open_reaches_the_profile_the_email_was_sent_to(cloud: Any, api: Api, published: Tap, key: bytes) -> None:
    # Given a known visitor's profile (its id is what journeys signs into the links of its emails)
    assert api.send("identify", {"userId": "u-reader", "traits": {"email": "reader@example.com"}}).status == 200
    cloud.settle()
    profile_id = api.admin("GET", "/v1/profiles?userId=u-reader").body["profileId"]
    published.take()

    # When the email is opened an hour after it was sent
    get_raw(api, f"/v1/t/open/{opened(key, 'msg-known', sent(cloud), profile=profile_id)}", {"user-agent": HUMAN})

    # Then identity attributes the open to that profile (the event carries `profileId`, no client id)
    (event,) = published.take()
    assert event["data"]["profileId"] == profile_id
    cloud.settle()
    activity = api.admin("GET", f"/v1/profiles/{profile_id}").body["activity"]
    assert [a.get("event") for a in activity if a.get("type") == "track"] == ["Email Opened"]
