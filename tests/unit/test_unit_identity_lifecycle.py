"""A person's data through its life (use cases over in-memory stores): imported, unsubscribed, suppressed,
exported, erased."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

import pytest

from services.common import clock
from services.common.bus import PublishFailed, RecordingPublisher
from services.common.contracts import envelope
from services.common.contracts.journeys import ProfileUpdateRequested
from services.common.contracts.registry import EventCollected
from services.identity.adapters.memory import MemoryImports, MemoryProfiles
from services.identity.domain.consent import unsubscribe_token
from services.identity.ports import ExportPartFailed
from services.identity.use_cases import privacy
from services.identity.use_cases.imports import add_part, create_import, import_status, process_chunk, start_import
from services.identity.use_cases.profiles import apply_requested_update
from services.identity.use_cases.reads import contact, find_profile_id, profile_view
from services.identity.use_cases.recording import record_event
from services.identity.use_cases.writes import ProfileNotFound

NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
KEY = b"signing-key" * 4


@pytest.fixture(autouse=True)
def frozen_clock() -> Any:
    clock.set_source(lambda: NOW)
    yield
    clock.set_source(None)


@pytest.fixture
def store() -> MemoryProfiles:
    return MemoryProfiles()


def page(anonymous_id: str, message_id: str, **fields: Any) -> Any:
    return envelope(
        EventCollected.model_validate(
            {
                "messageId": message_id,
                "type": "page",
                "timestamp": NOW,
                "receivedAt": NOW,
                "sourceId": "site",
                "trust": "verified",  # a signed-in site (a claim's limits: test_unit_identity_trust)
                "anonymousId": anonymous_id,
                "properties": {"path": "/recipes/x"},
                **fields,
            }
        )
    )


def run_import(store: MemoryProfiles, text: str, fmt: str = "csv") -> tuple[dict[str, Any], RecordingPublisher]:
    imports, bus = MemoryImports(), RecordingPublisher()
    job = create_import(imports, fmt, "contacts")  # type: ignore[arg-type]
    add_part(imports, job["importId"], 1, text, first_row=1)
    start_import(imports, bus, job["importId"])
    for queued in [e.data for e in bus.published if e.detail_type == "ContactsImportChunkQueued"]:
        process_chunk(imports, store, bus, queued.import_id, queued.chunk)
    return import_status(imports, job["importId"]), bus


CONTACTS = (
    "email,firstName,userId,consent.email_marketing,answers.q1\n"
    "ana@example.com,Ana,u-1,yes,5\n"
    "bo@example.com,Bo,,no,\n"
    "broken,Cy,,,\n"
    "ANA@example.com,Anna,,,\n"
)


def test_an_import_creates_contacts_reports_rejected_rows_and_is_idempotent_by_email(store: MemoryProfiles) -> None:
    status, bus = run_import(store, CONTACTS)
    assert (status["status"], status["rows"], status["created"], status["rejected"]) == ("completed", 4, 3, 1)
    assert status["rejectedRows"][0]["row"] == 3
    assert status["rejectedRows"][0]["reasons"] == ["email: not a valid address"]
    ana = profile_view(find_profile_id("email", "ana@example.com", store), store, activity_limit=0)
    assert ana["traits"]["firstName"] == "Anna"  # the later row of the same person wins
    assert ana["traits"]["answers"] == {"q1": 5}
    assert ana["identities"]["userIds"] == ["u-1"]
    assert ana["consent"]["email_marketing"]["granted"] is True
    assert ana["consent"]["email_marketing"]["source"].startswith("import:")
    assert {e.detail_type for e in bus.published} >= {"ProfileCreated", "ProfileUpdated", "ConsentChanged"}
    # When the same file is imported again, nobody is created or changed
    again, bus = run_import(store, CONTACTS)
    assert (again["created"], again["updated"], again["unchanged"], again["rejected"]) == (0, 0, 3, 1)
    assert [e.detail_type for e in bus.published] == ["ContactsImportChunkQueued"]


def test_an_import_updates_a_visitor_known_by_their_user_id_and_refuses_a_conflicting_row(
    store: MemoryProfiles,
) -> None:
    bus = RecordingPublisher()
    record_event(page("web-1", "m-1", type="identify", userId="u-7"), store, bus)
    record_event(page("web-2", "m-2", type="identify", traits={"email": "taken@example.com"}), store, bus)
    status, _ = run_import(
        store,
        '{"email": "cy@example.com", "userId": "u-7", "traits": {"tier": "gold"}}\n'
        '{"email": "taken@example.com", "userId": "u-7"}\n',
        "jsonl",
    )
    assert (status["updated"], status["rejected"]) == (1, 1)
    assert "belongs to another profile" in status["rejectedRows"][0]["reasons"][0]
    cy = profile_view(find_profile_id("user", "u-7", store), store, activity_limit=0)
    assert cy["traits"]["tier"] == "gold"
    assert cy["identities"]["emails"] == ["cy@example.com"]


def test_one_click_unsubscribe_turns_email_consent_off_and_a_forged_token_does_nothing(store: MemoryProfiles) -> None:
    run_import(store, "email,consent.email_marketing\nana@example.com,yes\n")
    ana = find_profile_id("email", "ana@example.com", store)
    bus = RecordingPublisher()
    with pytest.raises(privacy.InvalidToken):
        privacy.unsubscribe(store, bus, unsubscribe_token(ana, b"another key"), KEY)
    assert contact(ana, store)["consent"]["email_marketing"] is True
    privacy.unsubscribe(store, bus, unsubscribe_token(ana, KEY), KEY)
    assert contact(ana, store)["consent"]["email_marketing"] is False
    (changed,) = [e.data for e in bus.published]
    assert (changed.purpose, changed.granted, changed.source) == ("email_marketing", False, "unsubscribe")
    # a token for a profile that no longer exists gets the same answer and changes nothing
    privacy.unsubscribe(store, bus, unsubscribe_token("erased-profile", KEY), KEY)


def test_a_journey_step_refuses_email_consent_once_and_a_redelivery_changes_nothing(store: MemoryProfiles) -> None:
    run_import(store, "email,consent.email_marketing\nana@example.com,yes\n")
    ana = find_profile_id("email", "ana@example.com", store)
    request = envelope(
        ProfileUpdateRequested(
            profileId=ana,
            journeyId="re-permission",
            set={"emailMarketingLapsed": True},
            consent={"email_marketing": False},
        )
    )
    bus = RecordingPublisher()
    apply_requested_update(request, store, bus)
    assert contact(ana, store)["consent"]["email_marketing"] is False
    updated, refused = (e.data for e in bus.published)
    assert updated.changed == {"emailMarketingLapsed": True}
    assert (refused.purpose, refused.granted, refused.source) == ("email_marketing", False, "journey:re-permission")
    apply_requested_update(request, store, bus)
    assert len(bus.published) == 2


def test_a_bounce_suppresses_the_address_and_the_contact_answer_says_so(store: MemoryProfiles) -> None:
    run_import(store, "email,firstName\nAna@Example.com,Ana\n")
    ana = find_profile_id("email", "ana@example.com", store)
    assert contact(ana, store)["suppressed"] is False
    bounce = {"bounce": {"bounceType": "Permanent", "bouncedRecipients": [{"emailAddress": "ana@example.com"}]}}
    assert privacy.record_email_feedback(store, "Email Bounced", bounce) == ["ana@example.com"]
    assert privacy.record_email_feedback(store, "Email Bounced", bounce) == []  # once is enough
    answer = contact(ana, store)
    assert (answer["email"], answer["firstName"], answer["suppressed"]) == ("Ana@Example.com", "Ana", True)


def test_export_holds_everything_and_erasure_removes_everything(store: MemoryProfiles) -> None:
    bus = RecordingPublisher()
    record_event(page("phone", "m-1"), store, bus)
    record_event(page("laptop", "m-2", type="identify", userId="ana", traits={"email": "ana@example.com"}), store, bus)
    record_event(page("phone", "m-3", type="identify", userId="ana"), store, bus)  # the phone's profile folds in
    ana = find_profile_id("user", "ana", store)
    privacy.set_consent(store, bus, ana, {"tracking": True}, "banner")
    privacy.record_email_feedback(
        store,
        "Email Complaint Received",
        {"complaint": {"complainedRecipients": [{"emailAddress": "ana@example.com"}]}},
    )
    document = privacy.export(store, ana, {})
    assert document["profileId"] == ana
    mine = document["identity"]
    assert len(mine["profiles"]) == 2
    assert sorted(a["messageId"] for a in mine["activity"]) == ["m-1", "m-2", "m-3"]
    assert mine["traits"]["email"]["value"] == "ana@example.com"
    assert mine["consent"]["tracking"]["granted"] is True
    assert mine["suppression"][0]["reason"] == "complaint"
    assert len(mine["merges"]) == 1

    summary = privacy.erase(store, bus, ana)
    assert len(summary["profileIds"]) == 2
    assert store.pointer_items == {}
    assert store.profile_items == {}
    assert store.suppressed == {}
    assert store.logs == {}
    assert all(entry.kind == "erased" for chain in store.chains.values() for entry, _ in chain.values())
    (erased,) = [e.data for e in bus.published if e.detail_type == "ProfileErased"]
    assert set(erased.identifiers) >= {"anon:phone", "anon:laptop", "user:ana", "email:ana@example.com"}
    assert set(erased.profile_ids) == set(summary["profileIds"])
    with pytest.raises(ProfileNotFound):
        profile_view(ana, store)
    # A later visit from the same browser starts a new, empty profile
    record_event(page("phone", "m-4"), store, bus)
    fresh = profile_view(find_profile_id("anon", "phone", store), store)
    assert fresh["profileId"] != ana
    assert [a["messageId"] for a in fresh["activity"]] == ["m-4"]


def test_the_fences_of_an_erasure_are_lifted_with_what_landed_after_them_once_no_writer_can_be_in_flight(
    store: MemoryProfiles,
) -> None:
    from services.identity.domain.records import Entry

    bus = RecordingPublisher()
    record_event(page("phone", "m-1", type="identify", userId="ivy"), store, bus)
    ivy = find_profile_id("user", "ivy", store)
    privacy.erase(store, bus, ivy)
    (fence_seq,) = store.chains[ivy]
    # A writer that resolved Ivy's profile just before the erasure lands one entry after the fence
    store.append(ivy, Entry(seq=fence_seq + 1, kind="activity", recorded_at=clock.iso(NOW)), None)

    # Within the grace period the fence stays (it still turns writers away)
    assert privacy.lift_fences(store, NOW + dt.timedelta(minutes=9)) == 0
    assert fence_seq in store.chains[ivy]
    # After it, the fence and what landed after it are gone: nothing keyed by her profile id is left
    assert privacy.lift_fences(store, NOW + dt.timedelta(minutes=11)) == 1
    assert not store.chains.get(ivy)
    assert store.fences == set()
    assert privacy.lift_fences(store, NOW + dt.timedelta(minutes=20)) == 0


class ServiceParts:
    """Other services' export functions as identity's use case sees them: a part per service, or a failure."""

    def __init__(self, failing: str | None = None, unavailable: bool = False) -> None:
        self.failing, self.unavailable = failing, unavailable
        self.asked: list[tuple[str, list[str]]] = []

    def part(self, service: str) -> Callable[[Sequence[str]], dict[str, Any]]:
        def answer(profile_ids: Sequence[str]) -> dict[str, Any]:
            self.asked.append((service, list(profile_ids)))
            if service == self.failing:
                raise ExportPartFailed(service, "it broke", unavailable=self.unavailable)
            return {"profiles": [{"profileId": p, "of": service} for p in profile_ids]}

        return answer

    def all(self) -> dict[str, Callable[[Sequence[str]], dict[str, Any]]]:
        return {s: self.part(s) for s in ("segments", "journeys", "content")}


def merged_ana(store: MemoryProfiles) -> str:
    bus = RecordingPublisher()
    record_event(page("phone", "m-1"), store, bus)
    record_event(page("laptop", "m-2", type="identify", userId="ana", traits={"email": "ana@example.com"}), store, bus)
    record_event(page("phone", "m-3", type="identify", userId="ana"), store, bus)
    return find_profile_id("user", "ana", store)


def test_the_export_is_one_document_with_identitys_part_and_a_section_per_service(store: MemoryProfiles) -> None:
    # Given Ana, whose phone's anonymous profile was folded into her known one
    ana = merged_ana(store)
    services = ServiceParts()

    # When her data is exported
    document = privacy.export(store, ana, services.all())

    # Then every service was asked once, for the survivor and the merged profile, and each answer has its section
    (folded,) = [p["profileId"] for p in document["identity"]["profiles"] if p["profileId"] != ana]
    assert document["profileIds"] == [ana, folded]
    assert services.asked == [(s, [ana, folded]) for s in ("segments", "journeys", "content")]
    assert list(document) == ["exportedAt", "profileId", "profileIds", "identity", "segments", "journeys", "content"]
    assert document["exportedAt"] == "2026-03-02T09:00:00.000Z"
    assert document["segments"]["profiles"][0] == {"profileId": ana, "of": "segments"}
    assert document["identity"]["traits"]["email"]["value"] == "ana@example.com"


@pytest.mark.parametrize("unavailable", [False, True])
def test_a_service_that_cannot_give_its_part_fails_the_whole_export(store: MemoryProfiles, unavailable: bool) -> None:
    ana = merged_ana(store)
    services = ServiceParts(failing="journeys", unavailable=unavailable)
    with pytest.raises(ExportPartFailed) as failed:
        privacy.export(store, ana, services.all())
    # no partial document: the failure names the service, and whether it could be asked at all
    assert (failed.value.service, failed.value.unavailable) == ("journeys", unavailable)


def test_an_export_of_nobody_asks_no_service(store: MemoryProfiles) -> None:
    services = ServiceParts()
    with pytest.raises(ProfileNotFound):
        privacy.export(store, "no-such-profile", services.all())
    assert services.asked == []


class DiesOnPublish(RecordingPublisher):
    def publish(self, events: Any) -> None:
        super().publish(events)
        raise PublishFailed([{"id": "all", "error": "the publisher died"}])


def test_a_chunk_retried_after_its_writes_announces_the_same_events_and_counts_once(store: MemoryProfiles) -> None:
    imports, bus = MemoryImports(), RecordingPublisher()
    job = create_import(imports, "csv", "crm.csv")
    add_part(imports, job["importId"], 1, "email,firstName,consent.email_marketing\na@x.io,A,yes\nb@x.io,B,no\n", 1)
    start_import(imports, bus, job["importId"])
    (chunk,) = [e.data.chunk for e in bus.published if e.detail_type == "ContactsImportChunkQueued"]
    # Given a first attempt that wrote the profiles and then died while publishing
    dying = DiesOnPublish()
    with pytest.raises(PublishFailed):
        process_chunk(imports, store, dying, job["importId"], chunk)
    # When the chunk is redelivered
    retry = RecordingPublisher()
    process_chunk(imports, store, retry, job["importId"], chunk)
    # Then it announces exactly what the first attempt would have (same ids), and the job counts each row once
    assert sorted((e.id, e.detail_type) for e in retry.published) == sorted(
        (e.id, e.detail_type) for e in dying.published
    )
    status = import_status(imports, job["importId"])
    assert (status["status"], status["created"], status["updated"], status["unchanged"]) == ("completed", 2, 0, 0)
