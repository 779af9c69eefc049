"""Virtual time for moto's Step Functions interpreter, so multi-week journeys run in milliseconds.

moto 5.2.5 runs Step Functions with a vendored copy of LocalStack's ASL interpreter
(``moto.stepfunctions.parser``), one daemon thread per execution, and that interpreter blocks on *wall-clock*
time. ``virtual_time(clock)`` replaces each blocking point with a wait on a :class:`VirtualClock`:

=============================================  ====================================================
ASL feature                                    moto patch point
=============================================  ====================================================
Wait ``Seconds`` / ``SecondsPath``             ``WaitFunction._wait_interval``
Wait ``Timestamp`` / ``TimestampPath``         ``Timestamp._get_wait_seconds`` (moto compares a UTC
                                               timestamp with a *naive local* ``datetime.now()``)
                                               plus ``WaitFunction._wait_interval``
``.waitForTaskToken`` ``TimeoutSeconds``       ``CallbackEndpoint.wait``
``.waitForTaskToken`` ``HeartbeatSeconds``     ``HeartbeatEndpoint.clear_and_wait``
Retry ``IntervalSeconds`` / ``BackoffRate``    the ``time`` attribute of ``retrier_decl`` (its only
                                               use is ``time.sleep(interval_seconds)``)
=============================================  ====================================================

A blocked execution thread resumes when the clock reaches its deadline (``clock.advance(days=14)``,
``clock.advance_to_next_deadline()``) or when its real trigger fires (``send_task_success``,
``send_task_heartbeat``, ``stop_execution``): ``CallbackPoolManager.notify``/``heartbeat`` and ``Execution.stop``
are wrapped to wake the waiters at once, and a clock move wakes only the waiters whose deadline it reached. The
waiters also re-check their trigger on their own, every 20 ms at first and backing off to once a second (for what
nothing announces, such as a Parallel branch stopping the execution), so a thousand parked journeys do not wake
fifty thousand times a second.

Still wall-clock (not patched): ``TimeoutSeconds`` enforced by ``ExecuteState._evaluate_with_timeout`` for
non-callback tasks (harmless: in-process tasks return at once) and, therefore, the overall ``TimeoutSeconds`` of
a callback task that *also* has ``HeartbeatSeconds`` (moto only enforces it in that outer real-time wait);
history-event timestamps, ``startDate``/``stopDate``; Map/Parallel joins.

All datetimes are timezone-aware UTC. Application code should read time from the same clock (inject
``clock.now``), otherwise "now" in a Lambda and "now" in the state machine diverge.
"""

from __future__ import annotations

import datetime as dt
import itertools
import threading
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
    FailureEventException,
)
from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
    state_task_service_callback,
)
from moto.stepfunctions.parser.asl.component.state.wait.wait_function.timestamp import (
    Timestamp,
)
from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import (
    WaitFunction,
)
from moto.stepfunctions.parser.asl.eval.callback.callback import (
    CallbackEndpoint,
    CallbackPoolManager,
    HeartbeatEndpoint,
)
from moto.stepfunctions.parser.backend.execution import Execution

from ._patching import (
    PatchPointMoved,
    PatchSet,
    require_attr,
    require_params,
    require_source,
)

UTC = dt.UTC

AdvanceCallback = Callable[[dt.datetime, dt.datetime], None]

# Real seconds between re-checks of a waiter's ``done`` predicate. The predicates watch threading.Events owned
# by moto (task token received, execution stopped); the calls that set them are wrapped to wake the waiters
# (``VirtualClock.wake``), and a clock move wakes them via notify_all, so polling is only a safety net: it starts
# at 20 ms and doubles up to a second.
_DEFAULT_POLL_SECONDS = 0.02
_DEFAULT_MAX_POLL_SECONDS = 1.0


def _as_utc(when: dt.datetime) -> dt.datetime:
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError(f"naive datetime {when!r}: the virtual clock only accepts timezone-aware datetimes")
    return when.astimezone(UTC)


