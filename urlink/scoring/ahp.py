"""AHP pairwise comparisons: Saaty's eigenvector weights and consistency ratio."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from urlink.errors import InputError
from urlink.io.tables import AHP_JUDGMENTS, read_rows
from urlink.scoring.weights import _check_labels

if TYPE_CHECKING:
    from collections.abc import Sequence

    import numpy.typing as npt

logger = logging.getLogger(__name__)


RANDOM_INDEX: dict[int, float] = {
    1: 0.0,
    2: 0.0,
    3: 0.58,
    4: 0.90,
    5: 1.12,
    6: 1.24,
    7: 1.32,
    8: 1.41,
    9: 1.45,
    10: 1.49,
}
"""Saaty's random consistency index RI by matrix size n.

n = 3..8 as in [R95][R96]; n = 1, 2 (always consistent) and n = 9, 10 from Saaty 1980,
*The Analytic Hierarchy Process* and Saaty 1990, EJOR 48(1):9-26, Table 2.
"""

CR_THRESHOLD = 0.10
"""Largest acceptable AHP consistency ratio (Saaty) [R95]."""

AHP_CSV_COLUMNS = ("group", "row", "col", "value")
"""Header of the AHP pairwise-comparison file."""

_AHP_TOL = 1e-6


# ------------------------------------------------------------------------------- AHP


def _most_inconsistent(a: npt.NDArray[np.float64], w: npt.NDArray[np.float64]) -> tuple[int, int]:
    """Find the judgment furthest (in log ratio) from what the derived weights imply."""
    implied = w[:, None] / w[None, :]
    dev = np.abs(np.log(a / implied))
    i, j = np.unravel_index(int(np.argmax(np.triu(dev, 1))), a.shape)
    return int(i), int(j)


@dataclass(frozen=True, slots=True)
class AhpConsistency:
    """Weights and consistency of one AHP matrix (:func:`ahp_consistency`).

    Attributes
    ----------
    weights
        Weights per indicator (named after the group, summing to 1).
    consistency_ratio
        Saaty's CR (0 for n <= 2).
    lambda_max
        The principal eigenvalue.
    revise
        When CR > :data:`CR_THRESHOLD`: the judgment to revise first, as ``(row, col,
        value, implied)``: the cell, its value and the ratio the other judgments put it
        near; None otherwise.
    """

    weights: pd.Series
    consistency_ratio: float
    lambda_max: float
    revise: tuple[str, str, float, float] | None


def ahp_consistency(matrix: pd.DataFrame, *, group: str) -> AhpConsistency:
    """Derive weights and the consistency ratio of an AHP matrix without refusing a high CR.

    The same checks and computation as :func:`ahp_weights`, which raises when CR > 0.10;
    this one reports the CR and the judgment to revise, e.g. to show them live while a
    group fills in its comparisons (``urlink workshop``).

    Parameters
    ----------
    matrix
        Square matrix, rows and columns labelled with the same indicator names.
    group
        The stakeholder group whose judgments these are (named in errors).

    Returns
    -------
    AhpConsistency

    Raises
    ------
    InputError
        If the matrix is not square, its labels differ, an entry is missing, non-positive
        or not reciprocal, a diagonal entry is not 1 or n > 10.

    Examples
    --------
    >>> import pandas as pd
    >>> names = ["access", "co2", "cost"]
    >>> m = pd.DataFrame([[1, 9, 1 / 9], [1 / 9, 1, 9], [9, 1 / 9, 1]],
    ...                  index=names, columns=names)
    >>> c = ahp_consistency(m, group="residents")
    >>> round(c.consistency_ratio, 2), c.revise[:2]
    (6.13, ('access', 'co2'))
    """
    if not isinstance(matrix, pd.DataFrame):
        msg = f"group {group!r}: matrix must be a pandas DataFrame, not {type(matrix)}"
        raise InputError(msg)
    n_rows, n_cols = matrix.shape
    if n_rows != n_cols or n_rows == 0:
        msg = (
            f"group {group!r}: the comparison matrix has shape {matrix.shape}; it must be "
            "square (one row and one column per indicator)"
        )
        raise InputError(msg)
    rows, cols = list(matrix.index), list(matrix.columns)
    if len(set(rows)) != n_rows or set(rows) != set(cols):
        msg = (
            f"group {group!r}: row labels {rows} and column labels {cols} differ; label rows "
            "and columns with the same, distinct indicator names"
        )
        raise InputError(msg)
    n = n_rows
    if n not in RANDOM_INDEX:
        msg = (
            f"group {group!r}: {n} indicators compared at once; AHP has a random index only "
            f"for n <= {max(RANDOM_INDEX)}, so group the indicators into a hierarchy"
        )
        raise InputError(msg)
    ordered = matrix.reindex(columns=rows)
    a = ordered.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    for i in range(n):
        for j in range(n):
            cell = f"group {group!r}: cell ({rows[i]!r}, {rows[j]!r}) = {ordered.iloc[i, j]!r}"
            if not math.isfinite(a[i, j]) or a[i, j] <= 0:
                msg = f"{cell} is not a positive number; use Saaty's scale 1/9 .. 9"
                raise InputError(msg)
            if i == j and abs(a[i, j] - 1) > _AHP_TOL:
                msg = f"{cell}; the diagonal must be 1 (an indicator equals itself)"
                raise InputError(msg)
    for i in range(n):
        for j in range(i + 1, n):
            if abs(a[i, j] * a[j, i] - 1) > _AHP_TOL:
                msg = (
                    f"group {group!r}: cell ({rows[i]!r}, {rows[j]!r}) = {a[i, j]:g} and "
                    f"cell ({rows[j]!r}, {rows[i]!r}) = {a[j, i]:g} are not reciprocal; "
                    f"set ({rows[j]!r}, {rows[i]!r}) to 1/{a[i, j]:g} = {1 / a[i, j]:.6g}"
                )
                raise InputError(msg)
    eigvals, eigvecs = np.linalg.eig(a)
    k = int(np.argmax(eigvals.real))
    lam = float(eigvals[k].real)
    vec = np.abs(eigvecs[:, k].real)
    w = vec / vec.sum()
    cr = 0.0 if n <= 2 else max(0.0, (lam - n) / (n - 1) / RANDOM_INDEX[n])
    revise = None
    if cr > CR_THRESHOLD:
        i, j = _most_inconsistent(a, w)
        revise = (str(rows[i]), str(rows[j]), float(a[i, j]), float(w[i] / w[j]))
    weights = pd.Series(w, index=pd.Index(rows), name=group)
    return AhpConsistency(weights, float(cr), lam, revise)


def ahp_weights(matrix: pd.DataFrame, *, group: str) -> tuple[pd.Series, float]:
    """Derive weights from an AHP pairwise-comparison matrix (Saaty's eigenvector method).

    ``matrix.loc[i, j]`` says how many times more important indicator ``i`` is than ``j``
    on Saaty's 1-9 scale; the matrix must be positive with ones on the diagonal and
    reciprocal (``a_ij · a_ji = 1`` within 1e-6). The weights are the principal
    eigenvector, normalised to sum to 1. Consistency [R95][R96]:

    ``CI = (λmax - n) / (n - 1)``, ``CR = CI / RI(n)``

    with Saaty's random index RI (:data:`RANDOM_INDEX`: n = 3..8 from [R95], n = 1, 2 and
    9, 10 from Saaty 1980/1990). Matrices with n <= 2 are always consistent (CR = 0);
    rounding noise below 0 is reported as 0.

    Parameters
    ----------
    matrix
        Square matrix, rows and columns labelled with the same indicator names.
    group
        The stakeholder group whose judgments these are (named in errors).

    Returns
    -------
    tuple of (pandas.Series, float)
        Weights per indicator (named after the group, summing to 1) and the consistency
        ratio CR.

    Raises
    ------
    InputError
        If the matrix is not square, its row and column labels differ, an entry is missing,
        non-positive or not reciprocal (the cell is named), a diagonal entry is not 1,
        n > 10 (no random index), or CR > 0.10 (the group, the CR and the judgment to
        revise first are named).

    Examples
    --------
    >>> import pandas as pd
    >>> from urlink.scoring import ahp_weights
    >>> names = ["access", "co2", "cost"]
    >>> m = pd.DataFrame([[1, 3, 5], [1 / 3, 1, 3], [1 / 5, 1 / 3, 1]],
    ...                  index=names, columns=names)
    >>> w, cr = ahp_weights(m, group="residents")
    >>> w.round(3)
    access    0.637
    co2       0.258
    cost      0.105
    Name: residents, dtype: float64
    >>> round(cr, 3)
    0.033
    """
    result = ahp_consistency(matrix, group=group)
    cr = result.consistency_ratio
    if result.revise is not None:
        row, col, value, implied = result.revise
        msg = (
            f"group {group!r}: the AHP judgments are inconsistent, CR = {cr:.3f} > "
            f"{CR_THRESHOLD:.2f} (λmax = {result.lambda_max:.3f}, n = {len(matrix)}); ask the "
            f"group to revise its comparisons, starting with ({row!r}, {col!r}) = "
            f"{value:.3g}, which its other judgments put near {implied:.3g}"
        )
        raise InputError(msg)
    return result.weights, cr


def ahp_from_csv(
    path: str | Path, *, indicators: Sequence[str] | None = None
) -> dict[str, pd.Series]:
    r"""Read AHP pairwise comparisons for several groups and derive each group's weights.

    The CSV has the header (exactly)::

        group,row,col,value

    with one line per group and pair of indicators: ``value`` says how many times more
    important ``row`` is than ``col`` (Saaty's 1-9 scale; ``1/3`` or ``0.333`` for the
    inverse). Give each pair once, in either orientation (normally the upper triangle);
    the reciprocal is filled in and the diagonal is 1. Each group's matrix goes through
    :func:`ahp_weights`, so a CR above 0.10 is an error.

    Parameters
    ----------
    path
        The CSV file (UTF-8).
    indicators
        The valid indicator names; the weights follow this order. If omitted, the names
        found in the file are used, in the order they first appear.

    Returns
    -------
    dict
        Group -> weights (Series summing to 1), in file order. Each Series carries its
        consistency ratio in ``.attrs["consistency_ratio"]``.

    Raises
    ------
    InputError
        Naming the file and group, for unknown indicators, missing or repeated pairs,
        values that are not numbers or fractions within Saaty's scale 1/9 .. 9 (the form's
        declaration :data:`urlink.io.tables.AHP_JUDGMENTS`, naming the line, group and
        pair), and inconsistent judgments.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from urlink.scoring import ahp_from_csv
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "ahp.csv"
    >>> _ = path.write_text(
    ...     "group,row,col,value\n"
    ...     "farmers_coop,access,co2,3\nfarmers_coop,access,cost,5\n"
    ...     "farmers_coop,co2,cost,3\n",
    ...     encoding="utf-8",
    ... )
    >>> ahp_from_csv(path)["farmers_coop"].round(3)
    access    0.637
    co2       0.258
    cost      0.105
    Name: farmers_coop, dtype: float64
    """
    path = Path(path)
    # the header, blank cells, markup and values (numbers or fractions, finite, within
    # Saaty's scale) are checked by the form's declaration, as for every input table
    df = read_rows(path, AHP_JUDGMENTS)
    valid = _check_labels(df, path, ("group", "row", "col"), ("row", "col"), indicators)
    result: dict[str, pd.Series] = {}
    for group in dict.fromkeys(df["group"]):
        matrix = _ahp_matrix(df[df["group"] == group], path=path, group=group, valid=valid)
        try:
            weights, cr = ahp_weights(matrix, group=group)
        except InputError as err:
            msg = f"{path}: {err}"
            raise InputError(msg) from err
        weights.attrs["consistency_ratio"] = cr
        logger.info("AHP weights of %s: CR = %.3f", group, cr)
        result[group] = weights
    return result


def _ahp_matrix(rows: pd.DataFrame, *, path: Path, group: str, valid: list[str]) -> pd.DataFrame:
    """Build one group's full reciprocal matrix from its lines of the AHP file."""
    a = pd.DataFrame(np.eye(len(valid)), index=valid, columns=valid)
    seen: set[frozenset[str]] = set()
    lines = rows.index + 2
    for line, r, c, value in zip(lines, rows["row"], rows["col"], rows["value"], strict=True):
        where = f"{path}, line {line}: group {group!r}, ({r!r}, {c!r})"
        text = f"{value:g}"  # a number within Saaty's scale (checked by AHP_JUDGMENTS)
        if r == c:
            if abs(value - 1) > _AHP_TOL:
                msg = f"{where}: value {text!r} must be 1 on the diagonal (or leave it out)"
                raise InputError(msg)
            continue
        pair = frozenset((r, c))
        if pair in seen:
            earlier = float(a.loc[c, r])
            if abs(earlier * value - 1) > _AHP_TOL:
                msg = (
                    f"{where}: the matrix is not reciprocal: value {text!r} here, but "
                    f"({c!r}, {r!r}) = {earlier:g} on an earlier line, and a_ij x a_ji must "
                    "be 1; keep one line per pair (the reciprocal is filled in)"
                )
            else:
                msg = f"{where}: this pair is given twice; keep one line per pair"
            raise InputError(msg)
        seen.add(pair)
        a.loc[r, c] = value
        a.loc[c, r] = 1 / value
    missing = [
        (valid[i], valid[j])
        for i in range(len(valid))
        for j in range(i + 1, len(valid))
        if frozenset((valid[i], valid[j])) not in seen
    ]
    if missing:
        msg = (
            f"{path}: group {group!r} has no comparison for pair(s) {missing}; add one "
            "line per pair"
        )
        raise InputError(msg)
    return a
