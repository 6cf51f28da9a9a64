"""CSV input tables: each declared once by a :class:`TableSchema`, read and checked by it.

Every table a scenario names goes through :func:`read_rows` (rows as they are) or
:func:`read_table` (indexed by an id column), and both require the table's schema
(:mod:`urlink.io.schemas` declares one per input), so a new input cannot skip the checks:
the file is size-checked, ids are read as text (so ``"331003"`` stays a code, not a
number), blank and duplicate ids are errors naming the file and the line, a table with a
header and no rows is refused, every declared column must be there, numbers must be finite
and in their range (the message names the file, column, unit, row or id, value and fix), and
text cells are checked for markup (they end up in HTML pages).
"""

from __future__ import annotations

import logging
import math
import warnings
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from urlink.errors import InputError
from urlink.validate import MAX_ZONE_POPULATION, check_file_size, check_no_markup

__all__ = [
    "AHP_JUDGMENTS",
    "ATTRACTION",
    "BUS_LINES",
    "CAPITAL_TRANSFERS",
    "ECOSYSTEM_PHASES",
    "ECOSYSTEM_SOURCES",
    "GOODS_MARKETS",
    "GOODS_SUPPLY_WEIGHTS",
    "MAX_NUMBER",
    "POPULATION",
    "SCHEMAS",
    "SERVICES",
    "TOWNSHIP_REFERENCES",
    "TOWNSHIP_UNITS",
    "WEIGHT_POINTS",
    "Column",
    "TableSchema",
    "check_table",
    "numeric_column",
    "read_population_table",
    "read_rows",
    "read_table",
    "table_is_empty",
]

logger = logging.getLogger(__name__)

Dtype = Literal["text", "number", "ratio"]

MAX_NUMBER = 1e15
"""Largest number any input table may hold unless its column says otherwise: more than any
quantity urlink models (persons, tonnes, m3 or yuan per day), small enough that sums and
products of such numbers stay finite."""


@dataclass(frozen=True, slots=True)
class Column:
    """One column of an input table: its type, unit and allowed values.

    Attributes
    ----------
    name
        Header of the column.
    dtype
        ``"text"`` (read as text, checked for markup), ``"number"`` (finite, in range) or
        ``"ratio"`` (a number or a fraction such as ``1/3``; finite, in range).
    unit
        Unit of a number, shown in messages (``"persons"``, ``"m3/day"``).
    required
        The column must be in the header.
    blank
        Empty cells are allowed (else every row needs a value).
    minimum, maximum
        Allowed range of a number (inclusive); ``positive`` excludes 0.
    positive
        A number must be > 0.
    unique
        No two rows may hold the same value.
    fix
        How to fix a bad cell, ending its message (default: ``"fix these cells"``).
    """

    name: str
    dtype: Dtype = "number"
    unit: str = ""
    required: bool = True
    blank: bool = False
    minimum: float | None = 0.0
    maximum: float | None = MAX_NUMBER
    positive: bool = False
    unique: bool = False
    fix: str = "fix these cells"

    def need(self) -> str:
        """Say what a cell of this column must hold (for messages).

        Returns
        -------
        str

        Examples
        --------
        >>> Column("population", positive=True, maximum=2e9).need()
        'a finite number > 0 and <= 2e+09'
        """
        if self.dtype == "text":
            return "plain text"
        parts = ["a finite number" + (" or fraction a/b" if self.dtype == "ratio" else "")]
        if self.positive:
            parts.append("> 0")
        elif self.minimum is not None:
            parts.append(f">= {self.minimum:g}")
        if self.maximum is not None:
            parts.append(f"{'and ' if len(parts) > 1 else ''}<= {self.maximum:g}")
        return " ".join(parts)


