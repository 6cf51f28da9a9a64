"""Indicators of a state (urlink.scoring.indicators) on the Huangyan scenario."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from urlink.errors import InputError
from urlink.model.intrazonal import pair_values, positions
from urlink.model.state import intrazonal_km, intrazonal_min
from urlink.scenario.build import base_state, network_from_scenario
from urlink.scenario.spec import load_scenario
from urlink.scenario.strategies import apply_strategy
from urlink.scoring.indicators import (
    INDICATORS,
    DistrictContext,
    EvaluationCache,
    _county_codes,
    _cross_boundary_frame,
    _es_outside_share,
    _group_sums,
    _mode_codes,
    _Pairs,
    _time_to,
    _time_to_frame,
    _zone_frame,
    evaluate,
    service_self_min,
)


@pytest.fixture(scope="module")
def base(huangyan_scenario_path, huangyan_zones):
    scenario = load_scenario(huangyan_scenario_path)
    zones, _ = huangyan_zones
    streets = network_from_scenario(scenario, zones)
    state = base_state(scenario, zones, streets)
    return scenario, state, evaluate(state)


def test_a_service_in_the_zone_itself_is_the_intrazonal_time_away(base):
    _, state, ev = base
    own = intrazonal_min(state)
    zv = ev.zone_values
    for service, column in (
        ("district_centre", "time_to_centre_min"),
        ("hospital", "time_to_hospital_min"),
        ("market", "time_to_market_min"),
    ):
        zones = set(state.services.loc[state.services["service"] == service, "zone_id"])
        assert zones
        for z in zones:
            assert zv.loc[z, column] > 0, (service, z)
            # the intrazonal time, unless another zone with the service is nearer
            assert zv.loc[z, column] == pytest.approx(
                min(own[z], float(state.skim.loc[z, sorted(zones - {z})].min()))
                if len(zones) > 1
                else own[z]
            )
    assert (zv["time_to_centre_min"] > 0).all()


def test_the_rule_holds_when_trips_keep_a_zero_diagonal(base):
    _, state, ev = base
    flat = dataclasses.replace(state, intrazonal="none")
    assert (intrazonal_min(flat) == 0).all()
    pd_self = service_self_min(flat)
    assert (pd_self > 0).all()
    centre = state.services.loc[state.services["service"] == "district_centre", "zone_id"]
    z = centre.iloc[0]
    assert evaluate(flat).zone_values.loc[z, "time_to_centre_min"] == pytest.approx(
        ev.zone_values.loc[z, "time_to_centre_min"]
    )


# ---------------------------------------------------------------------------------------------
# costs and packages (issue #15, part 4)


def test_a_package_is_not_the_sum_of_its_members(base):
    from urlink.scenario.assess import assess_strategies
    from urlink.scenario.spec import Package

    scenario, state, _ = base
    by_name = {s.name: s for s in scenario.strategies}
    members = [by_name["western-road-upgrade"], by_name["changtan-lakeside-road"]]
    package = Package("west-roads", tuple(m.name for m in members), title="Both roads")
    a = assess_strategies(scenario, state, strategies=members, packages=[package])
    assert list(a.evaluations) == ["baseline", *[m.name for m in members], "west-roads"]
    time = {k: ev.zone_values["time_to_centre_min"] for k, ev in a.evaluations.items()}
    b = time["baseline"]
    summed = (time["western-road-upgrade"] - b) + (time["changtan-lakeside-road"] - b)
    together = time["west-roads"] - b
    # the roads interact: both shorten the same western trips, so the effects overlap
    assert (together - summed).abs().max() > 0.5
    assert (together <= 1e-9).all()
    district = {k: ev.district["mean_time_to_market_min"] for k, ev in a.evaluations.items()}
    d_sum = sum(district[m.name] - district["baseline"] for m in members)
    assert district["west-roads"] - district["baseline"] != pytest.approx(d_sum, abs=1e-3)
    rows = a.attribution[a.attribution["strategy"] == "west-roads"]
    assert len(rows) and set(a.guidelines["strategy"]) >= {"west-roads"}


def test_unknown_costs_give_nan_cost_effectiveness_and_known_ones_a_number(base):
    from urlink.model.state import Strategy
    from urlink.scenario.assess import assess_strategies
    from urlink.scoring.costs import capital_recovery_factor

    scenario, state, _ = base
    road = next(s for s in scenario.strategies if s.name == "western-road-upgrade")
    assert road.cost_capital_yuan is None  # Huangyan gives no costs: unknown, not 0
    priced = dataclasses.replace(
        road, name="priced", cost_yuan=None, cost_capital_yuan=50e6, cost_yearly_yuan=1e6
    )
    assert priced.cost_yuan == 50e6  # the legacy field follows the capital cost
    a = assess_strategies(scenario, state, strategies=[road, priced])
    unknown, known = (
        a.evaluations["western-road-upgrade"].district,
        a.evaluations["priced"].district,
    )
    for key in ("cost_million_yuan", "co2_saved_t_per_million_yuan"):
        assert pd.isna(unknown[key]), key
    annual = 50 * capital_recovery_factor(0.08, 30) + 1.0
    assert known["cost_annualised_million_yuan"] == pytest.approx(annual)
    base_co2 = a.evaluations["baseline"].district["co2_t_per_day"]
    assert known["co2_saved_t_per_million_yuan"] == pytest.approx(
        (base_co2 - known["co2_t_per_day"]) * 365 / annual
    )
    assert a.evaluations["baseline"].district["co2_saved_t_per_million_yuan"] == 0.0
    with pytest.raises(InputError, match="differ"):
        Strategy("s", "land_change", cost_yuan=1.0, cost_capital_yuan=2.0)


# ---------------------------------------------------------------------------------------------
# attribution a planner can use (issue #15, part 6)


def test_materiality_moves_small_effects_to_one_row_and_keeps_totals(base):
    from urlink.scenario.strategies import apply_strategy
    from urlink.scoring.attribution import (
        BELOW_THRESHOLD,
        EFFECTS,
        attribute_units,
        attribute_zones,
        crosses,
    )

    scenario, state, ev0 = base
    road = next(s for s in scenario.strategies if s.name == "jiaojiang-corridor-upgrade")
    effects = attribute_zones(ev0, evaluate(apply_strategy(state, road)), state.zones)
    everything = attribute_units(effects, state.zones, road, focus="331003", materiality=0.0)
    material = attribute_units(effects, state.zones, road, focus="331003")
    assert BELOW_THRESHOLD not in set(everything["unit"])
    assert BELOW_THRESHOLD in set(material["unit"])
    for level in everything["level"].unique():
        for effect in EFFECTS:
            a = everything.loc[everything["level"] == level, effect].sum()
            b = material.loc[material["level"] == level, effect].sum()
            assert b == pytest.approx(a, abs=1e-6)
    kept = material[material["unit"] != BELOW_THRESHOLD]
    for level, rows in kept.groupby("level"):
        for effect in EFFECTS:
            values = rows[effect].abs()
            top = everything.loc[everything["level"] == level, effect].abs().max()
            assert ((values == 0) | (values >= 0.01 * top - 1e-12)).all(), (level, effect)
    # tiny spill-overs into other prefectures no longer make it "cross" a prefecture
    assert crosses(everything) == "prefecture"
    assert crosses(material) in ("none", "township", "county")


def test_transfers_from_a_prefecture_government_and_crosses(base):
    from urlink.model.flows.capital import CapitalParams, add_crosses, transfers

    _, state, _ = base
    zones = state.zones
    links = pd.DataFrame(
        {
            "payer": ["331000", "331003", "331003101"],
            "payee": ["331003101", "331003102", "331003102"],
            "amount_yuan_per_year": [1e6, 2e6, 3e5],
        }
    )
    flows = transfers(zones, links, params=CapitalParams())
    assert flows["crosses"].tolist() == ["county", "township", "township"]
    other = add_crosses(zones, pd.DataFrame({"origin": ["331002"], "destination": ["331003101"]}))
    assert other["crosses"].tolist() == ["county"]
    with pytest.raises(InputError, match="999999"):
        transfers(
            zones,
            pd.DataFrame(
                {"payer": ["999999"], "payee": ["331003101"], "amount_yuan_per_year": [1]}
            ),
            params=CapitalParams(),
        )


def test_guidelines_name_units_at_every_level(base):
    from urlink.scenario.assess import admin_names, assess_strategies

    scenario, state, _ = base
    names = admin_names()
    assert (
        names["331000"] == "台州市" and names["330000"] == "浙江省" and names["330300"] == "温州市"
    )
    a = assess_strategies(scenario, state)
    assert (a.guidelines["unit_name"] != "").all()
    eco = a.attribution[a.attribution["strategy"] == "changtan-eco-compensation"]
    assert "crosses" in eco.columns


# ---------------------------------------------------------------------------------------------
# the numpy lookups of evaluate (issue #16) give the pandas lookups' numbers


def test_pair_positions_give_the_pandas_lookups_by_hand():
    m = pd.DataFrame([[0.0, 6.0], [7.0, 0.0]], index=["a", "b"], columns=["a", "b"])
    flows = pd.DataFrame({"origin": ["a", "b", "b", "a"], "destination": ["b", "a", "b", "a"]})
    pairs = _Pairs.of(pd.Index(["b", "a"]), flows)  # zones in another order than m
    assert pairs.complete
    own = pd.Series([3.0, 3.5], index=["a", "b"])
    assert pairs.values(m).tolist() == [6.0, 7.0, 0.0, 0.0]
    assert pairs.values(m, own).tolist() == [6.0, 7.0, 3.5, 3.0]
    totals = pairs.per_origin(np.array([1.0, 2.0, np.nan, 4.0]))  # NaN counts 0, as pandas
    assert totals.to_dict() == {"b": 2.0, "a": 5.0}
    # a flow naming a zone that is not a zone: the pandas lookups, same rule
    odd = pd.DataFrame({"origin": ["a", "c"], "destination": ["b", "a"]})
    pairs = _Pairs.of(pd.Index(["a", "b"]), odd)
    assert not pairs.complete
    assert pairs.per_origin(np.array([1.0, 2.0])).to_dict() == {"a": 1.0, "b": 0.0}


def test_numpy_lookups_equal_pandas_ones_on_huangyan(base):
    _, state, ev = base
    people = state.flows["people"]
    zones = state.zones
    pairs = _Pairs.of(zones.index, people)
    assert pairs.complete
    for matrix, own in (
        (state.skim, intrazonal_min(state)),
        (state.distance_km, intrazonal_km(state)),
        (state.skim, None),
    ):
        expected = pair_values(matrix, people["origin"], people["destination"], intrazonal=own)
        np.testing.assert_array_equal(pairs.values(matrix, own), expected)
    volume = people["volume"].to_numpy()
    by_pandas = pd.Series(volume, index=people["origin"].to_numpy()).groupby(level=0).sum()
    np.testing.assert_allclose(
        pairs.per_origin(volume), by_pandas.reindex(zones.index, fill_value=0.0), rtol=1e-12
    )
    self_min = service_self_min(state)
    for service in ("district_centre", "hospital", "market"):
        targets = state.services.loc[state.services["service"] == service, "zone_id"].tolist()
        pd.testing.assert_series_equal(
            _time_to(state.skim, targets, self_min),
            _time_to_frame(state.skim, targets, self_min),
            check_names=False,
        )
    ctx = DistrictContext.of(state, ev.zone_values)
    for flow_type in ("people", "goods"):
        fast = INDICATORS[f"cross_boundary_share_{flow_type}"].compute
        assert fast is not None
        assert fast(ctx) == pytest.approx(
            _cross_boundary_frame(ctx, state.flows[flow_type]), rel=1e-12
        )
    assert ev.district.notna().sum() >= 15


def test_without_a_district_centre_the_access_indicators_are_unknown_not_zero(base):
    _, state, ev = base
    services = state.services[state.services["service"] != "district_centre"]
    no_centre = evaluate(dataclasses.replace(state, services=services)).district
    for name in (
        "pop_within_30min_centre",
        "pop_within_60min_centre",
        "pop_within_45min_centre_bus",
        "access_gini",
        "access_ratio_rural_urban",
    ):
        assert np.isnan(no_centre[name]), name
        assert np.isfinite(ev.district[name]), name
    # the other services' indicators are still computed
    assert np.isfinite(no_centre["mean_time_to_hospital_min"])
    # without a bus, nobody reaches the centre by bus: a fact (0), not unknown
    no_bus = evaluate(dataclasses.replace(state, bus=None, modes=None)).district
    assert no_bus["pop_within_45min_centre_bus"] == 0


def _by_unit_loop(evaluation, zones):
    """The per-unit loop indicators_by_unit replaced (kept here as the reference)."""
    zv = evaluation.zone_values
    pop = zones["population"].astype(float)
    means = ["time_to_centre_min", "time_to_hospital_min", "time_to_market_min"]
    means.append("bus_time_to_centre_min")
    sums = [c for c in zv.columns if c not in means and c != "bus_served"]
    rows = []
    for level in ("township", "county", "prefecture", "province"):
        col = f"{level}_code"
        if col not in zones.columns:
            continue
        codes = zones[col].astype("string")
        for unit, idx in zv.groupby(codes.reindex(zv.index)).groups.items():
            w = pop[idx]
            rows += [(level, str(unit), c, float(zv.loc[idx, c].sum())) for c in sums]
            for c in means:
                v = zv.loc[idx, c]
                ok = v.notna()
                val = float((v[ok] * w[ok]).sum() / w[ok].sum()) if ok.any() else np.nan
                rows.append((level, str(unit), c, val))
    return pd.DataFrame(rows, columns=["level", "unit", "indicator", "value"])


def test_indicators_by_unit_equal_the_per_unit_loop(base):
    from urlink.scoring.indicators import indicators_by_unit

    _, state, ev = base
    zones = state.zones.copy()
    # a zone without a township code belongs to no township, and one without any time
    zones.loc[zones.index[0], "township_code"] = pd.NA
    zv = ev.zone_values.copy()
    zv.loc[zv.index[1], ["time_to_hospital_min", "bus_time_to_centre_min"]] = np.nan
    ev = dataclasses.replace(ev, zone_values=zv)
    got = indicators_by_unit(ev, zones)
    want = _by_unit_loop(ev, zones)
    assert len(got) == len(want)
    pd.testing.assert_frame_equal(
        got[["level", "unit", "indicator"]],
        want[["level", "unit", "indicator"]],
        check_dtype=False,
    )
    np.testing.assert_allclose(got["value"], want["value"], rtol=0, atol=0, equal_nan=True)
    assert got["value"].notna().sum() > len(got) / 2


def test_a_mean_over_zones_without_residents_is_nan_without_a_warning():
    # found by fuzzing (a population of 0.0001): 0 / 0 warned, and warnings are errors here
    from urlink.scoring.indicators import _weighted_mean

    assert np.isnan(_weighted_mean(np.array([5.0, np.nan]), np.array([0.0, 10.0])))
    assert np.isnan(_weighted_mean(np.array([np.nan]), np.array([10.0])))
    assert _weighted_mean(np.array([5.0, 7.0, np.nan]), np.array([1.0, 3.0, 10.0])) == 6.5


def test_an_evaluation_cache_gives_every_strategys_numbers_and_reuses_shared_parts(base):
    # #16: the uncertainty samples evaluate the baseline and every strategy with one cache;
    # each state's zone values and indicators must be those evaluated without it
    scenario, state, ev = base
    cache = EvaluationCache()
    cached = evaluate(state, cache=cache)
    pd.testing.assert_frame_equal(cached.zone_values, ev.zone_values)
    assert cached.district.equals(ev.district)
    states = [state]
    for strategy in scenario.strategies:
        new = apply_strategy(state, strategy)
        states.append(new)
        plain, kept = evaluate(new), evaluate(new, cache=cache)
        pd.testing.assert_frame_equal(kept.zone_values, plain.zone_values)
        assert kept.district.equals(plain.district), strategy.name
    again = evaluate(state, cache=cache)  # the baseline after the others: still its numbers
    assert again.district.equals(ev.district)
    # the parts shared are reused: the hospital moved, the people flows did not
    moved = next(s for s in scenario.strategies if s.kind == "service_relocation")
    hospital = states[1 + scenario.strategies.index(moved)]
    assert hospital.flows["people"] is state.flows["people"]
    calls = []

    class Counting(EvaluationCache):
        def part(self, name, keys, compute):
            return super().part(name, keys, lambda: (calls.append(name), compute())[1])

    spy = Counting()
    evaluate(state, cache=spy)
    first = list(calls)
    calls.clear()
    evaluate(hospital, cache=spy)
    assert "people" in first
    assert "people" not in calls  # the same people flows, skim and distances: kept
    assert "goods" not in calls
    assert calls.count("time_to") == 1  # only the time to the hospital is new


def test_an_evaluation_cache_compares_objects_by_identity_and_plain_values_by_value():
    cache = EvaluationCache()
    a, b = pd.Series([1.0]), pd.Series([1.0])  # equal, but not the same object
    assert cache.part("x", (a, "s", 1.5), lambda: 1) == 1
    assert cache.part("x", (a, "s", 1.5), lambda: 2) == 1
    assert cache.part("x", (b, "s", 1.5), lambda: 3) == 3
    assert cache.part("x", (a, "t", 1.5), lambda: 4) == 4
    assert cache.part("x", (a, "s", 2.5), lambda: 5) == 5
    assert cache.part("x", (a, ("p", "q")), lambda: 6) == 6
    assert cache.part("x", (a, ("p", "q")), lambda: 7) == 6
    assert cache.part("y", (a, "s", 1.5), lambda: 8) == 8  # another part
    assert cache.part("x", (a, 1), lambda: 9) == 9
    assert cache.part("x", (a, 1.0), lambda: 10) == 10  # 1 and 1.0: different types


@pytest.mark.parametrize("dtype", ["str", object])
def test_positions_are_get_indexers_for_arrow_and_object_ids(dtype):
    index = pd.Index(["331003001", "331002", "331003101"], dtype=dtype)
    labels = pd.Series(["331002", "x", "331003101", "331002", "331003001"], dtype=dtype)
    assert positions(index, labels).tolist() == [1, -1, 2, 1, 0]
    np.testing.assert_array_equal(positions(index, labels), index.get_indexer(pd.Index(labels)))
    with_missing = pd.Series(["331002", None], dtype=dtype)
    assert positions(index, with_missing).tolist() == [1, -1]
    assert positions(index, labels.iloc[:0]).tolist() == []
    with pytest.raises(pd.errors.InvalidIndexError):  # as get_indexer: the ids must be unique
        positions(pd.Index(["a", "a"], dtype=dtype), labels)


def test_county_codes_compare_as_the_strings_do():
    ids = pd.Index(["a", "b", "c"])
    zones = pd.DataFrame({"county_code": ["331003", "331002", "331003"]}, index=ids)
    inside, codes = _county_codes(zones, pd.Index(["a", "c"]))
    assert inside.tolist() == [True, False, True]
    assert codes.dtype.kind == "i"
    assert (codes[[0, 0, 1]] != codes[[2, 1, 1]]).tolist() == [False, True, False]
    gap = pd.DataFrame({"county_code": ["331003", None, "331003"]}, index=ids)
    _, text = _county_codes(gap, pd.Index(["a"]))
    assert text.dtype == object  # a zone without a code: the strings as they are
    assert text[0] == text[2] == "331003"


# ---------------------------------------------------------------------------------------------
# evaluate by position (#16): the same numbers, bit for bit, as the label lookups


def _same_bits(a: pd.DataFrame | pd.Series, b: pd.DataFrame | pd.Series) -> None:
    if isinstance(a, pd.Series):
        a, b = a.to_frame(), b.to_frame()
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    for column in a.columns:
        assert a[column].to_numpy().tobytes() == b[column].to_numpy().tobytes(), column


@pytest.mark.parametrize("ordered", [True, False])
def test_group_sums_are_pandas_group_sums_bit_for_bit(ordered):
    # pandas adds sorted groups with np.add.reduceat and others with Kahan's compensation:
    # _group_sums must give its very numbers (the golden outputs hold their last bits)
    rng = np.random.default_rng(7)
    n = 600
    keys = rng.choice([f"33100{k:02d}" for k in range(40)], size=n)
    if ordered:
        keys = np.sort(keys)
    magnitude = 10.0 ** rng.uniform(-3, 9, size=n)
    volume = pd.Series(rng.choice([-1.0, 1.0], size=n) * magnitude)
    labels = pd.Series(keys, dtype="str")
    ids = pd.Index([f"33100{k:02d}" for k in rng.permutation(45)], dtype="str")  # 5 unused
    ids = ids[ids != "3310007"]  # a key that is not a zone: its group is left out
    expected = volume.groupby(labels).sum().reindex(ids, fill_value=0.0).to_numpy()
    got = _group_sums(labels, volume, ids)
    assert got.tobytes() == expected.tobytes()
    # what it leaves to pandas: missing values or keys, other types
    with_nan = volume.where(volume > 0)
    assert (
        _group_sums(labels, with_nan, ids).tobytes()
        == with_nan.groupby(labels).sum().reindex(ids, fill_value=0.0).to_numpy().tobytes()
    )
    gaps = labels.where(volume > 0)
    assert (
        _group_sums(gaps, volume, ids).tobytes()
        == volume.groupby(gaps).sum().reindex(ids, fill_value=0.0).to_numpy().tobytes()
    )
    whole = pd.Series(rng.integers(0, 100, size=n))
    np.testing.assert_array_equal(
        _group_sums(labels, whole, ids), whole.groupby(labels).sum().reindex(ids, fill_value=0)
    )


def test_evaluate_by_position_equals_evaluate_by_label(base):
    # a skim and distances over the zones in another order: evaluate reads them by label
    # (the pandas lookups); in the zones' order by position. The same numbers either way.
    _, state, ev = base
    order = state.skim.index[::-1]
    turned = dataclasses.replace(
        state,
        skim=state.skim.loc[order, order],
        distance_km=state.distance_km.loc[order, order],
    )
    by_label = evaluate(turned)
    _same_bits(by_label.zone_values, ev.zone_values)
    _same_bits(by_label.district, ev.district)
    cache = EvaluationCache()
    for s in (state, turned, state):
        kept = evaluate(s, cache=cache)
        _same_bits(kept.zone_values, ev.zone_values)
        _same_bits(kept.district, ev.district)


def test_district_context_reads_the_frame_without_arrays_and_hands_out_copies(base):
    _, state, ev = base
    ctx = DistrictContext.of(state, ev.zone_values)  # as a plugin builds it: no arrays
    co2 = ctx.inside_values("co2_kg_per_day")
    expected = ev.zone_values.loc[ctx.inside, "co2_kg_per_day"].to_numpy()
    np.testing.assert_array_equal(co2, expected)
    co2[:] = -1.0  # the caller's copy: the next reader still gets the zone values
    np.testing.assert_array_equal(ctx.inside_values("co2_kg_per_day"), expected)
    assert ctx.total_population == float(ctx.population.sum())
    # a context made from another keeps nothing read from the old zone values
    doubled = dataclasses.replace(ctx, zone_values=ev.zone_values * 2)
    np.testing.assert_array_equal(doubled.inside_values("co2_kg_per_day"), 2 * expected)
    for name in INDICATORS:
        compute = INDICATORS[name].compute
        assert compute is not None
        assert np.isclose(compute(ctx), ev.district[name], rtol=0, atol=0, equal_nan=True), name


def test_zone_frame_keeps_each_columns_dtype():
    ids = pd.Index(["a", "b"])
    floats = _zone_frame({"x": np.array([1.0, 2.0]), "y": np.array([3.0, np.nan])}, ids)
    assert floats.index is ids
    assert floats.columns.tolist() == ["x", "y"]
    assert (floats.dtypes == np.float64).all()
    assert floats.loc["b", "x"] == 2.0
    mixed = _zone_frame({"x": np.array([1.0, 2.0]), "n": np.array([1, 2])}, ids)
    assert mixed.dtypes.tolist() == [np.dtype(float), np.dtype(np.int64)]


def test_ecosystem_use_outside_by_position_equals_by_label(base):
    _, state, ev = base
    ctx = DistrictContext.of(state, ev.zone_values)

    def by_label(w: pd.DataFrame) -> float:
        src = w["origin"].isin(ctx.inside).to_numpy(dtype=bool)
        used = (w["use"] == "used").to_numpy(dtype=bool)
        away = (w["origin"] != w["destination"]).to_numpy(dtype=bool)
        volume = w["volume"].to_numpy(dtype=float)
        outside, total = np.nansum(volume[src & used & away]), np.nansum(volume[src])
        return float(outside / total) if total > 0 else 0.0

    w = state.flows["ecosystem"]
    assert 0 < _es_outside_share(ctx, w) == by_label(w)
    odd = w.copy()  # a source that is not a zone: compared by label
    odd.loc[0, "origin"] = "elsewhere"
    assert _es_outside_share(ctx, odd) == by_label(odd)


def test_equal_id_columns_share_their_positions_and_mode_codes_in_a_cache():
    # a strategy's new flow tables mostly hold the same pairs in the same rows: the zones'
    # positions and the mode codes are looked up once per sample, compared by value
    ids = pd.Index(["a", "b", "c"], dtype="str")

    def table(destinations: list[str], modes: list[str]) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "origin": pd.Series(["a", "b", "c"], dtype="str"),
                "destination": pd.Series(destinations, dtype="str"),
                "mode": pd.Series(modes, dtype="str"),
            }
        )

    first = table(["b", "c", "a"], ["car", "bus", "car"])
    again = table(["b", "c", "a"], ["car", "bus", "car"])  # another table, the same strings
    other = table(["c", "c", "a"], ["bus", "bus", "car"])
    calls = []

    class Counting(EvaluationCache):
        def part(self, name, keys, compute):
            return super().part(name, keys, lambda: (calls.append(name), compute())[1])

    cache = Counting()
    for t in (first, again, other):
        pairs = _Pairs.of(ids, t, cache)
        plain = _Pairs.of(ids, t)
        assert pairs.complete and plain.complete
        np.testing.assert_array_equal(pairs.o, plain.o)
        np.testing.assert_array_equal(pairs.d, plain.d)
        codes, names = _mode_codes(t, cache)
        expected_codes, expected_names = pd.factorize(t["mode"].astype(str), use_na_sentinel=False)
        np.testing.assert_array_equal(codes, expected_codes)
        assert names == list(expected_names)
    assert calls.count("pair_positions") == 2  # first (and again), other
    assert calls.count("mode_codes") == 2
