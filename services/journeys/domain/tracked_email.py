"""Tracked journey email: signed click links, an open pixel and one-click unsubscribe headers for each send. Pure."""

from __future__ import annotations

import datetime as dt
import html as entities
from dataclasses import dataclass
from html.entities import html5
from html.parser import HTMLParser
from urllib.parse import urlsplit

from services.common.email_links import (
    UNSUBSCRIBE_PATH,
    TrackingToken,
    click_url,
    open_url,
    safe_url,
    sign,
    unsubscribe_url,
)

# Links become placeholders for signed click URLs, an open pixel is added, and each send gets its signed URLs and
# one-click unsubscribe headers. Pure (stdlib `html.parser`: the Lambda runtime carries no HTML library, see
# docs/decisions.md 19).
#
# The journey's HTML is rewritten once, when its SES template is saved: the value of every `href` of an `<a>` or
# `<area>` that is an absolute http(s) URL becomes `{{cxmLink<n>}}` (one placeholder per distinct URL, in order of
# first appearance) and `<img src="{{cxmOpenUrl}}">` goes before `</body>`. Nothing else in the document changes, byte
# for byte. At send time the template data carries, for that recipient, `cxmLink<n>` = `<API>/v1/t/click/<token>`
# (profile, message, URL), `cxmOpenUrl` = `<API>/v1/t/open/<token>` and `unsubscribeUrl`; SES renders them in.
#
# An email node that names a content template is rendered by content at send time (Liquid, already personal):
# `recipient_html` applies the same edits to that HTML with this recipient's signed URLs in place of placeholders.
#
# Not wrapped: mailto:, tel:, anchors, relative links, hrefs holding a `{{placeholder}}` (their URL is only known when
# SES renders them; `{{unsubscribeUrl}}` is one) and links to the unsubscribe endpoint.

OPEN_PLACEHOLDER = "cxmOpenUrl"
UNSUBSCRIBE_PLACEHOLDER = "unsubscribeUrl"
LINK_TAGS = ("a", "area")
# SES caps TemplateData at 256 KB; a click URL is ~4/3 of its link plus ~150 characters.
MAX_TRACKED_LINKS = 100
PIXEL_TAG = (
    '<img src="{{' + OPEN_PLACEHOLDER + '}}" width="1" height="1" alt="" '
    'style="display:block;width:1px;height:1px;border:0">'
)
ONE_CLICK = "List-Unsubscribe=One-Click"  # RFC 8058: the body a mail client POSTs to the List-Unsubscribe URL
_SPACE = "\t\n\f\r "  # HTML's whitespace (not Unicode's)
_URL_EDGE = "".join(chr(c) for c in range(0x21))  # what browsers strip around a URL (C0 controls and space)


def link_placeholder(index: int) -> str:
    """The template variable of the `index`-th distinct tracked link."""
    return f"cxmLink{index}"


@dataclass(frozen=True)
class TrackedHtml:
    html: str  # the template to store: tracked hrefs replaced by placeholders, the pixel added
    links: tuple[str, ...]  # links[n] is the URL behind `{{cxmLink<n>}}`


@dataclass(frozen=True)
class LinkSigning:
    """What a send needs to sign its links: the public API's base URL and the platform's `link-signing` key."""

    api_url: str
    key: bytes


def tracked_url(href: str | None) -> str | None:
    """The URL a link's `href` leads to, if it is one to track: absolute http(s), no placeholder, not unsubscribe."""
    if href is None:
        return None
    url = href.strip(_URL_EDGE)
    if "{{" in url or not safe_url(url):
        return None
    if urlsplit(url).path.rstrip("/").endswith(UNSUBSCRIBE_PATH):
        return None
    return url


def track_links(html: str) -> TrackedHtml:
    """Rewrite a template's HTML for tracking (see the module docstring)."""
    scan = _scan(html)
    return TrackedHtml(
        _rewritten(html, scan, ["{{" + link_placeholder(n) + "}}" for n in range(len(scan.links))], PIXEL_TAG),
        tuple(scan.links),
    )


