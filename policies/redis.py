"""Redis's eviction: LRU and LFU approximated by sampling, and random (Redis 7.0).

Redis does not keep its keys in recency order.  When `maxmemory` is exceeded
it samples `maxmemory-samples` keys (5) and merges them into a pool of 16
candidates sorted by a score, then evicts the best candidate that still
exists (src/evict.c, ``evictionPoolPopulate`` and ``performEvictions``):

* allkeys-lru (`redis-lru`): the score is the idle time on the server's LRU
  clock, which ticks once a second (LRU_CLOCK_RESOLUTION 1000 ms) and wraps
  at 2**24 ticks; a key's clock is set when it is created or read;
* allkeys-lfu (`redis-lfu`): the score is 255 minus an 8-bit logarithmic
  access counter (object.c/evict.c: ``LFULogIncr``, ``LFUDecrAndReturn``).
  A new key starts at LFU_INIT_VAL (5); a read increments the counter with
  probability 1 / ((counter - 5) * lfu-log-factor + 1) (log factor 10); the
  counter loses one per `lfu-decay-time` minutes (1) since the key's last
  decrement time, kept in minutes modulo 2**16;
* allkeys-random (`redis-random`): a uniformly random key.

Faithful details the hit ratio depends on: the pool keeps the score a key
had when it was sampled (a key read since then can still be evicted on its
old score); a pool entry whose key is gone is skipped; ties in the pool go
to the candidate sampled earliest; eviction runs before the next command,
after a SET, so the new key is itself a candidate; an overwrite of a key
reads it first (the LFU counter is incremented and kept).

Time comes from the caller (``advance(now)``, seconds): trace timestamps
in replay, simulated time in the timed model.  Randomness (sampling, the
LFU counter's coin) comes from the policy's own generator, seeded by `seed`.

Memory.  With ``capacity_bytes=True`` (a byte capacity, as `make_policy`
passes it) the capacity is `maxmemory` and `size` is the value's length:
each key is charged what Redis counts for it (policies/server_memory.py),
plus the dictionary's bucket array, which doubles when the keys reach its
size (a doubling that would break maxmemory waits until there are 1.618
keys a bucket, as ``dictExpandAllowed`` does), plus the server's fixed
`baseline`.  Otherwise the capacity counts the caller's units (objects) and
only the eviction algorithm is modelled.
"""

from __future__ import annotations

import math
import random as _random
from typing import TYPE_CHECKING, TypedDict

from policies.base import Key, Policy, register
from policies.limits import MAX_CAPACITY
from policies.server_memory import (
    REDIS_BASELINE_BYTES,
    jemalloc_size,
    redis_key_bytes,
    redis_table_bytes,
    redis_value_bytes,
)

if TYPE_CHECKING:
    from typing_extensions import Unpack  # typing's own from Python 3.12


EVPOOL_SIZE = 16  # candidates kept between evictions
LRU_CLOCK_MAX = (1 << 24) - 1  # the LRU clock is 24 bits of seconds
LFU_INIT_VAL = 5  # a new key's LFU counter
LFU_COUNTER_MAX = 255
LFU_MINUTES_MAX = 65535  # the LFU decrement time is 16 bits of minutes
_DICT_INITIAL_BUCKETS = 4
_DICT_MAX_LOAD = 1.618  # HASHTABLE_MAX_LOAD_FACTOR: beyond it the table grows whatever maxmemory says
REDIS_KEY_MAX = 512 * 1024 * 1024  # a key is a string: proto-max-bulk-len's default
REDIS_INT_MAX = 2**31 - 1  # INT_MAX: the top of Redis's integer settings
REDIS_MAX_SAMPLES = 64  # maxmemory-samples at most (Redis 8's bound; 7.0 takes up to INT_MAX)


def _whole(value: float, low: int, high: int) -> bool:
    """Whether `value` is an integer (not a truth value) from `low` to `high`."""
    try:
        return not isinstance(value, bool) and int(value) == value and low <= value <= high
    except (TypeError, ValueError, OverflowError):
        return False


