"""A corpus of bad and extreme inputs through the CLI (issue 20): run it, count the endings.

    PYTHONPATH=. python -m tests.experiments.corpus_issue20 [--engine compiled|python] [--only PREFIX]

Not a test module (pytest does not collect it): a campaign to run by hand,
on each engine, whose counts go into the closing note.  Each case is a
command line (with a config, a trace or a damaged folder made for it) and
ends in one of the endings test_fuzz.judge accepts (exit 0 with in-domain
tables, 2 with one line on stderr, a plan's 3) or is counted as what it is:
a traceback, a hang (past the alarm), several lines, another status, or an
out-of-domain number in the tables.

The cases: the issue's own examples; every numeric key of the schema at
both ends of its range and beyond (0, 1, -1, the bound, the bound + 1, 1e300,
nan, inf, a word, a truth value, a list); each parameter of the tables
(arrivals, sizes, TTLs, latencies) likewise; each parameter of every policy;
key classes up to the bound and one more; sweeps that mix kinds of value;
each flag of each command at its edges; run files and traces damaged.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

from experiments.config.schema import SCHEMA
from tests.experiments.test_fuzz import check_tables, run_cli, toml
from tests.trace_files import write_bin

SMALL = {"requests": 400, "warmup": 100, "seeds": [1]}
EDGES = [0, 1, -1, 1e300, -1e300, math.nan, math.inf, "x", True, [1], {}, 2**63 - 1, 2**64]
#: the bound's ends read off a check's `allowed` text: "integer in [1, 4096]", "number in (0, 1e+12]"
_RANGE = re.compile(r"in [\[(]([-0-9.e+]+), ([-0-9.e+]+)\]")
#: keys whose upper bound is the work itself (a run of 2**31 requests is slow, not wrong): their bound is not run
WORK_KEYS = ("run.requests", "run.warmup")

POLICY_PARAMS = {
    "clock": {"bits": [0, 1, 8, 62, 63, 64, 65, 1000, 2**63], "init_freq": [-1, 0, 1, 2**63]},
    "lirs": {"hir_ratio": [0, 1e-300, 0.5, 1, 1.5, math.nan]},
    "random": {"seed": [-1, 0, 2**64 - 1, 2**64, 2**200]},
    "s3fifo": {"small_size_ratio": [0, 1e-9, 1, 2], "ghost_size_ratio": [0, 1e300], "move_to_main_threshold": [0, 1, 2**63]},
    "slru": {"n_seg": [0, 1, 64, 2**20, 2**63], "segments": [[], [1], [0.5, 0.5], [2**63, 1], "x"]},
    "twoq": {"ain_size_ratio": [0, 1, 1e300], "aout_size_ratio": [0, 1e300, -1]},
    "wtinylfu": {"window_size": [0, 1e-300, 0.5, 1, 2]},
    "memcached": {
        "growth_factor": [1.0, 1.0001, 1.0104, 1.01, 1.1, 1.25, 2, 100, 1e300, math.inf, math.nan],
        "min_chunk": [0, 1, 48, 2**20, 2**63],
        "key_bytes": [0, 1, 250, 251],
        "hot_pct": [0, 1, 99, 100],
        "warm_pct": [0, 99, 100],
        "hot_max_factor": [0, 1e300, -1],
        "warm_max_factor": [0, 1e300],
    },
    "redis-lru": {"samples": [0, 1, 64, 65, 2**31], "key_bytes": [0, 1, 2**29, 2**29 + 1], "baseline": [-1, 0, 2**50, 2**50 + 1]},
    "redis-lfu": {"log_factor": [-1, 0, 2**31 - 1, 2**31, math.nan], "decay_time": [-1, 0, 2**31 - 1, 2**31]},
    "redis-random": {"seed": [-1, 2**64 - 1, 2**64]},
}  # fmt: skip
TABLES = {
    "workload.arrivals": [
        {"process": "onoff", "mean_on_s": a, "mean_off_s": b, "off_ratio": r}
        for a, b, r in [(1e-9, 1e-9, 0), (1e9, 1e9, 0.5), (1e12, 1e12, 0), (1e-300, 1, 0), (1, 1e-300, 1), (1, 1, 1e300)]
    ]
    + [
        {"process": "diurnal", "amplitude": a, "period_s": p, "peak_s": k}
        for a, p, k in [(0.99, 1e-6, 0), (0.99, 1e-7, 0), (1, 1, 0), (0.5, 1e12, 1e12), (0.5, 1e13, 0)]
    ],
    "workload.object_size": [
        2**40, 2**40 + 1, 0,
        {"dist": "lognormal", "median": 2**40, "sigma": 100}, {"dist": "lognormal", "median": 1, "sigma": 101},
        {"dist": "pareto", "min": 1, "shape": 1e-300}, {"dist": "pareto", "min": 2**40, "shape": 1e6},
        {"dist": "constant", "bytes": 2**40}, {"dist": "constant", "bytes": 2**40 + 1},
    ],
    "cluster.ttl": [
        1e-9, 1e9, 1e12, 1e13,
        {"dist": "uniform", "low_s": 0, "high_s": 1e12}, {"dist": "exponential", "mean_s": 1e-300},
        {"dist": "lognormal", "median_s": 1e12, "sigma": 100},
    ],
    "backend.latency": [
        {"dist": "constant", "ms": 86_400_000}, {"dist": "constant", "ms": 86_400_001},
        {"dist": "exponential", "mean_ms": 1e-300}, {"dist": "lognormal", "median_ms": 1, "sigma": 100},
    ],
    "cluster.node_service": [{"dist": "constant", "ms": 86_400_000}, {"dist": "exponential", "mean_ms": 1e300}],
}  # fmt: skip
FLAGS = {
    "replay": ["--capacity", "--warmup", "--time-unit", "--key-type"],
    "mrc": ["--capacities", "--points", "--warmup", "--shards", "--shards-size"],
    "plan": ["--hit-ratio", "--p99-ms", "--backend-rps", "--range", "--survive", "--confidence", "--resolution",
             "--max-seeds", "--entry-overhead", "--workers"],
    "run": ["--workers"],
    "validate": ["--rate", "--requests", "--value-size", "--seed", "--growth-factor", "--memory"],
}  # fmt: skip
FLAG_VALUES = [
    "0", "-1", "-5:100", "7:3", "1e300", "nan", "9" * 30, "9" * 5000, "x", "9000000TiB", "1:9223372036854775807",
    str(2**50 + 1), "1.0104", "1048577",
]  # fmt: skip
BASE = {
    "replay": ["--policy", "lru", "--capacity", "10"],
    "mrc": ["--capacities", "10:100"],
    "plan": ["--hit-ratio", "0.3", "--range", "5:40", "--max-seeds", "3"],
    "run": ["--workers", "1"],
    "validate": ["--memory", "2MiB", "--rate", "1000000", "--requests", "2000"],
}


def key_cases() -> list[tuple[str, dict]]:
    """Every numeric key at both ends of its range and beyond, and every key at the edge values."""
    cases = []
    for section, keys in SCHEMA.items():
        for key, spec in keys.items():
            dotted = f"{section}.{key}"
            if dotted in ("run.seeds", "workload.trace", "run.imports"):
                continue
            values = list(EDGES)
            found = _RANGE.search(str(getattr(spec.check, "allowed", "")))
            if found:
                low, high = float(found.group(1)), float(found.group(2))
                whole = "integer" in spec.check.allowed
                values += [low, high, high + 1 if whole else high * 1.000001, low - 1 if whole else low - 1e-9]
                if whole:
                    values = [int(v) if isinstance(v, float) and math.isfinite(v) else v for v in values]
                if dotted in WORK_KEYS:
                    values = [v for v in values if not (isinstance(v, (int, float)) and v == high)]
            for value in values:
                cases.append((f"key {dotted}={value!r:.40}", {section: {key: value}}))
    for dotted, values in TABLES.items():
        section, _, key = dotted.partition(".")
        cases += [(f"table {dotted}={value!r:.60}", {section: {key: value}}) for value in values]
    for policy, params in POLICY_PARAMS.items():
        for name, values in params.items():
            for value in values:
                capacity = '"4MiB"' if policy.startswith(("redis", "memcached")) else 50
                cluster = {"policy": policy, "policy_params": {name: value}, "capacity": capacity}
                if capacity != 50:
                    cluster["capacity"] = "4MiB"
                cases.append((f"policy {policy}.{name}={value!r:.30}", {"cluster": cluster}))
    return cases


def issue_cases() -> list[tuple[str, dict]]:
    """The issue's own examples, and their neighbours."""
    classes = lambda n: [{"name": f"c{i}", "keys": 10} for i in range(n)]  # noqa: E731
    return [
        ("issue: capacity 9000000TiB", {"cluster": {"capacity": "9000000TiB"}}),
        ("issue: capacity 2**50 objects", {"cluster": {"capacity": 2**50}}),
        ("issue: capacity 2**50 + 1", {"cluster": {"capacity": 2**50 + 1}}),
        ("issue: capacity 2**60 wtinylfu", {"cluster": {"capacity": 2**60, "policy": "wtinylfu"}}),
        ("issue: capacity 1PiB bytes", {"cluster": {"capacity": "1024TiB", "policy": "wtinylfu"}}),
        ("issue: capacity 2**63-1 lru", {"cluster": {"capacity": 2**63 - 1}}),
        ("issue: objects of 2**40 in 2**50", {"cluster": {"capacity": "1024TiB"}, "workload": {"object_size": 2**40}}),
        ("issue: onoff 100 TiB of draws", {"workload": {"arrivals": TABLES["workload.arrivals"][1]}}),
        ("issue: updates every 1e-9", {"updates": {"every_s": 1e-9, "classes": ["default"]}}),
        ("issue: 62 key classes", {"workload": {"classes": classes(62)}}),
        ("issue: 63 key classes", {"workload": {"classes": classes(63)}}),
        ("issue: 100 key classes", {"workload": {"classes": classes(100)}}),
        ("issue: new_keys_per_s 1e300", {"workload": {"new_keys_per_s": 1e300}}),
        ("issue: new_keys_per_s 1e12", {"workload": {"new_keys_per_s": 1e12}}),
        ("issue: new_keys_per_s 1e9", {"workload": {"new_keys_per_s": 1e9}}),
        ("issue: memcached -f 1.0104", {"cluster": {"policy": "memcached", "capacity": "4MiB", "policy_params": {"growth_factor": 1.0104}}}),
        ("issue: clock bits 64", {"cluster": {"policy": "clock", "policy_params": {"bits": 64}}}),
        ("issue: lfuda long", {"run": {"requests": 20000, "warmup": 0, "seeds": [1]}, "cluster": {"policy": "lfuda", "capacity": 10}}),
        ("issue: mixed sweep capacity", {"sweep": {"cluster.capacity": [10, "1KiB"]}}),
        ("issue: mixed sweep ttl", {"sweep": {"cluster.ttl": [0, {"dist": "exponential", "mean_s": 1}]}}),
        ("issue: mixed sweep alpha", {"sweep": {"workload.alpha": [0.5, 1]}}),
        ("issue: mixed sweep policy", {"sweep": {"cluster.policy": ["lru", 3]}}),
        ("issue: mixed sweep object_size", {"sweep": {"workload.object_size": [100, {"dist": "constant", "bytes": 10}]}}),
        ("issue: mixed sweep bool", {"sweep": {"backend.coalesce": [True, False]}}),
        ("issue: redis plan memory", {"cluster": {"policy": "redis-lru", "capacity": "512KiB"}}),
        ("issue: 64 nodes of one object", {"cluster": {"nodes": 64, "capacity": 1}}),
        ("issue: every node down", {"cluster": {"nodes": 2, "failures": [{"node": 0, "down_at": 0}, {"node": 1, "down_at": 0}]}}),
        ("issue: ttl 1e-9", {"cluster": {"ttl": 1e-9}}),
        ("issue: many failures", {"cluster": {"failures": [{"node": 0, "down_at": i, "up_at": i + 0.5} for i in range(200)]}}),
    ]  # fmt: skip


