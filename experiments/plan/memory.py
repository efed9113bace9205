"""From a capacity to memory: objects and bytes per node and in total, and where each number comes from.

The simulator counts a cache's capacity in objects, or in the bytes of the
values it holds.  A real server spends more: every entry carries a header
(pointers, lengths, timestamps) and a slot in a hash table.  So

    memory per node = objects per node x (mean object size + overhead per entry)

with objects per node = the capacity (counted in objects), or capacity /
mean object size (counted in bytes, where the capacity already holds the
values).  The total is that times the node count; with R replicas each
object is held R times, so the distinct objects are the total / R.

Per-entry overheads (`plan.entry_overhead`), for 64-bit builds, from the
servers' data structures.  They leave out the key's own bytes, allocator
rounding, and anything but the entry itself; give a number of bytes to use
your own measurement (Redis: MEMORY USAGE; memcached: `stats slabs`).
"""

from __future__ import annotations

from dataclasses import dataclass

from experiments.config import Invalid


@dataclass(frozen=True)
class Overhead:
    bytes: int
    source: str


#: server kind -> bytes of memory per cached entry beyond the value, and why
ENTRY_OVERHEADS = {
    "redis": Overhead(
        58,
        "Redis 7 string value: 24 B dictEntry (key, value and next pointers) + 8 B hash-table bucket "
        "+ 16 B value object (robj) + 4 B key sds header and terminator (sdshdr8) + 6 B value sds header "
        "and terminator (sdshdr16, values of 256 B to 64 KiB); not counted: the key's bytes, "
        "32 B more per key with a TTL (its entry in the expires table), jemalloc size classes",
    ),
    "memcached": Overhead(
        67,
        "memcached 1.6: 48 B item header (3 pointers, 2 timestamps, length, refcount, flags, slab class, "
        "key length) + 8 B CAS + 8 B hash-table bucket + 2 B CRLF after the value + 1 B key terminator; "
        "not counted: the key's bytes, slab-class rounding (up to 25% with the default growth factor 1.25)",
    ),
    "none": Overhead(0, "values only, no per-entry overhead"),
}


def entry_overhead(value):
    """A check: a server kind of ENTRY_OVERHEADS, or a whole number of bytes >= 0."""
    if isinstance(value, str) and value in ENTRY_OVERHEADS:
        return value
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    kinds = ", ".join(f'"{kind}"' for kind in ENTRY_OVERHEADS)
    raise Invalid(f"must be {kinds} or a whole number of bytes >= 0; got {value!r}")


entry_overhead.allowed = ", ".join(f'"{kind}"' for kind in ENTRY_OVERHEADS) + " or bytes"


def overhead_of(setting) -> Overhead:
    """The overhead a checked `plan.entry_overhead` stands for."""
    if isinstance(setting, str):
        return ENTRY_OVERHEADS[setting]
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
