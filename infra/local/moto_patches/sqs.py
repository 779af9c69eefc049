"""SQS for moto whose cost does not grow with the backlog: receive, delete, change visibility and the approximate
counts in (near) constant time, with moto's semantics unchanged.

moto 5.2.5 keeps a queue's messages in one list and answers most calls by scanning all of it, evaluating
``Message.visible``/``delayed`` (two ``datetime`` constructions each) for every message:

* ``Queue.attributes`` computes ``ApproximateNumberOfMessages``, ``...NotVisible`` and ``...Delayed`` with three
  full scans -- and ``SendMessage`` reads ``queue.attributes`` once per message (for ``ContentBasedDeduplication``),
  ``ReceiveMessage`` three times per *returned* message (the retention check goes through
  ``get_queue_attributes``);
* ``ReceiveMessage`` builds the list of every visible message before taking the first ``MaxNumberOfMessages``;
* ``DeleteMessage`` and ``ChangeMessageVisibility`` scan every message's receipt-handle history, and a delete
  rebuilds the list.

With a backlog of a few thousand messages the local cloud spent more than three quarters of its time there (an
import of 2,000 contacts with every consumer subscribed: 526 s, 78 % of the samples under ``Queue.attributes``).

``sqs_constant_time()`` keeps, per queue, a small *ledger* next to moto's list: receipt handle -> message, and the
set of messages that may be invisible or delayed (every message received with a visibility timeout, made
(in)visible with ``ChangeMessageVisibility``, or sent with a delay; removed when the message leaves the queue).
Invariant: every message in the queue that is not ready (invisible or delayed) is in that set, and everything in
the ledger is in the queue. Then

* the approximate counts come from the set and ``len(queue._messages)`` (one clock reading per call);
* ``ReceiveMessage`` walks the list lazily and stops after ``MaxNumberOfMessages`` (moto's loop otherwise, line by
  line: pending messages whose visibility ran out, FIFO message groups, redrive to the DLQ once
  ``ApproximateReceiveCount`` reaches ``maxReceiveCount``, retention);
* ``DeleteMessage`` and ``ChangeMessageVisibility`` find the message by handle (any handle it ever had, as moto
  accepts), falling back to moto's scan for a handle the ledger does not know.

``Queue.attributes`` (read on every send and three times per received message) also converts each attribute name
with ``camelcase_to_underscores``, a character loop; the patch memoises that pure function for the module.

The ledger is rebuilt from the list the first time a queue is used under a new activation of the patch, so queues
created (or changed) while it was off are handled too. ``verify_patch_points`` also counts the places in
``moto.sqs.models`` that change a message's visibility, delay or queue membership: if an upgrade adds one, the
invariant could break silently, so the patch refuses to start instead.
"""

from __future__ import annotations

import functools
import inspect
import itertools
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from copy import deepcopy
from dataclasses import dataclass, field
from typing import Any

from moto.sqs import models as sqs_models
from moto.sqs.exceptions import InvalidParameterValue, ReceiptHandleIsInvalid
from moto.sqs.models import Message, Queue, SQSBackend

from ._patching import PatchPointMoved, PatchSet, require_attr, require_params, require_source

# Where moto.sqs.models (5.2.5) sets visibility or delay, or adds/removes queue members: each is in a function
# this patch replaces or wraps (or in Message.__init__ / Queue.add_message, which the ledger accounts for).
_MUTATION_SITES = {
    r"\.visible_at = ": 2,  # Message.__init__, Message.change_visibility
    r"\.delayed_until = ": 2,  # Message.__init__, Message.delay
    r"\.change_visibility\(": 2,  # Message.mark_received, SQSBackend.change_message_visibility
    r"\.mark_received\(": 1,  # SQSBackend.receive_message
    r"\.delay\(": 1,  # Message.mark_sent (SQSBackend.send_message)
    r"\._messages = ": 2,  # Queue.delete_message, SQSBackend.purge_queue
    r"\._messages\.remove\(": 1,  # SQSBackend.receive_message (redrive)
    r"\._messages\.append\(": 1,  # Queue.add_message
}

_generation = itertools.count(1)
_active_generation = 0
_REBUILD = threading.Lock()


