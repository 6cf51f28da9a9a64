"""Parallel and out-of-core runs (issue #8): same numbers serially, over local workers, on
a Dask LocalCluster, and from a skim on disk."""

from __future__ import annotations

import importlib
import importlib.util
import itertools
import os
import pickle
import warnings
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest

from tests.conftest import ROOT
from urlink.cli import main
from urlink.errors import InputError, UrlinkWarning
from urlink.model.state import Strategy
from urlink.network import assignment
from urlink.network.assignment import assign_to_network
from urlink.network.skims import (
    apply_edge_changes,
    distance_matrix_km,
    iter_skim_rows,
    read_travel_time_matrix,
    routing_graph_from,
    score_accessibility,
    snap_to_nodes,
    spill_travel_time_matrix,
    travel_time_and_distance_matrix,
    travel_time_matrix,
    update_distance_matrix_km,
    update_travel_time_and_distance,
    update_travel_time_matrix,
    write_travel_time_matrix,
)
from urlink.parallel import dask_client, map_chunks, parse_size, resolve_workers, run_scale
from urlink.scenario.assess import assess_strategies
from urlink.scenario.build import base_state, network_from_scenario
from urlink.scenario.spec import load_scenario
from urlink.scoring import sample_weights, smaa

from .test_bad_inputs import _edit, make_scenario

COMPILED = importlib.util.find_spec("urlink.network._dijkstra") is not None
ENGINES = [
    pytest.param("compiled", marks=pytest.mark.skipif(not COMPILED, reason="kernel not built")),
    "scipy",
]
SIDE = 15


def _grid() -> nx.MultiDiGraph:
    """A 15 x 15 two-way grid with seeded travel times, a one-way street and an island."""
    rng = np.random.default_rng(11)
    G = nx.MultiDiGraph(crs="epsg:4326", wait_min=2.0)  # waiting time: exercises same-zone
    for i in range(SIDE):
        for j in range(SIDE):
            G.add_node(i * SIDE + j, x=121.0 + 0.002 * j, y=28.6 + 0.002 * i)
    for i in range(SIDE):
        for j in range(SIDE):
            n = i * SIDE + j
            if j + 1 < SIDE:
                G.add_edge(n, n + 1, travel_time=float(rng.uniform(5, 30)))
                G.add_edge(n + 1, n, travel_time=float(rng.uniform(5, 30)))
            if i + 1 < SIDE:
                G.add_edge(n, n + SIDE, travel_time=float(rng.uniform(5, 30)))
                if j != 3:  # one-way column
                    G.add_edge(n + SIDE, n, travel_time=float(rng.uniform(5, 30)))
    G.add_node("island", x=121.05, y=28.65)  # unreachable: NaN in the skim
    return G


def _zones(G: nx.MultiDiGraph, n: int, seed: int) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    nodes = [*rng.choice(SIDE * SIDE, size=n - 1, replace=False).tolist(), "island"]
    # seats a little off the nodes (access legs), two zones sharing a node
    lon = [G.nodes[v]["x"] + 0.0003 for v in nodes]
    lat = [G.nodes[v]["y"] for v in nodes]
    lon[1], lat[1] = lon[0], lat[0] + 0.0001
    return gpd.GeoDataFrame(
        index=[f"z{i:02d}" for i in range(n)],
        crs="EPSG:4326",
        geometry=gpd.points_from_xy(lon, lat),
    )


def _memory_mapped(a: np.ndarray) -> bool:
    while a is not None:
        if isinstance(a, np.memmap):
            return True
        a = a.base
    return False


@pytest.fixture(scope="module")
def grid():
    G = _grid()
    R = routing_graph_from(G)
    zones = _zones(G, 40, seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UrlinkWarning)
        serial = travel_time_matrix(R, zones, cutoff=30.0)
    return R, zones, serial


@pytest.fixture(scope="module")
def cluster_client(tmp_path_factory):
    """Two Dask worker processes on loopback, shared by the tests of this module.

    Their scratch space is a pytest temporary folder, not Dask's default
    ``dask-scratch-space`` in the system's temporary directory.
    """
    distributed = pytest.importorskip("distributed")
    import dask

    scratch = tmp_path_factory.mktemp("dask")
    with (
        dask.config.set({"temporary-directory": str(scratch)}),
        distributed.LocalCluster(
            n_workers=2,
            processes=True,
            threads_per_worker=1,
            host="127.0.0.1",
            dashboard_address="127.0.0.1:0",  # not None: that still binds port 8787
            local_directory=str(scratch),
        ) as cluster,
        distributed.Client(cluster, set_as_default=False) as client,
    ):
        yield client


