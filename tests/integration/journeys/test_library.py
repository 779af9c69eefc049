"""Journey templates on the local cloud: listed with their parameters, installed with one call (admin API or
`cxm journeys install`) as drafts or published, refused by name when a parameter is missing."""

from __future__ import annotations

import contextlib
import io

import pytest

from infra import cli
from tests.conftest import Api


def test_the_templates_are_listed_with_their_parameters(api: Api) -> None:
    reply = api.admin("GET", "/v1/journeys/templates")
    assert reply.status == 200, reply.body
    templates = {t["name"]: t for t in reply.body["templates"]}
    assert {"cart-abandonment", "welcome-registration", "hot-lead-crm", "re-permission"} <= set(templates)
    assert templates["welcome-registration"]["parameters"]["reminderAfterSeconds"]["default"] == 1209600
    one = api.admin("GET", "/v1/journeys/templates/welcome-registration")
    assert one.body["definitions"][0]["nodes"][1]["timeoutSeconds"] == "${reminderAfterSeconds}"


def test_installing_a_template_makes_a_draft_with_the_given_copy_and_delays(api: Api) -> None:
    reply = api.admin(
        "POST",
        "/v1/journeys/templates/welcome-registration/install",
        {"parameters": {"registerUrl": "https://devices.example/register", "reminderAfterSeconds": 86400}},
    )
    assert reply.status == 201, reply.body
    (journey,) = reply.body["journeys"]
    assert journey["status"] == "draft"
    stored = api.admin("GET", f"/v1/journeys/{journey['journeyId']}").body["definition"]
    wait = next(n for n in stored["nodes"] if n["id"] == "registered")
    assert wait["timeoutSeconds"] == 86400
    assert "https://devices.example/register" in next(n for n in stored["nodes"] if n["id"] == "thanks")["html"]


def test_a_template_can_be_installed_published_and_its_journey_is_live(api: Api) -> None:
    reply = api.admin("POST", "/v1/journeys/templates/post-purchase/install", {"publish": True})
    assert reply.status == 201, reply.body
    (journey,) = reply.body["journeys"]
    assert journey["status"] == "active" and journey["version"] == 1


@pytest.mark.parametrize(
    ("name", "body", "status", "field"),
    [
        ("hot-lead-crm", {"parameters": {"crmUrl": "https://crm.example/hook"}}, 400, "parameters.planId"),
        ("welcome-registration", {"parameters": {"colour": "red"}}, 400, "parameters.colour"),
        ("no-such-template", {}, 404, "name"),
    ],
)
def test_a_missing_or_unknown_parameter_or_template_is_named(
    api: Api, name: str, body: dict[str, object], status: int, field: str
) -> None:
    reply = api.admin("POST", f"/v1/journeys/templates/{name}/install", body)
    assert reply.status == status, reply.body
    assert reply.headers["content-type"] == "application/problem+json"
    assert field in [e["field"] for e in reply.body["errors"]]


def test_cxm_journeys_install_installs_with_parameters(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CXM_URL", api.base_url)
    monkeypatch.setenv("CXM_ADMIN_KEY", api.admin_key)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert cli.main(["journeys", "install", "re-permission", "--param", "reminderAfterSeconds=3600"]) == 0
    journey_id = out.getvalue().split()[0]
    stored = api.admin("GET", f"/v1/journeys/{journey_id}").body["definition"]
    assert next(n for n in stored["nodes"] if n["id"] == "first-wait")["timeoutSeconds"] == 3600
    listed = io.StringIO()
    with contextlib.redirect_stdout(listed):
        assert cli.main(["journeys", "templates"]) == 0
    assert "cart-abandonment" in listed.getvalue() and "couponPool (required)" in listed.getvalue()
