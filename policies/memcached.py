"""memcached 1.6's eviction: slab classes, each with a segmented LRU (hot, warm, cold).

memcached cuts its memory (`-m`) into 1 MiB pages, and each page into chunks
of one size: the slab classes, from 96 bytes up by a growth factor (1.25)
to 512 KiB (slabs.c).  An item takes one chunk of the first class it fits
(policies/server_memory.py), so each class is a cache of its own: a class
gets pages while memory lasts (its first page even beyond), and once it has
no free chunk it evicts from its own LRU.  Facts from items.c and slabs.c:

* each class has three LRU queues.  A new item enters HOT.  A read marks an
  item FETCHED, a second read ACTIVE (``do_item_bump``); a read of an ACTIVE
  item changes nothing, and HOT and WARM items are not moved by reads;
* an ACTIVE item read in COLD moves to the head of WARM (the worker thread
  queues the "bump" and the maintainer applies it; here at once);
* the LRU maintainer thread (``lru_maintainer_juggle``) looks at the tails:
  an ACTIVE item at the tail of HOT goes to WARM, and at the tail of WARM to
  the head of WARM again, its flag cleared; an inactive one goes to COLD when
  its queue holds more than 20% (HOT) or 40% (WARM) of the class's item
  bytes, or when it is older than the COLD tail's age times 0.2 (HOT) or 2.0
  (WARM), in whole seconds;
* an item that needs a chunk when there is none evicts the tail of COLD
  (``do_item_alloc_pull``); with COLD empty, the HOT tail moves down first.

The maintainer is a background thread; here it runs after every insert (on
that class) and whenever the clock ticks a second (on every class), so the
queues are as a maintainer that keeps up leaves them.  Not modelled: slab
page reassignment (slab_automove, which acts after 30-second windows) and
items above 512 KiB stored as chained chunks (here: whole chunks of the
largest class).  Time comes from the caller (``advance(now)``, seconds).

With ``capacity_bytes=True`` the capacity is `-m` in bytes and `size` the
value's length (``used``: the chunks the items take; ``capacity`` grows by a
page for each class that gets its first page beyond `-m`, as memcached
uses that memory too); otherwise the capacity counts the caller's units and there
is one class, in which an item takes `size` units: the segmented LRU alone.
"""

from __future__ import annotations

import math
from collections import OrderedDict

from policies.base import Key, Policy, register
from policies.server_memory import (
    MEMCACHED_ITEM_MAX,
    MEMCACHED_LEAST_MEMORY,
    MEMCACHED_PAGE,
    memcached_chunk_sizes,
    memcached_class,
    memcached_item_bytes,
)

HOT, WARM, COLD = 0, 1, 2
FETCHED, ACTIVE = 1, 2  # item flags
_JUGGLES = 500  # moves per maintainer pass over a class


class Item:
    """An item's place and state: its class and queue, flags, last access second, bytes, chunks."""

    __slots__ = ("cls", "queue", "flags", "time", "nbytes", "units")

    def __init__(self, cls: int, time: int, nbytes: int, units: int):
        self.cls, self.queue, self.flags, self.time, self.nbytes, self.units = cls, HOT, 0, time, nbytes, units


class SlabClass:
    """One slab class: free chunks, pages, and the three queues (each oldest first)."""

    def __init__(self, chunk: int, per_page: int, free: int = 0):
        self.chunk = chunk  # bytes of a chunk (1 unit when counting the caller's units)
        self.per_page = per_page
        self.pages = 0
        self.free = free  # free chunks
        # HOT, WARM, COLD: key -> Item
        self.queues: tuple[OrderedDict[Key, Item], ...] = (OrderedDict(), OrderedDict(), OrderedDict())
        self.queue_bytes = [0, 0, 0]  # item bytes per queue (sizes_bytes)
        self.evicted = 0

    def move(self, key: Key, item: Item, queue: int) -> None:
        """Unlink an item and link it at the head of `queue` (the same queue: relink at its head)."""
        del self.queues[item.queue][key]
        self.queue_bytes[item.queue] -= item.nbytes
        self.queues[queue][key] = item
        self.queue_bytes[queue] += item.nbytes
        item.queue = queue

    def tail(self, queue: int) -> tuple[Key, Item] | None:
        """(key, item) at the tail of `queue`, the oldest; None if it is empty."""
        q = self.queues[queue]
        return next(iter(q.items())) if q else None


