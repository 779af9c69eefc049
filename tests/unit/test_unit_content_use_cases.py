"""Content use cases on the in-memory store: decisions (one read, at most one write), the visitor read model,
list slots, analytics counted exactly once, experiments' exposures and conversions, templates."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

import pytest

from services.content.adapters.memory import MemoryContent
from services.content.domain import visitors
from services.content.domain.catalogue import ContentItem
from services.content.domain.experiments import ExperimentDefinition
from services.content.domain.targeting import SlotDefinition
from services.content.domain.templates import TemplateSource
from services.content.use_cases import analytics, decisions, definitions, experiments, published, templates
from services.content.use_cases.visitors import merge, record_activity, update

NOW = dt.datetime(2026, 5, 4, 9, 0, tzinfo=dt.UTC)
SEGMENTS = {"segments": ["seg-vip"], "plans": [], "questionnaires": {"taste": ["explorer", "homecook"]}}
TOPICS = {"r": "recipes", "h": "history", "t": "tutorials"}


def item(item_id: str, topic: str, days_ago: int, **extra: Any) -> ContentItem:
    return ContentItem.model_validate(
        {
            "id": item_id,
            "title": item_id.replace("-", " ").title(),
            "path": f"/{topic}/{item_id}",
            "type": "recipe" if topic == "recipes" else "article",
            "topics": [topic],
            "publishedAt": (NOW - dt.timedelta(days=days_ago)).isoformat(),
            **extra,
        }
    )


@pytest.fixture
def store() -> MemoryContent:
    store = MemoryContent()
    items = [item(f"{TOPICS[t]}-{i}", TOPICS[t], i + 1) for t in TOPICS for i in range(4)]
    definitions.save_items(store, items, NOW)
    definitions.save_slot(
        store,
        "hero",
        SlotDefinition.model_validate(
            {
                "name": "Hero",
                "variants": [
                    {
                        "variantId": "explorer",
                        "when": {"questionnaire": "taste", "op": "equals", "value": "explorer"},
                        "content": {"title": "Discover"},
                    },
                    {"variantId": "vip", "segmentId": "seg-vip", "content": {"title": "For you"}},
                    {"variantId": "generic", "content": {"title": "Welcome"}},
                ],
            }
        ),
        lambda: SEGMENTS,
        NOW,
    )
    definitions.save_slot(
        store,
        "front",
        SlotDefinition.model_validate(
            {
                "name": "Front page",
                "type": "list",
                "list": {"limit": 3, "topicsByAudience": {"explorer": ["history"], "homecook": ["recipes"]}},
            }
        ),
        lambda: SEGMENTS,
        NOW,
    )
    return store  # fmt: skip


def page_view(anonymous_id: str, path: str, message_id: str, at: dt.datetime = NOW, **extra: Any) -> dict[str, Any]:
    return {
        "messageId": message_id,
        "type": "page",
        "anonymousId": anonymous_id,
        "properties": {"path": path},
        "timestamp": at.isoformat(),
        "enrichment": {"machine": False},
        **extra,
    }


def decide(store: MemoryContent, anonymous_id: str, *slots: str, **env: Any) -> list[dict[str, Any]]:
    request = decisions.DecideRequest(slots=slots or ("hero",), anonymous_id=anonymous_id, environment=env)
    return decisions.decide(store, published.load(store), request, NOW, store.popular)


def known_visitor(store: MemoryContent, profile_id: str, anonymous_id: str, taste: str | None = None) -> None:
    record_activity(store, published.load(store), profile_id, page_view(anonymous_id, "/", f"m-{profile_id}"), NOW)
    if taste is not None:
        update(store, profile_id, lambda s: visitors.set_answer(s, "taste", taste, 1), NOW)


def test_a_decision_reads_the_visitor_once_and_writes_at_most_once_for_several_slots(store: MemoryContent) -> None:
    known_visitor(store, "p-ana", "ana", "explorer")
    store.calls.clear()

    answers = decide(store, "ana", "hero", "front")

    assert [a["slot"] for a in answers] == ["hero", "front"]
    assert answers[0]["variantId"] == "explorer"
    assert store.calls["visitor"] == 1
    assert store.calls["record_decision"] == 1
    # again within the hour: nothing new to write
    decide(store, "ana", "hero", "front")
    assert store.calls["record_decision"] == 1


def test_slots_no_one_defined_are_left_out_and_the_others_decided(store: MemoryContent) -> None:
    answers = decide(store, "ana", "gone", "hero", "typo")
    assert [a["slot"] for a in answers] == ["hero"]
    assert decisions.unknown_slots(published.load(store), ["gone", "hero", "typo"]) == ["gone", "typo"]
    with pytest.raises(decisions.UnknownSlot):
        decide(store, "ana", "gone", "typo")


def test_the_read_model_follows_answers_segments_and_sequences(store: MemoryContent) -> None:
    known_visitor(store, "p-bo", "bo")
    assert decide(store, "bo")[0]["variantId"] == "generic"
    update(store, "p-bo", lambda s: visitors.set_membership(s, "seg-vip", True, 5), NOW)
    assert decide(store, "bo")[0]["variantId"] == "vip"
    # a late, older exit does not undo the newer entry
    update(store, "p-bo", lambda s: visitors.set_membership(s, "seg-vip", False, 3), NOW)
    assert decide(store, "bo")[0]["variantId"] == "vip"
    # the questionnaire answer is listed first in the slot: it wins
    update(store, "p-bo", lambda s: visitors.set_answer(s, "taste", "explorer", 6), NOW)
    assert decide(store, "bo")[0]["variantId"] == "explorer"


def test_a_refusal_of_personalisation_gets_defaults_and_stores_nothing(store: MemoryContent) -> None:
    known_visitor(store, "p-cy", "cy", "explorer")
    update(store, "p-cy", lambda s: visitors.set_consent(s, "personalisation", False), NOW)
    store.calls.clear()
    assert decide(store, "cy")[0]["variantId"] == "generic"
    assert store.calls["record_decision"] == 0


def test_the_list_slot_ranks_by_reading_and_never_repeats_what_was_just_read(store: MemoryContent) -> None:
    # Given Dee read two recipes
    known_visitor(store, "p-dee", "dee")
    catalogue = published.load(store)
    for n, path in enumerate(("/recipes/recipes-0", "/recipes/recipes-1")):
        record_activity(store, catalogue, "p-dee", page_view("dee", path, f"dee-{n}"), NOW)
    front = decide(store, "dee", "front")[0]["items"]
    ids = [i["id"] for i in front]
    assert ids[:2] == ["recipes-2", "recipes-3"]  # her topic first, newest first, never what she just read
    assert "recipes-0" not in ids and "recipes-1" not in ids
    assert all("segments" not in i for i in front)  # targeting stays private


def test_the_list_slot_draws_from_the_segments_topics_and_the_neutral_pool_gets_the_generic_list(
    store: MemoryContent,
) -> None:
    known_visitor(store, "p-eve", "eve", "explorer")
    assert {i["topics"][0] for i in decide(store, "eve", "front")[0]["items"]} == {"history"}
    generic = decide(store, "nobody-seen", "front")[0]["items"]
    assert len(generic) == 3


def test_views_and_readers_are_counted_once_per_message_and_per_reader_and_day(store: MemoryContent) -> None:
    known_visitor(store, "p-fay", "fay", "homecook")
    catalogue = published.load(store)
    view = page_view("fay", "/recipes/recipes-0", "view-1")
    for _ in range(3):  # redelivered
        record_activity(store, catalogue, "p-fay", view, NOW)
    record_activity(store, catalogue, "p-fay", page_view("fay", "/recipes/recipes-1", "view-2"), NOW)
    # a bot's view counts for nothing
    bot = page_view("fay", "/recipes/recipes-2", "view-3", enrichment={"machine": True})
    record_activity(store, catalogue, "p-fay", bot, NOW)

    report = analytics.report(store, "2026-05-04", "2026-05-04", "topic", catalogue)
    rows = {(r["audience"], r["topic"]): (r["views"], r["readers"]) for r in report["rows"]}
    assert rows == {("homecook", "recipes"): (2, 1), ("all", "recipes"): (2, 1)}
    assert report["shareOfReaders"] == {"recipes": {"2026-05-04": {"homecook": 1.0}}}


def test_a_merge_folds_reading_and_identifiers_into_the_survivor(store: MemoryContent) -> None:
    catalogue = published.load(store)
    record_activity(store, catalogue, "p-phone", page_view("phone", "/history/history-0", "h-1"), NOW)
    known_visitor(store, "p-gus", "gus", "homecook")
    merge(store, "p-gus", "p-phone", NOW)
    # the phone's visitor item now shows the survivor's state: his questionnaire segment
    state = store.state("p-gus")
    assert state is not None and "a:phone" in state.identifiers
    assert "history" in state.affinity
    assert store.visitor_items["a:phone"]["p"]["audiences"] == ["homecook"]
    # the merged profile's later changes reach nobody
    after = update(store, "p-phone", lambda s: visitors.set_membership(s, "seg-vip", True, 9), NOW)
    assert after is not None and after.merged_into == "p-gus" and "seg-vip" not in after.members
    assert store.visitor_items["a:phone"]["p"]["segments"] == []


def slot_experiment(store: MemoryContent) -> None:
    body = ExperimentDefinition.model_validate(
        {
            "name": "Hero headline",
            "target": {"slotId": "hero"},
            "variants": [
                {"id": "control", "content": {"title": "Welcome"}},
                {"id": "bold", "content": {"title": "Cook something bold"}},
            ],
            "goal": {"event": "Recipe Saved"},
        }
    )
    definitions.save_experiment(store, "headline", body, NOW)
    definitions.set_experiment_status(store, "headline", "running", NOW)


def test_exposures_and_conversions_count_once_per_unit(store: MemoryContent) -> None:
    slot_experiment(store)
    known_visitor(store, "p-hal", "hal")
    first = decide(store, "hal")[0]["variantId"]
    assert first in ("control", "bold")
    for _ in range(3):
        assert decide(store, "hal")[0]["variantId"] == first  # sticky
    goal = page_view("hal", "/", "goal-1", type="track", event="Recipe Saved")
    catalogue = published.load(store)
    for _ in range(2):
        record_activity(store, catalogue, "p-hal", goal, NOW)
    record_activity(store, catalogue, "p-hal", {**goal, "messageId": "goal-2"}, NOW)
    counts = store.experiment_counts("headline")
    assert counts[first] == {"users": 1, "conversions": 1}
    result = experiments.results(store, "headline")
    assert [v["variantId"] for v in result["variants"]] == ["control", "bold"]
    assert sum(v["users"] for v in result["variants"]) == 1


def test_stopping_with_promotion_makes_the_named_winner_the_default(store: MemoryContent) -> None:
    slot_experiment(store)
    experiments.stop(store, "headline", promote=True, winner="bold", now=NOW)
    assert decide(store, "nobody")[0]["content"] == {"title": "Cook something bold"}
    assert store.definition("experiment", "headline")["status"] == "stopped"  # type: ignore[index]


def test_a_template_renders_per_questionnaire_segment_and_generically_for_the_neutral_pool(
    store: MemoryContent,
) -> None:
    source = TemplateSource(
        subject="Hi {{ profile.firstName | default: 'there' }}",
        html="{% case reader.questionnaires.taste %}{% when 'explorer' %}<p>Go far</p>"
        "{% when 'homecook' %}<p>Cook at home</p>{% else %}<p>Something for everyone</p>{% endcase %}",
    )
    templates.save_template(store, "digest", "Digest", source, NOW)
    known_visitor(store, "p-ida", "ida", "explorer")
    update(store, "p-ida", lambda s: visitors.set_traits(s, {"firstName": "Ida"}), NOW)
    catalogue = published.load(store)
    ida = templates.render_for_profile(store, catalogue, "digest", "p-ida", {}, NOW)
    neutral = templates.render_for_profile(store, catalogue, "digest", None, {}, NOW)
    assert (ida["subject"], ida["text"]) == ("Hi Ida", "Go far")
    assert (neutral["subject"], neutral["text"]) == ("Hi there", "Something for everyone")


def test_template_errors_are_refused_on_save_with_line_and_column(store: MemoryContent) -> None:
    source = TemplateSource(subject="Hi", html="<p>\n{% if reader.known %}\nno end")
    with pytest.raises(definitions.InvalidDefinition) as refused:
        templates.save_template(store, "broken", "Broken", source, NOW)
    ((field, message),) = refused.value.faults
    assert field == "html" and message.startswith("line 2, column 1")
    assert store.definition("template", "broken") is None


def test_a_draft_renders_as_its_saved_version_would_and_saves_nothing(store: MemoryContent) -> None:
    saved = TemplateSource(subject="Hi {{ profile.firstName }}", html="<p>{{ greeting }}</p>")
    templates.save_template(store, "digest", "Digest", saved, NOW)
    known_visitor(store, "p-ida", "ida", "explorer")
    update(store, "p-ida", lambda s: visitors.set_traits(s, {"firstName": "Ida"}), NOW)
    catalogue = published.load(store)
    before = store.definition("template", "digest")
    draft = TemplateSource(subject="Hello {{ profile.firstName }}", html="<p>{{ greeting }}</p>")
    # When the draft and the saved version are rendered for the same reader with the same variables
    rendered = templates.render_draft(store, catalogue, draft, "p-ida", {"greeting": "Welcome"}, NOW)
    as_saved = templates.render_for_profile(store, catalogue, "digest", "p-ida", {"greeting": "Welcome"}, NOW)
    # Then they differ only by what was edited, and nothing was written
    assert rendered == {"subject": "Hello Ida", "html": "<p>Welcome</p>", "text": "Welcome"}
    assert (as_saved["subject"], as_saved["html"]) == ("Hi Ida", rendered["html"])
    assert store.definition("template", "digest") == before
    assert [t["id"] for t in store.definitions("template")] == ["digest"]


def test_a_draft_with_errors_is_refused_as_a_save_is(store: MemoryContent) -> None:
    draft = TemplateSource(subject="Hi", html="<p>\n{% if reader.known %}\nno end")
    with pytest.raises(definitions.InvalidDefinition) as refused:
        templates.render_draft(store, published.load(store), draft, None, {}, NOW)
    ((field, message),) = refused.value.faults
    assert field == "html" and message.startswith("line 2, column 1")
    looping = TemplateSource(subject="Hi", html="{% for i in (1..100000) %}x{% endfor %}")
    with pytest.raises(templates.RenderRefused, match="loops ran more than"):
        templates.render_draft(store, published.load(store), looping, None, {}, NOW)


def test_preview_is_no_template_id(store: MemoryContent) -> None:
    with pytest.raises(definitions.InvalidDefinition) as refused:
        templates.save_template(store, "preview", "Preview", TemplateSource(subject="Hi", html="<p>Hi</p>"), NOW)
    assert [field for field, _ in refused.value.faults] == ["templateId"]
    assert store.definition("template", "preview") is None


def test_a_template_is_deleted_unless_a_running_experiment_targets_it(store: MemoryContent) -> None:
    templates.save_template(store, "digest", "Digest", TemplateSource(subject="Hi", html="<p>Hello</p>"), NOW)
    body = ExperimentDefinition.model_validate(
        {
            "name": "Subject line",
            "target": {"templateId": "digest"},
            "variants": [{"id": "control"}, {"id": "question", "subject": "Hungry?"}],
            "goal": {"click": True},
        }
    )
    definitions.save_experiment(store, "subject-line", body, NOW)
    definitions.set_experiment_status(store, "subject-line", "running", NOW)
    with pytest.raises(definitions.Conflict, match="subject-line") as refused:
        templates.delete_template(store, "digest")
    assert refused.value.field == "templateId"
    assert store.definition("template", "digest") is not None
    experiments.stop(store, "subject-line", promote=False, winner=None, now=NOW)
    templates.delete_template(store, "digest")
    assert store.definition("template", "digest") is None
    with pytest.raises(definitions.NotFound):
        templates.delete_template(store, "digest")
    # a journey's send asks for it by id: a message that cannot go, with its reason
    with pytest.raises(definitions.NotFound):
        templates.render_for_profile(store, published.load(store), "digest", "p-ida", {}, NOW)


def test_a_template_experiment_refuses_a_variant_that_does_not_compile(store: MemoryContent) -> None:
    templates.save_template(store, "digest", "Digest", TemplateSource(subject="Hi", html="<p>Hello</p>"), NOW)
    body = ExperimentDefinition.model_validate(
        {
            "name": "Subject line",
            "target": {"templateId": "digest"},
            "variants": [{"id": "control"}, {"id": "question", "subject": "Hungry, {{ profile.firstName }?"}],
            "goal": {"click": True},
        }
    )
    with pytest.raises(definitions.InvalidDefinition) as refused:
        definitions.save_experiment(store, "subject-line", body, NOW)
    assert [field for field, _ in refused.value.faults] == ["variants[1].subject"]


def test_a_template_experiment_gives_each_profile_its_subject_and_counts_a_send_once(store: MemoryContent) -> None:
    templates.save_template(store, "digest", "Digest", TemplateSource(subject="Hi", html="<p>Hello</p>"), NOW)
    body = ExperimentDefinition.model_validate(
        {
            "name": "Subject line",
            "target": {"templateId": "digest"},
            "variants": [{"id": "control"}, {"id": "question", "subject": "Hungry?"}],
            "goal": {"click": True, "urlContains": "/recipes"},
        }
    )
    definitions.save_experiment(store, "subject-line", body, NOW)
    definitions.set_experiment_status(store, "subject-line", "running", NOW)
    catalogue = published.load(store)
    subjects = Counter()
    for n in range(40):
        rendered = templates.render_for_profile(store, catalogue, "digest", f"p-{n}", {}, NOW, count_exposure=True)
        again = templates.render_for_profile(store, catalogue, "digest", f"p-{n}", {}, NOW, count_exposure=True)
        assert rendered["subject"] == again["subject"]
        assert rendered["experiment"]["variantId"] == ("question" if rendered["subject"] == "Hungry?" else "control")
        subjects[rendered["experiment"]["variantId"]] += 1
    counts = store.experiment_counts("subject-line")
    assert {v: c["users"] for v, c in counts.items()} == dict(subjects)
    # a click on a recipe link converts the profile once
    click = {"messageId": "c-1", "type": "track", "event": "Email Link Clicked", "timestamp": NOW.isoformat(),
             "properties": {"url": "https://example.com/recipes/x"}, "enrichment": {"machine": False}}  # fmt: skip
    for message_id in ("c-1", "c-2"):
        record_activity(store, catalogue, "p-0", {**click, "messageId": message_id}, NOW)
    assert sum(c["conversions"] for c in store.experiment_counts("subject-line").values()) == 1


def headline_for(audience: dict[str, Any]) -> ExperimentDefinition:
    return ExperimentDefinition.model_validate(
        {
            "name": "Hero headline for explorers",
            "target": {"slotId": "hero"},
            "variants": [
                {"id": "control", "content": {"title": "Welcome"}},
                {"id": "bold", "content": {"title": "Cook something bold"}},
            ],
            "goal": {"event": "Recipe Saved"},
            "audience": audience,
        }
    )


def test_an_experiments_audience_takes_part_and_everyone_else_sees_the_slot_uncounted(store: MemoryContent) -> None:
    explorers = {"questionnaire": "taste", "op": "equals", "value": "explorer"}
    definitions.save_experiment(store, "explorers", headline_for(explorers), NOW, lambda: SEGMENTS)
    definitions.set_experiment_status(store, "explorers", "running", NOW)
    known_visitor(store, "p-eve", "eve", "explorer")
    known_visitor(store, "p-hom", "hom", "homecook")

    assert decide(store, "eve")[0]["variantId"] in ("control", "bold")  # in the audience: in the experiment
    assert decide(store, "hom")[0]["variantId"] == "generic"  # not: what the slot shows a home cook
    assert decide(store, "never-seen")[0]["variantId"] == "generic"  # content knows nothing of them: not in it
    assert sum(v["users"] for v in experiments.results(store, "explorers")["variants"]) == 1


def test_an_audience_naming_what_does_not_exist_is_refused_at_its_path(store: MemoryContent) -> None:
    with pytest.raises(definitions.InvalidDefinition) as refused:
        audience = {"all": [{"inSegment": "seg-vip"}, {"inSegment": "seg-gone"}]}
        definitions.save_experiment(store, "vips", headline_for(audience), NOW, lambda: SEGMENTS)
    assert [field for field, _ in refused.value.faults] == ["audience.all[1].inSegment"]
    assert store.definition("experiment", "vips") is None


def test_a_template_experiments_audience_decides_who_gets_a_variant(store: MemoryContent) -> None:
    templates.save_template(store, "digest", "Digest", TemplateSource(subject="Hi", html="<p>Hello</p>"), NOW)
    body = ExperimentDefinition.model_validate(
        {
            "name": "Subject line for explorers",
            "target": {"templateId": "digest"},
            "variants": [{"id": "control"}, {"id": "question", "subject": "Hungry?"}],
            "goal": {"click": True},
            "audience": {"questionnaire": "taste", "op": "equals", "value": "explorer"},
        }
    )
    definitions.save_experiment(store, "subject-line", body, NOW, lambda: SEGMENTS)
    definitions.set_experiment_status(store, "subject-line", "running", NOW)
    known_visitor(store, "p-eve", "eve", "explorer")
    known_visitor(store, "p-hom", "hom", "homecook")
    catalogue = published.load(store)

    sent = templates.render_for_profile(store, catalogue, "digest", "p-eve", {}, NOW, count_exposure=True)
    assert sent["experiment"]["experimentId"] == "subject-line"
    other = templates.render_for_profile(store, catalogue, "digest", "p-hom", {}, NOW, count_exposure=True)
    assert other["experiment"] is None and other["subject"] == "Hi"
    assert sum(v["users"] for v in experiments.results(store, "subject-line")["variants"]) == 1
