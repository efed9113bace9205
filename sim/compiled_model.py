"""The fast model with its request loop in C (sim/_compiled), for the built-in policies.

Everything but the loop is sim/model.py's Model: the draws, the SimPy
processes (failures, bulk updates), the recorder.  The loop, the nodes, the
queues and the calendar live in a C Engine, which makes Model's decisions in
Model's order; this driver feeds it a batch at a time, steps SimPy when the
engine stops before a request because SimPy's next event is due first, hands
the latencies known late to the recorder, and carries what SimPy's processes
do (a node going down or up, a bulk update) to the engine.

It runs when the compiled engine is built (and not refused with
KVSIM_ENGINE=python) and the cluster's policy has a kernel: a built-in one
that neither reads the clock (Redis's, memcached's: ``policy.timed``) nor
needs the future (Belady).  Anything else runs the Python loop.
"""

from __future__ import annotations

import numpy as np

from policies.compiled import engine as policies_engine
from policies.compiled import kernel_of
from sim.cluster import policy_makers
from sim.draws import Draws
from sim.model import Model
from sim.scenario import ClusterSpec

try:
    from sim._compiled.engine import Engine
    from sim._compiled.node import Node
except ImportError:  # not built: the Python loop runs every scenario
    Engine = Node = None


def compiled_kernel(policy):
    """The kernel that runs `policy` in the compiled loop, or None if the Python loop must run it."""
    if getattr(policy, "timed", False) or getattr(policy, "offline", False):
        return None
    return kernel_of(policy)


def loop_for(cluster: ClusterSpec, seed: int = 0) -> str:
    """Which request loop runs a cluster: "compiled" or "python"."""
    if Engine is None or policies_engine() != "compiled":
        return "python"
    return "compiled" if compiled_kernel(policy_makers(cluster, seed)[0]()) is not None else "python"


class CompiledModel(Model):
    """Model, its request loop in C."""

    engine = "compiled"

    def _build(self) -> None:
        scenario, cluster = self.scenario, self.scenario.cluster
        self.makers = policy_makers(cluster, self.seed)
        refresh_on_hit = cluster.ttl_mode == "refresh"
        nodes = [
            Node(self._kernel(index), cluster.capacity_bytes, refresh_on_hit, cluster.has_ttl, self.track_versions)
            for index in range(cluster.nodes)
        ]
        self.core = Engine(
            nodes,
            scenario.backend.concurrency,
            cluster.node_concurrency,
            self.coalesce,
            self.track_versions,
            cluster.expiry == "active",
            cluster.balancer,
            cluster.bound_epsilon,
            getattr(self.balancer, "candidates", 1),
            cluster.replicas,
            cluster.write_policy,
        )

    def _kernel(self, index: int):
        """A fresh kernel of node `index`'s policy (at the start, and after each failure)."""
        return compiled_kernel(self.makers[index]())

    def _walk(self, draws: Draws) -> None:
        batch = draws.batch
        n = len(batch)
        flags = np.zeros(n, dtype=np.uint8)
        wait = np.zeros(n)  # latency beyond the round trip; NaN when known only later
        arrays = (
            np.ascontiguousarray(batch.time, dtype=np.float64),
            np.ascontiguousarray(batch.key, dtype=np.int64),
            np.ascontiguousarray(batch.size, dtype=np.int64),
            np.ascontiguousarray(batch.op, dtype=np.int8),
            draws.read_node,  # the engine writes a dynamic balancer's choices into it
            np.ascontiguousarray(draws.choices, dtype=np.int64),
            np.ascontiguousarray(draws.round_trip, dtype=np.float64),
            np.ascontiguousarray(draws.service, dtype=np.float64),
            _column(draws.node_service),
            _column(draws.ttl),
        )
        position = 0
        while True:
            position = self.core.walk(*arrays, flags, wait, batch.start, position, self.env.peek())
            self._hand_late()
            if position == n:
                break
            self.env.step()  # SimPy's next event is due before request `position`
        self._record(draws, flags, wait)

    def _finish(self) -> None:
        while self.core.drain(self.env.peek()):
            self._hand_late()
            self.env.step()
        self._hand_late()

    def _hand_late(self) -> None:
        """The latencies the engine learnt since the last call, to the recorder, in the order learnt."""
        indices, arrivals, latencies = self.core.take_late()
        for index, arrival, latency in zip(indices.tolist(), arrivals.tolist(), latencies.tolist()):
            self.recorder.set_latency(index, arrival, latency)

    # -- what SimPy's processes do ---------------------------------------------------------
    def _set_up(self, index: int, up: bool) -> None:
        self.core.set_up(index, up)

    def _fail(self, index: int) -> None:
        self.core.fail(index, self._kernel(index))

    def _bulk_update(self, classes: set, invalidate: bool) -> None:
        self.core.bulk_update(sorted(classes), invalidate)


def _column(values) -> np.ndarray:
    """A float64 column of the draws, or an empty one where the scenario draws none."""
    return np.zeros(0) if values is None else np.ascontiguousarray(values, dtype=np.float64)
