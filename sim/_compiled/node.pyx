"""A cache node in C: sim/node.py's CacheNode over a policy kernel, for the compiled request loop.

It decides what CacheNode and policies/compiled.py's CompiledPolicy decide
together, in the same order (the tests hold the compiled loop to the Python
one's results): TTLs (expiry on lookup, refresh on hit), the version stamp of
each cached value, the admission filter's view of every read and every store.

The kernel knows slots, not keys (policies/_kernels/kernel.pyx).  A node maps
its keys to slots (a hash map: keys are 64-bit ids of any spread, a Zipf
catalogue's or new ones forever) and keeps per-slot arrays beside the
kernel's (expiry times and TTLs only with TTLs, version stamps only with
versions).  A slot is given to a key when it is first stored, and goes back
to a free list when the kernel no longer ``holds`` it (neither cached nor a
ghost): at once when the kernel reports evicting it without a ghost, and
otherwise (ghosts the kernel forgot silently) by a sweep, when the map has
doubled since the last one.  So memory follows the cache, not the key space:
a catalogue of 10**9 keys costs what its cached keys cost.
"""

from cpython.mem cimport PyMem_Free, PyMem_Realloc
from libc.math cimport INFINITY
from libc.stdint cimport int32_t, int64_t, uint8_t, uint64_t
from libc.string cimport memset

from policies import PolicyContractError

from policies._kernels.kernel cimport Kernel
from sim._compiled.hashmap cimport map_clear, map_delete, map_free, map_get, map_init, map_prefetch, map_set

cdef enum:
    SWEEP_FLOOR = 1024  # as policies/compiled.py: sweep when this many keys have slots (then twice the survivors)
    CLASS_SHIFT = 40    # workloads/stream.py: a key's class is key >> 40


#: the constants copied from Python modules, for a test to hold them equal
COPIED = {"CLASS_SHIFT": CLASS_SHIFT, "SWEEP_FLOOR": SWEEP_FLOOR}


cdef int grow_array(void** array, Py_ssize_t room, size_t item) except -1:
    cdef void* bigger = PyMem_Realloc(array[0], room * item)
    if bigger == NULL:
        raise MemoryError()
    array[0] = bigger
    return 0