@dataclass(frozen=True, slots=True)
class TableSchema:
    """An input table declared once: what it is, its id column and its columns.

    Attributes
    ----------
    what
        Name of the table in messages (``"population table"``).
    columns
        The checked columns (others are allowed and read as they are).
    id_col
        Column of unique, non-empty ids (read as text; the index of :func:`read_table`).
    min_rows
        Fewest data rows (1: a header-only table is an error).
    exact_header
        No other columns than the declared ones (a form with a fixed header, where another
        column is a typo).
    row_label
        Columns that name a row in messages besides its line (``("group", "indicator")``).
    unique_rows
        Columns whose values together may not repeat (one row per group and indicator).

    Examples
    --------
    >>> schema = TableSchema("weights", (Column("weight", unit="-"),), id_col="zone_id")
    >>> [c.name for c in schema.columns]
    ['weight']
    """

    what: str
    columns: tuple[Column, ...]
    id_col: str | None = None
    min_rows: int = 1
    exact_header: bool = False
    row_label: tuple[str, ...] = ()
    unique_rows: tuple[str, ...] = ()

    def text_columns(self) -> tuple[str, ...]:
        """Columns read as text: the id column and the text columns.

        Returns
        -------
        tuple of str
        """
        ids = (self.id_col,) if self.id_col is not None else ()
        return ids + tuple(c.name for c in self.columns if c.dtype in ("text", "ratio"))

    def read_as_text(self) -> tuple[str, ...]:
        """Columns read from a file as text: every declared column and the id column.

        Number columns are converted by the checks, so an error quotes a bad cell as it is
        written (``1e400``, not the ``inf`` a parser would make of it).

        Returns
        -------
        tuple of str
        """
        ids = (self.id_col,) if self.id_col is not None else ()
        return ids + tuple(c.name for c in self.columns)


def _labels(df: pd.DataFrame, mask: np.ndarray, *, indexed: bool) -> list[str] | list[int]:
    """Row labels of ``mask``: ids for an indexed table, else line numbers (header = 1)."""
    if indexed:
        return [str(i) for i in df.index[mask]]
    return [int(i) + 2 for i in np.flatnonzero(mask)]


def _cell(value: object) -> str:
    if isinstance(value, float) and math.isnan(value):
        return ""
    return str(value)


def _float_or_nan(value: object) -> float:
    """Return ``value`` as a float, or NaN if it is not a number (or too large for one)."""
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return math.nan


def _ratio_or_nan(value: object) -> float:
    """Return a number or a fraction ``"a/b"`` as a float, or NaN if it is neither."""
    text = str(value).strip()
    if text.count("/") == 1:
        num, den = (_float_or_nan(part) for part in text.split("/"))
        return num / den if den != 0 else math.nan
    return _float_or_nan(text)


def _row_names(df: pd.DataFrame, mask: np.ndarray, columns: tuple[str, ...]) -> str:
    """Name the first row of ``mask`` by ``columns`` (``" (group 'g', indicator 'co2')"``)."""
    present = [c for c in columns if c in df.columns]
    if not present:
        return ""
    row = df[mask].iloc[0]
    return " (" + ", ".join(f"{c} {_cell(row[c])!r}" for c in present) + ")"


def _numbers(
    df: pd.DataFrame,
    col: Column,
    empty: np.ndarray,
    *,
    source: str,
    indexed: bool,
    row_label: tuple[str, ...] = (),
) -> pd.Series:
    """Return a number column as floats, or raise naming the bad cells."""
    raw = df[col.name]
    if col.dtype == "ratio":
        values = raw.map(_ratio_or_nan).astype(float)
    else:
        try:
            values = pd.to_numeric(raw, errors="coerce").astype(float)
        except OverflowError:  # an integer of hundreds of digits: not a float, a bad cell
            values = raw.map(_float_or_nan).astype(float)
    arr = values.to_numpy()
    with np.errstate(invalid="ignore"):
        bad = ~np.isfinite(arr)
        if col.positive:
            bad |= arr <= 0
        elif col.minimum is not None:
            bad |= arr < col.minimum
        if col.maximum is not None:
            bad |= arr > col.maximum
    if col.blank:
        bad &= ~empty
    if bad.any():
        label = "id" if indexed else "line"
        where = _labels(df, bad, indexed=indexed)[:10]
        cells = raw.to_numpy()[bad][:10]
        detail = {w: _cell(v) for w, v in zip(where, cells, strict=True)}
        unit = f" ({col.unit})" if col.unit else ""
        named = _row_names(df, bad, row_label)
        msg = (
            f"{source}, {label} {where[0]}{named}, column {col.name!r}{unit} must be "
            f"{col.need()}; bad rows ({label}: value): {detail}; {col.fix}"
        )
        raise InputError(msg)
    return values


