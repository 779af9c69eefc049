"""Bad input to the collection API gets a clear problem+json answer and writes nothing."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from tests.conftest import Api

PROBLEM = "application/problem+json"


def profile_count(cloud: Any) -> int:
    table = boto3.resource("dynamodb", region_name=cloud.region).Table(cloud.table_name("identity", "profiles"))
    return sum(1 for item in table.scan()["Items"] if item["sk"] == "PROFILE")


def assert_problem(reply: Any, status: int, field: str | None = None) -> None:
    assert reply.status == status, reply.body
    assert reply.content_type.startswith(PROBLEM)
    assert reply.body["status"] == status
    if field:
        assert field in [e["field"] for e in reply.body.get("errors", [])], reply.body


@pytest.fixture
def nothing_written(cloud: Any) -> Any:
    """Asserts after the test that no profile was created by what it sent."""
    before = profile_count(cloud)
    yield
    cloud.settle()
    assert profile_count(cloud) == before
    assert cloud.dead_letters() == {}


def test_malformed_json_is_refused(api: Api, nothing_written: None) -> None:
    reply = api.request("POST", "/v1/track", raw=b'{"event": "x", "anonymousId": ', key=api.write_key)
    assert_problem(reply, 400)
    assert "JSON" in reply.body["detail"]


def test_a_batch_message_without_type_names_the_field(api: Api, nothing_written: None) -> None:
    reply = api.request("POST", "/v1/batch", {"batch": [{"anonymousId": "a", "event": "x"}]}, key=api.write_key)
    assert_problem(reply, 400, "batch[0].type")


def test_a_track_without_event_names_the_field(api: Api, nothing_written: None) -> None:
    assert_problem(api.send("track", {"anonymousId": "a"}), 400, "event")


def test_a_wrongly_typed_field_is_refused(api: Api, nothing_written: None) -> None:
    assert_problem(
        api.send("track", {"anonymousId": "a", "event": "x", "properties": "not an object"}), 400, "properties"
    )


def test_a_600_kb_batch_is_refused_before_anything_is_read(api: Api, nothing_written: None) -> None:
    batch = {
        "batch": [
            {"type": "track", "anonymousId": f"big-{i}", "event": "x", "properties": {"pad": "x" * 6000}}
            for i in range(100)
        ]
    }
    assert len(json.dumps(batch)) > 600_000
    assert_problem(api.request("POST", "/v1/batch", batch, key=api.write_key), 413, "body")


def test_an_unknown_write_key_is_refused(api: Api, nothing_written: None) -> None:
    reply = api.request("POST", "/v1/track", {"anonymousId": "a", "event": "x"}, key="wk_not_a_key")
    assert_problem(reply, 401, "authorization")


def test_no_key_at_all_is_refused(api: Api, nothing_written: None) -> None:
    assert_problem(api.request("POST", "/v1/track", {"anonymousId": "a", "event": "x"}), 401, "authorization")


def test_a_write_key_cannot_call_admin_routes(api: Api) -> None:
    assert_problem(api.request("GET", "/v1/profiles?email=a@b.c", key=api.write_key), 403, "authorization")
    assert_problem(api.request("POST", "/v1/segments", {"name": "x"}, key=api.write_key), 403, "authorization")


def test_in_a_batch_valid_messages_are_kept_and_the_refused_one_is_named(cloud: Any, api: Api) -> None:
    reply = api.request(
        "POST",
        "/v1/batch",
        {
            "batch": [
                {"type": "page", "anonymousId": "kept-1", "properties": {"path": "/a"}},
                {"type": "track", "anonymousId": "refused-1"},
                {"type": "identify", "anonymousId": "kept-2", "traits": {"firstName": "Eve"}},
            ]
        },
        key=api.write_key,
    )
    assert reply.status == 200, reply.body
    assert reply.body["accepted"] == 2
    assert [r["index"] for r in reply.body["rejected"]] == [1]
    assert reply.body["rejected"][0]["errors"][0]["field"] == "batch[1].event"
    cloud.settle()
    assert api.admin("GET", "/v1/profiles?anonymousId=kept-1").status == 200
    assert api.admin("GET", "/v1/profiles?anonymousId=kept-2").body["traits"]["firstName"] == "Eve"
    assert_problem(api.admin("GET", "/v1/profiles?anonymousId=refused-1"), 404, "anonymousId")


def test_the_write_key_may_also_come_in_the_body(cloud: Any, api: Api) -> None:
    reply = api.request(
        "POST",
        "/v1/batch",
        {"writeKey": api.write_key, "batch": [{"type": "track", "anonymousId": "body-key", "event": "Opened"}]},
    )
    assert reply.status == 200, reply.body


def test_an_unknown_route_is_404(api: Api) -> None:
    assert api.request("GET", "/v1/nothing-here", key=api.write_key).status == 404


def test_admin_lookup_needs_exactly_one_identifier(api: Api) -> None:
    assert_problem(api.admin("GET", "/v1/profiles"), 400, "email")


def test_invalid_segment_definitions_name_the_path(api: Api) -> None:
    behaviour = {"behaviour": {"type": "page"}, "op": "atLeast", "value": 0, "withinDays": 999}
    reply = api.admin("POST", "/v1/segments", {"name": "x", "condition": {"all": [behaviour]}})
    assert_problem(reply, 400)
    fields = {e["field"] for e in reply.body["errors"]}
    assert {"condition.all[0].value", "condition.all[0].withinDays"} <= fields
    assert_problem(
        api.admin("POST", "/v1/segments", {"name": "x", "condition": {"behaviour": {"type": "click"}, "op": "never"}}),
        400,
        "condition.behaviour.type",
    )


def test_openapi_and_docs_are_public(api: Api) -> None:
    spec = api.request("GET", "/v1/openapi.json")
    assert spec.status == 200
    assert "/v1/batch" in spec.body["paths"]
    assert spec.body["paths"]["/v1/profiles"]["get"]["security"] == [{"adminKey": []}]
    assert api.request("GET", "/v1/docs").status == 200
