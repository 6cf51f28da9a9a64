"""Workshop weights: the 100-point forms per stakeholder group and pooled weights."""

from __future__ import annotations

import csv
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from urlink.errors import InputError
from urlink.io.tables import WEIGHT_POINTS, read_rows
from urlink.scoring.methods import _check_choice, _check_weights

logger = logging.getLogger(__name__)


POINTS_CSV_COLUMNS = ("group", "label", "indicator", "points")
"""Header of the points form; ``label`` is optional when reading."""

STAKEHOLDER_GROUPS: dict[str, str] = {
    "district_bureau": "区规划部门 District planning bureau",
    "township_gov": "乡镇（街道）政府 Township governments",
    "farmers_coop": "农民专业合作社 Farmers' cooperatives",
    "enterprises": "企业 Enterprises",
    "residents": "居民 Residents",
}
"""Default stakeholder groups of the Raumbild workshop: id -> label (Chinese and English)."""

_POINTS_TOTAL = 100.0
_POINTS_TOL = 1e-6


# ------------------------------------------------------------------ workshop weights


def weights_template(
    indicators: Sequence[str],
    groups: Sequence[str] | Mapping[str, str],
    path: str | Path,
    *,
    overwrite: bool = False,
) -> Path:
    """Write the blank points form that :func:`weights_from_points` reads.

    One row per group and indicator, in long format, with the header (exactly)::

        group,label,indicator,points

    ``points`` is left blank for the workshop to fill in: each group distributes 100
    points over the indicators (0 allowed). ``label`` only helps people read the form.
    The file is UTF-8 with a byte-order mark so that Excel shows the Chinese labels.

    Parameters
    ----------
    indicators
        Indicator names (the performance table's columns).
    groups
        Group ids (labels from :data:`STAKEHOLDER_GROUPS` where known), or a mapping
        id -> label.
    path
        CSV file to write.
    overwrite
        Replace an existing file (off by default so a filled-in form is never lost).

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    InputError
        If indicators or groups are empty or repeated, or the file exists and
        ``overwrite`` is false.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from urlink.scoring import weights_template
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "points.csv"
    >>> _ = weights_template(["access_pct", "co2_kt"], ["residents"], path)
    >>> print(path.read_text(encoding="utf-8-sig"), end="")
    group,label,indicator,points
    residents,居民 Residents,access_pct,
    residents,居民 Residents,co2_kt,
    """
    path = Path(path)
    labels = (
        dict(groups)
        if isinstance(groups, Mapping)
        else {g: STAKEHOLDER_GROUPS.get(g, "") for g in groups}
    )
    for argument, items in (("indicators", list(indicators)), ("groups", list(labels))):
        if (
            not items
            or len(set(items)) != len(items)
            or not all(isinstance(v, str) and v.strip() for v in items)
        ):
            msg = f"{argument}={items!r} must be a non-empty list of distinct non-blank names"
            raise InputError(msg)
    if path.exists() and not overwrite:
        msg = f"{path} already exists; pass overwrite=True or choose another path"
        raise InputError(msg)
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(POINTS_CSV_COLUMNS)
        for group, label in labels.items():
            for indicator in indicators:
                writer.writerow([group, label, indicator, ""])
    return path


def weights_from_points(
    path: str | Path, *, indicators: Sequence[str] | None = None
) -> pd.DataFrame:
    r"""Read the workshop's points form: each group's 100 points -> weights.

    The CSV is in long format, one row per group and indicator, with the header::

        group,label,indicator,points

    (``label`` may be left out). Every group must give a number of points (0 allowed) to
    every indicator, and its points must add up to 100 (within 1e-6). :func:`weights_template`
    writes a blank form.

    Parameters
    ----------
    path
        The filled-in form (UTF-8, with or without byte-order mark).
    indicators
        The valid indicator names, e.g. ``list(table.columns)``; the result's columns
        follow this order. If omitted, the indicators found in the file are used, in the
        order they first appear.

    Returns
    -------
    pandas.DataFrame
        Groups (index ``group``, in file order) x indicators (columns ``indicator``);
        each row sums to 1.

    Raises
    ------
    InputError
        Naming the file, line, group and indicator, if points are blank, text, negative,
        above 100 or infinite (the form's declaration :data:`urlink.io.tables.WEIGHT_POINTS`),
        if an indicator is unknown or missing for a group, if a row is repeated, or if a
        group's points do not add up to 100.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from urlink.scoring import weights_from_points
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "points.csv"
    >>> _ = path.write_text(
    ...     "group,indicator,points\n"
    ...     "residents,access_pct,60\nresidents,co2_kt,40\n"
    ...     "enterprises,access_pct,85\nenterprises,co2_kt,15\n",
    ...     encoding="utf-8",
    ... )
    >>> weights_from_points(path)  # doctest: +NORMALIZE_WHITESPACE
    indicator    access_pct  co2_kt
    group
    residents          0.60    0.40
    enterprises        0.85    0.15
    """
    path = Path(path)
    # the header, blank cells, markup, points (finite, 0 to 100) and repeated rows are
    # checked by the form's declaration, as for every input table
    long = read_rows(path, WEIGHT_POINTS)
    valid = _check_labels(long, path, ("group", "indicator"), ("indicator",), indicators)
    groups = list(dict.fromkeys(long["group"]))
    _check_point_totals(long, path, groups, valid)
    # duplicates are rejected above, so "sum" just picks each group's one value
    table = long.pivot_table(index="group", columns="indicator", values="points", aggfunc="sum")
    table = table.reindex(index=groups, columns=valid).astype(float)
    table = table.div(table.sum(axis=1), axis=0)
    table.index.name = "group"
    table.columns.name = "indicator"
    return table


