"""The version of every value, for counting stale reads: what both models stamp entries with."""

from __future__ import annotations

from collections.abc import Iterable

from workloads.stream import CLASS_SHIFT


class Versions:
    """The current version of every value: writes landed per key, bulk updates per class.

    A cached entry carries the version it was fetched at (its stamp); a hit on
    an entry whose stamp is not the current version is a stale read.
    """

    def __init__(self) -> None:
        self.writes: dict = {}
        self.bulk_updates: dict = {}

    def stamp(self, key: int) -> tuple[int, int]:
        """The current version of `key`'s value: (writes landed, bulk updates of its class)."""
        return (self.writes.get(key, 0), self.bulk_updates.get(key >> CLASS_SHIFT, 0))

    def write_landed(self, key: int) -> None:
        self.writes[key] = self.writes.get(key, 0) + 1

    def bulk_updated(self, classes: Iterable[int]) -> None:
        for index in classes:
            self.bulk_updates[index] = self.bulk_updates.get(index, 0) + 1
