"""`kvsim replay` and `kvsim mrc`: a trace through eviction policies, without a clock.

    kvsim replay TRACE --policy NAME[,NAME...] --capacity C[,C...]
                 [--format csv|txt|oraclegeneral] [--time-unit s|ms|us|ns] [--warmup N] [--json]
    kvsim mrc TRACE --policy NAME --capacities SPEC [--points N]
              [--format ...] [--time-unit ...] [--out DIR] [--force] [--warmup N] [--shards RATE | --shards-size N]

Both read the trace in chunks (workloads.traces), so its length does not
matter, and feed the chunks to every policy and capacity at once: one read
of the file whatever the number of policies and capacities.

Capacities.  A bare integer counts objects and ignores sizes; a number with
a unit (B, KiB, MiB, GiB, TiB, or KB, MB, GB, TB) counts bytes with the
trace's sizes.  `replay` takes a comma-separated list and may mix the two;
`mrc` takes one kind per curve, as

    100,200,500          a list
    100:10000:100        a range with a step, both ends included when on the step
    100:1000000          log-spaced from the first to the last, --points of them (default 50)
    1MiB:1GiB            the same in bytes

In `replay --json` and the table, ``capacity`` is the integer for a count
of objects and the text as given (such as "64MiB") for bytes.  A policy
that models a server (redis-lru, memcached, ...) takes a byte capacity as
the server's memory limit and charges its own per-entry overheads.

Time.  A policy that reads the clock (Redis's LRU clock and LFU decay,
memcached's LRU ages) is given each request's timestamp times --time-unit
(default s); a trace without timestamps advances one second per request.

Policies that need the future (a class with ``offline = True``, such as
Belady's) read the trace once more first and get the whole key sequence,
warm-up included, with ``policy.prepare(keys)`` before the replay.

`mrc` writes DIR/mrc.csv, DIR/mrc.json (what curve the folder holds) and
the figure (experiments/plots/mrc.py draws it, and `kvsim plot DIR` redraws
it).  Like `kvsim run`, it locks DIR while it writes, and it refuses a
folder holding another curve, or an experiment, unless --force: the same
command again recomputes its own curve in place.

The `mrc` methods (see policies/mrc.py): LRU is one pass of stack depths,
exact to the miss, or SHARDS sampling with --shards RATE (fixed rate) or
--shards-size N (at most N sampled keys); every other policy is replayed at
each capacity, or with --shards RATE in miniature (sampled keys, capacities
scaled by RATE).
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
import time
from pathlib import Path

import numpy as np
import pandas as pd

from experiments.checks import Invalid, parse_bytes
from experiments.config import ConfigError
from experiments.outdir import claim
from experiments.user_code import add_import_option, import_modules
from policies import PolicyError, policy_class
from policies.compiled import engine, engine_of, make_fast_policy
from policies.mrc import MissRatioCurve, is_lru, miss_ratio_curve
from policies.replay import Replayer, prepare_offline
from workloads.ids import DenseIds, dense_batches
from workloads.traces import FORMATS, KEY_TYPES, TIME_UNITS, TraceError, detect_format, open_trace

#: the fields of one `kvsim replay --json` result, in order
REPLAY_FIELDS = ("policy", "capacity", "requests", "hits", "misses", "miss_ratio", "byte_miss_ratio", "engine")

DEFAULT_POINTS = 50


class TraceCommandError(ConfigError):
    """A bad trace or command-line value for `replay` or `mrc`.

    A ConfigError, so that the command line reports it as it reports any
    user's mistake: one line on stderr, exit status 2.
    """


# -- registration ----------------------------------------------------------------------


def add_trace_commands(commands) -> None:
    """Add `replay` and `mrc` to the CLI's subparsers."""
    replay = commands.add_parser(
        "replay",
        help="replay a trace through policies, no clock: miss ratios",
        description=_first_paragraph(command_replay),
    )
    replay.add_argument("trace", type=Path, help="trace file (.csv, .txt, .bin/.oraclegeneral)")
    replay.add_argument(
        "--policy",
        required=True,
        metavar="NAME[,NAME...]",
        help="eviction policies (`kvsim policies`), comma-separated",
    )
    replay.add_argument(
        "--capacity",
        required=True,
        metavar="C[,C...]",
        help="cache sizes, comma-separated: an integer counts objects, 64MiB counts bytes",
    )
    replay.add_argument("--warmup", default="0", metavar="N", help="requests replayed before counting (default 0)")
    replay.add_argument(
        "--json", action="store_true", help="print JSON: one object for one policy and capacity, else a list"
    )
    add_trace_options(replay)
    add_import_option(replay)
    replay.set_defaults(handler=command_replay)

    mrc = commands.add_parser(
        "mrc", help="miss-ratio curve of a trace: CSV and PNG", description=_first_paragraph(command_mrc)
    )
    mrc.add_argument("trace", type=Path, help="trace file (.csv, .txt, .bin/.oraclegeneral)")
    mrc.add_argument("--policy", default="lru", metavar="NAME", help="eviction policy (default lru)")
    mrc.add_argument(
        "--capacities",
        required=True,
        metavar="SPEC",
        help="a list 100,200,500; a range with a step 100:10000:100; or a log-spaced "
        "range 100:1000000 (see --points); units such as 1MiB:1GiB count bytes",
    )
    mrc.add_argument(
        "--points",
        default=None,
        metavar="N",
        help=f"capacities of a log-spaced range FIRST:LAST (default {DEFAULT_POINTS})",
    )
    mrc.add_argument("--out", type=Path, help="output directory (default results/mrc-<trace>-<policy>/)")
    mrc.add_argument(
        "--force", action="store_true", help="replace the curve --out holds, even another trace's or policy's"
    )
    mrc.add_argument("--warmup", default="0", metavar="N", help="requests replayed before counting (default 0)")
    sampling = mrc.add_mutually_exclusive_group()
    sampling.add_argument(
        "--shards", default=None, metavar="RATE", help="SHARDS: sample keys at this fixed rate in (0, 1]"
    )
    sampling.add_argument(
        "--shards-size", default=None, metavar="N", help="fixed-size SHARDS: keep at most N sampled keys (LRU only)"
    )
    add_trace_options(mrc)
    add_import_option(mrc)
    mrc.set_defaults(handler=command_mrc)


