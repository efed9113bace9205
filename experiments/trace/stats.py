"""`kvsim trace stats`: what a trace is made of, in two streaming passes.

    >>> trace_stats(open_trace("cluster52.twitter.zst"))        # doctest: +SKIP
    {"requests": ..., "objects": ..., "one_hit_wonders": {...}, "popularity": {...}, ...}

The first pass is the footprint's (requests, distinct objects, distinct
bytes) with the first and last timestamps; knowing them, the second keeps
one array slot per object and a fixed number of bins, so memory is bounded
by the distinct objects, never by the requests:

requests, objects, bytes    the footprint (workloads.traces.footprint's counts)
one_hit_wonders             the share of objects requested exactly once: over the whole trace, and
                            in each tenth of it (by requests), as the S3-FIFO paper counts them
popularity                  Zipf alpha and catalogue by maximum likelihood with the fit's distance
                            (experiments/trace/popularity.py), the log-log slope and R^2 libCacheSim
                            reports, the share of requests to the top 1% and 10% of objects
frequency                   requests per object: mean, largest, and how many objects have each count
reuse_time                  requests since the previous request to the same object, percentiles
                            (log bins, 32 a doubling: within 2.2%); in seconds too with timestamps
reuse_distance              LRU stack distance (distinct objects since the previous request to the
                            same object, itself included: the smallest LRU cache that hits), percentiles;
                            exact up to 100,000 objects, else on a spatial sample of about that many
                            keys (SHARDS: distances scaled by the sampling rate)
rate                        requests per second over 100 intervals of the trace's time
operations                  read and write shares (traces that log operations)
sizes                       object sizes (each object's first) and request sizes: percentiles
ttl                         with a TTL column: the share of writes that set one, and their percentiles

``StatsPass`` holds the second pass; the figure is experiments/plots/trace_stats.py's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from experiments.analysis.mrc import shards_sample
from experiments.analysis.stack_depths import INFINITE, LRUStack
from experiments.trace.popularity import fit_zipf, loglog_fit
from workloads.ids import DenseIds
from workloads.stream import WRITE
from workloads.traces import TraceError

PERCENTILES = (10, 25, 50, 75, 90, 99)
WINDOWS = 10  # one-hit wonders per tenth of the trace
RATE_BINS = 100
BINS_PER_OCTAVE = 32  # log bins of reuse times, sizes and TTLs
EXACT_DISTANCES = 100_000  # stack distances exact up to this many objects, sampled beyond
CHUNK = 1 << 18
CDF_POINTS = 48  # points of each distribution kept for the figure


@dataclass(frozen=True)
class FirstPass:
    requests: int
    objects: int
    bytes: int
    first_time: float
    last_time: float


def first_pass(trace) -> FirstPass:
    """Requests, distinct objects and bytes (sizes at first sight), and the time span."""
    dense = DenseIds()
    requests = total_bytes = 0
    first = last = None
    for batch in trace.chunks(CHUNK):
        known = len(dense)
        ids = dense(batch.key)
        total_bytes += int(batch.size[ids >= _running_max(ids, known)].sum())
        requests += len(batch)
        if trace.has_time:
            low, high = float(batch.time.min()), float(batch.time.max())
            first = low if first is None else min(first, low)
            last = high if last is None else max(last, high)
    return FirstPass(requests, len(dense), total_bytes, first or 0.0, last or 0.0)


def _running_max(ids: np.ndarray, known: int) -> np.ndarray:
    """Each request's smallest id that would be new: ids are numbered in order of first sight."""
    return np.maximum.accumulate(np.concatenate(([known - 1], ids[:-1]))) + 1