TABLE = pd.DataFrame(
    {
        "access_pct": [60.0, 90.0, 50.0, 75.0, 70.0],
        "co2_kt": [4.0, 1.0, 5.0, 2.5, 2.0],
        "cost_myuan": [10.0, 80.0, 5.0, 30.0, 40.0],
    },
    index=["bus", "rail", "road", "hub", "mixed"],
)
DIRECTIONS = {"access_pct": "max", "co2_kt": "min", "cost_myuan": "min"}


# --------------------------------------------------------------------------- options


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("4GB", 4 * 10**9),
        ("512MB", 512 * 10**6),
        ("2GiB", 2 * 2**30),
        ("1.5 g", 1_500_000_000),
        ("100", 100),
        (4096, 4096),
    ],
)
def test_parse_size(text, expected):
    assert parse_size(text) == expected


@pytest.mark.parametrize("text", ["4XB", "GB", "-1GB", "0", "", True])
def test_parse_size_rejects_nonsense_with_the_value(text):
    with pytest.raises(InputError, match="memory size"):
        parse_size(text)


def test_workers_must_be_positive():
    assert resolve_workers(2) == 2
    assert resolve_workers(None) >= 1
    for bad in (0, -1, 1.5, True):
        with pytest.raises(InputError, match="workers="):
            resolve_workers(bad)


def test_scheduler_without_dask_names_the_extra(monkeypatch):
    real = importlib.import_module

    def no_distributed(name, *args):
        if name == "distributed":
            raise ImportError(name)
        return real(name, *args)

    monkeypatch.setattr(importlib, "import_module", no_distributed)
    with pytest.raises(InputError, match=r"urlink\[dask\]"), dask_client("tcp://127.0.0.1:1"):
        pass


def test_scheduler_must_be_an_address():
    pytest.importorskip("distributed")
    with pytest.raises(InputError, match="scheduler=42"), dask_client(42):
        pass


def test_run_scale_checks_and_cleans_its_scratch_folder():
    with run_scale(workers=1, max_memory="2MB") as scale:
        assert scale.max_memory == 2_000_000
        assert scale.scratch is not None and scale.scratch.is_dir()
        scratch = scale.scratch
    assert not scratch.exists()
    with pytest.raises(InputError, match="memory size"), run_scale(max_memory="lots"):
        pass


# --------------------------------------------------------------------------- map_chunks


def _power(shared: int, item: int) -> int:
    return item**shared


def _fail_on_three(shared: int, item: int) -> int:
    if item == 3:
        msg = f"item {item} is bad"
        raise InputError(msg)
    return item


@pytest.mark.parametrize(
    ("workers", "pool", "per_task"),
    [(1, "processes", 1), (2, "processes", 1), (2, "processes", "auto"), (3, "threads", 5)],
)
def test_map_chunks_keeps_input_order(workers, pool, per_task):
    items = list(range(23))
    got = map_chunks(_power, items, shared=2, workers=workers, pool=pool, per_task=per_task)
    assert got == [i * i for i in items]


def test_map_chunks_does_not_fork_a_process_with_threads(monkeypatch):
    # another thread is alive: the pool starts its workers without fork (same results)
    import multiprocessing
    import threading

    used = []
    real = multiprocessing.get_context

    def get_context(method):
        used.append(method)
        return real(method)

    monkeypatch.setattr("urlink.parallel.mp.get_context", get_context)
    alone = threading.active_count() == 1  # earlier tests may have left threads running
    assert map_chunks(_power, [1, 2, 3], shared=2, workers=2) == [1, 4, 9]
    stop = threading.Event()
    t = threading.Thread(target=stop.wait)
    t.start()
    try:
        assert map_chunks(_power, [1, 2, 3], shared=2, workers=2) == [1, 4, 9]
    finally:
        stop.set()
        t.join()
    assert used[0] == "fork" if alone else used[0] in ("forkserver", "spawn")
    assert used[1] in ("forkserver", "spawn")


def test_map_chunks_raises_the_workers_error():
    with pytest.raises(InputError, match="item 3 is bad"):
        map_chunks(_fail_on_three, range(6), shared=0, workers=2)
    with pytest.raises(InputError, match="pool="):
        map_chunks(_power, [1], shared=1, pool="gpus")
    with pytest.raises(InputError, match="per_task=0"):
        map_chunks(_power, [1], shared=1, per_task=0)


# --------------------------------------------------------------------------- skims


