"""The local mailbox: what the local cloud "sent" through SES (moto's `sent_messages`), as JSON documents."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import threading
from collections.abc import Callable
from email.message import EmailMessage
from html.parser import HTMLParser
from typing import Any

TRACKED_CLICK = "/v1/t/click/"


class SentMail(list[Any]):
    """moto's `sent_messages` list, noting the virtual time each message was appended (moto keeps none)."""

    def __init__(self, now: Callable[[], dt.datetime], earlier: list[Any]) -> None:
        super().__init__(earlier)
        self._now = now
        self._lock = threading.Lock()
        self.sent_at: dict[str, dt.datetime] = {_message_id(m): now() for m in earlier}

    def append(self, message: Any) -> None:
        with self._lock:
            self.sent_at[_message_id(message)] = self._now()
            super().append(message)


def _message_id(message: Any) -> str:
    return str(getattr(message, "id", "") or id(message))


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag.lower() == "a":
            self.hrefs += [value for name, value in attrs if name.lower() == "href" and value]


def tracked_links(html: str) -> list[str]:
    """The href values of the HTML that go through the click tracker (`/v1/t/click/...`), in order, once each."""
    parser = _Links()
    parser.feed(html or "")
    parser.close()
    return list(dict.fromkeys(h for h in parser.hrefs if TRACKED_CLICK in h))


def _addresses(destinations: Any) -> list[str]:
    if isinstance(destinations, dict):
        return [a for kind in ("ToAddresses", "CcAddresses", "BccAddresses") for a in destinations.get(kind) or []]
    return [str(a) for a in destinations or []]


def _raw_parts(raw: str) -> dict[str, Any]:
    """From, subject, headers and the HTML and text bodies of a raw MIME message."""
    parsed = email.message_from_string(raw, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    html = parsed.get_body(preferencelist=("html",))
    text = parsed.get_body(preferencelist=("plain",))
    return {
        "from": str(parsed.get("From", "")),
        "to": [str(a) for a in parsed.get_all("To", [])],
        "subject": str(parsed.get("Subject", "")),
        "headers": {k: str(v) for k, v in parsed.items()},
        "html": html.get_content() if html is not None else "",
        "text": text.get_content() if text is not None else "",
    }


def message_view(message: Any, sent_at: dt.datetime | None) -> dict[str, Any]:
    """One recorded SES message as the mailbox shows it (simple, templated or raw sends alike)."""
    raw = getattr(message, "raw_data", None)
    if raw is not None:
        parts = _raw_parts(str(raw))
        to = _addresses(message.destinations) or parts["to"]
        sender = str(getattr(message, "source", "") or parts["from"])
        subject, headers, html, text = parts["subject"], parts["headers"], parts["html"], parts["text"]
    else:
        to = _addresses(getattr(message, "destinations", None))
        sender = str(getattr(message, "source", ""))
        subject = str(getattr(message, "subject", ""))
        headers = {str(h.get("Name")): str(h.get("Value")) for h in getattr(message, "headers", None) or []}
        html = getattr(message, "html", None)
        text = getattr(message, "text", None)
        if html is None and text is None:  # recorded by moto alone: the body is the HTML, else the text
            body = str(getattr(message, "body", ""))
            html, text = (body, "") if "<" in body else ("", body)
        html, text = str(html or ""), str(text or "")
    view: dict[str, Any] = {
        "id": _message_id(message),
        "sentAt": sent_at.isoformat(timespec="milliseconds").replace("+00:00", "Z") if sent_at else None,
        "from": sender,
        "to": to,
        "subject": subject,
        "headers": headers,
        "html": html,
        "text": text,
        "trackedLinks": tracked_links(html),
    }
    template = getattr(message, "template", None)
    if template:
        view["template"] = str(template)
    return view


def mailbox(messages: list[Any], sent_at: dict[str, dt.datetime], to: str | None, limit: int) -> list[dict[str, Any]]:
    """The messages, newest first, only those to `to` (case-insensitive) when given, at most `limit`."""
    wanted = to.strip().lower() if to else None
    out: list[dict[str, Any]] = []
    for message in reversed(messages):
        view = message_view(message, sent_at.get(_message_id(message)))
        if wanted and wanted not in (a.lower() for a in view["to"]):
            continue
        out.append(view)
        if len(out) >= limit:
            break
    return out