def _check_header(df: pd.DataFrame, schema: TableSchema, *, source: str) -> None:
    """Every required column is there (and no other, for a form with an exact header)."""
    missing = [c.name for c in schema.columns if c.required and c.name not in df.columns]
    if schema.exact_header:
        names = [c.name for c in schema.columns]
        unknown = [c for c in df.columns if c not in names]
        if missing or unknown:
            optional = [c.name for c in schema.columns if not c.required]
            msg = (
                f"{source}: header has missing columns {missing} and unknown columns "
                f"{unknown}; the header must be {','.join(names)!r}"
                + (f" ({', '.join(optional)} optional)" if optional else "")
            )
            raise InputError(msg)
    if missing:
        msg = (
            f"{source}: missing column(s) {missing}; the columns are {list(df.columns)} "
            f"(needed: {[c.name for c in schema.columns if c.required]})"
        )
        raise InputError(msg)


def _check_unique_rows(
    df: pd.DataFrame, keys: tuple[str, ...], *, source: str, indexed: bool
) -> None:
    """No two rows share the values of ``keys`` (one row per group and indicator)."""
    twice = df.duplicated(list(keys), keep=False).to_numpy()
    if twice.any():
        pairs = sorted(
            {tuple(str(v) for v in row) for row in df.loc[twice, list(keys)].to_numpy()}
        )
        label = "id" if indexed else "line"
        lines = _labels(df, twice, indexed=indexed)
        msg = (
            f"{source}: rows repeated for {keys} {pairs[:10]} ({label}s {lines[:10]}); "
            "keep one row each"
        )
        raise InputError(msg)


def check_table(df: pd.DataFrame, schema: TableSchema, *, source: str) -> pd.DataFrame:
    """Check a table against its schema; return it with number columns as floats.

    Parameters
    ----------
    df
        The table (indexed by ``schema.id_col`` if it has one).
    schema
        Its declaration.
    source
        The table's name and file, for messages.

    Returns
    -------
    pandas.DataFrame
        ``df`` with every declared number column as float.

    Raises
    ------
    InputError
        Naming the file, column, unit, rows (ids or lines), values and the fix.

    Examples
    --------
    >>> schema = TableSchema("t", (Column("n", unit="persons", positive=True),))
    >>> check_table(pd.DataFrame({"n": ["5", "x"]}), schema, source="t 'a.csv'")
    Traceback (most recent call last):
    ...
    urlink.errors.InputError: t 'a.csv', line 3, column 'n' (persons) must be a finite ...
    """
    if len(df) < schema.min_rows:
        msg = (
            f"{source} has a header but no data rows; add at least {schema.min_rows} row(s), "
            "or, if the input is optional, leave it out of the scenario or set "
            "optional = true in the scenario section that names it (its indicators are "
            "then dropped)"
        )
        raise InputError(msg)
    indexed = schema.id_col is not None and df.index.name == schema.id_col
    label = "id" if indexed else "line"
    _check_header(df, schema, source=source)
    out = df.copy()
    for col in schema.columns:
        if col.name not in df.columns:
            continue
        raw = df[col.name]
        empty = raw.isna().to_numpy() | raw.astype(str).str.strip().eq("").to_numpy()
        if col.dtype == "text":
            if not col.blank and empty.any():
                rows = _labels(df, empty, indexed=indexed)[:10]
                msg = f"{source}: column {col.name!r} is empty on {label}(s) {rows}; fill them in"
                raise InputError(msg)
            check_no_markup(raw[~empty], source=source, column=col.name, row_label=label)
        else:
            out[col.name] = _numbers(
                df, col, empty, source=source, indexed=indexed, row_label=schema.row_label
            )
        if col.unique:
            dup = raw[raw.duplicated() & ~empty].astype(str).unique().tolist()
            if dup:
                msg = f"{source}: column {col.name!r} repeats {dup[:10]}; each row needs its own"
                raise InputError(msg)
    if schema.unique_rows:
        _check_unique_rows(df, schema.unique_rows, source=source, indexed=indexed)
    return out


