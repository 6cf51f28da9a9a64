from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
from scipy.optimize import brentq

from urlink.errors import InputError, UrlinkWarning
from urlink.network.equilibrium import (
    DEFAULT_CAPACITY_VPH,
    EquilibriumParams,
    assign_equilibrium,
    link_capacities_vph,
    vehicles_from_persons,
)
from urlink.network.skims import RoutingGraph, routing_graph_from
from urlink.network.streets import streets_from_file, streets_from_points

METHODS = ["fw", "cfw", "bfw"]
PYROSM_TEST = Path("/work/shared/data/osm_test/pyrosm_test.osm.pbf")


def _graph(edges: list[tuple[int, int, float]], n: int) -> nx.MultiDiGraph:
    G = nx.MultiDiGraph(crs="epsg:4326")
    for i in range(n):
        G.add_node(i, x=121.0 + 0.01 * i, y=28.6 + 0.001 * (i % 2))
    for a, b, t in edges:
        G.add_edge(a, b, travel_time=t)
    return G


def _zones(G: nx.MultiDiGraph, nodes: dict[str, int]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        index=list(nodes),
        crs="EPSG:4326",
        geometry=gpd.points_from_xy(
            [G.nodes[n]["x"] for n in nodes.values()], [G.nodes[n]["y"] for n in nodes.values()]
        ),
    )


def _od(pairs: dict[tuple[str, str], float]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "origin": [o for o, _ in pairs],
            "destination": [d for _, d in pairs],
            "vehicles_vph": list(pairs.values()),
        }
    )


def _cap(R: RoutingGraph, caps: dict[tuple[int, int], float]) -> np.ndarray:
    """Capacities in CSR order from ``{(u, v): veh/h}``."""
    coo = R.csr.tocoo()
    return np.array([caps[(int(a), int(b))] for a, b in zip(coo.row, coo.col, strict=True)])


def _two_routes() -> tuple[nx.MultiDiGraph, RoutingGraph, gpd.GeoDataFrame]:
    # route 1: 0 -> 2 (60 s); route 2: 0 -> 1 -> 2 (120 s; 1 -> 2 takes no time)
    G = _graph([(0, 2, 60.0), (0, 1, 120.0), (1, 2, 0.0)], 3)
    return G, routing_graph_from(G), _zones(G, {"A": 0, "B": 2})


@pytest.mark.parametrize("method", METHODS)
def test_two_routes_linear_by_hand(method):
    # beta = 1: t1 = 60 + 0.009 v1, t2 = 120 + 0.018 v2 (alpha 0.15, c = 1000);
    # equal times with v1 + v2 = 10000: v1 = 240 / 0.027 = 8888.89, both take 140 s
    _, R, z = _two_routes()
    cap = _cap(R, {(0, 2): 1000.0, (0, 1): 1000.0, (1, 2): 1e9})
    res = assign_equilibrium(
        R,
        _od({("A", "B"): 10000.0}),
        z,
        capacity_vph=cap,
        params=EquilibriumParams(beta=1.0, gap=1e-12, method=method),
    )
    links = res.links.set_index(["u", "v"])
    assert links.loc[(0, 2), "volume_vph"] == pytest.approx(240 / 0.027, abs=1e-6)
    assert links.loc[(0, 1), "volume_vph"] == pytest.approx(10000 - 240 / 0.027, abs=1e-6)
    assert links.loc[(0, 2), "congested_s"] == pytest.approx(140.0, abs=1e-6)
    assert links.loc[(0, 1), "congested_s"] == pytest.approx(140.0, abs=1e-6)
    assert res.od["congested_min"].iloc[0] == pytest.approx(140.0 / 60, abs=1e-6)
    assert res.od["free_flow_min"].iloc[0] == 1.0
    assert res.converged


@pytest.mark.parametrize("method", METHODS)
def test_two_routes_bpr_equal_times_on_used_routes(method):
    _, R, z = _two_routes()
    cap = _cap(R, {(0, 2): 1000.0, (0, 1): 1000.0, (1, 2): 1e9})
    res = assign_equilibrium(
        R,
        _od({("A", "B"): 2000.0}),
        z,
        capacity_vph=cap,
        params=EquilibriumParams(gap=1e-12, method=method),
    )

    def diff(v1: float) -> float:
        return 60 * (1 + 0.15 * (v1 / 1000) ** 4) - 120 * (1 + 0.15 * ((2000 - v1) / 1000) ** 4)

    v1 = brentq(diff, 0.0, 2000.0, xtol=1e-12)
    links = res.links.set_index(["u", "v"])
    assert links.loc[(0, 2), "volume_vph"] == pytest.approx(v1, abs=1e-6)
    assert links.loc[(0, 2), "congested_s"] == pytest.approx(
        links.loc[(0, 1), "congested_s"], abs=1e-6
    )


