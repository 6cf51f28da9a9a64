"""The state of a study area: everything flows and indicators are computed from, computed once.

A :class:`State` holds the zones, the routing graphs and zone skims, the services people
travel to, the setup of each flow model (:mod:`urlink.model.inputs`) and the flows computed
from them. It is immutable: a strategy (:class:`Strategy`, applied by
:func:`urlink.scenario.strategies.apply_strategy`) returns a new state in which only what
its edit touches is recomputed (:func:`update_flows`): a road edit updates the skim
incrementally and recomputes the flows that depend on travel times; a market hub recomputes
the goods flows only; a service relocation recomputes none.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd

from urlink.errors import InputError
from urlink.model.carbon import EmissionSettings
from urlink.model.flows.base import get_model
from urlink.model.flows.capital import eco_compensation, transfers
from urlink.model.flows.ecosystem import links_from_skim
from urlink.model.inputs import FlowSetups

if TYPE_CHECKING:
    import geopandas as gpd

    from urlink.network.skims import RoutingGraph

__all__ = [
    "LEVELS",
    "BusLine",
    "Change",
    "State",
    "Strategy",
    "update_flows",
]

logger = logging.getLogger(__name__)

LEVELS = ("village", "township", "district", "county", "prefecture", "province")
"""Administrative levels a strategy can be assigned to (the responsible level)."""

Change = Literal["skim", "people", "goods", "ecosystem", "capital"]
"""What an edit of a state changes (:func:`update_flows` recomputes what depends on it)."""


@dataclass(frozen=True, slots=True)
class Strategy:
    """A named edit of the base scenario with its Raumbild tags.

    Attributes
    ----------
    name
        Short id (``bus-west``).
    kind
        A registered strategy kind (:data:`urlink.scenario.strategies.STRATEGY_KINDS`).
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
        Kind-specific parameters: the kind's settings dataclass (as built from the
        scenario file), or a read-only mapping.
    """

    name: str
    kind: str
    title: str = ""
    sites: tuple[str, ...] = ()
    actor: str = ""
    level: str = "district"
    sector: str = ""
    cost_yuan: float | None = None
    params: Any = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        """Check the level and freeze mapping parameters."""
        if self.level not in LEVELS:
            msg = f"strategy {self.name!r}: level={self.level!r} is not valid; use one of {LEVELS}"
            raise InputError(msg)
        if self.cost_yuan is not None and not self.cost_yuan >= 0:
            msg = f"strategy {self.name!r}: cost_yuan={self.cost_yuan!r} must be >= 0"
            raise InputError(msg)
        if isinstance(self.params, Mapping):
            object.__setattr__(self, "params", MappingProxyType(dict(self.params)))

    def __reduce__(self) -> tuple[type[Strategy], tuple[Any, ...]]:
        """Pickle through the constructor (a read-only mapping cannot be pickled itself)."""
        values = [getattr(self, f.name) for f in dataclasses.fields(self)]
        params = values[-1]
        return (
            type(self),
            (*values[:-1], dict(params) if isinstance(params, Mapping) else params),
        )


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
    zones
        Zones with typology, populations, seats and admin codes.
    focus
        Id of the study unit (the district) whose indicators are reported.
    routing, routing_length
        Routing graphs weighted by travel time (s) and by length (m).
    skim
        Travel times in minutes between zones.
    distance_km
        Network distances in km between zones.
    services
        ``zone_id`` and ``service`` (``district_centre``, ``hospital``, ``market``...).
    setups
        The flow models and their inputs (:class:`urlink.model.inputs.FlowSetups`).
    flows
        Flow type -> flow table, computed from ``setups`` and ``skim``.
    emissions
        Modes and emission factors of the people and goods flows.
    cutoff_min, access_speed_kph
        Skim settings (for incremental updates).
    bus_lines
        Bus lines added by strategies.
    applied
        Names of the strategies applied so far.
    cost_yuan
        Known cost of the strategies applied.
    """

    zones: gpd.GeoDataFrame
    focus: str
    routing: RoutingGraph
    routing_length: RoutingGraph
    skim: pd.DataFrame
    distance_km: pd.DataFrame
    services: pd.DataFrame
    setups: FlowSetups = field(default_factory=FlowSetups)
    flows: Mapping[str, pd.DataFrame] = field(default_factory=dict)
    emissions: EmissionSettings = field(default_factory=EmissionSettings)
    cutoff_min: float | None = None
    access_speed_kph: float = 4.5
    bus_lines: tuple[BusLine, ...] = ()
    applied: tuple[str, ...] = ()
    cost_yuan: float = 0.0


