"""Zones: administrative boundaries, settlement points and the zones built from them.

A *zones* frame is a :class:`geopandas.GeoDataFrame` indexed by zone id (a string, for
Chinese units the official code: 9-digit NBS township codes, 6-digit county adcodes) in a
local metric CRS (the UTM zone of the study area, see :func:`urlink.io.crs.local_metric_crs`).

Columns of a zones frame (every key documented once, here):

``name``
    Name in the source language (Chinese for Huangyan).
``name_en``
    Latin-script name (pinyin or English) where the source has one, else ``name``.
``level``
    Administrative level of the zone: ``"township"``, ``"county"``, ``"prefecture"`` or
    ``"province"``.
``township_code``, ``county_code``, ``prefecture_code``, ``province_code``
    The zone's administrative codes at every level (missing above the zone's own level is
    impossible; below it they are ``<NA>``). See :func:`admin_codes_from_code`.
``geometry_source``
    Where the polygon comes from, e.g. ``"voronoi-approximation"`` for township cells
    built by :func:`zones_from_points`, or the file name for boundary files.
``coords_source``
    Coordinate system of the source (``"wgs84"`` or :data:`urlink.io.crs.CONVERTED_MARK`).
``seat_lon``, ``seat_lat``
    WGS84 position of the zone's seat (the point flows start and end at).
``seat_source``
    Where the seat comes from (the point file, or ``"representative point of polygon"``).
``area_km2``
    Area of the zone polygon in the metric CRS.
``population``, ``population_source``
    Resident population and where the figure comes from; an estimate says
    ``"estimate: <method>"`` (added by :mod:`urlink.model.population`).
"""

from __future__ import annotations

import codecs
import logging
import re
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from shapely.validation import explain_validity

from urlink.errors import InputError, UrlinkWarning
from urlink.io.crs import Coords, check_coords, gdf_gcj02_to_wgs84, local_metric_crs
from urlink.io.postgis import is_postgis_url, read_postgis_layer, redact_dsn, source_name
from urlink.validate import (
    check_feature_count,
    check_file_size,
    check_no_markup,
    check_text_encoding,
)

if TYPE_CHECKING:
    from pyproj import CRS
    from shapely.geometry.base import BaseGeometry

__all__ = [
    "ADMIN_LEVELS",
    "add_admin_codes",
    "add_seats_from_places",
    "admin_codes_from_code",
    "points_from_file",
    "read_layer",
    "validate_zones",
    "warn_implausible_sizes",
    "zones_from_file",
    "zones_from_points",
]

logger = logging.getLogger(__name__)

ADMIN_LEVELS = ("township", "county", "prefecture", "province")
"""Administrative levels from the smallest to the largest, as used in ``*_code`` columns."""

MIN_ZONE_AREA_M2 = 1.0
"""Smallest zone area (m2): a smaller zone is a collapsed ring or a sliver, not a place."""
MAX_ZONE_AREA_KM2 = 2_500_000.0
"""Largest zone area (km2): more than any Chinese province; larger is a broken polygon."""
MAX_AREA_KM2_BY_LEVEL = {"township": 30_000.0, "county": 300_000.0}
"""Areas beyond any Chinese township or county (the largest: about 20,000 and 200,000 km2);
a larger zone of that level gets a warning (:func:`warn_implausible_sizes`)."""
MAX_REPAIR_CHANGE = 0.01
"""Largest relative area change of an invalid polygon that :func:`validate_zones` repairs."""

_CODE_RE = re.compile(r"^\d{6}(\d{3})?$")


