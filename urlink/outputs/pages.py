"""The pages of a run: the workshop map and one comparison page per strategy.

Pages are offline by default: Leaflet is inlined and no tile server is asked
(:func:`urlink.outputs.maps.save_map`); ``offline=False`` gives pages that load Leaflet from
a CDN and show OpenStreetMap tiles. Every page credits the run's data sources
(:func:`data_credits`) and opens on the focus unit's zones; a comparison page draws the
strategy itself (:func:`strategy_geometry`) and links to the other strategies' pages.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely

from urlink.errors import InputError
from urlink.io.osm_admin import water_from_osm
from urlink.outputs.files import network_edges_gdf
from urlink.outputs.maps import _t, map_comparison, map_linkages, save_map
from urlink.outputs.report import source_notes
from urlink.progress import Progress, advance
from urlink.scenario.strategies import strategy_params
from urlink.scoring.attribution import EFFECTS

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from urlink.model.state import Strategy
    from urlink.outputs.maps import Lang
    from urlink.scenario.spec import Scenario

__all__ = [
    "MAIN_ROADS",
    "base_water",
    "data_credits",
    "focus_ids",
    "indicator_changes",
    "main_roads",
    "ranking_table",
    "strategy_geometry",
    "write_comparisons",
    "write_map",
    "write_maps",
    "zones_with_indicators",
]


MAIN_ROADS = ("motorway", "trunk", "primary", "secondary")
"""OSM road classes drawn in the maps' base layer."""


def focus_ids(zones: pd.DataFrame, scenario: Scenario) -> list[str]:
    """Ids of the zones of the scenario's focus unit (the study area the maps open on).

    Parameters
    ----------
    zones
        Zones indexed by id, with ``county_code``.
    scenario
        The scenario (``[boundaries] focus``).

    Returns
    -------
    list of str
    """
    focus = str(scenario.boundaries.focus)
    own = zones.index.astype(str) == focus
    if "county_code" in zones.columns:
        own = own | (zones["county_code"].astype(str) == focus).to_numpy()
    return [str(i) for i in zones.index[own]]


def data_credits(scenario: Scenario, network_source: str) -> list[str]:
    """Attribution lines of a run's data sources, from the entries of ``SOURCES.md``.

    Each input file's entry in the nearest ``SOURCES.md`` (:func:`urlink.outputs.report.
    source_notes`) gives its licence; a quoted attribution (``Attribution: "..."``) is used
    as given, with the licence name (CC BY 4.0, ODbL ...) where it names one. An OSM street
    network adds "© OpenStreetMap contributors (ODbL)".

    Parameters
    ----------
    scenario
        The scenario (its input files).
    network_source
        ``"osm"`` or ``"osm:<file>"`` adds the OpenStreetMap credit.

    Returns
    -------
    list of str
        Plain text, one line per source, in input order without repeats.
    """
    out: list[str] = []
    for path in scenario.input_files():
        licence = source_notes(Path(path)).get("licence", "")
        quoted = re.search(r"[Aa]ttribution:?\s*[\"“]([^\"”]+)[\"”]", licence)
        if not quoted:
            continue
        text = quoted.group(1).strip().rstrip(".")
        for name in ("CC BY 4.0", "CC BY-SA 4.0", "ODbL", "CC0"):
            if name in licence and name not in text:
                text += f" ({name})"
                break
        if text not in out:
            out.append(text)
    if network_source.startswith("osm"):
        out.append("© OpenStreetMap contributors (ODbL)")
    return out