def test_grid_skim_has_unreachable_and_same_zone_pairs(grid):
    R, zones, serial = grid
    access = snap_to_nodes(R, zones)["access_min"]
    assert serial["z39"].isna().sum() == 39 and serial.loc["z39"].isna().sum() == 39
    # within a zone: the two access legs, no waiting
    np.testing.assert_allclose(np.diag(serial.to_numpy()), 2 * access.to_numpy(), rtol=1e-12)
    # z00 and z01 share a node: the access legs and the 2-minute wait, no network
    assert serial.loc["z00", "z01"] == pytest.approx(access["z00"] + access["z01"] + 2.0)
    assert (serial > 30.0).sum().sum() == 0  # cutoff


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(("workers", "chunk_size"), [(1, 1), (1, 7), (2, None), (2, 3)])
def test_chunked_and_parallel_skims_are_identical(grid, engine, workers, chunk_size):
    R, zones, serial = grid
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UrlinkWarning)
        S = travel_time_matrix(
            R, zones, cutoff=30.0, engine=engine, workers=workers, chunk_size=chunk_size
        )
    pd.testing.assert_frame_equal(S, serial, check_exact=True)


def test_max_memory_bounds_the_in_memory_skim(grid):
    R, zones, serial = grid
    dense = 8 * len(zones) ** 2  # 12,800 bytes
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UrlinkWarning)
        S = travel_time_matrix(R, zones, cutoff=30.0, max_memory=2 * dense)
        pd.testing.assert_frame_equal(S, serial, check_exact=True)
        with pytest.raises(InputError, match="write_travel_time_matrix"):
            travel_time_matrix(R, zones, cutoff=30.0, max_memory=2 * dense - 1)
    with pytest.raises(InputError, match="chunk_size=0"):
        travel_time_matrix(R, zones, chunk_size=0)


def test_unreachable_warning_counts_every_chunk(grid):
    R, zones, _ = grid
    with pytest.warns(UrlinkWarning, match="^78 of 1600 origin-destination pairs"):
        travel_time_matrix(R, zones, chunk_size=4)  # to and from the island


def test_skim_on_disk_round_trip(grid, tmp_path):
    R, zones, serial = grid
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UrlinkWarning)
        f64 = write_travel_time_matrix(
            tmp_path / "f64", R, zones, cutoff=30.0, dtype="float64", chunk_size=6, workers=2
        )
        f32 = write_travel_time_matrix(tmp_path / "f32", R, zones, cutoff=30.0)
    on_disk = read_travel_time_matrix(f64)
    assert _memory_mapped(on_disk.to_numpy())
    pd.testing.assert_frame_equal(on_disk, serial, check_exact=True)
    small = read_travel_time_matrix(f32)
    assert small.dtypes.unique().tolist() == [np.dtype("float32")]
    np.testing.assert_allclose(small.to_numpy(), serial.to_numpy(), rtol=1e-6)
    with pytest.raises(InputError, match="not empty"):
        write_travel_time_matrix(f32, R, zones)
    with pytest.raises(InputError, match="not a skim folder"):
        read_travel_time_matrix(tmp_path)


def test_spill_keeps_small_skims_in_memory_and_maps_large_ones(grid, tmp_path):
    R, zones, serial = grid
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UrlinkWarning)
        kept = spill_travel_time_matrix(
            R, zones, folder=tmp_path / "a", max_memory="1MB", cutoff=30.0
        )
        spilled = spill_travel_time_matrix(
            R, zones, folder=tmp_path / "b", max_memory="16kB", cutoff=30.0
        )
        with pytest.raises(InputError, match="no folder"):
            spill_travel_time_matrix(R, zones, folder=None, max_memory="16kB")
    assert not (tmp_path / "a").exists()
    assert (tmp_path / "b" / "time_min.npy").is_file()
    assert _memory_mapped(spilled.to_numpy()) and not _memory_mapped(kept.to_numpy())
    pd.testing.assert_frame_equal(kept, serial, check_exact=True)
    pd.testing.assert_frame_equal(spilled, serial, check_exact=True)