def read_layer(
    path: str | Path,
    *,
    layer: str | None = None,
    what: str = "layer",
    encoding: str | None = None,
) -> gpd.GeoDataFrame:
    """Read a vector file (GeoJSON, GeoPackage, Shapefile, ...) with a clear error on failure.

    Parameters
    ----------
    path
        The file to read.
    layer
        Layer name for multi-layer formats such as GeoPackage.
    what
        What the file is for (``"zones file"``), used in error messages.
    encoding
        Encoding of the attribute text (e.g. ``"gbk"`` for a Shapefile without ``.cpg``);
        by default the file's declared encoding.

    Returns
    -------
    geopandas.GeoDataFrame
        The layer as read, with its declared CRS (possibly None).

    Raises
    ------
    InputError
        If the file is missing, empty, too large (:mod:`urlink.validate`), unreadable, has no
        features or no geometries, or ``encoding`` is unknown.

    Notes
    -----
    A ``postgresql://`` URL as ``path`` reads the PostGIS table named by ``layer``
    (:func:`urlink.store.runs.read_postgis_layer`).
    """
    if is_postgis_url(path):
        return read_postgis_layer(str(path), table=layer, what=what)
    p = Path(path)
    if not p.exists():
        msg = f"{what} {str(p)!r} does not exist; check the path"
        raise InputError(msg)
    if p.is_file() and p.stat().st_size == 0:
        msg = f"{what} {str(p)!r} is empty (0 bytes); point to a GeoJSON, GeoPackage or Shapefile"
        raise InputError(msg)
    if not p.is_dir():  # a folder may be a dataset (Shapefiles); FIFOs are never opened
        check_file_size(p, kind="vector", what=what)
    _check_feature_count_early(p, layer=layer, what=what)
    kwargs = {}
    if encoding is not None:
        try:
            codecs.lookup(encoding)
        except LookupError:
            msg = (
                f"{what} {str(p)!r}: encoding={encoding!r} is not a known text encoding; use "
                "e.g. 'gbk' or 'utf-8'"
            )
            raise InputError(msg) from None
        kwargs["encoding"] = encoding
    try:
        with warnings.catch_warnings():
            # GDAL's notes on odd files are not the user's business; errors are raised below
            warnings.simplefilter("ignore", RuntimeWarning)
            gdf = gpd.read_file(p, layer=layer, **kwargs)
    except Exception as err:  # pyogrio raises several types; all mean "cannot read this"
        msg = (
            f"{what} {str(p)!r} could not be read as a vector layer ({err}); "
            "use GeoJSON, GeoPackage or Shapefile"
        )
        raise InputError(msg) from None
    if len(gdf) == 0:
        msg = f"{what} {str(p)!r} has no features"
        raise InputError(msg)
    check_feature_count(len(gdf), source=f"{what} {str(p)!r}")
    if not isinstance(gdf, gpd.GeoDataFrame):
        msg = (
            f"{what} {str(p)!r} has no geometries (is it a table?); use a GeoJSON, GeoPackage "
            "or Shapefile with point or polygon features"
        )
        raise InputError(msg)
    return gdf


def _check_feature_count_early(p: Path, *, layer: str | None, what: str) -> None:
    """Refuse a layer with more than MAX_FEATURES features before its geometries are read."""
    try:
        n = int(pyogrio.read_info(p, layer=layer).get("features", -1))
    except Exception:  # unreadable files are reported by the reader itself
        return
    if n > 0:
        check_feature_count(n, source=f"{what} {str(p)!r}")


def _ids_as_str(values: pd.Series, *, source: str, id_col: str) -> pd.Index:
    """Turn an id column into a string index, rejecting missing and duplicate ids."""
    missing = values.isna()
    if missing.any():
        rows = [int(i) for i in np.flatnonzero(missing.to_numpy())][:10]
        msg = f"{source}: column {id_col!r} is empty in rows {rows}; every feature needs an id"
        raise InputError(msg)

    def as_str(v: object) -> str:
        if isinstance(v, float) and v.is_integer():
            return str(int(v))
        return str(v).strip()

    ids = pd.Index([as_str(v) for v in values], name="zone_id", dtype=object)
    dup = ids[ids.duplicated()].unique().tolist()
    if dup:
        msg = f"{source}: column {id_col!r} has duplicate ids {dup[:10]}; ids must be unique"
        raise InputError(msg)
    return ids


def _check_columns(gdf: gpd.GeoDataFrame, cols: dict[str, str | None], *, source: str) -> None:
    available = [c for c in gdf.columns if c != gdf.geometry.name]
    for arg, col in cols.items():
        if col is not None and col not in gdf.columns:
            msg = f"{source}: {arg}={col!r} is not a column; available columns: {available}"
            raise InputError(msg)


