"""The compiled policies' common ground: slots, the C-level interface, the replay loop.

A kernel is a built-in policy (policies/*.py, the readable reference) in C,
making the same decisions to the request.  It knows no keys, only *slots*:
small integers 0, 1, 2, ... that index its per-slot arrays (sizes, queue
links, counters).  Whoever feeds it chooses the slots:

* trace replay gives each key its dense id (workloads/ids.py), so a slot is
  an index and nothing is hashed per request;
* a caller with arbitrary keys (policies/compiled.py's Policy wrapper, the
  timed model's nodes) maps them to slots with the one key -> slot map
  (slots.pyx), which recycles the slots the kernel no longer ``holds``
  (neither cached nor remembered as a ghost), so that memory follows the
  cache, not the key space.

The C-level interface, the one the timed model's compiled loop calls
(lookup and insert apart, since a miss is inserted when the backend answers):

    lookup(slot) -> hit           a hit updates the policy's state
    insert(slot, size)            make room and admit; evicted slots are in
                                  evicted[:n_evicted] (reset n_evicted first)
    remove(slot) -> was cached    expiry, invalidation: forgets ghosts too
    contains(slot)                cached?
    holds(slot)                   any state at all (cached, ghost, pending
                                  ghost hit): the slot may not be recycled
    sees_new_keys                 whether a lookup of a key the kernel holds
                                  nothing of changes its state (LRB's clock
                                  and samples): if so, callers give such a
                                  key a slot and look it up; else they answer
                                  the miss themselves
    grow(n)                       per-slot arrays cover slots 0 .. n-1
    access(slot, key, size)       a replay's request: admission filter,
                                  lookup, insert on a miss
    evict_to(units)               evict in the policy's own order until at
                                  most `units` are used (Policy.evict_to),
                                  reported as an insert's evictions
    advance(now)                  the time in whole seconds, before a request,
                                  for a kernel that reads the clock
                                  (READS_CLOCK; replay_timed calls it)

and, from Python, ``reshape(reference)``: a new capacity (Policy.resize),
its parts' shares read from the Python policy built at it.  A kernel that
can do these two sets ``EVICTS_TO``; the others keep the base's, which
fails (the compiled loop refuses a resize or a batch eviction for them).

Hits can evict too (SLRU, LIRS, W-TinyLFU cool or demote); those evictions
are reported the same way.  `key` is the key's 64-bit id, which only the
hash-based parts (W-TinyLFU's sketch, the TinyLFU filter) look at.
"""

import random

import numpy as np

from cpython.pycapsule cimport PyCapsule_GetPointer
from libc.stdint cimport int8_t, int32_t, int64_t, uint8_t, uint64_t

from policies._kernels.queues cimport after, NIL, push_back, Queue, unlink
from workloads.native.memory cimport HUGE_PAGE, huge_pages


cdef object enlarge(object array, Py_ssize_t n, object fill):
    """A copy of `array` with room for `n` elements, the new ones set to `fill` (a per-slot array: read at
    random, so on 2 MiB pages when it is that large, as memory.pxd's grow_aligned puts the C tables)."""
    array = np.asarray(array)
    bigger = page_aligned(n, array.dtype)
    bigger[len(array) :] = fill
    bigger[: len(array)] = array
    return bigger


cdef object page_aligned(Py_ssize_t n, object dtype):
    """An uninitialised array of `n` items of `dtype`; from HUGE_PAGE bytes on, its first item on a 2 MiB
    boundary and its pages asked to be 2 MiB ones (a view of a block one page larger, which it keeps)."""
    cdef size_t nbytes = n * np.dtype(dtype).itemsize
    cdef size_t offset
    if nbytes < HUGE_PAGE:
        return np.empty(n, dtype=dtype)
    block = np.empty(nbytes + HUGE_PAGE, dtype=np.uint8)
    offset = (HUGE_PAGE - <size_t>block.ctypes.data % HUGE_PAGE) % HUGE_PAGE
    huge_pages(<void*>(<size_t>block.ctypes.data + offset), nbytes)
    return block[offset : offset + nbytes].view(dtype)


