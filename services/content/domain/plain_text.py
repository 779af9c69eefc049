"""The plain-text part of an email, produced from its rendered HTML with the standard library's parser."""

from __future__ import annotations

import re
from html.parser import HTMLParser

# Never shown to a reader: their text would be noise in the plain-text part.
_HIDDEN = frozenset({"head", "title", "style", "script", "noscript", "template", "svg"})
# A blank line before and after, like a paragraph.
_PARAGRAPHS = frozenset({"p", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "dl", "table", "blockquote", "pre", "hr"})
# A line break before and after.
_LINES = frozenset(
    {"div", "tr", "section", "article", "header", "footer", "main", "nav", "aside", "center", "dt", "dd", "address"}
)
# Layout cells sit side by side; a space keeps "Mon | 10am" on one line.
_CELLS = frozenset({"td", "th"})
# Preheader padding and zero-width joiners that email tools sprinkle in.
_INVISIBLE = re.compile("[\u200b\u200c\u200d\u034f\u00ad\ufeff]")
_SPACES = re.compile(r"[^\S\n]+")
_BLANK_LINES = re.compile(r"\n{4,}")
_QUIET_SCHEMES = ("#", "mailto:", "tel:", "sms:", "javascript:")


def html_to_text(html: str) -> str:
    """Readable plain text: block elements become line breaks, links `text (url)`, images their alt text."""
    parser = _TextParser()
    parser.feed(html)
    parser.close()
    return _tidy("".join(parser.out))


def _tidy(text: str) -> str:
    text = _SPACES.sub(" ", _INVISIBLE.sub("", text))
    lines = [line.strip() for line in text.split("\n")]
    return _BLANK_LINES.sub("\n\n\n", "\n".join(lines)).strip()


def _link_label(text: str, href: str) -> str:
    label = " ".join(text.split())
    if not href or href.lower().startswith(_QUIET_SCHEMES):
        # An anchor or an address already written out in the text: the url adds nothing.
        address = href.split(":", 1)[-1].split("?", 1)[0]
        if label or not address or href.startswith("#"):
            return text
        return address
    bare = re.sub(r"^[a-z][a-z0-9+.-]*://", "", href, flags=re.IGNORECASE).rstrip("/")
    if not label or label.rstrip("/") in (href.rstrip("/"), bare):
        return f" {href} "
    return f"{text} ({href})"


class _TextParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self._hidden: str | None = None
        self._hidden_depth = 0
        self._link: tuple[str, int] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._hidden is not None:
            self._hidden_depth += tag == self._hidden
            if self._hidden == "head" and tag == "body":  # an unclosed <head>
                self._hidden = None
            return
        if tag in _HIDDEN:
            self._hidden, self._hidden_depth = tag, 1
            return
        attributes = {name: value or "" for name, value in attrs}
        if tag == "br":
            self.out.append("\n")
        elif tag == "li":
            self._break(1)
            self.out.append("- ")
        elif tag == "img":
            alt = attributes.get("alt", "").strip()
            if alt:
                self.out.append(f" {alt} ")
        elif tag == "a":
            self._link = (attributes.get("href", "").strip(), len(self.out))
        else:
            self._block(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in ("br", "img", "hr"):
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if self._hidden is not None:
            if tag == self._hidden:
                self._hidden_depth -= 1
                if self._hidden_depth <= 0:
                    self._hidden = None
            return
        if tag == "a" and self._link is not None:
            href, start = self._link
            self._link = None
            text = "".join(self.out[start:])
            self.out[start:] = [_link_label(text, href)]
        elif tag == "li":
            self._break(1)
        else:
            self._block(tag)

    def handle_data(self, data: str) -> None:
        if self._hidden is None:
            # HTML collapses runs of whitespace, newlines included; line breaks come from the markup.
            self.out.append(re.sub(r"\s+", " ", data))

    def _block(self, tag: str) -> None:
        if tag in _PARAGRAPHS:
            self._break(2)
        elif tag in _LINES:
            self._break(1)
        elif tag in _CELLS:
            self.out.append(" ")

    def _break(self, newlines: int) -> None:
        """End the line: adjacent block edges share their line breaks rather than add them up."""
        tail = ""
        for chunk in reversed(self.out):
            tail = chunk + tail
            if tail.strip():
                break
        if not tail.strip():
            return  # nothing written yet
        trailing = tail[len(tail.rstrip()) :].count("\n")
        self.out.append("\n" * max(0, newlines - trailing))
