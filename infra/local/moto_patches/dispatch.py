"""Cheaper request dispatch in moto: the same action lookup without re-listing the response class on every call.

For every request, moto 5.2.5's ``BaseResponse.call_action`` converts the action name with
``camelcase_to_underscores`` (a character loop) and then asks ``method_names_from_class(self.__class__)``, which
runs ``inspect.getmembers`` over the whole response class (hundreds of attributes) only to test
``action in method_names``. In-process that is about a tenth of the cost of a DynamoDB ``GetItem``.

``moto_dispatch_shortcuts()`` replaces the two names in ``moto.core.responses``:

* ``camelcase_to_underscores``: memoised (a pure function of its string argument);
* ``method_names_from_class``: returns a view whose ``in`` answers exactly what membership in
  ``inspect.getmembers(cls, inspect.isfunction)`` answers -- ``isfunction(getattr(cls, name))`` -- for that one
  name, looked up at call time (so methods added later, like the SESv2 template operations, are found);
  iterating it still lists the names the way moto does.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from moto.core import responses as core_responses
from moto.core.responses import BaseResponse

from ._patching import PatchPointMoved, PatchSet, require_attr, require_source


class FunctionNames:
    """The names of the plain functions of a class, as ``method_names_from_class`` lists them, tested lazily."""

    def __init__(self, cls: type) -> None:
        self._cls = cls

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and inspect.isfunction(getattr(self._cls, name, None))

    def __iter__(self) -> Iterator[str]:
        return iter([name for name, _ in inspect.getmembers(self._cls, predicate=inspect.isfunction)])


def verify_patch_points() -> None:
    """Raise ``PatchPointMoved`` if moto's dispatch no longer uses the two names the way the shortcut expects."""
    require_attr(core_responses, "camelcase_to_underscores")
    require_attr(core_responses, "method_names_from_class")
    call_action = require_attr(BaseResponse, "call_action")
    require_source(call_action, "camelcase_to_underscores(self._get_action())", "BaseResponse.call_action")
    require_source(call_action, "method_names_from_class(self.__class__)", "BaseResponse.call_action")
    require_source(call_action, "if action in method_names:", "BaseResponse.call_action")
    source = inspect.getsource(call_action)
    if source.count("method_names") != 3:  # the call, the assignment's name, the membership test
        raise PatchPointMoved("BaseResponse.call_action uses method_names in more ways than a membership test")


@contextmanager
def moto_dispatch_shortcuts() -> Iterator[None]:
    """Memoise the action-name conversion and answer the action lookup without ``inspect.getmembers``."""
    verify_patch_points()
    patches = PatchSet()
    convert: Any = functools.lru_cache(maxsize=4096)(core_responses.camelcase_to_underscores)
    patches.set(core_responses, "camelcase_to_underscores", convert)
    patches.set(core_responses, "method_names_from_class", FunctionNames)
    try:
        yield
    finally:
        patches.restore()


__all__ = ["FunctionNames", "moto_dispatch_shortcuts", "verify_patch_points"]
