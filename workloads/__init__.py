"""What arrives and when: key popularity, arrival times, object sizes, traces.

Everything here is drawn in seeded numpy batches and knows nothing about who
serves the requests (see DESIGN.md, "Dependency direction").
"""

from typing import TYPE_CHECKING

#: where each name of the package lives: imported on first use (PEP 562), so that importing one
#: module of the package (workloads.hashing, say, as every policy does) does not load scipy.
EXPORTS = {
    "workloads.arrivals": ("Diurnal", "OnOff", "Poisson"),
    "workloads.distributions": ("Constant", "Distribution", "Exponential", "Lognormal", "Pareto", "UniformRange"),
    "workloads.popularity": ("Uniform", "Zipf"),
    "workloads.rng": ("rng_for",),
    "workloads.stream": ("READ", "WRITE", "KeyClass", "RequestBatch", "Workload", "key_class"),
}
_HOME = {name: module for module, names in EXPORTS.items() for name in names}

if TYPE_CHECKING:  # the type checker reads the names where they live
    from workloads.arrivals import Diurnal, OnOff, Poisson
    from workloads.distributions import Constant, Distribution, Exponential, Lognormal, Pareto, UniformRange
    from workloads.popularity import Uniform, Zipf
    from workloads.rng import rng_for
    from workloads.stream import READ, WRITE, KeyClass, RequestBatch, Workload, key_class


def __getattr__(name: str) -> object:
    """Import a name of the package from its module the first time it is asked for."""
    if name not in _HOME:
        raise AttributeError(f"module 'workloads' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(_HOME[name]), name)
    globals()[name] = value
    return value


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
