"""The steps of a scenario run, from input files to the output folder.

:func:`zones_from_scenario` builds the zones of a scenario (county polygons, township
Voronoi cells, admin codes, populations); :func:`validate_scenario` checks a scenario and its
inputs without writing anything; :func:`run_scenario` runs it and writes the outputs.
The command line (:mod:`urlink.cli`) only calls these.
"""

from __future__ import annotations

import dataclasses
import logging
import tempfile
import time
import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd

from urlink.errors import InputError, UrlinkWarning
from urlink.io.boundaries import (
    add_admin_codes,
    add_seats_from_places,
    points_from_file,
    zones_from_file,
    zones_from_points,
)
from urlink.io.checks import coords_mismatch_hint
from urlink.io.postgis import source_name
from urlink.io.rasters import zonal_population
from urlink.io.tables import read_population_table, read_rows, read_table
from urlink.model.carbon import EmissionFactors, add_emissions
from urlink.model.graph import graph_to_gdfs, linkage_graph_from
from urlink.model.inputs import flows_from_scenario, model_inputs
from urlink.model.population import add_population, fit_community_weight, population_from_units
from urlink.model.typology import TypologyParams, add_typology
from urlink.network.assignment import assign_to_network
from urlink.network.checks import check_network_coverage, check_reachability
from urlink.network.skims import (
    RoutingGraph,
    distance_matrix_km,
    iter_skim_rows,
    routing_graph_from,
    spill_travel_time_matrix,
)
from urlink.network.streets import SpeedParams, streets_from_file, streets_from_points
from urlink.outputs.files import (
    atomic_output_dir,
    check_output_dir,
    file_sha256,
    versions,
    write_json,
)
from urlink.outputs.report import write_report
from urlink.parallel import RunScale, auto_workers, map_chunks, run_scale
from urlink.scenario.checks import check_scenario_files, check_strategy_zones, warn_gcj02_offset
from urlink.scenario.strategies import State, Strategy, apply_strategy, state_from_scenario
from urlink.scoring.attribution import (
    attribute_units,
    attribute_zones,
    compare_flows,
    crosses,
    guidelines,
)
from urlink.scoring.indicators import INDICATORS, Evaluation, evaluate, indicators_by_unit
from urlink.validate import check_no_markup, check_zone_count

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from urlink.outputs.maps import Lang
    from urlink.scenario.spec import Scenario

__all__ = ["STAGES", "ZONE_COLUMNS", "run_scenario", "validate_scenario", "zones_from_scenario"]

logger = logging.getLogger(__name__)

STAGES = (
    "check inputs",
    "zones",
    "network",
    "travel times",
    "linkages",
    "strategies",
    "scoring",
    "write outputs",
)
"""Stages of :func:`run_scenario`, in order (reported to ``on_stage``)."""

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


def check_inputs(scenario: Scenario) -> None:
    """Check that every input file of the scenario exists, is a file, not empty, not too big.

    Parameters
    ----------
    scenario
        A loaded scenario.

    Raises
    ------
    InputError
        Naming the scenario, the key and the first bad file (:mod:`urlink.validate`).
    """
    check_scenario_files(scenario)
    if scenario.scoring is not None:  # read the weights now, not after the whole run
        from urlink.scoring import ahp_from_csv, weights_from_points

        if scenario.scoring.weights is not None:
            weights_from_points(scenario.scoring.weights)
        if scenario.scoring.ahp is not None:
            ahp_from_csv(scenario.scoring.ahp)


def _context_zones(counties: gpd.GeoDataFrame, scenario: Scenario) -> gpd.GeoDataFrame:
    spec = scenario.boundaries
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


