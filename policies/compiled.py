"""The compiled engine: the built-in policies as C kernels, behind the Policy interface.

(Over 450 lines: the Policy interface over a kernel, resizing included, reads best in one class.)

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
  any hashable keys, as a timed model does: the one key -> slot map in C
  (policies/_kernels/slots.pyx, the timed model's nodes use it too) gives
  keys slots and recycles those the kernel no longer holds (not cached, not
  a ghost), so memory follows the cache, not the key space;
* a batch at a time (``replay_batch``, which ``replay`` uses): given the
  keys' dense ids (workloads.ids.DenseIds), the ids *are* the slots and no
  key is hashed per request; without them the keys go through the slot map.

Which kernel runs a policy is the policy's own business: each built-in class
(and admission filter) binds its kernel in ``make_kernel``, built from the
attributes its ``__init__`` computed, so this module knows no policy by name.
A new built-in policy brings its module (with ``make_kernel``), its kernel
(policies/_kernels/NAME.pyx, which setup.py builds with the others) and its
tests; nothing here changes.
"""

from __future__ import annotations

import functools
import importlib
import os
import sys
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from policies.admission import Admission, Admitted, admission_class
from policies.base import Kernel, Key, Policy, PolicyError, available, make_policy, policy_class
from policies.guard import is_builtin
from policies.key_handles import INT64_HIGH, INT64_LOW, KeyHandles
from policies.limits import MAX_CAPACITY
from policies.sketch import key_id

if TYPE_CHECKING:
    #: a batch of requests' keys: an int64 array (a trace's), or any sequence of hashable keys
    KeyBatch = npt.NDArray[np.int64] | Sequence[Key]

#: the environment variable that chooses the engine: "compiled" or "python"
ENGINE_VARIABLE = "KVSIM_ENGINE"

_said_python = False  # whether the "no compiled engine" notice was printed


@functools.cache
def _built() -> bool:
    """Whether the kernels are built: their common ground (policies/_kernels/kernel.pyx) imports."""
    try:
        importlib.import_module("policies._kernels.kernel")
    except ImportError:
        return False
    return True


def _chosen() -> str:
    """What KVSIM_ENGINE asks for: "", "compiled" or "python"."""
    choice = os.environ.get(ENGINE_VARIABLE, "").strip().lower()
    if choice not in ("", "compiled", "python"):
        raise PolicyError(f"{ENGINE_VARIABLE} must be 'compiled' or 'python'; got {choice!r}")
    return choice


def engine() -> str:
    """Which engine runs the built-in policies in this process: "compiled" or "python"."""
    global _said_python
    choice = _chosen()
    if choice == "python":
        return "python"
    if _built():
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


def engine_of(policy: Policy) -> str:
    """The engine that runs `policy`: "compiled" for a CompiledPolicy, else "python"."""
    return getattr(policy, "engine", "python")


def has_kernel(cls: type) -> bool:
    """Whether a policy or filter class binds a kernel of its own (Policy.make_kernel; an inherited one does not count)."""
    return "make_kernel" in vars(cls)


def make_fast_policy(
    name: str,
    capacity: int,
    admission: str | Admission | None = None,
    admission_params: dict[str, object] | None = None,
    **params: Any,  # each parameter of its own type
) -> Policy:
    """``make_policy``, compiled when the engine is and the policy (and its filter) are built-in.

    The Python policy is built first in any case: it validates the
    parameters (same errors on both engines) and its kernel is built from it.
    """
    reference = make_policy(name, capacity, admission, admission_params, **params)
    if engine() != "compiled":
        return reference
    compiled = compile_policy(reference)
    if compiled is None:
        return reference
    if params.get("future") is not None:
        # Only an offline policy takes a future, and its twin is a CompiledOffline.
        compiled.prepare(params["future"])  # type: ignore[attr-defined]
    return compiled


def compiled_names() -> list[str]:
    """The registered policies that have a kernel (the built-in ones), sorted."""
    return [name for name in available() if has_kernel(policy_class(name))]


