"""Email templates in Liquid: checked when saved, rendered per reader in a sandbox with size and time limits."""

from __future__ import annotations

import datetime as dt
import html as html_lib
import re
import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from liquid import BoundTemplate, DictLoader, Environment, Undefined
from liquid.builtin.filters.misc import date as liquid_date
from liquid.builtin.filters.string import replace as liquid_replace
from liquid.context import RenderContext as LiquidContext
from liquid.exceptions import (
    ContextDepthError,
    FilterArgumentError,
    LiquidError,
    LiquidTypeError,
    LocalNamespaceLimitError,
    LoopIterationLimitError,
    OutputStreamLimitError,
    ResourceLimitError,
)
from liquid.filter import with_context, with_environment
from liquid.output import LimitedStringIO
from liquid.span import Span
from pydantic import BaseModel, ConfigDict, Field

from services.content.domain.plain_text import html_to_text

SUBJECT_MAX_CHARS = 998  # RFC 5322 line length
PREHEADER_MAX_CHARS = 500
SOURCE_MAX_CHARS = 512 * 1024
OUTPUT_LIMIT_BYTES = 512 * 1024  # per part; Gmail clips messages above ~102 KB anyway
LOOP_ITERATION_LIMIT = 10_000  # across nested loops: a 100 x 100 grid is the most an email needs
LOCAL_NAMESPACE_LIMIT_BYTES = 1024 * 1024  # assign/capture; room to capture a whole part once
CONTEXT_DEPTH_LIMIT = 20
BLOCK_NESTING_LIMIT = 20
FILTER_INPUT_ITEMS_LIMIT = 50_000  # a list or range handed to a filter (join, sort, newest, ...)
RENDER_BUDGET_SECONDS = 0.25  # all parts of one message together
NEWEST_MAX_ITEMS = 50

Part = Literal["subject", "preheader", "html", "text"]
_PARTS: tuple[Part, ...] = ("subject", "preheader", "html", "text")
_SANDBOXED_TAGS = ("include", "render")  # they load other templates; an email is one self-contained document


class TemplateSource(BaseModel):
    """What a marketer saves: Liquid source for each part of the email."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    subject: str = Field(min_length=1, max_length=SUBJECT_MAX_CHARS)
    html: str = Field(min_length=1, max_length=SOURCE_MAX_CHARS)
    text: str | None = Field(
        default=None,
        max_length=SOURCE_MAX_CHARS,
        description="The plain-text part; none: produced from the rendered HTML.",
    )
    preheader: str | None = Field(
        default=None,
        max_length=PREHEADER_MAX_CHARS,
        description="Inbox preview text, added to the HTML body as a hidden first element.",
    )


@dataclass(frozen=True)
class TemplateFault:
    """One problem found when saving: which part, where (1-based line and column), and what."""

    field: Part
    line: int
    column: int
    message: str


class TemplateErrors(ValueError):
    """A template that cannot be saved; `faults` lists a problem for each part that has one."""

    def __init__(self, faults: Sequence[TemplateFault]) -> None:
        self.faults = list(faults)
        super().__init__("; ".join(f"{f.field} {f.line}:{f.column} {f.message}" for f in self.faults))


class RenderFailed(RuntimeError):
    """A message that could not be rendered for one reader. `reason` names the part and position, never values."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True)
class CompiledTemplate:
    """Parsed parts, ready to render for many readers."""

    subject: BoundTemplate
    html: BoundTemplate
    text: BoundTemplate | None = None
    preheader: BoundTemplate | None = None


@dataclass(frozen=True)
class Reader:
    """What we know about the person reading: their segment memberships, questionnaire answers, scores and tiers."""

    known: bool = False
    segments: Sequence[str] = ()  # segment ids and questionnaire segment keys; "neutral" for a neutral pool
    questionnaires: Mapping[str, str | None] = field(default_factory=dict)  # questionnaire id -> segment key
    scores: Mapping[str, float] = field(default_factory=dict)  # scoring plan id -> score
    tiers: Mapping[str, str] = field(default_factory=dict)  # scoring plan id -> tier


