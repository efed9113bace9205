"""A user's policy, held to the interface's contract: broken promises stop the run, in one line.

kvsim's own policies are tested against libCacheSim and by hand; a policy a
user writes (``module:Class``, a HookPolicy in a notebook) is not.  If it
breaks the contract, a simulation must not loop forever, grow without bound
or print a hit ratio that means nothing.  ``make_policy`` therefore hands a
user's policy out inside a Guarded wrapper, which checks, after every call:

* that nothing it called raised (an exception from the user's code is
  reported as the policy, the method and the request it failed on);
* that an insert left the cache within its capacity;
* that the keys an insert says it evicted are gone.

HookPolicy checks its own loop (a victim that is not cached, or None, would
otherwise repeat forever).  The wrapper costs a few calls per request, which
only user policies pay; the built-in ones run bare.
"""

from __future__ import annotations

import inspect
import traceback
from collections.abc import Callable, Iterable
from typing import NoReturn, TypeVar

from policies.base import Key, Policy, PolicyContractError

_T = TypeVar("_T")


def is_builtin(cls: type) -> bool:
    """Whether a policy class is one of kvsim's own (trusted, tested) or a user's."""
    return cls.__module__.split(".")[0] == "policies"


class Guarded(Policy):
    """`policy`, with every call checked against the contract (see the module docstring)."""

    def __init__(self, policy: Policy, spec: str):
        self.inner = policy
        self.spec = spec  # the name the user gave, e.g. "mymodule:MRU"
        self.capacity = policy.capacity
        self.requests = 0  # lookups so far: the request number in messages
        self._source = _source_file(type(policy))

    # -- the checked interface --------------------------------------------------
    def lookup(self, key: Key) -> bool:
        self.requests += 1
        return bool(self._call("lookup", key, self.inner.lookup, key))

    def insert(self, key: Key, size: int = 1) -> list[Key]:
        evicted = self._call("insert", key, self.inner.insert, key, size)
        if evicted is None:
            evicted = []
        inner = self.inner
        used, count = self._call("used", key, lambda: (inner.used, len(inner)))
        if used > self.capacity:
            self._broken("insert", key, f"left {used} units cached in a capacity of {self.capacity}")
        for victim in evicted:
            if victim != key and self._call("__contains__", key, inner.__contains__, victim):
                self._broken("insert", key, f"reported evicting {victim!r}, which is still cached")
        return list(evicted)

    def access(self, key: Key, size: int = 1) -> bool:
        if self.lookup(key):
            return True
        self.insert(key, size)
        return False

    def remove(self, key: Key) -> bool:
        return bool(self._call("remove", key, self.inner.remove, key))

    @property
    def resizable(self) -> bool:
        return self.inner.resizable

    def evict_to(self, units: int) -> list[Key]:
        """The user's evict_to, held to its promise: at most `units` left, and its victims gone."""
        evicted = list(self._call("evict_to", None, self.inner.evict_to, units) or [])
        self._check_evictions("evict_to", evicted, units)
        return evicted

    def resize(self, capacity: int) -> list[Key]:
        evicted = list(self._call("resize", None, self.inner.resize, capacity) or [])
        self.capacity = self.inner.capacity
        self._check_evictions("resize", evicted, self.capacity)
        return evicted

    def _check_evictions(self, method: str, evicted: list[Key], units: int) -> None:
        inner = self.inner
        used = self._call("used", None, lambda: inner.used)
        if used > units:
            self._broken(method, None, f"left {used} units cached, over the {units} asked for")
        for victim in evicted:
            if self._call("__contains__", victim, inner.__contains__, victim):
                self._broken(method, victim, f"reported evicting {victim!r}, which is still cached")

    def __contains__(self, key: Key) -> bool:
        return bool(self._call("__contains__", key, self.inner.__contains__, key))

    def __len__(self) -> int:
        return self._call("__len__", None, self.inner.__len__)

    def keys(self) -> list[Key]:
        return list(self._call("keys", None, self.inner.keys))

    @property
    def used(self) -> int:  # type: ignore[override]  # read-only here: the inner policy's
        return self.inner.used

    @property
    def offline(self) -> bool:  # type: ignore[override]  # the inner policy's
        return self.inner.offline

    @property
    def prepared(self) -> bool:
        return getattr(self.inner, "prepared", False)

    def prepare(self, keys: Iterable[Key]) -> None:
        # Called only on an offline policy (replay checks `offline` first), and offline ones define prepare.
        self._call("prepare", None, self.inner.prepare, keys)  # type: ignore[attr-defined]

    def expect(self, keys: Iterable[Key]) -> None:
        self._call("expect", None, self.inner.expect, keys)

    @property
    def max_object_size(self) -> int:
        return self.inner.max_object_size

    def params(self) -> dict[str, object]:
        return self._call("params", None, self.inner.params)

    @property
    def timed(self) -> bool:  # type: ignore[override]  # the inner policy's
        return getattr(self.inner, "timed", False)

    def advance(self, now: float) -> None:
        self._call("advance", None, self.inner.advance, now)

    def __repr__(self) -> str:
        return f"Guarded({self.inner!r})"

    # -- reporting ---------------------------------------------------------------
    def _call(self, method: str, key: Key | None, function: Callable[..., _T], *args: object) -> _T:
        try:
            return function(*args)
        except PolicyContractError as error:
            raise PolicyContractError(f"{self._where(method, key)}: {error}") from None
        except Exception as error:
            failed = _failing_method(error, self._source) or method
            raise PolicyContractError(
                f"{self._where(failed, key)}: raised {type(error).__name__}: {error}".splitlines()[0]
            ) from None

    def _broken(self, method: str, key: Key | None, what: str) -> NoReturn:
        raise PolicyContractError(f"{self._where(method, key)}: {what}")

    def _where(self, method: str, key: Key | None) -> str:
        about = f" (key {key!r}, request {self.requests:,} at this cache)" if key is not None else ""
        return f"policy {self.spec!r} broke its contract in {method}(){about}"


def _source_file(cls: type) -> str | None:
    try:
        return inspect.getsourcefile(cls)
    except (TypeError, OSError):  # defined in a notebook cell or at the prompt: no file
        return None


def _failing_method(error: Exception, source: str | None) -> str | None:
    """The user's method the exception came out of (the last frame in their module)."""
    if source is None:
        return None
    frames = [frame for frame in traceback.extract_tb(error.__traceback__) if frame.filename == source]
    return frames[-1].name if frames else None
