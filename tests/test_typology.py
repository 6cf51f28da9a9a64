from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from affine import Affine
from shapely.geometry import box

from urlink.errors import InputError
from urlink.io.rasters import zonal_population
from urlink.model.typology import TYPOLOGIES, TypologyParams, add_typology

NAN = math.nan


def make_zones(population: dict[str, float], area_km2: float = 10.0) -> gpd.GeoDataFrame:
    ids = list(population)
    return gpd.GeoDataFrame(
        {"population": list(population.values()), "area_km2": area_km2},
        index=pd.Index(ids, name="zone_id"),
        geometry=[box(i * 4_000, 0, i * 4_000 + 3_000, 3_000) for i in range(len(ids))],
        crs="EPSG:32651",
    )


@pytest.fixture
def hand() -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    # densities (per km², 10 km² each): 3000, 1500, 300, 299, 100, 100, 100
    zones = make_zones(
        {
            "core": 30_000,  # urban
            "edge": 15_000,  # exactly 1,500 -> urban
            "town": 3_000,  # exactly 300 -> peri-urban by density, far from the urban zones
            "near": 2_990,  # 299/km², 30 min exactly -> peri-urban by travel time
            "mid": 1_000,  # 100/km², 31 min -> rural
            "island": 1_000,  # unreachable -> rural
            "hill": 1_000,  # 100/km², 12 min via 'edge' (core is 40) -> peri-urban
        }
    )
    ids = zones.index
    t = pd.DataFrame(NAN, index=ids, columns=ids)
    for a, b, m in [
        ("core", "edge", 5.0),
        ("core", "town", 50.0),
        ("edge", "town", 45.0),
        ("core", "near", 30.0),
        ("edge", "near", 35.0),
        ("core", "mid", 31.0),
        ("edge", "mid", 33.0),
        ("core", "hill", 40.0),
        ("edge", "hill", 12.0),
    ]:
        t.loc[a, b] = t.loc[b, a] = m
    for z in ids:
        t.loc[z, z] = 0.0
    return zones, t


def test_hand_cases_with_skim(hand):
    zones, skim = hand
    out = add_typology(zones, skim=skim)
    assert out["typology"].to_dict() == {
        "core": "urban",
        "edge": "urban",
        "town": "peri-urban",
        "near": "peri-urban",
        "mid": "rural",
        "island": "rural",
        "hill": "peri-urban",
    }
    assert set(out["typology"]) <= set(TYPOLOGIES)
    assert out["density_per_km2"].tolist() == [3000.0, 1500.0, 300.0, 299.0, 100.0, 100.0, 100.0]
    # nearest urban zone, the zone itself excluded: core <-> edge 5 min
    t = out["time_to_urban_min"]
    assert t["core"] == 5.0
    assert t["edge"] == 5.0
    assert t["town"] == 45.0
    assert t["near"] == 30.0
    assert t["mid"] == 31.0
    assert t["hill"] == 12.0
    assert np.isnan(t["island"])
    r = out["typology_reason"]
    assert r["core"] == "density 3,000/km² ≥ 1,500 (urban centre threshold) → urban"
    assert r["edge"] == "density 1,500/km² ≥ 1,500 (urban centre threshold) → urban"
    assert r["town"] == "density 300/km² ≥ 300 (urban cluster threshold) → peri-urban"
    assert r["near"] == (
        "density 299/km² < 300 but 30 min to the nearest urban zone ≤ 30 min → peri-urban"
    )
    assert (
        r["mid"] == "density 100/km² < 300 and 31 min to the nearest urban zone > 30 min → rural"
    )
    assert r["island"] == "density 100/km² < 300 and no urban zone reachable → rural"
    assert r["hill"] == (
        "density 100/km² < 300 but 12 min to the nearest urban zone ≤ 30 min → peri-urban"
    )
    # a copy: the input is unchanged
    assert "typology" not in zones.columns
    assert isinstance(out, gpd.GeoDataFrame)
    assert out.crs == zones.crs


def test_reason_shows_decimals_near_a_threshold():
    zones = make_zones({"c": 20_000, "a": 2_000, "b": 2_000})
    skim = pd.DataFrame(
        [[0.0, 30.4, 29.6], [30.4, 0.0, NAN], [29.6, NAN, 0.0]],
        index=zones.index,
        columns=zones.index,
    )
    out = add_typology(zones, skim=skim)
    assert out.loc["a", "typology_reason"].endswith(
        "30.4 min to the nearest urban zone > 30 min → rural"
    )
    assert (
        "29.6 min to the nearest urban zone ≤ 30 min → peri-urban"
        in out.loc["b", "typology_reason"]
    )
    near_urban = make_zones({"x": 14_996})  # 1,499.6/km² would print as 1,500
    assert (
        add_typology(near_urban)
        .loc["x", "typology_reason"]
        .startswith("density 1,499.6/km² ≥ 300")
    )


