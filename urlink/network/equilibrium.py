"""Congested car assignment: a user equilibrium with BPR link costs.

:func:`assign_equilibrium` loads a car origin-destination table (vehicles per hour) onto a
:class:`~urlink.network.skims.RoutingGraph` so that no driver can shorten their trip by
changing route (Wardrop's first principle; Wardrop 1952). Link times follow the Bureau of
Public Roads function (BPR; Bureau of Public Roads 1964, *Traffic Assignment Manual*, U.S.
Department of Commerce)

    t(v) = t0 * (1 + alpha * (v / c) ** beta),   alpha = 0.15, beta = 4

where ``t0`` is the free-flow time of the link (its ``travel_time`` weight, seconds), ``v`` its
volume and ``c`` its capacity (veh/h per direction, :data:`DEFAULT_CAPACITY_VPH` per OSM
highway class, see :func:`link_capacities_vph`).

The equilibrium minimises Beckmann's convex objective (Beckmann, McGuire & Winsten 1956) and
is solved by one of three Frank-Wolfe methods (``EquilibriumParams.method``):

``"fw"``
    Frank-Wolfe (Frank & Wolfe 1956; LeBlanc, Morlok & Pierskalla 1975): the search direction
    points at the all-or-nothing load at current times.
``"cfw"``
    Conjugate Frank-Wolfe (Mitradjieva & Lindberg 2013, *Transportation Science* 47(2),
    280-293): the direction is made conjugate to the previous one with respect to the
    (diagonal) Hessian of the objective.
``"bfw"`` (default)
    Bi-conjugate Frank-Wolfe (same paper): conjugate to the two previous directions.

Each iteration grows one shortest-path tree per origin node (scipy's Dijkstra on the CSR
graph with the current link times), loads every OD pair on its path (vectorised over the
pairs, hop by hop towards the origin), and takes the exact line-search step (bisection on
the directional derivative of the objective). The formulas of the conjugate directions
follow Mitradjieva & Lindberg (2013) as implemented in AequilibraE (``aequilibrae.paths``).

The stopping rule is the relative gap

    gap = (TSTT - SPTT) / TSTT

with TSTT = sum of link volume x link time and SPTT = sum of OD demand x shortest-path time
at the same link times; the run stops at ``gap < params.gap`` (default 1e-4) or after
``params.max_iter`` iterations, and reports the gap of every iteration.

Demand is taken in vehicles per hour: :func:`vehicles_from_persons` converts a daily person
flow table with an occupancy and a peak-hour share (both assumptions to replace with local
survey data, see ``docs/network.md``).
"""

from __future__ import annotations

import logging
import math
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, get_args

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

from urlink.errors import InputError, UrlinkWarning
from urlink.network.skims import RoutingGraph, snap_to_nodes

if TYPE_CHECKING:
    from collections.abc import Mapping

    import geopandas as gpd
    import networkx as nx

__all__ = [
    "DEFAULT_CAPACITY_VPH",
    "EquilibriumMethod",
    "EquilibriumParams",
    "EquilibriumResult",
    "assign_equilibrium",
    "bpr_time_s",
    "link_capacities_vph",
    "vehicles_from_persons",
]

logger = logging.getLogger(__name__)

EquilibriumMethod = Literal["fw", "cfw", "bfw"]
"""Frank-Wolfe (``fw``), conjugate (``cfw``) or bi-conjugate (``bfw``) Frank-Wolfe."""

