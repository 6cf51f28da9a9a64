"""Scoring methods: normalisation, weighted sum, TOPSIS, the method registry, ranks."""

from __future__ import annotations

import inspect
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

Normalisation = Literal["minmax", "vector", "interval"]
NORMALISATIONS: tuple[Normalisation, ...] = ("minmax", "vector", "interval")
"""Allowed ``method`` values of :func:`normalise`."""

ScoringNormalisation = Literal["interval", "minmax"]
SCORING_NORMALISATIONS: tuple[ScoringNormalisation, ...] = ("interval", "minmax")
"""How the weighted sum, TOPSIS and SMAA put indicators on one scale (``[scoring]
normalisation``): ``"interval"`` against fixed reference values (the default), or
``"minmax"`` over the strategies being compared."""

References = Mapping[str, tuple[float, float]]
"""Reference values per indicator, ``(worst, best)`` (interval normalisation)."""

DEFAULT_REFERENCE_BAND = 0.10
"""Default half-width of the reference interval, as a share of the baseline value.

Without planner-set references, an indicator's interval is the baseline ± 10 % of it:
``worst = b - 0.1 |b|`` and ``best = b + 0.1 |b|`` (reversed for ``"min"``), so the
baseline scores 0.5 and a strategy that improves the indicator by 10 % of its baseline
scores 1 on it. Every indicator is then on the same scale of *relative change*: a weight
says how much a 1 % improvement of one indicator is worth against a 1 % improvement of
another, as in the distance-to-target normalisation of the OECD's localised SDG indicators
(domain reference R40), with the baseline as the point of departure. The width is a
convention, not a measurement: for the weighted sum it does not change any ranking (every
deviation from the baseline is divided by the same factor); for TOPSIS it sets how far the
fixed ideal and anti-ideal lie. Values beyond the interval are not clipped, so a large
effect is never cut down to the size of a small one."""

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