def _check_lonlat_range(gdf: gpd.GeoDataFrame, *, source: str) -> None:
    """Refuse degrees that cannot be degrees: metres without a CRS, or swapped lat/lon."""
    xmin, ymin, xmax, ymax = (float(v) for v in gdf.total_bounds)
    if xmin >= -180.0 and xmax <= 180.0 and ymin >= -90.0 and ymax <= 90.0:
        return
    crs = gdf.crs.to_string() if gdf.crs is not None else "none"
    if xmin >= -90.0 and xmax <= 90.0 and ymin >= -180.0 and ymax <= 180.0:
        msg = (
            f"{source}: latitude values up to {max(abs(ymin), abs(ymax)):.4f} are beyond 90 "
            f"degrees while longitudes lie in [{xmin:.4f}, {xmax:.4f}]: longitude and latitude "
            "are swapped. Write coordinates as (longitude, latitude), e.g. [121.26, 28.64]"
        )
        raise InputError(msg)
    msg = (
        f"{source}: coordinates spanning x {xmin:.6g}..{xmax:.6g}, y {ymin:.6g}..{ymax:.6g} "
        "are not degrees, but the "
        f"layer's CRS is geographic ({crs}; a GeoJSON without a CRS is read as WGS84). They "
        "look projected (metres): declare the CRS they are in (save as GeoPackage, or add a "
        ".prj to a Shapefile), or reproject the file to WGS84 longitude/latitude"
    )
    raise InputError(msg)


def _to_lonlat(gdf: gpd.GeoDataFrame, *, coords: Coords, source: str) -> gpd.GeoDataFrame:
    """Bring a layer to WGS84 lon/lat, converting GCJ-02 and reprojecting other CRSs."""
    if gdf.crs is None:
        msg = (
            f"{source}: the layer has no CRS. Declare it in the file (e.g. a .prj for a "
            "Shapefile) or set it with GeoDataFrame.set_crs before loading"
        )
        raise InputError(msg)
    if gdf.crs.is_geographic:
        _check_lonlat_range(gdf, source=source)
    if coords == "gcj02":
        return gdf_gcj02_to_wgs84(gdf, source=source)
    if not gdf.crs.equals("EPSG:4326"):
        logger.warning(
            "%s: the layer is in %s; reprojected to WGS84 (EPSG:4326) to match the other layers",
            source,
            gdf.crs.to_string(),
        )
        gdf = gdf.to_crs("EPSG:4326")
        _check_lonlat_range(gdf, source=source)
    if "coords_source" not in gdf.columns:
        gdf["coords_source"] = "wgs84"
    return gdf


def _check_antimeridian(gdf: gpd.GeoDataFrame, ids: pd.Index, *, source: str) -> None:
    """Refuse features spanning more than 180 degrees of longitude (crossing the antimeridian)."""
    bounds = shapely.bounds(np.asarray(gdf.geometry.array, dtype=object))
    wide = (bounds[:, 2] - bounds[:, 0]) > 180.0
    if wide.any():
        bad = ids[wide].tolist()[:10]
        msg = (
            f"{source}: features {bad} span more than 180 degrees of longitude (from "
            f"{bounds[wide][0, 0]:.4f} to {bounds[wide][0, 2]:.4f}): they cross the antimeridian "
            "(180 degrees), and read as drawn they would wrap around the globe. Split them at "
            "180 degrees (ogr2ogr -wrapdateline) or give longitudes beyond 180"
        )
        raise InputError(msg)


def _prepare(
    gdf: gpd.GeoDataFrame,
    *,
    id_col: str,
    name_col: str,
    name_en_col: str | None,
    coords: Coords,
    crs: CRS | str | None,
    source: str,
) -> gpd.GeoDataFrame:
    coords = check_coords(coords)
    _check_columns(
        gdf, {"id_col": id_col, "name_col": name_col, "name_en_col": name_en_col}, source=source
    )
    check_text_encoding(gdf, [name_col, name_en_col], source=source)
    ids = _ids_as_str(gdf[id_col], source=source, id_col=id_col)
    empty = gdf.geometry.isna() | gdf.geometry.is_empty
    if empty.any():
        bad = ids[empty.to_numpy()].tolist()[:10]
        msg = f"{source}: features {bad} have empty geometry; remove them or give them a shape"
        raise InputError(msg)
    xy = shapely.get_coordinates(np.asarray(gdf.geometry.array, dtype=object))
    if not np.isfinite(xy).all():
        msg = f"{source}: some coordinates are NaN or infinite; fix or remove those features"
        raise InputError(msg)
    for col in (name_col, name_en_col):
        if col is not None:
            check_no_markup(pd.Series(gdf[col].to_numpy(), index=ids), source=source, column=col)
    gdf = _to_lonlat(gdf, coords=coords, source=source)
    _check_antimeridian(gdf, ids, source=source)
    target = local_metric_crs(gdf) if crs is None else crs
    out = gdf.to_crs(target)
    out.index = ids
    out["name"] = out[name_col].astype(str)
    out["name_en"] = out[name_en_col].astype(str) if name_en_col else out["name"]
    return out


