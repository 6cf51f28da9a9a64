"""Every bad input ends in exit code 2 with one message naming the file and the field (#7).

Each test builds a tiny scenario in ``tmp_path`` (three county squares near Huangyan, the
focus split into two townships, a proxy network: a run takes about a second), breaks one
thing, and checks that ``urlink`` exits with 2, prints exactly one error line that names the
offending file and field, shows no traceback, and writes nothing: an earlier output folder
is left as it was and no temporary folder is left behind.
"""

from __future__ import annotations

import bz2
import json
import os
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from urlink.cli import main
from urlink.errors import InputError
from urlink.io.crs import CONVERTED_MARK, wgs84_to_gcj02

ROOT = Path(__file__).resolve().parents[1]

FOCUS = "331003"
COUNTIES = [("331003", "黄岩区", "Huangyan"), ("331002", "椒江区", "Jiaojiang"),
            ("331004", "路桥区", "Luqiao")]  # fmt: skip
SEATS = [("331003001", "东城街道", 121.03, 28.55), ("331003002", "北洋镇", 121.097, 28.58)]

SCENARIO = """\
name = "tiny"
title = "Three squares near Huangyan"
seed = 7

[boundaries]
path = "data/zones.geojson"
id_col = "adcode"
name_col = "name_zh"
name_en_col = "name_en"
focus = "331003"

[townships]
path = "data/seats.geojson"
id_col = "code"
name_col = "name_zh"

[population]
counties = "data/pop.csv"
township_units = "data/units.csv"
community_weight = 3.0

[flows.people]
beta = 0.1

[services]
path = "data/services.csv"
"""

STRATEGIES = """
[[strategies]]
name = "new-road"
kind = "add_link"
sites = ["331003002"]
[strategies.params]
from = "331003002"
to = "331004"
speed_kph = 60

[scoring]
weights = "data/weights.csv"
smaa_samples = 200
"""


def _square(x0: float) -> shapely.Polygon:
    return shapely.box(x0, 28.5, x0 + 0.1, 28.6)


def _feature_collection(features: list[dict]) -> str:
    return json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False)


def _write_zones(path: Path, geoms: list[object] | None = None, **props: list[object]) -> None:
    geoms = geoms if geoms is not None else [_square(121.0 + 0.1 * i) for i in range(3)]
    columns = {
        "adcode": [c for c, _, _ in COUNTIES],
        "name_zh": [n for _, n, _ in COUNTIES],
        "name_en": [e for _, _, e in COUNTIES],
    }
    columns.update(props)
    features = [
        {
            "type": "Feature",
            "properties": {k: v[i] for k, v in columns.items()},
            "geometry": None if g is None else shapely.geometry.mapping(g),
        }
        for i, g in enumerate(geoms)
    ]
    path.write_text(_feature_collection(features), encoding="utf-8")


def _write_seats(path: Path, xy: list[tuple[float, float]] | None = None) -> None:
    xy = xy if xy is not None else [(x, y) for _, _, x, y in SEATS]
    features = [
        {
            "type": "Feature",
            "properties": {"code": code, "name_zh": name},
            "geometry": {"type": "Point", "coordinates": [x, y]},
        }
        for (code, name, _, _), (x, y) in zip(SEATS, xy, strict=True)
    ]
    path.write_text(_feature_collection(features), encoding="utf-8")


def make_scenario(root: Path, *, strategies: bool = False, extra: str = "") -> Path:
    """Write the tiny scenario and its data under ``root``; return the scenario file."""
    data = root / "data"
    data.mkdir(parents=True, exist_ok=True)
    _write_zones(data / "zones.geojson")
    _write_seats(data / "seats.geojson")
    (data / "pop.csv").write_text(
        "zone_id,population,population_source\n"
        "331003,700000,test\n331002,800000,test\n331004,600000,test\n",
        encoding="utf-8",
    )
    (data / "units.csv").write_text(
        "code,n_communities,n_villages,n_other\n331003001,10,2,0\n331003002,0,20,1\n",
        encoding="utf-8",
    )
    (data / "services.csv").write_text(
        "zone_id,service\n331003001,district_centre\n331003001,hospital\n331002,hospital\n"
        "331004,market\n",
        encoding="utf-8",
    )
    (data / "weights.csv").write_text(
        "group,indicator,points\n"
        "residents,co2_t_per_day,40\nresidents,mean_time_to_hospital_min,60\n"
        "enterprises,co2_t_per_day,70\nenterprises,mean_time_to_hospital_min,30\n",
        encoding="utf-8",
    )
    path = root / "tiny.toml"
    path.write_text(SCENARIO + (STRATEGIES if strategies else "") + extra, encoding="utf-8")
    return path


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    return make_scenario(tmp_path)


