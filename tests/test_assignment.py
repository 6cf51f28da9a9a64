from __future__ import annotations

import itertools

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest

from urlink.errors import InputError, UrlinkWarning
from urlink.network.assignment import assign_to_network, select_link

#   0 -- 1 -- 2      a line of three nodes, two-way, 60 s per link,
#        |           plus a spur 1 -> 3 (one-way) and an island node 4
#        3
LON = {0: 121.0, 1: 121.01, 2: 121.02, 3: 121.01, 4: 121.5}
LAT = {0: 28.6, 1: 28.6, 2: 28.6, 3: 28.59, 4: 28.9}


def _streets() -> nx.MultiDiGraph:
    G = nx.MultiDiGraph(crs="epsg:4326")
    for n, lon in LON.items():
        G.add_node(n, x=lon, y=LAT[n])
    for a, b in [(0, 1), (1, 0), (1, 2), (2, 1), (1, 3)]:
        G.add_edge(a, b, travel_time=60.0)
    return G


def _zones() -> gpd.GeoDataFrame:
    ids = ["A", "B", "C", "D", "E"]
    return gpd.GeoDataFrame(
        {"county_code": ["c1", "c1", "c2", "c2", "c3"]},
        index=ids,
        crs="EPSG:4326",
        geometry=gpd.points_from_xy([LON[n] for n in range(5)], [LAT[n] for n in range(5)]),
    )


def _flows() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "origin": ["A", "A", "C", "A", "B"],
            "destination": ["C", "D", "A", "C", "B"],
            "flow_type": ["people", "people", "people", "goods", "people"],
            "volume": [100.0, 10.0, 40.0, 5.0, 999.0],
        }
    )


def test_assignment_by_hand():
    links = assign_to_network(_streets(), _flows(), _zones()).set_index(["u", "v"])
    # A->C (100) and A->D (10) share 0->1; 1->2 carries A->C; 1->3 carries A->D
    assert links.loc[(0, 1), "people"] == 110.0
    assert links.loc[(1, 2), "people"] == 100.0
    assert links.loc[(1, 3), "people"] == 10.0
    # C->A goes back 2->1->0
    assert links.loc[(2, 1), "people"] == 40.0 and links.loc[(1, 0), "people"] == 40.0
    # goods are kept apart; the B->B flow stays inside its zone and loads nothing
    assert links.loc[(0, 1), "goods"] == 5.0 and links.loc[(1, 3), "goods"] == 0.0
    assert (links >= 0).all().all()


def test_flow_conservation_at_every_node():
    links = assign_to_network(_streets(), _flows(), _zones())
    # at node 1 (no zone starts or ends there) people inflow == outflow
    inflow = links.loc[links["v"] == 1, "people"].sum()
    outflow = links.loc[links["u"] == 1, "people"].sum()
    assert inflow == outflow == 150.0


def test_unreachable_flows_are_counted():
    flows = pd.DataFrame(
        {"origin": ["A"], "destination": ["E"], "flow_type": ["people"], "volume": [7.0]}
    )
    with pytest.warns(UrlinkWarning, match="1 flows could not be assigned"):
        links = assign_to_network(_streets(), flows, _zones())
    assert links.empty


def test_select_link():
    used = select_link(_streets(), _flows(), _zones(), (1, 2))
    assert sorted(zip(used["origin"], used["destination"], used["flow_type"], strict=True)) == [
        ("A", "C", "goods"),
        ("A", "C", "people"),
    ]
    assert set(used["origin_county"]) == {"c1"} and set(used["destination_county"]) == {"c2"}
    spur = select_link(_streets(), _flows(), _zones(), (1, 3))
    assert spur[["origin", "destination", "volume"]].to_numpy().tolist() == [["A", "D", 10.0]]
    with pytest.raises(InputError, match=r"link=\(3, 1\) is not a link"):
        select_link(_streets(), _flows(), _zones(), (3, 1))


def test_assignment_rejects_unknown_zones():
    with pytest.raises(InputError, match=r"\['Z'\]"):
        assign_to_network(_streets(), _flows().assign(destination="Z"), _zones())


def _grid(side: int, seed: int) -> tuple[nx.MultiDiGraph, gpd.GeoDataFrame, pd.DataFrame]:
    """A two-way lattice with random (tie-free) times, 6 zones on nodes and random flows."""
    rng = np.random.default_rng(seed)
    G = nx.MultiDiGraph(crs="epsg:4326")
    for n in range(side * side):
        G.add_node(n, x=121.0 + 0.01 * (n % side), y=28.0 + 0.01 * (n // side))
    for n in range(side * side):
        for m in (n + 1, n + side):
            if m < side * side and (m != n + 1 or m % side):
                G.add_edge(n, m, travel_time=float(rng.uniform(30, 90)))
                G.add_edge(m, n, travel_time=float(rng.uniform(30, 90)))
    nodes = rng.choice(side * side, size=6, replace=False)
    ids = [f"Z{k}" for k in range(6)]
    zones = gpd.GeoDataFrame(
        index=ids,
        crs="EPSG:4326",
        geometry=gpd.points_from_xy(
            [G.nodes[n]["x"] for n in nodes], [G.nodes[n]["y"] for n in nodes]
        ),
    )
    pairs = [(o, d) for o in ids for d in ids if o != d]
    flows = pd.DataFrame(
        {
            "origin": [o for o, _ in pairs],
            "destination": [d for _, d in pairs],
            "flow_type": "people",
            "volume": rng.uniform(1, 100, len(pairs)),
        }
    )
    return G, zones, flows


def test_assignment_equals_path_by_path_loading_and_does_not_depend_on_blocks(monkeypatch):
    """Every link carries the sum of the flows whose shortest path uses it (#8: the trees
    are computed a block of origins at a time; one origin per block gives the same bits)."""
    G, zones, flows = _grid(6, seed=3)
    links = assign_to_network(G, flows, zones)
    node_of = {
        z: min(
            G.nodes, key=lambda n, p=p: (G.nodes[n]["x"] - p.x) ** 2 + (G.nodes[n]["y"] - p.y) ** 2
        )
        for z, p in zip(zones.index, zones.geometry, strict=True)
    }
    expected: dict[tuple[int, int], float] = {}
    for rec in flows.itertuples():
        path = nx.shortest_path(
            G, node_of[rec.origin], node_of[rec.destination], weight="travel_time"
        )
        for a, b in itertools.pairwise(path):
            expected[(a, b)] = expected.get((a, b), 0.0) + rec.volume
    got = dict(zip(zip(links["u"], links["v"], strict=True), links["people"], strict=True))
    assert got.keys() == expected.keys()
    for key, value in expected.items():
        assert got[key] == pytest.approx(value, rel=1e-12)
    monkeypatch.setattr("urlink.network.assignment._TREE_BYTES", 1)
    pd.testing.assert_frame_equal(assign_to_network(G, flows, zones), links)
