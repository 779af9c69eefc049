"""The journey step task: each node's work and bookkeeping, answering which edge the run takes."""

from __future__ import annotations

import datetime as dt
import secrets as random
from typing import Any

from services.common import clock
from services.common.bus import Publisher
from services.common.clock import iso
from services.common.contracts import envelope
from services.common.contracts.journeys import (
    JourneyEventPublished,
    JourneyExited,
    MessageSent,
    ProfileUpdateRequested,
    ScorePointsRequested,
)
from services.common.ids import derived_id
from services.journeys.adapters.aws import TryAgain
from services.journeys.domain import webhooks
from services.journeys.domain.definition import (
    AddScoreNode,
    ClaimCodeNode,
    ConditionNode,
    HoldoutNode,
    JourneyDefinition,
    PublishEventNode,
    SmsNode,
    SplitNode,
    UpdateProfileNode,
    WaitForEventNode,
    WaitNode,
    WebhookNode,
    node_by_id,
)
from services.journeys.domain.runs import bucket, holds, split_branch, wait_until
from services.journeys.ports import CouponPools, Directory, JourneyStore, Runner, Texter, Webhooks
from services.journeys.use_cases import counting, coupons
from services.journeys.use_cases.facts import gather
from services.journeys.use_cases.sending import (
    Channel,
    announce_failure,
    delivery_verdict,
    message_blocked,
    send_context,
    take_rate_slot,
)


def answer(node: str, branch: str | None, until: dt.datetime | None = None) -> dict[str, Any]:
    return {"node": node, "branch": branch, "until": iso(until) if until else None}


DECISIONS = (ConditionNode, SplitNode, HoldoutNode)


def decided_by_itself(definition: JourneyDefinition | None, node_id: str | None) -> bool:
    """Whether the node counted its branch when it took it (a decision node), rather than on arrival after."""
    if definition is None or not node_id:
        return False
    found = next((n for n in definition.nodes if n.id == node_id), None)
    return isinstance(found, DECISIONS)


def arrive(
    task: dict[str, Any],
    repo: JourneyStore,
    now: dt.datetime,
    definition: JourneyDefinition | None = None,
    decision: str | None = None,
) -> None:
    """Count the run's arrival at this node (once per visit), the branch a decision node takes, and note where
    the run is and which branches it took."""
    run, node = task["run"], task["node"]
    via = task.get("via") or {}
    via_decided = decided_by_itself(definition, via.get("node"))
    changes = counting.arrival(run, node, via, decided=via_decided)
    sets: dict[str, Any] = {"at": node}
    if decision is not None:
        changes.append((node, f"branch:{decision}"))
        sets[f"path.{node}"] = decision
    if changes:
        counting.count(
            repo, run["journeyId"], int(run["version"]), f"{run['runId']}#{node}#{task['enteredTime']}", changes, now
        )
    if via.get("node") and via.get("branch") is not None and via["node"] != node and not via_decided:
        sets[f"path.{via['node']}"] = via["branch"]
    repo.update_live(run["profileId"], run["journeyId"], run["runId"], sets, removes=("waiting",))


def run_step(
    task: dict[str, Any],
    definition: JourneyDefinition,
    repo: JourneyStore,
    directory: Directory,
    runner: Runner,
    publisher: Publisher,
    texter: Texter,
    hooks: Webhooks,
    journey_status: str,
    sms_rules: dict[str, str],
    allow_private: bool = False,
    pools: CouponPools | None = None,
) -> dict[str, Any]:
    kind, node_id, run = task["kind"], task["node"], task["run"]
    now = clock.now()
    if kind in ("finish", "fail"):
        return finish(task, repo, publisher, "completed" if kind == "finish" else "failed", now, definition=definition)
    if kind == "hold":
        repo.hold(run["journeyId"], run["runId"], node_id, task["token"], now)
        return answer(node_id, "held")
    node = node_by_id(definition, node_id)
    profile_id = run["profileId"]
    decision = _decide(node, run, definition, repo, directory) if isinstance(node, DECISIONS) else None
    arrive(task, repo, now, definition, decision)
    if decision is not None:
        return answer(node_id, decision)
    if kind == "exit":
        return finish(
            {**task, "via": {"node": node_id, "branch": None}}, repo, publisher, "exited", now, reason="exit node"
        )
    if isinstance(node, WaitNode):
        needs_traits = node.until_trait is not None or node.local_time is not None
        traits = (directory.contact(profile_id).get("traits") or {}) if needs_traits else {}
        return answer(node_id, None, wait_until(node, now, traits, definition.delivery.default_time_zone))
    if isinstance(node, WaitForEventNode):
        waiting = {
            "node": node_id,
            "token": task["token"],
            "since": iso(now),
            "branches": [b.model_dump(by_alias=True, exclude={"next"}) for b in node.branches],
        }
        repo.update_live(profile_id, run["journeyId"], run["runId"], {"waiting": waiting})
        return answer(node_id, "waiting")
    if journey_status == "paused":
        return answer(node_id, "held")
    if isinstance(node, UpdateProfileNode | AddScoreNode | PublishEventNode):
        return announce(task, node, publisher)
    if isinstance(node, SmsNode):
        return send_sms(task, node, repo, directory, publisher, texter, sms_rules, definition, now)
    if isinstance(node, WebhookNode):
        return call_webhook(task, node, definition, repo, directory, publisher, hooks, allow_private, now)
    if isinstance(node, ClaimCodeNode):
        if pools is None:
            raise TypeError("a claimCode node needs the coupon pools")
        return claim_code(task, node, repo, pools, now)
    raise ValueError(f"node {node_id} of kind {kind} has no step")


