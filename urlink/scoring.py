"""Multi-criteria scoring of planning strategies for the Raumbild workshop.

A *performance table* is a :class:`pandas.DataFrame` indexed by strategy name (the
alternatives) with one numeric column per indicator. ``directions`` maps every indicator to
``"max"`` (more is better, e.g. the share of residents within 30 min of a clinic) or
``"min"`` (less is better, e.g. transport CO2 or investment cost). *Weights* are a
:class:`pandas.Series` indexed by indicator; they must be non-negative and are divided by
their sum, so points out of 100 and shares are both accepted.

Scoring methods (all in :data:`SCORING_METHODS`, each ``method(table, weights,
directions) -> pd.Series`` with higher = better):

``weighted_sum``
    Simple additive weighting (SAW/WSM) on min-max normalised values,
    ``S_a = Σ_j w_j r_aj`` [R94]. Fully compensatory: a large gain on one indicator can
    buy off a loss on another.
``topsis``
    Closeness to the ideal point on vector-normalised, weighted values (Hwang & Yoon 1981)
    [R98].

Weights come from the workshop: points out of 100 per stakeholder group
(:func:`weights_from_points`, blank form from :func:`weights_template`) or AHP pairwise
comparisons (:func:`ahp_weights`, :func:`ahp_from_csv`; Saaty's eigenvector method with
the consistency ratio, [R95][R96]). Groups are kept apart: averaging conflicting weights
hides the conflict the workshop is meant to show [R109], so :func:`pooled_weights` is only
a summary, and :func:`smaa` (SMAA-2, Lahdelma & Salminen 2001 [R101]-[R103]) shows how
robust each strategy's rank is, either over all possible weights or around one group's
weights.

References (the tags are those of the project's domain-methods notes)
--------------------------------------------------------------------
- [R94] Simple additive weighting; ``mcdm`` package, https://pypi.org/project/mcdm/1.4/
- [R95] [R96] Saaty, T. L. (1980), *The Analytic Hierarchy Process*, McGraw-Hill; Saaty,
  T. L. (1990), How to make a decision: the analytic hierarchy process, *European Journal
  of Operational Research* 48(1):9-26 (random index table for n = 1..10).
- [R97] Forman, E. & Peniwati, K. (1998), Aggregating individual judgments and priorities
  with the analytic hierarchy process, *EJOR* 108(1):165-169.
- [R98] Hwang, C.-L. & Yoon, K. (1981), *Multiple Attribute Decision Making*, Springer
  (TOPSIS).
- [R101]-[R103] Lahdelma, R., Hokkanen, J. & Salminen, P. (1998), SMAA - Stochastic
  multiobjective acceptability analysis, *EJOR* 106(1):137-143; Lahdelma, R. & Salminen,
  P. (2001), SMAA-2: Stochastic multicriteria acceptability analysis for group decision
  making, *Operations Research* 49(3):444-454; Tervonen, T. & Figueira, J. R. (2008), A
  survey on stochastic multicriteria acceptability analysis methods, *Journal of
  Multi-Criteria Decision Analysis* 15:1-14.
- [R109] Participatory multi-criteria analysis: group weighting and the contested
  averaging of conflicting weights (Chadwick 1971, quoted).

Examples
--------
>>> import pandas as pd
>>> from urlink.scoring import rank, score
>>> table = pd.DataFrame(
...     {"access_pct": [60.0, 90.0, 20.0], "co2_kt": [4.0, 1.0, 8.0]},
...     index=pd.Index(["bus", "rail", "road"], name="strategy"),
... )
>>> directions = {"access_pct": "max", "co2_kt": "min"}
>>> weights = pd.Series({"access_pct": 0.5, "co2_kt": 0.5})
>>> rank(score(table, weights, directions))
strategy
rail    1
bus     2
road    3
Name: rank, dtype: int64
"""

from __future__ import annotations

import csv
import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar

import numpy as np
import pandas as pd

from urlink.checks import check_no_markup
from urlink.errors import InputError, UrlinkError
from urlink.parallel import map_chunks

if TYPE_CHECKING:
    import numpy.typing as npt

__all__ = [
    "AHP_CSV_COLUMNS",
    "CR_THRESHOLD",
    "DIRECTIONS",
    "NORMALISATIONS",
    "POINTS_CSV_COLUMNS",
    "RANDOM_INDEX",
    "SCORING_METHODS",
    "STAKEHOLDER_GROUPS",
    "BatchScoringMethod",
    "Direction",
    "ScoringMethod",
    "SmaaResult",
    "ahp_from_csv",
    "ahp_weights",
    "normalise",
    "pooled_weights",
    "rank",
    "register_method",
    "sample_weights",
    "score",
    "smaa",
    "topsis",
    "weighted_sum",
    "weights_from_points",
    "weights_template",
]

logger = logging.getLogger(__name__)

Direction = Literal["max", "min"]
DIRECTIONS: tuple[Direction, ...] = ("max", "min")
"""Allowed values of ``directions``: ``"max"`` (more is better), ``"min"`` (less is better)."""

Normalisation = Literal["minmax", "vector"]
NORMALISATIONS: tuple[Normalisation, ...] = ("minmax", "vector")
"""Allowed ``method`` values of :func:`normalise`."""

RANDOM_INDEX: dict[int, float] = {
    1: 0.0,
    2: 0.0,
    3: 0.58,
    4: 0.90,
    5: 1.12,
    6: 1.24,
    7: 1.32,
    8: 1.41,
    9: 1.45,
    10: 1.49,
}
"""Saaty's random consistency index RI by matrix size n.

n = 3..8 as in [R95][R96]; n = 1, 2 (always consistent) and n = 9, 10 from Saaty 1980,
*The Analytic Hierarchy Process* and Saaty 1990, EJOR 48(1):9-26, Table 2.
"""

CR_THRESHOLD = 0.10
"""Largest acceptable AHP consistency ratio (Saaty) [R95]."""

POINTS_CSV_COLUMNS = ("group", "label", "indicator", "points")
"""Header of the points form; ``label`` is optional when reading."""

AHP_CSV_COLUMNS = ("group", "row", "col", "value")
"""Header of the AHP pairwise-comparison file."""

STAKEHOLDER_GROUPS: dict[str, str] = {
    "district_bureau": "区规划部门 District planning bureau",
    "township_gov": "乡镇（街道）政府 Township governments",
    "farmers_coop": "农民专业合作社 Farmers' cooperatives",
    "enterprises": "企业 Enterprises",
    "residents": "居民 Residents",
}
"""Default stakeholder groups of the Raumbild workshop: id -> label (Chinese and English)."""

_POINTS_TOTAL = 100.0
_POINTS_TOL = 1e-6
_AHP_TOL = 1e-6
_TIE_DECIMALS = 12  # scores equal to 12 decimals are ties (rounding noise of BLAS, etc.)
_CHUNK = 2_000  # SMAA samples scored at once: 2,000 x 50 strategies x 8 B = 0.8 MB


class ScoringMethod(Protocol):
    """A scoring method: ``method(table, weights, directions) -> scores`` (higher = better).

    The returned Series is indexed like ``table``.
    """

    def __call__(
        self,
        table: pd.DataFrame,
        weights: pd.Series,
        directions: Mapping[str, Direction],
        /,
    ) -> pd.Series:
        """Score the strategies of ``table``."""
        ...


