"""workloads/native: the C every compiled module builds on, a leaf that all three packages may cimport.

One hash map, one heap, one way to grow memory, one splitmix64, in .pxd
files of inline C.  The dependency direction of DESIGN.md holds for C too:
import-linter reads Python imports only, so the Cython files' imports and
cimports are checked by tests/test_layers.py.
What the parts compute is checked where they are used: splitmix64 against
workloads/hashing.py by the ring lookup (tests/sim), the Feistel scramble
(test_scramble.py) and the TinyLFU filter (tests/policies/test_compiled.py);
the hash map by the dense ids and the compiled loop's equality with the
Python one; the heap by LFU, LFU-DA, GDSF, Belady and the calendar.
"""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

#: the folders of Cython code
FOLDERS = ("workloads/native", "workloads", "policies/_kernels", "sim/_compiled")
#: the one kernel allowed a heap of its own: 3L-Cache must break ties among equal predictions as libstdc++'s
#: std::pop_heap does (the hole walked down to a leaf, then the last item sifted up), which libcachesim's
#: victims follow and the shared heap's sift does not
HEAP_OF_ITS_OWN = "policies/_kernels/threelcache.pyx"


def cython_files():
    for folder in FOLDERS:
        for path in sorted((ROOT / folder).glob("*.p[yx][xd]")):
            yield folder, path


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
        assert "cdef struct Map" not in text, name
        assert str(name) == HEAP_OF_ITS_OWN or not re.search(r"cdef .*\bsift_(up|down)\(", text), name