def test_params_change_the_classes(hand):
    zones, skim = hand
    strict = TypologyParams(urban_density=2000, cluster_density=500, periurban_max_time_min=10)
    out = add_typology(zones, skim=skim, params=strict)
    assert out["typology"].to_dict() == {
        "core": "urban",
        "edge": "peri-urban",  # 1,500 < 2,000; 5 min to core
        "town": "rural",  # 300 < 500; 50 min to core
        "near": "rural",
        "mid": "rural",
        "island": "rural",
        "hill": "rural",  # edge is no longer urban: 40 min to core
    }
    assert out.loc["hill", "time_to_urban_min"] == 40.0
    assert np.isnan(out.loc["core", "time_to_urban_min"])  # no other urban zone


def test_time_to_centre_instead_of_skim(hand):
    zones, _ = hand
    minutes = pd.Series(
        {"core": 0, "edge": 0, "town": 70, "near": 25, "mid": 31, "island": NAN, "hill": 5}
    )
    out = add_typology(zones, time_to_centre_min=minutes)
    assert out["typology"].tolist() == [
        "urban",
        "urban",
        "peri-urban",
        "peri-urban",
        "rural",
        "rural",
        "peri-urban",
    ]
    assert out.loc["near", "typology_reason"] == (
        "density 299/km² < 300 but 25 min to the nearest urban centre ≤ 30 min → peri-urban"
    )
    assert out.loc["island", "typology_reason"].endswith("no urban centre reachable → rural")
    assert out["time_to_urban_min"].tolist()[:5] == [0.0, 0.0, 70.0, 25.0, 31.0]


def test_density_only_without_travel_times(hand):
    zones, _ = hand
    out = add_typology(zones)
    assert out["typology"].tolist() == [
        "urban",
        "urban",
        "peri-urban",
        "rural",
        "rural",
        "rural",
        "rural",
    ]
    assert out.loc["near", "typology_reason"] == (
        "density 299/km² < 300 and no travel time given → rural"
    )
    assert out["time_to_urban_min"].isna().all()


def test_no_urban_zone_at_all():
    zones = make_zones({"a": 100, "b": 100, "c": 100})
    skim = pd.DataFrame(1.0, index=zones.index, columns=zones.index)
    out = add_typology(zones, skim=skim)
    assert (out["typology"] == "rural").all()
    assert out.loc["a", "typology_reason"].endswith("and no zone is urban → rural")


def test_bad_inputs_name_the_problem(hand):
    zones, skim = hand
    with pytest.raises(InputError, match=r"either skim= .* not both"):
        add_typology(zones, skim=skim, time_to_centre_min=pd.Series(0.0, index=zones.index))
    with pytest.raises(
        InputError, match=r"skim lacks zones \['island'\] as origins; compute it with"
    ):
        add_typology(zones, skim=skim.drop(index="island"))
    with pytest.raises(
        InputError, match=r"skim lacks zones \['hill'\] as destinations; compute it with"
    ):
        add_typology(zones, skim=skim.drop(columns="hill"))
    with pytest.raises(InputError, match="negative travel times"):
        add_typology(zones, skim=skim.replace(5.0, -5.0))
    with pytest.raises(InputError, match=r"time_to_centre_min has no value for zones \['hill'\]"):
        add_typology(zones, time_to_centre_min=pd.Series(1.0, index=zones.index[:-1]))
    with pytest.raises(InputError, match=r"densities has no value for zones \['mid'\]"):
        add_typology(zones, densities=pd.Series(100.0, index=zones.index).drop("mid"))
    bad = pd.Series(100.0, index=zones.index)
    bad["mid"], bad["hill"] = NAN, -1.0
    with pytest.raises(
        InputError, match=r"densities must be numbers >= 0 \(no NaN\).*'mid': nan, 'hill': -1.0"
    ):
        add_typology(zones, densities=bad)
    with pytest.raises(InputError, match=r"no column\(s\) \['area_km2'\].*densities="):
        add_typology(zones.drop(columns="area_km2"))
    with pytest.raises(InputError, match=r"area_km2'\] must be positive.*'core': 0.0"):
        add_typology(zones.assign(area_km2=[0.0, *zones["area_km2"].iloc[1:]]))
    with pytest.raises(InputError, match="params must be a TypologyParams"):
        add_typology(zones, params={"urban_density": 1500})  # type: ignore[arg-type]
    with pytest.raises(InputError, match=r"duplicate ids \['core'\]"):
        add_typology(pd.concat([zones, zones.iloc[:1]]))


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"cluster_density": 1500}, r"cluster_density = 1500 must be below urban_density = 1500"),
        ({"urban_density": 200}, r"cluster_density = 300.0 must be below urban_density = 200"),
        ({"cluster_density": 0}, r"cluster_density = 0 must be > 0"),
        ({"urban_density": -1}, r"urban_density = -1 must be a finite number >= 0"),
        ({"periurban_max_time_min": math.inf}, r"periurban_max_time_min = inf must be a finite"),
        ({"periurban_max_time_min": "30"}, r"periurban_max_time_min = '30' must be a finite"),
        ({"urban_density": True}, r"urban_density = True must be a finite number"),
        ({"density_source": ""}, r"density_source = '' must be a non-empty string"),
    ],
)
def test_params_validation(kwargs, pattern):
    with pytest.raises(InputError, match=pattern):
        TypologyParams(**kwargs)


