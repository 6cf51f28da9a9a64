"""Build a model from a scenario: zones, street network, skims, flow setups, the base state.

Every input file is read once here. :func:`zones_from_scenario` builds the zones (county
polygons, township Voronoi cells, admin codes, populations); :func:`network_from_scenario`
the street network (an OSM file or a proxy between zone seats); :func:`base_state` the
routing graphs, skims, typology, flow setups (:func:`setups_from_scenario`) and the flows of
the baseline, computed once. Strategies are applied to that state
(:func:`urlink.scenario.strategies.apply_strategy`), never by re-reading the scenario.
"""

from __future__ import annotations

import dataclasses
import logging
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import geopandas as gpd
import numpy as np
import pandas as pd

from urlink.errors import InputError, UrlinkError, UrlinkWarning
from urlink.io.boundaries import (
    add_admin_codes,
    add_seats_from_places,
    points_from_file,
    warn_implausible_sizes,
    zones_from_file,
    zones_from_points,
)
from urlink.io.checks import coords_mismatch_hint
from urlink.io.osm_admin import footprints_from_osm, zones_from_osm
from urlink.io.postgis import source_name
from urlink.io.rasters import zonal_population
from urlink.io.tables import (
    ATTRACTION,
    BUS_LINES,
    CAPITAL_TRANSFERS,
    ECOSYSTEM_PHASES,
    ECOSYSTEM_SOURCES,
    GOODS_MARKETS,
    GOODS_SUPPLY_WEIGHTS,
    SERVICES,
    TOWNSHIP_REFERENCES,
    TOWNSHIP_UNITS,
    read_population_table,
    read_rows,
    read_table,
    table_is_empty,
)
from urlink.model.dasymetric import add_dasymetric_population
from urlink.model.inputs import (
    CapitalSetup,
    EcosystemSetup,
    FlowSetups,
    GoodsSetup,
    PeopleSetup,
    attraction_weights,
    ecosystem_demand,
    goods_supply,
    people_inputs,
)
from urlink.model.population import add_population, fit_community_weight, population_from_units
from urlink.model.state import State, calibrate_modes, calibrate_people, update_flows
from urlink.model.typology import add_typology
from urlink.network.checks import check_network_coverage, check_reachability
from urlink.network.edits import link_ways_from
from urlink.network.skims import (
    RoutingGraph,
    distance_matrix_km,
    routing_graph_from,
    spill_travel_time_matrix,
    stored_as,
    travel_time_and_distance_matrix,
)
from urlink.network.streets import add_travel_times, streets_from_file, streets_from_points
from urlink.network.transit import (
    BusService,
    bus_service_from_gtfs,
    bus_service_from_osm,
    bus_service_from_table,
)
from urlink.parallel import RunScale
from urlink.scenario.checks import check_scenario_files, warn_gcj02_offset
from urlink.scenario.spec import BoundariesSpec, OsmBoundariesSpec
from urlink.scoring.ahp import ahp_from_csv
from urlink.scoring.weights import weights_from_points
from urlink.validate import MAX_ZONES, check_no_markup, check_zone_count

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from urlink.io.tables import TableSchema
    from urlink.model.intrazonal import IntrazonalRule
    from urlink.scenario.spec import PeopleSpec, Scenario, SettlementsSpec, TownshipsSpec

__all__ = [
    "OPTIONAL_INDICATORS",
    "ZONE_COLUMNS",
    "StakeholderWeights",
    "base_state",
    "bus_from_scenario",
    "check_inputs",
    "network_from_scenario",
    "people_setups",
    "services_from_scenario",
    "settlements_from_scenario",
    "setups_from_scenario",
    "sparse_run",
    "typology_from_scenario",
    "weights_from_scenario",
    "with_scenario_path",
    "zone_limits",
    "zones_from_scenario",
]

T = TypeVar("T")

logger = logging.getLogger(__name__)


ZONE_COLUMNS = (
    "name",
    "name_en",
    "level",
    "unit_type",
    "township_code",
    "county_code",
    "prefecture_code",
    "province_code",
    "population",
    "population_source",
    "area_km2",
    "density_per_km2",
    "geometry_source",
    "coords_source",
    "seat_lon",
    "seat_lat",
    "seat_source",
)
"""Columns of the zones layer written by a run (see :mod:`urlink.io.boundaries`)."""

OPTIONAL_INDICATORS: dict[str, tuple[str, ...]] = {
    "bus": ("pt_coverage_share",),
    "flows.goods": ("cross_boundary_share_goods",),
    "flows.ecosystem": ("es_used_outside_share", "eco_comp_per_source_resident_yuan"),
    "flows.capital": ("eco_comp_per_source_resident_yuan",),
}
"""The indicators that a section marked ``optional = true`` feeds (the keys are
:data:`urlink.scenario.spec.OPTIONAL_SECTIONS`); :data:`_OPTIONAL_EFFECTS` says what
becomes of them when the section's table is empty and the section is left out."""