def test_accessibility_by_hand_and_streamed_from_disk(grid, tmp_path):
    skim = pd.DataFrame(
        [[0.0, 10.0, np.nan], [10.0, 0.0, 20.0]], index=["a", "b"], columns=["a", "b", "c"]
    )
    jobs = pd.Series({"a": 100.0, "b": 50.0, "c": 10.0})
    got = score_accessibility(skim, jobs, beta_per_min=0.1)
    # a: 100 + 50 e^-1 (c unreachable); b: 100 e^-1 + 50 + 10 e^-2
    np.testing.assert_allclose(
        got.to_numpy(), [100 + 50 * np.exp(-1), 100 * np.exp(-1) + 50 + 10 * np.exp(-2)]
    )
    R, zones, serial = grid
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UrlinkWarning)
        folder = write_travel_time_matrix(tmp_path / "s", R, zones, cutoff=30.0, dtype="float64")
    pop = pd.Series(np.arange(1.0, len(zones) + 1), index=zones.index)
    whole = score_accessibility(serial, pop, beta_per_min=0.05, chunk_rows=len(zones))
    streamed = score_accessibility(
        read_travel_time_matrix(folder), pop, beta_per_min=0.05, chunk_rows=7
    )
    pd.testing.assert_series_equal(streamed, whole, rtol=1e-12)
    assert sum(len(ids) for ids, _ in iter_skim_rows(serial, chunk_rows=7)) == len(zones)
    with pytest.raises(InputError, match="opportunities"):
        score_accessibility(skim, jobs.drop("c"), beta_per_min=0.1)
    with pytest.raises(InputError, match="beta_per_min"):
        score_accessibility(skim, jobs, beta_per_min=-1.0)


# --------------------------------------------------------------------------- SMAA


def test_smaa_is_the_same_for_any_number_of_workers():
    a = smaa(TABLE, DIRECTIONS, method="topsis", n_samples=9_000, seed=4)
    b = smaa(TABLE, DIRECTIONS, method="topsis", n_samples=9_000, seed=4, workers=2)
    pd.testing.assert_frame_equal(a.acceptability, b.acceptability, check_exact=True)
    pd.testing.assert_frame_equal(a.central_weights, b.central_weights, check_exact=True)
    # chunk k draws from the k-th child seed: 9,000 samples = chunks of 2,000 ... 1,000
    w = sample_weights(list(TABLE.columns), n_samples=9_000, seed=4).to_numpy()
    child = np.random.default_rng(np.random.SeedSequence(4).spawn(5)[4]).dirichlet(
        np.ones(3), size=1_000
    )
    np.testing.assert_array_equal(w[8_000:], child)


def test_strategy_records_pickle():
    s = Strategy(name="hub", kind="market_hub", sites=("a",), params={"zone": "a"})
    back = pickle.loads(pickle.dumps(s))
    assert back == s and dict(back.params) == {"zone": "a"}
    with pytest.raises(TypeError):
        back.params["zone"] = "b"  # still read-only


def _assert_same_assessment(a, b) -> None:
    """Two assessments hold identical tables (bit for bit) and evaluations."""
    for name in ("indicators", "attribution", "guidelines", "flow_changes"):
        pd.testing.assert_frame_equal(getattr(b, name), getattr(a, name), check_exact=True)
    assert list(b.evaluations) == list(a.evaluations)
    for key, ev in a.evaluations.items():
        other = b.evaluations[key]
        pd.testing.assert_series_equal(other.district, ev.district, check_exact=True)
        pd.testing.assert_frame_equal(other.zone_values, ev.zone_values, check_exact=True)
        assert list(other.flows) == list(ev.flows)
        for flow_type, table in ev.flows.items():
            pd.testing.assert_frame_equal(other.flows[flow_type], table, check_exact=True)


@pytest.fixture(scope="module")
def huangyan_state(huangyan_scenario_path, huangyan_zones):
    scenario = load_scenario(huangyan_scenario_path)
    zones, _ = huangyan_zones
    streets = network_from_scenario(scenario, zones)
    return scenario, base_state(scenario, zones, streets)


def test_strategies_assessed_in_processes_equal_the_serial_ones(huangyan_state):
    scenario, state = huangyan_state
    serial = assess_strategies(scenario, state)
    parallel = assess_strategies(scenario, state, workers=2)
    names = ["baseline", *(s.name for s in scenario.strategies)]
    names += [p.name for p in scenario.packages]
    assert list(serial.evaluations) == names
    assert serial.indicators["strategy"].nunique() == len(names)
    for name in ("attribution", "guidelines", "flow_changes"):
        assert not getattr(serial, name).empty, name
    _assert_same_assessment(serial, parallel)


# --------------------------------------------------------------------------- Dask


def test_map_chunks_on_dask_batches_items(cluster_client):
    items = list(range(17))
    for per_task in (1, 4, "auto"):
        got = map_chunks(_power, items, shared=3, scheduler=cluster_client, per_task=per_task)
        assert got == [i**3 for i in items]


