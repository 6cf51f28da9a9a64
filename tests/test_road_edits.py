"""Road strategies on a real OSM network (Liechtenstein): ways, paths, drawn lines."""

from __future__ import annotations

import itertools
import json
from dataclasses import replace
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from pyproj import Geod
from scipy.sparse.csgraph import dijkstra

from urlink.errors import InputError
from urlink.model.state import State, Strategy
from urlink.network.edits import fastest_path_links, link_ways_from, links_of_ways, snap_points
from urlink.network.skims import (
    distance_matrix_km,
    routing_graph_from,
    snap_to_nodes,
    travel_time_and_distance_matrix,
    travel_time_matrix,
)
from urlink.network.streets import DEFAULT_SPEEDS_KPH, streets_from_file, streets_from_points
from urlink.params import params_from_table
from urlink.scenario.strategies import AddLinkParams, apply_strategy

LIECHTENSTEIN = Path("/work/shared/data/osm_bench/liechtenstein.osm.pbf")
pytestmark = [
    pytest.mark.skipif(not LIECHTENSTEIN.exists(), reason="needs the Liechtenstein extract"),
    pytest.mark.filterwarnings("ignore::urlink.errors.UrlinkWarning"),  # unreachable pairs
]

# town centres (WGS84): the zones of the tests
TOWNS = {
    "vaduz": (9.5215, 47.1410),
    "schaan": (9.5095, 47.1650),
    "triesen": (9.5280, 47.1070),
    "balzers": (9.5020, 47.0665),
    "eschen": (9.5225, 47.2105),
    "triesenberg": (9.5430, 47.1180),
}
CUTOFF = None
ACCESS = 4.5


def _zones() -> gpd.GeoDataFrame:
    lon, lat = zip(*TOWNS.values(), strict=True)
    return gpd.GeoDataFrame(
        {"seat_lon": lon, "seat_lat": lat},
        index=pd.Index(list(TOWNS), name="zone_id"),
        geometry=gpd.points_from_xy(lon, lat),
        crs="EPSG:4326",
    )


def _state(G, zones: gpd.GeoDataFrame) -> State:
    routing = routing_graph_from(G, weight="travel_time")
    routing_length = routing_graph_from(G, weight="length")
    return State(
        zones=zones,
        focus="li",
        routing=routing,
        routing_length=routing_length,
        skim=travel_time_matrix(routing, zones, cutoff=CUTOFF, access_speed_kph=ACCESS),
        distance_km=distance_matrix_km(routing_length, zones),
        services=pd.DataFrame({"zone_id": pd.Series(dtype=str), "service": []}),
        access_speed_kph=ACCESS,
        cutoff_min=CUTOFF,
        link_ways=link_ways_from(G),
    )


@pytest.fixture(scope="module")
def streets():
    return streets_from_file(LIECHTENSTEIN)


@pytest.fixture(scope="module")
def osm(streets) -> State:
    return _state(streets, _zones())


@pytest.fixture(scope="module")
def proxy() -> State:
    return _state(streets_from_points(_zones()), _zones())


def _apply(state: State, name: str, kind: str, **params) -> State:
    return apply_strategy(state, Strategy(name, kind, params=params))


def _links(R) -> dict[tuple[int, int], float]:
    coo = R.csr.tocoo()
    return {(int(i), int(j)): float(w) for i, j, w in zip(coo.row, coo.col, coo.data, strict=True)}


def _assert_skim_is_full_recomputation(state: State) -> None:
    full = travel_time_matrix(
        state.routing, state.zones, cutoff=state.cutoff_min, access_speed_kph=ACCESS
    )
    pd.testing.assert_frame_equal(state.skim, full, check_names=False, rtol=0, atol=1e-9)
    dist = distance_matrix_km(state.routing_length, state.zones)
    pd.testing.assert_frame_equal(state.distance_km, dist, check_names=False, atol=1e-9)


def _primary_ways(streets, n: int) -> list[int]:
    """The ``n`` primary ways with the most edges (single-way edges only)."""
    counts: dict[int, int] = {}
    for _, _, d in streets.edges(data=True):
        if d.get("highway") == "primary" and isinstance(d.get("osmid"), int):
            counts[d["osmid"]] = counts.get(d["osmid"], 0) + 1
    return sorted(counts, key=lambda w: (-counts[w], w))[:n]


# ---------------------------------------------------------------------------------------------
# upgrade_road by way ids


