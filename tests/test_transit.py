"""Bus services and transit skims (urlink.network.transit): hand-worked cases on 3-4 zones."""

from __future__ import annotations

import os
import tarfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from urlink.errors import InputError, UrlinkWarning
from urlink.network.transit import (
    LINE_COLUMNS,
    BusService,
    TransitSkim,
    bus_service_from_gtfs,
    bus_service_from_table,
    transit_skim,
)

DATA = Path(__file__).resolve().parents[1] / "data"
DTA_FEED = Path(__file__).resolve().parent / "data" / "gtfs" / "dta_good_feed.zip"

Z = ["a", "b", "c", "d"]
# car minutes between seats: a-b 6, b-c 6, c-d 9 (a chain), symmetric
CAR = pd.DataFrame(
    [[0, 6, 12, 21], [6, 0, 6, 15], [12, 6, 0, 9], [21, 15, 9, 0]], index=Z, columns=Z, dtype=float
)
ACCESS = pd.Series([2.0, 3.0, 4.0, 5.0], index=Z)  # intrazonal walk minutes
EMPTY = BusService(pd.DataFrame(columns=list(LINE_COLUMNS)))


def one_line() -> BusService:
    return EMPTY.with_line("L1", ["a", "b", "c"], headway_min=20.0, speed_factor=0.6, fare_yuan=2)


def test_one_line_components() -> None:
    sk = transit_skim(one_line(), CAR, access_min=ACCESS)
    assert isinstance(sk, TransitSkim)
    # a -> c: ride 12 / 0.6 = 20, wait 20 / 2 = 10, walk 2 + 4, no transfer, one fare
    assert sk.in_vehicle_min.loc["a", "c"] == pytest.approx(20.0)
    assert sk.wait_min.loc["a", "c"] == pytest.approx(10.0)
    assert sk.access_min.loc["a", "c"] == pytest.approx(6.0)
    assert sk.transfers.loc["a", "c"] == 0
    assert sk.fare_yuan.loc["a", "c"] == pytest.approx(2.0)
    # the line runs both ways; a -> b rides one leg
    assert sk.in_vehicle_min.loc["c", "a"] == pytest.approx(20.0)
    assert sk.in_vehicle_min.loc["a", "b"] == pytest.approx(10.0)
    assert sk.access_min.loc["b", "c"] == pytest.approx(7.0)
    assert sk.total_min().loc["a", "c"] == pytest.approx(36.0)
    assert sk.total_min(wait_weight=2.0, access_weight=0.0).loc["a", "c"] == pytest.approx(40.0)


def test_no_bus_is_nan_and_diagonal_is_nan() -> None:
    sk = transit_skim(one_line(), CAR, access_min=ACCESS)
    for m in (sk.in_vehicle_min, sk.wait_min, sk.access_min, sk.fare_yuan, sk.transfers):
        assert np.isnan(m.loc["a", "d"])
        assert np.isnan(m.loc["d", "a"])
        assert np.isnan(np.diag(m.to_numpy())).all()
        assert list(m.index) == Z
        assert list(m.columns) == Z


def two_lines() -> BusService:
    return one_line().with_line("L2", ["c", "d"], headway_min=10.0, speed_factor=0.5, fare_yuan=3)


def test_transfer_waits_on_both_lines() -> None:
    sk = transit_skim(two_lines(), CAR, access_min=ACCESS)
    # a -> d: ride 20 + 9 / 0.5 = 38, wait 10 + 5, walk 2 + 5 (none at the transfer)
    assert sk.in_vehicle_min.loc["a", "d"] == pytest.approx(38.0)
    assert sk.wait_min.loc["a", "d"] == pytest.approx(15.0)
    assert sk.access_min.loc["a", "d"] == pytest.approx(7.0)
    assert sk.transfers.loc["a", "d"] == 1
    assert sk.fare_yuan.loc["a", "d"] == pytest.approx(5.0)


