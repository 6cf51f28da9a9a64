"""Benchmark travel-time skims (issue 3).

Prints, for the Malta extract and a generated grid of about 1M directed edges, at K = 100
and K = 1000 origins = destinations:

- urlink time (``travel_time_matrix`` on a prepared ``RoutingGraph``, 2 worker processes),
- a networkx single-source Dijkstra loop on a subset of origins, scaled to K,
- their ratio and the edge relaxations per second (K x directed edges / time),
- the incremental update after one added link vs the full recomputation (K = 1000),
- the time to load the Malta PBF to a simplified routable graph with travel times.

Run: ``python benchmarks/bench_skims.py [--quick]`` from the repository root (needs
``../shared/data/osm_bench/malta.osm.pbf``). Everything is measured in this process, so
the ratios compare like with like on the current machine.
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np

from urlink.errors import UrlinkWarning
from urlink.network.skims import routing_graph_from, travel_time_matrix, update_travel_time_matrix
from urlink.network.streets import streets_from_file

MALTA = Path(__file__).resolve().parents[1].parent / "shared/data/osm_bench/malta.osm.pbf"


def grid_graph(side: int) -> nx.MultiDiGraph:
    """A side x side lattice with two-way edges (about 4 side^2 directed edges)."""
    rng = np.random.default_rng(7)
    G = nx.MultiDiGraph(crs="epsg:4326", network_source="generated grid")
    step = 0.001
    for i in range(side):
        for j in range(side):
            G.add_node(i * side + j, x=10.0 + j * step, y=45.0 + i * step)
    for i in range(side):
        for j in range(side):
            n = i * side + j
            for m in ((n + 1) if j + 1 < side else None, (n + side) if i + 1 < side else None):
                if m is not None:
                    t = float(rng.uniform(5, 15))
                    G.add_edge(n, m, travel_time=t)
                    G.add_edge(m, n, travel_time=t)
    return G


def zones_at(G: nx.MultiDiGraph, nodes: list) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        index=[str(n) for n in nodes],
        crs="EPSG:4326",
        geometry=gpd.points_from_xy(
            [G.nodes[n]["x"] for n in nodes], [G.nodes[n]["y"] for n in nodes]
        ),
    )


def bench(name: str, G: nx.MultiDiGraph, ks: list[int], nx_sample: int) -> None:
    R = routing_graph_from(G)
    rng = np.random.default_rng(0)
    nodes = list(G.nodes)
    print(f"\n== {name}: {len(G):,} nodes, {R.n_edges:,} directed edges")
    for k in ks:
        picked = [nodes[i] for i in rng.choice(len(nodes), size=k, replace=False)]
        zones = zones_at(G, picked)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UrlinkWarning)
            t0 = time.perf_counter()
            skim = travel_time_matrix(R, zones, workers=2)
            t_url = time.perf_counter() - t0
        sample = picked[:nx_sample]
        t0 = time.perf_counter()
        for s in sample:
            nx.single_source_dijkstra_path_length(G, s, weight="travel_time")
        t_nx = (time.perf_counter() - t0) / len(sample) * k
        relax = k * R.n_edges / t_url
        print(
            f"K={k:>5}: urlink {t_url:7.2f} s | networkx loop {t_nx:8.1f} s (from "
            f"{len(sample)} origins, scaled) | ratio {t_nx / t_url:6.1f}x | "
            f"{relax / 1e6:6.1f} M edge relaxations/s"
        )
        if k == max(ks):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UrlinkWarning)
                t0 = time.perf_counter()
                travel_time_matrix(R, zones, workers=2, engine="scipy")
                t_sp = time.perf_counter() - t0
            print(
                f"K={k:>5}: scipy csgraph engine (2 processes) {t_sp:6.2f} s; the compiled "
                f"kernel is {t_sp / t_url:4.1f}x faster"
            )
            u, v = picked[0], picked[-1]
            changes = [(u, v, 1.0)]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UrlinkWarning)
                t0 = time.perf_counter()
                update_travel_time_matrix(skim, R, changes, origins=zones)
                t_inc = time.perf_counter() - t0
            print(
                f"K={k:>5}: one added link: incremental {t_inc * 1000:7.1f} ms vs full "
                f"{t_url:6.2f} s -> {t_url / t_inc:6.1f}x"
            )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="K = 100 only, smaller grid")
    args = ap.parse_args()
    ks = [100] if args.quick else [100, 1000]
    if MALTA.is_file():
        for network_type in ("drive", "all"):
            times = []
            for _ in range(3):
                t0 = time.perf_counter()
                G = streets_from_file(MALTA, network_type=network_type)
                times.append(time.perf_counter() - t0)
            print(
                f"Malta PBF -> simplified routable graph with travel times: "
                f"median {np.median(times):.2f} s ({len(G):,} nodes, "
                f"{G.number_of_edges():,} edges, network_type={network_type})"
            )
            bench(f"Malta ({network_type}, simplified)", G, ks, nx_sample=20)
    else:
        print(f"{MALTA} not found: skipping Malta")
    side = 250 if args.quick else 500
    bench(f"grid {side}x{side}", grid_graph(side), ks, nx_sample=5)


if __name__ == "__main__":
    main()
