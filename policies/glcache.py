"""GL-Cache: evict whole groups of objects, ranked by a model that learns which groups pay.

(Over 450 lines: the log of segments, its merges and the learned ranking share one state, read best together.)

J. Yang, Z. Mao, Y. Yue, K. V. Rashmi, "GL-Cache: Group-level learning for
efficient and high-performance caching", USENIX FAST 2023.

Learning which *object* to evict (LRB) costs a prediction per object.
GL-Cache learns at the level of *groups*: objects are written, in arrival
order, into segments of ``segment_size`` objects (a log, as flash caches and
Segcache write), and eviction takes segments, not objects.  A segment's
*utility* is the hits its objects will still bring per byte and per unit of
time; a gradient-boosted tree model predicts it from six cheap features of
the segment (age, mean object size, hits, distinct objects hit, and the
request rate and miss ratio when it was written), and the segments of least
predicted utility go first.  An eviction *merges* ``n_merge`` segments into
one, keeping the ``segment_size`` objects of highest score
(``1e8 / size / requests since the last access``) and evicting the rest: so
group-level ranking still keeps a group's few hot objects.

Training is online.  Every ``retrain_intvl`` seconds of trace time the cache
snapshots the features of its segments; from then on each request to an
object of a snapshotted segment (cached, or evicted since: a *ghost*) adds
``1e6 / (requests since the snapshot + 1) / size`` to that segment's label,
after the first ``segment_size / n_merge`` such requests, which stand for
the objects a merge would keep; at the next interval the model is retrained
on those rows (XGBoost, squared error, at most 20 rounds, stopping when the
validation loss settles) and a new snapshot begins.  Until the first model
exists (``retrain_intvl`` after the first eviction) segments are merged in
FIFO order: that part is deterministic and equals libcachesim 0.3.5's
misses exactly (tests/policies/test_glcache.py).

libCacheSim 0.3.5's ``GLCache`` (cache/eviction/GLCache/), which this module
follows decision for decision (times in whole seconds, features and labels
in float32, the segments ranked anew each time ``rank_intvl`` of them have
been evicted, the label normalised to [0, 1] before training, one in ten
snapshot rows kept for validation, up to 819).  Differences:

* the defaults are the Python package's behaviour: it passes
  ``merge-consecutive-segs=True``, which the C parser reads with ``atoi``
  as 0, so the wheel merges segments of *adjacent rank* (not adjacent in
  the log) whatever is asked; ``merge_consecutive_segs=False`` is our
  default, and True gives the C code's own default;
* only ``type="learned"`` and ``train_source_y="online"``: the oracle
  variants need the future and are not offered;
* ``remove`` (expiry, invalidation; libCacheSim aborts) drops the object
  from its segment and forgets its ghosts; a merge of segments thinned by
  removals keeps every object when they hold ``segment_size`` or fewer
  (libCacheSim would index before its array);
* a segment evicted while a ranked neighbour still points at it is not
  evictable (libCacheSim reads the freed memory);
* the model is the ``xgboost`` Python package's (install ``kvsim[learned]``)
  with libCacheSim's parameters, fed the same float32 rows: with the XGBoost
  build the wheel bundles (3.3.0) the misses are equal; xgboost-cpu 3.2 grows
  slightly different trees where object sizes vary (0.0027 of the miss ratio
  over the bench's 5M requests), so the tests ask 0.01 once a model exists;
* a retraining with no usable row keeps the previous model (libCacheSim
  would stop in XGBoost's error handler).

The compiled kernel (policies/_kernels/glcache.pyx) keeps the log in C and
asks this module's SegmentModel, as the reference does: replay tells it each
request's time, and so does the timed model's compiled loop.
"""

from __future__ import annotations

import math

import numpy as np

from policies.base import Kernel, Key, Policy, PolicyError, register
from policies.glcache_learner import SegmentModel, f32
from policies.limits import check_int

