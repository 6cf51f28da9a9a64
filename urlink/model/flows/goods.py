"""Goods flows: tonnes per day from producing zones to markets and processors.

Every model has the goods signature of :mod:`urlink.model.flows`::

    model(zones, cost, *, params: GoodsParams) -> flow table

``zones`` is indexed by zone id and holds ``supply`` (t/day produced, >= 0) and ``demand``
(t/day that markets and processors absorb, >= 0); ``cost`` is an origin x destination table
of travel times in minutes (NaN = unreachable; the diagonal is the intra-zonal time). Flow
tables carry ``volume`` in t/day, ``time_min`` (the pair's travel time) and ``commodity``.

Models
------
``production_constrained``
    Every source ships all its supply, split over the markets it can reach in proportion to
    D_j exp(-beta c_ij) (a production-constrained gravity model with exponential deterrence,
    Wilson family; ``docs/models.md``):

        T_ij = S_i * D_j exp(-beta c_ij) / sum_k D_k exp(-beta c_ik)

``min_cost_transport``
    The transportation problem: minimise sum T_ij c_ij subject to sum_j T_ij = S_i (every
    source ships all its supply), sum_i T_ij <= D_j (a market absorbs at most its demand)
    and T_ij >= 0, solved with HiGHS (:func:`scipy.optimize.linprog`). It is the cheapest
    way to move the harvest: a lower bound on the tonne-minutes of any assignment.

Indicators
----------
:func:`tonne_km` gives t·km/day per flow, and :func:`weighted_average_source_distance` the
weighted average source distance WASD = sum m_k d_k / sum m_k (Carlsson-Kanyama 1997, as
described in domain-methods R60 and used by the Leopold Center, R61).
"""

from __future__ import annotations

import logging
import math
import numbers
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.optimize import linprog

from urlink.errors import InputError, UrlinkError
from urlink.model.flows.base import finish_columns, register

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "DEFAULT_BETA_PER_MIN",
    "HUANGYAN_MANDARIN_T_PER_YEAR",
    "GoodsParams",
    "mandarin_supply_from_area",
    "min_cost_transport",
    "production_constrained",
    "tonne_km",
    "weighted_average_source_distance",
]

logger = logging.getLogger(__name__)

DEFAULT_BETA_PER_MIN = 0.02
"""Default deterrence of goods flows, per minute of travel time (an assumption).

No published distance-decay parameter for agri-food shipments in Zhejiang was found, so
0.02/min is an **assumption**: the weight of a market halves every ln 2 / 0.02 ≈ 35 min,
about the drive across Huangyan (54 km east-west). Freight decay parameters differ by
commodity (low for goods carried far, high for goods carried short distances) and should
be fitted to observed shipments (wholesale-market arrival records) where they exist.
"""

HUANGYAN_MANDARIN_T_PER_YEAR = 58_400
"""Huangyan mandarin (黄岩蜜橘) output, tonnes per year, for demonstrations.

Two 2022 reports disagree slightly: about 5.84万 t a year from 6.32万亩 of citrus
(http://farm.00-net.com/news/3n/2022-11-19/340639.html, domain-methods R24) and 6.3万 t from
5.8万亩 (新民晚报 2022-10-25, https://paper.xinmin.cn/html/xmwb/2022-10-25/11/148411.html).
The lower figure is used; both are secondary sources (see
``/work/shared/data/huangyan_facts.md``) to be checked against the statistical yearbook.
"""


