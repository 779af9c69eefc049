"""The demo device e-shop (/demo/shop): a shopper registers her machine's serial through the page's form and sees
her referral code; an unknown serial shows the API's problem detail."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from infra.local.scenarios import device_shop
from tests.browser.conftest import Site

RESULT = "document.querySelector('#registered')"


@pytest.fixture(scope="module")
def shop(site: Site) -> dict[str, str]:
    """What `make dev DEMO=1` loads for the shop: pools, demo serials DEMO0001…DEMO0010, published journeys."""
    return device_shop.load(site.url, site.api.admin_key, dt.datetime.now(dt.UTC))


def register(site: Site, serial: str, email: str, visitor: str) -> Any:
    return site.drive(
        [
            {"goto": "/demo/shop"},
            {"click": "#accept"},
            {"fill": ["#registration input[name=serial]", serial]},
            {"fill": ["#registration input[name=email]", email]},
            {"fill": ["#registration input[name=firstName]", "Rosa"]},
            {"click": "#registration button[type=submit]"},
            {"waitFor": f"!{RESULT}.hidden"},
            {"eval": f"{RESULT}.textContent", "as": "result"},
            {"eval": f"{RESULT}.classList.contains('error')", "as": "error"},
            {"eval": "document.querySelector('#referral-code')?.textContent ?? null", "as": "code"},
        ],
        visitor=visitor,
    )


def test_registering_a_demo_serial_shows_a_referral_code(site: Site, shop: dict[str, str]) -> None:
    registered = register(site, device_shop.SERIALS[0], "rosa@shop.example", "shop-owner")
    assert registered.saved["error"] is False, registered.saved
    code = registered.saved["code"]
    assert code and code in registered.saved["result"]
    calls = [r for r in registered.requests if r["path"] == "/v1/devices/register"]
    assert len(calls) == 1


def test_an_unknown_serial_shows_the_problem_detail(site: Site, shop: dict[str, str]) -> None:
    refused = register(site, "NOPE9999", "nope@shop.example", "shop-stranger")
    assert refused.saved["error"] is True, refused.saved
    assert refused.saved["code"] is None and "serial" in refused.saved["result"]


def test_cart_sign_in_and_checkout_are_tracked_on_the_shoppers_profile(site: Site, shop: dict[str, str]) -> None:
    shopped = site.drive(
        [
            {"goto": "/demo/shop"},
            {"click": "#accept"},
            {"click": "#products button[data-add='0']"},
            {"click": "#products button[data-add='1']"},
            {"fill": ["#signin input[name=email]", "carl@shop.example"]},
            {"fill": ["#signin input[name=userId]", "shop-user-carl"]},
            {"click": "#signin button[type=submit]"},
            {"fill": ["#checkout input[name=referralCode]", "FRIEND-CODE"]},
            {"click": "#checkout button[type=submit]"},
            {"waitFor": "!document.querySelector('#ordered').hidden"},
            {"waitFor": "cxm.pending() === 0"},
            {"eval": "cxm.anonymousId()", "as": "anonymousId"},
        ],
        visitor="shop-buyer",
    )
    site.cloud.settle()
    profile = site.api.admin("GET", f"/v1/profiles?anonymousId={shopped.saved['anonymousId']}")
    assert profile.status == 200, profile.body
    events = [a.get("event") for a in profile.body["activity"]]
    assert events.count("Product Added") == 2 and "Order Completed" in events, events
    order = next(a for a in profile.body["activity"] if a.get("event") == "Order Completed")["properties"]
    assert order["channel"] == "webshop" and order["category"] == "device" and order["orderId"]
    assert order["referralCode"] == "FRIEND-CODE"
    assert [p["name"] for p in order["products"]] == ["Brewer 3000", "Descaler"]
