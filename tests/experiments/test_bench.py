"""`kvsim bench` runs and reports its figures (their values are measured, not asserted)."""

import json

import pytest

from tests.experiments.conftest import kvsim


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


def test_bench_replay_writes_its_long_trace_once_and_times_what_users_run(tmp_path, monkeypatch):
    pytest.importorskip("libcachesim", exc_type=ImportError)
    from experiments import bench
    from policies import engine

    monkeypatch.setenv("KVSIM_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(bench, "QUICK_TRACE_REQUESTS", 20_000)
    path, description = bench.long_trace(quick=True)
    assert path.parent == tmp_path and "20,000 requests" in description
    written = path.stat().st_mtime_ns
    assert bench.long_trace(quick=True)[0] == path and path.stat().st_mtime_ns == written  # reused
    figures = bench.bench_replay(path, quick=True, names=["lru", "s3fifo", "belady"])
    for name, figure in figures.items():
        assert figure["engine"] == engine() and figure["ratio"] > 0
        assert figure["miss_ratio"] == pytest.approx(figure["libcachesim_miss_ratio"], abs=1e-12), name
