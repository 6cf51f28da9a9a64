"""Runs beyond 5,000 zones (#20): the opt-in zone limit, and the blockwise readings of the
skim that make it possible give the numbers of the whole-matrix code they replace."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest

import urlink.model.state
from urlink.cli import main
from urlink.errors import InputError
from urlink.model import intrazonal, typology
from urlink.model.flows.people import PeopleParams, gravity_doubly, gravity_production
from urlink.model.intrazonal import intrazonal_values, with_intrazonal
from urlink.network import checks, skims
from urlink.validate import MAX_ZONES, check_zone_count, zone_matrix_bytes

from .test_bad_inputs import _edit, earlier, fails, make_scenario, tiny  # noqa: F401
from .test_sparse_flows import _random

SPARSE = 'beta = 0.1\nsupport = "knn"\nk_nearest = 2\n'


# ----------------------------------------------------------------------- the zone limit


def test_a_sparse_run_counts_four_matrices_and_may_take_three_quarters_of_memory():
    assert zone_matrix_bytes(100) == 16 * 100 * 100 * 8
    assert zone_matrix_bytes(100, sparse=True) == 4 * 100 * 100 * 8
    need = zone_matrix_bytes(20_000, sparse=True)  # 11.9 GiB
    have = int(need / 0.7)  # more than the half a dense run may take, less than 3/4
    check_zone_count(20_000, source="z", memory=have, max_zones=20_000, sparse=True)
    with pytest.raises(InputError, match="more than three quarters of the available memory"):
        check_zone_count(20_000, source="z", memory=int(need / 0.8), max_zones=20_000, sparse=True)
    with pytest.raises(InputError, match=r"more than half .*or a sparse people support"):
        check_zone_count(4_000, source="z", memory=2**30)


def test_more_zones_than_the_limit_name_the_setting_that_raises_it():
    with pytest.raises(InputError, match=r"z: 5,001 zones, .*MAX_ZONES.*raise \[network\] max"):
        check_zone_count(MAX_ZONES + 1, source="z", memory=2**50)
    with pytest.raises(InputError, match=r"z: 20,001 zones, .*\[network\] max_zones = 20,000"):
        check_zone_count(20_001, source="z", memory=2**50, max_zones=20_000, sparse=True)
    check_zone_count(MAX_ZONES + 1, source="z", memory=2**50, max_zones=6_000, sparse=True)


def test_max_zones_limits_a_scenario(tiny, earlier, capsys):  # noqa: F811
    _edit(tiny, "[services]", "[network]\nmax_zones = 3\n\n[services]")
    fails(capsys, tiny, earlier, "tiny.toml", "4 zones", "[network] max_zones = 3")


@pytest.mark.parametrize(
    ("value", "needle"),
    [("0", "from 1 to 100,000"), ("100001", "from 1 to 100,000"), ("true", "must be int")],
)
def test_max_zones_is_checked(tiny, earlier, capsys, value, needle):  # noqa: F811
    _edit(tiny, "[services]", f"[network]\nmax_zones = {value}\n\n[services]")
    fails(capsys, tiny, earlier, "tiny.toml", "max_zones", needle)


def test_max_zones_above_5000_needs_a_sparse_run(tiny, earlier, capsys):  # noqa: F811
    _edit(tiny, "[services]", "[network]\nmax_zones = 20000\n\n[services]")
    fails(capsys, tiny, earlier, "tiny.toml", "max_zones = 20,000", 'support = "knn"')


def test_a_sparse_run_may_raise_max_zones(tmp_path, capsys):
    scenario = make_scenario(tmp_path / "s")
    _edit(scenario, "beta = 0.1\n", SPARSE)
    _edit(scenario, "[services]", "[network]\nmax_zones = 20000\n\n[services]")
    assert main(["run", str(scenario), "--out", str(tmp_path / "out"), "-q"]) == 0
    capsys.readouterr()


# ------------------------------------------- blockwise readings equal the whole matrix's


def test_a_sparse_run_gives_the_files_of_the_copied_skim(tmp_path, capsys, monkeypatch):
    """The people model reading the skim by blocks with the intrazonal times apart, the
    linkage flows and the report's summary on the flows' pairs: the same files, to the byte,
    as with trip_cost's copy of the skim (half_nearest intrazonal times, a road strategy)."""
    scenario = make_scenario(tmp_path / "s", strategies=True)
    _edit(scenario, "beta = 0.1\n", SPARSE)
    assert main(["run", str(scenario), "--out", str(tmp_path / "blocks"), "-q"]) == 0
    monkeypatch.setattr(urlink.model.state, "_blockwise", lambda *_: False)
    assert main(["run", str(scenario), "--out", str(tmp_path / "copy"), "-q"]) == 0
    capsys.readouterr()
    for name in ("flows.csv", "indicators.csv", "scores.csv", "travel_times.csv"):
        assert (tmp_path / "blocks" / name).read_bytes() == (tmp_path / "copy" / name).read_bytes()