DEFAULT_CAPACITY_VPH: dict[str, float] = {
    "motorway": 4000.0,
    "motorway_link": 1350.0,
    "trunk": 3500.0,
    "trunk_link": 1300.0,
    "primary": 2800.0,
    "primary_link": 1300.0,
    "secondary": 1350.0,
    "secondary_link": 1300.0,
    "tertiary": 1300.0,
    "tertiary_link": 1100.0,
    "unclassified": 1300.0,
    "residential": 1100.0,
    "road": 1100.0,
    "living_street": 600.0,
    "service": 600.0,
    "track": 400.0,
}
"""Capacity (veh/h per direction) per OSM highway class, for BPR link costs.

Per-lane design capacities (pcu/h/lane; one passenger car = one pcu) of CJJ 37-2012 *Code for
Design of Urban Road Engineering*, tables 4.2.2 (expressways: 2000 at 100 km/h, 1750 at
80 km/h) and 4.2.3 (other roads: 1400 at 60, 1350 at 50, 1300 at 40 and 30, 1100 at 20 km/h),
taken at the design speed of each class in
:data:`~urlink.network.streets.DEFAULT_SPEEDS_KPH`, times an assumed number of lanes per
direction: 2 for motorway, trunk and primary, 1 for the others. ``living_street``,
``service`` and ``track`` (below CJJ 37's range) are assumptions. Segment capacities ignore
intersection delay; override the table where counts or lane data exist.
"""

DEFAULT_FALLBACK_CAPACITY_VPH = 1100.0
"""Capacity of links whose class is not in the table (a 20 km/h lane of CJJ 37-2012)."""


@dataclass(frozen=True, slots=True)
class EquilibriumParams:
    """Parameters of the user-equilibrium assignment.

    Attributes
    ----------
    alpha, beta
        BPR parameters (default 0.15 and 4; Bureau of Public Roads 1964).
    gap
        Target relative gap (default 1e-4); the run stops below it.
    max_iter
        Largest number of iterations (shortest-path rounds after the first).
    method
        ``"fw"``, ``"cfw"`` or ``"bfw"`` (default; Mitradjieva & Lindberg 2013).

    Examples
    --------
    >>> EquilibriumParams(gap=1e-3).method
    'bfw'
    """

    alpha: float = 0.15
    beta: float = 4.0
    gap: float = 1e-4
    max_iter: int = 1000
    method: EquilibriumMethod = "bfw"

    def __post_init__(self) -> None:
        """Check the values."""
        if not (math.isfinite(self.alpha) and self.alpha >= 0):
            msg = f"alpha={self.alpha!r} must be a finite number >= 0 (BPR default 0.15)"
            raise InputError(msg)
        if not (math.isfinite(self.beta) and self.beta >= 1):
            msg = f"beta={self.beta!r} must be a finite number >= 1 (BPR default 4)"
            raise InputError(msg)
        if not (math.isfinite(self.gap) and 0 < self.gap < 1):
            msg = f"gap={self.gap!r} must be in (0, 1), e.g. 1e-4"
            raise InputError(msg)
        if isinstance(self.max_iter, bool) or not isinstance(self.max_iter, int):
            msg = f"max_iter={self.max_iter!r} must be a whole number >= 0"
            raise InputError(msg)
        if self.max_iter < 0:
            msg = f"max_iter={self.max_iter!r} must be >= 0"
            raise InputError(msg)
        if self.method not in get_args(EquilibriumMethod):
            msg = f"method={self.method!r} is not valid; use one of {get_args(EquilibriumMethod)}"
            raise InputError(msg)


@dataclass(frozen=True, slots=True, eq=False)
class EquilibriumResult:
    """The result of :func:`assign_equilibrium`.

    Attributes
    ----------
    links
        One row per directed link of the routing graph: ``u``, ``v`` (node ids),
        ``free_flow_s``, ``capacity_vph``, ``volume_vph``, ``vc_ratio``, ``congested_s``.
    od
        One row per OD pair with demand: ``origin``, ``destination``, ``vehicles_vph``,
        ``free_flow_min`` and ``congested_min`` (network time between the snapped nodes,
        without access legs; NaN where unreachable, 0 within a node).
    gaps
        Relative gap after each iteration (``gaps[0]``: the all-or-nothing start).
    iterations
        Iterations done (``len(gaps) - 1``).
    gap
        Final relative gap.
    converged
        Whether ``gap < params.gap``.
    method
        The method used.
    """

    links: pd.DataFrame
    od: pd.DataFrame
    gaps: tuple[float, ...]
    iterations: int
    gap: float
    converged: bool
    method: EquilibriumMethod


