"""Checks of a scenario against its inputs: files named, strategy zones, GCJ-02 offsets.

These need the parsed :class:`~urlink.scenario.spec.Scenario`; the checks of single files and
tables that every loader shares live in :mod:`urlink.validate`.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from urlink.errors import InputError, UrlinkWarning
from urlink.io.checks import gcj02_offset_between
from urlink.scenario.spec import OsmBoundariesSpec
from urlink.scenario.strategies import strategy_params, zone_ids_named
from urlink.validate import FileKind, check_file_size

if TYPE_CHECKING:
    import geopandas as gpd

    from urlink.scenario.spec import Scenario

__all__ = ["check_scenario_files", "check_strategy_zones", "scenario_inputs", "warn_gcj02_offset"]


def scenario_inputs(  # noqa: PLR0912 -- one check per section
    scenario: Scenario,
) -> list[tuple[str, Path, FileKind]]:
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
    # PostGIS tables (postgresql:// URLs) are no files; urlink.store.runs checks them
    if isinstance(scenario.boundaries, OsmBoundariesSpec):
        out.append(("[boundaries] osm", scenario.boundaries.path, "osm"))
    for key, spec in (
        ("[boundaries] path", scenario.boundaries),
        ("[townships] path", scenario.townships),
        ("[settlements] path", scenario.settlements),
    ):
        vector = spec is not None and not isinstance(spec, OsmBoundariesSpec)
        if vector and isinstance(spec.path, Path):  # type: ignore[union-attr]
            out.append((key, spec.path, "vector"))  # type: ignore[union-attr]
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
    if f.people is not None:
        tables += [
            (f"[flows.people.purposes.{s.name}] attraction", s.attraction)
            for s in f.people.purposes
        ]
    if scenario.bus is not None:
        tables.append(("[bus] lines", scenario.bus.lines))
        if scenario.bus.gtfs is not None:
            out.append(("[bus] gtfs", scenario.bus.gtfs, "vector"))
        if scenario.bus.osm is not None and all(scenario.bus.osm != p for _, p, _ in out):
            out.append(("[bus] osm", scenario.bus.osm, "osm"))
    out += [(key, p, "table") for key, p in tables if p is not None]
    das = scenario.population.dasymetric
    footprints = None if das is None else das.footprints
    if footprints is not None and all(footprints != p for _, p, _ in out):
        out.append(("[population.dasymetric] footprints", footprints, "osm"))
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
        named = [("sites", list(s.sites)), *zone_ids_named(strategy_params(s))]
        for key, ids in named:
            bad = [x for x in ids if x not in known]
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
