"""`kvsim replay` and `kvsim mrc` end to end, on traces the tests write."""

import json

import numpy as np
import pandas as pd
import pytest

from experiments.analysis import replay
from experiments.cli import main
from policies import engine, make_policy
from tests.experiments.conftest import kvsim
from tests.trace_files import oracle_records, write_bin, write_csv, write_txt, zipf_keys
from tests.user_policy import write_user_module

FIELDS = ["policy", "capacity", "requests", "hits", "misses", "miss_ratio", "byte_miss_ratio", "engine"]


@pytest.fixture
def trace(tmp_path):
    keys = zipf_keys(6000, keys=800, alpha=0.9, seed=7)
    sizes = (keys % 61) * 64 + 64
    return write_csv(tmp_path / "t.csv", keys, np.arange(len(keys)), sizes), keys, sizes


def expected(policy, capacity, keys, sizes, count_bytes=False, warmup=0):
    """The Python reference's counts; the CLI runs the same policy on this process's engine."""
    cache = make_policy(policy, capacity)
    replay(cache, keys[:warmup], sizes[:warmup], count_bytes)
    counts = replay(cache, keys[warmup:], sizes[warmup:], count_bytes)
    return {
        "requests": counts.requests,
        "hits": counts.hits,
        "misses": counts.misses,
        "miss_ratio": counts.miss_ratio,
        "byte_miss_ratio": counts.byte_miss_ratio,
        "engine": engine(),
    }


def test_replay_one_policy_one_capacity_json(trace):
    path, keys, sizes = trace
    done = kvsim("replay", path, "--policy", "lru", "--capacity", "100", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert list(result) == FIELDS
    assert result == {"policy": "lru", "capacity": 100, **expected("lru", 100, keys, sizes)}


def test_replay_policies_times_capacities(trace):
    path, keys, sizes = trace
    done = kvsim("replay", path, "--policy", "lru,fifo", "--capacity", "50,16KiB", "--warmup", "1000", "--json")
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout)
    assert [(r["policy"], r["capacity"]) for r in results] == [
        ("lru", 50),
        ("lru", "16KiB"),
        ("fifo", 50),
        ("fifo", "16KiB"),
    ]
    for result in results:
        # A bare integer counts objects; a unit counts bytes with the trace's sizes.
        count_bytes = result["capacity"] == "16KiB"
        capacity = 16 * 1024 if count_bytes else 50
        assert {k: result[k] for k in FIELDS[2:]} == expected(
            result["policy"], capacity, keys, sizes, count_bytes, warmup=1000
        )
    table = kvsim("replay", path, "--policy", "lru,fifo", "--capacity", "50,16KiB", "--warmup", "1000")
    assert table.returncode == 0
    lines = table.stdout.splitlines()
    assert lines[0].split() == FIELDS and len(lines) == 5
    assert lines[1].split()[:5] == ["lru", "50", "5000", str(results[0]["hits"]), str(results[0]["misses"])]


def test_replay_format_override_and_text_traces(tmp_path, capsys):
    keys = zipf_keys(3000, keys=300, seed=8)
    binary = write_bin(tmp_path / "trace.dat", keys)
    text = write_txt(tmp_path / "trace.txt", keys)
    for path, extra in ((binary, ["--format", "oracleGeneral"]), (text, [])):
        assert main(["replay", str(path), "--policy", "clock", "--capacity", "30", "--json", *extra]) == 0
        result = json.loads(capsys.readouterr().out)
        assert result["misses"] == expected("clock", 30, keys, np.ones(len(keys), int))["misses"]


OFFLINE_POLICY = '''
from policies.lru import LRU

class Clairvoyant(LRU):
    """Needs the future before the first request, as Belady's policy does."""
    offline = True
    future = None

    def prepare(self, keys):
        self.future = list(keys)

    def access(self, key, size=1):
        if self.future is None:
            raise RuntimeError("prepare(keys) was not called")
        return super().access(key, size)
'''


