"""`make dev` as a marketing engineer uses it: start it, send an event with curl-like calls, see it in the profile."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.local.scenarios import content_brand as brand
from infra.local.scenarios import device_shop as shop
from tests.conftest import Api

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def dev_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    port = free_port()
    workdir = tmp_path_factory.mktemp("dev")
    env = {**os.environ, "PYTHONPATH": str(REPO), "CXM_PORT": str(port), "DEMO": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "infra.local"],
        cwd=workdir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    deadline = time.monotonic() + 60
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        if "Ctrl-C stops" in line:
            break
    output = "".join(lines)
    try:
        assert "Ctrl-C stops" in output, output
        yield output, str(workdir)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def test_make_dev_prints_its_urls_and_keys(dev_server: tuple[str, str]) -> None:
    output, workdir = dev_server
    state = json.loads((Path(workdir) / ".cxm" / "local.json").read_text())
    for label in ("HTTP API", "OpenAPI", "Swagger UI", "Demo page", "Write key", "Admin key", "Demo data", "Slots"):
        assert label in output
    assert "home-hero" in output and "front-page" in output and "weekly-digest" in output
    assert "Device shop" in output and f"{state['url']}/demo/shop" in output and "DEMO0001" in output
    assert state["url"] in output and state["writeKey"] in output and state["adminKey"] in output


def test_a_tracked_event_shows_in_the_admin_profile_lookup_seconds_later(dev_server: tuple[str, str]) -> None:
    _, workdir = dev_server
    state = json.loads((Path(workdir) / ".cxm" / "local.json").read_text())
    api = Api(state["url"], state["writeKey"], state["adminKey"])

    sent = api.send("track", {"anonymousId": "curl-visitor", "event": "Signed Up", "properties": {"plan": "free"}})
    assert sent.status == 200, sent.body

    deadline = time.monotonic() + 10
    profile = api.admin("GET", "/v1/profiles?anonymousId=curl-visitor")
    while profile.status != 200 and time.monotonic() < deadline:
        time.sleep(0.2)
        profile = api.admin("GET", "/v1/profiles?anonymousId=curl-visitor")
    assert profile.status == 200, profile.body
    assert [a["event"] for a in profile.body["activity"]] == ["Signed Up"]

    assert api.request("GET", "/v1/openapi.json").status == 200
    assert api.request("GET", "/demo/").status == 200


def test_the_demo_brand_decides_a_list_of_six_and_a_hero_per_taste_segment(dev_server: tuple[str, str]) -> None:
    _, workdir = dev_server
    state = json.loads((Path(workdir) / ".cxm" / "local.json").read_text())
    api = Api(state["url"], state["writeKey"], state["adminKey"])

    # Given a visitor the platform has never seen: the default hero and six items for everyone
    decided = api.request("GET", "/v1/decide?slots=home-hero,front-page&anonymousId=taste-1", key=api.write_key)
    assert decided.status == 200, decided.body
    hero, front_page = decided.body["slots"]
    assert hero["variantId"] == "default" and len(front_page["items"]) == 6

    # When she answers the taste questionnaire like a home cook
    questionnaire = next(
        q for q in api.admin("GET", "/v1/questionnaires").body["questionnaires"] if q["name"] == "taste"
    )
    answers, taste = brand.ANSWERS["scratch-sam"]
    event = brand.answers_event(questionnaire["questionnaireId"], "taste-1", answers)
    assert api.send("track", event).status == 200

    # Then, seconds later, the hero and the list follow her segment
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        decided = api.request("GET", "/v1/decide?slots=home-hero,front-page&anonymousId=taste-1", key=api.write_key)
        hero, front_page = decided.body["slots"]
        if hero["variantId"] == taste:
            break
        time.sleep(0.2)
    assert hero["variantId"] == taste, decided.body
    assert len(front_page["items"]) == 6
    assert all(set(i["topics"]) & set(brand.TOPICS_BY_SEGMENT[taste]) for i in front_page["items"])


def test_the_device_shop_is_served_with_its_pools_serials_and_published_journeys(dev_server: tuple[str, str]) -> None:
    _, workdir = dev_server
    state = json.loads((Path(workdir) / ".cxm" / "local.json").read_text())
    api = Api(state["url"], state["writeKey"], state["adminKey"])

    page = api.request("GET", "/demo/shop")
    assert page.status == 200
    html = str(page.body)
    assert "Brewer 3000" in html and "/v1/devices/register" in html and "Order Completed" in html

    pools = {p["poolId"]: p for p in api.admin("GET", "/v1/coupons/pools").body["pools"]}
    for pool_id in shop.POOLS:
        assert pools[pool_id]["remaining"] == 50, pools
    journeys = api.admin("GET", "/v1/journeys").body["journeys"]
    names = {journey_name for journey_name, _ in shop.templates(state["url"] + shop.SHOP_PATH).values()}
    assert names <= {j["name"] for j in journeys}
    assert all(j["status"] == "active" for j in journeys if j["name"] in names), journeys

    # a second load on the same cloud changes nothing: the same pools, no second copy of a journey
    shop.load(state["url"], state["adminKey"], dt.datetime.now(dt.UTC))
    again = api.admin("GET", "/v1/journeys").body["journeys"]
    assert len(again) == len(journeys)
    assert {p["poolId"] for p in api.admin("GET", "/v1/coupons/pools").body["pools"]} == set(pools)


def test_the_clock_can_be_fast_forwarded_with_the_cli(dev_server: tuple[str, str]) -> None:
    _, workdir = dev_server
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    before = subprocess.run(
        [sys.executable, "-m", "infra.cli", "clock", "now"],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    moved = subprocess.run(
        [sys.executable, "-m", "infra.cli", "clock", "advance", "14d"],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "virtual time is now" in moved
    after = subprocess.run(
        [sys.executable, "-m", "infra.cli", "clock", "now"],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert after[:10] > before[:10]
    refused = subprocess.run(
        [sys.executable, "-m", "infra.cli", "clock", "advance", "soon"],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
    )
    assert refused.returncode != 0 and "duration" in (refused.stderr + refused.stdout)
