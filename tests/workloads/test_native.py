"""workloads/native: the C every compiled module builds on, a leaf that all three packages may cimport.

One hash map, one heap, one way to grow memory, one splitmix64, in .pxd
files of inline C.  The dependency direction of DESIGN.md holds for C too:
import-linter reads Python imports only, so the cimports are checked here.
What the parts compute is checked where they are used: splitmix64 against
workloads/hashing.py by the ring lookup (tests/sim), the Feistel scramble
(test_scramble.py) and the TinyLFU filter (tests/policies/test_compiled.py);
the hash map by the dense ids and the compiled loop's equality with the
Python one; the heap by LFU, LFU-DA, GDSF, Belady and the calendar.
"""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

#: where each folder of Cython code may cimport from (besides libc, cpython and numpy)
ALLOWED = {
    "workloads/native": ("workloads.native",),
    "workloads": ("workloads.native",),
    "policies/_kernels": ("policies._kernels", "workloads.native"),
    "sim/_compiled": ("sim._compiled", "policies._kernels", "workloads.native"),
}
EXTERNAL = ("libc", "cpython", "numpy", "cython")


def cython_files():
    for folder in ALLOWED:
        for path in sorted((ROOT / folder).glob("*.p[yx][xd]")):
            yield folder, path


def cimported(path: Path) -> list[str]:
    text = path.read_text()
    return re.findall(r"^\s*from\s+([\w.]+)\s+cimport", text, re.M) + re.findall(r"^\s*cimport\s+([\w.]+)", text, re.M)


@pytest.mark.parametrize("folder,path", list(cython_files()), ids=lambda p: getattr(p, "name", p))
def test_cimports_follow_the_dependency_direction(folder, path):
    for module in cimported(path):
        if module.split(".")[0] in EXTERNAL:
            continue
        assert module.startswith(ALLOWED[folder]), f"{path.relative_to(ROOT)} cimports {module}"


def test_the_leaf_is_pxd_files_and_imports_nothing_of_ours():
    native = ROOT / "workloads" / "native"
    assert {p.suffix for p in native.iterdir() if p.is_file()} <= {".pxd", ".py"}
    assert not re.search(r"^\s*(from|import)\s", (native / "__init__.py").read_text(), re.M)


def test_there_is_one_hash_map_one_heap_one_splitmix64_one_grow():
    """No Cython file outside the leaf spells splitmix64's constants, a realloc, or a probe loop of its own."""
    for _, path in cython_files():
        if path.parent.name == "native":
            continue
        text = path.read_text()
        name = path.relative_to(ROOT)
        assert "0xBF58476D1CE4E5B9" not in text and "0x9E3779B97F4A7C15" not in text, f"{name} mixes its own hash"
        assert "PyMem_Realloc" not in text and "calloc" not in text, f"{name} grows memory its own way"
        assert "cdef struct Map" not in text and not re.search(r"cdef .*\bsift_(up|down)\(", text), name
