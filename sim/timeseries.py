"""Counters per interval of simulated time: the rows of timeseries.csv, in memory that does not grow with the run.

An interval keeps a few counters and a latency histogram (sim/histogram.py)
for its p99, so a run of any length costs memory per interval, not per
request.  Intervals are aligned on multiples of their width from time 0;
the first row starts where measuring starts (the first measured arrival,
after warm-up) and the last ends where it ends, so every row's rates divide
by the time that row really covers:

    t_start, t_end      the row's span: its interval cut to the measured window
    requests            measured requests arriving in it (reads and writes)
    hit_ratio           hits / reads
    p99_ms              99th percentile of its reads' latencies
    backend_rps         requests sent to the backend / (t_end - t_start)
    backend_utilisation the backend's offered load over its capacity: the
                        service time those requests asked for / (servers x
                        (t_end - t_start)); 1 means busy all the time on
                        average, above 1 the queue grows (see sim/metrics.py)
    nodes               nodes serving (members up) at the row's end
    moved               the catalogue moved by the fleet's changes in the row: the sum of
                        their moved_share (sim/routing.py)
    cold_misses         read misses for keys whose node changed at the fleet's latest change
    gutter_hits         hits at gutter nodes
    near_hits           reads a client group's near cache answered (sim/near.py)

Intervals with no measured arrival have no row.  A request's row is the one
of its arrival, also for a latency known only later (a miss that waited on a
node queue, a request that joined a fetch in flight).

The width.  A fixed width (run.interval in seconds) gives one row per that
many seconds.  By default ("auto") the width adapts to the span, which is
not known until the run ends: it starts at about a microsecond and doubles,
merging neighbouring intervals pairwise, whenever the span would need more
than MOST_INTERVALS of them.  A run then ends with between MOST_INTERVALS / 2
and MOST_INTERVALS rows (about 50), each a power of two of seconds wide
(0.25 s for a 10-second run, 2,048 s for a day).  Merging is exact: counts
and histograms add.

The measured window runs from the first measured arrival to one tick past
the last, a tick being the smallest gap between two measured arrivals.
For a trace stamped in whole seconds a tick is a second: the requests of its
last second are spread over that second (not over no time at all), and an
adaptive interval is never narrower than a second, so no row claims a
second's requests came in a fraction of it.  (A fixed interval narrower
than a trace's tick would.)  For a Poisson stream the tick is negligible.
A window whose requests all came at one instant has no length, and its rates
are reported as 0.
"""

from __future__ import annotations

import bisect
import math
from typing import cast

import numpy as np
import numpy.typing as npt

from sim.histogram import LatencyHistogram

#: the most intervals an adaptive ("auto") time series keeps; it ends with half to all of them
MOST_INTERVALS = 64

#: the adaptive width's start, in seconds (2**-20, about a microsecond): it only ever doubles
FIRST_WIDTH = 2.0**-20


class Interval:
    """What was measured in one interval: request counts, backend demand, read latencies."""

    __slots__ = (
        "requests",
        "reads",
        "hits",
        "backend",
        "backend_busy",
        "latency",
        "cold_misses",
        "gutter_hits",
        "near_hits",
    )

    def __init__(self) -> None:
        self.requests = self.reads = self.hits = self.backend = 0
        self.cold_misses = self.gutter_hits = self.near_hits = 0
        self.backend_busy = 0.0  # seconds of backend service asked for
        self.latency = LatencyHistogram()  # reads' latencies, seconds

    def count(
        self,
        requests: int,
        reads: int,
        hits: int,
        backend: int,
        backend_busy: float,
        cold_misses: int,
        gutter_hits: int,
        near_hits: int,
    ) -> None:
        """Add a batch's counts in this interval (its latencies go to `latency`)."""
        self.requests += requests
        self.reads += reads
        self.hits += hits
        self.backend += backend
        self.backend_busy += backend_busy
        self.cold_misses += cold_misses
        self.gutter_hits += gutter_hits
        self.near_hits += near_hits

    def merge(self, other: Interval) -> None:
        self.requests += other.requests
        self.reads += other.reads
        self.hits += other.hits
        self.backend += other.backend
        self.backend_busy += other.backend_busy
        self.cold_misses += other.cold_misses
        self.gutter_hits += other.gutter_hits
        self.near_hits += other.near_hits
        self.latency.merge(other.latency)


