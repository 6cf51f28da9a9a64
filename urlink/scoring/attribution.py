"""Cross-boundary attribution: who gains and who pays, by zone and administrative unit.

For a strategy, :func:`attribute_zones` compares its evaluation with the baseline zone by
zone (:data:`EFFECTS`, positive = a gain for the zone); :func:`attribute_units` sums the
zone effects to every administrative level and books the strategy's cost on the
responsible unit; :func:`guidelines` turns that into an action table per level: what each
unit would have to do and what it gains or pays (the Raumbild step "action guidelines per
administrative level").

Every zone belongs to exactly one unit per level (a zone without a code at a level, such
as a whole county at the township level, is its own unit), so at every level the units'
effects add up to the strategy's total effect.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from urlink.io.boundaries import ADMIN_LEVELS

if TYPE_CHECKING:
    from urlink.model.state import Strategy
    from urlink.scoring.indicators import Evaluation

__all__ = [
    "BELOW_THRESHOLD",
    "EFFECTS",
    "MATERIALITY",
    "attribute_units",
    "attribute_zones",
    "compare_flows",
    "crosses",
    "guidelines",
    "total_effects",
    "unit_of",
]

EFFECTS = {
    "time_saved_person_min_per_day": "travel time saved by the zone's people trips",
    "centre_access_gain_person_min": "residents x minutes gained on the way to the district "
    "centre",
    "hospital_access_gain_person_min": "residents x minutes gained to the nearest hospital",
    "market_access_gain_person_min": "residents x minutes gained to the nearest market",
    "co2_reduction_kg_per_day": "transport CO2 avoided on trips from the zone",
    "trip_credits_kg_per_day": "low-carbon trip credits earned by the zone's residents",
    "capital_net_yuan_per_year": "money received minus money paid",
    "capital_paid_yuan_per_year": "change of the money the zone pays",
    "capital_received_yuan_per_year": "change of the money the zone receives",
    "water_received_m3_per_day": "change of ecosystem-service water received",
}
"""Zone effects of a strategy (positive = gain), by name."""

MATERIALITY = 0.01
"""Default materiality threshold: a unit's effect smaller than 1 % of the largest effect of
the same kind at its level (for the same strategy) is not attributed to the unit.

Why: strategies change travel times and flows everywhere a little (the gravity models
redistribute trips over the whole network), so without a threshold every unit of every
level "gains" or "loses" something, the guidelines list units whose effect is noise and a
strategy seems to cross every boundary. 1 % is the convention of a materiality threshold in
auditing and impact assessment (effects below it do not change a decision); set
``[attribution] materiality`` (0 keeps everything). The amounts below it are not lost: they
go to one row per level, unit :data:`BELOW_THRESHOLD`, so every level still adds up to the
strategy's total effect."""

BELOW_THRESHOLD = "below_threshold"
"""Unit of the row that collects the effects below the materiality threshold."""

_LEVEL_OF_STRATEGY = {
    "village": "township",
    "township": "township",
    "district": "county",
    "county": "county",
    "prefecture": "prefecture",
    "province": "province",
}


def attribute_zones(base: Evaluation, new: Evaluation, zones: pd.DataFrame) -> pd.DataFrame:
    """Effects of a strategy on every zone, relative to the baseline.

    Parameters
    ----------
    base, new
        Evaluations of the baseline and of the strategy.
    zones
        Zones with ``population``.

    Returns
    -------
    pandas.DataFrame
        One row per zone, columns :data:`EFFECTS`.
    """
    b, n = base.zone_values, new.zone_values
    pop = zones["population"].astype(float).reindex(b.index)
    out = pd.DataFrame(index=b.index)
    out["time_saved_person_min_per_day"] = (
        b["person_minutes_per_day"] - n["person_minutes_per_day"]
    )
    out["centre_access_gain_person_min"] = (
        b["time_to_centre_min"] - n["time_to_centre_min"]
    ).fillna(0.0) * pop
    for what in ("hospital", "market"):
        gain = (b[f"time_to_{what}_min"] - n[f"time_to_{what}_min"]).fillna(0.0)
        out[f"{what}_access_gain_person_min"] = gain * pop
    out["co2_reduction_kg_per_day"] = b["co2_kg_per_day"] - n["co2_kg_per_day"]
    out["trip_credits_kg_per_day"] = n["trip_credits_kg_per_day"] - b["trip_credits_kg_per_day"]
    out["capital_net_yuan_per_year"] = (
        n["capital_net_yuan_per_year"] - b["capital_net_yuan_per_year"]
    )
    for what in ("paid", "received"):
        col = f"capital_{what}_yuan_per_year"
        out[col] = n[col] - b[col]
    out["water_received_m3_per_day"] = (
        n["water_received_m3_per_day"] - b["water_received_m3_per_day"]
    )
    out.index.name = "zone_id"
    # round off floating-point noise so that "no effect" is exactly zero
    return out.mask(out.abs() < 1e-9, 0.0)


