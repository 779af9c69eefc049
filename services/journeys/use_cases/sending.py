"""Sending a journey's email once, under the delivery rules checked at the moment of sending."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from botocore.exceptions import ClientError

from services.common import clock
from services.common.access import SourceSettings
from services.common.bus import Publisher
from services.common.contracts import envelope
from services.common.contracts.journeys import MessageFailed, MessageSent
from services.common.email_links import unsubscribe_url
from services.common.ids import derived_id
from services.journeys.adapters.aws import SendOutcomeUnknown, TryAgain
from services.journeys.domain import delivery
from services.journeys.domain.definition import ClaimCodeNode, EmailNode, JourneyDefinition, node_by_id
from services.journeys.domain.tracked_email import (
    UNSUBSCRIBE_PLACEHOLDER,
    LinkSigning,
    recipient_html,
    recipient_links,
    unsubscribe_headers,
)
from services.journeys.ports import Directory, JourneyStore, Mailer, Renderer
from services.journeys.use_cases import counting

_CAP = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*([smhdw])\s*$")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
SENT_RECORD_DAYS = 400
COUPON_CODE = "couponCode"  # the template data / content variable holding the run's claimed code
MAX_REASON = 500  # of a failed message's reason (content's render errors are short; a bad answer is cut)


def parse_cap(text: str) -> delivery.FrequencyCap | None:
    """`3/7d` → at most 3 per 7 days; empty → no cap."""
    if not text.strip():
        return None
    match = _CAP.match(text)
    if not match:
        raise ValueError(f"not a frequency cap: {text!r} (use e.g. 3/7d)")
    return delivery.FrequencyCap(int(match.group(1)), dt.timedelta(seconds=int(match.group(2)) * _UNIT[match.group(3)]))


def email_template_name(journey_id: str, version: int, node_id: str) -> str:
    return f"journey-{journey_id}-v{version}-{node_id}"


Channel = Literal["email", "sms", "webhook"]


def announce_failure(
    publisher: Publisher, profile_id: str, journey_id: str, channel: Channel, reason: str, dedupe_key: str
) -> None:
    """`MessageFailed`, once per send (its id is derived from the send's dedupe key)."""
    failed = MessageFailed(
        profileId=profile_id, journeyId=journey_id, channel=channel, reason=reason, dedupeKey=dedupe_key
    )
    publisher.publish([envelope(failed, id=derived_id(dedupe_key, "MessageFailed"))])


def send_context(task: dict[str, Any], channel: Channel) -> dict[str, Any]:
    """What a send record keeps about the run that made it (listed with the run)."""
    run = task["run"]
    return {"runId": run["runId"], "journeyId": run["journeyId"], "node": task["node"], "channel": channel}


def template_data(contact: dict[str, Any]) -> dict[str, Any]:
    """Values an email template may use: the profile's traits, with a friendly fallback for the first name."""
    traits = {k: v for k, v in (contact.get("traits") or {}).items() if isinstance(v, str | int | float | bool)}
    traits.setdefault("firstName", contact.get("firstName") or "there")
    if not traits["firstName"]:
        traits["firstName"] = "there"
    return traits


UNCONFIRMED = "unconfirmed address (only claimed on a public page; not confirmed)"


def message_blocked(
    contact: dict[str, Any], channel: str, transactional: bool, mail_claimed: bool = False
) -> str | None:
    """Why a message must not go to this contact, or None. Unknown consent counts as not refused (opt-out
    marketing for known customers; sites that need opt-in record consent first). An address a public page only
    claimed (identity's `emailConfirmed: false`) is mailed only when its source opted in (`mail_claimed`), for
    transactional messages too: a claim alone never triggers mail to someone (DESIGN §9)."""
    if not contact.get("profileId"):
        return "profile not found (erased?)"
    if channel == "email":
        if not contact.get("email"):
            return "no email address"
        if contact.get("suppressed"):
            return "address suppressed (bounce or complaint)"
        if contact.get("emailConfirmed") is False and not mail_claimed:
            return UNCONFIRMED
    if transactional:
        return None
    consent = contact.get("consent") or {}
    granted = consent.get("email_marketing", consent.get("emailMarketing")) if channel == "email" else None
    if isinstance(granted, dict):
        granted = granted.get("granted")
    if granted is False:
        return "no email marketing consent"
    if channel == "sms" and (contact.get("traits") or {}).get("smsOptIn") is not True:
        return "no SMS opt-in (trait smsOptIn)"
    return None


def mails_claimed(contact: dict[str, Any], sources: Callable[[str], SourceSettings] | None) -> bool:
    """Whether the source that supplied a claimed-only address lets journeys mail it (read only when it matters)."""
    source = contact.get("emailSource")
    if contact.get("emailConfirmed") is not False or not isinstance(source, str) or sources is None:
        return False
    return sources(source).mail_claimed_addresses


def delivery_verdict(
    repo: JourneyStore,
    profile_id: str,
    channel: str,
    rules: dict[str, str],
    definition: JourneyDefinition,
    traits: dict[str, Any],
    transactional: bool,
    now: dt.datetime,
) -> tuple[dt.datetime | None, str] | None:
    """None: send now. (when, reason): wait until then; (None, reason): skip (over the cap, journey says skip)."""
    if transactional:
        return None
    cap = parse_cap(rules.get("cap", ""))
    quiet = definition.delivery.quiet_hours
    zone = delivery.profile_zone(traits, definition.delivery.default_time_zone)
    sent = repo.recent_sends(profile_id, channel, now - cap.per) if cap else []
    when, reason = delivery.delivery_time(
        now, sent_at=sent, cap=cap, quiet=delivery.QuietHours(quiet.start, quiet.end) if quiet else None, zone=zone
    )
    if when is None or reason is None:
        return None
    if reason == "frequencyCap" and definition.delivery.over_cap == "skip":
        return None, "over the frequency cap"
    if (
        reason != "frequencyCap"
        and cap
        and definition.delivery.over_cap == "skip"
        and delivery.cap_allows_at(sent, now, cap)
    ):
        return None, "over the frequency cap"
    return when, reason


def take_rate_slot(repo: JourneyStore, channel: str, rules: dict[str, str], now: dt.datetime) -> None:
    """The global send rate per channel: a full second raises TryAgain (Step Functions retries with back-off)."""
    rate = int(rules.get("rate") or 0)
    if rate <= 0:
        return
    window, limit = delivery.rate_window(now, rate)
    if not repo.take_rate_slot(channel, window, limit, now):
        raise TryAgain(f"{channel} rate limit of {rate}/s reached")


@dataclass(frozen=True)
class RenderedEmail:
    """A content template rendered for one profile (content's `render` answer)."""

    subject: str
    html: str
    text: str
    version: int | None
    experiment: dict[str, Any] | None


def rendered_email(answer: Mapping[str, Any]) -> RenderedEmail | str:
    """Content's render answer, or why this message cannot go: content's own reason (unknown template, a template
    that does not render) or an answer without the email in it."""
    error = answer.get("error")
    if error is not None:
        reason = error.get("reason") if isinstance(error, Mapping) else error
        return str(reason or "the template did not render")[:MAX_REASON]
    subject, html, text = answer.get("subject"), answer.get("html"), answer.get("text") or ""
    if not isinstance(subject, str) or not subject.strip() or not isinstance(html, str) or not html.strip():
        return "the template rendered no subject or no html"
    version = answer.get("templateVersion")
    experiment = answer.get("experiment")
    return RenderedEmail(
        subject,
        html,
        text if isinstance(text, str) else "",
        version if isinstance(version, int) and not isinstance(version, bool) else None,
        dict(experiment) if isinstance(experiment, Mapping) else None,
    )


def template_label(template_id: str, version: int | None) -> str:
    """What `MessageSent.template` names for a content template: `weekly-digest@v3`."""
    return template_id if version is None else f"{template_id}@v{version}"


def render_request(
    node: EmailNode,
    profile_id: str,
    journey_id: str,
    dedupe_key: str,
    unsubscribe: str | None,
    run_data: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Content's render request. The send's dedupe key is the message key (content's experiment exposure is once
    per message); `unsubscribeUrl` is passed as a variable, as inline emails get it in their template data, and so
    are the run's values (`couponCode`)."""
    variables: dict[str, Any] = {**(node.variables or {}), **(run_data or {})}
    if unsubscribe:
        variables[UNSUBSCRIBE_PLACEHOLDER] = unsubscribe
    return {
        "templateId": node.template,
        "profileId": profile_id,
        "messageKey": dedupe_key,
        "journeyId": journey_id,
        "variables": variables,
    }


def rendered_content(rendered: RenderedEmail, html: str, headers: list[dict[str, str]]) -> dict[str, Any]:
    """SESv2 `Content.Simple` of a rendered email: sent as content rendered it, with the tracked HTML."""
    body: dict[str, Any] = {"Html": {"Data": html, "Charset": "UTF-8"}}
    if rendered.text:
        body["Text"] = {"Data": rendered.text, "Charset": "UTF-8"}
    simple: dict[str, Any] = {"Subject": {"Data": rendered.subject, "Charset": "UTF-8"}, "Body": body}
    if headers:
        simple["Headers"] = headers
    return {"Simple": simple}


@dataclass(frozen=True)
class EmailContent:
    """What one recipient's email is: SESv2 `Content`, the template `MessageSent` names, what the send record keeps."""

    content: dict[str, Any]
    template: str
    detail: dict[str, Any]


def inline_email(
    repo: JourneyStore,
    contact: dict[str, Any],
    signing: LinkSigning,
    profile_id: str,
    journey_id: str,
    version: int,
    node_id: str,
    dedupe_key: str,
    now: dt.datetime,
    run_data: Mapping[str, Any] | None = None,
) -> EmailContent:
    """Inline content: the version's SES template, with this recipient's traits, the run's values (`couponCode`)
    and signed links as its data."""
    current = repo.version(journey_id, version) or {}
    links_of = (current.get("trackedLinks") or {}).get(node_id) or []
    links, headers = recipient_links(links_of, signing, profile_id, dedupe_key, now, contact.get("unsubscribeToken"))
    template_name = email_template_name(journey_id, version, node_id)
    template: dict[str, Any] = {
        "TemplateName": template_name,
        "TemplateData": json.dumps({**template_data(contact), **(run_data or {}), **links}),
    }
    if headers:
        template["Headers"] = headers
    return EmailContent({"Template": template}, template_name, {})


def template_email(
    node: EmailNode,
    renderer: Renderer,
    contact: dict[str, Any],
    signing: LinkSigning,
    profile_id: str,
    journey_id: str,
    dedupe_key: str,
    now: dt.datetime,
    run_data: Mapping[str, Any] | None = None,
) -> EmailContent | str:
    """A content template: rendered by content for this profile, its HTML tracked for this recipient, sent as a
    simple message; or why it cannot go (content's reason). Content unreachable raises `TryAgain`."""
    assert node.template is not None
    token = contact.get("unsubscribeToken")
    unsubscribe = unsubscribe_url(signing.api_url, token) if token else None
    rendered = rendered_email(
        renderer.render(render_request(node, profile_id, journey_id, dedupe_key, unsubscribe, run_data))
    )
    if isinstance(rendered, str):
        return rendered
    tracked = recipient_html(rendered.html, signing, profile_id, dedupe_key, now)
    headers = unsubscribe_headers(signing.api_url, token) if token else []
    detail: dict[str, Any] = {"template": node.template}
    if rendered.version is not None:
        detail["templateVersion"] = rendered.version
    if rendered.experiment:
        detail["experiment"] = rendered.experiment
    return EmailContent(
        rendered_content(rendered, tracked.html, headers), template_label(node.template, rendered.version), detail
    )


def event_data(context: Mapping[str, Any] | None) -> dict[str, Any]:
    """The properties of the event that started the run, for its emails: `{{event.referralCode}}`,
    `{{#each event.products}}{{name}}{{/each}}` (inline) or `{{ event.referralCode }}` (content templates). Nested as
    Handlebars and Liquid read them, and as flat `event.<name>` keys as well for renderers that look names up whole
    (the local cloud's SES)."""
    properties = (context or {}).get("properties")
    if not isinstance(properties, dict) or not properties:
        return {}
    out: dict[str, Any] = {"event": properties}
    for name, value in properties.items():
        if isinstance(value, str | int | float | bool | list):
            out[f"event.{name}"] = value
    return out


def run_data(
    definition: JourneyDefinition, repo: JourneyStore, profile_id: str, journey_id: str, run_id: str
) -> dict[str, Any]:
    """Values the run itself gives its emails: `couponCode`, the code a claimCode node claimed (read from the live
    run only in journeys that claim codes). Empty until a code is claimed."""
    if not any(isinstance(n, ClaimCodeNode) for n in definition.nodes):
        return {}
    live = repo.live_run(profile_id, journey_id) or {}
    if live.get("runId") != run_id or not live.get("couponCode"):
        return {}
    return {COUPON_CODE: str(live["couponCode"])}


def send_journey_email(
    task: dict[str, Any],
    definition: JourneyDefinition,
    repo: JourneyStore,
    directory: Directory,
    mailer: Mailer,
    sender: str,
    configuration_set: str,
    publisher: Publisher,
    signing: LinkSigning,
    rules: dict[str, str],
    journey_status: str,
    renderer: Renderer | None = None,
    sources: Callable[[str], SourceSettings] | None = None,
) -> dict[str, Any]:
    """The email node. The dedupe key (execution + node + this visit) makes a retried task never send twice.

    The email carries this recipient's signed links (open pixel, each tracked link's click URL; the token names
    the profile and the dedupe key as the message) and the one-click unsubscribe headers (RFC 8058). Inline content
    is the version's SES template; a node naming a content template is rendered by content (`renderer`) after the
    delivery rules passed, and its HTML tracked then. A template that does not render fails this message only."""
    from services.journeys.use_cases.steps import answer, arrive

    run, node_id = task["run"], task["node"]
    profile_id, journey_id, version = run["profileId"], run["journeyId"], int(run["version"])
    now = clock.now()
    arrive(task, repo, now, definition)
    if journey_status == "paused":
        return answer(node_id, "held")
    node = node_by_id(definition, node_id)
    assert isinstance(node, EmailNode)
    if node.renders_template and renderer is None:
        raise TypeError("an email node with a content template needs a renderer")
    dedupe_key = derived_id(task["execution"], node_id, task["enteredTime"])

    def failed(why: str) -> dict[str, Any]:
        """This message did not go (refused by SES, a template that does not render): the failed branch."""
        repo.finish_send(profile_id, dedupe_key, "failed", {"reason": why})
        counting.count(repo, journey_id, version, f"{dedupe_key}#failed", [(node_id, "sendFailed")], now)
        announce_failure(publisher, profile_id, journey_id, "email", why, dedupe_key)
        return {**answer(node_id, "failed"), "status": "failed", "reason": why, "dedupeKey": dedupe_key}

    earlier = repo.claim_send(profile_id, dedupe_key, now, send_context(task, "email"))
    if earlier is not None:
        if earlier.get("status") == "sent":
            # sent by an earlier attempt that failed afterwards: finish what it may not have (each step is once)
            _after_email_sent(repo, publisher, run, node_id, node.transactional, dedupe_key, earlier)
        branch = "failed" if earlier.get("status") == "failed" else "ok"
        return {**answer(node_id, branch), "status": "duplicate", "dedupeKey": dedupe_key}
    # Until SES is asked, nothing irrevocable has happened: a failure marks the send for a retry, which sends it then
    # (otherwise the retried task would find this claim and take the email for sent).
    try:
        contact = directory.contact(profile_id)
        reason = message_blocked(contact, "email", node.transactional, mails_claimed(contact, sources))
        if reason is None:
            verdict = delivery_verdict(
                repo, profile_id, "email", rules, definition, contact.get("traits") or {}, node.transactional, now
            )
            if verdict is not None and verdict[0] is not None:
                repo.finish_send(profile_id, dedupe_key, "deferred", {"reason": verdict[1]})
                counting.count(repo, journey_id, version, f"{dedupe_key}#deferred", [(node_id, "deferred")], now)
                return {**answer(node_id, "deferred", verdict[0]), "status": "deferred", "reason": verdict[1]}
            reason = verdict[1] if verdict is not None else None
        if reason:
            repo.finish_send(profile_id, dedupe_key, "skipped", {"reason": reason})
            counting.count(repo, journey_id, version, f"{dedupe_key}#skipped", [(node_id, "skipped")], now)
            announce_failure(publisher, profile_id, journey_id, "email", reason, dedupe_key)
            # not sent, by the rules: the run goes on
            return {**answer(node_id, "ok"), "status": "skipped", "reason": reason, "dedupeKey": dedupe_key}
        try:
            take_rate_slot(repo, "email", rules, now)
        except TryAgain:
            repo.finish_send(profile_id, dedupe_key, "retry", {"reason": "rate limit"})
            raise
        extra = {**event_data(run.get("context")), **run_data(definition, repo, profile_id, journey_id, run["runId"])}
        try:
            prepared = (
                template_email(node, renderer, contact, signing, profile_id, journey_id, dedupe_key, now, extra)
                if node.template is not None and renderer is not None
                else inline_email(
                    repo, contact, signing, profile_id, journey_id, version, node_id, dedupe_key, now, extra
                )
            )
        except TryAgain:  # content unreachable or its function failed: Step Functions retries this task
            repo.finish_send(profile_id, dedupe_key, "retry", {"reason": "render unavailable"})
            raise
        if isinstance(prepared, str):
            return failed(prepared)
        request: dict[str, Any] = {
            "FromEmailAddress": sender,
            "Destination": {"ToAddresses": [contact["email"]]},
            "Content": prepared.content,
            # SES hands the tags back with its delivery events: what counts a delivery for this node, with no read
            "EmailTags": [
                {"Name": "journey", "Value": journey_id[:256]},
                {"Name": "version", "Value": str(version)},
                {"Name": "node", "Value": node_id},
            ],
        }
        if configuration_set:
            request["ConfigurationSetName"] = configuration_set
    except Exception:
        repo.finish_send(profile_id, dedupe_key, "retry", {"reason": "the task failed before sending"})
        raise
    outcome: dict[str, Any] = {}
    try:
        message_id = mailer.send(request)
    except TryAgain:
        repo.finish_send(profile_id, dedupe_key, "retry", {})
        raise
    except ClientError as error:
        return failed(error.response.get("Error", {}).get("Code", "rejected"))
    except SendOutcomeUnknown:
        # SES may have sent it and a second send cannot be taken back: at most once, counted as sent
        message_id, outcome = "unknown", {"outcome": "unknown"}
    detail = {
        "messageId": message_id,
        "node": node_id,
        "journeyId": journey_id,
        "messageTemplate": prepared.template,
        "sentAt": clock.iso(now),
        **prepared.detail,
        **outcome,
    }
    repo.finish_send(profile_id, dedupe_key, "sent", detail)
    _after_email_sent(repo, publisher, run, node_id, node.transactional, dedupe_key, {"detail": detail})
    return {**answer(node_id, "ok"), "status": "sent", "messageId": message_id, "dedupeKey": dedupe_key}


def _after_email_sent(
    repo: JourneyStore,
    publisher: Publisher,
    run: Mapping[str, Any],
    node_id: str,
    transactional: bool,
    dedupe_key: str,
    record: Mapping[str, Any],
) -> None:
    """What follows a sent email, each step once however often it is repeated: the frequency-cap record (keyed by
    the send's time), the run's messages, the node's counter (once per dedupe key), `MessageSent` (its id derived
    from the dedupe key)."""
    detail = record.get("detail") or {}
    profile_id, journey_id, version = run["profileId"], run["journeyId"], int(run["version"])
    sent_at = dt.datetime.fromisoformat(str(detail.get("sentAt") or clock.iso(clock.now())))
    if not transactional:
        repo.record_sent(profile_id, "email", dedupe_key, sent_at, SENT_RECORD_DAYS)
    repo.update_live(profile_id, journey_id, run["runId"], {f"messages.{dedupe_key}": node_id, "lastEmail": node_id})
    counting.count(
        repo, journey_id, version, f"{dedupe_key}#sent", [(node_id, "sent")], sent_at, sent=("email", profile_id)
    )
    publisher.publish(
        [
            envelope(
                MessageSent(
                    profileId=profile_id,
                    journeyId=journey_id,
                    channel="email",
                    template=str(detail.get("messageTemplate") or ""),
                    providerMessageId=str(detail.get("messageId") or "unknown"),
                    dedupeKey=dedupe_key,
                ),
                id=derived_id(dedupe_key, "MessageSent"),
            )
        ]
    )