class BatchScoringMethod(Protocol):
    """Vectorised form of a scoring method, used by :func:`smaa`.

    ``batch(values, weights, maximise) -> scores`` with ``values`` the checked performance
    table (alternatives x indicators), ``weights`` one weight vector per row (samples x
    indicators, each row summing to 1) and ``maximise`` True for ``"max"`` indicators; it
    returns samples x alternatives scores, higher = better.
    """

    def __call__(
        self,
        values: npt.NDArray[np.float64],
        weights: npt.NDArray[np.float64],
        maximise: npt.NDArray[np.bool_],
        /,
    ) -> npt.NDArray[np.float64]:
        """Score every alternative under every weight vector."""
        ...


_M = TypeVar("_M", bound=ScoringMethod)

SCORING_METHODS: dict[str, ScoringMethod] = {}
"""Registered scoring methods, name -> function (see :func:`register_method`)."""

_BATCH_METHODS: dict[str, BatchScoringMethod] = {}


def register_method(name: str, *, batch: BatchScoringMethod | None = None) -> Callable[[_M], _M]:
    """Register a scoring method under ``name`` (a decorator).

    Parameters
    ----------
    name
        Name used in ``score(..., method=name)`` and ``smaa(..., method=name)``.
    batch
        Optional vectorised form (see :class:`BatchScoringMethod`). Without it,
        :func:`smaa` calls the method once per weight sample, which is correct but slow.

    Returns
    -------
    callable
        The decorator; it returns the function unchanged.

    Raises
    ------
    InputError
        If the name is empty or taken.

    Examples
    --------
    >>> from urlink.scoring import SCORING_METHODS, register_method
    >>> @register_method("best_access")
    ... def best_access(table, weights, directions):
    ...     return table["access_pct"].rename("best_access")
    >>> "best_access" in SCORING_METHODS
    True
    >>> del SCORING_METHODS["best_access"]
    """
    if not isinstance(name, str) or not name:
        msg = f"name={name!r} is not valid; give a non-empty string"
        raise InputError(msg)

    def decorator(func: _M) -> _M:
        if name in SCORING_METHODS:
            msg = (
                f"a scoring method named {name!r} is already registered; "
                f"choose another name (taken: {sorted(SCORING_METHODS)})"
            )
            raise InputError(msg)
        SCORING_METHODS[name] = func
        if batch is not None:
            _BATCH_METHODS[name] = batch
        return func

    return decorator


# ---------------------------------------------------------------------------- checks


def _check_choice(value: object, allowed: Sequence[str], argument: str) -> None:
    if value not in allowed:
        msg = f"{argument}={value!r} is not valid; use one of {tuple(allowed)}"
        raise InputError(msg)


