"""The installation's identity settings: merge policy and timeline retention."""

from __future__ import annotations

from typing import Any

from services.identity.domain.records import IdentitySettings
from services.identity.ports import Settings


def current_settings(store: Settings) -> dict[str, Any]:
    return store.settings().to_json()


def change_settings(store: Settings, chosen: IdentitySettings) -> dict[str, Any]:
    """Store the settings; functions that cache them see the change within their cache minute."""
    store.save_settings(chosen)
    return chosen.to_json()