def points_from_file(
    path: str | Path,
    *,
    id_col: str,
    name_col: str,
    name_en_col: str | None = None,
    coords: Coords = "wgs84",
    layer: str | None = None,
    crs: CRS | str | None = None,
    encoding: str | None = None,
) -> gpd.GeoDataFrame:
    """Load settlement points (township seats, villages) indexed by id.

    Parameters
    ----------
    path
        Vector file with point features.
    id_col, name_col
        Columns with the unique id and the name.
    name_en_col
        Optional column with a Latin-script name.
    coords
        ``"wgs84"`` or ``"gcj02"`` (GCJ-02 values are converted to WGS84 on load).
    layer
        Layer name for multi-layer files.
    crs
        Target CRS; by default the UTM zone of the points.
    encoding
        Encoding of the attribute text if the file does not declare it (``"gbk"``).

    Returns
    -------
    geopandas.GeoDataFrame
        Points in the target CRS, indexed by id, with ``name``, ``name_en`` and
        ``coords_source`` columns next to the original ones.

    Raises
    ------
    InputError
        On a missing file or column, missing or duplicate ids, no CRS, empty or non-point
        geometries.

    Examples
    --------
    >>> seats = points_from_file("data/places/huangyan_township_seats.geojson",
    ...                          id_col="code", name_col="name_zh")
    >>> len(seats), seats.crs.to_epsg()
    (19, 32651)
    """
    source = _source(path, layer)
    gdf = read_layer(path, layer=layer, what="points file", encoding=encoding)
    kinds = set(gdf.geom_type.dropna().unique())
    if not kinds <= {"Point"}:
        msg = f"{source}: expected Point geometries, found {sorted(kinds)}"
        raise InputError(msg)
    return _prepare(
        gdf,
        id_col=id_col,
        name_col=name_col,
        name_en_col=name_en_col,
        coords=coords,
        crs=crs,
        source=source,
    )


def validate_zones(zones: gpd.GeoDataFrame, *, source: str = "zones") -> gpd.GeoDataFrame:
    """Check and repair a zones frame: polygons only, valid, non-empty, unique ids, a CRS.

    Zones of (almost) no area (below :data:`MIN_ZONE_AREA_M2`) or larger than any province
    (:data:`MAX_ZONE_AREA_KM2`) are refused; consecutive repeated points are removed with a
    warning. Invalid polygons are repaired with :func:`shapely.make_valid` if that changes
    their area by at most :data:`MAX_REPAIR_CHANGE` (1 %: slivers, spikes); a
    :class:`~urlink.errors.UrlinkWarning` reports which zones changed and by how much area.
    Larger changes (a self-intersecting "bow tie") are refused: the repair would be a guess.

    Parameters
    ----------
    zones
        Zones indexed by id.
    source
        Name of the data for messages.

    Returns
    -------
    geopandas.GeoDataFrame
        The zones with valid (Multi)Polygon geometry.

    Raises
    ------
    InputError
        If the frame has no CRS, duplicate ids, non-polygon or empty geometries, or invalid
        polygons whose repair would change their area by more than 1 %.
    """
    if zones.crs is None:
        msg = f"{source}: zones have no CRS; set one with GeoDataFrame.set_crs"
        raise InputError(msg)
    if zones.index.has_duplicates:
        dup = zones.index[zones.index.duplicated()].unique().tolist()[:10]
        msg = f"{source}: duplicate zone ids {dup}; ids must be unique"
        raise InputError(msg)
    geoms = np.asarray(zones.geometry.array, dtype=object)
    polygons = np.isin(shapely.get_type_id(geoms), [3, 6])  # others are refused below
    shapes = gpd.GeoSeries(shapely.make_valid(geoms[polygons]), crs=zones.crs)
    if zones.crs.is_geographic and len(shapes):  # areas in m2, not square degrees
        shapes = shapes.to_crs(local_metric_crs(gpd.GeoDataFrame(geometry=shapes)))
    _check_areas(zones.index[polygons], shapes.area.to_numpy(), source=source)
    geoms = _without_repeated_points(zones.index, geoms, source=source)
    zones = zones.set_geometry(gpd.GeoSeries(geoms, index=zones.index, crs=zones.crs))
    invalid = ~shapely.is_valid(geoms)
    if invalid.any():
        before = shapely.area(geoms[invalid])
        fixed = shapely.make_valid(geoms[invalid])
        # keep the polygonal part (make_valid may return lines from collapsed rings)
        fixed = np.array([_polygonal(g) for g in fixed], dtype=object)
        after = shapely.area(fixed)
        ids = zones.index[invalid].tolist()
        # a repair that changes a zone's area by more than MAX_REPAIR_CHANGE is a guess
        # (a self-intersecting "bow tie", rings in the wrong order): refuse it
        rel = np.abs(after - before) / np.maximum(np.abs(before), 1e-12)
        big = (before <= 0) | (rel > MAX_REPAIR_CHANGE)
        if big.any():
            worst = [str(i) for i, b in zip(ids, big, strict=True) if b][:10]
            reasons = ", ".join(
                f"{i}: {explain_validity(g)}"
                for i, g, b in zip(ids, geoms[invalid], big, strict=True)
                if b
            )
            msg = (
                f"{source}: polygons {worst} are invalid (self-intersecting or badly ordered "
                f"rings: {reasons}) and repairing them would change their area by more than "
                f"{MAX_REPAIR_CHANGE:.0%}; fix them in the source data (QGIS: Vector > Geometry "
                "Tools > Check Validity, then Fix Geometries)"
            )
            raise InputError(msg)
        change = float((after.sum() - before.sum()) / before.sum() * 100)
        warnings.warn(
            f"{source}: {len(ids)} invalid polygon(s) {ids[:10]} repaired with make_valid; "
            f"their area changed by {change:+.3f}% ({before.sum() / 1e6:.4f} -> "
            f"{after.sum() / 1e6:.4f} km2 in the metric CRS). Fix the source data to silence "
            "this warning.",
            UrlinkWarning,
            stacklevel=2,
        )
        geoms = geoms.copy()
        geoms[invalid] = fixed
        zones = zones.set_geometry(gpd.GeoSeries(geoms, index=zones.index, crs=zones.crs))
    kinds = zones.geom_type
    bad = ~kinds.isin(["Polygon", "MultiPolygon"]) | zones.geometry.is_empty
    if bad.any():
        detail = {str(i): str(k) for i, k in kinds[bad].items()}
        msg = (
            f"{source}: zones must be polygons; these are not (or are empty): "
            f"{dict(list(detail.items())[:10])}"
        )
        raise InputError(msg)
    return zones