def main_roads(streets: nx.MultiDiGraph | None) -> gpd.GeoDataFrame | None:
    """Return the main roads of an OpenStreetMap street network, one line per road link.

    Parameters
    ----------
    streets
        A street graph; None or a proxy network gives None.

    Returns
    -------
    geopandas.GeoDataFrame or None
        The edges whose ``highway`` is one of :data:`MAIN_ROADS` (one direction each).
    """
    source = str(streets.graph.get("network_source", "")) if streets is not None else ""
    if streets is None or not source.startswith("osm") or not len(streets):
        return None
    # only the main roads' edges become lines (a province has a million other edges)
    keep, at = [], []
    tagged = False
    for i, (u, v, k, h) in enumerate(streets.edges(keys=True, data="highway")):
        if h is None:
            continue
        tagged = True
        text = ";".join(map(str, h)) if isinstance(h, list) else str(h)
        if any(road in text for road in MAIN_ROADS):
            keep.append((u, v, k))
            at.append(i)
    if not tagged or not keep:
        return None
    ends = {n for u, v, _ in keep for n in (u, v)}
    main = nx.MultiDiGraph(**streets.graph)  # the edges in the order of the whole graph's
    main.add_nodes_from((n, d) for n, d in streets.nodes(data=True) if n in ends)
    main.add_edges_from((u, v, k, streets.edges[u, v, k]) for u, v, k in keep)
    roads = network_edges_gdf(main)
    roads.index = pd.Index(at)  # the rows they have among all edges
    pair = [tuple(sorted((str(u), str(v)))) for u, v in zip(roads["u"], roads["v"], strict=True)]
    return roads.assign(_pair=pair).drop_duplicates("_pair")[["geometry"]]


def base_water(scenario: Scenario, zones: gpd.GeoDataFrame) -> gpd.GeoDataFrame | None:
    """Return the water bodies of the scenario's OSM extract for the map's base layer.

    Parameters
    ----------
    scenario
        The scenario; only an ``.osm.pbf`` in ``[network] osm`` has water to read.
    zones
        The zones (water bodies touching them are kept).

    Returns
    -------
    geopandas.GeoDataFrame or None
        Lakes, reservoirs and river areas (:func:`urlink.io.osm_admin.water_from_osm`), or
        None without a PBF extract.
    """
    osm = scenario.network.osm
    if osm is None or not str(osm).endswith(".pbf"):
        return None
    water = water_from_osm(osm, within=zones)
    return None if water.empty else water


def _seat(zones: pd.DataFrame, zone: str) -> tuple[float, float] | None:
    if zone not in zones.index.astype(str):
        return None
    row = zones.loc[zones.index.astype(str) == zone].iloc[0]
    return float(row["seat_lon"]), float(row["seat_lat"])


def _name(zones: pd.DataFrame, zone: str, lang: Lang) -> str:
    if zone not in zones.index.astype(str):
        return zone
    row = zones.loc[zones.index.astype(str) == zone].iloc[0]
    zh = str(row.get("name", zone))
    en = row.get("name_en")
    en = str(en) if isinstance(en, str) and en else zh
    return {"zh": zh, "en": en, "both": zh if zh == en else f"{zh} / {en}"}[lang]


def _feature(geom: Any, role: str, label: str) -> dict[str, Any]:
    return {
        "type": "Feature",
        "properties": {"role": role, "label": label},
        "geometry": shapely.geometry.mapping(geom),
    }


def _line_coords(line: Any, base: Path) -> list[tuple[float, float]]:
    """Coordinates of a strategy's ``line``: given inline or as a GeoJSON file."""
    if not isinstance(line, (str, Path)):
        return [(float(x), float(y)) for x, y in line]
    path = Path(line) if Path(line).is_absolute() else base / line
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        msg = f"strategy line {str(path)!r} cannot be read for the map: {err}"
        raise InputError(msg) from None
    feats = data.get("features", [data]) if isinstance(data, dict) else []
    for f in feats:
        geom = f.get("geometry", f)
        if geom.get("type") == "LineString":
            return [(float(x), float(y)) for x, y, *_ in geom["coordinates"]]
    return []


