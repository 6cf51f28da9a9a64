"""Shared results in PostGIS: run outputs in database tables, and PostGIS tables as inputs.

A planning team shares one PostgreSQL + PostGIS database. ``urlink run SCENARIO --db URL``
stores the finished run (the files of its output folder) in tables of one schema
(default ``urlink``), every row keyed by ``run_id``; the run's manifest goes to the ``runs``
table. Everything of a run is written in one transaction: a run that fails, in the model or
while writing, leaves no rows behind. :func:`runs_from_db` lists the stored runs and
:func:`compare_runs` compares the indicators of two of them.

Tables of the results schema (created when absent; columns are added when a newer urlink
writes more):

``runs``
    ``run_id`` (identity), ``scenario``, ``title``, ``created_utc``, ``started_utc``,
    ``urlink_version``, ``seed``, ``scenario_file``, ``output_dir``, ``network_source``,
    ``n_zones``, ``n_flows``, ``n_indicators``, ``n_strategies`` and the whole
    ``manifest`` (jsonb: input SHA-256 digests, parameters, versions).
``zones``, ``flows``, ``network``
    The layers of ``linkages.gpkg`` with a ``geom`` column of type
    ``geometry(MultiPolygon, 4326)`` (zones) or ``geometry(LineString, 4326)`` (flows,
    network) and a spatial (GiST) index. All results share EPSG:4326 so runs of study areas
    in different UTM zones fit one column; QGIS reprojects on the fly.
``indicators``, ``attribution``, ``guidelines``, ``scores``, ``robustness``
    The CSV files of the same names.
``zones_latest``, ``flows_latest``, ``network_latest``
    Views with the rows of the newest run of every scenario.

Every results table has a primary key ``fid`` (what QGIS needs to edit or select features)
and ``run_id``, a foreign key to ``runs`` (``DELETE FROM urlink.runs WHERE run_id = 7``
removes a run's rows everywhere).

Scenario inputs may be PostGIS tables too (:mod:`urlink.io.postgis`).

Credentials come from the URL or libpq's environment (``PGHOST``, ``PGUSER``,
``PGPASSWORD``, ``PGSERVICE``, ``~/.pgpass`` ...); urlink never prints or logs a password
(:func:`redact_dsn`). Schema and table names must match ``[a-z_][a-z0-9_]*`` and are quoted
as identifiers; every value (run ids, scenario names, titles) is a bound parameter.
"""

from __future__ import annotations

import json
import logging
import math
import re
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

import geopandas as gpd
import pandas as pd
import shapely

from urlink.errors import InputError, UrlinkError
from urlink.io.postgis import (
    DEFAULT_SCHEMA,
    SRID,
    _refusals_as_input_errors,
    check_identifier,
    connect,
    redact_dsn,
)
from urlink.scoring.indicators import INDICATORS

if TYPE_CHECKING:
    from pathlib import Path

    import psycopg

P = ParamSpec("P")
R = TypeVar("R")

__all__ = [
    "DEFAULT_SCHEMA",
    "GEOMETRY_TYPES",
    "RUN_TABLES",
    "SRID",
    "compare_runs",
    "parse_run_id",
    "read_run_table",
    "results_from_dir",
    "runs_from_db",
    "write_run",
]

logger = logging.getLogger(__name__)


GEOMETRY_TYPES = {"zones": "MultiPolygon", "flows": "LineString", "network": "LineString"}
"""Declared geometry type of the spatial results tables."""

RUN_TABLES = (
    "zones",
    "flows",
    "network",
    "indicators",
    "attribution",
    "guidelines",
    "scores",
    "robustness",
)
"""Results tables written for every run (besides ``runs``), in writing order."""


# Columns of the CSV outputs that hold codes or names, never numbers (e.g. "331003", "11.a").
_TEXT_COLUMNS = frozenset(
    {
        "strategy",
        "scope",
        "level",
        "unit",
        "unit_name",
        "indicator",
        "unit_of_measure",
        "direction",
        "sdg",
        "group",
        "method",
        "weights",
        "role",
        "action",
        "gains",
        "costs",
        "crosses",
    }
)


