"""Browser SDKs pointed at the local cloud as they call it: analytics.js 2.0's one-letter endpoints with text/plain
bodies and the write key inside, its project settings; RudderStack's source config and its message shapes."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest

from services.events.handlers.tracking import ANALYTICS_NEXT_DIR
from tests.conftest import Api

from .conftest import Tap, assert_problem, get_raw, post_raw

TEXT = {"content-type": "text/plain"}

# analytics.js 2.0 posts `<apiHost>/<first letter of the type>`; each message carries the write key.
SHORT = [
    ("t", "track", {"anonymousId": "ajs-t", "event": "Signed Up", "properties": {"plan": "free"}}),
    ("p", "page", {"anonymousId": "ajs-p", "name": "Home", "properties": {"path": "/"}}),
    ("i", "identify", {"anonymousId": "ajs-i", "userId": "u-ajs", "traits": {"firstName": "Ana"}}),
    ("s", "screen", {"anonymousId": "ajs-s", "name": "Settings"}),
    ("g", "group", {"anonymousId": "ajs-g", "groupId": "acme", "traits": {"plan": "enterprise"}}),
    ("a", "alias", {"previousId": "ajs-anon", "userId": "u-ajs-alias"}),
]


def analytics_next(kind: str, write_key: str, **fields: Any) -> dict[str, Any]:
    """A message as @segment/analytics-next 1.84 builds it (its normalize step): the write key, `userId: null`
    before identify, its own metadata and integrations, sentAt and the page context."""
    return {
        "type": kind,
        "userId": None,
        "messageId": f"ajs-next-{kind}-{fields.get('anonymousId', 'x')}",
        "timestamp": "2026-01-05T09:00:00.000Z",
        "sentAt": "2026-01-05T09:00:00.100Z",
        "context": {
            "page": {"path": "/", "url": "http://shop.test/", "title": "Shop", "referrer": "", "search": ""},
            "userAgent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/130.0 Safari/537.36",
            "locale": "en-US",
            "library": {"name": "analytics.js", "version": "next-1.84.3"},
            "timezone": "Europe/Berlin",
        },
        "integrations": {},
        "properties": {},
        "writeKey": write_key,
        "_metadata": {"bundled": ["Segment.io"], "unbundled": [], "bundledIds": []},
        **fields,
    }


@pytest.mark.parametrize(("letter", "kind", "message"), SHORT, ids=[k for _, k, _ in SHORT])
def test_each_one_letter_endpoint_collects_a_text_plain_message_with_the_write_key_inside(
    api: Api, published: Tap, letter: str, kind: str, message: dict[str, Any]
) -> None:
    # Given a message as analytics.js 2.0 posts it: text/plain, the write key in the body, no Authorization header
    body = json.dumps(analytics_next(kind, api.write_key, **message)).encode()

    # When it is posted to the one-letter alias of its endpoint
    reply = post_raw(api, f"/v1/{letter}", body, TEXT)

    # Then it is collected as the long endpoint would, for the source of the key, and the key stays off the bus
    assert reply.status == 200, reply.body
    assert reply.body == {"success": True, "duplicate": False}
    (event,) = published.take()
    assert event["data"]["type"] == kind
    assert event["data"]["sourceId"] == "test-site"
    assert event["data"]["context"]["library"]["name"] == "analytics.js"
    assert "userId" not in event["data"] or event["data"]["userId"] == message.get("userId")
    assert api.write_key not in json.dumps(event)


def test_the_batching_endpoint_takes_what_analytics_next_sends(api: Api, published: Tap) -> None:
    # Given analytics.js 2.0's batching delivery: {writeKey, batch, sentAt} as text/plain with the key as Basic user
    batch = [
        analytics_next("page", api.write_key, anonymousId="ajs-b"),
        analytics_next("track", api.write_key, anonymousId="ajs-b", event="Added To Cart"),
    ]
    body = {"writeKey": api.write_key, "batch": batch, "sentAt": "2026-01-05T09:00:01.000Z"}

    reply = post_raw(api, "/v1/b", json.dumps(body).encode(), TEXT, key=api.write_key)

    assert reply.status == 200, reply.body
    assert reply.body["accepted"] == 2 and reply.body["rejected"] == []
    assert [e["data"]["type"] for e in published.take()] == ["page", "track"]


def test_a_rudderstack_message_is_collected_and_its_traits_reach_the_profile(
    cloud: Any, api: Api, published: Tap
) -> None:
    # Given an identify as RudderStack's SDK v3 posts it: traits in context.traits, `properties: null`, and an
    # anonymous page before it with `userId: ""` (its "no user yet")
    common = {"channel": "web", "anonymousId": "rs-anon-1", "integrations": {"All": True}, "event": None}
    page = {**common, "type": "page", "userId": "", "properties": {"path": "/"}, "messageId": "rs-1"}
    identify = {
        **common,
        "type": "identify",
        "userId": "rs-user-1",
        "properties": None,
        "context": {
            "traits": {"email": "rs@example.com", "plan": "pro"},
            "library": {"name": "RudderLabs JavaScript SDK"},
        },
        "messageId": "rs-2",
    }
    headers = {"content-type": "application/json;charset=UTF-8", "anonymousid": "cnMtYW5vbi0x", "sentat": "x"}

    # When both are posted to the long endpoints with the key as Basic user
    replies = [
        post_raw(api, f"/v1/{m['type']}", json.dumps(m).encode(), headers, key=api.write_key) for m in (page, identify)
    ]

    # Then both are collected, the empty userId as none, and the profile has the traits
    assert [r.status for r in replies] == [200, 200], [r.body for r in replies]
    events = [e["data"] for e in published.take()]
    assert [e["type"] for e in events] == ["page", "identify"]
    assert "userId" not in events[0] and events[1]["traits"]["email"] == "rs@example.com"
    cloud.settle()
    profile = api.admin("GET", "/v1/profiles?userId=rs-user-1")
    assert profile.status == 200, profile.body
    assert profile.body["traits"]["plan"] == "pro"


# --- bad input: the aliases refuse as the long endpoints do -------------------------------------------------------
def test_a_track_without_event_at_the_alias_names_the_field(api: Api, nothing_written: None) -> None:
    body = analytics_next("track", api.write_key, anonymousId="ajs-bad")
    assert_problem(post_raw(api, "/v1/t", json.dumps(body).encode(), TEXT), 400, "event")


def test_a_text_plain_body_that_is_not_json_is_refused(api: Api, nothing_written: None) -> None:
    reply = post_raw(api, "/v1/p", b'{"type": "page", "anonymousId": ', TEXT, key=api.write_key)
    assert_problem(reply, 400, "body")
    assert "JSON" in reply.body["detail"]


def test_a_batch_message_without_type_at_the_alias_names_it(api: Api, nothing_written: None) -> None:
    body = {"writeKey": api.write_key, "batch": [{"anonymousId": "ajs-bad", "event": "x"}]}
    assert_problem(post_raw(api, "/v1/b", json.dumps(body).encode(), TEXT), 400, "batch[0].type")


def test_neither_id_is_refused_naming_the_field_even_when_both_are_empty(api: Api, nothing_written: None) -> None:
    body = {"writeKey": api.write_key, "anonymousId": "", "userId": "", "event": "x"}
    assert_problem(post_raw(api, "/v1/t", json.dumps(body).encode(), TEXT), 400, "userId")


def test_an_unknown_write_key_in_the_body_is_refused(api: Api, nothing_written: None) -> None:
    body = analytics_next("track", "wk_not_a_key", anonymousId="ajs-bad", event="x")
    assert_problem(post_raw(api, "/v1/t", json.dumps(body).encode(), TEXT), 401, "authorization")


def test_no_write_key_anywhere_is_refused(api: Api, nothing_written: None) -> None:
    body = {"anonymousId": "ajs-bad", "event": "x"}
    assert_problem(post_raw(api, "/v1/t", json.dumps(body).encode(), TEXT), 401, "authorization")


# --- the configuration documents --------------------------------------------------------------------------------
def test_the_segment_project_settings_point_the_library_at_this_platform(cloud: Any, api: Api) -> None:
    # When analytics.js 2.0 (cdnURL = the platform) asks for its settings, without any header
    reply = get_raw(api, f"/v1/projects/{api.write_key}/settings", {"origin": "http://shop.test"})

    # Then it gets the Segment.io destination sending here with that key, and nothing else to load or report to
    assert reply.status == 200, reply.body
    assert reply.headers["access-control-allow-origin"] in ("*", "http://shop.test")
    assert "max-age" in reply.headers["cache-control"]
    segmentio = reply.body["integrations"]["Segment.io"]
    url = urlsplit(str(cloud.url))
    assert segmentio["apiKey"] == api.write_key
    assert (segmentio["protocol"], segmentio["apiHost"]) == (url.scheme, f"{url.netloc}/v1")
    assert list(reply.body["integrations"]) == ["Segment.io"]
    assert reply.body["metrics"]["sampleRate"] == 0
    assert not reply.body["remotePlugins"] and not any(reply.body["enabledMiddleware"].values())


def test_the_settings_of_an_unknown_write_key_are_refused(api: Api) -> None:
    reply = get_raw(api, "/v1/projects/wk_not_a_key/settings")
    assert_problem(reply, 401, "authorization")


@pytest.mark.parametrize("path", ["/sourceConfig/", "/sourceConfig"])
def test_the_rudderstack_source_config_is_what_the_sdk_requires(api: Api, path: str) -> None:
    # When RudderStack's SDK (configUrl = the platform) asks for its source config as it does: the key in the query
    # and as Basic user
    query = urlencode({"p": "npm", "v": "3.34.1", "build": "modern", "writeKey": api.write_key})
    reply = api.request("GET", f"{path}?{query}", key=api.write_key)

    # Then it gets an enabled source of the key, with a config object and no destination to download
    assert reply.status == 200, reply.body
    source = reply.body["source"]
    assert source["id"] == "test-site" and source["enabled"] is True
    assert isinstance(source["config"], dict) and source["destinations"] == []
    assert source["config"]["statsCollection"]["errors"]["enabled"] is False
    assert api.write_key not in json.dumps(reply.body)


def test_the_source_config_takes_the_key_from_the_query_alone_and_refuses_an_unknown_one(api: Api) -> None:
    assert get_raw(api, f"/sourceConfig/?writeKey={api.write_key}").status == 200
    assert_problem(get_raw(api, "/sourceConfig/?writeKey=wk_not_a_key"), 401, "authorization")
    assert_problem(get_raw(api, "/sourceConfig/"), 401, "authorization")


def test_a_write_key_in_the_url_opens_only_the_documents_not_the_collection(api: Api, nothing_written: None) -> None:
    # The URL carries the key only for the documents SDKs fetch; a collection call must present it as they do
    body = json.dumps({"anonymousId": "url-key", "event": "x"}).encode()
    assert_problem(post_raw(api, f"/v1/t?writeKey={api.write_key}", body, TEXT), 401, "authorization")


# --- analytics.js 2.0 itself, for Segment's snippet pointed here ---------------------------------------------------
def test_the_snippet_gets_the_library_and_its_chunks_from_the_platform(api: Api) -> None:
    # When the snippet (script host = the platform) loads the library, and the library one of its chunks
    library = get_raw(api, f"/analytics.js/v1/{api.write_key}/analytics.min.js", {"accept-encoding": "gzip"})
    chunk = next(ANALYTICS_NEXT_DIR.glob("queryString.bundle.*.js")).name
    bundle = get_raw(api, f"/analytics-next/bundles/{chunk}")

    # Then both are the pinned build's JavaScript, the chunk (named by its hash) cached for good
    assert library.status == 200 and library.headers["content-type"].startswith("application/javascript")
    assert bundle.status == 200 and "immutable" in bundle.headers["cache-control"]
    assert bundle.body == (ANALYTICS_NEXT_DIR / chunk).read_bytes()


def test_an_unknown_chunk_is_a_problem_naming_it(api: Api) -> None:
    assert_problem(get_raw(api, "/analytics-next/bundles/evil.bundle.0000.js"), 404, "bundle")
    assert_problem(get_raw(api, "/analytics-next/bundles/..%2Fstandalone.js"), 404, "bundle")
