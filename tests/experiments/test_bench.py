"""`kvsim bench` runs and reports its figures (their values are measured, not asserted)."""

import importlib.util
import json
import multiprocessing
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest

from experiments import bench
from experiments import configs as shipped
from experiments.bench.common import Bench, machine
from experiments.bench.des import MEMORY_TARGET_MB, bench_des_memory
from experiments.bench.replay import NOT_LIBCACHESIMS, POLICIES, RANDOMISED
from tests.experiments.conftest import kvsim
from workloads import Poisson, Workload, Zipf
from workloads.traces import write_oracle_general


def test_bench_json_has_a_key_per_figure():
    done = kvsim("bench", "--quick", "--json", "--only", "des,mrc")
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout)
    for key in ("des_ratio_vs_naive", "des_requests_per_s", "mrc_ratio_vs_replays"):
        assert isinstance(figures[key], float) and figures[key] > 0
    # The benchmark checks what it compares: same hits and p99 in both models, same curve as replays.
    assert figures["des_models_agree"] is True and figures["mrc_agrees"] is True
    assert "sweep_speedup" not in figures


def test_bench_table_and_bad_section():
    done = kvsim("bench", "--quick", "--only", "mrc")
    assert done.returncode == 0 and "mrc_ratio_vs_replays" in done.stdout and "target" not in done.stderr
    bad = kvsim("bench", "--only", "speed")
    assert bad.returncode == 2 and "unknown section 'speed'" in bad.stderr


def test_trace_sections_read_back_and_report(tmp_path):
    done = kvsim("bench", "--quick", "--json", "--only", "readers,streaming,shards")
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout)
    # Reading: every format of the generated trace, whole.
    generated = {name: d for name, d in figures["readers_detail"].items() if name.startswith("generated.")}
    assert set(generated) == {"generated.csv", "generated.txt", "generated.oracleGeneral.bin"}
    assert all(d["requests"] == 200_000 and d["requests_per_s"] > 0 and d["mb_per_s"] > 0 for d in generated.values())
    # Streaming: both capacities, and the same hits as the replay of the keys in memory.
    assert set(figures["streaming_ratio_vs_in_memory"]) == {"1000", "100000"} and figures["streaming_agrees"] is True
    # SHARDS: every setting adjusted and not; errors are miss-ratio differences.
    errors = figures["shards_mean_abs_error"]
    assert len(errors) == 8 and all(0 <= error < 1 for error in errors.values())
    for label, detail in figures["shards_detail"].items():
        assert detail["mean_abs_error"] <= detail["worst_seed_mean_abs_error"] <= detail["max_error"], label
    table = bench.report(figures)
    for text in ("generated.oracleGeneral.bin", "streamed / in memory, LRU 1000", "size 3000 keys, unadjusted"):
        assert text in table


def test_policies_section_on_a_small_trace(tmp_path):
    pytest.importorskip("libcachesim")
    # A capacity of 200 objects or so: W-TinyLFU in libcachesim needs 100 at least.
    keys = np.concatenate([b.key for b in Workload(Zipf(3000, 0.9), Poisson(1.0)).batches(3, 10_000)])
    path = write_oracle_general(tmp_path / "small.oracleGeneral.bin", keys)
    small = Bench(quick=True, work=tmp_path, trace_path=path, trace_description="small")
    # In a child process: libcachesim's Random draws from one generator per process,
    # which the parity tests' Random runs later in this process would otherwise see moved on.
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork")) as child:
        figures = child.submit(POLICIES.measure, small).result()
    assert figures["policies_capacity_objects"] == len(np.unique(keys)) // 10
    detail = figures["policies_detail"]
    assert set(figures["policies_ratio_vs_libcachesim"]) == set(detail) and "lru" in detail
    # The same misses as libcachesim at a capacity in objects (the randomised policies draw their own numbers).
    assert "random" in RANDOMISED
    exact = [name for name in detail if name not in RANDOMISED + NOT_LIBCACHESIMS]
    assert all(detail[name]["misses"] == detail[name]["libcachesim_misses"] for name in exact)
    # CLOCK-Pro is the paper's; libcachesim's never evicts once full, so it misses more
    assert detail["clockpro"]["misses"] < detail["clockpro"]["libcachesim_misses"]
    table = bench.report({"quick": True, "machine": machine(), **figures})
    assert "keys in memory" in table and "same misses" in table


def test_dask_and_configs_sections():
    done = kvsim("bench", "--quick", "--json", "--only", "dask,configs")
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout)
    assert list(figures["configs_seconds"]) == shipped.names()
    assert all(seconds > 0 for seconds in figures["configs_seconds"].values())
    if importlib.util.find_spec("distributed") is None:
        assert figures["dask_s"] is None
    else:
        assert figures["dask_s"] > 0 and figures["dask_local_s"] > 0 and figures["dask_cluster_start_s"] > 0
        assert figures["dask_overhead_s"] == pytest.approx(figures["dask_s"] - figures["dask_local_s"])
        assert figures["dask_runs"] == 10  # the quickstart's 5 capacities x 2 seeds


def test_des_memory_section_measures_a_child_run_and_says_its_size():
    figures = bench_des_memory(20_000, warmup=5_000)
    assert figures["des_peak_requests"] == 20_000
    assert 20 < figures["des_peak_mb_100m"] < MEMORY_TARGET_MB  # Python, numpy and SimPy take some tens of MB
    assert 0 < figures["des_peak_backend_utilisation"] < 1  # the backend keeps up: no queue grows
    table = bench.report({"quick": True, "machine": machine(), **figures})
    assert "20,000-request run (--quick; the target is for 100,000,000)" in table and "its backend utilisation" in table


def test_bench_replay_writes_its_long_trace_once_and_times_what_users_run(tmp_path, monkeypatch):
    pytest.importorskip("libcachesim", exc_type=ImportError)
    from experiments.bench import replay as section
    from policies import engine

    monkeypatch.setenv("KVSIM_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(section, "QUICK_TRACE_REQUESTS", 20_000)
    path, description = section.long_trace(quick=True)
    assert path.parent == tmp_path and "20,000 requests" in description
    written = path.stat().st_mtime_ns
    assert section.long_trace(quick=True)[0] == path and path.stat().st_mtime_ns == written  # reused
    figures = section.bench_replay(path, quick=True, names=["lru", "s3fifo", "belady"])
    for name, figure in figures.items():
        assert figure["engine"] == engine() and figure["ratio"] > 0
        assert figure["miss_ratio"] == pytest.approx(figure["libcachesim_miss_ratio"], abs=1e-12), name
