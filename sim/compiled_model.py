"""The fast model with its request loop in C (sim/_compiled), for the built-in policies.

Everything but the loop is sim/model.py's Model: the draws, the SimPy
processes (failures, bulk updates), the recorder.  The loop, the nodes, the
queues and the calendar live in a C Engine, which makes Model's decisions in
Model's order; this driver feeds it a batch at a time, steps SimPy when the
engine stops before a request because SimPy's next event is due first, hands
the latencies known late to the recorder, and carries what SimPy's processes
do (a node going down or up, a bulk update) to the engine.

It runs when the compiled engine is built (and not refused with
KVSIM_ENGINE=python), the cluster's policy has a kernel (a built-in one that
neither reads the clock, as Redis's and memcached's do, nor needs the
future, as Belady does) and the scenario uses only what the C loop declares
it implements (its engine's IMPLEMENTS, a chooser for a dynamic balancer,
and the living fleet's features, sim/vocabulary.py's FLEET_FEATURES, which
it declares under "fleet": none yet, so a fleet that changes runs on the
Python loop; failures of a fixed set of nodes stay compiled; and the
clients' near caches, CLIENT_FEATURES under "client": none yet either).  Anything
else runs the Python loop, and ``refusal`` says why.  Choosing builds
nothing: it reads the classes.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from policies import policy_class
from policies.base import Kernel
from policies.compiled import kernel_of, kernel_refusal
from sim.balancer import BALANCERS
from sim.cluster import policy_makers
from sim.draws import Draws
from sim.model import Model
from sim.scenario import Scenario
from sim.vocabulary import DYNAMIC_BALANCERS as DYNAMIC
from sim.vocabulary import REFRESH_ON_HIT
from workloads.stream import CLASS_SHIFT

try:
    from sim._compiled.engine import Engine, implements
    from sim._compiled.node import Node
except ImportError:  # not built: the Python loop runs every scenario
    Engine = Node = implements = None


def refusal(scenario: Scenario) -> str | None:
    """Why the compiled loop cannot run `scenario` (the Python loop runs it), or None if it can."""
    cluster = scenario.cluster
    cls = policy_class(cluster.policy)
    if cls.timed:
        return f"policy {cluster.policy!r} reads the clock"
    if cls.offline:
        return f"policy {cluster.policy!r} needs the future"
    why = kernel_refusal(cluster.policy, dict(cluster.policy_params).get("admission"))
    if why is None and Engine is None:
        why = "the compiled request loop is not built"
    if why is not None:
        return why
    for field in ("write_policy", "expiry", "ttl_mode"):
        if not implements(field, getattr(cluster, field)):
            return f"the compiled loop does not implement {field} {getattr(cluster, field)!r}"
    balancer = BALANCERS[cluster.balancer]
    if cluster.balancer in DYNAMIC and "make_chooser" not in vars(balancer):
        return f"balancer {cluster.balancer!r} has no compiled chooser"
    for feature in cluster.fleet_features:  # a living fleet (issue 21): sim/fleet_model.py
        if not implements("fleet", feature):
            key = "[autoscale]" if feature == "autoscale" else f"cluster.{feature}"  # its own section
            return f"the compiled loop does not implement a living fleet's {key} yet"
    for feature in scenario.client_features:  # the clients' near caches: sim/near.py
        if not implements("client", feature):
            return "the compiled loop does not implement the near cache ([near]) yet"
    return None


class CompiledModel(Model):
    """Model, its request loop in C."""

    engine = "compiled"

    def _build(self) -> None:
        scenario, cluster = self.scenario, self.scenario.cluster
        self.makers = policy_makers(cluster, self.seed)
        refresh_on_hit = cluster.ttl_mode == REFRESH_ON_HIT
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
            cluster.expiry,
            self.balancer.make_chooser() if self.balancer.dynamic else None,
            cluster.replicas,
            cluster.write_policy,
            CLASS_SHIFT,
        )

    def _kernel(self, index: int) -> Kernel:
        """A fresh kernel of node `index`'s policy (at the start, and after each failure), from its reference."""
        kernel = kernel_of(self.makers[index]())
        if kernel is None:  # refusal() said it has one: only a kernel that failed to build gets here
            raise RuntimeError(f"the kernel of policy {self.scenario.cluster.policy!r} is not built")
        return kernel

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


def _column(values: npt.ArrayLike | None) -> npt.NDArray[np.float64]:
    """A float64 column of the draws, or an empty one where the scenario draws none."""
    return np.zeros(0) if values is None else np.ascontiguousarray(values, dtype=np.float64)
