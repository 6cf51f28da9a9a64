"""Strategy kinds: small, named edits of a base state, the Raumbild way.

A strategy (:class:`urlink.model.state.Strategy`: a frozen record with its tags: sites,
responsible actor, administrative level, sector, cost) names a *kind*, a function
``(state, strategy) -> state`` registered in :data:`STRATEGY_KINDS` with a settings
dataclass whose fields are the keys of the strategy's ``params`` table. Kind functions never
mutate their input; they edit what they change and call
:func:`urlink.model.state.update_flows` with what changed, so only the flows that depend on
it are recomputed. New kinds plug in with :func:`register_kind` or the entry-point group
``urlink.strategy_kinds`` (``docs/extending.md``).

Road edits (``add_link``, ``upgrade_road``) update the travel-time skim incrementally with
:func:`urlink.network.skims.update_travel_time_matrix` (exact, no full recomputation).

Kinds and their parameters (``params``):

``add_link``
    A new two-way road, exactly one of: ``from``, ``to`` (zone ids whose seats it joins),
    ``from_point``, ``to_point`` (WGS84 ``[lon, lat]``) or ``line`` (a GeoJSON file or
    ``[[lon, lat], ...]``; its length is the line's). ``highway`` ("primary": the speed of
    that class in :data:`urlink.network.streets.DEFAULT_SPEEDS_KPH`), ``speed_kph``
    (overrides it), ``circuity`` (1.2: a new road is straighter than the average, see
    docs/network.md; zones and points), ``max_snap_m`` (2000: farthest a point or line end
    may be from the network).
``upgrade_road``
    Exactly one of: ``links`` (``[zone, zone]`` pairs: the proxy link between the seats, or
    on OSM the fastest path between them), ``ways`` (OSM way ids) or ``path``
    (``[[lon, lat], ...]``: the fastest path through the points); ``speed_factor`` (1.25:
    travel times divided by it). The links are found by :mod:`urlink.network.edits`.
``bus_line``
    ``stops`` (zone ids), ``headway_min`` (20), ``mode_shift`` (0.1: share of car trips
    between stop zones that move to the bus; an assumption to set from surveys).
``market_hub``
    ``zone``, ``demand_weight`` (weight added to the goods markets).
``eco_compensation``
    ``rate_yuan_per_m3``, ``quality_met`` (true).
``land_change``
    ``zones`` (ids), ``water_supply_factor`` (e.g. 1.05 after restoring forest).
``service_relocation``
    ``service`` (e.g. ``"hospital"``), ``from``, ``to`` (zone ids).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import pandas as pd

from urlink.errors import InputError
from urlink.model.inputs import CapitalSetup
from urlink.model.state import BusLine, Change, State, Strategy, update_flows
from urlink.network.edits import (
    DEFAULT_MAX_SNAP_M,
    fastest_path_links,
    line_from,
    line_length_m,
    links_of_ways,
    snap_points,
)
from urlink.network.skims import (
    EdgeChange,
    apply_edge_changes,
    snap_to_nodes,
    update_distance_matrix_km,
    update_travel_time_and_distance,
    update_travel_time_matrix,
)
from urlink.network.streets import DEFAULT_SPEEDS_KPH
from urlink.params import params_from_table, toml_key
from urlink.registry import Registry, builtin

if TYPE_CHECKING:
    from pathlib import Path

__all__ = [
    "STRATEGY_KINDS",
    "AddLinkParams",
    "BusLineParams",
    "EcoCompensationParams",
    "LandChangeParams",
    "MarketHubParams",
    "ServiceRelocationParams",
    "StrategyKind",
    "UpgradeRoadParams",
    "apply_strategy",
    "register_kind",
    "strategy_params",
    "zone_ids_named",
]


class StrategyKind(Protocol):
    """What a strategy kind is: ``kind(state, strategy) -> new state`` (never mutating).

    ``strategy.params`` is an instance of the kind's settings dataclass.
    """

    def __call__(self, state: State, strategy: Strategy, /) -> State:
        """Apply the strategy."""
        ...


STRATEGY_KINDS: Registry[StrategyKind] = Registry("strategy kind", group="urlink.strategy_kinds")
"""Strategy kinds by name; add your own with :func:`register_kind` or an entry point."""


def register_kind(name: str, *, settings: type | None = None) -> Any:
    """Register a strategy kind (a decorator).

    Parameters
    ----------
    name
        The ``kind`` value in scenario files.
    settings
        Dataclass of the kind's ``params`` (its fields are the TOML keys; a field's
        ``metadata={"zone": True}`` marks values that are zone ids, checked by
        ``urlink validate``; ``metadata={"toml": "from"}`` gives a key that is not a Python
        name).

    Returns
    -------
    callable
        The decorator.

    Raises
    ------
    urlink.registry.RegistrationError
        If the name is taken.
    """
    return STRATEGY_KINDS.register(name, settings=settings)


logger = logging.getLogger(__name__)

_ZONE = MappingProxyType({"zone": True})
"""Field metadata of settings that hold zone ids (checked against the zones)."""
_FROM_ZONE = MappingProxyType({"zone": True, "toml": "from"})
"""The same for a field whose TOML key is ``from`` (a Python keyword)."""


MAX_FARE_YUAN = 1000.0
"""Highest bus fare (yuan)."""
MAX_RATE_YUAN_PER_M3 = 1000.0
"""Highest eco-compensation rate (yuan per m3 of water)."""
MAX_SPEED_KPH = 200.0
"""Fastest road a strategy may add or make (km/h): above any road speed limit in China."""


def _positive(cls: str, key: str, value: float, *, maximum: float | None = None) -> None:
    if not (value > 0 and math.isfinite(value)):
        msg = f"{cls}.{key} = {value!r} must be a positive number"
        raise InputError(msg)
    if maximum is not None and value > maximum:
        msg = f"{cls}.{key} = {value!r} must be at most {maximum:g}; check the unit"
        raise InputError(msg)


Coords = tuple[tuple[float, float], ...]
"""``[[lon, lat], ...]`` in WGS84."""


def _forms(kind: str, given: dict[str, bool], hint: str) -> None:
    """Check that exactly one of a kind's alternative forms is given."""
    named = [k for k, v in given.items() if v]
    if len(named) != 1:
        got = f"got {' and '.join(named)}" if named else "got none"
        msg = f"{kind}: give exactly one of {hint} ({got})"
        raise InputError(msg)


