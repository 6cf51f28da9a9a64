"""Writing results safely: a temporary folder renamed on success, and the run manifest.

A run writes everything into a fresh temporary folder next to the output folder. Only when
all files are written is the old output folder moved aside and the new one renamed into its
place, so a failed run leaves earlier results untouched. Output folders that are, or contain,
an input file are refused, so a run can never overwrite or delete its inputs.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import logging
import platform
import secrets
import shutil
import tempfile
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, get_args

import geopandas as gpd
import numpy as np
import osmnx as ox
import pandas as pd

from urlink.errors import InputError
from urlink.model.graph import graph_to_gdfs
from urlink.network.skims import iter_skim_rows, skim_to_parquet

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

__all__ = [
    "PARQUET_MIN_FLOWS",
    "PARQUET_MIN_PAIRS",
    "TableFormat",
    "atomic_output_dir",
    "check_output_dir",
    "file_sha256",
    "network_edges_gdf",
    "table_formats",
    "versions",
    "write_json",
    "write_linkages",
    "write_travel_times",
    "write_travel_times_parquet",
]

logger = logging.getLogger(__name__)

_PACKAGES = (
    "urlink",
    "geopandas",
    "shapely",
    "pyproj",
    "pyogrio",
    "networkx",
    "osmnx",
    "rasterio",
    "folium",
    "numpy",
    "scipy",
    "pandas",
)


def file_sha256(path: Path) -> str:
    """Return the SHA-256 hex digest of a file.

    Parameters
    ----------
    path
        The file.

    Returns
    -------
    str
        64 hex digits.
    """
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def versions() -> dict[str, str]:
    """Versions of Python and of the packages a run depends on.

    Returns
    -------
    dict
        Package name to version (``"not installed"`` where missing).
    """
    out = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def check_output_dir(out_dir: Path, inputs: Iterable[Path]) -> Path:
    """Refuse an output folder that is, or lies above, an input file.

    Parameters
    ----------
    out_dir
        The folder a run will replace.
    inputs
        Every input file of the run.

    Returns
    -------
    pathlib.Path
        ``out_dir`` made absolute.

    Raises
    ------
    InputError
        If replacing ``out_dir`` would overwrite or delete an input, or ``out_dir`` is an
        existing file.
    """
    out = out_dir.resolve()
    if out.exists() and not out.is_dir():
        msg = f"output folder {str(out_dir)!r} is an existing file; choose a folder with --out"
        raise InputError(msg)
    for p in inputs:
        src = p.resolve()
        if src == out or out in src.parents:
            msg = (
                f"output folder {str(out_dir)!r} contains the input {str(p)!r}; a run replaces "
                "its output folder, so choose another one with --out"
            )
            raise InputError(msg)
    return out


@contextlib.contextmanager
def atomic_output_dir(out_dir: Path) -> Iterator[Path]:
    """Yield a temporary folder that replaces ``out_dir`` only if the block succeeds.

    Parameters
    ----------
    out_dir
        Final location of the results.

    Yields
    ------
    pathlib.Path
        A new empty folder in the same parent (so the final rename is atomic on one file
        system), made like a normal ``mkdir``: its permissions follow the umask (``0o755``
        under the usual umask 022), not ``tempfile.mkdtemp``'s owner-only ``0o700``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> with atomic_output_dir(root / "out") as tmp:
    ...     _ = (tmp / "a.txt").write_text("ok")
    >>> (root / "out" / "a.txt").read_text()
    'ok'
    """
    out = out_dir.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = _new_folder(out.parent, prefix=f".{out.name}.tmp-")
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = None
    if out.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
        out.replace(old / out.name)
    try:
        tmp.replace(out)
    except OSError:
        if old is not None:  # put the earlier results back
            (old / out.name).replace(out)
            shutil.rmtree(old, ignore_errors=True)
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    logger.info("wrote %s", out)


def _new_folder(parent: Path, *, prefix: str) -> Path:
    """Create a new folder ``parent / (prefix + random suffix)`` with ``mkdir``'s permissions.

    Parameters
    ----------
    parent
        An existing folder.
    prefix
        Start of the new folder's name.

    Returns
    -------
    pathlib.Path
        The new, empty folder (mode ``0o777`` less the umask, as for ``mkdir``).

    Raises
    ------
    FileExistsError
        If no unused name was found (practically impossible).
    """
    for _ in range(100):
        path = parent / f"{prefix}{secrets.token_hex(4)}"
        try:
            path.mkdir()
        except FileExistsError:
            continue
        return path
    msg = f"could not create a new folder {prefix}* in {parent}"
    raise FileExistsError(msg)


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write ``data`` as indented UTF-8 JSON with sorted keys.

    Parameters
    ----------
    path
        Target file.
    data
        JSON-serialisable mapping (paths are written as strings).
    """
    path.write_text(
        json.dumps(data, indent=2, ensure_ascii=False, sort_keys=True, default=str) + "\n",
        encoding="utf-8",
    )


