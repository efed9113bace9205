# The engine's pools (engine.pyx): fetches in flight, writes on their way, and answers and
# invalidations on their way to the clients' near caches (Jobs), requests
# waiting on a fetch (Waiters), and latencies known late (Late).  Structs in arrays that grow by
# doubling (workloads/native/memory.pxd's grow: a pool that cannot grow stays as it was); a
# finished job or waiter goes on a free list and is reused, so a long run's memory follows what
# is in flight, not what has been.

from cpython.mem cimport PyMem_Free
from libc.math cimport NAN
from libc.stdint cimport int32_t, int64_t

from workloads.native.memory cimport grow


# A fetch in flight (sim/model.py's _Fetch) or a write on its way to the backend.
cdef struct Job:
    int64_t key
    int64_t size
    double ttl
    int64_t writes        # the value's version as of the request: writes landed,
    int64_t bulk          # bulk updates of its class
    double finish         # NaN until the fetch reaches the backend
    int32_t n_targets     # its targets (homes, for a write), the fetching node first
    int32_t first_waiter  # coalesced requests, -1: none
    int32_t last_waiter
    int32_t group         # the client group of the request that fetched (near caches); a near fill's group
    int64_t index         # the request that fetched, for REACH_BACKEND
    double arrival
    double service
    double round_trip


# A request that joined a fetch whose answer time is not known yet.
cdef struct Waiter:
    int64_t index
    double arrival
    double ready
    double round_trip
    int32_t next          # the next waiter of the same job (or of the free list), -1: none
    int32_t group         # its client group (near caches)


cdef struct Jobs:
    Job* at
    int32_t* targets      # `replicas` per job
    int32_t replicas
    int32_t* free
    Py_ssize_t room, made, n_free
    Waiter* waiters
    Py_ssize_t waiters_room, waiters_made
    int32_t free_waiter


cdef inline void jobs_init(Jobs* jobs, int32_t replicas) noexcept:
    jobs.replicas = replicas
    jobs.free_waiter = -1


cdef inline int32_t job_new(Jobs* jobs) except -1:
    """A job with no finish time and no waiters yet (its other fields are the caller's to set)."""
    cdef int32_t job
    cdef Py_ssize_t room
    if jobs.n_free:
        jobs.n_free -= 1
        job = jobs.free[jobs.n_free]
    else:
        if jobs.made == jobs.room:
            room = max(2 * jobs.room, 256)
            grow(<void**>&jobs.at, jobs.room, room, sizeof(Job))
            grow(<void**>&jobs.targets, jobs.room * jobs.replicas, room * jobs.replicas, sizeof(int32_t))
            grow(<void**>&jobs.free, jobs.room, room, sizeof(int32_t))
            jobs.room = room
        job = <int32_t>jobs.made
        jobs.made += 1
    jobs.at[job].finish = NAN
    jobs.at[job].first_waiter = jobs.at[job].last_waiter = -1
    return job


cdef inline int32_t* job_targets(Jobs* jobs, int32_t job) noexcept:
    return &jobs.targets[job * jobs.replicas]


cdef inline void job_free(Jobs* jobs, int32_t job) noexcept:
    jobs.free[jobs.n_free] = job
    jobs.n_free += 1


cdef inline int waiter_add(Jobs* jobs, int32_t job, int64_t index, double arrival, double ready,
                           double round_trip, int32_t group) except -1:
    """Add a request to the job's waiters, last."""
    cdef int32_t w
    if jobs.free_waiter >= 0:
        w = jobs.free_waiter
        jobs.free_waiter = jobs.waiters[w].next
    else:
        if jobs.waiters_made == jobs.waiters_room:
            grow(<void**>&jobs.waiters, jobs.waiters_room, max(2 * jobs.waiters_room, 256), sizeof(Waiter))
            jobs.waiters_room = max(2 * jobs.waiters_room, 256)
        w = <int32_t>jobs.waiters_made
        jobs.waiters_made += 1
    jobs.waiters[w].index, jobs.waiters[w].arrival = index, arrival
    jobs.waiters[w].ready, jobs.waiters[w].round_trip, jobs.waiters[w].next = ready, round_trip, -1
    jobs.waiters[w].group = group
    if jobs.at[job].last_waiter >= 0:
        jobs.waiters[jobs.at[job].last_waiter].next = w
    else:
        jobs.at[job].first_waiter = w
    jobs.at[job].last_waiter = w
    return 0


cdef inline int32_t waiter_free(Jobs* jobs, int32_t w) noexcept:
    """Put a waiter back on the free list; the one that followed it."""
    cdef int32_t following = jobs.waiters[w].next
    jobs.waiters[w].next = jobs.free_waiter
    jobs.free_waiter = w
    return following


cdef inline void jobs_dealloc(Jobs* jobs) noexcept:
    PyMem_Free(jobs.at)
    PyMem_Free(jobs.targets)
    PyMem_Free(jobs.free)
    PyMem_Free(jobs.waiters)


# Latencies known only after their batch was walked: (request index, arrival, latency), in order.
cdef struct Late:
    int64_t* index
    double* arrival
    double* latency
    Py_ssize_t n, room


cdef inline int late_add(Late* late, int64_t index, double arrival, double latency) except -1:
    cdef Py_ssize_t room
    if late.n == late.room:
        room = max(2 * late.room, 1024)
        grow(<void**>&late.index, late.room, room, sizeof(int64_t))
        grow(<void**>&late.arrival, late.room, room, sizeof(double))
        grow(<void**>&late.latency, late.room, room, sizeof(double))
        late.room = room
    late.index[late.n], late.arrival[late.n], late.latency[late.n] = index, arrival, latency
    late.n += 1
    return 0


cdef inline void late_dealloc(Late* late) noexcept:
    PyMem_Free(late.index)
    PyMem_Free(late.arrival)
    PyMem_Free(late.latency)