# --- connection strings -------------------------------------------------------------------


# --- PostGIS tables as scenario inputs ---------------------------------------------------------


# --- run results -------------------------------------------------------------------------


def _read_csv(path: Path) -> pd.DataFrame | None:
    if not path.is_file() or path.stat().st_size <= 3:  # absent, or an empty frame ('""')
        return None
    header = pd.read_csv(path, nrows=0).columns
    text = {c: str for c in header if c in _TEXT_COLUMNS}
    return pd.read_csv(path, dtype=text, keep_default_na=True)


def results_from_dir(out_dir: Path) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    """Read the tables and the manifest of a finished run's output folder.

    Parameters
    ----------
    out_dir
        Output folder of ``urlink run``.

    Returns
    -------
    tables : dict
        Table name (:data:`RUN_TABLES`) to frame; the layers of ``linkages.gpkg`` as
        GeoDataFrames in EPSG:4326. Tables a run did not write (no strategies, no scoring)
        are left out.
    manifest : dict
        The parsed ``manifest.json``.

    Raises
    ------
    InputError
        If the folder is not a run's output folder.
    """
    manifest_path = out_dir / "manifest.json"
    gpkg = out_dir / "linkages.gpkg"
    if not manifest_path.is_file() or not gpkg.is_file():
        msg = f"{out_dir} is not an urlink output folder (no manifest.json or linkages.gpkg)"
        raise InputError(msg)
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    tables: dict[str, pd.DataFrame] = {}
    for layer in GEOMETRY_TYPES:
        gdf = gpd.read_file(gpkg, layer=layer)
        tables[layer] = gdf.to_crs(f"EPSG:{SRID}") if gdf.crs is not None else gdf
    for name in RUN_TABLES:
        if name not in GEOMETRY_TYPES:
            frame = _read_csv(out_dir / f"{name}.csv")
            if frame is not None:
                tables[name] = frame
    return tables, manifest


def _sql_type(series: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(series):
        return "boolean"
    if pd.api.types.is_integer_dtype(series):
        return "bigint"
    if pd.api.types.is_float_dtype(series):
        return "double precision"
    return "text"


def _python_values(series: pd.Series) -> list[Any]:
    out: list[Any] = []
    for v in series.tolist():
        if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
            out.append(None)
        elif hasattr(v, "item"):  # a numpy scalar
            out.append(v.item())
        else:
            out.append(v)
    return out


def _ewkb_hex(frame: gpd.GeoDataFrame, geometry_type: str) -> list[str | None]:

    geoms = frame.geometry.to_numpy()
    if geometry_type == "MultiPolygon":
        geoms = [
            shapely.MultiPolygon([g]) if g is not None and g.geom_type == "Polygon" else g
            for g in geoms
        ]
    wrong = {g.geom_type for g in geoms if g is not None and g.geom_type != geometry_type}
    if wrong:
        msg = f"cannot store {sorted(wrong)} geometries in a {geometry_type} column"
        raise UrlinkError(msg)
    with_srid = shapely.set_srid(geoms, SRID)
    return [
        None if h is None else str(h)
        for h in shapely.to_wkb(with_srid, hex=True, include_srid=True).tolist()
    ]


def _relation_exists(cur: psycopg.Cursor[Any], schema: str, name: str) -> bool:
    cur.execute(
        "SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relname = %s",
        (schema, name),
    )
    return cur.fetchone() is not None


def _create_runs_table(cur: psycopg.Cursor[Any], schema: str) -> None:
    """Create the schema and ``runs`` when absent (no DDL at all when they exist)."""
    from psycopg import sql  # noqa: PLC0415 - optional dependency, imported on use

    cur.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,))
    if cur.fetchone() is None:
        cur.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    if _relation_exists(cur, schema, "runs"):
        return
    cur.execute(
        sql.SQL(
            "CREATE TABLE {} ("
            "run_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, "
            "scenario text NOT NULL, title text, "
            "created_utc timestamptz NOT NULL DEFAULT now(), started_utc timestamptz, "
            "urlink_version text, seed bigint, scenario_file text, output_dir text, "
            "network_source text, n_zones integer, n_flows integer, n_indicators integer, "
            "n_strategies integer, manifest jsonb NOT NULL)"
        ).format(sql.Identifier(schema, "runs"))
    )