def _check_settings(
    capacity: int,
    capacity_bytes: bool,
    key_bytes: int,
    min_chunk: int,
    hot_pct: int,
    warm_pct: int,
    hot_max: float,
    warm_max: float,
) -> None:
    """Refuse what memcached's own option parsing refuses (memcached.c), in one line naming the parameter.

    -m at least twice -I ("Cannot set item size limit higher than 1/2 of
    memory max"), -n above 0, hot_lru_pct and warm_lru_pct each from 1 to 79
    and together at most 80, hot_max_factor and warm_max_factor above 0 (and
    here finite and at most 2**32: they scale ages in 32-bit seconds).
    -f is checked where the classes are made (server_memory.memcached_chunk_sizes).
    """
    if int(key_bytes) != key_bytes or not 1 <= key_bytes <= 250:
        raise ValueError(f"key_bytes must be an integer from 1 to 250 (memcached's key limit); got {key_bytes!r}")
    if capacity_bytes and capacity < MEMCACHED_LEAST_MEMORY:
        raise ValueError(
            f"memcached's memory (-m) must be at least {MEMCACHED_LEAST_MEMORY} bytes (2MiB): it refuses less than "
            f"twice its largest item (-I 1m); got {capacity}"
        )
    if isinstance(min_chunk, bool) or int(min_chunk) != min_chunk or not 1 <= min_chunk <= MEMCACHED_PAGE:
        raise ValueError(f"min_chunk must be an integer from 1 to {MEMCACHED_PAGE} (memcached's -n); got {min_chunk!r}")
    for name, pct in (("hot_pct", hot_pct), ("warm_pct", warm_pct)):
        if isinstance(pct, bool) or int(pct) != pct or not 1 <= pct <= 79:
            raise ValueError(f"{name} must be an integer from 1 to 79 (memcached's {name[:4]}_lru_pct); got {pct!r}")
    if hot_pct + warm_pct > 80:
        raise ValueError(f"hot_pct + warm_pct must be at most 80, as memcached requires; got {hot_pct} + {warm_pct}")
    for name, factor in (("hot_max_factor", hot_max), ("warm_max_factor", warm_max)):
        if not (isinstance(factor, (int, float)) and not isinstance(factor, bool) and 0 < factor <= 2**32):
            raise ValueError(f"{name} must be a number in (0, 2**32] (memcached's {name}); got {factor!r}")


