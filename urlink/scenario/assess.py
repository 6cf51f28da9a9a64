"""Assess strategies against the base state and rank them for every stakeholder group.

:func:`assess_strategies` applies every strategy to the base state (computed once), evaluates
the indicators of each state, attributes the effects to administrative units and writes the
action guidelines; :func:`score_strategies` reads the stakeholder weights of the scenario and
ranks the strategies (:func:`urlink.scoring.ranking.rank_strategies`).
"""

from __future__ import annotations

import dataclasses
import logging
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from urlink.errors import InputError, UrlinkWarning
from urlink.model.state import LEVELS, Strategy, in_focus
from urlink.parallel import imap_chunks
from urlink.progress import Progress, advance
from urlink.scenario.build import StakeholderWeights, weights_from_scenario, with_scenario_path
from urlink.scenario.strategies import apply_strategy
from urlink.scoring.attribution import (
    attribute_units,
    attribute_zones,
    compare_flows,
    crosses,
    guidelines,
)
from urlink.scoring.costs import costs_of, with_cost_indicators
from urlink.scoring.indicators import INDICATORS, Evaluation, evaluate, indicators_by_unit
from urlink.scoring.ranking import Ranking, performance_table, rank_strategies

if TYPE_CHECKING:
    from collections.abc import Sequence

    from urlink.model.state import State
    from urlink.scenario.spec import Package, Scenario

__all__ = [
    "ADMIN_NAMES_CSV",
    "INDICATOR_COLUMNS",
    "Assessment",
    "admin_names",
    "assess_strategies",
    "indicator_table",
    "package_strategy",
    "performance_table",
    "score_strategies",
]

logger = logging.getLogger(__name__)

INDICATOR_COLUMNS = (
    "strategy",
    "scope",
    "level",
    "unit",
    "indicator",
    "value",
    "unit_of_measure",
    "direction",
    "sdg",
)
"""Columns of ``indicators.csv``."""


@dataclass(frozen=True, slots=True, eq=False)
class Assessment:
    """The baseline and every strategy, evaluated and attributed.

    Attributes
    ----------
    indicators
        District and per-unit indicators of every state (``indicators.csv``).
    attribution
        Effects per administrative unit and strategy (``attribution.csv``).
    guidelines
        Actions per level (``guidelines.csv``).
    flow_changes
        Flows that change with each strategy (``flow_changes.csv``).
    evaluations
        Strategy name (``"baseline"`` first) -> :class:`urlink.scoring.indicators.Evaluation`.
    """

    indicators: pd.DataFrame
    attribution: pd.DataFrame = field(default_factory=pd.DataFrame)
    guidelines: pd.DataFrame = field(default_factory=pd.DataFrame)
    flow_changes: pd.DataFrame = field(default_factory=pd.DataFrame)
    evaluations: dict[str, Evaluation] = field(default_factory=dict)


ADMIN_NAMES_CSV = Path(__file__).resolve().parents[2] / "data" / "tables" / "admin_names.csv"
"""Names of the prefectures and provinces no zone is named after (``code,level,name,...``;
NBS 统计用区划代码 2023, see ``data/SOURCES.md``)."""


def admin_names(path: Path = ADMIN_NAMES_CSV) -> dict[str, str]:
    """Read the names of administrative units above the zones (code -> name).

    Parameters
    ----------
    path
        A table with ``code`` and ``name`` columns (default :data:`ADMIN_NAMES_CSV`).

    Returns
    -------
    dict
        Empty if the file does not exist (an installed package without the data folder).
    """
    if not path.is_file():
        logger.info("no admin names table at %s; units above the zones stay unnamed", path)
        return {}
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    return dict(zip(table["code"], table["name"], strict=True))


