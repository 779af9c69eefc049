"""Demo data for `make dev DEMO=1`, loaded through the public HTTP API like a marketer would."""

from __future__ import annotations

import datetime as dt
import json
import urllib.error
import urllib.request
from typing import Any

DEMO_WRITE_KEY = "wk_demo_local_site"  # local only: printed by `make dev`, never valid in a deployment
DEMO_ADMIN_KEY = "ak_demo_local_admin"


ENGAGEMENT_PLAN = {
    "name": "Engagement",
    "description": "Recipe reading and a known address: warm from 10 points, hot from 60",
    "rules": [
        {
            "name": "recipe-view",
            "activity": {"type": "page", "where": [{"property": "path", "op": "startsWith", "value": "/recipes"}]},
            "points": 5,
            "maxPerDay": 10,
        },
        {"name": "has-email", "traits": {"trait": "email", "op": "exists"}, "points": 5},
    ],
    "decay": {"expireAfterDays": 90},
    "tiers": [{"name": "cold"}, {"name": "warm", "min": 10}, {"name": "hot", "min": 60}],
}


class ApiError(RuntimeError):
    pass


def call(base_url: str, method: str, path: str, key: str, body: dict[str, Any] | None = None) -> Any:
    request = urllib.request.Request(
        base_url + path,
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"content-type": "application/json", "authorization": f"Bearer {key}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        raise ApiError(f"{method} {path} → {error.code}: {error.read().decode()}") from None


def local_now(base_url: str) -> dt.datetime:
    """The local cloud's virtual time (it may have been fast-forwarded past the wall clock)."""
    with urllib.request.urlopen(base_url + "/_local/clock", timeout=10) as response:
        return dt.datetime.fromisoformat(json.loads(response.read())["now"])


def load(base_url: str, admin_key: str, now: dt.datetime | None = None) -> dict[str, str]:
    """A segment (recipe readers), a journey (welcome mail 2 days after entry), and the content brand
    (infra/local/scenarios/content_brand.py): catalogue, taste questionnaire, home hero, front-page list, newsletter;
    and the device e-shop (infra/local/scenarios/device_shop.py): coupon pools, demo serials, published journeys.
    `now`: the time the catalogue is dated from (default: the local cloud's clock)."""
    from infra.local.scenarios import content_brand, device_shop  # they build on `call` above

    segment = call(
        base_url,
        "POST",
        "/v1/segments",
        admin_key,
        {
            "name": "Recipe readers",
            "description": "Viewed at least 2 recipe pages in the last 14 days",
            "condition": {
                "behaviour": {"type": "page", "where": [{"property": "path", "op": "startsWith", "value": "/recipes"}]},
                "op": "atLeast",
                "value": 2,
                "withinDays": 14,
            },
        },
    )
    journey = call(
        base_url,
        "POST",
        "/v1/journeys",
        admin_key,
        {
            "name": "Recipe readers welcome",
            "trigger": {"segmentEntered": segment["segmentId"]},
            "waitSeconds": 2 * 86400,
            "email": {
                "subject": "{{firstName}}, three recipes for this week",
                "html": "<h1>Hello {{firstName}}!</h1><p>You liked our recipes: here are three more.</p>",
                "text": "Hello {{firstName}}! You liked our recipes: here are three more.",
            },
        },
    )
    # An engagement plan, so the console's overview and scoring pages have a pyramid to show.
    plan = call(base_url, "POST", "/v1/scoring/plans", admin_key, ENGAGEMENT_PLAN)
    # The hero keeps its first targeting (recipe readers, by behaviour) after the taste segments' variants.
    recipes = {
        "variantId": "recipes",
        "segmentId": segment["segmentId"],
        "content": {"title": "Cook something new tonight", "link": "/recipes"},
    }
    now = now or local_now(base_url)
    brand = content_brand.load(base_url, admin_key, now, more_hero_variants=[recipes])
    shop = device_shop.load(base_url, admin_key, now)
    return {
        "segmentId": segment["segmentId"],
        "journeyId": journey["journeyId"],
        "planId": plan["planId"],
        "slot": "home-hero",
        **brand,
        **shop,
    }
