"""`kvsim bench` runs and reports its figures (their values are measured, not asserted)."""

import json

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
