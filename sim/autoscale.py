"""The autoscaler (issue 21, point 4): what both models are given to size the fleet as the run goes.

Two modes (sim/scenario.py's Autoscale):

* schedule: `nodes_by_hour`, 24 node counts cycling daily, is a plan known
  before the run: `schedule_changes` turns it into planned changes (reason
  "schedule"), an add at each hour whose count is above the hour before's
  (its nodes decided `provision_s` before the hour, so that they serve on
  the hour), a remove of the newest ids at each hour whose count is below.
  Hour 0 is the fleet the run starts with (cluster.nodes).  The changes are
  deltas: the fleet follows nodes_by_hour exactly.
* reactive: at each *tick*, a multiple of `interval_s`, the models read a
  signal over the window [tick - window_s, tick) and decide (sim/fleet_model.py
  for the fast model, sim/naive_fleet.py for the naive one, each its own
  way): above `high` add `step` nodes, below `low` remove `step` (the other
  way round for hit_ratio, where low is bad), within [min_nodes, max_nodes]
  counting the nodes still provisioning, and nothing within `cooldown_s` of
  the last decision (a decision at t allows the next at t + cooldown_s).
  The comparisons are strict: a signal exactly at `high` or `low` is in the
  band.  A removal takes the highest member ids (the newest; never a node
  still provisioning, and never the last member) and takes effect at the
  tick; an add takes the lowest free ids, which serve `provision_s` later.
  The first tick that decides is the first whose window lies in the run
  (tick >= window_s); a window with no read (hit_ratio) or no completed
  read (p99_ms) decides nothing.

The signals are metric definitions over what both models record, so this
module computes them for both (`SignalWindow`), from plain per-request
numbers fed in arrival order (the fast model a batch at a time, the naive
one a request at a time):

    request_rate         requests (reads and writes) arriving in the window, per second, per
                         serving node (members up at the tick, at least 1)
    hit_ratio            hits / reads among the reads arriving in the window
    backend_utilisation  the backend service time of the window's requests flagged BACKEND, over
                         backend.concurrency x window_s (lambda E[S] / c, as sim/metrics.py's)
    node_utilisation     the node service time of the window's reads served at a node, over
                         node_concurrency x window_s x serving nodes (needs node queues)
    p99_ms               the 99th percentile, in ms, of the latencies of the reads that *completed*
                         in the window (arrival + latency in [tick - window_s, tick)), from a
                         latency histogram per interval (sim/histogram.py): every read completing
                         before a tick has a known latency in both models by then

Sums of seconds are taken with math.fsum, exactly rounded whatever the order
they are added in, so both models compute the same number to the last bit.
Every request counts, the warm-up's too: the autoscaler runs from time 0.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
from numpy.typing import ArrayLike

from sim.histogram import LatencyHistogram
from sim.scenario import Autoscale, Change
from sim.vocabulary import BACKEND, HIT, HIT_RATIO, NODE_UTILISATION, P99_MS, REQUEST_RATE, WRITE

HOUR_S = 3600.0

#: why a change was made (fleet.csv's reason column), the autoscaler's words
SCALE_OUT, SCALE_IN, SCHEDULED = "scale_out", "scale_in", "schedule"


def schedule_changes(autoscale: Autoscale) -> Iterator[Change]:
    """The schedule's changes in time order, endless (the module docstring says what they are)."""
    counts, lead = autoscale.nodes_by_hour, autoscale.provision_s
    if len(set(counts)) == 1:
        return  # a constant schedule changes nothing
    hour = 1
    while True:
        delta = counts[hour % 24] - counts[(hour - 1) % 24]
        if delta > 0:
            yield Change(hour * HOUR_S - lead, add=delta, provision_s=lead)
        elif delta < 0:
            yield Change(hour * HOUR_S, remove=-delta)
        hour += 1


def tick_index(times: ArrayLike, interval_s: float) -> np.ndarray:
    """The interval each time falls in: k for [k x interval_s, (k + 1) x interval_s)."""
    return np.floor_divide(np.asarray(times, dtype=np.float64), interval_s).astype(np.int64)