def _township_zones(scenario: Scenario, counties: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    spec = scenario.townships
    assert spec is not None
    seats = points_from_file(
        spec.path,
        id_col=spec.id_col,
        name_col=spec.name_col,
        name_en_col=spec.name_en_col,
        coords=spec.coords,
        layer=spec.layer,
        crs=counties.crs,
        encoding=spec.encoding,
    )
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
    units = read_table(pop.township_units, id_col="code", what="township unit table")
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
        refs = read_table(pop.township_references, id_col="code", what="township references")
        for col in ("population", "district_total", "use"):
            if col not in refs.columns:
                msg = (
                    f"township references {str(pop.township_references)!r}: no column "
                    f"{col!r}; columns are {list(refs.columns)}"
                )
                raise InputError(msg)
        k = fit_community_weight(units, refs)
        params["community_weight"] = {"value": round(k, 6), "how": "fitted to references"}
    table = population_from_units(units, total=round(total), community_weight=k)
    return table, params


def zones_from_scenario(scenario: Scenario) -> tuple[gpd.GeoDataFrame, dict[str, Any]]:
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
    check_zone_count(len(zones), source=str(scenario.path))

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
    lacking = zones.index[zones["population"].isna()].tolist()
    if lacking:
        msg = f"{scenario.path}: zones {lacking[:10]} have no population; add them to a table"
        raise InputError(msg)
    if scenario.settlements is not None:
        places = settlements_from_scenario(scenario, crs=counties.crs)
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
    zones["density_per_km2"] = zones["population"] / zones["area_km2"]
    if "unit_type" not in zones.columns:
        zones["unit_type"] = pd.NA
    zones["unit_type"] = zones["unit_type"].astype("string")
    zones.index.name = "zone_id"
    return zones[[*ZONE_COLUMNS, "geometry"]], params


def _apply_strategy(scenario: Scenario, state: Any, strategy: Strategy) -> Any:
    """:func:`apply_strategy` with the scenario file in the message of an input error."""
    try:
        return apply_strategy(state, strategy)
    except InputError as err:
        msg = f"{scenario.path}: [[strategies]] {err}"
        raise InputError(msg) from None


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


def speed_params_from_scenario(scenario: Scenario) -> SpeedParams:
    """Speed parameters of a scenario: the default table with the scenario's overrides.

    Parameters
    ----------
    scenario
        A loaded scenario.

    Returns
    -------
    SpeedParams
        The parameters.
    """
    n = scenario.network
    speeds = dict(SpeedParams().speeds_kph)
    speeds.update(dict(n.speeds_kph))
    return SpeedParams(
        speeds_kph=speeds,
        fallback_kph=n.fallback_kph,
        walk_kph=n.walk_kph,
        bus_speed_factor=n.bus_speed_factor,
        bus_headway_min=n.bus_headway_min,
    )


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
    params = speed_params_from_scenario(scenario)
    if n.osm is not None:
        G = streets_from_file(
            n.osm,
            network_type=n.network_type,
            mode=n.mode,
            params=params,
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
        from urlink.network.streets import add_travel_times

        add_travel_times(G, mode=n.mode, params=params)
    return G


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
    import osmnx as ox

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


def _routing_and_skim(
    scenario: Scenario,
    streets: Any,
    zones: gpd.GeoDataFrame,
    *,
    scale: RunScale | None = None,
) -> tuple[RoutingGraph, RoutingGraph, pd.DataFrame]:
    """Routing graphs (by time, by length) and the zone skim, built once per run."""
    scale = RunScale() if scale is None else scale
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UrlinkWarning)
        routing = routing_graph_from(streets, weight="travel_time")
        routing_length = routing_graph_from(streets, weight="length")
        skim = spill_travel_time_matrix(
            routing,
            zones,
            folder=None if scale.scratch is None else scale.scratch / "skim",
            max_memory=scale.max_memory,
            workers=scale.workers,
            scheduler=scale.client,
            cutoff=scenario.network.cutoff_min,
            access_speed_kph=scenario.network.access_speed_kph,
        )
    for w in caught:
        logger.warning("%s", w.message)
    osm = scenario.network.osm
    check_reachability(skim, source=str(osm) if osm is not None else "proxy network")
    return routing, routing_length, skim


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


def linkages_from_scenario(
    scenario: Scenario,
    zones: gpd.GeoDataFrame,
    streets: Any,
    skim: pd.DataFrame,
    *,
    routing: RoutingGraph | None = None,
    routing_length: RoutingGraph | None = None,
    distance_km: pd.DataFrame | None = None,
) -> tuple[gpd.GeoDataFrame, dict[str, pd.DataFrame], Any, pd.DataFrame]:
    """Typology, flows, linkage graph (with CO2) and road volumes of a scenario.

    Parameters
    ----------
    scenario
        A loaded scenario.
    zones
        Its zones.
    streets
        Its street network.
    skim
        Travel times between the zones.
    routing, routing_length
        Routing graphs of ``streets`` by travel time and by length, if already built.
    distance_km
        Network distances between the zones (:func:`urlink.network.skims.distance_matrix_km`), if
        already computed.

    Returns
    -------
    zones : geopandas.GeoDataFrame
        With ``typology``, ``typology_reason``, ``time_to_urban_min``.
    flows : dict
        Flow type -> flow table.
    graph : networkx.MultiDiGraph
        The linkage graph with ``co2_kg_per_day`` on people and goods edges.
    volumes : pandas.DataFrame
        Street links ``u``, ``v`` with assigned volumes per flow type.
    """
    t = scenario.typology
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UrlinkWarning)
        densities = None
        if t.population_raster is not None:
            densities = zonal_population(zones, t.population_raster) / zones["area_km2"]
        zones = add_typology(
            zones,
            skim=skim,
            params=TypologyParams(
                urban_density=t.urban_density,
                cluster_density=t.cluster_density,
                periurban_max_time_min=t.periurban_max_time_min,
            ),
            densities=densities,
        )
        flows = flows_from_scenario(scenario, zones, skim)
        distance = (
            distance_matrix_km(streets if routing_length is None else routing_length, zones)
            if distance_km is None
            else distance_km
        )
        between = [f[f["use"] != "unused"] if "use" in f.columns else f for f in flows.values()]
        zones = zones.join(model_inputs(scenario, zones))
        inputs = [c for c in zones.columns if c.startswith(("people_", "goods_", "ecosystem_"))]
        graph = linkage_graph_from(
            zones,
            skim,
            between,
            distance_km=distance,
            network_source=str(streets.graph.get("network_source", "unknown")),
            node_columns=inputs,
        )
        e = scenario.emissions
        add_emissions(
            graph,
            EmissionFactors().with_overrides(dict(e.factors_g)),
            default_mode_people=e.people_mode,
            default_mode_goods=e.goods_mode,
        )
        road = [f for k, f in flows.items() if k in ("people", "goods")]
        volumes = (
            assign_to_network(
                streets if routing is None else routing, pd.concat(road, ignore_index=True), zones
            )
            if road
            else pd.DataFrame(columns=["u", "v"])
        )
    for w in caught:
        logger.warning("%s", w.message)
    return zones, flows, graph, volumes


