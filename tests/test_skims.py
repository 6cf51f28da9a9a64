from __future__ import annotations

import importlib.util
import os
import warnings

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import TEST_DATA
from urlink.errors import InputError, UrlinkWarning
from urlink.network.skims import (
    apply_edge_changes,
    routing_graph_from,
    snap_to_nodes,
    travel_time_matrix,
    update_travel_time_matrix,
)
from urlink.network.streets import streets_from_file

COMPILED = importlib.util.find_spec("urlink.network._dijkstra") is not None
# CI (a CI service's CI=true, or .ci/run's URLINK_CI=1) has a compiler: the kernel must be
# tested there. Elsewhere it is optional and its tests skip without it.
if not COMPILED and (os.environ.get("CI") or os.environ.get("URLINK_CI") == "1"):
    msg = "urlink.network._dijkstra was not built; CI must test the compiled engine"
    raise RuntimeError(msg)
NO_KERNEL = "the optional compiled kernel urlink.network._dijkstra is not built (no C compiler)"
ENGINES = [
    pytest.param("compiled", marks=pytest.mark.skipif(not COMPILED, reason=NO_KERNEL)),
    "scipy",
]

# Four nodes on a line of longitude 121.0, 121.01, ... at 28.6 N (about 977 m apart).
LON = [121.0, 121.01, 121.02, 121.03]


def _square() -> nx.MultiDiGraph:
    """a -> b 60 s, b -> c 120 s, a -> c 300 s, c -> a 30 s, d isolated."""
    G = nx.MultiDiGraph(crs="epsg:4326")
    for n, lon in zip("abcd", LON, strict=True):
        G.add_node(n, x=lon, y=28.6)
    G.add_edge("a", "b", travel_time=60.0)
    G.add_edge("b", "c", travel_time=120.0)
    G.add_edge("a", "c", travel_time=300.0)
    G.add_edge("a", "c", travel_time=400.0)  # parallel, slower: ignored
    G.add_edge("c", "a", travel_time=30.0)
    return G


def _zones(lons, lats=None, ids=None) -> gpd.GeoDataFrame:
    lats = lats or [28.6] * len(lons)
    ids = ids or [f"z{i}" for i in range(len(lons))]
    return gpd.GeoDataFrame(index=ids, crs="EPSG:4326", geometry=gpd.points_from_xy(lons, lats))


@pytest.mark.parametrize("engine", ENGINES)
def test_hand_computed_skim(engine):
    zones = _zones(LON[:3], ids=["A", "B", "C"])
    S = travel_time_matrix(_square(), zones, engine=engine)
    # A->B 1 min; A->C via B 3 min (not 5); B->A via C 2.5 min; C->B via A 1.5 min
    expected = np.array([[0.0, 1.0, 3.0], [2.5, 0.0, 2.0], [0.5, 1.5, 0.0]])
    np.testing.assert_allclose(S.to_numpy(), expected, atol=1e-12)
    assert S.index.tolist() == ["A", "B", "C"] and S.columns.tolist() == ["A", "B", "C"]


def test_access_leg_is_added_at_walking_speed():
    # a zone seat 0.009 deg north of node a: about 1,000 m -> 1000 / 75 m/min = 13.34 min
    zones = _zones([121.0, 121.01], [28.609, 28.6], ids=["A", "B"])
    R = routing_graph_from(_square())
    snap = snap_to_nodes(R, zones)
    assert snap.loc["A", "node"] == "a"
    assert snap.loc["A", "access_m"] == pytest.approx(998.0, rel=0.01)
    S = travel_time_matrix(R, zones)
    assert S.loc["A", "B"] == pytest.approx(1.0 + snap.loc["A", "access_m"] / 75.0)


@pytest.mark.parametrize("engine", ENGINES)
def test_unreachable_pairs_are_nan_with_a_warning(engine):
    zones = _zones(LON, ids=["A", "B", "C", "D"])
    with pytest.warns(UrlinkWarning, match="6 of 16 origin-destination pairs are unreachable"):
        S = travel_time_matrix(_square(), zones, engine=engine)
    assert S.loc[["A", "B", "C"], "D"].isna().all() and S.loc["D", ["A", "B", "C"]].isna().all()
    assert S.loc["D", "D"] == 0.0
    assert not np.isinf(S.to_numpy()).any()


