from __future__ import annotations

import bz2

import networkx as nx
import numpy as np
import pytest
from shapely import box

from tests.conftest import TEST_DATA
from urlink.errors import InputError
from urlink.network.streets import (
    DEFAULT_SPEEDS_KPH,
    SpeedParams,
    add_travel_times,
    great_circle_m,
    load_streets_cache,
    report_components,
    save_streets_cache,
    streets_from_file,
    streets_from_points,
    streets_from_polygon,
    way_allowed,
)

OAKLAND = TEST_DATA / "osm" / "West-Oakland.osm.bz2"

OSM_HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n'


def _osm_xml(ways: list[dict[str, str]]) -> str:
    nodes = "".join(
        f'<node id="{i}" lat="{48.0 + i * 0.001}" lon="{10.0 + i * 0.001}" version="1"/>'
        for i in range(1, 4)
    )
    body = ""
    for k, tags in enumerate(ways, start=100):
        tag_xml = "".join(f'<tag k="{t}" v="{v}"/>' for t, v in tags.items())
        body += f'<way id="{k}" version="1"><nd ref="1"/><nd ref="2"/><nd ref="3"/>{tag_xml}</way>'
    return f'{OSM_HEAD}<osm version="0.6">{nodes}{body}</osm>'


@pytest.mark.parametrize(
    ("tags", "network_type", "expected"),
    [
        ({"highway": "primary"}, "drive", True),
        ({"highway": "service"}, "drive", False),
        ({"highway": "service"}, "drive_service", True),
        ({"highway": "service", "service": "parking_aisle"}, "drive_service", False),
        ({"highway": "footway"}, "walk", True),
        ({"highway": "motorway"}, "walk", False),
        ({"highway": "residential", "motor_vehicle": "no"}, "drive", False),
        ({"highway": "residential", "area": "yes"}, "all", False),
        ({"building": "yes"}, "all", False),
    ],
)
def test_way_allowed_mirrors_osmnx_filters(tags, network_type, expected):
    assert way_allowed(tags, network_type) is expected


def _line_graph(**edge_attrs):
    G = nx.MultiDiGraph(crs="epsg:4326")
    G.add_node(1, x=121.0, y=28.6)
    G.add_node(2, x=121.01, y=28.6)
    G.add_edge(1, 2, length=1000.0, **edge_attrs)
    return G


def test_travel_times_by_hand():
    # primary: table speed 60 km/h -> 1 km in 60 s
    G = add_travel_times(_line_graph(highway="primary"))
    assert G.edges[1, 2, 0]["speed_kph"] == 60.0
    assert G.edges[1, 2, 0]["travel_time"] == pytest.approx(60.0)
    # maxspeed tag wins, mph converted: 30 mph = 48.28 km/h -> 74.56 s
    G = add_travel_times(_line_graph(highway="primary", maxspeed="30 mph"))
    assert G.edges[1, 2, 0]["travel_time"] == pytest.approx(1000 / (30 * 1.609344 / 3.6))
    # unknown class -> fallback 30 km/h -> 120 s
    G = add_travel_times(_line_graph(highway="bus_stop_road"))
    assert G.edges[1, 2, 0]["travel_time"] == pytest.approx(120.0)
    # walking 4.5 km/h -> 800 s; bus: 60 * 0.6 = 36 km/h -> 100 s and wait = headway / 2
    G = add_travel_times(_line_graph(highway="primary"), mode="walk")
    assert G.edges[1, 2, 0]["travel_time"] == pytest.approx(800.0)
    G = add_travel_times(
        _line_graph(highway="primary"), mode="bus", params=SpeedParams(bus_headway_min=30.0)
    )
    assert G.edges[1, 2, 0]["travel_time"] == pytest.approx(100.0)
    assert G.graph["wait_min"] == 15.0


def test_speed_params_are_checked():
    with pytest.raises(InputError, match=r"speeds_kph\['primary'\] = -5"):
        SpeedParams(speeds_kph={"primary": -5})
    with pytest.raises(InputError, match="bus_speed_factor"):
        SpeedParams(bus_speed_factor=1.5)
    with pytest.raises(InputError, match=r"mode='boat'"):
        add_travel_times(_line_graph(highway="primary"), mode="boat")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="no valid 'length'"):
        add_travel_times(nx.MultiDiGraph([(1, 2, {"highway": "primary"})]))
    assert all(v > 0 for v in DEFAULT_SPEEDS_KPH.values())


def test_oakland_xml_keeps_all_components():
    G = streets_from_file(OAKLAND)
    assert G.graph["network_source"] == "osm:West-Oakland.osm.bz2"
    assert G.graph["components"] == nx.number_weakly_connected_components(G) == 2
    assert all(d["travel_time"] > 0 for *_, d in G.edges(data=True))
    assert all(d["network_source"] == "osm:West-Oakland.osm.bz2" for *_, d in G.edges(data=True))
    walk = streets_from_file(OAKLAND, network_type="walk", mode="walk")
    assert walk.number_of_edges() > G.number_of_edges()
    # walking graphs are two-way everywhere
    assert all(walk.has_edge(v, u) for u, v in walk.edges())


