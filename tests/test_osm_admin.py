"""Zones from OSM admin relations (urlink.io.osm_admin) on the real Malta extract."""

from __future__ import annotations

import shutil
from typing import TYPE_CHECKING

import geopandas as gpd
import pytest
import shapely

from urlink.errors import InputError
from urlink.io.osm_admin import GEOMETRY_SOURCE, footprints_from_osm, zones_from_osm

if TYPE_CHECKING:
    from pathlib import Path

from tests.conftest import DATA

MALTA = DATA / "osm" / "malta.osm.pbf"
TARXIEN = 7510559  # a local council tagged admin_level=7 in this 2018 extract


@pytest.fixture(scope="module")
def councils() -> gpd.GeoDataFrame:
    return zones_from_osm(MALTA, admin_level=8, include=[TARXIEN])


def test_malta_has_67_level_8_councils_plus_mistagged_tarxien():
    plain = zones_from_osm(MALTA, admin_level=8)
    assert len(plain) == 67
    assert "Ħal Tarxien" not in set(plain["name"])
    both = zones_from_osm(MALTA, admin_level=8, include=[TARXIEN])
    assert len(both) == 68
    assert both.loc[f"osm:relation/{TARXIEN}", "level"] == "admin_level=7"


def test_columns_ids_and_crs(councils):
    assert councils.crs.to_epsg() == 32633
    assert councils.index.str.fullmatch(r"osm:relation/\d+").all()
    assert (councils["geometry_source"] == GEOMETRY_SOURCE).all()
    for col in ("name", "name_en", "level", "osm_id", "ref", "iso3166_2", "area_km2"):
        assert col in councils.columns
    assert councils.loc["osm:relation/7510580", "name"] == "Valletta"
    # names picks the tag; name_en is name:en, else name
    en = zones_from_osm(MALTA, admin_level=8, names="name:en")
    assert en.loc["osm:relation/7510551", "name"] == "Attard"
    assert en.loc["osm:relation/7510551", "name_en"] == "Attard"
    assert councils.loc["osm:relation/7510551", "name"] == "Ħ'Attard"


def test_polygons_valid_and_cover_the_islands(councils):
    assert councils.is_valid.all()
    assert set(councils.geom_type) <= {"Polygon", "MultiPolygon"}
    # reference land area: the union of the three admin_level=4 islands (Malta, Gozo,
    # Comino), drawn along the coastline, in the same file
    islands = zones_from_osm(MALTA, admin_level=4, crs=councils.crs)
    assert len(islands) == 3
    land = shapely.union_all(islands.geometry.to_numpy())
    union = shapely.union_all(councils.geometry.to_numpy())
    gaps = land.difference(union).area / land.area
    overlaps = (councils.area.sum() - union.area) / land.area
    outside = union.difference(land).area / land.area
    assert gaps < 0.01
    assert overlaps < 0.01
    assert outside < 0.01
    assert 300 < land.area / 1e6 < 330  # Malta's land area is 316 km2


def test_within_keeps_gozo_councils(councils):
    gozo = zones_from_osm(MALTA, admin_level=4).loc[["osm:relation/2101121"]]
    z = zones_from_osm(MALTA, admin_level=8, within=gozo)
    assert len(z) == 14  # Gozo's 14 local councils
    assert "Ir-Rabat" in set(z["name"])


def test_unknown_level_lists_the_levels_in_the_file():
    with pytest.raises(InputError, match=r"admin_level=6 has no .*'8': 67"):
        zones_from_osm(MALTA, admin_level=6)


def test_bad_arguments_and_files(tmp_path: Path):
    with pytest.raises(InputError, match="names='nom'"):
        zones_from_osm(MALTA, admin_level=8, names="nom")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="does not exist"):
        zones_from_osm(tmp_path / "nope.osm.pbf", admin_level=8)
    text = tmp_path / "zones.geojson"
    text.write_text('{"type": "FeatureCollection", "features": []}')
    with pytest.raises(InputError, match="not an OpenStreetMap PBF"):
        zones_from_osm(text, admin_level=8)
    junk = tmp_path / "junk.osm.pbf"
    junk.write_bytes(b"this is not a pbf file at all")
    with pytest.raises(InputError, match=r"junk\.osm\.pbf.*could not be read"):
        zones_from_osm(junk, admin_level=8)
    with pytest.raises(InputError, match=r"include=\[1\]"):
        zones_from_osm(MALTA, admin_level=8, include=[1])


def test_file_without_boundaries(tmp_path: Path):
    # the small Finnish test extract has buildings but no admin relation
    src = DATA.parent / "tests" / "data"
    pbfs = sorted(src.rglob("*.osm.pbf"))
    if not pbfs:
        pytest.skip("no small PBF among the test data")
    dst = tmp_path / "small.osm.pbf"
    shutil.copy(pbfs[0], dst)
    with pytest.raises(InputError, match=r"small\.osm\.pbf.*no boundary=administrative"):
        zones_from_osm(dst, admin_level=8)


def test_footprints_from_osm():
    fp = footprints_from_osm(MALTA)
    assert set(fp["kind"]) == {"building", "residential"}
    assert (fp["kind"] == "building").sum() > 10_000
    assert fp.crs.to_epsg() == 4326
    assert fp["levels"].dropna().gt(0).all()
