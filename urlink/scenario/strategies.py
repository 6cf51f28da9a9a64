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
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Protocol

import numpy as np
import pandas as pd

from urlink.errors import InputError
from urlink.model.inputs import CapitalSetup
from urlink.model.state import BusLine, Change, State, Strategy, update_flows
from urlink.network.skims import (
    EdgeChange,
    apply_edge_changes,
    distance_matrix_km,
    snap_to_nodes,
    update_travel_time_matrix,
)
from urlink.params import params_from_table, toml_key
from urlink.registry import Registry, builtin

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


_ZONE = MappingProxyType({"zone": True})
"""Field metadata of settings that hold zone ids (checked against the zones)."""
_FROM_ZONE = MappingProxyType({"zone": True, "toml": "from"})
"""The same for a field whose TOML key is ``from`` (a Python keyword)."""


def _positive(cls: str, key: str, value: float) -> None:
    if not (value > 0 and math.isfinite(value)):
        msg = f"{cls}.{key} = {value!r} must be a positive number"
        raise InputError(msg)


@dataclass(frozen=True, slots=True)
class AddLinkParams:
    """``add_link``: a new two-way road between the seats of two zones."""

    from_zone: str = field(metadata=_FROM_ZONE)
    to: str = field(metadata=_ZONE)
    speed_kph: float = 60.0
    circuity: float = 1.2

    def __post_init__(self) -> None:
        """Check the speed and circuity."""
        _positive("add_link", "speed_kph", self.speed_kph)
        _positive("add_link", "circuity", self.circuity)
        if self.from_zone == self.to:
            msg = f"add_link: from and to are both {self.to!r}; a new road joins two zones"
            raise InputError(msg)


@dataclass(frozen=True, slots=True)
class UpgradeRoadParams:
    """``upgrade_road``: existing roads between pairs of zone seats, sped up."""

    links: tuple[tuple[str, str], ...] = field(metadata=_ZONE)
    speed_factor: float = 1.25

    def __post_init__(self) -> None:
        """Check the factor (an upgrade is >= 1)."""
        _positive("upgrade_road", "speed_factor", self.speed_factor)
        if self.speed_factor < 1:
            msg = f"upgrade_road: speed_factor = {self.speed_factor} must be >= 1 (an upgrade)"
            raise InputError(msg)


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
        _positive("bus_line", "headway_min", self.headway_min)
        if not 0 < self.speed_factor <= 1:
            msg = f"bus_line: speed_factor = {self.speed_factor} must be in (0, 1]"
            raise InputError(msg)
        if not (self.fare_yuan >= 0 and math.isfinite(self.fare_yuan)):
            msg = f"bus_line: fare_yuan = {self.fare_yuan} must be >= 0"
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
        _positive("market_hub", "demand_weight", self.demand_weight)


@dataclass(frozen=True, slots=True)
class EcoCompensationParams:
    """``eco_compensation``: users of ecosystem services pay the source zones."""

    rate_yuan_per_m3: float
    quality_met: bool = True

    def __post_init__(self) -> None:
        """Check the rate."""
        if not (self.rate_yuan_per_m3 >= 0 and math.isfinite(self.rate_yuan_per_m3)):
            msg = f"eco_compensation: rate_yuan_per_m3 = {self.rate_yuan_per_m3} must be >= 0"
            raise InputError(msg)


@dataclass(frozen=True, slots=True)
class LandChangeParams:
    """``land_change``: land use changed in zones, scaling their ecosystem-service supply."""

    zones: tuple[str, ...] = field(metadata=_ZONE)
    water_supply_factor: float

    def __post_init__(self) -> None:
        """Check the factor."""
        _positive("land_change", "water_supply_factor", self.water_supply_factor)


@dataclass(frozen=True, slots=True)
class ServiceRelocationParams:
    """``service_relocation``: a service (a hospital, a school) moved between zones."""

    service: str
    from_zone: str = field(metadata=_FROM_ZONE)
    to: str = field(metadata=_ZONE)


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
        distance_km=distance_matrix_km(routing_length, state.zones)
        if length_changes
        else state.distance_km,
    )
    return update_flows(new, ("skim",))


@builtin(STRATEGY_KINDS, "add_link", settings=AddLinkParams)
def add_link(state: State, s: Strategy) -> State:
    """Add a two-way road between the seats of two zones (see the module docstring)."""
    p: AddLinkParams = s.params
    u, v = _seat_node(state, p.from_zone), _seat_node(state, p.to)
    R = state.routing
    iu, iv = R.index[u], R.index[v]
    straight = float(np.hypot(*(R.xy[iu] - R.xy[iv])))
    length = straight * p.circuity
    seconds = length / (p.speed_kph / 3.6)
    return _edit_roads(state, [(u, v, seconds), (v, u, seconds)], [(u, v, length), (v, u, length)])


@builtin(STRATEGY_KINDS, "upgrade_road", settings=UpgradeRoadParams)
def upgrade_road(state: State, s: Strategy) -> State:
    """Speed up existing roads between pairs of zone seats (see the module docstring)."""
    p: UpgradeRoadParams = s.params
    R = state.routing
    changes: list[EdgeChange] = []
    for pair in p.links:
        for a, b in ((pair[0], pair[1]), (pair[1], pair[0])):
            u, v = _seat_node(state, a), _seat_node(state, b)
            old = float(R.csr[R.index[u], R.index[v]])
            if old == 0:
                msg = (
                    f"strategy {s.name!r}: there is no road from {a} to {b} to upgrade; use "
                    "add_link for a new road"
                )
                raise InputError(msg)
            changes.append((u, v, old / p.speed_factor))
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
