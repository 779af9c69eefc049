"""Journey emails rendered from content's email templates: a node names a template instead of inline content; the send
step renders it through content (the fake renderer here), tracks the rendered HTML for the recipient and sends it as
is; a template that does not render fails that one message; publish makes no SES template for it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

import pytest

from services.common import clock
from services.common.bus import RecordingPublisher
from services.common.clock import iso
from services.common.email_links import CLICK_PATH, OPEN_PATH, verify
from services.journeys.adapters.aws import TryAgain
from services.journeys.adapters.memory import (
    MemoryDirectory,
    MemoryJourneys,
    MemoryMailer,
    MemoryRenderer,
    MemoryRunner,
)
from services.journeys.domain.catalog import LiveJourney
from services.journeys.domain.definition import DefinitionError, EmailNode, parse
from services.journeys.domain.tracked_email import (
    OPEN_PLACEHOLDER,
    LinkSigning,
    link_placeholder,
    recipient_html,
    track_links,
    tracking_data,
)
from services.journeys.use_cases import definitions
from services.journeys.use_cases.entries import enter
from services.journeys.use_cases.sending import send_journey_email
from tests.unit.clocks import Moment, frozen_at

NOW = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)
API = "https://api.example.test"
KEY = b"k" * 32
SIGNING = LinkSigning(API, KEY)
DIGEST = {
    "subject": "{{ firstName }}, this week's recipes",
    "html": '<html><body><p>Hello {{ firstName }}</p><p><a href="https://brand.example/recipes?w=9&amp;s=mail">'
    'Recipes</a> <a href="https://brand.example/tips">Tips</a></p></body></html>',
    "text": "Hello {{ firstName }}: https://brand.example/recipes",
    "version": 3,
    "experiment": {"experimentId": "exp-subject", "variantId": "b"},
}


# ---- the world: a clock, the memory adapters, content's templates ----------------------------------------


@pytest.fixture
def moment() -> Iterator[Moment]:
    with frozen_at(NOW) as now:
        yield now


@dataclass
class World:
    repo: MemoryJourneys = field(default_factory=MemoryJourneys)
    runner: MemoryRunner = field(default_factory=MemoryRunner)
    directory: MemoryDirectory = field(default_factory=MemoryDirectory)
    bus: RecordingPublisher = field(default_factory=RecordingPublisher)
    mailer: MemoryMailer = field(default_factory=MemoryMailer)
    renderer: MemoryRenderer = field(default_factory=lambda: MemoryRenderer({"weekly-digest": DIGEST}))


@pytest.fixture
def world(moment: Moment) -> World:
    return World()


def person(world: World, profile_id: str, first_name: str = "Ana", unsubscribe: str | None = "unsub-1") -> str:
    world.directory.contacts[profile_id] = {
        "email": f"{profile_id}@example.test",
        "traits": {"firstName": first_name},
        **({"unsubscribeToken": unsubscribe} if unsubscribe else {}),
    }
    world.renderer.traits[profile_id] = {"firstName": first_name}  # content reads the same profile
    return profile_id


def journey_document(email_node: dict[str, Any]) -> dict[str, Any]:
    return {"name": "Newsletter", "entry": {"trigger": {"api": True}}, "start": "newsletter", "nodes": [email_node]}


def template_node(template: str = "weekly-digest", **extra: Any) -> dict[str, Any]:
    return {"id": "newsletter", "type": "email", "template": template, "next": None, **extra}


@dataclass
class Run:
    world: World
    journey: LiveJourney
    task: dict[str, Any]

    def send(self) -> dict[str, Any]:
        w = self.world
        return send_journey_email(
            self.task,
            self.journey.definition,
            w.repo,
            w.directory,
            w.mailer,
            "news@brand.example",
            "",
            w.bus,
            SIGNING,
            {},
            "active",
            w.renderer,
        )

    @property
    def send_record(self) -> dict[str, Any]:
        profile_id = self.task["run"]["profileId"]
        (record,) = [r for r in self.world.repo.profile_records(profile_id) if r["kind"] == "send"]
        return record


def entered(world: World, node: dict[str, Any], profile_id: str, journey_id: str = "j-news") -> Run:
    """The profile's run of a published journey, at its email node (the task Step Functions hands the step)."""
    definition = parse(journey_document(node))
    journey = LiveJourney(journey_id, "active", 1, world.runner.deploy(journey_id, 1, "{}"), definition)
    assert enter(journey, profile_id, "key-1", world.repo, world.runner, world.directory, world.bus) == "entered"
    (execution,) = [
        e
        for e in world.runner.executions.values()
        if e["machineArn"] == journey.machine_arn and e["input"]["run"]["profileId"] == profile_id
    ]
    task = {
        "kind": "email",
        "node": node["id"],
        "run": execution["input"]["run"],
        "via": {"node": None, "branch": None, "until": None},
        "execution": execution["executionArn"],
        "enteredTime": iso(clock.now()),
    }
    return Run(world, journey, task)


