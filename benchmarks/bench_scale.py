"""Benchmark province-sized skims and the speed-up of parallel workers (issue 8).

Two parts:

``skim``
    A 5,000 x 5,000 zone skim on a generated 500 x 500 grid (250,000 nodes, 998,000
    directed edges, seeded random travel times), each variant in a fresh subprocess so that
    its peak resident memory (``VmHWM``, which counts NumPy and C allocations) is its own:
    (1) in memory with :func:`urlink.network.skims.travel_time_matrix`, (2) on disk with
    :func:`urlink.network.skims.write_travel_time_matrix` under ``max_memory="256MB"`` followed by
    :func:`urlink.network.skims.score_accessibility` streamed over the file. Takes minutes.
``speedup``
    A smaller skim (1,000 zones on a 200 x 200 grid, both engines) and SMAA (50 strategies,
    1,000,000 samples): 1 worker (the baseline, in this process) against 2 local workers and
    against Dask ``LocalCluster`` s with 1 and 2 worker processes; printed as ratios to the
    baseline, best of interleaved rounds.

Run from the repository root: ``python benchmarks/bench_scale.py [skim|speedup|all]``
(``speedup`` needs ``urlink[dask]``). Timings on a shared machine are noisy: compare the
ratios, which are measured within one run.
"""

from __future__ import annotations

import argparse
import json
import pickle
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd

from urlink.errors import UrlinkWarning
from urlink.network.skims import (
    RoutingGraph,
    iter_skim_rows,
    read_travel_time_matrix,
    routing_graph_from,
    score_accessibility,
    travel_time_matrix,
    write_travel_time_matrix,
)
from urlink.scoring import smaa

if TYPE_CHECKING:
    from collections.abc import Callable


