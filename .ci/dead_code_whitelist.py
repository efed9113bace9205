"""Names vulture (the dead-code check, `vulture` in .ci/run) cannot see used: each is read by name.

Vulture reads the Python files of the four packages, the tests and setup.py; a
name used only through getattr, a protocol, a dataclass's fields or a
decorator's registry looks dead to it.  Each line says who uses the name.
Anything else vulture reports is dead: remove it rather than list it here.
"""

# ruff: noqa: B018 (a bare name or attribute is how vulture is told a name is used)
from setuptools import Extension

from experiments import config
from experiments.cli import bench, plan, policies, run, trace, trace_tools, validate
from experiments.cli.main import OneLineParser
from experiments.plan.settings import Target
from sim import vocabulary
from sim.metrics import RunResult
from tests import conftest
from workloads.traces import measure
from workloads.traces.compression import _Unclosing

# A Target's monotonicity is read by name: getattr(target, "monotone_in_nodes" or "..._capacity").
Target.monotone_in_capacity
Target.monotone_in_nodes

# RunResult's fields are results.csv's columns, read by dataclasses.asdict / fields().
RunResult.byte_hit_ratio
RunResult.backend_requests
RunResult.mean_ms
RunResult.p50_ms
RunResult.p95_ms
RunResult.p999_ms
RunResult.imbalance
RunResult.backend_utilisation
RunResult.node_utilisation
RunResult.engine_note
RunResult.node_seconds
RunResult.byte_seconds
RunResult.object_seconds

# io.RawIOBase's protocol: the compressors ask a raw stream whether it is writable.
_Unclosing.writable

# A measurement for `kvsim bench` to call (its docstring shows how), kept with the readers it measures.
measure.compressed_read_cost

# argparse reads its parser's _negative_number_matcher: OneLineParser sets it so that no flag looks like a number.
OneLineParser._negative_number_matcher

# The vocabulary's words are read by value (sim/vocabulary.py's tables, the generated C): a name for each.
vocabulary.TO_BACKEND

# setuptools reads an Extension's compiler and linker flags (setup.py adds the sanitizers' to them)
# and the libraries it links (workloads/_draws.pyx: numpy's distributions).
Extension.extra_compile_args
Extension.extra_link_args
Extension.libraries

# A policy the tests name by its dotted path ("tests.policies.test_resize:LyingResize").
from tests.policies.test_resize import LyingResize  # noqa: E402

LyingResize

# Each command's adder is named in experiments/cli/commands.py's table and imported by name
# (importlib) when its command is the one typed, so that kvsim starts without loading them all.
bench.add_bench_command
plan.add_plan_command
policies.add_policies_command
run.add_run_command
run.add_plot_command
trace.add_replay_command
trace.add_mrc_command
trace_tools.add_trace_tools
validate.add_validate_command

# A package's __getattr__ (PEP 562) is called by Python for a name it does not hold yet.
config.__getattr__

# pytest calls its hooks by name: the suite's order under pytest-xdist (tests/conftest.py).
conftest.pytest_collection_modifyitems