class LogHistogram:
    """Counts of values >= 0: exact below 2**18 (whole numbers), in log bins above, BINS_PER_OCTAVE a doubling.

    Percentiles are exact in the exact range, and the geometric middle of
    their bin above it (within 1.1% for 32 bins a doubling).
    """

    EXACT = 1 << 18
    OCTAVES = 64  # log bins from 2**18 to 2**82

    def __init__(self):
        self.exact = np.zeros(self.EXACT, dtype=np.int64)
        self.logged = np.zeros(self.OCTAVES * BINS_PER_OCTAVE, dtype=np.int64)

    def add(self, values: np.ndarray) -> None:
        values = np.asarray(values, dtype=np.float64)
        small = values < self.EXACT
        self.exact += np.bincount(np.rint(values[small]).astype(np.int64), minlength=self.EXACT)
        large = values[~small]
        if len(large):
            bins = np.floor((np.log2(large) - 18) * BINS_PER_OCTAVE).astype(np.int64)
            self.logged += np.bincount(np.clip(bins, 0, len(self.logged) - 1), minlength=len(self.logged))

    @property
    def total(self) -> int:
        return int(self.exact.sum() + self.logged.sum())

    def value(self, index: int) -> float:
        """The value of bin `index` (exact bins first): itself, or the geometric middle of a log bin."""
        if index < self.EXACT:
            return float(index)
        return float(2 ** (18 + (index - self.EXACT + 0.5) / BINS_PER_OCTAVE))

    def cdf(self, points: int = CDF_POINTS) -> list[list[float]]:
        """[[value, share of values <= it], ...] at about `points` values spread evenly in log scale."""
        total = self.total
        if not total:
            return []
        cumulative = np.cumsum(np.concatenate((self.exact, self.logged))) / total
        present = np.flatnonzero(np.concatenate((self.exact, self.logged)))
        low, high = present[0], present[-1]
        values = [self.value(i) for i in (low, high)]
        grid = np.unique(np.geomspace(max(values[0], 1), max(values[1], 1), points))
        indices = [self._index(v) for v in grid]
        return [[self.value(i), float(cumulative[i])] for i in sorted(set(indices))]

    def _index(self, value: float) -> int:
        if value < self.EXACT:
            return int(value)
        return self.EXACT + min(len(self.logged) - 1, int((np.log2(value) - 18) * BINS_PER_OCTAVE))

    def percentiles(self) -> dict:
        """{"p10": ..., ...} (PERCENTILES); {} when nothing was added."""
        total = self.total
        if not total:
            return {}
        cumulative = np.cumsum(np.concatenate((self.exact, self.logged)))
        found = {}
        for q in PERCENTILES:
            index = int(np.searchsorted(cumulative, q / 100 * total))
            if index < self.EXACT:
                found[f"p{q}"] = float(index)
            else:
                found[f"p{q}"] = float(self.value(index))
        return found


