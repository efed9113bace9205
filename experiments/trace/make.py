"""`kvsim trace make`: a trace of Zipf requests written in any format, a newcomer's first trace.

    kvsim trace make t.oracleGeneral.zst --requests 1000000 --keys 100000 --alpha 0.9 --sizes lognormal:4096:1

The requests are kvsim's own synthetic workload (workloads.Workload: Zipf
popularity over scrambled key ids, Poisson arrivals, one size per key,
reads and writes), the same for a seed on any machine; the writer is
workloads.traces' (write_batches: the format and compression from the
file's name, written whole or not at all, in batches, so a long trace
takes little memory but for oracleGeneral, whose next-access field needs
every key).  Timestamps are whole seconds since the first request, as the
binary formats store them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from experiments.trace.inputs import TraceCommandError
from workloads import Constant, Lognormal, Pareto, Poisson, Workload, Zipf
from workloads.traces import TraceError, write_batches

CHUNK = 1 << 18


@dataclass(frozen=True)
class MakeSpec:
    requests: int
    keys: int
    alpha: float
    sizes: object  # a workloads Distribution
    sizes_text: str
    rate: float
    write_fraction: float
    seed: int

    def describe(self) -> str:
        return (
            f"{self.requests:,} requests over {self.keys:,} keys, Zipf alpha {self.alpha:g}, sizes {self.sizes_text}, "
            f"{self.rate:g} requests/s, {self.write_fraction:g} writes, seed {self.seed}"
        )


def _number(text: str, flag: str, low: float, high: float = math.inf, low_open: bool = False) -> float:
    try:
        value = float(text)
    except (TypeError, ValueError):
        value = math.nan
    if not (math.isfinite(value) and (value > low if low_open else value >= low) and value <= high):
        span = f"{'>' if low_open else '>='} {low:g}" + (f" and <= {high:g}" if high < math.inf else "")
        raise TraceCommandError(f"{flag} must be a number {span}; got {text!r}")
    return value


def parse_sizes(text: str):
    """'4096' -> Constant; 'lognormal:MEDIAN:SIGMA'; 'pareto:MIN:SHAPE'."""
    parts = [part.strip() for part in text.split(":")]
    if len(parts) == 1:
        return Constant(int(_number(parts[0], "--sizes", 1)))
    if parts[0] == "lognormal" and len(parts) == 3:
        return Lognormal(_number(parts[1], "--sizes median", 0, low_open=True), _number(parts[2], "--sizes sigma", 0))
    if parts[0] == "pareto" and len(parts) == 3:
        return Pareto(
            _number(parts[1], "--sizes min", 0, low_open=True), _number(parts[2], "--sizes shape", 0, low_open=True)
        )
    raise TraceCommandError(f"--sizes: a number of bytes, lognormal:MEDIAN:SIGMA or pareto:MIN:SHAPE; got {text!r}")


def parse_make(args) -> MakeSpec:
    return MakeSpec(
        requests=args.requests,
        keys=args.keys,
        alpha=_number(args.alpha, "--alpha", 0, 10),
        sizes=parse_sizes(args.sizes),
        sizes_text=args.sizes,
        rate=_number(args.rate, "--rate", 0, low_open=True),
        write_fraction=_number(args.write_fraction, "--write-fraction", 0, 1),
        seed=args.seed,
    )


def make_trace(out: Path, spec: MakeSpec, format: str | None = None) -> Path:
    """Write the trace `spec` describes to `out` (its folder created if needed)."""
    workload = Workload(Zipf(spec.keys, spec.alpha), Poisson(spec.rate), spec.sizes, spec.write_fraction)

    def batches():
        for batch in workload.batches(spec.seed, spec.requests, CHUNK):
            yield {
                "key": batch.key,
                "time": np.floor(batch.time).astype(np.int64),
                "size": np.asarray(batch.size, dtype=np.int64),
                "op": batch.op,
            }

    try:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        return write_batches(out, batches(), format=format)
    except TraceError as error:
        raise TraceCommandError(f"{out}: {error}") from None
    except OSError as error:
        raise TraceCommandError(f"{out}: cannot write there ({error.strerror or error})") from None