def package_strategy(package: Package, members: Sequence[Strategy]) -> Strategy:
    """Describe a package as one strategy (for attribution, guidelines and outputs).

    Its sites, actors and sectors are those of the members; its level is the highest of
    the members' levels (the unit that has to coordinate them); its costs are the sums of
    the members' costs, unknown if any member's is.

    Parameters
    ----------
    package
        The ``[[packages]]`` entry.
    members
        Its strategies, in order.

    Returns
    -------
    urlink.model.state.Strategy
        ``kind = "package"``, never applied itself.
    """
    costs = costs_of(members)
    joined = {
        key: "; ".join(dict.fromkeys(str(getattr(m, key)) for m in members if getattr(m, key)))
        for key in ("actor", "sector")
    }
    return Strategy(
        name=package.name,
        kind="package",
        title=package.title or " + ".join(m.title or m.name for m in members),
        sites=tuple(dict.fromkeys(z for m in members for z in m.sites)),
        actor=joined["actor"],
        level=max((m.level for m in members), key=LEVELS.index),
        sector=joined["sector"],
        cost_capital_yuan=costs.capital_yuan,
        cost_yearly_yuan=costs.yearly_yuan,
        params={"strategies": [m.name for m in members]},
    )


def _assess_strategy(
    shared: tuple[Scenario, State, Evaluation, dict[str, str]],
    item: tuple[Strategy, tuple[Strategy, ...]],
) -> tuple[Evaluation, pd.DataFrame, pd.DataFrame, pd.DataFrame, list[str]]:
    """Apply and evaluate one strategy or package against the base (a pure function).

    ``item`` is the strategy as attributed (a package's :func:`package_strategy`) and the
    strategies to apply, in order. Returns its evaluation, attribution per unit,
    guidelines, flow changes and warnings.
    """
    scenario, state, base, names = shared
    strategy, members = item

    def apply_all() -> State:
        new = state
        for member in members:
            new = apply_strategy(new, member)
        return new

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UrlinkWarning)
        section = "[[packages]]" if len(members) > 1 else "[[strategies]]"
        new = with_scenario_path(scenario, apply_all, section=section)
        ev = evaluate(new)
        population = float(state.zones.loc[in_focus(state), "population"].astype(float).sum())
        district = with_cost_indicators(
            base.district,
            ev.district,
            costs_of(members),
            population=population,
            params=scenario.costs,
        )
        ev = dataclasses.replace(ev, district=district)
        changed = compare_flows(base.flows, ev.flows)
        changed.insert(0, "strategy", strategy.name)
        effects = attribute_zones(base, ev, state.zones)
        units = attribute_units(
            effects,
            state.zones,
            strategy,
            focus=state.focus,
            materiality=scenario.attribution.materiality,
        )
        units["crosses"] = crosses(units)
        guide = guidelines(units, strategy, names)
    return ev, units, guide, changed, [str(w.message) for w in caught]


def indicator_table(evaluations: dict[str, Evaluation], state: State) -> pd.DataFrame:
    """Build the ``indicators.csv`` table: district rows of every state, then unit rows.

    Parameters
    ----------
    evaluations
        Strategy name (``"baseline"`` first) -> evaluation.
    state
        The base state (zones, focus).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`INDICATOR_COLUMNS`.
    """
    rows = []
    for name, ev in evaluations.items():
        for key, value in ev.district.items():
            d = INDICATORS[str(key)]
            rows.append(
                (name, "district", "county", state.focus, key, value, d.unit, d.direction, d.sdg)
            )
    per_unit = [
        indicators_by_unit(ev, state.zones).assign(strategy=name, scope="unit")
        for name, ev in evaluations.items()
    ]
    district = pd.DataFrame(rows, columns=list(INDICATOR_COLUMNS))
    return pd.concat([district, *per_unit], ignore_index=True)[list(INDICATOR_COLUMNS)]


