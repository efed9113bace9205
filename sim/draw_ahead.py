"""The next batches' draws made on the second core while the request loop walks this one.

A long run spends about a third of its time drawing its requests in numpy
(sim/draws.py: arrival times, Zipf ranks, sizes, routing, service times)
and the rest walking them.  Where nothing the model decides can change a
batch's draws (a fleet that never changes and no reactive autoscaler: the
draws are then a function of the scenario and seed alone), a child process
draws the batches ahead while the parent walks them.

The child is a fork of the parent taken before the first draw, so it holds
the very RequestDraws the parent would have used, in the same state, and
draws through it the same batches in the same order: the numbers are the
same, bit for bit (tests/sim/test_draw_ahead.py compares them batch by
batch, and whole runs with and without).  The parent never draws.

A batch crosses in a ring of RING slots of anonymous shared memory (mapped
before the fork, so both processes see it), its columns laid out one after
another; a pipe carries which slot holds which columns, and back which slot
is free.  A batch too large for a slot (a trace's uneven chunks) crosses
the pipe pickled: slower, the same numbers.  The parent's arrays are views
of the slot while it walks (``copy=False``: the compiled loop keeps nothing
of a batch once walked) or copies (the Python loop's calendar keeps a
batch's draws until its last fill).  A child that fails sends its
traceback, which the parent raises; a parent that stops early (an error
in the loop, a run abandoned) ends the child it started; a parent that dies
closes the pipe, which ends the child.

It runs only where it pays and is safe: runs of at least AHEAD_MIN_REQUESTS
requests, on a system that forks, in the main thread of a process allowed
children (a pool's daemonic workers are not; a Dask worker's threads would
fork a process mid-way), and not when ``KVSIM_DRAW_AHEAD=0`` (``=1`` forces
it on, for the tests).  Elsewhere the draws are made in line, as before.
"""

from __future__ import annotations

import mmap
import multiprocessing
import os
import signal
import threading
import traceback
from collections.abc import Iterator
from multiprocessing.connection import Connection

import numpy as np

from sim.draws import Draws, RequestDraws
from workloads.stream import RequestBatch

#: runs shorter than this draw in line: a fork and a pipe cost more than they save
AHEAD_MIN_REQUESTS = 1_000_000

#: batches drawn ahead at most (slots in the ring): one being walked, the rest ready or being drawn
RING = 3

#: the columns of a Draws, in its order; the batch's four come first
_BATCH_COLUMNS = ("time", "key", "size", "op")
_DRAW_COLUMNS = ("choices", "read_node", "round_trip", "service", "node_service", "ttl", "cold", "warm_from", "group")

_ALIGN = 64  # each column starts on a cache line

#: a column's place in a slot: (name, dtype's str or None where the Draws has none, shape, offset)
Column = tuple[str, str | None, tuple[int, ...], int]


def wanted(draws: RequestDraws, static: bool) -> bool:
    """Whether to draw `draws` ahead (the caller's model decides nothing that changes them; `static`: the
    fleet never changes): a long run, where forking is safe."""
    switch = os.environ.get("KVSIM_DRAW_AHEAD", "")
    if switch == "0" or not static or not hasattr(os, "fork"):
        return False
    if threading.current_thread() is not threading.main_thread() or multiprocessing.current_process().daemon:
        return False
    return switch == "1" or draws.scenario.total_requests >= AHEAD_MIN_REQUESTS


def draws_of(draws: RequestDraws, ahead: bool, copy: bool = True) -> Iterator[Draws]:
    """Every batch's Draws, in order: drawn ahead in a child process if `ahead`, else in line.

    copy=False gives views of shared memory that hold until the next batch is asked for.
    """
    if not ahead:
        yield from draws
        return
    yield from DrawsAhead(draws, copy)


def _slot_bytes(draws: RequestDraws) -> int:
    """A slot's size: a full batch's columns, each padded to a cache line."""
    chunk = 1 << 16  # workloads.stream's DEFAULT_CHUNK: a synthetic workload's batches
    per_request = 8 * (11 + draws.depth) + 2  # ten 8-byte columns, op and cold 1 byte, choices depth x 8
    return chunk * per_request + _ALIGN * (len(_BATCH_COLUMNS) + len(_DRAW_COLUMNS))