def _create_results_table(
    cur: psycopg.Cursor[Any], schema: str, name: str, frame: pd.DataFrame
) -> bool:
    """Create table ``name`` if absent and add missing columns; return whether DDL ran.

    When the table already has every column nothing is altered, so a role that may only
    insert rows can store runs.
    """
    from psycopg import sql  # noqa: PLC0415 - optional dependency, imported on use

    table = sql.Identifier(schema, name)
    changed = False
    if not _relation_exists(cur, schema, name):
        cur.execute(
            sql.SQL(
                "CREATE TABLE {t} (fid bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, "
                "run_id bigint NOT NULL REFERENCES {runs} (run_id) ON DELETE CASCADE)"
            ).format(t=table, runs=sql.Identifier(schema, "runs"))
        )
        cur.execute(
            sql.SQL("CREATE INDEX {i} ON {t} (run_id)").format(
                i=sql.Identifier(f"{name}_run_id_idx"), t=table
            )
        )
        changed = True
    cur.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = %s "
        "AND table_name = %s",
        (schema, name),
    )
    existing = {str(r[0]) for r in cur.fetchall()}
    for col in frame.columns:
        if col == "geometry" or col in existing:
            continue
        check_identifier(str(col), what=f"column of {name}")
        cur.execute(
            sql.SQL("ALTER TABLE {t} ADD COLUMN {c} {k}").format(
                t=table, c=sql.Identifier(str(col)), k=sql.SQL(_sql_type(frame[col]))
            )
        )
        changed = True
    if name in GEOMETRY_TYPES and "geom" not in existing:
        cur.execute(
            sql.SQL("ALTER TABLE {t} ADD COLUMN geom geometry({k}, {s})").format(
                t=table, k=sql.SQL(GEOMETRY_TYPES[name]), s=sql.Literal(SRID)
            )
        )
        cur.execute(
            sql.SQL("CREATE INDEX {i} ON {t} USING gist (geom)").format(
                i=sql.Identifier(f"{name}_geom_idx"), t=table
            )
        )
        changed = True
    return changed


def _create_latest_view(cur: psycopg.Cursor[Any], schema: str, name: str) -> None:
    """Create the view ``<name>_latest``: rows of the newest run of every scenario (QGIS)."""
    from psycopg import sql  # noqa: PLC0415 - optional dependency, imported on use

    cur.execute(
        sql.SQL(
            "CREATE OR REPLACE VIEW {v} AS SELECT t.* FROM {t} AS t JOIN (SELECT max(run_id) "
            "AS run_id FROM {runs} GROUP BY scenario) AS latest USING (run_id)"
        ).format(
            v=sql.Identifier(schema, f"{name}_latest"),
            t=sql.Identifier(schema, name),
            runs=sql.Identifier(schema, "runs"),
        )
    )


def _copy_rows(
    cur: psycopg.Cursor[Any], schema: str, name: str, frame: pd.DataFrame, run_id: int
) -> int:
    """Append the rows of ``frame`` to table ``name`` with COPY; return the row count."""
    from psycopg import sql  # noqa: PLC0415 - optional dependency, imported on use

    columns = [str(c) for c in frame.columns if c != "geometry"]
    values = [_python_values(frame[c]) for c in columns]
    target = ["run_id", *columns]
    if name in GEOMETRY_TYPES:
        values.append(_ewkb_hex(frame, GEOMETRY_TYPES[name]))  # type: ignore[arg-type]
        target.append("geom")
    statement = sql.SQL("COPY {t} ({c}) FROM STDIN").format(
        t=sql.Identifier(schema, name), c=sql.SQL(", ").join(map(sql.Identifier, target))
    )
    with cur.copy(statement) as copy:
        for row in zip(*values, strict=True):
            copy.write_row((run_id, *row))
    return len(frame)