POOL_EMPTY = "pool empty"


def claim_code(
    task: dict[str, Any], node: ClaimCodeNode, repo: JourneyStore, pools: CouponPools, now: dt.datetime
) -> dict[str, Any]:
    """One code of the pool for this profile in this journey (the same one on a retry or a second visit), kept on
    the run as `couponCode` for the emails after it. An empty pool takes `onEmpty`, or fails the node."""
    run = task["run"]
    profile_id, journey_id, version = run["profileId"], run["journeyId"], int(run["version"])
    marker = f"{run['runId']}#{node.id}#{task['enteredTime']}"
    outcome = coupons.claim_code(node.pool, profile_id, journey_id, pools, now)
    if isinstance(outcome, coupons.PoolEmpty):
        counting.count(repo, journey_id, version, f"{marker}#empty", [(node.id, "empty")], now)
        if node.on_empty is not None:
            return {**answer(node.id, "empty"), "pool": node.pool, "remaining": 0, "low": True}
        if node.on_failure is None:  # the run fails now: say why
            repo.update_live(profile_id, journey_id, run["runId"], {"failReason": POOL_EMPTY})
        return {**answer(node.id, "failed"), "pool": node.pool, "remaining": 0, "low": True, "reason": POOL_EMPTY}
    repo.update_live(profile_id, journey_id, run["runId"], {"couponCode": outcome.code, "couponPool": node.pool})
    counting.count(repo, journey_id, version, f"{marker}#claimed", [(node.id, "claimed")], now)
    return {**answer(node.id, "ok"), "pool": node.pool, "remaining": outcome.remaining, "low": outcome.low}


def announce(
    task: dict[str, Any], node: UpdateProfileNode | AddScoreNode | PublishEventNode, publisher: Publisher
) -> dict[str, Any]:
    """Profile updates (applied by identity, the owner of traits), points (applied by segments, the owner of
    scores) and custom events go on the bus; the event id is derived from this visit of the node, so a retried
    step publishes the same event and its consumer applies it once."""
    run = task["run"]
    event_id = derived_id(task["execution"], task["node"], task["enteredTime"], node.type)
    data: ProfileUpdateRequested | ScorePointsRequested | JourneyEventPublished
    if isinstance(node, AddScoreNode):
        data = ScorePointsRequested(
            profileId=run["profileId"], journeyId=run["journeyId"], planId=node.plan_id, points=node.points
        )
    elif isinstance(node, UpdateProfileNode):
        data = ProfileUpdateRequested(
            profileId=run["profileId"],
            journeyId=run["journeyId"],
            set=node.set,
            remove=node.remove,
            addTags=node.add_tags,
            removeTags=node.remove_tags,
            consent={str(purpose): granted for purpose, granted in node.consent.items()},
        )
    else:
        data = JourneyEventPublished(
            profileId=run["profileId"], journeyId=run["journeyId"], event=node.event, properties=node.properties
        )
    publisher.publish([envelope(data, id=event_id)])
    return answer(task["node"], "ok")