def test_link_ways_cover_every_edge(streets, osm):
    table = osm.link_ways
    assert table is not None
    assert list(table.columns) == ["u", "v", "osmid"]
    assert table["osmid"].dtype == np.int64
    edges = {(u, v) for u, v, d in streets.edges(data=True) if d.get("osmid") is not None}
    assert set(zip(table["u"], table["v"], strict=True)) == edges


def test_upgrade_by_way_ids_changes_exactly_those_links(streets, osm):
    ways = _primary_ways(streets, 2)
    factor = 1.5
    new = _apply(osm, "fast-ways", "upgrade_road", ways=ways, speed_factor=factor)
    R = osm.routing
    # the links of those ways, straight from the street graph
    expected = set()
    for u, v, d in streets.edges(data=True):
        ids = d.get("osmid")
        ids = ids if isinstance(ids, list) else [ids]
        if set(ids) & set(ways):
            expected.add((R.index[u], R.index[v]))
    assert len(expected) >= 4
    before, after = _links(R), _links(new.routing)
    assert before.keys() == after.keys()
    for link, w in before.items():
        if link in expected:
            assert after[link] == pytest.approx(w / factor, rel=1e-12)
        else:
            assert after[link] == w
    assert _links(new.routing_length) == _links(osm.routing_length)
    assert (new.skim.fillna(np.inf) <= osm.skim.fillna(np.inf) + 1e-12).all().all()
    _assert_skim_is_full_recomputation(new)


def test_links_of_ways_in_both_directions(streets, osm):
    (way,) = _primary_ways(streets, 1)
    links = links_of_ways(osm.link_ways, [way])
    two_way = [(u, v) for u, v in links if (v, u) in links]
    oneway = all(
        bool(d.get("oneway")) for u, v, d in streets.edges(data=True) if d.get("osmid") == way
    )
    assert oneway or len(two_way) == len(links)


# ---------------------------------------------------------------------------------------------
# upgrade_road by a path and by zone pairs


def test_upgrade_by_path_routes_the_fastest_path(osm):
    path = [list(TOWNS["vaduz"]), list(TOWNS["schaan"])]
    new = _apply(osm, "fast-path", "upgrade_road", path=path, speed_factor=2.0)
    R = osm.routing
    ends = snap_points(R, path)["node"].tolist()
    links = fastest_path_links(R, ends)
    assert links[0][0] == ends[0]
    assert links[-1][1] == ends[1]
    assert all(a[1] == b[0] for a, b in itertools.pairwise(links))
    changed = {k for k, w in _links(new.routing).items() if w != _links(R)[k]}
    assert changed == {(R.index[u], R.index[v]) for u, v in links}
    # the whole path is twice as fast: the network time between its ends halves
    iu, iv = R.index[ends[0]], R.index[ends[1]]
    old = dijkstra(R.csr, indices=iu)[iv]
    assert dijkstra(new.routing.csr, indices=iu)[iv] == pytest.approx(old / 2, rel=1e-12)
    _assert_skim_is_full_recomputation(new)


def test_upgrade_by_zone_pair_on_osm_routes_between_seats(osm):
    new = _apply(osm, "fast-pair", "upgrade_road", links=[["vaduz", "schaan"]], speed_factor=1.25)
    R = osm.routing
    seats = snap_to_nodes(R, osm.zones)["node"]
    there = fastest_path_links(R, [seats["vaduz"], seats["schaan"]])
    back = fastest_path_links(R, [seats["schaan"], seats["vaduz"]])
    changed = {k for k, w in _links(new.routing).items() if w != _links(R)[k]}
    assert changed == {(R.index[u], R.index[v]) for u, v in there + back}
    assert new.skim.loc["vaduz", "schaan"] < osm.skim.loc["vaduz", "schaan"]
    assert new.skim.loc["schaan", "vaduz"] < osm.skim.loc["schaan", "vaduz"]
    _assert_skim_is_full_recomputation(new)


def test_same_zone_pair_strategy_on_the_proxy_network(proxy):
    R = proxy.routing
    seats = snap_to_nodes(R, proxy.zones)["node"]
    u, v = seats["vaduz"], seats["schaan"]
    assert R.csr[R.index[u], R.index[v]] > 0  # neighbours on the proxy network
    new = _apply(proxy, "fast-pair", "upgrade_road", links=[["vaduz", "schaan"]])
    changed = {k for k, w in _links(new.routing).items() if w != _links(R)[k]}
    assert changed == {(R.index[u], R.index[v]), (R.index[v], R.index[u])}
    _assert_skim_is_full_recomputation(new)


