"""Progress of a run: stages, and steps within a stage (each strategy, each map, each sample).

The library reports progress to a :class:`Progress` object and never draws anything itself;
the command line (:mod:`urlink.cli`) turns the reports into a progress bar on a terminal or
a line per stage otherwise. :data:`SILENT` ignores them (the default).

Examples
--------
>>> class Printer:
...     def stage(self, name, *, total=None):
...         print("stage", name, total)
...     def advance(self, n=1, *, what=""):
...         print("  done", what)
>>> report(Printer(), "strategies", total=2)
stage strategies 2
"""

from __future__ import annotations

from typing import Protocol

__all__ = ["SILENT", "Progress", "Silent", "advance", "report"]


class Progress(Protocol):
    """Receives the progress of a run."""

    def stage(self, name: str, *, total: int | None = None) -> None:
        """Start a stage; ``total`` steps follow (None: no steps reported)."""
        ...

    def advance(self, n: int = 1, *, what: str = "") -> None:
        """Count ``n`` finished steps of the current stage; ``what`` names the last one."""
        ...


class Silent:
    """A :class:`Progress` that ignores every report."""

    def stage(self, name: str, *, total: int | None = None) -> None:
        """Ignore the start of a stage."""

    def advance(self, n: int = 1, *, what: str = "") -> None:
        """Ignore finished steps."""


SILENT = Silent()
"""The default progress: nothing is shown."""


def report(progress: Progress | None, name: str, *, total: int | None = None) -> None:
    """Report the start of a stage to ``progress`` (None: to nobody).

    Parameters
    ----------
    progress
        The receiver, or None.
    name
        The stage.
    total
        Steps that follow, if known.
    """
    (progress or SILENT).stage(name, total=total)


def advance(progress: Progress | None, n: int = 1, *, what: str = "") -> None:
    """Report ``n`` finished steps to ``progress`` (None: to nobody).

    Parameters
    ----------
    progress
        The receiver, or None.
    n
        Steps done.
    what
        The last step's name.
    """
    (progress or SILENT).advance(n, what=what)
