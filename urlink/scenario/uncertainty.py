"""Uncertain inputs of a scenario: sample them, re-evaluate every strategy, see what matters.

A scenario's ``[uncertainty]`` section gives distributions to numeric inputs, addressed by
path (:func:`uncertain_parameters` lists every valid one for a scenario), and can give every
zone whose population is an estimate a range from its estimation method
(:data:`POPULATION_RANGES`). :func:`assess_uncertainty` draws Latin hypercube or Sobol'
samples (:func:`urlink.scoring.uncertainty.unit_samples`, seeded by the scenario's
``seed``), and for each sample edits the base state in memory (``dataclasses.replace`` of
the flow setups, the mode choice or the zones' populations), recomputes only the flow types
that depend on the edited inputs (:func:`urlink.model.state.update_flows`), re-applies every
strategy and package and evaluates the indicators. A road strategy whose own parameters are
not sampled reuses its edited network and skim (computed once on the base state, since no
sampled input changes the network); one whose speed or length is sampled updates the skim
incrementally in every sample, as in a run. Samples run over local processes or Dask
(:func:`urlink.parallel.imap_chunks`) and the results are the same for any number of
workers: the samples are drawn before they are spread. The performance tables are then
ranked under weight, input and joint uncertainty, their sensitivity to each input is
measured and PRIM states where each strategy wins (:mod:`urlink.scoring.uncertainty`).
``docs/uncertainty.md`` is the user's guide.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import pandas as pd

from urlink.errors import InputError, UrlinkError, UrlinkWarning
from urlink.model.state import State, Strategy, TransitMemo, in_focus, update_flows
from urlink.model.typology import add_typology
from urlink.parallel import imap_chunks
from urlink.params import toml_key
from urlink.progress import Progress, advance
from urlink.scenario.strategies import apply_strategy, strategy_params
from urlink.scoring.costs import CostParams, costs_of, with_cost_indicators
from urlink.scoring.indicators import INDICATORS, EvaluationCache, evaluate
from urlink.scoring.uncertainty import (
    Distribution,
    JointRobustness,
    first_order_indices,
    joint_robustness,
    prim,
    unit_samples,
)

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from urlink.scenario.build import StakeholderWeights
    from urlink.scenario.spec import Scenario

__all__ = [
    "POPULATION_RANGES",
    "Uncertain",
    "UncertaintyResult",
    "assess_uncertainty",
    "resolve_uncertainty",
    "state_with",
    "uncertain_parameters",
]

logger = logging.getLogger(__name__)

POPULATION_RANGES: tuple[tuple[str, float, bool, str], ...] = (
    (
        "split by nbs",
        0.25,
        True,
        "township estimate from NBS unit counts: every village and every community assumed "
        "of one size, k fitted to two 2011 figures (docs/data.md); ± 25 % is a judgement, "
        "and the townships are rescaled to keep the district's census total",
    ),
    (
        "minus the other",
        0.01,
        False,
        "a census total minus the other units' census figures, several of them rounded: "
        "about ± 2,000 persons (docs/data.md), i.e. ± 1 %",
    ),
    (
        "year-end",
        0.03,
        False,
        "a statistics bureau's year-end figure of another year instead of the census: ± 3 % "
        "for a year of change and the resident / registered definitions",
    ),
    (
        "dasymetric",
        0.35,
        True,
        "dasymetric share of a census total by OSM building floor area or residential land "
        "use: against the 2021 census the Malta estimate is 18-59 % low for the largest "
        "councils (docs/malta.md); ± 35 % is a judgement, and the zones are rescaled to keep "
        "the census total",
    ),
    ("", 0.20, False, "another estimate: ± 20 % (judgement, no error figure published)"),
)
"""Default relative ranges of estimated populations: ``(text in population_source,
relative half-width, keep the group's total, rationale)``; the first match applies to every
zone whose ``population_source`` starts with ``"estimate:"``."""

_ROAD_KINDS = ("add_link", "upgrade_road")  # kinds that edit the network only (strategies.py)


@dataclass(frozen=True, slots=True)
class Uncertain:
    """An uncertain input, resolved against a scenario's base state.

    Attributes
    ----------
    path
        Its path (``flows.goods.beta``).
    distribution
        Its distribution.
    base
        Its value in the scenario (the centre of a relative range).
    source
        Why this range.
    keep_total
        For populations: the ids of the zones whose sum is kept (an estimate split from a
        known total); empty otherwise.
    """

    path: str
    distribution: Distribution
    base: float
    source: str = ""
    keep_total: tuple[str, ...] = ()


def _floats(obj: Any) -> dict[str, float]:
    """TOML key -> value of the float fields of a settings dataclass."""
    if not dataclasses.is_dataclass(obj):
        return {}
    return {
        toml_key(f): float(getattr(obj, f.name))
        for f in dataclasses.fields(obj)
        if isinstance(getattr(obj, f.name), float) and not isinstance(getattr(obj, f.name), bool)
    }


def uncertain_parameters(scenario: Scenario, state: State) -> dict[str, float]:
    """List every input path a scenario's ``[uncertainty.inputs]`` may name, with its value.

    Parameters
    ----------
    scenario
        The scenario.
    state
        Its base state (with calibrated parameters: a relative range is centred on them).

    Returns
    -------
    dict
        Path -> value: ``flows.people.purposes.<purpose>.<key>`` (``trip_rate`` and the
        people model's float settings such as ``beta``; ``flows.people.<key>`` without
        purposes), ``flows.goods.<key>``, ``flows.ecosystem.<key>``,
        ``flows.capital.<key>``, ``modes.<key>`` and ``modes.asc.<mode>``,
        ``strategies.<name>.params.<key>`` and ``population.<zone id>``.

    Examples
    --------
    >>> import urlink  # doctest: +SKIP
    >>> r = urlink.run("scenarios/huangyan.toml")  # doctest: +SKIP
    >>> uncertain_parameters(r.scenario, r.state)["flows.goods.beta"]  # doctest: +SKIP
    0.02
    """
    out: dict[str, float] = {}
    people = scenario.flows.people
    for setup in state.setups.people:
        prefix = (
            "flows.people" if setup.purpose == "all" else f"flows.people.purposes.{setup.purpose}"
        )
        rate = people.trip_rate if people is not None else math.nan
        if people is not None:
            rate = next((p.trip_rate for p in people.purposes if p.name == setup.purpose), rate)
        out[f"{prefix}.trip_rate"] = float(rate)
        out.update({f"{prefix}.{k}": v for k, v in _floats(setup.params).items()})
    s = state.setups
    for name in ("goods", "ecosystem", "capital"):
        other = getattr(s, name)
        if other is not None:
            out.update({f"flows.{name}.{k}": v for k, v in _floats(other.params).items()})
    if state.modes is not None:
        out.update({f"modes.{k}": v for k, v in _floats(state.modes).items()})
        out.update({f"modes.asc.{m}": float(v) for m, v in state.modes.asc.items()})
    for strategy in scenario.strategies:
        params = _floats(strategy_params(strategy))
        out.update({f"strategies.{strategy.name}.params.{k}": v for k, v in params.items()})
    pop = pd.to_numeric(state.zones["population"]).astype(float)
    out.update({f"population.{z}": float(v) for z, v in pop.items()})
    return out


def _population_defaults(state: State) -> list[Uncertain]:
    zones = state.zones
    sources = zones["population_source"].astype(str) if "population_source" in zones else None
    if sources is None:
        return []
    out = []
    pop = pd.to_numeric(zones["population"]).astype(float)
    for zone, text in sources.items():
        if not text.lower().startswith("estimate:"):
            continue
        pattern, rel, keep, why = next(r for r in POPULATION_RANGES if r[0] in text.lower())
        group = tuple(str(z) for z in sources.index[sources == text]) if keep and pattern else ()
        out.append(
            Uncertain(
                path=f"population.{zone}",
                distribution=Distribution("relative", relative=rel),
                base=float(pop[zone]),
                source=why,
                keep_total=group,
            )
        )
    return out


def resolve_uncertainty(scenario: Scenario, state: State) -> tuple[Uncertain, ...]:
    """Check a scenario's ``[uncertainty]`` against its base state and resolve each input.

    Parameters
    ----------
    scenario
        A scenario with an ``[uncertainty]`` section.
    state
        Its base state.

    Returns
    -------
    tuple of Uncertain
        The declared inputs, then the estimated populations not declared explicitly.

    Raises
    ------
    InputError
        If a path is unknown (naming the file and key and listing the valid paths).
    """
    spec = scenario.uncertainty
    if spec is None:
        return ()
    known = uncertain_parameters(scenario, state)
    out: list[Uncertain] = []
    for entry in spec.inputs:
        if entry.path not in known:
            zones = [k for k in known if k.startswith("population.")]
            listed = [k for k in known if not k.startswith("population.")]
            msg = (
                f"{scenario.path}: [uncertainty.inputs] key {entry.path!r} is not an input of "
                f"this scenario; use one of {listed} or population.<zone id> "
                f"({len(zones)} zones, e.g. {zones[0] if zones else '-'}); see docs/uncertainty.md"
            )
            raise InputError(msg)
        out.append(
            Uncertain(
                path=entry.path,
                distribution=entry.distribution,
                base=known[entry.path],
                source=entry.source,
            )
        )
    if spec.estimated_populations:
        named = {u.path for u in out}
        out += [u for u in _population_defaults(state) if u.path not in named]
    if not out:
        msg = (
            f"{scenario.path}: [uncertainty] estimated_populations = true, but no zone's "
            "population is an estimate; add [uncertainty.inputs] entries"
        )
        raise InputError(msg)
    return tuple(out)


# ---------------------------------------------------------------------------- one sample


def _with_population(
    state: State, values: Mapping[str, float], inputs: Sequence[Uncertain]
) -> State:
    """Put the sampled populations in the zones (typology derived again) and the people models."""
    ids = state.zones.index
    old = pd.to_numeric(state.zones["population"]).astype(float).to_numpy()
    new = old.copy()
    sampled = [u.path for u in inputs if u.path.startswith("population.")]
    at = ids.get_indexer([path.split(".", 1)[1] for path in sampled])  # looked up at once
    if (at < 0).any():
        zone = sampled[int(np.flatnonzero(at < 0)[0])].split(".", 1)[1]
        msg = f"[uncertainty] population.{zone}: no zone has this id"
        raise InputError(msg)
    new[at] = [values[path] for path in sampled]
    groups = {u.keep_total for u in inputs if u.keep_total and u.path.startswith("population.")}
    for group in groups:  # an estimate split from a known total keeps that total
        at = ids.get_indexer(list(group))
        new[at] = new[at] * (old[at].sum() / new[at].sum())
    zones = state.zones.copy()
    zones["population"] = new
    if state.typology is not None and "typology" in zones.columns:
        # the densities follow the populations: a zone near a threshold may change class
        zones = add_typology(zones, skim=state.skim, params=state.typology)
    setups = []
    for setup in state.setups.people:
        x = setup.inputs
        at = ids.get_indexer(x.index)  # as reindex: NaN for an id that is not a zone
        old_x = np.where(at >= 0, old[at], np.nan)
        pop = np.where(at >= 0, new[at], np.nan)
        with np.errstate(divide="ignore", invalid="ignore"):
            rate = x["production"].to_numpy(dtype=float) / old_x
        production = pop * np.where(np.isnan(rate), 0.0, rate)
        attraction = x["attraction"].to_numpy(dtype=float)
        if _attraction_by_residents(x, old_x):
            attraction = pop  # attraction by residents: follows the population
        # NaN-skipping sums, as pandas' (an id that is not a zone adds nothing)
        attraction = attraction * (np.nansum(production) / np.nansum(attraction))
        inputs_new = x.assign(production=production, attraction=attraction, population=pop)
        setups.append(dataclasses.replace(setup, inputs=inputs_new))
    return dataclasses.replace(
        state,
        zones=zones,
        setups=dataclasses.replace(state.setups, people=tuple(setups)),
    )


def _attraction_by_residents(x: pd.DataFrame, old: np.ndarray) -> bool:
    """Whether a purpose's attraction is shared over the zones as their residents are."""
    attraction = x["attraction"].to_numpy(dtype=float)
    return bool(np.allclose(attraction / np.nansum(attraction), old / np.nansum(old), rtol=1e-6))


def _replace_floats(obj: Any, values: Mapping[str, float]) -> Any:
    """``obj`` with the fields of the given TOML keys replaced."""
    names = {toml_key(f): f.name for f in dataclasses.fields(obj)}
    return dataclasses.replace(obj, **{names[k]: v for k, v in values.items()})


def _under(values: Mapping[str, float], prefix: str) -> dict[str, float]:
    """Return the values whose path is ``prefix.<key>`` (one more level), by key."""
    n = len(prefix) + 1
    return {p[n:]: v for p, v in values.items() if p.startswith(prefix + ".") and "." not in p[n:]}


def state_with(state: State, values: Mapping[str, float], inputs: Sequence[Uncertain]) -> State:
    """Return the base state with sampled input values, its flows updated where they depend.

    Parameters
    ----------
    state
        The base state (flows computed).
    values
        Path -> sampled value, for the inputs that are not a strategy's parameters.
    inputs
        The resolved inputs (:func:`resolve_uncertainty`).

    Returns
    -------
    State
        Only the flow types depending on an edited input are recomputed; the network and
        skims are the base state's (no sampled input outside the strategies changes them).
    """
    changed: list[str] = []
    s = state.setups
    if any(p.startswith("population.") for p in values):
        state = _with_population(state, values, inputs)
        s = state.setups
        changed.append("people")
    people = []
    for setup in s.people:
        prefix = (
            "flows.people" if setup.purpose == "all" else f"flows.people.purposes.{setup.purpose}"
        )
        own = _under(values, prefix)
        if not own:
            people.append(setup)
            continue
        rate = own.pop("trip_rate", None)
        new_setup = setup
        if rate is not None:
            base = next(u.base for u in inputs if u.path == f"{prefix}.trip_rate")
            factor = rate / base if base else 1.0
            x = setup.inputs
            new_setup = dataclasses.replace(
                setup,
                inputs=x.assign(
                    production=x["production"] * factor, attraction=x["attraction"] * factor
                ),
            )
        if own:
            new_setup = dataclasses.replace(new_setup, params=_replace_floats(setup.params, own))
        people.append(new_setup)
        changed.append("people")
    edits: dict[str, Any] = {"people": tuple(people)}
    for name in ("goods", "ecosystem", "capital"):
        own = _under(values, f"flows.{name}")
        setup = getattr(s, name)
        if own and setup is not None:
            edits[name] = dataclasses.replace(setup, params=_replace_floats(setup.params, own))
            changed.append(name)
    new = dataclasses.replace(state, setups=dataclasses.replace(s, **edits))
    own = _under(values, "modes")
    asc = _under(values, "modes.asc")
    if (own or asc) and state.modes is not None:
        modes = _replace_floats(state.modes, own) if own else state.modes
        if asc:
            modes = dataclasses.replace(modes, asc={**dict(modes.asc), **asc})
        new = dataclasses.replace(new, modes=modes)
        changed.append("modes")
    if not changed:
        return new
    return update_flows(new, tuple(dict.fromkeys(changed)))  # type: ignore[arg-type]


def _strategy_with(strategy: Strategy, values: Mapping[str, float]) -> Strategy:
    own = _under(values, f"strategies.{strategy.name}.params")
    if not own:
        return strategy
    params = _replace_floats(strategy_params(strategy), own)
    return dataclasses.replace(strategy, params=params)


@dataclass(frozen=True, slots=True, eq=False)
class _SampleJob:
    """What every sample needs (sent once to each worker)."""

    state: State
    inputs: tuple[Uncertain, ...]
    values: np.ndarray
    items: tuple[tuple[Strategy, tuple[Strategy, ...]], ...]
    networks: Mapping[str, tuple[Any, Any, pd.DataFrame, pd.DataFrame]]
    indicators: tuple[str, ...]
    costs: CostParams = field(default_factory=CostParams)
    transits: Mapping[str, TransitMemo] = field(default_factory=dict)


def _with_network(state: State, like: State, s: Strategy) -> State:
    """``state`` with the network, skim and distances of ``like`` (a road edit ``s`` applied)."""
    new = dataclasses.replace(
        state,
        routing=like.routing,
        routing_length=like.routing_length,
        skim=like.skim,
        distance_km=like.distance_km,
    )
    new = update_flows(new, ("skim",), like=like)
    return dataclasses.replace(
        new, applied=(*state.applied, s.name), cost_yuan=state.cost_yuan + (s.cost_yuan or 0.0)
    )


def _same_network(a: State, b: State) -> bool:
    """Whether a road edit of ``a`` gives the network, skim and distances it gives of ``b``."""
    return (
        a.routing is b.routing
        and a.routing_length is b.routing_length
        and a.skim is b.skim
        and a.distance_km is b.distance_km
        and a.zones is b.zones
        and a.link_ways is b.link_ways
        and a.cutoff_min == b.cutoff_min
        and a.access_speed_kph == b.access_speed_kph
        and a.distance_path == b.distance_path
    )


def _apply(
    job: _SampleJob,
    state: State,
    members: tuple[Strategy, ...],
    done: Mapping[str, tuple[Strategy, State]] | None = None,
) -> State:
    """Apply a strategy or a package's members to the sample's state.

    ``done``: the strategies applied alone to ``state`` in this sample (name -> the strategy
    with its sampled parameters, the state after it). A package's first member is the state
    after it alone; a later member editing the roads takes its network, skim and the flows
    computed on them from there, when it is applied to ``state``'s network with the same
    parameters: the same numbers as applying them again.
    """
    if len(members) == 1 and members[0].name in job.networks:
        s = members[0]  # a road edit whose parameters are not sampled: the same network
        routing, routing_length, skim, distance = job.networks[s.name]
        new = dataclasses.replace(
            state, routing=routing, routing_length=routing_length, skim=skim, distance_km=distance
        )
        memo = job.transits.get(s.name)  # the bus skim on that network, if it still fits
        if memo is not None and memo.fits(new):
            new = dataclasses.replace(new, transit_memo=memo)
        new = update_flows(new, ("skim",))
        return dataclasses.replace(
            new, applied=(*state.applied, s.name), cost_yuan=state.cost_yuan + (s.cost_yuan or 0.0)
        )
    base = state
    for member in members:
        alone = (done or {}).get(member.name)
        if alone is None or alone[0] != member:
            state = apply_strategy(state, member)
        elif state is base:  # the first member: the state after it alone
            state = alone[1]
        elif member.kind in _ROAD_KINDS and _same_network(state, base):
            state = _with_network(state, alone[1], member)
        else:
            state = apply_strategy(state, member)
    return state


def _in_order(district: pd.Series, indicators: tuple[str, ...]) -> np.ndarray:
    """Return the district values of ``indicators`` in that order (NaN where it has none)."""
    at = district.index.get_indexer(pd.Index(list(indicators)))
    values = district.to_numpy(dtype=float)
    return np.where(at >= 0, values[np.maximum(at, 0)], np.nan) if len(values) else at * np.nan


def _evaluate_sample(job: _SampleJob, i: int) -> tuple[np.ndarray, list[str]]:
    """Evaluate input sample ``i``: strategies x indicators (a pure function)."""
    values = {u.path: float(job.values[i, j]) for j, u in enumerate(job.inputs)}  # noqa: PD011
    plain = {p: v for p, v in values.items() if not p.startswith("strategies.")}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UrlinkWarning)
        try:
            state = state_with(job.state, plain, job.inputs)
            cache = EvaluationCache()  # the parts the strategies leave as they were
            base = evaluate(state, cache=cache)
            population = float(state.zones.loc[in_focus(state), "population"].sum())
            rows = [_in_order(base.district, job.indicators)]
            done: dict[str, tuple[Strategy, State]] = {}  # strategies applied alone
            for _, members in job.items:
                chosen = tuple(_strategy_with(m, values) for m in members)
                new = _apply(job, state, chosen, done)
                if len(chosen) == 1:
                    done[chosen[0].name] = (chosen[0], new)
                district = with_cost_indicators(
                    base.district,
                    evaluate(new, cache=cache).district,
                    costs_of(chosen),
                    population=population,
                    params=job.costs,
                )
                rows.append(_in_order(district, job.indicators))
        except (InputError, UrlinkError) as err:
            shown = ", ".join(f"{p} = {v:.4g}" for p, v in values.items())
            msg = (
                f"[uncertainty] input sample {i} ({shown}): {err}; narrow the ranges of the "
                "inputs concerned (docs/uncertainty.md)"
            )
            raise InputError(msg) from None
    return np.vstack(rows), sorted({str(w.message) for w in caught})


