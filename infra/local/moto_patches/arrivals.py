"""SQS arrivals announced to whoever consumes the queues, so the local event-source mapping waits instead of polling.

AWS's event-source mapping long-polls each queue. In-process, polling ten queues every 20 ms kept an idle
``make dev`` at about half a core. ``sqs_arrivals()`` wraps the two places in moto 5.2.5 where a message can
become ready to receive *now*:

* ``Queue.add_message``: every arrival -- ``SendMessage``, ``SendMessageBatch`` (through ``send_message``),
  EventBridge's SQS targets (``eventbridge.py`` sends through the backend), redrive to a DLQ, ``cxm replay``;
* ``SQSBackend.change_message_visibility`` (``ChangeMessageVisibility`` and its batch): a failed record made
  visible again for its retry.

and calls every subscriber after each. What becomes ready *later* -- a delayed message, a visibility timeout
running out -- is announced by nobody; :meth:`SqsArrivals.seconds_until_ready` tells a consumer how long to wait
for the earliest such message, in the queue's own (wall-clock) time, as moto's SQS does not follow the virtual
clock. :meth:`SqsArrivals.ready` lets a woken consumer skip the queues that have nothing for it, without a request.
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from moto.sqs import models as sqs_models
from moto.sqs.models import Message, Queue, SQSBackend, sqs_backends
from moto.utilities.arns import parse_arn

from ._patching import PatchPointMoved, PatchSet, require_attr, require_params, require_source

Subscriber = Callable[[], None]


class SqsArrivals:
    """Subscribers are called (in the sending thread, after the message is in its queue) whenever a message may
    have become ready; they must be quick and must not call SQS (e.g. set an event)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribers: tuple[Subscriber, ...] = ()
        self.announced = 0

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        """Call ``subscriber()`` on every arrival; returns the unsubscribe function."""
        with self._lock:
            self._subscribers = (*self._subscribers, subscriber)

        def unsubscribe() -> None:
            with self._lock:
                self._subscribers = tuple(s for s in self._subscribers if s is not subscriber)

        return unsubscribe

    def announce(self) -> None:
        self.announced += 1  # a statistic: a lost increment under a race does not matter
        for subscriber in self._subscribers:
            subscriber()

    @staticmethod
    def ready(queue_arn: str) -> bool:
        """Whether a ReceiveMessage on this queue could return (or redrive) a message now, asked without a request.
        With ``sqs_constant_time()`` active this reads its ledger, in time that does not grow with the backlog."""
        queue = _queue(queue_arn)
        return queue is not None and queue.approximate_number_of_messages > 0

    @staticmethod
    def seconds_until_ready(queue_arns: Iterable[str]) -> float | None:
        """Seconds until the earliest message of these queues that is delayed or invisible *now* becomes ready;
        ``None`` if there is none. Messages that are ready already are not counted: the caller just received."""
        now = sqs_models.unix_time_millis()
        earliest: float | None = None
        for arn in queue_arns:
            queue = _queue(arn)
            for message in list(queue._messages) if queue is not None else []:
                # moto: ready when now > visible_at and not now < delayed_until (milliseconds)
                ready_at = max(message.visible_at + 1, message.delayed_until)
                if ready_at > now and (earliest is None or ready_at < earliest):
                    earliest = ready_at
        return None if earliest is None else (earliest - now) / 1000


def _queue(arn: str) -> Queue | None:
    parsed = parse_arn(arn)
    backend: SQSBackend = sqs_backends[parsed.account][parsed.region]
    queue: Queue | None = backend.queues.get(parsed.resource_id)
    return queue


def verify_patch_points() -> None:
    """Raise ``PatchPointMoved`` if the moto internals :func:`sqs_arrivals` wraps or reads changed."""
    require_params(require_attr(Queue, "add_message"), ["self", "message"], "Queue.add_message")
    require_params(
        require_attr(SQSBackend, "change_message_visibility"),
        ["self", "queue_name", "receipt_handle", "visibility_timeout"],
        "SQSBackend.change_message_visibility",
    )
    # The module's source, not the methods': sqs_constant_time() may already have wrapped send_message.
    source = inspect.getsource(sqs_models)
    for fragment in ("queue.add_message(message)", "self.send_message(", "self.change_message_visibility("):
        if fragment not in source:
            raise PatchPointMoved(f"moto.sqs.models no longer contains {fragment!r}")
    require_source(SQSBackend.__init__, "self.queues", "SQSBackend.__init__")
    require_source(Queue.__init__, "self._messages", "Queue.__init__")
    for attr in ("visible_at", "delayed_until"):
        require_source(Message.__init__, f"self.{attr}", "Message.__init__")
    require_attr(sqs_models, "unix_time_millis")


@contextmanager
def sqs_arrivals() -> Iterator[SqsArrivals]:
    """Announce every SQS arrival (and every visibility change) to the subscribers of the yielded object."""
    verify_patch_points()
    arrivals = SqsArrivals()
    patches = PatchSet()
    original_add = Queue.add_message
    original_change = SQSBackend.change_message_visibility

    def add_message(self: Queue, message: Message) -> None:
        original_add(self, message)
        arrivals.announce()

    def change_message_visibility(self: SQSBackend, *args: Any, **kwargs: Any) -> None:
        original_change(self, *args, **kwargs)
        arrivals.announce()

    patches.set(Queue, "add_message", add_message)
    patches.set(SQSBackend, "change_message_visibility", change_message_visibility)
    try:
        yield arrivals
    finally:
        patches.restore()


__all__ = ["SqsArrivals", "sqs_arrivals", "verify_patch_points"]
