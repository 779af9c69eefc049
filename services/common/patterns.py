"""Regular expressions said in words, for refusals a marketer reads: `^[a-z0-9][a-z0-9_-]{0,63}$` becomes "1 to 64
characters: lowercase letters, digits, _ or -, starting with a lowercase letter or a digit". Pure.

Only the shapes the platform's ids use are described (one character class, optionally a different first character,
with a length); any other pattern is left as it is (None)."""

from __future__ import annotations

import re

_RANGES = {"a-z": "lowercase letters", "A-Z": "capital letters", "0-9": "digits"}
_SHAPE = re.compile(r"^\^(?:(\[[^\]]+\]))?(\[[^\]]+\])(?:\{(\d+),(\d+)\}|(\+)|(\*))\$$")


def _members(character_class: str) -> list[str] | None:
    """The members of a `[...]` class in words, or None for a class this does not describe (negated, escapes)."""
    inner = character_class[1:-1]
    if inner.startswith("^"):
        return None
    words: list[str] = []
    if "a-z" in inner and "A-Z" in inner:
        words.append("letters")
        inner = inner.replace("a-z", "").replace("A-Z", "")
    for span, said in _RANGES.items():
        if span in inner:
            words.append(said)
            inner = inner.replace(span, "")
    inner = inner.replace("\\-", "-").replace("\\.", ".")
    if "\\" in inner or re.search(r".-.", inner):
        return None
    words += list(dict.fromkeys(inner))
    return words or None


def _joined(words: list[str], last: str = "or") -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} {last} {words[-1]}"


def described(pattern: str) -> str | None:
    """The pattern in words, or None when its shape is not one of the platform's id shapes."""
    shape = _SHAPE.match(pattern)
    if shape is None:
        return None
    first, rest, low, high, plus, _star = shape.groups()
    members = _members(rest)
    leading = _members(first) if first else None
    if members is None or (first and leading is None):
        return None
    extra = 1 if first else 0
    if low is not None:
        low_n, high_n = int(low) + extra, int(high) + extra
        length = f"{low_n} to {high_n} characters" if low_n != high_n else f"{low_n} characters"
    else:
        length = f"{1 if plus or first else 0} or more characters"
    said = f"{length}: {_joined(members)}"
    if leading is not None:
        said += f", starting with {_joined(['a ' + w.rstrip('s') if w.endswith('s') else w for w in leading])}"
    return said
