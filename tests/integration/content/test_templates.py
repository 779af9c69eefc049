"""Email templates on the local cloud: refused on save with line and column, previewed for a chosen profile, sent
as a test through SES, rendered for journeys by the internal render function (a failure is that message's)."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from tests.conftest import Api

DIGEST = {
    "name": "Digest",
    "subject": "{{ profile.firstName | default: 'there' }}, this week",
    "html": "<h1>Hi {{ profile.firstName | default: 'there' }}</h1>\n"
    "{% if reader.known %}<p>Welcome back.</p>{% else %}<p>Nice to meet you.</p>{% endif %}\n"
    '<p><a href="https://www.example.com/recipes">Recipes</a></p>',
}


@pytest.fixture(scope="module")
def ana(cloud: Any, api: Api) -> str:
    identify = {
        "anonymousId": "tpl-ana-device",
        "userId": "tpl-ana",
        "traits": {"firstName": "Ana", "email": "ana@tpl.example"},
    }
    assert api.send("identify", identify).status == 200
    cloud.settle()
    return str(api.admin("GET", "/v1/profiles?userId=tpl-ana").body["profileId"])


@pytest.fixture(scope="module")
def digest(api: Api) -> str:
    reply = api.admin("PUT", "/v1/content/templates/tpl-digest", DIGEST)
    assert reply.status == 200, reply.body
    assert reply.body["version"] == 1
    return "tpl-digest"


def test_a_template_with_errors_is_refused_with_part_line_and_column_and_nothing_saved(api: Api) -> None:
    broken = {
        **DIGEST,
        "html": "<p>\n{% if reader.known %}\n<p>no end</p>",
        "subject": "Hi {{ profile.firstName | shout }}",
    }
    reply = api.admin("PUT", "/v1/content/templates/tpl-broken", broken)
    assert reply.status == 400
    assert reply.headers["content-type"] == "application/problem+json"
    fields = {e["field"]: e["message"] for e in reply.body["errors"]}
    assert set(fields) == {"html", "subject"}
    assert fields["html"].startswith("line 2, column 1")
    assert "shout" in fields["subject"]
    assert api.admin("GET", "/v1/content/templates/tpl-broken").status == 404


def test_preview_renders_for_a_chosen_profile_and_for_a_neutral_reader(api: Api, ana: str, digest: str) -> None:
    mine = api.admin("POST", f"/v1/content/templates/{digest}/preview", {"profileId": ana})
    assert mine.status == 200, mine.body
    assert mine.body["subject"] == "Ana, this week"
    assert "Welcome back." in mine.body["html"]
    assert mine.body["text"].startswith("Hi Ana")
    assert "Recipes (https://www.example.com/recipes)" in mine.body["text"]  # the produced plain-text part
    anyone = api.admin("POST", f"/v1/content/templates/{digest}/preview", {})
    assert anyone.body["subject"] == "there, this week"
    assert "Nice to meet you." in anyone.body["html"]


def test_a_test_send_goes_through_ses_to_the_address_given(cloud: Any, api: Api, ana: str, digest: str) -> None:
    reply = api.admin("POST", f"/v1/content/templates/{digest}/test-send", {"to": "me@brand.example", "profileId": ana})
    assert reply.status == 200, reply.body
    (sent,) = [m for m in cloud.sent_emails() if m.destinations["ToAddresses"] == ["me@brand.example"]]
    assert sent.subject == "[Test] Ana, this week"
    bad = api.admin("POST", f"/v1/content/templates/{digest}/test-send", {"to": "not an address"})
    assert bad.status == 400 and bad.body["errors"][0]["field"].endswith("to")


@pytest.mark.parametrize(
    "address", ['a"b@brand.example', "a>b@brand.example", '?"0\x0fVmb*>4@h!L^E.v4', "ä@brand.example"]
)
def test_a_test_send_to_an_address_ses_would_not_take_is_refused_naming_it(api: Api, digest: str, address: str) -> None:
    # (SES answered InvalidParameterValue, and the route a 500)
    reply = api.admin("POST", f"/v1/content/templates/{digest}/test-send", {"to": address})
    assert reply.status == 400, reply.body
    assert reply.content_type == "application/problem+json"
    assert [e["field"] for e in reply.body["errors"]] == ["to"]


def test_a_recipient_ses_refuses_is_a_problem_naming_the_address_not_a_server_error() -> None:
    # Given SES refusing the address (an unverified one while the account is in the sandbox)
    from botocore.exceptions import ClientError

    from services.content.adapters.email import SesTestMailer
    from services.content.ports import RecipientRefused

    class Sandbox:
        def send_email(self, **_: Any) -> dict[str, Any]:
            error = {"Error": {"Code": "MessageRejected", "Message": "Email address is not verified."}}
            raise ClientError(error, "SendEmail")  # type: ignore[arg-type]

    # When a test is sent, Then the refusal is a named domain error, not a crash
    with pytest.raises(RecipientRefused, match="not verified"):
        SesTestMailer(Sandbox(), "no-reply@brand.example").send_test("me@brand.example", "s", "<p>h</p>", "t")


def test_the_render_function_answers_journeys_and_names_a_failure_instead_of_raising(
    cloud: Any, ana: str, digest: str
) -> None:
    client = boto3.client("lambda", region_name=cloud.region)

    def render(request: dict[str, Any]) -> dict[str, Any]:
        response = client.invoke(
            FunctionName=cloud.names.function_name("content", "render"), Payload=json.dumps(request).encode()
        )
        assert not response.get("FunctionError"), response["Payload"].read()
        return dict(json.loads(response["Payload"].read()))

    rendered = render({"templateId": digest, "profileId": ana, "messageKey": "k-1", "journeyId": "j-1"})
    assert (rendered["subject"], rendered["templateVersion"], rendered["experiment"]) == ("Ana, this week", 1, None)
    assert render({"templateId": "tpl-nope", "profileId": ana}) == {
        "error": {"reason": "no content template 'tpl-nope'"}
    }


# ---- drafts and deletes ---------------------------------------------------------------------------------------


def test_a_draft_is_previewed_for_a_profile_without_being_saved(api: Api, ana: str, digest: str) -> None:
    saved = api.admin("GET", f"/v1/content/templates/{digest}").body
    draft = {**DIGEST, "subject": "{{ profile.firstName }}, a draft for {{ campaign }}", "preheader": "Unsaved"}
    # When the edited template is previewed for Ana, with a variable as a journey would pass it
    reply = api.admin(
        "POST", "/v1/content/templates/preview", {**draft, "profileId": ana, "variables": {"campaign": "May"}}
    )
    # Then it shows her data and the draft's subject and preheader ...
    assert reply.status == 200, reply.body
    assert reply.body["subject"] == "Ana, a draft for May"
    assert "Welcome back." in reply.body["html"] and "Unsaved</div>" in reply.body["html"]
    assert reply.body["text"].startswith("Hi Ana")
    neutral = api.admin("POST", "/v1/content/templates/preview", draft)
    assert neutral.status == 200 and neutral.body["subject"] == ", a draft for"
    # ... and nothing was saved: the template is the version it was, and no template is named after the route
    assert api.admin("GET", f"/v1/content/templates/{digest}").body == saved
    assert "preview" not in [t["id"] for t in api.admin("GET", "/v1/content/templates").body["templates"]]


def test_a_draft_with_a_liquid_error_is_refused_naming_its_part_and_line(api: Api) -> None:
    reply = api.admin("POST", "/v1/content/templates/preview", {**DIGEST, "html": "<p>\n{% for x in y %}\n<p>open"})
    assert reply.status == 400
    assert reply.headers["content-type"] == "application/problem+json"
    (error,) = reply.body["errors"]
    assert error["field"] == "html" and error["message"].startswith("line 2, column 1"), error
    missing = api.admin("POST", "/v1/content/templates/preview", {"html": "<p>Hi</p>"})
    assert missing.status == 400 and [e["field"] for e in missing.body["errors"]] == ["subject"]
    looping = api.admin(
        "POST", "/v1/content/templates/preview", {**DIGEST, "html": "{% for i in (1..100000) %}x{% endfor %}"}
    )
    assert looping.status == 400 and looping.body["errors"][0]["field"] == "template"  # as a saved one's preview


def test_preview_is_not_a_template_id(api: Api) -> None:
    reply = api.admin("PUT", "/v1/content/templates/preview", DIGEST)
    assert reply.status == 400 and [e["field"] for e in reply.body["errors"]] == ["templateId"], reply.body
    assert api.admin("GET", "/v1/content/templates/preview").status == 404


def test_a_deleted_template_is_gone_and_a_journey_s_send_of_it_fails_naming_it(cloud: Any, api: Api, ana: str) -> None:
    assert api.admin("PUT", "/v1/content/templates/tpl-old", DIGEST).status == 200
    reply = api.admin("DELETE", "/v1/content/templates/tpl-old")
    assert reply.status == 204, reply.body
    assert api.admin("GET", "/v1/content/templates/tpl-old").status == 404
    assert "tpl-old" not in [t["id"] for t in api.admin("GET", "/v1/content/templates").body["templates"]]
    # a journey's email node still naming it: content's render answers why, and that one message fails with it
    response = boto3.client("lambda", region_name=cloud.region).invoke(
        FunctionName=cloud.names.function_name("content", "render"),
        Payload=json.dumps({"templateId": "tpl-old", "profileId": ana, "journeyId": "j-1"}).encode(),
    )
    assert not response.get("FunctionError")
    assert json.loads(response["Payload"].read()) == {"error": {"reason": "no content template 'tpl-old'"}}


def test_deleting_an_unknown_template_is_a_404_naming_it(api: Api) -> None:
    reply = api.admin("DELETE", "/v1/content/templates/tpl-never")
    assert reply.status == 404
    assert [e["field"] for e in reply.body["errors"]] == ["templateId"]


def test_a_template_a_running_experiment_targets_is_not_deleted_until_it_stops(api: Api) -> None:
    assert api.admin("PUT", "/v1/content/templates/tpl-tested", DIGEST).status == 200
    experiment = {
        "name": "Subject line",
        "target": {"templateId": "tpl-tested"},
        "variants": [{"id": "control"}, {"id": "question", "subject": "Hungry?"}],
        "goal": {"click": True},
    }
    assert api.admin("PUT", "/v1/experiments/tpl-subject", experiment).status == 200
    assert api.admin("POST", "/v1/experiments/tpl-subject/start").status == 200
    refused = api.admin("DELETE", "/v1/content/templates/tpl-tested")
    assert refused.status == 409, refused.body
    assert [e["field"] for e in refused.body["errors"]] == ["templateId"]
    assert "tpl-subject" in refused.body["detail"]
    assert api.admin("GET", "/v1/content/templates/tpl-tested").status == 200
    assert api.admin("POST", "/v1/experiments/tpl-subject/stop", {}).status == 200
    assert api.admin("DELETE", "/v1/content/templates/tpl-tested").status == 204