def add_trace_options(parser, time_unit: bool = True) -> None:
    """The options that say how to read a trace (and, with `time_unit`, its timestamps)."""
    parser.add_argument(
        "--format", choices=FORMATS, type=str.lower, help="trace format (default: from the file's extension)"
    )
    parser.add_argument("--key-column", metavar="NAME", help="CSV: the column holding the key (default: detected)")
    parser.add_argument("--size-column", metavar="NAME", help="CSV: the column holding the size (default: detected)")
    if time_unit:
        parser.add_argument(
            "--time-unit",
            choices=TIME_UNITS,
            default="s",
            help="the unit of the trace's timestamps, for policies that read the clock (default s)",
        )
    parser.add_argument(
        "--key-type",
        choices=KEY_TYPES,
        default="auto",
        help="keys: integers where they are integers, else hashed text (auto); "
        "integers only (int); always hashed text (str)",
    )


def _first_paragraph(function) -> str:
    return (function.__doc__ or "").strip().split("\n\n")[0]


# -- shared helpers ----------------------------------------------------------------------


def open_cli_trace(args):
    """The trace named on the command line, with its reader options."""
    options = {"key_type": args.key_type}
    if args.key_column or args.size_column:
        if (args.format or _extension_format(args.trace)) != "csv":
            raise TraceCommandError("--key-column and --size-column apply to CSV traces only")
        if args.key_column:
            options["key"] = args.key_column
        if args.size_column:
            options["size"] = args.size_column
    if (args.format or _extension_format(args.trace)) == "oraclegeneral":
        options.pop("key_type")  # binary ids are integers already
    try:
        return open_trace(args.trace, args.format, **options)
    except TraceError as error:
        raise TraceCommandError(str(error)) from None


def _extension_format(path: Path) -> str | None:
    try:
        return detect_format(path)
    except TraceError:
        return None  # open_trace will say so


def in_seconds(batches, unit: str):
    """The trace's batches with their timestamps in seconds (a trace without any counts requests)."""
    scale = TIME_UNITS[unit]
    for batch in batches:
        yield dataclasses.replace(batch, time=batch.time * scale)


def parse_count(text: str, what: str, low: int = 0) -> int:
    try:
        value = int(text)
    except (TypeError, ValueError):
        raise TraceCommandError(f"{what} must be an integer >= {low}; got {text!r}") from None
    if value < low:
        raise TraceCommandError(f"{what} must be an integer >= {low}; got {text!r}")
    return value


_OBJECTS = re.compile(r"^\s*[0-9]+\s*$")


def parse_capacity(text: str, what: str = "--capacity") -> tuple[int, bool]:
    """'1000' -> (1000, False) objects; '64MiB' -> (67108864, True) bytes."""
    text = text.strip()
    if _OBJECTS.match(text):
        value = int(text)
        if value < 1:
            raise TraceCommandError(f"{what}: a capacity must be at least 1; got {text!r}")
        return value, False
    try:
        return parse_bytes(text), True
    except Invalid as error:
        raise TraceCommandError(f"{what}: {text!r} is neither a whole number of objects nor a size: {error}") from None