def test_transfer_penalty_chooses_the_route_not_the_components() -> None:
    # a direct but slow line a-d: ride 21 / (1/3) = 63, wait 5
    svc = two_lines().with_line("L3", ["a", "d"], headway_min=10.0, speed_factor=1 / 3)
    # generalized: via c = 38 + 1.5 * 15 + 1.5 * 7 + P = 71 + P; direct = 63 + 7.5 + 10.5 = 81
    low = transit_skim(svc, CAR, access_min=ACCESS, transfer_penalty_min=5.0)
    assert low.transfers.loc["a", "d"] == 1
    assert low.in_vehicle_min.loc["a", "d"] == pytest.approx(38.0)
    assert low.total_min().loc["a", "d"] == pytest.approx(38.0 + 15.0 + 7.0)  # no penalty
    high = transit_skim(svc, CAR, access_min=ACCESS, transfer_penalty_min=20.0)
    assert high.transfers.loc["a", "d"] == 0
    assert high.in_vehicle_min.loc["a", "d"] == pytest.approx(63.0)
    assert high.wait_min.loc["a", "d"] == pytest.approx(5.0)
    assert high.access_min.loc["a", "d"] == pytest.approx(7.0)


def test_weights_pick_slower_ride_with_fewer_waits() -> None:
    # two fast lines a-b, b-c (ride 20, wait 20, one transfer) or one slow line a-c (ride 30,
    # wait 10)
    svc = (
        EMPTY.with_line("fast1", ["a", "b"], headway_min=20.0, speed_factor=0.6)
        .with_line("fast2", ["b", "c"], headway_min=20.0, speed_factor=0.6)
        .with_line("slow", ["a", "c"], headway_min=20.0, speed_factor=0.4)
    )
    # waits weigh 1.5: fast = 20 + 30 = 50 > slow = 30 + 15 = 45
    sk = transit_skim(svc, CAR, access_min=ACCESS, transfer_penalty_min=0.0, wait_weight=1.5)
    assert sk.in_vehicle_min.loc["a", "c"] == pytest.approx(30.0)
    assert sk.transfers.loc["a", "c"] == 0
    # waits free: fast = 20 < slow = 30
    sk = transit_skim(svc, CAR, access_min=ACCESS, transfer_penalty_min=0.0, wait_weight=0.0)
    assert sk.in_vehicle_min.loc["a", "c"] == pytest.approx(20.0)
    assert sk.wait_min.loc["a", "c"] == pytest.approx(20.0)
    assert sk.transfers.loc["a", "c"] == 1


def test_with_headway_lowers_wait_and_copies() -> None:
    svc = one_line()
    faster = svc.with_headway("L1", 10.0)
    assert svc.lines.loc[0, "headway_min"] == 20.0  # the original is unchanged
    before = transit_skim(svc, CAR, access_min=ACCESS)
    after = transit_skim(faster, CAR, access_min=ACCESS)
    assert after.wait_min.loc["a", "c"] == pytest.approx(5.0)
    assert (after.wait_min.fillna(0) <= before.wait_min.fillna(0)).all().all()
    with pytest.raises(InputError, match="'nope' is not a line"):
        svc.with_headway("nope", 10.0)
    with pytest.raises(InputError, match="headway_min"):
        svc.with_headway("L1", 0.0)


def test_with_line_adds_a_connection() -> None:
    svc = one_line()
    assert np.isnan(transit_skim(svc, CAR, access_min=ACCESS).in_vehicle_min.loc["a", "d"])
    more = svc.with_line("L2", ["c", "d"], headway_min=10.0)
    assert len(svc.lines) == 1
    assert np.isfinite(transit_skim(more, CAR, access_min=ACCESS).in_vehicle_min.loc["a", "d"])
    with pytest.raises(InputError, match="duplicate line names"):
        svc.with_line("L1", ["c", "d"], headway_min=10.0)
    with pytest.raises(InputError, match="speed_factor"):
        svc.with_line("L9", ["c", "d"], headway_min=10.0, speed_factor=1.5)