def _check_areas(ids: pd.Index, area_m2: np.ndarray, *, source: str) -> None:
    """Refuse zones of (near) zero area and zones too large to be one zone."""
    tiny = area_m2 < MIN_ZONE_AREA_M2
    if tiny.any():
        detail = {
            str(i): round(float(a), 1) for i, a in zip(ids[tiny], area_m2[tiny], strict=True)
        }
        msg = (
            f"{source}: zones {list(detail)[:10]} have (almost) no area (m2: "
            f"{dict(list(detail.items())[:10])}; the least is {MIN_ZONE_AREA_M2:g} m2, "
            "urlink.io.boundaries.MIN_ZONE_AREA_M2): a collapsed ring or a sliver; fix or remove "
            "them in the source data"
        )
        raise InputError(msg)
    huge = area_m2 / 1e6 > MAX_ZONE_AREA_KM2
    if huge.any():
        sizes = {
            str(i): f"{a / 1e6:,.0f} km2" for i, a in zip(ids[huge], area_m2[huge], strict=True)
        }
        msg = (
            f"{source}: zones {dict(list(sizes.items())[:10])} are larger than any province "
            f"({MAX_ZONE_AREA_KM2:,.0f} km2, urlink.io.boundaries.MAX_ZONE_AREA_KM2); the "
            "polygon is broken (a ring around the globe, or coordinates in the wrong order)"
        )
        raise InputError(msg)


def warn_implausible_sizes(zones: gpd.GeoDataFrame, *, source: str) -> list[str]:
    """Warn about zones larger than any unit of their level (:data:`MAX_AREA_KM2_BY_LEVEL`).

    Parameters
    ----------
    zones
        Zones with ``level`` and ``area_km2``.
    source
        Name of the data for messages.

    Returns
    -------
    list of str
        The ids warned about (the zones are kept: a warning, not an error).
    """
    out: list[str] = []
    for level, limit in MAX_AREA_KM2_BY_LEVEL.items():
        big = zones[(zones["level"] == level) & (zones["area_km2"] > limit)]
        if len(big):
            sizes = {str(i): f"{a:,.0f} km2" for i, a in big["area_km2"].items()}
            warnings.warn(
                f"{source}: {level} zones {dict(list(sizes.items())[:10])} are larger than any "
                f"{level} in China ({limit:,.0f} km2); kept, but check their polygons and level",
                UrlinkWarning,
                stacklevel=2,
            )
            out += list(sizes)
    return out


