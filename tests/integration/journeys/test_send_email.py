"""Journeys' send step on the local cloud: the sent email's links go through signed click URLs, it carries an open
pixel and the one-click unsubscribe headers; the journey's SES template holds the placeholders."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from typing import Any

import boto3
import pytest

from services.common.email_links import verify
from tests.conftest import Api

HTML = """<html><body>
<p>Hello {{firstName}}, your kettle is waiting.</p>
<p><a href="https://shop.example/cart?step=1&amp;src=mail">Back to your cart</a></p>
<p><a href="https://shop.example/tips">Tips</a> · <a href="mailto:help@shop.example">Help</a>
 · <a href="#top">Top</a></p>
<p><a href="{{unsubscribeUrl}}">Unsubscribe</a></p>
</body></html>"""


class Links(HTMLParser):
    """Hrefs and image sources of a rendered email, as a mail client sees them."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.images: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "a":
            self.hrefs.append(str(values.get("href")))
        if tag == "img":
            self.images.append(str(values.get("src")))


@pytest.fixture(scope="module")
def key(cloud: Any) -> bytes:
    secrets = boto3.client("secretsmanager", region_name=cloud.region)
    return str(secrets.get_secret_value(SecretId=cloud.names.secret_arn("link-signing"))["SecretString"]).encode()


@pytest.fixture(scope="module")
def journey(api: Api) -> dict[str, Any]:
    segment = api.admin("POST", "/v1/segments", {"name": "Open cart", "condition": {"trait": "cart", "op": "exists"}})
    assert segment.status == 201, segment.body
    reply = api.admin(
        "POST",
        "/v1/journeys",
        {
            "name": "Cart reminder",
            "trigger": {"segmentEntered": segment.body["segmentId"]},
            "waitSeconds": 3600,
            "email": {"subject": "{{firstName}}, your cart", "html": HTML, "text": "Hello {{firstName}}"},
        },
    )
    assert reply.status == 201, reply.body
    return dict(reply.body)


def known_profile(cloud: Any, api: Api, user: str) -> str:
    # a signed-in customer: the shop's back-end identifies her (a verified address)
    identified = api.backend(
        "identify", {"userId": user, "traits": {"email": f"{user}@example.com", "firstName": "Ana"}}
    )
    assert identified.status == 200
    cloud.settle()
    return str(api.admin("GET", f"/v1/profiles?userId={user}").body["profileId"])


def send_step(cloud: Any, journey: dict[str, Any], profile_id: str, execution: str) -> dict[str, Any]:
    """What the journey state machine's email node invokes (a retry sends the same task)."""
    task = {
        "kind": "email",
        "node": "email",
        "run": {"runId": "run-1", "journeyId": journey["journeyId"], "version": 1, "profileId": profile_id},
        "via": {"node": "wait", "branch": None, "until": None},
        "execution": execution,
        "enteredTime": "2026-03-02T10:00:00Z",
    }
    response = boto3.client("lambda", region_name=cloud.region).invoke(
        FunctionName=cloud.names.function_name("journeys", "send_email"), Payload=json.dumps(task).encode()
    )
    assert "FunctionError" not in response, response["Payload"].read()
    return dict(json.loads(response["Payload"].read()))


def test_the_journeys_template_holds_placeholders_and_the_definition_the_html_as_written(
    cloud: Any, api: Api, journey: dict[str, Any]
) -> None:
    (email_node,) = [n for n in journey["definition"]["nodes"] if n["type"] == "email"]
    assert email_node["html"] == HTML
    assert journey["trackedLinks"] == ["https://shop.example/cart?step=1&src=mail", "https://shop.example/tips"]
    stored = boto3.client("sesv2", region_name=cloud.region).get_email_template(
        TemplateName=f"journey-{journey['journeyId']}-v1-email"
    )["TemplateContent"]["Html"]
    assert 'href="{{cxmLink0}}"' in stored and 'href="{{cxmLink1}}"' in stored
    assert '<img src="{{cxmOpenUrl}}"' in stored and "https://shop.example" not in stored


def test_a_sent_email_tracks_its_links_and_opens_and_offers_one_click_unsubscribe(
    cloud: Any, api: Api, journey: dict[str, Any], key: bytes
) -> None:
    # Given Ana, a known customer, reaching the journey's email step
    profile_id = known_profile(cloud, api, "send-ana")
    sent_before = len(cloud.sent_emails())

    # When the step runs (and Step Functions retries it)
    outcome = send_step(cloud, journey, profile_id, "arn:aws:states:local:execution:journey:run-ana")
    assert outcome["status"] == "sent"
    assert send_step(cloud, journey, profile_id, "arn:aws:states:local:execution:journey:run-ana")["status"] == (
        "duplicate"
    )

    # Then one email went out, rendered for her
    emails = cloud.sent_emails()[sent_before:]
    assert len(emails) == 1
    (email,) = emails
    assert email.subject == "Ana, your cart"
    links = Links(email.html)
    now = cloud.clock.now()

    # And each http link goes through the click endpoint with a token for her, this message and the link
    click = f"{cloud.url}/v1/t/click/"
    clicks = [verify(h.removeprefix(click), key, now, "click") for h in links.hrefs if h.startswith(click)]
    assert [c.url for c in clicks] == ["https://shop.example/cart?step=1&src=mail", "https://shop.example/tips"]
    assert {(c.profile_id, c.message_id) for c in clicks} == {(profile_id, outcome["dedupeKey"])}
    # And the other links are as written, the unsubscribe link carries her token
    token = email.template_data["unsubscribeUrl"].partition("?token=")[2]
    assert token.startswith("u1.")
    unsubscribe = f"{cloud.url}/v1/privacy/unsubscribe?token={token}"
    assert [h for h in links.hrefs if not h.startswith(click)] == ["mailto:help@shop.example", "#top", unsubscribe]
    # And the open pixel carries an open token for her
    (pixel,) = links.images
    opened = verify(pixel.removeprefix(f"{cloud.url}/v1/t/open/"), key, now, "open")
    assert (opened.profile_id, opened.message_id) == (profile_id, outcome["dedupeKey"])
    # And the headers offer the one-click unsubscribe (RFC 8058)
    assert email.headers == [
        {"Name": "List-Unsubscribe", "Value": f"<{unsubscribe}>"},
        {"Name": "List-Unsubscribe-Post", "Value": "List-Unsubscribe=One-Click"},
    ]


def test_more_links_than_can_be_tracked_are_refused_before_anything_is_saved(api: Api) -> None:
    html = "".join(f'<a href="https://shop.example/p/{i}">{i}</a>' for i in range(101))
    before = len(api.admin("GET", "/v1/journeys").body["journeys"])
    reply = api.admin(
        "POST",
        "/v1/journeys",
        {
            "name": "Catalogue",
            "trigger": {"segmentEntered": "all"},
            "waitSeconds": 0,
            "email": {"subject": "Everything", "html": html},
        },
    )
    assert reply.status == 400
    assert [e["field"] for e in reply.body["errors"]] == ["email.html"]
    assert len(api.admin("GET", "/v1/journeys").body["journeys"]) == before
