"""A trace named in a config drives the timed model."""

import numpy as np
import pandas as pd
import pytest

from experiments.analysis import replay
from experiments.config import ConfigError, load
from experiments.config.build import scenario
from policies import make_policy
from sim import run
from tests.experiments.conftest import kvsim
from workloads.traces import FORMATS
from workloads.traces.writers import write_trace as write_trace_as


def write_trace(path, n=6000, keys=300, seed=1):
    rng = np.random.default_rng(seed)
    sequence = (rng.zipf(1.3, n) % keys).astype(int)
    path.write_text("\n".join(str(k) for k in sequence) + "\n")
    return sequence


CONFIG = """
name = "from-a-trace"
[run]
requests = 5000
warmup = 1000
seeds = [1]
[workload]
trace = "requests.txt"
trace_arrivals = "rate"
rate = 1000
[cluster]
nodes = 1
capacity = 50
[backend]
latency = { dist = "constant", ms = 0 }
"""


def test_trace_in_a_config_is_found_next_to_it_and_matches_replay(tmp_path):
    keys = write_trace(tmp_path / "requests.txt")
    (tmp_path / "exp.toml").write_text(CONFIG)
    experiment = load(tmp_path / "exp.toml")
    result = run(scenario(experiment.config), seed=1)
    # An instant backend makes the timed LRU the same as a replay of the same keys.
    policy = make_policy("lru", 50)
    replay(policy, keys[:1000])
    expected = replay(policy, keys[1000:])
    assert result.requests == 5000 and result.hits == expected.hits


def test_cli_run_on_a_trace_shorter_than_asked(tmp_path):
    write_trace(tmp_path / "requests.txt", n=3000)
    (tmp_path / "exp.toml").write_text(CONFIG)
    done = kvsim("run", tmp_path / "exp.toml", "--out", tmp_path / "out", "--workers", "1", cwd=tmp_path.parent)
    assert done.returncode == 0, done.stderr
    results = pd.read_csv(tmp_path / "out" / "results.csv")
    assert results["requests"].tolist() == [2000]  # the trace ends after 3000, 1000 of them warm-up
    assert "note: 1 of 1 runs measured fewer requests than run.requests asks (2,000 of 5,000" in done.stdout


def test_missing_trace_is_a_config_error(tmp_path):
    (tmp_path / "exp.toml").write_text(CONFIG)
    with pytest.raises(ConfigError, match="workload.trace: .*requests.txt"):
        load(tmp_path / "exp.toml")


def timestamped(path, times, keys=None):
    keys = list(range(len(times))) if keys is None else keys
    rows = "\n".join(f"1,{t},r,1,{k}" for t, k in zip(times, keys))
    path.write_text("version,time,op,size,lbn\n" + rows + "\n")


BY_TIMESTAMP = """
[run]
requests = 6
warmup = 0
seeds = [1]
[workload]
trace = "t.csv"
[cluster]
nodes = 1
capacity = 10
"""


def test_a_timestamp_going_back_is_an_error_naming_its_line(tmp_path):
    timestamped(tmp_path / "t.csv", [0, 1, 2, 1, 3, 4])
    (tmp_path / "exp.toml").write_text(BY_TIMESTAMP)
    done = kvsim("run", tmp_path / "exp.toml", "--out", tmp_path / "out", "--workers", "1")
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert "t.csv: line 5: timestamp goes back in time" in done.stderr and "trace_disorder" in done.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("disorder, expected", [("clamp", [0, 1, 2, 2, 3, 4]), ("sort", [0, 1, 1, 2, 3, 4])])
def test_out_of_order_timestamps_clamped_or_sorted_when_asked(tmp_path, disorder, expected):
    timestamped(tmp_path / "t.csv", [0, 1, 2, 1, 3, 4], keys=[10, 11, 12, 13, 14, 15])
    text = BY_TIMESTAMP.replace('trace = "t.csv"', f'trace = "t.csv"\ntrace_disorder = "{disorder}"')
    (tmp_path / "exp.toml").write_text(text)
    batch = next(scenario(load(tmp_path / "exp.toml").config).workload.batches(1, 6))
    assert batch.time.tolist() == expected
    assert batch.key.tolist() == ([10, 11, 12, 13, 14, 15] if disorder == "clamp" else [10, 11, 13, 12, 14, 15])


@pytest.mark.parametrize(
    "size, message",
    [
        (-3, "expected a non-negative integer (size), got -3"),
        ("1e30", "the size must be at most 1099511627776; got 1e+30"),
    ],
)
def test_sizes_out_of_range_are_named_by_line(tmp_path, size, message):
    (tmp_path / "t.csv").write_text(f"version,time,op,size,lbn\n1,0,r,5,1\n1,1,r,{size},2\n")
    done = kvsim("replay", tmp_path / "t.csv", "--policy", "lru", "--capacity", "1MiB")
    assert done.returncode == 2 and "line 3" in done.stderr and message in done.stderr, done.stderr


@pytest.mark.parametrize("format", FORMATS)
def test_every_trace_format_can_be_named_in_a_config(tmp_path, format):
    # A name that says nothing, so that only workload.trace_format can tell the reader.
    rng = np.random.default_rng(7)
    keys = (rng.zipf(1.3, 3000) % 300).astype(np.int64) + 1
    write_trace_as(tmp_path / "requests.data", keys, sizes=np.full(len(keys), 100), format=format)
    text = CONFIG.replace("requests.txt", "requests.data").replace("requests = 5000", "requests = 2000")
    (tmp_path / "exp.toml").write_text(
        text.replace('trace = "requests.data"', f'trace = "requests.data"\ntrace_format = "{format}"')
    )
    experiment = load(tmp_path / "exp.toml")
    result = run(scenario(experiment.config), seed=1)
    policy = make_policy("lru", 50)
    replay(policy, keys[:1000])
    assert result.requests == 2000 and result.hits == replay(policy, keys[1000:3000]).hits
