"""Miniature simulation (`kvsim mrc --sample RATE`) of any policy, and --check against full replays.

The bound is the issue's: a mean absolute miss-ratio error of at most 0.01
against full replays, for LRU, S3-FIFO, ARC and W-TinyLFU.  The error of a
spatial sample depends on how many keys it holds (Waldspurger et al., ATC
2017, size their samples in keys): at 1% a trace needs a few hundred
thousand distinct keys for a sample of thousands.  The generated trace has
400,000 keys (about 4,000 sampled at 1%); libCacheSim's CloudPhysics sample,
where ../shared has it, has 48,974, so it is sampled at 10% (at 1%, 490
keys, its error is 0.03 to 0.05).

That error is the sample's noise, not a bias: over independent samples
(hash salts) the mean error at each capacity is a fraction of the spread,
the spread narrows as the miniature cache grows, and the mean of the
salts' curves is within the bound where one sample's is not.
"""

from contextlib import nullcontext

import numpy as np
import pandas as pd
import pytest

from experiments.analysis.mrc import replay_mrc
from experiments.cli import main
from experiments.trace.mrc import CurveAsk, compute_curve
from tests.trace_files import CLOUDPHYSICS, zipf_keys
from workloads.traces import open_trace, write_trace

POLICIES = ("lru", "s3fifo", "arc", "wtinylfu")
BOUND = 0.01


@pytest.fixture(scope="module")
def large_trace(tmp_path_factory):
    keys = zipf_keys(2_000_000, keys=400_000, alpha=0.9, seed=3)
    return write_trace(tmp_path_factory.mktemp("mini") / "zipf.oracleGeneral", keys)


def cases():
    found = [("generated", 0.01)]
    if CLOUDPHYSICS.exists():
        found.append(("cloudphysics", 0.1))
    return found


@pytest.mark.parametrize(("case", "rate"), cases())
def test_miniature_error_is_within_the_bound(case, rate, request):
    path = request.getfixturevalue("large_trace") if case == "generated" else CLOUDPHYSICS
    trace = open_trace(path)
    capacities = np.unique(np.geomspace(2000, 200_000 if case == "generated" else 40_000, 8).astype(int))
    for policy in POLICIES:
        full = compute_curve(CurveAsk(policy, capacities), trace, 1.0)
        mini = compute_curve(CurveAsk(policy, capacities, rate=rate, mini=True), trace, 1.0)
        assert mini.method == "mini" and mini.rate == pytest.approx(rate)
        error = np.abs(mini.miss_ratio - full.miss_ratio).mean()
        assert error <= BOUND, (policy, error)


#: eight independent samples: salts spread over 64 bits by the golden ratio
SALTS = [salt * 0x9E3779B97F4A7C15 % 2**64 for salt in range(1, 9)]


@pytest.fixture(scope="module")
def salted_errors():
    """Per policy: (sampled - full) miss ratio, one row per salt, at 5% on a Zipf 0.9 trace."""
    keys = zipf_keys(300_000, keys=60_000, alpha=0.9, seed=7)
    source = [(keys, np.ones(len(keys), dtype=np.int64))]
    capacities = np.array([1000, 3000, 10_000, 30_000])  # miniatures of 50 to 1,500 objects
    errors = {}
    for policy in POLICIES:
        full = replay_mrc(policy, source, capacities).miss_ratio
        errors[policy] = np.array(
            [replay_mrc(policy, source, capacities, rate=0.05, salt=salt).miss_ratio - full for salt in SALTS]
        )
    return errors


@pytest.mark.parametrize("policy", POLICIES)
def test_miniature_error_is_sampling_noise_not_bias(policy, salted_errors):
    errors = salted_errors[policy]
    bias, spread = errors.mean(axis=0), errors.std(axis=0)
    # Each capacity's mean error is within 3 standard errors of 0 (a wrong scaling shows here:
    # capacities scaled by 1.15 R put it 6 to 12 standard errors off).
    assert np.all(np.abs(bias) <= 3 * spread / np.sqrt(len(SALTS) - 1)), (bias, spread)
    assert spread[-1] < spread[0] / 2  # the miniature of 1,500 objects is steadier than that of 50
    assert np.abs(bias).mean() <= BOUND  # the mean of the eight salts' curves is within the bound


def test_a_salt_draws_another_sample_and_zero_is_the_default():
    keys = zipf_keys(50_000, keys=10_000, alpha=0.8, seed=6)
    source = [(keys, np.ones(len(keys), dtype=np.int64))]
    unsalted = replay_mrc("s3fifo", source, [500, 2000], rate=0.1)
    assert replay_mrc("s3fifo", source, [500, 2000], rate=0.1, salt=0).misses.tolist() == unsalted.misses.tolist()
    salted = replay_mrc("s3fifo", source, [500, 2000], rate=0.1, salt=SALTS[0])
    assert salted.misses.tolist() != unsalted.misses.tolist()
    assert salted.misses.tolist() == replay_mrc("s3fifo", source, [500, 2000], rate=0.1, salt=SALTS[0]).misses.tolist()
    assert salted.requests == unsalted.requests == len(keys)


