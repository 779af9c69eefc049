"""Ready journey templates (services/journeys/library/*.json) and their parameters, filled in. Pure."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# A template is a JSON file: `title`, `description`, `parameters` (name → {default?, description}; no default: the
# installer must give it), `journey` (a journey definition) and optional `companions` (more journeys installed with
# it, e.g. the friend's thank-you beside the referrer's reward). `${name}` in a string is replaced by the parameter;
# a string that is exactly `${name}` takes the parameter's value with its type (a number of seconds stays a
# number). `{{...}}` placeholders are the email's own and are left alone.

LIBRARY = Path(__file__).resolve().parent.parent / "library"
NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
PLACEHOLDER = re.compile(r"\$\{([A-Za-z][A-Za-z0-9]*)\}")


class UnknownTemplate(LookupError):
    pass


class MissingParameters(ValueError):
    def __init__(self, faults: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{p}: {m}" for p, m in faults))
        self.faults = faults


@dataclass(frozen=True)
class Template:
    name: str
    title: str
    description: str
    parameters: dict[str, dict[str, Any]]
    journeys: tuple[dict[str, Any], ...]

    def summary(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "description": self.description,
            "parameters": self.parameters,
            "journeys": [j.get("name") for j in self.journeys],
        }


def names(library: Path = LIBRARY) -> list[str]:
    return sorted(p.stem for p in library.glob("*.json"))


def load(name: str, library: Path = LIBRARY) -> Template:
    if not NAME.fullmatch(name) or not (library / f"{name}.json").is_file():
        raise UnknownTemplate(name)
    raw = json.loads((library / f"{name}.json").read_text())
    return Template(
        name=name,
        title=raw["title"],
        description=raw["description"],
        parameters=raw.get("parameters", {}),
        journeys=(raw["journey"], *raw.get("companions", [])),
    )


def fill(template: Template, given: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The template's journeys with every parameter filled in (given, else its default); unknown or missing
    parameters are refused, each with its name."""
    faults = [(f"parameters.{k}", "not a parameter of this template") for k in given if k not in template.parameters]
    values: dict[str, Any] = {}
    for key, spec in template.parameters.items():
        if key in given:
            values[key] = given[key]
        elif "default" in spec:
            values[key] = spec["default"]
        else:
            faults.append((f"parameters.{key}", f"required: {spec.get('description', '')}".rstrip(": ")))
    if faults:
        raise MissingParameters(faults)
    return [_substitute(journey, values) for journey in template.journeys]


def _substitute(value: Any, values: Mapping[str, Any]) -> Any:
    if isinstance(value, dict):
        return {k: _substitute(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, values) for v in value]
    if isinstance(value, str):
        whole = PLACEHOLDER.fullmatch(value)
        if whole:
            return values[whole.group(1)]
        return PLACEHOLDER.sub(lambda m: str(values[m.group(1)]), value)
    return value
