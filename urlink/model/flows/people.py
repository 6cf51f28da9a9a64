"""People flows (commuting, visits): gravity models with four constraints, and radiation.

Every model here is registered for ``"people"`` and shares one signature::

    model(zones, cost, *, params: PeopleParams) -> flow table

``zones`` is indexed by zone id and holds ``production`` (O_i, trips/day leaving zone i),
``attraction`` (D_j, any non-negative mass; persons/day where a model constrains columns)
and ``population`` (radiation only). ``cost`` is an origin x destination DataFrame of travel
times in minutes labelled by the same ids; NaN (or +inf) marks an unreachable pair, which
never carries flow. Extra rows or columns in ``cost`` are ignored.

Gravity (Wilson family [R46][R47]), with deterrence f(c) = exp(-beta c) (``"exp"``, beta per
minute) or f(c) = max(c, c_min)^(-beta) (``"power"``, c_min = ``params.min_cost_min``):

- ``gravity_unconstrained``: T_ij = k O_i D_j f(c_ij), with the single constant k chosen
  so that sum_ij T_ij = sum_i O_i (the total is conserved; rows and columns are not).
- ``gravity_production``: T_ij = A_i O_i D_j f(c_ij), A_i = 1 / sum_j D_j f(c_ij), so
  every row sums to O_i.
- ``gravity_attraction``: T_ij = B_j O_i D_j f(c_ij), B_j = 1 / sum_i O_i f(c_ij), so
  every column sums to D_j.
- ``gravity_doubly``: T_ij = A_i O_i B_j D_j f(c_ij), with A and B found by Furness
  (iterative proportional fitting) balancing until the largest relative row or column
  error is at most ``params.tol``. Needs sum(D) = sum(O).

Radiation (Simini et al. 2012 [R50]): with m_i = n_i = population,

    T_ij = T_i m_i n_j / ((m_i + s_ij) (m_i + n_j + s_ij)),   T_i = O_i,

where s_ij is the population of the zones other than i and j whose cost from i is strictly
less than c_ij. Ties (destinations at exactly the same cost from i) form one shell that
absorbs m_i g / ((m_i + s)(m_i + s + g)) of the trips, g the shell's population, split in
proportion to n_j: T_ij = T_i m_i n_j / ((m_i + s_ij)(m_i + s_ij + g_ij)). Without ties
(g_ij = n_j) this is Simini's formula; with ties it keeps the row sums exact, which
applying the strict s_ij to each tied zone alone would not (it double counts the shell).
With ``params.radiation_normalise`` (default) rows are multiplied by the finite-size
factor 1 / (1 - m_i / M_i) of Masucci et al. 2013 [R51], M_i = m_i plus the population of
every zone reachable from i (the total population when all are reachable), so each row
sums to T_i.

Deterrence values are computed in log space and shifted per row (or column) before
exponentiation, so large ``beta * cost`` does not underflow to all-zero rows.

:func:`calibrate_beta` fits beta to an observed OD matrix by Poisson maximum likelihood or
by matching the mean trip time; :func:`srmse` and :func:`common_part_of_commuters` measure
fit. Tags [Rn] refer to ``domain-methods.md`` (section 3.1) in the project reference.
"""

from __future__ import annotations

import dataclasses
import importlib
import logging
import math
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, get_args

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.optimize import brentq, minimize_scalar

from urlink.errors import InputError, UrlinkError, UrlinkWarning
from urlink.model.flows.base import finish_columns, register
from urlink.model.intrazonal import with_intrazonal

if TYPE_CHECKING:
    from collections.abc import Callable, Hashable, Sequence
    from types import ModuleType

    from numpy.typing import NDArray

    FloatArray = NDArray[np.float64]
    BoolArray = NDArray[np.bool_]

__all__ = [
    "CalibrationResult",
    "PeopleParams",
    "calibrate_beta",
    "calibrate_to_mean_time",
    "common_part_of_commuters",
    "gravity_attraction",
    "gravity_doubly",
    "gravity_production",
    "gravity_unconstrained",
    "od_matrix_from",
    "radiation",
    "srmse",
]

logger = logging.getLogger(__name__)

_balance: ModuleType | None
try:  # the compiled Furness loop is optional (built when a C compiler is available)
    _balance = importlib.import_module("urlink.model.flows._balance")
except ImportError:  # pragma: no cover - depends on the installation
    _balance = None

Deterrence = Literal["exp", "power"]
"""Deterrence function: ``exp(-beta c)`` or ``max(c, min_cost_min) ** -beta``."""

GravityModel = Literal[
    "gravity_unconstrained", "gravity_production", "gravity_attraction", "gravity_doubly"
]
"""Names of the gravity models (the ones with a ``beta`` that :func:`calibrate_beta` fits)."""

Support = Literal["dense", "knn", "cutoff"]
"""Which pairs a gravity model may put trips on (:attr:`PeopleParams.support`)."""

CalibrationMethod = Literal["poisson", "mean_time"]
"""How :func:`calibrate_beta` fits beta."""

_Constraint = Literal["unconstrained", "production", "attraction", "doubly"]
_GRAVITY_CONSTRAINT: dict[str, _Constraint] = {
    "gravity_unconstrained": "unconstrained",
    "gravity_production": "production",
    "gravity_attraction": "attraction",
    "gravity_doubly": "doubly",
}
_TOTAL_RTOL = 1e-9  # relative tolerance for sum(production) == sum(attraction)
_MAX_LISTED = 5  # zones or pairs quoted in an error message
SUPPORT_CHECK_MAX_ZONES = 2_000
"""Up to this many zones a sparse-support model also runs the dense model, to report the
share of its volume that lies outside the support (above it, only the production-constrained
share is reported; the dense doubly-constrained model would need several n x n arrays)."""
_SUPPORT_BLOCK_ROWS = 512  # origins per block when a support is selected from the costs


@dataclass(frozen=True, slots=True)
class PeopleParams:
    """Parameters shared by all people flow models.

    Parameters
    ----------
    deterrence
        ``"exp"``: f(c) = exp(-beta c), beta per minute. ``"power"``: f(c) =
        max(c, min_cost_min) ** -beta, beta the dimensionless exponent.
    beta
        Distance-decay parameter, >= 0 (0 means no decay). The default 0.1 per minute is
        meant for ``"exp"``: a trip 10 min longer is exp(-1) = 0.37 times as attractive. It
        is an **assumption, calibrate locally** (:func:`calibrate_beta`): the reference
        gives no per-minute value, and Chinese distance-decay parameters differ by place and
        change over time [R58]. It is of the order implied by the Danish commuting cost
        elasticity of about -4 near 20 km [R56] (beta c = 4 at 20 km, i.e. 0.2/km, or
        0.08-0.13/min at an assumed 30-50 km/h; inference). For ``"power"`` set beta
        explicitly: 0.1 is far too flat for an exponent (R50/R56 suggest about 4 near
        20 km; inference).
    self_flows
        Model trips within a zone (i == j, using ``cost`` on the diagonal). Radiation has
        no self-flow term and refuses True.
    tol
        Convergence tolerance of the doubly-constrained balancing: largest relative error
        of a row or column sum.
    max_iter
        Maximum balancing iterations for ``gravity_doubly``.
    min_cost_min
        Floor (minutes) applied to costs in the power deterrence, so a zero intra-zonal or
        very short time does not give 0 ** -beta = infinity.
    radiation_normalise
        Apply the finite-size normalisation 1 / (1 - m_i / M_i) of Masucci et al. 2013
        [R51] so radiation rows sum to the production (see the module docstring).
    top_destinations
        **Deprecated** (it drops volume): keep only the K largest flows of each origin
        after the model ran, with a :class:`~urlink.errors.UrlinkWarning`; the share of the
        volume left out is in the table's ``attrs["dropped_share"]``. Use ``support="knn"``
        instead, which keeps every trip.
    support
        The pairs the gravity models may put trips on. ``"dense"`` (default): every
        reachable pair. ``"knn"``: the ``k_nearest`` nearest destinations of each origin by
        cost (with every destination tied with the K-th, so the support does not depend on
        the zones' order), and the same pairs the other way round (i to j also when i is
        among j's nearest: a symmetric support is much more often feasible for the
        doubly-constrained model, whose destinations must all be reached).
        ``"cutoff"``: every destination within ``support_cutoff_min``
        minutes. Both sparse supports always include the within-zone pair when
        ``self_flows``. The model is then fitted **on the support**: the doubly-constrained
        model still meets every production and attraction (to ``tol``), the
        production-constrained one every production, so no volume is dropped; the trips go
        to nearer destinations instead. The table's ``attrs`` report the share of the dense
        model's volume that lies outside the support (``outside_support_share``, computed
        up to :data:`SUPPORT_CHECK_MAX_ZONES` zones; NaN above) and the same share for the
        production-constrained model (``outside_support_share_production``, always). Not
        for radiation.
    k_nearest
        K of ``support="knn"`` (an integer >= 1; the within-zone pair does not count).
    support_cutoff_min
        Minutes of ``support="cutoff"`` (a number > 0).

    Raises
    ------
    InputError
        If a field is out of range (the message names the field and the fix).

    Examples
    --------
    >>> from urlink.model.flows.people import PeopleParams
    >>> PeopleParams(beta=0.05).deterrence
    'exp'
    >>> PeopleParams(beta=-1.0)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    urlink.errors.InputError: PeopleParams.beta=-1.0 is not valid; use a finite number >= 0 ...
    """

    deterrence: Deterrence = "exp"
    beta: float = 0.1
    self_flows: bool = False
    tol: float = 1e-9
    max_iter: int = 1000
    min_cost_min: float = 1.0
    radiation_normalise: bool = True
    top_destinations: int | None = None
    support: Support = "dense"
    k_nearest: int | None = None
    support_cutoff_min: float | None = None

    def __post_init__(self) -> None:
        if self.deterrence not in get_args(Deterrence):
            msg = (
                f"PeopleParams.deterrence={self.deterrence!r} is not valid; "
                f"use one of {get_args(Deterrence)}"
            )
            raise InputError(msg)
        if not _is_real(self.beta) or not math.isfinite(self.beta) or self.beta < 0:
            msg = (
                f"PeopleParams.beta={self.beta!r} is not valid; use a finite number >= 0 "
                "(per minute for 'exp', an exponent for 'power')"
            )
            raise InputError(msg)
        for name in ("self_flows", "radiation_normalise"):
            value = getattr(self, name)
            if not isinstance(value, bool):
                msg = f"PeopleParams.{name}={value!r} is not valid; use True or False"
                raise InputError(msg)
        if not _is_real(self.tol) or not math.isfinite(self.tol) or self.tol <= 0:
            msg = f"PeopleParams.tol={self.tol!r} is not valid; use a finite number > 0"
            raise InputError(msg)
        if (
            not isinstance(self.max_iter, int | np.integer)
            or isinstance(self.max_iter, bool)
            or self.max_iter < 1
        ):
            msg = f"PeopleParams.max_iter={self.max_iter!r} is not valid; use an integer >= 1"
            raise InputError(msg)
        if (
            not _is_real(self.min_cost_min)
            or not math.isfinite(self.min_cost_min)
            or self.min_cost_min <= 0
        ):
            msg = (
                f"PeopleParams.min_cost_min={self.min_cost_min!r} is not valid; "
                "use a finite number of minutes > 0"
            )
            raise InputError(msg)
        k = self.top_destinations
        if k is not None and (not isinstance(k, int | np.integer) or isinstance(k, bool) or k < 1):
            msg = (
                f"PeopleParams.top_destinations={k!r} is not valid; use an integer >= 1 "
                "(the largest flows kept per origin) or None to keep every flow"
            )
            raise InputError(msg)
        self._check_support()

    def _check_support(self) -> None:
        if self.support not in get_args(Support):
            msg = (
                f"PeopleParams.support={self.support!r} is not valid; "
                f"use one of {get_args(Support)}"
            )
            raise InputError(msg)
        k = self.k_nearest
        if k is not None and (not isinstance(k, int | np.integer) or isinstance(k, bool) or k < 1):
            msg = f"PeopleParams.k_nearest={k!r} is not valid; use an integer >= 1"
            raise InputError(msg)
        cut = self.support_cutoff_min
        if cut is not None and (not _is_real(cut) or not math.isfinite(cut) or cut <= 0):
            msg = (
                f"PeopleParams.support_cutoff_min={cut!r} is not valid; use a finite number "
                "of minutes > 0"
            )
            raise InputError(msg)
        if self.support == "knn" and k is None:
            msg = "PeopleParams.support='knn' needs k_nearest (destinations kept per origin)"
            raise InputError(msg)
        if self.support == "cutoff" and cut is None:
            msg = "PeopleParams.support='cutoff' needs support_cutoff_min (minutes)"
            raise InputError(msg)
        for name, value, needs in (
            ("k_nearest", k, "knn"),
            ("support_cutoff_min", cut, "cutoff"),
        ):
            if value is not None and self.support != needs:
                msg = (
                    f"PeopleParams.{name}={value!r} is only used with support={needs!r}, "
                    f"but support={self.support!r}; set support={needs!r} or drop {name}"
                )
                raise InputError(msg)
        if self.support != "dense" and self.top_destinations is not None:
            msg = (
                "PeopleParams.top_destinations drops flows after the model; with a sparse "
                f"support (support={self.support!r}) every flow is kept, so drop "
                "top_destinations"
            )
            raise InputError(msg)