# ------------------------------------------------------------------------------- results


@dataclass(frozen=True, slots=True, eq=False)
class UncertaintyResult:
    """What :func:`assess_uncertainty` found (``Run.uncertainty``).

    Attributes
    ----------
    inputs
        ``input``, ``distribution``, ``base``, ``source`` per uncertain input.
    samples
        The sampled values: samples x inputs.
    performance
        Samples x strategies x indicators (the baseline first), as an array.
    strategies, indicators
        Names of the rows and columns of ``performance``.
    robustness
        Rank acceptability, regret and per-sample scores
        (:class:`urlink.scoring.uncertainty.JointRobustness`); None without ``[scoring]``.
    sensitivity
        ``weights`` (``pooled``), ``output`` (``score`` or ``first``), ``strategy``,
        ``input``, ``S1``, ``S1_conf``: first-order indices of each strategy's score with
        the pooled weights and of its share of first ranks (joint draws) to each input (for
        a group, call :func:`urlink.scoring.uncertainty.first_order_indices` on
        ``robustness.per_sample``).
    conditions
        ``weights``, ``strategy``, ``p_first``, ``density``, ``coverage``, ``mass``,
        ``limits``, ``statement``: where each strategy ranks first (PRIM).
    method, seed
        The sampling method and seed.
    """

    inputs: pd.DataFrame
    samples: pd.DataFrame
    performance: np.ndarray
    strategies: tuple[str, ...]
    indicators: tuple[str, ...]
    robustness: JointRobustness | None = None
    sensitivity: pd.DataFrame = field(default_factory=pd.DataFrame)
    conditions: pd.DataFrame = field(default_factory=pd.DataFrame)
    method: str = "lhs"
    seed: int = 0

    def first_rank(self, weights: str = "pooled", method: str = "weighted_sum") -> pd.DataFrame:
        """Return P(first) per strategy under weight, input and joint uncertainty.

        Parameters
        ----------
        weights
            A stakeholder group, ``pooled`` or ``uniform``.
        method
            A scoring method of the scenario.

        Returns
        -------
        pandas.DataFrame
            Strategies x (``weights``, ``inputs``, ``joint``).
        """
        if self.robustness is None:
            return pd.DataFrame()
        a = self.robustness.acceptability
        a = a[(a["weights"] == weights) & (a["method"] == method) & (a["rank"] == 1)]
        table = a.pivot_table(
            index="strategy", columns="uncertainty", values="first_rank", sort=False
        )
        return table.reindex(list(self.strategies))

    def tables(self) -> dict[str, pd.DataFrame]:
        """Return the CSV tables of the analysis.

        ``uncertainty``, ``uncertainty_inputs``, ``uncertainty_ranks``, ``sensitivity``
        and ``conditions``.

        Returns
        -------
        dict
        """
        m, n = len(self.strategies), len(self.indicators)
        s = len(self.samples)
        wide = pd.DataFrame(self.performance.reshape(s * m, n), columns=list(self.indicators))
        wide.insert(0, "strategy", np.tile(self.strategies, s))
        head = self.samples.loc[np.repeat(np.arange(s), m)].reset_index(drop=True)
        head.insert(0, "sample", np.repeat(np.arange(s), m))
        out = pd.concat([head, wide], axis=1)
        tables = {"uncertainty": out, "uncertainty_inputs": self.inputs}
        if self.robustness is not None:
            per = self.robustness.per_sample
            per = per[per["method"] == per["method"].iloc[0]]
            scores = per.pivot_table(
                index=["sample", "strategy"],
                columns="weights",
                values=["score", "rank"],
                sort=False,
            )
            scores.columns = [f"{v}_{w}" for v, w in scores.columns]
            out = out.merge(scores.reset_index(), on=["sample", "strategy"], how="left")
            tables["uncertainty"] = out
            ranks = self.robustness.acceptability.merge(
                self.robustness.regret, on=["weights", "method", "uncertainty", "strategy"]
            )
            tables["uncertainty_ranks"] = ranks
        tables["sensitivity"] = self.sensitivity
        tables["conditions"] = self.conditions
        return tables