def network_edges_gdf(G: Any) -> gpd.GeoDataFrame:
    """Edges of a street graph as LineStrings (WGS84) with plain, GeoPackage-safe columns.

    Parameters
    ----------
    G
        A street graph from :mod:`urlink.network.streets`.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per directed edge.
    """
    edges = ox.graph_to_gdfs(G, nodes=False, fill_edge_geometry=True).reset_index()
    keep = [
        "u",
        "v",
        "key",
        "highway",
        "name",
        "length",
        "speed_kph",
        "travel_time",
        "link_class",
        "oneway",
        "network_source",
        "geometry",
    ]
    edges = edges[[c for c in keep if c in edges.columns]].copy()
    for col in edges.columns:
        if col != "geometry" and edges[col].dtype == object:
            edges[col] = (
                edges[col]
                .map(lambda v: ";".join(map(str, v)) if isinstance(v, list) else v)
                .astype("string")
            )
    edges = edges.rename(columns={"length": "length_m", "travel_time": "time_s"})
    return gpd.GeoDataFrame(edges, geometry="geometry", crs="EPSG:4326")


def _long_skim(skim: pd.DataFrame, source: str) -> pd.DataFrame:
    """Turn the skim into rows: origin, destination, time_min, network_source."""
    return pd.DataFrame(
        {
            "origin": np.repeat(skim.index.to_numpy(), skim.shape[1]),
            "destination": np.tile(skim.columns.to_numpy(), skim.shape[0]),
            "time_min": skim.to_numpy().ravel(),
            "network_source": source,
        }
    )


def write_travel_times(
    path: Path, skim: pd.DataFrame, source: str, *, chunk_rows: int = 256
) -> int:
    """Write the skim as ``travel_times.csv`` (one row per zone pair), by blocks of origins.

    The file is the same as writing the whole long table at once, but only ``chunk_rows``
    origins are held as rows at a time (a 5,000-zone skim has 25 million pairs).

    Parameters
    ----------
    path
        Target CSV file.
    skim
        Travel times between the zones (in memory or memory-mapped).
    source
        The network source, written in every row.
    chunk_rows
        Origins per block.

    Returns
    -------
    int
        Number of unreachable pairs (NaN travel times, empty in the file).
    """
    unreachable = 0
    with path.open("w", encoding="utf-8", newline="") as f:
        for a in range(0, max(len(skim.index), 1), chunk_rows):
            block = _long_skim(skim.iloc[a : a + chunk_rows], source)
            unreachable += int(block["time_min"].isna().sum())
            block.to_csv(f, index=False, header=a == 0, float_format="%.6f")
    return unreachable