@pytest.mark.parametrize("engine", ENGINES)
def test_dask_skim_equals_the_serial_one(grid, cluster_client, engine, tmp_path):
    R, zones, serial = grid
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UrlinkWarning)
        S = travel_time_matrix(
            R, zones, cutoff=30.0, engine=engine, scheduler=cluster_client, chunk_size=5
        )
        folder = write_travel_time_matrix(
            tmp_path / "s", R, zones, cutoff=30.0, dtype="float64", scheduler=cluster_client
        )
    np.testing.assert_allclose(S.to_numpy(), serial.to_numpy(), rtol=0, atol=1e-9)
    pd.testing.assert_frame_equal(S, serial, check_exact=True)
    pd.testing.assert_frame_equal(read_travel_time_matrix(folder), serial, check_exact=True)


def test_dask_smaa_equals_the_serial_one(cluster_client):
    around = pd.Series({"access_pct": 0.5, "co2_kt": 0.3, "cost_myuan": 0.2})
    a = smaa(TABLE, DIRECTIONS, n_samples=7_000, seed=9, around=around)
    b = smaa(TABLE, DIRECTIONS, n_samples=7_000, seed=9, around=around, scheduler=cluster_client)
    pd.testing.assert_frame_equal(a.acceptability, b.acceptability, check_exact=True)
    pd.testing.assert_frame_equal(a.central_weights, b.central_weights, check_exact=True)
    pd.testing.assert_series_equal(a.confidence, b.confidence, check_exact=True)


def test_strategies_assessed_on_dask_equal_the_serial_ones(huangyan_state, cluster_client):
    scenario, state = huangyan_state
    serial = assess_strategies(scenario, state)
    dask = assess_strategies(scenario, state, scheduler=cluster_client)
    _assert_same_assessment(serial, dask)


def test_cli_run_on_a_dask_cluster_writes_the_serial_outputs(
    cluster_client, huangyan_run, huangyan_scenario_path, tmp_path
):
    scenario = str(huangyan_scenario_path)
    serial, dask = huangyan_run, tmp_path / "dask"  # the session's serial run
    address = cluster_client.scheduler.address
    assert address.startswith("tcp://127.0.0.1:")
    argv = ["run", scenario, "--out", str(dask), "-q", "--scheduler", address]
    assert main([*argv, "--max-memory", "1kB"]) == 0  # the skim goes to disk, too
    for name in ("travel_times", "flows", "indicators", "attribution", "scores", "robustness"):
        a = pd.read_csv(serial / f"{name}.csv")
        b = pd.read_csv(dask / f"{name}.csv")
        pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=0, atol=1e-9)
        assert Path(serial / f"{name}.csv").read_bytes() == Path(dask / f"{name}.csv").read_bytes()


def test_cli_rejects_bad_scale_options(tmp_path, capsys):
    scenario = str(ROOT / "scenarios" / "huangyan.toml")
    assert main(["run", scenario, "--out", str(tmp_path / "o"), "--max-memory", "4XB"]) == 2
    assert "memory size '4XB'" in capsys.readouterr().err
    assert main(["run", scenario, "--out", str(tmp_path / "o"), "--workers", "0"]) == 2
    assert "--workers '0'" in capsys.readouterr().err


def test_workers_auto_is_serial_for_a_district_and_every_core_for_a_province():
    from urlink.parallel import AUTO_PARALLEL_ZONES, auto_workers

    assert auto_workers(29) == 1
    assert auto_workers(AUTO_PARALLEL_ZONES - 1) == 1
    assert auto_workers(AUTO_PARALLEL_ZONES) == (os.cpu_count() or 1)


