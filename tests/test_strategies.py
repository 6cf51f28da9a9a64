from __future__ import annotations

import dataclasses
import pickle
from dataclasses import dataclass, field

import pandas as pd
import pytest

from urlink.errors import InputError
from urlink.model.inputs import node_inputs
from urlink.model.state import State, Strategy, update_flows
from urlink.network.skims import distance_matrix_km, travel_time_matrix
from urlink.registry import RegistrationError
from urlink.scenario.build import base_state, network_from_scenario
from urlink.scenario.spec import load_scenario
from urlink.scenario.strategies import (
    STRATEGY_KINDS,
    AddLinkParams,
    BusLineParams,
    EcoCompensationParams,
    LandChangeParams,
    MarketHubParams,
    ServiceRelocationParams,
    UpgradeRoadParams,
    apply_strategy,
    register_kind,
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

BUILTIN_KINDS = {
    "add_link": AddLinkParams,
    "upgrade_road": UpgradeRoadParams,
    "bus_line": BusLineParams,
    "market_hub": MarketHubParams,
    "eco_compensation": EcoCompensationParams,
    "land_change": LandChangeParams,
    "service_relocation": ServiceRelocationParams,
}

FLOW_TYPES = ("people", "goods", "ecosystem", "capital")

# Flow types each built-in kind recomputes on the Huangyan scenario (declared ecosystem links:
# the ecosystem flows do not depend on travel times; capital follows the ecosystem flows).
RECOMPUTED = {
    "add_link": {"people", "goods"},
    "upgrade_road": {"people", "goods"},
    "bus_line": {"people"},  # the same trips, split by mode again on the new bus service
    "market_hub": {"goods"},
    "eco_compensation": {"capital"},
    "land_change": {"ecosystem", "capital"},
    "service_relocation": set(),
}

GOODS_T_PER_DAY = 58_400 / 365


@pytest.fixture(scope="module")
def base(huangyan_scenario_path, huangyan_zones):
    scenario = load_scenario(huangyan_scenario_path)
    zones, _ = huangyan_zones
    streets = network_from_scenario(scenario, zones)
    state = base_state(scenario, zones, streets)
    return scenario, state.zones, state, evaluate(state)


def _by_name(scenario):
    return {s.name: s for s in scenario.strategies}


def _from_scratch(state: State, edited: State) -> State:
    """A state built from the edited roads with a full skim and every flow recomputed."""
    skim = travel_time_matrix(
        edited.routing,
        state.zones,
        cutoff=state.cutoff_min,
        access_speed_kph=state.access_speed_kph,
    )
    fresh = dataclasses.replace(
        state,
        routing=edited.routing,
        routing_length=edited.routing_length,
        skim=skim,
        distance_km=distance_matrix_km(edited.routing_length, state.zones),
        flows={},
    )
    return update_flows(fresh)


def test_every_kind_is_registered_and_used_by_huangyan(base):
    scenario, *_ = base
    assert set(BUILTIN_KINDS) <= set(STRATEGY_KINDS)
    for kind, settings in BUILTIN_KINDS.items():
        assert STRATEGY_KINDS.entry(kind).settings is settings
        assert STRATEGY_KINDS.entry(kind).origin == "urlink"
    assert len(scenario.strategies) >= 6
    assert {s.kind for s in scenario.strategies} == set(STRATEGY_KINDS)


def test_scenario_strategies_hold_parsed_settings(base):
    scenario, *_ = base
    for strategy in scenario.strategies:
        assert isinstance(strategy, Strategy)
        assert isinstance(strategy.params, BUILTIN_KINDS[strategy.kind]), strategy.name
    by_name = _by_name(scenario)
    # the TOML key "from" is the field from_zone
    assert by_name["changtan-lakeside-road"].params == AddLinkParams(
        from_zone="331003101", to="331003102", speed_kph=60.0, circuity=1.2
    )
    assert by_name["hospital-to-ningxi"].params == ServiceRelocationParams(
        service="hospital", from_zone="331003001", to="331003101"
    )
    assert by_name["western-road-upgrade"].params.links[0] == ("331003101", "331003200")
    assert by_name["western-road-upgrade"].params.speed_factor == 1.3


def test_strategies_do_not_mutate_the_base(base):
    scenario, _zones, state, _ = base
    skim = state.skim.copy()
    distance = state.distance_km.copy()
    services = state.services.copy()
    nnz = state.routing.csr.nnz
    data = state.routing.csr.data.copy()
    length_data = state.routing_length.csr.data.copy()
    flows = {k: v.copy() for k, v in state.flows.items()}
    flow_ids = {k: id(v) for k, v in state.flows.items()}
    setups = state.setups
    market_weights = state.setups.goods.market_weights.copy()
    eco_supply = state.setups.ecosystem.supply.copy()
    capital_params = state.setups.capital.params
    for strategy in scenario.strategies:
        new = apply_strategy(state, strategy)
        assert new is not state and new.applied == (strategy.name,)
    pd.testing.assert_frame_equal(state.skim, skim)
    pd.testing.assert_frame_equal(state.distance_km, distance)
    pd.testing.assert_frame_equal(state.services, services)
    assert state.routing.csr.nnz == nnz and (state.routing.csr.data == data).all()
    assert (state.routing_length.csr.data == length_data).all()
    assert {k: id(v) for k, v in state.flows.items()} == flow_ids
    for k, table in flows.items():
        pd.testing.assert_frame_equal(state.flows[k], table)
    assert state.setups is setups
    pd.testing.assert_series_equal(state.setups.goods.market_weights, market_weights)
    pd.testing.assert_series_equal(state.setups.ecosystem.supply, eco_supply)
    assert state.setups.capital.params is capital_params
    assert state.bus_lines == ()
    assert state.applied == ()
    assert state.cost_yuan == 0.0


def test_road_strategies_equal_a_full_recomputation(base):
    scenario, zones, state, _ = base
    roads = [s for s in scenario.strategies if s.kind in ("add_link", "upgrade_road")]
    assert {s.kind for s in roads} == {"add_link", "upgrade_road"}
    for strategy in roads:
        new = apply_strategy(state, strategy)
        full = travel_time_matrix(
            new.routing, zones, cutoff=state.cutoff_min, access_speed_kph=state.access_speed_kph
        )
        pd.testing.assert_frame_equal(new.skim, full, atol=1e-9, rtol=0)
        assert (new.skim <= state.skim + 1e-9).all().all()  # roads only get faster
        assert (new.skim < state.skim - 1e-9).any().any()


# ---------------------------------------------------------------------------------------------
# compute once


def test_each_kind_recomputes_only_the_flows_it_touches(base):
    scenario, _zones, state, _ = base
    assert set(state.flows) == set(FLOW_TYPES)
    seen = set()
    for strategy in scenario.strategies:
        seen.add(strategy.kind)
        new = apply_strategy(state, strategy)
        assert set(new.flows) == set(FLOW_TYPES), strategy.name
        recomputed = {t for t in FLOW_TYPES if new.flows[t] is not state.flows[t]}
        assert recomputed == RECOMPUTED[strategy.kind], strategy.name
        # what was kept is what a full recomputation of the edited state gives
        full = update_flows(new)
        for t in FLOW_TYPES:
            pd.testing.assert_frame_equal(
                new.flows[t], full.flows[t], rtol=1e-9, atol=1e-9, obj=f"{strategy.name} {t}"
            )
        # the skim is only replaced by road edits
        roads = strategy.kind in ("add_link", "upgrade_road")
        assert (new.skim is not state.skim) == roads, strategy.name
        edits_setups = strategy.kind in ("market_hub", "eco_compensation", "land_change")
        assert (new.setups is not state.setups) == edits_setups, strategy.name
    assert seen == set(BUILTIN_KINDS)


def test_recomputed_flows_change(base):
    scenario, _zones, state, _ = base
    for strategy in scenario.strategies:
        new = apply_strategy(state, strategy)
        for t in RECOMPUTED[strategy.kind]:
            old, now = state.flows[t], new.flows[t]
            differs = (
                len(old) != len(now)
                or not (old["volume"].to_numpy() == now["volume"].to_numpy()).all()
            )
            assert differs, (strategy.name, t)


def test_road_edit_equals_a_state_built_from_scratch(base):
    scenario, _zones, state, _ = base
    roads = [s for s in scenario.strategies if s.kind in ("add_link", "upgrade_road")]
    for strategy in roads:
        new = apply_strategy(state, strategy)
        scratch = _from_scratch(state, new)
        pd.testing.assert_frame_equal(new.skim, scratch.skim, atol=1e-9, rtol=0)
        pd.testing.assert_frame_equal(new.distance_km, scratch.distance_km, atol=1e-9, rtol=0)
        assert set(new.flows) == set(scratch.flows)
        for t in scratch.flows:
            pd.testing.assert_frame_equal(
                new.flows[t], scratch.flows[t], rtol=1e-7, atol=1e-9, obj=f"{strategy.name} {t}"
            )
        pd.testing.assert_series_equal(
            evaluate(new).district,
            evaluate(dataclasses.replace(scratch, applied=new.applied)).district,
            rtol=1e-7,
        )
    # a new road also changes the network distances; an upgrade only the times
    by_name = _by_name(scenario)
    link = apply_strategy(state, by_name["changtan-lakeside-road"])
    assert (link.distance_km < state.distance_km - 1e-9).any().any()
    upgrade = apply_strategy(state, by_name["western-road-upgrade"])
    assert upgrade.distance_km is state.distance_km


def test_market_hub_adds_demand_weight_and_recomputes_goods_only(base):
    scenario, _zones, state, _ = base
    hub = _by_name(scenario)["orange-logistics-hub"]
    assert hub.params == MarketHubParams(zone="331003103", demand_weight=3.0)
    new = apply_strategy(state, hub)
    old_w = state.setups.goods.market_weights
    new_w = new.setups.goods.market_weights
    assert "331003103" not in old_w.index  # Toutuo had no market
    assert new_w["331003103"] == 3.0
    pd.testing.assert_series_equal(
        new_w.drop("331003103").loc[old_w.index], old_w, check_names=False
    )
    # weights 3, 1, 3, 2, 1 of 10, plus 3 of the hub: 13; all the supply finds a market
    demand = new.setups.goods.inputs()["demand"]
    assert demand.sum() == pytest.approx(GOODS_T_PER_DAY)
    assert demand["331003103"] == pytest.approx(3 / 13 * GOODS_T_PER_DAY)
    assert demand["331002"] == pytest.approx(3 / 13 * GOODS_T_PER_DAY)
    assert state.setups.goods.inputs()["demand"]["331002"] == pytest.approx(0.3 * GOODS_T_PER_DAY)
    nodes = node_inputs(new.setups, new.zones.index)
    assert nodes.loc["331003103", "goods_demand_t_per_day"] == pytest.approx(
        3 / 13 * GOODS_T_PER_DAY
    )
    # supply is unchanged; only the goods flows are recomputed
    assert new.setups.goods.supply is state.setups.goods.supply
    assert new.setups.people is state.setups.people
    assert new.flows["people"] is state.flows["people"]
    assert new.flows["ecosystem"] is state.flows["ecosystem"]
    assert new.flows["capital"] is state.flows["capital"]
    # production constrained: all the supply is shipped, now partly to the hub
    goods, before = new.flows["goods"], state.flows["goods"]
    assert goods["volume"].sum() == pytest.approx(GOODS_T_PER_DAY, rel=1e-9)
    assert before["volume"].sum() == pytest.approx(GOODS_T_PER_DAY, rel=1e-9)
    assert (before["destination"] == "331003103").sum() == 0
    assert goods.loc[goods["destination"] == "331003103", "volume"].sum() > 0
    # people travel to it: it becomes a market service
    markets = new.services.loc[new.services["service"] == "market", "zone_id"]
    assert "331003103" in set(markets)


def test_land_change_scales_supply_and_recomputes_ecosystem_and_capital(base):
    scenario, _zones, state, _ = base
    forest = _by_name(scenario)["headwater-forest-restoration"]
    new = apply_strategy(state, forest)
    old, now = state.setups.ecosystem.supply, new.setups.ecosystem.supply
    changed = ["331003201", "331003202", "331003204"]
    pd.testing.assert_series_equal(now[changed], old[changed] * 1.03)
    pd.testing.assert_series_equal(now.drop(changed), old.drop(changed))
    assert now.sum() - old.sum() == pytest.approx(0.03 * old[changed].sum())
    pd.testing.assert_series_equal(new.setups.ecosystem.demand, state.setups.ecosystem.demand)
    assert new.flows["people"] is state.flows["people"]
    assert new.flows["goods"] is state.flows["goods"]


def test_eco_compensation_sets_the_rate_and_recomputes_capital_only(base):
    scenario, _zones, state, _ = base
    eco = _by_name(scenario)["changtan-eco-compensation"]
    new = apply_strategy(state, eco)
    capital = new.setups.capital
    assert capital.eco_compensation is True
    assert capital.params.eco_rate_yuan_per_m3 == 0.08
    assert capital.params.quality_met is True
    assert state.setups.capital.params.eco_rate_yuan_per_m3 != 0.08
    # every other rate is kept
    assert capital.params == dataclasses.replace(
        state.setups.capital.params, eco_rate_yuan_per_m3=0.08, quality_met=True
    )
    for t in ("people", "goods", "ecosystem"):
        assert new.flows[t] is state.flows[t]
    paid = new.flows["capital"]["volume"].sum()
    assert paid > state.flows["capital"]["volume"].sum()


def test_strategies_without_flow_edits_keep_every_flow(base):
    scenario, _zones, state, _ = base
    by_name = _by_name(scenario)
    bus = apply_strategy(state, by_name["bus-west-mountains"])
    lines = bus.bus.lines.set_index("line")
    assert "bus-west-mountains" in lines.index and len(lines) == len(state.bus.lines) + 1
    assert lines.loc["bus-west-mountains", "stops"] == by_name["bus-west-mountains"].params.stops
    assert lines.loc["bus-west-mountains", "headway_min"] == 15.0
    assert bus.people_trips is state.people_trips  # destinations kept; only modes re-chosen
    hospital = apply_strategy(state, by_name["hospital-to-ningxi"])
    rows = hospital.services[hospital.services["service"] == "hospital"]
    assert "331003101" in set(rows["zone_id"]) and "331003001" not in set(rows["zone_id"])
    for new in (bus, hospital):
        assert new.setups is state.setups
        assert new.skim is state.skim
        for t in FLOW_TYPES:
            if not (new is bus and t == "people"):
                assert new.flows[t] is state.flows[t]


def test_mapping_params_equal_settings_params(base):
    scenario, _zones, state, _ = base
    road = _by_name(scenario)["changtan-lakeside-road"]
    as_mapping = dataclasses.replace(
        road, params={"from": "331003101", "to": "331003102", "speed_kph": 60, "circuity": 1.2}
    )
    a, b = apply_strategy(state, road), apply_strategy(state, as_mapping)
    pd.testing.assert_frame_equal(a.skim, b.skim, atol=0, rtol=0)
    for t in FLOW_TYPES:
        pd.testing.assert_frame_equal(a.flows[t], b.flows[t])


def test_strategies_are_frozen_and_pickle(base):
    scenario, *_ = base
    raw = {"from": "331003101", "to": "331003102"}
    mapping = Strategy("road", "add_link", params=raw)
    raw["to"] = "331003103"  # the strategy holds its own read-only copy
    assert mapping.params["to"] == "331003102"
    with pytest.raises(TypeError):
        mapping.params["to"] = "x"
    with pytest.raises(dataclasses.FrozenInstanceError):
        mapping.name = "other"
    # strategies go to worker processes: they pickle, mapping or settings params alike
    for strategy in (mapping, *scenario.strategies):
        again = pickle.loads(pickle.dumps(strategy))
        assert again == strategy and type(again.params) is type(strategy.params)


def test_strategies_chain_and_costs_accumulate(base):
    _scenario, _zones, state, _ = base
    road = Strategy(
        "road", "add_link", cost_yuan=2e6, params={"from": "331003101", "to": "331003102"}
    )
    hub = Strategy(
        "hub", "market_hub", cost_yuan=5e5, params={"zone": "331003103", "demand_weight": 1}
    )
    free = Strategy("bus", "bus_line", params={"stops": ["331003101", "331003102"]})
    new = apply_strategy(apply_strategy(apply_strategy(state, road), hub), free)
    assert new.applied == ("road", "hub", "bus")
    assert new.cost_yuan == 2.5e6
    assert evaluate(new).district["cost_million_yuan"] == pytest.approx(2.5)
    assert evaluate(state).district["cost_million_yuan"] == 0.0
    # the hub (applied after the road) recomputes the goods flows on the new skim
    full = update_flows(new)
    for t in FLOW_TYPES:
        pd.testing.assert_frame_equal(new.flows[t], full.flows[t], rtol=1e-9, atol=1e-9)


# ---------------------------------------------------------------------------------------------
# indicators and attribution


def test_indicator_changes_have_the_expected_sign(base):
    scenario, _zones, state, ev0 = base
    by_name = _by_name(scenario)

    def delta(name):
        return evaluate(apply_strategy(state, by_name[name])).district - ev0.district

    bus = delta("bus-west-mountains")
    # a faster, more frequent line: more people near the centre by bus, trips move from the
    # car to the bus, less CO2 and more credits (the same trips, other modes)
    assert bus["pop_within_45min_centre_bus"] >= 0 and bus["trip_credits_t_per_day"] > 0
    assert bus["co2_t_per_day"] < 0
    assert bus["pt_coverage_share"] == 0  # every township has a bus already
    assert delta("orange-logistics-hub")["mean_time_to_market_min"] < 0
    assert delta("changtan-eco-compensation")["eco_comp_per_source_resident_yuan"] > 0
    assert delta("hospital-to-ningxi")["mean_time_to_hospital_min"] > 0
    road = delta("western-road-upgrade")
    assert road["access_ratio_rural_urban"] < 0
    assert set(ev0.district.index) == set(INDICATORS)


def test_evaluate_reads_the_state_flows(base):
    _scenario, _zones, state, ev0 = base
    assert set(ev0.flows) == set(state.flows)
    for t, table in state.flows.items():
        assert ev0.flows[t] is table
    # evaluating again gives the same indicators (nothing is recomputed in between)
    pd.testing.assert_series_equal(evaluate(state).district, ev0.district, rtol=0, atol=0)


def test_attribution_totals_equal_the_total_effect(base):
    scenario, zones, state, ev0 = base
    for strategy in scenario.strategies:
        new = apply_strategy(state, strategy)
        assert new.cost_yuan == (strategy.cost_yuan or 0.0)
        ev = evaluate(new)
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
    new = apply_strategy(state, strategy)
    assert new.cost_yuan == 1e6
    ev = evaluate(new)
    assert ev.district["cost_million_yuan"] == pytest.approx(1.0)
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
    strategy = next(s for s in scenario.strategies if s.kind == "eco_compensation")
    ev = evaluate(apply_strategy(state, strategy))
    units = attribute_units(attribute_zones(ev0, ev, zones), zones, strategy, focus="331003")
    counties = units[units["level"] == "county"].set_index("unit")
    # downstream counties pay more, the Huangyan source townships receive more
    assert counties.loc["331002", "capital_net_yuan_per_year"] < 0
    towns = units[units["level"] == "township"].set_index("unit")
    assert towns.loc["331003102", "capital_net_yuan_per_year"] > 0
    table = guidelines(units, strategy, {})
    assert "pay" in set(table["role"])


# ---------------------------------------------------------------------------------------------
# bad input


@pytest.mark.parametrize(
    ("kind", "params", "pattern"),
    [
        ("add_link", {"from": "331003101"}, r"\bto'? is missing"),
        ("add_link", {"from": "331003101", "to": "999"}, r"to = \['999'\] are not zones"),
        ("add_link", {"from": "331003101", "to": "331003101"}, "from and to are both"),
        ("add_link", {"from": "331003101", "to": "331003102", "speed_kph": 0}, "speed_kph"),
        ("upgrade_road", {"links": [["331003101", "331003205"]]}, "no road from"),
        (
            "upgrade_road",
            {"links": [["331003101", "331003200"]], "speed_factor": 0.5},
            "must be >= 1",
        ),
        ("bus_line", {"stops": ["331003101"]}, "must name >= 2 zones"),
        ("bus_line", {"stops": ["331003101", "331003102"], "mode_shift": 2.0}, "mode_shift"),
        (
            "market_hub",
            {"zone": "331003103", "demand_weigth": 2},
            r"demand_weigth'? is not a known key.*did you mean 'demand_weight'",
        ),
        ("market_hub", {"zone": "331003103", "demand_weight": "big"}, "demand_weight"),
        (
            "service_relocation",
            {"service": "school", "from": "331003001", "to": "331003101"},
            "no 'school' in zone 331003001",
        ),
        ("land_change", {"zones": ["x"], "water_supply_factor": 1.1}, r"\['x'\]"),
        ("eco_compensation", {"rate_yuan_per_m3": -1.0}, "must be >= 0"),
    ],
)
def test_bad_strategy_parameters(base, kind, params, pattern):
    _, _, state, _ = base
    with pytest.raises(InputError, match=pattern) as info:
        apply_strategy(state, Strategy("bad-one", kind, params=params))
    assert "'bad-one'" in str(info.value)  # the error names the strategy


def test_unknown_kind_and_sites(base):
    _, _, state, _ = base
    with pytest.raises(InputError, match="'teleport' is not a registered strategy kind"):
        apply_strategy(state, Strategy("s", "teleport"))
    with pytest.raises(InputError, match=r"sites \['nowhere'\]"):
        apply_strategy(state, Strategy("s", "land_change", sites=("nowhere",)))
    with pytest.raises(InputError, match="level='galaxy'"):
        Strategy("s", "land_change", level="galaxy")
    with pytest.raises(InputError, match="cost_yuan=-1"):
        Strategy("s", "land_change", cost_yuan=-1.0)


# ---------------------------------------------------------------------------------------------
# plugin kinds


@dataclass(frozen=True, slots=True)
class TollParams:
    """Settings of a test kind: a road toll in a zone."""

    zone: str = field(metadata={"zone": True})
    fee_yuan: float = 5.0


def test_registered_kind_gets_its_params_checked(base):
    _, _, state, _ = base
    name = "test_toll"
    assert name not in STRATEGY_KINDS
    seen = []

    def toll(state, strategy):
        seen.append(strategy.params)
        return dataclasses.replace(state, flows=dict(state.flows))

    try:
        register_kind(name, settings=TollParams)(toll)
        entry = STRATEGY_KINDS.entry(name)
        assert entry.obj is toll and entry.settings is TollParams and entry.origin == "python"
        # an unknown key is an input error naming the key and the strategy
        with pytest.raises(InputError, match=r"'toll-a'.*fee_yaun'? is not a known key") as info:
            apply_strategy(
                state, Strategy("toll-a", name, params={"zone": "331003101", "fee_yaun": 3})
            )
        assert "fee_yuan" in str(info.value)  # the closest known key
        # a value of the wrong type, a missing key and an unknown zone are refused too
        with pytest.raises(InputError, match="fee_yuan"):
            apply_strategy(
                state, Strategy("toll-a", name, params={"zone": "331003101", "fee_yuan": "x"})
            )
        with pytest.raises(InputError, match=r"\bzone'? is missing"):
            apply_strategy(state, Strategy("toll-a", name, params={"fee_yuan": 3}))
        with pytest.raises(InputError, match=r"zone = \['nowhere'\] are not zones"):
            apply_strategy(state, Strategy("toll-a", name, params={"zone": "nowhere"}))
        assert seen == []  # the kind never ran on bad params
        new = apply_strategy(
            state,
            Strategy("toll-a", name, cost_yuan=10.0, params={"zone": "331003101", "fee_yuan": 3}),
        )
        assert seen == [TollParams(zone="331003101", fee_yuan=3.0)]
        assert new.applied == ("toll-a",) and new.cost_yuan == 10.0
        # registering the name again is a programming error, not an input error
        with pytest.raises(RegistrationError, match="already registered") as dup:
            register_kind(name, settings=TollParams)(toll)
        assert not isinstance(dup.value, InputError)
        with pytest.raises(RegistrationError, match="already registered"):
            register_kind("add_link")(toll)
        assert STRATEGY_KINDS.entry("add_link").settings is AddLinkParams
    finally:
        STRATEGY_KINDS.unregister(name)
    assert name not in STRATEGY_KINDS
    with pytest.raises(InputError, match="not a registered strategy kind"):
        apply_strategy(state, Strategy("toll-a", name, params={"zone": "331003101"}))
