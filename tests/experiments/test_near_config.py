"""Near caches from a config: workload.clients and [near], bad values refused in one line, the files a run writes."""

import subprocess

import pandas as pd
import pytest

from experiments import configs as shipped
from experiments.config import ConfigError, load
from experiments.config.build import scenario
from experiments.plan.judge import run_metrics
from policies import engine
from sim import METRICS
from sim.metrics import TIMESERIES
from sim.scenario import Near
from tests.experiments.conftest import kvsim, kvsim_command, kvsim_env, write_config

BASE = """
name = "near"
[run]
requests = 6000
warmup = 1000
seeds = [1]
[workload]
keys = 2000
rate = 5000
write_fraction = 0.05
"""

BAD = [
    ("[near]\ncapacity = 50\n", "near.capacity: a near cache belongs to client groups; set workload.clients >= 1"),
    ("clients = 5000\n", "workload.clients: must be an integer in [0, 4096]"),
    ("clients = -1\n", "workload.clients: must be an integer in [0, 4096]"),
    ("clients = 2\n[near]\ncapacity = -3\n", "near.capacity"),
    ('clients = 2\n[near]\ncapacity = "1MiB"\n', "near.capacity: must count objects, as cluster.capacity does"),
    ('clients = 2\n[near]\ncapacity = 50\npolicy = "belady"\n', "near.policy: 'belady' needs the future"),
    ('clients = 2\n[near]\ncapacity = 50\npolicy = "nope"\n', "near.policy"),
    ("clients = 2\n[near]\ncapacity = 50\nttl_s = -1\n", "near.ttl_s: must be a number in [0, 1e+08]"),
    ("clients = 2\n[near]\ncapacity = 50\nttl_s = 1e9\n", "near.ttl_s: must be a number in [0, 1e+08]"),
    (
        "clients = 2\n[near]\ncapacity = 50\ninvalidation_delay_s = 2e8\n",
        "near.invalidation_delay_s: must be a number in [0, 1e+08]",
    ),
    ('clients = 2\n[near]\ncapacity = 50\ninvalidation_delay_s = "soon"\n', "near.invalidation_delay_s"),
    (
        "clients = 2\n[near]\ncapacity = 50\nhit_latency_ms = 1e9\n",
        "near.hit_latency_ms: must be a number in [0, 8.64e+07]",
    ),
    ("clients = 2\n[near]\ncapacity = 50\ndelay_s = 1\n", "unknown key 'near.delay_s' (did you mean 'near.ttl_s'?)"),
]


@pytest.mark.parametrize("text,message", BAD)
def test_bad_near_config_is_one_line_naming_the_key(tmp_path, text, message):
    with pytest.raises(ConfigError) as caught:
        load(write_config(tmp_path, BASE + text))
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_bulk_updates_that_would_scan_too_many_near_entries_are_refused(tmp_path):
    """Each bulk update that invalidates scans the near caches too: 20,000 updates x 1e8 near entries (the
    cluster's 10,000 entries alone would pass)."""
    text = BASE.replace("requests = 6000", "requests = 100_000_000") + (
        'clients = 4096\n[updates]\nevery_s = 1\nclasses = ["default"]\n[near]\ncapacity = 1_000_000\n'
    )
    with pytest.raises(ConfigError, match="updates.every_s: 2e\\+04 bulk updates that invalidate, each scanning up"):
        load(write_config(tmp_path, text))
    load(write_config(tmp_path, text.replace("capacity = 1_000_000", "capacity = 0")))  # no near caches: fine


@pytest.mark.parametrize("text,message", [BAD[0], BAD[8]])
def test_the_cli_refuses_bad_near_keys_with_exit_2_and_writes_nothing(tmp_path, text, message):
    out = tmp_path / "out"
    done = kvsim("run", write_config(tmp_path, BASE + text), "--out", out)
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and message in done.stderr
    assert "Traceback" not in done.stderr and not out.exists()


def test_near_keys_become_the_scenarios_fields(tmp_path):
    text = BASE + 'clients = 3\n[near]\ncapacity = 40\npolicy = "fifo"\nttl_s = 2\ninvalidation_delay_s = 0.5\n'
    experiment = load(write_config(tmp_path, text + "hit_latency_ms = 0.05\n"))
    sc = scenario(experiment.config)
    assert sc.clients == 3 and sc.near == Near(40, "fifo", 2.0, 0.5, 0.05 / 1000)
    assert experiment.engines == {"lru": engine()}  # the compiled loop runs near caches where it is built
    plain = scenario(load(write_config(tmp_path, BASE + "clients = 3\n")).config)
    assert plain.clients == 3 and plain.near is None  # groups without near caches: the compiled loop's