_OPTIONAL_EFFECTS: dict[str, str] = {
    "bus": "the run has no baseline bus service, so {names} counts only the zones on the "
    "strategies' bus lines",
    "flows.goods": "the indicators {names} are not computed (NaN) and drop out of the scoring",
    "flows.ecosystem": "the indicators {names} are not computed (NaN) and drop out of the "
    "scoring, and no eco-compensation is paid",
    "flows.capital": "no declared transfer is counted, so {names} holds the eco-compensation "
    "payments only",
}


def _left_out(scenario: Scenario, section: str, tables: list[tuple[Path, TableSchema]]) -> bool:
    """Say whether an optional section is left out because one of its tables is empty.

    Only a section marked ``optional = true`` can be left out; an empty table of any other
    is refused when it is read (naming the file and the fix). The warning names the
    section, the file and the indicators dropped.
    """
    if section not in scenario.optional_inputs:
        return False
    for path, schema in tables:
        if table_is_empty(path, schema):
            effect = _OPTIONAL_EFFECTS[section].format(names=list(OPTIONAL_INDICATORS[section]))
            warnings.warn(
                f"{scenario.path}: [{section}] is optional (optional = true) and its "
                f"{schema.what} {str(path)!r} holds no data (a header and no rows, or every "
                f"number empty); the section is left out of this run, so {effect}",
                UrlinkWarning,
                stacklevel=3,
            )
            return True
    return False


@dataclass(frozen=True, slots=True, eq=False)
class StakeholderWeights:
    """The stakeholder groups' weights of a scenario, read once.

    Attributes
    ----------
    table
        Groups x indicators, each row summing to 1.
    source
        The points form or AHP file they were read from (for messages).
    """

    table: pd.DataFrame
    source: Path


def weights_from_scenario(scenario: Scenario) -> StakeholderWeights | None:
    """Read the scenario's stakeholder weights (points form or AHP judgments).

    Parameters
    ----------
    scenario
        A loaded scenario.

    Returns
    -------
    StakeholderWeights or None
        None when the scenario has no ``[scoring]`` section.

    Raises
    ------
    InputError
        On a bad form (points not adding up, an inconsistent AHP matrix...).
    """
    spec = scenario.scoring
    if spec is None:
        return None
    if spec.weights is not None:
        return StakeholderWeights(weights_from_points(spec.weights), spec.weights)
    assert spec.ahp is not None  # the parser requires one of the two
    return StakeholderWeights(pd.DataFrame(ahp_from_csv(spec.ahp)).T, spec.ahp)


def check_inputs(scenario: Scenario) -> StakeholderWeights | None:
    """Check every input file of the scenario; read the stakeholder weights now.

    Every file must exist, be a file, not be empty and not be too big. The weights are read
    here (once), so a bad form is reported before the model runs, not after.

    Parameters
    ----------
    scenario
        A loaded scenario.

    Returns
    -------
    StakeholderWeights or None
        :func:`weights_from_scenario`.

    Raises
    ------
    InputError
        Naming the scenario, the key and the first bad file (:mod:`urlink.validate`).
    """
    check_scenario_files(scenario)
    return weights_from_scenario(scenario)


def _context_zones(counties: gpd.GeoDataFrame, scenario: Scenario) -> gpd.GeoDataFrame:
    spec = scenario.boundaries
    assert isinstance(spec, BoundariesSpec)  # OSM zones have no context units
    if spec.focus not in counties.index:
        msg = (
            f"{scenario.path}: [boundaries] focus = {spec.focus!r} is not an id in "
            f"{source_name(spec.path, spec.layer)} (ids: {counties.index.tolist()[:12]})"
        )
        raise InputError(msg)
    others = counties.drop(index=spec.focus)
    if spec.context == "all":
        return others
    if spec.context == "touching":
        focus_geom = counties.geometry.loc[spec.focus].buffer(100.0)
        return others[others.intersects(focus_geom)]
    unknown = [c for c in spec.context if c not in others.index]
    if unknown:
        msg = (
            f"{scenario.path}: [boundaries] context names ids {unknown} that are not other "
            f"units in {source_name(spec.path, spec.layer)}; available: {others.index.tolist()}"
        )
        raise InputError(msg)
    return others.loc[list(spec.context)]


def _points(spec: TownshipsSpec | SettlementsSpec, *, crs: Any) -> gpd.GeoDataFrame:
    """Read the points of a ``[townships]`` or ``[settlements]`` layer, in ``crs``."""
    return points_from_file(
        spec.path,
        id_col=spec.id_col,
        name_col=spec.name_col,
        name_en_col=spec.name_en_col,
        coords=spec.coords,
        layer=spec.layer,
        crs=crs,
        encoding=spec.encoding,
    )


