"""Street networks: OpenStreetMap files or downloads, speeds, modes, and a proxy network.

Graphs are osmnx-style :class:`networkx.MultiDiGraph` objects: nodes carry ``x`` and ``y``
(WGS84 longitude and latitude), edges carry ``length`` (metres), ``highway``, ``speed_kph``
and ``travel_time`` (seconds).

Graph attributes (``G.graph``), documented once here:

``crs``
    ``"epsg:4326"`` (node coordinates are longitude/latitude).
``network_source``
    ``"osm:<file name>"``, ``"osm-download"`` or ``"proxy"``. Every output that derives from
    the network repeats it, so an approximate network is never mistaken for a real one.
``network_type``
    ``"drive"``, ``"drive_service"``, ``"walk"`` or ``"all"`` (which OSM ways were kept).
``mode``
    Travel mode of ``travel_time``: ``"drive"``, ``"walk"`` or ``"bus"``.
``wait_min``
    Mean waiting time (minutes) added once per trip by
    :func:`urlink.network.skims.travel_time_matrix`
    (``headway / 2`` for the bus mode, else 0).
``components``
    Number of weakly connected components (all are kept; see :func:`report_components`).

Edge attributes in addition to osmnx's: ``link_class`` on proxy edges (the road class the
link stands for) and ``network_source`` on every edge.
"""

from __future__ import annotations

import bz2
import contextlib
import gzip
import hashlib
import json
import logging
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal, get_args

import geopandas as gpd
import networkx as nx
import numpy as np
import osmnx as ox
import pandas as pd
import shapely
from scipy.spatial import Delaunay, cKDTree

from urlink import validate
from urlink.errors import InputError
from urlink.network._pbf import graph_from_pbf
from urlink.network.osm import (
    FILTER_TAGS,
    NetworkType,
    check_network_type,
    great_circle_m,
    osm_minutes,
    way_allowed,
)
from urlink.validate import check_file_size

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping

    from shapely.geometry.base import BaseGeometry

__all__ = [
    "DEFAULT_CIRCUITY",
    "DEFAULT_SPEEDS_KPH",
    "NetworkType",
    "SpeedParams",
    "TravelMode",
    "add_travel_times",
    "default_link_class",
    "report_components",
    "streets_from_file",
    "streets_from_points",
    "streets_from_polygon",
    "way_allowed",
]

logger = logging.getLogger(__name__)

TravelMode = Literal["drive", "walk", "bus"]

DEFAULT_SPEEDS_KPH: dict[str, float] = {
    "motorway": 100.0,
    "motorway_link": 50.0,
    "trunk": 80.0,
    "trunk_link": 40.0,
    "primary": 60.0,
    "primary_link": 40.0,
    "secondary": 50.0,
    "secondary_link": 30.0,
    "tertiary": 40.0,
    "tertiary_link": 25.0,
    "unclassified": 30.0,
    "residential": 25.0,
    "living_street": 10.0,
    "service": 15.0,
    "road": 25.0,
    "track": 15.0,
}
"""Free-flow speed (km/h) per OSM highway class for China, used where ``maxspeed`` is missing.

Design speeds from the Chinese standards, taking the middle of each class's range: JTG
B01-2014 *Technical Standard of Highway Engineering* (expressway 120/100/80, class I
100/80/60, class II 80/60, class III 40/30, class IV 30/20 km/h) and CJJ 37-2012 *Code for
Design of Urban Road Engineering* (expressway 100/80/60, arterial 60/50/40, sub-arterial
50/40/30, branch 40/30/20 km/h). The mapping of OSM classes to these classes and the link
speeds are urlink's; see ``docs/network.md``. Design speeds are upper bounds of free-flow
speed; override them per scenario where local data exist.
"""

DEFAULT_CIRCUITY = 1.3
"""Network distance / great-circle distance for proxy links (see ``docs/network.md``)."""


