"""Zones and footprints from OpenStreetMap PBF files: admin relations, buildings, land use.

:func:`zones_from_osm` turns the ``boundary=administrative`` relations of one
``admin_level`` into a zones frame (the columns of :mod:`urlink.io.boundaries`);
:func:`footprints_from_osm` reads building footprints and residential land use for
:mod:`urlink.model.dasymetric`. Both use pyosmium's area assembly
(``osmium.FileProcessor(...).with_areas()``), which builds (multi)polygons from closed ways
and from relations of type ``multipolygon`` or ``boundary`` in two passes over the file.

Zone ids
--------
The index is ``"osm:relation/<id>"`` for every zone. ``ref`` and ``ISO3166-2`` tags are
kept as the columns ``ref`` and ``iso3166_2`` but are not used as ids: they are missing on
many relations (none of Malta's councils has one in the 2018 extract), and a frame whose ids
mix two schemes cannot be joined reliably. The relation id is always present and unique.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Literal, get_args

import geopandas as gpd
import numpy as np
import osmium
import pandas as pd
import shapely

from urlink.errors import InputError
from urlink.io.boundaries import validate_zones
from urlink.io.crs import local_metric_crs
from urlink.validate import check_file_size

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from pyproj import CRS
    from shapely.geometry.base import BaseGeometry

__all__ = ["GEOMETRY_SOURCE", "NameTag", "footprints_from_osm", "water_from_osm", "zones_from_osm"]

logger = logging.getLogger(__name__)

GEOMETRY_SOURCE = "OpenStreetMap admin relation (ODbL)"
"""``geometry_source`` of every zone built by :func:`zones_from_osm`."""

NameTag = Literal["name", "name:en", "int_name", "official_name"]
"""OSM tags :func:`zones_from_osm` can take the ``name`` column from."""

_PBF_SUFFIXES = (".pbf", ".osm.pbf")


def _check_pbf(path: str | Path, *, what: str) -> Path:
    p = Path(path)
    check_file_size(p, kind="osm", what=what)
    if not p.name.endswith(_PBF_SUFFIXES):
        msg = (
            f"{what} {str(p)!r} is not an OpenStreetMap PBF file (name must end in .osm.pbf "
            "or .pbf); convert it with `osmium cat in.osm -o out.osm.pbf`"
        )
        raise InputError(msg)
    return p


def _areas(path: Path) -> Iterator[osmium.osm.Area]:
    """Every area (closed way or multipolygon/boundary relation) of the file."""
    fp = (
        osmium.FileProcessor(str(path))
        .with_areas()
        .with_filter(osmium.filter.EntityFilter(osmium.osm.AREA))
    )
    for obj in fp:
        if isinstance(obj, osmium.osm.Area):
            yield obj


def _read_failed(path: Path, err: Exception, *, what: str) -> InputError:
    msg = (
        f"{what} {str(path)!r} could not be read as an OpenStreetMap PBF file ({err}); "
        "download a .osm.pbf extract (e.g. from download.geofabrik.de)"
    )
    return InputError(msg)


def _within_lonlat(
    within: BaseGeometry | gpd.GeoSeries | gpd.GeoDataFrame | None,
) -> BaseGeometry | None:
    if within is None or isinstance(within, shapely.Geometry):
        return within
    if within.crs is None:
        msg = "within: the GeoSeries/GeoDataFrame has no CRS; set one with set_crs"
        raise InputError(msg)
    return shapely.union_all(np.asarray(within.to_crs("EPSG:4326").geometry.array))


def zones_from_osm(  # noqa: PLR0915 -- one pass, then checks in order
    path: str | Path,
    *,
    admin_level: int,
    names: NameTag = "name",
    within: BaseGeometry | gpd.GeoSeries | gpd.GeoDataFrame | None = None,
    include: Sequence[int] = (),
    crs: CRS | str | None = None,
) -> gpd.GeoDataFrame:
    """Build zones from the ``boundary=administrative`` relations of an OSM PBF file.

    One zone per relation tagged ``boundary=administrative`` and ``admin_level`` =
    ``admin_level`` whose multipolygon pyosmium could assemble (relations with broken rings,
    e.g. cut by the extract's edge, are skipped and logged).

    Parameters
    ----------
    path
        An ``.osm.pbf`` file.
    admin_level
        The OSM ``admin_level`` (2 countries, 4 regions, 8 municipalities in most countries;
        Malta's 68 local councils are level 8).
    names
        Tag for the ``name`` column; where a relation lacks it, ``name`` is used.
        ``name_en`` is always ``name:en``, else ``name``.
    within
        Keep only relations whose representative point lies in this polygon (a shapely
        geometry in WGS84 lon/lat, or a GeoSeries/GeoDataFrame in any CRS).
    include
        OSM relation ids to take whatever their ``admin_level`` (a mistagged relation:
        Tarxien, 7510559, is ``admin_level=7`` in the 2018 Malta extract).
    crs
        Target CRS; by default the UTM zone of the zones.

    Returns
    -------
    geopandas.GeoDataFrame
        Zones indexed by ``"osm:relation/<id>"`` in the metric CRS, with ``name``,
        ``name_en``, ``level`` (``"admin_level=<n>"``), ``osm_id``, ``ref``, ``iso3166_2``,
        ``geometry_source`` (:data:`GEOMETRY_SOURCE`), ``coords_source``, ``seat_lon``,
        ``seat_lat``, ``seat_source`` and ``area_km2``. Invalid polygons are repaired by
        :func:`urlink.io.boundaries.validate_zones` (with a warning).

    Raises
    ------
    InputError
        If the file is missing, empty, not a PBF or unreadable; ``names`` is not allowed;
        or no relation has the level (the message lists the levels in the file).

    Examples
    --------
    >>> z = zones_from_osm("data/osm/malta.osm.pbf", admin_level=8, include=[7510559])
    >>> len(z), z.crs.to_epsg()
    (68, 32633)
    >>> z.loc["osm:relation/7510580", ["name", "level"]].tolist()
    ['Valletta', 'admin_level=8']
    """
    what = "OSM file"
    allowed = get_args(NameTag)
    if names not in allowed:
        msg = f"names={names!r} is not an OSM name tag urlink reads; use one of {list(allowed)}"
        raise InputError(msg)
    if isinstance(admin_level, bool) or not isinstance(admin_level, int):
        msg = f"admin_level={admin_level!r} must be an integer such as 8"
        raise InputError(msg)
    p = _check_pbf(path, what=what)
    extra = {int(i) for i in include}
    wkb = osmium.geom.WKBFactory()
    rows: list[dict[str, object]] = []
    levels: dict[str, int] = {}
    try:
        for area in _areas(p):
            tags = area.tags
            if area.from_way() or tags.get("boundary") != "administrative":
                continue
            level = tags.get("admin_level") or ""
            levels[level] = levels.get(level, 0) + 1
            rid = area.orig_id()
            if level != str(admin_level) and rid not in extra:
                continue
            name = tags.get("name")
            rows.append(
                {
                    "zone_id": f"osm:relation/{rid}",
                    "name": tags.get(names) or name or f"relation {rid}",
                    "name_en": tags.get("name:en") or name or f"relation {rid}",
                    "level": f"admin_level={level}",
                    "osm_id": rid,
                    "ref": tags.get("ref"),
                    "iso3166_2": tags.get("ISO3166-2"),
                    "geometry": shapely.from_wkb(wkb.create_multipolygon(area)),
                }
            )
    except RuntimeError as err:  # libosmium's parse errors
        raise _read_failed(p, err, what=what) from None
    if not levels:
        msg = (
            f"{what} {str(p)!r} has no boundary=administrative relations that could be "
            "assembled into polygons; use an extract that contains the whole area "
            "(boundary relations cut by the extract's edge cannot be closed)"
        )
        raise InputError(msg)
    if not rows:
        found = {k or "(none)": v for k, v in sorted(levels.items(), key=lambda kv: kv[0])}
        msg = (
            f"{what} {str(p)!r}: admin_level={admin_level!r} has no boundary=administrative "
            f"relations; the file has these levels (relations): {found}"
        )
        raise InputError(msg)
    found_ids = {int(r["osm_id"]) for r in rows}  # type: ignore[call-overload]
    missing = sorted(extra - found_ids)
    if missing:
        msg = (
            f"{what} {str(p)!r}: include={missing} are not boundary=administrative relations "
            "with a polygon in the file; check the relation ids"
        )
        raise InputError(msg)
    gdf = gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:4326").set_index("zone_id")
    region = _within_lonlat(within)
    if region is not None:
        inside = gdf.geometry.representative_point().within(region)
        gdf = gdf[inside.to_numpy()]
        if gdf.empty:
            msg = (
                f"{what} {str(p)!r}: no admin_level={admin_level} relation lies within the "
                "given polygon; check that `within` is in WGS84 lon/lat or has a CRS"
            )
            raise InputError(msg)
    gdf = gdf.sort_index()
    gdf["coords_source"] = "wgs84"
    target = local_metric_crs(gdf) if crs is None else crs
    zones = validate_zones(gdf.to_crs(target), source=str(p))
    zones["geometry_source"] = GEOMETRY_SOURCE
    seats = zones.geometry.representative_point().to_crs("EPSG:4326")
    zones["seat_lon"] = seats.x.to_numpy()
    zones["seat_lat"] = seats.y.to_numpy()
    zones["seat_source"] = "representative point of polygon"
    zones["area_km2"] = zones.geometry.area / 1e6
    for col in ("ref", "iso3166_2"):
        zones[col] = zones[col].astype("string")
    logger.info(
        "%s: %s zones at admin_level=%s, %.1f km2",
        p.name,
        f"{len(zones):,}",
        admin_level,
        float(zones["area_km2"].sum()),
    )
    return zones


def footprints_from_osm(
    path: str | Path,
    *,
    within: BaseGeometry | gpd.GeoSeries | gpd.GeoDataFrame | None = None,
) -> gpd.GeoDataFrame:
    """Read building footprints and residential land use from an OSM PBF file.

    Buildings are areas with a ``building`` tag other than ``no``; residential land use is
    ``landuse=residential``. Both may be closed ways or multipolygon relations.

    Parameters
    ----------
    path
        An ``.osm.pbf`` file.
    within
        Keep only footprints whose representative point lies in this polygon (WGS84 lon/lat
        geometry, or a GeoSeries/GeoDataFrame in any CRS).

    Returns
    -------
    geopandas.GeoDataFrame
        One row per area in WGS84 (EPSG:4326): ``osm_id`` (``"way/<id>"`` or
        ``"relation/<id>"``), ``kind`` (``"building"`` or ``"residential"``), ``building``
        (the tag's value), ``levels`` (``building:levels`` as a number, ``NaN`` where missing
        or not a positive number).

    Raises
    ------
    InputError
        If the file is missing, empty, not a PBF or unreadable, or has neither buildings nor
        residential land use.

    Examples
    --------
    >>> fp = footprints_from_osm("data/osm/malta.osm.pbf")
    >>> sorted(fp["kind"].unique())
    ['building', 'residential']
    """
    what = "OSM file"
    p = _check_pbf(path, what=what)
    wkb = osmium.geom.WKBFactory()
    oids: list[str] = []
    kinds: list[str] = []
    buildings: list[str | None] = []
    levels: list[float] = []
    geoms: list[str] = []
    try:
        for area in _areas(p):
            tags = area.tags
            building = tags.get("building")
            if building is not None and building != "no":
                kind = "building"
            elif tags.get("landuse") == "residential":
                kind = "residential"
            else:
                continue
            oid = f"{'way' if area.from_way() else 'relation'}/{area.orig_id()}"
            oids.append(oid)
            kinds.append(kind)
            buildings.append(building)
            levels.append(_levels(tags.get("building:levels")))
            geoms.append(wkb.create_multipolygon(area))
    except RuntimeError as err:
        raise _read_failed(p, err, what=what) from None
    if not oids:
        msg = (
            f"{what} {str(p)!r} has no building footprints and no landuse=residential areas; "
            "a dasymetric estimate needs one of them"
        )
        raise InputError(msg)
    gdf = gpd.GeoDataFrame(
        {
            "osm_id": oids,
            "kind": kinds,
            "building": pd.Series(buildings, dtype="string"),
            "levels": np.asarray(levels, dtype=float),
        },
        geometry=shapely.from_wkb(np.asarray(geoms, dtype=object)),
        crs="EPSG:4326",
    )
    region = _within_lonlat(within)
    if region is not None:
        gdf = gdf[gdf.geometry.representative_point().within(region).to_numpy()]
    logger.info(
        "%s: %s buildings, %s residential areas",
        p.name,
        f"{int((gdf['kind'] == 'building').sum()):,}",
        f"{int((gdf['kind'] == 'residential').sum()):,}",
    )
    return gdf.reset_index(drop=True)


_WATER = {("natural", "water"), ("landuse", "reservoir"), ("landuse", "basin"),
          ("waterway", "riverbank")}  # fmt: skip


def water_from_osm(
    path: str | Path,
    *,
    within: BaseGeometry | gpd.GeoSeries | gpd.GeoDataFrame | None = None,
    min_area_m2: float = 20_000.0,
) -> gpd.GeoDataFrame:
    """Read water bodies (lakes, reservoirs, river areas) from an OpenStreetMap PBF file.

    For the maps' offline base layer: areas tagged ``natural=water``, ``landuse=reservoir``
    or ``basin``, or ``waterway=riverbank``, of at least ``min_area_m2``.

    Parameters
    ----------
    path
        An ``.osm.pbf`` file.
    within
        Keep only water bodies that intersect this polygon (WGS84 geometry, or a
        GeoSeries/GeoDataFrame in any CRS).
    min_area_m2
        Smallest area kept (ponds and pools are left out).

    Returns
    -------
    geopandas.GeoDataFrame
        ``osm_id``, ``kind`` (the tag, e.g. ``"natural=water"``), ``name`` and polygons in
        WGS84; empty when the file has none.

    Raises
    ------
    InputError
        If the file is missing, not a PBF or unreadable.

    Examples
    --------
    >>> w = water_from_osm("data/osm/malta.osm.pbf")
    >>> len(w) > 0, str(w.crs)
    (True, 'EPSG:4326')
    """
    what = "OSM file"
    p = _check_pbf(path, what=what)
    wkb = osmium.geom.WKBFactory()
    rows: list[dict[str, object]] = []
    try:
        for area in _areas(p):
            tags = area.tags
            kind = next((f"{k}={v}" for k, v in _WATER if tags.get(k) == v), None)
            if kind is None:
                continue
            oid = f"{'way' if area.from_way() else 'relation'}/{area.orig_id()}"
            rows.append(
                {
                    "osm_id": oid,
                    "kind": kind,
                    "name": tags.get("name"),
                    "geometry": shapely.from_wkb(wkb.create_multipolygon(area)),
                }
            )
    except RuntimeError as err:
        raise _read_failed(p, err, what=what) from None
    gdf = gpd.GeoDataFrame(
        rows, columns=["osm_id", "kind", "name", "geometry"], geometry="geometry", crs="EPSG:4326"
    )
    if gdf.empty:
        return gdf
    region = _within_lonlat(within)
    if region is not None:
        gdf = gdf[gdf.intersects(region).to_numpy()]
    if not gdf.empty:
        area_m2 = gdf.to_crs(local_metric_crs(gdf)).area
        gdf = gdf[(area_m2 >= min_area_m2).to_numpy()]
    return gdf.reset_index(drop=True)


def _levels(value: str | None) -> float:
    """``building:levels`` as a positive number, else NaN (``"3"``, ``"2.5"``; not ``"-1"``)."""
    if value is None:
        return float("nan")
    try:
        n = float(value.replace(",", ".").strip())
    except ValueError:
        return float("nan")
    return n if np.isfinite(n) and n > 0 else float("nan")
