"""The dependency direction of DESIGN.md, in the Cython files, which import-linter does not read.

import-linter (pyproject.toml's contracts) reads the .py files only.  The
.pyx and .pxd files of sim, policies and workloads import and cimport too, so
this reads each one's ``import``, ``from ... import``, ``cimport`` and
``from ... cimport`` lines (anywhere in the file, indented or not) and holds
them to the same direction: experiments -> sim -> (policies | workloads);
policies import nothing of workloads but its two leaves, workloads.hashing
(Python) and workloads.native (C); workloads import nothing of the others.
A cimport is stricter still: a folder of C cimports only the C it builds on
(the kernels, the compiled loop's parts, the native leaf), never a .pyx's
Python-level neighbours.
"""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OURS = ("experiments", "sim", "policies", "workloads")

#: each folder of Cython code: the modules of ours its Python-level imports may name
IMPORTS = {
    "workloads/native": ("workloads.native",),  # a leaf
    "workloads": ("workloads",),
    "policies/_kernels": ("policies", "workloads.hashing", "workloads.native"),
    "sim/_compiled": ("sim", "policies", "workloads"),
}
#: ... and the modules of ours its cimports may name (libc, cpython, numpy and cython are anyone's)
CIMPORTS = {
    "workloads/native": ("workloads.native",),
    "workloads": ("workloads.native",),
    "policies/_kernels": ("policies._kernels", "workloads.native"),
    "sim/_compiled": ("sim._compiled", "policies._kernels", "workloads.native"),
}

_FROM = re.compile(r"^\s*from\s+([\w.]+)\s+(c?import)\b", re.M)
_IMPORT = re.compile(r"^\s*(c?import)\s+([\w.]+(?:\s+as\s+\w+)?(?:\s*,\s*[\w.]+(?:\s+as\s+\w+)?)*)", re.M)


def named_modules(text: str) -> list[tuple[str, str]]:
    """(kind, module) for every import line of a Cython file: kind "import" or "cimport"."""
    found = [(kind, module) for module, kind in _FROM.findall(text)]
    for kind, names in _IMPORT.findall(text):
        found += [(kind, name.split()[0]) for name in names.split(",")]
    return found


def within(module: str, prefixes) -> bool:
    return any(module == prefix or module.startswith(prefix + ".") for prefix in prefixes)


def violations(folder: str, text: str) -> list[str]:
    """The import lines of `text`, a file in `folder`, that go against the direction."""
    wrong = []
    for kind, module in named_modules(text):
        if module.startswith("."):  # relative: inside its own package
            continue
        if module.split(".")[0] not in OURS:
            continue
        allowed = CIMPORTS[folder] if kind == "cimport" else IMPORTS[folder]
        if not within(module, allowed):
            wrong.append(f"{kind} {module}")
    return wrong


def cython_files():
    for folder in IMPORTS:
        for path in sorted((ROOT / folder).glob("*.p[yx][xd]")):
            yield folder, path


@pytest.mark.parametrize("folder,path", list(cython_files()), ids=lambda p: getattr(p, "name", p))
def test_cython_imports_follow_the_dependency_direction(folder, path):
    assert violations(folder, path.read_text()) == [], path.relative_to(ROOT)


def test_every_cython_file_of_the_packages_is_checked():
    everywhere = {p for package in OURS for p in (ROOT / package).rglob("*.p[yx][xd]")}
    checked = {path for _, path in cython_files()}
    assert everywhere == checked, sorted(str(p.relative_to(ROOT)) for p in everywhere - checked)
    assert len(checked) >= 40  # the kernels, the compiled loop, the native leaf, the id map and scramble


def test_every_import_form_is_read():
    text = """
import numpy as np
import random, workloads.rng as rng
cimport cython
from libc.stdint cimport int64_t
from policies._kernels.kernel cimport Kernel
    from policies import PolicyContractError   # indented: inside a function
from .heap cimport Heap
"""
    assert named_modules(text) == [
        ("cimport", "libc.stdint"),
        ("cimport", "policies._kernels.kernel"),
        ("import", "policies"),
        ("cimport", ".heap"),
        ("import", "numpy"),
        ("import", "random"),
        ("import", "workloads.rng"),
        ("cimport", "cython"),
    ]


@pytest.mark.parametrize(
    "folder,line",
    [
        ("policies/_kernels", "from sim._compiled.node cimport Node"),  # policies below sim
        ("policies/_kernels", "from workloads.traces import open_trace"),  # not a leaf of workloads
        ("policies/_kernels", "from policies.compiled cimport x"),  # a cimport names C, not a .py module
        ("workloads", "import policies.base"),
        ("workloads", "    from sim.vocabulary import WRITE_POLICIES"),
        ("workloads/native", "from workloads.rng import rng_for"),  # the leaf imports nothing of ours
        ("sim/_compiled", "from experiments.config import load"),  # sim below experiments
        ("sim/_compiled", "import numpy, experiments.cli"),
    ],
)
def test_a_line_against_the_direction_is_caught(folder, line):
    assert violations(folder, f"import numpy as np\n{line}\n") != []


@pytest.mark.parametrize(
    "folder,line",
    [
        ("policies/_kernels", "from workloads.native.hashmap cimport Map"),
        ("policies/_kernels", "from workloads.hashing import mix64"),
        ("policies/_kernels", "from policies import PolicyError"),
        ("sim/_compiled", "from policies._kernels.kernel cimport Kernel"),
        ("sim/_compiled", "from policies import PolicyContractError"),
        ("workloads", "from workloads.native.hashing cimport splitmix64"),
    ],
)
def test_a_line_with_the_direction_passes(folder, line):
    assert violations(folder, line) == []
