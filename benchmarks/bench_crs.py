"""Benchmark: GCJ-02 -> WGS84 conversion, vectorised vs a per-point Python loop.

Run: ``python benchmarks/bench_crs.py``. Prints points per second of both and their ratio,
measured in the same process (no absolute targets; the ratio is what matters).
"""

from __future__ import annotations

import math
import time

import numpy as np

from urlink.io.crs import gcj02_to_wgs84, wgs84_to_gcj02


def loop_inverse(lon: np.ndarray, lat: np.ndarray) -> tuple[list[float], list[float]]:
    """Baseline: the same fixed-point iteration, one point at a time."""
    out_lon, out_lat = [], []
    for gx, gy in zip(lon.tolist(), lat.tolist(), strict=True):
        wx, wy = gx, gy
        for _ in range(30):
            fx, fy = wgs84_to_gcj02(wx, wy)
            ex, ey = float(fx) - gx, float(fy) - gy
            wx, wy = wx - ex, wy - ey
            if max(abs(ex), abs(ey)) < 1e-10:
                break
        out_lon.append(wx)
        out_lat.append(wy)
    return out_lon, out_lat


def main() -> None:
    rng = np.random.default_rng(0)
    n_vec, n_loop = 1_000_000, 5_000
    lon = rng.uniform(120.4, 121.6, n_vec)
    lat = rng.uniform(28.1, 29.2, n_vec)
    glon, glat = wgs84_to_gcj02(lon, lat)

    t0 = time.perf_counter()
    gcj02_to_wgs84(glon, glat)
    t_vec = time.perf_counter() - t0

    t0 = time.perf_counter()
    loop_inverse(glon[:n_loop], glat[:n_loop])
    t_loop = time.perf_counter() - t0

    vec_rate = n_vec / t_vec
    loop_rate = n_loop / t_loop
    print(f"vectorised inverse: {vec_rate:,.0f} points/s ({n_vec:,} points in {t_vec:.2f} s)")
    print(f"per-point loop:     {loop_rate:,.0f} points/s ({n_loop:,} points in {t_loop:.2f} s)")
    print(f"ratio vectorised / loop: {vec_rate / loop_rate:,.0f}x")
    assert math.isfinite(vec_rate)


if __name__ == "__main__":
    main()
