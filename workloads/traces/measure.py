"""What reading a compressed trace costs against the plain one: a measurement for `kvsim bench` to call.

    >>> figures = compressed_read_cost(Path("/tmp/work"), requests=10_000_000)   # doctest: +SKIP
    >>> figures["read_ratio"], figures["footprint_ratio"], figures["zstd_peak_mb"]  # doctest: +SKIP

One oracleGeneral trace (a Zipf(0.9) stream over a million keys, lognormal
sizes, as the bench's long trace) is written plain and zstd-compressed; each
is then read whole in chunks (``read_*``), and read with per-request work
on the side, the footprint pass (``footprint_*``: dense ids for every key,
what a replay does before its policy).  Every time is the best of `repeat`
runs: in wall seconds, and in CPU seconds of the reading process
(``*_cpu_s``; a long compressed trace is decompressed by a child process,
whose CPU is not counted: it runs on another core).

Reading alone, the wall time of the compressed trace is zstd's own
decompression time (its ``zstd -d`` speed on the machine), which no reader
can beat: ``decompress_cpu_s`` times that alone (the same decoder in this
process, its output dropped), and ``read_floor_ratio`` is the plain read's
share of it: the best zstd/plain read ratio this machine allows; the reading process's CPU (``read_cpu_ratio``) is what the
compression costs the work on the requests when a core is free for the
child, and ``footprint_ratio`` what it costs a pass with work to hide it
behind.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from workloads.traces.base import open_trace
from workloads.traces.decoders import DECODERS
from workloads.traces.footprint import footprint
from workloads.traces.writers import write_trace

_SOURCE = Path(__file__).resolve().parents[2]  # the tree a child process imports


def zipf_columns(requests: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The measured trace's keys, sizes and times: Zipf(0.9) over 10**6 keys, lognormal sizes, 1000 a second."""
    from workloads import Lognormal, Poisson, Workload, Zipf

    workload = Workload(Zipf(1_000_000, 0.9), Poisson(1.0), Lognormal(4096, 1.0))
    keys = np.concatenate([batch.key for batch in workload.batches(1, requests)])
    return keys, workload.sizes_of(keys, 1), np.arange(requests, dtype=np.int64) // 1000


def best_times(function: Callable[[], object], repeat: int) -> tuple[float, float]:
    """The shortest wall time and the shortest CPU time (of this process) of `repeat` calls."""
    wall = cpu = float("inf")
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        function()
        wall = min(wall, time.perf_counter() - start)
        cpu = min(cpu, time.process_time() - start_cpu)
    return wall, cpu


def peak_read_mb(path: Path) -> float:
    """The resident high-water mark, in MB, of a fresh process that reads the trace whole in chunks."""
    code = (
        "import sys\n"
        "from workloads.traces import open_trace\n"
        "n = sum(len(batch) for batch in open_trace(sys.argv[1]).chunks())\n"
        "print([line.split()[1] for line in open('/proc/self/status') if line.startswith('VmHWM')][0])\n"
    )
    env = {**os.environ, "PYTHONPATH": str(_SOURCE)}
    done = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, env=env, check=True)
    return int(done.stdout.split()[-1]) / 1024


def _decompress_only(path: Path) -> None:
    """Decompress the zstd file with kvsim's decoder and drop the bytes: the floor of any zstd read."""
    with open(path, "rb") as handle:
        for _ in DECODERS["zstd"](handle.read):
            pass


def compressed_read_cost(folder: Path, requests: int = 10_000_000, repeat: int = 3) -> dict:
    """Reading a zstd oracleGeneral trace against the plain one: seconds, ratios, sizes and peak memory."""
    folder = Path(folder)
    columns = zipf_columns(requests)
    plain = write_trace(folder / f"zipf-{requests}.oracleGeneral", *columns)
    packed = write_trace(folder / f"zipf-{requests}.oracleGeneral.zst", *columns)
    del columns
    figures: dict = {
        "requests": requests,
        "plain_bytes": plain.stat().st_size,
        "zstd_bytes": packed.stat().st_size,
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "load_before": os.getloadavg()[0],
    }
    for name, path in (("plain", plain), ("zstd", packed)):
        figures[f"read_{name}_s"], figures[f"read_{name}_cpu_s"] = best_times(
            lambda path=path: sum(len(batch) for batch in open_trace(path).chunks()),  # type: ignore[misc]  # (see below)
            repeat,
        )
        figures[f"footprint_{name}_s"], figures[f"footprint_{name}_cpu_s"] = best_times(
            # mypy cannot infer a lambda's default argument: the loop's path, bound now
            lambda path=path: footprint(path),  # type: ignore[misc]
            repeat,
        )
        figures[f"{name}_peak_mb"] = peak_read_mb(path)
    figures["decompress_cpu_s"] = best_times(lambda: _decompress_only(packed), repeat)[1]
    figures["read_floor_ratio"] = figures["decompress_cpu_s"] / figures["read_plain_cpu_s"]
    for what in ("read", "footprint"):
        figures[f"{what}_ratio"] = figures[f"{what}_zstd_s"] / figures[f"{what}_plain_s"]
        figures[f"{what}_cpu_ratio"] = figures[f"{what}_zstd_cpu_s"] / figures[f"{what}_plain_cpu_s"]
    figures["load_after"] = os.getloadavg()[0]
    return figures
