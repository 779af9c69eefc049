"""The content-brand scenario: an FMCG food brand's site (catalogue, taste questionnaire, slots, newsletter)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from infra.local.demo import call

# Hearth & Table publishes recipes, inspiration, food history and tutorials, and asks its readers a short taste
# questionnaire (eight statements, 1 = not me at all … 7 = very me). The answers place a reader in one of six
# segments, or leave them in the neutral pool; the home hero, the front-page list and the weekly newsletter follow.
#
# The questionnaire's id is made by the segments service when it is created, so the conditions and the template
# that name it are built from it (`hero_slot`, `weekly_digest`); everything else here is plain data.

SITE = "https://www.hearthandtable.example"
TOPICS = ("inspiration", "recipes", "history", "tutorials")
QUESTIONNAIRE_NAME = "taste"
HERO_SLOT = "home-hero"
LIST_SLOT = "front-page"
TEMPLATE = "weekly-digest"

QUESTIONS = (
    ("q1", "I like to try dishes from other countries"),
    ("q2", "I cook from scratch most days"),
    ("q3", "I stick to the dishes I grew up with"),
    ("q4", "I check how healthy a recipe is before I cook it"),
    ("q5", "I keep an eye on what a meal costs"),
    ("q6", "I often cook for guests"),
    ("q7", "I enjoy learning a new technique"),
    ("q8", "Dinner has to be on the table in under 30 minutes"),
)

# Each segment's typical answers to q1…q8 (the questionnaire's centroids).
SEGMENTS: dict[str, tuple[str, tuple[int, ...]]] = {
    "explorer": ("Explorer", (7, 4, 1, 4, 3, 4, 6, 3)),
    "homecook": ("Home cook", (4, 7, 4, 4, 4, 3, 6, 2)),
    "classic": ("Classic", (2, 5, 7, 3, 4, 4, 2, 4)),
    "healthy": ("Healthy", (4, 4, 3, 7, 3, 2, 4, 5)),
    "budget": ("Budget", (3, 4, 4, 3, 7, 2, 3, 6)),
    "entertainer": ("Entertainer", (5, 4, 3, 3, 2, 7, 5, 2)),
}
MIN_CONFIDENCE = 0.2

QUESTIONNAIRE: dict[str, Any] = {
    "name": QUESTIONNAIRE_NAME,
    "description": "What kind of cook are you? Eight statements, 1 (not me at all) to 7 (very me).",
    "event": "Questionnaire Answered",
    "questions": [{"id": qid, "text": text} for qid, text in QUESTIONS],
    "scale": {"min": 1, "max": 7},
    "key": {
        "method": "centroids",
        "segments": [
            {"key": key, "name": name, "centroid": list(centroid)} for key, (name, centroid) in SEGMENTS.items()
        ],
    },
    "minConfidence": MIN_CONFIDENCE,
}

# Example answers (q1…q8) and the segment each lands in; None: the neutral pool (no segment is clearly closest).
ANSWERS: dict[str, tuple[tuple[int, ...], str | None]] = {
    "adventurous-ana": ((7, 5, 1, 4, 2, 4, 6, 3), "explorer"),
    "scratch-sam": ((4, 7, 3, 5, 4, 3, 7, 2), "homecook"),
    "traditional-tom": ((2, 5, 7, 2, 4, 5, 2, 4), "classic"),
    "fit-fatima": ((4, 4, 2, 7, 3, 2, 4, 6), "healthy"),
    "thrifty-theo": ((3, 3, 4, 3, 7, 2, 3, 7), "budget"),
    "hosting-hana": ((6, 4, 3, 3, 2, 7, 5, 2), "entertainer"),
    "undecided-uma": ((4, 4, 4, 4, 4, 4, 4, 4), None),
}

TOPICS_BY_SEGMENT: dict[str, tuple[str, ...]] = {
    "explorer": ("inspiration", "recipes"),
    "homecook": ("recipes", "tutorials"),
    "classic": ("history", "recipes"),
    "healthy": ("recipes", "inspiration"),
    "budget": ("recipes", "tutorials"),
    "entertainer": ("inspiration", "recipes"),
}

# id, title, topics, type, days before `now`, audiences (empty: everyone), summary
_ITEMS: tuple[tuple[str, str, tuple[str, ...], str, int, tuple[str, ...], str], ...] = (
    ("lemon-pavlova", "Lemon pavlova with summer berries", ("recipes",), "recipe", 1, (),
     "Crisp outside, marshmallow inside, with a sharp lemon curd."),
    ("pancakes", "Fluffy Sunday pancakes", ("recipes",), "recipe", 2, (),
     "Buttermilk pancakes that rise every time."),
    ("sichuan-noodles", "Sichuan peppercorn noodles", ("recipes",), "recipe", 3, ("explorer",),
     "Numbing, hot and ready in twenty minutes."),
    ("spring-table", "A spring table", ("inspiration",), "article", 4, (),
     "Blossom, linen and a menu that cooks itself."),
    ("risotto", "Mushroom risotto", ("recipes",), "recipe", 5, (),
     "Patience, good stock and a knob of butter."),
    ("grain-bowl", "Rainbow grain bowl with tahini", ("recipes",), "recipe", 6, ("healthy",),
     "Five colours, one bowl, lunch sorted."),
    ("tapas-night", "How to host a tapas night", ("inspiration",), "article", 7, ("entertainer",),
     "Eight small plates you can make before the doorbell rings."),
    ("sharing-paella", "A paella to share", ("recipes", "inspiration"), "recipe", 8, ("entertainer",),
     "One pan, twelve guests, and the socarrat everyone fights over."),
    ("pasta-al-limone", "Pasta al limone", ("recipes",), "recipe", 9, (),
     "Lemon, butter and parmesan: the fastest good dinner we know."),
    ("grandmothers-kitchen", "Recipes from our grandmothers' kitchens", ("history", "recipes"), "article", 10,
     ("classic",), "Readers sent us the dishes they grew up with."),
    ("one-pot-chicken", "One-pot chicken and rice for four", ("recipes",), "recipe", 11, ("budget",),
     "Dinner for four for the price of a takeaway coffee."),
    ("herb-garden", "A windowsill herb garden", ("inspiration",), "article", 12, (),
     "Six herbs that thrive on a sunny sill."),
    ("story-of-pavlova", "Who invented the pavlova?", ("history",), "article", 13, (),
     "Australia or New Zealand: the evidence, course by course."),
    ("weeknight-dal", "Twenty-minute red lentil dal", ("recipes",), "recipe", 14, (),
     "A pantry dinner that tastes like it took all day."),
    ("knife-skills", "Knife skills in ten minutes", ("tutorials",), "video", 15, (),
     "Dice, julienne and chiffonade without the plasters."),
    ("perfect-meringue", "How to whisk the perfect meringue", ("tutorials", "recipes"), "video", 16, (),
     "Stiff peaks, glossy and stable, by hand or machine."),
    ("market-finds", "Ten things to buy at the market this month", ("inspiration",), "article", 17, (),
     "What is in season, and what to do with it."),
    ("sourdough-history", "Five thousand years of sourdough", ("history",), "article", 19, (),
     "From Egyptian ovens to your kitchen counter."),
    ("street-food-tour", "A street-food tour of Penang", ("inspiration",), "video", 21, (),
     "Char kway teow, laksa and the stalls locals queue for."),
    ("fresh-pasta", "Making fresh pasta by hand", ("tutorials",), "video", 22, ("homecook",),
     "Flour, eggs, a rolling pin and twenty minutes."),
    ("lunchbox-ideas", "A week of lunchbox ideas", ("inspiration",), "article", 25, (),
     "Five lunches that survive the commute."),
    ("batch-cooking", "Batch cooking for a week in two hours", ("tutorials",), "article", 26, (),
     "A Sunday plan, a shopping list and a fridge full of dinners."),
    ("spice-routes", "The spice routes that changed European cooking", ("history",), "article", 27, (),
     "Pepper, nutmeg and cloves: the trade behind our recipes."),
    ("stock-basics", "Stock from scraps", ("tutorials",), "article", 30, (),
     "Peelings and bones into the base of every good soup."),
    ("brand-history", "Hearth & Table: a hundred years of baking", ("history",), "video", 33, (),
     "From a village bakery in 1926 to your cupboard."),
    ("sunday-roast", "The story of the Sunday roast", ("history",), "article", 40, (),
     "Why Britain eats beef at one o'clock on a Sunday."),
    ("first-loaf", "Your first loaf", ("tutorials",), "video", 45, (),
     "A no-knead bread that works the first time."),
    ("food-photography", "Photograph your food like a pro", ("tutorials",), "video", 55, (),
     "Window light, a white card and your phone."),
)  # fmt: skip


def items(now: dt.datetime) -> list[dict[str, Any]]:
    """The catalogue, published over the 60 days before `now` (as `PUT /v1/content/items/{itemId}` takes it)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    catalogue = []
    for item_id, title, topics, kind, days_ago, audiences, summary in _ITEMS:
        path = f"/{topics[0]}/{item_id}"
        published = (now - dt.timedelta(days=days_ago, hours=(len(item_id) % 5) + 1)).astimezone(dt.UTC)
        catalogue.append(
            {
                "id": item_id,
                "title": title,
                "path": path,
                "type": kind,
                "topics": list(topics),
                "keywords": [w for w in item_id.split("-") if len(w) > 3],
                "segments": list(audiences),
                "locale": "en-GB",
                "publishedAt": published.isoformat().replace("+00:00", "Z"),
                "summary": summary,
                "image": f"{SITE}/images/{item_id}.jpg",
            }
        )
    return catalogue


