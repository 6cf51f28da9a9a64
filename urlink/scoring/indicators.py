"""Indicators of a state: per zone, per administrative unit, and for the study district.

:func:`evaluate` computes the indicators of :data:`INDICATORS` from a
:class:`urlink.model.state.State` (its flows are computed already, never here). Each has a
direction (``max``: more is better,
``min``: less is better), a unit, the SDG 11 target it localises where one fits, and a
definition. District values are computed over the zones of the focus unit (the townships of
Huangyan); zone values feed the cross-boundary attribution.

Transport CO2 of people flows uses the scenario's people mode (car by default) except for
the share of trips that a bus line moves to the bus (``mode_shift`` of the trips between
its stop zones). The 碳普惠 low-carbon trip credit of those trips is
(EF_car - EF_bus) x distance (Amap/Alibaba white paper, Shenzhen 2021 methodology;
domain reference R87, R88).
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, TypeVar, cast

import numpy as np
import pandas as pd

from urlink.model.intrazonal import _arrow_strings, pair_values, positions
from urlink.model.state import in_focus, intrazonal_km, intrazonal_min, transit_of
from urlink.registry import RegistrationError, Registry, builtin

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    import pyarrow as pa

    from urlink.model.carbon import EmissionFactors
    from urlink.model.state import State

__all__ = [
    "INDICATORS",
    "DistrictContext",
    "Evaluation",
    "EvaluationCache",
    "IndicatorDef",
    "evaluate",
    "gini",
    "indicators_by_unit",
    "register_indicator",
    "service_self_min",
]

logger = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class IndicatorDef:
    """Definition of an indicator.

    Attributes
    ----------
    direction
        ``"max"`` (more is better) or ``"min"`` (less is better).
    unit
        Unit of the value.
    sdg
        SDG target it localises, or ``""``.
    description
        What it measures.
    compute
        ``compute(context) -> float``: the district value from a :class:`DistrictContext`.
    """

    direction: Literal["max", "min"]
    unit: str
    sdg: str
    description: str
    compute: Callable[[DistrictContext], float] | None = field(default=None, compare=False)


_DEFINITIONS: dict[str, IndicatorDef] = {
    "pop_within_30min_centre": IndicatorDef(
        "max",
        "share",
        "11.a",
        "share of the district's population within 30 min of the district centre",
    ),
    "pop_within_60min_centre": IndicatorDef(
        "max",
        "share",
        "11.a",
        "share of the district's population within 60 min of the district centre",
    ),
    "mean_time_to_hospital_min": IndicatorDef(
        "min", "min", "11.a", "population-weighted mean travel time to the nearest hospital"
    ),
    "mean_time_to_market_min": IndicatorDef(
        "min", "min", "11.a", "population-weighted mean travel time to the nearest market"
    ),
    "pop_within_45min_centre_bus": IndicatorDef(
        "max",
        "share",
        "11.2",
        "share of the district's population within 45 min of the district centre by bus "
        "(ride, half-headway waits and walks)",
    ),
    "pt_coverage_share": IndicatorDef(
        "max",
        "share",
        "11.2.1",
        "share of the district's population living in zones "
        "served by a bus line (zone-level proxy of SDG 11.2.1)",
    ),
    "access_ratio_rural_urban": IndicatorDef(
        "min",
        "ratio",
        "11.a",
        "mean time to the centre of rural residents divided by that "
        "of urban residents (1 = balanced)",
    ),
    "access_gini": IndicatorDef(
        "min",
        "index",
        "11.a",
        "Gini coefficient of the time to the centre over the district's residents",
    ),
    "cross_boundary_share_people": IndicatorDef(
        "max",
        "share",
        "11.a",
        "share of people flows from or to the district that cross the county boundary",
    ),
    "cross_boundary_share_goods": IndicatorDef(
        "max",
        "share",
        "11.a",
        "share of goods flows from the district that cross the county boundary",
    ),
    "co2_t_per_day": IndicatorDef(
        "min",
        "t CO2/day",
        "11.6",
        "transport CO2 of people and goods flows from the district's zones",
    ),
    "co2_kg_per_person_day": IndicatorDef(
        "min", "kg CO2/person/day", "11.6", "the same per district resident"
    ),
    "trip_credits_t_per_day": IndicatorDef(
        "max",
        "t CO2/day",
        "11.6",
        "碳普惠 low-carbon trip credits of trips from the district: the CO2 that bus, "
        "e-bike and walking trips avoid against the car (with a mode choice; else of the "
        "trips moved to a new bus line)",
    ),
    "es_used_outside_share": IndicatorDef(
        "max",
        "share",
        "11.a",
        "share of the ecosystem-service supply of the district used outside its source zone",
    ),
    "eco_comp_per_source_resident_yuan": IndicatorDef(
        "max",
        "yuan/person/year",
        "11.a",
        "eco-compensation received per resident of the source zones",
    ),
    "cost_million_yuan": IndicatorDef(
        "min",
        "million yuan",
        "",
        "capital cost of the strategy or package (NaN: cost unknown)",
    ),
    "cost_annualised_million_yuan": IndicatorDef(
        "min",
        "million yuan/year",
        "",
        "capital x capital recovery factor (8 %, 30 years) + yearly cost (NaN: cost "
        "unknown; urlink.scoring.costs)",
    ),
    "co2_saved_t_per_million_yuan": IndicatorDef(
        "max",
        "t CO2/year per million yuan/year",
        "11.6",
        "transport CO2 saved against the baseline per million yuan of annualised cost "
        "(NaN: cost unknown)",
    ),
    "pop_30min_gain_per_million_yuan": IndicatorDef(
        "max",
        "persons per million yuan/year",
        "11.a",
        "change of the residents within 30 min of the district centre per million yuan of "
        "annualised cost (NaN: cost unknown)",
    ),
}
"""urlink's own indicators (their ``compute`` functions are set below)."""

INDICATORS: Registry[IndicatorDef] = Registry("indicator", group="urlink.indicators")
"""The indicators, by name: urlink's own and plugins' (entry-point group
``urlink.indicators``; register in Python with :func:`register_indicator`)."""


def register_indicator(name: str, definition: IndicatorDef) -> IndicatorDef:
    """Register an indicator (its ``compute`` function must be set).

    Parameters
    ----------
    name
        Name used in weights files and outputs.
    definition
        Direction, unit, SDG target, description and ``compute``.

    Returns
    -------
    IndicatorDef
        The definition.

    Raises
    ------
    urlink.registry.RegistrationError
        If the name is taken or ``compute`` is missing.
    """
    if definition.compute is None:
        msg = f"indicator {name!r} needs a compute function"
        raise RegistrationError(msg)
    registered: IndicatorDef = INDICATORS.register(name, definition)
    return registered


@dataclass(frozen=True, slots=True, eq=False)
class Evaluation:
    """The flows and indicators of one state.

    Attributes
    ----------
    flows
        Flow type -> flow table.
    zone_values
        Per zone: ``time_to_centre_min``, ``time_to_hospital_min``, ``time_to_market_min``,
        ``co2_kg_per_day`` (from the zone), ``trip_credits_kg_per_day``,
        ``person_minutes_per_day`` (people trips from the zone x their time),
        ``capital_received_yuan_per_year``, ``capital_paid_yuan_per_year``,
        ``capital_net_yuan_per_year`` (received - paid), ``water_received_m3_per_day``,
        ``bus_served`` (0/1).
    district
        District indicators (:data:`INDICATORS`).
    """

    flows: dict[str, pd.DataFrame]
    zone_values: pd.DataFrame
    district: pd.Series


