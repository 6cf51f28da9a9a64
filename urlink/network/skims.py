"""Travel-time skims: zone-to-zone matrices from a street graph, and cheap exact updates.

A skim is a :class:`pandas.DataFrame` of travel times in minutes, indexed by origin zone id
(rows) and destination zone id (columns). For a pair of zones it is

    access(o) + network time(node(o) -> node(d)) + wait + access(d)

where node(z) is the graph node nearest to the zone's seat, access(z) is the straight-line
distance from the seat to that node at ``access_speed_kph``, and wait is
``G.graph["wait_min"]`` (half the headway for bus graphs; 0 otherwise; not added within a
zone). Pairs that cannot be reached (or exceed ``cutoff``) are NaN, and a warning says how
many: a skim never holds 0 or infinity for a missing connection.

Shortest paths run in compiled code (urlink's many-source Dijkstra kernel, or
:func:`scipy.sparse.csgraph.dijkstra`, on a CSR matrix), in chunks of origin zones of
bounded memory, serially, over local workers or on a Dask cluster (:mod:`urlink.parallel`),
always with the same result. Skims too large for memory are written to disk chunk by chunk
(:func:`write_travel_time_matrix`) and read back memory-mapped
(:func:`read_travel_time_matrix`); :func:`iter_skim_rows` and :func:`score_accessibility`
stream over them.

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
import json
import logging
import math
import warnings
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely
from pyproj import Transformer
from scipy.sparse.csgraph import connected_components, dijkstra
from scipy.spatial import cKDTree

from urlink.errors import InputError, UrlinkWarning
from urlink.io.crs import local_metric_crs
from urlink.memo import kept_with
from urlink.parallel import (
    IN_FLIGHT_PER_WORKER,
    dask_client,
    imap_chunks,
    parse_size,
    resolve_workers,
)

if TYPE_CHECKING:
    from collections.abc import Hashable, Iterator, Sequence
    from types import ModuleType

    import networkx as nx

__all__ = [
    "EdgeChange",
    "RoutingGraph",
    "apply_edge_changes",
    "distance_matrix_km",
    "iter_skim_rows",
    "matrix_dtype",
    "read_travel_time_matrix",
    "routing_graph_from",
    "score_accessibility",
    "skim_from_parquet",
    "skim_to_parquet",
    "snap_to_nodes",
    "spill_travel_time_matrix",
    "stored_as",
    "travel_time_and_distance_matrix",
    "travel_time_matrix",
    "update_distance_matrix_km",
    "update_travel_time_and_distance",
    "update_travel_time_matrix",
    "write_travel_time_matrix",
]

logger = logging.getLogger(__name__)

_dijkstra: ModuleType | None
try:  # the compiled kernel is optional (built when a C compiler is available)
    _dijkstra = importlib.import_module("urlink.network._dijkstra")
except ImportError:  # pragma: no cover - depends on the installation
    _dijkstra = None

Engine = Literal["auto", "compiled", "scipy"]
"""Shortest-path engine: the compiled kernel if built (``auto``), or scipy's csgraph."""

EdgeChange = tuple["Hashable", "Hashable", float | None]
"""``(u, v, weight)``: set the weight of edge u -> v (adding it if absent); None removes it."""

DEFAULT_ACCESS_SPEED_KPH = 4.5
"""Speed of the access leg from a zone seat to its nearest graph node (walking)."""

