"""A living fleet from a config: its keys, their bad values refused in one line, and the files a run writes."""

import json

import pandas as pd
import pytest

from experiments.config import ConfigError, load
from experiments.config.build import scenario
from experiments.config.loading import from_dict
from policies import engine
from sim import METRICS
from sim.metrics import FLEET as FLEET_COLUMNS
from sim.metrics import RESTARTS, TIMESERIES
from sim.scenario import Change, Eviction, Gutter, Restarts, Targets, Warmup
from tests.experiments.conftest import kvsim, write_config

BASE = """
name = "fleet"
[run]
requests = 6000
warmup = 1000
seeds = [1, 2]
[workload]
keys = 2000
rate = 5000
[cluster]
nodes = 3
capacity = 100
"""

BAD = [
    (
        "[[cluster.changes]]\nat_s = 0.8\nadd = 1\n[[cluster.changes]]\nat_s = 0.5\nremove = 1\n",
        "cluster.changes[1].at_s: changes must be in time order; 0.5 s comes before the 0.8 s of cluster.changes[0]",
    ),
    ("[[cluster.changes]]\nat_s = 60\nadd = 1\n", "cluster.changes[0].at_s: 60 s is after the run's end (about 1.4 s"),
    (
        "[[cluster.changes]]\nat_s = 0.5\nremove = 3\n",
        "cluster.changes[0]: at 0.5 s the fleet would shrink below one node",
    ),
    ("[[cluster.changes]]\nat_s = 0.5\nremove = [5]\n", "cluster.changes[0]: node 5 is not in the fleet at 0.5 s"),
    (
        "[[cluster.changes]]\nat_s = 0.5\n",
        "cluster.changes[0]: needs exactly one of add, remove and capacity; got none",
    ),
    ("[[cluster.changes]]\nat_s = 0.5\nadd = 1\nremove = 1\n", "got add and remove"),
    ("[[cluster.changes]]\nadd = 1\n", "cluster.changes: [0]: needs at_s"),
    (
        "[[cluster.changes]]\nat_s = 0.5\nadd = 1\nnodes = [1]\n",
        "cluster.changes[0].nodes: lists the nodes of a capacity",
    ),
    ('[[cluster.changes]]\nat_s = 0.5\ncapacity = "1MiB"\n', "cluster.changes[0].capacity: must count objects"),
    (
        '[[cluster.changes]]\nat_s = 0.5\ncapacity = 50\n[cluster]\npolicy = "memcached"\n',
        "cluster.policy: 'memcached' cannot evict to a size (lowering its memory limit frees no slab page at once)",
    ),
    (
        "[cluster]\neviction = { high_watermark = 0.8, low_watermark = 0.9 }\n",
        "cluster.eviction: watermarks out of order: need 0 < low_watermark < high_watermark <= 1; got low 0.9, high 0.8",
    ),
    ("[cluster]\neviction = { high_watermark = 1.5 }\n", "cluster.eviction: high_watermark must be a number in [0, 1]"),
    ('[cluster]\nfailover = "gutter"\n', 'cluster.gutter.nodes: failover = "gutter" needs a gutter pool'),
    (
        '[cluster]\nwarmup = { strategy = "read_through" }\n',
        'cluster.warmup.for_s: strategy "read_through" needs for_s > 0',
    ),
    (
        '[cluster]\nwarmup = { strategy = "warm" }\n',
        "cluster.warmup: strategy must be one of 'cold', 'read_through', 'precopy'",
    ),
    (
        "[cluster]\nrestarts = { every_s = 0.5 }\n",
        "cluster.restarts.down_s: a node restarts for some time; must be > 0",
    ),
    (
        "[cluster]\nrestarts = { every_s = 0.5, down_ss = 1 }\n",
        "cluster.restarts: unknown key 'down_ss' (did you mean 'down_s'?)",
    ),
    ("[targets]\np99_ms = 5\n", "targets: violation seconds are counted over timeseries.csv's rows: set run.interval"),
]


def test_a_restart_too_short_for_the_clock_at_the_runs_end_is_refused():
    # A run of 10**8 s: a float64 time steps by 1.5e-8 s there, and a nanosecond down would be no restart.
    config = {"run": {"requests": 10**9, "warmup": 0}, "workload": {"rate": 10.0}, "cluster": {"nodes": 2}}
    config["cluster"]["restarts"] = {"every_s": 1e7, "down_s": 1e-9}
    with pytest.raises(ConfigError, match=r"^cluster.restarts.down_s: 1e-09 s is lost in the clock by the run's end "):
        from_dict(config)
    config["cluster"]["restarts"]["down_s"] = 1e-7
    assert from_dict(config).config.cluster.restarts.down_s == 1e-7


