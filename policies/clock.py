"""CLOCK: FIFO with a second chance, here with a k-bit frequency counter.

F. J. Corbato, "A paging experiment with the Multics system", MIT Project MAC
report MAC-M-384, 1968.  A hit sets (increments, up to 2**bits - 1) the key's
counter; the hand, at the oldest key, skips any key with a non-zero counter,
decrementing it and moving it to the back, and evicts the first key whose
counter is zero.  With bits=1 this is the textbook second-chance CLOCK, and
the same as libCacheSim's Clock with n_bit_counter=1; `bits` is its
n_bit_counter and `init_freq` its init_freq (the counter a new key starts
with; libCacheSim lets it exceed the counter's maximum, and so do we).
"""

from __future__ import annotations

from collections import OrderedDict

from policies.base import Kernel, Key, SizedPolicy, register
from policies.limits import check_int

#: the widest counter (libCacheSim's n_bit_counter lives in a C int)
MAX_BITS = 32
#: the largest first count (libCacheSim lets it pass the counter's maximum, up to this here)
MAX_INIT_FREQ = 255


@register("clock")
class Clock(SizedPolicy):
    """k-bit CLOCK; the queue's front is where the hand points."""

    summary = "CLOCK: a circular FIFO in which a hit sets the entry's bits and the hand spares set entries."

    def __init__(self, capacity: int, bits: int = 1, init_freq: int = 0):
        super().__init__(capacity)
        # A counter of more than 32 bits counts nothing a run could reach; the kernel keeps it in
        # 64.  Every new key costs init_freq turns of the hand: bounded, so that no insert hangs.
        self.bits = check_int("bits", bits, 1, MAX_BITS)
        self.init_freq = check_int("init_freq", init_freq, 0, MAX_INIT_FREQ)
        self._max_count = (1 << self.bits) - 1
        self._counts: OrderedDict = OrderedDict()  # key -> counter, oldest first

    def lookup(self, key: Key) -> bool:
        count = self._counts.get(key)
        if count is None:
            return False
        if count < self._max_count:
            self._counts[key] = count + 1
        return True

    def insert(self, key: Key, size: int = 1) -> list:
        if not self._replaces(key, size):
            return []
        evicted = self.evict_to(self.capacity - size)
        self.sizes[key] = size
        self._counts[key] = self.init_freq
        self.used += size
        return evicted

    def evict_to(self, units: int) -> list[Key]:
        """Turn the hand until at most `units` are used: set counters are decremented and spared."""
        evicted = []
        counts = self._counts
        while self.used > units:
            victim, count = next(iter(counts.items()))
            if count:
                counts[victim] = count - 1
                counts.move_to_end(victim)
                continue
            del counts[victim]
            self.used -= self.sizes.pop(victim)
            evicted.append(victim)
        return evicted

    def remove(self, key: Key) -> bool:
        if self._drop(key) is None:
            return False
        del self._counts[key]
        return True

    def keys(self) -> list:
        """From the hand onwards."""
        return list(self._counts)

    def params(self) -> dict[str, object]:
        return {"bits": self.bits, "init_freq": self.init_freq}

    def make_kernel(self) -> Kernel:
        from policies._kernels.clock import ClockKernel

        return ClockKernel(self.capacity, self.bits, self.init_freq)