def test_xml_with_doctype_or_entities_is_refused(tmp_path):
    xml = _osm_xml([{"highway": "primary"}])
    evil = xml.replace(OSM_HEAD, OSM_HEAD + '<!DOCTYPE osm [<!ENTITY a "aaaa">]>\n')
    path = tmp_path / "evil.osm"
    path.write_text(evil)
    with pytest.raises(InputError, match=r"evil.osm.*DOCTYPE"):
        streets_from_file(path)
    bz = tmp_path / "evil.osm.bz2"
    bz.write_bytes(bz2.compress(evil.encode()))
    with pytest.raises(InputError, match="DOCTYPE"):
        streets_from_file(bz)


def test_osm_without_drivable_ways(tmp_path):
    path = tmp_path / "paths.osm"
    path.write_text(_osm_xml([{"highway": "footway"}, {"highway": "steps"}]))
    with pytest.raises(InputError, match=r"paths.osm: no ways of network_type='drive'"):
        streets_from_file(path)
    G = streets_from_file(path, network_type="walk", mode="walk")
    assert G.number_of_edges() > 0


def test_bad_osm_files(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        streets_from_file(tmp_path / "none.osm")
    (tmp_path / "x.shp").write_text("x")
    with pytest.raises(InputError, match="unknown format"):
        streets_from_file(tmp_path / "x.shp")
    (tmp_path / "notosm.osm").write_text("<html></html>")
    with pytest.raises(InputError, match="not OSM XML"):
        streets_from_file(tmp_path / "notosm.osm")
    with pytest.raises(InputError, match="network_type='bike'"):
        streets_from_file(OAKLAND, network_type="bike")  # type: ignore[arg-type]


def test_proxy_network_is_connected_and_not_shorter_than_great_circle(huangyan_zones):
    zones, _ = huangyan_zones
    G = streets_from_points(zones)
    assert G.graph["network_source"] == "proxy"
    assert set(G.nodes) == set(zones.index)
    assert nx.is_strongly_connected(G)
    for u, v, d in G.edges(data=True):
        gc = great_circle_m(
            np.array([G.nodes[u]["x"]]),
            np.array([G.nodes[u]["y"]]),
            np.array([G.nodes[v]["x"]]),
            np.array([G.nodes[v]["y"]]),
        )[0]
        assert d["length"] >= gc
        assert d["length"] == pytest.approx(1.3 * gc)
        assert d["network_source"] == "proxy"
        assert G.has_edge(v, u)
    # Gabriel is a subgraph of Delaunay
    D = streets_from_points(zones, method="delaunay")
    assert set(G.edges()) <= set(D.edges())
    assert G.number_of_edges() < D.number_of_edges()
    # link classes follow the zone levels
    classes = {d["link_class"] for *_, d in G.edges(data=True)}
    assert classes <= {"trunk", "primary", "secondary", "tertiary"}
    assert G.edges["331002", "331004", 0]["link_class"] == "trunk"  # Jiaojiang-Luqiao


def test_proxy_network_rejects_bad_options(huangyan_zones):
    zones, _ = huangyan_zones
    with pytest.raises(InputError, match=r"circuity=0\.9"):
        streets_from_points(zones, circuity=0.9)
    with pytest.raises(InputError, match="at least 3 points"):
        streets_from_points(zones.iloc[:2])
    with pytest.raises(InputError, match="method='mst'"):
        streets_from_points(zones, method="mst")  # type: ignore[arg-type]


def test_report_components_finds_one_way_traps():
    G = nx.MultiDiGraph([(1, 2), (2, 1), (2, 3), (3, 2), (3, 4), (9, 8)])
    rep = report_components(G)
    assert rep["n_nodes"].tolist() == [3, 1, 1, 1]
    assert rep["kind"].tolist()[0] == "main"
    kinds = dict(zip(rep["example_node"], rep["kind"], strict=True))
    assert kinds[4] == "one-way trap"
    assert kinds[8] == kinds[9] == "disconnected"


def test_polygon_cache_works_offline(tmp_path):
    area = box(-122.30, 37.80, -122.28, 37.82)
    with pytest.raises(InputError, match="not in the cache"):
        streets_from_polygon(area, cache_dir=tmp_path)
    # fill the cache the way a download would, then load offline
    import urlink.network.streets as net

    G = streets_from_file(OAKLAND)
    key = net._polygon_key(area, "drive")
    save_streets_cache(G, tmp_path / f"{key}.json.gz")
    H = streets_from_polygon(area, cache_dir=tmp_path)
    assert H.graph["network_source"] == "osm-download"
    assert sorted(H.nodes) == sorted(G.nodes)
    assert H.number_of_edges() == G.number_of_edges()
    (tmp_path / "bad.json.gz").write_bytes(b"garbage")
    with pytest.raises(InputError, match="damaged"):
        load_streets_cache(tmp_path / "bad.json.gz")


PBF = TEST_DATA / "osm" / "pyrosm_test.osm.pbf"


def test_pbf_reader_matches_the_osmnx_xml_route(tmp_path):
    import osmium

    pbf = tmp_path / "oakland.osm.pbf"
    writer = osmium.SimpleWriter(str(pbf))
    for obj in osmium.FileProcessor(str(OAKLAND)):
        writer.add(obj)
    writer.close()
    for network_type in ("drive", "walk"):
        a = streets_from_file(pbf, network_type=network_type)
        b = streets_from_file(OAKLAND, network_type=network_type)
        assert a.graph["network_source"] == "osm:oakland.osm.pbf"
        assert sorted(a.nodes) == sorted(b.nodes)
        assert a.number_of_edges() == b.number_of_edges() > 0
        len_a = sum(d["length"] for *_, d in a.edges(data=True))
        len_b = sum(d["length"] for *_, d in b.edges(data=True))
        assert len_a == pytest.approx(len_b, rel=1e-9)

        def signature(G):
            out = []
            for u, v, d in G.edges(data=True):
                osmid = d["osmid"] if isinstance(d["osmid"], list) else [d["osmid"]]
                flags = tuple(
                    tuple(sorted(map(str, x))) if isinstance(x, list) else (str(x),)
                    for x in (d["reversed"], d["oneway"], d["highway"])
                )
                out.append((u, v, round(d["length"], 6), tuple(sorted(osmid)), flags))
            return sorted(out)

        assert signature(a) == signature(b)
        # every component is kept (the extract has several disconnected parts)
        assert a.graph["components"] == nx.number_weakly_connected_components(b) > 1


def _write_pbf(path, nodes, ways):
    import osmium

    writer = osmium.SimpleWriter(str(path))
    for i in nodes:
        writer.add_node(osmium.osm.mutable.Node(id=i, location=(10.0 + i * 1e-3, 48.0), version=1))
    for wid, refs, tags in ways:
        writer.add_way(osmium.osm.mutable.Way(id=wid, nodes=refs, tags=tags, version=1))
    writer.close()
    return path


def test_pbf_way_is_cut_at_a_node_missing_from_the_extract(tmp_path):
    # node 99 is referenced but not in the file (a clipped extract)
    path = _write_pbf(
        tmp_path / "clipped.osm.pbf",
        [1, 2, 3, 4],
        [(10, [1, 2, 99, 3, 4], {"highway": "primary"})],
    )
    G = streets_from_file(path, simplify=False)
    assert set(G.edges()) == {(1, 2), (2, 1), (3, 4), (4, 3)}  # no straight 2-3 link
    assert G.graph["components"] == 2
    assert len(report_components(G)) == 2


def test_pbf_oneway_rules(tmp_path):
    ways = [
        (10, [1, 2], {"highway": "primary", "oneway": "yes"}),
        (11, [2, 3], {"highway": "primary", "oneway": "-1"}),
        (12, [3, 4], {"highway": "primary"}),
    ]
    path = _write_pbf(tmp_path / "oneway.osm.pbf", [1, 2, 3, 4], ways)
    G = streets_from_file(path, simplify=False)
    assert set(G.edges()) == {(1, 2), (3, 2), (3, 4), (4, 3)}
    # osmnx semantics: a oneway=-1 way is stored in travel direction, reversed=False
    assert G.edges[3, 2, 0]["reversed"] is False
    assert G.edges[3, 4, 0]["reversed"] is False and G.edges[4, 3, 0]["reversed"] is True
    W = streets_from_file(path, network_type="walk", mode="walk", simplify=False)
    assert (2, 1) in set(W.edges()) and (2, 3) in set(W.edges())


def test_fast_edge_fill_equals_networkx_add_edges_from():
    from urlink.network._pbf import _add_edges_fast

    edges = [(1, 2, {"a": 1}), (1, 2, {"a": 2}), (2, 1, {"a": 3}), (2, 3, {"a": 4})]
    fast = nx.MultiDiGraph()
    fast.add_nodes_from([1, 2, 3])
    _add_edges_fast(fast, edges)
    slow = nx.MultiDiGraph()
    slow.add_nodes_from([1, 2, 3])
    slow.add_edges_from(edges)
    assert nx.utils.graphs_equal(fast, slow)
    assert list(fast.edges(keys=True, data="a")) == list(slow.edges(keys=True, data="a"))
    assert list(fast.predecessors(2)) == list(slow.predecessors(2))


def test_pbf_graph_is_the_same_in_every_run():
    a = streets_from_file(PBF, network_type="all")
    b = streets_from_file(PBF, network_type="all")
    assert list(a.edges(keys=True, data="length")) == list(b.edges(keys=True, data="length"))
    assert list(a.edges(keys=True, data="highway")) == list(b.edges(keys=True, data="highway"))
