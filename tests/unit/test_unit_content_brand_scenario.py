"""The content-brand scenario's data holds up against the domain code that will read it (scoring, catalogue,
slots, Liquid), so `make dev DEMO=1` never loads a story that is not true."""

from __future__ import annotations

import datetime as dt

import pytest

from infra.local.scenarios import content_brand as brand
from services.content.domain.catalogue import ContentItem
from services.content.domain.targeting import SlotDefinition, check_conditions, content_references
from services.content.domain.templates import (
    Reader,
    RenderContext,
    TemplateSource,
    compile_template,
    render,
)
from services.segments.domain.questionnaires import assign, parse_questionnaire

NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
QUESTIONNAIRE_ID = "0190aaaa-bbbb-7ccc-8ddd-eeeeffff0000"  # what the segments service makes


@pytest.fixture(scope="module")
def catalogue() -> list[ContentItem]:
    return [ContentItem.model_validate(item) for item in brand.items(NOW)]


@pytest.mark.parametrize("reader", sorted(brand.ANSWERS))
def test_each_example_answer_set_lands_in_the_segment_it_is_named_for(reader: str) -> None:
    # Given the taste questionnaire as the segments service parses it
    questionnaire = parse_questionnaire(brand.QUESTIONNAIRE, QUESTIONNAIRE_ID)
    answers, expected = brand.ANSWERS[reader]

    # When the reader's answers are scored
    event = brand.answers_event(QUESTIONNAIRE_ID, reader, answers)
    segment, confidence = assign(questionnaire, event["properties"]["answers"])

    # Then they land in the stated segment (None: the neutral pool, below the minimum confidence)
    assert segment == expected, (reader, segment, confidence)
    assert (confidence >= brand.MIN_CONFIDENCE) is (expected is not None)


def test_the_questionnaire_has_eight_questions_on_1_to_7_and_six_segments_each_with_topics() -> None:
    questionnaire = parse_questionnaire(brand.QUESTIONNAIRE, QUESTIONNAIRE_ID)
    assert len(questionnaire.questions) == 8 and (questionnaire.low, questionnaire.high) == (1, 7)
    assert set(questionnaire.keys) == set(brand.TOPICS_BY_SEGMENT) and len(questionnaire.keys) == 6
    assert {expected for _, expected in brand.ANSWERS.values()} == {*questionnaire.keys, None}
    assert all(set(topics) <= set(brand.TOPICS) for topics in brand.TOPICS_BY_SEGMENT.values())


def test_the_catalogue_parses_and_spreads_four_topics_over_the_last_60_days(catalogue: list[ContentItem]) -> None:
    assert len(catalogue) >= 24 and len({i.id for i in catalogue}) == len(catalogue)
    assert {t for i in catalogue for t in i.topics} == set(brand.TOPICS)
    assert {i.type for i in catalogue} == {"article", "recipe", "video"}
    assert all(NOW - dt.timedelta(days=60) <= i.published_at < NOW for i in catalogue)
    assert all(i.path and i.path.startswith(f"/{i.topics[0]}/") for i in catalogue)
    targeted = [i for i in catalogue if i.segments]
    assert 0 < len(targeted) < len(catalogue) // 3
    assert {s for i in targeted for s in i.segments} <= set(brand.TOPICS_BY_SEGMENT)


def test_the_slots_are_valid_and_name_only_the_questionnaire_and_its_keys(catalogue: list[ContentItem]) -> None:
    refs = content_references({"questionnaires": {QUESTIONNAIRE_ID: list(brand.TOPICS_BY_SEGMENT)}})
    hero = SlotDefinition.model_validate(brand.hero_slot(QUESTIONNAIRE_ID))
    assert check_conditions(hero, refs) == []
    assert [v.variant_id for v in hero.variants] == [*brand.TOPICS_BY_SEGMENT, "default"]
    paths = {i.path for i in catalogue}
    assert all(v.content["link"] in paths for v in hero.variants if v.condition is not None)

    front_page = SlotDefinition.model_validate(brand.front_page_slot())
    assert front_page.type == "list" and front_page.list_spec is not None and front_page.list_spec.limit == 6
    assert front_page.list_spec.topics_by_audience["neutral"] == list(brand.TOPICS)


@pytest.mark.parametrize(
    ("taste", "first_name", "greeting", "intro"),
    [
        ("explorer", "Ana", "Hi Ana,", "This week we travel"),
        (None, None, "Hi there,", "what is new in the Hearth &amp; Table kitchen"),
    ],
)
def test_the_weekly_digest_compiles_and_speaks_to_the_readers_taste(
    catalogue: list[ContentItem], taste: str | None, first_name: str | None, greeting: str, intro: str
) -> None:
    # Given the newsletter, compiled as the content service does when it is saved
    source = {k: v for k, v in brand.weekly_digest(QUESTIONNAIRE_ID).items() if k != "name"}
    template = compile_template(TemplateSource.model_validate(source))

    # When it is rendered for a reader of that taste (or one in the neutral pool)
    reader = Reader(segments=(taste or "neutral",), questionnaires={QUESTIONNAIRE_ID: taste})
    profile = {"firstName": first_name} if first_name else {}
    rendered = render(template, RenderContext(profile, reader, NOW, [i.as_json() for i in catalogue]))

    # Then it greets them, introduces their week and lists their three newest items
    assert greeting in rendered.html and intro in rendered.html
    assert rendered.html.count("<li>") == 3
    visible = [i for i in catalogue if not i.segments or taste in i.segments]
    newest = sorted(visible, key=lambda i: i.published_at, reverse=True)[:3]
    assert all(i.title in rendered.html for i in newest)