def read_rows(path: str | Path, schema: TableSchema) -> pd.DataFrame:
    """Read a UTF-8 CSV table checked by its schema (no index, rows may repeat ids).

    Parameters
    ----------
    path
        CSV file (UTF-8, with or without byte-order mark).
    schema
        The table's declaration (:mod:`urlink.io.schemas`); its text columns are read as
        text (ids such as ``zone_id``), so that ``"007"`` stays ``"007"``.

    Returns
    -------
    pandas.DataFrame
        The rows, text columns stripped of blanks, number columns as floats.

    Raises
    ------
    InputError
        If the file is missing, empty, too large, or not UTF-8 CSV, or breaks its schema.
    """
    df = _read_csv(path, what=schema.what, str_columns=schema.read_as_text())
    return check_table(df, schema, source=f"{schema.what} {str(path)!r}")


def _read_csv(path: str | Path, *, what: str, str_columns: tuple[str, ...]) -> pd.DataFrame:
    """Read a CSV file with clear errors; ``str_columns`` as text (as written)."""
    p = Path(path)
    check_file_size(p, kind="table", what=what)
    try:
        with warnings.catch_warnings():
            # rows longer than the header would silently become an index: refuse them
            warnings.simplefilter("error", pd.errors.ParserWarning)
            # text columns by their names as written (a header may pad them with blanks)
            header = pd.read_csv(p, nrows=0, encoding="utf-8-sig", index_col=False).columns
            text = {c: str for c in header if str(c).strip() in str_columns}
            df = pd.read_csv(p, dtype=text, encoding="utf-8-sig", index_col=False)
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
    twice = sorted({c for c in df.columns if list(df.columns).count(c) > 1})
    if twice:
        msg = f"{what} {str(p)!r}: the header names {twice} more than once; rename or remove them"
        raise InputError(msg)
    for col in str_columns:
        if col in df.columns:
            df[col] = df[col].str.strip()
    return df


def table_is_empty(path: str | Path, schema: TableSchema) -> bool:
    r"""Say whether a table holds no data: a header and no rows, or every number empty.

    A table is empty when it has no data rows, or when every number column of its schema
    is empty (NaN) on every row; a table whose schema has no number column is empty when
    every cell is. Such a table is an error unless the scenario marks its input optional
    (``optional = true``), which is what this function is for: everything else about the
    file (size, encoding, header) is checked as by :func:`read_rows`.

    Parameters
    ----------
    path
        CSV file (UTF-8).
    schema
        The table's declaration.

    Returns
    -------
    bool

    Raises
    ------
    InputError
        If the file is missing, too large or not a readable UTF-8 CSV table.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "phases.csv"
    >>> _ = path.write_text("phase,m3_per_day,users\n1,,331002\n", encoding="utf-8")
    >>> table_is_empty(path, ECOSYSTEM_PHASES)
    True
    """
    df = _read_csv(path, what=schema.what, str_columns=schema.read_as_text())
    if df.empty:
        return True
    numbers = [c.name for c in schema.columns if c.dtype == "number" and c.name in df.columns]
    cells = df[numbers] if numbers else df
    blank = cells.isna() | cells.astype(str).apply(lambda col: col.str.strip().eq(""))
    return bool(blank.to_numpy().all())


