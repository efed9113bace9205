"""Trace replay without a clock: the fast path for miss ratios.

No SimPy, no time: each request is one ``policy.access``.  This is what
libCacheSim and the Caffeine simulator do, and what miss-ratio parity with
libCacheSim is measured on.

Two rules every replay here follows, each written once:

* **Warm-up** (``warm_count``): the first `warmup` requests of a stream go
  through the policy but are not counted.
* **Offline preparation** (``prepare_offline``): a policy that needs the
  future (Belady) is given the whole key sequence, warm-up included, before
  its first request, unless it was prepared already.  To replay a long trace
  in parts (chunks, or a warm-up then the measured part), prepare it once
  with all the keys and then ``replay`` each part in order.

A policy that reads the time (``policy.timed``: Redis's, memcached's, GL-Cache) is
told each request's time with ``advance(now)``, in seconds: the trace's
timestamps when given, else one second per request (libCacheSim's virtual
time); a compiled one (GL-Cache's kernel) gets them with its batch.  Every
other policy takes the fast path and never sees a time.

"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from policies.base import Policy


def exact_sum(values: np.ndarray) -> int:
    """The exact sum of non-negative int64 values, however many: numpy's int64 sum wraps silently.

    Slices of 2**16 values below 2**47 each cannot overflow; larger values are
    summed as Python integers.
    """
    if len(values) == 0:
        return 0
    if int(values.max()) < (1 << 47):
        return sum(int(values[i : i + (1 << 16)].sum()) for i in range(0, len(values), 1 << 16))
    return sum(values.tolist())


@dataclass
class ReplayCounts:
    """Counts of one replay; misses and ratios are derived."""

    requests: int = 0
    hits: int = 0
    bytes: int = 0
    hit_bytes: int = 0

    @property
    def misses(self) -> int:
        return self.requests - self.hits

    @property
    def miss_ratio(self) -> float:
        return self.misses / self.requests if self.requests else 0.0

    @property
    def byte_miss_ratio(self) -> float:
        return (self.bytes - self.hit_bytes) / self.bytes if self.bytes else 0.0

    def add(self, other: ReplayCounts) -> None:
        self.requests += other.requests
        self.hits += other.hits
        self.bytes += other.bytes
        self.hit_bytes += other.hit_bytes


def replay(policy: Policy, keys, sizes=None, count_bytes: bool = False, times=None, ids=None) -> ReplayCounts:
    """Feed `keys` (with object `sizes`) through `policy`; count hits.

    When `count_bytes` is false the policy sees every object as size 1 (its
    capacity counts objects), but byte counts still use the real sizes.
    `times` (seconds) reach a timed policy only; without them it sees 0, 1, 2, ...
    `ids`, the keys' dense ids (workloads.ids.DenseIds), if the caller has
    them, let a compiled policy skip mapping keys to its slots.
    """
    hits = replay_hits(policy, keys, sizes, count_bytes, times, ids)
    return count_hits(hits, np.ones(len(hits), dtype=np.int64) if sizes is None else sizes)


def count_hits(hits: np.ndarray, sizes) -> ReplayCounts:
    """The counts of requests with these hit flags and object sizes (bytes summed exactly)."""
    sizes = np.asarray(sizes, dtype=np.int64)
    return ReplayCounts(
        requests=len(hits),
        hits=int(hits.sum()),
        bytes=exact_sum(sizes),
        hit_bytes=exact_sum(sizes[hits]),
    )


def replay_hits(policy: Policy, keys, sizes=None, count_bytes: bool = False, times=None, ids=None) -> np.ndarray:
    """``replay``, request by request: a boolean array, True where a request hit.

    A compiled policy (policies/compiled.py) serves the whole batch in its
    kernel; a timed one hears each request's time first; any other goes one
    ``access`` at a time.
    """
    # Keys may be any hashables (ints, strings, tuples), in an array or any iterable.
    if not isinstance(keys, np.ndarray):
        keys = list(keys)
    sizes = np.ones(len(keys), dtype=np.int64) if sizes is None else np.asarray(sizes, dtype=np.int64)
    if len(sizes) != len(keys):
        raise ValueError(f"replay: {len(keys)} keys but {len(sizes)} sizes")
    prepare_offline([policy], keys)
    replay_batch = getattr(policy, "replay_batch", None)
    if replay_batch is not None:  # (a timed one hears `times`, else one second a request)
        return replay_batch(keys, sizes, count_bytes, ids, times=times)
    policy.expect(keys)
    key_list = keys.tolist() if isinstance(keys, np.ndarray) else keys  # Python ints: faster dict keys
    if getattr(policy, "timed", False):
        times = np.arange(len(key_list)) if times is None else np.asarray(times)
        object_sizes = sizes.tolist() if count_bytes else [1] * len(key_list)
        flags = list(map(_timed_access(policy), times.tolist(), key_list, object_sizes))
    elif count_bytes:  # map() runs the loop in C; the per-request cost is then the policy's own
        flags = list(map(policy.access, key_list, sizes.tolist()))
    else:
        flags = list(map(policy.access, key_list))
    return np.array(flags, dtype=bool)


def _timed_access(policy: Policy):
    """access(now, key, size): tell a timed policy the time, then serve the request."""
    advance, access = policy.advance, policy.access

    def timed_access(now, key, size):
        advance(now)
        return access(key, size)

    return timed_access


class Replayer:
    """Replay a request stream that arrives in chunks, with a warm-up left out of the counts.

    The stream is fed chunk by chunk (``feed``), so a trace of any length
    replays in the memory of one chunk; the first `warmup` requests go
    through the policy but are not counted.  ``counts`` holds the measured
    requests so far.  Several Replayers fed the same chunks replay one read
    of a trace through several policies or capacities.

    A policy that needs the future (a class attribute ``offline = True``,
    such as Belady's) must be given the whole key sequence, warm-up
    included, before the first chunk: ``prepare_offline`` does it.
    """

    def __init__(self, policy: Policy, count_bytes: bool = False, warmup: int = 0):
        if isinstance(warmup, bool) or int(warmup) != warmup or warmup < 0:
            raise ValueError(f"warmup must be an integer >= 0; got {warmup!r}")
        self.policy = policy
        self.count_bytes = count_bytes
        self.warmup = int(warmup)
        self.position = 0  # requests fed so far
        self.counts = ReplayCounts()

    def feed(self, keys, sizes=None, warm: int | None = None, times=None, ids=None) -> None:
        """Replay the next chunk.  `warm`: how many of its first requests are warm-up
        (default: whatever part of it lies within the first `warmup` requests).
        `times`: the requests' times in seconds, for a timed policy (default: their
        positions in the stream, one second per request).  `ids`: the keys' dense
        ids, for a compiled policy (see ``replay``)."""
        keys = np.asarray(keys)
        n = len(keys)
        sizes = np.ones(n, dtype=np.int64) if sizes is None else np.asarray(sizes, dtype=np.int64)
        if warm is None:
            warm = warm_count(self.position, n, self.warmup)
        if getattr(self.policy, "timed", False) and times is None:
            times = np.arange(self.position, self.position + n)
        hits = replay_hits(self.policy, keys, sizes, self.count_bytes, times, ids)
        self.counts.add(count_hits(hits[warm:], sizes[warm:]))
        self.position += n


def warm_count(start: int, n: int, warmup: int) -> int:
    """How many of `n` consecutive requests, the first being request `start` (0-based) of
    the stream, are warm-up: among the stream's first `warmup` requests."""
    return min(n, max(0, warmup - start))


