"""Email templates: what a marketer sees when saving a template and what a reader receives."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Mapping
from typing import Any

import pytest
from pydantic import ValidationError

from services.content.domain.plain_text import html_to_text
from services.content.domain.templates import (
    CompiledTemplate,
    Reader,
    RenderContext,
    Rendered,
    RenderFailed,
    TemplateErrors,
    TemplateFault,
    TemplateSource,
    compile_template,
    newest_items,
    render,
)

NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def item(item_id: str, published: str, *, segments: list[str] | None = None, **fields: Any) -> dict[str, Any]:
    return {
        "id": item_id,
        "title": fields.pop("title", item_id.replace("-", " ").title()),
        "url": f"https://eat.example/{item_id}",
        "type": fields.pop("type", "recipe"),
        "topics": fields.pop("topics", ["recipes"]),
        "keywords": [],
        "segments": segments or [],
        "locale": fields.pop("locale", "en-GB"),
        "publishedAt": published,
        **fields,
    }


CATALOGUE = [
    item("leek-soup", "2026-01-10T08:00:00Z"),
    item("lentil-dal", "2026-02-20T08:00:00Z"),
    item("bread-basics", "2026-02-25T08:00:00Z"),
    item("street-tacos", "2026-02-01T08:00:00Z", segments=["explorer"]),
    item("kimchi-rice", "2026-02-27T08:00:00Z", segments=["explorer"]),
    item("sunday-roast", "2026-02-28T08:00:00Z", segments=["classic"]),
    item("ferment-101", "2026-03-09T08:00:00Z", segments=["explorer"]),  # scheduled: after NOW
    item("spring-menu", "2026-03-01T08:00:00Z", type="article", topics=["seasonal"]),
]


def reader_context(
    profile: Mapping[str, Any] | None = None,
    *,
    segments: tuple[str, ...] = (),
    taste: str | None = None,
    tiers: Mapping[str, str] | None = None,
    scores: Mapping[str, float] | None = None,
    known: bool = True,
) -> RenderContext:
    return RenderContext(
        profile=profile if profile is not None else {"firstName": "ann", "email": "ann@example.com"},
        reader=Reader(
            known=known,
            segments=segments,
            questionnaires={"taste": taste},
            tiers=tiers or {},
            scores=scores or {},
        ),
        now=NOW,
        catalogue=CATALOGUE,
        extra={"journey": {"name": "Welcome"}, "unsubscribeUrl": "https://eat.example/u/abc"},
    )


def email(html: str, subject: str = "News", **parts: str) -> CompiledTemplate:
    return compile_template(TemplateSource(subject=subject, html=html, **parts))


def html_for(html: str, context: RenderContext | None = None) -> str:
    return render(email(html), context or reader_context()).html


def faults_of(**parts: str) -> list[TemplateFault]:
    source = {"subject": "News", "html": "<p>Hi</p>", **parts}
    with pytest.raises(TemplateErrors) as raised:
        compile_template(TemplateSource.model_validate(source))
    return raised.value.faults


def failure_of(html: str, context: RenderContext | None = None, **options: Any) -> str:
    with pytest.raises(RenderFailed) as raised:
        render(email(html), context or reader_context(), **options)
    return raised.value.reason


# --- merge fields -------------------------------------------------------------------------------------------


def test_merge_fields_use_the_trait_or_the_written_fallback() -> None:
    # Given a greeting with a fallback for readers without a first name
    greeting = email(
        '<p>Hello {{ profile.firstName | default: "there" | capitalize }},</p>',
        subject="{{ profile.firstName | default: 'Friend' | capitalize }}, your\n   week in food",
    )

    # When it is rendered for Ann and for an anonymous reader
    ann = render(greeting, reader_context({"firstName": "ann"}))
    anonymous = render(greeting, reader_context({}, known=False))

    # Then Ann is greeted by name, the anonymous reader by the fallback, and the subject is one line
    assert ann.html == "<p>Hello Ann,</p>"
    assert ann.subject == "Ann, your week in food"
    assert anonymous.html == "<p>Hello There,</p>"
    assert anonymous.subject == "Friend, your week in food"


def test_standard_filters_and_journey_variables_work() -> None:
    html = html_for(
        "{{ profile.email | upcase }}|{{ profile.bio | truncate: 12 }}|{{ now | date: '%-d %B %Y' }}"
        "|{{ 'now' | date: '%Y' }}|{{ journey.name }}|{{ unsubscribeUrl }}",
        reader_context({"email": "ann@example.com", "bio": "Home cook from Leeds"}),
    )

    assert html == "ANN@EXAMPLE.COM|Home cook...|2 March 2026|2026|Welcome|https://eat.example/u/abc"


def test_a_journey_variable_cannot_shadow_the_reader_profile() -> None:
    context = RenderContext(profile={"firstName": "Ann"}, reader=Reader(), now=NOW, extra={"profile": "spoof"})

    assert html_for("{{ profile.firstName }}", context) == "Ann"


def test_a_clock_without_time_zone_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        RenderContext(profile={}, reader=Reader(), now=dt.datetime(2026, 3, 2, 9, 0))


# --- conditional blocks -------------------------------------------------------------------------------------

CONDITIONAL = """
{%- if reader.segments contains "explorer" %}Try something new.{% endif -%}
{%- if reader.tiers.loyalty == "gold" %} Gold members eat free.{% endif -%}
{%- if reader.scores.engagement > 50 %} Thanks for reading.{% endif -%}
{%- if profile.country == "FR" %} Bonjour.{% endif -%}
{%- case reader.questionnaires.taste %}{% when "explorer" %} Taste: bold.{% when "classic" %} Taste: classic.
{%- else %} Tell us your taste.{% endcase -%}
"""


def test_conditional_blocks_follow_segment_tier_score_trait_and_questionnaire() -> None:
    explorer = reader_context(
        {"country": "FR"},
        segments=("seg-food", "explorer"),
        taste="explorer",
        tiers={"loyalty": "gold"},
        scores={"engagement": 72.5},
    )

    assert html_for(CONDITIONAL, explorer) == (
        "Try something new. Gold members eat free. Thanks for reading. Bonjour. Taste: bold."
    )


def test_conditional_blocks_are_quiet_for_a_reader_who_matches_none() -> None:
    neutral = reader_context({"country": "GB"}, segments=("neutral",), tiers={"loyalty": "bronze"})

    assert html_for(CONDITIONAL, neutral) == " Tell us your taste."


# --- catalogue blocks ---------------------------------------------------------------------------------------

RECIPE_BLOCK = """\
{%- assign picks = catalogue | newest: 3, type: "recipe", topic: "recipes", for_reader: true -%}
{%- for item in picks %}<a href="{{ item.url }}">{{ item.title }}</a>{% endfor -%}"""


def titles(html: str) -> list[str]:
    return [part.split("</a>")[0] for part in html.split('">')[1:]]


def test_catalogue_block_shows_an_explorer_the_newest_recipes_for_explorers_first() -> None:
    html = html_for(RECIPE_BLOCK, reader_context(segments=("explorer",), taste="explorer"))

    # Both explorer recipes, topped up with the newest generic one, newest first; never the classic
    # roast, never the article, never the recipe scheduled after now.
    assert titles(html) == ["Kimchi Rice", "Bread Basics", "Street Tacos"]


def test_catalogue_block_falls_back_to_generic_recipes_for_a_neutral_reader() -> None:
    html = html_for(RECIPE_BLOCK, reader_context(segments=("neutral",)))

    assert titles(html) == ["Bread Basics", "Lentil Dal", "Leek Soup"]


def test_catalogue_block_without_for_reader_shows_the_newest_of_all() -> None:
    html = html_for(
        "{% assign latest = catalogue | newest: 2 %}{% for item in latest %}{{ item.title }};{% endfor %}"
        '{% assign article = catalogue | newest: 1, type: "article" | first %}{{ article.title }}'
    )

    assert html == "Spring Menu;Sunday Roast;Spring Menu"


def test_newest_items_skips_items_without_a_readable_date_and_caps_the_count() -> None:
    catalogue = [item(f"r{n}", f"2026-01-{n:02d}T00:00:00Z") for n in range(1, 29)]
    catalogue += [item("undated", "soon"), item("naive", "2026-02-01T00:00:00")]

    picks = newest_items(catalogue * 3, 500, now=NOW)

    assert len(picks) == 50
    assert picks[0]["id"] == "naive"  # a date without zone is read as UTC
    assert "undated" not in {p["id"] for p in picks}


# --- save-time errors ---------------------------------------------------------------------------------------


def test_an_unclosed_if_is_reported_where_it_opens() -> None:
    faults = faults_of(html="<p>Hi</p>\n<p>\n{% if profile.firstName %}Hello\n</p>")

    assert faults == [TemplateFault("html", 3, 1, "'{% if %}' is never closed: add {% endif %}")]


def test_unknown_filters_are_refused_when_saved_with_their_position() -> None:
    faults = faults_of(html="<p>\n  {{ profile.firstName | shout }}</p>{{ now | date: '%Y' | nope: 2 }}")

    assert [(f.line, f.column, f.message) for f in faults] == [
        (2, 26, "unknown filter 'shout'"),
        (2, 60, "unknown filter 'nope'"),
    ]


def test_every_part_is_checked_and_reported_by_name() -> None:
    faults = faults_of(
        subject="Hi {{ profile.firstName | titlecase }}",
        preheader="{% if reader.known %}Welcome back",
        text="Hi\n{{ profile.firstName | }}",
        html="{% include 'footer' %}",
    )

    assert [(f.field, f.line, f.column) for f in faults] == [
        ("subject", 1, 27),
        ("preheader", 1, 1),
        ("html", 1, 4),
        ("text", 2, 25),
    ]
    assert "cannot load other templates" in faults[2].message


def test_an_unknown_tag_is_refused_when_saved() -> None:
    [fault] = faults_of(html="<p>{% shout %}hi</p>")

    assert (fault.field, fault.line, fault.column, fault.message) == ("html", 1, 7, "unexpected tag 'shout'")


def test_a_subject_longer_than_a_mail_header_line_is_refused() -> None:
    with pytest.raises(ValidationError):
        TemplateSource(subject="x" * 999, html="<p>Hi</p>")


# --- limits -------------------------------------------------------------------------------------------------


# The limits below are checked with a render budget too large to trip first (on a busy machine the default 250 ms
# could), so each test names the limit it is about; the budget has its own test, on a fake clock. How fast a
# render is, is the bench's business (`make bench ARGS=content`), not a test's.
ROOMY = {"budget_seconds": 60.0}


def test_a_huge_loop_is_refused_with_a_reason() -> None:
    reason = failure_of("<p>Hi</p>\n{% for i in (1..1000) %}{% for j in (1..1000) %}x{% endfor %}{% endfor %}", **ROOMY)

    assert reason == "html, line 2, column 4: loops ran more than 10000 iterations"


def test_output_past_the_size_limit_is_refused() -> None:
    reason = failure_of(
        "{% for i in (1..9999) %}{{ 'A line of padding for a very long newsletter, repeated.' }}{% endfor %}",
        **ROOMY,
    )

    assert reason.endswith("output larger than 512 KB")


@pytest.mark.parametrize(
    "bomb",
    [
        "{% assign s = 'xxxxxxxxxx' %}{% for i in (1..40) %}{% assign s = s | append: s %}{% endfor %}",
        "{{ 'aaaa' | replace: 'a', 'aaaaaaaaaa' | replace: 'a', 'aaaaaaaaaa' | replace: 'a', 'aaaaaaaaaa'"
        " | replace: 'a', 'aaaaaaaaaa' | replace: 'a', 'aaaaaaaaaa' | replace: 'a', 'aaaaaaaaaa' }}",
        "{{ (1..100000000) | join: ',' | size }}",
    ],
)
def test_values_built_to_exhaust_memory_are_refused(bomb: str) -> None:
    reason = failure_of(bomb, **ROOMY)

    assert "too large" in reason


def fake_clock(step: float) -> Callable[[], float]:
    ticks = itertools.count()
    return lambda: next(ticks) * step


def test_a_render_over_its_time_budget_is_stopped() -> None:
    # Given a clock on which every step of the render takes 10 ms
    reason = failure_of("{% for i in (1..100) %}{{ i }}{% endfor %}", clock=fake_clock(0.01))

    assert reason == "html, line 1, column 4: took longer than its render time budget"


def test_the_budget_interrupts_the_heaviest_template_the_other_limits_allow() -> None:
    # Given the most work the loop limit allows, with several filters in every iteration, on a clock where each
    # step takes 1 ms: the budget stops it (the loop and output limits alone would let it run)
    heavy = (
        "{% for i in (1..100) %}{% for j in (1..100) %}{% capture cell %}"
        "{{ i | times: j | append: 'abcdefghij' | upcase | split: 'B' | join: 'b' | size }}"
        "{% endcapture %}{% endfor %}{% endfor %}"
    )
    reason = failure_of(heavy, clock=fake_clock(0.001))

    assert "render time budget" in reason
    render(email(heavy), reader_context(), budget_seconds=60.0)  # and within a roomy budget it completes


# --- escaping and sandbox -----------------------------------------------------------------------------------


def test_traits_cannot_inject_markup_into_the_html_part() -> None:
    # Given a reader whose first name is markup
    context = reader_context({"firstName": '<img src=x onerror="steal()">'})
    greeting = email(
        "<p><b>Hello</b> {{ profile.firstName }}</p>",
        subject="Hello {{ profile.firstName }}",
        text="Hello {{ profile.firstName }}",
    )

    rendered = render(greeting, context)

    # Then the HTML shows the name as text, while the template's own markup stays markup
    assert rendered.html == "<p><b>Hello</b> &lt;img src=x onerror=&#34;steal()&#34;&gt;</p>"
    # And the subject and text parts are not HTML, so they are not escaped
    assert rendered.subject == 'Hello <img src=x onerror="steal()">'
    assert rendered.text == 'Hello <img src=x onerror="steal()">'


@pytest.mark.parametrize(
    "probe",
    [
        "{{ profile.__class__ }}",
        "{{ profile.__class__.__mro__ }}",
        "{{ profile.items }}",
        "{{ reader.segments.__len__ }}",
        "{{ now.__class__ }}{{ now.year }}",
        "{{ catalogue.first.__dict__ }}",
        "{{ profile.firstName.__class__.__base__.__subclasses__ }}",
        "{% for k in profile.__class__ %}{{ k }}{% endfor %}",
    ],
)
def test_a_template_cannot_reach_python_internals(probe: str) -> None:
    assert html_for(probe) == ""


def test_objects_in_the_profile_are_not_exposed() -> None:
    class Secret:
        password = "hunter2"

    context = reader_context({"firstName": "Ann", "account": Secret()})

    assert html_for("{{ profile.account }}{{ profile.account.password }}", context) == ""


def test_a_render_error_names_the_position_but_not_the_reader_data() -> None:
    context = reader_context({"firstName": "Ann Confidential"})

    reason = failure_of("<p>Hi</p>\n{% if profile.firstName > 3 %}x{% endif %}", context)

    assert reason.startswith("html, line 2")
    assert "Confidential" not in reason


# --- plain text ---------------------------------------------------------------------------------------------

NEWSLETTER = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Weekly</title>
<style>p { color: #333; } .btn { padding: 8px; }</style></head>
<body>
<table role="presentation" width="100%"><tr><td align="center">
  <img src="https://eat.example/logo.png" alt="Eat Well" width="120">
</td></tr>
<tr><td>
  <h1>Hello {{ profile.firstName | default: "there" }},</h1>
  <p>This week&rsquo;s   picks for
     your kitchen &amp; table:</p>
  <ul>
    {%- assign picks = catalogue | newest: 2, type: "recipe", for_reader: true %}
    {%- for item in picks %}
    <li><a href="{{ item.url }}">{{ item.title }}</a></li>
    {%- endfor %}
  </ul>
  <p><a class="btn" href="https://eat.example/recipes">See all recipes</a><br>
  Questions? <a href="mailto:help@eat.example">Write to us</a>.</p>
  <p><a href="https://eat.example">https://eat.example</a></p>
  <script>track();</script>
</td></tr>
<tr><td style="font-size:12px">
  <p>&copy; 2026 Eat&nbsp;Well &middot; <a href="{{ unsubscribeUrl }}">Unsubscribe</a></p>
</td></tr></table>
</body></html>"""