def test_unused_route_is_not_faster():
    # 1000 veh/h: route 1 takes 60 * 1.15 = 69 s < 120 s, so route 2 stays empty
    _, R, z = _two_routes()
    cap = _cap(R, {(0, 2): 1000.0, (0, 1): 1000.0, (1, 2): 1e9})
    res = assign_equilibrium(R, _od({("A", "B"): 1000.0}), z, capacity_vph=cap)
    links = res.links.set_index(["u", "v"])
    assert links.loc[(0, 1), "volume_vph"] == 0.0
    assert links.loc[(0, 2), "congested_s"] == pytest.approx(69.0)
    assert res.iterations == 0 and res.gaps == (0.0,)


# Braess (1968): O=0, A=1, B=2, D=3; t(OA) = 10 v, t(AD) = 50 + v, t(OB) = 50 + v,
# t(BD) = 10 v, t(AB) = 10 + v; 6 vehicles. BPR with beta = 1 is t0 + t0 * alpha * v / c,
# so a link a + b v has t0 = a and c = alpha * a / b (a = 1e-9 s stands for 0).
BRAESS = {(0, 1): (1e-9, 10.0), (1, 3): (50.0, 1.0), (0, 2): (50.0, 1.0), (2, 3): (1e-9, 10.0)}


def _braess(*, with_ab: bool) -> tuple[RoutingGraph, np.ndarray, gpd.GeoDataFrame]:
    links = dict(BRAESS)
    if with_ab:
        links[(1, 2)] = (10.0, 1.0)
    G = _graph([(a, b, t0) for (a, b), (t0, _) in links.items()], 4)
    R = routing_graph_from(G)
    cap = _cap(R, {k: 0.15 * t0 / b for k, (t0, b) in links.items()})
    return R, cap, _zones(G, {"O": 0, "D": 3})


@pytest.mark.parametrize("method", METHODS)
def test_braess_paradox(method):
    params = EquilibriumParams(beta=1.0, gap=1e-10, method=method)
    od = _od({("O", "D"): 6.0})
    R, cap, z = _braess(with_ab=False)
    before = assign_equilibrium(R, od, z, capacity_vph=cap, params=params)
    assert before.links["volume_vph"].to_numpy() == pytest.approx([3, 3, 3, 3], abs=1e-6)
    assert before.od["congested_min"].iloc[0] * 60 == pytest.approx(83.0, abs=1e-6)
    R, cap, z = _braess(with_ab=True)
    after = assign_equilibrium(R, od, z, capacity_vph=cap, params=params)
    links = after.links.set_index(["u", "v"])["volume_vph"]
    expected = {(0, 1): 4.0, (1, 3): 2.0, (0, 2): 2.0, (2, 3): 4.0, (1, 2): 2.0}
    for key, value in expected.items():
        assert links[key] == pytest.approx(value, abs=1e-6)
    # the new link makes everyone slower: 92 instead of 83
    assert after.od["congested_min"].iloc[0] * 60 == pytest.approx(92.0, abs=1e-6)


def _grid(k: int = 5) -> nx.MultiDiGraph:
    G = nx.MultiDiGraph(crs="epsg:4326")
    for i in range(k):
        for j in range(k):
            G.add_node(i * k + j, x=121.0 + 0.01 * j, y=28.6 + 0.01 * i)
    rng = np.random.default_rng(3)
    for i in range(k):
        for j in range(k):
            for di, dj in ((0, 1), (1, 0)):
                if i + di < k and j + dj < k:
                    a, b = i * k + j, (i + di) * k + j + dj
                    t = float(rng.uniform(50, 90))
                    hw = "primary" if i == 2 or j == 2 else "residential"
                    G.add_edge(a, b, travel_time=t, highway=hw)
                    G.add_edge(b, a, travel_time=t, highway=hw)
    return G


def _grid_demand(G: nx.MultiDiGraph) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    zone_nodes = {f"z{n}": n for n in (0, 4, 12, 20, 24, 7, 17)}
    z = _zones(G, zone_nodes)
    rng = np.random.default_rng(7)
    rows = [(o, d, float(rng.uniform(50, 450))) for o in zone_nodes for d in zone_nodes if o != d]
    return z, pd.DataFrame(rows, columns=["origin", "destination", "vehicles_vph"])


