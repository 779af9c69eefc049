"""Sending the double opt-in confirmation email identity asks for (journeys owns sends)."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from services.common import clock
from services.common.contracts import Envelope
from services.common.contracts.identity import EmailConfirmationRequested
from services.journeys.adapters.aws import TryAgain
from services.journeys.domain.confirmation import confirmation_content, confirmation_dedupe_key, confirmation_url
from services.journeys.ports import Directory, JourneyStore, Mailer


def send_confirmation(
    incoming: Envelope[EmailConfirmationRequested],
    repo: JourneyStore,
    directory: Directory,
    mailer: Mailer,
    sender: str,
    configuration_set: str,
    api_url: str,
) -> dict[str, Any]:
    """The confirmation email, to the address identity waits on (it may be only claimed: confirming it is the
    point), at most once per address per day (a redelivered request, a form sent again), never to a suppressed
    address or when nothing is pending any more. Returns what happened."""
    data = incoming.data
    contact = directory.contact(data.profile_id)
    profile_id, address = contact.get("profileId"), contact.get("email")
    if not profile_id or not isinstance(address, str) or not address:
        return {"status": "skipped", "reason": "profile or address gone"}
    if "email_marketing" not in (contact.get("pendingConsent") or []):
        return {"status": "skipped", "reason": "nothing to confirm"}
    if contact.get("suppressed"):
        return {"status": "skipped", "reason": "address suppressed (bounce or complaint)"}
    now = clock.now()
    dedupe_key = confirmation_dedupe_key(address, now.date())
    about = {"channel": "email", "kind": "confirmation", "source": data.source}
    if repo.claim_send(profile_id, dedupe_key, now, about) is not None:
        return {"status": "duplicate", "dedupeKey": dedupe_key}
    request: dict[str, Any] = {
        "FromEmailAddress": sender,
        "Destination": {"ToAddresses": [address]},
        "Content": confirmation_content(confirmation_url(api_url, data.token)),
        "EmailTags": [{"Name": "kind", "Value": "confirmation"}],
    }
    if configuration_set:
        request["ConfigurationSetName"] = configuration_set
    try:
        message_id = mailer.send(request)
    except TryAgain:
        repo.finish_send(profile_id, dedupe_key, "retry", {})
        raise  # the message is redelivered
    except ClientError as error:
        reason = error.response.get("Error", {}).get("Code", "rejected")
        repo.finish_send(profile_id, dedupe_key, "failed", {"reason": reason, "kind": "confirmation"})
        return {"status": "failed", "reason": reason}
    repo.finish_send(profile_id, dedupe_key, "sent", {"messageId": message_id, "kind": "confirmation"})
    return {"status": "sent", "messageId": message_id, "dedupeKey": dedupe_key}
