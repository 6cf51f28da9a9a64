"""A scenario's linkages: model inputs from its tables, then the four flow types.

:func:`flows_from_scenario` prepares the inputs each flow model needs from the scenario's
zones, skim and tables, runs the models named in ``[flows.*]`` and returns one flow table
per flow type. Every estimated input is labelled: the derivations are documented on each
function and in ``docs/models.md``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pandas as pd

from urlink.errors import InputError, UrlinkError
from urlink.io.tables import read_rows, read_table
from urlink.model.flows import get_model
from urlink.model.flows.capital import DEFAULT_ECO_RATE_YUAN_PER_M3, CapitalParams
from urlink.model.flows.ecosystem import EcosystemParams, links_from_skim
from urlink.model.flows.goods import GoodsParams, mandarin_supply_from_area
from urlink.model.flows.people import PeopleParams

if TYPE_CHECKING:
    from collections.abc import Mapping

    import geopandas as gpd

    from urlink.scenario.spec import EcosystemSpec, GoodsSpec, PeopleSpec, Scenario

from urlink.scenario.spec import CapitalSpec

__all__ = [
    "FlowOverrides",
    "ecosystem_inputs",
    "flows_from_scenario",
    "goods_inputs",
    "model_inputs",
    "people_inputs",
]

logger = logging.getLogger(__name__)


def people_inputs(zones: pd.DataFrame, spec: PeopleSpec) -> pd.DataFrame:
    """Productions and attractions of the people models.

    ``production`` = population x ``trip_rate`` (trips leaving the zone per day);
    ``attraction`` = population, scaled so that attractions sum to productions (needed by
    the doubly constrained model).

    Parameters
    ----------
    zones
        Zones with ``population``.
    spec
        The ``[flows.people]`` section.

    Returns
    -------
    pandas.DataFrame
        ``production``, ``attraction``, ``population``, indexed like ``zones``.
    """
    pop = pd.to_numeric(zones["population"]).astype(float)
    production = pop * spec.trip_rate
    attraction = pop * production.sum() / pop.sum()
    return pd.DataFrame(
        {"production": production, "attraction": attraction, "population": pop}, index=zones.index
    )


def _zone_ids_in(table: pd.DataFrame, zones: pd.DataFrame, what: str) -> None:
    unknown = sorted(set(table.index) - set(zones.index))
    if unknown:
        msg = f"{what}: zone ids {unknown[:10]} are not zones of the scenario; fix the ids"
        raise InputError(msg)


def goods_inputs(
    zones: pd.DataFrame, spec: GoodsSpec, *, extra_markets: Mapping[str, float] | None = None
) -> pd.DataFrame:
    """Supply and demand (t/day) of the goods models.

    Supply: ``supply_t_per_year`` shared over zones by the weights table, divided by 365
    (an estimate unless the weights are production figures). Demand: the same total shared
    over the markets by ``demand_weight``, so all supply finds a market.

    Parameters
    ----------
    zones
        Zones indexed by id.
    spec
        The ``[flows.goods]`` section.
    extra_markets
        Zone id -> demand weight added to the markets table (a new market hub).

    Returns
    -------
    pandas.DataFrame
        ``supply`` and ``demand`` (t/day), indexed like ``zones``.

    Raises
    ------
    InputError
        If a table names unknown zones or has bad weights.
    """
    weights = read_table(spec.supply_weights, id_col="zone_id", what="goods supply weights")
    markets = read_table(spec.markets, id_col="zone_id", what="goods markets")
    if extra_markets:  # strategies may add market hubs
        added = pd.Series(dict(extra_markets), dtype=float)
        current = pd.to_numeric(markets["demand_weight"], errors="coerce")
        combined = current.add(added, fill_value=0.0)
        markets = markets.reindex(combined.index)
        markets["demand_weight"] = combined
    _zone_ids_in(weights, zones, f"goods supply weights {str(spec.supply_weights)!r}")
    _zone_ids_in(markets, zones, f"goods markets {str(spec.markets)!r}")
    for table, col, path in (
        (weights, "weight", spec.supply_weights),
        (markets, "demand_weight", spec.markets),
    ):
        if col not in table.columns:
            msg = f"{str(path)!r}: no column {col!r}; columns are {list(table.columns)}"
            raise InputError(msg)
        values = pd.to_numeric(table[col], errors="coerce")
        if values.isna().any() or (values < 0).any() or values.sum() <= 0:
            msg = f"{str(path)!r}: column {col!r} must hold numbers >= 0 with a positive sum"
            raise InputError(msg)
        table[col] = values
    supply = mandarin_supply_from_area(
        zones, total_t_per_year=spec.supply_t_per_year, weights=weights["weight"]
    )
    share = markets["demand_weight"] / markets["demand_weight"].sum()
    demand = (share * float(supply.sum())).reindex(zones.index, fill_value=0.0)
    return pd.DataFrame(
        {"supply": supply.reindex(zones.index, fill_value=0.0), "demand": demand},
        index=zones.index,
    )


def ecosystem_inputs(
    zones: pd.DataFrame,
    spec: EcosystemSpec,
    *,
    supply_factor: Mapping[str, float] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Supply, demand (m3/day) and the declared service links of the ecosystem models.

    Supply: the phases' total volume shared over the source zones by zone area (an
    estimate: the catchment's runoff by zone is not known). Demand: each phase's volume
    shared among its users by population, a county id standing for all its township
    zones. Links: every source to every user.

    Parameters
    ----------
    zones
        Zones with ``population``, ``area_km2`` and ``county_code``/``level``.
    spec
        The ``[flows.ecosystem]`` section.
    supply_factor
        Zone id -> factor applied to the zone's supply (land-use change).

    Returns
    -------
    inputs : pandas.DataFrame
        ``supply`` and ``demand`` (m3/day), indexed like ``zones``.
    links : pandas.DataFrame
        ``source``, ``user``.

    Raises
    ------
    InputError
        If a table names unknown zones or a phase has a bad volume.
    """
    sources = read_table(spec.sources, id_col="zone_id", what="ecosystem sources")
    _zone_ids_in(sources, zones, f"ecosystem sources {str(spec.sources)!r}")
    phases = read_table(spec.phases, id_col="phase", what="ecosystem phases")
    for col in ("m3_per_day", "users"):
        if col not in phases.columns:
            msg = f"ecosystem phases {str(spec.phases)!r}: no column {col!r}"
            raise InputError(msg)
    volume = pd.to_numeric(phases["m3_per_day"], errors="coerce")
    if volume.isna().any() or (volume <= 0).any():
        msg = f"ecosystem phases {str(spec.phases)!r}: m3_per_day must be positive numbers"
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
                    f"ecosystem phases {str(spec.phases)!r}, phase {phase}: user {zid!r} is "
                    "neither a zone nor a county of the scenario"
                )
                raise InputError(msg)
        demand[users] += float(vol) * pop[users] / pop[users].sum()
    area = pd.to_numeric(zones.loc[sources.index, "area_km2"]).astype(float)
    supply = (area / area.sum() * float(volume.sum())).reindex(zones.index, fill_value=0.0)
    for zid, factor in (supply_factor or {}).items():  # land-use change in a source zone
        supply[zid] *= factor
    users_all = demand.index[demand > 0].tolist()
    links = pd.DataFrame(
        [(s, u) for s in sources.index for u in users_all], columns=["source", "user"]
    )
    return pd.DataFrame({"supply": supply, "demand": demand}, index=zones.index), links