@_refusals_as_input_errors
def write_run(
    dsn: str,
    out_dir: Path,
    *,
    schema: str = DEFAULT_SCHEMA,
) -> int:
    """Store a finished run's output folder in the database, in one transaction.

    Parameters
    ----------
    dsn
        Connection string of a database with PostGIS.
    out_dir
        Output folder of ``urlink run`` (``manifest.json``, ``linkages.gpkg``, CSV files).
    schema
        Results schema; created with its tables when absent.

    Returns
    -------
    int
        The new ``run_id``.

    Raises
    ------
    InputError
        On a bad schema name, an unreachable database or a folder that is not a run's.
        Nothing is stored when anything fails.
    """
    from psycopg import sql  # noqa: PLC0415 - optional dependency, imported on use
    from psycopg.types.json import Jsonb  # noqa: PLC0415 - optional dependency, imported on use

    check_identifier(schema, what="--db-schema")
    tables, manifest = results_from_dir(out_dir)
    summary = manifest.get("summary", {})
    indicators = tables.get("indicators")
    strategies = (
        0 if indicators is None else int(indicators["strategy"].nunique()) - 1  # not baseline
    )
    logger.info("storing run of %s in %s", manifest.get("scenario"), redact_dsn(dsn))
    with connect(dsn) as con, con.cursor() as cur:
        # one writer per schema at a time, so two runs never race to create the same table
        cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"urlink.store.runs:{schema}",))
        _create_runs_table(cur, schema)
        cur.execute(
            sql.SQL(
                "INSERT INTO {t} (scenario, title, started_utc, urlink_version, seed, "
                "scenario_file, output_dir, network_source, n_zones, n_flows, n_indicators, "
                "n_strategies, manifest) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, "
                "%s, %s) RETURNING run_id"
            ).format(t=sql.Identifier(schema, "runs")),
            (
                str(manifest.get("scenario", "")),
                manifest.get("title"),
                manifest.get("started_utc"),
                manifest.get("versions", {}).get("urlink"),
                manifest.get("seed"),
                manifest.get("scenario_file"),
                str(out_dir.resolve()),
                summary.get("network_source"),
                len(tables["zones"]),
                len(tables["flows"]),
                0 if indicators is None else len(indicators),
                max(strategies, 0),
                Jsonb(manifest),
            ),
        )
        row = cur.fetchone()
        assert row is not None
        run_id = int(row[0])
        for name in RUN_TABLES:
            if name in tables:
                altered = _create_results_table(cur, schema, name, tables[name])
                n = _copy_rows(cur, schema, name, tables[name], run_id)
                logger.debug("run %d: %d rows in %s.%s", run_id, n, schema, name)
                view = f"{name}_latest"
                if name in GEOMETRY_TYPES and (altered or not _relation_exists(cur, schema, view)):
                    _create_latest_view(cur, schema, name)
    logger.info("stored run %d", run_id)
    return run_id


# --- reading runs back ---------------------------------------------------------------------


def _check_run_ids(con: psycopg.Connection[Any], schema: str, run_ids: list[int]) -> None:
    from psycopg import sql  # noqa: PLC0415 - optional dependency, imported on use

    exists = con.execute("SELECT to_regclass(%s) IS NOT NULL", (f'"{schema}"."runs"',)).fetchone()
    if not exists or not exists[0]:
        msg = (
            f"no urlink runs in schema {schema!r} of this database; store one with urlink run --db"
        )
        raise InputError(msg)
    found = {
        int(r[0])
        for r in con.execute(
            sql.SQL("SELECT run_id FROM {t} WHERE run_id = ANY (%s)").format(
                t=sql.Identifier(schema, "runs")
            ),
            (run_ids,),
        ).fetchall()
    }
    missing = [r for r in run_ids if r not in found]
    if missing:
        msg = (
            f"run id {missing[0]} is not in {schema}.runs; list the stored runs with "
            "urlink runs --db URL"
        )
        raise InputError(msg)


