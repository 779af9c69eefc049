"""The journey engine on the local cloud: versions compiled into state machines, the lifecycle, retried sends that
go out once, signed webhooks, and goals that end runs."""

from __future__ import annotations

import datetime as dt
import json
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar
from urllib.request import Request, urlopen

import boto3
import botocore.client
import pytest
from moto.core.exceptions import ServiceException
from moto.sesv2.responses import SESV2Response

from services.journeys.domain.webhooks import ID_HEADER, verify
from tests.conftest import START, Api, BusTap


@pytest.fixture(scope="module")
def cloud() -> Iterator[Any]:
    """A local cloud whose journeys may call webhooks on this machine (the test's own receiver)."""
    from infra.local.cloud import LocalCloud

    settings = {"JOURNEY_WEBHOOKS_ALLOW_PRIVATE": "true"}
    with LocalCloud(start=START, stage=f"t{uuid.uuid4().hex[:6]}", function_settings=settings) as running:
        yield running


def customer(cloud: Any, api: Api, name: str) -> str:
    """A known customer with an email address (the shop's back-end identifies them: verified); the profile id."""
    user = f"{name}-{uuid.uuid4().hex[:6]}"
    sent = api.backend("identify", {"userId": user, "traits": {"email": f"{user}@example.com", "firstName": name}})
    assert sent.status == 200
    cloud.settle()
    return str(api.admin("GET", f"/v1/profiles?userId={user}").body["profileId"])


def journey(api: Api, nodes: list[dict[str, Any]], publish: bool = True, **extra: Any) -> dict[str, Any]:
    document = {
        "name": f"J {uuid.uuid4().hex[:4]}",
        "entry": {"trigger": {"api": True}, "reentry": "whenNotInside"},
        "start": nodes[0]["id"],
        "nodes": nodes,
        **extra,
    }
    reply = api.admin("POST", "/v1/journeys" + ("?publish=true" if publish else ""), document)
    assert reply.status == 201, reply.body
    return dict(reply.body)


def enrol(api: Api, journey_id: str, *profile_ids: str) -> None:
    reply = api.admin("POST", f"/v1/journeys/{journey_id}/enrol", {"profileIds": list(profile_ids)})
    assert reply.status == 200, reply.body
    assert reply.body["entered"] == len(profile_ids), reply.body


def emails_to(cloud: Any, profile_id: str, api: Api) -> list[Any]:
    email = api.admin("GET", f"/v1/profiles/{profile_id}").body["traits"]["email"]
    return [m for m in cloud.sent_emails() if email in m.destinations["ToAddresses"]]


def run_of(api: Api, journey_id: str, profile_id: str) -> dict[str, Any]:
    runs = [r for r in api.admin("GET", f"/v1/journeys/runs/{profile_id}").body["runs"] if r["journeyId"] == journey_id]
    assert len(runs) == 1, runs
    return runs[0]


def execution_status(cloud: Any, run: dict[str, Any]) -> str:
    sfn = boto3.client("stepfunctions", region_name=cloud.region)
    return str(sfn.describe_execution(executionArn=run["execution"])["status"])


def settle_time(cloud: Any, by: str = "1m", rounds: int = 1) -> None:
    for _ in range(rounds):
        cloud.settle_runs()
        cloud.advance(by)
    cloud.settle_runs()


EMAIL = {"id": "email", "type": "email", "subject": "Hello {{firstName}}", "html": "<p>Hi {{firstName}}</p>"}


def test_publishing_compiles_the_version_into_its_own_state_machine(cloud: Any, api: Api) -> None:
    # Given a draft: wait a day, then an email
    draft = journey(api, [{"id": "wait", "type": "wait", "seconds": 86400, "next": "email"}, EMAIL], publish=False)
    assert (draft["status"], draft["versions"]) == ("draft", [])

    # When the marketer publishes it
    published = api.admin("POST", f"/v1/journeys/{draft['journeyId']}/publish")

    # Then version 1 is live, with a state machine of its own that draws the marketer's graph
    assert published.status == 200, published.body
    assert (published.body["status"], published.body["version"]) == ("active", 1)
    (version,) = published.body["versions"]
    sfn = boto3.client("stepfunctions", region_name=cloud.region)
    machine = sfn.describe_state_machine(stateMachineArn=version["machineArn"])
    states = json.loads(machine["definition"])["States"]
    assert states["wait"]["Type"] == "Task" and states["wait.wait"]["Type"] == "Wait"
    assert states["email"]["Parameters"]["FunctionName"].endswith(cloud.names.function_name("journeys", "send_email"))
    assert machine["roleArn"] == cloud.names.machine_role_arn("journeys", "journey")


