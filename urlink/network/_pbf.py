"""Read OpenStreetMap PBF files into osmnx-style street graphs with pyosmium.

Private module behind :func:`urlink.network.streets.streets_from_file`. The result is the graph
osmnx builds from the same data with ``graph_from_xml(..., retain_all=True)`` followed by
``simplify_graph`` (same nodes, edges, lengths and attributes), but built from numpy arrays:
osmnx's topology simplification on a networkx graph is the slow part of loading a country
(about 60 % of the time for Malta), so it is done here before any graph object exists.

Steps:

1. One pass over the file with a node-location index: ways with a ``highway`` tag that pass
   :func:`urlink.network.streets.way_allowed`. One-way rules are osmnx's (``_add_paths``): a way is
   one-way if ``oneway`` is one of yes/true/1/-1/reverse/T/F or it is a roundabout (never
   for walking networks); ``-1``/``reverse``/``T`` reverse the node order. A node missing
   from a clipped extract cuts the way there.
2. Directed segments in osmnx's insertion order: per way, its forward segments, then (if
   two-way) the reversed ones, flagged ``reversed=True``.
3. Simplification with osmnx's strict endpoint rules (self-loop; no in- or no out-edges; not
   exactly two neighbours with 2 or 4 incident edges), paths built as in osmnx's
   ``_build_path``, and isolated rings removed.
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import logging
from typing import TYPE_CHECKING, Any

import networkx as nx
import numpy as np
import osmium
import scipy.sparse as sp
import shapely
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from urlink.errors import InputError
from urlink.network.osm import NetworkType, great_circle_m, way_allowed

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path


logger = logging.getLogger(__name__)

# osmnx.settings.useful_tags_way plus the tags the network filters look at
_KEEP_TAGS = (
    "access",
    "duration",
    "area",
    "bridge",
    "est_width",
    "highway",
    "junction",
    "landuse",
    "lanes",
    "maxspeed",
    "name",
    "oneway",
    "ref",
    "service",
    "tunnel",
    "width",
)
_ONEWAY_VALUES = {"yes", "true", "1", "-1", "reverse", "T", "F"}
_REVERSED_VALUES = {"-1", "reverse", "T"}


class _Segments:
    """Directed segments as arrays plus per-way attributes and node coordinates."""

    def __init__(self) -> None:
        self.u: list[int] = []
        self.v: list[int] = []
        self.way: list[int] = []  # index into way_attrs
        self.rev: list[bool] = []
        self.way_attrs: list[dict[str, Any]] = []
        self.coords: dict[int, tuple[float, float]] = {}

    def add_way(
        self, way_id: int, refs: list[int | None], tags: dict[str, str], *, bidirectional: bool
    ) -> None:
        one_way = not bidirectional and (
            tags.get("oneway") in _ONEWAY_VALUES or tags.get("junction") == "roundabout"
        )
        if one_way and tags.get("oneway") in _REVERSED_VALUES:
            refs = refs[::-1]
        # osmnx drops consecutive duplicate nodes
        clean = [r for i, r in enumerate(refs) if i == 0 or r is None or r != refs[i - 1]]
        pairs = [(a, b) for a, b in itertools.pairwise(clean) if a is not None and b is not None]
        if not pairs:
            return
        attrs: dict[str, Any] = {k: tags[k] for k in _KEEP_TAGS if k in tags}
        attrs["osmid"] = way_id
        attrs["oneway"] = one_way
        w = len(self.way_attrs)
        self.way_attrs.append(attrs)
        for a, b in pairs:
            self.u.append(a)
            self.v.append(b)
            self.way.append(w)
            self.rev.append(False)
        if not one_way:
            for a, b in pairs:
                self.u.append(b)
                self.v.append(a)
                self.way.append(w)
                self.rev.append(True)


_NO = frozenset({"no", "private"})


def ferry_allowed(tags: dict[str, str], network_type: NetworkType) -> bool:
    """Tell whether a ``route=ferry`` way carries the network's travellers.

    Scheduled ferries only (``ferry=tourist`` and ``access=no`` routes are left out);
    for ``drive`` networks the ferry must not refuse motor vehicles (``motor_vehicle`` /
    ``motorcar`` = ``yes``, as car ferries are tagged); for ``walk`` it must not refuse
    ``foot``.

    Parameters
    ----------
    tags
        The way's tags.
    network_type
        Which network.

    Returns
    -------
    bool

    Examples
    --------
    >>> ferry_allowed({"route": "ferry", "motor_vehicle": "yes"}, "drive")
    True
    >>> ferry_allowed({"route": "ferry", "motorcar": "no"}, "drive")
    False
    >>> ferry_allowed({"route": "ferry"}, "drive")  # a foot ferry unless tagged otherwise
    False
    >>> ferry_allowed({"route": "ferry", "motorcar": "no"}, "walk")
    True
    """
    if tags.get("route") != "ferry" or tags.get("ferry") == "tourist":
        return False
    if tags.get("access") in _NO:
        return tags.get("foot") == "yes" and network_type in ("walk", "all")
    if network_type in ("walk", "all"):
        return tags.get("foot") not in _NO
    return "yes" in (tags.get("motor_vehicle"), tags.get("motorcar"))


def _read(path: Path, network_type: NetworkType, *, ferries: bool = False) -> _Segments:
    seg = _Segments()
    fp = (
        osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY)
        .with_locations()
        .with_filter(osmium.filter.EntityFilter(osmium.osm.WAY))
        .with_filter(osmium.filter.KeyFilter("highway", "route"))
    )
    for way in fp:
        if not isinstance(way, osmium.osm.Way):
            continue
        tags = {t.k: t.v for t in way.tags}
        if "highway" not in tags:
            if not (ferries and ferry_allowed(tags, network_type)):
                continue
            tags = {**tags, "highway": "ferry"}  # a class of its own (speed, wait)
            tags.pop("oneway", None)  # ferries sail both ways
        elif not way_allowed(tags, network_type):
            continue
        refs: list[int | None] = []
        for n in way.nodes:
            if n.location.valid():
                refs.append(n.ref)
                seg.coords[n.ref] = (n.location.lon, n.location.lat)
            else:  # missing from the extract: cut the way here
                refs.append(None)
        seg.add_way(way.id, refs, tags, bidirectional=network_type == "walk")
    return seg


def _endpoints(n: int, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Osmnx's strict ``_is_endpoint`` for every node at once."""
    indeg = np.bincount(v, minlength=n)
    outdeg = np.bincount(u, minlength=n)
    selfloop = np.zeros(n, dtype=bool)
    selfloop[u[u == v]] = True
    both = np.unique(np.concatenate([u * n + v, v * n + u]))
    neighbours = np.bincount(both // n, minlength=n)
    degree = indeg + outdeg
    two_way_chain = (neighbours == 2) & ((degree == 2) | (degree == 4))
    return np.asarray(selfloop | (indeg == 0) | (outdeg == 0) | ~two_way_chain)


def _components(n: int, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Weakly connected component label of every node (smallest node index)."""
    adj = sp.csr_array((np.ones(len(u)), (u, v)), shape=(n, n))
    return np.asarray(connected_components(adj, directed=True, connection="weak")[1])


def _first_edges(n: int, u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted keys ``u * n + v`` of the distinct (u, v) pairs and each one's first segment."""
    keys, first = np.unique(u * n + v, return_index=True)
    return keys, first


def _successors(n: int, u: np.ndarray, v: np.ndarray, first: np.ndarray) -> list[list[int]]:
    """Successor lists in first-insertion order of the (u, v) pairs, like networkx."""
    order = np.sort(first)  # first segments of distinct pairs, in insertion order
    heads, tails = u[order], v[order]
    by_head = np.argsort(heads, kind="stable")
    ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(heads, minlength=n), out=ptr[1:])
    flat = tails[by_head].tolist()
    bounds = ptr.tolist()
    return [flat[bounds[i] : bounds[i + 1]] for i in range(n)]


def _paths(
    n: int, u: np.ndarray, v: np.ndarray, endpoint: np.ndarray, first: np.ndarray
) -> list[list[int]]:
    """Find the chains between endpoints, as osmnx's ``_get_paths_to_simplify`` does."""
    succ = _successors(n, u, v, first)
    is_end = endpoint.tolist()
    paths = []
    for e in np.flatnonzero(endpoint).tolist():
        for s in succ[e]:
            if not is_end[s]:
                paths.append(_build_path(e, s, succ, is_end))
    return paths


def _build_path(start: int, first: int, succ: list[list[int]], is_end: list[bool]) -> list[int]:
    path = [start, first]
    on_path = {start, first}
    for nxt in succ[first]:
        if nxt in on_path:
            continue
        path.append(nxt)
        on_path.add(nxt)
        cur = nxt
        while not is_end[cur]:
            options = [x for x in succ[cur] if x not in on_path]
            if len(options) == 1:
                cur = options[0]
                path.append(cur)
                on_path.add(cur)
            elif not options:
                if start in succ[cur]:
                    return [*path, start]
                return path
            else:  # pragma: no cover - cannot happen for a non-endpoint
                msg = f"unexpected street pattern near node index {cur} while simplifying"
                raise InputError(msg)
        return path
    return path


def _merge_attrs(parts: list[dict[str, Any]], lengths: list[float]) -> dict[str, Any]:
    """Osmnx's aggregation: length summed; one value kept; several as a sorted list."""
    out: dict[str, Any] = {}
    keys: list[str] = []
    for p in parts:
        keys.extend(k for k in p if k not in keys)
    for k in keys:
        values = [p[k] for p in parts if k in p]
        unique = {repr(x): x for x in values}
        out[k] = values[0] if len(unique) == 1 else [unique[r] for r in sorted(unique)]
    out["length"] = float(sum(lengths))
    return out


def _simplify(
    n: int,
    u: np.ndarray,
    v: np.ndarray,
    *,
    lon: np.ndarray,
    lat: np.ndarray,
    length: list[float],
    attrs: Callable[[int], dict[str, Any]],
    way: list[int],
    rev: list[bool],
) -> tuple[np.ndarray, np.ndarray, list[tuple[int, int, dict[str, Any]]]]:
    """Simplify like osmnx: (alive nodes, kept segment indices, merged edges)."""
    endpoint = _endpoints(n, u, v)
    keys, first = _first_edges(n, u, v)
    paths = _paths(n, u, v, endpoint, first)
    merged: list[tuple[int, int, dict[str, Any]]] = []
    interstitial = np.zeros(n, dtype=bool)
    if paths:
        sizes = np.fromiter((len(p) for p in paths), dtype=np.int64, count=len(paths))
        flat = np.fromiter((x for p in paths for x in p), dtype=np.int64, count=int(sizes.sum()))
        start = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        inner = np.ones(len(flat), dtype=bool)
        inner[start] = False
        inner[start + sizes - 1] = False
        interstitial[flat[inner]] = True
        geoms = shapely.linestrings(
            np.column_stack([lon[flat], lat[flat]]),
            indices=np.repeat(np.arange(len(paths)), sizes),
        )
        # the first segment of each consecutive node pair along every path
        pair = np.ones(len(flat), dtype=bool)
        pair[start + sizes - 1] = False
        a, b = flat[pair], flat[np.flatnonzero(pair) + 1]
        seg = first[np.searchsorted(keys, a * n + b)]
        seg_start = np.concatenate([[0], np.cumsum(sizes - 1)[:-1]])
        way_arr = np.asarray(way)[seg]
        rev_arr = np.asarray(rev)[seg]
        len_sum = np.add.reduceat(np.asarray(length)[seg], seg_start)
        one_way = (
            np.maximum.reduceat(way_arr, seg_start) == np.minimum.reduceat(way_arr, seg_start)
        ) & (np.maximum.reduceat(rev_arr, seg_start) == np.minimum.reduceat(rev_arr, seg_start))
        seg_list = seg.tolist()
        bounds = [*seg_start.tolist(), len(seg_list)]
        for k, (p, geom) in enumerate(zip(paths, geoms, strict=True)):
            if one_way[k]:  # a chain inside one way: its attributes, summed length
                data = attrs(seg_list[bounds[k]])
                data["length"] = float(len_sum[k])
            else:
                edges = seg_list[bounds[k] : bounds[k + 1]]
                data = _merge_attrs([attrs(i) for i in edges], [length[i] for i in edges])
            data["geometry"] = geom
            merged.append((p[0], p[-1], data))
    keep_edges = np.flatnonzero(~interstitial[u] & ~interstitial[v])
    alive = ~interstitial
    # remove components of the simplified graph that are rings without any endpoint
    nu = np.concatenate([u[keep_edges], np.array([e[0] for e in merged], dtype=np.int64)])
    nv = np.concatenate([v[keep_edges], np.array([e[1] for e in merged], dtype=np.int64)])
    new_end = _endpoints(n, nu, nv) & alive
    label = _components(n, nu, nv)
    has_end = np.zeros(n, dtype=bool)
    has_end[label[new_end]] = True
    alive &= has_end[label]
    keep_edges = keep_edges[alive[u[keep_edges]]]
    return alive, keep_edges, [e for e in merged if alive[e[0]]]


@contextlib.contextmanager
def _no_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while building a graph.

    Building creates no reference cycles, and the collector's full passes over hundreds of
    thousands of new dicts otherwise cost up to a third of the time.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def graph_from_pbf(
    path: Path, *, network_type: NetworkType, simplify: bool, ferries: bool = False
) -> nx.MultiDiGraph:
    """Build a street graph from a ``.osm.pbf`` file (see :func:`_graph_from_pbf`)."""
    with _no_gc():
        return _graph_from_pbf(path, network_type=network_type, simplify=simplify, ferries=ferries)


def _graph_from_pbf(
    path: Path, *, network_type: NetworkType, simplify: bool, ferries: bool = False
) -> nx.MultiDiGraph:
    """Build a street graph from a ``.osm.pbf`` file.

    Parameters
    ----------
    path
        The PBF file.
    network_type
        Which ways to keep (osmnx's filters).
    simplify
        Merge chains of interstitial nodes as osmnx's ``simplify_graph`` does.
    ferries
        Keep ``route=ferry`` ways that carry the network's travellers
        (:func:`ferry_allowed`) as edges with ``highway="ferry"``.

    Returns
    -------
    networkx.MultiDiGraph
        Nodes with ``x``/``y``; edges with ``osmid``, ``oneway``, ``reversed``, ``length``
        (metres, great-circle), way tags and, for merged edges, ``geometry``.

    Raises
    ------
    InputError
        If the file cannot be read.
    """
    try:
        seg = _read(path, network_type, ferries=ferries)
    except RuntimeError as err:
        msg = f"OSM file {str(path)!r} could not be read as PBF ({err})"
        raise InputError(msg) from None
    G = nx.MultiDiGraph(crs="epsg:4326")
    if not seg.u:
        return G
    ids, inverse = np.unique(np.array(seg.u + seg.v, dtype=np.int64), return_inverse=True)
    m = len(seg.u)
    u, v = inverse[:m].astype(np.int64), inverse[m:].astype(np.int64)
    n = len(ids)
    lon = np.array([seg.coords[i][0] for i in ids.tolist()])
    lat = np.array([seg.coords[i][1] for i in ids.tolist()])
    length = great_circle_m(lon[u], lat[u], lon[v], lat[v]).tolist()
    way = seg.way
    rev = seg.rev

    def attrs(i: int) -> dict[str, Any]:
        return {**seg.way_attrs[way[i]], "reversed": rev[i], "length": length[i]}

    alive = np.ones(n, dtype=bool)
    keep_edges = np.arange(m)
    merged: list[tuple[int, int, dict[str, Any]]] = []
    if simplify:
        alive, keep_edges, merged = _simplify(
            n, u, v, lon=lon, lat=lat, length=length, attrs=attrs, way=way, rev=rev
        )
    id_list = ids.tolist()
    G.add_nodes_from(
        (id_list[i], {"y": float(lat[i]), "x": float(lon[i])})
        for i in np.flatnonzero(alive).tolist()
    )
    edges = [
        (a, b, attrs(i))
        for i, a, b in zip(
            keep_edges.tolist(), u[keep_edges].tolist(), v[keep_edges].tolist(), strict=True
        )
    ]
    edges += merged
    _add_edges_fast(G, [(id_list[a], id_list[b], d) for a, b, d in edges])
    if ferries:
        _connect_ferries(G)
    G.graph["simplified"] = simplify
    logger.info("%s: %d nodes, %d edges (%d segments read)", path.name, len(G), len(edges), m)
    return G


FERRY_LINK_MAX_M = 1000.0
"""A ferry end farther than this from every road stays unconnected (a terminal off the map)."""


def _connect_ferries(G: nx.MultiDiGraph) -> None:
    """Join ferry ends that touch no road to the nearest road node (within 1 km).

    In OSM a ferry route often ends on the quay a few metres from the road, not on a road
    node; the link (``highway="ferry_link"``, both ways, straight-line length) is what a
    driver or walker covers on the quay.
    """
    ferry_nodes: set[int] = set()
    road_nodes: set[int] = set()
    for a, b, d in G.edges(data=True):
        (ferry_nodes if d.get("highway") == "ferry" else road_nodes).update((a, b))
    ends = sorted(ferry_nodes - road_nodes)
    roads = sorted(road_nodes)
    if not ends or not roads:
        return
    size: dict[int, int] = {}
    road_graph = G.edge_subgraph(
        (a, b, k) for a, b, k, d in G.edges(keys=True, data=True) if d.get("highway") != "ferry"
    )
    for part in nx.strongly_connected_components(road_graph):
        size.update(dict.fromkeys(part, len(part)))
    xy = np.array([(G.nodes[r]["x"], G.nodes[r]["y"]) for r in roads])
    scale = np.cos(np.radians(float(np.mean(xy[:, 1]))))
    tree = cKDTree(np.column_stack([xy[:, 0] * scale, xy[:, 1]]))
    for end in ends:
        x, y = G.nodes[end]["x"], G.nodes[end]["y"]
        near = tree.query_ball_point([x * scale, y], r=FERRY_LINK_MAX_M / 111_320.0)
        if not near:
            continue
        cand = np.asarray(near, dtype=np.int64)
        dist = great_circle_m(
            np.full(len(cand), x), np.full(len(cand), y), xy[cand, 0], xy[cand, 1]
        )
        # the quay road of the largest street network in reach, nearest first
        best = min(range(len(cand)), key=lambda i: (-size[roads[cand[i]]], float(dist[i])))
        r, d_m = roads[int(cand[best])], float(dist[best])
        if d_m > FERRY_LINK_MAX_M:
            continue
        link = {"highway": "ferry_link", "osmid": -1, "oneway": False, "length": d_m}
        G.add_edge(end, r, **link, reversed=False)
        G.add_edge(r, end, **link, reversed=True)


def _add_edges_fast(G: nx.MultiDiGraph, edges: list[tuple[int, int, dict[str, Any]]]) -> None:
    """Add edges (both nodes already in ``G``) with keys 0, 1, ... per (u, v).

    The same result as ``G.add_edges_from(edges)``, written straight into networkx's
    adjacency dictionaries: the public method costs about a second per 100,000 edges in
    lookups this construction does not need. Falls back to the public method if networkx
    ever changes its internals.
    """
    succ = getattr(G, "_succ", None)
    pred = getattr(G, "_pred", None)
    if not isinstance(succ, dict) or not isinstance(pred, dict):  # pragma: no cover
        G.add_edges_from(edges)
        return
    new_keydict = G.edge_key_dict_factory
    for a, b, data in edges:
        keydict = succ[a].get(b)
        if keydict is None:
            keydict = new_keydict()
            succ[a][b] = keydict
            pred[b][a] = keydict
        keydict[len(keydict)] = data
