"""The Feistel permutation of workloads/popularity.py in C: the same integers, a pass instead of dozens.

FeistelPermutation's numpy network makes a temporary array per operation of
every round (and again for values that cycle-walk); here each value goes
through its rounds in registers.  Integer arithmetic modulo 2**64 only, so the
two give the same ids bit for bit (tests/workloads hold them equal); numpy's
stays the fallback where no compiler built this.
"""

from libc.stdint cimport int64_t, uint64_t

from workloads.native.hashing cimport mix64_offset


def permute(const int64_t[::1] values, uint64_t size, int bits, const uint64_t[::1] offsets, int64_t[::1] out):
    """out[i] = the permutation of values[i] (in [0, size)): the network on `bits` bits, cycle-walked.

    `offsets`: each round's salt as mix64's offset (FeistelPermutation._offsets).
    """
    cdef Py_ssize_t i, n = values.shape[0], rounds = offsets.shape[0]
    cdef const uint64_t* offset = &offsets[0] if rounds else NULL
    cdef uint64_t x
    with nogil:
        # Two passes: the first without a branch, so the CPU overlaps the rounds of neighbouring values.
        for i in range(n):
            out[i] = <int64_t>network(<uint64_t>values[i], bits, offset, rounds)
        for i in range(n):
            x = <uint64_t>out[i]
            while x >= size:  # cycle walking: outside [0, size), through the network again
                x = network(x, bits, offset, rounds)
            out[i] = <int64_t>x


cdef inline uint64_t network(uint64_t x, int bits, const uint64_t* offsets, Py_ssize_t rounds) noexcept nogil:
    """The Feistel network on [0, 2**bits): (A, B) -> (B, A + F(B) mod 2**|A|) per round."""
    cdef int high_bits = bits - bits // 2, low_bits = bits // 2, swap
    cdef uint64_t high = x >> low_bits, low = x & ((<uint64_t>1 << low_bits) - 1), mixed
    cdef Py_ssize_t r
    for r in range(rounds):
        mixed = (high + mix64_offset(low, offsets[r])) & ((<uint64_t>1 << high_bits) - 1)
        high, low = low, mixed
        swap = high_bits
        high_bits, low_bits = low_bits, swap
    return (high << low_bits) | low
