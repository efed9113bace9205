# Binary min-heaps in C: server-free times (a FCFS queue), answer times (a node's live load),
# and the calendar's entries (sim/calendar.py's heap, with the same order).  One sift up and
# one sift down serve both kinds of item (a fused type); inline, for the request loop.

from libc.math cimport INFINITY
from libc.stdint cimport int32_t, int64_t
from cpython.mem cimport PyMem_Free, PyMem_Realloc


# -- the calendar's entries, in (time, order) ------------------------------------------------

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


# -- the sifts, for either kind of item -----------------------------------------------------------

ctypedef fused Item:
    double
    Entry


cdef inline bint before(const Item* a, const Item* b) noexcept:
    """The heaps' order: a time, or a calendar entry's (time, order)."""
    if Item is double:
        return a[0] < b[0]
    else:
        return a.time < b.time or (a.time == b.time and a.order < b.order)


cdef inline void sift_up(Item* at, Py_ssize_t i, Item x) noexcept:
    """Put `x` at position i (a new last one) or above it, moving larger parents down."""
    cdef Py_ssize_t parent
    while i > 0:
        parent = (i - 1) >> 1
        if not before(&x, &at[parent]):
            break
        at[i] = at[parent]
        i = parent
    at[i] = x


cdef inline void sift_down(Item* at, Py_ssize_t size, Py_ssize_t i, Item x) noexcept:
    """Put `x` at position i (a hole) or below it, moving smaller children up."""
    cdef Py_ssize_t child
    while True:
        child = 2 * i + 1
        if child >= size:
            break
        if child + 1 < size and before(&at[child + 1], &at[child]):
            child += 1
        if not before(&at[child], &x):
            break
        at[i] = at[child]
        i = child
    at[i] = x


cdef inline int push(Item** at, Py_ssize_t* size, Py_ssize_t* room, Item x) except -1:
    """Add `x` to the heap at[0 .. size), doubling its room when it is full."""
    cdef Item* bigger
    if size[0] == room[0]:
        room[0] = max(2 * room[0], 64)
        bigger = <Item*>PyMem_Realloc(at[0], room[0] * sizeof(Item))
        if bigger == NULL:
            raise MemoryError()
        at[0] = bigger
    size[0] += 1
    sift_up(at[0], size[0] - 1, x)
    return 0


cdef inline void drop_first(Item* at, Py_ssize_t* size) noexcept:
    """Remove the smallest item of the heap at[0 .. size) (it is not empty)."""
    size[0] -= 1
    if size[0]:
        sift_down(at, size[0], 0, at[size[0]])


# -- times: a heap of doubles -------------------------------------------------------------

cdef struct Times:
    double* at     # at[0] is the smallest
    Py_ssize_t size
    Py_ssize_t room


cdef inline int times_init(Times* h, Py_ssize_t size, double value) except -1:
    """A heap of `size` copies of `value` (FCFS servers: `size` servers free at 0)."""
    cdef Py_ssize_t i
    h.room = max(size, 16)
    h.at = <double*>PyMem_Realloc(NULL, h.room * sizeof(double))
    if h.at == NULL:
        raise MemoryError()
    for i in range(size):
        h.at[i] = value
    h.size = size
    return 0


cdef inline void times_free(Times* h) noexcept:
    PyMem_Free(h.at)
    h.at = NULL


cdef inline int times_push(Times* h, double x) except -1:
    return push(&h.at, &h.size, &h.room, x)


cdef inline void times_pop(Times* h) noexcept:
    """Drop the smallest (the heap is not empty)."""
    drop_first(h.at, &h.size)


cdef inline double fcfs_submit(Times* servers, double arrival, double service) noexcept:
    """sim/backend.py's FCFSServers.submit: the completion of a request queued at `arrival`."""
    cdef double start = servers.at[0]
    if start < arrival:
        start = arrival
    sift_down(servers.at, servers.size, 0, start + service)  # heapreplace: the earliest-free server takes it
    return start + service


# -- the calendar ---------------------------------------------------------------------------------

cdef struct Entries:
    Entry* at
    Py_ssize_t size
    Py_ssize_t room


cdef inline int entries_push(Entries* h, Entry e) except -1:
    return push(&h.at, &h.size, &h.room, e)


cdef inline Entry entries_pop(Entries* h) noexcept:
    """Take the earliest entry (the heap is not empty)."""
    cdef Entry top = h.at[0]
    drop_first(h.at, &h.size)
    return top


cdef inline double entries_next(const Entries* h) noexcept:
    return h.at[0].time if h.size else INFINITY