@pytest.mark.parametrize("method", METHODS)
def test_invariants_on_a_grid(method):
    G = _grid()
    R = routing_graph_from(G)
    z, od = _grid_demand(G)
    cap = link_capacities_vph(G, R)
    target = 1e-4 if method == "fw" else 1e-6  # plain Frank-Wolfe converges slowly
    res = assign_equilibrium(
        R, od, z, capacity_vph=cap, params=EquilibriumParams(gap=target, method=method)
    )
    assert res.converged and res.gap < target and res.gaps[-1] == res.gap
    assert len(res.gaps) == res.iterations + 1
    links = res.links
    assert (links["volume_vph"] >= 0).all()
    assert (links["congested_s"] >= links["free_flow_s"]).all()
    # flow conservation: at every node, inflow - outflow = attracted - produced
    inflow = links.groupby("v")["volume_vph"].sum().reindex(list(G.nodes), fill_value=0.0)
    outflow = links.groupby("u")["volume_vph"].sum().reindex(list(G.nodes), fill_value=0.0)
    node_of = {zid: int(zid[1:]) for zid in z.index}
    attracted = od.groupby(od["destination"].map(node_of))["vehicles_vph"].sum()
    produced = od.groupby(od["origin"].map(node_of))["vehicles_vph"].sum()
    balance = (attracted.reindex(list(G.nodes), fill_value=0.0)) - produced.reindex(
        list(G.nodes), fill_value=0.0
    )
    np.testing.assert_allclose(inflow - outflow, balance, atol=1e-6)
    # total demand delivered
    assert res.od["vehicles_vph"].sum() == pytest.approx(od["vehicles_vph"].sum())
    assert res.od["congested_min"].notna().all()
    # congested OD times are shortest paths at the final link times
    H = G.copy()
    t = links.set_index(["u", "v"])["congested_s"]
    for a, b, d in H.edges(data=True):
        d["travel_time"] = float(t[(a, b)])
    expected = nx.shortest_path_length(H, 0, 24, weight="travel_time") / 60
    got = res.od.set_index(["origin", "destination"]).loc[("z0", "z24"), "congested_min"]
    assert got == pytest.approx(expected, rel=1e-12)


def test_independent_of_od_order():
    G = _grid()
    R = routing_graph_from(G)
    z, od = _grid_demand(G)
    cap = link_capacities_vph(G, R)
    a = assign_equilibrium(R, od, z, capacity_vph=cap)
    b = assign_equilibrium(R, od.sample(frac=1.0, random_state=1), z, capacity_vph=cap)
    np.testing.assert_array_equal(a.links["volume_vph"], b.links["volume_vph"])
    assert a.gaps == b.gaps
    pd.testing.assert_frame_equal(a.od, b.od)


def test_methods_reach_the_same_link_volumes():
    G = _grid()
    R = routing_graph_from(G)
    z, od = _grid_demand(G)
    cap = link_capacities_vph(G, R)
    vols = [
        assign_equilibrium(
            R, od, z, capacity_vph=cap, params=EquilibriumParams(gap=1e-6, method=m)
        ).links["volume_vph"]
        for m in METHODS
    ]
    # link volumes at a user equilibrium are unique (strictly increasing link costs)
    for v in vols[1:]:
        np.testing.assert_allclose(v, vols[0], atol=2.0)


def test_zero_demand_gives_free_flow_times():
    G = _grid()
    R = routing_graph_from(G)
    z, od = _grid_demand(G)
    res = assign_equilibrium(
        R, od.assign(vehicles_vph=0.0), z, capacity_vph=link_capacities_vph(G, R)
    )
    np.testing.assert_array_equal(res.links["congested_s"], res.links["free_flow_s"])
    assert (res.links["volume_vph"] == 0).all()
    assert res.iterations == 0 and res.gap == 0.0
    np.testing.assert_array_equal(res.od["congested_min"], res.od["free_flow_min"])
    assert (res.od["free_flow_min"] > 0).all()


def test_unreachable_pairs_warn_and_load_nothing():
    G = _graph([(0, 1, 60.0)], 3)  # node 2 is an island
    R = routing_graph_from(G)
    z = _zones(G, {"A": 0, "B": 1, "C": 2})
    with pytest.warns(UrlinkWarning, match="1 OD pairs"):
        res = assign_equilibrium(
            R,
            _od({("A", "B"): 100.0, ("A", "C"): 50.0}),
            z,
            capacity_vph=np.array([1000.0]),
        )
    assert res.links["volume_vph"].tolist() == [100.0]
    od = res.od.set_index("destination")
    assert np.isnan(od.loc["C", "congested_min"]) and od.loc["B", "congested_min"] > 1.0