def offline(policy) -> bool:
    """Whether a policy (or policy class) needs the future: ``prepare(keys)`` before replay."""
    return bool(getattr(policy, "offline", False))


def prepare_offline(policies, keys, number=None) -> None:
    """Give every policy that needs the future and is not prepared yet the whole key sequence.

    `keys` is the sequence, warm-up included, or a callable returning it (a
    pass over a trace, made only if some policy needs it).  `number` maps
    keys to their dense ids (workloads.ids.DenseIds): a compiled policy
    prepares from those, without hashing a key.
    """
    waiting = [policy for policy in policies if offline(policy) and not getattr(policy, "prepared", False)]
    if not waiting:
        return
    if callable(keys):
        keys = keys()
    ids = None
    for policy in waiting:
        if getattr(policy, "replay_batch", None) is None:
            policy.prepare(keys)
            continue
        if ids is None and number is not None:
            ids = number(keys)
        policy.prepare(keys, ids=ids)


def replay_batches(policy: Policy, batches, count_bytes: bool = False, warmup: int = 0) -> ReplayCounts:
    """``replay`` over a stream of batches (objects with ``key`` and ``size`` arrays, and
    optionally ``ids``, the keys' dense ids: workloads.RequestBatch, workloads.ids.DenseBatch),
    counting only requests after the first `warmup`."""
    replayer = Replayer(policy, count_bytes, warmup)
    for batch in batches:
        replayer.feed(batch.key, batch.size, times=getattr(batch, "time", None), ids=getattr(batch, "ids", None))
    return replayer.counts
