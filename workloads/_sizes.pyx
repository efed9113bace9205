"""Workload.sizes_of's loops in C, for classes whose sizes are lognormal or constant: the same sizes.

Apart from workloads/_draws.pyx (the same rules: see its docstring) because
it takes scipy's ndtri, and scipy loads only where a lognormal size is drawn.
The function is scipy's own C one (what its ufunc computes), found when this
module loads through the table of C functions scipy.special.cython_special
exports, rather than cimported: the build then needs no scipy (pip builds in
an environment with only Cython and numpy), and where the table lacks it,
importing this module fails and the sizes are numpy's.
"""

from cpython.pycapsule cimport PyCapsule_GetName, PyCapsule_GetPointer
from libc.math cimport rint
from libc.stdint cimport int64_t, uint8_t, uint64_t

from workloads.native.hashing cimport mix64_offset

# a cpdef function of cython_special in C: its argument, and whether to skip a Python override (no)
ctypedef double (*scipy_function)(double, int) noexcept nogil
cdef bytes NDTRI_SIGNATURE = b"double (double, int __pyx_skip_dispatch)"


cdef scipy_function exported_ndtri() except NULL:
    from scipy.special import cython_special

    capsule = getattr(cython_special, "__pyx_capi__", {}).get("ndtri")
    if capsule is None or PyCapsule_GetName(capsule) != NDTRI_SIGNATURE:
        raise ImportError("scipy.special.cython_special exports no ndtri(double) to C")
    return <scipy_function>PyCapsule_GetPointer(capsule, PyCapsule_GetName(capsule))


cdef scipy_function ndtri = exported_ndtri()

# workloads/stream.py's: the bits of a key's class, and the largest object (whole bytes)
cdef int CLASS_SHIFT = 40
cdef double MAX_OBJECT_BYTES = 2.0**40
# hashing.unit_interval's scale: 53 bits to [0, 1)
cdef double UNIT = 2.0**-53


def lognormal_size_exponents(
    const int64_t[::1] keys,
    uint64_t salt_offset,
    const uint8_t[::1] constant,
    const double[::1] sigmas,
    double[::1] exponents,
):
    """The first half of Workload.sizes_of for classes all lognormal or constant: sigma ndtri(u) per key.

    A key's class is min(key >> CLASS_SHIFT, classes - 1) (scans and one-hits
    take the last class's sizes); u is hashing.unit_interval of the key with
    the sizes' salt (given as mix64's offset), and ndtri scipy's own.  A
    constant class's exponent is 0, unused.  The caller then takes numpy's
    exp of `exponents` in place.
    """
    cdef Py_ssize_t i, n = keys.shape[0], last = sigmas.shape[0] - 1
    cdef int64_t owner
    cdef scipy_function inverse = ndtri
    with nogil:
        for i in range(n):  # each key's u (a pass the CPU overlaps freely)
            exponents[i] = <double>(mix64_offset(<uint64_t>keys[i], salt_offset) >> 11) * UNIT
        for i in range(n):
            owner = min(max(keys[i] >> CLASS_SHIFT, 0), last)
            exponents[i] = 0.0 if constant[owner] else inverse(exponents[i], 0) * sigmas[owner]


def lognormal_sizes(
    const int64_t[::1] keys,
    const uint8_t[::1] constant,
    const double[::1] medians,
    const double[::1] exponentials,
    int64_t[::1] sizes,
):
    """The second half: each key's size, median exp(...) or the constant, as whole bytes.

    stream._whole_bytes's numbers: rounded half to even (numpy's rint is C's),
    then held in [1, MAX_OBJECT_BYTES].
    """
    cdef Py_ssize_t i, n = keys.shape[0], last = medians.shape[0] - 1
    cdef int64_t owner
    cdef double size
    with nogil:
        for i in range(n):
            owner = min(max(keys[i] >> CLASS_SHIFT, 0), last)
            size = medians[owner] if constant[owner] else exponentials[i] * medians[owner]
            size = rint(size)
            size = min(max(size, 1.0), MAX_OBJECT_BYTES)
            sizes[i] = <int64_t>size

