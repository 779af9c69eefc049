"""The device e-shop scenario: a coffee-machine maker's web shop (coupon pools, demo serials, journey templates)."""

from __future__ import annotations

import datetime as dt
import json
import urllib.error
import urllib.request
from typing import Any

from infra.local.demo import ApiError, call

# The Brewer 3000 shop at /demo/shop: carts, orders and device registration tracked with the demo write key. The
# journeys come from the template library (services/journeys/library/), installed and published with the pools
# their incentive, bonus and reward codes are claimed from. Loading twice is harmless: pools are upserts, and a
# template whose journey already exists is not installed again.

SHOP_PATH = "/demo/shop"
MODEL = "Brewer 3000"
SERIALS = tuple(f"DEMO{n:04d}" for n in range(1, 11))

POOLS: dict[str, dict[str, Any]] = {
    "demo-cart": {
        "name": "Cart incentive codes",
        "lowWatermark": 5,
        "generate": {"pattern": "CART-{XXXXXX}", "count": 50},
    },
    "demo-bonus": {
        "name": "Sign-up bonus codes",
        "lowWatermark": 5,
        "generate": {"pattern": "BONUS-{XXXXXX}", "count": 50},
    },
    "demo-reward": {
        "name": "Referral reward codes",
        "lowWatermark": 5,
        "generate": {"pattern": "THANKS-{XXXXXX}", "count": 50},
    },
}


def templates(shop_url: str) -> dict[str, tuple[str, dict[str, Any]]]:
    """Each template's parameters, by template name, with the journey name it installs (to skip it the second time)."""
    return {
        "cart-abandonment": (
            "Cart abandonment with incentive",
            {"couponPool": "demo-cart", "cartUrl": f"{shop_url}#cart"},
        ),
        "post-purchase": ("Post-purchase reminders", {"shopUrl": shop_url}),
        "welcome-registration": (
            "Welcome and registration",
            {"registerUrl": f"{shop_url}#register", "serviceUrl": f"{shop_url}#service"},
        ),
        "registration-referral": (
            "Registration thank-you and referral",
            {"bonusPool": "demo-bonus", "shareUrl": f"{shop_url}?ref="},
        ),
        "referral-reward": ("Referral reward", {"rewardPool": "demo-reward", "shopUrl": shop_url}),
    }


def serials_csv() -> bytes:
    return ("serial,model,category\n" + "".join(f"{s},{MODEL},device\n" for s in SERIALS)).encode()


def import_serials(base_url: str, admin_key: str) -> Any:
    request = urllib.request.Request(
        base_url + "/v1/products/serials/import",
        method="POST",
        data=serials_csv(),
        headers={"content-type": "text/csv", "authorization": f"Bearer {admin_key}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        raise ApiError(f"POST /v1/products/serials/import → {error.code}: {error.read().decode()}") from None


def load(base_url: str, admin_key: str, now: dt.datetime) -> dict[str, str]:
    """The pools, the serials and the published journeys; `now` is unused (nothing here is dated) but kept so
    every scenario loads the same way."""
    shop_url = base_url + SHOP_PATH
    for pool_id, pool in POOLS.items():
        call(base_url, "PUT", f"/v1/coupons/pools/{pool_id}", admin_key, pool)
    import_serials(base_url, admin_key)
    existing = {j["name"] for j in call(base_url, "GET", "/v1/journeys", admin_key)["journeys"]}
    installed = 0
    for name, (journey_name, parameters) in templates(shop_url).items():
        if journey_name in existing:
            continue
        call(
            base_url,
            "POST",
            f"/v1/journeys/templates/{name}/install",
            admin_key,
            {"parameters": parameters, "publish": True},
        )
        installed += 1
    return {
        "shopUrl": shop_url,
        "serials": f"{SERIALS[0]}…{SERIALS[-1]}",
        "pools": ", ".join(POOLS),
        "shopJourneys": str(len(templates(shop_url))),
    }
