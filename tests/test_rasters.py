from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from affine import Affine
from shapely.geometry import box

from urlink.errors import InputError, UrlinkWarning
from urlink.io.rasters import sample_raster, zonal_population

X0, Y0, CELL = 500_000.0, 3_170_000.0, 100.0
TRANSFORM = Affine(CELL, 0, X0, 0, -CELL, Y0)
NODATA = -99999.0


def cell_values() -> np.ndarray:
    """10 x 10 cells, value 10 * row + col + 1 (1..100)."""
    r, c = np.mgrid[0:10, 0:10]
    return (10 * r + c + 1).astype("float32")


def write_raster(
    path: Path,
    values: np.ndarray,
    *,
    crs: str | None = "EPSG:32651",
    nodata: float | None = None,
) -> Path:
    profile = {
        "driver": "GTiff",
        "width": values.shape[1],
        "height": values.shape[0],
        "count": 1,
        "dtype": values.dtype.name,
        "transform": TRANSFORM,
        "nodata": nodata,
    }
    if crs is not None:
        profile["crs"] = crs
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(values, 1)
    return path


@pytest.fixture(scope="module")
def pop_tif(tmp_path_factory) -> Path:
    """Float raster with one nodata cell at (1, 1) and one NaN cell at (2, 2)."""
    v = cell_values()
    v[1, 1] = NODATA
    v[2, 2] = np.nan
    return write_raster(tmp_path_factory.mktemp("r") / "pop.tif", v, nodata=NODATA)


def cells_box(row0: int, row1: int, col0: int, col1: int):
    """Polygon exactly covering rows row0..row1-1 and cols col0..col1-1."""
    return box(X0 + col0 * CELL, Y0 - row1 * CELL, X0 + col1 * CELL, Y0 - row0 * CELL)


@pytest.fixture
def zones() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        index=pd.Index(["A", "B", "C"], name="zone_id"),
        geometry=[
            cells_box(0, 5, 0, 5),  # rows 0-4, cols 0-4
            cells_box(5, 10, 5, 7),  # rows 5-9, cols 5-6
            # 180 m square cutting 9 cells but holding one cell centre (row 8, col 1)
            box(X0 + 60, Y0 - 940, X0 + 240, Y0 - 760),
        ],
        crs="EPSG:32651",
    )


# A: sum of 10r + c + 1 over r, c in 0..4 = 25 + 500 + 50 = 575, minus the nodata cell
#    (1, 1) = 12 and the NaN cell (2, 2) = 23 -> 540
# B: per row r: (10r + 6) + (10r + 7) = 20r + 13; r = 5..9 -> 700 + 65 = 765
# C: only the centre of cell (8, 1) is inside -> 82 (all_touched would add 8 more cells)
EXPECTED = {"A": 540.0, "B": 765.0, "C": 82.0}


def test_zonal_sums_by_hand(pop_tif, zones):
    with pytest.warns(UrlinkWarning, match=r"pop.tif.*1 NaN cell.*\['A'\]"):
        out = zonal_population(zones, pop_tif)
    assert out.name == "population"
    assert out.dtype == "float64"
    assert out.index.equals(zones.index)
    assert out.to_dict() == EXPECTED


def test_zones_in_wgs84_are_reprojected(pop_tif, zones):
    lonlat = zones.to_crs("EPSG:4326")
    with pytest.warns(UrlinkWarning, match="NaN cell"):
        out = zonal_population(lonlat, pop_tif)
    assert out.to_dict() == pytest.approx(EXPECTED)


def test_raster_without_nodata_counts_every_cell(tmp_path, zones):
    tif = write_raster(tmp_path / "ints.tif", cell_values().astype("int32"))
    out = zonal_population(zones, tif)  # no warning: zeros add nothing, there are no NaN
    # A without exclusions: 575
    assert out.to_dict() == {"A": 575.0, "B": 765.0, "C": 82.0}


def test_undeclared_negative_sentinel_is_an_error(tmp_path, zones):
    v = cell_values().astype("int32")
    v[0, 0] = -9999
    tif = write_raster(tmp_path / "sentinel.tif", v)
    with pytest.raises(InputError, match=r"sentinel.tif.*\['A'\].*-9999.*--nodata -9999"):
        zonal_population(zones, tif)


def test_partial_cover_and_tiny_zone_warn(pop_tif):
    z = gpd.GeoDataFrame(
        index=["edge", "tiny"],
        geometry=[
            cells_box(8, 10, 9, 11),  # cols 9-10: col 10 is off the raster
            box(X0 + 10, Y0 - 40, X0 + 40, Y0 - 10),  # inside cell (0, 0), no centre
        ],
        crs="EPSG:32651",
    )
    with pytest.warns(UrlinkWarning) as record:
        out = zonal_population(z, pop_tif)
    messages = [str(w.message) for w in record]
    assert any("covers only part of 1 zone" in m and "'edge': '50.0%'" in m for m in messages)
    assert any("['tiny'] hold no cell centre" in m for m in messages)
    # edge: cells (8, 9) = 90 and (9, 9) = 100
    assert out.to_dict() == {"edge": 190.0, "tiny": 0.0}


