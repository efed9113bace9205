# libCacheSim's next_rand: Lehmer's 128-bit multiplicative generator, its state in two 64-bit
# halves; a draw is the high half of the next state.  The kernels of the policies that draw as
# libCacheSim does (LHD, Cacheus) share it; their Python policies step policies/lhd.py's next_state.

from libc.stdint cimport uint64_t

cdef extern from *:
    """
    static inline uint64_t kvsim_lehmer64(uint64_t *high, uint64_t *low) {
        __uint128_t state = (((__uint128_t)*high) << 64) | *low;
        state *= UINT64_C(0xda942042e4dd58b5);
        *high = (uint64_t)(state >> 64);
        *low = (uint64_t)state;
        return *high;
    }
    """
    uint64_t lehmer64 "kvsim_lehmer64"(uint64_t* high, uint64_t* low) noexcept nogil
