"""Consumers on moto: redelivery changes nothing, poison messages land in the DLQ, concurrent writers lose nothing."""

from __future__ import annotations

import json
import threading
from typing import Any

import boto3

from services.common.bus import RecordingPublisher
from services.common.contracts import envelope
from services.common.contracts.registry import ActivityRecorded, EventCollected, ProfileUpdated
from tests.conftest import START, Api


def collected(anonymous_id: str, message_id: str, path: str = "/recipes/x") -> Any:
    return envelope(
        EventCollected(
            messageId=message_id,
            type="page",
            anonymousId=anonymous_id,
            properties={"path": path},
            timestamp=START,
            receivedAt=START,
            sourceId="site",
        )
    )


def function_env(cloud: Any, service: str, function: str) -> dict[str, str]:
    config = boto3.client("lambda", region_name=cloud.region).get_function_configuration(
        FunctionName=cloud.names.function_name(service, function)
    )
    return dict(config["Environment"]["Variables"])


def test_a_redelivered_event_is_recorded_once_and_republished_with_the_same_id(cloud: Any, monkeypatch: Any) -> None:
    from services.identity import app
    from services.identity.use_cases.reads import profile_view
    from services.identity.use_cases.recording import record_event

    for name, value in function_env(cloud, "identity", "on_event_collected").items():
        monkeypatch.setenv(name, value)
    incoming = collected("redelivered", "m-1")
    first, second = RecordingPublisher(), RecordingPublisher()

    profile_id = record_event(incoming, app.profiles(), first)
    assert profile_id is not None
    assert record_event(incoming, app.profiles(), second) == profile_id

    view = profile_view(profile_id, app.profiles())
    assert [a["messageId"] for a in view["activity"]] == ["m-1"]
    assert view["computed"]["events"] == 1
    assert view["computed"]["pageViews"] == 1
    # the redelivery re-publishes the same events (same ids, same changes), which consumers dedupe
    assert [e.id for e in first.published] == [e.id for e in second.published]
    assert [e.data for e in first.published if isinstance(e.data, ProfileUpdated)] == [
        e.data for e in second.published if isinstance(e.data, ProfileUpdated)
    ]
    recorded = [e.id for e in first.published if isinstance(e.data, ActivityRecorded)]
    assert recorded == [e.id for e in second.published if isinstance(e.data, ActivityRecorded)]


def test_a_message_that_keeps_failing_lands_in_the_dead_letter_queue_with_its_body(cloud: Any) -> None:
    # Given an event whose detail no consumer can parse (a contract the identity consumer does not know)
    events = boto3.client("events", region_name=cloud.region)
    events.put_events(
        Entries=[
            {
                "EventBusName": cloud.names.bus(),
                "Source": "cxm.events",
                "DetailType": "EventCollected",
                "Detail": json.dumps({"id": "poison", "data": {}}),
            }
        ]
    )
    # When the pump retries it up to the queue's maxReceiveCount
    letters = cloud.wait_for(lambda: cloud.dead_letters().get("identity/event-collected"), timeout=20)
    # Then it is parked, not lost, with its original body for `cxm replay`
    assert json.loads(letters[0]["Body"])["detail"]["id"] == "poison"
    failures = [
        i
        for i in cloud.runtime.calls_to(cloud.names.function_name("identity", "on_event_collected"))
        if "poison" in json.dumps(i.event)
    ]
    assert len(failures) == 5  # maxReceiveCount in the manifest


