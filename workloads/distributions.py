"""Positive random quantities: object sizes, latencies, TTLs.

Each distribution is a small frozen dataclass with a ``sample(rng, n)`` that
returns a float64 array, and a ``mean`` for formulas and sanity checks.  The
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

    @property
    def mean(self) -> float:
        raise NotImplementedError

    def scaled(self, factor: float) -> "Distribution":
        """The same shape with every value multiplied by `factor` (e.g. ms -> s)."""
        raise NotImplementedError


@dataclass(frozen=True)
class Constant(Distribution):
    """Always `value`."""

    value: float

    def sample(self, rng, n):
        return np.full(n, float(self.value))

    @property
    def mean(self):
        return float(self.value)

    def scaled(self, factor):
        return Constant(self.value * factor)


@dataclass(frozen=True)
class Exponential(Distribution):
    """Exponential with the given mean: the memoryless service time of M/M/c."""

    mean_value: float

    def sample(self, rng, n):
        return rng.exponential(self.mean_value, n)

    @property
    def mean(self):
        return float(self.mean_value)

    def scaled(self, factor):
        return Exponential(self.mean_value * factor)


@dataclass(frozen=True)
class Lognormal(Distribution):
    """exp(N(ln median, sigma^2)): a median and a spread, as latencies are quoted."""

    median: float
    sigma: float

    def sample(self, rng, n):
        return self.median * np.exp(self.sigma * rng.standard_normal(n))

    @property
    def mean(self):
        return self.median * math.exp(self.sigma**2 / 2)

    def scaled(self, factor):
        return Lognormal(self.median * factor, self.sigma)


@dataclass(frozen=True)
class Pareto(Distribution):
    """Pareto type I: P(X > x) = (minimum / x) ** shape for x >= minimum.

    Heavy-tailed object sizes; the mean is infinite when shape <= 1.
    """

    minimum: float
    shape: float

    def sample(self, rng, n):
        # Inverse CDF on 1 - U, which lies in (0, 1]: no division by zero.
        return self.minimum * (1.0 - rng.random(n)) ** (-1.0 / self.shape)

    @property
    def mean(self):
        if self.shape <= 1:
            return math.inf
        return self.shape * self.minimum / (self.shape - 1)

    def scaled(self, factor):
        return Pareto(self.minimum * factor, self.shape)