@dataclass(frozen=True, slots=True)
class SpeedParams:
    """Speeds of the travel modes.

    Attributes
    ----------
    speeds_kph
        Free-flow speed per highway class where ``maxspeed`` is missing
        (default :data:`DEFAULT_SPEEDS_KPH`).
    fallback_kph
        Speed of classes not in ``speeds_kph`` when no edge of that class has ``maxspeed``.
    walk_kph
        Walking speed (default 4.5 km/h; see ``docs/network.md``).
    bus_speed_factor
        Bus speed as a share of the road's car speed (default 0.6, an assumption; see
        ``docs/network.md``).
    bus_headway_min
        Minutes between buses; half of it is the mean wait added per trip.
    ferry_kph
        Speed of a ferry edge without a ``duration`` tag (default 15 km/h, an estimate from
        the Gozo Channel crossing: about 25 minutes for about 6 km; see ``docs/network.md``).
    ferry_wait_min
        Wait added to every ferry edge (default 22.5 min: half the 45-minute daytime
        interval of the Gozo Channel timetable, an estimate).
    """

    speeds_kph: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_SPEEDS_KPH))
    fallback_kph: float = 30.0
    walk_kph: float = 4.5
    bus_speed_factor: float = 0.6
    bus_headway_min: float = 20.0
    ferry_kph: float = 15.0
    ferry_wait_min: float = 22.5

    def __post_init__(self) -> None:
        """Check that every speed is positive and the bus factor is in (0, 1]."""
        for name, v in self.speeds_kph.items():
            if not (isinstance(v, int | float) and v > 0 and math.isfinite(v)):
                msg = f"speeds_kph[{name!r}] = {v!r} must be a positive number (km/h)"
                raise InputError(msg)
        if not (self.ferry_wait_min >= 0 and math.isfinite(self.ferry_wait_min)):
            msg = f"ferry_wait_min = {self.ferry_wait_min!r} must be a number of minutes >= 0"
            raise InputError(msg)
        for name in ("fallback_kph", "walk_kph", "bus_headway_min", "ferry_kph"):
            v = getattr(self, name)
            if not (v > 0 and math.isfinite(v)):
                msg = f"{name} = {v!r} must be a positive number"
                raise InputError(msg)
        if not 0 < self.bus_speed_factor <= 1:
            msg = f"bus_speed_factor = {self.bus_speed_factor!r} must be in (0, 1]"
            raise InputError(msg)


def _first(value: object) -> object:
    return value[0] if isinstance(value, list) else value


_MAXSPEED_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(mph|km/h|kmh|kph)?\s*$")


def _parse_maxspeed(value: object) -> float:
    """Parse an OSM ``maxspeed`` (number, "50", "30 mph", list) to km/h, NaN if unusable."""
    if isinstance(value, list):
        parsed = [_parse_maxspeed(v) for v in value]
        good = [p for p in parsed if math.isfinite(p)]
        return float(np.mean(good)) if good else math.nan
    if isinstance(value, int | float):
        return float(value) if value > 0 else math.nan
    if not isinstance(value, str):
        return math.nan
    m = _MAXSPEED_RE.match(value.split(";")[0])
    if not m:
        return math.nan
    speed = float(m.group(1))
    return speed * 1.609344 if m.group(2) == "mph" else speed


def _hashable(value: object) -> object:
    return tuple(value) if isinstance(value, list) else value


def _class_speed(highway: object, table: Mapping[str, float]) -> float:
    """Table speed of a highway class; for merged edges (a list) the mean of the classes."""
    classes = highway if isinstance(highway, list) else [highway]
    speeds = [table[c] for c in classes if isinstance(c, str) and c in table]
    return sum(speeds) / len(speeds) if speeds else math.nan