def unit_of(zones: pd.DataFrame, level: str) -> pd.Series:
    """Return the unit of every zone at a level (the zone itself where it has no code there).

    Parameters
    ----------
    zones
        Zones with ``*_code`` columns.
    level
        One of :data:`urlink.io.boundaries.ADMIN_LEVELS`.

    Returns
    -------
    pandas.Series
        Unit code per zone id.
    """
    codes = zones[f"{level}_code"].astype("string")
    return codes.fillna(pd.Series(zones.index, index=zones.index, dtype="string")).astype(str)


def _responsible_units(
    strategy: Strategy, zones: pd.DataFrame, focus: str
) -> tuple[str, list[str]]:
    level = _LEVEL_OF_STRATEGY[strategy.level]
    sites = [s for s in strategy.sites if s in zones.index]
    if sites:
        units = sorted(set(unit_of(zones.loc[sites], level)))
    else:
        units = [focus if level == "county" else str(zones[f"{level}_code"].dropna().iloc[0])]
    return level, units


def _material(agg: pd.DataFrame, materiality: float) -> pd.DataFrame:
    """Move effects below the threshold of one level to a :data:`BELOW_THRESHOLD` row."""
    if materiality <= 0 or agg.empty:
        return agg
    cols = list(EFFECTS)
    values = agg[cols]
    limit = materiality * values.abs().max(axis=0)
    small = (values.abs() < limit) & (values != 0)
    if not small.to_numpy().any():
        return agg
    rest = values.where(small, 0.0).sum(axis=0)
    agg = agg.copy()
    agg[cols] = values.mask(small, 0.0)
    row = pd.DataFrame([rest.to_dict()], index=[BELOW_THRESHOLD])
    return pd.concat([agg, row]).fillna({"cost_yuan": 0.0})


def attribute_units(
    effects: pd.DataFrame,
    zones: pd.DataFrame,
    strategy: Strategy,
    *,
    focus: str,
    materiality: float = MATERIALITY,
) -> pd.DataFrame:
    """Sum zone effects to every administrative level and book the cost.

    An effect of a unit below the materiality threshold (``materiality`` x the largest
    absolute effect of its kind at that level) is not attributed to the unit: it goes to
    the level's :data:`BELOW_THRESHOLD` row (see :data:`MATERIALITY`).

    Parameters
    ----------
    effects
        From :func:`attribute_zones`.
    zones
        Zones with ``*_code`` columns.
    strategy
        The strategy (its level, sites and cost).
    focus
        Id of the study district (the unit of district-level strategies without sites).
    materiality
        Share of the level's largest effect below which an effect is not attributed to a
        unit (0: attribute everything).

    Returns
    -------
    pandas.DataFrame
        ``strategy``, ``level``, ``unit``, the effect columns, ``cost_yuan`` (the capital
        cost on the responsible units, split equally, at their level and above; NaN on
        them where the cost is unknown, never 0), ``cost_known`` (bool), ``responsible``
        (bool) and ``outside_responsible`` (bool: the unit is not a responsible one).
    """
    resp_level, resp_units = _responsible_units(strategy, zones, focus)
    rank = {lvl: i for i, lvl in enumerate(ADMIN_LEVELS)}
    rows = []
    for level in ADMIN_LEVELS:
        units = unit_of(zones, level).reindex(effects.index)
        agg = _material(effects.groupby(units).sum(), materiality)
        agg["cost_yuan"] = 0.0
        if strategy.cost_yuan and rank[level] >= rank[resp_level]:
            resp_zones = zones.index[unit_of(zones, resp_level).isin(resp_units)]
            payer_units = unit_of(zones.loc[resp_zones], level)
            share = strategy.cost_yuan / len(resp_units)
            for unit in resp_units:
                payer = payer_units[unit_of(zones.loc[resp_zones], resp_level) == unit].iloc[0]
                if payer not in agg.index:
                    agg.loc[payer] = 0.0
                agg.loc[payer, "cost_yuan"] += share
        resp_here = set(
            unit_of(zones.loc[zones.index[unit_of(zones, resp_level).isin(resp_units)]], level)
        )
        agg["responsible"] = agg.index.isin(list(resp_here)) & (rank[level] >= rank[resp_level])
        agg.insert(0, "unit", agg.index.astype(str))
        agg.insert(0, "level", level)
        rows.append(agg.reset_index(drop=True))
    out = pd.concat(rows, ignore_index=True)
    out.insert(0, "strategy", strategy.name)
    known = strategy.cost_yuan is not None
    if not known:  # unknown: the responsible units' cost is unknown, not 0
        out.loc[out["responsible"], "cost_yuan"] = np.nan
    out.insert(list(out.columns).index("cost_yuan") + 1, "cost_known", known)
    out["outside_responsible"] = ~out["responsible"]
    return out