class RedisCache(Policy):
    """What the three Redis policies share: keys, memory, the clock and the eviction loop.

    A subclass says how a key is stamped when created (``_created``) and
    read (``_touched``) and which key goes next (``_victim``).
    """

    server = "redis"  # whose memory a byte capacity counts (experiments/plan/memory.py reads it)

    def __init__(
        self,
        capacity: int,
        capacity_bytes: bool = False,
        key_bytes: int = 16,
        baseline: int = REDIS_BASELINE_BYTES,
        seed: int = 0,
    ):
        super().__init__(capacity)
        if not _whole(key_bytes, 1, REDIS_KEY_MAX):
            raise ValueError(
                f"key_bytes must be an integer from 1 to {REDIS_KEY_MAX} (Redis's longest key); got {key_bytes!r}"
            )
        if not _whole(baseline, 0, MAX_CAPACITY):
            raise ValueError(f"baseline must be an integer from 0 to 2**50 bytes; got {baseline!r}")
        if not _whole(seed, 0, 2**64 - 1):
            raise ValueError(f"seed must be an integer from 0 to 2**64 - 1; got {seed!r}")
        self.capacity_bytes = bool(capacity_bytes)
        self.key_bytes = int(key_bytes)
        self.baseline = int(baseline)
        self.seed = int(seed)
        self._random = _random.Random(self.seed).random  # the policy's own generator
        self._cost: dict[Key, int] = {}  # key -> what it is charged: bytes as Redis counts them, or its size
        self._slot: dict[Key, int] = {}  # key -> index in self._keys (uniform sampling needs a dense array)
        self._keys: list[Key] = []
        self.buckets = 0  # the main dictionary's bucket array (counted with capacity_bytes only)
        if self.capacity_bytes:
            self.used = self.baseline
            # Dict entry and key: the same for every key; the value's part depends on its length.
            self._key_cost = jemalloc_size(24) + redis_key_bytes(self.key_bytes)
            least = self.least_capacity(True, key_bytes=self.key_bytes, baseline=self.baseline)
            if self.capacity < least:
                raise ValueError(
                    f"a maxmemory of {self.capacity} bytes holds no key: Redis counts {self.baseline} bytes "
                    f"with none (baseline); give at least {least} bytes"
                )
        self._max_size = self._largest_value() if self.capacity_bytes else self.capacity

    @classmethod
    def least_capacity(
        cls, capacity_bytes: bool = False, key_bytes: int = 16, baseline: int = REDIS_BASELINE_BYTES, **_: object
    ) -> int:
        """The smallest capacity that holds a key: in bytes, the baseline, the first table and one empty value."""
        if not capacity_bytes:
            return 1
        key_cost = jemalloc_size(24) + redis_key_bytes(int(key_bytes))
        return int(baseline) + redis_table_bytes(_DICT_INITIAL_BUCKETS) + key_cost + redis_value_bytes(0)

    # -- the interface ------------------------------------------------------------------
    def lookup(self, key: Key) -> bool:
        if key in self._cost:
            self._touched(key)
            return True
        return False

    def insert(self, key: Key, size: int = 1) -> list[Key]:
        if size > self._max_size:  # could never fit, even alone: not kept, and nothing evicted
            self.remove(key)
            return []
        cost = self._key_cost + redis_value_bytes(size) if self.capacity_bytes else size
        if key in self._cost:  # SET over a key: it is read (touched), and its value replaced
            self._touched(key)
            self.used += cost - self._cost[key]
            self._cost[key] = cost
            return self._evict()
        if self.capacity_bytes:
            self._grow_table(cost)
        self._slot[key] = len(self._keys)
        self._keys.append(key)
        self._cost[key] = cost
        self.used += cost
        self._created(key)
        return self._evict()

    def remove(self, key: Key) -> bool:
        cost = self._cost.pop(key, None)
        if cost is None:
            return False
        self.used -= cost
        slot = self._slot.pop(key)
        last = self._keys.pop()  # the last key fills the hole
        if last != key:
            self._keys[slot] = last
            self._slot[last] = slot
        self._forget(key)
        return True

    def __contains__(self, key: Key) -> bool:
        return key in self._cost

    def __len__(self) -> int:
        return len(self._cost)

    def keys(self) -> list[Key]:
        return list(self._keys)

    @property
    def max_object_size(self) -> int:
        """The capacity; with capacity_bytes, the longest value an empty server could keep."""
        return self._max_size

    def _largest_value(self) -> int:
        """The longest value whose entry fits maxmemory with the baseline and a 4-bucket table."""
        room = self.capacity - self.baseline - redis_table_bytes(_DICT_INITIAL_BUCKETS) - self._key_cost
        low, high = 0, max(0, room)  # the largest value length whose object fits in `room`
        while low < high:
            middle = (low + high + 1) // 2
            if redis_value_bytes(middle) <= room:
                low = middle
            else:
                high = middle - 1
        return low if redis_value_bytes(low) <= room else 0

    def params(self) -> dict[str, object]:
        params: dict[str, object] = {"seed": self.seed}
        if self.capacity_bytes:
            params.update(key_bytes=self.key_bytes, baseline=self.baseline)
        return params

    # -- eviction -----------------------------------------------------------------------
    def _evict(self) -> list[Key]:
        """performEvictions: evict until the memory is within the limit (or nothing is left)."""
        return self.evict_to(self.capacity)

    def evict_to(self, units: int) -> list[Key]:
        """performEvictions down to `units` (the memory counted as Redis counts it, baseline included)."""
        evicted: list[Key] = []
        while self.used > units and self._keys:
            victim = self._victim()
            self.remove(victim)
            evicted.append(victim)
        return evicted

    def resize(self, capacity: int) -> list[Key]:
        """CONFIG SET maxmemory: the new limit, and evictions down to it at once (as Redis does on its
        next command).  The longest value that fits follows the new limit."""
        evicted = super().resize(capacity)
        self._max_size = self._largest_value() if self.capacity_bytes else self.capacity
        return evicted

    def _grow_table(self, cost: int) -> None:
        """Before a key is added: the bucket array doubles when the keys reach its size (_dictExpandIfNeeded)."""
        keys = len(self._keys)
        if self.buckets == 0:
            grown = _DICT_INITIAL_BUCKETS
        elif keys >= self.buckets:
            grown = 1 << keys.bit_length()  # the next power of two above the key count
            more = redis_table_bytes(grown)
            if keys / self.buckets <= _DICT_MAX_LOAD and self.used + cost + more > self.capacity:
                return  # dictExpandAllowed: not while the new table would break maxmemory
        else:
            return
        self.used += redis_table_bytes(grown) - redis_table_bytes(self.buckets)
        self.buckets = grown

    def _sample(self, count: int) -> list[Key]:
        """`count` distinct random keys (all of them when there are fewer): dictGetSomeKeys."""
        keys = self._keys
        n = len(keys)
        if n <= count:
            return list(keys)
        draw = self._random
        picked: list[int] = []
        while len(picked) < count:
            index = int(draw() * n)
            if index not in picked:
                picked.append(index)
        return [keys[i] for i in picked]

    # -- what a subclass says ------------------------------------------------------------
    def _created(self, key: Key) -> None:
        pass

    def _touched(self, key: Key) -> None:
        pass

    def _forget(self, key: Key) -> None:
        pass

    def _victim(self) -> Key:
        raise NotImplementedError


