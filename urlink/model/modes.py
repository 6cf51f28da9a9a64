"""Mode choice: a multinomial logit over car, bus, e-bike and walk on generalized cost.

Each person trip between two zones is shared over the modes available for it by a
multinomial logit (McFadden 1974; Ortúzar & Willumsen 2011, ch. 7):

    U_m = ASC_m + beta_time * (IVT_m + w_ovt * (wait_m + access_m)) + beta_cost * cost_m
    P_m = exp(U_m) / sum_k exp(U_k)        over the modes available for the pair

with, per origin-destination pair (within-zone trips at their intrazonal time and length):

- **car**: the car skim's time; cost = km x the car running cost per km;
- **bus**: the transit skim's in-vehicle time, half the headway per boarding and the walks
  to and from the stops, weighted by ``ovt_weight``; cost = the fares; not available where no
  bus connects the pair (and within a zone);
- **e-bike** and **walk**: the network distance at their speeds (``ebike_kph``,
  ``walk_kph``); walking time is out-of-vehicle time.

``beta_cost = beta_time * 60 / value_of_time_yuan_per_h``. The alternative-specific
constants are calibrated so the study area's residents reproduce target mode shares
(:func:`calibrate_ascs`: ASC_m += ln(target_m / modelled_m), the standard iterative
adjustment, e.g. Train 2009, *Discrete Choice Methods with Simulation*, §2.8). Defaults and
their sources: ``docs/models.md``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from urlink.errors import InputError
from urlink.model.intrazonal import pair_values, positions

if TYPE_CHECKING:
    from urlink.network.transit import TransitSkim

__all__ = [
    "MODES",
    "Mode",
    "ModeChoiceParams",
    "ModeCosts",
    "calibrate_ascs",
    "mode_costs",
    "mode_probabilities",
    "split_by_mode",
]

Mode = Literal["car", "bus", "ebike", "walk"]
MODES: tuple[Mode, ...] = ("car", "bus", "ebike", "walk")
"""The modes of the choice model, in output order."""

DEFAULT_TARGET_SHARES: Mapping[str, float] = MappingProxyType(
    {"car": 0.23, "bus": 0.06, "ebike": 0.45, "walk": 0.26}
)
"""Mode shares of a Zhejiang county town (estimate, docs/models.md): e-bike and bicycle 43 %,
walk 25 %, car and taxi 22 %, bus 6 %, normalised over the four modes."""


def _finite(
    name: str, value: float, *, low: float | None = None, high: float | None = None
) -> None:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    ok = ok and (low is None or value > low) and (high is None or value < high)
    if not ok:
        msg = f"ModeChoiceParams.{name} = {value!r} is not valid"
        if low is not None:
            msg += f"; use a number > {low}"
        raise InputError(msg)


@dataclass(frozen=True, slots=True)
class ModeChoiceParams:
    """Settings of the mode choice (``[modes]`` in a scenario).

    Attributes
    ----------
    beta_time_per_min
        Utility per minute of in-vehicle time (negative). **Assumption** of the usual urban
        magnitude (-0.03 to -0.05/min); the constants absorb the rest.
    ovt_weight
        Weight of waiting and walking minutes relative to in-vehicle minutes: 1.5, below the
        often used 2 as the meta-analysis of Abrantes & Wardman 2011 (TR-A 45(1)) found.
    value_of_time_yuan_per_h
        Converts money to time (``beta_cost = beta_time * 60 / vot``). **Assumption**: no
        value of time for Huangyan is published.
    car_cost_yuan_per_km
        Car running cost: fuel, 7 l/100 km at 7.5-8 yuan/l, plus wear (**estimate**).
    ebike_kph, walk_kph
        Speeds of e-bikes (shared e-bike rides average 10.9 km/h, private ones are faster:
        15 km/h, **assumption**) and walking (4.5 km/h, the network speed table's).
    asc
        Alternative-specific constants per mode (car = 0); calibrated when
        ``target_shares`` is given.
    target_shares
        Mode shares of the study area's residents to calibrate the constants to; empty: the
        constants are used as given.
    shares_source
        Where the target shares come from.
    """

    beta_time_per_min: float = -0.04
    ovt_weight: float = 1.5
    value_of_time_yuan_per_h: float = 30.0
    car_cost_yuan_per_km: float = 0.6
    ebike_kph: float = 15.0
    walk_kph: float = 4.5
    asc: Mapping[str, float] = field(
        default_factory=lambda: {"car": 0.0, "bus": 0.0, "ebike": 0.0, "walk": 0.0}
    )
    target_shares: Mapping[str, float] = field(default_factory=dict)
    shares_source: str = ""

    def __post_init__(self) -> None:
        """Check the values (times negative, speeds and costs positive, shares sum to 1)."""
        if not (math.isfinite(self.beta_time_per_min) and self.beta_time_per_min < 0):
            msg = f"ModeChoiceParams.beta_time_per_min = {self.beta_time_per_min!r} must be < 0"
            raise InputError(msg)
        _finite("ovt_weight", self.ovt_weight, low=0)
        _finite("value_of_time_yuan_per_h", self.value_of_time_yuan_per_h, low=0)
        _finite("car_cost_yuan_per_km", self.car_cost_yuan_per_km, low=-1e-300)
        _finite("ebike_kph", self.ebike_kph, low=0)
        _finite("walk_kph", self.walk_kph, low=0)
        for name, table in (("asc", self.asc), ("target_shares", self.target_shares)):
            unknown = sorted(set(table) - set(MODES))
            if unknown:
                msg = f"ModeChoiceParams.{name} names modes {unknown}; use {list(MODES)}"
                raise InputError(msg)
            for mode, value in table.items():
                _finite(f"{name}.{mode}", float(value))
        if self.target_shares:
            total = sum(self.target_shares.values())
            if abs(total - 1) > 1e-6 or min(self.target_shares.values()) <= 0:
                msg = (
                    f"ModeChoiceParams.target_shares = {dict(self.target_shares)} must be "
                    "positive and sum to 1"
                )
                raise InputError(msg)
        full: dict[str, float] = dict.fromkeys(MODES, 0.0)
        full.update({m: float(v) for m, v in self.asc.items()})
        object.__setattr__(self, "asc", MappingProxyType(full))
        object.__setattr__(self, "target_shares", MappingProxyType(dict(self.target_shares)))

    def __reduce__(self) -> tuple[type[ModeChoiceParams], tuple[Any, ...]]:
        """Pickle through the constructor (read-only mappings cannot be pickled)."""
        values = [getattr(self, f.name) for f in dataclasses.fields(self)]
        return (
            type(self),
            tuple(dict(v) if isinstance(v, Mapping) else v for v in values),
        )

    @property
    def beta_cost_per_yuan(self) -> float:
        """Utility per yuan: ``beta_time * 60 / value_of_time``."""
        return self.beta_time_per_min * 60.0 / self.value_of_time_yuan_per_h


@dataclass(frozen=True, slots=True, eq=False)
class ModeCosts:
    """Per mode, the generalized time (minutes) and money cost (yuan) of every zone pair.

    NaN generalized time: the mode is not available for the pair.
    """

    time_min: Mapping[str, pd.DataFrame]
    cost_yuan: Mapping[str, pd.DataFrame]


def mode_costs(
    car_min: pd.DataFrame,
    km: pd.DataFrame,
    params: ModeChoiceParams,
    *,
    transit: TransitSkim | None = None,
) -> ModeCosts:
    """Generalized times and money costs of each mode between every pair of zones.

    Parameters
    ----------
    car_min
        Car travel times (minutes), intrazonal times on the diagonal.
    km
        Network distances (km), intrazonal lengths on the diagonal.
    params
        The mode-choice settings.
    transit
        The bus skim (:func:`urlink.network.transit.transit_skim`); None: no bus.

    Returns
    -------
    ModeCosts

    Examples
    --------
    >>> t = pd.DataFrame([[2.0, 10.0], [10.0, 2.0]], index=["a", "b"], columns=["a", "b"])
    >>> c = mode_costs(t, t / 2, ModeChoiceParams())
    >>> float(c.time_min["walk"].loc["a", "b"]), float(c.cost_yuan["car"].loc["a", "b"])  # 5 km
    (100.0, 3.0)
    """
    p = params
    index, columns = km.index, km.columns
    d = km.to_numpy(dtype=float)  # numpy arithmetic, then frames: the numbers of the frames'

    def frame(values: np.ndarray) -> pd.DataFrame:
        return pd.DataFrame(values, index=index, columns=columns, copy=False)

    times: dict[str, pd.DataFrame] = {
        "car": car_min,
        "ebike": frame(d / p.ebike_kph * 60.0),
        "walk": frame(d / p.walk_kph * 60.0 * p.ovt_weight),
    }
    zero = frame(d * 0.0)
    costs: dict[str, pd.DataFrame] = {
        "car": frame(d * p.car_cost_yuan_per_km),
        "ebike": zero,
        "walk": zero,
    }
    if transit is not None:

        def aligned(m: pd.DataFrame) -> np.ndarray:
            if m.index.equals(index) and m.columns.equals(columns):
                return m.to_numpy(dtype=float)
            return m.reindex(index=index, columns=columns).to_numpy(dtype=float)

        ovt = aligned(transit.wait_min) + aligned(transit.access_min)
        times["bus"] = frame(aligned(transit.in_vehicle_min) + p.ovt_weight * ovt)
        costs["bus"] = frame(aligned(transit.fare_yuan))
    return ModeCosts(time_min=times, cost_yuan=costs)


def mode_probabilities(costs: ModeCosts, params: ModeChoiceParams) -> dict[str, pd.DataFrame]:
    """Multinomial logit shares of the modes for every zone pair (they sum to 1).

    Parameters
    ----------
    costs
        :func:`mode_costs`.
    params
        Constants and coefficients.

    Returns
    -------
    dict
        Mode -> origin x destination probabilities (0 where the mode is not available).

    Examples
    --------
    >>> t = pd.DataFrame([[2.0]], index=["a"], columns=["a"])
    >>> probs = mode_probabilities(mode_costs(t, t * 0 + 1.0, ModeChoiceParams()),
    ...                            ModeChoiceParams())
    >>> round(sum(float(p.iloc[0, 0]) for p in probs.values()), 12)
    1.0
    """
    modes = [m for m in MODES if m in costs.time_min]
    utilities = []
    for m in modes:
        u = (
            params.asc.get(m, 0.0)
            + params.beta_time_per_min * costs.time_min[m].to_numpy(dtype=float)
            + params.beta_cost_per_yuan * costs.cost_yuan[m].to_numpy(dtype=float)
        )
        utilities.append(np.where(np.isnan(u), -np.inf, u))
    stack = np.stack(utilities)
    top = stack.max(axis=0)
    top = np.where(np.isfinite(top), top, 0.0)
    expu = np.exp(stack - top)
    total = expu.sum(axis=0)
    shares = np.divide(expu, total, out=np.zeros_like(expu), where=total > 0)
    ref = costs.time_min["car"]
    return {
        m: pd.DataFrame(shares[k], index=ref.index, columns=ref.columns)
        for k, m in enumerate(modes)
    }


def split_by_mode(trips: pd.DataFrame, probabilities: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Share every person trip over the modes: one row per trip row and mode used.

    Parameters
    ----------
    trips
        Flow table (``origin``, ``destination``, ``volume`` ...).
    probabilities
        :func:`mode_probabilities`.

    Returns
    -------
    pandas.DataFrame
        The rows of ``trips`` repeated per mode with a ``mode`` column and the volume times
        the mode's probability (rows with zero volume dropped). Totals are kept.
    """
    if not len(trips) or not probabilities:
        parts = []
        for mode, prob in probabilities.items():
            share = pair_values(prob, trips["origin"], trips["destination"])
            part = trips.assign(volume=trips["volume"].to_numpy(dtype=float) * share, mode=mode)
            parts.append(part[part["volume"] > 0])
        out = pd.concat(parts, ignore_index=True)
        out.attrs = dict(trips.attrs)
        return out
    # the same rows as one table per mode concatenated, with one lookup of the zones and
    # one copy of the other columns (pair_values' positions, looked up once per index)
    o, d = trips["origin"], trips["destination"]
    volume = trips["volume"].to_numpy(dtype=float)
    looked: list[tuple[pd.Index, pd.Index, np.ndarray, np.ndarray]] = []

    def at(prob: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        for index, columns, r, c in looked:
            if prob.index.equals(index) and prob.columns.equals(columns):
                return r, c
        r, c = positions(prob.index, o), positions(prob.columns, d)
        looked.append((prob.index, prob.columns, r, c))
        return r, c

    rows, volumes, modes = [], [], []
    for k, prob in enumerate(probabilities.values()):
        r, c = at(prob)
        v = volume * np.asarray(prob.to_numpy(dtype=float)[r, c], dtype=float)
        keep = np.flatnonzero(v > 0)
        rows.append(keep)
        volumes.append(v[keep])
        modes.append(np.full(len(keep), k, dtype=np.intp))
    out = trips.take(np.concatenate(rows)).reset_index(drop=True)
    out["volume"] = np.concatenate(volumes)
    names = np.empty(len(probabilities), dtype=object)
    names[:] = list(probabilities)
    codes = np.concatenate(modes)
    # the names stored once and repeated: the column that setting them row by row gives
    out["mode"] = pd.Series(names).array.take(codes) if len(codes) else names[codes]
    out.attrs = dict(trips.attrs)
    return out


def mode_shares_of(trips: pd.DataFrame, probabilities: Mapping[str, pd.DataFrame]) -> pd.Series:
    """Mode shares of a set of trips under the given probabilities.

    Parameters
    ----------
    trips
        Flow rows (``origin``, ``destination``, ``volume``).
    probabilities
        :func:`mode_probabilities`.

    Returns
    -------
    pandas.Series
        Share per mode (sums to 1 when the trips have volume).
    """
    split = split_by_mode(trips, probabilities)
    total = float(split["volume"].sum())
    shares = split.groupby("mode")["volume"].sum() / total if total else split["volume"] * 0
    return shares.reindex(list(probabilities), fill_value=0.0)


def calibrate_ascs(
    trips: pd.DataFrame,
    costs: ModeCosts,
    params: ModeChoiceParams,
    *,
    tol: float = 1e-6,
    max_iter: int = 200,
) -> ModeChoiceParams:
    """Fit the constants so the trips' mode shares equal ``params.target_shares``.

    The standard iteration ASC_m += ln(target_m / modelled_m), car fixed at 0 (Train 2009,
    §2.8); the largest share error below ``tol`` stops it.

    Parameters
    ----------
    trips
        The trips whose shares are targeted (the study area's residents').
    costs
        :func:`mode_costs`.
    params
        Settings with ``target_shares``.
    tol, max_iter
        Stopping rule.

    Returns
    -------
    ModeChoiceParams
        With the fitted ``asc``.

    Raises
    ------
    InputError
        If a targeted mode is available for none of the trips, or the shares cannot be met.
    """
    targets = dict(params.target_shares)
    if not targets:
        return params
    current = params
    for _ in range(max_iter):
        shares = mode_shares_of(trips, mode_probabilities(costs, current))
        missing = [m for m in targets if shares.get(m, 0.0) <= 0]
        if missing:
            msg = (
                f"modes {missing} are available for none of the trips; their shares cannot be met"
            )
            raise InputError(msg)
        error = max(abs(shares[m] - targets[m]) for m in targets)
        if error < tol:
            return current
        asc = dict(current.asc)
        for m, target in targets.items():
            asc[m] = asc.get(m, 0.0) + math.log(target / shares[m])
        base = asc.get("car", 0.0)
        asc = {m: v - base for m, v in asc.items()}  # car = 0
        current = dataclasses.replace(current, asc=asc)
    msg = f"the mode constants did not reach the target shares in {max_iter} iterations"
    raise InputError(msg)
