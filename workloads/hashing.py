"""Stable 64-bit hashing of integer keys, vectorized.

Balancers must place a key on the same node in every process and on every
machine, so they never use Python's salted ``hash()``.  Keys are integer ids;
they go through the splitmix64 finalizer (Steele, Lea, Flood, "Fast
splittable pseudorandom number generators", OOPSLA 2014), which scatters
neighbouring ids over the whole 64-bit range.
"""

from __future__ import annotations

import numpy as np

_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


def mix64(values, salt: int = 0) -> np.ndarray:
    """splitmix64 of each value (plus `salt`), as uint64; numpy wraps mod 2**64."""
    offset = np.uint64((int(salt) * int(_GAMMA) + int(_GAMMA)) % 2**64)
    x = np.asarray(values).astype(np.uint64) + offset
    x = (x ^ (x >> np.uint64(30))) * _MIX1
    x = (x ^ (x >> np.uint64(27))) * _MIX2
    return x ^ (x >> np.uint64(31))


def unit_interval(values, salt: int = 0) -> np.ndarray:
    """A uniform number in [0, 1) per value, from its stable hash (53 random bits)."""
    return (mix64(values, salt) >> np.uint64(11)).astype(np.float64) * 2.0**-53
