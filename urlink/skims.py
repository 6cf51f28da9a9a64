"""Travel-time skims: zone-to-zone matrices from a street graph, and cheap exact updates.

A skim is a :class:`pandas.DataFrame` of travel times in minutes, indexed by origin zone id
(rows) and destination zone id (columns). For a pair of zones it is

    access(o) + network time(node(o) -> node(d)) + wait + access(d)

where node(z) is the graph node nearest to the zone's seat, access(z) is the straight-line
distance from the seat to that node at ``access_speed_kph``, and wait is
``G.graph["wait_min"]`` (half the headway for bus graphs; 0 otherwise; not added within a
zone). Pairs that cannot be reached (or exceed ``cutoff``) are NaN, and a warning says how
many: a skim never holds 0 or infinity for a missing connection.

Shortest paths run in compiled code (:func:`scipy.sparse.csgraph.dijkstra` on a CSR matrix),
in origin chunks of bounded memory, optionally over several processes.

:func:`update_travel_time_matrix` updates a skim after edges are added or sped up without
rerunning the full computation: for changed edges (u_k, v_k) with new weights w_k,

    d'(i, j) = min( d(i, j),  min_k [ d'(i, u_k) + w_k + d'(v_k, j) ] )

which needs one forward search from each v_k and one backward search to each u_k on the new
graph. It is exact: a path that became shorter uses at least one changed edge; split it at
the first one. Removals and slow-downs fall back to a full recomputation.
"""

from __future__ import annotations

import functools
import importlib
import logging
import math
import multiprocessing as mp
import os
import warnings
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely
from pyproj import Transformer
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

from urlink.crs import local_metric_crs
from urlink.errors import InputError, UrlinkWarning

if TYPE_CHECKING:
    from collections.abc import Hashable, Sequence
    from types import ModuleType

    import networkx as nx

__all__ = [
    "EdgeChange",
    "RoutingGraph",
    "apply_edge_changes",
    "distance_matrix_km",
    "routing_graph_from",
    "snap_to_nodes",
    "travel_time_matrix",
    "update_travel_time_matrix",
]

logger = logging.getLogger(__name__)

_dijkstra: ModuleType | None
try:  # the compiled kernel is optional (built when a C compiler is available)
    _dijkstra = importlib.import_module("urlink._dijkstra")
except ImportError:  # pragma: no cover - depends on the installation
    _dijkstra = None

Engine = Literal["auto", "compiled", "scipy"]
"""Shortest-path engine: the compiled kernel if built (``auto``), or scipy's csgraph."""

EdgeChange = tuple["Hashable", "Hashable", float | None]
"""``(u, v, weight)``: set the weight of edge u -> v (adding it if absent); None removes it."""

DEFAULT_ACCESS_SPEED_KPH = 4.5
"""Speed of the access leg from a zone seat to its nearest graph node (walking)."""

_CHUNK_BYTES = 256 * 2**20


@dataclass(frozen=True, slots=True, eq=False)
class RoutingGraph:
    """A street graph as a CSR matrix, ready for repeated shortest-path searches.

    Build it with :func:`routing_graph_from`; derive changed versions with
    :func:`apply_edge_changes`. Parallel edges are merged keeping the smallest weight.

    Attributes
    ----------
    csr, csr_t
        Weights (seconds for ``travel_time``) and their transpose, ``N x N``.
    fwd, bwd
        ``(indptr, indices, weights)`` of ``csr`` and ``csr_t`` as int64/int64/float64
        arrays, for the compiled kernel.
    nodes
        Node ids in matrix order.
    index
        Node id -> matrix position.
    xy
        Node coordinates in ``crs`` (metres), for snapping.
    crs
        Metric CRS of ``xy`` (an EPSG string).
    tree
        KD-tree over ``xy``.
    weight
        Edge attribute the weights come from.
    wait_min
        Waiting time added per trip (from ``G.graph["wait_min"]``).
    network_source
        ``G.graph["network_source"]``.
    """

    csr: sp.csr_array
    csr_t: sp.csr_array
    fwd: tuple[np.ndarray, np.ndarray, np.ndarray]
    bwd: tuple[np.ndarray, np.ndarray, np.ndarray]
    nodes: np.ndarray
    index: dict[Any, int]
    xy: np.ndarray
    crs: str
    tree: cKDTree
    weight: str
    wait_min: float
    network_source: str

    @property
    def n_edges(self) -> int:
        """Number of directed edges after merging parallel edges."""
        return int(self.csr.nnz)