def test_ways_on_the_proxy_network_say_how_to_name_the_road(proxy):
    with pytest.raises(
        InputError, match=r"'w' \(upgrade_road\): ways needs an OpenStreetMap.*links"
    ):
        _apply(proxy, "w", "upgrade_road", ways=[4781369])


# ---------------------------------------------------------------------------------------------
# add_link


def _node_lonlat(streets, node) -> list[float]:
    return [streets.nodes[node]["x"], streets.nodes[node]["y"]]


def _bypass_ends(streets, osm) -> tuple[int, int]:
    """Two nodes about 3 km apart (Vaduz and Triesen seats), not joined by a link."""
    seats = snap_to_nodes(osm.routing, osm.zones)["node"]
    return seats["vaduz"], seats["triesen"]


@pytest.mark.parametrize("inline", [True, False])
def test_add_link_drawn_line(streets, osm, tmp_path, inline):
    a, b = _bypass_ends(streets, osm)
    la, lb = _node_lonlat(streets, a), _node_lonlat(streets, b)
    bend = [(la[0] + lb[0]) / 2 + 0.004, (la[1] + lb[1]) / 2]
    # the drawn ends lie a few metres off the nodes
    coords = [[la[0] + 2e-5, la[1]], bend, [lb[0], lb[1] - 2e-5]]
    if inline:
        line = coords
    else:
        path = tmp_path / "bypass.geojson"
        feature = {"type": "Feature", "properties": {}, "geometry": {"type": "LineString"}}
        feature["geometry"]["coordinates"] = coords
        path.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
        line = str(path)
    new = _apply(osm, "bypass", "add_link", line=line, highway="motorway")
    R = osm.routing
    ia, ib = R.index[a], R.index[b]
    assert R.csr[ia, ib] == 0
    # length = the drawn line's length (geodesic, to 0.1 %), both directions
    lon, lat = zip(*coords, strict=True)
    geodesic = Geod(ellps="WGS84").line_length(lon, lat)
    for i, j in ((ia, ib), (ib, ia)):
        length = new.routing_length.csr[i, j]
        assert length == pytest.approx(geodesic, rel=1e-3)
        assert new.routing.csr[i, j] == pytest.approx(
            length / (DEFAULT_SPEEDS_KPH["motorway"] / 3.6), rel=1e-12
        )
    # nothing else changed
    before, after = _links(R), _links(new.routing)
    assert after.keys() - before.keys() == {(ia, ib), (ib, ia)}
    assert all(after[k] == w for k, w in before.items())
    # the new road is the fastest way between its ends
    assert fastest_path_links(new.routing, [a, b]) == [(a, b)]
    assert fastest_path_links(new.routing, [b, a]) == [(b, a)]
    assert new.skim.loc["vaduz", "triesen"] < osm.skim.loc["vaduz", "triesen"]
    _assert_skim_is_full_recomputation(new)


def test_add_link_between_points(streets, osm):
    a, b = _bypass_ends(streets, osm)
    new = _apply(
        osm,
        "pts",
        "add_link",
        from_point=_node_lonlat(streets, a),
        to_point=_node_lonlat(streets, b),
        speed_kph=90,
        circuity=1.1,
    )
    R = osm.routing
    ia, ib = R.index[a], R.index[b]
    straight = float(np.hypot(*(R.xy[ia] - R.xy[ib])))
    assert new.routing_length.csr[ia, ib] == pytest.approx(straight * 1.1, rel=1e-12)
    assert new.routing.csr[ib, ia] == pytest.approx(straight * 1.1 / 25.0, rel=1e-12)
    _assert_skim_is_full_recomputation(new)


def test_add_link_by_zones_still_works_on_osm(osm):
    new = _apply(osm, "zones", "add_link", **{"from": "vaduz", "to": "triesen"})
    _assert_skim_is_full_recomputation(new)


