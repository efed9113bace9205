"""`kvsim trace stats`: its numbers against hand counts, against libCacheSim's TraceAnalyzer, and end to end."""

import json
import re

import numpy as np
import pytest

from experiments.analysis.stack_depths import previous_and_next
from experiments.cli import main
from experiments.trace.popularity import fit_zipf, loglog_fit
from experiments.trace.stats import trace_stats
from tests.trace_files import CLOUDPHYSICS, block_io_trace, zipf_keys
from workloads.traces import open_trace, write_trace


def test_stats_of_a_small_trace_by_hand(tmp_path):
    keys = np.array([1, 2, 1, 3, 1, 2, 4, 4, 5, 1])
    sizes = np.array([10, 20, 10, 30, 10, 20, 40, 40, 50, 10])
    ops = np.array([0, 1, 0, 0, 1, 0, 0, 0, 1, 0])
    path = write_trace(tmp_path / "t.csv", keys, sizes, np.arange(10) * 2, ops)
    stats = trace_stats(open_trace(path))
    assert (stats["requests"], stats["objects"], stats["bytes"]) == (10, 5, 150)
    assert stats["one_hit_wonders"]["share"] == 2 / 5  # 3 and 5
    assert stats["one_hit_wonders"]["windows"] == [1.0] * 10  # a tenth of ten requests is one request
    assert stats["frequency"]["objects_by_count"] == {1: 2, 2: 2, 4: 1}
    assert stats["operations"]["write"] == 0.3
    # Reuse times: 1 at 2 (2), 1 at 4 (2), 2 at 5 (4), 4 at 7 (1), 1 at 9 (5): 1, 2, 2, 4, 5 requests.
    assert stats["reuse_time"]["p50"] == 2.0 and stats["reuse_time"]["p99"] == 5.0
    # Stack distances (the object itself included): 2, 2, 3, 1, 4.
    assert stats["reuse_distance"]["p50"] == 2 and stats["reuse_distance"]["p90"] == 4
    assert stats["time"]["span_s"] == 18.0 and stats["rate"]["mean_per_s"] == pytest.approx(10 / 18)
    assert stats["sizes"]["object"]["p50"] == 30.0 and stats["sizes"]["object"]["mean"] == 30.0


def test_reuse_distances_are_exact_stack_depths(tmp_path):
    keys = zipf_keys(30_000, keys=3000, alpha=0.8, seed=11)
    stats = trace_stats(open_trace(write_trace(tmp_path / "z.txt", keys)))
    previous, _ = previous_and_next(keys)
    depths = np.array(
        [len(set(keys[p : t + 1].tolist())) for t, p in enumerate(previous) if p >= 0][:3000]
    )  # the first 3000 reuses, counted by brute force
    assert stats["reuse_distance"]["sample_rate"] == 1.0
    first = trace_stats(
        open_trace(write_trace(tmp_path / "head.txt", keys[: int(np.flatnonzero(previous >= 0)[2999]) + 1]))
    )
    for q in (10, 25, 50, 75, 90):
        assert first["reuse_distance"][f"p{q}"] == int(np.percentile(depths, q, method="inverted_cdf"))


def test_the_zipf_fit_recovers_alpha_and_the_catalogue():
    for alpha in (0.6, 0.9, 1.2):
        keys = zipf_keys(500_000, keys=40_000, alpha=alpha, seed=int(alpha * 10))
        _, counts = np.unique(keys, return_counts=True)
        fit = fit_zipf(counts)
        assert abs(fit.alpha - alpha) <= 0.02 and abs(fit.catalogue / 40_000 - 1) <= 0.05 and fit.ks < 0.02