def bpr_time_s(
    free_flow_s: np.ndarray,
    volume_vph: np.ndarray,
    capacity_vph: np.ndarray,
    *,
    alpha: float = 0.15,
    beta: float = 4.0,
) -> np.ndarray:
    """Link travel times of the BPR function ``t0 * (1 + alpha * (v / c) ** beta)``.

    Parameters
    ----------
    free_flow_s
        Free-flow times (s).
    volume_vph
        Volumes (veh/h).
    capacity_vph
        Capacities (veh/h).
    alpha, beta
        BPR parameters.

    Returns
    -------
    numpy.ndarray
        Congested times (s).

    Examples
    --------
    >>> bpr_time_s(np.array([60.0]), np.array([1000.0]), np.array([1000.0])).tolist()
    [69.0]
    """
    return np.asarray(free_flow_s * (1.0 + alpha * (volume_vph / capacity_vph) ** beta), float)


def _class_capacity(highway: object, table: Mapping[str, float], fallback: float) -> float:
    classes = highway if isinstance(highway, list) else [highway]
    caps = [table[c] for c in classes if isinstance(c, str) and c in table]
    return sum(caps) / len(caps) if caps else fallback


def _csr_keys(R: RoutingGraph) -> np.ndarray:
    """``row * n + col`` of every CSR entry, ascending (CSR order, sorted indices)."""
    indptr, indices, _ = R.fwd
    n = len(R.nodes)
    rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(indptr))
    return np.asarray(rows * n + indices, dtype=np.int64)


def link_capacities_vph(
    G: nx.MultiDiGraph,
    R: RoutingGraph,
    *,
    capacities_vph: Mapping[str, float] | None = None,
    fallback_vph: float = DEFAULT_FALLBACK_CAPACITY_VPH,
) -> np.ndarray:
    """Capacity of every link of a routing graph, in its CSR order.

    Each edge of ``G`` gets its ``capacity_vph`` attribute where set, else the capacity of
    its ``link_class`` (proxy links) or ``highway`` class from ``capacities_vph`` (the mean
    for merged edges of several classes), else ``fallback_vph``. Parallel edges between the
    same two nodes, which the routing graph merges into one link, add their capacities.

    Parameters
    ----------
    G
        The street graph ``R`` was built from.
    R
        Its routing graph.
    capacities_vph
        veh/h per direction per highway class (default :data:`DEFAULT_CAPACITY_VPH`).
    fallback_vph
        Capacity of classes not in the table.

    Returns
    -------
    numpy.ndarray
        veh/h, aligned with ``R.csr.data``.

    Raises
    ------
    InputError
        If a capacity is not positive, or ``G`` and ``R`` do not match.

    Examples
    --------
    >>> import networkx as nx
    >>> from urlink.network.skims import routing_graph_from
    >>> G = nx.MultiDiGraph()
    >>> G.add_node(1, x=121.0, y=28.6); G.add_node(2, x=121.01, y=28.6)
    >>> _ = G.add_edge(1, 2, travel_time=60.0, highway="primary")
    >>> _ = G.add_edge(2, 1, travel_time=60.0, highway="residential", capacity_vph=500.0)
    >>> link_capacities_vph(G, routing_graph_from(G)).tolist()
    [2800.0, 500.0]
    """
    table = dict(DEFAULT_CAPACITY_VPH if capacities_vph is None else capacities_vph)
    for name, value in [*table.items(), ("fallback_vph", fallback_vph)]:
        if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
            msg = f"capacity {name!r} = {value!r} must be a positive number (veh/h)"
            raise InputError(msg)
    n = len(R.nodes)
    keys = _csr_keys(R)
    cap = np.zeros(len(keys))
    for a, b, d in G.edges(data=True):
        key = R.index[a] * n + R.index[b] if a in R.index and b in R.index else -1
        j = int(np.searchsorted(keys, key))
        if key < 0 or j >= len(keys) or keys[j] != key:
            msg = f"edge ({a!r}, {b!r}) of G is not in R; pass the graph R was built from"
            raise InputError(msg)
        value = d.get("capacity_vph")
        if value is None:
            value = _class_capacity(d.get("link_class", d.get("highway")), table, fallback_vph)
        if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
            msg = f"edge ({a!r}, {b!r}): capacity_vph={value!r} must be a positive number"
            raise InputError(msg)
        cap[j] += float(value)
    if (cap == 0).any():
        msg = "some links of the routing graph have no edge in G; pass the graph R came from"
        raise InputError(msg)
    return cap