def test_fastest_path_distances_kept_by_road_strategies(streets, osm):
    """``[network] distance = "fastest"``: road edits update the times and the distances of
    their fastest paths together, equal to a recomputation on the changed network (#20)."""
    skim, km = travel_time_and_distance_matrix(
        osm.routing, osm.routing_length, osm.zones, access_speed_kph=ACCESS
    )
    pd.testing.assert_frame_equal(skim, osm.skim, check_exact=True)
    fast, short = km.to_numpy(), osm.distance_km.to_numpy()
    assert (np.isnan(fast) == np.isnan(short)).all()
    ok = np.isfinite(fast)
    assert (fast[ok] >= short[ok] - 1e-12).all()
    assert (fast[ok] > short[ok] + 0.05).any()  # the fastest path is not the shortest
    fastest = replace(osm, distance_km=km, distance_path="fastest")
    a, b = _bypass_ends(streets, osm)
    edits = [
        (
            "pts",
            "add_link",
            {
                "from_point": _node_lonlat(streets, a),
                "to_point": _node_lonlat(streets, b),
                "speed_kph": 90,
            },
        ),
        ("up", "upgrade_road", {"links": [["vaduz", "schaan"]], "speed_factor": 1.5}),
    ]
    for name, kind, params in edits:
        new = _apply(fastest, name, kind, **params)
        want = travel_time_and_distance_matrix(
            new.routing, new.routing_length, new.zones, access_speed_kph=ACCESS
        )
        pd.testing.assert_frame_equal(new.skim, want[0], check_names=False, atol=1e-9)
        pd.testing.assert_frame_equal(new.distance_km, want[1], check_names=False, atol=1e-9)
        assert not new.skim.equals(osm.skim)


# ---------------------------------------------------------------------------------------------
# bad inputs


def test_unknown_way_id(osm):
    with pytest.raises(InputError, match=r"strategy 'bad' \(upgrade_road\): ways \[1\]"):
        _apply(osm, "bad", "upgrade_road", ways=[4781369, 1])


def test_two_forms_given(osm):
    with pytest.raises(InputError, match=r"'bad'.*exactly one of links.*got links and ways"):
        _apply(osm, "bad", "upgrade_road", links=[["vaduz", "schaan"]], ways=[4781369])
    with pytest.raises(InputError, match=r"'bad'.*exactly one of.*got from/to and line"):
        _apply(
            osm,
            "bad",
            "add_link",
            line=[[9.52, 47.14], [9.53, 47.15]],
            to="schaan",
            **{"from": "vaduz"},
        )
    with pytest.raises(InputError, match=r"'bad'.*exactly one of links.*got none"):
        _apply(osm, "bad", "upgrade_road", speed_factor=1.5)


def test_line_end_too_far_from_the_network(osm):
    far = [[9.52, 47.14], [9.70, 47.14]]  # 13 km east, in Austria beyond the extract's roads
    with pytest.raises(InputError, match=r"strategy 'bad' \(add_link\): line: .* m from the"):
        _apply(osm, "bad", "add_link", line=far)
    with pytest.raises(
        InputError, match=r"'bad' \(add_link\): from_point/to_point: .*at most 500"
    ):
        _apply(
            osm, "bad", "add_link", from_point=[9.52, 47.14], to_point=[9.6, 47.3], max_snap_m=500
        )
    with pytest.raises(InputError, match=r"'bad' \(upgrade_road\): path: "):
        _apply(osm, "bad", "upgrade_road", path=[[9.52, 47.14], [9.70, 47.14]])


def test_bad_line_values(osm, tmp_path):
    with pytest.raises(InputError, match=r"'bad' \(add_link\): line = .*does not exist"):
        _apply(osm, "bad", "add_link", line=str(tmp_path / "nope.geojson"))
    with pytest.raises(InputError, match=r"line.*WGS84"):
        _apply(osm, "bad", "add_link", line=[[47.14, 9.52], [47.15, 200.0]])
    with pytest.raises(InputError, match=r"highway = 'footpath'"):
        _apply(osm, "bad", "add_link", line=[[9.52, 47.14], [9.53, 47.15]], highway="footpath")


def test_line_file_resolves_against_the_scenario_folder(tmp_path):
    p = params_from_table(AddLinkParams, {"line": "roads/bypass.geojson"}, base=tmp_path)
    assert p.line == (tmp_path / "roads" / "bypass.geojson").resolve()
    p = params_from_table(AddLinkParams, {"line": [[9.52, 47.14], [9.53, 47.15]]})
    assert p.line == ((9.52, 47.14), (9.53, 47.15))
    assert p.speed == DEFAULT_SPEEDS_KPH["primary"]
