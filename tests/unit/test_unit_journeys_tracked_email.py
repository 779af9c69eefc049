"""Tracked journey email: the template's links become placeholders for signed click URLs (each http(s) link exactly
once, nothing else touched), an open pixel is added, and each send gets its signed URLs and unsubscribe headers."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from html.parser import HTMLParser

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.common.email_links import CLICK_PATH, OPEN_PATH, UNSUBSCRIBE_PATH, verify
from services.events.manifest import MANIFEST as EVENTS
from services.identity.manifest import MANIFEST as IDENTITY
from services.journeys.domain.tracked_email import (
    PIXEL_TAG,
    LinkSigning,
    TrackedHtml,
    attribute_value,
    link_placeholder,
    recipient_links,
    track_links,
    tracked_url,
)

KEY = b"k" * 48
API = "https://api.brand.example"
SENT = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
SIGNING = LinkSigning(API, KEY)

NEWSLETTER = """<!doctype html>
<html><head><style>a { color: #c00 }</style></head>
<body>
  <p>Hello {{firstName}},</p>
  <p><a href="https://shop.example/kettle?src=news&amp;m=mail" class="button">See the kettle</a></p>
  <p><a href='https://shop.example/recipes'>Recipes</a> · <A HREF=https://shop.example/kettle?src=news&amp;m=mail>again</A></p>
  <p><a href="mailto:help@shop.example">Mail</a> · <a href="tel:+33123456789">Call</a> · <a href="#top">Top</a></p>
  <p><a href="/relative">relative</a> · <a href="{{profileUrl}}">your profile</a></p>
  <p><img src="https://cdn.shop.example/logo.png" alt="logo"></p>
  <!-- <a href="https://shop.example/commented-out">not a link</a> -->
  <p><a href="{{unsubscribeUrl}}">Unsubscribe</a></p>
</body>
</html>
"""


def placeholder(index: int) -> str:
    return "{{" + link_placeholder(index) + "}}"


# ---- the rewrite ---------------------------------------------------------------------------------------------


def test_a_newsletters_http_links_become_placeholders_and_the_pixel_goes_before_the_body_end() -> None:
    # When a marketer's newsletter is rewritten for tracking
    tracked = track_links(NEWSLETTER)

    # Then each distinct http(s) link is tracked once, in order of first appearance, entities decoded
    assert tracked.links == (
        "https://shop.example/kettle?src=news&m=mail",
        "https://shop.example/recipes",
    )
    # And exactly those hrefs became placeholders (the repeated one reuses its placeholder), quotes as written
    expected = (
        NEWSLETTER.replace('"https://shop.example/kettle?src=news&amp;m=mail"', f'"{placeholder(0)}"')
        .replace("'https://shop.example/recipes'", f"'{placeholder(1)}'")
        .replace("HREF=https://shop.example/kettle?src=news&amp;m=mail>", f"HREF={placeholder(0)}>")
        .replace("</body>", PIXEL_TAG + "</body>")
    )
    assert tracked.html == expected


@pytest.mark.parametrize(
    "href",
    [
        "mailto:help@shop.example",
        "tel:+33123456789",
        "#top",
        "/relative/path",
        "//shop.example/scheme-relative",
        "javascript:alert(1)",
        "{{unsubscribeUrl}}",
        "https://shop.example/p?who={{userId}}",
        "https://api.brand.example/v1/privacy/unsubscribe?token=u1.p.s",
        "https://shop.example/with a space",
        "",
    ],
)
def test_links_that_are_not_absolute_http_or_are_the_unsubscribe_link_are_left_as_written(href: str) -> None:
    html = f'<p><a href="{href}">x</a></p>'
    assert track_links(html) == TrackedHtml(html + PIXEL_TAG, ())


def test_only_link_elements_are_rewritten_not_images_stylesheets_scripts_or_comments() -> None:
    html = (
        '<link rel="stylesheet" href="https://cdn.example/s.css"><img src="https://cdn.example/i.png">'
        '<script>document.write(\'<a href="https://x.example/">\')</script><!-- <a href="https://y.example/"> -->'
        '<map><area shape="rect" coords="0,0,1,1" href="https://z.example/map"></map>'
    )
    tracked = track_links(html)
    assert tracked.links == ("https://z.example/map",)
    assert tracked.html == html.replace("https://z.example/map", placeholder(0)) + PIXEL_TAG


def test_the_href_is_read_as_a_browser_reads_it() -> None:
    # the first of two hrefs counts; a legacy reference before "=" stays as written; whitespace around is stripped
    tracked = track_links('<a href=" https://x.example/?a=1&not=2&amp;b=3 " href="https://ignored.example/">x</a>')
    assert tracked.links == ("https://x.example/?a=1&not=2&b=3",)
    assert tracked.html.startswith(f'<a href="{placeholder(0)}" href="https://ignored.example/">')
    # `href=="…"` is, for a browser, the relative URL `="…"`: not a link to track
    odd = '<a href=="https://x.example/">x</a>'
    assert track_links(odd).links == ()
    # self-closing and slash-separated forms
    assert track_links("<a/href=https://q.example/>x</a>").html.startswith(f"<a/href={placeholder(0)}>")


def test_the_pixel_goes_before_the_last_body_end_else_the_html_end_else_at_the_end() -> None:
    assert track_links("<body><p>x</p></body>").html == f"<body><p>x</p>{PIXEL_TAG}</body>"
    assert track_links("<html><p>x</p></html>").html == f"<html><p>x</p>{PIXEL_TAG}</html>"
    assert track_links("<p>x</p>").html == f"<p>x</p>{PIXEL_TAG}"


def test_attribute_references_decode_as_in_a_browser() -> None:
    assert attribute_value("a&amp;b&#39;c&#x41;") == "a&b'cA"
    assert attribute_value("?lang=en&not=1&copy=2") == "?lang=en&not=1&copy=2"  # html.unescape gives "¬=1", "©=2"
    assert attribute_value("&notit;&copy 2") == "&notit;© 2"


def test_tracked_url_refuses_what_cannot_be_signed_or_is_the_unsubscribe_link() -> None:
    assert tracked_url("\n https://x.example/a \t") == "https://x.example/a"
    assert tracked_url("HTTPS://X.example/") == "HTTPS://X.example/"
    assert tracked_url(None) is None
    assert tracked_url("https://x.example/" + "a" * 2100) is None  # too long to sign
    assert tracked_url("https://api.example/v1/privacy/unsubscribe/") is None


# ---- the invariant, on generated documents ------------------------------------------------------------------


@dataclass(frozen=True)
class Piece:
    raw: str  # the markup as written
    url: str | None = None  # the link it carries, when it must be tracked
    value: str = ""  # the href value as written (replaced by the placeholder)


_text = st.text(st.sampled_from("abc XYZ 123 .,;:!?-'\"=/\n\t"), max_size=20).map(lambda t: t.replace(">", ""))
_host = st.from_regex(r"[a-z][a-z0-9-]{0,12}\.example", fullmatch=True)
_path = st.from_regex(r"(/[A-Za-z0-9_.~-]{0,10}){0,3}", fullmatch=True)
_query = st.lists(st.from_regex(r"[a-z]{1,6}=[A-Za-z0-9]{0,6}", fullmatch=True), max_size=3)


@st.composite
def tracked_link(draw: st.DrawFn) -> Piece:
    scheme = draw(st.sampled_from(["http", "https", "HTTPS"]))
    query = draw(_query)
    url = f"{scheme}://{draw(_host)}{draw(_path)}" + ("?" + "&".join(query) if query else "")
    value = url.replace("&", draw(st.sampled_from(["&amp;", "&#38;", "&AMP;"])))  # as HTML writes a query's "&"
    quote = draw(st.sampled_from(['"', "'", ""]))
    tag = draw(st.sampled_from(["a", "A", "area"]))
    name = draw(st.sampled_from(["href", "HREF", "Href"]))
    before = draw(st.sampled_from(["", ' class="btn"', " target=_blank", " data-x='{{firstName}}'"]))
    after = draw(st.sampled_from(["", ' style="color: red"', " rel=noopener", " title='a > b'"]))
    space = draw(st.sampled_from(["", " ", "\n  "]))
    raw = f"<{tag}{before} {name}{space}={space}{quote}{value}{quote}{after}>{draw(_text)}</{tag}>"
    return Piece(raw, url, value)


_untracked = st.sampled_from(
    [
        '<a href="mailto:a@b.example">m</a>',
        '<a href="tel:+1555">t</a>',
        '<a href="#top">top</a>',
        '<a href="/relative">r</a>',
        '<a href="{{unsubscribeUrl}}">unsubscribe</a>',
        '<a href="https://api.example/v1/privacy/unsubscribe?token=u1.p.s">unsubscribe</a>',
        '<a name="anchor">no href</a>',
        '<img src="https://cdn.example/i.png" alt="">',
        '<link rel="stylesheet" href="https://cdn.example/s.css">',
        '<!-- <a href="https://commented.example/">c</a> -->',
        "<script>var u = '<a href=\"https://script.example/\">';</script>",
        "<p class='x'>",
        "</p>",
        "<br/>",
        "{{#if vip}}<b>VIP</b>{{/if}}",
        "&amp; &copy; &#169;",
    ]
).map(Piece)
_piece = st.one_of(tracked_link(), _untracked, _text.map(Piece))


@settings(max_examples=150)
@given(pieces=st.lists(_piece, max_size=12), in_body=st.booleans())
def test_every_http_link_is_wrapped_exactly_once_and_nothing_else_changes(pieces: list[Piece], in_body: bool) -> None:
    # Given a document made of links to track, other links and markup, and text
    head, tail = ("<html><body>", "</body></html>") if in_body else ("", "")
    html = head + "".join(p.raw for p in pieces) + tail

    # When it is rewritten
    tracked = track_links(html)

    # Then the tracked links are the distinct URLs of the http(s) links, in order
    urls = list(dict.fromkeys(p.url for p in pieces if p.url))
    assert tracked.links == tuple(urls)
    # And the document is the same, byte for byte, except each such href value and the pixel
    rewritten = "".join(p.raw.replace(p.value, placeholder(urls.index(p.url)), 1) if p.url else p.raw for p in pieces)
    expected = head + rewritten + (PIXEL_TAG + tail if in_body else PIXEL_TAG)
    assert tracked.html == expected
    # And nothing is wrapped twice: the rewritten document has no link left to track
    assert track_links(tracked.html).links == ()


# ---- per recipient: signed URLs and headers -----------------------------------------------------------------


class _Hrefs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.images: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "a" and values.get("href"):
            self.hrefs.append(str(values["href"]))
        if tag == "img" and values.get("src"):
            self.images.append(str(values["src"]))


def render(template: str, data: dict[str, str]) -> str:
    """What SES does with `{{name}}` placeholders (enough for these templates)."""
    for name, value in data.items():
        template = template.replace("{{" + name + "}}", value)
    return template


def test_a_rendered_email_links_each_click_to_its_url_through_a_signed_token_for_the_recipient() -> None:
    # Given the newsletter's tracked template
    tracked = track_links(NEWSLETTER)

    # When Ana's email is rendered with her data
    data, headers = recipient_links(tracked.links, SIGNING, "p-ana", "msg-1", SENT, "u1.p-ana.sig")
    rendered = _Hrefs()
    rendered.feed(render(tracked.html, {"firstName": "Ana", "profileUrl": "https://shop.example/me", **data}))

    # Then every http link goes through the click endpoint with a token naming Ana, the message and the link
    clicks = [h for h in rendered.hrefs if h.startswith(API + CLICK_PATH)]
    assert len(clicks) == 3
    tokens = [verify(h.removeprefix(API + CLICK_PATH), KEY, SENT, "click") for h in clicks]
    assert [t.url for t in tokens] == [tracked.links[0], tracked.links[1], tracked.links[0]]
    assert {(t.profile_id, t.message_id, t.issued_at) for t in tokens} == {("p-ana", "msg-1", SENT)}
    # And the other links are as written, the unsubscribe link is hers
    assert [h for h in rendered.hrefs if not h.startswith(API + CLICK_PATH)] == [
        "mailto:help@shop.example",
        "tel:+33123456789",
        "#top",
        "/relative",
        "https://shop.example/me",
        f"{API}{UNSUBSCRIBE_PATH}?token=u1.p-ana.sig",
    ]
    # And the open pixel carries an open token for her
    (pixel,) = [src for src in rendered.images if src.startswith(API + OPEN_PATH)]
    opened = verify(pixel.removeprefix(API + OPEN_PATH), KEY, SENT, "open")
    assert (opened.profile_id, opened.message_id, opened.url) == ("p-ana", "msg-1", None)
    # And the headers offer the one-click unsubscribe (RFC 8058)
    assert headers == [
        {"Name": "List-Unsubscribe", "Value": f"<{API}{UNSUBSCRIBE_PATH}?token=u1.p-ana.sig>"},
        {"Name": "List-Unsubscribe-Post", "Value": "List-Unsubscribe=One-Click"},
    ]


def test_without_an_unsubscribe_token_there_is_no_unsubscribe_url_and_no_header() -> None:
    data, headers = recipient_links(("https://x.example/",), SIGNING, "p-1", "m-1", SENT, None)
    assert set(data) == {"cxmOpenUrl", "cxmLink0"} and headers == []


def test_the_link_paths_are_the_routes_events_and_identity_serve() -> None:
    routes = {r.key for f in (*EVENTS.functions, *IDENTITY.functions) for r in f.routes}
    assert f"GET {CLICK_PATH}{{token}}" in routes
    assert f"GET {OPEN_PATH}{{token}}" in routes
    assert f"POST {UNSUBSCRIBE_PATH}" in routes
