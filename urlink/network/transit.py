"""Bus service and zone-to-zone transit skims.

A :class:`BusService` is a table of bus lines, each a sequence of zone ids (a stop is the
zone's seat) with a headway, a speed factor and a fare. Lines run both ways with the same
headway. :func:`transit_skim` finds the best bus trip between every pair of zones and
reports its parts separately (:class:`TransitSkim`):

* ride (in-vehicle) time between consecutive stops s, s' of a line
  ``car_skim[s, s'] / speed_factor`` (the bus runs on the car network at a share of the car
  speed, as ``SpeedParams.bus_speed_factor`` in :mod:`urlink.network.streets`);
* wait at each boarding ``headway / 2``: passengers who arrive at random wait half the
  headway on average, the standard assumption for headways up to about 10-12 minutes
  (Ortúzar & Willumsen 2011, *Modelling Transport*, 4th ed., §10.2; TCQSM 3rd ed., TCRP
  Report 165, 2013, ch. 4). For longer headways riders time their arrival and the real wait
  is shorter: the estimate is an upper bound there;
* access: the intrazonal walk ``access_min`` at each end (from a point in the origin zone to
  its stop and from the last stop to a point in the destination zone);
* transfers between lines at a shared stop zone (wait again, no walk).

The route is the one of least *generalized* time

    ride + wait_weight * wait + walk_weight * access + transfer_penalty_min * transfers

with ``wait_weight = walk_weight = 1.5`` by default: out-of-vehicle time weighs more than
in-vehicle time, and the UK meta-analysis of Abrantes & Wardman (2011, *Transportation
Research A* 45(1):1-17) found walk and wait ratios "substantially lower than the commonly
used value of two" (about 1.5-1.7). The 5-minute transfer penalty is an assumption (urlink
team estimate; published values range from a few to about 15 minutes of in-vehicle time).
The weights and the penalty choose the route; the reported components are plain minutes.

The search runs on one graph: an origin and a destination node per zone, an alighting node
per stop zone, and a node per (line, stop position, direction); shortest paths with
predecessors come from :func:`scipy.sparse.csgraph.dijkstra` for all origins at once, and
the components are summed along the shortest-path trees by pointer jumping (vectorised).

:func:`bus_service_from_table` reads a CSV of lines; :func:`bus_service_from_gtfs` reads a
GTFS feed with ``gtfs-kit`` (``pip install "urlink[gtfs]"``); :func:`bus_service_from_osm`
reads the ``route=bus`` relations of an OpenStreetMap file (stops and their order; the
headway is an assumption unless the route has an ``interval`` tag).
"""

from __future__ import annotations

import itertools
import logging
import math
import warnings
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import geopandas as gpd
import numpy as np
import osmium
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

from urlink.errors import InputError, UrlinkWarning
from urlink.io.tables import BUS_LINES, read_rows
from urlink.network.osm import osm_minutes
from urlink.network.streets import DEFAULT_CIRCUITY, SpeedParams

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

__all__ = [
    "DEFAULT_FARE_YUAN",
    "DEFAULT_MAX_WALK_MIN",
    "DEFAULT_SPEED_FACTOR",
    "LINE_COLUMNS",
    "BusService",
    "TransitSkim",
    "bus_service_from_gtfs",
    "bus_service_from_osm",
    "bus_service_from_table",
    "transit_skim",
]

logger = logging.getLogger(__name__)

OSM_INTERVAL_RANGE_MIN: tuple[float, float] = (1.0, 24 * 60.0)
"""Plausible OSM ``interval`` tags of a bus route, in minutes (a bus a minute to one a day);
a tag outside is taken as an error of the tagging and replaced by ``headway_min``."""

LINE_COLUMNS = ("line", "stops", "headway_min", "speed_factor", "fare_yuan", "source")
"""Columns of :attr:`BusService.lines` (and of the CSV read by :func:`bus_service_from_table`)."""

DEFAULT_SPEED_FACTOR = SpeedParams().bus_speed_factor
"""Bus speed / car speed when none is given: ``SpeedParams.bus_speed_factor`` (0.6, an
assumption documented in ``docs/network.md``)."""

DEFAULT_STOP_CIRCUITY = DEFAULT_CIRCUITY
"""Walk distance / straight distance from a point to its bus stop (the proxy circuity)."""

DEFAULT_MAX_WALK_MIN = 15.0
"""Longest walk between a zone and a bus stop in another zone, minutes: an assumption at the
upper end of the 5-15 minute walks to transit that riders accept (TCQSM 3rd ed., TCRP Report
165, 2013, ch. 5: most riders walk up to about 0.5 mile, 10 minutes, to bus stops)."""

DEFAULT_FARE_YUAN = 2.0
"""Fare of a line added with :meth:`BusService.with_line` without a fare: 2 yuan, an
assumption (a common flat urban fare in Zhejiang county towns; no Huangyan figure found)."""


def _line_problems(row: Any) -> list[tuple[str, str]]:
    """(column, problem) pairs of one line row (empty when the row is valid)."""
    out: list[tuple[str, str]] = []
    name = row["line"]
    if not isinstance(name, str) or not name.strip():
        out.append(("line", f"{name!r} must be a non-empty name"))
    stops = row["stops"]
    if not isinstance(stops, tuple) or not all(isinstance(s, str) and s for s in stops):
        out.append(("stops", f"{stops!r} must be a tuple of zone ids"))
    elif len(stops) < 2:
        out.append(("stops", f"{stops!r} needs at least two stops"))
    elif any(a == b for a, b in itertools.pairwise(stops)):
        out.append(("stops", f"{stops!r} repeats a zone on consecutive stops"))
    checks: tuple[tuple[str, Callable[[float], bool], str], ...] = (
        ("headway_min", lambda v: v > 0, "a finite number > 0"),
        ("speed_factor", lambda v: 0 < v <= 1, "a number in (0, 1]"),
        ("fare_yuan", lambda v: v >= 0, "a finite number >= 0"),
    )
    for col, ok, need in checks:
        v = row[col]
        try:
            f = float(v)
        except (TypeError, ValueError):
            f = math.nan
        if isinstance(v, bool) or not math.isfinite(f) or not ok(f):
            out.append((col, f"{v!r} must be {need}"))
    src = row["source"]
    if not isinstance(src, str) or not src.strip():
        out.append(("source", f"{src!r} must name a source or say 'estimate: ...'"))
    return out


