from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
from shapely import box

from urlink.errors import InputError
from urlink.outputs.maps import curved_line, map_linkages

EVIL = "<img src=x onerror=alert(1)>"


def _zones() -> gpd.GeoDataFrame:
    ids = ["331003001", "331003002", "331002"]
    return gpd.GeoDataFrame(
        {
            "name": [EVIL, "南城街道", "椒江区"],
            "name_en": ["Dongcheng", "Nancheng", "Jiaojiang"],
            "level": ["township", "township", "county"],
            "township_code": ["331003001", "331003002", None],
            "county_code": ["331003", "331003", "331002"],
            "prefecture_code": ["331000"] * 3,
            "province_code": ["330000"] * 3,
            "typology": ["urban", "rural", "peri-urban"],
            "typology_reason": ["density 7,044/km² ≥ 1,500", "far", "near"],
            "population": [100.0, 50.0, 800.0],
            "population_source": ["estimate: x", "estimate: x", "census"],
            "geometry_source": ["voronoi-approximation", "voronoi-approximation", "file"],
            "seat_lon": [121.05, 121.15, 121.35],
            "seat_lat": [28.55, 28.55, 28.55],
        },
        index=ids,
        geometry=[
            box(121.0, 28.5, 121.1, 28.6),
            box(121.1, 28.5, 121.2, 28.6),
            box(121.2, 28.5, 121.5, 28.6),
        ],
        crs="EPSG:4326",
    )


def _flows() -> pd.DataFrame:
    rows = [
        ("331003001", "331002", "people", 100.0, "county"),
        ("331002", "331003001", "people", 50.0, "county"),
        ("331003001", "331003002", "people", 5.0, "township"),
        ("331003002", "331002", "goods", 2.0, "county"),
        ("331003002", "331003002", "ecosystem", 9.0, "none"),
    ]
    df = pd.DataFrame(rows, columns=["origin", "destination", "flow_type", "volume", "crosses"])
    df["unit"] = df["flow_type"].map(
        {"people": "persons/day", "goods": "t/day", "ecosystem": "m3/day"}
    )
    df["model"] = EVIL
    df["source"] = "modelled"
    return df


def _html(**kwargs) -> str:
    """The rendered page with JSON ``\\uXXXX`` escapes decoded (HTML escapes stay)."""
    import re

    page = map_linkages(_zones(), _flows(), **kwargs).get_root().render()
    return re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), page)


def test_text_is_escaped_everywhere():
    page = _html(network_source="proxy")
    assert "<img src=x" not in page
    assert "onerror=alert(1)" in page  # still shown, as text
    assert "&lt;img src=x" in page


def test_layers_legend_and_notes():
    page = _html(network_source="proxy", lang="en")
    for name in ("Zones (typology)", "County boundaries", "Names", "People", "Goods"):
        assert name in page
    assert "Ecosystem services" not in page  # only flows between zones are drawn
    assert "Voronoi approximations" in page and "proxy" in page
    page_zh = _html(lang="zh")
    assert "人口流动" in page_zh and "Zones (typology)" not in page_zh
    page_both = _html(lang="both")
    assert "人口流动 / People" in page_both and "Dongcheng" in page_both


def test_only_the_largest_flows_are_drawn_and_the_rest_summed_by_county():
    page = _html(lang="en", max_flows=1)
    # people: 100 (drawn), 50 (Jiaojiang -> Huangyan, other county), 5 (within Huangyan)
    assert "People (1 largest)" in page
    assert "People +2 (smaller flows summed by county)" in page
    assert "1 smaller flows within one unit not drawn" in page
    assert "Jiaojiang → 331003: 50 persons/day (1 smaller flows)" in page
    page_none = _html(lang="en", max_flows=1, aggregate_level=None)
    assert "People +2 (smaller flows not drawn)" in page_none
    assert "Jiaojiang → 331003: 50" not in page_none


def test_aggregate_flows_sums_by_unit_pair():
    from urlink.outputs.maps import aggregate_flows

    agg = aggregate_flows(_flows(), _zones(), level="county")
    got = {(r.origin, r.destination): (r.volume, r.n_flows) for r in agg.itertuples()}
    assert got == {
        ("331003", "331002"): (102.0, 2),  # 100 people + 2 t goods: volumes of one type only
        ("331002", "331003"): (50.0, 1),
        ("331003", "331003"): (14.0, 2),
    }
    assert agg["volume"].sum() == pytest.approx(_flows()["volume"].sum())
    with pytest.raises(InputError, match="township_code"):
        aggregate_flows(_flows(), _zones().drop(columns="township_code"), level="township")


