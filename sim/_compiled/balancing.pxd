from libc.stdint cimport int32_t, int64_t


cdef class Chooser:
    cdef int32_t candidates  # how many of a key's ranked nodes it chooses among

    cdef int32_t choose(self, const int64_t* ranked, int32_t depth, const int64_t* outstanding, int64_t total,
                        int32_t up) noexcept