@dataclass(frozen=True)
class RenderContext:
    """Everything a template may see for one reader. `extra` holds journey/message variables (top-level names)."""

    profile: Mapping[str, Any]
    reader: Reader
    now: dt.datetime
    catalogue: Sequence[Mapping[str, Any]] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.now.tzinfo is None:
            raise ValueError("now must be timezone-aware")


@dataclass(frozen=True)
class Rendered:
    """One reader's message: a one-line subject, the HTML (with the hidden preheader) and the plain-text part."""

    subject: str
    html: str
    text: str
    preheader: str = ""


# --- the sandbox -------------------------------------------------------------------------------------------


class RenderBudgetExceeded(ResourceLimitError):
    """The render took longer than its wall-clock budget."""


class ValueTooLarge(ResourceLimitError):
    """A filter was handed, or would produce, a value beyond the output limit."""


class _Checkpoint(Collection[str]):
    """An always-empty list of disabled tags whose truthiness checks the clock.

    python-liquid asks `if context.disabled_tags:` before rendering every node (text, output, tag, loop body),
    so this is a checkpoint on each step of the render without patching any of its tags.
    """

    def __init__(self, deadline: float, clock: Callable[[], float]) -> None:
        self._deadline = deadline
        self._clock = clock

    def check(self) -> None:
        if self._clock() > self._deadline:
            raise RenderBudgetExceeded("render time budget exceeded", token=None)

    def __bool__(self) -> bool:
        self.check()
        return False

    def __len__(self) -> int:
        return 0

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __contains__(self, item: object) -> bool:
        return False


class _BudgetedContext(LiquidContext):
    __slots__ = ("checkpoint",)

    def __init__(self, template: BoundTemplate, *, checkpoint: _Checkpoint, **kwargs: Any) -> None:
        super().__init__(template, **kwargs)
        self.checkpoint = checkpoint
        self.disabled_tags = checkpoint  # type: ignore[assignment]

    def copy(self, *args: Any, **kwargs: Any) -> LiquidContext:  # pragma: no cover - include/render are removed
        raise ContextDepthError("templates cannot render other templates", token=None)

    def filter(self, name: str, token: Any) -> Callable[..., object]:
        func = super().filter(name, token)
        checkpoint = self.checkpoint

        def guarded(value: object, *args: object, **kwargs: object) -> object:
            # One filter call over a huge range can run for seconds between two node checkpoints.
            checkpoint.check()
            for argument in (value, *args, *kwargs.values()):
                _refuse_oversized(argument)
            return func(value, *args, **kwargs)

        return guarded


def _refuse_oversized(value: object) -> None:
    if isinstance(value, str):
        if len(value) > OUTPUT_LIMIT_BYTES:
            raise ValueTooLarge("value too large for a filter", token=None)
    elif isinstance(value, (list, tuple, range, dict)) and len(value) > FILTER_INPUT_ITEMS_LIMIT:
        raise ValueTooLarge("value too large for a filter", token=None)


class _Sandbox(Environment):
    """Liquid for email: no file loader, no include/render, unknown filters refused, resources bounded.

    Undefined variables render as empty text and are falsy, as in Shopify and Braze Liquid, so
    `{{ profile.firstName | default: "there" }}` is how a marketer writes a fallback.
    """

    loop_iteration_limit = LOOP_ITERATION_LIMIT
    output_stream_limit = OUTPUT_LIMIT_BYTES
    local_namespace_limit = LOCAL_NAMESPACE_LIMIT_BYTES
    context_depth_limit = CONTEXT_DEPTH_LIMIT
    block_nesting_limit = BLOCK_NESTING_LIMIT

    def __init__(self, *, autoescape: bool) -> None:
        super().__init__(loader=DictLoader({}), undefined=Undefined, strict_filters=True, autoescape=autoescape)
        for tag in _SANDBOXED_TAGS:
            del self.tags[tag]
        self.add_filter("newest", _newest)
        self.add_filter("date", _date)
        self.add_filter("replace", _replace)


# --- filters -----------------------------------------------------------------------------------------------


@with_context
@with_environment
def _date(value: object, fmt: object, *, context: LiquidContext, environment: Environment) -> str:
    """Liquid's `date`, with "now"/"today" meaning the render's clock rather than the server's."""
    if isinstance(value, str) and value in ("now", "today"):
        value = context.globals.get("now", value)
    return str(liquid_date(value, fmt, environment=environment))


