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

Scenario inputs may be PostGIS tables too: ``path = "postgresql://host/db"`` with
``table = "schema.table"`` in ``[boundaries]``, ``[townships]`` or ``[settlements]``
(:func:`read_postgis_layer`).

Credentials come from the URL or libpq's environment (``PGHOST``, ``PGUSER``,
``PGPASSWORD``, ``PGSERVICE``, ``~/.pgpass`` ...); urlink never prints or logs a password
(:func:`redact_dsn`). Schema and table names must match ``[a-z_][a-z0-9_]*`` and are quoted
as identifiers; every value (run ids, scenario names, titles) is a bound parameter.
"""

from __future__ import annotations

import functools
import logging
import math
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

import pandas as pd

from urlink.errors import InputError, UrlinkError

if TYPE_CHECKING:
    from collections.abc import Callable

    import geopandas as gpd
    import psycopg

P = ParamSpec("P")
R = TypeVar("R")

__all__ = [
    "DEFAULT_SCHEMA",
    "GEOMETRY_TYPES",
    "RUN_TABLES",
    "SRID",
    "check_database",
    "check_identifier",
    "check_table_name",
    "compare_runs",
    "connect",
    "is_postgis_url",
    "parse_run_id",
    "read_postgis_layer",
    "read_run_table",
    "redact_dsn",
    "results_from_dir",
    "runs_from_db",
    "source_name",
    "table_fingerprint",
    "write_run",
]

logger = logging.getLogger(__name__)

DEFAULT_SCHEMA = "urlink"
"""Schema of the results tables unless ``--db-schema`` names another."""

SRID = 4326
"""SRID of every geometry column urlink writes (WGS84 longitude/latitude)."""

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

_IDENT_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_URL_PREFIXES = ("postgresql://", "postgres://")
_MASK = "***"

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


def is_postgis_url(value: object) -> bool:
    """Whether ``value`` is a ``postgresql://`` (or ``postgres://``) URL, not a file path.

    Parameters
    ----------
    value
        A scenario ``path`` value or any object.

    Returns
    -------
    bool
        True for a PostgreSQL URL.

    Examples
    --------
    >>> is_postgis_url("postgresql://gis.example.org/planning")
    True
    >>> is_postgis_url("../data/boundaries/counties.geojson")
    False
    """
    return isinstance(value, str) and value.lower().startswith(_URL_PREFIXES)


def redact_dsn(dsn: str) -> str:
    """Return a connection string with its password masked, for messages and logs.

    Works on URLs (``postgresql://user:pw@host/db?password=pw``) and on libpq key-value
    strings (``host=h password=pw``).

    Parameters
    ----------
    dsn
        A libpq connection string.

    Returns
    -------
    str
        The same string with every password replaced by ``***``.

    Examples
    --------
    >>> redact_dsn("postgresql://planner:s3cret@db.example.org:5432/huangyan")
    'postgresql://planner:***@db.example.org:5432/huangyan'
    >>> redact_dsn("host=db.example.org password='a b' dbname=huangyan")
    'host=db.example.org password=*** dbname=huangyan'
    >>> redact_dsn("postgresql:///huangyan?service=urlink")
    'postgresql:///huangyan?service=urlink'
    """
    if is_postgis_url(dsn):
        scheme, rest = dsn.split("://", 1)
        end = min([k for k in (rest.find("/"), rest.find("?")) if k >= 0], default=len(rest))
        netloc, tail = rest[:end], rest[end:]
        userinfo, at, hosts = netloc.rpartition("@")
        if at and ":" in userinfo:
            netloc = f"{userinfo.split(':', 1)[0]}:{_MASK}@{hosts}"
        path, question, query = tail.partition("?")
        query = re.sub(r"(^|&)(password=)[^&]*", rf"\g<1>\g<2>{_MASK}", query)
        return f"{scheme}://{netloc}{path}{question}{query}"
    return re.sub(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", rf"\g<1>{_MASK}", dsn)


def _target(dsn: str) -> str:
    """Host, port, database and user a connection string points to (libpq defaults apply)."""
    import os

    from psycopg.conninfo import conninfo_to_dict

    try:
        d = conninfo_to_dict(dsn)
    except Exception:  # a malformed string: show it masked
        return redact_dsn(dsn)
    service = d.get("service") or os.environ.get("PGSERVICE")
    keys = (
        ("host", "PGHOST", "the local socket"),
        ("port", "PGPORT", "5432"),
        ("dbname", "PGDATABASE", "named like the user"),
        ("user", "PGUSER", "your login name"),
    )
    parts = []
    for key, env, fallback in keys:
        value = d.get(key) or os.environ.get(env) or (None if service else fallback)
        if value:
            parts.append(f"{'database' if key == 'dbname' else key} {value}")
    if service:
        parts.append(f"service {service} (pg_service.conf)")
    return ", ".join(parts)


def check_identifier(name: str, *, what: str = "name") -> str:
    """Check a schema, table or column name: lower-case letters, digits and ``_``.

    Parameters
    ----------
    name
        The identifier.
    what
        What it names, for the message.

    Returns
    -------
    str
        ``name`` unchanged.

    Raises
    ------
    InputError
        If ``name`` is not 1-63 characters of ``[a-z0-9_]`` starting with a letter or ``_``.

    Examples
    --------
    >>> check_identifier("planning")
    'planning'
    """
    if not isinstance(name, str) or not _IDENT_RE.match(name):
        msg = (
            f"{what} {name!r} is not a valid PostgreSQL name for urlink; use 1-63 lower-case "
            "letters, digits or '_', starting with a letter or '_'"
        )
        raise InputError(msg)
    return name


def check_table_name(name: str, *, what: str = "table") -> tuple[str | None, str]:
    """Split and check ``"schema.table"`` (or ``"table"``).

    Parameters
    ----------
    name
        Table name, optionally schema-qualified.
    what
        Where the name comes from, for the message.

    Returns
    -------
    tuple
        ``(schema or None, table)``.

    Raises
    ------
    InputError
        If a part is not a plain lower-case identifier.

    Examples
    --------
    >>> check_table_name("planning.counties")
    ('planning', 'counties')
    >>> check_table_name("counties")
    (None, 'counties')
    """
    parts = name.split(".") if isinstance(name, str) else [name]
    if len(parts) > 2 or not all(isinstance(p, str) and _IDENT_RE.match(p) for p in parts):
        msg = (
            f"{what} {name!r} is not a valid table name; use 'table' or 'schema.table' with "
            "lower-case letters, digits and '_' (quoted names are not supported)"
        )
        raise InputError(msg)
    return (parts[0], parts[1]) if len(parts) == 2 else (None, parts[0])


def source_name(path: str | Path, layer: str | None = None) -> str:
    """Short name of an input source for messages and ``geometry_source`` columns.

    Parameters
    ----------
    path
        A file, or a PostgreSQL URL.
    layer
        The layer (the table of a PostGIS source).

    Returns
    -------
    str
        The file name, or ``postgis:<table>``.

    Examples
    --------
    >>> source_name("data/boundaries/counties.geojson")
    'counties.geojson'
    >>> source_name("postgresql://gis/planning", "public.counties")
    'postgis:public.counties'
    """
    if is_postgis_url(path):
        return f"postgis:{layer}"
    return Path(path).name


def connect(dsn: str, *, connect_timeout_s: int = 10) -> psycopg.Connection[Any]:
    """Open a connection (not in autocommit mode: the caller commits).

    Parameters
    ----------
    dsn
        URL or libpq key-value string; missing parts come from the ``PG*`` environment
        variables, a service file or ``~/.pgpass`` as usual with libpq.
    connect_timeout_s
        Seconds to wait for the server.

    Returns
    -------
    psycopg.Connection
        An open connection.

    Raises
    ------
    InputError
        If psycopg is not installed or the server cannot be reached or refuses the login;
        the message shows host, port, database and user, never the password.
    """
    try:
        import psycopg
    except ImportError:
        msg = (
            "the PostGIS features need psycopg 3: pip install 'urlink[postgis]' "
            "(or pip install 'psycopg[binary]')"
        )
        raise InputError(msg) from None
    try:
        return psycopg.connect(dsn, connect_timeout=connect_timeout_s)
    except psycopg.Error as err:
        reason = _clean_reason(str(err), dsn)
        end = "" if reason.endswith((".", "?", "!")) else "."
        msg = (
            f"cannot connect to PostgreSQL ({_target(dsn)}): {reason}{end} Check that the server "
            "runs and accepts TCP connections, the host/port/database in the URL "
            "(postgresql://user@host:port/database) or in PGHOST/PGPORT/PGDATABASE/PGSERVICE, "
            "and the password (PGPASSWORD or ~/.pgpass; better not in the URL)"
        )
        raise InputError(msg) from None


def _clean_reason(text: str, dsn: str) -> str:
    """One line of a driver error, with any password of ``dsn`` removed."""
    from psycopg.conninfo import conninfo_to_dict

    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    reason = "; ".join(lines[:3]) or "unknown error"
    try:
        password = conninfo_to_dict(dsn).get("password")
    except Exception:
        password = None
    if password:
        reason = reason.replace(str(password), _MASK)
    return redact_dsn(reason)


def _refusals_as_input_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turn a refused permission or a lost connection into an :class:`InputError`."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        import psycopg

        try:
            return func(*args, **kwargs)
        except psycopg.errors.InsufficientPrivilege as err:
            dsn = str(args[0]) if args else ""
            msg = (
                f"the database ({_target(dsn)}) refused: {_clean_reason(str(err), dsn)}. A "
                "role that stores runs needs CREATE on the database (or a results schema it "
                "owns); readers need USAGE on the schema and SELECT on its tables "
                "(docs/postgis.md)"
            )
            raise InputError(msg) from None
        except psycopg.OperationalError as err:
            dsn = str(args[0]) if args else ""
            msg = (
                f"the database ({_target(dsn)}) failed: {_clean_reason(str(err), dsn)}; "
                "nothing was changed, try again when the server is reachable"
            )
            raise InputError(msg) from None

    return wrapper


@_refusals_as_input_errors
def check_database(dsn: str, *, schema: str = DEFAULT_SCHEMA) -> str:
    """Connect once and check that PostGIS is installed, before a run starts.

    Parameters
    ----------
    dsn
        Connection string.
    schema
        Results schema (checked as a name only).

    Returns
    -------
    str
        The PostGIS version.

    Raises
    ------
    InputError
        If the connection fails or the database has no PostGIS extension.
    """
    check_identifier(schema, what="--db-schema")
    with connect(dsn) as con:
        row = con.execute(
            "SELECT extversion FROM pg_extension WHERE extname = 'postgis'"
        ).fetchone()
    if row is None:
        msg = (
            f"the database ({_target(dsn)}) has no PostGIS extension; ask its owner to run "
            "CREATE EXTENSION postgis; (docs/postgis.md)"
        )
        raise InputError(msg)
    return str(row[0])


# --- PostGIS tables as scenario inputs ---------------------------------------------------------


def _geometry_columns(
    con: psycopg.Connection[Any], schema: str, table: str
) -> list[tuple[str, int]]:
    rows = con.execute(
        "SELECT f_geometry_column, srid FROM geometry_columns "
        "WHERE f_table_schema = %s AND f_table_name = %s ORDER BY f_geometry_column",
        (schema, table),
    ).fetchall()
    return [(str(r[0]), int(r[1])) for r in rows]


def _resolve_table(
    con: psycopg.Connection[Any], schema: str | None, table: str, *, what: str
) -> str:
    """Find the schema holding ``table`` (search_path order when not given)."""
    if schema is not None:
        row = con.execute(
            "SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relname = %s AND c.relkind IN ('r', 'v', 'm', 'p', 'f')",
            (schema, table),
        ).fetchone()
    else:
        row = con.execute(
            "SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relname = %s AND c.relkind IN ('r', 'v', 'm', 'p', 'f') "
            "AND n.nspname = ANY (current_schemas(false)) "
            "ORDER BY array_position(current_schemas(false), n.nspname) LIMIT 1",
            (table,),
        ).fetchone()
        schema = None if row is None else str(row[0])
    if row is None or schema is None:
        shown = table if schema is None else f"{schema}.{table}"
        msg = (
            f"{what}: table {shown!r} does not exist in the database (or you may not read it); "
            "check the name, or qualify it as 'schema.table'"
        )
        raise InputError(msg)
    return schema


@_refusals_as_input_errors
def read_postgis_layer(dsn: str, *, table: str | None, what: str = "layer") -> gpd.GeoDataFrame:
    """Read a PostGIS table (or view) as a GeoDataFrame with the CRS of its SRID.

    Parameters
    ----------
    dsn
        Connection string of the database.
    table
        ``"schema.table"`` or ``"table"`` (found on the search path); exactly one geometry
        column.
    what
        What the table is for (``"zones file"``), used in error messages.

    Returns
    -------
    geopandas.GeoDataFrame
        All columns; the geometry column is ``geometry``. Numeric columns become floats.

    Raises
    ------
    InputError
        If the table is not given, missing, has no or several geometry columns, or no rows.
    """
    import geopandas as gpd
    import shapely
    from psycopg import sql

    source = f"{what} {redact_dsn(dsn)} table {table!r}"
    if table is None:
        msg = f"{what} {redact_dsn(dsn)}: a PostGIS source needs a table ('schema.table')"
        raise InputError(msg)
    schema, name = check_table_name(table, what=what)
    with connect(dsn) as con:
        schema = _resolve_table(con, schema, name, what=source)
        geoms = _geometry_columns(con, schema, name)
        if len(geoms) != 1:
            found = [g for g, _ in geoms]
            msg = (
                f"{source}: expected one geometry column, found {found or 'none'}; "
                "use a view with exactly one"
            )
            raise InputError(msg)
        geom_col, srid = geoms[0]
        if srid == 0:  # unconstrained column: take the SRID of the data
            row = con.execute(
                sql.SQL("SELECT DISTINCT ST_SRID({g}) FROM {t} LIMIT 2").format(
                    g=sql.Identifier(geom_col), t=sql.Identifier(schema, name)
                )
            ).fetchall()
            srid = int(row[0][0]) if len(row) == 1 else 0
        cur = con.execute(
            sql.SQL("SELECT *, ST_AsBinary({g}) AS {w} FROM {t}").format(
                g=sql.Identifier(geom_col),
                w=sql.Identifier("__urlink_wkb"),
                t=sql.Identifier(schema, name),
            )
        )
        columns = [d.name for d in (cur.description or [])]
        rows = cur.fetchall()
    if not rows:
        msg = f"{source} has no rows"
        raise InputError(msg)
    frame = pd.DataFrame(rows, columns=columns)
    wkb = frame.pop("__urlink_wkb")
    frame = frame.drop(columns=[geom_col])
    for col in frame.columns:
        values = frame[col].dropna()
        if len(values) and all(_is_decimal(v) for v in values):
            frame[col] = frame[col].astype(float)
    geometry = shapely.from_wkb([None if b is None else bytes(b) for b in wkb])
    crs = f"EPSG:{srid}" if srid else None
    return gpd.GeoDataFrame(frame, geometry=geometry, crs=crs)


def _is_decimal(value: object) -> bool:
    from decimal import Decimal

    return isinstance(value, Decimal)


@_refusals_as_input_errors
def table_fingerprint(dsn: str, table: str) -> dict[str, Any]:
    """Manifest entry of a PostGIS input: where it is, rows, and a SHA-256 of its content.

    The digest is taken over the rows as PostgreSQL text, sorted, so it changes when any
    value changes and not when rows are stored in another order.

    Parameters
    ----------
    dsn
        Connection string (the password is not recorded).
    table
        ``"schema.table"`` or ``"table"``.

    Returns
    -------
    dict
        ``path`` (the URL, password masked), ``table``, ``rows``, ``sha256``.
    """
    from psycopg import sql

    schema, name = check_table_name(table)
    with connect(dsn) as con:
        schema = _resolve_table(con, schema, name, what=redact_dsn(dsn))
        row = con.execute(
            sql.SQL(
                "SELECT count(*), encode(sha256(convert_to(coalesce(string_agg(t::text, "
                "E'\\n' ORDER BY t::text), ''), 'UTF8')), 'hex') FROM {t} AS t"
            ).format(t=sql.Identifier(schema, name))
        ).fetchone()
    assert row is not None
    return {
        "path": redact_dsn(dsn),
        "table": f"{schema}.{name}",
        "rows": int(row[0]),
        "sha256": str(row[1]),
    }


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
    import json

    import geopandas as gpd

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
    import shapely

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
    from psycopg import sql

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
    from psycopg import sql

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
    from psycopg import sql

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
    from psycopg import sql

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
    from psycopg import sql
    from psycopg.types.json import Jsonb

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
        cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"urlink.db:{schema}",))
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
    from psycopg import sql

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
    from psycopg import sql

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
    import geopandas as gpd
    import shapely
    from psycopg import sql

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
        (:data:`urlink.indicators.INDICATORS`), ``same``, or ``n/a`` when a value is missing.
        Indicators of either run, in the order of ``run_a``.

    Raises
    ------
    InputError
        On an unknown run id, or a strategy neither run has.
    """
    from psycopg import sql

    from urlink.indicators import INDICATORS

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