def test_flow_styles_are_one_js_function_not_a_case_per_feature():
    page = _html(lang="en")
    assert "feature.properties" in page and "p.w" in page
    assert "switch(feature" not in page.split("Zones (typology)")[-1]


def test_bad_options():
    with pytest.raises(InputError, match="lang='de'"):
        map_linkages(_zones(), _flows(), lang="de")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="max_flows=0"):
        map_linkages(_zones(), _flows(), max_flows=0)


def test_curves_bend_right_so_opposite_flows_do_not_overlap():
    there = curved_line(121.0, 28.5, 121.2, 28.5)
    back = curved_line(121.2, 28.5, 121.0, 28.5)
    assert there[6][1] < 28.5 < back[6][1]


def test_offline_page_has_no_external_assets(tmp_path):
    import re

    from urlink.outputs.maps import offline_html, save_map

    m = map_linkages(_zones(), _flows(), tiles=None)
    path = tmp_path / "map.html"
    save_map(m, path, offline=True)
    page = path.read_text(encoding="utf-8")
    assert not re.findall(r"<(?:script|link)[^>]+(?:src|href)=\"https?://", page)
    assert "tile.openstreetmap.org" not in page
    assert "L.map(" in page or "L.map (" in page  # folium's map code is still there
    assert "Leaflet" in page[:200_000]  # the library itself is inlined
    online = m.get_root().render()
    assert re.findall(r"<script[^>]+src=\"https?://", online)  # folium's default uses CDNs
    from urlink.errors import UrlinkError

    with pytest.raises(UrlinkError, match="no offline copy"):
        offline_html('<script src="https://example.org/unknown.js"></script>')


def test_offline_dual_map_gets_the_sync_stand_in(tmp_path):
    from folium.plugins import DualMap

    from urlink.outputs.maps import save_map

    dm = DualMap(location=[28.6, 121.2], zoom_start=9, tiles=None)
    path = tmp_path / "dual.html"
    save_map(dm, path, offline=True)
    page = path.read_text(encoding="utf-8")
    import re

    assert "L.Map.prototype.sync" in page
    assert not re.findall(r"<(?:script|link)[^>]+(?:src|href)=\"https?://", page)


def test_zone_popups_show_key_indicators_with_labels():
    page = _html(lang="en")
    assert "Minutes to a hospital" not in page  # not in the zones: not shown
    import re

    z = _zones().assign(time_to_hospital_min=[12.25, None, 3.0])
    m = map_linkages(z, _flows(), lang="en")
    text = re.sub(
        r"\\u([0-9a-fA-F]{4})", lambda mm: chr(int(mm.group(1), 16)), m.get_root().render()
    )
    assert "Minutes to a hospital: 12.2" in text and "Minutes to a hospital: 3.0" in text
    assert text.count("Minutes to a hospital") == 2  # a missing value is left out


def test_run_map_popups_carry_baseline_indicators(huangyan_run, root):
    import re

    page = (huangyan_run / "map.html").read_text(encoding="utf-8")
    page = re.sub(r"\\u([0-9a-fA-F]{4})", lambda mm: chr(int(mm.group(1), 16)), page)
    values = re.findall(r"Minutes to a hospital: ([0-9.,]+)", page)
    assert len(values) == 29  # every zone
    shown = sorted(float(v.replace(",", "")) for v in values)
    assert shown[0] > 0.0  # hospital zones: their intrazonal time, not 0 min (#15)
    # the run's own figures: minutes from each zone to its nearest hospital zone; from a
    # hospital zone itself, half the time to its nearest other zone
    services = pd.read_csv(root / "data/tables/huangyan_services.csv", dtype={"zone_id": str})
    hospitals = set(services.loc[services["service"] == "hospital", "zone_id"])
    times = pd.read_csv(
        huangyan_run / "travel_times.csv", dtype={"origin": str, "destination": str}
    )
    between = times[times["origin"] != times["destination"]]
    own = between.groupby("origin")["time_min"].min() / 2
    self_rows = times[times["origin"] == times["destination"]].copy()
    self_rows["time_min"] = self_rows["origin"].map(own)
    times = pd.concat([between, self_rows])
    nearest = times[times["destination"].isin(hospitals)].groupby("origin")["time_min"].min()
    assert len(nearest) == 29
    assert shown == pytest.approx(sorted(nearest), abs=0.051)  # printed to 0.1 minute