@dataclass
class _Ledger:
    generation: int
    handles: dict[str, Message] = field(default_factory=dict)  # every receipt handle of a message in the queue
    unready: set[Message] = field(default_factory=set)  # ⊇ the messages that are invisible or delayed

    def remember(self, message: Message) -> None:
        for handle in message.all_receipt_handles:
            if handle:
                self.handles[handle] = message

    def forget(self, message: Message) -> None:
        for handle in message.all_receipt_handles:
            if handle and self.handles.get(handle) is message:
                del self.handles[handle]
        self.unready.discard(message)


def _ready(message: Message, now: float) -> bool:
    # moto: Message.visible is `now > visible_at`, Message.delayed is `now < delayed_until`
    return now > message.visible_at and not now < message.delayed_until


def _ledger(queue: Queue) -> _Ledger:
    ledger: _Ledger | None = queue.__dict__.get("_cxm_ledger")
    if ledger is not None and ledger.generation == _active_generation:
        return ledger
    with _REBUILD:
        ledger = queue.__dict__.get("_cxm_ledger")
        if ledger is None or ledger.generation != _active_generation:
            ledger = _Ledger(_active_generation)
            now = sqs_models.unix_time_millis()
            for message in list(queue._messages):
                ledger.remember(message)
                if not _ready(message, now):
                    ledger.unready.add(message)
            queue.__dict__["_cxm_ledger"] = ledger
        return ledger


def _counts(queue: Queue) -> tuple[int, int, int]:
    """(ready, not visible, delayed), as moto's three properties would compute them at this instant."""
    now = sqs_models.unix_time_millis()
    invisible = delayed = not_ready = 0
    for message in list(_ledger(queue).unready):
        hidden = not now > message.visible_at
        waiting = now < message.delayed_until
        invisible += hidden
        delayed += waiting
        not_ready += hidden or waiting
    return max(0, len(queue._messages) - not_ready), invisible, delayed


def _find(queue: Queue, receipt_handle: str) -> Message | None:
    message = _ledger(queue).handles.get(receipt_handle)
    if message is None:  # moto: any message in the queue that ever had this handle
        message = next((m for m in list(queue._messages) if m.had_receipt_handle(receipt_handle)), None)
    return message


# ---- the replaced moto methods ----------------------------------------------------------------------------------


def _approximate_number_of_messages(self: Queue) -> int:
    return _counts(self)[0]


def _approximate_number_of_messages_not_visible(self: Queue) -> int:
    return _counts(self)[1]


def _approximate_number_of_messages_delayed(self: Queue) -> int:
    return _counts(self)[2]


def _wait_for_messages(self: Queue, timeout: int) -> None:
    def any_ready() -> bool:
        now = sqs_models.unix_time_millis()
        return any(_ready(m, now) for m in list(self._messages))

    with self._messages_lock:
        self._messages_lock.wait_for(any_ready, timeout=timeout)


def _queue_delete_message(self: Queue, receipt_handle: str) -> None:
    if receipt_handle in self.deleted_messages:
        return  # already deleted: moto (and SQS) accept it again
    message = _find(self, receipt_handle)
    if message is None:
        raise ReceiptHandleIsInvalid()
    with self._messages_lock:
        try:
            self._messages.remove(message)
        except ValueError:
            raise ReceiptHandleIsInvalid() from None
    self.pending_messages.discard(message)
    self.deleted_messages.update(message.all_receipt_handles)  # type: ignore[arg-type]
    _ledger(self).forget(message)