def _check_lines(lines: pd.DataFrame, where: Callable[[int], str]) -> None:
    """Raise InputError for missing columns, bad rows or duplicate line names."""
    missing = [c for c in LINE_COLUMNS if c not in lines.columns]
    if missing:
        msg = f"{where(-1)}: missing column(s) {missing}; the columns are {list(LINE_COLUMNS)}"
        raise InputError(msg)
    for i, row in enumerate(lines[list(LINE_COLUMNS)].to_dict("records")):
        problems = _line_problems(row)
        if problems:
            col, what = problems[0]
            msg = f"{where(i)}, column {col!r}: {what}"
            raise InputError(msg)
    dup = lines["line"][lines["line"].duplicated()].tolist()
    if dup:
        msg = f"{where(-1)}: duplicate line names {dup[:10]}; each line needs its own name"
        raise InputError(msg)


def _clean(lines: pd.DataFrame) -> pd.DataFrame:
    """Return the line columns in order, with a fresh index and the column types of a service."""
    return (
        lines[list(LINE_COLUMNS)]
        .reset_index(drop=True)
        .astype({"line": object, "headway_min": float, "speed_factor": float, "fare_yuan": float})
    )


@dataclass(frozen=True, slots=True, eq=False)
class BusService:
    """Bus lines as sequences of zone ids (stops = zone seats), with headways and fares.

    Attributes
    ----------
    lines
        One row per line, columns :data:`LINE_COLUMNS`: ``line`` (name), ``stops`` (tuple of
        zone ids, in order; the line runs both ways), ``headway_min`` (> 0), ``speed_factor``
        (bus speed / car speed, in (0, 1]), ``fare_yuan`` (>= 0) and ``source`` (a citation
        or ``"estimate: ..."``).
    stop_access_km
        Mean walk (km) from a point of each zone to its nearest bus stop where the stops
        are known (:func:`bus_service_from_osm`); None: the zone's intrazonal length.

    Examples
    --------
    >>> svc = BusService(pd.DataFrame({"line": ["1"], "stops": [("a", "b", "c")],
    ...     "headway_min": [20.0], "speed_factor": [0.6], "fare_yuan": [2.0],
    ...     "source": ["estimate: example"]}))
    >>> svc.with_headway("1", 10.0).lines["headway_min"].tolist()
    [10.0]
    >>> svc.with_line("2", ["c", "d"], headway_min=30.0).lines["line"].tolist()
    ['1', '2']
    """

    lines: pd.DataFrame
    stop_access_km: pd.Series | None = None

    def __post_init__(self) -> None:
        """Check the columns and every line."""
        _check_lines(self.lines, lambda i: "bus lines" if i < 0 else f"bus lines, row {i}")
        object.__setattr__(self, "lines", _clean(self.lines))

    def with_line(
        self,
        name: str,
        stops: Sequence[str],
        *,
        headway_min: float,
        speed_factor: float = DEFAULT_SPEED_FACTOR,
        fare_yuan: float = DEFAULT_FARE_YUAN,
        source: str = "estimate: line added by the user",
    ) -> BusService:
        """Return a copy with one more line.

        Parameters
        ----------
        name
            Name of the new line (not yet in the service).
        stops
            Zone ids in order.
        headway_min
            Minutes between buses.
        speed_factor
            Bus speed / car speed (default :data:`DEFAULT_SPEED_FACTOR`).
        fare_yuan
            Fare (default :data:`DEFAULT_FARE_YUAN`, an assumption).
        source
            Citation or ``"estimate: ..."``.

        Returns
        -------
        BusService

        Raises
        ------
        InputError
            If the name exists already or a value is out of range.

        Examples
        --------
        >>> svc = BusService(pd.DataFrame(columns=list(LINE_COLUMNS)))
        >>> len(svc.with_line("1", ["a", "b"], headway_min=15.0).lines)
        1
        """
        values = {
            "line": name,
            "stops": tuple(str(s) for s in stops),
            "headway_min": headway_min,
            "speed_factor": speed_factor,
            "fare_yuan": fare_yuan,
            "source": source,
        }
        if len(self.lines) and name not in set(self.lines["line"].tolist()):
            checked = self._with_checked_line(values)
            if checked is not None:
                return checked
        row = pd.DataFrame({k: [v] for k, v in values.items()})
        frames = [f for f in (self.lines, row) if len(f)]
        return BusService(pd.concat(frames, ignore_index=True), self.stop_access_km)

    def _with_checked_line(self, values: dict[str, Any]) -> BusService | None:
        """Return the service with one more line (a new name), checking only that line.

        The lines of a service are checked already: the new row is checked and given the
        service's column types, and added (the frame the constructor makes of all the
        lines, without checking every line again, e.g. once per uncertainty sample).
        None when the row has a problem (the constructor then says which).
        """
        if _line_problems(values):
            return None
        one: dict[str, Any] = {}
        for column in LINE_COLUMNS:
            like = self.lines[column]
            if like.dtype == object:  # a stops tuple stays one object
                cell = np.empty(1, dtype=object)
                cell[0] = values[column]
                one[column] = cell
            else:
                one[column] = pd.array([values[column]], dtype=cast("Any", like.dtype))
        lines = pd.concat([self.lines, pd.DataFrame(one)], ignore_index=True)
        if not lines.dtypes.equals(self.lines.dtypes):
            return None
        out = object.__new__(BusService)
        object.__setattr__(out, "lines", lines)
        object.__setattr__(out, "stop_access_km", self.stop_access_km)
        return out

    def with_headway(self, line: str, headway_min: float) -> BusService:
        """Return a copy with the headway of one line changed.

        Parameters
        ----------
        line
            Name of the line.
        headway_min
            New minutes between buses (> 0).

        Returns
        -------
        BusService

        Raises
        ------
        InputError
            If the line does not exist or the headway is not positive.

        Examples
        --------
        >>> svc = BusService(pd.DataFrame(columns=list(LINE_COLUMNS)))
        >>> svc = svc.with_line("1", ["a", "b"], headway_min=30.0).with_headway("1", 15.0)
        >>> float(svc.lines.loc[0, "headway_min"])
        15.0
        """
        hit = self.lines["line"] == line
        if not hit.any():
            names = self.lines["line"].tolist()
            msg = f"line = {line!r} is not a line of the service; lines are {names}"
            raise InputError(msg)
        out = self.lines.copy()
        out.loc[hit, "headway_min"] = float(headway_min)
        return BusService(out, self.stop_access_km)


