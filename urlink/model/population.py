"""Population of zones: tables with sources, and estimates where no figure is published.

Every population figure carries a ``population_source``. Figures that are not a census or
register count start with ``"estimate: "`` and say how they were made.

Township estimate from NBS unit counts
--------------------------------------
Huangyan's township populations for 2020 are not published. The NBS 2023 division-code table
lists, for each township, its residents' committees (社区, urban communities), village
committees (村) and other units. Urban communities are far more populous than villages, so a
township's share of the district's resident population is estimated as

    share_t = (k * communities_t + villages_t + other_t) / sum over townships of the same,

with one parameter k (persons in a community relative to a village). k is fitted by least
squares on log shares to the township figures that report a total population with the district
total of the same year (reference rows with ``use = "fit"``); rows with ``use = "check"``
(registered counts, other years) are only compared in the docs. Shares times the district
total are rounded by the largest-remainder method, so the townships sum exactly to the total.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from scipy.optimize import minimize_scalar

from urlink.errors import InputError
from urlink.io.tables import numeric_column

__all__ = [
    "UNIT_COLUMNS",
    "add_population",
    "fit_community_weight",
    "population_from_units",
    "round_to_total",
]

logger = logging.getLogger(__name__)

UNIT_COLUMNS = ("n_communities", "n_villages", "n_other")
"""Columns of the NBS unit-count table used by :func:`population_from_units`."""


def round_to_total(values: pd.Series, total: int) -> pd.Series:
    """Round non-negative values to integers that sum exactly to ``total``.

    Largest-remainder (Hamilton) method: floor ``values * total / sum``, then give the
    missing units to the largest remainders (ties broken by index order, so the result is
    deterministic).

    Parameters
    ----------
    values
        Non-negative weights.
    total
        The integer the result sums to.

    Returns
    -------
    pandas.Series
        Integers (int64) with the same index.

    Examples
    --------
    >>> round_to_total(pd.Series([1.0, 1.0, 1.0], index=list("abc")), 10).tolist()
    [4, 3, 3]
    """
    w = values.to_numpy(dtype=float)
    exact = w / w.sum() * total
    base = np.floor(exact).astype(np.int64)
    short = int(total - base.sum())
    order = np.argsort(-(exact - base), kind="stable")
    base[order[:short]] += 1
    return pd.Series(base, index=values.index, dtype="int64")


def _unit_weights(units: pd.DataFrame, k: float) -> pd.Series:
    return k * units["n_communities"] + units["n_villages"] + units["n_other"]


def fit_community_weight(
    units: pd.DataFrame,
    references: pd.DataFrame,
    *,
    bounds: tuple[float, float] = (1.0, 50.0),
) -> float:
    """Fit k, the population of an urban community relative to a village.

    Parameters
    ----------
    units
        NBS unit counts per township (columns :data:`UNIT_COLUMNS`), indexed by code.
    references
        Reference figures indexed by township code with ``population``, ``district_total``
        and ``use``; only rows with ``use == "fit"`` are used.
    bounds
        Search interval for k.

    Returns
    -------
    float
        The k minimising the squared error of log shares.

    Raises
    ------
    InputError
        If no usable reference row exists or a reference code is not in ``units``.
    """
    fit = references[references["use"] == "fit"]
    if fit.empty:
        msg = "population references: no row with use = 'fit'; add at least one"
        raise InputError(msg)
    unknown = sorted(set(fit.index) - set(units.index))
    if unknown:
        msg = f"population references: codes {unknown} are not in the township unit table"
        raise InputError(msg)
    ref_share = fit["population"].astype(float) / fit["district_total"].astype(float)

    def loss(k: float) -> float:
        w = _unit_weights(units, k)
        share = w.loc[fit.index] / w.sum()
        return float(((np.log(share) - np.log(ref_share)) ** 2).sum())

    res = minimize_scalar(loss, bounds=bounds, method="bounded", options={"xatol": 1e-6})
    k = float(res.x)
    logger.info("fitted community weight k = %.3f (loss %.2e)", k, res.fun)
    return k


def population_from_units(
    units: pd.DataFrame, *, total: int, community_weight: float
) -> pd.DataFrame:
    """Split a district total over townships by weighted NBS unit counts.

    Parameters
    ----------
    units
        NBS unit counts per township (columns :data:`UNIT_COLUMNS`), indexed by code.
    total
        District resident population to distribute.
    community_weight
        k, from :func:`fit_community_weight` or given.

    Returns
    -------
    pandas.DataFrame
        ``population`` (int, sums to ``total``) and ``population_source``.

    Raises
    ------
    InputError
        If a count column is missing, negative or not a number, or a township has no units.

    Examples
    --------
    >>> u = pd.DataFrame({"n_communities": [2, 0], "n_villages": [0, 4], "n_other": [0, 0]},
    ...                  index=["a", "b"])
    >>> population_from_units(u, total=1000, community_weight=3.0)["population"].tolist()
    [600, 400]
    """
    source = "township unit table"
    if units.attrs.get("source"):
        source += f" {units.attrs['source']!r}"
    counts = pd.DataFrame({c: numeric_column(units, c, source=source) for c in UNIT_COLUMNS})
    w = _unit_weights(counts, community_weight)
    if (w <= 0).any():
        msg = (
            f"{source}: townships {w.index[w <= 0].tolist()} have no units (all of "
            f"{list(UNIT_COLUMNS)} are 0); every township needs at least one"
        )
        raise InputError(msg)
    pop = round_to_total(w, total)
    note = (
        f"estimate: district total {total:,} split by NBS 2023 unit counts, "
        f"community weight k={community_weight:.2f} x village"
    )
    return pd.DataFrame({"population": pop, "population_source": note}, index=units.index)


def add_population(zones: pd.DataFrame, table: pd.DataFrame) -> pd.DataFrame:
    """Return ``zones`` with ``population`` and ``population_source`` from ``table``.

    Parameters
    ----------
    zones
        Zones indexed by id.
    table
        ``population`` and ``population_source`` indexed by zone id; rows for zones that are
        not in ``zones`` are an error (they usually mean mismatched ids).

    Returns
    -------
    pandas.DataFrame
        A copy of ``zones`` with both columns (replacing earlier values where given).

    Raises
    ------
    InputError
        If ``table`` names unknown zones, or a zone ends up without a population.
    """
    unknown = sorted(set(table.index) - set(zones.index))
    if unknown:
        source = table.attrs.get("source")
        where = f"population table {source!r}" if source else "population table"
        msg = (
            f"{where}: zone ids {unknown[:10]} are not zones of the scenario (column "
            f"'zone_id'; zone ids look like {list(zones.index[:3])}); fix the ids"
        )
        raise InputError(msg)
    out = zones.copy()
    if "population" not in out.columns:
        out["population"] = np.nan
        out["population_source"] = pd.Series(pd.NA, index=out.index, dtype="string")
    out["population"] = out["population"].astype(float)
    out["population_source"] = out["population_source"].astype("string")
    out.loc[table.index, "population"] = table["population"].astype(float)
    out.loc[table.index, "population_source"] = table["population_source"].astype(str)
    return out
