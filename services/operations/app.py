"""Composition root of the operations functions: adapters built lazily from the environment."""

from __future__ import annotations

from services.common import settings
from services.common.manifest import EMAIL_CONFIGURATION_SET_ENV
from services.operations.adapters.aws import CloudWatchReputation, SesSendingSwitch


def reputation() -> CloudWatchReputation:
    return CloudWatchReputation(settings.client("cloudwatch"))


def sending_switch() -> SesSendingSwitch:
    return SesSendingSwitch(settings.client("sesv2"), settings.setting(EMAIL_CONFIGURATION_SET_ENV))
