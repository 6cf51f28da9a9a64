from __future__ import annotations

import shutil

import pytest

from urlink.errors import InputError
from urlink.model.inputs import ecosystem_inputs, goods_inputs, people_inputs
from urlink.scenario.spec import EcosystemSpec, GoodsSpec, PeopleSpec, load_scenario


def test_people_inputs_balance(huangyan_zones):
    zones, _ = huangyan_zones
    inputs = people_inputs(zones, PeopleSpec(trip_rate=0.3))
    assert inputs["production"].sum() == pytest.approx(0.3 * zones["population"].sum())
    assert inputs["attraction"].sum() == pytest.approx(inputs["production"].sum())


def test_goods_inputs_share_supply_and_markets(huangyan_zones, huangyan_scenario_path):
    zones, _ = huangyan_zones
    spec = load_scenario(huangyan_scenario_path).flows.goods
    assert spec is not None
    inputs = goods_inputs(zones, spec)
    assert inputs["supply"].sum() == pytest.approx(58_400 / 365)
    assert inputs["demand"].sum() == pytest.approx(inputs["supply"].sum())
    # markets: weights 3, 1, 3, 2, 1 of 10 -> Jiaojiang gets 30 %
    assert inputs.loc["331002", "demand"] == pytest.approx(0.3 * 58_400 / 365)
    # supply by village counts: 院桥 has 39 of 297 villages
    assert inputs.loc["331003107", "supply"] == pytest.approx(39 / 297 * 58_400 / 365)


def test_goods_inputs_reject_unknown_markets(huangyan_zones, tmp_path, huangyan_scenario_path):
    zones, _ = huangyan_zones
    spec = load_scenario(huangyan_scenario_path).flows.goods
    bad = tmp_path / "markets.csv"
    bad.write_text("zone_id,demand_weight\n999999,1\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"markets.csv.*\['999999'\]"):
        goods_inputs(
            zones,
            GoodsSpec(supply_weights=spec.supply_weights, markets=bad, supply_t_per_year=1000.0),
        )


def test_ecosystem_inputs_by_phase(huangyan_zones, huangyan_scenario_path):
    zones, _ = huangyan_zones
    spec = load_scenario(huangyan_scenario_path).flows.ecosystem
    assert spec is not None
    inputs, links = ecosystem_inputs(zones, spec)
    assert inputs["supply"].sum() == pytest.approx(1_100_000)
    assert inputs["demand"].sum() == pytest.approx(1_100_000)
    # Yuhuan is served by phase 2 only: 490,000 x its share of the phase-2 population
    phase2 = ["331002", "331004", "331081", "331083"]
    pop = zones.loc[phase2, "population"]
    assert inputs.loc["331083", "demand"] == pytest.approx(490_000 * pop["331083"] / pop.sum())
    # Huangyan (331003) stands for its 19 township zones in phase 1
    towns = zones.index[zones["level"] == "township"]
    assert (inputs.loc[towns, "demand"] > 0).all()
    assert set(links["source"]) == {
        "331003102",
        "331003101",
        "331003200",
        "331003201",
        "331003202",
        "331003204",
        "331003205",
    }


def test_ecosystem_phase_with_unknown_user(huangyan_zones, tmp_path, huangyan_scenario_path):
    zones, _ = huangyan_zones
    spec = load_scenario(huangyan_scenario_path).flows.ecosystem
    phases = tmp_path / "phases.csv"
    phases.write_text("phase,m3_per_day,users\n1,100,331003;123456\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"phase 1: user '123456'"):
        ecosystem_inputs(zones, EcosystemSpec(sources=spec.sources, phases=phases))
    phases.write_text("phase,m3_per_day,users\n1,-5,331003\n", encoding="utf-8")
    with pytest.raises(InputError, match="m3_per_day must be positive"):
        ecosystem_inputs(zones, EcosystemSpec(sources=spec.sources, phases=phases))


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
    with pytest.raises(InputError, match="eco_rate_yuan_per_m3' must be >= 0"):
        load_scenario(path)


def test_emission_overrides_from_the_scenario(tmp_path):
    from urlink.cli import main

    from .test_bad_inputs import make_scenario

    # the tiny scenario of test_bad_inputs: people flows with distances, a run in a second
    path = make_scenario(tmp_path, extra="\n[emissions.factors_g]\ncar = 258.0\n")
    assert main(["run", str(path), "--out", str(tmp_path / "out"), "-q"]) == 0
    import geopandas as gpd

    flows = gpd.read_file(tmp_path / "out" / "linkages.gpkg", layer="flows")
    people = flows[flows["flow_type"] == "people"]
    assert len(people) > 0 and (people["distance_km"] > 0).any()
    # 258 g/pkm: co2 [kg/day] = persons/day x km x 258 / 1000
    expected = people["volume"] * people["distance_km"] * 258.0 / 1000.0
    assert (people["co2_kg_per_day"] - expected).abs().max() < 1e-6 * expected.max()
    path = make_scenario(tmp_path, extra='\n[emissions]\npeople_mode = "rocket"\n')
    with pytest.raises(InputError, match=r"\[emissions\] key 'people_mode' = 'rocket'"):
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


def test_people_model_that_cannot_balance_is_an_input_error(huangyan_scenario_path):
    import dataclasses

    from urlink.errors import InputError
    from urlink.model.inputs import flows_from_scenario
    from urlink.scenario.build import _routing_and_skim, network_from_scenario, zones_from_scenario
    from urlink.scenario.spec import load_scenario

    s = load_scenario(huangyan_scenario_path)
    zones, _ = zones_from_scenario(s)
    _, _, skim = _routing_and_skim(s, network_from_scenario(s, zones), zones)
    people = dataclasses.replace(s.flows.people, beta=50.0)
    bad = dataclasses.replace(s, flows=dataclasses.replace(s.flows, people=people))
    with pytest.raises(InputError, match=r"huangyan\.toml: \[flows\.people\].*beta = 50\.0"):
        flows_from_scenario(bad, zones, skim)