def flag_cases(folder: Path) -> list[tuple[str, list[str]]]:
    """Each command's flags at their edges, over a small trace or config."""
    keys = np.random.default_rng(6).zipf(1.3, 400) % 100
    trace = write_bin(folder / "t.bin", keys, sizes=np.full(len(keys), 100))
    config = folder / "flags.toml"
    config.write_text(toml({"run": SMALL, "workload": {"keys": 200}}))
    servers = [name for name in ("redis", "memcached") if shutil.which({"redis": "redis-server"}.get(name, name))]
    cases = []
    for command, flags in FLAGS.items():
        targets = {"replay": [[str(trace)]], "mrc": [[str(trace)]], "validate": [[s, str(trace)] for s in servers]}
        for target in targets.get(command, [[str(config)]]):
            for flag in flags:
                for value in FLAG_VALUES:
                    if (
                        command == "validate"
                        and flag == "--memory"
                        and value not in ("0", "-1", "x", "9000000TiB", "2TiB")
                    ):
                        continue  # a real server allocates it
                    if command == "validate" and flag == "--growth-factor" and target[0] == "redis":
                        continue
                    cases.append(
                        (
                            f"flag {command} {target[0][:10]} {flag} {value[:30]}",
                            [command, *target, *BASE[command], flag, value],
                        )
                    )
    # the issue's plan examples
    plain = folder / "redis.toml"
    plain.write_text(
        toml(
            {
                "run": SMALL,
                "workload": {"keys": 2000, "object_size": 200},
                "cluster": {"nodes": 1, "capacity": "4MiB", "policy": "redis-lru"},
            }
        )
    )
    mc = folder / "mc.toml"
    mc.write_text(
        toml(
            {
                "run": SMALL,
                "workload": {"keys": 2000, "object_size": 200},
                "cluster": {"nodes": 1, "capacity": "4MiB", "policy": "memcached"},
            }
        )
    )
    swept = folder / "swept.toml"
    swept.write_text(
        toml({"run": SMALL, "workload": {"keys": 200}, "cluster": {"capacity": 20}, "sweep": {"cluster.nodes": [1, 2]}})
    )
    cases += [
        ("issue: plan redis default range", ["plan", str(plain), "--hit-ratio", "0.3", "--max-seeds", "3"]),
        ("issue: plan memcached default range", ["plan", str(mc), "--hit-ratio", "0.3", "--max-seeds", "3"]),
        (
            "issue: plan range to 2**63-1",
            ["plan", str(config), "--hit-ratio", "0.3", "--range", "1:9223372036854775807"],
        ),
        (
            "issue: plan zero-width range",
            ["plan", str(config), "--hit-ratio", "0.3", "--range", "7:7", "--max-seeds", "3"],
        ),
        ("issue: plan swept config, bad range", ["plan", str(swept), "--hit-ratio", "0.3", "--range", "0:5"]),
        ("issue: plan --range -5:100", ["plan", str(config), "--hit-ratio", "0.3", "--range", "-5:100"]),
        ("issue: mrc beyond int64", ["mrc", str(trace), "--capacities", "1," + "9" * 25]),
        ("issue: replay 2**62", ["replay", str(trace), "--policy", "wtinylfu", "--capacity", str(2**62)]),
    ]
    if "memcached" in servers:
        cases.append(
            (
                "issue: validate memcached value 2**40",
                ["validate", "memcached", str(trace), "--memory", "2MiB", "--value-size", str(2**40)],
            )
        )
    if "redis" in servers:
        cases.append(
            (
                "issue: validate redis value 2**40",
                ["validate", "redis", str(trace), "--memory", "2MiB", "--value-size", str(2**40)],
            )
        )
    return cases  # fmt: skip


