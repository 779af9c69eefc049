"""Composition root of the journeys service: adapters built lazily from the environment; caches per container."""

from __future__ import annotations

import time
from typing import Any

from services.common import secrets, settings
from services.common.bus import EventBridgePublisher, Publisher
from services.common.manifest import EMAIL_CONFIGURATION_SET_ENV, EMAIL_FROM_ENV, PUBLIC_API_URL_ENV
from services.common.observability import CountingPublisher
from services.journeys.adapters.aws import (
    ContentRenderer,
    InternalDirectory,
    SesMailer,
    SnsTexter,
    StepFunctionsRunner,
)
from services.journeys.adapters.coupons import DynamoCouponPools
from services.journeys.adapters.dynamodb import DynamoJourneys
from services.journeys.adapters.programmes import DynamoProgrammes
from services.journeys.adapters.reputation import CloudWatchReputation, SesSendingSwitch
from services.journeys.adapters.webhook_http import HttpWebhooks
from services.journeys.domain.catalog import Catalog, load
from services.journeys.domain.definition import JourneyDefinition
from services.journeys.domain.tracked_email import LinkSigning
from services.journeys.manifest import (
    EMAIL_CAP_SETTING,
    EMAIL_RATE_SETTING,
    JOURNEY_MACHINES,
    JOURNEYS,
    PROGRAMMES,
    SMS_CAP_SETTING,
    SMS_RATE_SETTING,
    WEBHOOK_PRIVATE_SETTING,
)

CATALOG_TTL_SECONDS = 30.0


def journeys() -> DynamoJourneys:
    return DynamoJourneys(settings.table(JOURNEYS.env))


def coupons() -> DynamoCouponPools:
    """Coupon pools, in the programmes table (the same service's own table)."""
    return DynamoCouponPools(settings.table(PROGRAMMES.env))


def programmes() -> DynamoProgrammes:
    """The product registry and referral codes, in the programmes table."""
    return DynamoProgrammes(settings.table(PROGRAMMES.env))


def publisher() -> Publisher:
    return CountingPublisher(EventBridgePublisher(settings.client("events"), settings.bus_name()), "journeys")


def runner() -> StepFunctionsRunner:
    return StepFunctionsRunner(
        settings.client("stepfunctions"),
        settings.setting(JOURNEY_MACHINES.name_prefix_env),
        settings.setting(JOURNEY_MACHINES.role_env, ""),
    )


def machine_functions() -> dict[str, str]:
    return {name: settings.setting(JOURNEY_MACHINES.function_env(name)) for name in JOURNEY_MACHINES.invokes}


def directory() -> InternalDirectory:
    return InternalDirectory()


def renderer() -> ContentRenderer:
    return ContentRenderer()


def mailer() -> SesMailer:
    return SesMailer(settings.client("sesv2", retried=False))


def texter() -> SnsTexter:
    return SnsTexter(settings.client("sns"))


def webhooks_allow_private() -> bool:
    """Only the local cloud and tests call webhooks on private addresses (the SSRF guard stays on in AWS)."""
    return settings.setting(WEBHOOK_PRIVATE_SETTING, "false").lower() == "true"


def webhooks() -> HttpWebhooks:
    return HttpWebhooks(allow_private=webhooks_allow_private())


def email_from() -> str:
    return settings.setting(EMAIL_FROM_ENV)


def configuration_set() -> str:
    return settings.setting(EMAIL_CONFIGURATION_SET_ENV, "")


def public_api_url() -> str:
    return settings.setting(PUBLIC_API_URL_ENV).rstrip("/")


def link_signing() -> LinkSigning:
    """The public API's address and the platform's `link-signing` key: what a send signs its links with."""
    return LinkSigning(settings.setting(PUBLIC_API_URL_ENV).rstrip("/"), secrets.secret("link-signing"))


def delivery_settings(channel: str) -> dict[str, str]:
    """The deployment's frequency cap ("3/7d", empty: none) and global rate (per second, empty: none)."""
    cap, rate = (EMAIL_CAP_SETTING, EMAIL_RATE_SETTING) if channel == "email" else (SMS_CAP_SETTING, SMS_RATE_SETTING)
    return {"cap": settings.setting(cap, ""), "rate": settings.setting(rate, "")}


class _CatalogCache:
    """Active journeys per container, so a collected event costs no definitions read: reloaded after a TTL or
    when this container changed a journey itself."""

    def __init__(self) -> None:
        self._entries: dict[str, tuple[float, Catalog]] = {}
        self._versions: dict[tuple[str, str, int], Any] = {}

    def get(self, repo: DynamoJourneys) -> Catalog:
        entry = self._entries.get(repo.name)
        if entry is not None and entry[0] > time.monotonic():
            return entry[1]
        found = load(repo.journeys())
        self._entries[repo.name] = (time.monotonic() + CATALOG_TTL_SECONDS, found)
        return found

    def version(self, repo: DynamoJourneys, journey_id: str, version: int) -> Any:
        """A published version never changes, so it is cached for the container's life."""
        key = (repo.name, journey_id, version)
        if key not in self._versions:
            found = repo.version(journey_id, version)
            if found is None:
                raise LookupError(f"journey {journey_id} has no version {version}")
            self._versions[key] = (JourneyDefinition.model_validate(found["definition"]), found)
        return self._versions[key]

    def invalidate(self) -> None:
        self._entries.clear()


_CATALOG = _CatalogCache()


def catalog(repo: DynamoJourneys | None = None) -> Catalog:
    return _CATALOG.get(repo or journeys())


def version(repo: DynamoJourneys, journey_id: str, number: int) -> Any:
    return _CATALOG.version(repo, journey_id, number)


def journeys_changed() -> None:
    _CATALOG.invalidate()


def reputation() -> CloudWatchReputation:
    return CloudWatchReputation(settings.client("cloudwatch"))


def sending_switch() -> SesSendingSwitch:
    return SesSendingSwitch(settings.client("sesv2"), settings.setting(EMAIL_CONFIGURATION_SET_ENV))
