"""The configuration documents browser SDKs fetch before they send: Segment's project settings, RudderStack's source
config; both point the SDK's sending at this platform and turn off everything it would load or report elsewhere."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

# analytics.js 2.0 (`@segment/analytics-next`) sends each call to `<protocol>://<apiHost>/<letter>`; these are the
# long endpoints its one-letter paths stand for (`/v1/b` is its batching delivery strategy).
SEGMENT_SHORT_PATHS: dict[str, str] = {
    "t": "track",
    "p": "page",
    "i": "identify",
    "s": "screen",
    "g": "group",
    "a": "alias",
    "b": "batch",
}


def segment_project_settings(write_key: str, public_api_url: str) -> dict[str, Any]:
    """What `${cdnURL}/v1/projects/<writeKey>/settings` answers: the Segment.io destination only, sending to this
    platform. No device-mode destinations, middleware or remote plugins (nothing else to download), and remote
    metrics off (sampleRate 0), so the library talks to nobody but us."""
    parts = urlsplit(public_api_url)
    return {
        "integrations": {
            "Segment.io": {
                "apiKey": write_key,  # the library sends with this key: it must be the one asked for
                "apiHost": f"{parts.netloc}{parts.path.rstrip('/')}/v1",
                "protocol": parts.scheme or "https",
                "unbundledIntegrations": [],
                "addBundledMetadata": True,
                "maybeBundledConfigIds": {},
                "versionSettings": {"componentTypes": ["browser"]},
            }
        },
        "edgeFunction": {},
        "analyticsNextEnabled": True,
        "middlewareSettings": {},
        "enabledMiddleware": {},
        "metrics": {"sampleRate": 0},
        "legacyVideoPluginsEnabled": False,
        "remotePlugins": [],
    }


def rudderstack_source_config(source_id: str) -> dict[str, Any]:
    """What RudderStack's JavaScript SDK (v3) reads from `<configUrl>/sourceConfig/`: an enabled source without
    device-mode destinations (so no integration SDK is downloaded) and with the SDK's own error and metrics
    reporting off. The SDK requires `source.id`, `source.config` (an object) and `source.destinations` (a list)."""
    source = {
        "id": source_id,
        "name": source_id,
        "workspaceId": "cxm",
        "enabled": True,
        "config": {"statsCollection": {"errors": {"enabled": False}, "metrics": {"enabled": False}}},
        "destinations": [],
    }
    return {"isHosted": True, "source": source}
