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

try:
    import workloads._draws as _compiled
except ImportError:  # not built: numpy's passes draw the same times
    _compiled = None


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
        inside `slack`.  With one inside, the bounds are the cycle's own.  In
        Python floats, by rate_at's steps (math.cos may differ from numpy's
        cosine by an ulp or so, as far inside `slack`): a call per round of
        candidates, where numpy's small arrays cost tens of microseconds.
        """
        slack = self.rate * (1.0 + self.amplitude) * 2.0**-40
        if math.floor(2.0 * (start - self.peak) / self.period) != math.floor(2.0 * (end - self.peak) / self.period):
            return self.rate * (1.0 - self.amplitude) - slack, self.rate * (1.0 + self.amplitude) + slack
        ends = [
            self.rate * (1.0 + self.amplitude * math.cos(2.0 * math.pi * (t - self.peak) / self.period))
            for t in (start, end)
        ]
        return min(ends) - slack, max(ends) + slack

    def stream(self, rng: np.random.Generator) -> ArrivalStream:
        return _DiurnalStream(self, rng) if _compiled is None else _CompiledDiurnalStream(self, rng)


class _DiurnalStream:
    """Thinning in numpy: the reference (and the fallback where workloads/_draws.pyx is not built)."""

    def __init__(self, process: Diurnal, rng: np.random.Generator):
        self.process, self.rng = process, rng
        self.clock = 0.0
        self.buffer = np.empty(0)

    def take(self, n: int) -> np.ndarray:
        process, rng = self.process, self.rng
        peak_rate = process.rate * (1.0 + process.amplitude)
        parts, have = [self.buffer], len(self.buffer)
        while have < n:
            candidates = self.clock + np.cumsum(rng.exponential(1.0 / peak_rate, _candidates_wanted(n - have)))
            self.clock = float(candidates[-1])
            kept = np.compress(process.below_rate(candidates, rng.random(len(candidates)) * peak_rate), candidates)
            parts.append(kept)
            have += len(kept)
        times = np.concatenate(parts)
        self.buffer = times[n:]
        return times[:n]


def _candidates_wanted(missing: int) -> int:
    """Candidates drawn at once for `missing` arrivals: twice as many (at least 1024), kept or not."""
    return max(1024, 2 * missing)


class _CompiledDiurnalStream:
    """_DiurnalStream's times, drawn by workloads/_draws.pyx: the same numbers, without numpy's temporaries.

    Per round of candidates, two loops where numpy makes seven passes and as
    many fresh arrays: the exponential gaps summed into times, then the
    heights drawn and tested as `below_rate` tests them, the kept times
    written straight after the arrivals still pending.  The arrays are the
    stream's own, reused from batch to batch; only the times returned are new.
    """

    def __init__(self, process: Diurnal, rng: np.random.Generator):
        self.process, self.rng = process, rng
        self.clock = 0.0
        self.candidates = np.empty(0)
        self.open_at = np.empty(0, dtype=np.int64)  # places (in pending) of heights the rate's range leaves open
        self.open_heights = np.empty(0)
        self.pending = np.empty(0)  # arrivals drawn and not yet taken, in pending[:have]
        self.have = 0

    def take(self, n: int) -> np.ndarray:
        process = self.process
        peak_rate = process.rate * (1.0 + process.amplitude)
        while self.have < n:
            count = _candidates_wanted(n - self.have)
            if len(self.candidates) < count:
                self.candidates, self.open_at, self.open_heights = (
                    np.empty(count),
                    np.empty(count, np.int64),
                    np.empty(count),
                )
            if len(self.pending) < self.have + count:  # room for every candidate after those pending
                grown = np.empty(self.have + count)
                grown[: self.have] = self.pending[: self.have]
                self.pending = grown
            candidates = self.candidates[:count]
            _compiled.exponential_times(self.rng, self.clock, 1.0 / peak_rate, candidates)
            self.clock = float(candidates[-1])
            low, high = process._rate_range(float(candidates[0]), self.clock)
            tail = self.pending[self.have :]
            kept, opened = _compiled.thin(
                self.rng, candidates, peak_rate, low, high, tail, self.open_at, self.open_heights
            )
            if opened:
                at = self.open_at[:opened]
                above = at[~(self.open_heights[:opened] < process.rate_at(tail[at]))]
                kept = _compiled.drop(tail, kept, above)
            self.have += kept
        times = self.pending[:n].copy()
        left = self.have - n
        self.pending[:left] = self.pending[n : self.have]
        self.have = left
        return times