def kernel_refusal(name: str, admission: str | Admission | None = None) -> str | None:
    """Why ``make_fast_policy(name, ..., admission=admission)`` would not run compiled; None if it would.

    Judged from the classes alone, so that choosing an engine builds nothing.
    """
    if _chosen() == "python":
        return f"{ENGINE_VARIABLE}=python"
    if not _built():
        return "the compiled engine is not built"
    cls = policy_class(name)
    if not is_builtin(cls):
        return f"policy {name!r} is not one of kvsim's own (only those have kernels)"
    if not has_kernel(cls):
        return f"policy {name!r} has no kernel"
    if admission is not None:
        filter_class = type(admission) if isinstance(admission, Admission) else admission_class(admission)
        if not (is_builtin(filter_class) and has_kernel(filter_class)):
            return f"admission filter {filter_class.name!r} has no kernel"
    return None


def kernel_of(reference: Policy) -> Kernel | None:
    """The kernel of a fresh built-in policy, with its filter's kernel in front; None if either has none.

    Only the exact built-in classes qualify (a user's subclass may change any
    decision, and inherits no kernel), behind no filter or a built-in one.
    """
    if not _built():
        return None
    policy, admission = reference, None
    if type(reference) is Admitted:
        policy, admission = reference.policy, reference.admission
    if not has_kernel(type(policy)) or (admission is not None and not has_kernel(type(admission))):
        return None
    try:
        kernel: Kernel = policy.make_kernel()  # (not None: has_kernel said it binds one)
        kernel.admission = None if admission is None else admission.make_kernel()
    except ImportError:  # this one kernel was not built (setup.py goes on past a module it cannot compile)
        return None
    return kernel


def compile_policy(reference: Policy) -> CompiledPolicy | None:
    """The compiled twin of a fresh built-in policy, or None if it has no kernel (see kernel_of)."""
    kernel = kernel_of(reference)
    if kernel is None:
        return None
    return (CompiledOffline if reference.offline else CompiledPolicy)(reference, kernel)


def reshape_kernel(kernel: Kernel, reference: Policy) -> list[int]:
    """Resize a kernel (and its filter) to `reference`'s capacity, the reference an empty twin built or
    resized to it, whose parts' shares the kernel takes (Policy.resize); the slots evicted, in order."""
    if type(reference) is Admitted:
        kernel.admission.follow_capacity(reference.capacity)
        reference = reference.policy
    return kernel.resize_slots(reference)


# -- the Policy interface over a kernel ---------------------------------------------------

#: a batch of keys (without dense ids) is mapped to slots this many at a time
MAPPED_BATCH = 1 << 14


def _int64(key_ids: list[int]) -> npt.NDArray[np.int64]:
    """64-bit key ids (0 .. 2**64-1) as int64 with the same bits, as traces store them."""
    return np.array(key_ids, dtype=np.uint64).view(np.int64)


def _plain(value: object) -> object:
    """A numpy scalar as the Python value it holds (for messages)."""
    return value.item() if isinstance(value, np.generic) else value


