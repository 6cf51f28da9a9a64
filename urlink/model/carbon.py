"""Transport CO₂ of linkage flows, and 碳普惠 (carbon-inclusive) low-carbon trip credits.

Emissions are activity x emission factor (the DEFRA algorithm kg CO₂ = EF x distance x mass,
domain-methods R59): person-km (pkm) for people flows and tonne-km (tkm) for goods flows,
times a factor in g CO₂ per pkm or tkm. :data:`EMISSION_FACTORS_G_PER_UNIT` holds the
defaults, Chinese national averages where the reference has them (Li & Loo 2024, R77) and
documented fallbacks where it does not. :class:`EmissionFactors` wraps the table and takes
local overrides (Zhejiang or Taizhou factors should replace the national ones when
available; GIZ's China guide R85 and the Smart Freight Centre's China default values R86
describe better sources).

Factors are tank-to-wheel CO₂ (not CO₂e, no well-to-tank share) except the UK bus figures
quoted as alternatives, which are CO₂e.
"""

from __future__ import annotations

import logging
import math
import numbers
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from urlink.errors import InputError

if TYPE_CHECKING:
    import networkx as nx

__all__ = [
    "EMISSION_FACTORS_G_PER_UNIT",
    "EmissionFactors",
    "EmissionSettings",
    "add_emissions",
    "baseline_factor_g_per_pkm",
    "emissions_of_flows",
    "trip_credit_g",
]

logger = logging.getLogger(__name__)

_R77 = (
    "Li & Loo 2024, Energy Sustain Soc, doi:10.1186/s13705-024-00487-8, Table 5 "
    "(China, 2021 data) [R77]"
)

EMISSION_FACTORS_G_PER_UNIT: Mapping[str, tuple[float, str, str]] = MappingProxyType(
    {
        "car": (
            129.0,
            "pkm",
            "DEFRA/DECC 2009 UK average car at 1.6 occupancy, via Scottish Transport "
            "Statistics No. 30 [R79]; fallback: no Chinese private-car factor in the "
            "reference",
        ),
        "bus": (
            31.70,
            "pkm",
            "China road passenger (commercial road passenger statistics, mostly coaches), "
            + _R77
            + "; consistent with car ≈ 4x bus per pkm in Beijing [R78]",
        ),
        "road_passenger": (
            31.70,
            "pkm",
            "China road passenger (commercial road passenger statistics, mostly coaches, "
            "not private cars), " + _R77,
        ),
        "rail_passenger": (6.11, "pkm", "China rail passenger, " + _R77),
        "air_passenger": (87.69, "pkm", "China air passenger, " + _R77),
        "ebike": (
            20.0,
            "pkm",
            "electric two-wheeler: 14-27 g CO2/km from the power plants across 34 Chinese "
            "cities (Ji, Cherry, Bechle, Wu & Marshall 2012, Environ. Sci. Technol. 46(4), "
            "doi:10.1021/es202347q), 20 g taken for an East-China grid; no tailpipe emissions",
        ),
        "walk": (0.0, "pkm", "no tailpipe emissions (by definition)"),
        "bike": (0.0, "pkm", "no tailpipe emissions (by definition)"),
        "road_freight": (41.25, "tkm", "China road freight, " + _R77),
        "rail_freight": (6.11, "tkm", "China rail freight, " + _R77),
        "air_freight": (974.32, "tkm", "China air freight, " + _R77),
    }
)
"""Default emission factors: mode -> (g CO₂ per unit, unit ``"pkm"`` or ``"tkm"``, source).

China defaults from Li & Loo 2024 (R77, 2021 data): road passenger 31.70 g/pkm, rail
passenger 6.11 g/pkm, air passenger 87.69 g/pkm, road freight 41.25 g/tkm, rail freight
6.11 g/tkm, air freight 974.32 g/tkm. Caveats:

- ``road_passenger`` comes from commercial road passenger statistics (coaches), not private
  cars.
- ``car``: the reference has no Chinese private-car factor, so the UK DEFRA/DECC 2009 average
  car, 129 g CO₂/pkm at 1.6 persons per car (R79), is the documented fallback. Replace it with
  a local figure when one is available.
- ``bus`` (urban and rural buses) uses the Chinese road-passenger value, 31.70 g/pkm, rather
  than the UK average local bus, 103.12 g CO₂e/pkm (R80). Reasons: it is a Chinese figure,
  reflecting Chinese occupancy, and it agrees with the Beijing Transport Institute's ratio
  car ≈ 4 x bus per pkm (R78: 129 / 4 ≈ 32), whereas UK local buses run far emptier (the UK
  coach/local-bus gap is 31 vs 103 g). It may understate emissions of lightly used rural
  routes; for those use ``EmissionFactors().with_overrides({"bus": 103.12})``.
- ``walk`` and ``bike`` are 0 (no tailpipe emissions); they are there for trip credits.
- ``ebike`` (electric two-wheeler, the commonest vehicle of Zhejiang county towns) is 20 g
  CO₂/pkm of power-plant emissions (Ji et al. 2012: 14-27 g/km across 34 Chinese cities); its
  tailpipe emits nothing, so unlike the others this factor counts the power plant.
"""