def robustness_with_inputs(robustness: pd.DataFrame, result: UncertaintyResult) -> pd.DataFrame:
    """Add the input-only and joint acceptabilities to the ``robustness`` table.

    Parameters
    ----------
    robustness
        SMAA-2 (weights only): ``weights``, ``method``, ``strategy``, ``rank``,
        ``acceptability``, ``first_rank``.
    result
        The uncertainty analysis.

    Returns
    -------
    pandas.DataFrame
        With ``acceptability_inputs``, ``first_rank_inputs``, ``acceptability_joint``,
        ``first_rank_joint`` (NaN where not defined: inputs only with uniform weights).
    """
    if result.robustness is None:
        return robustness
    a = result.robustness.acceptability
    out = robustness.copy()
    for mode in ("inputs", "joint"):
        part = a[a["uncertainty"] == mode].drop(columns="uncertainty")
        part = part.rename(
            columns={"acceptability": f"acceptability_{mode}", "first_rank": f"first_rank_{mode}"}
        )
        out = out.merge(part, on=["weights", "method", "strategy", "rank"], how="left")
    return out


def _items(scenario: Scenario) -> list[tuple[Strategy, tuple[Strategy, ...]]]:
    """List the strategies, then the packages (as in :mod:`urlink.scenario.assess`)."""
    by_name = {s.name: s for s in scenario.strategies}
    items: list[tuple[Strategy, tuple[Strategy, ...]]] = [(s, (s,)) for s in scenario.strategies]
    for package in scenario.packages:
        if not all(m in by_name for m in package.strategies):
            continue  # as in assess_strategies: a package of strategies not assessed here
        members = tuple(by_name[m] for m in package.strategies)
        items.append((Strategy(name=package.name, kind="package"), members))
    return items