def crosses(units: pd.DataFrame) -> str:
    """Return the highest level at which a strategy's effects reach units it is not run by.

    Parameters
    ----------
    units
        Rows of :func:`attribute_units` for one strategy.

    Returns
    -------
    str
        ``"none"`` or a level name.
    """
    effect_cols = list(EFFECTS)
    units = units[units["unit"] != BELOW_THRESHOLD]  # not attributed to any unit
    touched = units[(units[effect_cols].abs() > 0).any(axis=1)]
    result = "none"
    for level in ADMIN_LEVELS:
        at = touched[touched["level"] == level]
        responsible = units[(units["level"] == level) & units["responsible"]]
        if len(responsible) and (~at["unit"].isin(responsible["unit"])).any():
            result = level
    return result


def _fmt(value: float, unit: str) -> str:
    return f"{value:,.0f} {unit}" if abs(value) >= 10 else f"{value:,.2f} {unit}"


def _gains_costs(effects: dict[str, float], cost: float) -> tuple[list[str], list[str]]:
    hours = effects["time_saved_person_min_per_day"] / 60
    received = effects["capital_received_yuan_per_year"]
    paid = effects["capital_paid_yuan_per_year"]
    access = {
        what: effects[f"{what}_access_gain_person_min"] / 60
        for what in ("centre", "hospital", "market")
    }
    small = 0.005  # below display precision: not a gain or a cost
    gains = [
        text
        for value, text in (
            (hours, _fmt(hours, "person-h/day saved")),
            (
                effects["co2_reduction_kg_per_day"],
                _fmt(effects["co2_reduction_kg_per_day"], "kg CO2/day avoided"),
            ),
            (received, _fmt(received, "yuan/year more received")),
            (-paid, _fmt(-paid, "yuan/year less paid")),
            (
                effects["water_received_m3_per_day"],
                _fmt(effects["water_received_m3_per_day"], "m3/day more water"),
            ),
            *((access[w], _fmt(access[w], f"resident-h closer to the {w}")) for w in access),
        )
        if value > small
    ]
    costs = ["investment cost unknown"] if np.isnan(cost) else []
    costs += [
        text
        for value, text in (
            (0.0 if np.isnan(cost) else cost, _fmt(cost, "yuan (investment)")),
            (paid, _fmt(paid, "yuan/year more paid")),
            (-received, _fmt(-received, "yuan/year less received")),
            (-hours, _fmt(-hours, "person-h/day lost")),
            *((-access[w], _fmt(-access[w], f"resident-h farther from the {w}")) for w in access),
        )
        if value > small
    ]
    return gains, costs


def guidelines(units: pd.DataFrame, strategy: Strategy, names: dict[str, str]) -> pd.DataFrame:
    """Write the action guidelines per administrative level for one strategy.

    Parameters
    ----------
    units
        Rows of :func:`attribute_units` for the strategy.
    strategy
        The strategy.
    names
        Unit code -> readable name.

    Returns
    -------
    pandas.DataFrame
        ``level``, ``unit``, ``unit_name``, ``strategy``, ``role`` (``implement``;
        ``pay``: pays more and is worse off in money; ``benefit``: gains; ``affected``: only
        losses or other effects), ``action``, ``gains``, ``costs``. A unit that stands for
        several levels with the same role (a county-level zone, which is also its own
        township-level unit; the study area of zones from OSM, which is the county level and
        above) is listed once, at the highest of them.
    """
    title = strategy.title or strategy.name
    rows = []
    for rec in units.to_dict("records"):
        if rec["unit"] == BELOW_THRESHOLD:
            continue
        effects = {k: float(rec[k]) for k in EFFECTS}
        if not rec["responsible"] and all(v == 0 for v in effects.values()):
            continue
        gains, costs = _gains_costs(effects, float(rec["cost_yuan"]))
        if rec["responsible"]:
            role, action = "implement", f"{strategy.actor or 'responsible actor'}: {title}"
        elif effects["capital_paid_yuan_per_year"] > 0.005 > effects["capital_net_yuan_per_year"]:
            role, action = "pay", f"co-finance {title} (payments as computed)"
        elif gains:
            role, action = "benefit", f"support {title} and monitor its effects"
        else:
            role, action = "affected", f"review the effects of {title}"
        unit = str(rec["unit"])
        rows.append(
            {
                "level": rec["level"],
                "unit": unit,
                "unit_name": names.get(unit, ""),
                "strategy": strategy.name,
                "role": role,
                "action": action,
                "gains": "; ".join(gains),
                "costs": "; ".join(costs),
            }
        )
    out = pd.DataFrame(
        rows,
        columns=["level", "unit", "unit_name", "strategy", "role", "action", "gains", "costs"],
    )
    # one unit standing for several levels (a county-level zone is also its own "township";
    # a country without intermediate governments, as zones from OSM): the same role is
    # listed once, at the highest of those levels (rows come from the lowest level up)
    return out.drop_duplicates(subset=["unit", "role"], keep="last").reset_index(drop=True)


