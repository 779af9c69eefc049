"""The journey definition format (entry, nodes, typed edges, exits) and its validation on save. Pure."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

MAX_WAIT_SECONDS = 365 * 86400  # a Standard workflow runs for at most a year
MAX_NODES = 500  # Step Functions allows 10,000 states a machine; a node compiles to at most 4
NODE_ID = r"^[A-Za-z][A-Za-z0-9_-]{0,63}$"
TEMPLATE_ID = r"^[A-Za-z0-9_-]{1,100}$"  # content's slugs
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
EMAIL_EVENTS = ("Email Opened", "Email Link Clicked")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


# ---- conditions: one small language for entry audiences, condition nodes and event filters ----
Op = Literal["equals", "notEquals", "gt", "gte", "lt", "lte", "in", "contains", "startsWith", "exists", "notExists"]


class PropertyFilter(_Model):
    """`properties.<property> <op> <value>` of an event (dots reach into nested objects)."""

    property: str = Field(min_length=1, max_length=200)
    op: Op = "equals"
    value: Any = None


class TraitIs(_Model):
    trait: str = Field(min_length=1, max_length=200)
    op: Op = "equals"
    value: Any = None


class InSegment(_Model):
    segment: str = Field(min_length=1, max_length=100)
    member: bool = True


class ScoreIs(_Model):
    plan: str = Field(min_length=1, max_length=100)
    op: Literal["gt", "gte", "lt", "lte", "equals"] = "gte"
    value: float | None = None
    tier: str | None = Field(default=None, max_length=100, description="Compare the plan's tier instead of points.")


class HasConsent(_Model):
    consent: Literal["email_marketing", "personalisation", "tracking"]
    granted: bool = True


RunFact = Literal["opened", "clicked", "returned", "purchased"]


class RunHappened(_Model):
    """What happened inside this run: `opened`/`clicked` an email node's message (human only), `returned` to the
    site or `purchased` (Order Completed) since entry."""

    happened: RunFact
    message: str | None = Field(default=None, description="For opened/clicked: the email node's id.")


class AllOf(_Model):
    all: list[Condition] = Field(min_length=1, max_length=50)


class AnyOf(_Model):
    any: list[Condition] = Field(min_length=1, max_length=50)


class NotOf(_Model):
    not_: Condition = Field(alias="not")


_CONDITION_KEYS = (
    ("all", AllOf),
    ("any", AnyOf),
    ("not", NotOf),
    ("trait", TraitIs),
    ("segment", InSegment),
    ("plan", ScoreIs),
    ("consent", HasConsent),
    ("happened", RunHappened),
)
CONDITION_TAGS = tuple(cls.__name__ for _, cls in _CONDITION_KEYS)


def _condition_tag(value: Any) -> str | None:
    """Which kind of condition a document is, by the key it names (one error for a bad one, not eight)."""
    if isinstance(value, dict):
        return next((cls.__name__ for key, cls in _CONDITION_KEYS if key in value), None)
    return type(value).__name__ if type(value).__name__ in CONDITION_TAGS else None


Condition = Annotated[
    Annotated[TraitIs, Tag("TraitIs")]
    | Annotated[InSegment, Tag("InSegment")]
    | Annotated[ScoreIs, Tag("ScoreIs")]
    | Annotated[HasConsent, Tag("HasConsent")]
    | Annotated[RunHappened, Tag("RunHappened")]
    | Annotated[AllOf, Tag("AllOf")]
    | Annotated[AnyOf, Tag("AnyOf")]
    | Annotated[NotOf, Tag("NotOf")],
    Discriminator(
        _condition_tag,
        custom_error_type="condition",
        custom_error_message="a condition names one of: trait, segment, plan, consent, happened, all, any, not",
    ),
]
AllOf.model_rebuild()
AnyOf.model_rebuild()
NotOf.model_rebuild()


class EventMatch(_Model):
    """A collected event by name, with optional property filters."""

    event: str = Field(min_length=1, max_length=200)
    where: list[PropertyFilter] = Field(default_factory=list, max_length=20)


# ---- entry ----
class ScoreCrossing(_Model):
    plan_id: str = Field(alias="planId", min_length=1, max_length=100)
    tier: str = Field(min_length=1, max_length=100)
    direction: Literal["up", "down"] = "up"


class TraitChange(_Model):
    trait: str = Field(min_length=1, max_length=200)
    to: Any = Field(default=None, description="Only when the trait became this value; omitted: any change.")


class TraitDate(_Model):
    trait: str = Field(min_length=1, max_length=200, description="A trait holding an ISO date, e.g. birthday.")
    offset_days: int = Field(default=0, alias="offsetDays", ge=-366, le=366)
    yearly: bool = Field(default=False, description="Every year on the date (birthdays, anniversaries).")


class Trigger(_Model):
    """Exactly one of the trigger kinds."""

    event: EventMatch | None = None
    segment_entered: str | None = Field(default=None, alias="segmentEntered", min_length=1, max_length=100)
    segment_exited: str | None = Field(default=None, alias="segmentExited", min_length=1, max_length=100)
    score_threshold_crossed: ScoreCrossing | None = Field(default=None, alias="scoreThresholdCrossed")
    trait_changed: TraitChange | None = Field(default=None, alias="traitChanged")
    trait_date: TraitDate | None = Field(default=None, alias="traitDate")
    api: bool | None = Field(default=None, description="Profiles enrolled by `POST /v1/journeys/{id}/enrol`.")

    @model_validator(mode="after")
    def _one(self) -> Trigger:
        chosen = [k for k, v in self.model_dump(exclude_none=True).items() if v is not None and v is not False]
        if len(chosen) != 1:
            raise ValueError(
                "a trigger names exactly one of: event, segmentEntered, segmentExited, "
                "scoreThresholdCrossed, traitChanged, traitDate, api"
            )
        return self

    @property
    def kind(self) -> str:
        return next(k for k, v in self.model_dump(exclude_none=True).items() if v is not None)


class AfterDays(_Model):
    after_days: int = Field(alias="afterDays", ge=1, le=3650)


class Entry(_Model):
    trigger: Trigger
    audience: Condition | None = Field(default=None, description="Checked at entry; others do not enter.")
    reentry: Literal["once", "whenNotInside"] | AfterDays = Field(
        default="once",
        description="once ever; again after N days; or whenever not already inside. Never two runs at once.",
    )


# ---- nodes ----
class _Node(_Model):
    id: str = Field(pattern=NODE_ID)
    name: str = Field(default="", max_length=200)


class LocalTime(_Model):
    time: dt.time
    weekdays: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] = Field(default_factory=list)


class TraitOffset(_Model):
    trait: str = Field(min_length=1, max_length=200)
    offset_seconds: int = Field(default=0, alias="offsetSeconds", ge=-MAX_WAIT_SECONDS, le=MAX_WAIT_SECONDS)


class WaitNode(_Node):
    """Exactly one of: `seconds`, `until` (a date), `untilTrait` (a trait's date + offset), `localTime` (the next
    time of day, on given weekdays, in the profile's own time zone)."""

    type: Literal["wait"]
    seconds: int | None = Field(default=None, ge=1, le=MAX_WAIT_SECONDS)
    until: dt.datetime | None = None
    until_trait: TraitOffset | None = Field(default=None, alias="untilTrait")
    local_time: LocalTime | None = Field(default=None, alias="localTime")
    next: str | None = None

    @model_validator(mode="after")
    def _one(self) -> WaitNode:
        given = [x for x in (self.seconds, self.until, self.until_trait, self.local_time) if x is not None]
        if len(given) != 1:
            raise ValueError("a wait names exactly one of: seconds, until, untilTrait, localTime")
        if self.until is not None and self.until.tzinfo is None:
            raise ValueError("until needs a time zone offset (e.g. 2026-12-24T09:00:00Z)")
        return self


class EventBranch(EventMatch):
    message: str | None = Field(default=None, description="Email opens/clicks of this email node's message only.")
    next: str | None = None


class WaitForEventNode(_Node):
    type: Literal["waitForEvent"]
    branches: list[EventBranch] = Field(min_length=1, max_length=10)
    timeout_seconds: int = Field(alias="timeoutSeconds", ge=1, le=MAX_WAIT_SECONDS)
    timeout_next: str | None = Field(default=None, alias="timeoutNext")


class ConditionBranch(_Model):
    condition: Condition
    next: str | None = None


class ConditionNode(_Node):
    type: Literal["condition"]
    branches: list[ConditionBranch] = Field(min_length=1, max_length=10)
    else_next: str | None = Field(default=None, alias="elseNext")


class SplitBranch(_Model):
    percent: float = Field(gt=0, le=100)
    next: str | None = None


class SplitNode(_Node):
    """Random split: deterministic per profile and journey."""

    type: Literal["split"]
    branches: list[SplitBranch] = Field(min_length=2, max_length=10)

    @model_validator(mode="after")
    def _hundred(self) -> SplitNode:
        if abs(sum(b.percent for b in self.branches) - 100) > 1e-6:
            raise ValueError("the branches' percentages must add up to 100")
        return self


class HoldoutNode(_Node):
    """A control group that gets nothing: `percent` of profiles leave here and are counted for conversion."""

    type: Literal["holdout"]
    percent: float = Field(gt=0, lt=100)
    next: str | None = None


class _Action(_Node):
    next: str | None = None
    on_failure: str | None = Field(
        default=None, alias="onFailure", description="Where a failed send goes; omitted: the run ends as failed."
    )


class EmailNode(_Action):
    """Either a content email template (`template`: content renders it with Liquid at send time, for the profile,
    with `variables`) or inline content (`subject` + `html`, optional `text`: SES/Handlebars placeholders,
    `{{firstName}}` and other traits). Either way links are tracked and `unsubscribeUrl` is the one-click
    unsubscribe link."""

    type: Literal["email"]
    template: str | None = Field(
        default=None, pattern=TEMPLATE_ID, description="A content email template's id (instead of subject/html)."
    )
    variables: dict[str, str | int | float | bool] | None = Field(
        default=None, max_length=50, description="Values passed to the content template (template nodes only)."
    )
    # validated even when omitted: exactly one of `template` or inline content, each error on its field
    subject: str | None = Field(default=None, min_length=1, max_length=500, validate_default=True)
    html: str | None = Field(default=None, min_length=1, max_length=200_000, validate_default=True)
    text: str | None = Field(default=None, max_length=200_000, validate_default=True)
    transactional: bool = Field(default=False, description="Not marketing: no consent, cap or quiet hours check.")

    @field_validator("variables")
    @classmethod
    def _for_a_template(
        cls, value: dict[str, str | int | float | bool] | None, info: ValidationInfo
    ) -> dict[str, str | int | float | bool] | None:
        if value and "template" in info.data and info.data["template"] is None:
            raise ValueError("variables are passed to a content template: name one in template")
        for name, given in (value or {}).items():
            if not 1 <= len(name) <= 100:
                raise ValueError("a variable's name has 1 to 100 characters")
            if isinstance(given, str) and len(given) > 2000:
                raise ValueError(f"variable {name!r} is longer than 2000 characters")
        return value

    @field_validator("subject", "html")
    @classmethod
    def _inline_or_template(cls, value: str | None, info: ValidationInfo) -> str | None:
        if "template" not in info.data:  # the template id itself was refused: one error is enough
            return value
        if info.data["template"] is not None:
            if value is not None:
                raise ValueError(f"an email node has either a template or inline content: drop {info.field_name}")
            return None
        if value is None:
            raise ValueError(f"an email node needs {info.field_name} (inline content: subject and html) or a template")
        return balanced(value)

    @field_validator("text")
    @classmethod
    def _text_is_inline(cls, value: str | None, info: ValidationInfo) -> str | None:
        if info.data.get("template") is not None:
            if value:
                raise ValueError("an email node has either a template or inline content: drop text")
            return None
        return balanced(value or "")

    @property
    def renders_template(self) -> bool:
        """Content renders this email at send time (no SES template, no links known at publish)."""
        return self.template is not None


class SmsNode(_Action):
    type: Literal["sms"]
    text: str = Field(min_length=1, max_length=1600)
    transactional: bool = False

    @field_validator("text")
    @classmethod
    def _balanced(cls, value: str) -> str:
        return balanced(value)


class WebhookNode(_Action):
    """HTTPS POST of the profile and the run's context, signed (HMAC-SHA256 with the webhook's secret)."""

    type: Literal["webhook"]
    url: str = Field(min_length=8, max_length=2000)
    secret: str | None = Field(default=None, min_length=16, max_length=200, description="Generated when omitted.")


class UpdateProfileNode(_Action):
    """Set or clear traits, add or remove tags, record consent decisions (identity applies it: the owner of traits
    and consent; a consent decision is recorded with the source `journey:<id>` and published as ConsentChanged)."""

    type: Literal["updateProfile"]
    set: dict[str, str | int | float | bool] = Field(default_factory=dict, max_length=50)
    remove: list[str] = Field(default_factory=list, max_length=50)
    add_tags: list[str] = Field(default_factory=list, alias="addTags", max_length=50)
    remove_tags: list[str] = Field(default_factory=list, alias="removeTags", max_length=50)
    consent: dict[Literal["tracking", "email_marketing", "personalisation"], bool] = Field(
        default_factory=dict,
        description='Consent decisions, e.g. {"email_marketing": false} when a contact lapses.',
    )

    @model_validator(mode="after")
    def _something(self) -> UpdateProfileNode:
        if not (self.set or self.remove or self.add_tags or self.remove_tags or self.consent):
            raise ValueError("an updateProfile node sets, removes, adds or removes something, or records consent")
        return self


class AddScoreNode(_Action):
    """Points in a scoring plan (segments applies them: the owner of scores; tiers and thresholds follow)."""

    type: Literal["addScore"]
    plan_id: str = Field(alias="planId", min_length=1, max_length=100)
    points: float = Field(ge=-10_000, le=10_000)

    @field_validator("points")
    @classmethod
    def _not_zero(cls, value: float) -> float:
        if value == 0:
            raise ValueError("points must not be 0")
        return value


class PublishEventNode(_Action):
    """A custom event on the platform's bus (`JourneyEventPublished`), for any consumer."""

    type: Literal["publishEvent"]
    event: str = Field(min_length=1, max_length=200)
    properties: dict[str, Any] = Field(default_factory=dict)


class ClaimCodeNode(_Action):
    """Claims one code of a coupon pool for the profile (one per profile and journey: a retry or a second visit
    gets the same code) and keeps it on the run, as `couponCode` for later emails. An empty pool takes `onEmpty`;
    without it the node fails (`onFailure`, else the run fails with reason "pool empty")."""

    type: Literal["claimCode"]
    pool: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$", description="The coupon pool's id.")
    on_empty: str | None = Field(default=None, alias="onEmpty", description="Where a run goes when the pool is empty.")


class ExitNode(_Node):
    type: Literal["exit"]


Node = Annotated[
    WaitNode
    | WaitForEventNode
    | ConditionNode
    | SplitNode
    | HoldoutNode
    | EmailNode
    | SmsNode
    | WebhookNode
    | UpdateProfileNode
    | AddScoreNode
    | PublishEventNode
    | ClaimCodeNode
    | ExitNode,
    Field(discriminator="type"),
]
ACTIONS = (EmailNode, SmsNode, WebhookNode, UpdateProfileNode, AddScoreNode, PublishEventNode, ClaimCodeNode)
ACTION_TYPES = frozenset(("email", "sms", "webhook", "updateProfile", "addScore", "publishEvent", "claimCode"))


class Delivery(_Model):
    """Delivery rules of this journey's messages (checked at the moment of sending)."""

    over_cap: Literal["wait", "skip"] = Field(default="wait", alias="overCap")
    quiet_hours: QuietWindow | None = Field(default=None, alias="quietHours")
    default_time_zone: str = Field(default="UTC", alias="defaultTimeZone", max_length=64)


class QuietWindow(_Model):
    start: dt.time
    end: dt.time


Delivery.model_rebuild()


class JourneyDefinition(_Model):
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=2000)
    entry: Entry
    start: str = Field(pattern=NODE_ID)
    nodes: list[Node] = Field(min_length=1, max_length=MAX_NODES)
    goal: EventMatch | None = Field(default=None, description="Ends the run wherever it is; counted as conversion.")
    exit_on_segment_exit: list[str] = Field(default_factory=list, alias="exitOnSegmentExit", max_length=10)
    delivery: Delivery = Field(default_factory=Delivery)


