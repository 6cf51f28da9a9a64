"""CSV input tables: read with their ids as text, numbers checked, markup refused.

Every table a scenario names goes through :func:`read_rows` (rows as they are) or
:func:`read_table` (indexed by an id column): the file is size-checked, ids are read as text
(so ``"331003"`` stays a code, not a number), blank and duplicate ids are errors naming the
file and the line, and text cells are checked for markup (they end up in HTML pages).
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from urlink.errors import InputError
from urlink.validate import check_file_size, check_no_markup

__all__ = ["numeric_column", "read_population_table", "read_rows", "read_table"]

logger = logging.getLogger(__name__)


def read_rows(
    path: str | Path, *, what: str = "table", str_columns: tuple[str, ...] = ()
) -> pd.DataFrame:
    """Read a UTF-8 CSV table with clear errors (no index, rows may repeat ids).

    Parameters
    ----------
    path
        CSV file (UTF-8, with or without byte-order mark).
    what
        What the table is, for messages.
    str_columns
        Columns read as text (ids such as ``zone_id``), so that ``"007"`` stays ``"007"``.

    Returns
    -------
    pandas.DataFrame
        The rows, with ``str_columns`` stripped of blanks.

    Raises
    ------
    InputError
        If the file is missing, empty, too large, or not UTF-8 CSV.
    """
    p = Path(path)
    check_file_size(p, kind="table", what=what)
    try:
        with warnings.catch_warnings():
            # rows longer than the header would silently become an index: refuse them
            warnings.simplefilter("error", pd.errors.ParserWarning)
            df = pd.read_csv(
                p, dtype=dict.fromkeys(str_columns, str), encoding="utf-8-sig", index_col=False
            )
    except pd.errors.ParserWarning:
        msg = (
            f"{what} {str(p)!r}: some rows have more fields than the header; quote values "
            "that contain commas, or fix the header"
        )
        raise InputError(msg) from None
    except pd.errors.EmptyDataError:
        msg = f"{what} {str(p)!r} is empty; it needs a header row and data rows"
        raise InputError(msg) from None
    except UnicodeDecodeError:
        msg = f"{what} {str(p)!r} is not UTF-8 text; save it as UTF-8 CSV"
        raise InputError(msg) from None
    except (pd.errors.ParserError, ValueError) as err:
        msg = f"{what} {str(p)!r} is not a readable CSV table ({err})"
        raise InputError(msg) from None
    df.columns = [str(c).strip() for c in df.columns]
    for col in str_columns:
        if col in df.columns:
            df[col] = df[col].str.strip()
    return df


def read_table(path: str | Path, *, id_col: str, what: str = "table") -> pd.DataFrame:
    """Read a CSV table indexed by ``id_col`` (as strings) with clear errors.

    Parameters
    ----------
    path
        CSV file (UTF-8).
    id_col
        Column with unique ids; becomes the index.
    what
        What the table is, for messages.

    Returns
    -------
    pandas.DataFrame
        The table indexed by id.

    Raises
    ------
    InputError
        If the file is missing, empty, not UTF-8 CSV, lacks ``id_col`` or has duplicate or
        missing ids.
    """
    p = Path(path)
    df = read_rows(p, what=what, str_columns=(id_col,))
    if id_col not in df.columns:
        msg = f"{what} {str(p)!r}: no column {id_col!r}; columns are {list(df.columns)}"
        raise InputError(msg)
    missing = df[id_col].isna()
    if missing.any():
        rows = (np.flatnonzero(missing.to_numpy()) + 2).tolist()[:10]
        msg = f"{what} {str(p)!r}: column {id_col!r} is empty on line(s) {rows}"
        raise InputError(msg)
    dup = df.loc[df[id_col].duplicated(), id_col].unique().tolist()
    if dup:
        msg = f"{what} {str(p)!r}: duplicate ids in column {id_col!r}: {dup[:10]}"
        raise InputError(msg)
    out = df.set_index(id_col)
    out.attrs["source"] = str(p)
    return out


def numeric_column(
    df: pd.DataFrame, col: str, *, source: str, allow_zero: bool = True
) -> pd.Series:
    """Return ``df[col]`` as floats, rejecting text, NaN and negative (or zero) values."""
    if col not in df.columns:
        msg = f"{source}: no column {col!r}; columns are {list(df.columns)}"
        raise InputError(msg)
    values = pd.to_numeric(df[col], errors="coerce")
    bad = ~np.isfinite(values) | (values < 0) | (~allow_zero & (values == 0))
    if bad.any():
        detail = {str(i): str(df.loc[i, col]) for i in df.index[bad.to_numpy()][:10]}
        need = "a finite positive number" if not allow_zero else "a finite number >= 0"
        msg = f"{source}: column {col!r} must be {need}; bad rows (id: value): {detail}"
        raise InputError(msg)
    return values.astype(float)


def read_population_table(path: str | Path, *, id_col: str = "zone_id") -> pd.DataFrame:
    """Read a population table with columns ``zone_id``, ``population``, ``population_source``.

    Parameters
    ----------
    path
        CSV with one row per zone. ``population_source`` is optional; missing sources are
        filled with ``"table: <file name>"``.
    id_col
        Column with zone ids.

    Returns
    -------
    pandas.DataFrame
        ``population`` (float, > 0) and ``population_source`` (str), indexed by zone id.

    Raises
    ------
    InputError
        If a population is missing, not a number, zero or negative (the message names the
        rows).

    Examples
    --------
    >>> t = read_population_table("data/tables/county_population_2020.csv")
    >>> int(t.loc["331003", "population"])
    707500
    """
    df = read_table(path, id_col=id_col, what="population table")
    source = f"population table {str(path)!r}"
    pop = numeric_column(df, "population", source=source, allow_zero=False)
    if "population_source" in df.columns:
        src = df["population_source"].fillna(f"table: {Path(path).name}").astype(str)
    else:
        src = pd.Series(f"table: {Path(path).name}", index=df.index)
    check_no_markup(src, source=source, column="population_source")
    out = pd.DataFrame({"population": pop, "population_source": src}, index=df.index)
    out.attrs["source"] = str(path)
    return out