def _replace(value: object, old: object = "", new: object = "") -> object:
    """Liquid's `replace`, refused before it builds a string past the output limit (`replace: "", big`)."""
    if isinstance(value, str) and isinstance(old, str) and isinstance(new, str):
        count = len(value) + 1 if old == "" else value.count(old)
        if len(value) + count * (len(new) - len(old)) > OUTPUT_LIMIT_BYTES:
            raise ValueTooLarge("replace would produce a value too large", token=None)
    return liquid_replace(value, old, new)


@with_context
def _newest(
    items: object,
    count: object = 3,
    *,
    context: LiquidContext,
    type: object = None,  # the Liquid keyword marketers write
    topic: object = None,
    locale: object = None,
    segment: object = None,
    for_reader: object = False,
) -> list[dict[str, Any]]:
    """`catalogue | newest: 3, type: "recipe", for_reader: true`: see `newest_items`."""
    try:
        wanted = int(count)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        raise FilterArgumentError("newest: the count must be a number", token=None) from None
    reader = context.globals.get("reader")
    segments = reader.get("segments", []) if isinstance(reader, Mapping) else []
    now = context.globals.get("now")
    if not isinstance(now, dt.datetime):
        raise LiquidTypeError("newest: no clock in the render context", token=None)
    return newest_items(
        items if isinstance(items, Sequence) and not isinstance(items, str) else [],
        wanted,
        now=now,
        reader_segments=segments,
        item_type=_text_or_none(type),
        topic=_text_or_none(topic),
        locale=_text_or_none(locale),
        segment=_text_or_none(segment),
        for_reader=for_reader is True,
    )


