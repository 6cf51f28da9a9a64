"""Read OpenStreetMap PBF files into osmnx-style street graphs with pyosmium.

Private module behind :func:`urlink.network.streets_from_file`. One pass over the ways with
a ``highway`` tag, with node locations from pyosmium's location index, gives the segments;
ways are filtered by :func:`urlink.network.way_allowed`, one-way rules follow osmnx
(``oneway=yes/true/1``, ``-1``/``reverse``, roundabouts), segment lengths are great-circle
distances, and the graph is simplified with osmnx's ``simplify_graph``.
"""

from __future__ import annotations

import itertools
import logging
from typing import TYPE_CHECKING

import networkx as nx
import numpy as np

from urlink.errors import InputError

if TYPE_CHECKING:
    from pathlib import Path

    from urlink.network import NetworkType

logger = logging.getLogger(__name__)

_KEEP_TAGS = (
    "highway",
    "maxspeed",
    "name",
    "ref",
    "lanes",
    "junction",
    "bridge",
    "tunnel",
    "access",
    "service",
)
_ONEWAY_TRUE = {"yes", "true", "1"}
_ONEWAY_REVERSE = {"-1", "reverse"}


def _way_directions(tags: dict[str, str], *, bidirectional: bool) -> tuple[bool, bool]:
    """(forward, backward) travel allowed on a way, with osmnx's one-way rules."""
    if bidirectional:
        return True, True
    oneway = tags.get("oneway", "")
    if oneway in _ONEWAY_TRUE or tags.get("junction") in ("roundabout", "circular"):
        return True, False
    if oneway in _ONEWAY_REVERSE:
        return False, True
    return True, True


def _read_segments(
    path: Path, network_type: NetworkType
) -> tuple[
    list[int], list[int], list[int], dict[int, dict[str, object]], dict[int, tuple[float, float]]
]:
    """Directed segments (u, v, signed way id), way attributes and node coordinates."""
    import osmium

    from urlink.network import way_allowed

    us: list[int] = []
    vs: list[int] = []
    seg_way: list[int] = []
    way_attrs: dict[int, dict[str, object]] = {}
    coords: dict[int, tuple[float, float]] = {}
    fp = (
        osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY)
        .with_locations()
        .with_filter(osmium.filter.EntityFilter(osmium.osm.WAY))
        .with_filter(osmium.filter.KeyFilter("highway"))
    )
    for way in fp:
        tags = {t.k: t.v for t in way.tags}
        if not isinstance(way, osmium.osm.Way) or not way_allowed(tags, network_type):
            continue
        # None marks a node missing from the extract (clipped data): the way is cut
        # there instead of joining its neighbours with a straight segment
        refs: list[int | None] = []
        for n in way.nodes:
            if n.location.valid():
                refs.append(n.ref)
                coords[n.ref] = (n.location.lon, n.location.lat)
            else:
                refs.append(None)
        forward, backward = _way_directions(tags, bidirectional=network_type == "walk")
        attrs: dict[str, object] = {k: tags[k] for k in _KEEP_TAGS if k in tags}
        attrs["oneway"] = not (forward and backward)
        way_attrs[way.id] = attrs
        for a, b in itertools.pairwise(refs):
            if a is None or b is None or a == b:
                continue
            if forward:
                us.append(a)
                vs.append(b)
                seg_way.append(way.id)
            if backward:
                us.append(b)
                vs.append(a)
                seg_way.append(-way.id)  # negative: reversed direction
    return us, vs, seg_way, way_attrs, coords


def graph_from_pbf(path: Path, *, network_type: NetworkType, simplify: bool) -> nx.MultiDiGraph:
    """Build a street graph from a ``.osm.pbf`` file.

    Parameters
    ----------
    path
        The PBF file.
    network_type
        Which ways to keep (osmnx's filters).
    simplify
        Simplify with osmnx's ``simplify_graph``.

    Returns
    -------
    networkx.MultiDiGraph
        Nodes with ``x``/``y``; edges with ``osmid``, ``length``, ``reversed`` and way tags.

    Raises
    ------
    InputError
        If the file cannot be read.
    """
    from urlink.network import great_circle_m

    try:
        us, vs, seg_way, way_attrs, coords = _read_segments(path, network_type)
    except RuntimeError as err:
        msg = f"OSM file {str(path)!r} could not be read as PBF ({err})"
        raise InputError(msg) from None
    G = nx.MultiDiGraph(crs="epsg:4326")
    used = set(us) | set(vs)
    G.add_nodes_from((n, {"x": coords[n][0], "y": coords[n][1]}) for n in used)
    if us:
        lon_u = np.fromiter((coords[i][0] for i in us), float, len(us))
        lat_u = np.fromiter((coords[i][1] for i in us), float, len(us))
        lon_v = np.fromiter((coords[i][0] for i in vs), float, len(vs))
        lat_v = np.fromiter((coords[i][1] for i in vs), float, len(vs))
        length = great_circle_m(lon_u, lat_u, lon_v, lat_v)
        G.add_edges_from(
            (a, b, {**way_attrs[abs(w)], "osmid": abs(w), "reversed": w < 0, "length": ln})
            for a, b, w, ln in zip(us, vs, seg_way, length.tolist(), strict=True)
        )
    logger.info(
        "%s: %d nodes, %d edges before simplification", path.name, len(G), G.number_of_edges()
    )
    if simplify and G.number_of_edges():
        import osmnx as ox

        G = ox.simplify_graph(G)
    return G
