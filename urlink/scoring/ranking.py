"""Rank strategies for every stakeholder group and measure how robust the ranking is.

:func:`rank_strategies` scores a performance table (strategies x indicators) with each
group's weights and the pooled weights by every method asked for, and runs SMAA-2 with
uniform weights and around each group's weights (:func:`urlink.scoring.robustness.smaa`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from urlink.errors import InputError
from urlink.progress import Progress, advance
from urlink.scoring.indicators import INDICATORS
from urlink.scoring.methods import rank, score
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
    """

    scores: pd.DataFrame
    robustness: pd.DataFrame


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
) -> Ranking:
    """Rank the strategies for every group and the pooled weights; SMAA-2 robustness.

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

    Returns
    -------
    Ranking

    Raises
    ------
    InputError
        If the weights name unknown indicators, or an indicator is undefined for some
        strategies.
    """
    unknown = [c for c in weights.columns if c not in INDICATORS]
    if unknown:
        msg = f"indicators {unknown} are not urlink indicators; use some of {sorted(INDICATORS)}"
        raise InputError(msg)
    table = table[list(weights.columns)]
    empty = table.columns[table.isna().all()].tolist()
    if empty:  # e.g. no rural zones: the rural/urban ratio is undefined for every strategy
        logger.warning(
            "indicators %s are undefined in this scenario and are left out of the "
            "scoring (the other weights are rescaled)",
            empty,
        )
        table = table.drop(columns=empty)
        weights = weights.drop(columns=empty)
        weights = weights.div(weights.sum(axis=1), axis=0)
    undefined = table.columns[table.isna().any()].tolist()
    if undefined:
        msg = (
            f"indicators {undefined} are undefined for some strategies; remove them from "
            "the weights"
        )
        raise InputError(msg)
    directions = {c: INDICATORS[c].direction for c in table.columns}
    groups = pd.concat([weights, pooled_weights(weights).to_frame("pooled").T])
    rows = []
    for method in methods:
        for group, w in groups.iterrows():
            s = score(table, w, directions, method=method)
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
    return Ranking(scores=scores, robustness=pd.concat(robust, ignore_index=True))
