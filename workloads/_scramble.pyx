"""The Feistel permutation of workloads/popularity.py in C: the same integers, a pass instead of dozens.

FeistelPermutation's numpy network makes a temporary array per operation of
every round (and again for values that cycle-walk); here each value goes
through its rounds in registers.  Integer arithmetic modulo 2**64 only, so the
two give the same ids bit for bit (tests/workloads hold them equal); numpy's
stays the fallback where no compiler built this.
"""

from libc.stdint cimport int64_t, uint64_t
from libc.stdlib cimport free, malloc

from workloads.native.hashing cimport mix64_offset


def permute(const int64_t[::1] values, uint64_t size, int bits, const uint64_t[::1] offsets, int64_t[::1] out):
    """out[i] = the permutation of values[i] (in [0, size)): the network on `bits` bits, cycle-walked.

    `offsets`: each round's salt as mix64's offset (FeistelPermutation._offsets).
    """
    cdef Py_ssize_t i, j, lane, n = values.shape[0], rounds = offsets.shape[0], walking, still
    cdef const uint64_t* offset = &offsets[0] if rounds else NULL
    cdef uint64_t four[4]
    cdef Py_ssize_t* outside = <Py_ssize_t*>malloc(max(n, 1) * sizeof(Py_ssize_t))
    if outside == NULL:
        raise MemoryError()
    with nogil:
        # Four values at a time through the rounds, side by side: each round's hash is a chain of
        # dependent multiplications, and four independent chains keep the multiplier busy.
        for i in range(0, n - n % 4, 4):
            for lane in range(4):
                four[lane] = <uint64_t>values[i + lane]
            network4(four, bits, offset, rounds)
            for lane in range(4):
                out[i + lane] = <int64_t>four[lane]
        for i in range(n - n % 4, n):
            out[i] = <int64_t>network(<uint64_t>values[i], bits, offset, rounds)
        walking = 0
        for i in range(n):  # without a branch: which values landed outside [0, size)
            outside[walking] = i
            walking += <uint64_t>out[i] >= size
        # Cycle walking: those values through the network again, a pass over all of them at a time
        # (four side by side again), until every one is inside.
        while walking:
            for j in range(0, walking - walking % 4, 4):
                for lane in range(4):
                    four[lane] = <uint64_t>out[outside[j + lane]]
                network4(four, bits, offset, rounds)
                for lane in range(4):
                    out[outside[j + lane]] = <int64_t>four[lane]
            for j in range(walking - walking % 4, walking):
                out[outside[j]] = <int64_t>network(<uint64_t>out[outside[j]], bits, offset, rounds)
            still = 0
            for j in range(walking):
                i = outside[j]
                outside[still] = i
                still += <uint64_t>out[i] >= size
            walking = still
    free(outside)


cdef inline void network4(uint64_t* x, int bits, const uint64_t* offsets, Py_ssize_t rounds) noexcept nogil:
    """`network` on four values at once, in place (the same rounds, interleaved)."""
    cdef int high_bits = bits - bits // 2, low_bits = bits // 2, swap, lane
    cdef uint64_t high[4]
    cdef uint64_t low[4]
    cdef uint64_t mixed, mask
    cdef Py_ssize_t r
    for lane in range(4):
        high[lane] = x[lane] >> low_bits
        low[lane] = x[lane] & ((<uint64_t>1 << low_bits) - 1)
    for r in range(rounds):
        mask = (<uint64_t>1 << high_bits) - 1
        for lane in range(4):
            mixed = (high[lane] + mix64_offset(low[lane], offsets[r])) & mask
            high[lane] = low[lane]
            low[lane] = mixed
        swap = high_bits
        high_bits, low_bits = low_bits, swap
    for lane in range(4):
        x[lane] = (high[lane] << low_bits) | low[lane]


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