def _check_references(
    references: object, columns: pd.Index, maximise: npt.NDArray[np.bool_]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Return the worst and best reference value per column, checked."""
    if not isinstance(references, Mapping):
        msg = (
            f"references must be a mapping indicator -> (worst, best), not "
            f"{type(references).__name__}"
        )
        raise InputError(msg)
    missing = [c for c in columns if c not in references]
    if missing:
        msg = (
            f"references have no (worst, best) values for indicator(s) {missing}; give them "
            "(e.g. [scoring.references] in the scenario) or use default_references"
        )
        raise InputError(msg)
    worst = np.empty(len(columns))
    best = np.empty(len(columns))
    for j, c in enumerate(columns):
        pair = references[c]
        try:
            lo, hi = (float(v) for v in pair)
        except (TypeError, ValueError):
            msg = f"references[{c!r}] = {pair!r} must be two numbers [worst, best]"
            raise InputError(msg) from None
        if not (math.isfinite(lo) and math.isfinite(hi)) or lo == hi:
            msg = (
                f"references[{c!r}] = {pair!r} must be two different finite numbers [worst, best]"
            )
            raise InputError(msg)
        if (hi > lo) != bool(maximise[j]):
            way = "more" if maximise[j] else "less"
            msg = (
                f"references[{c!r}] = [worst={lo!r}, best={hi!r}] contradicts the "
                f"indicator's direction ({way} is better); swap the two values"
            )
            raise InputError(msg)
        worst[j], best[j] = lo, hi
    return worst, best


def _interval(
    values: npt.NDArray[np.float64],
    worst: npt.NDArray[np.float64],
    best: npt.NDArray[np.float64],
) -> npt.NDArray[np.float64]:
    return (values - worst) / (best - worst)


def default_references(
    table: pd.DataFrame,
    directions: Mapping[str, Direction],
    *,
    baseline: str = "baseline",
    band: float = DEFAULT_REFERENCE_BAND,
    references: References | None = None,
) -> pd.DataFrame:
    """Return the reference values (worst, best) of every indicator (interval normalisation).

    Planner-set values (``references``, e.g. ``[scoring.references]``) are used as given;
    every other indicator gets the baseline ± ``band`` x |baseline|
    (:data:`DEFAULT_REFERENCE_BAND`), oriented by its direction. An indicator whose
    baseline is 0 (or missing) has no default: its row is NaN and the scoring leaves it
    out unless the planner sets its references.

    Parameters
    ----------
    table
        Performance table, strategies x indicators, with a row ``baseline``.
    directions
        ``"max"`` or ``"min"`` per indicator.
    baseline
        Name of the baseline row.
    band
        Half-width of the default interval as a share of the baseline (> 0).
    references
        Planner-set ``(worst, best)`` per indicator (any subset).

    Returns
    -------
    pandas.DataFrame
        Indexed by indicator (index named ``indicator``): ``worst``, ``best``, ``source``
        (``"scenario"`` or ``"baseline ± 10 %"``; ``"none: baseline is 0"`` where there
        is no default).

    Raises
    ------
    InputError
        If ``band`` is not a positive number, the baseline row is missing while a default
        is needed, or a planner-set pair is invalid.

    Examples
    --------
    >>> import pandas as pd
    >>> table = pd.DataFrame({"access": [0.5, 0.6], "co2": [200.0, 180.0]},
    ...                      index=["baseline", "bus"])
    >>> default_references(table, {"access": "max", "co2": "min"},
    ...                    references={"access": (0.0, 1.0)}).reset_index()
      indicator  worst   best           source
    0    access    0.0    1.0         scenario
    1       co2  220.0  180.0  baseline ± 10 %
    """
    if isinstance(band, bool) or not (
        isinstance(band, (int, float)) and math.isfinite(band) and band > 0
    ):
        msg = f"band={band!r} must be a positive number (e.g. {DEFAULT_REFERENCE_BAND})"
        raise InputError(msg)
    given = dict(references or {})
    unknown = sorted(set(given) - set(table.columns))
    rows: dict[str, tuple[float, float, str]] = {}
    for c in table.columns:
        if directions.get(c) not in DIRECTIONS:
            msg = f"directions has no valid entry for indicator {c!r}; use one of {DIRECTIONS}"
            raise InputError(msg)
        maximise = directions[c] == "max"
        if c in given:
            w, b = _check_references({c: given[c]}, pd.Index([c]), np.array([maximise]))
            rows[c] = (float(w[0]), float(b[0]), "scenario")
            continue
        if baseline not in table.index:
            msg = (
                f"table has no row {baseline!r} to derive default references from; give "
                f"references for {c!r} or name the baseline row"
            )
            raise InputError(msg)
        base = float(pd.to_numeric(table[c]).loc[baseline])
        if not math.isfinite(base) or base == 0:
            rows[c] = (np.nan, np.nan, "none: baseline is 0")
            continue
        half = band * abs(base)
        lo, hi = (base - half, base + half) if maximise else (base + half, base - half)
        rows[c] = (lo, hi, f"baseline ± {100 * band:g} %")
    if unknown:
        logger.info("references for indicators not scored are ignored: %s", unknown)
    out = pd.DataFrame.from_dict(rows, orient="index", columns=["worst", "best", "source"])
    out.index.name = "indicator"
    return out


def references_of(frame: pd.DataFrame) -> dict[str, tuple[float, float]]:
    """Turn a :func:`default_references` table into a ``references`` mapping.

    Parameters
    ----------
    frame
        ``worst`` and ``best`` per indicator; rows with NaN are left out.

    Returns
    -------
    dict
        Indicator -> ``(worst, best)``.
    """
    ok = frame[["worst", "best"]].notna().all(axis=1)
    worst = frame.loc[ok, "worst"].astype(float)
    best = frame.loc[ok, "best"].astype(float)
    return {str(c): (float(worst[c]), float(best[c])) for c in worst.index}


def normalise(
    table: pd.DataFrame,
    directions: Mapping[str, Direction],
    *,
    method: Normalisation = "minmax",
    references: References | None = None,
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

    ``"interval"`` (against fixed references, OECD-style distance to target [R40]):
    ``r = (x - worst) / (best - worst)`` with the planner's ``references`` (or
    :func:`default_references`): 0 = the worst reference, 1 = the best, not clipped. A
    strategy's value depends only on its own performance, so an effect five times smaller
    scores five times less above the baseline, whatever the other strategies do. Min-max
    cannot do that: when only one strategy moves an indicator, any change maps to 0 or 1.

    Parameters
    ----------
    table
        Performance table, strategies x indicators, no missing values.
    directions
        ``"max"`` or ``"min"`` for every column of ``table`` (extra keys are ignored).
    method
        ``"minmax"``, ``"vector"`` or ``"interval"``.
    references
        ``(worst, best)`` per indicator; needed by ``"interval"`` only.

    Returns
    -------
    pandas.DataFrame
        Same index and columns as ``table``.

    Raises
    ------
    InputError
        If the table has missing or non-numeric values, a direction is missing or invalid,
        ``method`` is unknown, or the references are missing or invalid.

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
    >>> normalise(table, {"access_pct": "max", "co2_kt": "min"}, method="interval",
    ...           references={"access_pct": (0, 100), "co2_kt": (10, 0)})
          access_pct  co2_kt
    road         0.2     0.2
    bus          0.6     0.6
    """
    _check_choice(method, NORMALISATIONS, "method")
    values, maximise = _check_table(table, directions)
    if method == "interval":
        worst, best = _check_references(references, table.columns, maximise)
        out = _interval(values, worst, best)
    else:
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


def _weighted_sum_interval_batch(
    r: npt.NDArray[np.float64],
    weights: npt.NDArray[np.float64],
    maximise: npt.NDArray[np.bool_],
    /,
) -> npt.NDArray[np.float64]:
    return weights @ r.T


def _topsis_interval_batch(
    r: npt.NDArray[np.float64],
    weights: npt.NDArray[np.float64],
    maximise: npt.NDArray[np.bool_],
    /,
) -> npt.NDArray[np.float64]:
    # fixed ideal r* = 1 (the best reference) and anti-ideal r- = 0 (the worst)
    w2 = weights**2
    return _closeness(np.sqrt(w2 @ ((r - 1.0) ** 2).T), np.sqrt(w2 @ (r**2).T))


_INTERVAL_BATCH: dict[str, BatchScoringMethod] = {
    "weighted_sum": _weighted_sum_interval_batch,
    "topsis": _topsis_interval_batch,
}
"""Batch forms on interval-normalised values (oriented: 1 = best reference)."""


def interval_batch_method(method: str) -> BatchScoringMethod | None:
    """Return the batch form of a method on interval-normalised values, if it has one.

    Parameters
    ----------
    method
        A registered name.

    Returns
    -------
    callable or None
        ``batch(r, weights, maximise)`` with ``r`` from ``normalise(...,
        method="interval")``.
    """
    return _INTERVAL_BATCH.get(method)


def accepts_references(method: str) -> bool:
    """Whether a registered scoring method takes a ``references`` keyword.

    Parameters
    ----------
    method
        A registered name.

    Returns
    -------
    bool
    """
    func = _get_method(method)
    try:
        params = inspect.signature(func).parameters
    except (TypeError, ValueError):  # pragma: no cover - builtins without a signature
        return False
    return "references" in params or any(
        p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()
    )


@register_method("weighted_sum", batch=_weighted_sum_batch)
def weighted_sum(
    table: pd.DataFrame,
    weights: pd.Series,
    directions: Mapping[str, Direction],
    *,
    references: References | None = None,
) -> pd.Series:
    """Score strategies by simple additive weighting (SAW/WSM) [R94].

    ``S_a = Σ_j w_j r_aj`` with ``r`` the normalised table (:func:`normalise`, 1 = best)
    and the weights divided by their sum. Without ``references``, ``r`` is min-max
    normalised over the strategies (``0 <= S_a <= 1``); with them, it is interval
    normalised against them (``"interval"``: 0 = worst, 1 = best reference, not clipped).

    Parameters
    ----------
    table
        Performance table, strategies x indicators.
    weights
        Non-negative weight per indicator (divided by their sum).
    directions
        ``"max"`` or ``"min"`` per indicator.
    references
        ``(worst, best)`` per indicator for interval normalisation; None: min-max.

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
    if references is None:
        r = _minmax(values, maximise)
    else:
        r = _interval(values, *_check_references(references, table.columns, maximise))
    return pd.Series(r @ w, index=table.index, name="weighted_sum")


@register_method("topsis", batch=_topsis_batch)
def topsis(
    table: pd.DataFrame,
    weights: pd.Series,
    directions: Mapping[str, Direction],
    *,
    references: References | None = None,
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

    With ``references``, step 1 is interval normalisation (:func:`normalise`,
    ``"interval"``) and the ideal and anti-ideal are fixed: the best (r = 1) and worst
    (r = 0) reference values, so a strategy's closeness does not depend on the others.

    Parameters
    ----------
    table
        Performance table, strategies x indicators.
    weights
        Non-negative weight per indicator (divided by their sum).
    directions
        ``"max"`` or ``"min"`` per indicator.
    references
        ``(worst, best)`` per indicator: fixed anti-ideal and ideal; None: vector
        normalisation and the ideal and anti-ideal of the strategies compared.

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
    if references is not None:
        r = _interval(values, *_check_references(references, table.columns, maximise))
        closeness = _topsis_interval_batch(r, w[None, :], maximise)[0]
        return pd.Series(closeness, index=table.index, name="topsis")
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
    references: References | None = None,
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
    references
        ``(worst, best)`` per indicator: interval normalisation (the method must take a
        ``references`` keyword, as the built-in ones do); None: the method's own
        normalisation over the strategies.

    Returns
    -------
    pandas.Series
        Score per strategy, indexed like ``table`` and named after the method.

    Raises
    ------
    InputError
        If the method is unknown, does not take references when given, or the inputs are
        invalid.
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
    if references is None:
        result = func(table, weights, directions)
    else:
        if not accepts_references(method):
            msg = (
                f"scoring method {method!r} does not take reference values; use "
                '[scoring] normalisation = "minmax" with it, or add a references keyword'
            )
            raise InputError(msg)
        result = func(table, weights, directions, references=references)  # type: ignore[call-arg]
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
