from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from urlink.errors import InputError
from urlink.io.crs import (
    CONVERTED_MARK,
    check_coords,
    gcj02_to_wgs84,
    gdf_gcj02_to_wgs84,
    local_metric_crs,
    out_of_china,
    wgs84_to_gcj02,
)


def test_offset_near_huangyan_has_documented_size_and_sign():
    # SOURCES.md: around Huangyan the offset is about +0.0042 deg lon and -0.0031 deg lat
    lon, lat = wgs84_to_gcj02(121.25867, 28.64815)
    assert float(lon - 121.25867) == pytest.approx(0.0042, abs=0.0003)
    assert float(lat - 28.64815) == pytest.approx(-0.0031, abs=0.0003)


def test_round_trip_error_below_1e7_on_a_grid_over_china():
    rng = np.random.default_rng(42)
    lon = rng.uniform(73.0, 135.0, 20_000)
    lat = rng.uniform(18.0, 53.0, 20_000)
    glon, glat = wgs84_to_gcj02(lon, lat)
    back_lon, back_lat = gcj02_to_wgs84(glon, glat)
    assert np.abs(back_lon - lon).max() < 1e-7
    assert np.abs(back_lat - lat).max() < 1e-7
    # and the offset is real (hundreds of metres), so the test could fail
    assert np.median(np.hypot(glon - lon, glat - lat)) > 1e-3


@settings(max_examples=200, deadline=None)
@given(st.floats(73.0, 135.0), st.floats(18.0, 53.0))
def test_round_trip_property(lon: float, lat: float):
    back = gcj02_to_wgs84(*wgs84_to_gcj02(lon, lat))
    assert abs(float(back[0]) - lon) < 1e-7
    assert abs(float(back[1]) - lat) < 1e-7


def test_no_offset_outside_china():
    lon, lat = wgs84_to_gcj02([13.4, -0.1], [52.5, 51.5])
    assert lon.tolist() == [13.4, -0.1]
    assert lat.tolist() == [52.5, 51.5]
    assert out_of_china([13.4], [52.5]).all()


def test_converted_county_polygons_match_the_shared_wgs84_oracle(
    counties_gcj02_path, counties_wgs84_oracle_path
):
    gcj = gpd.read_file(counties_gcj02_path)
    oracle = gpd.read_file(counties_wgs84_oracle_path)
    converted = gdf_gcj02_to_wgs84(gcj)
    assert (converted["adcode"].to_numpy() == oracle["adcode"].to_numpy()).all()
    a = shapely.get_coordinates(np.asarray(converted.geometry.array))
    b = shapely.get_coordinates(np.asarray(oracle.geometry.array))
    assert a.shape == b.shape
    assert a.shape[0] > 10_000
    assert np.abs(a - b).max() < 1e-6
    # the inputs really differ by the offset, so agreement is not trivial
    g = shapely.get_coordinates(np.asarray(gcj.geometry.array))
    assert np.abs(g - b).max() > 3e-3


def test_double_conversion_is_refused(counties_gcj02_path, tmp_path):
    converted = gdf_gcj02_to_wgs84(gpd.read_file(counties_gcj02_path))
    assert converted.attrs["urlink_coords"] == CONVERTED_MARK
    with pytest.raises(InputError, match="already converted"):
        gdf_gcj02_to_wgs84(converted)
    # the mark survives a round trip through a file (attrs do not)
    path = tmp_path / "converted.gpkg"
    converted.to_file(path)
    reread = gpd.read_file(path)
    with pytest.raises(InputError, match=r"already converted.*coords='wgs84'"):
        gdf_gcj02_to_wgs84(reread, source=str(path))


def test_gcj02_refuses_projected_layers():
    g = gpd.GeoDataFrame(geometry=[shapely.Point(500_000, 3_170_000)], crs="EPSG:32651")
    with pytest.raises(InputError, match="projected"):
        gdf_gcj02_to_wgs84(g)


def test_swapped_lat_lon_is_an_error():
    with pytest.raises(InputError, match="swapped"):
        wgs84_to_gcj02(28.6, 121.3)


def test_check_coords():
    assert check_coords("wgs84") == "wgs84"
    with pytest.raises(InputError, match=r"coords='WGS-84'.*'gcj02'"):
        check_coords("WGS-84")


def test_local_metric_crs_is_utm_51n_for_huangyan(counties_gcj02_path):
    g = gpd.read_file(counties_gcj02_path)
    assert local_metric_crs(g).to_epsg() == 32651
    south = gpd.GeoSeries([shapely.Point(-43.2, -22.9)], crs="EPSG:4326")
    assert local_metric_crs(south).to_epsg() == 32723