@dataclass(frozen=True, slots=True, eq=False)
class TransitSkim:
    """Zone x zone components of the best bus trip (NaN where no bus connects the pair).

    Attributes
    ----------
    in_vehicle_min
        Minutes on board.
    wait_min
        Half the headway of each boarding (first wait + transfers).
    access_min
        Walk to the first stop and from the last stop (intrazonal walk at each end).
    fare_yuan
        Sum of the fares of the lines used.
    transfers
        Number of transfers (0, 1, ...).
    """

    in_vehicle_min: pd.DataFrame
    wait_min: pd.DataFrame
    access_min: pd.DataFrame
    fare_yuan: pd.DataFrame
    transfers: pd.DataFrame

    def total_min(self, *, wait_weight: float = 1.0, access_weight: float = 1.0) -> pd.DataFrame:
        """Door-to-door minutes, ``in-vehicle + wait_weight * wait + access_weight * access``.

        Parameters
        ----------
        wait_weight, access_weight
            Weights on waiting and walking (1: plain minutes).

        Returns
        -------
        pandas.DataFrame
            NaN where no bus connects the pair.

        Examples
        --------
        >>> m = pd.DataFrame([[np.nan, 1.0], [1.0, np.nan]], index=["a", "b"], columns=["a", "b"])
        >>> sk = TransitSkim(m * 10, m * 5, m * 4, m * 2, m * 0)
        >>> sk.total_min().loc["a", "b"], sk.total_min(wait_weight=2.0).loc["a", "b"]
        (np.float64(19.0), np.float64(24.0))
        """
        parts = (self.in_vehicle_min, self.wait_min, self.access_min)
        ivt = parts[0]
        if all(p.index.equals(ivt.index) and p.columns.equals(ivt.columns) for p in parts[1:]):
            # aligned (as transit_skim makes them): numpy's arithmetic, pandas' numbers
            wait, access = (p.to_numpy(dtype=float) for p in parts[1:])
            total = ivt.to_numpy(dtype=float) + wait_weight * wait + access_weight * access
            return pd.DataFrame(total, index=ivt.index, columns=ivt.columns, copy=False)
        return self.in_vehicle_min + wait_weight * self.wait_min + access_weight * self.access_min


def _check_weight(name: str, value: float) -> None:
    if not (math.isfinite(value) and value >= 0):
        msg = f"{name} = {value!r} must be a finite number >= 0"
        raise InputError(msg)


