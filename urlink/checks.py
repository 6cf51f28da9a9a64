"""Checks of input data that several loaders share: sizes, text, coordinates, coverage.

Every check raises :class:`~urlink.errors.InputError` with a message that names the file,
the field or row and the fix, or returns quietly. The limits are module constants so that
they are documented in one place (``docs/errors.md``) and can be raised by a user who has
the memory.

Size limits
-----------
urlink holds every input in memory. A run fails early, before reading, when a file is
larger than its limit, and before routing when the zone system would not fit:

========================  ============================================================
:data:`MAX_VECTOR_BYTES`  512 MiB per vector file (GeoJSON, GeoPackage, Shapefile)
:data:`MAX_TABLE_BYTES`   256 MiB per CSV table
:data:`MAX_OSM_BYTES`     1 GiB per OSM file on disk (``.osm``, ``.osm.bz2``, ``.osm.pbf``)
:data:`MAX_RASTER_BYTES`  2 GiB per raster (windows are read, so this is generous)
:data:`MAX_FEATURES`      200,000 features per vector layer
:data:`MAX_ZONES`         5,000 zones, and at most half of the available memory for
                          the zone-to-zone matrices (:func:`zone_matrix_bytes`)
========================  ============================================================
"""

from __future__ import annotations

import logging
import os
import re
import unicodedata
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

from urlink.errors import InputError, UrlinkWarning

if TYPE_CHECKING:
    from collections.abc import Iterable

    import geopandas as gpd
    import pandas as pd
    from shapely.geometry.base import BaseGeometry

    from urlink.crs import Coords
    from urlink.scenario import Scenario

__all__ = [
    "MAX_FEATURES",
    "MAX_OSM_BYTES",
    "MAX_RASTER_BYTES",
    "MAX_TABLE_BYTES",
    "MAX_VECTOR_BYTES",
    "MAX_ZONES",
    "available_memory_bytes",
    "check_feature_count",
    "check_file_size",
    "check_network_coverage",
    "check_no_markup",
    "check_reachability",
    "check_scenario_files",
    "check_strategy_zones",
    "check_text_encoding",
    "check_zone_count",
    "coords_mismatch_hint",
    "find_markup",
    "find_mojibake",
    "gcj02_offset_between",
    "scenario_inputs",
    "warn_gcj02_offset",
    "zone_matrix_bytes",
]

logger = logging.getLogger(__name__)

MAX_VECTOR_BYTES = 512 * 2**20
"""Largest vector file read (bytes)."""
MAX_TABLE_BYTES = 256 * 2**20
"""Largest CSV table read (bytes)."""
MAX_OSM_BYTES = 2**30
"""Largest OSM file read (bytes on disk; OSM XML needs about 20 times as much memory)."""
MAX_RASTER_BYTES = 2 * 2**30
"""Largest raster file opened (bytes)."""
MAX_FEATURES = 200_000
"""Most features in one vector layer."""
MAX_ZONES = 5_000
"""Most zones in a run (the travel-time, distance and flow matrices grow with zones**2)."""

_MATRIX_COPIES = 16
"""How many zones x zones float64 matrices a run holds at once (skims, flows, strategies)."""

FileKind = Literal["vector", "table", "osm", "raster"]

_LIMITS: dict[str, str] = {
    "vector": "MAX_VECTOR_BYTES",
    "table": "MAX_TABLE_BYTES",
    "osm": "MAX_OSM_BYTES",
    "raster": "MAX_RASTER_BYTES",
}


def _mib(n: float) -> str:
    return f"{n / 2**20:,.0f} MiB" if n >= 2**20 else f"{n:,.0f} bytes"