def write_linkages(
    path: Path,
    zones: gpd.GeoDataFrame,
    graph: Any,
    edges: gpd.GeoDataFrame,
    volumes: pd.DataFrame,
) -> None:
    """Write ``linkages.gpkg``: layers ``zones``, ``flows`` and ``network``.

    Parameters
    ----------
    path
        Target GeoPackage.
    zones
        Zones with typology.
    graph
        The linkage graph.
    edges
        Street network edges (from :func:`network_edges_gdf`).
    volumes
        Assigned volumes per street link (``u``, ``v``, one column per flow type).
    """
    zones.to_crs("EPSG:4326").to_file(path, layer="zones", driver="GPKG")
    _, flows = graph_to_gdfs(graph)
    flows.to_file(path, layer="flows", driver="GPKG")
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
    table = read_rows(path, what="services", str_columns=("zone_id",))
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


def strategies_from_scenario(scenario: Scenario) -> list[Strategy]:
    """Turn the scenario's ``[[strategies]]`` into :class:`urlink.scenario.strategies.Strategy` objects.

    Parameters
    ----------
    scenario
        A loaded scenario.

    Returns
    -------
    list of Strategy
        In file order.
    """
    return [
        Strategy(
            name=s.name,
            kind=s.kind,
            title=s.title,
            sites=s.sites,
            actor=s.actor,
            level=s.level,
            sector=s.sector,
            cost_yuan=s.cost_yuan,
            params=dict(s.params),
        )
        for s in scenario.strategies
    ]


def _assess_strategy(
    shared: tuple[State, Evaluation, dict[str, str]], strategy: Strategy
) -> tuple[Evaluation, pd.DataFrame, pd.DataFrame, pd.DataFrame, list[str]]:
    """Apply and evaluate one strategy against the base (a pure function, run anywhere).

    Returns its evaluation, attribution per unit, guidelines, flow changes and warnings.
    """
    state, base, names = shared
    zones, focus = state.zones, state.scenario.boundaries.focus
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UrlinkWarning)
        new = _apply_strategy(state.scenario, state, strategy)
        ev = evaluate(new, cost_yuan=strategy.cost_yuan or 0.0)
        changed = compare_flows(base.flows, ev.flows)
        changed.insert(0, "strategy", strategy.name)
        effects = attribute_zones(base, ev, zones)
        units = attribute_units(effects, zones, strategy, focus=focus)
        units["crosses"] = crosses(units)
        guide = guidelines(units, strategy, names)
    return ev, units, guide, changed, [str(w.message) for w in caught]


def assess_strategies(
    scenario: Scenario,
    zones: gpd.GeoDataFrame,
    streets: Any,
    *,
    routing: RoutingGraph | None = None,
    routing_length: RoutingGraph | None = None,
    skim: pd.DataFrame | None = None,
    distance_km: pd.DataFrame | None = None,
    workers: int | None = 1,
    scheduler: Any = None,
) -> dict[str, pd.DataFrame]:
    """Evaluate the baseline and every strategy; attribute effects; write guidelines.

    Parameters
    ----------
    scenario
        A loaded scenario.
    zones
        Its zones with typology.
    streets
        Its street network.
    routing, routing_length, skim, distance_km
        Routing graphs, zone skim and zone distances (km) of ``streets``, if already built.
    workers, scheduler
        Evaluate the strategies over local processes or a Dask cluster (see
        :func:`urlink.parallel.map_chunks`; the base state is sent to each worker once).

    Returns
    -------
    dict
        ``indicators``, ``attribution``, ``guidelines`` and ``flow_changes``
        (:func:`urlink.scoring.attribution.compare_flows`, per strategy) tables.
    """
    services = services_from_scenario(scenario, zones)
    state = state_from_scenario(
        scenario,
        zones,
        streets,
        services,
        routing=routing,
        routing_length=routing_length,
        skim=skim,
        distance_km=distance_km,
    )
    names = {str(k): str(v) for k, v in zones["name"].items()}
    names.setdefault(scenario.boundaries.focus, f"focus unit {scenario.boundaries.focus}")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UrlinkWarning)
        base = evaluate(state)
    for w in caught:
        logger.warning("%s", w.message)
    evaluations = {"baseline": base}
    attribution, guides, flow_changes = [], [], []
    strategies = strategies_from_scenario(scenario)
    for strategy, (ev, units, guide, changed, messages) in zip(
        strategies,
        map_chunks(
            _assess_strategy,
            strategies,
            shared=(state, base, names),
            workers=workers,
            scheduler=scheduler,
        ),
        strict=True,
    ):
        evaluations[strategy.name] = ev
        attribution.append(units)
        guides.append(guide)
        flow_changes.append(changed)
        for message in messages:
            logger.warning("%s", message)
    rows = []
    unit_tables: list[pd.DataFrame] = []
    for name, ev in evaluations.items():
        for key, value in ev.district.items():
            d = INDICATORS[str(key)]
            rows.append(
                (
                    name,
                    "district",
                    "county",
                    scenario.boundaries.focus,
                    key,
                    value,
                    d.unit,
                    d.direction,
                    d.sdg,
                )
            )
        per_unit = indicators_by_unit(ev, zones).assign(strategy=name, scope="unit")
        unit_tables.append(per_unit)
    columns = [
        "strategy",
        "scope",
        "level",
        "unit",
        "indicator",
        "value",
        "unit_of_measure",
        "direction",
        "sdg",
    ]
    indicators = pd.concat([pd.DataFrame(rows, columns=columns), *unit_tables], ignore_index=True)[
        columns
    ]
    return {
        "indicators": indicators,
        "attribution": pd.concat(attribution, ignore_index=True)
        if attribution
        else pd.DataFrame(),
        "guidelines": pd.concat(guides, ignore_index=True) if guides else pd.DataFrame(),
        "flow_changes": pd.concat(flow_changes, ignore_index=True)
        if flow_changes
        else pd.DataFrame(),
    }