def vehicles_from_persons(
    flows: pd.DataFrame,
    *,
    car_share: float,
    occupancy: float = 1.5,
    peak_hour_share: float = 0.1,
) -> pd.DataFrame:
    """Convert person trips per day into car trips in the peak hour.

    ``vehicles_vph = volume * car_share / occupancy * peak_hour_share``. The defaults are
    assumptions to replace with local survey data: 1.5 persons per car and 10 % of the daily
    trips in the peak hour (the order of the design-hour factor K of highway design, about
    0.1); the car share has no default, it differs too much between places.

    Parameters
    ----------
    flows
        ``origin``, ``destination`` and ``volume`` (persons/day).
    car_share
        Share of the person trips made by car, in [0, 1].
    occupancy
        Persons per car (>= 1).
    peak_hour_share
        Share of the daily trips made in the peak hour, in (0, 1].

    Returns
    -------
    pandas.DataFrame
        ``origin``, ``destination``, ``vehicles_vph``.

    Raises
    ------
    InputError
        If a parameter is out of range or a column is missing.

    Examples
    --------
    >>> f = pd.DataFrame({"origin": ["A"], "destination": ["B"], "volume": [3000.0]})
    >>> vehicles_from_persons(f, car_share=0.5).to_dict("list")
    {'origin': ['A'], 'destination': ['B'], 'vehicles_vph': [100.0]}
    """
    if not 0 <= car_share <= 1:
        msg = f"car_share={car_share!r} must be in [0, 1]"
        raise InputError(msg)
    if not (math.isfinite(occupancy) and occupancy >= 1):
        msg = f"occupancy={occupancy!r} must be >= 1 person per car"
        raise InputError(msg)
    if not 0 < peak_hour_share <= 1:
        msg = f"peak_hour_share={peak_hour_share!r} must be in (0, 1], e.g. 0.1"
        raise InputError(msg)
    for col in ("origin", "destination", "volume"):
        if col not in flows.columns:
            msg = f"flows need a {col!r} column; they have {list(flows.columns)}"
            raise InputError(msg)
    return pd.DataFrame(
        {
            "origin": flows["origin"].to_numpy(),
            "destination": flows["destination"].to_numpy(),
            "vehicles_vph": flows["volume"].to_numpy(float)
            * car_share
            / occupancy
            * peak_hour_share,
        }
    )


_TREE_BYTES = 256 * 2**20
"""Memory for the shortest-path trees held at once."""


