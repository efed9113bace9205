"""What arrives and when: key popularity, arrival times, object sizes, traces.

Everything here is drawn in seeded numpy batches and knows nothing about who
serves the requests (see DESIGN.md, "Dependency direction").
"""

from workloads.arrivals import Diurnal, OnOff, Poisson
from workloads.distributions import Constant, Distribution, Exponential, Lognormal, Pareto, UniformRange
from workloads.popularity import Uniform, Zipf
from workloads.rng import rng_for
from workloads.stream import READ, WRITE, KeyClass, RequestBatch, Workload, key_class

__all__ = [
    "READ",
    "WRITE",
    "Constant",
    "Diurnal",
    "KeyClass",
    "OnOff",
    "UniformRange",
    "key_class",
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
