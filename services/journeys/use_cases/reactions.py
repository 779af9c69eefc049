"""What the bus tells journeys: triggers enter profiles; activity resumes waits, ends runs on goals, notes facts."""

from __future__ import annotations

import datetime as dt
from typing import Any

from services.common import clock
from services.common.bus import Publisher
from services.common.clock import iso
from services.common.contracts import Envelope, envelope
from services.common.contracts.journeys import JourneyExited
from services.common.ids import derived_id
from services.journeys.domain.catalog import Catalog
from services.journeys.domain.definition import JourneyDefinition, PropertyFilter
from services.journeys.domain.runs import (
    event_name,
    is_machine,
    matches,
    parse_moment,
    property_matches,
    run_facts,
    trait_date_start,
)
from services.journeys.ports import Directory, JourneyStore, Runner
from services.journeys.use_cases import counting
from services.journeys.use_cases.entries import enter, enter_on

Versions = Any  # (journey_id, version) → (JourneyDefinition, record)


def on_segment_entered(
    incoming: Envelope[Any],
    catalog: Catalog,
    repo: JourneyStore,
    runner: Runner,
    directory: Directory,
    publisher: Publisher,
) -> dict[str, str]:
    return enter_on(
        incoming, catalog.triggered("segmentEntered", incoming.data.segment_id), "", repo, runner, directory, publisher
    )


def on_segment_exited(
    incoming: Envelope[Any],
    catalog: Catalog,
    repo: JourneyStore,
    runner: Runner,
    directory: Directory,
    publisher: Publisher,
) -> dict[str, str]:
    segment = incoming.data.segment_id
    result = enter_on(incoming, catalog.triggered("segmentExited", segment), "", repo, runner, directory, publisher)
    leaving = catalog.exit_segments.get(segment, [])
    if leaving:
        for live in repo.live_runs(incoming.data.profile_id):
            if live["journeyId"] in leaving:
                stop_run(live, "exited", f"left segment {segment}", repo, runner, publisher, clock.now())
                result[live["journeyId"]] = "exited"
    return result


def on_threshold_crossed(
    incoming: Envelope[Any],
    catalog: Catalog,
    repo: JourneyStore,
    runner: Runner,
    directory: Directory,
    publisher: Publisher,
) -> dict[str, str]:
    data = incoming.data
    chosen = [
        j
        for j in catalog.triggered("scoreThresholdCrossed", data.plan_id)
        if (c := j.definition.entry.trigger.score_threshold_crossed)
        and c.tier == data.tier
        and c.direction == data.direction
    ]
    crossed = {
        "planId": data.plan_id,
        "tier": data.tier,
        "previousTier": data.previous_tier,
        "direction": data.direction,
        "score": data.score,
    }
    return enter_on(incoming, chosen, "", repo, runner, directory, publisher, crossed)


def on_profile_updated(
    incoming: Envelope[Any],
    catalog: Catalog,
    repo: JourneyStore,
    runner: Runner,
    directory: Directory,
    publisher: Publisher,
) -> dict[str, str]:
    """A trait changed: trait-change journeys enter; trait-date journeys enter and begin on that date."""
    result: dict[str, str] = {}
    for trait, value in incoming.data.changed.items():
        for journey in catalog.triggered("traitChanged", trait):
            trigger = journey.definition.entry.trigger
            start_at = None
            key = f"{incoming.id}#{trait}"
            if trigger.trait_changed is not None:
                wanted = trigger.trait_changed.to
                if wanted is not None and str(wanted).strip().lower() != str(value).strip().lower():
                    continue
            elif trigger.trait_date is not None:
                moment = parse_moment(value)
                if moment is None:
                    continue
                begin = trait_date_start(moment, trigger.trait_date.offset_days, trigger.trait_date.yearly, clock.now())
                start_at = iso(begin)
                if trigger.trait_date.yearly:  # one run per anniversary, however often the trait is sent again
                    key = f"yearly#{trait}#{begin.date().isoformat()}"
            result[journey.journey_id] = enter(
                journey,
                incoming.data.profile_id,
                key,
                repo,
                runner,
                directory,
                publisher,
                incoming.correlation_id,
                {"trait": trait, "value": value},
                start_at,
            )
    return result


def on_activity(
    incoming: Envelope[Any],
    catalog: Catalog,
    repo: JourneyStore,
    runner: Runner,
    directory: Directory,
    publisher: Publisher,
    versions: Versions,
) -> dict[str, Any]:
    """An event no journey mentions costs nothing (no read); one that matters costs one query of the profile's
    live runs, whatever the number of journeys."""
    activity = incoming.data.model_dump(by_alias=True)
    name = event_name(activity)
    if name is None or (name not in catalog.in_run_events and name not in catalog.trigger_events()):
        return {}
    properties = activity.get("properties") or {}
    profile_id = incoming.data.profile_id
    machine = is_machine(activity)
    result: dict[str, Any] = {}
    now = clock.now()
    if name in catalog.in_run_events:
        for live in repo.live_runs(profile_id):
            found = versions(live["journeyId"], int(live["version"]))
            result[live["journeyId"]] = react(live, found[0], name, properties, machine, repo, runner, publisher, now)
    if name in catalog.trigger_events() and not machine:
        for journey in catalog.triggered("event", name):
            trigger = journey.definition.entry.trigger.event
            if trigger is not None and matches(trigger, name, properties):
                result[journey.journey_id] = enter(
                    journey,
                    profile_id,
                    incoming.data.message_id,
                    repo,
                    runner,
                    directory,
                    publisher,
                    incoming.correlation_id,
                    {"event": name, "properties": properties},
                )
    return result