def add_travel_times(  # noqa: PLR0912 -- one pass over the edges, mode by mode
    G: nx.MultiDiGraph,
    *,
    mode: TravelMode = "drive",
    params: SpeedParams | None = None,
) -> nx.MultiDiGraph:
    """Return ``G`` with ``speed_kph`` and ``travel_time`` (seconds) on every edge.

    ``drive``: the edge's ``maxspeed`` where tagged (mph converted), else the speed of its
    highway class from ``params.speeds_kph`` (the documented table), else
    ``params.fallback_kph``. Unlike osmnx's ``add_edge_speeds``, untagged edges never get
    the mean of other edges' tags: the documented table is used, so results do not depend on
    how many roads happen to be tagged. ``walk``: ``params.walk_kph`` on every edge. ``bus``: drive
    speed times ``params.bus_speed_factor``, and ``G.graph["wait_min"]`` = headway / 2.

    Parameters
    ----------
    G
        Graph with ``length`` (m) and ``highway`` on every edge; modified in place and
        returned.
    mode
        ``"drive"``, ``"walk"`` or ``"bus"``.
    params
        Speeds; :class:`SpeedParams` defaults if None.

    Returns
    -------
    networkx.MultiDiGraph
        The same graph.

    Raises
    ------
    InputError
        If ``mode`` is unknown or an edge lacks a usable ``length``.

    Examples
    --------
    >>> G = nx.MultiDiGraph()
    >>> _ = G.add_edge(1, 2, length=1000.0, highway="primary")
    >>> _ = G.add_edge(2, 1, length=1000.0, highway="primary", maxspeed="30")
    >>> G = add_travel_times(G)
    >>> G.edges[1, 2, 0]["travel_time"], G.edges[2, 1, 0]["travel_time"]
    (60.0, 120.0)
    """
    if mode not in get_args(TravelMode):
        msg = f"mode={mode!r} is not valid; use one of {get_args(TravelMode)}"
        raise InputError(msg)
    p = params if params is not None else SpeedParams()
    data = [d for _, _, d in G.edges(data=True)]
    if not data:
        G.graph.update(mode=mode, wait_min=0.0)
        return G
    length = np.array([d.get("length", np.nan) for d in data], dtype=float)
    bad = ~np.isfinite(length) | (length < 0)
    if bad.any():
        u, v, k = list(G.edges(keys=True))[int(np.flatnonzero(bad)[0])]
        msg = (
            f"edge ({u!r}, {v!r}, {k!r}) has no valid 'length' (metres); "
            f"{int(bad.sum())} such edges"
        )
        raise InputError(msg)
    if mode == "walk":
        speed = np.full(len(data), p.walk_kph)
    else:
        # few distinct tag values: parse each once
        speed_of: dict[object, float] = {}
        values = []
        for d in data:
            key = (_hashable(d.get("maxspeed")), _hashable(d.get("highway")))
            s = speed_of.get(key)
            if s is None:
                s = _parse_maxspeed(d.get("maxspeed"))
                if not math.isfinite(s):
                    s = _class_speed(d.get("highway"), p.speeds_kph)
                if not math.isfinite(s):
                    s = p.fallback_kph
                speed_of[key] = s
            values.append(s)
        speed = np.array(values, dtype=float)
        if mode == "bus":
            speed = speed * p.bus_speed_factor
    travel_time = length * 3.6 / speed
    ferry = np.array([_first(d.get("highway")) == "ferry" for d in data])
    if ferry.any():
        # a ferry sails at its timetable speed whatever the mode; its wait is added once
        for i in np.flatnonzero(ferry).tolist():
            minutes = osm_minutes(_first(data[i].get("duration")))
            speed[i] = length[i] * 0.06 / minutes if minutes > 0 else p.ferry_kph
            travel_time[i] = length[i] * 3.6 / speed[i] + p.ferry_wait_min * 60.0
    for d, s, t in zip(data, speed.tolist(), travel_time.tolist(), strict=True):
        d["speed_kph"] = s
        d["travel_time"] = t
    G.graph["mode"] = mode
    G.graph["wait_min"] = p.bus_headway_min / 2.0 if mode == "bus" else 0.0
    return G


