"""The compiled engine: the built-in policies as C kernels, behind the Policy interface.

Every built-in policy has a kernel (policies/_kernels/*.pyx, built by
``pip install``) that makes the same decisions as the Python class, request
for request; the Python classes stay the readable reference, and the home of
users' policies.

    engine()                         "compiled" or "python": what this process runs
    make_fast_policy(name, capacity, ...)
                                     the compiled policy under the compiled
                                     engine (when the name is built-in), else
                                     make_policy's Python object
    CompiledPolicy                   a kernel as a Policy

The engine is compiled when the kernels are built, unless the environment
says ``KVSIM_ENGINE=python``; ``KVSIM_ENGINE=compiled`` insists (an error if
they are not built).  Without them kvsim says so once, on stderr, and runs
the Python engine.

A CompiledPolicy is fed in one of two ways, not both:

* key by key (``lookup``, ``insert``, ``remove``, ``access``, ``in``), with
  any hashable keys, as a timed model does: a dict here maps keys to the
  kernel's slots, and slots the kernel no longer holds (not cached, not a
  ghost) are recycled, so memory follows the cache, not the key space;
* a batch at a time (``replay_batch``, which ``replay`` uses): given the
  keys' dense ids (workloads.ids.DenseIds), the ids *are* the slots and no
  key is hashed per request; without them the keys go through the dict.

(About 470 lines, kept together: choosing the engine, translating each
reference policy's parameters for its kernel and the one Policy facade over
every kernel are the single place where the two engines meet; the kernels
themselves are in policies/_kernels/.)
"""

from __future__ import annotations

import functools
import importlib
import os
import sys

import numpy as np

from policies.admission import Admitted, ProbabilisticAdmission, SizeAdmission, TinyLFUAdmission
from policies.arc import ARC
from policies.base import Policy, PolicyError, available, make_policy, policy_class
from policies.belady import Belady
from policies.clock import Clock
from policies.fifo import FIFO
from policies.gdsf import GDSF
from policies.lfu import LFU
from policies.lfuda import LFUDA
from policies.lirs import LIRS
from policies.lru import LRU
from policies.rand import Random
from policies.s3fifo import S3FIFO
from policies.sieve import Sieve
from policies.sketch import CountingBloomFilter, key_id
from policies.slru import SLRU, split_capacity
from policies.twoq import TwoQ
from policies.wtinylfu import WTinyLFU

#: the environment variable that chooses the engine: "compiled" or "python"
ENGINE_VARIABLE = "KVSIM_ENGINE"

_said_python = False  # whether the "no compiled engine" notice was printed


#: the kernel modules (policies/_kernels/*.pyx), by name
KERNEL_MODULES = (
    "admission", "arc", "belady", "clock", "fifo", "gdsf", "lfu", "lfuda", "lirs", "rand", "s3fifo", "sieve", "slru",
    "twoq", "wtinylfu",
)  # fmt: skip


@functools.cache
def _kernels() -> dict | None:
    """The kernel modules by name, or None when they are not built."""
    try:
        return {name: importlib.import_module(f"policies._kernels.{name}") for name in KERNEL_MODULES}
    except ImportError:
        return None


def engine() -> str:
    """Which engine runs the built-in policies in this process: "compiled" or "python"."""
    global _said_python
    choice = os.environ.get(ENGINE_VARIABLE, "").strip().lower()
    if choice not in ("", "compiled", "python"):
        raise PolicyError(f"{ENGINE_VARIABLE} must be 'compiled' or 'python'; got {choice!r}")
    if choice == "python":
        return "python"
    if _kernels() is not None:
        return "compiled"
    if choice == "compiled":
        raise PolicyError(
            f"{ENGINE_VARIABLE}=compiled, but the compiled engine is not built "
            "(reinstall kvsim where a C compiler is available: pip install -e .)"
        )
    if not _said_python:
        _said_python = True
        print(
            "kvsim: the compiled engine is not built (no C compiler when kvsim was installed?); "
            "running the Python engine",
            file=sys.stderr,
        )
    return "python"


def engine_of(policy) -> str:
    """The engine that runs `policy`: "compiled" for a CompiledPolicy, else "python"."""
    return getattr(policy, "engine", "python")


def make_fast_policy(name: str, capacity: int, admission=None, admission_params=None, **params) -> Policy:
    """``make_policy``, compiled when the engine is and the policy (and its filter) are built-in.

    The Python policy is built first in any case: it validates the
    parameters (same errors on both engines) and the kernel copies its sizes.
    """
    reference = make_policy(name, capacity, admission, admission_params, **params)
    if engine() != "compiled":
        return reference
    compiled = compile_policy(reference)
    if compiled is None:
        return reference
    if params.get("future") is not None:
        compiled.prepare(params["future"])
    return compiled


