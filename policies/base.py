"""The policy interface, a hook-based base class, and the registry.

A policy decides *which* key to evict.  It is a plain synchronous object: no
clock, no SimPy, no randomness but its own seeded generator.  A timed model
needs lookup and insert apart (a miss is looked up now and inserted when the
backend answers, later), so the interface splits them:

    lookup(key) -> bool          hit or not; a hit updates recency/frequency
    insert(key, size) -> [keys]  admit and evict to fit; returns the evicted keys
    remove(key) -> bool          TTL expiry, invalidation
    access(key, size) -> bool    lookup, else insert: the trace-replay fast path

Semantics follow libCacheSim so miss counts can be compared exactly:
eviction makes room *before* the new object goes in (GDSF, as libCacheSim's,
inserts first and then evicts), and an object larger than the whole cache is
not admitted (it evicts nothing).  Inserting a key that is already cached
replaces it (as a new object, possibly with a new size).

Optional extras:

* ``timed = True`` marks a policy whose decisions depend on the time (Redis's
  one-second LRU clock and its LFU decay, memcached's LRU ages).  Its caller
  tells it the current time, in seconds, with ``advance(now)`` before each
  request (replay: the trace's timestamps; the timed model: simulated time);
  callers skip the call for every other policy, which therefore pays nothing.
* a policy whose constructor takes ``capacity_bytes`` is told by
  ``make_policy(name, capacity, capacity_bytes=True)`` that the capacity
  counts bytes (and sizes are object sizes), as a server model needs to know
  to charge its own per-entry overheads; other policies never see it.
* ``offline = True`` marks a policy that needs the future (Belady): it is given
  the whole request sequence with ``prepare(keys)`` before the first request,
  which ``replay`` does for it; a timed model must refuse such a policy.
* ``make_policy(name, capacity, admission=..., admission_params={...})`` puts an
  admission filter (policies/admission.py) in front of any policy.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
from collections.abc import Callable, Hashable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar

from policies.limits import capacity_error

if TYPE_CHECKING:  # admission.py imports this module: its names are for the checker only
    from policies.admission import Admission

Key = Hashable
#: a policy's compiled twin, a Cython kernel of policies/_kernels (the checker sees no types in C)
Kernel = Any


def _checked_capacity(capacity: int) -> int:
    """`capacity` as an int, or ValueError saying what a capacity may be (policies/limits.py)."""
    problem = capacity_error(capacity)
    if problem:
        raise ValueError(problem)
    return int(capacity)


class Policy:
    """Base class of every eviction policy.

    Subclasses keep their own bookkeeping and maintain ``self.used``, the sum of
    the sizes of the cached objects (sizes are 1 when capacity counts objects).
    """

    #: registry name, set by @register
    name = "policy"
    #: what the policy does, in one plain line for `kvsim policies` (a user's policy may leave it out)
    summary = ""
    #: True for a policy that must see the future request sequence (``prepare``)
    offline = False
    #: True for a policy that reads the time: callers call ``advance(now)`` before each request
    timed = False

    def __init__(self, capacity: int):
        self.capacity = _checked_capacity(capacity)
        if not isinstance(getattr(type(self), "used", None), property):
            self.used = 0  # a policy made of parts may compute `used` as a property instead

    # -- the interface ---------------------------------------------------
    def lookup(self, key: Key) -> bool:
        raise NotImplementedError

    def insert(self, key: Key, size: int = 1) -> list[Key]:
        raise NotImplementedError

    def remove(self, key: Key) -> bool:
        raise NotImplementedError

    def __contains__(self, key: Key) -> bool:
        raise NotImplementedError

    def __len__(self) -> int:
        raise NotImplementedError

    def keys(self) -> list[Key]:
        """The cached keys (in the policy's own order, where it has one)."""
        raise NotImplementedError

    @property
    def max_object_size(self) -> int:
        """The largest object this policy ever caches (libCacheSim's can_insert limit).

        An insert of a larger object leaves it uncached; a policy made of
        parts (S3-FIFO, SLRU, 2Q, LIRS, W-TinyLFU) admits only what fits its
        smallest entry queue.  By default, the capacity.
        """
        return self.capacity

    def access(self, key: Key, size: int = 1) -> bool:
        """Serve one request as a trace replay does: hit, or miss and insert."""
        if self.lookup(key):
            return True
        self.insert(key, size)
        return False

    def params(self) -> dict[str, object]:
        """The policy's parameters, as extra result columns."""
        return {}

    def advance(self, now: float) -> None:
        """The current time, in seconds, never decreasing: given before each request to a
        policy whose ``timed`` is True (and only to it).  By default: nothing."""

    # -- resizing: a server's memory limit changed at run time (CONFIG SET maxmemory) --------------
    def evict_to(self, units: int) -> list[Key]:
        """Evict, in the policy's own victim order, until at most `units` are used; the evicted keys.

        The capacity is unchanged: this is what a server's eviction loop does
        when it frees memory down to a mark (batch eviction), and the second
        step of ``resize``.  A policy that does not define it cannot be resized
        (its ``resizable`` is False, and the config check tells the user).
        """
        raise NotImplementedError(f"policy {self.name!r} cannot evict to a size (it has no evict_to)")

    @property
    def resizable(self) -> bool:
        """Whether this policy can evict to a size (be resized, evict in batches): it defines evict_to."""
        return type(self).evict_to is not Policy.evict_to

    def resize(self, capacity: int) -> list[Key]:
        """Give the cache a new capacity, at once; the keys evicted to fit it.

        Shrinking evicts through the policy's own order down to the new size;
        growing takes effect for the next inserts.  By default the capacity is
        all a policy derives its state from; a policy made of parts (S3-FIFO's
        queues, SLRU's segments) re-derives their sizes as its constructor does.
        """
        self.capacity = _checked_capacity(capacity)
        return self.evict_to(self.capacity)

    def make_kernel(self) -> Kernel | None:
        """This policy's C twin (a kernel of policies/_kernels) for the compiled engine, or None.

        A built-in policy binds its kernel here, in its own class, and builds
        it from the attributes its ``__init__`` computed (the capacities of its
        parts, its sketch's dimensions, its seed): every size the two engines
        share is derived once, by the reference.  Only a class's own
        make_kernel counts: a subclass may change any decision, so it inherits
        no kernel (policies/compiled.py checks that).  By default: none.
        """
        return None

    def expect(self, keys: Iterable[Key]) -> None:
        """A hint that `keys` are about to be requested (replay gives it).

        A policy may do per-key work in bulk here (W-TinyLFU hashes the keys
        with numpy); it must never change a decision.  By default: nothing.
        """

    def __repr__(self) -> str:
        return f"{type(self).__name__}(capacity={self.capacity}, used={self.used}, objects={len(self)})"


class SizedPolicy(Policy):
    """A policy whose cached keys are exactly the keys of one dict, ``self.sizes`` (key -> size).

    The one base of the single-structure policies (FIFO, LRU, CLOCK, SIEVE,
    LFU, LFU-DA, GDSF, RANDOM, Belady) and of ``HookPolicy``.  It answers
    ``key in cache``, ``len(cache)`` and ``keys()`` from that dict (a subclass
    may make it an OrderedDict, to keep its order there too), and gives every
    insert and remove its first step:

        _replaces(key, size)  begin an insert: replace a cached key; False if `size` can never fit
        _drop(key)            forget a key's size, keeping ``used`` in step; the size, or None
    """

    def __init__(self, capacity: int):
        super().__init__(capacity)
        self.sizes: dict[Key, int] = {}

    def _replaces(self, key: Key, size: int) -> bool:
        """Begin an insert: a cached `key` is replaced; False when `size` can never fit.

        As in libCacheSim, an object larger than the cache is not admitted and
        evicts nothing.
        """
        if key in self.sizes:
            self.remove(key)
        return size <= self.capacity

    def _drop(self, key: Key) -> int | None:
        size = self.sizes.pop(key, None)
        if size is not None:
            self.used -= size
        return size

    def remove(self, key: Key) -> bool:
        return self._drop(key) is not None

    def __contains__(self, key: Key) -> bool:
        return key in self.sizes

    def __len__(self) -> int:
        return len(self.sizes)

    def keys(self) -> list[Key]:
        return list(self.sizes)


class HookPolicy(SizedPolicy):
    """A policy written as four hooks over the dict of cached sizes, ``self.sizes``.

    Storage, sizes and the insert-evict loop live here; a subclass says only

        on_insert(key)   a key was admitted
        on_hit(key)      a cached key was requested
        on_remove(key)   a key left (evicted or removed)
        victim() -> key  which key to evict next

    LRU in this style:

        class LRU(HookPolicy):
            def __init__(self, capacity):
                super().__init__(capacity)
                self.order = OrderedDict()
            def on_insert(self, key: Key) -> None: self.order[key] = None
            def on_hit(self, key: Key) -> None: self.order.move_to_end(key)
            def on_remove(self, key: Key) -> None: del self.order[key]
            def victim(self) -> Key: return next(iter(self.order))
    """

    def on_insert(self, key: Key) -> None:
        pass

    def on_hit(self, key: Key) -> None:
        pass

    def on_remove(self, key: Key) -> None:
        pass

    def victim(self) -> Key:
        raise NotImplementedError

    def lookup(self, key: Key) -> bool:
        if key in self.sizes:
            self.on_hit(key)
            return True
        return False

    def insert(self, key: Key, size: int = 1) -> list[Key]:
        if not self._replaces(key, size):
            return []
        evicted: list[Key] = []
        while self.used + size > self.capacity:
            victim = self.victim()
            if victim not in self.sizes:  # removing it would free nothing: the loop would never end
                raise PolicyContractError(f"victim() returned {victim!r}, which is not cached")
            self.remove(victim)
            evicted.append(victim)
        self.sizes[key] = size
        self.used += size
        self.on_insert(key)
        return evicted

    def evict_to(self, units: int) -> list[Key]:
        """Evict victim() after victim() until at most `units` are used: every hook policy can be resized."""
        evicted: list[Key] = []
        while self.used > units:
            victim = self.victim()
            if victim not in self.sizes:
                raise PolicyContractError(f"victim() returned {victim!r}, which is not cached")
            self.remove(victim)
            evicted.append(victim)
        return evicted

    def remove(self, key: Key) -> bool:
        if self._drop(key) is None:
            return False
        self.on_remove(key)
        return True


# -- the registry -----------------------------------------------------------

_REGISTRY: dict[str, type[Policy]] = {}


class PolicyError(ValueError):
    """An unknown policy name or a bad policy parameter."""


class PolicyContractError(PolicyError):
    """A policy broke the interface's contract (see policies/guard.py): the user's to fix."""


_P = TypeVar("_P", bound=type[Policy])


def register(name: str) -> Callable[[_P], _P]:
    """Class decorator: make a policy available under a lowercase `name`."""

    def decorate(cls: _P) -> _P:
        if name in _REGISTRY and _REGISTRY[name] is not cls:
            raise ValueError(f"policy name {name!r} is already registered by {_REGISTRY[name].__name__}")
        cls.name = name
        _REGISTRY[name] = cls
        return cls

    return decorate


def available() -> list[str]:
    """The registered policy names, sorted."""
    return sorted(_REGISTRY)


def policy_class(name: str) -> type[Policy]:
    """The class for a registered `name`, or for ``package.module:Class``."""
    if ":" in name:
        return _import_policy(name)
    key = name.lower()
    if key in _REGISTRY:
        return _REGISTRY[key]
    close = difflib.get_close_matches(key, _REGISTRY, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise PolicyError(f"unknown policy {name!r}{hint}; valid: {', '.join(available())}, or 'package.module:Class'")


def _import_policy(spec: str) -> type[Policy]:
    module_name, _, class_name = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise PolicyError(f"policy {spec!r}: cannot import module {module_name!r} ({error})") from None
    except Exception as error:  # the user's module failed while it ran: its problem, told in one line
        raise PolicyError(
            f"policy {spec!r}: importing {module_name!r} raised {type(error).__name__}: {error}".splitlines()[0]
        ) from None
    cls = getattr(module, class_name, None)
    if not (isinstance(cls, type) and issubclass(cls, Policy)):
        raise PolicyError(f"policy {spec!r}: {module_name} has no Policy subclass named {class_name!r}")
    return cls


#: constructor parameters that belong to the capacity, not to the user
_CAPACITY_PARAMETERS = ("self", "capacity", "capacity_bytes")


def policy_parameters(cls: type[Policy] | type[Admission]) -> list[str]:
    """The keyword parameters a policy (or admission filter) class accepts besides capacity (and capacity_bytes)."""
    signature = inspect.signature(cls.__init__)
    return [
        p
        for p in signature.parameters
        if p not in _CAPACITY_PARAMETERS
        and signature.parameters[p].kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    ]


#: keyword parameters that every policy accepts through make_policy
ADMISSION_KEYS = ("admission", "admission_params")


def check_params(name: str, params: dict[str, Any]) -> None:  # Any: each parameter has its own type
    """Raise PolicyError if `params` names a parameter the policy does not take.

    ``admission`` and ``admission_params`` are accepted for every policy and
    checked against the admission registry (policies/admission.py).
    """
    cls = policy_class(name)
    allowed = policy_parameters(cls)
    for param in params:
        if param not in allowed and param not in ADMISSION_KEYS:
            valid = ", ".join(allowed + list(ADMISSION_KEYS))
            raise PolicyError(f"policy {name!r} has no parameter {param!r}; valid: {valid}")
    if "admission" in params or "admission_params" in params:
        from policies.admission import check_admission

        check_admission(params.get("admission"), params.get("admission_params"))


def make_policy(
    name: str,
    capacity: int,
    admission: str | Admission | None = None,
    admission_params: dict[str, object] | None = None,
    capacity_bytes: bool = False,
    **params: Any,  # each parameter of its own type
) -> Policy:
    """Build a policy by registry name (or ``module:Class``) with keyword parameters.

    ``capacity_bytes``: whether `capacity` counts bytes; passed on only to a
    policy whose constructor takes it (a server model, policies/redis.py).

    ``admission`` (a registered admission name such as ``"size"``, or an
    ``Admission`` object) wraps the policy in that admission filter, built with
    ``admission_params``:

        make_policy("lru", 10_000_000, admission="size", admission_params={"threshold": 65536})
    """
    from policies.guard import Guarded, is_builtin

    check_params(name, params)
    cls = policy_class(name)
    if "capacity_bytes" in inspect.signature(cls.__init__).parameters:
        params["capacity_bytes"] = capacity_bytes
    if is_builtin(cls):
        policy = cls(capacity, **params)
    else:  # a user's policy: built and then held to the contract
        try:
            policy = Guarded(cls(capacity, **params), name)
        except Exception as error:
            raise PolicyContractError(
                f"policy {name!r}: __init__ raised {type(error).__name__}: {error}".splitlines()[0]
            ) from None
    if admission is None:
        if admission_params:
            raise PolicyError("admission_params given without admission")
        return policy
    from policies.admission import with_admission

    return with_admission(policy, admission, admission_params)