class _Loader:
    """All-or-nothing loads of a fixed OD set at given link times."""

    def __init__(self, R: RoutingGraph, o: np.ndarray, d: np.ndarray, q: np.ndarray) -> None:
        self.R = R
        self.n = len(R.nodes)
        self.keys = _csr_keys(R)
        self.o, self.d, self.q = o, d, q
        self.origins, self.row = np.unique(o, return_inverse=True)
        self.step = max(1, min(len(self.origins), _TREE_BYTES // max(1, 12 * self.n)))
        self.time_s = np.full(len(o), np.inf)

    def __call__(self, cost: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return the link loads (CSR order) and the shortest time of every OD pair."""
        indptr, indices, _ = self.R.fwd
        csr = sp.csr_array((cost, indices, indptr), shape=(self.n, self.n))
        load = np.zeros(len(self.keys))
        time_s = np.full(len(self.o), np.inf)
        for a in range(0, len(self.origins), self.step):
            block = self.origins[a : a + self.step]
            dist, pred = dijkstra(csr, directed=True, indices=block, return_predecessors=True)
            pairs = np.flatnonzero((self.row >= a) & (self.row < a + len(block)))
            r = self.row[pairs] - a
            time_s[pairs] = dist[r, self.d[pairs]]
            ok = np.isfinite(time_s[pairs])
            r, cur, q = r[ok], self.d[pairs][ok], self.q[pairs][ok]
            hops: list[np.ndarray] = []
            weights: list[np.ndarray] = []
            active = cur != block[r]
            r, cur, q = r[active], cur[active], q[active]
            while len(cur):
                parent = pred[r, cur].astype(np.int64)
                hops.append(parent * self.n + cur)
                weights.append(q)
                keep = parent != block[r]
                r, cur, q = r[keep], parent[keep], q[keep]
            if hops:
                pos = np.searchsorted(self.keys, np.concatenate(hops))
                load += np.bincount(pos, weights=np.concatenate(weights), minlength=len(load))
            del dist, pred
        self.time_s = time_s
        return load, time_s


def _line_search(
    x: np.ndarray, d: np.ndarray, t0: np.ndarray, cap: np.ndarray, p: EquilibriumParams
) -> float:
    """Step in [0, 1] minimising Beckmann's objective along ``x + step * d`` (bisection)."""

    def slope(step: float) -> float:
        v = np.maximum(x + step * d, 0.0)
        return float(bpr_time_s(t0, v, cap, alpha=p.alpha, beta=p.beta) @ d)

    if slope(1.0) <= 0:
        return 1.0
    if slope(0.0) >= 0:
        return 0.0
    lo, hi = 0.0, 1.0
    for _ in range(60):  # 2**-60: below float precision of the step
        mid = 0.5 * (lo + hi)
        if slope(mid) < 0:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


_MAX_CONJUGATE = 0.99999
"""Largest weight of the previous direction in a conjugate direction (AequilibraE's bound)."""


def _direction(  # noqa: PLR0917 - the state of the conjugate methods
    method: EquilibriumMethod,
    x: np.ndarray,
    y: np.ndarray,
    s1: np.ndarray | None,
    s2: np.ndarray | None,
    tau: float,
    hess: np.ndarray,
) -> np.ndarray:
    """Target point ``s`` of the search direction ``s - x`` (Mitradjieva & Lindberg 2013)."""
    if method == "fw" or s1 is None or tau >= 1.0 or tau <= 0.0:
        return y
    if method == "cfw" or s2 is None:
        dbar = s1 - x
        num = float(hess @ (dbar * (y - x)))
        den = float(hess @ (dbar * (y - s1)))
        a = min(max(num / den, 0.0), _MAX_CONJUGATE) if den != 0 else 0.0
        return a * s1 + (1.0 - a) * y
    dbarbar = tau * s1 + (1.0 - tau) * s2 - x
    dbar = s1 - x
    den_mu = float(hess @ (dbarbar * (s2 - s1)))
    mu = max(0.0, -float(hess @ (dbarbar * (y - x))) / den_mu) if den_mu != 0 else 0.0
    den_nu = float(hess @ (dbar * dbar))
    nu = (
        max(0.0, -float(hess @ (dbar * (y - x))) / den_nu + mu * tau / (1.0 - tau))
        if den_nu != 0
        else 0.0
    )
    b0 = 1.0 / (1.0 + mu + nu)
    return b0 * y + nu * b0 * s1 + mu * b0 * s2


def _od_table(
    R: RoutingGraph, vehicle_od: pd.DataFrame, zones: gpd.GeoDataFrame
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
    """Check the demand; return it with node positions, and the pairs to load, sorted."""
    for col in ("origin", "destination", "vehicles_vph"):
        if col not in vehicle_od.columns:
            msg = f"vehicle_od needs a {col!r} column; it has {list(vehicle_od.columns)}"
            raise InputError(msg)
    q = vehicle_od["vehicles_vph"].to_numpy(dtype=float)
    if not (np.isfinite(q).all() and (q >= 0).all()):
        msg = "vehicle_od['vehicles_vph'] must be finite and >= 0"
        raise InputError(msg)
    strangers = sorted(
        (set(vehicle_od["origin"]) | set(vehicle_od["destination"])) - set(zones.index), key=str
    )
    if strangers:
        msg = f"vehicle_od names zones {strangers[:10]} that are not in the zones frame"
        raise InputError(msg)
    snap = snap_to_nodes(R, zones)
    od = (
        vehicle_od[["origin", "destination", "vehicles_vph"]]
        .groupby(["origin", "destination"], sort=True, as_index=False)
        .sum()
    )
    od["o_pos"] = snap["pos"].reindex(od["origin"]).to_numpy()
    od["d_pos"] = snap["pos"].reindex(od["destination"]).to_numpy()
    # the pairs that load links, aggregated per node pair (order-independent sums)
    moving = od[(od["o_pos"] != od["d_pos"]) & (od["vehicles_vph"] > 0)]
    nodes = moving.groupby(["o_pos", "d_pos"], sort=True)["vehicles_vph"].sum()
    o = nodes.index.get_level_values(0).to_numpy(dtype=np.int64)
    d = nodes.index.get_level_values(1).to_numpy(dtype=np.int64)
    return od, o, d, nodes.to_numpy(dtype=float)


def _od_times(  # noqa: PLR0917 - the pieces of the finished assignment
    routing: RoutingGraph,
    od: pd.DataFrame,
    o: np.ndarray,
    d: np.ndarray,
    ff_s: np.ndarray,
    load: _Loader,
    cost: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Free-flow and congested network times (min) of every OD row; NaN if unreachable."""
    pair_time = pd.Series(load.time_s, index=pd.MultiIndex.from_arrays([load.o, load.d]))
    ff_time = pd.Series(ff_s, index=pd.MultiIndex.from_arrays([o, d]))
    idx = pd.MultiIndex.from_arrays([od["o_pos"].to_numpy(), od["d_pos"].to_numpy()])
    same = (od["o_pos"] == od["d_pos"]).to_numpy()
    free_min = np.where(same, 0.0, ff_time.reindex(idx).to_numpy() / 60.0)
    cong_min = np.where(same, 0.0, pair_time.reindex(idx).to_numpy() / 60.0)
    # pairs without demand (or unreachable): one more search at free-flow and final times
    missing = ~same & np.isnan(cong_min)
    if missing.any():
        extra = _Loader(
            routing,
            od["o_pos"].to_numpy()[missing].astype(np.int64),
            od["d_pos"].to_numpy()[missing].astype(np.int64),
            np.zeros(int(missing.sum())),
        )
        cong_min[missing] = extra(cost)[1] / 60.0
        free_min[missing] = extra(routing.fwd[2])[1] / 60.0
    free_min[~np.isfinite(free_min)] = np.nan
    cong_min[~np.isfinite(cong_min)] = np.nan
    return free_min, cong_min


def assign_equilibrium(
    routing: RoutingGraph,
    vehicle_od: pd.DataFrame,
    zones: gpd.GeoDataFrame,
    *,
    capacity_vph: np.ndarray,
    params: EquilibriumParams | None = None,
) -> EquilibriumResult:
    """Assign car demand to a user equilibrium with BPR link costs.

    Parameters
    ----------
    routing
        Routing graph; its weights are the free-flow times in seconds (``travel_time``).
    vehicle_od
        ``origin``, ``destination`` (zone ids) and ``vehicles_vph`` (veh/h), e.g. from
        :func:`vehicles_from_persons`. Repeated pairs are added up.
    zones
        The zones (their seats are snapped to the nearest node).
    capacity_vph
        Capacity per link in CSR order (:func:`link_capacities_vph`).
    params
        :class:`EquilibriumParams` (defaults if None).

    Returns
    -------
    EquilibriumResult
        Link volumes and times, congested OD times, the gap history.

    Raises
    ------
    InputError
        If the demand lacks columns, names unknown zones or is negative, or the capacities
        do not match the graph.

    Examples
    --------
    Two roads from A to B: 0 -> 2 (60 s free flow) and 0 -> 1 -> 2 (120 s), 1000 veh/h of
    capacity each, and 2000 veh/h: at equilibrium both take the same time.

    >>> import geopandas as gpd, networkx as nx
    >>> from urlink.network.skims import routing_graph_from
    >>> G = nx.MultiDiGraph()
    >>> for n, x in enumerate([121.0, 121.01, 121.02]):
    ...     G.add_node(n, x=x, y=28.6)
    >>> for a, b, t in [(0, 2, 60.0), (0, 1, 120.0), (1, 2, 0.0)]:
    ...     _ = G.add_edge(a, b, travel_time=t, capacity_vph=1000.0)
    >>> R = routing_graph_from(G)
    >>> z = gpd.GeoDataFrame(index=["A", "B"], crs="EPSG:4326",
    ...                      geometry=gpd.points_from_xy([121.0, 121.02], [28.6, 28.6]))
    >>> od = pd.DataFrame({"origin": ["A"], "destination": ["B"], "vehicles_vph": [2000.0]})
    >>> res = assign_equilibrium(R, od, z, capacity_vph=link_capacities_vph(G, R))
    >>> res.converged, res.od["congested_min"].round(4).tolist()
    (True, [2.007])
    >>> res.links[["u", "v", "volume_vph"]].round(1).to_dict("list")
    {'u': [0, 0, 1], 'v': [1, 2, 2], 'volume_vph': [390.4, 1609.6, 390.4]}
    """
    p = params if params is not None else EquilibriumParams()
    t0 = np.asarray(routing.fwd[2], dtype=float)
    cap = np.asarray(capacity_vph, dtype=float)
    if cap.shape != t0.shape:
        msg = (
            f"capacity_vph has {cap.size} values but the routing graph has {t0.size} links; "
            "build it with link_capacities_vph(G, routing)"
        )
        raise InputError(msg)
    if not (np.isfinite(cap).all() and (cap > 0).all()):
        msg = "capacity_vph must be finite and > 0 on every link"
        raise InputError(msg)
    od, o, d, q = _od_table(routing, vehicle_od, zones)
    load = _Loader(routing, o, d, q)
    y, ff_s = load(t0)
    lost = ~np.isfinite(ff_s)
    if lost.any():
        warnings.warn(
            f"{int(lost.sum())} OD pairs ({q[lost].sum():.6g} veh/h) could not be assigned: "
            "their destination is unreachable on the street network",
            UrlinkWarning,
            stacklevel=2,
        )
        load = _Loader(routing, o[~lost], d[~lost], q[~lost])
        y, _ = load(t0)
    x = y
    gaps: list[float] = []
    s1: np.ndarray | None = None
    s2: np.ndarray | None = None
    tau = 0.0
    while True:
        cost = bpr_time_s(t0, x, cap, alpha=p.alpha, beta=p.beta)
        y, time_s = load(cost)
        tstt = float(cost @ x)
        sptt = float(time_s @ load.q)
        gap = max(0.0, (tstt - sptt) / tstt) if tstt > 0 else 0.0
        gaps.append(gap)
        if gap < p.gap or len(gaps) > p.max_iter:
            break
        hess = t0 * p.alpha * p.beta * x ** (p.beta - 1.0) / cap**p.beta
        s = _direction(p.method, x, y, s1, s2, tau, hess)
        if float(cost @ (s - x)) >= 0:  # not a descent direction: restart with Frank-Wolfe
            s = y
        tau = _line_search(x, s - x, t0, cap, p)
        x = np.maximum(x + tau * (s - x), 0.0)
        s1, s2 = s, s1
    logger.info("equilibrium (%s): %d iterations, relative gap %.3g", p.method, len(gaps) - 1, gap)
    free_min, cong_min = _od_times(routing, od, o, d, ff_s, load, cost)
    n = len(routing.nodes)
    keys = load.keys
    links = pd.DataFrame(
        {
            "u": routing.nodes[keys // n],
            "v": routing.nodes[keys % n],
            "free_flow_s": t0,
            "capacity_vph": cap,
            "volume_vph": x,
            "vc_ratio": x / cap,
            "congested_s": cost,
        }
    )
    return EquilibriumResult(
        links=links,
        od=pd.DataFrame(
            {
                "origin": od["origin"].to_numpy(),
                "destination": od["destination"].to_numpy(),
                "vehicles_vph": od["vehicles_vph"].to_numpy(),
                "free_flow_min": free_min,
                "congested_min": cong_min,
            }
        ),
        gaps=tuple(gaps),
        iterations=len(gaps) - 1,
        gap=gap,
        converged=gap < p.gap,
        method=p.method,
    )
