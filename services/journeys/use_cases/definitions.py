"""Journey definitions and their lifecycle: draft → active ⇄ paused → archived; each publish a new version."""

from __future__ import annotations

import zoneinfo
from typing import Any

from services.common import clock
from services.common.bus import Publisher
from services.common.ids import new_id
from services.journeys.domain import webhooks
from services.journeys.domain.compiler import compile_journey, substitute
from services.journeys.domain.definition import DefinitionError, EmailNode, WebhookNode, parse, referenced_pools
from services.journeys.domain.errors import JourneyNotFound, LifecycleConflict
from services.journeys.domain.tracked_email import MAX_TRACKED_LINKS, track_links
from services.journeys.ports import CouponPools, Directory, JourneyStore, Mailer, Runner
from services.journeys.use_cases.sending import email_template_name
from services.journeys.use_cases.steps import new_webhook_secret


def _valid_zone(name: str) -> bool:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True


def validate(
    document: Any,
    directory: Directory | None,
    allow_private_webhooks: bool = False,
    pools: CouponPools | None = None,
) -> Any:
    """The definition, or DefinitionError naming every refusal's path. Segments and plans must exist (asked of
    segments); with `pools` (at publish), so must the coupon pools of claimCode nodes."""
    legacy_html = (
        document.get("email", {}).get("html") if isinstance(document, dict) and "nodes" not in document else None
    )
    if isinstance(legacy_html, str) and len(track_links(legacy_html).links) > MAX_TRACKED_LINKS:
        raise DefinitionError([("email.html", f"at most {MAX_TRACKED_LINKS} distinct links can be tracked")])
    known = directory.definitions() if directory is not None else None
    definition = parse(
        document,
        known_segments=set(known["segments"]) if known else None,
        known_plans=set(known["plans"]) if known else None,
        valid_zone=_valid_zone,
    )
    problems: list[tuple[str, str]] = []
    if pools is not None:
        problems += [
            (path, f"no coupon pool {pool_id!r}")
            for pool_id, path in referenced_pools(definition).items()
            if pools.pool(pool_id) is None
        ]
    for n, node in enumerate(definition.nodes):
        if isinstance(node, WebhookNode):
            reason = webhooks.check_url(node.url, allow_private=allow_private_webhooks)
            if reason:
                problems.append((f"nodes[{n}].url", reason))
        # a content template's links are only known when it is rendered, at send time
        if (
            isinstance(node, EmailNode)
            and node.html is not None
            and len(track_links(node.html).links) > MAX_TRACKED_LINKS
        ):
            problems.append((f"nodes[{n}].html", f"at most {MAX_TRACKED_LINKS} distinct links can be tracked"))
    if problems:
        raise DefinitionError(problems)
    return definition


def create(document: Any, repo: JourneyStore, directory: Directory, allow_private: bool = False) -> dict[str, Any]:
    definition = validate(document, directory, allow_private)
    journey_id = new_id()
    return repo.create_journey(journey_id, definition.name, _with_secrets(definition), clock.now())


def _with_secrets(definition: Any) -> dict[str, Any]:
    """The document to store: webhooks without a secret get one (shown to admins, sent to nobody else)."""
    for node in definition.nodes:
        if isinstance(node, WebhookNode) and not node.secret:
            node.secret = new_webhook_secret()
    return definition.model_dump(by_alias=True, mode="json", exclude_none=True)


def update(
    journey_id: str, document: Any, repo: JourneyStore, directory: Directory, allow_private: bool = False
) -> dict[str, Any]:
    found = repo.journey(journey_id, consistent=True)
    if found is None:
        raise JourneyNotFound(journey_id)
    if found["status"] == "archived":
        raise LifecycleConflict("An archived journey cannot be changed.", "status")
    definition = validate(document, directory, allow_private)
    repo.save_draft(journey_id, definition.name, _with_secrets(definition), clock.now())
    return repo.journey(journey_id, consistent=True) or {}