def _check_road_class(kind: str, highway: str) -> None:
    if highway not in DEFAULT_SPEEDS_KPH:
        msg = (
            f"{kind}: highway = {highway!r} is not a road class of the speed table; use one of "
            f"{sorted(DEFAULT_SPEEDS_KPH)} (or give speed_kph)"
        )
        raise InputError(msg)


@dataclass(frozen=True, slots=True)
class AddLinkParams:
    """``add_link``: a new two-way road between two zone seats, two points or a drawn line.

    Exactly one form: ``from`` and ``to`` (zone ids; length = straight distance between the
    seats' nodes x ``circuity``), ``from_point`` and ``to_point`` (WGS84 ``[lon, lat]``;
    the same length rule), or ``line`` (a GeoJSON file or ``[[lon, lat], ...]``; length =
    the line's length). Points and line ends are joined to their nearest network nodes,
    at most ``max_snap_m`` away. The speed is ``speed_kph``, else the speed of the road
    class ``highway`` in :data:`urlink.network.streets.DEFAULT_SPEEDS_KPH`.
    """

    from_zone: str | None = field(default=None, metadata=_FROM_ZONE)
    to: str | None = field(default=None, metadata=_ZONE)
    from_point: tuple[float, float] | None = None
    to_point: tuple[float, float] | None = None
    line: Path | Coords | None = None
    highway: str = "primary"
    speed_kph: float | None = None
    circuity: float = 1.2
    max_snap_m: float = DEFAULT_MAX_SNAP_M

    def __post_init__(self) -> None:
        """Check the form, road class, speed, circuity and snapping distance."""
        zones = self.from_zone is not None or self.to is not None
        points = self.from_point is not None or self.to_point is not None
        _forms(
            "add_link",
            {"from/to": zones, "from_point/to_point": points, "line": self.line is not None},
            "from and to (zone ids), from_point and to_point ([lon, lat]), or line",
        )
        if zones and (self.from_zone is None or self.to is None):
            gone = "from" if self.from_zone is None else "to"
            msg = f"add_link: key {gone!r} is missing; give both from and to (zone ids)"
            raise InputError(msg)
        if points and (self.from_point is None or self.to_point is None):
            gone = "from_point" if self.from_point is None else "to_point"
            msg = f"add_link: key {gone!r} is missing; give both from_point and to_point"
            raise InputError(msg)
        if self.speed_kph is not None:
            _positive("add_link", "speed_kph", self.speed_kph, maximum=MAX_SPEED_KPH)
        else:
            _check_road_class("add_link", self.highway)
        _positive("add_link", "circuity", self.circuity, maximum=10.0)
        _positive("add_link", "max_snap_m", self.max_snap_m, maximum=100_000.0)
        if zones and self.from_zone == self.to:
            msg = f"add_link: from and to are both {self.to!r}; a new road joins two zones"
            raise InputError(msg)

    @property
    def speed(self) -> float:
        """Speed of the new road, km/h (``speed_kph``, else its road class's)."""
        return DEFAULT_SPEEDS_KPH[self.highway] if self.speed_kph is None else self.speed_kph