def performance_table(indicators: pd.DataFrame) -> pd.DataFrame:
    """Strategies x district indicators from the ``indicators`` output table.

    Parameters
    ----------
    indicators
        The table written as ``indicators.csv``.

    Returns
    -------
    pandas.DataFrame
        One row per strategy (baseline first), one column per indicator.
    """
    district = indicators[indicators["scope"] == "district"]
    table = district.pivot_table(
        index="strategy", columns="indicator", values="value", aggfunc="first", dropna=False
    )
    order = list(dict.fromkeys(district["strategy"]))
    return table.loc[order, list(dict.fromkeys(district["indicator"]))].astype(float)


def score_strategies(
    scenario: Scenario,
    indicators: pd.DataFrame,
    *,
    workers: int | None = 1,
    scheduler: Any = None,
) -> dict[str, pd.DataFrame]:
    """Rank the baseline and the strategies for every stakeholder group, and test robustness.

    Parameters
    ----------
    scenario
        A scenario with a ``[scoring]`` section.
    indicators
        The ``indicators`` table of :func:`assess_strategies`.
    workers, scheduler
        Where the SMAA sample chunks run (see :func:`urlink.scoring.smaa`).

    Returns
    -------
    dict
        ``scores`` (strategy, group, method, score, rank; groups and ``pooled``) and
        ``robustness`` (SMAA-2 with uniform weights and around each group's weights).

    Raises
    ------
    InputError
        If the weights name unknown indicators, or an indicator is undefined here.
    """
    from urlink.scoring import ahp_from_csv, pooled_weights, rank, score, smaa, weights_from_points

    spec = scenario.scoring
    if spec is None:
        return {}
    table = performance_table(indicators)
    if spec.weights is not None:
        weights = weights_from_points(spec.weights)
        source = spec.weights
    else:
        assert spec.ahp is not None
        weights = pd.DataFrame(ahp_from_csv(spec.ahp)).T
        source = spec.ahp
    unknown = [c for c in weights.columns if c not in INDICATORS]
    if unknown:
        msg = (
            f"weights {str(source)!r}: indicators {unknown} are not urlink indicators; use "
            f"some of {sorted(INDICATORS)}"
        )
        raise InputError(msg)
    table = table[list(weights.columns)]
    empty = table.columns[table.isna().all()].tolist()
    if empty:  # e.g. no rural zones: the rural/urban ratio is undefined for every strategy
        logger.warning(
            "indicators %s are undefined in this scenario and are left out of the "
            "scoring (the other weights are rescaled)",
            empty,
        )
        table = table.drop(columns=empty)
        weights = weights.drop(columns=empty)
        weights = weights.div(weights.sum(axis=1), axis=0)
    undefined = table.columns[table.isna().any()].tolist()
    if undefined:
        msg = (
            f"weights {str(source)!r}: indicators {undefined} are undefined for some "
            "strategies; remove them from the weights"
        )
        raise InputError(msg)
    directions = {c: INDICATORS[c].direction for c in table.columns}
    groups = pd.concat([weights, pooled_weights(weights).to_frame("pooled").T])
    rows = []
    for method in spec.methods:
        for group, w in groups.iterrows():
            s = score(table, w, directions, method=method)
            r = rank(s)
            rows += [(name, group, method, float(s[name]), int(r[name])) for name in table.index]
    scores = pd.DataFrame(rows, columns=["strategy", "group", "method", "score", "rank"])
    robust = []
    runs = [("uniform", None)] + [(str(g), w) for g, w in weights.iterrows()]
    for method in spec.methods:
        for label, around in runs:
            res = smaa(
                table,
                directions,
                method=method,
                n_samples=spec.smaa_samples,
                seed=scenario.seed,
                around=around,
                concentration=spec.concentration,
                workers=workers,
                scheduler=scheduler,
            )
            acc = res.acceptability.rename_axis(index="strategy", columns="rank")
            acc = acc.reset_index().melt(
                id_vars="strategy", var_name="rank", value_name="acceptability"
            )
            acc.insert(0, "method", method)
            acc.insert(0, "weights", label)
            acc["first_rank"] = acc["strategy"].map(res.first_rank)
            robust.append(acc)
    return {"scores": scores, "robustness": pd.concat(robust, ignore_index=True)}