def _decide(
    node: Any, run: dict[str, Any], definition: JourneyDefinition, repo: JourneyStore, directory: Directory
) -> str:
    """The branch a condition, split or holdout sends this run down."""
    profile_id = run["profileId"]
    if isinstance(node, ConditionNode):
        live = repo.live_run(profile_id, run["journeyId"])
        contact = directory.contact(profile_id)
        for index, branch in enumerate(node.branches):
            if holds(branch.condition, gather(branch.condition, profile_id, directory, live, contact)):
                return str(index)
        return "else"
    place = bucket(run["journeyId"], node.id, profile_id)
    if isinstance(node, SplitNode):
        return str(split_branch([b.percent for b in node.branches], place))
    return "holdout" if place < node.percent else "continue"


def finish(
    task: dict[str, Any],
    repo: JourneyStore,
    publisher: Publisher,
    state: str,
    now: dt.datetime,
    reason: str = "",
    definition: JourneyDefinition | None = None,
) -> dict[str, Any]:
    """The run reached its end: count it, move it to history, announce it."""
    run = task["run"]
    via = task.get("via") or {}
    live = repo.live_run(run["profileId"], run["journeyId"])
    current = live if live and live.get("runId") == run["runId"] else None
    record = current or repo.last_run(run["profileId"], run["journeyId"])
    holdout = any(v == "holdout" for v in ((record or {}).get("path") or {}).values())
    final = "holdout" if holdout and state == "completed" else state  # a control-group run that saw nothing
    if state == "failed" and not reason and current is not None:
        reason = str(current.get("failReason") or "")  # why the node failed, when it said (an empty pool)
    if current is not None:
        ended = repo.finish_run(run["profileId"], current, final, reason or final, now)
    else:  # a retried finish: count only if the history says this run ended this way (not by a goal meanwhile)
        ended = bool(record and record.get("runId") == run["runId"] and record.get("state") == final)
    if ended:
        changes: list[tuple[str, str]] = [(counting.JOURNEY_LEVEL, final)]
        if via.get("node"):
            changes.append((via["node"], "failed" if state == "failed" else "completed"))
            if via.get("branch") is not None and state != "failed" and not decided_by_itself(definition, via["node"]):
                changes.append((via["node"], f"branch:{via['branch']}"))
        counting.count(repo, run["journeyId"], int(run["version"]), f"{run['runId']}#end", changes, now)
    publisher.publish(
        [
            envelope(
                JourneyExited(profileId=run["profileId"], journeyId=run["journeyId"], reason=reason or state),
                id=derived_id(run["runId"], "JourneyExited"),
            )
        ]
    )
    return answer(task["node"], state)


def send_sms(
    task: dict[str, Any],
    node: SmsNode,
    repo: JourneyStore,
    directory: Directory,
    publisher: Publisher,
    texter: Texter,
    rules: dict[str, str],
    definition: JourneyDefinition,
    now: dt.datetime,
) -> dict[str, Any]:
    run = task["run"]
    profile_id = run["profileId"]
    dedupe_key = derived_id(task["execution"], task["node"], task["enteredTime"])
    earlier = repo.claim_send(profile_id, dedupe_key, now, send_context(task, "sms"))
    if earlier is not None:
        return answer(task["node"], "ok" if earlier.get("status") != "failed" else "failed")
    contact = directory.contact(profile_id)
    traits = contact.get("traits") or {}
    phone = traits.get("phone")
    reason = message_blocked(contact, "sms", node.transactional) or (
        None if isinstance(phone, str) and phone else "no phone number"
    )
    if reason:
        return _skipped(task, repo, publisher, "sms", reason, dedupe_key)
    verdict = delivery_verdict(repo, profile_id, "sms", rules, definition, traits, node.transactional, now)
    if verdict is not None:
        repo.finish_send(profile_id, dedupe_key, "deferred", {"reason": verdict[1]})
        if verdict[0] is None:
            return _skipped(task, repo, publisher, "sms", verdict[1], dedupe_key)
        return answer(task["node"], "deferred", verdict[0])
    try:
        take_rate_slot(repo, "sms", rules, now)
        message_id = texter.send(str(phone), _fill(node.text, traits))
    except TryAgain:
        repo.finish_send(profile_id, dedupe_key, "retry", {})
        raise
    repo.finish_send(profile_id, dedupe_key, "sent", {"messageId": message_id})
    if not node.transactional:
        repo.record_sent(profile_id, "sms", dedupe_key, now, 400)
    counting.count(
        repo,
        run["journeyId"],
        int(run["version"]),
        f"{dedupe_key}#sent",
        [(task["node"], "sent")],
        now,
        sent=("sms", profile_id),
    )
    publisher.publish(
        [
            envelope(
                MessageSent(
                    profileId=profile_id,
                    journeyId=run["journeyId"],
                    channel="sms",
                    providerMessageId=message_id,
                    dedupeKey=dedupe_key,
                ),
                id=derived_id(dedupe_key, "MessageSent"),
            )
        ]
    )
    return answer(task["node"], "ok")