_UNITS = ("pkm", "tkm")


def _check_factor(mode: object, value: object) -> float:
    if not isinstance(mode, str) or not mode:
        msg = f"emission factor mode {mode!r} must be a non-empty string such as 'car'"
        raise InputError(msg)
    if (
        isinstance(value, numbers.Real)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and float(value) >= 0
    ):
        return float(value)
    msg = f"emission factor for mode {mode!r} = {value!r} must be a finite number >= 0 (g)"
    raise InputError(msg)


@dataclass(frozen=True, slots=True)
class EmissionFactors(Mapping[str, float]):
    """Emission factors by mode: a read-only mapping mode -> g CO₂ per pkm or tkm.

    Attributes
    ----------
    table
        mode -> (g CO₂ per unit, unit ``"pkm"`` or ``"tkm"``, source); default
        :data:`EMISSION_FACTORS_G_PER_UNIT`.

    Raises
    ------
    InputError
        If a factor is negative or not finite, a unit is not ``"pkm"`` or ``"tkm"`` or a
        source is empty.

    Examples
    --------
    >>> from urlink.model.carbon import EmissionFactors
    >>> ef = EmissionFactors()
    >>> ef["road_freight"], ef.unit("road_freight")
    (41.25, 'tkm')
    >>> local = ef.with_overrides({"car": 150.0, "ebike": (5.0, "pkm", "survey 2024")})
    >>> local["car"], local.source("car"), local["ebike"]
    (150.0, 'override', 5.0)
    >>> ef["car"]  # the original is unchanged
    129.0
    """

    table: Mapping[str, tuple[float, str, str]] = field(
        default_factory=lambda: dict(EMISSION_FACTORS_G_PER_UNIT)
    )

    def __post_init__(self) -> None:
        """Check every entry and freeze the table."""
        clean: dict[str, tuple[float, str, str]] = {}
        for mode, entry in self.table.items():
            if not (isinstance(entry, tuple) and len(entry) == 3):
                msg = (
                    f"emission factor entry for mode {mode!r} = {entry!r} must be a tuple "
                    "(g per unit, 'pkm' or 'tkm', source)"
                )
                raise InputError(msg)
            g, unit, source = entry
            g = _check_factor(mode, g)
            if unit not in _UNITS:
                msg = f"emission factor unit for mode {mode!r} = {unit!r}; use one of {_UNITS}"
                raise InputError(msg)
            if not isinstance(source, str) or not source.strip():
                msg = (
                    f"emission factor source for mode {mode!r} = {source!r}; say where it is from"
                )
                raise InputError(msg)
            clean[mode] = (g, unit, source)
        object.__setattr__(self, "table", MappingProxyType(clean))

    def __getitem__(self, mode: str) -> float:
        return self.table[mode][0]

    def __iter__(self) -> Iterator[str]:
        return iter(self.table)

    def __len__(self) -> int:
        return len(self.table)

    def factor(self, mode: str, *, unit: str | None = None, what: str = "mode") -> float:
        """Return the factor of ``mode`` in g per unit, with a clear error if it is unknown.

        Parameters
        ----------
        mode
            A mode in the table.
        unit
            If given, the unit the mode must have (``"pkm"`` or ``"tkm"``).
        what
            Name of the argument, for messages.

        Returns
        -------
        float
            g CO₂ per pkm or tkm.

        Raises
        ------
        InputError
            If the mode is unknown or has another unit.

        Examples
        --------
        >>> from urlink.model.carbon import EmissionFactors
        >>> EmissionFactors().factor("rail_passenger", unit="pkm")
        6.11
        """
        if mode not in self.table:
            msg = f"{what} = {mode!r} has no emission factor; use one of {sorted(self.table)}"
            raise InputError(msg)
        g, u, _ = self.table[mode]
        if unit is not None and u != unit:
            fit = sorted(m for m, e in self.table.items() if e[1] == unit)
            msg = f"{what} = {mode!r} is a {u} mode; use a {unit} mode: {fit}"
            raise InputError(msg)
        return g

    def unit(self, mode: str) -> str:
        """Return the unit of ``mode``'s factor, ``"pkm"`` or ``"tkm"``.

        Parameters
        ----------
        mode
            A mode in the table.

        Returns
        -------
        str
            The unit.
        """
        self.factor(mode)
        return self.table[mode][1]

    def source(self, mode: str) -> str:
        """Return where ``mode``'s factor comes from.

        Parameters
        ----------
        mode
            A mode in the table.

        Returns
        -------
        str
            The source (``"override"`` for a bare number given to :meth:`with_overrides`).

        Examples
        --------
        >>> from urlink.model.carbon import EmissionFactors
        >>> EmissionFactors().source("rail_freight")[:14]
        'China rail fre'
        """
        self.factor(mode)
        return self.table[mode][2]

    def with_overrides(
        self, overrides: Mapping[str, float | tuple[float, str, str]]
    ) -> EmissionFactors:
        """Return a copy with some factors replaced or added.

        Parameters
        ----------
        overrides
            mode -> g per unit (keeps the mode's unit; source becomes ``"override"``) or
            mode -> (g per unit, unit, source). New modes need the tuple form.

        Returns
        -------
        EmissionFactors
            The new table; ``self`` is unchanged.

        Raises
        ------
        InputError
            If a new mode is given as a bare number, or a value is invalid.
        """
        table = dict(self.table)
        for mode, value in overrides.items():
            if isinstance(value, tuple):
                table[mode] = value
            elif mode in table:
                table[mode] = (_check_factor(mode, value), table[mode][1], "override")
            else:
                msg = (
                    f"overrides[{mode!r}] = {value!r}: {mode!r} is a new mode, so give "
                    "(g per unit, 'pkm' or 'tkm', source) instead of a number"
                )
                raise InputError(msg)
        return EmissionFactors(table)


