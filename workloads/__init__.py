"""What arrives and when: key popularity, arrival times, object sizes, traces.

Everything here is drawn in seeded numpy batches and knows nothing about who
serves the requests (see DESIGN.md, "Dependency direction").
"""

from workloads.distributions import Constant, Exponential, Lognormal, Pareto, Distribution
from workloads.popularity import Uniform, Zipf
from workloads.arrivals import Poisson
from workloads.rng import rng_for
from workloads.stream import RequestBatch, Workload

__all__ = [
    "Constant",
    "Distribution",
    "Exponential",
    "Lognormal",
    "Pareto",
    "Poisson",
    "RequestBatch",
    "Uniform",
    "Workload",
    "Zipf",
    "rng_for",
]
