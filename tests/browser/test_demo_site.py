"""The demo site's home hero and "For you" list show what the content service decides for the visitor's anonymous
id."""

from __future__ import annotations

from typing import Any

import pytest

from infra.local.demo import load
from infra.local.scenarios import content_brand as brand
from tests.browser.conftest import Site

HERO_VARIANT = "document.querySelector('#hero').dataset.variant"
FOR_YOU_COUNT = "document.querySelector('#for-you').dataset.count"
FOR_YOU_LINKS = "[...document.querySelectorAll('#for-you a')].map((a) => a.getAttribute('href'))"


@pytest.fixture(scope="module")
def demo_data(site: Site) -> dict[str, Any]:
    """What `make dev DEMO=1` loads: a recipe-readers segment, a journey and the content brand (catalogue, taste
    questionnaire, home-hero and front-page slots, newsletter)."""
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


def test_for_you_lists_six_items_for_everyone_then_the_readers_taste_once_she_answered_the_questionnaire(
    site: Site, demo_data: dict[str, Any]
) -> None:
    # Given a new visitor: the neutral pool sees the six newest items for everyone, as links to their pages
    first = site.drive(
        [
            {"goto": "/demo/"},
            {"click": "#accept"},
            {"waitFor": f"{FOR_YOU_COUNT} === '6'"},
            {"waitFor": "cxm.pending() === 0"},
            {"eval": "cxm.anonymousId()", "as": "anonymousId"},
            {"eval": FOR_YOU_LINKS, "as": "links"},
        ],
        visitor="taste-reader",
    )
    generic = [i for i in brand.items(site.cloud.clock.now()) if not i["segments"]]
    newest = sorted(generic, key=lambda i: i["publishedAt"], reverse=True)[:6]
    assert sorted(first.saved["links"]) == sorted(f"#{i['path']}" for i in newest)  # views may reorder them
    topics = {t for i in newest for t in i["topics"]}
    assert len(topics) > 1  # the neutral pool reads every topic

    # When she answers the taste questionnaire like an explorer
    answers, taste = brand.ANSWERS["adventurous-ana"]
    anonymous_id = first.saved["anonymousId"]
    sent = site.api.send("track", brand.answers_event(demo_data["questionnaireId"], anonymous_id, answers))
    assert sent.status == 200, sent.body
    site.cloud.settle()

    # Then on her next visit the hero speaks to explorers and the list follows their topics, with the item made for them
    later = site.drive(
        [
            {"goto": "/demo/"},
            {"waitFor": f"{HERO_VARIANT} === '{taste}'"},
            {"waitFor": "document.querySelector(\"#for-you a[href='#/recipes/sichuan-noodles']\") !== null"},
            {"eval": FOR_YOU_LINKS, "as": "links"},
            {"click": "#for-you a[href='#/recipes/sichuan-noodles']"},
            {"waitFor": "document.querySelector('#view h2').textContent === 'Sichuan peppercorn noodles'"},
        ],
        visitor="taste-reader",
    )
    by_path = {f"#{i['path']}": i for i in brand.items(site.cloud.clock.now())}
    links = later.saved["links"]
    assert len(links) == 6
    assert all(set(by_path[link]["topics"]) & set(brand.TOPICS_BY_SEGMENT[taste]) for link in links)
    assert all(by_path[link]["segments"] in ([], [taste]) for link in links)
    calls = [r for r in later.requests if r["path"] == "/v1/decide" and "front-page" in r["query"]]
    assert calls and all(f"anonymousId={anonymous_id}" in r["query"] for r in calls)
