"""The identity graph beyond the basics: device ids, alias, verified identifiers and the configurable policy."""

from __future__ import annotations

import datetime as dt
from typing import Any

from services.common.contracts.registry import EventCollected
from services.identity.domain.profiles import (
    MergePolicy,
    Resolution,
    alias_lookups,
    identifiers,
    resolve,
    settle_alias,
)

T = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
ANON, USER, EMAIL = ("anon", "a-1"), ("user", "u-9"), ("email", "ana@example.com")


def event(kind: str = "track", **fields: Any) -> EventCollected:
    return EventCollected.model_validate(
        {"messageId": "m", "type": kind, "timestamp": T, "receivedAt": T, "sourceId": "src", "event": "x", **fields}
    )


def test_a_mobile_device_id_is_an_identifier() -> None:
    app_event = event(anonymousId="a-1", context={"device": {"id": "idfv-42", "type": "ios"}})
    assert identifiers(app_event) == [ANON, ("device", "idfv-42")]


def test_an_alias_whose_previous_id_was_a_user_id_renames_that_user() -> None:
    # Given a user known as "old-login" who now logs in as "u-9"
    alias = event("alias", userId="u-9", previousId="old-login")
    ids = identifiers(alias)
    assert alias_lookups(alias) == [("user", "old-login")]
    # When the previous id is a known user id (and no anonymous id of that name exists)
    pointers = {("user", "old-login"): "K"}
    settled = settle_alias(ids, alias, pointers)
    # Then the alias resolves to that user's profile and links the new user id to it
    assert settled == [("user", "old-login"), USER]
    assert resolve(settled, pointers) == Resolution("K", link=[USER], merge=[])


def test_an_alias_of_an_anonymous_id_folds_the_anonymous_history_into_the_user() -> None:
    alias = event("alias", userId="u-9", previousId="a-0")
    ids = settle_alias(identifiers(alias), alias, {("anon", "a-0"): "A", USER: "K"})
    assert resolve(ids, {("anon", "a-0"): "A", USER: "K"}) == Resolution("K", link=[("anon", "a-0")], merge=["A"])


def test_a_verified_profile_reference_merges_another_known_profile_into_it() -> None:
    # Given an email click signed for profile P, on a browser whose anonymous id belongs to known profile Q
    resolution = resolve([ANON], {ANON: "Q"}, known_profiles=frozenset({"Q"}), verified="P")
    # Then Q folds into P (a verified identifier), and the browser now points at P
    assert resolution == Resolution("P", link=[ANON], merge=["Q"])


def test_without_verification_a_known_profile_is_never_merged() -> None:
    resolution = resolve([ANON, USER], {ANON: "Q", USER: "P"}, known_profiles=frozenset({"Q"}))
    assert resolution == Resolution("P", link=[ANON], merge=[])


def test_the_policy_can_refuse_known_merges_even_on_a_verified_identifier() -> None:
    policy = MergePolicy(merge_known_on_verified=False)
    resolution = resolve([ANON], {ANON: "Q"}, known_profiles=frozenset({"Q"}), verified="P", policy=policy)
    assert resolution == Resolution("P", link=[ANON], merge=[])
    # anonymous profiles still fold into the verified one
    assert resolve([ANON], {ANON: "A"}, verified="P", policy=policy).merge == ["A"]


def test_a_verified_reference_of_a_new_visitor_links_their_ids_to_the_profile() -> None:
    assert resolve([ANON], {}, verified="P") == Resolution("P", link=[ANON], merge=[])


def test_with_email_linking_off_an_unverified_email_never_pulls_anonymous_activity_in() -> None:
    policy = MergePolicy(link_anonymous_on_email=False)
    # An anonymous visitor types the email that profile K owns: the event stays on the visitor's own profile
    assert resolve([ANON, EMAIL], {ANON: "A", EMAIL: "K"}, policy=policy) == Resolution("A", link=[], merge=[])
    # A new visitor typing K's email gets a new profile, without K's email
    assert resolve([ANON, EMAIL], {EMAIL: "K"}, policy=policy) == Resolution(None, link=[ANON], merge=[])
    # A free email still attaches to the visitor
    assert resolve([ANON, EMAIL], {ANON: "A"}, policy=policy) == Resolution("A", link=[EMAIL], merge=[])


def test_by_default_an_unverified_email_links_anonymous_activity_as_segment_and_mautic_do() -> None:
    assert resolve([ANON, EMAIL], {ANON: "A", EMAIL: "K"}) == Resolution("K", link=[ANON], merge=["A"])
