"""`kvsim plan --vary autoscale.max_nodes`: the ceiling a reactive autoscaler needs, end to end.

One LRU node of 100 objects takes 100 requests/s that each hold it for 25 ms
on average (2.5 times what a node can serve): the autoscaler adds a node
every 2 s while the nodes are busier than half, up to max_nodes.  Too low a
ceiling leaves the queues growing (a p99 of seconds) and the fleet's cache
small (a lower hit ratio); the plan finds the smallest ceiling that meets
both targets, which must be the smallest value of a brute-force sweep whose
95% intervals over the same seeds meet them.
"""

import json
import tomllib

import pandas as pd
import pytest

import experiments
from experiments.cli import main
from experiments.output.tables import ci95
from tests.experiments.conftest import write_config

AUTOSCALED = """
name = "autoscaled"
[run]
requests = 6000
warmup = 0
seeds = [1, 2, 3]
interval = 2
[workload]
keys = 2000
alpha = 0.9
rate = 100
[cluster]
nodes = 1
capacity = 100
node_concurrency = 1
node_service = { dist = "exponential", mean_ms = 25 }
[backend]
latency = { dist = "lognormal", median_ms = 5.0, sigma = 0.5 }
concurrency = 16
[autoscale]
mode = "reactive"
signal = "node_utilisation"
low = 0.2
high = 0.5
interval_s = 2
window_s = 2
min_nodes = 1
max_nodes = 8
"""

P99_MS, HIT_RATIO, CEILINGS = 7000, 0.59, range(1, 9)


@pytest.mark.filterwarnings("ignore::experiments.SaturationWarning")
def test_the_planned_ceiling_is_the_smallest_a_brute_force_sweep_meets_both_targets_with(tmp_path, capsys):
    sweep = experiments.run({**tomllib.loads(AUTOSCALED), "sweep": {"autoscale.max_nodes": list(CEILINGS)}})
    grouped = sweep.groupby("autoscale.max_nodes")
    p99_high = grouped["p99_ms"].mean() + grouped["p99_ms"].apply(ci95)
    hit_low = grouped["hit_ratio"].mean() - grouped["hit_ratio"].apply(ci95)
    met = (p99_high <= P99_MS) & (hit_low >= HIT_RATIO)
    expected = met[met].index.min()
    assert 1 < expected < max(CEILINGS) and not met[expected - 1]  # the targets decide inside the range

    out = tmp_path / "plan"
    args = ["plan", str(write_config(tmp_path, AUTOSCALED)), "--vary", "autoscale.max_nodes", "--range", "1:8"]
    targets = ["--p99-ms", str(P99_MS), "--hit-ratio", str(HIT_RATIO), "--max-seeds", "3"]
    assert main([*args, *targets, "--out", str(out), "--workers", "1"]) == 0
    printed = " ".join(capsys.readouterr().out.split("\n\n")[0].split())
    assert printed.startswith(f"up to {expected} nodes x 100 objects (the autoscaler's most)"), printed

    answer = json.loads((out / "plan.json").read_text())
    assert answer["question"]["vary"] == "autoscale.max_nodes"
    assert answer["answer"]["value"] == expected and answer["answer"]["below"] == expected - 1
    assert answer["answer"]["reproduce"] == {"autoscale.max_nodes": expected, "run.seeds": [1, 2, 3]}
    points = pd.read_csv(out / "plan.csv").set_index("autoscale.max_nodes")
    assert sorted(points.index) == list(CEILINGS)  # p99 can turn with nodes: the plan scanned them all
    for ceiling in CEILINGS:  # the plan judged by the very numbers the sweep gives
        assert points.loc[ceiling, "p99_ms_mean"] == pytest.approx(grouped["p99_ms"].mean()[ceiling])
        assert points.loc[ceiling, "hit_ratio_low"] == pytest.approx(hit_low[ceiling])
        assert (points.loc[ceiling, "verdict"] == "met") == bool(met[ceiling])
    # The fleets the plan ran grew as the autoscaler decided, never past their ceiling.
    fleet = pd.read_csv(out / "fleet.csv")
    most = fleet.groupby("autoscale.max_nodes")["nodes"].max()
    assert (most <= most.index).all() and most[expected] == expected
    assert set(fleet["reason"]) <= {"scale_out", "scale_in"}


def test_bad_autoscaler_plans_exit_2_in_one_line_and_write_nothing(tmp_path, capsys):
    reactive = write_config(tmp_path, AUTOSCALED)
    off = write_config(tmp_path, AUTOSCALED.replace('mode = "reactive"', 'mode = "off"'), "off.toml")
    two = write_config(tmp_path, AUTOSCALED.replace("[cluster]\nnodes = 1", "[cluster]\nnodes = 2"), "two.toml")
    vary = ["--vary", "autoscale.max_nodes", "--p99-ms", "5"]
    out = tmp_path / "out"
    cases = [
        ([str(off), *vary], "plan.vary = 'autoscale.max_nodes' needs [autoscale] mode = \"reactive\""),
        ([str(reactive), *vary, "--survive", "1"], "an autoscaler replaces the nodes it loses"),
        ([str(reactive), *vary, "--range", "0:8"], "--range: must be an integer in [1, 4096]; got 0"),
        ([str(two), *vary, "--range", "1:8"], "the range asked reaches autoscale.max_nodes = 1, where cluster.nodes"),
    ]
    for args, message in cases:
        assert main(["plan", *args, "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1, err
    assert not out.exists()