def _check_table(
    table: pd.DataFrame, directions: Mapping[str, Direction]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    """Return the table's values (float) and a bool array (True = "max") per column."""
    if not isinstance(table, pd.DataFrame):
        msg = f"table must be a pandas DataFrame (strategies x indicators), not {type(table)}"
        raise InputError(msg)
    if table.shape[0] == 0 or table.shape[1] == 0:
        msg = (
            f"table has shape {table.shape}; it needs at least one strategy (row) and "
            "one indicator (column)"
        )
        raise InputError(msg)
    for axis, labels in (("strategy names (index)", table.index), ("indicators", table.columns)):
        if not labels.is_unique:
            dupes = sorted({str(v) for v in labels[labels.duplicated()]})
            msg = f"table has duplicate {axis}: {dupes}; give each one a unique name"
            raise InputError(msg)
    text = [c for c in table.columns if not pd.api.types.is_numeric_dtype(table[c])]
    if text:
        msg = (
            f"table columns {text} are not numeric; convert them with pd.to_numeric or "
            "fix the cells that hold text"
        )
        raise InputError(msg)
    values = table.to_numpy(dtype=float)
    bad = np.argwhere(~np.isfinite(values))
    if len(bad):
        cells = ", ".join(
            f"strategy {table.index[i]!r} / indicator {table.columns[j]!r} = "
            f"{float(values[i, j])!r}"
            for i, j in bad[:5]
        )
        more = f" (and {len(bad) - 5} more)" if len(bad) > 5 else ""
        msg = (
            f"table has missing or infinite values: {cells}{more}; fill in a value or "
            "drop the strategy or indicator"
        )
        raise InputError(msg)
    if not isinstance(directions, Mapping):
        msg = f"directions must be a mapping indicator -> 'max'/'min', not {type(directions)}"
        raise InputError(msg)
    missing = [c for c in table.columns if c not in directions]
    if missing:
        msg = (
            f"directions has no entry for indicator(s) {missing}; add 'max' (more is "
            "better) or 'min' (less is better) for each"
        )
        raise InputError(msg)
    wrong = {c: directions[c] for c in table.columns if directions[c] not in DIRECTIONS}
    if wrong:
        msg = f"directions {wrong!r} are not valid; use one of {DIRECTIONS}"
        raise InputError(msg)
    maximise = np.array([directions[c] == "max" for c in table.columns], dtype=bool)
    return values, maximise


def _check_weights(
    weights: pd.Series, indicators: pd.Index, *, argument: str = "weights"
) -> npt.NDArray[np.float64]:
    """Return weights aligned to ``indicators`` and divided by their sum."""
    if not isinstance(weights, pd.Series):
        msg = f"{argument} must be a pandas Series indexed by indicator, not {type(weights)}"
        raise InputError(msg)
    if not weights.index.is_unique:
        dupes = sorted({str(v) for v in weights.index[weights.index.duplicated()]})
        msg = f"{argument} has duplicate indicators {dupes}; give each indicator once"
        raise InputError(msg)
    missing = [c for c in indicators if c not in weights.index]
    extra = [c for c in weights.index if c not in indicators]
    if missing or extra:
        msg = (
            f"{argument} does not match the table's indicators: missing {missing}, "
            f"unknown {extra}; give one weight for each of {list(indicators)}"
        )
        raise InputError(msg)
    numeric = pd.to_numeric(weights, errors="coerce").reindex(indicators)
    values = numeric.to_numpy(dtype=float)
    bad = [
        f"{c!r} = {float(v)!r}" if pd.notna(numeric[c]) else f"{c!r} = {weights[c]!r}"
        for c, v in zip(indicators, values, strict=True)
        if not math.isfinite(v) or v < 0
    ]
    if bad:
        msg = (
            f"{argument} must be finite and non-negative; got {', '.join(bad)}; "
            "use 0 for an indicator that should not count"
        )
        raise InputError(msg)
    total = float(values.sum())
    if total <= 0:
        msg = f"{argument} are all zero; give at least one indicator a positive weight"
        raise InputError(msg)
    return values / total


# ---------------------------------------------------------------------- normalisation


def _minmax(
    values: npt.NDArray[np.float64], maximise: npt.NDArray[np.bool_]
) -> npt.NDArray[np.float64]:
    lo = values.min(axis=0)
    hi = values.max(axis=0)
    span = hi - lo
    safe = np.where(span > 0, span, 1.0)
    up = (values - lo) / safe
    down = (hi - values) / safe
    return np.where(span > 0, np.where(maximise, up, down), 1.0)


def _vector(values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    norm = np.sqrt((values**2).sum(axis=0))
    return np.where(norm > 0, values / np.where(norm > 0, norm, 1.0), 0.0)


def normalise(
    table: pd.DataFrame,
    directions: Mapping[str, Direction],
    *,
    method: Normalisation = "minmax",
) -> pd.DataFrame:
    """Normalise a performance table indicator by indicator.

    ``"minmax"`` (linear scale transformation, used by the weighted sum [R94]):

    - ``"max"`` indicators: ``r = (x - min) / (max - min)``;
    - ``"min"`` indicators: ``r = (max - x) / (max - min)``;

    so every column lies in [0, 1] with 1 = the best strategy on that indicator. A constant
    column (``max == min``) cannot tell the strategies apart and is set to 1.0 for all of
    them, so it adds the same amount to every weighted sum and changes no ranking.

    ``"vector"`` (TOPSIS [R98]): ``r = x / sqrt(Σ_k x_k²)`` per column. The direction is
    *not* applied here: TOPSIS handles it through the ideal and anti-ideal points. Values lie
    in [0, 1] for non-negative data ([-1, 1] otherwise); an all-zero column stays 0.

    Parameters
    ----------
    table
        Performance table, strategies x indicators, no missing values.
    directions
        ``"max"`` or ``"min"`` for every column of ``table`` (extra keys are ignored).
    method
        ``"minmax"`` or ``"vector"``.

    Returns
    -------
    pandas.DataFrame
        Same index and columns as ``table``.

    Raises
    ------
    InputError
        If the table has missing or non-numeric values, a direction is missing or invalid,
        or ``method`` is unknown.

    Examples
    --------
    >>> import pandas as pd
    >>> from urlink.scoring import normalise
    >>> table = pd.DataFrame({"access_pct": [20.0, 60.0], "co2_kt": [8.0, 4.0]},
    ...                      index=["road", "bus"])
    >>> normalise(table, {"access_pct": "max", "co2_kt": "min"})
          access_pct  co2_kt
    road         0.0     0.0
    bus          1.0     1.0
    >>> normalise(table, {"access_pct": "max", "co2_kt": "min"}, method="vector").round(3)
          access_pct  co2_kt
    road       0.316   0.894
    bus        0.949   0.447
    """
    _check_choice(method, NORMALISATIONS, "method")
    values, maximise = _check_table(table, directions)
    out = _minmax(values, maximise) if method == "minmax" else _vector(values)
    return pd.DataFrame(out, index=table.index, columns=table.columns)


# -------------------------------------------------------------------- scoring methods


def _weighted_sum_batch(
    values: npt.NDArray[np.float64],
    weights: npt.NDArray[np.float64],
    maximise: npt.NDArray[np.bool_],
    /,
) -> npt.NDArray[np.float64]:
    # (samples x indicators) @ (indicators x alternatives)
    return weights @ _minmax(values, maximise).T


def _closeness(
    s_plus: npt.NDArray[np.float64], s_minus: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    denom = s_plus + s_minus
    # S+ + S- == 0 only if every weighted column is constant: the strategy *is* the ideal.
    return np.divide(s_minus, denom, out=np.ones_like(denom), where=denom > 0)


def _topsis_batch(
    values: npt.NDArray[np.float64],
    weights: npt.NDArray[np.float64],
    maximise: npt.NDArray[np.bool_],
    /,
) -> npt.NDArray[np.float64]:
    # Because w_j >= 0, max_i w_j r_ij = w_j max_i r_ij: the weighted ideal is w_j r*_j and
    # v_ij - v*_j = w_j (r_ij - r*_j). So S+_i² = Σ_j w_j² (r_ij - r*_j)², one matrix
    # product of the squared weights (samples x indicators) with the squared distances
    # (indicators x alternatives), and likewise S-. Exact, and no samples x alternatives x
    # indicators array is needed.
    r = _vector(values)
    best = np.where(maximise, r.max(axis=0), r.min(axis=0))
    worst = np.where(maximise, r.min(axis=0), r.max(axis=0))
    w2 = weights**2
    s_plus = np.sqrt(w2 @ ((r - best) ** 2).T)
    s_minus = np.sqrt(w2 @ ((r - worst) ** 2).T)
    return _closeness(s_plus, s_minus)


@register_method("weighted_sum", batch=_weighted_sum_batch)
def weighted_sum(
    table: pd.DataFrame, weights: pd.Series, directions: Mapping[str, Direction]
) -> pd.Series:
    """Score strategies by simple additive weighting (SAW/WSM) [R94].

    ``S_a = Σ_j w_j r_aj`` with ``r`` the min-max normalised table (:func:`normalise`,
    1 = best) and the weights divided by their sum, so ``0 <= S_a <= 1``.

    Parameters
    ----------
    table
        Performance table, strategies x indicators.
    weights
        Non-negative weight per indicator (divided by their sum).
    directions
        ``"max"`` or ``"min"`` per indicator.

    Returns
    -------
    pandas.Series
        Score per strategy (named ``"weighted_sum"``), higher = better.

    Raises
    ------
    InputError
        If the table, weights or directions are invalid.

    Examples
    --------
    >>> import pandas as pd
    >>> from urlink.scoring import weighted_sum
    >>> table = pd.DataFrame({"access_pct": [20.0, 60.0, 90.0], "co2_kt": [8.0, 4.0, 1.0]},
    ...                      index=["road", "bus", "rail"])
    >>> weighted_sum(table, pd.Series({"access_pct": 3, "co2_kt": 1}),
    ...              {"access_pct": "max", "co2_kt": "min"}).round(4)
    road    0.0000
    bus     0.5714
    rail    1.0000
    Name: weighted_sum, dtype: float64
    """
    values, maximise = _check_table(table, directions)
    w = _check_weights(weights, table.columns)
    scores = _minmax(values, maximise) @ w
    return pd.Series(scores, index=table.index, name="weighted_sum")


@register_method("topsis", batch=_topsis_batch)
def topsis(
    table: pd.DataFrame, weights: pd.Series, directions: Mapping[str, Direction]
) -> pd.Series:
    """Score strategies by closeness to the ideal point (TOPSIS) [R98].

    1. Vector normalisation ``r_ij = x_ij / sqrt(Σ_k x_kj²)``;
    2. weighting ``v_ij = w_j r_ij`` (weights divided by their sum);
    3. ideal ``v*_j`` = the best ``v_ij`` (largest for ``"max"``, smallest for ``"min"``)
       and anti-ideal ``v-_j`` = the worst;
    4. distances ``S+_i = sqrt(Σ_j (v_ij - v*_j)²)``, ``S-_i = sqrt(Σ_j (v_ij - v-_j)²)``;
    5. closeness ``C_i = S-_i / (S+_i + S-_i)`` in [0, 1].

    If ``S+_i + S-_i == 0`` (every weighted indicator is constant, so the strategy is the
    ideal), ``C_i = 1.0``.

    Parameters
    ----------
    table
        Performance table, strategies x indicators.
    weights
        Non-negative weight per indicator (divided by their sum).
    directions
        ``"max"`` or ``"min"`` per indicator.

    Returns
    -------
    pandas.Series
        Closeness per strategy (named ``"topsis"``), higher = better.

    Raises
    ------
    InputError
        If the table, weights or directions are invalid.

    Examples
    --------
    >>> import pandas as pd
    >>> from urlink.scoring import topsis
    >>> table = pd.DataFrame({"access_pct": [20.0, 60.0, 90.0], "co2_kt": [8.0, 4.0, 1.0]},
    ...                      index=["road", "bus", "rail"])
    >>> topsis(table, pd.Series({"access_pct": 0.5, "co2_kt": 0.5}),
    ...        {"access_pct": "max", "co2_kt": "min"}).round(4)
    road    0.0000
    bus     0.5714
    rail    1.0000
    Name: topsis, dtype: float64
    """
    values, maximise = _check_table(table, directions)
    w = _check_weights(weights, table.columns)
    v = _vector(values) * w
    ideal = np.where(maximise, v.max(axis=0), v.min(axis=0))
    anti = np.where(maximise, v.min(axis=0), v.max(axis=0))
    s_plus = np.sqrt(((v - ideal) ** 2).sum(axis=1))
    s_minus = np.sqrt(((v - anti) ** 2).sum(axis=1))
    return pd.Series(_closeness(s_plus, s_minus), index=table.index, name="topsis")


def _get_method(method: str) -> ScoringMethod:
    if method not in SCORING_METHODS:
        msg = f"method={method!r} is not a registered scoring method; use one of " + repr(
            sorted(SCORING_METHODS)
        )
        raise InputError(msg)
    return SCORING_METHODS[method]


def score(
    table: pd.DataFrame,
    weights: pd.Series,
    directions: Mapping[str, Direction],
    *,
    method: str = "weighted_sum",
) -> pd.Series:
    """Score strategies with a registered method (higher = better).

    Parameters
    ----------
    table
        Performance table, strategies x indicators.
    weights
        Non-negative weight per indicator (divided by their sum).
    directions
        ``"max"`` or ``"min"`` per indicator.
    method
        A name in :data:`SCORING_METHODS`: ``"weighted_sum"`` (default) or ``"topsis"``.

    Returns
    -------
    pandas.Series
        Score per strategy, indexed like ``table`` and named after the method.

    Raises
    ------
    InputError
        If the method is unknown or the inputs are invalid.
    UrlinkError
        If a registered method returns something other than a Series indexed like
        ``table``.

    Examples
    --------
    >>> import pandas as pd
    >>> from urlink.scoring import score
    >>> table = pd.DataFrame({"access_pct": [20.0, 60.0], "co2_kt": [8.0, 4.0]},
    ...                      index=["road", "bus"])
    >>> score(table, pd.Series({"access_pct": 1.0, "co2_kt": 0.0}),
    ...       {"access_pct": "max", "co2_kt": "min"}, method="topsis")
    road    0.0
    bus     1.0
    Name: topsis, dtype: float64
    """
    func = _get_method(method)
    result = func(table, weights, directions)
    if not isinstance(result, pd.Series) or not result.index.equals(table.index):
        msg = (
            f"scoring method {method!r} returned {type(result).__name__}; a method must "
            "return a pandas Series indexed like the table"
        )
        raise UrlinkError(msg)
    return result.rename(method)


def rank(scores: pd.Series) -> pd.Series:
    """Rank strategies by score: 1 = best, ties share the lowest rank ("min" method).

    Scores that agree to 12 decimal places count as ties (floating-point noise must not
    decide a ranking). The result is sorted by rank; tied strategies keep their order in
    ``scores``.

    Parameters
    ----------
    scores
        Score per strategy, higher = better (e.g. from :func:`score`).

    Returns
    -------
    pandas.Series
        Integer rank per strategy, named ``"rank"``.

    Raises
    ------
    InputError
        If ``scores`` is not a numeric Series or holds missing values.

    Examples
    --------
    >>> import pandas as pd
    >>> from urlink.scoring import rank
    >>> rank(pd.Series({"a": 0.5, "b": 0.8, "c": 0.5, "d": 0.1}))
    b    1
    a    2
    c    2
    d    4
    Name: rank, dtype: int64
    """
    if not isinstance(scores, pd.Series) or not pd.api.types.is_numeric_dtype(scores):
        msg = f"scores must be a numeric pandas Series, not {type(scores).__name__}"
        raise InputError(msg)
    if scores.isna().any():
        missing = [str(v) for v in scores.index[scores.isna()]]
        msg = f"scores are missing for {missing}; score every strategy before ranking"
        raise InputError(msg)
    ranks = scores.round(_TIE_DECIMALS).rank(method="min", ascending=False).astype("int64")
    order = np.lexsort((np.arange(len(ranks)), ranks.to_numpy()))
    return ranks.iloc[order].rename("rank")


# ------------------------------------------------------------------ workshop weights


def _read_csv(path: Path, columns: Sequence[str], optional: Sequence[str] = ()) -> pd.DataFrame:
    """Read a UTF-8 CSV as text, check its header and strip the cells."""
    if not path.is_file():
        msg = f"{path}: no such file; check the path (or write a blank form first)"
        raise InputError(msg)
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except UnicodeDecodeError as err:
        msg = (
            f"{path}: the file is not UTF-8 ({err.reason}); save it again as "
            "'CSV UTF-8 (comma delimited)'"
        )
        raise InputError(msg) from err
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        msg = f"{path}: cannot read the file as CSV ({err}); the header must be " + ",".join(
            columns
        )
        raise InputError(msg) from err
    df.columns = [str(c).strip() for c in df.columns]
    missing = [c for c in columns if c not in df.columns]
    unknown = [c for c in df.columns if c not in columns and c not in optional]
    if missing or unknown:
        msg = (
            f"{path}: header has missing columns {missing} and unknown columns {unknown}; "
            f"the header must be {','.join(c for c in (*columns, *optional))!r}"
            + (f" ({', '.join(optional)} optional)" if optional else "")
        )
        raise InputError(msg)
    for col in df.columns:
        df[col] = df[col].str.strip()
        check_no_markup(
            df[col].set_axis(range(2, len(df) + 2)), source=str(path), column=col, row_label="line"
        )
    return df


def _parse_number(text: str) -> float:
    """Parse ``"3"``, ``"0.5"`` or a fraction ``"1/3"``; raise ValueError otherwise."""
    if "/" in text:
        num, den = text.split("/", 1)
        return float(num) / float(den)
    return float(text)


def weights_template(
    indicators: Sequence[str],
    groups: Sequence[str] | Mapping[str, str],
    path: str | Path,
    *,
    overwrite: bool = False,
) -> Path:
    """Write the blank points form that :func:`weights_from_points` reads.

    One row per group and indicator, in long format, with the header (exactly)::

        group,label,indicator,points

    ``points`` is left blank for the workshop to fill in: each group distributes 100
    points over the indicators (0 allowed). ``label`` only helps people read the form.
    The file is UTF-8 with a byte-order mark so that Excel shows the Chinese labels.

    Parameters
    ----------
    indicators
        Indicator names (the performance table's columns).
    groups
        Group ids (labels from :data:`STAKEHOLDER_GROUPS` where known), or a mapping
        id -> label.
    path
        CSV file to write.
    overwrite
        Replace an existing file (off by default so a filled-in form is never lost).

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    InputError
        If indicators or groups are empty or repeated, or the file exists and
        ``overwrite`` is false.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from urlink.scoring import weights_template
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "points.csv"
    >>> _ = weights_template(["access_pct", "co2_kt"], ["residents"], path)
    >>> print(path.read_text(encoding="utf-8-sig"), end="")
    group,label,indicator,points
    residents,居民 Residents,access_pct,
    residents,居民 Residents,co2_kt,
    """
    path = Path(path)
    labels = (
        dict(groups)
        if isinstance(groups, Mapping)
        else {g: STAKEHOLDER_GROUPS.get(g, "") for g in groups}
    )
    for argument, items in (("indicators", list(indicators)), ("groups", list(labels))):
        if (
            not items
            or len(set(items)) != len(items)
            or not all(isinstance(v, str) and v.strip() for v in items)
        ):
            msg = f"{argument}={items!r} must be a non-empty list of distinct non-blank names"
            raise InputError(msg)
    if path.exists() and not overwrite:
        msg = f"{path} already exists; pass overwrite=True or choose another path"
        raise InputError(msg)
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(POINTS_CSV_COLUMNS)
        for group, label in labels.items():
            for indicator in indicators:
                writer.writerow([group, label, indicator, ""])
    return path


def weights_from_points(
    path: str | Path, *, indicators: Sequence[str] | None = None
) -> pd.DataFrame:
    r"""Read the workshop's points form: each group's 100 points -> weights.

    The CSV is in long format, one row per group and indicator, with the header::

        group,label,indicator,points

    (``label`` may be left out). Every group must give a number of points (0 allowed) to
    every indicator, and its points must add up to 100 (within 1e-6). :func:`weights_template`
    writes a blank form.

    Parameters
    ----------
    path
        The filled-in form (UTF-8, with or without byte-order mark).
    indicators
        The valid indicator names, e.g. ``list(table.columns)``; the result's columns
        follow this order. If omitted, the indicators found in the file are used, in the
        order they first appear.

    Returns
    -------
    pandas.DataFrame
        Groups (index ``group``, in file order) x indicators (columns ``indicator``);
        each row sums to 1.

    Raises
    ------
    InputError
        Naming the file, group and indicator, if points are blank, text, negative or
        infinite, if an indicator is unknown or missing for a group, if a row is repeated,
        or if a group's points do not add up to 100.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from urlink.scoring import weights_from_points
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "points.csv"
    >>> _ = path.write_text(
    ...     "group,indicator,points\n"
    ...     "residents,access_pct,60\nresidents,co2_kt,40\n"
    ...     "enterprises,access_pct,85\nenterprises,co2_kt,15\n",
    ...     encoding="utf-8",
    ... )
    >>> weights_from_points(path)  # doctest: +NORMALIZE_WHITESPACE
    indicator    access_pct  co2_kt
    group
    residents          0.60    0.40
    enterprises        0.85    0.15
    """
    path = Path(path)
    df = _read_csv(path, ("group", "indicator", "points"), optional=("label",))
    valid = _check_labels(df, path, ("group", "indicator"), ("indicator",), indicators)
    dupes = df[df.duplicated(["group", "indicator"], keep=False)]
    if not dupes.empty:
        pairs = sorted(set(zip(dupes["group"], dupes["indicator"], strict=True)))
        msg = f"{path}: rows repeated for (group, indicator) {pairs}; keep one row each"
        raise InputError(msg)
    long = df.assign(points=_parse_points(df, path))
    groups = list(dict.fromkeys(long["group"]))
    _check_point_totals(long, path, groups, valid)
    # duplicates are rejected above, so "sum" just picks each group's one value
    table = long.pivot_table(index="group", columns="indicator", values="points", aggfunc="sum")
    table = table.reindex(index=groups, columns=valid).astype(float)
    table = table.div(table.sum(axis=1), axis=0)
    table.index.name = "group"
    table.columns.name = "indicator"
    return table


def _check_labels(
    df: pd.DataFrame,
    path: Path,
    required: Sequence[str],
    indicator_columns: Sequence[str],
    indicators: Sequence[str] | None,
) -> list[str]:
    """Check for rows, blank ids and unknown indicators; return the valid indicators."""
    if df.empty:
        msg = f"{path}: the file has no rows below the header; fill in the form"
        raise InputError(msg)
    blank = sorted({int(i) + 2 for c in required for i in np.flatnonzero(df[c] == "")})
    if blank:
        msg = f"{path}: line(s) {blank} have a blank {' or '.join(required)}; fill them in"
        raise InputError(msg)
    found = list(dict.fromkeys(v for c in indicator_columns for v in df[c]))
    valid = list(indicators) if indicators is not None else found
    unknown = [c for c in found if c not in valid]
    if unknown:
        msg = f"{path}: unknown indicator(s) {unknown}; the valid indicators are {valid}"
        raise InputError(msg)
    return valid


def _parse_points(df: pd.DataFrame, path: Path) -> list[float]:
    """Parse the points column; collect every bad cell and raise once."""
    problems: list[str] = []
    points: list[float] = []
    for group, indicator, text in zip(df["group"], df["indicator"], df["points"], strict=True):
        where = f"group {group!r}, indicator {indicator!r}"
        try:
            value = float(text)
        except ValueError:
            value = math.nan
            problems.append(
                f"{where}: points are empty; write a number (0 if the group gives none)"
                if not text
                else f"{where}: points {text!r} are not a number; write a number such as 20"
            )
        else:
            if not math.isfinite(value) or value < 0:
                problems.append(f"{where}: points {text!r} must be a number >= 0")
        points.append(value)
    if problems:
        msg = f"{path}: " + "; ".join(problems)
        raise InputError(msg)
    return points


def _check_point_totals(
    long: pd.DataFrame, path: Path, groups: list[str], valid: list[str]
) -> None:
    """Every group rates every indicator, and its points add up to 100."""
    problems: list[str] = []
    for group in groups:
        have = set(long.loc[long["group"] == group, "indicator"])
        lacking = [c for c in valid if c not in have]
        if lacking:
            problems.append(
                f"group {group!r} has no row for indicator(s) {lacking}; add them "
                "(0 points if the group gives them none)"
            )
    totals = long.groupby("group", sort=False)["points"].sum()
    for name, total in totals.items():
        if abs(total - _POINTS_TOTAL) > _POINTS_TOL:
            problems.append(
                f"the points of group {name!r} add up to {total:g}, not 100; change them so "
                "that they add up to exactly 100"
            )
    if problems:
        msg = f"{path}: " + "; ".join(problems)
        raise InputError(msg)


# ------------------------------------------------------------------------------- AHP


def _most_inconsistent(a: npt.NDArray[np.float64], w: npt.NDArray[np.float64]) -> tuple[int, int]:
    """Find the judgment furthest (in log ratio) from what the derived weights imply."""
    implied = w[:, None] / w[None, :]
    dev = np.abs(np.log(a / implied))
    i, j = np.unravel_index(int(np.argmax(np.triu(dev, 1))), a.shape)
    return int(i), int(j)


def ahp_weights(matrix: pd.DataFrame, *, group: str) -> tuple[pd.Series, float]:
    """Derive weights from an AHP pairwise-comparison matrix (Saaty's eigenvector method).

    ``matrix.loc[i, j]`` says how many times more important indicator ``i`` is than ``j``
    on Saaty's 1-9 scale; the matrix must be positive with ones on the diagonal and
    reciprocal (``a_ij · a_ji = 1`` within 1e-6). The weights are the principal
    eigenvector, normalised to sum to 1. Consistency [R95][R96]:

    ``CI = (λmax - n) / (n - 1)``, ``CR = CI / RI(n)``

    with Saaty's random index RI (:data:`RANDOM_INDEX`: n = 3..8 from [R95], n = 1, 2 and
    9, 10 from Saaty 1980/1990). Matrices with n <= 2 are always consistent (CR = 0);
    rounding noise below 0 is reported as 0.

    Parameters
    ----------
    matrix
        Square matrix, rows and columns labelled with the same indicator names.
    group
        The stakeholder group whose judgments these are (named in errors).

    Returns
    -------
    tuple of (pandas.Series, float)
        Weights per indicator (named after the group, summing to 1) and the consistency
        ratio CR.

    Raises
    ------
    InputError
        If the matrix is not square, its row and column labels differ, an entry is missing,
        non-positive or not reciprocal (the cell is named), a diagonal entry is not 1,
        n > 10 (no random index), or CR > 0.10 (the group, the CR and the judgment to
        revise first are named).

    Examples
    --------
    >>> import pandas as pd
    >>> from urlink.scoring import ahp_weights
    >>> names = ["access", "co2", "cost"]
    >>> m = pd.DataFrame([[1, 3, 5], [1 / 3, 1, 3], [1 / 5, 1 / 3, 1]],
    ...                  index=names, columns=names)
    >>> w, cr = ahp_weights(m, group="residents")
    >>> w.round(3)
    access    0.637
    co2       0.258
    cost      0.105
    Name: residents, dtype: float64
    >>> round(cr, 3)
    0.033
    """
    if not isinstance(matrix, pd.DataFrame):
        msg = f"group {group!r}: matrix must be a pandas DataFrame, not {type(matrix)}"
        raise InputError(msg)
    n_rows, n_cols = matrix.shape
    if n_rows != n_cols or n_rows == 0:
        msg = (
            f"group {group!r}: the comparison matrix has shape {matrix.shape}; it must be "
            "square (one row and one column per indicator)"
        )
        raise InputError(msg)
    rows, cols = list(matrix.index), list(matrix.columns)
    if len(set(rows)) != n_rows or set(rows) != set(cols):
        msg = (
            f"group {group!r}: row labels {rows} and column labels {cols} differ; label rows "
            "and columns with the same, distinct indicator names"
        )
        raise InputError(msg)
    n = n_rows
    if n not in RANDOM_INDEX:
        msg = (
            f"group {group!r}: {n} indicators compared at once; AHP has a random index only "
            f"for n <= {max(RANDOM_INDEX)}, so group the indicators into a hierarchy"
        )
        raise InputError(msg)
    ordered = matrix.reindex(columns=rows)
    a = ordered.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    for i in range(n):
        for j in range(n):
            cell = f"group {group!r}: cell ({rows[i]!r}, {rows[j]!r}) = {ordered.iloc[i, j]!r}"
            if not math.isfinite(a[i, j]) or a[i, j] <= 0:
                msg = f"{cell} is not a positive number; use Saaty's scale 1/9 .. 9"
                raise InputError(msg)
            if i == j and abs(a[i, j] - 1) > _AHP_TOL:
                msg = f"{cell}; the diagonal must be 1 (an indicator equals itself)"
                raise InputError(msg)
    for i in range(n):
        for j in range(i + 1, n):
            if abs(a[i, j] * a[j, i] - 1) > _AHP_TOL:
                msg = (
                    f"group {group!r}: cell ({rows[i]!r}, {rows[j]!r}) = {a[i, j]:g} and "
                    f"cell ({rows[j]!r}, {rows[i]!r}) = {a[j, i]:g} are not reciprocal; "
                    f"set ({rows[j]!r}, {rows[i]!r}) to 1/{a[i, j]:g} = {1 / a[i, j]:.6g}"
                )
                raise InputError(msg)
    eigvals, eigvecs = np.linalg.eig(a)
    k = int(np.argmax(eigvals.real))
    lam = float(eigvals[k].real)
    vec = np.abs(eigvecs[:, k].real)
    w = vec / vec.sum()
    cr = 0.0 if n <= 2 else max(0.0, (lam - n) / (n - 1) / RANDOM_INDEX[n])
    if cr > CR_THRESHOLD:
        i, j = _most_inconsistent(a, w)
        msg = (
            f"group {group!r}: the AHP judgments are inconsistent, CR = {cr:.3f} > "
            f"{CR_THRESHOLD:.2f} (λmax = {lam:.3f}, n = {n}); ask the group to revise its "
            f"comparisons, starting with ({rows[i]!r}, {rows[j]!r}) = {a[i, j]:.3g}, which "
            f"its other judgments put near {w[i] / w[j]:.3g}"
        )
        raise InputError(msg)
    return pd.Series(w, index=pd.Index(rows), name=group), cr


def ahp_from_csv(
    path: str | Path, *, indicators: Sequence[str] | None = None
) -> dict[str, pd.Series]:
    r"""Read AHP pairwise comparisons for several groups and derive each group's weights.

    The CSV has the header (exactly)::

        group,row,col,value

    with one line per group and pair of indicators: ``value`` says how many times more
    important ``row`` is than ``col`` (Saaty's 1-9 scale; ``1/3`` or ``0.333`` for the
    inverse). Give each pair once, in either orientation (normally the upper triangle);
    the reciprocal is filled in and the diagonal is 1. Each group's matrix goes through
    :func:`ahp_weights`, so a CR above 0.10 is an error.

    Parameters
    ----------
    path
        The CSV file (UTF-8).
    indicators
        The valid indicator names; the weights follow this order. If omitted, the names
        found in the file are used, in the order they first appear.

    Returns
    -------
    dict
        Group -> weights (Series summing to 1), in file order. Each Series carries its
        consistency ratio in ``.attrs["consistency_ratio"]``.

    Raises
    ------
    InputError
        Naming the file and group, for unknown indicators, missing or repeated pairs,
        values that are not positive numbers, and inconsistent judgments.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from urlink.scoring import ahp_from_csv
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "ahp.csv"
    >>> _ = path.write_text(
    ...     "group,row,col,value\n"
    ...     "farmers_coop,access,co2,3\nfarmers_coop,access,cost,5\n"
    ...     "farmers_coop,co2,cost,3\n",
    ...     encoding="utf-8",
    ... )
    >>> ahp_from_csv(path)["farmers_coop"].round(3)
    access    0.637
    co2       0.258
    cost      0.105
    Name: farmers_coop, dtype: float64
    """
    path = Path(path)
    df = _read_csv(path, AHP_CSV_COLUMNS)
    valid = _check_labels(df, path, ("group", "row", "col"), ("row", "col"), indicators)
    result: dict[str, pd.Series] = {}
    for group in dict.fromkeys(df["group"]):
        matrix = _ahp_matrix(df[df["group"] == group], path=path, group=group, valid=valid)
        try:
            weights, cr = ahp_weights(matrix, group=group)
        except InputError as err:
            msg = f"{path}: {err}"
            raise InputError(msg) from err
        weights.attrs["consistency_ratio"] = cr
        logger.info("AHP weights of %s: CR = %.3f", group, cr)
        result[group] = weights
    return result


def _ahp_matrix(rows: pd.DataFrame, *, path: Path, group: str, valid: list[str]) -> pd.DataFrame:
    """Build one group's full reciprocal matrix from its lines of the AHP file."""
    a = pd.DataFrame(np.eye(len(valid)), index=valid, columns=valid)
    seen: set[frozenset[str]] = set()
    lines = rows.index + 2
    for line, r, c, text in zip(lines, rows["row"], rows["col"], rows["value"], strict=True):
        where = f"{path}, line {line}: group {group!r}, ({r!r}, {c!r})"
        try:
            value = _parse_number(text)
        except (ValueError, ZeroDivisionError):
            value = math.nan
        if not math.isfinite(value) or value <= 0:
            msg = f"{where}: value {text!r} is not a positive number; use 1/9 .. 9"
            raise InputError(msg)
        if r == c:
            if abs(value - 1) > _AHP_TOL:
                msg = f"{where}: value {text!r} must be 1 on the diagonal (or leave it out)"
                raise InputError(msg)
            continue
        pair = frozenset((r, c))
        if pair in seen:
            earlier = float(a.loc[c, r])
            if abs(earlier * value - 1) > _AHP_TOL:
                msg = (
                    f"{where}: the matrix is not reciprocal: value {text!r} here, but "
                    f"({c!r}, {r!r}) = {earlier:g} on an earlier line, and a_ij x a_ji must "
                    "be 1; keep one line per pair (the reciprocal is filled in)"
                )
            else:
                msg = f"{where}: this pair is given twice; keep one line per pair"
            raise InputError(msg)
        seen.add(pair)
        a.loc[r, c] = value
        a.loc[c, r] = 1 / value
    missing = [
        (valid[i], valid[j])
        for i in range(len(valid))
        for j in range(i + 1, len(valid))
        if frozenset((valid[i], valid[j])) not in seen
    ]
    if missing:
        msg = (
            f"{path}: group {group!r} has no comparison for pair(s) {missing}; add one "
            "line per pair"
        )
        raise InputError(msg)
    return a


def pooled_weights(group_weights: pd.DataFrame, *, how: Literal["mean"] = "mean") -> pd.Series:
    """Pool the groups' weights into one vector, as a summary only.

    ``how="mean"``: the arithmetic mean of the groups' (normalised) weight vectors. This is
    aggregation of individual *priorities* (AIP), right when groups act as separate
    individuals; aggregation of individual *judgments* (AIJ) instead takes the element-wise
    geometric mean of the groups' AHP matrices before deriving weights, right when a group
    acts as one unit (Forman & Peniwati 1998) [R97].

    urlink keeps stakeholder groups separate: averaging conflicting weights hides the
    conflict and has been called "theoretically impossible" (Chadwick 1971, in [R109]). Run
    :func:`smaa` per group (``around=group_weights.loc[g]``) and report the pooled ranking
    only beside the groups' own.

    Parameters
    ----------
    group_weights
        Groups x indicators, non-negative (each row is divided by its sum), e.g. from
        :func:`weights_from_points`.
    how
        Only ``"mean"``.

    Returns
    -------
    pandas.Series
        Pooled weight per indicator, named ``"pooled"``, summing to 1.

    Raises
    ------
    InputError
        If ``how`` is unknown, the frame is empty, or a row has negative, missing or only
        zero weights.

    Examples
    --------
    >>> import pandas as pd
    >>> from urlink.scoring import pooled_weights
    >>> gw = pd.DataFrame({"access": [0.6, 0.2], "co2": [0.4, 0.8]},
    ...                   index=["residents", "enterprises"])
    >>> pooled_weights(gw)
    access    0.4
    co2       0.6
    Name: pooled, dtype: float64
    """
    _check_choice(how, ("mean",), "how")
    if not isinstance(group_weights, pd.DataFrame) or group_weights.empty:
        msg = "group_weights must be a non-empty DataFrame of groups x indicators"
        raise InputError(msg)
    rows = [
        _check_weights(row, group_weights.columns, argument=f"group_weights row {g!r}")
        for g, row in group_weights.iterrows()
    ]
    pooled = np.mean(rows, axis=0)
    return pd.Series(pooled / pooled.sum(), index=group_weights.columns, name="pooled")


# ------------------------------------------------------------------------------ SMAA


@dataclass(frozen=True, slots=True, eq=False)
class SmaaResult:
    """Result of :func:`smaa` (SMAA-2 descriptive measures [R101]-[R103]).

    Attributes
    ----------
    acceptability
        Rank acceptability indices ``b_i^r``: strategies x ranks 1..m, the share of weight
        samples that give strategy ``i`` rank ``r``. Every row and every column sums to 1.
    first_rank
        ``b_i^1``, the first-rank acceptability (named ``"first_rank"``).
    central_weights
        Strategies x indicators: the mean weight vector of the samples in which the
        strategy ranks first (its "typical supporter"); NaN if it is never first.
    confidence
        SMAA-2 confidence factor: 1.0 if the strategy ranks first when scored with its own
        central weights, else 0.0; NaN if it is never first. With exact performance values
        (no sampled uncertainty in the table) it can only be 0 or 1.
    n_samples, seed, method
        The inputs, for the record.
    """

    acceptability: pd.DataFrame
    first_rank: pd.Series
    central_weights: pd.DataFrame
    confidence: pd.Series
    n_samples: int
    seed: int
    method: str


def _dirichlet_alpha(
    indicators: pd.Index, around: pd.Series | None, concentration: float
) -> npt.NDArray[np.float64]:
    if (
        isinstance(concentration, bool)
        or not (isinstance(concentration, (int, float)) and math.isfinite(concentration))
        or concentration <= 0
    ):
        msg = f"concentration={concentration!r} must be a finite number > 0 (e.g. 50.0)"
        raise InputError(msg)
    if around is None:
        return np.ones(len(indicators))
    return float(concentration) * _check_weights(around, indicators, argument="around")


def _draw(
    rng: np.random.Generator, alpha: npt.NDArray[np.float64], size: int
) -> npt.NDArray[np.float64]:
    """Dirichlet(alpha) samples; indicators with alpha = 0 always get weight 0."""
    positive = alpha > 0
    w = np.zeros((size, len(alpha)))
    w[:, positive] = rng.dirichlet(alpha[positive], size=size)
    return w


def _check_count(value: object, argument: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        msg = f"{argument}={value!r} must be an integer >= {minimum}"
        raise InputError(msg)
    return int(value)


def sample_weights(
    indicators: Sequence[str],
    *,
    n_samples: int = 10_000,
    seed: int = 0,
    around: pd.Series | None = None,
    concentration: float = 50.0,
) -> pd.DataFrame:
    """Draw the weight vectors that :func:`smaa` uses, for inspection or plotting.

    Without ``around``, weights are uniform on the simplex: Dirichlet(1, ..., 1), i.e.
    every weight vector with non-negative entries summing to 1 is equally likely [R102].
    With ``around`` (e.g. one group's workshop weights ``a``, divided by their sum), they
    are Dirichlet(``concentration`` x ``a``): the mean is ``a`` and the spread shrinks as
    ``concentration`` grows (variance of ``w_j`` = ``a_j (1 - a_j) / (concentration + 1)``;
    at 50 a weight of 0.3 varies by about ±0.06). Indicators with ``a_j = 0`` always get
    weight 0. The same ``seed`` gives the same samples as :func:`smaa`.

    Parameters
    ----------
    indicators
        Indicator names (columns of the result).
    n_samples
        Number of weight vectors.
    seed
        Root seed (:class:`numpy.random.SeedSequence`, one child per chunk of 2,000).
    around
        Centre of the distribution (weights per indicator), or None for uniform.
    concentration
        Dirichlet concentration around ``around`` (ignored without it).

    Returns
    -------
    pandas.DataFrame
        Samples x indicators, each row summing to 1.

    Raises
    ------
    InputError
        If ``n_samples``, ``seed``, ``around`` or ``concentration`` is invalid.

    Examples
    --------
    >>> import pandas as pd
    >>> from urlink.scoring import sample_weights
    >>> w = sample_weights(["access", "co2"], n_samples=4000,
    ...                    around=pd.Series({"access": 0.7, "co2": 0.3}))
    >>> w.mean().round(2)
    access    0.7
    co2       0.3
    dtype: float64
    """
    cols = pd.Index(list(indicators))
    n_samples = _check_count(n_samples, "n_samples", 1)
    seed = _check_count(seed, "seed", 0)
    alpha = _dirichlet_alpha(cols, around, concentration)
    # drawn chunk by chunk exactly as smaa does, each chunk from its own seed
    w = np.vstack(
        [_draw(np.random.default_rng(ss), alpha, size) for ss, size in _chunks(seed, n_samples)]
    )
    return pd.DataFrame(w, columns=cols)


def _chunks(seed: int, n_samples: int) -> list[tuple[np.random.SeedSequence, int]]:
    """Seeds and sizes of the sample chunks: chunk k draws from the k-th spawned seed.

    The children depend only on ``seed`` and ``k``, so the samples are the same whether the
    chunks are drawn in one process, in several, or on a cluster.
    """
    sizes = [min(_CHUNK, n_samples - s) for s in range(0, n_samples, _CHUNK)]
    return list(zip(np.random.SeedSequence(seed).spawn(len(sizes)), sizes, strict=True))


@dataclass(frozen=True, slots=True, eq=False)
class _SmaaJob:
    """What every SMAA chunk needs (sent once to each worker)."""

    values: npt.NDArray[np.float64]
    maximise: npt.NDArray[np.bool_]
    alpha: npt.NDArray[np.float64]
    batch: Callable[..., npt.NDArray[np.float64]] | None
    func: ScoringMethod
    table: pd.DataFrame
    directions: Mapping[str, Direction]

    def scores(self, w: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """Scores of every alternative (columns) under each weight vector (rows)."""
        if self.batch is not None:
            return self.batch(self.values, w, self.maximise)
        return _loop_scores(self.func, self.table, self.directions, w)


def _smaa_chunk(
    job: _SmaaJob, chunk: tuple[np.random.SeedSequence, int]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """Rank counts and first-rank weight sums of one chunk of samples (a pure function)."""
    seed, size = chunk
    m = len(job.values)
    positions = np.arange(m)
    w = _draw(np.random.default_rng(seed), job.alpha, size)
    order = _rank_order(job.scores(w))  # order[s, r] = alternative at rank r + 1
    counts = np.bincount((order * m + positions).ravel(), minlength=m * m).astype(np.int64)
    winners = (order[:, :1] == positions).astype(float)  # samples x alternatives
    return counts, winners.T @ w


def _rank_order(scores: npt.NDArray[np.float64]) -> npt.NDArray[np.intp]:
    """Per row, the alternatives from best to worst; ties go to the earlier alternative."""
    if not np.isfinite(scores).all():
        msg = "the scoring method returned missing or infinite scores"
        raise UrlinkError(msg)
    return np.argsort(-np.round(scores, _TIE_DECIMALS), axis=1, kind="stable")


def _loop_scores(
    func: ScoringMethod,
    table: pd.DataFrame,
    directions: Mapping[str, Direction],
    weights: npt.NDArray[np.float64],
) -> npt.NDArray[np.float64]:
    """Score one weight vector at a time (methods registered without a batch form)."""
    out = np.empty((len(weights), len(table)))
    for s, w in enumerate(weights):
        result = func(table, pd.Series(w, index=table.columns), directions)
        out[s] = result.reindex(table.index).to_numpy(dtype=float)
    return out


def smaa(
    table: pd.DataFrame,
    directions: Mapping[str, Direction],
    *,
    method: str = "weighted_sum",
    n_samples: int = 10_000,
    seed: int = 0,
    around: pd.Series | None = None,
    concentration: float = 50.0,
    workers: int | None = 1,
    scheduler: Any = None,
) -> SmaaResult:
    """Stochastic multicriteria acceptability analysis (SMAA-2) over the weight space.

    Weights are sampled (see :func:`sample_weights`): uniformly on the simplex, i.e.
    Dirichlet(1, ..., 1), when nothing is known about them, or Dirichlet(``concentration``
    x ``around``) around one stakeholder group's weights [R101]-[R103]. Every sample ranks
    all strategies with ``method``; the rank acceptability ``b_i^r`` is the share of samples
    in which strategy ``i`` gets rank ``r``. The performance table itself is taken as exact.

    The computation is vectorised: for ``"weighted_sum"`` the scores of a chunk of samples
    are one matrix product ``W @ N.T`` (samples x alternatives), for ``"topsis"`` the
    distances S+ and S- are matrix products of the squared weights with the squared
    distances to the ideal and anti-ideal. Samples are processed in chunks of 2,000 to
    bound memory; chunk ``k`` draws from the ``k``-th child of
    ``numpy.random.SeedSequence(seed)``, so chunks can be scored in any process. A method
    registered without a batch form (:func:`register_method`) is
    called once per sample instead (correct, slower).

    Ties: scores equal to 12 decimals are ranked by the strategies' order in ``table``
    (the earlier one gets the better rank), so every sample gives a strict ranking and every
    rank is held by exactly one strategy.

    Parameters
    ----------
    table
        Performance table, strategies x indicators.
    directions
        ``"max"`` or ``"min"`` per indicator.
    method
        A name in :data:`SCORING_METHODS`.
    n_samples
        Number of weight samples (the standard error of an acceptability ``b`` is
        ``sqrt(b (1 - b) / n_samples)``, at most 0.005 for 10,000).
    seed
        Root seed (:class:`numpy.random.SeedSequence`); the same inputs and seed give the same
        result.
    around
        Centre weights (e.g. a row of :func:`weights_from_points`), or None for uniform.
    concentration
        Dirichlet concentration around ``around`` (ignored without it); larger = tighter.
    workers, scheduler
        Score the sample chunks over local processes or a Dask cluster (see
        :func:`urlink.parallel.map_chunks`); each chunk of 2,000 samples draws from its own
        seed, spawned from ``seed``, so the result does not depend on them.

    Returns
    -------
    SmaaResult
        Rank acceptabilities, first-rank acceptability, central weights and confidence
        factors.

    Raises
    ------
    InputError
        If the table, directions, method, ``around`` or the sampling settings are invalid.

    Examples
    --------
    >>> import pandas as pd
    >>> from urlink.scoring import smaa
    >>> table = pd.DataFrame({"access_pct": [60.0, 90.0, 50.0], "co2_kt": [4.0, 1.0, 5.0]},
    ...                      index=["bus", "rail", "road"])
    >>> res = smaa(table, {"access_pct": "max", "co2_kt": "min"}, n_samples=1000)
    >>> res.first_rank
    bus     0.0
    rail    1.0
    road    0.0
    Name: first_rank, dtype: float64
    >>> res.acceptability.loc["bus"].tolist()
    [0.0, 1.0, 0.0]
    """
    values, maximise = _check_table(table, directions)
    func = _get_method(method)
    batch = _BATCH_METHODS.get(method)
    n_samples = _check_count(n_samples, "n_samples", 1)
    seed = _check_count(seed, "seed", 0)
    alpha = _dirichlet_alpha(table.columns, around, concentration)
    m, n = values.shape
    if batch is None:
        logger.info(
            "scoring method %r has no batch form; scoring %s samples one by one",
            method,
            f"{n_samples:,}",
        )

    job = _SmaaJob(
        values=values,
        maximise=maximise,
        alpha=alpha,
        batch=batch,
        func=func,
        table=table,
        directions=directions,
    )
    counts = np.zeros(m * m, dtype=np.int64)
    weight_sums = np.zeros((m, n))
    # summed in chunk order, so the result is the same for any number of workers
    for c, ws in map_chunks(
        _smaa_chunk,
        _chunks(seed, n_samples),
        shared=job,
        workers=workers,
        scheduler=scheduler,
        per_task="auto",  # chunks are small: a few tasks per worker, not one per chunk
    ):
        counts += c
        weight_sums += ws
    positions = np.arange(m)
    scores_of = job.scores
    b = counts.reshape(m, m) / n_samples
    first = counts.reshape(m, m)[:, 0]
    with np.errstate(invalid="ignore", divide="ignore"):
        central = np.where(first[:, None] > 0, weight_sums / first[:, None], np.nan)
    confidence = np.full(m, np.nan)
    ever_first = first > 0
    if ever_first.any():
        winners_at_centre = _rank_order(scores_of(central[ever_first]))[:, 0]
        confidence[ever_first] = (winners_at_centre == positions[ever_first]).astype(float)
    ranks = pd.RangeIndex(1, m + 1, name="rank")
    acceptability = pd.DataFrame(b, index=table.index, columns=ranks)
    logger.info(
        "SMAA (%s): %s samples, %d strategies, %d indicators", method, f"{n_samples:,}", m, n
    )
    return SmaaResult(
        acceptability=acceptability,
        first_rank=acceptability[1].rename("first_rank"),
        central_weights=pd.DataFrame(central, index=table.index, columns=table.columns),
        confidence=pd.Series(confidence, index=table.index, name="confidence"),
        n_samples=n_samples,
        seed=seed,
        method=method,
    )
