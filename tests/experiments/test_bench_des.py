"""The bench's model figures: the scenarios they time are what their lines say, and the memory runs report."""

import pytest

from experiments.bench.des import (
    ZIPF_TARGET_MB,
    bench_zipf_memory,
    billion_keys_scenario,
    general_scenario,
    report,
    report_memory,
)
from sim import engine_for, run


def test_the_general_scenario_has_ttl_writes_replicas_and_a_failure():
    scenario = general_scenario(200_000)  # 12.5 simulated seconds: entries outlive the 5-second TTL
    result = run(scenario, 1)
    assert scenario.cluster.replicas == 2 and scenario.cluster.ttl == 5.0
    assert result.writes / result.requests == pytest.approx(0.05, abs=0.01)
    assert result.expired > 0 and result.stale > 0
    (outage,) = scenario.cluster.failures
    span = scenario.total_requests / scenario.workload.arrivals.rate
    assert outage.node == 1 and outage.down_at == span / 3 and outage.up_at == 2 * span / 3
    assert result.node_requests[1] < min(result.node_requests[0], result.node_requests[2])  # down a third of the time
    assert result.engine == engine_for(scenario)
    lines = report({"des_general_requests_per_s": 2e6, "des_engine": result.engine})
    assert "TTL, 5% writes, 2 replicas, a failure" in lines[0] and result.engine in lines[1]


def test_the_billion_key_memory_run_measures_a_child_and_says_what_ran():
    assert billion_keys_scenario(1000).workload.popularity.keys == 10**9
    figures = bench_zipf_memory(20_000)
    assert figures["zipf_1e9_requests"] == 20_000
    assert 20 < figures["zipf_1e9_peak_mb"] < ZIPF_TARGET_MB
    assert 0 < figures["zipf_1e9_hit_ratio"] < 1 and 0 < figures["zipf_1e9_backend_utilisation"] < 1
    assert figures["zipf_1e9_engine"] == engine_for(billion_keys_scenario(1000))
    lines = report_memory(figures)
    assert "zipf_1e9_peak_mb" in lines[0] and "--quick" in lines[0] and figures["zipf_1e9_engine"] in lines[1]
