"""A consistent-hash ring's lookup in C: sim/balancer.py's searchsorted, by a table of the hash's top bits.

For each key, the first ring point at or after the key's hash (splitmix64 of
the key, workloads.hashing.mix64 with no salt).  A binary search over the
ring's points costs a chain of dependent cache misses per key; here a table
indexed by the hash's top bits gives the first point of its stretch of the
ring, and the search walks the few points of that stretch.  The same answer as
numpy.searchsorted(points, mix64(keys), side="left"), which stays the
fallback where no compiler built this (tests/sim hold the two equal).
"""

from libc.stdint cimport int64_t, uint64_t

from workloads.native.hashing cimport mix64


def ring_positions(const int64_t[::1] keys, const uint64_t[::1] points, const int64_t[::1] first, int shift,
                   int64_t[::1] out):
    """out[i] = the index of the first point >= mix64(keys[i]) (len(points): past the last).

    `first[b]`: the index of the first point >= b << shift, for b in 0 .. 2**(64 - shift).
    """
    cdef Py_ssize_t i, n = keys.shape[0]
    cdef uint64_t h, b
    cdef int64_t at, end
    with nogil:
        for i in range(n):
            h = mix64(<uint64_t>keys[i])
            b = h >> shift
            at, end = first[b], first[b + 1]
            while at < end and points[at] < h:
                at += 1
            out[i] = at
