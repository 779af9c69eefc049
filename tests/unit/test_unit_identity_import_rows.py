"""Import rows: CSV and JSON lines become contacts (traits, consent, questionnaire answers) or rejections with
reasons."""

from __future__ import annotations

from services.identity.domain.import_rows import Contact, RawRow, Rejection, format_of, parse_csv, parse_jsonl, validate

CSV = (
    "email,firstName,userId,consent.email_marketing,answers.q1,answers.q2,updatedAt\n"
    "Ana@Example.com,Ana,u-1,yes,5,7,2026-01-05T10:00:00Z\n"
    '"bo@example.com","Bo, the second",,no,,,\n'
    "not-an-email,Cy,,maybe,x,,yesterday\n"
    ",Dee,,,,,\n"
    "eve@example.com,Eve,,,,,,extra\n"
)


def test_csv_rows_become_contacts_with_traits_consent_and_answers() -> None:
    rows = parse_csv(CSV)
    assert [r.row for r in rows] == [1, 2, 3, 4, 5]
    ana = validate(rows[0])
    assert ana == Contact(
        row=1,
        email="ana@example.com",
        email_as_given="Ana@Example.com",
        user_id="u-1",
        traits={"email": "Ana@Example.com", "firstName": "Ana", "answers": {"q1": 5, "q2": 7}},
        consent={"email_marketing": True},
        at="2026-01-05T10:00:00.000Z",
    )
    bo = validate(rows[1])
    assert isinstance(bo, Contact)
    assert bo.traits == {"email": "bo@example.com", "firstName": "Bo, the second"}
    assert bo.consent == {"email_marketing": False}


def test_each_rejected_row_says_every_reason() -> None:
    rows = parse_csv(CSV)
    cy = validate(rows[2])
    assert isinstance(cy, Rejection)
    assert cy.row == 3
    assert cy.reasons == (
        "consent.email_marketing: expected yes or no (true/false, 1/0, granted/denied)",
        "email: not a valid address",
        "updatedAt: not an ISO-8601 timestamp",
    )
    assert cy.values["email"] == "not-an-email"
    dee = validate(rows[3])
    assert isinstance(dee, Rejection)
    assert dee.reasons == ("email: missing (the import matches contacts by email)",)
    eve = validate(rows[4])
    assert isinstance(eve, Rejection)
    assert eve.reasons == ("the row has more cells than the header",)


def test_json_lines_may_nest_traits_consent_and_answers_and_bad_lines_are_named() -> None:
    text = (
        '{"email": "ana@example.com", "traits": {"plan": "pro"}, "consent": {"newsletter": true}, '
        '"answers": {"q1": 3}, "questionnaireId": "taste"}\n'
        "\n"
        "{not json\n"
        "[1, 2]\n"
        '{"email": "bo@example.com", "consent": {"telepathy": true}, "answers": {"q1": {"deep": 1}}}\n'
    )
    rows = parse_jsonl(text, first_row=101)
    assert [r.row for r in rows] == [101, 102, 103, 104]
    ana = validate(rows[0])
    assert isinstance(ana, Contact)
    assert ana.traits == {
        "email": "ana@example.com",
        "questionnaireId": "taste",
        "plan": "pro",
        "answers": {"q1": 3},
    }
    assert ana.consent == {"email_marketing": True}
    assert validate(rows[1]) == Rejection(102, (rows[1].error or "",))
    assert "not valid JSON" in (rows[1].error or "")
    assert validate(rows[2]) == Rejection(103, ("a JSON line must be an object",))
    bo = validate(rows[3])
    assert isinstance(bo, Rejection)
    assert bo.reasons == (
        "consent.telepathy: unknown consent purpose (tracking, email_marketing, personalisation)",
        "answers.q1: expected a number or a short text",
    )


def test_stored_rows_survive_the_round_trip() -> None:
    for row in parse_csv(CSV) + parse_jsonl("{oops\n"):
        assert RawRow.from_json(row.to_json()) == row


def test_the_format_comes_from_the_query_or_the_content_type() -> None:
    assert format_of("text/csv; charset=utf-8") == "csv"
    assert format_of("application/x-ndjson") == "jsonl"
    assert format_of("application/octet-stream", "jsonl") == "jsonl"
    assert format_of("application/json") is None
    assert format_of(None, "xlsx") is None
