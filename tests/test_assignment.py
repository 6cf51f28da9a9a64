from __future__ import annotations

import geopandas as gpd
import networkx as nx
import pandas as pd
import pytest

from urlink.assignment import assign_to_network, select_link
from urlink.errors import InputError, UrlinkWarning

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
