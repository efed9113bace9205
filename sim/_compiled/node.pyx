"""A cache node in C: sim/node.py's CacheNode over a policy kernel, for the compiled request loop.

It decides what CacheNode and policies/compiled.py's CompiledPolicy decide
together, in the same order (the tests hold the compiled loop to the Python
one's results): TTLs (expiry on lookup, refresh on hit), the version stamp of
each cached value, the admission filter's view of every read and every store.

The kernel knows slots, not keys (policies/_kernels/kernel.pyx): a node's
keys get their slots from the one key -> slot map (policies/_kernels/slots.pyx),
which recycles the slots the kernel no longer holds, so memory follows the
cache, not the key space.  Beside the kernel's per-slot arrays a node keeps
its own, one record per slot (node.pxd's Entry): the expiry time and TTL
(with TTLs) and the version stamp (with versions).
"""

from libc.math cimport INFINITY
from libc.stdint cimport int32_t, int64_t, SIZE_MAX, uint64_t
from libc.stdlib cimport free
from posix.stdlib cimport posix_memalign
from libc.string cimport memcpy, memset

import numpy as np

from policies import PolicyContractError
from policies.compiled import reshape_kernel

from policies._kernels.kernel cimport Kernel, QueueKernel
from policies._kernels.slots cimport SlotMap, slots_add, slots_release_unheld
from workloads.native.hashmap cimport map_get, map_prefetch, map_prefetch_deletion
from workloads.native.memory cimport __builtin_prefetch, grow_aligned, PREFETCH_DISTANCE


cdef enum:
    LARGE_MAP = (1 << 16) - 1  # the mask of a key map of 1 MiB: a node this large prefetches in stages


cdef inline bint in_classes(int64_t key, const int64_t[::1] classes, int class_shift) noexcept:
    """Whether the key's class (key >> class_shift) is one of `classes`."""
    cdef Py_ssize_t j
    for j in range(classes.shape[0]):
        if key >> class_shift == classes[j]:
            return True
    return False


cdef bint hit_moves_links(Kernel kernel):
    """Whether a hit relinks the slot's queue neighbours (HIT_MOVES_LINKS, the kernel class's own word,
    as LRU's says): prefetch_links then asks for them ahead."""
    return isinstance(kernel, QueueKernel) and vars(type(kernel)).get("HIT_MOVES_LINKS", False)


