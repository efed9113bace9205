# splitmix64's finaliser in C: workloads/hashing.py's mix64, the project's one stable hash of
# a 64-bit id, for the compiled code (tests/workloads/test_native.py holds the two equal).

from libc.stdint cimport uint64_t


cdef inline uint64_t mix64_offset(uint64_t x, uint64_t offset) noexcept nogil:
    """mix64 of one value with a salt, given as hashing.mix64_offset(salt) = (salt + 1) * the golden gamma."""
    x += offset
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL
    return x ^ (x >> 31)


cdef inline uint64_t mix64(uint64_t x) noexcept nogil:
    """mix64 of one value, no salt: scatters a 64-bit id over the 64-bit range (Steele, Lea, Flood, OOPSLA 2014)."""
    return mix64_offset(x, 0x9E3779B97F4A7C15ULL)


cdef inline uint64_t fibonacci(uint64_t x, int shift) noexcept nogil:
    """The top 64 - `shift` bits of x times 2**64 / the golden ratio: Fibonacci (multiplicative) hashing.

    One multiplication: how the hash map (hashmap.pxd) spreads keys over its
    2**(64 - shift) buckets, on the request loop's hottest path; it needs spread,
    not mix64's every-bit avalanche, and is no id of anything (D. Knuth, TAOCP
    vol. 3, 6.4).
    """
    return (x * 0x9E3779B97F4A7C15ULL) >> shift