def recipient_html(
    html: str, signing: LinkSigning, profile_id: str, message_id: str, issued_at: dt.datetime
) -> TrackedHtml:
    """Already rendered HTML (a content template's Liquid output) as one recipient's email: every tracked link's
    `href` becomes its signed click URL and the open pixel goes before `</body>`, exactly where `track_links` puts
    its placeholders, but in one pass: nothing else is substituted, so text in the rendered HTML that looks like a
    placeholder (`{{cxmOpenUrl}}` typed into a trait) stays as written."""
    scan = _scan(html)
    signed = tracking_data(scan.links, signing, profile_id, message_id, issued_at)
    clicks = [entities.escape(signed[link_placeholder(n)]) for n in range(len(scan.links))]
    pixel = PIXEL_TAG.replace("{{" + OPEN_PLACEHOLDER + "}}", entities.escape(signed[OPEN_PLACEHOLDER]))
    return TrackedHtml(_rewritten(html, scan, clicks, pixel), tuple(scan.links))


def _scan(html: str) -> _LinkScan:
    scan = _LinkScan(html)
    scan.feed(html)
    scan.close()
    return scan


def _rewritten(html: str, scan: _LinkScan, hrefs: list[str], pixel: str) -> str:
    """The HTML with the n-th tracked link's hrefs replaced by `hrefs[n]` and `pixel` added; nothing else changed."""
    pixel_at = scan.pixel_position()
    pixel_at = len(html) if pixel_at is None else pixel_at
    edits = [(start, end, hrefs[link]) for start, end, link in scan.edits]
    out: list[str] = []
    position = 0
    for start, end, replacement in sorted([*edits, (pixel_at, pixel_at, pixel)]):
        out.append(html[position:start])
        out.append(replacement)
        position = end
    out.append(html[position:])
    return "".join(out)


def recipient_links(
    links: tuple[str, ...] | list[str],
    signing: LinkSigning,
    profile_id: str,
    message_id: str,
    issued_at: dt.datetime,
    unsubscribe_token: str | None,
) -> tuple[dict[str, str], list[dict[str, str]]]:
    """One recipient's template data (signed open and click URLs, `unsubscribeUrl`) and message headers
    (`List-Unsubscribe`, one-click). Without an unsubscribe token there is neither an unsubscribe URL nor headers."""
    data = tracking_data(links, signing, profile_id, message_id, issued_at)
    if not unsubscribe_token:
        return data, []
    data[UNSUBSCRIBE_PLACEHOLDER] = unsubscribe_url(signing.api_url, unsubscribe_token)
    return data, unsubscribe_headers(signing.api_url, unsubscribe_token)


def tracking_data(
    links: tuple[str, ...] | list[str],
    signing: LinkSigning,
    profile_id: str,
    message_id: str,
    issued_at: dt.datetime,
) -> dict[str, str]:
    """One recipient's signed URLs, as template data: the open pixel and each tracked link's click URL."""
    opened = sign(TrackingToken("open", profile_id, message_id, issued_at), signing.key)
    data = {OPEN_PLACEHOLDER: open_url(signing.api_url, opened)}
    for index, url in enumerate(links):
        clicked = sign(TrackingToken("click", profile_id, message_id, issued_at, url), signing.key)
        data[link_placeholder(index)] = click_url(signing.api_url, clicked)
    return data


def unsubscribe_headers(api_url: str, unsubscribe_token: str) -> list[dict[str, str]]:
    """`List-Unsubscribe` (RFC 2369) with the one-click `List-Unsubscribe-Post` (RFC 8058), as SESv2 headers."""
    return [
        {"Name": "List-Unsubscribe", "Value": f"<{unsubscribe_url(api_url, unsubscribe_token)}>"},
        {"Name": "List-Unsubscribe-Post", "Value": ONE_CLICK},
    ]


