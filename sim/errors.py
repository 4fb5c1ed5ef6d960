"""Errors raised for bad input, before a run starts.

Every message names where the problem is (file and row, or config field) and the offending value,
so a user can fix the input without reading a traceback.
"""

from __future__ import annotations


class InputError(ValueError):
    """Bad user input: a data file, a policy or a configuration value."""


class DataError(InputError):
    """A data file is missing, malformed, or holds a value out of range."""

    def __init__(self, file: str, message: str, row: int | str | None = None,
                 field: str | None = None):
        where = file
        if row is not None:
            where += f", row {row}"
        if field is not None:
            where += f", field '{field}'"
        super().__init__(f"{where}: {message}")
        self.file = file
        self.row = row
        self.field = field
        self._args = (file, message, row, field)

    def __reduce__(self):  # raised in a worker process, it must cross back whole
        return (type(self), self._args)


class ConfigError(InputError):
    """A configuration or policy value is invalid."""

    def __init__(self, field: str, message: str):
        super().__init__(f"config '{field}': {message}")
        self.field = field
        self._args = (field, message)

    def __reduce__(self):  # raised in a worker process, it must cross back whole
        return (type(self), self._args)
