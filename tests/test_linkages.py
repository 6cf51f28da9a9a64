from __future__ import annotations

import dataclasses
import shutil

import pandas as pd
import pytest

from urlink.errors import InputError
from urlink.model.carbon import EmissionSettings
from urlink.model.flows.people import PeopleParams
from urlink.model.inputs import (
    EcosystemSetup,
    FlowSetups,
    GoodsSetup,
    PeopleSetup,
    ecosystem_demand,
    goods_supply,
    node_inputs,
    people_inputs,
)
from urlink.scenario.build import setups_from_scenario
from urlink.scenario.spec import EcosystemSpec, GoodsSpec, PeopleSpec, load_scenario

GOODS_T_PER_DAY = 58_400 / 365


def _with_flows(scenario, **sections):
    """The scenario with some ``[flows.*]`` sections replaced."""
    return dataclasses.replace(scenario, flows=dataclasses.replace(scenario.flows, **sections))


def test_people_inputs_balance(huangyan_zones):
    zones, _ = huangyan_zones
    inputs = people_inputs(zones, trip_rate=0.3)
    assert inputs["production"].sum() == pytest.approx(0.3 * zones["population"].sum())
    assert inputs["attraction"].sum() == pytest.approx(inputs["production"].sum())
    # attractions are proportional to the population
    share = inputs["attraction"] / inputs["attraction"].sum()
    pd.testing.assert_series_equal(
        share, zones["population"] / zones["population"].sum(), check_names=False
    )


def test_people_setup_from_the_scenario(huangyan_zones, huangyan_scenario_path):
    zones, _ = huangyan_zones
    scenario = load_scenario(huangyan_scenario_path)
    setups = setups_from_scenario(scenario, zones).people
    # one setup per purpose of scenarios/huangyan.toml, with its rate and deterrence
    assert [s.purpose for s in setups] == ["home_work", "home_other", "non_home"]
    rates = {"home_work": 1.3, "home_other": 1.04, "non_home": 0.26}
    for people in setups:
        assert isinstance(people, PeopleSetup)
        assert people.model == "gravity_doubly"
        assert isinstance(people.params, PeopleParams)
        assert people.params.deterrence == "exp"
        assert people.params.self_flows  # [flows] within_zone = "half_nearest"
        expected = people_inputs(zones, trip_rate=rates[people.purpose])
        pd.testing.assert_frame_equal(people.inputs, expected)
        assert people.inputs_source.startswith("trip rate: estimate: 2.6 trips/resident/day")
    assert {s.purpose: s.params.beta for s in setups}["home_other"] == 0.22
    spec = _with_flows(scenario, people=PeopleSpec(trip_rate=0.5))
    (half,) = setups_from_scenario(spec, zones).people
    assert half.inputs["production"].sum() == pytest.approx(0.5 * zones["population"].sum())
    assert half.model == "gravity_doubly" and half.purpose == "all"
    assert half.params == PeopleParams(self_flows=True)


def test_goods_inputs_share_supply_and_markets(huangyan_zones, huangyan_scenario_path):
    zones, _ = huangyan_zones
    scenario = load_scenario(huangyan_scenario_path)
    assert scenario.flows.goods is not None
    goods = setups_from_scenario(scenario, zones).goods
    assert isinstance(goods, GoodsSetup)
    assert goods.model == "production_constrained" and goods.params.beta == 0.02
    assert goods.market_weights.to_dict() == {
        "331003003": 3.0,
        "331003001": 1.0,
        "331002": 3.0,
        "331004": 2.0,
        "331081": 1.0,
    }
    inputs = goods.inputs()
    assert inputs["supply"].sum() == pytest.approx(GOODS_T_PER_DAY)
    assert inputs["demand"].sum() == pytest.approx(inputs["supply"].sum())
    # markets: weights 3, 1, 3, 2, 1 of 10 -> Jiaojiang gets 30 %
    assert inputs.loc["331002", "demand"] == pytest.approx(0.3 * GOODS_T_PER_DAY)
    # supply by village counts: 院桥 has 39 of 297 villages
    assert inputs.loc["331003107", "supply"] == pytest.approx(39 / 297 * GOODS_T_PER_DAY)
    # the node inputs of the linkage graph are the same numbers
    nodes = node_inputs(FlowSetups(goods=goods), zones.index)
    pd.testing.assert_series_equal(
        nodes["goods_demand_t_per_day"], inputs["demand"], check_names=False
    )
    assert "people_production" not in nodes.columns