def test_max_iter_stops_before_convergence():
    G = _grid()
    R = routing_graph_from(G)
    z, od = _grid_demand(G)
    res = assign_equilibrium(
        R,
        od.assign(vehicles_vph=od["vehicles_vph"] * 5),
        z,
        capacity_vph=link_capacities_vph(G, R),
        params=EquilibriumParams(max_iter=2, gap=1e-9, method="fw"),
    )
    assert res.iterations == 2 and not res.converged and len(res.gaps) == 3


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"alpha": -1.0}, "alpha=-1.0"),
        ({"beta": 0.5}, "beta=0.5"),
        ({"gap": 0.0}, "gap=0.0"),
        ({"max_iter": 2.5}, "max_iter=2.5"),
        ({"method": "msa"}, "method='msa' is not valid"),
    ],
)
def test_params_are_checked(kwargs, match):
    with pytest.raises(InputError, match=match):
        EquilibriumParams(**kwargs)


def test_bad_inputs_are_named():
    G, R, z = _two_routes()
    cap = np.ones(3) * 1000.0
    with pytest.raises(InputError, match="capacity_vph has 2 values"):
        assign_equilibrium(R, _od({("A", "B"): 1.0}), z, capacity_vph=cap[:2])
    with pytest.raises(InputError, match="'vehicles_vph' column"):
        assign_equilibrium(
            R, _od({("A", "B"): 1.0}).rename(columns={"vehicles_vph": "v"}), z, capacity_vph=cap
        )
    with pytest.raises(InputError, match=r"zones \['X'\]"):
        assign_equilibrium(R, _od({("A", "X"): 1.0}), z, capacity_vph=cap)
    with pytest.raises(InputError, match="finite and >= 0"):
        assign_equilibrium(R, _od({("A", "B"): -1.0}), z, capacity_vph=cap)
    with pytest.raises(InputError, match="capacity 'primary'"):
        link_capacities_vph(G, R, capacities_vph={"primary": 0.0})


def test_capacities_from_the_table_and_the_proxy_link_class():
    G = _grid()
    R = routing_graph_from(G)
    cap = link_capacities_vph(G, R, capacities_vph={**DEFAULT_CAPACITY_VPH, "primary": 5000.0})
    coo = R.csr.tocoo()
    hw = {(a, b): d["highway"] for a, b, d in G.edges(data=True)}
    for a, b, c in zip(coo.row, coo.col, cap, strict=True):
        assert c == (5000.0 if hw[(int(a), int(b))] == "primary" else 1100.0)
    pts = gpd.GeoDataFrame(
        {"level": ["county", "township", "township"], "unit_type": [None, "镇", "乡"]},
        index=["c", "t1", "t2"],
        geometry=gpd.points_from_xy([121.0, 121.1, 121.05], [28.6, 28.6, 28.7]),
        crs="EPSG:4326",
    ).to_crs("EPSG:32651")
    P = streets_from_points(pts)
    RP = routing_graph_from(P)
    cap = link_capacities_vph(P, RP)
    cls = {(RP.index[a], RP.index[b]): d["link_class"] for a, b, d in P.edges(data=True)}
    coo = RP.csr.tocoo()
    for a, b, c in zip(coo.row, coo.col, cap, strict=True):
        assert c == DEFAULT_CAPACITY_VPH[cls[(int(a), int(b))]]


def test_vehicles_from_persons():
    f = pd.DataFrame({"origin": ["A"], "destination": ["B"], "volume": [3000.0]})
    out = vehicles_from_persons(f, car_share=0.3, occupancy=2.0, peak_hour_share=0.2)
    assert out["vehicles_vph"].tolist() == [pytest.approx(90.0)]
    with pytest.raises(InputError, match=r"occupancy=0\.5"):
        vehicles_from_persons(f, car_share=0.3, occupancy=0.5)
    with pytest.raises(InputError, match="car_share=2"):
        vehicles_from_persons(f, car_share=2)


@pytest.mark.skipif(not PYROSM_TEST.exists(), reason="needs the pyrosm test extract")
def test_real_osm_extract_reaches_the_gap():
    G = streets_from_file(PYROSM_TEST, network_type="drive")
    R = routing_graph_from(G)
    cap = link_capacities_vph(G, R)
    rng = np.random.default_rng(11)
    big = max(nx.strongly_connected_components(G), key=len)
    nodes = rng.choice(sorted(big), size=12, replace=False)
    z = _zones(G, {f"z{i}": n for i, n in enumerate(nodes)})
    od = pd.DataFrame(
        [(o, d, 150.0) for o in z.index for d in z.index if o != d],
        columns=["origin", "destination", "vehicles_vph"],
    )
    res = assign_equilibrium(R, od, z, capacity_vph=cap)
    assert res.converged and res.gap < 1e-4
    assert res.links["vc_ratio"].max() > 0.5  # the demand congests some links
    assert (res.od["congested_min"] >= res.od["free_flow_min"] - 1e-9).all()