def _build_csr(n: int, u: np.ndarray, v: np.ndarray, w: np.ndarray) -> sp.csr_array:
    """CSR with the minimum weight per (u, v); explicit zeros kept as tiny positive weights."""
    if len(u):
        order = np.lexsort((w, v, u))
        u, v, w = u[order], v[order], w[order]
        first = np.ones(len(u), dtype=bool)
        first[1:] = (u[1:] != u[:-1]) | (v[1:] != v[:-1])
        u, v, w = u[first], v[first], w[first]
    # csgraph ignores explicit zeros in sparse input; a zero-time edge must stay an edge
    w = np.where(w == 0, np.finfo(float).tiny, w)
    return sp.csr_array((w, (u, v)), shape=(n, n))


def _arrays(csr: sp.csr_array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return (
        np.ascontiguousarray(csr.indptr, dtype=np.int64),
        np.ascontiguousarray(csr.indices, dtype=np.int64),
        np.ascontiguousarray(csr.data, dtype=np.float64),
    )


def _routing(csr: sp.csr_array, **fields: Any) -> RoutingGraph:
    csr.sort_indices()
    csr_t = csr.T.tocsr()
    csr_t.sort_indices()
    return RoutingGraph(csr=csr, csr_t=csr_t, fwd=_arrays(csr), bwd=_arrays(csr_t), **fields)


def routing_graph_from(G: nx.MultiDiGraph, *, weight: str = "travel_time") -> RoutingGraph:
    """Convert a street graph into a :class:`RoutingGraph`.

    Parameters
    ----------
    G
        Graph whose nodes have ``x``/``y`` (WGS84) and whose edges have ``weight``.
    weight
        Edge attribute to route on (seconds for ``travel_time``).

    Returns
    -------
    RoutingGraph
        The CSR form.

    Raises
    ------
    InputError
        If the graph is empty, a node lacks coordinates, or an edge lacks a finite,
        non-negative ``weight``.
    """
    if len(G) == 0:
        msg = "the street graph has no nodes; check the OSM file and network_type"
        raise InputError(msg)
    nodes = np.empty(len(G), dtype=object)
    nodes[:] = list(G.nodes)
    index = {n: i for i, n in enumerate(nodes)}
    try:
        lon = np.array([G.nodes[n]["x"] for n in nodes], dtype=float)
        lat = np.array([G.nodes[n]["y"] for n in nodes], dtype=float)
    except KeyError:
        msg = "every node of the street graph needs 'x' and 'y' (longitude, latitude)"
        raise InputError(msg) from None
    m = G.number_of_edges()
    u = np.empty(m, dtype=np.int64)
    v = np.empty(m, dtype=np.int64)
    w = np.empty(m, dtype=float)
    for k, (a, b, val) in enumerate(G.edges(data=weight)):
        u[k] = index[a]
        v[k] = index[b]
        w[k] = math.nan if val is None else val
    bad = ~np.isfinite(w) | (w < 0)
    if bad.any():
        msg = (
            f"{int(bad.sum())} edges have no valid {weight!r} (finite, >= 0); run "
            "urlink.network.add_travel_times first"
        )
        raise InputError(msg)
    csr = _build_csr(len(nodes), u, v, w)
    pts = gpd.GeoSeries(gpd.points_from_xy(lon, lat), crs="EPSG:4326")
    crs = local_metric_crs(pts).to_string()
    tr = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    xy = np.column_stack(tr.transform(lon, lat))
    return _routing(
        csr,
        nodes=nodes,
        index=index,
        xy=xy,
        crs=crs,
        tree=cKDTree(xy),
        weight=weight,
        wait_min=float(G.graph.get("wait_min", 0.0)),
        network_source=str(G.graph.get("network_source", "unknown")),
    )


def _as_routing(G: nx.MultiDiGraph | RoutingGraph, weight: str) -> RoutingGraph:
    if isinstance(G, RoutingGraph):
        if G.weight != weight:
            msg = f"the routing graph was built for weight={G.weight!r}, not {weight!r}"
            raise InputError(msg)
        return G
    return routing_graph_from(G, weight=weight)


def apply_edge_changes(R: RoutingGraph, changes: Sequence[EdgeChange]) -> RoutingGraph:
    """Return a new routing graph with edges set, added or removed.

    Parameters
    ----------
    R
        The base routing graph (unchanged).
    changes
        ``(u, v, weight)`` triples on existing node ids; ``weight`` None removes u -> v.

    Returns
    -------
    RoutingGraph
        A new graph sharing node data with ``R``.

    Raises
    ------
    InputError
        If a change names an unknown node or a negative or non-finite weight.
    """
    # the last change to an edge wins, as if the changes were applied in order
    final: dict[tuple[int, int], float | None] = {}
    for a, b, weight in changes:
        if a not in R.index or b not in R.index:
            missing = a if a not in R.index else b
            msg = f"edge change ({a!r}, {b!r}): node {missing!r} is not in the street graph"
            raise InputError(msg)
        if weight is not None and not (math.isfinite(weight) and weight >= 0):
            msg = f"edge change ({a!r}, {b!r}): weight {weight!r} must be finite and >= 0"
            raise InputError(msg)
        final[(R.index[a], R.index[b])] = None if weight is None else float(weight)
    indptr, indices, _ = R.fwd
    data = R.csr.data.copy()
    drop: list[int] = []
    add_u, add_v, add_w = [], [], []
    for (ia, ib), weight in final.items():
        lo, hi = int(indptr[ia]), int(indptr[ia + 1])
        j = lo + int(np.searchsorted(indices[lo:hi], ib))  # column indices are sorted
        exists = j < hi and indices[j] == ib
        if weight is None:
            if exists:
                drop.append(j)
        elif exists:
            data[j] = weight if weight > 0 else np.finfo(float).tiny
        else:
            add_u.append(ia)
            add_v.append(ib)
            add_w.append(weight)
    n = len(R.nodes)
    if drop:  # removals: rebuild without the dropped entries
        coo = sp.csr_array((data, R.csr.indices, R.csr.indptr), shape=(n, n)).tocoo()
        keep = np.ones(coo.nnz, dtype=bool)
        keep[drop] = False  # tocoo keeps CSR order, so positions match
        csr = _build_csr(
            n,
            np.concatenate([coo.row[keep].astype(np.int64), np.array(add_u, dtype=np.int64)]),
            np.concatenate([coo.col[keep].astype(np.int64), np.array(add_v, dtype=np.int64)]),
            np.concatenate([coo.data[keep], np.array(add_w, dtype=float)]),
        )
    else:
        csr = sp.csr_array((data, R.csr.indices.copy(), R.csr.indptr.copy()), shape=(n, n))
        if add_u:  # new entries do not overlap existing ones, so adding them is exact
            csr = (csr + _build_csr(n, np.array(add_u), np.array(add_v), np.array(add_w))).tocsr()
    return _routing(
        csr,
        nodes=R.nodes,
        index=R.index,
        xy=R.xy,
        crs=R.crs,
        tree=R.tree,
        weight=R.weight,
        wait_min=R.wait_min,
        network_source=R.network_source,
    )


@functools.lru_cache(maxsize=32)
def _transformer(src: str, dst: str) -> Transformer:
    return Transformer.from_crs(src, dst, always_xy=True)


def _seat_xy(zones: gpd.GeoDataFrame | gpd.GeoSeries, crs: str) -> np.ndarray:
    """Seat coordinates in ``crs`` (seat columns, else points or points on the surface)."""
    if isinstance(zones, gpd.GeoDataFrame) and {"seat_lon", "seat_lat"} <= set(zones.columns):
        lon = zones["seat_lon"].to_numpy(dtype=float)
        lat = zones["seat_lat"].to_numpy(dtype=float)
        src = "EPSG:4326"
    else:
        geom = zones.geometry if isinstance(zones, gpd.GeoDataFrame) else zones
        if geom.crs is None:
            msg = "origins/destinations have no CRS; set one before computing travel times"
            raise InputError(msg)
        arr = np.asarray(geom.array, dtype=object)
        not_point = shapely.get_type_id(arr) != 0
        if not_point.any():
            arr = arr.copy()
            arr[not_point] = shapely.point_on_surface(arr[not_point])
        xy = shapely.get_coordinates(arr)
        if len(xy) != len(arr):
            msg = "origins/destinations have empty geometries; every zone needs a location"
            raise InputError(msg)
        lon, lat = xy[:, 0], xy[:, 1]
        src = geom.crs.to_string()
    x, y = _transformer(src, crs).transform(lon, lat)
    return np.column_stack([x, y])


def snap_to_nodes(
    R: RoutingGraph,
    zones: gpd.GeoDataFrame | gpd.GeoSeries,
    *,
    access_speed_kph: float = DEFAULT_ACCESS_SPEED_KPH,
) -> pd.DataFrame:
    """Snap zones (their seats, or points) to the nearest graph node.

    Parameters
    ----------
    R
        Routing graph.
    zones
        Zones with ``seat_lon``/``seat_lat``, or any geometries (points are used as they
        are, polygons by their representative point).
    access_speed_kph
        Speed of the straight-line access leg.

    Returns
    -------
    pandas.DataFrame
        Indexed like ``zones``: ``node`` (id), ``pos`` (matrix position), ``access_m`` and
        ``access_min``.

    Raises
    ------
    InputError
        If ``access_speed_kph`` is not positive or the index has duplicates.
    """
    if not access_speed_kph > 0:
        msg = f"access_speed_kph={access_speed_kph!r} must be > 0"
        raise InputError(msg)
    if zones.index.has_duplicates:
        msg = "origins/destinations have duplicate ids; ids must be unique"
        raise InputError(msg)
    dist, pos = R.tree.query(_seat_xy(zones, R.crs))
    return pd.DataFrame(
        {
            "node": R.nodes[pos],
            "pos": pos,
            "access_m": dist,
            "access_min": dist / (access_speed_kph / 0.06),
        },
        index=zones.index,
    )


_SHARED: dict[str, Any] = {}


def _init_worker(csr: sp.csr_array, cols: np.ndarray, limit: float) -> None:
    _SHARED.update(csr=csr, cols=cols, limit=limit)


def _chunk_worker(rows: np.ndarray) -> np.ndarray:
    d = dijkstra(_SHARED["csr"], directed=True, indices=rows, limit=_SHARED["limit"])
    return np.asarray(d[:, _SHARED["cols"]])


def _scipy_matrix(
    csr: sp.csr_array, rows: np.ndarray, cols: np.ndarray, *, limit: float, workers: int
) -> np.ndarray:
    """Scipy csgraph engine: origin chunks of bounded memory, optionally in processes."""
    n = csr.shape[0]
    chunk = max(1, min(len(rows), _CHUNK_BYTES // (8 * max(n, 1))))
    if workers > 1 and len(rows) >= 2 * workers:
        chunk = min(chunk, math.ceil(len(rows) / workers))
    pieces = [rows[i : i + chunk] for i in range(0, len(rows), chunk)]
    if workers <= 1 or len(pieces) == 1:
        _init_worker(csr, cols, limit)
        try:
            return np.vstack([_chunk_worker(p) for p in pieces])
        finally:
            _SHARED.clear()
    method = "fork" if "fork" in mp.get_all_start_methods() else "spawn"
    with ProcessPoolExecutor(
        max_workers=workers,
        mp_context=mp.get_context(method),
        initializer=_init_worker,
        initargs=(csr, cols, limit),
    ) as ex:
        return np.vstack(list(ex.map(_chunk_worker, pieces)))


def _compiled_matrix(
    arrays: tuple[np.ndarray, np.ndarray, np.ndarray],
    rows: np.ndarray,
    cols: np.ndarray,
    *,
    limit: float,
    workers: int,
) -> np.ndarray:
    """Compiled engine: many-source Dijkstra in C, source chunks in threads (no GIL)."""
    kernel = _dijkstra
    if kernel is None:  # pragma: no cover - _use_compiled checked this
        msg = "the compiled Dijkstra kernel is not available"
        raise InputError(msg)
    indptr, indices, weights = arrays
    rows = np.ascontiguousarray(rows, dtype=np.int64)
    cols = np.ascontiguousarray(cols, dtype=np.int64)
    out = np.empty((len(rows), len(cols)), dtype=np.float64)
    if len(rows) == 0 or len(cols) == 0:
        return out
    n_chunks = min(len(rows), max(1, workers) * 4)
    bounds = np.linspace(0, len(rows), n_chunks + 1).astype(int)

    def work(i: int) -> None:
        a, b = bounds[i], bounds[i + 1]
        if b > a:
            kernel.many_sources(indptr, indices, weights, rows[a:b], cols, out[a:b], limit)

    if workers <= 1:
        for i in range(n_chunks):
            work(i)
    else:
        with ThreadPoolExecutor(max_workers=workers) as ex:
            list(ex.map(work, range(n_chunks)))
    return out


def _node_matrix(
    R: RoutingGraph,
    rows: np.ndarray,
    cols: np.ndarray,
    *,
    limit: float,
    workers: int,
    engine: Engine,
    backward: bool = False,
) -> np.ndarray:
    """Shortest-path weights from each node in ``rows`` to each in ``cols`` (inf if none).

    With ``backward`` the searches run on the transposed graph (distances *to* ``rows``).
    """
    if _use_compiled(engine):
        return _compiled_matrix(
            R.bwd if backward else R.fwd, rows, cols, limit=limit, workers=workers
        )
    return _scipy_matrix(R.csr_t if backward else R.csr, rows, cols, limit=limit, workers=workers)


def _use_compiled(engine: Engine) -> bool:
    if engine not in ("auto", "compiled", "scipy"):
        msg = f"engine={engine!r} is not valid; use 'auto', 'compiled' or 'scipy'"
        raise InputError(msg)
    if engine == "compiled" and _dijkstra is None:
        msg = (
            "engine='compiled' but urlink's compiled Dijkstra kernel is not built (no C "
            "compiler at install time); reinstall with a compiler or use engine='scipy'"
        )
        raise InputError(msg)
    return engine != "scipy" and _dijkstra is not None


def _check_workers(workers: int | None) -> int:
    if workers is None:
        return os.cpu_count() or 1
    if not (isinstance(workers, int) and workers >= 1):
        msg = f"workers={workers!r} must be a positive integer (or None for all cores)"
        raise InputError(msg)
    return workers


def _same_zone(o: pd.DataFrame, d: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Row and column positions of pairs whose origin and destination are the same zone."""
    cols = pd.Index(d.index).get_indexer(o.index)
    rows = np.flatnonzero(cols >= 0)
    return rows, cols[rows]


def _assemble(
    node_s: np.ndarray, o: pd.DataFrame, d: pd.DataFrame, wait_min: float, cutoff: float | None
) -> pd.DataFrame:
    minutes = node_s / 60.0
    minutes += o["access_min"].to_numpy()[:, None]
    minutes += d["access_min"].to_numpy()[None, :] + wait_min
    if wait_min:
        rows, cols = _same_zone(o, d)
        minutes[rows, cols] -= wait_min  # no waiting for a trip within one zone
    return _finish_minutes(minutes, o.index, d.index, cutoff)


def _finish_minutes(
    minutes: np.ndarray, index: pd.Index, columns: pd.Index, cutoff: float | None
) -> pd.DataFrame:
    """Apply the cutoff, turn infinities into NaN (with a warning) and wrap in a frame."""
    if cutoff is not None:
        minutes[minutes > cutoff] = np.inf
    unreachable = ~np.isfinite(minutes)
    minutes[unreachable] = np.nan
    n_bad = int(unreachable.sum())
    if n_bad:
        warnings.warn(
            f"{n_bad} of {minutes.size} origin-destination pairs are unreachable"
            + (f" within {cutoff} min" if cutoff is not None else "")
            + " (NaN in the skim); see urlink.network.report_components",
            UrlinkWarning,
            stacklevel=3,
        )
    out = pd.DataFrame(minutes, index=index.copy(), columns=columns.copy(), copy=False)
    out.index.name = "origin"
    out.columns.name = "destination"
    return out


def travel_time_matrix(
    G: nx.MultiDiGraph | RoutingGraph,
    origins: gpd.GeoDataFrame | gpd.GeoSeries,
    destinations: gpd.GeoDataFrame | gpd.GeoSeries | None = None,
    *,
    weight: str = "travel_time",
    cutoff: float | None = None,
    access_speed_kph: float = DEFAULT_ACCESS_SPEED_KPH,
    workers: int | None = 1,
    engine: Engine = "auto",
) -> pd.DataFrame:
    """Travel times in minutes between zones over a street graph.

    Parameters
    ----------
    G
        Street graph (with ``weight`` in seconds on every edge) or a :class:`RoutingGraph`
        (reuse one for repeated calls).
    origins
        Zones (their seats are used) or points, indexed by id.
    destinations
        Same; ``origins`` if None.
    weight
        Edge attribute in seconds.
    cutoff
        Minutes; longer trips are NaN (and the search stops early).
    access_speed_kph
        Speed of the access legs from seats to the nearest nodes.
    workers
        Parallel workers for the shortest-path searches (None: all cores): threads for the
        compiled engine, processes for scipy.
    engine
        ``"auto"`` (the compiled kernel if built, else scipy), ``"compiled"`` or ``"scipy"``;
        both give the same distances.

    Returns
    -------
    pandas.DataFrame
        Minutes, origins x destinations; NaN where unreachable.

    Raises
    ------
    InputError
        On a graph without usable weights or coordinates, or bad options.

    Examples
    --------
    >>> import geopandas as gpd
    >>> import networkx as nx
    >>> G = nx.MultiDiGraph(crs="epsg:4326")
    >>> G.add_node("a", x=121.0, y=28.6)
    >>> G.add_node("b", x=121.1, y=28.6)
    >>> _ = G.add_edge("a", "b", travel_time=600.0)
    >>> z = gpd.GeoDataFrame(index=["A", "B"], crs="EPSG:4326",
    ...                      geometry=gpd.points_from_xy([121.0, 121.1], [28.6, 28.6]))
    >>> travel_time_matrix(G, z.iloc[:1], z.iloc[1:]).iloc[0, 0]
    np.float64(10.0)
    """
    if cutoff is not None and not cutoff > 0:
        msg = f"cutoff={cutoff!r} must be a positive number of minutes (or None)"
        raise InputError(msg)
    workers = _check_workers(workers)
    R = _as_routing(G, weight)
    dest = origins if destinations is None else destinations
    o = snap_to_nodes(R, origins, access_speed_kph=access_speed_kph)
    d = snap_to_nodes(R, dest, access_speed_kph=access_speed_kph)
    limit = np.inf if cutoff is None else cutoff * 60.0
    node_s = _zone_matrix(R, o, d, limit=limit, workers=workers, engine=engine)
    return _assemble(node_s, o, d, R.wait_min, cutoff)


def _zone_matrix(
    R: RoutingGraph,
    o: pd.DataFrame,
    d: pd.DataFrame,
    *,
    limit: float,
    workers: int,
    engine: Engine,
) -> np.ndarray:
    """Node-to-node weights between snapped zones, searching once per distinct node."""
    rows, inv_rows = np.unique(o["pos"].to_numpy(), return_inverse=True)
    cols, inv_cols = np.unique(d["pos"].to_numpy(), return_inverse=True)
    node = _node_matrix(R, rows, cols, limit=limit, workers=workers, engine=engine)
    logger.info(
        "%d x %d zones (%d x %d nodes) on %d nodes / %d edges",
        len(o),
        len(d),
        len(rows),
        len(cols),
        len(R.nodes),
        R.n_edges,
    )
    return np.asarray(node[np.ix_(inv_rows, inv_cols)])


def update_travel_time_matrix(
    skim: pd.DataFrame,
    G: nx.MultiDiGraph | RoutingGraph,
    changes: Sequence[EdgeChange],
    *,
    origins: gpd.GeoDataFrame | gpd.GeoSeries,
    destinations: gpd.GeoDataFrame | gpd.GeoSeries | None = None,
    weight: str = "travel_time",
    cutoff: float | None = None,
    access_speed_kph: float = DEFAULT_ACCESS_SPEED_KPH,
    workers: int | None = 1,
    engine: Engine = "auto",
) -> pd.DataFrame:
    """Update a skim after edge changes, exactly, without a full recomputation if possible.

    Parameters
    ----------
    skim
        The skim of the *base* graph ``G`` (from :func:`travel_time_matrix` with the same
        origins, destinations, cutoff and access speed).
    G
        The base graph (or its :class:`RoutingGraph`), without the changes.
    changes
        ``(u, v, weight)``: new weight (seconds) of edge u -> v, added if absent; None
        removes the edge. If every change adds an edge or lowers a weight, the update is
        incremental; otherwise the skim is recomputed on the changed graph.
    origins, destinations, weight, cutoff, access_speed_kph, workers, engine
        As for :func:`travel_time_matrix`.

    Returns
    -------
    pandas.DataFrame
        The skim of the changed graph.

    Raises
    ------
    InputError
        If the skim does not match the origins/destinations, or a change is invalid.
    """
    R = _as_routing(G, weight)
    R_new = apply_edge_changes(R, changes)
    # several changes to one edge: the last one wins (as in apply_edge_changes)
    changes = [(a, b, w) for (a, b), w in {(a, b): w for a, b, w in changes}.items()]
    dest = origins if destinations is None else destinations
    if not (
        skim.index.equals(pd.Index(origins.index)) and skim.columns.equals(pd.Index(dest.index))
    ):
        msg = "the skim's index/columns do not match origins/destinations; pass the same zones"
        raise InputError(msg)
    incremental = True
    for a, b, w in changes:
        old = R.csr[R.index[a], R.index[b]]
        if w is None or (old != 0 and w > old):
            incremental = False
            break
    if not incremental:
        logger.info("edge removal or slow-down: recomputing the skim")
        return travel_time_matrix(
            R_new,
            origins,
            destinations,
            weight=weight,
            cutoff=cutoff,
            access_speed_kph=access_speed_kph,
            workers=workers,
            engine=engine,
        )
    o = snap_to_nodes(R_new, origins, access_speed_kph=access_speed_kph)
    d = (
        o
        if destinations is None
        else snap_to_nodes(R_new, dest, access_speed_kph=access_speed_kph)
    )
    limit = np.inf if cutoff is None else cutoff * 60.0
    us = np.array([R.index[a] for a, _, _ in changes], dtype=np.int64)
    vs = np.array([R.index[b] for _, b, _ in changes], dtype=np.int64)
    ws = np.array([w for *_, w in changes], dtype=float)
    # d'(o, u_k) for every origin node o, and d'(v_k, d) for every destination node d
    to_u = _node_matrix(
        R_new, us, o["pos"].to_numpy(), limit=limit, workers=1, engine=engine, backward=True
    )
    from_v = _node_matrix(R_new, vs, d["pos"].to_numpy(), limit=limit, workers=1, engine=engine)
    # Work in minutes: a candidate trip via a changed edge costs access + d'(o, u) + w +
    # d'(v, d) + wait + access; the base skim has the same access and wait terms, so the
    # minimum can be taken directly (trips within one zone cannot improve: they need no
    # network at all). NaN (unreachable) in the base loses against any finite candidate.
    new = skim.to_numpy(dtype=float, copy=True)
    a_o = o["access_min"].to_numpy()
    a_d = d["access_min"].to_numpy() + R.wait_min
    for k in range(len(changes)):
        left = to_u[k] / 60.0 + a_o
        right = from_v[k] / 60.0 + a_d + ws[k] / 60.0
        cand = left[:, None] + right[None, :]
        rows, cols = _same_zone(o, d)
        cand[rows, cols] = np.inf
        np.fmin(new, cand, out=new)
    return _finish_minutes(new, skim.index, skim.columns, cutoff)


def distance_matrix_km(
    G: nx.MultiDiGraph | RoutingGraph,
    origins: gpd.GeoDataFrame | gpd.GeoSeries,
    destinations: gpd.GeoDataFrame | gpd.GeoSeries | None = None,
    *,
    weight: str = "length",
    engine: Engine = "auto",
) -> pd.DataFrame:
    """Shortest network distances in km between zones (access legs included).

    The distance of the shortest path by length, which can differ from the length of the
    fastest path; NaN where unreachable (no warning: :func:`travel_time_matrix` reports
    unreachable pairs).

    Parameters
    ----------
    G
        Street graph with ``weight`` in metres, or its routing graph for that weight.
    origins, destinations
        As for :func:`travel_time_matrix`.
    weight
        Edge attribute in metres.
    engine
        As for :func:`travel_time_matrix`.

    Returns
    -------
    pandas.DataFrame
        Kilometres, origins x destinations.

    Examples
    --------
    >>> import geopandas as gpd
    >>> import networkx as nx
    >>> G = nx.MultiDiGraph(crs="epsg:4326")
    >>> G.add_node("a", x=121.0, y=28.6)
    >>> G.add_node("b", x=121.1, y=28.6)
    >>> _ = G.add_edge("a", "b", length=12_000.0)
    >>> z = gpd.GeoDataFrame(index=["A", "B"], crs="EPSG:4326",
    ...                      geometry=gpd.points_from_xy([121.0, 121.1], [28.6, 28.6]))
    >>> distance_matrix_km(G, z.iloc[:1], z.iloc[1:]).iloc[0, 0]
    np.float64(12.0)
    """
    R = _as_routing(G, weight)
    dest = origins if destinations is None else destinations
    o = snap_to_nodes(R, origins)
    d = snap_to_nodes(R, dest)
    km = (
        _zone_matrix(R, o, d, limit=np.inf, workers=1, engine=engine)
        + o["access_m"].to_numpy()[:, None]
        + d["access_m"].to_numpy()[None, :]
    ) / 1000.0
    km[~np.isfinite(km)] = np.nan
    out = pd.DataFrame(km, index=o.index.copy(), columns=d.index.copy())
    out.index.name = "origin"
    out.columns.name = "destination"
    return out