def strategy_geometry(
    strategy: Strategy,
    zones: pd.DataFrame,
    *,
    lang: Lang = "both",
    base: Path | None = None,
    streets: nx.MultiDiGraph | None = None,
) -> list[dict[str, Any]]:
    """Return what a strategy builds or changes as labelled GeoJSON features (WGS84).

    ``add_link``: the new road (seat to seat, point to point or the drawn line);
    ``upgrade_road``: the upgraded links (seat to seat, or the given path); ``bus_line``:
    the line through its stops' seats and a point per stop; ``market_hub``: the hub at the
    zone's seat; ``land_change``: the changed zones' outlines; ``service_relocation``: a
    line from the old to the new zone. Other kinds (e.g. ``eco_compensation``) have no
    geometry of their own and give an empty list. Roads named by zone pairs are drawn
    straight between the seats (the proxy network's links; on an OSM network the modelled
    path follows the roads); roads named by OSM ``ways`` are drawn from ``streets``.

    Parameters
    ----------
    strategy
        The strategy.
    zones
        Zones (WGS84 seats ``seat_lon``/``seat_lat``, geometry), indexed by id.
    lang
        Language of the labels.
    base
        Folder that a relative ``line`` file is read from (the scenario's folder).
    streets
        The street network, for ``upgrade_road`` given as OSM ``ways``.

    Returns
    -------
    list of dict
        GeoJSON features with ``properties.role`` and ``properties.label``.
    """
    make = _GEOMETRY_OF.get(strategy.kind)
    if make is None:
        return []
    params = strategy_params(strategy)
    feats = make(params, zones, lang, base or Path())
    ways = getattr(params, "ways", None) if strategy.kind == "upgrade_road" else None
    if ways and streets is not None:
        lines = _way_lines(streets, {int(w) for w in ways})
        if lines is not None:
            feats.append(_feature(lines, "upgrade", _t("upgraded_road", lang)))
    return feats


def _way_lines(streets: nx.MultiDiGraph, ways: set[int]) -> Any:
    """Return the links of the given OSM ways as one WGS84 MultiLineString (None if none)."""
    lines = []
    for u, v, data in streets.edges(data=True):
        osmid = data.get("osmid")
        ids = set(osmid) if isinstance(osmid, (list, tuple, set)) else {osmid}
        if not ids & ways:
            continue
        geom = data.get("geometry")
        if geom is None:
            nu, nv = streets.nodes[u], streets.nodes[v]
            geom = shapely.LineString([(nu["x"], nu["y"]), (nv["x"], nv["y"])])
        lines.append(geom)
    if not lines:
        return None
    crs = streets.graph.get("crs", "EPSG:4326")
    merged = gpd.GeoSeries(lines, crs=crs).to_crs("EPSG:4326")
    return shapely.MultiLineString([g for geom in merged for g in getattr(geom, "geoms", [geom])])


def _geom_add_link(p: Any, zones: pd.DataFrame, lang: Lang, base: Path) -> list[dict[str, Any]]:
    if p.line is not None:
        coords = _line_coords(p.line, base)
    elif p.from_point is not None and p.to_point is not None:
        coords = [tuple(p.from_point), tuple(p.to_point)]
    else:
        ends = [_seat(zones, str(p.from_zone)), _seat(zones, str(p.to))]
        coords = [c for c in ends if c is not None]
    if len(coords) < 2:
        return []
    return [_feature(shapely.LineString(coords), "road", _t("new_road", lang))]


def _geom_upgrade(p: Any, zones: pd.DataFrame, lang: Lang, base: Path) -> list[dict[str, Any]]:
    feats: list[dict[str, Any]] = []
    if p.path is not None:
        feats.append(_feature(shapely.LineString(p.path), "upgrade", _t("upgraded_road", lang)))
    for i, (a, b) in enumerate(p.links or ()):
        ends = [_seat(zones, str(a)), _seat(zones, str(b))]
        if None not in ends:
            label = _t("upgraded_road", lang) if i == 0 and not feats else ""
            feats.append(_feature(shapely.LineString(ends), "upgrade", label))
    return feats


