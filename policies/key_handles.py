"""Any hashable key as an int64, for the key -> slot map of a compiled policy fed key by key.

The one key -> slot map (policies/_kernels/slots.pyx) is in C and knows
int64 keys.  An integer key within int64 (an int, a numpy integer, a bool)
is its own handle.  Any other key (a text, bytes, a tuple, an integer past
int64) gets a handle of its own, and a name: ``name(handle)`` gives the key
back, for keys() and evictions.  Handles are never shared, so every key the
Python policy tells apart stays apart: an integer key that arrives holding
the handle a named key had moves that key to another handle.

A key's 64-bit *id* is another thing: the bits the kernels hash (W-TinyLFU's
sketch, the TinyLFU filter), policies.sketch.key_id, as the Python policies
hash it; ``__call__`` gives both.
"""

from __future__ import annotations

import operator
from collections.abc import Hashable
from typing import Any

from policies.sketch import key_id

INT64_LOW, INT64_HIGH = -(1 << 63), 1 << 63

#: where named keys' handles start (any value would do: taken ones are skipped)
FIRST_NAMED = -(1 << 62)


def as_int64(key: Any) -> int | None:
    """An integer key within int64, as an int; None for any other key."""
    if type(key) is int:
        return key if INT64_LOW <= key < INT64_HIGH else None
    try:
        value = operator.index(key)  # numpy integers, bool
    except TypeError:
        return None
    return value if INT64_LOW <= value < INT64_HIGH else None


def signed(unsigned: int) -> int:
    """A 64-bit id in [0, 2**64) as the int64 of the same bits."""
    return unsigned - (1 << 64) if unsigned >= INT64_HIGH else unsigned


class KeyHandles:
    """Handles and ids for the keys of one slot map (`slots`: has(handle), rekey(old, new), count)."""

    def __init__(self, slots: Any) -> None:  # a SlotMap (policies/_kernels/slots.pyx)
        self._slots = slots
        self._handle_of: dict = {}  # named key -> its handle
        self.named: dict = {}  # handle -> named key (empty: every key so far was an int64 integer)
        self._next = FIRST_NAMED

    def __call__(self, key: Hashable) -> tuple[int, int]:
        """(handle, id) of a key."""
        value = as_int64(key)
        if value is None:
            handle = self._handle_of.get(key)
            if handle is None:
                handle = self._name(key)
            return handle, signed(key_id(key))
        if self.named and value in self.named:  # a named key had this handle: it moves
            self._move(value)
        return value, value

    def name(self, handle: int) -> Hashable:
        """The key a handle stands for."""
        return self.named.get(handle, handle)

    def _fresh(self) -> int:
        """A handle no key has."""
        while self._slots.has(self._next) or self._next in self.named:
            self._next += 1
        self._next += 1
        return self._next - 1

    def _name(self, key: Hashable) -> int:
        if len(self.named) > 2 * self._slots.count + 1024:  # forget the names of keys that have no slot
            self.named = {h: k for h, k in self.named.items() if self._slots.has(h)}
            self._handle_of = {k: h for h, k in self.named.items()}
        handle = self._fresh()
        self._handle_of[key] = handle
        self.named[handle] = key
        return handle

    def _move(self, handle: int) -> None:
        key = self.named.pop(handle)
        del self._handle_of[key]
        if self._slots.has(handle):
            moved = self._name(key)
            self._slots.rekey(handle, moved)
