"""Exceptions raised by urlink.

Every error that a user can fix by changing an input is an :class:`InputError`. Its message
names the file, layer, field, row or argument, echoes the bad value and says what to do
instead. The command line turns an :class:`InputError` into exit code 2 and prints only the
message; anything else is an internal error (exit code 1).
"""

from __future__ import annotations

__all__ = ["InputError", "UrlinkError", "UrlinkWarning"]


class UrlinkError(Exception):
    """Base class for all errors raised on purpose by urlink."""


class InputError(UrlinkError, ValueError):
    """Bad input: a file, scenario key, table row or argument that the user must fix.

    Examples
    --------
    >>> from urlink.errors import InputError
    >>> try:
    ...     raise InputError("coords='gcj2' is not valid; use 'wgs84' or 'gcj02'")
    ... except ValueError as err:
    ...     print(err)
    coords='gcj2' is not valid; use 'wgs84' or 'gcj02'
    """


class UrlinkWarning(UserWarning):
    """A recoverable problem in the input that urlink repaired or worked around.

    The message says what was changed (for example the area change caused by repairing an
    invalid polygon) so that the user can decide whether to fix the source data.
    """
