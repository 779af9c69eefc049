"""Who a journey email may go to: the send step's pure decision."""

from __future__ import annotations

import pytest

from services.common.access import SourceSettings
from services.journeys.use_cases.sending import UNCONFIRMED, mails_claimed, message_blocked


def why_not_send(contact: dict[str, object]) -> str | None:
    return message_blocked(contact, "email", transactional=False)


ANA = {"profileId": "p-1", "email": "ana@example.com"}


def test_a_reachable_contact_gets_the_email() -> None:
    assert why_not_send(ANA) is None
    assert why_not_send({**ANA, "consent": {"emailMarketing": True}}) is None


@pytest.mark.parametrize(
    ("contact", "reason"),
    [
        ({"profileId": None}, "profile not found (erased?)"),
        ({"profileId": "p-1"}, "no email address"),
        ({**ANA, "suppressed": True}, "address suppressed (bounce or complaint)"),
        ({**ANA, "consent": {"emailMarketing": False}}, "no email marketing consent"),
        ({**ANA, "consent": {"emailMarketing": {"granted": False, "at": "2026-01-01"}}}, "no email marketing consent"),
    ],
)
def test_an_unreachable_contact_is_skipped_with_the_reason(contact: dict[str, object], reason: str) -> None:
    assert why_not_send(contact) == reason


def test_unknown_consent_does_not_block_a_send() -> None:
    assert why_not_send({**ANA, "consent": {}}) is None


# ---- addresses only claimed (docs/identity.md, "Trust") ------------------------------------------------------

CLAIMED = {**ANA, "emailConfirmed": False, "emailSource": "website"}


def test_an_address_only_claimed_is_not_mailed_unless_its_source_opted_in() -> None:
    assert why_not_send(CLAIMED) == UNCONFIRMED
    assert message_blocked(CLAIMED, "email", transactional=True) == UNCONFIRMED  # a claim alone triggers no mail
    assert message_blocked(CLAIMED, "email", transactional=False, mail_claimed=True) is None
    assert why_not_send({**ANA, "emailConfirmed": True}) is None
    assert message_blocked(CLAIMED, "sms", transactional=True) is None  # the rule is about the email address


def test_the_sources_setting_is_read_only_for_an_address_only_claimed() -> None:
    asked: list[str] = []

    def sources(source_id: str) -> SourceSettings:
        asked.append(source_id)
        return SourceSettings(mail_claimed_addresses=source_id == "partner")

    assert not mails_claimed({**ANA, "emailConfirmed": True}, sources) and asked == []
    assert not mails_claimed(CLAIMED, sources) and asked == ["website"]
    assert mails_claimed({**CLAIMED, "emailSource": "partner"}, sources)
    assert not mails_claimed(CLAIMED, None)


def test_a_source_mails_only_confirmed_addresses_and_asks_for_double_opt_in_by_default() -> None:
    assert SourceSettings() == SourceSettings.from_json(None) == SourceSettings(False, True)
    chosen = SourceSettings(mail_claimed_addresses=True, double_opt_in=False)
    assert SourceSettings.from_json(chosen.to_json()) == chosen