@dataclass(frozen=True, slots=True)
class EmissionSettings:
    """``[emissions]``: the modes assumed for people and goods flows and local factors.

    Attributes
    ----------
    people_mode, goods_mode
        Modes of the people and goods flows (keys of :data:`EMISSION_FACTORS_G_PER_UNIT`).
    factors_g
        Overrides of the table, mode -> g CO₂ per pkm or tkm (local factors).

    Raises
    ------
    InputError
        If a mode is unknown or a factor is negative or not finite.

    Examples
    --------
    >>> EmissionSettings(factors_g={"car": 150.0}).factors()["car"]
    150.0
    """

    people_mode: str = "car"
    goods_mode: str = "road_freight"
    factors_g: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Check the modes and factors."""
        modes = sorted(EMISSION_FACTORS_G_PER_UNIT)
        for key, mode in (("people_mode", self.people_mode), ("goods_mode", self.goods_mode)):
            if mode not in EMISSION_FACTORS_G_PER_UNIT:
                msg = f"{key} = {mode!r} is not valid; use one of {modes}"
                raise InputError(msg)
        for mode, value in self.factors_g.items():
            if mode not in EMISSION_FACTORS_G_PER_UNIT:
                msg = f"factors_g.{mode} is not a known mode; use one of {modes}"
                raise InputError(msg)
            if not value >= 0:
                msg = f"factors_g.{mode} must be >= 0 g CO2 per unit, got {value!r}"
                raise InputError(msg)
        object.__setattr__(self, "factors_g", MappingProxyType(dict(self.factors_g)))

    def factors(self) -> EmissionFactors:
        """Return the emission-factor table with the overrides applied.

        Returns
        -------
        EmissionFactors
        """
        return EmissionFactors().with_overrides(dict(self.factors_g))

    def __reduce__(self) -> tuple[type[EmissionSettings], tuple[Any, ...]]:
        """Pickle through the constructor (a read-only mapping cannot be pickled itself)."""
        return (type(self), (self.people_mode, self.goods_mode, dict(self.factors_g)))


_PEOPLE_GOODS = {"people": ("pkm", "pkm_per_day"), "goods": ("tkm", "tkm_per_day")}
_NO_TRANSPORT = ("capital", "ecosystem")


def add_emissions(
    G: nx.MultiDiGraph,
    factors: EmissionFactors | None = None,
    *,
    mode_attr: str = "mode",
    default_mode_people: str = "car",
    default_mode_goods: str = "road_freight",
) -> nx.MultiDiGraph:
    """Add activity and CO₂ to every flow edge of a linkage graph.

    For people edges ``pkm_per_day`` = volume (persons/day) x ``distance_km`` and for goods
    edges ``tkm_per_day`` = volume (t/day) x ``distance_km``; both get
    ``co2_kg_per_day`` = activity x factor(mode) / 1000. Capital and ecosystem edges get
    ``co2_kg_per_day`` = 0 and nothing else. An edge's mode is its ``mode_attr`` attribute,
    or the default of its flow type where that is missing. Edges whose ``distance_km`` is
    missing or NaN get NaN activity and CO₂; a warning is logged with their count. Nothing
    is written unless every edge passes the checks.

    Parameters
    ----------
    G
        Linkage graph; edges carry ``flow_type``, ``volume`` and (people, goods)
        ``distance_km``. Modified in place.
    factors
        Emission factors; default :class:`EmissionFactors` ().
    mode_attr
        Edge attribute naming the mode.
    default_mode_people, default_mode_goods
        Mode of people / goods edges without ``mode_attr``.

    Returns
    -------
    networkx.MultiDiGraph
        ``G`` itself (like osmnx's ``add_*`` functions).

    Raises
    ------
    InputError
        Listing every edge with an unknown ``flow_type``, a missing, negative or non-finite
        ``volume``, a negative ``distance_km``, or a mode that has no factor or the wrong
        unit.

    Examples
    --------
    >>> import networkx as nx
    >>> from urlink.model.carbon import add_emissions
    >>> G = nx.MultiDiGraph()
    >>> _ = G.add_edge("farm", "market", flow_type="goods", volume=10.0, distance_km=20.0)
    >>> _ = G.add_edge("village", "town", flow_type="people", volume=100.0, distance_km=5.0,
    ...                mode="bus")
    >>> G = add_emissions(G)
    >>> G.edges["farm", "market", 0]["co2_kg_per_day"]  # 10 t * 20 km * 41.25 g / 1000
    8.25
    >>> round(G.edges["village", "town", 0]["co2_kg_per_day"], 4)  # 500 pkm * 31.70 g
    15.85
    """
    ef = EmissionFactors() if factors is None else factors
    defaults = {"people": default_mode_people, "goods": default_mode_goods}
    for ft, mode in defaults.items():
        ef.factor(mode, unit=_PEOPLE_GOODS[ft][0], what=f"default_mode_{ft}")
    updates: list[tuple[dict[str, Any], dict[str, float]]] = []
    problems: list[str] = []
    no_distance = 0
    for u, v, k, data in G.edges(keys=True, data=True):
        edge = f"({u!r}, {v!r}, {k!r})"
        ft = data.get("flow_type")
        if ft in _NO_TRANSPORT:
            updates.append((data, {"co2_kg_per_day": 0.0}))
            continue
        if ft not in _PEOPLE_GOODS:
            problems.append(
                f"edge {edge}: flow_type = {ft!r}; use one of {(*_PEOPLE_GOODS, *_NO_TRANSPORT)}"
            )
            continue
        unit, activity_key = _PEOPLE_GOODS[ft]
        mode = data.get(mode_attr)
        mode = defaults[ft] if mode is None else mode
        try:
            g = ef.factor(mode, unit=unit, what=f"edge {edge} {mode_attr}")
        except InputError as err:
            problems.append(str(err))
            continue
        vol = data.get("volume")
        if isinstance(vol, bool) or not isinstance(vol, numbers.Real) or not math.isfinite(vol):
            problems.append(f"edge {edge}: volume = {vol!r} must be a finite number >= 0")
            continue
        if vol < 0:
            problems.append(f"edge {edge}: volume = {vol!r} must be >= 0")
            continue
        dist = data.get("distance_km", math.nan)
        dist = math.nan if dist is None else dist
        if isinstance(dist, bool) or not isinstance(dist, numbers.Real) or dist < 0:
            problems.append(f"edge {edge}: distance_km = {dist!r} must be a number >= 0 or NaN")
            continue
        if math.isnan(dist):
            no_distance += 1
        activity = float(vol) * float(dist)
        updates.append((data, {activity_key: activity, "co2_kg_per_day": activity * g / 1000}))
    if problems:
        shown = "; ".join(problems[:10])
        more = f" (and {len(problems) - 10:,} more)" if len(problems) > 10 else ""
        msg = f"add_emissions: {len(problems):,} edge(s) cannot be costed: {shown}{more}"
        raise InputError(msg)
    for data, new in updates:
        data.update(new)
    if no_distance:
        logger.warning(
            "add_emissions: %s people/goods edge(s) have no distance_km; their CO₂ is NaN",
            f"{no_distance:,}",
        )
    logger.info("add_emissions: CO₂ added to %s edges", f"{len(updates):,}")
    return G


def emissions_of_flows(
    flows: pd.DataFrame,
    factors: EmissionFactors | None = None,
    *,
    default_mode_people: str = "car",
    default_mode_goods: str = "road_freight",
) -> pd.DataFrame:
    """Add the activity and CO₂ columns of :func:`add_emissions` to a table of flow edges.

    The columnar form of :func:`add_emissions`, for the flow table of
    :func:`urlink.model.graph.linkage_flows_from`: the same numbers, without a graph.
    ``pkm_per_day`` (if there are people rows) and ``tkm_per_day`` (if goods rows) are NaN
    on the other rows; ``co2_kg_per_day`` is 0 for capital and ecosystem rows. The modes are
    the defaults (the table's rows are summed over modes).

    Parameters
    ----------
    flows
        ``flow_type``, ``volume`` and ``distance_km`` per row.
    factors, default_mode_people, default_mode_goods
        As for :func:`add_emissions`.

    Returns
    -------
    pandas.DataFrame
        ``flows`` with the columns added after its own, sorted by name (as
        :func:`urlink.model.graph.graph_to_gdfs` orders them).

    Raises
    ------
    InputError
        On an unknown ``flow_type``, a volume that is not a finite number >= 0, or a
        negative ``distance_km``.

    Examples
    --------
    >>> f = pd.DataFrame({"flow_type": ["goods", "capital"], "volume": [10.0, 5.0],
    ...                   "distance_km": [20.0, 3.0]})
    >>> emissions_of_flows(f)["co2_kg_per_day"].tolist()  # 10 t * 20 km * 41.25 g / 1000
    [8.25, 0.0]
    """
    ef = EmissionFactors() if factors is None else factors
    defaults = {"people": default_mode_people, "goods": default_mode_goods}
    g_of = {
        kind: ef.factor(mode, unit=_PEOPLE_GOODS[kind][0], what=f"default_mode_{kind}")
        for kind, mode in defaults.items()
    }
    ft = flows["flow_type"].to_numpy()
    unknown = sorted(set(ft) - {*_PEOPLE_GOODS, *_NO_TRANSPORT})
    if unknown:
        msg = (
            f"emissions_of_flows: flow_type {unknown!r}; use one of "
            f"{(*_PEOPLE_GOODS, *_NO_TRANSPORT)}"
        )
        raise InputError(msg)
    volume = pd.to_numeric(flows["volume"]).to_numpy(dtype=float)
    dist = pd.to_numeric(flows["distance_km"]).to_numpy(dtype=float)
    transport = np.isin(ft, list(_PEOPLE_GOODS))
    if not (np.isfinite(volume[transport]) & (volume[transport] >= 0)).all():
        msg = "emissions_of_flows: people/goods volumes must be finite numbers >= 0"
        raise InputError(msg)
    if (dist[transport] < 0).any():
        msg = "emissions_of_flows: distance_km must be a number >= 0 or NaN"
        raise InputError(msg)
    co2 = np.zeros(len(flows))
    columns: dict[str, np.ndarray] = {}
    for kind, (_, key) in _PEOPLE_GOODS.items():
        rows = ft == kind
        if not rows.any():
            continue
        g = g_of[kind]
        activity = np.full(len(flows), np.nan)
        activity[rows] = volume[rows] * dist[rows]
        columns[key] = activity
        co2[rows] = activity[rows] * g / 1000
    columns["co2_kg_per_day"] = co2
    no_distance = int((transport & np.isnan(dist)).sum())
    if no_distance:
        logger.warning(
            "emissions_of_flows: %s people/goods flows have no distance_km; their CO₂ is NaN",
            f"{no_distance:,}",
        )
    return flows.assign(**{k: columns[k] for k in sorted(columns)})


def baseline_factor_g_per_pkm(
    pkm_by_mode: Mapping[str, float], factors: EmissionFactors | None = None
) -> float:
    """Baseline factor of a city's motorised trips: total CO₂ / total pkm (碳普惠, R87/R88).

    EF_baseline = sum_m pkm_m EF_m / sum_m pkm_m, over the motorised modes the city's trips
    use. Add the result to the factors as a mode (e.g. ``"city_baseline"``) and pass that as
    ``baseline_mode`` to :func:`trip_credit_g`.

    Parameters
    ----------
    pkm_by_mode
        Person-km (any period) by pkm mode.
    factors
        Emission factors; default :class:`EmissionFactors` ().

    Returns
    -------
    float
        g CO₂ per pkm.

    Raises
    ------
    InputError
        If a mode is unknown or a tkm mode, a pkm value is negative or not finite, or the
        total is 0.

    Examples
    --------
    >>> from urlink.model.carbon import baseline_factor_g_per_pkm
    >>> baseline_factor_g_per_pkm({"car": 1.0, "bus": 3.0})  # (129 + 3*31.7) / 4
    56.025
    """
    ef = EmissionFactors() if factors is None else factors
    total = 0.0
    co2 = 0.0
    for mode, pkm in pkm_by_mode.items():
        g = ef.factor(mode, unit="pkm", what="pkm_by_mode mode")
        if isinstance(pkm, bool) or not isinstance(pkm, numbers.Real) or not math.isfinite(pkm):
            msg = f"pkm_by_mode[{mode!r}] = {pkm!r} must be a finite number >= 0"
            raise InputError(msg)
        if pkm < 0:
            msg = f"pkm_by_mode[{mode!r}] = {pkm!r} must be >= 0"
            raise InputError(msg)
        total += float(pkm)
        co2 += float(pkm) * g
    if total <= 0:
        msg = f"pkm_by_mode = {dict(pkm_by_mode)!r} has no person-km; give pkm > 0 for a mode"
        raise InputError(msg)
    return co2 / total


def trip_credit_g(
    distance_km: float,
    *,
    baseline_mode: str,
    chosen_mode: str,
    factors: EmissionFactors | None = None,
) -> float:
    """碳普惠 low-carbon trip credit: CO₂ avoided by one trip, in g.

    credit = max(0, EF_baseline - EF_chosen) x distance (the Amap/Alibaba white paper and
    Shenzhen 2021 method, domain-methods R87/R88). The credit is clipped at 0: a trip by a
    mode dirtier than the baseline earns nothing rather than a debit, as in the schemes,
    which only reward low-carbon choices.

    Parameters
    ----------
    distance_km
        Trip distance in km.
    baseline_mode
        Mode whose factor is the baseline (R87 uses the city's average over motorised modes:
        see :func:`baseline_factor_g_per_pkm`).
    chosen_mode
        Mode the trip was made by.
    factors
        Emission factors; default :class:`EmissionFactors` ().

    Returns
    -------
    float
        g CO₂ credited, >= 0.

    Raises
    ------
    InputError
        If the distance is negative or not finite, or a mode is unknown or a tkm mode.

    Examples
    --------
    >>> from urlink.model.carbon import trip_credit_g
    >>> round(trip_credit_g(10.0, baseline_mode="car", chosen_mode="bus"), 6)  # (129-31.7)*10
    973.0
    >>> trip_credit_g(10.0, baseline_mode="bus", chosen_mode="car")
    0.0
    """
    d = distance_km
    if isinstance(d, bool) or not isinstance(d, numbers.Real) or not math.isfinite(d) or d < 0:
        msg = f"distance_km = {d!r} must be a finite number >= 0 (km)"
        raise InputError(msg)
    ef = EmissionFactors() if factors is None else factors
    base = ef.factor(baseline_mode, unit="pkm", what="baseline_mode")
    chosen = ef.factor(chosen_mode, unit="pkm", what="chosen_mode")
    return max(0.0, base - chosen) * float(d)
