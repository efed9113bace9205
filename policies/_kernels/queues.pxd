# Intrusive doubly-linked queues over slot numbers: the OrderedDicts of the
# Python policies, in C.
#
# A slot's two neighbours sit side by side in one int32 array (one cache line
# for both), shared by every queue of one `Links`: a slot is in at most one of
# those queues at a time (a policy whose slot may sit in two lists at once, as
# LIRS's stack and queue, has two Links).  A Queue is its two ends, its length
# and the sum of its sizes.
# The functions are inline, in this .pxd, so that each kernel's loops compile
# them in: no call, no vtable, on the hottest path of every policy.

from libc.stdint cimport int32_t, int64_t

cdef enum:
    NIL = -1  # no slot: the end of a queue, or an empty queue's ends


cdef struct Links:
    int32_t* pairs  # pairs[2 * slot]: the slot towards the front (older), pairs[2 * slot + 1]: towards the back


cdef inline int32_t after(Links* links, int32_t slot) noexcept nogil:
    return links.pairs[2 * slot + 1]


cdef struct Queue:
    int32_t head   # the front: oldest, or least recently used
    int32_t tail   # the back: newest, or most recently used
    int64_t count  # slots in the queue
    int64_t used   # the sum of their sizes


cdef inline void clear(Queue* q) noexcept nogil:
    q.head = NIL
    q.tail = NIL
    q.count = 0
    q.used = 0


cdef inline void push_back(Links* links, Queue* q, int32_t slot, int64_t size) noexcept nogil:
    links.pairs[2 * slot] = q.tail
    links.pairs[2 * slot + 1] = NIL
    if q.tail == NIL:
        q.head = slot
    else:
        links.pairs[2 * q.tail + 1] = slot
    q.tail = slot
    q.count += 1
    q.used += size


cdef inline void unlink(Links* links, Queue* q, int32_t slot, int64_t size) noexcept nogil:
    cdef int32_t older = links.pairs[2 * slot], newer = links.pairs[2 * slot + 1]
    if older == NIL:
        q.head = newer
    else:
        links.pairs[2 * older + 1] = newer
    if newer == NIL:
        q.tail = older
    else:
        links.pairs[2 * newer] = older
    q.count -= 1
    q.used -= size


cdef inline void move_to_back(Links* links, Queue* q, int32_t slot) noexcept nogil:
    """An OrderedDict's move_to_end: the slot becomes the newest, sizes unchanged."""
    if q.tail != slot:
        unlink(links, q, slot, 0)
        push_back(links, q, slot, 0)