def test_a_refused_definition_names_the_node_path_and_saves_nothing(api: Api) -> None:
    before = len(api.admin("GET", "/v1/journeys").body["journeys"])
    document = {
        "name": "Broken",
        "entry": {"trigger": {"api": True}},
        "start": "check",
        "nodes": [
            {
                "id": "check",
                "type": "condition",
                "branches": [{"condition": {"segment": "no-such"}, "next": "email"}],
                "elseNext": "nowhere",
            },
            EMAIL,
        ],
    }
    reply = api.admin("POST", "/v1/journeys", document)
    assert reply.status == 400 and reply.content_type == "application/problem+json"
    assert {e["field"] for e in reply.body["errors"]} == {"nodes[0].elseNext", "nodes[0].branches[0].condition.segment"}
    document["nodes"][0]["elseNext"] = None
    reply = api.admin("POST", "/v1/journeys", document)
    assert [e["field"] for e in reply.body["errors"]] == ["nodes[0].branches[0].condition.segment"]
    assert len(api.admin("GET", "/v1/journeys").body["journeys"]) == before


def test_runs_inside_keep_their_version_when_a_new_one_is_published(cloud: Any, api: Api) -> None:
    # Given Ana inside version 1 (wait a day, then "Version one")
    nodes = [{"id": "wait", "type": "wait", "seconds": 86400, "next": "email"}, {**EMAIL, "subject": "Version one"}]
    created = journey(api, nodes)
    ana, bob = customer(cloud, api, "ana"), customer(cloud, api, "bob")
    enrol(api, created["journeyId"], ana)

    # When the marketer changes the subject and publishes version 2, and Bob enters after that
    nodes[1]["subject"] = "Version two"
    document = {**created["draft"], "nodes": nodes}
    assert api.admin("PUT", f"/v1/journeys/{created['journeyId']}", document).status == 200
    assert api.admin("POST", f"/v1/journeys/{created['journeyId']}/publish").body["version"] == 2
    enrol(api, created["journeyId"], bob)
    settle_time(cloud, "1d")

    # Then Ana finished on version 1 and Bob ran version 2
    assert [m.subject for m in emails_to(cloud, ana, api)] == ["Version one"]
    assert [m.subject for m in emails_to(cloud, bob, api)] == ["Version two"]
    assert [v["version"] for v in api.admin("GET", f"/v1/journeys/{created['journeyId']}").body["versions"]] == [1, 2]


def test_a_paused_journey_holds_runs_at_the_email_until_resumed(cloud: Any, api: Api) -> None:
    # Given Cy inside a journey that waits an hour before its email
    created = journey(api, [{"id": "wait", "type": "wait", "seconds": 3600, "next": "email"}, EMAIL])
    cy = customer(cloud, api, "cy")
    enrol(api, created["journeyId"], cy)

    # When the marketer pauses it and the hour passes
    assert api.admin("POST", f"/v1/journeys/{created['journeyId']}/pause").body["status"] == "paused"
    settle_time(cloud, "2h")

    # Then Cy gets nothing, new entries are refused, and her run waits at the email
    assert emails_to(cloud, cy, api) == []
    dee = customer(cloud, api, "dee")
    assert api.admin("POST", f"/v1/journeys/{created['journeyId']}/enrol", {"profileIds": [dee]}).status == 404
    assert execution_status(cloud, run_of(api, created["journeyId"], cy)) == "RUNNING"

    # When it is resumed
    resumed = api.admin("POST", f"/v1/journeys/{created['journeyId']}/resume")
    assert (resumed.body["status"], resumed.body["released"]) == ("active", 1)
    settle_time(cloud)

    # Then the email goes out, once
    assert [m.subject for m in emails_to(cloud, cy, api)] == ["Hello cy"]
    email = analytics_node(api, created["journeyId"], 1, "email")
    assert (email["entered"], email["sent"], email["completed"]) == (1, 1, 1)