@dataclass(frozen=True, slots=True)
class UpgradeRoadParams:
    """``upgrade_road``: existing roads sped up, named by zone pairs, OSM ways or a path.

    Exactly one form: ``links`` (``[zone, zone]`` pairs: on a proxy network the link between
    the seats, on OSM the fastest path between the seats' nodes, both directions), ``ways``
    (OSM way ids: every link of those ways) or ``path`` (``[[lon, lat], ...]``: the fastest
    path through the points' nearest nodes, in that direction).
    """

    links: tuple[tuple[str, str], ...] | None = field(default=None, metadata=_ZONE)
    ways: tuple[int, ...] | None = None
    path: Coords | None = None
    speed_factor: float = 1.25
    max_snap_m: float = DEFAULT_MAX_SNAP_M

    def __post_init__(self) -> None:
        """Check the form and the factor (an upgrade is >= 1)."""
        _forms(
            "upgrade_road",
            {
                "links": self.links is not None,
                "ways": self.ways is not None,
                "path": self.path is not None,
            },
            "links ([zone, zone] pairs), ways (OSM way ids) or path ([[lon, lat], ...])",
        )
        for key, value in (("links", self.links), ("ways", self.ways)):
            if value is not None and not value:
                msg = f"upgrade_road: {key} = [] is empty; name at least one"
                raise InputError(msg)
        if self.path is not None and len(self.path) < 2:
            msg = f"upgrade_road: path = {list(self.path)!r} needs at least two [lon, lat] points"
            raise InputError(msg)
        _positive("upgrade_road", "speed_factor", self.speed_factor, maximum=10.0)
        if self.speed_factor < 1:
            msg = f"upgrade_road: speed_factor = {self.speed_factor} must be >= 1 (an upgrade)"
            raise InputError(msg)
        _positive("upgrade_road", "max_snap_m", self.max_snap_m, maximum=100_000.0)


@dataclass(frozen=True, slots=True)
class BusLineParams:
    """``bus_line``: a new bus line through zones, with its headway (and speed, fare).

    With a bus service and a mode choice in the scenario, the line joins the service and the
    trips' modes are chosen again (bus shares, CO2 and bus accessibility follow); without
    them, ``mode_shift`` of the car trips between its stops move to the bus (the older rule).
    """

    stops: tuple[str, ...] = field(metadata=_ZONE)
    headway_min: float = 20.0
    speed_factor: float = 0.6
    fare_yuan: float = 2.0
    mode_shift: float | None = None

    def __post_init__(self) -> None:
        """Check the stops, headway, speed factor, fare and mode shift."""
        if len(self.stops) < 2:
            msg = f"bus_line: stops = {list(self.stops)} must name >= 2 zones"
            raise InputError(msg)
        _positive("bus_line", "headway_min", self.headway_min, maximum=1440.0)
        if not 0 < self.speed_factor <= 1:
            msg = f"bus_line: speed_factor = {self.speed_factor} must be in (0, 1]"
            raise InputError(msg)
        if not (0 <= self.fare_yuan <= MAX_FARE_YUAN):
            msg = f"bus_line: fare_yuan = {self.fare_yuan} must be >= 0 and <= {MAX_FARE_YUAN:g}"
            raise InputError(msg)
        if self.mode_shift is not None and not 0 < self.mode_shift <= 1:
            msg = f"bus_line: mode_shift = {self.mode_shift} must be in (0, 1]"
            raise InputError(msg)


