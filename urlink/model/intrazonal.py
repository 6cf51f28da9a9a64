"""Within-zone trips: the travel time and distance of a trip that starts and ends in one zone.

A zone-to-zone skim measures seat to seat, so its diagonal is 0: a trip inside a zone would
cost nothing, and a gravity model either sends every trip out of its zone (no self-flows)
or keeps them all at home (a zero cost is the most attractive). Models therefore give each
zone an *intrazonal* cost. urlink uses the rule most often taught and used in practice:
half the time (or distance) to the nearest neighbouring zone (Ortúzar & Willumsen 2011,
*Modelling Transport*, 4th ed., §5.2 on intrazonal trips; Batty 1976), which grows with the
zone's size and with how remote it is:

    t_ii = 0.5 * min_{j != i} t_ij,        d_ii = 0.5 * min_{j != i} d_ij

:func:`intrazonal_values` computes it from a skim; :func:`pair_values` looks up many
origin-destination pairs at once and uses the intrazonal value on the diagonal;
:func:`with_intrazonal` returns the skim with its diagonal replaced (what the gravity models
take as ``cost``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from collections.abc import Iterator

    import pyarrow as pa

__all__ = [
    "INTRAZONAL_RULES",
    "IntrazonalRule",
    "intrazonal_values",
    "pair_values",
    "positions",
    "with_intrazonal",
]

IntrazonalRule = Literal["half_nearest", "none"]
INTRAZONAL_RULES: tuple[IntrazonalRule, ...] = ("half_nearest", "none")
"""``half_nearest``: half the value to the nearest other zone; ``none``: the skim's diagonal
(0 between a seat and itself: no within-zone trips are modelled)."""


def intrazonal_values(
    matrix: pd.DataFrame, *, rule: IntrazonalRule = "half_nearest", factor: float = 0.5
) -> pd.Series:
    """Compute the intrazonal value of every zone (minutes or km, as the matrix).

    Parameters
    ----------
    matrix
        Origin x destination values (a square skim; NaN = unreachable).
    rule
        :data:`INTRAZONAL_RULES`.
    factor
        Share of the nearest neighbour's value (0.5: half, the usual rule).

    Returns
    -------
    pandas.Series
        Indexed like the matrix rows; NaN for a zone that reaches no other zone.

    Examples
    --------
    >>> m = pd.DataFrame([[0, 10, 30], [12, 0, 8], [30, 8, 0]], index=list("abc"),
    ...                  columns=list("abc"), dtype=float)
    >>> intrazonal_values(m).tolist()
    [5.0, 4.0, 4.0]
    >>> intrazonal_values(m, rule="none").tolist()
    [0.0, 0.0, 0.0]
    """
    if (
        not matrix.columns.equals(matrix.index)
        and matrix.index.is_unique
        and matrix.columns.is_unique
        and len(matrix.columns) == len(matrix.index)
        and matrix.columns.isin(matrix.index).all()
    ):  # the same zones in another order: each zone's own column on the diagonal
        matrix = matrix.reindex(columns=matrix.index)
    n_rows, n_cols = matrix.shape
    if rule == "none":
        diag = np.empty(min(n_rows, n_cols))
        for a, block in _row_blocks(matrix, len(diag)):
            diag[a : a + len(block)] = np.diagonal(block, offset=a)
        return pd.Series(diag, index=matrix.index[: len(diag)])
    nearest = np.full(n_rows, np.inf)
    for a, block in _row_blocks(matrix, n_rows):  # by rows: no dense temporary (#20)
        off = np.where(np.isnan(block), np.inf, block)
        k = np.arange(a, min(a + len(off), n_cols))
        off[k - a, k] = np.inf
        if n_cols:
            nearest[a : a + len(off)] = off.min(axis=1)
    nearest[~np.isfinite(nearest)] = np.nan  # reaches no other zone
    return pd.Series(factor * nearest, index=matrix.index)


_BLOCK_ROWS = 512
"""Rows of a zone matrix read at once where a whole-matrix temporary would be too large."""


def _row_blocks(matrix: pd.DataFrame, n_rows: int) -> Iterator[tuple[int, np.ndarray]]:
    """``(first row, values as float)`` of the first ``n_rows`` rows, by blocks of rows."""
    if n_rows == len(matrix) and n_rows <= _BLOCK_ROWS:  # one block: no row slice to build
        yield 0, matrix.to_numpy(dtype=float)
        return
    for a in range(0, n_rows, _BLOCK_ROWS):
        yield a, matrix.iloc[a : min(a + _BLOCK_ROWS, n_rows)].to_numpy(dtype=float)


def with_intrazonal(matrix: pd.DataFrame, values: pd.Series) -> pd.DataFrame:
    """Return the matrix with its diagonal replaced by intrazonal values (a copy).

    Parameters
    ----------
    matrix
        Square origin x destination values.
    values
        Intrazonal value per zone (:func:`intrazonal_values`).

    Returns
    -------
    pandas.DataFrame

    Examples
    --------
    >>> m = pd.DataFrame([[0.0, 6.0], [6.0, 0.0]], index=["a", "b"], columns=["a", "b"])
    >>> with_intrazonal(m, intrazonal_values(m)).to_numpy().tolist()
    [[3.0, 6.0], [6.0, 3.0]]
    """
    arr = matrix.to_numpy(dtype=float, copy=True)  # the one copy (#20)
    np.fill_diagonal(arr, values.reindex(matrix.index).to_numpy(dtype=float))
    return pd.DataFrame(arr, index=matrix.index, columns=matrix.columns, copy=False)


def pair_values(
    matrix: pd.DataFrame,
    origins: pd.Series | np.ndarray,
    destinations: pd.Series | np.ndarray,
    *,
    intrazonal: pd.Series | None = None,
) -> np.ndarray:
    """Look up ``matrix[origin, destination]`` for many pairs; intrazonal values on the diagonal.

    Parameters
    ----------
    matrix
        Origin x destination values.
    origins, destinations
        Zone ids of the pairs.
    intrazonal
        Value of a pair whose origin is its destination (None: the matrix's diagonal).

    Returns
    -------
    numpy.ndarray
        The values, float.

    Examples
    --------
    >>> m = pd.DataFrame([[0.0, 6.0], [7.0, 0.0]], index=["a", "b"], columns=["a", "b"])
    >>> pair_values(m, ["a", "b", "b"], ["b", "a", "b"]).tolist()
    [6.0, 7.0, 0.0]
    >>> pair_values(m, ["a", "b"], ["a", "b"], intrazonal=intrazonal_values(m)).tolist()
    [3.0, 3.5]
    """
    o = pd.Index(np.asarray(origins))
    d = pd.Index(np.asarray(destinations))
    rows = matrix.index.get_indexer(o)
    cols = matrix.columns.get_indexer(d)
    # the pairs first, then as float: no float64 copy of a float32 matrix (#20)
    values = np.asarray(matrix.to_numpy()[rows, cols], dtype=float)
    if intrazonal is not None:
        same = o.to_numpy() == d.to_numpy()
        if same.any():
            values[same] = intrazonal.reindex(o[same]).to_numpy(dtype=float)
    return values


def _arrow_strings(values: pd.Index | pd.Series) -> pa.Array | None:
    """Return the Arrow array of string values without missing ones, else None."""
    dtype = values.dtype
    if not (isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow"):
        return None
    import pyarrow as pa  # noqa: PLC0415 - installed: pandas stores these strings with it

    array = pa.array(values.array)  # the stored Arrow data, not a copy
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    return None if array.null_count else array


def positions(index: pd.Index, labels: pd.Index | pd.Series) -> np.ndarray:
    """Return the position of each label in ``index``, -1 where it is not there.

    ``index.get_indexer(labels)``; with string ids stored by Arrow (pandas' default) and
    none missing, Arrow's hash lookup finds the same positions several times faster.

    Parameters
    ----------
    index
        Zone ids (unique).
    labels
        The ids looked up.

    Returns
    -------
    numpy.ndarray
        Positions (intp).

    Examples
    --------
    >>> positions(pd.Index(["a", "b", "c"]), pd.Series(["c", "x", "a"])).tolist()
    [2, -1, 0]
    """
    known = _arrow_strings(index) if index.is_unique else None
    looked = _arrow_strings(labels) if known is not None else None
    if known is None or looked is None:
        return np.asarray(index.get_indexer(pd.Index(labels)), dtype=np.intp)
    import pyarrow.compute as pc  # noqa: PLC0415 - installed: the ids are Arrow strings

    found = pc.fill_null(pc.index_in(looked, value_set=known), -1)
    return np.asarray(found.to_numpy(), dtype=np.intp)