def read_table(path: str | Path, schema: TableSchema) -> pd.DataFrame:
    """Read a CSV table indexed by its schema's ``id_col`` (as strings), checked by it.

    Parameters
    ----------
    path
        CSV file (UTF-8).
    schema
        The table's declaration (:mod:`urlink.io.schemas`), with an ``id_col``.

    Returns
    -------
    pandas.DataFrame
        The table indexed by id, number columns as floats.

    Raises
    ------
    InputError
        If the file is missing, empty, not UTF-8 CSV, lacks ``id_col``, has duplicate or
        missing ids, or breaks its schema.
    """
    p = Path(path)
    what, id_col = schema.what, schema.id_col
    if id_col is None:  # pragma: no cover - a programming error, not an input error
        msg = f"read_table needs a schema with an id_col, got {schema!r}"
        raise TypeError(msg)
    df = _read_csv(p, what=what, str_columns=schema.read_as_text())
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
    out = check_table(df.set_index(id_col), schema, source=f"{what} {str(p)!r}")
    out.attrs["source"] = str(p)
    return out


def numeric_column(
    df: pd.DataFrame,
    col: str,
    *,
    source: str,
    allow_zero: bool = True,
    maximum: float | None = None,
) -> pd.Series:
    """Return ``df[col]`` as floats, rejecting text, NaN, negative (or zero) and huge values.

    Parameters
    ----------
    df
        A table indexed by id.
    col
        The column.
    source
        The table's name and file, for messages.
    allow_zero
        Accept 0.
    maximum
        Largest value accepted.

    Returns
    -------
    pandas.Series
    """
    schema = TableSchema(
        "table", (Column(col, positive=not allow_zero, maximum=maximum),), min_rows=0
    )
    checked = check_table(df[[col]] if col in df.columns else df, schema, source=source)
    return checked[col].astype(float)


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
    schema = POPULATION if id_col == POPULATION.id_col else replace(POPULATION, id_col=id_col)
    df = read_table(path, schema)
    source = f"population table {str(path)!r}"
    pop = df["population"].astype(float)
    if "population_source" in df.columns:
        src = df["population_source"].fillna(f"table: {Path(path).name}").astype(str)
    else:
        src = pd.Series(f"table: {Path(path).name}", index=df.index)
    check_no_markup(src, source=source, column="population_source")
    out = pd.DataFrame({"population": pop, "population_source": src}, index=df.index)
    out.attrs["source"] = str(path)
    return out


# ------------------------------------------------------------ every input table, declared once

_PERSONS = Column("population", unit="persons", positive=True, maximum=MAX_ZONE_POPULATION)

POPULATION = TableSchema(
    "population table",
    (_PERSONS, Column("population_source", "text", required=False, blank=True)),
    id_col="zone_id",
)
"""``[population] counties`` and ``override``: residents per zone."""

TOWNSHIP_UNITS = TableSchema(
    "township unit table",
    tuple(
        Column(c, unit="units", maximum=100_000)
        for c in ("n_communities", "n_villages", "n_other")
    ),
    id_col="code",
)
"""``[population] township_units``: NBS counts of communities, villages and other units."""

TOWNSHIP_REFERENCES = TableSchema(
    "township references",
    (
        _PERSONS,
        Column(
            "district_total",
            unit="persons",
            positive=True,
            maximum=MAX_ZONE_POPULATION,
            blank=True,  # needed only on the rows used in the fit (use = "fit")
        ),
        Column("use", "text"),
    ),
    id_col="code",
)
"""``[population] township_references``: published township populations (to fit a weight)."""

SERVICES = TableSchema("services", (Column("zone_id", "text"), Column("service", "text")))
"""``[services] path``: one row per service (a hospital, a school) and its zone."""

