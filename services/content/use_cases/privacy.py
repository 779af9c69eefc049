"""A person's content data: exported (state, exposures, experiments) and erased (every item that names them)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from services.content.domain.visitors import identifier
from services.content.ports import ContentStore


def erase(store: ContentStore, profile_id: str, identifiers: Sequence[str], now: dt.datetime) -> None:
    """Tombstone first (a late event must not recreate the state), then the profile's partition and every visitor
    item it was projected to — the ones its state lists, and the ids the erasure event names."""
    store.mark_erased(profile_id, now)
    state = store.state(profile_id)
    keys = list(state.identifiers) if state else []
    for value in identifiers:
        keys += [k for k in (identifier(anonymous_id=value), identifier(user_id=value)) if k]
    store.erase(profile_id, dict.fromkeys(keys))


def export(store: ContentStore, profile_ids: Sequence[str]) -> dict[str, Any]:
    out: dict[str, Any] = {"visitorState": {}, "exposures": {}}
    for profile_id in profile_ids:
        state = store.state(profile_id)
        out["visitorState"][profile_id] = {}
        out["exposures"][profile_id] = []
        if state is None:
            continue
        item = state.as_item()
        out["visitorState"][profile_id] = {k: item[k] for k in item if k not in ("version",)}
        exposures = []
        for key, visitor in store.visitors(state.identifiers).items():
            for name, value in visitor.items():
                if name.startswith("e:"):
                    slot = name[2:]
                    exposures.append(
                        {
                            "visitor": key,
                            "slotId": slot,
                            "variantId": value.get("v"),
                            "segmentId": value.get("s"),
                            "firstServedAt": visitor.get(f"f:{slot}"),
                            "lastServedAt": value.get("at"),
                            "servedHours": int(visitor.get(f"h:{slot}") or 0),
                        }
                    )
                elif name.startswith("x:"):
                    exposures.append({"visitor": key, "experimentId": name[2:], "variantId": value.get("v")})
        out["exposures"][profile_id] = exposures
    return out
