"""Which node serves a key.

A balancer maps an array of integer keys to an array of node indices in one
vectorized call (``route``), so the per-request loop only reads the answer.
All hashing is stable (see sim/hashing.py): the same key lands on the same
node in every process.
"""

from __future__ import annotations

import numpy as np

from sim.hashing import mix64
from workloads.rng import stable_id


class Modulo:
    """node = hash(key) mod N.  Even, but moving from N to N+1 nodes remaps almost every key."""

    name = "modulo"

    def __init__(self, nodes: int):
        self.nodes = int(nodes)

    def route(self, keys: np.ndarray) -> np.ndarray:
        return (mix64(keys) % np.uint64(self.nodes)).astype(np.int64)


class ConsistentHashRing:
    """Consistent hashing (Karger et al., STOC 1997) with virtual nodes.

    Each node owns `vnodes` points on a 64-bit ring; a key belongs to the first
    point clockwise from its hash.  Adding or removing a node moves only the
    keys of its arcs; with V points per node the share of the key space each
    node owns has a coefficient of variation of about 1/sqrt(V).
    """

    name = "consistent"

    def __init__(self, nodes: int, vnodes: int = 160):
        self.nodes = int(nodes)
        self.vnodes = int(vnodes)
        owners = np.repeat(np.arange(self.nodes, dtype=np.int64), self.vnodes)
        replicas = np.tile(np.arange(self.vnodes, dtype=np.int64), self.nodes)
        points = mix64(owners * self.vnodes + replicas, salt=stable_id("ring"))
        order = np.argsort(points, kind="stable")
        self.points = points[order]
        self.owners = owners[order]

    def route(self, keys: np.ndarray) -> np.ndarray:
        slots = np.searchsorted(self.points, mix64(keys), side="left")
        return self.owners[slots % len(self.points)]

    def shares(self) -> np.ndarray:
        """Fraction of the 64-bit key space each node owns."""
        arcs = np.diff(self.points.astype(np.float64), prepend=self.points[-1].astype(np.float64) - 2.0**64)
        # Point i owns the arc that ends at it.
        return np.bincount(self.owners, weights=arcs, minlength=self.nodes) / 2.0**64


BALANCERS = {"modulo": Modulo, "consistent": ConsistentHashRing}


def make_balancer(name: str, nodes: int, vnodes: int = 160):
    if name == "consistent":
        return ConsistentHashRing(nodes, vnodes)
    if name == "modulo":
        return Modulo(nodes)
    raise ValueError(f"unknown balancer {name!r}; valid: {', '.join(sorted(BALANCERS))}")
