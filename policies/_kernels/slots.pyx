"""Keys to slots for a kernel: the one key -> slot map (the timed model's nodes, a policy fed key by key).

A kernel knows slots, not keys (kernel.pyx).  A caller whose keys are 64-bit
ids of any spread (a Zipf catalogue of 10**9 keys, new keys born forever,
scans) gives a key a slot when the key is first stored, and takes the slot
back when the kernel no longer ``holds`` it (neither cached nor a ghost nor a
pending ghost hit): at once when the kernel reports evicting it without a
ghost, and otherwise (ghosts the kernel forgot without a word) by a sweep,
when the map holds SWEEP_FLOOR keys and then twice the survivors of the last
sweep.  So memory follows the cache, not the key space: a catalogue of 10**9
keys costs what its cached keys cost.

A slot's key is also the kernel's id of it (``Kernel.ids``), the 64 bits
W-TinyLFU's sketch hashes; ``allocate`` sets it only for a kernel that reads
it (READS_IDS), as a store to a slot's id is one more cache line, and page,
per new key.
"""

from cpython.mem cimport PyMem_Free
from libc.stdint cimport int32_t, int64_t, uint8_t, uint64_t
from libc.stdlib cimport free
from libc.string cimport memset

from policies._kernels.kernel cimport AdmissionKernel, Kernel
from workloads.native.hashmap cimport map_clear, map_delete, map_free, map_get, map_init, map_set
from workloads.native.memory cimport grow, grow_aligned

cpdef enum:
    SWEEP_FLOOR = 1024  # sweep when this many keys have slots, then when twice the survivors have