class StatsPass:
    """The second pass: per-object arrays (sized by the first pass) and fixed bins, fed chunk by chunk."""

    def __init__(self, first: FirstPass, has_time: bool):
        n = first.objects
        self.first, self.has_time = first, has_time
        self.dense = DenseIds()
        self.count = np.zeros(n, dtype=np.int64)
        self.first_size = np.zeros(n, dtype=np.int64)
        self.last_seen = np.full(n, -1, dtype=np.int64)
        self.last_time = np.zeros(n, dtype=np.float64) if has_time else None
        self.window = np.zeros(n, dtype=np.int32)
        self.window_edges = [round(first.requests * w / WINDOWS) for w in range(1, WINDOWS + 1)]
        self.window_shares: list[float] = []
        self.reuse_time, self.reuse_seconds = LogHistogram(), LogHistogram()
        self.request_sizes, self.ttls = LogHistogram(), LogHistogram()
        self.rate = np.zeros(RATE_BINS, dtype=np.int64)
        self.writes = self.ttl_writes = self.position = 0
        self.sample_rate = min(1.0, EXACT_DISTANCES / max(1, n))
        self.stack = LRUStack(False, False)
        self.distances = np.zeros(n + 2, dtype=np.int64)  # distance -> requests; the last: first requests
        self._queued: list[np.ndarray] = []

    def feed(self, batch) -> None:
        keys = batch.key
        known = len(self.dense)
        ids = self.dense(keys)
        if len(self.dense) > self.first.objects:
            raise TraceError("the trace changed while it was read (more objects than the first pass found)")
        new = ids >= _running_max(ids, known)
        self.first_size[ids[new]] = batch.size[new]
        self.count += np.bincount(ids, minlength=len(self.count))
        self.request_sizes.add(batch.size)
        self._reuse(ids, batch.time if self.has_time else None)
        self._windows(ids)
        if self.has_time and self.first.last_time > self.first.first_time:
            span = self.first.last_time - self.first.first_time
            where = ((np.asarray(batch.time, dtype=np.float64) - self.first.first_time) / span * RATE_BINS).astype(int)
            self.rate += np.bincount(np.clip(where, 0, RATE_BINS - 1), minlength=RATE_BINS)
        writes = batch.op == WRITE
        self.writes += int(writes.sum())
        if batch.ttl is not None:
            set_ttl = writes & (batch.ttl > 0)
            self.ttl_writes += int(set_ttl.sum())
            self.ttls.add(batch.ttl[set_ttl])
        self._queue_distances(keys)
        self.position += len(ids)

    def _reuse(self, ids: np.ndarray, times) -> None:
        """Requests (and seconds) since each request's previous one to its object; then note this one."""
        positions = self.position + np.arange(len(ids), dtype=np.int64)
        order = np.argsort(ids, kind="stable")
        ordered = ids[order]
        repeat = np.concatenate(([False], ordered[1:] == ordered[:-1]))  # in `order`: not the object's first here
        previous = np.where(repeat, np.concatenate(([0], positions[order][:-1])), self.last_seen[ordered])
        seen = previous >= 0
        self.reuse_time.add((positions[order] - previous)[seen])
        last = np.concatenate((ordered[1:] != ordered[:-1], [True]))  # the object's last request here
        if times is not None:
            times = np.asarray(times, dtype=np.float64)[order]
            before = np.where(repeat, np.concatenate(([0.0], times[:-1])), self.last_time[ordered])
            self.reuse_seconds.add(np.maximum(times - before, 0)[seen])
            self.last_time[ordered[last]] = times[last]
        self.last_seen[ordered[last]] = positions[order][last]

    def _windows(self, ids: np.ndarray) -> None:
        """Counts per object within the current tenth of the trace; its one-hit share when it closes."""
        start = 0
        while start < len(ids):
            edge = self.window_edges[len(self.window_shares)] - self.position
            stop = min(len(ids), max(edge, start))
            self.window += np.bincount(ids[start:stop], minlength=len(self.window)).astype(np.int32)
            start = stop
            if self.position + stop >= self.window_edges[len(self.window_shares)]:
                touched = int((self.window > 0).sum())
                self.window_shares.append(int((self.window == 1).sum()) / touched if touched else 0.0)
                self.window[:] = 0
                if len(self.window_shares) == WINDOWS:
                    return

    def _queue_distances(self, keys: np.ndarray) -> None:
        sampled = keys if self.sample_rate >= 1 else keys[shards_sample(keys, self.sample_rate)]
        self._queued.append(sampled)
        if sum(map(len, self._queued)) >= max(CHUNK, len(self.stack)):
            self._walk()

    def _walk(self) -> None:
        if not self._queued:
            return
        depths = self.stack.depths(np.concatenate(self._queued), None)
        self._queued.clear()
        first = depths == INFINITE
        scaled = np.rint(1 + (depths[~first] - 1) / self.sample_rate).astype(np.int64)
        self.distances += np.bincount(np.minimum(scaled, len(self.distances) - 2), minlength=len(self.distances))
        self.distances[-1] += int(first.sum())

    def result(self, trace) -> dict:
        self._walk()
        return summarise(self, trace)