class _LinkScan(HTMLParser):
    """Collects the edits that turn tracked hrefs into placeholders, and where `</body>` is."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self._html = html
        # getpos() counts lines by "\n" only; absolute offsets come from where each line starts
        self._line_starts = [0] + [i + 1 for i, c in enumerate(html) if c == "\n"]
        self.edits: list[tuple[int, int, int]] = []  # (start, end, index of the link) of each tracked href value
        self.links: list[str] = []
        self._ends: dict[str, int] = {}

    def _offset(self) -> int:
        line, column = self.getpos()
        return self._line_starts[line - 1] + column

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._link(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._link(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("body", "html"):
            self._ends[tag] = self._offset()  # the last one wins

    def pixel_position(self) -> int | None:
        """Before the last `</body>`, else before the last `</html>`, else None (the end)."""
        return self._ends.get("body", self._ends.get("html"))

    def _link(self, tag: str) -> None:
        if tag not in LINK_TAGS:
            return
        raw = self.get_starttag_text() or ""
        start = self._offset()
        if self._html[start : start + len(raw)] != raw:  # cannot happen with html.parser; never edit blindly
            raise AssertionError(f"start tag not found where the parser reported it: {raw!r}")
        # The href is read as a browser reads it (html.parser's own attribute values differ in corner cases:
        # `href=="…"`, `&not` inside a query string), so what is signed is where the reader would have gone.
        span = _href_value_span(raw)
        url = tracked_url(attribute_value(raw[span[0] : span[1]])) if span else None
        if span is None or url is None:
            return
        if url not in self.links:
            self.links.append(url)
        self.edits.append((start + span[0], start + span[1], self.links.index(url)))


def _href_value_span(tag_text: str) -> tuple[int, int] | None:
    """Where the first `href` attribute's value sits in a start tag's text (quotes excluded), following the HTML
    tokenizer's attribute states (a later duplicate is ignored, as browsers do); None when there is no href value."""
    n = len(tag_text)
    i = 1
    while i < n and tag_text[i] not in _SPACE and tag_text[i] not in "/>":
        i += 1  # the tag name
    while i < n:
        while i < n and (tag_text[i] in _SPACE or tag_text[i] == "/"):
            i += 1
        if i >= n or tag_text[i] == ">":
            return None
        name_start = i
        i += 1  # a name may begin with "="
        while i < n and tag_text[i] not in _SPACE and tag_text[i] not in "/>=":
            i += 1
        name = tag_text[name_start:i].lower()
        while i < n and tag_text[i] in _SPACE:
            i += 1
        if i >= n or tag_text[i] != "=":
            if name == "href":
                return None
            continue
        i += 1
        while i < n and tag_text[i] in _SPACE:
            i += 1
        if i < n and tag_text[i] in "\"'":
            quote = tag_text[i]
            value_start = i + 1
            value_end = tag_text.find(quote, value_start)
            if value_end < 0:
                return None
            i = value_end + 1
        else:
            value_start = i
            while i < n and tag_text[i] not in _SPACE and tag_text[i] != ">":
                i += 1
            value_end = i
        if name == "href":
            return value_start, value_end
    return None


def attribute_value(raw: str) -> str:
    """An attribute value's text with its character references decoded as the HTML tokenizer decodes them in
    attributes: unlike `html.unescape`, a legacy reference without ";" before "=" or a letter or digit stays as
    written, so `?a=1&not=2` keeps its `&not` (html.unescape would turn it into "¬")."""
    if "&" not in raw:
        return raw
    first, *rest = raw.split("&")
    return first + "".join(_reference(after) for after in rest)


def _reference(after: str) -> str:
    """The text that follows one "&" (up to the next "&"), with the reference it starts with decoded."""
    if after.startswith("#"):
        return entities.unescape("&" + after)  # numeric references decode the same in attributes
    for length in range(min(len(after), _LONGEST_ENTITY), 0, -1):
        name = after[:length]
        if name not in html5:
            continue
        following = after[length : length + 1]
        if not name.endswith(";") and (following == "=" or (following.isascii() and following.isalnum())):
            return "&" + after
        return html5[name] + after[length:]
    return "&" + after


_LONGEST_ENTITY = max(len(name) for name in html5)
