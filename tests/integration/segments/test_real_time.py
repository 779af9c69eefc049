"""Real-time evaluation on the local cloud: one read and at most one write per activity, each transition
announced exactly once (redeliveries, a publisher that dies half-way), no lost updates between concurrent
consumers, trait changes from ProfileUpdated, exits by time alone."""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import botocore.client
import pytest

from services.common.bus import PublishFailed, RecordingPublisher
from services.common.contracts import envelope
from services.common.contracts.registry import ProfileErased, ProfileUpdated
from services.segments.adapters.dynamodb import DynamoSegments
from services.segments.domain.profiles import ProfileState, Tick
from services.segments.use_cases import process, record_activity
from tests.conftest import Api
from tests.integration.segments.conftest import Tap, activity, catalog_of

RECIPES = {"type": "page", "where": [{"property": "path", "op": "startsWith", "value": "/recipes"}]}


@pytest.fixture(scope="module")
def segments(cloud: Any, api: Api) -> dict[str, str]:
    """Given a recipe segment (2 views in 14 days) and a trait segment (Dutch profiles)."""
    recipes = api.admin(
        "POST",
        "/v1/segments",
        {"name": "Recipe readers", "condition": {"behaviour": RECIPES, "op": "atLeast", "value": 2, "withinDays": 14}},
    )
    dutch = api.admin(
        "POST", "/v1/segments", {"name": "Dutch", "condition": {"trait": "country", "op": "equals", "value": "NL"}}
    )
    assert recipes.status == dutch.status == 201, (recipes.body, dutch.body)
    cloud.settle()
    return {"recipes": recipes.body["segmentId"], "dutch": dutch.body["segmentId"]}


