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
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy.sparse.csgraph import dijkstra

from urlink.errors import InputError, UrlinkWarning
from urlink.network.skims import RoutingGraph, routing_graph_from, snap_to_nodes
from urlink.parallel import imap_chunks

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


_TREE_BYTES = 64 * 2**20
"""Memory for the shortest-path trees of one chunk of origins in :func:`assign_to_network`
(12 bytes per node per tree). The chunks do not depend on the number of workers, so the
sums are the same however the chunks are spread."""


def _push_to_root(
    dist: np.ndarray,
    pred: np.ndarray,
    flows: tuple[np.ndarray, np.ndarray],
    n: int,
    edges: dict[tuple[int, int], float],
) -> int:
    """Load one origin's flows onto its shortest-path tree; return the unreachable flows.

    Volumes are pushed from the destinations towards the root, farthest node first (ties
    by node position), so every link carries the sum of the flows beyond it. Only the nodes
    on a path to a destination are visited, in the order a walk over the whole tree would
    take, so the sums are the same to the bit.
    """
    d_pos, volume = flows  # destination nodes and volumes
    demand = np.zeros(n)
    np.add.at(demand, d_pos, volume)
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


@dataclass(frozen=True, slots=True, eq=False)
class _AssignJob:
    """What every chunk of origins needs (sent once to each worker; see urlink.parallel)."""

    csr: Any  # the routing graph's CSR weights
    origins: np.ndarray  # distinct origin nodes with flows, sorted
    starts: np.ndarray  # rows of origins[i] are starts[i]:starts[i + 1] of the arrays below
    type_code: np.ndarray  # flow type (index into the sorted types), rows grouped by origin
    d_pos: np.ndarray
    volume: np.ndarray
    n_types: int


def _assign_chunk(
    job: _AssignJob, bounds: tuple[int, int]
) -> tuple[list[tuple[np.ndarray, np.ndarray]], int]:
    """Link loads of the flows from origins ``a:b``, and the unreachable flows.

    Per flow type: sorted link keys (``parent * N + node``) and their volumes. A pure
    function of the job: the same chunk gives the same numbers wherever it runs.
    """
    a, b = bounds
    n = job.csr.shape[0]
    block = job.origins[a:b]
    dist, pred = _trees_of(job.csr, block)
    load: list[dict[tuple[int, int], float]] = [{} for _ in range(job.n_types)]
    unreachable = 0
    for i in range(b - a):
        lo, hi = job.starts[a + i], job.starts[a + i + 1]
        codes = job.type_code[lo:hi]
        for t in np.unique(codes).tolist():  # types in sorted order, rows in table order
            rows = np.flatnonzero(codes == t) + lo
            unreachable += _push_to_root(
                dist[i], pred[i], (job.d_pos[rows], job.volume[rows]), n, load[t]
            )
    out = []
    for edges in load:
        keys = np.fromiter((p * n + c for p, c in edges), dtype=np.int64, count=len(edges))
        values = np.fromiter(edges.values(), dtype=float, count=len(edges))
        order = np.argsort(keys, kind="stable")
        out.append((keys[order], values[order]))
    return out, unreachable


def _trees_of(csr: Any, sources: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    dist, pred = dijkstra(csr, directed=True, indices=sources, return_predecessors=True)
    return np.asarray(dist), np.asarray(pred)


def assign_to_network(
    streets: nx.MultiDiGraph | RoutingGraph,
    flows: pd.DataFrame,
    zones: gpd.GeoDataFrame,
    *,
    weight: str = "travel_time",
    workers: int | None = 1,
    scheduler: Any = None,
) -> pd.DataFrame:
    """Load flows onto street links along their shortest paths (all-or-nothing).

    The shortest-path trees are grown for chunks of origins (of a fixed size, at most
    64 MiB of trees each), serially, over local worker processes or on a Dask cluster
    (:mod:`urlink.parallel`); the chunks' loads are added in chunk order, so the result is
    the same to the bit in every case.

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
    workers
        Local worker processes (None: all cores); ignored with ``scheduler``.
    scheduler
        A Dask scheduler address or ``distributed.Client``, or None to run locally.

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
    moving = f[(f["o_pos"] != f["d_pos"]) & (f["volume"] > 0)]
    code = pd.Categorical(moving["flow_type"], categories=types).codes.astype(np.int64)
    o_pos = moving["o_pos"].to_numpy(dtype=np.int64)
    order = np.lexsort((code, o_pos))  # stable: rows of one origin and type in table order
    origins, starts = np.unique(o_pos[order], return_index=True)
    job = _AssignJob(
        csr=R.csr,
        origins=origins,
        starts=np.append(starts, len(order)).astype(np.int64),
        type_code=code[order],
        d_pos=moving["d_pos"].to_numpy(dtype=np.int64)[order],
        volume=moving["volume"].to_numpy(dtype=float)[order],
        n_types=len(types),
    )
    step = max(1, min(len(origins), _TREE_BYTES // max(1, 12 * n)))
    bounds = [(a, min(a + step, len(origins))) for a in range(0, len(origins), step)]
    keys: list[list[np.ndarray]] = [[] for _ in types]
    values: list[list[np.ndarray]] = [[] for _ in types]
    unreachable = 0
    for loads, bad in imap_chunks(
        _assign_chunk, bounds, shared=job, workers=workers, scheduler=scheduler
    ):
        unreachable += bad
        for t, (k, v) in enumerate(loads):
            keys[t].append(k)
            values[t].append(v)
    if unreachable:
        warnings.warn(
            f"{unreachable} flows could not be assigned: their destination is unreachable "
            "on the street network",
            UrlinkWarning,
            stacklevel=2,
        )
    per_type = [_sum_in_order(k, v) for k, v in zip(keys, values, strict=True)]
    links = np.unique(np.concatenate([k for k, _ in per_type])) if per_type else np.array([], int)
    out: dict[str, Any] = {
        "u": R.nodes[links // max(n, 1)].tolist(),
        "v": R.nodes[links % max(n, 1)].tolist(),
    }
    for t, (k, v) in zip(types, per_type, strict=True):
        column = np.zeros(len(links))
        column[np.searchsorted(links, k)] = v
        out[t] = column.tolist()
    return pd.DataFrame(out)


def _sum_in_order(
    keys: list[np.ndarray], values: list[np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """Add the chunks' loads per link, chunk after chunk (the same sums for any workers)."""
    if not keys:
        return np.array([], dtype=np.int64), np.array([], dtype=float)
    links = np.unique(np.concatenate(keys))
    total = np.zeros(len(links))
    for k, v in zip(keys, values, strict=True):
        total[np.searchsorted(links, k)] += v  # keys are unique within a chunk
    return links, total


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
        dist, pred = _trees_of(R.csr, origins)
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
