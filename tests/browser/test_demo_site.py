"""The demo site's home hero shows the variant the content service decides for the visitor's anonymous id."""

from __future__ import annotations

from typing import Any

import pytest

from infra.local.demo import load
from tests.browser.conftest import Site

HERO_VARIANT = "document.querySelector('#hero').dataset.variant"


@pytest.fixture(scope="module")
def demo_data(site: Site) -> dict[str, Any]:
    """What `make dev DEMO=1` loads: a recipe-readers segment, a journey and the home-hero slot."""
    return load(site.url, site.api.admin_key)


def test_the_home_hero_switches_to_the_recipes_variant_once_the_visitor_reads_two_recipes(
    site: Site, demo_data: dict[str, Any]
) -> None:
    # Given a new visitor: the hero shows the default variant
    first = site.drive(
        [
            {"goto": "/demo/"},
            {"click": "#accept"},
            {"waitFor": f"{HERO_VARIANT} === 'default'"},
            {"eval": "document.querySelector('#hero h1').textContent", "as": "defaultTitle"},
            # When she reads two recipes (the demo segment: at least 2 pages under /recipes in 14 days)
            {"click": "nav a[href='#/recipes']"},
            {"click": "#view a[href='#/recipes/risotto']"},
            {"waitFor": "cxm.pending() === 0"},
            {"eval": "cxm.anonymousId()", "as": "anonymousId"},
        ],
        visitor="hero-reader",
    )
    assert first.saved["defaultTitle"] == "Welcome to our kitchen"
    anonymous_id = first.saved["anonymousId"]
    site.cloud.settle()
    decided = site.api.request(
        "GET", f"/v1/decide?slot=home-hero&anonymousId={anonymous_id}", key=site.api.write_key
    ).body
    assert decided["variantId"] == "recipes"

    # Then on her next visit the hero shows the variant decided for her cookie's anonymous id
    later = site.drive(
        [
            {"goto": "/demo/"},
            {"waitFor": f"{HERO_VARIANT} === 'recipes'"},
            {"eval": "document.querySelector('#hero h1').textContent", "as": "title"},
            {"eval": "document.querySelector('#hero a').getAttribute('href')", "as": "link"},
            {"eval": "cxm.anonymousId()", "as": "anonymousId"},
        ],
        visitor="hero-reader",
    )
    assert later.saved["anonymousId"] == anonymous_id
    assert later.saved["title"] == decided["content"]["title"] == "Cook something new tonight"
    assert later.saved["link"] == "#/recipes"
    hero_calls = [r for r in later.requests if r["path"] == "/v1/decide"]
    assert hero_calls and all(f"anonymousId={anonymous_id}" in r["query"] for r in hero_calls)