def transit_skim(  # noqa: PLR0915 - builds the graph and sums the tree in one place
    service: BusService,
    car_skim: pd.DataFrame,
    *,
    access_min: pd.Series,
    transfer_penalty_min: float = 5.0,
    wait_weight: float = 1.5,
    walk_weight: float = 1.5,
    walk_min: pd.DataFrame | None = None,
    max_walk_min: float = DEFAULT_MAX_WALK_MIN,
) -> TransitSkim:
    """Compute the best bus trip between every pair of zones, component by component.

    Ride times are the car times between consecutive stops divided by the line's speed
    factor; each boarding waits half the headway; a transfer happens at a stop zone shared by
    two lines; the route minimises ``ride + wait_weight * wait + walk_weight * access +
    transfer_penalty_min * transfers`` (see the module docstring for the sources of the
    defaults), and the components of that route are reported in plain minutes.

    Parameters
    ----------
    service
        The bus lines.
    car_skim
        Car minutes between zone seats (a square skim whose index holds every stop).
    access_min
        Walk minutes between a point of the zone and its stop (the intrazonal walk), per zone
        of ``car_skim``.
    transfer_penalty_min
        Minutes added per transfer in the route choice (an assumption).
    wait_weight, walk_weight
        Weights of waiting and walking relative to riding (Abrantes & Wardman 2011).
    walk_min
        Walk minutes between zone seats (a square frame like ``car_skim``). With it, a
        rider may also walk from the origin to a stop in another zone, or from the last stop
        to the destination zone, where that walk takes at most ``max_walk_min`` (a bus
        terminus just across a boundary serves both zones). Without it, buses are boarded
        and left only in the trip's own zones.
    max_walk_min
        Longest walk to or from a stop in another zone (default
        :data:`DEFAULT_MAX_WALK_MIN`).

    Returns
    -------
    TransitSkim
        Indexed like ``car_skim``; a trip from a zone to itself is NaN (not by bus).

    Raises
    ------
    InputError
        If a stop is not a zone of the skim, the car skim has no time between consecutive
        stops, ``access_min`` misses a zone, or a weight is negative.

    Examples
    --------
    >>> z = ["a", "b", "c"]
    >>> car = pd.DataFrame([[0, 6, 12], [6, 0, 6], [12, 6, 0]], index=z, columns=z, dtype=float)
    >>> svc = BusService(pd.DataFrame(columns=list(LINE_COLUMNS))).with_line(
    ...     "1", ["a", "b", "c"], headway_min=20.0, speed_factor=0.6)
    >>> sk = transit_skim(svc, car, access_min=pd.Series(2.0, index=z))
    >>> float(sk.in_vehicle_min.loc["a", "c"]), float(sk.wait_min.loc["a", "c"])
    (20.0, 10.0)
    >>> float(sk.access_min.loc["a", "c"]), int(sk.transfers.loc["a", "c"])
    (4.0, 0)
    """
    for name, value in (
        ("transfer_penalty_min", transfer_penalty_min),
        ("wait_weight", wait_weight),
        ("walk_weight", walk_weight),
    ):
        _check_weight(name, value)
    zones = pd.Index(car_skim.index)
    n = len(zones)
    pos = {z: i for i, z in enumerate(zones)}
    acc = _aligned(access_min, zones).to_numpy(dtype=float)
    if np.isnan(acc).any() or (acc < 0).any():
        bad = zones[np.isnan(acc) | (acc < 0)].tolist()[:10]
        msg = f"access_min: no valid (>= 0) walk time for zone(s) {bad}; give one per zone"
        raise InputError(msg)
    car = _aligned(car_skim, zones, columns=True).to_numpy(dtype=float)
    _check_weight("max_walk_min", max_walk_min)

    # nodes: origin i, destination n + i, alighting 2n + i, at-stop 3n + i (walked there,
    # not yet boarded), then one per (line, direction, stop)
    us: list[int] = []
    vs: list[int] = []
    comps: list[tuple[float, float, float, float, float]] = []  # ivt, wait, access, fare, xfer

    def edge(u: int, v: int, c: tuple[float, float, float, float, float]) -> None:
        us.append(u)
        vs.append(v)
        comps.append(c)

    # the walks, as arrays: per zone, alight -> destination and origin -> at-stop; per pair
    # of zones a walk apart, origin -> at-stop there and alight -> destination there (the
    # edges in the order the lines' edges are added after them)
    at = np.arange(n)
    walk_u = [np.column_stack([2 * n + at, at]).ravel()]
    walk_v = [np.column_stack([n + at, 3 * n + at]).ravel()]
    walk_c = [np.repeat(acc, 2)]
    if walk_min is not None:
        walk = _aligned(_aligned(walk_min, zones), zones, columns=True).to_numpy(dtype=float)
        near = np.isfinite(walk) & (walk <= max_walk_min)
        np.fill_diagonal(near, val=False)
        a, b = np.nonzero(near)
        walk_u.append(np.column_stack([a, 2 * n + a]).ravel())  # walk to a stop there,
        walk_v.append(np.column_stack([3 * n + b, n + b]).ravel())  # walk on from it
        walk_c.append(np.repeat(walk[a, b], 2))
    nxt = 4 * n
    lines = service.lines
    for name, stop_ids, headway_min, speed_factor, line_fare in zip(
        lines["line"].tolist(),
        lines["stops"].tolist(),
        lines["headway_min"].tolist(),
        lines["speed_factor"].tolist(),
        lines["fare_yuan"].tolist(),
        strict=True,
    ):
        stops = [str(s) for s in stop_ids]
        unknown = [s for s in stops if s not in pos]
        if unknown:
            msg = (
                f"bus line {name!r}: stop(s) {unknown[:10]} are not zones of the car skim "
                f"(zones are e.g. {zones[:5].tolist()})"
            )
            raise InputError(msg)
        wait = float(headway_min) / 2.0
        fare = float(line_fare)
        for seq in (stops, stops[::-1]):
            idx = [pos[s] for s in seq]
            for k, z in enumerate(idx):
                node = nxt + k
                if k < len(idx) - 1:  # board here
                    edge(3 * n + z, node, (0.0, wait, 0.0, fare, 0.0))
                    edge(2 * n + z, node, (0.0, wait, 0.0, fare, 1.0))
                    ride = car[z, idx[k + 1]]
                    if not (math.isfinite(ride) and ride >= 0):
                        msg = (
                            f"bus line {name!r}: the car skim has no time from "
                            f"{zones[z]!r} to {zones[idx[k + 1]]!r}"
                        )
                        raise InputError(msg)
                    edge(node, node + 1, (ride / float(speed_factor), 0.0, 0.0, 0.0, 0.0))
                if k > 0:  # alight here
                    edge(node, 2 * n + z, (0.0, 0.0, 0.0, 0.0, 0.0))
            nxt += len(idx)
    walks = np.concatenate(walk_c)
    comp = np.zeros((len(walks) + len(comps), 5))
    comp[: len(walks), 2] = walks
    comp[len(walks) :] = np.asarray(comps, dtype=float).reshape(-1, 5)
    gen = (
        comp[:, 0]
        + wait_weight * comp[:, 1]
        + walk_weight * comp[:, 2]
        + transfer_penalty_min * comp[:, 4]
    )
    u = np.concatenate([*walk_u, np.asarray(us, dtype=np.int64)]).astype(np.int64)
    v = np.concatenate([*walk_v, np.asarray(vs, dtype=np.int64)]).astype(np.int64)
    # csgraph ignores explicit zeros in sparse input: a zero-cost edge must stay an edge
    gen = np.where(gen <= 0, np.finfo(float).tiny, gen)
    graph = sp.csr_array((gen, (u, v)), shape=(nxt, nxt))  # (u, v) pairs are unique
    edge_id = sp.csr_array((np.arange(1, len(u) + 1, dtype=float), (u, v)), shape=(nxt, nxt))
    dist, pred = dijkstra(graph, directed=True, indices=np.arange(n), return_predecessors=True)
    # component increment of every tree edge (pred[s, w] -> w), then sums along the tree
    has = pred >= 0
    src_i, node_i = np.nonzero(has)
    eid = np.asarray(edge_id[pred[src_i, node_i], node_i]).astype(np.int64).ravel() - 1
    total = np.zeros((5, *pred.shape))
    total[:, src_i, node_i] = comp[eid].T
    # pointer jumping, log2(depth) rounds: every node adds its ancestor's sum and jumps to
    # the ancestor's ancestor, all at once (the right side is read before it is written);
    # only the nodes that still have an ancestor, fewer each round
    anc = np.where(has, pred, -1)
    origin, reached = src_i, node_i
    while len(origin):
        up = anc[origin, reached]
        total[:, origin, reached] += total[:, origin, up]
        further = anc[origin, up]
        anc[origin, reached] = further
        climbing = further >= 0
        origin, reached = origin[climbing], reached[climbing]
    out = total[:, :, n : 2 * n]
    unreachable = ~np.isfinite(dist[:, n : 2 * n])
    np.fill_diagonal(unreachable, val=True)
    out[:, unreachable] = np.nan
    logger.info(
        "transit skim: %s lines, %s zones, %s of %s pairs by bus",
        f"{len(service.lines):,}",
        f"{n:,}",
        f"{int((~unreachable).sum()):,}",
        f"{n * (n - 1):,}",
    )

    def frame(a: np.ndarray) -> pd.DataFrame:
        return pd.DataFrame(a, index=zones, columns=zones)

    return TransitSkim(*(frame(out[c]) for c in range(5)))


def _aligned(values: Any, zones: pd.Index, *, columns: bool = False) -> Any:
    """``values`` reindexed to ``zones`` (its columns with ``columns``), itself if aligned."""
    labels = values.columns if columns else values.index
    if labels.equals(zones):
        return values
    return values.reindex(columns=zones) if columns else values.reindex(zones)


def _zone_ids(zones: pd.DataFrame | pd.Index | Sequence[str]) -> pd.Index:
    if isinstance(zones, pd.DataFrame):
        return pd.Index([str(z) for z in zones.index])
    return pd.Index([str(z) for z in zones])


