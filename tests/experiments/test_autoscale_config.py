"""[autoscale] from a config: its keys, their bad values refused in one line, the shipped experiment end to end."""

import pandas as pd
import pytest

from experiments.config import ConfigError, load
from experiments.config.build import request_loop, scenario
from policies import engine
from sim.scenario import Autoscale
from tests.experiments.conftest import REPO, kvsim, write_config

BASE = """
name = "scaled"
[run]
requests = 6000
warmup = 1000
seeds = [1]
interval = 0.1
[workload]
keys = 2000
rate = 5000
[cluster]
nodes = 3
capacity = 100
"""

REACTIVE = """[autoscale]
mode = "reactive"
signal = "request_rate"
low = 1000
high = 2000
interval_s = 0.1
max_nodes = 5
"""

BAD = [
    (REACTIVE + "min_nodes = 6\n", "autoscale.min_nodes: 6 is above max_nodes (5)"),
    (REACTIVE.replace("max_nodes = 5\n", ""), 'autoscale.max_nodes: mode "reactive" needs the most nodes it may hold'),
    (REACTIVE + "window_s = 0.25\n", "autoscale.window_s: must be a multiple of interval_s (0.1 s); got 0.25 s"),
    (REACTIVE + "window_s = 0.05\n", "autoscale.window_s: must be a multiple of interval_s (0.1 s); got 0.05 s"),
    (
        REACTIVE.replace('"request_rate"', '"node_utilisation"'),
        'autoscale.signal: "node_utilisation" needs node queues (cluster.node_concurrency > 0)',
    ),
    (REACTIVE.replace('"request_rate"', '"latency"'), "autoscale.signal: must be one of"),
    (REACTIVE + "step = 5000\n", "autoscale.step: must be an integer in [1, 4096]"),
    (REACTIVE + "cooldown_s = 1e12\n", "autoscale.cooldown_s: must be a number in [0, 1e+08]"),
    (REACTIVE.replace("high = 2000", "high = 1e13"), "autoscale.high: must be a number in [0, 1e+12]"),
    (
        REACTIVE.replace("high = 2000", "high = 500"),
        "autoscale.high: the band needs low < high; got low 1000, high 500",
    ),
    (REACTIVE.replace("max_nodes = 5", "max_nodes = 2"), "cluster.nodes: 3 is outside the autoscaler's bounds [1, 2]"),
    (REACTIVE.replace("interval_s = 0.1", "interval_s = 1e-9"), "autoscale.interval_s: a tick every 1e-09 s makes"),
    (REACTIVE + "every_s = 5\n", "unknown key 'autoscale.every_s'"),
    (
        REACTIVE + "[[cluster.changes]]\nat_s = 0.5\nadd = 1\n",
        "cluster.changes[0]: [autoscale] sizes the fleet; a planned change may only set a capacity",
    ),
    ('[autoscale]\nmode = "schedule"\n', 'autoscale.nodes_by_hour: mode "schedule" needs 24 node counts'),
    ('[autoscale]\nmode = "schedule"\nnodes_by_hour = [3, 4]\n', "autoscale.nodes_by_hour: must be 24 node counts"),
    (
        '[autoscale]\nmode = "schedule"\nnodes_by_hour = [2' + ", 3" * 23 + "]\n",
        "autoscale.nodes_by_hour: hour 0's 2 nodes must be cluster.nodes (3)",
    ),
    (
        '[autoscale]\nmode = "schedule"\nprovision_s = 3600\nnodes_by_hour = [3' + ", 4" * 23 + "]\n",
        "autoscale.provision_s: a schedule provisions within the hour before; must be < 3600",
    ),
    ('[autoscale]\nmode = "sometimes"\n', "autoscale.mode: must be one of"),
]


@pytest.mark.parametrize("text,message", BAD)
def test_bad_autoscale_config_is_one_line_naming_the_key(tmp_path, text, message):
    with pytest.raises(ConfigError) as caught:
        load(write_config(tmp_path, BASE + text))
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_the_cli_refuses_a_bad_autoscaler_with_exit_2_and_writes_nothing(tmp_path):
    text, message = BAD[0]  # min_nodes > max_nodes
    out = tmp_path / "out"
    done = kvsim("run", write_config(tmp_path, BASE + text), "--out", out)
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and message in done.stderr
    assert "Traceback" not in done.stderr and not out.exists()