@pytest.mark.parametrize("text,message", BAD)
def test_bad_fleet_config_is_one_line_naming_the_key(tmp_path, text, message):
    # A second [cluster] table would not be TOML: the case's [cluster] keys go into BASE's.
    head, _, cluster_keys = text.partition("[cluster]\n")
    path = write_config(tmp_path, BASE + cluster_keys + head)
    with pytest.raises(ConfigError) as caught:
        load(path)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_a_gutter_pool_is_built_only_with_failover_gutter_so_a_sweep_over_failover_keeps_it(tmp_path):
    text = BASE + '[cluster.gutter]\nnodes = 2\n[sweep]\n"cluster.failover" = ["rehash", "backend", "gutter"]\n'
    experiment = load(write_config(tmp_path, text))
    pools = [scenario(point.config).cluster.gutter for point in experiment.sweep_points]
    assert pools[:2] == [None, None] and pools[2] == Gutter(nodes=2, capacity=1000, policy="", ttl_s=10.0)


def test_the_cli_refuses_a_shrinking_fleet_with_exit_2_and_writes_nothing(tmp_path):
    path = write_config(tmp_path, BASE + "[[cluster.changes]]\nat_s = 0.5\nremove = [0, 1, 2]\n")
    out = tmp_path / "out"
    done = kvsim("run", path, "--out", out)
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "shrink below one node" in done.stderr
    assert "Traceback" not in done.stderr and not out.exists()


FLEET = (
    BASE.replace("seeds = [1, 2]\n", "seeds = [1, 2]\ninterval = 0.1\n")
    + """
failover = "gutter"
restarts = { every_s = 0.5, down_s = 0.05, gap_s = 0.01 }
warmup = { strategy = "read_through", for_s = 0.2 }
eviction = { high_watermark = 1.0, low_watermark = 0.9 }
[cluster.gutter]
nodes = 1
capacity = 50
ttl_s = 0.1
[[cluster.changes]]
at_s = 0.4
add = 1
provision_s = 0.05
[[cluster.changes]]
at_s = 1.0
capacity = 80
[targets]
p99_ms = 4.0
"""
)


def test_a_fleets_keys_become_the_scenarios_fields(tmp_path):
    experiment = load(write_config(tmp_path, FLEET))
    cluster = scenario(experiment.config).cluster
    assert cluster.changes == (Change(0.4, add=1, provision_s=0.05), Change(1.0, capacity=80))
    assert cluster.restarts == Restarts(0.5, 0.05, "id", 0.01, None)
    assert (cluster.failover, cluster.gutter) == ("gutter", Gutter(1, 50, "", 0.1))
    assert cluster.warmup == Warmup("read_through", 0.2, 0.0) and cluster.eviction == Eviction(1.0, 0.9, 0.0)
    assert scenario(experiment.config).targets == Targets(p99_ms=4.0)
    assert experiment.engines == {"lru": engine()}  # the compiled loop runs every fleet feature here


def test_a_run_writes_fleet_csv_restarts_csv_and_the_fleets_columns(tmp_path):
    out = tmp_path / "out"
    done = kvsim("run", write_config(tmp_path, FLEET), "--out", out, "--workers", "1")
    assert done.returncode == 0, done.stderr
    results = pd.read_csv(out / "results.csv")
    assert list(results.columns) == ["seed", *METRICS]
    assert (results["changes"] > 6).all() and (results["gutter_hits"] > 0).all() and (results["warm_hits"] > 0).all()
    assert (results["cold_misses"] > 0).all() and (results["violation_s"] > 0).all()
    span = 7000 / 5000
    assert results["node_seconds"].between(3 * 1.0, 5.5 * span).all() and (results["byte_seconds"] == 0).all()
    fleet = pd.read_csv(out / "fleet.csv")
    assert list(fleet.columns) == ["seed", *FLEET_COLUMNS]
    first = fleet[fleet["seed"] == 1].iloc[0]
    assert (first["kind"], str(first["node_ids"]), first["nodes"], first["decided_s"]) == ("add", "3", 4, 0.4)
    assert first["time_s"] == pytest.approx(0.45) and 0.1 < first["moved_share"] < 0.4
    assert set(fleet["kind"]) == {"add", "down", "up", "capacity"} and set(fleet["reason"]) == {"planned", "restart"}
    restarts = pd.read_csv(out / "restarts.csv")
    assert list(restarts.columns) == ["seed", *RESTARTS] and (restarts["requests"] > 0).all()
    series = pd.read_csv(out / "timeseries.csv")
    assert list(series.columns) == ["seed", *TIMESERIES]
    assert set(series["nodes"]) >= {3, 4} and series["moved"].sum() > 0 and series["gutter_hits"].sum() > 0
    per_run = series.groupby("seed")["cold_misses"].sum()
    assert per_run.to_dict() == results.set_index("seed")["cold_misses"].to_dict()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["config"]["cluster"]["restarts"]["every_s"] == 0.5
    record = json.loads(next((out / "runs").glob("*.json")).read_text())
    assert record["engine"] == engine() and record["fleet"] and record["restarts"]
