"""The content-brand scenario end to end, over real HTTP on the local cloud: an FMCG brand's catalogue, a taste
questionnaire assigning six segments (one reader stays in the neutral pool), reading, a front page ranked per
segment, a newsletter rendered per segment by a journey, exact segment × topic analytics, and a headline A/B test
whose results match GrowthBook's SDK (assignment) and gbstats (statistics)."""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from collections import Counter, defaultdict
from typing import Any

import pytest
from gbstats.bayesian.tests import EffectBayesianABTest, EffectBayesianConfig
from gbstats.frequentist.tests import FrequentistConfig, TwoSidedTTest
from gbstats.models.statistics import ProportionStatistic
from growthbook import Experiment, GrowthBook

from infra.local.scenarios import content_brand as brand
from tests.conftest import Api

EMAIL = "{}@hearth.example"
# what a reader's browser sends (urllib's own agent reads as a bot, and bots' views are never counted)
BROWSER = {
    "User-Agent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Version/17.5 Safari/605.1.15"
}


def send(api: Api, kind: str, message: dict[str, Any]) -> None:
    reply = api.request("POST", f"/v1/{kind}", message, key=api.write_key, headers=BROWSER)
    assert reply.status == 200, reply.body


@pytest.fixture(scope="module")
def scenario(cloud: Any, api: Api) -> dict[str, Any]:
    loaded = brand.load(api.base_url, api.admin_key, cloud.clock.now())
    return {**loaded, "items": {i["id"]: i for i in brand.items(cloud.clock.now())}}