def test_replay_prepares_offline_policies(tmp_path, trace, monkeypatch):
    path, keys, sizes = trace
    (tmp_path / "oracle_policy.py").write_text(OFFLINE_POLICY)
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    done = kvsim("replay", path, "--policy", "oracle_policy:Clairvoyant,lru", "--capacity", "100", "--json")
    assert done.returncode == 0, done.stderr
    clairvoyant, lru = json.loads(done.stdout)
    assert clairvoyant["misses"] == lru["misses"] == expected("lru", 100, keys, sizes)["misses"]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--policy", "lruu", "--capacity", "10"], "unknown policy 'lruu' (did you mean 'lru'?)"),
        (
            ["--policy", "lru", "--capacity", "10XB"],
            "--capacity: '10XB' is neither a whole number of objects nor a size",
        ),
        (["--policy", "lru", "--capacity", "0"], "--capacity: a capacity must be at least 1"),
        (["--policy", "lru", "--capacity", "1.5"], "--capacity: '1.5' is neither"),
        (
            ["--policy", "lru", "--capacity", "10", "--warmup", "x"],
            "--warmup must be an integer from 0 to 2**62; got 'x'",
        ),
        (
            ["--policy", "lru", "--capacity", "10", "--warmup", "6000"],
            "--warmup 6000 covers the whole trace (6000 requests)",
        ),
        (["--policy", "lru", "--capacity", "-5"], "--capacity: a capacity must be at least 1; got '-5'"),
        (["--policy", "lru", "--capacity", "9000000TiB"], "--capacity: a capacity may be at most 2**50 (1 PiB"),
        (["--policy", "lru", "--capacity", "9" * 20], "--capacity: a capacity may be at most 2**50"),
        (["--policy", "lru", "--capacity", "9" * 400 + "B"], "--capacity: a capacity may be at most 2**50"),
        (["--policy", "lru", "--capacity", "10", "--warmup", "9" * 20], "--warmup must be an integer from 0 to 2**62"),
        (["--policy", "lru", "--capacity", "10", "--warmup", "-1"], "--warmup must be an integer from 0 to 2**62"),
        (["--policy", "lru", "--capacity", "10", "--key-column", "nope"], "t.csv: no column 'nope' for the key"),
        (["--policy", "lru", "--capacity", "10", "--format", "oraclegeneral"], "t.csv: record 1: looks like text"),
    ],
)
def test_replay_bad_input_is_one_line(trace, capsys, args, message):
    assert main(["replay", str(trace[0]), *args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("kvsim: error: ") and message in err, err


def test_replay_bad_trace_files(tmp_path, capsys):
    truncated = tmp_path / "cut.bin"
    truncated.write_bytes(oracle_records([1, 2, 3]).tobytes()[:-5])
    garbage = tmp_path / "junk.csv"
    garbage.write_bytes(np.random.default_rng(0).bytes(2000))
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    cases = {
        tmp_path / "missing.csv": "missing.csv: no such trace file",
        truncated: "cut.bin: 67 bytes is not a whole number of 24-byte records: record 3 is truncated",
        garbage: "junk.csv: line 1:",
        empty: "empty.txt: empty file",
    }
    for path, message in cases.items():
        assert main(["replay", str(path), "--policy", "lru", "--capacity", "10"]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and message in err, err
    # And as a user sees it: a subprocess, one line, no traceback.
    done = kvsim("replay", garbage, "--policy", "lru", "--capacity", "10")
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "Traceback" not in done.stderr


def test_mrc_writes_an_exact_curve(tmp_path, trace):
    path, keys, sizes = trace
    out = tmp_path / "out"
    done = kvsim("mrc", path, "--capacities", "20:200:20", "--out", out)
    assert done.returncode == 0, done.stderr
    table = pd.read_csv(out / "mrc.csv")
    assert list(table.columns) == ["capacity", "miss_ratio", "byte_miss_ratio"]
    assert table["capacity"].tolist() == list(range(20, 201, 20))
    for row in table.itertuples():
        truth = expected("lru", row.capacity, keys, sizes)
        assert row.miss_ratio == pytest.approx(truth["miss_ratio"], abs=1e-12)
        assert row.byte_miss_ratio == pytest.approx(truth["byte_miss_ratio"], abs=1e-12)
    png = (out / "mrc.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    assert "exact LRU stack depths" in done.stdout and str(out / "mrc.csv") in done.stdout


def test_mrc_other_forms(tmp_path, trace, capsys):
    path, keys, sizes = trace
    log_spaced = tmp_path / "log"
    assert main(["mrc", str(path), "--capacities", "1:800", "--points", "12", "--out", str(log_spaced)]) == 0
    table = pd.read_csv(log_spaced / "mrc.csv")
    assert table["capacity"].iloc[0] == 1 and table["capacity"].iloc[-1] == 800 and len(table) == 12
    in_bytes = tmp_path / "bytes"
    assert main(["mrc", str(path), "--capacities", "4KiB,64KiB", "--policy", "fifo", "--out", str(in_bytes)]) == 0
    table = pd.read_csv(in_bytes / "mrc.csv")
    assert table["capacity"].tolist() == [4096, 65536]
    assert table["miss_ratio"].tolist() == pytest.approx(
        [expected("fifo", c, keys, sizes, count_bytes=True)["miss_ratio"] for c in (4096, 65536)], abs=1e-12
    )
    sampled = tmp_path / "shards"
    assert main(["mrc", str(path), "--capacities", "50:800:50", "--shards", "0.5", "--out", str(sampled)]) == 0
    assert "SHARDS" in capsys.readouterr().out
    exact = [expected("lru", c, keys, sizes)["miss_ratio"] for c in range(50, 801, 50)]
    assert np.abs(pd.read_csv(sampled / "mrc.csv")["miss_ratio"] - exact).mean() < 0.05
    text = write_txt(tmp_path / "k.txt", keys)  # no sizes: no byte miss ratio column
    assert main(["mrc", str(text), "--capacities", "100,200", "--out", str(tmp_path / "txt")]) == 0
    assert list(pd.read_csv(tmp_path / "txt" / "mrc.csv").columns) == ["capacity", "miss_ratio"]


def test_mrc_prints_byte_capacities_in_binary_units_and_objects_as_integers(tmp_path, trace, capsys):
    path, _, _ = trace
    capsys.readouterr()
    assert main(["mrc", str(path), "--capacities", "4KiB,1536KiB,64MiB", "--out", str(tmp_path / "b")]) == 0
    rows = capsys.readouterr().out.split("\n\n")[0].splitlines()
    assert rows[0].split() == ["capacity", "miss_ratio", "byte_miss_ratio"]
    assert [row.rsplit(maxsplit=2)[0].strip() for row in rows[1:]] == ["4 KiB", "1.5 MiB", "64 MiB"]
    assert pd.read_csv(tmp_path / "b" / "mrc.csv")["capacity"].tolist() == [4096, 1536 * 1024, 64 * 2**20]
    assert main(["mrc", str(path), "--capacities", "100,2048", "--out", str(tmp_path / "o")]) == 0
    rows = capsys.readouterr().out.split("\n\n")[0].splitlines()
    assert [row.split()[0] for row in rows[1:]] == ["100", "2048"]  # objects: no unit


def test_byte_capacities_that_would_read_alike_also_give_their_bytes():
    from experiments.cli.trace import capacity_labels

    assert capacity_labels([1024, 3 * 2**20]) == ["1 KiB", "3 MiB"]
    assert capacity_labels([2**20, 2**20 + 1000]) == ["1 MiB (1,048,576 B)", "1 MiB (1,049,576 B)"]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--capacities", "100,1MiB"], "one curve counts either objects or bytes"),
        (["--capacities", "100:10:1"], "the range's last capacity is below its first"),
        (["--capacities", "1:2:3:4"], "a range is FIRST:LAST (log-spaced) or FIRST:LAST:STEP"),
        (["--capacities", "1,2", "--points", "5"], "--points applies to a log-spaced range"),
        (["--capacities", "1:100", "--points", "1"], "--points must be an integer from 2 to 100,000; got '1'"),
        (["--capacities", "1:100", "--shards", "0"], "--shards must be a sampling rate in (0, 1]"),
        (["--capacities", "1:100", "--shards-size", "100", "--policy", "fifo"], "--shards-size needs LRU"),
        (["--capacities", "1:100", "--policy", "lru,fifo"], "mrc draws one policy's curve"),
        (["--capacities", "9" * 20], "--capacities: a capacity may be at most 2**50"),  # beyond int64
        (["--capacities", "1:" + "9" * 20], "--capacities: a capacity may be at most 2**50"),
        (["--capacities", "1,2," + "9" * 20], "--capacities: a capacity may be at most 2**50"),
        (["--capacities", "-1:5"], "--capacities: a capacity must be at least 1; got '-1'"),
        (["--capacities", "1:100", "--points", "9" * 20], "--points must be an integer from 2 to 100,000"),
        (["--capacities", "1:100", "--shards-size", "9" * 20], "--shards-size must be an integer from 1 to 2**62"),
        (["--capacities", "1:10000000:1"], "makes 10,000,000 capacities; at most 100,000"),
        (["--capacities", ",".join(map(str, range(1, 100_002)))], "--capacities: 100,001 capacities; at most 100,000"),
    ],
)
def test_mrc_bad_input_is_one_line(trace, capsys, tmp_path, args, message):
    assert main(["mrc", str(trace[0]), "--out", str(tmp_path / "o"), *args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err
    assert not (tmp_path / "o").exists()


def test_a_users_policy_replays_in_python_beside_compiled_ones(trace, tmp_path, monkeypatch, capsys):
    path, keys, sizes = trace
    write_user_module(tmp_path, "my_mru")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert main(["replay", str(path), "--policy", "lru,my_mru:MRU", "--capacity", "100", "--json"]) == 0
    lru, mru = json.loads(capsys.readouterr().out)
    assert (lru["engine"], mru["engine"]) == (engine(), "python")
    assert lru == {"policy": "lru", "capacity": 100, **expected("lru", 100, keys, sizes)}
    assert mru["misses"] == expected("my_mru:MRU", 100, keys, sizes)["misses"]


def test_the_python_engine_on_request(trace, monkeypatch):
    path, keys, sizes = trace
    monkeypatch.setenv("KVSIM_ENGINE", "python")
    done = kvsim("replay", path, "--policy", "s3fifo", "--capacity", "16KiB", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {
        "policy": "s3fifo",
        "capacity": "16KiB",
        **expected("s3fifo", 16384, keys, sizes, True),
    }
    monkeypatch.setenv("KVSIM_ENGINE", "turbo")
    done = kvsim("replay", path, "--policy", "s3fifo", "--capacity", "100")
    assert done.returncode == 2 and done.stderr.strip().endswith(
        "KVSIM_ENGINE must be 'compiled' or 'python'; got 'turbo'"
    )


def test_the_printed_table_aligns_each_column_right_and_says_nan():
    from experiments.trace.replay import format_table

    rows = [
        {"policy": "lru", "capacity": 1000, "miss_ratio": 0.5123456, "byte_miss_ratio": None},
        {"policy": "s3fifo", "capacity": "16MiB", "miss_ratio": 0.1, "byte_miss_ratio": float("nan")},
    ]
    assert format_table(rows, ("policy", "capacity", "miss_ratio", "byte_miss_ratio")).splitlines() == [
        "policy  capacity  miss_ratio  byte_miss_ratio",
        "   lru      1000    0.512346              NaN",
        "s3fifo     16MiB    0.100000              NaN",
    ]
