from __future__ import annotations

import math

import geopandas as gpd
import networkx as nx
import pandas as pd
import pytest

from urlink.errors import InputError
from urlink.model.graph import (
    crosses_level,
    graph_to_gdfs,
    linkage_graph_from,
    load_graph_gpkg,
    load_graphml,
    save_graph_gpkg,
    save_graphml,
)
from urlink.model.linkage import linkage_flows_of, linkage_graph_of
from urlink.scenario.build import base_state, network_from_scenario
from urlink.scenario.spec import load_scenario


def _zones() -> gpd.GeoDataFrame:
    ids = ["331003001", "331003002", "331002", "330382"]
    return gpd.GeoDataFrame(
        {
            "name": ["东城街道", "南城街道", "椒江区", "乐清市"],
            "level": ["township", "township", "county", "county"],
            "township_code": ["331003001", "331003002", None, None],
            "county_code": ["331003", "331003", "331002", "330382"],
            "prefecture_code": ["331000", "331000", "331000", "330300"],
            "province_code": ["330000"] * 4,
            "population": [100.0, 50.0, 800.0, 900.0],
            "population_source": ["estimate: x", "estimate: x", "census", "census"],
            "seat_lon": [121.27, 121.26, 121.42, 121.01],
            "seat_lat": [28.65, 28.61, 28.68, 28.25],
            "production": [10.0, 5.0, 80.0, 90.0],
        },
        index=ids,
        geometry=gpd.points_from_xy(
            [121.27, 121.26, 121.42, 121.01], [28.65, 28.61, 28.68, 28.25]
        ),
        crs="EPSG:4326",
    )


def _flows() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "origin": ["331003001", "331003001", "331003002", "331003001", "331002"],
            "destination": ["331003002", "331003002", "331002", "330382", "331003001"],
            "flow_type": ["people", "people", "goods", "capital", "ecosystem"],
            "volume": [10.0, 5.0, 2.5, 1e6, 3000.0],
            "unit": ["persons/day", "persons/day", "t/day", "yuan/year", "m3/day"],
            "model": [
                "gravity_doubly",
                "radiation",
                "min_cost_transport",
                "transfers",
                "declared_links",
            ],
            "source": ["modelled", "modelled", "modelled", "observed", "estimated"],
        }
    )


def _skim(zones) -> pd.DataFrame:
    ids = list(zones.index)
    return pd.DataFrame(
        [[float(10 * i + j) for j in range(4)] for i in range(4)], index=ids, columns=ids
    )


def test_crosses_levels_by_hand():
    z = _zones()
    assert crosses_level(z.loc["331003001"], z.loc["331003001"]) == "none"
    assert crosses_level(z.loc["331003001"], z.loc["331003002"]) == "township"
    assert crosses_level(z.loc["331003002"], z.loc["331002"]) == "county"
    assert crosses_level(z.loc["331003001"], z.loc["330382"]) == "prefecture"
    other_province = z.loc["330382"].copy()
    other_province["province_code"] = "320000"
    assert crosses_level(z.loc["331002"], other_province) == "province"


def test_linkage_graph_nodes_and_edges():
    z = _zones()
    G = linkage_graph_from(
        z, _skim(z), _flows(), node_columns=["production"], network_source="proxy"
    )
    assert set(G.nodes) == set(z.index)
    assert G.nodes["331003001"]["production"] == 10.0
    assert G.nodes["331002"]["township_code"] is None
    assert G.nodes["331003001"]["x"] == 121.27
    # two people rows of the same pair become one edge with the summed volume
    e = G.edges["331003001", "331003002", "people"]
    assert e["volume"] == 15.0 and e["model"] == "gravity_doubly+radiation"
    assert e["time_min"] == 1.0 and math.isnan(e["distance_km"])
    assert e["crosses"] == "township" and e["unit"] == "persons/day"
    assert G.edges["331003002", "331002", "goods"]["crosses"] == "county"
    assert G.edges["331003001", "330382", "capital"]["crosses"] == "prefecture"
    assert G.number_of_edges() == 4
    assert G.graph["network_source"] == "proxy"
    # total volume per flow type is conserved
    by_type = {}
    for *_, d in G.edges(data=True):
        by_type[d["flow_type"]] = by_type.get(d["flow_type"], 0) + d["volume"]
    assert by_type == _flows().groupby("flow_type")["volume"].sum().to_dict()


