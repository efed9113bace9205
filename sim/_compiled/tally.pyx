"""A walked batch counted in one pass: sim/metrics.py's Recorder._count and TimeSeries.add, in C.

The reference (numpy, in Recorder._count) counts a batch of 65,536
requests in some fifty passes over it, each cheap, together a tenth of the
compiled loop's own time on a long run.  Here one pass counts the same
things, and a second, shorter one sums what must be summed as numpy sums
it, so that every count and every float is the reference's to the bit:

* a sum of a whole array (np.sum) is numpy's pairwise summation from 0
  (`pairwise_sum`: blocks of 128 summed in eight lanes, halves added);
* a sum per interval (np.add.reduceat) is an interval's first value plus
  the pairwise sum of the rest;
* a sum per node (np.bincount's weights) adds in arrival order from 0.

tests/sim/test_tally.py holds the two equal on random batches, edge cases
included (unknown and zero latencies, timeouts, writes, requests no node
served, several intervals in a batch), and the compiled loop's whole runs
equal the Python loop's, whose recorder is the reference.
"""

from libc.math cimport floor, frexp, isnan, INFINITY
from libc.stdint cimport int64_t, uint8_t
from libc.string cimport memcpy, memset

import numpy

include "vocabulary.pxi"

cdef enum:
    PAIRWISE_BLOCK = 128  # numpy's PW_BLOCKSIZE: below it, eight running sums
    SUB_BUCKETS = 512     # sim/histogram.py's: buckets per power of two
    FRACTION_SHIFT = 43   # 52 bits of fraction less the 9 of a bucket within its binade

cdef double SMALLEST_NORMAL = 2.2250738585072014e-308  # 2**-1022


cdef double pairwise_sum(const double* a, Py_ssize_t n) noexcept nogil:
    """numpy's pairwise sum of a[0 .. n) (its DOUBLE_pairwise_sum), to the bit."""
    cdef double res, r0, r1, r2, r3, r4, r5, r6, r7
    cdef Py_ssize_t i, half
    if n < 8:
        res = -0.0  # (numpy starts from -0.0, so that a sum of -0.0 stays -0.0)
        for i in range(n):
            res += a[i]
        return res
    if n <= PAIRWISE_BLOCK:
        r0, r1, r2, r3, r4, r5, r6, r7 = a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7]
        i = 8
        while i < n - n % 8:
            r0 += a[i]
            r1 += a[i + 1]
            r2 += a[i + 2]
            r3 += a[i + 3]
            r4 += a[i + 4]
            r5 += a[i + 5]
            r6 += a[i + 6]
            r7 += a[i + 7]
            i += 8
        res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
        while i < n:
            res += a[i]
            i += 1
        return res
    half = n // 2
    half -= half % 8
    return pairwise_sum(a, half) + pairwise_sum(a + half, n - half)


def numpy_sum(const double[::1] values):
    """np.sum(values) as `pairwise_sum` computes it (for the tests)."""
    return 0.0 + pairwise_sum(&values[0], values.shape[0]) if values.shape[0] else 0.0


cdef inline int64_t bucket_index(double value) noexcept nogil:
    """sim/histogram.py's bucket index of a value > 0: the float's bits, or frexp below the normal floats."""
    cdef int exponent
    cdef double fraction
    cdef int64_t bits
    if value < SMALLEST_NORMAL:
        fraction = frexp(value, &exponent)
        return <int64_t>exponent * SUB_BUCKETS + <int64_t>(fraction * (2 * SUB_BUCKETS)) - SUB_BUCKETS
    memcpy(&bits, &value, sizeof(bits))  # (the float's bits as an integer, without breaking aliasing rules)
    return (bits >> FRACTION_SHIFT) - 1022 * SUB_BUCKETS