def gini(values: np.ndarray, weights: np.ndarray) -> float:
    """Weighted Gini coefficient (0 = all equal).

    Parameters
    ----------
    values
        Non-negative values (e.g. travel times).
    weights
        Non-negative weights (e.g. residents).

    Returns
    -------
    float
        The Gini coefficient, from the Lorenz curve of the weighted values.

    Examples
    --------
    >>> gini(np.array([1.0, 1.0]), np.array([1.0, 1.0]))
    0.0
    >>> round(gini(np.array([0.0, 1.0]), np.array([1.0, 1.0])), 3)
    0.5
    """
    order = np.argsort(values, kind="stable")
    v, w = values[order], weights[order]
    total = float((v * w).sum())
    if total == 0 or w.sum() == 0:
        return 0.0
    cum_w = np.cumsum(w) / w.sum()
    cum_v = np.cumsum(v * w) / total
    area = (
        np.sum(
            (cum_w - np.concatenate([[0.0], cum_w[:-1]]))
            * (cum_v + np.concatenate([[0.0], cum_v[:-1]]))
        )
        / 2.0
    )
    return float(1.0 - 2.0 * area)


class EvaluationCache:
    """Parts of :func:`evaluate` kept for the next states evaluated with the same cache.

    Each part (the zone values of a flow table, the times to a service, an indicator of one
    flow table) is kept with the objects it was computed from, and reused only for a state
    holding those very objects (compared by identity; strings and numbers by value), so a
    state evaluated with the cache gets the same numbers as without. The uncertainty
    analysis evaluates the baseline and every strategy of a sample with one cache: most
    strategies leave most flow tables, the skim and the services as they were. The cache
    holds what it was given: use one for a handful of related states, then drop it.

    Examples
    --------
    >>> cache = EvaluationCache()
    >>> cache.part("double", (2.0,), lambda: 4.0)
    4.0
    >>> cache.part("double", (2.0,), lambda: 5.0)  # kept: not computed again
    4.0
    """

    __slots__ = ("_parts",)

    def __init__(self) -> None:
        self._parts: dict[str, list[tuple[tuple[object, ...], object]]] = {}

    def part(self, name: str, keys: tuple[object, ...], compute: Callable[[], T]) -> T:
        """Return the part ``name`` computed from ``keys``: kept, or computed now and kept.

        Parameters
        ----------
        name
            The part.
        keys
            Everything it is computed from: objects (compared by identity) and strings,
            numbers and tuples of them (compared by value; so are the columns of Arrow
            strings :func:`evaluate` wraps as keys).
        compute
            Computes it.

        Returns
        -------
        object
            What ``compute`` returned for these keys.
        """
        held = self._parts.setdefault(name, [])
        for known, value in held:
            if len(known) == len(keys) and all(map(_same, known, keys)):
                return cast("T", value)
        value = compute()
        held.append((keys, value))
        return value


def _same(a: object, b: object) -> bool:
    if a is b:
        return True
    if isinstance(a, _Strings):
        return isinstance(b, _Strings) and a.same(b)
    plain = (str, int, float, bool, tuple)
    return isinstance(a, plain) and type(a) is type(b) and bool(a == b)


@dataclass(frozen=True, slots=True, eq=False)
class _Strings:
    """A column of Arrow strings as a key of :class:`EvaluationCache`, compared by value.

    The flow tables of a sample's strategies are new tables, but most hold the same pairs in
    the same rows (only the volumes differ): their zones' positions and mode codes are
    looked up once, not once per table (comparing two columns costs far less).
    """

    array: pa.Array

    @classmethod
    def of(cls, column: pd.Series) -> _Strings | None:
        """Return the key of a column (None unless Arrow strings without missing ones)."""
        array = _arrow_strings(column)
        return None if array is None else cls(array)

    def same(self, other: _Strings) -> bool:
        """Whether both hold the same strings in the same order."""
        return len(self.array) == len(other.array) and bool(self.array.equals(other.array))


def _part(
    cache: EvaluationCache | None, name: str, keys: tuple[object, ...], compute: Callable[[], T]
) -> T:
    """``compute()``, through the cache when there is one."""
    return compute() if cache is None else cache.part(name, keys, compute)


_GRID_CELLS = 1 << 22
"""Largest zone matrix (cells) :func:`_grid` reads whole as floats (32 MB); a larger one is
read by blocks of rows where it is needed (#20)."""


def _grid(cache: EvaluationCache | None, matrix: pd.DataFrame, ids: pd.Index) -> np.ndarray | None:
    """``matrix`` as floats when its rows and columns are the zones ``ids`` in their order.

    Then the value of zones ``i`` and ``j`` is ``grid[i, j]``: a flow table's pairs and the
    targets of a service are read by position, no label lookup. None for a matrix over other
    labels, or too large to hold as floats (the pandas or block-wise lookups then).
    The array may be a read-only view of the matrix.
    """

    def read() -> np.ndarray | None:
        rows, cols = matrix.shape
        if rows * cols > _GRID_CELLS or not (
            matrix.index.equals(ids) and matrix.columns.equals(ids)
        ):
            return None
        return matrix.to_numpy(dtype=float)

    return _part(cache, "grid", (matrix, ids), read)


def _on_zones(cache: EvaluationCache | None, values: pd.Series, ids: pd.Index) -> np.ndarray:
    """``values.reindex(ids)`` as floats (NaN for a zone without a value), kept in the cache."""
    return _part(
        cache, "on_zones", (values, ids), lambda: values.reindex(ids).to_numpy(dtype=float)
    )


def _zone_positions(
    cache: EvaluationCache | None, ids: pd.Index, labels: list[str]
) -> np.ndarray | None:
    """Positions of ``labels`` among the zone ids, kept in the cache; None if one is not there."""

    def look_up() -> np.ndarray | None:
        if not ids.is_unique:
            return None
        if cache is not None and all(type(z) is str for z in labels):
            # string ids by hash, the zones' table kept for the other services and states
            # (get_indexer's positions, without building an Index for a few labels)
            where = _part(cache, "zone_at", (ids,), lambda: {z: i for i, z in enumerate(ids)})
            at = np.array([where.get(z, -1) for z in labels], dtype=np.intp)
        else:
            at = ids.get_indexer(pd.Index(labels))
        return None if (at < 0).any() else at

    return _part(cache, "zone_positions", (ids, tuple(labels)), look_up)


def _nearest(grid: np.ndarray, at: np.ndarray, own: np.ndarray) -> np.ndarray:
    """Smallest value of each row of ``grid`` over the columns ``at``, ``own`` on the diagonal.

    The zones' matrix and their own values (intrazonal) in the order of the zones, ``at``
    the targets' positions: :func:`_time_to`'s numbers by position (the smallest value that
    is not missing, NaN where all are missing).
    """
    times = grid[:, at]  # a copy (fancy indexing)
    times[at, np.arange(len(at))] = own[at]
    return np.asarray(np.fmin.reduce(times, axis=1))