def bus_service_from_table(
    path: str | Path, zones: pd.DataFrame | pd.Index | Sequence[str]
) -> BusService:
    r"""Read bus lines from a CSV table.

    The columns are :data:`LINE_COLUMNS`; ``stops`` lists zone ids separated by ``;``
    (``"331003001;331003003;331003101"``).

    Parameters
    ----------
    path
        CSV file (UTF-8).
    zones
        The zones (a frame indexed by zone id, or the ids): every stop must be one of them.

    Returns
    -------
    BusService

    Raises
    ------
    InputError
        Naming the file, the line of the file and the column, if a column is missing, a stop
        is not a zone, or a value is out of range.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "lines.csv"
    >>> _ = p.write_text("line,stops,headway_min,speed_factor,fare_yuan,source\n"
    ...                  "1,a;b;c,20,0.6,2,estimate: example\n", encoding="utf-8")
    >>> bus_service_from_table(p, ["a", "b", "c"]).lines["stops"].tolist()
    [('a', 'b', 'c')]
    """
    p = Path(path)
    what = "bus lines table"
    df = read_rows(p, BUS_LINES)
    ids = set(_zone_ids(zones))

    def where(i: int) -> str:
        return f"{what} {str(p)!r}" if i < 0 else f"{what} {str(p)!r}, line {i + 2}"

    missing = [c for c in LINE_COLUMNS if c not in df.columns]
    if missing:
        _check_lines(df, where)
    stops_col: list[tuple[str, ...]] = []
    for i, raw in enumerate(df["stops"].tolist()):
        text = raw if isinstance(raw, str) else ""
        stops = tuple(s.strip() for s in text.split(";") if s.strip())
        unknown = [s for s in stops if s not in ids]
        if unknown:
            msg = (
                f"{where(i)}, column 'stops': zone id(s) {unknown[:10]} are not zones; "
                "use the zone ids of the scenario's zones"
            )
            raise InputError(msg)
        stops_col.append(stops)
    df["stops"] = stops_col
    for col in ("headway_min", "speed_factor", "fare_yuan"):
        df[col] = pd.to_numeric(df[col], errors="coerce").where(
            pd.to_numeric(df[col], errors="coerce").notna(), df[col]
        )
    _check_lines(df, where)
    return BusService(df[list(LINE_COLUMNS)])


_STOP_ROLES = frozenset(
    {"stop", "platform", "stop_entry_only", "stop_exit_only", "platform_entry_only",
     "platform_exit_only"}
)  # fmt: skip


def _osm_headway(
    tags: dict[str, str], headway_min: float, headway_source: str
) -> tuple[float, str | None]:
    """Return a route's headway and its origin: its ``interval`` tag if plausible, or the default.

    The origin is None when the tag is there but outside :data:`OSM_INTERVAL_RANGE_MIN`.
    """
    interval = osm_minutes(tags.get("interval"))
    if not math.isfinite(interval):
        return headway_min, headway_source
    lo, hi = OSM_INTERVAL_RANGE_MIN
    if not lo <= interval <= hi:
        return headway_min, None
    return interval, "OSM interval tag"


def _warn_implausible(
    path: Path, best: dict[str, tuple[tuple[str, ...], int, dict[str, str]]], headway_min: float
) -> None:
    """Warn about the routes whose ``interval`` tag is not a plausible headway."""
    routes = [
        f"{name} ({tags.get('interval')!r})"
        for name, (_, _, tags) in sorted(best.items(), key=lambda r: (len(r[0]), r[0]))
        if _osm_headway(tags, 1.0, "-")[1] is None
    ]
    if not routes:
        return
    lo, hi = OSM_INTERVAL_RANGE_MIN
    warnings.warn(
        f"OSM file {path.name!r}: the interval tag of {len(routes)} bus route(s) is "
        f"outside {lo:g}-{hi:g} min and was replaced by headway_min = {headway_min:g}: "
        + ", ".join(routes[:10])
        + (" ..." if len(routes) > 10 else "")
        + "; fix the tags, or set [bus] headway_min",
        UrlinkWarning,
        stacklevel=3,
    )


