"""Named, reproducible random streams.

Every random component (arrivals, keys, sizes, latencies, ...) draws from its
own generator, derived from the run's seed and the component's *name*.  Naming
the streams, rather than spawning them in order, keeps common random numbers
robust: adding a new component to the model does not shift the numbers that
an existing one sees, so two sweep points with the same seed still see the
same request stream.
"""

from __future__ import annotations

import hashlib

import numpy as np


def stable_id(name: str) -> int:
    """A 64-bit integer for `name`, the same in every process and on every machine.

    Python's built-in ``hash()`` of a string is salted per process, so it must
    never decide anything that ends up in a result.
    """
    digest = hashlib.blake2b(name.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "little")


def rng_for(seed: int, name: str) -> np.random.Generator:
    """The generator of component `name` for run `seed`."""
    sequence = np.random.SeedSequence(entropy=int(seed), spawn_key=(stable_id(name),))
    return np.random.Generator(np.random.PCG64(sequence))