def test_cli_workers_option(huangyan_scenario_path, tmp_path, capsys):
    from urlink.cli import main

    for bad in ("0", "-1", "two", "1.5"):
        assert main(["run", str(huangyan_scenario_path), "--workers", bad, "-q"]) == 2
        err = capsys.readouterr().err
        assert "--workers" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_parquet_skim_round_trip_from_a_memory_mapped_skim(grid, tmp_path):
    from urlink.errors import InputError
    from urlink.network.skims import (
        read_travel_time_matrix,
        skim_from_parquet,
        skim_to_parquet,
        write_travel_time_matrix,
    )

    R, zones, skim = grid
    with pytest.warns(UrlinkWarning, match="unreachable"):  # the grid has an island
        folder = write_travel_time_matrix(
            tmp_path / "skim", R, zones, cutoff=30.0, dtype="float64"
        )
    mapped = read_travel_time_matrix(folder)
    path = skim_to_parquet(mapped, tmp_path / "skim.parquet", chunk_rows=3)
    back = skim_from_parquet(path)
    # unreachable pairs are left out of the file and come back as NaN
    full = back.reindex(index=skim.index.astype(str), columns=skim.columns.astype(str))
    np.testing.assert_array_equal(full.to_numpy(), skim.to_numpy())
    import pyarrow.parquet as pq

    meta = pq.ParquetFile(path).metadata
    assert meta.num_row_groups == -(-len(skim) // 3)  # one row group per block of origins
    assert meta.num_rows == int(np.isfinite(skim.to_numpy()).sum())
    with pytest.raises(InputError, match="exists"):
        skim_to_parquet(mapped, path)  # never overwritten


# --------------------------------------------------------------------------- #20


@pytest.mark.parametrize("engine", ENGINES)
def test_distances_in_chunks_equal_the_serial_ones(grid, cluster_client, engine):
    """Distances by length over local threads and on Dask: the serial numbers, bit for bit."""
    G = _grid()
    for _, _, d in G.edges(data=True):
        d["length"] = d["travel_time"] * 11.0
    R = routing_graph_from(G, weight="length")
    zones = grid[1]
    serial = distance_matrix_km(R, zones, engine=engine)
    assert np.isfinite(serial.to_numpy()).sum() > 1000
    for kwargs in ({"workers": 2}, {"scheduler": cluster_client}):
        pd.testing.assert_frame_equal(
            distance_matrix_km(R, zones, engine=engine, **kwargs), serial, check_exact=True
        )


def test_sparse_people_support_on_dask_equals_the_serial_run(cluster_client, tmp_path, capsys):
    """[flows.people] support = "knn": the run's files serially and on a LocalCluster."""
    extra = '\n[flows]\nwithin_zone = "half_nearest"\ncontext_flows = "all"\n'
    scenario = make_scenario(tmp_path / "s", strategies=True, extra=extra)
    _edit(scenario, "beta = 0.1\n", 'beta = 0.1\nsupport = "knn"\nk_nearest = 2\n')
    serial, dask = tmp_path / "serial", tmp_path / "dask"
    address = cluster_client.scheduler.address
    assert main(["run", str(scenario), "--out", str(serial), "-q"]) == 0
    assert main(["run", str(scenario), "--out", str(dask), "-q", "--scheduler", address]) == 0
    capsys.readouterr()
    for name in ("flows.csv", "indicators.csv", "scores.csv", "robustness.csv"):
        assert (serial / name).read_bytes() == (dask / name).read_bytes(), name


def test_distances_updated_after_new_and_shorter_links_equal_a_recomputation(grid):
    """A road strategy updates the distances from the changed edges only (#20)."""
    G = _grid()
    for _, _, d in G.edges(data=True):
        d["length"] = d["travel_time"] * 11.0
    R = routing_graph_from(G, weight="length")
    zones = grid[1]
    base = distance_matrix_km(R, zones)
    changes = [(0, SIDE * SIDE - 1, 900.0), (5, 6, 1.0), (7, 7 + SIDE, 2.0)]
    got = update_distance_matrix_km(base, R, changes, origins=zones)
    want = distance_matrix_km(apply_edge_changes(R, changes), zones)
    assert (got < base - 1e-9).sum().sum() > 10  # the new links shorten many trips
    pd.testing.assert_frame_equal(got, want, check_exact=False, rtol=1e-12, atol=1e-12)
    # a removal falls back to a full recomputation
    removed = update_distance_matrix_km(base, R, [(5, 6, None)], origins=zones)
    want = distance_matrix_km(apply_edge_changes(R, [(5, 6, None)]), zones)
    pd.testing.assert_frame_equal(removed, want, check_exact=True)


@pytest.mark.parametrize("engine", ENGINES)
def test_skim_update_with_zones_sharing_a_node_equals_a_recomputation(grid, engine):
    """z00 and z01 share a node: the compiled kernel was given that target twice and left
    one of them unreached, so a road strategy kept the old times for it (found in #20)."""
    R, zones, _ = grid
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UrlinkWarning)
        base = travel_time_matrix(R, zones, engine=engine)
        changes = [(0, SIDE * SIDE - 1, 60.0)]
        got = update_travel_time_matrix(base, R, changes, origins=zones, engine=engine)
        want = travel_time_matrix(apply_edge_changes(R, changes), zones, engine=engine)
    assert (got < base - 1e-9).sum().sum() > 10
    pd.testing.assert_frame_equal(got, want, check_exact=False, rtol=1e-12, atol=1e-12)