@pytest.mark.parametrize("engine", ENGINES)
def test_cutoff_and_bus_wait(engine):
    zones = _zones(LON[:3], ids=["A", "B", "C"])
    with pytest.warns(UrlinkWarning, match=r"within 2.0 min"):
        S = travel_time_matrix(_square(), zones, cutoff=2.0, engine=engine)
    assert np.isnan(S.loc["A", "C"]) and S.loc["B", "C"] == 2.0
    G = _square()
    G.graph["wait_min"] = 10.0
    S = travel_time_matrix(G, zones)
    assert S.loc["A", "B"] == pytest.approx(11.0) and S.loc["A", "A"] == 0.0
    with pytest.raises(InputError, match="cutoff=-1"):
        travel_time_matrix(G, zones, cutoff=-1)
    with pytest.raises(InputError, match="workers=0"):
        travel_time_matrix(G, zones, workers=0)
    with pytest.raises(InputError, match="engine='gpu'"):
        travel_time_matrix(G, zones, engine="gpu")  # type: ignore[arg-type]


def test_graph_without_weights_is_an_error():
    G = _square()
    del G.edges["a", "b", 0]["travel_time"]
    with pytest.raises(InputError, match="1 edges have no valid 'travel_time'"):
        travel_time_matrix(G, _zones(LON[:2]))


@pytest.fixture(scope="module")
def oakland():
    return streets_from_file(TEST_DATA / "osm" / "West-Oakland.osm.bz2")


@pytest.fixture(scope="module")
def finland():
    return streets_from_file(TEST_DATA / "osm" / "pyrosm_test.osm.pbf")


def test_skim_equals_networkx_on_a_pbf_extract(finland):
    nodes = sorted(finland.nodes)[::7]
    zones = gpd.GeoDataFrame(
        index=[str(n) for n in nodes],
        crs="EPSG:4326",
        geometry=gpd.points_from_xy(
            [finland.nodes[n]["x"] for n in nodes], [finland.nodes[n]["y"] for n in nodes]
        ),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UrlinkWarning)
        S = travel_time_matrix(finland, zones, workers=2)
    checked = 0
    for n in nodes:
        ref = nx.single_source_dijkstra_path_length(finland, n, weight="travel_time")
        row = S.loc[str(n)]
        for m in nodes:
            if m in ref:
                assert abs(row[str(m)] - ref[m] / 60.0) < 1e-9
                checked += 1
            else:
                assert np.isnan(row[str(m)])
    assert checked > 100 and S.isna().to_numpy().any()  # several components: some NaN


@pytest.mark.parametrize("engine", ENGINES)
def test_skim_equals_networkx_on_a_real_extract(oakland, engine):
    nodes = list(oakland.nodes)
    zones = gpd.GeoDataFrame(
        index=[str(n) for n in nodes],
        crs="EPSG:4326",
        geometry=gpd.points_from_xy(
            [oakland.nodes[n]["x"] for n in nodes], [oakland.nodes[n]["y"] for n in nodes]
        ),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UrlinkWarning)
        S = travel_time_matrix(oakland, zones, engine=engine)
        S2 = travel_time_matrix(oakland, zones, workers=2, engine=engine)
    np.testing.assert_array_equal(S.to_numpy(), S2.to_numpy())
    n_checked = 0
    for n in nodes:
        ref = nx.single_source_dijkstra_path_length(oakland, n, weight="travel_time")
        for m in nodes:
            got = S.loc[str(n), str(m)]
            if m in ref:
                assert abs(got - ref[m] / 60.0) < 1e-9
                n_checked += 1
            else:
                assert np.isnan(got)
    assert n_checked > len(nodes)


