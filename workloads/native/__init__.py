"""The C infrastructure every compiled module shares: .pxd files of inline C, nothing to import.

    hashing.pxd   splitmix64's finaliser (workloads/hashing.py's mix64, in C), and the map's hash
    memory.pxd    a block that grows (the one way to grow, and to fail to), prefetching
    hashmap.pxd   an int64 -> int64 hash map (open addressing, deletion by backward shift)
    heap.pxd      a binary min-heap, and its indexed form (entries that change or leave)

A leaf, as workloads/hashing.py is: it cimports nothing of ours, so the
policies' kernels (policies/_kernels), the dense-id map (workloads/_idmap.pyx)
and the timed model's loop (sim/_compiled) all build on it without a new
dependency between the packages (pyproject.toml's import contracts; the
cimports are checked by tests/test_layers.py).  Everything is
inline: it compiles into each hot loop that uses it, with no call.
"""