def test_the_shipped_near_cache_experiment_scaled_down_writes_the_near_columns(tmp_path):
    """kvsim run on the shipped near_cache.toml with four hours of the day instead of 24: three hourly model
    updates, every point of its sweep."""
    text = shipped.path("near_cache").read_text()
    text = text.replace("requests = 166_800", "requests = 12_000").replace("warmup = 6_000", "warmup = 2_000")
    out = tmp_path / "out"
    done = kvsim("run", write_config(tmp_path, text), "--out", out)
    assert done.returncode == 0, done.stderr
    assert "Python loop" not in done.stdout + done.stderr  # near caches run on the compiled loop too
    results = pd.read_csv(out / "results.csv")
    assert list(results.columns) == ["seed", "near.capacity", "near.invalidation_delay_s", *METRICS]
    by = results.set_index(["near.capacity", "near.invalidation_delay_s"])
    alone = by.loc["0"]
    assert (alone["near_hits"] == 0).all() and (alone["near_stale"] == 0).all()
    small, large = by.loc["32KiB"], by.loc["256KiB"]
    assert (small["near_hits"] > 0).all() and (large["near_hits"] > small["near_hits"]).all()
    assert (large["near_hit_ratio"] == large["near_hits"] / (large["requests"] - large["writes"])).all()
    assert small.loc[0, "near_stale"] == large.loc[0, "near_stale"] == 0  # heard at once: never stale
    assert 0 < large.loc[60, "near_stale"] < large.loc[600, "near_stale"]  # a later word, more stale reads
    assert (results["stale"] == 0).all()  # the cluster drops an update's items at once: only near reads are stale
    series = pd.read_csv(out / "timeseries.csv")
    assert list(series.columns) == ["seed", "near.capacity", "near.invalidation_delay_s", *TIMESERIES]
    per_run = series.groupby(["near.capacity", "near.invalidation_delay_s"])["near_hits"].sum()
    assert per_run.to_dict() == results.set_index(["near.capacity", "near.invalidation_delay_s"])["near_hits"].to_dict()


def test_a_plans_stale_ratio_counts_the_near_caches_stale_reads_with_the_clusters():
    record = {"metrics": {"requests": 1000, "writes": 200, "stale": 30, "near_stale": 10, "backend_requests": 0}}
    assert run_metrics(record, 1.0)["stale_ratio"] == pytest.approx(40 / 800)
    del record["metrics"]["near_stale"]  # a record from before near caches
    assert run_metrics(record, 1.0)["stale_ratio"] == pytest.approx(30 / 800)


#: near caches in a living fleet: a node joins, one fails, bulk updates and writes reach the near caches late
NEAR_IN_A_FLEET = (
    BASE
    + """clients = 3
[cluster]
nodes = 3
capacity = 100
[[cluster.changes]]
at_s = 0.5
add = 1
[[cluster.failures]]
node = 0
down_at = 0.8
up_at = 1.0
[updates]
every_s = 0.3
classes = ["default"]
[near]
capacity = 40
ttl_s = 0.5
invalidation_delay_s = 0.05
"""
)


def test_both_loops_write_the_same_bytes_with_near_caches(tmp_path):
    """kvsim run on the compiled loop (where it is built) and with KVSIM_ENGINE=python: results.csv,
    timeseries.csv and fleet.csv byte for byte."""
    config = write_config(tmp_path, NEAR_IN_A_FLEET)
    assert load(config).engines == {"lru": engine()}
    for loop in ("compiled", "python"):
        command = kvsim_command("run", config, "--out", tmp_path / loop)
        done = subprocess.run(command, capture_output=True, text=True, env={**kvsim_env(), "KVSIM_ENGINE": loop})
        assert done.returncode == 0, done.stderr
    for name in ("results.csv", "timeseries.csv", "fleet.csv"):
        compiled, python = ((tmp_path / loop / name).read_bytes() for loop in ("compiled", "python"))
        assert compiled == python, name
    results = pd.read_csv(tmp_path / "python" / "results.csv")
    assert (results["near_hits"] > 0).all() and (results["near_stale"] > 0).all() and (results["changes"] > 0).all()