def assess_strategies(
    scenario: Scenario,
    state: State,
    *,
    strategies: Sequence[Strategy] | None = None,
    packages: Sequence[Package] | None = None,
    workers: int | None = 1,
    scheduler: Any = None,
    progress: Progress | None = None,
) -> Assessment:
    """Evaluate the baseline, every strategy and package; attribute effects; guidelines.

    Parameters
    ----------
    scenario
        The scenario (for messages that name its file).
    state
        Its base state (:func:`urlink.scenario.build.base_state`), flows computed.
    strategies
        The strategies to assess (default: the scenario's).
    packages
        The packages to assess after them (default: the scenario's ``[[packages]]`` whose
        members are all among ``strategies``). Each is the state with every member
        applied in order, assessed and ranked like a strategy.
    workers, scheduler
        Evaluate the strategies over local processes or a Dask cluster (see
        :func:`urlink.parallel.map_chunks`; the base state is sent to each worker once).
    progress
        Told when each strategy is done (:mod:`urlink.progress`).

    Returns
    -------
    Assessment
    """
    names = admin_names()
    names.update({str(k): str(v) for k, v in state.zones["name"].items()})
    names.setdefault(state.focus, state.focus_name or f"focus unit {state.focus}")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UrlinkWarning)
        base = evaluate(state)
    for w in caught:
        logger.warning("%s", w.message)
    chosen = list(scenario.strategies if strategies is None else strategies)
    by_name = {s.name: s for s in chosen}
    bundles = list(scenario.packages if packages is None else packages)
    if packages is None:
        bundles = [p for p in bundles if all(m in by_name for m in p.strategies)]
    items: list[tuple[Strategy, tuple[Strategy, ...]]] = [(s, (s,)) for s in chosen]
    for package in bundles:
        missing = [m for m in package.strategies if m not in by_name]
        if missing:
            msg = f"package {package.name!r}: strategies {missing} are not assessed here"
            raise InputError(msg)
        members = tuple(by_name[m] for m in package.strategies)
        items.append((package_strategy(package, members), members))
    unknown_cost = [s.name for s, _ in items if not costs_of([s]).known]
    if unknown_cost:
        logger.info(
            "costs unknown for %s: their cost and cost-effectiveness indicators are NaN "
            "(cost unknown)",
            unknown_cost,
        )
    evaluations = {"baseline": base}
    attribution, guides, flow_changes = [], [], []
    results = imap_chunks(
        _assess_strategy,
        items,
        shared=(scenario, state, base, names),
        workers=workers,
        scheduler=scheduler,
    )
    for (strategy, _), (ev, units, guide, changed, messages) in zip(items, results, strict=True):
        evaluations[strategy.name] = ev
        attribution.append(units)
        guides.append(guide)
        flow_changes.append(changed)
        for message in messages:
            logger.warning("%s", message)
        advance(progress, what=strategy.name)
    indicators = indicator_table(evaluations, state)
    return Assessment(
        indicators=indicators,
        attribution=pd.concat(attribution, ignore_index=True) if attribution else pd.DataFrame(),
        guidelines=pd.concat(guides, ignore_index=True) if guides else pd.DataFrame(),
        flow_changes=pd.concat(flow_changes, ignore_index=True)
        if flow_changes
        else pd.DataFrame(),
        evaluations=evaluations,
    )


def score_strategies(
    scenario: Scenario,
    indicators: pd.DataFrame,
    *,
    weights: StakeholderWeights | None = None,
    workers: int | None = 1,
    scheduler: Any = None,
    progress: Progress | None = None,
) -> Ranking | None:
    """Rank the baseline and the strategies for every stakeholder group, and test robustness.

    Parameters
    ----------
    scenario
        A scenario with a ``[scoring]`` section (None is returned without one).
    indicators
        The ``indicators`` table of :func:`assess_strategies`.
    weights
        The stakeholder weights if read already (:func:`urlink.scenario.build.check_inputs`);
        read from the scenario's files otherwise.
    workers, scheduler
        Where the SMAA sample chunks run (see :func:`urlink.scoring.smaa`).
    progress
        Told when each SMAA analysis is done (:mod:`urlink.progress`).

    Returns
    -------
    Ranking or None
        ``scores`` and ``robustness`` tables.

    Raises
    ------
    InputError
        If the weights name unknown indicators, or an indicator is undefined here.
    """
    spec = scenario.scoring
    if weights is None:
        weights = weights_from_scenario(scenario)
    if spec is None or weights is None:
        return None
    try:
        return rank_strategies(
            performance_table(indicators),
            weights.table,
            methods=spec.methods,
            smaa_samples=spec.smaa_samples,
            concentration=spec.concentration,
            seed=scenario.seed,
            workers=workers,
            scheduler=scheduler,
            progress=progress,
            normalisation=spec.normalisation,
            references=spec.reference_map,
            reference_band=spec.reference_band,
        )
    except InputError as err:
        msg = f"weights {str(weights.source)!r}: {err}"
        raise InputError(msg) from None
