"""PostGIS tables as scenario inputs, and the connection helpers urlink shares.

Scenario inputs may be PostGIS tables: ``path = "postgresql://host/db"`` with
``table = "schema.table"`` in ``[boundaries]``, ``[townships]`` or ``[settlements]``
(:func:`read_postgis_layer`). Credentials come from the URL or libpq's environment
(``PGHOST``, ``PGUSER``, ``PGPASSWORD``, ``PGSERVICE``, ``~/.pgpass`` ...); urlink never
prints or logs a password (:func:`redact_dsn`). Schema and table names must match
``[a-z_][a-z0-9_]*`` and are quoted as identifiers.

psycopg is an optional dependency (``pip install "urlink[postgis]"``): it is imported where a
connection is made, so the rest of urlink works without it.
"""

from __future__ import annotations

import functools
import logging
import os
import re
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

import geopandas as gpd
import pandas as pd
import shapely

from urlink.errors import InputError

if TYPE_CHECKING:
    from collections.abc import Callable

    import psycopg

P = ParamSpec("P")
R = TypeVar("R")

__all__ = [
    "DEFAULT_SCHEMA",
    "SRID",
    "check_database",
    "check_identifier",
    "check_table_name",
    "connect",
    "is_postgis_url",
    "read_postgis_layer",
    "redact_dsn",
    "source_name",
    "table_fingerprint",
]

logger = logging.getLogger(__name__)


DEFAULT_SCHEMA = "urlink"
"""Schema of the results tables unless ``--db-schema`` names another."""


SRID = 4326
"""SRID of every geometry column urlink writes (WGS84 longitude/latitude)."""


_IDENT_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


_URL_PREFIXES = ("postgresql://", "postgres://")


_MASK = "***"


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
    from psycopg.conninfo import conninfo_to_dict  # noqa: PLC0415 - optional dependency, imported on use

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
        import psycopg  # noqa: PLC0415 - optional dependency, imported on use
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
    from psycopg.conninfo import conninfo_to_dict  # noqa: PLC0415 - optional dependency, imported on use

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
        import psycopg  # noqa: PLC0415 - optional dependency, imported on use

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
    from psycopg import sql  # noqa: PLC0415 - optional dependency, imported on use

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
                sql.SQL(
                    "SELECT DISTINCT ST_SRID({g}) FROM {t} WHERE {g} IS NOT NULL LIMIT 2"
                ).format(g=sql.Identifier(geom_col), t=sql.Identifier(schema, name))
            ).fetchall()
            if len(row) > 1:
                srids = sorted(int(r[0]) for r in row if r[0] is not None)
                msg = (
                    f"{source}: the rows of column {geom_col!r} have several SRIDs (e.g. "
                    f"{srids}); transform them to one (UPDATE ... SET {geom_col} = "
                    f"ST_Transform({geom_col}, 4326)) or read them through a view that does"
                )
                raise InputError(msg)
            srid = int(row[0][0]) if row and row[0][0] is not None else 0
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
    from psycopg import sql  # noqa: PLC0415 - optional dependency, imported on use

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