@dataclass(frozen=True, slots=True)
class GoodsParams:
    """Parameters of the goods models.

    Attributes
    ----------
    beta
        Deterrence per minute in exp(-beta c_ij) (``production_constrained`` only); 0 splits
        supply in proportion to demand alone. Default :data:`DEFAULT_BETA_PER_MIN` (0.02, an
        assumption).
    self_flows
        Allow a zone that both produces and demands to supply itself (local consumption,
        local packing houses). Default True: local consumption is real, and forbidding it
        would send a township's oranges past its own market.
    commodity
        Name written into the flow table's ``commodity`` column.

    Raises
    ------
    InputError
        If ``beta`` is negative or not finite, ``self_flows`` is not a bool or ``commodity``
        is empty.

    Examples
    --------
    >>> from urlink.model.flows.goods import GoodsParams
    >>> GoodsParams(beta=0.05, commodity="mandarin")
    GoodsParams(beta=0.05, self_flows=True, commodity='mandarin')
    >>> GoodsParams(beta=-1)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    urlink.errors.InputError: GoodsParams.beta = -1 must be a finite number >= 0 ...
    """

    beta: float = DEFAULT_BETA_PER_MIN
    self_flows: bool = True
    commodity: str = "goods"

    def __post_init__(self) -> None:
        """Check the field values."""
        b = self.beta
        if isinstance(b, bool) or not isinstance(b, numbers.Real) or not (math.isfinite(b)):
            ok = False
        else:
            ok = b >= 0
        if not ok:
            msg = (
                f"GoodsParams.beta = {b!r} must be a finite number >= 0 (per minute); "
                f"use e.g. {DEFAULT_BETA_PER_MIN}"
            )
            raise InputError(msg)
        if not isinstance(self.self_flows, bool):
            msg = f"GoodsParams.self_flows = {self.self_flows!r} must be True or False"
            raise InputError(msg)
        if not isinstance(self.commodity, str) or not self.commodity.strip():
            msg = (
                f"GoodsParams.commodity = {self.commodity!r} must be a non-empty string, "
                "e.g. 'mandarin'"
            )
            raise InputError(msg)


# ----------------------------------------------------------------------------- inputs


def _plain(value: object) -> object:
    """Return a numpy scalar as a Python value (messages then read -1.0, not np.float64)."""
    return value.item() if isinstance(value, np.generic) else value


def _check_amounts(zones: pd.DataFrame, model: str) -> tuple[np.ndarray, np.ndarray]:
    """Return ``supply`` and ``demand`` as float arrays after checking them."""
    if not isinstance(zones, pd.DataFrame):
        msg = f"goods model {model!r}: zones must be a pandas DataFrame, got {type(zones)!r}"
        raise InputError(msg)
    missing = [c for c in ("supply", "demand") if c not in zones.columns]
    if missing:
        msg = (
            f"goods model {model!r}: zones has no column(s) {missing}; add supply and demand "
            "in t/day"
        )
        raise InputError(msg)
    if not zones.index.is_unique:
        dup = sorted(map(str, zones.index[zones.index.duplicated()].unique()))
        msg = f"goods model {model!r}: zone ids {dup} occur more than once in zones' index"
        raise InputError(msg)
    out = []
    for col in ("supply", "demand"):
        column = zones[col]
        if column.dtype == np.float64:  # numbers already: the same checks with numpy
            values = column.to_numpy(copy=True)
            if np.isfinite(values).all() and not (values < 0).any():
                out.append(values)
                continue
        v = pd.to_numeric(column, errors="coerce").astype(float)
        bad = v.isna() | ~np.isfinite(v) | (v < 0)
        if bad.any():
            shown = {str(k): _plain(zones.at[k, col]) for k in v.index[bad][:5]}
            msg = (
                f"goods model {model!r}: zones[{col!r}] must be finite numbers >= 0 (t/day); "
                f"bad values {shown}"
            )
            raise InputError(msg)
        out.append(v.to_numpy())
    return out[0], out[1]


def _check_cost(cost: pd.DataFrame, index: pd.Index, model: str) -> np.ndarray:
    """Return ``cost`` aligned to ``index`` on both axes as a float array (NaN unreachable)."""
    if not isinstance(cost, pd.DataFrame):
        msg = f"goods model {model!r}: cost must be a pandas DataFrame, got {type(cost)!r}"
        raise InputError(msg)
    aligned = index.is_unique and cost.index.equals(index) and cost.columns.equals(index)
    for axis, labels in () if aligned else (("rows", cost.index), ("columns", cost.columns)):
        lost = index.difference(labels)
        if len(lost):
            msg = (
                f"goods model {model!r}: cost {axis} lack zone ids {sorted(map(str, lost))[:5]}"
                "; give a travel time (or NaN) for every zone pair"
            )
            raise InputError(msg)
    c = cost if aligned else cost.reindex(index=index, columns=index)  # aligned: a copy
    if not all(pd.api.types.is_numeric_dtype(t) for t in c.dtypes):  # numbers pass as they are
        c = c.apply(pd.to_numeric, errors="coerce")
    arr: np.ndarray = np.asarray(c.to_numpy(dtype=float), dtype=float)
    if np.isinf(arr).any() or (arr < 0).any():
        msg = (
            f"goods model {model!r}: cost holds negative or infinite travel times; times must "
            "be >= 0 minutes, with NaN for unreachable pairs"
        )
        raise InputError(msg)
    return arr


