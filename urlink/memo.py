"""Values derived from objects that are never edited in place, kept while those objects live.

A state's tables (a skim, the zones, a graph's node coordinates) are never edited in place:
an edit makes new ones. What is derived from one of them can therefore be kept with that
very object, compared by identity, and reused by every later reader: the uncertainty
analysis derives the intrazonal times of one skim for every flow model, indicator and bus
skim of a dozen states per sample. An entry goes when one of its objects is collected.

Examples
--------
>>> import numpy as np
>>> grid = np.arange(4.0)
>>> kept_with("total", (grid,), None, lambda: float(grid.sum()))
6.0
>>> kept_with("total", (grid,), None, lambda: -1.0)  # kept: not computed again
6.0
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any, TypeVar, cast

if TYPE_CHECKING:
    from collections.abc import Callable, Hashable

__all__ = ["kept_with"]

T = TypeVar("T")

_KEPT: dict[tuple[Hashable, ...], tuple[tuple[weakref.ref[Any], ...], Any]] = {}
"""Name, the sources' ids and the extra key -> (weak references to the sources, value)."""


def kept_with(
    name: str, sources: tuple[object, ...], extra: Hashable, compute: Callable[[], T]
) -> T:
    """Return ``compute()``, kept while the very objects ``sources`` live.

    Parameters
    ----------
    name
        What is derived (one name per kind of value).
    sources
        The objects it is derived from, compared by identity; they must support weak
        references (pandas and numpy objects do) and never be edited in place.
    extra
        Everything else it depends on, compared by value (a rule, a speed, labels...).
    compute
        Computes it.

    Returns
    -------
    object
        What ``compute`` returned for these sources and ``extra``: treat it as read-only,
        every later caller gets the same object.
    """
    key = (name, *(id(s) for s in sources), extra)
    held = _KEPT.get(key)
    if held is not None and all(r() is s for r, s in zip(held[0], sources, strict=True)):
        return cast("T", held[1])
    value = compute()

    def forget(ref: weakref.ref[Any], key: tuple[Hashable, ...] = key) -> None:
        entry = _KEPT.get(key)
        if entry is not None and ref in entry[0]:  # not a newer entry of a reused id
            del _KEPT[key]

    _KEPT[key] = (tuple(weakref.ref(s, forget) for s in sources), value)
    return value