def publish(
    journey_id: str,
    repo: JourneyStore,
    directory: Directory,
    runner: Runner,
    mailer: Mailer,
    functions: dict[str, str],
    allow_private: bool = False,
    pools: CouponPools | None = None,
) -> dict[str, Any]:
    """Compile the draft into a new version's state machine; runs already inside finish on their version. The
    coupon pools its claimCode nodes name must exist (`pools`)."""
    found = repo.journey(journey_id, consistent=True)
    if found is None:
        raise JourneyNotFound(journey_id)
    if found["status"] == "archived":
        raise LifecycleConflict("An archived journey cannot be published.", "status")
    definition = validate(found["draft"], directory, allow_private, pools)  # segments may have gone since the draft
    version = int(found.get("version") or 0) + 1
    tracked_links: dict[str, list[str]] = {}
    for node in definition.nodes:
        # a node naming a content template has no SES template: content renders it at send time, and an unknown
        # template id is only found then (journeys never reads content's table)
        if isinstance(node, EmailNode) and node.subject is not None and node.html is not None:
            tracked = track_links(node.html)
            mailer.save_template(
                email_template_name(journey_id, version, node.id), node.subject, tracked.html, node.text or ""
            )
            tracked_links[node.id] = list(tracked.links)
    asl = substitute(compile_journey(definition), functions)
    machine_arn = runner.deploy(journey_id, version, asl)
    record = {"definition": found["draft"], "machineArn": machine_arn, "trackedLinks": tracked_links}
    if not repo.publish(journey_id, version, record, clock.now()):
        raise LifecycleConflict("The journey was published or archived meanwhile; reload and try again.", "version")
    return repo.journey(journey_id, consistent=True) or {}


def set_status(journey_id: str, status: str, repo: JourneyStore) -> dict[str, Any]:
    expected = {"paused": ("active",), "active": ("paused",), "archived": ("draft", "active", "paused")}[status]
    if not repo.set_status(journey_id, status, clock.now(), expected):
        found = repo.journey(journey_id, consistent=True)
        if found is None:
            raise JourneyNotFound(journey_id)
        raise LifecycleConflict(f"A {found['status']} journey cannot become {status}.", "status")
    return repo.journey(journey_id, consistent=True) or {}


def resume(journey_id: str, repo: JourneyStore, runner: Runner) -> dict[str, Any]:
    """Active again: runs held at an action node go on."""
    journey = set_status(journey_id, "active", repo)
    released = 0
    for held in repo.holds(journey_id):
        node = held["key"].rsplit("#", 1)[1]
        runner.resume(held["token"], {"node": node, "branch": "resumed", "until": None})
        repo.release(journey_id, held["key"])
        released += 1
    return {**journey, "released": released}


def archive(journey_id: str, repo: JourneyStore, runner: Runner, publisher: Publisher) -> dict[str, Any]:
    """No new entries, and every run stops."""
    from services.journeys.use_cases.reactions import stop_run

    journey = set_status(journey_id, "archived", repo)
    stopped = 0
    now = clock.now()
    while True:
        running = repo.runs_of_journey(journey_id, "running", limit=100)
        if not running:
            break
        for run in running:
            live = repo.live_run(run["profileId"], journey_id)
            if live and stop_run(live, "archived", "journey archived", repo, runner, publisher, now):
                stopped += 1
            elif live is None:
                # history says running but the live item is gone: a run that ended meanwhile
                repo.finish_run(run["profileId"], {**run, "at": ""}, "archived", "journey archived", now)
    for held in repo.holds(journey_id):
        repo.release(journey_id, held["key"])
    return {**journey, "stopped": stopped}


def journey_view(found: dict[str, Any], repo: JourneyStore) -> dict[str, Any]:
    """A journey with its draft, its current definition and the list of versions."""
    versions = [
        {"version": v["version"], "publishedAt": v["publishedAt"], "machineArn": v["machineArn"]}
        for v in repo.versions(found["journeyId"])
    ]
    current = found.get("current") or {}
    out = {k: v for k, v in found.items() if k not in ("current", "paused")}
    out["definition"] = current.get("definition") or found.get("draft")
    out["versions"] = versions
    # the walking skeleton's readers expect these at the top level
    out.setdefault("trackedLinks", next(iter((current.get("trackedLinks") or {}).values()), []))
    return out


def require(found: dict[str, Any] | None, journey_id: str) -> dict[str, Any]:
    if found is None:
        raise JourneyNotFound(journey_id)
    return found
