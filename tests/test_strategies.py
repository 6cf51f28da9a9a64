from __future__ import annotations

import pandas as pd
import pytest

from urlink.errors import InputError
from urlink.model.typology import add_typology
from urlink.scenario.build import (
    network_from_scenario,
    services_from_scenario,
    strategies_from_scenario,
)
from urlink.scenario.spec import load_scenario
from urlink.scenario.strategies import (
    STRATEGY_KINDS,
    Strategy,
    apply_strategy,
    state_from_scenario,
)
from urlink.scoring.attribution import (
    EFFECTS,
    attribute_units,
    attribute_zones,
    crosses,
    guidelines,
    total_effects,
)
from urlink.scoring.indicators import INDICATORS, evaluate


@pytest.fixture(scope="module")
def base(huangyan_scenario_path, huangyan_zones):
    from urlink.network.skims import travel_time_matrix

    scenario = load_scenario(huangyan_scenario_path)
    zones, _ = huangyan_zones
    streets = network_from_scenario(scenario, zones)
    zones = add_typology(zones, skim=travel_time_matrix(streets, zones))
    state = state_from_scenario(scenario, zones, streets, services_from_scenario(scenario, zones))
    return scenario, zones, state, evaluate(state)


def test_every_kind_is_registered_and_used_by_huangyan(base):
    scenario, *_ = base
    assert {
        "add_link",
        "upgrade_road",
        "bus_line",
        "market_hub",
        "eco_compensation",
        "land_change",
        "service_relocation",
    } <= set(STRATEGY_KINDS)
    assert len(scenario.strategies) >= 6
    assert {s.kind for s in scenario.strategies} == set(STRATEGY_KINDS)


def test_strategies_do_not_mutate_the_base(base):
    scenario, _zones, state, _ = base
    skim = state.skim.copy()
    services = state.services.copy()
    nnz = state.routing.csr.nnz
    data = state.routing.csr.data.copy()
    for strategy in strategies_from_scenario(scenario):
        new = apply_strategy(state, strategy)
        assert new is not state and new.applied == (strategy.name,)
    pd.testing.assert_frame_equal(state.skim, skim)
    pd.testing.assert_frame_equal(state.services, services)
    assert state.routing.csr.nnz == nnz and (state.routing.csr.data == data).all()
    assert state.overrides.extra_markets == {} and state.bus_lines == ()
    assert state.applied == ()


def test_road_strategies_equal_a_full_recomputation(base):
    from urlink.network.skims import travel_time_matrix

    scenario, zones, state, _ = base
    for strategy in strategies_from_scenario(scenario):
        if strategy.kind not in ("add_link", "upgrade_road"):
            continue
        new = apply_strategy(state, strategy)
        full = travel_time_matrix(new.routing, zones)
        pd.testing.assert_frame_equal(new.skim, full, atol=1e-9, rtol=0)
        assert (new.skim <= state.skim + 1e-9).all().all()  # roads only get faster
        assert (new.skim < state.skim - 1e-9).any().any()


def test_indicator_changes_have_the_expected_sign(base):
    scenario, _zones, state, ev0 = base
    by_name = {s.name: s for s in strategies_from_scenario(scenario)}

    def delta(name):
        return evaluate(apply_strategy(state, by_name[name])).district - ev0.district

    bus = delta("bus-west-mountains")
    assert bus["pt_coverage_share"] > 0 and bus["trip_credits_t_per_day"] > 0
    assert bus["co2_t_per_day"] < 0
    # the credit is exactly the CO2 avoided by the shifted trips
    assert bus["trip_credits_t_per_day"] == pytest.approx(-bus["co2_t_per_day"], rel=1e-9)
    assert delta("orange-logistics-hub")["mean_time_to_market_min"] < 0
    assert delta("changtan-eco-compensation")["eco_comp_per_source_resident_yuan"] > 0
    assert delta("hospital-to-ningxi")["mean_time_to_hospital_min"] > 0
    road = delta("western-road-upgrade")
    assert road["access_ratio_rural_urban"] < 0
    assert set(ev0.district.index) == set(INDICATORS)


