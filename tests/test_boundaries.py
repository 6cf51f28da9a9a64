from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely import Point, Polygon, box

from urlink.errors import InputError, UrlinkWarning
from urlink.io.boundaries import (
    add_admin_codes,
    admin_codes_from_code,
    points_from_file,
    validate_zones,
    zones_from_file,
    zones_from_points,
)


def _write_squares(path, *, crs="EPSG:4326", ids=("a", "b"), geoms=None):
    geoms = geoms or [box(121.0, 28.5, 121.1, 28.6), box(121.1, 28.5, 121.2, 28.6)]
    gpd.GeoDataFrame({"zid": list(ids), "nm": ["A", "B"]}, geometry=geoms, crs=crs).to_file(path)
    return path


def test_counties_load_with_metric_crs_and_unique_ids(counties_gcj02_path):
    z = add_admin_codes(
        zones_from_file(counties_gcj02_path, id_col="adcode", name_col="name_zh", coords="gcj02")
    )
    assert z.crs.to_epsg() == 32651
    assert z.index.is_unique and len(z) == 11
    # SOURCES.md: the Huangyan polygon covers 988.6 km2 (official 988 km2)
    assert z.loc["331003", "area_km2"] == pytest.approx(988.6, rel=2e-3)
    assert set(z.loc["330382", ["prefecture_code", "province_code"]]) == {"330300", "330000"}
    assert z.loc["331003", "level"] == "county"


def test_missing_id_column_names_file_and_columns(counties_gcj02_path):
    with pytest.raises(InputError, match=r"taizhou_counties_gcj02.geojson: id_col='code'.*adcode"):
        zones_from_file(counties_gcj02_path, id_col="code", name_col="name_zh")


def test_duplicate_and_missing_ids_are_errors(tmp_path):
    path = _write_squares(tmp_path / "dup.geojson", ids=("a", "a"))
    with pytest.raises(InputError, match=r"duplicate ids \['a'\]"):
        zones_from_file(path, id_col="zid", name_col="nm")
    path = tmp_path / "missing.geojson"
    gpd.GeoDataFrame(
        {"zid": ["a", None], "nm": ["A", "B"]},
        geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1)],
        crs="EPSG:4326",
    ).to_file(path)
    with pytest.raises(InputError, match=r"'zid' is empty in rows \[1\]"):
        zones_from_file(path, id_col="zid", name_col="nm")


def test_layer_without_crs_is_an_error(tmp_path):
    path = tmp_path / "nocrs.gpkg"
    with pytest.warns(UserWarning, match="'crs' was not provided"):
        gpd.GeoDataFrame({"zid": ["a"], "nm": ["A"]}, geometry=[box(0, 0, 1, 1)]).to_file(path)
    with pytest.raises(InputError, match=r"nocrs.gpkg: the layer has no CRS"):
        zones_from_file(path, id_col="zid", name_col="nm")


def test_layer_in_another_crs_is_reprojected(tmp_path):
    wgs = _write_squares(tmp_path / "wgs.gpkg")
    merc = tmp_path / "merc.gpkg"
    gpd.read_file(wgs).to_crs("EPSG:3857").to_file(merc)
    a = zones_from_file(wgs, id_col="zid", name_col="nm")
    b = zones_from_file(merc, id_col="zid", name_col="nm")
    assert b.crs == a.crs
    np.testing.assert_allclose(b["area_km2"], a["area_km2"], rtol=1e-6)
    # 0.1 x 0.1 degree at 28.55 N: about 11.13 km x 9.78 km
    assert a["area_km2"].iloc[0] == pytest.approx(108.9, rel=0.01)


def test_invalid_polygon_is_repaired_with_area_warning(tmp_path):
    # a square whose ring twists in a tiny corner loop: repairing it changes nothing visible
    twisted = Polygon(
        [(121.0, 28.5), (121.1, 28.5), (121.1, 28.6), (121.0, 28.6), (121.0, 28.501),
         (121.001, 28.5), (121.0, 28.5005)]
    )  # fmt: skip
    path = _write_squares(tmp_path / "tw.geojson", geoms=[twisted, box(121.1, 28.5, 121.2, 28.6)])
    with pytest.warns(UrlinkWarning, match=r"invalid polygon\(s\) \['a'\] repaired.*area changed"):
        z = zones_from_file(path, id_col="zid", name_col="nm")
    assert z.is_valid.all()
    assert z.geom_type.loc["a"] == "MultiPolygon"


def test_bow_tie_polygon_is_refused(tmp_path):
    # a self-intersecting "bow tie": its signed area is 0, any repair is a guess
    bowtie = Polygon([(121.0, 28.5), (121.1, 28.6), (121.1, 28.5), (121.0, 28.6)])
    path = _write_squares(tmp_path / "bow.geojson", geoms=[bowtie, box(121.1, 28.5, 121.2, 28.6)])
    with pytest.raises(InputError, match=r"bow.geojson: polygons \['a'\] are invalid.*Fix Geom"):
        zones_from_file(path, id_col="zid", name_col="nm")


