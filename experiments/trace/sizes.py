"""Cache sizes for `kvsim replay`: as given, or as a share of each trace's footprint.

    --capacity 1000,64MiB        objects, bytes: the same size for every trace
    --capacity 0.1%,1%,10%       a share of each trace's distinct objects
    --capacity 1%B,10%B          a share of each trace's distinct bytes (its footprint in bytes)

A share is what cache studies across many traces use (the S3-FIFO and SIEVE
papers size each trace's cache at a fraction of its footprint), so that one
command line means comparable caches on traces of very different sizes.
The footprint comes from one streaming pass over the trace first
(workloads.traces.footprint: requests, distinct objects, and the bytes of
each object at its first request, as libCacheSim's working-set pass counts
them); a share is rounded to the nearest whole object or byte, and never
below 1.  What each share came to is said in the output and in replay.csv's
``size`` column.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from experiments.config.checks import Capacity
from experiments.trace.inputs import TraceCommandError, parse_capacity
from workloads.traces import Footprint

_SHARE = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*%\s*(B?)\s*$")


@dataclass(frozen=True)
class Share:
    """A cache size as a share of a trace's footprint: `percent` of its objects, or of its bytes."""

    percent: float
    counts_bytes: bool
    written: str  # as the command line gave it: "1%", "10%B"

    def amount(self, footprint: Footprint) -> int:
        """The size this share is of `footprint`: whole objects or bytes, at least 1."""
        whole = footprint.bytes if self.counts_bytes else footprint.objects
        return max(1, round(whole * self.percent / 100))


def parse_share(text: str, what: str = "--capacity") -> Share | None:
    """'1%' -> Share(1.0, objects); '10%B' -> Share(10.0, bytes); None when `text` is no share."""
    if "%" not in text:
        return None
    match = _SHARE.match(text)
    percent = float(match.group(1)) if match else math.nan
    if not (match and 0 < percent <= 100):
        raise TraceCommandError(
            f"{what}: a share of the footprint is a percentage in (0%, 100%], such as 1% (of the distinct "
            f"objects) or 1%B (of the distinct bytes); got {text.strip()!r}"
        )
    return Share(percent, bool(match.group(2)), text.strip())


def parse_sizes(spec: str, what: str = "--capacity") -> list[Capacity | Share]:
    """A comma-separated --capacity: each an absolute Capacity or a Share, in the order given, no repeats."""
    sizes = []
    for part in spec.split(","):
        if not part.strip():
            continue
        size = parse_share(part, what) or parse_capacity(part.strip(), what)
        if size not in sizes:
            sizes.append(size)
    if not sizes:
        raise TraceCommandError(f"{what}: no capacity in {spec!r}")
    return sizes


def needs_footprint(sizes) -> bool:
    return any(isinstance(size, Share) for size in sizes)


def resolve(size: Capacity | Share, footprint: Footprint | None) -> tuple[int, bool]:
    """(amount, counts bytes) of a size for one trace (a Share needs the trace's footprint)."""
    if isinstance(size, Share):
        return size.amount(footprint), size.counts_bytes
    return size.amount, size.counts_bytes


def describe_footprint(name: str, footprint: Footprint, sizes) -> str:
    """One line: the trace's footprint, and what each share of it came to."""
    line = (
        f"{name}: {footprint.requests:,} requests, {footprint.objects:,} distinct objects, "
        f"{footprint.bytes:,} distinct bytes"
    )
    shares = [size for size in sizes if isinstance(size, Share)]
    if shares:
        said = ", ".join(
            f"{share.written} = {share.amount(footprint):,} {'bytes' if share.counts_bytes else 'objects'}"
            for share in shares
        )
        line += f"; {said}"
    return line
