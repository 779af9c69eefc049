"""Composition root of the journeys service."""

from __future__ import annotations

from services.common import secrets, settings
from services.common.bus import EventBridgePublisher, Publisher
from services.common.manifest import EMAIL_CONFIGURATION_SET_ENV, EMAIL_FROM_ENV, PUBLIC_API_URL_ENV
from services.journeys.adapters.dynamodb import DynamoJourneys
from services.journeys.domain.tracked_email import LinkSigning
from services.journeys.manifest import JOURNEY_MACHINE, JOURNEYS


def journeys() -> DynamoJourneys:
    return DynamoJourneys(settings.table(JOURNEYS.env))


def publisher() -> Publisher:
    return EventBridgePublisher(settings.client("events"), settings.bus_name())


def state_machine_arn() -> str:
    return settings.setting(JOURNEY_MACHINE.env)


def email_from() -> str:
    return settings.setting(EMAIL_FROM_ENV)


def configuration_set() -> str:
    return settings.setting(EMAIL_CONFIGURATION_SET_ENV, "")


def link_signing() -> LinkSigning:
    """The public API's address and the platform's `link-signing` key: what a send signs its links with."""
    return LinkSigning(settings.setting(PUBLIC_API_URL_ENV).rstrip("/"), secrets.secret("link-signing"))