def _reachable(
    supply: np.ndarray, demand: np.ndarray, c: np.ndarray, *, self_flows: bool
) -> np.ndarray:
    """Boolean matrix of pairs that may carry a flow."""
    ok: np.ndarray = np.isfinite(c) & (supply[:, None] > 0) & (demand[None, :] > 0)
    if not self_flows:
        np.fill_diagonal(ok, val=False)
    return ok


def _no_market_error(
    index: pd.Index, supply: np.ndarray, ok: np.ndarray, model: str, *, self_flows: bool
) -> None:
    """Raise if a zone with supply cannot reach any zone with demand."""
    stuck = (supply > 0) & ~ok.any(axis=1)
    if stuck.any():
        ids = [str(z) for z in index[stuck]]
        extra = "" if self_flows else " (self_flows is False)"
        msg = (
            f"goods model {model!r}: zone(s) {ids[:10]} have supply but reach no zone with "
            f"demand > 0{extra}; add demand they can reach, fix the cost matrix, or set their "
            "supply to 0"
        )
        raise InputError(msg)


def _table(
    index: pd.Index, flow: np.ndarray, c: np.ndarray, ok: np.ndarray, *, model: str, commodity: str
) -> pd.DataFrame:
    i, j = np.nonzero(ok)
    columns = {
        "origin": _ids_at(index, i),
        "destination": _ids_at(index, j),
        "volume": flow[i, j],
        "time_min": c[i, j],
    }
    return finish_columns(
        columns, flow_type="goods", model=model, source="modelled", commodity=commodity
    )


_STR = pd.Series(["id"]).dtype
"""The dtype a table gives a column of strings (pandas' string dtype from pandas 3 on)."""


def _ids_at(index: pd.Index, positions: np.ndarray) -> Any:
    """``index.to_numpy()[positions]`` as a table's column stores it.

    A table infers a column of strings from objects: ids in that dtype already are taken
    from the index as they are (#16), without the objects. Other objects are left to the
    table to infer (see :func:`urlink.model.flows.base.finish_columns`).
    """
    if isinstance(index.dtype, pd.StringDtype) and index.dtype == _STR:
        return index.array.take(positions)
    return index.to_numpy()[positions]


# ----------------------------------------------------------------------------- models