@dataclass(frozen=True, slots=True)
class CalibrationResult:
    """Outcome of :func:`calibrate_beta`.

    Attributes
    ----------
    beta
        Fitted distance-decay parameter.
    method
        ``"poisson"`` or ``"mean_time"``.
    srmse
        :func:`srmse` of observed vs modelled flows at the fitted beta.
    cpc
        :func:`common_part_of_commuters` at the fitted beta.
    mean_time_observed, mean_time_modelled
        Trip-weighted mean travel time (minutes) over the fitted pairs.
    n_pairs
        Number of origin-destination pairs in the fit (reachable, and i != j unless
        ``self_flows``).
    iterations
        Model evaluations in the scan plus iterations of the optimiser or root finder.
    """

    beta: float
    method: CalibrationMethod
    srmse: float
    cpc: float
    mean_time_observed: float
    mean_time_modelled: float
    n_pairs: int
    iterations: int


# --------------------------------------------------------------------------------------
# Input checks


def _is_real(value: object) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(
        value, bool
    )


def _listed(values: Sequence[object]) -> str:
    shown = [str(v) for v in values[:_MAX_LISTED]]
    more = f" and {len(values) - _MAX_LISTED} more" if len(values) > _MAX_LISTED else ""
    return f"{shown}{more}"


@dataclass(frozen=True, slots=True)
class _Inputs:
    """Zone data and costs as aligned arrays."""

    ids: pd.Index
    cost: FloatArray  # minutes; NaN where unreachable (also +inf in the input)
    valid: BoolArray  # reachable, and off-diagonal unless self_flows


def _check_zones(zones: object) -> pd.DataFrame:
    if not isinstance(zones, pd.DataFrame):
        msg = (
            f"zones must be a pandas DataFrame indexed by zone id, got {type(zones).__name__}; "
            "build one with columns production, attraction, population"
        )
        raise InputError(msg)
    if not zones.index.is_unique:
        dup = zones.index[zones.index.duplicated()].unique().tolist()
        msg = f"zones index has duplicate zone id(s) {_listed(dup)}; give each zone one row"
        raise InputError(msg)
    return zones


