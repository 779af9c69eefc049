"""Content catalogue: matching page views to items, bulk import rows, topic affinity and the ranked list slot."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from services.content.domain.affinity import (
    MAX_RECENT,
    MAX_TOPICS,
    Affinity,
    Recent,
    rank_list,
    record,
    record_view,
)
from services.content.domain.catalogue import CatalogueIndex, ContentItem, RowFault, parse_rows

NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)


def item(item_id: str, *, days_old: float = 10, **fields: Any) -> ContentItem:
    fields.setdefault("title", item_id.replace("-", " ").title())
    if "url" not in fields and "path" not in fields:
        fields["path"] = f"/articles/{item_id}"
    return ContentItem.model_validate({"id": item_id, "publishedAt": NOW - days_old * DAY, **fields})


def ids(items: list[ContentItem]) -> list[str]:
    return [i.id for i in items]


# ---------------------------------------------------------------------------------------------------------------
# The item model


def test_an_item_reads_and_writes_camel_case_json() -> None:
    tart = ContentItem.model_validate(
        {
            "id": "lemon-tart",
            "title": "Lemon tart",
            "url": "https://www.brand.example/recipes/lemon-tart",
            "type": "Recipe",
            "topics": ["Recipes", "desserts", "recipes"],
            "segments": ["explorer"],
            "publishedAt": "2026-11-01T09:00:00+01:00",
        }
    )
    assert tart.type == "recipe"
    assert tart.topics == ["recipes", "desserts"]
    assert tart.as_json() == {
        "id": "lemon-tart",
        "title": "Lemon tart",
        "url": "https://www.brand.example/recipes/lemon-tart",
        "type": "recipe",
        "topics": ["recipes", "desserts"],
        "keywords": [],
        "segments": ["explorer"],
        "publishedAt": "2026-11-01T08:00:00.000Z",
    }
    assert ContentItem.model_validate(tart.as_json()) == tart


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"id": "lemon tart"}, "id"),
        ({"url": "ftp://brand.example/x"}, "url"),
        ({"url": "/recipes/x"}, "url"),
        ({"path": "recipes/x"}, "path"),
        ({"path": "/recipes/lemon-*"}, "path"),
        ({"path": "/recipes/x?page=2"}, "path"),
        ({"topics": ["not a slug"]}, "topics"),
        ({"topics": [f"t{i}" for i in range(21)]}, "topics"),
        ({"publishedAt": "2026-11-01T09:00:00"}, "publishedAt"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_an_invalid_item_names_the_field_at_fault(fields: dict[str, Any], field: str) -> None:
    raw = {"id": "x", "title": "X", "path": "/x", "publishedAt": "2026-11-01T09:00:00Z", **fields}
    with pytest.raises(ValidationError) as error:
        ContentItem.model_validate(raw)
    assert [e["loc"][0] for e in error.value.errors()] == [field]


def test_an_item_lives_somewhere() -> None:
    with pytest.raises(ValidationError, match="a url or a path is required"):
        ContentItem.model_validate({"id": "x", "title": "X", "publishedAt": "2026-11-01T09:00:00Z"})


# ---------------------------------------------------------------------------------------------------------------
# Matching page views to items


@pytest.fixture
def catalogue() -> CatalogueIndex:
    return CatalogueIndex(
        [
            item("lemon-tart", path="/recipes/lemon-tart"),
            item("brand-story", url="https://www.brand.example/about/Our-Story/"),
            item("creme-brulee", path="/recettes/crème-brûlée"),
            item("any-recipe", path="/recipes/*"),
            item("any-dessert", path="/recipes/desserts/*"),
            item("any-video", path="/*/videos/*"),
            item("a-video", path="/*/videos/*"),
        ]
    )


def test_a_content_id_wins_over_the_path(catalogue: CatalogueIndex) -> None:
    found = catalogue.match(path="/recipes/lemon-tart", content_id="brand-story")
    assert found is not None and found.id == "brand-story"


def test_an_unknown_content_id_falls_back_to_the_path(catalogue: CatalogueIndex) -> None:
    found = catalogue.match(path="/recipes/lemon-tart", content_id="gone")
    assert found is not None and found.id == "lemon-tart"


@pytest.mark.parametrize(
    ("url", "path", "expected"),
    [
        (None, "/recipes/lemon-tart", "lemon-tart"),
        (None, "/recipes/lemon-tart/", "lemon-tart"),
        (None, "/recipes/lemon-tart?utm_source=mail#steps", "lemon-tart"),
        (None, "/Recipes//Lemon-Tart", "lemon-tart"),
        ("https://WWW.Brand.Example/recipes/lemon-tart?x=1", None, "lemon-tart"),
        ("http://staging.brand.example/about/our-story", None, "brand-story"),
        (None, "/about/our-story", "brand-story"),
        (None, "/recettes/cr%C3%A8me-br%C3%BBl%C3%A9e", "creme-brulee"),
    ],
)
def test_an_exact_path_matches_however_the_view_spells_it(
    catalogue: CatalogueIndex, url: str | None, path: str | None, expected: str
) -> None:
    found = catalogue.match(url=url, path=path)
    assert found is not None and found.id == expected


def test_a_path_beats_a_pattern_and_the_more_literal_pattern_beats_the_other(catalogue: CatalogueIndex) -> None:
    def matched(path: str) -> str | None:
        found = catalogue.match(path=path)
        return found.id if found else None

    assert matched("/recipes/lemon-tart") == "lemon-tart"
    assert matched("/recipes/banana-bread") == "any-recipe"
    # a final * covers deeper paths too, but two literal segments beat one
    assert matched("/recipes/desserts/pavlova") == "any-dessert"
    assert matched("/recipes/mains/lasagne") == "any-recipe"
    # equally specific patterns: the smallest id
    assert matched("/brand/videos/launch") == "a-video"


def test_a_view_of_no_known_page_matches_nothing(catalogue: CatalogueIndex) -> None:
    assert catalogue.match(path="/recipes") is None
    assert catalogue.match(path="/") is None
    assert catalogue.match(url="https://www.brand.example/contact") is None
    assert catalogue.match() is None


def test_an_events_properties_are_matched_as_segment_sends_them(catalogue: CatalogueIndex) -> None:
    page = {"url": "https://www.brand.example/recipes/lemon-tart?ref=home", "path": "/recipes/lemon-tart"}
    assert catalogue.match_properties(page) == catalogue.get("lemon-tart")
    assert catalogue.match_properties({"contentId": "brand-story", "path": 3}) == catalogue.get("brand-story")


def test_matching_stays_fast_on_a_large_catalogue() -> None:
    # Given 5,000 items: most on exact paths, some patterns sharing a first segment
    items = [item(f"article-{n}", path=f"/articles/{n}/read") for n in range(4_500)]
    items += [item(f"section-{n}", path=f"/section-{n}/*") for n in range(500)]
    catalogue = CatalogueIndex(items)
    views = [f"/articles/{n}/read/?utm=x" for n in range(0, 4_500, 3)] + [f"/section-{n}/a/b" for n in range(500)]

    started = time.perf_counter()
    found = [catalogue.match(path=p) for p in views * 10]
    elapsed = time.perf_counter() - started

    assert all(found)
    # about 300k/s on a laptop; a linear scan of 5,000 items would manage well under 10k/s
    assert len(found) / elapsed > 20_000


# ---------------------------------------------------------------------------------------------------------------
# Bulk import

CSV_HEADER = "id,title,url,path,type,topics,keywords,segments,locale,publishedAt,summary,image"


def test_csv_rows_become_items_with_pipe_separated_lists() -> None:
    lines = [
        CSV_HEADER,
        "lemon-tart,Lemon tart,,/recipes/lemon-tart,recipe,recipes|desserts,lemon| tart,explorer,en-GB,"
        '2026-11-01T09:00:00Z,"Sharp, sweet",https://cdn.brand.example/tart.jpg',
    ]
    items, faults = parse_rows(lines, "csv")
    assert faults == []
    [tart] = items
    assert (tart.topics, tart.keywords, tart.segments) == (["recipes", "desserts"], ["lemon", "tart"], ["explorer"])
    assert tart.summary == "Sharp, sweet"
    assert tart.locale == "en-GB"


def test_bad_csv_rows_are_kept_apart_with_their_row_and_field() -> None:
    lines = [
        CSV_HEADER,
        "good-one,Good,,/a,,,,,,2026-11-01T09:00:00Z,,",
        "bad id,Bad,,/b,,,,,,2026-11-01T09:00:00Z,,",
        "",
        "no-date,No date,,/c,,,,,,,,",
        "nowhere,Nowhere,,,,,,,,2026-11-01T09:00:00Z,,",
        "good-two,Good,https://brand.example/d,,,,,,,2026-11-01T09:00:00Z,,",
        "too-many,X,,/e,,,,,,2026-11-01T09:00:00Z,,,extra",
    ]
    items, faults = parse_rows(lines, "csv")
    assert ids(items) == ["good-one", "good-two"]
    assert [(f.row, f.field) for f in faults] == [(2, "id"), (3, "publishedAt"), (4, "path"), (6, None)]


def test_an_unknown_csv_column_is_reported_once_on_the_header_and_ignored() -> None:
    items, faults = parse_rows(["id,title,path,publishedAt,colour", "a,A,/a,2026-11-01T09:00:00Z,red"], "csv")
    assert ids(items) == ["a"]
    assert [(f.row, f.field) for f in faults] == [(0, "colour")]


def test_json_lines_rows_report_bad_json_and_bad_fields_by_row() -> None:
    lines = [
        '{"id": "a", "title": "A", "path": "/a", "publishedAt": "2026-11-01T09:00:00Z", "topics": ["recipes"]}',
        "{not json",
        "",
        '["a list"]',
        '{"id": "b", "title": "", "path": "/b", "publishedAt": "2026-11-01T09:00:00Z", "topics": ["ok", "not ok"]}',
    ]
    items, faults = parse_rows(lines, "jsonl")
    assert ids(items) == ["a"]
    assert [(f.row, f.field) for f in faults] == [(2, None), (3, None), (4, "title"), (4, "topics")]
    assert faults[-1].message == "'not ok' is not a valid topic (a lower-case slug: letters, digits, - and _)"


def test_a_repeated_id_keeps_the_last_row_and_faults_the_earlier_one() -> None:
    lines = [
        '{"id": "a", "title": "First", "path": "/a", "publishedAt": "2026-11-01T09:00:00Z"}',
        '{"id": "b", "title": "B", "path": "/b", "publishedAt": "2026-11-01T09:00:00Z"}',
        '{"id": "a", "title": "Corrected", "path": "/a", "publishedAt": "2026-11-01T09:00:00Z"}',
    ]
    items, faults = parse_rows(lines, "jsonl")
    assert [(i.id, i.title) for i in items] == [("b", "B"), ("a", "Corrected")]
    assert faults == [RowFault(1, "id", "superseded by row 3, which has the same id")]


# ---------------------------------------------------------------------------------------------------------------
# Affinity and recent reads


def test_a_view_thirty_days_ago_counts_half() -> None:
    affinity = record_view(Affinity(), ["recipes"], NOW - 30 * DAY)
    assert affinity.weight("recipes", NOW) == pytest.approx(0.5)
    assert affinity.weight("recipes", NOW + 30 * DAY) == pytest.approx(0.25)


def test_a_view_is_shared_by_the_items_topics_after_decaying_the_old_weight() -> None:
    affinity = record_view(Affinity(), ["recipes"], NOW - 30 * DAY)
    affinity = record_view(affinity, ["recipes", "desserts", "recipes"], NOW)
    assert affinity.weights(NOW) == pytest.approx({"recipes": 1.0, "desserts": 0.5})


def test_views_arriving_out_of_order_give_the_same_weights() -> None:
    views = [(["recipes"], NOW - 40 * DAY), (["recipes", "history"], NOW - 5 * DAY), (["history"], NOW - 20 * DAY)]
    in_order = Affinity()
    for topics, at in views:
        in_order = record_view(in_order, topics, at)
    reversed_order = Affinity()
    for topics, at in reversed(views):
        reversed_order = record_view(reversed_order, topics, at)
    assert reversed_order.weights(NOW) == pytest.approx(in_order.weights(NOW))


def test_the_weakest_topics_are_dropped_beyond_the_cap() -> None:
    affinity = Affinity()
    for n in range(MAX_TOPICS + 5):
        affinity = record_view(affinity, [f"topic-{n}"], NOW - (MAX_TOPICS + 5 - n) * DAY)
    assert len(affinity.topics) == MAX_TOPICS
    assert "topic-0" not in affinity.topics and f"topic-{MAX_TOPICS + 4}" in affinity.topics


def test_an_affinity_round_trips_through_its_small_dict() -> None:
    affinity = record_view(record_view(Affinity(), ["recipes"], NOW - DAY), ["history"], NOW)
    stored = affinity.to_json()
    assert stored == {
        "recipes": [1.0, int((NOW - DAY).timestamp() * 1000)],
        "history": [1.0, int(NOW.timestamp() * 1000)],
    }
    assert Affinity.from_json(stored) == affinity
    assert Affinity.from_json({"recipes": "broken", "history": [1.0, 5]}).to_json() == {"history": [1.0, 5]}


def test_recent_reads_keep_the_last_twenty_most_recent_first_without_duplicates() -> None:
    recent = Recent()
    for n in range(25):
        recent = record(recent, f"item-{n}")
    recent = record(recent, "item-20")
    assert len(recent) == MAX_RECENT
    assert recent.item_ids[:3] == ("item-20", "item-24", "item-23")
    assert "item-4" not in recent and "item-5" in recent
    assert Recent.from_json(recent.to_json()) == recent


# ---------------------------------------------------------------------------------------------------------------
# Ranking the list slot


@pytest.fixture
def site() -> list[ContentItem]:
    return [
        item("lemon-tart", topics=["recipes", "desserts"], days_old=20),
        item("banana-bread", topics=["recipes"], days_old=5),
        item("pavlova", topics=["recipes", "desserts"], days_old=40),
        item("our-story", topics=["history"], days_old=2),
        item("first-factory", topics=["history"], days_old=300),
        item("kitchen-ideas", topics=["inspiration"], days_old=1),
        item("knife-skills", topics=["tutorials"], days_old=8),
        item("explorer-guide", topics=["inspiration"], segments=["explorer"], days_old=3),
        item("pro-tips", topics=["tutorials"], segments=["seg-pros"], days_old=3),
        item("next-week", topics=["recipes"], days_old=-7),
    ]


def recipe_reader() -> Affinity:
    affinity = Affinity()
    for days_ago in (12, 6, 1):
        affinity = record_view(affinity, ["recipes"], NOW - days_ago * DAY)
    return record_view(affinity, ["history"], NOW - 3 * DAY)


def test_a_recipe_reader_gets_recipes_first_but_never_the_one_just_read(site: list[ContentItem]) -> None:
    # Given a visitor who mostly reads recipes and just read the lemon tart
    ranked = rank_list(
        site, affinity=recipe_reader(), audiences=set(), recent=Recent(("lemon-tart",)), limit=4, now=NOW
    )
    # Then the recipes come first (fresher first, as their affinity ties), then the history they read once
    assert ids(ranked) == ["banana-bread", "pavlova", "our-story", "first-factory"]


def test_items_for_another_audience_or_not_yet_published_are_never_listed(site: list[ContentItem]) -> None:
    everything = rank_list(site, affinity=None, audiences={"explorer"}, recent=(), limit=100, now=NOW)
    assert "explorer-guide" in ids(everything)
    assert "pro-tips" not in ids(everything)
    assert "next-week" not in ids(everything)
    assert len(everything) == len(site) - 2


def test_a_slots_topics_restrict_the_candidates(site: list[ContentItem]) -> None:
    ranked = rank_list(
        site, affinity=recipe_reader(), audiences={"explorer"}, recent=(), limit=10, now=NOW, topics={"inspiration"}
    )
    assert ids(ranked) == ["kitchen-ideas", "explorer-guide"]


def test_the_list_is_filled_by_audience_popularity_then_overall_popularity_then_newest(
    site: list[ContentItem],
) -> None:
    # Given a recipe reader and a list longer than the recipes they have not read
    ranked = rank_list(
        site,
        affinity=record_view(Affinity(), ["recipes"], NOW),
        audiences={"explorer"},
        recent=(),
        limit=8,
        now=NOW,
        popular_in_audience={"knife-skills": 3, "first-factory": 9},
        popular_overall={"our-story": 50, "knife-skills": 900},
    )
    # Then the recipes, then the most read in their audience, then overall, then the newest of the rest
    assert ids(ranked) == [
        "banana-bread",
        "lemon-tart",
        "pavlova",
        "first-factory",
        "knife-skills",
        "our-story",
        "kitchen-ideas",
        "explorer-guide",
    ]


def test_a_neutral_visitor_gets_the_generic_list(site: list[ContentItem]) -> None:
    # Given a visitor with no affinity and no audience (popularity in some audience is not theirs)
    ranked = rank_list(
        site,
        affinity=Affinity(),
        audiences=(),
        recent=(),
        limit=4,
        now=NOW,
        popular_in_audience={"first-factory": 100},
        popular_overall={"knife-skills": 10, "pavlova": 20},
    )
    # Then everyone's items: popular overall first, then the newest; nothing targeted
    assert ids(ranked) == ["pavlova", "knife-skills", "kitchen-ideas", "our-story"]


def test_a_faded_affinity_no_longer_personalises(site: list[ContentItem]) -> None:
    long_ago = record_view(Affinity(), ["history"], NOW - 365 * DAY)
    ranked = rank_list(site, affinity=long_ago, audiences=(), recent=(), limit=2, now=NOW)
    assert ids(ranked) == ["kitchen-ideas", "our-story"]


def test_a_limit_of_zero_is_an_empty_list_and_a_negative_one_an_error(site: list[ContentItem]) -> None:
    assert rank_list(site, affinity=None, audiences=(), recent=(), limit=0, now=NOW) == []
    with pytest.raises(ValueError, match="limit"):
        rank_list(site, affinity=None, audiences=(), recent=(), limit=-1, now=NOW)


audience_ids = st.sampled_from(["explorer", "seg-pros", "seg-family"])
topic_ids = st.sampled_from(["recipes", "history", "tutorials", "inspiration"])
generated_items = st.lists(
    st.builds(
        lambda n, topics, segments, days_old: item(f"i{n}", topics=topics, segments=segments, days_old=days_old),
        st.integers(0, 30),
        st.lists(topic_ids, max_size=3),
        st.lists(audience_ids, max_size=2),
        st.floats(-10, 400),
    ),
    max_size=25,
)


@settings(max_examples=200, deadline=None)
@given(
    items=generated_items,
    views=st.lists(st.tuples(st.lists(topic_ids, min_size=1, max_size=3), st.floats(0, 200)), max_size=6),
    audiences=st.sets(audience_ids, max_size=2),
    recent=st.sets(st.integers(0, 30).map(lambda n: f"i{n}"), max_size=10),
    limit=st.integers(0, 12),
    slot_topics=st.none() | st.sets(topic_ids, max_size=2),
)
def test_the_list_never_shows_a_recent_read_or_another_audiences_item(
    items: list[ContentItem],
    views: list[tuple[list[str], float]],
    audiences: set[str],
    recent: set[str],
    limit: int,
    slot_topics: set[str] | None,
) -> None:
    affinity = Affinity()
    for topics, days_ago in views:
        affinity = record_view(affinity, topics, NOW - days_ago * DAY)

    ranked = rank_list(
        items,
        affinity=affinity,
        audiences=audiences,
        recent=recent,
        limit=limit,
        now=NOW,
        topics=slot_topics,
        popular_overall={i.id: len(i.id) for i in items},
    )

    assert not {i.id for i in ranked} & recent
    assert all(not i.segments or set(i.segments) & audiences for i in ranked)
    assert all(i.published_at <= NOW for i in ranked)
    assert len({i.id for i in ranked}) == len(ranked)
    candidates = {
        i.id
        for i in items
        if i.id not in recent
        and i.published_at <= NOW
        and (not i.segments or set(i.segments) & audiences)
        and (not slot_topics or set(i.topics) & slot_topics)
    }
    assert len(ranked) == min(limit, len(candidates))
