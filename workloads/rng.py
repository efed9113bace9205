"""Named, reproducible random streams.

Every random component (arrivals, keys, sizes, latencies, ...) draws from its
own generator, derived from the run's seed and the component's *name*.  Naming
the streams, rather than spawning them in order, keeps common random numbers
robust: adding a new component to the model does not shift the numbers that
an existing one sees, so two sweep points with the same seed still see the
same request stream.
"""

from __future__ import annotations

import numpy as np

from workloads.hashing import stable_id


def rng_for(seed: int, name: str) -> np.random.Generator:
    """The generator of component `name` for run `seed` (the name enters as its stable 64-bit id).

    Python's built-in ``hash()`` of a string is salted per process, so it must
    never decide anything that ends up in a result.
    """
    sequence = np.random.SeedSequence(entropy=int(seed), spawn_key=(stable_id(name),))
    return np.random.Generator(np.random.PCG64(sequence))
