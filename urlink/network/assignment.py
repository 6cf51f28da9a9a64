"""Flows on the roads: all-or-nothing assignment and select-link analysis.

:func:`assign_to_network` loads every origin-destination flow onto the street links of its
shortest path (all-or-nothing): each zone is snapped to its nearest street node (as in
:mod:`urlink.network.skims`), one shortest-path tree is grown per origin node, and the flows are
pushed down the tree from the destinations to the root, so every link gets the sum of the
flows whose path uses it. :func:`select_link` answers the opposite question: which
origin-destination pairs (and which administrative units) use a given street link.

Link volumes are kept per flow type (``people`` persons/day, ``goods`` t/day, ...). Flows
between zones that snap to the same node, or that cannot reach each other, load no link;
the latter are counted in a warning.
"""

from __future__ import annotations

import logging
import warnings
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy.sparse.csgraph import dijkstra

from urlink.errors import InputError, UrlinkWarning
from urlink.network.skims import RoutingGraph, routing_graph_from, snap_to_nodes

if TYPE_CHECKING:
    import geopandas as gpd
    import networkx as nx

__all__ = ["assign_to_network", "select_link"]

logger = logging.getLogger(__name__)


def _prepare(
    streets: nx.MultiDiGraph | RoutingGraph,
    flows: pd.DataFrame,
    zones: gpd.GeoDataFrame,
    weight: str,
) -> tuple[RoutingGraph, pd.DataFrame]:
    R = (
        streets
        if isinstance(streets, RoutingGraph)
        else routing_graph_from(streets, weight=weight)
    )
    for col in ("origin", "destination", "volume", "flow_type"):
        if col not in flows.columns:
            msg = f"flows need a {col!r} column; they have {list(flows.columns)}"
            raise InputError(msg)
    strangers = sorted((set(flows["origin"]) | set(flows["destination"])) - set(zones.index))
    if strangers:
        msg = f"flows name zones {strangers[:10]} that are not in the zones frame"
        raise InputError(msg)
    snap = snap_to_nodes(R, zones)
    f = flows[["origin", "destination", "flow_type", "volume"]].copy()
    f["o_pos"] = snap["pos"].reindex(f["origin"]).to_numpy()
    f["d_pos"] = snap["pos"].reindex(f["destination"]).to_numpy()
    return R, f