cdef class Node:
    """One cache server: its kernel, its keys' slots, their TTLs and stamps; up or down."""

    def __init__(self, Kernel kernel, bint count_bytes, bint refresh_on_hit, bint ttls, bint stamps,
                 double max_ttl=0.0, watermarks=None):
        self.count_bytes, self.stamps, self.max_ttl = count_bytes, stamps, max_ttl
        self.batches = watermarks is not None
        self.high_mark, self.low_mark = watermarks if self.batches else (0.0, 0.0)
        self.burst = 0
        self.refresh_on_hit = refresh_on_hit and not max_ttl  # a gutter node's entry lives max_ttl at most
        self.ttls = ttls or max_ttl > 0
        self.up = True
        self.slots = SlotMap(kernel)
        self.map = &self.slots.map  # inside the slot map, which lives as long as the node
        self.kernel = kernel
        self.timed = kernel.READS_CLOCK
        self.hit_moves_links = hit_moves_links(kernel)

    def __dealloc__(self):
        free(self.entries)

    def clear(self, Kernel kernel):
        """Lose everything (the node failed): a fresh kernel, no keys."""
        self.kernel = kernel
        self.hit_moves_links = hit_moves_links(kernel)
        self.slots.clear(kernel)

    # -- slots ----------------------------------------------------------------------
    # A node's state (its key map, the kernel's per-slot arrays, its own) is far larger than the CPU's
    # caches, and a request's path reads it link after link.  The loop knows the next requests' keys, so
    # it asks for their state ahead, in two stages: the key's bucket in the map first, and some requests
    # later, that bucket being in cache by then, the state of the slot it holds.  Evictions likewise ask
    # for the next victims' state.  Hints only: nothing here changes a decision.
    cdef void prefetch(self, int64_t key) noexcept:
        """Stage one: the key's bucket in the key map."""
        map_prefetch(self.map, key)

    @property
    def large(self):
        """Whether the node's state outgrows the caches (its key map is LARGE_MAP or more): the loop
        prefetches its requests' later stages only then."""
        return self.map.mask >= LARGE_MAP

    cdef void prefetch_entry(self, int64_t key) noexcept:
        """Stage two (after stage one had time to arrive): the state of the key's slot, if it has one."""
        cdef int32_t slot
        if self.map.mask < LARGE_MAP:  # a small node's state stays in cache: no need
            return
        slot = <int32_t>map_get(self.map, key)
        if slot < 0:
            return
        self.kernel.prefetch(slot)
        if self.ttls or self.stamps:
            __builtin_prefetch(&self.entries[slot])

    cdef void prefetch_links(self, int64_t key) noexcept:
        """Stage three, for LRU's kernel, whose hit moves the slot to the back: the links of its neighbours,
        which the move rewrites (the slot's own links were asked for at stage two)."""
        cdef int32_t slot, older, newer
        cdef int32_t* pairs
        if not self.hit_moves_links or self.map.mask < LARGE_MAP:
            return
        slot = <int32_t>map_get(self.map, key)
        if slot < 0:
            return
        pairs = (<QueueKernel>self.kernel).links.pairs  # (a slot's links are NIL or a slot's: in the array)
        older, newer = pairs[2 * slot], pairs[2 * slot + 1]
        if older >= 0:
            __builtin_prefetch(&pairs[2 * older])
        if newer >= 0:
            __builtin_prefetch(&pairs[2 * newer])

    cdef void prefetch_victims(self) noexcept:
        """After an eviction: the next victim's bucket in the key map (its key was asked for at the last
        eviction), and the state of the one after it (its key, its expiry, the kernel's)."""
        cdef int32_t first, second
        if self.map.mask < LARGE_MAP:
            return
        first = self.kernel.upcoming_victim(0)
        if first < 0:
            return
        map_prefetch_deletion(self.map, self.slots.key_of[first])  # (its eviction deletes it from the map)
        second = self.kernel.upcoming_victim(1)
        if second < 0:
            return
        __builtin_prefetch(&self.slots.key_of[second])
        __builtin_prefetch(&self.slots.mapped[second])
        self.kernel.prefetch(second)
        if self.ttls:
            __builtin_prefetch(&self.entries[second])

    cdef int32_t new_slot(self, int64_t key) except -1:
        """A slot for a key that has none (the slot map's), this node's arrays grown to cover it."""
        cdef int32_t slot = slots_add(self.slots, key)
        cdef Py_ssize_t room = self.slots.room
        if room > self.room:
            if self.ttls or self.stamps:
                self.entries = <Entry*>grow_aligned(self.entries, self.room, room, sizeof(Entry))
            self.room = room
        self.forget(slot)
        return slot

    cdef void forget(self, int32_t slot) noexcept:
        """The slot's key left the cache (or just came): it has no expiry."""
        if self.ttls:
            self.entries[slot].expires_at = INFINITY
            self.entries[slot].ttl = 0.0

    cdef void evicted(self) noexcept:
        """What the kernel just evicted: its expiries go, and slots it keeps no ghost of are free."""
        cdef Py_ssize_t i
        cdef int32_t slot
        for i in range(self.kernel.n_evicted):
            slot = self.kernel.evicted[i]
            self.forget(slot)
            slots_release_unheld(self.slots, slot)

    # -- what the request loop asks ---------------------------------------------------
    cdef int32_t lookup(self, int64_t key, double now) noexcept:
        """A read at `now`: the key's slot on a hit, MISS, or EXPIRED (dropped first: a miss).

        CacheNode.lookup's order: the TTL first (an expired entry is removed
        before the policy sees the read), then the filter records the read,
        then the kernel looks it up.
        """
        cdef int32_t slot = <int32_t>map_get(self.map, key)
        cdef bint expired = False
        cdef Kernel kernel = self.kernel
        if slot >= 0 and self.ttls and self.entries[slot].expires_at != INFINITY:
            if not kernel.contains(slot):
                self.forget(slot)
            elif self.entries[slot].expires_at <= now:
                self.forget(slot)
                kernel.remove(slot)
                expired = True
            elif self.refresh_on_hit:
                self.entries[slot].expires_at = now + self.entries[slot].ttl
        if kernel.admission is not None:
            kernel.admission.record(<uint64_t>key)
        if self.timed:  # CacheNode tells a timed policy the time
            kernel.advance(<int64_t>now)  # whole seconds, as the reference's int(now)
        if slot < 0:
            if not kernel.sees_new_keys:
                return MISS
            try:  # a kernel that sees new keys (the clocks of LRB, 3L-Cache, GL-Cache) looks them up too
                slot = self.new_slot(key)
            except (MemoryError, OverflowError) as error:
                kernel.fail(error)
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
        if self.max_ttl > 0:
            ttl = min(ttl, self.max_ttl) if ttl > 0 else self.max_ttl
        cdef int32_t slot
        if self.timed:
            self.kernel.advance(<int64_t>now)  # CacheNode._insert's
        slot = self.insert(key, size)
        if slot < 0:
            return 0
        self.forget(slot)
        if ttl > 0 and self.ttls:
            self.entries[slot].expires_at = now + ttl
            if self.refresh_on_hit:
                self.entries[slot].ttl = ttl
        if self.stamps:
            self.entries[slot].writes = writes
            self.entries[slot].bulk = bulk
        return 1

    cdef int fill_copy(self, Node owner, int64_t key, int64_t size) except -1:
        """CacheNode.fill_copy: store a copy of `owner`'s entry of `key` (which it holds), its expiry, TTL
        and stamp with it (a warm-up); 1 if admitted."""
        cdef int32_t source = <int32_t>map_get(owner.map, key)
        cdef int32_t slot = self.insert(key, size)
        if slot < 0:
            return 0
        self.forget(slot)
        if self.ttls and owner.ttls:
            self.entries[slot].expires_at = owner.entries[source].expires_at
            self.entries[slot].ttl = owner.entries[source].ttl
        if self.stamps:
            self.entries[slot].writes = owner.entries[source].writes
            self.entries[slot].bulk = owner.entries[source].bulk
        return 1

    cdef bint live(self, int64_t key, double now) noexcept:
        """CacheNode.live: the node holds `key` and it has not expired at `now`."""
        cdef int32_t slot = <int32_t>map_get(self.map, key)
        if slot < 0 or not self.kernel.contains(slot):
            return False
        return not self.ttls or self.entries[slot].expires_at > now

    cdef int32_t insert(self, int64_t key, int64_t size) except -2:
        """CacheNode._insert: the kernel's insert, through the admission filter; the key's slot if it is
        cached after it, else -1 (its slot, if it had one, forgotten as it was evicted)."""
        cdef Kernel kernel = self.kernel
        cdef int64_t units = size if self.count_bytes else 1
        cdef int32_t slot = <int32_t>map_get(self.map, key)
        if (kernel.admission is None or (slot >= 0 and kernel.contains(slot))
                or kernel.admission.admit(<uint64_t>key, units)):
            if slot < 0:
                slot = self.new_slot(key)
            kernel.n_evicted = 0
            kernel.insert(slot, units)
            kernel.check()
            if kernel.n_evicted:
                self.evicted()
                self.prefetch_victims()
        if kernel.used() > kernel.capacity:  # the contract, checked after every insert (sim/node.py)
            raise PolicyContractError(
                f"policy holds {kernel.used()} units after an insert, over its capacity {kernel.capacity}"
            )
        if self.batches and kernel.used() >= self.high_mark * kernel.capacity:
            self.evict_batch()
        if slot < 0 or not self.slots.mapped[slot] or not kernel.contains(slot):
            return -1  # refused (its slot, if it had one, was forgotten as it was evicted)
        return slot

    cdef int evict_batch(self) except -1:
        """CacheNode._insert's batch eviction: down to the low mark, the entries counted in `burst`."""
        cdef Kernel kernel = self.kernel
        kernel.n_evicted = 0
        kernel.evict_to(<int64_t>(self.low_mark * kernel.capacity))
        kernel.check()
        self.burst += kernel.n_evicted
        self.evicted()
        return 0

    cdef bint remove(self, int64_t key) noexcept:
        """Drop a cached key (expiry, invalidation); a ghost of it stays a ghost."""
        cdef int32_t slot = <int32_t>map_get(self.map, key)
        if slot < 0:
            return False
        self.forget(slot)
        return self.kernel.contains(slot) and self.kernel.remove(slot)

    cdef bint contains(self, int64_t key) noexcept:
        cdef int32_t slot = <int32_t>map_get(self.map, key)
        return slot >= 0 and self.kernel.contains(slot)

    cdef double expiry(self, int64_t key) noexcept:
        """When the key's entry expires (INFINITY: it has none)."""
        cdef int32_t slot = <int32_t>map_get(self.map, key)
        return self.entries[slot].expires_at if slot >= 0 and self.ttls else INFINITY

    # -- rare, from Python ----------------------------------------------------------------
    def resize(self, reference):
        """CacheNode.resize: the capacity of `reference` (the node's policy built at it), evicting down to it."""
        reshape_kernel(self.kernel, reference)
        self.evicted()

    def is_live(self, int64_t key, double now):
        return self.live(key, now)

    def units_of(self, int64_t key):
        """The units `key`'s entry takes (it is cached)."""
        return self.kernel.size_of[<int32_t>map_get(self.map, key)]

    @property
    def capacity(self):
        return self.kernel.capacity

    def keys(self):
        """The cached keys, in the order of the Python policy's keys()."""
        return self.slots.keys()

    def drop_keys(self, keys):
        """Drop these cached keys (a bulk update that invalidates their classes)."""
        for key in keys:
            self.remove(key)

    def drop_classes(self, classes, int class_shift):
        """drop_keys of the cached keys whose class (key >> class_shift) is listed, in keys()' order: a bulk
        update that invalidates the classes, without a Python int per cached key.

        A kernel whose removals commute (REMOVALS_COMMUTE: each removal unlinks its slot and nothing else
        moves) ends in the same state whatever their order, so its slots are scanned in slot order, one
        pass over the arrays, rather than walked in keys()' order, which follows links across memory.
        """
        cdef int64_t[::1] listed = np.asarray(sorted(classes), dtype=np.int64)
        cdef int32_t[::1] order
        cdef int32_t[::1] doomed
        cdef Py_ssize_t i, n = 0
        cdef int32_t slot
        cdef Kernel kernel = self.kernel
        if vars(type(kernel)).get("REMOVALS_COMMUTE", False):  # (the class's own word: a subclass may differ)
            for i in range(self.slots.made):
                slot = <int32_t>i
                if self.slots.mapped[slot] and in_classes(self.slots.key_of[slot], listed, class_shift):
                    if kernel.contains(slot):
                        self.drop_slot(slot)
            return
        order = np.asarray(kernel.order(), dtype=np.int32)
        doomed = np.empty(order.shape[0], dtype=np.int32)
        for i in range(order.shape[0]):  # the keys first, as drop_keys is given them
            if i + PREFETCH_DISTANCE < order.shape[0]:
                __builtin_prefetch(&self.slots.key_of[order[i + PREFETCH_DISTANCE]])
            if in_classes(self.slots.key_of[order[i]], listed, class_shift):
                doomed[n] = order[i]
                n += 1
        for i in range(n):  # (a cached slot's key maps to it: remove(key) by its slot)
            if i + PREFETCH_DISTANCE < n:
                kernel.prefetch(doomed[i + PREFETCH_DISTANCE])
            self.drop_slot(doomed[i])

    cdef void drop_slot(self, int32_t slot) noexcept:
        """remove() of the key that has `slot`."""
        self.forget(slot)
        if self.kernel.contains(slot):
            self.kernel.remove(slot)

    @property
    def slots_in_use(self):
        """Keys that have a slot now (cached, ghosts, and those not swept yet)."""
        return self.slots.count
