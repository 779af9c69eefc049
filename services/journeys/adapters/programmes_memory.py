"""The programmes' table in memory, with the DynamoDB adapter's conditional semantics (unit tests, local tools)."""

from __future__ import annotations

import copy
import datetime as dt
import threading
from collections.abc import Iterable, Mapping
from typing import Any

from services.common.clock import iso


class MemoryProgrammes:
    def __init__(self) -> None:
        self.rates: dict[tuple[str, int], int] = {}
        self.serials: dict[str, dict[str, Any]] = {}
        self.owners: dict[str, dict[str, Any]] = {}
        self.profiles: dict[str, str] = {}
        self.codes_: dict[str, dict[str, Any]] = {}
        self.orders_: dict[tuple[str, str], dict[str, Any]] = {}
        self.friends: dict[str, dict[str, str]] = {}
        self._lock = threading.Lock()

    def take_rate_slot(self, key: str, window_start: int, limit: int, expires_at: int) -> bool:
        with self._lock:
            count = self.rates.get((key, window_start), 0)
            if count >= limit:
                return False
            self.rates[(key, window_start)] = count + 1
            return True

    def save_product(self, serial: str, model: str, category: str, now: dt.datetime) -> None:
        with self._lock:
            item = self.serials.setdefault(serial, {})
            item.update({"serial": serial, "model": model, "category": category, "updatedAt": iso(now)})

    def serial(self, serial: str, consistent: bool = False) -> dict[str, Any] | None:
        return copy.deepcopy(self.serials.get(serial))

    def claim_serial(self, serial: str, owner: str, claim: Mapping[str, Any]) -> bool:
        with self._lock:
            item = self.serials.get(serial)
            if item is None or item.get("ownerEmail") not in (None, owner):
                return False
            item["ownerEmail"] = owner
            for name, value in claim.items():
                item.setdefault(name, copy.deepcopy(value))
            item["registrations"] = item.get("registrations", 0) + 1
            return True

    def set_serial(self, serial: str, sets: Mapping[str, Any]) -> None:
        with self._lock:
            self.serials[serial].update(copy.deepcopy(dict(sets)))

    def owner(self, owner: str) -> dict[str, Any] | None:
        return copy.deepcopy(self.owners.get(owner))

    def bind_owner_code(self, owner: str, code: str, serial: str, now: dt.datetime) -> bool:
        with self._lock:
            item = self.owners.setdefault(owner, {})
            item.setdefault("serials", set()).add(serial)
            if "code" in item:
                return False
            item.update({"code": code, "issuedAt": iso(now)})
            return True

    def point_profile(self, profile_id: str, owner: str) -> None:
        with self._lock:
            self.profiles[profile_id] = owner
            if owner in self.owners:
                self.owners[owner].setdefault("profiles", set()).add(profile_id)

    def owner_of_profile(self, profile_id: str) -> str | None:
        return self.profiles.get(profile_id)

    def erase_owner(self, owner: str, profile_ids: Iterable[str], now: dt.datetime) -> int:
        changed = 0
        with self._lock:
            found = self.owners.pop(owner, None) or {}
            for serial in found.get("serials", ()):
                item = self.serials.get(serial)
                if item and item.get("ownerEmail") == owner:
                    for name in ("ownerEmail", "ownerDevices", "ownerProfileId", "registeredAt", "referralCode"):
                        item.pop(name, None)
                    item["erasedAt"] = iso(now)
                    changed += 1
            if found.get("code") in self.codes_:
                code = self.codes_[found["code"]]
                for name in ("ownerEmail", "ownerDevices", "ownerProfiles"):
                    code.pop(name, None)
                code.update({"retired": True, "erasedAt": iso(now)})
                changed += 1
            for profile_id in {*profile_ids, *found.get("profiles", ())}:
                self.profiles.pop(profile_id, None)
            return changed + (1 if found else 0)

    def issue_code(self, record: Mapping[str, Any]) -> bool:
        with self._lock:
            if record["code"] in self.codes_:
                return False
            self.codes_[record["code"]] = copy.deepcopy(dict(record))
            return True

    def drop_code(self, code: str) -> None:
        self.codes_.pop(code, None)

    def code(self, code: str, consistent: bool = False) -> dict[str, Any] | None:
        found = copy.deepcopy(self.codes_.get(code))
        if found:
            for name in ("ownerDevices", "ownerProfiles"):
                if name in found:
                    found[name] = sorted(found[name])
        return found

    def add_code_owner(self, code: str, devices: Iterable[str] = (), profile_id: str | None = None) -> None:
        with self._lock:
            item = self.codes_.get(code)
            if item is None or item.get("retired"):
                return
            item.setdefault("ownerDevices", set()).update(devices)
            if profile_id:
                item.setdefault("ownerProfiles", set()).add(profile_id)

    def change_code(self, code: str, sets: Mapping[str, Any]) -> bool:
        with self._lock:
            item = self.codes_.get(code)
            if item is None:
                return False
            item.update(copy.deepcopy(dict(sets)))
            return True

    def codes(self, limit: int) -> list[dict[str, Any]]:
        return [c for c in (self.code(k) for k in sorted(self.codes_)[:limit]) if c]

    def friend_used(self, markers: Iterable[str]) -> bool:
        return any(m in self.friends for m in markers)

    def order(self, code: str, order_key: str) -> dict[str, Any] | None:
        return copy.deepcopy(self.orders_.get((code, order_key)))

    def orders(self, code: str) -> list[dict[str, Any]]:
        return [copy.deepcopy(v) for (c, _), v in sorted(self.orders_.items()) if c == code]

    def redeem(self, code: str, order_key: str, record: Mapping[str, Any], markers: Iterable[str], cap: int) -> bool:
        markers = list(dict.fromkeys(markers))
        with self._lock:
            item = self.codes_.get(code)
            if (
                item is None
                or (code, order_key) in self.orders_
                or any(m in self.friends for m in markers)
                or item.get("redeemed", 0) >= cap
            ):
                return False
            self.orders_[(code, order_key)] = copy.deepcopy(dict(record))
            for marker in markers:
                self.friends[marker] = {"code": code, "order": order_key}
            item["redeemed"] = item.get("redeemed", 0) + 1
            return True

    def refuse(self, code: str, order_key: str, record: Mapping[str, Any]) -> bool:
        with self._lock:
            if (code, order_key) in self.orders_:
                return False
            self.orders_[(code, order_key)] = copy.deepcopy(dict(record))
            if code in self.codes_:
                self.codes_[code]["refused"] = self.codes_[code].get("refused", 0) + 1
            return True

    def forget_friend(self, markers: Iterable[str]) -> int:
        forgotten = 0
        with self._lock:
            for marker in dict.fromkeys(markers):
                old = self.friends.pop(marker, None)
                if old is None:
                    continue
                forgotten += 1
                self.orders_.get((old["code"], old["order"]), {}).pop("friendProfileId", None)
        return forgotten