@dataclass(frozen=True, slots=True)
class MarketHubParams:
    """``market_hub``: a market or processing hub for goods in a zone."""

    zone: str = field(metadata=_ZONE)
    demand_weight: float

    def __post_init__(self) -> None:
        """Check the weight."""
        _positive("market_hub", "demand_weight", self.demand_weight, maximum=1e6)


@dataclass(frozen=True, slots=True)
class EcoCompensationParams:
    """``eco_compensation``: users of ecosystem services pay the source zones."""

    rate_yuan_per_m3: float
    quality_met: bool = True

    def __post_init__(self) -> None:
        """Check the rate."""
        if not (0 <= self.rate_yuan_per_m3 <= MAX_RATE_YUAN_PER_M3):
            msg = (
                f"eco_compensation: rate_yuan_per_m3 = {self.rate_yuan_per_m3} must be >= 0 "
                f"and <= {MAX_RATE_YUAN_PER_M3:g} yuan per m3 (water costs a few yuan per m3)"
            )
            raise InputError(msg)


@dataclass(frozen=True, slots=True)
class LandChangeParams:
    """``land_change``: land use changed in zones, scaling their ecosystem-service supply."""

    zones: tuple[str, ...] = field(metadata=_ZONE)
    water_supply_factor: float

    def __post_init__(self) -> None:
        """Check the factor."""
        _positive("land_change", "water_supply_factor", self.water_supply_factor, maximum=100.0)


@dataclass(frozen=True, slots=True)
class ServiceRelocationParams:
    """``service_relocation``: a service (a hospital, a school) moved between zones."""

    service: str
    from_zone: str = field(metadata=_FROM_ZONE)
    to: str = field(metadata=_ZONE)

    def __post_init__(self) -> None:
        """Check that a service is named and that it moves (the two zones differ)."""
        if not self.service.strip():
            msg = f"service_relocation: service = {self.service!r} must name a service"
            raise InputError(msg)
        if self.from_zone == self.to:
            msg = (
                f"service_relocation: from and to are both {self.to!r}; a relocation moves the "
                "service to another zone"
            )
            raise InputError(msg)


def strategy_params(strategy: Strategy) -> Any:
    """Return the strategy's parameters as its kind's settings dataclass.

    Parameters
    ----------
    strategy
        A strategy whose ``params`` is a mapping or already the settings instance.

    Returns
    -------
    object
        The settings instance (or the mapping, for kinds without settings).

    Raises
    ------
    InputError
        If the kind is unknown, a key unknown or a value bad (naming the strategy).
    """
    settings = STRATEGY_KINDS.entry(strategy.kind).settings
    if settings is None or isinstance(strategy.params, settings):
        return strategy.params
    if not isinstance(strategy.params, Mapping):
        msg = f"strategy {strategy.name!r}: params must be a table, got {strategy.params!r}"
        raise InputError(msg)
    where = f"strategy {strategy.name!r} ({strategy.kind}):"
    return params_from_table(settings, strategy.params, where=where)


def zone_ids_named(params: Any) -> list[tuple[str, list[str]]]:
    """List the zone ids a strategy's settings name, per TOML key (``zone`` fields).

    Parameters
    ----------
    params
        A settings instance (mappings give an empty list).

    Returns
    -------
    list of (str, list of str)
    """
    if not dataclasses.is_dataclass(params):
        return []
    out = []
    for f in dataclasses.fields(params):
        if not f.metadata.get("zone"):
            continue
        value = getattr(params, f.name)
        if value is None:  # an alternative form left out
            continue
        flat = value if isinstance(value, tuple) else (value,)
        ids = [x for v in flat for x in (v if isinstance(v, tuple) else (v,))]
        out.append((toml_key(f), [str(x) for x in ids]))
    return out