def _trees(R: RoutingGraph, sources: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    dist, pred = dijkstra(R.csr, directed=True, indices=sources, return_predecessors=True)
    return np.asarray(dist), np.asarray(pred)


_TREE_BYTES = 256 * 2**20
"""Memory for the shortest-path trees held at once by :func:`assign_to_network`."""


def _push_to_root(
    dist: np.ndarray,
    pred: np.ndarray,
    group: pd.DataFrame,
    n: int,
    edges: dict[tuple[int, int], float],
) -> int:
    """Load one origin's flows onto its shortest-path tree; return the unreachable flows.

    Volumes are pushed from the destinations towards the root, farthest node first (ties
    by node position), so every link carries the sum of the flows beyond it. Only the nodes
    on a path to a destination are visited, in the order a walk over the whole tree would
    take, so the sums are the same to the bit.
    """
    d_pos = group["d_pos"].to_numpy(dtype=np.int64)
    demand = np.zeros(n)
    np.add.at(demand, d_pos, group["volume"].to_numpy(dtype=float))
    reach = np.isfinite(dist)
    unreachable = 0
    if demand[~reach].sum() > 0:
        unreachable = int((~reach[d_pos]).sum())
        demand[~reach] = 0.0
    # the nodes on the paths to the loaded destinations
    on_path = np.zeros(n, dtype=bool)
    for start in np.flatnonzero(demand).tolist():
        node = start
        while node >= 0 and not on_path[node]:
            on_path[node] = True
            node = int(pred[node])
    nodes = np.flatnonzero(on_path)
    order = nodes[np.lexsort((nodes, -dist[nodes]))]
    acc = demand
    for node in order.tolist():
        parent = int(pred[node])
        if parent < 0 or acc[node] == 0.0:
            continue
        acc[parent] += acc[node]
        key = (parent, node)
        edges[key] = edges.get(key, 0.0) + acc[node]
    return unreachable


def assign_to_network(
    streets: nx.MultiDiGraph | RoutingGraph,
    flows: pd.DataFrame,
    zones: gpd.GeoDataFrame,
    *,
    weight: str = "travel_time",
) -> pd.DataFrame:
    """Load flows onto street links along their shortest paths (all-or-nothing).

    Parameters
    ----------
    streets
        Street graph (or its :class:`~urlink.network.skims.RoutingGraph`).
    flows
        Flow table (``origin``, ``destination``, ``flow_type``, ``volume``).
    zones
        The zones the flows run between (seats are snapped to street nodes).
    weight
        Edge attribute the shortest paths minimise.

    Returns
    -------
    pandas.DataFrame
        One row per loaded street link: ``u``, ``v`` (street node ids) and one volume
        column per flow type present (``people``, ``goods``...), zero where a type does not
        use the link.

    Raises
    ------
    InputError
        If the flows lack columns or name unknown zones.

    Examples
    --------
    >>> import geopandas as gpd, networkx as nx
    >>> G = nx.MultiDiGraph(crs="epsg:4326")
    >>> for n, x in enumerate([121.0, 121.01, 121.02]):
    ...     G.add_node(n, x=x, y=28.6)
    >>> for a, b in [(0, 1), (1, 2), (1, 0), (2, 1)]:
    ...     _ = G.add_edge(a, b, travel_time=60.0)
    >>> z = gpd.GeoDataFrame(index=["A", "C"], crs="EPSG:4326",
    ...                      geometry=gpd.points_from_xy([121.0, 121.02], [28.6, 28.6]))
    >>> f = pd.DataFrame({"origin": ["A"], "destination": ["C"], "flow_type": ["people"],
    ...                   "volume": [100.0]})
    >>> assign_to_network(G, f, z).to_dict("list")
    {'u': [0, 1], 'v': [1, 2], 'people': [100.0, 100.0]}
    """
    R, f = _prepare(streets, flows, zones, weight)
    types = sorted(set(f["flow_type"]))
    n = len(R.nodes)
    load: dict[str, dict[tuple[int, int], float]] = {t: {} for t in types}
    moving = f[(f["o_pos"] != f["d_pos"]) & (f["volume"] > 0)]
    origins = np.unique(moving["o_pos"].to_numpy()) if len(moving) else np.array([], int)
    unreachable = 0
    if len(origins):
        by_origin: dict[int, list[tuple[str, pd.DataFrame]]] = {}
        for (g_pos, ftype), group in moving.groupby(["o_pos", "flow_type"], sort=True):
            by_origin.setdefault(int(g_pos), []).append((str(ftype), group))  # type: ignore[call-overload]
        # shortest-path trees for a block of origins at a time: 12 bytes per node per tree
        step = max(1, min(len(origins), _TREE_BYTES // max(1, 12 * n)))
        for a in range(0, len(origins), step):
            block = origins[a : a + step]
            dist, pred = _trees(R, block)
            for i, o_pos in enumerate(block.tolist()):
                for ftype, group in by_origin[int(o_pos)]:
                    unreachable += _push_to_root(dist[i], pred[i], group, n, load[ftype])
            del dist, pred
    if unreachable:
        warnings.warn(
            f"{unreachable} flows could not be assigned: their destination is unreachable "
            "on the street network",
            UrlinkWarning,
            stacklevel=2,
        )
    keys = sorted({k for t in types for k in load[t]})
    out: dict[str, Any] = {
        "u": [R.nodes[a] for a, _ in keys],
        "v": [R.nodes[b] for _, b in keys],
    }
    for t in types:
        out[t] = [load[t].get(k, 0.0) for k in keys]
    return pd.DataFrame(out)


def select_link(
    streets: nx.MultiDiGraph | RoutingGraph,
    flows: pd.DataFrame,
    zones: gpd.GeoDataFrame,
    link: tuple[Any, Any],
    *,
    weight: str = "travel_time",
) -> pd.DataFrame:
    """List the origin-destination flows whose shortest path uses one street link.

    Parameters
    ----------
    streets
        Street graph (or routing graph).
    flows
        Flow table.
    zones
        Zones, with admin-code columns where available.
    link
        ``(u, v)``: street node ids of the link.
    weight
        Edge attribute the shortest paths minimise.

    Returns
    -------
    pandas.DataFrame
        The flows using the link (``origin``, ``destination``, ``flow_type``, ``volume``),
        with ``origin_county``/``destination_county`` and ``origin_township``/
        ``destination_township`` codes where the zones have them.

    Raises
    ------
    InputError
        If the link is not a street link.
    """
    R, f = _prepare(streets, flows, zones, weight)
    u, v = link
    if u not in R.index or v not in R.index or R.csr[R.index[u], R.index[v]] == 0:
        msg = f"link={link!r} is not a link of the street network"
        raise InputError(msg)
    iu, iv = R.index[u], R.index[v]
    moving = f[(f["o_pos"] != f["d_pos"]) & (f["volume"] > 0)]
    keep = np.zeros(len(moving), dtype=bool)
    if len(moving):
        origins = np.unique(moving["o_pos"].to_numpy())
        dist, pred = _trees(R, origins)
        for i, o_pos in enumerate(origins.tolist()):
            if pred[i][iv] != iu:
                continue
            # nodes whose path from this origin passes v: v's subtree (parents come first
            # in order of distance, so one pass suffices)
            below = np.zeros(len(R.nodes), dtype=bool)
            below[iv] = True
            reach = np.isfinite(dist[i])
            for node in np.argsort(np.where(reach, dist[i], np.inf), kind="stable").tolist():
                if not reach[node]:
                    break
                parent = int(pred[i][node])
                if parent >= 0 and below[parent]:
                    below[node] = True
            rows = (moving["o_pos"] == o_pos).to_numpy()
            keep |= rows & below[moving["d_pos"].to_numpy(dtype=np.int64)]
    out = moving.loc[keep, ["origin", "destination", "flow_type", "volume"]].reset_index(drop=True)
    for level in ("county", "township"):
        col = f"{level}_code"
        if col in zones.columns:
            out[f"origin_{level}"] = zones[col].reindex(out["origin"]).to_numpy()
            out[f"destination_{level}"] = zones[col].reindex(out["destination"]).to_numpy()
    return out
