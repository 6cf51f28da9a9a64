"""The Malta showcase: zones, population, roads, ferry and buses all from OpenStreetMap (#15)."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest

from urlink.cli import main
from urlink.errors import InputError
from urlink.io.osm_admin import zones_from_osm
from urlink.network.skims import routing_graph_from, snap_to_nodes
from urlink.network.streets import SpeedParams, streets_from_file
from urlink.network.transit import LINE_COLUMNS, BusService, bus_service_from_osm, transit_skim
from urlink.scenario.spec import load_scenario

ROOT = Path(__file__).resolve().parents[1]
PBF = ROOT / "data" / "osm" / "malta.osm.pbf"
SCENARIO = ROOT / "scenarios" / "malta.toml"
VALLETTA = "osm:relation/7510580"
VICTORIA = "osm:relation/7508583"  # Ir-Rabat, Gozo


@pytest.fixture(scope="module")
def malta_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("malta_run") / "malta"
    assert main(["run", str(SCENARIO), "--out", str(out), "-q"]) == 0
    return out


@pytest.fixture(scope="module")
def councils() -> gpd.GeoDataFrame:
    return zones_from_osm(PBF, admin_level=8, include=[7510559])


def test_malta_run_writes_every_output_of_the_huangyan_run(malta_run, huangyan_run):
    huangyan = {p.name for p in huangyan_run.iterdir() if not p.name.startswith("compare_")}
    malta = {p.name for p in malta_run.iterdir()}
    assert huangyan - malta == set()
    compares = sorted(p.name for p in malta_run.glob("compare_*.html"))
    assert compares == [
        "compare_coast-road-upgrade.html",
        "compare_gozo-tunnel.html",
        "compare_market-to-ta-qali.html",
        "compare_south-express-bus.html",
    ]


def test_malta_map_has_an_offline_base_of_roads_and_water(malta_run):
    page = (malta_run / "map.html").read_text(encoding="utf-8")
    assert "Base: main roads (OSM)" in page
    assert "Base: water (OSM)" in page  # the Salinas and reservoirs of the extract
    assert "County boundaries" not in page  # one unit (the country): no boundary layer


def test_malta_estimates_are_labelled(malta_run):
    zones = gpd.read_file(malta_run / "zones.gpkg", layer="zones")
    assert len(zones) == 68
    assert int(zones["population"].sum()) == 519_562
    assert zones["population_source"].str.startswith("estimate: dasymetric").all()
    assert zones["population_source"].str.contains("Census of Population and Housing 2021").all()
    flows = pd.read_csv(malta_run / "flows.csv")
    assert flows["source"].notna().all()
    assert flows["inputs_source"].str.contains("NHTS 2021").all()
    manifest = json.loads((malta_run / "manifest.json").read_text(encoding="utf-8"))
    modes = manifest["summary"]["modes"]
    # the mode choice reproduces the NHTS 2021 shares it was fitted to
    for mode, share in {"car": 0.84, "bus": 0.06, "walk": 0.078}.items():
        assert modes["shares_reached"][mode] == pytest.approx(share, abs=1e-3)
    people = {p["purpose"]: p for p in manifest["summary"]["people"]}
    total = sum(p["trips_per_resident_day"] for p in people.values())
    assert total == pytest.approx(1.23, abs=1e-9)  # 638,456 trips / 519,562 residents


def test_malta_strategies_move_the_indicators_they_should(malta_run):
    ind = pd.read_csv(malta_run / "indicators.csv")
    d = ind[ind["scope"] == "district"].pivot_table(
        index="indicator", columns="strategy", values="value", aggfunc="first"
    )
    # the tunnel brings Gozo within an hour of Valletta and evens out access
    assert d.loc["pop_within_60min_centre", "baseline"] < 0.9
    assert d.loc["pop_within_60min_centre", "gozo-tunnel"] == pytest.approx(1.0)
    assert d.loc["access_gini", "gozo-tunnel"] < d.loc["access_gini", "baseline"] - 0.1
    # moving the market inland shortens the mean trip to it; the express bus saves CO2
    assert (
        d.loc["mean_time_to_market_min", "market-to-ta-qali"]
        < d.loc["mean_time_to_market_min", "baseline"]
    )
    assert d.loc["co2_t_per_day", "south-express-bus"] < d.loc["co2_t_per_day", "baseline"]
    # unknown costs stay unknown (NaN), never 0
    assert d.loc["cost_million_yuan", ["coast-road-upgrade", "gozo-tunnel"]].isna().all()


def test_the_car_ferry_joins_gozo_to_malta():
    params = SpeedParams(ferry_kph=13.0, ferry_wait_min=22.5)
    without = streets_from_file(PBF, params=params)
    with_ferry = streets_from_file(PBF, params=params, ferries=True)
    ferry = [d for _, _, d in with_ferry.edges(data=True) if d.get("highway") == "ferry"]
    names = {str(d.get("name")) for d in ferry}
    assert "Malta-Gozo" in names
    assert "Harbour Cruise" not in names  # ferry=tourist
    assert "Sliema-Valletta Ferry" not in names  # no motor vehicles
    gozo = next(d for d in ferry if d.get("name") == "Malta-Gozo")
    # no duration tag: the crossing at ferry_kph plus the wait
    assert gozo["travel_time"] == pytest.approx(gozo["length"] * 3.6 / 13.0 + 22.5 * 60)
    largest = max(nx.strongly_connected_components(with_ferry), key=len)
    zones = zones_from_osm(PBF, admin_level=8, include=[7510559])
    seats = snap_to_nodes(routing_graph_from(with_ferry), zones.loc[[VALLETTA, VICTORIA]])
    assert set(seats["node"]) <= largest
    seats_without = snap_to_nodes(routing_graph_from(without), zones.loc[[VALLETTA, VICTORIA]])
    assert not nx.has_path(without, *seats_without["node"].tolist())


def test_seats_snap_to_the_street_network_not_to_one_way_traps(councils):
    G = streets_from_file(PBF, ferries=True)
    R = routing_graph_from(G)
    seats = snap_to_nodes(R, councils)
    largest = max(nx.strongly_connected_components(G), key=len)
    # every council seat lies on a strongly connected part of hundreds of nodes
    sizes = {n: len(c) for c in nx.strongly_connected_components(G) for n in c}
    assert min(sizes[n] for n in seats["node"]) > 1000
    assert len(set(seats["node"]) & largest) == len(seats)


def test_bus_routes_from_osm(councils):
    svc = bus_service_from_osm(
        PBF, councils, operator="Malta Public Transport", exclude_refs=["N10", "N11"]
    )
    lines = svc.lines
    assert lines["line"].is_unique  # one line per route number
    assert {"N10", "N11"}.isdisjoint(lines["line"])
    assert {"1", "13", "X1", "301"} <= set(lines["line"])  # Valletta, airport, Gozo routes
    assert lines["source"].str.contains(r"route relation \d+").all()
    assert lines["source"].str.endswith("headway: assumption").all()
    assert (lines["stops"].map(len) >= 2).all()
    # stops are dense in Maltese towns: a few hundred metres to the nearest stop
    access = svc.stop_access_km.dropna()
    assert len(access) >= 60
    assert 0.05 < access.median() < 0.5


def test_bus_routes_from_osm_refuse_an_unknown_operator(councils):
    with pytest.raises(InputError, match="operator 'Nobody'"):
        bus_service_from_osm(PBF, councils, operator="Nobody")


def test_walk_to_a_stop_in_the_next_zone_hand_worked():
    # a - b - c in a row; the only line serves b and c; walking a <-> b takes 6 min
    z = ["a", "b", "c"]
    car = pd.DataFrame([[0, 3, 9], [3, 0, 6], [9, 6, 0]], index=z, columns=z, dtype=float)
    walk = pd.DataFrame([[0, 6, 30], [6, 0, 24], [30, 24, 0]], index=z, columns=z, dtype=float)
    svc = BusService(pd.DataFrame(columns=list(LINE_COLUMNS))).with_line(
        "1", ["b", "c"], headway_min=20.0, speed_factor=0.5
    )
    access = pd.Series(1.0, index=z)
    alone = transit_skim(svc, car, access_min=access)
    assert np.isnan(alone.in_vehicle_min.loc["a", "c"])  # no stop in a, no walking across
    sk = transit_skim(svc, car, access_min=access, walk_min=walk, max_walk_min=10.0)
    # walk 6 to b, wait 10, ride 6 / 0.5 = 12, walk 1 in c
    assert sk.access_min.loc["a", "c"] == pytest.approx(7.0)
    assert sk.wait_min.loc["a", "c"] == pytest.approx(10.0)
    assert sk.in_vehicle_min.loc["a", "c"] == pytest.approx(12.0)
    assert sk.access_min.loc["c", "a"] == pytest.approx(7.0)  # and back, walking on from b
    # a walk longer than max_walk_min is not taken
    far = transit_skim(svc, car, access_min=access, walk_min=walk, max_walk_min=5.0)
    assert np.isnan(far.in_vehicle_min.loc["a", "c"])


def _scenario(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "s.toml"
    p.write_text(f'name = "t"\n{text}', encoding="utf-8")
    return p


def test_osm_boundaries_refuse_file_keys_and_need_a_population(tmp_path):
    pbf = PBF.as_posix()
    bad = _scenario(
        tmp_path,
        f'[boundaries]\nosm = "{pbf}"\nadmin_level = 8\nfocus = "MT"\npath = "x.geojson"\n'
        '[population.dasymetric]\ntotal = 1\ntotal_source = "x"\n',
    )
    with pytest.raises(InputError, match="'path' does not go with 'osm'"):
        load_scenario(bad)
    nopop = _scenario(
        tmp_path, f'[boundaries]\nosm = "{pbf}"\nadmin_level = 8\nfocus = "MT"\n[population]\n'
    )
    with pytest.raises(InputError, match=r"dasymetric.*is missing"):
        load_scenario(nopop)
    busbad = _scenario(
        tmp_path,
        f'[boundaries]\nosm = "{pbf}"\nadmin_level = 8\nfocus = "MT"\n'
        '[population.dasymetric]\ntotal = 10\ntotal_source = "x"\n'
        '[bus]\nlines = "l.csv"\noperator = "X"\n',
    )
    with pytest.raises(InputError, match="'operator' applies to 'osm' bus routes only"):
        load_scenario(busbad)
    good = load_scenario(SCENARIO)
    assert good.boundaries.focus == "MT"
    assert good.population.dasymetric is not None
    assert good.population.dasymetric.footprints == PBF
