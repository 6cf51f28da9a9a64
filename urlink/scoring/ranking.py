"""Rank strategies for every stakeholder group and measure how robust the ranking is.

:func:`rank_strategies` scores a performance table (strategies x indicators) with each
group's weights and the pooled weights by every method asked for, and runs SMAA-2 with
uniform weights and around each group's weights (:func:`urlink.scoring.robustness.smaa`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from urlink.errors import InputError
from urlink.progress import Progress, advance
from urlink.scoring.indicators import INDICATORS
from urlink.scoring.methods import (
    DEFAULT_REFERENCE_BAND,
    SCORING_NORMALISATIONS,
    References,
    ScoringNormalisation,
    _check_choice,
    default_references,
    rank,
    references_of,
    score,
)
from urlink.scoring.robustness import smaa
from urlink.scoring.weights import pooled_weights

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["Ranking", "performance_table", "rank_strategies", "smaa_runs"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, eq=False)
class Ranking:
    """Scores and robustness of the strategies.

    Attributes
    ----------
    scores
        ``strategy``, ``group``, ``method``, ``score``, ``rank`` (groups and ``pooled``).
    robustness
        SMAA-2: ``weights`` (``uniform`` or a group), ``method``, ``strategy``, ``rank``,
        ``acceptability``, ``first_rank``.
    normalisation
        ``"interval"`` or ``"minmax"`` (:data:`urlink.scoring.methods.SCORING_NORMALISATIONS`).
    references
        The reference values used (interval normalisation): ``worst``, ``best``, ``source``
        per indicator scored; empty for min-max.
    excluded
        Indicators left out of the scoring, with the reason (indicator -> text).
    """

    scores: pd.DataFrame
    robustness: pd.DataFrame
    normalisation: str = "minmax"
    references: pd.DataFrame = field(default_factory=pd.DataFrame)
    excluded: dict[str, str] = field(default_factory=dict)


def performance_table(indicators: pd.DataFrame) -> pd.DataFrame:
    """Strategies x district indicators from the ``indicators`` output table.

    Parameters
    ----------
    indicators
        The table written as ``indicators.csv``.

    Returns
    -------
    pandas.DataFrame
        One row per strategy (baseline first), one column per indicator.
    """
    district = indicators[indicators["scope"] == "district"]
    table = district.pivot_table(
        index="strategy", columns="indicator", values="value", aggfunc="first", dropna=False
    )
    order = list(dict.fromkeys(district["strategy"]))
    return table.loc[order, list(dict.fromkeys(district["indicator"]))].astype(float)


def smaa_runs(n_groups: int, methods: Sequence[str]) -> int:
    """Count the SMAA analyses of :func:`rank_strategies` (for progress bars).

    Parameters
    ----------
    n_groups
        Stakeholder groups.
    methods
        Scoring methods.

    Returns
    -------
    int
        One per method for uniform weights and for each group's weights.

    Examples
    --------
    >>> smaa_runs(5, ("weighted_sum", "topsis"))
    12
    """
    return len(methods) * (1 + n_groups)


def rank_strategies(
    table: pd.DataFrame,
    weights: pd.DataFrame,
    *,
    methods: Sequence[str] = ("weighted_sum", "topsis"),
    smaa_samples: int = 10_000,
    concentration: float = 50.0,
    seed: int = 0,
    workers: int | None = 1,
    scheduler: Any = None,
    progress: Progress | None = None,
    normalisation: ScoringNormalisation = "interval",
    references: References | None = None,
    reference_band: float = DEFAULT_REFERENCE_BAND,
) -> Ranking:
    """Rank the strategies for every group and the pooled weights; SMAA-2 robustness.

    Indicators that are undefined (NaN) for some or all strategies, such as a
    cost-effectiveness whose cost is unknown, are left out of the scoring with a logged
    warning naming them and the strategies concerned, and the remaining weights of each
    group are rescaled to sum to 1. With interval normalisation, so is an indicator that
    has no reference values (no planner-set ones and a baseline of 0).

    Parameters
    ----------
    table
        Strategies x indicators (:func:`performance_table`).
    weights
        Groups x indicators (each row sums to 1).
    methods
        Scoring methods (:data:`urlink.scoring.methods.SCORING_METHODS`).
    smaa_samples, concentration, seed
        SMAA sample count, Dirichlet concentration around each group's weights, seed.
    workers, scheduler
        Where the SMAA sample chunks run.
    progress
        Told when each SMAA analysis (a method with one set of weights) is done.
    normalisation
        ``"interval"`` (against reference values; the default) or ``"minmax"`` (over the
        strategies compared).
    references
        Planner-set ``(worst, best)`` per indicator; the others get
        :func:`urlink.scoring.methods.default_references` (baseline ± ``reference_band``).
    reference_band
        Half-width of the default reference interval, share of the baseline value.

    Returns
    -------
    Ranking

    Raises
    ------
    InputError
        If the weights name unknown indicators, no indicator is left to score, or the
        normalisation or references are invalid.
    """
    _check_choice(normalisation, SCORING_NORMALISATIONS, "normalisation")
    unknown = [c for c in weights.columns if c not in INDICATORS]
    if unknown:
        msg = f"indicators {unknown} are not urlink indicators; use some of {sorted(INDICATORS)}"
        raise InputError(msg)
    table = table[list(weights.columns)]
    excluded: dict[str, str] = {}
    for c in table.columns[table.isna().any()]:
        # e.g. no rural zones: the rural/urban ratio is undefined for every strategy; a
        # cost-effectiveness is undefined where the cost is unknown
        missing = [str(s) for s in table.index[table[c].isna()]]
        excluded[str(c)] = (
            "undefined in this scenario"
            if len(missing) == len(table)
            else f"undefined for {', '.join(missing)}"
        )
    directions = {c: INDICATORS[c].direction for c in table.columns}
    refs = pd.DataFrame(columns=["worst", "best", "source"])
    used_refs: dict[str, tuple[float, float]] | None = None
    if normalisation == "interval":
        kept = [c for c in table.columns if c not in excluded]
        refs = default_references(
            table[kept],
            directions,
            band=reference_band,
            references={k: v for k, v in (references or {}).items() if k in kept},
        )
        for c in refs.index[refs["worst"].isna()]:
            excluded[str(c)] = "no reference values (baseline 0); set them in [scoring.references]"
        refs = refs.dropna(subset=["worst", "best"])
        used_refs = references_of(refs)
    for c, why in excluded.items():
        logger.warning(
            "indicator %s is left out of the scoring (%s); the other weights are rescaled",
            c,
            why,
        )
    if excluded:
        table = table.drop(columns=list(excluded))
        weights = weights.drop(columns=list(excluded))
        if table.shape[1] == 0:
            msg = f"no indicator is left to score: {excluded}; weight some defined ones"
            raise InputError(msg)
        total = weights.sum(axis=1)
        if (total <= 0).any():
            lost = [str(g) for g in weights.index[total <= 0]]
            msg = (
                f"groups {lost} put all their weight on indicators left out of the "
                f"scoring ({excluded}); weight some defined ones"
            )
            raise InputError(msg)
        weights = weights.div(total, axis=0)
    directions = {c: INDICATORS[c].direction for c in table.columns}
    groups = pd.concat([weights, pooled_weights(weights).to_frame("pooled").T])
    rows = []
    for method in methods:
        for group, w in groups.iterrows():
            s = score(table, w, directions, method=method, references=used_refs)
            r = rank(s)
            rows += [(name, group, method, float(s[name]), int(r[name])) for name in table.index]
    scores = pd.DataFrame(rows, columns=["strategy", "group", "method", "score", "rank"])
    robust = []
    runs = [("uniform", None)] + [(str(g), w) for g, w in weights.iterrows()]
    for method in methods:
        for label, around in runs:
            res = smaa(
                table,
                directions,
                method=method,
                n_samples=smaa_samples,
                seed=seed,
                around=around,
                concentration=concentration,
                workers=workers,
                scheduler=scheduler,
                references=used_refs,
            )
            acc = res.acceptability.rename_axis(index="strategy", columns="rank")
            acc = acc.reset_index().melt(
                id_vars="strategy", var_name="rank", value_name="acceptability"
            )
            acc.insert(0, "method", method)
            acc.insert(0, "weights", label)
            acc["first_rank"] = acc["strategy"].map(res.first_rank)
            robust.append(acc)
            advance(progress, what=f"SMAA {method}, {label} weights")
    return Ranking(
        scores=scores,
        robustness=pd.concat(robust, ignore_index=True),
        normalisation=normalisation,
        references=refs,
        excluded=excluded,
    )