def _geom_bus(p: Any, zones: pd.DataFrame, lang: Lang, base: Path) -> list[dict[str, Any]]:
    stops = [(z, _seat(zones, str(z))) for z in p.stops]
    pts = [c for _, c in stops if c is not None]
    feats: list[dict[str, Any]] = []
    if len(pts) >= 2:
        feats.append(_feature(shapely.LineString(pts), "bus", _t("bus_line", lang)))
    return feats + [
        _feature(shapely.Point(c), "stop", _name(zones, str(z), lang))
        for z, c in stops
        if c is not None
    ]


def _geom_hub(p: Any, zones: pd.DataFrame, lang: Lang, base: Path) -> list[dict[str, Any]]:
    c = _seat(zones, str(p.zone))
    return [] if c is None else [_feature(shapely.Point(c), "hub", _t("hub", lang))]


def _geom_land(p: Any, zones: pd.DataFrame, lang: Lang, base: Path) -> list[dict[str, Any]]:
    feats: list[dict[str, Any]] = []
    ids = zones.index.astype(str)
    for z in p.zones:
        if str(z) in ids and "geometry" in zones.columns:
            geom = zones.loc[ids == str(z)].geometry.iloc[0]
            label = "" if feats else _t("land_change", lang)
            feats.append(_feature(geom.boundary, "zone", label))
    return feats


def _geom_relocation(p: Any, zones: pd.DataFrame, lang: Lang, base: Path) -> list[dict[str, Any]]:
    ends = [_seat(zones, str(p.from_zone)), _seat(zones, str(p.to))]
    if None in ends:
        return []
    label = f"{_t('relocation', lang)}: {p.service}"
    return [_feature(shapely.LineString(ends), "relocation", label)]


_GEOMETRY_OF = {
    "add_link": _geom_add_link,
    "upgrade_road": _geom_upgrade,
    "bus_line": _geom_bus,
    "market_hub": _geom_hub,
    "land_change": _geom_land,
    "service_relocation": _geom_relocation,
}
"""Geometry of each strategy kind that has one (plugins' kinds have none)."""


def write_map(
    path: Path,
    zones: gpd.GeoDataFrame,
    flows: pd.DataFrame,
    network_source: str,
    *,
    lang: Lang = "both",
    offline: bool = True,
    focus: Sequence[str] | None = None,
    title: str = "",
    credits: Sequence[str] = (),
    roads: gpd.GeoDataFrame | None = None,
    water: gpd.GeoDataFrame | None = None,
) -> None:
    """Write the workshop map of a run (see :func:`urlink.outputs.maps.map_linkages`).

    Parameters
    ----------
    path
        Target ``.html``.
    zones
        Zones with typology.
    flows
        The flow edges of the linkage graph, drawn
        (:func:`urlink.model.linkage.linkage_flows_of`, or ``graph_to_gdfs(G)[1]``).
    network_source
        ``"proxy"`` labels the map as based on a proxy network.
    lang
        Label language.
    offline
        Self-contained page without background tiles (default); False loads Leaflet from
        a CDN and shows OpenStreetMap tiles.
    focus
        Zone ids the map opens on.
    title
        Page title.
    credits
        Attribution of the data sources (:func:`data_credits`).
    roads
        Main roads for the base layer (:func:`main_roads`).
    water
        Water bodies for the base layer (:func:`base_water`).
    """
    m = map_linkages(
        zones,
        pd.DataFrame(flows.drop(columns="geometry", errors="ignore")),
        lang=lang,
        network_source=network_source,
        tiles=None if offline else "OpenStreetMap",
        focus=focus,
        title=title,
        credits=credits,
        roads=roads,
        water=water,
    )
    save_map(m, path, offline=offline)