_CHUNK_BYTES = 64 * 2**20  # largest block of a skim chunk


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
    snap
        Positions of the preferred snapping nodes (:func:`snappable_nodes`): those of the
        strongly connected parts of the network that are not tiny (one-way traps, car parks
        and fragments cut by the extract's edge are left out); see :func:`nearest_nodes`.
    snap_tree
        KD-tree over ``xy[snap]``.
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
    snap: np.ndarray
    snap_tree: cKDTree

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


SNAP_MIN_SHARE = 0.01
"""A strongly connected part with fewer nodes than this share of the largest is not preferred
for snapping (:func:`nearest_nodes`)."""


def snappable_nodes(csr: sp.csr_array, *, min_share: float = SNAP_MIN_SHARE) -> np.ndarray:
    """Positions of the nodes points may be snapped to.

    The nodes of every strongly connected part with at least ``min_share`` of the nodes of
    the largest one (always the largest). An island with its own street network (Gozo
    beside Malta) keeps its nodes; a one-way trap or a fragment of a few nodes does not.

    Parameters
    ----------
    csr
        The routing graph's adjacency (any weights).
    min_share
        Smallest part kept, as a share of the largest part's node count.

    Returns
    -------
    numpy.ndarray
        Sorted node positions.

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> ring = sp.csr_array(([1.0] * 4, ([0, 1, 2, 3], [1, 2, 3, 0])), shape=(5, 5))
    >>> snappable_nodes(ring, min_share=0.5).tolist()  # node 4 is cut off
    [0, 1, 2, 3]
    """
    n_parts, labels = connected_components(csr, directed=True, connection="strong")
    if n_parts <= 1:
        return np.arange(csr.shape[0])
    sizes = np.bincount(labels, minlength=n_parts)
    keep = sizes >= max(1.0, min_share * sizes.max())
    keep[int(np.argmax(sizes))] = True
    return np.flatnonzero(keep[labels])


SNAP_DETOUR_M = 500.0
"""How much farther than the nearest node a node of a non-tiny part may be and still be
preferred (:func:`nearest_nodes`)."""


def nearest_nodes(R: RoutingGraph, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Snap points to the routing graph: distances (m) and node positions.

    A point goes to the nearest node of a non-tiny strongly connected part
    (:attr:`RoutingGraph.snap`) when that node is at most :data:`SNAP_DETOUR_M` farther
    than the nearest node of all; otherwise to the nearest node (a place that really lies
    on a separate piece of network, such as an island without a ferry, stays there and is
    reported unreachable rather than joined by a long straight walk).

    Parameters
    ----------
    R
        Routing graph.
    xy
        Points in ``R.crs`` (metres), shape (n, 2).

    Returns
    -------
    tuple of numpy.ndarray
        Distances (m) and node positions.
    """
    pts = np.atleast_2d(np.asarray(xy, dtype=float))
    d_all, p_all = R.tree.query(pts)
    d_snap, hit = R.snap_tree.query(pts)
    d_all = np.atleast_1d(np.asarray(d_all, dtype=float))
    p_all = np.atleast_1d(np.asarray(p_all, dtype=np.int64))
    d_snap = np.atleast_1d(np.asarray(d_snap, dtype=float))
    p_snap = R.snap[np.atleast_1d(np.asarray(hit, dtype=np.int64))]
    prefer = d_snap <= d_all + SNAP_DETOUR_M
    return np.where(prefer, d_snap, d_all), np.where(prefer, p_snap, p_all)


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
            "urlink.network.streets.add_travel_times first"
        )
        raise InputError(msg)
    csr = _build_csr(len(nodes), u, v, w)
    pts = gpd.GeoSeries(gpd.points_from_xy(lon, lat), crs="EPSG:4326")
    crs = local_metric_crs(pts).to_string()
    tr = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    xy = np.column_stack(tr.transform(lon, lat))
    snap = snappable_nodes(csr)
    return _routing(
        csr,
        nodes=nodes,
        index=index,
        xy=xy,
        crs=crs,
        tree=cKDTree(xy),
        snap=snap,
        snap_tree=cKDTree(xy[snap]),
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
        snap=R.snap,
        snap_tree=R.snap_tree,
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
    seats = _seats_key(zones, access_speed_kph)
    if seats is None:
        return _snapped(R, zones, access_speed_kph)
    # a road edit keeps the nodes: the seats of every edited network (a strategy, an
    # uncertainty sample) are snapped once, kept with the nodes' coordinates
    kept = kept_with(
        "snap_to_nodes", (R.xy, R.snap), seats, lambda: _snapped(R, zones, access_speed_kph)
    )
    return kept.copy(deep=False)


def _snapped(
    R: RoutingGraph, zones: gpd.GeoDataFrame | gpd.GeoSeries, access_speed_kph: float
) -> pd.DataFrame:
    dist, pos = nearest_nodes(R, _seat_xy(zones, R.crs))
    return pd.DataFrame(
        {
            "node": R.nodes[pos],
            "pos": pos,
            "access_m": dist,
            "access_min": dist / (access_speed_kph / 0.06),
        },
        index=zones.index,
    )


def _seats_key(
    zones: gpd.GeoDataFrame | gpd.GeoSeries, access_speed_kph: float
) -> tuple[Any, ...] | None:
    """Return the seats of zones with seat columns as a key (None: by geometry, not kept)."""
    if not (isinstance(zones, gpd.GeoDataFrame) and {"seat_lon", "seat_lat"} <= set(zones)):
        return None
    lon = zones["seat_lon"].to_numpy(dtype=float)
    lat = zones["seat_lat"].to_numpy(dtype=float)
    ids = tuple(zones.index.tolist())
    return (float(access_speed_kph), ids, lon.tobytes(), lat.tobytes())


def _node_matrix(
    R: RoutingGraph,
    rows: np.ndarray,
    cols: np.ndarray,
    *,
    limit: float,
    engine: Engine,
    backward: bool = False,
) -> np.ndarray:
    """Shortest-path weights from each node in ``rows`` to each in ``cols`` (inf if none).

    Serial, for the few searches of an incremental update and for distances; zone skims go
    through :func:`_skim_chunk`. With ``backward`` the searches run on the transposed graph
    (distances *to* ``rows``).
    """
    rows = np.ascontiguousarray(rows, dtype=np.int64)
    cols = np.ascontiguousarray(cols, dtype=np.int64)
    distinct, inv = np.unique(cols, return_inverse=True)
    if len(distinct) < len(cols):  # the compiled kernel needs distinct targets
        return _node_matrix(R, rows, distinct, limit=limit, engine=engine, backward=backward)[
            :, inv.ravel()
        ]
    if not _use_compiled(engine):
        csr = R.csr_t if backward else R.csr
        per_row = 8 * max(csr.shape[0], 1)  # scipy returns full rows: chunk them
        step = max(1, _CHUNK_BYTES // per_row)
        pieces = [
            np.asarray(dijkstra(csr, directed=True, indices=rows[i : i + step], limit=limit))[
                :, cols
            ]
            for i in range(0, len(rows), step)
        ]
        return np.vstack(pieces) if pieces else np.empty((0, len(cols)))
    kernel = _dijkstra
    if kernel is None:  # pragma: no cover - _use_compiled checked this
        msg = "the compiled Dijkstra kernel is not available"
        raise InputError(msg)
    indptr, indices, weights = R.bwd if backward else R.fwd
    out = np.empty((len(rows), len(cols)), dtype=np.float64)
    if out.size:
        kernel.many_sources(indptr, indices, weights, rows, cols, out, limit)
    return out


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


def _same_zone(o: pd.DataFrame, d: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Row and column positions of pairs whose origin and destination are the same zone."""
    cols = pd.Index(d.index).get_indexer(o.index)
    rows = np.flatnonzero(cols >= 0)
    return rows, cols[rows]


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
            + " (NaN in the skim); see urlink.network.streets.report_components",
            UrlinkWarning,
            stacklevel=3,
        )
    out = pd.DataFrame(minutes, index=index.copy(), columns=columns.copy(), copy=False)
    out.index.name = "origin"
    out.columns.name = "destination"
    return out


@dataclass(frozen=True, slots=True, eq=False)
class _SkimJob:
    """What every skim chunk needs: sent once to each worker (see :mod:`urlink.parallel`)."""

    compiled: bool
    graph: Any  # (indptr, indices, weights) for the compiled kernel, else a CSR matrix
    o_pos: np.ndarray  # graph position of each origin zone's node
    o_access: np.ndarray  # minutes
    d_nodes: np.ndarray  # distinct destination nodes (sorted)
    d_inv: np.ndarray  # destination zone -> position in d_nodes
    d_access: np.ndarray  # minutes
    same_rows: np.ndarray  # origin zones that are also destinations ...
    same_cols: np.ndarray  # ... and their destination column
    wait_min: float
    limit: float
    cutoff: float | None
    dtype: str
    km: bool = False  # distances: metres on the graph and the access legs, in km
    lengths: Any = None  # metres per edge of ``graph`` (fastest-path distances), or None
    o_access_m: np.ndarray | None = None  # metres, with ``lengths``
    d_access_m: np.ndarray | None = None


def _skim_chunk(job: _SkimJob, bounds: tuple[int, int]) -> tuple[np.ndarray, int]:
    """Minutes from origin zones ``a:b`` to every destination, and the unreachable count.

    Pure function of the job: the same rows give the same numbers wherever it runs.
    """
    a, b = bounds
    rows, inv = np.unique(job.o_pos[a:b], return_inverse=True)
    if job.compiled:
        kernel = _dijkstra
        if kernel is None:
            msg = "the compiled Dijkstra kernel is not built on this worker; use engine='scipy'"
            raise InputError(msg)
        indptr, indices, weights = job.graph
        node = np.empty((len(rows), len(job.d_nodes)), dtype=np.float64)
        if node.size:
            kernel.many_sources(
                indptr,
                indices,
                weights,
                np.ascontiguousarray(rows, dtype=np.int64),
                job.d_nodes,
                node,
                job.limit,
            )
    else:
        full = dijkstra(job.graph, directed=True, indices=rows, limit=job.limit)
        node = np.asarray(full[:, job.d_nodes])
    if job.km:  # the operations of distance_matrix_km's serial path, in its order
        km = (
            node[np.ix_(inv.ravel(), job.d_inv)] + job.o_access[a:b, None] + job.d_access[None, :]
        ) / 1000.0
        km[~np.isfinite(km)] = np.nan
        return km, 0
    return _skim_chunk_finish(job, node, inv.ravel(), a, b)


def _skim_chunk_finish(
    job: _SkimJob, node: np.ndarray, inv: np.ndarray, a: int, b: int
) -> tuple[np.ndarray, int]:
    """Node-to-node seconds of origins ``a:b`` to zone minutes, and the unreachable count."""
    minutes = node[np.ix_(inv, job.d_inv)]
    minutes /= 60.0
    minutes += job.o_access[a:b, None]
    minutes += job.d_access[None, :] + job.wait_min
    if job.wait_min:
        here = (job.same_rows >= a) & (job.same_rows < b)
        minutes[job.same_rows[here] - a, job.same_cols[here]] -= job.wait_min
    if job.cutoff is not None:
        minutes[minutes > job.cutoff] = np.inf
    unreachable = ~np.isfinite(minutes)
    minutes[unreachable] = np.nan
    return minutes.astype(job.dtype, copy=False), int(unreachable.sum())


def _lengths_along(pred: np.ndarray, step_m: np.ndarray) -> np.ndarray:
    """Metres from the root of each shortest-path tree (rows of ``pred``) to every node.

    ``step_m[i, v]`` is the length of the edge ``pred[i, v] -> v``; the sums are taken by
    pointer doubling (vectorised). A root, and a node not reached, get 0 (the callers
    leave the unreached ones out by their NaN minutes).
    """
    up = pred.astype(np.int64, copy=True)
    total = np.where(up >= 0, step_m, 0.0)
    rows = np.arange(len(up))[:, None]
    while (up >= 0).any():
        has = up >= 0
        parent = np.where(has, up, 0)
        total = np.where(has, total + total[rows, parent], total)
        up = np.where(has, up[rows, parent], -1)
    return total


def _skim_km_chunk(job: _SkimJob, bounds: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, int]:
    """Minutes and fastest-path kilometres from origin zones ``a:b`` (one search per node).

    The minutes are those of :func:`_skim_chunk` to the bit; the kilometres are the length
    of the path each search found, plus both access legs, NaN where the minutes are.
    """
    a, b = bounds
    rows, inv = np.unique(job.o_pos[a:b], return_inverse=True)
    if job.compiled:
        kernel = _dijkstra
        if kernel is None:
            msg = "the compiled Dijkstra kernel is not built on this worker; use engine='scipy'"
            raise InputError(msg)
        indptr, indices, weights = job.graph
        node = np.empty((len(rows), len(job.d_nodes)), dtype=np.float64)
        metres = np.empty_like(node)
        if node.size:
            kernel.many_sources_length(
                indptr,
                indices,
                weights,
                job.lengths,
                np.ascontiguousarray(rows, dtype=np.int64),
                job.d_nodes,
                node,
                metres,
                job.limit,
            )
    else:
        full, pred = dijkstra(
            job.graph, directed=True, indices=rows, limit=job.limit, return_predecessors=True
        )
        step = np.zeros(full.shape)
        has = pred >= 0
        r, c = np.nonzero(has)
        step[r, c] = np.asarray(job.lengths[pred[r, c], c]).ravel()
        node = np.asarray(full[:, job.d_nodes])
        metres = _lengths_along(pred, step)[:, job.d_nodes]
    minutes, n_bad = _skim_chunk_finish(job, node, inv.ravel(), a, b)
    assert job.o_access_m is not None and job.d_access_m is not None
    km = (
        metres[np.ix_(inv.ravel(), job.d_inv)]
        + job.o_access_m[a:b, None]
        + job.d_access_m[None, :]
    ) / 1000.0
    km[np.isnan(minutes)] = np.nan
    return minutes, km, n_bad


def _warn_unreachable(n_bad: int, size: int, cutoff: float | None) -> None:
    if n_bad:
        warnings.warn(
            f"{n_bad} of {size} origin-destination pairs are unreachable"
            + (f" within {cutoff} min" if cutoff is not None else "")
            + " (NaN in the skim); see urlink.network.streets.report_components",
            UrlinkWarning,
            stacklevel=3,
        )


def _skim_job(
    R: RoutingGraph,
    o: pd.DataFrame,
    d: pd.DataFrame,
    *,
    cutoff: float | None,
    engine: Engine,
    dtype: str,
) -> _SkimJob:
    compiled = _use_compiled(engine)
    d_nodes, d_inv = np.unique(d["pos"].to_numpy(), return_inverse=True)
    same_rows, same_cols = _same_zone(o, d)
    logger.info(
        "%d x %d zones (%d destination nodes) on %d nodes / %d edges",
        len(o),
        len(d),
        len(d_nodes),
        len(R.nodes),
        R.n_edges,
    )
    return _SkimJob(
        compiled=compiled,
        graph=R.fwd if compiled else R.csr,
        o_pos=o["pos"].to_numpy(dtype=np.int64),
        o_access=o["access_min"].to_numpy(dtype=float),
        d_nodes=np.ascontiguousarray(d_nodes, dtype=np.int64),
        d_inv=d_inv.ravel(),
        d_access=d["access_min"].to_numpy(dtype=float),
        same_rows=same_rows,
        same_cols=same_cols,
        wait_min=R.wait_min,
        limit=np.inf if cutoff is None else cutoff * 60.0,
        cutoff=cutoff,
        dtype=dtype,
    )


def _chunk_rows(
    job: _SkimJob,
    n_nodes: int,
    *,
    chunk_size: int | None,
    max_memory: int | None,
    n_workers: int,
) -> int:
    """Origin zones per chunk: within the chunk budget, and a few chunks per worker."""
    n_o = len(job.o_pos)
    if chunk_size is not None:
        if isinstance(chunk_size, bool) or not (isinstance(chunk_size, int) and chunk_size >= 1):
            msg = f"chunk_size={chunk_size!r} must be a positive integer (or None: automatic)"
            raise InputError(msg)
        return chunk_size
    # bytes per origin row while a chunk is worked on and in flight: the float64 block,
    # plus scipy's full distance row over every graph node
    per_row = 8 * max(len(job.d_inv), 1) + (0 if job.compiled else 8 * n_nodes)
    budget = _CHUNK_BYTES
    if max_memory is not None:
        in_flight = max(1, n_workers) * (IN_FLIGHT_PER_WORKER + 1)
        budget = min(budget, max_memory // (4 * in_flight))
    rows = max(1, budget // per_row)
    if n_workers > 1:
        rows = min(rows, max(1, math.ceil(n_o / (4 * n_workers))))
    return max(1, min(rows, n_o))


def _check_options(cutoff: float | None, max_memory: int | str | None, dtype: str) -> int | None:
    if cutoff is not None and not cutoff > 0:
        msg = f"cutoff={cutoff!r} must be a positive number of minutes (or None)"
        raise InputError(msg)
    if dtype not in ("float32", "float64"):
        msg = f"dtype={dtype!r} is not valid; use 'float32' or 'float64'"
        raise InputError(msg)
    return None if max_memory is None else parse_size(max_memory)


def _skim_chunks(
    R: RoutingGraph,
    o: pd.DataFrame,
    d: pd.DataFrame,
    *,
    cutoff: float | None,
    workers: int,
    scheduler: Any,
    engine: Engine,
    chunk_size: int | None,
    max_memory: int | None,
    dtype: str,
    km: bool = False,
) -> Iterator[tuple[int, int, np.ndarray, int]]:
    """Yield ``(a, b, minutes, n_unreachable)`` for origin zones ``a:b``, in order.

    With ``km``, kilometres over a graph weighted in metres (access legs in metres).
    """
    job = _skim_job(R, o, d, cutoff=cutoff, engine=engine, dtype=dtype)
    if km:
        job = replace(
            job,
            o_access=o["access_m"].to_numpy(dtype=float),
            d_access=d["access_m"].to_numpy(dtype=float),
            wait_min=0.0,
            km=True,
        )
    with dask_client(scheduler) as client:
        n_workers = workers if client is None else max(1, sum(client.nthreads().values()))
        rows = _chunk_rows(
            job, len(R.nodes), chunk_size=chunk_size, max_memory=max_memory, n_workers=n_workers
        )
        bounds = [(a, min(a + rows, len(o))) for a in range(0, len(o), rows)]
        results = imap_chunks(
            _skim_chunk,
            bounds,
            shared=job,
            workers=workers,
            scheduler=client,
            # the compiled kernel releases the GIL: threads share the graph without copies
            pool="threads" if job.compiled else "processes",
        )
        for (a, b), (block, n_bad) in zip(bounds, results, strict=True):
            yield a, b, block, n_bad


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
    scheduler: Any = None,
    chunk_size: int | None = None,
    max_memory: int | str | None = None,
) -> pd.DataFrame:
    """Travel times in minutes between zones over a street graph.

    The searches run in chunks of origin zones (see :mod:`urlink.parallel`): serially,
    over local workers, or on a Dask cluster; the result is the same in every case.

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
        Local parallel workers (None: all cores): threads for the compiled engine (it
        releases the GIL), processes for scipy. Ignored with ``scheduler``.
    engine
        ``"auto"`` (the compiled kernel if built, else scipy), ``"compiled"`` or ``"scipy"``;
        both give the same distances.
    scheduler
        A Dask scheduler address (``"tcp://HOST:PORT"``) or ``distributed.Client``: run the
        chunks on that cluster (needs ``urlink[dask]``). None: local.
    chunk_size
        Origin zones per chunk (None: automatic, at most 64 MiB per chunk and about four
        chunks per worker).
    max_memory
        Bytes (or a size such as ``"4GB"``) the skim may hold in memory: the dense float64
        result must fit in half of it (else use :func:`write_travel_time_matrix`), and the
        chunks in flight are sized to a quarter of it.

    Returns
    -------
    pandas.DataFrame
        Minutes, origins x destinations; NaN where unreachable.

    Raises
    ------
    InputError
        On a graph without usable weights or coordinates, bad options, or a result larger
        than ``max_memory`` allows.

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
    limit_bytes = _check_options(cutoff, max_memory, "float64")
    workers = resolve_workers(workers)
    R = _as_routing(G, weight)
    dest = origins if destinations is None else destinations
    o = snap_to_nodes(R, origins, access_speed_kph=access_speed_kph)
    d = snap_to_nodes(R, dest, access_speed_kph=access_speed_kph)
    dense = 8 * len(o) * len(d)
    if limit_bytes is not None and dense > limit_bytes // 2:
        msg = (
            f"the {len(o):,} x {len(d):,} skim needs {dense / 1e9:.2f} GB in memory, more than "
            f"half of max_memory={max_memory!r}; raise max_memory or write it to disk with "
            "urlink.network.skims.write_travel_time_matrix"
        )
        raise InputError(msg)
    minutes = np.empty((len(o), len(d)), dtype=np.float64)
    n_bad = 0
    for a, b, block, bad in _skim_chunks(
        R,
        o,
        d,
        cutoff=cutoff,
        workers=workers,
        scheduler=scheduler,
        engine=engine,
        chunk_size=chunk_size,
        max_memory=limit_bytes,
        dtype="float64",
    ):
        minutes[a:b] = block
        n_bad += bad
    _warn_unreachable(n_bad, minutes.size, cutoff)
    return _skim_frame(minutes, o.index, d.index)


def _skim_frame(minutes: np.ndarray, index: pd.Index, columns: pd.Index) -> pd.DataFrame:
    out = pd.DataFrame(minutes, index=index.copy(), columns=columns.copy(), copy=False)
    out.index.name = "origin"
    out.columns.name = "destination"
    return out


SKIM_FILE = "time_min.npy"
"""Matrix file in a skim folder written by :func:`write_travel_time_matrix`."""
SKIM_IDS_FILE = "zones.json"
"""Origin and destination ids (and the settings) in a skim folder."""


def write_travel_time_matrix(
    path: str | Path,
    G: nx.MultiDiGraph | RoutingGraph,
    origins: gpd.GeoDataFrame | gpd.GeoSeries,
    destinations: gpd.GeoDataFrame | gpd.GeoSeries | None = None,
    *,
    weight: str = "travel_time",
    cutoff: float | None = None,
    access_speed_kph: float = DEFAULT_ACCESS_SPEED_KPH,
    workers: int | None = 1,
    engine: Engine = "auto",
    scheduler: Any = None,
    chunk_size: int | None = None,
    max_memory: int | str | None = None,
    dtype: Literal["float32", "float64"] = "float32",
) -> Path:
    """Compute a skim chunk by chunk straight into a memory-mapped ``.npy`` file on disk.

    For skims that do not fit in memory (40,000 zones: 6.4 GB as float32). Each chunk of
    origin rows is written as soon as it arrives, so memory holds only the chunks in flight
    (sized to a quarter of ``max_memory``), never the whole matrix. The folder gets
    ``time_min.npy`` (a plain NumPy array, origins x destinations, NaN where unreachable)
    and ``zones.json`` (the ids and settings); read it back with
    :func:`read_travel_time_matrix`.

    Parameters
    ----------
    path
        Folder to create (must not exist yet, or be empty).
    G, origins, destinations, weight, cutoff, access_speed_kph, workers, engine, scheduler
        As for :func:`travel_time_matrix`.
    chunk_size, max_memory
        As for :func:`travel_time_matrix`; ``max_memory`` bounds the chunks only.
    dtype
        ``"float32"`` (half the size; minutes to about 7 significant digits) or ``"float64"``
        (the same numbers as :func:`travel_time_matrix`).

    Returns
    -------
    pathlib.Path
        The folder.

    Raises
    ------
    InputError
        On bad options, or if ``path`` is a non-empty folder or a file.

    Examples
    --------
    >>> import tempfile
    >>> import geopandas as gpd
    >>> import networkx as nx
    >>> G = nx.MultiDiGraph(crs="epsg:4326")
    >>> G.add_node("a", x=121.0, y=28.6)
    >>> G.add_node("b", x=121.1, y=28.6)
    >>> _ = G.add_edge("a", "b", travel_time=600.0)
    >>> z = gpd.GeoDataFrame(index=["A", "B"], crs="EPSG:4326",
    ...                      geometry=gpd.points_from_xy([121.0, 121.1], [28.6, 28.6]))
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     folder = write_travel_time_matrix(tmp + "/skim", G, z.iloc[:1], z.iloc[1:])
    ...     float(read_travel_time_matrix(folder).loc["A", "B"])
    10.0
    """
    limit_bytes = _check_options(cutoff, max_memory, dtype)
    workers = resolve_workers(workers)
    folder = Path(path)
    if folder.is_file() or (folder.is_dir() and any(folder.iterdir())):
        msg = f"skim folder {str(folder)!r} exists and is not empty; choose a new folder"
        raise InputError(msg)
    R = _as_routing(G, weight)
    dest = origins if destinations is None else destinations
    o = snap_to_nodes(R, origins, access_speed_kph=access_speed_kph)
    d = snap_to_nodes(R, dest, access_speed_kph=access_speed_kph)
    ids = {
        "origins": _json_ids(o.index, "origins"),
        "destinations": _json_ids(d.index, "destinations"),
        "unit": "min",
        "dtype": dtype,
        "cutoff_min": cutoff,
        "weight": weight,
        "network_source": R.network_source,
    }
    folder.mkdir(parents=True, exist_ok=True)
    # the header (and a sparse file of the full size) from numpy; the rows are then written
    # with plain file writes, so the process never maps the whole file into its memory
    header = np.lib.format.open_memmap(
        folder / SKIM_FILE, mode="w+", dtype=np.dtype(dtype), shape=(len(o), len(d))
    )
    offset, row_bytes = header.offset, np.dtype(dtype).itemsize * len(d)
    del header
    n_bad = 0
    with (folder / SKIM_FILE).open("r+b") as f:
        for a, _, block, bad in _skim_chunks(
            R,
            o,
            d,
            cutoff=cutoff,
            workers=workers,
            scheduler=scheduler,
            engine=engine,
            chunk_size=chunk_size,
            max_memory=limit_bytes,
            dtype=dtype,
        ):
            f.seek(offset + a * row_bytes)
            f.write(np.ascontiguousarray(block, dtype=dtype).tobytes())
            n_bad += bad
    (folder / SKIM_IDS_FILE).write_text(json.dumps(ids), encoding="utf-8")
    _warn_unreachable(n_bad, len(o) * len(d), cutoff)
    return folder


def spill_travel_time_matrix(
    G: nx.MultiDiGraph | RoutingGraph,
    origins: gpd.GeoDataFrame | gpd.GeoSeries,
    destinations: gpd.GeoDataFrame | gpd.GeoSeries | None = None,
    *,
    folder: str | Path | None,
    max_memory: int | str | None,
    weight: str = "travel_time",
    cutoff: float | None = None,
    access_speed_kph: float = DEFAULT_ACCESS_SPEED_KPH,
    workers: int | None = 1,
    engine: Engine = "auto",
    scheduler: Any = None,
) -> pd.DataFrame:
    """Travel times in memory if they fit ``max_memory``, else spilled to disk and mapped.

    The dense float64 skim stays in memory when it takes at most half of ``max_memory``
    (or without a bound); otherwise it is written chunk by chunk (float64, the same numbers)
    to ``folder`` with :func:`write_travel_time_matrix` and returned memory-mapped, so it
    occupies page cache that the system can evict rather than the process's own memory.

    Parameters
    ----------
    G, origins, destinations
        As for :func:`travel_time_matrix`.
    folder
        New skim folder for the spilled matrix (needed only if it is spilled).
    max_memory
        Bytes or a size (``"4GB"``), or None for no bound.
    weight, cutoff, access_speed_kph, workers, engine, scheduler
        As for :func:`travel_time_matrix`.

    Returns
    -------
    pandas.DataFrame
        Minutes, origins x destinations (in memory or memory-mapped).

    Raises
    ------
    InputError
        On bad options, or a skim to spill without a ``folder``.
    """
    limit = None if max_memory is None else parse_size(max_memory)
    dest = origins if destinations is None else destinations
    options: dict[str, Any] = {
        "weight": weight,
        "cutoff": cutoff,
        "access_speed_kph": access_speed_kph,
        "workers": workers,
        "engine": engine,
        "scheduler": scheduler,
        "max_memory": limit,
    }
    if limit is None or 8 * len(origins) * len(dest) <= limit // 2:
        return travel_time_matrix(G, origins, destinations, **options)
    if folder is None:
        msg = (
            f"the {len(origins):,} x {len(dest):,} skim does not fit in max_memory={max_memory!r}"
            " and no folder was given to write it to"
        )
        raise InputError(msg)
    logger.info("the skim exceeds half of max_memory: writing it to %s", folder)
    written = write_travel_time_matrix(
        folder, G, origins, destinations, dtype="float64", **options
    )
    return read_travel_time_matrix(written)


def _json_ids(index: pd.Index, what: str) -> list[Any]:
    values = index.tolist()
    if not all(isinstance(v, (str, int)) and not isinstance(v, bool) for v in values):
        msg = f"{what} ids must be strings or integers to be written with the skim"
        raise InputError(msg)
    return values


def read_travel_time_matrix(path: str | Path) -> pd.DataFrame:
    """Open a skim folder written by :func:`write_travel_time_matrix`, without loading it.

    Parameters
    ----------
    path
        The folder.

    Returns
    -------
    pandas.DataFrame
        Minutes, origins x destinations, backed by a read-only memory map of the file: rows
        are read from disk when used (use :func:`iter_skim_rows` to stream over them).

    Raises
    ------
    InputError
        If the folder is not a skim folder or its files do not match.
    """
    folder = Path(path)
    matrix, meta = folder / SKIM_FILE, folder / SKIM_IDS_FILE
    if not (matrix.is_file() and meta.is_file()):
        msg = (
            f"{str(folder)!r} is not a skim folder (needs {SKIM_FILE} and {SKIM_IDS_FILE}); "
            "write one with urlink.network.skims.write_travel_time_matrix"
        )
        raise InputError(msg)
    ids = json.loads(meta.read_text(encoding="utf-8"))
    minutes = np.load(matrix, mmap_mode="r")
    shape = (len(ids["origins"]), len(ids["destinations"]))
    if minutes.shape != shape:
        msg = f"{str(matrix)!r} has shape {minutes.shape}, but {SKIM_IDS_FILE} lists {shape}"
        raise InputError(msg)
    return _skim_frame(minutes, pd.Index(ids["origins"]), pd.Index(ids["destinations"]))


def iter_skim_rows(
    skim: pd.DataFrame, *, chunk_rows: int = 1024
) -> Iterator[tuple[pd.Index, np.ndarray]]:
    """Walk over a skim in blocks of origin rows (memory: one block as float64).

    Parameters
    ----------
    skim
        A skim, in memory or from :func:`read_travel_time_matrix`.
    chunk_rows
        Origins per block.

    Yields
    ------
    tuple
        ``(origin ids, minutes)``: a block of rows as a float64 array.

    Examples
    --------
    >>> import pandas as pd
    >>> skim = pd.DataFrame([[0.0, 5.0], [5.0, 0.0], [9.0, 4.0]], index=list("abc"))
    >>> [ids.tolist() for ids, _ in iter_skim_rows(skim, chunk_rows=2)]
    [['a', 'b'], ['c']]
    """
    if isinstance(chunk_rows, bool) or not (isinstance(chunk_rows, int) and chunk_rows >= 1):
        msg = f"chunk_rows={chunk_rows!r} must be a positive integer"
        raise InputError(msg)
    for a in range(0, len(skim), chunk_rows):
        block = skim.iloc[a : a + chunk_rows]
        yield block.index, block.to_numpy(dtype=np.float64)


def _pyarrow() -> Any:
    try:
        import pyarrow as pa  # noqa: PLC0415 - optional dependency, imported on use
        import pyarrow.parquet as pq  # noqa: PLC0415 - optional dependency, imported on use
    except ImportError:
        msg = 'Parquet skims need pyarrow: pip install "urlink[parquet]"'
        raise InputError(msg) from None
    return pa, pq


def skim_to_parquet(
    skim: pd.DataFrame,
    path: str | Path,
    *,
    chunk_rows: int = 1024,
    keep_unreachable: bool = False,
    metadata: dict[str, str] | None = None,
) -> Path:
    """Write a skim to a Parquet file in long form, one row group per block of origins.

    The file has the columns ``origin``, ``destination`` (strings) and ``time_min``
    (float64; float32 for a float32 skim, ``[network] matrix_dtype``, the numbers it
    holds), the layout of ``travel_times.csv``, and can be read by pandas, DuckDB, QGIS
    or Spark. The skim is read block by block (:func:`iter_skim_rows`), so a memory-mapped
    skim from :func:`read_travel_time_matrix` never has to fit in memory.

    Parameters
    ----------
    skim
        Origins x destinations in minutes, in memory or memory-mapped.
    path
        Target ``.parquet`` file (must not exist).
    chunk_rows
        Origins per row group.
    keep_unreachable
        Also write the unreachable pairs (``time_min`` null); by default they are left out.
    metadata
        Key-value pairs stored in the file's schema metadata.

    Returns
    -------
    pathlib.Path
        The file.

    Raises
    ------
    InputError
        If the file exists, or pyarrow is not installed.

    Examples
    --------
    >>> import tempfile
    >>> skim = pd.DataFrame([[0.0, 5.0], [np.nan, 0.0]], index=["a", "b"], columns=["a", "b"])
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = skim_to_parquet(skim, tmp + "/skim.parquet")
    ...     back = skim_from_parquet(path)
    >>> back.loc["a", "b"], bool(np.isnan(back.loc["b", "a"]))
    (np.float64(5.0), True)
    """
    pa, pq = _pyarrow()
    target = Path(path)
    if target.exists():
        msg = f"{str(target)!r} exists; choose a new file name (skims are never overwritten)"
        raise InputError(msg)
    single = matrix_dtype(skim) is np.float32  # a float32 skim's values, half the bytes
    value_type = pa.float32() if single else pa.float64()
    schema = pa.schema(
        [("origin", pa.string()), ("destination", pa.string()), ("time_min", value_type)],
        metadata=metadata,
    )
    destinations = pa.array(np.asarray(skim.columns.astype(str), dtype=object), pa.string())
    tmp = target.with_name(f".{target.name}.tmp")
    with pq.ParquetWriter(tmp, schema) as writer:
        for ids, block in iter_skim_rows(skim, chunk_rows=chunk_rows):
            n_rows, n_cols = block.shape
            times = block.ravel().astype(np.float32) if single else block.ravel()
            keep = slice(None) if keep_unreachable else ~np.isnan(times)
            # the ids as positions into each block's id lists, decoded to strings by Arrow:
            # the same table as from arrays of Python strings, several times faster (#20)
            origin = np.repeat(np.arange(n_rows, dtype=np.int32), n_cols)[keep]
            destination = np.tile(np.arange(n_cols, dtype=np.int32), n_rows)[keep]
            origins = pa.array(np.asarray(ids.astype(str), dtype=object), pa.string())
            writer.write_table(
                pa.table(
                    {
                        "origin": _decoded(origin, origins, pa),
                        "destination": _decoded(destination, destinations, pa),
                        "time_min": pa.array(times[keep], from_pandas=True),
                    },
                    schema=schema,
                )
            )
    tmp.replace(target)
    return target


def _decoded(codes: np.ndarray, labels: Any, pa: Any) -> Any:
    """Return the strings ``labels[codes]`` as an Arrow string array (decoded in Arrow)."""
    return pa.DictionaryArray.from_arrays(pa.array(codes, pa.int32()), labels).dictionary_decode()


def skim_from_parquet(path: str | Path) -> pd.DataFrame:
    """Read a long-form Parquet skim (:func:`skim_to_parquet`) back into a matrix.

    Parameters
    ----------
    path
        A ``.parquet`` file with ``origin``, ``destination`` and ``time_min``.

    Returns
    -------
    pandas.DataFrame
        Origins x destinations in minutes, NaN for pairs not in the file.

    Raises
    ------
    InputError
        If the file is missing, lacks a column, or pyarrow is not installed.
    """
    _, pq = _pyarrow()
    source = Path(path)
    if not source.is_file():
        msg = f"skim file {str(source)!r} does not exist; check the path"
        raise InputError(msg)
    table = pq.read_table(source)
    missing = {"origin", "destination", "time_min"} - set(table.column_names)
    if missing:
        msg = f"{str(source)!r} has no column(s) {sorted(missing)}; write it with skim_to_parquet"
        raise InputError(msg)
    long = table.to_pandas()
    matrix = long.pivot_table(
        index="origin", columns="destination", values="time_min", aggfunc="first", dropna=False
    )
    # back in the file's order (pivot_table sorts)
    out: pd.DataFrame = matrix.reindex(
        index=pd.unique(long["origin"]), columns=pd.unique(long["destination"])
    ).rename_axis(index=None, columns=None)
    return out.astype(float)


def score_accessibility(
    skim: pd.DataFrame,
    opportunities: pd.Series,
    *,
    beta_per_min: float,
    chunk_rows: int = 1024,
) -> pd.Series:
    """Hansen accessibility of every origin, streamed over the skim row block by row block.

    ``A_i = sum_j O_j exp(-beta t_ij)`` over the destinations ``j`` reachable from ``i``
    (unreachable pairs, NaN, contribute nothing). The gravity-model potential that the
    people-flow models distribute over: the same number from a skim in memory and from one
    on disk, with memory for one block of ``chunk_rows`` rows only.

    Parameters
    ----------
    skim
        Minutes, origins x destinations (in memory or from :func:`read_travel_time_matrix`).
    opportunities
        ``O_j`` per destination id (jobs, population, services); must cover every column.
    beta_per_min
        Decay per minute (>= 0), e.g. 0.05.
    chunk_rows
        Origins per block.

    Returns
    -------
    pandas.Series
        Accessibility per origin, named ``"accessibility"``.

    Raises
    ------
    InputError
        If ``beta_per_min`` is negative, or opportunities are missing for some destination.

    Examples
    --------
    >>> import pandas as pd
    >>> skim = pd.DataFrame([[0.0, 10.0], [10.0, float("nan")]], index=["a", "b"],
    ...                     columns=["a", "b"])
    >>> score_accessibility(skim, pd.Series({"a": 100.0, "b": 50.0}), beta_per_min=0.0).tolist()
    [150.0, 100.0]
    """
    if not (math.isfinite(beta_per_min) and beta_per_min >= 0):
        msg = f"beta_per_min={beta_per_min!r} must be a finite number >= 0, e.g. 0.05"
        raise InputError(msg)
    missing = pd.Index(skim.columns).difference(opportunities.index)
    if len(missing):
        msg = f"opportunities has no value for destinations {missing[:10].tolist()}"
        raise InputError(msg)
    weights = opportunities.reindex(skim.columns).to_numpy(dtype=np.float64)
    out = np.empty(len(skim))
    pos = 0
    for ids, block in iter_skim_rows(skim, chunk_rows=chunk_rows):
        decay = np.exp(-beta_per_min * block)
        decay[np.isnan(block)] = 0.0
        out[pos : pos + len(ids)] = decay @ weights
        pos += len(ids)
    return pd.Series(out, index=skim.index.copy(), name="accessibility")


def _zone_matrix(
    R: RoutingGraph,
    o: pd.DataFrame,
    d: pd.DataFrame,
    *,
    limit: float,
    engine: Engine,
) -> np.ndarray:
    """Node-to-node weights between snapped zones, searching once per distinct node."""
    rows, inv_rows = np.unique(o["pos"].to_numpy(), return_inverse=True)
    cols, inv_cols = np.unique(d["pos"].to_numpy(), return_inverse=True)
    node = _node_matrix(R, rows, cols, limit=limit, engine=engine)
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
        again = travel_time_matrix(
            R_new,
            origins,
            destinations,
            weight=weight,
            cutoff=cutoff,
            access_speed_kph=access_speed_kph,
            workers=workers,
            engine=engine,
        )
        return stored_as(again, matrix_dtype(skim))
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
    to_u = _node_matrix(R_new, us, o["pos"].to_numpy(), limit=limit, engine=engine, backward=True)
    from_v = _node_matrix(R_new, vs, d["pos"].to_numpy(), limit=limit, engine=engine)
    # Work in minutes: a candidate trip via a changed edge costs access + d'(o, u) + w +
    # d'(v, d) + wait + access; the base skim has the same access and wait terms, so the
    # minimum can be taken directly (trips within one zone cannot improve: they need no
    # network at all). NaN (unreachable) in the base loses against any finite candidate.
    new = skim.to_numpy(dtype=matrix_dtype(skim), copy=True)
    a_o = o["access_min"].to_numpy()
    a_d = d["access_min"].to_numpy() + R.wait_min
    rows, cols = _same_zone(o, d)
    for k in range(len(changes)):
        left = to_u[k] / 60.0 + a_o
        right = from_v[k] / 60.0 + a_d + ws[k] / 60.0
        _fmin_by_blocks(new, left, right, rows, cols)
    return _finish_minutes(new, skim.index, skim.columns, cutoff)


def matrix_dtype(matrix: pd.DataFrame) -> type[np.floating[Any]]:
    """Return the storage type of a zone matrix: float32 if all its columns are, else float64.

    Parameters
    ----------
    matrix
        A skim or distances.

    Returns
    -------
    type
        ``numpy.float32`` or ``numpy.float64``.

    Examples
    --------
    >>> matrix_dtype(pd.DataFrame([[0.0]], dtype="float32")).__name__
    'float32'
    """
    dtypes = set(matrix.dtypes)
    return np.float32 if dtypes == {np.dtype(np.float32)} else np.float64


def stored_as(matrix: pd.DataFrame, dtype: type[np.floating[Any]] | str) -> pd.DataFrame:
    """Return a zone matrix stored as ``dtype`` (itself if it already is).

    Parameters
    ----------
    matrix
        A skim or distances.
    dtype
        ``float32`` or ``float64``.

    Returns
    -------
    pandas.DataFrame
        The same labels; a float32 copy of a float64 matrix holds each value rounded to
        about 7 significant digits.

    Examples
    --------
    >>> m = pd.DataFrame([[0.0, 1.5]], index=["a"], columns=["a", "b"])
    >>> stored_as(m, "float32").dtypes.tolist(), stored_as(m, "float64") is m
    ([dtype('float32'), dtype('float32')], True)
    """
    want = np.dtype(dtype)
    if set(matrix.dtypes) == {want}:
        return matrix
    out = pd.DataFrame(
        matrix.to_numpy(dtype=want), index=matrix.index, columns=matrix.columns, copy=False
    )
    out.attrs = dict(matrix.attrs)
    return out


def _fmin_by_blocks(
    new: np.ndarray,
    left: np.ndarray,
    right: np.ndarray,
    rows: np.ndarray,
    cols: np.ndarray,
    *,
    divide: float | None = None,
) -> None:
    """Set ``new`` to ``fmin(new, (left[:, None] + right[None, :]) / divide)`` by row blocks.

    Pairs ``(rows, cols)`` (within one zone) are left alone. The same numbers as on the
    whole matrix, without its zone x zone temporary (#20).
    """
    for a in range(0, len(new), _UPDATE_BLOCK_ROWS):
        b = min(a + _UPDATE_BLOCK_ROWS, len(new))
        cand = left[a:b, None] + right[None, :]
        if divide is not None:
            cand /= divide
        here = (rows >= a) & (rows < b)
        cand[rows[here] - a, cols[here]] = np.inf
        np.fmin(new[a:b], cand, out=new[a:b])


def update_distance_matrix_km(
    km: pd.DataFrame,
    G: nx.MultiDiGraph | RoutingGraph,
    changes: Sequence[EdgeChange],
    *,
    origins: gpd.GeoDataFrame | gpd.GeoSeries,
    weight: str = "length",
    engine: Engine = "auto",
) -> pd.DataFrame:
    """Update zone-to-zone distances after edge changes, searching only from the changes.

    Where every change adds an edge or shortens one, a shortest path of the changed graph
    either avoids the changed edges (its length is in ``km``) or runs o -> u -> v -> d
    through one of them, so ``min(km, access_o + d'(o, u) + w + d'(v, d) + access_d)``
    over the changes is exact; it needs two searches per change instead of one per zone.
    Otherwise the distances are recomputed (:func:`distance_matrix_km`).

    Parameters
    ----------
    km
        The distances of the *base* graph ``G`` (:func:`distance_matrix_km` of
        ``origins`` to themselves).
    G
        The base graph (or its routing graph for ``weight``), without the changes.
    changes
        ``(u, v, metres)``; None removes the edge.
    origins
        The zones (origins and destinations).
    weight, engine
        As for :func:`distance_matrix_km`.

    Returns
    -------
    pandas.DataFrame
        Kilometres on the changed graph (equal to :func:`distance_matrix_km` of it to
        rounding: the sums are taken in another order).

    Raises
    ------
    InputError
        If ``km`` does not match ``origins``, or a change is invalid.

    Examples
    --------
    >>> import geopandas as gpd
    >>> import networkx as nx
    >>> G = nx.MultiDiGraph(crs="epsg:4326")
    >>> for n, x in (("a", 121.0), ("b", 121.05), ("c", 121.1)):
    ...     G.add_node(n, x=x, y=28.6)
    >>> _ = G.add_edge("a", "b", length=6_000.0)
    >>> _ = G.add_edge("b", "c", length=6_000.0)
    >>> z = gpd.GeoDataFrame(index=["A", "C"], crs="EPSG:4326",
    ...                      geometry=gpd.points_from_xy([121.0, 121.1], [28.6, 28.6]))
    >>> km = distance_matrix_km(G, z)
    >>> update_distance_matrix_km(km, G, [("a", "c", 10_000.0)], origins=z).loc["A", "C"]
    np.float64(10.0)
    """
    R = _as_routing(G, weight)
    R_new = apply_edge_changes(R, changes)
    changes = [(a, b, w) for (a, b), w in {(a, b): w for a, b, w in changes}.items()]
    if not (km.index.equals(pd.Index(origins.index)) and km.columns.equals(km.index)):
        msg = "the distances' index/columns do not match origins; pass the same zones"
        raise InputError(msg)
    for a, b, w in changes:
        old = R.csr[R.index[a], R.index[b]]
        if w is None or (old != 0 and w > old):
            logger.info("edge removal or lengthening: recomputing the distances")
            return stored_as(distance_matrix_km(R_new, origins, engine=engine), matrix_dtype(km))
    o = snap_to_nodes(R_new, origins)
    us = np.array([R.index[a] for a, _, _ in changes], dtype=np.int64)
    vs = np.array([R.index[b] for _, b, _ in changes], dtype=np.int64)
    pos = o["pos"].to_numpy()
    to_u = _node_matrix(R_new, us, pos, limit=np.inf, engine=engine, backward=True)
    from_v = _node_matrix(R_new, vs, pos, limit=np.inf, engine=engine)
    access = o["access_m"].to_numpy(dtype=float)
    new = km.to_numpy(dtype=matrix_dtype(km), copy=True)
    rows, cols = _same_zone(o, o)
    for k, (_, _, w) in enumerate(changes):
        left = to_u[k] + access
        right = from_v[k] + access + float(w or 0.0)
        # a trip within a zone uses no network
        _fmin_by_blocks(new, left, right, rows, cols, divide=1000.0)
    new[~np.isfinite(new)] = np.nan
    return _km_frame(new, km.index, km.columns)


def distance_matrix_km(
    G: nx.MultiDiGraph | RoutingGraph,
    origins: gpd.GeoDataFrame | gpd.GeoSeries,
    destinations: gpd.GeoDataFrame | gpd.GeoSeries | None = None,
    *,
    weight: str = "length",
    engine: Engine = "auto",
    workers: int | None = 1,
    scheduler: Any = None,
) -> pd.DataFrame:
    """Shortest network distances in km between zones (access legs included).

    The distance of the shortest path by length, which can differ from the length of the
    fastest path; NaN where unreachable (no warning: :func:`travel_time_matrix` reports
    unreachable pairs). With ``workers`` > 1 or a ``scheduler`` the searches run in chunks
    of origins as the skim's do, giving the same numbers bit for bit.

    Parameters
    ----------
    G
        Street graph with ``weight`` in metres, or its routing graph for that weight.
    origins, destinations
        As for :func:`travel_time_matrix`.
    weight
        Edge attribute in metres.
    engine, workers, scheduler
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
    workers = resolve_workers(workers)
    if workers > 1 or scheduler is not None:
        km = np.empty((len(o), len(d)), dtype=np.float64)
        for a, b, block, _ in _skim_chunks(
            R,
            o,
            d,
            cutoff=None,
            workers=workers,
            scheduler=scheduler,
            engine=engine,
            chunk_size=None,
            max_memory=None,
            dtype="float64",
            km=True,
        ):
            km[a:b] = block
        return _km_frame(km, o.index, d.index)
    km = (
        _zone_matrix(R, o, d, limit=np.inf, engine=engine)
        + o["access_m"].to_numpy()[:, None]
        + d["access_m"].to_numpy()[None, :]
    ) / 1000.0
    km[~np.isfinite(km)] = np.nan
    return _km_frame(km, o.index, d.index)


def _km_frame(km: np.ndarray, index: pd.Index, columns: pd.Index) -> pd.DataFrame:
    out = pd.DataFrame(km, index=index.copy(), columns=columns.copy(), copy=False)
    out.index.name = "origin"
    out.columns.name = "destination"
    return out


def _aligned_lengths(
    R: RoutingGraph, R_length: RoutingGraph, *, backward: bool = False
) -> np.ndarray:
    """Metres of every edge of ``R`` (its ``fwd`` arrays, or ``bwd``), read from ``R_length``.

    Both graphs must come from the same street graph (the same nodes); an edge of ``R``
    gets the length of its link in ``R_length`` (the shortest of parallel edges).
    """
    if len(R.nodes) != len(R_length.nodes) or not np.array_equal(R.nodes, R_length.nodes):
        msg = "the time and length routing graphs have different nodes; build both from one graph"
        raise InputError(msg)
    n = np.int64(len(R.nodes))
    indptr, indices, _ = R.bwd if backward else R.fwd
    l_indptr, l_indices, l_data = R_length.bwd if backward else R_length.fwd
    keys = np.repeat(np.arange(len(indptr) - 1, dtype=np.int64), np.diff(indptr)) * n + indices
    l_keys = (
        np.repeat(np.arange(len(l_indptr) - 1, dtype=np.int64), np.diff(l_indptr)) * n + l_indices
    )
    at = np.searchsorted(l_keys, keys)  # CSR rows with sorted indices: keys are sorted
    at = np.minimum(at, max(len(l_keys) - 1, 0))
    if len(keys) and (len(l_keys) == 0 or not np.array_equal(l_keys[at], keys)):
        msg = "some edges of the time routing graph have no length; give every edge a length"
        raise InputError(msg)
    return np.ascontiguousarray(l_data[at] if len(keys) else l_data[:0], dtype=np.float64)


def _length_csr(R: RoutingGraph, lengths: np.ndarray) -> sp.csr_array:
    """``R.csr``'s pattern with ``lengths`` as data (for the scipy engine)."""
    indptr, indices, _ = R.fwd
    return sp.csr_array((lengths, indices, indptr), shape=R.csr.shape)


def _fused_job(
    R: RoutingGraph,
    R_length: RoutingGraph,
    o: pd.DataFrame,
    *,
    cutoff: float | None,
    engine: Engine,
) -> _SkimJob:
    job = _skim_job(R, o, o, cutoff=cutoff, engine=engine, dtype="float64")
    lengths = _aligned_lengths(R, R_length)
    access_m = o["access_m"].to_numpy(dtype=float)
    return replace(
        job,
        lengths=lengths if job.compiled else _length_csr(R, lengths),
        o_access_m=access_m,
        d_access_m=access_m,
    )


def travel_time_and_distance_matrix(
    G: nx.MultiDiGraph | RoutingGraph,
    G_length: nx.MultiDiGraph | RoutingGraph,
    zones: gpd.GeoDataFrame | gpd.GeoSeries,
    *,
    cutoff: float | None = None,
    access_speed_kph: float = DEFAULT_ACCESS_SPEED_KPH,
    workers: int | None = 1,
    engine: Engine = "auto",
    scheduler: Any = None,
    chunk_size: int | None = None,
    max_memory: int | str | None = None,
    folder: str | Path | None = None,
    dtype: Literal["float32", "float64"] = "float64",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Travel times and the length of the fastest paths between zones, in one search each.

    :func:`travel_time_matrix` and :func:`distance_matrix_km` search the graph twice (by
    time, then by length); this searches once, by time, and sums the lengths along the
    path it finds: the distance that the trips of the skim drive, which is what their
    emissions depend on. It is at least the shortest distance of
    :func:`distance_matrix_km` (equal where the fastest path is the shortest). Among paths
    of equal time, the first one found is kept.

    Parameters
    ----------
    G
        Street graph with ``travel_time`` in seconds (or its :class:`RoutingGraph`).
    G_length
        The same graph's routing graph by ``length`` in metres (or the street graph).
    zones
        Zones (origins and destinations).
    cutoff, access_speed_kph, workers, engine, scheduler, chunk_size
        As for :func:`travel_time_matrix`; beyond ``cutoff`` both are NaN.
    max_memory
        As for :func:`spill_travel_time_matrix`: the minutes stay in memory if they take
        at most half of it, else they are written to ``folder`` and memory-mapped (the
        kilometres stay in memory, as those of :func:`distance_matrix_km` do).
    folder
        New skim folder for spilled minutes (needed only if they are spilled).
    dtype
        How both matrices are stored: ``"float64"`` (the default), or ``"float32"``, half
        the memory (the searches are the same, in float64; each value is then rounded to
        about 7 significant digits, 1e-7 relative), for runs of tens of thousands of zones
        (``[network] matrix_dtype``, #20).

    Returns
    -------
    tuple of pandas.DataFrame
        ``(minutes, km)``, zones x zones; with float64 the minutes equal those of
        :func:`travel_time_matrix` to the bit.

    Raises
    ------
    InputError
        On bad options, graphs with different nodes, or minutes to spill without a folder.

    Examples
    --------
    >>> import geopandas as gpd
    >>> import networkx as nx
    >>> G = nx.MultiDiGraph(crs="epsg:4326")
    >>> for n, x in (("a", 121.0), ("b", 121.05), ("c", 121.1)):
    ...     G.add_node(n, x=x, y=28.6)
    >>> _ = G.add_edge("a", "c", travel_time=900.0, length=10_000.0)  # short, slow
    >>> _ = G.add_edge("a", "b", travel_time=300.0, length=6_000.0)   # long, fast
    >>> _ = G.add_edge("b", "c", travel_time=300.0, length=6_000.0)
    >>> _ = G.add_edge("c", "a", travel_time=900.0, length=10_000.0)
    >>> z = gpd.GeoDataFrame(index=["A", "C"], crs="EPSG:4326",
    ...                      geometry=gpd.points_from_xy([121.0, 121.1], [28.6, 28.6]))
    >>> minutes, km = travel_time_and_distance_matrix(G, G, z)
    >>> float(minutes.loc["A", "C"]), float(km.loc["A", "C"])
    (10.0, 12.0)
    """
    limit_bytes = _check_options(cutoff, max_memory, dtype)
    workers = resolve_workers(workers)
    R = _as_routing(G, "travel_time")
    R_length = _as_routing(G_length, "length")
    o = snap_to_nodes(R, zones, access_speed_kph=access_speed_kph)
    job = _fused_job(R, R_length, o, cutoff=cutoff, engine=engine)
    n = len(o)
    km = np.empty((n, n), dtype=np.dtype(dtype))
    itemsize = np.dtype(dtype).itemsize
    spill = limit_bytes is not None and itemsize * n * n > limit_bytes // 2
    if spill and folder is None:
        msg = (
            f"the {n:,} x {n:,} skim does not fit in max_memory={max_memory!r} and no folder "
            "was given to write it to"
        )
        raise InputError(msg)
    sink = _SkimSink(folder if spill else None, o, o, R, cutoff=cutoff, dtype=dtype)
    n_bad = 0
    with dask_client(scheduler) as client:
        n_workers = workers if client is None else max(1, sum(client.nthreads().values()))
        rows = _chunk_rows(
            job, len(R.nodes), chunk_size=chunk_size, max_memory=limit_bytes, n_workers=n_workers
        )
        bounds = [(a, min(a + rows, n)) for a in range(0, n, rows)]
        results = imap_chunks(
            _skim_km_chunk,
            bounds,
            shared=job,
            workers=workers,
            scheduler=client,
            pool="threads" if job.compiled else "processes",
        )
        with sink:
            for (a, b), (minutes, block_km, bad) in zip(bounds, results, strict=True):
                sink.put(a, minutes)
                km[a:b] = block_km
                n_bad += bad
    _warn_unreachable(n_bad, n * n, cutoff)
    return sink.result(), _km_frame(km, o.index, o.index)


_UPDATE_BLOCK_ROWS = 1024
"""Origin rows of a skim updated at once from a changed edge."""


class _SkimSink:
    """Where the rows of a skim go: a matrix in memory, or a ``.npy`` file (float64)."""

    def __init__(
        self,
        folder: str | Path | None,
        o: pd.DataFrame,
        d: pd.DataFrame,
        R: RoutingGraph,
        *,
        cutoff: float | None,
        dtype: str = "float64",
    ) -> None:
        self.folder = None if folder is None else Path(folder)
        self.index, self.columns = o.index, d.index
        self.file: Any = None
        self.matrix: np.ndarray | None = None
        self.dtype = np.dtype(dtype)
        if self.folder is None:
            self.matrix = np.empty((len(o), len(d)), dtype=self.dtype)
            return
        if self.folder.is_file() or (self.folder.is_dir() and any(self.folder.iterdir())):
            msg = f"skim folder {str(self.folder)!r} exists and is not empty; choose a new folder"
            raise InputError(msg)
        self.ids = {
            "origins": _json_ids(o.index, "origins"),
            "destinations": _json_ids(d.index, "destinations"),
            "unit": "min",
            "dtype": self.dtype.name,
            "cutoff_min": cutoff,
            "weight": R.weight,
            "network_source": R.network_source,
        }
        self.folder.mkdir(parents=True, exist_ok=True)
        header = np.lib.format.open_memmap(
            self.folder / SKIM_FILE, mode="w+", dtype=self.dtype, shape=(len(o), len(d))
        )
        self.offset, self.row_bytes = header.offset, self.dtype.itemsize * len(d)
        del header

    def __enter__(self) -> _SkimSink:
        if self.folder is not None:
            self.file = (self.folder / SKIM_FILE).open("r+b")
        return self

    def __exit__(self, *exc: object) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None

    def put(self, a: int, block: np.ndarray) -> None:
        if self.matrix is not None:
            self.matrix[a : a + len(block)] = block
            return
        self.file.seek(self.offset + a * self.row_bytes)
        self.file.write(np.ascontiguousarray(block, dtype=self.dtype).tobytes())

    def result(self) -> pd.DataFrame:
        if self.matrix is not None:
            return _skim_frame(self.matrix, self.index, self.columns)
        assert self.folder is not None
        (self.folder / SKIM_IDS_FILE).write_text(json.dumps(self.ids), encoding="utf-8")
        return read_travel_time_matrix(self.folder)


def _node_matrix_length(
    R: RoutingGraph,
    lengths: np.ndarray,
    rows: np.ndarray,
    cols: np.ndarray,
    *,
    limit: float,
    engine: Engine,
    backward: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """As :func:`_node_matrix`, with the metres along each path found.

    ``lengths`` are per edge of ``R.fwd``, or of ``R.bwd`` with ``backward``.
    """
    rows = np.ascontiguousarray(rows, dtype=np.int64)
    cols = np.ascontiguousarray(cols, dtype=np.int64)
    distinct, inv = np.unique(cols, return_inverse=True)
    indptr, indices, weights = R.bwd if backward else R.fwd
    if _use_compiled(engine):
        kernel = _dijkstra
        assert kernel is not None
        node = np.empty((len(rows), len(distinct)), dtype=np.float64)
        metres = np.empty_like(node)
        if node.size:
            kernel.many_sources_length(
                indptr, indices, weights, lengths, rows, distinct, node, metres, limit
            )
    else:
        csr = R.csr_t if backward else R.csr
        length_csr = sp.csr_array((lengths, indices, indptr), shape=csr.shape)
        full, pred = dijkstra(
            csr, directed=True, indices=rows, limit=limit, return_predecessors=True
        )
        step = np.zeros(full.shape)
        r, c = np.nonzero(pred >= 0)
        step[r, c] = np.asarray(length_csr[pred[r, c], c]).ravel()
        node = np.asarray(full)[:, distinct]
        metres = _lengths_along(pred, step)[:, distinct]
    inv = inv.ravel()
    return node[:, inv], metres[:, inv]


def update_travel_time_and_distance(
    skim: pd.DataFrame,
    km: pd.DataFrame,
    G: RoutingGraph,
    G_length: RoutingGraph,
    *,
    time_changes: Sequence[EdgeChange],
    length_changes: Sequence[EdgeChange],
    zones: gpd.GeoDataFrame | gpd.GeoSeries,
    cutoff: float | None = None,
    access_speed_kph: float = DEFAULT_ACCESS_SPEED_KPH,
    workers: int | None = 1,
    engine: Engine = "auto",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Update the minutes and fastest-path kilometres of :func:`travel_time_and_distance_matrix`.

    Where every time change adds an edge or speeds one up, a pair whose fastest path got
    faster now runs o -> u -> v -> d through a changed edge (as in
    :func:`update_travel_time_matrix`): its minutes and its kilometres come from the two
    searches per change (one backward to u, one forward from v), each summing the lengths
    along the path it finds. Other pairs keep their path. Otherwise both are recomputed.
    The minutes equal :func:`update_travel_time_matrix`'s; the kilometres equal a
    recomputation's to rounding, except where two paths tie on time.

    Parameters
    ----------
    skim, km
        Minutes and kilometres of the *base* graphs (zones x zones).
    G, G_length
        The base routing graphs by time and by length, without the changes.
    time_changes, length_changes
        ``(u, v, seconds)`` and ``(u, v, metres)``; None removes the edge.
    zones
        The zones of ``skim``.
    cutoff, access_speed_kph, workers, engine
        As for :func:`travel_time_and_distance_matrix`.

    Returns
    -------
    tuple of pandas.DataFrame
        ``(minutes, km)`` on the changed graphs.

    Raises
    ------
    InputError
        If the matrices do not match the zones, or a change is invalid.
    """
    R_new = apply_edge_changes(G, time_changes)
    L_new = apply_edge_changes(G_length, length_changes)
    changes = [(a, b, w) for (a, b), w in {(a, b): w for a, b, w in time_changes}.items()]
    ids = pd.Index(zones.index)
    if not (
        skim.index.equals(ids)
        and skim.columns.equals(ids)
        and km.index.equals(ids)
        and km.columns.equals(ids)
    ):
        msg = "the skim's or distances' index/columns do not match the zones; pass the same zones"
        raise InputError(msg)
    l_changes = {(a, b): w for a, b, w in length_changes}

    def old(R: RoutingGraph, a: Any, b: Any) -> float:
        return float(R.csr[R.index[a], R.index[b]])

    faster = {  # changes that make an edge faster (or add it): every path through it moves
        (a, b) for a, b, w in changes if w is not None and (old(G, a, b) == 0 or w < old(G, a, b))
    }
    incremental = all(
        w is not None and (w == old(G, a, b) or (a, b) in faster) for a, b, w in changes
    )
    # a new length on an edge whose time does not drop changes the kilometres of the paths
    # through it, which only a recomputation sees
    incremental = incremental and all(
        w is not None and (w == old(G_length, a, b) or (a, b) in faster)
        for (a, b), w in l_changes.items()
    )
    if not incremental:
        logger.info("edge removal, slow-down or length-only change: recomputing the skims")
        return travel_time_and_distance_matrix(
            R_new,
            L_new,
            zones,
            cutoff=cutoff,
            access_speed_kph=access_speed_kph,
            workers=workers,
            engine=engine,
            dtype="float32" if matrix_dtype(skim) == np.float32 else "float64",
        )
    o = snap_to_nodes(R_new, zones, access_speed_kph=access_speed_kph)
    limit = np.inf if cutoff is None else cutoff * 60.0
    us = np.array([R_new.index[a] for a, _, _ in changes], dtype=np.int64)
    vs = np.array([R_new.index[b] for _, b, _ in changes], dtype=np.int64)
    ws = np.array([w for *_, w in changes], dtype=float)
    pos = o["pos"].to_numpy()
    to_u, to_u_m = _node_matrix_length(
        R_new,
        _aligned_lengths(R_new, L_new, backward=True),
        us,
        pos,
        limit=limit,
        engine=engine,
        backward=True,
    )
    from_v, from_v_m = _node_matrix_length(
        R_new, _aligned_lengths(R_new, L_new), vs, pos, limit=limit, engine=engine
    )
    edge_m = np.array(
        [float(L_new.csr[L_new.index[a], L_new.index[b]]) for a, b, _ in changes], dtype=float
    )
    new = skim.to_numpy(dtype=matrix_dtype(skim), copy=True)  # float32 stays float32 (#20)
    new_km = km.to_numpy(dtype=matrix_dtype(km), copy=True)
    a_o = o["access_min"].to_numpy()
    a_d = o["access_min"].to_numpy() + G.wait_min
    m_o = o["access_m"].to_numpy(dtype=float)
    rows, cols = _same_zone(o, o)
    for k in range(len(changes)):  # the arithmetic of update_travel_time_matrix for minutes
        left = to_u[k] / 60.0 + a_o
        right = from_v[k] / 60.0 + a_d + ws[k] / 60.0
        right_m = from_v_m[k] + edge_m[k] + m_o
        moves = changes[k][:2] in faster
        # by blocks of origin rows: the candidates never take a whole matrix (#20)
        for a in range(0, len(new), _UPDATE_BLOCK_ROWS):
            b = min(a + _UPDATE_BLOCK_ROWS, len(new))
            cand = left[a:b, None] + right[None, :]
            here = (rows >= a) & (rows < b)
            cand[rows[here] - a, cols[here]] = np.inf
            part = new[a:b]
            if moves:  # no path moves to an edge that got no faster
                better = cand < np.where(np.isnan(part), np.inf, part)
                cand_km = ((to_u_m[k, a:b] + m_o[a:b])[:, None] + right_m[None, :]) / 1000.0
                new_km[a:b][better] = cand_km[better]
            np.fmin(part, cand, out=part)
    if cutoff is not None:
        new[new > cutoff] = np.inf
    new_km[~np.isfinite(new)] = np.nan
    return _finish_minutes(new, skim.index, skim.columns, cutoff), _km_frame(
        new_km, km.index, km.columns
    )
