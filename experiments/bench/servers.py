"""The `servers` section: kvsim's server models against the real Redis and memcached (the README's table).

    servers     `kvsim validate` for every server model (redis-lru,
                redis-lfu, redis-random, memcached) on a Zipf trace and, when
                at hand, libCacheSim's CloudPhysics sample, each with
                fixed-size and varied-size values, at three memory sizes:
                the real server's hit ratio, kvsim's, their difference, and
                textbook LRU at the same memory

It needs redis-server and memcached on PATH (the section says so and skips
without them) and takes minutes: --quick runs the Zipf trace at one memory
size.  The traces:

* Zipf: 200,000 requests of Zipf(0.9) over 200,000 keys, values of 200
  bytes, or lognormal sizes (median 300 bytes, 10 bytes to 20 KB) fixed per key;
* CloudPhysics: 113,872 requests, 48,974 objects, with its own sizes (512
  bytes to 68 KiB) and with every value 1000 bytes.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from experiments.bench.common import LIBCACHESIM_DATA, Bench, Section
from experiments.trace.inputs import TraceFile
from experiments.validate.compare import check_options, server_for, write_report
from experiments.validate.compare import validate as compare
from workloads import Poisson, Workload, Zipf
from workloads.rng import rng_for
from workloads.traces import write_oracle_general

#: (server, --policy) of every model checked
MODELS = [("redis", "allkeys-lru"), ("redis", "allkeys-lfu"), ("redis", "allkeys-random"), ("memcached", None)]

#: three memory sizes per trace and kind of sizes: the working set is about 2, 4 and 8 times larger
MEMORY = {
    ("zipf", "200 B"): ("4MiB", "8MiB", "16MiB"),
    ("zipf", "varied"): ("8MiB", "16MiB", "32MiB"),
    ("cloudphysics", "1000 B"): ("8MiB", "16MiB", "32MiB"),
    ("cloudphysics", "varied"): ("256MiB", "512MiB", "1024MiB"),
}

#: the targets of issue 14: |kvsim - real| for each server's models
TARGETS = {"redis": 0.01, "memcached": 0.02}


def zipf_traces(folder: Path) -> dict:
    """The generated Zipf trace, with values of 200 bytes and with sizes drawn once per key."""
    workload = Workload(Zipf(200_000, 0.9), Poisson(1.0))
    keys = np.concatenate([batch.key for batch in workload.batches(1, 200_000)])
    distinct, which = np.unique(keys, return_inverse=True)
    sizes = np.clip(rng_for(1, "sizes").lognormal(np.log(300), 1.0, len(distinct)), 10, 20_000).astype(np.int64)
    return {
        ("zipf", "200 B"): (write_oracle_general(folder / "zipf-fixed.bin", keys, sizes=np.full(len(keys), 200)), None),
        ("zipf", "varied"): (write_oracle_general(folder / "zipf-varied.bin", keys, sizes=sizes[which]), None),
    }


def cloudphysics_traces() -> dict:
    path = LIBCACHESIM_DATA / "cloudPhysicsIO.oracleGeneral.bin"
    if not path.exists():
        return {}
    return {("cloudphysics", "1000 B"): (path, "1000"), ("cloudphysics", "varied"): (path, None)}


def validate(server: str, policy: str | None, trace: Path, value_size: str | None, memory: str, out: Path) -> dict:
    """One comparison as `kvsim validate` makes it, in this process; its report (also written to out/validate.json)."""
    options = check_options(server, trace, memory, policy, value_size=value_size, out=out)
    with server_for(options) as started:  # stopped, and its files removed, however this ends
        report = compare(started, TraceFile(trace).open(), options)
    write_report(report, options)
    return report


def measure(bench: Bench) -> dict:
    missing = [name for name in ("redis-server", "memcached") if shutil.which(name) is None]
    if missing:
        return {"servers_skipped": f"{' and '.join(missing)} not on PATH"}
    traces = zipf_traces(bench.work)
    if not bench.quick:
        traces |= cloudphysics_traces()
    rows = []
    for (name, sizes), (trace, value_size) in traces.items():
        for memory in MEMORY[name, sizes][1:2] if bench.quick else MEMORY[name, sizes]:
            for server, policy in MODELS:
                bench.say(f"{server} {policy or ''} on {name} ({sizes}) in {memory} ...")
                report = validate(server, policy, trace, value_size, memory, bench.work / "validate")
                rows.append({**report, "trace": name, "values": sizes, "memory": memory})
    worst = {
        server: max(abs(row["difference"]) for row in rows if row["model"].startswith(server))
        for server in ("redis", "memcached")
    }
    return {"servers": rows, "servers_worst_difference": worst}


def report(figures: dict) -> list[str]:
    if "servers_skipped" in figures:
        return [f"  servers: skipped ({figures['servers_skipped']})"]
    if "servers" not in figures:
        return []
    lines = ["", "  server models against the real servers (hit ratio: real, kvsim, difference; textbook LRU):"]
    for row in figures["servers"]:
        lines.append(
            f"    {row['trace']:<12} {row['values']:<7} {row['memory']:>8} {row['model']:<13} "
            f"{row['server_hit_ratio']:.4f} {row['model_hit_ratio']:.4f} {row['difference']:+.4f}   "
            f"LRU {row['lru_hit_ratio']:.4f}"
        )
    for server, worst in figures["servers_worst_difference"].items():
        target = TARGETS[server]
        lines.append(
            f"    worst |difference| {server:<10} {worst:.4f}   {'ok  ' if worst <= target else 'MISS'}  <= {target}"
        )
    return lines


SERVERS = Section("servers", measure, report)