def _without_repeated_points(ids: pd.Index, geoms: np.ndarray, *, source: str) -> np.ndarray:
    """Drop consecutive repeated points from rings, with a warning naming the zones."""
    cleaned = shapely.remove_repeated_points(geoms, tolerance=0.0)
    dropped = shapely.get_num_coordinates(geoms) - shapely.get_num_coordinates(cleaned)
    if not dropped.any():
        return geoms
    changed = [str(i) for i in ids[dropped > 0]]
    warnings.warn(
        f"{source}: {int(dropped.sum())} repeated point(s) removed from the rings of zones "
        f"{changed[:10]} (consecutive duplicates; the shapes are unchanged)",
        UrlinkWarning,
        stacklevel=3,
    )
    return np.asarray(cleaned, dtype=object)


def _polygonal(geom: BaseGeometry) -> BaseGeometry:
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [g for g in getattr(geom, "geoms", []) if g.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts) if parts else shapely.Polygon()


def _source(path: str | Path, layer: str | None) -> str:
    """Name an input for messages: the file, or the PostGIS connection and table."""
    if is_postgis_url(path):
        return f"{redact_dsn(str(path))} table {layer!r}"
    return str(path)


def zones_from_file(
    path: str | Path,
    *,
    id_col: str,
    name_col: str,
    name_en_col: str | None = None,
    coords: Coords = "wgs84",
    layer: str | None = None,
    crs: CRS | str | None = None,
    encoding: str | None = None,
) -> gpd.GeoDataFrame:
    """Load administrative boundaries as a validated zones frame.

    Parameters
    ----------
    path
        GeoJSON, GeoPackage or Shapefile with polygon features.
    id_col, name_col
        Columns with the unique zone id (e.g. the adcode) and the name.
    name_en_col
        Optional column with a Latin-script name.
    coords
        ``"wgs84"`` or ``"gcj02"``. Amap-derived files are GCJ-02 even when tagged EPSG:4326.
    layer
        Layer name for multi-layer files.
    crs
        Target CRS; by default the UTM zone of the study area.
    encoding
        Encoding of the attribute text if the file does not declare it (``"gbk"`` for a
        Chinese Shapefile without ``.cpg``).

    Returns
    -------
    geopandas.GeoDataFrame
        Zones indexed by id (str) in the metric CRS, with ``name``, ``name_en``,
        ``geometry_source``, ``coords_source``, ``seat_lon``, ``seat_lat``, ``seat_source``
        and ``area_km2`` columns (admin codes: :func:`add_admin_codes`).

    Raises
    ------
    InputError
        On a missing or unreadable file, a missing column, missing or duplicate ids, a layer
        with no CRS, or empty or non-polygon geometries.

    Examples
    --------
    >>> z = zones_from_file("data/boundaries/taizhou_counties_gcj02.geojson",
    ...                     id_col="adcode", name_col="name_zh", coords="gcj02")
    >>> z.loc["331003", "name"], round(float(z.loc["331003", "area_km2"]))
    ('黄岩区', 989)
    """
    source = _source(path, layer)
    gdf = read_layer(path, layer=layer, what="zones file", encoding=encoding)
    zones = _prepare(
        gdf,
        id_col=id_col,
        name_col=name_col,
        name_en_col=name_en_col,
        coords=coords,
        crs=crs,
        source=source,
    )
    zones = validate_zones(zones, source=source)
    zones["geometry_source"] = source_name(path, layer)
    seats = zones.geometry.representative_point().to_crs("EPSG:4326")
    zones["seat_lon"] = seats.x.to_numpy()
    zones["seat_lat"] = seats.y.to_numpy()
    zones["seat_source"] = "representative point of polygon"
    zones["area_km2"] = zones.geometry.area / 1e6
    return zones


