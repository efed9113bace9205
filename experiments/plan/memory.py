"""From a capacity to memory: objects and bytes per node and in total, and where each number comes from.

The simulator counts a cache's capacity in objects, or in the bytes of the
values it holds.  A real server spends more: every entry carries a header
(pointers, lengths, timestamps) and a slot in a hash table.  So

    memory per node = objects per node x (mean object size + overhead per entry)

with objects per node = the capacity (counted in objects), or capacity /
mean object size (counted in bytes, where the capacity already holds the
values).  The total is that times the node count; with R replicas each
object is held R times, so the distinct objects are the total / R.

A policy that models a server's own memory (redis-lru, redis-lfu,
redis-random, memcached: `server` on its class) counts all of it when its
capacity is in bytes: the capacity *is* the server's limit (maxmemory, -m),
with Redis's memory of no key (its baseline) inside it, and memcached takes
more where a slab class gets its first page after -m is spent (each class
gets one whatever -m says, as memcached does).  Its memory per node is then
the capacity (plus those pages, at most one per slab class the objects fall
in, but the first), and its overhead per entry is the server's own, whatever
`plan.entry_overhead` says: `ServerModel` holds what the plan needs of it.

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
from policies import policy_class
from policies.server_memory import (
    MEMCACHED_PAGE,
    REDIS_BASELINE_BYTES,
    entry_bytes,
    memcached_chunk_sizes,
    memcached_class,
    memcached_item_bytes,
)


@dataclass(frozen=True)
class Overhead:
    bytes: int
    source: str


#: the key length the server models assume (as `kvsim validate` sends keys)
KEY_BYTES = 16

#: the kinds `plan.entry_overhead` accepts by name
SERVER_KINDS = ("redis", "memcached", "none")


#: a per-entry overhead at most, in bytes (as large as an object may be)
MAX_OVERHEAD = 2**40


def entry_overhead(value):
    """A check: a server kind of ENTRY_OVERHEADS, or a whole number of bytes from 0 to 2**40."""
    if isinstance(value, str) and value in SERVER_KINDS:
        return value
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_OVERHEAD:
        return value
    kinds = ", ".join(f'"{kind}"' for kind in SERVER_KINDS)
    raise Invalid(f"must be {kinds} or a whole number of bytes from 0 to 2**40; got {value!r}")


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
class ServerModel:
    """What a policy modelling a server's memory adds to its entries: inside its limit, and beyond it."""

    kind: str  # "redis" or "memcached"
    inside: int  # bytes the server counts before any entry, within its limit (Redis's baseline)
    beyond: int  # bytes it may take beyond its limit (memcached: first pages of slab classes)
    source: str  # where `inside` and `beyond` come from, for plan.json
    label: str  # what they are, in a few words, for the report


@dataclass(frozen=True)
class Memory:
    """The memory of `nodes` nodes caching `objects_per_node` entries each (and a server's own, `fixed_bytes`)."""

    nodes: int
    replicas: int
    objects_per_node: float
    value_bytes_per_node: float
    mean_object_size: float
    overhead: Overhead
    fixed_bytes: int = 0  # per node, besides the entries: a server's baseline, pages beyond its limit
    fixed_source: str = ""
    fixed_label: str = ""

    @property
    def bytes_per_node(self) -> float:
        return self.fixed_bytes + self.value_bytes_per_node + self.objects_per_node * self.overhead.bytes

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
            "fixed_bytes_per_node": self.fixed_bytes,
            "sources": {"entry_overhead": self.overhead.source, "fixed_bytes": self.fixed_source or "none"},
        }


def memory(
    nodes: int,
    capacity: int,
    counts_bytes: bool,
    mean_object_size: float,
    overhead: Overhead,
    replicas: int = 1,
    server: ServerModel | None = None,
) -> Memory:
    """Memory of `nodes` nodes of `capacity` each (objects, or value bytes when `counts_bytes`; with a
    `server` model and bytes, the server's own memory limit, its entries' overhead counted within it)."""
    if counts_bytes and server is not None:
        objects = max(capacity - server.inside, 0) / (mean_object_size + overhead.bytes)
        fixed = server.inside + server.beyond
        values = objects * mean_object_size
        return Memory(nodes, replicas, objects, values, mean_object_size, overhead, fixed, server.source, server.label)
    if counts_bytes:
        objects, values = capacity / mean_object_size, float(capacity)
    else:
        objects, values = float(capacity), capacity * mean_object_size
    return Memory(nodes, replicas, objects, values, mean_object_size, overhead)


def format_bytes(amount: float) -> str:
    """1536 -> '1.5 KiB': three significant digits in the largest binary unit that fits."""
    for unit, scale in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if amount >= scale:
            value = amount / scale
            return f"{value:.0f} {unit}" if value >= 100 else f"{value:.3g} {unit}"  # 1014 KiB, not 1.01e+03
    return f"{amount:.0f} B"


def server_model(policy: str, params: dict, sizes) -> ServerModel | None:
    """The server a policy models the memory of, with what it adds (None for a policy that counts values only).

    `sizes`: the distinct object sizes of the requests (estimate.Sample), for
    the slab classes memcached's items fall in.
    """
    kind = getattr(policy_class(policy), "server", None)
    if kind == "redis":
        baseline = int(params.get("baseline", REDIS_BASELINE_BYTES))
        return ServerModel(
            kind, baseline, 0, "Redis's memory with no key (its baseline), within maxmemory", "of Redis's own"
        )
    if kind == "memcached":
        chunks = memcached_chunk_sizes(params.get("growth_factor", 1.25), params.get("min_chunk", 48))
        key_bytes, cas = int(params.get("key_bytes", KEY_BYTES)), bool(params.get("cas", True))
        classes = {memcached_class(memcached_item_bytes(key_bytes, int(size), cas), chunks) for size in sizes}
        beyond = max(len(classes) - 1, 0) * MEMCACHED_PAGE
        return ServerModel(
            kind,
            0,
            beyond,
            f"at most a first 1 MiB page beyond -m for each of the {len(classes)} slab classes the objects fall "
            "in but one (memcached gives each class one whatever -m says)",
            "at most of slab pages beyond -m",
        )
    return None
