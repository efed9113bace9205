"""`kvsim mrc`: a policy's miss-ratio curve over a trace; mrc.csv, mrc.json and the figure.

    kvsim mrc TRACE --policy NAME --capacities SPEC [--points N]
              [--format ...] [--time-unit ...] [--out DIR] [--force] [--warmup N] [--shards RATE | --shards-size N]

`mrc` writes DIR/mrc.csv, DIR/mrc.json (what curve the folder holds) and
the figure (experiments/plots/mrc.py draws it, and `kvsim plot DIR` redraws
it).  Like `kvsim run`, it locks DIR while it writes, and it refuses a
folder holding another curve, or an experiment, unless --force: the same
command again recomputes its own curve in place.

The methods (see policies/mrc.py): LRU is one pass of stack depths, exact
to the miss, or SHARDS sampling with --shards RATE (fixed rate) or
--shards-size N (at most N sampled keys); every other policy is replayed at
each capacity, or with --shards RATE in miniature (sampled keys, capacities
scaled by RATE).
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import pandas as pd

from experiments.config import ConfigError
from experiments.config.user_code import import_modules
from experiments.output.domains import check_table
from experiments.output.outdir import claim
from experiments.trace_args import (
    TraceCommandError,
    build_policy,
    in_seconds,
    open_cli_trace,
    parse_capacities,
    parse_count,
    policy_names,
)
from policies import PolicyError
from policies.compiled import engine
from policies.mrc import MissRatioCurve, is_lru, miss_ratio_curve
from workloads.ids import dense_batches
from workloads.traces import TraceError


def command_mrc(args) -> int:
    """Compute a policy's miss-ratio curve over a trace; write mrc.csv and its figure (mrc.png, mrc.svg).

    LRU takes one pass (exact); other policies one replay per capacity.
    """
    import_modules(args.imports)
    name = policy_names(args.policy)
    if len(name) != 1:
        raise TraceCommandError("--policy: mrc draws one policy's curve; run it once per policy")
    name = name[0]
    capacities, count_bytes = parse_capacities(args.capacities, args.points)
    warmup = parse_count(args.warmup, "--warmup")
    rate = max_keys = None
    if args.shards is not None:
        try:
            rate = float(args.shards)
        except ValueError:
            rate = math.nan
        if not 0 < rate <= 1:
            raise TraceCommandError(f"--shards must be a sampling rate in (0, 1], e.g. 0.01; got {args.shards!r}")
    if args.shards_size is not None:
        max_keys = parse_count(args.shards_size, "--shards-size", 1)
        if not is_lru(name):
            raise TraceCommandError(
                "--shards-size needs LRU's stack depths; for other policies sample at a "
                "fixed rate with --shards RATE (miniature simulation)"
            )
    build_policy(name, int(capacities[0]), count_bytes)  # a policy that cannot be built fails before the trace is read
    trace = open_cli_trace(args)
    out = args.out or Path("results") / f"mrc-{_stem(trace.path)}-{name.replace(':', '.')}"
    identity = curve_identity(args, trace, name, capacities, count_bytes, warmup, rate, max_keys)
    from experiments.plots import mrc as folder  # matplotlib loads only now: the other commands start fast

    with claim(out) as out:
        folder.refuse_another(out, identity, args.force)
        started = time.perf_counter()
        curve = compute_curve(name, trace, capacities, count_bytes, warmup, rate, max_keys, args.time_unit)
        elapsed = time.perf_counter() - started
        table = curve_table(curve, trace.has_size)
        about = {"trace": trace.path.name, "policy": name, "method": curve.method, "rate": curve.rate}
        about |= {"count_bytes": count_bytes, "requests": curve.requests}  # what the figure's title and axis say
        figures = folder.write(out, table, {"curve": identity, "about": about})
    print(table.to_string(index=False, float_format=lambda v: f"{v:.6f}", max_rows=30))
    unit = "bytes" if count_bytes else "objects"
    print(
        f"\n{describe_method(curve)}; {curve.requests} requests, {len(curve.capacities)} capacities "
        f"({unit}) in {elapsed:.2f}s -> {out / folder.CSV}, {', '.join(map(str, figures))}"
    )
    for note in curve.notes:
        print(f"note: {note}")
    return 0


def curve_identity(args, trace, name: str, capacities, count_bytes: bool, warmup: int, rate, max_keys) -> dict:
    """What makes two curves one: the trace and how it is read, the policy, capacities, warm-up and sampling."""
    return {
        "trace": str(trace.path.resolve()),
        "format": args.format,
        "key_column": args.key_column,
        "size_column": args.size_column,
        "key_type": args.key_type,
        "time_unit": args.time_unit,
        "policy": name,
        "capacities": capacities.tolist(),
        "count_bytes": count_bytes,
        "warmup": warmup,
        "shards": rate,
        "shards_size": max_keys,
    }


def compute_curve(
    name: str, trace, capacities, count_bytes: bool, warmup: int, rate, max_keys, time_unit
) -> MissRatioCurve:
    """The curve, with the trace's or the sampler's mistakes as one-line errors."""

    def chunks():  # the trace, read once per pass: times in seconds (a timed policy), dense ids (compiled ones)
        batches = in_seconds(trace.chunks(), time_unit)
        return dense_batches(batches) if engine() == "compiled" else batches

    try:
        curve = miss_ratio_curve(name, chunks, capacities, count_bytes, warmup, rate, max_keys)
    except TraceError as error:
        raise TraceCommandError(str(error)) from None
    except ValueError as error:
        if isinstance(error, (ConfigError, PolicyError)):
            raise
        raise TraceCommandError(str(error)) from None
    if curve.requests == 0:
        raise TraceCommandError(f"--warmup {warmup} covers the whole trace: nothing to count")
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


def curve_table(curve: MissRatioCurve, sizes: bool) -> pd.DataFrame:
    """capacity, miss_ratio, and byte_miss_ratio when the trace has sizes."""
    columns = {"capacity": curve.capacities, "miss_ratio": curve.miss_ratio}
    if sizes:
        columns["byte_miss_ratio"] = curve.byte_miss_ratio
    table = pd.DataFrame(columns)
    check_table(table, "mrc.csv")
    return table
