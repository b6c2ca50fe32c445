"""Deterministic randomness and exact integer splitting for the demo generator.

Every random choice derives from the seed and a name (`rng_for(seed, "childcare", county)`),
so adding a county or a dataset does not shift the numbers of the others, and the same seed
gives the same numbers on every machine and Python version (`random.Random` seeded with a
string hashes it with SHA-512; no `PYTHONHASHSEED` involved). Row-level noise for large
frames comes from `uniform`, a vectorised integer hash in plain modular arithmetic, so it
does not depend on the Polars version either (unlike `Series.shuffle(seed)` or `hash`).
"""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Sequence

import polars as pl

_PRIME = 2_147_483_647  # 2**31 - 1: a residue times a 17-bit constant stays far below 2**63
_BITS31 = 2_147_483_648


def rng_for(seed: int, *parts: object) -> random.Random:
    """An independent random stream for one named part of the demo."""
    return random.Random(":".join((str(seed), *(str(part) for part in parts))))


def salt_for(seed: int, *parts: object) -> int:
    """A stable integer in [1, 2**31 - 1) for `uniform`."""
    text = ":".join((str(seed), *(str(part) for part in parts)))
    digest = hashlib.sha256(text.encode()).digest()
    return int.from_bytes(digest[:8], "big") % (_PRIME - 1) + 1


def uniform(salt: int, *keys: pl.Series) -> pl.Series:
    """A pseudo-random Float64 in [0, 1) per element, from integer key series of equal length.

    Multiply and xorshift rounds modulo 2**31 - 1; every intermediate value fits in Int64.
    Evaluated eagerly on Series: the rounds reuse their input, which as a lazy expression
    would grow exponentially.
    """
    if not keys:
        raise ValueError("uniform needs at least one key")
    x = pl.Series("u", [salt] * len(keys[0]), dtype=pl.Int64)
    for key in (*keys, pl.Series([0] * len(keys[0]), dtype=pl.Int64)):
        x = (x * 48_271 + (key.cast(pl.Int64) % _PRIME) * 16_807 + 11) % _PRIME
        x = _xorshift(x)
        x = (x * 69_621) % _PRIME
        x = _xorshift(x)
    return ((x * 48_271) % _PRIME).cast(pl.Float64) / _PRIME


def _xorshift(x: pl.Series) -> pl.Series:
    """A 31-bit xorshift step (left shifts as products modulo 2**31, right as floor division)."""
    x = x ^ ((x * 8_192) % _BITS31)
    x = x ^ (x // 131_072)
    return x ^ ((x * 32) % _BITS31)


def allocate(total: int, weights: Sequence[float], minimum: int | Sequence[int] = 0) -> list[int]:
    """Split `total` into integers proportional to `weights` that sum to exactly `total`.

    Each part first gets its `minimum`; the rest is split by the largest-remainder method,
    ties broken by position, so the result is deterministic.
    """
    count = len(weights)
    if count == 0:
        if total:
            raise ValueError(f"cannot split {total} over no parts")
        return []
    minimums = [minimum] * count if isinstance(minimum, int) else list(minimum)
    rest = total - sum(minimums)
    if rest < 0:
        raise ValueError(f"cannot split {total} into {count} parts of at least {minimums}")
    weight_sum = float(sum(weights))
    shares = [1.0 / count] * count if weight_sum <= 0 else [w / weight_sum for w in weights]
    quotas = [rest * share for share in shares]
    parts = [math.floor(quota) for quota in quotas]
    left = rest - sum(parts)
    order = sorted(range(count), key=lambda i: (parts[i] - quotas[i], i))
    for i in order[:left]:
        parts[i] += 1
    return [low + part for low, part in zip(minimums, parts, strict=True)]