def write_map(
    path: Path,
    zones: gpd.GeoDataFrame,
    graph: Any,
    network_source: str,
    *,
    lang: Lang = "both",
    offline: bool = False,
) -> None:
    """Write the workshop map of a run (see :func:`urlink.outputs.maps.map_linkages`).

    Parameters
    ----------
    path
        Target ``.html``.
    zones
        Zones with typology.
    graph
        The linkage graph (its edges are the flows drawn).
    network_source
        ``"proxy"`` labels the map as based on a proxy network.
    lang
        Label language.
    offline
        Self-contained page without background tiles (:func:`urlink.outputs.maps.save_map`).
    """
    from urlink.outputs.maps import map_linkages, save_map

    _, flows = graph_to_gdfs(graph)
    m = map_linkages(
        zones,
        pd.DataFrame(flows.drop(columns="geometry")),
        lang=lang,
        network_source=network_source,
        tiles=None if offline else "OpenStreetMap",
    )
    save_map(m, path, offline=offline)


def write_maps(
    folder: Path,
    zones: gpd.GeoDataFrame,
    graph: Any,
    network_source: str,
    *,
    assessed: dict[str, pd.DataFrame],
    scenario: Scenario,
    lang: Lang = "both",
    offline: bool = False,
) -> list[Path]:
    """Write ``map.html`` and every ``compare_<strategy>.html`` of a run into ``folder``.

    Parameters
    ----------
    folder
        Output folder.
    zones
        Zones with typology.
    graph
        The linkage graph.
    network_source
        Source of the street network.
    assessed
        Tables of :func:`assess_strategies` and :func:`score_strategies`.
    scenario
        The scenario.
    lang
        Label language.
    offline
        Self-contained pages without background tiles.

    Returns
    -------
    list of pathlib.Path
        The written pages, ``map.html`` first.
    """
    write_map(
        folder / "map.html",
        zones_with_indicators(zones, assessed.get("indicators")),
        graph,
        network_source,
        lang=lang,
        offline=offline,
    )
    return [
        folder / "map.html",
        *write_comparisons(folder, zones, assessed, scenario, lang=lang, offline=offline),
    ]


def zones_with_indicators(
    zones: gpd.GeoDataFrame, indicators: pd.DataFrame | None, *, strategy: str = "baseline"
) -> gpd.GeoDataFrame:
    """Zones with one column per zone indicator of a strategy (for map popups).

    Parameters
    ----------
    zones
        Zones indexed by zone id, with ``level``.
    indicators
        The ``indicators`` table of :func:`assess_strategies` (None: zones unchanged).
    strategy
        Whose values to take.

    Returns
    -------
    geopandas.GeoDataFrame
        A copy of ``zones`` with the indicators of each zone's own unit as columns.
    """
    if indicators is None or indicators.empty:
        return zones
    rows = indicators[(indicators["scope"] == "unit") & (indicators["strategy"] == strategy)]
    own = rows.assign(unit=rows["unit"].astype(str))
    level = zones["level"].astype(str) if "level" in zones.columns else None
    out = zones.copy()
    for name, part in own.groupby("indicator"):
        if name in out.columns:
            continue
        values = {}
        for lvl, sub in part.groupby("level"):
            for unit, value in zip(sub["unit"], sub["value"], strict=True):
                values[(str(lvl), unit)] = float(value)
        out[str(name)] = [
            values.get((str(level.loc[i]) if level is not None else "", str(i)), np.nan)
            for i in out.index
        ]
    return out


def ranking_table(assessed: dict[str, pd.DataFrame]) -> pd.DataFrame | None:
    """Pooled weighted-sum ranking with first-rank acceptability (uniform weights).

    Parameters
    ----------
    assessed
        Tables of :func:`assess_strategies` and :func:`score_strategies`.

    Returns
    -------
    pandas.DataFrame or None
        ``strategy``, ``rank``, ``first_rank``; None when the run was not scored.
    """
    if "scores" not in assessed:
        return None
    s = assessed["scores"]
    ranking = s[(s["group"] == "pooled") & (s["method"] == "weighted_sum")][
        ["strategy", "rank"]
    ].copy()
    r = assessed["robustness"]
    first = r[
        (r["weights"] == "uniform") & (r["method"] == "weighted_sum") & (r["rank"] == 1)
    ].set_index("strategy")["acceptability"]
    ranking["first_rank"] = ranking["strategy"].map(first)
    return ranking


