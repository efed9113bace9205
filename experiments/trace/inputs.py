"""What `kvsim replay`, `kvsim mrc` and `kvsim validate` read from the command line: a trace
and how to read it, capacities, counts and policy names, each checked with one-line errors
(TraceCommandError).  The flags themselves are declared in experiments/cli/.

Capacities.  A bare integer counts objects and ignores sizes; a number with
a unit (B, KiB, MiB, GiB, TiB, or KB, MB, GB, TB) counts bytes with the
trace's sizes.  `replay` takes a comma-separated list and may mix the two;
`mrc` takes one kind per curve, as

    100,200,500          a list
    100:10000:100        a range with a step, both ends included when on the step
    100:1000000          log-spaced from the first to the last, --points of them (default 50)
    1MiB:1GiB            the same in bytes

Time.  A policy that reads the clock (Redis's LRU clock and LFU decay,
memcached's LRU ages) is given each request's timestamp times --time-unit
(default s); a trace without timestamps advances one second per request.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from experiments.config import ConfigError
from experiments.config.checks import Capacity, Invalid, capacity_text
from policies import PolicyError, policy_class
from policies.compiled import make_fast_policy
from workloads.traces import TIME_UNITS, TraceError, detect_format, open_trace

DEFAULT_POINTS = 50
#: the most capacities a curve has (each is a replay, or a point of LRU's one pass)
MAX_CAPACITIES = 100_000


class TraceCommandError(ConfigError):
    """A bad trace or command-line value for `replay` or `mrc`.

    A ConfigError, so that the command line reports it as it reports any
    user's mistake: one line on stderr, exit status 2.
    """


@dataclass(frozen=True)
class TraceFile:
    """A trace file named on the command line, and how to read it (--format, --key-column, ...)."""

    path: Path
    format: str | None = None
    key_column: str | None = None
    size_column: str | None = None
    key_type: str = "auto"
    time_unit: str = "s"  # what its timestamps count, for policies that read the clock

    def open(self):
        """The trace, opened with its reader options (TraceCommandError when it cannot be)."""
        options = {"key_type": self.key_type}
        if self.key_column or self.size_column:
            if (self.format or _extension_format(self.path)) != "csv":
                raise TraceCommandError("--key-column and --size-column apply to CSV traces only")
            if self.key_column:
                options["key"] = self.key_column
            if self.size_column:
                options["size"] = self.size_column
        if (self.format or _extension_format(self.path)) == "oraclegeneral":
            options.pop("key_type")  # binary ids are integers already
        try:
            return open_trace(self.path, self.format, **options)
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


#: the largest count a flag takes (requests, sampled keys): far beyond any trace, and inside int64
MAX_COUNT = 2**62


def parse_count(text: str, what: str, low: int = 0, high: int = MAX_COUNT) -> int:
    """A whole number from `low` to `high` written on the command line, or a TraceCommandError naming `what`."""
    try:
        value = int(text)
    except (TypeError, ValueError):
        value = None
    if value is None or not low <= value <= high:
        bound = "2**62" if high == MAX_COUNT else f"{high:,}"
        raise TraceCommandError(f"{what} must be an integer from {low} to {bound}; got {text!r}")
    return value


def parse_capacity(text: str, what: str = "--capacity") -> Capacity:
    """'1000' -> 1000 objects; '64MiB' -> 67108864 bytes (config.checks.capacity_text, errors naming `what`)."""
    try:
        return capacity_text(text)
    except Invalid as error:
        raise TraceCommandError(f"{what}: {error}") from None


def parse_capacities(spec: str, points: str | None) -> tuple[np.ndarray, bool]:
    """A --capacities SPEC (see the module docstring) -> (sorted distinct capacities, counts bytes)."""
    what = "--capacities"
    if ":" in spec:
        parts = spec.split(":")
        if len(parts) not in (2, 3) or not all(part.strip() for part in parts):
            raise TraceCommandError(f"{what}: a range is FIRST:LAST (log-spaced) or FIRST:LAST:STEP; got {spec!r}")
        values = [parse_capacity(part, what) for part in parts]
        kinds = {value.counts_bytes for value in values}
        if len(kinds) > 1:
            raise TraceCommandError(f"{what}: a range must be all objects or all bytes; got {spec!r}")
        first, last = values[0].amount, values[1].amount
        if last < first:
            raise TraceCommandError(f"{what}: the range's last capacity is below its first; got {spec!r}")
        if len(values) == 3:
            if points is not None:
                raise TraceCommandError("--points applies to a log-spaced range FIRST:LAST, not to one with a step")
            step = values[2].amount
            count = (last - first) // step + 1
            if count > MAX_CAPACITIES:
                raise TraceCommandError(f"{what}: {spec!r} makes {count:,} capacities; at most {MAX_CAPACITIES:,}")
            capacities = np.arange(first, last + 1, step, dtype=np.int64)
        else:
            n = DEFAULT_POINTS if points is None else parse_count(points, "--points", 2, MAX_CAPACITIES)
            capacities = np.rint(np.geomspace(first, last, n)).astype(np.int64)
        return np.unique(capacities), kinds.pop()
    if points is not None:
        raise TraceCommandError("--points applies to a log-spaced range FIRST:LAST")
    parts = [part for part in spec.split(",") if part.strip()]
    if len(parts) > MAX_CAPACITIES:
        raise TraceCommandError(f"{what}: {len(parts):,} capacities; at most {MAX_CAPACITIES:,}")
    values = [parse_capacity(part, what) for part in parts]
    if not values:
        raise TraceCommandError(f"{what}: no capacity in {spec!r}")
    kinds = {value.counts_bytes for value in values}
    if len(kinds) > 1:
        raise TraceCommandError(f"{what}: one curve counts either objects or bytes; {spec!r} mixes them")
    return np.unique(np.array([value.amount for value in values], dtype=np.int64)), kinds.pop()


def policy_names(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise TraceCommandError(f"--policy: no policy name in {text!r}")
    for name in names:
        policy_class(name)  # PolicyError with the valid names
    return names


def build_policy(name: str, capacity: int, count_bytes: bool):
    """The policy, compiled when the engine is (policies.compiled)."""
    try:
        return make_fast_policy(name, capacity, capacity_bytes=count_bytes)
    except PolicyError:
        raise
    except (TypeError, ValueError) as error:
        raise TraceCommandError(f"policy {name!r} at capacity {capacity}: {error}") from None
