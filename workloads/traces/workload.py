"""A trace as the simulator's workload: TraceWorkload, its timestamps turned into seconds."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from workloads.arrivals import Poisson
from workloads.rng import rng_for
from workloads.stream import DEFAULT_CHUNK, RequestBatch
from workloads.traces.base import Trace, TraceError, open_trace

#: seconds per unit of a trace's timestamps
TIME_UNITS = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}

#: what to do with a timestamp earlier than the one before it (see TraceWorkload)
DISORDER = ("error", "clamp", "sort")


@dataclass(frozen=True)
class TraceWorkload:
    """A trace as the request stream of the SimPy model (``sim.run``).

    Same interface as workloads.Workload: ``batches(seed, total, chunk)``
    yields RequestBatch-es whose times are seconds from the first request.

    path, format, options: the trace and its reader options (see open_trace),
        such as {"key": "lbn"}; kept as a sorted tuple of pairs, so that the
        workload stays hashable like the rest of a Scenario.
    time_unit: the unit of the trace's timestamps: "s", "ms", "us", "ns",
        seconds per unit as a number, or None for the unit the trace's format
        fixes (``Trace.seconds_per_unit``: Twitter's seconds, MSR's 100 ns
        ticks), seconds when it fixes none.  Arrival i is at
        (t_i - t_0) * time_unit seconds.
    rate: requests per second.  When given, arrivals are a Poisson process of
        that rate drawn from the run's seed (as in Workload), and the trace's
        timestamps are ignored; it is required for a trace without timestamps.
    disorder: what to do when a timestamp is earlier than the one before it:
        "error" (a TraceError naming the line), "clamp" (the request arrives
        with the previous one; real traces logged by several threads are often
        a little out of order) or "sort" (the requests are put in time order
        first, stably: this reads the requests of the run into memory, 25
        bytes each, instead of streaming them).

    Sizes come from the trace (1 when it has none), ops from its op column.
    The trace is the same for every seed: only Poisson arrivals use the seed.
    When `total` exceeds the trace's length, the stream stops at the end of
    the trace, so a run measures fewer requests than asked (RunResult.requests
    says how many).
    """

    path: str | Path
    format: str | None = None
    time_unit: float | str | None = "s"
    rate: float | None = None
    options: tuple = ()
    disorder: str = "error"

    def __post_init__(self) -> None:
        options = self.options.items() if isinstance(self.options, dict) else self.options
        object.__setattr__(self, "options", tuple(sorted((str(k), v) for k, v in options)))
        unit = self.time_unit
        if unit is None:
            pass
        elif isinstance(unit, str):
            if unit not in TIME_UNITS:
                raise TraceError(f"time_unit must be one of {', '.join(TIME_UNITS)} or seconds per unit; got {unit!r}")
        elif isinstance(unit, bool) or not isinstance(unit, (int, float)) or not (math.isfinite(unit) and unit > 0):
            raise TraceError(
                f"time_unit must be a positive number of seconds or one of {', '.join(TIME_UNITS)}; got {unit!r}"
            )
        if self.rate is not None and (isinstance(self.rate, bool) or not self.rate > 0):
            raise TraceError(f"rate must be > 0 requests per second; got {self.rate!r}")
        if self.disorder not in DISORDER:
            raise TraceError(f"disorder must be one of {', '.join(map(repr, DISORDER))}; got {self.disorder!r}")
        trace = self.trace()  # fails now, not in the middle of a run, on a bad path or header
        if not trace.has_time and self.rate is None:
            raise TraceError(f"{trace.path}: the trace has no timestamps; give a request rate (rate=...)")

    @property
    def seconds_per_unit(self) -> float:
        if self.time_unit is None:
            return self.trace().seconds_per_unit or 1.0
        return TIME_UNITS[self.time_unit] if isinstance(self.time_unit, str) else float(self.time_unit)

    def trace(self) -> Trace:
        return open_trace(self.path, self.format, **dict(self.options))

    def batches(self, seed: int, total: int, chunk: int = DEFAULT_CHUNK) -> Iterator[RequestBatch]:
        """The first `total` requests of the trace (fewer if it is shorter), times in seconds."""
        if self.disorder == "sort" and self.rate is None:
            yield from self._sorted_batches(total, chunk)
            return
        trace = self.trace()
        scale = self.seconds_per_unit
        arrivals = Poisson(self.rate) if self.rate is not None else None
        arrival_rng = rng_for(seed, "workload.arrivals") if arrivals else None
        clock = 0.0
        origin = None
        previous = 0.0
        batches = trace.chunks(chunk)
        try:
            for batch in batches:
                n = min(len(batch), total - batch.start)
                if n <= 0:
                    break
                if arrivals is not None:
                    times = clock + np.cumsum(arrivals.gaps(arrival_rng, n))  # type: ignore[arg-type]  # set with arrivals
                    clock = float(times[-1])
                else:
                    raw = batch.time[:n]
                    if origin is None:
                        origin = raw[0]
                    # Subtract in the trace's own type first: int64 nanosecond
                    # stamps stay exact where float64 would round them.
                    times = (raw - origin).astype(np.float64) * scale
                    times, previous = self._ordered(times, previous, batch.start, trace)
                yield RequestBatch(times, batch.key[:n], batch.size[:n], batch.op[:n], batch.start)
                if batch.start + n >= total:
                    break
        finally:
            batches.close()

    def _sorted_batches(self, total: int, chunk: int) -> Iterator[RequestBatch]:
        """The first `total` requests put in time order (stably), then cut into batches."""
        trace = self.trace()
        parts = []
        for batch in trace.chunks(chunk):
            n = min(len(batch), total - batch.start)
            if n <= 0:
                break
            parts.append(batch)
            if batch.start + n >= total:
                break
        if not parts:
            return
        n = min(sum(len(p) for p in parts), total)
        raw, key, size, op = (np.concatenate([getattr(p, c) for p in parts])[:n] for c in ("time", "key", "size", "op"))
        order = np.argsort(raw, kind="stable")
        times = (raw[order] - raw[order[0]]).astype(np.float64) * self.seconds_per_unit
        key, size, op = key[order], size[order], op[order]
        for start in range(0, n, chunk):
            end = min(start + chunk, n)
            yield RequestBatch(times[start:end], key[start:end], size[start:end], op[start:end], start)

    def _ordered(self, times: np.ndarray, previous: float, start: int, trace: Trace) -> tuple[np.ndarray, float]:
        """Times checked (or clamped) to be non-decreasing from `previous`; and the new previous."""
        steps = np.diff(times, prepend=previous)
        if (steps < 0).any():
            if self.disorder == "error":
                i = int(np.argmax(steps < 0))
                raise TraceError(
                    f"{trace.path}: {trace.where(start + i)}: timestamp goes back in time "
                    f"({steps[i] / self.seconds_per_unit:g} units before the previous request); "
                    'set workload.trace_disorder = "clamp" to let it arrive with the previous one, or "sort" '
                    "to put the requests in time order"
                )
            times = np.maximum.accumulate(np.maximum(times, previous))
        return times, float(times[-1])