INT32_HALF_MAX = (2**31 - 1) // 2  # libCacheSim's INT32_MAX / 2: pushes a segment to the back of the ranking
INT64_MAX_AS_DOUBLE = float(2**63 - 1)  # a new segment's utility: never ranked first
MAX_TRAINING_ROWS = 8192
STATE_UPDATE_SECONDS = 10  # cache state (request rate, miss ratio) refreshed past both of these
STATE_UPDATE_REQUESTS = 10_000


class Entry:
    """One object's slot in a segment (libCacheSim's cache_obj_t): cached, or a ghost of a snapshotted segment."""

    __slots__ = ("key", "size", "freq", "last_vtime", "in_cache", "seen", "active", "ghost", "segment")

    def __init__(self, key: Key, size: int, vtime: int, segment: Segment):
        self.key, self.size, self.freq, self.last_vtime = key, size, 0, vtime
        self.in_cache, self.seen, self.active, self.ghost = True, False, False, False
        self.segment = segment


class Segment:
    """A group of up to ``segment_size`` objects in write order, with the features the model reads."""

    __slots__ = (
        "entries", "n_byte", "n_hit", "n_active", "n_merge", "create_rtime", "req_rate", "write_rate",
        "miss_ratio", "pred_utility", "train_utility", "n_util_skipped", "rank", "selected", "train_vtime",
        "row", "prev", "next", "next_ranked", "live",
    )  # fmt: skip

    def __init__(self, rtime: int):
        self.entries: list[Entry] = []
        self.n_byte = self.n_hit = self.n_active = self.n_merge = 0
        self.create_rtime = _int32(rtime)
        self.req_rate = self.write_rate = self.miss_ratio = 0.0
        self.pred_utility, self.train_utility = INT64_MAX_AS_DOUBLE, 0.0
        self.n_util_skipped, self.rank, self.selected = 0, -1, False
        self.train_vtime, self.row = 0, -1
        self.prev: Segment | None = None
        self.next: Segment | None = None
        self.next_ranked: Segment | None = None
        self.live = True


def _int32(value: int) -> int:
    """`value` as C stores it in an int32_t field (a segment's creation time)."""
    return (value + 2**31) % 2**32 - 2**31


def age_byte_score(entry: Entry, vtime: int) -> float:
    """The merge's object score: 1e8 / size / requests since the last access (infinite at 0)."""
    age = vtime - entry.last_vtime
    return 1.0e8 / entry.size / age if age else float("inf")


