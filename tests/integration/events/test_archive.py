"""The raw event archive on the local cloud: collected activity is kept sealed per person; erasing a person makes
their records unreadable for good while everyone else's stay readable."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import uuid
from typing import Any

import boto3
import pytest

from services.events.adapters.archive import DynamoKeyRing, S3Archive
from services.events.domain.archive import person_ref
from services.events.use_cases.archive import ReadReport, read
from tests.conftest import Api


class Archive:
    def __init__(self, cloud: Any) -> None:
        self.cloud = cloud
        self.s3 = boto3.client("s3", region_name=cloud.region)
        self.ddb = boto3.client("dynamodb", region_name=cloud.region)
        self.bucket = cloud.names.bucket("events", "archive")
        self.keys_table = cloud.table_name("events", "archive-keys")
        self.store = S3Archive(self.s3, self.bucket)

    def read(self) -> tuple[list[dict[str, Any]], ReadReport]:
        report = ReadReport()
        today = self.cloud.clock.now().date()
        events = list(
            read(self.store, DynamoKeyRing(self.ddb, self.keys_table), today - dt.timedelta(days=1), today, report)
        )
        return events, report

    def raw_text(self) -> str:
        """Every archived object, decompressed, as one text (what someone with the bucket but no keys sees)."""
        names = [
            o["Key"]
            for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket)
            for o in page.get("Contents", [])
        ]
        return "\n".join(
            gzip.decompress(self.s3.get_object(Bucket=self.bucket, Key=n)["Body"].read()).decode() for n in names
        )

    def key_ring_text(self) -> str:
        return json.dumps(self.ddb.scan(TableName=self.keys_table)["Items"], default=str)


@pytest.fixture
def archive(cloud: Any) -> Archive:
    return Archive(cloud)


def visit(api: Api, visitor: str, email: str) -> None:
    batch = [
        {"type": "page", "anonymousId": visitor, "messageId": f"{visitor}-1", "properties": {"path": "/recipes/soup"}},
        {
            "type": "track",
            "anonymousId": visitor,
            "messageId": f"{visitor}-2",
            "event": "Recipe Saved",
            "properties": {"recipe": "soup"},
        },
        {"type": "identify", "anonymousId": visitor, "messageId": f"{visitor}-3", "traits": {"email": email}},
    ]
    reply = api.request("POST", "/v1/batch", {"batch": batch}, key=api.write_key)
    assert reply.status == 200 and reply.body["accepted"] == 3, reply.body


def profile_id(api: Api, visitor: str) -> str:
    reply = api.admin("GET", f"/v1/profiles?anonymousId={visitor}")
    assert reply.status == 200, reply.body
    return str(reply.body["profileId"])


def mine(events: list[dict[str, Any]], pid: str) -> list[dict[str, Any]]:
    return [e for e in events if e["detail"]["data"]["profileId"] == pid]


def test_collected_activity_is_archived_sealed_and_reads_back_whole(cloud: Any, api: Api, archive: Archive) -> None:
    visitor, email = f"arch-{uuid.uuid4().hex[:8]}", f"{uuid.uuid4().hex[:10]}@example.com"
    visit(api, visitor, email)
    cloud.settle()
    pid = profile_id(api, visitor)

    events, report = archive.read()
    kept = mine(events, pid)
    assert sorted(e["detail"]["data"]["messageId"] for e in kept) == [f"{visitor}-1", f"{visitor}-2", f"{visitor}-3"]
    assert {e["detailType"] for e in kept} == {"ActivityRecorded"}
    saved = next(e for e in kept if e["detail"]["data"]["messageId"] == f"{visitor}-2")
    assert saved["detail"]["data"]["event"] == "Recipe Saved"
    assert report.unreadable == 0
    # Without the keys, the archive and the key ring show nothing of the person
    for text in (archive.raw_text(), archive.key_ring_text()):
        assert pid not in text and email not in text and visitor not in text and "Recipe Saved" not in text


def test_erasure_shreds_the_persons_records_and_only_theirs(cloud: Any, api: Api, archive: Archive) -> None:
    erased_visitor, kept_visitor = f"gone-{uuid.uuid4().hex[:8]}", f"stay-{uuid.uuid4().hex[:8]}"
    visit(api, erased_visitor, f"{uuid.uuid4().hex[:10]}@example.com")
    visit(api, kept_visitor, f"{uuid.uuid4().hex[:10]}@example.com")
    cloud.settle()
    erased, kept = profile_id(api, erased_visitor), profile_id(api, kept_visitor)
    before, before_report = archive.read()
    assert len(mine(before, erased)) == 3

    reply = api.admin("POST", "/v1/privacy/erase", {"profileId": erased})
    assert reply.status in (200, 202), reply.body
    cloud.settle()

    after, report = archive.read()
    assert mine(after, erased) == []
    assert len(mine(after, kept)) == 3
    assert report.shredded == before_report.shredded + 3
    assert report.unreadable == 0
    ring = archive.ddb.scan(TableName=archive.keys_table)["Items"]
    tombstone = next(i for i in ring if i["pk"]["S"] == f"P#{person_ref(erased)}")
    assert tombstone["erased"] == {"BOOL": True} and "keyId" not in tombstone and "expiresAt" in tombstone


def _sqs_event(*bodies: dict[str, Any] | str) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": f"m{n}",
                "receiptHandle": f"r{n}",
                "body": b if isinstance(b, str) else json.dumps(b),
                "attributes": {},
                "messageAttributes": {},
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:q",
                "awsRegion": "us-east-1",
                "md5OfBody": "",
            }
            for n, b in enumerate(bodies)
        ]
    }


def _bus_event(detail_type: str, data: dict[str, Any], at: dt.datetime) -> dict[str, Any]:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": "cxm.identity",
        "account": "123456789012",
        "time": at.isoformat(),
        "region": "us-east-1",
        "resources": [],
        "detail": {
            "id": str(uuid.uuid4()),
            "occurredAt": at.isoformat(),
            "correlationId": str(uuid.uuid4()),
            "data": data,
        },
    }


def _activity(pid: str, at: dt.datetime, message_id: str) -> dict[str, Any]:
    return _bus_event(
        "ActivityRecorded",
        {
            "profileId": pid,
            "messageId": message_id,
            "type": "track",
            "event": "Cart Updated",
            "timestamp": at.isoformat(),
        },
        at,
    )


def _invoke(cloud: Any, event: dict[str, Any]) -> dict[str, Any]:
    lam = boto3.client("lambda", region_name=cloud.region)
    response = lam.invoke(
        FunctionName=cloud.names.function_name("events", "archive"), Payload=json.dumps(event).encode()
    )
    assert "FunctionError" not in response, response["Payload"].read()
    answer: dict[str, Any] = json.loads(response["Payload"].read())
    return answer


def test_in_one_batch_an_erasure_goes_first_and_late_activity_is_not_kept(cloud: Any, archive: Archive) -> None:
    now = cloud.clock.now()
    pid, other = f"p-{uuid.uuid4()}", f"p-{uuid.uuid4()}"
    first = _activity(pid, now, "late-0")
    assert _invoke(cloud, _sqs_event(first)) == {"batchItemFailures": []}
    erased = _bus_event("ProfileErased", {"profileId": pid, "profileIds": [pid], "identifiers": []}, now)
    # the same batch: an activity that was in flight, the erasure, someone else's activity, and a broken message
    answer = _invoke(
        cloud, _sqs_event(_activity(pid, now, "late-1"), erased, _activity(other, now, "other-1"), "{not json")
    )
    assert answer == {"batchItemFailures": [{"itemIdentifier": "m3"}]}
    # and an activity arriving after the erasure
    assert _invoke(cloud, _sqs_event(_activity(pid, now, "late-2"))) == {"batchItemFailures": []}

    events, _ = archive.read()
    assert mine(events, pid) == []
    assert [e["detail"]["data"]["messageId"] for e in mine(events, other)] == ["other-1"]


def test_a_redelivered_activity_reads_back_once(cloud: Any, archive: Archive) -> None:
    now = cloud.clock.now()
    pid = f"p-{uuid.uuid4()}"
    event = _activity(pid, now, "twice")
    _invoke(cloud, _sqs_event(event))
    _invoke(cloud, _sqs_event(event))
    events, report = archive.read()
    assert [e["detail"]["data"]["messageId"] for e in mine(events, pid)] == ["twice"]
    assert report.duplicates >= 1


def _cxm(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[list[dict[str, Any]], str]:
    from infra.cli import main

    assert main(argv) == 0
    out, err = capsys.readouterr()
    return [json.loads(line) for line in out.splitlines() if line.strip()], err


def test_cxm_archive_read_gives_the_events_back_from_the_local_cloud_and_from_the_bucket(
    cloud: Any, api: Api, archive: Archive, tmp_path: Any, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    visitor = f"cli-{uuid.uuid4().hex[:8]}"
    visit(api, visitor, f"{uuid.uuid4().hex[:10]}@example.com")
    cloud.settle()
    pid = profile_id(api, visitor)
    expected = [f"{visitor}-1", f"{visitor}-2", f"{visitor}-3"]

    # From the local cloud (as after `make dev`: its state file names the URL and the admin key)
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".cxm").mkdir()
    (tmp_path / ".cxm" / "local.json").write_text(json.dumps({"url": cloud.url, "adminKey": api.admin_key}))
    events, summary = _cxm(["archive", "read"], capsys)
    assert sorted(e["detail"]["data"]["messageId"] for e in mine(events, pid)) == expected
    assert "cannot be read" in summary

    # From the bucket and key ring directly (what --stack resolves through the stack outputs)
    today = cloud.clock.now().date().isoformat()
    events, _ = _cxm(
        ["archive", "read", "--since", today, "--bucket", archive.bucket, "--keys-table", archive.keys_table], capsys
    )
    assert sorted(e["detail"]["data"]["messageId"] for e in mine(events, pid)) == expected


def test_the_local_archive_route_wants_an_admin_key_and_real_dates(cloud: Any, api: Api) -> None:
    assert api.request("GET", "/_local/archive", key=api.write_key).status == 403
    reply = api.admin("GET", "/_local/archive?since=yesterday")
    assert reply.status == 400 and reply.body["errors"][0]["field"] == "since", reply.body