@register("goods", "production_constrained", settings=GoodsParams)
def production_constrained(
    zones: pd.DataFrame, cost: pd.DataFrame, *, params: GoodsParams
) -> pd.DataFrame:
    """Split each zone's supply over the markets it reaches, by demand and travel time.

    T_ij = S_i * D_j exp(-beta c_ij) / sum_k D_k exp(-beta c_ik), over the zones k with
    demand > 0 and finite c_ik (and k != i unless ``params.self_flows``).

    Parameters
    ----------
    zones
        Indexed by zone id, with ``supply`` and ``demand`` in t/day.
    cost
        Origin x destination travel times in minutes; NaN = unreachable.
    params
        Deterrence ``beta`` per minute, ``self_flows`` and ``commodity``.

    Returns
    -------
    pandas.DataFrame
        Flow table (t/day) with ``time_min`` and ``commodity``; rows with zero volume are
        dropped.

    Raises
    ------
    InputError
        If a column is missing or negative, a zone id is missing from ``cost``, or a zone
        with supply reaches no zone with demand (the message names it).

    Examples
    --------
    >>> import pandas as pd
    >>> from urlink.model.flows.goods import GoodsParams, production_constrained
    >>> zones = pd.DataFrame({"supply": [10.0, 0.0, 0.0], "demand": [0.0, 1.0, 1.0]},
    ...                      index=["farm", "near", "far"])
    >>> cost = pd.DataFrame([[0, 10, 20], [10, 0, 10], [20, 10, 0]],
    ...                     index=zones.index, columns=zones.index, dtype=float)
    >>> f = production_constrained(zones, cost, params=GoodsParams(beta=0.0))
    >>> f[["origin", "destination", "volume", "time_min"]]
      origin destination  volume  time_min
    0   farm        near     5.0      10.0
    1   farm         far     5.0      20.0
    """
    name = "production_constrained"
    supply, demand = _check_amounts(zones, name)
    c = _check_cost(cost, zones.index, name)
    ok = _reachable(supply, demand, c, self_flows=params.self_flows)
    _no_market_error(zones.index, supply, ok, name, self_flows=params.self_flows)
    # Shift each row by its smallest reachable time before exp(): the shift cancels in the
    # normalisation and keeps the largest weight at D_j, so large beta*c cannot underflow.
    # (Only reachable pairs enter exp(), so no exponent is positive.)
    row_min = np.min(c, axis=1, initial=np.inf, where=ok)
    i, j = np.nonzero(ok)
    w = np.zeros_like(c)
    w[i, j] = demand[j] * np.exp(-params.beta * (c[i, j] - row_min[i]))
    total = w.sum(axis=1)
    flow = np.zeros_like(c)
    has = total > 0
    flow[has] = w[has] * (supply[has] / total[has])[:, None]
    return _table(zones.index, flow, c, ok, model=name, commodity=params.commodity)