def libcachesim_analysis(path, folder):
    """libCacheSim's TraceAnalyzer on an oracleGeneral file: its stat file and popularity counts."""
    libcachesim = pytest.importorskip("libcachesim")
    reader = libcachesim.TraceReader(str(path), libcachesim.TraceType.ORACLE_GENERAL_TRACE)
    analyzer = libcachesim.TraceAnalyzer(reader, str(folder / "trace"))
    analyzer.run()
    stat = (folder / "stat").read_text() if (folder / "stat").exists() else (folder.parent / "stat").read_text()
    popularity = {}
    for line in (folder / "trace.popularity").read_text().splitlines():
        if line and not line.startswith("#"):
            count, objects = map(int, line.split(":"))
            popularity[count] = objects
    return stat, popularity


def analyser_cases():
    cases = ["block-io"]
    if CLOUDPHYSICS.exists():
        cases.append("cloudphysics")
    return cases


@pytest.mark.parametrize("case", analyser_cases())
def test_stats_agree_with_libcachesims_trace_analyzer(case, tmp_path, monkeypatch):
    if case == "cloudphysics":
        path = CLOUDPHYSICS
    else:
        block = block_io_trace()
        path = write_trace(tmp_path / "block.oracleGeneral", block.keys, block.sizes, block.times)
    monkeypatch.chdir(tmp_path)  # the analyser writes its stat file into the current folder
    stat, popularity = libcachesim_analysis(path, tmp_path)
    ours = trace_stats(open_trace(path))
    numbers = re.search(r"number of requests: (\d+), number of objects: (\d+)", stat)
    assert (ours["requests"], ours["objects"]) == (int(numbers[1]), int(numbers[2]))
    assert f"number of obj GiB: {ours['bytes'] / 2**30:.4f}" in stat
    assert f"frequency mean: {ours['frequency']['mean']:.4f}" in stat
    zipf = re.search(r"Zipf alpha=([\d.]+), R2=([\d.]+)", stat)
    assert (
        f"{ours['popularity']['loglog_alpha']:.4f}" == zipf[1] and f"{ours['popularity']['loglog_r2']:.4f}" == zipf[2]
    )
    assert ours["frequency"]["objects_by_count"] == popularity
    one_hit = re.search(r"X-hit \(number of obj accessed X times\): (\d+)\(([\d.]+)\)", stat)
    assert ours["objects"] * ours["one_hit_wonders"]["share"] == pytest.approx(int(one_hit[1]))
    assert f"time span: {ours['time']['span_s']:.0f}" in stat


def test_trace_stats_command_table_json_and_figures(tmp_path, capsys):
    folder = tmp_path / "traces"
    folder.mkdir()
    for index, alpha in enumerate((0.7, 1.0)):
        keys = zipf_keys(20_000, keys=4000, alpha=alpha, seed=index)
        write_trace(folder / f"z{index}.oracleGeneral.zst", keys, keys % 100 + 1, np.arange(len(keys)) // 10)
    out = tmp_path / "stats"
    assert main(["trace", "stats", str(folder), "--out", str(out)]) == 0
    table = capsys.readouterr().out
    assert "zipf_alpha" in table and "one_hit_share" in table and "z1.oracleGeneral.zst" in table
    saved = json.loads((out / "stats.json").read_text())
    assert [s["requests"] for s in saved] == [20_000, 20_000]
    assert abs(saved[0]["popularity"]["alpha"] - 0.7) < 0.05 and abs(saved[1]["popularity"]["alpha"] - 1.0) < 0.05
    for name in ("z0", "z1"):
        assert (out / f"stats-{name}-oracleGeneral-zst.png").stat().st_size > 20_000
    assert main(["trace", "stats", str(folder / "z0.oracleGeneral.zst"), "--out", str(out), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["objects"] == saved[0]["objects"] and printed["popularity"] == saved[0]["popularity"]


def test_trace_stats_bad_input_is_one_line(tmp_path, capsys):
    path = tmp_path / "bad.twitter"
    path.write_text("1,k1,3,10,0,get\n")  # six columns: Twitter's have seven
    assert main(["trace", "stats", str(path), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "bad.twitter" in err and "line 1" in err
    assert not (tmp_path / "o").exists()
    assert loglog_fit(np.array([5])) == (0.0, 1.0)