class _CommonParameters(TypedDict, total=False):
    """RedisCache's keyword parameters, which a sampled policy passes on."""

    capacity_bytes: bool
    key_bytes: int
    baseline: int
    seed: int


class SampledPool(RedisCache):
    """Eviction from the pool of the best candidates of every sample (evictionPoolPopulate)."""

    timed = True  # the scores read the server's clock

    def __init__(self, capacity: int, samples: int, **common: Unpack[_CommonParameters]):
        super().__init__(capacity, **common)
        if not _whole(samples, 1, REDIS_MAX_SAMPLES):
            raise ValueError(
                f"samples must be an integer from 1 to {REDIS_MAX_SAMPLES} (maxmemory-samples: each eviction "
                f"looks at this many keys; Redis 8 bounds it so); got {samples!r}"
            )
        self.samples = int(samples)
        self.pool: list[tuple[int, Key]] = []  # (score, key), ascending: the best candidate last

    def _score(self, key: Key) -> int:
        """Higher evicts sooner."""
        raise NotImplementedError

    def _victim(self) -> Key:
        while True:
            for key in self._sample(self.samples):
                self._offer(self._score(key), key)
            while self.pool:
                _, key = self.pool.pop()
                if key in self._cost:  # a key deleted since it was sampled is a ghost: skip it
                    return key

    def _offer(self, score: int, key: Key) -> None:
        """Put a sampled key into the pool if it beats the worst candidate (or there is room)."""
        pool = self.pool
        place = 0
        while place < len(pool) and pool[place][0] < score:
            place += 1
        if len(pool) < EVPOOL_SIZE:
            pool.insert(place, (score, key))
        elif place > 0:  # full: drop the worst candidate, the first
            del pool[0]
            pool.insert(place - 1, (score, key))

    def params(self) -> dict[str, object]:
        return {"samples": self.samples, **super().params()}


