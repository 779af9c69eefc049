"""Addresses only claimed and double opt-in (docs/identity.md, "Trust"): the confirmation token, what identity
records for a public page's address and "yes", what the contact tells a sender, and the confirmation itself."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from services.common import clock
from services.common.access import SourceSettings
from services.common.bus import RecordingPublisher
from services.common.contracts import Envelope, envelope
from services.common.contracts.registry import EventCollected
from services.common.ids import derived_id
from services.identity.adapters.memory import MemoryProfiles
from services.identity.domain.computed import Computed
from services.identity.domain.consent import (
    CONFIRMATION_MAX_AGE_SECONDS,
    confirmation_profile,
    confirmation_token,
    confirmation_valid,
    unsubscribe_token,
)
from services.identity.domain.records import MergeLog, Profile, fold_profile, unfold_profile
from services.identity.use_cases import privacy
from services.identity.use_cases.profiles import patch_traits
from services.identity.use_cases.reads import contact, find_profile_id
from services.identity.use_cases.recording import record_event

KEY = b"k" * 32
START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
NOW = int(START.timestamp())
YES = {"consent": {"categoryPreferences": {"newsletter": True}}}


# ---- the token -----------------------------------------------------------------------------------------------


def test_a_confirmation_token_confirms_its_profile_and_address_for_a_week() -> None:
    token = confirmation_token("p-1", "nia@example.net", NOW, KEY)
    assert confirmation_profile(token) == "p-1"
    assert confirmation_valid(token, "p-1", "nia@example.net", KEY, NOW)
    assert confirmation_valid(token, "p-1", "nia@example.net", KEY, NOW + CONFIRMATION_MAX_AGE_SECONDS)


@pytest.mark.parametrize(
    ("token", "profile_id", "email", "now"),
    [
        (confirmation_token("p-1", "nia@example.net", NOW, b"another key"), "p-1", "nia@example.net", NOW),
        (confirmation_token("p-1", "nia@example.net", NOW, KEY), "p-2", "nia@example.net", NOW),  # another profile
        (confirmation_token("p-1", "nia@example.net", NOW, KEY), "p-1", "eve@example.net", NOW),  # address changed
        (confirmation_token("p-1", "nia@example.net", NOW, KEY), "p-1", "nia@example.net", NOW + 8 * 86400),
        (confirmation_token("p-1", "nia@example.net", NOW + 3600, KEY), "p-1", "nia@example.net", NOW),  # future
        (
            confirmation_token("p-1", "nia@example.net", NOW, KEY).replace(f".{NOW}.", f".{NOW + 1}."),
            "p-1",
            "nia@example.net",
            NOW + 2,
        ),  # a later issue time under the same signature
        (unsubscribe_token("p-1", KEY), "p-1", "nia@example.net", NOW),  # another kind of link
        ("c1.p-1.1.AAAA", "p-1", "nia@example.net", NOW),
        ("", "p-1", "nia@example.net", NOW),
    ],
)
def test_any_other_token_confirms_nothing(token: str, profile_id: str, email: str, now: int) -> None:
    assert not confirmation_valid(token, profile_id, email, KEY, now)


def test_a_token_names_its_profile_only_when_well_formed() -> None:
    assert confirmation_profile("c1.p-1.x.sig") is None
    assert confirmation_profile("u1.p-1.sig") is None
    assert confirmation_profile("c1..1.sig") is None


# ---- recording -----------------------------------------------------------------------------------------------


def collected(message_id: str, trust: str = "claim", source: str = "site", **fields: Any) -> Envelope[EventCollected]:
    data = EventCollected.model_validate(
        {
            "messageId": message_id,
            "type": "identify",
            "timestamp": START,
            "receivedAt": START,
            "sourceId": source,
            "trust": trust,
            **fields,
        }
    )
    return envelope(data, id=derived_id("bus", message_id))


class Identity:
    def __init__(self, sources: dict[str, SourceSettings] | None = None) -> None:
        self.store = MemoryProfiles()
        self.bus = RecordingPublisher()
        self.sources = sources or {}
        clock.set_source(lambda: START)

    def record(self, incoming: Envelope[EventCollected]) -> str | None:
        return record_event(
            incoming,
            self.store,
            self.bus,
            sources=lambda s: self.sources.get(s, SourceSettings()),
            signing_key=lambda: KEY,
        )

    def published(self, detail_type: str) -> list[Any]:
        return [e.data for e in self.bus.published if e.detail_type == detail_type]


@pytest.fixture(autouse=True)
def _clock() -> Any:
    yield
    clock.set_source(None)


def test_a_public_forms_address_is_only_claimed_and_its_yes_waits_for_a_confirmation() -> None:
    identity = Identity()
    form = collected("m-1", anonymousId="d-1", traits={"email": "Nia@Example.net"}, context=YES)
    profile_id = identity.record(form)
    assert profile_id
    found = contact(profile_id, identity.store)
    assert (found["email"], found["emailConfirmed"], found["emailSource"]) == ("Nia@Example.net", False, "site")
    assert found["consent"]["email_marketing"] is None and found["pendingConsent"] == ["email_marketing"]
    (request,) = identity.published("EmailConfirmationRequested")
    assert (request.profile_id, request.source) == (profile_id, "site")
    assert confirmation_valid(request.token, profile_id, "nia@example.net", KEY, NOW)
    assert identity.published("ConsentChanged") == []
    # a redelivery asks again with the same bus event id (journeys sends one email a day per address)
    ids = [e.id for e in identity.bus.published if e.detail_type == "EmailConfirmationRequested"]
    identity.record(form)
    again = [e.id for e in identity.bus.published if e.detail_type == "EmailConfirmationRequested"]
    assert again == ids * 2


def test_following_the_link_grants_the_consent_and_confirms_the_address() -> None:
    identity = Identity()
    profile_id = identity.record(collected("m-1", anonymousId="d-1", traits={"email": "nia@example.net"}, context=YES))
    assert profile_id
    (request,) = identity.published("EmailConfirmationRequested")
    assert not privacy.confirm_email(identity.store, identity.bus, request.token[:-2] + "AA", KEY)  # forged
    assert contact(profile_id, identity.store)["pendingConsent"] == ["email_marketing"]
    assert privacy.confirm_email(identity.store, identity.bus, request.token, KEY)
    found = contact(profile_id, identity.store)
    assert found["emailConfirmed"] is True and found["emailSource"] is None and found["pendingConsent"] == []
    assert identity.store.profile(profile_id).consent["email_marketing"].source == "double-opt-in"  # type: ignore[union-attr]
    (changed,) = identity.published("ConsentChanged")
    assert (changed.purpose, changed.granted, changed.source) == ("email_marketing", True, "double-opt-in")
    assert not privacy.confirm_email(identity.store, identity.bus, request.token, KEY)  # used: nothing pending
    assert len(identity.published("ConsentChanged")) == 1


def test_a_verified_event_confirms_its_address_and_its_yes_needs_no_confirmation() -> None:
    identity = Identity()
    profile_id = identity.record(collected("m-1", anonymousId="d-1", traits={"email": "nia@example.net"}))
    assert profile_id and contact(profile_id, identity.store)["emailConfirmed"] is False
    signed = collected("m-2", trust="verified", anonymousId="d-1", traits={"email": "nia@example.net"}, context=YES)
    identity.record(signed)
    found = contact(profile_id, identity.store)
    assert found["emailConfirmed"] is True and found["consent"]["email_marketing"] is True
    assert identity.published("EmailConfirmationRequested") == []


def test_a_click_in_our_own_email_confirms_the_profiles_address() -> None:
    identity = Identity()
    profile_id = identity.record(collected("m-1", anonymousId="d-1", traits={"email": "nia@example.net"}))
    assert profile_id
    click = collected(
        "m-2", type="track", event="Email Link Clicked", anonymousId="scanner-or-her", profileId=profile_id
    )
    identity.record(click)
    assert contact(profile_id, identity.store)["emailConfirmed"] is True


def test_a_claim_of_an_address_already_confirmed_leaves_it_confirmed() -> None:
    identity = Identity()
    signed = collected("m-1", trust="verified", anonymousId="d-1", traits={"email": "nia@example.net"})
    profile_id = identity.record(signed)
    identity.record(collected("m-2", anonymousId="d-1", traits={"email": "nia@example.net", "firstName": "Nia"}))
    assert profile_id and contact(profile_id, identity.store)["emailConfirmed"] is True


def test_a_source_without_double_opt_in_grants_at_once_and_an_admin_patch_confirms() -> None:
    identity = Identity({"partner": SourceSettings(mail_claimed_addresses=True, double_opt_in=False)})
    form = collected("m-1", source="partner", anonymousId="d-1", traits={"email": "pia@example.net"}, context=YES)
    profile_id = identity.record(form)
    assert profile_id
    found = contact(profile_id, identity.store)
    assert found["consent"]["email_marketing"] is True and found["emailSource"] == "partner"
    assert identity.published("EmailConfirmationRequested") == []
    patch_traits(identity.store, identity.bus, profile_id, {"email": "pia@example.net"})
    assert contact(profile_id, identity.store)["emailConfirmed"] is True
    assert find_profile_id("email", "pia@example.net", identity.store) == profile_id


def test_folding_and_unfolding_keeps_what_each_profile_only_claimed() -> None:
    request = {"at": "2026-03-02T09:00:00.000Z", "source": "event:site", "email": "b@example.net"}
    a = Profile("a", "t", identities=("email:a@example.net",))
    b = Profile("b", "t", identities=("email:b@example.net",), unconfirmed={"b@example.net": "site"},
                pending={"email_marketing": request})  # fmt: skip
    folded = fold_profile(a, b)
    assert folded.unconfirmed == {"b@example.net": "site"} and folded.pending == {"email_marketing": request}
    assert fold_profile(b, a).unconfirmed == folded.unconfirmed  # order-independent
    log = MergeLog("m", "a", "b", "admin", "t", folded=b, folded_computed=Computed())
    back = unfold_profile(folded, log)
    assert back.unconfirmed == {} and back.pending == {}
    assert Profile.from_json(folded.to_json()) == folded