def check_file_size(path: str | Path, *, kind: FileKind, what: str = "file") -> None:
    """Refuse a missing, empty or too large input file before it is read.

    Parameters
    ----------
    path
        The file.
    kind
        ``"vector"``, ``"table"``, ``"osm"`` or ``"raster"``: selects the limit.
    what
        What the file is for, in messages (``"zones file"``).

    Raises
    ------
    InputError
        If the file does not exist, is not a file, is empty, or exceeds the limit.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "empty.csv"
    >>> _ = p.write_text("")
    >>> check_file_size(p, kind="table", what="population table")
    Traceback (most recent call last):
    ...
    urlink.errors.InputError: population table '...empty.csv' is empty (0 bytes); ...
    """
    p = Path(path)
    if not p.exists():
        msg = f"{what} {str(p)!r} does not exist; check the path"
        raise InputError(msg)
    if not p.is_file():
        msg = f"{what} {str(p)!r} is a folder, not a file; point to the file itself"
        raise InputError(msg)
    size = p.stat().st_size
    if size == 0:
        msg = f"{what} {str(p)!r} is empty (0 bytes); export the data again"
        raise InputError(msg)
    name = _LIMITS[kind]
    limit = int(globals()[name])
    if size > limit:
        msg = (
            f"{what} {str(p)!r} is {_mib(size)}, more than urlink reads ({_mib(limit)}, "
            f"urlink.checks.{name}); clip it to the study area first (e.g. `ogr2ogr -clipsrc` "
            "or `osmium extract`), see docs/errors.md"
        )
        raise InputError(msg)


def check_feature_count(n: int, *, source: str) -> None:
    """Refuse a vector layer with more than :data:`MAX_FEATURES` features.

    Parameters
    ----------
    n
        Number of features.
    source
        The file, for messages.

    Raises
    ------
    InputError
        If ``n`` exceeds the limit.
    """
    if n > MAX_FEATURES:
        msg = (
            f"{source}: {n:,} features, more than urlink handles in one layer ({MAX_FEATURES:,}, "
            "urlink.checks.MAX_FEATURES); clip or aggregate the layer to the study area"
        )
        raise InputError(msg)