def test_bad_flows_are_refused():
    z = _zones()
    f = _flows()
    with pytest.raises(InputError, match=r"\['999'\] that are not in the zones"):
        linkage_graph_from(z, None, f.assign(destination=["999", *f["destination"][1:]]))
    with pytest.raises(InputError, match="unknown flow_type"):
        linkage_graph_from(z, None, f.assign(flow_type="water"))
    with pytest.raises(InputError, match="negative"):
        linkage_graph_from(z, None, f.assign(volume=-1.0))


def test_graph_to_gdfs_lines_join_the_seats():
    z = _zones()
    nodes, flows = graph_to_gdfs(linkage_graph_from(z, _skim(z), _flows()))
    assert len(nodes) == 4 and nodes.crs.to_epsg() == 4326
    assert len(flows) == 4
    row = flows[(flows["origin"] == "331003002") & (flows["destination"] == "331002")].iloc[0]
    assert list(row.geometry.coords) == [(121.26, 28.61), (121.42, 28.68)]


def _same_graph(a: nx.MultiDiGraph, b: nx.MultiDiGraph) -> None:
    assert set(a.nodes) == set(b.nodes)
    for n in a.nodes:
        for k, v in a.nodes[n].items():
            w = b.nodes[n].get(k)
            if isinstance(v, float) and math.isnan(v):
                assert w is None or math.isnan(w)
            else:
                assert w == v, (n, k, v, w)
    ea = {(u, v, k): d for u, v, k, d in a.edges(keys=True, data=True)}
    eb = {(u, v, k): d for u, v, k, d in b.edges(keys=True, data=True)}
    assert set(ea) == set(eb)
    for key, d in ea.items():
        for attr, val in d.items():
            other = eb[key][attr]
            if isinstance(val, float) and math.isnan(val):
                assert math.isnan(other)
            else:
                assert other == val, (key, attr, val, other)


def test_geopackage_round_trip(tmp_path):
    z = _zones()
    G = linkage_graph_from(z, _skim(z), _flows(), node_columns=["production"])
    path = save_graph_gpkg(G, tmp_path / "linkages.gpkg")
    _same_graph(G, load_graph_gpkg(path))
    with pytest.raises(InputError, match="not a urlink linkage GeoPackage"):
        load_graph_gpkg(tmp_path / "missing.gpkg")


def test_graphml_round_trip(tmp_path):
    z = _zones()
    G = linkage_graph_from(z, _skim(z), _flows(), node_columns=["production"])
    path = save_graphml(G, tmp_path / "linkages.graphml")
    _same_graph(G, load_graphml(path))
    (tmp_path / "bad.graphml").write_text("<nope")
    with pytest.raises(InputError, match="could not be read as GraphML"):
        load_graphml(tmp_path / "bad.graphml")


def test_linkage_flows_table_equals_the_graphs_edges(huangyan_scenario_path, huangyan_zones):
    """``linkage_flows_of``: the graph's flow edges (order, values, types) without the graph,
    for the Huangyan state with people, goods, capital and ecosystem flows (#20)."""
    scenario = load_scenario(huangyan_scenario_path)
    zones = huangyan_zones[0]
    state = base_state(scenario, zones, network_from_scenario(scenario, zones))
    want = graph_to_gdfs(linkage_graph_of(state))[1]
    got = linkage_flows_of(state)
    assert set(want["flow_type"]) == {"people", "goods", "capital", "ecosystem"}
    assert len(got) > 100
    pd.testing.assert_frame_equal(
        pd.DataFrame(got.drop(columns="geometry")),
        pd.DataFrame(want.drop(columns="geometry")),
        check_exact=True,
    )
    assert got.geometry.geom_equals_exact(want.geometry, 0).all()
    assert got.crs == want.crs
    # crosses by hand for one pair of each kind
    row = got[(got["origin"] == got["destination"])].iloc[0]
    assert row["crosses"] == "none"