def default_link_class(a: pd.Series, b: pd.Series) -> str:
    """Road class a proxy link stands for, from the levels of the two zones it joins.

    county-county: ``trunk``; county-township: ``primary``; township-township:
    ``secondary`` if both are sub-districts or towns (街道/镇), else ``tertiary``
    (townships 乡 are rural).

    Parameters
    ----------
    a, b
        The two zone rows (``level`` and, for townships, ``unit_type``).

    Returns
    -------
    str
        An OSM highway class, looked up in the speed table.
    """
    levels = {a.get("level"), b.get("level")}
    if levels == {"county"}:
        return "trunk"
    if "county" in levels:
        return "primary"
    urban = {"街道", "镇"}
    if a.get("unit_type") in urban and b.get("unit_type") in urban:
        return "secondary"
    return "tertiary"


def _gabriel_edges(xy: np.ndarray, tri: Delaunay) -> set[tuple[int, int]]:
    """Delaunay edges whose diametral circle holds no other point (the Gabriel graph)."""
    edges = set()
    for simplex in tri.simplices:
        for i in range(3):
            a, b = sorted((int(simplex[i]), int(simplex[(i + 1) % 3])))
            edges.add((a, b))
    tree = cKDTree(xy)
    keep = set()
    for a, b in edges:
        mid = (xy[a] + xy[b]) / 2.0
        r = np.linalg.norm(xy[a] - xy[b]) / 2.0
        inside = [i for i in tree.query_ball_point(mid, r * (1 - 1e-9)) if i not in (a, b)]
        if not inside:
            keep.add((a, b))
    return keep


def streets_from_points(
    points: gpd.GeoDataFrame,
    *,
    method: Literal["gabriel", "delaunay"] = "gabriel",
    circuity: float = DEFAULT_CIRCUITY,
    params: SpeedParams | None = None,
    link_class: Callable[[pd.Series, pd.Series], str] = default_link_class,
) -> nx.MultiDiGraph:
    """Build a proxy road network between zone seats when no OSM data is available.

    Nodes are the points (ids from the index; ``x``/``y`` WGS84). Links join neighbours of a
    Gabriel (default) or Delaunay graph of the points, both directions; each link's length is
    the great-circle distance times ``circuity``, its ``highway`` class comes from
    ``link_class`` and its speed from ``params.speeds_kph``. Every edge and the graph carry
    ``network_source = "proxy"``.

    Parameters
    ----------
    points
        Points indexed by id in a metric CRS (for the triangulation), with ``seat_lon`` and
        ``seat_lat`` or a geometry; zones frames are accepted (their seats are used).
    method
        ``"gabriel"`` (sparser, no long links across a neighbour) or ``"delaunay"``.
    circuity
        Ratio of road to great-circle distance (>= 1).
    params
        Speeds; :class:`SpeedParams` defaults if None.
    link_class
        Callable ``(row_a, row_b) -> highway class``.

    Returns
    -------
    networkx.MultiDiGraph
        The proxy network with ``length``, ``highway``, ``link_class``, ``speed_kph``,
        ``travel_time``.

    Raises
    ------
    InputError
        With fewer than 3 points, collinear points, ``circuity < 1`` or an unknown method.
    """
    if method not in ("gabriel", "delaunay"):
        msg = f"method={method!r} is not valid; use 'gabriel' or 'delaunay'"
        raise InputError(msg)
    if not (circuity >= 1.0 and math.isfinite(circuity)):
        msg = f"circuity={circuity!r} must be >= 1 (road distance >= straight-line distance)"
        raise InputError(msg)
    if len(points) < 3:
        msg = f"a proxy network needs at least 3 points, got {len(points)}"
        raise InputError(msg)
    if "seat_lon" in points.columns:
        lon = points["seat_lon"].to_numpy(float)
        lat = points["seat_lat"].to_numpy(float)
        seats = gpd.GeoSeries(gpd.points_from_xy(lon, lat), crs="EPSG:4326")
        seats = seats.to_crs(points.crs)
        xy = np.column_stack([seats.x, seats.y])
    else:
        xy = np.column_stack([points.geometry.x, points.geometry.y])
        ll = points.geometry.to_crs("EPSG:4326")
        lon, lat = ll.x.to_numpy(), ll.y.to_numpy()
    try:
        tri = Delaunay(xy)
    except Exception as err:  # scipy raises QhullError for degenerate input
        msg = f"cannot triangulate the {len(points)} points (are they collinear?): {err}"
        raise InputError(msg) from None
    if method == "gabriel":
        pairs = _gabriel_edges(xy, tri)
    else:
        pairs = {
            (min(int(s[i]), int(s[(i + 1) % 3])), max(int(s[i]), int(s[(i + 1) % 3])))
            for s in tri.simplices
            for i in range(3)
        }
    p = params if params is not None else SpeedParams()
    G = nx.MultiDiGraph(
        crs="epsg:4326",
        network_source="proxy",
        network_type="drive",
        circuity=circuity,
        proxy_method=method,
    )
    ids = list(points.index)
    for i, zid in enumerate(ids):
        G.add_node(zid, x=float(lon[i]), y=float(lat[i]))
    rows = [points.iloc[i] for i in range(len(ids))]
    for a, b in sorted(pairs):
        gc = float(
            great_circle_m(lon[a : a + 1], lat[a : a + 1], lon[b : b + 1], lat[b : b + 1])[0]
        )
        cls = link_class(rows[a], rows[b])
        for u, v in ((a, b), (b, a)):
            G.add_edge(
                ids[u],
                ids[v],
                length=gc * circuity,
                great_circle_m=gc,
                highway=cls,
                link_class=cls,
                network_source="proxy",
                oneway=False,
            )
    add_travel_times(G, mode="drive", params=p)
    G.graph["components"] = nx.number_weakly_connected_components(G)
    logger.info(
        "proxy network (%s): %d nodes, %d directed links", method, len(G), G.number_of_edges()
    )
    return G


