"""Positive random quantities: object sizes, latencies, TTLs.

Each distribution is a small frozen dataclass with a ``sample(rng, n)`` that
returns a float64 array, a ``quantile(u)`` (the inverse CDF, vectorized: a
uniform number in [0, 1) in, a value out; used to give every key a fixed
size derived from a hash of the key), and a ``mean`` for formulas and
sanity checks.  The
unit is whatever the caller says it is (bytes for sizes, seconds for
latencies): the distribution does not know.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


class Distribution:
    """Base class: a non-negative random variable."""

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        raise NotImplementedError

    def quantile(self, u: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    @property
    def mean(self) -> float:
        raise NotImplementedError


@dataclass(frozen=True)
class Constant(Distribution):
    """Always `value`."""

    value: float

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return np.full(n, float(self.value))

    def quantile(self, u: np.ndarray) -> np.ndarray:
        return np.full(np.shape(u), float(self.value))

    @property
    def mean(self) -> float:
        return float(self.value)


@dataclass(frozen=True)
class Exponential(Distribution):
    """Exponential with the given mean: the memoryless service time of M/M/c."""

    mean_value: float

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.exponential(self.mean_value, n)

    def quantile(self, u: np.ndarray) -> np.ndarray:
        return -self.mean_value * np.log1p(-np.asarray(u))

    @property
    def mean(self) -> float:
        return float(self.mean_value)


@dataclass(frozen=True)
class Lognormal(Distribution):
    """exp(N(ln median, sigma^2)): a median and a spread, as latencies are quoted."""

    median: float
    sigma: float

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return self._scaled(rng.standard_normal(n))

    def quantile(self, u: np.ndarray) -> np.ndarray:
        from scipy import special  # here: scipy loads only where a lognormal size is drawn

        u = np.asarray(u)
        return self._scaled(special.ndtri(u, out=np.empty(u.shape)))

    def _scaled(self, normal: np.ndarray) -> np.ndarray:
        """median * exp(sigma * normal), computed in `normal`'s own array (the same numbers, no temporaries)."""
        normal *= self.sigma
        np.exp(normal, out=normal)
        normal *= self.median
        return normal

    @property
    def mean(self) -> float:
        return self.median * math.exp(self.sigma**2 / 2)


@dataclass(frozen=True)
class Pareto(Distribution):
    """Pareto type I: P(X > x) = (minimum / x) ** shape for x >= minimum.

    Heavy-tailed object sizes; the mean is infinite when shape <= 1.
    """

    minimum: float
    shape: float

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        # Inverse CDF on 1 - U, which lies in (0, 1]: no division by zero.
        return self.quantile(rng.random(n))

    def quantile(self, u: np.ndarray) -> np.ndarray:
        return self.minimum * (1.0 - np.asarray(u)) ** (-1.0 / self.shape)

    @property
    def mean(self) -> float:
        if self.shape <= 1:
            return math.inf
        return self.shape * self.minimum / (self.shape - 1)


@dataclass(frozen=True)
class UniformRange(Distribution):
    """Uniform on [low, high): e.g. TTLs jittered so entries do not all expire at once."""

    low: float
    high: float

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return self.quantile(rng.random(n))

    def quantile(self, u: np.ndarray) -> np.ndarray:
        return self.low + (self.high - self.low) * np.asarray(u)

    @property
    def mean(self) -> float:
        return (self.low + self.high) / 2