def test_with_line_checks_only_the_new_line_and_gives_the_checked_frame() -> None:
    """Adding a line to checked lines gives the frame the constructor gives of them all."""
    svc = two_lines()
    more = svc.with_line("L3", ["a", "d"], headway_min=12.5, fare_yuan=1, source="s")
    row = pd.DataFrame(
        {
            "line": ["L3"],
            "stops": [("a", "d")],
            "headway_min": [12.5],
            "speed_factor": [0.7],
            "fare_yuan": [1],
            "source": ["s"],
        }
    )
    row["speed_factor"] = more.lines["speed_factor"].iloc[-1]  # the default
    built = BusService(pd.concat([svc.lines, row], ignore_index=True))
    pd.testing.assert_frame_equal(more.lines, built.lines, check_exact=True)
    assert isinstance(more.lines["stops"].iloc[-1], tuple)
    # a bad new line is refused as the constructor refuses it, naming the column
    with pytest.raises(InputError, match="headway_min"):
        svc.with_line("L4", ["a", "d"], headway_min=-1.0)
    with pytest.raises(InputError, match="repeats a zone"):
        svc.with_line("L4", ["a", "a"], headway_min=10.0)


def test_transit_skim_bad_inputs() -> None:
    with pytest.raises(InputError, match=r"stop\(s\) \['x'\]"):
        transit_skim(EMPTY.with_line("X", ["a", "x"], headway_min=10.0), CAR, access_min=ACCESS)
    with pytest.raises(InputError, match="access_min"):
        transit_skim(one_line(), CAR, access_min=ACCESS.drop("d"))
    with pytest.raises(InputError, match="wait_weight"):
        transit_skim(one_line(), CAR, access_min=ACCESS, wait_weight=-1.0)
    car = CAR.copy()
    car.loc["a", "b"] = np.nan
    with pytest.raises(InputError, match="no time from 'a' to 'b'"):
        transit_skim(one_line(), car, access_min=ACCESS)


def huangyan_ids() -> list[str]:
    towns = pd.read_csv(DATA / "tables" / "huangyan_townships_nbs2023.csv", dtype=str)
    return [*towns["code"].tolist(), "331002", "331004"]


def test_huangyan_table_serves_every_township() -> None:
    ids = huangyan_ids()
    svc = bus_service_from_table(DATA / "tables" / "huangyan_bus_lines.csv", ids)
    assert svc.lines["source"].str.startswith("estimate:").all()
    served = {z for stops in svc.lines["stops"] for z in stops}
    assert set(ids) <= served
    urban = svc.lines["line"].str.startswith("U")
    assert svc.lines.loc[urban, "headway_min"].between(10, 15).all()
    assert svc.lines.loc[~urban, "headway_min"].between(15, 60).all()
    # every pair of zones is joined by bus (coverage baseline 100%, not 0)
    car = pd.DataFrame(10.0, index=ids, columns=ids)
    sk = transit_skim(svc, car, access_min=pd.Series(5.0, index=ids))
    off = ~np.eye(len(ids), dtype=bool)
    assert np.isfinite(sk.in_vehicle_min.to_numpy()[off]).all()
    assert sk.transfers.to_numpy()[off].max() <= 2


GOOD = "line,stops,headway_min,speed_factor,fare_yuan,source\n"


@pytest.mark.parametrize(
    ("row", "column"),
    [
        ("U1,331003001;999,12,0.6,2,estimate: x", "stops"),
        ("U1,331003001;331003002,0,0.6,2,estimate: x", "headway_min"),
        ("U1,331003001;331003002,-5,0.6,2,estimate: x", "headway_min"),
        ("U1,331003001;331003002,12,1.5,2,estimate: x", "speed_factor"),
        ("U1,331003001;331003002,12,0.6,-1,estimate: x", "fare_yuan"),
        ("U1,331003001;331003002,12,0.6,two,estimate: x", "fare_yuan"),
        ("U1,331003001,12,0.6,2,estimate: x", "stops"),
    ],
)
def test_bad_table_names_file_line_and_column(tmp_path: Path, row: str, column: str) -> None:
    p = tmp_path / "lines.csv"
    ok = "U0,331003001;331003003,12,0.6,2,estimate: x\n"
    p.write_text(GOOD + ok + row + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=rf"lines\.csv'?, line 3, column '{column}'"):
        bus_service_from_table(p, huangyan_ids())