def test_empty_and_wrong_geometries_are_errors(tmp_path):
    path = tmp_path / "empty.geojson"
    path.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {"type": "Feature", "properties": {"zid": "a", "nm": "A"}, "geometry": None}
                ],
            }
        )
    )
    with pytest.raises(InputError, match=r"\['a'\] have empty geometry"):
        zones_from_file(path, id_col="zid", name_col="nm")
    pts = tmp_path / "pts.geojson"
    gpd.GeoDataFrame(
        {"zid": ["a"], "nm": ["A"]}, geometry=[Point(121, 28.5)], crs="EPSG:4326"
    ).to_file(pts)
    with pytest.raises(InputError, match="must be polygons"):
        zones_from_file(pts, id_col="zid", name_col="nm")


def test_missing_and_empty_files(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        zones_from_file(tmp_path / "nope.geojson", id_col="a", name_col="b")
    (tmp_path / "zero.geojson").write_bytes(b"")
    with pytest.raises(InputError, match="is empty"):
        zones_from_file(tmp_path / "zero.geojson", id_col="a", name_col="b")
    (tmp_path / "junk.geojson").write_text("this is not geojson")
    with pytest.raises(InputError, match="could not be read"):
        zones_from_file(tmp_path / "junk.geojson", id_col="a", name_col="b")


def test_voronoi_hand_example():
    pts = gpd.GeoDataFrame(
        {"name": ["w", "e"]},
        index=["w", "e"],
        geometry=[Point(1, 1), Point(3, 1)],
        crs="EPSG:32651",
    )
    cells = zones_from_points(pts, within=box(0, 0, 4, 2))
    assert cells.loc["w"].geometry.equals(box(0, 0, 2, 2))
    assert cells.loc["e"].geometry.equals(box(2, 0, 4, 2))
    assert (cells["geometry_source"] == "voronoi-approximation").all()


def test_voronoi_rejects_points_outside_and_duplicates():
    pts = gpd.GeoDataFrame(
        {"name": ["a", "b"]},
        index=["a", "b"],
        geometry=[Point(1, 1), Point(9, 9)],
        crs="EPSG:32651",
    )
    with pytest.raises(InputError, match=r"\['b'\] lie outside"):
        zones_from_points(pts, within=box(0, 0, 4, 2))
    dup = pts.set_geometry([Point(1, 1), Point(1, 1)], crs="EPSG:32651")
    with pytest.raises(InputError, match="share a location"):
        zones_from_points(dup, within=box(0, 0, 4, 2))
    with pytest.raises(InputError, match="metric CRS"):
        zones_from_points(pts.to_crs("EPSG:4326"), within=box(0, 0, 4, 2))


def test_huangyan_voronoi_cells_cover_the_district_exactly_once(
    huangyan_zones, counties_gcj02_path
):
    zones, _ = huangyan_zones
    towns = zones[zones["level"] == "township"]
    counties = zones_from_file(
        counties_gcj02_path, id_col="adcode", name_col="name_zh", coords="gcj02"
    )
    district = counties.geometry.loc["331003"]
    assert len(towns) == 19
    total = towns.geometry.area.sum()
    assert total == pytest.approx(district.area, rel=1e-4)
    union = shapely.union_all(np.asarray(towns.geometry.array))
    assert union.area == pytest.approx(total, rel=1e-6)  # no overlaps
    assert union.symmetric_difference(district).area / district.area < 1e-4
    assert (towns["geometry_source"] == "voronoi-approximation").all()


def test_huangyan_township_codes_and_admin_levels(huangyan_zones):
    zones, _ = huangyan_zones
    towns = zones[zones["level"] == "township"]
    assert towns.index.is_unique
    assert all(len(c) == 9 and c.isdigit() and c.startswith("331003") for c in towns.index)
    assert (towns["county_code"] == "331003").all()
    assert (towns["prefecture_code"] == "331000").all()
    assert (towns["province_code"] == "330000").all()
    counties = zones[zones["level"] == "county"]
    assert len(counties) == 10 and "331003" not in counties.index
    assert counties["township_code"].isna().all()


def test_points_from_file_seats(root):
    seats = points_from_file(
        root / "data/places/huangyan_township_seats.geojson",
        id_col="code",
        name_col="name_zh",
        name_en_col="name_pinyin",
    )
    assert len(seats) == 19 and seats.crs.to_epsg() == 32651
    assert seats.loc["331003006", "name_en"] == "Chengjiang"  # not GeoNames' "Dengjiang"


def test_admin_codes_from_code():
    assert admin_codes_from_code("331003101") == {
        "township_code": "331003101",
        "county_code": "331003",
        "prefecture_code": "331000",
        "province_code": "330000",
        "level": "township",
    }
    assert admin_codes_from_code("331000")["level"] == "prefecture"
    assert admin_codes_from_code("330000")["level"] == "province"
    with pytest.raises(InputError, match="'33100' is not a Chinese division code"):
        admin_codes_from_code("33100")


def test_validate_zones_requires_crs():
    g = gpd.GeoDataFrame(geometry=[box(0, 0, 1, 1)], index=["a"])
    with pytest.raises(InputError, match="no CRS"):
        validate_zones(g)
