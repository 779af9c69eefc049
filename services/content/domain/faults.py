"""Refusing a rule across fields at the field at fault, not at the whole model. Pure.

A `model_validator` that raises `ValueError` is reported at the model's own location (a request body's is `body`),
which names no field. `refuse` raises the faults as a `ValidationError` whose locations are relative to the model:
pydantic-core carries a `ValidationError` raised by a validator through with its line errors, each location prefixed
by where the model sits (`("body", "variants", 2, "id")` for a request body), so `from_pydantic` names
`variants[2].id`, and a nested model's fault is named under its field (`goal.click`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError


@dataclass(frozen=True)
class Fault:
    """A broken rule: where (relative to the model: `("variants", 2, "id")`), why, and the value at fault."""

    loc: tuple[str | int, ...]
    message: str
    value: Any = None
    kind: str = "invalid_definition"


def refuse(title: str, faults: Sequence[Fault]) -> None:
    """Raise the faults, if any, each at its own location (call from a validator)."""
    if not faults:
        return
    raise ValidationError.from_exception_data(
        title,
        [
            InitErrorDetails(
                # the message as context, not as the template: a value quoted in it may hold braces
                type=PydanticCustomError(f.kind, "{reason}", {"reason": f.message}),
                loc=f.loc,
                input=f.value,
            )
            for f in faults
        ],
    )