def write_linkages(
    path: Path,
    zones: gpd.GeoDataFrame,
    graph: Any,
    edges: gpd.GeoDataFrame | None,
    volumes: pd.DataFrame,
) -> None:
    """Write ``linkages.gpkg``: layers ``zones``, ``flows`` and ``network`` (if ``edges``).

    Parameters
    ----------
    path
        Target GeoPackage.
    zones
        Zones with typology.
    graph
        The linkage graph.
    edges
        Street network edges (from :func:`network_edges_gdf`); None leaves the ``network``
        layer out (it is most of the file for a large network).
    volumes
        Assigned volumes per street link (``u``, ``v``, one column per flow type).
    """
    zones.to_crs("EPSG:4326").to_file(path, layer="zones", driver="GPKG")
    _, flows = graph_to_gdfs(graph)
    flows.to_file(path, layer="flows", driver="GPKG")
    if edges is None:
        return
    network = edges.copy()
    if len(volumes):
        vol = volumes.groupby(["u", "v"], as_index=False).sum()
        vol["u"] = vol["u"].astype(str)
        vol["v"] = vol["v"].astype(str)
        network["u"] = network["u"].astype(str)
        network["v"] = network["v"].astype(str)
        network = network.merge(vol, on=["u", "v"], how="left")
        value_cols = [c for c in vol.columns if c not in ("u", "v")]
        network[value_cols] = network[value_cols].fillna(0.0)
    network.to_file(path, layer="network", driver="GPKG")


TableFormat = Literal["auto", "csv", "parquet"]
"""How ``travel_times`` and ``flows`` are written (:func:`table_formats`)."""

PARQUET_MIN_PAIRS = 4_000_000
"""With ``"auto"``, ``travel_times`` goes to Parquet from this many zone pairs (2,000 zones)."""

PARQUET_MIN_FLOWS = 1_000_000
"""With ``"auto"``, ``flows`` goes to Parquet from this many flow rows."""


def table_formats(table_format: str, *, pairs: int, flows: int) -> dict[str, str]:
    """Choose the file format of ``travel_times`` and ``flows``: ``"csv"`` or ``"parquet"``.

    Parameters
    ----------
    table_format
        ``"csv"``, ``"parquet"`` (needs pyarrow: ``pip install "urlink[parquet]"``) or
        ``"auto"``: Parquet for a table at or above :data:`PARQUET_MIN_PAIRS` zone pairs or
        :data:`PARQUET_MIN_FLOWS` flow rows when pyarrow is installed, CSV otherwise.
    pairs, flows
        Zone pairs of the skim and rows of the flow table.

    Returns
    -------
    dict
        ``{"travel_times": ..., "flows": ...}``.

    Raises
    ------
    InputError
        If ``table_format`` is not one of the three, or ``"parquet"`` without pyarrow.

    Examples
    --------
    >>> table_formats("auto", pairs=400, flows=90)
    {'travel_times': 'csv', 'flows': 'csv'}
    >>> table_formats("csv", pairs=25_000_000, flows=2_000_000)
    {'travel_times': 'csv', 'flows': 'csv'}
    """
    if table_format not in get_args(TableFormat):
        msg = f"table_format={table_format!r} is not valid; use one of {get_args(TableFormat)}"
        raise InputError(msg)
    has_arrow = importlib.util.find_spec("pyarrow") is not None
    if table_format == "parquet" and not has_arrow:
        msg = 'Parquet outputs need pyarrow: pip install "urlink[parquet]" (or use csv)'
        raise InputError(msg)
    if table_format != "auto":
        return {"travel_times": table_format, "flows": table_format}
    big = {"travel_times": pairs >= PARQUET_MIN_PAIRS, "flows": flows >= PARQUET_MIN_FLOWS}
    if any(big.values()) and not has_arrow:
        logger.info('large tables written as CSV: pip install "urlink[parquet]" for Parquet')
    return {k: "parquet" if v and has_arrow else "csv" for k, v in big.items()}


def write_travel_times_parquet(path: Path, skim: pd.DataFrame, source: str) -> int:
    """Write the skim as ``travel_times.parquet``: the rows of ``travel_times.csv``.

    Columns ``origin``, ``destination`` (strings), ``time_min`` (float64, null where
    unreachable: every pair has a row, as in the CSV); the network source is in the file's
    metadata (``network_source``) rather than in every row. One row group per block of
    origins (:func:`urlink.network.skims.skim_to_parquet`), so memory stays bounded.

    Parameters
    ----------
    path
        Target file.
    skim
        Travel times between the zones (in memory or memory-mapped).
    source
        The network source.

    Returns
    -------
    int
        Number of unreachable pairs.
    """
    skim_to_parquet(skim, path, keep_unreachable=True, metadata={"network_source": source})
    return int(sum(int(np.isnan(b).sum()) for _, b in iter_skim_rows(skim)))
