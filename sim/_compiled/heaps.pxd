# The engine's heaps, over the one binary heap (workloads/native/heap.pxd): server-free times
# (a FCFS queue), answer times (a node's live load), and the calendar (sim/calendar.py's heap,
# in the same order).  Inline, for the request loop.

from cpython.mem cimport PyMem_Free
from libc.math cimport INFINITY
from libc.stdint cimport int32_t, int64_t

from workloads.native.heap cimport (
    Heap, HeapEntry, Times, heap_free, heap_pop, heap_push, times_pop, times_push, times_replace_first, times_reserve,
)
from workloads.native.memory cimport grow


# -- times: server-free times, answer times ------------------------------------------------

cdef inline int times_init(Times* h, Py_ssize_t size, double value) except -1:
    """A heap of `size` copies of `value` (FCFS servers: `size` servers free at 0)."""
    cdef Py_ssize_t i
    times_reserve(h, max(size, 16))
    for i in range(size):
        h.at[i] = value
    h.size = size
    return 0


cdef inline double fcfs_submit(Times* servers, double arrival, double service) noexcept nogil:
    """sim/backend.py's FCFSServers.submit: the completion of a request queued at `arrival`."""
    cdef double start = servers.at[0]
    if start < arrival:
        start = arrival
    times_replace_first(servers, start + service)  # heapreplace: the earliest-free server takes it
    return start + service


# -- the calendar: entries in (time, scheduling order), each an event in a pool ---------------

cdef enum Kind:
    FILL            # a fetch's answer is stored on its targets
    REACH_BACKEND   # a miss that queued at its node reaches the backend
    LAND_WRITE      # a write lands at the backend
    EXPIRE          # active expiry of (node, key)
    NEAR_FILL       # an answer reaches its client: its group's near cache stores it (sim/near.py)
    NEAR_WRITE      # a landed write's invalidation reaches the groups' near caches
    NEAR_UPDATE     # an invalidating bulk update reaches them


cdef struct Event:
    int64_t key     # EXPIRE's key
    int32_t kind
    int32_t target  # the job of FILL, REACH_BACKEND, LAND_WRITE, NEAR_FILL, NEAR_WRITE; EXPIRE's node;
                    # NEAR_UPDATE's number in the engine's near_updates


cdef struct Calendar:
    Heap heap            # (time, order, the event's index in `events`)
    Event* events
    int32_t* free        # event indices to reuse, free[:n_free]
    Py_ssize_t made, room, n_free


cdef inline int calendar_push(Calendar* c, double time, int64_t order, Event event) except -1:
    cdef int32_t index
    cdef Py_ssize_t room
    if c.n_free:
        c.n_free -= 1
        index = c.free[c.n_free]
    else:
        if c.made == c.room:
            room = max(2 * c.room, 256)
            grow(<void**>&c.events, c.room, room, sizeof(Event))
            grow(<void**>&c.free, c.room, room, sizeof(int32_t))
            c.room = room
        index = <int32_t>c.made
        c.made += 1
    c.events[index] = event
    return heap_push(&c.heap, HeapEntry(time, order, index))


cdef inline Event calendar_pop(Calendar* c, double* time) noexcept nogil:
    """Take the earliest entry's event, and its time (the calendar is not empty)."""
    cdef HeapEntry first = heap_pop(&c.heap)
    time[0] = first.primary
    c.free[c.n_free] = <int32_t>first.value
    c.n_free += 1
    return c.events[first.value]


cdef inline double calendar_next(const Calendar* c) noexcept nogil:
    return c.heap.at[0].primary if c.heap.size else INFINITY


cdef inline void calendar_free(Calendar* c) noexcept:
    heap_free(&c.heap)
    PyMem_Free(c.events)
    PyMem_Free(c.free)
    c.events = NULL
    c.free = NULL