@register("goods", "min_cost_transport", settings=GoodsParams)
def min_cost_transport(
    zones: pd.DataFrame, cost: pd.DataFrame, *, params: GoodsParams
) -> pd.DataFrame:
    """Ship all supply to markets with the least total tonne-minutes (transportation problem).

    Minimise sum_ij T_ij c_ij subject to sum_j T_ij = S_i, sum_i T_ij <= D_j, T_ij >= 0,
    with one variable per reachable pair (finite c_ij, S_i > 0, D_j > 0; i != j unless
    ``params.self_flows``), solved by HiGHS on sparse constraint matrices. ``beta`` is not
    used. HiGHS is deterministic, so equal inputs give equal flows; where several optima
    tie, which one is returned is up to the solver.

    Parameters
    ----------
    zones
        Indexed by zone id, with ``supply`` and ``demand`` (market capacity) in t/day.
    cost
        Origin x destination travel times in minutes; NaN = unreachable.
    params
        ``self_flows`` and ``commodity``.

    Returns
    -------
    pandas.DataFrame
        Flow table (t/day) with ``time_min`` and ``commodity``.

    Raises
    ------
    InputError
        If the inputs are malformed, a zone with supply reaches no market, total supply
        exceeds the demand the sources can reach (the message gives the shortfall), or the
        reachable markets cannot absorb the supply of some group of sources.
    UrlinkError
        If the solver stops for another reason (an internal error).

    Examples
    --------
    Two farms, two markets of 6 t/day each; farm ``a`` is next to ``x``, but ``x`` cannot
    take both farms' 5 t/day, so ``b`` (for which ``y`` is only a little worse) goes to ``y``:

    >>> import pandas as pd
    >>> from urlink.model.flows.goods import GoodsParams, min_cost_transport
    >>> zones = pd.DataFrame({"supply": [5.0, 5.0, 0, 0], "demand": [0, 0, 6.0, 6.0]},
    ...                      index=["a", "b", "x", "y"])
    >>> cost = pd.DataFrame(float("nan"), index=zones.index, columns=zones.index)
    >>> cost.loc["a", ["x", "y"]] = [10.0, 50.0]
    >>> cost.loc["b", ["x", "y"]] = [20.0, 25.0]
    >>> f = min_cost_transport(zones, cost, params=GoodsParams())
    >>> f[["origin", "destination", "volume"]]
      origin destination  volume
    0      a           x     5.0
    1      b           x     1.0
    2      b           y     4.0
    """
    name = "min_cost_transport"
    supply, demand = _check_amounts(zones, name)
    c = _check_cost(cost, zones.index, name)
    ok = _reachable(supply, demand, c, self_flows=params.self_flows)
    _no_market_error(zones.index, supply, ok, name, self_flows=params.self_flows)
    flow = np.zeros_like(c)
    if not ok.any():  # no supply anywhere: nothing to ship
        return _table(zones.index, flow, c, ok, model=name, commodity=params.commodity)

    total_supply = float(supply.sum())
    capacity = float(demand[ok.any(axis=0)].sum())
    if total_supply > capacity * (1 + 1e-12):
        msg = (
            f"goods model {name!r}: total supply {total_supply:,.6g} t/day exceeds the demand "
            f"the sources can reach, {capacity:,.6g} t/day, by {total_supply - capacity:,.6g} "
            "t/day; raise zones['demand'] at reachable markets, reduce zones['supply'], or "
            "use the 'production_constrained' model (which has no capacity limits)"
        )
        raise InputError(msg)

    i, j = np.nonzero(ok)
    src = np.unique(i)
    dst = np.unique(j)
    n = len(i)
    row_eq = np.searchsorted(src, i)
    row_ub = np.searchsorted(dst, j)
    ones = np.ones(n)
    a_eq = sp.csr_array((ones, (row_eq, np.arange(n))), shape=(len(src), n))
    a_ub = sp.csr_array((ones, (row_ub, np.arange(n))), shape=(len(dst), n))
    res = linprog(
        c[i, j],
        A_ub=a_ub,
        b_ub=demand[dst],
        A_eq=a_eq,
        b_eq=supply[src],
        bounds=(0, None),
        method="highs",
    )
    if res.status == 2:
        reach = {str(zones.index[s]): float(demand[ok[s]].sum()) for s in src[:10]}
        msg = (
            f"goods model {name!r}: the markets cannot absorb all supply although total "
            f"demand suffices: some sources reach too little demand (reachable demand per "
            f"source, t/day: {reach}); add demand those sources can reach or reduce their "
            "supply"
        )
        raise InputError(msg)
    if res.status != 0:
        msg = f"goods model {name!r}: HiGHS stopped with status {res.status}: {res.message}"
        raise UrlinkError(msg)
    x = np.asarray(res.x, dtype=float)
    # HiGHS may return -1e-15 and the like; clear solver noise relative to the largest supply.
    x[x < 1e-12 * max(float(supply.max()), 1.0)] = 0.0
    flow[i, j] = x
    logger.debug("min_cost_transport: %s variables, objective %.6g t·min/day", f"{n:,}", res.fun)
    return _table(zones.index, flow, c, ok, model=name, commodity=params.commodity)


# ----------------------------------------------------------------------------- indicators


def _flow_distances(flows: pd.DataFrame, distance_km: pd.DataFrame, what: str) -> np.ndarray:
    """Look up each flow's origin-destination distance (km), NaN where the matrix has NaN."""
    missing = [c for c in ("origin", "destination", "volume") if c not in flows.columns]
    if missing:
        msg = f"{what}: flows has no column(s) {missing}; pass a flow table"
        raise InputError(msg)
    if "unit" in flows.columns:
        units = sorted(set(flows["unit"].astype(str)) - {"t/day"})
        if units:
            msg = f"{what}: flows has unit(s) {units}; pass goods flows (unit 't/day')"
            raise InputError(msg)
    o = pd.Index(flows["origin"])
    d = pd.Index(flows["destination"])
    lost = sorted(
        {str(z) for z in o.difference(distance_km.index)}
        | {str(z) for z in d.difference(distance_km.columns)}
    )
    if lost:
        msg = (
            f"{what}: distance_km has no row or column for zone id(s) {lost[:10]}; give a "
            "distance for every origin and destination in flows"
        )
        raise InputError(msg)
    if len(flows) == 0:
        return np.zeros(0)
    r = distance_km.index.get_indexer(o)
    k = distance_km.columns.get_indexer(d)
    dist = distance_km.to_numpy(dtype=float)[r, k]
    if (dist < 0).any():
        msg = f"{what}: distance_km holds negative distances; distances must be >= 0 km"
        raise InputError(msg)
    return dist