def _text_or_none(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def newest_items(
    catalogue: Sequence[object],
    count: int,
    *,
    now: dt.datetime,
    reader_segments: Collection[str] = (),
    item_type: str | None = None,
    topic: str | None = None,
    locale: str | None = None,
    segment: str | None = None,
    for_reader: bool = False,
) -> list[dict[str, Any]]:
    """The newest published items matching the criteria, newest first.

    `for_reader`: items targeted at one of the reader's segments come first; items for everyone (no
    `segments`) fill the remaining places, so a reader in no targeted segment (e.g. "neutral") gets the
    generic items. Items targeted only at other segments are never picked. Items dated after `now`, or
    without a readable `publishedAt`, are never picked.
    """
    count = max(0, min(count, NEWEST_MAX_ITEMS))
    dated = []
    for item in catalogue:
        if not isinstance(item, Mapping):
            continue
        published = _published_at(item.get("publishedAt"))
        if published is None or published > now:
            continue
        if not _matches(item, item_type=item_type, topic=topic, locale=locale, segment=segment):
            continue
        dated.append((published, str(item.get("id", "")), item))
    dated.sort(key=lambda entry: (entry[0], entry[1]), reverse=True)
    if not for_reader:
        picks = dated[:count]
    else:
        mine = set(reader_segments)
        targeted = [entry for entry in dated if mine.intersection(_strings(entry[2].get("segments")))]
        generic = [entry for entry in dated if not _strings(entry[2].get("segments"))]
        picks = sorted((targeted[:count] + generic)[:count], key=lambda entry: (entry[0], entry[1]), reverse=True)
    return [dict(entry[2]) for entry in picks]


def _matches(
    item: Mapping[str, Any], *, item_type: str | None, topic: str | None, locale: str | None, segment: str | None
) -> bool:
    if item_type and str(item.get("type", "")).casefold() != item_type.casefold():
        return False
    if topic and topic.casefold() not in {t.casefold() for t in _strings(item.get("topics"))}:
        return False
    if locale:
        language = str(item.get("locale", "")).casefold().replace("_", "-")
        wanted = locale.casefold().replace("_", "-")
        if language != wanted and not language.startswith(wanted + "-"):
            return False
    return not segment or segment in _strings(item.get("segments"))


def _strings(value: object) -> list[str]:
    if isinstance(value, (list, tuple)):
        return [v for v in value if isinstance(v, str)]
    return []


def _published_at(value: object) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = dt.datetime.fromisoformat(value)
        except ValueError:
            return None
    else:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


_HTML = _Sandbox(autoescape=True)  # a trait such as "<b>Ann</b>" is shown, never interpreted, in the HTML part
_PLAIN = _Sandbox(autoescape=False)  # subject, preheader and text are not HTML


# --- compile -----------------------------------------------------------------------------------------------


def compile_template(source: TemplateSource) -> CompiledTemplate:
    """Parse every part; raise `TemplateErrors` listing the first syntax error and every unknown filter per part."""
    faults: list[TemplateFault] = []
    parsed: dict[Part, BoundTemplate] = {}
    for part in _PARTS:
        text = getattr(source, part)
        if text is None:
            continue
        env = _HTML if part == "html" else _PLAIN
        try:
            parsed[part] = env.from_string(text, name=part)
        except LiquidError as err:
            faults.append(_syntax_fault(part, text, err, env))
            continue
        faults.extend(_unknown_filters(part, text, parsed[part], env))
    if faults:
        raise TemplateErrors(faults)
    return CompiledTemplate(
        subject=parsed["subject"], html=parsed["html"], text=parsed.get("text"), preheader=parsed.get("preheader")
    )


def _syntax_fault(part: Part, source: str, err: LiquidError, env: Environment) -> TemplateFault:
    located = err.context()
    if located is not None:
        line, column = located[0], located[1] + 1
        return TemplateFault(part, line, column, _friendly(str(err.message)))
    unclosed = _unclosed_block(source, env)
    if unclosed is not None:
        name, index = unclosed
        line, column = _line_column(source, max(source.rfind("{%", 0, index), 0))
        return TemplateFault(part, line, column, f"'{{% {name} %}}' is never closed: add {{% end{name} %}}")
    line, column = _line_column(source, max(len(source) - 1, 0))
    return TemplateFault(part, line, column, _friendly(str(err.message)))


def _friendly(message: str) -> str:
    for tag in _SANDBOXED_TAGS:
        if message == f"unexpected tag '{tag}'":
            return f"'{tag}' is not available in email templates: a template cannot load other templates"
    return message


def _unclosed_block(source: str, env: Environment) -> tuple[str, int] | None:
    """The innermost block tag left open at the end of the source, and where it starts."""
    openers = {name for name, tag in env.tags.items() if tag.block and tag.end}
    stack: list[tuple[str, int]] = []
    try:
        for token in env.tokenizer()(source):
            if token.kind != "tag":
                continue
            if token.value in openers:
                stack.append((token.value, token.start_index))
            elif token.value.startswith("end") and stack and stack[-1][0] == token.value[3:]:
                stack.pop()
    except LiquidError:
        return None
    return stack[-1] if stack else None


def _unknown_filters(part: Part, source: str, template: BoundTemplate, env: Environment) -> list[TemplateFault]:
    found = template.analyze(include_partials=False).filters
    faults = []
    for name, spans in found.items():
        if name in env.filters:
            continue
        for span in spans:
            line, column = _span_position(span, source)
            faults.append(TemplateFault(part, line, column, f"unknown filter '{name}'"))
    return sorted(faults, key=lambda f: (f.line, f.column))


def _span_position(span: Span, source: str) -> tuple[int, int]:
    line, column = span.line_col(source)
    return line, column + 1


def _line_column(source: str, index: int) -> tuple[int, int]:
    before = source[:index]
    return before.count("\n") + 1, index - (before.rfind("\n") + 1) + 1


# --- render ------------------------------------------------------------------------------------------------


def render(
    compiled: CompiledTemplate,
    context: RenderContext,
    *,
    budget_seconds: float = RENDER_BUDGET_SECONDS,
    clock: Callable[[], float] = time.monotonic,
) -> Rendered:
    """Render every part for one reader; raise `RenderFailed` past a limit or on a render error.

    The text part is the written one, or produced from the rendered HTML. The subject and preheader are
    single lines. The preheader is added to the HTML as a hidden first element of the body.
    """
    checkpoint = _Checkpoint(clock() + budget_seconds, clock)
    variables = template_variables(context)
    html = _render_part("html", compiled.html, variables, checkpoint)
    subject = " ".join(_render_part("subject", compiled.subject, variables, checkpoint).split())
    if len(subject) > SUBJECT_MAX_CHARS:
        raise RenderFailed(f"subject: renders longer than {SUBJECT_MAX_CHARS} characters")
    preheader = ""
    if compiled.preheader is not None:
        preheader = " ".join(_render_part("preheader", compiled.preheader, variables, checkpoint).split())
    if compiled.text is not None:
        text = _render_part("text", compiled.text, variables, checkpoint).strip()
    else:
        text = html_to_text(html)
    return Rendered(subject=subject, html=_with_preheader(html, preheader), text=text, preheader=preheader)


def template_variables(context: RenderContext) -> dict[str, object]:
    """The top-level names a template sees, as plain JSON-like values (no object a template could walk)."""
    reader = context.reader
    reserved: dict[str, object] = {
        "profile": _plain(context.profile),
        "reader": {
            "known": reader.known,
            "segments": [s for s in reader.segments if isinstance(s, str)],
            "questionnaires": _plain(reader.questionnaires),
            "scores": _plain(reader.scores),
            "tiers": _plain(reader.tiers),
        },
        "catalogue": [_plain(item) for item in context.catalogue if isinstance(item, Mapping)],
        "now": context.now,
        "today": context.now.date(),
    }
    extra = {str(name): _plain(value) for name, value in context.extra.items()}
    return {**extra, **reserved}


def _plain(value: object, depth: int = 0) -> Any:
    if depth > CONTEXT_DEPTH_LIMIT:
        return None
    if value is None or isinstance(value, (str, bool, int, float, dt.datetime, dt.date)):
        return value
    if isinstance(value, Decimal):  # DynamoDB numbers
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, Mapping):
        return {str(k): _plain(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_plain(v, depth + 1) for v in value]
    return None


def _render_part(part: Part, template: BoundTemplate, variables: Mapping[str, object], checkpoint: _Checkpoint) -> str:
    buffer = LimitedStringIO(limit=OUTPUT_LIMIT_BYTES)
    context = _BudgetedContext(template, globals=template.make_globals(variables), checkpoint=checkpoint)
    try:
        template.render_with_context(context, buffer)
    except LiquidError as err:
        raise RenderFailed(_reason(part, err)) from None
    except (TypeError, ValueError, ArithmeticError, RecursionError) as err:
        raise RenderFailed(f"{part}: could not be rendered ({type(err).__name__})") from None
    return buffer.getvalue()


_REASONS: tuple[tuple[type[LiquidError], str], ...] = (
    (RenderBudgetExceeded, "took longer than its render time budget"),
    (LoopIterationLimitError, f"loops ran more than {LOOP_ITERATION_LIMIT} iterations"),
    (OutputStreamLimitError, f"output larger than {OUTPUT_LIMIT_BYTES // 1024} KB"),
    (LocalNamespaceLimitError, f"assigned variables larger than {LOCAL_NAMESPACE_LIMIT_BYTES // 1024} KB"),
    (ValueTooLarge, "a filter was given or would make a value too large"),
    (ContextDepthError, "blocks nested too deeply"),
    (FilterArgumentError, "a filter was given arguments it cannot use"),
    (LiquidTypeError, "a value had the wrong type for its filter or comparison"),
)


def _reason(part: Part, err: LiquidError) -> str:
    # Liquid's own messages can quote values (a reader's traits); keep only the kind of error and its position.
    what = next(
        (text for kind, text in _REASONS if isinstance(err, kind)), f"could not be rendered ({type(err).__name__})"
    )
    located = err.context()
    if located is None:
        return f"{part}: {what}"
    return f"{part}, line {located[0]}, column {located[1] + 1}: {what}"


_BODY = re.compile(r"<body\b[^>]*>", re.IGNORECASE)


def _with_preheader(html: str, preheader: str) -> str:
    if not preheader:
        return html
    hidden = (
        '<div style="display:none;max-height:0;overflow:hidden;mso-hide:all;">'
        f"{html_lib.escape(preheader, quote=False)}</div>"
    )
    body = _BODY.search(html)
    if body is None:
        return hidden + html
    return html[: body.end()] + hidden + html[body.end() :]