def smallest_gap(const double[::1] times, double previous):
    """The smallest positive gap between consecutive times, `previous` before the first (inf if none)."""
    cdef Py_ssize_t i
    cdef double gap, smallest = INFINITY
    for i in range(times.shape[0]):
        gap = times[i] - previous
        if gap > 0 and gap < smallest:
            smallest = gap
        previous = times[i]
    return smallest


cdef struct Counts:
    # what a run of requests' flags say, counted from a histogram of the flags (`flag_counts`)
    int64_t requests, reads, hits, backend, coalesced, expired, warm_hits, near_hits, near_stale, stale


cdef Counts flag_counts(const int64_t* by_flag, bint near) noexcept:
    """The counts of requests by what their flags say, from by_flag[f] = the number of requests flagged f."""
    cdef Counts c
    cdef int f
    cdef int64_t count
    cdef bint is_near
    memset(&c, 0, sizeof(c))
    for f in range(256):
        count = by_flag[f]
        if not count:
            continue
        is_near = near and (f & NEAR_FLAG) != 0  # (without near caches a NEAR flag is not one)
        c.requests += count
        c.reads += count if (f & WRITE_FLAG) == 0 else 0
        c.hits += count if f & HIT_FLAG else 0
        c.backend += count if f & BACKEND_FLAG else 0
        c.coalesced += count if f & COALESCED_FLAG else 0
        c.expired += count if f & EXPIRED_FLAG else 0
        c.warm_hits += count if f & WARM_FLAG else 0
        c.near_hits += count if is_near else 0
        c.near_stale += count if is_near and f & STALE_FLAG else 0
        c.stale += count if f & STALE_FLAG and not is_near else 0
    return c


