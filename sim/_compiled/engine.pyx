"""The timed model's request loop in C: sim/model.py's Model, for built-in policies.

sim/model.py is the reference; this is the same model, decision for decision
and in the same order, so that both give identical results (the tests
compare every RunResult field on every feature).  Each method here names its
twin there.  What differs is only how things are kept:

* the calendar (sim/calendar.py) is a C heap of entries of four kinds
  (FILL, REACH_BACKEND, LAND_WRITE, EXPIRE) in the same (time, scheduling
  order); ours run before SimPy's at equal times, and when SimPy's next
  event is due the loop returns to its Python driver (sim/compiled_model.py),
  which steps SimPy and calls it again;
* a fetch in flight or a write on its way is a Job in a pool (jobs.pxd, its
  targets beside it), and a coalesced request a Waiter in a list of the Job's;
* FCFS queues and live loads are heaps of times (workloads/native/heap.pxd);
* versions are hash maps: writes landed per key, bulk updates per class;
* a latency known only later is kept with its request's index and arrival,
  and handed to the recorder, in the order they became known, by the driver.

Nodes (node.pyx) hold the policy kernels and what CacheNode adds to them.
"""

import numpy as np

from cpython.mem cimport PyMem_Free
from libc.math cimport INFINITY, NAN, ceil, isnan
from libc.stdint cimport int8_t, int32_t, int64_t, uint8_t

from policies._kernels.kernel cimport Kernel
from sim._compiled.heaps cimport (
    EXPIRE, FILL, LAND_WRITE, REACH_BACKEND, Calendar, Event, calendar_free, calendar_next, calendar_pop,
    calendar_push, fcfs_submit, times_init,
)
from sim._compiled.jobs cimport (
    Job, Jobs, Late, Waiter, job_free, job_new, job_targets, jobs_dealloc, jobs_init, late_add, late_dealloc,
    waiter_add, waiter_free,
)
from sim._compiled.node cimport EXPIRED, Node
from workloads.native.hashmap cimport Map, map_delete, map_free, map_get, map_init, map_set
from workloads.native.heap cimport Times, times_free, times_pop, times_push
from workloads.native.memory cimport PREFETCH_DISTANCE, grow

cdef enum:
    # the flags of sim/metrics.py
    HIT_FLAG = 1
    BACKEND_FLAG = 2
    COALESCED_FLAG = 4
    STALE_FLAG = 8
    WRITE_FLAG = 16
    EXPIRED_FLAG = 32
    CLASS_SHIFT = 40  # workloads/stream.py

cdef enum Balancing:
    BY_RANK       # the draws' read node
    TWO_CHOICES   # sim/balancer.py's PowerOfTwoChoices
    BOUNDED       # and BoundedLoads

cdef enum WritePolicy:
    INVALIDATE
    UPDATE
    LEAVE_STALE

BALANCING = {"p2c": TWO_CHOICES, "bounded": BOUNDED}
WRITE_POLICIES = {"invalidate": INVALIDATE, "update": UPDATE, "none": LEAVE_STALE}
#: the constants copied from Python modules, for a test to hold them equal
COPIED = {
    "HIT": HIT_FLAG, "BACKEND": BACKEND_FLAG, "COALESCED": COALESCED_FLAG, "STALE": STALE_FLAG, "WRITE": WRITE_FLAG,
    "EXPIRED": EXPIRED_FLAG, "CLASS_SHIFT": CLASS_SHIFT,
}


# The request being served, as the loop read it from its batch.
cdef struct Request:
    int64_t index         # in the whole stream
    double arrival
    double ready          # when its node has served it (arrival without node queues)
    int64_t key
    int64_t size
    double ttl
    double service
    double round_trip
    int32_t node
    const int64_t* choices  # its ranked candidate nodes, -1 where none is up
    int32_t depth


