"""Costs of strategies and packages, annualised, and cost-effectiveness indicators.

A strategy has a capital (investment) cost and a yearly (operation and maintenance) cost,
each either known (yuan, yuan/year) or unknown (``None``; ``"unknown"`` in a scenario
file). Unknown is never taken as 0: a cost-effectiveness that needs it is NaN ("cost
unknown") and the scoring leaves that indicator out with a logged warning.

Annualised cost
---------------
``capital x CRF + yearly`` with the capital recovery factor
``CRF = r (1 + r)^n / ((1 + r)^n - 1)``. Defaults: the social discount rate of China,
r = 8 % (国家发展改革委、建设部《建设项目经济评价方法与参数》第三版, 2006: 社会折现率 8 %),
and a life of n = 30 years (a common appraisal period for roads and other transport
infrastructure; shorter-lived measures should set their own). CRF(8 %, 30) = 0.0888.

Cost-effectiveness (per million yuan of annualised cost)
--------------------------------------------------------
- ``co2_saved_t_per_million_yuan``: (baseline - strategy) transport CO2 x 365 days, in
  t CO2/year per million yuan/year;
- ``pop_30min_gain_per_million_yuan``: change of the residents within 30 min of the
  district centre, persons per million yuan/year.

The baseline has 0 for both (nothing spent, nothing changed). A strategy whose annualised
cost is 0 has no defined ratio (NaN, "no cost").
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from urlink.errors import InputError

if TYPE_CHECKING:
    from collections.abc import Sequence

    import pandas as pd

    from urlink.model.state import Strategy

__all__ = [
    "COST_INDICATORS",
    "DISCOUNT_RATE",
    "LIFETIME_YEARS",
    "CostParams",
    "Costs",
    "capital_recovery_factor",
    "cost_indicators",
    "costs_of",
    "format_cost",
    "with_cost_indicators",
]

DISCOUNT_RATE = 0.08
"""Social discount rate of China, 《建设项目经济评价方法与参数》第三版 (NDRC & MoC, 2006)."""

LIFETIME_YEARS = 30
"""Default life of a strategy's capital, years (transport infrastructure appraisal period)."""

COST_INDICATORS = (
    "cost_million_yuan",
    "cost_annualised_million_yuan",
    "co2_saved_t_per_million_yuan",
    "pop_30min_gain_per_million_yuan",
)
"""Indicators that need a strategy's costs (set by :func:`cost_indicators`)."""


def capital_recovery_factor(rate: float = DISCOUNT_RATE, years: int = LIFETIME_YEARS) -> float:
    """Return the capital recovery factor ``r (1 + r)^n / ((1 + r)^n - 1)``.

    Parameters
    ----------
    rate
        Discount rate per year (>= 0; 0 gives ``1 / years``).
    years
        Life in years (>= 1).

    Returns
    -------
    float
        The yearly payment that repays 1 yuan of capital over ``years``.

    Raises
    ------
    InputError
        If ``rate`` is negative or ``years`` < 1.

    Examples
    --------
    >>> round(capital_recovery_factor(0.08, 30), 4)
    0.0888
    >>> capital_recovery_factor(0.0, 20)
    0.05
    """
    if not (math.isfinite(rate) and rate >= 0):
        msg = f"rate={rate!r} must be a finite number >= 0 (e.g. {DISCOUNT_RATE})"
        raise InputError(msg)
    if isinstance(years, bool) or not isinstance(years, int) or years < 1:
        msg = f"years={years!r} must be an integer >= 1 (e.g. {LIFETIME_YEARS})"
        raise InputError(msg)
    if rate == 0:
        return 1.0 / years
    growth = (1.0 + rate) ** years
    return rate * growth / (growth - 1.0)


@dataclass(frozen=True, slots=True)
class CostParams:
    """``[costs]``: how capital costs are annualised.

    Attributes
    ----------
    discount_rate
        Discount rate per year (default :data:`DISCOUNT_RATE`, China's social discount
        rate; the EU's Better Regulation toolbox uses 3 %, the UK Green Book 3.5 %).
    life_years
        Appraisal life of the capital in years (default :data:`LIFETIME_YEARS`).

    Examples
    --------
    >>> round(CostParams(discount_rate=0.035, life_years=40).crf, 4)
    0.0468
    """

    discount_rate: float = DISCOUNT_RATE
    life_years: int = LIFETIME_YEARS

    def __post_init__(self) -> None:
        """Check both values (:func:`capital_recovery_factor` raises on bad ones)."""
        if self.discount_rate > 0.5:
            msg = f"discount_rate = {self.discount_rate!r} is a share per year: write 0.08 for 8 %"
            raise InputError(msg)
        capital_recovery_factor(self.discount_rate, self.life_years)

    @property
    def crf(self) -> float:
        """The capital recovery factor of these settings."""
        return capital_recovery_factor(self.discount_rate, self.life_years)


