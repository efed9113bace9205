"""`kvsim mrc`: a policy's miss-ratio curve over a trace; mrc.csv, mrc.json and the figure.

    kvsim mrc TRACE --policy NAME --capacities SPEC [--points N]
              [--format ...] [--time-unit ...] [--out DIR] [--force] [--warmup N]
              [--shards RATE | --shards-size N | --sample RATE [--min-objects N]] [--check]

`make_curve` writes DIR/mrc.csv, DIR/mrc.json (what curve the folder holds) and
the figure (experiments/plots/mrc.py draws it, and `kvsim plot DIR` redraws
it).  Like `kvsim run`, it locks DIR while it writes, and it refuses a
folder holding another curve, or an experiment, unless --force: the same
command again recomputes its own curve in place.

The methods (see experiments/analysis/mrc.py): LRU is one pass of stack depths, exact
to the miss, or SHARDS sampling with --shards RATE (fixed rate) or
--shards-size N (at most N sampled keys); every other policy is replayed at
each capacity, or with --shards RATE in miniature (sampled keys, capacities
scaled by RATE).  --sample RATE is miniature simulation for every policy,
LRU included (Waldspurger, Saemundsson, Ahmad and Park, USENIX ATC 2017):
the requests whose key is in the spatial sample of RATE replayed through
caches of RATE x each capacity.  Only sampled keys are numbered for the
compiled kernels, so memory follows the sample.  With --check, the exact
curve is computed too (full replays, or LRU's exact stack depths, which
equal them) and mrc.csv gains exact_miss_ratio; the output says the mean
and largest absolute error, and both times.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from experiments.analysis import MissRatioCurve, miss_ratio_curve
from experiments.analysis.miniature import miniature_mrc, small_miniatures
from experiments.config import ConfigError
from experiments.output.domains import check_table
from experiments.output.outdir import claim
from experiments.trace.inputs import TraceCommandError, TraceFile, in_seconds
from policies import PolicyError
from policies.compiled import engine
from workloads.ids import dense_batches
from workloads.traces import TraceError


@dataclass
class Made:
    """A curve computed and written: its table, how it was computed, the figures, the seconds it took."""

    curve: MissRatioCurve
    table: pd.DataFrame
    path: Path  # DIR/mrc.csv
    figures: list
    elapsed: float
    exact: MissRatioCurve | None = None  # with --check: the full replays' curve
    exact_elapsed: float = 0.0

    @property
    def errors(self) -> np.ndarray:
        """|sampled - exact| miss ratio at each capacity (with --check)."""
        return np.abs(self.curve.miss_ratio - self.exact.miss_ratio)


@dataclass(frozen=True)
class CurveAsk:
    """Which curve: the policy, the capacities (objects, or bytes with count_bytes), warm-up and sampling.

    rate: SHARDS' fixed rate (--shards), or the miniatures' (--sample, with
    `mini`); max_keys: fixed-size SHARDS (--shards-size); min_objects: the
    miniatures' floor (--min-objects, experiments/analysis/miniature.py).
    """

    name: str
    capacities: np.ndarray
    count_bytes: bool = False
    warmup: int = 0
    rate: float | None = None
    max_keys: int | None = None
    mini: bool = False
    min_objects: int = 0

    def exact(self) -> CurveAsk:
        """The same curve without sampling: what --check compares with."""
        return CurveAsk(self.name, self.capacities, self.count_bytes, self.warmup)


def make_curve(
    out: Path, identity: dict, ask: CurveAsk, trace, time_unit: str | float, force: bool, check: bool
) -> Made:
    """Compute the curve and write DIR (locked while it writes; another curve's folder only with `force`).

    `identity` (curve_identity) says what curve DIR holds once written;
    `check`: the exact curve too, beside it (--check).
    """
    from experiments.plots import mrc as folder  # matplotlib loads only now: the other commands start fast

    with claim(out) as out:
        folder.refuse_another(out, identity, force)
        started = time.perf_counter()
        curve = compute_curve(ask, trace, time_unit)
        elapsed = time.perf_counter() - started
        exact, exact_elapsed = None, 0.0
        if check:
            started = time.perf_counter()
            exact = compute_curve(ask.exact(), trace, time_unit)
            exact_elapsed = time.perf_counter() - started
        table = curve_table(curve, trace.has_size, exact)
        about = {"trace": trace.path.name, "policy": ask.name, "method": curve.method, "rate": curve.rate}
        about |= {"count_bytes": ask.count_bytes, "requests": curve.requests}  # what the figure's title and axis say
        figures = folder.write(out, table, {"curve": identity, "about": about})
    return Made(curve, table, out / folder.CSV, figures, elapsed, exact, exact_elapsed)


def default_out(trace, name: str) -> Path:
    """results/mrc-<trace>-<policy>/."""
    return Path("results") / f"mrc-{_stem(trace.path)}-{name.replace(':', '.')}"


def curve_identity(source: TraceFile, trace, ask: CurveAsk, check: bool = False) -> dict:
    """What makes two curves one: the trace and how it is read, the policy, capacities, warm-up and sampling."""
    identity = {
        "trace": str(trace.path.resolve()),
        "format": source.format,
        "key_column": source.key_column,
        "size_column": source.size_column,
        "key_type": source.key_type,
        "time_unit": source.unit_name(trace),
        "policy": ask.name,
        "capacities": ask.capacities.tolist(),
        "count_bytes": ask.count_bytes,
        "warmup": ask.warmup,
        "shards": ask.rate,
        "shards_size": ask.max_keys,
        "sample": ask.mini,
        "check": check,
    }
    if ask.mini:  # (curves that were not miniatures keep the identity they had before the floor)
        identity["min_objects"] = ask.min_objects
    return identity


def compute_curve(ask: CurveAsk, trace, time_unit) -> MissRatioCurve:
    """The curve `ask` names, with the trace's or the sampler's mistakes as one-line errors.

    A miniature (ask.mini) is for any policy, LRU too: each capacity sampled
    at max(rate, min_objects / capacity).
    """

    def chunks():  # the trace, read once per pass: times in seconds (a timed policy), dense ids (compiled ones)
        batches = in_seconds(trace.chunks(), time_unit)
        if engine() != "compiled" or ask.mini:  # (a miniature replay numbers only the keys it samples)
            return batches
        return dense_batches(batches)

    try:
        if ask.mini:
            assert ask.rate is not None, "a miniature needs a sampling rate"
            curve = miniature_mrc(
                ask.name,
                chunks,
                ask.capacities,
                ask.rate,
                ask.min_objects,
                count_bytes=ask.count_bytes,
                warmup=ask.warmup,
            )
            curve.notes += small_miniatures(curve, ask.rate, ask.min_objects)
        else:
            curve = miss_ratio_curve(
                ask.name, chunks, ask.capacities, ask.count_bytes, ask.warmup, ask.rate, ask.max_keys
            )
    except TraceError as error:
        raise TraceCommandError(str(error)) from None
    except ValueError as error:
        if isinstance(error, (ConfigError, PolicyError)):
            raise
        raise TraceCommandError(str(error)) from None
    if curve.requests == 0:
        raise TraceCommandError(f"--warmup {ask.warmup} covers the whole trace: nothing to count")
    return curve


def _stem(path: Path) -> str:
    name = path.name
    for suffix in (".oracleGeneral.bin", ".oraclegeneral.bin"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return path.stem


def describe_method(curve: MissRatioCurve) -> str:
    if curve.method == "shards":
        return f"LRU stack depths on a SHARDS sample (final rate {curve.rate:.4g})"
    if curve.method == "mini":
        return f"miniature simulations on a SHARDS sample (rate {curve.rate:.4g})"
    return {
        "stack": "exact LRU stack depths, one pass",
        "stack+replay": "exact: LRU stack depths, and replays below the largest object",
        "replay": "exact: one replay per capacity",
    }.get(curve.method, curve.method)


def curve_table(curve: MissRatioCurve, sizes: bool, exact: MissRatioCurve | None = None) -> pd.DataFrame:
    """capacity, miss_ratio, and byte_miss_ratio when the trace has sizes; exact_miss_ratio with `exact`."""
    columns = {"capacity": curve.capacities, "miss_ratio": curve.miss_ratio}
    if sizes:
        columns["byte_miss_ratio"] = curve.byte_miss_ratio
    if exact is not None:
        columns["exact_miss_ratio"] = exact.miss_ratio
    table = pd.DataFrame(columns)
    check_table(table, "mrc.csv")
    return table