class DynamoCalls:
    """DynamoDB requests made by this thread, by operation."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()

    @contextmanager
    def watching(self) -> Iterator[DynamoCalls]:
        original = botocore.client.BaseClient._make_api_call
        me = threading.get_ident()
        calls = self.calls

        def counted(client: Any, operation: str, params: dict[str, Any]) -> Any:
            if client.meta.service_model.service_name == "dynamodb" and threading.get_ident() == me:
                calls[operation] += 1
            return original(client, operation, params)

        botocore.client.BaseClient._make_api_call = counted  # type: ignore[method-assign]
        try:
            yield self
        finally:
            botocore.client.BaseClient._make_api_call = original  # type: ignore[method-assign]


class DiesAfterTheWrite(RecordingPublisher):
    def publish(self, events: Any) -> None:
        raise PublishFailed([{"id": "all", "error": "the publisher died"}])


def entries(published: list[Any]) -> list[str]:
    return [e.data.segment_id for e in published if e.detail_type == "SegmentEntered"]


def test_an_activity_costs_one_read_and_at_most_one_write(repo: DynamoSegments, segments: dict[str, str]) -> None:
    catalog = catalog_of(repo)
    publisher = RecordingPublisher()
    record_activity(activity("p-cost", "m1", path="/recipes/a"), repo, publisher, catalog)
    record_activity(activity("p-cost", "m2", path="/recipes/b"), repo, publisher, catalog)
    assert entries(publisher.published) == [segments["recipes"]]

    # When a member views a third recipe (counted, no transition), and then the about page (nothing to count)
    counted, ignored = DynamoCalls(), DynamoCalls()
    with counted.watching():
        record_activity(activity("p-cost", "m3", path="/recipes/c"), repo, publisher, catalog)
    with ignored.watching():
        record_activity(activity("p-cost", "m4", path="/about"), repo, publisher, catalog)

    # Then one GetItem and one PutItem; then one GetItem and no write at all
    assert counted.calls == Counter({"GetItem": 1, "PutItem": 1})
    assert ignored.calls == Counter({"GetItem": 1})


def test_a_redelivered_activity_is_counted_once_and_announced_once(
    repo: DynamoSegments, segments: dict[str, str]
) -> None:
    catalog = catalog_of(repo)
    publisher = RecordingPublisher()
    second = activity("p-again", "m2", path="/recipes/b")
    record_activity(activity("p-again", "m1", path="/recipes/a"), repo, publisher, catalog)
    record_activity(second, repo, publisher, catalog)
    record_activity(second, repo, publisher, catalog)  # the queue delivers it again
    assert entries(publisher.published) == [segments["recipes"]]
    state = ProfileState.from_json(repo.rollup("p-again").state)
    assert [c.total for c in state.counters.values()] == [2]


def test_a_transition_written_but_not_published_is_published_once_by_the_redelivery(
    repo: DynamoSegments, segments: dict[str, str]
) -> None:
    catalog = catalog_of(repo)
    publisher = RecordingPublisher()
    record_activity(activity("p-crash", "m1", path="/recipes/a"), repo, publisher, catalog)

    # When the consumer writes the entry and dies before publishing it
    second = activity("p-crash", "m2", path="/recipes/b")
    with pytest.raises(PublishFailed):
        record_activity(second, repo, DiesAfterTheWrite(), catalog)
    assert repo.rollup("p-crash").outbox != []

    # Then the redelivered message publishes the entry (once, with its id), and a further redelivery nothing
    record_activity(second, repo, publisher, catalog)
    record_activity(second, repo, publisher, catalog)
    assert entries(publisher.published) == [segments["recipes"]]
    assert repo.rollup("p-crash").outbox == []


def test_the_same_activity_delivered_twice_on_the_bus_enters_the_segment_once(
    cloud: Any, bus: Any, segments: dict[str, str], tap: Tap
) -> None:
    at = cloud.clock.now()
    first, second = (activity("p-bus", f"m{i}", at=at, path=f"/recipes/{i}") for i in range(2))
    bus.publish([first, second, second])
    cloud.settle()
    bus.publish([second])
    cloud.settle()
    entered = tap.of("p-bus", "SegmentEntered")
    assert [e["data"]["segmentId"] for e in entered] == [segments["recipes"]]
    assert cloud.dead_letters() == {}


def test_concurrent_consumers_of_one_profile_lose_no_update(repo: DynamoSegments, segments: dict[str, str]) -> None:
    # Given four consumers that each read the profile before any of them writes
    catalog = catalog_of(repo)
    publisher = RecordingPublisher()
    everyone_has_read = threading.Barrier(4, timeout=10)
    one_write_at_a_time = threading.Lock()

    class ReadTogether:
        """The real adapter; each consumer's first read waits for the others' (the interleaving that loses
        updates unless writes are conditional). DynamoDB checks a condition and writes atomically; moto, called
        from threads, does not — so writes (only) are serialised here, as the real service does per item."""

        def __init__(self) -> None:
            self.first = True

        def __getattr__(self, name: str) -> Any:
            return getattr(repo, name)

        def save_rollup(self, *args: Any) -> int:
            with one_write_at_a_time:
                return repo.save_rollup(*args)

        def set_outbox(self, *args: Any) -> bool:
            with one_write_at_a_time:
                return repo.set_outbox(*args)

        def rollup(self, profile_id: str) -> Any:
            stored = repo.rollup(profile_id)
            if self.first:
                self.first = False
                everyone_has_read.wait()
            return stored

    errors: list[BaseException] = []

    def consume(index: int) -> None:
        try:
            record_activity(
                activity("p-race", f"m{index}", path=f"/recipes/{index}"), ReadTogether(), publisher, catalog
            )  # type: ignore[arg-type]
        except BaseException as error:  # reported below
            errors.append(error)

    # When they apply one recipe view each, at the same moment
    threads = [threading.Thread(target=consume, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Then all four count, and the profile entered the segment exactly once
    assert errors == []
    state = ProfileState.from_json(repo.rollup("p-race").state)
    assert [c.total for c in state.counters.values()] == [4]
    assert entries(publisher.published) == [segments["recipes"]]


def test_a_trait_change_from_identity_moves_the_profile(
    cloud: Any, bus: Any, repo: DynamoSegments, segments: dict[str, str], tap: Tap
) -> None:
    bus.publish([envelope(ProfileUpdated(profileId="p-trait", changed={"country": "NL", "firstName": "Ana"}))])
    cloud.settle()
    bus.publish([envelope(ProfileUpdated(profileId="p-trait", changed={"country": "BE"}))])
    cloud.settle()
    events = tap.of("p-trait", "SegmentEntered", "SegmentExited")
    assert [(e["type"], e["data"]["segmentId"]) for e in events] == [
        ("SegmentEntered", segments["dutch"]),
        ("SegmentExited", segments["dutch"]),
    ]
    assert events[0]["data"]["sequence"] < events[1]["data"]["sequence"]
    assert ProfileState.from_json(repo.rollup("p-trait").state).traits == {"country": "BE", "firstName": "Ana"}


def test_an_erased_profile_leaves_no_rollup_and_no_count_behind(
    cloud: Any, bus: Any, repo: DynamoSegments, segments: dict[str, str]
) -> None:
    # Given a Dutch profile, counted in the segment's size
    bus.publish([envelope(ProfileUpdated(profileId="p-erased", changed={"country": "NL", "email": "e@example.com"}))])
    cloud.settle()
    size = repo.current_counters()[f"size|{segments['dutch']}"]
    assert repo.rollup("p-erased").version > 0

    # When the person asks for erasure (delivered twice)
    erased = envelope(ProfileErased(profileId="p-erased", identifiers=["email:e@example.com"]))
    bus.publish([erased, erased])
    cloud.settle()

    # Then nothing of theirs is left, and the segment is one smaller
    assert repo.rollup("p-erased").version == 0
    assert repo.current_counters()[f"size|{segments['dutch']}"] == size - 1
    assert cloud.dead_letters() == {}


def test_an_unconfirmed_exit_is_published_by_the_sweep_a_minute_later(
    cloud: Any, repo: DynamoSegments, segments: dict[str, str], tap: Tap
) -> None:
    # Given a member whose window passes, and a sweep that dies after writing the exit (the last test: it moves the
    # module's clock on)
    catalog = catalog_of(repo)
    now = cloud.clock.now()
    for i, path in enumerate(("/recipes/a", "/recipes/b")):
        record_activity(activity("p-sweep", f"m{i}", at=now, path=path), repo, RecordingPublisher(), catalog)
    later = now + dt.timedelta(days=14)
    with pytest.raises(PublishFailed):
        process(repo, DiesAfterTheWrite(), catalog, "p-sweep", Tick(), "tick:p-sweep", now=later)
    assert segments["recipes"] not in ProfileState.from_json(repo.rollup("p-sweep").state).members

    # When the clock passes that moment and a minute more: the scheduled sweep publishes the exit, once
    cloud.advance("15d")
    cloud.advance("2m")
    exits = tap.of("p-sweep", "SegmentExited")
    assert [e["data"]["segmentId"] for e in exits] == [segments["recipes"]]
    assert repo.rollup("p-sweep").outbox == []