def parse_run_id(text: str) -> int:
    """Turn a run id given on the command line into an int.

    Parameters
    ----------
    text
        The id as typed.

    Returns
    -------
    int
        The id.

    Raises
    ------
    InputError
        If ``text`` is not a positive whole number.

    Examples
    --------
    >>> parse_run_id("12")
    12
    """
    if not re.fullmatch(r"[0-9]{1,18}", text.strip()) or int(text) < 1:
        msg = f"run id {text!r} is not a run id (a positive whole number from urlink runs)"
        raise InputError(msg)
    return int(text)


@_refusals_as_input_errors
def runs_from_db(dsn: str, *, schema: str = DEFAULT_SCHEMA) -> pd.DataFrame:
    """List the stored runs, oldest first.

    Parameters
    ----------
    dsn
        Connection string.
    schema
        Results schema.

    Returns
    -------
    pandas.DataFrame
        ``run_id``, ``scenario``, ``created_utc``, ``urlink_version``, ``n_zones``,
        ``n_flows``, ``n_indicators``, ``n_strategies`` (empty if no run is stored).
    """
    from psycopg import sql  # noqa: PLC0415 - optional dependency, imported on use

    check_identifier(schema, what="--db-schema")
    columns = [
        "run_id",
        "scenario",
        "created_utc",
        "urlink_version",
        "n_zones",
        "n_flows",
        "n_indicators",
        "n_strategies",
    ]
    with connect(dsn) as con:
        exists = con.execute(
            "SELECT to_regclass(%s) IS NOT NULL", (f'"{schema}"."runs"',)
        ).fetchone()
        if not exists or not exists[0]:
            return pd.DataFrame(columns=columns)
        rows = con.execute(
            sql.SQL("SELECT {c} FROM {t} ORDER BY run_id").format(
                c=sql.SQL(", ").join(map(sql.Identifier, columns)),
                t=sql.Identifier(schema, "runs"),
            )
        ).fetchall()
    runs = pd.DataFrame(rows, columns=columns)
    runs["created_utc"] = pd.to_datetime(runs["created_utc"], utc=True)
    return runs


@_refusals_as_input_errors
def read_run_table(
    dsn: str, run_id: int, table: str, *, schema: str = DEFAULT_SCHEMA
) -> pd.DataFrame:
    """Read one results table of a run (without the ``fid`` and ``run_id`` columns).

    Parameters
    ----------
    dsn
        Connection string.
    run_id
        The run.
    table
        One of :data:`RUN_TABLES`.
    schema
        Results schema.

    Returns
    -------
    pandas.DataFrame
        The rows in stored order; for ``zones``, ``flows`` and ``network`` a
        GeoDataFrame in EPSG:4326 with a ``geometry`` column.

    Raises
    ------
    InputError
        On an unknown table or run id.
    """
    from psycopg import sql  # noqa: PLC0415 - optional dependency, imported on use

    if table not in RUN_TABLES:
        msg = f"table {table!r} is not an urlink results table; use one of {list(RUN_TABLES)}"
        raise InputError(msg)
    check_identifier(schema, what="--db-schema")
    with connect(dsn) as con:
        _check_run_ids(con, schema, [run_id])
        spatial = table in GEOMETRY_TYPES
        extra = sql.SQL(", ST_AsBinary(geom) AS __urlink_wkb") if spatial else sql.SQL("")
        cur = con.execute(
            sql.SQL("SELECT *{x} FROM {t} WHERE run_id = %s ORDER BY fid").format(
                x=extra, t=sql.Identifier(schema, table)
            ),
            (run_id,),
        )
        columns = [d.name for d in (cur.description or [])]
        frame = pd.DataFrame(cur.fetchall(), columns=columns).drop(columns=["fid", "run_id"])
    if not spatial:
        return frame
    wkb = frame.pop("__urlink_wkb").tolist()
    frame = frame.drop(columns="geom")
    geometry = shapely.from_wkb([None if b is None else bytes(b) for b in wkb])
    layer: pd.DataFrame = gpd.GeoDataFrame(frame, geometry=geometry, crs=f"EPSG:{SRID}")
    return layer


