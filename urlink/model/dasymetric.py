"""Dasymetric population estimate: a national total shared over zones by OSM footprints.

Where no population table exists for the zones, a published total (a census count for the
whole country or region) is shared over the zones in proportion to where people can live:

``buildings``
    Floor area of the residential buildings whose representative point lies in the zone:
    footprint area times ``building:levels`` where tagged, one level where not. Buildings
    whose ``building`` value is in :data:`NON_RESIDENTIAL` (churches, schools, factories,
    greenhouses, ...) are left out.
``residential``
    Area of ``landuse=residential`` inside the zone (polygons cut at zone borders).

With ``weight="auto"`` each zone uses its buildings where they look completely mapped
(building footprints cover at least ``min_coverage`` of the zone's residential land use, or
the zone has buildings but no residential land use) and its residential land use otherwise.
Residential area is converted to floor-area units with the ratio of building floor area to
residential area over the zones that use buildings, so the two kinds of weight add up.
Shares are rounded to integers that sum exactly to the total
(:func:`urlink.model.population.round_to_total`). Every zone's ``population_source`` says
which weight it used and which total it was scaled to.
"""

from __future__ import annotations

import logging
from typing import Literal, get_args

import geopandas as gpd
import numpy as np
import pandas as pd

from urlink.errors import InputError
from urlink.model.population import round_to_total

__all__ = ["NON_RESIDENTIAL", "DasymetricWeight", "add_dasymetric_population"]

logger = logging.getLogger(__name__)

DasymetricWeight = Literal["auto", "buildings", "residential"]
"""What :func:`add_dasymetric_population` shares the total by."""

NON_RESIDENTIAL = frozenset(
    {
        "barn", "bunker", "cathedral", "chapel", "church", "civic", "collapsed",
        "commercial", "construction", "farm_auxiliary", "garage", "garages", "government",
        "greenhouse", "hangar", "hospital", "hotel", "hut", "industrial", "kiosk",
        "mosque", "office", "parking", "public", "religious", "retail", "roof", "ruins",
        "school", "service", "shed", "stable", "supermarket", "temple", "train_station",
        "transformer_tower", "transportation", "university", "warehouse",
    }
)  # fmt: skip
"""``building`` values that are not homes; their floor area carries no residents."""

_BUILDINGS_LABEL = (
    "OSM buildings (floor area = footprint x building:levels, 1 level where untagged; "
    "non-residential building types excluded)"
)
_RESIDENTIAL_LABEL = "OSM residential land use (landuse=residential area)"