def test_miniature_is_the_replay_of_the_sample_at_scaled_capacities(tmp_path):
    keys = zipf_keys(60_000, keys=20_000, alpha=0.8, seed=4)
    path = write_trace(tmp_path / "z.oracleGeneral.zst", keys)
    capacities = np.array([500, 2000, 8000])
    mini = compute_curve(CurveAsk("sieve", capacities, rate=0.1, mini=True), open_trace(path), 1.0)
    # The same estimate from the policies' API on the keys in memory (no dense ids, no trace).
    expected = replay_mrc("sieve", [(keys, np.ones(len(keys), dtype=np.int64))], capacities, rate=0.1)
    assert mini.misses.tolist() == expected.misses.tolist() and mini.requests == len(keys)


def test_mrc_sample_check_writes_both_curves_and_says_the_error(tmp_path, capsys):
    keys = zipf_keys(40_000, keys=8000, alpha=0.9, seed=5)
    path = write_trace(tmp_path / "z.oracleGeneral.gz", keys)
    out = tmp_path / "curve"
    args = ["mrc", str(path), "--policy", "lru", "--capacities", "200,800,3200", "--sample", "0.2", "--check"]
    args += ["--min-objects", "0"]  # one rate for every capacity
    assert main([*args, "--out", str(out)]) == 0
    said = capsys.readouterr().out
    table = pd.read_csv(out / "mrc.csv")
    assert list(table.columns) == ["capacity", "miss_ratio", "byte_miss_ratio", "exact_miss_ratio"]
    full = replay_mrc("lru", [(keys, np.ones(len(keys), dtype=np.int64))], [200, 800, 3200])
    assert table["exact_miss_ratio"].tolist() == pytest.approx(full.miss_ratio.tolist(), abs=1e-12)
    errors = (table["miss_ratio"] - table["exact_miss_ratio"]).abs()
    assert "miniature simulations on a SHARDS sample (rate 0.2)" in said
    assert f"mean absolute error {errors.mean():.4f}, largest {errors.max():.4f}" in said
    # LRU sampled with --sample is a miniature replay, not SHARDS' stack depths.
    mini = replay_mrc("lru", [(keys, np.ones(len(keys), dtype=np.int64))], [200, 800, 3200], rate=0.2)
    assert table["miss_ratio"].tolist() == pytest.approx(mini.miss_ratio.tolist(), abs=1e-12)


def test_mrc_min_objects_samples_small_capacities_at_a_larger_rate(tmp_path, capsys):
    keys = zipf_keys(40_000, keys=8000, alpha=0.9, seed=5)
    path = write_trace(tmp_path / "z.oracleGeneral", keys)
    base = ["mrc", str(path), "--policy", "s3fifo", "--capacities", "200,800,3200", "--sample", "0.1"]
    assert main([*base, "--min-objects", "0", "--out", str(tmp_path / "plain")]) == 0
    said = capsys.readouterr().out  # miniatures of 20, 80 and 320 objects: the two small ones are named
    assert "capacities 200 (20 objects), 800 (80 objects); --min-objects 300 or more" in said
    assert main([*base, "--min-objects", "400", "--out", str(tmp_path / "floor")]) == 0
    said = capsys.readouterr().out
    assert "capacities 200, 800, 3200 sampled at rates up to 1 (miniatures of at least 400 objects)" in said
    assert "estimate with more noise" not in said
    table = pd.read_csv(tmp_path / "floor" / "mrc.csv")
    chunks = [(keys, np.ones(len(keys), dtype=np.int64))]
    exact = replay_mrc("s3fifo", chunks, [200]).miss_ratio[0]  # rate max(0.1, 400 / 200) = 1: an exact replay
    at_half = replay_mrc("s3fifo", chunks, [800], rate=0.5).miss_ratio[0]
    at_eighth = replay_mrc("s3fifo", chunks, [3200], rate=0.125).miss_ratio[0]
    assert table["miss_ratio"].tolist() == pytest.approx([exact, at_half, at_eighth], abs=1e-12)
    # The floor is part of what the folder holds: the same folder with another is another curve's.
    assert main([*base, "--out", str(tmp_path / "floor")]) == 2  # (the default floor, 300)
    assert "another" in capsys.readouterr().err
    # With byte capacities a floor in objects means nothing: it is refused; without one, none is applied.
    assert main([*base[:5], "1MiB,4MiB", "--sample", "0.1", "--min-objects", "10", "--out", str(tmp_path / "b")]) == 2
    assert "--min-objects counts objects: give the capacities in objects" in capsys.readouterr().err
    assert not (tmp_path / "b").exists()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--check"], "--check compares a sampled curve with full replays"),
        (["--sample", "0"], "--sample must be a sampling rate in (0, 1]"),
        (["--sample", "1.5"], "--sample must be a sampling rate in (0, 1]"),
        (["--sample", "0.1", "--shards", "0.1"], "not allowed with argument"),
        (["--min-objects", "100"], "--min-objects sets the smallest miniature cache: give it with --sample RATE"),
        (["--sample", "0.1", "--min-objects", "-1"], "--min-objects must be an integer from 0 to 1,000,000,000"),
        (["--sample", "0.1", "--min-objects", "1e12"], "--min-objects must be an integer from 0 to 1,000,000,000"),
        (["--sample", "0.1", "--min-objects", "10", "--shards", "0.1"], "not allowed with argument"),
    ],
)
def test_bad_sampling_flags_are_one_line(tmp_path, capsys, extra, message):
    path = write_trace(tmp_path / "z.txt", zipf_keys(1000, keys=100, seed=1))
    with pytest.raises(SystemExit) if "not allowed" in message else nullcontext():
        code = main(["mrc", str(path), "--capacities", "10,20", "--out", str(tmp_path / "o"), *extra])
        assert code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err
    assert not (tmp_path / "o").exists()