@register("redis-lru")
class RedisLRU(SampledPool):
    """Redis allkeys-lru: sampled LRU on a one-second clock, with a pool of 16 candidates."""

    summary = (
        "Redis allkeys-lru: evicts the oldest of a few sampled keys, on a one-second clock (memory as Redis counts it)."
    )

    def __init__(
        self,
        capacity: int,
        samples: int = 5,
        capacity_bytes: bool = False,
        key_bytes: int = 16,
        baseline: int = REDIS_BASELINE_BYTES,
        seed: int = 0,
    ):
        super().__init__(
            capacity, samples, capacity_bytes=capacity_bytes, key_bytes=key_bytes, baseline=baseline, seed=seed
        )
        self.lru: dict[Key, int] = {}  # key -> the LRU clock when it was created or last read
        self.clock = 0

    def advance(self, now: float) -> None:
        self.clock = math.floor(now) & LRU_CLOCK_MAX

    def _created(self, key: Key) -> None:
        self.lru[key] = self.clock

    _touched = _created

    def _forget(self, key: Key) -> None:
        del self.lru[key]

    def _score(self, key: Key) -> int:
        """Idle seconds (estimateObjectIdleTime), allowing for one wrap of the clock."""
        stamp = self.lru[key]
        return self.clock - stamp if self.clock >= stamp else self.clock + LRU_CLOCK_MAX - stamp


@register("redis-lfu")
class RedisLFU(SampledPool):
    """Redis allkeys-lfu: sampled LFU on a logarithmic 8-bit counter that decays by the minute."""

    summary = "Redis allkeys-lfu: evicts the least used of a few sampled keys, by a decaying 8-bit counter."

    def __init__(
        self,
        capacity: int,
        samples: int = 5,
        log_factor: float = 10,
        decay_time: int = 1,
        capacity_bytes: bool = False,
        key_bytes: int = 16,
        baseline: int = REDIS_BASELINE_BYTES,
        seed: int = 0,
    ):
        if not (isinstance(log_factor, (int, float)) and 0 <= log_factor <= REDIS_INT_MAX):
            raise ValueError(f"log_factor must be a number from 0 to 2**31 - 1 (lfu-log-factor); got {log_factor!r}")
        if not _whole(decay_time, 0, REDIS_INT_MAX):
            raise ValueError(
                f"decay_time must be an integer from 0 to 2**31 - 1 minutes (lfu-decay-time); got {decay_time!r}"
            )
        super().__init__(
            capacity, samples, capacity_bytes=capacity_bytes, key_bytes=key_bytes, baseline=baseline, seed=seed
        )
        self.log_factor = log_factor
        self.decay_time = int(decay_time)
        self.counter: dict[Key, int] = {}  # key -> its LFU counter as last stored
        self.stamped: dict[Key, int] = {}  # key -> minutes (mod 2**16) when it was last stored
        self.minutes = 0

    def advance(self, now: float) -> None:
        self.minutes = (math.floor(now) // 60) & LFU_MINUTES_MAX

    def _created(self, key: Key) -> None:
        self.counter[key] = LFU_INIT_VAL
        self.stamped[key] = self.minutes

    def _touched(self, key: Key) -> None:
        """updateLFU: decay, then a logarithmic increment, stamped now."""
        counter = self.decayed(key)
        if counter < LFU_COUNTER_MAX:
            base = max(0, counter - LFU_INIT_VAL)
            if self._random() < 1.0 / (base * self.log_factor + 1):
                counter += 1
        self.counter[key] = counter
        self.stamped[key] = self.minutes

    def decayed(self, key: Key) -> int:
        """LFUDecrAndReturn: the counter less one per `decay_time` minutes since it was stored."""
        counter, stamp = self.counter[key], self.stamped[key]
        if not self.decay_time:
            return counter
        elapsed = self.minutes - stamp if self.minutes >= stamp else LFU_MINUTES_MAX - stamp + self.minutes
        return max(0, counter - elapsed // self.decay_time)

    def _forget(self, key: Key) -> None:
        del self.counter[key]
        del self.stamped[key]

    def _score(self, key: Key) -> int:
        return LFU_COUNTER_MAX - self.decayed(key)

    def params(self) -> dict[str, object]:
        return {"log_factor": self.log_factor, "decay_time": self.decay_time, **super().params()}


@register("redis-random")
class RedisRandom(RedisCache):
    """Redis allkeys-random: evict a uniformly random key until memory is within the limit."""

    summary = "Redis allkeys-random: evicts random keys until memory is within the limit."

    def _victim(self) -> Key:
        return self._keys[int(self._random() * len(self._keys))]