def test_the_plain_text_part_is_produced_from_a_realistic_newsletter() -> None:
    rendered = render(email(NEWSLETTER, preheader="Two new recipes"), reader_context(segments=("explorer",)))

    assert rendered.text == (
        "Eat Well\n"
        "\n"
        "Hello ann,\n"
        "\n"
        "This week’s picks for your kitchen & table:\n"
        "\n"
        "- Kimchi Rice (https://eat.example/kimchi-rice)\n"
        "- Street Tacos (https://eat.example/street-tacos)\n"
        "\n"
        "See all recipes (https://eat.example/recipes)\n"
        "Questions? Write to us.\n"
        "\n"
        "https://eat.example\n"
        "\n"
        "© 2026 Eat Well · Unsubscribe (https://eat.example/u/abc)"
    )


def test_the_preheader_leads_the_html_body_hidden_and_stays_out_of_the_text() -> None:
    rendered = render(
        email("<html><body><p>Hi</p></body></html>", preheader="Fresh for {{ profile.firstName }} & co"),
        reader_context({"firstName": "Ann"}),
    )

    assert rendered == Rendered(
        subject="News",
        html='<html><body><div style="display:none;max-height:0;overflow:hidden;mso-hide:all;">'
        "Fresh for Ann &amp; co</div><p>Hi</p></body></html>",
        text="Hi",
        preheader="Fresh for Ann & co",
    )


def test_a_written_text_part_is_used_as_written() -> None:
    rendered = render(email("<p>Hi</p>", text="Hi {{ profile.firstName }}\n\nBye"), reader_context())

    assert rendered.text == "Hi ann\n\nBye"


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("<p>one<br>two<br><br><br><br><br>three</p>", "one\ntwo\n\n\nthree"),
        ('<a href="#top">Back to top</a>', "Back to top"),
        ('<a href="mailto:help@eat.example"></a>', "help@eat.example"),
        ('<a href="https://x.example/a"><img src="b.png" alt=""></a>', "https://x.example/a"),
        ('<a href="https://x.example/a"><img src="b.png" alt="Our shop"></a>', "Our shop (https://x.example/a)"),
        ("<head><title>T</title><body><p>Body</p>", "Body"),
        ("<h2>Title</h2><div>a</div><div>b</div>", "Title\n\na\nb"),
        ("<table><tr><td>Mon</td><td>10am</td></tr></table>", "Mon 10am"),
        ("<p>Hidden\u200c\u034f padding &zwnj;</p>", "Hidden padding"),
    ],
)
def test_html_to_text(html: str, text: str) -> None:
    assert html_to_text(html) == text
