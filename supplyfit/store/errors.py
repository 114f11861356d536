"""Errors raised for input that cannot be loaded at all (as opposed to bad rows, which are quarantined)."""

from __future__ import annotations


class IngestError(Exception):
    """A file that cannot be loaded; the message names the file and, where known, the row and column."""

    def __init__(self, file: str, message: str, *, row: int | None = None, column: str | None = None):
        self.file, self.row, self.column = file, row, column
        where = file
        if row is not None:
            where += f", row {row}"
        if column is not None:
            where += f", column {column!r}"
        super().__init__(f"{where}: {message}")
