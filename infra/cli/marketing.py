"""`cxm segments`, `journeys`, `profiles` and `privacy`: the marketer's admin API from the command line, as tables
for people or, with `--json`, the API's JSON unchanged."""

from __future__ import annotations

import argparse
import json
import sys
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from infra.cli import output
from infra.cli.api import admin_target, send

ACTIVITY_SHOWN = 10
IDS_SHOWN = 3


def _get(path: str) -> tuple[Any, str]:
    """The answer of a GET on the admin API: parsed, and as it came."""
    url, key = admin_target()
    answer = send("GET", url + path, key)
    return json.loads(answer), answer


def _post(path: str, body: dict[str, Any] | None = None) -> tuple[Any, str]:
    """The answer of a POST, sent once (creating twice is not creating once)."""
    url, key = admin_target()
    data = json.dumps(body).encode() if body is not None else None
    answer = send("POST", url + path, key, data, retry=False)
    return json.loads(answer or "null"), answer


def _quoted(identifier: str) -> str:
    """An id as one path segment (a typed id never reaches another route)."""
    return urllib.parse.quote(identifier, safe="")


def _when(value: Any) -> str:
    """An ISO-8601 UTC timestamp to the second, `2026-03-02 09:00:00Z`: shorter, and still sorts."""
    text = str(value or "")
    return f"{text[:10]} {text[11:19]}Z" if len(text) >= 20 and text[10] == "T" and text.endswith("Z") else text


# ---- cxm segments ----------------------------------------------------------------------------------------------


def segments_list(args: argparse.Namespace) -> int:
    answer, text = _get("/v1/segments")
    if args.json:
        output.raw(text)
        return 0
    segments = answer["segments"]
    if not segments:
        output.say("no segments yet: cxm segments create -f segment.json")
        return 0
    output.table(
        ("Segment", "Name", "Version", "Updated"),
        ([s["segmentId"], s["name"], s.get("version"), _when(s.get("updatedAt"))] for s in segments),
    )
    return 0


def _backfill(segment: dict[str, Any]) -> str:
    backfill = segment.get("backfill") or {}
    if not backfill:
        return ""
    return (
        f"{backfill.get('status', '')}: {backfill.get('partsDone', 0)}/{backfill.get('parts', 0)} parts, "
        f"{backfill.get('processed', 0):,} profiles evaluated"
    )


def _segment_details(segment: dict[str, Any]) -> None:
    output.details(
        [
            ("Segment", segment["segmentId"]),
            ("Name", segment["name"]),
            ("Description", segment.get("description")),
            ("Version", segment.get("version")),
            ("Created", _when(segment.get("createdAt"))),
            ("Updated", _when(segment.get("updatedAt"))),
            *([("Size", segment["size"])] if "size" in segment else []),
            ("Backfill", _backfill(segment)),
            ("Condition", segment.get("condition")),
        ]
    )


def segments_show(args: argparse.Namespace) -> int:
    answer, text = _get(f"/v1/segments/{_quoted(args.segment_id)}")
    if args.json:
        output.raw(text)
    else:
        _segment_details(answer)
    return 0


def _definition_file(name: str) -> dict[str, Any]:
    """The JSON object in a file (`-` for stdin), or a clear error before anything is sent."""
    if name == "-":
        text, shown = sys.stdin.read(), "stdin"
    else:
        path = Path(name)
        if not path.is_file():
            raise SystemExit(f"error: no such file: {path}")
        text, shown = path.read_text(encoding="utf-8-sig"), str(path)
    try:
        document = json.loads(text)
    except ValueError as error:
        raise SystemExit(f"error: {shown} is not JSON: {error}") from None
    if not isinstance(document, dict):
        raise SystemExit(f"error: {shown} must hold one JSON object (a segment: name, condition, description)")
    return document


def segments_create(args: argparse.Namespace) -> int:
    document = _definition_file(args.file)
    answer, text = _post("/v1/segments", document)
    if args.json:
        output.raw(text)
        return 0
    _segment_details(answer)
    output.say(f"segment created; its backfill runs now: cxm segments show {answer['segmentId']}")
    return 0


# ---- cxm journeys ----------------------------------------------------------------------------------------------


def _parameter(text: str) -> tuple[str, Any]:
    """`name=value`; a value that reads as JSON (a number, true/false) keeps its type, else it is a string."""
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected name=value, not {text!r}")
    try:
        parsed = json.loads(value)
    except ValueError:
        parsed = value
    return name, parsed if isinstance(parsed, str | int | float | bool) else value