def test_two_activities_of_one_profile_processed_at_the_same_moment_both_count(cloud: Any, api: Api) -> None:
    from services.segments import app
    from services.segments.domain.profiles import ProfileState
    from services.segments.use_cases import record_activity

    # Given a segment "2 recipe pages in 14 days" and one profile
    segment = api.admin(
        "POST",
        "/v1/segments",
        {
            "name": "Two recipes",
            "condition": {
                "behaviour": {"type": "page", "where": [{"property": "path", "op": "startsWith", "value": "/recipes"}]},
                "op": "atLeast",
                "value": 2,
                "withinDays": 14,
            },
        },
    ).body["segmentId"]
    cloud.settle()  # the segment's backfill has run
    env = function_env(cloud, "segments", "on_activity_recorded")
    import os

    os.environ.update(env)
    try:
        # built here, not in the threads: a concurrent invocation may restore os.environ under them
        repo = app.segments()
        catalog = app.catalog(repo)
        publisher = RecordingPublisher()
        both_have_read = threading.Barrier(2, timeout=10)
        one_write_at_a_time = threading.Lock()

        class ReadThenRace:
            """The real adapter, except each consumer's first read waits until the other has read too: the
            interleaving that loses an update unless writes are conditional."""

            def __init__(self) -> None:
                self.real = repo
                self.first = True

            def __getattr__(self, name: str) -> Any:
                return getattr(self.real, name)

            def save_rollup(self, *args: Any) -> int:
                with one_write_at_a_time:  # DynamoDB's conditional writes are atomic; moto's, from threads, not
                    return self.real.save_rollup(*args)  # type: ignore[no-any-return]

            def rollup(self, profile_id: str) -> Any:
                state = self.real.rollup(profile_id)
                if self.first:
                    self.first = False
                    both_have_read.wait()
                return state

        def consume(message_id: str) -> None:
            activity = envelope(
                ActivityRecorded(
                    profileId="concurrent-profile",
                    messageId=message_id,
                    type="page",
                    properties={"path": "/recipes/x"},
                    timestamp=START,
                )
            )
            record_activity(activity, ReadThenRace(), publisher, catalog)  # type: ignore[arg-type]

        # When two consumers apply one activity each, at the same moment
        threads = [threading.Thread(target=consume, args=(f"c-{i}",)) for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        # Then both count: the profile entered the segment, exactly once
        state = ProfileState.from_json(repo.rollup("concurrent-profile").state)
        assert segment in state.members
        assert [counter.total for counter in state.counters.values()] == [2]
        entered = [e for e in publisher.published if e.detail_type == "SegmentEntered"]
        assert len(entered) == 1
    finally:
        for name in env:
            os.environ.pop(name, None)


def test_replay_puts_dead_letters_back_and_they_are_processed(cloud: Any, api: Api) -> None:
    # Given a valid event that was dead-lettered during an outage (parked in the identity consumer's DLQ)
    dlq = next(c for c in cloud.provisioned.consumers if c.subscription == "event-collected").dlq_url
    sqs = boto3.client("sqs", region_name=cloud.region)
    cloud.settle()
    sqs.purge_queue(QueueUrl=dlq)  # start from an empty DLQ (an earlier test parks a poison message there)
    incoming = collected("replayed-visitor", "m-replay")
    sqs.send_message(
        QueueUrl=dlq,
        MessageBody=json.dumps(
            {
                "version": "0",
                "id": "x",
                "detail-type": "EventCollected",
                "source": "cxm.events",
                "account": "123456789012",
                "time": "2026-03-02T09:00:00Z",
                "region": cloud.region,
                "resources": [],
                "detail": json.loads(incoming.to_detail()),
            }
        ),
    )
    # When the operator replays
    moved = api.admin("POST", "/_local/replay", {"only": "event-collected"})
    # Then it went back to its queue, was processed, and the DLQ is empty
    assert moved.status == 200 and sum(moved.body["replayed"].values()) == 1
    cloud.settle()
    assert api.admin("GET", "/v1/profiles?anonymousId=replayed-visitor").status == 200
    assert cloud.dead_letters() == {}


def test_cxm_keys_create_adds_a_working_write_key(cloud: Any, api: Api, capsys: Any) -> None:
    # Given a deployment's access table
    from infra.cli import main

    table = cloud.table_name("platform", "access")
    # When the operator creates a write key with the CLI
    assert main(["keys", "create", "--table", table, "--role", "write", "--source", "shop"]) == 0
    key = capsys.readouterr().out.strip().splitlines()[-1]
    # Then that key collects events, and cannot call admin routes
    assert key.startswith("wk_")
    assert api.request("POST", "/v1/track", {"anonymousId": "k", "event": "x"}, key=key).status == 200
    assert api.request("GET", "/v1/segments", key=key, scheme="bearer").status == 403