cdef class Engine:
    cdef list nodes
    cdef int32_t n_nodes, replicas, candidates, n_up
    cdef Balancing balancing
    cdef WritePolicy write_policy
    cdef double epsilon
    cdef bint coalesce, versions, active_expiry, node_queues
    # the calendar
    cdef Calendar calendar
    cdef int64_t order
    cdef double due       # the earliest thing scheduled, ours or SimPy's
    # queues and live load
    cdef Times backend
    cdef Times* workers      # per node (node queues)
    cdef Times* outstanding  # per node: answer times of requests not answered yet
    cdef int64_t* unknown    # per node: requests whose answer time is not known yet
    cdef int64_t* counts     # per node: outstanding now (scratch of choose)
    # fetches in flight, writes on their way, coalesced requests, latencies known late
    cdef Map* in_flight      # per node: key -> job (coalescing)
    cdef Jobs jobs
    cdef Late late
    # versions: writes landed per key, bulk updates per key class
    cdef Map writes, bulk

    def __init__(self, list nodes, int backend_servers, int node_servers, bint coalesce, bint versions,
                 bint active_expiry, str balancer, double epsilon, int candidates, int replicas, str write_policy):
        cdef Py_ssize_t n
        self.nodes = nodes
        self.n_nodes = len(nodes)
        self.n_up = self.n_nodes
        self.coalesce, self.versions, self.active_expiry = coalesce, versions, active_expiry
        self.node_queues = node_servers > 0
        self.balancing = BALANCING.get(balancer, BY_RANK)
        self.epsilon, self.candidates, self.replicas = epsilon, candidates, replicas
        self.write_policy = WRITE_POLICIES[write_policy]
        self.due = INFINITY
        times_init(&self.backend, backend_servers, 0.0)
        # Zeroed arrays (grow's): if one part cannot be made, __dealloc__ frees the others and NULLs.
        grow(<void**>&self.workers, 0, self.n_nodes, sizeof(Times))
        grow(<void**>&self.outstanding, 0, self.n_nodes, sizeof(Times))
        grow(<void**>&self.in_flight, 0, self.n_nodes, sizeof(Map))
        grow(<void**>&self.unknown, 0, self.n_nodes, sizeof(int64_t))
        grow(<void**>&self.counts, 0, self.n_nodes, sizeof(int64_t))
        for n in range(self.n_nodes):
            times_init(&self.workers[n], node_servers, 0.0)
            times_init(&self.outstanding[n], 0, 0.0)
            map_init(&self.in_flight[n])
            self.unknown[n] = 0
        map_init(&self.writes)
        map_init(&self.bulk)
        jobs_init(&self.jobs, replicas)

    def __dealloc__(self):
        cdef Py_ssize_t n
        for n in range(self.n_nodes):  # every part is zeroed until made: freeing a NULL is nothing
            if self.workers != NULL:
                times_free(&self.workers[n])
            if self.outstanding != NULL:
                times_free(&self.outstanding[n])
            if self.in_flight != NULL:
                map_free(&self.in_flight[n])
        times_free(&self.backend)
        map_free(&self.writes)
        map_free(&self.bulk)
        PyMem_Free(self.workers)
        PyMem_Free(self.outstanding)
        PyMem_Free(self.in_flight)
        PyMem_Free(self.unknown)
        PyMem_Free(self.counts)
        calendar_free(&self.calendar)
        jobs_dealloc(&self.jobs)
        late_dealloc(&self.late)

    # -- the request loop: Model._walk ------------------------------------------------------
    def walk(self, const double[::1] time, const int64_t[::1] key, const int64_t[::1] size, const int8_t[::1] op,
             int64_t[::1] read_node, const int64_t[:, ::1] choices, const double[::1] round_trip,
             const double[::1] service, const double[::1] node_service, const double[::1] ttl,
             uint8_t[::1] flags, double[::1] wait, int64_t start, Py_ssize_t begin, double simpy_next):
        """Serve requests `begin`.. of a batch, in arrival order (node_service, ttl: empty when unused).

        Returns where it stopped: the batch's length, or the request before
        which SimPy's next event is due (the driver steps SimPy and calls again).
        """
        cdef Py_ssize_t i, n = time.shape[0]
        cdef bint ttls = ttl.shape[0] > 0, dynamic = self.balancing != BY_RANK
        cdef Request r
        cdef Node node
        cdef int32_t slot
        r.depth = <int32_t>choices.shape[1]
        self.due = min(calendar_next(&self.calendar), simpy_next)
        for i in range(begin, n):
            # A node's key map is larger than the CPU's caches: ask for a later request's bucket now.
            if i + PREFETCH_DISTANCE < n and read_node[i + PREFETCH_DISTANCE] >= 0:
                (<Node>self.nodes[read_node[i + PREFETCH_DISTANCE]]).prefetch(key[i + PREFETCH_DISTANCE])
            r.arrival = time[i]
            if r.arrival >= self.due and self.advance(r.arrival, simpy_next):
                return i
            r.node = <int32_t>read_node[i]
            r.choices = &choices[i, 0]
            if dynamic and r.node >= 0:
                r.node = self.choose(&r)
                read_node[i] = r.node
            if op[i]:
                flags[i] = WRITE_FLAG | BACKEND_FLAG
                wait[i] = self.write(&r, key[i], size[i], ttl[i] if ttls else 0.0, service[i]) - r.arrival
                continue
            if r.node < 0:  # every node is down: straight to the backend, nothing cached
                flags[i] = BACKEND_FLAG
                wait[i] = fcfs_submit(&self.backend, r.arrival, service[i]) - r.arrival
                continue
            r.ready = fcfs_submit(&self.workers[r.node], r.arrival, node_service[i]) if self.node_queues else r.arrival
            node = <Node>self.nodes[r.node]
            slot = node.lookup(key[i], r.arrival)
            if slot >= 0:
                flags[i] = HIT_FLAG | STALE_FLAG if self.versions and self.stale(node, slot, key[i]) else HIT_FLAG
                wait[i] = r.ready - r.arrival
                if dynamic:
                    times_push(&self.outstanding[r.node], r.ready + round_trip[i])
                continue
            if slot == EXPIRED:
                flags[i] = EXPIRED_FLAG
            r.index, r.key, r.size = start + i, key[i], size[i]
            r.ttl = ttl[i] if ttls else 0.0
            r.service, r.round_trip = service[i], round_trip[i]
            self.read_miss(&r, &flags[i], &wait[i])
        return n

    cdef bint stale(self, Node node, int32_t slot, int64_t key) noexcept:
        """A hit on a value older than the current one (its stamp is not the key's version)."""
        return node.stamp_writes[slot] != self.writes_of(key) or node.stamp_bulk[slot] != self.bulk_of(key)

    cdef int read_miss(self, Request* r, uint8_t* flag, double* wait) except -1:
        """Model._read_miss: join a fetch in flight, or fetch."""
        cdef int32_t job = <int32_t>map_get(&self.in_flight[r.node], r.key) if self.coalesce else -1
        cdef double done
        if job < 0:
            flag[0] |= BACKEND_FLAG
            return self.fetch(r, wait)
        flag[0] |= COALESCED_FLAG
        if isnan(self.jobs.at[job].finish):
            wait[0] = NAN
            waiter_add(&self.jobs, job, r.index, r.arrival, r.ready, r.round_trip)
            self.unknown[r.node] += self.balancing != BY_RANK
        else:
            done = r.ready if r.ready >= self.jobs.at[job].finish else self.jobs.at[job].finish
            wait[0] = done - r.arrival
            if self.balancing != BY_RANK:
                times_push(&self.outstanding[r.node], done + r.round_trip)
        return 0

    # -- misses: Model._fetch, _reach_backend, _answered, _fill --------------------------
    cdef int fetch(self, Request* r, double* wait) except -1:
        cdef int32_t job = self.new_job(r.key, r.size, r.ttl)
        cdef int32_t* targets = job_targets(&self.jobs, job)
        cdef int32_t j, n = 1, other
        cdef double finish
        targets[0] = r.node
        for j in range(min(self.replicas, r.depth)):
            other = <int32_t>r.choices[j]
            if n < self.replicas and other >= 0 and other != r.node:
                targets[n] = other
                n += 1
        self.jobs.at[job].n_targets = n
        if self.coalesce:
            map_set(&self.in_flight[r.node], r.key, job)
        if r.ready <= r.arrival:
            finish = fcfs_submit(&self.backend, r.arrival, r.service)
            wait[0] = finish - r.arrival
            self.answered(job, finish)
            if self.balancing != BY_RANK:
                times_push(&self.outstanding[r.node], finish + r.round_trip)
            return 0
        # The miss reaches the backend only when its node has served it: scheduled.
        wait[0] = NAN
        self.unknown[r.node] += self.balancing != BY_RANK
        self.jobs.at[job].index, self.jobs.at[job].arrival = r.index, r.arrival
        self.jobs.at[job].service, self.jobs.at[job].round_trip = r.service, r.round_trip
        return self.schedule(r.ready, REACH_BACKEND, job, 0, 0)

    cdef int reach_backend(self, int32_t job, double now) except -1:
        cdef Job* j = &self.jobs.at[job]
        cdef double finish = fcfs_submit(&self.backend, now, j.service)
        late_add(&self.late, j.index, j.arrival, finish - j.arrival + j.round_trip)
        self.settle(job_targets(&self.jobs, job)[0], finish + j.round_trip)
        return self.answered(job, finish)

    cdef int answered(self, int32_t job, double finish) except -1:
        """The fetch's answer time is known: so are its waiters' latencies, and its fill is scheduled."""
        cdef int32_t w = self.jobs.at[job].first_waiter, node = job_targets(&self.jobs, job)[0]
        cdef Waiter* waiter
        cdef double done
        self.jobs.at[job].finish = finish
        while w >= 0:
            waiter = &self.jobs.waiters[w]
            done = waiter.ready if waiter.ready >= finish else finish
            late_add(&self.late, waiter.index, waiter.arrival, done - waiter.arrival + waiter.round_trip)
            self.settle(node, done + waiter.round_trip)
            w = waiter_free(&self.jobs, w)
        self.jobs.at[job].first_waiter = self.jobs.at[job].last_waiter = -1
        return self.schedule(finish, FILL, job, 0, 0)

    cdef int fill(self, int32_t job) except -1:
        """The backend answered: store the value on the targets that are up."""
        cdef Job* j = &self.jobs.at[job]
        cdef int32_t* targets = job_targets(&self.jobs, job)
        cdef bint active = j.ttl > 0 and self.active_expiry
        cdef int32_t t
        cdef Node node
        for t in range(j.n_targets):
            node = <Node>self.nodes[targets[t]]
            if node.up and node.fill(j.key, j.size, j.finish, j.ttl, j.writes, j.bulk) and active:
                self.schedule(j.finish + j.ttl, EXPIRE, -1, targets[t], j.key)
        if self.coalesce and map_get(&self.in_flight[targets[0]], j.key) == job:
            map_delete(&self.in_flight[targets[0]], j.key)
        job_free(&self.jobs, job)
        return 0

    # -- writes: Model._write, _land_write (apply_write) -------------------------------------
    cdef double write(self, Request* r, int64_t key, int64_t size, double ttl, double service) except -1:
        cdef double finish = fcfs_submit(&self.backend, r.arrival, service)
        cdef int32_t job = self.new_job(key, size, ttl)
        cdef int32_t* homes = job_targets(&self.jobs, job)
        cdef int32_t j, n = 0
        for j in range(min(self.replicas, r.depth)):
            if r.choices[j] >= 0:
                homes[n] = <int32_t>r.choices[j]
                n += 1
        self.jobs.at[job].n_targets = n
        self.schedule(finish, LAND_WRITE, job, 0, 0)
        return finish

    cdef int land_write(self, int32_t job, double now) except -1:
        cdef Job* j = &self.jobs.at[job]
        cdef int32_t* homes = job_targets(&self.jobs, job)
        cdef int64_t key = j.key
        cdef int32_t index, t
        cdef bint home
        cdef Node node
        if self.versions:
            map_set(&self.writes, key, self.writes_of(key) + 1)
        if self.write_policy == INVALIDATE:
            for index in range(self.n_nodes):
                node = <Node>self.nodes[index]
                if node.contains(key):
                    node.remove(key)
        elif self.write_policy == UPDATE:  # write through: copies and the key's homes get the value
            for index in range(self.n_nodes):
                node = <Node>self.nodes[index]
                home = False
                for t in range(j.n_targets):
                    home = home or homes[t] == index
                if node.up and (home or node.contains(key)):
                    node.fill(key, j.size, now, j.ttl, self.writes_of(key), self.bulk_of(key))
        job_free(&self.jobs, job)
        return 0

    # -- expiry: Model._expire ---------------------------------------------------------------
    cdef int expire(self, int32_t index, int64_t key, double now) except -1:
        cdef Node node = <Node>self.nodes[index]
        cdef double expiry = node.expiry(key)
        if expiry == INFINITY:
            return 0
        if expiry <= now:
            node.remove(key)
            return 0
        return self.schedule(expiry, EXPIRE, -1, index, key)

    # -- live load: Model._choose, _settle_outstanding ----------------------------------------
    cdef int32_t choose(self, Request* r) noexcept:
        """The dynamic balancer's pick among the ranked candidates, by requests outstanding now."""
        cdef int64_t total = 0
        cdef int32_t n, j, node, best = -1, k = min(self.candidates, r.depth)
        cdef Times* heap
        cdef double limit
        for n in range(self.n_nodes):
            heap = &self.outstanding[n]
            while heap.size and heap.at[0] <= r.arrival:
                times_pop(heap)
            self.counts[n] = heap.size + self.unknown[n]
            total += self.counts[n]
        if self.balancing == BOUNDED:
            # The bound counts the arriving request too, so some node is always under it.
            limit = ceil((1.0 + self.epsilon) * <double>(total + 1) / <double>max(1, self.n_up))
            for j in range(k):
                node = <int32_t>r.choices[j]
                if node >= 0 and self.counts[node] < limit:
                    return node
        for j in range(k):  # the first of the least busy
            node = <int32_t>r.choices[j]
            if node >= 0 and (best < 0 or self.counts[node] < self.counts[best]):
                best = node
        return best

    cdef int settle(self, int32_t node, double answered_at) except -1:
        if self.balancing != BY_RANK:
            self.unknown[node] -= 1
            times_push(&self.outstanding[node], answered_at)
        return 0

    # -- versions: sim/versions.py --------------------------------------------------------------
    cdef inline int64_t writes_of(self, int64_t key) noexcept:
        cdef int64_t landed = map_get(&self.writes, key)
        return landed if landed > 0 else 0

    cdef inline int64_t bulk_of(self, int64_t key) noexcept:
        return self.updates_of_class(key >> CLASS_SHIFT)

    cdef inline int64_t updates_of_class(self, int64_t index) noexcept:
        cdef int64_t updates = map_get(&self.bulk, index)
        return updates if updates > 0 else 0

    # -- the calendar: sim/calendar.py ------------------------------------------------------------
    cdef int schedule(self, double when, int32_t kind, int32_t job, int32_t node, int64_t key) except -1:
        calendar_push(&self.calendar, when, self.order, Event(key, kind, node if kind == EXPIRE else job))
        self.order += 1
        if when < self.due:
            self.due = when
        return 0

    cdef int run_next(self) except -1:
        cdef double when
        cdef Event event = calendar_pop(&self.calendar, &when)
        if event.kind == FILL:
            return self.fill(event.target)
        if event.kind == REACH_BACKEND:
            return self.reach_backend(event.target, when)
        if event.kind == LAND_WRITE:
            return self.land_write(event.target, when)
        return self.expire(event.target, event.key, when)

    cdef int advance(self, double now, double simpy_next) except -1:
        """Calendar.advance: run our entries up to `now`; 1 when SimPy's next event comes first."""
        cdef double ours
        while True:
            ours = calendar_next(&self.calendar)
            if ours <= simpy_next:
                if ours > now:
                    self.due = ours
                    return 0
                self.run_next()
            elif simpy_next > now:
                self.due = simpy_next
                return 0
            else:
                return 1

    def drain(self, double simpy_next):
        """Calendar.drain, up to SimPy's next event: True if entries are left after it (step SimPy, call again)."""
        while self.calendar.heap.size:
            if calendar_next(&self.calendar) > simpy_next:
                return True
            self.run_next()
        return False

    @property
    def pending(self):
        """Calendar entries not run yet."""
        return self.calendar.heap.size

    # -- jobs, latencies known late ------------------------------------------------------------------
    cdef int32_t new_job(self, int64_t key, int64_t size, double ttl) except -1:
        """A job for `key`, its value's version as of now."""
        cdef int32_t job = job_new(&self.jobs)
        cdef Job* j = &self.jobs.at[job]
        j.key, j.size, j.ttl = key, size, ttl
        j.writes = self.writes_of(key) if self.versions else 0
        j.bulk = self.bulk_of(key) if self.versions else 0
        return job

    def take_late(self):
        """The latencies known late since the last call: (indices, arrivals, latencies), in order."""
        cdef Py_ssize_t n = self.late.n
        indices = np.asarray(<int64_t[:n]>self.late.index).copy() if n else np.zeros(0, dtype=np.int64)
        arrivals = np.asarray(<double[:n]>self.late.arrival).copy() if n else np.zeros(0)
        latencies = np.asarray(<double[:n]>self.late.latency).copy() if n else np.zeros(0)
        self.late.n = 0
        return indices, arrivals, latencies

    # -- what SimPy's processes do (Model._set_up, _fail, _bulk_update) --------------------------
    def set_up(self, int index, bint up):
        (<Node>self.nodes[index]).up = up
        self.n_up = sum((<Node>node).up for node in self.nodes)

    def fail(self, int index, Kernel kernel):
        """The node went down: it loses everything, and will come back with `kernel`, fresh."""
        node = <Node>self.nodes[index]
        node.up = False
        node.clear(kernel)
        self.n_up = sum((<Node>other).up for other in self.nodes)

    def bulk_update(self, classes, bint invalidate):
        """The listed key classes' values change; with `invalidate`, their cached copies go."""
        for index in classes:
            map_set(&self.bulk, index, self.updates_of_class(index) + 1)
        if invalidate:
            for node in self.nodes:
                node.drop_keys([key for key in node.keys() if key >> CLASS_SHIFT in classes])