def test_zones_outside_raster_are_named(pop_tif, zones):
    far = gpd.GeoDataFrame(
        index=["far-1", "far-2"],
        geometry=[box(600_000, 3_000_000, 601_000, 3_001_000)] * 2,
        crs="EPSG:32651",
    )
    both = pd.concat([zones, far])
    with pytest.raises(InputError, match=r"\['far-1', 'far-2'\] do not overlap raster 'pop.tif'"):
        zonal_population(both, pop_tif)


def test_raster_without_crs_names_the_file(tmp_path, zones):
    tif = write_raster(tmp_path / "nocrs.tif", cell_values(), crs=None)
    with pytest.raises(InputError, match=r"raster 'nocrs.tif' has no CRS.*edit-info --crs"):
        zonal_population(zones, tif)


def test_bad_files_and_arguments(tmp_path, pop_tif, zones):
    with pytest.raises(InputError, match=r"missing.tif' does not exist"):
        zonal_population(zones, tmp_path / "missing.tif")
    text = tmp_path / "notes.tif"
    text.write_text("not a raster\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"'notes.tif' could not be opened as a raster"):
        zonal_population(zones, text)
    with pytest.raises(InputError, match=r"band=2 is not in raster 'pop.tif'.*bands 1..1"):
        zonal_population(zones, pop_tif, band=2)
    with pytest.raises(InputError, match=r"zones have no CRS.*'pop.tif'.*set_crs"):
        zonal_population(zones.set_crs(None, allow_override=True), pop_tif)


def test_sample_raster_at_cell_centres(pop_tif):
    # centres of cells (0, 0), (3, 4) and the nodata cell (1, 1); one point off the raster
    xs = [X0 + 50, X0 + 450, X0 + 150, X0 + 5_000]
    ys = [Y0 - 50, Y0 - 350, Y0 - 150, Y0 - 50]
    pts = gpd.GeoDataFrame(
        index=["p", "q", "nd", "off"], geometry=gpd.points_from_xy(xs, ys), crs="EPSG:32651"
    )
    with pytest.warns(UrlinkWarning) as record:
        out = sample_raster(pts.to_crs("EPSG:4326"), pop_tif)
    messages = " | ".join(str(w.message) for w in record)
    assert "['off'] are outside raster 'pop.tif'" in messages
    assert "['nd'] are on nodata or NaN cells" in messages
    assert out.name == "pop"
    assert out.loc["p"] == 1.0
    assert out.loc["q"] == 35.0  # 10 * 3 + 4 + 1
    assert np.isnan(out.loc["nd"])
    assert np.isnan(out.loc["off"])


def test_sample_raster_rejects_bad_points(pop_tif, zones):
    with pytest.raises(InputError, match=r"not non-empty Points.*representative_point"):
        sample_raster(zones, pop_tif)
    far = gpd.GeoDataFrame(index=["x"], geometry=gpd.points_from_xy([0.0], [0.0]), crs="EPSG:4326")
    with pytest.raises(InputError, match=r"no point of \['x'\] is on raster 'pop.tif'"):
        sample_raster(far, pop_tif)


def test_sample_raster_names_a_truncated_file(tmp_path):
    """A cell beyond the end of a truncated GeoTIFF was an internal error (RasterioIOError)."""
    r, c = np.mgrid[0:200, 0:200]
    tif = write_raster(tmp_path / "cut.tif", (r * 200 + c).astype("float32"))
    data = tif.read_bytes()
    tif.write_bytes(data[: len(data) // 2])  # the header stays, the lower rows are lost
    pts = gpd.GeoDataFrame(
        index=["top", "bottom"],
        geometry=gpd.points_from_xy([X0 + 50, X0 + 50], [Y0 - 50, Y0 - 199 * CELL - 50]),
        crs="EPSG:32651",
    )
    with pytest.raises(InputError, match=r"'cut.tif': the cells of point 'bottom' could not be "
                       r"read .*damaged or truncated"):  # fmt: skip
        sample_raster(pts, tif)


def test_sample_raster_refuses_a_crs_without_transformation(tmp_path):
    tif = write_raster(
        tmp_path / "local.tif", cell_values(), crs='LOCAL_CS["engineering",UNIT["metre",1]]'
    )
    pts = gpd.GeoDataFrame(
        index=["p"], geometry=gpd.points_from_xy([121.0], [28.6]), crs="EPSG:4326"
    )
    with pytest.raises(InputError, match=r"'local.tif': its CRS .* cannot be transformed"):
        sample_raster(pts, tif)
