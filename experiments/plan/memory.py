"""From a capacity to memory: objects and bytes per node and in total, and where each number comes from.

The simulator counts a cache's capacity in objects, or in the bytes of the
values it holds.  A real server spends more: every entry carries a header
(pointers, lengths, timestamps) and a slot in a hash table.  So

    memory per node = objects per node x (mean object size + overhead per entry)

with objects per node = the capacity (counted in objects), or capacity /
mean object size (counted in bytes, where the capacity already holds the
values).  The total is that times the node count; with R replicas each
object is held R times, so the distinct objects are the total / R.

Per-entry overheads (`plan.entry_overhead`): "redis" and "memcached" are
kvsim's models of those servers' memory (policies/server_memory.py, checked
byte for byte against Redis 7.0 and memcached 1.6 by `kvsim validate`), for
a key of KEY_BYTES and a value of the workload's mean size: everything the
server counts for an entry beyond its value (the key, the table entry and
object headers, allocator or slab rounding).  "none" counts values only; a
number of bytes uses your own measurement (Redis: MEMORY USAGE; memcached:
`stats slabs`).
"""

from __future__ import annotations

from dataclasses import dataclass

from experiments.config.checks import Invalid
from policies.server_memory import entry_bytes


@dataclass(frozen=True)
class Overhead:
    bytes: int
    source: str


#: the key length the server models assume (as `kvsim validate` sends keys)
KEY_BYTES = 16

#: the kinds `plan.entry_overhead` accepts by name
SERVER_KINDS = ("redis", "memcached", "none")


def entry_overhead(value):
    """A check: a server kind of ENTRY_OVERHEADS, or a whole number of bytes >= 0."""
    if isinstance(value, str) and value in SERVER_KINDS:
        return value
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    kinds = ", ".join(f'"{kind}"' for kind in SERVER_KINDS)
    raise Invalid(f"must be {kinds} or a whole number of bytes >= 0; got {value!r}")


entry_overhead.allowed = ", ".join(f'"{kind}"' for kind in SERVER_KINDS) + " or bytes"


def overhead_of(setting, mean_object_size: float) -> Overhead:
    """The overhead a checked `plan.entry_overhead` stands for, for values of the mean size."""
    if setting == "none":
        return Overhead(0, "values only, no per-entry overhead")
    if isinstance(setting, str):
        value = max(1, round(mean_object_size))
        beyond = entry_bytes(setting, KEY_BYTES, value) - value
        return Overhead(
            beyond,
            f"{setting} as kvsim's server model counts an entry of a {KEY_BYTES}-byte key and a {value}-byte "
            f"value (policies/server_memory.py, checked against the real server by kvsim validate): "
            f"{beyond} B beyond the value",
        )
    return Overhead(int(setting), "plan.entry_overhead, as given")


@dataclass(frozen=True)
class Memory:
    """The memory of `nodes` nodes caching `objects_per_node` entries each."""

    nodes: int
    replicas: int
    objects_per_node: float
    value_bytes_per_node: float
    mean_object_size: float
    overhead: Overhead

    @property
    def bytes_per_node(self) -> float:
        return self.value_bytes_per_node + self.objects_per_node * self.overhead.bytes

    @property
    def total_objects(self) -> float:
        return self.objects_per_node * self.nodes

    @property
    def total_bytes(self) -> float:
        return self.bytes_per_node * self.nodes

    @property
    def distinct_objects(self) -> float:
        return self.total_objects / self.replicas

    def as_dict(self) -> dict:
        return {
            "nodes": self.nodes,
            "objects_per_node": round(self.objects_per_node),
            "bytes_per_node": round(self.bytes_per_node),
            "total_objects": round(self.total_objects),
            "total_bytes": round(self.total_bytes),
            "distinct_objects": round(self.distinct_objects),
            "mean_object_size": round(self.mean_object_size, 1),
            "entry_overhead": self.overhead.bytes,
            "replicas": self.replicas,
            "sources": {"entry_overhead": self.overhead.source},
        }


def memory(
    nodes: int, capacity: int, counts_bytes: bool, mean_object_size: float, overhead: Overhead, replicas: int = 1
) -> Memory:
    """Memory of `nodes` nodes of `capacity` each (objects, or value bytes when `counts_bytes`)."""
    if counts_bytes:
        objects, values = capacity / mean_object_size, float(capacity)
    else:
        objects, values = float(capacity), capacity * mean_object_size
    return Memory(nodes, replicas, objects, values, mean_object_size, overhead)


def format_bytes(amount: float) -> str:
    """1536 -> '1.5 KiB': three significant digits in the largest binary unit that fits."""
    for unit, scale in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if amount >= scale:
            return f"{amount / scale:.3g} {unit}"
    return f"{amount:.0f} B"