def zones_from_points(
    points: gpd.GeoDataFrame,
    *,
    within: BaseGeometry | gpd.GeoSeries | gpd.GeoDataFrame,
) -> gpd.GeoDataFrame:
    """Build approximate zones as Voronoi cells around points, clipped to a polygon.

    Used where no official boundaries exist (Huangyan's townships): every place in
    ``within`` belongs to the zone of its nearest point (straight-line distance in the metric
    CRS). The cells partition ``within`` exactly. Every zone is labelled
    ``geometry_source = "voronoi-approximation"``.

    Parameters
    ----------
    points
        Points indexed by zone id, in a metric CRS (e.g. from :func:`points_from_file`).
    within
        The polygon to fill, in the CRS of ``points`` (a geometry, or a GeoSeries/GeoDataFrame
        that is merged). A GeoSeries/GeoDataFrame in another CRS is reprojected.

    Returns
    -------
    geopandas.GeoDataFrame
        One zone per point, indexed like ``points``, with the point columns, ``seat_lon``,
        ``seat_lat``, ``seat_source``, ``geometry_source`` and ``area_km2``.

    Raises
    ------
    InputError
        If points have no CRS or a geographic one, share a location, or lie outside
        ``within``.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import Point, box
    >>> pts = gpd.GeoDataFrame({"name": ["a", "b"]}, index=["a", "b"],
    ...                        geometry=[Point(1, 1), Point(3, 1)], crs="EPSG:32651")
    >>> cells = zones_from_points(pts, within=box(0, 0, 4, 2))
    >>> cells.area.tolist()
    [4.0, 4.0]
    """
    if points.crs is None or points.crs.is_geographic:
        msg = (
            "zones_from_points: points need a metric CRS (got "
            f"{None if points.crs is None else points.crs.to_string()}); load them with "
            "points_from_file or reproject with to_crs"
        )
        raise InputError(msg)
    if isinstance(within, gpd.GeoDataFrame | gpd.GeoSeries):
        area = shapely.union_all(np.asarray(within.to_crs(points.crs).geometry.array))
    else:
        area = within
    pts = np.asarray(points.geometry.array, dtype=object)
    outside = ~shapely.covers(area, pts)
    if outside.any():
        msg = (
            f"zones_from_points: points {points.index[outside].tolist()[:10]} lie outside the "
            "polygon they should fill; check their coordinates (and coords='wgs84'/'gcj02')"
        )
        raise InputError(msg)
    xy = shapely.get_coordinates(pts)
    dup = pd.DataFrame(xy).duplicated(keep=False).to_numpy()
    if dup.any():
        msg = f"zones_from_points: points {points.index[dup].tolist()} share a location"
        raise InputError(msg)
    envelope = shapely.box(*shapely.bounds(area)).buffer(1000.0)
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.MultiPoint(xy), extend_to=envelope))
    tree = shapely.STRtree(cells)
    point_idx, cell_idx = tree.query(pts, predicate="within")
    order = np.full(len(pts), -1)
    order[point_idx] = cell_idx
    if (order < 0).any():  # a point on a cell edge cannot happen for distinct points
        msg = "zones_from_points: could not match every point to its Voronoi cell"
        raise InputError(msg)
    clipped = shapely.intersection(cells[order], area)
    zones = gpd.GeoDataFrame(
        points.drop(columns=points.geometry.name),
        geometry=gpd.GeoSeries(clipped, index=points.index, crs=points.crs),
    )
    zones = validate_zones(zones, source="zones_from_points")
    seats = points.geometry.to_crs("EPSG:4326")
    zones["seat_lon"] = seats.x.to_numpy()
    zones["seat_lat"] = seats.y.to_numpy()
    zones["seat_source"] = "point file"
    zones["geometry_source"] = "voronoi-approximation"
    zones["area_km2"] = zones.geometry.area / 1e6
    logger.info("built %d Voronoi zones covering %.1f km2", len(zones), area.area / 1e6)
    return zones


def admin_codes_from_code(code: str) -> dict[str, str | None]:
    """Derive the codes of every administrative level from a Chinese division code.

    GB/T 2260 county codes have 6 digits (2 province, 2 prefecture, 2 county); NBS township
    codes add 3 digits. The prefecture is the first four digits + ``"00"``, the province the
    first two + ``"0000"``.

    Parameters
    ----------
    code
        A 6-digit county or 9-digit township code.

    Returns
    -------
    dict
        ``township_code``, ``county_code``, ``prefecture_code``, ``province_code`` and
        ``level`` (the zone's own level).

    Raises
    ------
    InputError
        If the code is not 6 or 9 digits.

    Examples
    --------
    >>> admin_codes_from_code("331003101")["prefecture_code"]
    '331000'
    >>> admin_codes_from_code("330382")["level"]
    'county'
    """
    if not _CODE_RE.match(code):
        msg = (
            f"zone id {code!r} is not a Chinese division code (6-digit county adcode or "
            "9-digit NBS township code); give admin codes as columns instead"
        )
        raise InputError(msg)
    county = code[:6]
    prefecture = code[:4] + "00"
    province = code[:2] + "0000"
    if len(code) == 9:
        return {
            "township_code": code,
            "county_code": county,
            "prefecture_code": prefecture,
            "province_code": province,
            "level": "township",
        }
    if county == province:
        level = "province"
    elif county == prefecture:
        level = "prefecture"
    else:
        level = "county"
    codes: dict[str, str | None] = {
        "township_code": None,
        "county_code": county if level == "county" else None,
        "prefecture_code": prefecture if level != "province" else None,
        "province_code": province,
        "level": level,
    }
    return codes