def model_inputs(scenario: Scenario, zones: gpd.GeoDataFrame) -> pd.DataFrame:
    """Collect the inputs the scenario's flow models are fed, per zone (for the graph's nodes).

    Parameters
    ----------
    scenario
        A loaded scenario.
    zones
        Its zones.

    Returns
    -------
    pandas.DataFrame
        Indexed like ``zones``: ``people_production``, ``people_attraction`` (trips/day),
        ``goods_supply_t_per_day``, ``goods_demand_t_per_day``,
        ``ecosystem_supply_m3_per_day``, ``ecosystem_demand_m3_per_day`` for the flow types
        the scenario names.
    """
    spec = scenario.flows
    out = pd.DataFrame(index=zones.index)
    if spec.people is not None:
        p = people_inputs(zones, spec.people)
        out["people_production"] = p["production"]
        out["people_attraction"] = p["attraction"]
    if spec.goods is not None:
        g = goods_inputs(zones, spec.goods)
        out["goods_supply_t_per_day"] = g["supply"]
        out["goods_demand_t_per_day"] = g["demand"]
    if spec.ecosystem is not None:
        e, _ = ecosystem_inputs(zones, spec.ecosystem)
        out["ecosystem_supply_m3_per_day"] = e["supply"]
        out["ecosystem_demand_m3_per_day"] = e["demand"]
    return out