def bus_service_from_osm(
    path: str | Path,
    zones: gpd.GeoDataFrame,
    *,
    operator: str | None = None,
    exclude_refs: Sequence[str] = (),
    headway_min: float = 30.0,
    headway_source: str = "assumption",
    speed_factor: float = DEFAULT_SPEED_FACTOR,
    fare_yuan: float = 0.0,
) -> BusService:
    """Build the bus service from the ``route=bus`` relations of an OpenStreetMap file.

    Each relation's stop and platform nodes, in member order, are mapped to the zone that
    contains them; consecutive stops in one zone collapse into one stop zone. A route that
    touches fewer than two zones is left out, and of the two directions of a route (same
    ``ref``, the same zones reversed) one line is kept. The headway is the route's
    ``interval`` tag where present, else ``headway_min`` (an assumption, labelled in
    ``source``). Of the relations of one route (its ``ref``: the two directions and
    variants) the one through the most zones is kept, so a route counts once.

    Parameters
    ----------
    path
        An ``.osm.pbf`` file.
    zones
        Zones with polygons (any CRS), indexed by zone id.
    operator
        Keep only routes whose ``operator`` tag is this (leaves out defunct operators).
    exclude_refs
        Route numbers (``ref``) to leave out, e.g. night routes.
    headway_min, headway_source
        Headway of routes without an ``interval`` tag, and its citation.
    speed_factor
        Bus speed / car speed of every line.
    fare_yuan
        Fare of every line.

    The walk to a stop comes from the stops' density in each zone: for stops spread at
    random with density λ per km² the mean straight-line distance to the nearest is
    ``0.5 / sqrt(λ)`` (Clark & Evans 1954, *Ecology* 35(4):445-453), times the road circuity
    1.3 (:data:`urlink.network.streets.DEFAULT_CIRCUITY`); zones without a stop keep their
    intrazonal walk (``stop_access_km`` NaN).

    Returns
    -------
    BusService
        One line per route, named by its ``ref``, with ``source`` naming the OSM relation
        and the headway's origin.

    Raises
    ------
    InputError
        If the file cannot be read or no route touches two zones.

    Examples
    --------
    >>> from urlink.io.osm_admin import zones_from_osm
    >>> pbf = "data/osm/malta.osm.pbf"
    >>> zones = zones_from_osm(pbf, admin_level=8, include=[7510559])
    >>> svc = bus_service_from_osm(pbf, zones, operator="Malta Public Transport")
    >>> len(svc.lines) > 100, svc.lines["source"].str.contains("relation").all()
    (True, np.True_)
    """
    p = Path(path)
    skip = set(exclude_refs)
    routes: list[tuple[int, dict[str, str], list[int]]] = []
    try:
        for rel in osmium.FileProcessor(str(p), osmium.osm.RELATION):
            if not isinstance(rel, osmium.osm.Relation):
                continue
            tags = {t.k: t.v for t in rel.tags}
            if tags.get("route") != "bus":
                continue
            if operator is not None and tags.get("operator") != operator:
                continue
            if tags.get("ref") in skip:
                continue
            stops = [m.ref for m in rel.members if m.type == "n" and m.role in _STOP_ROLES]
            routes.append((rel.id, tags, stops))
        wanted = {n for _, _, stops in routes for n in stops}
        where: dict[int, tuple[float, float]] = {}
        for node in osmium.FileProcessor(str(p), osmium.osm.NODE):
            if isinstance(node, osmium.osm.Node) and node.id in wanted and node.location.valid():
                where[node.id] = (node.location.lon, node.location.lat)
    except RuntimeError as err:
        msg = f"OSM file {str(p)!r} could not be read as PBF ({err})"
        raise InputError(msg) from None
    ids = sorted(where)
    pts = gpd.GeoDataFrame(
        {"node": ids},
        geometry=gpd.points_from_xy([where[i][0] for i in ids], [where[i][1] for i in ids]),
        crs="EPSG:4326",
    ).to_crs(zones.crs)
    hit = gpd.sjoin(pts, zones[["geometry"]].rename_axis("zone_id").reset_index(), how="inner")
    zone_of = dict(zip(hit["node"], hit["zone_id"].astype(str), strict=True))
    best: dict[str, tuple[tuple[str, ...], int, dict[str, str]]] = {}
    for rid, tags, stops in sorted(routes, key=lambda r: r[0]):
        seq = [zone_of[n] for n in stops if n in zone_of]
        key = tuple(z for i, z in enumerate(seq) if i == 0 or z != seq[i - 1])
        ref = tags.get("ref") or f"r{rid}"
        if len(key) >= 2 and (ref not in best or len(key) > len(best[ref][0])):
            best[ref] = (key, rid, tags)
    rows: list[dict[str, Any]] = []
    for name in sorted(best, key=lambda r: (len(r), r)):
        key, rid, tags = best[name]
        headway, how = _osm_headway(tags, headway_min, headway_source)
        how = how or headway_source  # None: an implausible tag, warned about below
        rows.append(
            {
                "line": name,
                "stops": key,
                "headway_min": headway,
                "speed_factor": speed_factor,
                "fare_yuan": fare_yuan,
                "source": (
                    f"OpenStreetMap route relation {rid} ({tags.get('name', name)}), stops in "
                    f"member order (ODbL); headway: {how}"
                ),
            }
        )
    if not rows:
        msg = (
            f"OSM file {str(p)!r}: no route=bus relation"
            + (f" of operator {operator!r}" if operator else "")
            + " has stops in two or more zones; check the file and the operator name"
        )
        raise InputError(msg)
    _warn_implausible(p, best, headway_min)
    logger.info("%s: %d bus lines from %d route relations", p.name, len(rows), len(routes))
    per_zone = hit.groupby("zone_id")["node"].nunique().reindex(zones.index, fill_value=0)
    area_km2 = zones.geometry.to_crs(zones.estimate_utm_crs()).area / 1e6
    density = per_zone.astype(float) / area_km2
    # mean distance to the nearest of randomly placed stops (Clark & Evans 1954), on roads
    access = (0.5 / np.sqrt(density.where(density > 0))) * DEFAULT_STOP_CIRCUITY
    return BusService(pd.DataFrame(rows, columns=list(LINE_COLUMNS)), access.rename(None))


def _gtfs_kit() -> Any:
    try:
        import gtfs_kit as gk  # noqa: PLC0415 - optional dependency, imported on use
    except ImportError:
        msg = 'reading GTFS feeds needs gtfs-kit: pip install "urlink[gtfs]"'
        raise InputError(msg) from None
    return gk


def _seconds(t: pd.Series) -> np.ndarray:
    """GTFS times ``H:MM:SS`` (hours may exceed 24) as seconds; NaN where blank."""
    parts = t.astype("string").str.strip().str.split(":", expand=True)
    if parts.shape[1] < 3:
        return np.full(len(t), np.nan)
    h, m, s = (pd.to_numeric(parts[k], errors="coerce") for k in range(3))
    return (h * 3600 + m * 60 + s).to_numpy(dtype=float)


def _one_second(text: str, name: str) -> float:
    v = _seconds(pd.Series([text]))[0]
    if not math.isfinite(v):
        msg = f"{name} = {text!r} is not a time; use 'HH:MM:SS'"
        raise InputError(msg)
    return float(v)


GTFS_REQUIRED: dict[str, tuple[str, ...]] = {
    "stops": ("stop_id", "stop_lat", "stop_lon"),
    "routes": ("route_id",),
    "trips": ("route_id", "service_id", "trip_id"),
    "stop_times": ("trip_id", "stop_id", "stop_sequence", "arrival_time", "departure_time"),
}
"""The GTFS tables and columns :func:`bus_service_from_gtfs` needs."""


def _check_feed(feed: Any, p: Path) -> None:
    """Refuse a feed without the tables, columns or coordinates the reader needs."""
    for table, columns in GTFS_REQUIRED.items():
        frame = getattr(feed, table, None)
        if frame is None or len(frame) == 0:
            msg = f"GTFS feed {str(p)!r}: {table}.txt is missing or has no rows; add it"
            raise InputError(msg)
        if not frame.columns.is_unique:
            twice = sorted({str(c) for c in frame.columns[frame.columns.duplicated()]})
            msg = f"GTFS feed {str(p)!r}: {table}.txt names the columns {twice} twice"
            raise InputError(msg)
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            msg = f"GTFS feed {str(p)!r}: {table}.txt has no column(s) {missing}; add them"
            raise InputError(msg)
    if getattr(feed, "calendar", None) is None and getattr(feed, "calendar_dates", None) is None:
        msg = f"GTFS feed {str(p)!r}: neither calendar.txt nor calendar_dates.txt; add one"
        raise InputError(msg)
    for col, limit in (("stop_lat", 90.0), ("stop_lon", 180.0)):
        v = pd.to_numeric(feed.stops[col], errors="coerce")
        bad = ~(v.abs() <= limit)
        if bad.any():
            i = int(np.argmax(bad.to_numpy()))
            msg = (
                f"GTFS feed {str(p)!r}: stops.txt row {i + 1} (stop_id "
                f"{feed.stops['stop_id'].iloc[i]!r}): {col} = {feed.stops[col].iloc[i]!r} is "
                f"not a number within ±{limit:g}; fix the stop's coordinates"
            )
            raise InputError(msg)


