"""A journey email's links, over real HTTP on virtual time: the wrapped link redirects to the marketer's URL and
records the click on the recipient's profile; the List-Unsubscribe URL, POSTed as a mail client does (RFC 8058),
turns email marketing off."""

from __future__ import annotations

import http.client
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.conftest import Api

BROWSER = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4"
KETTLE = "https://shop.example/products/kettle?utm_source=journey&utm_medium=email"
HTML = """<html><body>
<p>{{firstName}}, the kettle you looked at is still here.</p>
<p><a href="https://shop.example/products/kettle?utm_source=journey&amp;utm_medium=email">See it again</a></p>
<p><a href="{{unsubscribeUrl}}">Unsubscribe</a></p>
</body></html>"""


class Hrefs(HTMLParser):
    def __init__(self, html: str) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.hrefs.append(str(dict(attrs).get("href")))


def raw_request(url: str, method: str = "GET", body: bytes | None = None, **headers: str) -> http.client.HTTPResponse:
    """One request as a mail client or browser makes it, without following redirects."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.netloc, timeout=30)
    connection.request(method, parts.path + ("?" + parts.query if parts.query else ""), body=body, headers=headers)
    response = connection.getresponse()
    response.read()
    connection.close()
    return response


@pytest.fixture(scope="module")
def email(cloud: Any, api: Api) -> dict[str, Any]:
    """Given Ana, who looked at the kettle twice and got the journey's reminder a day later."""
    segment = api.admin(
        "POST",
        "/v1/segments",
        {
            "name": "Kettle lookers",
            "condition": {
                "behaviour": {
                    "type": "page",
                    "where": [{"property": "path", "op": "startsWith", "value": "/products"}],
                },
                "op": "atLeast",
                "value": 2,
                "withinDays": 7,
            },
        },
    )
    assert segment.status == 201, segment.body
    journey = api.admin(
        "POST",
        "/v1/journeys",
        {
            "name": "Kettle reminder",
            "trigger": {"segmentEntered": segment.body["segmentId"]},
            "waitSeconds": 86400,
            "email": {"subject": "{{firstName}}, still thinking?", "html": HTML},
        },
    )
    assert journey.status == 201, journey.body
    identify = {"anonymousId": "links-ana", "userId": "links-ana", "traits": {"email": "ana@links.example"}}
    # signed in: the shop's back-end identifies her (a public page's claim of an address is not mailed)
    assert api.backend("identify", {**identify, "traits": {**identify["traits"], "firstName": "Ana"}}).status == 200
    for _ in range(2):
        assert api.send("page", {"anonymousId": "links-ana", "properties": {"path": "/products/kettle"}}).status == 200
    cloud.settle()
    cloud.wait_for(lambda: cloud.executions("RUNNING"))
    cloud.advance("1d")
    (sent,) = cloud.wait_for(cloud.sent_emails)
    cloud.wait_for(lambda: cloud.executions("SUCCEEDED"))
    profile_id = api.admin("GET", "/v1/profiles?userId=links-ana").body["profileId"]
    return {"sent": sent, "profileId": profile_id}


def test_the_wrapped_link_redirects_to_the_marketers_url_and_records_the_click_on_her_profile(
    cloud: Any, api: Api, email: dict[str, Any]
) -> None:
    # Given the email's link, which points at the platform, not at the shop
    (wrapped,) = [h for h in Hrefs(email["sent"].html).hrefs if h.startswith(f"{cloud.url}/v1/t/click/")]

    # When she clicks it an hour after it arrived, in her browser
    cloud.advance("1h")
    reply = raw_request(wrapped, **{"User-Agent": BROWSER})

    # Then she is sent to the kettle page
    assert reply.status == 302
    assert reply.getheader("Location") == KETTLE
    # And her timeline holds the click, with the link and the email it came from, as a human's
    cloud.settle()
    timeline = api.admin("GET", f"/v1/profiles/{email['profileId']}/timeline?type=track").body["items"]
    clicks = [a for a in timeline if a.get("event") == "Email Link Clicked"]
    assert len(clicks) == 1
    assert clicks[0]["properties"]["url"] == KETTLE
    assert clicks[0]["properties"]["emailMessageId"]
    assert cloud.dead_letters() == {}


def test_posting_the_list_unsubscribe_url_turns_email_marketing_off(
    cloud: Any, api: Api, email: dict[str, Any]
) -> None:
    # Given the List-Unsubscribe header of her email, and the one-click header that allows a POST
    headers = {h["Name"]: h["Value"] for h in email["sent"].headers}
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = headers["List-Unsubscribe"].removeprefix("<").removesuffix(">")
    assert url.startswith(f"{cloud.url}/v1/privacy/unsubscribe?token=")
    # the link in the body is the same address
    assert url in Hrefs(email["sent"].html).hrefs

    # When her mail client posts it (RFC 8058)
    reply = raw_request(
        url,
        "POST",
        b"List-Unsubscribe=One-Click",
        **{"Content-Type": "application/x-www-form-urlencoded", "User-Agent": BROWSER},
    )

    # Then she is unsubscribed from email marketing
    assert reply.status == 200
    cloud.settle()
    consent = api.admin("GET", f"/v1/profiles/{email['profileId']}").body["consent"]
    assert (consent["email_marketing"]["granted"], consent["email_marketing"]["source"]) == (False, "unsubscribe")