class Mail(HTMLParser):
    """Hrefs and image sources of a sent email, as a mail client reads them."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.images: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "a":
            self.hrefs.append(str(values.get("href")))
        if tag == "img":
            self.images.append(str(values.get("src")))


def token_of(url: str, path: str) -> str:
    assert url.startswith(API + path), url
    return url[len(API + path) :]


def published(world: World, detail_type: str) -> list[Any]:
    return [e for e in world.bus.published if e.detail_type == detail_type]


def counters(world: World, journey_id: str = "j-news") -> dict[str, int]:
    return world.repo.stats(journey_id).get("v1#newsletter", {})


# ---- the definition: a template or inline content, never both, never neither -----------------------------


def test_an_email_node_may_name_a_content_template_with_variables_instead_of_inline_content() -> None:
    definition = parse(journey_document(template_node(variables={"issue": 9, "edition": "spring", "vip": True})))
    (node,) = definition.nodes
    assert isinstance(node, EmailNode)
    assert node.template == "weekly-digest" and node.renders_template
    assert node.variables == {"issue": 9, "edition": "spring", "vip": True}
    assert node.subject is None and node.html is None and node.text is None
    # stored as written: no inline fields appear in the saved document
    assert definition.model_dump(by_alias=True, mode="json", exclude_none=True)["nodes"][0] == {
        "id": "newsletter",
        "name": "",
        "type": "email",
        "template": "weekly-digest",
        "variables": {"issue": 9, "edition": "spring", "vip": True},
        "transactional": False,
    }


def test_inline_email_nodes_are_stored_as_before() -> None:
    inline = {"id": "newsletter", "type": "email", "subject": "Hi {{firstName}}", "html": "<p>Hi</p>", "next": None}
    (node,) = parse(journey_document(inline)).nodes
    assert isinstance(node, EmailNode)
    assert not node.renders_template
    stored = {k: v for k, v in inline.items() if v is not None}
    assert node.model_dump(by_alias=True, mode="json", exclude_none=True) == {
        **stored,
        "name": "",
        "text": "",
        "transactional": False,
    }
    assert (node.subject, node.html, node.text, node.template, node.variables) == (
        "Hi {{firstName}}",
        "<p>Hi</p>",
        "",
        None,
        None,
    )


@pytest.mark.parametrize(
    ("email", "errors"),
    [
        (
            {"template": "weekly-digest", "subject": "Hi", "html": "<p>Hi</p>"},
            {"nodes[0].subject", "nodes[0].html"},
        ),
        ({"template": "weekly-digest", "text": "Hi"}, {"nodes[0].text"}),
        ({}, {"nodes[0].subject", "nodes[0].html"}),
        ({"subject": "Hi"}, {"nodes[0].html"}),
        ({"html": "<p>Hi</p>"}, {"nodes[0].subject"}),
        ({"subject": "Hi", "html": "<p>Hi</p>", "variables": {"issue": 9}}, {"nodes[0].variables"}),
        ({"template": "weekly digest!"}, {"nodes[0].template"}),
        ({"template": "x" * 101}, {"nodes[0].template"}),
        ({"template": "weekly-digest", "variables": {"issue": [9]}}, {"nodes[0].variables.issue.str"}),
    ],
)
def test_an_email_node_with_both_or_neither_kinds_of_content_is_refused_naming_the_field(
    email: dict[str, Any], errors: set[str]
) -> None:
    with pytest.raises(DefinitionError) as refused:
        parse(journey_document({"id": "newsletter", "type": "email", "next": None, **email}))
    paths = {path for path, _ in refused.value.errors}
    assert errors <= paths, refused.value.errors
    assert all(path.startswith("nodes[0].") for path in paths)


def test_the_refusals_say_what_to_do() -> None:
    with pytest.raises(DefinitionError) as both:
        parse(journey_document(template_node(subject="Hi", html="<p>Hi</p>")))
    assert "either a template or inline content" in str(both.value)
    with pytest.raises(DefinitionError) as neither:
        parse(journey_document({"id": "newsletter", "type": "email", "next": None}))
    assert "or a template" in str(neither.value)


# ---- publish: no SES template and no links for a template node ------------------------------------------


def test_publish_saves_ses_templates_and_links_only_for_inline_nodes_and_accepts_any_template_id(
    moment: Moment,
) -> None:
    # Given a draft with an inline email and one naming a template content may not have (found only at send time)
    world = World(directory=MemoryDirectory(definitions={"segments": [], "plans": []}))
    draft = {
        "name": "Welcome",
        "entry": {"trigger": {"api": True}},
        "start": "hello",
        "nodes": [
            {
                "id": "hello",
                "type": "email",
                "subject": "Hi",
                "html": '<a href="https://brand.example/a">a</a>',
                "next": "digest",
            },
            {"id": "digest", "type": "email", "template": "no-such-template-yet", "next": None},
        ],
    }
    saved = definitions.create(draft, world.repo, world.directory)
    # When it is published
    journey = definitions.publish(
        saved["journeyId"],
        world.repo,
        world.directory,
        world.runner,
        world.mailer,
        {"step": "arn:step", "send_email": "arn:send"},
    )
    # Then only the inline node has an SES template and publish-time tracked links
    assert list(world.mailer.templates) == [f"journey-{saved['journeyId']}-v1-hello"]
    version = world.repo.version(saved["journeyId"], 1) or {}
    assert version["trackedLinks"] == {"hello": ["https://brand.example/a"]}
    assert journey["status"] == "active"
    assert world.renderer.requests == []  # journeys never asks content at publish


# ---- send: rendered, tracked for the recipient, sent as content rendered it -------------------------------


def test_a_template_node_sends_the_rendered_email_with_tracked_links_pixel_and_unsubscribe_headers(
    world: World,
) -> None:
    # Given Ana in a journey whose email node names content's weekly digest
    run = entered(world, template_node(variables={"issue": 9}), person(world, "p-ana"))
    # When the email step runs
    answer = run.send()
    # Then content rendered it for Ana, with the send's dedupe key as the message key
    assert answer["status"] == "sent" and answer["branch"] == "ok"
    dedupe_key = answer["dedupeKey"]
    (request,) = world.renderer.requests
    assert request == {
        "templateId": "weekly-digest",
        "profileId": "p-ana",
        "messageKey": dedupe_key,
        "journeyId": "j-news",
        "variables": {"issue": 9, "unsubscribeUrl": f"{API}/v1/privacy/unsubscribe?token=unsub-1"},
    }
    # and SES got the rendered subject, html and text as a simple message, with the unsubscribe headers
    (sent,) = world.mailer.sent
    simple = sent["Content"]["Simple"]
    assert simple["Subject"]["Data"] == "Ana, this week's recipes"
    assert simple["Body"]["Text"]["Data"] == "Hello Ana: https://brand.example/recipes"
    assert simple["Headers"] == [
        {"Name": "List-Unsubscribe", "Value": f"<{API}/v1/privacy/unsubscribe?token=unsub-1>"},
        {"Name": "List-Unsubscribe-Post", "Value": "List-Unsubscribe=One-Click"},
    ]
    assert sent["Destination"] == {"ToAddresses": ["p-ana@example.test"]}
    assert {t["Name"]: t["Value"] for t in sent["EmailTags"]} == {
        "journey": "j-news",
        "version": "1",
        "node": "newsletter",
    }
    assert world.mailer.templates == {}
    # and each link goes through Ana's signed click URL, the pixel through her open URL
    html = simple["Body"]["Html"]["Data"]
    assert "<p>Hello Ana</p>" in html
    mail = Mail(html)
    clicks = [verify(token_of(href, CLICK_PATH), KEY, NOW, "click") for href in mail.hrefs]
    assert [c.url for c in clicks] == ["https://brand.example/recipes?w=9&s=mail", "https://brand.example/tips"]
    assert {(c.profile_id, c.message_id) for c in clicks} == {("p-ana", dedupe_key)}
    (pixel,) = mail.images
    opened = verify(token_of(pixel, OPEN_PATH), KEY, NOW, "open")
    assert (opened.profile_id, opened.message_id) == ("p-ana", dedupe_key)
    assert html.index("<img") < html.index("</body>")
    # and the bus and the counters know which template version went
    (message,) = published(world, "MessageSent")
    assert message.data.template == "weekly-digest@v3"
    assert message.data.dedupe_key == dedupe_key
    assert counters(world)["sent"] == 1
    assert run.send_record["status"] == "sent"
    assert run.send_record["detail"]["templateVersion"] == 3
    assert run.send_record["detail"]["experiment"] == {"experimentId": "exp-subject", "variantId": "b"}


def test_the_rendered_html_is_not_run_through_placeholders_again(world: World) -> None:
    # Given a first name that looks like a placeholder (Liquid already merged the traits)
    run = entered(world, template_node(), person(world, "p-odd", first_name="{{cxmOpenUrl}} {{cxmLink0}} {{x}}"))
    # When the email goes
    run.send()
    # Then it is sent as written, only the tracked hrefs and the pixel are Ana's signed URLs
    simple = world.mailer.sent[0]["Content"]["Simple"]
    assert "<p>Hello {{cxmOpenUrl}} {{cxmLink0}} {{x}}</p>" in simple["Body"]["Html"]["Data"]
    assert simple["Subject"]["Data"].startswith("{{cxmOpenUrl}} {{cxmLink0}} {{x}},")


def test_without_an_unsubscribe_token_there_are_no_unsubscribe_headers_or_variable(world: World) -> None:
    run = entered(world, template_node(), person(world, "p-ben", unsubscribe=None))
    run.send()
    assert "Headers" not in world.mailer.sent[0]["Content"]["Simple"]
    assert world.renderer.requests[0]["variables"] == {}


def test_a_template_without_text_sends_html_only(world: World) -> None:
    world.renderer.templates["html-only"] = {**DIGEST, "text": ""}
    run = entered(world, template_node("html-only"), person(world, "p-ana"))
    run.send()
    assert set(world.mailer.sent[0]["Content"]["Simple"]["Body"]) == {"Html"}


# ---- failures: one message only ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "reason"),
    [
        ("broken", "Liquid syntax error: unknown tag 'endfor' (line 4)"),
        ("no-such-template", "unknown template 'no-such-template'"),
    ],
)
def test_a_template_that_does_not_render_fails_only_that_message_and_takes_the_failed_branch(
    world: World, template: str, reason: str
) -> None:
    # Given a template content cannot render, and another journey whose template renders
    world.renderer.templates["broken"] = {"error": "Liquid syntax error: unknown tag 'endfor' (line 4)"}
    failing = entered(world, template_node(template), person(world, "p-ana"), journey_id="j-broken")
    fine = entered(world, template_node(), person(world, "p-ben"), journey_id="j-news")
    # When both runs reach their email
    answer = failing.send()
    other = fine.send()
    # Then Ana's message failed with content's reason, answered (not raised) down the failed branch
    assert answer["branch"] == "failed" and answer["status"] == "failed" and answer["reason"] == reason
    assert failing.send_record["status"] == "failed"
    assert failing.send_record["detail"] == {"reason": reason}
    assert counters(world, "j-broken").get("sendFailed") == 1 and "sent" not in counters(world, "j-broken")
    (failure,) = published(world, "MessageFailed")
    assert (failure.data.profile_id, failure.data.reason, failure.data.channel) == ("p-ana", reason, "email")
    # and Ben's went as usual
    assert other["status"] == "sent"
    assert [m["Destination"]["ToAddresses"] for m in world.mailer.sent] == [["p-ben@example.test"]]
    assert counters(world, "j-news").get("sent") == 1 and "sendFailed" not in counters(world, "j-news")


def test_an_answer_without_the_email_fails_the_message(world: World) -> None:
    world.renderer.templates["empty"] = {**DIGEST, "subject": " "}
    run = entered(world, template_node("empty"), person(world, "p-ana"))
    answer = run.send()
    assert answer["branch"] == "failed" and "no subject" in answer["reason"]
    assert world.mailer.sent == []


def test_a_retried_task_never_renders_or_sends_twice(world: World) -> None:
    # Given a sent template email
    run = entered(world, template_node(), person(world, "p-ana"))
    first = run.send()
    # When Step Functions runs the same task again (a retry after a lost answer)
    again = run.send()
    # Then content is not asked again and nothing is sent again
    assert again["status"] == "duplicate" and again["branch"] == "ok"
    assert again["dedupeKey"] == first["dedupeKey"]
    assert len(world.renderer.requests) == 1 and len(world.mailer.sent) == 1
    # (a retry re-announces the send with the same event id, in case the first attempt failed before it could:
    # consumers dedupe on the id, so it counts once)
    assert len({e.id for e in published(world, "MessageSent")}) == 1 and counters(world)["sent"] == 1


def test_a_failed_render_is_not_retried_into_a_send_by_the_same_task(world: World) -> None:
    world.renderer.templates["broken"] = {"error": "bad template"}
    run = entered(world, template_node("broken"), person(world, "p-ana"))
    assert run.send()["branch"] == "failed"
    assert len(published(world, "MessageFailed")) == 1
    assert world.mailer.sent == []


def test_content_unreachable_raises_try_again_and_the_retry_sends_once(world: World) -> None:
    # Given content's render function failing (a Lambda error: InternalCallFailed, which the adapter makes TryAgain)
    run = entered(world, template_node(), person(world, "p-ana"))
    world.renderer.fail = TryAgain("content.render failed: Task timed out")
    # When the step runs, it raises for Step Functions to retry, and nothing went
    with pytest.raises(TryAgain):
        run.send()
    assert run.send_record["status"] == "retry"
    assert world.mailer.sent == [] and published(world, "MessageFailed") == []
    # Then the retry renders and sends once
    assert run.send()["status"] == "sent"
    assert run.send()["status"] == "duplicate"
    assert len(world.renderer.requests) == 2 and len(world.mailer.sent) == 1


def test_a_blocked_contact_is_skipped_before_content_is_asked(world: World) -> None:
    world.directory.contacts["p-gone"] = {"email": "", "traits": {}}
    run = entered(world, template_node(), "p-gone")
    assert run.send()["status"] == "skipped"
    assert world.renderer.requests == []


# ---- the pure part: a rendered document as one recipient's email ------------------------------------------------


@pytest.mark.parametrize("html", [DIGEST["html"], "<p>no body, <a href=https://x.example/?a=1&b=2>x</a>", "plain"])
def test_recipient_html_is_track_links_with_the_recipients_urls_in_place_of_its_placeholders(html: str) -> None:
    tracked = track_links(html)
    signed = tracking_data(tracked.links, SIGNING, "p-ana", "m-1", NOW)
    expected = tracked.html
    for n in range(len(tracked.links)):
        expected = expected.replace("{{" + link_placeholder(n) + "}}", signed[link_placeholder(n)])
    expected = expected.replace("{{" + OPEN_PLACEHOLDER + "}}", signed[OPEN_PLACEHOLDER])
    personal = recipient_html(html, SIGNING, "p-ana", "m-1", NOW)
    assert personal.html == expected
    assert personal.links == tracked.links
