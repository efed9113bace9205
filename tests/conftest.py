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

#: the longest tests (pytest --durations on a loaded 2-core machine: 35 to 75 s each), started first under
#: pytest-xdist: its workers then share out the short tests after them, where one of these met late would
#: leave a worker running it alone at the end of the suite while the other waits.  None shares a module
#: fixture with other tests (moved away from them, it would set the fixture up twice).
LONGEST = (
    "tests/test_readme.py::test_every_readme_command_runs_in_order",
    "tests/experiments/test_plan.py::test_memcacheds_answer_is_reproduced_by_kvsim_run_and_one_step_below_is_not",
    "tests/policies/test_allocation_failures.py::test_each_allocation_refused_in_turn_ends_in_a_memory_error_or_a_normal_run",
    "tests/experiments/test_plan.py::test_a_plain_plan_of_a_server_model_starts_where_the_server_does",
    "tests/experiments/test_outputs_trust.py::test_a_user_policy_edited_between_runs_is_simulated_again",
    "tests/experiments/test_bench.py::test_bench_json_has_a_key_per_figure",
)


def pytest_collection_modifyitems(items):
    if os.environ.get("PYTEST_XDIST_WORKER"):  # (every worker sorts alike: xdist requires the same order)
        items.sort(key=lambda item: item.nodeid not in LONGEST)  # a stable sort: the rest keep their order