def balanced(value: str) -> str:
    """Every `{{` is closed by `}}` before the next one opens (SES would refuse it only at send time)."""
    expect_open = True
    for token in re.findall(r"\{\{|\}\}", value):
        if (token == "{{") != expect_open:
            raise ValueError("unbalanced {{ }} placeholders")
        expect_open = not expect_open
    if not expect_open:
        raise ValueError("unbalanced {{ }} placeholders")
    return value


# ---- the walking skeleton's shape, still accepted: segment entered → wait → email ----
class _LegacyTrigger(_Model):
    segment_entered: str = Field(alias="segmentEntered", min_length=1, max_length=100)


class _LegacyEmail(_Model):
    subject: str = Field(min_length=1, max_length=500)
    html: str = Field(min_length=1, max_length=200_000)
    text: str = Field(default="", max_length=200_000)

    @field_validator("subject", "html", "text")
    @classmethod
    def _balanced(cls, value: str) -> str:
        return balanced(value)


class LegacyJourney(_Model):
    name: str = Field(min_length=1, max_length=200)
    trigger: _LegacyTrigger
    wait_seconds: int = Field(alias="waitSeconds", ge=0, le=MAX_WAIT_SECONDS)
    email: _LegacyEmail


def from_legacy(legacy: dict[str, Any]) -> dict[str, Any]:
    """`{name, trigger: {segmentEntered}, waitSeconds, email}` as a graph document."""
    model = LegacyJourney.model_validate(legacy)
    email = {"id": "email", "type": "email", **model.email.model_dump()}
    nodes: list[dict[str, Any]] = [email]
    start = "email"
    if model.wait_seconds:
        nodes.insert(0, {"id": "wait", "type": "wait", "seconds": model.wait_seconds, "next": "email"})
        start = "wait"
    return {
        "name": model.name,
        "entry": {"trigger": {"segmentEntered": model.trigger.segment_entered}},
        "start": start,
        "nodes": nodes,
    }


