"""What every decision and consumer reads from the definitions: compiled slots, the catalogue, live experiments."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from services.content.domain.catalogue import CatalogueIndex, ContentItem
from services.content.domain.experiments import LiveExperiment, live
from services.content.domain.targeting import CompiledSlot, SlotDefinition, compile_slot
from services.content.ports import Definitions


@dataclass(frozen=True)
class Published:
    slots: dict[str, CompiledSlot] = field(default_factory=dict)
    items: tuple[ContentItem, ...] = ()
    index: CatalogueIndex = field(default_factory=lambda: CatalogueIndex(()))
    experiments: tuple[LiveExperiment, ...] = ()  # the started ones
    catalogue: tuple[dict[str, Any], ...] = ()  # the items as templates see them, built once per load

    def running(self, now: dt.datetime) -> list[dict[str, Any]]:
        return [e.definition for e in self.experiments if e.running_at(now)]

    def live_on(self, kind: str, target_id: str, now: dt.datetime) -> LiveExperiment | None:
        """The experiment running on a slot (`slotId`) or a template (`templateId`), with its audience."""
        return next(
            (e for e in self.experiments if e.running_at(now) and e.definition["target"].get(kind) == target_id),
            None,
        )


def load(store: Definitions) -> Published:
    """Three Queries: slots, items, experiments (templates are read one at a time, when rendered)."""
    slots: dict[str, CompiledSlot] = {}
    for stored in store.definitions("slot"):
        definition = SlotDefinition.model_validate(stored["definition"])
        slots[stored["id"]] = compile_slot(stored["id"], definition, stored.get("references"))
    items = tuple(sorted(_items(store.definitions("item")), key=lambda i: i.id))
    return Published(
        slots=slots,
        items=items,
        index=CatalogueIndex(items),
        experiments=tuple(e for e in map(live, store.definitions("experiment")) if e is not None),
        catalogue=tuple(i.as_json() for i in items),
    )


def _items(stored: Sequence[dict[str, Any]]) -> list[ContentItem]:
    out = []
    for item in stored:
        body = {k: v for k, v in item.items() if k != "expiresAt"}
        out.append(ContentItem.model_validate(body))
    return out