def test_params_defaults_and_sources():
    p = TypologyParams()
    assert (p.urban_density, p.cluster_density, p.periurban_max_time_min) == (1500, 300, 30)
    assert "UN Statistical Commission 2020" in p.density_source
    assert "Degree of Urbanisation" in p.density_source
    assert p.time_source.startswith("assumption")
    assert "Cattaneo" in p.time_source
    with pytest.raises(AttributeError):
        p.urban_density = 1000  # type: ignore[misc]


def test_densities_from_a_population_raster(tmp_path):
    # 20 x 20 cells of 100 m (0.01 km² each): 25 people per cell (2,500/km²) in the
    # top-left 1 km², 5 per cell (500/km²) top-right, 1 per cell (100/km²) below.
    cells = np.ones((20, 20), dtype="float32")
    cells[:10, :10] = 25
    cells[:10, 10:] = 5
    tif = tmp_path / "worldpop.tif"
    with rasterio.open(
        tif,
        "w",
        driver="GTiff",
        width=20,
        height=20,
        count=1,
        dtype="float32",
        crs="EPSG:32651",
        nodata=-99999,
        transform=Affine(100, 0, 500_000, 0, -100, 3_170_000),
    ) as dst:
        dst.write(cells, 1)
    zones = gpd.GeoDataFrame(
        index=pd.Index(["city", "suburb", "farm"], name="zone_id"),
        geometry=[
            box(500_000, 3_169_000, 501_000, 3_170_000),
            box(501_000, 3_169_000, 502_000, 3_170_000),
            box(500_000, 3_168_000, 502_000, 3_169_000),
        ],
        crs="EPSG:32651",
    )
    zones["area_km2"] = zones.area / 1e6
    pop = zonal_population(zones, tif)
    assert pop.to_dict() == {"city": 2500.0, "suburb": 500.0, "farm": 200.0}
    densities = pop / zones["area_km2"]
    skim = pd.DataFrame(
        [[0, 10, 20], [10, 0, 15], [20, 15, 0]],
        index=zones.index,
        columns=zones.index,
        dtype=float,
    )
    out = add_typology(zones, skim=skim, densities=densities)  # no population column needed
    assert out["density_per_km2"].round(6).to_dict() == {
        "city": 2500.0,
        "suburb": 500.0,
        "farm": 100.0,
    }
    assert out["typology"].to_dict() == {
        "city": "urban",
        "suburb": "peri-urban",
        "farm": "peri-urban",
    }
    assert out.loc["farm", "typology_reason"] == (
        "density 100/km² < 300 but 20 min to the nearest urban zone ≤ 30 min → peri-urban"
    )
    far = add_typology(zones, skim=skim * 2, densities=densities)
    assert far.loc["farm", "typology"] == "rural"


@pytest.fixture(scope="module")
def huangyan_typology(huangyan_zones) -> gpd.GeoDataFrame:
    from urlink.network.skims import travel_time_matrix
    from urlink.network.streets import streets_from_points

    zones, _ = huangyan_zones
    skim = travel_time_matrix(streets_from_points(zones), zones)
    return add_typology(zones, skim=skim)


def test_huangyan_centre_is_urban_and_mountains_rural(huangyan_typology):
    out = huangyan_typology
    cls = out["typology"]
    # central sub-districts: 东城 ~7,000/km², 西城 ~8,400/km² (estimated population over
    # Voronoi-approximated areas)
    assert cls["331003001"] == "urban"
    assert cls["331003003"] == "urban"
    # mountain townships in the west: ~130/km², over an hour from the centre
    for z in ("331003201", "331003202"):
        assert cls[z] == "rural"
        assert out.loc[z, "density_per_km2"] < 300
        assert out.loc[z, "time_to_urban_min"] > 60
        assert out.loc[z, "typology_reason"].endswith(
            "min to the nearest urban zone > 30 min → rural"
        )
    # no sub-district (街道) is rural; every zone has a class and a reason
    streets = out[out["unit_type"] == "街道"]
    assert len(streets) == 8
    assert (streets["typology"] != "rural").all()
    assert out["typology"].isin(TYPOLOGIES).all()
    assert out["typology_reason"].str.contains("density").all()
    # the urban zones are the dense ones, and only they
    assert (out["typology"] == "urban").eq(out["density_per_km2"] >= 1500).all()
