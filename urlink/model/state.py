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
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast

import numpy as np
import pandas as pd

from urlink.errors import InputError
from urlink.memo import kept_with
from urlink.model.carbon import EmissionSettings
from urlink.model.flows.base import get_model, repeated
from urlink.model.flows.capital import eco_compensation, transfers
from urlink.model.flows.ecosystem import links_from_skim
from urlink.model.flows.people import calibrate_to_mean_time
from urlink.model.inputs import FlowSetups, GoodsSetup
from urlink.model.intrazonal import (
    IntrazonalRule,
    intrazonal_values,
    pair_values,
    positions,
    with_intrazonal,
)
from urlink.model.modes import (
    ModeChoiceParams,
    ModeCosts,
    calibrate_ascs,
    mode_costs,
    mode_probabilities,
    split_by_mode,
)
from urlink.network.transit import BusService, TransitSkim, transit_skim

if TYPE_CHECKING:
    import geopandas as gpd

    from urlink.model.typology import TypologyParams
    from urlink.network.skims import RoutingGraph

__all__ = [
    "LEVELS",
    "BusLine",
    "Change",
    "ContextFlows",
    "DistancePath",
    "State",
    "Strategy",
    "TransitMemo",
    "calibrate_modes",
    "calibrate_people",
    "in_focus",
    "intrazonal_km",
    "intrazonal_min",
    "mode_probabilities_of",
    "people_summary",
    "transit_of",
    "trip_cost",
    "trip_km",
    "update_flows",
]

logger = logging.getLogger(__name__)

LEVELS = ("village", "township", "district", "county", "prefecture", "province")
"""Administrative levels a strategy can be assigned to (the responsible level)."""

Change = Literal["skim", "people", "goods", "ecosystem", "capital", "bus", "modes"]