_DEPENDS: dict[str, tuple[str, ...]] = {
    "people": ("people", "skim"),
    "goods": ("goods", "skim"),
    "ecosystem": ("ecosystem",),  # the proximity model adds "skim" (see _needs)
    "capital": ("capital", "ecosystem"),
}
"""What each flow type is computed from."""


def _needs(state: State, flow_type: str) -> tuple[str, ...]:
    deps = _DEPENDS[flow_type]
    eco = state.setups.ecosystem
    if flow_type == "ecosystem" and eco is not None and eco.model == "proximity":
        deps = (*deps, "skim")
    return deps


def _compute(
    state: State, flow_type: str, flows: Mapping[str, pd.DataFrame]
) -> pd.DataFrame | None:
    s = state.setups
    if flow_type == "people" and s.people is not None:
        model = get_model("people", s.people.model)
        return model(s.people.inputs, state.skim, params=s.people.params)
    if flow_type == "goods" and s.goods is not None:
        model = get_model("goods", s.goods.model)
        return model(s.goods.inputs(), state.skim, params=s.goods.params)
    if flow_type == "ecosystem" and s.ecosystem is not None:
        e = s.ecosystem
        links = e.links
        if e.model == "proximity":
            links = links_from_skim(
                state.skim, sorted(set(links["source"])), sorted(set(links["user"]))
            )
        return get_model("ecosystem", e.model)(e.inputs(), links, params=e.params)
    if flow_type == "capital" and s.capital is not None:
        c = s.capital
        parts = []
        if c.eco_compensation and "ecosystem" in flows:
            parts.append(eco_compensation(state.zones, flows["ecosystem"], params=c.params))
        if c.transfers is not None:
            parts.append(transfers(state.zones, c.transfers, params=c.params))
        return pd.concat(parts, ignore_index=True) if parts else None
    return None


def update_flows(state: State, changed: tuple[Change, ...] | None = None) -> State:
    """Recompute the flows that depend on what changed (all of them when ``changed`` is None).

    Parameters
    ----------
    state
        A state whose ``setups`` or ``skim`` were edited.
    changed
        What was edited: ``"skim"`` (travel times) or a flow type's setup. Flow types that
        depend on it are recomputed, and those depending on them (capital follows the
        ecosystem flows).

    Returns
    -------
    State
        The state with updated ``flows``.

    Raises
    ------
    InputError
        If a model refuses its inputs.
    urlink.errors.UrlinkError
        If a model cannot balance (e.g. a doubly constrained model with an extreme beta).
    """
    dirty: set[str] = set(changed) if changed is not None else {"skim", *_DEPENDS}
    flows = dict(state.flows)
    for flow_type in ("people", "goods", "ecosystem", "capital"):  # dependency order
        if not dirty.intersection(_needs(state, flow_type)):
            continue
        table = _compute(state, flow_type, flows)
        dirty.add(flow_type)
        if table is None:
            flows.pop(flow_type, None)
            continue
        flows[flow_type] = table
        logger.info(
            "%s flows: %d rows, total %.6g %s",
            flow_type,
            len(table),
            table["volume"].sum(),
            table["unit"].iloc[0] if len(table) else "",
        )
    return dataclasses.replace(state, flows=flows)