def grid_graph(side: int, seed: int = 7) -> nx.MultiDiGraph:
    """A side x side lattice, two-way edges with seeded random times (about 4 side^2 edges)."""
    rng = np.random.default_rng(seed)
    G = nx.MultiDiGraph(crs="epsg:4326", network_source="generated grid")
    step = 0.001
    ids = np.arange(side * side).reshape(side, side)
    G.add_nodes_from(
        (int(n), {"x": 120.0 + (n % side) * step, "y": 28.0 + (n // side) * step})
        for n in ids.ravel()
    )
    pairs = np.concatenate(
        [
            np.column_stack([ids[:, :-1].ravel(), ids[:, 1:].ravel()]),
            np.column_stack([ids[:-1, :].ravel(), ids[1:, :].ravel()]),
        ]
    )
    times = rng.uniform(5.0, 15.0, size=len(pairs))
    G.add_edges_from(
        (int(u), int(v), {"travel_time": float(t)}) for (u, v), t in zip(pairs, times, strict=True)
    )
    G.add_edges_from(
        (int(v), int(u), {"travel_time": float(t)}) for (u, v), t in zip(pairs, times, strict=True)
    )
    return G


def zones_at(R: RoutingGraph, k: int, seed: int = 0) -> gpd.GeoDataFrame:
    """k zones whose seats are k distinct random graph nodes (in the graph's metric CRS)."""
    pos = np.random.default_rng(seed).choice(len(R.nodes), size=k, replace=False)
    return gpd.GeoDataFrame(
        index=[f"z{i:05d}" for i in range(k)],
        crs=R.crs,
        geometry=gpd.points_from_xy(R.xy[pos, 0], R.xy[pos, 1]),
    )


def _status_mb(field: str) -> float:
    """VmHWM (peak) or VmRSS (current) of this process in MiB, from /proc/self/status.

    Not ``ru_maxrss``: Linux carries that over from the parent across fork and exec, so a
    child started by a large parent would report the parent's peak.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # not Linux: kB


def child(mode: str, graph_file: str, zones: int, workers: int) -> None:
    """Run one skim variant in this (fresh) process and print a JSON line."""
    with Path(graph_file).open("rb") as f:
        R = pickle.load(f)
    z = zones_at(R, zones)
    loaded = _status_mb("VmHWM")
    warnings.simplefilter("ignore", UrlinkWarning)
    t0 = time.perf_counter()
    out: dict[str, float | str] = {"mode": mode}
    if mode == "memory":
        skim = travel_time_matrix(R, z, workers=workers)
        out["check_mean_min"] = float(np.nanmean(skim.to_numpy()))
    else:
        with tempfile.TemporaryDirectory() as tmp:
            folder = write_travel_time_matrix(
                Path(tmp) / "skim", R, z, workers=workers, max_memory="256MB"
            )
            out["write_s"] = time.perf_counter() - t0
            out["peak_after_write_mb"] = _status_mb("VmHWM")
            out["file_mb"] = (folder / "time_min.npy").stat().st_size / 2**20
            skim = read_travel_time_matrix(folder)
            t1 = time.perf_counter()
            acc = score_accessibility(
                skim, pd.Series(1.0, index=skim.columns), beta_per_min=0.05, chunk_rows=256
            )
            out["stream_s"] = time.perf_counter() - t1
            total = count = 0.0
            for _, block in iter_skim_rows(skim, chunk_rows=256):  # streamed too
                total += float(np.nansum(block))
                count += float(np.isfinite(block).sum())
            out["check_mean_min"] = total / count
            out["accessibility_mean"] = float(acc.mean())
            del skim
    out["time_s"] = time.perf_counter() - t0
    out["rss_after_load_mb"] = loaded
    out["peak_rss_mb"] = _status_mb("VmHWM")
    print(json.dumps(out))


def bench_skim(side: int, zones: int, workers: int, modes: list[str]) -> None:
    t0 = time.perf_counter()
    G = grid_graph(side)
    R = routing_graph_from(G)
    del G
    print(
        f"grid {side} x {side}: {len(R.nodes):,} nodes, {R.n_edges:,} directed edges "
        f"(built in {time.perf_counter() - t0:.1f} s); {zones:,} x {zones:,} zones, "
        f"{workers} workers"
    )
    with tempfile.TemporaryDirectory() as tmp:
        graph_file = Path(tmp) / "routing.pickle"
        with graph_file.open("wb") as f:
            pickle.dump(R, f)
        for mode in modes:
            cmd = [sys.executable, __file__, "child", mode, str(graph_file), str(zones)]
            cmd += [str(workers)]
            res = subprocess.run(cmd, capture_output=True, text=True, check=True)
            r = json.loads(res.stdout.strip().splitlines()[-1])
            extra = (
                f" (write {r['write_s']:.1f} s, {r['file_mb']:.0f} MiB float32 file, peak "
                f"RSS {r['peak_after_write_mb']:,.0f} MiB by then; streamed accessibility "
                f"{r['stream_s']:.1f} s, reading the mapped file)"
                if mode == "disk"
                else ""
            )
            print(
                f"  {mode:>6}: {r['time_s']:7.1f} s{extra}; peak RSS {r['peak_rss_mb']:,.0f} MiB "
                f"(of which {r['rss_after_load_mb']:,.0f} MiB after loading the graph); mean "
                f"time {r['check_mean_min']:.4f} min"
            )


def bench_speedup(side: int, zones: int, samples: int, rounds: int) -> None:
    """1 worker against 2 local workers and Dask clusters of 1 and 2 worker processes.

    Every variant runs once per round, the rounds interleaved, and the best time counts:
    on a shared machine this is fairer than running each variant's repeats back to back.
    """
    from distributed import Client, LocalCluster  # noqa: PLC0415 - optional dependency, imported on use

    R = routing_graph_from(grid_graph(side))
    z = zones_at(R, zones)
    rng = np.random.default_rng(3)
    cols = [f"ind_{j}" for j in range(10)]
    table = pd.DataFrame(rng.uniform(0, 100, (50, 10)), index=range(50), columns=cols)
    directions = {c: ("max" if j % 2 == 0 else "min") for j, c in enumerate(cols)}
    print(
        f"speed-up: skim {zones:,} x {zones:,} zones on {R.n_edges:,} edges; SMAA 50 "
        f"strategies x 10 indicators x {samples:,} samples (topsis); best of {rounds} "
        "interleaved rounds"
    )
    warnings.simplefilter("ignore", UrlinkWarning)
    jobs = {
        "skim (compiled)": lambda kw: travel_time_matrix(R, z, **kw),
        "skim (scipy)": lambda kw: travel_time_matrix(R, z, engine="scipy", **kw),
        "SMAA": lambda kw: smaa(table, directions, method="topsis", n_samples=samples, **kw),
    }
    # local workers first, while this process has no other threads (so pools fork); a Dask
    # client leaves threads behind, after which urlink starts worker processes without fork
    best, first = _rounds(jobs, {"1 worker": {"workers": 1}, "2 local": {"workers": 2}}, rounds)
    _report(jobs, best)
    clusters = {
        n: LocalCluster(
            n_workers=n,
            processes=True,
            threads_per_worker=1,
            host="127.0.0.1",
            dashboard_address="127.0.0.1:0",
        )
        for n in (1, 2)
    }
    clients = {n: Client(c) for n, c in clusters.items()}
    try:
        where = {
            "1 worker": {"workers": 1},
            "Dask 1 worker": {"scheduler": clients[1]},
            "Dask 2 workers": {"scheduler": clients[2]},
        }
        best, results = _rounds(jobs, where, rounds)
    finally:
        for c in clients.values():
            c.close()
        for cl in clusters.values():
            cl.close()
    _report(jobs, best)
    skims = [first[("skim (compiled)", "2 local")]]
    skims += [results[(j, w)] for j in ("skim (compiled)", "skim (scipy)") for w in where]
    same = all(s.equals(skims[0]) for s in skims)  # type: ignore[attr-defined]
    print(f"  every variant gave the same skim: {same}")


def _rounds(
    jobs: dict[str, Callable[[dict[str, object]], object]],
    where: dict[str, dict[str, object]],
    rounds: int,
) -> tuple[dict[tuple[str, str], float], dict[tuple[str, str], object]]:
    """Best time of each job x variant over interleaved rounds, and the last results."""
    best = {(j, w): np.inf for j in jobs for w in where}
    results: dict[tuple[str, str], object] = {}
    for _ in range(rounds):
        for j, run in jobs.items():
            for w, kw in where.items():
                t0 = time.perf_counter()
                results[(j, w)] = run(kw)
                best[(j, w)] = min(best[(j, w)], time.perf_counter() - t0)
    return best, results


def _report(jobs: dict[str, object], best: dict[tuple[str, str], float]) -> None:
    for j in jobs:
        base = best[(j, "1 worker")]
        cells = " | ".join(
            f"{w} {t:6.2f} s ({base / t:4.2f}x)" for (jj, w), t in best.items() if jj == j
        )
        print(f"  {j:>15}: {cells}")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "child":
        child(argv[1], argv[2], int(argv[3]), int(argv[4]))
        return 0
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("part", nargs="?", choices=["skim", "speedup", "all"], default="all")
    ap.add_argument("--side", type=int, default=500, help="grid side for the skim part")
    ap.add_argument("--zones", type=int, default=5000, help="zones for the skim part")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--modes", default="memory,disk", help="skim variants to run")
    ap.add_argument("--rounds", type=int, default=3, help="rounds of the speed-up part")
    args = ap.parse_args(argv)
    if args.part in ("skim", "all"):
        bench_skim(args.side, args.zones, args.workers, args.modes.split(","))
    if args.part in ("speedup", "all"):
        bench_speedup(200, 1000, 1_000_000, args.rounds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