# ------------------------------------------------------ #20: fastest-path distances


def _grid_with_lengths() -> nx.MultiDiGraph:
    """``_grid`` with seeded lengths that do not follow the times (fastest != shortest)."""
    G = _grid()
    rng = np.random.default_rng(12)
    for _, _, d in G.edges(data=True):
        d["length"] = float(rng.uniform(100.0, 400.0))
    return G


def _length_along(G: nx.MultiDiGraph, path: list) -> float:
    return sum(min(d["length"] for d in G[a][b].values()) for a, b in itertools.pairwise(path))


@pytest.mark.parametrize("engine", ENGINES)
def test_fastest_path_distances_by_hand_and_against_networkx(grid, engine):
    """One search gives the skim's minutes (to the bit) and the length of the fastest path."""
    G = _grid_with_lengths()
    R, R_len = routing_graph_from(G), routing_graph_from(G, weight="length")
    zones = grid[1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UrlinkWarning)
        minutes, km = travel_time_and_distance_matrix(R, R_len, zones, engine=engine)
        want = travel_time_matrix(R, zones, engine=engine)
    pd.testing.assert_frame_equal(minutes, want, check_exact=True)
    shortest = distance_matrix_km(R_len, zones).to_numpy()
    o = snap_to_nodes(R, zones)
    n_checked = 0
    for i, a in enumerate(zones.index):
        for j, b in enumerate(zones.index):
            if np.isnan(minutes.iloc[i, j]):
                assert np.isnan(km.iloc[i, j])
                continue
            path = nx.shortest_path(G, o["node"].iloc[i], o["node"].iloc[j], weight="travel_time")
            metres = _length_along(G, path) + o["access_m"].iloc[i] + o["access_m"].iloc[j]
            assert km.loc[a, b] == pytest.approx(metres / 1000.0, rel=1e-12), (a, b)
            assert km.loc[a, b] >= shortest[i, j] - 1e-12  # never shorter than the shortest
            n_checked += 1
    assert n_checked > 1000
    assert (km.to_numpy() > shortest + 1e-6).sum() > 100  # the fastest path is often longer


@pytest.mark.parametrize("engine", ENGINES)
def test_fastest_path_distances_equal_serial_workers_and_dask(grid, cluster_client, engine):
    G = _grid_with_lengths()
    R, R_len = routing_graph_from(G), routing_graph_from(G, weight="length")
    zones = grid[1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UrlinkWarning)
        serial = travel_time_and_distance_matrix(R, R_len, zones, engine=engine, cutoff=30.0)
        for kwargs in ({"workers": 2}, {"scheduler": cluster_client}, {"chunk_size": 3}):
            got = travel_time_and_distance_matrix(
                R, R_len, zones, engine=engine, cutoff=30.0, **kwargs
            )
            for a, b in zip(got, serial, strict=True):
                pd.testing.assert_frame_equal(a, b, check_exact=True)
    assert np.isnan(serial[1].loc["z39"].drop("z39")).all()  # the island
    if engine == "compiled":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UrlinkWarning)
            other = travel_time_and_distance_matrix(R, R_len, zones, engine="scipy", cutoff=30.0)
        pd.testing.assert_frame_equal(other[0], serial[0], check_exact=True)
        pd.testing.assert_frame_equal(other[1], serial[1], check_exact=False, rtol=1e-12)


def test_fastest_path_minutes_spilled_to_disk_are_the_same(grid, tmp_path):
    G = _grid_with_lengths()
    R, R_len = routing_graph_from(G), routing_graph_from(G, weight="length")
    zones = grid[1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UrlinkWarning)
        memory = travel_time_and_distance_matrix(R, R_len, zones)
        disk = travel_time_and_distance_matrix(
            R, R_len, zones, max_memory=1000, folder=tmp_path / "skim", workers=2
        )
        with pytest.raises(InputError, match="no folder"):
            travel_time_and_distance_matrix(R, R_len, zones, max_memory=1000)
    assert _memory_mapped(disk[0].to_numpy())
    pd.testing.assert_frame_equal(disk[0], memory[0], check_exact=True)
    pd.testing.assert_frame_equal(disk[1], memory[1], check_exact=True)