def run_file_cases(folder: Path) -> list[tuple[str, Path, Path]]:
    """A finished experiment, then a copy of it per damage of one run file's field."""
    config = folder / "runs.toml"
    config.write_text(toml({"run": {**SMALL, "seeds": [1, 2]}, "workload": {"keys": 200}, "cluster": {"capacity": 20}}))
    out = folder / "runs-out"
    status, _, err = run_cli(["run", str(config), "--out", str(out), "--workers", "1"])
    assert status == 0, err
    first = sorted((out / "runs").glob("*.json"))[0]
    record = json.loads(first.read_text())
    damages = {
        "metric as text": ("metrics", "hit_ratio", "0.5"),
        "metric as list": ("metrics", "hit_ratio", [0.5]),
        "metric nan": ("metrics", "hit_ratio", "NaN"),
        "metric huge int": ("metrics", "requests", 10**400),
        "metric negative": ("metrics", "requests", -1),
        "nodes as dict": ("nodes", None, {}),
        "timeseries as text": ("timeseries", None, "x"),
        "quantiles short": ("latency_quantiles", None, [1.0]),
        "histogram bad": ("latency_histogram", None, {"zeros": 0, "first": 10**9, "counts": [1]}),
        "digest wrong": ("digest", None, "0" * 24),
        "fingerprint other": ("fingerprint", None, "x"),
    }
    cases = []
    for name, (field, sub, value) in damages.items():
        copy = folder / f"runs-{len(cases)}"
        shutil.copytree(out, copy)
        damaged = json.loads(first.read_text())
        if sub is None:
            damaged[field] = value
        else:
            damaged[field][sub] = value
        text = json.dumps(damaged)
        if name == "metric nan":
            text = text.replace('"NaN"', "NaN")
        if name == "metric huge int":
            text = text.replace(str(10**400), "9" * 5000)
        (copy / "runs" / first.name).write_text(text)
        cases.append((f"run file: {name}", config, copy))
    for cut in (0, 10, len(first.read_text()) // 2):
        copy = folder / f"runs-{len(cases)}"
        shutil.copytree(out, copy)
        (copy / "runs" / first.name).write_text(first.read_text()[:cut])
        cases.append((f"run file: cut at {cut}", config, copy))
    del record
    return cases


def judged(status: int, stderr: str, out: Path | None, plan: bool = False) -> str:
    """The ending's name: one of the accepted ones, or what is wrong."""
    if "Traceback" in stderr:
        return "traceback"
    if status == 2:
        return "clean error" if stderr.startswith("kvsim: error: ") and stderr.count("\n") == 1 else "not one line"
    if status == 0 or (plan and status == 3):
        if out is not None and (out / "results.csv").exists():
            try:
                check_tables(out)
            except Exception:  # noqa: BLE001 (any failure of the check is an out-of-domain number)
                return "out of domain"
        return "clean run"
    return f"exit {status}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=("compiled", "python"), default="compiled")
    parser.add_argument("--only", default="", help="run the cases whose name starts with this")
    args = parser.parse_args()
    os.environ["KVSIM_ENGINE"] = args.engine
    counts: dict[str, Counter] = {}
    bad: list[str] = []
    scratch = Path(tempfile.mkdtemp(prefix="kvsim-corpus-"))
    started = time.monotonic()

    def record(kind: str, name: str, ending: str, stderr: str) -> None:
        counts.setdefault(kind, Counter())[ending] += 1
        if ending not in ("clean error", "clean run"):
            bad.append(f"{ending}: {name}: {stderr.strip()[-300:]}")

    def command(args_: list[str], out: Path | None) -> tuple[int, str]:
        try:
            status, _, stderr = run_cli(args_)
        except AssertionError as error:  # the alarm: a hang
            return -1, str(error)
        return status, stderr

    try:
        configs = [(name, body) for name, body in issue_cases() + key_cases() if name.startswith(args.only)]
        for index, (name, body) in enumerate(configs):
            config = {"run": dict(SMALL)} | body if "run" not in body else body
            path = scratch / f"c{index}.toml"
            out = scratch / f"out{index}"
            try:
                path.write_text(toml(config))
            except (TypeError, ValueError):
                continue  # not writable as TOML
            status, stderr = command(["run", str(path), "--out", str(out), "--workers", "1"], out)
            ending = "hang" if status == -1 else judged(status, stderr, out)
            record(name.split(":")[0].split(" ")[0], name, ending, stderr)
            shutil.rmtree(out, ignore_errors=True)
        for name, args_ in flag_cases(scratch):
            if not name.startswith(args.only):
                continue
            out = scratch / "flag-out"
            status, stderr = command(
                [*args_, *(["--out", str(out)] if args_[0] in ("mrc", "plan", "run", "validate") else [])], out
            )
            ending = (
                "hang"
                if status == -1
                else judged(status, stderr, out if args_[0] == "run" else None, args_[0] == "plan")
            )
            record("flag" if name.startswith("flag") else "issue", name, ending, stderr)
            shutil.rmtree(out, ignore_errors=True)
        if "run file".startswith(args.only[:8]):
            for name, config, out in run_file_cases(scratch):
                status, stderr = command(["run", str(config), "--out", str(out), "--workers", "1"], out)
                same = (out / "summary.csv").read_bytes() == (scratch / "runs-out" / "summary.csv").read_bytes()
                ending = "hang" if status == -1 else judged(status, stderr, out)
                if ending == "clean run" and not same:
                    ending = "different tables"
                record("run file", name, ending, stderr)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(f"engine {args.engine}: {time.monotonic() - started:.0f} s")
    for kind, counter in counts.items():
        print(
            f"  {kind:10} {sum(counter.values()):5} cases: " + ", ".join(f"{n} {e}" for e, n in counter.most_common())
        )
    total = sum((c for c in counts.values()), Counter())
    print(f"  {'all':10} {sum(total.values()):5} cases: " + ", ".join(f"{n} {e}" for e, n in total.most_common()))
    for line in bad:
        print("  !", line)
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
