"""CLOCK-2Q+: S3-FIFO's three queues, a one-bit CLOCK for main, and a correlation window.

libCacheSim's Clock2QPlus (cache/eviction/Clock2QPlus.c), a descendant of 2Q
(T. Johnson, D. Shasha, VLDB 1994) through S3-FIFO (J. Yang et al., SOSP
2023; see policies/s3fifo.py, whose queues it shares).

A new object waits in a small FIFO (10% of the capacity); leaving it, an
object hit there moves to main, the others leave the cache and their keys are
remembered in a ghost FIFO (90%); a miss found in the ghost goes straight to
main.  What CLOCK-2Q+ adds:

* a *correlation window*: requests that follow an object's insertion closely
  (a read-modify-write, a retry) say nothing about its popularity, so a hit
  in the small queue counts only once at least `corr_window_ratio` times the
  small queue's capacity objects have been admitted to it since this one;
* main is a plain CLOCK with one bit: its oldest object, hit since its last
  pass, goes round again with the bit cleared, else it is evicted;
* one hit is enough to leave the small queue for main
  (`move_to_main_threshold=1`).

Semantics follow libCacheSim 0.3.5's Clock2QPlus, and so S3-FIFO's where they
share them (the warm-up straight into main while nothing was evicted, the
refusal of an object as large as the small queue after room was made for it,
the tiny-cache deviation: a small queue that rounds down to 0 gets one unit,
where libCacheSim caches nothing).  The window counts admissions to the small
queue, as libCacheSim does (not requests); its size is the product
small capacity * corr_window_ratio, kept fractional, as there.
"""

from __future__ import annotations

from policies.base import Kernel, Key, register
from policies.s3fifo import S3FIFO


@register("clock2qplus")
class Clock2QPlus(S3FIFO):
    """CLOCK-2Q+ with libCacheSim's defaults: FIFO 10%, ghost 90%, one hit promotes, window half the FIFO."""

    summary = (
        "CLOCK-2Q+: S3-FIFO with a one-bit CLOCK main and a correlation window that ignores hits right after insertion."
    )

    def __init__(
        self,
        capacity: int,
        fifo_size_ratio: float = 0.1,
        ghost_size_ratio: float = 0.9,
        move_to_main_threshold: int = 1,
        corr_window_ratio: float = 0.5,
    ):
        if not 0 <= corr_window_ratio <= 1:
            raise ValueError(f"corr_window_ratio must be in [0, 1], got {corr_window_ratio!r}")
        # (S3FIFO checks the other three, under its own name for the first: small_size_ratio.)
        if not 0 < fifo_size_ratio < 1:
            raise ValueError(f"fifo_size_ratio must be in (0, 1), got {fifo_size_ratio!r}")
        super().__init__(capacity, fifo_size_ratio, ghost_size_ratio, move_to_main_threshold)
        self.corr_window_ratio = corr_window_ratio
        # libCacheSim: (double)(fifo_cache_size * corr_window_ratio), from the size before our one-unit floor
        self.corr_window = int(capacity * fifo_size_ratio) * corr_window_ratio
        self.admitted = 0  # objects admitted to the small queue so far
        self.admitted_at: dict = {}  # key in the small queue -> `admitted` when it went in

    @property
    def fifo_size_ratio(self) -> float:
        return self.small_size_ratio

    def lookup(self, key: Key) -> bool:
        freq = self.freq
        if key in freq:
            at = self.admitted_at.get(key)
            if at is None or self.admitted - at >= self.corr_window:  # in main, or past the window
                freq[key] += 1
            return True
        if key in self.ghost:
            self.ghost.remove(key)
            self._ghost_hits.add(key)
        return False

    def insert(self, key: Key, size: int = 1) -> list[Key]:
        evicted = super().insert(key, size)
        if key in self.small:
            self.admitted += 1
            self.admitted_at[key] = self.admitted
        return evicted

    def _evict_small(self) -> Key | None:
        small, freq, admitted_at = self.small, self.freq, self.admitted_at
        while small:
            key, size = small.pop_oldest()
            del admitted_at[key]
            if freq[key] >= self.move_to_main_threshold:  # proven: on to main, its bit clear
                freq[key] = 0
                self.main.push(key, size)
                continue
            del freq[key]
            self.ghost.remember(key, size)
            return key
        return None

    def _evict_main(self) -> Key | None:
        main, freq = self.main, self.freq
        while main:
            key = main.oldest()
            if freq[key] >= 1:  # hit since its last pass: round again, the bit cleared
                freq[key] = 0
                main.move_to_end(key)
                continue
            del freq[key]
            main.pop_oldest()
            return key
        return None

    def remove(self, key: Key) -> bool:
        self.admitted_at.pop(key, None)
        return super().remove(key)

    def params(self) -> dict[str, object]:
        return {
            "fifo_size_ratio": self.small_size_ratio,
            "ghost_size_ratio": self.ghost_size_ratio,
            "move_to_main_threshold": self.move_to_main_threshold,
            "corr_window_ratio": self.corr_window_ratio,
        }

    def make_kernel(self) -> Kernel:
        from policies._kernels.clock2qplus import Clock2QPlusKernel

        return Clock2QPlusKernel(
            self.capacity,
            self.small_capacity,
            self.main_capacity,
            self.ghost_capacity,
            self._small_limit,
            self.move_to_main_threshold,
            self.corr_window,
        )