def _zone_sums(
    zones: gpd.GeoDataFrame, footprints: gpd.GeoDataFrame
) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Per zone: building floor area, building footprint area, residential area (m²)."""
    fp = footprints.to_crs(zones.crs)
    zone_geoms = gpd.GeoDataFrame(
        {"zone_key": np.arange(len(zones))}, geometry=zones.geometry.to_numpy(), crs=zones.crs
    )
    b = fp[(fp["kind"] == "building") & ~fp["building"].isin(NON_RESIDENTIAL).fillna(False)]
    b = b.assign(
        footprint=b.geometry.area,
        floor=b.geometry.area * b["levels"].fillna(1.0),
    )
    pts = b.set_geometry(b.geometry.representative_point())
    joined = gpd.sjoin(pts, zone_geoms, predicate="within", how="inner")
    n = len(zones)
    key = joined["zone_key"].to_numpy()
    floor = pd.Series(np.bincount(key, joined["floor"].to_numpy(), n), index=zones.index)
    footprint = pd.Series(np.bincount(key, joined["footprint"].to_numpy(), n), index=zones.index)
    res = fp[fp["kind"] == "residential"]
    if res.empty:
        residential = pd.Series(0.0, index=zones.index)
    else:
        cut = gpd.overlay(res[["geometry"]], zone_geoms, how="intersection", keep_geom_type=True)
        residential = pd.Series(
            np.bincount(cut["zone_key"].to_numpy(), cut.geometry.area.to_numpy(), n),
            index=zones.index,
        )
    return floor.astype(float), footprint.astype(float), residential.astype(float)


def add_dasymetric_population(
    zones: gpd.GeoDataFrame,
    footprints: gpd.GeoDataFrame,
    *,
    total: int,
    total_source: str,
    weight: DasymetricWeight = "auto",
    min_coverage: float = 0.25,
) -> gpd.GeoDataFrame:
    """Estimate each zone's population by sharing a total over OSM buildings or land use.

    Parameters
    ----------
    zones
        Zones in a metric CRS (e.g. from :func:`urlink.io.osm_admin.zones_from_osm`).
    footprints
        Buildings and residential land use from
        :func:`urlink.io.osm_admin.footprints_from_osm`.
    total
        The published population of all the zones together (a positive integer).
    total_source
        Citation of ``total``, copied into every ``population_source``.
    weight
        ``"auto"`` (buildings where mapped, else residential land use), ``"buildings"`` or
        ``"residential"``; see the module docstring.
    min_coverage
        With ``weight="auto"``: the share of a zone's residential land use that building
        footprints must cover for the zone to use its buildings.

    Returns
    -------
    geopandas.GeoDataFrame
        A copy of ``zones`` with ``population`` (int64, summing exactly to ``total``) and
        ``population_source`` (``"estimate: dasymetric from ..., scaled to ..."``). Zones
        with neither buildings nor residential land use get 0 people and say so.

    Raises
    ------
    InputError
        If ``weight`` is unknown, ``total`` is not a positive integer, ``min_coverage`` is
        not in [0, 1], ``zones`` has no metric CRS, or no zone has any weight.

    Examples
    --------
    >>> from urlink.io.osm_admin import footprints_from_osm, zones_from_osm
    >>> pbf = "data/osm/malta.osm.pbf"
    >>> zones = zones_from_osm(pbf, admin_level=8, include=[7510559])
    >>> est = add_dasymetric_population(zones, footprints_from_osm(pbf), total=519_562,
    ...     total_source="NSO Malta, Census of Population and Housing 2021, preliminary report")
    >>> int(est["population"].sum())
    519562
    >>> est["population_source"].str.startswith("estimate: dasymetric").all()
    np.True_
    """
    allowed = get_args(DasymetricWeight)
    if weight not in allowed:
        msg = f"weight={weight!r} is not a dasymetric weight; use one of {list(allowed)}"
        raise InputError(msg)
    if isinstance(total, bool) or not isinstance(total, (int, np.integer)) or total <= 0:
        msg = f"total={total!r} must be a positive integer (a published population count)"
        raise InputError(msg)
    if not 0.0 <= min_coverage <= 1.0:
        msg = f"min_coverage={min_coverage!r} must lie between 0 and 1"
        raise InputError(msg)
    if zones.crs is None or zones.crs.is_geographic:
        msg = (
            "add_dasymetric_population: zones need a metric CRS (got "
            f"{zones.crs.to_string() if zones.crs is not None else None!r}); load them with "
            "zones_from_osm or reproject with to_crs(local_metric_crs(zones))"
        )
        raise InputError(msg)
    floor, footprint, residential = _zone_sums(zones, footprints)
    if weight == "buildings":
        use_b = floor > 0
    elif weight == "residential":
        use_b = pd.Series(data=False, index=zones.index)
    else:
        use_b = (floor > 0) & ((residential == 0) | (footprint >= min_coverage * residential))
    both = use_b & (residential > 0)
    k = float(floor[both].sum() / residential[both].sum()) if both.any() else 1.0
    use_r = ~use_b & (residential > 0) & (weight != "buildings")
    w = pd.Series(0.0, index=zones.index)
    w[use_b] = floor[use_b]
    w[use_r] = residential[use_r] * k
    if w.sum() <= 0:
        msg = (
            f"add_dasymetric_population: no zone has any {weight} weight (no residential "
            "buildings or landuse=residential inside the zones); check that the footprints "
            "cover the zones' area"
        )
        raise InputError(msg)
    scaled = f"scaled to {int(total):,} ({total_source})"
    label = pd.Series(
        f"estimate: no OSM buildings or residential land use in the zone, 0 people; {scaled}",
        index=zones.index,
        dtype=object,
    )
    label[use_b] = f"estimate: dasymetric from {_BUILDINGS_LABEL}, {scaled}"
    label[use_r] = f"estimate: dasymetric from {_RESIDENTIAL_LABEL}, {scaled}"
    out = zones.copy()
    out["population"] = round_to_total(w, int(total))
    out["population_source"] = label
    logger.info(
        "dasymetric population: %d zones by buildings, %d by residential land use, %d empty",
        int(use_b.sum()),
        int(use_r.sum()),
        int((w == 0).sum()),
    )
    return out
