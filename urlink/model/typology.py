"""Urban–rural typology of zones: urban, peri-urban or rural, with the reason for each.

:func:`add_typology` classes each zone by its population density, in the spirit of the
Degree of Urbanisation, and by its travel time to the nearest urban zone, in the spirit of
the urban–rural catchment areas (URCA):

1. **urban** if density >= ``urban_density`` (default 1,500 inh/km²);
2. **peri-urban** if density >= ``cluster_density`` (default 300 inh/km²) *or* the travel
   time to the nearest urban zone is <= ``periurban_max_time_min`` (default 30 min);
3. **rural** otherwise, including zones from which no urban zone can be reached.

Sources of the thresholds
-------------------------
``urban_density = 1500`` and ``cluster_density = 300``
    The grid-cell thresholds of the Degree of Urbanisation: UN Statistical Commission 2020,
    *A recommendation on the method to delineate cities, urban and rural areas* (Degree of
    Urbanisation), endorsed at its 51st session; worked out in Eurostat 2021, *Applying the
    Degree of Urbanisation: a methodological manual to define cities, towns and rural areas
    for international comparisons*, and Dijkstra & Poelman 2014, *A harmonised definition of
    cities and rural areas: the new degree of urbanisation* (European Commission Regional
    Working Paper 01/2014). An *urban centre* is a cluster of contiguous 1 km² cells of at
    least 1,500 inh/km² (or at least 50% built up) with at least 50,000 inhabitants; an
    *urban cluster* is a cluster of cells of at least 300 inh/km² with at least 5,000
    inhabitants. Urban-cluster cells outside urban centres are the "suburban or peri-urban"
    cells of the manual's second level, hence the name of the middle class here. The same
    1,500 inh/km² centre definition is the "city" of Weiss et al. 2018 (travel time to
    cities) and of the URCA (Cattaneo, Nelson & McMenomy 2021).
``periurban_max_time_min = 30``
    An assumption, not a published threshold: half an hour one way is the daily
    commuting range implied by a travel-time budget of about one hour a day (Marchetti 1994,
    *Anthropological invariants in travel behavior*, Technological Forecasting and Social
    Change 47:75–88), and it lies inside the first and closest travel-time band (< 1 h) of
    the URCA (Cattaneo, Nelson & McMenomy 2021, *Global mapping of urban–rural catchment
    areas reveals unequal access to services*, PNAS 118(2) e2011990118). Report results with
    this value as an assumption and vary it (e.g. 20–60 min) where the class matters.

Approximations (state them with any result)
-------------------------------------------
* The Degree of Urbanisation is defined on 1 km² grid cells, with contiguity rules and
  cluster population minimums (50,000 and 5,000). Here a whole zone's mean density is
  compared with the cell thresholds and no population minimum is applied, so a large zone
  with a dense core and empty hills can be classed peri-urban or rural although its core
  would be an urban centre on the grid. Densities from a population grid summed over zones
  (:func:`urlink.io.rasters.zonal_population`) are still zone means.
* The Huangyan township zones are Voronoi cells of the township seats clipped to the
  district (``geometry_source = "voronoi-approximation"``, see :mod:`urlink.io.boundaries`),
  and their populations are estimates (:mod:`urlink.model.population`), so their areas and hence
  densities are approximate; a small sub-district's density changes markedly with a few
  km² of boundary error.
* Travel times come from the skim given (on the Huangyan proxy network, straight lines
  times a circuity factor; see :mod:`urlink.network.streets`).

Columns added (on a copy of the zones)
--------------------------------------
``density_per_km2``
    Residents per km²: ``densities`` if given, else ``population / area_km2``.
``typology``
    ``"urban"``, ``"peri-urban"`` or ``"rural"`` (see :data:`TYPOLOGIES`).
``typology_reason``
    The rule that decided the class, with the numbers, e.g.
    ``"density 7,044/km² ≥ 1,500 (urban centre threshold) → urban"``.
``time_to_urban_min``
    Minutes to the nearest urban zone other than the zone itself (from the skim), or the
    given ``time_to_centre_min``; NaN if none is reachable or no travel time was given. For
    urban zones it is the time to the nearest *other* urban zone and does not affect the
    class.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import pandas as pd

from urlink.errors import InputError

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = [
    "DENSITY_SOURCE",
    "TIME_SOURCE",
    "TYPOLOGIES",
    "TypologyParams",
    "add_typology",
]

logger = logging.getLogger(__name__)

TYPOLOGIES: Final = ("urban", "peri-urban", "rural")
"""The classes of :func:`add_typology`, from the most to the least urban."""

DENSITY_SOURCE: Final = (
    "UN Statistical Commission 2020, A recommendation on the method to delineate cities, "
    "urban and rural areas (Degree of Urbanisation): urban centre cells >= 1,500 inh/km², "
    "urban cluster cells >= 300 inh/km² (defined on 1 km² grid cells; applied to zone means)"
)
"""Source of the default density thresholds of :class:`TypologyParams`."""

TIME_SOURCE: Final = (
    "assumption: 30 min one way, the daily commuting range of a ~1 h/day travel-time budget "
    "(Marchetti 1994), inside the < 1 h band of the urban-rural catchment areas "
    "(Cattaneo, Nelson & McMenomy 2021, PNAS 118(2) e2011990118)"
)
"""Source of the default travel-time threshold of :class:`TypologyParams`."""

_MAX_LISTED = 10


@dataclass(frozen=True, slots=True)
class TypologyParams:
    """Thresholds of :func:`add_typology` and where they come from.

    Attributes
    ----------
    urban_density
        Residents per km² at or above which a zone is urban (urban centre cells of the Degree
        of Urbanisation: 1,500).
    cluster_density
        Residents per km² at or above which a zone is at least peri-urban (urban cluster
        cells: 300); must be below ``urban_density``.
    periurban_max_time_min
        Minutes to the nearest urban zone at or below which a zone is at least peri-urban
        (30, an assumption; see the module docstring).
    density_source
        Where the density thresholds come from (reported with results).
    time_source
        Where the travel-time threshold comes from.

    Examples
    --------
    >>> TypologyParams().urban_density
    1500.0
    >>> TypologyParams(periurban_max_time_min=45).periurban_max_time_min
    45
    >>> from urlink.errors import InputError
    >>> try:
    ...     TypologyParams(cluster_density=2000)
    ... except InputError as err:
    ...     print(err)
    cluster_density = 2000 must be below urban_density = 1500.0 (defaults 300 and 1500 inh/km²)
    """

    urban_density: float = 1500.0
    cluster_density: float = 300.0
    periurban_max_time_min: float = 30.0
    density_source: str = DENSITY_SOURCE
    time_source: str = TIME_SOURCE

    def __post_init__(self) -> None:
        """Check that the thresholds are finite, positive and ordered."""
        for name in ("urban_density", "cluster_density", "periurban_max_time_min"):
            v = getattr(self, name)
            ok = isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool)
            if not (ok and math.isfinite(v) and v >= 0):
                msg = (
                    f"{name} = {v!r} must be a finite number >= 0 "
                    f"(default {getattr(TypologyParams, name)!r})"
                )
                raise InputError(msg)
        if not self.cluster_density > 0:
            msg = f"cluster_density = {self.cluster_density!r} must be > 0 (default 300)"
            raise InputError(msg)
        if not self.cluster_density < self.urban_density:
            msg = (
                f"cluster_density = {self.cluster_density!r} must be below urban_density = "
                f"{self.urban_density!r} (defaults 300 and 1500 inh/km²)"
            )
            raise InputError(msg)
        for name in ("density_source", "time_source"):
            v = getattr(self, name)
            if not (isinstance(v, str) and v.strip()):
                msg = f"{name} = {v!r} must be a non-empty string saying where the value is from"
                raise InputError(msg)


def _ids(ids: list[Any]) -> str:
    shown = [str(i) for i in ids[:_MAX_LISTED]]
    more = f" and {len(ids) - _MAX_LISTED} more" if len(ids) > _MAX_LISTED else ""
    return f"{shown}{more}"


def _num(x: float, *refs: float) -> str:
    """Format ``x`` with thousands separators and as few decimals as keep it apart from refs.

    So a density of 1,499.6 is never printed as "1,500" next to a 1,500 threshold.
    """
    for nd in (0, 1, 2, 3):
        s = f"{x:,.{nd}f}"
        if all(x == ref or s != f"{ref:,.{nd}f}" for ref in refs):
            return s
    return f"{x:,}"


def _thr(x: float) -> str:
    return f"{x:,g}"


def _aligned(
    values: pd.Series, zones: pd.DataFrame, *, argument: str, unit: str, allow_nan: bool
) -> pd.Series:
    """Values for every zone, in zone order, checked to be numbers >= 0."""
    if not isinstance(values, pd.Series):
        msg = f"{argument} must be a pandas Series indexed by zone id, got {type(values).__name__}"
        raise InputError(msg)
    same = values.index.equals(zones.index)  # e.g. a column of the zones: already aligned
    missing = [] if same else zones.index.difference(values.index).tolist()
    if missing:
        msg = (
            f"{argument} has no value for zones {_ids(missing)}; give one per zone id of "
            "zones.index"
        )
        raise InputError(msg)
    if values.index.has_duplicates:
        dup = values.index[values.index.duplicated()].unique().tolist()
        msg = f"{argument} has duplicate zone ids {_ids(dup)}; give one value per zone"
        raise InputError(msg)
    aligned = values if same else values.reindex(zones.index)
    out = pd.to_numeric(aligned, errors="coerce").astype("float64")
    bad = out.isna() & aligned.notna()
    bad |= out < 0
    bad |= np.isinf(out)
    if not allow_nan:
        bad |= out.isna()
    if bad.any():
        shown = {str(k): v for k, v in values.reindex(zones.index)[bad].head(_MAX_LISTED).items()}
        need = "numbers >= 0" + ("" if allow_nan else " (no NaN)")
        msg = f"{argument} must be {need} in {unit}; bad values: {shown}"
        raise InputError(msg)
    return out


def _zone_densities(zones: pd.DataFrame, densities: pd.Series | None) -> pd.Series:
    if densities is not None:
        return _aligned(
            densities, zones, argument="densities", unit="residents per km²", allow_nan=False
        )
    missing = [c for c in ("population", "area_km2") if c not in zones.columns]
    if missing:
        msg = (
            f"zones have no column(s) {missing} to compute densities from; add them "
            "(urlink.scenario.build.zones_from_scenario does) or pass densities="
        )
        raise InputError(msg)
    pop = _aligned(
        zones["population"],
        zones,
        argument="zones['population']",
        unit="residents",
        allow_nan=False,
    )
    area = pd.to_numeric(zones["area_km2"], errors="coerce").astype("float64")
    bad = ~(area > 0) | np.isinf(area)
    if bad.any():
        shown = {str(k): v for k, v in zones["area_km2"][bad].head(_MAX_LISTED).items()}
        msg = f"zones['area_km2'] must be positive km² to compute densities; bad values: {shown}"
        raise InputError(msg)
    return pop / area


def _time_from_skim(skim: pd.DataFrame, zones: pd.DataFrame, urban: pd.Series) -> pd.Series:
    """Minutes from each zone to its nearest urban zone other than itself (NaN if none)."""
    if not isinstance(skim, pd.DataFrame):
        msg = f"skim must be a DataFrame of minutes (origin x destination), got {type(skim)}"
        raise InputError(msg)
    fix = "compute it with urlink.network.skims.travel_time_matrix(G, zones)"
    rows = zones.index.difference(skim.index).tolist()
    cols = zones.index.difference(skim.columns).tolist()
    if rows or cols:
        parts = [
            f"zones {_ids(ids)} as {role}"
            for ids, role in ((rows, "origins"), (cols, "destinations"))
            if ids
        ]
        msg = f"skim lacks {' and '.join(parts)}; {fix}"
        raise InputError(msg)
    if skim.index.has_duplicates or skim.columns.has_duplicates:
        msg = f"skim has duplicate zone ids in its index or columns; {fix}"
        raise InputError(msg)
    urban_ids = urban.index[urban].tolist()
    numeric = all(pd.api.types.is_numeric_dtype(t) for t in skim.dtypes)
    rows_at = skim.index.get_indexer(zones.index)
    cols_at = skim.columns.get_indexer(pd.Index(urban_ids))
    own = pd.Index(urban_ids).get_indexer(zones.index)  # each zone's own column, -1 if rural
    nearest = np.full(len(zones), np.nan)
    step = _BLOCK_ROWS if numeric else max(len(zones), 1)
    for a in range(0, len(zones), step):  # by blocks of zones: no dense copy (#20)
        b = min(a + step, len(zones))
        if numeric:
            # the block's rows first, then the urban columns: never a whole-height copy
            block = skim.iloc[rows_at[a:b]].to_numpy(dtype="float64")
            minutes = block[:, cols_at]
        else:
            sub = skim.loc[zones.index[a:b], urban_ids].apply(pd.to_numeric, errors="coerce")
            minutes = sub.to_numpy(dtype="float64", copy=True)
        if (minutes < 0).any():
            msg = (
                "skim has negative travel times; it must hold minutes >= 0 (NaN unreachable); "
                f"{fix}"
            )
            raise InputError(msg)
        mine = np.flatnonzero(own[a:b] >= 0)
        minutes[mine, own[a:b][mine]] = np.nan
        with np.errstate(invalid="ignore"):
            reach = ~np.isnan(minutes).all(axis=1) if minutes.shape[1] else np.zeros(b - a, bool)
            if reach.any():
                nearest[a:b][reach] = np.nanmin(minutes[reach], axis=1)
    return pd.Series(nearest, index=zones.index, dtype="float64")


_BLOCK_ROWS = 512
"""Zones whose times to the urban zones are read from the skim at once."""


def _reason(
    d: float, t: float, p: TypologyParams, *, target: str, no_time: str
) -> tuple[str, str]:
    """Return the class and the reason sentence of one zone."""
    density = f"density {_num(d, p.urban_density, p.cluster_density)}/km²"
    if d >= p.urban_density:
        return "urban", f"{density} ≥ {_thr(p.urban_density)} (urban centre threshold) → urban"
    T = p.periurban_max_time_min
    near = not math.isnan(t) and t <= T
    time_txt = f"{_num(t, T)} min to the nearest {target}" if not math.isnan(t) else ""
    if d >= p.cluster_density:
        txt = f"{density} ≥ {_thr(p.cluster_density)} (urban cluster threshold)"
        if near:
            txt += f" and {time_txt} ≤ {_thr(T)} min"
        return "peri-urban", f"{txt} → peri-urban"
    txt = f"{density} < {_thr(p.cluster_density)}"
    if near:
        return "peri-urban", f"{txt} but {time_txt} ≤ {_thr(T)} min → peri-urban"
    if math.isnan(t):
        return "rural", f"{txt} and {no_time} → rural"
    return "rural", f"{txt} and {time_txt} > {_thr(T)} min → rural"


def add_typology(
    zones: gpd.GeoDataFrame,
    *,
    time_to_centre_min: pd.Series | None = None,
    skim: pd.DataFrame | None = None,
    params: TypologyParams = TypologyParams(),
    densities: pd.Series | None = None,
) -> gpd.GeoDataFrame:
    """Class zones as urban, peri-urban or rural by density and travel time to urban zones.

    The rules, thresholds, their sources and the approximations involved are in the module
    docstring of :mod:`urlink.model.typology`. Urban zones are decided by density alone; then the
    travel time from every other zone to its nearest urban zone comes from ``skim`` (the
    minimum over the urban zones' columns, the zone itself excluded), or is given directly as
    ``time_to_centre_min`` (e.g. the Weiss et al. 2018 travel-time-to-cities raster sampled
    at the zone seats with :func:`urlink.io.rasters.sample_raster`). Without either, only the
    density rules apply.

    Parameters
    ----------
    zones
        Zones indexed by id; with ``population`` and ``area_km2`` unless ``densities`` is
        given.
    time_to_centre_min
        Minutes from each zone to the nearest urban centre, indexed by zone id (NaN:
        unreachable). Exclusive with ``skim``.
    skim
        Travel times in minutes, origin x destination, covering every zone as origin and
        destination (NaN: unreachable), as from :func:`urlink.network.skims.travel_time_matrix`.
    params
        Thresholds (:class:`TypologyParams`).
    densities
        Residents per km² per zone id, e.g. ``zonal_population(zones, tif) /
        zones["area_km2"]``; replaces ``population / area_km2``.

    Returns
    -------
    geopandas.GeoDataFrame
        A copy of ``zones`` with ``density_per_km2``, ``typology``, ``typology_reason`` and
        ``time_to_urban_min``.

    Raises
    ------
    InputError
        If both ``skim`` and ``time_to_centre_min`` are given, the skim or a Series misses
        zones, values are negative or not numbers, zones lack ``population``/``area_km2``,
        or ``params`` is not a :class:`TypologyParams`.

    Examples
    --------
    >>> import geopandas as gpd
    >>> import pandas as pd
    >>> from shapely.geometry import Point
    >>> zones = gpd.GeoDataFrame(
    ...     {"population": [30_000, 4_000, 2_000, 1_000], "area_km2": [10.0, 10.0, 10.0, 10.0]},
    ...     index=["core", "edge", "near", "far"], crs="EPSG:32651",
    ...     geometry=[Point(x, 0).buffer(1_784) for x in (0, 4e3, 8e3, 4e4)])
    >>> skim = pd.DataFrame([[0, 8, 12, 50], [8, 0, 9, 45], [12, 9, 0, 40], [50, 45, 40, 0]],
    ...                     index=zones.index, columns=zones.index, dtype=float)
    >>> out = add_typology(zones, skim=skim)
    >>> out["typology"].tolist()
    ['urban', 'peri-urban', 'peri-urban', 'rural']
    >>> for reason in out["typology_reason"]:
    ...     print(reason)
    density 3,000/km² ≥ 1,500 (urban centre threshold) → urban
    density 400/km² ≥ 300 (urban cluster threshold) and 8 min to the nearest urban zone ≤ 30 min → peri-urban
    density 200/km² < 300 but 12 min to the nearest urban zone ≤ 30 min → peri-urban
    density 100/km² < 300 and 50 min to the nearest urban zone > 30 min → rural
    """  # noqa: E501 - doctest output lines are as long as the reasons
    if not isinstance(params, TypologyParams):
        msg = f"params must be a TypologyParams, got {type(params).__name__}"
        raise InputError(msg)
    if skim is not None and time_to_centre_min is not None:
        msg = (
            "give either skim= (travel times between zones) or time_to_centre_min= (minutes "
            "to the nearest urban centre per zone), not both"
        )
        raise InputError(msg)
    if zones.index.has_duplicates:
        dup = zones.index[zones.index.duplicated()].unique().tolist()
        msg = f"zones have duplicate ids {_ids(dup)}; ids must be unique"
        raise InputError(msg)
    density = _zone_densities(zones, densities)
    urban = density >= params.urban_density
    if skim is not None:
        minutes = _time_from_skim(skim, zones, urban)
        target = "urban zone"
        no_time = "no urban zone reachable" if urban.any() else "no zone is urban"
    elif time_to_centre_min is not None:
        minutes = _aligned(
            time_to_centre_min,
            zones,
            argument="time_to_centre_min",
            unit="minutes",
            allow_nan=True,
        )
        target = "urban centre"
        no_time = "no urban centre reachable"
    else:
        minutes = pd.Series(np.nan, index=zones.index, dtype="float64")
        target = "urban zone"
        no_time = "no travel time given"
    classes = [
        _reason(float(d), float(t), params, target=target, no_time=no_time)
        for d, t in zip(density, minutes, strict=True)
    ]
    out = zones.copy()
    out["density_per_km2"] = density.to_numpy()
    out["typology"] = pd.array([c for c, _ in classes], dtype="string")
    out["typology_reason"] = pd.array([r for _, r in classes], dtype="string")
    out["time_to_urban_min"] = minutes.to_numpy()
    if logger.isEnabledFor(logging.INFO):  # not counted for nothing (an uncertainty sample)
        counts = out["typology"].value_counts()
        logger.info(
            "typology of %d zones: %s",
            len(out),
            ", ".join(f"{counts.get(k, 0)} {k}" for k in TYPOLOGIES),
        )
    return out