def tonne_km(flows: pd.DataFrame, distance_km: pd.DataFrame) -> pd.Series:
    """Tonne-kilometres per day of each goods flow: volume (t/day) x distance (km).

    tkm_k = m_k d_k (the DEFRA freight algorithm multiplies this by an emission factor,
    domain-methods R59; see :mod:`urlink.model.carbon`).

    Parameters
    ----------
    flows
        Flow table with ``origin``, ``destination`` and ``volume`` in t/day.
    distance_km
        Origin x destination distances in km (e.g. network lengths of the routes).

    Returns
    -------
    pandas.Series
        ``tkm_per_day`` aligned to ``flows``' index; NaN where the distance is NaN.

    Raises
    ------
    InputError
        If columns are missing, the flows are not in t/day, a zone id is missing from
        ``distance_km`` or a distance is negative.

    Examples
    --------
    >>> import pandas as pd
    >>> from urlink.model.flows.goods import tonne_km
    >>> flows = pd.DataFrame({"origin": ["a", "a"], "destination": ["x", "y"],
    ...                       "volume": [2.0, 3.0]})
    >>> dist = pd.DataFrame({"x": [10.0], "y": [4.0]}, index=["a"])
    >>> tonne_km(flows, dist).tolist()
    [20.0, 12.0]
    """
    dist = _flow_distances(flows, distance_km, "tonne_km")
    vol = pd.to_numeric(flows["volume"], errors="coerce").to_numpy(dtype=float)
    return pd.Series(vol * dist, index=flows.index, name="tkm_per_day", dtype=float)


def weighted_average_source_distance(flows: pd.DataFrame, distance_km: pd.DataFrame) -> float:
    """Weighted average source distance (WASD) of goods flows, in km.

    WASD = sum_k m_k d_k / sum_k m_k (Carlsson-Kanyama 1997, via the Leopold Center
    food-miles method, domain-methods R60/R61: local produce in Iowa had a WASD of 56 miles
    against 1,494 miles for conventional supply).

    Parameters
    ----------
    flows
        Flow table with ``origin``, ``destination`` and ``volume`` in t/day.
    distance_km
        Origin x destination distances in km.

    Returns
    -------
    float
        WASD in km; NaN if the flows carry no volume (the average is undefined).

    Raises
    ------
    InputError
        As :func:`tonne_km`, and if a flow with volume > 0 has a NaN distance (leaving it
        out would bias the average).

    Examples
    --------
    >>> import pandas as pd
    >>> from urlink.model.flows.goods import weighted_average_source_distance
    >>> flows = pd.DataFrame({"origin": ["a", "a"], "destination": ["x", "y"],
    ...                       "volume": [2.0, 3.0]})
    >>> dist = pd.DataFrame({"x": [10.0], "y": [4.0]}, index=["a"])
    >>> weighted_average_source_distance(flows, dist)  # (2*10 + 3*4) / 5
    6.4
    """
    what = "weighted_average_source_distance"
    dist = _flow_distances(flows, distance_km, what)
    vol = pd.to_numeric(flows["volume"], errors="coerce").to_numpy(dtype=float)
    carried = vol > 0
    if np.isnan(dist[carried]).any():
        bad = flows.loc[carried & np.isnan(dist), ["origin", "destination"]].head(5)
        pairs = list(bad.itertuples(index=False, name=None))
        msg = f"{what}: distance_km is NaN for flow(s) {pairs}; give their route distances"
        raise InputError(msg)
    mass = float(vol[carried].sum())
    if mass == 0:
        return math.nan
    return float((vol[carried] * dist[carried]).sum() / mass)


# ----------------------------------------------------------------------------- supply