def add_admin_codes(zones: gpd.GeoDataFrame, *, source: str | None = None) -> gpd.GeoDataFrame:
    """Return ``zones`` with ``level`` and ``*_code`` columns derived from the zone ids.

    Zones that already have all four ``*_code`` columns and ``level`` are returned as they
    are, so users with non-Chinese data can supply their own codes.

    Parameters
    ----------
    zones
        Zones indexed by Chinese division codes.
    source
        The file the zones come from, named in error messages.

    Returns
    -------
    geopandas.GeoDataFrame
        A copy with the columns added.

    Raises
    ------
    InputError
        If an id is not a Chinese division code and the columns are not given.
    """
    cols = [f"{lvl}_code" for lvl in ADMIN_LEVELS]
    if all(c in zones.columns for c in [*cols, "level"]):
        return zones
    try:
        rows = [admin_codes_from_code(str(i)) for i in zones.index]
    except InputError as err:
        if source is None:
            raise
        msg = f"{source}: {err}"
        raise InputError(msg) from None
    table = pd.DataFrame(rows, index=zones.index)
    out = zones.copy()
    for c in [*cols, "level"]:
        out[c] = table[c].astype("string")
    return out


_SUFFIXES = ("自治县", "区", "县", "市", "旗")


def _short_name(name: str) -> str:
    for suffix in _SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix) + 1:
            return name[: -len(suffix)]
    return name


def add_seats_from_places(
    zones: gpd.GeoDataFrame,
    places: gpd.GeoDataFrame,
    *,
    names_col: str = "name_zh",
    population_col: str | None = "population",
) -> gpd.GeoDataFrame:
    """Return ``zones`` with seats moved to the named seat town where one can be found.

    A county's seat (the town its government sits in) is where its flows start and end.
    Zones whose seat is only the ``"representative point of polygon"`` get the place inside
    them whose alternate names (``names_col``, separated by ``;``) include the zone's name
    (e.g. ``椒江区``), or its short form with the suffix 区/县/市 dropped (``椒江``) or with
    another suffix (``玉环县`` for ``玉环市``). Exact full-name matches win, then places
    with the larger population, then the smaller id. Zones without a match keep their
    representative point (``seat_source`` says so).

    Parameters
    ----------
    zones
        Zones with ``name``, ``seat_lon``, ``seat_lat``, ``seat_source``.
    places
        Settlement points (e.g. GeoNames) indexed by id, any CRS.
    names_col
        Column with ``;``-separated names.
    population_col
        Optional column for tie-breaking.

    Returns
    -------
    geopandas.GeoDataFrame
        A copy of ``zones`` with updated seat columns.

    Raises
    ------
    InputError
        If ``names_col`` is missing.
    """
    if names_col not in places.columns:
        msg = f"places: no column {names_col!r}; columns are {list(places.columns)}"
        raise InputError(msg)
    out = zones.copy()
    pts = places.to_crs(zones.crs)
    lonlat = places.to_crs("EPSG:4326")
    todo = out.index[out["seat_source"] == "representative point of polygon"]
    for zid in todo:
        name = str(out.at[zid, "name"])
        short = _short_name(name)
        inside = pts.index[pts.within(out.geometry.loc[zid])]
        best: tuple[int, float, str] | None = None
        best_id = None
        for pid in inside:
            aliases = [a.strip() for a in str(pts.at[pid, names_col]).split(";")]
            if name in aliases:
                rank = 0
            elif short in aliases or any(
                a != name and _short_name(a) == short and a.endswith(_SUFFIXES) for a in aliases
            ):
                rank = 1
            else:
                continue
            pop = float(pts.at[pid, population_col]) if population_col in pts.columns else 0.0
            key = (rank, -pop, str(pid))
            if best is None or key < best:
                best, best_id = key, pid
        if best_id is not None:
            out.at[zid, "seat_lon"] = float(lonlat.geometry.loc[best_id].x)
            out.at[zid, "seat_lat"] = float(lonlat.geometry.loc[best_id].y)
            out.at[zid, "seat_source"] = (
                f"place {best_id} ({pts.at[best_id, names_col]}): name matches the zone"
            )
    return out
