"""The largest values the compiled engine holds, in one place both engines and the config checks read.

The kernels (policies/_kernels) and the timed model's loop in C
(sim/_compiled) keep capacities, sizes, used bytes and counters in signed
64-bit integers.  Python's integers do not overflow, C's wrap silently; so
every value that reaches C is bounded here, and a value beyond a bound is
refused up front (a PolicyError from the policy, a one-line config or CLI
error naming the limit) instead of reaching C.  The bounds are chosen so
that no sum the kernels form can pass 2**63 - 1:

* a capacity is at most ``MAX_CAPACITY`` = 2**62 (4 EiB); an object larger
  than the capacity is never cached, so the used units (at most the
  capacity) plus the size of an object being admitted (at most the capacity)
  stay below 2**63;
* an object size is at most ``MAX_OBJECT_SIZE`` = 2**62 for the same reason;
* per-key counters (LFU's, CLOCK's, LFU-DA's keys) grow by at most one per
  request, and no run has 2**62 requests.

A policy's own parameters that a kernel stores in a fixed-width field get
their own bounds in the policy's validation (``check_int`` below says them
all alike).
"""

from __future__ import annotations

#: int64's largest value: C's counters and sizes wrap past it
INT64_MAX = 2**63 - 1
#: the largest capacity (objects or bytes) a policy accepts: 2**62 (4 EiB)
MAX_CAPACITY = 2**62
#: the largest object size (bytes) a policy, a workload or a trace may give: 2**62
MAX_OBJECT_SIZE = 2**62


def check_int(name: str, value, low: int, high: int) -> int:
    """`value` as an int if it is an integer in [low, high]; else ValueError naming `name` and the range."""
    whole = isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    if isinstance(value, bool) or not whole or not low <= value <= high:
        raise ValueError(f"{name} must be an integer in [{low}, {high}], got {value!r}")
    return int(value)