def mandarin_supply_from_area(
    zones: pd.DataFrame,
    *,
    total_t_per_year: float,
    weights: Mapping[str, float] | pd.Series,
    days: float = 365.0,
) -> pd.Series:
    """Estimate each zone's supply (t/day) by sharing an annual total in proportion to weights.

    supply_z = total_t_per_year * w_z / sum_z w_z / days

    The weights are any measure the output is taken to be proportional to, such as each
    township's orchard area; a uniform yield per area is the assumption behind the
    estimate. Zones without a weight get 0 (logged). The default ``days=365`` gives the
    year-round mean; mandarins are harvested from October to January, so pass the length
    of the shipping season instead to model peak-season flows.

    Parameters
    ----------
    zones
        Indexed by zone id (only the index is used).
    total_t_per_year
        Annual output in tonnes, e.g. :data:`HUANGYAN_MANDARIN_T_PER_YEAR`.
    weights
        Non-negative weights by zone id; their sum must be positive.
    days
        Days the annual output is spread over.

    Returns
    -------
    pandas.Series
        ``supply`` in t/day, indexed like ``zones``. ``attrs["source"]`` holds an
        ``"estimate: ..."`` note saying how it was made (copy it into output metadata).

    Raises
    ------
    InputError
        If the total or ``days`` is not a finite positive number (total may be 0), a weight
        is negative or not finite, a weight's zone id is not in ``zones``, or all weights
        are 0.

    Examples
    --------
    >>> import pandas as pd
    >>> from urlink.model.flows.goods import (HUANGYAN_MANDARIN_T_PER_YEAR,
    ...                                 mandarin_supply_from_area)
    >>> zones = pd.DataFrame(index=["北洋镇", "院桥镇", "东城街道"])
    >>> s = mandarin_supply_from_area(zones, total_t_per_year=HUANGYAN_MANDARIN_T_PER_YEAR,
    ...                               weights={"北洋镇": 3.0, "院桥镇": 1.0})
    >>> s.round(2).tolist()  # 58,400 t * 3/4 / 365 and * 1/4 / 365
    [120.0, 40.0, 0.0]
    """
    what = "mandarin_supply_from_area"
    t = total_t_per_year
    if isinstance(t, bool) or not isinstance(t, numbers.Real) or not math.isfinite(t) or t < 0:
        msg = (
            f"{what}: total_t_per_year = {t!r} must be a finite number >= 0 (t/yr), e.g. "
            f"HUANGYAN_MANDARIN_T_PER_YEAR = {HUANGYAN_MANDARIN_T_PER_YEAR}"
        )
        raise InputError(msg)
    if (
        isinstance(days, bool)
        or not isinstance(days, numbers.Real)
        or not (math.isfinite(days) and days > 0)
    ):
        msg = f"{what}: days = {days!r} must be a positive number (365 for a year-round mean)"
        raise InputError(msg)
    w = weights if isinstance(weights, pd.Series) else pd.Series(dict(weights), dtype=object)
    values = pd.to_numeric(w, errors="coerce").astype(float)
    bad = values.isna() | ~np.isfinite(values) | (values < 0)
    if bad.any():
        shown = {str(k): _plain(w[k]) for k in w.index[bad][:5]}
        msg = f"{what}: weights must be finite numbers >= 0; bad values {shown}"
        raise InputError(msg)
    lost = values.index.difference(zones.index)
    if len(lost):
        msg = (
            f"{what}: weights name zone id(s) {sorted(map(str, lost))[:10]} that are not in "
            "zones' index; fix the ids or drop those weights"
        )
        raise InputError(msg)
    total_w = float(values.sum())
    if total_w <= 0:
        msg = f"{what}: weights sum to {total_w!r}; at least one zone needs a positive weight"
        raise InputError(msg)
    unweighted = int((~zones.index.isin(values.index)).sum())
    if unweighted:
        logger.info("%s: %s zone(s) have no weight and get supply 0", what, f"{unweighted:,}")
    share = values.reindex(zones.index, fill_value=0.0) / total_w
    out = (share * (float(t) / float(days))).rename("supply").astype(float)
    out.attrs["source"] = (
        f"estimate: {float(t):,.0f} t/yr shared in proportion to weights "
        f"(uniform yield per weight unit), spread over {float(days):g} days"
    )
    return out
