# A binary min-heap in C, the one the compiled code uses: FCFS servers' free times, a node's
# answer times (live load), the timed model's calendar, the heaps of LFU, GDSF, Belady and
# LFU-DA.  One sift up and one sift down serve them all, for two kinds of item (a fused
# type, so each compiles to its own tight loop): a time (a double), or an entry ordered by
# (primary, secondary) that carries a `value` the heap never reads (a slot, an index into
# its owner's pool).
#
# A heap of entries may be indexed: `position` then keeps each value's index in the heap
# (-1: absent), updated at every move, so that an entry can be given a new key or taken out
# from the middle (heap_set, heap_discard); its values are small integers below the owner's
# size of `position`.  A plain heap has position NULL.  Heaps start zeroed (a struct member
# of a cdef class is); freeing a zeroed or freed one is safe.

from cpython.mem cimport PyMem_Free
from libc.stdint cimport int32_t, int64_t

from workloads.native.memory cimport grow


cdef struct HeapEntry:
    double primary      # the order: primary first,
    int64_t secondary   # then secondary
    int64_t value       # what the entry stands for; the heap only moves it


ctypedef fused Item:
    double
    HeapEntry


# -- the sifts, for either kind of item ----------------------------------------------------

cdef inline bint before(const Item* a, const Item* b) noexcept nogil:
    if Item is double:
        return a[0] < b[0]
    else:
        return a.primary < b.primary or (a.primary == b.primary and a.secondary < b.secondary)


cdef inline void place(Item* at, int32_t* position, Py_ssize_t i, Item x) noexcept nogil:
    at[i] = x
    if Item is HeapEntry:
        if position != NULL:
            position[x.value] = <int32_t>i


cdef inline void sift_up(Item* at, int32_t* position, Py_ssize_t i, Item x) noexcept nogil:
    """Put `x` at position i (a hole, or a new last one) or above it, moving larger parents down."""
    cdef Py_ssize_t parent
    while i > 0:
        parent = (i - 1) >> 1
        if not before(&x, &at[parent]):
            break
        place(at, position, i, at[parent])
        i = parent
    place(at, position, i, x)


cdef inline void sift_down(Item* at, int32_t* position, Py_ssize_t size, Py_ssize_t i, Item x) noexcept nogil:
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
        place(at, position, i, at[child])
        i = child
    place(at, position, i, x)


# -- a heap of times -------------------------------------------------------------------------

cdef struct Times:
    double* at          # at[0] is the smallest
    Py_ssize_t size
    Py_ssize_t room


cdef inline int times_reserve(Times* h, Py_ssize_t room) except -1:
    if room > h.room:
        grow(<void**>&h.at, h.room, room, sizeof(double))
        h.room = room
    return 0


cdef inline int times_push(Times* h, double x) except -1:
    if h.size == h.room:
        times_reserve(h, max(2 * h.room, 16))
    h.size += 1
    sift_up(h.at, NULL, h.size - 1, x)
    return 0


cdef inline void times_pop(Times* h) noexcept nogil:
    """Drop the smallest (the heap is not empty)."""
    h.size -= 1
    if h.size:
        sift_down(h.at, NULL, h.size, 0, h.at[h.size])


cdef inline void times_replace_first(Times* h, double x) noexcept nogil:
    """Python's heapreplace: the smallest gives its place to `x` (the heap is not empty)."""
    sift_down(h.at, NULL, h.size, 0, x)


cdef inline void times_free(Times* h) noexcept:
    PyMem_Free(h.at)
    h.at = NULL
    h.size = h.room = 0


# -- a heap of entries ---------------------------------------------------------------------

cdef struct Heap:
    HeapEntry* at       # at[0] is the smallest
    Py_ssize_t size
    Py_ssize_t room
    int32_t* position   # NULL, or value -> its index in `at`, -1 when absent (the owner's array)


cdef inline int heap_reserve(Heap* h, Py_ssize_t room) except -1:
    """Room for `room` entries (the entries kept)."""
    if room > h.room:
        grow(<void**>&h.at, h.room, room, sizeof(HeapEntry))
        h.room = room
    return 0


cdef inline int heap_push(Heap* h, HeapEntry e) except -1:
    """Add an entry, doubling the room when it is full."""
    if h.size == h.room:
        heap_reserve(h, max(2 * h.room, 16))
    h.size += 1
    sift_up(h.at, h.position, h.size - 1, e)
    return 0


cdef inline HeapEntry heap_pop(Heap* h) noexcept nogil:
    """Take the smallest entry out (the heap is not empty)."""
    cdef HeapEntry top = h.at[0]
    if h.position != NULL:
        h.position[top.value] = -1
    h.size -= 1
    if h.size:
        sift_down(h.at, h.position, h.size, 0, h.at[h.size])
    return top


cdef inline void heap_free(Heap* h) noexcept:
    PyMem_Free(h.at)
    h.at = NULL
    h.size = h.room = 0


# -- the indexed form: position != NULL, room for every value --------------------------------

cdef inline void heap_set(Heap* h, HeapEntry e) noexcept nogil:
    """Add e.value's entry, or give it e's key if it has one."""
    cdef Py_ssize_t i = h.position[e.value]
    if i < 0:
        i = h.size
        h.size += 1
    sift_up(h.at, h.position, i, e)
    i = h.position[e.value]
    sift_down(h.at, h.position, h.size, i, h.at[i])


cdef inline void heap_discard(Heap* h, int64_t value) noexcept nogil:
    """Take `value`'s entry out, wherever it is (nothing if it has none): the last entry fills the hole."""
    cdef Py_ssize_t i = h.position[value]
    cdef HeapEntry last
    if i < 0:
        return
    h.position[value] = -1
    h.size -= 1
    if i < h.size:
        last = h.at[h.size]
        sift_up(h.at, h.position, i, last)
        i = h.position[last.value]
        sift_down(h.at, h.position, h.size, i, h.at[i])
