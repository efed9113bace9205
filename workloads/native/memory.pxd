# Memory for the compiled code: blocks that grow, and asking for memory before it is read.
#
# `grow` is the one way a C block grows, and the one way it fails: the block keeps its
# contents and gains zeroed items; if the memory is not there, the block stays exactly as
# it was (still valid, still its owner's to free, once) and MemoryError is raised.  Zeroed
# items mean an owner that fails half way through building its parts frees NULLs and
# zeros, never garbage.  (hashmap.pxd's map_init asks through `refused` too.)
#
# A test makes each allocation fail in turn: with KVSIM_FAIL_ALLOCATION=N in the
# environment, the N-th allocation (counting from 0) of each extension module is refused,
# as if the memory were not there, and the later ones are not
# (tests/policies/test_allocation_failures.py).  Without it, `refused` is one compare.

from cpython.mem cimport PyMem_Realloc
from libc.stdint cimport SIZE_MAX
from libc.stdlib cimport atol, free, getenv
from libc.string cimport memcpy, memset
from posix.stdlib cimport posix_memalign

cdef extern from *:
    """
    /* Allocations of this module still to go before the one refused; -2: the environment not read, -1: none refused. */
    static long kvsim_allocations_before_refusal = -2;
    """
    long kvsim_allocations_before_refusal


cdef inline bint refused() noexcept nogil:
    """Whether the test hook (KVSIM_FAIL_ALLOCATION) refuses this allocation."""
    global kvsim_allocations_before_refusal
    cdef const char* text
    if kvsim_allocations_before_refusal == -1:
        return False
    if kvsim_allocations_before_refusal == -2:
        text = getenv("KVSIM_FAIL_ALLOCATION")
        kvsim_allocations_before_refusal = atol(text) if text != NULL and text[0] != 0 else -1
        if kvsim_allocations_before_refusal < 0:
            kvsim_allocations_before_refusal = -1
            return False
    if kvsim_allocations_before_refusal == 0:
        kvsim_allocations_before_refusal = -1
        return True
    kvsim_allocations_before_refusal -= 1
    return False

cdef extern from *:
    void __builtin_prefetch(const void* address) noexcept nogil  # GCC's and Clang's: a hint, no effect on results

cdef enum:
    PREFETCH_DISTANCE = 16  # a loop over requests asks for the memory of the request this far ahead

cdef extern from *:
    """
    #if defined(__linux__)
    #include <sys/mman.h>
    #endif
    /* Ask Linux to back a block with 2 MiB pages where it covers whole ones (a hint, like a prefetch). */
    static inline void kvsim_huge_pages(void* block, size_t bytes) {
    #if defined(__linux__) && defined(MADV_HUGEPAGE)
        size_t page = 4096, start = ((size_t)block + page - 1) & ~(page - 1), end = ((size_t)block + bytes) & ~(page - 1);
        if (end > start) madvise((void*)start, end - start, MADV_HUGEPAGE);
    #else
        (void)block; (void)bytes;
    #endif
    }
    """
    # A large table read at random (a node's key map, its entries) misses the TLB on nearly every read
    # with 4 KiB pages; 2 MiB pages cover it with a few entries.  Linux's default ("madvise") gives them
    # to the blocks that ask: these.
    void huge_pages "kvsim_huge_pages"(void* block, size_t bytes) noexcept nogil

cdef enum:
    HUGE_PAGE = 1 << 21  # bytes: blocks this large ask for huge pages


cdef inline int grow(void** block, Py_ssize_t count, Py_ssize_t new_count, size_t item) except -1:
    """Make *block (a PyMem block of `count` items, or NULL) hold `new_count`: items kept, new ones zeroed."""
    cdef void* bigger
    if new_count <= count:
        return 0
    if <size_t>new_count > SIZE_MAX // item or refused():
        raise MemoryError()
    bigger = PyMem_Realloc(block[0], <size_t>new_count * item)
    if bigger == NULL:
        raise MemoryError()
    memset(<char*>bigger + <size_t>count * item, 0, <size_t>(new_count - count) * item)
    block[0] = bigger
    return 0


cdef inline void* grow_aligned(void* block, Py_ssize_t count, Py_ssize_t new_count, size_t item) except NULL:
    """`grow` for a table read at random (a node's key map and entries, a slot's key): a new block, free() it,
    aligned to a cache line, or to a 2 MiB page and backed by such pages when it is that large, `count` items
    of `block` (NULL when 0) kept and the new zeroed; the old block freed.  Without the memory, MemoryError
    (the old block still the caller's).  (A block of 4 KiB pages read at random misses the TLB on nearly
    every read: its page-table walk costs about as much as the read.)"""
    cdef void* bigger = NULL
    cdef size_t bytes = <size_t>new_count * item
    cdef size_t alignment = HUGE_PAGE if bytes >= HUGE_PAGE else 64
    if <size_t>new_count > SIZE_MAX // item or refused() or posix_memalign(&bigger, alignment, bytes) != 0:
        raise MemoryError()
    if bytes >= HUGE_PAGE:
        huge_pages(bigger, bytes)
    if count:
        memcpy(bigger, block, <size_t>count * item)
    memset(<char*>bigger + <size_t>count * item, 0, bytes - <size_t>count * item)
    free(block)
    return bigger