def compiled_names() -> list[str]:
    """The registered policies that have a kernel (the built-in ones), sorted."""
    return [name for name in available() if policy_class(name) in _KERNELS]


def compile_policy(reference: Policy) -> CompiledPolicy | None:
    """The compiled twin of a fresh built-in policy, or None if it has no kernel.

    Only the exact built-in classes qualify (a user's subclass may change any
    decision), behind no filter or a built-in one.
    """
    kernels = _kernels()
    if kernels is None:
        return None
    policy, admission = reference, None
    if type(reference) is Admitted:
        policy = reference.policy
        build_admission = _ADMISSIONS.get(type(reference.admission))
        if build_admission is None:
            return None
        admission = build_admission(kernels, reference.admission)
    build = _KERNELS.get(type(policy))
    if build is None:
        return None
    wrapper = CompiledBelady if type(policy) is Belady else CompiledPolicy
    return wrapper(reference, build(kernels, policy), admission)


# -- each built-in policy's kernel, from the Python policy's parameters ------------------


def _slru_segments(policy: SLRU) -> list[int]:
    """Its segments' capacities, as SLRU.__init__ computes them (a zero gets one unit)."""
    if policy.segments is not None:
        capacities = split_capacity(policy.capacity, [float(p) for p in policy.segments])
    else:
        capacities = [policy.capacity // policy.n_seg] * policy.n_seg
    return [max(c, 1) for c in capacities]


def _wtinylfu(kernels, policy: WTinyLFU):
    segments = [max(c, 1) for c in split_capacity(policy.main_capacity, (1, 4))]
    sketch = CountingBloomFilter(policy.main_capacity, 0.001)  # its dimensions, as the policy's own
    return kernels["wtinylfu"].WTinyLFUKernel(
        policy.capacity,
        policy.window_capacity,
        policy.main_capacity,
        segments,
        policy.max_object_size,
        sketch.n_counters,
        sketch.n_probes,
        policy.SAMPLE_FACTOR * policy.main_capacity,
    )


_KERNELS = {
    FIFO: lambda k, p: k["fifo"].FIFOKernel(p.capacity),
    LRU: lambda k, p: k["fifo"].LRUKernel(p.capacity),
    Clock: lambda k, p: k["clock"].ClockKernel(p.capacity, p.bits, p.init_freq),
    Sieve: lambda k, p: k["sieve"].SieveKernel(p.capacity),
    Random: lambda k, p: k["rand"].RandomKernel(p.capacity, p.seed),
    # S3-FIFO refuses objects of at least small_limit units: one more than it ever caches.
    S3FIFO: lambda k, p: k["s3fifo"].S3FIFOKernel(
        p.capacity, p.small_capacity, p.main_capacity, p.ghost_capacity, p.max_object_size + 1, p.move_to_main_threshold
    ),
    TwoQ: lambda k, p: k["twoq"].TwoQKernel(p.capacity, p.ain_capacity, p.am_capacity, p.aout_capacity),
    ARC: lambda k, p: k["arc"].ARCKernel(p.capacity),
    SLRU: lambda k, p: k["slru"].SLRUKernel(p.capacity, _slru_segments(p)),
    LIRS: lambda k, p: k["lirs"].LIRSKernel(p.capacity, p.lir_capacity, p.hir_capacity),
    LFU: lambda k, p: k["lfu"].LFUKernel(p.capacity),
    LFUDA: lambda k, p: k["lfuda"].LFUDAKernel(p.capacity),
    GDSF: lambda k, p: k["gdsf"].GDSFKernel(p.capacity),
    WTinyLFU: _wtinylfu,
    Belady: lambda k, p: k["belady"].BeladyKernel(p.capacity),
}

_ADMISSIONS = {
    SizeAdmission: lambda k, a: k["admission"].SizeAdmissionKernel(a.threshold),
    ProbabilisticAdmission: lambda k, a: k["admission"].ProbabilisticAdmissionKernel(a.probability, a.seed),
    TinyLFUAdmission: lambda k, a: k["admission"].TinyLFUAdmissionKernel(
        a.min_frequency,
        a.sample_size,
        a.doorkeeper.n_bits,
        a.doorkeeper.n_probes,
        a.sketch.width,
        a.sketch.depth,
        a.sketch.max_count,
    ),
}


# -- the Policy interface over a kernel ---------------------------------------------------

#: a key-by-key policy sweeps its slot map when it holds this many keys (then twice the survivors)
SWEEP_FLOOR = 1024

#: a batch of keys (without dense ids) is mapped to slots this many at a time
MAPPED_BATCH = 1 << 14


def _int64(key_ids: list) -> np.ndarray:
    """64-bit key ids (0 .. 2**64-1) as int64 with the same bits, as traces store them."""
    return np.array(key_ids, dtype=np.uint64).view(np.int64)


def _plain(value):
    """A numpy scalar as the Python value it holds (for messages)."""
    return value.item() if isinstance(value, np.generic) else value


class CompiledPolicy(Policy):
    """A built-in policy running as a C kernel; same decisions as the Python reference."""

    engine = "compiled"

    def __init__(self, reference: Policy, kernel, admission=None):
        # No Policy.__init__: the reference has validated everything.
        self.name = reference.name
        self.capacity = reference.capacity
        self._params = reference.params()
        self._max_object_size = reference.max_object_size
        self._kernel = kernel
        kernel.admission = admission
        self._slot_of: dict = {}  # key -> slot, when fed key by key
        self._key_of: list = []  # slot -> key
        self._free: list = []  # slots to reuse
        self._sweep_at = SWEEP_FLOOR
        self._fed_by = None  # "keys" or "ids", fixed by the first request

    @property
    def used(self):
        return self._kernel.used_units

    @property
    def kernel(self):
        """The kernel itself, with its admission filter: for a caller that feeds it slots in C (the timed
        model's compiled loop), not through this wrapper."""
        return self._kernel

    @property
    def max_object_size(self):
        return self._max_object_size

    def params(self):
        return dict(self._params)

    # -- key by key ------------------------------------------------------------------
    def _feed(self, way: str) -> None:
        if self._fed_by != way:
            if self._fed_by is not None:
                raise PolicyError(
                    f"this compiled {self.name} policy was fed {self._fed_by == 'ids' and 'dense ids' or 'keys'}; "
                    "feed one policy one way (keys, or a replay with dense ids), not both"
                )
            self._fed_by = way

    def _slot(self, key) -> int:
        """The key's slot, a new (or recycled) one if it has none."""
        slot = self._slot_of.get(key)
        if slot is None:
            if self._free:
                slot = self._free.pop()
                self._key_of[slot] = key
            else:
                slot = len(self._key_of)
                self._key_of.append(key)
                self._kernel.grow_to(slot + 1)
            self._slot_of[key] = slot
            self._kernel.set_id(slot, key_id(key))
        return slot

    def _sweep(self) -> None:
        """Recycle the slots of keys the kernel no longer holds; run only between requests."""
        if self._free or len(self._slot_of) < self._sweep_at:
            return
        holds = self._kernel.holds_slot
        for key, slot in list(self._slot_of.items()):
            if not holds(slot):
                del self._slot_of[key]
                self._key_of[slot] = None
                self._free.append(slot)
        self._sweep_at = max(SWEEP_FLOOR, 2 * len(self._slot_of))

    def lookup(self, key):
        self._feed("keys")
        admission = self._kernel.admission
        if admission is not None:
            admission.record_key(key_id(key))
        slot = self._request_slot(key)
        return slot is not None and self._kernel.lookup_slot(slot)

    def _request_slot(self, key):
        """The slot a lookup asks about: None for a key without one (a miss with no effect)."""
        return self._slot_of.get(key)

    def insert(self, key, size=1):
        self._feed("keys")
        kernel = self._kernel
        slot = self._slot_of.get(key)
        admission = kernel.admission
        if admission is not None and (slot is None or not kernel.contains_slot(slot)):
            if not admission.admits(key_id(key), size):
                return []
        if slot is None:
            self._sweep()
            slot = self._slot(key)
        key_of = self._key_of
        return [key_of[victim] for victim in kernel.insert_slot(slot, size)]

    def remove(self, key):
        self._feed("keys")
        slot = self._slot_of.get(key)
        return slot is not None and self._kernel.remove_slot(slot)

    def __contains__(self, key):
        slot = self._slot_of.get(key)
        return slot is not None and self._kernel.contains_slot(slot)

    def __len__(self):
        return len(self._kernel)

    def keys(self):
        """The cached keys, in the Python policy's order."""
        if self._fed_by == "ids":
            return _int64([self._kernel.id_of(slot) for slot in self._kernel.order()]).tolist()
        key_of = self._key_of
        return [key_of[slot] for slot in self._kernel.order()]

    # -- a batch at a time -------------------------------------------------------------
    def replay_batch(self, keys, sizes, count_bytes: bool, ids=None) -> np.ndarray:
        """Serve a batch of requests; a boolean array, True where a request hit.

        `keys`: an int64 array (or any sequence of hashable keys); `sizes`: an
        int64 array (used when `count_bytes`, else every object counts 1);
        `ids`: the keys' dense ids, if the caller has them.
        """
        n = len(keys)
        hits = np.zeros(n, dtype=np.uint8)
        sizes = np.ascontiguousarray(sizes, dtype=np.int64) if count_bytes else None
        if ids is not None:
            self._feed("ids")
            if len(ids) != n:
                raise ValueError(f"replay: {n} keys but {len(ids)} dense ids")
            if n:
                low, high = int(np.min(ids)), int(np.max(ids))
                if low < 0 or high >= 2**31 - 1:  # the kernel indexes its arrays with them
                    raise ValueError(f"dense ids must be in [0, 2**31 - 1); got {low} .. {high}")
                self._kernel.grow_to(high + 1)
            self._kernel.replay(np.ascontiguousarray(ids, dtype=np.int32), self._key_ids(keys), sizes, hits)
            return hits.view(bool)
        self._feed("keys")
        key_list = keys.tolist() if isinstance(keys, np.ndarray) else list(keys)
        for low in range(0, n, MAPPED_BATCH):
            part = key_list[low : low + MAPPED_BATCH]
            self._sweep()  # between parts: a slot mapped for this part must stay its key's
            slots = np.array([self._slot(key) for key in part], dtype=np.int32)
            part_ids = keys[low : low + MAPPED_BATCH] if isinstance(keys, np.ndarray) else part
            self._kernel.replay(
                slots,
                self._key_ids(part_ids),
                None if sizes is None else sizes[low : low + MAPPED_BATCH],
                hits[low : low + MAPPED_BATCH],
            )
        return hits.view(bool)

    @staticmethod
    def _key_ids(keys) -> np.ndarray:
        """Each key's 64-bit id (policies.sketch.key_id) as int64: integer arrays are their own ids."""
        if isinstance(keys, np.ndarray) and keys.dtype.kind in "iu":
            return np.ascontiguousarray(keys).astype(np.int64, copy=False)
        return _int64([key_id(key) for key in keys])


class CompiledBelady(CompiledPolicy):
    """Belady's MIN as a kernel: the future is prepared in C, from the keys' dense ids."""

    offline = True

    def __init__(self, reference, kernel, admission=None):
        super().__init__(reference, kernel, admission)
        self._future = None  # the prepared keys, to check each request against
        self._t = 0  # requests served so far

    def prepare(self, keys, ids=None) -> None:
        """Give the whole request sequence (with its dense ids, if the caller has them)."""
        future = keys if isinstance(keys, np.ndarray) else np.array(list(keys), dtype=object)
        if ids is None:
            first_seen: dict = {}
            ids = np.fromiter(
                (first_seen.setdefault(key, len(first_seen)) for key in future.tolist()), np.int64, len(future)
            )
        ids = np.ascontiguousarray(ids, dtype=np.int32)
        self._kernel.prepare(ids, int(ids.max()) + 1 if len(ids) else 0)
        self._future, self._t = future, 0

    @property
    def prepared(self) -> bool:
        return self._future is not None

    def _check(self, keys) -> None:
        """The next len(keys) requests must be the prepared ones (the errors of Python's Belady)."""
        if self._future is None:
            raise PolicyError(
                "belady is an offline policy: give it the whole request sequence with "
                "prepare(keys) before the first request (replay does this); it cannot run "
                "in a timed model, which does not know the future"
            )
        t, n = self._t, len(keys)
        if t + n > len(self._future):
            raise PolicyError(
                f"belady was prepared with {len(self._future)} requests and got more; when "
                "replaying a trace in parts, prepare() it with the whole sequence first"
            )
        expected = self._future[t : t + n]
        if isinstance(keys, np.ndarray) and keys.dtype.kind in "iu" and expected.dtype.kind in "iu":
            wrong = np.flatnonzero(expected != keys)
        else:
            wrong = [i for i, (want, got) in enumerate(zip(expected.tolist(), keys)) if want != got][:1]
        if len(wrong):
            i = int(wrong[0])
            raise PolicyError(
                f"belady: request {t + i} is {_plain(keys[i])!r} but the prepared sequence has "
                f"{_plain(expected[i])!r} there; it must see exactly the prepared requests, in order"
            )
        self._t = t + n

    def lookup(self, key):
        self._check([key])
        return super().lookup(key)

    def _request_slot(self, key):
        # Every request steps through the future, a key without a slot too.
        self._sweep()
        return self._slot(key)

    def insert(self, key, size=1):
        if not self._kernel.is_current(self._slot_of.get(key, -1)):
            raise PolicyError("belady inserts only the key of the latest request (its next use is known)")
        return super().insert(key, size)

    def replay_batch(self, keys, sizes, count_bytes, ids=None):
        self._check(keys)
        return super().replay_batch(keys, sizes, count_bytes, ids)