def bus_service_from_gtfs(
    path: str | Path,
    zones: gpd.GeoDataFrame,
    *,
    date: str | None = None,
    start: str = "07:00:00",
    end: str = "09:00:00",
    car_skim: pd.DataFrame | None = None,
) -> BusService:
    """Read the bus lines of a GTFS feed, with stops mapped to zones.

    Each stop goes to the zone whose polygon contains it (stops outside every zone are
    dropped and counted in a warning; stations, ``location_type = 1``, are ignored). Each
    route becomes one line: the zone sequence of its most frequent trip pattern on ``date``
    (consecutive stops in one zone merged). Its headway is the window length divided by the
    trips of that pattern's direction starting in ``[start, end)`` (trips of
    ``frequencies.txt`` count ``overlap / headway_secs``). Its speed factor is the car time
    along the zones over the median scheduled run time, clipped to (0, 1]; without a car skim
    it is :data:`DEFAULT_SPEED_FACTOR`. Its fare is the ``fare_attributes`` price of the
    route's fare rule (of the only fare when there is one; 0 when the feed has none), in the
    feed's currency (a warning says when that is not CNY). Every line's ``source`` says
    where each value came from.

    Parameters
    ----------
    path
        GTFS zip file or folder.
    zones
        Zone polygons indexed by zone id.
    date
        Service day ``YYYYMMDD`` (None: the busiest day of the feed's first week).
    start, end
        Time window ``HH:MM:SS`` for the headways (default the morning peak 07:00-09:00).
    car_skim
        Car minutes between zones, for the speed factors.

    Returns
    -------
    BusService

    Raises
    ------
    InputError
        If gtfs-kit is missing, the feed cannot be read, the window is empty, or no route
        has two stops in the zones with a trip in the window.

    Examples
    --------
    Two square zones around the airport and Bullfrog stops of Google's demo feed (the other
    stops lie outside and are dropped with a warning):

    >>> pts = gpd.GeoSeries.from_xy([-116.7846, -116.8180], [36.8684, 36.8811], crs=4326)
    >>> squares = pts.to_crs(32611).buffer(500, cap_style="square").to_crs(4326)
    >>> zones = gpd.GeoDataFrame(geometry=squares.set_axis(["airport", "bullfrog"]))
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore", UrlinkWarning)
    ...     svc = bus_service_from_gtfs("tests/data/gtfs/dta_good_feed.zip", zones,
    ...                                 date="20070605", start="06:00:00", end="10:00:00")
    >>> svc.lines[["line", "stops"]].to_dict("records")
    [{'line': 'AB', 'stops': ('airport', 'bullfrog')}]
    """
    try:
        return _read_gtfs(path, zones, date=date, start=start, end=end, car_skim=car_skim)
    except InputError:
        raise
    except (KeyError, ValueError, TypeError, AttributeError, IndexError, ZeroDivisionError) as err:
        # gtfs-kit reads what it is given; a feed broken in a way _check_feed does not name
        # ends here instead of in a traceback
        msg = (
            f"GTFS feed {str(path)!r} is not a usable feed ({type(err).__name__}: {err}); "
            "check it with a GTFS validator (e.g. MobilityData's gtfs-validator) and fix "
            "the tables it names"
        )
        raise InputError(msg) from None