class VirtualClock:
    """A process-wide, manually driven UTC clock that threads can block on.

    Time only moves when the test (or harness) moves it: :meth:`advance`, :meth:`advance_by`, :meth:`set`,
    :meth:`advance_to_next_deadline`. It never moves backwards. Threads block with :meth:`sleep`; the
    deadlines they wait for are visible through :meth:`pending_deadlines`.
    """

    def __init__(
        self,
        start: dt.datetime | None = None,
        *,
        poll_seconds: float = _DEFAULT_POLL_SECONDS,
        max_poll_seconds: float = _DEFAULT_MAX_POLL_SECONDS,
    ) -> None:
        self._now = _as_utc(start) if start is not None else dt.datetime.now(UTC).replace(microsecond=0)
        self._poll_seconds = poll_seconds
        self._max_poll_seconds = max(poll_seconds, max_poll_seconds)
        self._cond = threading.Condition()
        # One condition per blocked thread (sharing the clock's lock), so a clock move wakes only the threads whose
        # deadline it reached: with a thousand parked journeys, a notify_all on every tick of `make dev`'s clock
        # made them all contend for the lock and the interpreter once a second.
        self._waiting: dict[int, threading.Condition] = {}
        self._sleepers: dict[int, dt.datetime] = {}
        self._ids = itertools.count()
        self._callbacks: list[AdvanceCallback] = []
        # Bumped when a virtual_time() context ends: waiters started under an older generation are parked
        # (see sleep()) so that execution threads left behind by a finished test neither spin nor resume.
        self._generation = 0

    # ---- reading time: inject ``clock.now`` into application code ----------------------------------------
    def now(self) -> dt.datetime:
        with self._cond:
            return self._now

    def pending_deadlines(self) -> list[dt.datetime]:
        """Virtual deadlines currently awaited by blocked threads, earliest first."""
        with self._cond:
            return sorted(self._sleepers.values())

    # ---- moving time ---------------------------------------------------------------------------------------
    def advance(self, **timedelta_kwargs: float) -> dt.datetime:
        """Move forward by ``datetime.timedelta(**timedelta_kwargs)``; returns the new now."""
        return self.advance_by(dt.timedelta(**timedelta_kwargs))

    def advance_by(self, delta: dt.timedelta) -> dt.datetime:
        if delta < dt.timedelta(0):
            raise ValueError(f"cannot move the virtual clock backwards (delta {delta})")
        with self._cond:
            target = self._now + delta
        return self._move_to(target, allow_past=False)

    def set(self, when: dt.datetime) -> dt.datetime:
        """Move to ``when`` (timezone-aware, not before now); returns the new now."""
        return self._move_to(_as_utc(when), allow_past=False)

    def advance_to_next_deadline(self) -> dt.datetime | None:
        """Jump to the earliest pending deadline (waking whoever waits for it); ``None`` if nobody waits."""
        with self._cond:
            if not self._sleepers:
                return None
            target = min(self._sleepers.values())
        # A deadline can already be in the past (sleep(0) registering, or a concurrent advance): never go back.
        return self._move_to(target, allow_past=True)

    def on_advance(self, callback: AdvanceCallback) -> Callable[[], None]:
        """Call ``callback(old_now, new_now)`` after every move of the clock; returns an unsubscribe function.

        Callbacks run in the thread that moved the clock, after the move is visible and waiters were woken,
        outside the clock's lock (so they may read the clock, put events, invoke Lambdas, even move the clock
        again). A call that does not change the time (``advance(seconds=0)``) does not notify. Every callback
        runs even if an earlier one raises; the first exception is then re-raised to the mover.
        """
        with self._cond:
            self._callbacks.append(callback)

        def unsubscribe() -> None:
            with self._cond:
                if callback in self._callbacks:
                    self._callbacks.remove(callback)

        return unsubscribe

    def _move_to(self, target: dt.datetime, *, allow_past: bool) -> dt.datetime:
        with self._cond:
            old = self._now
            if target < old:
                if not allow_past:
                    raise ValueError(f"cannot move the virtual clock backwards from {old} to {target}")
                target = old
            self._now = target
            for key, deadline in self._sleepers.items():
                if deadline <= target:
                    self._waiting[key].notify()
            callbacks = list(self._callbacks)
        if target != old:
            self._notify(callbacks, old, target)
        return target

    @staticmethod
    def _notify(callbacks: list[AdvanceCallback], old: dt.datetime, new: dt.datetime) -> None:
        first_error: BaseException | None = None
        for callback in callbacks:
            try:
                callback(old, new)
            except Exception as exc:  # notify the others first, re-raised below
                first_error = first_error or exc
        if first_error is not None:
            raise first_error

    def wake(self) -> None:
        """Make every blocked thread re-check its ``done`` predicate now (something it watches may have changed)."""
        with self._cond:
            for waiting in self._waiting.values():
                waiting.notify()

    # ---- blocking ------------------------------------------------------------------------------------------
    def sleep(self, seconds: float | None, done: Callable[[], bool] | None = None) -> bool:
        """Block until ``seconds`` of *virtual* time passed (returns False) or ``done()`` is true (returns True).

        ``seconds=None`` waits for ``done()`` only. ``done`` is evaluated while holding the clock's lock, so it
        must be cheap and must not touch the clock. A waiter still blocked when a ``virtual_time(clock)`` context
        ends never returns (it is parked, see ``_park``): use ``sleep`` from threads that end with the test.
        """
        with self._cond:
            generation = self._generation
            deadline = None if seconds is None else self._now + dt.timedelta(seconds=seconds)
            key = next(self._ids)
            own = threading.Condition(self._cond._lock)  # type: ignore[attr-defined]  # the clock's lock
            self._waiting[key] = own
            if deadline is not None:
                self._sleepers[key] = deadline
            poll = self._poll_seconds
            try:
                while True:
                    if generation != self._generation:
                        self._park(key)
                    if done is not None and done():
                        return True
                    if deadline is not None and self._now >= deadline:
                        return False
                    # Without a predicate only a clock move past the deadline can end the wait: no polling needed.
                    own.wait(poll if done is not None else None)
                    poll = min(poll * 2, self._max_poll_seconds)
            finally:
                self._sleepers.pop(key, None)
                self._waiting.pop(key, None)

    def _park(self, key: int) -> None:
        # Called with the lock held. The virtual_time() context this waiter belongs to has ended, and moto's
        # backends are probably reset: resuming could make the orphaned execution call real AWS endpoints,
        # and polling would burn CPU for the rest of the test session. Block forever (daemon thread) instead.
        self._sleepers.pop(key, None)
        self._waiting.pop(key, None)
        while True:
            self._cond.wait()

    def _retire_waiters(self) -> None:
        with self._cond:
            self._generation += 1
            self._sleepers.clear()
            for waiting in self._waiting.values():
                waiting.notify()
            self._cond.notify_all()