class CompiledPolicy(Policy):
    """A built-in policy running as a C kernel; same decisions as the Python reference."""

    engine = "compiled"

    def __init__(self, reference: Policy, kernel: Kernel):
        # No Policy.__init__: the reference has validated everything.
        self.name = reference.name
        self.capacity = reference.capacity
        self._params = reference.params()
        self._max_object_size = reference.max_object_size
        self._kernel = kernel
        self._reference = reference  # never fed: resize() re-derives its parts' shares for the kernel
        self._slots: Kernel = None  # key -> slot (policies/_kernels/slots.pyx), when fed key by key,
        # through each key's int64 handle (policies/key_handles.py); set with _slots, before any use
        self._handles: KeyHandles = None  # type: ignore[assignment]
        self._fed_by: str | None = None  # "keys" or "ids", fixed by the first request
        self.timed = reference.timed  # a kernel that reads the clock hears it: advance, replay's times

    @property
    def used(self) -> int:  # type: ignore[override]  # the sum over its parts, read-only
        return self._kernel.used_units

    @property
    def kernel(self) -> Kernel:
        """The kernel itself, with its admission filter: for a caller that feeds it slots in C (the timed
        model's compiled loop), not through this wrapper."""
        return self._kernel

    @property
    def max_object_size(self) -> int:
        return self._max_object_size

    def params(self) -> dict[str, object]:
        return dict(self._params)

    def advance(self, now: float) -> None:
        if self.timed:
            self._kernel.advance_to(int(now))  # whole seconds, as the reference's int(now)

    # -- key by key ------------------------------------------------------------------
    def _feed(self, way: str) -> None:
        if self._fed_by != way:
            if self._fed_by is not None:
                raise PolicyError(
                    f"this compiled {self.name} policy was fed {self._fed_by == 'ids' and 'dense ids' or 'keys'}; "
                    "feed one policy one way (keys, or a replay with dense ids), not both"
                )
            self._fed_by = way
            if way == "keys":
                from policies._kernels.slots import SlotMap

                self._slots = SlotMap(self._kernel)
                self._handles = KeyHandles(self._slots)

    def _ids(self, key: Key) -> tuple[int, int]:
        """The key's (handle, id) for the slot map (policies/key_handles.py); an int64 integer is both."""
        if type(key) is int and INT64_LOW <= key < INT64_HIGH and not self._handles.named:
            return key, key
        return self._handles(key)

    def lookup(self, key: Key) -> bool:
        if self._fed_by != "keys":
            self._feed("keys")
        return self._slots.lookup(*self._ids(key))  # a kernel that sees new keys gets a slot for one

    def insert(self, key: Key, size: int = 1) -> list[Key]:
        if self._fed_by != "keys":
            self._feed("keys")
        victims = self._slots.insert(*self._ids(key), self._fitted(size))
        return [self._handles.name(victim) for victim in victims] if self._handles.named else victims

    def access(self, key: Key, size: int = 1) -> bool:
        if self._fed_by != "keys":
            self._feed("keys")
        return self._slots.access(*self._ids(key), self._fitted(size))

    def _fitted(self, size: int) -> int:
        """A size the kernel's int64 holds: the size itself up to MAX_CAPACITY (so that an admission
        filter that learns from sizes, as AdaptSize does, sees the one the Python filter sees); beyond
        it, one above the capacity (never cached, however far above)."""
        return size if size <= MAX_CAPACITY else self.capacity + 1

    def remove(self, key: Key) -> bool:
        self._feed("keys")
        slot = self._slots.slot(self._ids(key)[0])
        return slot >= 0 and self._kernel.remove_slot(slot)

    def __contains__(self, key: Key) -> bool:
        if self._slots is None:
            return False
        slot = self._slots.slot(self._ids(key)[0])
        return slot >= 0 and self._kernel.contains_slot(slot)

    def __len__(self) -> int:
        return len(self._kernel)

    def keys(self) -> list[Key]:
        """The cached keys, in the Python policy's order."""
        if self._fed_by == "ids":
            return _int64([self._kernel.id_of(slot) for slot in self._kernel.order()]).tolist()
        if self._slots is None:
            return []
        handles = self._slots.keys()
        return [self._handles.name(handle) for handle in handles] if self._handles.named else handles

    # -- resizing: the kernel evicts through the policy's own order ------------------------
    @property
    def resizable(self) -> bool:
        return bool(self._kernel.EVICTS_TO)

    def evict_to(self, units: int) -> list[Key]:
        if not self.resizable:
            return Policy.evict_to(self, units)  # raises, naming the policy
        return self._keys_of(self._kernel.evict_slots_to(units))

    def resize(self, capacity: int) -> list[Key]:
        """The reference (empty) resized re-derives the parts' shares; the kernel takes them and evicts."""
        if not self.resizable:
            return Policy.resize(self, capacity)  # raises, naming the policy
        self._reference.resize(capacity)
        self.capacity, self._max_object_size = self._reference.capacity, self._reference.max_object_size
        return self._keys_of(reshape_kernel(self._kernel, self._reference))

    def _keys_of(self, slots: list[int]) -> list[Key]:
        """The keys of slots the kernel just evicted (those it keeps no ghost of are taken back)."""
        if self._fed_by == "ids":
            return _int64([self._kernel.id_of(slot) for slot in slots]).tolist()
        if self._fed_by != "keys":
            self._feed("keys")
        handles = self._slots.keys_of_evicted(slots)
        return [self._handles.name(handle) for handle in handles] if self._handles.named else handles

    # -- a batch at a time -------------------------------------------------------------
    def replay_batch(
        self,
        keys: KeyBatch,
        sizes: npt.NDArray[np.int64] | None,
        count_bytes: bool,
        ids: npt.NDArray[np.integer] | None = None,
        times: npt.NDArray[np.number] | None = None,
    ) -> npt.NDArray[np.bool_]:
        """Serve a batch of requests; a boolean array, True where a request hit.

        `keys`: an int64 array (or any sequence of hashable keys); `sizes`: an
        int64 array (used when `count_bytes`, else every object counts 1);
        `ids`: the keys' dense ids, if the caller has them; `times`: the
        requests' times in seconds, which only a timed policy hears.
        """
        n = len(keys)
        hits = np.zeros(n, dtype=np.uint8)
        sizes = np.ascontiguousarray(sizes, dtype=np.int64) if count_bytes else None
        seconds = None
        if self.timed:  # whole seconds, truncated as the reference's int(now); default: one a request
            seconds = np.arange(n, dtype=np.int64) if times is None else np.asarray(times).astype(np.int64)
            if len(seconds) != n:
                raise ValueError(f"replay: {n} keys but {len(seconds)} times")
        if ids is not None:
            self._feed("ids")
            if len(ids) != n:
                raise ValueError(f"replay: {n} keys but {len(ids)} dense ids")
            if n:
                low, high = int(np.min(ids)), int(np.max(ids))
                if low < 0 or high >= 2**31 - 1:  # the kernel indexes its arrays with them
                    raise ValueError(f"dense ids must be in [0, 2**31 - 1); got {low} .. {high}")
                self._kernel.grow_to(high + 1)
            self._replay(np.ascontiguousarray(ids, dtype=np.int32), self._key_ids(keys), sizes, seconds, hits)
            return hits.view(bool)
        self._feed("keys")
        handles, key_ids = self._handles_of(keys)
        slots = np.empty(n, dtype=np.int32)
        for low in range(0, n, MAPPED_BATCH):
            part = slice(low, low + MAPPED_BATCH)
            self._slots.map_keys(handles[part], slots[part])  # sweeps between parts, none within one
            part_sizes = None if sizes is None else sizes[part]
            self._replay(slots[part], key_ids[part], part_sizes, None if seconds is None else seconds[part], hits[part])
        return hits.view(bool)

    def _replay(
        self,
        slots: npt.NDArray[np.int32],
        key_ids: npt.NDArray[np.int64],
        sizes: npt.NDArray[np.int64] | None,
        seconds: npt.NDArray[np.int64] | None,
        hits: npt.NDArray[np.uint8],
    ) -> None:
        """The kernel's replay loop: the timed one when there are times to hear (a timed policy's)."""
        if seconds is None:
            self._kernel.replay(slots, key_ids, sizes, hits)
        else:
            self._kernel.replay_timed(slots, key_ids, sizes, seconds, hits)

    def _handles_of(self, keys: KeyBatch) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """Each key's (handle, id), as two int64 arrays: an array of int64 integers is both."""
        if isinstance(keys, np.ndarray) and keys.dtype.kind in "iu" and keys.max(initial=0) < INT64_HIGH:
            keys = np.ascontiguousarray(keys, dtype=np.int64)
            return keys, keys
        pairs = [self._handles(key) for key in keys]
        return np.array([h for h, _ in pairs], dtype=np.int64), np.array([i for _, i in pairs], dtype=np.int64)

    @staticmethod
    def _key_ids(keys: KeyBatch) -> npt.NDArray[np.int64]:
        """Each key's 64-bit id (policies.sketch.key_id) as int64: integer arrays are their own ids."""
        if isinstance(keys, np.ndarray) and keys.dtype.kind in "iu":
            return np.ascontiguousarray(keys).astype(np.int64, copy=False)
        return _int64([key_id(key) for key in keys])