_HERO: dict[str, tuple[str, str]] = {
    "explorer": ("Travel the world from your kitchen", "/inspiration/street-food-tour"),
    "homecook": ("Master a new technique this week", "/tutorials/fresh-pasta"),
    "classic": ("The classics, done right", "/history/grandmothers-kitchen"),
    "healthy": ("Fresh, light and full of flavour", "/recipes/grain-bowl"),
    "budget": ("Feed four for less", "/recipes/one-pot-chicken"),
    "entertainer": ("Your next dinner party starts here", "/inspiration/tapas-night"),
}
HERO_DEFAULT = {"title": "Welcome to our kitchen", "link": "/inspiration"}


def hero_slot(questionnaire_id: str, more_variants: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The home hero: one variant per taste segment, then `more_variants` (tried in that order), then the default."""
    variants: list[dict[str, Any]] = [
        {
            "variantId": key,
            "when": {"questionnaire": questionnaire_id, "op": "equals", "value": key},
            "content": {"title": title, "link": link},
        }
        for key, (title, link) in _HERO.items()
    ]
    variants += more_variants or []
    variants.append({"variantId": "default", "content": dict(HERO_DEFAULT)})
    return {"name": "Home page hero", "variants": variants}


def front_page_slot() -> dict[str, Any]:
    """Six catalogue items for the reader: their taste segment's topics; the neutral pool reads every topic."""
    by_audience = {key: list(topics) for key, topics in TOPICS_BY_SEGMENT.items()}
    by_audience["neutral"] = list(TOPICS)
    return {"name": "Front page: for you", "type": "list", "list": {"limit": 6, "topicsByAudience": by_audience}}


_INTROS: dict[str, str] = {
    "explorer": "This week we travel: Sichuan pepper, Penang street food and a paella pan.",
    "homecook": "This week: fresh pasta by hand, and a technique to take your cooking further.",
    "classic": "This week: the dishes our grandmothers made, and the stories behind them.",
    "healthy": "This week: bright bowls and light dinners that still feel like a treat.",
    "budget": "This week: dinners for four that go easy on the wallet.",
    "entertainer": "This week: small plates and big pans for a table full of friends.",
}


def weekly_digest(questionnaire_id: str) -> dict[str, Any]:
    """The weekly newsletter: a greeting, an introduction per taste segment and the reader's three newest items."""
    whens = "\n".join(f'{{% when "{key}" %}}<p>{intro}</p>' for key, intro in _INTROS.items())
    html = f"""<h1>Hi {{{{ profile.firstName | default: "there" }}}},</h1>
{{% case reader.questionnaires["{questionnaire_id}"] %}}
{whens}
{{% else %}}<p>Here is what is new in the Hearth &amp; Table kitchen this week.</p>
{{% endcase %}}
{{% assign picks = catalogue | newest: 3, for_reader: true %}}
<ul>
{{% for item in picks %}}<li><a href="{SITE}{{{{ item.path }}}}">{{{{ item.title }}}}</a>{{% if item.summary %}}: \
{{{{ item.summary }}}}{{% endif %}}</li>
{{% endfor %}}</ul>
<p>Happy cooking,<br>the Hearth &amp; Table kitchen</p>"""
    return {
        "name": "Weekly digest",
        "subject": '{{ profile.firstName | default: "there" }}, your week at Hearth & Table',
        "preheader": "Three new things to cook, read and watch.",
        "html": html,
    }


def answers_event(questionnaire_id: str, anonymous_id: str, answers: tuple[int, ...]) -> dict[str, Any]:
    """The track message a site sends when a reader submits the questionnaire (POST /v1/track, write key)."""
    return {
        "anonymousId": anonymous_id,
        "event": QUESTIONNAIRE["event"],
        "properties": {
            "questionnaireId": questionnaire_id,
            "answers": {qid: value for (qid, _), value in zip(QUESTIONS, answers, strict=True)},
        },
    }


def load(
    base_url: str, admin_key: str, now: dt.datetime, *, more_hero_variants: list[dict[str, Any]] | None = None
) -> dict[str, str]:
    """Create the scenario over HTTP; run again on the same cloud, it reuses the questionnaire and replaces the rest."""
    listed = call(base_url, "GET", "/v1/questionnaires", admin_key)
    existing = [q for q in listed["questionnaires"] if q.get("name") == QUESTIONNAIRE_NAME]
    if existing:
        questionnaire_id = str(existing[0]["questionnaireId"])
    else:
        created = call(base_url, "POST", "/v1/questionnaires", admin_key, QUESTIONNAIRE)
        questionnaire_id = str(created["questionnaireId"])
    for item in items(now):
        call(base_url, "PUT", f"/v1/content/items/{item['id']}", admin_key, item)
    call(base_url, "PUT", f"/v1/content/slots/{HERO_SLOT}", admin_key, hero_slot(questionnaire_id, more_hero_variants))
    call(base_url, "PUT", f"/v1/content/slots/{LIST_SLOT}", admin_key, front_page_slot())
    call(base_url, "PUT", f"/v1/content/templates/{TEMPLATE}", admin_key, weekly_digest(questionnaire_id))
    return {
        "questionnaireId": questionnaire_id,
        "heroSlot": HERO_SLOT,
        "listSlot": LIST_SLOT,
        "templateId": TEMPLATE,
        "items": str(len(_ITEMS)),
    }