def _receive_message(
    self: SQSBackend,
    queue_name: str,
    count: int,
    wait_seconds_timeout: int,
    visibility_timeout: int,
    message_attribute_names: list[str] | None = None,
) -> list[Message]:
    # moto 5.2.5's SQSBackend.receive_message, walking the list lazily with one clock reading per pass.
    if message_attribute_names is None:
        message_attribute_names = []
    queue = self.get_queue(queue_name)
    ledger = _ledger(queue)
    result: list[Message] = []
    previous_result_count = len(result)

    polling_end = sqs_models.unix_time() + wait_seconds_timeout
    currently_pending_groups = deepcopy(queue.pending_message_groups)

    while True:
        if result or (wait_seconds_timeout and sqs_models.unix_time() > polling_end):
            break

        messages_to_dlq: list[Message] = []
        now = sqs_models.unix_time_millis()

        for message in queue._messages:  # a concurrent delete may make this pass skip one (it is seen next time)
            if not _ready(message, now):
                continue

            if message in queue.pending_messages:
                # The message is pending but is visible again, so the consumer must have timed out.
                queue.pending_messages.remove(message)
                currently_pending_groups = deepcopy(queue.pending_message_groups)

            if message.group_id and queue.fifo_queue and message.group_id in currently_pending_groups:
                # A previous call is still processing messages in this group, so we cannot deliver this one.
                continue

            if (
                queue.dead_letter_queue is not None
                and queue.redrive_policy
                and message.approximate_receive_count >= queue.redrive_policy["maxReceiveCount"]
            ):
                messages_to_dlq.append(message)
                continue

            queue.pending_messages.add(message)
            message.mark_received(visibility_timeout=visibility_timeout)
            ledger.remember(message)
            if visibility_timeout:
                ledger.unready.add(message)
            # Create deepcopy to not mutate the message state when filtering for attributes
            message_copy = deepcopy(message)
            sqs_models._filter_message_attributes(message_copy, message_attribute_names)
            if not self.is_message_valid_based_on_retention_period(queue_name, message):
                break
            result.append(message_copy)
            if len(result) >= count:
                break

        for message in messages_to_dlq:
            with queue._messages_lock:
                queue._messages.remove(message)
            ledger.forget(message)
            _ledger(queue.dead_letter_queue).remember(message)  # type: ignore[arg-type]
            queue.dead_letter_queue.add_message(message)  # type: ignore[union-attr]

        if previous_result_count == len(result):
            if wait_seconds_timeout == 0:
                # There is no timeout and no additional results, so break to avoid an infinite loop.
                break

            queue.wait_for_messages(1)
            continue

        previous_result_count = len(result)

    return result


def _change_message_visibility(self: SQSBackend, queue_name: str, receipt_handle: str, visibility_timeout: int) -> None:
    queue = self.get_queue(queue_name)
    message = _find(queue, receipt_handle)
    if message is None:
        raise ReceiptHandleIsInvalid
    visibility_timeout_msec = int(visibility_timeout) * 1000
    given_visibility_timeout = sqs_models.unix_time_millis() + visibility_timeout_msec
    if given_visibility_timeout - message.sent_timestamp > 43200 * 1000:  # type: ignore[operator]
        raise InvalidParameterValue(
            f"Value {visibility_timeout} for parameter VisibilityTimeout is invalid. Reason: Total "
            "VisibilityTimeout for the message is beyond the limit [43200 seconds]"
        )
    message.change_visibility(visibility_timeout)
    _ledger(queue).unready.add(message)
    if message.visible and message in queue.pending_messages:
        # If the message is visible again, remove it from pending messages.
        queue.pending_messages.remove(message)