cdef class Node:
    """One cache server: its kernel, its keys' slots, their TTLs and stamps; up or down."""

    def __init__(self, Kernel kernel, bint count_bytes, bint refresh_on_hit, bint ttls, bint stamps):
        map_init(&self.slots)
        self.count_bytes, self.refresh_on_hit, self.ttls, self.stamps = count_bytes, refresh_on_hit, ttls, stamps
        self.up = True
        self.room = 0
        self.clear(kernel)

    def __dealloc__(self):
        map_free(&self.slots)
        PyMem_Free(self.key_of)
        PyMem_Free(self.mapped)
        PyMem_Free(self.expires_at)
        PyMem_Free(self.ttl_of)
        PyMem_Free(self.stamp_writes)
        PyMem_Free(self.stamp_bulk)
        PyMem_Free(self.free_slots)

    def clear(self, Kernel kernel):
        """Lose everything (the node failed): a fresh kernel, no keys."""
        self.kernel = kernel
        map_clear(&self.slots)
        self.n_free = self.next_slot = 0
        self.sweep_at = SWEEP_FLOOR
        if self.room:
            memset(self.mapped, 0, self.room)

    # -- slots ----------------------------------------------------------------------
    cdef int32_t slot_of(self, int64_t key) noexcept:
        return <int32_t>map_get(&self.slots, key)

    cdef void prefetch(self, int64_t key) noexcept:
        map_prefetch(&self.slots, key)

    cdef int32_t new_slot(self, int64_t key) except -1:
        """A slot for a key that has none: a free one, after a sweep if it is due, or a new one."""
        cdef int32_t slot
        if not self.n_free and self.slots.count >= self.sweep_at:
            self.sweep()
        if self.n_free:
            self.n_free -= 1
            slot = self.free_slots[self.n_free]
        else:
            if self.next_slot >= 2**31 - 1:
                raise OverflowError("more than 2**31 - 1 keys held at once by one node")
            slot = <int32_t>self.next_slot
            self.next_slot += 1
            if self.next_slot > self.room:
                self.grow(max(2 * self.room, 1024))
            self.kernel.grow(self.next_slot)
        map_set(&self.slots, key, slot)
        self.key_of[slot] = key
        self.mapped[slot] = 1
        self.forget(slot)
        self.kernel.ids[slot] = <uint64_t>key  # policies.sketch.key_id of an integer key: its 64 bits
        return slot

    cdef int grow(self, Py_ssize_t room) except -1:
        grow_array(<void**>&self.key_of, room, sizeof(int64_t))
        grow_array(<void**>&self.mapped, room, sizeof(uint8_t))
        grow_array(<void**>&self.free_slots, room, sizeof(int32_t))
        if self.ttls:
            grow_array(<void**>&self.expires_at, room, sizeof(double))
            grow_array(<void**>&self.ttl_of, room, sizeof(double))
        if self.stamps:
            grow_array(<void**>&self.stamp_writes, room, sizeof(int64_t))
            grow_array(<void**>&self.stamp_bulk, room, sizeof(int64_t))
        memset(&self.mapped[self.room], 0, room - self.room)
        self.room = room
        return 0

    cdef void sweep(self) noexcept:
        """Free the slots of keys the kernel no longer holds (ghosts it forgot without a word)."""
        cdef Py_ssize_t slot
        for slot in range(self.next_slot):
            if self.mapped[slot] and not self.kernel.holds(<int32_t>slot):
                self.release(<int32_t>slot)
        self.sweep_at = max(SWEEP_FLOOR, 2 * self.slots.count)

    cdef void release(self, int32_t slot) noexcept:
        """The slot's key has no state left in the kernel: the slot goes back to the free list."""
        map_delete(&self.slots, self.key_of[slot])
        self.mapped[slot] = 0
        self.free_slots[self.n_free] = slot
        self.n_free += 1

    cdef void forget(self, int32_t slot) noexcept:
        """The slot's key left the cache (or just came): it has no expiry."""
        if self.ttls:
            self.expires_at[slot] = INFINITY
            self.ttl_of[slot] = 0.0

    cdef void evicted(self) noexcept:
        """What the kernel just evicted: its expiries go, and slots it keeps no ghost of are free."""
        cdef Py_ssize_t i
        cdef int32_t slot
        for i in range(self.kernel.n_evicted):
            slot = self.kernel.evicted[i]
            self.forget(slot)
            if self.mapped[slot] and not self.kernel.holds(slot):
                self.release(slot)

    # -- what the request loop asks ---------------------------------------------------
    cdef int32_t lookup(self, int64_t key, double now) noexcept:
        """A read at `now`: the key's slot on a hit, MISS, or EXPIRED (dropped first: a miss).

        CacheNode.lookup's order: the TTL first (an expired entry is removed
        before the policy sees the read), then the filter records the read,
        then the kernel looks it up.
        """
        cdef int32_t slot = <int32_t>map_get(&self.slots, key)
        cdef bint expired = False
        cdef Kernel kernel = self.kernel
        if slot >= 0 and self.ttls and self.expires_at[slot] != INFINITY:
            if not kernel.contains(slot):
                self.forget(slot)
            elif self.expires_at[slot] <= now:
                self.forget(slot)
                kernel.remove(slot)
                expired = True
            elif self.refresh_on_hit:
                self.expires_at[slot] = now + self.ttl_of[slot]
        if kernel.admission is not None:
            kernel.admission.record(<uint64_t>key)
        if slot < 0:
            return MISS
        kernel.n_evicted = 0
        if kernel.lookup(slot):
            if kernel.n_evicted:  # hits evict too (SLRU, LIRS, W-TinyLFU cool or demote)
                self.evicted()
            return EXPIRED if expired else slot
        if kernel.n_evicted:
            self.evicted()
        return EXPIRED if expired else MISS

    cdef int fill(self, int64_t key, int64_t size, double now, double ttl, int64_t writes, int64_t bulk) except -1:
        """Store a value at `now` for `ttl` seconds (0: for ever), stamped (writes, bulk); 1 if admitted."""
        cdef Kernel kernel = self.kernel
        cdef int64_t units = size if self.count_bytes else 1
        cdef int32_t slot = <int32_t>map_get(&self.slots, key)
        if (kernel.admission is None or (slot >= 0 and kernel.contains(slot))
                or kernel.admission.admit(<uint64_t>key, units)):
            if slot < 0:
                slot = self.new_slot(key)
            kernel.n_evicted = 0
            kernel.insert(slot, units)
            self.evicted()
        if kernel.used() > kernel.capacity:  # the contract, checked after every insert (sim/node.py)
            raise PolicyContractError(
                f"policy holds {kernel.used()} units after an insert, over its capacity {kernel.capacity}"
            )
        if slot < 0 or not self.mapped[slot] or not kernel.contains(slot):
            return 0  # refused (its slot, if it had one, was forgotten as it was evicted)
        self.forget(slot)
        if ttl > 0 and self.ttls:
            self.expires_at[slot] = now + ttl
            if self.refresh_on_hit:
                self.ttl_of[slot] = ttl
        if self.stamps:
            self.stamp_writes[slot] = writes
            self.stamp_bulk[slot] = bulk
        return 1

    cdef bint remove(self, int64_t key) noexcept:
        """Drop a cached key (expiry, invalidation); a ghost of it stays a ghost."""
        cdef int32_t slot = <int32_t>map_get(&self.slots, key)
        if slot < 0:
            return False
        self.forget(slot)
        return self.kernel.contains(slot) and self.kernel.remove(slot)

    cdef bint contains(self, int64_t key) noexcept:
        cdef int32_t slot = <int32_t>map_get(&self.slots, key)
        return slot >= 0 and self.kernel.contains(slot)

    cdef double expiry(self, int64_t key) noexcept:
        """When the key's entry expires (INFINITY: it has none)."""
        cdef int32_t slot = <int32_t>map_get(&self.slots, key)
        return self.expires_at[slot] if slot >= 0 and self.ttls else INFINITY

    # -- rare, from Python ----------------------------------------------------------------
    def keys(self):
        """The cached keys, in the order of the Python policy's keys()."""
        return [self.key_of[slot] for slot in self.kernel.order()]

    def drop_classes(self, classes):
        """Drop every cached key of the given key classes (a bulk update that invalidates)."""
        for key in [key for key in self.keys() if key >> CLASS_SHIFT in classes]:
            self.remove(key)

    @property
    def slots_in_use(self):
        """Keys that have a slot now (cached, ghosts, and those not swept yet)."""
        return self.slots.count
