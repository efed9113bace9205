"""Who serves a request and how long it takes.

Cache nodes (policy + capacity + TTL), balancers, the backend, the fast SimPy
model (`run`), the naive process-per-request oracle (`run_naive`), metrics and
analytic formulas (`sim.theory`).  Takes resolved `Scenario` objects, never
files or command lines.
"""

from sim.engine import engine_choice, engine_for, run
from sim.metrics import CDF_PROBABILITIES, METRICS, RunResult
from sim.naive import run_naive
from sim.scenario import BackendSpec, ClusterSpec, Scenario

__all__ = [
    "CDF_PROBABILITIES",
    "METRICS",
    "BackendSpec",
    "ClusterSpec",
    "RunResult",
    "Scenario",
    "engine_choice",
    "engine_for",
    "run",
    "run_naive",
]
