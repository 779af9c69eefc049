"""Content analytics refuses a range that is no range, naming the parameter at fault (it answered 500)."""

from __future__ import annotations

import pytest

from tests.conftest import Api

PROBLEM = "application/problem+json"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("from=0000-00-00&to=0000-00-00", "from"),  # shaped like a date, but none
        ("from=2026-03-01&to=2026-02-30", "to"),
        ("from=2026-03-02&to=2026-03-01", "to"),  # ends before it starts
        ("from=2020-01-01&to=2026-03-01", "to"),  # longer than a report covers
    ],
)
def test_a_range_that_is_not_one_is_refused_naming_the_parameter(api: Api, query: str, field: str) -> None:
    reply = api.admin("GET", f"/v1/content/analytics?{query}")
    assert reply.status == 400, reply.body
    assert reply.content_type == PROBLEM
    assert reply.body["errors"][0]["field"] == field


def test_a_valid_range_is_reported(api: Api) -> None:
    reply = api.admin("GET", "/v1/content/analytics?from=2026-03-01&to=2026-03-02")
    assert reply.status == 200, reply.body
    assert reply.body["from"] == "2026-03-01"
    assert reply.body["rows"] == []
