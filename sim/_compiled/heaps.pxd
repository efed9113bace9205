# Binary min-heaps in C: server-free times (a FCFS queue), answer times (a node's live load),
# and the calendar's entries (sim/calendar.py's heap, with the same order).  Inline, for the
# request loop.

from libc.math cimport INFINITY
from libc.stdint cimport int32_t, int64_t
from cpython.mem cimport PyMem_Free, PyMem_Realloc


# -- times: a heap of doubles -------------------------------------------------------------

cdef struct Times:
    double* at     # at[0] is the smallest
    Py_ssize_t size
    Py_ssize_t room


cdef inline int times_init(Times* h, Py_ssize_t size, double value) except -1:
    """A heap of `size` copies of `value` (FCFS servers: `size` servers free at 0)."""
    h.room = max(size, 16)
    h.at = <double*>PyMem_Realloc(NULL, h.room * sizeof(double))
    if h.at == NULL:
        raise MemoryError()
    h.size = size
    cdef Py_ssize_t i
    for i in range(size):
        h.at[i] = value
    return 0


cdef inline void times_free(Times* h) noexcept:
    PyMem_Free(h.at)
    h.at = NULL


cdef inline void times_sift_down(Times* h, Py_ssize_t i) noexcept:
    cdef double x = h.at[i]
    cdef Py_ssize_t child
    while True:
        child = 2 * i + 1
        if child >= h.size:
            break
        if child + 1 < h.size and h.at[child + 1] < h.at[child]:
            child += 1
        if h.at[child] >= x:
            break
        h.at[i] = h.at[child]
        i = child
    h.at[i] = x


cdef inline int times_push(Times* h, double x) except -1:
    cdef Py_ssize_t i, parent
    if h.size == h.room:
        h.room *= 2
        h.at = <double*>PyMem_Realloc(h.at, h.room * sizeof(double))
        if h.at == NULL:
            raise MemoryError()
    i = h.size
    h.size += 1
    while i > 0:
        parent = (i - 1) >> 1
        if h.at[parent] <= x:
            break
        h.at[i] = h.at[parent]
        i = parent
    h.at[i] = x
    return 0


cdef inline void times_pop(Times* h) noexcept:
    """Drop the smallest (the heap is not empty)."""
    h.size -= 1
    if h.size:
        h.at[0] = h.at[h.size]
        times_sift_down(h, 0)


cdef inline double fcfs_submit(Times* servers, double arrival, double service) noexcept:
    """sim/backend.py's FCFSServers.submit: the completion of a request queued at `arrival`."""
    cdef double start = servers.at[0]
    if start < arrival:
        start = arrival
    servers.at[0] = start + service  # heapreplace: the earliest-free server takes it
    times_sift_down(servers, 0)
    return start + service


# -- the calendar: entries in (time, order) -----------------------------------------------

cdef enum Kind:
    FILL            # a fetch's answer is stored on its targets
    REACH_BACKEND   # a miss that queued at its node reaches the backend
    LAND_WRITE      # a write lands at the backend
    EXPIRE          # active expiry of (node, key)


cdef struct Entry:
    double time
    int64_t order  # ties go in scheduling order
    int64_t key    # EXPIRE's key
    int32_t kind
    int32_t node   # EXPIRE's node
    int32_t job    # the fetch or write of FILL, REACH_BACKEND, LAND_WRITE


cdef struct Entries:
    Entry* at
    Py_ssize_t size
    Py_ssize_t room


cdef inline bint earlier(const Entry* a, const Entry* b) noexcept:
    return a.time < b.time or (a.time == b.time and a.order < b.order)


cdef inline int entries_push(Entries* h, Entry e) except -1:
    cdef Py_ssize_t i, parent
    if h.size == h.room:
        h.room = max(2 * h.room, 64)
        h.at = <Entry*>PyMem_Realloc(h.at, h.room * sizeof(Entry))
        if h.at == NULL:
            raise MemoryError()
    i = h.size
    h.size += 1
    while i > 0:
        parent = (i - 1) >> 1
        if not earlier(&e, &h.at[parent]):
            break
        h.at[i] = h.at[parent]
        i = parent
    h.at[i] = e
    return 0


cdef inline Entry entries_pop(Entries* h) noexcept:
    """Take the earliest entry (the heap is not empty)."""
    cdef Entry top = h.at[0], last
    cdef Py_ssize_t i = 0, child
    h.size -= 1
    if h.size:
        last = h.at[h.size]
        while True:
            child = 2 * i + 1
            if child >= h.size:
                break
            if child + 1 < h.size and earlier(&h.at[child + 1], &h.at[child]):
                child += 1
            if not earlier(&h.at[child], &last):
                break
            h.at[i] = h.at[child]
            i = child
        h.at[i] = last
    return top


cdef inline double entries_next(const Entries* h) noexcept:
    return h.at[0].time if h.size else INFINITY
