"""When requests arrive."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Poisson:
    """A Poisson process of `rate` requests per second: exponential gaps."""

    rate: float

    def __post_init__(self):
        if not self.rate > 0:
            raise ValueError(f"rate must be > 0 requests per second, got {self.rate!r}")

    def gaps(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """`n` inter-arrival times in seconds."""
        return rng.exponential(1.0 / self.rate, n)