def _time_to(skim: pd.DataFrame, targets: list[str], self_min: pd.Series) -> pd.Series:
    """Minutes to the nearest target; from a target's own zone, its intrazonal time.

    A service in the zone itself is not 0 min away: residents still travel within the
    zone. The skim's diagonal (0 min) is replaced by ``self_min`` (half the time to the
    nearest other zone, :func:`urlink.model.intrazonal.intrazonal_values`) for every target
    zone, so a zone with the service counts the same within-zone trip as everyone else.
    """
    if not targets:
        return pd.Series(np.nan, index=skim.index)
    cols = skim.columns.get_indexer(pd.Index(targets))
    if (cols < 0).any() or not skim.columns.is_unique or not skim.index.is_unique:
        return _time_to_frame(skim, targets, self_min)
    times = np.asarray(skim.to_numpy()[:, cols], dtype=float)  # a copy (fancy indexing)
    rows = skim.index.get_indexer(pd.Index(targets))
    own = self_min.reindex(pd.Index(targets)).to_numpy(dtype=float)
    for j, (r, z) in enumerate(zip(rows, own, strict=True)):
        if r >= 0:
            times[r, j] = z
    # the smallest non-missing value of each row, NaN where all are missing (pandas' min)
    return pd.Series(np.fmin.reduce(times, axis=1), index=skim.index)


def _time_to_frame(skim: pd.DataFrame, targets: list[str], self_min: pd.Series) -> pd.Series:
    """:func:`_time_to` with pandas (targets missing from the skim raise KeyError)."""
    times = skim[targets].astype(float).copy()
    for z in dict.fromkeys(targets):
        if z in times.index:
            times.loc[z, z] = float(self_min.get(z, np.nan))
    return times.min(axis=1)


def service_self_min(state: State) -> pd.Series:
    """Minutes to a service located in the zone itself, per zone.

    The zone's intrazonal time: :func:`urlink.model.state.intrazonal_min` (half the time
    to the nearest other zone, the usual rule; Ortúzar & Willumsen, *Modelling Transport*,
    4th ed., 2011, ch. 3). Where the scenario keeps the skim's zero diagonal for trips
    (``[flows] within_zone = "none"``) the half-nearest rule is still used here: a 0 min
    trip to a service would make the zone with the service look infinitely better
    connected than any other (in Huangyan the district centre's own township was 0 min from
    the centre and the rural/urban access ratio 29.1; with its intrazonal time of 1.1 min
    the ratio is 23.6).

    Parameters
    ----------
    state
        A state.

    Returns
    -------
    pandas.Series
        Minutes per zone id (NaN for a zone that reaches no other zone).
    """
    if state.intrazonal == "none":  # the half-nearest times, kept with the skim as well
        return intrazonal_min(dataclasses.replace(state, intrazonal="half_nearest"))
    return intrazonal_min(state)


@dataclass(frozen=True, slots=True, eq=False)
class _Pairs:
    """Positions of a flow table's origins and destinations among the zones (numpy lookups).

    Each zone id is looked up once per table, not once per matrix read; the values are the
    same as :func:`urlink.model.intrazonal.pair_values` gives.
    """

    ids: pd.Index
    origin: pd.Series
    destination: pd.Series
    o: np.ndarray
    d: np.ndarray
    complete: bool = False
    """Whether every origin and destination is a zone (else the pandas lookups)."""

    @classmethod
    def of(
        cls, ids: pd.Index, table: pd.DataFrame, cache: EvaluationCache | None = None
    ) -> _Pairs:
        o, d = table["origin"], table["destination"]
        if not ids.is_unique:
            return cls(ids, o, d, np.empty(0, np.intp), np.empty(0, np.intp))

        def look_up() -> tuple[np.ndarray, np.ndarray, bool]:
            at_o, at_d = positions(ids, o), positions(ids, d)
            return at_o, at_d, len(at_o) == len(o) and bool((at_o >= 0).all() & (at_d >= 0).all())

        keys = (ids, _Strings.of(o), _Strings.of(d))
        if cache is None or keys[1] is None or keys[2] is None:
            return cls(ids, o, d, *look_up())
        # kept for the next table with the same origins and destinations (_Strings)
        return cls(ids, o, d, *cache.part("pair_positions", keys, look_up))

    def values(
        self,
        matrix: pd.DataFrame,
        intrazonal: pd.Series | None = None,
        cache: EvaluationCache | None = None,
    ) -> np.ndarray:
        """``matrix[origin, destination]`` per row, ``intrazonal`` where they are the same.

        ``cache``: keeps the matrix read as floats (:func:`_grid`) and the intrazonal
        values in the order of the zones, for the next tables read on the same matrix.
        """
        grid = _grid(cache, matrix, self.ids) if self.complete else None
        if grid is not None:  # rows and columns are the zones: the pairs by position
            values: np.ndarray = grid[self.o, self.d]
        else:
            rows = matrix.index.get_indexer(self.ids) if matrix.index.is_unique else None
            cols = matrix.columns.get_indexer(self.ids) if matrix.columns.is_unique else None
            if rows is None or cols is None or (rows < 0).any() or (cols < 0).any():
                return pair_values(matrix, self.origin, self.destination, intrazonal=intrazonal)
            if not self.complete:
                return pair_values(matrix, self.origin, self.destination, intrazonal=intrazonal)
            # the pairs only, never an aligned copy of the whole matrix (#20)
            values = _at_pairs(matrix, rows[self.o], cols[self.d])
        if intrazonal is not None:
            same = self.o == self.d
            if same.any():
                values[same] = _on_zones(cache, intrazonal, self.ids)[self.o[same]]
        return values

    def totals(self, values: np.ndarray) -> np.ndarray:
        """Sum of ``values`` by origin zone, in the order of the zones (missing values count 0).

        The numbers of :meth:`per_origin`.
        """
        v = np.where(np.isnan(values), 0.0, values)
        if not self.complete:
            total = pd.Series(v, index=self.origin.to_numpy()).groupby(level=0).sum()
            return total.reindex(self.ids, fill_value=0.0).to_numpy(dtype=float)
        return np.bincount(self.o, weights=v, minlength=len(self.ids))

    def per_origin(self, values: np.ndarray) -> pd.Series:
        """Sum of ``values`` by origin zone (missing values count 0, as pandas' sum)."""
        return pd.Series(self.totals(values), index=self.ids)


