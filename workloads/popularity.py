"""Which key a request asks for: popularity over a finite catalogue.

Keys are integers 0 .. keys-1.  Rank r (1 = most popular) is drawn from the
popularity law, then mapped to a key id through a fixed permutation, so that
the hot keys are scattered over the id space instead of being neighbours
(neighbouring ids would land on neighbouring shards of a range partitioner,
and make the hot set look like a scan to a trace analyzer).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Zipf:
    """Finite-catalogue Zipf: P(rank = i) = i**-alpha / H(keys, alpha), i = 1..keys.

    Any alpha >= 0 is valid (alpha = 0 is uniform; alpha = 1 is the classic
    harmonic law; alpha > 1 concentrates on a few keys).  This is not numpy's
    ``zipf``, which has an infinite support and needs alpha > 1.
    """

    keys: int
    alpha: float
    scramble: bool = True
    _cdf: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        if int(self.keys) != self.keys or self.keys < 1:
            raise ValueError(f"keys must be a positive integer, got {self.keys!r}")
        if not self.alpha >= 0:
            raise ValueError(f"alpha must be >= 0, got {self.alpha!r}")
        cdf = np.cumsum(self.pmf())
        cdf /= cdf[-1]  # exact 1.0 at the end, whatever the rounding
        object.__setattr__(self, "_cdf", cdf)

    def pmf(self) -> np.ndarray:
        """Probabilities by rank: element 0 is the most popular key's."""
        weights = np.arange(1, self.keys + 1, dtype=np.float64) ** -float(self.alpha)
        return weights / weights.sum()

    def ranks(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """`n` ranks (0-based: 0 is the most popular), by inverse CDF."""
        ranks = np.searchsorted(self._cdf, rng.random(n), side="right")
        # A uniform draw can round to exactly cdf[-1] == 1.0; clamp it to the last rank.
        return np.minimum(ranks, self.keys - 1)


@dataclass(frozen=True)
class Uniform:
    """Every key equally likely."""

    keys: int
    scramble: bool = False

    def __post_init__(self):
        if int(self.keys) != self.keys or self.keys < 1:
            raise ValueError(f"keys must be a positive integer, got {self.keys!r}")

    def pmf(self) -> np.ndarray:
        return np.full(self.keys, 1.0 / self.keys)

    def ranks(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.integers(0, self.keys, n)


def rank_to_key(keys: int, rng: np.random.Generator) -> np.ndarray:
    """A random permutation: element r is the key id of rank r."""
    return rng.permutation(keys).astype(np.int64)
