"""Which key a request asks for: popularity over a finite catalogue.

Keys are integers 0 .. keys-1.  Rank r (1 = most popular) is drawn from the
popularity law, then mapped to a key id through a fixed permutation, so that
the hot keys are scattered over the id space instead of being neighbours
(neighbouring ids would land on neighbouring shards of a range partitioner,
and make the hot set look like a scan to a trace analyzer).

Nothing here holds a table per key: a Zipf rank is drawn by
rejection-inversion from a handful of constants, and the permutation is a
keyed Feistel network, so a catalogue of 10**12 keys costs no more memory
than one of ten.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cache, cached_property
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from workloads.hashing import mix64, mix64_offset, unit_interval

try:
    from workloads._scramble import permute as _compiled_permute
except ImportError:  # not built: numpy's network gives the same ids, more slowly
    _compiled_permute = None

try:
    import workloads._draws as _compiled
except ImportError:  # not built: numpy's passes draw the same ranks
    _compiled = None

#: The largest catalogue: a rank goes through float64 arithmetic (exact for
#: integers up to 2**53, with room to round x + 0.5), and workloads.stream gives
#: each key class 40 bits of ids.
MAX_KEYS = 2**40

#: The largest catalogue whose whole pmf() may be built (80 MB of float64).
PMF_MAX_KEYS = 10**7


def _catalogue_size(keys: float) -> int:
    """`keys` as an int, checked: a whole number in [1, MAX_KEYS] (1e9 is accepted as 10**9)."""
    if int(keys) != keys or not 1 <= keys <= MAX_KEYS:
        raise ValueError(f"keys must be a positive integer at most 2**40 ({MAX_KEYS}), got {keys!r}")
    return int(keys)


def _check_pmf_size(keys: int) -> None:
    if keys > PMF_MAX_KEYS:
        raise ValueError(
            f"pmf() of {keys:,} keys would take {keys * 8 / 1e9:,.1f} GB; it is built up to {PMF_MAX_KEYS:,} keys. "
            f"Use top_pmf(n) for the most popular ranks, or harmonic() for sums of the law"
        )


#: a real number, or an array of them (the integrals below work on either)
_Reals = TypeVar("_Reals", float, npt.NDArray[np.float64])


def _integral(x: _Reals, exponent: float) -> _Reals:
    """The integral of t**-exponent from 1 to x (x > 0): (x**(1 - e) - 1) / (1 - e), or log(x) at e = 1.

    Written as expm1((1 - e) log x) / (1 - e), which keeps full precision
    when the exponent is near 1 (where the textbook form cancels to noise)
    and tends to log(x) continuously.
    """
    one_minus = 1.0 - exponent
    if one_minus == 0.0:
        return np.log(x)
    return np.expm1(one_minus * np.log(x)) / one_minus


_ABOVE_MINUS_ONE = float(np.nextafter(-1.0, 0.0))


def _integral_inverse(y: _Reals, exponent: float) -> _Reals:
    """The x with _integral(x, exponent) == y: (1 + (1 - e) y)**(1 / (1 - e)), or exp(y) at e = 1.

    As exp(log1p((1 - e) y) / (1 - e)), precise near e = 1 for the same reason.
    """
    one_minus = 1.0 - exponent
    if one_minus == 0.0:
        return np.exp(y)
    # At the far tail of an exponent above 1, 1 + (1 - e) y tends to 0 (x to
    # infinity), and rounding can take it to 0 or below: keep it positive.
    return np.exp(np.log1p(np.maximum(one_minus * y, _ABOVE_MINUS_ONE)) / one_minus)


def harmonic(n: int, exponent: float) -> float:
    """The generalized harmonic number H(n, e) = sum over i = 1..n of i**-e, for n up to 10**12 and beyond.

    The first 2**16 terms are summed (smallest first, for accuracy); the rest
    by the Euler-Maclaurin formula, whose error there is below 1e-15 of the
    total:  sum_{i=a}^{n} f(i) = integral_a^n f + (f(a) + f(n)) / 2
    + sum_k B_2k / (2k)! (f^(2k-1)(n) - f^(2k-1)(a)), with f(x) = x**-e.
    """
    head = min(int(n), 2**16)
    total = float(np.sum(np.arange(head, 0, -1, dtype=np.float64) ** -float(exponent)))
    if n > head:
        total += _euler_maclaurin_tail(head + 1, int(n), float(exponent))
    return total


def _euler_maclaurin_tail(a: int, b: int, e: float) -> float:
    """sum_{i=a}^{b} i**-e for large a, by Euler-Maclaurin with the B2, B4 and B6 terms."""
    integral = a ** (1.0 - e) * float(_integral(b / a, e))  # integral_a^b x**-e dx, substituting x = a y
    ends = (a**-e + b**-e) / 2.0
    # Odd derivatives of x**-e: f'(x) = -e x**(-e-1), f'''(x) = -e(e+1)(e+2) x**(-e-3), ...
    corrections = 0.0
    for order, coefficient in ((1, 1.0 / 12.0), (3, -1.0 / 720.0), (5, 1.0 / 30240.0)):
        derivative_factor = -math.prod(e + j for j in range(order))
        corrections += coefficient * derivative_factor * (b ** (-e - order) - a ** (-e - order))
    return integral + ends + corrections


def _rejection_width(k: np.ndarray, exponent: float) -> np.ndarray:
    """The integral of x**-e over [k - 1/2, k + 1/2] minus k**-e: the part of bar k the hat covers in excess.

    Below rank 8 as that difference.  From rank 8 on, where the difference
    cancels to rounding noise (all of it by rank 32 at e = 10), by its series:
    with x = k + v, (1 + v/k)**-e expanded in powers of v, whose odd terms
    integrate to zero over [-1/2, 1/2],

        k**-e  sum_{j >= 1}  C(-e, 2j) / (4**j (2j + 1) k**(2j)),

    six terms (relative error under 1e-10 from rank 8 for e up to 10).  Each
    form is computed only for the ranks that take it.
    """
    power = k**-exponent
    inverse_square = 1.0 / (k * k)
    series = np.zeros_like(k)
    for coefficient in _series_coefficients(exponent):  # Horner in 1 / k**2
        series = (series + coefficient) * inverse_square
    width = power * series
    low = np.flatnonzero(k < 8)
    if low.size:
        k_low = k[low]
        width[low] = _integral(k_low + 0.5, exponent) - _integral(k_low - 0.5, exponent) - power[low]
    return width


@cache
def _series_coefficients(exponent: float) -> tuple[float, ...]:
    """_rejection_width's series: C(-e, 2j) / (4**j (2j + 1)) for j = 6 down to 1 (Horner's order)."""
    return tuple(
        math.prod(exponent + i for i in range(2 * j)) / math.factorial(2 * j) / (4**j * (2 * j + 1))
        for j in range(6, 0, -1)
    )


@dataclass(frozen=True)
class Zipf:
    """Finite-catalogue Zipf: P(rank = i) = i**-alpha / H(keys, alpha), i = 1..keys.

    Any alpha >= 0 is valid (alpha = 0 is uniform; alpha = 1 is the classic
    harmonic law; alpha > 1 concentrates on a few keys), over up to 2**40
    keys.  This is not numpy's ``zipf``, which has an infinite support and
    needs alpha > 1.

    Ranks are drawn by rejection-inversion (W. Hoermann, G. Derflinger,
    "Rejection-inversion to generate variates from monotone discrete
    distributions", ACM TOMACS 6(3), 1996), in the form that Apache Commons
    RNG uses for every exponent >= 0.  The idea: the continuous hat
    h(x) = x**-alpha covers the bars of the pmf, bar i being the interval
    [i - 1/2, i + 1/2).  Draw x from the density of h by inverting its
    integral H, round it to the nearest rank k, and keep k when the point
    falls inside an area exactly h(k) wide at the right end of bar k's
    share of H: each rank is then kept with probability proportional to
    k**-alpha, exactly, and most draws are kept.  Rank 1 gets its area
    [H(1.5) - 1, H(1.5)] whole.  Memory is a few floats, whatever the size
    of the catalogue; the time per draw does not depend on it either.

    The exactness is that of float64.  The point H(x) is a double, so the
    bar of a deep rank is only so many representable points wide (4,000 for
    the last of 10**12 ranks at alpha = 0.5; none past rank 10**8 at
    alpha = 2, ranks that carry 6e-9 of the mass, where neighbours are not
    told apart).  Rounding can then move a point to the neighbouring bar
    but never loses it: the rejection test measures from the bar's own
    edge, and gives a point found before that edge to the bar before (see
    _try), so the mass of a range of ranks is right to the last few points.
    """

    keys: int
    alpha: float
    scramble: bool = True
    _low: float = field(init=False, repr=False, compare=False)
    _high: float = field(init=False, repr=False, compare=False)
    _squeeze: float = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "keys", _catalogue_size(self.keys))
        if not self.alpha >= 0:
            raise ValueError(f"alpha must be >= 0, got {self.alpha!r}")
        alpha = float(self.alpha)
        # The points x are drawn with H(x) uniform on (H(1.5) - 1, H(keys + 1/2)].
        object.__setattr__(self, "_low", float(_integral(1.5, alpha)) - 1.0)
        object.__setattr__(self, "_high", float(_integral(self.keys + 0.5, alpha)))
        # Hoermann and Derflinger's squeeze: k - x <= squeeze proves acceptance
        # without evaluating H(k + 1/2) (their Theorem 2 holds for every alpha >= 0).
        rank_two_edge = float(_integral_inverse(float(_integral(2.5, alpha)) - 2.0**-alpha, alpha))
        object.__setattr__(self, "_squeeze", 2.0 - rank_two_edge)

    def pmf(self) -> np.ndarray:
        """Probabilities by rank: element 0 is the most popular key's (catalogues up to PMF_MAX_KEYS)."""
        _check_pmf_size(self.keys)
        weights = np.arange(1, self.keys + 1, dtype=np.float64) ** -float(self.alpha)
        return weights / weights.sum()

    def top_pmf(self, n: int) -> np.ndarray:
        """The probabilities of the `n` most popular ranks, for a catalogue of any size."""
        weights = np.arange(1, min(n, self.keys) + 1, dtype=np.float64) ** -float(self.alpha)
        return weights / harmonic(self.keys, self.alpha)

    def ranks(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """`n` ranks (0-based: 0 is the most popular), by rejection-inversion.

        Each request takes one uniform number from `rng`.  A rejected one
        draws its next tries from splitmix64 seeded with that number's bits,
        so a request's rank depends on its own draw alone: the stream is the
        same whatever the batch size.
        """
        uniforms = rng.random(n)
        try_ = self._try if _compiled is None else self._try_compiled
        ranks, accepted = try_(uniforms)
        retry = np.flatnonzero(~accepted)
        seeds = uniforms[retry].view(np.uint64)
        attempt = 0
        while retry.size:
            attempt += 1
            ranks[retry], accepted = try_(unit_interval(seeds, salt=attempt))
            retry, seeds = retry[~accepted], seeds[~accepted]
        return ranks.astype(np.int64) - 1

    def _try(self, uniforms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """One round of rejection-inversion: (1-based ranks as float64, accepted?) per uniform in [0, 1)."""
        alpha = float(self.alpha)
        y = uniforms * (self._low - self._high)
        y += self._high  # uniform on (H(1.5) - 1, H(keys + 1/2)]
        x = _integral_inverse(y, alpha)
        k = np.floor(x + 0.5)
        np.clip(k, 1, self.keys, out=k)  # rounding at either end
        accepted = k - x <= self._squeeze
        unsure = np.flatnonzero(~accepted)
        if unsure.size:
            self._settle(k, accepted, unsure, y[unsure])
        return k, accepted

    def _try_compiled(self, uniforms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """_try by workloads/_draws.pyx: a loop before numpy's log1p and exp, one after, the same numbers."""
        n = len(uniforms)
        x = self._points_compiled(uniforms)
        k, accepted, unsure = np.empty(n), np.empty(n, dtype=bool), np.empty(n, dtype=np.int64)
        unsure = unsure[: _compiled.zipf_ranks(x, float(self.keys), self._squeeze, k, accepted.view(np.uint8), unsure)]
        if unsure.size:
            y_unsure = uniforms[unsure] * (self._low - self._high)
            y_unsure += self._high
            self._settle(k, accepted, unsure, y_unsure)
        return k, accepted

    def _points_compiled(self, uniforms: np.ndarray) -> np.ndarray:
        """_try's x = _integral_inverse(y, alpha): y in C, then numpy's log1p, division and exp in place."""
        one_minus = 1.0 - float(self.alpha)
        x = np.empty(len(uniforms))
        _compiled.zipf_points(uniforms, self._low, self._high, one_minus, _ABOVE_MINUS_ONE, x)
        if one_minus != 0.0:  # exp(y) alone at alpha = 1
            np.log1p(x, out=x)
            x /= one_minus
        return np.exp(x, out=x)

    def _settle(self, k: np.ndarray, accepted: np.ndarray, unsure: np.ndarray, y_unsure: np.ndarray) -> None:
        """The points the squeeze left unsure (indices `unsure`, points `y_unsure`): accept or reject each, in
        `accepted`, and move to rank k - 1 those found before bar k's edge."""
        alpha = float(self.alpha)
        # The left end of bar k, [H(k - 1/2), H(k - 1/2) + width), rejects.  Tested in H's
        # space from the bar's own edge, not as y >= H(k + 1/2) - h(k): deep in a large
        # catalogue that difference of two large numbers is off by more than the width,
        # and rejected points the bar should keep (a 5e-5 bias at 10**12 keys).
        k_unsure = k[unsure]
        edge = _integral(k_unsure - 0.5, alpha)
        # x rounded up to k although y lies before bar k's edge: it is at the right end of
        # bar k - 1, which always accepts.
        before = y_unsure < edge
        k[unsure[before]] -= 1
        accepted[unsure] = before | (y_unsure >= edge + _rejection_width(k_unsure, alpha))


@dataclass(frozen=True)
class Uniform:
    """Every key equally likely."""

    keys: int
    scramble: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "keys", _catalogue_size(self.keys))

    def pmf(self) -> np.ndarray:
        _check_pmf_size(self.keys)
        return np.full(self.keys, 1.0 / self.keys)

    def top_pmf(self, n: int) -> np.ndarray:
        return np.full(min(n, self.keys), 1.0 / self.keys)

    def ranks(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.integers(0, self.keys, n)


@dataclass(frozen=True)
class FeistelPermutation:
    """A keyed bijection on [0, size): which key id each rank gets, without a table.

    A balanced-as-possible Feistel network over n-bit numbers, n the bit
    length of size - 1: split x into a high part A and a low part B, and
    each round replaces (A, B) by (B, A + F(B) mod 2**|A|), F a keyed
    splitmix64.  Every round can be undone, so the network permutes
    [0, 2**n) whatever F is; four rounds of a good F make it look random
    (Luby and Rackoff, 1988).  Values landing in [size, 2**n) go through the
    network again until they fall inside ("cycle walking": Black and
    Rogaway, "Ciphers with arbitrary finite domains", CT-RSA 2002), which
    restricts the permutation to [0, size); since 2**n < 2 size, that is
    under two passes on average.
    """

    size: int
    round_keys: tuple[int, ...]

    @classmethod
    def keyed(cls, size: int, rng: np.random.Generator, rounds: int = 4) -> FeistelPermutation:
        """A permutation of [0, size) with round keys drawn from `rng`."""
        return cls(size, tuple(int(k) for k in rng.integers(0, 2**64, size=rounds, dtype=np.uint64)))

    def __call__(self, values: npt.ArrayLike) -> npt.NDArray[np.int64]:
        """The image of each value (integers in [0, size)), as int64."""
        values = np.asarray(values)
        if _compiled_permute is not None and values.ndim == 1:
            images = np.empty(len(values), dtype=np.int64)
            _compiled_permute(
                np.ascontiguousarray(values, dtype=np.int64), self.size, self._bits, self._offsets, images
            )
            return images
        return self.permute_numpy(values)

    def permute_numpy(self, values: npt.ArrayLike) -> npt.NDArray[np.int64]:
        """__call__ in numpy: the reference, and the fallback where workloads/_scramble.pyx is not built."""
        images = self._network(np.asarray(values, dtype=np.uint64))
        outside = np.flatnonzero(images >= self.size)
        while outside.size:
            images[outside] = self._network(images[outside])
            outside = outside[images[outside] >= self.size]
        return images.astype(np.int64)

    @cached_property
    def _bits(self) -> int:
        return max(2, (self.size - 1).bit_length())

    @cached_property
    def _offsets(self) -> np.ndarray:
        """Each round key as mix64's offset, for the compiled network."""
        return np.array([mix64_offset(key) for key in self.round_keys], dtype=np.uint64)

    def _network(self, x: np.ndarray) -> np.ndarray:
        """The Feistel network on [0, 2**n)."""
        bits = self._bits
        high_bits, low_bits = bits - bits // 2, bits // 2
        high, low = x >> np.uint64(low_bits), x & np.uint64((1 << low_bits) - 1)
        for key in self.round_keys:
            mixed = (high + mix64(low, salt=key)) & np.uint64((1 << high_bits) - 1)
            high, low = low, mixed
            high_bits, low_bits = low_bits, high_bits
        return (high << np.uint64(low_bits)) | low