def indicator_changes(indicators: pd.DataFrame, strategy: str) -> pd.DataFrame:
    """District indicators of one strategy beside the baseline's.

    Parameters
    ----------
    indicators
        The ``indicators`` table of :func:`assess_strategies`.
    strategy
        Strategy name.

    Returns
    -------
    pandas.DataFrame
        ``indicator``, ``base``, ``new``, ``change``, ``unit_of_measure``, ``direction``,
        ``sdg``.
    """
    district = indicators[indicators["scope"] == "district"]
    base = district[district["strategy"] == "baseline"].set_index("indicator")
    new = district[district["strategy"] == strategy].set_index("indicator")
    out = base[["unit_of_measure", "direction", "sdg"]].copy()
    out["base"] = base["value"].astype(float)
    out["new"] = new["value"].reindex(out.index).astype(float)
    out["change"] = out["new"] - out["base"]
    return out.reset_index()[
        ["indicator", "base", "new", "change", "unit_of_measure", "direction", "sdg"]
    ]


def write_comparisons(
    folder: Path,
    zones: gpd.GeoDataFrame,
    assessed: dict[str, pd.DataFrame],
    scenario: Scenario,
    *,
    strategies: Sequence[str] | None = None,
    lang: Lang = "both",
    offline: bool = False,
) -> list[Path]:
    """Write ``compare_<strategy>.html`` for the strategies of a run.

    Parameters
    ----------
    folder
        Output folder.
    zones
        Zones with typology.
    assessed
        Tables of :func:`assess_strategies` and :func:`score_strategies`.
    scenario
        The scenario (strategy titles).
    strategies
        Names of the strategies to draw (default: all).
    lang
        Label language.
    offline
        Self-contained pages without background tiles.

    Returns
    -------
    list of pathlib.Path
        The written pages.
    """
    from urlink.outputs.maps import map_comparison, save_map
    from urlink.scoring.attribution import EFFECTS

    attribution = assessed.get("attribution")
    if attribution is None or attribution.empty:
        return []
    ranking = ranking_table(assessed)
    titles = {s.name: s.title for s in scenario.strategies}
    changes = assessed.get("flow_changes", pd.DataFrame())
    written = []
    for name, rows in attribution[attribution["level"] == "township"].groupby("strategy"):
        if strategies is not None and name not in strategies:
            continue
        effects = rows.set_index("unit")[list(EFFECTS)]
        dm = map_comparison(
            zones,
            effects,
            strategy=str(name),
            title=titles.get(str(name), ""),
            ranking=ranking,
            flow_changes=changes[changes["strategy"] == name] if len(changes) else None,
            indicator_changes=indicator_changes(assessed["indicators"], str(name)),
            lang=lang,
            tiles=None if offline else "OpenStreetMap",
        )
        path = folder / f"compare_{name}.html"
        save_map(dm, path, offline=offline)
        written.append(path)
    return written


def build_map(
    scenario: Scenario,
    out_dir: Path,
    *,
    strategy: str | None = None,
    lang: Lang = "both",
    offline: bool = False,
) -> list[Path]:
    """Build a scenario's flows and write ``map.html`` (and a comparison) into ``out_dir``.

    Each file is written to a temporary name and renamed, so an earlier map survives a
    failure; other files in ``out_dir`` are left alone.

    Parameters
    ----------
    scenario
        A loaded scenario.
    out_dir
        Folder for the maps (created if needed; must not hold an input file's path).
    strategy
        Also write ``compare_<strategy>.html`` for this strategy of the scenario (its
        ranking among all strategies is shown, so all of them are assessed).
    lang
        Label language.
    offline
        Self-contained pages without background tiles.

    Returns
    -------
    list of pathlib.Path
        The written pages, ``map.html`` first.

    Raises
    ------
    InputError
        On bad input, e.g. a strategy the scenario does not have.
    """
    check_inputs(scenario)
    names = [s.name for s in scenario.strategies]
    if strategy is not None and strategy not in names:
        msg = (
            f"--strategy {strategy!r}: {scenario.path} has no such strategy; use one of {names}"
            if names
            else f"--strategy {strategy!r}: {scenario.path} defines no strategies"
        )
        raise InputError(msg)
    out = check_output_dir(out_dir, scenario.input_files())
    zones, _ = zones_from_scenario(scenario)
    streets = network_from_scenario(scenario, zones)
    routing, routing_length, skim = _routing_and_skim(scenario, streets, zones)
    zones, _, graph, _ = linkages_from_scenario(
        scenario, zones, streets, skim, routing=routing, routing_length=routing_length
    )
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".map.", dir=out) as tmpname:
        tmp = Path(tmpname)
        pages = [tmp / "map.html"]
        write_map(
            pages[0],
            zones,
            graph,
            str(streets.graph.get("network_source", "unknown")),
            lang=lang,
            offline=offline,
        )
        if strategy is not None:
            assessed = assess_strategies(
                scenario, zones, streets, routing=routing, routing_length=routing_length, skim=skim
            )
            if scenario.scoring is not None:
                assessed.update(score_strategies(scenario, assessed["indicators"]))
            pages += write_comparisons(
                tmp,
                zones,
                assessed,
                scenario,
                strategies=[strategy],
                lang=lang,
                offline=offline,
            )
        written = []
        for page in pages:
            target = out / page.name
            page.replace(target)
            written.append(target)
    return written