class TimeSeries:
    """Intervals of simulated time, keyed by index (interval k covers [k w, (k + 1) w)).

    `width`: seconds per interval, or None to adapt it to the span (module docstring).
    """

    def __init__(self, width: float | None = None):
        self.adaptive = width is None
        self.width = FIRST_WIDTH if width is None else float(width)
        self.intervals: dict[int, Interval] = {}
        self.start: float | None = None  # the first measured arrival
        self.last = 0.0  # the latest measured arrival
        self.tick = math.inf  # the smallest positive gap between two measured arrivals

    def add(
        self,
        times: npt.NDArray[np.float64],
        reads: npt.NDArray[np.bool_],
        hits: npt.NDArray[np.bool_],
        backend: npt.NDArray[np.bool_],
        backend_busy: npt.NDArray[np.float64],
        latency: npt.NDArray[np.float64],
        cold_misses: npt.NDArray[np.bool_] | None = None,
        gutter_hits: npt.NDArray[np.bool_] | None = None,
        near_hits: npt.NDArray[np.bool_] | None = None,
    ) -> None:
        """Count a batch of measured requests, in arrival order.

        reads, hits, backend: boolean arrays; backend_busy: seconds of backend
        service each asked for; latency: seconds, NaN for writes and for
        latencies not known yet (given later to `add_latency`); cold_misses,
        gutter_hits: boolean arrays, or None when the fleet has neither; near_hits: a boolean array, or None
        without near caches.
        """
        if not len(times):
            return
        gaps = np.diff(times, prepend=self.before(times))
        positive = gaps[gaps > 0]
        self.stretch(times, float(positive.min()) if len(positive) else math.inf)
        keys = np.floor(times / self.width).astype(np.int64)
        starts = np.flatnonzero(np.diff(keys)) + 1  # arrivals are in time order: an interval is a slice
        starts = np.concatenate(([0], starts))
        ends = np.append(starts[1:], len(times))
        recorded = reads & ~np.isnan(latency)
        per_interval = zip(
            keys[starts].tolist(),
            (ends - starts).tolist(),
            np.add.reduceat(reads, starts, dtype=np.int64).tolist(),
            np.add.reduceat(hits, starts, dtype=np.int64).tolist(),
            np.add.reduceat(backend, starts, dtype=np.int64).tolist(),
            np.add.reduceat(backend_busy, starts).tolist(),
            starts.tolist(),
            ends.tolist(),
        )
        fleet = None
        if cold_misses is not None:
            fleet = zip(
                np.add.reduceat(cold_misses, starts, dtype=np.int64).tolist(),
                np.add.reduceat(gutter_hits, starts, dtype=np.int64).tolist(),  # type: ignore[arg-type]  # given with cold_misses
            )
        near = iter(np.add.reduceat(near_hits, starts, dtype=np.int64).tolist()) if near_hits is not None else None
        for key, requests, read_count, hit_count, backend_count, busy, low, high in per_interval:
            interval = self.interval(key)
            interval.requests += requests
            interval.reads += read_count
            interval.hits += hit_count
            interval.backend += backend_count
            interval.backend_busy += busy
            interval.latency.add(latency[low:high][recorded[low:high]])
            if fleet is not None:
                cold, gutter = next(fleet)
                interval.cold_misses += cold
                interval.gutter_hits += gutter
            if near is not None:
                interval.near_hits += next(near)

    def before(self, times: npt.NDArray[np.float64]) -> float:
        """The arrival before a batch's first (`times`), for its first gap: the latest measured, or its own."""
        return float(times[0]) if self.start is None else self.last

    def stretch(self, times: npt.NDArray[np.float64], smallest_gap: float) -> None:
        """Widen the measured window to a batch's arrivals (`times`, not empty), whose smallest positive gap
        (the first from `before`) is `smallest_gap` (inf: none); an adaptive width doubles to fit it."""
        if self.start is None:
            self.start = float(times[0])
        self.tick = min(self.tick, smallest_gap)
        self.last = float(times[-1])
        self._fit(self.last)

    def interval(self, key: int) -> Interval:
        """Interval `key`, new if it had no request yet."""
        interval = self.intervals.get(key)
        if interval is None:
            interval = self.intervals[key] = Interval()
        return interval

    def add_latency(self, arrival: float, latency: float) -> None:
        """A read's latency known only now: counted in the interval of its arrival (already added)."""
        self.intervals[math.floor(arrival / self.width)].latency.add_one(latency)

    def _fit(self, time: float) -> None:
        """Adaptive width: double it until the span up to `time` fits in MOST_INTERVALS, and a tick in one."""
        while self.adaptive and (
            # (start is set: add() sets it before its first _fit)
            math.floor(time / self.width) - math.floor(cast(float, self.start) / self.width) >= MOST_INTERVALS
            or self.width < self.tick < math.inf
        ):
            self.width *= 2
            merged: dict[int, Interval] = {}
            for key in sorted(self.intervals):
                into = merged.get(key // 2)
                if into is None:
                    merged[key // 2] = self.intervals[key]
                else:
                    into.merge(self.intervals[key])
            self.intervals = merged

    # -- reading --------------------------------------------------------------
    @property
    def end(self) -> float:
        """The measured window's end: one tick past the last arrival (module docstring)."""
        return self.last + (self.tick if math.isfinite(self.tick) else 0.0)

    @property
    def length(self) -> float:
        """Seconds of the measured window (0 before any request, or when all came at one instant)."""
        return self.end - self.start if self.start is not None else 0.0

    def total(self) -> Interval:
        """The whole window's counters: every interval's merged."""
        total = Interval()
        for key in sorted(self.intervals):
            total.merge(self.intervals[key])
        return total

    def rows(self, backend_servers: int, fleet: tuple = (0, ())) -> list[dict]:
        """One row per interval that saw measured requests, in time order (module docstring).

        fleet: (nodes serving at the start, fleet.csv's rows) for the nodes and moved columns.
        """
        rows = []
        end = self.end
        serving, changes = fleet
        times = [change["time_s"] for change in changes]
        for key in sorted(self.intervals):
            interval = self.intervals[key]
            t_start = max(key * self.width, cast(float, self.start))  # (set: there are intervals)
            t_end = min((key + 1) * self.width, end)
            length = t_end - t_start
            rows.append(
                {
                    "t_start": t_start,
                    "t_end": t_end,
                    "requests": interval.requests,
                    "hit_ratio": interval.hits / interval.reads if interval.reads else 0.0,
                    "p99_ms": float(interval.latency.quantiles([0.99])[0]) * 1000.0,
                    "backend_rps": interval.backend / length if length > 0 else 0.0,
                    "backend_utilisation": utilisation(interval.backend_busy, backend_servers, length),
                    **_fleet_columns(serving, changes, times, t_start, t_end),
                    "cold_misses": interval.cold_misses,
                    "gutter_hits": interval.gutter_hits,
                    "near_hits": interval.near_hits,
                }
            )
        return rows


def _fleet_columns(serving: int, changes: list, times: list, t_start: float, t_end: float) -> dict:
    """nodes: serving just before t_end (after every change before it); moved: changes in [t_start, t_end)."""
    before_end = bisect.bisect_left(times, t_end)
    nodes = changes[before_end - 1]["nodes"] if before_end else serving
    first = bisect.bisect_left(times, t_start)
    return {"nodes": nodes, "moved": float(sum(change["moved_share"] for change in changes[first:before_end]))}


def utilisation(busy: float, servers: int, seconds: float) -> float:
    """Offered load over capacity: `busy` seconds of service asked of `servers` in `seconds` (0 without time)."""
    return busy / (servers * seconds) if servers and seconds > 0 else 0.0
