"""The README's agreement table: kvsim's server models against real Redis and memcached; a script (minutes).

    python -m tests.experiments.measure_validate [--out DIR] [--rate 20000] [--only zipf|cloudphysics]

Runs `kvsim validate` for every server model (redis-lru, redis-lfu,
redis-random, memcached) on two traces, each with fixed-size and with
varied-size values, at three memory sizes each, and prints one Markdown row
per run: the real server's hit ratio, kvsim's, the difference, and textbook
LRU at the same memory (counting the values only, and counting what the
server charges per entry).  The traces:

* zipf: 200,000 requests of Zipf(0.9) over 200,000 keys (63,336 of them
  requested), generated here: values of 200 bytes, or lognormal sizes (median
  300 bytes, 10 bytes to 20 KB) fixed per key;
* cloudphysics: the shared CloudPhysics block trace (113,872 requests,
  48,974 objects; skipped when absent), with its own sizes (512 bytes to
  68 KiB) and with every value 1000 bytes.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
from pathlib import Path

import numpy as np

from experiments.cli import main
from tests.trace_files import LIBCACHESIM_DATA, write_bin, zipf_keys
from workloads.rng import rng_for

POLICIES = [("redis", "allkeys-lru"), ("redis", "allkeys-lfu"), ("redis", "allkeys-random"), ("memcached", None)]


def zipf_traces(folder: Path) -> dict:
    keys = zipf_keys(200_000, keys=200_000, alpha=0.9, seed=1)
    distinct, which = np.unique(keys, return_inverse=True)
    sizes = np.clip(rng_for(1, "sizes").lognormal(np.log(300), 1.0, len(distinct)), 10, 20_000).astype(np.int64)
    return {
        ("zipf", "200 B"): (write_bin(folder / "zipf-fixed.bin", keys, sizes=np.full(len(keys), 200)), []),
        ("zipf", "varied"): (write_bin(folder / "zipf-varied.bin", keys, sizes=sizes[which]), []),
    }


def cloudphysics_traces() -> dict:
    path = LIBCACHESIM_DATA / "cloudPhysicsIO.oracleGeneral.bin"
    if not path.exists():
        return {}
    return {("cloudphysics", "1000 B"): (path, ["--value-size", "1000"]), ("cloudphysics", "varied"): (path, [])}


#: three memory sizes per trace and kind of sizes: the working set is about 2, 4 and 8 times larger
MEMORY = {
    ("zipf", "200 B"): ("4MiB", "8MiB", "16MiB"),
    ("zipf", "varied"): ("8MiB", "16MiB", "32MiB"),
    ("cloudphysics", "1000 B"): ("8MiB", "16MiB", "32MiB"),
    ("cloudphysics", "varied"): ("256MiB", "512MiB", "1024MiB"),
}


def run(server, policy, trace, extra, memory, rate, out) -> dict:
    args = ["validate", server, str(trace), "--memory", memory, "--rate", str(rate), "--out", str(out), *extra]
    if policy:
        args += ["--policy", policy]
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(args) == 0
    return json.loads((out / "validate.json").read_text())


def row(name, sizes, memory, report) -> str:
    model = report["model"]
    cells = [
        name,
        sizes,
        memory,
        model,
        f"{report['server_hit_ratio']:.4f}",
        f"{report['model_hit_ratio']:.4f}",
        f"{report['difference']:+.4f}",
        f"{report['lru_hit_ratio']:.4f}",
        f"{report['lru_entries_hit_ratio']:.4f}",
        f"{report['achieved_rate'] / 1000:.0f}k/s",
    ]
    return "| " + " | ".join(cells) + " |"


def main_(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("results/measure-validate"))
    parser.add_argument("--rate", type=int, default=20_000)
    parser.add_argument("--only", choices=("zipf", "cloudphysics"))
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    traces = {}
    if args.only in (None, "zipf"):
        traces |= zipf_traces(args.out)
    if args.only in (None, "cloudphysics"):
        traces |= cloudphysics_traces()
    print("| trace | values | memory | model | real | kvsim | difference | LRU (values) | LRU (server bytes) | rate |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    reports = []
    for (name, sizes), (trace, extra) in traces.items():
        for memory in MEMORY[name, sizes]:
            for server, policy in POLICIES:
                report = run(server, policy, trace, extra, memory, args.rate, args.out / "run")
                reports.append(report)
                print(row(name, sizes, memory, report), flush=True)
    (args.out / "reports.json").write_text(json.dumps(reports, indent=1))


if __name__ == "__main__":
    main_()
