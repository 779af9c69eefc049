"""Events arriving during a merge are not lost: concurrent writers on the real DynamoDB adapter (moto), with the
interleaving forced so that the merge and the events read the same chain head and then race to write."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest

from services.common.bus import RecordingPublisher
from services.common.contracts import Envelope, envelope
from services.common.contracts.registry import EventCollected
from services.common.ids import derived_id
from services.identity.adapters.dynamodb import DynamoProfiles
from services.identity.domain.records import Entry, IdentitySettings
from services.identity.use_cases.reads import find_profile_id, profile_view, timeline
from services.identity.use_cases.recording import record_event
from tests.conftest import START

BROWSER = {"device": {"type": "mobile", "os": "iOS", "browser": "Safari"}}


def collected(message_id: str, anonymous_id: str, kind: str = "page", **fields: Any) -> Envelope[EventCollected]:
    data = EventCollected.model_validate(
        {
            "messageId": message_id,
            "type": kind,
            "anonymousId": anonymous_id,
            "timestamp": START,
            "receivedAt": START,
            "sourceId": "site",
            "enrichment": BROWSER,
            "trust": "verified",  # a signed-in site: logins join devices (a claim's limits: test_identity_trust)
            **({"properties": {"path": "/recipes/x"}} if kind == "page" else {}),
            **fields,
        }
    )
    return envelope(data, id=derived_id("bus", message_id))


class Race:
    """The real adapter, except that the first read of the contested chain's head waits until every racer has
    read it, and the chosen loser's first write to that chain waits until the winner's write is in. Without the
    conditional append and the merge fence, the loser's write would overwrite or miss the winner's."""

    def __init__(self, real: DynamoProfiles, contested: str, racers: int) -> None:
        self.real = real
        self.contested = contested
        self.all_read = threading.Barrier(racers, timeout=20)
        self.winner_wrote = threading.Event()
        self.local = threading.local()

    def for_thread(self, role: str) -> Any:
        race = self

        class View:
            def __getattr__(self, name: str) -> Any:
                return getattr(race.real, name)

            def head(self, profile_id: str, consistent: bool = False) -> Entry | None:
                entry = race.real.head(profile_id, consistent)
                if profile_id == race.contested and not getattr(race.local, "read", False):
                    race.local.read = True
                    race.all_read.wait()
                return entry

            def append(self, profile_id: str, entry: Entry, expires_at: int | None) -> bool:
                if profile_id == race.contested and role == "loser" and not getattr(race.local, "wrote", False):
                    race.local.wrote = True
                    assert race.winner_wrote.wait(20)
                written = race.real.append(profile_id, entry, expires_at)
                if profile_id == race.contested and role == "winner":
                    race.winner_wrote.set()
                return written

        return View()


@pytest.mark.parametrize("merge_wins", [True, False], ids=["the-merge-closes-the-chain-first", "the-event-lands-first"])
def test_an_event_arriving_during_a_merge_is_not_lost(store: DynamoProfiles, merge_wins: bool) -> None:
    case = "merge-first" if merge_wins else "event-first"
    phone, user = f"phone-{case}", f"ana-{case}"
    settings = IdentitySettings()
    setup = RecordingPublisher()
    # Given Ana, known on her laptop, and her phone's anonymous history (two pages)
    record_event(collected(f"{case}-1", f"laptop-{case}", "identify", userId=user), store, setup, settings)
    record_event(collected(f"{case}-2", phone), store, setup, settings)
    record_event(collected(f"{case}-3", phone), store, setup, settings)
    ana = find_profile_id("user", user, store)
    phone_profile = find_profile_id("anon", phone, store)
    assert ana != phone_profile

    # When she logs in on the phone (folding the phone's profile into hers) while the phone sends another page,
    # both having read the phone chain's head before either writes
    race = Race(store, phone_profile, racers=2)
    published = RecordingPublisher()
    errors: list[BaseException] = []

    def run(role: str, incoming: Envelope[EventCollected]) -> None:
        try:
            record_event(incoming, race.for_thread(role), published, settings)
        except BaseException as error:  # surfaced below: a thread's failure must fail the test
            errors.append(error)

    merge = collected(f"{case}-login", phone, "identify", userId=user)
    page = collected(f"{case}-page", phone)
    threads = [
        threading.Thread(target=run, args=("winner" if merge_wins else "loser", merge)),
        threading.Thread(target=run, args=("loser" if merge_wins else "winner", page)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []

    # Then every event is on Ana's profile — counted once in the computed traits and once in the timeline
    view = profile_view(ana, store, activity_limit=0)
    assert view["computed"]["events"] == 5
    assert view["computed"]["pageViews"] == 3
    items = timeline(ana, store, limit=50)["items"]
    assert sorted(i["messageId"] for i in items) == sorted(
        f"{case}-{suffix}" for suffix in ("1", "2", "3", "login", "page")
    )
    # And the phone's old profile is closed, pointing at Ana's, and every id of the phone resolves to her
    head = store.head(phone_profile, consistent=True)
    assert head is not None
    assert (head.kind, head.merged_into) == ("merged", ana)
    assert find_profile_id("anon", phone, store) == ana
    assert profile_view(phone_profile, store, activity_limit=0)["profileId"] == ana
    # And consumers are told where each event landed: a page that beat the merge landed on the phone's profile,
    # and the merge announced after it moves that profile into Ana's; a page that lost went straight to Ana's
    recorded_on = {
        e.data.message_id: e.data.profile_id for e in published.published if e.detail_type == "ActivityRecorded"
    }
    assert recorded_on == {f"{case}-login": ana, f"{case}-page": ana if merge_wins else phone_profile}
    merges = [e.data for e in published.published if e.detail_type == "ProfilesMerged"]
    assert [(m.surviving_profile_id, m.merged_profile_id) for m in merges] == [(ana, phone_profile)]


def test_many_concurrent_events_on_one_profile_all_count(store: DynamoProfiles) -> None:
    settings = IdentitySettings()
    record_event(collected("burst-0", "burst-device"), store, RecordingPublisher(), settings)
    profile_id = find_profile_id("anon", "burst-device", store)
    race = Race(store, profile_id, racers=6)
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            record_event(
                collected(f"burst-{index}", "burst-device"), race.for_thread("any"), RecordingPublisher(), settings
            )
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(1, 7)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert profile_view(profile_id, store, activity_limit=0)["computed"]["pageViews"] == 7
    assert len(timeline(profile_id, store, limit=50)["items"]) == 7


def test_the_timeline_interleaves_a_merged_history_by_time(store: DynamoProfiles) -> None:
    settings = IdentitySettings()
    bus = RecordingPublisher()
    at = START
    for index, device in enumerate(["tl-a", "tl-b", "tl-a", "tl-b"]):
        incoming = collected(f"tl-{index}", device, timestamp=at + dt.timedelta(minutes=index))
        record_event(incoming, store, bus, settings)
    record_event(collected("tl-4", "tl-a", "identify", userId="tl-user"), store, bus, settings)
    record_event(collected("tl-5", "tl-b", "identify", userId="tl-user"), store, bus, settings)
    profile_id = find_profile_id("user", "tl-user", store)
    assert len(timeline(profile_id, store, limit=10)["items"]) == 6