def report_components(G: nx.MultiDiGraph) -> pd.DataFrame:
    """List the strongly connected components of a street graph, largest first.

    A component other than the largest means some places cannot reach (or cannot be reached
    from) the rest: a disconnected village, an island without a ferry, or a one-way trap.
    Nothing is dropped; skims report such pairs as unreachable.

    Parameters
    ----------
    G
        A street graph.

    Returns
    -------
    pandas.DataFrame
        One row per strongly connected component: ``n_nodes``, ``weak_component`` (id of the
        weakly connected component it belongs to), ``kind`` (``"main"``, ``"disconnected"``:
        no link at all to the main part, ``"one-way trap"``: linked but not both ways) and
        ``example_node``.

    Examples
    --------
    >>> G = nx.MultiDiGraph([(1, 2), (2, 1), (2, 3), (4, 5), (5, 4)])
    >>> report_components(G)[["n_nodes", "kind"]].to_dict("list")
    {'n_nodes': [2, 2, 1], 'kind': ['main', 'disconnected', 'one-way trap']}
    """
    weak_of: dict[object, int] = {}
    weak = sorted(nx.weakly_connected_components(G), key=lambda c: (-len(c), min(map(str, c))))
    for i, comp in enumerate(weak):
        for n in comp:
            weak_of[n] = i
    strong = sorted(nx.strongly_connected_components(G), key=lambda c: (-len(c), min(map(str, c))))
    rows = []
    for i, comp in enumerate(strong):
        w = weak_of[next(iter(comp))]
        if i == 0:
            kind = "main"
        elif w != weak_of[next(iter(strong[0]))]:
            kind = "disconnected"
        else:
            kind = "one-way trap"
        rows.append(
            {
                "n_nodes": len(comp),
                "weak_component": w,
                "kind": kind,
                "example_node": min(comp, key=str),
            }
        )
    out = pd.DataFrame(rows)
    n_bad = int((out["kind"] != "main").sum()) if len(out) else 0
    if n_bad:
        logger.warning(
            "street graph has %d strongly connected components besides the main "
            "one (%d nodes); pairs involving them may be unreachable",
            n_bad,
            int(out.loc[out["kind"] != "main", "n_nodes"].sum()),
        )
    return out


# ---------------------------------------------------------------------------------------------
# Loading OpenStreetMap data


_PROLOG_LIMIT = 1 << 20
"""How far into an OSM XML file the root element must start (bytes, after decompression)."""