def tally(const double[::1] times, const int64_t[::1] nodes, const uint8_t[::1] flags, const double[::1] latency,
          const int64_t[::1] sizes, const double[::1] backend_busy, const double[::1] node_busy,
          const uint8_t[::1] cold, bint near, int64_t gutter_from, double timeout, double width,
          int64_t[::1] node_requests, int64_t[::1] node_hits, double[::1] node_seconds,
          double[::1] known, int64_t[::1] buckets):
    """Count a batch of measured requests as Recorder._count does (its arguments; node_busy and cold empty
    when there are none; near: whether there are near caches, whose hits are counted apart; gutter_from: the
    first gutter node, or -1 without a gutter pool).

    Adds to node_requests, node_hits and node_seconds (each node's busy seconds) in place; uses `known`
    (doubles) and `buckets` (int64), each as long as the batch, as scratch.  Returns (counts, intervals):
    counts = (coalesced, expired, near_hits, near_stale, stale, bytes, hit_bytes, awaited, timeouts,
    read_seconds, warm_hits, gutter_hits, cold_misses); one interval per run of arrivals in the same
    interval of `width` seconds, (index, (requests, reads, hits, backend, backend_busy, cold_misses,
    gutter_hits, near_hits), (first, end, lowest and highest bucket index, zeros)), the interval's read
    latencies' bucket indices being buckets[first:end].  Raises ValueError on a negative
    read latency, as LatencyHistogram.add does.
    """
    cdef Py_ssize_t n = times.shape[0], i, start = 0, nodes_count = node_requests.shape[0]
    cdef Py_ssize_t n_known = 0, n_buckets = 0, first_bucket = 0
    cdef bint busy = node_busy.shape[0] > 0, colds = cold.shape[0] > 0, gutters = gutter_from >= 0
    cdef bint is_read, is_hit
    cdef uint8_t flag
    cdef int64_t node, index, key = 0, bucket, low = 0, high = 0
    cdef int64_t total_bytes = 0, hit_bytes = 0, awaited = 0, timeouts = 0, gutter_hits = 0, cold_misses = 0
    cdef int64_t interval_cold = 0, interval_gutter = 0, zeros = 0
    cdef int64_t by_flag[256]
    cdef Counts c, total
    cdef double value
    cdef list intervals = []
    cdef double[::1] per_node = numpy.zeros(nodes_count if busy else 0)
    memset(&total, 0, sizeof(total))
    memset(by_flag, 0, sizeof(by_flag))
    for i in range(n):
        index = <int64_t>floor(times[i] / width)
        if index != key and i > 0:  # the interval ends: its counts
            c = flag_counts(by_flag, near)
            add_counts(&total, &c)
            cold_misses += interval_cold
            gutter_hits += interval_gutter
            intervals.append((key, (c.requests, c.reads, c.hits, c.backend, interval_sum(backend_busy, start, i),
                                    interval_cold, interval_gutter, c.near_hits),
                              (first_bucket, n_buckets, low, high, zeros)))
            memset(by_flag, 0, sizeof(by_flag))
            start, first_bucket = i, n_buckets
            interval_cold = interval_gutter = zeros = 0
        key = index
        flag = flags[i]
        by_flag[flag] += 1
        node = nodes[i]
        is_read = (flag & WRITE_FLAG) == 0
        is_hit = (flag & HIT_FLAG) != 0
        total_bytes += sizes[i] * is_read
        hit_bytes += sizes[i] * is_hit
        if gutters and is_hit and node >= gutter_from:
            interval_gutter += 1
        if is_read and node >= 0:  # served by a node
            node_requests[node] += 1
            node_hits[node] += is_hit
            if busy:
                per_node[node] += node_busy[i]
            if colds and not is_hit and cold[i]:
                interval_cold += 1
        value = latency[i]
        if isnan(value):
            awaited += 1
            continue
        if timeout > 0 and value > timeout:
            timeouts += 1
            value = timeout
        if not is_read:
            continue
        known[n_known] = value
        n_known += 1
        if value <= 0:
            if value < 0:
                raise ValueError("a latency must be a number >= 0")
            zeros += 1
            continue
        bucket = bucket_index(value)
        if n_buckets == first_bucket:
            low = high = bucket
        elif bucket < low:
            low = bucket
        elif bucket > high:
            high = bucket
        buckets[n_buckets] = bucket
        n_buckets += 1
    if n:
        c = flag_counts(by_flag, near)
        add_counts(&total, &c)
        cold_misses += interval_cold
        gutter_hits += interval_gutter
        intervals.append((key, (c.requests, c.reads, c.hits, c.backend, interval_sum(backend_busy, start, n),
                                interval_cold, interval_gutter, c.near_hits),
                          (first_bucket, n_buckets, low, high, zeros)))
    for node in range(nodes_count if busy else 0):
        node_seconds[node] += per_node[node]
    read_seconds = 0.0 + pairwise_sum(&known[0], n_known) if n_known else 0.0
    counts = (total.coalesced, total.expired, total.near_hits, total.near_stale, total.stale, total_bytes,
              hit_bytes, awaited, timeouts, read_seconds, total.warm_hits, gutter_hits, cold_misses)
    return counts, intervals


cdef inline void add_counts(Counts* into, const Counts* c) noexcept:
    into.coalesced += c.coalesced
    into.expired += c.expired
    into.warm_hits += c.warm_hits
    into.near_hits += c.near_hits
    into.near_stale += c.near_stale
    into.stale += c.stale


def count_buckets(int64_t[::1] counts, int64_t first, const int64_t[::1] buckets, Py_ssize_t start,
                  Py_ssize_t end):
    """Count the values whose bucket indices are buckets[start:end] in a histogram's `counts`, which begin at
    bucket `first` and cover them all (LatencyHistogram.cover)."""
    cdef Py_ssize_t i
    for i in range(start, end):
        counts[buckets[i] - first] += 1


cdef double interval_sum(const double[::1] values, Py_ssize_t start, Py_ssize_t end) noexcept:
    """np.add.reduceat's sum of values[start:end] (end > start): the first value, plus the rest's pairwise sum."""
    return values[start] + pairwise_sum(&values[0] + start + 1, end - start - 1)