def journey_templates(args: argparse.Namespace) -> int:
    answer, text = _get("/v1/journeys/templates")
    if args.json:
        output.raw(text)
        return 0
    for template in answer["templates"]:
        print(f"{template['name']:24} {template['title']}")
        for name, spec in template["parameters"].items():
            default = f" (default {spec['default']})" if "default" in spec else " (required)"
            print(f"{'':26}{name}{default}: {spec.get('description', '')}")
    return 0


def install_journey(args: argparse.Namespace) -> int:
    body = {"parameters": dict(args.param or []), "publish": args.publish}
    answer, text = _post(f"/v1/journeys/templates/{_quoted(args.name)}/install", body)
    if args.json:
        output.raw(text)
        return 0
    for journey in answer["journeys"]:
        print(f"{journey['journeyId']}  {journey.get('status', '')}  {journey.get('name', '')}")
    return 0


def journeys_list(args: argparse.Namespace) -> int:
    answer, text = _get("/v1/journeys")
    if args.json:
        output.raw(text)
        return 0
    journeys = answer["journeys"]
    if not journeys:
        output.say("no journeys yet: cxm journeys templates lists ready ones")
        return 0
    output.table(
        ("Journey", "Name", "Status", "Version", "Updated"),
        (
            [j["journeyId"], j.get("name"), j.get("status"), j.get("version") or None, _when(j.get("updatedAt"))]
            for j in journeys
        ),
    )
    return 0