def wants(autoscale: Autoscale, value: float) -> int:
    """+1 (more nodes), -1 (fewer) or 0 for a signal's value against the band (strict comparisons)."""
    more, fewer = value > autoscale.high, value < autoscale.low
    if autoscale.signal == HIT_RATIO:  # a low hit ratio asks for more nodes
        more, fewer = fewer, more
    return 1 if more else -1 if fewer else 0


class _Interval:
    """What one interval's requests said: counts, lists of seconds to fsum, completed reads' latencies."""

    __slots__ = ("requests", "reads", "hits", "backend_s", "node_s", "latency")

    def __init__(self) -> None:
        self.requests = self.reads = self.hits = 0
        self.backend_s: list[float] = []
        self.node_s: list[float] = []
        self.latency = LatencyHistogram()


class SignalWindow:
    """The signals of the last window at a tick, from the requests both models feed it (module docstring).

    `arrived` takes requests at their arrival (their flags, backend service time and node service time,
    0 where none); `completed` takes reads' latencies when they complete; `value(tick)` reads the
    window that ends at tick x interval_s, and forgets the intervals before it.
    """

    def __init__(self, autoscale: Autoscale, backend_concurrency: int, node_concurrency: int):
        self.autoscale = autoscale
        self.interval_s = autoscale.interval_s
        self.width = round(autoscale.window_s / autoscale.interval_s)  # intervals per window
        self.backend_concurrency, self.node_concurrency = backend_concurrency, node_concurrency
        self.intervals: dict[int, _Interval] = {}

    def _at(self, index: int) -> _Interval:
        found = self.intervals.get(index)
        if found is None:
            found = self.intervals[index] = _Interval()
        return found

    def arrived(self, times: ArrayLike, flags: ArrayLike, backend_s: ArrayLike, node_s: ArrayLike) -> None:
        """Requests arriving at `times` (arrays, in arrival order): their flags, the backend service of
        those flagged BACKEND, the node service of reads served at a node (0 elsewhere)."""
        flags = np.asarray(flags, dtype=np.uint8)
        indices = tick_index(times, self.interval_s)
        for index in np.unique(indices).tolist():
            mine = indices == index
            bucket, mine_flags = self._at(index), flags[mine]
            reads = (mine_flags & WRITE) == 0
            bucket.requests += int(np.count_nonzero(mine))
            bucket.reads += int(np.count_nonzero(reads))
            bucket.hits += int(np.count_nonzero(reads & ((mine_flags & HIT) != 0)))
            backend = np.asarray(backend_s, dtype=np.float64)[mine]
            bucket.backend_s += backend[(mine_flags & BACKEND) != 0].tolist()
            node = np.asarray(node_s, dtype=np.float64)[mine]
            bucket.node_s += node[node != 0].tolist()

    def completed(self, done_at: float, latency: float) -> None:
        """A read completed at `done_at` after `latency` seconds."""
        self._at(int(done_at // self.interval_s)).latency.add_one(latency)

    def value(self, tick: int, serving: int) -> float | None:
        """The signal over the window ending at tick x interval_s, with `serving` members up; None when
        the window says nothing (module docstring).  Forgets what lies before the window."""
        first = tick - self.width
        for index in [i for i in self.intervals if i < first]:
            del self.intervals[index]
        window = [self.intervals[i] for i in range(first, tick) if i in self.intervals]
        seconds = self.width * self.interval_s
        serving = max(1, serving)
        signal = self.autoscale.signal
        if signal == REQUEST_RATE:
            return sum(b.requests for b in window) / seconds / serving
        if signal == HIT_RATIO:
            reads = sum(b.reads for b in window)
            return sum(b.hits for b in window) / reads if reads else None
        if signal == P99_MS:
            merged = LatencyHistogram()
            for bucket in window:
                merged.merge(bucket.latency)
            return float(merged.quantiles([0.99])[0]) * 1000.0 if merged.total else None
        if signal == NODE_UTILISATION:
            busy = math.fsum(s for b in window for s in b.node_s)
            return busy / (self.node_concurrency * seconds * serving)
        busy = math.fsum(s for b in window for s in b.backend_s)
        return busy / (self.backend_concurrency * seconds)