def test_archiving_stops_every_run(cloud: Any, api: Api) -> None:
    created = journey(api, [{"id": "wait", "type": "wait", "seconds": 30 * 86400, "next": "email"}, EMAIL])
    eve = customer(cloud, api, "eve")
    enrol(api, created["journeyId"], eve)
    cloud.settle()

    archived = api.admin("POST", f"/v1/journeys/{created['journeyId']}/archive")

    assert (archived.body["status"], archived.body["stopped"]) == ("archived", 1)
    run = run_of(api, created["journeyId"], eve)
    assert run["state"] == "archived"
    assert execution_status(cloud, run) == "ABORTED"
    settle_time(cloud, "31d")
    assert emails_to(cloud, eve, api) == []
    assert api.admin("POST", f"/v1/journeys/{created['journeyId']}/publish").status == 409


class TooManyRequestsException(ServiceException):
    code = "TooManyRequestsException"


def test_ses_throttled_twice_then_accepting_sends_one_email(
    cloud: Any, api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given SES that throttles the first two sends
    calls = {"n": 0}
    send = SESV2Response.send_email

    def throttled(self: SESV2Response) -> str:
        calls["n"] += 1
        if calls["n"] <= 2:
            raise TooManyRequestsException("Maximum sending rate exceeded.")
        return send(self)

    monkeypatch.setattr(SESV2Response, "send_email", throttled)
    created = journey(api, [EMAIL])
    fay = customer(cloud, api, "fay")

    # When Fay enters and Step Functions retries with back-off
    enrol(api, created["journeyId"], fay)
    settle_time(cloud, "1m", rounds=4)

    # Then exactly one email reached her, and the run completed
    assert calls["n"] == 3
    assert len(emails_to(cloud, fay, api)) == 1
    assert execution_status(cloud, run_of(api, created["journeyId"], fay)) == "SUCCEEDED"


class Receiver(BaseHTTPRequestHandler):
    """A CRM's webhook endpoint: answers from a script of statuses, records what it got."""

    script: ClassVar[list[int]] = []
    received: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        Receiver.received.append({"headers": dict(self.headers.items()), "body": body})
        status = Receiver.script.pop(0) if Receiver.script else 200
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[str]:
    Receiver.script, Receiver.received = [], []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/leads"
    server.shutdown()
    server.server_close()


def test_a_webhook_down_twice_then_up_gets_one_delivery_with_a_valid_signature(
    cloud: Any, api: Api, receiver: str
) -> None:
    # Given a CRM hand-off whose endpoint answers 500 twice, then 200
    Receiver.script = [500, 500, 200]
    created = journey(api, [{"id": "crm", "type": "webhook", "url": receiver}])
    (node,) = api.admin("GET", f"/v1/journeys/{created['journeyId']}").body["definition"]["nodes"]
    secret = node["secret"].encode()
    gus = customer(cloud, api, "gus")

    # When Gus enters
    enrol(api, created["journeyId"], gus)
    settle_time(cloud, "1m", rounds=4)

    # Then the CRM was called three times for one delivery (same id), and the payload verifies with the secret
    assert len(Receiver.received) == 3
    assert len({r["headers"][ID_HEADER] for r in Receiver.received}) == 1
    last = Receiver.received[-1]
    headers = last["headers"]
    now = int(cloud.clock.now().timestamp())
    assert verify(secret, last["body"], headers, now)
    assert not verify(b"another secret", last["body"], headers, now)
    payload = json.loads(last["body"])
    assert payload["profile"]["profileId"] == gus and payload["journey"]["journeyId"] == created["journeyId"]
    run = run_of(api, created["journeyId"], gus)
    assert execution_status(cloud, run) == "SUCCEEDED"
    assert analytics_node(api, created["journeyId"], 1, "crm")["sent"] == 1
    # And the run shows the delivery: what was posted and what the CRM answered
    (message,) = run["messages"]
    assert (message["channel"], message["node"], message["status"]) == ("webhook", "crm", "sent")
    assert (message["detail"]["status"], message["detail"]["payload"]) == (200, last["body"].decode())


def test_a_webhook_refused_with_a_4xx_takes_the_failure_edge_without_retrying(
    cloud: Any, api: Api, receiver: str
) -> None:
    Receiver.script = [422]
    fallback = {**EMAIL, "id": "fallback", "subject": "We'll call you"}
    created = journey(api, [{"id": "crm", "type": "webhook", "url": receiver, "onFailure": "fallback"}, fallback])
    hal = customer(cloud, api, "hal")

    enrol(api, created["journeyId"], hal)
    settle_time(cloud, "1m", rounds=2)

    assert len(Receiver.received) == 1
    assert [m.subject for m in emails_to(cloud, hal, api)] == ["We'll call you"]
    messages = {m["node"]: m for m in run_of(api, created["journeyId"], hal)["messages"]}
    assert (messages["crm"]["status"], messages["crm"]["detail"]["status"]) == ("refused", 422)
    assert json.loads(messages["crm"]["detail"]["payload"])["profile"]["profileId"] == hal
    crm = analytics_node(api, created["journeyId"], 1, "crm")
    assert crm["branches"]["failed"]["taken"] == 1


def test_a_goal_event_ends_a_run_in_the_middle_of_a_wait(cloud: Any, api: Api) -> None:
    # Given Ivy waiting three days for a reminder in a journey whose goal is a purchase
    created = journey(
        api,
        [{"id": "wait", "type": "wait", "seconds": 3 * 86400, "next": "email"}, EMAIL],
        goal={"event": "Order Completed"},
    )
    ivy = customer(cloud, api, "ivy")
    enrol(api, created["journeyId"], ivy)
    settle_time(cloud, "1d")
    user = api.admin("GET", f"/v1/profiles/{ivy}").body["traits"]["email"].split("@")[0]

    # When she buys on day one (the shop's back-end reports it: no browser, still a purchase)
    assert api.backend("track", {"userId": user, "event": "Order Completed", "properties": {"total": 20}}).status == 200
    settle_time(cloud, "3d")

    # Then her run stopped as a conversion and the reminder never went out
    run = run_of(api, created["journeyId"], ivy)
    assert (run["state"], execution_status(cloud, run)) == ("converted", "ABORTED")
    assert emails_to(cloud, ivy, api) == []
    summary = api.admin("GET", f"/v1/journeys/{created['journeyId']}/analytics").body["versions"][0]["journey"]
    assert (summary["entered"], summary["converted"], summary["active"]) == (1, 1, 0)
    assert analytics_node(api, created["journeyId"], 1, "wait")["exited"] == 1


def analytics_node(api: Api, journey_id: str, version: int, node: str) -> dict[str, Any]:
    body = api.admin("GET", f"/v1/journeys/{journey_id}/analytics").body
    (found,) = [v for v in body["versions"] if v["version"] == version]
    return dict(found["nodes"][node])


def test_a_journey_updates_the_profile_through_identity_and_publishes_its_own_event(cloud: Any, api: Api) -> None:
    # Given a nurture step that tags the lead and announces it on the bus
    created = journey(
        api,
        [
            {"id": "tag", "type": "updateProfile", "set": {"stage": "nurtured"}, "addTags": ["vip"], "next": "say"},
            {"id": "say", "type": "publishEvent", "event": "Lead Nurtured", "properties": {"source": "journey"}},
        ],
    )
    tap = BusTap(cloud, "cxm.journeys")
    jo = customer(cloud, api, "jo")

    # When Jo goes through it
    enrol(api, created["journeyId"], jo)
    settle_time(cloud)

    # Then identity set the trait and the tag, and the custom event was published once, for her
    traits = api.admin("GET", f"/v1/profiles/{jo}").body["traits"]
    assert (traits["stage"], traits["tags"]) == ("nurtured", ["vip"])
    published = [e["data"] for e in tap.drain() if e["type"] == "JourneyEventPublished"]
    assert published == [
        {
            "profileId": jo,
            "journeyId": created["journeyId"],
            "event": "Lead Nurtured",
            "properties": {"source": "journey"},
        }
    ]


def test_an_event_no_journey_mentions_costs_no_read_and_one_that_matters_one_query(
    cloud: Any, api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a live journey whose goal is a purchase, and Kai, who is in no journey
    journey(api, [{"id": "wait", "type": "wait", "seconds": 86400}], goal={"event": "Order Completed"})
    kai = customer(cloud, api, "kai")
    user = api.admin("GET", f"/v1/profiles/{kai}").body["traits"]["email"].split("@")[0]
    table = cloud.names.table("journeys", "journeys")
    reads: list[str] = []
    call = botocore.client.BaseClient._make_api_call

    def watched(self: Any, operation: str, params: dict[str, Any]) -> Any:
        if params.get("TableName") == table and operation in ("GetItem", "Query", "BatchGetItem", "Scan"):
            reads.append(operation)
        return call(self, operation, params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", watched)

    # When Kai reads the newsletter (no journey mentions it)
    assert api.backend("track", {"userId": user, "event": "Newsletter Viewed"}).status == 200
    cloud.settle()
    # Then journeys read nothing
    assert reads == []

    # When Kai buys (a goal of a live journey)
    assert api.backend("track", {"userId": user, "event": "Order Completed", "properties": {"total": 5}}).status == 200
    cloud.settle()
    # Then journeys made one query: Kai's live runs (none)
    assert reads == ["Query"]


def test_an_add_score_step_gives_points_in_a_plan_through_segments(cloud: Any, api: Api) -> None:
    # Given an engagement plan with tiers, and a journey that rewards a webinar sign-up with 70 points
    plan = api.admin(
        "POST",
        "/v1/scoring/plans",
        {
            "name": "Engagement",
            "rules": [{"name": "form", "activity": {"event": "Form Submitted"}, "points": 10}],
            "tiers": [{"name": "cold"}, {"name": "warm", "min": 10}, {"name": "hot", "min": 60}],
        },
    )
    assert plan.status == 201, plan.body
    plan_id = plan.body["planId"]
    created = journey(api, [{"id": "reward", "type": "addScore", "planId": plan_id, "points": 70}])
    lea = customer(cloud, api, "lea")

    # When Lea goes through it
    enrol(api, created["journeyId"], lea)
    settle_time(cloud)

    # Then segments scored her: 70 points, a hot lead
    scores = api.admin("GET", f"/v1/segments/memberships/{lea}").body["scores"]
    assert scores[plan_id] == {"score": 70.0, "tier": "hot"}
    # And a journey naming a plan that does not exist is refused where it names it
    refused = api.admin(
        "POST",
        "/v1/journeys",
        {
            "name": "x",
            "entry": {"trigger": {"api": True}},
            "start": "r",
            "nodes": [{"id": "r", "type": "addScore", "planId": "no-such-plan", "points": 5}],
        },
    )
    assert refused.status == 400
    assert [e["field"] for e in refused.body["errors"]] == ["nodes[0].planId"]


def test_deliveries_and_unsubscribes_are_counted_at_the_email_that_caused_them(cloud: Any, api: Api) -> None:
    # Given Mo, who got a journey's first email and waits two days for the next
    created = journey(
        api,
        [
            {**EMAIL, "next": "later", "html": '<p>Hi</p><p><a href="{{unsubscribeUrl}}">Unsubscribe</a></p>'},
            {"id": "later", "type": "wait", "seconds": 2 * 86400, "next": "again"},
            {**EMAIL, "id": "again"},
        ],
    )
    mo = customer(cloud, api, "mo")
    enrol(api, created["journeyId"], mo)
    settle_time(cloud)
    (sent,) = emails_to(cloud, mo, api)

    # When SES reports the delivery (twice: its events may repeat) and Mo unsubscribes with the email's header
    delivered = {
        "eventType": "Delivery",
        "mail": {
            "messageId": sent.id,
            "tags": {"journey": [created["journeyId"]], "version": ["1"], "node": ["email"]},
        },
    }
    for _ in range(2):
        boto3.client("events", region_name=cloud.region).put_events(
            Entries=[
                {
                    "EventBusName": "default",
                    "Source": "aws.ses",
                    "DetailType": "Email Delivered",
                    "Detail": json.dumps(delivered),
                }
            ]
        )
    unsubscribe = {h["Name"]: h["Value"] for h in sent.headers}["List-Unsubscribe"].strip("<>")
    with urlopen(Request(unsubscribe, data=b"List-Unsubscribe=One-Click", method="POST"), timeout=30) as reply:
        assert reply.status == 200
    settle_time(cloud, "2d")

    # Then the first email counts one delivery and one unsubscribe; the second email is not sent (no consent)
    email = analytics_node(api, created["journeyId"], 1, "email")
    assert (email["sent"], email["delivered"], email["unsubscribed"]) == (1, 1, 1)
    again = analytics_node(api, created["journeyId"], 1, "again")
    assert (again["sent"], again["skipped"]) == (0, 1)
    assert len(emails_to(cloud, mo, api)) == 1


def test_a_yearly_date_greets_on_every_anniversary(cloud: Any, api: Api) -> None:
    # Given a birthday journey: on the birthday at 00:00 UTC, an email
    document = {
        "name": "Birthday",
        "entry": {"trigger": {"traitDate": {"trait": "birthday", "yearly": True}}, "reentry": "whenNotInside"},
        "start": "greet",
        "nodes": [{**EMAIL, "id": "greet", "subject": "Happy birthday, {{firstName}}"}],
    }
    created = api.admin("POST", "/v1/journeys?publish=true", document)
    assert created.status == 201, created.body
    now = cloud.clock.now()
    birthday = (now + dt.timedelta(days=10)).date().replace(year=1990)

    # When Ned tells us his birthday (ten days from now, in 1990)
    user = f"ned-{uuid.uuid4().hex[:6]}"
    traits = {"email": f"{user}@example.com", "firstName": "Ned", "birthday": birthday.isoformat()}
    assert api.backend("identify", {"userId": user, "traits": traits}).status == 200
    settle_time(cloud, "9d")
    ned = str(api.admin("GET", f"/v1/profiles?userId={user}").body["profileId"])
    assert emails_to(cloud, ned, api) == []

    # Then he is greeted on his birthday, and again a year later
    settle_time(cloud, "1d")
    assert [m.subject for m in emails_to(cloud, ned, api)] == ["Happy birthday, Ned"]
    settle_time(cloud, "364d")
    assert len(emails_to(cloud, ned, api)) == 1
    settle_time(cloud, "1d")
    assert [m.subject for m in emails_to(cloud, ned, api)] == ["Happy birthday, Ned"] * 2


def test_a_yearly_date_with_re_entry_once_is_refused(api: Api) -> None:
    document = {
        "name": "Birthday once",
        "entry": {"trigger": {"traitDate": {"trait": "birthday", "yearly": True}}},
        "start": "email",
        "nodes": [EMAIL],
    }
    refused = api.admin("POST", "/v1/journeys", document)
    assert refused.status == 400
    assert [e["field"] for e in refused.body["errors"]] == ["entry.reentry"]


def test_leaving_a_segment_the_journey_names_ends_the_run_at_once(cloud: Any, api: Api) -> None:
    # Given a pro-plan onboarding that ends for whoever leaves the pro segment
    segment = api.admin(
        "POST", "/v1/segments", {"name": "Pro", "condition": {"trait": "plan", "op": "equals", "value": "pro"}}
    )
    assert segment.status == 201, segment.body
    created = journey(
        api,
        [{"id": "wait", "type": "wait", "seconds": 5 * 86400, "next": "email"}, EMAIL],
        exitOnSegmentExit=[segment.body["segmentId"]],
    )
    user = f"pia-{uuid.uuid4().hex[:6]}"
    traits = {"email": f"{user}@example.com", "firstName": "Pia", "plan": "pro"}
    assert api.backend("identify", {"userId": user, "traits": traits}).status == 200
    cloud.settle()
    pia = str(api.admin("GET", f"/v1/profiles?userId={user}").body["profileId"])
    enrol(api, created["journeyId"], pia)
    settle_time(cloud, "1d")

    # When she downgrades (and so leaves the segment)
    assert api.backend("identify", {"userId": user, "traits": {"plan": "free"}}).status == 200
    settle_time(cloud, "5d")

    # Then her run ended where it was, with the reason, and the email never went out
    run = run_of(api, created["journeyId"], pia)
    assert (run["state"], execution_status(cloud, run)) == ("exited", "ABORTED")
    assert run["reason"] == f"left segment {segment.body['segmentId']}"
    assert emails_to(cloud, pia, api) == []
    summary = api.admin("GET", f"/v1/journeys/{created['journeyId']}/analytics").body["versions"][0]["journey"]
    assert (summary["exited"], summary["active"]) == (1, 0)
    assert analytics_node(api, created["journeyId"], 1, "wait")["exited"] == 1