def write_maps(
    folder: Path,
    zones: gpd.GeoDataFrame,
    flows: pd.DataFrame,
    network_source: str,
    *,
    assessed: Mapping[str, pd.DataFrame],
    scenario: Scenario,
    lang: Lang = "both",
    offline: bool = True,
    streets: nx.MultiDiGraph | None = None,
    progress: Progress | None = None,
) -> list[Path]:
    """Write ``map.html`` and every ``compare_<strategy>.html`` of a run into ``folder``.

    Parameters
    ----------
    folder
        Output folder.
    zones
        Zones with typology.
    flows
        The flow edges of the linkage graph (:func:`write_map`).
    network_source
        Source of the street network.
    assessed
        Tables of :func:`assess_strategies` and :func:`score_strategies`.
    scenario
        The scenario.
    lang
        Label language.
    offline
        Self-contained pages without background tiles (default).
    streets
        The street network (its main roads join the base layer when it is from OSM).
    progress
        Told when each page is written (:mod:`urlink.progress`).

    Returns
    -------
    list of pathlib.Path
        The written pages, ``map.html`` first.
    """
    credits = data_credits(scenario, network_source)
    write_map(
        folder / "map.html",
        zones_with_indicators(zones, assessed.get("indicators")),
        flows,
        network_source,
        lang=lang,
        offline=offline,
        focus=focus_ids(zones, scenario),
        title=scenario.title or scenario.name,
        credits=credits,
        roads=main_roads(streets),
        water=base_water(scenario, zones),
    )
    advance(progress, what="map.html")
    return [
        folder / "map.html",
        *write_comparisons(
            folder,
            zones,
            assessed,
            scenario,
            lang=lang,
            offline=offline,
            credits=credits,
            streets=streets,
            progress=progress,
        ),
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


def ranking_table(assessed: Mapping[str, pd.DataFrame]) -> pd.DataFrame | None:
    """Pooled weighted-sum ranking with first-rank acceptability (uniform weights).

    Parameters
    ----------
    assessed
        Tables of :func:`assess_strategies` and :func:`score_strategies`.

    Returns
    -------
    pandas.DataFrame or None
        ``strategy``, ``rank``, ``first_rank``; with ``[uncertainty]`` also
        ``first_rank_joint`` (pooled weights and uncertain inputs drawn together); None when
        the run was not scored.
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
    if "first_rank_joint" in r.columns:  # a scenario with [uncertainty]: weights and inputs
        pooled = r[(r["weights"] == "pooled") & (r["method"] == "weighted_sum") & (r["rank"] == 1)]
        joint = pooled.set_index("strategy")["first_rank_joint"]
        ranking["first_rank_joint"] = ranking["strategy"].map(joint)
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
    assessed: Mapping[str, pd.DataFrame],
    scenario: Scenario,
    *,
    strategies: Sequence[str] | None = None,
    lang: Lang = "both",
    offline: bool = True,
    credits: Sequence[str] = (),
    streets: nx.MultiDiGraph | None = None,
    progress: Progress | None = None,
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
        Self-contained pages without background tiles (default).
    credits
        Attribution of the data sources (:func:`data_credits`).
    streets
        The street network (roads upgraded by OSM way are drawn from it).
    progress
        Told when each page is written (:mod:`urlink.progress`).

    Returns
    -------
    list of pathlib.Path
        The written pages.
    """
    attribution = assessed.get("attribution")
    if attribution is None or attribution.empty:
        return []
    ranking = ranking_table(assessed)
    titles = {s.name: s.title for s in scenario.strategies}
    by_name = {s.name: s for s in scenario.strategies}
    changes = assessed.get("flow_changes", pd.DataFrame())
    township = attribution[attribution["level"] == "township"]
    pages = [(str(n), f"compare_{n}.html") for n in sorted(set(township["strategy"]))]
    wgs = zones.to_crs("EPSG:4326")
    focus = focus_ids(zones, scenario)
    written = []
    for name, rows in township.groupby("strategy"):
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
            focus=focus,
            geometry=(
                strategy_geometry(
                    by_name[str(name)],
                    wgs,
                    lang=lang,
                    base=scenario.path.parent,
                    streets=streets,
                )
                if str(name) in by_name
                else ()
            ),
            pages=pages,
            credits=credits,
        )
        path = folder / f"compare_{name}.html"
        save_map(dm, path, offline=offline)
        written.append(path)
        advance(progress, what=path.name)
    return written