def test_the_keys_become_the_scenarios_autoscale_and_off_is_none(tmp_path):
    experiment = load(
        write_config(tmp_path, BASE + REACTIVE + 'cooldown_s = 0.3\n[sweep]\n"autoscale.mode" = ["off", "reactive"]\n')
    )
    specs = [scenario(point.config).cluster.autoscale for point in experiment.sweep_points]
    assert specs[0] is None
    assert specs[1] == Autoscale(
        mode="reactive",
        signal="request_rate",
        low=1000.0,
        high=2000.0,
        interval_s=0.1,
        window_s=0.1,  # 0: one interval
        max_nodes=5,
        cooldown_s=0.3,
    )
    # The compiled loop runs both points: the autoscaler's ticks are handed to the Python side.
    loops = [request_loop(point.config) for point in experiment.sweep_points]
    if engine() == "compiled":
        assert loops == [("compiled", ""), ("compiled", "")]


def test_plan_accepts_the_autoscale_keys_like_any_other(tmp_path):
    # kvsim plan varies the node count of a fleet an autoscaler sizes: each point is checked as a config.
    path = write_config(tmp_path, BASE + REACTIVE.replace("max_nodes = 5", "max_nodes = 8"))
    out = tmp_path / "plan"
    done = kvsim("plan", path, "--hit-ratio", "0.3", "--vary", "cluster.nodes", "--range", "3:8", "--out", out)
    assert done.returncode == 0, done.stderr
    assert (out / "plan.csv").exists()


def test_the_shipped_autoscale_experiment_end_to_end(tmp_path):
    # The shipped config at a 48th of its rate and 48 times its node service (the same utilisations over
    # the same diurnal day): the four fleets, their fleet.csv rows and their cost and service columns.
    text = (REPO / "experiments" / "configs" / "autoscale.toml").read_text()
    text = text.replace("requests = 1_036_800", "requests = 21_600").replace("rate = 12\n", "rate = 0.25\n")
    text = text.replace("mean_ms = 150 }", "mean_ms = 7200 }").replace("p99_ms = 2000", "p99_ms = 96000")
    out = tmp_path / "out"
    done = kvsim("run", write_config(tmp_path, text), "--out", out)
    assert done.returncode == 0, done.stderr
    summary = pd.read_csv(out / "summary.csv")
    assert list(zip(summary["autoscale.mode"], summary["cluster.nodes"])) == [
        ("off", 6),
        ("off", 4),
        ("reactive", 4),
        ("schedule", 2),
    ]
    hours = summary["node_seconds_mean"] / 3600.0
    # The static fleets: 6 and 4 nodes over the same span (the same arrivals), about a day.
    assert hours[0] / 6 == pytest.approx(hours[1] / 4, rel=1e-9) and hours[1] / 4 == pytest.approx(24, rel=0.05)
    assert hours[2] < hours[0] and hours[3] < hours[0]
    assert summary["violation_s_mean"][0] <= summary["violation_s_mean"][1]
    fleet = pd.read_csv(out / "fleet.csv")
    assert set(fleet["autoscale.mode"]) == {"reactive", "schedule"}  # static fleets change nothing
    reactive, schedule = fleet[fleet["autoscale.mode"] == "reactive"], fleet[fleet["autoscale.mode"] == "schedule"]
    assert set(reactive["reason"]) == {"scale_out", "scale_in"} and reactive["signal"].notna().all()
    assert (reactive["nodes"].between(2, 8)).all()
    # The schedule's rows are nodes_by_hour's steps: up to 6 at 11:00, down to 2 at 23:00.
    steps = list(zip(schedule["time_s"] // 3600, schedule["nodes"]))
    assert steps == [(5, 3), (7, 4), (9, 5), (11, 6), (17, 5), (19, 4), (21, 3), (23, 2)]
    adds = schedule[schedule["kind"] == "add"]
    assert (adds["decided_s"].to_numpy() == adds["time_s"].to_numpy() - 120).all()
    assert "node_seconds" in done.stdout and "violation_s" in done.stdout
    assert (out / "cost_service.png").exists() and not (out / "node_scaling.png").exists()
