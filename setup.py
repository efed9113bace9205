"""Build kvsim's optional compiled engine: Cython kernels of the built-in policies.

Everything else is in pyproject.toml.  The extensions are optional: where no C
compiler (or no Cython) is at hand, the build says so and goes on, kvsim
installs all the same, and at run time it says once that it runs the Python
engine (policies/compiled.py).

    policies/_kernels/*.pyx   one kernel per policy family, on dense slot arrays
    workloads/_idmap.pyx      int64 key -> dense id, as traces stream in
    workloads/_scramble.pyx   the Feistel permutation of Zipf ranks to key ids
    workloads/_draws.pyx      the request stream's hot draws, on numpy's random number generators
    workloads/_sizes.pyx      the stream's object sizes (lognormal), with scipy's ndtri
    sim/_compiled/*.pyx       the timed model's request loop, over the kernels
    workloads/native/*.pxd    what they all build on (a hash map, a heap, splitmix64, growing memory)

Built once: pip builds each install in a fresh folder, and Cython's output
looks new every time (it depends on the build environment's own .pxd files,
installed anew), so `pip install -e ".[test]"` after `pip install -e .`
used to compile every extension again.  An editable install leaves the
built extensions in the source tree; with them, build/kvsim-engine.sha256
records a digest of everything they are made from (the project's .pyx, .pxd
and .pxi files, this file, Cython's and numpy's versions, the Python ABI).
When every extension is there and the digest is the same, they are reused
as built, neither translated nor compiled (`build_ext --force` and the
sanitised build always compile).

Before compiling, the cluster's vocabulary (sim/vocabulary.py: its words and
the request flags) is written out as C for the request loop to include
(sim/_compiled/vocabulary.pxi), so the C code spells none of it itself.
"""

import hashlib
import importlib.util
import os
import shutil
import sys
import sysconfig
from glob import glob
from pathlib import Path

from setuptools import Extension, setup
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

    failed = False

    def run(self):
        if not all(getattr(ext, "reused", False) for ext in self.extensions):
            BUILD_RECORD.unlink(missing_ok=True)  # the tree's extensions are about to change
        try:
            super().run()
        except Exception as error:  # no compiler, or a compiler that cannot build these
            self._skip(error)
        if self.extensions and not self.failed and not SANITIZE:
            record_build(self.extensions)

    def build_extension(self, ext):
        if getattr(ext, "reused", False):
            self._copy_built(ext)
            return
        try:
            super().build_extension(ext)
        except Exception as error:
            self._skip(error, ext.name)

    def _copy_built(self, ext):
        """Put the extension already built in the source tree where this build puts its own."""
        built, target = HERE / built_path(ext.name), Path(self.get_ext_fullpath(ext.name))
        if built.resolve() != target.resolve():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(built, target)

    def _skip(self, error, name="the compiled engine"):
        self.failed = True
        print(f"kvsim: could not build {name} ({error}); kvsim will run its Python engine", file=sys.stderr)


BUILD_RECORD = HERE / "build" / "kvsim-engine.sha256"


def built_path(name: str) -> Path:
    """Where an editable install (or build_ext --inplace) leaves extension `name`, relative to the tree."""
    return Path(*name.split(".")).with_name(name.split(".")[-1] + sysconfig.get_config_var("EXT_SUFFIX"))


def inputs_digest(sources: list[str]) -> str:
    """A digest of everything the compiled engine is built from (vocabulary.pxi written first)."""
    import Cython
    import numpy

    digest = hashlib.sha256()
    patterns = ("policies/_kernels/*.p*", "workloads/*.pyx", "workloads/native/*.pxd", "sim/_compiled/*.p*")
    inputs = sorted({*sources, "setup.py", *(name for pattern in patterns for name in glob(pattern, root_dir=HERE))})
    for name in inputs:
        digest.update(name.encode() + b"\0" + (HERE / name).read_bytes() + b"\0")
    versions = (Cython.__version__, numpy.__version__, sysconfig.get_config_var("EXT_SUFFIX"), str(DIRECTIVES))
    digest.update(" ".join(versions).encode())
    return digest.hexdigest()


def reusable(names: list[str], digest: str) -> bool:
    """Every extension built in the tree, from inputs of this digest."""
    forced = "--force" in sys.argv or "-f" in sys.argv  # (build_ext --force: compile, from fresh C sources)
    if SANITIZE or forced or not BUILD_RECORD.exists() or BUILD_RECORD.read_text().strip() != digest:
        return False
    return all((HERE / built_path(name)).exists() for name in names)


def record_build(extensions) -> None:
    """After a build that left every extension in the tree: the digest of what they were built from."""
    digest = getattr(extensions[0], "digest", None)
    if digest and all((HERE / built_path(ext.name)).exists() for ext in extensions):
        BUILD_RECORD.parent.mkdir(exist_ok=True)
        BUILD_RECORD.write_text(digest + "\n")


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
        "workloads/_draws.pyx",
        "workloads/_sizes.pyx",
    ]
    sources += sorted(glob("sim/_compiled/*.pyx", root_dir=HERE))
    write_vocabulary()
    digest = inputs_digest(sources)
    names = [source.removesuffix(".pyx").replace("/", ".") for source in sources]
    if reusable(names, digest):
        print("kvsim: the compiled engine in the tree is up to date: reused, not compiled", file=sys.stderr)
        modules = [Extension(name, [source]) for name, source in zip(names, sources)]
        for module in modules:
            module.reused, module.digest = True, digest
        return modules
    modules = cythonize(
        sources, compiler_directives=DIRECTIVES, include_path=[str(HERE)], quiet=True, nthreads=os.cpu_count() or 1
    )
    for module in modules:
        module.include_dirs.append(numpy.get_include())  # numpy/random/bitgen.h
        module.define_macros.append(("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION"))
        if SANITIZE:
            # -O0: the sanitised build compiles in 136 CPU seconds instead of 303 at -O1, and its tests
            # run 12% longer (66 against 59 s): CI's shortest path; the sanitizers check as much
            module.extra_compile_args += SANITIZER_FLAGS + ["-O0"]
            module.extra_link_args += SANITIZER_FLAGS
        else:
            # No debugging information (Python's CFLAGS ask for -g): the same machine code, and a
            # quarter less compile time (engine.c: 6.6 CPU seconds against 8.8); symbols stay for
            # perf and callgrind, source lines go (drop this line for a build to step through)
            module.extra_compile_args.append("-g0")
        if module.name == "workloads._draws":
            # numpy's distributions in C (its ziggurats), as numpy ships them for Cython; and no
            # multiply-add fused into one rounding, which would change numbers numpy rounds twice
            distributions = importlib.util.find_spec("numpy.random").submodule_search_locations[0]
            module.library_dirs.append(str(Path(distributions) / "lib"))  # (numpy's libnpyrandom.a)
            module.libraries += ["npyrandom", "m"]
            module.extra_compile_args.append("-ffp-contract=off")
        module.digest = digest
    return modules


# Modules compile in parallel, one per core (a minute or two on two cores).
setup(
    ext_modules=extensions(),
    cmdclass={"build_ext": OptionalBuildExt},
    options={"build_ext": {"parallel": os.cpu_count() or 1}},
)