cdef class SlotMap:
    """A kernel's keys (int64) -> its slots, slots recycled when the kernel no longer holds them."""

    def __init__(self, Kernel kernel):
        map_init(&self.map)
        self.clear(kernel)

    def __dealloc__(self):
        map_free(&self.map)
        free(self.key_of)
        PyMem_Free(self.mapped)
        PyMem_Free(self.free_slots)

    def clear(self, Kernel kernel):
        """No keys, and a fresh kernel (a node that failed comes back cold)."""
        self.kernel = kernel
        self.keeps_ids = kernel.READS_IDS
        map_clear(&self.map)
        self.n_free = self.made = 0
        self.sweep_at = SWEEP_FLOOR
        if self.room:
            memset(self.mapped, 0, self.room)

    # -- giving slots and taking them back (the inline steps are in slots.pxd) ----------
    cdef int32_t allocate(self, int64_t key) except -1:
        """A slot for a key that has none, without a sweep (keys mapped in a batch, before the kernel sees them)."""
        cdef int32_t slot
        cdef Py_ssize_t room
        if self.n_free:
            slot = self.free_slots[self.n_free - 1]
        else:
            if self.made >= 2**31 - 1:
                raise OverflowError("more than 2**31 - 1 keys held at once by one kernel")
            if self.made == self.room:
                room = max(2 * self.room, 1024)
                self.key_of = <int64_t*>grow_aligned(self.key_of, self.room, room, sizeof(int64_t))  # (read at random)
                grow(<void**>&self.mapped, self.room, room, sizeof(uint8_t))  # zeroed: not mapped
                grow(<void**>&self.free_slots, self.room, room, sizeof(int32_t))
                self.room = room
            self.kernel.grow(self.made + 1)
            slot = <int32_t>self.made
        map_set(&self.map, key, slot)  # the one step that may fail: nothing is taken before it
        if slot == self.made:
            self.made += 1
        else:
            self.n_free -= 1
        self.key_of[slot] = key
        self.mapped[slot] = 1
        if self.keeps_ids:  # (else a store to a cold line per new key that no one reads)
            self.kernel.ids[slot] = <uint64_t>key  # policies.sketch.key_id of an integer key: its 64 bits
        return slot

    cdef void sweep(self) noexcept:
        """Free the slots of keys the kernel no longer holds (ghosts it forgot without a word)."""
        cdef Py_ssize_t slot
        for slot in range(self.made):
            if self.mapped[slot] and not self.kernel.holds(<int32_t>slot):
                slots_release(self, <int32_t>slot)
        self.sweep_at = max(SWEEP_FLOOR, 2 * self.map.count)
        self.sweeps += 1

    cdef void release_evicted(self) noexcept:
        """Take back every slot of the kernel's last call's evictions that it keeps no ghost of."""
        cdef Py_ssize_t i
        for i in range(self.kernel.n_evicted):
            slots_release_unheld(self, self.kernel.evicted[i])

    # -- for Python (policies/compiled.py's CompiledPolicy): a request at a time ---------------
    # `key` is the map's int64 for the key (policies/key_handles.py), `key_id` its 64-bit id,
    # the bits the kernel hashes: the same for an integer key.  Each call is one request as
    # Admitted and the Python policy make it: the filter sees every lookup and vets every
    # insert of a key not cached; slots evicted without a ghost are taken back at once.

    cdef int32_t give(self, int64_t key, int64_t key_id) except -1:
        """A slot for a key that has none (after a sweep, when one is due), the kernel told its id."""
        cdef int32_t slot = slots_add(self, key)
        self.kernel.ids[slot] = <uint64_t>key_id
        return slot

    def slot(self, int64_t key):
        """The key's slot, or -1."""
        return map_get(&self.map, key)

    def slot_for(self, int64_t key, int64_t key_id):
        """The key's slot, a new one if it has none."""
        cdef int32_t slot = <int32_t>map_get(&self.map, key)
        return slot if slot >= 0 else self.give(key, key_id)

    def lookup(self, int64_t key, int64_t key_id, bint give_slot=False):
        """A lookup: True on a hit.  `give_slot`: a key without a slot gets one (an offline policy's lookup,
        and any lookup of a kernel that sees new keys)."""
        cdef int32_t slot = <int32_t>map_get(&self.map, key)
        cdef Kernel kernel = self.kernel
        cdef bint hit
        if kernel.admission is not None:
            kernel.admission.record(<uint64_t>key_id)
        if slot < 0:
            if not (give_slot or kernel.sees_new_keys):
                return False
            slot = self.give(key, key_id)
        kernel.n_evicted = 0
        hit = kernel.lookup(slot)  # a hit may evict (SLRU, LIRS, W-TinyLFU cool or demote)
        kernel.check()
        self.release_evicted()
        return hit

    def insert(self, int64_t key, int64_t key_id, int64_t size):
        """An insert; the keys it evicted (the map's int64s), in the order they left."""
        cdef int32_t slot = <int32_t>map_get(&self.map, key)
        cdef Kernel kernel = self.kernel
        cdef Py_ssize_t i
        if kernel.admission is not None and (slot < 0 or not kernel.contains(slot)):
            if not kernel.admission.admit(<uint64_t>key_id, size):
                return []
        if slot < 0:
            slot = self.give(key, key_id)
        kernel.n_evicted = 0
        kernel.insert(slot, size)
        kernel.check()
        evicted = [self.key_of[kernel.evicted[i]] for i in range(kernel.n_evicted)]
        self.release_evicted()
        return evicted

    def access(self, int64_t key, int64_t key_id, int64_t size):
        """A lookup, and an insert if it missed: Policy.access; True on a hit."""
        cdef int32_t slot = <int32_t>map_get(&self.map, key)
        cdef Kernel kernel = self.kernel
        cdef AdmissionKernel admission = kernel.admission
        if admission is not None:
            admission.record(<uint64_t>key_id)
        if slot < 0 and kernel.sees_new_keys:
            slot = self.give(key, key_id)
        kernel.n_evicted = 0
        if slot >= 0 and kernel.lookup(slot):
            kernel.check()
            self.release_evicted()
            return True
        if kernel.n_evicted:  # a miss that evicted: the key's own slot is read again below
            self.release_evicted()
            slot = <int32_t>map_get(&self.map, key)
        if admission is not None and (slot < 0 or not kernel.contains(slot)):
            if not admission.admit(<uint64_t>key_id, size):
                return False
        if slot < 0:
            slot = self.give(key, key_id)
        kernel.n_evicted = 0
        kernel.insert(slot, size)
        kernel.check()
        self.release_evicted()
        return False

    def keys_of_evicted(self, slots):
        """The keys of the slots the kernel's last call evicted (evict_slots_to, resize_slots), which are
        taken back unless the kernel keeps a ghost of them."""
        keys = [self.key_of[slot] for slot in slots]
        self.release_evicted()
        return keys

    def map_keys(self, const int64_t[::1] keys, int32_t[::1] out):
        """out[i] = the slot of keys[i], new keys given slots: a sweep first (when due), none while mapping.

        For a replay of a batch, whose kernel call sets each inserted slot's id.
        """
        cdef Py_ssize_t i
        cdef int32_t slot
        if not self.n_free and self.map.count >= self.sweep_at:
            self.sweep()
        for i in range(keys.shape[0]):
            slot = <int32_t>map_get(&self.map, keys[i])
            out[i] = slot if slot >= 0 else self.allocate(keys[i])

    def keys(self):
        """The cached keys, in the order of the kernel's order()."""
        return [self.key_of[slot] for slot in self.kernel.order()]

    def has(self, int64_t key):
        return map_get(&self.map, key) >= 0

    def rekey(self, int64_t key, int64_t new_key):
        """The slot of `key` (it has one) is `new_key`'s now (the kernel's id of it stays)."""
        cdef int32_t slot = <int32_t>map_get(&self.map, key)
        map_set(&self.map, new_key, slot)
        map_delete(&self.map, key)
        self.key_of[slot] = new_key

    @property
    def count(self):
        """Keys that have a slot now (cached, ghosts, and those not swept yet)."""
        return self.map.count

    @property
    def made_slots(self):
        """Slots made so far: the size of the kernel's arrays."""
        return self.made