def _township_zones(scenario: Scenario, counties: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    spec = scenario.townships
    assert spec is not None
    seats = _points(spec, crs=counties.crs)
    focus = scenario.boundaries.focus
    foreign = [i for i in seats.index if not str(i).startswith(focus)]
    if foreign:
        msg = (
            f"{spec.path}: township codes {foreign[:10]} do not belong to the focus unit "
            f"{focus} (a township code starts with its county code)"
        )
        raise InputError(msg)
    area = counties.geometry.loc[focus]
    outside = ~seats.geometry.covered_by(area)
    if outside.any():
        hint = coords_mismatch_hint(
            seats.geometry.to_crs("EPSG:4326"),
            counties.geometry.loc[[focus]].to_crs("EPSG:4326").iloc[0],
            declared=spec.coords,
        )
        msg = (
            f"{source_name(spec.path, spec.layer)}: township seats "
            f"{seats.index[outside].tolist()[:10]} lie outside the focus unit {focus} of "
            f"{source_name(scenario.boundaries.path, scenario.boundaries.layer)}; check their "
            "coordinates." + (hint or " Check the coords and CRS of both layers.")
        )
        raise InputError(msg)
    try:
        zones = zones_from_points(seats, within=counties.geometry.loc[[focus]])
    except InputError as err:
        msg = f"{spec.path}: {err}"
        raise InputError(msg) from None
    zones = add_admin_codes(zones, source=str(spec.path))
    if "type" in zones.columns:
        zones = zones.rename(columns={"type": "unit_type"})
    return zones


def _township_population(
    scenario: Scenario, zones: gpd.GeoDataFrame, total: float
) -> tuple[pd.DataFrame, dict[str, Any]]:
    pop = scenario.population
    assert pop.township_units is not None
    units = read_table(pop.township_units, TOWNSHIP_UNITS)
    townships = zones.index[zones["level"] == "township"]
    missing = sorted(set(townships) - set(units.index))
    extra = sorted(set(units.index) - set(townships))
    if missing or extra:
        msg = (
            f"township unit table {str(pop.township_units)!r}: codes do not match the "
            f"township seats (missing: {missing[:10]}, not a seat: {extra[:10]}); use tables "
            "from the same NBS year"
        )
        raise InputError(msg)
    units = units.loc[townships]
    params: dict[str, Any] = {}
    if pop.community_weight is not None:
        k = pop.community_weight
        params["community_weight"] = {"value": k, "how": "given in scenario"}
    else:
        if pop.township_references is None:
            msg = (
                f"{scenario.path}: [population] needs township_references (to fit the "
                "community weight) or community_weight"
            )
            raise InputError(msg)
        refs = read_table(pop.township_references, TOWNSHIP_REFERENCES)
        blank = refs.index[(refs["use"] == "fit") & refs["district_total"].isna()].tolist()
        if blank:
            msg = (
                f"township references {str(pop.township_references)!r}, column "
                f"'district_total': empty on the rows used in the fit (use = 'fit'), ids "
                f"{blank[:10]}; give the district total of the reference year"
            )
            raise InputError(msg)
        k = fit_community_weight(units, refs)
        params["community_weight"] = {"value": round(k, 6), "how": "fitted to references"}
    table = population_from_units(units, total=round(total), community_weight=k)
    return table, params


def zones_from_scenario(
    scenario: Scenario,
) -> tuple[gpd.GeoDataFrame, dict[str, Any]]:
    """Build the zones of a scenario with admin codes and populations.

    Parameters
    ----------
    scenario
        A loaded scenario.

    Returns
    -------
    zones : geopandas.GeoDataFrame
        Zones indexed by id in the local metric CRS, columns :data:`ZONE_COLUMNS`.
    params : dict
        Derived parameters to record in the manifest (e.g. the fitted community weight).

    Raises
    ------
    InputError
        On any bad input, naming the file and field.
    """
    b = scenario.boundaries
    if isinstance(b, OsmBoundariesSpec):
        return _osm_zones(scenario, b)
    counties = zones_from_file(
        b.path,
        id_col=b.id_col,
        name_col=b.name_col,
        name_en_col=b.name_en_col,
        coords=b.coords,
        layer=b.layer,
        encoding=b.encoding,
    )
    counties = add_admin_codes(counties, source=str(b.path))
    context = _context_zones(counties, scenario)
    params: dict[str, Any] = {
        "metric_crs": counties.crs.to_string(),
        "context_zones": context.index.tolist(),
    }
    if scenario.population.counties is None:  # pragma: no cover - the parser requires it
        msg = f"{scenario.path}: [population] counties is missing"
        raise InputError(msg)
    county_pop = read_population_table(scenario.population.counties)
    wanted = [b.focus, *context.index]
    missing = [z for z in wanted if z not in county_pop.index]
    if missing:
        msg = (
            f"population table {str(scenario.population.counties)!r} has no row for zones "
            f"{missing}; add them (zone_id,population,population_source)"
        )
        raise InputError(msg)
    county_pop = county_pop.loc[wanted]

    if scenario.townships is not None:
        townships = _township_zones(scenario, counties)
        zones = pd.concat([townships, context], axis=0)
    else:
        zones = pd.concat([counties.loc[[b.focus]], context], axis=0)
    zones = gpd.GeoDataFrame(zones, geometry="geometry", crs=counties.crs)
    check_zone_count(len(zones), source=str(scenario.path), **zone_limits(scenario))

    if scenario.townships is not None and scenario.population.township_units is not None:
        total = float(county_pop["population"].loc[b.focus])
        table, pop_params = _township_population(scenario, zones, total)
        params.update(pop_params)
        zones = add_population(zones, table)
        zones = add_population(zones, county_pop.drop(index=b.focus))
    else:
        zones = add_population(zones, county_pop.loc[county_pop.index.isin(zones.index)])
    if scenario.population.override is not None:
        zones = add_population(zones, read_population_table(scenario.population.override))
    return _finish_zones(scenario, zones), params


def _finish_zones(scenario: Scenario, zones: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Check that every zone has a population, add seats from places, order the columns."""
    lacking = zones.index[zones["population"].isna()].tolist()
    if lacking:
        msg = f"{scenario.path}: zones {lacking[:10]} have no population; add them to a table"
        raise InputError(msg)
    if scenario.settlements is not None:
        places = settlements_from_scenario(scenario, crs=zones.crs)
        if not places.intersects(zones.geometry.union_all()).any():
            lonlat = places.geometry.to_crs("EPSG:4326").total_bounds.round(3).tolist()
            msg = (
                f"{scenario.settlements.path}: no place lies in the study area (the places "
                f"span lon/lat {lonlat}); check the file, its CRS and [settlements] coords"
            )
            raise InputError(msg)
        warn_gcj02_offset(scenario, zones, places)
        zones = add_seats_from_places(
            zones, places, names_col=scenario.settlements.names_col or "name"
        )
    warn_implausible_sizes(zones, source=str(scenario.boundaries.path))
    zones["density_per_km2"] = zones["population"].astype(float) / zones["area_km2"]
    if "unit_type" not in zones.columns:
        zones["unit_type"] = pd.NA
    zones["unit_type"] = zones["unit_type"].astype("string")
    zones.index.name = "zone_id"
    return zones[[*ZONE_COLUMNS, "geometry"]]


def sparse_run(scenario: Scenario) -> bool:
    """Whether a run reads its zone matrices by blocks (:func:`urlink.validate.zone_matrix_bytes`).

    Every people purpose on a sparse support, and no goods model, mode choice, bus service
    or calibrated purpose (they take the skim as a whole matrix).

    Parameters
    ----------
    scenario
        A loaded scenario.

    Returns
    -------
    bool
    """
    people = scenario.flows.people
    if people is None or scenario.flows.goods is not None:
        return False
    if scenario.modes is not None or scenario.bus is not None:
        return False
    params = [people.params, *(p.params for p in people.purposes)]
    if any(getattr(p, "support", "dense") == "dense" for p in params):
        return False
    return not any(p.target() is not None for p in people.purposes)


def zone_limits(scenario: Scenario) -> dict[str, Any]:
    """Return the zone limit and kind of run that :func:`urlink.validate.check_zone_count` takes.

    Parameters
    ----------
    scenario
        A loaded scenario.

    Returns
    -------
    dict
        ``max_zones`` (``[network] max_zones`` or None), ``sparse`` and ``itemsize`` (4
        for a sparse run's float32 matrices, ``[network] matrix_dtype``; else 8).

    Raises
    ------
    InputError
        If ``[network] max_zones`` is above :data:`urlink.validate.MAX_ZONES` in a run that
        is not sparse.
    """
    sparse = sparse_run(scenario)
    limit = scenario.network.max_zones
    if limit is not None and limit > MAX_ZONES and not sparse:
        msg = (
            f"{scenario.path}: [network] max_zones = {limit:,} is above {MAX_ZONES:,} "
            "(urlink.validate.MAX_ZONES), which only a sparse run may be: set support = "
            '"knn" or "cutoff" in [flows.people] (and in every purpose), with no [flows.goods], '
            "[modes], [bus] or purpose calibrated to a mean time or length (they take the "
            "skim as a whole matrix)"
        )
        raise InputError(msg)
    itemsize = 4 if sparse and scenario.network.matrix_dtype == "float32" else 8
    return {"max_zones": limit, "sparse": sparse, "itemsize": itemsize}


def _osm_zones(
    scenario: Scenario, spec: OsmBoundariesSpec
) -> tuple[gpd.GeoDataFrame, dict[str, Any]]:
    """Zones from OSM admin relations; populations from tables or the dasymetric estimate."""
    zones = zones_from_osm(
        spec.path,
        admin_level=spec.admin_level,
        names=spec.names,  # type: ignore[arg-type]  # checked by zones_from_osm
        include=spec.include,
    )
    check_zone_count(len(zones), source=str(scenario.path), **zone_limits(scenario))
    zones["level"] = "township"
    zones["unit_type"] = pd.NA
    zones["township_code"] = pd.Series(zones.index, index=zones.index, dtype="string")
    for level in ("county", "prefecture", "province"):
        zones[f"{level}_code"] = pd.Series(spec.focus, index=zones.index, dtype="string")
    params: dict[str, Any] = {
        "metric_crs": zones.crs.to_string(),
        "context_zones": [],
        "zones_source": f"OSM boundary=administrative admin_level={spec.admin_level}",
    }
    pop = scenario.population
    zones["population"] = np.nan
    zones["population_source"] = pd.Series(pd.NA, index=zones.index, dtype=object)
    if pop.dasymetric is not None:
        das = pop.dasymetric
        assert das.footprints is not None  # the parser defaults it to the boundaries file
        footprints = footprints_from_osm(das.footprints, within=zones)
        zones = add_dasymetric_population(
            zones,
            footprints,
            total=das.total,
            total_source=das.total_source,
            weight=das.weight,  # type: ignore[arg-type]  # checked by the parser
            min_coverage=das.min_coverage,
        )
        params["dasymetric"] = {"total": das.total, "weight": das.weight}
    for table in (pop.counties, pop.override):
        if table is not None:
            zones = add_population(zones, read_population_table(table))
    return _finish_zones(scenario, zones), params


def settlements_from_scenario(scenario: Scenario, *, crs: Any) -> gpd.GeoDataFrame:
    """Load the scenario's settlement points in ``crs``.

    Parameters
    ----------
    scenario
        A scenario with a ``[settlements]`` section.
    crs
        Target CRS.

    Returns
    -------
    geopandas.GeoDataFrame
        Points indexed by place id.

    Raises
    ------
    InputError
        If the scenario has no settlements or the file is bad.
    """
    spec = scenario.settlements
    if spec is None:
        msg = f"{scenario.path}: no [settlements] section"
        raise InputError(msg)
    return _points(spec, crs=crs)


def network_from_scenario(scenario: Scenario, zones: gpd.GeoDataFrame) -> Any:
    """Build the street network of a scenario: its OSM file, or a proxy between zone seats.

    Parameters
    ----------
    scenario
        A loaded scenario.
    zones
        Its zones (for the proxy network).

    Returns
    -------
    networkx.MultiDiGraph
        The network with ``travel_time`` for the scenario's mode.
    """
    n = scenario.network
    params = n.speeds
    if n.osm is not None:
        G = streets_from_file(
            n.osm,
            network_type=n.network_type,
            mode=n.mode,
            params=params,
            ferries=n.ferries,
        )
        xy = np.array([(d["x"], d["y"]) for _, d in G.nodes(data=True)], dtype=float)
        check_network_coverage(xy.reshape(-1, 2), zones, source=str(n.osm))
        return G
    points = zones
    if scenario.settlements is not None and scenario.settlements.proxy_nodes:
        places = settlements_from_scenario(scenario, crs=zones.crs)
        study_area = zones.geometry.union_all()
        places = places[places.within(study_area)]
        places = places.assign(level="settlement", unit_type=pd.NA)
        places.index = [f"place:{i}" for i in places.index]
        points = pd.concat(
            [
                zones[["level", "unit_type", "seat_lon", "seat_lat", "geometry"]],
                places[["level", "unit_type", "geometry"]],
            ]
        )
        lonlat = places.geometry.to_crs("EPSG:4326")
        points.loc[places.index, "seat_lon"] = lonlat.x.to_numpy()
        points.loc[places.index, "seat_lat"] = lonlat.y.to_numpy()
        points = gpd.GeoDataFrame(points, geometry="geometry", crs=zones.crs)
    G = streets_from_points(
        points,
        method=n.proxy_method,
        circuity=n.circuity,
        params=params,
    )
    if n.mode != "drive":
        add_travel_times(G, mode=n.mode, params=params)
    return G


def _routing_and_skim(
    scenario: Scenario,
    streets: Any,
    zones: gpd.GeoDataFrame,
    *,
    scale: RunScale | None = None,
) -> tuple[RoutingGraph, RoutingGraph, pd.DataFrame, pd.DataFrame | None]:
    """Routing graphs (by time, by length), the zone skim, and its paths' distances.

    The distances only with ``[network] distance = "fastest"`` (found in the same search as
    the times); built once per run.
    """
    scale = RunScale() if scale is None else scale
    net = scenario.network
    km = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UrlinkWarning)
        routing = routing_graph_from(streets, weight="travel_time")
        routing_length = routing_graph_from(streets, weight="length")
        options: dict[str, Any] = {
            "max_memory": scale.max_memory,
            "workers": scale.workers,
            "scheduler": scale.client,
            "cutoff": net.cutoff_min,
            "access_speed_kph": net.access_speed_kph,
        }
        folder = None if scale.scratch is None else scale.scratch / "skim"
        if net.distance == "fastest":
            skim, km = travel_time_and_distance_matrix(
                routing, routing_length, zones, folder=folder, dtype=net.matrix_dtype, **options
            )
        else:
            skim = spill_travel_time_matrix(routing, zones, folder=folder, **options)
            skim = stored_as(skim, net.matrix_dtype)
    for w in caught:
        logger.warning("%s", w.message)
    osm = net.osm
    check_reachability(skim, source=str(osm) if osm is not None else "proxy network")
    return routing, routing_length, skim, km


def services_from_scenario(scenario: Scenario, zones: gpd.GeoDataFrame) -> pd.DataFrame:
    """Read the scenario's services table (``zone_id``, ``service``), checking zone ids.

    Parameters
    ----------
    scenario
        A loaded scenario.
    zones
        Its zones.

    Returns
    -------
    pandas.DataFrame
        ``zone_id``, ``service`` (empty if the scenario names no services).

    Raises
    ------
    InputError
        On unknown zones or missing columns.
    """
    if scenario.services is None:
        return pd.DataFrame({"zone_id": pd.Series(dtype=str), "service": pd.Series(dtype=str)})
    path = scenario.services
    table = read_rows(path, SERVICES)
    for col in ("zone_id", "service"):
        if col not in table.columns:
            msg = f"services {str(path)!r}: no column {col!r}; columns are {list(table.columns)}"
            raise InputError(msg)
    blank = table["zone_id"].isna() | table["service"].isna()
    if blank.any():
        lines = (np.flatnonzero(blank.to_numpy()) + 2).tolist()[:10]
        msg = (
            f"services {str(path)!r}: line(s) {lines} have an empty zone_id or service; "
            "fill them in"
        )
        raise InputError(msg)
    check_no_markup(table["service"], source=f"services {str(path)!r}", column="service")
    unknown = sorted(set(table["zone_id"]) - set(zones.index))
    if unknown:
        msg = f"services {str(path)!r}: zone ids {unknown[:10]} are not zones of the scenario"
        raise InputError(msg)
    return table[["zone_id", "service"]].reset_index(drop=True)


def setups_from_scenario(scenario: Scenario, zones: gpd.GeoDataFrame) -> FlowSetups:
    """Read the scenario's flow tables once and prepare each flow model's setup.

    Parameters
    ----------
    scenario
        A loaded scenario (its ``[flows.*]`` sections).
    zones
        Its zones (with populations, areas and admin codes).

    Returns
    -------
    FlowSetups
        One setup per flow type the scenario names.

    Raises
    ------
    InputError
        If a table names unknown zones or holds bad numbers (naming the file and column).
    """
    f = scenario.flows
    people: tuple[PeopleSetup, ...] = ()
    goods = ecosystem = capital = None
    if f.people is not None:
        people = people_setups(f.people, zones, within_zone=f.within_zone)
    goods_spec, ecosystem_spec, capital_spec = f.goods, f.ecosystem, f.capital
    if goods_spec is not None and _left_out(
        scenario,
        "flows.goods",
        [(goods_spec.supply_weights, GOODS_SUPPLY_WEIGHTS), (goods_spec.markets, GOODS_MARKETS)],
    ):
        goods_spec = None
    if ecosystem_spec is not None and _left_out(
        scenario,
        "flows.ecosystem",
        [(ecosystem_spec.sources, ECOSYSTEM_SOURCES), (ecosystem_spec.phases, ECOSYSTEM_PHASES)],
    ):
        ecosystem_spec = None
        if capital_spec is not None:  # payments follow the ecosystem flows: none without them
            capital_spec = dataclasses.replace(capital_spec, eco_compensation=False)
    if (
        capital_spec is not None
        and capital_spec.transfers is not None
        and _left_out(scenario, "flows.capital", [(capital_spec.transfers, CAPITAL_TRANSFERS)])
    ):
        capital_spec = dataclasses.replace(capital_spec, transfers=None)
    if goods_spec is not None:
        g = goods_spec
        weights = read_table(g.supply_weights, GOODS_SUPPLY_WEIGHTS)
        markets = read_table(g.markets, GOODS_MARKETS)
        supply, market_weights = goods_supply(
            zones,
            weights,
            markets,
            supply_t_per_year=g.supply_t_per_year,
            what=(
                f"goods supply weights {str(g.supply_weights)!r}",
                f"goods markets {str(g.markets)!r}",
            ),
        )
        goods = GoodsSetup(
            model=g.model, params=g.params, supply=supply, market_weights=market_weights
        )
    if ecosystem_spec is not None:
        e = ecosystem_spec
        sources = read_table(e.sources, ECOSYSTEM_SOURCES)
        phases = read_table(e.phases, ECOSYSTEM_PHASES)
        supply, demand, links = ecosystem_demand(zones, sources, phases, what=repr(str(e.phases)))
        ecosystem = EcosystemSetup(
            model=e.model, params=e.params, supply=supply, demand=demand, links=links
        )
    if capital_spec is not None:
        c = capital_spec
        table = None
        if c.transfers is not None:
            table = read_rows(c.transfers, CAPITAL_TRANSFERS)
            _check_transfer_amounts(table, c.transfers, c.params.per_capita_yuan)
        capital = CapitalSetup(
            eco_compensation=c.eco_compensation, params=c.params, transfers=table
        )
    return FlowSetups(people=people, goods=goods, ecosystem=ecosystem, capital=capital)


def _check_transfer_amounts(table: pd.DataFrame, path: Path, per_capita: float | None) -> None:
    """Refuse transfer rows without an amount when no per-capita rate can fill them."""
    if per_capita is not None or "amount_yuan_per_year" not in table.columns:
        return
    missing = pd.to_numeric(table["amount_yuan_per_year"], errors="coerce").isna().to_numpy()
    if missing.any():
        rows = [int(i) + 2 for i in np.flatnonzero(missing)[:10]]  # + header, 1-based
        msg = (
            f"{path}: rows {rows} have no amount_yuan_per_year; give each an amount, or set "
            "[flows.capital] per_capita_yuan (yuan per payee resident and year)"
        )
        raise InputError(msg)


def people_setups(
    spec: PeopleSpec, zones: gpd.GeoDataFrame, *, within_zone: IntrazonalRule
) -> tuple[PeopleSetup, ...]:
    """One people setup per trip purpose (attraction tables read once).

    Parameters
    ----------
    spec
        The ``[flows.people]`` section.
    zones
        The zones (with populations).
    within_zone
        ``[flows] within_zone``: with ``"half_nearest"`` the models keep trips within a zone
        (``self_flows``).

    Returns
    -------
    tuple of PeopleSetup

    Raises
    ------
    InputError
        If an attraction table names unknown zones or holds bad weights.
    """

    def settings(params: Any) -> Any:
        if within_zone != "none" and hasattr(params, "self_flows"):
            return dataclasses.replace(params, self_flows=True)  # trips within a zone
        return params

    if not spec.purposes:
        return (
            PeopleSetup(
                model=spec.model,
                params=settings(spec.params),
                inputs=people_inputs(zones, trip_rate=spec.trip_rate),
                inputs_source=f"trip rate: {spec.rate_source}; attraction: residents",
            ),
        )
    out = []
    for purpose in spec.purposes:
        weights = None
        if purpose.attraction is not None:
            what = f"attraction weights of purpose {purpose.name!r} {str(purpose.attraction)!r}"
            table = read_table(
                purpose.attraction,
                dataclasses.replace(
                    ATTRACTION, what=f"{ATTRACTION.what} of purpose {purpose.name!r}"
                ),
            )
            weights = attraction_weights(zones, table, what=what)
        out.append(
            PeopleSetup(
                model=spec.model,
                params=settings(purpose.params),
                inputs=people_inputs(zones, trip_rate=purpose.trip_rate, attraction=weights),
                purpose=purpose.name,
                inputs_source=(
                    f"trip rate: {purpose.rate_source}; attraction: {purpose.attraction_source}"
                ),
            )
        )
    return tuple(out)


def typology_from_scenario(
    scenario: Scenario, zones: gpd.GeoDataFrame, skim: pd.DataFrame
) -> gpd.GeoDataFrame:
    """Zones with their urban / peri-urban / rural typology and its reason.

    Parameters
    ----------
    scenario
        A loaded scenario (its ``[typology]`` section).
    zones
        Its zones.
    skim
        Travel times between them.

    Returns
    -------
    geopandas.GeoDataFrame
        With ``typology``, ``typology_reason``, ``time_to_urban_min``.
    """
    t = scenario.typology
    densities = None
    if t.population_raster is not None:
        densities = zonal_population(zones, t.population_raster) / zones["area_km2"]
    return add_typology(zones, skim=skim, params=t.params, densities=densities)


def with_scenario_path(scenario: Scenario, func: Callable[[], T], *, section: str) -> T:
    """Call ``func``; name the scenario file and ``section`` in any error it raises.

    A model that cannot balance for the scenario's parameters (an internal
    :class:`~urlink.errors.UrlinkError`) becomes an input error with the fix.

    Parameters
    ----------
    scenario
        The scenario.
    func
        What to call.
    section
        The scenario section the error concerns (``"[[strategies]]"``).

    Returns
    -------
    object
        What ``func`` returns.

    Raises
    ------
    InputError
        With the scenario file and section in its message.
    """
    try:
        return func()
    except InputError as err:
        msg = f"{scenario.path}: {section} {err}"
        raise InputError(msg) from None
    except UrlinkError as err:
        p = scenario.flows.people
        if p is None:
            raise
        beta = getattr(p.params, "beta", None)
        msg = (
            f"{scenario.path}: [flows.people] model = {p.model!r}, beta = {beta!r}: "
            f"{err}. Lower beta (docs/models.md gives the default and its source) or "
            "check that every zone is reachable"
        )
        raise InputError(msg) from err


def bus_from_scenario(scenario: Scenario, zones: gpd.GeoDataFrame) -> BusService | None:
    """Read the scenario's baseline bus service (``[bus]``), or None without one.

    Parameters
    ----------
    scenario
        A loaded scenario.
    zones
        Its zones (stops are zone seats; GTFS stops are mapped to the zone they lie in).

    Returns
    -------
    BusService or None
    """
    spec = scenario.bus
    if spec is None:
        return None
    if spec.lines is not None:
        if _left_out(scenario, "bus", [(spec.lines, BUS_LINES)]):
            return None
        return bus_service_from_table(spec.lines, zones)
    if spec.osm is not None:
        return bus_service_from_osm(
            spec.osm,
            zones,
            operator=spec.operator,
            exclude_refs=spec.exclude_refs,
            headway_min=spec.headway_min,
            headway_source=spec.headway_source,
            fare_yuan=spec.fare_yuan,
        )
    assert spec.gtfs is not None  # the parser requires one of the three
    return bus_service_from_gtfs(spec.gtfs, zones)


def _mean_time_targets(scenario: Scenario) -> dict[str, Any]:
    """Purpose -> calibration target (``("min" | "km", value)``) of the purposes with one."""
    people = scenario.flows.people
    if people is None:
        return {}
    return {p.name: p.target() for p in people.purposes if p.target() is not None}


def base_state(
    scenario: Scenario,
    zones: gpd.GeoDataFrame,
    streets: Any,
    *,
    scale: RunScale | None = None,
) -> State:
    """Build the base state of a scenario: routing, skims, typology, setups and flows.

    Parameters
    ----------
    scenario
        A loaded scenario.
    zones
        Its zones (:func:`zones_from_scenario`).
    streets
        Its street network (:func:`network_from_scenario`).
    scale
        Workers, scheduler and memory for the skim (:class:`urlink.parallel.RunScale`).

    Returns
    -------
    State
        With the baseline flows computed (once).

    Raises
    ------
    InputError
        On bad inputs, naming the file.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UrlinkWarning)
        routing, routing_length, skim, km = _routing_and_skim(
            scenario, streets, zones, scale=scale
        )
        zones = typology_from_scenario(scenario, zones, skim)
        state = State(
            zones=zones,
            focus=scenario.boundaries.focus,
            focus_name=getattr(scenario.boundaries, "focus_name", None),
            routing=routing,
            routing_length=routing_length,
            skim=skim,
            distance_km=km
            if km is not None
            else stored_as(
                distance_matrix_km(
                    routing_length,
                    zones,
                    workers=1 if scale is None else scale.workers,
                    scheduler=None if scale is None else scale.client,
                ),
                scenario.network.matrix_dtype,
            ),
            distance_path=scenario.network.distance,
            services=services_from_scenario(scenario, zones),
            setups=setups_from_scenario(scenario, zones),
            emissions=scenario.emissions,
            cutoff_min=scenario.network.cutoff_min,
            access_speed_kph=scenario.network.access_speed_kph,
            intrazonal=scenario.flows.within_zone,
            context_flows=scenario.flows.context_flows,
            bus=bus_from_scenario(scenario, zones),
            modes=scenario.modes,
            link_ways=link_ways_from(streets),
            typology=(
                scenario.typology.params if scenario.typology.population_raster is None else None
            ),
        )
        targets = _mean_time_targets(scenario)
        if targets:
            state = with_scenario_path(
                scenario,
                lambda: calibrate_people(state, targets),
                section="[flows.people.purposes]",
            )
        state = with_scenario_path(scenario, lambda: update_flows(state), section="[flows]")
        if scenario.modes is not None and scenario.modes.target_shares:
            state = with_scenario_path(
                scenario,
                lambda: update_flows(calibrate_modes(state), ("modes",)),
                section="[modes]",
            )
    for w in caught:
        logger.warning("%s", w.message)
    return state
