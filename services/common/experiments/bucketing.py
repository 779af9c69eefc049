"""Which variant of an experiment a unit sees: GrowthBook's deterministic hashing, so both sides assign alike."""

from __future__ import annotations

import math
from collections.abc import Sequence

# Our experiment id is what GrowthBook calls the experiment key, and the key is its hashing seed when no
# explicit seed is set. So an experiment run here with seed=experiment_id, hash version 2 and the same weights
# and coverage puts every unit in the same variant as GrowthBook's SDKs (JS and Python) would.

_FNV_OFFSET_BASIS = 0x811C9DC5
_FNV_PRIME = 0x01000193
_UINT32 = 0xFFFFFFFF

# GrowthBook keeps a weight vector whose sum is within this band as it is (no rescaling, so [0.5, 0.505] is
# used as given); anything else falls back to equal weights rather than producing inverted or gapped ranges.
_WEIGHT_SUM_MIN = 0.99
_WEIGHT_SUM_MAX = 1.01


def _code_units(text: str) -> Sequence[int]:
    # The JS SDK hashes charCodeAt values, i.e. UTF-16 code units, not UTF-8 bytes; for ASCII they coincide.
    if text.isascii():
        return text.encode("ascii")
    raw = text.encode("utf-16-le", "surrogatepass")
    return [raw[i] | (raw[i + 1] << 8) for i in range(0, len(raw), 2)]


def fnv1a32(text: str) -> int:
    """The 32-bit FNV-1a hash of a string's UTF-16 code units, as GrowthBook computes it."""
    value = _FNV_OFFSET_BASIS
    for unit in _code_units(text):
        value = ((value ^ unit) * _FNV_PRIME) & _UINT32
    return value


def hash_v1(seed: str, value: str) -> float:
    """GrowthBook's legacy hash (version 1) in [0, 1) with 3 decimals: the unit id followed by the seed."""
    return (fnv1a32(value + seed) % 1000) / 1000


def hash_v2(seed: str, value: str) -> float:
    """GrowthBook's hash version 2 in [0, 1) with 4 decimals: FNV-1a of the decimal FNV-1a of seed + unit id.
    Hashing twice spreads ids that differ only in their last characters, which version 1 clusters."""
    return (fnv1a32(str(fnv1a32(seed + value))) % 10000) / 10000


def _usable(weights: Sequence[float]) -> bool:
    return all(math.isfinite(w) and w >= 0 for w in weights) and _WEIGHT_SUM_MIN <= sum(weights) <= _WEIGHT_SUM_MAX


def bucket_ranges(weights: Sequence[float], coverage: float = 1.0) -> list[tuple[float, float]]:
    """One [start, end) range of the hash per variant: each variant owns a slice of width `weight`, and only its
    first `coverage` share is in the experiment. Coverage is clamped to [0, 1]; weights that are negative, not
    finite or do not sum to 1 (± 0.01) are replaced by equal weights, as GrowthBook does."""
    coverage = 0.0 if coverage < 0 else 1.0 if coverage > 1 else coverage  # NaN passes, then matches nothing
    count = len(weights)
    if count == 0:
        return []
    used = list(weights) if _usable(weights) else [1 / count] * count
    ranges: list[tuple[float, float]] = []
    cumulative = 0.0
    for weight in used:
        start = cumulative
        cumulative += weight
        ranges.append((start, start + coverage * weight))
    return ranges


def choose_variant(n: float, ranges: Sequence[tuple[float, float]]) -> int:
    """The index of the first range holding the hash `n`; -1 when it falls in the uncovered part of every slice."""
    return next((index for index, (start, end) in enumerate(ranges) if start <= n < end), -1)


def assign(seed: str, unit_id: str, weights: Sequence[float], coverage: float = 1.0) -> int | None:
    """The variant index a unit (profile or anonymous visitor id) sees, or None when it is not in the experiment:
    outside the coverage, an empty id, or fewer than two variants (GrowthBook skips those: nothing to compare).
    `seed` is our experiment id, GrowthBook's experiment key; hash version 2."""
    if not unit_id or len(weights) < 2:
        return None
    index = choose_variant(hash_v2(seed, unit_id), bucket_ranges(weights, coverage))
    return index if index >= 0 else None