def test_goods_supply_by_hand(huangyan_zones):
    zones, _ = huangyan_zones
    weights = pd.DataFrame({"weight": [1.0, 3.0]}, index=["331003101", "331003102"])
    markets = pd.DataFrame({"demand_weight": [2.0]}, index=["331002"])
    supply, market_weights = goods_supply(zones, weights, markets, supply_t_per_year=365.0)
    assert supply.index.equals(zones.index)
    assert supply["331003101"] == pytest.approx(0.25)
    assert supply["331003102"] == pytest.approx(0.75)
    assert supply.drop(["331003101", "331003102"]).eq(0).all()
    assert market_weights.to_dict() == {"331002": 2.0}
    # a hub added to the setup shares the demand: 2 of 3, 1 of 3
    setup = GoodsSetup("production_constrained", None, supply, market_weights)
    demand = setup.with_market("331003103", 1.0).inputs()["demand"]
    assert demand["331002"] == pytest.approx(2 / 3)
    assert demand["331003103"] == pytest.approx(1 / 3)
    assert setup.inputs()["demand"]["331002"] == pytest.approx(1.0)  # the setup is unchanged


def test_goods_inputs_reject_unknown_markets(huangyan_zones, tmp_path, huangyan_scenario_path):
    zones, _ = huangyan_zones
    scenario = load_scenario(huangyan_scenario_path)
    spec = scenario.flows.goods
    bad = tmp_path / "markets.csv"
    bad.write_text("zone_id,demand_weight\n999999,1\n", encoding="utf-8")
    goods = GoodsSpec(supply_weights=spec.supply_weights, markets=bad, supply_t_per_year=1000.0)
    with pytest.raises(InputError, match=r"markets.csv.*\['999999'\]"):
        setups_from_scenario(_with_flows(scenario, goods=goods), zones)
    bad.write_text("zone_id,demand_weight\n331002,-1\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"markets.csv.*demand_weight"):
        setups_from_scenario(_with_flows(scenario, goods=goods), zones)


def test_ecosystem_inputs_by_phase(huangyan_zones, huangyan_scenario_path):
    zones, _ = huangyan_zones
    scenario = load_scenario(huangyan_scenario_path)
    assert scenario.flows.ecosystem is not None
    eco = setups_from_scenario(scenario, zones).ecosystem
    assert isinstance(eco, EcosystemSetup)
    assert eco.model == "declared_links"
    inputs, links = eco.inputs(), eco.links
    assert inputs["supply"].sum() == pytest.approx(1_100_000)
    assert inputs["demand"].sum() == pytest.approx(1_100_000)
    # Yuhuan is served by phase 2 only: 490,000 x its share of the phase-2 population
    phase2 = ["331002", "331004", "331081", "331083"]
    pop = zones.loc[phase2, "population"]
    assert inputs.loc["331083", "demand"] == pytest.approx(490_000 * pop["331083"] / pop.sum())
    # Huangyan (331003) stands for its 19 township zones in phase 1
    towns = zones.index[zones["level"] == "township"]
    assert len(towns) == 19
    assert (inputs.loc[towns, "demand"] > 0).all()
    sources = {
        "331003102",
        "331003101",
        "331003200",
        "331003201",
        "331003202",
        "331003204",
        "331003205",
    }
    assert set(links["source"]) == sources
    # supply is shared over the sources by area
    area = zones.loc[sorted(sources), "area_km2"]
    pd.testing.assert_series_equal(
        inputs.loc[sorted(sources), "supply"],
        area / area.sum() * 1_100_000,
        check_names=False,
    )
    # a land-use change scales the supply of some zones, nothing else
    scaled = eco.scaled({"331003201": 1.1})
    assert scaled.supply["331003201"] == pytest.approx(1.1 * eco.supply["331003201"])
    assert scaled.supply.drop("331003201").equals(eco.supply.drop("331003201"))
    assert eco.supply["331003201"] == inputs.loc["331003201", "supply"]  # not mutated


def test_ecosystem_demand_by_hand(huangyan_zones):
    zones, _ = huangyan_zones
    sources = pd.DataFrame(index=pd.Index(["331003101"], name="zone_id"))
    phases = pd.DataFrame(
        {"m3_per_day": [100.0, 50.0], "users": ["331002;331004", "331004"]},
        index=pd.Index([1, 2], name="phase"),
    )
    supply, demand, links = ecosystem_demand(zones, sources, phases, what="test")
    p = zones["population"]
    share = p["331002"] / (p["331002"] + p["331004"])
    assert demand["331002"] == pytest.approx(100 * share)
    assert demand["331004"] == pytest.approx(100 * (1 - share) + 50)
    assert demand.sum() == pytest.approx(150)
    assert supply["331003101"] == pytest.approx(150) and supply.sum() == pytest.approx(150)
    assert sorted(map(tuple, links.to_numpy().tolist())) == [
        ("331003101", "331002"),
        ("331003101", "331004"),
    ]


def test_ecosystem_phase_with_unknown_user(huangyan_zones, tmp_path, huangyan_scenario_path):
    zones, _ = huangyan_zones
    scenario = load_scenario(huangyan_scenario_path)
    spec = scenario.flows.ecosystem
    phases = tmp_path / "phases.csv"
    eco = EcosystemSpec(sources=spec.sources, phases=phases)
    phases.write_text("phase,m3_per_day,users\n1,100,331003;123456\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"phases.csv.*phase 1: user '123456'"):
        setups_from_scenario(_with_flows(scenario, ecosystem=eco), zones)
    phases.write_text("phase,m3_per_day,users\n1,-5,331003\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"phases.csv', id 1, column 'm3_per_day' .* > 0"):
        setups_from_scenario(_with_flows(scenario, ecosystem=eco), zones)


def test_scenario_flow_sections_are_checked(tmp_path, root):
    shutil.copytree(root / "data", tmp_path / "data")
    (tmp_path / "scenarios").mkdir()
    text = (root / "scenarios" / "huangyan.toml").read_text(encoding="utf-8")
    path = tmp_path / "scenarios" / "bad.toml"
    path.write_text(
        text.replace('model = "gravity_doubly"', 'model = "gravity_x"'), encoding="utf-8"
    )
    with pytest.raises(InputError, match=r"\[flows.people\] key 'model' = 'gravity_x'"):
        load_scenario(path)
    path.write_text(text.replace("[flows.ecosystem]", "[flows.ecosystemx]"), encoding="utf-8")
    with pytest.raises(InputError, match="ecosystemx"):
        load_scenario(path)
    path.write_text(
        text.replace(
            "eco_compensation = true", "eco_compensation = true\neco_rate_yuan_per_m3 = -1"
        ),
        encoding="utf-8",
    )
    with pytest.raises(
        InputError,
        match=r"bad\.toml: \[flows\.capital\] eco_rate_yuan_per_m3 = -1\.0 must be >= 0",
    ):
        load_scenario(path)


def test_emission_overrides_from_the_scenario(tmp_path):
    from urlink.cli import main

    from .test_bad_inputs import make_scenario

    # the tiny scenario of test_bad_inputs: people flows with distances, a run in a second
    path = make_scenario(tmp_path, extra="\n[emissions.factors_g]\ncar = 258.0\n")
    emissions = load_scenario(path).emissions
    assert isinstance(emissions, EmissionSettings)
    assert emissions.factors()["car"] == 258.0 and emissions.people_mode == "car"
    assert main(["run", str(path), "--out", str(tmp_path / "out"), "-q"]) == 0
    import geopandas as gpd

    flows = gpd.read_file(tmp_path / "out" / "linkages.gpkg", layer="flows")
    people = flows[flows["flow_type"] == "people"]
    assert len(people) > 0 and (people["distance_km"] > 0).any()
    # 258 g/pkm: co2 [kg/day] = persons/day x km x 258 / 1000
    expected = people["volume"] * people["distance_km"] * 258.0 / 1000.0
    assert (people["co2_kg_per_day"] - expected).abs().max() < 1e-6 * expected.max()
    path = make_scenario(tmp_path, extra='\n[emissions]\npeople_mode = "rocket"\n')
    with pytest.raises(
        InputError, match=r"\[emissions\] people_mode = 'rocket' is not valid.*'car'"
    ):
        load_scenario(path)


def test_population_raster_drives_the_typology(tmp_path, huangyan_zones):
    import geopandas as gpd
    import numpy as np
    import rasterio
    from affine import Affine

    from urlink.cli import main

    from .test_bad_inputs import make_scenario

    zones, _ = huangyan_zones
    left, bottom, right, top = zones.total_bounds  # metric CRS (UTM 51N)
    size = 250.0  # fine cells (125 people each): small zones get about 2,000 per km2
    width = int((right - left) // size) + 2
    height = int((top - bottom) // size) + 2
    tif = tmp_path / "pop.tif"
    with rasterio.open(
        tif,
        "w",
        driver="GTiff",
        width=width,
        height=height,
        count=1,
        dtype="float32",
        crs=zones.crs,
        nodata=-1.0,
        transform=Affine(size, 0.0, left - size, 0.0, -size, top + size),
    ) as dst:
        dst.write(np.full((1, height, width), 125.0, dtype="float32"))  # 2,000 per km2
    # the tiny scenario of test_bad_inputs (inside the Huangyan bounds) with 100 times fewer
    # people: by the census table its zones are not urban
    path = make_scenario(tmp_path)
    pop = tmp_path / "data" / "pop.csv"
    pop.write_text(pop.read_text(encoding="utf-8").replace("00000,", "000,"), encoding="utf-8")
    assert main(["run", str(path), "--out", str(tmp_path / "census"), "-q"]) == 0
    census = gpd.read_file(tmp_path / "census" / "linkages.gpkg", layer="zones")
    assert census["population"].sum() == 21_000
    assert not (census["typology"] == "urban").any()
    path.write_text(
        path.read_text(encoding="utf-8") + f"\n[typology]\npopulation_raster = '{tif}'\n",
        encoding="utf-8",
    )
    assert main(["run", str(path), "--out", str(tmp_path / "out"), "-q"]) == 0
    out = gpd.read_file(tmp_path / "out" / "linkages.gpkg", layer="zones")
    # every zone has about 2,000 inhabitants per km2 on the raster: all urban
    assert (out["typology"] == "urban").all()
    assert out["density_per_km2"].between(1800, 2200).all()


def test_people_model_that_cannot_balance_is_an_input_error(
    huangyan_scenario_path, huangyan_zones
):
    from urlink.model.state import update_flows
    from urlink.scenario.build import base_state, network_from_scenario, with_scenario_path

    s = load_scenario(huangyan_scenario_path)
    zones, _ = huangyan_zones
    streets = network_from_scenario(s, zones)
    people = PeopleSpec(params=PeopleParams(beta=50.0, max_iter=200))  # one purpose
    # every trip leaves its zone: at beta = 50 the margins cannot be met
    bad = _with_flows(s, people=people, within_zone="none")
    pattern = r"huangyan\.toml: \[flows\.people\].*beta = 50\.0"
    with pytest.raises(InputError, match=pattern):
        base_state(bad, zones, streets)
    # the same for a state whose people setup is edited later (flows recomputed on demand)
    state = base_state(_with_flows(s, people=PeopleSpec(), within_zone="none"), zones, streets)
    (first,) = state.setups.people
    setup = dataclasses.replace(first, params=dataclasses.replace(first.params, beta=50.0))
    edited = dataclasses.replace(state, setups=dataclasses.replace(state.setups, people=(setup,)))
    with pytest.raises(InputError, match=pattern):
        with_scenario_path(bad, lambda: update_flows(edited, ("people",)), section="[flows]")
