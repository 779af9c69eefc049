"""Identity resolution: which profile an event lands on, which ids get linked, which profiles get folded."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from services.common.contracts.registry import EventCollected
from services.identity.domain.profiles import Resolution, identifiers, resolve

T = dt.datetime(2025, 3, 1, tzinfo=dt.UTC)


def event(kind: str = "track", **fields: Any) -> EventCollected:
    return EventCollected.model_validate(
        {"messageId": "m", "type": kind, "timestamp": T, "receivedAt": T, "sourceId": "src", **fields}
    )


ANON = ("anon", "a-1")
USER = ("user", "u-9")
EMAIL = ("email", "ana@example.com")


# ---- identifiers -----------------------------------------------------------------------------------------


def test_identifiers_collects_anonymous_id_user_id_and_lower_cased_email() -> None:
    identify = event("identify", anonymousId="a-1", userId="u-9", traits={"email": "  Ana@Example.COM "})
    assert identifiers(identify) == [ANON, USER, EMAIL]


def test_an_alias_links_its_previous_id() -> None:
    alias = event("alias", userId="u-9", previousId="a-0")
    assert identifiers(alias) == [("anon", "a-0"), USER]


def test_a_previous_id_outside_an_alias_is_not_an_identifier() -> None:
    assert identifiers(event("track", anonymousId="a-1", previousId="a-0", event="x")) == [ANON]


@pytest.mark.parametrize("email", ["not-an-email", 42, None, ""])
def test_values_that_are_not_emails_are_not_identifiers(email: Any) -> None:
    assert identifiers(event("identify", userId="u-9", traits={"email": email})) == [USER]


# ---- resolve ---------------------------------------------------------------------------------------------


def test_a_new_visitor_gets_a_new_profile_with_every_id_linked() -> None:
    assert resolve([ANON, USER, EMAIL], {}) == Resolution(None, link=[ANON, USER, EMAIL], merge=[])


def test_a_known_anonymous_visitor_who_logs_in_keeps_their_profile() -> None:
    # Given an anonymous profile A, and an identify that brings a user id no one has
    # When resolved
    resolution = resolve([ANON, USER], {ANON: "A"})

    # Then the event lands on A and the user id is linked to it; nothing is merged
    assert resolution == Resolution("A", link=[USER], merge=[])


def test_an_anonymous_profile_is_folded_into_the_known_one() -> None:
    # Given an anonymous profile A (this browser) and a known profile K (that user id), both reached by one event
    resolution = resolve([ANON, USER, EMAIL], {ANON: "A", USER: "K"})

    # Then K survives, A is folded into it, and A's anonymous id and the new email now point at K
    assert resolution.profile_id == "K"
    assert resolution.merge == ["A"]
    assert sorted(resolution.link) == sorted([ANON, EMAIL])


def test_a_profile_known_by_email_survives_over_the_anonymous_one() -> None:
    resolution = resolve([ANON, EMAIL], {ANON: "A", EMAIL: "K"})
    assert resolution == Resolution("K", link=[ANON], merge=["A"])


def test_two_known_profiles_are_not_merged_and_the_event_goes_to_the_first_known_owner() -> None:
    # Given a user id owned by K1 and an email owned by K2
    resolution = resolve([ANON, USER, EMAIL], {USER: "K1", EMAIL: "K2"})

    # Then nothing is merged, K2's email stays with K2, and the event goes to K1
    assert resolution.profile_id == "K1"
    assert resolution.merge == []
    assert EMAIL not in resolution.link
    assert resolution.link == [ANON]


def test_a_shared_browser_moves_the_device_to_the_new_user_without_merging_two_people() -> None:
    # Given a browser whose anonymous id belongs to P1 (user u-1), and user u-2 who already has profile P2
    pointers = {("anon", "shared-browser"): "P1", ("user", "u-2"): "P2"}
    ids = [("anon", "shared-browser"), ("user", "u-2")]
    # When u-2 logs in on that browser and the caller knows P1 is a known person
    resolution = resolve(ids, pointers, known_profiles=frozenset({"P1"}))
    # Then nothing is folded: the event is u-2's, and the browser now points at u-2's profile
    assert resolution.profile_id == "P2"
    assert resolution.merge == []
    assert resolution.link == [("anon", "shared-browser")]


def test_a_returning_visitor_changes_nothing() -> None:
    assert resolve([ANON, USER], {ANON: "P", USER: "P"}) == Resolution("P", link=[], merge=[])


def test_several_anonymous_profiles_are_all_folded_in_a_stable_order() -> None:
    other = ("anon", "a-0")
    resolution = resolve([other, ANON, USER], {other: "B", ANON: "A", USER: "K"})
    assert resolution.profile_id == "K"
    assert resolution.merge == ["A", "B"]
    assert sorted(resolution.link) == sorted([other, ANON])


def test_without_a_known_owner_the_first_anonymous_owner_survives() -> None:
    other = ("anon", "a-0")
    resolution = resolve([other, ANON], {other: "B", ANON: "A"})
    assert resolution == Resolution("B", link=[ANON], merge=["A"])