GOODS_SUPPLY_WEIGHTS = TableSchema(
    "goods supply weights", (Column("weight", unit="share weight"),), id_col="zone_id"
)
"""``[flows.goods] supply_weights``: how the output is shared over zones."""

GOODS_MARKETS = TableSchema(
    "goods markets", (Column("demand_weight", unit="share weight"),), id_col="zone_id"
)
"""``[flows.goods] markets``: market zones and their demand weights."""

ECOSYSTEM_SOURCES = TableSchema("ecosystem sources", (), id_col="zone_id")
"""``[flows.ecosystem] sources``: the zones supplying the service (e.g. the catchment)."""

ECOSYSTEM_PHASES = TableSchema(
    "ecosystem phases",
    (Column("m3_per_day", unit="m3/day", positive=True), Column("users", "text")),
    id_col="phase",
)
"""``[flows.ecosystem] phases``: supply phases, their volume and the zones they serve."""

CAPITAL_TRANSFERS = TableSchema(
    "capital transfers",
    (
        Column("payer", "text"),
        Column("payee", "text"),
        Column("amount_yuan_per_year", unit="yuan/year", required=False, blank=True),
    ),
)
"""``[flows.capital] transfers``: declared transfers and investments."""

ATTRACTION = TableSchema(
    "attraction weights", (Column("weight", unit="weight"),), id_col="zone_id"
)
"""``[flows.people.purposes.<name>] attraction``: what draws trips of a purpose, per zone."""

BUS_LINES = TableSchema(
    "bus lines table",
    (
        Column("line", "text", unique=True),
        Column("stops", "text"),
        Column("source", "text"),
        Column("headway_min", unit="min", positive=True),
        Column("speed_factor", unit="bus/car speed", positive=True, maximum=1.0),
        Column("fare_yuan", unit="yuan"),
    ),
)
"""``[bus] lines``: bus lines as stop sequences with headway, speed factor and fare."""

WEIGHT_POINTS = TableSchema(
    "points form",
    (
        Column("group", "text"),
        Column("label", "text", required=False, blank=True),
        Column("indicator", "text"),
        Column(
            "points",
            unit="points",
            maximum=100.0,
            fix="give each indicator 0 to 100 of the group's 100 points (0 if it gives none)",
        ),
    ),
    exact_header=True,
    row_label=("group", "indicator"),
    unique_rows=("group", "indicator"),
)
"""``[scoring] weights``: the workshop's points form, one row per group and indicator
(:func:`urlink.scoring.weights_from_points` checks that each group's points add up to 100)."""

AHP_JUDGMENTS = TableSchema(
    "AHP form",
    (
        Column("group", "text"),
        Column("row", "text"),
        Column("col", "text"),
        Column(
            "value",
            "ratio",
            unit="Saaty scale",
            minimum=0.111,  # 1/9, also when written as 0.111
            maximum=9.0,
            fix="use Saaty's scale 1/9 .. 9 (a fraction such as 1/3 for the inverse)",
        ),
    ),
    exact_header=True,
    row_label=("group", "row", "col"),
)
"""``[scoring] ahp``: pairwise comparisons, one row per group and pair
(:func:`urlink.scoring.ahp_from_csv` checks reciprocity, missing pairs and consistency)."""

SCHEMAS: dict[str, TableSchema] = {
    s.what: s
    for s in (
        POPULATION,
        TOWNSHIP_UNITS,
        TOWNSHIP_REFERENCES,
        SERVICES,
        GOODS_SUPPLY_WEIGHTS,
        GOODS_MARKETS,
        ECOSYSTEM_SOURCES,
        ECOSYSTEM_PHASES,
        CAPITAL_TRANSFERS,
        ATTRACTION,
        BUS_LINES,
        WEIGHT_POINTS,
        AHP_JUDGMENTS,
    )
}
"""Every input table urlink reads, by name (docs/errors.md lists their checks)."""