def parse_capacities(spec: str, points: str | None) -> tuple[np.ndarray, bool]:
    """A --capacities SPEC (see the module docstring) -> (sorted distinct capacities, counts bytes)."""
    what = "--capacities"
    if ":" in spec:
        parts = spec.split(":")
        if len(parts) not in (2, 3) or not all(part.strip() for part in parts):
            raise TraceCommandError(f"{what}: a range is FIRST:LAST (log-spaced) or FIRST:LAST:STEP; got {spec!r}")
        values = [parse_capacity(part, what) for part in parts]
        kinds = {is_bytes for _, is_bytes in values}
        if len(kinds) > 1:
            raise TraceCommandError(f"{what}: a range must be all objects or all bytes; got {spec!r}")
        first, last = values[0][0], values[1][0]
        if last < first:
            raise TraceCommandError(f"{what}: the range's last capacity is below its first; got {spec!r}")
        if len(values) == 3:
            if points is not None:
                raise TraceCommandError("--points applies to a log-spaced range FIRST:LAST, not to one with a step")
            step = values[2][0]
            count = (last - first) // step + 1
            if count > 100_000:
                raise TraceCommandError(f"{what}: {spec!r} makes {count} capacities; at most 100000")
            capacities = np.arange(first, last + 1, step, dtype=np.int64)
        else:
            n = DEFAULT_POINTS if points is None else parse_count(points, "--points", 2)
            if n > 100_000:
                raise TraceCommandError(f"--points must be at most 100000; got {n}")
            capacities = np.rint(np.geomspace(first, last, n)).astype(np.int64)
        return np.unique(capacities), kinds.pop()
    if points is not None:
        raise TraceCommandError("--points applies to a log-spaced range FIRST:LAST")
    values = [parse_capacity(part, what) for part in spec.split(",") if part.strip()]
    if not values:
        raise TraceCommandError(f"{what}: no capacity in {spec!r}")
    kinds = {is_bytes for _, is_bytes in values}
    if len(kinds) > 1:
        raise TraceCommandError(f"{what}: one curve counts either objects or bytes; {spec!r} mixes them")
    return np.unique(np.array([v for v, _ in values], dtype=np.int64)), kinds.pop()


def _policy_names(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise TraceCommandError(f"--policy: no policy name in {text!r}")
    for name in names:
        policy_class(name)  # PolicyError with the valid names
    return names


def _build(name: str, capacity: int, count_bytes: bool):
    """The policy, compiled when the engine is (policies.compiled)."""
    try:
        return make_fast_policy(name, capacity, capacity_bytes=count_bytes)
    except PolicyError:
        raise
    except (TypeError, ValueError) as error:
        raise TraceCommandError(f"policy {name!r} at capacity {capacity}: {error}") from None


# -- kvsim replay -------------------------------------------------------------------------


def command_replay(args) -> int:
    """Replay a trace through each policy at each capacity, without a clock, and print miss ratios.

    All combinations are fed from one read of the trace.
    """
    import_modules(args.imports)
    names = _policy_names(args.policy)
    capacities = [(text.strip(), *parse_capacity(text)) for text in args.capacity.split(",") if text.strip()]
    if not capacities:
        raise TraceCommandError(f"--capacity: no capacity in {args.capacity!r}")
    warmup = parse_count(args.warmup, "--warmup")
    trace = open_cli_trace(args)
    runs = []  # (policy name, capacity label, replayer)
    for name in names:
        for label, value, is_bytes in capacities:
            policy = _build(name, value, is_bytes)
            runs.append((name, value if not is_bytes else label, Replayer(policy, is_bytes, warmup)))
    # Compiled policies index their arrays by the keys' dense ids, numbered here once for all.
    dense = DenseIds() if any(engine_of(replayer.policy) == "compiled" for _, _, replayer in runs) else None
    try:
        # Numbering the whole future first, the chunks then only look their ids up.
        prepare_offline([replayer.policy for _, _, replayer in runs], trace.keys, dense)
        for batch in in_seconds(trace.chunks(), args.time_unit):
            ids = None if dense is None else dense(batch.key)
            for _, _, replayer in runs:
                replayer.feed(batch.key, batch.size, times=batch.time, ids=ids)
    except TraceError as error:
        raise TraceCommandError(str(error)) from None
    total = runs[0][2].position
    if warmup >= total:
        raise TraceCommandError(f"--warmup {warmup} covers the whole trace ({total} requests): nothing to count")
    rows = [
        replay_row(name, capacity, replayer.counts, engine_of(replayer.policy)) for name, capacity, replayer in runs
    ]
    if args.json:
        print(json.dumps(rows[0] if len(rows) == 1 else rows, indent=2))
    else:
        print(format_table(rows))
    return 0


def replay_row(policy: str, capacity, counts, engine_name: str) -> dict:
    """One result of `kvsim replay`; `engine_name`: "compiled" or "python", the one that ran the policy."""
    return {
        "policy": policy,
        "capacity": capacity,
        "requests": counts.requests,
        "hits": counts.hits,
        "misses": counts.misses,
        "miss_ratio": counts.miss_ratio,
        "byte_miss_ratio": counts.byte_miss_ratio,
        "engine": engine_name,
    }


def format_table(rows: list[dict]) -> str:
    table = pd.DataFrame(rows, columns=list(REPLAY_FIELDS))
    return table.to_string(index=False, float_format=lambda v: f"{v:.6f}")


# -- kvsim mrc ------------------------------------------------------------------------------


def command_mrc(args) -> int:
    """Compute a policy's miss-ratio curve over a trace; write mrc.csv and its figure (mrc.png, mrc.svg).

    LRU takes one pass (exact); other policies one replay per capacity.
    """
    import_modules(args.imports)
    name = _policy_names(args.policy)
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
    _build(name, int(capacities[0]), count_bytes)  # a policy that cannot be built fails before the trace is read
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
    return pd.DataFrame(columns)