def apply_strategy(state: State, strategy: Strategy) -> State:
    """Apply one strategy to a state and return the new state (the input is unchanged).

    Only what the strategy touches is recomputed: a road edit updates the skim
    incrementally and recomputes the flows that depend on travel times; other kinds
    recompute the flow types whose inputs they edit.

    Parameters
    ----------
    state
        The state before.
    strategy
        The strategy.

    Returns
    -------
    State
        The state after, with ``applied`` and ``cost_yuan`` updated.

    Raises
    ------
    InputError
        If the kind is unknown, a parameter is missing or bad, or a site is not a zone.
    """
    entry = STRATEGY_KINDS.entry(strategy.kind)
    unknown = [s for s in strategy.sites if s not in state.zones.index]
    if unknown:
        msg = f"strategy {strategy.name!r}: sites {unknown} are not zones of the scenario"
        raise InputError(msg)
    params = strategy_params(strategy)
    for key, ids in zone_ids_named(params):
        bad = [z for z in ids if z not in state.zones.index]
        if bad:
            msg = f"strategy {strategy.name!r}: {key} = {bad} are not zones of the scenario"
            raise InputError(msg)
    if params is not strategy.params:
        strategy = dataclasses.replace(strategy, params=params)
    new = entry.obj(state, strategy)
    return dataclasses.replace(
        new,
        applied=(*state.applied, strategy.name),
        cost_yuan=state.cost_yuan + (strategy.cost_yuan or 0.0),
    )


# ---------------------------------------------------------------------------------------------
# road edits


def _seat_node(state: State, zid: str) -> Any:
    snap = snap_to_nodes(state.routing, state.zones.loc[[zid]])
    return snap["node"].iloc[0]


def _edit_roads(
    state: State, time_changes: list[EdgeChange], length_changes: list[EdgeChange]
) -> State:
    if state.distance_path == "fastest":  # times and the lengths of their paths together
        skim, km = update_travel_time_and_distance(
            state.skim,
            state.distance_km,
            state.routing,
            state.routing_length,
            time_changes=time_changes,
            length_changes=length_changes,
            zones=state.zones,
            cutoff=state.cutoff_min,
            access_speed_kph=state.access_speed_kph,
        )
        new = dataclasses.replace(
            state,
            routing=apply_edge_changes(state.routing, time_changes),
            routing_length=apply_edge_changes(state.routing_length, length_changes),
            skim=skim,
            distance_km=km,
        )
        return update_flows(new, ("skim",))
    skim = update_travel_time_matrix(
        state.skim,
        state.routing,
        time_changes,
        origins=state.zones,
        cutoff=state.cutoff_min,
        access_speed_kph=state.access_speed_kph,
    )
    routing = apply_edge_changes(state.routing, time_changes)
    routing_length = apply_edge_changes(state.routing_length, length_changes)
    new = dataclasses.replace(
        state,
        routing=routing,
        routing_length=routing_length,
        skim=skim,
        distance_km=update_distance_matrix_km(
            state.distance_km, state.routing_length, length_changes, origins=state.zones
        )
        if length_changes
        else state.distance_km,
    )
    return update_flows(new, ("skim",))


@contextlib.contextmanager
def _about(s: Strategy, key: str) -> Iterator[None]:
    """Prefix a network helper's InputError with the strategy and its key."""
    try:
        yield
    except InputError as err:
        text = str(err)
        where = "" if text.startswith(key) else f"{key}: "
        msg = f"strategy {s.name!r} ({s.kind}): {where}{text}"
        raise InputError(msg) from None


def _new_road(
    state: State, s: Strategy, ends: tuple[Any, Any], *, length_m: float, speed_kph: float
) -> State:
    """Add a two-way road between two nodes (an existing faster or shorter link is kept)."""
    u, v = ends
    if u == v:
        msg = (
            f"strategy {s.name!r} ({s.kind}): both ends of the new road snap to node {u!r}; "
            "draw a road between two different places of the network"
        )
        raise InputError(msg)
    seconds = length_m / (speed_kph / 3.6)
    times: list[EdgeChange] = []
    lengths: list[EdgeChange] = []
    for a, b in ((u, v), (v, u)):
        old_t = float(state.routing.csr[state.routing.index[a], state.routing.index[b]])
        old_m = float(
            state.routing_length.csr[state.routing_length.index[a], state.routing_length.index[b]]
        )
        times.append((a, b, seconds if old_t == 0 else min(old_t, seconds)))
        lengths.append((a, b, length_m if old_m == 0 else min(old_m, length_m)))
    return _edit_roads(state, times, lengths)


