from libc.stdint cimport int32_t, int64_t, uint8_t

from policies._kernels.kernel cimport Kernel
from workloads.native.hashmap cimport Map, map_delete


cdef class SlotMap:
    cdef Kernel kernel
    cdef Map map              # key -> slot
    cdef int64_t* key_of      # slot -> key (where mapped)
    cdef uint8_t* mapped      # slot -> 1 if a key has it
    cdef int32_t* free_slots  # slots to reuse, free_slots[:n_free]
    cdef Py_ssize_t n_free, made, room, sweep_at
    cdef bint keeps_ids       # the kernel reads Kernel.ids (READS_IDS): a new slot's id is set
    cdef readonly Py_ssize_t sweeps

    cdef int32_t allocate(self, int64_t key) except -1
    cdef void sweep(self) noexcept
    cdef int32_t give(self, int64_t key, int64_t key_id) except -1
    cdef void release_evicted(self) noexcept


# The calls of a request's path, inline in the loops that make them (the timed model's nodes).

cdef inline int32_t slots_add(SlotMap s, int64_t key) except -1:
    """A slot for a key that has none: a free one (after a sweep, when one is due), or a new one."""
    if not s.n_free and s.map.count >= s.sweep_at:
        s.sweep()
    return s.allocate(key)


cdef inline void slots_release(SlotMap s, int32_t slot) noexcept:
    """The slot's key has no state left in the kernel: the slot goes back to the free list."""
    map_delete(&s.map, s.key_of[slot])
    s.mapped[slot] = 0
    s.free_slots[s.n_free] = slot
    s.n_free += 1


cdef inline void slots_release_unheld(SlotMap s, int32_t slot) noexcept:
    """Release a slot the kernel just evicted, unless it keeps a ghost of it."""
    if s.mapped[slot] and not s.kernel.holds(slot):
        slots_release(s, slot)
