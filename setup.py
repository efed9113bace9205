"""Build kvsim's optional compiled engine: Cython kernels of the built-in policies.

Everything else is in pyproject.toml.  The extensions are optional: where no C
compiler (or no Cython) is at hand, the build says so and goes on, kvsim
installs all the same, and at run time it says once that it runs the Python
engine (policies/compiled.py).

    policies/_kernels/*.pyx   one kernel per policy family, on dense slot arrays
    workloads/_idmap.pyx      int64 key -> dense id, as traces stream in
    workloads/_scramble.pyx   the Feistel permutation of Zipf ranks to key ids
    sim/_compiled/*.pyx       the timed model's request loop, over the kernels
    workloads/native/*.pxd    what they all build on (a hash map, a heap, splitmix64, growing memory)

Before compiling, the cluster's vocabulary (sim/vocabulary.py: its words and
the request flags) is written out as C for the request loop to include
(sim/_compiled/vocabulary.pxi), so the C code spells none of it itself.
"""

import importlib.util
import os
import sys
from glob import glob
from pathlib import Path

from setuptools import setup
from setuptools.command.build_ext import build_ext

HERE = Path(__file__).resolve().parent

# Every kernel is a hot loop over C arrays: no bounds or wrap-around checks (indices
# come from the kernels themselves), no None checks on memoryviews (set in __init__),
# C division (every operand is non-negative).
DIRECTIVES = {
    "language_level": 3,
    "boundscheck": False,
    "wraparound": False,
    "initializedcheck": False,
    "cdivision": True,
}


# KVSIM_SANITIZE=1 (.ci/sanitize): the checks back on, and the C compiled with AddressSanitizer
# and UndefinedBehaviorSanitizer, for a build that runs the engines' equality tests and their
# fuzzing and fails on any report.  Never a build to install: it is several times slower.
SANITIZE = os.environ.get("KVSIM_SANITIZE") == "1"
if SANITIZE:
    DIRECTIVES.update(boundscheck=True, wraparound=True, initializedcheck=True)
SANITIZER_FLAGS = ["-fsanitize=address,undefined", "-fno-sanitize-recover=undefined", "-fno-omit-frame-pointer", "-g"]


class OptionalBuildExt(build_ext):
    """build_ext that warns instead of failing: the compiled engine is optional."""

    def run(self):
        try:
            super().run()
        except Exception as error:  # no compiler, or a compiler that cannot build these
            self._skip(error)

    def build_extension(self, ext):
        try:
            super().build_extension(ext)
        except Exception as error:
            self._skip(error, ext.name)

    @staticmethod
    def _skip(error, name="the compiled engine"):
        print(f"kvsim: could not build {name} ({error}); kvsim will run its Python engine", file=sys.stderr)


def write_vocabulary() -> None:
    """sim/_compiled/vocabulary.pxi from sim/vocabulary.py (a leaf: loaded from its file, nothing else imported).

    Rewritten only when it changes, so that an unchanged table recompiles nothing.
    """
    spec = importlib.util.spec_from_file_location("kvsim_vocabulary", HERE / "sim" / "vocabulary.py")
    vocabulary = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(vocabulary)
    target = HERE / "sim" / "_compiled" / "vocabulary.pxi"
    source = vocabulary.cython_source()
    if not target.exists() or target.read_text() != source:
        target.write_text(source)


def extensions():
    try:
        import numpy
        from Cython.Build import cythonize
    except ImportError as error:
        print(f"kvsim: {error.name} is missing, so the compiled engine is not built", file=sys.stderr)
        return []
    sources = sorted(glob("policies/_kernels/*.pyx", root_dir=HERE)) + [
        "workloads/_idmap.pyx",
        "workloads/_scramble.pyx",
    ]
    sources += sorted(glob("sim/_compiled/*.pyx", root_dir=HERE))
    write_vocabulary()
    modules = cythonize(
        sources, compiler_directives=DIRECTIVES, include_path=[str(HERE)], quiet=True, nthreads=os.cpu_count() or 1
    )
    for module in modules:
        module.include_dirs.append(numpy.get_include())  # numpy/random/bitgen.h
        module.define_macros.append(("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION"))
        if SANITIZE:
            module.extra_compile_args += SANITIZER_FLAGS + ["-O1"]
            module.extra_link_args += SANITIZER_FLAGS
    return modules


# Modules compile in parallel, one per core (a minute or two on two cores).
setup(
    ext_modules=extensions(),
    cmdclass={"build_ext": OptionalBuildExt},
    options={"build_ext": {"parallel": os.cpu_count() or 1}},
)