def _zone_column(zones: pd.DataFrame, column: str, model: str) -> FloatArray:
    """Return a zone column as a float array, checked finite and non-negative."""
    if column not in zones.columns:
        msg = (
            f"zones has no column {column!r}, which people model {model!r} needs; "
            f"add it (columns present: {list(zones.columns)})"
        )
        raise InputError(msg)
    given = zones[column]
    if isinstance(given, pd.Series) and given.dtype == np.float64:  # to_numeric: as they are
        values = given.to_numpy(dtype=float, copy=True)
    else:
        values = pd.to_numeric(given, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    bad = ~np.isfinite(values) | (values < 0)
    if bad.any():
        msg = (
            f"zones[{column!r}] must be finite and >= 0; zone(s) "
            f"{_listed(zones.index[bad].tolist())} have {_listed(zones[column][bad].tolist())}; "
            "fix these values or drop the zones"
        )
        raise InputError(msg)
    return values


def _cost_array(cost: object, ids: pd.Index, name: str = "cost") -> FloatArray:
    """Align a labelled origin x destination matrix to ``ids`` and return floats."""
    if not isinstance(cost, pd.DataFrame):
        msg = (
            f"{name} must be a pandas DataFrame (origin x destination, labelled by zone id), "
            f"got {type(cost).__name__}"
        )
        raise InputError(msg)
    if ids.is_unique and cost.index.equals(ids) and cost.columns.equals(ids):
        # labelled by the zones in their order: the label checks pass, reindexing is a copy
        return _numbers(cost, name)
    _check_labels(cost, ids, name)
    aligned = cost.reindex(index=ids, columns=ids)
    return _numbers(aligned, name)


def _check_labels(cost: pd.DataFrame, ids: pd.Index, name: str) -> None:
    for axis, labels in (("index", cost.index), ("columns", cost.columns)):
        if not labels.is_unique:
            dup = labels[labels.duplicated()].unique().tolist()
            msg = f"{name}.{axis} has duplicate zone id(s) {_listed(dup)}; give each zone once"
            raise InputError(msg)
        missing = ids.difference(labels).tolist()
        if missing:
            msg = (
                f"{name}.{axis} lacks zone id(s) {_listed(missing)} that are in zones; "
                f"give {name} a row and a column for every zone (NaN for unreachable)"
            )
            raise InputError(msg)


def _numbers(aligned: pd.DataFrame, name: str) -> FloatArray:
    try:
        values = aligned.to_numpy(dtype=float, na_value=np.nan)
    except (TypeError, ValueError) as err:
        msg = f"{name} must hold numbers (minutes, NaN for unreachable); converting failed: {err}"
        raise InputError(msg) from err
    return values


def _prepare(zones: object, cost: object, params: PeopleParams) -> _Inputs:
    zones = _check_zones(zones)
    ids = zones.index
    c, valid = _checked_costs(_cost_array(cost, ids), ids, ids, 0, params)
    return _Inputs(ids=ids, cost=c, valid=valid)


def _checked_costs(
    c: FloatArray, ids: pd.Index, origins: pd.Index, a: int, params: PeopleParams
) -> tuple[FloatArray, BoolArray]:
    """Check the minutes of origins ``a:a + len(c)`` (the rows of ``c``).

    Returns them (NaN for +inf) and which pairs are valid (reachable; off the diagonal
    unless self flows).
    """
    if (c < 0).any():  # NaN compares False, -inf is caught here
        r, k = np.nonzero(c < 0)
        pairs = [(origins[int(i)], ids[int(j)], float(c[i, j])) for i, j in zip(r, k, strict=True)]
        msg = (
            f"cost must be >= 0 minutes (NaN for unreachable); pairs (origin, destination, "
            f"minutes) {_listed(pairs)} are negative"
        )
        raise InputError(msg)
    c = np.where(np.isinf(c), np.nan, c)
    valid = ~np.isnan(c)
    if not params.self_flows:
        local = np.arange(len(c))
        valid[local, local + a] = False
    return c, valid


@dataclass(frozen=True, slots=True, eq=False)
class _CostBlocks:
    """The costs of a sparse-support model, read by blocks of origin rows.

    Never a dense copy of the whole matrix: a skim held in memory or memory-mapped from
    disk (:func:`urlink.network.skims.read_travel_time_matrix`) is read block by block.
    """

    ids: pd.Index
    cost: pd.DataFrame  # the labelled input (any row and column order)
    rows: NDArray[np.int64]  # position in cost.index of each zone
    cols: NDArray[np.int64]  # position in cost.columns of each zone
    params: PeopleParams
    diagonal: FloatArray | None = None  # each zone's cost to itself, instead of cost's (#20)

    def block(self, a: int, b: int) -> tuple[FloatArray, BoolArray]:
        """Minutes and valid pairs of origins ``a:b`` to every zone (as :func:`_prepare`)."""
        rows = self.rows[a:b]
        if len(rows) and rows[-1] - rows[0] == len(rows) - 1 and (np.diff(rows) == 1).all():
            part = self.cost.iloc[int(rows[0]) : int(rows[-1]) + 1]  # a view of a slice
        else:
            part = self.cost.iloc[rows]
        values = _numbers(part, "cost")
        if not np.array_equal(self.cols, np.arange(len(self.cols))):
            values = values[:, self.cols]
        if self.diagonal is not None:  # a copy of the block, never of the skim
            values = np.array(values, dtype=float, copy=True)
            k = np.arange(a, b)
            values[k - a, k] = self.diagonal[a:b]
        return _checked_costs(values, self.ids, self.ids[a:b], a, self.params)

    def dense(self) -> _Inputs:
        """Every block at once (for the few thousand zones whose dense model is run)."""
        n = len(self.ids)
        parts = [
            self.block(a, min(a + _SUPPORT_BLOCK_ROWS, n))
            for a in range(0, n, _SUPPORT_BLOCK_ROWS)
        ]
        if not parts:
            return _Inputs(ids=self.ids, cost=np.empty((0, 0)), valid=np.empty((0, 0), bool))
        return _Inputs(
            ids=self.ids,
            cost=np.vstack([c for c, _ in parts]),
            valid=np.vstack([v for _, v in parts]),
        )


def _cost_blocks(
    zones: object, cost: object, params: PeopleParams, intrazonal: pd.Series | None = None
) -> _CostBlocks:
    zones = _check_zones(zones)
    ids = zones.index
    if not isinstance(cost, pd.DataFrame):
        _cost_array(cost, ids)  # raises its message
    assert isinstance(cost, pd.DataFrame)
    _check_labels(cost, ids, "cost")
    return _CostBlocks(
        ids=ids,
        cost=cost,
        rows=np.asarray(cost.index.get_indexer(ids), dtype=np.int64),
        cols=np.asarray(cost.columns.get_indexer(ids), dtype=np.int64),
        params=params,
        diagonal=None if intrazonal is None else intrazonal.reindex(ids).to_numpy(dtype=float),
    )


def _log_deterrence(
    cost: FloatArray, valid: BoolArray, deterrence: Deterrence, beta: float, floor: float
) -> FloatArray:
    """Return log f(c): -beta c or -beta log max(c, floor); -inf where not valid."""
    c = np.where(valid, cost, 1.0)
    base = c if deterrence == "exp" else np.log(np.maximum(c, floor))
    return np.where(valid, -beta * base, -np.inf)


def _unmet(ids: pd.Index, bad: BoolArray, what: str, needs: str) -> InputError:
    msg = (
        f"zone(s) {_listed(ids[bad].tolist())} have positive {what} but no reachable "
        f"zone with positive {needs} (cost is NaN to all of them), so the constraint cannot "
        f"be met; give these zones a finite travel time to such a zone, or set their {what} "
        "to 0"
    )
    return InputError(msg)


# --------------------------------------------------------------------------------------
# Model cores on arrays


def _row_shares(log_w: FloatArray) -> tuple[FloatArray, BoolArray]:
    """Softmax of each row of ``log_w`` (rows that are all -inf give zeros and False)."""
    top = log_w.max(axis=1, initial=-np.inf)
    has = np.isfinite(top)
    w = np.exp(log_w - np.where(has, top, 0.0)[:, None])
    total = w.sum(axis=1)
    shares = np.divide(w, total[:, None], out=np.zeros_like(w), where=has[:, None])
    return shares, has


def _gravity_matrix(
    constraint: _Constraint,
    ids: pd.Index,
    production: FloatArray,
    attraction: FloatArray,
    *,
    log_f: FloatArray,
    params: PeopleParams,
) -> FloatArray:
    """Flow matrix of one gravity variant (see the module docstring for the formulas)."""
    with np.errstate(divide="ignore"):  # log(0) = -inf is intended: zero mass, zero flow
        log_o = np.log(production)
        log_d = np.log(attraction)
    if constraint == "production":
        shares, has = _row_shares(log_f + log_d[None, :])
        bad = (production > 0) & ~has
        if bad.any():
            raise _unmet(ids, bad, "production", "attraction")
        return production[:, None] * shares
    if constraint == "attraction":
        shares_t, has = _row_shares((log_f + log_o[:, None]).T)
        bad = (attraction > 0) & ~has
        if bad.any():
            raise _unmet(ids, bad, "attraction", "production")
        return (attraction[:, None] * shares_t).T
    if constraint == "unconstrained":
        log_w = log_f + log_o[:, None] + log_d[None, :]
        top = log_w.max(initial=-np.inf)
        total_o = float(production.sum())
        if not np.isfinite(top):
            if total_o > 0:
                raise _unmet(ids, production > 0, "production", "attraction")
            return np.zeros_like(log_f)
        w: FloatArray = np.exp(log_w - top)
        return w * (total_o / float(w.sum()))
    return _furness(ids, production, attraction, log_f, params)


def _check_totals(total_o: float, total_d: float) -> None:
    """Refuse a doubly constrained model whose margins do not add up to the same total."""
    if not math.isclose(total_o, total_d, rel_tol=_TOTAL_RTOL, abs_tol=0.0):
        msg = (
            f"gravity_doubly needs sum(attraction) == sum(production), got "
            f"{total_d!r} vs {total_o!r}; rescale attraction first, e.g. "
            "zones['attraction'] * zones['production'].sum() / zones['attraction'].sum()"
        )
        raise InputError(msg)


def _furness(
    ids: pd.Index,
    production: FloatArray,
    attraction: FloatArray,
    log_f: FloatArray,
    params: PeopleParams,
    *,
    compiled: bool | None = None,
) -> FloatArray:
    """Doubly-constrained gravity by Furness balancing (IPF) [R46].

    ``compiled``: use the compiled loop (True), the numpy loop (False) or the compiled one
    when it is built (None). Both take the same steps; only the order of the additions in
    the matrix products differs.
    """
    total_o, total_d = production.sum(), attraction.sum()
    _check_totals(total_o, total_d)
    rows, cols = production > 0, attraction > 0
    # Keep only pairs whose both margins are positive; scale rows then columns to max 1 so
    # exp() does not underflow (the scale is absorbed by the balancing factors).
    log_k = np.where(rows[:, None] & cols[None, :], log_f, -np.inf)
    row_top = log_k.max(axis=1, initial=-np.inf)
    if (bad := rows & ~np.isfinite(row_top)).any():
        raise _unmet(ids, bad, "production", "attraction")
    col_top = log_k.max(axis=0, initial=-np.inf)
    if (bad := cols & ~np.isfinite(col_top)).any():
        raise _unmet(ids, bad, "attraction", "production")
    k = np.exp(log_k - np.where(np.isfinite(row_top), row_top, 0.0)[:, None])
    scale = k.max(axis=0, initial=0.0)
    k = np.divide(k, scale[None, :], out=np.zeros_like(k), where=scale[None, :] > 0)
    use_compiled = _balance is not None if compiled is None else compiled
    balance = _furness_compiled if use_compiled else _furness_numpy
    a, b, iterations, err = balance(k, production, attraction, params)
    if iterations < 0:
        msg = (
            f"gravity_doubly did not converge in max_iter={params.max_iter} iterations: "
            f"largest relative row/column error {err:.3e} > tol={params.tol!r}; raise "
            "params.max_iter or params.tol, or check that every zone's margin can be reached "
            "through finite costs"
        )
        raise UrlinkError(msg)
    logger.debug(f"gravity_doubly converged in {iterations:,} iterations ({err:.2e})")
    t: FloatArray = a[:, None] * k * b[None, :]
    return t


def _furness_numpy(
    k: FloatArray, production: FloatArray, attraction: FloatArray, params: PeopleParams
) -> tuple[FloatArray, FloatArray, int, float]:
    """Balance ``k`` with numpy: row factors, column factors, iterations (-1: none), error."""
    rows, cols = production > 0, attraction > 0
    a = np.zeros_like(production)
    b = np.ones_like(attraction)
    err = math.inf
    # k @ b of the new b is both this iteration's row sums and the next one's divisor, and
    # k.T @ a both the column update and the column sums: computed once each (the iterates
    # and the stopping test are the same numbers as computing them twice)
    kb = k @ b
    p_rows, a_cols = production[rows], attraction[cols]
    for iteration in range(1, params.max_iter + 1):
        a = np.divide(production, kb, out=np.zeros_like(kb), where=kb > 0)
        ka = k.T @ a
        b = np.divide(attraction, ka, out=np.zeros_like(ka), where=ka > 0)
        kb = k @ b
        row_sum = a * kb
        col_sum = b * ka
        err = max(
            float(np.max(np.abs(row_sum[rows] - p_rows) / p_rows, initial=0)),
            float(np.max(np.abs(col_sum[cols] - a_cols) / a_cols, initial=0)),
        )
        if err <= params.tol:
            return a, b, iteration, err
    return a, b, -1, err


def _furness_compiled(
    k: FloatArray, production: FloatArray, attraction: FloatArray, params: PeopleParams
) -> tuple[FloatArray, FloatArray, int, float]:
    """Balance ``k`` with the compiled loop (``_balance.c``): as :func:`_furness_numpy`."""
    if _balance is None:
        msg = "the compiled Furness kernel is not built (no C compiler at install time)"
        raise UrlinkError(msg)
    k = np.ascontiguousarray(k, dtype=np.float64)
    a = np.zeros(len(production), dtype=np.float64)
    b = np.ones(len(attraction), dtype=np.float64)
    iterations, err = _balance.furness(
        k,
        np.ascontiguousarray(production, dtype=np.float64),
        np.ascontiguousarray(attraction, dtype=np.float64),
        a,
        b,
        int(params.max_iter),
        float(params.tol),
    )
    return a, b, int(iterations), float(err)


# --------------------------------------------------------------------------------------
# Sparse supports


@dataclass(frozen=True, slots=True)
class _Support:
    """The pairs of a sparse support, in row-major order, with their costs."""

    rows: NDArray[np.int64]
    cols: NDArray[np.int64]
    cost: FloatArray


def _support_pairs(data: _CostBlocks, params: PeopleParams) -> tuple[_Support, int]:
    """Select the support of ``params`` from the valid pairs, by blocks of origins.

    Returns the support and the number of valid pairs. The costs are read by blocks (twice
    for ``knn``: the pairs back are looked up in a second pass), never copied whole.
    """
    n = len(data.ids)
    rows: list[NDArray[np.int64]] = []
    cols: list[NDArray[np.int64]] = []
    costs: list[FloatArray] = []
    n_valid = 0
    for a in range(0, n, _SUPPORT_BLOCK_ROWS):
        b = min(a + _SUPPORT_BLOCK_ROWS, n)
        local = np.arange(b - a)
        cost, valid = data.block(a, b)
        n_valid += int(valid.sum())
        if params.support == "knn":
            k = int(params.k_nearest or 1)
            c = np.where(valid, cost, np.inf)
            c[local, local + a] = np.inf  # the within-zone pair is added below, not counted
            if k < n:
                kth = np.partition(c, k - 1, axis=1)[:, k - 1]
                mask = (c <= kth[:, None]) & np.isfinite(c)
            else:
                mask = np.isfinite(c)
        else:
            with np.errstate(invalid="ignore"):
                mask = valid & (cost <= float(params.support_cutoff_min or 0.0))
        mask[local, local + a] = valid[local, local + a]
        r, c_ = np.nonzero(mask)
        rows.append((r + a).astype(np.int64))
        cols.append(c_.astype(np.int64))
        costs.append(cost[r, c_])
    r_all = np.concatenate(rows) if rows else np.empty(0, dtype=np.int64)
    c_all = np.concatenate(cols) if cols else np.empty(0, dtype=np.int64)
    cost_all = np.concatenate(costs) if costs else np.empty(0)
    if params.support == "knn":  # and the pairs the other way round, where reachable
        back_cost, back = _valid_at(data, c_all, r_all)
        code = np.concatenate([r_all * n + c_all, c_all[back] * n + r_all[back]])
        code, first = np.unique(code, return_index=True)
        cost_all = np.concatenate([cost_all, back_cost[back]])[first]
        r_all, c_all = code // n, code % n
    return _Support(rows=r_all, cols=c_all, cost=cost_all), n_valid


def _valid_at(
    data: _CostBlocks, rows: NDArray[np.int64], cols: NDArray[np.int64]
) -> tuple[FloatArray, BoolArray]:
    """Minutes and validity of the pairs ``(rows, cols)``, reading the blocks they are in."""
    n = len(data.ids)
    cost = np.full(len(rows), np.nan)
    valid = np.zeros(len(rows), dtype=bool)
    order = np.argsort(rows, kind="stable")
    sorted_rows = rows[order]
    for a in range(0, n, _SUPPORT_BLOCK_ROWS):
        lo, hi = np.searchsorted(sorted_rows, [a, a + _SUPPORT_BLOCK_ROWS])
        if lo == hi:
            continue
        sel = order[lo:hi]
        c, v = data.block(a, min(a + _SUPPORT_BLOCK_ROWS, n))
        cost[sel] = c[rows[sel] - a, cols[sel]]
        valid[sel] = v[rows[sel] - a, cols[sel]]
    return cost, valid


def _group_max(values: FloatArray, groups: NDArray[np.int64], n: int) -> FloatArray:
    out = np.full(n, -np.inf)
    np.maximum.at(out, groups, values)
    return out


def _group_sum(values: FloatArray, groups: NDArray[np.int64], n: int) -> FloatArray:
    return np.bincount(groups, weights=values, minlength=n).astype(float)


def _sparse_shares(log_w: FloatArray, groups: NDArray[np.int64], n: int) -> FloatArray:
    """Softmax of ``log_w`` within each group (entries of all -inf groups give 0)."""
    top = _group_max(log_w, groups, n)
    w = np.exp(log_w - np.where(np.isfinite(top), top, 0.0)[groups])
    total = _group_sum(w, groups, n)
    return np.divide(w, total[groups], out=np.zeros_like(w), where=total[groups] > 0)


def _support_unmet(
    ids: pd.Index, bad: BoolArray, what: str, needs: str, params: PeopleParams
) -> InputError:
    key = "k_nearest" if params.support == "knn" else "support_cutoff_min"
    msg = (
        f"zone(s) {_listed(ids[bad].tolist())} have positive {what} but no zone with positive "
        f"{needs} on the sparse support (support={params.support!r}, "
        f"{key}={getattr(params, key)}), so the constraint cannot be met; raise {key}, or "
        "use support='dense'"
    )
    return InputError(msg)


def _sparse_gravity(
    constraint: _Constraint,
    ids: pd.Index,
    *,
    production: FloatArray,
    attraction: FloatArray,
    support: _Support,
    log_f: FloatArray,
    params: PeopleParams,
) -> FloatArray:
    """Flows on the support pairs (the formulas of :func:`_gravity_matrix`, sparse)."""
    n = len(ids)
    r, c = support.rows, support.cols
    with np.errstate(divide="ignore"):
        log_o = np.log(production)
        log_d = np.log(attraction)
    if constraint == "production":
        shares = _sparse_shares(log_f + log_d[c], r, n)
        has = _group_sum(shares, r, n) > 0
        if (bad := (production > 0) & ~has).any():
            raise _support_unmet(ids, bad, "production", "attraction", params)
        return production[r] * shares
    if constraint == "attraction":
        shares = _sparse_shares(log_f + log_o[r], c, n)
        has = _group_sum(shares, c, n) > 0
        if (bad := (attraction > 0) & ~has).any():
            raise _support_unmet(ids, bad, "attraction", "production", params)
        return attraction[c] * shares
    if constraint == "unconstrained":
        log_w = log_f + log_o[r] + log_d[c]
        top = log_w.max(initial=-np.inf)
        total_o = float(production.sum())
        if not np.isfinite(top):
            if total_o > 0:
                raise _support_unmet(ids, production > 0, "production", "attraction", params)
            return np.zeros_like(log_f)
        w: FloatArray = np.exp(log_w - top)
        return w * (total_o / float(w.sum()))
    return _sparse_furness(
        ids,
        production=production,
        attraction=attraction,
        support=support,
        log_f=log_f,
        params=params,
    )


def _sparse_furness(
    ids: pd.Index,
    *,
    production: FloatArray,
    attraction: FloatArray,
    support: _Support,
    log_f: FloatArray,
    params: PeopleParams,
) -> FloatArray:
    """Furness balancing (IPF) on the support pairs, scaled as :func:`_furness` does."""
    n = len(ids)
    total_o, total_d = production.sum(), attraction.sum()
    _check_totals(total_o, total_d)
    rows, cols = production > 0, attraction > 0
    keep = rows[support.rows] & cols[support.cols]
    r, c = support.rows[keep], support.cols[keep]
    log_k = log_f[keep]
    row_top = _group_max(log_k, r, n)
    if (bad := rows & ~np.isfinite(row_top)).any():
        raise _support_unmet(ids, bad, "production", "attraction", params)
    col_top = _group_max(log_k, c, n)
    if (bad := cols & ~np.isfinite(col_top)).any():
        raise _support_unmet(ids, bad, "attraction", "production", params)
    k = np.exp(log_k - row_top[r])
    scale = _group_max(k, c, n)
    k = k / scale[c]
    kr = sp.csr_array((k, (r, c)), shape=(n, n))
    kt = sp.csr_array((k, (c, r)), shape=(n, n))
    b = np.ones_like(attraction)
    err = earlier = math.inf
    mark = max(1, params.max_iter - max(1, params.max_iter // 10))
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # checked below
        kb = kr @ b
        for iteration in range(1, params.max_iter + 1):
            # two products per iteration: after b the columns are met by construction
            # (b_j (K^T a)_j = D_j), so only the rows are checked, with K b reused next time
            a = np.divide(production, kb, out=np.zeros_like(kb), where=kb > 0)
            ka = kt @ a
            b = np.divide(attraction, ka, out=np.zeros_like(ka), where=ka > 0)
            kb = kr @ b
            row_sum = a * kb
            err = float(
                np.max(np.abs(row_sum[rows] - production[rows]) / production[rows], initial=0)
            )
            if iteration == mark:
                earlier = err
            if not math.isfinite(err):  # the factors diverge: the margins cannot be met
                break
            if err <= params.tol:
                col_sum = b * (kt @ a)
                col_err = np.abs(col_sum[cols] - attraction[cols]) / attraction[cols]
                err = max(err, float(np.max(col_err, initial=0)))
                if err <= params.tol:
                    logger.debug(f"gravity_doubly (sparse) converged in {iteration:,} iterations")
                    t = np.zeros(len(support.rows))
                    t[keep] = a[r] * k * b[c]
                    return t
    setting = "k_nearest" if params.support == "knn" else "support_cutoff_min"
    what = (
        f"stopped after {iteration:,} iterations: the balancing factors diverge, so the "
        "support is infeasible"
        if not math.isfinite(err)
        else f"did not converge in max_iter={params.max_iter} iterations (largest relative "
        f"row/column error {err:.3e} > tol={params.tol!r}, {earlier:.3e} at iteration "
        f"{mark:,}): the support is probably infeasible, or nearly so (balancing then "
        "converges slowly; on a sparse support it often needs several thousand iterations)"
    )
    msg = (
        f"gravity_doubly on the sparse support (support={params.support!r}, "
        f"{setting}={getattr(params, setting)}) {what}: some group of origins reaches too "
        "little attraction on it (or some destinations too little production) to meet its "
        f"margins; raise {setting} (or params.max_iter if the error was still falling), set "
        "self_flows = true, or use support='dense'"
    )
    raise InputError(msg)


def _outside_shares(
    constraint: _Constraint,
    data: _CostBlocks,
    *,
    production: FloatArray,
    attraction: FloatArray,
    support: _Support,
    params: PeopleParams,
) -> tuple[float, float]:
    """(dense model's, production-constrained model's) share of volume off the support."""
    n = len(data.ids)
    on = sp.csr_array(
        (np.ones(len(support.rows), dtype=bool), (support.rows, support.cols)), shape=(n, n)
    )
    # production-constrained: row by row, the weight D_j f(c_ij) off the support
    with np.errstate(divide="ignore"):
        log_d = np.log(attraction)
    off_p = 0.0
    total_p = 0.0
    for a in range(0, n, _SUPPORT_BLOCK_ROWS):
        b = min(a + _SUPPORT_BLOCK_ROWS, n)
        cost, valid = data.block(a, b)
        log_f = _log_deterrence(cost, valid, params.deterrence, params.beta, params.min_cost_min)
        shares, _ = _row_shares(log_f + log_d[None, :])
        volume = production[a:b, None] * shares
        total_p += float(volume.sum())
        off_p += float(volume.sum() - volume[on[a:b].toarray()].sum())
    share_p = off_p / total_p if total_p > 0 else 0.0
    share = math.nan
    if n <= SUPPORT_CHECK_MAX_ZONES:
        whole = data.dense()
        log_f = _log_deterrence(
            whole.cost, whole.valid, params.deterrence, params.beta, params.min_cost_min
        )
        try:
            dense = _gravity_matrix(
                constraint, data.ids, production, attraction, log_f=log_f, params=params
            )
        except UrlinkError as err:  # the dense model may not balance where the sparse one did
            logger.info(f"outside_support_share not computed: the dense model failed ({err})")
            return share, max(0.0, share_p)
        total = float(dense.sum())
        kept = float(dense[support.rows, support.cols].sum())
        share = max(0.0, 1.0 - kept / total) if total > 0 else 0.0
    return share, max(0.0, share_p)


def _intervening_population(
    cost: FloatArray, valid: BoolArray, pop: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Return (s_ij, s_ij + g_ij) for the radiation model, both n x n.

    s_ij is the population of the valid destinations k != i, j with c_ik strictly below
    c_ij; g_ij is the population of the group of valid destinations with c_ik == c_ij
    (j included; g_ij = n_j when j has no tie).
    """
    n = cost.shape[0]
    c = np.where(valid, cost, np.inf)  # invalid pairs sort last and never intervene
    order = np.argsort(c, axis=1, kind="stable")
    c_sorted = np.take_along_axis(c, order, axis=1)
    p_sorted = pop[order]
    through = np.cumsum(p_sorted, axis=1)  # population up to and including this position
    before = np.zeros_like(through)  # population strictly before this position
    before[:, 1:] = through[:, :-1]
    positions = np.broadcast_to(np.arange(n), (n, n))
    starts = np.ones((n, n), dtype=bool)
    starts[:, 1:] = c_sorted[:, 1:] != c_sorted[:, :-1]
    ends = np.ones((n, n), dtype=bool)
    ends[:, :-1] = starts[:, 1:]
    first = np.maximum.accumulate(np.where(starts, positions, 0), axis=1)
    last = np.minimum.accumulate(np.where(ends, positions, n)[:, ::-1], axis=1)[:, ::-1]
    strict = np.empty_like(before)
    np.put_along_axis(strict, order, np.take_along_axis(before, first, axis=1), axis=1)
    shell = np.empty_like(before)
    np.put_along_axis(shell, order, np.take_along_axis(through, last, axis=1), axis=1)
    return strict, shell


def _flow_table(
    t: FloatArray, data: _Inputs, model: str, top_destinations: int | None = None
) -> pd.DataFrame:
    keep = data.valid & (t > 0)
    extra: dict[str, Any] = {}
    dropped = 0.0
    if top_destinations is not None:
        msg = (
            f"PeopleParams.top_destinations={top_destinations} drops every flow but the "
            f"largest {top_destinations} of each origin (volume is lost; the share is in the "
            "table's attrs['dropped_share']); it is deprecated: use support='knn' with "
            f"k_nearest={top_destinations}, which fits the model on those pairs and keeps "
            "every trip (docs/scale.md)"
        )
        warnings.warn(msg, UrlinkWarning, stacklevel=4)
    if top_destinations is not None and top_destinations < t.shape[1]:
        k = top_destinations
        total = float(t.sum(where=keep))
        # the k largest flows of each row (ties broken by argpartition, deterministically)
        idx = np.argpartition(np.where(keep, -t, np.inf), k - 1, axis=1)[:, :k]
        top = np.zeros_like(keep)
        np.put_along_axis(top, idx, True, axis=1)
        keep &= top
        del top, idx
        kept = float(t.sum(where=keep))
        dropped = 1.0 - kept / total if total > 0 else 0.0
        extra["note"] = (
            f"largest {k} flows per origin kept; {100 * dropped:.4g}% of the modelled volume "
            "(the smaller flows) dropped"
        )
        logger.info(
            "%s: kept the %d largest flows per origin, %.4f%% of the volume dropped",
            model,
            k,
            100 * dropped,
        )
    r, c = np.nonzero(keep)
    ids = data.ids.array
    columns = {"origin": ids.take(r), "destination": ids.take(c), "volume": t[r, c]}
    out = finish_columns(columns, flow_type="people", model=model, source="modelled", **extra)
    if top_destinations is not None:
        out.attrs["dropped_share"] = dropped
    return out


def _gravity_model(
    name: str,
    zones: pd.DataFrame,
    cost: pd.DataFrame,
    params: PeopleParams,
    intrazonal: pd.Series | None = None,
) -> pd.DataFrame:
    if not isinstance(params, PeopleParams):
        msg = f"params must be a PeopleParams, got {type(params).__name__}; use PeopleParams(...)"
        raise InputError(msg)
    if params.support != "dense":  # the costs by blocks: no dense copy (#20)
        blocks = _cost_blocks(zones, cost, params, intrazonal)
        return _sparse_model(
            name,
            _GRAVITY_CONSTRAINT[name],
            blocks,
            production=_zone_column(zones, "production", name),
            attraction=_zone_column(zones, "attraction", name),
            params=params,
        )
    if intrazonal is not None and isinstance(cost, pd.DataFrame):
        cost = with_intrazonal(cost, intrazonal)
    data = _prepare(zones, cost, params)
    production = _zone_column(zones, "production", name)
    attraction = _zone_column(zones, "attraction", name)
    constraint = _GRAVITY_CONSTRAINT[name]
    log_f = _log_deterrence(
        data.cost, data.valid, params.deterrence, params.beta, params.min_cost_min
    )
    t = _gravity_matrix(constraint, data.ids, production, attraction, log_f=log_f, params=params)
    return _flow_table(t, data, name, params.top_destinations)


def _sparse_model(
    name: str,
    constraint: _Constraint,
    data: _CostBlocks,
    *,
    production: FloatArray,
    attraction: FloatArray,
    params: PeopleParams,
) -> pd.DataFrame:
    """Fit a gravity model on the sparse support of ``params``, keeping every flow."""
    support, n_valid = _support_pairs(data, params)
    ones = np.ones(len(support.cost), dtype=bool)
    log_f = _log_deterrence(
        support.cost, ones, params.deterrence, params.beta, params.min_cost_min
    )
    t = _sparse_gravity(
        constraint,
        data.ids,
        production=production,
        attraction=attraction,
        support=support,
        log_f=log_f,
        params=params,
    )
    outside, outside_p = _outside_shares(
        constraint,
        data,
        production=production,
        attraction=attraction,
        support=support,
        params=params,
    )
    n = len(data.ids)
    pos = t > 0
    ids = data.ids.array
    columns = {
        "origin": ids.take(support.rows[pos]),
        "destination": ids.take(support.cols[pos]),
        "volume": t[pos],
    }
    out = finish_columns(columns, flow_type="people", model=name, source="modelled")
    out.attrs["support"] = params.support
    out.attrs["support_pairs"] = len(support.rows)
    out.attrs["support_pair_share"] = len(support.rows) / max(n_valid, 1)
    out.attrs["outside_support_share"] = outside
    out.attrs["outside_support_share_production"] = outside_p
    shown = "not computed" if math.isnan(outside) else f"{100 * outside:.4g}%"
    logger.info(
        "%s on a sparse support (%s): %d pairs of %d zones (%.3g per origin); dense model's "
        "volume outside the support: %s (production-constrained: %.4g%%); every trip kept",
        name,
        params.support,
        len(support.rows),
        n,
        len(support.rows) / max(n, 1),
        shown,
        100 * outside_p,
    )
    return out


# --------------------------------------------------------------------------------------
# Registered models


@register("people", "gravity_unconstrained", settings=PeopleParams)
def gravity_unconstrained(
    zones: pd.DataFrame,
    cost: pd.DataFrame,
    *,
    params: PeopleParams,
    intrazonal: pd.Series | None = None,
) -> pd.DataFrame:
    """Unconstrained gravity: T_ij = k O_i D_j f(c_ij).

    The single constant k is chosen so that the total flow equals the total production,
    k = sum_i O_i / sum_ij O_i D_j f(c_ij); row and column sums are not constrained.

    Parameters
    ----------
    zones
        Indexed by zone id, with ``production`` and ``attraction``.
    cost
        Origin x destination travel times in minutes (NaN = unreachable).
    params
        Deterrence function and beta (:class:`PeopleParams`).
    intrazonal
        Each zone's cost to itself, used on the diagonal of ``cost`` instead of its own
        (as :func:`urlink.model.intrazonal.with_intrazonal` would put it there); on a sparse
        support it is read with each block of ``cost``, so the skim is not copied (#20).
        None: ``cost``'s diagonal.

    Returns
    -------
    pandas.DataFrame
        Flow table (persons/day), one row per pair with positive flow.

    Raises
    ------
    InputError
        If inputs are malformed, or production is positive but no zone with production
        reaches a zone with attraction.

    Examples
    --------
    >>> import pandas as pd
    >>> from urlink.model.flows.people import PeopleParams, gravity_unconstrained
    >>> zones = pd.DataFrame({"production": [100.0, 50.0, 80.0],
    ...                       "attraction": [60.0, 120.0, 50.0],
    ...                       "population": [1000.0, 400.0, 700.0]}, index=["a", "b", "c"])
    >>> cost = pd.DataFrame([[0, 10, 20], [10, 0, 15], [20, 15, 0]],
    ...                     index=zones.index, columns=zones.index, dtype=float)
    >>> flows = gravity_unconstrained(zones, cost, params=PeopleParams(beta=0.1))
    >>> float(round(flows["volume"].sum(), 6))
    230.0
    >>> flows[["origin", "destination"]].value_counts().size
    6
    """
    return _gravity_model("gravity_unconstrained", zones, cost, params, intrazonal)


@register("people", "gravity_production", settings=PeopleParams)
def gravity_production(
    zones: pd.DataFrame,
    cost: pd.DataFrame,
    *,
    params: PeopleParams,
    intrazonal: pd.Series | None = None,
) -> pd.DataFrame:
    """Production-constrained gravity: T_ij = O_i D_j f(c_ij) / sum_k D_k f(c_ik).

    Every row sums to the zone's production O_i; attraction is a relative mass.

    Parameters
    ----------
    zones
        Indexed by zone id, with ``production`` and ``attraction``.
    cost
        Origin x destination travel times in minutes (NaN = unreachable).
    params
        Deterrence function and beta (:class:`PeopleParams`).
    intrazonal
        Each zone's cost to itself, used on the diagonal of ``cost`` instead of its own
        (as :func:`urlink.model.intrazonal.with_intrazonal` would put it there); on a sparse
        support it is read with each block of ``cost``, so the skim is not copied (#20).
        None: ``cost``'s diagonal.

    Returns
    -------
    pandas.DataFrame
        Flow table (persons/day), one row per pair with positive flow.

    Raises
    ------
    InputError
        If inputs are malformed, or a zone with positive production reaches no zone with
        positive attraction (the message names it).

    Examples
    --------
    >>> import pandas as pd
    >>> from urlink.model.flows.people import PeopleParams, gravity_production
    >>> zones = pd.DataFrame({"production": [100.0, 50.0, 80.0],
    ...                       "attraction": [60.0, 120.0, 50.0],
    ...                       "population": [1000.0, 400.0, 700.0]}, index=["a", "b", "c"])
    >>> cost = pd.DataFrame([[0, 10, 20], [10, 0, 15], [20, 15, 0]],
    ...                     index=zones.index, columns=zones.index, dtype=float)
    >>> flows = gravity_production(zones, cost, params=PeopleParams(beta=0.1))
    >>> flows[["origin", "destination", "volume"]].round(2)
      origin destination  volume
    0      a           b   86.71
    1      a           c   13.29
    2      b           a   33.21
    3      b           c   16.79
    4      c           a   18.62
    5      c           b   61.38
    >>> flows.groupby("origin")["volume"].sum().round(9).tolist()
    [100.0, 50.0, 80.0]
    """
    return _gravity_model("gravity_production", zones, cost, params, intrazonal)


@register("people", "gravity_attraction", settings=PeopleParams)
def gravity_attraction(
    zones: pd.DataFrame,
    cost: pd.DataFrame,
    *,
    params: PeopleParams,
    intrazonal: pd.Series | None = None,
) -> pd.DataFrame:
    """Attraction-constrained gravity: T_ij = D_j O_i f(c_ij) / sum_k O_k f(c_kj).

    Every column sums to the zone's attraction D_j (so D_j is in persons/day here).

    Parameters
    ----------
    zones
        Indexed by zone id, with ``production`` and ``attraction``.
    cost
        Origin x destination travel times in minutes (NaN = unreachable).
    params
        Deterrence function and beta (:class:`PeopleParams`).
    intrazonal
        Each zone's cost to itself, used on the diagonal of ``cost`` instead of its own
        (as :func:`urlink.model.intrazonal.with_intrazonal` would put it there); on a sparse
        support it is read with each block of ``cost``, so the skim is not copied (#20).
        None: ``cost``'s diagonal.

    Returns
    -------
    pandas.DataFrame
        Flow table (persons/day), one row per pair with positive flow.

    Raises
    ------
    InputError
        If inputs are malformed, or a zone with positive attraction is reached from no zone
        with positive production (the message names it).

    Examples
    --------
    >>> import pandas as pd
    >>> from urlink.model.flows.people import PeopleParams, gravity_attraction
    >>> zones = pd.DataFrame({"production": [100.0, 50.0, 80.0],
    ...                       "attraction": [60.0, 120.0, 50.0],
    ...                       "population": [1000.0, 400.0, 700.0]}, index=["a", "b", "c"])
    >>> cost = pd.DataFrame([[0, 10, 20], [10, 0, 15], [20, 15, 0]],
    ...                     index=zones.index, columns=zones.index, dtype=float)
    >>> flows = gravity_attraction(zones, cost, params=PeopleParams(beta=0.1))
    >>> flows.groupby("destination")["volume"].sum().round(9).tolist()
    [60.0, 120.0, 50.0]
    """
    return _gravity_model("gravity_attraction", zones, cost, params, intrazonal)


@register("people", "gravity_doubly", settings=PeopleParams)
def gravity_doubly(
    zones: pd.DataFrame,
    cost: pd.DataFrame,
    *,
    params: PeopleParams,
    intrazonal: pd.Series | None = None,
) -> pd.DataFrame:
    """Doubly-constrained gravity: T_ij = A_i O_i B_j D_j f(c_ij), balanced by Furness/IPF.

    Starting from B = 1, the balancing alternates A_i = 1 / sum_j B_j D_j f(c_ij) and
    B_j = 1 / sum_i A_i O_i f(c_ij) until the largest relative error of any row sum
    (vs O_i) or column sum (vs D_j) is at most ``params.tol`` [R46][R47].

    Parameters
    ----------
    zones
        Indexed by zone id, with ``production`` and ``attraction``; the two columns must
        have the same total (relative difference <= 1e-9).
    cost
        Origin x destination travel times in minutes (NaN = unreachable).
    params
        Deterrence, beta, ``tol`` and ``max_iter`` (:class:`PeopleParams`).
    intrazonal
        Each zone's cost to itself, used on the diagonal of ``cost`` instead of its own
        (as :func:`urlink.model.intrazonal.with_intrazonal` would put it there); on a sparse
        support it is read with each block of ``cost``, so the skim is not copied (#20).
        None: ``cost``'s diagonal.

    Returns
    -------
    pandas.DataFrame
        Flow table (persons/day), one row per pair with positive flow.

    Raises
    ------
    InputError
        If the totals differ, or a zone with positive production (attraction) reaches (is
        reached from) no zone with positive attraction (production).
    UrlinkError
        If balancing does not reach ``tol`` within ``max_iter`` iterations (the message
        gives both and the residual).

    Examples
    --------
    >>> import pandas as pd
    >>> from urlink.model.flows.people import PeopleParams, gravity_doubly
    >>> zones = pd.DataFrame({"production": [100.0, 50.0, 80.0],
    ...                       "attraction": [60.0, 120.0, 50.0],
    ...                       "population": [1000.0, 400.0, 700.0]}, index=["a", "b", "c"])
    >>> cost = pd.DataFrame([[0, 10, 20], [10, 0, 15], [20, 15, 0]],
    ...                     index=zones.index, columns=zones.index, dtype=float)
    >>> flows = gravity_doubly(zones, cost, params=PeopleParams(beta=0.1))
    >>> flows.groupby("origin")["volume"].sum().round(6).tolist()
    [100.0, 50.0, 80.0]
    >>> flows.groupby("destination")["volume"].sum().round(6).tolist()
    [60.0, 120.0, 50.0]
    """
    return _gravity_model("gravity_doubly", zones, cost, params, intrazonal)


@register("people", "radiation", settings=PeopleParams)
def radiation(zones: pd.DataFrame, cost: pd.DataFrame, *, params: PeopleParams) -> pd.DataFrame:
    """Radiation model (Simini et al. 2012 [R50]), optionally normalised (Masucci 2013 [R51]).

    T_ij = O_i m_i n_j / ((m_i + s_ij)(m_i + n_j + s_ij)), m = n = ``population``, s_ij the
    population of zones other than i and j with cost from i strictly below c_ij.
    Destinations at exactly the same cost from i (ties) do not count each other in s_ij;
    they share one shell: n_j + s_ij in the second factor becomes g_ij + s_ij, g_ij the
    population of the tied group including j (see the module docstring), which keeps row
    sums exact. Unreachable zones never intervene and receive nothing. The model is
    parameter-free: ``beta`` and ``deterrence`` are not used.

    With ``params.radiation_normalise`` rows are scaled by 1 / (1 - m_i / M_i), M_i = m_i
    plus the population reachable from i, so each row sums to O_i; without it rows sum to
    O_i (1 - m_i / M_i).

    Parameters
    ----------
    zones
        Indexed by zone id, with ``production`` and ``population``.
    cost
        Origin x destination travel times in minutes (NaN = unreachable); only their order
        from each origin matters.
    params
        ``radiation_normalise``; ``self_flows`` must be False.

    Returns
    -------
    pandas.DataFrame
        Flow table (persons/day), one row per pair with positive flow.

    Raises
    ------
    InputError
        If ``params.self_flows`` is True, or a zone with positive production has zero
        population or no reachable zone with positive population (the message names it).

    Examples
    --------
    >>> import pandas as pd
    >>> from urlink.model.flows.people import PeopleParams, radiation
    >>> zones = pd.DataFrame({"production": [100.0, 50.0, 80.0],
    ...                       "attraction": [60.0, 120.0, 50.0],
    ...                       "population": [1000.0, 400.0, 700.0]}, index=["a", "b", "c"])
    >>> cost = pd.DataFrame([[0, 10, 20], [10, 0, 15], [20, 15, 0]],
    ...                     index=zones.index, columns=zones.index, dtype=float)
    >>> flows = radiation(zones, cost, params=PeopleParams(beta=0.1))
    >>> flows.groupby("origin")["volume"].sum().round(9).tolist()
    [100.0, 50.0, 80.0]
    >>> s = radiation(zones, cost, params=PeopleParams(radiation_normalise=False))
    >>> float(round(s["volume"].iloc[0], 4))  # a -> b: 100 * 1000 * 400 / (1000 * 1400)
    28.5714
    """
    if not isinstance(params, PeopleParams):
        msg = f"params must be a PeopleParams, got {type(params).__name__}; use PeopleParams(...)"
        raise InputError(msg)
    if params.self_flows:
        msg = (
            "params.self_flows=True is not valid for radiation: the model has no self-flow "
            "term; use PeopleParams(self_flows=False)"
        )
        raise InputError(msg)
    if params.support != "dense":
        msg = (
            f"params.support={params.support!r} is not valid for radiation: its intervening "
            "opportunities need every destination; use support='dense' (the default)"
        )
        raise InputError(msg)
    data = _prepare(zones, cost, params)
    production = _zone_column(zones, "production", "radiation")
    pop = _zone_column(zones, "population", "radiation")
    needs = production > 0
    if (bad := needs & (pop <= 0)).any():
        msg = (
            f"zone(s) {_listed(data.ids[bad].tolist())} have positive production but zero "
            "population, which the radiation model needs (m_i > 0); fix the population or "
            "set their production to 0"
        )
        raise InputError(msg)
    reach_pop = np.where(data.valid, pop[None, :], 0.0).sum(axis=1)
    if (bad := needs & (reach_pop <= 0)).any():
        raise _unmet(data.ids, bad, "production", "population")
    s, s_shell = _intervening_population(data.cost, data.valid, pop)
    m_i, n_j = pop[:, None], pop[None, :]
    den = (m_i + s) * (m_i + s_shell)  # = (m_i + s_ij)(m_i + n_j + s_ij) without ties
    share = np.divide(m_i * n_j, den, out=np.zeros_like(den), where=data.valid & (den > 0))
    t = production[:, None] * share
    if params.radiation_normalise:
        factor = np.divide(pop + reach_pop, reach_pop, out=np.ones_like(pop), where=reach_pop > 0)
        t *= factor[:, None]
    return _flow_table(t, data, "radiation", params.top_destinations)


# --------------------------------------------------------------------------------------
# Fit statistics and calibration


def od_matrix_from(flows: pd.DataFrame, ids: Sequence[Hashable] | pd.Index) -> pd.DataFrame:
    """Pivot a flow table into an origin x destination matrix (zeros where no flow).

    Parameters
    ----------
    flows
        Table with ``origin``, ``destination`` and ``volume`` (volumes of repeated pairs
        are added).
    ids
        Zone ids, in the order of the matrix rows and columns.

    Returns
    -------
    pandas.DataFrame
        Square matrix indexed and columned by ``ids``.

    Raises
    ------
    InputError
        If columns are missing or a flow names a zone not in ``ids``.

    Examples
    --------
    >>> import pandas as pd
    >>> from urlink.model.flows.people import od_matrix_from
    >>> f = pd.DataFrame({"origin": ["a"], "destination": ["b"], "volume": [3.0]})
    >>> od_matrix_from(f, ["a", "b"])
         a    b
    a  0.0  3.0
    b  0.0  0.0
    """
    missing = [c for c in ("origin", "destination", "volume") if c not in flows.columns]
    if missing:
        msg = f"flows has no column(s) {missing}; pass a flow table (origin, destination, volume)"
        raise InputError(msg)
    index = pd.Index(ids)
    unknown = pd.Index(flows["origin"]).union(pd.Index(flows["destination"])).difference(index)
    if len(unknown):
        msg = f"flows name zone id(s) {_listed(unknown.tolist())} that are not in ids; add them"
        raise InputError(msg)
    table = flows.pivot_table(
        index="origin", columns="destination", values="volume", aggfunc="sum", fill_value=0.0
    )
    out = table.reindex(index=index, columns=index, fill_value=0.0).astype(float)
    out.index.name = None
    out.columns.name = None
    return out


def _paired(observed: pd.DataFrame, modelled: pd.DataFrame) -> tuple[FloatArray, FloatArray]:
    for name, frame in (("observed", observed), ("modelled", modelled)):
        if not isinstance(frame, pd.DataFrame):
            msg = (
                f"{name} must be an origin x destination pandas DataFrame, got "
                f"{type(frame).__name__}; pivot a flow table with od_matrix_from"
            )
            raise InputError(msg)
    if set(observed.index) != set(modelled.index) or set(observed.columns) != set(
        modelled.columns
    ):
        msg = (
            "observed and modelled must have the same zone ids on both axes; reindex one to "
            "the other (e.g. modelled.reindex_like(observed).fillna(0))"
        )
        raise InputError(msg)
    obs = observed.to_numpy(dtype=float, na_value=np.nan)
    mod = modelled.reindex(index=observed.index, columns=observed.columns).to_numpy(
        dtype=float, na_value=np.nan
    )
    for name, arr in (("observed", obs), ("modelled", mod)):
        if not np.isfinite(arr).all():
            msg = f"{name} holds NaN or infinite values; use 0 for pairs without flow"
            raise InputError(msg)
    return obs, mod


def srmse(observed: pd.DataFrame, modelled: pd.DataFrame) -> float:
    """Standardised root mean square error of two OD matrices.

    SRMSE = sqrt(sum_ij (Tobs_ij - Tmod_ij)^2 / N) / (sum_ij Tobs_ij / N), N the number of
    cells (the standard definition, Knudsen & Fotheringham 1986; not in the project
    reference list). 0 is a perfect fit; N counts every cell given, diagonal included.

    Parameters
    ----------
    observed, modelled
        Origin x destination matrices with the same labels (order may differ).

    Returns
    -------
    float
        The SRMSE (>= 0).

    Raises
    ------
    InputError
        If labels differ, values are not finite, or the observed total is 0.

    Examples
    --------
    >>> import pandas as pd
    >>> from urlink.model.flows.people import srmse
    >>> obs = pd.DataFrame([[0.0, 4.0], [2.0, 0.0]], index=["a", "b"], columns=["a", "b"])
    >>> mod = pd.DataFrame([[0.0, 3.0], [3.0, 0.0]], index=["a", "b"], columns=["a", "b"])
    >>> round(srmse(obs, mod), 12)  # sqrt((1 + 1) / 4) / (6 / 4)
    0.471404520791
    """
    obs, mod = _paired(observed, modelled)
    total = obs.sum()
    if total <= 0:
        msg = "observed sums to 0, so SRMSE is undefined; pass an OD matrix with flows"
        raise InputError(msg)
    n = obs.size
    return float(math.sqrt(float(((obs - mod) ** 2).sum()) / n) / (total / n))


def common_part_of_commuters(observed: pd.DataFrame, modelled: pd.DataFrame) -> float:
    """Return the common part of commuters (CPC, a Sørensen index) of two OD matrices.

    CPC = 2 sum_ij min(Tobs_ij, Tmod_ij) / (sum_ij Tobs_ij + sum_ij Tmod_ij), from 0 (no
    overlap) to 1 (identical), as in Lenormand et al. 2016 [R54] and TDLM [R53].

    Parameters
    ----------
    observed, modelled
        Origin x destination matrices with the same labels (order may differ).

    Returns
    -------
    float
        CPC in [0, 1] for non-negative matrices.

    Raises
    ------
    InputError
        If labels differ, values are not finite, or both totals are 0.

    Examples
    --------
    >>> import pandas as pd
    >>> from urlink.model.flows.people import common_part_of_commuters
    >>> obs = pd.DataFrame([[0.0, 4.0], [2.0, 0.0]], index=["a", "b"], columns=["a", "b"])
    >>> mod = pd.DataFrame([[0.0, 3.0], [3.0, 0.0]], index=["a", "b"], columns=["a", "b"])
    >>> common_part_of_commuters(obs, mod)  # 2 * (3 + 2) / (6 + 6)
    0.8333333333333334
    """
    obs, mod = _paired(observed, modelled)
    total = obs.sum() + mod.sum()
    if total <= 0:
        msg = "observed and modelled both sum to 0, so CPC is undefined; pass flows"
        raise InputError(msg)
    return float(2.0 * np.minimum(obs, mod).sum() / total)


def calibrate_beta(
    observed: pd.DataFrame,
    zones: pd.DataFrame,
    cost: pd.DataFrame,
    *,
    model: GravityModel = "gravity_doubly",
    deterrence: Deterrence = "exp",
    method: CalibrationMethod = "poisson",
    bounds: tuple[float, float] = (1e-4, 5.0),
    self_flows: bool = False,
    min_cost_min: float = 1.0,
    tol: float = 1e-9,
    max_iter: int = 1000,
) -> CalibrationResult:
    """Fit the gravity decay parameter beta to an observed OD matrix.

    The model runs with the margins in ``zones`` (``production``, ``attraction``); every
    gravity variant here fixes the total flow, so the fit depends only on the pattern of
    ``observed`` and ``observed`` may be a sample.

    - ``"poisson"``: maximise the Poisson log-likelihood sum_ij [Tobs_ij log Tmod_ij -
      Tmod_ij] over beta in ``bounds`` (bounded Brent, scipy ``minimize_scalar``). This is
      the single-parameter form of the Poisson GLM fit of [R47][R48][R49].
    - ``"mean_time"``: find beta (Brent root, ``brentq``) at which the trip-weighted mean
      travel time of the model equals the observed one. For ``"exp"`` deterrence and the
      doubly-constrained model this is the maximum-likelihood condition as well [R47].

    Both first scan 31 log-spaced betas upwards from ``bounds[0]`` and stop at the first
    rise of the negative log-likelihood (``"poisson"``, assumed unimodal in beta) or sign
    change of the mean-time difference (``"mean_time"``, decreasing in beta); Brent then
    refines within the bracket found. Doubly-constrained balancing converges ever more
    slowly as beta grows (at beta = 1/min it can need some 10,000 iterations), so the scan
    keeps the search away from large betas unless the optimum is there.

    Pairs that are unreachable (NaN cost) and, unless ``self_flows``, the diagonal are left
    out of the fit; observed trips on the diagonal are then dropped with a warning.

    beta is only identifiable when the constrained flows depend on it: for example with
    three zones, symmetric costs and no self-flows, every beta gives the same
    doubly-constrained flows (one degree of freedom, fixed by the cost cycle, which is 0).

    Parameters
    ----------
    observed
        Observed OD matrix (counts), labelled on both axes by the ids of ``zones``.
    zones
        Indexed by zone id, with ``production`` and ``attraction``.
    cost
        Origin x destination travel times in minutes (NaN = unreachable).
    model
        Gravity model to fit (see :data:`GravityModel`).
    deterrence
        ``"exp"`` or ``"power"``.
    method
        ``"poisson"`` or ``"mean_time"``.
    bounds
        Search interval ``(low, high)`` for beta, 0 <= low < high.
    self_flows, min_cost_min, tol, max_iter
        As in :class:`PeopleParams`.

    Returns
    -------
    CalibrationResult
        Fitted beta with fit statistics at that beta.

    Raises
    ------
    InputError
        If an option is invalid, ``observed`` is misaligned or empty, observed trips fall
        on pairs the model cannot serve (unreachable, or zero production/attraction), or
        (``mean_time``) no beta in ``bounds`` matches the observed mean time.
    UrlinkError
        If the optimiser fails, or doubly-constrained balancing does not converge at a beta
        next to the optimum.

    Warns
    -----
    UrlinkWarning
        If observed diagonal trips are dropped, or the fitted beta lies on a bound.

    Examples
    --------
    >>> import pandas as pd
    >>> from urlink.model.flows.people import (PeopleParams, calibrate_beta, gravity_doubly,
    ...                                  od_matrix_from)
    >>> zones = pd.DataFrame({"production": [100.0, 50.0, 80.0, 20.0],
    ...                       "attraction": [60.0, 120.0, 50.0, 20.0]},
    ...                      index=["a", "b", "c", "d"])
    >>> cost = pd.DataFrame([[0, 10, 20, 30], [10, 0, 15, 25], [20, 15, 0, 12],
    ...                      [30, 25, 12, 0]],
    ...                     index=zones.index, columns=zones.index, dtype=float)
    >>> flows = gravity_doubly(zones, cost, params=PeopleParams(beta=0.07))
    >>> observed = od_matrix_from(flows, zones.index)
    >>> fit = calibrate_beta(observed, zones, cost)
    >>> round(fit.beta, 6), round(fit.cpc, 6)
    (0.07, 1.0)
    """
    if model not in _GRAVITY_CONSTRAINT:
        msg = (
            f"model={model!r} is not valid for calibration; use one of "
            f"{get_args(GravityModel)} (radiation has no beta)"
        )
        raise InputError(msg)
    if method not in get_args(CalibrationMethod):
        msg = f"method={method!r} is not valid; use one of {get_args(CalibrationMethod)}"
        raise InputError(msg)
    if (
        not isinstance(bounds, tuple | list)
        or len(bounds) != 2
        or not all(_is_real(v) and math.isfinite(v) for v in bounds)
        or not 0 <= bounds[0] < bounds[1]
    ):
        msg = f"bounds={bounds!r} is not valid; use (low, high) with 0 <= low < high, finite"
        raise InputError(msg)
    low, high = float(bounds[0]), float(bounds[1])
    params = PeopleParams(
        deterrence=deterrence,
        beta=low,
        self_flows=self_flows,
        tol=tol,
        max_iter=max_iter,
        min_cost_min=min_cost_min,
    )
    data = _prepare(zones, cost, params)
    production = _zone_column(zones, "production", model)
    attraction = _zone_column(zones, "attraction", model)
    obs = _observed_array(observed, data, production, attraction)
    constraint = _GRAVITY_CONSTRAINT[model]
    minutes = np.where(data.valid, data.cost, 0.0)
    mean_obs = float((obs * minutes).sum() / obs.sum())

    def modelled(beta: float) -> FloatArray:
        log_f = _log_deterrence(data.cost, data.valid, deterrence, beta, min_cost_min)
        return _gravity_matrix(
            constraint, data.ids, production, attraction, log_f=log_f, params=params
        )

    def mean_time(t: FloatArray) -> float:
        return float((t * minutes).sum() / t.sum())

    tiny = np.finfo(float).tiny

    def neg_log_likelihood(beta: float) -> float:
        t = modelled(beta)
        return -float((obs * np.log(np.maximum(t, tiny))).sum() - t.sum())

    def excess_time(beta: float) -> float:
        return mean_time(modelled(beta)) - mean_obs

    if method == "poisson":
        beta, iterations = _minimise_scanned(neg_log_likelihood, low, high)
    else:
        beta, iterations = _root_scanned(excess_time, low, high, mean_obs)
    t = modelled(beta)
    observed_m = pd.DataFrame(obs, index=data.ids, columns=data.ids)
    modelled_m = pd.DataFrame(t, index=data.ids, columns=data.ids)
    logger.info(f"calibrated beta={beta:.6g} ({method}, {model}, {deterrence})")
    return CalibrationResult(
        beta=beta,
        method=method,
        srmse=srmse(observed_m, modelled_m),
        cpc=common_part_of_commuters(observed_m, modelled_m),
        mean_time_observed=mean_obs,
        mean_time_modelled=mean_time(t),
        n_pairs=int(data.valid.sum()),
        iterations=iterations,
    )


def calibrate_to_mean_time(
    zones: pd.DataFrame,
    cost: pd.DataFrame,
    *,
    target_mean_min: float,
    model: GravityModel = "gravity_doubly",
    params: PeopleParams | None = None,
    bounds: tuple[float, float] = (1e-4, 5.0),
    measure: pd.DataFrame | None = None,
    origins: Sequence[Hashable] | pd.Index | None = None,
) -> CalibrationResult:
    """Fit beta so that the model's mean trip time (or length) equals a target (a survey's).

    Where no observed OD matrix exists, a travel survey's mean trip time is the usual
    calibration target of a gravity model: for exponential deterrence and the doubly
    constrained model, matching the mean cost is the maximum-likelihood condition [R47].
    The root is found as in :func:`calibrate_beta` with ``method="mean_time"`` (a scan, then
    Brent); ``srmse`` and ``cpc`` are NaN (nothing observed to compare with).

    Parameters
    ----------
    zones
        Indexed by zone id, with ``production`` and ``attraction``.
    cost
        Origin x destination travel times in minutes (with intrazonal times on the diagonal
        when ``params.self_flows``).
    target_mean_min
        The trip-weighted mean travel time to reproduce (minutes).
    model
        Gravity model (see :data:`GravityModel`).
    params
        The other settings (deterrence, self_flows, tolerances); its ``beta`` is ignored.
    bounds
        Search interval for beta.
    measure
        What is averaged, origin x destination (e.g. trip lengths in km, with intrazonal
        lengths on the diagonal); ``target_mean_min`` is then in its unit. None: ``cost``.
    origins
        Average over the trips of these origins only (the residents of a study area whose
        survey gave the target); None: every trip.

    Returns
    -------
    CalibrationResult
        ``mean_time_observed`` / ``mean_time_modelled`` hold the target and the mean reached
        (in the unit of ``measure``).

    Raises
    ------
    InputError
        If the target cannot be reached with a beta in ``bounds`` (the message gives the
        means at the bounds).

    Examples
    --------
    >>> zones = pd.DataFrame({"production": [100.0, 50.0, 80.0], "attraction": [60.0, 120.0,
    ...                       50.0]}, index=["a", "b", "c"])
    >>> cost = pd.DataFrame([[5, 10, 20], [10, 4, 15], [20, 15, 6]], index=zones.index,
    ...                     columns=zones.index, dtype=float)
    >>> fit = calibrate_to_mean_time(zones, cost, target_mean_min=9.0,
    ...                              params=PeopleParams(self_flows=True))
    >>> round(fit.mean_time_modelled, 9), fit.beta > 0
    (9.0, True)
    """
    if model not in _GRAVITY_CONSTRAINT:
        msg = f"model={model!r} has no beta to calibrate; use one of {get_args(GravityModel)}"
        raise InputError(msg)
    if not (_is_real(target_mean_min) and math.isfinite(target_mean_min) and target_mean_min > 0):
        msg = f"target_mean_min={target_mean_min!r} must be a positive number of minutes"
        raise InputError(msg)
    base = params if params is not None else PeopleParams()
    low, high = float(bounds[0]), float(bounds[1])
    data = _prepare(zones, cost, dataclasses.replace(base, beta=low))
    production = _zone_column(zones, "production", model)
    attraction = _zone_column(zones, "attraction", model)
    constraint = _GRAVITY_CONSTRAINT[model]
    values = data.cost if measure is None else _cost_array(measure, data.ids, "measure")
    minutes = np.where(data.valid, values, 0.0)
    if origins is not None:
        rows = data.ids.isin(pd.Index(origins))
        if not rows.any():
            msg = "origins names none of the zones; give zone ids of the study area"
            raise InputError(msg)
        minutes = np.where(rows[:, None], minutes, 0.0)

    def modelled(beta: float) -> FloatArray:
        log_f = _log_deterrence(data.cost, data.valid, base.deterrence, beta, base.min_cost_min)
        return _gravity_matrix(
            constraint, data.ids, production, attraction, log_f=log_f, params=base
        )

    weight = np.ones((len(data.ids), 1)) if origins is None else rows[:, None].astype(float)

    def mean(t: FloatArray) -> float:
        return float((t * minutes).sum() / (t * weight).sum())

    def excess_time(beta: float) -> float:
        return mean(modelled(beta)) - target_mean_min

    beta, iterations = _root_scanned(excess_time, low, high, float(target_mean_min))
    t = modelled(beta)
    achieved = mean(t)
    logger.info(f"calibrated beta={beta:.6g} to a mean trip time of {achieved:.4g} min")
    return CalibrationResult(
        beta=beta,
        method="mean_time",
        srmse=math.nan,
        cpc=math.nan,
        mean_time_observed=float(target_mean_min),
        mean_time_modelled=achieved,
        n_pairs=int(data.valid.sum()),
        iterations=iterations,
    )


_SCAN_POINTS = 31  # log-spaced betas tried in bounds before the 1-d optimiser refines
_XATOL = 1e-9  # absolute tolerance on beta


def _scan_grid(low: float, high: float) -> FloatArray:
    if low > 0:
        return np.geomspace(low, high, _SCAN_POINTS)
    return np.concatenate([[0.0], np.geomspace(high * 1e-4, high, _SCAN_POINTS - 1)])


def _try(func: Callable[[float], float], beta: float) -> float:
    """``func(beta)``, or NaN when the balancing did not converge at that beta."""
    try:
        return func(beta)
    except InputError:
        raise
    except UrlinkError as err:
        logger.debug(f"beta={beta:.6g} skipped in the scan: {err}")
        return math.nan


def _no_convergence(beta: float) -> UrlinkError:
    msg = (
        f"calibrate_beta: gravity_doubly balancing did not converge at beta={beta:.6g}, next "
        "to the best value found; raise max_iter (balancing slows as beta grows) or narrow "
        "bounds"
    )
    return UrlinkError(msg)


def _minimise_scanned(
    func: Callable[[float], float], low: float, high: float
) -> tuple[float, int]:
    """Minimise a unimodal ``func`` on [low, high]: ascending scan, then bounded Brent.

    The scan stops at the first increase, so very large betas (where doubly-constrained
    balancing converges slowly) are only tried when the optimum lies near them.
    """
    grid = _scan_grid(low, high)
    values: list[float] = []
    best = 0
    for k, beta in enumerate(grid):
        values.append(_try(func, float(beta)))
        if math.isnan(values[-1]):
            if k <= best + 1:
                raise _no_convergence(float(beta))
            break
        if values[-1] < values[best]:
            best = k
        elif k > best:  # past the minimum of a unimodal function
            break
    lo = float(grid[max(best - 1, 0)])
    hi = float(grid[min(best + 1, len(grid) - 1)])
    res = minimize_scalar(
        func, bounds=(lo, hi), method="bounded", options={"xatol": _XATOL, "maxiter": 500}
    )
    if not res.success:
        msg = f"calibrate_beta: the optimiser failed ({res.message}); check observed"
        raise UrlinkError(msg)
    beta = float(res.x)
    if min(beta - low, high - beta) <= 1000 * _XATOL:
        msg = (
            f"calibrate_beta: fitted beta={beta:.6g} lies on a bound of bounds={(low, high)!r}; "
            "widen bounds or check the deterrence function"
        )
        warnings.warn(msg, UrlinkWarning, stacklevel=3)
    return beta, len(values) + int(res.nit)


def _root_scanned(
    func: Callable[[float], float], low: float, high: float, mean_obs: float
) -> tuple[float, int]:
    """Root of a decreasing ``func`` on [low, high]: ascending scan, then Brent (brentq)."""
    grid = _scan_grid(low, high)
    previous = _try(func, low)
    if math.isnan(previous):
        raise _no_convergence(low)
    if previous < 0:
        msg = (
            f"observed mean trip time {mean_obs:.4g} min is longer than the model gives at "
            f"the lowest beta ({mean_obs + previous:.4g} min at beta={low!r}); lower "
            "bounds[0] or use method='poisson'"
        )
        raise InputError(msg)
    for k in range(1, len(grid)):
        value = _try(func, float(grid[k]))
        if math.isnan(value):
            raise _no_convergence(float(grid[k]))
        if value <= 0:
            root, info = brentq(
                func, float(grid[k - 1]), float(grid[k]), xtol=1e-12, full_output=True
            )
            return float(root), k + 1 + int(info.iterations)
        previous = value
    msg = (
        f"observed mean trip time {mean_obs:.4g} min is shorter than the model gives at the "
        f"highest beta ({mean_obs + previous:.4g} min at beta={high!r}); raise bounds[1] or "
        "use method='poisson'"
    )
    raise InputError(msg)


def _observed_array(
    observed: pd.DataFrame, data: _Inputs, production: FloatArray, attraction: FloatArray
) -> FloatArray:
    """Align ``observed`` to the zones and check the model can reproduce its support."""
    obs = _cost_array(observed, data.ids, name="observed")
    if not np.isfinite(obs).all() or (obs < 0).any():
        msg = "observed must hold finite counts >= 0; use 0 for pairs without trips"
        raise InputError(msg)
    n = len(data.ids)
    diagonal = np.eye(n, dtype=bool) & ~data.valid
    dropped = float(obs[diagonal].sum())
    if dropped > 0:
        msg = (
            f"observed has {dropped:,.6g} trips within zones (diagonal); they are left out of "
            "the fit because self_flows=False (pass self_flows=True to model them)"
        )
        warnings.warn(msg, UrlinkWarning, stacklevel=3)
    support = data.valid & (production[:, None] > 0) & (attraction[None, :] > 0)
    off = (obs > 0) & ~support & ~diagonal
    if off.any():
        r, c = np.nonzero(off)
        pairs = [(data.ids[int(i)], data.ids[int(j)]) for i, j in zip(r, c, strict=True)]
        msg = (
            f"observed has trips on pair(s) {_listed(pairs)} that the model cannot serve "
            "(cost is NaN, or the origin's production or destination's attraction is 0); "
            "fix cost or zones, or drop those trips"
        )
        raise InputError(msg)
    obs = np.where(data.valid, obs, 0.0)
    if obs.sum() <= 0:
        msg = "observed has no trips on the pairs being fitted; pass an OD matrix with flows"
        raise InputError(msg)
    return obs