def trace_stats(trace) -> dict:
    """Every figure of the module docstring for one trace, as a JSON-ready dict."""
    first = first_pass(trace)
    state = StatsPass(first, trace.has_time)
    for batch in trace.chunks(CHUNK):
        state.feed(batch)
    return state.result(trace)


def _distance_percentiles(distances: np.ndarray) -> dict:
    """Percentiles of the finite stack distances, and their CDF at CDF_POINTS log-spaced distances."""
    finite = distances[:-1]
    total = int(finite.sum())
    if not total:
        return {}
    cumulative = np.cumsum(finite)
    found = {f"p{q}": int(np.searchsorted(cumulative, q / 100 * total)) for q in PERCENTILES}
    grid = np.unique(np.geomspace(1, len(finite) - 1, CDF_POINTS).astype(np.int64))
    return found | {"cdf": [[int(d), float(cumulative[d] / total)] for d in grid]}


def _rank_curve(ordered: np.ndarray) -> list[list[int]]:
    """[[rank, requests], ...] of the objects sorted by requests, at CDF_POINTS log-spaced ranks."""
    ranks = np.unique(np.geomspace(1, len(ordered), CDF_POINTS).astype(np.int64))
    return [[int(rank), int(ordered[rank - 1])] for rank in ranks]


def summarise(state: StatsPass, trace) -> dict:
    first, count = state.first, state.count
    ordered = np.sort(count)[::-1]
    top = {
        f"{share}%": float(ordered[: max(1, round(len(ordered) * share / 100))].sum() / first.requests)
        for share in (1, 10)
    }
    fit = fit_zipf(count)
    loglog_alpha, loglog_r2 = loglog_fit(count)
    frequencies = np.bincount(count)
    stats = {
        "trace": str(trace.path),
        "format": trace.format,
        "compression": trace.compression,
        "requests": first.requests,
        "objects": first.objects,
        "bytes": first.bytes,
        "one_hit_wonders": {
            "share": float((count == 1).sum() / first.objects),
            "windows": state.window_shares,
            "window_mean": float(np.mean(state.window_shares)) if state.window_shares else 0.0,
        },
        "popularity": fit.as_dict()
        | {"loglog_alpha": loglog_alpha, "loglog_r2": loglog_r2, "top_share": top, "ranks": _rank_curve(ordered)},
        "frequency": {
            "mean": first.requests / first.objects,
            "max": int(ordered[0]),
            "objects_by_count": {int(k): int(v) for k, v in enumerate(frequencies) if v and k},
        },
        "reuse_time": state.reuse_time.percentiles() | {"cdf": state.reuse_time.cdf()},
        "reuse_distance": _distance_percentiles(state.distances) | {"sample_rate": state.sample_rate},
    }
    if trace.has_time:
        span = first.last_time - first.first_time
        seconds = span * (trace.seconds_per_unit or 1.0)
        stats["time"] = {"first": first.first_time, "last": first.last_time, "span_s": seconds}
        stats["reuse_time_s"] = {
            k: v * (trace.seconds_per_unit or 1.0) for k, v in state.reuse_seconds.percentiles().items()
        }
        per_bin = seconds / RATE_BINS if seconds else 0.0
        stats["rate"] = {
            "interval_s": per_bin,
            "per_s": (state.rate / per_bin).tolist() if per_bin else [],
            "mean_per_s": first.requests / seconds if seconds else 0.0,
        }
    if trace.has_op:
        stats["operations"] = {"read": 1 - state.writes / first.requests, "write": state.writes / first.requests}
    if trace.has_size:
        objects = LogHistogram()
        objects.add(state.first_size)
        stats["sizes"] = {
            "object": objects.percentiles() | {"mean": first.bytes / first.objects, "cdf": objects.cdf()},
            "request": state.request_sizes.percentiles() | {"cdf": state.request_sizes.cdf()},
        }
    if trace.has_ttl:
        stats["ttl"] = {"write_share": state.ttl_writes / max(1, state.writes)} | state.ttls.percentiles()
    return stats
