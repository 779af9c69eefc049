"""The content store in memory, for use-case tests: the same contract as the DynamoDB adapter, with call counts."""

from __future__ import annotations

import copy
import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from services.common.clock import iso
from services.content.domain.visitors import VisitorState, from_item
from services.content.ports import DecisionWrite, StaleState, ViewCount


class MemoryContent:
    def __init__(self) -> None:
        self.defs: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
        self.states: dict[str, dict[str, Any]] = {}
        self.visitor_items: dict[str, dict[str, Any]] = {}
        self.markers: set[tuple[str, str]] = set()
        self.unit_marks: dict[tuple[str, str], str] = {}
        self.counts: dict[str, dict[str, Counter[str]]] = defaultdict(lambda: defaultdict(Counter))
        self.stats_rows: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
        self.popularity: dict[str, Counter[str]] = defaultdict(Counter)
        self.erased: set[str] = set()
        self.calls: Counter[str] = Counter()

    # definitions
    def save_definition(self, kind: str, definition_id: str, body: dict[str, Any], now: dt.datetime) -> dict[str, Any]:
        item = {"id": definition_id, "updatedAt": iso(now), **copy.deepcopy(body)}
        self.defs[kind][definition_id] = item
        return copy.deepcopy(item)

    def save_items(self, items: Sequence[dict[str, Any]], now: dt.datetime) -> None:
        for body in items:
            self.defs["item"][body["id"]] = {"updatedAt": iso(now), **copy.deepcopy(body)}

    def definition(self, kind: str, definition_id: str) -> dict[str, Any] | None:
        found = self.defs[kind].get(definition_id)
        return copy.deepcopy(found) if found else None

    def definitions(self, kind: str) -> list[dict[str, Any]]:
        return [copy.deepcopy(v) for _, v in sorted(self.defs[kind].items())]

    def delete_definition(self, kind: str, definition_id: str) -> bool:
        return self.defs[kind].pop(definition_id, None) is not None

    # visitors
    def state(self, profile_id: str) -> VisitorState | None:
        found = self.states.get(profile_id)
        return from_item(copy.deepcopy(found)) if found else None

    def save_state(self, state: VisitorState, read_version: int, now: dt.datetime) -> None:
        current = self.states.get(state.profile_id)
        if (current is None and read_version != 0) or (current is not None and current["version"] != read_version):
            raise StaleState(state.profile_id)
        state.version = read_version + 1
        self.states[state.profile_id] = copy.deepcopy(state.as_item())

    def project(self, key: str, state: VisitorState, now: dt.datetime) -> None:
        item = self.visitor_items.setdefault(key, {})
        if "pv" in item and item.get("profileId") == state.profile_id and item["pv"] >= state.version:
            return
        item.update({"p": copy.deepcopy(state.projection()), "pv": state.version, "profileId": state.profile_id})

    def visitor(self, key: str) -> dict[str, Any] | None:
        self.calls["visitor"] += 1
        found = self.visitor_items.get(key)
        return copy.deepcopy(found) if found else None

    def visitors(self, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
        return {k: copy.deepcopy(self.visitor_items[k]) for k in keys if k in self.visitor_items}

    # decisions
    def record_decision(self, write: DecisionWrite) -> None:
        self.calls["record_decision"] += 1
        item = self.visitor_items.setdefault(write.key, {})
        for serve in write.serves:
            exposure = {"v": serve.variant_id, "at": iso(serve.at)}
            if serve.segment_id:
                exposure["s"] = serve.segment_id
            item[f"e:{serve.slot_id}"] = exposure
            item.setdefault(f"f:{serve.slot_id}", iso(serve.at))
            item[f"h:{serve.slot_id}"] = item.get(f"h:{serve.slot_id}", 0) + (1 if serve.new_hour else 0)
        if write.profile_id:
            item.setdefault("profileId", write.profile_id)
        for experiment_id, variant_id, unit in write.experiments:
            item[f"x:{experiment_id}"] = {"v": variant_id, "unit": unit}
            if (unit, experiment_id) not in self.unit_marks:
                self.unit_marks[(unit, experiment_id)] = variant_id
                self.counts[experiment_id][variant_id]["users"] += 1

    # analytics
    def count_activity(self, count: ViewCount, now: dt.datetime) -> bool:
        profile = f"PROFILE#{count.profile_id}"
        audiences = (*count.audiences, "all")
        counted = (profile, f"MSG#{count.message_id}") not in self.markers
        if counted:
            self.markers.add((profile, f"MSG#{count.message_id}"))
            figure = "clicks" if count.kind == "click" else "views"
            for audience in audiences:
                for topic in count.topics:
                    self.stats_rows[(count.day, f"{audience}|topic|{topic}")][figure] += 1
                if count.item_id:
                    self.stats_rows[(count.day, f"{audience}|item|{count.item_id}")][figure] += 1
                if count.link:
                    self.stats_rows[(count.day, f"{audience}|link|{count.link}")][figure] += 1
                if count.kind == "view" and count.item_id:
                    self.popularity[audience][count.item_id] += 1
        if count.kind == "view":
            for what in count.reader_keys:
                marker = (profile, f"READ#{count.day}#{what}")
                if marker not in self.markers:
                    self.markers.add(marker)
                    for audience in audiences:
                        self.stats_rows[(count.day, f"{audience}|{what}")]["readers"] += 1
        return counted

    def stats(self, days: Sequence[str]) -> list[dict[str, Any]]:
        rows = []
        for (day, key), figures in sorted(self.stats_rows.items()):
            if day in days:
                audience, kind, what = key.split("|", 2)
                rows.append(
                    {"day": day, "audience": audience, "kind": kind, "key": what}
                    | {f: figures[f] for f in ("views", "readers", "clicks")}
                )
        return rows

    def popular(self, audience: str) -> dict[str, int]:
        return dict(self.popularity[audience])

    # experiments
    def exposure_marks(self, experiment_id: str, units: Sequence[str]) -> dict[str, str]:
        return {u: self.unit_marks[(u, experiment_id)] for u in units if (u, experiment_id) in self.unit_marks}

    def record_exposure(self, experiment_id: str, variant_id: str, unit: str, now: dt.datetime) -> bool:
        if (unit, experiment_id) in self.unit_marks:
            return False
        self.unit_marks[(unit, experiment_id)] = variant_id
        self.counts[experiment_id][variant_id]["users"] += 1
        return True

    def record_conversion(self, experiment_id: str, unit: str, variant_id: str, now: dt.datetime) -> bool:
        if (unit, f"XPC#{experiment_id}") in self.markers:
            return False
        self.markers.add((unit, f"XPC#{experiment_id}"))
        self.counts[experiment_id][variant_id]["conversions"] += 1
        return True

    def experiment_counts(self, experiment_id: str) -> dict[str, dict[str, int]]:
        return {
            v: {"users": c["users"], "conversions": c["conversions"]} for v, c in self.counts[experiment_id].items()
        }

    # privacy
    def mark_erased(self, profile_id: str, now: dt.datetime) -> None:
        self.erased.add(profile_id)

    def is_erased(self, profile_id: str, now: dt.datetime) -> bool:
        return profile_id in self.erased

    def erase(self, profile_id: str, keys: Iterable[str]) -> None:
        self.states.pop(profile_id, None)
        partitions = {f"PROFILE#{profile_id}", *(f"VISITOR#{k}" for k in keys)}
        for key in keys:
            self.visitor_items.pop(key, None)
        self.markers = {m for m in self.markers if m[0] not in partitions}
        self.unit_marks = {m: v for m, v in self.unit_marks.items() if m[0] not in partitions}
