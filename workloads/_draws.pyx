"""The request stream's hot draws in C: the same numbers as numpy's passes, in one or two loops each.

Each function here is the loop of a numpy expression of workloads/ or
sim/draws.py (named in its docstring).  Those that draw take their random
numbers from the same numpy Generator, in the same order, by the same C
functions numpy's own methods call (numpy/random/c_distributions.pxd); all
compute each value by the same floating-point operations in the same order,
so the arrays are the same to the bit (tests/workloads/test_compiled_draws.py
holds each equal to its numpy form).  What they save is numpy's temporaries:
a pass over memory and often a fresh array per operation.  Transcendental
functions (exp, log1p, cos) are left to numpy's own ufuncs between these
loops, as numpy's need not be the C library's (a SIMD exp on some
machines): these loops do the arithmetic around them.  The numpy forms stay
the reference, and the fallback where this is not built.  The sizes' loops
are in workloads/_sizes.pyx, which loads scipy.

Where a loop's decision is a coin toss (a candidate kept or not, a request
of one class or another), it is made without a branch, which the CPU would
mispredict half the time.
"""

import numpy as np

from cpython.pycapsule cimport PyCapsule_GetPointer
from libc.math cimport floor
from libc.stdint cimport int64_t, uint8_t, uint64_t
from numpy.random cimport bitgen_t
from numpy.random.c_distributions cimport random_standard_exponential, random_standard_uniform

# workloads/stream.py's: a key's class is its id's bits from this one up
cdef enum:
    CLASS_SHIFT = 40

# thin's heights drawn before any is tested (2 KiB on the stack)
cdef enum:
    HEIGHTS_AT_ONCE = 256


cdef bitgen_t* bitgen_of(object generator) except NULL:
    """The C bit generator behind a numpy Generator (its state advances as the Generator's would)."""
    return <bitgen_t*>PyCapsule_GetPointer(generator.bit_generator.capsule, "BitGenerator")


def exponential_times(object generator, double clock, double scale, double[::1] out):
    """out[:] = clock + np.cumsum(generator.exponential(scale, len(out))).

    numpy's exponential(scale) is scale times a standard exponential; cumsum
    adds in order from the first; clock is added to each sum after.
    """
    cdef bitgen_t* bitgen = bitgen_of(generator)
    cdef Py_ssize_t i, n = out.shape[0]
    cdef double total = 0.0, gap
    with generator.bit_generator.lock, nogil:
        for i in range(n):
            gap = scale * random_standard_exponential(bitgen)
            total = gap if i == 0 else total + gap
            out[i] = clock + total


def thin(
    object generator,
    const double[::1] candidates,
    double peak_rate,
    double low,
    double high,
    double[::1] kept,
    int64_t[::1] open_at,
    double[::1] open_heights,
):
    """Lewis-Shedler thinning's test, without the rate where its range decides it: workloads.arrivals.

    The numpy form: heights = generator.random(n) * peak_rate, a candidate
    kept where its height is below the rate at its time.  A height below
    `low` (the least rate over the candidates) is kept, one at or above
    `high` is not; the rest are kept here for now, and their places in
    `kept` and their heights are written to `open_at` and `open_heights`
    for the caller to test against the rate (numpy's cos) and drop with
    `drop`.  Returns (candidates kept, heights left open).
    """
    cdef bitgen_t* bitgen = bitgen_of(generator)
    cdef Py_ssize_t i = 0, j, block, n = candidates.shape[0], count = 0, opened = 0
    cdef double height
    cdef double heights[HEIGHTS_AT_ONCE]
    with generator.bit_generator.lock, nogil:
        while i < n:
            # The heights of a block drawn first: a draw after a write to a place that depends on
            # the last draw (the next kept one's) waited for it, and the draws' chain with it.
            block = min(<Py_ssize_t>HEIGHTS_AT_ONCE, n - i)
            for j in range(block):
                heights[j] = random_standard_uniform(bitgen) * peak_rate
            # Without a branch: a height's side of `low` is a coin toss the CPU would mispredict
            # half the time.  Every candidate is written at the end of those kept, and counted if
            # kept; every height is written at the end of those open, and counted if open.
            for j in range(block):
                height = heights[j]
                kept[count] = candidates[i + j]
                open_at[opened] = count
                open_heights[opened] = height
                opened += (low <= height) & (height < high)
                count += height < high
            i += block
    return count, opened


def drop(double[::1] values, Py_ssize_t count, const int64_t[::1] positions):
    """Remove values[positions] (ascending) from values[:count], in place; returns the count left."""
    cdef Py_ssize_t i, j = 0, write = 0, dropped = positions.shape[0]
    for i in range(count):
        if j < dropped and positions[j] == i:
            j += 1
            continue
        values[write] = values[i]
        write += 1
    return write