@pytest.mark.parametrize("model", [gravity_doubly, gravity_production])
@pytest.mark.parametrize("support", ["knn", "dense"])
def test_intrazonal_given_apart_equals_it_on_the_diagonal(model, support):
    zones, cost = _random(40, seed=3)
    own = intrazonal_values(cost)
    before = cost.copy()
    params = PeopleParams(beta=0.1, self_flows=True, max_iter=20_000)
    if support == "knn":
        params = PeopleParams(
            beta=0.1, self_flows=True, max_iter=20_000, support="knn", k_nearest=8
        )
    apart = model(zones, cost, params=params, intrazonal=own)
    copied = model(zones, with_intrazonal(cost, own), params=params)
    pd.testing.assert_frame_equal(apart, copied)
    assert (apart["origin"] == apart["destination"]).any()  # within-zone trips are modelled
    pd.testing.assert_frame_equal(cost, before)  # the input was not written to


def _nan_skim(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    values = rng.uniform(1, 60, (n, n))
    values[rng.random((n, n)) < 0.1] = np.nan
    np.fill_diagonal(values, 0.0)
    values[5] = np.nan  # a zone that reaches no other zone
    ids = [f"z{i:02d}" for i in range(n)]
    return pd.DataFrame(values, index=ids, columns=ids)


@pytest.mark.parametrize("rule", ["half_nearest", "none"])
def test_intrazonal_values_by_blocks(monkeypatch, rule):
    skim = _nan_skim(23, seed=1)
    whole = intrazonal_values(skim, rule=rule)
    monkeypatch.setattr(intrazonal, "_BLOCK_ROWS", 4)
    blocks = intrazonal_values(skim, rule=rule)
    pd.testing.assert_series_equal(blocks, whole)
    if rule == "half_nearest":
        assert np.isnan(blocks.iloc[5]) and blocks.notna().sum() == 22
        expect = 0.5 * np.nanmin(np.where(np.eye(23, dtype=bool), np.nan, skim.to_numpy())[0])
        assert blocks.iloc[0] == expect


def test_reachability_counted_by_blocks(monkeypatch):
    skim = _nan_skim(23, seed=2)
    skim.iloc[5, 0] = 3.0  # zone 5 reaches one zone: not cut off
    with pytest.warns(UserWarning, match=r"of 506 origin-destination pairs are unreachable"):
        whole = checks.check_reachability(skim, source="net")
    monkeypatch.setattr(checks, "_BLOCK_ROWS", 4)
    with pytest.warns(UserWarning, match=r"of 506 origin-destination pairs are unreachable"):
        assert checks.check_reachability(skim, source="net") == whole > 0
    skim.iloc[5, 0] = np.nan
    with pytest.raises(InputError, match=r"zones \['z05'\] cannot reach"):
        checks.check_reachability(skim, source="net")
    full = skim.fillna(1.0)
    assert checks.check_reachability(full, source="net") == 0


def test_time_to_urban_by_blocks(monkeypatch):
    skim = _nan_skim(23, seed=4)
    zones = pd.DataFrame(index=skim.index[::-1])  # another order than the skim's
    urban = pd.Series(np.arange(23) % 3 == 0, index=zones.index)
    whole = typology._time_from_skim(skim, zones, urban)
    monkeypatch.setattr(typology, "_BLOCK_ROWS", 4)
    blocks = typology._time_from_skim(skim, zones, urban)
    pd.testing.assert_series_equal(blocks, whole)
    z = "z03"  # urban: its own zone does not count
    others = [c for c in urban.index[urban] if c != z]
    assert blocks[z] == skim.loc[z, others].min()


def _grid(weights: Callable[[int, int], tuple[float, float]]) -> tuple[Any, Any]:
    """A 6 x 6 street grid, both ways, ``weights(u, v)`` = (seconds, metres), and 9 zones."""
    import geopandas as gpd
    import networkx as nx

    g = nx.MultiDiGraph(crs="EPSG:4326")
    side = 6
    for r in range(side):
        for c in range(side):
            g.add_node(r * side + c, x=121.0 + 0.01 * c, y=28.5 + 0.01 * r)
    for r in range(side):
        for c in range(side):
            for dr, dc in ((0, 1), (1, 0)):
                if r + dr < side and c + dc < side:
                    a, b = r * side + c, (r + dr) * side + c + dc
                    for u, v in ((a, b), (b, a)):
                        t, m = weights(u, v)
                        g.add_edge(u, v, travel_time=t, length=m)
    zones = gpd.GeoDataFrame(
        index=[f"z{i}" for i in range(9)],
        geometry=gpd.points_from_xy(
            [121.0 + 0.02 * (i % 3) + 0.001 for i in range(9)],
            [28.5 + 0.02 * (i // 3) + 0.001 for i in range(9)],
        ),
        crs="EPSG:4326",
    )
    return g, zones


def test_road_update_by_blocks_equals_one_block(monkeypatch):
    """update_travel_time_and_distance by blocks of 2 origin rows: the same bits."""
    g, zones = _grid(lambda u, v: (60.0 + 7 * ((u + v) % 5), 1000.0))
    R = skims.routing_graph_from(g, weight="travel_time")
    L = skims.routing_graph_from(g, weight="length")
    skim, km = skims.travel_time_and_distance_matrix(R, L, zones)
    kwargs = {
        "time_changes": [(0, 35, 120.0)],  # a new fast diagonal road
        "length_changes": [(0, 35, 7000.0)],
        "zones": zones,
    }
    one = skims.update_travel_time_and_distance(skim, km, R, L, **kwargs)
    monkeypatch.setattr(skims, "_UPDATE_BLOCK_ROWS", 2)
    two = skims.update_travel_time_and_distance(skim, km, R, L, **kwargs)
    g2 = g.copy()
    g2.add_edge(0, 35, travel_time=120.0, length=7000.0)
    R2 = skims.routing_graph_from(g2, weight="travel_time")
    L2 = skims.routing_graph_from(g2, weight="length")
    for a, b in zip(one, two, strict=True):
        np.testing.assert_array_equal(a.to_numpy(), b.to_numpy())
    only = {"origins": zones}
    times = [skims.update_travel_time_matrix(skim, R, kwargs["time_changes"], **only)]
    lengths = [skims.update_distance_matrix_km(km, L, kwargs["length_changes"], **only)]
    monkeypatch.setattr(skims, "_UPDATE_BLOCK_ROWS", 10_000)
    times.append(skims.update_travel_time_matrix(skim, R, kwargs["time_changes"], **only))
    lengths.append(skims.update_distance_matrix_km(km, L, kwargs["length_changes"], **only))
    np.testing.assert_array_equal(times[0].to_numpy(), times[1].to_numpy())
    np.testing.assert_array_equal(lengths[0].to_numpy(), lengths[1].to_numpy())
    np.testing.assert_array_equal(times[0].to_numpy(), one[0].to_numpy())
    assert (one[0].to_numpy() < skim.to_numpy()).any()  # the new road shortens some trips
    full_t, _ = skims.travel_time_and_distance_matrix(R2, L2, zones)  # km: ties differ
    np.testing.assert_allclose(one[0].to_numpy(), full_t.to_numpy(), rtol=1e-12)


# ------------------------------------------------------------- float32 zone matrices


def _grid_case() -> tuple[object, object, object]:
    """A 6 x 6 street grid (untied times) and 9 zones on it."""
    g, zones = _grid(lambda u, v: (60.0 + 7.3 * ((3 * u + v) % 11), 900.0 + 13.7 * ((u + v) % 7)))
    R = skims.routing_graph_from(g, weight="travel_time")
    L = skims.routing_graph_from(g, weight="length")
    return R, L, zones


def test_float32_matrices_are_the_float64_ones_rounded(tmp_path):
    R, L, zones = _grid_case()
    t64, km64 = skims.travel_time_and_distance_matrix(R, L, zones)
    t32, km32 = skims.travel_time_and_distance_matrix(R, L, zones, dtype="float32")
    assert set(t32.dtypes) == set(km32.dtypes) == {np.dtype(np.float32)}
    np.testing.assert_array_equal(t32.to_numpy(), t64.to_numpy().astype(np.float32))
    np.testing.assert_array_equal(km32.to_numpy(), km64.to_numpy().astype(np.float32))
    # spilled to disk (max_memory far too small to keep it): a float32 .npy, the same numbers
    disk, km_disk = skims.travel_time_and_distance_matrix(
        R, L, zones, dtype="float32", max_memory=500, folder=tmp_path / "skim"
    )
    assert np.load(tmp_path / "skim" / "time_min.npy", mmap_mode="r").dtype == np.float32
    np.testing.assert_array_equal(disk.to_numpy(), t32.to_numpy())
    np.testing.assert_array_equal(km_disk.to_numpy(), km32.to_numpy())


def test_a_road_update_keeps_float32_and_the_float64_numbers():
    R, L, zones = _grid_case()
    kwargs = {
        "time_changes": [(0, 35, 100.0)],
        "length_changes": [(0, 35, 7000.0)],
        "zones": zones,
    }
    base64 = skims.travel_time_and_distance_matrix(R, L, zones)
    base32 = skims.travel_time_and_distance_matrix(R, L, zones, dtype="float32")
    new64 = skims.update_travel_time_and_distance(*base64, R, L, **kwargs)
    new32 = skims.update_travel_time_and_distance(*base32, R, L, **kwargs)
    assert (new64[0].to_numpy() < base64[0].to_numpy()).any()  # the road shortens trips
    for a, b in zip(new32, new64, strict=True):
        assert skims.matrix_dtype(a) is np.float32
        np.testing.assert_allclose(a.to_numpy(), b.to_numpy(), rtol=1e-6)
    only = {"origins": zones}
    times = skims.update_travel_time_matrix(base32[0], R, kwargs["time_changes"], **only)
    lengths = skims.update_distance_matrix_km(base32[1], L, kwargs["length_changes"], **only)
    assert skims.matrix_dtype(times) is skims.matrix_dtype(lengths) is np.float32
    removed = skims.update_travel_time_matrix(base32[0], R, [(0, 1, None)], **only)
    assert skims.matrix_dtype(removed) is np.float32  # a recomputation keeps the type


def test_matrix_dtype_float32_in_a_scenario(tmp_path, capsys):
    """A sparse run with float32 matrices: the float64 run's flows and indicators to 1e-5
    (not to the bit: the times are rounded), and 4 bytes a value in its memory estimate."""
    scenario = make_scenario(tmp_path / "s", strategies=True)
    _edit(scenario, "beta = 0.1\n", SPARSE)
    _edit(scenario, "[services]", '[network]\ndistance = "fastest"\n\n[services]')
    assert main(["run", str(scenario), "--out", str(tmp_path / "f64"), "-q"]) == 0
    _edit(scenario, 'distance = "fastest"', 'distance = "fastest"\nmatrix_dtype = "float32"')
    assert main(["run", str(scenario), "--out", str(tmp_path / "f32"), "-q"]) == 0
    capsys.readouterr()
    a = pd.read_csv(tmp_path / "f64" / "flows.csv")
    b = pd.read_csv(tmp_path / "f32" / "flows.csv")
    assert a[["origin", "destination", "flow_type"]].equals(
        b[["origin", "destination", "flow_type"]]
    )
    np.testing.assert_allclose(b["volume"], a["volume"], rtol=1e-5)
    assert not np.array_equal(b["volume"], a["volume"])  # float32 was used
    ia = pd.read_csv(tmp_path / "f64" / "indicators.csv").select_dtypes("number")
    ib = pd.read_csv(tmp_path / "f32" / "indicators.csv").select_dtypes("number")
    np.testing.assert_allclose(ib.to_numpy(), ia.to_numpy(), rtol=1e-5, atol=1e-9)
    assert zone_matrix_bytes(100, sparse=True, itemsize=4) == 4 * 100 * 100 * 4
    assert zone_matrix_bytes(100, itemsize=4) == zone_matrix_bytes(100)  # dense: float64


def test_matrix_dtype_is_checked(tiny, earlier, capsys):  # noqa: F811
    _edit(tiny, "[services]", '[network]\nmatrix_dtype = "float16"\n\n[services]')
    fails(capsys, tiny, earlier, "tiny.toml", "matrix_dtype", "float32")


def test_a_float32_skim_is_written_to_parquet_as_float32(tmp_path):
    pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    skim = _nan_skim(23, seed=5)
    single = skims.stored_as(skim, "float32")
    path64 = skims.skim_to_parquet(skim, tmp_path / "a.parquet", chunk_rows=5)
    path32 = skims.skim_to_parquet(
        single, tmp_path / "b.parquet", chunk_rows=5, keep_unreachable=True
    )
    assert pq.read_schema(path64).field("time_min").type == "double"
    assert pq.read_schema(path32).field("time_min").type == "float"
    back = skims.skim_from_parquet(path32)
    np.testing.assert_array_equal(back.to_numpy(), single.to_numpy().astype(float))
    assert pq.read_metadata(path64).num_rows == skim.notna().sum().sum()  # NaN left out