def _random_graph(seed: int, n: int, m: int) -> nx.MultiDiGraph:
    rng = np.random.default_rng(seed)
    G = nx.MultiDiGraph(crs="epsg:4326")
    for i in range(n):
        G.add_node(i, x=121.0 + rng.random() * 0.2, y=28.5 + rng.random() * 0.2)
    for _ in range(m):
        a, b = (int(x) for x in rng.integers(0, n, 2))
        if a != b:
            G.add_edge(a, b, travel_time=float(rng.integers(1, 600)))
    return G


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    engine=st.sampled_from(["compiled", "scipy"] if COMPILED else ["scipy"]),
    seed=st.integers(0, 10_000),
    n=st.integers(3, 25),
    density=st.floats(0.5, 3.0),
    edits=st.lists(
        st.tuples(
            st.integers(0, 24),
            st.integers(0, 24),
            st.integers(0, 700),
            st.sampled_from(["set", "remove"]),
        ),
        min_size=1,
        max_size=4,
    ),
)
def test_incremental_update_equals_full_recompute(engine, seed, n, density, edits):
    G = _random_graph(seed, n, int(density * n))
    zones = _zones([G.nodes[i]["x"] for i in range(n)], [G.nodes[i]["y"] for i in range(n)])
    R = routing_graph_from(G)
    changes = [(a % n, b % n, None if op == "remove" else float(w)) for a, b, w, op in edits]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UrlinkWarning)
        base = travel_time_matrix(R, zones, engine=engine)
        updated = update_travel_time_matrix(base, R, changes, origins=zones, engine=engine)
        full = travel_time_matrix(apply_edge_changes(R, changes), zones, engine="scipy")
    np.testing.assert_allclose(updated.to_numpy(), full.to_numpy(), rtol=0, atol=1e-9)


def test_incremental_update_adds_a_shortcut_by_hand():
    zones = _zones(LON[:3], ids=["A", "B", "C"])
    R = routing_graph_from(_square())
    base = travel_time_matrix(R, zones)
    new = update_travel_time_matrix(base, R, [("b", "a", 6.0)], origins=zones)
    assert new.loc["B", "A"] == pytest.approx(0.1)  # was 2.5 via C
    assert new.loc["C", "A"] == pytest.approx(0.5)
    assert base.loc["B", "A"] == 2.5  # the input is not modified
    with pytest.raises(InputError, match="node 'zz' is not in the street graph"):
        update_travel_time_matrix(base, R, [("a", "zz", 1.0)], origins=zones)


@pytest.mark.skipif(not COMPILED, reason=NO_KERNEL)
def test_compiled_and_scipy_engines_agree_with_cutoff_and_subset_targets(oakland):
    nodes = list(oakland.nodes)
    zones = gpd.GeoDataFrame(
        index=[str(n) for n in nodes],
        crs="EPSG:4326",
        geometry=gpd.points_from_xy(
            [oakland.nodes[n]["x"] for n in nodes], [oakland.nodes[n]["y"] for n in nodes]
        ),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UrlinkWarning)
        for cutoff in (None, 1.5):
            a = travel_time_matrix(
                oakland,
                zones.iloc[:7],
                zones.iloc[3:],
                cutoff=cutoff,
                engine="compiled",
                workers=2,
            )
            b = travel_time_matrix(
                oakland, zones.iloc[:7], zones.iloc[3:], cutoff=cutoff, engine="scipy"
            )
            np.testing.assert_allclose(a.to_numpy(), b.to_numpy(), rtol=0, atol=1e-9)
            assert np.isnan(a.to_numpy()).sum() == np.isnan(b.to_numpy()).sum()


def test_snapped_seats_are_kept_per_nodes_and_seats():
    """Seats snapped again on an edited graph (the same nodes) give the same table; moved
    seats are snapped anew, not taken from what was kept."""
    R = routing_graph_from(_square())
    zones = _zones(LON[:3])
    zones["seat_lon"], zones["seat_lat"] = [121.0004, 121.0098, 121.02], 28.6
    first = snap_to_nodes(R, zones)
    edited = apply_edge_changes(R, [("a", "b", 30.0)])
    again = snap_to_nodes(edited, zones.copy())
    assert again is not first
    assert again.equals(first)
    assert first["node"].tolist() == ["a", "b", "c"]
    again.loc["z0", "node"] = "x"  # the caller's copy: what was kept stays as it was
    assert snap_to_nodes(R, zones)["node"].tolist() == ["a", "b", "c"]
    moved = zones.copy()
    moved["seat_lon"] = [121.03, 121.0098, 121.02]
    assert snap_to_nodes(edited, moved)["node"].tolist() == ["d", "b", "c"]
    slower = snap_to_nodes(R, zones, access_speed_kph=2.25)
    assert np.allclose(slower["access_min"], 2 * first["access_min"])
