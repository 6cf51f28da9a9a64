"""Strategies: small, named edits of a base scenario, the Raumbild way.

A :class:`State` is everything a strategy can change and the indicators are computed from:
zones, the routing graph and its skims, the services people travel to (district centre,
hospitals, markets), the flow-input overrides and the bus lines. A strategy is a
:class:`Strategy` (a frozen record with its tags: sites, responsible actor, administrative
level, sector, cost) whose ``kind`` names a function ``(state, strategy) -> state`` in
:data:`STRATEGY_KINDS`. Kind functions never mutate their input; new kinds plug in with
:func:`register_kind`.

Road edits (``add_link``, ``upgrade_road``) update the travel-time skim incrementally with
:func:`urlink.network.skims.update_travel_time_matrix` (exact, no full recomputation).

Kinds and their parameters (``params``):

``add_link``
    ``from``, ``to`` (zone ids whose seats the new road joins), ``speed_kph`` (60),
    ``circuity`` (1.2: a new road is straighter than the average, see docs/network.md).
``upgrade_road``
    ``links`` (list of ``[zone, zone]`` pairs joined by an existing road),
    ``speed_factor`` (1.25: travel times divided by it).
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

import dataclasses
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np

from urlink.errors import InputError
from urlink.model.inputs import FlowOverrides
from urlink.network.skims import (
    EdgeChange,
    RoutingGraph,
    apply_edge_changes,
    distance_matrix_km,
    routing_graph_from,
    snap_to_nodes,
    update_travel_time_matrix,
)

if TYPE_CHECKING:
    import geopandas as gpd
    import networkx as nx
    import pandas as pd

    from urlink.scenario.spec import Scenario

__all__ = [
    "LEVELS",
    "STRATEGY_KINDS",
    "BusLine",
    "State",
    "Strategy",
    "apply_strategy",
    "register_kind",
    "state_from_scenario",
]

LEVELS = ("village", "township", "district", "county", "prefecture", "province")
"""Administrative levels a strategy can be assigned to (the responsible level)."""


@dataclass(frozen=True, slots=True)
class Strategy:
    """A named edit of the base scenario with its Raumbild tags.

    Attributes
    ----------
    name
        Short id (``bus-west``).
    kind
        A key of :data:`STRATEGY_KINDS`.
    title
        Readable title.
    sites
        Zone ids where it happens.
    actor
        Responsible actor (e.g. "Huangyan district transport bureau").
    level
        Administrative level of the responsible actor (:data:`LEVELS`).
    sector
        Sector (transport, agriculture, water, health...).
    cost_yuan
        Cost if known (None otherwise).
    params
        Kind-specific parameters (read-only mapping).
    """

    name: str
    kind: str
    title: str = ""
    sites: tuple[str, ...] = ()
    actor: str = ""
    level: str = "district"
    sector: str = ""
    cost_yuan: float | None = None
    params: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        """Check the level and freeze the parameters."""
        if self.level not in LEVELS:
            msg = f"strategy {self.name!r}: level={self.level!r} is not valid; use one of {LEVELS}"
            raise InputError(msg)
        if self.cost_yuan is not None and not self.cost_yuan >= 0:
            msg = f"strategy {self.name!r}: cost_yuan={self.cost_yuan!r} must be >= 0"
            raise InputError(msg)
        object.__setattr__(self, "params", MappingProxyType(dict(self.params)))

    def __reduce__(self) -> tuple[type[Strategy], tuple[Any, ...]]:
        """Pickle through the constructor (a read-only mapping cannot be pickled itself)."""
        values = [getattr(self, f.name) for f in dataclasses.fields(self)]
        return (type(self), (*values[:-1], dict(self.params)))


@dataclass(frozen=True, slots=True)
class BusLine:
    """A bus line added by a strategy: its stops, headway and the car trips it attracts."""

    name: str
    stops: tuple[str, ...]
    headway_min: float
    mode_shift: float


@dataclass(frozen=True, slots=True, eq=False)
class State:
    """What strategies edit and indicators are computed from.

    Attributes
    ----------
    scenario
        The scenario (flow specs and parameters).
    zones
        Zones with typology, populations and seats.
    routing, routing_length
        Routing graphs weighted by travel time (s) and by length (m).
    skim
        Travel times in minutes between zones.
    distance_km
        Network distances in km between zones.
    services
        ``zone_id`` and ``service`` (``district_centre``, ``hospital``, ``market``...).
    overrides
        Flow-input edits (:class:`urlink.model.inputs.FlowOverrides`).
    bus_lines
        Bus lines added by strategies.
    applied
        Names of the strategies applied so far.
    """

    scenario: Scenario
    zones: gpd.GeoDataFrame
    routing: RoutingGraph
    routing_length: RoutingGraph
    skim: pd.DataFrame
    distance_km: pd.DataFrame
    services: pd.DataFrame
    overrides: FlowOverrides = field(default_factory=FlowOverrides)
    bus_lines: tuple[BusLine, ...] = ()
    applied: tuple[str, ...] = ()


StrategyKind = Callable[[State, Strategy], State]
STRATEGY_KINDS: dict[str, StrategyKind] = {}
"""Strategy kinds by name; add your own with :func:`register_kind`."""


def register_kind(name: str) -> Callable[[StrategyKind], StrategyKind]:
    """Register a strategy kind (a decorator).

    Parameters
    ----------
    name
        The ``kind`` value in scenario files.

    Returns
    -------
    callable
        The decorator.

    Raises
    ------
    InputError
        If the name is taken.
    """

    def decorator(func: StrategyKind) -> StrategyKind:
        if name in STRATEGY_KINDS:
            msg = f"a strategy kind named {name!r} is already registered"
            raise InputError(msg)
        STRATEGY_KINDS[name] = func
        return func

    return decorator


def state_from_scenario(
    scenario: Scenario,
    zones: gpd.GeoDataFrame,
    streets: nx.MultiDiGraph,
    services: pd.DataFrame,
    *,
    routing: RoutingGraph | None = None,
    routing_length: RoutingGraph | None = None,
    skim: pd.DataFrame | None = None,
    distance_km: pd.DataFrame | None = None,
) -> State:
    """Build the base state of a scenario.

    Parameters
    ----------
    scenario
        The scenario.
    zones
        Its zones (with typology).
    streets
        Its street network (with ``travel_time`` and ``length``).
    services
        ``zone_id``, ``service`` rows.
    routing, routing_length, skim
        The routing graphs (by travel time and by length) and the zone skim of
        ``streets``, if the caller has them already; built here otherwise.
    distance_km
        Network distances between the zones along the shortest paths by length
        (:func:`urlink.network.skims.distance_matrix_km`), if already computed.

    Returns
    -------
    State
        The base state.
    """
    from urlink.network.skims import travel_time_matrix

    if routing is None:
        routing = routing_graph_from(streets, weight="travel_time")
    if routing_length is None:
        routing_length = routing_graph_from(streets, weight="length")
    if skim is None:
        skim = travel_time_matrix(
            routing,
            zones,
            cutoff=scenario.network.cutoff_min,
            access_speed_kph=scenario.network.access_speed_kph,
        )
    return State(
        scenario=scenario,
        zones=zones,
        routing=routing,
        routing_length=routing_length,
        skim=skim,
        distance_km=distance_matrix_km(routing_length, zones)
        if distance_km is None
        else distance_km,
        services=services,
    )


def apply_strategy(state: State, strategy: Strategy) -> State:
    """Apply one strategy to a state and return the new state (the input is unchanged).

    Parameters
    ----------
    state
        The state before.
    strategy
        The strategy.

    Returns
    -------
    State
        The state after.

    Raises
    ------
    InputError
        If the kind is unknown, a parameter is missing or bad, or a site is not a zone.
    """
    kind = STRATEGY_KINDS.get(strategy.kind)
    if kind is None:
        msg = (
            f"strategy {strategy.name!r}: kind={strategy.kind!r} is not known; use one of "
            f"{sorted(STRATEGY_KINDS)}"
        )
        raise InputError(msg)
    unknown = [s for s in strategy.sites if s not in state.zones.index]
    if unknown:
        msg = f"strategy {strategy.name!r}: sites {unknown} are not zones of the scenario"
        raise InputError(msg)
    new = kind(state, strategy)
    return dataclasses.replace(new, applied=(*state.applied, strategy.name))


# ---------------------------------------------------------------------------------------------
# parameters


def _param(s: Strategy, key: str, kind: type | tuple[type, ...], default: Any = ...) -> Any:
    if key not in s.params:
        if default is ...:
            msg = f"strategy {s.name!r} ({s.kind}): parameter {key!r} is missing"
            raise InputError(msg)
        return default
    value = s.params[key]
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        msg = f"strategy {s.name!r} ({s.kind}): parameter {key!r} = {value!r} has the wrong type"
        raise InputError(msg)
    return value


def _zone(state: State, s: Strategy, key: str) -> str:
    zid = str(_param(s, key, str))
    if zid not in state.zones.index:
        msg = f"strategy {s.name!r}: {key} = {zid!r} is not a zone of the scenario"
        raise InputError(msg)
    return zid


def _check_keys(s: Strategy, allowed: tuple[str, ...]) -> None:
    unknown = sorted(set(s.params) - set(allowed))
    if unknown:
        msg = (
            f"strategy {s.name!r} ({s.kind}): unknown parameter(s) {unknown}; "
            f"{s.kind} takes {list(allowed)}"
        )
        raise InputError(msg)


def _positive(s: Strategy, key: str, default: Any = ...) -> float:
    value = float(_param(s, key, float, default))
    if not (value > 0 and math.isfinite(value)):
        msg = f"strategy {s.name!r} ({s.kind}): {key} = {value!r} must be a positive number"
        raise InputError(msg)
    return value


# ---------------------------------------------------------------------------------------------
# road edits


def _seat_node(state: State, zid: str) -> Any:
    snap = snap_to_nodes(state.routing, state.zones.loc[[zid]])
    return snap["node"].iloc[0]


def _edit_roads(
    state: State, time_changes: list[EdgeChange], length_changes: list[EdgeChange]
) -> State:
    spec = state.scenario.network
    skim = update_travel_time_matrix(
        state.skim,
        state.routing,
        time_changes,
        origins=state.zones,
        cutoff=spec.cutoff_min,
        access_speed_kph=spec.access_speed_kph,
    )
    routing = apply_edge_changes(state.routing, time_changes)
    routing_length = apply_edge_changes(state.routing_length, length_changes)
    return dataclasses.replace(
        state,
        routing=routing,
        routing_length=routing_length,
        skim=skim,
        distance_km=distance_matrix_km(routing_length, state.zones),
    )


@register_kind("add_link")
def add_link(state: State, s: Strategy) -> State:
    """Add a two-way road between the seats of two zones (see the module docstring)."""
    _check_keys(s, ("from", "to", "speed_kph", "circuity"))
    a, b = _zone(state, s, "from"), _zone(state, s, "to")
    speed = _positive(s, "speed_kph", 60.0)
    circuity = _positive(s, "circuity", 1.2)
    u, v = _seat_node(state, a), _seat_node(state, b)
    R = state.routing
    iu, iv = R.index[u], R.index[v]
    xy = R.xy
    straight = float(np.hypot(*(xy[iu] - xy[iv])))
    length = straight * circuity
    seconds = length / (speed / 3.6)
    return _edit_roads(state, [(u, v, seconds), (v, u, seconds)], [(u, v, length), (v, u, length)])


@register_kind("upgrade_road")
def upgrade_road(state: State, s: Strategy) -> State:
    """Speed up existing roads between pairs of zone seats (see the module docstring)."""
    _check_keys(s, ("links", "speed_factor"))
    links = _param(s, "links", list)
    factor = _positive(s, "speed_factor", 1.25)
    if factor < 1:
        msg = f"strategy {s.name!r}: speed_factor = {factor} must be >= 1 (an upgrade)"
        raise InputError(msg)
    R = state.routing
    changes: list[EdgeChange] = []
    for pair in links:
        if not (isinstance(pair, list) and len(pair) == 2):
            msg = f"strategy {s.name!r}: links must be [zone, zone] pairs, got {pair!r}"
            raise InputError(msg)
        for a, b in ((pair[0], pair[1]), (pair[1], pair[0])):
            for z in (a, b):
                if z not in state.zones.index:
                    msg = f"strategy {s.name!r}: link zone {z!r} is not a zone of the scenario"
                    raise InputError(msg)
            u, v = _seat_node(state, a), _seat_node(state, b)
            old = float(R.csr[R.index[u], R.index[v]])
            if old == 0:
                msg = (
                    f"strategy {s.name!r}: there is no road from {a} to {b} to upgrade; use "
                    "add_link for a new road"
                )
                raise InputError(msg)
            changes.append((u, v, old / factor))
    return _edit_roads(state, changes, [])


# ---------------------------------------------------------------------------------------------
# other kinds


@register_kind("bus_line")
def bus_line(state: State, s: Strategy) -> State:
    """Add a bus line that attracts a share of the car trips between its stops."""
    _check_keys(s, ("stops", "headway_min", "mode_shift"))
    stops = [str(z) for z in _param(s, "stops", list)]
    missing = [z for z in stops if z not in state.zones.index]
    if len(stops) < 2 or missing:
        msg = f"strategy {s.name!r}: stops must be >= 2 zones of the scenario ({missing} unknown)"
        raise InputError(msg)
    shift = float(_param(s, "mode_shift", float, 0.1))
    if not 0 < shift <= 1:
        msg = f"strategy {s.name!r}: mode_shift = {shift} must be in (0, 1]"
        raise InputError(msg)
    line = BusLine(
        name=s.name,
        stops=tuple(stops),
        headway_min=_positive(s, "headway_min", 20.0),
        mode_shift=shift,
    )
    return dataclasses.replace(state, bus_lines=(*state.bus_lines, line))


@register_kind("market_hub")
def market_hub(state: State, s: Strategy) -> State:
    """Open a market or processing hub for goods in a zone."""
    _check_keys(s, ("zone", "demand_weight"))
    zid = _zone(state, s, "zone")
    extra = dict(state.overrides.extra_markets)
    extra[zid] = extra.get(zid, 0.0) + _positive(s, "demand_weight")
    return dataclasses.replace(
        state, overrides=dataclasses.replace(state.overrides, extra_markets=extra)
    )


@register_kind("eco_compensation")
def eco_compensation(state: State, s: Strategy) -> State:
    """Set up (or change) watershed eco-compensation: users pay the source zones."""
    _check_keys(s, ("rate_yuan_per_m3", "quality_met"))
    rate = float(_param(s, "rate_yuan_per_m3", float))
    if not rate >= 0:
        msg = f"strategy {s.name!r}: rate_yuan_per_m3 = {rate} must be >= 0"
        raise InputError(msg)
    quality = bool(_param(s, "quality_met", bool, True))
    ov = dataclasses.replace(
        state.overrides, eco_compensation=True, eco_rate_yuan_per_m3=rate, quality_met=quality
    )
    return dataclasses.replace(state, overrides=ov)


@register_kind("land_change")
def land_change(state: State, s: Strategy) -> State:
    """Change land use in zones, scaling their ecosystem-service supply."""
    _check_keys(s, ("zones", "water_supply_factor"))
    zones = [str(z) for z in _param(s, "zones", list)]
    missing = [z for z in zones if z not in state.zones.index]
    if missing:
        msg = f"strategy {s.name!r}: zones {missing} are not zones of the scenario"
        raise InputError(msg)
    factor = _positive(s, "water_supply_factor")
    current = dict(state.overrides.water_supply_factor)
    for z in zones:
        current[z] = current.get(z, 1.0) * factor
    return dataclasses.replace(
        state, overrides=dataclasses.replace(state.overrides, water_supply_factor=current)
    )


@register_kind("service_relocation")
def service_relocation(state: State, s: Strategy) -> State:
    """Move a service (a hospital, a school) from one zone to another."""
    _check_keys(s, ("service", "from", "to"))
    service = str(_param(s, "service", str))
    a, b = _zone(state, s, "from"), _zone(state, s, "to")
    rows = (state.services["service"] == service) & (state.services["zone_id"] == a)
    if not rows.any():
        msg = (
            f"strategy {s.name!r}: there is no {service!r} in zone {a} to move; services "
            f"there: {sorted(state.services.loc[state.services['zone_id'] == a, 'service'])}"
        )
        raise InputError(msg)
    services = state.services.copy()
    services.loc[rows.to_numpy().nonzero()[0][0], "zone_id"] = b
    return dataclasses.replace(state, services=services)
