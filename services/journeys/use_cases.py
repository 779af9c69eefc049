"""Journeys use cases: start runs on triggers, send a journey's email exactly once."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from services.common import clock
from services.common.bus import Publisher
from services.common.contracts import Envelope, envelope
from services.common.contracts.events import JourneyEntered, MessageFailed, MessageSent, ProfileErased, SegmentEntered
from services.common.erasure import erased_profile_ids
from services.common.ids import derived_id
from services.journeys.adapters.dynamodb import DynamoJourneys
from services.journeys.domain.journeys import execution_name, template_data, template_name, why_not_send
from services.journeys.domain.tracked_email import LinkSigning, recipient_links


def start_journeys(
    incoming: Envelope[SegmentEntered], repo: DynamoJourneys, sfn: Any, machine_arn: str, publisher: Publisher
) -> list[str]:
    """Start every active journey the segment triggers, once per profile (the execution name enforces it)."""
    profile_id = incoming.data.profile_id
    started: list[str] = []
    out: list[Envelope[Any]] = []
    journeys = repo.triggered_by_segment(incoming.data.segment_id)
    if journeys and repo.is_erased(profile_id, clock.now()):
        return started  # an entry announced before the person was erased, delivered after: no run
    for journey in journeys:
        name = execution_name(journey["journeyId"], profile_id)
        run_input = {
            "journeyId": journey["journeyId"],
            "profileId": profile_id,
            "waitSeconds": int(journey["waitSeconds"]),
            "template": template_name(journey["journeyId"]),
        }
        try:
            arn = sfn.start_execution(stateMachineArn=machine_arn, name=name, input=json.dumps(run_input))[
                "executionArn"
            ]
        except ClientError as error:
            if error.response["Error"]["Code"] != "ExecutionAlreadyExists":
                raise
            arn = machine_arn.replace(":stateMachine:", ":execution:") + f":{name}"
        repo.record_entry(profile_id, journey["journeyId"], arn, clock.now())
        started.append(arn)
        out.append(
            envelope(
                JourneyEntered(profileId=profile_id, journeyId=journey["journeyId"], execution=arn),
                id=derived_id(incoming.id, "JourneyEntered", journey["journeyId"]),
                correlation_id=incoming.correlation_id,
            )
        )
    if out:
        publisher.publish(out)
    return started


def send_journey_email(
    task: dict[str, Any],
    repo: DynamoJourneys,
    lookup: Callable[[dict[str, Any]], dict[str, Any]],
    ses: Any,
    sender: str,
    configuration_set: str,
    publisher: Publisher,
    signing: LinkSigning,
) -> dict[str, Any]:
    """The journey's email step. The dedupe key (execution + step) makes a retried task never send twice.

    The email carries this recipient's signed links (open pixel, each tracked link's click URL; the token names
    the profile and the dedupe key as the message) and the one-click unsubscribe headers (RFC 8058)."""
    dedupe_key = derived_id(task["execution"], task["step"])
    profile_id, journey_id = task["profileId"], task["journeyId"]
    now = clock.now()
    earlier = repo.claim_send(profile_id, dedupe_key, now)
    if earlier is not None:
        return {"status": earlier.get("status", "sending"), "dedupeKey": dedupe_key, "duplicate": True}
    contact = lookup({"op": "contact", "profileId": profile_id})
    reason = why_not_send(contact)
    if reason:
        repo.finish_send(profile_id, dedupe_key, "skipped", {"reason": reason})
        publisher.publish(
            [
                envelope(
                    MessageFailed(
                        profileId=profile_id, journeyId=journey_id, channel="email", reason=reason, dedupeKey=dedupe_key
                    ),
                    id=derived_id(dedupe_key, "MessageFailed"),
                )
            ]
        )
        return {"status": "skipped", "reason": reason, "dedupeKey": dedupe_key}
    journey = repo.journey(journey_id) or {}
    links, headers = recipient_links(
        journey.get("trackedLinks") or [], signing, profile_id, dedupe_key, now, contact.get("unsubscribeToken")
    )
    template: dict[str, Any] = {
        "TemplateName": task["template"],
        "TemplateData": json.dumps({**template_data(contact), **links}),
    }
    if headers:
        template["Headers"] = headers
    request: dict[str, Any] = {
        "FromEmailAddress": sender,
        "Destination": {"ToAddresses": [contact["email"]]},
        "Content": {"Template": template},
        "EmailTags": [{"Name": "journey", "Value": journey_id[:256]}],
    }
    if configuration_set:
        request["ConfigurationSetName"] = configuration_set
    try:
        message_id = ses.send_email(**request)["MessageId"]
    except ClientError:
        repo.finish_send(profile_id, dedupe_key, "failed", {})
        raise
    repo.finish_send(profile_id, dedupe_key, "sent", {"messageId": message_id})
    publisher.publish(
        [
            envelope(
                MessageSent(
                    profileId=profile_id,
                    journeyId=journey_id,
                    channel="email",
                    template=task["template"],
                    providerMessageId=message_id,
                    dedupeKey=dedupe_key,
                ),
                id=derived_id(dedupe_key, "MessageSent"),
            )
        ]
    )
    return {"status": "sent", "messageId": message_id, "dedupeKey": dedupe_key}


def erase_profile(incoming: Envelope[ProfileErased], repo: DynamoJourneys, sfn: Any) -> int:
    """Stop the person's running journeys and delete every entry and send record held about them."""
    erased = 0
    for profile_id in erased_profile_ids(incoming.data):
        repo.mark_erased(profile_id, clock.now())  # first: a late segment entry must not start a new run
        for record in repo.profile_records(profile_id):
            if record["kind"] == "entry" and record.get("execution"):
                try:
                    sfn.stop_execution(
                        executionArn=record["execution"], error="ProfileErased", cause="The person asked for erasure."
                    )
                except ClientError as error:
                    if error.response["Error"]["Code"] not in ("ExecutionDoesNotExist", "ExecutionNotRunning"):
                        raise
        erased += repo.erase_profile(profile_id)
    return erased


def export_profile(profile_id: str, repo: DynamoJourneys) -> dict[str, Any]:
    """The journeys part of a person's data export: which journeys they entered and what was sent."""
    records = repo.profile_records(profile_id)
    return {
        "entries": [r for r in records if r["kind"] == "entry"],
        "messages": [r for r in records if r["kind"] == "send"],
    }