def validate_scenario(scenario: Scenario) -> dict[str, Any]:
    """Check a scenario and its inputs without writing anything.

    Parameters
    ----------
    scenario
        A loaded scenario.

    Returns
    -------
    dict
        A short summary (number of zones per level, total population).

    Raises
    ------
    InputError
        On the first problem found.
    """
    check_inputs(scenario)
    zones, _ = zones_from_scenario(scenario)
    check_strategy_zones(scenario, zones)
    if scenario.strategies:  # apply every strategy once, so bad parameters show up now
        streets = network_from_scenario(scenario, zones)
        state = state_from_scenario(
            scenario, zones, streets, services_from_scenario(scenario, zones)
        )
        for strategy in strategies_from_scenario(scenario):
            _apply_strategy(scenario, state, strategy)
    return {
        "zones": len(zones),
        "by_level": {
            str(k): int(v) for k, v in zones["level"].value_counts().sort_index().items()
        },
        "population": int(zones["population"].sum()),
    }


def input_fingerprints(scenario: Scenario) -> list[dict[str, Any]]:
    """Every input of a scenario with its size and SHA-256 (for the manifest).

    Parameters
    ----------
    scenario
        A loaded scenario.

    Returns
    -------
    list of dict
        ``path``, ``bytes``, ``sha256`` per input file; PostGIS input tables with their row
        count and a digest of their content (:func:`urlink.store.runs.table_fingerprint`).
    """
    inputs: list[dict[str, Any]] = [
        {"path": str(p), "bytes": p.stat().st_size, "sha256": file_sha256(p)}
        for p in scenario.input_files()
    ]
    if scenario.input_tables():
        from urlink.io.postgis import table_fingerprint

        inputs += [table_fingerprint(url, table) for url, table in scenario.input_tables()]
    return inputs


def run_scenario(
    scenario: Scenario,
    out_dir: Path,
    *,
    on_stage: Callable[[str], None] | None = None,
    workers: int | Literal["auto"] | None = 1,
    scheduler: Any = None,
    max_memory: int | str | None = None,
) -> Path:
    """Run a scenario and write its outputs to ``out_dir`` (replaced only on success).

    Parameters
    ----------
    scenario
        A loaded scenario.
    out_dir
        Output folder, e.g. ``outputs/huangyan``.
    on_stage
        Called with each stage name from :data:`STAGES` as it starts (the CLI uses it for
        its progress bar).
    workers, scheduler, max_memory
        Where the heavy steps (skim chunks, strategies, SMAA samples) run and how much
        memory the skim may take (see :func:`urlink.parallel.run_scale`); the outputs are
        the same for any setting. ``workers="auto"`` (the command line's default) uses
        every core for runs of :data:`urlink.parallel.AUTO_PARALLEL_ZONES` zones or more and
        one otherwise (:func:`urlink.parallel.auto_workers`).

    Returns
    -------
    pathlib.Path
        The output folder.

    Raises
    ------
    InputError
        On bad input; nothing is written then.
    """
    auto = workers == "auto"
    fixed = 1 if auto else workers
    with run_scale(workers=fixed, scheduler=scheduler, max_memory=max_memory) as scale:  # type: ignore[arg-type]
        return _run_scenario(scenario, out_dir, on_stage=on_stage, scale=scale, auto=auto)


def _scale_for_zones(scale: RunScale, n_zones: int, *, auto: bool) -> RunScale:
    """With ``workers="auto"``, the local workers for a run of ``n_zones`` zones."""
    if not auto:
        return scale
    out = dataclasses.replace(scale, workers=auto_workers(n_zones))
    logger.info("%d zones: %d local worker(s)", n_zones, out.workers)
    return out


