"""GL-Cache's model (policies/glcache.py): gradient-boosted trees that predict a segment's utility.

libCacheSim trains XGBoost through its C API; this module trains the same
model through XGBoost's Python package (``xgboost``, in the ``kvsim[learned]``
extra), imported only when a GL-Cache is built, so that ``import policies``
never needs it.  Training follows libCacheSim's ``train.c`` and
``dataPrep.c``:

* rows whose features are all zero are skipped; of the rest, the rows whose
  index is a multiple of ten (at most 819) validate, the others train;
* labels are normalised to [0, 1] by the minimum and maximum of all rows
  (float32 arithmetic); when every label is equal they are left as they are
  (and the validation labels keep the previous training's, as libCacheSim's
  reused buffer does);
* parameters: ``gbtree``, squared error, one thread, everything else
  XGBoost's default; at most 20 rounds, stopping after the validation RMSE
  (as XGBoost prints it, read back as a float32) has changed by less than 1%
  three rounds in a row, once there are at least 10 validation rows;
* missing values are marked -2 (none occur: every feature is >= 0).
"""

from __future__ import annotations

import importlib.util
from typing import Any

import numpy as np

from policies.base import PolicyError
from policies.lhd import f32

INSTALL_HINT = "policy 'glcache' needs XGBoost: pip install 'kvsim[learned]' (or: pip install xgboost-cpu)"
TRAINING_ROUNDS = 20
VALIDATION_ROWS = 8192 // 10
MIN_VALIDATION_ROWS = 10
MISSING = -2.0
PARAMETERS = {"booster": "gbtree", "verbosity": 1, "nthread": 1, "objective": "reg:squarederror"}

__all__ = ["INSTALL_HINT", "SegmentModel", "f32", "xgboost_available"]


def xgboost_available() -> bool:
    """Whether XGBoost's Python package can be imported (without importing it)."""
    return importlib.util.find_spec("xgboost") is not None


def _xgboost() -> Any:
    if not xgboost_available():
        raise PolicyError(INSTALL_HINT)
    import xgboost

    return xgboost


class SegmentModel:
    """Segment features -> predicted utility; untrained, it predicts nothing (0: the ranking keeps its values)."""

    def __init__(self) -> None:
        self.xgb = _xgboost()  # fails here, when the policy is built, if the library is missing
        self.booster: Any = None
        self.valid_labels = np.zeros(VALIDATION_ROWS, dtype=np.float32)  # libCacheSim's reused buffer

    def split(self, rows_x: list[tuple[float, ...]] | np.ndarray, rows_y: np.ndarray) -> tuple[np.ndarray, ...]:
        """(train x, train y, valid x, valid y) from the snapshot rows, as libCacheSim's prepare_training_data."""
        x = np.asarray(rows_x, dtype=np.float32).reshape(len(rows_x), -1)
        y = np.asarray(rows_y, dtype=np.float32)
        lowest, highest = y.min(), y.max()
        spread = np.float32(highest - lowest)
        used = np.flatnonzero(x.any(axis=1))
        valid_mask = np.zeros(len(used), dtype=bool)
        tens = np.flatnonzero(used % 10 == 0)[:VALIDATION_ROWS]
        valid_mask[tens] = True
        train_rows, valid_rows = used[~valid_mask], used[valid_mask]
        if spread > 0:
            train_y = ((y[train_rows] - lowest) / spread).astype(np.float32)
            valid_y = ((y[valid_rows] - lowest) / spread).astype(np.float32)
            self.valid_labels[: len(valid_rows)] = valid_y
        else:
            train_y = np.full(len(train_rows), lowest, dtype=np.float32)
            valid_y = self.valid_labels[: len(valid_rows)].copy()
        return x[train_rows], train_y, x[valid_rows], valid_y

    def train(self, rows_x: list[tuple[float, ...]] | np.ndarray, rows_y: np.ndarray) -> None:
        if len(rows_x) == 0:  # (the compiled kernel's rows come as a float32 matrix)
            return
        train_x, train_y, valid_x, valid_y = self.split(rows_x, rows_y)
        if len(train_y) == 0:
            return  # nothing to learn from: keep the previous model
        xgb = self.xgb
        dtrain = xgb.DMatrix(train_x, label=train_y, missing=MISSING, nthread=1)
        dvalid = xgb.DMatrix(valid_x, label=valid_y, missing=MISSING, nthread=1)
        booster = xgb.Booster(PARAMETERS, [dtrain])
        last_loss, stable = 0.0, 0
        for round_ in range(TRAINING_ROUNDS):
            booster.update(dtrain, round_)
            if len(valid_y) < MIN_VALIDATION_ROWS:
                continue
            report = booster.eval_set([(dtrain, "train"), (dvalid, "valid")], round_)
            loss = float(np.float32(report.split("valid-rmse:")[1].split()[0]))
            if loss != 0 and abs(last_loss - loss) / loss < 0.01:
                stable += 1
                if stable > 2:
                    break
            else:
                stable = 0
            last_loss = loss
        self.booster = booster

    def predict(self, features: np.ndarray) -> list[float]:
        if self.booster is None:
            return [0.0] * len(features)
        predicted = self.booster.inplace_predict(features, missing=MISSING)  # no DMatrix: the same trees, less copying
        return predicted.astype(np.float64).tolist()
