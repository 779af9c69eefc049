"""Recording events against the identity graph (use cases over the in-memory store): identify, second devices,
merges that resolve forever, verified merges, redeliveries — and no event is ever lost, in any order."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.common import clock
from services.common.bus import RecordingPublisher
from services.common.contracts import Envelope, envelope
from services.common.contracts.registry import EventCollected
from services.common.ids import derived_id
from services.identity.adapters.memory import MemoryProfiles
from services.identity.domain.profiles import MergePolicy
from services.identity.domain.records import IdentitySettings
from services.identity.use_cases.merges import merge_by_admin, unmerge
from services.identity.use_cases.reads import find_profile_id, profile_view, timeline
from services.identity.use_cases.recording import record_event
from services.identity.use_cases.writes import ProfileNotFound

START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
BROWSER = {"device": {"type": "desktop", "os": "macOS", "browser": "Firefox"}}


@pytest.fixture(autouse=True)
def frozen_clock() -> Any:
    clock.set_source(lambda: START + dt.timedelta(days=1))
    yield
    clock.set_source(None)


def collected(kind: str, message_id: str, minutes: float = 0, **fields: Any) -> Envelope[EventCollected]:
    at = START + dt.timedelta(minutes=minutes)
    data = EventCollected.model_validate(
        {
            "messageId": message_id,
            "type": kind,
            "timestamp": at,
            "receivedAt": at,
            "sourceId": "site",
            "enrichment": BROWSER,
            "trust": "verified",  # a signed-in site: the graph rules (a claim's limits: test_unit_identity_trust)
            **fields,
        }
    )
    return envelope(data, id=derived_id("bus", message_id))


class World:
    """The identity service with an in-memory store, and what it published."""

    def __init__(self, policy: MergePolicy | None = None) -> None:
        self.store = MemoryProfiles()
        self.bus = RecordingPublisher()
        self.settings = IdentitySettings(policy=policy or MergePolicy())

    def send(self, kind: str, message_id: str, minutes: float = 0, **fields: Any) -> str | None:
        """The event arrives a second after it happened."""
        clock.set_source(lambda: START + dt.timedelta(minutes=minutes, seconds=1))
        return record_event(collected(kind, message_id, minutes, **fields), self.store, self.bus, self.settings)

    def published(self, detail_type: str) -> list[Any]:
        return [e.data for e in self.bus.published if e.detail_type == detail_type]

    def profile(self, **ref: str) -> dict[str, Any]:
        ((kind, value),) = ref.items()
        return profile_view(find_profile_id(kind, value, self.store), self.store, activity_limit=100)


def test_identify_links_the_anonymous_history_to_the_known_profile_and_a_second_device_joins_it() -> None:
    world = World()
    # Given Ana browsing anonymously on her laptop, and on her phone
    world.send("page", "l-1", 0, anonymousId="laptop", properties={"path": "/recipes/a"})
    world.send("page", "p-1", 60, anonymousId="phone", properties={"path": "/history/b"})
    laptop_profile = world.profile(anon="laptop")["profileId"]
    phone_profile = world.profile(anon="phone")["profileId"]
    # When she logs in on the laptop, then on the phone
    world.send("identify", "l-2", 120, anonymousId="laptop", userId="ana", traits={"email": "Ana@Example.com"})
    world.send("identify", "p-2", 180, anonymousId="phone", userId="ana")
    # Then one profile holds both devices' history, the laptop's profile being the one that identified first
    ana = world.profile(user="ana")
    assert ana["profileId"] == laptop_profile
    assert ana["identities"]["anonymousIds"] == ["laptop", "phone"]
    assert ana["identities"]["emails"] == ["ana@example.com"]
    assert sorted(a["messageId"] for a in ana["activity"]) == ["l-1", "l-2", "p-1", "p-2"]
    assert ana["computed"]["pageViewsBySection"] == {"recipes": 1, "history": 1}
    assert ana["computed"]["events"] == 4
    assert ana["mergedFrom"] == [phone_profile]
    # And the phone's old profile id resolves to Ana's profile, forever
    old = profile_view(phone_profile, world.store)
    assert (old["profileId"], old["resolvedFrom"]) == (laptop_profile, phone_profile)
    assert [m.merged_profile_id for m in world.published("ProfilesMerged")] == [phone_profile]


def test_a_shared_browser_never_merges_two_known_people() -> None:
    world = World()
    world.send("identify", "1", 0, anonymousId="family-pc", userId="mum")
    world.send("identify", "2", 0, anonymousId="son-phone", userId="son")
    mum, son = world.profile(user="mum")["profileId"], world.profile(user="son")["profileId"]
    # When the son logs in on the family computer
    world.send("identify", "3", 5, anonymousId="family-pc", userId="son")
    # Then the computer now points at him, and the two people stay apart
    assert world.profile(anon="family-pc")["profileId"] == son
    assert world.profile(user="mum")["profileId"] == mum
    assert world.published("ProfilesMerged") == []


def test_a_verified_profile_reference_merges_two_known_profiles() -> None:
    world = World()
    world.send("identify", "1", 0, anonymousId="work-pc", userId="ana-work")
    world.send("identify", "2", 0, anonymousId="home-pc", userId="ana-home")
    work = world.profile(user="ana-work")["profileId"]
    home = world.profile(user="ana-home")["profileId"]
    # When Ana clicks, at work, a link from an email sent to her home profile (a signed profile reference)
    world.send("track", "3", 5, event="Email Link Clicked", anonymousId="work-pc", profileId=home)
    # Then the work profile folds into the home profile
    assert world.profile(user="ana-work")["profileId"] == home
    assert [(m.surviving_profile_id, m.merged_profile_id) for m in world.published("ProfilesMerged")] == [(home, work)]


def test_an_alias_renames_a_user_and_keeps_one_profile() -> None:
    world = World()
    world.send("identify", "1", 0, anonymousId="a", userId="old-login")
    world.send("alias", "2", 1, userId="new-login", previousId="old-login")
    assert world.profile(user="new-login")["profileId"] == world.profile(user="old-login")["profileId"]
    assert world.published("ProfilesMerged") == []


def test_a_known_returning_visitor_costs_one_write_per_event() -> None:
    world = World()
    world.send("identify", "1", 0, anonymousId="a", userId="u", traits={"email": "u@example.com"})
    world.send("page", "2", 1, anonymousId="a", properties={"path": "/x"})
    before = world.store.writes
    world.send("page", "3", 2, anonymousId="a", properties={"path": "/y"})
    world.send("track", "4", 3, anonymousId="a", userId="u", event="Video Played")
    assert world.store.writes - before == 2


def test_a_redelivered_event_is_recorded_once_and_its_events_republished_with_the_same_ids() -> None:
    world = World()
    for incoming in (
        collected("page", "m-1", anonymousId="a", properties={"path": "/recipes/x"}),
        collected(
            "identify",
            "m-2",
            anonymousId="a",
            traits={"firstName": "Ana"},
            context={"consent": {"categoryPreferences": {"newsletter": True}}},
        ),
    ):
        first = RecordingPublisher()
        profile_id = record_event(incoming, world.store, first, world.settings)
        second = RecordingPublisher()  # the same bus event again, after everything was written
        assert record_event(incoming, world.store, second, world.settings) == profile_id
        assert [(e.id, e.data) for e in first.published] == [(e.id, e.data) for e in second.published]
    assert {e.detail_type for e in second.published} == {"ActivityRecorded", "ProfileUpdated", "ConsentChanged"}
    assert world.profile(anon="a")["computed"]["events"] == 2


def test_an_event_for_an_erased_profile_reference_alone_is_dropped() -> None:
    world = World()
    assert world.send("track", "1", 0, event="Email Opened", profileId="gone") is None
    assert world.bus.published == []


def test_traits_and_consent_from_events_reach_the_profile_and_are_announced() -> None:
    world = World()
    world.send(
        "identify",
        "1",
        0,
        anonymousId="a",
        traits={"firstName": "Ana", "email": "ana@example.com"},
        context={"consent": {"categoryPreferences": {"newsletter": True}}},
    )
    profile = world.profile(anon="a")
    assert profile["traits"] == {"firstName": "Ana", "email": "ana@example.com"}
    assert profile["consent"]["email_marketing"]["granted"] is True
    assert profile["consent"]["email_marketing"]["source"] == "event:site"
    (updated,) = world.published("ProfileUpdated")
    assert updated.changed["firstName"] == "Ana"
    # the computed traits the event changed come too, except the per-event counters (the event itself tells those)
    assert updated.changed["sessions"] == 1
    assert updated.changed["firstSeenAt"] == "2026-03-02T09:00:00.000Z"
    assert "events" not in updated.changed and "lastSeenAt" not in updated.changed
    (consent,) = world.published("ConsentChanged")
    assert (consent.purpose, consent.granted) == ("email_marketing", True)


def test_admin_merge_and_unmerge_give_back_each_person_their_own_state() -> None:
    world = World()
    world.send("identify", "1", 0, anonymousId="a", userId="ana", traits={"city": "Lyon"})
    world.send("page", "2", 1, anonymousId="a", properties={"path": "/recipes/a"})
    world.send("identify", "3", 2, anonymousId="b", userId="bob", traits={"city": "Paris", "plan": "pro"})
    world.send("page", "4", 3, anonymousId="b", properties={"path": "/history/b"})
    ana, bob = world.profile(user="ana")["profileId"], world.profile(user="bob")["profileId"]
    # When an admin merges Bob into Ana (a mistake), and then undoes it
    log = merge_by_admin(world.store, world.bus, ana, bob)
    merged = world.profile(user="bob")
    assert merged["profileId"] == ana
    assert merged["traits"]["plan"] == "pro"
    assert merged["computed"]["events"] == 4
    unmerge(world.store, world.bus, ana, log.merge_id)
    # Then each has their own identifiers, traits, computed traits and history again
    back_ana, back_bob = world.profile(user="ana"), world.profile(user="bob")
    assert (back_ana["profileId"], back_bob["profileId"]) == (ana, bob)
    assert back_ana["traits"] == {"city": "Lyon"}
    assert back_bob["traits"] == {"city": "Paris", "plan": "pro"}
    assert (back_ana["computed"]["events"], back_bob["computed"]["events"]) == (2, 2)
    assert back_ana["computed"]["pageViewsBySection"] == {"recipes": 1}
    assert back_ana["identities"]["userIds"] == ["ana"]
    assert sorted(a["messageId"] for a in back_bob["activity"]) == ["3", "4"]
    assert [u.restored_profile_id for u in world.published("ProfilesUnmerged")] == [bob]
    # And undoing twice changes nothing
    assert unmerge(world.store, world.bus, ana, log.merge_id).status == "undone"


def test_the_timeline_pages_newest_first_across_merged_profiles_and_filters_by_type() -> None:
    world = World()
    for i in range(5):
        world.send("page", f"a-{i}", i, anonymousId="a", properties={"path": f"/p/{i}"})
    for i in range(5, 8):
        world.send("track", f"b-{i}", i, anonymousId="b", event="Clicked")
    world.send("identify", "a-9", 9, anonymousId="a", userId="u")
    world.send("identify", "b-10", 10, anonymousId="b", userId="u")
    profile_id = find_profile_id("user", "u", world.store)
    seen: list[str] = []
    cursor = None
    while True:
        page = timeline(profile_id, world.store, limit=3, cursor=cursor)
        seen += [item["messageId"] for item in page["items"]]
        cursor = page["next"]
        if not cursor:
            break
    assert seen == ["b-10", "a-9", "b-7", "b-6", "b-5", "a-4", "a-3", "a-2", "a-1", "a-0"]
    tracks = timeline(profile_id, world.store, limit=10, types=["track"])
    assert [i["messageId"] for i in tracks["items"]] == ["b-7", "b-6", "b-5"]
    with pytest.raises(ValueError):
        timeline(profile_id, world.store, cursor="garbage!")


def test_unknown_profiles_are_not_found() -> None:
    world = World()
    with pytest.raises(ProfileNotFound):
        profile_view("nobody", world.store)


# ---- the invariant: whatever the order, every event lands on exactly one live profile --------------------------

devices = st.sampled_from(["laptop", "phone", "tablet"])
steps = st.lists(
    st.one_of(
        st.tuples(st.just("page"), devices, st.sampled_from(["/recipes/a", "/history/b", "/"])),
        st.tuples(st.just("identify"), devices, st.sampled_from(["ana", "bob"])),
        st.tuples(st.just("email"), devices, st.sampled_from(["ana@example.com", "bob@example.com"])),
    ),
    min_size=1,
    max_size=12,
)


@given(script=steps, data=st.data())
@settings(max_examples=60, deadline=None)
def test_no_event_is_ever_lost_whatever_the_order_of_arrival(script: list[tuple[str, str, str]], data: Any) -> None:
    world = World()
    messages = []
    for index, (kind, device, value) in enumerate(script):
        fields: dict[str, Any] = {"anonymousId": device}
        if kind == "page":
            fields["properties"] = {"path": value}
        elif kind == "identify":
            fields["userId"] = value
        else:
            kind, fields["traits"] = "identify", {"email": value}
        messages.append((kind, f"m-{index}", index, fields))
    for kind, message_id, minute, fields in data.draw(st.permutations(messages)):
        world.send(kind, message_id, minute, **fields)

    live = [p for p in world.store.profile_items.values() if p.merged_into is None]
    recorded: list[str] = []
    total_events = 0
    for profile in live:
        view = profile_view(profile.profile_id, world.store, activity_limit=0)
        total_events += view["computed"]["events"]
        recorded += [i["messageId"] for i in timeline(profile.profile_id, world.store, limit=100)["items"]]
    assert sorted(recorded) == sorted(m[1] for m in messages)  # each event once, on one live profile
    assert total_events == len(messages)  # and counted once in the computed traits


def test_a_page_view_in_the_same_session_announces_no_profile_update() -> None:
    world = World()
    world.send("page", "1", 0, anonymousId="a", properties={"path": "/recipes/a"})
    world.bus.published.clear()
    # When the visitor reads another page five minutes later, nothing but counters changes
    world.send("page", "2", 5, anonymousId="a", properties={"path": "/recipes/b"})
    assert [e.detail_type for e in world.bus.published] == ["ActivityRecorded"]
    # And an order changes computed traits worth announcing
    world.send("track", "3", 6, anonymousId="a", event="Order Completed", properties={"revenue": 12.5})
    (updated,) = world.published("ProfileUpdated")
    assert updated.changed == {"purchases": 1, "revenue": 12.5, "lastPurchaseAt": "2026-03-02T09:06:00.000Z"}
