"""Shared helpers for the moto patches: reversible attribute patching and patch-point checks."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any

_MISSING = object()


class PatchPointMoved(RuntimeError):
    """A moto internal that a patch relies on is gone or has a different shape.

    Raised on entry to a patch context (and by the canary tests) so that a moto upgrade fails loudly and
    early, instead of the patch silently not applying and a test hanging on a real-time wait.
    """


class PatchSet:
    """Records (owner, attribute, original) triples so a context manager can undo its patches exactly.

    Restoring in reverse order makes nested or overlapping patches of the same attribute unwind correctly.
    An attribute that did not exist before the patch is deleted again on restore.
    """

    def __init__(self) -> None:
        self._saved: list[tuple[Any, str, Any]] = []

    def set(self, owner: Any, name: str, value: Any) -> None:
        # vars() rather than getattr(): an inherited attribute must not be copied onto the subclass
        # on restore, it must simply be removed again.
        original = vars(owner).get(name, _MISSING) if isinstance(owner, type) else getattr(owner, name, _MISSING)
        self._saved.append((owner, name, original))
        setattr(owner, name, value)

    def restore(self) -> None:
        while self._saved:
            owner, name, original = self._saved.pop()
            if original is _MISSING:
                delattr(owner, name)
            else:
                setattr(owner, name, original)


def require_attr(owner: Any, name: str) -> Any:
    """Return ``owner.name`` or raise :class:`PatchPointMoved`."""
    try:
        return getattr(owner, name)
    except AttributeError:
        raise PatchPointMoved(f"{_qualname(owner)}.{name} no longer exists") from None


def require_params(func: Callable[..., Any], expected: Sequence[str], where: str) -> None:
    """Raise :class:`PatchPointMoved` unless ``func`` takes exactly the parameters ``expected`` (in order)."""
    actual = list(inspect.signature(func).parameters)
    if actual != list(expected):
        raise PatchPointMoved(f"{where} parameters changed: expected {list(expected)}, found {actual}")


def require_source(func: Callable[..., Any], fragment: str, where: str) -> None:
    """Raise :class:`PatchPointMoved` unless the source of ``func`` still contains ``fragment``.

    Used where a patch relies on *how* moto calls something (for example ``time.sleep(`` in the retrier),
    which a signature check cannot see.
    """
    try:
        source = inspect.getsource(func)
    except (OSError, TypeError) as exc:
        # no source available: the patch point cannot be proven
        raise PatchPointMoved(f"cannot read the source of {where}: {exc}") from exc
    if fragment not in source:
        raise PatchPointMoved(f"{where} no longer contains {fragment!r}")


def _qualname(owner: Any) -> str:
    name = getattr(owner, "__qualname__", None) or getattr(owner, "__name__", None)
    return str(name) if name else repr(owner)