MIN_WINS_FOR_CONDITIONS: Final = 10
"""Fewest samples in which a strategy ranks first for PRIM to look for conditions (fewer: a
box around a handful of samples is chance, however significant it looks)."""


def _conditions(samples: pd.DataFrame, robust: JointRobustness, method: str) -> pd.DataFrame:
    rows = []
    per = robust.per_sample[robust.per_sample["method"] == method]
    for (label, name), part in per.groupby(["weights", "strategy"], sort=False):
        first = part.sort_values("sample")["rank"].to_numpy() == 1
        p_first = float(first.mean())
        if p_first == 0:
            continue
        outcome = f"{name} ranks first ({label} weights)"
        wins = int(first.sum())
        statement = None  # no box: the whole input space, stated as such
        if p_first >= 0.95:
            statement = f"{outcome} in {100 * p_first:.0f} % of the samples, whatever the inputs"
        elif wins < MIN_WINS_FOR_CONDITIONS:
            statement = (
                f"{outcome} in {wins} of {len(first)} samples: too few to tell under which "
                "conditions"
            )
        if statement is not None:
            rows.append((label, name, p_first, p_first, 1.0, 1.0, "", statement))
            continue
        box = prim(samples, first)
        if box is None:
            continue
        limits = "; ".join(f"{n} in [{lo:.4g}, {hi:.4g}]" for n, lo, hi in box.limits)
        rows.append(
            (
                label,
                name,
                p_first,
                box.density,
                box.coverage,
                box.mass,
                limits,
                box.describe(outcome),
            )
        )
    return pd.DataFrame(
        rows,
        columns=[
            "weights",
            "strategy",
            "p_first",
            "density",
            "coverage",
            "mass",
            "limits",
            "statement",
        ],
    )


