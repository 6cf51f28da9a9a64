"""Capital flows between zones from declared rules (yuan/year).

All models share the signature ``model(zones, links, *, params) -> flows``; ``links`` is a
table whose columns depend on the model (documented on each). Rule-based flows whose amount
is given are ``source = "observed"``; amounts computed from a rate are ``"estimated"``.

Payers and payees
-----------------
A transfer's payer or payee is a zone id or the code of an administrative unit at any level
present in the zones' ``*_code`` columns (a county government 331003, a prefecture 331000,
a province 330000). Every capital flow has a ``crosses`` column: the highest administrative
boundary the payment crosses (``none``, ``township``, ``county``, ``prefecture``,
``province``), from the codes of payer and payee (a unit has no code below its own level;
a payment from a prefecture government to one of its townships crosses ``county``).

Eco-compensation default rate
-----------------------------
:data:`DEFAULT_ECO_RATE_YUAN_PER_M3` = 0.0411 yuan per m3 is an **estimate** built from
three published figures: Tiantai County (Taizhou) pays 150 yuan per person and year to the
residents of its Lishimen reservoir area (domain reference R68); the seven western townships
of Huangyan that protect the Changtan reservoir have about 110,000 registered residents
(R31); the reservoir's design supply is 1.10 million m3/day (huangyan_facts.md, zjol). Paying
the Tiantai rate to those residents costs 150 x 110,000 = 16.5 million yuan/year, which is
16.5e6 / (1.10e6 x 365) = 0.0411 yuan per m3 supplied. Replace it with a negotiated rate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from urlink.errors import InputError
from urlink.model.flows.base import finish_columns, finish_flows, register

__all__ = [
    "DEFAULT_ECO_RATE_YUAN_PER_M3",
    "CapitalParams",
    "add_crosses",
    "eco_compensation",
    "transfers",
]

MAX_ECO_RATE_YUAN_PER_M3 = 1000.0
"""Highest eco-compensation rate accepted (yuan per m3; water costs a few yuan per m3)."""
DEFAULT_ECO_RATE_YUAN_PER_M3 = 150.0 * 110_000 / (1.10e6 * 365)
"""Estimated eco-compensation rate (yuan per m3 of water received); see the module docs."""


@dataclass(frozen=True, slots=True)
class CapitalParams:
    """Parameters of the capital models.

    Attributes
    ----------
    eco_rate_yuan_per_m3
        :func:`eco_compensation`: payment per m3 received (default: the estimate above).
    quality_met
        :func:`eco_compensation`: whether the water-quality benchmark at the boundary
        section was met. As in the Xin'anjiang pilot (domain reference R64), downstream users
        pay the sources when it is met; when it is not, the sources pay the users instead.
    per_capita_yuan
        :func:`transfers`: amount per resident of the payee for rows without an amount
        (e.g. a per-capita fiscal transfer); None means every row must give an amount.
    """

    eco_rate_yuan_per_m3: float = DEFAULT_ECO_RATE_YUAN_PER_M3
    quality_met: bool = True
    per_capita_yuan: float | None = None

    def __post_init__(self) -> None:
        """Check that rates are non-negative numbers."""
        if not 0 <= self.eco_rate_yuan_per_m3 <= MAX_ECO_RATE_YUAN_PER_M3:
            msg = (
                f"eco_rate_yuan_per_m3 = {self.eco_rate_yuan_per_m3!r} must be >= 0 and <= "
                f"{MAX_ECO_RATE_YUAN_PER_M3:g} (yuan per m3 of water)"
            )
            raise InputError(msg)
        if self.per_capita_yuan is not None and not 0 <= self.per_capita_yuan <= 1e7:
            msg = f"per_capita_yuan = {self.per_capita_yuan!r} must be >= 0 and <= 1e+07 (or None)"
            raise InputError(msg)


def _need(links: pd.DataFrame, cols: tuple[str, ...], model: str) -> None:
    missing = [c for c in cols if c not in links.columns]
    if missing:
        msg = (
            f"capital model {model!r}: links need column(s) {missing}; have {list(links.columns)}"
        )
        raise InputError(msg)


_CODE_LEVELS = ("province", "prefecture", "county", "township")


def _unit_codes(zones: pd.DataFrame, uid: str) -> dict[str, str | None] | None:
    """Codes per level of a zone or an administrative unit (None: no code at that level)."""
    cols = [lvl for lvl in _CODE_LEVELS if f"{lvl}_code" in zones.columns]
    if uid in zones.index:
        row = zones.loc[uid]
        return {
            lvl: (str(row[f"{lvl}_code"]) if pd.notna(row[f"{lvl}_code"]) else None)
            for lvl in cols
        } | {"zone": str(uid)}
    for i, lvl in enumerate(cols):
        hit = zones[zones[f"{lvl}_code"].astype("string") == str(uid)]
        if len(hit):
            first = hit.iloc[0]
            return {
                other: (str(first[f"{other}_code"]) if j <= i else None)
                for j, other in enumerate(cols)
            } | {"zone": None}
    return None


def add_crosses(zones: pd.DataFrame, flows: pd.DataFrame) -> pd.DataFrame:
    """Return capital flows with ``crosses``: the highest boundary each payment crosses.

    Parameters
    ----------
    zones
        Zones with ``*_code`` columns.
    flows
        Flow table with ``origin`` (payer) and ``destination`` (payee).

    Returns
    -------
    pandas.DataFrame
        A copy with a ``crosses`` column (``unknown`` where a party is not known).

    Examples
    --------
    >>> z = pd.DataFrame({"township_code": ["331003101", "331003102"],
    ...                   "county_code": ["331003", "331003"],
    ...                   "prefecture_code": ["331000", "331000"]}, index=["a", "b"])
    >>> f = pd.DataFrame({"origin": ["a", "331000"], "destination": ["b", "a"]})
    >>> add_crosses(z, f)["crosses"].tolist()
    ['township', 'county']
    """
    origins = flows["origin"].astype(str).tolist()
    return flows.assign(
        crosses=_crosses(zones, origins, flows["destination"].astype(str).tolist())
    )


def _crosses(zones: pd.DataFrame, origins: list[str], destinations: list[str]) -> list[str]:
    """Return the highest boundary each payment ``origins[k] -> destinations[k]`` crosses."""
    cache: dict[str, dict[str, str | None] | None] = {}
    levels = [lvl for lvl in _CODE_LEVELS if f"{lvl}_code" in zones.columns]
    # a zone's codes read by position (the values of zones.loc[uid], without the row)
    columns = {lvl: zones[f"{lvl}_code"].to_numpy(dtype=object) for lvl in levels}
    index = zones.index if zones.index.is_unique else None

    def codes(uid: str) -> dict[str, str | None] | None:
        if uid not in cache:
            if index is not None and uid in index:
                at = index.get_loc(uid)
                values = {lvl: columns[lvl][at] for lvl in levels}
                cache[uid] = {
                    lvl: (str(v) if pd.notna(v) else None) for lvl, v in values.items()
                } | {"zone": str(uid)}
            else:
                cache[uid] = _unit_codes(zones, uid)
        return cache[uid]

    out = []
    for o, d in zip(origins, destinations, strict=True):
        a, b = codes(o), codes(d)
        if a is None or b is None:
            out.append("unknown")
            continue
        level = "none"
        for lvl in _CODE_LEVELS:
            if lvl in a and (a[lvl] is not None or b[lvl] is not None) and a[lvl] != b[lvl]:
                level = lvl
                break
        if level == "none" and a["zone"] != b["zone"] and "township" not in a:
            level = "township"  # two zones without township codes
        out.append(level)
    return out


def _known(zones: pd.DataFrame, ids: pd.Series | set[str], what: str) -> None:
    """Refuse parties that are neither zones nor administrative units (ids as strings)."""
    named = set(ids.astype(str)) if isinstance(ids, pd.Series) else ids
    others = named - set(zones.index.astype(str))
    if not others:  # every party is a zone: no unit codes to look at
        return
    units = {
        str(c)
        for lvl in _CODE_LEVELS
        if f"{lvl}_code" in zones.columns
        for c in zones[f"{lvl}_code"].dropna()
    }
    strangers = sorted(others - units)
    if strangers:
        msg = f"capital {what}: zones {strangers[:10]} are not zones of the scenario"
        raise InputError(msg)


@register("capital", "transfers", settings=CapitalParams)
def transfers(zones: pd.DataFrame, links: pd.DataFrame, *, params: CapitalParams) -> pd.DataFrame:
    """Turn declared transfers and investments into flows: payer -> payee, yuan/year.

    ``links`` columns: ``payer``, ``payee``, and ``amount_yuan_per_year`` (observed; may be
    empty where ``params.per_capita_yuan`` applies, then amount = rate x payee population,
    estimated). An optional ``kind`` column (``"fiscal_transfer"``, ``"investment"``...) is
    kept.

    Parameters
    ----------
    zones
        Indexed by zone id; ``population`` is needed for per-capita rows.
    links
        The declared transfers.
    params
        ``per_capita_yuan``.

    Returns
    -------
    pandas.DataFrame
        Flow table (yuan/year) with ``crosses`` (the highest boundary each payment
        crosses).

    Raises
    ------
    InputError
        On unknown zones or units, negative amounts, or rows without amount and no per-capita rate.

    Examples
    --------
    >>> z = pd.DataFrame({"population": [1000.0, 50.0]}, index=["city", "village"])
    >>> links = pd.DataFrame({"payer": ["city", "city"], "payee": ["village", "village"],
    ...                       "amount_yuan_per_year": [20000.0, None]})
    >>> transfers(z, links, params=CapitalParams(per_capita_yuan=100.0))[
    ...     ["volume", "source"]].values.tolist()
    [[20000.0, 'observed'], [5000.0, 'estimated']]
    """
    _need(links, ("payer", "payee"), "transfers")
    _known(zones, pd.concat([links["payer"], links["payee"]]), "transfers")
    amount = (
        pd.to_numeric(links["amount_yuan_per_year"], errors="coerce")
        if "amount_yuan_per_year" in links.columns
        else pd.Series(float("nan"), index=links.index)
    )
    given = amount.notna()
    if (amount[given] < 0).any():
        msg = "capital transfers: amount_yuan_per_year must be >= 0"
        raise InputError(msg)
    if (~given).any() and params.per_capita_yuan is None:
        rows = (links.index[~given] + 2).tolist()[:10]
        msg = (
            f"capital transfers: rows {rows} have no amount_yuan_per_year; give one or set "
            "per_capita_yuan"
        )
        raise InputError(msg)
    extra = ["kind"] if "kind" in links.columns else []
    parts = []
    if given.any():
        obs = links.loc[given, ["payer", "payee", *extra]].assign(volume=amount[given])
        parts.append(
            finish_flows(
                obs.rename(columns={"payer": "origin", "payee": "destination"}),
                flow_type="capital",
                model="transfers",
                source="observed",
                drop_zero=False,
            )
        )
    if (~given).any():
        est = links.loc[~given, ["payer", "payee", *extra]].copy()
        pop = pd.to_numeric(zones["population"]).reindex(est["payee"]).to_numpy()
        est["volume"] = pop * float(params.per_capita_yuan or 0.0)
        parts.append(
            finish_flows(
                est.rename(columns={"payer": "origin", "payee": "destination"}),
                flow_type="capital",
                model="transfers",
                source="estimated",
                drop_zero=False,
            )
        )
    return add_crosses(zones, pd.concat(parts, ignore_index=True))


@register("capital", "eco_compensation", settings=CapitalParams)
def eco_compensation(
    zones: pd.DataFrame, links: pd.DataFrame, *, params: CapitalParams
) -> pd.DataFrame:
    """Watershed eco-compensation: users pay the sources for the water they receive.

    ``links`` is an ecosystem-service flow table (see :mod:`urlink.model.flows.ecosystem`):
    ``origin`` (source zone), ``destination`` (user zone), ``volume`` (m3/day) and
    optionally ``use`` (``"unused"`` rows are ignored; so are flows within one zone). Each
    user pays ``volume x 365 x eco_rate_yuan_per_m3`` yuan/year to the source; if
    ``params.quality_met`` is False the payment runs the other way (Xin'anjiang rule).

    Parameters
    ----------
    zones
        Indexed by zone id.
    links
        Ecosystem-service flows.
    params
        ``eco_rate_yuan_per_m3`` and ``quality_met``.

    Returns
    -------
    pandas.DataFrame
        Flow table (yuan/year, ``source = "estimated"``) with ``basis_m3_per_day`` and
        ``crosses`` (the highest boundary each payment crosses).

    Raises
    ------
    InputError
        On missing columns or unknown zones.

    Examples
    --------
    >>> z = pd.DataFrame(index=["lake", "city"])
    >>> water = pd.DataFrame({"origin": ["lake"], "destination": ["city"], "volume": [1000.0]})
    >>> eco_compensation(z, water, params=CapitalParams(eco_rate_yuan_per_m3=0.05))[
    ...     ["origin", "destination", "volume"]].values.tolist()
    [['city', 'lake', 18250.0]]
    """
    _need(links, ("origin", "destination", "volume"), "eco_compensation")
    fast = _eco_compensation_at_once(zones, links, params)
    if fast is not None:
        return fast
    water = links
    if "use" in water.columns:
        water = water[water["use"] != "unused"]
    water = water[water["origin"] != water["destination"]]
    _known(zones, pd.concat([water["origin"], water["destination"]]), "eco_compensation")
    basis = pd.to_numeric(water["volume"], errors="coerce")
    if basis.isna().any() or (basis < 0).any():
        raise InputError(_BAD_WATER)
    payer, payee = (
        (water["destination"], water["origin"])
        if params.quality_met
        else (water["origin"], water["destination"])
    )
    out = pd.DataFrame(
        {
            "origin": payer.to_numpy(),
            "destination": payee.to_numpy(),
            "volume": basis.to_numpy() * 365.0 * params.eco_rate_yuan_per_m3,
            "basis_m3_per_day": basis.to_numpy(),
        }
    )
    out = out.groupby(["origin", "destination"], as_index=False, sort=True).sum()
    flows = finish_flows(out, flow_type="capital", model="eco_compensation", source="estimated")
    return add_crosses(zones, flows)


_BAD_WATER = "capital eco_compensation: water volumes must be numbers >= 0 m3/day"


def _eco_compensation_at_once(
    zones: pd.DataFrame, links: pd.DataFrame, params: CapitalParams
) -> pd.DataFrame | None:
    """:func:`eco_compensation` of string ids and float volumes with numpy, or None.

    The common case (#16: three calls per uncertainty sample): ids (and ``use``) in the
    string dtype with NaN for missing values (pandas' default), no id missing, float
    volumes, and no payer-payee pair twice. Then grouping by pair and summing keeps every
    row and value (the sum of one number is the number), and only sorts the rows by payer
    and payee (as Python compares strings, as pandas sorts them): the same table as the
    steps with pandas, without a table per step. None in any other case.
    """
    ids = (links["origin"], links["destination"])
    columns = [*ids, links["use"]] if "use" in links.columns else list(ids)
    if not all(_is_str(c) for c in columns) or links["volume"].dtype != np.float64:
        return None
    origin, destination = (c.to_numpy(dtype=object) for c in ids)
    if pd.isna(origin).any() or pd.isna(destination).any():
        return None
    keep = origin != destination
    if "use" in links.columns:
        keep &= links["use"].to_numpy(dtype=object) != "unused"
    rows = np.flatnonzero(keep)
    _known(zones, set(origin[rows]) | set(destination[rows]), "eco_compensation")
    basis = links["volume"].to_numpy()[rows]
    if np.isnan(basis).any() or (basis < 0).any():
        raise InputError(_BAD_WATER)
    payer, payee = (destination, origin) if params.quality_met else (origin, destination)
    pairs = list(zip(payer[rows].tolist(), payee[rows].tolist(), strict=True))
    if len(set(pairs)) < len(pairs):  # payments to add up: pandas' sums
        return None
    order = sorted(range(len(pairs)), key=pairs.__getitem__)
    volume = basis * 365.0 * params.eco_rate_yuan_per_m3
    paid = [k for k in order if volume[k] > 0]  # the rows finish_flows keeps
    if not paid:
        return None
    picked = rows[paid]
    by, to = (ids[1], ids[0]) if params.quality_met else ids
    crosses = _crosses(zones, [pairs[k][0] for k in paid], [pairs[k][1] for k in paid])
    columns_out = {
        "origin": by.array.take(picked),
        "destination": to.array.take(picked),
        "volume": volume[paid],
        "basis_m3_per_day": basis[paid],
        "crosses": pd.Series(crosses).array,  # as assigning the list infers it
    }
    return finish_columns(
        columns_out, flow_type="capital", model="eco_compensation", source="estimated"
    )


def _is_str(column: pd.Series) -> bool:
    """Whether a column has pandas' string dtype with NaN for missing values."""
    dtype = column.dtype
    return isinstance(dtype, pd.StringDtype) and dtype.na_value is not pd.NA