def test_attribution_totals_equal_the_total_effect(base):
    scenario, zones, state, ev0 = base
    for strategy in strategies_from_scenario(scenario):
        ev = evaluate(apply_strategy(state, strategy), cost_yuan=strategy.cost_yuan or 0.0)
        effects = attribute_zones(ev0, ev, zones)
        total = total_effects(effects)
        units = attribute_units(effects, zones, strategy, focus="331003")
        for level, rows in units.groupby("level"):
            for effect in EFFECTS:
                assert rows[effect].sum() == pytest.approx(total[effect], abs=1e-6), (
                    strategy.name,
                    level,
                    effect,
                )
        assert crosses(units) in ("none", "township", "county", "prefecture", "province")


def test_cost_is_booked_on_the_responsible_unit(base):
    _, zones, state, ev0 = base
    strategy = Strategy(
        "road",
        "add_link",
        sites=("331003101",),
        level="township",
        cost_yuan=1e6,
        params={"from": "331003101", "to": "331003102"},
    )
    ev = evaluate(apply_strategy(state, strategy), cost_yuan=1e6)
    units = attribute_units(attribute_zones(ev0, ev, zones), zones, strategy, focus="331003")
    town = units[(units["level"] == "township") & (units["cost_yuan"] > 0)]
    assert town["unit"].tolist() == ["331003101"] and town["cost_yuan"].sum() == 1e6
    county = units[(units["level"] == "county") & (units["cost_yuan"] > 0)]
    assert county["unit"].tolist() == ["331003"]
    table = guidelines(units, strategy, {"331003101": "宁溪镇"})
    implement = table[table["role"] == "implement"]
    assert "331003101" in set(implement["unit"]) and "宁溪镇" in set(implement["unit_name"])


def test_eco_compensation_crosses_county_boundaries(base):
    scenario, zones, state, ev0 = base
    strategy = next(s for s in strategies_from_scenario(scenario) if s.kind == "eco_compensation")
    ev = evaluate(apply_strategy(state, strategy))
    units = attribute_units(attribute_zones(ev0, ev, zones), zones, strategy, focus="331003")
    counties = units[units["level"] == "county"].set_index("unit")
    # downstream counties pay more, the Huangyan source townships receive more
    assert counties.loc["331002", "capital_net_yuan_per_year"] < 0
    towns = units[units["level"] == "township"].set_index("unit")
    assert towns.loc["331003102", "capital_net_yuan_per_year"] > 0
    table = guidelines(units, strategy, {})
    assert "pay" in set(table["role"])


@pytest.mark.parametrize(
    ("kind", "params", "pattern"),
    [
        ("add_link", {"from": "331003101"}, "parameter 'to' is missing"),
        ("add_link", {"from": "331003101", "to": "999"}, "'999' is not a zone"),
        ("upgrade_road", {"links": [["331003101", "331003205"]]}, "no road from"),
        (
            "upgrade_road",
            {"links": [["331003101", "331003200"]], "speed_factor": 0.5},
            "must be >= 1",
        ),
        ("bus_line", {"stops": ["331003101"]}, "stops must be >= 2"),
        ("bus_line", {"stops": ["331003101", "331003102"], "mode_shift": 2.0}, "mode_shift"),
        ("market_hub", {"zone": "331003103", "demand_weigth": 2}, "unknown parameter"),
        (
            "service_relocation",
            {"service": "school", "from": "331003001", "to": "331003101"},
            "no 'school' in zone 331003001",
        ),
        ("land_change", {"zones": ["x"], "water_supply_factor": 1.1}, r"\['x'\]"),
    ],
)
def test_bad_strategy_parameters(base, kind, params, pattern):
    _, _, state, _ = base
    with pytest.raises(InputError, match=pattern):
        apply_strategy(state, Strategy("s", kind, params=params))


def test_unknown_kind_and_sites(base):
    _, _, state, _ = base
    with pytest.raises(InputError, match="kind='teleport' is not known"):
        apply_strategy(state, Strategy("s", "teleport"))
    with pytest.raises(InputError, match=r"sites \['nowhere'\]"):
        apply_strategy(state, Strategy("s", "land_change", sites=("nowhere",)))
    with pytest.raises(InputError, match="level='galaxy'"):
        Strategy("s", "land_change", level="galaxy")