def _check_xml_safe(path: Path) -> None:
    """Refuse OSM XML with a DOCTYPE or entity declarations (entity-expansion attacks).

    Declarations can only come before the root element, so the prolog (everything before
    ``<osm``) is scanned, however long; a file whose root element does not start within
    the first MiB is not OSM XML.
    """
    opener = bz2.open if path.suffix == ".bz2" else open
    prolog = b""
    try:
        with opener(path, "rb") as fh:
            while len(prolog) < _PROLOG_LIMIT:
                chunk = fh.read(1 << 16)
                if not chunk:
                    break
                prolog += chunk
                if b"<osm" in prolog:
                    break
    except (OSError, EOFError, ValueError) as err:
        msg = f"OSM file {str(path)!r} could not be read ({err}); is it a valid .osm/.osm.bz2?"
        raise InputError(msg) from None
    root = prolog.find(b"<osm")
    head = (prolog if root < 0 else prolog[:root]).upper()
    if b"<!DOCTYPE" in head or b"<!ENTITY" in head:
        msg = (
            f"OSM file {str(path)!r} declares a DOCTYPE or XML entities, which urlink refuses "
            "(they can expand without bound or read other files); export the data again "
            "without them (osmium cat, or a fresh download)"
        )
        raise InputError(msg)
    if root < 0:
        msg = (
            f"OSM file {str(path)!r} is not OSM XML (no <osm> root element in the first "
            "MiB); use an .osm, .osm.bz2 or .osm.pbf export"
        )
        raise InputError(msg)


def _check_expanded_size(path: Path) -> None:
    """Refuse a compressed OSM file that expands beyond :data:`urlink.validate.MAX_OSM_BYTES`.

    The file is decompressed in a stream and counted, never held: a decompression bomb (a
    small ``.osm.bz2`` expanding to many GB) is refused before the XML parser reads it.
    """
    if path.suffix != ".bz2":
        return
    limit = int(validate.MAX_OSM_BYTES)
    size = 0
    try:
        with bz2.open(path, "rb") as fh:
            while chunk := fh.read(1 << 20):
                size += len(chunk)
                if size > limit:
                    msg = (
                        f"OSM file {str(path)!r} expands to more than {limit / 2**20:,.0f} MiB "
                        "when decompressed (urlink.validate.MAX_OSM_BYTES); clip it to the "
                        "study area (osmium extract) or use an .osm.pbf export"
                    )
                    raise InputError(msg)
    except (OSError, EOFError, ValueError) as err:
        msg = f"OSM file {str(path)!r} could not be read ({err}); is it a valid .osm.bz2?"
        raise InputError(msg) from None


@contextlib.contextmanager
def _osmnx_way_tags(extra: list[str]) -> Iterator[None]:

    before = list(ox.settings.useful_tags_way)
    ox.settings.useful_tags_way = sorted(set(before) | set(extra))
    try:
        yield
    finally:
        ox.settings.useful_tags_way = before


def _filter_edges(G: nx.MultiDiGraph, network_type: NetworkType) -> nx.MultiDiGraph:
    drop = []
    for u, v, k, d in G.edges(keys=True, data=True):
        tags = {t: str(_first(d[t])) for t in ("highway", *FILTER_TAGS) if t in d}
        if not way_allowed(tags, network_type):
            drop.append((u, v, k))
    G.remove_edges_from(drop)
    G.remove_nodes_from([n for n in list(G.nodes) if G.degree(n) == 0])
    return G


def _sorted_lists(G: nx.MultiDiGraph) -> nx.MultiDiGraph:
    """Sort list-valued edge attributes so that every run gives the same graph.

    osmnx merges the values of simplified edges in set order, which varies between Python
    processes (string hashing is randomised).
    """
    for _, _, d in G.edges(data=True):
        for k, val in d.items():
            if isinstance(val, list):
                d[k] = sorted(val, key=repr)
    return G