def available_memory_bytes() -> int | None:
    """Memory available to a new allocation (Linux ``MemAvailable``), or None if unknown.

    Returns
    -------
    int or None
        Bytes.
    """
    try:
        with Path("/proc/meminfo").open(encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None


def zone_matrix_bytes(n_zones: int) -> int:
    """Estimated memory of the zone-to-zone matrices of a run with ``n_zones`` zones.

    Parameters
    ----------
    n_zones
        Number of zones.

    Returns
    -------
    int
        Bytes (``16 * n_zones**2 * 8``).

    Examples
    --------
    >>> zone_matrix_bytes(1000) / 2**20  # doctest: +ELLIPSIS
    122.07...
    """
    return _MATRIX_COPIES * n_zones * n_zones * 8


def check_zone_count(n_zones: int, *, source: str, memory: int | None = None) -> None:
    """Refuse a zone system that exceeds :data:`MAX_ZONES` or would not fit in memory.

    Parameters
    ----------
    n_zones
        Number of zones of the run.
    source
        Where the zones come from, for messages.
    memory
        Available memory in bytes (default: :func:`available_memory_bytes`).

    Raises
    ------
    InputError
        If there are too many zones.
    """
    if n_zones > MAX_ZONES:
        msg = (
            f"{source}: {n_zones:,} zones, more than urlink runs ({MAX_ZONES:,}, "
            "urlink.checks.MAX_ZONES: the travel-time and flow matrices grow with the square "
            "of the zones); use a coarser zone system or fewer context units"
        )
        raise InputError(msg)
    need = zone_matrix_bytes(n_zones)
    have = available_memory_bytes() if memory is None else memory
    if have is not None and need > have / 2:
        msg = (
            f"{source}: {n_zones:,} zones need about {_mib(need)} for the zone matrices, more "
            f"than half of the available memory ({_mib(have)}); use fewer zones or a machine "
            "with more memory"
        )
        raise InputError(msg)


# ------------------------------------------------------------------------------- text

_MARKUP_RE = re.compile(r"<[A-Za-z!/?]|javascript\s*:|\{\{|\{%", re.IGNORECASE)


def find_markup(text: str) -> bool:
    """Whether ``text`` looks like HTML, script or template markup.

    Place names never contain ``<tag``, ``javascript:`` or ``{{``; such text in a name
    means a broken or malicious file, and would be interpreted by the map's HTML.

    Parameters
    ----------
    text
        A name.

    Returns
    -------
    bool
        True for markup.

    Examples
    --------
    >>> find_markup("黄岩区"), find_markup("<script>alert(1)</script>"), find_markup("A < B")
    (False, True, False)
    """
    return bool(_MARKUP_RE.search(text)) or any(
        unicodedata.category(c) == "Cc" and c not in "\t\n\r" for c in text
    )


def check_no_markup(values: pd.Series, *, source: str, column: str, row_label: str = "id") -> None:
    """Refuse names that contain HTML/script markup or control characters.

    Parameters
    ----------
    values
        The names, indexed by feature id.
    source
        The file, for messages.
    column
        The column, for messages.
    row_label
        What the index of ``values`` is (``"id"``, ``"line"``), for messages.

    Raises
    ------
    InputError
        Naming the first offending id and echoing its value.
    """
    for idx, value in values.items():
        if isinstance(value, str) and find_markup(value):
            msg = (
                f"{source}: column {column!r}, {row_label} {idx!s}: the text {value!r} "
                "contains HTML, script or template markup (or control characters); names and "
                "labels must be plain text, so remove the markup from the file"
            )
            raise InputError(msg)


_LATIN1_HIGH = re.compile(r"[\u0080-\u00ff]")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def _repair(text: str, encoding: str) -> str | None:
    """``text`` read as Latin-1 and decoded again with ``encoding``, if that gives CJK text."""
    try:
        fixed = text.encode("latin-1").decode(encoding)
    except (UnicodeEncodeError, UnicodeDecodeError):
        return None
    return fixed if _CJK.search(fixed) else None


def find_mojibake(values: Iterable[object]) -> tuple[str, str, str] | None:
    """Find text that is Chinese (GBK, GB18030, Big5 or UTF-8) decoded as Latin-1.

    A Shapefile without a ``.cpg`` file is read as Latin-1, which turns the GBK bytes of
    ``黄岩区`` into ``»ÆÑÒÇø``. Such text has characters in U+0080..U+00FF and no CJK
    characters, and decodes to CJK text when its bytes are read with the right encoding.

    Parameters
    ----------
    values
        Text values (others are skipped).

    Returns
    -------
    tuple or None
        ``(bad text, repaired text, encoding)`` for the first suspicious value, else None.

    Examples
    --------
    >>> find_mojibake(["»ÆÑÒÇø"])
    ('»ÆÑÒÇø', '黄岩区', 'gbk')
    >>> find_mojibake(["黄岩区", "Huangyan", "Zürich", "Müller-Lüdenscheid"]) is None
    True
    """
    for value in values:
        if not isinstance(value, str) or _CJK.search(value):
            continue
        high = len(_LATIN1_HIGH.findall(value))
        # Chinese text read as Latin-1 is mostly high characters (2-3 per CJK character);
        # European names have a few accented letters among many ASCII ones
        if high < 2 or high < 0.4 * len("".join(value.split())):
            continue
        for encoding in ("utf-8", "gbk", "gb18030", "big5"):
            fixed = _repair(value, encoding)
            if fixed is not None:
                return value, fixed, encoding
    return None


def check_text_encoding(
    gdf: gpd.GeoDataFrame, columns: Iterable[str | None], *, source: str, key: str = "encoding"
) -> None:
    """Refuse attribute text that was decoded with the wrong encoding (mojibake).

    Parameters
    ----------
    gdf
        The layer as read.
    columns
        Text columns to look at (None entries are skipped).
    source
        The file, for messages.
    key
        Scenario key that sets the encoding, for the fix.

    Raises
    ------
    InputError
        Saying what the text would read as, and how to declare the encoding.
    """
    for col in columns:
        if col is None or col not in gdf.columns:
            continue
        found = find_mojibake(gdf[col].tolist())
        if found is None:
            continue
        bad, fixed, encoding = found
        stem = Path(source).with_suffix(".cpg").name
        msg = (
            f"{source}: column {col!r} holds garbled text such as {bad!r}, which reads as "
            f"{fixed!r} in {encoding.upper()}; the file's encoding is not declared. Add a file "
            f"{stem!r} containing {encoding.upper()} next to it, or set {key} = "
            f'"{encoding}" in the scenario section of this layer'
        )
        raise InputError(msg)


# -------------------------------------------------------------------------- coordinates


def coords_mismatch_hint(
    points_lonlat: gpd.GeoSeries, area_lonlat: BaseGeometry, *, declared: Coords
) -> str:
    """Explain points that fall outside a polygon by a GCJ-02/WGS84 mix-up, if that fits.

    GCJ-02 ("Mars coordinates", used by Amap, Tencent and most Chinese web maps) is offset
    from WGS84 by 100-700 m in China (about 500 m around Huangyan). If reading the points in
    the other system puts all of them inside the polygon, the two layers were declared
    inconsistently: one is GCJ-02 declared as WGS84, or was converted twice.

    Parameters
    ----------
    points_lonlat
        The points as loaded (WGS84, after any declared conversion).
    area_lonlat
        The polygon they must lie in (WGS84).
    declared
        How the points were declared (``"wgs84"`` or ``"gcj02"``).

    Returns
    -------
    str
        A sentence with the fix, or ``""`` if all points are inside already or the offset
        does not explain the mismatch.
    """
    import shapely

    from urlink.crs import gcj02_to_wgs84, wgs84_to_gcj02

    lon = points_lonlat.x.to_numpy()
    lat = points_lonlat.y.to_numpy()
    if bool(np.all(shapely.covers(area_lonlat, shapely.points(lon, lat)))):
        return ""  # nothing to explain
    if declared == "wgs84":  # they might be GCJ-02: convert
        alt_lon, alt_lat = gcj02_to_wgs84(lon, lat)
    else:  # they were converted from GCJ-02 but might have been WGS84: undo it
        alt_lon, alt_lat = wgs84_to_gcj02(lon, lat)
    alt = shapely.points(np.asarray(alt_lon), np.asarray(alt_lat))
    if not bool(np.all(shapely.covers(area_lonlat, alt))):
        return ""
    shift = np.hypot(
        (np.asarray(alt_lon) - lon) * 111_320 * np.cos(np.radians(lat)),
        (np.asarray(alt_lat) - lat) * 110_540,
    )
    other = "gcj02" if declared == "wgs84" else "wgs84"
    return (
        f" They all fall inside once read as {other.upper()} (a shift of about "
        f"{float(np.median(shift)):.0f} m, the GCJ-02 offset): the layers mix GCJ-02 "
        "(Amap/Tencent) and WGS84 coordinates. Set coords = "
        f'"{other}" for this layer, or fix the coords of the boundaries if they are the '
        "GCJ-02 ones."
    )


# ----------------------------------------------------------------------------- scenarios


def scenario_inputs(scenario: Scenario) -> list[tuple[str, Path, FileKind]]:
    """Every input file of a scenario with the scenario key that names it and its kind.

    Parameters
    ----------
    scenario
        A loaded scenario.

    Returns
    -------
    list of (str, pathlib.Path, str)
        ``("[population] counties", path, "table")`` etc., in file order.
    """
    out: list[tuple[str, Path, FileKind]] = []
    # PostGIS tables (postgresql:// URLs) are no files; urlink.db checks them
    for key, spec in (
        ("[boundaries] path", scenario.boundaries),
        ("[townships] path", scenario.townships),
        ("[settlements] path", scenario.settlements),
    ):
        if spec is not None and isinstance(spec.path, Path):
            out.append((key, spec.path, "vector"))
    if scenario.network.osm is not None:
        out.append(("[network] osm", scenario.network.osm, "osm"))
    if scenario.typology.population_raster is not None:
        out.append(("[typology] population_raster", scenario.typology.population_raster, "raster"))
    tables: list[tuple[str, Path | None]] = [
        ("[services] path", scenario.services),
        ("[population] counties", scenario.population.counties),
        ("[population] township_units", scenario.population.township_units),
        ("[population] township_references", scenario.population.township_references),
        ("[population] override", scenario.population.override),
    ]
    if scenario.scoring is not None:
        tables += [
            ("[scoring] weights", scenario.scoring.weights),
            ("[scoring] ahp", scenario.scoring.ahp),
        ]
    f = scenario.flows
    if f.goods is not None:
        tables += [
            ("[flows.goods] supply_weights", f.goods.supply_weights),
            ("[flows.goods] markets", f.goods.markets),
        ]
    if f.ecosystem is not None:
        tables += [
            ("[flows.ecosystem] sources", f.ecosystem.sources),
            ("[flows.ecosystem] phases", f.ecosystem.phases),
        ]
    if f.capital is not None:
        tables.append(("[flows.capital] transfers", f.capital.transfers))
    out += [(key, p, "table") for key, p in tables if p is not None]
    return out


def check_scenario_files(scenario: Scenario) -> None:
    """Check that every input file of a scenario exists, is not empty and is not too large.

    Parameters
    ----------
    scenario
        A loaded scenario.

    Raises
    ------
    InputError
        Naming the scenario file, the key and the input file.
    """
    for key, path, kind in scenario_inputs(scenario):
        try:
            check_file_size(path, kind=kind, what="input file")
        except InputError as err:
            msg = (
                f"{scenario.path}: {key}: {err} (relative paths resolve against the scenario "
                "file's folder)"
            )
            raise InputError(msg) from None


def check_network_coverage(
    node_lonlat: np.ndarray, zones: gpd.GeoDataFrame, *, source: str, margin_deg: float = 0.05
) -> None:
    """Refuse a street network that covers none of the zone seats; warn if it misses some.

    Parameters
    ----------
    node_lonlat
        ``(n, 2)`` array of the network nodes' longitude and latitude.
    zones
        Zones with ``seat_lon`` and ``seat_lat``.
    source
        The network file, for messages.
    margin_deg
        Seats this far (degrees, about 5 km) outside the network's bounding box still count
        as covered.

    Raises
    ------
    InputError
        If no seat lies within the network's extent (a file of another region).
    """
    if len(node_lonlat) == 0:
        return
    xmin, ymin = node_lonlat.min(axis=0) - margin_deg
    xmax, ymax = node_lonlat.max(axis=0) + margin_deg
    lon = zones["seat_lon"].to_numpy(dtype=float)
    lat = zones["seat_lat"].to_numpy(dtype=float)
    inside = (lon >= xmin) & (lon <= xmax) & (lat >= ymin) & (lat <= ymax)
    extent = (
        f"lon {xmin + margin_deg:.3f}..{xmax - margin_deg:.3f}, "
        f"lat {ymin + margin_deg:.3f}..{ymax - margin_deg:.3f}"
    )
    if not inside.any():
        msg = (
            f"{source}: the street network ({extent}) lies outside the study area (zone seats "
            f"around lon {np.median(lon):.3f}, lat {np.median(lat):.3f}); use an OSM extract "
            "that covers the zones"
        )
        raise InputError(msg)
    if not inside.all():
        missing = zones.index[~inside].tolist()
        warnings.warn(
            f"{source}: the street network ({extent}) does not reach the seats of zones "
            f"{missing[:10]}; their trips start with a long access leg. Use an OSM extract "
            "that covers every zone",
            UrlinkWarning,
            stacklevel=2,
        )


def check_reachability(skim: pd.DataFrame, *, source: str, max_listed: int = 10) -> int:
    """Refuse zones cut off from every other zone; warn about other unreachable pairs.

    Unreachable pairs stay NaN in every output (never 0 or infinity). A zone that can reach
    no other zone, or be reached from none, has no trips at all, which is almost always a
    gap in the street data (a missing bridge, ferry or road at the edge of the extract).

    Parameters
    ----------
    skim
        Zones x zones travel times (NaN where unreachable).
    source
        The street network, for messages.
    max_listed
        How many pairs the warning lists.

    Returns
    -------
    int
        Number of unreachable origin-destination pairs.

    Raises
    ------
    InputError
        If a zone (of several) reaches no other zone or is reached by none, or the zones
        fall into groups that cannot reach each other.
    """
    values = skim.to_numpy(dtype=float)
    n = len(values)
    if n < 2:
        return 0
    off = ~np.eye(n, dtype=bool)
    unreachable = np.isnan(values) & off
    cut_out = unreachable.sum(axis=1) == n - 1
    cut_in = unreachable.sum(axis=0) == n - 1
    isolated = skim.index[cut_out | cut_in].tolist()
    fix = (
        "Use an extract that includes the connecting roads (or ferries), another "
        "network_type, or the proxy network (no osm key)"
    )
    if isolated:
        msg = (
            f"{source}: zones {isolated[:max_listed]} cannot reach, or cannot be reached from, "
            f"any other zone ({int(unreachable.sum())} of {n * (n - 1)} pairs unreachable): "
            f"their seats lie on a part of the street network that is cut off from the rest. {fix}"
        )
        raise InputError(msg)
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components

    n_groups, labels = connected_components(
        csr_matrix(~np.isnan(values) & off), directed=True, connection="strong"
    )
    if n_groups > 1:
        groups = [skim.index[labels == g].tolist()[:max_listed] for g in range(n_groups)]
        msg = (
            f"{source}: the zones fall into {n_groups} groups that cannot reach each other "
            f"({groups[:max_listed]}; {int(unreachable.sum())} of {n * (n - 1)} pairs "
            "unreachable), so trips between them cannot be balanced. " + fix
        )
        raise InputError(msg)
    count = int(unreachable.sum())
    if count:
        rows, cols = np.nonzero(unreachable)
        pairs = [
            (str(skim.index[int(i)]), str(skim.columns[int(j)]))
            for i, j in zip(rows, cols, strict=True)
        ]
        more = f" and {count - max_listed} more" if count > max_listed else ""
        warnings.warn(
            f"{source}: {count} of {n * (n - 1)} origin-destination pairs are unreachable (or "
            f"beyond cutoff_min), e.g. "
            f"{pairs[:max_listed]}{more}; they have no travel time (empty in travel_times.csv) "
            "and no flows. Check the street network's connectivity",
            UrlinkWarning,
            stacklevel=2,
        )
    return count


def gcj02_offset_between(
    a_lonlat: np.ndarray, b_lonlat: np.ndarray, *, min_pairs: int = 2
) -> Literal["a", "b"] | None:
    """Tell whether two sets of matched points differ by the GCJ-02 offset.

    ``a_lonlat[i]`` and ``b_lonlat[i]`` are the same place in two layers that both claim to
    be WGS84 (e.g. township seats and GeoNames places of the same name). If ``b`` lies where
    ``a`` would be in GCJ-02 (within a quarter of the offset, on the median), ``b`` is
    GCJ-02 declared as WGS84; and the other way round.

    Parameters
    ----------
    a_lonlat, b_lonlat
        ``(n, 2)`` arrays of longitude and latitude.
    min_pairs
        Fewer matched places than this give no verdict.

    Returns
    -------
    "a", "b" or None
        The layer that looks like GCJ-02, or None.

    Examples
    --------
    >>> from urlink.crs import wgs84_to_gcj02
    >>> a = np.array([[121.26, 28.64], [121.10, 28.60], [121.35, 28.55]])
    >>> b = np.column_stack(wgs84_to_gcj02(a[:, 0], a[:, 1]))
    >>> gcj02_offset_between(a, b), gcj02_offset_between(b, a), gcj02_offset_between(a, a)
    ('b', 'a', None)
    """
    from urlink.crs import out_of_china, wgs84_to_gcj02

    a = np.asarray(a_lonlat, dtype=float).reshape(-1, 2)
    b = np.asarray(b_lonlat, dtype=float).reshape(-1, 2)
    keep = np.isfinite(a).all(axis=1) & np.isfinite(b).all(axis=1)
    keep &= (np.abs(a[:, 1]) <= 90) & (np.abs(b[:, 1]) <= 90)
    a, b = a[keep], b[keep]
    if len(a) < min_pairs:
        return None
    keep = ~out_of_china(a[:, 0], a[:, 1])
    a, b = a[keep], b[keep]
    if len(a) < min_pairs:
        return None
    scale = np.column_stack([111_320 * np.cos(np.radians(a[:, 1])), np.full(len(a), 110_540)])
    ga = np.column_stack(wgs84_to_gcj02(a[:, 0], a[:, 1]))
    offset = (ga - a) * scale  # metres from a to a-in-GCJ-02
    moved = (b - a) * scale
    size = float(np.median(np.hypot(*offset.T)))
    if size < 50:
        return None
    if float(np.median(np.hypot(*(moved - offset).T))) < size / 4:
        return "b"
    if float(np.median(np.hypot(*(moved + offset).T))) < size / 4:
        return "a"
    return None


_ZONE_PARAMS = ("from", "to", "zone", "zones", "stops", "links")
"""Strategy parameters that name zones (:mod:`urlink.strategies`)."""


def check_strategy_zones(scenario: Scenario, zones: gpd.GeoDataFrame) -> None:
    """Check that every zone a strategy names (sites and zone parameters) is a zone.

    Parameters
    ----------
    scenario
        A loaded scenario.
    zones
        Its zones.

    Raises
    ------
    InputError
        Naming the scenario file, the strategy, the key and the unknown ids.
    """
    known = set(map(str, zones.index))
    for s in scenario.strategies:
        named: list[tuple[str, object]] = [("sites", list(s.sites))]
        named += [(k, v) for k, v in s.params if k in _ZONE_PARAMS]
        for key, value in named:
            flat = value if isinstance(value, list) else [value]
            ids = [x for v in flat for x in (v if isinstance(v, list) else [v])]
            bad = [x for x in ids if isinstance(x, str) and x not in known]
            if bad:
                where = "sites" if key == "sites" else f"params.{key}"
                msg = (
                    f"{scenario.path}: [[strategies]] {s.name!r}: {where} names {bad[:10]}, "
                    f"which are not zones of the scenario (zone ids look like "
                    f"{sorted(known)[:3]}); use zone ids from the zones layer"
                )
                raise InputError(msg)


def warn_gcj02_offset(
    scenario: Scenario, zones: gpd.GeoDataFrame, places: gpd.GeoDataFrame
) -> None:
    """Warn if the township seats and the settlements of the same name differ by GCJ-02.

    Parameters
    ----------
    scenario
        A scenario with ``[townships]`` and ``[settlements]`` (else nothing is checked).
    zones
        Its zones with ``level``, ``name``, ``seat_lon``, ``seat_lat``.
    places
        The settlements (any CRS).
    """
    if scenario.townships is None or scenario.settlements is None:
        return
    towns = zones[zones["level"] == "township"]
    col = scenario.settlements.names_col or "name"
    if col not in places.columns:
        return
    lonlat = places.geometry.to_crs("EPSG:4326")
    where: dict[str, tuple[float, float]] = {}
    for pid, names in places[col].items():
        for name in str(names).split(";"):
            where.setdefault(name.strip(), (float(lonlat.loc[pid].x), float(lonlat.loc[pid].y)))
    pairs = [
        ((float(r["seat_lon"]), float(r["seat_lat"])), where[str(r["name"])])
        for _, r in towns.iterrows()
        if str(r["name"]) in where
    ]
    if not pairs:
        return
    verdict = gcj02_offset_between(
        np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs])
    )
    if verdict is None:
        return
    layer, spec = (
        ("[townships]", scenario.townships)
        if verdict == "a"
        else ("[settlements]", scenario.settlements)
    )
    other = "gcj02" if spec.coords == "wgs84" else "wgs84"
    warnings.warn(
        f"{spec.path}: the {len(pairs)} township seats and settlements of the same name are "
        f"offset from each other by the GCJ-02 shift (about 500 m): {layer} looks like "
        f'{other.upper()} data declared as {spec.coords.upper()}. Set coords = "{other}" '
        f"in {layer} if the data comes from Amap, Tencent or another Chinese web map (or "
        "fix the coords of the other layer if that one is wrong)",
        UrlinkWarning,
        stacklevel=2,
    )