def verify_patch_points() -> None:
    """Raise :class:`PatchPointMoved` if the moto internals patched by :func:`virtual_time` changed shape."""
    # the calls that set what waiters watch, wrapped to wake them
    require_params(
        require_attr(CallbackPoolManager, "notify"), ["self", "callback_id", "outcome"], "CallbackPoolManager.notify"
    )
    require_params(
        require_attr(CallbackPoolManager, "heartbeat"), ["self", "callback_id"], "CallbackPoolManager.heartbeat"
    )
    require_params(require_attr(Execution, "stop"), ["self", "stop_date", "error", "cause"], "Execution.stop")
    from moto.stepfunctions.models import StateMachine
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend

    require_source(StateMachine.stop_execution, "execution.stop(", "StateMachine.stop_execution")

    for name, call in (
        ("send_task_success", "callback_pool_manager.notify("),
        ("send_task_failure", "callback_pool_manager.notify("),
        ("send_task_heartbeat", "callback_pool_manager.heartbeat("),
    ):
        require_source(getattr(StepFunctionsParserBackend, name), call, f"StepFunctionsParserBackend.{name}")
    require_params(
        require_attr(WaitFunction, "_wait_interval"),
        ["self", "env", "wait_seconds"],
        "WaitFunction._wait_interval",
    )
    require_source(WaitFunction._eval_body, "self._wait_interval(", "WaitFunction._eval_body")
    require_params(
        require_attr(Timestamp, "_get_wait_seconds"),
        ["self", "env"],
        "Timestamp._get_wait_seconds",
    )
    require_attr(Timestamp, "_from_timestamp_string")
    require_attr(Timestamp, "_create_failure_event")
    # The patches are installed on the base classes: a subclass override would bypass them silently.
    for subclass in _all_subclasses(WaitFunction):
        if "_wait_interval" in vars(subclass):
            raise PatchPointMoved(f"{subclass.__qualname__} overrides _wait_interval")
    for subclass in _all_subclasses(Timestamp):
        if "_get_wait_seconds" in vars(subclass):
            raise PatchPointMoved(f"{subclass.__qualname__} overrides _get_wait_seconds")
    require_params(
        require_attr(CallbackEndpoint, "wait"),
        ["self", "timeout"],
        "CallbackEndpoint.wait",
    )
    require_attr(CallbackEndpoint, "notify")
    require_params(
        require_attr(HeartbeatEndpoint, "clear_and_wait"),
        ["self"],
        "HeartbeatEndpoint.clear_and_wait",
    )
    service_callback = state_task_service_callback.StateTaskServiceCallback
    require_source(
        service_callback._wait_for_task_token_timeout,
        "callback_endpoint.wait(",
        "StateTaskServiceCallback._wait_for_task_token_timeout",
    )
    require_source(
        service_callback._wait_for_task_token_heartbeat,
        "heartbeat_endpoint.clear_and_wait()",
        "StateTaskServiceCallback._wait_for_task_token_heartbeat",
    )
    if getattr(retrier_decl, "time", None) is None:
        raise PatchPointMoved("moto ...retry.retrier_decl no longer imports the time module")
    require_source(retrier_decl.RetrierDecl._eval_body, "time.sleep(", "RetrierDecl._eval_body")


