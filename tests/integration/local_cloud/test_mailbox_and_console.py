"""The local cloud's mailbox (`GET /_local/mailbox`: every email it "sent", with headers, bodies and tracked links)
and the console it serves at `/console/` from `build/console/`."""

from __future__ import annotations

import http.client
import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest

from infra.local import cloud as local_cloud
from infra.local.mailbox import message_view, tracked_links
from tests.conftest import Api

HTML = """<html><body><p>{{firstName}}, the kettle is still here.</p>
<p><a href="https://shop.example/products/kettle">See it again</a></p>
<p><a href="{{unsubscribeUrl}}">Unsubscribe</a></p></body></html>"""


def raw_get(cloud: Any, path: str) -> tuple[int, dict[str, str], bytes]:
    """A GET sent as written (no client-side normalisation of `..`)."""
    connection = http.client.HTTPConnection(urlsplit(cloud.url).netloc, timeout=30)
    connection.request("GET", path)
    response = connection.getresponse()
    body = response.read()
    connection.close()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, body


@pytest.fixture(scope="module")
def journey_email(cloud: Any, api: Api) -> str:
    """Given Ana, who looked at the kettle twice and got the journey's reminder a day later."""
    segment = api.admin(
        "POST",
        "/v1/segments",
        {
            "name": "Kettle lookers",
            "condition": {
                "behaviour": {"type": "page", "where": [{"property": "path", "op": "startsWith", "value": "/p"}]},
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
    identify = {"anonymousId": "mb-ana", "userId": "mb-ana", "traits": {"email": "ana@mb.example", "firstName": "Ana"}}
    assert api.backend("identify", identify).status == 200
    for _ in range(2):
        assert api.send("page", {"anonymousId": "mb-ana", "properties": {"path": "/p/kettle"}}).status == 200
    cloud.settle()
    cloud.wait_for(lambda: cloud.executions("RUNNING"))
    cloud.advance("1d")
    cloud.wait_for(lambda: cloud.mailbox(to="ana@mb.example"))
    return "ana@mb.example"


def test_the_mailbox_shows_a_journey_email_with_headers_bodies_and_tracked_links(
    cloud: Any, api: Api, journey_email: str
) -> None:
    # When the developer opens the mailbox for Ana's address
    reply = api.admin("GET", f"/_local/mailbox?to={journey_email}")

    # Then her reminder is there, as sent: from, to, subject, the one-click unsubscribe headers, both bodies
    assert reply.status == 200, reply.body
    (message,) = reply.body["messages"]
    assert message["to"] == [journey_email]
    assert message["from"]
    assert message["subject"] == "Ana, still thinking?"
    assert message["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["headers"]["List-Unsubscribe"].startswith(f"<{cloud.url}/v1/privacy/unsubscribe")
    assert "the kettle is still here" in message["html"]
    # with the link to the shop wrapped by the click tracker (the unsubscribe link is not tracked)
    (link,) = message["trackedLinks"]
    assert link.startswith(f"{cloud.url}/v1/t/click/")
    # sent on virtual time, a day after she became a kettle looker
    assert message["sentAt"].startswith(cloud.clock.now().date().isoformat())
    # And the message can be read on its own
    one = api.admin("GET", f"/_local/mailbox/{message['id']}")
    assert one.status == 200 and one.body == message
    # And a click on the tracked link redirects to the shop
    status, headers, _ = raw_get(cloud, link.removeprefix(cloud.url))
    assert status == 302 and headers["location"] == "https://shop.example/products/kettle"


def test_a_template_test_send_is_in_the_mailbox_newest_first(cloud: Any, api: Api, journey_email: str) -> None:
    # Given a template, sent as a test to the marketer's address (a simple send: html and text)
    template = {"name": "Digest", "subject": "This week", "html": "<h1>Hi</h1>", "text": "Hi"}
    assert api.admin("PUT", "/v1/content/templates/mb-digest", template).status == 200
    reply = api.admin("POST", "/v1/content/templates/mb-digest/test-send", {"to": "me@brand.example"})
    assert reply.status == 200, reply.body

    # When the mailbox is read
    messages = api.admin("GET", "/_local/mailbox").body["messages"]

    # Then the test send comes first, with both bodies; the journey email after it
    assert messages[0]["to"] == ["me@brand.example"]
    assert messages[0]["subject"] == "[Test] This week"
    assert "<h1>Hi</h1>" in messages[0]["html"] and messages[0]["text"] == "Hi"
    assert [m["to"] for m in messages[1:]] == [[journey_email]]
    assert api.admin("GET", "/_local/mailbox?limit=1").body["count"] == 1


def test_the_mailbox_needs_an_admin_key_and_names_a_bad_parameter(cloud: Any, api: Api) -> None:
    assert api.request("GET", "/_local/mailbox").status == 401
    write = api.request("GET", "/_local/mailbox", key=api.write_key)
    assert write.status == 403 and write.content_type == "application/problem+json"
    for query in ("limit=0", "limit=abc", "limit=501"):
        bad = api.admin("GET", f"/_local/mailbox?{query}")
        assert bad.status == 400 and bad.content_type == "application/problem+json"
        assert bad.body["errors"][0]["field"] == "limit"
    missing = api.admin("GET", "/_local/mailbox/no-such-message")
    assert missing.status == 404 and missing.body["errors"][0]["field"] == "messageId"


def test_a_raw_mime_send_is_parsed_with_its_parts_and_headers(cloud: Any) -> None:
    # Given a raw MIME email sent through SES v2 (multipart: text and HTML, with a List-Unsubscribe header)
    sender = cloud.names.email_from()
    raw = (
        f"From: {sender}\r\nTo: raw@mb.example\r\nSubject: Raw news\r\n"
        "List-Unsubscribe: <https://brand.example/u>\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/alternative; boundary="b"\r\n\r\n'
        "--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nPlain news\r\n"
        '--b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p><a href="http://x/v1/t/click/abc">go</a></p>\r\n'
        "--b--\r\n"
    )
    ses = boto3.client("sesv2", region_name=cloud.region)
    ses.send_email(
        FromEmailAddress=sender,
        Destination={"ToAddresses": ["raw@mb.example"]},
        Content={"Raw": {"Data": raw.encode()}},
    )

    # When the mailbox is read for that address
    (message,) = cloud.mailbox(to="RAW@mb.example")

    # Then its parts and headers are there
    assert message["subject"] == "Raw news"
    assert message["headers"]["List-Unsubscribe"] == "<https://brand.example/u>"
    assert message["text"].strip() == "Plain news"
    assert message["trackedLinks"] == ["http://x/v1/t/click/abc"]


def test_tracked_links_are_the_click_tracker_hrefs_once_each() -> None:
    html = '<a href="https://a/v1/t/click/1">x</a><A HREF="https://a/v1/t/click/1">y</A><a href="https://b/">z</a>'
    assert tracked_links(html) == ["https://a/v1/t/click/1"]
    assert message_view(object(), None)["to"] == []


# ---- the console ----


def test_config_json_points_the_console_at_this_origin(cloud: Any) -> None:
    status, headers, body = raw_get(cloud, "/console/config.json")
    assert status == 200 and headers["content-type"] == "application/json"

    assert json.loads(body) == {"apiUrl": "", "auth": {"kind": "adminKey"}, "local": True}


def test_without_a_build_the_console_says_how_to_make_it(cloud: Any, tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setattr(local_cloud, "CONSOLE_BUILD", tmp_path / "missing")
    status, headers, body = local_cloud.console_response(tmp_path / "missing", "")
    assert status == 503 and headers["content-type"].startswith("text/plain")
    assert b"make console" in body


def test_the_console_build_is_served_with_its_content_types_and_nothing_outside_it(
    cloud: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    # Given a console build
    build = tmp_path / "console"
    (build / "assets").mkdir(parents=True)
    (build / "index.html").write_text("<!doctype html><div id=root></div>")
    (build / "assets" / "index-abc123.js").write_text("console.log(1)")
    (build / "assets" / "index-abc123.css").write_text("body{}")
    (build / "favicon.svg").write_text("<svg/>")
    (tmp_path / "secret.txt").write_text("not for the browser")
    monkeypatch.setattr(local_cloud, "CONSOLE_BUILD", build)

    # Then the app's page answers at /console and /console/, and for the app's own routes
    for path in ("/console", "/console/", "/console/journeys/j1"):
        status, headers, body = raw_get(cloud, path)
        assert status == 200, path
        assert headers["content-type"] == "text/html; charset=utf-8" and b"id=root" in body
    # And its files with their types (hashed assets cached for good)
    status, headers, body = raw_get(cloud, "/console/assets/index-abc123.js")
    assert status == 200 and headers["content-type"] == "text/javascript; charset=utf-8" and body == b"console.log(1)"
    assert "immutable" in headers["cache-control"]
    assert raw_get(cloud, "/console/assets/index-abc123.css")[1]["content-type"] == "text/css; charset=utf-8"
    assert raw_get(cloud, "/console/favicon.svg")[1]["content-type"] == "image/svg+xml"
    # And a missing asset is a 404, not the page
    assert raw_get(cloud, "/console/assets/gone.js")[0] == 404
    # And nothing outside the build, however the path is written
    for path in ("/console/../secret.txt", "/console/assets/../../secret.txt", "/console/%2e%2e/secret.txt"):
        status, _, body = raw_get(cloud, path)
        assert status == 404 and b"not for the browser" not in body, path