def _fill(text: str, traits: dict[str, Any]) -> str:
    """`{{trait}}` placeholders of an SMS with the profile's values (plain substitution, nothing evaluated)."""
    out = text
    for key, value in traits.items():
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            out = out.replace("{{" + key + "}}", str(value))
    return out


def _skipped(
    task: dict[str, Any], repo: JourneyStore, publisher: Publisher, channel: Channel, reason: str, dedupe_key: str
) -> dict[str, Any]:
    run = task["run"]
    repo.finish_send(run["profileId"], dedupe_key, "skipped", {"reason": reason})
    counting.count(
        repo, run["journeyId"], int(run["version"]), f"{dedupe_key}#skipped", [(task["node"], "skipped")], clock.now()
    )
    announce_failure(publisher, run["profileId"], run["journeyId"], channel, reason, dedupe_key)
    return answer(task["node"], "ok")  # a skipped message is not a failed step: the run goes on


def call_webhook(
    task: dict[str, Any],
    node: WebhookNode,
    definition: JourneyDefinition,
    repo: JourneyStore,
    directory: Directory,
    publisher: Publisher,
    hooks: Webhooks,
    allow_private: bool,
    now: dt.datetime,
) -> dict[str, Any]:
    """POST the profile and the run's context, signed; 5xx/timeouts retry (TryAgain), a 4xx is a failure."""
    run = task["run"]
    profile_id = run["profileId"]
    dedupe_key = derived_id(task["execution"], task["node"], task["enteredTime"])
    earlier = repo.claim_send(profile_id, dedupe_key, now, send_context(task, "webhook"))
    if earlier is not None and earlier.get("status") in ("sent", "refused"):
        return answer(task["node"], "ok" if earlier["status"] == "sent" else "failed")
    contact = directory.contact(profile_id)
    body = webhooks.payload(
        {"profileId": profile_id, "email": contact.get("email"), "traits": contact.get("traits") or {}},
        {
            "journeyId": run["journeyId"],
            "journeyName": definition.name,
            "version": run["version"],
            "node": task["node"],
            "runId": run["runId"],
            "enteredAt": run.get("enteredAt"),
            "context": run.get("context") or {},
        },
    )
    refused = webhooks.check_url(node.url, allow_private=allow_private)
    response = None
    if refused is None:
        headers = webhooks.signed_headers((node.secret or "").encode(), body, int(now.timestamp()), dedupe_key)
        response = hooks.post(node.url, body, headers)
        status = response.status
        outcome = webhooks.classify(status)
        if status is None and response.error == getattr(webhooks, "PRIVATE_ADDRESS", "private address"):
            outcome, refused = "refused", "private address"
    else:
        outcome = "refused"
    detail = {
        "url": node.url,
        "status": getattr(response, "status", None),
        "error": refused or getattr(response, "error", None),
        "payload": body.decode(),
    }
    if outcome == "retry":
        repo.finish_send(profile_id, dedupe_key, "retry", detail)
        raise TryAgain(f"webhook answered {detail['status'] or detail['error']}")
    if outcome == "refused":
        repo.finish_send(profile_id, dedupe_key, "refused", detail)
        counting.count(
            repo, run["journeyId"], int(run["version"]), f"{dedupe_key}#failed", [(task["node"], "sendFailed")], now
        )
        reason = f"refused: {detail['status'] or detail['error']}"
        announce_failure(publisher, profile_id, run["journeyId"], "webhook", reason, dedupe_key)
        return answer(task["node"], "failed")
    repo.finish_send(profile_id, dedupe_key, "sent", detail)
    counting.count(
        repo,
        run["journeyId"],
        int(run["version"]),
        f"{dedupe_key}#sent",
        [(task["node"], "sent")],
        now,
        sent=("webhook", profile_id),
    )
    publisher.publish(
        [
            envelope(
                MessageSent(profileId=profile_id, journeyId=run["journeyId"], channel="webhook", dedupeKey=dedupe_key),
                id=derived_id(dedupe_key, "MessageSent"),
            )
        ]
    )
    return answer(task["node"], "ok")


def new_webhook_secret() -> str:
    return "whsec_" + random.token_urlsafe(32)
