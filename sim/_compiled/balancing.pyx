"""The dynamic balancers' choices in C: sim/balancer.py's ``choose``, for the compiled loop.

A dynamic balancer binds its chooser in its own class (``make_chooser``), as
a policy binds its kernel, so the loop (engine.pyx) knows no balancer: it
keeps every node's requests outstanding (the live load) and asks the
chooser, request by request, which of the key's ranked nodes takes it.
Each chooser makes its Python twin's decision, ties included (the tests hold
the compiled loop to the Python one's results).
"""

from libc.math cimport ceil
from libc.stdint cimport int32_t, int64_t


cdef class Chooser:
    """Chooses a node among a request's ranked candidates, by requests outstanding now."""

    def __init__(self, int32_t candidates):
        self.candidates = candidates

    cdef int32_t choose(self, const int64_t* ranked, int32_t depth, const int64_t* outstanding, int64_t total,
                        int32_t up) noexcept:
        """ranked[:depth]: the key's nodes, best first (-1: down); outstanding[node]; total: their sum; up: nodes up.

        Every chooser says its own rule; this one is none.
        """
        return -1


cdef inline int32_t least_busy(const int64_t* ranked, int32_t k, const int64_t* outstanding) noexcept:
    """The first of the least busy of ranked[:k] that are up."""
    cdef int32_t j, node, best = -1
    for j in range(k):
        node = <int32_t>ranked[j]
        if node >= 0 and (best < 0 or outstanding[node] < outstanding[best]):
            best = node
    return best


cdef class LeastBusy(Chooser):
    """PowerOfTwoChoices.choose: of a key's first `candidates` ring nodes, the less busy (the first on a tie)."""

    cdef int32_t choose(self, const int64_t* ranked, int32_t depth, const int64_t* outstanding, int64_t total,
                        int32_t up) noexcept:
        return least_busy(ranked, min(self.candidates, depth), outstanding)


cdef class UnderTheBound(Chooser):
    """BoundedLoads.choose: the first ranked node under ceil((1 + epsilon) x the mean load), else the least busy."""

    cdef double epsilon

    def __init__(self, int32_t candidates, double epsilon):
        Chooser.__init__(self, candidates)
        self.epsilon = epsilon

    cdef int32_t choose(self, const int64_t* ranked, int32_t depth, const int64_t* outstanding, int64_t total,
                        int32_t up) noexcept:
        cdef int32_t j, node, k = min(self.candidates, depth)
        # The bound counts the arriving request too, so some node is always under it.
        cdef double limit = ceil((1.0 + self.epsilon) * <double>(total + 1) / <double>max(1, up))
        for j in range(k):
            node = <int32_t>ranked[j]
            if node >= 0 and outstanding[node] < limit:
                return node
        return least_busy(ranked, k, outstanding)