@pytest.mark.parametrize("engine", ENGINES)
def test_fastest_path_distances_updated_after_a_new_road_equal_a_recomputation(grid, engine):
    """A new fast link, a sped-up link, and a fallback on a removal (#20)."""
    G = _grid_with_lengths()
    R, R_len = routing_graph_from(G), routing_graph_from(G, weight="length")
    zones = grid[1]
    far = SIDE * SIDE - 1
    times = [(0, far, 60.0), (far, 0, 60.0), (5, 6, 1.0)]
    lengths = [(0, far, 4_000.0), (far, 0, 4_000.0), (5, 6, float(R_len.csr[5, 6]))]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UrlinkWarning)
        base = travel_time_and_distance_matrix(R, R_len, zones, engine=engine)
        kwargs = {"zones": zones, "engine": engine}
        got = update_travel_time_and_distance(
            *base, R, R_len, time_changes=times, length_changes=lengths, **kwargs
        )
        want = travel_time_and_distance_matrix(
            apply_edge_changes(R, times), apply_edge_changes(R_len, lengths), zones, engine=engine
        )
        only_times = update_travel_time_matrix(base[0], R, times, origins=zones, engine=engine)
    pd.testing.assert_frame_equal(got[0], only_times, check_exact=True)
    pd.testing.assert_frame_equal(got[0], want[0], check_exact=False, rtol=1e-12)
    moved = (got[1] - base[1]).abs().to_numpy() > 1e-9
    assert np.nansum(moved) > 50  # many trips take the new road, and drive another distance
    pd.testing.assert_frame_equal(got[1], want[1], check_exact=False, rtol=1e-12)
    # a slow-down, a removal or a new length alone: recomputed
    for t, m in (([(5, 6, None)], []), ([], [(5, 6, 1.0)]), ([(5, 6, 1e5)], [])):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UrlinkWarning)
            got = update_travel_time_and_distance(
                *base, R, R_len, time_changes=t, length_changes=m, **kwargs
            )
            want = travel_time_and_distance_matrix(
                apply_edge_changes(R, t), apply_edge_changes(R_len, m), zones, engine=engine
            )
        for a, b in zip(got, want, strict=True):
            pd.testing.assert_frame_equal(a, b, check_exact=True)


# ---------------------------------------------------------------- #20: the assignment


def test_assignment_in_chunks_equals_serial_workers_and_dask(grid, cluster_client, monkeypatch):
    """Chunks of origins serially, over 2 processes and on Dask: the same loads to the bit,
    and the same as one chunk (the old single pass) to rounding."""
    R, zones, _ = grid
    rng = np.random.default_rng(5)
    ids = zones.index.to_numpy()
    pairs = rng.integers(0, len(ids), (600, 2))
    flows = pd.DataFrame(
        {
            "origin": ids[pairs[:, 0]],
            "destination": ids[pairs[:, 1]],
            "flow_type": rng.choice(["people", "goods"], len(pairs)),
            "volume": rng.uniform(0.1, 50.0, len(pairs)),
        }
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UrlinkWarning)  # flows to the island
        whole = assign_to_network(R, flows, zones)
        monkeypatch.setattr(assignment, "_TREE_BYTES", 12 * len(R.nodes) * 3)  # 3 per chunk
        serial = assign_to_network(R, flows, zones)
        runs = [
            assign_to_network(R, flows, zones, workers=2),
            assign_to_network(R, flows, zones, scheduler=cluster_client),
        ]
        with pytest.warns(UrlinkWarning, match="could not be assigned"):
            assign_to_network(R, flows, zones, workers=2)
    for got in runs:
        pd.testing.assert_frame_equal(got, serial, check_exact=True)
    pd.testing.assert_frame_equal(serial, whole, check_exact=False, rtol=1e-12)
    assert len(serial) > 100
    # every flow loads each link of its path: the loads add up to volume x links on the path
    snap = snap_to_nodes(R, zones)["pos"]
    o_pos, d_pos = (
        snap.reindex(flows["origin"]).to_numpy(),
        snap.reindex(flows["destination"]).to_numpy(),
    )
    _, pred = assignment._trees_of(R.csr, np.unique(o_pos))
    row = {int(p): i for i, p in enumerate(np.unique(o_pos))}
    want = {"people": 0.0, "goods": 0.0}
    for a, b, t, v in zip(o_pos, d_pos, flows["flow_type"], flows["volume"], strict=True):
        hops, node = 0, int(b)
        while pred[row[int(a)], node] >= 0:
            hops, node = hops + 1, int(pred[row[int(a)], node])
        if node == a:  # reached (a flow to the island, or within a node, loads nothing)
            want[t] += v * hops
    for t in ("people", "goods"):
        assert serial[t].sum() == pytest.approx(want[t], rel=1e-9)