def _run_scenario(
    scenario: Scenario,
    out_dir: Path,
    *,
    on_stage: Callable[[str], None] | None,
    scale: RunScale,
    auto: bool = False,
) -> Path:
    started = datetime.now(UTC)
    timings: dict[str, float] = {}
    out = check_output_dir(out_dir, scenario.input_files())

    def stage(name: str) -> float:
        if on_stage is not None:
            on_stage(name)
        logger.info("stage: %s", name)
        return time.perf_counter()

    t0 = stage("check inputs")
    check_inputs(scenario)
    inputs = input_fingerprints(scenario)
    timings["check inputs"] = time.perf_counter() - t0

    t0 = stage("zones")
    zones, params = zones_from_scenario(scenario)
    check_strategy_zones(scenario, zones)
    scale = _scale_for_zones(scale, len(zones), auto=auto)
    timings["zones"] = time.perf_counter() - t0

    t0 = stage("network")
    G = network_from_scenario(scenario, zones)
    source = str(G.graph["network_source"])
    timings["network"] = time.perf_counter() - t0

    t0 = stage("travel times")
    routing, routing_length, skim = _routing_and_skim(scenario, G, zones, scale=scale)
    timings["travel times"] = time.perf_counter() - t0

    t0 = stage("linkages")
    # distances by length: computed once, used by the linkage graph and the indicators
    distance = distance_matrix_km(routing_length, zones)
    zones, flows, link_graph, volumes = linkages_from_scenario(
        scenario,
        zones,
        G,
        skim,
        routing=routing,
        routing_length=routing_length,
        distance_km=distance,
    )
    timings["linkages"] = time.perf_counter() - t0

    t0 = stage("strategies")
    assessed = assess_strategies(
        scenario,
        zones,
        G,
        routing=routing,
        routing_length=routing_length,
        skim=skim,
        distance_km=distance,
        workers=scale.workers,
        scheduler=scale.client,
    )
    timings["strategies"] = time.perf_counter() - t0

    t0 = stage("scoring")
    if scenario.scoring is not None and scenario.strategies:
        assessed.update(
            score_strategies(
                scenario, assessed["indicators"], workers=scale.workers, scheduler=scale.client
            )
        )
    timings["scoring"] = time.perf_counter() - t0

    summary = {
        "zones": len(zones),
        "population_total": int(zones["population"].sum()),
        "population_estimated_zones": int(
            zones["population_source"].str.startswith("estimate").sum()
        ),
        "network_source": source,
        "network_nodes": G.number_of_nodes(),
        "network_edges": G.number_of_edges(),
        "unreachable_pairs": int(sum(int(np.isnan(b).sum()) for _, b in iter_skim_rows(skim))),
        "typology": {
            str(k): int(v) for k, v in zones["typology"].value_counts().sort_index().items()
        },
        "flows": {
            t: {
                "rows": len(f),
                "total": float(f["volume"].sum()),
                "unit": str(f["unit"].iloc[0]),
                # with [flows.people] top_destinations: the share of the modelled volume left out
                **(
                    {"dropped_share": f.attrs["dropped_share"]}
                    if "dropped_share" in f.attrs
                    else {}
                ),
            }
            for t, f in flows.items()
            if len(f)
        },
    }

    t0 = stage("write outputs")
    with atomic_output_dir(out) as tmp:
        zones.assign(network_source=source).to_crs("EPSG:4326").to_file(
            tmp / "zones.gpkg", layer="zones", driver="GPKG"
        )
        write_travel_times(tmp / "travel_times.csv", skim, source)
        write_linkages(
            tmp / "linkages.gpkg",
            zones.assign(network_source=source),
            link_graph,
            network_edges_gdf(G),
            volumes,
        )
        all_flows = (
            pd.concat(list(flows.values()), ignore_index=True) if flows else (pd.DataFrame())
        )
        all_flows.to_csv(tmp / "flows.csv", index=False, float_format="%.6f")
        for name, table in assessed.items():
            digits = "%.10g" if name == "flow_changes" else "%.6g"  # differences need digits
            table.to_csv(tmp / f"{name}.csv", index=False, float_format=digits)
        write_maps(tmp, zones, link_graph, source, assessed=assessed, scenario=scenario)
        write_report(
            tmp / "report.html",
            scenario=scenario,
            zones=zones,
            flows=all_flows,
            assessed=assessed,
            summary=summary,
            inputs=inputs,
        )
        timings["write outputs"] = time.perf_counter() - t0
        manifest = {
            "scenario": scenario.name,
            "title": scenario.title,
            "scenario_file": str(scenario.path),
            "started_utc": started.isoformat(timespec="seconds"),
            "seed": scenario.seed,
            # how the run was spread; the numbers do not depend on it (tests/test_parallel.py)
            "run_options": {
                "workers": scale.workers,
                "dask": scale.client is not None,
                "max_memory_bytes": scale.max_memory,
            },
            "inputs": inputs,
            "parameters": {"scenario": scenario.raw, **params},
            "summary": summary,
            "outputs": {
                "zones.gpkg": "layer 'zones', EPSG:4326",
                "linkages.gpkg": f"layers 'zones', 'flows' (seat to seat, with co2), 'network' "
                f"({source}, with assigned volumes per flow type), EPSG:4326",
                "flows.csv": "every flow row of every type, including unused ecosystem supply",
                "map.html": "interactive map (folium): typology, boundaries, flows by type",
                "compare_<strategy>.html": "each strategy against the baseline, side by side: "
                "zone effects, flow changes, district indicators, ranking",
                "report.html": "self-contained report: what was modelled, data and estimates, "
                "flows across boundaries, indicators by SDG, ranking and robustness charts, "
                "guidelines per level (prints on A4)",
                "flow_changes.csv": "strategy, flow_type, origin, destination, commodity, use, "
                "unit, volume_base, volume_new, change, change_pct",
                "indicators.csv": "strategy, scope, level, unit, indicator, value, unit_of_"
                "measure, direction, sdg",
                "attribution.csv": "strategy, level, unit, effects, cost_yuan, responsible, "
                "crosses",
                "guidelines.csv": "level, unit, strategy, role, action, gains, costs",
                "scores.csv": "strategy, group, method, score, rank (groups and pooled)",
                "robustness.csv": "SMAA-2: weights, method, strategy, rank, acceptability, "
                "first_rank",
                "travel_times.csv": f"origin, destination, time_min ({scenario.network.mode}),"
                " network_source",
            },
            "versions": versions(),
            "timings_s": {k: round(v, 4) for k, v in timings.items()},
        }
        write_json(tmp / "manifest.json", manifest)
    logger.info("%d zones, population %s", len(zones), f"{summary['population_total']:,}")
    return out
