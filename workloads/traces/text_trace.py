"""The ``txt`` format: one key per line, nothing else (libCacheSim's and the LIRS traces).

Schema.  Each non-blank line is one request: its key, an integer or text
(see workloads.traces for keys).  No timestamps (batch times are request
numbers), no sizes (1), no ops (reads).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import numpy as np

from workloads.traces.base import (
    CONTROL_CHARACTERS,
    Trace,
    TraceBatch,
    TraceError,
    check_key_type,
    line_blocks,
    nth_content_line,
    rechunk,
    text_keys,
)
from workloads.traces.compression import TracePath


class TextTrace(Trace):
    """One key per line (integers or text; see workloads.traces for keys).

    Blank lines are skipped.  No timestamps and no sizes: batch times are
    request numbers and sizes are 1.
    """

    format = "txt"

    def __init__(self, path: TracePath, key_type: str = "auto"):
        check_key_type(key_type)
        super().__init__(path)
        self.key_type = key_type

    def _expected(self) -> str:
        return "one key per line"

    def where(self, index: int) -> str:
        return f"line {nth_content_line(self, index, header=False)}"

    def _chunks(self, chunk: int) -> Iterator[TraceBatch]:
        pieces = ({"keys": self._keys(block, first)} for first, block in line_blocks(self))
        return rechunk(pieces, chunk)

    def _keys(self, block: bytes, first: int) -> np.ndarray:
        """The keys of a block of whole lines whose first is line `first`."""
        if self.key_type != "str":
            import pandas as pd  # here, not above: kvsim's start-up and binary traces go without it

            # Fast path for integer keys: pandas' C parser, no Python object per
            # line.  Anything unusual (text keys, blank-only or quoted lines,
            # huge ids, bytes that are not UTF-8) falls through to the exact
            # line-by-line reading below, which also finds the line of an error.
            try:
                frame = pd.read_csv(
                    io.BytesIO(block),
                    header=None,
                    quoting=csv.QUOTE_NONE,
                    engine="c",
                    keep_default_na=False,
                    na_values=[],
                    encoding="utf-8",
                )
            except (ValueError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError):
                frame = None
            if frame is not None and frame.shape[1] == 1 and frame[0].dtype.kind == "i":
                return frame[0].to_numpy(dtype=np.int64)
        texts, numbers = [], []
        for offset, raw in enumerate(block.split(b"\n")):
            try:
                # A byte-order mark may open the file; it is not part of the key.
                text = raw.decode("utf-8-sig" if first + offset == 1 else "utf-8").strip()
            except UnicodeDecodeError:
                raise TraceError(
                    f"{self.path}: line {first + offset}: not UTF-8 text "
                    f"(expected one key per line; for a binary trace use format=oraclegeneral)"
                ) from None
            if not text:
                continue
            if CONTROL_CHARACTERS.search(text):
                raise TraceError(
                    f"{self.path}: line {first + offset}: control characters in a key "
                    f"(expected one key per line; is this a binary trace?)"
                )
            texts.append(text)
            numbers.append(first + offset)
        if not texts:
            return np.empty(0, dtype=np.int64)
        return text_keys(texts, self.key_type, lambda i: f"{self.path}: line {numbers[i]}")
