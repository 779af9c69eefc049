"""Refusals say an id's pattern in words, not as a regular expression."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, Field, ValidationError

from services.common.patterns import described
from services.common.problems import from_pydantic


@pytest.mark.parametrize(
    ("pattern", "words"),
    [
        (r"^[A-Za-z0-9_-]{1,100}$", "1 to 100 characters: letters, digits, _ or -"),
        (r"^[A-Za-z0-9._\-]{1,100}$", "1 to 100 characters: letters, digits, ., _ or -"),
        (
            r"^[a-z0-9][a-z0-9_-]{0,63}$",
            "1 to 64 characters: lowercase letters, digits, _ or -, starting with a lowercase letter or a digit",
        ),
        (r"^[A-Za-z][A-Za-z0-9_-]{0,63}$", "1 to 64 characters: letters, digits, _ or -, starting with a letter"),
        (r"^[a-z0-9-]+$", "1 or more characters: lowercase letters, digits or -"),
    ],
)
def test_id_patterns_are_said_in_words(pattern: str, words: str) -> None:
    assert described(pattern) == words


@pytest.mark.parametrize(
    "pattern", [r"^[0-9a-f]{12}$", r"^[^@\s]+@[^@\s]+\.[^@\s]+$", r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$", "abc"]
)
def test_other_patterns_are_left_as_they_are(pattern: str) -> None:
    assert described(pattern) is None


class Topic(BaseModel):
    topic: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")
    key: str = Field(pattern=r"^[0-9a-f]{12}$")


def test_a_refused_id_names_its_field_and_says_what_it_must_be() -> None:
    with pytest.raises(ValidationError) as refused:
        Topic(topic="Hot Leads!", key="xyz")
    errors = {e.field: e.message for e in from_pydantic(refused.value.errors())}
    assert errors["topic"] == (
        "must be 1 to 64 characters: lowercase letters, digits, _ or -, starting with a lowercase letter or a digit"
    )
    assert "^[0-9a-f]{12}$" in errors["key"]  # a pattern without words keeps pydantic's message