@pytest.fixture
def earlier(tmp_path: Path) -> Path:
    """An output folder from an earlier run that a failed run must leave alone."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "zones.gpkg").write_bytes(b"earlier results")
    (out / "manifest.json").write_text('{"scenario": "earlier"}', encoding="utf-8")
    (out / ".urlink").write_text(  # urlink's marker: the files it wrote
        '{"written_by": "urlink", "files": ["zones.gpkg", "manifest.json"]}', encoding="utf-8"
    )
    return out


def fails(
    capsys: pytest.CaptureFixture[str],
    scenario: Path,
    out: Path,
    *needles: str,
    command: str = "run",
) -> str:
    """Run ``command`` and check exit 2, one error line with ``needles``, nothing written."""
    before = _snapshot(out) if out.exists() else None
    argv = [command, str(scenario)] + (["--out", str(out)] if command == "run" else [])
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if line.startswith("urlink: error:")]
    assert len(errors) == 1, err
    allowed = ("urlink: error:", "WARNING", "urlink: [")  # the error, warnings, stage lines
    assert all(line.startswith(allowed) for line in err.splitlines()), err
    for needle in needles:
        assert needle in errors[0], f"{needle!r} not in {errors[0]!r}"
    if before is None:
        assert not out.exists()
    else:
        assert _snapshot(out) == before
    assert not [p for p in out.parent.iterdir() if p.name.startswith(f".{out.name}.")]
    return errors[0]


def succeeds(capsys: pytest.CaptureFixture[str], scenario: Path, out: Path) -> str:
    """Run the scenario; return stderr's warnings (not the stage lines) after checking exit 0."""
    code = main(["run", str(scenario), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 0, err
    stages = [line for line in err.splitlines() if line.startswith("urlink: [")]
    assert len(stages) == 7, err  # the progress lines of a run without a terminal
    return "".join(line + "\n" for line in err.splitlines() if not line.startswith("urlink: ["))


# --------------------------------------------------------------------------- the fixture


def test_tiny_scenario_runs(tiny, tmp_path, capsys):
    out = tmp_path / "ok"
    assert succeeds(capsys, tiny, out) == ""
    zones = gpd.read_file(out / "zones.gpkg").set_index("zone_id")
    assert sorted(zones.index) == ["331002", "331003001", "331003002", "331004"]
    assert zones["population"].sum() == 2_100_000


# ------------------------------------------------------------------------ files at large


def test_missing_file(tiny, earlier, capsys):
    (tiny.parent / "data/pop.csv").unlink()
    fails(capsys, tiny, earlier, "tiny.toml", "[population] counties", "pop.csv", "does not exist")


@pytest.mark.parametrize(
    ("name", "key"),
    [("zones.geojson", "[boundaries] path"), ("units.csv", "[population] township_units")],
)
def test_empty_file(tiny, earlier, capsys, name, key):
    (tiny.parent / "data" / name).write_bytes(b"")
    fails(capsys, tiny, earlier, "tiny.toml", key, name, "empty (0 bytes)")


def test_empty_scenario_file(tiny, earlier, capsys):
    tiny.write_text("", encoding="utf-8")
    fails(capsys, tiny, earlier, "tiny.toml", "'name' is missing")


def test_wrong_format_vector(tiny, earlier, capsys):
    (tiny.parent / "data/zones.geojson").write_text("adcode,name\n331003,x\n", encoding="utf-8")
    fails(capsys, tiny, earlier, "zones.geojson", "could not be read as a vector layer")


def test_wrong_format_table(tiny, earlier, capsys):
    (tiny.parent / "data/pop.csv").write_bytes("zone_id,population\n黄岩,1\n".encode("gbk"))
    fails(capsys, tiny, earlier, "pop.csv", "not UTF-8")


def test_wrong_format_scenario(tiny, earlier, capsys):
    tiny.write_text('name = "tiny"\n[boundaries\n', encoding="utf-8")
    fails(capsys, tiny, earlier, "tiny.toml", "not valid TOML")


def test_wrong_geometry_type(tiny, earlier, capsys):
    shutil_copy = (tiny.parent / "data/zones.geojson").read_text(encoding="utf-8")
    (tiny.parent / "data/seats.geojson").write_text(shutil_copy, encoding="utf-8")
    fails(capsys, tiny, earlier, "seats.geojson", "expected Point geometries")


# --------------------------------------------------------------------------- coordinates


def test_projected_coordinates_without_crs(tiny, earlier, capsys):
    utm = gpd.GeoSeries([_square(121.0 + 0.1 * i) for i in range(3)], crs=4326).to_crs(32651)
    _write_zones(tiny.parent / "data/zones.geojson", geoms=list(utm))  # GeoJSON: no CRS
    fails(capsys, tiny, earlier, "zones.geojson", "are not degrees", "declare the CRS")


def test_lat_lon_swapped(tiny, earlier, capsys):
    _write_seats(tiny.parent / "data/seats.geojson", xy=[(y, x) for _, _, x, y in SEATS])
    fails(capsys, tiny, earlier, "seats.geojson", "longitude and latitude are swapped")


def test_layer_outside_the_study_area(tiny, earlier, capsys):
    _write_seats(tiny.parent / "data/seats.geojson", xy=[(116.40, 39.90), (116.41, 39.91)])
    fails(capsys, tiny, earlier, "seats.geojson", "['331003001', '331003002'] lie outside", FOCUS)


def test_settlements_outside_the_study_area(tiny, earlier, capsys):
    places = tiny.parent / "data/places.geojson"
    _write_seats(places, xy=[(116.40, 39.90), (116.41, 39.91)])
    _edit(
        tiny,
        "[population]",
        '[settlements]\npath = "data/places.geojson"\nid_col = "code"\nname_col = "name_zh"\n'
        'names_col = "name_zh"\n\n[population]',
    )
    fails(capsys, tiny, earlier, "places.geojson", "no place lies in the study area", "116.4")


def test_network_outside_the_study_area(tiny, earlier, capsys):
    osm = ROOT / "tests/data/osm/planet_10.068_48.135_10.071_48.137.osm"
    _edit(tiny, "[services]", f'[network]\nosm = "{osm.as_posix()}"\n\n[services]')
    fails(capsys, tiny, earlier, "planet_10.068_48.135_10.071_48.137.osm", "outside the study")


def test_layers_in_different_crss_are_reprojected_and_reported(tiny, tmp_path, capsys):
    reference = tmp_path / "ref"
    succeeds(capsys, tiny, reference)
    seats = gpd.read_file(tiny.parent / "data/seats.geojson").to_crs(32651)
    seats.to_file(tiny.parent / "data/seats.gpkg", layer="seats")
    _edit(tiny, 'path = "data/seats.geojson"', 'path = "data/seats.gpkg"')
    err = succeeds(capsys, tiny, tmp_path / "utm")
    assert "seats.gpkg" in err and "EPSG:32651" in err and "reprojected to WGS84" in err
    a = gpd.read_file(reference / "zones.gpkg").set_index("zone_id")
    b = gpd.read_file(tmp_path / "utm/zones.gpkg").set_index("zone_id")
    np.testing.assert_allclose(b["area_km2"], a["area_km2"], rtol=1e-9)
    np.testing.assert_allclose(b["seat_lon"], a["seat_lon"], atol=1e-9)


def test_gcj02_declared_as_wgs84_is_detected(tiny, tmp_path, earlier, capsys):
    lon, lat = wgs84_to_gcj02([x for _, _, x, _ in SEATS], [y for _, _, _, y in SEATS])
    _write_seats(tiny.parent / "data/seats.geojson", xy=list(zip(lon, lat, strict=True)))
    msg = fails(capsys, tiny, earlier, "seats.geojson", "['331003002'] lie outside")
    assert "read as GCJ02" in msg and 'coords = "gcj02"' in msg
    # declaring it fixes the run, and the seat is back where it was
    _edit(
        tiny,
        'name_col = "name_zh"\n\n[population]',
        'name_col = "name_zh"\ncoords = "gcj02"\n\n[population]',
    )
    succeeds(capsys, tiny, tmp_path / "fixed")
    zones = gpd.read_file(tmp_path / "fixed/zones.gpkg").set_index("zone_id")
    assert zones.loc["331003002", "seat_lon"] == pytest.approx(121.097, abs=1e-7)


def test_gcj02_offset_against_settlements_is_warned(tiny, tmp_path, capsys):
    # seats well inside the focus, from a GCJ-02 source but declared WGS84; the GeoNames
    # places of the same names (WGS84) show the offset
    true = [(121.03, 28.55), (121.05, 28.57)]
    _write_seats(tiny.parent / "data/places.geojson", xy=true)
    lon, lat = wgs84_to_gcj02([x for x, _ in true], [y for _, y in true])
    _write_seats(tiny.parent / "data/seats.geojson", xy=list(zip(lon, lat, strict=True)))
    settlements = (
        '[settlements]\npath = "data/places.geojson"\nid_col = "code"\nname_col = "name_zh"\n'
        'names_col = "name_zh"\n\n[population]'
    )
    _edit(tiny, "[population]", settlements)
    err = succeeds(capsys, tiny, tmp_path / "out")
    assert "seats.geojson: the 2 township seats and settlements of the same name" in err
    assert '[townships] looks like GCJ02 data declared as WGS84. Set coords = "gcj02"' in err
    # with the coordinates declared, the warning is gone
    _edit(
        tiny,
        'name_col = "name_zh"\n\n[settlements]',
        'name_col = "name_zh"\ncoords = "gcj02"\n\n[settlements]',
    )
    assert "GCJ-02 shift" not in succeeds(capsys, tiny, tmp_path / "fixed")


def test_wgs84_declared_as_gcj02_is_detected(tiny, earlier, capsys):
    # a seat 330 m south of the northern edge: reading it as GCJ-02 moves it out
    _write_seats(tiny.parent / "data/seats.geojson", xy=[(121.03, 28.55), (121.05, 28.597)])
    _edit(
        tiny,
        'name_col = "name_zh"\n\n[population]',
        'name_col = "name_zh"\ncoords = "gcj02"\n\n[population]',
    )
    msg = fails(capsys, tiny, earlier, "seats.geojson", "['331003002'] lie outside")
    assert 'coords = "wgs84"' in msg


def test_double_conversion_is_refused(tiny, earlier, capsys):
    path = tiny.parent / "data/zones.geojson"
    _write_zones(path, coords_source=[CONVERTED_MARK] * 3)
    _edit(tiny, 'focus = "331003"', 'focus = "331003"\ncoords = "gcj02"')
    fails(capsys, tiny, earlier, "zones.geojson", "already converted from GCJ-02")


# ---------------------------------------------------------------------------- geometries


def test_self_intersecting_polygon(tiny, earlier, capsys):
    bowtie = shapely.Polygon([(121.2, 28.5), (121.3, 28.6), (121.3, 28.5), (121.2, 28.6)])
    _write_zones(
        tiny.parent / "data/zones.geojson", geoms=[_square(121.0), _square(121.1), bowtie]
    )
    fails(capsys, tiny, earlier, "zones.geojson", "polygons ['331004'] are invalid", "Self-")


def test_slightly_invalid_polygon_is_repaired_and_reported(tiny, tmp_path, capsys):
    twisted = shapely.Polygon(
        [(121.2, 28.5), (121.3, 28.5), (121.3, 28.6), (121.2, 28.6), (121.2, 28.501),
         (121.201, 28.5), (121.2, 28.5005)]
    )  # fmt: skip
    _write_zones(
        tiny.parent / "data/zones.geojson", geoms=[_square(121.0), _square(121.1), twisted]
    )
    err = succeeds(capsys, tiny, tmp_path / "ok")
    assert "zones.geojson" in err and "['331004'] repaired" in err


def test_empty_geometry(tiny, earlier, capsys):
    _write_zones(tiny.parent / "data/zones.geojson", geoms=[_square(121.0), None, _square(121.2)])
    fails(capsys, tiny, earlier, "zones.geojson", "['331002'] have empty geometry")


def test_duplicate_zone_ids(tiny, earlier, capsys):
    _write_zones(tiny.parent / "data/zones.geojson", adcode=["331003", "331002", "331002"])
    fails(capsys, tiny, earlier, "zones.geojson", "'adcode'", "duplicate ids ['331002']")


def test_missing_zone_ids(tiny, earlier, capsys):
    _write_zones(tiny.parent / "data/zones.geojson", adcode=["331003", None, "331004"])
    fails(capsys, tiny, earlier, "zones.geojson", "'adcode' is empty in rows [1]")


# ---------------------------------------------------------------------------- encodings


def _gbk_shapefile(folder: Path) -> Path:
    zones = gpd.read_file(folder / "zones.geojson")
    path = folder / "zones.shp"
    zones.to_file(path, encoding="gbk")
    folder.joinpath("zones.cpg").unlink()  # as many Chinese Shapefiles arrive
    return path


def test_gbk_shapefile_without_cpg(tiny, earlier, tmp_path, capsys):
    _gbk_shapefile(tiny.parent / "data")
    _edit(tiny, 'path = "data/zones.geojson"', 'path = "data/zones.shp"')
    msg = fails(capsys, tiny, earlier, "zones.shp", "'name_zh'", "'»ÆÑÒÇø'", "'黄岩区' in GBK")
    assert "zones.cpg" in msg and 'encoding = "gbk"' in msg
    # naming the encoding reads the names right
    _edit(tiny, 'path = "data/zones.shp"', 'path = "data/zones.shp"\nencoding = "gbk"')
    succeeds(capsys, tiny, tmp_path / "fixed")
    zones = gpd.read_file(tmp_path / "fixed/zones.gpkg").set_index("zone_id")
    assert zones.loc["331002", "name"] == "椒江区"


def test_unknown_encoding(tiny, earlier, capsys):
    _edit(tiny, 'path = "data/zones.geojson"', 'path = "data/zones.geojson"\nencoding = "gbq"')
    fails(capsys, tiny, earlier, "zones.geojson", "encoding='gbq' is not a known")


# ---------------------------------------------------------------------------- tables


@pytest.mark.parametrize("value", ["-5", "0", "", "many"])
def test_bad_population(tiny, earlier, capsys, value):
    _edit(tiny.parent / "data/pop.csv", "331002,800000", f"331002,{value}")
    fails(capsys, tiny, earlier, "pop.csv", "'population'", "'331002'")


def test_table_ids_do_not_match_zones(tiny, earlier, capsys):
    _edit(tiny.parent / "data/pop.csv", "331004,600000,test\n", "")
    fails(capsys, tiny, earlier, "pop.csv", "no row for zones ['331004']")


def test_override_ids_do_not_match_zones(tiny, earlier, capsys):
    (tiny.parent / "data/override.csv").write_text(
        "zone_id,population\n331003999,5\n", encoding="utf-8"
    )
    _edit(tiny, "community_weight = 3.0", 'community_weight = 3.0\noverride = "data/override.csv"')
    fails(capsys, tiny, earlier, "override.csv", "['331003999'] are not zones", "'zone_id'")


def test_township_table_ids_do_not_match(tiny, earlier, capsys):
    _edit(tiny.parent / "data/units.csv", "331003002,", "331003009,")
    fails(
        capsys, tiny, earlier, "units.csv", "missing: ['331003002']", "not a seat: ['331003009']"
    )


def test_services_table_with_unknown_zone(tiny, earlier, capsys):
    _edit(tiny.parent / "data/services.csv", "331004,market", "331009,market")
    fails(capsys, tiny, earlier, "services.csv", "['331009'] are not zones")


# ---------------------------------------------------------------------------- OSM files

_OSM_HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n'


def _osm(ways: list[tuple[list[tuple[float, float]], str]]) -> str:
    nodes, refs, out = {}, [], []
    for coords, _ in ways:
        ids = []
        for lon, lat in coords:
            nid = nodes.setdefault((lon, lat), len(nodes) + 1)
            ids.append(nid)
        refs.append(ids)
    out.append('<osm version="0.6" generator="urlink-tests">')
    for (lon, lat), nid in nodes.items():
        out.append(f'  <node id="{nid}" version="1" lat="{lat}" lon="{lon}"/>')
    for i, ((_, highway), ids) in enumerate(zip(ways, refs, strict=True), start=1):
        out.append(f'  <way id="{i}" version="1">')
        out += [f'    <nd ref="{n}"/>' for n in ids]
        out.append(f'    <tag k="highway" v="{highway}"/>\n  </way>')
    out.append("</osm>\n")
    return "\n".join(out)


def _use_osm(scenario: Path, text: str, name: str = "roads.osm") -> Path:
    path = scenario.parent / "data" / name
    path.write_text(text, encoding="utf-8")
    _edit(scenario, "[services]", f'[network]\nosm = "data/{name}"\n\n[services]')
    return path


def test_osm_without_drivable_ways(tiny, earlier, capsys):
    _use_osm(tiny, _OSM_HEAD + _osm([([(121.03, 28.55), (121.097, 28.58)], "footway")]))
    fails(capsys, tiny, earlier, "roads.osm", "no ways of network_type='drive'")


@pytest.mark.parametrize("padding", [0, 200_000])
def test_osm_with_doctype_or_entities_is_refused_before_parsing(
    tiny, earlier, capsys, monkeypatch, padding
):
    import osmnx as ox

    def parse(*args, **kwargs):
        raise AssertionError("the file must be refused before it is parsed")

    monkeypatch.setattr(ox, "graph_from_xml", parse)
    bomb = (
        _OSM_HEAD
        + "<!--" + " " * padding + "-->\n"
        + '<!DOCTYPE osm [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>\n'
        + _osm([([(121.03, 28.55), (121.097, 28.58)], "primary")]).replace(
            'generator="urlink-tests"', 'generator="&b;"'
        )
    )  # fmt: skip
    _use_osm(tiny, bomb)
    fails(capsys, tiny, earlier, "roads.osm", "DOCTYPE or XML entities")


def test_compressed_osm_with_entities_is_refused(tiny, earlier, capsys):
    text = _OSM_HEAD + '<!DOCTYPE osm [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n<osm/>\n'
    path = tiny.parent / "data/roads.osm.bz2"
    path.write_bytes(bz2.compress(text.encode()))
    _edit(tiny, "[services]", '[network]\nosm = "data/roads.osm.bz2"\n\n[services]')
    fails(capsys, tiny, earlier, "roads.osm.bz2", "DOCTYPE or XML entities")


def test_unreachable_pairs_are_reported_never_zero_or_inf(tiny, tmp_path, capsys):
    # trips longer than cutoff_min are unreachable: only the western township and the far
    # county are more than 25 minutes apart on the proxy network (31.8 min; the next
    # longest trip takes 22.3 min)
    _edit(tiny, "[services]", "[network]\ncutoff_min = 25\n\n[services]")
    out = tmp_path / "out"
    err = succeeds(capsys, tiny, out)
    assert "proxy network: 2 of 12 origin-destination pairs are unreachable" in err
    assert "('331003001', '331004')" in err
    one_way = {("331003001", "331004")}
    pairs = one_way | {(d, o) for o, d in one_way}
    travel = pd.read_csv(out / "travel_times.csv", dtype={"origin": str, "destination": str})
    cut = pd.Series(
        [(o, d) in pairs for o, d in zip(travel["origin"], travel["destination"], strict=True)]
    )
    assert travel.loc[cut, "time_min"].isna().all()  # unreachable: empty, never 0 or inf
    assert travel.loc[~cut, "time_min"].notna().all()
    assert np.isfinite(travel["time_min"].dropna()).all()
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["summary"]["unreachable_pairs"] == 2
    flows = pd.read_csv(out / "flows.csv", dtype={"origin": str, "destination": str})
    assert np.isfinite(flows["volume"]).all()
    on_cut = [(o, d) in pairs for o, d in zip(flows["origin"], flows["destination"], strict=True)]
    assert (flows.loc[on_cut, "volume"] == 0).all()
    assert flows["volume"].sum() > 0
    values = pd.read_csv(out / "indicators.csv")["value"]
    assert not np.isinf(values).any()


def test_zones_in_groups_that_cannot_reach_each_other(tiny, earlier, capsys):
    towns = [(121.03, 28.55), (121.06, 28.56), (121.097, 28.58)]
    counties = [(121.15, 28.55), (121.2, 28.55), (121.25, 28.55)]
    _use_osm(tiny, _OSM_HEAD + _osm([(towns, "primary"), (counties, "primary")]))
    fails(capsys, tiny, earlier, "roads.osm", "2 groups that cannot reach each other", "8 of 12")


def test_zone_cut_off_from_all_others(tiny, earlier, capsys):
    main_road = [(121.03, 28.55), (121.06, 28.56), (121.097, 28.58), (121.15, 28.55)]
    island = [(121.24, 28.55), (121.25, 28.55), (121.26, 28.55)]
    _use_osm(tiny, _OSM_HEAD + _osm([(main_road, "primary"), (island, "primary")]))
    fails(capsys, tiny, earlier, "roads.osm", "zones ['331004'] cannot reach", "6 of 12 pairs")


# ------------------------------------------------------------------------------- rasters


def _raster(path: Path, values: np.ndarray, *, crs: str | None, nodata: float | None) -> None:
    import rasterio
    from affine import Affine

    profile = {
        "driver": "GTiff",
        "height": values.shape[0],
        "width": values.shape[1],
        "count": 1,
        "dtype": "float32",
        "transform": Affine(0.01, 0.0, 120.99, 0.0, -0.01, 28.61),
    }
    if crs is not None:
        profile["crs"] = crs
    if nodata is not None:
        profile["nodata"] = nodata
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(values.astype("float32"), 1)


def _use_raster(scenario: Path, **kwargs: object) -> None:
    values = kwargs.pop("values", np.full((12, 32), 50.0))
    _raster(scenario.parent / "data/pop.tif", values, **kwargs)  # type: ignore[arg-type]
    _edit(scenario, "[services]", '[typology]\npopulation_raster = "data/pop.tif"\n\n[services]')


def test_raster_without_crs(tiny, earlier, capsys):
    _use_raster(tiny, crs=None, nodata=-99999.0)
    fails(capsys, tiny, earlier, "pop.tif", "has no CRS")


def test_raster_without_nodata(tiny, earlier, capsys):
    values = np.full((12, 32), 50.0)
    values[:, 25:] = -99999.0  # a sentinel nobody declared
    _use_raster(tiny, values=values, crs="EPSG:4326", nodata=None)
    fails(capsys, tiny, earlier, "pop.tif", "negative or infinite cells", "--nodata -99999")


def test_raster_with_nan_cells_is_reported(tiny, tmp_path, capsys):
    values = np.full((12, 32), 50.0)
    values[3, 3] = np.nan
    _use_raster(tiny, values=values, crs="EPSG:4326", nodata=-99999.0)
    err = succeeds(capsys, tiny, tmp_path / "ok")
    assert "pop.tif" in err and "1 NaN cell" in err


def test_wrong_file_as_raster(tiny, earlier, capsys):
    (tiny.parent / "data/pop.tif").write_text("not a raster", encoding="utf-8")
    _edit(tiny, "[services]", '[typology]\npopulation_raster = "data/pop.tif"\n\n[services]')
    fails(capsys, tiny, earlier, "pop.tif", "could not be opened as a raster")


# ------------------------------------------------------------------------------ scenarios


def test_unknown_key(tiny, earlier, capsys):
    _edit(tiny, "beta = 0.1", "betta = 0.1")
    fails(capsys, tiny, earlier, "tiny.toml", "[flows.people] key 'betta'", "did you mean 'beta'")


def test_wrong_type(tiny, earlier, capsys):
    _edit(tiny, "community_weight = 3.0", 'community_weight = "three"')
    fails(capsys, tiny, earlier, "tiny.toml", "'community_weight' must be float", "'three'")


def test_strategy_of_unknown_kind(tmp_path, earlier, capsys):
    scenario = make_scenario(tmp_path, strategies=True)
    _edit(scenario, 'kind = "add_link"', 'kind = "teleport"')
    fails(capsys, scenario, earlier, "tiny.toml", "[strategies #1] key 'kind'", "'teleport'")


@pytest.mark.parametrize(
    "case",
    [
        ('sites = ["331003002"]', 'sites = ["331003999"]', "sites names ['331003999']"),
        ('to = "331004"', 'to = "331009"', "params.to names ['331009']"),
    ],
)
def test_strategy_naming_unknown_zone(tmp_path, earlier, capsys, case):
    old, new, where = case
    scenario = make_scenario(tmp_path, strategies=True)
    _edit(scenario, old, new)
    fails(capsys, scenario, earlier, "tiny.toml", "'new-road'", where)


def test_strategy_with_bad_parameter(tmp_path, earlier, capsys):
    scenario = make_scenario(tmp_path, strategies=True)
    _edit(scenario, "speed_kph = 60", "speed_kph = -60")
    fails(capsys, scenario, earlier, "tiny.toml", "'new-road'", "speed_kph")


def test_weights_not_summing_to_100(tmp_path, earlier, capsys):
    scenario = make_scenario(tmp_path, strategies=True)
    _edit(
        scenario.parent / "data/weights.csv",
        "residents,co2_t_per_day,40",
        "residents,co2_t_per_day,45",
    )
    fails(capsys, scenario, earlier, "weights.csv", "'residents' add up to 105, not 100")


def test_ahp_matrix_not_reciprocal(tmp_path, earlier, capsys):
    scenario = make_scenario(tmp_path, strategies=True)
    (scenario.parent / "data/ahp.csv").write_text(
        "group,row,col,value\n"
        "residents,co2_t_per_day,mean_time_to_hospital_min,3\n"
        "residents,mean_time_to_hospital_min,co2_t_per_day,3\n",
        encoding="utf-8",
    )
    _edit(scenario, 'weights = "data/weights.csv"', 'ahp = "data/ahp.csv"')
    fails(capsys, scenario, earlier, "ahp.csv", "line 3", "'residents'", "not reciprocal")


@pytest.mark.parametrize(
    "name", ["<script>alert(1)</script>", '<img src=x onerror="alert(1)">', "{{ 7*7 }}"]
)
def test_markup_in_names(tiny, earlier, capsys, name):
    _write_zones(tiny.parent / "data/zones.geojson", name_zh=["黄岩区", name, "路桥区"])
    fails(capsys, tiny, earlier, "zones.geojson", "'name_zh', id 331002", "markup")


def test_markup_in_scenario_text(tmp_path, earlier, capsys):
    scenario = make_scenario(tmp_path, strategies=True)
    _edit(scenario, 'kind = "add_link"', 'kind = "add_link"\ntitle = "<script>x()</script>"')
    fails(capsys, scenario, earlier, "tiny.toml", "[strategies #1] key 'title'", "markup")


# ------------------------------------------------------------------------------- limits


def test_too_large_file(tiny, earlier, capsys, monkeypatch):
    import urlink.validate

    monkeypatch.setattr(urlink.validate, "MAX_TABLE_BYTES", 1000)
    with (tiny.parent / "data/pop.csv").open("a", encoding="utf-8") as fh:
        fh.writelines(f"{110000 + i},1000,other\n" for i in range(100))
    fails(capsys, tiny, earlier, "tiny.toml", "pop.csv", "more than urlink reads", "MAX_TABLE")


def test_too_many_features(tiny, earlier, capsys, monkeypatch):
    import urlink.validate

    monkeypatch.setattr(urlink.validate, "MAX_FEATURES", 2)
    fails(capsys, tiny, earlier, "zones.geojson", "3 features", "MAX_FEATURES")


def test_too_many_zones(tiny, earlier, capsys, monkeypatch):
    import urlink.validate

    monkeypatch.setattr(urlink.validate, "MAX_ZONES", 3)
    fails(capsys, tiny, earlier, "tiny.toml", "4 zones", "MAX_ZONES")


def test_zone_matrices_must_fit_in_memory():
    from urlink.validate import check_zone_count, zone_matrix_bytes

    assert zone_matrix_bytes(100) == 16 * 100 * 100 * 8
    check_zone_count(100, source="z", memory=10 * zone_matrix_bytes(100))
    with pytest.raises(InputError, match=r"z: 4,000 zones need about 1,953 MiB"):
        check_zone_count(4000, source="z", memory=2**30)


# ------------------------------------------------------------------------- output paths


def test_output_folder_equal_to_an_input_file(tiny, capsys):
    pop = tiny.parent / "data/pop.csv"
    before = pop.read_bytes()
    assert main(["run", str(tiny), "--out", str(pop)]) == 2
    assert "is an existing file" in capsys.readouterr().err
    assert pop.read_bytes() == before


@pytest.mark.parametrize("target", [".", "data"])
def test_output_folder_holding_inputs(tiny, capsys, target):
    before = _snapshot(tiny.parent / "data")
    assert main(["run", str(tiny), "--out", str(tiny.parent / target)]) == 2
    err = capsys.readouterr().err
    assert "contains the input" in err and "Traceback" not in err
    assert _snapshot(tiny.parent / "data") == before


@pytest.mark.parametrize(
    "case",
    [
        ('name = "tiny"', 'name = "../escape"', "'../escape' is not a valid scenario name"),
        ('name = "new-road"', 'name = "../../escape"', "'../../escape'"),
    ],
)
def test_names_that_would_escape_the_output_folder(tmp_path, earlier, capsys, case):
    old, new, needle = case
    scenario = make_scenario(tmp_path, strategies=True)
    _edit(scenario, old, new)
    fails(capsys, scenario, earlier, "tiny.toml", needle)


# --------------------------------------------------------------------------- determinism


def _tables(out: Path) -> dict[str, pd.DataFrame]:
    tables = {p.name: pd.read_csv(p) for p in sorted(out.glob("*.csv"))}
    for gpkg in sorted(out.glob("*.gpkg")):
        import pyogrio

        for layer, _ in pyogrio.list_layers(gpkg):
            gdf = gpd.read_file(gpkg, layer=layer)
            wkb = gdf.geometry.to_wkb(hex=True)
            tables[f"{gpkg.name}:{layer}"] = pd.DataFrame(gdf.drop(columns="geometry")).assign(
                wkb=wkb
            )
    return tables


def test_same_inputs_and_seed_give_the_same_numbers(tmp_path, capsys):
    scenario = make_scenario(tmp_path, strategies=True)
    a, b = tmp_path / "a", tmp_path / "b"
    succeeds(capsys, scenario, a)
    env = {**os.environ, "PYTHONHASHSEED": "12345", "PYTHONPATH": str(ROOT)}
    code = [sys.executable, "-m", "urlink.cli", "run", str(scenario), "--out", str(b), "-q"]
    subprocess.run(code, check=True, env=env, cwd=tmp_path, capture_output=True)
    ta, tb = _tables(a), _tables(b)
    assert sorted(ta) == sorted(tb)
    assert {"scores.csv", "robustness.csv", "linkages.gpkg:flows", "zones.gpkg:zones"} <= set(ta)
    for name in ta:
        pd.testing.assert_frame_equal(ta[name], tb[name], check_exact=True, obj=name)


# ---------------------------------------------------------------------- the library API


def test_loaders_raise_input_error_for_garbled_text_and_read_named_encodings(tiny):
    from urlink.io.boundaries import zones_from_file

    path = _gbk_shapefile(tiny.parent / "data")
    with pytest.raises(InputError, match=r"zones.shp: column 'name_zh' holds garbled text"):
        zones_from_file(path, id_col="adcode", name_col="name_zh")
    zones = zones_from_file(path, id_col="adcode", name_col="name_zh", encoding="gbk")
    assert zones.loc["331002", "name"] == "椒江区"


def test_points_loader_refuses_markup_and_swapped_coordinates(tmp_path):
    from urlink.io.boundaries import points_from_file

    path = tmp_path / "p.geojson"
    _write_seats(path, xy=[(28.55, 121.03), (28.58, 121.097)])
    with pytest.raises(InputError, match="swapped"):
        points_from_file(path, id_col="code", name_col="name_zh")
    _write_seats(path)
    text = path.read_text(encoding="utf-8").replace("北洋镇", "<svg onload=alert(1)>")
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match=r"column 'name_zh', id 331003002: .*markup"):
        points_from_file(path, id_col="code", name_col="name_zh")


def test_check_reachability():
    from urlink.network.checks import check_reachability

    nan = np.nan
    ids = ["a", "b", "c", "d"]
    full = pd.DataFrame(np.ones((4, 4)) - np.eye(4), index=ids, columns=ids)
    assert check_reachability(full, source="net") == 0
    one_way = full.copy()
    one_way.loc["a", "d"] = nan
    with pytest.warns(UserWarning, match=r"net: 1 of 12 .* \[\('a', 'd'\)\]"):
        assert check_reachability(one_way, source="net") == 1
    isolated = full.copy()
    isolated.loc["d", ["a", "b", "c"]] = nan
    with pytest.raises(InputError, match=r"net: zones \['d'\] cannot reach"):
        check_reachability(isolated, source="net")
    groups = full.copy()
    groups.loc[["a", "b"], ["c", "d"]] = nan
    groups.loc[["c", "d"], ["a", "b"]] = nan
    with pytest.raises(InputError, match=r"2 groups .*\[\['a', 'b'\], \['c', 'd'\]\]"):
        check_reachability(groups, source="net")


def test_network_coverage():
    from urlink.network.checks import check_network_coverage

    zones = pd.DataFrame(
        {"seat_lon": [121.0, 121.1, 122.0], "seat_lat": [28.5, 28.5, 28.5]}, index=list("abc")
    )
    nodes = np.array([[121.0, 28.5], [121.1, 28.55]])
    with pytest.warns(UserWarning, match=r"net: .* does not reach the seats of zones \['c'\]"):
        check_network_coverage(nodes, zones, source="net")
    with pytest.raises(InputError, match="lies outside the study area"):
        check_network_coverage(nodes + 10, zones, source="net")


def test_osm_prolog_is_scanned_to_the_root_element(tmp_path):
    from urlink.network.streets import streets_from_file

    path = tmp_path / "x.osm"
    padding = "<!-- " + "x" * 300_000 + " -->\n"
    path.write_text(_OSM_HEAD + padding + '<!DOCTYPE osm [<!ENTITY a "b">]>\n<osm/>\n')
    with pytest.raises(InputError, match="DOCTYPE or XML entities"):
        streets_from_file(path)
    path.write_text(_OSM_HEAD + "<!-- " + "x" * 2_000_000 + " -->\n<osm/>\n")
    with pytest.raises(InputError, match="no <osm> root element in the first MiB"):
        streets_from_file(path)


def test_coords_hint_only_when_the_offset_explains_the_mismatch():
    from urlink.io.checks import coords_mismatch_hint

    area = _square(121.0)
    inside = gpd.GeoSeries.from_xy([121.05], [28.55], crs=4326)
    far = gpd.GeoSeries.from_xy([121.3], [28.55], crs=4326)
    assert coords_mismatch_hint(far, area, declared="wgs84") == ""
    gcj = gpd.GeoSeries.from_xy(*wgs84_to_gcj02([121.097], [28.55]), crs=4326)
    assert "read as GCJ02" in coords_mismatch_hint(gcj, area, declared="wgs84")
    assert coords_mismatch_hint(inside, area, declared="gcj02") == ""  # nothing to explain


def test_tables_raise_input_error(tmp_path):
    from urlink.io.tables import SERVICES, read_population_table, read_rows

    folder = tmp_path
    (folder / "x.csv").write_bytes(b'zone_id,population\n"1,2\n\xff\xfe')
    with pytest.raises(InputError, match=r"x\.csv"):
        read_population_table(folder / "x.csv")
    (folder / "h.csv").write_text("zone_id,population\n1,2,3,4\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"h.csv': some rows have more fields than the header"):
        read_rows(folder / "h.csv", SERVICES)
    with pytest.raises(InputError, match="is a folder, not a file"):
        read_rows(folder, SERVICES)


@pytest.mark.parametrize("command", ["validate", "map"])
@pytest.mark.parametrize(
    "case",
    [
        ("data/pop.csv", "331002,800000", "331002,-1", "pop.csv"),
        ("data/seats.geojson", "121.097", "122.5", "seats.geojson"),
        ("tiny.toml", "beta = 0.1", "beta = 0.1\nbetta = 1", "tiny.toml"),
    ],
)
def test_validate_and_map_refuse_the_same_inputs(tiny, capsys, command, case):
    name, old, new, needle = case
    _edit(tiny.parent / name, old, new)
    code = main(
        [command, str(tiny), "--out", str(tiny.parent / "maps")][
            : 2 if command == "validate" else 4
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and needle in err and "Traceback" not in err
    assert len([line for line in err.splitlines() if line.startswith("urlink: error:")]) == 1
    assert not (tiny.parent / "maps").exists()


@pytest.mark.parametrize(
    "case",
    [
        ("data/units.csv", "10,2,0", "ten,2,0", ["units.csv", "'n_communities'", "'ten'"]),
        ("data/units.csv", "10,2,0", "0,0,0", ["units.csv", "['331003001'] have no units"]),
        ("data/pop.csv", "331002,800000", "331002,1e400", ["pop.csv", "'331002': '1e400'"]),
        ("data/services.csv", "331002,hospital", "331002,", ["services.csv", "line(s) [4]"]),
        ("data/seats.geojson", '"331003002"', '"3310030"', ["seats.geojson", "'3310030'"]),
        ("data/seats.geojson", "121.097, 28.58", "121.03, 28.55", ["seats.geojson", "share"]),
        ("data/zones.geojson", '"331004"', '"abc"', ["zones.geojson", "'abc' is not a Chinese"]),
        ("tiny.toml", "seed = 7", "seed = -1", ["tiny.toml", "'seed' = -1"]),
        ("tiny.toml", 'focus = "331003"', 'focus = "999999"', ["tiny.toml", "'999999'"]),
        ("tiny.toml", 'id_col = "adcode"', 'id_col = "nope"', ["zones.geojson", "'nope'"]),
        ("tiny.toml", "speed_kph = 60", 'speed_kph = "fast"', ["tiny.toml", "'speed_kph'"]),
        ("data/weights.csv", "residents,co2", "residents,nonsense", ["weights.csv"]),
    ],
)
def test_more_bad_values(tmp_path, earlier, capsys, case):
    name, old, new, needles = case
    scenario = make_scenario(tmp_path, strategies=True)
    _edit(scenario.parent / name, old, new)
    fails(capsys, scenario, earlier, *needles)


@pytest.mark.parametrize(
    "case",
    [
        ("data/pop.csv", "331002,800000,test", "331002,800000,<b>census</b>", "pop.csv"),
        ("data/services.csv", "331004,market", "331004,<script>x</script>", "services.csv"),
        ("data/weights.csv", "residents,co2", "<i>residents</i>,co2", "weights.csv"),
    ],
)
def test_markup_in_tables(tmp_path, earlier, capsys, case):
    name, old, new, needle = case
    scenario = make_scenario(tmp_path, strategies=True)
    _edit(scenario.parent / name, old, new)
    fails(capsys, scenario, earlier, needle, "markup")