@builtin(STRATEGY_KINDS, "add_link", settings=AddLinkParams)
def add_link(state: State, s: Strategy) -> State:
    """Add a two-way road: between zone seats, two points or along a drawn line."""
    p: AddLinkParams = s.params
    R = state.routing
    if p.line is not None:
        key = "line"
        with _about(s, key):
            line = line_from(p.line, key=key)
            ends = snap_points(R, [line.coords[0], line.coords[-1]], max_m=p.max_snap_m, key=key)
            length = line_length_m(line, R)
    elif p.from_point is not None and p.to_point is not None:
        key = "from_point/to_point"
        with _about(s, key):
            ends = snap_points(R, [p.from_point, p.to_point], max_m=p.max_snap_m, key=key)
    else:
        assert p.from_zone is not None and p.to is not None
        u, v = _seat_node(state, p.from_zone), _seat_node(state, p.to)
        ends = pd.DataFrame({"node": [u, v], "pos": [R.index[u], R.index[v]], "snap_m": 0.0})
        key = "from/to"
    u, v = ends["node"].iloc[0], ends["node"].iloc[1]
    if p.line is None:
        iu, iv = int(ends["pos"].iloc[0]), int(ends["pos"].iloc[1])
        length = float(np.hypot(*(R.xy[iu] - R.xy[iv]))) * p.circuity
    logger.info(
        "strategy %r: new road %r -> %r, %.0f m at %.0f km/h; %s snapped %.0f m and %.0f m",
        s.name,
        u,
        v,
        length,
        p.speed,
        key,
        ends["snap_m"].iloc[0],
        ends["snap_m"].iloc[1],
    )
    return _new_road(state, s, (u, v), length_m=length, speed_kph=p.speed)


def _upgrade_links(state: State, s: Strategy, p: UpgradeRoadParams) -> list[tuple[Any, Any]]:
    """Return the routing links an ``upgrade_road`` strategy names."""
    R = state.routing
    if p.ways is not None:
        if state.link_ways is None:
            msg = (
                f"strategy {s.name!r} ({s.kind}): ways needs an OpenStreetMap street network, "
                f"but this scenario's network is {R.network_source!r}; on it, name the road by "
                "links = [[zone, zone], ...] or path = [[lon, lat], [lon, lat]]"
            )
            raise InputError(msg)
        with _about(s, "ways"):
            return links_of_ways(state.link_ways, p.ways)
    if p.path is not None:
        with _about(s, "path"):
            nodes = snap_points(R, p.path, max_m=p.max_snap_m, key="path")["node"].tolist()
            return fastest_path_links(R, nodes)
    assert p.links is not None
    links: list[tuple[Any, Any]] = []
    # every zone's seat snapped once, all in one call (each seat to its nearest node, as
    # one at a time)
    named = list(dict.fromkeys(z for pair in p.links for z in (pair[0], pair[1])))
    # all seats (as the skim's updates snap them, so snapped once per network's nodes;
    # each seat is snapped on its own), then the named ones
    snapped = snap_to_nodes(R, state.zones)["node"].loc[named]
    seats = {zid: snapped.iloc[k] for k, zid in enumerate(named)}

    def seat(zid: str) -> Any:
        return seats[zid]

    for pair in p.links:
        for a, b in ((pair[0], pair[1]), (pair[1], pair[0])):
            u, v = seat(a), seat(b)
            if R.network_source == "proxy":
                if float(R.csr[R.index[u], R.index[v]]) == 0:
                    msg = (
                        f"strategy {s.name!r}: there is no road from {a} to {b} to upgrade; use "
                        "add_link for a new road"
                    )
                    raise InputError(msg)
                links.append((u, v))
                continue
            with _about(s, f"links [{a!r}, {b!r}]"):
                links.extend(fastest_path_links(R, [u, v]))
    return list(dict.fromkeys(links))


@builtin(STRATEGY_KINDS, "upgrade_road", settings=UpgradeRoadParams)
def upgrade_road(state: State, s: Strategy) -> State:
    """Speed up existing roads: zone pairs, OSM ways or a path (see UpgradeRoadParams)."""
    p: UpgradeRoadParams = s.params
    R = state.routing
    links = _upgrade_links(state, s, p)
    changes: list[EdgeChange] = [
        (u, v, float(R.csr[R.index[u], R.index[v]]) / p.speed_factor) for u, v in links
    ]
    logger.info("strategy %r: %d links upgraded (x%g speed)", s.name, len(changes), p.speed_factor)
    return _edit_roads(state, changes, [])


