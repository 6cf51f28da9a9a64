"""Ecosystem-service flows from source zones to user zones (m3/day of drinking water, say).

In the spirit of ARIES SPAN (Bagstad et al. 2013, *Ecosystem Services* 4:117-125): a service
is supplied in source zones and reaches user zones along service links; what no user
takes up is reported as unused supply, never lost.

All models share the signature ``model(zones, links, *, params) -> flows``:

``zones``
    Indexed by zone id with ``supply`` (m3/day the zone provides, >= 0) and ``demand``
    (m3/day the zone's users need, >= 0).
``links``
    Candidate service links with columns ``source`` and ``user`` (zone ids), and optionally
    ``weight`` (a declared share) and ``time_min`` (for :func:`proximity`). Build
    proximity candidates from a skim with :func:`links_from_skim`.

The flow table has an extra column ``use``: ``"used"`` rows go from a source to a user;
one ``"unused"`` row per source with leftover supply has ``destination == origin``. Per
source, used plus unused equals its supply, so supply is always accounted for.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from urlink.errors import InputError
from urlink.model.flows.base import finish_columns, finish_flows, register

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

__all__ = ["EcosystemParams", "declared_links", "links_from_skim", "proximity"]


@dataclass(frozen=True, slots=True)
class EcosystemParams:
    """Parameters of the ecosystem-service models.

    Attributes
    ----------
    max_time_min
        :func:`proximity`: users farther than this from a source (by ``time_min``) are not
        served; None for no limit.
    """

    max_time_min: float | None = None

    def __post_init__(self) -> None:
        """Check that ``max_time_min`` is positive when given."""
        if self.max_time_min is not None and not self.max_time_min > 0:
            msg = f"max_time_min = {self.max_time_min!r} must be a positive number of minutes"
            raise InputError(msg)


def _check(zones: pd.DataFrame, links: pd.DataFrame, need: Iterable[str] = ()) -> None:
    for col in ("supply", "demand"):
        if col not in zones.columns:
            msg = f"ecosystem model: zones need a {col!r} column (m3/day)"
            raise InputError(msg)
        values = zones[col]
        if not isinstance(values, pd.Series) or values.dtype != np.float64:  # else: as they are
            values = pd.to_numeric(values, errors="coerce")
        numbers = values.to_numpy(dtype=float, na_value=np.nan)
        bad = np.isnan(numbers) | (numbers < 0)
        if bad.any():
            msg = (
                f"ecosystem model: column {col!r} must be >= 0 m3/day; bad zones "
                f"{zones.index[bad].tolist()[:10]}"
            )
            raise InputError(msg)
    for col in ("source", "user", *need):
        if col not in links.columns:
            msg = f"ecosystem model: links need a {col!r} column; they have {list(links.columns)}"
            raise InputError(msg)
    named = set(links["source"].tolist()) | set(links["user"].tolist())  # tolist: not one by one
    strangers = sorted(named - set(zones.index))
    if strangers:
        msg = f"ecosystem links name zones {strangers[:10]} that are not zones of the scenario"
        raise InputError(msg)


def _flows(rows: list[tuple[str, str, float, str]], model: str) -> pd.DataFrame:
    """Return the flow table of the rows (origin, destination, volume, use)."""
    names = ["origin", "destination", "volume", "use"]
    if not rows or not all(isinstance(row[2], float) for row in rows):
        df = pd.DataFrame(rows, columns=names)
        return finish_flows(df, flow_type="ecosystem", model=model, source="estimated")
    # column by column (#16): each inferred as a table of the rows infers it
    origin, destination, volume, use = zip(*rows, strict=True)
    columns = {
        "origin": pd.Series(origin).array,
        "destination": pd.Series(destination).array,
        "volume": np.array(volume, dtype=np.float64),
        "use": pd.Series(use).array,
    }
    return finish_columns(columns, flow_type="ecosystem", model=model, source="estimated")


def _supply_lookup(zones: pd.DataFrame) -> Callable[[str], float]:
    """``src -> float(zones.loc[src, "supply"])``, from a dict when the ids are unique."""
    supply: dict[Any, Any] = zones["supply"].to_dict() if zones.index.is_unique else {}

    def at(src: str) -> float:
        value: Any = supply[src] if supply else zones.loc[src, "supply"]
        return float(value)

    return at


def _unused(source: str, supply: float, used: float) -> list[tuple[str, str, float, str]]:
    left = supply - used
    return [(source, source, left, "unused")] if left > 1e-12 * max(supply, 1.0) else []


@register("ecosystem", "declared_links", settings=EcosystemParams)
def declared_links(
    zones: pd.DataFrame, links: pd.DataFrame, *, params: EcosystemParams
) -> pd.DataFrame:
    """Share each source's supply among its declared users, up to their demand.

    Sources are handled in id order. A source splits its supply over its linked users with
    demand left, in proportion to the link ``weight`` (if given) or to that remaining
    demand; a user never receives more than it still needs, and what a capped user cannot
    take is shared again among the others (water-filling). Leftover supply is unused.

    Parameters
    ----------
    zones
        ``supply`` and ``demand`` (m3/day), indexed by zone id.
    links
        ``source``, ``user`` and optional ``weight``.
    params
        Not used by this model (shared signature).

    Returns
    -------
    pandas.DataFrame
        Flow table with ``use`` = ``"used"``/``"unused"``; ``source = "estimated"``.

    Raises
    ------
    InputError
        On missing columns, negative values or unknown zone ids.

    Examples
    --------
    >>> z = pd.DataFrame({"supply": [100.0, 0, 0], "demand": [0, 30.0, 90.0]},
    ...                  index=["lake", "a", "b"])
    >>> links = pd.DataFrame({"source": ["lake", "lake"], "user": ["a", "b"]})
    >>> f = declared_links(z, links, params=EcosystemParams())
    >>> f[["destination", "volume", "use"]].values.tolist()
    [['a', 25.0, 'used'], ['b', 75.0, 'used']]
    """
    _check(zones, links)
    remaining = pd.to_numeric(zones["demand"]).astype(float).to_dict()
    rows: list[tuple[str, str, float, str]] = []
    has_weight = "weight" in links.columns
    # the links as lists (#16): a source's users are the users of the rows whose source
    # equals it (==, as comparing the column), in the order of the rows
    sources, all_users = links["source"].tolist(), links["user"].tolist()
    supply_at = _supply_lookup(zones)
    for src in sorted(set(sources)):
        supply = supply_at(src)
        mine = [s == src for s in sources]
        users = list(dict.fromkeys(u for u, m in zip(all_users, mine, strict=True) if m))
        weights = (
            links[np.array(mine, dtype=bool)]
            .groupby("user")["weight"]
            .sum()
            .reindex(users)
            .astype(float)
            if has_weight
            else None
        )
        left = supply
        got: dict[str, float] = dict.fromkeys(users, 0.0)
        active = [u for u in users if remaining[u] > 0]
        while left > 1e-12 and active:
            w = np.array([weights[u] if weights is not None else remaining[u] for u in active])
            if not (w > 0).any():
                break
            share = left * w / w.sum()
            take = np.minimum(share, [remaining[u] for u in active])
            for u, t in zip(active, take.tolist(), strict=True):
                got[u] += t
                remaining[u] -= t
            left -= float(take.sum())
            active = [u for u in active if remaining[u] > 1e-12]
        rows += [(src, u, v, "used") for u, v in got.items() if v > 0]
        rows += _unused(src, supply, supply - left)
    # sources without any link: all their supply is unused
    for src in sorted(set(zones.index[pd.to_numeric(zones["supply"]) > 0]) - set(sources)):
        rows += _unused(src, supply_at(src), 0.0)
    return _flows(rows, "declared_links")


@register("ecosystem", "proximity", settings=EcosystemParams)
def proximity(
    zones: pd.DataFrame, links: pd.DataFrame, *, params: EcosystemParams
) -> pd.DataFrame:
    """Serve users nearest-first: each link in order of ``time_min`` takes what it can.

    Links are taken in increasing ``time_min`` (ties by source, then user id); each moves
    ``min(supply left at the source, demand left at the user)``. Links longer than
    ``params.max_time_min`` are ignored. Leftover supply is unused.

    Parameters
    ----------
    zones
        ``supply`` and ``demand`` (m3/day), indexed by zone id.
    links
        ``source``, ``user``, ``time_min`` (see :func:`links_from_skim`).
    params
        ``max_time_min``.

    Returns
    -------
    pandas.DataFrame
        Flow table with ``use``; ``source = "estimated"``.

    Raises
    ------
    InputError
        On missing columns, negative values or unknown zone ids.

    Examples
    --------
    >>> z = pd.DataFrame({"supply": [50.0, 0, 0], "demand": [0, 40.0, 40.0]},
    ...                  index=["lake", "near", "far"])
    >>> links = pd.DataFrame({"source": ["lake", "lake"], "user": ["far", "near"],
    ...                       "time_min": [30.0, 5.0]})
    >>> proximity(z, links, params=EcosystemParams())[["destination", "volume"]].values.tolist()
    [['near', 40.0], ['far', 10.0]]
    """
    _check(zones, links, need=("time_min",))
    cand = links.copy()
    cand["time_min"] = pd.to_numeric(cand["time_min"], errors="coerce")
    cand = cand[cand["time_min"].notna() & (cand["source"] != cand["user"])]
    if params.max_time_min is not None:
        cand = cand[cand["time_min"] <= params.max_time_min]
    cand = cand.sort_values(["time_min", "source", "user"], kind="stable")
    supply = pd.to_numeric(zones["supply"]).astype(float).to_dict()
    demand = pd.to_numeric(zones["demand"]).astype(float).to_dict()
    moved: dict[tuple[str, str], float] = {}
    for src, user in zip(cand["source"], cand["user"], strict=True):
        take = min(supply[src], demand[user])
        if take > 0:
            moved[(src, user)] = moved.get((src, user), 0.0) + take
            supply[src] -= take
            demand[user] -= take
    rows = [(s, u, v, "used") for (s, u), v in moved.items()]
    for src in sorted(z for z in zones.index if float(zones.loc[z, "supply"]) > 0):
        rows += _unused(
            src, float(zones.loc[src, "supply"]), float(zones.loc[src, "supply"]) - supply[src]
        )
    return _flows(rows, "proximity")


def links_from_skim(
    skim: pd.DataFrame, sources: Iterable[str], users: Iterable[str]
) -> pd.DataFrame:
    """Candidate service links between every source and user, with their travel times.

    Parameters
    ----------
    skim
        Travel times in minutes (origin x destination).
    sources, users
        Zone ids.

    Returns
    -------
    pandas.DataFrame
        ``source``, ``user``, ``time_min`` for every reachable pair (source != user).

    Examples
    --------
    >>> skim = pd.DataFrame([[0.0, 5.0], [6.0, 0.0]], index=["a", "b"], columns=["a", "b"])
    >>> links_from_skim(skim, ["a"], ["a", "b"]).values.tolist()
    [['a', 'b', 5.0]]
    """
    rows = [
        (s, u, float(skim[u].loc[s]))
        for s in sources
        for u in users
        if s != u and not math.isnan(float(skim[u].loc[s]))
    ]
    return pd.DataFrame(rows, columns=["source", "user", "time_min"])