def react(
    live: dict[str, Any],
    definition: JourneyDefinition,
    name: str,
    properties: dict[str, Any],
    machine: bool,
    repo: JourneyStore,
    runner: Runner,
    publisher: Publisher,
    now: dt.datetime,
) -> str:
    """One live run and one activity: a goal ends it; a wait it matches resumes it; facts are noted."""
    if definition.goal is not None and not machine and matches(definition.goal, name, properties):
        return "converted" if stop_run(live, "converted", "goal", repo, runner, publisher, now) else "ended"
    outcome = "noted"
    waiting = live.get("waiting")
    if waiting and not machine:
        for index, branch in enumerate(waiting.get("branches") or []):
            if branch.get("event") != name:
                continue
            if any(not _where(f, properties) for f in branch.get("where") or []):
                continue
            if (
                branch.get("message")
                and (live.get("messages") or {}).get(str(properties.get("emailMessageId"))) != branch["message"]
            ):
                continue
            if repo.update_live(live["profileId"], live["journeyId"], live["runId"], {}, removes=("waiting",)):
                runner.resume(waiting["token"], {"node": waiting["node"], "branch": str(index), "until": None})
                outcome = "resumed"
            break
    facts = run_facts(name, properties, machine, live.get("messages") or {})
    known = live.get("facts") or {}
    sets: dict[str, Any] = {}
    for fact, value in facts.items():
        if fact in ("opened", "clicked"):
            seen = list(known.get(fact) or [])
            if value not in seen:
                sets[f"facts.{fact}"] = [*seen, value]
                counting.count(
                    repo,
                    live["journeyId"],
                    int(live["version"]),
                    f"{live['runId']}#{fact}#{value}",
                    [(value, fact)],
                    now,
                )
        elif not known.get(fact):
            sets[f"facts.{fact}"] = True
    if sets:
        repo.update_live(live["profileId"], live["journeyId"], live["runId"], sets)
    return outcome


def _where(raw: dict[str, Any], properties: dict[str, Any]) -> bool:
    """A stored wait branch's filter (kept as JSON on the live run) against an event's properties."""
    return property_matches(PropertyFilter.model_validate(raw), properties)


def stop_run(
    live: dict[str, Any],
    state: str,
    reason: str,
    repo: JourneyStore,
    runner: Runner,
    publisher: Publisher,
    now: dt.datetime,
) -> bool:
    """End a run from outside (goal, segment exit, archive, erasure): stop it, count it where it was, once."""
    if not repo.finish_run(live["profileId"], live, state, reason, now):
        return False
    runner.stop(live["execution"], "Journey" + state.capitalize(), reason)
    version = int(live["version"])
    changes = [(counting.JOURNEY_LEVEL, "goal" if state == "converted" else state)]
    at = live.get("at")
    if at and at != "entry":
        changes.append((at, "exited"))
    for node, branch in (live.get("path") or {}).items():
        if state == "converted":
            changes.append((node, f"goal:{branch}"))
    counting.count(repo, live["journeyId"], version, f"{live['runId']}#stopped", changes, now)
    publisher.publish(
        [
            envelope(
                JourneyExited(profileId=live["profileId"], journeyId=live["journeyId"], reason=reason),
                id=derived_id(live["runId"], "JourneyExited"),
            )
        ]
    )
    return True


def on_consent_changed(incoming: Envelope[Any], repo: JourneyStore) -> int:
    """Someone stopped email marketing while in runs: counted as an unsubscribe at each run's last email."""
    data = incoming.data
    if data.purpose != "email_marketing" or data.granted:
        return 0
    counted = 0
    for live in repo.live_runs(data.profile_id):
        node = live.get("lastEmail")
        if node and counting.count(
            repo,
            live["journeyId"],
            int(live["version"]),
            f"{live['runId']}#unsubscribed",
            [(node, "unsubscribed")],
            clock.now(),
        ):
            counted += 1
    return counted


def on_email_delivered(mail: dict[str, Any], repo: JourneyStore) -> bool:
    """SES delivered a journey email (its delivery event carries our tags): one `delivered` for its node."""
    tags = mail.get("tags") or {}

    def tag(name: str) -> str | None:
        values = tags.get(name) or []
        return str(values[0]) if values else None

    journey_id, version, node = tag("journey"), tag("version"), tag("node")
    message_id = mail.get("messageId")
    if not (journey_id and version and version.isdigit() and node and message_id):
        return False  # not a journey email (a test send, an older email without tags)
    return counting.count(repo, journey_id, int(version), f"delivered#{message_id}", [(node, "delivered")], clock.now())


def next_anniversary(
    run: dict[str, Any],
    catalog: Catalog,
    repo: JourneyStore,
    runner: Runner,
    directory: Directory,
    publisher: Publisher,
) -> str | None:
    """A yearly trait-date run (a birthday) ended: enter the profile again for the next anniversary."""
    journey = catalog.journeys.get(run["journeyId"])
    trigger = journey.definition.entry.trigger.trait_date if journey else None
    if journey is None or trigger is None or not trigger.yearly:
        return None
    moment = parse_moment((directory.contact(run["profileId"]).get("traits") or {}).get(trigger.trait))
    if moment is None:
        return None
    begin = trait_date_start(moment, trigger.offset_days, True, clock.now() + dt.timedelta(days=1))
    return enter(
        journey,
        run["profileId"],
        f"yearly#{trigger.trait}#{begin.date().isoformat()}",
        repo,
        runner,
        directory,
        publisher,
        context={"trait": trigger.trait},
        start_at=iso(begin),
    )