@dataclass(frozen=True, slots=True)
class FlowOverrides:
    """In-memory edits of a scenario's flow inputs (what strategies change).

    Attributes
    ----------
    extra_markets
        Zone id -> goods demand weight added (market hubs).
    water_supply_factor
        Zone id -> factor on ecosystem supply (land-use change).
    eco_rate_yuan_per_m3, quality_met, eco_compensation
        Replace the ``[flows.capital]`` settings when not None.
    """

    extra_markets: Mapping[str, float] = field(default_factory=dict)
    water_supply_factor: Mapping[str, float] = field(default_factory=dict)
    eco_rate_yuan_per_m3: float | None = None
    quality_met: bool | None = None
    eco_compensation: bool | None = None


def flows_from_scenario(
    scenario: Scenario,
    zones: gpd.GeoDataFrame,
    skim: pd.DataFrame,
    *,
    overrides: FlowOverrides | None = None,
) -> dict[str, pd.DataFrame]:
    """Run the flow models a scenario names and return one flow table per flow type.

    Parameters
    ----------
    scenario
        A loaded scenario (its ``[flows.*]`` sections).
    zones
        Its zones (with populations).
    skim
        Travel times in minutes between the zones.
    overrides
        Strategy edits of the inputs (:class:`FlowOverrides`).

    Returns
    -------
    dict
        Flow type -> flow table (only the types the scenario names). The ecosystem table
        keeps its ``unused`` rows; the others hold flows between zones only.
    """
    spec = scenario.flows
    ov = overrides if overrides is not None else FlowOverrides()
    out: dict[str, pd.DataFrame] = {}
    if spec.people is not None:
        p = spec.people
        model = get_model("people", p.model)
        people_params = PeopleParams(
            deterrence=p.deterrence,  # type: ignore[arg-type]
            beta=p.beta,
            top_destinations=p.top_destinations,
        )
        try:
            out["people"] = model(people_inputs(zones, p), skim, params=people_params)
        except UrlinkError as err:
            if isinstance(err, InputError):
                raise
            # the balancing failed for the scenario's parameters: a fix for the user
            msg = (
                f"{scenario.path}: [flows.people] model = {p.model!r}, beta = {p.beta!r}: "
                f"{err}. Lower beta (docs/models.md gives the default and its source) or "
                "check that every zone is reachable"
            )
            raise InputError(msg) from err
    if spec.goods is not None:
        g = spec.goods
        out["goods"] = get_model("goods", g.model)(
            goods_inputs(zones, g, extra_markets=ov.extra_markets),
            skim,
            params=GoodsParams(beta=g.beta, commodity=g.commodity),
        )
    if spec.ecosystem is not None:
        e = spec.ecosystem
        inputs, links = ecosystem_inputs(zones, e, supply_factor=ov.water_supply_factor)
        if e.model == "proximity":
            links = links_from_skim(skim, sorted(set(links["source"])), sorted(set(links["user"])))
        out["ecosystem"] = get_model("ecosystem", e.model)(
            inputs, links, params=EcosystemParams(max_time_min=e.max_time_min)
        )
    if spec.capital is not None or ov.eco_compensation:
        c = spec.capital if spec.capital is not None else CapitalSpec(eco_compensation=False)
        rate = (
            ov.eco_rate_yuan_per_m3
            if ov.eco_rate_yuan_per_m3 is not None
            else (c.eco_rate_yuan_per_m3)
        )
        capital_params = CapitalParams(
            eco_rate_yuan_per_m3=DEFAULT_ECO_RATE_YUAN_PER_M3 if rate is None else rate,
            quality_met=c.quality_met if ov.quality_met is None else ov.quality_met,
            per_capita_yuan=c.per_capita_yuan,
        )
        eco_on = c.eco_compensation if ov.eco_compensation is None else ov.eco_compensation
        parts = []
        if eco_on and "ecosystem" in out:
            parts.append(
                get_model("capital", "eco_compensation")(
                    zones, out["ecosystem"], params=capital_params
                )
            )
        if c.transfers is not None:
            table = read_rows(
                c.transfers, what="capital transfers", str_columns=("payer", "payee")
            )
            parts.append(get_model("capital", "transfers")(zones, table, params=capital_params))
        if parts:
            out["capital"] = pd.concat(parts, ignore_index=True)
    for name, table in out.items():
        logger.info(
            "%s flows: %d rows, total %.6g %s",
            name,
            len(table),
            table["volume"].sum(),
            table["unit"].iloc[0] if len(table) else "",
        )
    return out
