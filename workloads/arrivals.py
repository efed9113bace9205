"""When requests arrive: arrival processes.

An arrival process describes the law; ``process.stream(rng)`` starts one
realisation of it, and ``stream.take(n)`` returns the next n absolute arrival
times in seconds (non-decreasing), so a run can draw its arrivals batch by
batch and carry the process's state (clock, on/off phase) across batches.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numpy.typing import ArrayLike


class ArrivalStream(Protocol):
    """One realisation of an arrival process: ``take(n)``, the next n absolute arrival times in seconds."""

    def take(self, n: int) -> np.ndarray: ...


class ArrivalProcess(Protocol):
    """An arrival process (Poisson, OnOff, Diurnal, or a user's object with this method)."""

    def stream(self, rng: np.random.Generator) -> ArrivalStream: ...


@dataclass(frozen=True)
class Poisson:
    """A Poisson process of `rate` requests per second: exponential gaps."""

    rate: float

    def __post_init__(self) -> None:
        if not self.rate > 0:
            raise ValueError(f"rate must be > 0 requests per second, got {self.rate!r}")

    @property
    def mean_rate(self) -> float:
        return float(self.rate)

    def gaps(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """`n` inter-arrival times in seconds."""
        return rng.exponential(1.0 / self.rate, n)

    def stream(self, rng: np.random.Generator) -> _PoissonStream:
        return _PoissonStream(self, rng)


class _PoissonStream:
    def __init__(self, process: Poisson, rng: np.random.Generator):
        self.process, self.rng, self.clock = process, rng, 0.0

    def take(self, n: int) -> np.ndarray:
        times = self.clock + np.cumsum(self.process.gaps(self.rng, n))
        if n:
            self.clock = float(times[-1])
        return times


@dataclass(frozen=True)
class OnOff:
    """Bursty traffic: a two-state Markov-modulated Poisson process (MMPP-2).

    The source alternates between an "on" phase (Poisson at `on_rate`) and an
    "off" phase (Poisson at `off_rate`, possibly 0), each lasting an
    exponential time with mean `mean_on` / `mean_off` seconds.  It starts in
    a phase drawn from the stationary distribution, so there is no start-up
    transient.  Mean rate: (on_rate mean_on + off_rate mean_off) / (mean_on + mean_off).
    """

    on_rate: float
    off_rate: float
    mean_on: float
    mean_off: float

    def __post_init__(self) -> None:
        if not (self.on_rate > 0 and self.off_rate >= 0 and self.mean_on > 0 and self.mean_off > 0):
            raise ValueError("OnOff needs on_rate > 0, off_rate >= 0, mean_on > 0 and mean_off > 0")

    @property
    def mean_rate(self) -> float:
        return (self.on_rate * self.mean_on + self.off_rate * self.mean_off) / (self.mean_on + self.mean_off)

    def stream(self, rng: np.random.Generator) -> _OnOffStream:
        return _OnOffStream(self, rng)


class _OnOffStream:
    """One realisation of an on/off process, drawn as it is taken.

    Within a phase the arrivals are a Poisson process: exponential gaps from
    the last arrival (or the phase's start) until the phase ends, where the
    gap that crosses the end is dropped (the process is memoryless) and the
    next phase starts.  Gaps are drawn a phase's expected arrivals at a time,
    and never more than the batch still needs: memory follows the batch, not
    the phase, however long the phases are (a phase of a day at 20,000
    requests a second is 1.7 billion arrivals, drawn as they are taken).
    """

    def __init__(self, process: OnOff, rng: np.random.Generator):
        self.process, self.rng = process, rng
        self.on = bool(rng.random() < process.mean_on / (process.mean_on + process.mean_off))
        self.clock = 0.0  # the last arrival, or the current phase's start
        self.phase_end = self._length()

    def _length(self) -> float:
        return float(self.rng.exponential(self.process.mean_on if self.on else self.process.mean_off))

    def _next_phase(self) -> None:
        self.clock = self.phase_end
        self.on = not self.on
        self.phase_end = self.clock + self._length()

    def take(self, n: int) -> np.ndarray:
        process, rng = self.process, self.rng
        parts, have = [], 0
        while have < n:
            rate = process.on_rate if self.on else process.off_rate
            if rate <= 0:
                self._next_phase()
                continue
            expected = rate * (self.phase_end - self.clock)
            want = min(n - have, int(min(expected, n)) + 16)
            times = self.clock + np.cumsum(rng.exponential(1.0 / rate, want))
            inside = int(np.searchsorted(times, self.phase_end))
            parts.append(times[:inside])
            have += inside
            if inside < want:  # a gap crossed the phase's end
                self._next_phase()
            else:
                self.clock = float(times[-1])
        return np.concatenate(parts) if parts else np.empty(0)


@dataclass(frozen=True)
class Diurnal:
    """A daily cycle: Poisson with rate(t) = rate (1 + amplitude cos(2 pi (t - peak) / period)).

    Drawn by thinning (Lewis and Shedler, 1979): candidates at the peak rate,
    each kept with probability rate(t) / peak rate.
    """

    rate: float
    amplitude: float = 0.5
    period: float = 86_400.0
    peak: float = 50_400.0  # 14:00

    def __post_init__(self) -> None:
        if not (self.rate > 0 and 0 <= self.amplitude < 1 and self.period > 0):
            raise ValueError("Diurnal needs rate > 0, 0 <= amplitude < 1 and period > 0")

    @property
    def mean_rate(self) -> float:
        return float(self.rate)

    def rate_at(self, t: ArrayLike) -> np.ndarray:
        return self.rate * (1.0 + self.amplitude * np.cos(2.0 * math.pi * (np.asarray(t) - self.peak) / self.period))

    def below_rate(self, times: np.ndarray, heights: np.ndarray) -> np.ndarray:
        """``heights < rate_at(times)``, the same booleans, for non-decreasing `times`; the cosine only
        where the rate's range over the stretch leaves the answer open.

        A batch of candidates spans a minute or so of a day, over which the
        rate moves by a fraction of a percent: a height below the rate's least
        value over the stretch is below the rate at every candidate, one at or
        above its largest value is not, and only the heights in between (about
        one in a hundred) need the rate at their own time, computed by
        rate_at itself, so that each comparison made is the one made before.
        """
        if not len(times):
            return np.zeros(0, dtype=bool)
        low, high = self._rate_range(float(times[0]), float(times[-1]))
        below = heights < low
        open_ = np.flatnonzero(below != (heights < high))  # low <= height < high
        below[open_] = heights[open_] < self.rate_at(times[open_])
        return below

    def _rate_range(self, start: float, end: float) -> tuple[float, float]:
        """Bounds on rate_at's values (as computed) at every time in [start, end], a little wide.

        The phase, 2 pi (t - peak) / period, is computed by steps that each keep
        the order of their inputs, and the cosine is monotone between its
        extremes (phases k pi): without one inside, the rate at either end
        bounds the rate between, to the cosine's error (an ulp or so), far
        inside `slack`.  With one inside, the bounds are the cycle's own.
        """
        ends = self.rate_at(np.array([start, end]))
        slack = self.rate * (1.0 + self.amplitude) * 2.0**-40
        half_cycles = np.floor(2.0 * (np.array([start, end]) - self.peak) / self.period)
        if half_cycles[0] != half_cycles[1]:  # a peak or a trough inside
            ends = np.array([self.rate * (1.0 - self.amplitude), self.rate * (1.0 + self.amplitude)])
        return float(ends.min()) - slack, float(ends.max()) + slack

    def stream(self, rng: np.random.Generator) -> _DiurnalStream:
        return _DiurnalStream(self, rng)


class _DiurnalStream:
    def __init__(self, process: Diurnal, rng: np.random.Generator):
        self.process, self.rng = process, rng
        self.clock = 0.0
        self.buffer = np.empty(0)

    def take(self, n: int) -> np.ndarray:
        process, rng = self.process, self.rng
        peak_rate = process.rate * (1.0 + process.amplitude)
        parts, have = [self.buffer], len(self.buffer)
        while have < n:
            candidates = self.clock + np.cumsum(rng.exponential(1.0 / peak_rate, max(1024, 2 * (n - have))))
            self.clock = float(candidates[-1])
            kept = np.compress(process.below_rate(candidates, rng.random(len(candidates)) * peak_rate), candidates)
            parts.append(kept)
            have += len(kept)
        times = np.concatenate(parts)
        self.buffer = times[n:]
        return times[:n]
