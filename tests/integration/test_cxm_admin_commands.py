"""`cxm segments|journeys|profiles|privacy` against the local cloud over HTTP, as a new user types them: readable
tables by default, the API's JSON unchanged with --json, and a refusal as one line naming the field, with a non-zero
exit."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest

from infra import cli
from infra.cli.api import refusal
from tests.conftest import Api

REPO = Path(__file__).resolve().parents[2]
AMSTERDAM = {"trait": "city", "op": "equals", "value": "Amsterdam"}

Cxm = Callable[..., str]


@pytest.fixture(autouse=True)
def admin_api(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """The commands reach the local cloud as they reach a deployed stack: CXM_URL and CXM_ADMIN_KEY."""
    monkeypatch.setenv("CXM_URL", api.base_url)
    monkeypatch.setenv("CXM_ADMIN_KEY", api.admin_key)


@pytest.fixture
def cxm(capsys: pytest.CaptureFixture[str]) -> Cxm:
    """Run one command; its stdout (it must succeed)."""

    def run(*argv: str) -> str:
        capsys.readouterr()
        assert cli.main(list(argv)) == 0
        return capsys.readouterr().out

    return run


def refused(*argv: str) -> str:
    """Run one command that must fail; its one-line error."""
    with pytest.raises(SystemExit) as failed:
        cli.main(list(argv))
    message = str(failed.value.code)
    assert failed.value.code not in (0, None) and "\n" not in message
    return message


def row(out: str, first: str) -> list[str]:
    """The words of the one line that starts with `first` (a table's first cell, a label)."""
    (line,) = [line.split() for line in out.splitlines() if line.split()[:1] == [first]]
    return line


def segment_file(tmp_path: Path, name: str) -> Path:
    path = tmp_path / "segment.json"
    path.write_text(json.dumps({"name": name, "condition": AMSTERDAM, "description": "Our city"}))
    return path


@pytest.fixture(scope="module")
def person(cloud: Any, api: Api) -> str:
    """Given a known visitor in Amsterdam, identified by the site."""
    email = f"ana-{uuid.uuid4().hex[:8]}@example.com"
    reply = api.send("identify", {"userId": email, "traits": {"email": email, "city": "Amsterdam", "firstName": "Ana"}})
    assert reply.status == 200, reply.body
    cloud.settle()
    return email


# ---- segments ---------------------------------------------------------------------------------------------------


def test_a_segment_is_created_from_a_file_then_listed_and_shown(cloud: Any, api: Api, cxm: Cxm, tmp_path: Path) -> None:
    # When a marketer creates a segment from a file
    created = cxm("segments", "create", "-f", str(segment_file(tmp_path, "Amsterdammers")))
    # Then it is described, with how to follow its backfill
    segment_id = row(created, "Segment")[1]
    assert row(created, "Name") == ["Name", "Amsterdammers"]
    assert row(created, "Description") == ["Description", "Our", "city"]
    assert f"cxm segments show {segment_id}" in created
    assert api.admin("GET", f"/v1/segments/{segment_id}").body["name"] == "Amsterdammers"
    cloud.settle()
    # And the list has a row for it, and its details show the condition, size and finished backfill
    assert row(cxm("segments", "list"), segment_id)[1:3] == ["Amsterdammers", "1"]
    shown = cxm("segments", "show", segment_id)
    assert row(shown, "Segment") == ["Segment", segment_id]
    assert row(shown, "Size") == ["Size", "0"]
    assert row(shown, "Backfill")[1:3] == ["done:", "4/4"]
    assert '"trait": "city"' in shown and '"value": "Amsterdam"' in shown


def test_segments_json_is_the_apis_answer(
    cloud: Any, api: Api, cxm: Cxm, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # When a script pipes a definition in (-f -) and asks for JSON
    monkeypatch.setattr("sys.stdin", io.StringIO(segment_file(tmp_path, "Canal side").read_text()))
    created = json.loads(cxm("segments", "create", "--json", "-f", "-"))
    # Then it gets the API's answers
    assert created["name"] == "Canal side" and created["version"] == 1
    cloud.settle()
    assert json.loads(cxm("segments", "list", "--json")) == api.admin("GET", "/v1/segments").body
    path = f"/v1/segments/{created['segmentId']}"
    assert json.loads(cxm("segments", "show", created["segmentId"], "--json")) == api.admin("GET", path).body


def test_a_bad_segment_file_is_refused_before_any_call(api: Api, tmp_path: Path) -> None:
    before = api.admin("GET", "/v1/segments").body
    assert refused("segments", "create", "-f", str(tmp_path / "missing.json")) == (
        f"error: no such file: {tmp_path / 'missing.json'}"
    )
    broken = tmp_path / "broken.json"
    broken.write_text('{"name": "Half", "condition": ')
    assert refused("segments", "create", "-f", str(broken)).startswith(f"error: {broken} is not JSON: Expecting value")
    listed = tmp_path / "list.json"
    listed.write_text("[]")
    assert "must hold one JSON object" in refused("segments", "create", "-f", str(listed))
    assert api.admin("GET", "/v1/segments").body == before


def test_a_segment_the_api_refuses_is_one_line_naming_the_field(tmp_path: Path) -> None:
    nameless = tmp_path / "nameless.json"
    nameless.write_text(json.dumps({"name": "", "condition": AMSTERDAM}))
    assert refused("segments", "create", "-f", str(nameless)) == (
        "error: Bad Request (400): The request is invalid. [name: String should have at least 1 character]"
    )
    assert refused("segments", "show", "no-such-segment").startswith("error: Not Found (404): ")


# ---- journeys ---------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def journey_id(api: Api) -> str:
    """Given the post-purchase template installed and published."""
    reply = api.admin("POST", "/v1/journeys/templates/post-purchase/install", {"publish": True})
    assert reply.status == 201, reply.body
    return str(reply.body["journeys"][0]["journeyId"])


def test_journeys_are_listed_and_one_is_shown_with_its_nodes(api: Api, cxm: Cxm, journey_id: str) -> None:
    assert row(cxm("journeys", "list"), journey_id)[1:5] == ["Post-purchase", "reminders", "active", "1"]
    shown = cxm("journeys", "show", journey_id)
    assert row(shown, "Status") == ["Status", "active"] and row(shown, "Version") == ["Version", "1", "(published)"]
    assert row(shown, "Start") == ["Start", "additional-window"]
    assert '"event": "Order Completed"' in shown  # the trigger
    # And one row per node: its type, what it does and where it goes
    assert row(shown, "additional-window") == [
        "additional-window",
        "waitForEvent",
        "timeout",
        "2w",
        "cleaning-window,",
        "additional",
    ]
    assert " ".join(row(shown, "additional")) == (
        "additional email {{firstName}}, get more from your device cleaning-window"
    )
    assert row(shown, "cleaning")[-1] == "(end)"


def test_journeys_json_is_the_apis_answer(api: Api, cxm: Cxm, journey_id: str) -> None:
    assert json.loads(cxm("journeys", "list", "--json")) == api.admin("GET", "/v1/journeys").body
    path = f"/v1/journeys/{journey_id}"
    assert json.loads(cxm("journeys", "show", journey_id, "--json")) == api.admin("GET", path).body
    templates = json.loads(cxm("journeys", "templates", "--json"))
    assert templates == api.admin("GET", "/v1/journeys/templates").body


def test_a_journey_is_paused_and_resumed(api: Api, cxm: Cxm, journey_id: str) -> None:
    paused = cxm("journeys", "pause", journey_id)
    assert paused == (
        f"journey {journey_id} (Post-purchase reminders) is paused: no new entries; runs hold at their next action\n"
    )
    assert api.admin("GET", f"/v1/journeys/{journey_id}").body["status"] == "paused"
    resumed = json.loads(cxm("journeys", "resume", journey_id, "--json"))
    assert resumed["status"] == "active" and resumed["journeyId"] == journey_id
    assert api.admin("GET", f"/v1/journeys/{journey_id}").body["status"] == "active"


def test_pausing_an_unknown_journey_exits_non_zero_with_one_line_on_stderr(api: Api) -> None:
    # As a shell runs it: a separate process, its exit code and its streams
    done = subprocess.run(
        [sys.executable, "-m", "infra.cli", "journeys", "pause", "no-such-journey"],
        cwd=REPO,
        env={**os.environ, "CXM_URL": api.base_url, "CXM_ADMIN_KEY": api.admin_key, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr == "error: Not Found (404): No journey no-such-journey. [journeyId]\n"


def test_a_wrong_key_or_an_answer_that_is_no_problem_is_still_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CXM_ADMIN_KEY", "ak_not_a_key")
    assert refused("journeys", "list").startswith("error: Unauthorized (401): ")
    # API Gateway's own refusals (its authoriser, its throttling) are no problem documents
    assert refusal(403, b'{"message":"Forbidden"}') == "error: refused (403): Forbidden"
    assert refusal(502, b"<html>\n<h1>Bad Gateway</h1>\n</html>") == (
        "error: refused (502): <html> <h1>Bad Gateway</h1> </html>"
    )


# ---- profiles ---------------------------------------------------------------------------------------------------


def test_a_profile_is_found_by_email(api: Api, cxm: Cxm, person: str) -> None:
    profile = api.admin("GET", f"/v1/profiles?email={person}").body
    found = cxm("profiles", "find", person)
    assert row(found, "Profile") == ["Profile", profile["profileId"]]
    assert row(found, "Emails") == ["Emails", person]
    assert row(found, "city") == ["city", "Amsterdam"] and row(found, "firstName") == ["firstName", "Ana"]
    assert "identify   traits: city, email, firstName" in found  # her recent activity
    assert json.loads(cxm("profiles", "find", person, "--json")) == profile


def test_an_unknown_email_is_named(api: Api) -> None:
    assert refused("profiles", "find", "nobody@example.com") == (
        "error: Not Found (404): No profile for email nobody@example.com. [email]"
    )


# ---- privacy ----------------------------------------------------------------------------------------------------


def test_a_persons_export_is_summarised_and_written_whole(
    cloud: Any, api: Api, cxm: Cxm, person: str, tmp_path: Path
) -> None:
    # Given a segment she is in
    reply = api.admin("POST", "/v1/segments", {"name": "Export: Amsterdam", "condition": AMSTERDAM})
    assert reply.status == 201, reply.body
    cloud.settle()
    # When her data is exported to a file
    target = tmp_path / "export.json"
    summary = cxm("privacy", "export", person, "--output", str(target))
    document = json.loads(target.read_text())
    assert row(summary, "Profile") == ["Profile", document["profileId"]]
    assert " ".join(row(summary, "identity")) == "identity 3 traits, 1 activities, 0 consent decisions, 0 merges"
    (segment_part,) = document["segments"]["profiles"]
    assert "Export: Amsterdam" in [m["name"] for m in segment_part["memberships"]]
    assert " ".join(row(summary, "segments")) == f"segments {len(segment_part['memberships'])} memberships, 0 scores"
    assert " ".join(row(summary, "journeys")) == "journeys 0 entries, 0 messages"
    assert f"the whole document is in {target}" in summary
    machine = json.loads(cxm("privacy", "export", person, "--json"))
    assert machine["profileId"] == document["profileId"] and machine["identity"] == document["identity"]


def test_erasure_asks_first_and_erases_only_on_yes(
    cloud: Any, api: Api, cxm: Cxm, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a person
    email = f"eve-{uuid.uuid4().hex[:8]}@example.com"
    assert api.send("identify", {"userId": email, "traits": {"email": email}}).status == 200
    cloud.settle()
    profile_id = api.admin("GET", f"/v1/profiles?email={email}").body["profileId"]
    # When the operator answers anything but yes, nothing is erased
    monkeypatch.setattr("sys.stdin", io.StringIO("\n"))
    capsys.readouterr()
    assert cli.main(["privacy", "erase", email]) == 1
    err = capsys.readouterr().err
    assert f"Erase everything held about {email}" in err and f"not erased: {email}" in err
    assert api.admin("GET", f"/v1/profiles?email={email}").status == 200
    # When the operator answers yes, she is erased
    monkeypatch.setattr("sys.stdin", io.StringIO("yes\n"))
    erased = cxm("privacy", "erase", email)
    assert row(erased, "Profile") == ["Profile", profile_id] and row(erased, "Timeline") == ["Timeline", "1"]
    assert api.admin("GET", f"/v1/profiles?email={email}").status == 404
    # And erasing her again is refused by name, without asking
    assert refused("privacy", "erase", email, "--yes") == (
        "error: Not Found (404): No profile for this person. [profileId]"
    )


def test_erase_with_yes_and_json_prints_the_apis_answer(cloud: Any, api: Api, cxm: Cxm) -> None:
    email = f"bo-{uuid.uuid4().hex[:8]}@example.com"
    assert api.send("identify", {"userId": email, "traits": {"email": email}}).status == 200
    cloud.settle()
    profile_id = api.admin("GET", f"/v1/profiles?email={email}").body["profileId"]
    answer = json.loads(cxm("privacy", "erase", email, "--yes", "--json"))
    assert answer["profileId"] == profile_id and answer["profileIds"] == [profile_id]


def test_the_suppression_list_is_listed_and_an_address_taken_off(cloud: Any, api: Api, cxm: Cxm) -> None:
    # Given two addresses that bounced for good
    bounced = [f"gone-{n}-{uuid.uuid4().hex[:6]}@example.com" for n in range(2)]
    boto3.client("events", region_name=cloud.region).put_events(
        Entries=[
            {
                "EventBusName": "default",
                "Source": "aws.ses",
                "DetailType": "Email Bounced",
                "Detail": json.dumps(
                    {
                        "mail": {"messageId": "ses-cli"},
                        "bounce": {"bounceType": "Permanent", "bouncedRecipients": [{"emailAddress": a}]},
                    }
                ),
            }
            for a in bounced
        ]
    )
    cloud.settle()
    # When the marketer lists the suppression list, then takes one address off
    listed = cxm("privacy", "suppressions")
    assert row(listed, bounced[0])[1] == "bounce" and row(listed, bounced[1])[1] == "bounce"
    first = json.loads(cxm("privacy", "suppressions", "--limit", "1", "--json"))
    assert len(first["suppressions"]) == 1 and first["next"]
    assert bounced[0] in cxm("privacy", "unsuppress", bounced[0])
    # Then it is gone from the list and the API says it may be mailed again
    assert bounced[0] not in cxm("privacy", "suppressions")
    assert api.admin("GET", f"/v1/privacy/suppressions/{bounced[0]}").body["suppressed"] is False