@register("glcache")
class GLCache(Policy):
    """Segments merged in FIFO order, then in the order of a learned utility (``keys()``: log order)."""

    summary = "GL-Cache: merges segments of objects, ranked by a model trained online on group utility (learned)."
    timed = True  # trains every retrain_intvl seconds of trace time

    def __init__(
        self,
        capacity: int,
        segment_size: int = 100,
        n_merge: int = 2,
        type: str = "learned",  # noqa: A002 - libCacheSim's name
        rank_intvl: float = 0.02,
        merge_consecutive_segs: bool = False,
        train_source_y: str = "online",
        retrain_intvl: int = 86400,
    ):
        super().__init__(capacity)
        self.segment_size = check_int("segment_size", segment_size, 4, 100_000_000)  # >= 2 kept from each of 2
        self.n_merge = check_int("n_merge", n_merge, 2, 100)
        if self.segment_size // self.n_merge < 2:
            raise PolicyError(f"segment_size // n_merge must be at least 2, got {segment_size} // {n_merge}")
        if type != "learned":
            raise PolicyError(f"type must be 'learned' (the oracle types need the future), got {type!r}")
        if isinstance(rank_intvl, bool) or not isinstance(rank_intvl, (int, float)) or not 0 < rank_intvl < 1:
            raise PolicyError(f"rank_intvl must be in (0, 1), got {rank_intvl!r}")
        if not isinstance(merge_consecutive_segs, bool):
            raise PolicyError(f"merge_consecutive_segs must be true or false, got {merge_consecutive_segs!r}")
        if train_source_y != "online":
            raise PolicyError(f"train_source_y must be 'online' (the oracle needs the future), got {train_source_y!r}")
        self.retrain_intvl = check_int("retrain_intvl", retrain_intvl, 1, 2**31 - 2)
        self.type, self.train_source_y = type, train_source_y
        self.rank_intvl, self.consecutive = float(rank_intvl), merge_consecutive_segs
        self.n_retain_per_seg = self.segment_size // self.n_merge
        self.model = SegmentModel()  # says what to install when xgboost is missing
        self.cached: dict[Key, Entry] = {}
        self.ghosts: dict[Key, list[Entry]] = {}
        self.first: Segment | None = None
        self.last: Segment | None = None
        self.n_segs = 0
        self.next_to_evict: Segment | None = None
        self.training_segs: list[Segment] = []
        self.ranked: list[Segment | None] = []
        self.ranked_capacity, self.ranked_pos = -1, 0
        # the clock: rtime is trace seconds, vtime counts requests; both are the previous request's
        self.rtime = self.vtime = 0
        self.now = 0
        self.pending: tuple[int, bool] | None = None  # (time, hit) of the request not yet finished
        self.last_train_rtime, self.n_train = 0, -1
        self.rows_x: list[tuple[float, ...]] = []
        self.rows_y = np.zeros(MAX_TRAINING_ROWS, dtype=np.float32)  # labels, float32 as libCacheSim's
        self.state_req_rate, self.state_write_rate, self.state_miss_ratio = 1.0, 1.0, 0.5
        self.state_misses, self.state_rtime, self.state_vtime = 0, 0, 0

    def params(self) -> dict[str, object]:
        return {
            "segment_size": self.segment_size, "n_merge": self.n_merge, "type": self.type,
            "rank_intvl": self.rank_intvl, "merge_consecutive_segs": self.consecutive,
            "train_source_y": self.train_source_y, "retrain_intvl": self.retrain_intvl,
        }  # fmt: skip

    def make_kernel(self) -> Kernel:
        from policies._kernels.glcache import GLCacheKernel

        # The kernel keeps the log in C; its model is a SegmentModel of its own, trained on the same rows.
        return GLCacheKernel(
            self.capacity, self.segment_size, self.n_merge, self.rank_intvl, self.consecutive, self.retrain_intvl,
            SegmentModel(),
        )  # fmt: skip

    # -- the interface ------------------------------------------------------------------------------
    def advance(self, now: float) -> None:
        self.now = int(now)

    def __contains__(self, key: Key) -> bool:
        return key in self.cached

    def __len__(self) -> int:
        return len(self.cached)

    def keys(self) -> list[Key]:
        keys: list[Key] = []
        segment = self.first
        while segment is not None:
            keys.extend(entry.key for entry in segment.entries if entry.in_cache)
            segment = segment.next
        return keys

    def lookup(self, key: Key) -> bool:
        """Begin a request: finish the last one (its training check, the cache state), then find `key`."""
        if self.pending is not None:
            self._finish_request(*self.pending)
        for ghost in self.ghosts.pop(key, ()):  # seen once, a ghost has told its segment all it can
            ghost.seen, ghost.ghost = True, False
            self._credit(ghost)
        entry = self.cached.get(key)
        if entry is not None:
            self._hit(entry)
        self.pending = (self.now, entry is not None)
        return entry is not None

    def insert(self, key: Key, size: int = 1) -> list[Key]:
        if key in self.cached:
            self.remove(key)
        if size > self.capacity:
            return []
        evicted: list[Key] = []
        while self.used + size > self.capacity:
            self._evict(evicted)
        self._append(key, size)
        return evicted

    def remove(self, key: Key) -> bool:
        for ghost in self.ghosts.pop(key, ()):
            ghost.ghost = False
        entry = self.cached.pop(key, None)
        if entry is None:
            return False
        segment = entry.segment
        segment.entries.remove(entry)
        segment.n_byte -= entry.size
        self.used -= entry.size
        entry.in_cache = False
        return True

    def evict_to(self, units: int) -> list[Key]:
        evicted: list[Key] = []
        while self.used > units:
            self._evict(evicted)
        return evicted

    # -- a request's bookkeeping ------------------------------------------------------------------------
    def _hit(self, entry: Entry) -> None:
        segment = entry.segment
        segment.n_hit += 1
        if not entry.active:
            entry.active = True
            segment.n_active += 1
        entry.last_vtime = self.vtime
        entry.freq += 1
        if segment.selected:
            entry.seen = True
            self._credit(entry)

    def _credit(self, entry: Entry) -> None:
        """A snapshotted segment's label gains a request (after the first n_retain_per_seg, which a merge keeps)."""
        segment = entry.segment
        segment.n_util_skipped += 1
        if segment.n_util_skipped > self.n_retain_per_seg:
            age = float(self.vtime - segment.train_vtime) + 1
            segment.train_utility += 1.0e6 / age / entry.size
            self.rows_y[segment.row] = segment.train_utility  # (rounded to float32 on the way in)

    def _finish_request(self, time: int, hit: bool) -> None:
        """What libCacheSim does after a request: retrain when due, then update the clock and cache state."""
        if self.last_train_rtime > 0 and self.rtime - self.last_train_rtime >= self.retrain_intvl + 1:
            self._train()
            self._snapshot()
        self.rtime = time
        self.vtime += 1
        self.state_misses += not hit
        seconds, requests = self.rtime - self.state_rtime, self.vtime - self.state_vtime
        if seconds > STATE_UPDATE_SECONDS and requests > STATE_UPDATE_REQUESTS:
            self.state_write_rate = self.state_misses / seconds
            self.state_req_rate = requests / seconds
            self.state_miss_ratio = self.state_misses / requests
            self.state_misses, self.state_rtime, self.state_vtime = 0, self.rtime, self.vtime

    # -- the log ------------------------------------------------------------------------------------
    def _append(self, key: Key, size: int) -> None:
        segment = self.last
        if segment is None or len(segment.entries) == self.segment_size:
            if segment is not None:  # a full segment keeps the cache state it was written in
                segment.req_rate, segment.write_rate = self.state_req_rate, self.state_write_rate
                segment.miss_ratio = self.state_miss_ratio
            segment = Segment(self.rtime)
            self._link_last(segment)
        entry = Entry(key, size, self.vtime, segment)
        segment.entries.append(entry)
        segment.n_byte += size
        self.cached[key] = entry
        self.used += size

    def _link_last(self, segment: Segment) -> None:
        if self.last is None:
            self.first = self.next_to_evict = segment
        else:
            self.last.next = segment
        segment.prev, segment.next = self.last, None
        self.last = segment
        self.n_segs += 1

    def _link_before(self, old: Segment, segment: Segment) -> None:
        if old.prev is None:
            self.first = segment
        else:
            old.prev.next = segment
        segment.prev, segment.next = old.prev, old
        old.prev = segment
        self.n_segs += 1

    def _unlink(self, segment: Segment) -> None:
        if self.first is segment:
            self.first = segment.next
        if self.last is segment:
            self.last = segment.prev
        if segment.prev is not None:
            segment.prev.next = segment.next
        if segment.next is not None:
            segment.next.prev = segment.prev
        self.n_segs -= 1
        segment.live = False

    def _evictable(self, segment: Segment | None, consecutive: bool) -> bool:
        """Whether `segment` starts n_merge segments to merge, each followed by another in the log."""
        found = 0
        while segment is not None and segment.live and segment.next is not None:
            found += 1
            if found >= self.n_merge:
                return True
            segment = segment.next if consecutive else segment.next_ranked
        return False

    # -- eviction ------------------------------------------------------------------------------------
    def _evict(self, evicted: list[Key]) -> None:
        if self.n_train == -1:  # the first eviction starts the first training interval
            self._snapshot()
            self.last_train_rtime, self.n_train = self.rtime, 0
        segments = self._select_fifo() if self.n_train <= 0 else self._select_ranked()
        if segments is None:
            return
        if len(segments) == 1:
            self._evict_whole(segments[0], evicted)
        else:
            self._merge(segments, evicted)

    def _select_fifo(self) -> list[Segment]:
        """n_merge adjacent segments from the FIFO pointer (or from the log's start); one segment if none."""
        segment = self.next_to_evict
        if not self._evictable(segment, True):
            segment = self.next_to_evict = self.first
            if not self._evictable(segment, True):
                self.next_to_evict = None
                assert self.first is not None
                return [self.first]
        chosen: list[Segment] = []
        while len(chosen) < self.n_merge and segment is not None:  # (_evictable: all n_merge are there)
            chosen.append(segment)
            segment = segment.next
        self.next_to_evict = segment if self.n_segs > self.n_merge + 1 else None
        return chosen

    def _merge(self, segments: list[Segment], evicted: list[Key]) -> None:
        """Merge `segments` into one new segment in the first one's place: keep the segment_size best objects."""
        merged = Segment(self.rtime)
        merged.req_rate = sum(s.req_rate for s in segments) / self.n_merge
        merged.write_rate = sum(s.write_rate for s in segments) / self.n_merge
        merged.miss_ratio = sum(s.miss_ratio for s in segments) / self.n_merge
        merged.n_merge = max(s.n_merge for s in segments) + 1
        self._link_before(segments[0], merged)
        vtime = self.vtime
        scores = [age_byte_score(e, vtime) for s in segments for e in s.entries]
        ranked = sorted(scores)
        cutoff = ranked[len(ranked) - self.segment_size] if len(ranked) > self.segment_size else float("-inf")
        kept_entries, position = merged.entries, 0
        for segment in segments:
            for entry in segment.entries:
                if len(kept_entries) < self.segment_size and scores[position] >= cutoff:
                    if segment.selected:  # the old entry stays behind as the segment's ghost: keep a copy
                        kept = Entry(entry.key, entry.size, entry.last_vtime, merged)
                        self.cached[entry.key] = kept
                        entry.in_cache = False
                    else:  # the old segment is dropped: its entry moves
                        kept, entry.segment, entry.active, entry.seen = entry, merged, False, False
                    kept.freq = (entry.freq + 1) // 2
                    kept_entries.append(kept)
                    merged.n_byte += entry.size
                else:
                    del self.cached[entry.key]
                    self.used -= entry.size
                    evicted.append(entry.key)
                    entry.in_cache = False
                position += 1
            self._retire(segment)

    def _evict_whole(self, segment: Segment, evicted: list[Key]) -> None:
        """Evict every object of `segment`, keeping none (too few segments to merge)."""
        for entry in segment.entries:
            if entry.in_cache:
                entry.in_cache = False
                del self.cached[entry.key]
                self.used -= entry.size
                evicted.append(entry.key)
        self._retire(segment)

    def _retire(self, segment: Segment) -> None:
        """A segment leaves the log: a snapshotted one stays for training, its unseen objects as ghosts."""
        self._unlink(segment)
        if not segment.selected:
            return
        segment.train_vtime, segment.train_utility = self.vtime, 0.0
        for entry in segment.entries:
            if not entry.seen:
                entry.ghost = True
                self.ghosts.setdefault(entry.key, []).append(entry)
        self.training_segs.append(segment)

    # -- learning ------------------------------------------------------------------------------------
    def _features(self, segment: Segment) -> tuple[float, ...]:
        n_obj = len(segment.entries)
        return (
            f32(f32(self.rtime) - f32(segment.create_rtime)),
            f32(f32(segment.n_byte) / n_obj) if n_obj else 0.0,
            float(segment.n_hit), float(segment.n_active),
            f32(segment.req_rate), f32(segment.miss_ratio),
        )  # fmt: skip

    def _feature_matrix(self, segments: list[Segment]) -> np.ndarray:
        """``_features`` of every segment at once, as a float32 matrix (numpy's float32 arithmetic is C's)."""
        n_obj = np.array([len(s.entries) for s in segments], dtype=np.float32)
        n_byte = np.array([s.n_byte for s in segments], dtype=np.float32)
        with np.errstate(divide="ignore", invalid="ignore"):
            mean_size = np.where(n_obj > 0, n_byte / n_obj, np.float32(0))
        columns = (
            np.float32(self.rtime) - np.array([s.create_rtime for s in segments], dtype=np.float32),
            mean_size,
            np.array([s.n_hit for s in segments], dtype=np.float32),
            np.array([s.n_active for s in segments], dtype=np.float32),
            np.array([s.req_rate for s in segments], dtype=np.float32),
            np.array([s.miss_ratio for s in segments], dtype=np.float32),
        )
        return np.stack(columns, axis=1).astype(np.float32)

    def _snapshot(self) -> None:
        """Every segment but the last becomes a training row: its features now, its label from now on."""
        ratio = max(self.n_segs / MAX_TRAINING_ROWS, 1.0)
        credit = 0.0
        segment = self.first
        for _ in range(self.n_segs - 1):
            assert segment is not None
            credit += 1
            if credit >= ratio and segment.next is not None:
                credit -= ratio
                segment.selected = True
                if len(self.rows_x) < MAX_TRAINING_ROWS:
                    segment.row = len(self.rows_x)
                    segment.train_vtime, segment.train_utility = self.vtime, 0.0
                    self.rows_x.append(self._features(segment))
                    self.rows_y[segment.row] = 0.0
            else:
                segment.selected, segment.train_utility = False, 0.0
            segment = segment.next

    def _train(self) -> None:
        self.model.train(self.rows_x, self.rows_y[: len(self.rows_x)])
        for segment in self.training_segs:  # their ghosts are forgotten
            for entry in segment.entries:
                if entry.ghost:
                    entry.ghost = False
                    ghosts = self.ghosts[entry.key]
                    ghosts.remove(entry)
                    if not ghosts:
                        del self.ghosts[entry.key]
        self.training_segs = []
        self.n_train += 1
        self.last_train_rtime = self.rtime
        self.rows_x = []

    def _rank(self) -> None:
        """Predict every segment's utility and rank the log by it, least useful first."""
        segments, segment = [], self.first
        while segment is not None:
            segments.append(segment)
            segment = segment.next
        predictions = self.model.predict(self._feature_matrix(segments))
        few = self.n_segs < self.n_merge + 1
        for segment, predicted in zip(segments, predictions):
            if predicted > 0:
                # a segment emptied by removals has no bytes: C's division gives infinity there
                segment.pred_utility = predicted * 1e6 / segment.n_byte if segment.n_byte else math.inf
            elif predicted < 0:
                segment.pred_utility = predicted * segment.n_byte
            if few:
                segment.pred_utility += INT32_HALF_MAX
        segments.sort(key=lambda s: (s.pred_utility, s.create_rtime))  # stable, as glibc's merge sort
        for rank, segment in enumerate(segments):
            segment.rank = rank
            segment.next_ranked = segments[rank + 1] if rank + 1 < len(segments) else None
        self.ranked = list(segments)
        self.ranked_pos = 0

    def _ranked_at(self, position: int) -> Segment | None:
        return self.ranked[position] if position < len(self.ranked) else None

    def _take_ranked(self, position: int) -> Segment | None:
        segment = self._ranked_at(position)
        if position < len(self.ranked):
            self.ranked[position] = None
        return segment

    def _select_ranked(self) -> list[Segment] | None:
        """n_merge segments from the least useful one (adjacent in the log or in rank); one if none merge."""
        resized = self.ranked_capacity < self.n_segs
        if resized:
            self.ranked_capacity = self.n_segs * 2
        if self.ranked_pos >= len(self.ranked) * self.rank_intvl or resized:
            self._rank()
        while self._ranked_at(self.ranked_pos) is None and self.ranked_pos < self.ranked_capacity:
            self.ranked_pos += 1
        first = segment = self._take_ranked(self.ranked_pos)
        while not self._evictable(segment, self.consecutive):
            if self.ranked_pos > len(self.ranked) * 0.8:
                self.ranked_pos = 2**31 - 1  # rank anew at the next eviction
                return None if first is None else [first]
            self.ranked_pos += 1
            segment = self._take_ranked(self.ranked_pos)
        self.ranked_pos += 1
        assert segment is not None
        chosen = [segment]
        for _ in range(self.n_merge - 1):
            nxt = chosen[-1].next if self.consecutive else chosen[-1].next_ranked
            assert nxt is not None
            if nxt.rank != -1 and nxt.rank < len(self.ranked):
                self.ranked[nxt.rank] = None
            chosen.append(nxt)
        return chosen
