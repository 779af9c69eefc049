"""Composition root of the content service."""

from __future__ import annotations

from services.common import settings
from services.content.adapters.dynamodb import DynamoContent
from services.content.manifest import CONTENT


def content() -> DynamoContent:
    return DynamoContent(settings.table(CONTENT.env))
