"""Browser SDKs in the functional core: the settings documents they load, how their messages read (RudderStack's
empty userId, null properties), and where the guard finds their write key."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from services.common.access import Principal
from services.common.api import Guard
from services.common.problems import Problem
from services.events.domain.messages import SegmentMessage, TrackMessage, validate_message
from services.events.domain.sdk_settings import (
    SEGMENT_SHORT_PATHS,
    rudderstack_source_config,
    segment_project_settings,
)
from services.events.handlers.tracking import ANALYTICS_NEXT_DIR, ANALYTICS_NEXT_LOADER, ANALYTICS_NEXT_VERSION
from services.events.manifest import MANIFEST, SEGMENT_SHORT_ROUTES

SITE = Principal(role="write", source_id="site", key_id="k1")


class Keys:
    def lookup(self, key: str) -> Principal | None:
        return SITE if key == "wk_good" else None


GUARD = Guard(MANIFEST.function("api"), 1000, lambda: Keys())  # type: ignore[arg-type, return-value]


def request(route_key: str, *, path: dict[str, str] | None = None, query: dict[str, str] | None = None) -> Any:
    return {"routeKey": route_key, "headers": {}, "pathParameters": path, "queryStringParameters": query, "body": None}


# --- the documents --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("public_url", "protocol", "api_host"),
    [
        ("https://api.brand.example", "https", "api.brand.example/v1"),
        ("https://abc.execute-api.eu-west-1.amazonaws.com/", "https", "abc.execute-api.eu-west-1.amazonaws.com/v1"),
        ("https://brand.example/cxm", "https", "brand.example/cxm/v1"),
        ("http://127.0.0.1:8080", "http", "127.0.0.1:8080/v1"),
    ],
)
def test_segment_settings_send_to_the_public_api_with_the_key_asked_for(
    public_url: str, protocol: str, api_host: str
) -> None:
    settings = segment_project_settings("wk_good", public_url)
    segmentio = settings["integrations"]["Segment.io"]
    # analytics.js 2.0 posts to `${protocol}://${apiHost}/t` with `apiKey` as the write key
    assert (segmentio["protocol"], segmentio["apiHost"], segmentio["apiKey"]) == (protocol, api_host, "wk_good")


def test_segment_settings_leave_the_library_nothing_to_load_or_report_elsewhere() -> None:
    settings = segment_project_settings("wk_good", "https://api.brand.example")
    assert list(settings["integrations"]) == ["Segment.io"]  # no device-mode destination to download
    assert settings["metrics"] == {"sampleRate": 0}  # no metrics posted to api.segment.io
    assert settings["remotePlugins"] == [] and settings["enabledMiddleware"] == {}


def test_rudderstack_source_config_has_what_the_sdk_checks_and_names_no_key() -> None:
    config = rudderstack_source_config("site")
    source = config["source"]
    assert source["id"] == "site" and source["enabled"] is True
    assert isinstance(source["config"], dict) and source["destinations"] == []
    assert "wk_" not in str(config)


def test_every_short_path_is_declared_and_names_a_long_endpoint() -> None:
    assert {route.path for route in SEGMENT_SHORT_ROUTES} == {f"/v1/{letter}" for letter in SEGMENT_SHORT_PATHS}
    long_paths = {route.path for route in MANIFEST.function("api").routes}
    assert all(f"/v1/{kind}" in long_paths for kind in SEGMENT_SHORT_PATHS.values())


# --- the messages ---------------------------------------------------------------------------------------------
def test_an_empty_user_id_is_no_user_id() -> None:
    message = TrackMessage.model_validate({"anonymousId": "a", "userId": "", "event": "x"})
    assert message.userId is None and message.anonymousId == "a"


def test_two_empty_ids_are_refused_naming_the_field() -> None:
    refusal = validate_message({"type": "track", "anonymousId": "", "userId": "", "event": "x"}, 0)
    assert not isinstance(refusal, SegmentMessage)
    assert [e.field for e in refusal.errors] == ["batch[0].userId"]


def test_null_properties_traits_and_context_are_empty() -> None:
    message = SegmentMessage.model_validate(
        {"type": "identify", "userId": "u", "properties": None, "traits": None, "context": None}
    )
    assert (message.properties, message.traits, message.context) == ({}, {}, {})


def test_a_non_object_properties_is_still_refused() -> None:
    refusal = validate_message({"type": "track", "userId": "u", "event": "x", "properties": "text"}, 0)
    assert not isinstance(refusal, SegmentMessage)
    assert [e.field for e in refusal.errors] == ["batch[0].properties"]


# --- the guard ------------------------------------------------------------------------------------------------
def test_the_settings_documents_take_the_write_key_from_their_url() -> None:
    settings = request("GET /v1/projects/{writeKey}/settings", path={"writeKey": "wk_good"})
    source_config = request("GET /sourceConfig", query={"writeKey": "wk_good", "p": "npm"})
    assert GUARD.check(settings) == SITE
    assert GUARD.check(source_config) == SITE


def test_an_unknown_key_in_the_url_is_refused() -> None:
    with pytest.raises(Problem) as problem:
        GUARD.check(request("GET /v1/projects/{writeKey}/settings", path={"writeKey": "wk_bad"}))
    assert problem.value.status == 401


def test_a_collection_call_never_takes_the_key_from_its_url() -> None:
    call = {**request("POST /v1/t", query={"writeKey": "wk_good"}), "body": '{"event": "x"}'}
    with pytest.raises(Problem) as problem:
        GUARD.check(call)
    assert problem.value.status == 401


def test_the_header_still_comes_first() -> None:
    auth = "Basic " + base64.b64encode(b"wk_good:").decode()
    call = {**request("GET /sourceConfig", query={"writeKey": "wk_bad"}), "headers": {"Authorization": auth}}
    assert GUARD.check(call) == SITE


# --- analytics.js 2.0 as the platform serves it for Segment's snippet --------------------------------------------
ROOT = Path(__file__).resolve().parents[2]
AJS = ROOT / "node_modules" / "@segment" / "analytics-next"


def test_the_served_analytics_next_is_the_version_package_json_pins() -> None:
    pinned = json.loads((ROOT / "package.json").read_text())["devDependencies"]["@segment/analytics-next"]
    locked = json.loads((ROOT / "package-lock.json").read_text())["packages"]["node_modules/@segment/analytics-next"]
    installed = json.loads((AJS / "package.json").read_text())["version"]
    assert pinned == locked["version"] == installed == ANALYTICS_NEXT_VERSION, (
        "bump ANALYTICS_NEXT_VERSION in services/events/handlers/tracking.py with the pin, then copy the files again"
    )


def test_the_served_files_are_the_pinned_build_byte_for_byte_and_every_chunk_is_there() -> None:
    built = {p.name for p in (AJS / "dist" / "umd").glob("*.bundle.*.js")} | {ANALYTICS_NEXT_LOADER}
    served = {p.name for p in ANALYTICS_NEXT_DIR.glob("*.js")}
    copy = (
        "cp node_modules/@segment/analytics-next/dist/umd/{standalone,*.bundle.*}.js "
        "services/events/static/analytics-next/"
    )
    assert served == built, copy
    for name in built:
        assert (ANALYTICS_NEXT_DIR / name).read_bytes() == (AJS / "dist" / "umd" / name).read_bytes(), copy
    assert (ANALYTICS_NEXT_DIR / "LICENSE.MD").read_bytes() == (AJS / "LICENSE.MD").read_bytes()