def test_the_summed_flows_are_capped_too():
    # every zone its own county: the smaller flows give one sum per pair of zones
    z = _zones().assign(county_code=["331003001", "331003002", "331002"])
    page = map_linkages(z, _flows(), lang="en", max_flows=1).get_root().render()
    import re

    page = re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), page)
    # people: 3 flows, 1 drawn, 2 summed into 2 zone pairs, of which 1 is drawn
    assert page.count("(1 smaller flows)") == 1  # one feature (its label)
    assert "1 smaller sums between units not drawn" in page


def test_map_without_chinese_names_and_with_osm_roads():
    """A Malta-like run: names only in one language, main roads from OSM in the base layer."""
    import re

    from shapely import LineString

    z = _zones().assign(
        name=["Valletta", "Floriana", "Msida"], name_en=["Valletta", "Floriana", "Msida"]
    )
    roads = gpd.GeoDataFrame(
        geometry=[LineString([(121.01, 28.51), (121.19, 28.59)])], crs="EPSG:4326"
    )
    m = map_linkages(
        z, _flows(), lang="both", tiles=None, roads=roads, credits=["© OpenStreetMap <b>"]
    )
    page = re.sub(
        r"\\u([0-9a-fA-F]{4})", lambda mm: chr(int(mm.group(1), 16)), m.get_root().render()
    )
    assert "Valletta<br>Valletta" not in page and "Valletta / Valletta" not in page
    assert "Base: main roads (OSM)" in page
    assert "© OpenStreetMap &lt;b&gt;" in page  # credits are escaped


def test_flows_are_not_interactive_and_carry_their_ends():
    page = _html(lang="en")
    import re

    flows = re.findall(r'"o": "(\d+)", "op": [\d.]+, "t": "people"', page)
    assert flows  # every flow knows its origin (for the zone selection)
    assert '"interactive": false' in page


def test_focus_zones_and_human_numbers():
    from urlink.outputs.maps import focus_zones, human_number

    assert focus_zones(_zones()) == ["331003001", "331003002"]
    assert focus_zones(_zones(), ["331002"]) == ["331002"]
    assert human_number(92960.37, "persons/day") == "92,960 persons/day"
    assert "e" not in human_number(0.00001234)
    assert human_number(float("nan")) == "unknown"


def test_strategy_geometry_of_each_kind(huangyan_zones):
    from urlink.model.state import Strategy
    from urlink.outputs.pages import strategy_geometry

    zones, _ = huangyan_zones
    zones = zones.to_crs("EPSG:4326")
    cases = {
        "add_link": ({"from": "331003101", "to": "331003102"}, ["road"]),
        "bus_line": ({"stops": ["331003101", "331003102"]}, ["bus", "stop", "stop"]),
        "market_hub": ({"zone": "331003103", "demand_weight": 2.0}, ["hub"]),
        "upgrade_road": ({"links": [["331003101", "331003200"]]}, ["upgrade"]),
        "land_change": ({"zones": ["331003201"], "water_supply_factor": 1.1}, ["zone"]),
        "eco_compensation": ({"rate_yuan_per_m3": 0.1}, []),
    }
    for kind, (params, roles) in cases.items():
        s = Strategy(name=f"s-{kind}", kind=kind, params=params)
        feats = strategy_geometry(s, zones, lang="en")
        assert [f["properties"]["role"] for f in feats] == roles, kind
    road = strategy_geometry(
        Strategy(name="r", kind="add_link", params={"from": "331003101", "to": "331003102"}),
        zones,
        lang="en",
    )[0]
    assert road["properties"]["label"] == "New road"
    assert road["geometry"]["coordinates"][0] == pytest.approx(
        (zones.loc["331003101", "seat_lon"], zones.loc["331003101", "seat_lat"])
    )


