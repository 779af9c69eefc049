"""The double opt-in confirmation email: its link, subject and parts, and its once-a-day dedupe key. Pure."""

from __future__ import annotations

import datetime as dt
from html import escape
from urllib.parse import quote

from services.common.ids import derived_id

CONFIRM_PATH = "/v1/consent/confirm"  # identity's public page (GET shows a button, POST confirms)
SUBJECT = "Please confirm your subscription"


def confirmation_url(api_url: str, token: str) -> str:
    return f"{api_url.rstrip('/')}{CONFIRM_PATH}?token={quote(token, safe='')}"


def confirmation_dedupe_key(address: str, day: dt.date) -> str:
    """One confirmation email per address per day, however often a form is submitted or a request redelivered."""
    return derived_id("email-confirmation", address.strip().lower(), day.isoformat())


def confirmation_content(url: str) -> dict[str, object]:
    """SES v2 `Content.Simple`: a short message with the one link (no tracking: it asks for consent)."""
    link = escape(url, quote=True)
    html = (
        "<!doctype html><html><body>"
        "<p>Someone, hopefully you, asked to receive our emails at this address.</p>"
        f'<p><a href="{link}">Yes, subscribe me</a></p>'
        "<p>If it was not you, ignore this email: you will not hear from us.</p>"
        "</body></html>"
    )
    text = (
        "Someone, hopefully you, asked to receive our emails at this address.\n\n"
        f"Confirm here: {url}\n\n"
        "If it was not you, ignore this email: you will not hear from us.\n"
    )
    return {
        "Simple": {
            "Subject": {"Data": SUBJECT, "Charset": "UTF-8"},
            "Body": {"Html": {"Data": html, "Charset": "UTF-8"}, "Text": {"Data": text, "Charset": "UTF-8"}},
        }
    }
