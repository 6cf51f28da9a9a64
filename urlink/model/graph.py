"""The linkage graph: zones as nodes, flows as edges of one MultiDiGraph.

Flows of people, goods, capital and ecosystem services between zones are the edges of one
:class:`networkx.MultiDiGraph` (UN-Habitat's urban-rural linkages, URL-GP 2019).

Build it with :func:`linkage_graph_from`; convert it with :func:`graph_to_gdfs`; store it
with :func:`save_graph_gpkg` / :func:`load_graph_gpkg` or :func:`save_graphml` /
:func:`load_graphml`.

Node attributes (one node per zone; the node key is the zone id):

``name``, ``name_en``, ``level``, ``township_code``, ``county_code``, ``prefecture_code``,
``province_code``, ``population``, ``population_source``, ``area_km2``, ``typology``,
``typology_reason``
    Copied from the zones frame where present (see :mod:`urlink.io.boundaries`,
    :mod:`urlink.model.typology`).
``x``, ``y``
    WGS84 longitude and latitude of the zone seat.
*model inputs*
    Any further numeric zone column given in ``node_columns`` (e.g. ``production``,
    ``supply``), so the graph records what the flow models were fed.

Edge attributes (one edge per origin, destination and flow type; the edge key is the flow
type, so ``G.edges["331003101", "331002", "people"]`` is the people flow):

``flow_type``
    ``"people"``, ``"goods"``, ``"capital"`` or ``"ecosystem"``.
``volume``, ``unit``
    Flow size and its unit (persons/day, t/day, yuan/year, m3/day).
``model``
    The flow model(s) the volume comes from (``"+"``-joined if several were summed).
``source``
    ``"observed"``, ``"modelled"`` or ``"estimated"`` (``"+"``-joined if mixed).
``time_min``
    Travel time between the zone seats from the skim (NaN if unreachable).
``distance_km``
    Network distance between the zone seats (NaN if not given or unreachable).
``crosses``
    The highest administrative level whose boundary the flow crosses: ``"none"`` (within
    one zone), ``"township"``, ``"county"``, ``"prefecture"`` or ``"province"``.
``pkm_per_day``, ``tkm_per_day``, ``co2_kg_per_day``
    Person-km (people edges) or tonne-km (goods edges) per day and transport CO2, added by
    :func:`urlink.model.carbon.add_emissions` (capital and ecosystem edges get ``co2_kg_per_day``
    = 0 only).

Graph attributes: ``crs`` (``"epsg:4326"``), ``network_source`` (from the street network),
``created_with`` (urlink version).
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any
from xml.etree import ElementTree

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pyogrio
import shapely

from urlink import __version__
from urlink.errors import InputError
from urlink.model.flows import FLOW_TYPES

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = [
    "CROSSES_LEVELS",
    "NODE_ATTRIBUTES",
    "crosses_level",
    "crosses_levels",
    "graph_to_gdfs",
    "linkage_flows_from",
    "linkage_graph_from",
    "load_graph_gpkg",
    "load_graphml",
    "save_graph_gpkg",
    "save_graphml",
]

logger = logging.getLogger(__name__)

CROSSES_LEVELS = ("none", "township", "county", "prefecture", "province")
"""Values of the ``crosses`` edge attribute, from no boundary to a provincial one."""

NODE_ATTRIBUTES = (
    "name",
    "name_en",
    "level",
    "township_code",
    "county_code",
    "prefecture_code",
    "province_code",
    "population",
    "population_source",
    "area_km2",
    "typology",
    "typology_reason",
)
"""Zone columns copied to every node where present."""

_CODE_LEVELS = ("province", "prefecture", "county", "township")
_EDGE_NUMERIC = ("volume", "time_min", "distance_km")


def _code(row: pd.Series | dict[str, Any], level: str) -> str | None:
    value = row.get(f"{level}_code")
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None
    return str(value)


def crosses_level(a: pd.Series | dict[str, Any], b: pd.Series | dict[str, Any]) -> str:
    """Highest administrative level whose boundary a flow from zone ``a`` to ``b`` crosses.

    Parameters
    ----------
    a, b
        Zone rows with ``*_code`` columns (missing codes below a zone's level are fine).

    Returns
    -------
    str
        One of :data:`CROSSES_LEVELS`.

    Examples
    --------
    >>> town = {"township_code": "331003101", "county_code": "331003",
    ...         "prefecture_code": "331000", "province_code": "330000"}
    >>> other = dict(town, township_code="331003102")
    >>> county = {"township_code": None, "county_code": "330382",
    ...           "prefecture_code": "330300", "province_code": "330000"}
    >>> crosses_level(town, town), crosses_level(town, other), crosses_level(town, county)
    ('none', 'township', 'prefecture')
    """
    for level in _CODE_LEVELS:
        ca, cb = _code(a, level), _code(b, level)
        if ca is None and cb is None:
            continue
        if ca != cb:
            return level
    return "none"


def _aggregate(flows: pd.DataFrame) -> pd.DataFrame:
    """One row per (origin, destination, flow_type): volumes summed, labels joined."""
    if flows.empty:
        return flows
    units = flows.groupby("flow_type")["unit"].nunique()
    if (units > 1).any():
        bad = units[units > 1].index.tolist()
        msg = f"flows of type {bad} come in more than one unit; convert them first"
        raise InputError(msg)

    keys = ["origin", "destination", "flow_type"]
    if not flows.duplicated(keys).any() and not flows[keys].isna().any().any():
        # one row per key (a province's people flows: millions): nothing to sum or join
        out = flows.sort_values(keys, kind="stable")[[*keys, "volume", "unit", "model", "source"]]
        return out.assign(model=out["model"].map(str), source=out["source"].map(str)).reset_index(
            drop=True
        )

    def join(values: pd.Series) -> str:
        return "+".join(sorted({str(v) for v in values}))

    return (
        flows.groupby(["origin", "destination", "flow_type"], sort=True)
        .agg(
            volume=("volume", "sum"),
            unit=("unit", "first"),
            model=("model", join),
            source=("source", join),
        )
        .reset_index()
    )


def linkage_graph_from(
    zones: gpd.GeoDataFrame,
    skim: pd.DataFrame | None,
    flows: pd.DataFrame | Sequence[pd.DataFrame],
    *,
    distance_km: pd.DataFrame | None = None,
    node_columns: Sequence[str] = (),
    network_source: str = "unknown",
) -> nx.MultiDiGraph:
    """Build the linkage graph from zones, a travel-time skim and flow tables.

    Parameters
    ----------
    zones
        Zones indexed by id with ``seat_lon``/``seat_lat`` and admin-code columns.
    skim
        Travel times in minutes (origin x destination), or None.
    flows
        One or several flow tables (see :mod:`urlink.model.flows`); rows of the same origin,
        destination and flow type are summed into one edge.
    distance_km
        Network distances in km (origin x destination), or None.
    node_columns
        Further zone columns to copy to the nodes (model inputs).
    network_source
        Where the travel times come from (``G.graph["network_source"]``).

    Returns
    -------
    networkx.MultiDiGraph
        The linkage graph (attributes: see the module docstring).

    Raises
    ------
    InputError
        If a flow names a zone that is not in ``zones``, a flow type is unknown, or a
        volume is negative.

    Examples
    --------
    >>> import geopandas as gpd, pandas as pd
    >>> zones = gpd.GeoDataFrame(
    ...     {"name": ["A", "B"], "seat_lon": [121.0, 121.1], "seat_lat": [28.6, 28.6],
    ...      "county_code": ["331003", "331002"], "prefecture_code": ["331000"] * 2,
    ...      "province_code": ["330000"] * 2},
    ...     index=["331003", "331002"], geometry=gpd.points_from_xy([121.0, 121.1],
    ...     [28.6, 28.6]), crs="EPSG:4326")
    >>> flows = pd.DataFrame({"origin": ["331003"], "destination": ["331002"],
    ...     "flow_type": ["people"], "volume": [120.0], "unit": ["persons/day"],
    ...     "model": ["gravity_doubly"], "source": ["modelled"]})
    >>> G = linkage_graph_from(zones, None, flows)
    >>> G.edges["331003", "331002", "people"]["crosses"]
    'county'
    """
    table = _checked_table(zones, flows)
    agg = _aggregate(table)

    G = nx.MultiDiGraph(crs="epsg:4326", network_source=network_source)
    try:
        G.graph["created_with"] = f"urlink {__version__}"
    except ImportError:  # pragma: no cover
        G.graph["created_with"] = "urlink"
    copy_cols = [c for c in (*NODE_ATTRIBUTES, *node_columns) if c in zones.columns]
    rows = {zid: zones.loc[zid] for zid in zones.index}
    for zid, row in rows.items():
        attrs = {c: _plain(row[c]) for c in copy_cols}
        attrs["x"] = float(zones["seat_lon"].loc[zid])
        attrs["y"] = float(zones["seat_lat"].loc[zid])
        G.add_node(zid, **attrs)

    agg_o = agg["origin"].astype(str).to_numpy()
    agg_d = agg["destination"].astype(str).to_numpy()
    times = _lookup(skim, agg_o, agg_d)
    dists = _lookup(distance_km, agg_o, agg_d)
    # each zone's codes once (crosses_level on the rows, per edge, took minutes at scale)
    codes = {
        zid: {f"{lv}_code": _code(row, lv) for lv in _CODE_LEVELS} for zid, row in rows.items()
    }
    for i, rec in enumerate(agg.itertuples(index=False)):
        o, d = str(rec.origin), str(rec.destination)
        G.add_edge(
            o,
            d,
            key=rec.flow_type,
            flow_type=rec.flow_type,
            volume=float(rec.volume),  # type: ignore[arg-type]
            unit=rec.unit,
            model=rec.model,
            source=rec.source,
            time_min=float(times[i]),
            distance_km=float(dists[i]),
            crosses=crosses_level(codes[o], codes[d]),
        )
    logger.info("linkage graph: %d zones, %d flow edges", len(G), G.number_of_edges())
    return G


def linkage_flows_from(
    zones: gpd.GeoDataFrame,
    skim: pd.DataFrame | None,
    flows: pd.DataFrame | Sequence[pd.DataFrame],
    *,
    distance_km: pd.DataFrame | None = None,
) -> gpd.GeoDataFrame:
    """Build the flow edges of the linkage graph as a table, without building the graph.

    The rows and columns that :func:`graph_to_gdfs` gives for the flows of
    :func:`linkage_graph_from` (same order, values and types): one row per origin,
    destination and flow type (origins in zone order, then destinations and types sorted),
    with ``time_min``, ``distance_km`` and ``crosses``, and a line from seat to seat. A
    province's hundreds of thousands of flows need no networkx edge each (#20).

    Parameters
    ----------
    zones, skim, flows, distance_km
        As for :func:`linkage_graph_from`.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``origin``, ``destination``, ``flow_type``, ``volume``, ``unit``,
        ``model``, ``source``, ``time_min``, ``distance_km``, ``crosses``; EPSG:4326.

    Raises
    ------
    InputError
        As :func:`linkage_graph_from`.

    Examples
    --------
    >>> import geopandas as gpd, pandas as pd
    >>> zones = gpd.GeoDataFrame(
    ...     {"name": ["A", "B"], "seat_lon": [121.0, 121.1], "seat_lat": [28.6, 28.6],
    ...      "county_code": ["331003", "331002"]},
    ...     index=["331003", "331002"], geometry=gpd.points_from_xy([121.0, 121.1],
    ...     [28.6, 28.6]), crs="EPSG:4326")
    >>> flows = pd.DataFrame({"origin": ["331003"], "destination": ["331002"],
    ...     "flow_type": ["people"], "volume": [120.0], "unit": ["persons/day"],
    ...     "model": ["gravity_doubly"], "source": ["modelled"]})
    >>> linkage_flows_from(zones, None, flows)["crosses"].tolist()
    ['county']
    """
    table = _checked_table(zones, flows)
    agg = _aggregate(table)
    if agg.empty:  # the graph's own conversion keeps the types of an empty table
        return graph_to_gdfs(linkage_graph_from(zones, skim, table, distance_km=distance_km))[1]
    origin = agg["origin"].astype(str).to_numpy()
    destination = agg["destination"].astype(str).to_numpy()
    ids = pd.Index([str(z) for z in zones.index])
    # the graph's edge order: origins as its nodes (zone order), then (destination, type)
    order = np.argsort(ids.get_indexer(pd.Index(origin)), kind="stable")
    agg = agg.iloc[order].reset_index(drop=True)
    origin, destination = origin[order], destination[order]
    out = pd.DataFrame(
        {
            "origin": origin,
            "destination": destination,
            "flow_type": agg["flow_type"].to_numpy(),
            "volume": agg["volume"].to_numpy(dtype=float),
            "unit": agg["unit"].to_numpy(),
            "model": agg["model"].to_numpy(),
            "source": agg["source"].to_numpy(),
            "time_min": _lookup(skim, origin, destination),
            "distance_km": _lookup(distance_km, origin, destination),
            "crosses": crosses_levels(zones, origin, destination),
        }
    )
    seats = zones[["seat_lon", "seat_lat"]].astype(float).to_numpy()
    o, d = ids.get_indexer(pd.Index(origin)), ids.get_indexer(pd.Index(destination))
    lines = shapely.linestrings(np.stack([seats[o], seats[d]], axis=1))
    return gpd.GeoDataFrame(out, geometry=lines, crs="EPSG:4326")


def _checked_table(
    zones: gpd.GeoDataFrame, flows: pd.DataFrame | Sequence[pd.DataFrame]
) -> pd.DataFrame:
    """Concatenate the flow tables and check their flow types, zones and volumes."""
    tables = [flows] if isinstance(flows, pd.DataFrame) else list(flows)
    table = (
        pd.concat(tables, ignore_index=True)
        if tables
        else pd.DataFrame(
            columns=["origin", "destination", "flow_type", "volume", "unit", "model", "source"]
        )
    )
    unknown_types = sorted(set(table["flow_type"]) - set(FLOW_TYPES))
    if unknown_types:
        msg = f"flows have unknown flow_type {unknown_types}; use one of {FLOW_TYPES}"
        raise InputError(msg)
    ids = set(zones.index)
    strangers = sorted((set(table["origin"]) | set(table["destination"])) - ids)
    if strangers:
        msg = f"flows name zones {strangers[:10]} that are not in the zones frame"
        raise InputError(msg)
    if (pd.to_numeric(table["volume"]) < 0).any():
        msg = "flows have negative volumes; a flow table holds non-negative volumes"
        raise InputError(msg)
    return table


def _lookup(
    matrix: pd.DataFrame | None, origin: np.ndarray, destination: np.ndarray
) -> np.ndarray:
    """Values of ``matrix`` at every (origin, destination); NaN if absent.

    Read by blocks of origin rows, so a memory-mapped skim is never copied whole.
    """
    out = np.full(len(origin), math.nan)
    if matrix is None or not len(origin):
        return out
    o = np.asarray(matrix.index.get_indexer(pd.Index(origin)))
    d = np.asarray(matrix.columns.get_indexer(pd.Index(destination)))
    ok = np.flatnonzero((o >= 0) & (d >= 0))
    order = ok[np.argsort(o[ok], kind="stable")]
    step = 512
    for a in range(0, len(matrix.index), step):
        lo, hi = np.searchsorted(o[order], [a, a + step])
        if lo == hi:
            continue
        sel = order[lo:hi]
        block = matrix.iloc[a : a + step].to_numpy(dtype=float)
        out[sel] = block[o[sel] - a, d[sel]]
    return out


def crosses_levels(
    zones: pd.DataFrame,
    origin: Sequence[Any] | np.ndarray,
    destination: Sequence[Any] | np.ndarray,
) -> np.ndarray:
    """:func:`crosses_level` of many flows at once, from arrays of zone codes.

    Parameters
    ----------
    zones
        Zones indexed by id with ``*_code`` columns.
    origin, destination
        Zone ids of the flows (compared as strings).

    Returns
    -------
    numpy.ndarray
        One of :data:`CROSSES_LEVELS` per flow (object array), or ``"unknown"`` where a zone
        is not in ``zones``.

    Examples
    --------
    >>> z = pd.DataFrame({"county_code": ["c1", "c1", "c2"], "township_code": ["a", "b", None]},
    ...                  index=["a", "b", "c2"])
    >>> crosses_levels(z, ["a", "a", "b", "x"], ["a", "b", "c2", "a"]).tolist()
    ['none', 'township', 'county', 'unknown']
    """
    ids = pd.Index([str(z) for z in zones.index])
    o = ids.get_indexer(pd.Index([str(v) for v in origin]))
    d = ids.get_indexer(pd.Index([str(v) for v in destination]))
    out = np.full(len(o), "none", dtype=object)
    open_ = np.ones(len(o), dtype=bool)
    missing = "\0"  # no zone code is this string
    columns = [c for c in zones.columns if str(c).endswith("_code")]
    rows = [{str(k): v for k, v in r.items()} for r in zones[columns].to_dict("records")]
    for level in _CODE_LEVELS:
        found = [_code(row, level) for row in rows]
        codes = np.array([missing if c is None else c for c in found], dtype=object)
        differ = codes[o] != codes[d]  # one code missing counts as different, both as equal
        out[open_ & differ] = level
        open_ &= ~differ
    out[(o < 0) | (d < 0)] = "unknown"
    return out


def _plain(value: Any) -> Any:
    """numpy/pandas scalars to plain Python values (GraphML and JSON need them)."""
    if value is None or value is pd.NA:
        return None
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def graph_to_gdfs(G: nx.MultiDiGraph) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Convert a linkage graph to a nodes GeoDataFrame (points) and a flows GeoDataFrame.

    Parameters
    ----------
    G
        A linkage graph.

    Returns
    -------
    nodes : geopandas.GeoDataFrame
        Indexed by zone id, point at the seat, EPSG:4326.
    flows : geopandas.GeoDataFrame
        Columns ``origin``, ``destination``, ``flow_type`` and the edge attributes; a
        straight LineString from seat to seat; EPSG:4326.
    """
    node_rows = [{"zone_id": n, **d} for n, d in G.nodes(data=True)]
    nodes = pd.DataFrame(node_rows).set_index("zone_id") if node_rows else pd.DataFrame()
    geometry = gpd.points_from_xy(nodes.get("x", []), nodes.get("y", []))
    nodes_gdf = gpd.GeoDataFrame(nodes, geometry=geometry, crs="EPSG:4326")
    edge_rows = [{"origin": u, "destination": v, **d} for u, v, d in G.edges(data=True)]
    base = [
        "origin",
        "destination",
        "flow_type",
        "volume",
        "unit",
        "model",
        "source",
        "time_min",
        "distance_km",
        "crosses",
    ]
    extra = sorted({k for row in edge_rows for k in row} - set(base))
    flows = pd.DataFrame(edge_rows, columns=[*base, *extra])
    lines = [
        shapely.LineString(
            [(G.nodes[u]["x"], G.nodes[u]["y"]), (G.nodes[v]["x"], G.nodes[v]["y"])]
        )
        for u, v in zip(flows["origin"], flows["destination"], strict=True)
    ]
    flows_gdf = gpd.GeoDataFrame(flows, geometry=lines, crs="EPSG:4326")
    return nodes_gdf, flows_gdf


def save_graph_gpkg(G: nx.MultiDiGraph, path: str | Path) -> Path:
    """Write a linkage graph to a GeoPackage with layers ``zones_nodes`` and ``flows``.

    Parameters
    ----------
    G
        A linkage graph.
    path
        Target ``.gpkg`` (overwritten).

    Returns
    -------
    pathlib.Path
        The path.
    """
    p = Path(path)
    nodes, flows = graph_to_gdfs(G)
    nodes.reset_index().to_file(p, layer="zones_nodes", driver="GPKG")
    flows.to_file(p, layer="flows", driver="GPKG")

    meta = pd.DataFrame({"key": list(G.graph), "value": [str(v) for v in G.graph.values()]})
    pyogrio.write_dataframe(meta, p, layer="graph", driver="GPKG")  # attribute-only table
    return p


def load_graph_gpkg(path: str | Path) -> nx.MultiDiGraph:
    """Read a linkage graph written by :func:`save_graph_gpkg`.

    Parameters
    ----------
    path
        The GeoPackage.

    Returns
    -------
    networkx.MultiDiGraph
        The graph.

    Raises
    ------
    InputError
        If the file lacks the expected layers.
    """
    p = Path(path)
    layers = {name for name, _ in pyogrio.list_layers(p)} if p.is_file() else set()
    if not {"zones_nodes", "flows"} <= layers:
        msg = f"{str(p)!r} is not a urlink linkage GeoPackage (needs layers zones_nodes, flows)"
        raise InputError(msg)
    nodes = gpd.read_file(p, layer="zones_nodes").drop(columns="geometry")
    flows = gpd.read_file(p, layer="flows").drop(columns="geometry")
    G = nx.MultiDiGraph()
    if "graph" in layers:
        meta = pyogrio.read_dataframe(p, layer="graph")
        G.graph.update(dict(zip(meta["key"], meta["value"], strict=True)))
    for rec in nodes.to_dict("records"):
        zid = str(rec.pop("zone_id"))
        G.add_node(zid, **{k: _plain(v) for k, v in rec.items()})
    for rec in flows.to_dict("records"):
        o, d = str(rec.pop("origin")), str(rec.pop("destination"))
        G.add_edge(o, d, key=rec["flow_type"], **{k: _plain_edge(k, v) for k, v in rec.items()})
    return G


def _plain_edge(key: str, value: Any) -> Any:
    if key in _EDGE_NUMERIC:
        return float("nan") if value is None else float(value)
    return _plain(value)


def save_graphml(G: nx.MultiDiGraph, path: str | Path) -> Path:
    """Write a linkage graph to GraphML (missing values are left out of each element).

    Parameters
    ----------
    G
        A linkage graph.
    path
        Target ``.graphml``.

    Returns
    -------
    pathlib.Path
        The path.
    """
    H = nx.MultiDiGraph()
    H.graph.update({k: str(v) for k, v in G.graph.items()})
    for n, d in G.nodes(data=True):
        H.add_node(n, **{k: v for k, v in d.items() if v is not None})
    for u, v, k, d in G.edges(keys=True, data=True):
        clean = {
            a: b
            for a, b in d.items()
            if b is not None and not (isinstance(b, float) and math.isnan(b))
        }
        H.add_edge(u, v, key=k, **clean)
    p = Path(path)
    nx.write_graphml(H, p)
    return p


def load_graphml(path: str | Path) -> nx.MultiDiGraph:
    """Read a linkage graph written by :func:`save_graphml`.

    Parameters
    ----------
    path
        The GraphML file.

    Returns
    -------
    networkx.MultiDiGraph
        The graph, with missing numeric edge values restored as NaN.

    Raises
    ------
    InputError
        If the file cannot be parsed as GraphML.
    """
    p = Path(path)
    try:
        head = p.read_bytes()[: 1 << 16].upper()
    except OSError as err:
        msg = f"{str(path)!r} could not be read ({err})"
        raise InputError(msg) from None
    if b"<!DOCTYPE" in head or b"<!ENTITY" in head:
        msg = f"{str(path)!r} declares a DOCTYPE or XML entities, which urlink refuses"
        raise InputError(msg)
    try:
        H = nx.read_graphml(p, force_multigraph=True)
    except (nx.NetworkXError, ValueError, ElementTree.ParseError) as err:
        msg = f"{str(path)!r} could not be read as GraphML ({err})"
        raise InputError(msg) from None
    G = nx.MultiDiGraph()
    G.graph.update(H.graph)
    keys = {k for _, d in H.nodes(data=True) for k in d}
    for n, d in H.nodes(data=True):  # missing values were left out on writing
        G.add_node(n, **{k: d.get(k) for k in sorted(keys)})
    for u, v, k, d in H.edges(keys=True, data=True):
        for key in _EDGE_NUMERIC:
            d.setdefault(key, float("nan"))
        G.add_edge(u, v, key=k, **d)
    return G