def _at_pairs(matrix: pd.DataFrame, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """``matrix`` at positions ``(rows[k], cols[k])``, as float, read by blocks of rows."""
    out = np.empty(len(rows), dtype=float)
    step = 4096
    order = np.argsort(rows, kind="stable")
    for a in range(0, len(matrix), step):
        lo, hi = np.searchsorted(rows[order], [a, a + step])
        if lo < hi:
            sel = order[lo:hi]
            out[sel] = matrix.iloc[a : a + step].to_numpy(dtype=float)[rows[sel] - a, cols[sel]]
    return out


def _mode_codes(
    people: pd.DataFrame, cache: EvaluationCache | None = None
) -> tuple[np.ndarray, list[str]]:
    """Return the ``mode`` of each people flow row as a code, and the names of the codes.

    ``pd.factorize(people["mode"].astype(str), use_na_sentinel=False)``: the names in the
    order they first appear. With Arrow strings and none missing, Arrow's dictionary
    encoding gives the same codes and names (what pandas calls for them) without the copy,
    kept in ``cache`` for the next table with the same modes in the same rows.
    """
    mode = people["mode"]
    key = _Strings.of(mode)
    if key is None:
        codes, names = pd.factorize(mode.astype(str), use_na_sentinel=False)
        return codes, list(names)

    def encode() -> tuple[np.ndarray, list[str]]:
        import pyarrow.compute as pc  # noqa: PLC0415 - installed: the modes are Arrow strings

        encoded = pc.dictionary_encode(key.array)
        return np.asarray(encoded.indices.to_numpy()), encoded.dictionary.to_pylist()

    return _part(cache, "mode_codes", (key,), encode)


def _people_co2(
    state: State,
    people: pd.DataFrame,
    pairs: _Pairs,
    km: np.ndarray,
    factors: EmissionFactors,
    *,
    modes: tuple[np.ndarray, list[str]] | None = None,
    volume: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Per people flow: CO2 (kg/day) by its mode and trip credits.

    With a mode choice each row carries its ``mode`` and is emitted at that mode's factor;
    the 碳普惠 credit of a low-carbon trip is the CO2 it avoids against the car,
    (EF_car - EF_mode) x km (Amap/Shenzhen methodology, R87/R88). Without one, every trip
    is a ``[emissions] people_mode`` trip except the fixed ``mode_shift`` share of the trips
    between the stops of a bus line added by a strategy (the older, cruder rule).
    ``modes``: :func:`_mode_codes` of the table, ``volume`` its volumes, where already read.
    """
    ef_car = factors[state.emissions.people_mode]
    pkm = (people["volume"].to_numpy() if volume is None else volume) * km
    if "mode" in people.columns:
        codes, names = modes if modes is not None else _mode_codes(people)
        by_name = [factors[state.emissions.people_mode if m == "car" else m] for m in names]
        ef_mode = np.asarray(by_name, dtype=float)[codes]
        co2 = pkm * ef_mode / 1000.0
        low_carbon = np.asarray([m != "car" for m in names], dtype=bool)[codes]
        credits = np.where(low_carbon, pkm * np.maximum(0.0, ef_car - ef_mode), 0.0) / 1000.0
    else:
        ef_bus = factors["bus"]
        shift = np.zeros(len(people))
        for line in state.bus_lines:
            stops = set(line.stops)
            on = pairs.origin.isin(stops).to_numpy() & pairs.destination.isin(stops).to_numpy()
            shift = np.maximum(shift, np.where(on, line.mode_shift, 0.0))
        co2 = pkm * ((1 - shift) * ef_car + shift * ef_bus) / 1000.0
        credits = pkm * shift * max(0.0, ef_car - ef_bus) / 1000.0
    return {"co2": co2, "credits": credits}


def _trip_minutes(
    state: State,
    people: pd.DataFrame,
    pairs: _Pairs,
    km: np.ndarray,
    bus_min: pd.DataFrame | None,
    *,
    modes: tuple[np.ndarray, list[str]] | None = None,
    cache: EvaluationCache | None = None,
) -> np.ndarray:
    """Door-to-door minutes of each people flow row, by its mode (car time without one).

    ``bus_min``: the bus skim's door-to-door minutes (None without a bus service);
    ``modes``: :func:`_mode_codes` of the table, where already computed.
    """
    car = pairs.values(state.skim, intrazonal_min(state), cache)
    if "mode" not in people.columns or state.modes is None:
        return car
    codes, names = modes if modes is not None else _mode_codes(people)

    def rows_of(mode: str) -> np.ndarray:
        # the rows of a mode, its name compared once (the names are distinct: one code)
        return codes == names.index(mode) if mode in names else np.zeros(len(codes), bool)

    out = car.copy()
    ebike, walk = rows_of("ebike"), rows_of("walk")
    out[ebike] = (km / state.modes.ebike_kph * 60.0)[ebike]
    out[walk] = (km / state.modes.walk_kph * 60.0)[walk]
    bus = rows_of("bus")
    if bus_min is not None and bus.any():
        out[bus] = pairs.values(bus_min, None, cache)[bus]
    return out


def _bus_time_to(
    state: State,
    targets: list[str],
    bus_min: pd.DataFrame | None,
    cache: EvaluationCache | None = None,
) -> np.ndarray:
    """Minutes by bus (ride, waits and walks) to the nearest target; NaN where no bus goes.

    Per zone, in the order of the zones. Residents of a target zone walk to it (the
    intrazonal length at walking speed). ``bus_min``: the bus skim's door-to-door minutes
    (None without a bus service).
    """
    index = state.zones.index
    if bus_min is None or not targets:
        return np.full(len(index), np.nan)
    walk_kph = state.modes.walk_kph if state.modes is not None else 4.5
    km = intrazonal_km(state)
    grid = _grid(cache, bus_min, index)
    at = _zone_positions(cache, index, targets)
    if grid is not None and at is not None:  # the same numbers by position
        return _nearest(grid, at, _on_zones(cache, km, index) / walk_kph * 60.0)
    total = bus_min.reindex(index=index, columns=index)
    walk = km / walk_kph * 60.0
    known = pd.Index(targets)
    if (
        index.is_unique
        and walk.index.is_unique
        and known.isin(index).all()
        and known.isin(walk.index).all()
    ):  # every target is a zone with its walk: the same numbers with numpy
        return _time_to(total, targets, walk).to_numpy(dtype=float)
    for z in targets:
        total.loc[z, z] = walk[z]
    return total[targets].min(axis=1).to_numpy(dtype=float)


def _people_values(
    state: State,
    people: pd.DataFrame,
    bus_min: pd.DataFrame | None,
    cache: EvaluationCache | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, _Pairs]:
    """Return the people flows' CO2, trip credits and person-minutes per origin, and pairs.

    Per zone, in the order of the zones.
    """
    pairs = _Pairs.of(state.zones.index, people, cache)
    km = pairs.values(state.distance_km, intrazonal_km(state), cache)
    modes = _mode_codes(people, cache) if "mode" in people.columns else None
    trip = _trip_minutes(state, people, pairs, km, bus_min, modes=modes, cache=cache)
    volume = people["volume"].to_numpy()
    minutes = volume * trip
    factors = _part(cache, "factors", (state.emissions,), state.emissions.factors)
    per = _people_co2(state, people, pairs, km, factors, modes=modes, volume=volume)
    return pairs.totals(per["co2"]), pairs.totals(per["credits"]), pairs.totals(minutes), pairs


def _goods_values(
    state: State, goods: pd.DataFrame, cache: EvaluationCache | None = None
) -> tuple[np.ndarray, _Pairs]:
    """Return the goods flows' CO2 per origin zone (kg/day, in their order), and their pairs."""
    ef = _part(cache, "factors", (state.emissions,), state.emissions.factors)[
        state.emissions.goods_mode
    ]
    pairs = _Pairs.of(state.zones.index, goods, cache)
    km = pairs.values(state.distance_km, intrazonal_km(state), cache)
    return pairs.totals(goods["volume"].to_numpy() * km * ef / 1000.0), pairs


_SUM_ROWS = 20_000
"""Longest flow table whose group sums :func:`_group_sums` adds itself (else pandas)."""


def _group_sums(
    keys: pd.Series, volume: pd.Series, ids: pd.Index, rows: np.ndarray | None = None
) -> np.ndarray:
    """``volume.groupby(keys).sum().reindex(ids, fill_value=0.0)``, as floats.

    ``rows``: sum only these rows (a boolean mask; None: all), as of the table filtered.

    The same numbers, bit for bit, without a groupby (its factorising, sorting and
    reindexing of Arrow strings cost more than the sums of a few hundred rows): pandas (3.x)
    adds a group's values with ``np.add.reduceat`` where the keys are sorted, and else in
    row order with Kahan's compensation (its ``group_sum``); so does this, for Arrow string
    keys and finite float64 values of a short table. Anything else goes to pandas.
    ``tests/test_indicators.py`` checks the two agree.
    """
    v = volume.to_numpy()
    labels = _arrow_strings(keys) if ids.is_unique else None
    if rows is not None:
        v = v[rows]
    if (
        labels is None
        or not 0 < len(v) <= _SUM_ROWS
        or v.dtype != np.float64
        or not np.isfinite(v).all()
        or float(np.abs(v).sum()) > 1e300  # no overflow: the compensation stays finite
    ):
        if rows is not None:
            keys, volume = keys[rows], volume[rows]
        return volume.groupby(keys).sum().reindex(ids, fill_value=0.0).to_numpy()
    at = positions(ids, keys)  # -1: not a zone (its group is dropped by the reindex)
    if rows is not None:
        at, labels = at[rows], labels.filter(rows)
    names = labels.to_pylist()
    out = np.zeros(len(ids))
    if all(a <= b for a, b in itertools.pairwise(names)):  # sorted keys: reduceat
        starts = [0, *(i for i in range(1, len(names)) if names[i] != names[i - 1])]
        sums = np.add.reduceat(v, starts)
        zone = at[starts]
        out[zone[zone >= 0]] = sums[zone >= 0]
        return out
    total = [0.0] * len(ids)
    compensation = [0.0] * len(ids)
    for k, value in zip(at.tolist(), v.tolist(), strict=True):
        if k >= 0:  # Kahan's sum, as pandas' group_sum
            y = value - compensation[k]
            t = total[k] + y
            compensation[k] = (t - total[k]) - y
            total[k] = t
    out[:] = total
    return out


def _capital_values(capital: pd.DataFrame, ids: pd.Index) -> tuple[np.ndarray, np.ndarray]:
    """Money received and paid per zone (yuan/year, in the order of the zones)."""
    # pandas' group sums (compensated): a unit's received minus paid that should be 0
    # keeps the same rounding residue as before (the golden outputs hold it)
    volume = capital["volume"]
    return (
        _group_sums(capital["destination"], volume, ids),
        _group_sums(capital["origin"], volume, ids),
    )


def _equal_to(column: pd.Series, value: str) -> np.ndarray:
    """``(column == value).to_numpy(dtype=bool, na_value=False)``.

    For Arrow strings without missing ones by Arrow's comparison itself (pandas' wrapping of
    it costs several times more on a short table).
    """
    array = _arrow_strings(column)
    if array is None:
        return np.asarray((column == value).to_numpy(dtype=bool, na_value=False))
    import pyarrow.compute as pc  # noqa: PLC0415 - installed: the column is Arrow strings

    return np.asarray(pc.equal(array, value).to_numpy(zero_copy_only=False), dtype=bool)


def _water_values(ecosystem: pd.DataFrame, ids: pd.Index) -> np.ndarray:
    """Water used per destination zone (m3/day, in the order of the zones)."""
    w = ecosystem
    used = _equal_to(w["use"], "used") if "use" in w.columns else None
    return _group_sums(w["destination"], w["volume"], ids, used)


def _bus_served(state: State) -> np.ndarray:
    """1 for a zone with a bus stop (a line of the service or added by a strategy), else 0."""
    ids = state.zones.index
    served = {z for line in state.bus_lines for z in line.stops}
    if state.bus is not None:
        served |= {str(z) for stops in state.bus.lines["stops"] for z in stops}
    return np.asarray(ids.isin(list(served)), dtype=float)


def _service_zones(services: pd.DataFrame) -> tuple[list[str], list[str], list[str]]:
    """Zones of the district centre, the hospitals and the markets (sorted)."""
    pairs = list(zip(services["service"].tolist(), services["zone_id"].tolist(), strict=True))
    centre = [z for kind, z in pairs if kind == "district_centre"]
    hospitals = [z for kind, z in pairs if kind == "hospital"]
    markets = sorted({z for kind, z in pairs if kind == "market"})
    return centre, hospitals, markets


def evaluate(state: State, *, cache: EvaluationCache | None = None) -> Evaluation:
    """Compute the zone values and district indicators of a state (its flows as they are).

    Parameters
    ----------
    state
        The state (base scenario or a strategy applied); its ``flows`` are computed already.
    cache
        Parts computed for other states and kept (:class:`EvaluationCache`): a part this
        state shares with them (the very same flow table, skim, services...) is taken from
        it, a new part is kept in it. The result is the same.

    Returns
    -------
    Evaluation
        Flows, zone values and district indicators (every registered indicator).
    """
    flows = dict(state.flows)
    zv, pairs_by_type = _zone_values(state, flows, cache)
    zone_values = _zone_frame(zv, state.zones.index, cache)
    ctx = DistrictContext.of(state, zone_values, flow_pairs=pairs_by_type, cache=cache, columns=zv)
    names = list(INDICATORS)
    values = [float(_compute(name, ctx)) for name in names]
    labels = _part(cache, "indicator_names", (tuple(names),), lambda: pd.Index(names))
    district = pd.Series(np.array(values, dtype=float), index=labels.copy())
    return Evaluation(flows=flows, zone_values=zone_values, district=district)


def _service_times(state: State, targets: list[str], cache: EvaluationCache | None) -> np.ndarray:
    """Minutes to the nearest target per zone (in the order of the zones): :func:`_time_to`."""
    skim, ids = state.skim, state.zones.index
    self_min = service_self_min(state)  # kept with the skim
    grid = _grid(cache, skim, ids)
    at = _zone_positions(cache, ids, targets) if targets else None
    if grid is not None and at is not None:  # the same numbers by position
        return _nearest(grid, at, _on_zones(cache, self_min, ids))
    return _time_to(skim, targets, self_min).reindex(ids).to_numpy(dtype=float)


def _zone_values(
    state: State, flows: dict[str, pd.DataFrame], cache: EvaluationCache | None
) -> tuple[dict[str, np.ndarray], dict[str, _Pairs]]:
    """Return the zone values and the positions of the flow tables' zones, by flow type.

    The zone values are the columns of :attr:`Evaluation.zone_values`, as arrays in the
    order of the zones.
    """
    zones = state.zones
    ids = zones.index
    transit = transit_of(state)  # the bus skim, once: trip times and bus access both read it
    bus_min = (
        _part(cache, "bus_min", (transit,), transit.total_min) if transit is not None else None
    )
    centre, hospitals, markets = _part(
        cache, "services", (state.services,), lambda: _service_zones(state.services)
    )
    on_skim = (state.skim, state.intrazonal)

    def time_to(targets: list[str]) -> np.ndarray:
        keys = (*on_skim, tuple(targets))
        return _part(cache, "time_to", keys, lambda: _service_times(state, targets, cache))

    # the zone values as arrays in the order of the zones, put together once at the end
    zero = np.zeros(len(ids))
    zv: dict[str, np.ndarray] = {
        "time_to_centre_min": time_to(centre),
        "time_to_hospital_min": time_to(hospitals),
        "time_to_market_min": time_to(markets),
        "co2_kg_per_day": zero,
        "trip_credits_kg_per_day": zero,
        "person_minutes_per_day": zero,
    }
    pairs_by_type: dict[str, _Pairs] = {}
    on_zones = (zones, state.distance_km, state.intrazonal, state.emissions)
    if "people" in flows and len(flows["people"]):
        people = flows["people"]
        keys = (people, *on_zones, *on_skim, bus_min, state.modes, state.bus_lines)
        co2, credits, minutes, pairs = _part(
            cache, "people", keys, lambda: _people_values(state, people, bus_min, cache)
        )
        zv["co2_kg_per_day"] = zv["co2_kg_per_day"] + co2
        zv["trip_credits_kg_per_day"] = credits
        zv["person_minutes_per_day"] = minutes
        pairs_by_type["people"] = pairs
    if "goods" in flows and len(flows["goods"]):
        g = flows["goods"]
        co2, pairs_by_type["goods"] = _part(
            cache, "goods", (g, *on_zones), lambda: _goods_values(state, g, cache)
        )
        zv["co2_kg_per_day"] = zv["co2_kg_per_day"] + co2
    zv["capital_received_yuan_per_year"] = zero
    zv["capital_paid_yuan_per_year"] = zero
    if "capital" in flows and len(flows["capital"]):
        c = flows["capital"]
        received, paid = _part(cache, "capital", (c, zones), lambda: _capital_values(c, ids))
        zv["capital_received_yuan_per_year"] = received
        zv["capital_paid_yuan_per_year"] = paid
    zv["capital_net_yuan_per_year"] = (
        zv["capital_received_yuan_per_year"] - zv["capital_paid_yuan_per_year"]
    )
    zv["water_received_m3_per_day"] = zero
    if "ecosystem" in flows and len(flows["ecosystem"]):
        w = flows["ecosystem"]
        zv["water_received_m3_per_day"] = _part(
            cache, "water", (w, zones), lambda: _water_values(w, ids)
        )
    zv["bus_served"] = _part(
        cache, "bus_served", (zones, state.bus, state.bus_lines), lambda: _bus_served(state)
    )
    zv["bus_time_to_centre_min"] = _part(
        cache,
        "bus_time_to",
        (bus_min, zones, state.distance_km, state.intrazonal, state.modes, tuple(centre)),
        lambda: _bus_time_to(state, centre, bus_min, cache),
    )
    return zv, pairs_by_type


def _zone_frame(
    columns: dict[str, np.ndarray], ids: pd.Index, cache: EvaluationCache | None = None
) -> pd.DataFrame:
    """Return the zone values frame: one column per array, indexed by the zone ids.

    The same frame as ``pd.DataFrame`` of the columns as Series on ``ids``; built from one
    2-D float block when every column is float (no alignment, no per-column blocks).
    """
    arrays = list(columns.values())
    if all(a.dtype == np.float64 and a.shape == (len(ids),) for a in arrays):
        block = np.vstack(arrays).T  # zones x columns, the columns contiguous as pandas keeps them
        names = tuple(columns)
        labels = _part(cache, "zone_columns", (names,), lambda: pd.Index(names))
        # a copy of the kept labels: a frame's columns may be renamed in place
        return pd.DataFrame(block, index=ids, columns=labels.copy(), copy=False)
    return pd.DataFrame({k: pd.Series(a, index=ids) for k, a in columns.items()}, index=ids)


def _compute(name: str, ctx: DistrictContext) -> float:
    compute = INDICATORS[name].compute
    assert compute is not None  # register_indicator refuses definitions without one
    return compute(ctx)


def _share(part: float, total: float) -> float:
    return float(part / total) if total > 0 else 0.0


@dataclass(frozen=True, slots=True, eq=False)
class DistrictContext:
    """What an indicator's ``compute`` function reads: the state and its zone values.

    Attributes
    ----------
    state
        The state (zones, skims, services, flows, bus lines, cost).
    zone_values
        Per zone values of :class:`Evaluation` (times, CO2, money, water, bus service).
    inside
        Ids of the zones of the focus unit (the district).
    population
        Their residents.
    time_to_centre_min
        Their travel time to the district centre.
    flow_pairs
        Positions of flow tables' zones, by flow type, where already looked up.
    cache
        Parts kept from other states (:class:`EvaluationCache`), or None.
    positions
        Positions of ``inside`` in ``zone_values`` where already looked up (else None).
    """

    state: State
    zone_values: pd.DataFrame
    inside: pd.Index
    population: pd.Series
    time_to_centre_min: pd.Series
    flow_pairs: Mapping[str, _Pairs] = field(default_factory=dict)
    cache: EvaluationCache | None = None
    positions: np.ndarray | None = None
    # what the indicators read, each read once per state, not once per indicator: the zone
    # values as floats by column (all zones, in the order of zone_values), the district's
    # values by column (in the order of inside), the residents as floats and their total.
    # Not init fields: a context made by dataclasses.replace starts without them.
    _columns: dict[str, np.ndarray] = field(default_factory=dict, init=False, repr=False)
    _inside: dict[str, np.ndarray] = field(default_factory=dict, init=False, repr=False)
    _residents: tuple[np.ndarray, float] | None = field(default=None, init=False, repr=False)
    _centre: list[np.ndarray] = field(default_factory=list, init=False, repr=False)

    @classmethod
    def of(
        cls,
        state: State,
        zone_values: pd.DataFrame,
        *,
        flow_pairs: Mapping[str, _Pairs] | None = None,
        cache: EvaluationCache | None = None,
        columns: Mapping[str, np.ndarray] | None = None,
    ) -> DistrictContext:
        """Build the context of a state.

        Parameters
        ----------
        state
            The state.
        zone_values
            Its zone values.
        flow_pairs
            Positions of flow tables' zones, by flow type, where already looked up.
        cache
            Parts kept from other states (:class:`EvaluationCache`), or None.
        columns
            Columns of ``zone_values`` as float arrays (in the order of its rows), where
            already at hand: read from them, not from the frame.

        Returns
        -------
        DistrictContext
        """
        zones = state.zones

        def district() -> tuple[pd.Index, pd.Series, np.ndarray | None, np.ndarray, float]:
            inside = in_focus(state)
            population = zones.loc[inside, "population"].astype(float)
            at = ids.get_indexer(inside) if ids.is_unique else None
            at = None if at is None or (at < 0).any() else at
            return inside, population, at, population.to_numpy(dtype=float), population.sum()

        ids = zone_values.index
        keys = (zones, state.focus, ids)
        inside, population, at, residents, total = _part(cache, "district", keys, district)
        known = dict(columns or {})
        column = "time_to_centre_min"
        if at is None:
            times = zone_values.loc[inside, column]
        else:  # the same values as .loc, positions looked up once
            values = known[column] if column in known else zone_values[column].to_numpy()
            times = pd.Series(values[at], index=inside, name=column)
        ctx = cls(
            state=state,
            zone_values=zone_values,
            inside=inside,
            population=population,
            time_to_centre_min=times,
            flow_pairs=dict(flow_pairs or {}),
            cache=cache,
            positions=at,
        )
        ctx._columns.update(known)
        object.__setattr__(ctx, "_residents", (residents, float(total)))  # frozen: set once
        return ctx

    def part(self, name: str, keys: tuple[object, ...], compute: Callable[[], T]) -> T:
        """Return ``compute()``, kept in the cache with ``keys`` when there is one.

        Parameters
        ----------
        name, keys, compute
            As :meth:`EvaluationCache.part`.

        Returns
        -------
        object
        """
        return _part(self.cache, name, keys, compute)

    def inside_values(self, column: str) -> np.ndarray:
        """Return a zone value of the district's zones (in the order of ``inside``).

        Parameters
        ----------
        column
            A column of ``zone_values``.

        Returns
        -------
        numpy.ndarray
            Floats (a new array: the caller may change it).
        """
        return self._read(column).copy()

    def _zone_column(self, column: str) -> np.ndarray:
        """Return a column of ``zone_values`` as floats, all zones (kept; not to be changed)."""
        values = self._columns.get(column)
        if values is None:
            values = self._columns[column] = self.zone_values[column].to_numpy(dtype=float)
        return values

    def _read(self, column: str) -> np.ndarray:
        """:meth:`inside_values`, kept for the next indicator (not to be changed)."""
        kept = self._inside.get(column)
        if kept is None:
            values = self._zone_column(column)
            at = self.positions
            if at is None:
                at = _positions(self.zone_values.index, self.inside)
            kept = self._inside[column] = np.asarray(values[at], dtype=float)
        return kept

    def pairs(self, flow_type: str) -> _Pairs:
        """Positions of a flow table's origins and destinations among the zones."""
        pairs = self.flow_pairs.get(flow_type)
        if pairs is None:
            pairs = _Pairs.of(self.state.zones.index, self.flows[flow_type])
        return pairs

    @property
    def flows(self) -> Mapping[str, pd.DataFrame]:
        """The state's flow tables."""
        return self.state.flows

    @property
    def total_population(self) -> float:
        """Residents of the district."""
        if self._residents is None:
            return float(self.population.sum())
        return self._residents[1]

    @property
    def _centre_times(self) -> np.ndarray:
        """``time_to_centre_min`` as floats (read once; not to be changed)."""
        if not self._centre:
            self._centre.append(self.time_to_centre_min.to_numpy(dtype=float))
        return self._centre[0]

    @property
    def _population(self) -> np.ndarray:
        """``population`` as floats (not to be changed)."""
        if self._residents is None:
            return np.asarray(self.population.to_numpy(dtype=float))
        return self._residents[0]


def _positions(index: pd.Index, labels: pd.Index) -> np.ndarray:
    """Positions of ``labels`` in ``index``; KeyError for a missing one (as ``.loc``)."""
    pos = index.get_indexer(labels) if index.is_unique else np.full(len(labels), -1)
    if (pos < 0).any():
        missing = labels[pos < 0] if index.is_unique else labels
        msg = f"zone(s) {list(missing[:5])} not among the zone values"
        raise KeyError(msg)
    return pos


def _pop_within(minutes: float) -> Callable[[DistrictContext], float]:
    def compute(ctx: DistrictContext) -> float:
        t = ctx._centre_times
        if np.isnan(t).all():  # no district centre (or none reachable): unknown, not 0
            return np.nan
        pop = ctx._population
        return _share(float(_nansum(pop[t <= minutes])), ctx.total_population)

    return compute


def _nansum(values: np.ndarray) -> float:
    """``np.nansum`` of floats: missing values count 0, the same (pairwise) sum.

    Without ``np.nansum``'s checks and copy, several times faster on the district's few
    zones (the indicators sum a dozen such arrays per state).
    """
    return float(np.where(np.isnan(values), 0.0, values).sum())


def _weighted_mean(v: np.ndarray, pop: np.ndarray) -> float:
    """Population-weighted mean of the values that are not missing (NaN if none)."""
    ok = ~np.isnan(v)
    if not ok.any():
        return np.nan
    weight = float(_nansum(pop[ok]))
    if weight <= 0:  # no residents where the value is known: no mean
        return np.nan
    return float(_nansum(v[ok] * pop[ok]) / weight)


def _mean_time(col: str) -> Callable[[DistrictContext], float]:
    def compute(ctx: DistrictContext) -> float:
        return _weighted_mean(ctx._read(col), ctx._population)

    return compute


def _pt_coverage(ctx: DistrictContext) -> float:
    served = ctx._read("bus_served")
    pop = ctx._population
    return _share(float(_nansum(pop * served)), ctx.total_population)


def _access_ratio(ctx: DistrictContext) -> float:
    zones = ctx.state.zones
    t = ctx._centre_times
    pop = ctx._population

    def rural_urban() -> tuple[np.ndarray, np.ndarray]:
        if "typology" in zones.columns:
            typ = zones["typology"].to_numpy()[_positions(zones.index, ctx.inside)]
        else:
            typ = np.full(len(ctx.inside), "", dtype=object)
        return typ == "rural", typ == "urban"

    rural, urban = ctx.part("rural_urban", (zones, ctx.state.focus), rural_urban)
    if not (rural.any() and urban.any()):
        return np.nan
    mean_r, mean_u = _weighted_mean(t[rural], pop[rural]), _weighted_mean(t[urban], pop[urban])
    return mean_r / mean_u if mean_u > 0 else np.nan


def _access_gini(ctx: DistrictContext) -> float:
    t = ctx._centre_times
    ok = ~np.isnan(t)
    if not ok.any():  # no district centre (or none reachable): unknown, not equal access
        return np.nan
    return gini(t[ok], ctx._population[ok])


def _cross_boundary(flow_type: str) -> Callable[[DistrictContext], float]:
    def compute(ctx: DistrictContext) -> float:
        f = ctx.flows.get(flow_type)
        if f is None or not len(f):
            return np.nan
        keys = (f, ctx.state.zones, ctx.state.focus)
        return ctx.part(f"cross_boundary_{flow_type}", keys, lambda: _cross_share(ctx, f))

    def _cross_share(ctx: DistrictContext, f: pd.DataFrame) -> float:
        pairs = ctx.pairs(flow_type)
        zones = ctx.state.zones
        if not pairs.complete:
            return _cross_boundary_frame(ctx, f)
        o, d = pairs.o, pairs.d
        inside, codes = ctx.part(
            "county_codes", (zones, ctx.state.focus), lambda: _county_codes(zones, ctx.inside)
        )
        # within-zone trips cross nothing
        touching = (o != d) & (inside[o] | inside[d])
        crosses = (codes[o] != codes[d])[touching]
        volume = f["volume"].to_numpy(dtype=float)[touching]
        return _share(float(volume[crosses].sum()), float(np.nansum(volume)))

    return compute


def _county_codes(zones: pd.DataFrame, inside: pd.Index) -> tuple[np.ndarray, np.ndarray]:
    """Per zone: whether it is in the district, and its county code (as a number).

    Equal codes get equal numbers (comparing them compares the codes); with a zone
    without a code the codes stay strings.
    """
    text = zones["county_code"].astype(str)
    numbers, _ = pd.factorize(text)
    codes = numbers if (numbers >= 0).all() else text.to_numpy()
    return zones.index.isin(inside), codes


def _cross_boundary_frame(ctx: DistrictContext, f: pd.DataFrame) -> float:
    """:func:`_cross_boundary` with pandas (a flow names a zone that is not in the zones)."""
    between = f[f["origin"] != f["destination"]]
    touching = between[
        between["origin"].isin(ctx.inside) | between["destination"].isin(ctx.inside)
    ]
    codes = ctx.state.zones["county_code"].astype(str)
    crosses = (
        codes.reindex(touching["origin"]).to_numpy()
        != codes.reindex(touching["destination"]).to_numpy()
    )
    return _share(
        float(touching["volume"].to_numpy()[crosses].sum()), float(touching["volume"].sum())
    )


def _co2_kg(ctx: DistrictContext) -> float:
    return float(_nansum(ctx._read("co2_kg_per_day")))


def _co2_per_person(ctx: DistrictContext) -> float:
    total = ctx.total_population
    return _co2_kg(ctx) / total if total else np.nan


def _es_used_outside(ctx: DistrictContext) -> float:
    w = ctx.flows.get("ecosystem")
    if w is None or not len(w):
        return np.nan
    keys = (w, ctx.state.zones, ctx.state.focus)
    return ctx.part("es_used_outside", keys, lambda: _es_outside_share(ctx, w))


def _es_outside_share(ctx: DistrictContext, w: pd.DataFrame) -> float:
    zones = ctx.state.zones
    ids = zones.index
    origin, destination = w["origin"], w["destination"]
    o = positions(ids, origin) if ids.is_unique else None
    d = positions(ids, destination) if o is not None else None
    if o is not None and d is not None and (o >= 0).all() and (d >= 0).all():
        # every end a zone: by position (the same rows as comparing the ids)
        inside = ctx.part("inside_zones", (zones, ctx.state.focus), lambda: ids.isin(ctx.inside))
        src = inside[o]
        away = o != d
    else:
        src = origin.isin(ctx.inside).to_numpy(dtype=bool)
        away = (origin != destination).to_numpy(dtype=bool)
    used = _equal_to(w["use"], "used") if "use" in w.columns else True
    volume = w["volume"].to_numpy(dtype=float)
    return _share(float(np.nansum(volume[src & used & away])), float(np.nansum(volume[src])))


def _eco_comp(ctx: DistrictContext) -> float:
    w = ctx.flows.get("ecosystem")
    if w is None or not len(w):
        return np.nan
    keys = (w, ctx.flows.get("capital"), ctx.state.zones, ctx.state.focus)
    return ctx.part("eco_comp", keys, lambda: _eco_comp_per_resident(ctx, w))


def _eco_comp_per_resident(ctx: DistrictContext, w: pd.DataFrame) -> float:
    zones = ctx.state.zones
    ids = zones.index
    values_ids = ctx.zone_values.index
    if ids.is_unique and (values_ids is ids or values_ids.equals(ids)):
        # by position: the source zones in the order of their ids (the order of the sums
        # below, as sorting the ids)
        o = positions(ids, w["origin"])
        inside = ctx.part("inside_zones", (zones, ctx.state.focus), lambda: ids.isin(ctx.inside))
        at = np.unique(o[o >= 0])
        at = at[inside[at]]
        if not len(at):
            return 0.0
        at = at[np.argsort(ids[at].to_numpy(dtype=object))]
        population = ctx.part(
            "zone_population", (zones,), lambda: zones["population"].to_numpy(dtype=float)
        )
        net = ctx._zone_column("capital_net_yuan_per_year")
        received = np.nansum(np.clip(net[at], 0, None))
        residents = float(np.nansum(population[at]))
        return float(received) / residents if residents else 0.0
    origins = w["origin"]
    sources = pd.Index(sorted(set(origins[origins.isin(ctx.inside)])))
    if not len(sources):
        return 0.0
    net = ctx.zone_values["capital_net_yuan_per_year"].to_numpy(dtype=float)
    received = np.nansum(np.clip(net[_positions(ctx.zone_values.index, sources)], 0, None))
    population = zones["population"].to_numpy(dtype=float)
    residents = float(np.nansum(population[_positions(zones.index, sources)]))
    return float(received) / residents if residents else 0.0


def _pop_within_bus(minutes: float) -> Callable[[DistrictContext], float]:
    def compute(ctx: DistrictContext) -> float:
        if np.isnan(ctx._centre_times).all():
            return np.nan  # no district centre: unknown (without a bus it is 0, a fact)
        t = ctx._read("bus_time_to_centre_min")
        pop = ctx._population
        return _share(float(_nansum(pop[t <= minutes])), ctx.total_population)

    return compute


_COMPUTE: dict[str, Callable[[DistrictContext], float]] = {
    "pop_within_30min_centre": _pop_within(30),
    "pop_within_60min_centre": _pop_within(60),
    "mean_time_to_hospital_min": _mean_time("time_to_hospital_min"),
    "mean_time_to_market_min": _mean_time("time_to_market_min"),
    "pop_within_45min_centre_bus": _pop_within_bus(45),
    "pt_coverage_share": _pt_coverage,
    "access_ratio_rural_urban": _access_ratio,
    "access_gini": _access_gini,
    "cross_boundary_share_people": _cross_boundary("people"),
    "cross_boundary_share_goods": _cross_boundary("goods"),
    "co2_t_per_day": lambda ctx: _co2_kg(ctx) / 1000.0,
    "co2_kg_per_person_day": _co2_per_person,
    "trip_credits_t_per_day": lambda ctx: (
        float(_nansum(ctx._read("trip_credits_kg_per_day"))) / 1000.0
    ),
    "es_used_outside_share": _es_used_outside,
    "eco_comp_per_source_resident_yuan": _eco_comp,
    "cost_million_yuan": lambda ctx: ctx.state.cost_yuan / 1e6,
    # need the baseline and the strategy's costs: 0 for the baseline (nothing spent, nothing
    # changed); set by urlink.scenario.assess (urlink.scoring.costs) for a strategy
    "cost_annualised_million_yuan": lambda ctx: 0.0 if not ctx.state.applied else np.nan,
    "co2_saved_t_per_million_yuan": lambda ctx: 0.0 if not ctx.state.applied else np.nan,
    "pop_30min_gain_per_million_yuan": lambda ctx: 0.0 if not ctx.state.applied else np.nan,
}

for _name, _definition in _DEFINITIONS.items():
    builtin(INDICATORS, _name)(dataclasses.replace(_definition, compute=_COMPUTE[_name]))


def indicators_by_unit(evaluation: Evaluation, zones: pd.DataFrame) -> pd.DataFrame:
    """Zone values aggregated to every administrative level, in long format.

    Sums for flows and money (CO2, credits, person-minutes, capital, water);
    population-weighted means for travel times.

    Parameters
    ----------
    evaluation
        An evaluation.
    zones
        Zones with ``population`` and ``*_code`` columns.

    Returns
    -------
    pandas.DataFrame
        ``level``, ``unit``, ``indicator``, ``value``.
    """
    zv = evaluation.zone_values
    pop = zones["population"].astype(float)
    means = [
        "time_to_centre_min",
        "time_to_hospital_min",
        "time_to_market_min",
        "bus_time_to_centre_min",
    ]
    sums = [c for c in zv.columns if c not in means and c != "bus_served"]
    # column-major copies: each zone subset of a column is summed as pandas sums a Series
    # (numpy's pairwise sum over a contiguous block), so the totals keep their last bits
    s_values = zv[sums].to_numpy(dtype=float)
    s_values = np.asfortranarray(np.where(np.isnan(s_values), 0.0, s_values))
    m_values = np.asfortranarray(zv[means].to_numpy(dtype=float))
    w_all = pop.reindex(zv.index).to_numpy(dtype=float)
    indicators = [*sums, *means]
    levels: list[str] = []
    units: list[str] = []
    blocks: list[np.ndarray] = []
    for level in ("township", "county", "prefecture", "province"):
        col = f"{level}_code"
        if col not in zones.columns:
            continue
        codes = zones[col].astype("string").reindex(zv.index)
        for unit, pos in codes.groupby(codes, sort=True).indices.items():
            take = np.sort(pos)
            sub = np.asfortranarray(s_values[take])
            w = w_all[take]
            mean = np.full(len(means), np.nan)
            for j in range(len(means)):  # population-weighted, over the zones with a value
                v = m_values[take, j]
                ok = ~np.isnan(v)
                if ok.any():
                    with np.errstate(invalid="ignore", divide="ignore"):
                        mean[j] = (v[ok] * w[ok]).sum() / w[ok].sum()
            levels.append(level)
            units.append(str(unit))
            blocks.append(np.concatenate([sub.sum(axis=0), mean]))
    k = len(indicators)
    return pd.DataFrame(
        {
            "level": np.repeat(levels, k).astype(object),
            "unit": np.repeat(units, k).astype(object),
            "indicator": np.tile(np.array(indicators, dtype=object), len(levels)),
            "value": np.concatenate(blocks) if blocks else np.array([], dtype=float),
        }
    )
