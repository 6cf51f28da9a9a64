"""What the workshop room sees of a run: groups, indicators, strategies and a small map.

:func:`workshop_data` turns a scenario and its assessed indicators (from :func:`urlink.run`
or a finished run's folder, :func:`workshop_data_from_folder`) into a frozen
:class:`WorkshopData`: the performance table the groups weigh, the references and methods of
the scenario's ``[scoring]`` section, and everything the pages show, as plain JSON-ready
values. Scoring always goes through :mod:`urlink.scoring`; nothing here ranks.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from urlink.errors import InputError
from urlink.scenario.build import check_inputs
from urlink.scoring.indicators import INDICATORS
from urlink.scoring.ranking import Ranking, performance_table, rank_strategies
from urlink.scoring.weights import STAKEHOLDER_GROUPS

if TYPE_CHECKING:
    from urlink.runner import Run
    from urlink.scenario.spec import Scenario

__all__ = [
    "INDICATOR_EN",
    "INDICATOR_ZH",
    "WorkshopData",
    "workshop_data",
    "workshop_data_from_folder",
    "workshop_data_from_run",
]

logger = logging.getLogger(__name__)

INDICATOR_ZH: dict[str, str] = {
    "pop_within_30min_centre": "30分钟内到达区中心的人口比例",
    "pop_within_60min_centre": "60分钟内到达区中心的人口比例",
    "pop_within_45min_centre_bus": "公交45分钟内到达区中心的人口比例",
    "mean_time_to_hospital_min": "到医院的平均时间（分钟）",
    "mean_time_to_market_min": "到市场的平均时间（分钟）",
    "pt_coverage_share": "公交覆盖率",
    "access_ratio_rural_urban": "城乡可达性比（农村/城市）",
    "access_gini": "可达性基尼系数",
    "cross_boundary_share_people": "跨界人流比例",
    "cross_boundary_share_goods": "跨界货流比例",
    "co2_t_per_day": "二氧化碳排放（吨/日）",
    "co2_kg_per_person_day": "人均二氧化碳（千克/日）",
    "trip_credits_t_per_day": "碳普惠减排量（吨/日）",
    "es_used_outside_share": "生态服务外部使用比例",
    "eco_comp_per_source_resident_yuan": "水源地居民人均生态补偿（元/年）",
    "cost_million_yuan": "投资（百万元）",
    "cost_annualised_million_yuan": "年化成本（百万元/年）",
    "co2_saved_t_per_million_yuan": "每百万元年减碳量",
    "pop_30min_gain_per_million_yuan": "每百万元新增30分钟可达人口",
}
"""Chinese names of the indicators shown in the workshop."""

INDICATOR_EN: dict[str, str] = {
    "pop_within_30min_centre": "Residents within 30 min of the centre",
    "pop_within_60min_centre": "Residents within 60 min of the centre",
    "pop_within_45min_centre_bus": "Residents within 45 min of the centre by bus",
    "mean_time_to_hospital_min": "Mean time to a hospital (min)",
    "mean_time_to_market_min": "Mean time to a market (min)",
    "pt_coverage_share": "Zones served by a bus line",
    "access_ratio_rural_urban": "Rural / urban access ratio",
    "access_gini": "Access inequality (Gini)",
    "cross_boundary_share_people": "People flows crossing the county boundary",
    "cross_boundary_share_goods": "Goods flows crossing the county boundary",
    "co2_t_per_day": "CO2 (t/day)",
    "co2_kg_per_person_day": "CO2 per person (kg/day)",
    "trip_credits_t_per_day": "Low-carbon trip credits (t CO2/day)",
    "es_used_outside_share": "Ecosystem services used outside their source",
    "eco_comp_per_source_resident_yuan": "Eco-compensation per source resident (yuan/year)",
    "cost_million_yuan": "Capital cost (million yuan)",
    "cost_annualised_million_yuan": "Annualised cost (million yuan/year)",
    "co2_saved_t_per_million_yuan": "CO2 saved per million yuan",
    "pop_30min_gain_per_million_yuan": "Residents newly within 30 min per million yuan",
}
"""Short English names of the indicators (the long one is their description)."""

_MAP_TOLERANCE_DEG = 0.002  # ~200 m: enough for a phone-sized map, keeps the page small
_LIVE_SMAA_SAMPLES = 4_000


@dataclass(frozen=True, slots=True, eq=False)
class WorkshopData:
    """Everything a workshop session needs from a run.

    Attributes
    ----------
    name
        The scenario's name (a session in ``--data`` belongs to one scenario).
    table
        The performance table the groups weigh: strategies (baseline first) x the indicators
        scored (those of the scenario's weights form that are defined in this run).
    groups
        Stakeholder group id -> label (the scenario's weights form, in its order).
    form_weights
        The scenario's own weights (groups x indicators, rows summing to 1): the starting
        point of the sliders.
    methods
        Scoring methods of ``[scoring]``.
    references
        Reference values ``(worst, best)`` per indicator (interval normalisation), or None
        (min-max).
    smaa_samples
        SMAA samples of uniform weights (``[scoring] smaa_samples``; computed once).
    live_smaa_samples
        SMAA samples around each group's weights, re-drawn when a group's weights change
        (fewer, so that a re-scoring stays under 200 ms; see ``docs/workshop.md``).
    concentration, seed
        Dirichlet concentration and seed of ``[scoring]`` and the scenario.
    start
        The ranking with the form's weights (the run's own; its uniform SMAA is reused).
    indicators
        Per indicator: ``id``, ``direction``, ``unit``, ``short`` (English name), ``en``
        (English description) and ``zh`` (Chinese name).
    strategies
        Per strategy: ``name``, ``title``, ``sites`` (``id``, ``name``), ``actor``,
        ``cost`` (text, ``"unknown"`` where unknown), ``members`` (a package's strategies)
        and ``changes`` (indicator, baseline, value, change in %).
    zones
        Per zone: ``id``, ``name``, ``path`` (SVG path in lon/lat degrees, y flipped) for the
        small map; empty without zone geometries.
    effects
        Per strategy: zone id -> the residents' access gain (person-minutes: residents x
        minutes saved to the centre, a hospital and a market, summed), from the attribution
        table (empty if there is none).
    uncertain
        With a scenario's ``[uncertainty]`` (a run in memory): input samples x strategies x
        indicators of ``table``, so the facilitator screen shows P(first) with uncertain
        inputs too (:func:`urlink.scoring.uncertainty.joint_robustness`); else None.
    weight_draws
        Weight draws per input sample of the joint analysis (``[uncertainty]``).
    reference_band, normalisation, planner_references
        ``[scoring]`` settings the per-sample tables are normalised with.
    """

    name: str
    table: pd.DataFrame
    groups: dict[str, str]
    form_weights: pd.DataFrame
    methods: tuple[str, ...]
    references: dict[str, tuple[float, float]] | None
    smaa_samples: int
    live_smaa_samples: int
    concentration: float
    seed: int
    start: Ranking
    indicators: list[dict[str, str]] = field(default_factory=list)
    strategies: list[dict[str, Any]] = field(default_factory=list)
    zones: list[dict[str, str]] = field(default_factory=list)
    effects: dict[str, dict[str, float]] = field(default_factory=dict)
    uncertain: np.ndarray | None = None
    weight_draws: int = 20
    reference_band: float = 0.1
    normalisation: str = "interval"
    planner_references: dict[str, tuple[float, float]] = field(default_factory=dict)

    @property
    def indicator_ids(self) -> list[str]:
        """The indicators weighed, in order."""
        return [str(c) for c in self.table.columns]

    def info(self) -> dict[str, Any]:
        """Return what every page may see (no weights of other groups, no secrets).

        Returns
        -------
        dict
            JSON-ready.
        """
        return {
            "name": self.name,
            "groups": [{"id": g, "label": label} for g, label in self.groups.items()],
            "indicators": self.indicators,
            "strategies": self.strategies,
            "methods": list(self.methods),
            "form_points": {
                str(g): [round(float(v) * 100, 6) for v in row]
                for g, row in self.form_weights.iterrows()
            },
            "zones": self.zones,
            "effects": self.effects,
        }


def workshop_data(
    scenario: Scenario,
    indicators: pd.DataFrame,
    *,
    zones: gpd.GeoDataFrame | None = None,
    attribution: pd.DataFrame | None = None,
) -> WorkshopData:
    """Prepare a workshop from a scenario and the indicators of its strategies.

    Parameters
    ----------
    scenario
        The scenario (its ``[scoring]`` section says which indicators are weighed, by which
        methods and against which references).
    indicators
        The ``indicators`` table of a run (``Run.indicators`` or ``indicators.csv``).
    zones
        The run's zones (for the small map and the site names), if at hand.
    attribution
        The run's ``attribution`` table (for the effects shown on the map), if at hand.

    Returns
    -------
    WorkshopData

    Raises
    ------
    InputError
        If the scenario has no ``[scoring]`` section with a weights form, no strategies, or
        the indicators do not hold its strategies.
    """
    spec = scenario.scoring
    weights = check_inputs(scenario)
    if spec is None or weights is None or not scenario.strategies:
        msg = (
            f"{scenario.path}: a workshop needs strategies and a [scoring] section with a "
            "weights form (weights = ...) or AHP file: it says which indicators the groups weigh"
        )
        raise InputError(msg)
    needed = {"strategy", "scope", "indicator", "value"}
    if not needed <= set(indicators.columns):
        msg = f"the indicators table lacks columns {sorted(needed - set(indicators.columns))}"
        raise InputError(msg)
    table = performance_table(indicators)
    names = [s.name for s in scenario.strategies] + [p.name for p in scenario.packages]
    missing = [n for n in names if n not in table.index]
    if missing:
        msg = (
            f"the indicators hold no strategies {missing} of {scenario.path}; run the scenario "
            "again (urlink run) and pass its output folder"
        )
        raise InputError(msg)
    form = weights.table
    start = rank_strategies(
        table,
        form,
        methods=spec.methods,
        smaa_samples=spec.smaa_samples,
        concentration=spec.concentration,
        seed=scenario.seed,
        normalisation=spec.normalisation,
        references=spec.reference_map,
        reference_band=spec.reference_band,
    )
    kept = [c for c in form.columns if c not in start.excluded]
    form = form[kept].div(form[kept].sum(axis=1), axis=0)
    refs = None
    if spec.normalisation == "interval":
        refs = {
            str(i): (float(r["worst"]), float(r["best"])) for i, r in start.references.iterrows()
        }
    names_of = _zone_names(zones)
    return WorkshopData(
        name=scenario.name,
        table=table[kept],
        groups={str(g): STAKEHOLDER_GROUPS.get(str(g), str(g)) for g in form.index},
        form_weights=form,
        methods=tuple(spec.methods),
        references=refs,
        smaa_samples=spec.smaa_samples,
        live_smaa_samples=min(spec.smaa_samples, _LIVE_SMAA_SAMPLES),
        concentration=spec.concentration,
        seed=scenario.seed,
        start=start,
        indicators=[
            {
                "id": c,
                "direction": INDICATORS[c].direction,
                "unit": INDICATORS[c].unit,
                "en": INDICATORS[c].description,
                "short": INDICATOR_EN.get(c, c),
                "zh": INDICATOR_ZH.get(c, c),
            }
            for c in kept
        ],
        strategies=_strategies(scenario, table[kept], names_of),
        zones=_zone_paths(zones),
        effects=_effects(attribution),
    )


def workshop_data_from_folder(scenario: Scenario, folder: str | Path) -> WorkshopData:
    """Prepare a workshop from a finished run's output folder (``urlink run --out``).

    Parameters
    ----------
    scenario
        The scenario that was run.
    folder
        Its output folder: ``indicators.csv`` is needed; ``zones.gpkg`` and
        ``attribution.csv`` are used when present.

    Returns
    -------
    WorkshopData

    Raises
    ------
    InputError
        If the folder has no ``indicators.csv`` or it does not match the scenario.
    """
    folder = Path(folder)
    path = folder / "indicators.csv"
    if not path.is_file():
        msg = f"--from-run {folder}: no indicators.csv there; give the output folder of urlink run"
        raise InputError(msg)
    indicators = pd.read_csv(path)
    zones = None
    if (folder / "zones.gpkg").is_file():
        zones = gpd.read_file(folder / "zones.gpkg", layer="zones").set_index("zone_id")
    attribution = None
    if (folder / "attribution.csv").is_file():
        attribution = pd.read_csv(folder / "attribution.csv", dtype={"unit": str})
    return workshop_data(scenario, indicators, zones=zones, attribution=attribution)


def workshop_data_from_run(result: Run) -> WorkshopData:
    """Prepare a workshop from a run in memory (:func:`urlink.run`).

    With ``[uncertainty]`` in the scenario the run's per-sample performance comes along, so
    the facilitator screen also shows P(first) under uncertain inputs.

    Parameters
    ----------
    result
        The run.

    Returns
    -------
    WorkshopData
    """
    data = workshop_data(
        result.scenario,
        result.indicators,
        zones=result.zones,
        attribution=result.assessment.attribution,
    )
    u = result.uncertainty
    spec = result.scenario.scoring
    if u is None or spec is None:
        return data
    rows = [u.strategies.index(str(n)) for n in data.table.index if str(n) in u.strategies]
    cols = [u.indicators.index(str(c)) for c in data.table.columns if str(c) in u.indicators]
    if len(rows) != len(data.table.index) or len(cols) != len(data.table.columns):
        logger.warning("workshop: the uncertainty samples do not hold every strategy/indicator")
        return data
    perf = np.asarray(u.performance, dtype=float)[:, rows][:, :, cols]
    unc = result.scenario.uncertainty
    return dataclasses.replace(
        data,
        uncertain=perf,
        weight_draws=unc.weight_draws if unc is not None else 20,
        reference_band=spec.reference_band,
        normalisation=spec.normalisation,
        planner_references={
            k: v for k, v in spec.reference_map.items() if k in data.table.columns
        },
    )


def _zone_names(zones: gpd.GeoDataFrame | None) -> dict[str, str]:
    if zones is None:
        return {}
    out = {}
    for zid, row in zones.iterrows():
        parts = [str(row[c]) for c in ("name", "name_en") if c in row and isinstance(row[c], str)]
        out[str(zid)] = " ".join(dict.fromkeys(parts)) or str(zid)
    return out


def _cost_text(capital: float | None, yearly: float | None) -> str:
    if capital is None and yearly is None:
        return "unknown"
    parts = [
        f"{label} {value / 1e6:,.1f} million yuan" if value is not None else f"{label} unknown"
        for label, value in (("capital", capital), ("yearly", yearly))
    ]
    return "; ".join(parts)


def _strategies(
    scenario: Scenario, table: pd.DataFrame, names: dict[str, str]
) -> list[dict[str, Any]]:
    base = table.iloc[0]
    by_name = {s.name: s for s in scenario.strategies}
    out = []
    entries: list[tuple[str, str, tuple[str, ...]]] = [
        (s.name, s.title, (s.name,)) for s in scenario.strategies
    ]
    entries += [(p.name, p.title, p.strategies) for p in scenario.packages]
    for name, title, members in entries:
        parts = [by_name[m] for m in members if m in by_name]
        sites = list(dict.fromkeys(site for s in parts for site in s.sites))
        capital = [s.cost_capital_yuan for s in parts]
        yearly = [s.cost_yearly_yuan for s in parts]
        changes = []
        for c in table.columns:
            b, v = float(base[c]), float(table[c].loc[name])
            pct = (v - b) / abs(b) * 100 if b and math.isfinite(b) and math.isfinite(v) else None
            changes.append({"indicator": c, "baseline": b, "value": v, "change_pct": pct})
        out.append(
            {
                "name": name,
                "title": title or name,
                "sites": [{"id": s, "name": names.get(s, s)} for s in sites],
                "actor": "; ".join(dict.fromkeys(s.actor for s in parts if s.actor)),
                "cost": _cost_text(
                    None if None in capital else sum(c or 0.0 for c in capital),
                    None if None in yearly else sum(y or 0.0 for y in yearly),
                ),
                "members": list(members) if len(members) > 1 else [],
                "changes": changes,
            }
        )
    return out


def _zone_paths(zones: gpd.GeoDataFrame | None) -> list[dict[str, str]]:
    if zones is None or "geometry" not in zones or zones.geometry.isna().all():
        return []
    geo = zones.to_crs("EPSG:4326") if zones.crs is not None else zones
    names = _zone_names(zones)
    out = []
    for zid, geom in zip(geo.index, geo.geometry, strict=True):
        if geom is None or geom.is_empty:
            continue
        simple = shapely.simplify(geom, _MAP_TOLERANCE_DEG, preserve_topology=True)
        polys = getattr(simple, "geoms", [simple])
        d = []
        for poly in polys:
            for ring in (poly.exterior, *poly.interiors):
                pts = [f"{x:.4f},{-y:.4f}" for x, y in ring.coords]
                d.append("M" + "L".join(pts) + "Z")
        out.append({"id": str(zid), "name": names.get(str(zid), str(zid)), "path": "".join(d)})
    return out


_ACCESS_GAINS = (
    "centre_access_gain_person_min",
    "hospital_access_gain_person_min",
    "market_access_gain_person_min",
)


def _effects(attribution: pd.DataFrame | None) -> dict[str, dict[str, float]]:
    need = {"strategy", "level", "unit", *_ACCESS_GAINS}
    if attribution is None or not need <= set(attribution.columns):
        return {}
    town = attribution[attribution["level"] == "township"]
    gain = town[list(_ACCESS_GAINS)].astype(float).fillna(0.0).sum(axis=1)
    out: dict[str, dict[str, float]] = {}
    for strategy, unit, value in zip(town["strategy"], town["unit"], gain, strict=True):
        if float(value) != 0:
            out.setdefault(str(strategy), {})[str(unit)] = round(float(value), 1)
    return out