# ---------------------------------------------------------------------------------------------
# other kinds


def _changed(state: State, what: tuple[Change, ...], **edits: Any) -> State:
    return update_flows(dataclasses.replace(state, **edits), what)


@builtin(STRATEGY_KINDS, "bus_line", settings=BusLineParams)
def bus_line(state: State, s: Strategy) -> State:
    """Add a bus line: to the bus service (modes chosen again), or as a fixed mode shift."""
    p: BusLineParams = s.params
    if state.bus is not None and state.modes is not None:
        if p.mode_shift is not None:
            msg = (
                f"strategy {s.name!r}: mode_shift is not used when the scenario has [bus] and "
                "[modes] (the mode choice gives the shift); remove it"
            )
            raise InputError(msg)
        bus = state.bus.with_line(
            s.name,
            p.stops,
            headway_min=p.headway_min,
            speed_factor=p.speed_factor,
            fare_yuan=p.fare_yuan,
            source=f"strategy {s.name}",
        )
        return _changed(state, ("bus",), bus=bus)
    shift = 0.1 if p.mode_shift is None else p.mode_shift
    line = BusLine(name=s.name, stops=p.stops, headway_min=p.headway_min, mode_shift=shift)
    return dataclasses.replace(state, bus_lines=(*state.bus_lines, line))


@builtin(STRATEGY_KINDS, "market_hub", settings=MarketHubParams)
def market_hub(state: State, s: Strategy) -> State:
    """Open a market or processing hub for goods in a zone (a market people travel to)."""
    p: MarketHubParams = s.params
    services = state.services
    if not ((services["service"] == "market") & (services["zone_id"] == p.zone)).any():
        row = pd.DataFrame({"zone_id": [p.zone], "service": ["market"]})
        services = pd.concat([services, row], ignore_index=True)
    goods = state.setups.goods
    if goods is None:
        return dataclasses.replace(state, services=services)
    setups = dataclasses.replace(state.setups, goods=goods.with_market(p.zone, p.demand_weight))
    return _changed(state, ("goods",), setups=setups, services=services)


@builtin(STRATEGY_KINDS, "eco_compensation", settings=EcoCompensationParams)
def eco_compensation(state: State, s: Strategy) -> State:
    """Set up (or change) watershed eco-compensation: users pay the source zones."""
    p: EcoCompensationParams = s.params
    current = state.setups.capital or CapitalSetup()
    params = dataclasses.replace(
        current.params, eco_rate_yuan_per_m3=p.rate_yuan_per_m3, quality_met=p.quality_met
    )
    capital = dataclasses.replace(current, eco_compensation=True, params=params)
    return _changed(state, ("capital",), setups=dataclasses.replace(state.setups, capital=capital))


@builtin(STRATEGY_KINDS, "land_change", settings=LandChangeParams)
def land_change(state: State, s: Strategy) -> State:
    """Change land use in zones, scaling their ecosystem-service supply."""
    p: LandChangeParams = s.params
    eco = state.setups.ecosystem
    if eco is None:
        return state
    scaled = eco.scaled(dict.fromkeys(p.zones, p.water_supply_factor))
    setups = dataclasses.replace(state.setups, ecosystem=scaled)
    return _changed(state, ("ecosystem",), setups=setups)


@builtin(STRATEGY_KINDS, "service_relocation", settings=ServiceRelocationParams)
def service_relocation(state: State, s: Strategy) -> State:
    """Move a service (a hospital, a school) from one zone to another."""
    p: ServiceRelocationParams = s.params
    a, b = p.from_zone, p.to
    rows = (state.services["service"] == p.service) & (state.services["zone_id"] == a)
    if not rows.any():
        msg = (
            f"strategy {s.name!r}: there is no {p.service!r} in zone {a} to move; services "
            f"there: {sorted(state.services.loc[state.services['zone_id'] == a, 'service'])}"
        )
        raise InputError(msg)
    services = state.services.copy()
    services.loc[rows.to_numpy().nonzero()[0][0], "zone_id"] = b
    return dataclasses.replace(state, services=services)
