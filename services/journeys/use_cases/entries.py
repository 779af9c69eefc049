"""Entering profiles into journeys: trigger matching, the audience, re-entry rules, one run per entry key."""

from __future__ import annotations

import string
from typing import Any

from services.common import clock
from services.common.bus import Publisher
from services.common.clock import iso
from services.common.contracts import Envelope, envelope
from services.common.contracts.journeys import JourneyEntered
from services.common.ids import derived_id
from services.journeys.domain.catalog import LiveJourney
from services.journeys.domain.runs import holds, may_enter, parse_moment
from services.journeys.ports import Directory, JourneyStore, Runner
from services.journeys.use_cases import counting
from services.journeys.use_cases.facts import gather

_NAME_CHARACTERS = frozenset(string.ascii_letters + string.digits + "-_")


def run_id_of(journey_id: str, profile_id: str, entry_key: str) -> str:
    """The run's id: one run per journey, profile and entry key (one event never enrols twice)."""
    return derived_id(journey_id, profile_id, entry_key)


def execution_name(run_id: str, profile_id: str) -> str:
    """The execution's name (≤ 80 characters), ending with the profile id so an operator finds a person's runs."""
    name = f"{run_id.replace('-', '')[:20]}-{profile_id}"
    return name if len(name) <= 80 and all(c in _NAME_CHARACTERS for c in name) else run_id


def enter(
    journey: LiveJourney,
    profile_id: str,
    entry_key: str,
    repo: JourneyStore,
    runner: Runner,
    directory: Directory,
    publisher: Publisher,
    correlation_id: str | None = None,
    context: dict[str, Any] | None = None,
    start_at: str | None = None,
) -> str:
    """Enter the profile if the journey's rules allow; returns what happened (entered, or why not)."""
    now = clock.now()
    if repo.is_erased(profile_id, now):
        return "erased"
    run_id = run_id_of(journey.journey_id, profile_id, entry_key)
    name = execution_name(run_id, profile_id)
    live = repo.live_run(profile_id, journey.journey_id)
    if live is not None and live.get("runId") != run_id:
        return "already inside"
    if live is None:
        entry = journey.definition.entry
        last = None if entry.reentry == "whenNotInside" else repo.last_run(profile_id, journey.journey_id)
        if last is not None and last.get("runId") == run_id:
            return "duplicate entry"
        why = may_enter(entry.reentry, parse_moment(last["enteredAt"]) if last else None, False, now)
        if why:
            return why
        if entry.audience is not None and not holds(
            entry.audience, gather(entry.audience, profile_id, directory, None)
        ):
            return "not in the audience"
        run = {
            "runId": run_id,
            "journeyId": journey.journey_id,
            "version": journey.version,
            "profileId": profile_id,
            "enteredAt": iso(now),
            "execution": journey.machine_arn.replace(":stateMachine:", ":execution:") + f":{name}",
        }
        if not repo.enter(profile_id, journey.journey_id, run, now):
            again = repo.live_run(profile_id, journey.journey_id)
            if again is None or again.get("runId") != run_id:
                return "already inside" if again else "duplicate entry"
    # counted once per run (the marker), also when an earlier attempt entered the run and then failed
    counting.count(
        repo, journey.journey_id, journey.version, f"{run_id}#entered", [(counting.JOURNEY_LEVEL, "entered")], now
    )
    run_input = {
        "run": {
            "runId": run_id,
            "journeyId": journey.journey_id,
            "version": journey.version,
            "profileId": profile_id,
            "enteredAt": iso(now),
            "context": context or {},
            **({"startAt": start_at} if start_at else {}),
        },
        "step": {"node": None, "branch": None, "until": None},
    }
    execution = runner.start(journey.machine_arn, name, run_input)
    publisher.publish(
        [
            envelope(
                JourneyEntered(profileId=profile_id, journeyId=journey.journey_id, execution=execution),
                id=derived_id(run_id, "JourneyEntered"),
                correlation_id=correlation_id,
            )
        ]
    )
    return "entered"


def enter_on(
    incoming: Envelope[Any],
    journeys: list[LiveJourney],
    key_suffix: str,
    repo: JourneyStore,
    runner: Runner,
    directory: Directory,
    publisher: Publisher,
    context: dict[str, Any] | None = None,
) -> dict[str, str]:
    """Enter the profile of a bus event into each journey it triggers; the event id is the entry key."""
    profile_id = incoming.data.profile_id
    return {
        j.journey_id: enter(
            j,
            profile_id,
            f"{incoming.id}{key_suffix}",
            repo,
            runner,
            directory,
            publisher,
            incoming.correlation_id,
            context,
        )
        for j in journeys
    }