def verify_patch_points() -> None:
    """Raise ``PatchPointMoved`` if the moto internals :func:`sqs_constant_time` relies on changed."""
    for name in (
        "approximate_number_of_messages",
        "approximate_number_of_messages_not_visible",
        "approximate_number_of_messages_delayed",
    ):
        if not isinstance(vars(Queue).get(name), property):
            raise PatchPointMoved(f"Queue.{name} is no longer a property")
    require_params(require_attr(Queue, "delete_message"), ["self", "receipt_handle"], "Queue.delete_message")
    require_params(require_attr(Queue, "wait_for_messages"), ["self", "timeout"], "Queue.wait_for_messages")
    require_params(
        require_attr(SQSBackend, "receive_message"),
        ["self", "queue_name", "count", "wait_seconds_timeout", "visibility_timeout", "message_attribute_names"],
        "SQSBackend.receive_message",
    )
    require_params(
        require_attr(SQSBackend, "change_message_visibility"),
        ["self", "queue_name", "receipt_handle", "visibility_timeout"],
        "SQSBackend.change_message_visibility",
    )
    require_params(require_attr(SQSBackend, "purge_queue"), ["self", "queue_name"], "SQSBackend.purge_queue")
    require_params(
        require_attr(SQSBackend, "is_message_valid_based_on_retention_period"),
        ["self", "queue_name", "message"],
        "SQSBackend.is_message_valid_based_on_retention_period",
    )
    for fragment in (
        "queue.pending_message_groups",
        'redrive_policy["maxReceiveCount"]',
        "_filter_message_attributes(",
    ):
        require_source(SQSBackend.receive_message, fragment, "SQSBackend.receive_message")
    require_source(SQSBackend.send_message, "queue.add_message(message)", "SQSBackend.send_message")
    require_source(SQSBackend.send_message_batch, "self.send_message(", "SQSBackend.send_message_batch")
    require_source(SQSBackend.delete_message, "queue.delete_message(receipt_handle)", "SQSBackend.delete_message")
    require_source(
        SQSBackend.change_message_visibility_batch,
        "self.change_message_visibility(",
        "SQSBackend.change_message_visibility_batch",
    )
    for attr in ("_messages", "_pending_messages", "deleted_messages", "_messages_lock"):
        require_source(Queue.__init__, f"self.{attr}", "Queue.__init__")
    for attr in ("visible_at", "delayed_until", "sent_timestamp", "approximate_receive_count", "group_id"):
        require_source(Message.__init__, f"self.{attr}", "Message.__init__")
    require_attr(sqs_models, "_filter_message_attributes")
    require_attr(sqs_models, "camelcase_to_underscores")
    attributes = vars(Queue).get("attributes")
    if not isinstance(attributes, property) or attributes.fget is None:
        raise PatchPointMoved("Queue.attributes is no longer a property")
    require_source(attributes.fget, "camelcase_to_underscores(attribute)", "Queue.attributes")
    require_attr(sqs_models, "unix_time_millis")
    try:
        source = inspect.getsource(sqs_models)
    except (OSError, TypeError) as exc:
        raise PatchPointMoved(f"cannot read the source of moto.sqs.models: {exc}") from exc
    for pattern, expected in _MUTATION_SITES.items():
        found = len(re.findall(pattern, source))
        if found != expected:
            raise PatchPointMoved(
                f"moto.sqs.models has {found} places matching {pattern!r}, the SQS ledger expects {expected}"
            )


@contextmanager
def sqs_constant_time() -> Iterator[None]:
    """Replace the backlog-sized parts of moto's SQS (see the module docstring)."""
    global _active_generation
    verify_patch_points()
    patches = PatchSet()
    original_send = SQSBackend.send_message
    original_purge = SQSBackend.purge_queue

    def send_message(self: SQSBackend, queue_name: str, message_body: str, *args: Any, **kwargs: Any) -> Message:
        message = original_send(self, queue_name, message_body, *args, **kwargs)
        if message.delayed_until:  # a delayed message is not ready: the ledger must know it
            queue = self.get_queue(queue_name)
            # a FIFO queue may have dropped it as a duplicate (moto's add_message returns without adding it)
            if not queue.fifo_queue or any(m is message for m in list(queue._messages)):
                _ledger(queue).unready.add(message)
        return message

    def purge_queue(self: SQSBackend, queue_name: str) -> None:
        original_purge(self, queue_name)
        self.get_queue(queue_name).__dict__.pop("_cxm_ledger", None)

    patches.set(Queue, "approximate_number_of_messages", property(_approximate_number_of_messages))
    patches.set(
        Queue, "approximate_number_of_messages_not_visible", property(_approximate_number_of_messages_not_visible)
    )
    patches.set(Queue, "approximate_number_of_messages_delayed", property(_approximate_number_of_messages_delayed))
    patches.set(Queue, "wait_for_messages", _wait_for_messages)
    patches.set(Queue, "delete_message", _queue_delete_message)
    patches.set(SQSBackend, "receive_message", _receive_message)
    patches.set(SQSBackend, "change_message_visibility", _change_message_visibility)
    patches.set(SQSBackend, "send_message", send_message)
    patches.set(SQSBackend, "purge_queue", purge_queue)
    convert: Any = functools.lru_cache(maxsize=1024)(sqs_models.camelcase_to_underscores)
    patches.set(sqs_models, "camelcase_to_underscores", convert)
    previous = _active_generation
    _active_generation = next(_generation)
    try:
        yield
    finally:
        patches.restore()
        _active_generation = previous


__all__ = ["sqs_constant_time", "verify_patch_points"]
