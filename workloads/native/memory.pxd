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
from libc.stdlib cimport atol, getenv
from libc.string cimport memset

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