def _sensitivity(
    samples: pd.DataFrame, robust: JointRobustness, method: str, seed: int
) -> pd.DataFrame:
    """First-order indices of each strategy's score and share of first ranks, per weight set.

    One call for every weight set (each group's, pooled, uniform) and strategy, so the
    bootstrap resamples are shared and the orderings computed once per input.
    """
    per = robust.per_sample
    per = per[per["method"] == method].sort_values("sample", kind="stable")
    keys: list[tuple[str, str, str]] = []
    columns: list[np.ndarray] = []
    for (label, name), rows in per.groupby(["weights", "strategy"], sort=False):
        for output, column in (("score", "score"), ("first", "first_share")):
            keys.append((str(label), output, str(name)))
            columns.append(rows[column].to_numpy(dtype=float))
    if not keys or len(samples) < 8:
        return pd.DataFrame()
    outputs = pd.DataFrame(np.column_stack(columns), columns=range(len(keys)))
    s1 = first_order_indices(samples, outputs, seed=seed, resamples=20)
    which = pd.DataFrame(keys, columns=["weights", "output", "strategy"])
    at = s1.pop("output").astype(int).to_numpy()
    return pd.concat([which.iloc[at].reset_index(drop=True), s1], axis=1)


def assess_uncertainty(
    scenario: Scenario,
    state: State,
    *,
    weights: StakeholderWeights | None = None,
    nominal: pd.DataFrame | None = None,
    workers: int | None = 1,
    scheduler: Any = None,
    progress: Progress | None = None,
) -> UncertaintyResult:
    """Sample the scenario's uncertain inputs, re-evaluate every strategy, rank, explain.

    Parameters
    ----------
    scenario
        A scenario with ``[uncertainty]``.
    state
        Its base state (:func:`urlink.scenario.build.base_state`).
    weights
        The stakeholder weights (None: no ranking, only the sampled indicators).
    nominal
        The nominal performance table (strategies x indicators; e.g.
        :func:`urlink.scoring.ranking.performance_table` of the run's indicators); None:
        evaluated here with the scenario's values.
    workers, scheduler
        Where the samples are evaluated (:func:`urlink.parallel.imap_chunks`); the results
        do not depend on them.
    progress
        Told when each sample is done.

    Returns
    -------
    UncertaintyResult

    Raises
    ------
    InputError
        If the section names unknown inputs, or a sample cannot be evaluated (naming it).
    """
    spec = scenario.uncertainty
    if spec is None:
        msg = f"{scenario.path}: no [uncertainty] section; add one (docs/uncertainty.md)"
        raise InputError(msg)
    inputs = resolve_uncertainty(scenario, state)
    u = unit_samples(spec.samples, len(inputs), method=spec.method, seed=scenario.seed)
    values = np.column_stack(
        [x.distribution.values(u[:, j], base=x.base) for j, x in enumerate(inputs)]
    )
    samples = pd.DataFrame(values, columns=[x.path for x in inputs])
    items = _items(scenario)
    sampled = {x.path.split(".")[1] for x in inputs if x.path.startswith("strategies.")}
    networks = {}
    transits = {}
    for s, _ in items:
        if s.kind in _ROAD_KINDS and s.name not in sampled:
            edited = apply_strategy(state, s)
            networks[s.name] = (
                edited.routing,
                edited.routing_length,
                edited.skim,
                edited.distance_km,
            )
            if edited.transit_memo is not None:
                transits[s.name] = edited.transit_memo
    indicators = tuple(k for k in INDICATORS if nominal is None or k in nominal.columns)
    job = _SampleJob(
        state=state,
        inputs=inputs,
        values=values,
        items=tuple(items),
        networks=networks,
        transits=transits,
        indicators=indicators,
        costs=scenario.costs,
    )
    names = ("baseline", *(s.name for s, _ in items))
    if nominal is None:
        base_values = np.array([[x.base for x in inputs]])
        nominal_values = _evaluate_sample(dataclasses.replace(job, values=base_values), 0)[0]
    else:
        nominal_values = nominal.reindex(index=list(names), columns=list(indicators)).to_numpy(
            dtype=float
        )
    tables, messages = [], set()
    for table, caught in imap_chunks(
        _evaluate_sample,
        range(spec.samples),
        shared=job,
        workers=workers,
        scheduler=scheduler,
        per_task="auto",
    ):
        tables.append(table)
        messages.update(caught)
        advance(progress, what="input sample")
    for message in sorted(messages):
        logger.info("in the input samples: %s", message)
    performance = np.stack(tables)
    described = pd.DataFrame(
        {
            "input": [x.path for x in inputs],
            "distribution": [x.distribution.describe(x.base) for x in inputs],
            "base": [x.base for x in inputs],
            "source": [x.source for x in inputs],
        }
    )
    robust = None
    sensitivity = pd.DataFrame()
    conditions = pd.DataFrame()
    sc = scenario.scoring
    if weights is not None and sc is not None:
        keep = [c for c in weights.table.columns if c in indicators]
        robust = joint_robustness(
            performance,
            nominal_values,
            strategies=names,
            indicators=indicators,
            directions={c: INDICATORS[c].direction for c in indicators},
            weights=weights.table[keep],
            methods=sc.methods,
            weight_samples=sc.smaa_samples,
            weight_draws=spec.weight_draws,
            concentration=sc.concentration,
            seed=scenario.seed,
            normalisation=sc.normalisation,
            references={k: v for k, v in sc.reference_map.items() if k in keep},
            reference_band=sc.reference_band,
        )
        method = sc.methods[0]
        sensitivity = _sensitivity(samples, robust, method, scenario.seed)
        conditions = _conditions(samples, robust, method)
    logger.info(
        "uncertainty: %d %s samples of %d inputs, %d strategies",
        spec.samples,
        spec.method,
        len(inputs),
        len(items),
    )
    return UncertaintyResult(
        inputs=described,
        samples=samples,
        performance=performance,
        strategies=names,
        indicators=indicators,
        robustness=robust,
        sensitivity=sensitivity,
        conditions=conditions,
        method=spec.method,
        seed=scenario.seed,
    )
