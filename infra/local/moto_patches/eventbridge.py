"""EventBridge rule delivery for moto that behaves like AWS for Lambda, Step Functions and SQS targets.

moto 5.2.5 ``Rule.send_to_targets`` (called by ``PutEvents``, archive replays and S3 notifications):

* raises ``NotImplementedError`` *out of PutEvents* for Lambda and Step Functions targets;
* delivers through DISABLED rules, and delivers *every* event to schedule-only rules (a rule without a
  pattern has an empty ``EventPattern``, which matches everything);
* sends SQS targets an envelope without ``"account"`` (its ``DEFAULT_EVENT_INPUT_TEMPLATE`` omits it), ignores
  a target's ``Input`` and ``InputPath``, and fails PutEvents on an unquoted string placeholder in an
  ``InputTransformer`` template (``{"id": <id>}``), which AWS accepts.

``eventbridge_targets()`` wraps ``Rule.send_to_targets``. It skips disabled and schedule-only rules and renders
the target input itself -- the default envelope *with* ``account`` (plus ``replay-name`` for replays),
``Input``, ``InputPath`` or ``InputTransformer`` with AWS placeholder semantics -- for these targets:

* Lambda: ``get_backend(...).invoke`` with ``InvocationType=Event`` (reaches the in-process runtime of
  ``lambdas.py`` when that is active; moto's echo otherwise);
* Step Functions: ``start_execution`` with a fresh uuid name (moto gives unnamed executions the ARN ``...:None``);
* SQS: rendered here and sent through the SQS backend's ``send_message`` -- **not** moto's native SQS path,
  because that one lacks ``account``. FIFO queues get ``SqsParameters.MessageGroupId`` and, like moto, need
  content-based deduplication.

Other targets (CloudWatch Logs, archives, cross-bus, API destinations) still go to moto's implementation.
Delivery is synchronous, inside the PutEvents call. As in AWS, a failed delivery does not fail PutEvents: it is
logged and recorded in the :class:`EventBridgeDeliveries` log yielded by the context manager.

Pass a ``clock`` (anything with ``now() -> aware datetime``, e.g. the ``VirtualClock``) to make the envelope
``time`` of events put without ``Time`` -- and the other timestamps moto's events backend takes -- follow it.
"""

from __future__ import annotations

import collections
import copy
import datetime as dt
import json
import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from jsonpath_ng.ext import parse as parse_jsonpath
from moto.events import models as events_models
from moto.events.models import Rule
from moto.utilities.arns import parse_arn

from ._patching import (
    PatchPointMoved,
    PatchSet,
    require_attr,
    require_params,
    require_source,
)

LOG = logging.getLogger(__name__)

UTC = dt.UTC

# Target services rendered and delivered here; everything else goes to moto's send_to_targets.
_HANDLED_SERVICES = frozenset({"lambda", "states", "sqs"})

# Enabled rule states (AWS also has ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS).
_ENABLED_PREFIX = "ENABLED"


class Clock(Protocol):
    def now(self) -> dt.datetime: ...


@dataclass(frozen=True)
class Delivery:
    """One attempt to deliver an event to a rule target."""

    rule_arn: str
    target_id: str
    target_arn: str
    payload: str | None  # the rendered input; None if rendering failed
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


class EventBridgeDeliveries:
    """What the patched rules delivered (bounded, most recent last)."""

    def __init__(self, maxlen: int = 10_000) -> None:
        self.deliveries: collections.deque[Delivery] = collections.deque(maxlen=maxlen)

    def to(self, target_arn: str) -> list[Delivery]:
        return [d for d in list(self.deliveries) if d.target_arn == target_arn]

    @property
    def failures(self) -> list[Delivery]:
        return [d for d in list(self.deliveries) if not d.ok]