class DrawsAhead:
    """Iterates over a RequestDraws' batches drawn by a forked child, through a ring of shared memory."""

    def __init__(self, draws: RequestDraws, copy: bool = True):
        self.copy = copy
        self.slot_bytes = _slot_bytes(draws)
        self.ring = mmap.mmap(-1, RING * self.slot_bytes)  # anonymous, shared with the child
        self.conn, child_conn = multiprocessing.Pipe()
        self.child = multiprocessing.get_context("fork").Process(
            target=_produce, args=(draws, self.ring, self.slot_bytes, child_conn), daemon=True
        )
        self.child.start()
        child_conn.close()

    def __iter__(self) -> Iterator[Draws]:
        try:
            for slot in range(RING):
                self.conn.send(slot)  # every slot is free
            while True:
                try:
                    message = self.conn.recv()
                except EOFError:
                    raise RuntimeError("the process drawing requests ahead ended without a word") from None
                kind = message[0]
                if kind == "end":
                    break
                if kind == "error":
                    raise RuntimeError(f"drawing requests ahead failed:\n{message[1]}")
                if kind == "pickled":
                    yield message[1]
                    continue
                _, slot, start, layout = message
                yield self._unpack(slot, start, layout)
                try:
                    self.conn.send(slot)  # walked: the child may fill it again
                except BrokenPipeError:  # the child sent its last batch and is gone: "end" is still to read
                    pass
        finally:
            self.close()

    def _unpack(self, slot: int, start: int, layout: list[Column]) -> Draws:
        base = slot * self.slot_bytes
        columns: dict[str, np.ndarray | None] = {}
        for name, dtype, shape, offset in layout:
            if dtype is None:
                columns[name] = None
                continue
            count = int(np.prod(shape))
            view = np.frombuffer(self.ring, dtype=dtype, count=count, offset=base + offset).reshape(shape)
            columns[name] = view.copy() if self.copy else view
        time, key, size, op = (columns.pop(name) for name in _BATCH_COLUMNS)
        return Draws(RequestBatch(time, key, size, op, start), **columns)  # type: ignore[arg-type]

    def close(self) -> None:
        """End the child (done, or abandoned early) and let go of the ring."""
        if self.child.is_alive():
            self.child.terminate()
        self.child.join()
        self.conn.close()


def _produce(draws: RequestDraws, ring: mmap.mmap, slot_bytes: int, conn: Connection) -> None:
    """The child: each batch's draws, in order, into the next free slot; then "end" (or "error")."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle: it ends the child
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # (kvsim's own handler, inherited, would raise in here)
    try:
        for drawn in draws:
            layout, size = _layout(drawn)
            if size > slot_bytes:
                conn.send(("pickled", drawn))
                continue
            slot = conn.recv()  # wait for a free slot
            base = slot * slot_bytes
            for name, _, _, offset in layout:
                column = _column(drawn, name)
                if column is not None:
                    target = np.frombuffer(ring, dtype=column.dtype, count=column.size, offset=base + offset)
                    target[:] = column.reshape(-1)
            conn.send(("slot", slot, drawn.batch.start, layout))
        conn.send(("end",))
    except (EOFError, BrokenPipeError):  # the parent is gone or stopped early
        pass
    except BaseException:  # any failure is the parent's to raise
        try:
            conn.send(("error", traceback.format_exc()))
        except OSError:
            pass


def _column(drawn: Draws, name: str) -> np.ndarray | None:
    return getattr(drawn.batch, name) if name in _BATCH_COLUMNS else getattr(drawn, name)


def _layout(drawn: Draws) -> tuple[list[Column], int]:
    """Where each column of `drawn` goes in a slot, and the bytes it takes."""
    layout: list[Column] = []
    offset = 0
    for name in _BATCH_COLUMNS + _DRAW_COLUMNS:
        column = _column(drawn, name)
        if column is None:
            layout.append((name, None, (), 0))
            continue
        layout.append((name, column.dtype.str, column.shape, offset))
        offset += -(-column.nbytes // _ALIGN) * _ALIGN
    return layout, offset
