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
eviction makes room *before* the new object goes in, and an object larger than
the whole cache is not admitted (it evicts nothing).
"""

from __future__ import annotations

import difflib
import importlib
import inspect
from typing import Hashable

Key = Hashable


class Policy:
    """Base class of every eviction policy.

    Subclasses keep their own bookkeeping and maintain ``self.used``, the sum of
    the sizes of the cached objects (sizes are 1 when capacity counts objects).
    """

    #: registry name, set by @register
    name = "policy"

    def __init__(self, capacity: int):
        if isinstance(capacity, bool) or int(capacity) != capacity or capacity < 1:
            raise ValueError(f"capacity must be a positive integer, got {capacity!r}")
        self.capacity = int(capacity)
        self.used = 0

    # -- the interface ---------------------------------------------------
    def lookup(self, key: Key) -> bool:
        raise NotImplementedError

    def insert(self, key: Key, size: int = 1) -> list:
        raise NotImplementedError

    def remove(self, key: Key) -> bool:
        raise NotImplementedError

    def __contains__(self, key: Key) -> bool:
        raise NotImplementedError

    def __len__(self) -> int:
        raise NotImplementedError

    def keys(self) -> list:
        """The cached keys (in the policy's own order, where it has one)."""
        raise NotImplementedError

    def access(self, key: Key, size: int = 1) -> bool:
        """Serve one request as a trace replay does: hit, or miss and insert."""
        if self.lookup(key):
            return True
        self.insert(key, size)
        return False

    def params(self) -> dict:
        """The policy's parameters, as extra result columns."""
        return {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(capacity={self.capacity}, used={self.used}, objects={len(self)})"


class HookPolicy(Policy):
    """A policy written as four hooks over a dict of cached sizes.

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
            def on_insert(self, key): self.order[key] = None
            def on_hit(self, key): self.order.move_to_end(key)
            def on_remove(self, key): del self.order[key]
            def victim(self): return next(iter(self.order))
    """

    def __init__(self, capacity: int):
        super().__init__(capacity)
        self.sizes: dict = {}

    def on_insert(self, key: Key) -> None:
        pass

    def on_hit(self, key: Key) -> None:
        pass

    def on_remove(self, key: Key) -> None:
        pass

    def victim(self) -> Key:
        raise NotImplementedError

    def lookup(self, key):
        if key in self.sizes:
            self.on_hit(key)
            return True
        return False

    def insert(self, key, size=1):
        if key in self.sizes:
            self.remove(key)
        if size > self.capacity:
            return []
        evicted = []
        while self.used + size > self.capacity:
            victim = self.victim()
            self.remove(victim)
            evicted.append(victim)
        self.sizes[key] = size
        self.used += size
        self.on_insert(key)
        return evicted

    def remove(self, key):
        size = self.sizes.pop(key, None)
        if size is None:
            return False
        self.used -= size
        self.on_remove(key)
        return True

    def __contains__(self, key):
        return key in self.sizes

    def __len__(self):
        return len(self.sizes)

    def keys(self):
        return list(self.sizes)


# -- the registry -----------------------------------------------------------

_REGISTRY: dict[str, type[Policy]] = {}


class PolicyError(ValueError):
    """An unknown policy name or a bad policy parameter."""


def register(name: str):
    """Class decorator: make a policy available under a lowercase `name`."""

    def decorate(cls):
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
    raise PolicyError(
        f"unknown policy {name!r}{hint}; valid: {', '.join(available())}, or 'package.module:Class'"
    )


def _import_policy(spec: str) -> type[Policy]:
    module_name, _, class_name = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise PolicyError(f"policy {spec!r}: cannot import module {module_name!r} ({error})") from None
    cls = getattr(module, class_name, None)
    if not (isinstance(cls, type) and issubclass(cls, Policy)):
        raise PolicyError(f"policy {spec!r}: {module_name} has no Policy subclass named {class_name!r}")
    return cls


def policy_parameters(cls: type[Policy]) -> list[str]:
    """The keyword parameters a policy class accepts besides capacity."""
    signature = inspect.signature(cls.__init__)
    return [p for p in signature.parameters if p not in ("self", "capacity")
            and signature.parameters[p].kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                                 inspect.Parameter.KEYWORD_ONLY)]


def check_params(name: str, params: dict) -> None:
    """Raise PolicyError if `params` names a parameter the policy does not take."""
    cls = policy_class(name)
    allowed = policy_parameters(cls)
    for param in params:
        if param not in allowed:
            valid = ", ".join(allowed) if allowed else "none"
            raise PolicyError(f"policy {name!r} has no parameter {param!r}; valid: {valid}")


def make_policy(name: str, capacity: int, **params) -> Policy:
    """Build a policy by registry name (or ``module:Class``) with keyword parameters."""
    check_params(name, params)
    return policy_class(name)(capacity, **params)