def _read_gtfs(  # noqa: PLR0912, PLR0915 - one pass over the feed's tables
    path: str | Path,
    zones: gpd.GeoDataFrame,
    *,
    date: str | None = None,
    start: str = "07:00:00",
    end: str = "09:00:00",
    car_skim: pd.DataFrame | None = None,
) -> BusService:
    """:func:`bus_service_from_gtfs` without the net for malformed feeds."""
    gk = _gtfs_kit()
    p = Path(path)
    t0, t1 = _one_second(start, "start"), _one_second(end, "end")
    if t1 <= t0:
        msg = f"start = {start!r}, end = {end!r}: the window is empty; end must be after start"
        raise InputError(msg)
    window_min = (t1 - t0) / 60.0
    try:
        feed = gk.read_feed(p, dist_units="km")
    except Exception as err:  # gtfs-kit raises many kinds
        msg = f"GTFS feed {str(p)!r} could not be read ({err})"
        raise InputError(msg) from None
    _check_feed(feed, p)
    if date is None:
        date = str(feed.compute_busiest_date(feed.get_first_week()))
    stops = feed.stops.copy()
    if "location_type" in stops.columns:
        lt = pd.to_numeric(stops["location_type"], errors="coerce").fillna(0)
        stops = stops[lt == 0]
    pts = gpd.GeoDataFrame(
        {"stop_id": stops["stop_id"].astype(str).to_numpy()},
        geometry=gpd.points_from_xy(stops["stop_lon"], stops["stop_lat"]),
        crs="EPSG:4326",
    ).to_crs(zones.crs)
    poly = gpd.GeoDataFrame(
        {"zone_id": zones.index.astype(str).to_numpy()},
        geometry=zones.geometry.to_numpy(),
        crs=zones.crs,
    )
    hit = gpd.sjoin(pts, poly, how="left", predicate="within")
    hit = hit[~hit.index.duplicated(keep="first")]
    stop_zone = dict(zip(hit["stop_id"], hit["zone_id"], strict=True))
    outside = [s for s, z in stop_zone.items() if not isinstance(z, str)]
    if outside:
        warnings.warn(
            f"GTFS feed {str(p)!r}: {len(outside):,} of {len(stop_zone):,} stops lie outside "
            f"every zone and were dropped (e.g. {outside[:5]})",
            UrlinkWarning,
            stacklevel=2,
        )
    stop_zone = {s: z for s, z in stop_zone.items() if isinstance(z, str)}

    trips = feed.get_trips(date)
    if trips is None or trips.empty:
        msg = f"GTFS feed {str(p)!r}: no trips run on date {date!r}"
        raise InputError(msg)
    st = feed.stop_times[feed.stop_times["trip_id"].isin(trips["trip_id"])].copy()
    st["stop_sequence"] = pd.to_numeric(st["stop_sequence"], errors="coerce")
    st = st.sort_values(["trip_id", "stop_sequence"])
    st["arr_s"] = _seconds(st["arrival_time"])
    st["dep_s"] = _seconds(st["departure_time"])
    pattern: dict[str, tuple[str, ...]] = {}
    first_dep: dict[str, float] = {}
    run_min: dict[str, float] = {}
    for trip_id, grp in st.groupby("trip_id", sort=False):
        seq: list[str] = []
        for s in grp["stop_id"].astype(str):
            z = stop_zone.get(s)
            if z is not None and (not seq or seq[-1] != z):
                seq.append(z)
        pattern[str(trip_id)] = tuple(seq)
        first_dep[str(trip_id)] = (
            float(np.nanmin(grp["dep_s"])) if grp["dep_s"].notna().any() else math.nan
        )
        times = grp[grp["stop_id"].astype(str).isin(stop_zone)]
        span = np.nanmax(times["arr_s"]) - np.nanmin(times["dep_s"]) if len(times) else math.nan
        run_min[str(trip_id)] = float(span) / 60.0
    freq = feed.frequencies if getattr(feed, "frequencies", None) is not None else None

    def trips_in_window(trip_id: str) -> float:
        if freq is not None and (freq["trip_id"] == trip_id).any():
            f = freq[freq["trip_id"] == trip_id]
            a, b = _seconds(f["start_time"]), _seconds(f["end_time"])
            h = pd.to_numeric(f["headway_secs"], errors="coerce").to_numpy(dtype=float)
            overlap = np.clip(np.minimum(b, t1) - np.maximum(a, t0), 0, None)
            return float(np.nansum(overlap / h))
        d = first_dep.get(trip_id, math.nan)
        return 1.0 if t0 <= d < t1 else 0.0

    fares: dict[str, tuple[float, str]] = {}
    fa = getattr(feed, "fare_attributes", None)
    fr = getattr(feed, "fare_rules", None)
    if fa is not None and len(fa):
        prices = pd.to_numeric(fa["price"], errors="coerce")
        if not (prices.notna() & (prices >= 0) & (prices < math.inf)).all():
            i = int(np.argmax(~(prices.notna() & (prices >= 0) & (prices < math.inf)).to_numpy()))
            msg = (
                f"GTFS feed {str(p)!r}: fare_attributes.txt row {i + 1}: price = "
                f"{fa['price'].iloc[i]!r} is not a finite number >= 0; fix the fare"
            )
            raise InputError(msg)
        price = dict(zip(fa["fare_id"].astype(str), prices, strict=True))
        currency = dict(
            zip(fa["fare_id"].astype(str), fa["currency_type"].astype(str), strict=True)
        )
        if fr is not None and "route_id" in fr.columns:
            for r, fid in zip(fr["route_id"], fr["fare_id"].astype(str), strict=True):
                if isinstance(r, str) and r not in fares and fid in price:
                    fares[r] = (float(price[fid]), currency[fid])
        if len(fa) == 1:
            fid = str(fa["fare_id"].iloc[0])
            fares.setdefault("*", (float(price[fid]), currency[fid]))
        foreign = sorted({c for _, c in fares.values() if c != "CNY"})
        if foreign:
            warnings.warn(
                f"GTFS feed {str(p)!r}: fares are in {foreign}, not converted to yuan",
                UrlinkWarning,
                stacklevel=2,
            )

    rows: list[dict[str, Any]] = []
    skipped: list[str] = []
    dir_col = trips["direction_id"] if "direction_id" in trips.columns else None
    for route_id, grp in trips.groupby("route_id", sort=False):
        rid = str(route_id)
        tids = grp["trip_id"].astype(str).tolist()
        counts = Counter(pattern[t] for t in tids if len(pattern.get(t, ())) >= 2)
        if not counts:
            skipped.append(rid)
            continue
        main = counts.most_common(1)[0][0]
        main_trips = [t for t in tids if pattern.get(t) == main]
        if dir_col is not None:
            dirs = dir_col.loc[grp.index]
            main_dir = dirs[grp["trip_id"].astype(str) == main_trips[0]].iloc[0]
            same = grp["trip_id"].astype(str)[dirs == main_dir] if pd.notna(main_dir) else None
            window_trips = same.tolist() if same is not None else main_trips
        else:
            window_trips = main_trips
        n_window = sum(trips_in_window(t) for t in window_trips)
        if n_window <= 0:
            skipped.append(rid)
            continue
        headway = window_min / n_window
        runs = [run_min[t] for t in main_trips if math.isfinite(run_min[t]) and run_min[t] > 0]
        run = float(np.median(runs)) if runs else math.nan
        if car_skim is not None and math.isfinite(run):
            cpos = {str(z): i for i, z in enumerate(car_skim.index)}
            cvals = car_skim.reindex(columns=car_skim.index).to_numpy(dtype=float)
            car_t = float(
                sum(
                    cvals[cpos[a], cpos[b]] if a in cpos and b in cpos else math.nan
                    for a, b in itertools.pairwise(main)
                )
            )
            factor = float(np.clip(car_t / run, 1e-3, 1.0)) if math.isfinite(car_t) else math.nan
            speed_src = f"speed factor: car {car_t:.1f} min / scheduled {run:.1f} min"
        else:
            factor = math.nan
        if not math.isfinite(factor):
            factor = DEFAULT_SPEED_FACTOR
            speed_src = f"speed factor: default {DEFAULT_SPEED_FACTOR} (no car time)"
        fare, cur = fares.get(rid, fares.get("*", (0.0, "")))
        fare_src = f"fare {fare:g} {cur} from fare_attributes" if cur else "fare: none in feed (0)"
        rows.append(
            {
                "line": rid,
                "stops": main,
                "headway_min": headway,
                "speed_factor": factor,
                "fare_yuan": fare,
                "source": (
                    f"GTFS {p.name}, {date} {start}-{end}: headway {window_min:g} min / "
                    f"{n_window:g} trips; {speed_src}; {fare_src}"
                ),
            }
        )
    if skipped:
        warnings.warn(
            f"GTFS feed {str(p)!r}: {len(skipped):,} route(s) have no trip with two zones in "
            f"{start}-{end} on {date} and were dropped: {skipped[:10]}",
            UrlinkWarning,
            stacklevel=2,
        )
    if not rows:
        msg = (
            f"GTFS feed {str(p)!r}: no route has a trip between two zones in {start}-{end} on "
            f"{date}; check the zones, the date and the window"
        )
        raise InputError(msg)
    logger.info("GTFS %s: %s lines", p.name, f"{len(rows):,}")
    return BusService(pd.DataFrame(rows, columns=list(LINE_COLUMNS)))