def test_bad_table_missing_column(tmp_path: Path) -> None:
    p = tmp_path / "lines.csv"
    p.write_text("line,stops,headway_min,fare_yuan,source\nU1,a;b,12,2,x\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"lines\.csv.*missing column\(s\) \['speed_factor'\]"):
        bus_service_from_table(p, ["a", "b"])


# ---- GTFS ------------------------------------------------------------------------------------

# (lon, lat) of the stops of Google's demo feed; NADAV and DADAN get no zone
DTA_STOPS = {
    "airport": (-116.784582, 36.868446),
    "bullfrog": (-116.81797, 36.88108),
    "stagecoach": (-116.751677, 36.915682),
    "nanaa": (-116.761472, 36.914944),
    "emsi": (-116.76218, 36.905697),
    "amv": (-116.40094, 36.641496),
    "furnace": (-117.133162, 36.425288),
}


def dta_zones() -> gpd.GeoDataFrame:
    """Squares of 600 m around the stops, built in UTM 11N (EPSG:32611)."""
    lon, lat = zip(*DTA_STOPS.values(), strict=True)
    pts = gpd.GeoSeries.from_xy(lon, lat, crs=4326).to_crs(32611)
    squares = pts.buffer(300, cap_style="square").set_axis(list(DTA_STOPS))
    return gpd.GeoDataFrame(geometry=squares, crs=32611).rename_axis("zone_id")


def test_gtfs_demo_feed() -> None:
    gk = pytest.importorskip("gtfs_kit")
    assert gk is not None
    zones = dta_zones()
    ids = list(DTA_STOPS)
    car = pd.DataFrame(5.0, index=ids, columns=ids)
    with pytest.warns(UrlinkWarning) as rec:
        svc = bus_service_from_gtfs(
            DTA_FEED, zones, date="20070605", start="06:00:00", end="10:00:00", car_skim=car
        )
    messages = " | ".join(str(w.message) for w in rec)
    assert "2 of 9 stops lie outside every zone" in messages
    assert "['USD']" in messages
    lines = svc.lines.set_index("line")
    assert set(lines.index) == {"AB", "BFC", "STBA", "CITY"}  # AAMV runs on weekends only
    assert lines.loc["AB", "stops"] == ("airport", "bullfrog")
    assert lines.loc["CITY", "stops"] == ("stagecoach", "nanaa", "emsi")
    # one AB trip in the 240-minute window in its direction; STBA every 1800 s
    assert lines.loc["AB", "headway_min"] == pytest.approx(240.0)
    assert lines.loc["STBA", "headway_min"] == pytest.approx(30.0)
    # CITY1 by frequencies.txt: 7199 s / 1800 + 7199 s / 600 trips
    assert lines.loc["CITY", "headway_min"] == pytest.approx(240 / (7199 / 1800 + 7199 / 600))
    # speed factor: 5 min by car / 10 min scheduled; CITY: 10 / 26, clipped at 1 elsewhere
    assert lines.loc["AB", "speed_factor"] == pytest.approx(0.5)
    assert lines.loc["CITY", "speed_factor"] == pytest.approx(10 / 26)
    assert lines.loc["AB", "fare_yuan"] == pytest.approx(1.25)
    assert lines.loc["CITY", "fare_yuan"] == 0.0
    assert lines["source"].str.contains("GTFS dta_good_feed.zip").all()
    sk = transit_skim(svc, car, access_min=pd.Series(3.0, index=ids))
    assert sk.transfers.loc["stagecoach", "bullfrog"] == 1  # STBA then AB at the airport


def test_gtfs_errors(tmp_path: Path) -> None:
    pytest.importorskip("gtfs_kit")
    with pytest.raises(InputError, match="the window is empty"):
        bus_service_from_gtfs(DTA_FEED, dta_zones(), start="09:00:00", end="07:00:00")
    with pytest.raises(InputError, match="is not a time"):
        bus_service_from_gtfs(DTA_FEED, dta_zones(), start="seven")
    far = dta_zones().translate(xoff=1e6)
    with (
        pytest.raises(InputError, match="no route has a trip between two zones"),
        pytest.warns(UrlinkWarning),
    ):
        bus_service_from_gtfs(DTA_FEED, far, date="20070605")


def _umich_sdist() -> Path | None:
    candidates = [
        os.environ.get("URLINK_GTFS_SEGMENTS_SDIST", ""),
        "/tmp/gtfs_pk/sd/gtfs-segments/gtfs_segments-2.1.7.tar.gz",
        "/tmp/gtfs_segments-2.1.7.tar.gz",
    ]
    for c in candidates:
        if c and Path(c).is_file():
            return Path(c)
    return None


def test_gtfs_real_feed_umich(tmp_path: Path) -> None:
    """Optional: the real University of Michigan feed (not shipped; licence not stated)."""
    pytest.importorskip("gtfs_kit")
    sdist = _umich_sdist()
    if sdist is None:
        pytest.skip(
            "gtfs_segments-2.1.7.tar.gz not found (pip download --no-deps --no-binary :all: "
            "gtfs-segments==2.1.7, then set URLINK_GTFS_SEGMENTS_SDIST)"
        )
    member = "test/data/Ann Arbor-University of Michigan Transit Services-MI/gtfs.zip"
    with tarfile.open(sdist) as tar:
        names = [n for n in tar.getnames() if n.endswith(member)]
        if not names:
            pytest.skip(f"{sdist} has no {member}")
        f = tar.extractfile(names[0])
        assert f is not None
        feed = tmp_path / "umich.zip"
        feed.write_bytes(f.read())
    # a 1 km grid over Ann Arbor in UTM 17N
    x0, y0 = 262000.0, 4670000.0
    cells = [(x0 + i * 1000, y0 + j * 1000) for i in range(20) for j in range(20)]
    geom = gpd.GeoSeries.from_xy(*zip(*cells, strict=True), crs=32617).buffer(
        500, cap_style="square"
    )
    zones = gpd.GeoDataFrame(geometry=geom.set_axis([f"g{k}" for k in range(len(cells))]))
    with pytest.warns(UrlinkWarning):
        svc = bus_service_from_gtfs(feed, zones)
    assert len(svc.lines) > 5
    assert (svc.lines["headway_min"] > 0).all()


@pytest.mark.parametrize(
    ("interval", "expected"), [("00:20", 20.0), ("99999:00", 30.0), ("0:00:01", 30.0)]
)
def test_implausible_osm_intervals_fall_back_to_headway_min(tmp_path, interval, expected):
    from shapely.geometry import box

    from urlink.network.transit import bus_service_from_osm

    from .fuzzing import COUNCILS, malta_osm, write_osm

    data = malta_osm()
    data["relations"][201]["tags"]["interval"] = interval
    path = tmp_path / "mini.osm.pbf"
    write_osm(path, data)
    zones = gpd.GeoDataFrame(
        geometry=[box(14.40 + 0.01 * k, 35.88, 14.41 + 0.01 * k, 35.89) for k in range(3)],
        index=[f"c{r}" for r in COUNCILS],
        crs="EPSG:4326",
    )
    if expected == 20.0:
        svc = bus_service_from_osm(path, zones, operator="Mini Transport", headway_min=30.0)
    else:
        with pytest.warns(UrlinkWarning, match=r"outside 1-1440 min.*1 \(") as caught:
            svc = bus_service_from_osm(path, zones, operator="Mini Transport", headway_min=30.0)
        assert repr(interval) in str(caught[0].message)
    line = svc.lines.set_index("line").loc["1"]
    assert line["headway_min"] == expected
    assert line["source"].endswith("OSM interval tag" if expected == 20.0 else "assumption")
