"""The learned policies' model library, LightGBM, imported only when a learned policy is built.

LRB (policies/lrb.py) and 3L-Cache train gradient-boosted trees online, with
LightGBM as their papers and libCacheSim do.  LightGBM is an optional extra,
``pip install 'kvsim[learned]'``: the rest of kvsim runs without it, and
``import policies`` never imports it (it takes a noticeable part of a second,
and the CLI's start-up time matters).  A learned policy calls ``lightgbm()``
in its constructor; without the library that is a PolicyError of one line,
which the CLI and the config checks report as a user's mistake (exit 2,
nothing written), while `kvsim policies` still lists the policy.
"""

from __future__ import annotations

import ctypes
import importlib
from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np

from policies.base import PolicyError

#: what a user runs to get the learned policies' library
INSTALL = "pip install 'kvsim[learned]'"
#: LightGBM's C API code for float64 data (C_API_DTYPE_FLOAT64)
FLOAT64 = 1
#: the options of every prediction: one thread (the kernels pass the same, policies/_kernels/lrb.pyx)
PREDICT_OPTIONS = b"num_threads=1"


def lightgbm(policy: str) -> ModuleType:
    """The lightgbm module, imported now; PolicyError naming `policy` and what to install if it is missing."""
    try:
        return importlib.import_module("lightgbm")
    except ImportError:
        raise PolicyError(f"policy {policy!r} needs LightGBM, which is not installed: {INSTALL}") from None


def predictor(booster: Any) -> Callable[[np.ndarray], np.ndarray]:
    """A function of a float64 matrix (C order, one row per object) to the booster's predictions.

    It calls LightGBM's C function LGBM_BoosterPredictForMat directly, on one
    thread: ``booster.predict`` makes the same call after checks and set-up
    costing a few hundred microseconds, more than the prediction itself of a
    learned policy's few dozen rows, made at every eviction.  Where this
    LightGBM lacks the names used (they are its Python package's internals),
    ``booster.predict``.
    """
    basic = importlib.import_module("lightgbm.basic")
    library, handle = getattr(basic, "_LIB", None), getattr(booster, "_handle", None)
    if library is None or handle is None:
        return lambda rows: booster.predict(rows, num_threads=1)
    options = ctypes.c_char_p(PREDICT_OPTIONS)
    length = ctypes.c_int64(0)
    double_pointer = ctypes.POINTER(ctypes.c_double)

    def predict(rows: np.ndarray) -> np.ndarray:
        rows = np.ascontiguousarray(rows, dtype=np.float64)
        out = np.empty(rows.shape[0])
        failed = library.LGBM_BoosterPredictForMat(
            handle,
            rows.ctypes.data_as(ctypes.c_void_p),
            ctypes.c_int(FLOAT64),
            ctypes.c_int32(rows.shape[0]),
            ctypes.c_int32(rows.shape[1]),
            ctypes.c_int(1),  # row major
            ctypes.c_int(0),  # the predicted value
            ctypes.c_int(0),  # from the first iteration
            ctypes.c_int(-1),  # to the last
            options,
            ctypes.byref(length),
            out.ctypes.data_as(double_pointer),
        )
        if failed or length.value != rows.shape[0]:
            raise RuntimeError(f"LightGBM's prediction failed: {library.LGBM_GetLastError().decode()}")
        return out

    return predict


def c_predictor() -> int:
    """The address of LightGBM's C function LGBM_BoosterPredictForMat, in the library lightgbm loaded.

    For a kernel that predicts from C (policies/_kernels/lrb.pyx), the call
    ``predictor`` makes through ctypes without a Python call per eviction.
    ImportError where this LightGBM lacks the names (its Python package's
    internals): the policy then runs on the Python engine.
    """
    library = getattr(importlib.import_module("lightgbm.basic"), "_LIB", None)
    function = getattr(library, "LGBM_BoosterPredictForMat", None)
    if function is None:
        raise ImportError("this LightGBM has no LGBM_BoosterPredictForMat in lightgbm.basic._LIB")
    address = ctypes.cast(function, ctypes.c_void_p).value
    if not address:
        raise ImportError("LightGBM's LGBM_BoosterPredictForMat has no address")
    return address