def _finish_graph(
    G: nx.MultiDiGraph,
    *,
    source: str,
    network_type: NetworkType,
    mode: TravelMode,
    params: SpeedParams | None,
) -> nx.MultiDiGraph:
    if next(iter(G.edges), None) is None:
        msg = (
            f"{source}: no ways of network_type={network_type!r} (e.g. no drivable roads); "
            "check the file's extent or choose another network_type"
        )
        raise InputError(msg)
    G.graph.update(crs="epsg:4326", network_source=f"osm:{source}", network_type=network_type)
    for _, _, d in G.edges(data=True):
        d["network_source"] = G.graph["network_source"]
    add_travel_times(G, mode=mode, params=params)
    G.graph["components"] = nx.number_weakly_connected_components(G)
    if G.graph["components"] > 1:
        logger.warning(
            "%s: the street graph has %d disconnected parts; all are kept",
            source,
            G.graph["components"],
        )
    return G


def streets_from_file(
    path: str | Path,
    *,
    network_type: NetworkType = "drive",
    mode: TravelMode = "drive",
    params: SpeedParams | None = None,
    simplify: bool = True,
    ferries: bool = False,
) -> nx.MultiDiGraph:
    """Load a street network from an OpenStreetMap file, keeping every component.

    ``.osm`` and ``.osm.bz2`` (OSM XML) are read with osmnx; ``.osm.pbf`` with pyosmium
    (see ``docs/network.md`` for why). Ways are filtered with osmnx's rules for
    ``network_type`` (:func:`way_allowed`); the graph is simplified (only intersections and
    dead ends stay nodes) and gets ``speed_kph`` and ``travel_time`` for ``mode``.
    Disconnected parts are kept and reported, never dropped.

    Parameters
    ----------
    path
        ``.osm``, ``.osm.bz2`` or ``.osm.pbf`` file.
    network_type
        Which ways to keep.
    mode
        Travel mode of ``travel_time``.
    params
        Speeds (:class:`SpeedParams`).
    simplify
        Merge chains of degree-2 nodes into single edges.
    ferries
        Keep scheduled ferries (``route=ferry`` ways that carry the network's travellers)
        as edges of class ``"ferry"``: their speed from the ``duration`` tag, else
        ``params.ferry_kph``, plus ``params.ferry_wait_min`` (``.osm.pbf`` files only).

    Returns
    -------
    networkx.MultiDiGraph
        osmnx-style graph with ``G.graph["network_source"] = "osm:<file name>"``.

    Raises
    ------
    InputError
        On a missing or unreadable file, an unknown format, XML with DOCTYPE or entities,
        or no ways of the requested type.

    Examples
    --------
    >>> G = streets_from_file("tests/data/osm/West-Oakland.osm.bz2")
    >>> G.graph["network_source"], G.number_of_edges() > 0
    ('osm:West-Oakland.osm.bz2', True)
    """
    network_type = check_network_type(network_type)
    p = Path(path)
    if not p.is_file():
        msg = f"OSM file {str(p)!r} does not exist; check the path"
        raise InputError(msg)
    check_file_size(p, kind="osm", what="OSM file")
    name = p.name.lower()
    if name.endswith(".osm.pbf") or name.endswith(".pbf"):
        G = graph_from_pbf(p, network_type=network_type, simplify=simplify, ferries=ferries)
    elif name.endswith((".osm", ".osm.bz2", ".xml")):
        if ferries:
            msg = (
                f"OSM file {str(p)!r}: ferries are read from .osm.pbf files only; convert the "
                "file (osmium cat in.osm -o out.osm.pbf) or set ferries = false"
            )
            raise InputError(msg)
        _check_xml_safe(p)
        _check_expanded_size(p)

        with _osmnx_way_tags(FILTER_TAGS):
            try:
                G = ox.graph_from_xml(
                    p, simplify=False, retain_all=True, bidirectional=network_type == "walk"
                )
            except Exception as err:  # osmnx raises several types on malformed XML
                msg = f"OSM file {str(p)!r} could not be parsed as OSM XML ({err})"
                raise InputError(msg) from None
        G = _filter_edges(G, network_type)
        if simplify and next(iter(G.edges), None) is not None:
            G = _sorted_lists(ox.simplify_graph(G))
    else:
        msg = f"OSM file {str(p)!r}: unknown format; use .osm, .osm.bz2 or .osm.pbf"
        raise InputError(msg)
    return _finish_graph(G, source=p.name, network_type=network_type, mode=mode, params=params)


