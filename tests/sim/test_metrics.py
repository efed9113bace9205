"""A run's latency quantiles at fixed probabilities: its CDF, consistent with its percentiles."""

import numpy as np
import pytest

from sim import CDF_PROBABILITIES, ClusterSpec, Scenario, run
from workloads import Lognormal, Poisson, Workload, Zipf


def test_latency_quantiles_trace_the_cdf():
    scenario = Scenario(
        workload=Workload(Zipf(2000, 0.9), Poisson(5000.0)),
        cluster=ClusterSpec(nodes=2, capacity=100),
        hit_latency=Lognormal(0.0002, 0.3),
        requests=5000,
        warmup=1000,
    )
    result = run(scenario, seed=3)
    quantiles = result.latency_quantiles
    assert len(quantiles) == len(CDF_PROBABILITIES) and list(CDF_PROBABILITIES) == sorted(CDF_PROBABILITIES)
    assert np.all(np.diff(quantiles) >= 0)
    by_probability = dict(zip(CDF_PROBABILITIES, quantiles))
    assert by_probability[0.5] == pytest.approx(result.p50_ms, rel=1e-12)
    assert by_probability[0.99] == pytest.approx(result.p99_ms, rel=1e-12)
    assert by_probability[0.999] == pytest.approx(result.p999_ms, rel=1e-12)
    assert "latency_quantiles" not in result.row()  # results.csv keeps its columns
