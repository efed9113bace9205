# The engine's heaps, over the one binary heap (workloads/native/heap.pxd): server-free times
# (a FCFS queue), answer times (a node's live load), and the calendar (sim/calendar.py's heap,
# in the same order).  Inline, for the request loop.

from cpython.mem cimport PyMem_Free
from libc.math cimport INFINITY
from libc.stdint cimport int32_t, int64_t

from workloads.native.heap cimport (
    Heap, HeapEntry, Times, heap_free, heap_pop, heap_push, sift_up, times_free, times_pop, times_push,
    times_replace_first, times_reserve,
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


# -- FCFS servers: sim/backend.py's FCFSServers ----------------------------------------------
#
# FCFSServers keeps every server's free time in a heap, and a request takes the earliest
# (starting at its arrival if that server is free by then).  Submissions come in time order
# (the loop's requests and calendar events), so a server free by one submission's time is
# free for every later one, and which time it came free no longer matters: only the
# servers still busy keep a free time, in a heap as small as the busy servers are few (a
# backend of 256 workers with ten busy sifts through 4 levels, not 8: the same answers).

cdef struct Servers:
    Times busy       # the free times of the servers busy at the latest submission (a min-heap)
    Py_ssize_t idle  # the servers free by then


cdef inline int servers_init(Servers* s, Py_ssize_t count) except -1:
    """`count` servers, all free (at time 0: before any submission)."""
    times_reserve(&s.busy, max(count, 16))  # room for all: a push never grows it
    s.busy.size = 0
    s.idle = count
    return 0


cdef inline double fcfs_submit(Servers* s, double arrival, double service) noexcept nogil:
    """FCFSServers.submit: the completion of a request queued at `arrival` (no earlier than the last
    submission's) that takes `service` seconds, on the server free earliest."""
    cdef double start
    while s.busy.size and s.busy.at[0] <= arrival:  # free by now: idle from here on
        times_pop(&s.busy)
        s.idle += 1
    if s.idle:
        s.idle -= 1
        s.busy.size += 1
        sift_up(s.busy.at, NULL, s.busy.size - 1, arrival + service)
        return arrival + service
    start = s.busy.at[0]
    times_replace_first(&s.busy, start + service)  # heapreplace: the earliest-free server takes it
    return start + service


cdef inline void servers_free(Servers* s) noexcept:
    times_free(&s.busy)


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