@dataclass(frozen=True, slots=True)
class Costs:
    """Capital and yearly cost of a strategy or package (None = unknown).

    Attributes
    ----------
    capital_yuan
        Investment, yuan.
    yearly_yuan
        Operation and maintenance, yuan/year.
    """

    capital_yuan: float | None
    yearly_yuan: float | None

    @property
    def known(self) -> bool:
        """Whether both costs are known."""
        return self.capital_yuan is not None and self.yearly_yuan is not None

    def annualised_yuan(
        self, *, rate: float = DISCOUNT_RATE, years: int = LIFETIME_YEARS
    ) -> float | None:
        """Return ``capital x CRF + yearly`` in yuan/year, or None if a cost is unknown.

        Parameters
        ----------
        rate, years
            Discount rate and life (:func:`capital_recovery_factor`).

        Returns
        -------
        float or None

        Examples
        --------
        >>> round(Costs(1e6, 2e4).annualised_yuan())
        108827
        >>> Costs(1e6, None).annualised_yuan() is None
        True
        """
        if self.capital_yuan is None or self.yearly_yuan is None:
            return None
        return self.capital_yuan * capital_recovery_factor(rate, years) + self.yearly_yuan


def costs_of(strategies: Sequence[Strategy]) -> Costs:
    """Return the summed costs of strategies (a package); unknown if any member's is.

    Parameters
    ----------
    strategies
        The strategies (one, or a package's members).

    Returns
    -------
    Costs
    """
    capital = [s.cost_capital_yuan for s in strategies]
    yearly = [s.cost_yearly_yuan for s in strategies]
    return Costs(
        capital_yuan=None if any(v is None for v in capital) else float(sum(capital)),  # type: ignore[arg-type]
        yearly_yuan=None if any(v is None for v in yearly) else float(sum(yearly)),  # type: ignore[arg-type]
    )


def format_cost(value: float | None, *, scale: float = 1.0) -> str:
    """Return a cost for tables and reports: the number, or ``"unknown"``, never 0.

    Parameters
    ----------
    value
        Cost in yuan (or yuan/year), None if unknown.
    scale
        Divide by this (1e6 for million yuan).

    Returns
    -------
    str

    Examples
    --------
    >>> format_cost(2.5e6, scale=1e6), format_cost(None)
    ('2.5', 'unknown')
    """
    return "unknown" if value is None else f"{value / scale:,.6g}"


def cost_indicators(
    base: pd.Series,
    new: pd.Series,
    costs: Costs,
    *,
    population: float,
    rate: float = DISCOUNT_RATE,
    years: int = LIFETIME_YEARS,
) -> dict[str, float]:
    """Cost and cost-effectiveness indicators of a strategy against the baseline.

    Parameters
    ----------
    base, new
        District indicators of the baseline and the strategy (``co2_t_per_day``,
        ``pop_within_30min_centre``).
    costs
        The strategy's (or package's) costs.
    population
        Residents of the district (turns the share within 30 min into persons).
    rate, years
        Discount rate and life for the annualised cost.

    Returns
    -------
    dict
        :data:`COST_INDICATORS` -> value; NaN where a cost is unknown (or the annualised
        cost is 0 for the ratios).

    Examples
    --------
    >>> import pandas as pd
    >>> b = pd.Series({"co2_t_per_day": 10.0, "pop_within_30min_centre": 0.5})
    >>> n = pd.Series({"co2_t_per_day": 9.0, "pop_within_30min_centre": 0.6})
    >>> out = cost_indicators(b, n, Costs(0.0, 1e6), population=1000)
    >>> [round(out[k], 6) for k in COST_INDICATORS[2:]]
    [365.0, 100.0]
    >>> cost_indicators(b, n, Costs(None, 0.0), population=1000)["cost_million_yuan"]
    nan
    """
    capital = np.nan if costs.capital_yuan is None else costs.capital_yuan / 1e6
    annual = costs.annualised_yuan(rate=rate, years=years)
    annual_m = np.nan if annual is None else annual / 1e6
    out = {
        "cost_million_yuan": float(capital),
        "cost_annualised_million_yuan": float(annual_m),
        "co2_saved_t_per_million_yuan": np.nan,
        "pop_30min_gain_per_million_yuan": np.nan,
    }
    if annual is not None and annual > 0:
        saved = (float(base["co2_t_per_day"]) - float(new["co2_t_per_day"])) * 365.0
        gained = (
            float(new["pop_within_30min_centre"]) - float(base["pop_within_30min_centre"])
        ) * population
        out["co2_saved_t_per_million_yuan"] = saved / annual_m
        out["pop_30min_gain_per_million_yuan"] = gained / annual_m
    return out


def with_cost_indicators(
    base: pd.Series,
    new: pd.Series,
    costs: Costs,
    *,
    population: float,
    params: CostParams,
) -> pd.Series:
    """Return a copy of ``new`` with the :data:`COST_INDICATORS` of :func:`cost_indicators`.

    Parameters
    ----------
    base, new
        District indicators of the baseline and the strategy (or package).
    costs
        Its costs.
    population
        Residents of the district.
    params
        Discount rate and life (``[costs]``).

    Returns
    -------
    pandas.Series
    """
    out = new.copy()
    for key, value in cost_indicators(
        base,
        new,
        costs,
        population=population,
        rate=params.discount_rate,
        years=params.life_years,
    ).items():
        out[key] = value
    return out