def _check_labels(
    df: pd.DataFrame,
    path: Path,
    required: Sequence[str],
    indicator_columns: Sequence[str],
    indicators: Sequence[str] | None,
) -> list[str]:
    """Check for rows, blank ids and unknown indicators; return the valid indicators."""
    if df.empty:
        msg = f"{path}: the file has no rows below the header; fill in the form"
        raise InputError(msg)
    blank = sorted({int(i) + 2 for c in required for i in np.flatnonzero(df[c].fillna("").eq(""))})
    if blank:
        msg = f"{path}: line(s) {blank} have a blank {' or '.join(required)}; fill them in"
        raise InputError(msg)
    found = list(dict.fromkeys(v for c in indicator_columns for v in df[c]))
    valid = list(indicators) if indicators is not None else found
    unknown = [c for c in found if c not in valid]
    if unknown:
        msg = f"{path}: unknown indicator(s) {unknown}; the valid indicators are {valid}"
        raise InputError(msg)
    return valid


def _check_point_totals(
    long: pd.DataFrame, path: Path, groups: list[str], valid: list[str]
) -> None:
    """Every group rates every indicator, and its points add up to 100."""
    problems: list[str] = []
    for group in groups:
        have = set(long.loc[long["group"] == group, "indicator"])
        lacking = [c for c in valid if c not in have]
        if lacking:
            problems.append(
                f"group {group!r} has no row for indicator(s) {lacking}; add them "
                "(0 points if the group gives them none)"
            )
    totals = long.groupby("group", sort=False)["points"].sum()
    for name, total in totals.items():
        if abs(total - _POINTS_TOTAL) > _POINTS_TOL:
            problems.append(
                f"the points of group {name!r} add up to {total:g}, not 100; change them so "
                "that they add up to exactly 100"
            )
    if problems:
        msg = f"{path}: " + "; ".join(problems)
        raise InputError(msg)


def pooled_weights(group_weights: pd.DataFrame, *, how: Literal["mean"] = "mean") -> pd.Series:
    """Pool the groups' weights into one vector, as a summary only.

    ``how="mean"``: the arithmetic mean of the groups' (normalised) weight vectors. This is
    aggregation of individual *priorities* (AIP), right when groups act as separate
    individuals; aggregation of individual *judgments* (AIJ) instead takes the element-wise
    geometric mean of the groups' AHP matrices before deriving weights, right when a group
    acts as one unit (Forman & Peniwati 1998) [R97].

    urlink keeps stakeholder groups separate: averaging conflicting weights hides the
    conflict and has been called "theoretically impossible" (Chadwick 1971, in [R109]). Run
    :func:`smaa` per group (``around=group_weights.loc[g]``) and report the pooled ranking
    only beside the groups' own.

    Parameters
    ----------
    group_weights
        Groups x indicators, non-negative (each row is divided by its sum), e.g. from
        :func:`weights_from_points`.
    how
        Only ``"mean"``.

    Returns
    -------
    pandas.Series
        Pooled weight per indicator, named ``"pooled"``, summing to 1.

    Raises
    ------
    InputError
        If ``how`` is unknown, the frame is empty, or a row has negative, missing or only
        zero weights.

    Examples
    --------
    >>> import pandas as pd
    >>> from urlink.scoring import pooled_weights
    >>> gw = pd.DataFrame({"access": [0.6, 0.2], "co2": [0.4, 0.8]},
    ...                   index=["residents", "enterprises"])
    >>> pooled_weights(gw)
    access    0.4
    co2       0.6
    Name: pooled, dtype: float64
    """
    _check_choice(how, ("mean",), "how")
    if not isinstance(group_weights, pd.DataFrame) or group_weights.empty:
        msg = "group_weights must be a non-empty DataFrame of groups x indicators"
        raise InputError(msg)
    rows = [
        _check_weights(row, group_weights.columns, argument=f"group_weights row {g!r}")
        for g, row in group_weights.iterrows()
    ]
    pooled = np.mean(rows, axis=0)
    return pd.Series(pooled / pooled.sum(), index=group_weights.columns, name="pooled")
