"""Scoring methods: normalisation, weighted sum, TOPSIS, the method registry, ranks."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Literal, Protocol, TypeVar

import numpy as np
import pandas as pd

from urlink.errors import InputError, UrlinkError
from urlink.registry import Registry

if TYPE_CHECKING:
    import numpy.typing as npt

logger = logging.getLogger(__name__)

Direction = Literal["max", "min"]
DIRECTIONS: tuple[Direction, ...] = ("max", "min")
"""Allowed values of ``directions``: ``"max"`` (more is better), ``"min"`` (less is better)."""

Normalisation = Literal["minmax", "vector"]
NORMALISATIONS: tuple[Normalisation, ...] = ("minmax", "vector")
"""Allowed ``method`` values of :func:`normalise`."""

_TIE_DECIMALS = 12  # scores equal to 12 decimals are ties (rounding noise of BLAS, etc.)


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

SCORING_METHODS: Registry[ScoringMethod] = Registry(
    "scoring method", group="urlink.scoring_methods"
)
"""Registered scoring methods, name -> function (see :func:`register_method`; plugins use
the entry-point group ``urlink.scoring_methods``, a ``batch`` attribute on the function
being its vectorised form)."""

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
    urlink.registry.RegistrationError
        If the name is empty or taken (a programming error, not an input error).

    Examples
    --------
    >>> from urlink.scoring import SCORING_METHODS, register_method
    >>> @register_method("best_access")
    ... def best_access(table, weights, directions):
    ...     return table["access_pct"].rename("best_access")
    >>> "best_access" in SCORING_METHODS
    True
    >>> SCORING_METHODS.unregister("best_access")
    """

    def decorator(func: _M) -> _M:
        SCORING_METHODS.register(name, func)
        if batch is not None:
            _BATCH_METHODS[name] = batch
        return func

    return decorator


def batch_method(method: str) -> BatchScoringMethod | None:
    """Return the vectorised form of a registered scoring method, if it has one.

    Parameters
    ----------
    method
        A registered name.

    Returns
    -------
    callable or None
    """
    found = _BATCH_METHODS.get(method)
    if found is None and method in SCORING_METHODS:
        found = getattr(SCORING_METHODS[method], "batch", None)
    return found


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
    if not isinstance(method, str) or method not in SCORING_METHODS:
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