ContextFlows = Literal["cordon", "all"]
"""Which flows between context zones a state keeps (see :attr:`State.context_flows`)."""
DistancePath = Literal["shortest", "fastest"]
"""Which path :attr:`State.distance_km` measures (``[network] distance``)."""
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
        Capital (investment) cost in yuan if known, None if unknown. Kept for backward
        compatibility: it is the same number as ``cost_capital_yuan``.
    cost_capital_yuan
        Capital (investment) cost in yuan; None = unknown (``"unknown"`` in a scenario
        file), never taken as 0. Given alone, ``cost_yuan`` is set to it.
    cost_yearly_yuan
        Yearly operating and maintenance cost in yuan/year; None = unknown.
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
    cost_capital_yuan: float | None = None
    cost_yearly_yuan: float | None = None
    params: Any = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        """Check the level and costs and freeze mapping parameters."""
        if self.level not in LEVELS:
            msg = f"strategy {self.name!r}: level={self.level!r} is not valid; use one of {LEVELS}"
            raise InputError(msg)
        for key in ("cost_yuan", "cost_capital_yuan", "cost_yearly_yuan"):
            value = getattr(self, key)
            if value is not None and (isinstance(value, bool) or not value >= 0):
                msg = (
                    f"strategy {self.name!r}: {key}={value!r} must be >= 0 (or None for 'unknown')"
                )
                raise InputError(msg)
        capital, legacy = self.cost_capital_yuan, self.cost_yuan
        if capital is not None and legacy is not None and capital != legacy:
            msg = (
                f"strategy {self.name!r}: cost_yuan={legacy!r} and cost_capital_yuan="
                f"{capital!r} differ; cost_yuan is the capital cost, give only one of them"
            )
            raise InputError(msg)
        if capital is None and legacy is not None:
            object.__setattr__(self, "cost_capital_yuan", float(legacy))
        elif legacy is None and capital is not None:
            object.__setattr__(self, "cost_yuan", float(capital))
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
class TransitMemo:
    """A bus skim with what it was computed from (:attr:`State.transit_memo`).

    Attributes
    ----------
    bus, skim, distance_km, intrazonal, walk_kph
        The state's bus lines, skims, intrazonal rule and walking speed it was computed
        with (compared by identity, numbers by value).
    transit
        The bus skim.
    """

    bus: BusService
    skim: pd.DataFrame
    distance_km: pd.DataFrame
    intrazonal: str
    walk_kph: float
    transit: TransitSkim

    def fits(self, state: State) -> bool:
        """Whether ``state`` holds the very inputs this skim was computed from.

        Parameters
        ----------
        state
            A state.

        Returns
        -------
        bool
        """
        return (
            self.bus is state.bus
            and self.skim is state.skim
            and self.distance_km is state.distance_km
            and self.intrazonal == state.intrazonal
            and self.walk_kph == _walk_kph(state)
        )


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
        Network distances in km between zones: of the shortest path by length, or of the
        fastest path (``distance_path``).
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
    intrazonal
        How a trip within a zone is costed (:mod:`urlink.model.intrazonal`):
        ``"half_nearest"`` models within-zone trips at half the time and distance to the
        nearest other zone; ``"none"`` keeps the skim's zero diagonal.
    context_flows
        ``"cordon"``: person trips and goods flows between two context zones (neither end
        in the focus unit) are dropped after the models ran (their share is kept in the
        table's ``attrs["outside_cordon_share"]``): the study area's flows at its cordon;
        ``"all"``: every flow is kept.
    bus
        The bus lines (:class:`urlink.network.transit.BusService`): the baseline service and
        the lines strategies add; None: no bus.
    modes
        The mode choice (:class:`urlink.model.modes.ModeChoiceParams`); None: person trips
        are not split by mode (they all count as ``[emissions] people_mode``).
    people_trips
        The person trips before the mode split (so a bus edit re-splits them without
        recomputing the destinations).
    bus_lines
        Bus lines added by strategies.
    link_ways
        OSM way ids of the routing links (``u``, ``v``, ``osmid``;
        :func:`urlink.network.edits.link_ways_from`), so road strategies can name real roads
        by way id; None on a proxy network.
    applied
        Names of the strategies applied so far.
    cost_yuan
        Known cost of the strategies applied.
    focus_name
        Name of the focus unit where the zones do not name it (zones from OSM: the study
        area, e.g. "Malta"); None: named by the admin tables.
    transit_memo
        The bus skim :func:`update_flows` computed for the mode choice, kept with the
        objects it was computed from (bus lines, skim, distances, intrazonal rule, walking
        speed): :func:`transit_of` reuses it only while the state holds those very objects
        (set by :func:`update_flows`, not by hand).
    typology
        The thresholds the zones' typology was derived with from their populations, so it
        can be derived again when the populations change (an uncertainty sample); None: the
        densities came from a raster, or the zones carry no typology.
    distance_path
        ``"shortest"``: ``distance_km`` is the shortest path by length; ``"fastest"``: the
        length of the skim's fastest path (kept so by road edits).
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
    intrazonal: IntrazonalRule = "none"
    context_flows: ContextFlows = "all"
    bus: BusService | None = None
    modes: ModeChoiceParams | None = None
    people_trips: pd.DataFrame | None = None
    bus_lines: tuple[BusLine, ...] = ()
    link_ways: pd.DataFrame | None = None
    applied: tuple[str, ...] = ()
    cost_yuan: float = 0.0
    focus_name: str | None = None
    transit_memo: TransitMemo | None = None
    typology: TypologyParams | None = None
    distance_path: DistancePath = "shortest"


T = TypeVar("T")

_DERIVED_MATRIX_MAX_ZONES = 1_000
"""Zone x zone values derived from a skim are kept only up to this many zones (8 MB a
copy): above it, each use computes them again rather than hold another copy (#20)."""


def _derived(name: str, source: object, extra: Hashable, compute: Callable[[], T]) -> T:
    """``compute()`` kept with ``source`` (:func:`urlink.memo.kept_with`), read-only."""
    return kept_with(name, (source,), extra, lambda: _read_only(compute()))


def _read_only(value: T) -> T:
    """``value``; a float Series or DataFrame on a read-only array (kept: never edited)."""
    obj: Any = value
    if isinstance(obj, pd.DataFrame):
        kinds = {dtype.kind for dtype in obj.dtypes}
    elif isinstance(obj, pd.Series):
        kinds = {obj.dtype.kind}
    else:
        return value
    if kinds != {"f"}:
        return value
    array = obj.to_numpy(copy=False).view()  # a view: no copy of the numbers
    array.flags.writeable = False
    if isinstance(obj, pd.Series):
        return cast("T", pd.Series(array, index=obj.index, name=obj.name, copy=False))
    return cast("T", pd.DataFrame(array, index=obj.index, columns=obj.columns, copy=False))


def intrazonal_min(state: State) -> pd.Series:
    """Return the time of a trip within each zone, minutes (:attr:`State.intrazonal`).

    Computed once per skim and rule, and kept with the skim: treat it as read-only.

    Parameters
    ----------
    state
        A state.

    Returns
    -------
    pandas.Series
    """
    skim, rule = state.skim, state.intrazonal
    return _derived("intrazonal", skim, rule, lambda: intrazonal_values(skim, rule=rule))


def intrazonal_km(state: State) -> pd.Series:
    """Return the length of a trip within each zone, km (:attr:`State.intrazonal`).

    Computed once per distance matrix and rule, and kept with it: treat it as read-only.

    Parameters
    ----------
    state
        A state.

    Returns
    -------
    pandas.Series
    """
    km, rule = state.distance_km, state.intrazonal
    return _derived("intrazonal", km, rule, lambda: intrazonal_values(km, rule=rule))


def trip_cost(state: State) -> pd.DataFrame:
    """Return the skim the trip models take as cost: intrazonal times on the diagonal.

    Kept with the skim up to 1,000 zones (computed again above): treat it as read-only.

    Parameters
    ----------
    state
        A state.

    Returns
    -------
    pandas.DataFrame
        ``state.skim`` itself when within-zone trips are not modelled.
    """
    if state.intrazonal == "none":
        return state.skim
    skim = state.skim
    if len(skim) > _DERIVED_MATRIX_MAX_ZONES:
        return with_intrazonal(skim, intrazonal_min(state))
    return _derived(
        "with_intrazonal",
        skim,
        state.intrazonal,
        lambda: with_intrazonal(skim, intrazonal_min(state)),
    )


def trip_km(state: State) -> pd.DataFrame:
    """Return the network distances of trips: intrazonal lengths on the diagonal.

    Kept with the distances up to 1,000 zones (computed again above): treat it as read-only.

    Parameters
    ----------
    state
        A state.

    Returns
    -------
    pandas.DataFrame
        ``state.distance_km`` itself when within-zone trips are not modelled.
    """
    if state.intrazonal == "none":
        return state.distance_km
    km = state.distance_km
    if len(km) > _DERIVED_MATRIX_MAX_ZONES:
        return with_intrazonal(km, intrazonal_km(state))
    return _derived(
        "with_intrazonal", km, state.intrazonal, lambda: with_intrazonal(km, intrazonal_km(state))
    )


def calibrate_people(
    state: State, targets: Mapping[str, float | tuple[Literal["min", "km"], float]]
) -> State:
    """Fit each purpose's beta to a target mean trip time or length on the state's skims.

    The target describes the trips of the study area's residents (the focus unit's zones),
    so the mean is taken over the trips from those zones.

    Parameters
    ----------
    state
        A state with people setups.
    targets
        Purpose -> target mean trip time in minutes, or ``("min", value)`` /
        ``("km", value)`` for a mean trip time or length (e.g. from a travel survey).

    Returns
    -------
    State
        With the fitted betas in the setups' parameters and the fits in
        :attr:`urlink.model.inputs.PeopleSetup.calibration` (flows not yet recomputed).

    Raises
    ------
    InputError
        If a purpose is unknown, its model has no beta, or no beta reaches the target.
    """
    known = [s.purpose for s in state.setups.people]
    unknown = sorted(set(targets) - set(known))
    if unknown:
        msg = f"purposes {unknown} are not modelled; they are {known}"
        raise InputError(msg)
    cost = trip_cost(state)
    km = None
    setups = []
    for setup in state.setups.people:
        target = targets.get(setup.purpose)
        if target is None:
            setups.append(setup)
            continue
        unit, value = target if isinstance(target, tuple) else ("min", target)
        if unit == "km" and km is None:
            km = trip_km(state)
        fit = calibrate_to_mean_time(
            setup.inputs,
            cost,
            target_mean_min=value,
            model=setup.model,  # type: ignore[arg-type]
            params=setup.params,
            measure=km if unit == "km" else None,
            origins=in_focus(state),  # the target describes the study area's residents
        )
        params = dataclasses.replace(setup.params, beta=fit.beta)
        setups.append(dataclasses.replace(setup, params=params, calibration=fit))
    return dataclasses.replace(
        state, setups=dataclasses.replace(state.setups, people=tuple(setups))
    )


_DEPENDS: dict[str, tuple[str, ...]] = {
    "people": ("people", "skim", "bus", "modes"),
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


def _people_flows(state: State) -> pd.DataFrame:
    """Compute the person trips of every purpose, with the shares dropped or off support."""
    cost: pd.DataFrame | None = None
    tables: list[pd.DataFrame] = []
    for setup in state.setups.people:
        people_model = get_model("people", setup.model)
        if _blockwise(state, setup.model, setup.params):
            # the skim as it is, the intrazonal times read with each block (#20); the
            # built-in gravity models take intrazonal= (FlowModel's protocol does not)
            gravity = cast("Any", people_model)
            table: pd.DataFrame = gravity(
                setup.inputs, state.skim, params=setup.params, intrazonal=intrazonal_min(state)
            )
        else:
            cost = trip_cost(state) if cost is None else cost
            table = people_model(setup.inputs, cost, params=setup.params)
        tables.append(table)
    out = _with_purposes(tables, state.setups.people)
    if any("dropped_share" in t.attrs for t in tables):
        # with top_destinations: the share of the modelled volume left out, all purposes
        kept = [float(t["volume"].sum()) for t in tables]
        shares = [float(t.attrs.get("dropped_share", 0.0)) for t in tables]
        modelled = [k / (1 - s) if s < 1 else k for k, s in zip(kept, shares, strict=True)]
        dropped = sum(m - k for m, k in zip(modelled, kept, strict=True))
        out.attrs["dropped_share"] = dropped / sum(modelled) if sum(modelled) else 0.0
    if any("support" in t.attrs for t in tables):
        _support_attrs(out, tables)
    return out


def _with_purposes(tables: list[pd.DataFrame], setups: tuple[Any, ...]) -> pd.DataFrame:
    """Concatenate the purposes' trip tables, each with its ``purpose`` and ``inputs_source``.

    The two columns are set once on the whole table when every purpose has the same columns
    and names them with strings (the same table as setting them on each and concatenating).
    """
    named = [(s.purpose, s.inputs_source) for s in setups]
    columns = tables[0].columns
    if all(isinstance(v, str) for pair in named for v in pair) and all(
        t.columns.equals(columns) and "purpose" not in t.columns and "inputs_source" not in t
        for t in tables
    ):
        out = pd.concat(tables, ignore_index=True)
        for k, column in enumerate(("purpose", "inputs_source")):
            parts = [repeated(pair[k], len(t)) for pair, t in zip(named, tables, strict=True)]
            first = parts[0]
            if isinstance(first, np.ndarray):  # strings as objects (pandas without str)
                out[column] = np.concatenate(parts)
            else:
                out[column] = type(first)._concat_same_type(parts)
        return out
    for (purpose, source), table in zip(named, tables, strict=True):
        for column, value in (("purpose", purpose), ("inputs_source", source)):
            # a string: stored once and repeated
            table[column] = repeated(value, len(table)) if isinstance(value, str) else value
    return pd.concat(tables, ignore_index=True)


def _goods_inputs(goods: GoodsSetup) -> pd.DataFrame:
    """Return the goods models' supply and demand, kept with the supply and market weights."""
    sources = (goods.supply, goods.market_weights)
    return kept_with("goods_inputs", sources, None, lambda: _read_only(goods.inputs()))


def _compute(
    state: State, flow_type: str, flows: Mapping[str, pd.DataFrame]
) -> pd.DataFrame | None:
    s = state.setups
    if flow_type == "people" and s.people:
        return _people_flows(state)
    if flow_type == "goods" and s.goods is not None:
        model = get_model("goods", s.goods.model)
        return model(_goods_inputs(s.goods), trip_cost(state), params=s.goods.params)
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


_BLOCKWISE_MODELS = frozenset(
    ("gravity_unconstrained", "gravity_production", "gravity_attraction", "gravity_doubly")
)
"""People models that read the skim by blocks on a sparse support, with the intrazonal
times given apart (``intrazonal=``), so no copy of the skim with its diagonal is made."""


def _blockwise(state: State, model: str, params: object) -> bool:
    """Whether a people model reads the skim by blocks with the intrazonal times apart."""
    return (
        state.intrazonal != "none"
        and model in _BLOCKWISE_MODELS
        and getattr(params, "support", "dense") != "dense"
    )


def _support_attrs(out: pd.DataFrame, tables: list[pd.DataFrame]) -> None:
    """Volume-weighted shares off the sparse support of every purpose (no volume is lost)."""
    volumes = [float(t["volume"].sum()) for t in tables]
    total = sum(volumes)
    out.attrs["support"] = "+".join(sorted({str(t.attrs.get("support", "dense")) for t in tables}))
    for key in ("outside_support_share", "outside_support_share_production"):
        shares = [float(t.attrs.get(key, 0.0)) for t in tables]
        out.attrs[key] = (
            sum(v * x for v, x in zip(volumes, shares, strict=True)) / total if total else 0.0
        )


def people_summary(state: State) -> list[dict[str, Any]]:
    """Describe the people flows of a state per trip purpose (for the manifest and report).

    Parameters
    ----------
    state
        A state with its flows.

    Returns
    -------
    list of dict
        Per purpose: ``purpose``, ``model``, ``beta``, ``trips_per_day``,
        ``trips_per_resident_day`` (of the focus unit's residents), ``mean_time_min`` and
        ``within_zone_share`` of the trips made by them, ``leaving_focus_share`` (their
        trips that end outside the focus unit), ``inputs_source`` and the calibration
        (``target_mean_time_min``, ``calibrated_beta``) when beta was fitted.
    """
    flows = state.flows.get("people")
    if flows is None or not len(flows) or not state.setups.people:
        return []
    inside = in_focus(state)
    residents = float(state.zones.loc[inside, "population"].sum())
    own_min = intrazonal_min(state)
    own_km = intrazonal_km(state)
    out = []
    for setup in state.setups.people:
        part = flows[(flows.get("purpose", "all") == setup.purpose)]
        mine = part[part["origin"].isin(inside)]
        volume = mine["volume"].to_numpy(dtype=float)
        total = float(volume.sum())
        # the pairs of the flows only, the intrazonal times on the diagonal (trip_cost's)
        t = pair_values(state.skim, mine["origin"], mine["destination"], intrazonal=own_min)
        row: dict[str, Any] = {
            "purpose": setup.purpose,
            "model": setup.model,
            "beta": getattr(setup.params, "beta", None),
            "trips_per_day": float(part["volume"].sum()),
            "trips_per_resident_day": total / residents if residents else float("nan"),
            "mean_time_min": float((volume * t).sum() / total) if total else float("nan"),
            "within_zone_share": float(
                volume[(mine["origin"] == mine["destination"]).to_numpy()].sum()
            )
            / total
            if total
            else float("nan"),
            "leaving_focus_share": float(
                volume[~mine["destination"].isin(inside).to_numpy()].sum()
            )
            / total
            if total
            else float("nan"),
            "inputs_source": setup.inputs_source,
        }
        if setup.calibration is not None:
            row["calibration_target"] = setup.calibration.mean_time_observed
            row["calibration_reached"] = setup.calibration.mean_time_modelled
            row["calibrated_beta"] = setup.calibration.beta
        mine_km = pair_values(
            state.distance_km, mine["origin"], mine["destination"], intrazonal=own_km
        )
        row["mean_km"] = float((volume * mine_km).sum() / total) if total else float("nan")
        out.append(row)
    return out


def in_focus(state: State) -> pd.Index:
    """Return the ids of the zones of the focus unit (the study area).

    Parameters
    ----------
    state
        A state.

    Returns
    -------
    pandas.Index
    """
    zones, focus = state.zones, state.focus

    def compute() -> pd.Index:
        own = zones.index == focus
        if "county_code" in zones.columns:
            own = own | (zones["county_code"] == focus).to_numpy()
        return cast("pd.Index", zones.index[own])

    return _derived("in_focus", zones, focus, compute)  # kept with the zones


def _at_cordon(state: State, table: pd.DataFrame) -> pd.DataFrame:
    """Drop the flows with neither end in the focus unit; keep their share in ``attrs``."""
    if state.context_flows == "all" or not len(table):
        return table
    inside = in_focus(state)
    if inside.is_unique:  # the same rows as isin, the ids looked up by hash
        keep = (positions(inside, table["origin"]) >= 0) | (
            positions(inside, table["destination"]) >= 0
        )
    else:
        keep = (table["origin"].isin(inside) | table["destination"].isin(inside)).to_numpy()
    volume = table["volume"].to_numpy(dtype=float)
    total = float(volume.sum())  # numpy's sums: pandas' own for float volumes
    out = table.take(np.flatnonzero(keep)).reset_index(drop=True)
    out.attrs = dict(table.attrs)
    out.attrs["outside_cordon_share"] = float(volume[~keep].sum()) / total if total else 0.0
    return out


def transit_of(state: State) -> TransitSkim | None:
    """Return the bus skim of a state (None without a bus service).

    The walk to and from the stops is the intrazonal length at walking speed.

    Parameters
    ----------
    state
        A state.

    Returns
    -------
    TransitSkim or None
    """
    if state.bus is None:
        return None
    memo = state.transit_memo
    if memo is not None and memo.fits(state):
        return memo.transit
    walk_kph = _walk_kph(state)
    access = intrazonal_km(state) / walk_kph * 60.0
    if state.intrazonal == "none":  # seat to seat: no intrazonal length, walk 0
        access = access * 0.0
    elif state.bus.stop_access_km is not None:  # the stops are known: walk to the nearest
        to_stop = state.bus.stop_access_km.reindex(access.index) / walk_kph * 60.0
        access = access.where(~(to_stop < access), to_stop)
    walk = trip_km(state) / walk_kph * 60.0
    return transit_skim(state.bus, trip_cost(state), access_min=access, walk_min=walk)


def _walk_kph(state: State) -> float:
    return state.modes.walk_kph if state.modes is not None else 4.5


def _with_transit(state: State) -> State:
    """Return the state with its bus skim kept in ``transit_memo`` (computed if stale)."""
    if state.bus is None or (state.transit_memo is not None and state.transit_memo.fits(state)):
        return state
    transit = transit_of(state)
    assert transit is not None  # state.bus is set
    memo = TransitMemo(
        bus=state.bus,
        skim=state.skim,
        distance_km=state.distance_km,
        intrazonal=state.intrazonal,
        walk_kph=_walk_kph(state),
        transit=transit,
    )
    return dataclasses.replace(state, transit_memo=memo)


def mode_probabilities_of(state: State) -> dict[str, pd.DataFrame] | None:
    """Return the mode shares of every zone pair in a state (None without a mode choice).

    Parameters
    ----------
    state
        A state.

    Returns
    -------
    dict or None
        Mode -> origin x destination probabilities.
    """
    if state.modes is None:
        return None
    return mode_probabilities(_mode_costs(state, state.modes), state.modes)


def _mode_costs(state: State, modes: ModeChoiceParams) -> ModeCosts:
    """Generalized times and money costs of every mode between the state's zones."""
    return mode_costs(trip_cost(state), trip_km(state), modes, transit=transit_of(state))


def calibrate_modes(state: State) -> State:
    """Fit the mode constants to the target shares of the study area's residents' trips.

    Parameters
    ----------
    state
        A state with its person trips and a mode choice with ``target_shares``.

    Returns
    -------
    State
        With the fitted constants (flows not yet re-split: ``update_flows(s, ("modes",))``).

    Raises
    ------
    InputError
        If the shares cannot be met.
    """
    if state.modes is None or not state.modes.target_shares or state.people_trips is None:
        return state
    trips = state.people_trips
    mine = trips[trips["origin"].isin(in_focus(state))]
    costs = _mode_costs(state, state.modes)
    return dataclasses.replace(state, modes=calibrate_ascs(mine, costs, state.modes))


def _alike(a: State, b: State, flow_type: str, flows: Mapping[str, pd.DataFrame]) -> bool:
    """Whether a flow type's table (before the mode split) in ``a`` would be ``b``'s.

    True when ``a`` holds the very objects ``b``'s table was computed from (compared by
    identity, settings by value); ``flows``: the flows ``a``'s table would be computed from
    (capital: the ecosystem flows, as updated so far).
    """
    if not (a.zones is b.zones and a.focus == b.focus and a.context_flows == b.context_flows):
        return False
    s, t = a.setups, b.setups
    if flow_type in ("people", "goods"):
        same_setup = s.people is t.people if flow_type == "people" else s.goods is t.goods
        return same_setup and a.skim is b.skim and a.intrazonal == b.intrazonal
    if flow_type == "ecosystem":
        return s.ecosystem is t.ecosystem and (
            s.ecosystem is None or s.ecosystem.model != "proximity" or a.skim is b.skim
        )
    return s.capital is t.capital and flows.get("ecosystem") is b.flows.get("ecosystem")


def _split_alike(a: State, b: State) -> bool:
    """Whether the same person trips are split by mode alike in ``a`` and ``b``."""
    return (
        a.bus is b.bus
        and a.modes is b.modes
        and a.skim is b.skim
        and a.distance_km is b.distance_km
        and a.intrazonal == b.intrazonal
        and _walk_kph(a) == _walk_kph(b)
    )


def _with_memo_of(state: State, like: State) -> State:
    """``state`` with ``like``'s bus skim where it fits."""
    memo = like.transit_memo
    if memo is None or not memo.fits(state):
        return state
    return dataclasses.replace(state, transit_memo=memo)


def _keep(flows: dict[str, pd.DataFrame], flow_type: str, table: pd.DataFrame | None) -> None:
    """Put a flow table in ``flows`` (drop the type if None)."""
    if table is None:
        flows.pop(flow_type, None)
        return
    flows[flow_type] = table
    if logger.isEnabledFor(logging.INFO):  # the total is not summed for nothing
        logger.info(
            "%s flows: %d rows, total %.6g %s",
            flow_type,
            len(table),
            table["volume"].sum(),
            table["unit"].iloc[0] if len(table) else "",
        )


def update_flows(
    state: State, changed: tuple[Change, ...] | None = None, *, like: State | None = None
) -> State:
    """Recompute the flows that depend on what changed (all of them when ``changed`` is None).

    Parameters
    ----------
    state
        A state whose ``setups`` or ``skim`` were edited.
    changed
        What was edited: ``"skim"`` (travel times) or a flow type's setup. Flow types that
        depend on it are recomputed, and those depending on them (capital follows the
        ecosystem flows).
    like
        A state whose flows are computed already: a flow type computed there from the very
        same objects (setups, skim, zones; compared by identity) is taken from it instead of
        computed again (the person trips are then split by mode again unless the bus lines,
        mode choice and distances are the same objects too). The result is the same.

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
    trips = state.people_trips
    for flow_type in ("people", "goods", "ecosystem", "capital"):  # dependency order
        if not dirty.intersection(_needs(state, flow_type)):
            continue
        only_split = flow_type == "people" and trips is not None and not dirty & {"people", "skim"}
        dirty.add(flow_type)
        if only_split:
            table: pd.DataFrame | None = trips  # only the bus or the modes changed
        elif like is not None and _alike(state, like, flow_type, flows):
            table = like.people_trips if flow_type == "people" else like.flows.get(flow_type)
            if flow_type == "people" and _split_alike(state, like):  # the same split too
                trips, state = table, _with_memo_of(state, like)
                _keep(flows, flow_type, like.flows.get(flow_type))
                continue
        else:
            table = _compute(state, flow_type, flows)
            if table is not None and flow_type in ("people", "goods"):
                table = _at_cordon(state, table)
        if flow_type == "people":
            trips = table
            if state.modes is not None:
                state = _with_transit(state)  # computed once for the split and evaluate
            probabilities = mode_probabilities_of(state)
            if table is not None and probabilities is not None:
                table = split_by_mode(table, probabilities)
        _keep(flows, flow_type, table)
    return dataclasses.replace(state, flows=flows, people_trips=trips)