cdef class AdmissionKernel:
    """An admission filter (policies/admission.py) in C: sees every request, vets every insert.

    A filter that meets an error where it cannot raise (memory refused, its model failing) keeps the
    first with fail(); its kernel's check() raises it, as the kernel's own.
    """

    cdef void fail(self, object error) noexcept:
        if self.failure is None:
            self.failure = error

    def check(self):
        """Raise the first error a vetting met, if any."""
        if self.failure is not None:
            raise self.failure

    cdef void record(self, uint64_t key) noexcept:
        pass

    cdef bint admit(self, uint64_t key, int64_t size) noexcept:
        return True

    def follow_capacity(self, int64_t capacity):
        """The cache's new capacity (a resize): a filter that models the cache (AdaptSize) reads it."""

    def record_key(self, int64_t key):
        """See a request for the key of this 64-bit id (its bits as int64, as traces and slot maps keep them)."""
        self.record(<uint64_t>key)

    def admits(self, int64_t key, int64_t size):
        return self.admit(<uint64_t>key, size)


cdef class Kernel:
    """Base class of the kernels: per-slot arrays that grow, evictions, the replay loop."""

    def __init__(self, int64_t capacity):
        self.capacity = capacity
        self.n_slots = 0
        self.ids = np.zeros(0, dtype=np.uint64)
        self.size_of = np.zeros(0, dtype=np.int64)
        self.evicted = np.zeros(0, dtype=np.int32)
        self.n_evicted = 0
        self.admission = None
        self.failure = None
        self.sees_new_keys = False
        # Subclasses make their own (empty) arrays; callers grow() before they use a slot.

    cdef int resize(self, int32_t n) except -1:
        """Give every per-slot array `n` elements; a subclass extends this with its own arrays."""
        self.ids = enlarge(self.ids, n, 0)
        self.size_of = enlarge(self.size_of, n, 0)
        # A slot leaves the cache at most once per call, so n slots bound a call's evictions.
        self.evicted = enlarge(self.evicted, n, 0)
        self.n_slots = n
        return 0

    cdef int grow(self, Py_ssize_t n_slots) except -1:
        if n_slots > self.n_slots:
            if n_slots > 2**31 - 1:
                raise OverflowError(f"{n_slots} slots: at most 2**31 - 1 distinct keys")
            self.resize(<int32_t>min(max(n_slots, 2 * <Py_ssize_t>self.n_slots, 64), 2**31 - 1))
        return 0

    cdef void fail(self, object error) noexcept:
        """Record an error met where nothing may raise (a lookup or insert in the hot loops).

        The loops' calls return plain values, so a kernel that cannot go on
        (no memory, a number past int64) records the error here and leaves
        its state as it was for that step; the caller raises it at its next
        check().  The first error is kept: the later ones follow from it.
        """
        if self.failure is None:
            self.failure = error

    cdef int check(self) except -1:
        """Raise the error fail() recorded, if any (every caller of lookup and insert checks)."""
        if self.failure is not None:
            raise self.failure
        if self.admission is not None and self.admission.failure is not None:
            raise self.admission.failure
        return 0

    cdef void report(self, int32_t slot) noexcept:
        if self.n_evicted < self.evicted.shape[0]:
            self.evicted[self.n_evicted] = slot
            self.n_evicted += 1

    cdef void prefetch(self, int32_t slot) noexcept:
        """Ask the memory for a slot's state some requests ahead (replay calls it): by default, nothing."""

    cdef int32_t upcoming_victim(self, int32_t ahead) noexcept:
        """The slot the `ahead`-th next eviction will likely take (0: the next), or -1 if the kernel cannot
        tell cheaply: a hint for prefetching the victims' state, never a decision (by default, none)."""
        return -1

    # -- the policy: every kernel overrides these ---------------------------------
    cdef bint lookup(self, int32_t slot) noexcept:
        return False

    cdef void insert(self, int32_t slot, int64_t size) noexcept:
        pass

    cdef bint remove(self, int32_t slot) noexcept:
        return False

    cdef bint contains(self, int32_t slot) noexcept:
        return False

    cdef bint holds(self, int32_t slot) noexcept:
        return self.contains(slot)

    cdef int64_t used(self) noexcept:
        return 0

    cdef Py_ssize_t count(self) noexcept:
        return 0

    def order(self):
        """The cached slots in the order of the Python policy's keys()."""
        return []

    # -- resizing: Policy.evict_to and Policy.resize --------------------------------
    #: whether this kernel evicts to a size (and so resizes): each kernel that does says so
    EVICTS_TO = False

    cdef void evict_to(self, int64_t units) noexcept:
        """Evict, as the Python policy's evict_to does, until at most `units` are used (victims reported)."""
        self.fail(NotImplementedError(f"{type(self).__name__} cannot evict to a size"))

    def reshape(self, reference):
        """Policy.resize: the capacity of `reference` (the Python policy, empty, built or resized to it),
        then evict down to it.  A kernel made of parts reads their new shares from `reference` too, as
        the Python policy's resize re-derives them; the caller resets n_evicted and checks."""
        self.capacity = reference.capacity
        self.evict_to(self.capacity)

    def evict_slots_to(self, int64_t units):
        """evict_to from Python: the slots evicted, in order."""
        self.n_evicted = 0
        self.evict_to(units)
        self.check()
        return [self.evicted[i] for i in range(self.n_evicted)]

    def resize_slots(self, reference):
        """reshape from Python: the slots evicted, in order."""
        self.n_evicted = 0
        self.reshape(reference)
        self.check()
        return [self.evicted[i] for i in range(self.n_evicted)]

    # -- one request of a replay ----------------------------------------------
    cdef bint access(self, int32_t slot, uint64_t key, int64_t size) noexcept:
        """Policy.access behind the admission filter, as policies.admission.Admitted does it."""
        if self.admission is not None:
            self.admission.record(key)
        if self.lookup(slot):
            return True
        if self.admission is None or self.contains(slot) or self.admission.admit(key, size):
            self.ids[slot] = key  # a cached slot always knows its key (a slot has one key)
            self.insert(slot, size)
        return False

    def replay(self, const int32_t[::1] slots, const int64_t[::1] keys, const int64_t[::1] sizes, uint8_t[::1] hits):
        """Serve requests (slot, key id, size) in order; hits[i] = 1 where request i hit.

        `sizes` None: every object counts 1 (a capacity in objects).  The
        caller has grown the kernel to cover every slot.
        """
        cdef Py_ssize_t i, n = slots.shape[0]
        cdef int64_t size = 1
        cdef bint count_bytes = sizes is not None
        for i in range(n):
            # A slot's state is rarely in cache: fetch a later request's while serving this one.
            if i + PREFETCH_DISTANCE < n:
                self.prefetch(slots[i + PREFETCH_DISTANCE])
            if count_bytes:
                size = sizes[i]
            hits[i] = self.access(slots[i], <uint64_t>keys[i], size)
            self.n_evicted = 0  # nobody reads a replay's evictions
            if failed(self):
                self.check()

    # -- the clock: a policy that reads it (Policy.timed: GL-Cache) ------------------------
    #: whether this kernel reads the clock: its callers advance() it before each request, and its
    #: lookup hears every read, of keys it holds nothing of too (a slot is given for it)
    READS_CLOCK = False

    #: whether this kernel reads its slots' ids (``ids``): SlotMap.allocate sets a new slot's only then
    READS_IDS = False

    cdef void advance(self, int64_t now) noexcept:
        """The current time in whole seconds, before a request (Policy.advance): by default, unheard."""

    def replay_timed(self, const int32_t[::1] slots, const int64_t[::1] keys, const int64_t[::1] sizes,
                     const int64_t[::1] times, uint8_t[::1] hits):
        """``replay`` for a kernel that reads the clock: request i is told its time, times[i], first.

        A loop of its own, so that the kernels that never read the time keep
        ``replay`` as it is, with no call per request to hear it.
        """
        cdef Py_ssize_t i, n = slots.shape[0]
        cdef int64_t size = 1
        cdef bint count_bytes = sizes is not None
        for i in range(n):
            if i + PREFETCH_DISTANCE < n:
                self.prefetch(slots[i + PREFETCH_DISTANCE])
            if count_bytes:
                size = sizes[i]
            self.advance(times[i])
            hits[i] = self.access(slots[i], <uint64_t>keys[i], size)
            self.n_evicted = 0
            if failed(self):
                self.check()

    def advance_to(self, int64_t now):
        """advance from Python (a compiled policy fed key by key, told the time by its caller)."""
        self.advance(now)

    # -- for Python (policies/compiled.py; lookups and inserts by key go through slots.pyx) --
    def grow_to(self, Py_ssize_t n_slots):
        self.grow(n_slots)

    def remove_slot(self, int32_t slot):
        return self.remove(slot)

    def contains_slot(self, int32_t slot):
        return self.contains(slot)

    def set_id(self, int32_t slot, int64_t key):
        """The 64-bit id the kernel hashes for the slot's key (its bits as int64)."""
        self.ids[slot] = <uint64_t>key

    def id_of(self, int32_t slot):
        return self.ids[slot]

    @property
    def used_units(self):
        return self.used()

    def __len__(self):
        return self.count()


