"""Near caches and a reactive autoscaler together: both models hear a near hit the same way.

A near hit is counted by the autoscaler's window at its arrival (no node service, no backend) and
completes at the near cache's latency; the fast model and the process-per-request model must then
decide the same changes at the same ticks and agree on every count; the compiled loop (which runs it
where it is built) and the Python loop agree exactly.
"""

import pytest

from experiments.config import load
from experiments.config.build import scenario
from policies import engine
from sim import run, run_naive
from sim.model import Model

CONFIG = """
[run]
requests = 20000
warmup = 1000
seeds = [1]
[workload]
keys = 2000
rate = 4000
write_fraction = 0.05
clients = 3
[cluster]
nodes = 2
capacity = 100
node_concurrency = 1
node_service = {{ dist = "constant", ms = 0.3 }}
[near]
capacity = 30
invalidation_delay_s = 0.05
[autoscale]
mode = "reactive"
signal = "{signal}"
low = {low}
high = {high}
interval_s = 1
window_s = 1
min_nodes = 1
max_nodes = 5
provision_s = 0.5
"""


@pytest.mark.parametrize(
    "signal,low,high",
    [("node_utilisation", 0.05, 0.15), ("hit_ratio", 0.6, 0.9), ("p99_ms", 0.5, 1.0), ("request_rate", 500, 1500)],
)
def test_both_models_decide_alike_with_near_caches(tmp_path, signal, low, high):
    path = tmp_path / "config.toml"
    path.write_text(CONFIG.format(signal=signal, low=low, high=high))
    sc = scenario(load(path).config)
    fast, naive = run(sc, 1), run_naive(sc, 1)
    assert fast.engine == engine()  # near caches and the autoscaler run on the compiled loop where it is built
    assert fast == Model(sc, 1).run()  # the Python loop: every field, exactly
    assert fast.fleet and fast.fleet == naive.fleet  # the autoscaler changed the fleet, the same way in both
    assert fast.near_hits > 0
    ours, theirs = fast.row(), naive.row()
    for name, value in ours.items():
        assert value == pytest.approx(theirs[name], rel=1e-9, abs=1e-12), name