# ---- input rendering --------------------------------------------------------------------------------------
def _iso_time(value: Any) -> Any:
    # moto keeps "time" as unix seconds (float) until delivery; AWS shows "2025-01-01T09:00:00Z".
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return dt.datetime.fromtimestamp(float(value), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return value


def build_envelope(event: dict[str, Any]) -> dict[str, Any]:
    """The event as AWS delivers it by default (field order as AWS), from moto's internal event dict."""
    envelope: dict[str, Any] = {
        "version": event.get("version", "0"),
        "id": event.get("id", ""),
        "detail-type": event.get("detail-type", ""),
        "source": event.get("source", ""),
        "account": event.get("account", ""),
        "time": _iso_time(event.get("time", "")),
        "region": event.get("region", ""),
        "resources": event.get("resources", []),
        "detail": event.get("detail", {}),
    }
    if "replay-name" in event:
        envelope["replay-name"] = event["replay-name"]
    return envelope


def _first_match(path: str, document: Any) -> tuple[bool, Any]:
    matches = parse_jsonpath(path).find(document)
    return (True, matches[0].value) if matches else (False, None)


def render_input_template(template: str, values: dict[str, Any]) -> str:
    """Substitute ``<name>`` placeholders the way EventBridge does.

    Inside a JSON string literal a placeholder becomes the value's text (JSON-escaped); outside one it becomes
    the value as JSON, so ``{"id": <id>}`` with a string id yields ``{"id": "o-1"}``. ``<name>`` sequences that
    are not variables are left alone. Missing variables become ``null`` (outside strings) or empty text.
    """
    out: list[str] = []
    in_string = False
    i = 0
    while i < len(template):
        char = template[i]
        if char == "<":
            end = template.find(">", i + 1)
            name = template[i + 1 : end] if end != -1 else None
            if name is not None and name in values:
                value = values[name]
                if in_string:
                    text = value if isinstance(value, str) else ("" if value is None else json.dumps(value))
                    out.append(json.dumps(text)[1:-1])
                else:
                    out.append(json.dumps(value))
                i = end + 1
                continue
        if in_string and char == "\\" and i + 1 < len(template):
            out.append(template[i : i + 2])
            i += 2
            continue
        if char == '"':
            in_string = not in_string
        out.append(char)
        i += 1
    return "".join(out)


def render_target_input(rule: Rule, target: dict[str, Any], event: dict[str, Any]) -> str:
    """The payload text a target receives for ``event`` (moto's internal event dict)."""
    envelope = build_envelope(event)
    if "Input" in target:
        return str(target["Input"])
    if "InputPath" in target:
        return json.dumps(_first_match(target["InputPath"], envelope)[1])
    transformer = target.get("InputTransformer")
    if not transformer:
        return json.dumps(envelope)
    values: dict[str, Any] = {}
    for name, path in (transformer.get("InputPathsMap") or {}).items():
        found, value = _first_match(path, envelope)
        values[name] = value if found else None
    values.update(
        {
            "aws.events.rule-arn": rule.arn,
            "aws.events.rule-name": rule.name,
            "aws.events.event.ingestion-time": _iso_time(event.get("ingestion-time", event.get("time"))),
            "aws.events.event": envelope,
            "aws.events.event.json": envelope,
        }
    )
    return render_input_template(transformer.get("InputTemplate", ""), values)


# ---- delivery ---------------------------------------------------------------------------------------------
def _deliver(target_arn: str, target: dict[str, Any], payload: str) -> None:
    arn = parse_arn(target_arn)
    if arn.service == "lambda":
        from moto.awslambda.utils import get_backend as lambda_backend

        # EventBridge invokes Lambda asynchronously (InvocationType=Event).
        lambda_backend(arn.account, arn.region).invoke(
            function_name=target_arn,
            qualifier=None,
            body=payload,
            headers={"x-amz-invocation-type": "Event"},
            response_headers={},
        )
    elif arn.service == "states":
        from moto.stepfunctions.responses import get_backend as sfn_backend

        sfn_backend(arn.account, arn.region).start_execution(
            target_arn, name=str(uuid.uuid4()), execution_input=payload
        )
    elif arn.service == "sqs":
        from moto.sqs.models import sqs_backends

        sqs = sqs_backends[arn.account][arn.region]
        group_id = (target.get("SqsParameters") or {}).get("MessageGroupId")
        if arn.resource_id.endswith(".fifo"):
            attributes = sqs.get_queue_attributes(arn.resource_id, ["ContentBasedDeduplication"])
            if attributes.get("ContentBasedDeduplication") != "true":
                raise ValueError("FIFO queue targets need content-based deduplication enabled")
        sqs.send_message(queue_name=arn.resource_id, message_body=payload, group_id=group_id)
    else:  # pragma: no cover - filtered by _HANDLED_SERVICES
        raise NotImplementedError(target_arn)


def verify_patch_points() -> None:
    """Raise ``PatchPointMoved`` if the moto internals patched by :func:`eventbridge_targets` changed shape."""
    require_params(
        require_attr(Rule, "send_to_targets"),
        ["self", "original_event", "transform_input"],
        "Rule.send_to_targets",
    )
    for attr in ("state", "targets", "event_pattern", "arn", "name"):
        if attr not in vars(Rule) and attr not in Rule.__init__.__code__.co_names:
            raise PatchPointMoved(f"Rule no longer has {attr!r}")
    require_attr(events_models.EventPattern, "get_pattern")
    require_source(
        events_models.EventsBackend.put_events,
        "rule.send_to_targets(",
        "EventsBackend.put_events",
    )
    require_source(
        events_models.EventsBackend.put_events,
        'event_msg["account"]',
        "EventsBackend.put_events",
    )
    require_attr(events_models, "unix_time")


@contextmanager
def eventbridge_targets(clock: Clock | None = None) -> Iterator[EventBridgeDeliveries]:
    """Patch moto EventBridge rule delivery (see the module docstring); yields the delivery log."""
    verify_patch_points()
    log = EventBridgeDeliveries()
    original = Rule.send_to_targets
    patches = PatchSet()

    def send_to_targets(self: Rule, original_event: Any, transform_input: bool = True) -> None:
        if not str(self.state or _ENABLED_PREFIX).startswith(_ENABLED_PREFIX):
            return
        if not self.event_pattern.get_pattern():
            return  # schedule-only rule: fired on a schedule, never by a matching event
        if not self.event_pattern.matches_event(original_event):
            return
        native = [t for t in self.targets if parse_arn(t["Arn"]).service not in _HANDLED_SERVICES]
        if native:
            # shallow copy: the same rule, with only the targets moto supports
            proxy = copy.copy(self)
            proxy.targets = native
            original(proxy, original_event, transform_input)
        for target in self.targets:
            if parse_arn(target["Arn"]).service not in _HANDLED_SERVICES:
                continue
            payload: str | None = None
            try:
                payload = render_target_input(self, target, original_event)
                _deliver(target["Arn"], target, payload)
            except Exception as exc:  # AWS does not fail PutEvents when a delivery fails
                LOG.warning(
                    "EventBridge rule %s: delivery to %s failed: %r",
                    self.arn,
                    target["Arn"],
                    exc,
                )
                log.deliveries.append(Delivery(self.arn, target["Id"], target["Arn"], payload, repr(exc)))
            else:
                log.deliveries.append(Delivery(self.arn, target["Id"], target["Arn"], payload))

    patches.set(Rule, "send_to_targets", send_to_targets)
    if clock is not None:
        real_unix_time = events_models.unix_time

        def virtual_unix_time(when: dt.datetime | None = None) -> float:
            return clock.now().timestamp() if when is None else real_unix_time(when)

        patches.set(events_models, "unix_time", virtual_unix_time)
    try:
        yield log
    finally:
        patches.restore()
