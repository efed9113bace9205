"""Stable 64-bit hashes: the one home of splitmix64 and of the text-key hash.

Anything that ends up in a result must be the same in every process and on
every machine, so nothing here uses Python's salted ``hash()``.  Two hashes
serve the whole project:

* **splitmix64's finalizer** (Steele, Lea, Flood, "Fast splittable
  pseudorandom number generators", OOPSLA 2014) scatters integer ids over
  the 64-bit range: balancers place keys with it, SHARDS samples keys with
  it, the policies' Bloom filters and sketches probe with it.  ``mix64`` is
  the numpy form, ``splitmix64`` the form for one Python int (for the
  policies' per-request paths); the tests hold the two equal.  Its C form,
  for the compiled code, is workloads/native/hashing.pxd's mix64.
* **BLAKE2b-64 of a text**: a text key's id in a trace (``key_id``,
  ``key_ids``: int64, as trace keys are), and the same 64 bits unsigned
  (``stable_id``) where a name becomes a seed or a salt.

This module is a leaf (numpy and hashlib only).  It is the one module of
``workloads`` that ``policies`` may import (pyproject.toml's import
contract): a fact lives in one place, and the package layout stays four
packages.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import numpy as np
from numpy.typing import ArrayLike

MASK64 = (1 << 64) - 1

_GAMMA = 0x9E3779B97F4A7C15
_MIX1 = 0xBF58476D1CE4E5B9
_MIX2 = 0x94D049BB133111EB


# -- splitmix64 ---------------------------------------------------------------


def splitmix64(value: int, salt: int = 0) -> int:
    """splitmix64 of one integer (plus `salt`), as a Python int in [0, 2**64)."""
    x = (value + salt * _GAMMA + _GAMMA) & MASK64
    x = ((x ^ (x >> 30)) * _MIX1) & MASK64
    x = ((x ^ (x >> 27)) * _MIX2) & MASK64
    return x ^ (x >> 31)


def mix64_offset(salt: int = 0) -> int:
    """What mix64 adds to a value before mixing it, for a salt: (salt + 1) times the golden gamma."""
    return (int(salt) * _GAMMA + _GAMMA) & MASK64


def mix64(values: ArrayLike, salt: int = 0) -> np.ndarray:
    """splitmix64 of each value (plus `salt`), as uint64; numpy wraps mod 2**64."""
    offset = np.uint64(mix64_offset(salt))
    x = np.asarray(values).astype(np.uint64) + offset
    x = (x ^ (x >> np.uint64(30))) * np.uint64(_MIX1)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(_MIX2)
    return x ^ (x >> np.uint64(31))


def unit_interval(values: ArrayLike, salt: int = 0) -> np.ndarray:
    """A uniform number in [0, 1) per value, from its stable hash (53 random bits)."""
    return (mix64(values, salt) >> np.uint64(11)).astype(np.float64) * 2.0**-53


# -- text keys ----------------------------------------------------------------


def _digest(text: str | bytes) -> bytes:
    """The first 8 bytes of the BLAKE2b digest of `text` (a str counts as its UTF-8 bytes)."""
    data = text.encode("utf-8") if isinstance(text, str) else bytes(text)
    return hashlib.blake2b(data, digest_size=8).digest()


def key_id(text: str | bytes) -> int:
    """The int64 id of a text key: its BLAKE2b-64 digest, little-endian, signed."""
    return int.from_bytes(_digest(text), "little", signed=True)


def key_ids(texts: Iterable[str | bytes]) -> np.ndarray:
    """``key_id`` of each text, as an int64 array."""
    return np.frombuffer(b"".join(map(_digest, texts)), dtype="<i8").astype(np.int64)


def stable_id(text: str | bytes) -> int:
    """The same 64 bits as ``key_id``, unsigned: a name's seed or salt, in [0, 2**64)."""
    return int.from_bytes(_digest(text), "little")
