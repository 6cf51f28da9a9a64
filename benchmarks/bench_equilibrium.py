"""Benchmark the congested car assignment (issue 14).

On the Malta extract (drive network), with a synthetic but plausible peak-hour demand:

- zones: a regular grid of points (about 1.5 km apart) over the island, each kept if a street
  node of the largest strongly connected part lies within 400 m, snapped to that node;
- demand: a gravity model, seeded: each zone gets a random weight (log-normal, a stand-in for
  population), vehicles(o, d) proportional to w_o * w_d * exp(-d_od / 4 km) on the
  straight-line distance, scaled to ``--total`` veh/h in the peak hour;

it prints, for plain Frank-Wolfe (``fw``), conjugate (``cfw``) and bi-conjugate (``bfw``)
Frank-Wolfe, the iterations and the time to a relative gap of 1e-3 and 1e-4, and the ratio
of each to Frank-Wolfe, all measured in this process. One run per method to the tightest
gap records the iteration at which each gap is first reached; the time to a gap is the
measured time of that run prorated by iterations (every iteration costs one round of
shortest paths, the same for every method).

Run: ``python benchmarks/bench_equilibrium.py [--total 30000] [--max-iter 3000]`` from the
repository root (needs ``../shared/data/osm_bench/malta.osm.pbf``).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd

from urlink.network.equilibrium import EquilibriumParams, assign_equilibrium, link_capacities_vph
from urlink.network.skims import routing_graph_from
from urlink.network.streets import streets_from_file

MALTA = Path(__file__).resolve().parents[1].parent / "shared/data/osm_bench/malta.osm.pbf"
GAPS = (1e-3, 1e-4)


def grid_zones(G: nx.MultiDiGraph, spacing_m: float, reach_m: float) -> gpd.GeoDataFrame:
    """Zones on a regular grid, snapped to the nodes of the largest strongly connected part."""
    big = max(nx.strongly_connected_components(G), key=len)
    nodes = gpd.GeoDataFrame(
        index=sorted(big, key=str),
        geometry=gpd.points_from_xy(
            [G.nodes[n]["x"] for n in sorted(big, key=str)],
            [G.nodes[n]["y"] for n in sorted(big, key=str)],
        ),
        crs="EPSG:4326",
    ).to_crs(nodes_crs := "EPSG:32633")
    left, bottom, right, top = nodes.total_bounds
    xs = np.arange(left, right, spacing_m)
    ys = np.arange(bottom, top, spacing_m)
    pts = gpd.GeoDataFrame(
        geometry=gpd.points_from_xy(*(a.ravel() for a in np.meshgrid(xs, ys))), crs=nodes_crs
    )
    near = gpd.sjoin_nearest(pts, nodes, max_distance=reach_m, distance_col="d")
    near = near[~near.index.duplicated()]
    chosen = nodes.loc[sorted(set(near["index_right"]), key=str)]
    zones = chosen.to_crs("EPSG:4326")
    zones.index = [f"z{i}" for i in range(len(zones))]
    return zones


def gravity_demand(zones: gpd.GeoDataFrame, total_vph: float, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    w = rng.lognormal(0.0, 0.8, len(zones))
    xy = np.column_stack([zones.to_crs("EPSG:32633").geometry.x, zones.geometry.to_crs(32633).y])
    dist_km = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1)) / 1000
    m = np.outer(w, w) * np.exp(-dist_km / 4.0)
    np.fill_diagonal(m, 0.0)
    m *= total_vph / m.sum()
    o, d = np.nonzero(m > 0)
    return pd.DataFrame(
        {"origin": zones.index[o], "destination": zones.index[d], "vehicles_vph": m[o, d]}
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--total", type=float, default=30000.0, help="peak-hour veh/h")
    parser.add_argument("--spacing", type=float, default=1500.0, help="zone grid spacing (m)")
    parser.add_argument("--max-iter", type=int, default=3000)
    parser.add_argument("--methods", default="fw,cfw,bfw")
    args = parser.parse_args()

    t = time.perf_counter()
    G = streets_from_file(MALTA, network_type="drive")
    R = routing_graph_from(G)
    cap = link_capacities_vph(G, R)
    zones = grid_zones(G, args.spacing, 400.0)
    od = gravity_demand(zones, args.total, seed=14)
    print(
        f"Malta drive: {len(R.nodes):,} nodes, {R.n_edges:,} links; {len(zones)} zones, "
        f"{len(od):,} OD pairs, {od['vehicles_vph'].sum():,.0f} veh/h "
        f"(prepared in {time.perf_counter() - t:.1f} s)"
    )
    rows = []
    for method in args.methods.split(","):
        params = EquilibriumParams(gap=min(GAPS) * 0.999, max_iter=args.max_iter, method=method)
        t = time.perf_counter()
        res = assign_equilibrium(R, od, zones, capacity_vph=cap, params=params)
        elapsed = time.perf_counter() - t
        gaps = np.array(res.gaps)
        for target in GAPS:
            hit = np.flatnonzero(gaps < target)
            it = int(hit[0]) if len(hit) else None
            rows.append(
                {
                    "method": method,
                    "gap": target,
                    "iterations": it,
                    "time_s": None if it is None else elapsed * (it + 1) / len(gaps),
                }
            )
        print(
            f"{method}: {res.iterations} iterations, final gap {res.gap:.2e}, {elapsed:.1f} s; "
            f"max v/c {res.links['vc_ratio'].max():.2f}, links over capacity "
            f"{int((res.links['vc_ratio'] > 1).sum())}"
        )
    table = pd.DataFrame(rows)
    fw = table[table["method"] == "fw"].set_index("gap")
    if len(fw):
        table["iter_ratio_fw"] = table["iterations"] / table["gap"].map(fw["iterations"])
        table["time_ratio_fw"] = table["time_s"] / table["gap"].map(fw["time_s"])
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3g}"))


if __name__ == "__main__":
    main()