def _polygon_key(polygon: BaseGeometry, network_type: str) -> str:

    wkt = shapely.to_wkt(polygon, rounding_precision=6)
    return hashlib.sha256(f"{network_type}|{wkt}".encode()).hexdigest()[:24]


def save_streets_cache(G: nx.MultiDiGraph, path: Path) -> None:
    """Write a street graph to a gzip-compressed JSON cache file (written atomically).

    Parameters
    ----------
    G
        The graph.
    path
        Target file (``.json.gz``).
    """
    data = nx.node_link_data(G, edges="edges")
    tmp = path.with_suffix(path.suffix + ".tmp")
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(tmp, "wt", encoding="utf-8") as fh:
        json.dump(data, fh, default=str)
    tmp.replace(path)


def load_streets_cache(path: Path) -> nx.MultiDiGraph:
    """Read a street graph written by :func:`save_streets_cache`.

    Parameters
    ----------
    path
        The cache file.

    Returns
    -------
    networkx.MultiDiGraph
        The graph.

    Raises
    ------
    InputError
        If the file is not a valid cache file.
    """
    try:
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            data = json.load(fh)
        G = nx.node_link_graph(data, directed=True, multigraph=True, edges="edges")
    except (OSError, ValueError, KeyError) as err:
        msg = f"street cache {str(path)!r} is damaged ({err}); delete it and download again"
        raise InputError(msg) from None
    return nx.MultiDiGraph(G)


def streets_from_polygon(
    polygon: BaseGeometry,
    *,
    network_type: NetworkType = "drive",
    mode: TravelMode = "drive",
    params: SpeedParams | None = None,
    cache_dir: str | Path = Path(".cache") / "urlink" / "streets",
    download: bool = False,
) -> nx.MultiDiGraph:
    """Get the street network inside a WGS84 polygon from the cache, or download it.

    Downloads (with osmnx, from the Overpass API) happen only with ``download=True``; the
    result is cached on disk, so later runs work offline. The cache key is the polygon
    (rounded to 1e-6 degrees) and ``network_type``.

    Parameters
    ----------
    polygon
        Study area in WGS84 longitude/latitude.
    network_type, mode, params
        As for :func:`streets_from_file`.
    cache_dir
        Folder of the cache.
    download
        Allow a download on a cache miss.

    Returns
    -------
    networkx.MultiDiGraph
        The street graph (``network_source = "osm-download"``).

    Raises
    ------
    InputError
        On a cache miss without ``download=True``, or an invalid polygon.
    """
    network_type = check_network_type(network_type)
    if polygon.is_empty or polygon.geom_type not in ("Polygon", "MultiPolygon"):
        msg = f"polygon must be a non-empty (Multi)Polygon, got {polygon.geom_type}"
        raise InputError(msg)
    path = Path(cache_dir) / f"{_polygon_key(polygon, network_type)}.json.gz"
    if path.is_file():
        logger.info("street network from cache %s", path)
        G = load_streets_cache(path)
    elif not download:
        msg = (
            f"the street network for this polygon is not in the cache ({path}); allow a "
            "download (download=True, or `urlink run --download`) or give an OSM file"
        )
        raise InputError(msg)
    else:  # pragma: no cover - needs the internet; never run in tests
        with _osmnx_way_tags(FILTER_TAGS):
            G = ox.graph_from_polygon(
                polygon,
                network_type=network_type,
                retain_all=True,
                simplify=True,
                truncate_by_edge=True,
            )
        G = _sorted_lists(G)
        save_streets_cache(G, path)
    G = _finish_graph(G, source="download", network_type=network_type, mode=mode, params=params)
    G.graph["network_source"] = "osm-download"
    for _, _, d in G.edges(data=True):
        d["network_source"] = "osm-download"
    return G