def _all_subclasses(cls: type) -> list[type]:
    found: list[type] = []
    direct: list[type] = type.__subclasses__(cls)
    for subclass in direct:
        found += [subclass, *_all_subclasses(subclass)]
    return found


@contextmanager
def virtual_time(clock: VirtualClock | None = None) -> Iterator[VirtualClock]:
    """Patch moto's Step Functions interpreter to wait on ``clock`` (a new one starting now if omitted)."""
    verify_patch_points()
    clock = clock or VirtualClock()
    patches = PatchSet()

    def wait_interval(self: WaitFunction, env: Any, wait_seconds: float) -> None:
        if wait_seconds > 0:
            # moto's original also returns early when the execution stops (stop_execution sets the event).
            clock.sleep(wait_seconds, done=lambda: not env.is_running())

    def get_wait_seconds(self: Timestamp, env: Any) -> float:
        self.string.eval(env=env)
        timestamp_str: str = env.stack.pop()
        timestamp = self._from_timestamp_string(timestamp=timestamp_str)
        if timestamp is None:
            raise FailureEventException(self._create_failure_event(env, timestamp_str))
        # moto parses "...Z" into a naive datetime that *is* UTC; compare with the virtual UTC now. A float keeps
        # the deadline exact (moto truncates to int, which can wake the execution before the timestamp).
        return (timestamp.replace(tzinfo=UTC) - clock.now()).total_seconds()

    def callback_wait(self: CallbackEndpoint, timeout: float | None = None) -> Any:
        # Returns the outcome, or None on timeout: moto turns None into CallbackOutcomeTimedOut -> States.Timeout.
        clock.sleep(timeout, done=self._notify_event.is_set)
        return self._outcome

    def heartbeat_clear_and_wait(self: HeartbeatEndpoint) -> bool:
        # Same contract as moto's: True when a heartbeat (or the final outcome) arrived, False when
        # HeartbeatSeconds of virtual time passed without one. (moto then fails the task with States.Timeout,
        # because its HeartbeatTimeoutError is a TimeoutError; AWS reports States.HeartbeatTimeout.)
        with self._mutex:
            if self._next_heartbeat_event.is_set():
                self._next_heartbeat_event.clear()
                return True
        return clock.sleep(self._heartbeat_seconds, done=self._next_heartbeat_event.is_set)

    # retrier_decl uses the time module for exactly one call, time.sleep(interval_seconds); give that module a
    # stand-in whose sleep() is virtual. Patching time.sleep itself would make every sleep in the process
    # (botocore retries, test polling loops) wait for the virtual clock.
    retry_time = types.SimpleNamespace(sleep=lambda seconds: clock.sleep(seconds))

    def waking(original: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            try:
                return original(*args, **kwargs)
            finally:
                clock.wake()

        return call

    patches.set(CallbackPoolManager, "notify", waking(CallbackPoolManager.notify))
    patches.set(CallbackPoolManager, "heartbeat", waking(CallbackPoolManager.heartbeat))
    patches.set(Execution, "stop", waking(Execution.stop))
    patches.set(WaitFunction, "_wait_interval", wait_interval)
    patches.set(Timestamp, "_get_wait_seconds", get_wait_seconds)
    patches.set(CallbackEndpoint, "wait", callback_wait)
    patches.set(HeartbeatEndpoint, "clear_and_wait", heartbeat_clear_and_wait)
    patches.set(retrier_decl, "time", retry_time)
    try:
        yield clock
    finally:
        patches.restore()
        clock._retire_waiters()