@pytest.fixture(scope="module")
def readers(cloud: Any, api: Api, scenario: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Seven readers sign up with their email and answer the questionnaire; then each reads two items of their
    segment's topics (the neutral reader two generic ones), one of them twice."""
    questionnaire = scenario["questionnaireId"]
    people: dict[str, dict[str, Any]] = {}
    for name, (answers, key) in brand.ANSWERS.items():
        anonymous_id = f"cb-{name}"
        first_name = name.split("-")[1].title()
        identify = {
            "anonymousId": anonymous_id,
            "userId": name,
            "traits": {"email": EMAIL.format(name), "firstName": first_name},
        }
        assert api.backend("identify", identify).status == 200  # the sign-up, made by the brand's back-end
        assert api.send("track", brand.answers_event(questionnaire, anonymous_id, answers)).status == 200
        people[name] = {"anonymousId": anonymous_id, "key": key, "firstName": first_name}
    cloud.settle()
    catalogue = scenario["items"]
    for name, person in people.items():
        topics = brand.TOPICS_BY_SEGMENT.get(person["key"] or "", ())
        mine = [i for i in catalogue.values() if _for(i, person["key"], topics)]
        read = [mine[0], mine[1], mine[1]]
        for item in read:
            send(api, "page", {"anonymousId": person["anonymousId"], "properties": {"path": item["path"]}})
        person["read"] = read
        person["profileId"] = api.admin("GET", f"/v1/profiles?userId={name}").body["profileId"]
    cloud.settle()
    return people


def _for(item: dict[str, Any], key: str | None, topics: tuple[str, ...]) -> bool:
    """An item of the reader's segment's topics (any, for the neutral reader), for everyone or for them."""
    about = bool(set(item["topics"]) & set(topics)) if topics else True
    return about and (not item["segments"] or key in item["segments"])


def _follow(tracked: str) -> str:
    """A reader's browser opening a tracked link: where the platform redirects it."""
    request = urllib.request.Request(tracked, headers=BROWSER)

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    try:
        urllib.request.build_opener(NoRedirect).open(request, timeout=30)
    except urllib.error.HTTPError as redirect:
        assert redirect.code == 302
        return str(redirect.headers["Location"])
    raise AssertionError("the tracked link did not redirect")


def decide(api: Api, anonymous_id: str, *slots: str) -> list[dict[str, Any]]:
    reply = api.request("GET", f"/v1/decide?slots={','.join(slots)}&anonymousId={anonymous_id}", key=api.write_key)
    assert reply.status == 200, reply.body
    return list(reply.body["slots"])


def test_each_segment_sees_its_own_hero_and_front_page_and_the_neutral_reader_the_generic_ones(
    api: Api, scenario: dict[str, Any], readers: dict[str, dict[str, Any]]
) -> None:
    catalogue = scenario["items"]
    for name, person in readers.items():
        hero, front = decide(api, person["anonymousId"], scenario["heroSlot"], scenario["listSlot"])
        assert hero["variantId"] == (person["key"] or "default"), name
        shown = [catalogue[i["id"]] for i in front["items"]]
        assert len(shown) == 6, name
        # never what they just read
        assert not {i["id"] for i in shown} & {i["id"] for i in person["read"]}, name
        if person["key"]:
            # their segment's topics only, and nothing aimed at another segment
            assert all(set(i["topics"]) & set(brand.TOPICS_BY_SEGMENT[person["key"]]) for i in shown), name
            assert all(not i["segments"] or person["key"] in i["segments"] for i in shown), name
        else:
            assert all(not i["segments"] for i in shown), name  # the generic list
        # a page never learns the visitor's profile, segments or traits
        assert set(hero) == {"slot", "variantId", "content"}
        assert all(set(i) <= {"id", "title", "url", "path", "type", "topics", "locale", "publishedAt", "updatedAt",
                              "summary", "image"} for i in front["items"])  # fmt: skip


@pytest.fixture(scope="module")
def newsletter(cloud: Any, api: Api, scenario: dict[str, Any], readers: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The weekly digest sent to every reader by a journey whose one email node names the content template."""
    journey = api.admin(
        "POST",
        "/v1/journeys",
        {
            "name": "Weekly digest",
            "entry": {"trigger": {"api": True}},
            "start": "digest",
            "nodes": [{"id": "digest", "type": "email", "template": scenario["templateId"], "next": "end"},
                      {"id": "end", "type": "exit"}],
        },
    )  # fmt: skip
    assert journey.status == 201, journey.body
    journey_id = journey.body["journeyId"]
    assert api.admin("POST", f"/v1/journeys/{journey_id}/publish").status == 200
    profile_ids = [p["profileId"] for p in readers.values()]
    enrolled = api.admin("POST", f"/v1/journeys/{journey_id}/enrol", {"profileIds": profile_ids, "key": "week-1"})
    assert enrolled.status == 200 and enrolled.body["entered"] == len(profile_ids), enrolled.body
    cloud.settle_runs()

    def mine() -> dict[str, Any]:
        sent = {m.destinations["ToAddresses"][0]: m for m in cloud.sent_emails()}
        return {name: sent[EMAIL.format(name)] for name in readers if EMAIL.format(name) in sent}

    cloud.wait_for(lambda: len(mine()) == len(readers))
    return {"journeyId": journey_id, "messages": mine()}


def test_the_newsletter_renders_per_segment_through_a_journey_and_generically_for_the_neutral_pool(
    cloud: Any, api: Api, readers: dict[str, dict[str, Any]], newsletter: dict[str, Any]
) -> None:
    for name, person in readers.items():
        message = newsletter["messages"][name]
        assert message.subject == f"{person['firstName']}, your week at Hearth & Table"
        intro = brand._INTROS.get(
            person["key"] or "", "Here is what is new in the Hearth &amp; Table kitchen this week."
        )
        assert intro.replace("&", "&amp;").replace("&amp;amp;", "&amp;") in message.body or intro in message.body, name
        others = [text for key, text in brand._INTROS.items() if key != person["key"]]
        assert not any(text in message.body for text in others), name
        links = re.findall(r'href="([^"]+)"', message.body)
        assert links and all(link.startswith(cloud.url) for link in links if "/v1/t/" in link), name  # tracked
    runs = api.admin("GET", f"/v1/journeys/{newsletter['journeyId']}/analytics").body
    assert runs["versions"][0]["nodes"]["digest"]["sent"] == len(readers)


def test_the_analytics_count_each_segment_s_views_readers_and_newsletter_clicks_exactly(
    cloud: Any, api: Api, scenario: dict[str, Any], readers: dict[str, dict[str, Any]], newsletter: dict[str, Any]
) -> None:
    # Given the explorer clicks the first item link of her newsletter an hour after it arrived, in her browser
    day = cloud.clock.now().date().isoformat()
    cloud.advance("1h")
    body = newsletter["messages"]["adventurous-ana"].body
    first = next(h for h in re.findall(r'href="([^"]+)"', body) if "/v1/t/click/" in h)
    target = _follow(first)
    cloud.settle()
    clicked = next(i for i in scenario["items"].values() if target.endswith(i["path"]))
    views: Counter[tuple[str, str]] = Counter()
    reader_sets: dict[tuple[str, str], set[str]] = defaultdict(set)
    for name, person in readers.items():
        audience = person["key"] or "neutral"
        for item in person["read"]:
            for topic in item["topics"]:
                views[(audience, topic)] += 1
                reader_sets[(audience, topic)].add(name)
    reply = api.admin("GET", f"/v1/content/analytics?from={day}&to={day}&by=topic")
    assert reply.status == 200, reply.body
    audiences = {p["key"] or "neutral" for p in readers.values()}
    rows = {
        (r["audience"], r["topic"]): (r["views"], r["readers"])
        for r in reply.body["rows"]
        if r["audience"] in audiences
    }
    expected = {key: (views[key], len(reader_sets[key])) for key in views}
    assert {k: v for k, v in rows.items() if v != (0, 0)} == expected
    clicks = {(r["audience"], r["topic"]): r["clicks"] for r in reply.body["rows"] if r["clicks"]}
    assert {k: v for k, v in clicks.items() if k[0] in audiences} == {("explorer", t): 1 for t in clicked["topics"]}
    links = api.admin("GET", f"/v1/content/analytics?from={day}&to={day}&by=link").body["rows"]
    assert [(r["audience"], r["link"], r["clicks"]) for r in links if r["audience"] == "explorer"] == [
        ("explorer", target, 1)
    ]
    # each segment's share of a topic's readers, the neutral pool its own row
    recipes = reply.body["shareOfReaders"]["recipes"][day]
    assert set(recipes) >= {a for a, t in views if t == "recipes"}

    items = api.admin("GET", f"/v1/content/analytics?from={day}&to={day}&by=item").body
    undecided = readers["undecided-uma"]["read"]
    assert [t["item"] for t in items["topItems"]["neutral"]][:2] == sorted(
        {undecided[1]["id"]: 2, undecided[0]["id"]: 1}, key=lambda i: i != undecided[1]["id"]
    )


def test_a_headline_test_on_the_hero_assigns_as_growthbook_and_reports_what_gbstats_reports(
    cloud: Any, api: Api, scenario: dict[str, Any]
) -> None:
    bold = {"title": "Cook something bold tonight", "link": "/recipes"}
    experiment = {
        "name": "Hero headline",
        "target": {"slotId": scenario["heroSlot"]},
        "variants": [{"id": "control", "content": brand.HERO_DEFAULT}, {"id": "bold", "content": bold}],
        "goal": {"event": "Recipe Saved"},
    }
    assert api.admin("PUT", "/v1/experiments/hero-headline", experiment).status == 200
    assert api.admin("POST", "/v1/experiments/hero-headline/start").status == 200

    visitors = [f"ab-visitor-{i}" for i in range(80)]
    expected: dict[str, Counter[str]] = {"control": Counter(), "bold": Counter()}
    for n, visitor in enumerate(visitors):
        (hero,) = decide(api, visitor, scenario["heroSlot"])
        # the same assignment GrowthBook's SDK makes for this id (hash v2, our experiment id as the key)
        sdk = GrowthBook(attributes={"id": visitor}).run(
            Experiment(key="hero-headline", variations=["control", "bold"], hashVersion=2)
        )
        assert hero["variantId"] == sdk.value, visitor
        decide(api, visitor, scenario["heroSlot"])  # a reload: not a second exposure
        expected[hero["variantId"]]["users"] += 1
        if n % 3 == 0 or (hero["variantId"] == "bold" and n % 3 == 1):
            save = {"anonymousId": visitor, "event": "Recipe Saved", "properties": {"recipe": "lemon-pavlova"}}
            for _ in range(2):  # saved twice: one conversion
                send(api, "track", save)
            expected[hero["variantId"]]["conversions"] += 1
    cloud.settle()

    results = api.admin("GET", "/v1/experiments/hero-headline/results").body
    got = {v["variantId"]: {"users": v["users"], "conversions": v["conversions"]} for v in results["variants"]}
    assert got == {k: {"users": c["users"], "conversions": c["conversions"]} for k, c in expected.items()}

    control, treatment = (ProportionStatistic(n=c["users"], sum=c["conversions"]) for c in expected.values())
    frequentist = TwoSidedTTest(control, treatment, FrequentistConfig()).compute_result()
    bayesian = EffectBayesianABTest(control, treatment, EffectBayesianConfig()).compute_result()
    bold_row = results["variants"][1]
    assert bold_row["pValue"] == pytest.approx(frequentist.p_value, rel=1e-9)
    assert bold_row["upliftInterval"] == pytest.approx(frequentist.ci, rel=1e-9)
    assert bold_row["chanceToWin"] == pytest.approx(bayesian.chance_to_win, rel=1e-9)
    assert bold_row["credibleInterval"] == pytest.approx(bayesian.ci, rel=1e-9)
    assert results["srmDetected"] is False

    # Stopping promotes the winner to the default everyone sees
    stopped = api.admin("POST", "/v1/experiments/hero-headline/stop", {"promote": True, "winner": "bold"})
    assert stopped.status == 200, stopped.body
    (hero,) = decide(api, "ab-after-the-test", scenario["heroSlot"])
    assert hero["content"] == bold
