"""The largest capacity a cache may have: one home for a limit that the config checks and the kernels share.

A policy counts its capacity, its used room and its objects' sizes in
integers: unbounded in the Python policies, 64-bit in the compiled kernels
(policies/_kernels).  So that both engines hold every accepted capacity
exactly, and give the same answer for it, the capacity is bounded here, far
inside int64, and everything that accepts a capacity (a policy, a config's
cluster.capacity, the capacities of `kvsim replay`, `mrc` and `plan`) reads
this bound and refuses what lies beyond it in one line that names it.

With objects of at most workloads.stream.MAX_OBJECT_BYTES (2**40 bytes), a
cache's used room plus the object being inserted stays below 2**51, and a
kernel may multiply a capacity by up to 2**12 (W-TinyLFU's halving period is
32 x its main capacity) and still stay inside int64: the kernels' arithmetic
is sized for these two limits.
"""

from __future__ import annotations

from typing import Any

#: the largest capacity of a cache, in objects or in bytes (1 PiB): far beyond any node's memory,
#: and small enough that sums and small multiples of it cannot overflow a 64-bit integer
MAX_CAPACITY = 2**50

#: MAX_CAPACITY as the messages write it
MAX_CAPACITY_TEXT = "2**50 (1 PiB, or as many objects)"


def capacity_error(capacity: Any) -> str | None:
    """Why `capacity` is not a capacity a policy accepts (a positive integer up to MAX_CAPACITY), or None."""
    if isinstance(capacity, bool) or not isinstance(capacity, int) and not _whole_number(capacity):
        return f"capacity must be a positive integer, got {capacity!r}"
    if capacity < 1:
        return f"capacity must be a positive integer, got {capacity!r}"
    if capacity > MAX_CAPACITY:
        return f"capacity must be at most {MAX_CAPACITY_TEXT}; got {capacity!r}"
    return None


def _whole_number(value: Any) -> bool:
    try:
        return int(value) == value
    except (TypeError, ValueError, OverflowError):
        return False


# -- the kernels' other fixed-width fields ---------------------------------------------------
#
# Capacities are bounded above; the rest a kernel keeps in 64 bits is bounded here or in the
# policy that owns it.  Per-key counters (LFU's, CLOCK's, LFU-DA's paper keys) grow by at most
# one per request, and no run has 2**62 requests.  A policy parameter that a kernel stores in
# a fixed-width field, or that multiplies work or memory, gets a range in the policy's own
# validation, said alike by check_int; policies/README.md lists them.

#: the largest seed of a policy's own generator (Redis's is a 64-bit word; the rest take the same range)
MAX_SEED = 2**64 - 1

#: the smallest probability a policy reads as libCacheSim's int(1 / p) (LRU-Prob, FlashProb): that int
#: stays within a 32-bit int, as libCacheSim keeps it
MIN_ONE_IN_N_PROBABILITY = 2**-30

#: int64's largest value: C's sums and counters wrap past it
INT64_MAX = 2**63 - 1


def check_int(name: str, value: Any, low: int, high: int) -> int:
    """`value` as an int if it is an integer in [low, high]; else ValueError naming `name` and the range."""
    whole = isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    if isinstance(value, bool) or not whole or not low <= value <= high:
        raise ValueError(f"{name} must be an integer in [{low}, {high}], got {value!r}")
    return int(value)
