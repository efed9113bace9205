"""A trace named in a config drives the timed model."""

import numpy as np
import pandas as pd
import pytest

from experiments.build import scenario
from experiments.config import ConfigError, load
from policies import make_policy, replay
from sim import run
from tests.experiments.conftest import kvsim


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


def test_missing_trace_is_a_config_error(tmp_path):
    (tmp_path / "exp.toml").write_text(CONFIG)
    with pytest.raises(ConfigError, match="workload.trace: .*requests.txt"):
        load(tmp_path / "exp.toml")
