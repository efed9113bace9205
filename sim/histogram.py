"""A latency histogram: counts in log-linear buckets, relative error under 0.1%, mergeable.

Exact percentiles need every value kept (8 bytes a request: 800 MB for a
100-million-request run).  A histogram keeps a count per bucket instead, and
answers a percentile with its bucket's midpoint, so its memory depends on
the range of the values, not on how many there are.  Equal-width buckets
would be too coarse for 0.2 ms hits or too many for 2 s queueing; buckets
whose width grows with the value give every value the same *relative*
error.  This is the layout of HDR histograms (Gil Tene's HdrHistogram),
built here on a float's own bits:

* a positive float is f * 2**e with f in [0.5, 1) (``frexp``, exact);
* each "binade" [2**(e-1), 2**e) is cut into SUB_BUCKETS equal buckets;
  a value's bucket within it is floor((f - 0.5) * 2 * SUB_BUCKETS), also
  exact, since SUB_BUCKETS is a power of two;
* the bucket's index is e * SUB_BUCKETS + that: indices grow with values,
  so cumulative counts over indices are the CDF.

A bucket at the bottom of its binade is the widest relative to its values:
2**(e-1) / SUB_BUCKETS wide for values >= 2**(e-1).  Its midpoint is then
within half that, 1 / (2 * SUB_BUCKETS) = 1/1024 < 0.1%, of any value in
it.  The index is a function of the value's bits alone, so two models that
compute the same latencies fill the same buckets on any machine, and two
histograms (two time intervals, two seeds) merge by adding counts.

A quantile is the midpoint of the bucket holding the value of rank
ceil(q n) (the "inverted CDF" definition: the smallest recorded value v
with a fraction >= q of values <= v); it is within 0.1% of that value.
Zero, which has no binade, is counted on its own; the values are seconds
here, but nothing depends on the unit.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

#: buckets per power of two: 512 puts every midpoint within 1/1024 of its values
SUB_BUCKETS = 512
RELATIVE_ERROR = 1 / (2 * SUB_BUCKETS)


#: the bucket indices of positive float64 values lie in [FIRST_INDEX, END_INDEX): from 2**-1074,
#: the smallest subnormal, to below 2**1024 (a run file's histogram is checked against them)
FIRST_INDEX, END_INDEX = -1074 * SUB_BUCKETS, 1025 * SUB_BUCKETS
#: a bucket's count at most, in a run file: an int64, with room to merge
MAX_COUNT = 2**62

#: a float64 keeps 52 bits of fraction; a bucket within its binade is the top log2(SUB_BUCKETS) of them
_FRACTION_BITS = 52
_SUB_BITS = SUB_BUCKETS.bit_length() - 1
_SMALLEST_NORMAL = np.finfo(np.float64).tiny  # 2**-1022: below it floats have no implicit leading 1


def bucket_indices(values: np.ndarray) -> np.ndarray:
    """Each value's bucket index (values > 0); see the module's docstring.

    Read off the float's bits in one pass: a normal double is
    (1 + m / 2**52) 2**(E - 1023), so frexp's exponent is E - 1022 and its
    fraction 0.5 + m / 2**53, and the index e * SUB_BUCKETS + floor((f - 0.5)
    2 SUB_BUCKETS) is E * SUB_BUCKETS + (m's top bits) - 1022 * SUB_BUCKETS:
    the bits shifted right, less a constant.  Subnormal values (below
    2**-1022) take `frexp_indices`, the definition.
    """
    values = np.asarray(values, dtype=np.float64)
    indices = (values.view(np.int64) >> (_FRACTION_BITS - _SUB_BITS)) - 1022 * SUB_BUCKETS
    if len(values) and values.min() < _SMALLEST_NORMAL:
        subnormal = values < _SMALLEST_NORMAL
        indices[subnormal] = frexp_indices(values[subnormal])
    return indices


def frexp_indices(values: np.ndarray) -> np.ndarray:
    """bucket_indices by the definition: value = f 2**e with f in [0.5, 1) (frexp, exact)."""
    fraction, exponent = np.frexp(values)
    return exponent.astype(np.int64) * SUB_BUCKETS + (fraction * (2 * SUB_BUCKETS)).astype(np.int64) - SUB_BUCKETS


def bucket_index(value: float) -> int:
    """`bucket_indices` for one Python float: the same index, without numpy's per-call cost."""
    fraction, exponent = math.frexp(value)
    return exponent * SUB_BUCKETS + int(fraction * (2 * SUB_BUCKETS)) - SUB_BUCKETS


def bucket_midpoints(indices: np.ndarray) -> np.ndarray:
    """The value at the middle of each bucket."""
    exponent, sub = np.divmod(np.asarray(indices, dtype=np.int64), SUB_BUCKETS)
    return np.ldexp((SUB_BUCKETS + sub + 0.5) / (2 * SUB_BUCKETS), exponent)


class LatencyHistogram:
    """Counts of values >= 0 in log-linear buckets (module docstring); grows to the range it sees.

    The counts are a dense array over the buckets from the lowest to the
    highest one seen so far: a range of 10 powers of two (0.1 ms to 100 ms)
    takes 5,120 counters, whatever the number of values.
    """

    __slots__ = ("zeros", "first", "counts")

    def __init__(self) -> None:
        self.zeros = 0  # values equal to 0
        self.first = 0  # the bucket index of counts[0]
        self.counts = np.zeros(0, dtype=np.int64)

    # -- recording ------------------------------------------------------------
    def add(self, values: npt.ArrayLike) -> None:
        """Count an array of values (>= 0; a negative or NaN value is a bug of the caller)."""
        values = np.asarray(values, dtype=np.float64)
        if not len(values):
            return
        positive = values > 0
        if not positive.all():
            if (values < 0).any() or np.isnan(values).any():
                raise ValueError("a latency must be a number >= 0")
            self.zeros += int(len(values) - positive.sum())
            values = values[positive]
            if not len(values):
                return
        indices = bucket_indices(values)
        self.add_buckets(indices, int(indices.min()), int(indices.max()))

    def add_buckets(self, indices: np.ndarray, low: int, high: int, zeros: int = 0) -> None:
        """Count values by their bucket indices (`low`, `high`: the least and the greatest of them), and
        `zeros` values equal to 0: what `add` does once it has the indices."""
        self.zeros += zeros
        if len(indices):
            self.cover(low, high)
            counts = np.bincount(indices - low, minlength=high - low + 1)
            self.counts[low - self.first : high - self.first + 1] += counts

    def add_one(self, value: float) -> None:
        """Count one value (>= 0)."""
        if value > 0:
            index = bucket_index(value)
            self.cover(index, index)
            self.counts[index - self.first] += 1
        elif value == 0:
            self.zeros += 1
        else:
            raise ValueError(f"a latency must be a number >= 0; got {value!r}")

    def merge(self, other: LatencyHistogram) -> None:
        """Add `other`'s counts to these."""
        self.zeros += other.zeros
        if len(other.counts):
            self.cover(other.first, other.first + len(other.counts) - 1)
            self.counts[other.first - self.first : other.first - self.first + len(other.counts)] += other.counts

    def cover(self, low: int, high: int) -> None:
        """Widen the counts array to hold buckets low..high (the compiled recorder then adds to `counts` itself:
        sim/_compiled/tally.pyx).

        Only a value beyond the extremes seen so far widens it, and those
        come ever more rarely, so exact sizes cost few copies.
        """
        if not len(self.counts):
            self.first, self.counts = low, np.zeros(high - low + 1, dtype=np.int64)
            return
        last = self.first + len(self.counts) - 1
        if low >= self.first and high <= last:
            return
        new_first, new_last = min(low, self.first), max(high, last)
        counts = np.zeros(new_last - new_first + 1, dtype=np.int64)
        counts[self.first - new_first : self.first - new_first + len(self.counts)] = self.counts
        self.first, self.counts = new_first, counts

    # -- reading --------------------------------------------------------------
    @property
    def total(self) -> int:
        return self.zeros + int(self.counts.sum())

    def quantiles(self, probabilities: npt.ArrayLike) -> np.ndarray:
        """The values at `probabilities` (each in [0, 1]), each within 0.1% of the true one; 0s if empty."""
        probabilities = np.asarray(probabilities, dtype=np.float64)
        total = self.total
        if not total:
            return np.zeros(len(probabilities))
        # rank ceil(q n), at least 1; rounded first so that q n = 99.00000000000001 means rank 99
        ranks = np.maximum(1, np.ceil(np.round(probabilities * total, 6))).astype(np.int64)
        cumulative = self.zeros + np.cumsum(self.counts)
        positions = np.searchsorted(cumulative, ranks)  # the first bucket holding that many values
        values = bucket_midpoints(self.first + np.minimum(positions, len(self.counts) - 1))
        return np.where(ranks <= self.zeros, 0.0, values)

    def nonzero(self) -> tuple[np.ndarray, np.ndarray]:
        """(bucket indices, counts) of the buckets that hold values, in increasing order."""
        occupied = np.flatnonzero(self.counts)
        return self.first + occupied, self.counts[occupied]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, LatencyHistogram):
            return NotImplemented
        mine, theirs = self.nonzero(), other.nonzero()
        return self.zeros == other.zeros and np.array_equal(mine[0], theirs[0]) and np.array_equal(mine[1], theirs[1])

    def __repr__(self) -> str:
        return f"LatencyHistogram({self.total} values in {len(self.nonzero()[0])} buckets)"

    # -- as JSON --------------------------------------------------------------
    def to_record(self) -> dict:
        """The counts as plain numbers for a run file: zeros, the first occupied bucket, counts from it on."""
        indices, _ = self.nonzero()
        if not len(indices):
            return {"zeros": self.zeros, "first": 0, "counts": []}
        low, high = indices[0] - self.first, indices[-1] - self.first
        return {"zeros": self.zeros, "first": int(indices[0]), "counts": self.counts[low : high + 1].tolist()}

    @classmethod
    def from_record(cls, record: dict) -> LatencyHistogram:
        """The histogram `to_record` wrote (ValueError when `record` is not one)."""
        zeros, first, counts = record["zeros"], record["first"], record["counts"]
        whole = (type(zeros) is int and 0 <= zeros <= MAX_COUNT, type(first) is int, isinstance(counts, list))
        if not all(whole) or not all(type(count) is int and 0 <= count <= MAX_COUNT for count in counts):
            raise ValueError(
                "not a latency histogram: zeros, first and counts must be whole numbers, counts from 0 to 2**62"
            )
        if not FIRST_INDEX <= first <= first + len(counts) <= END_INDEX:
            raise ValueError("not a latency histogram: its buckets lie beyond those of any float64")
        histogram = cls()
        histogram.zeros, histogram.first, histogram.counts = zeros, first, np.array(counts, dtype=np.int64)
        return histogram