@register("memcached")
class Memcached(Policy):
    """memcached 1.6: slab classes (growth factor 1.25), each a segmented LRU kept by a maintainer."""

    summary = "memcached 1.6: slab classes by size, each a hot/warm/cold segmented LRU (memory counted as memcached counts it)."

    timed = True
    server = "memcached"  # whose memory a byte capacity counts (experiments/plan/memory.py reads it)

    def __init__(
        self,
        capacity: int,
        capacity_bytes: bool = False,
        key_bytes: int = 16,
        growth_factor: float = 1.25,
        min_chunk: int = 48,
        hot_pct: int = 20,
        warm_pct: int = 40,
        hot_max_factor: float = 0.2,
        warm_max_factor: float = 2.0,
        cas: bool = True,
    ):
        super().__init__(capacity)
        _check_settings(
            capacity, capacity_bytes, key_bytes, min_chunk, hot_pct, warm_pct, hot_max_factor, warm_max_factor
        )
        self.capacity_bytes = bool(capacity_bytes)
        self.key_bytes = int(key_bytes)
        self.growth_factor = growth_factor
        self.min_chunk = int(min_chunk)
        self.hot_pct, self.warm_pct = hot_pct, warm_pct
        self.hot_max_factor, self.warm_max_factor = hot_max_factor, warm_max_factor
        self.cas = bool(cas)
        if self.capacity_bytes:
            self.chunk_sizes = memcached_chunk_sizes(growth_factor, self.min_chunk)
            self.classes = [SlabClass(size, MEMCACHED_PAGE // size) for size in self.chunk_sizes]
            self._max_size = MEMCACHED_ITEM_MAX - memcached_item_bytes(self.key_bytes, 0, self.cas)
        else:
            self.chunk_sizes = (1,)
            self.classes = [SlabClass(1, 0, free=self.capacity)]
            self._max_size = self.capacity
        self.memory_limit = self.capacity  # -m: pages are handed out while they fit in it
        self.pages = 0  # pages handed out to the classes
        self.items: dict = {}  # key -> Item
        self.clock = 0  # whole seconds, as memcached's current_time

    # -- time ---------------------------------------------------------------------------
    def advance(self, now: float) -> None:
        clock = math.floor(now)
        if clock != self.clock:
            self.clock = clock
            for cls in range(len(self.classes)):  # the maintainer's ages have moved on
                if self.items and any(self.classes[cls].queues):
                    self._juggle(cls)

    # -- the interface ------------------------------------------------------------------
    def lookup(self, key: Key) -> bool:
        item = self.items.get(key)
        if item is None:
            return False
        self._bump(key, item)
        return True

    def insert(self, key: Key, size: int = 1) -> list[Key]:
        self.remove(key)  # a set over an item replaces it with a new one
        if size > self._max_size:
            return []
        cls, nbytes, units = self._footprint(size)
        evicted: list = []
        slab = self.classes[cls]
        if not self._allocate(slab, units, evicted):
            return evicted  # out of memory: the set fails
        item = Item(cls, self.clock, nbytes, units)
        slab.free -= units
        slab.queues[HOT][key] = item
        slab.queue_bytes[HOT] += nbytes
        self.items[key] = item
        self.used += units * slab.chunk
        self._juggle(cls)
        return evicted

    def remove(self, key: Key) -> bool:
        item = self.items.pop(key, None)
        if item is None:
            return False
        slab = self.classes[item.cls]
        del slab.queues[item.queue][key]
        slab.queue_bytes[item.queue] -= item.nbytes
        slab.free += item.units
        self.used -= item.units * slab.chunk
        return True

    def __contains__(self, key: Key) -> bool:
        return key in self.items

    def __len__(self) -> int:
        return len(self.items)

    def keys(self) -> list[Key]:
        return list(self.items)

    @classmethod
    def least_capacity(cls, capacity_bytes: bool = False, **_: object) -> int:
        """The smallest capacity memcached runs with: -m of 2 MiB (twice -I); one unit when counting units."""
        return MEMCACHED_LEAST_MEMORY if capacity_bytes else 1

    @property
    def max_object_size(self) -> int:
        """The capacity; with capacity_bytes, the longest value an item of at most 1 MiB holds."""
        return self._max_size

    def params(self) -> dict[str, object]:
        params: dict[str, object] = {
            "growth_factor": self.growth_factor,
            "hot_pct": self.hot_pct,
            "warm_pct": self.warm_pct,
        }
        if self.capacity_bytes:
            params["key_bytes"] = self.key_bytes
        return params

    # -- items ---------------------------------------------------------------------------
    def _footprint(self, size: int) -> tuple[int, int, int]:
        """(class, item bytes, chunks) of an item whose value is `size`."""
        if not self.capacity_bytes:
            return 0, size, size
        nbytes = memcached_item_bytes(self.key_bytes, size, self.cas)
        largest = self.chunk_sizes[-1]
        if nbytes > largest:  # chained chunks, counted as whole chunks of the largest class
            return len(self.chunk_sizes) - 1, nbytes, -(-nbytes // largest)
        return memcached_class(nbytes, self.chunk_sizes), nbytes, 1

    def _bump(self, key: Key, item: Item) -> None:
        """A read (do_item_bump, then do_item_update for an ACTIVE item in COLD)."""
        if item.flags & ACTIVE:
            return
        if not item.flags & FETCHED:
            item.flags |= FETCHED
            return
        item.time = self.clock
        if item.queue == COLD:  # to the head of WARM, no longer ACTIVE
            self.classes[item.cls].move(key, item, WARM)
        else:
            item.flags |= ACTIVE

    def _allocate(self, slab: SlabClass, units: int, evicted: list[Key]) -> bool:
        """Find `units` free chunks in a class: a new page, else evict COLD's tail (do_item_alloc_pull)."""
        while slab.free < units:
            if self._new_page(slab):
                continue
            cold = slab.tail(COLD)
            if cold is not None:
                victim, _ = cold
                self.remove(victim)
                evicted.append(victim)
                slab.evicted += 1
            elif slab.queues[HOT]:
                self._pull(slab, HOT, 0, 0)  # COLD is empty: the HOT tail moves down
            elif slab.queues[WARM]:
                # memcached fails the set here; the model moves WARM down so that a set always succeeds
                slab.move(*slab.tail(WARM), COLD)  # type: ignore[misc, call-arg]  # WARM is not empty: its tail is there
            else:
                return False
        return True

    def _new_page(self, slab: SlabClass) -> bool:
        """do_slabs_newslab: a page while memory lasts; a class's first page whatever memory says.

        A first page beyond `-m` raises ``capacity``, the memory memcached may then use, by a page.
        """
        if not self.capacity_bytes:
            return False
        if (self.pages + 1) * MEMCACHED_PAGE > self.memory_limit and slab.pages > 0:
            return False
        slab.pages += 1
        self.pages += 1
        self.capacity = max(self.capacity, self.pages * MEMCACHED_PAGE)
        slab.free += slab.per_page
        return True

    # -- the LRU maintainer --------------------------------------------------------------------
    def _juggle(self, cls: int) -> None:
        """lru_maintainer_juggle: move tails down (or back up) until nothing needs to move."""
        slab = self.classes[cls]
        cold = slab.tail(COLD)
        cold_age = self.clock - cold[1].time if cold is not None else 0
        hot_age = int(cold_age * self.hot_max_factor)  # rel_time_t: whole seconds
        warm_age = int(cold_age * self.warm_max_factor)
        total = sum(slab.queue_bytes)
        for _ in range(_JUGGLES):
            if not (self._pull(slab, HOT, total, hot_age) or self._pull(slab, WARM, total, warm_age)):
                break

    def _pull(self, slab: SlabClass, queue: int, total: int, max_age: int) -> bool:
        """lru_pull_tail for HOT or WARM: move the tail item if it must move; True if it moved."""
        tail = slab.tail(queue)
        if tail is None:
            return False
        key, item = tail
        limit = total * self.hot_pct // 100 if queue == HOT else 0
        limit = limit or total * self.warm_pct // 100
        if item.flags & ACTIVE:  # rescued: HOT -> WARM, WARM -> the head of WARM
            item.flags &= ~ACTIVE
            slab.move(key, item, WARM)
            return True
        if slab.queue_bytes[queue] > limit or self.clock - item.time > max_age:
            slab.move(key, item, COLD)
            return True
        return False