cdef class QueueKernel(Kernel):
    """A kernel made of queues of slots (FIFO, LRU, CLOCK, SIEVE, S3-FIFO, 2Q, ARC, ...).

    One set of links serves all its queues, since a slot is in one queue at a
    time; ``where[slot]`` says which (0: none; each kernel numbers its queues).
    """

    def __init__(self, int64_t capacity):
        Kernel.__init__(self, capacity)
        self.pairs = np.zeros(0, dtype=np.int32)
        self.where = np.zeros(0, dtype=np.int8)

    cdef void prefetch(self, int32_t slot) noexcept:
        __builtin_prefetch(&self.where[slot])
        __builtin_prefetch(&self.pairs[2 * slot])

    cdef int resize(self, int32_t n) except -1:
        Kernel.resize(self, n)
        self.pairs = enlarge(self.pairs, 2 * n, NIL)
        self.where = enlarge(self.where, n, 0)
        self.links.pairs = &self.pairs[0]
        return 0

    cdef list walk(self, Queue* queue):
        """The slots of `queue`, front to back."""
        cdef list slots = []
        cdef int32_t slot = queue.head
        while slot != NIL:
            slots.append(slot)
            slot = after(&self.links, slot)
        return slots

    cdef void remember(self, Queue* ghosts, int64_t limit, int32_t slot, int8_t ghost) noexcept:
        """Put an evicted slot in a ghost FIFO of at most `limit` units, dropping its oldest.

        A ghost is a key without its object, remembered for its size; one larger
        than the whole ghost FIFO is not remembered.  The slot's ``where`` becomes
        `ghost`, or 0 (forgotten).
        """
        cdef int32_t oldest
        cdef int64_t size = self.size_of[slot]
        self.where[slot] = 0
        if size > limit:
            return
        while ghosts.used + size > limit:
            oldest = ghosts.head
            unlink(&self.links, ghosts, oldest, self.size_of[oldest])
            self.where[oldest] = 0
        push_back(&self.links, ghosts, slot, size)
        self.where[slot] = ghost


cdef class PythonRandom:
    """The draws of Python's ``random.Random(seed).random()``, from C.

    Python's generator is a Mersenne Twister (MT19937), as is one of numpy's
    bit generators, and both make a double of two 32-bit outputs the same way;
    so numpy's, started from the state of ``random.Random(seed)``, draws the
    same numbers as the Python policies' own generators (RANDOM's victims, the
    probabilistic filter's coin), through a C function pointer.
    """

    def __init__(self, seed):
        words = random.Random(seed).getstate()[1]  # 624 state words, then the position
        self.generator = np.random.MT19937()
        self.generator.state = {
            "bit_generator": "MT19937",
            "state": {"key": np.array(words[:624], dtype=np.uint32), "pos": words[624]},
        }
        self.bitgen = <bitgen_t*>PyCapsule_GetPointer(self.generator.capsule, "BitGenerator")

    def draw(self):
        return self.random()
