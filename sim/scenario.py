"""The resolved description of one simulated system: what `run` takes.

These frozen dataclasses are what the simulator understands; experiments/
builds them from TOML after validation.  They hold workload objects and
distributions, never file names or command-line strings.  Times inside are
in seconds (configs speak milliseconds; the conversion happens once, in
experiments/config.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from workloads import Constant, Distribution, Workload


@dataclass(frozen=True)
class ClusterSpec:
    """N cache nodes behind a balancer.

    capacity:      per node, in objects or bytes (see capacity_bytes)
    capacity_bytes: True when capacity counts bytes; objects count 1 each otherwise
    policy:        registry name or "module:Class"
    policy_params: keyword parameters for the policy
    ttl:           seconds from insertion until expiry; 0 means never
    """

    nodes: int = 1
    capacity: int = 1000
    capacity_bytes: bool = False
    policy: str = "lru"
    policy_params: tuple = ()
    balancer: str = "consistent"
    vnodes: int = 160
    ttl: float = 0.0


@dataclass(frozen=True)
class BackendSpec:
    """The store behind the cache: service time in seconds and FCFS servers."""

    latency: Distribution = Constant(0.005)
    concurrency: int = 64
    coalesce: bool = False


@dataclass(frozen=True)
class Scenario:
    """Everything one run needs but the seed.

    requests: measured requests; warmup: requests simulated before measuring.
    hit_latency: client <-> node round trip in seconds, paid by every request.
    """

    workload: Workload
    cluster: ClusterSpec = field(default_factory=ClusterSpec)
    backend: BackendSpec = field(default_factory=BackendSpec)
    hit_latency: Distribution = Constant(0.0002)
    requests: int = 100_000
    warmup: int = 0

    @property
    def total_requests(self) -> int:
        return self.warmup + self.requests