@_refusals_as_input_errors
def compare_runs(
    dsn: str,
    run_a: int,
    run_b: int,
    *,
    strategy: str = "baseline",
    schema: str = DEFAULT_SCHEMA,
) -> pd.DataFrame:
    """Compare the district indicators of two runs for one strategy.

    Parameters
    ----------
    dsn
        Connection string.
    run_a, run_b
        The runs (``run_b`` is compared against ``run_a``).
    strategy
        Strategy whose indicators are compared (``baseline``: the status quo of each run).
    schema
        Results schema.

    Returns
    -------
    pandas.DataFrame
        ``indicator``, ``unit``, ``run_a``, ``run_b``, ``difference`` (b - a) and
        ``change``: ``better`` / ``worse`` by the indicator's direction
        (:data:`urlink.scoring.indicators.INDICATORS`), ``same``, or ``n/a`` when a value is
        missing.
        Indicators of either run, in the order of ``run_a``.

    Raises
    ------
    InputError
        On an unknown run id, or a strategy neither run has.
    """
    from psycopg import sql  # noqa: PLC0415 - optional dependency, imported on use

    check_identifier(schema, what="--db-schema")
    with connect(dsn) as con:
        _check_run_ids(con, schema, [run_a, run_b])
        exists = con.execute(
            "SELECT to_regclass(%s) IS NOT NULL", (f'"{schema}"."indicators"',)
        ).fetchone()
        rows = []
        if exists and exists[0]:
            rows = con.execute(
                sql.SQL(
                    "SELECT run_id, indicator, unit_of_measure, value FROM {t} WHERE run_id = "
                    "ANY (%s) AND strategy = %s AND scope = 'district' ORDER BY fid"
                ).format(t=sql.Identifier(schema, "indicators")),
                ([run_a, run_b], strategy),
            ).fetchall()
    if not rows:
        msg = (
            f"runs {run_a} and {run_b} have no district indicators for strategy {strategy!r}; "
            "use a strategy of the runs (default: baseline)"
        )
        raise InputError(msg)
    frame = pd.DataFrame(rows, columns=["run_id", "indicator", "unit", "value"])
    frame["value"] = frame["value"].astype(float)
    wide = frame.pivot_table(
        index="indicator", columns="run_id", values="value", aggfunc="first", dropna=False
    )
    order = list(
        dict.fromkeys(
            [*frame.loc[frame["run_id"] == run_a, "indicator"], *frame["indicator"].tolist()]
        )
    )
    units = frame.drop_duplicates("indicator").set_index("indicator")["unit"]
    a = wide[run_a].reindex(order) if run_a in wide.columns else pd.Series(math.nan, index=order)
    b = wide[run_b].reindex(order) if run_b in wide.columns else pd.Series(math.nan, index=order)
    out = pd.DataFrame(
        {
            "indicator": order,
            "unit": units.reindex(order).to_numpy(),
            "run_a": a.to_numpy(dtype=float),
            "run_b": b.to_numpy(dtype=float),
        }
    )
    out["difference"] = out["run_b"] - out["run_a"]

    def change(row: pd.Series) -> str:
        d = row["difference"]
        if pd.isna(d):
            return "n/a"
        if d == 0:
            return "same"
        definition = INDICATORS.get(str(row["indicator"]))
        if definition is None:
            return "n/a"
        up = definition.direction == "max"
        return "better" if (d > 0) == up else "worse"

    out["change"] = out.apply(change, axis=1)
    return out