def total_effects(effects: pd.DataFrame) -> pd.Series:
    """Return the strategy's total effect (sum over zones) per effect.

    Parameters
    ----------
    effects
        From :func:`attribute_zones`.

    Returns
    -------
    pandas.Series
        Totals.
    """
    return (
        effects.sum(axis=0).astype(float).replace(-0.0, 0.0).map(lambda v: float(np.round(v, 9)))
    )


_FLOW_KEY = ["flow_type", "origin", "destination", "commodity", "use", "purpose", "mode"]


def compare_flows(
    base: dict[str, pd.DataFrame] | pd.DataFrame,
    new: dict[str, pd.DataFrame] | pd.DataFrame,
    *,
    rtol: float = 1e-9,
) -> pd.DataFrame:
    """Flow by flow, what a strategy changes against the baseline.

    Flows are matched on flow type, origin, destination and, where present, commodity,
    use, trip purpose and mode; a flow missing on one side counts as 0 there.

    Parameters
    ----------
    base, new
        Flow tables (or dicts of them by flow type, as in
        :attr:`urlink.scoring.indicators.Evaluation.flows`) of the baseline and the strategy.
    rtol
        Changes smaller than ``rtol`` times the largest volume of the flow type are
        treated as no change and left out.

    Returns
    -------
    pandas.DataFrame
        ``flow_type``, ``origin``, ``destination``, ``commodity``, ``use``, ``purpose``,
        ``mode``, ``unit``,
        ``volume_base``, ``volume_new``, ``change`` (new - base) and ``change_pct``
        (NaN where the base is 0), one row per changed flow, largest absolute change
        first.

    Examples
    --------
    >>> b = pd.DataFrame({"flow_type": ["people"] * 2, "origin": ["a", "b"],
    ...                   "destination": ["b", "a"], "volume": [10.0, 5.0],
    ...                   "unit": ["persons/day"] * 2})
    >>> n = b.assign(volume=[12.0, 5.0])
    >>> compare_flows(b, n)[["origin", "destination", "volume_base", "change", "change_pct"]]
      origin destination  volume_base  change  change_pct
    0      a           b         10.0     2.0        20.0
    """

    def table(flows: dict[str, pd.DataFrame] | pd.DataFrame) -> pd.DataFrame:
        if isinstance(flows, dict):
            parts = [f for f in flows.values() if len(f)]
            flows = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
        out = pd.DataFrame(
            {
                col: (flows[col] if col in flows.columns else pd.Series(dtype=object))
                for col in [*_FLOW_KEY, "unit", "volume"]
            }
        )
        for col in [*_FLOW_KEY, "unit"]:
            out[col] = out[col].fillna("").astype(str)
        out["volume"] = out["volume"].astype(float)
        return out.groupby(_FLOW_KEY, sort=True, as_index=False).agg(
            unit=("unit", "first"), volume=("volume", "sum")
        )

    b, n = table(base), table(new)
    columns = [*_FLOW_KEY, "unit", "volume_base", "volume_new", "change", "change_pct"]
    if b.empty and n.empty:  # a scenario without flows (merging empty text columns fails)
        return pd.DataFrame(
            {c: pd.Series(dtype=float if "volume" in c else object) for c in columns}
        )
    merged = b.merge(n, on=_FLOW_KEY, how="outer", suffixes=("_base", "_new"))
    merged["unit"] = merged["unit_base"].fillna(merged["unit_new"]).fillna("")
    merged["volume_base"] = merged["volume_base"].fillna(0.0)
    merged["volume_new"] = merged["volume_new"].fillna(0.0)
    merged["change"] = merged["volume_new"] - merged["volume_base"]
    scale = (
        merged[["volume_base", "volume_new"]]
        .abs()
        .max(axis=1)
        .groupby(merged["flow_type"])
        .transform("max")
    )
    merged = merged[merged["change"].abs() > rtol * scale]
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = 100.0 * merged["change"] / merged["volume_base"].where(merged["volume_base"] != 0)
    merged = merged.assign(change_pct=pct)
    order = merged["change"].abs().sort_values(ascending=False, kind="stable").index
    return merged.loc[order, columns].reset_index(drop=True)
