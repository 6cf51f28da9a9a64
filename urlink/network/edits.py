"""Edits of real street networks: links of OSM ways, fastest paths, points snapped to nodes.

The helpers that road strategies (:mod:`urlink.scenario.strategies`) use to name the links
they change on a :class:`~urlink.network.skims.RoutingGraph`, which carries no edge
attributes:

- :func:`link_ways_from` builds, once per street graph, the table of routing links and the
  OSM way ids (``osmid``) of their edges; :func:`links_of_ways` looks ways up in it.
- :func:`fastest_path_links` routes between nodes on the current graph and returns the
  links of the fastest path (through waypoints, in order).
- :func:`snap_points` snaps WGS84 points to their nearest nodes, with the distance;
  :func:`line_from` reads a drawn line (a GeoJSON file or coordinates) and
  :func:`line_length_m` measures it in the graph's metric CRS.

A routing link is one directed node pair: parallel edges of the street graph are merged into
it (keeping the fastest), so a link belongs to a way if any of its edges does.
"""

from __future__ import annotations

import itertools
import logging
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer
from scipy.sparse.csgraph import dijkstra
from shapely.geometry import LineString

from urlink.errors import InputError
from urlink.network.skims import nearest_nodes

if TYPE_CHECKING:
    from collections.abc import Hashable, Iterable, Sequence

    import networkx as nx

    from urlink.network.skims import RoutingGraph

__all__ = [
    "DEFAULT_MAX_SNAP_M",
    "fastest_path_links",
    "line_from",
    "line_length_m",
    "link_ways_from",
    "links_of_ways",
    "snap_points",
]

logger = logging.getLogger(__name__)

DEFAULT_MAX_SNAP_M = 2000.0
"""Farthest a point or a drawn line's end may be from the network (metres) to be joined to it.

A road drawn more than 2 km from any node of the graph most likely has swapped coordinates,
GCJ-02 coordinates or lies outside the network's extent.
"""

Link = tuple["Hashable", "Hashable"]
"""A routing link: ``(u, v)`` node ids."""


def link_ways_from(G: nx.MultiDiGraph) -> pd.DataFrame | None:
    """Tabulate the OSM way ids of every routing link of a street graph.

    Parameters
    ----------
    G
        Street graph whose edges carry ``osmid`` (an id or a list of ids, as osmnx sets it
        on simplified edges).

    Returns
    -------
    pandas.DataFrame or None
        One row per link and way: ``u``, ``v`` (node ids) and ``osmid`` (int64), sorted;
        None if no edge has an ``osmid`` (a proxy network).

    Examples
    --------
    >>> import networkx as nx
    >>> G = nx.MultiDiGraph()
    >>> _ = G.add_edge(1, 2, osmid=[7, 8])
    >>> _ = G.add_edge(2, 1, osmid=7)
    >>> link_ways_from(G).to_dict("list")
    {'u': [1, 2, 1], 'v': [2, 1, 2], 'osmid': [7, 7, 8]}
    """
    rows: list[tuple[Any, Any, int]] = []
    for u, v, ids in G.edges(data="osmid"):
        if ids is None:
            continue
        for way in ids if isinstance(ids, list | tuple | set) else (ids,):
            rows.append((u, v, int(way)))
    if not rows:
        return None
    table = pd.DataFrame(rows, columns=["u", "v", "osmid"]).drop_duplicates()
    table["osmid"] = table["osmid"].astype("int64")
    return table.sort_values(["osmid", "u", "v"], kind="stable").reset_index(drop=True)


def links_of_ways(link_ways: pd.DataFrame, ways: Iterable[int]) -> list[Link]:
    """Return the routing links whose edges carry one of the OSM way ids.

    Parameters
    ----------
    link_ways
        The table of :func:`link_ways_from`.
    ways
        OSM way ids.

    Returns
    -------
    list of (u, v)
        Distinct links, in the order of the table.

    Raises
    ------
    InputError
        If a way id is on no link of the network (not in the extract, or not a road of the
        network type).

    Examples
    --------
    >>> table = pd.DataFrame({"u": [1, 2], "v": [2, 1], "osmid": [7, 7]})
    >>> links_of_ways(table, [7])
    [(1, 2), (2, 1)]
    """
    wanted = [int(w) for w in ways]
    missing = sorted(set(wanted) - set(link_ways["osmid"].tolist()))
    if missing:
        msg = (
            f"ways {missing} are not ways of the street network (not in the OSM extract, or "
            "not roads of its network_type); look the ids up on openstreetmap.org"
        )
        raise InputError(msg)
    hit = link_ways[link_ways["osmid"].isin(wanted)]
    return list(dict.fromkeys(zip(hit["u"].tolist(), hit["v"].tolist(), strict=True)))


def fastest_path_links(R: RoutingGraph, nodes: Sequence[Hashable]) -> list[Link]:
    """Return the links of the fastest path through nodes, in order, on a routing graph.

    Parameters
    ----------
    R
        Routing graph (its weights are the costs, e.g. seconds).
    nodes
        Two or more node ids: the path goes from the first to the last through the others.

    Returns
    -------
    list of (u, v)
        The links of the path (empty if all nodes are one).

    Raises
    ------
    InputError
        If a node is not in the graph, fewer than two are given, or a leg has no path.
    """
    if len(nodes) < 2:
        msg = f"nodes = {list(nodes)!r}: a path needs at least two nodes"
        raise InputError(msg)
    missing = [n for n in nodes if n not in R.index]
    if missing:
        msg = f"nodes {missing!r} are not in the street graph"
        raise InputError(msg)
    links: list[Link] = []
    for a, b in itertools.pairwise(nodes):
        ia, ib = R.index[a], R.index[b]
        if ia == ib:
            continue
        dist, pred = dijkstra(R.csr, indices=ia, return_predecessors=True)
        if not math.isfinite(dist[ib]):
            msg = (
                f"there is no path from node {a!r} to node {b!r} (they are in disconnected "
                "parts of the network or one-way streets lead away)"
            )
            raise InputError(msg)
        leg: list[Link] = []
        j = ib
        while j != ia:
            i = int(pred[j])
            leg.append((R.nodes[i], R.nodes[j]))
            j = i
        links.extend(reversed(leg))
    return links