class CompiledOffline(CompiledPolicy):
    """An offline policy (Belady's MIN) as a kernel: the future is prepared in C, from the keys' dense ids."""

    offline = True

    def __init__(self, reference: Policy, kernel: Kernel):
        super().__init__(reference, kernel)
        self._future: npt.NDArray[np.generic] | None = None  # the prepared keys, to check each request against
        self._t = 0  # requests served so far

    def prepare(self, keys: Iterable[Key], ids: npt.NDArray[np.integer] | None = None) -> None:
        """Give the whole request sequence (with its dense ids, if the caller has them)."""
        future = keys if isinstance(keys, np.ndarray) else np.array(list(keys), dtype=object)
        if ids is None:
            first_seen: dict[Key, int] = {}
            ids = np.fromiter(
                (first_seen.setdefault(key, len(first_seen)) for key in future.tolist()), np.int64, len(future)
            )
        ids = np.ascontiguousarray(ids, dtype=np.int32)
        self._kernel.prepare(ids, int(ids.max()) + 1 if len(ids) else 0)
        self._future, self._t = future, 0

    @property
    def prepared(self) -> bool:
        return self._future is not None

    def _check(self, keys: KeyBatch) -> None:
        """The next len(keys) requests must be the prepared ones (the errors of Python's Belady)."""
        if self._future is None:
            raise PolicyError(
                f"{self.name} is an offline policy: give it the whole request sequence with "
                "prepare(keys) before the first request (replay does this); it cannot run "
                "in a timed model, which does not know the future"
            )
        t, n = self._t, len(keys)
        if t + n > len(self._future):
            raise PolicyError(
                f"{self.name} was prepared with {len(self._future)} requests and got more; when "
                "replaying a trace in parts, prepare() it with the whole sequence first"
            )
        expected = self._future[t : t + n]
        wrong: npt.NDArray[np.intp] | list[int]
        if isinstance(keys, np.ndarray) and keys.dtype.kind in "iu" and expected.dtype.kind in "iu":
            wrong = np.flatnonzero(expected != keys)
        else:
            wrong = [i for i, (want, got) in enumerate(zip(expected.tolist(), keys)) if want != got][:1]
        if len(wrong):
            i = int(wrong[0])
            raise PolicyError(
                f"{self.name}: request {t + i} is {_plain(keys[i])!r} but the prepared sequence has "
                f"{_plain(expected[i])!r} there; it must see exactly the prepared requests, in order"
            )
        self._t = t + n

    def lookup(self, key: Key) -> bool:
        self._check([key])
        self._feed("keys")
        return self._slots.lookup(*self._ids(key), give_slot=True)  # every request steps through the future

    def access(self, key: Key, size: int = 1) -> bool:
        return Policy.access(self, key, size)  # its lookup and insert check the future

    def insert(self, key: Key, size: int = 1) -> list[Key]:
        self._feed("keys")
        if not self._kernel.is_current(self._slots.slot(self._ids(key)[0])):
            raise PolicyError(f"{self.name} inserts only the key of the latest request (its next use is known)")
        return super().insert(key, size)

    def replay_batch(
        self,
        keys: KeyBatch,
        sizes: npt.NDArray[np.int64] | None,
        count_bytes: bool,
        ids: npt.NDArray[np.integer] | None = None,
        times: npt.NDArray[np.number] | None = None,
    ) -> npt.NDArray[np.bool_]:
        self._check(keys)
        return super().replay_batch(keys, sizes, count_bytes, ids, times)