def _next_nodes(node: Any) -> Iterator[str]:
    """Where a node can go: its `next`, `timeoutNext`, `elseNext` and those of its branches and cohorts."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key.lower().endswith("next") and isinstance(value, str):
                yield value
            elif isinstance(value, list | dict):
                yield from _next_nodes(value)
    elif isinstance(node, list):
        for item in node:
            yield from _next_nodes(item)


NODE_SUMMARY = {
    "email": "subject",
    "sms": "text",
    "webhook": "url",
    "claimCode": "pool",
    "publishEvent": "event",
    "addScore": "planId",
}


def _node_summary(node: dict[str, Any]) -> str:
    if node.get("type") in NODE_SUMMARY:
        return str(node.get(NODE_SUMMARY[node["type"]], ""))
    for key in ("seconds", "timeoutSeconds"):
        if isinstance(node.get(key), int):
            return f"{key.removesuffix('Seconds').removesuffix('seconds') or 'wait'} {_duration(node[key])}"
    return str(node.get("name") or "")


def _duration(seconds: int) -> str:
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def journeys_show(args: argparse.Namespace) -> int:
    journey, text = _get(f"/v1/journeys/{_quoted(args.journey_id)}")
    if args.json:
        output.raw(text)
        return 0
    shown = journey.get("definition") or journey.get("draft") or {}
    published = journey.get("version")
    draft = journey.get("draft")
    changes = bool(published) and draft is not None and draft != journey.get("definition")
    output.details(
        [
            ("Journey", journey["journeyId"]),
            ("Name", journey.get("name")),
            ("Status", journey.get("status")),
            ("Version", f"{published} (published)" if published else "none: a draft"),
            *([("Draft", "unpublished changes (cxm journeys show --json: draft)")] if changes else []),
            ("Created", _when(journey.get("createdAt"))),
            ("Updated", _when(journey.get("updatedAt"))),
            ("Start", shown.get("start")),
            ("Trigger", (shown.get("entry") or {}).get("trigger")),
        ]
    )
    output.table(
        ("Node", "Type", "What", "Next"),
        (
            [
                node.get("id"),
                node.get("type"),
                _node_summary(node),
                ", ".join(dict.fromkeys(_next_nodes(node))) or "(end)",
            ]
            for node in shown.get("nodes", [])
        ),
        title=f"nodes of version {published}" if published else "nodes of the draft",
    )
    return 0


def _journey_action(args: argparse.Namespace, action: str, done: str) -> int:
    journey, text = _post(f"/v1/journeys/{_quoted(args.journey_id)}/{action}")
    if args.json:
        output.raw(text)
    else:
        output.say(f"journey {journey['journeyId']} ({journey.get('name', '')}) is {journey.get('status')}: {done}")
    return 0


def journeys_pause(args: argparse.Namespace) -> int:
    return _journey_action(args, "pause", "no new entries; runs hold at their next action")


def journeys_resume(args: argparse.Namespace) -> int:
    return _journey_action(args, "resume", "held runs go on")


# ---- cxm profiles ----------------------------------------------------------------------------------------------


def _some(values: list[Any]) -> str:
    shown = ", ".join(str(v) for v in values[:IDS_SHOWN])
    return shown + (f" (+{len(values) - IDS_SHOWN} more)" if len(values) > IDS_SHOWN else "")


def _what(entry: dict[str, Any]) -> str:
    """One activity in a few words: the event's name, the page's path, or the traits an identify set."""
    properties = entry.get("properties") or {}
    if entry.get("event"):
        return str(entry["event"])
    if properties.get("path") or properties.get("url"):
        return str(properties.get("path") or properties.get("url"))
    if entry.get("traits"):
        return "traits: " + ", ".join(sorted(entry["traits"]))
    return str(entry.get("name") or "")


def profiles_find(args: argparse.Namespace) -> int:
    profile, text = _get("/v1/profiles?" + urllib.parse.urlencode({"email": args.email}))
    if args.json:
        output.raw(text)
        return 0
    identities = profile.get("identities") or {}
    computed = profile.get("computed") or {}
    consent = profile.get("consent") or {}
    output.details(
        [
            ("Profile", profile["profileId"]),
            ("Created", _when(profile.get("createdAt"))),
            ("Emails", _some(identities.get("emails", []))),
            ("User ids", _some(identities.get("userIds", []))),
            ("Anonymous ids", _some(identities.get("anonymousIds", []))),
            ("Merged from", _some(profile.get("mergedFrom", []))),
            (
                "Consent",
                ", ".join(
                    f"{purpose}: {'granted' if d.get('granted') else 'refused'} {_when(d.get('at'))}"
                    for purpose, d in sorted(consent.items())
                ),
            ),
            ("Events", computed.get("events")),
            ("Last seen", _when(computed.get("lastSeenAt"))),
        ]
    )
    traits = profile.get("traits") or {}
    if traits:
        output.table(("Trait", "Value"), sorted(traits.items()), title="traits")
    activity = profile.get("activity") or []
    if activity:
        output.table(
            ("When", "Type", "What"),
            ([_when(a.get("timestamp")), a.get("type"), _what(a)] for a in activity[:ACTIVITY_SHOWN]),
            title="recent activity",
        )
    return 0


# ---- cxm privacy -----------------------------------------------------------------------------------------------


def _count(value: Any) -> int:
    return len(value) if isinstance(value, list | dict) else 0


def privacy_export(args: argparse.Namespace) -> int:
    document, text = _post("/v1/privacy/export", {"email": args.email})
    if args.output:
        Path(args.output).write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
    if args.json:
        output.raw(text)
        return 0
    identity, segments, journeys = (
        document.get("identity", {}),
        document.get("segments", {}),
        document.get("journeys", {}),
    )
    held = [(p.get("memberships", []), p.get("scores", [])) for p in segments.get("profiles", [])]
    output.details(
        [
            ("Profile", document["profileId"]),
            ("Merged in", _some([p for p in document.get("profileIds", []) if p != document["profileId"]])),
            ("Exported", _when(document.get("exportedAt"))),
        ]
    )
    output.table(
        ("Service", "Holds"),
        [
            (
                "identity",
                f"{_count(identity.get('traits'))} traits, {_count(identity.get('activity'))} activities, "
                f"{_count(identity.get('consent'))} consent decisions, {_count(identity.get('merges'))} merges",
            ),
            (
                "segments",
                f"{sum(len(m) for m, _ in held)} memberships, {sum(len(s) for _, s in held)} scores",
            ),
            ("journeys", f"{_count(journeys.get('entries'))} entries, {_count(journeys.get('messages'))} messages"),
            ("content", ", ".join(sorted(document.get("content", {}))) or "nothing"),
        ],
    )
    output.say(
        f"the whole document is in {args.output}" if args.output else "the whole document: --json or --output FILE"
    )
    return 0


def _confirmed(email: str) -> bool:
    """Asked on stderr (stdout may be a `--json` pipe); only `y` or `yes` erases."""
    sys.stderr.write(f"Erase everything held about {email}, in every service? This cannot be undone. [y/N] ")
    sys.stderr.flush()
    return sys.stdin.readline().strip().lower() in ("y", "yes")


def privacy_erase(args: argparse.Namespace) -> int:
    if not args.yes and not _confirmed(args.email):
        print(f"not erased: {args.email}", file=sys.stderr)
        return 1
    erased, text = _post("/v1/privacy/erase", {"email": args.email})
    if args.json:
        output.raw(text)
        return 0
    output.details(
        [
            ("Profile", erased["profileId"]),
            ("Merged in", _some([p for p in erased.get("profileIds", []) if p != erased["profileId"]])),
            ("Identifiers", erased.get("identifiers")),
            ("Timeline", erased.get("timelineEntries")),
            ("Erased", _when(erased.get("erasedAt"))),
        ]
    )
    output.say(f"{args.email} is erased from identity; every other service erases its part as it hears of it")
    return 0


def privacy_suppressions(args: argparse.Namespace) -> int:
    """The suppression list, newest first, every page (or the first `--limit` entries)."""
    entries: list[dict[str, Any]] = []
    cursor = None
    while len(entries) < args.limit:
        query = urllib.parse.urlencode(
            {"limit": min(100, args.limit - len(entries)), **({"cursor": cursor} if cursor else {})}
        )
        page, _ = _get(f"/v1/privacy/suppressions?{query}")
        entries += page["suppressions"]
        cursor = page["next"]
        if cursor is None:
            break
    if args.json:
        output.raw(json.dumps({"suppressions": entries, "next": cursor}))
        return 0
    if not entries:
        output.say("no address is on the suppression list")
        return 0
    output.table(("Address", "Why", "Since"), ([e["email"], e["reason"], _when(e["at"])] for e in entries))
    if cursor is not None:
        output.say(f"the first {len(entries)}; --limit N shows more")
    return 0


def privacy_unsuppress(args: argparse.Namespace) -> int:
    url, key = admin_target()
    text = send("DELETE", url + f"/v1/privacy/suppressions/{_quoted(args.email)}", key)
    if args.json:
        output.raw(text)
        return 0
    output.say(f"{args.email} is off the suppression list: it may be mailed again")
    return 0


# ---- the commands ----------------------------------------------------------------------------------------------


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    machine = argparse.ArgumentParser(add_help=False)
    machine.add_argument("--json", action="store_true", help="print the API's JSON answer unchanged")

    segments = commands.add_parser("segments", help="list, show and create segments").add_subparsers(
        dest="action", required=True
    )
    segments.add_parser("list", parents=[machine], help="every segment").set_defaults(run=segments_list)
    show = segments.add_parser("show", parents=[machine], help="a segment, its size and its backfill")
    show.add_argument("segment_id", metavar="SEGMENT_ID")
    show.set_defaults(run=segments_show)
    create = segments.add_parser("create", parents=[machine], help="define a segment from a JSON file")
    create.add_argument(
        "-f", "--file", required=True, help='a JSON object: {"name": …, "condition": {…}}; - reads stdin'
    )
    create.set_defaults(run=segments_create)

    journeys = commands.add_parser("journeys", help="journeys and ready journey templates").add_subparsers(
        dest="action", required=True
    )
    journeys.add_parser("list", parents=[machine], help="every journey and its status").set_defaults(run=journeys_list)
    for action, run, text in (
        ("show", journeys_show, "a journey: status, versions, trigger and nodes"),
        ("pause", journeys_pause, "pause: no new entries; runs hold at their next action"),
        ("resume", journeys_resume, "resume a paused journey: held runs go on"),
    ):
        one = journeys.add_parser(action, parents=[machine], help=text)
        one.add_argument("journey_id", metavar="JOURNEY_ID")
        one.set_defaults(run=run)
    journeys.add_parser("templates", parents=[machine], help="list the templates and their parameters").set_defaults(
        run=journey_templates
    )
    install = journeys.add_parser("install", parents=[machine], help="install a template's journeys (drafts)")
    install.add_argument("name", help="the template (cxm journeys templates lists them)")
    install.add_argument(
        "--param", action="append", type=_parameter, metavar="NAME=VALUE", help="a parameter (repeatable)"
    )
    install.add_argument("--publish", action="store_true", help="publish at once (default: drafts)")
    install.set_defaults(run=install_journey)

    profiles = commands.add_parser("profiles", help="look up profiles").add_subparsers(dest="action", required=True)
    find = profiles.add_parser("find", parents=[machine], help="the profile an email address belongs to")
    find.add_argument("email", metavar="EMAIL")
    find.set_defaults(run=profiles_find)

    privacy = commands.add_parser("privacy", help="a person's export and erasure; the suppression list").add_subparsers(
        dest="action", required=True
    )
    export = privacy.add_parser("export", parents=[machine], help="everything held about a person, every service")
    export.add_argument("email", metavar="EMAIL")
    export.add_argument("-o", "--output", metavar="FILE", help="also write the whole document to FILE")
    export.set_defaults(run=privacy_export)
    erase = privacy.add_parser("erase", parents=[machine], help="erase a person from every service (asks first)")
    erase.add_argument("email", metavar="EMAIL")
    erase.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")
    erase.set_defaults(run=privacy_erase)
    listed = privacy.add_parser("suppressions", parents=[machine], help="the suppression list, newest first")
    listed.add_argument("--limit", type=int, default=100, metavar="N", help="at most N addresses (default 100)")
    listed.set_defaults(run=privacy_suppressions)
    unsuppress = privacy.add_parser("unsuppress", parents=[machine], help="take an address off the suppression list")
    unsuppress.add_argument("email", metavar="EMAIL")
    unsuppress.set_defaults(run=privacy_unsuppress)
