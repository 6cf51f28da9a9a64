"""What each flow model is fed: its setup (model, parameters and prepared inputs per zone).

The scenario layer reads the input tables once and builds one *setup* per flow type
(:class:`PeopleSetup`, :class:`GoodsSetup`, :class:`EcosystemSetup`, :class:`CapitalSetup`);
strategies edit setups in memory (a market hub adds a demand weight, a land-use change scales
a source's supply), and :func:`urlink.model.state.update_flows` recomputes only the flow
types whose inputs changed. Every estimated input is labelled: the derivations are
documented on each function and in ``docs/models.md``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from urlink.errors import InputError
from urlink.model.flows.capital import CapitalParams
from urlink.model.flows.goods import mandarin_supply_from_area

if TYPE_CHECKING:
    from collections.abc import Mapping

    from urlink.model.flows.people import CalibrationResult

__all__ = [
    "CapitalSetup",
    "EcosystemSetup",
    "FlowSetups",
    "GoodsSetup",
    "PeopleSetup",
    "attraction_weights",
    "ecosystem_demand",
    "goods_supply",
    "node_inputs",
    "people_inputs",
]


def people_inputs(
    zones: pd.DataFrame, *, trip_rate: float, attraction: pd.Series | None = None
) -> pd.DataFrame:
    """Productions and attractions of the people models (for one trip purpose).

    ``production`` = population x ``trip_rate`` (trips per day produced by the zone's
    residents); ``attraction`` = the attraction weights (population unless given: jobs,
    services...), scaled so that attractions sum to productions (needed by the doubly
    constrained model).

    Parameters
    ----------
    zones
        Zones with ``population``.
    trip_rate
        Trips per resident and day.
    attraction
        Attraction weight per zone (missing zones get 0); None: the population.

    Returns
    -------
    pandas.DataFrame
        ``production``, ``attraction``, ``population``, indexed like ``zones``.

    Examples
    --------
    >>> z = pd.DataFrame({"population": [100.0, 300.0]}, index=["a", "b"])
    >>> people_inputs(z, trip_rate=0.5)[["production", "attraction"]].to_numpy().tolist()
    [[50.0, 50.0], [150.0, 150.0]]
    """
    pop = pd.to_numeric(zones["population"]).astype(float)
    production = pop * trip_rate
    weight = pop if attraction is None else attraction.reindex(zones.index, fill_value=0.0)
    scaled = weight.astype(float) * production.sum() / float(weight.sum())
    return pd.DataFrame(
        {"production": production, "attraction": scaled, "population": pop}, index=zones.index
    )


def _zone_ids_in(ids: pd.Index, zones: pd.DataFrame, what: str) -> None:
    unknown = sorted(set(ids) - set(zones.index))
    if unknown:
        msg = f"{what}: zone ids {unknown[:10]} are not zones of the scenario; fix the ids"
        raise InputError(msg)


def _weights(table: pd.DataFrame, col: str, what: str) -> pd.Series:
    if col not in table.columns:
        msg = f"{what}: no column {col!r}; columns are {list(table.columns)}"
        raise InputError(msg)
    values = pd.to_numeric(table[col], errors="coerce")
    if values.isna().any() or (values < 0).any() or values.sum() <= 0:
        msg = f"{what}: column {col!r} must hold numbers >= 0 with a positive sum"
        raise InputError(msg)
    return values.astype(float)


def attraction_weights(zones: pd.DataFrame, table: pd.DataFrame, *, what: str) -> pd.Series:
    """Check an attraction table (``weight`` per zone id) and return its weights.

    Parameters
    ----------
    zones
        Zones indexed by id.
    table
        Indexed by zone id with ``weight`` (jobs, floor area of services...).
    what
        The table's name for messages.

    Returns
    -------
    pandas.Series
        Weight per zone of the table.

    Raises
    ------
    InputError
        If the table names unknown zones or a weight is not a number >= 0 (or all are 0).
    """
    _zone_ids_in(table.index, zones, what)
    return _weights(table, "weight", what)


def goods_supply(
    zones: pd.DataFrame,
    weights: pd.DataFrame,
    markets: pd.DataFrame,
    *,
    supply_t_per_year: float,
    what: tuple[str, str] = ("goods supply weights", "goods markets"),
) -> tuple[pd.Series, pd.Series]:
    """Supply (t/day) per zone and the markets' demand weights, checked.

    Supply: ``supply_t_per_year`` shared over zones by the ``weight`` column, divided by 365
    (an estimate unless the weights are production figures).

    Parameters
    ----------
    zones
        Zones indexed by id.
    weights
        Table indexed by zone id with ``weight``.
    markets
        Table indexed by zone id with ``demand_weight``.
    supply_t_per_year
        Annual output.
    what
        Names of the two tables for messages.

    Returns
    -------
    supply : pandas.Series
        t/day, indexed like ``zones``.
    market_weights : pandas.Series
        Demand weight per market zone.

    Raises
    ------
    InputError
        If a table names unknown zones or has bad weights.
    """
    _zone_ids_in(weights.index, zones, what[0])
    _zone_ids_in(markets.index, zones, what[1])
    w = _weights(weights, "weight", what[0])
    m = _weights(markets, "demand_weight", what[1])
    supply = mandarin_supply_from_area(zones, total_t_per_year=supply_t_per_year, weights=w)
    return supply.reindex(zones.index, fill_value=0.0), m


def ecosystem_demand(
    zones: pd.DataFrame, sources: pd.DataFrame, phases: pd.DataFrame, *, what: str
) -> tuple[pd.Series, pd.Series, pd.DataFrame]:
    """Supply and demand (m3/day) of an ecosystem service and its declared links.

    Supply: the phases' total volume shared over the source zones by zone area (an
    estimate: the catchment's runoff by zone is not known). Demand: each phase's volume
    shared among its users by population, a county id standing for all its township
    zones. Links: every source to every user.

    Parameters
    ----------
    zones
        Zones with ``population``, ``area_km2`` and ``county_code``/``level``.
    sources
        Table indexed by source zone id.
    phases
        Table indexed by phase with ``m3_per_day`` and ``users`` (``;``-separated ids).
    what
        Name of the phases table for messages.

    Returns
    -------
    supply, demand : pandas.Series
        m3/day, indexed like ``zones``.
    links : pandas.DataFrame
        ``source``, ``user``.

    Raises
    ------
    InputError
        If a table names unknown zones or a phase has a bad volume.
    """
    _zone_ids_in(sources.index, zones, f"ecosystem sources of {what}")
    for col in ("m3_per_day", "users"):
        if col not in phases.columns:
            msg = f"ecosystem phases {what}: no column {col!r}"
            raise InputError(msg)
    volume = pd.to_numeric(phases["m3_per_day"], errors="coerce")
    if volume.isna().any() or (volume <= 0).any():
        msg = f"ecosystem phases {what}: m3_per_day must be positive numbers"
        raise InputError(msg)
    demand = pd.Series(0.0, index=zones.index)
    pop = pd.to_numeric(zones["population"]).astype(float)
    for phase, ids, vol in zip(phases.index, phases["users"], volume, strict=True):
        users: list[str] = []
        for raw in str(ids).split(";"):
            zid = raw.strip()
            if zid in zones.index:
                users.append(zid)
            elif "county_code" in zones.columns and (zones["county_code"] == zid).any():
                users += zones.index[
                    (zones["county_code"] == zid) & (zones["level"] == "township")
                ].tolist()
            else:
                msg = (
                    f"ecosystem phases {what}, phase {phase}: user {zid!r} is neither a zone "
                    "nor a county of the scenario"
                )
                raise InputError(msg)
        demand[users] += float(vol) * pop[users] / pop[users].sum()
    area = pd.to_numeric(zones.loc[sources.index, "area_km2"]).astype(float)
    supply = (area / area.sum() * float(volume.sum())).reindex(zones.index, fill_value=0.0)
    users_all = demand.index[demand > 0].tolist()
    links = pd.DataFrame(
        [(s, u) for s in sources.index for u in users_all], columns=["source", "user"]
    )
    return supply, demand, links


@dataclass(frozen=True, slots=True, eq=False)
class PeopleSetup:
    """People flows of one trip purpose: the model, its parameters, productions/attractions.

    Attributes
    ----------
    model
        A registered people model (:data:`urlink.model.flows.FLOW_MODELS`).
    params
        The model's settings (:class:`urlink.model.flows.people.PeopleParams` for the
        built-in models), with this purpose's deterrence.
    inputs
        ``production``, ``attraction``, ``population`` per zone (persons/day).
    purpose
        Trip purpose (``home_work``, ``home_other``, ``non_home``; ``all`` when a scenario
        has no purposes).
    inputs_source
        Where the trip rate and the attraction weights come from (a citation or
        ``estimate: ...``); written with every flow.
    calibration
        The fit of beta to a target mean trip time, when the scenario asked for one.
    """

    model: str
    params: Any
    inputs: pd.DataFrame
    purpose: str = "all"
    inputs_source: str = ""
    calibration: CalibrationResult | None = None


@dataclass(frozen=True, slots=True, eq=False)
class GoodsSetup:
    """Goods flows: the model, its parameters, supply per zone and the markets' weights.

    Attributes
    ----------
    model, params
        A registered goods model and its settings.
    supply
        t/day per zone.
    market_weights
        Demand weight per market zone; the demand of each market is its share of the
        total supply (all supply finds a market).
    """

    model: str
    params: Any
    supply: pd.Series
    market_weights: pd.Series

    def inputs(self) -> pd.DataFrame:
        """``supply`` and ``demand`` (t/day) per zone, as the goods models take them.

        Returns
        -------
        pandas.DataFrame
            Indexed like :attr:`supply`.
        """
        share = self.market_weights / self.market_weights.sum()
        demand = (share * float(self.supply.sum())).reindex(self.supply.index, fill_value=0.0)
        return pd.DataFrame({"supply": self.supply, "demand": demand}, index=self.supply.index)

    def with_market(self, zone: str, weight: float) -> GoodsSetup:
        """Return a copy with ``weight`` added to the demand of ``zone`` (a new market hub).

        Parameters
        ----------
        zone
            Zone id.
        weight
            Demand weight added.

        Returns
        -------
        GoodsSetup
        """
        added = pd.Series({zone: float(weight)}, dtype=float)
        return dataclasses.replace(
            self, market_weights=self.market_weights.add(added, fill_value=0.0)
        )


@dataclass(frozen=True, slots=True, eq=False)
class EcosystemSetup:
    """Ecosystem-service flows: the model, its parameters, supply, demand and links.

    Attributes
    ----------
    model, params
        A registered ecosystem model and its settings.
    supply, demand
        m3/day per zone.
    links
        Declared ``source``, ``user`` links (the ``proximity`` model builds its own from the
        skim).
    """

    model: str
    params: Any
    supply: pd.Series
    demand: pd.Series
    links: pd.DataFrame

    def inputs(self) -> pd.DataFrame:
        """``supply`` and ``demand`` (m3/day) per zone.

        Returns
        -------
        pandas.DataFrame
        """
        return pd.DataFrame({"supply": self.supply, "demand": self.demand})

    def scaled(self, factors: Mapping[str, float]) -> EcosystemSetup:
        """Return a copy with the supply of some zones multiplied by factors (land use).

        Parameters
        ----------
        factors
            Zone id -> factor.

        Returns
        -------
        EcosystemSetup
        """
        supply = self.supply.copy()
        for zid, factor in factors.items():
            supply[zid] *= factor
        return dataclasses.replace(self, supply=supply)


@dataclass(frozen=True, slots=True, eq=False)
class CapitalSetup:
    """Money flows: eco-compensation for the ecosystem flows and declared transfers.

    Attributes
    ----------
    eco_compensation
        Whether the users of ecosystem services pay the source zones.
    params
        Rates (:class:`urlink.model.flows.capital.CapitalParams`).
    transfers
        Declared transfers (``payer``, ``payee``, ``amount_yuan_per_year``), or None.
    """

    eco_compensation: bool = False
    params: CapitalParams = dataclasses.field(default_factory=CapitalParams)
    transfers: pd.DataFrame | None = None


@dataclass(frozen=True, slots=True, eq=False)
class FlowSetups:
    """The setups of the flow types a scenario builds (None or empty: not modelled).

    ``people`` holds one setup per trip purpose.
    """

    people: tuple[PeopleSetup, ...] = ()
    goods: GoodsSetup | None = None
    ecosystem: EcosystemSetup | None = None
    capital: CapitalSetup | None = None


def node_inputs(setups: FlowSetups, index: pd.Index) -> pd.DataFrame:
    """Collect the inputs the flow models are fed, per zone (for the graph's nodes).

    Parameters
    ----------
    setups
        The flow setups of a state.
    index
        Zone ids.

    Returns
    -------
    pandas.DataFrame
        ``people_production``, ``people_attraction`` (trips/day),
        ``goods_supply_t_per_day``, ``goods_demand_t_per_day``,
        ``ecosystem_supply_m3_per_day``, ``ecosystem_demand_m3_per_day`` for the flow types
        modelled.
    """
    out = pd.DataFrame(index=index)
    if setups.people:
        out["people_production"] = sum(s.inputs["production"] for s in setups.people)
        out["people_attraction"] = sum(s.inputs["attraction"] for s in setups.people)
    if setups.goods is not None:
        g = setups.goods.inputs()
        out["goods_supply_t_per_day"] = g["supply"]
        out["goods_demand_t_per_day"] = g["demand"]
    if setups.ecosystem is not None:
        out["ecosystem_supply_m3_per_day"] = setups.ecosystem.supply
        out["ecosystem_demand_m3_per_day"] = setups.ecosystem.demand
    return out