def zipf_points(const double[::1] uniforms, double low, double high, double one_minus, double least, double[::1] out):
    """Zipf._try's points y = uniforms * (low - high) + high, as popularity._integral_inverse takes them.

    out = max(one_minus y, least) (for numpy's log1p, then divided by
    one_minus, then numpy's exp), or y itself where one_minus is 0 (exp alone).
    """
    cdef Py_ssize_t i, n = uniforms.shape[0]
    cdef double y, scaled, width = low - high
    with nogil:
        for i in range(n):
            y = uniforms[i] * width
            y = y + high
            if one_minus == 0.0:
                out[i] = y
            else:
                scaled = one_minus * y
                out[i] = scaled if scaled >= least else least  # numpy's maximum (no NaN here)


def zipf_ranks(const double[::1] x, double keys, double squeeze, double[::1] ranks, uint8_t[::1] accepted, int64_t[::1] unsure):
    """Zipf._try's nearest ranks k = clip(floor(x + 1/2), 1, keys), accepted where k - x <= squeeze.

    The indices not accepted go to `unsure`, in order (for the bar edge's
    test, in numpy); returns how many.
    """
    cdef Py_ssize_t i, n = x.shape[0], count = 0
    cdef double k
    cdef bint sure
    with nogil:
        for i in range(n):
            k = floor(x[i] + 0.5)
            k = min(max(k, 1.0), keys)
            sure = k - x[i] <= squeeze
            ranks[i] = k
            accepted[i] = sure
            unsure[count] = i
            count += not sure
    return count


def set_by_class(const int64_t[::1] keys, const uint8_t[::1] has, const uint64_t[::1] values, uint64_t[::1] out):
    """out[i] = values[c] where key i's class c = keys[i] >> CLASS_SHIFT has a value (has[c]), in one pass.

    The numpy form, per class c with a value: out[np.flatnonzero(key_class(keys) == c)] = values[c].
    Classes outside [0, len(has)) have none.  `values` and `out` are float64 arrays seen as their bits
    (.view(np.uint64)): each entry is kept or replaced whole.
    """
    cdef Py_ssize_t i, n = keys.shape[0], classes = has.shape[0]
    cdef int64_t owner
    cdef uint64_t replace
    with nogil:
        for i in range(n):
            owner = keys[i] >> CLASS_SHIFT
            if 0 <= owner < classes:  # (always, in a synthetic stream: no guess to miss)
                # Bits chosen by a mask, not by a branch: in a mix of classes with and without
                # values the CPU would guess wrong as often as the classes alternate (6 ns a key).
                replace = -<uint64_t>has[owner]
                out[i] = (values[owner] & replace) | (out[i] & ~replace)


def split_by_class(const double[::1] uniforms, const double[::1] bounds, int64_t[::1] owner, int64_t[::1] order):
    """Each request's class, and the requests of each class: Workload.batches' class split.

    owner[i] = how many of `bounds` (the cumulative shares before the last)
    are at most uniforms[i], as numpy's `owner += uniforms >= bound` counts
    them; `order` then holds the requests of class 0 in increasing order,
    then class 1's, and so on (each class's np.flatnonzero(owner == c)), and
    needs a spare entry at the end.  Returns where each class's run starts
    in `order`, and the end.  A pass per class, as numpy's flatnonzero makes:
    without a branch, each request is written at the class's next place and
    kept there only if it is of the class.
    """
    cdef Py_ssize_t i, b, n = uniforms.shape[0], classes = bounds.shape[0] + 1, filled = 0
    cdef int64_t c
    cdef bint mine0, mine1, mine2, mine3
    if order.shape[0] <= n:
        raise ValueError("split_by_class needs an order of one more entry than requests")
    starts = np.zeros(classes + 1, dtype=np.int64)
    cdef int64_t[::1] start = starts
    with nogil:
        for i in range(n):
            c = 0
            for b in range(classes - 1):
                c += uniforms[i] >= bounds[b]
            owner[i] = c
        for c in range(classes):
            start[c] = filled
            # Four requests' classes read before their four writes: a read after a write to a place
            # not yet known waits for it on some CPUs (7 cycles a request, against 2).
            for i in range(0, n - n % 4, 4):
                mine0, mine1, mine2, mine3 = owner[i] == c, owner[i + 1] == c, owner[i + 2] == c, owner[i + 3] == c
                order[filled] = i
                filled += mine0
                order[filled] = i + 1
                filled += mine1
                order[filled] = i + 2
                filled += mine2
                order[filled] = i + 3
                filled += mine3
            for i in range(n - n % 4, n):
                order[filled] = i
                filled += owner[i] == c
        start[classes] = filled
    return starts