def _lonlat(points: Sequence[Sequence[float]] | np.ndarray, key: str) -> np.ndarray:
    xy = np.asarray(points, dtype=float).reshape(-1, 2)
    bad = ~np.isfinite(xy).all(axis=1) | (np.abs(xy[:, 0]) > 180) | (np.abs(xy[:, 1]) > 90)
    if bad.any():
        msg = (
            f"{key} = {xy[bad][0].tolist()!r} is not a WGS84 [longitude, latitude] pair "
            "(longitude in [-180, 180], latitude in [-90, 90])"
        )
        raise InputError(msg)
    return xy


def snap_points(
    R: RoutingGraph,
    points: Sequence[Sequence[float]] | np.ndarray,
    *,
    max_m: float | None = DEFAULT_MAX_SNAP_M,
    key: str = "points",
) -> pd.DataFrame:
    """Snap WGS84 points to their nearest nodes of a routing graph.

    Parameters
    ----------
    R
        Routing graph.
    points
        ``[[lon, lat], ...]`` in WGS84.
    max_m
        Farthest allowed snap (metres); None: no limit.
    key
        Name of the points in messages (the scenario key).

    Returns
    -------
    pandas.DataFrame
        One row per point: ``node`` (id), ``pos`` (matrix position), ``snap_m`` (metres).

    Raises
    ------
    InputError
        If a point is not a longitude/latitude pair, or is farther than ``max_m`` from the
        network.
    """
    lonlat = _lonlat(points, key)
    x, y = Transformer.from_crs("EPSG:4326", R.crs, always_xy=True).transform(
        lonlat[:, 0], lonlat[:, 1]
    )
    dist, pos = nearest_nodes(R, np.column_stack([x, y]))
    dist = np.atleast_1d(np.asarray(dist, dtype=float))
    pos = np.atleast_1d(np.asarray(pos, dtype=np.int64))
    if max_m is not None:
        far = np.flatnonzero(dist > max_m)
        if len(far):
            k = int(far[0])
            msg = (
                f"{key}: the point {lonlat[k].tolist()!r} is {dist[k]:,.0f} m from the nearest "
                f"node of the street network (at most {max_m:,.0f} m); check that it is "
                "[longitude, latitude] in WGS84 (not GCJ-02) and inside the network's extent"
            )
            raise InputError(msg)
    return pd.DataFrame({"node": R.nodes[pos], "pos": pos, "snap_m": dist})


def line_from(value: str | Path | Sequence[Sequence[float]], *, key: str = "line") -> LineString:
    """Read a drawn road: a GeoJSON (or any vector) file with one line, or coordinates.

    Parameters
    ----------
    value
        A file path, or ``[[lon, lat], ...]`` (two or more WGS84 points).
    key
        Name of the value in messages (the scenario key).

    Returns
    -------
    shapely.LineString
        The line in WGS84.

    Raises
    ------
    InputError
        If the file is missing or unreadable, holds no single line, or the coordinates are
        bad.

    Examples
    --------
    >>> line_from([[9.52, 47.14], [9.53, 47.15]]).coords[:]
    [(9.52, 47.14), (9.53, 47.15)]
    """
    if isinstance(value, str | Path):
        path = Path(value)
        if not path.is_file():
            msg = f"{key} = {str(path)!r} does not exist; give a GeoJSON file with one line"
            raise InputError(msg)
        try:
            gdf = gpd.read_file(path)
        except Exception as err:  # pyogrio raises several types on bad files
            msg = f"{key} = {str(path)!r} could not be read as a vector file ({err})"
            raise InputError(msg) from None
        if gdf.crs is not None:
            gdf = gdf.to_crs("EPSG:4326")
        geoms = [g for g in gdf.geometry if g is not None and not g.is_empty]
        merged = shapely.line_merge(shapely.union_all(geoms)) if geoms else None
        if not isinstance(merged, LineString):
            kinds = sorted({g.geom_type for g in geoms})
            msg = (
                f"{key} = {str(path)!r} must hold one line (a LineString, or parts that join "
                f"into one); it holds {len(geoms)} geometries of type {kinds}"
            )
            raise InputError(msg)
        _lonlat(np.asarray(merged.coords)[:, :2], key)
        return LineString(np.asarray(merged.coords)[:, :2])
    xy = _lonlat(value, key)
    if len(xy) < 2:
        msg = f"{key} = {list(map(list, xy))!r} must have at least two [lon, lat] points"
        raise InputError(msg)
    return LineString(xy)


def line_length_m(line: LineString, R: RoutingGraph) -> float:
    """Return the length of a WGS84 line in metres, measured in the graph's metric CRS.

    Parameters
    ----------
    line
        A line in WGS84.
    R
        Routing graph (its ``crs`` is the local metric CRS of its ``xy``).

    Returns
    -------
    float
    """
    tr = Transformer.from_crs("EPSG:4326", R.crs, always_xy=True)
    xy = np.asarray(line.coords)[:, :2]
    x, y = tr.transform(xy[:, 0], xy[:, 1])
    return float(np.hypot(np.diff(x), np.diff(y)).sum())