def test_data_credits_name_every_source(huangyan_scenario_path):
    from urlink.outputs.pages import data_credits
    from urlink.scenario.spec import load_scenario

    credits = data_credits(load_scenario(huangyan_scenario_path), "osm")
    assert any("GeoNames" in c and "CC BY 4.0" in c for c in credits)
    assert any("cnmaps-adm-data" in c for c in credits)
    assert credits[-1] == "© OpenStreetMap contributors (ODbL)"
    assert "© OpenStreetMap contributors (ODbL)" not in data_credits(
        load_scenario(huangyan_scenario_path), "proxy"
    )


def test_names_are_never_evaluated_as_templates():
    """branca compiles rendered parts as Jinja templates; urlink's elements are not."""
    z = _zones().assign(name=["{{ 7*7 }}", "{% if 1 %}x{% endif %}", "椒江区"])
    page = map_linkages(z, _flows(), lang="both", tiles=None, title="{{ 6*7 }}").get_root()
    text = page.render()
    assert "{{ 7*7 }}" in text and "{{ 6*7 }}" in text and "{% if 1 %}x{% endif %}" in text


def test_main_roads_of_an_osm_network_join_the_base_layer(root):
    from urlink.network.streets import streets_from_file
    from urlink.outputs.pages import main_roads

    streets = streets_from_file(root / "tests" / "data" / "osm" / "West-Oakland.osm.bz2")
    roads = main_roads(streets)
    assert roads is not None and len(roads) > 0
    assert roads.crs is not None and set(roads.geom_type) == {"LineString"}
    streets.graph["network_source"] = "proxy"
    assert main_roads(streets) is None  # a proxy network has no roads to show


def test_roads_upgraded_by_osm_way_are_drawn_from_the_streets(root, huangyan_zones):
    from urlink.model.state import Strategy
    from urlink.network.streets import streets_from_file
    from urlink.outputs.pages import strategy_geometry

    streets = streets_from_file(root / "tests" / "data" / "osm" / "West-Oakland.osm.bz2")
    osmid = next(iter(streets.edges(data=True)))[2]["osmid"]
    way = osmid[0] if isinstance(osmid, list) else osmid
    s = Strategy(name="u", kind="upgrade_road", params={"ways": [int(way)]})
    zones = huangyan_zones[0].to_crs("EPSG:4326")
    assert strategy_geometry(s, zones, lang="en") == []  # without the streets: nothing
    feats = strategy_geometry(s, zones, lang="en", streets=streets)
    assert [f["properties"]["role"] for f in feats] == ["upgrade"]
    assert feats[0]["geometry"]["type"] == "MultiLineString"
    assert -122.4 < feats[0]["geometry"]["coordinates"][0][0][0] < -122.2  # WGS84, Oakland


def test_ranking_box_shows_p_first_with_uncertain_inputs():
    from urlink.outputs.maps import _comparison_legend
    from urlink.outputs.pages import ranking_table

    scores = pd.DataFrame(
        {
            "strategy": ["a", "b"],
            "group": ["pooled", "pooled"],
            "method": ["weighted_sum"] * 2,
            "rank": [1, 2],
        }
    )
    rob = pd.DataFrame(
        {
            "weights": ["uniform", "uniform", "pooled", "pooled"],
            "method": ["weighted_sum"] * 4,
            "strategy": ["a", "b", "a", "b"],
            "rank": [1, 1, 1, 1],
            "acceptability": [0.7, 0.3, 0.9, 0.1],
            "first_rank_joint": [0.6, 0.4, 0.55, 0.45],
        }
    )
    table = ranking_table({"scores": scores, "robustness": rob})
    assert table.set_index("strategy")["first_rank_joint"].to_dict() == {"a": 0.55, "b": 0.45}
    ids = {"key": "k", "slider": "s", "sel": "c", "find": "f"}
    html = _comparison_legend("en", {}, ids, ranking=table, strategy="a")
    assert "with uncertain inputs" in html and "P(first)" in html
    plain = ranking_table({"scores": scores, "robustness": rob.drop(columns="first_rank_joint")})
    assert "first_rank_joint" not in plain.columns
    assert "with uncertain inputs" not in _comparison_legend(
        "en", {}, ids, ranking=plain, strategy="a"
    )
