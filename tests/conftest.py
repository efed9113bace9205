"""The whole suite's settings."""

import os

# pytest-xdist runs the suite on every core: an experiment's figures then draw in the test's own process,
# as a pool of drawing processes would only share cores already busy (experiments/plots/parallel.py;
# tests/experiments/test_plots_parallel.py forces the pool where it tests it).
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ.setdefault("KVSIM_FIGURE_PROCESSES", "1")

# One BLAS thread per process, as `kvsim` itself sets (experiments/cli/main.py): the suite's own
# processes and the Python ones its tests start import numpy and scipy, whose BLAS libraries would
# each start a thread per core that spins for a tenth of a second, on cores the other worker needs.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