# ---- validation of the whole graph ----
class DefinitionError(ValueError):
    """Refusals, each naming its path in the document (`nodes[3].branches[1].condition`)."""

    def __init__(self, errors: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{p}: {m}" for p, m in errors))
        self.errors = errors


NODE_TYPES = (
    "wait",
    "waitForEvent",
    "condition",
    "split",
    "holdout",
    "email",
    "sms",
    "webhook",
    "updateProfile",
    "addScore",
    "publishEvent",
    "claimCode",
    "exit",
)


def _path(loc: tuple[Any, ...]) -> str:
    """A pydantic error location as a document path: `nodes[3].branches[1].condition`. The union tags pydantic
    adds (a node's type right after `nodes[i]`, a condition's kind) are not fields and are left out."""
    out = ""
    parts = list(loc)
    for index, part in enumerate(parts):
        if isinstance(part, int):
            out += f"[{part}]"
            continue
        after_node = index >= 2 and parts[index - 2] == "nodes" and isinstance(parts[index - 1], int)
        if (after_node and part in NODE_TYPES) or part in CONDITION_TAGS or str(part).startswith("function-"):
            continue
        out += f".{part}" if out else str(part)
    return out or "body"


def edges(node: Any) -> Iterator[tuple[str, str | None]]:
    """(path within the node, target) of every outgoing edge; a None target ends the run there."""
    if isinstance(node, WaitForEventNode):
        for i, branch in enumerate(node.branches):
            yield f"branches[{i}].next", branch.next
        yield "timeoutNext", node.timeout_next
    elif isinstance(node, ConditionNode):
        for i, cond in enumerate(node.branches):
            yield f"branches[{i}].next", cond.next
        yield "elseNext", node.else_next
    elif isinstance(node, SplitNode):
        for i, split in enumerate(node.branches):
            yield f"branches[{i}].next", split.next
    elif isinstance(node, ExitNode):
        return
    else:
        yield "next", node.next
        if isinstance(node, _Action) and node.on_failure is not None:
            yield "onFailure", node.on_failure
        if isinstance(node, ClaimCodeNode) and node.on_empty is not None:
            yield "onEmpty", node.on_empty


def walk_conditions(condition: Any, path: str) -> Iterator[tuple[str, Any]]:
    """A condition and every condition nested in it, each with its path."""
    yield path, condition
    if isinstance(condition, AllOf):
        for i, c in enumerate(condition.all):
            yield from walk_conditions(c, f"{path}.all[{i}]")
    elif isinstance(condition, AnyOf):
        for i, c in enumerate(condition.any):
            yield from walk_conditions(c, f"{path}.any[{i}]")
    elif isinstance(condition, NotOf):
        yield from walk_conditions(condition.not_, f"{path}.not")


def conditions(definition: JourneyDefinition) -> Iterator[tuple[str, Any]]:
    """Every condition of the definition (nested ones too), with its path."""
    if definition.entry.audience is not None:
        yield from walk_conditions(definition.entry.audience, "entry.audience")
    for n, node in enumerate(definition.nodes):
        if isinstance(node, ConditionNode):
            for b, branch in enumerate(node.branches):
                yield from walk_conditions(branch.condition, f"nodes[{n}].branches[{b}].condition")


def referenced_segments(definition: JourneyDefinition) -> dict[str, str]:
    """segment id → the first path naming it."""
    found: dict[str, str] = {}
    trigger = definition.entry.trigger
    for path, segment in (
        ("entry.trigger.segmentEntered", trigger.segment_entered),
        ("entry.trigger.segmentExited", trigger.segment_exited),
    ):
        if segment:
            found.setdefault(segment, path)
    for i, segment in enumerate(definition.exit_on_segment_exit):
        found.setdefault(segment, f"exitOnSegmentExit[{i}]")
    for path, condition in conditions(definition):
        if isinstance(condition, InSegment):
            found.setdefault(condition.segment, f"{path}.segment")
    return found


def referenced_plans(definition: JourneyDefinition) -> dict[str, str]:
    found: dict[str, str] = {}
    crossing = definition.entry.trigger.score_threshold_crossed
    if crossing:
        found[crossing.plan_id] = "entry.trigger.scoreThresholdCrossed.planId"
    for path, condition in conditions(definition):
        if isinstance(condition, ScoreIs):
            found.setdefault(condition.plan, f"{path}.plan")
    for n, node in enumerate(definition.nodes):
        if isinstance(node, AddScoreNode):
            found.setdefault(node.plan_id, f"nodes[{n}].planId")
    return found


def referenced_pools(definition: JourneyDefinition) -> dict[str, str]:
    """coupon pool id → the first path naming it."""
    found: dict[str, str] = {}
    for n, node in enumerate(definition.nodes):
        if isinstance(node, ClaimCodeNode):
            found.setdefault(node.pool, f"nodes[{n}].pool")
    return found


def parse(
    document: Any, known_segments: set[str] | None = None, known_plans: set[str] | None = None, valid_zone: Any = None
) -> JourneyDefinition:
    """Validate a journey document. Raises `DefinitionError` naming every refusal's path; nothing partial."""
    if isinstance(document, dict) and "trigger" in document and "nodes" not in document:
        try:
            document = from_legacy(document)
        except ValidationError as error:
            raise DefinitionError([(_path(e["loc"]), e["msg"]) for e in error.errors()]) from None
    try:
        definition = JourneyDefinition.model_validate(document)
    except ValidationError as error:
        raise DefinitionError([(_path(e["loc"]), e["msg"]) for e in error.errors()]) from None
    errors = graph_errors(definition)
    trait_date = definition.entry.trigger.trait_date
    if trait_date is not None and trait_date.yearly and definition.entry.reentry == "once":
        errors.append(("entry.reentry", "a yearly date enters every year: use whenNotInside or afterDays"))
    if known_segments is not None:
        errors += [
            (path, f"no segment {segment!r}")
            for segment, path in referenced_segments(definition).items()
            if segment not in known_segments
        ]
    if known_plans is not None:
        errors += [
            (path, f"no scoring plan {plan!r}")
            for plan, path in referenced_plans(definition).items()
            if plan not in known_plans
        ]
    if valid_zone is not None and not valid_zone(definition.delivery.default_time_zone):
        errors.append(("delivery.defaultTimeZone", f"unknown time zone {definition.delivery.default_time_zone!r}"))
    if errors:
        raise DefinitionError(errors)
    return definition


def graph_errors(definition: JourneyDefinition) -> list[tuple[str, str]]:
    """Unknown or duplicate ids, dangling edges, unreachable nodes, cycles without a wait, bad message refs."""
    errors: list[tuple[str, str]] = []
    index: dict[str, int] = {}
    for n, node in enumerate(definition.nodes):
        if node.id in index:
            errors.append((f"nodes[{n}].id", f"duplicate node id {node.id!r}"))
        else:
            index[node.id] = n
    if definition.start not in index:
        errors.append(("start", f"no node {definition.start!r}"))
    for n, node in enumerate(definition.nodes):
        for path, target in edges(node):
            if target is not None and target not in index:
                errors.append((f"nodes[{n}].{path}", f"no node {target!r}"))
            if target == node.id:
                errors.append((f"nodes[{n}].{path}", "a node cannot lead to itself"))
    emails = {node.id for node in definition.nodes if isinstance(node, EmailNode)}
    for n, node in enumerate(definition.nodes):
        if isinstance(node, WaitForEventNode):
            for b, branch in enumerate(node.branches):
                if branch.message is not None and branch.message not in emails:
                    errors.append((f"nodes[{n}].branches[{b}].message", f"no email node {branch.message!r}"))
                if branch.message is not None and branch.event not in EMAIL_EVENTS:
                    errors.append(
                        (f"nodes[{n}].branches[{b}].message", f"only {' and '.join(EMAIL_EVENTS)} belong to a message")
                    )
    for path, condition in conditions(definition):
        if (
            isinstance(condition, RunHappened)
            and condition.happened in ("opened", "clicked")
            and condition.message not in emails
        ):
            errors.append((f"{path}.message", f"{condition.happened} needs the id of an email node"))
        if isinstance(condition, ScoreIs) and (condition.value is None) == (condition.tier is None):
            errors.append((path, "a score condition compares either value or tier"))
    if errors:
        return errors
    reachable: set[str] = set()
    pending = [definition.start]
    while pending:
        current = pending.pop()
        if current in reachable:
            continue
        reachable.add(current)
        pending.extend(t for _, t in edges(definition.nodes[index[current]]) if t is not None)
    for n, node in enumerate(definition.nodes):
        if node.id not in reachable:
            errors.append((f"nodes[{n}]", f"node {node.id!r} cannot be reached from start"))
    cycle = _cycle_without_wait(definition, index)
    if cycle:
        errors.append((f"nodes[{index[cycle[0]]}]", "a cycle without a wait: " + " → ".join(cycle)))
    return errors


def _cycle_without_wait(definition: JourneyDefinition, index: dict[str, int]) -> list[str] | None:
    """A loop must pass a wait (or a wait for an event), or a run would spin through it at once."""
    waits = (WaitNode, WaitForEventNode)
    graph = {
        node.id: [t for _, t in edges(node) if t is not None and not isinstance(definition.nodes[index[t]], waits)]
        for node in definition.nodes
        if not isinstance(node, waits)
    }
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node_id: str) -> list[str] | None:
        state[node_id] = 1
        stack.append(node_id)
        for target in graph.get(node_id, []):
            if state.get(target) == 1:
                return [*stack[stack.index(target) :], target]
            if target not in state:
                found = visit(target)
                if found:
                    return found
        stack.pop()
        state[node_id] = 2
        return None

    for node_id in graph:
        if node_id not in state:
            found = visit(node_id)
            if found:
                return found
    return None


def node_by_id(definition: JourneyDefinition, node_id: str) -> Any:
    return next(n for n in definition.nodes if n.id == node_id)


def interesting_events(definition: JourneyDefinition) -> set[str]:
    """Collected event names this journey reacts to once a profile is inside (goal, waits, run facts)."""
    names: set[str] = set()
    if definition.goal:
        names.add(definition.goal.event)
    for node in definition.nodes:
        if isinstance(node, WaitForEventNode):
            names.update(b.event for b in node.branches)
    for _, condition in conditions(definition):
        if isinstance(condition, RunHappened):
            names.update(
                {
                    "opened": ["Email Opened"],
                    "clicked": ["Email Link Clicked"],
                    "returned": ["page"],
                    "purchased": ["Order Completed"],
                }[condition.happened]
            )
    return names
