"""Benchmark the workshop map with 100,000 flows (issue 6): page size, load and pan time.

A synthetic region of 320 township zones in 16 counties (a grid near Huangyan) with a
flow between every ordered pair of zones (102,080 people flows, volumes from a seeded
gravity-like draw) is drawn four ways:

* ``baseline``   - the default map of a district-sized run: 1,000 flows, all drawn;
* ``default``    - 102,080 flows with the defaults: the 500 largest drawn one by one, the
                   rest summed per county pair in one extra layer (``aggregate_level``);
* ``top 5,000``  - 102,080 flows, ``max_flows=5000`` plus the county sums;
* ``all``        - 102,080 flows, every one drawn (``max_flows=102080``).

Each page is saved offline and opened in headless Chromium (Debian's ``/usr/bin/chromium``
through Playwright) with the network blocked; the script prints the page size, the time
from navigation until the map is drawn, and the time of a 300-pixel pan until the next
two animation frames, each as a ratio to the baseline measured in the same process.

Run: ``python benchmarks/bench_map.py`` from the repository root (about a minute).
"""

from __future__ import annotations

import re
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely import box

from urlink.outputs.maps import map_linkages, save_map

CHROMIUM = "/usr/bin/chromium"
MAP_JS = "Object.keys(window).filter(k => /^map_[0-9a-f]+$/.test(k)).map(k => window[k])"


def synthetic_region(n_side: int = 16, n_rows: int = 20) -> gpd.GeoDataFrame:
    """Zones on a grid of 0.02 degree cells; every 4 x 5 block is one county."""
    rows = []
    for i in range(n_rows):
        for j in range(n_side):
            x0, y0 = 120.9 + 0.02 * j, 28.4 + 0.02 * i
            county = f"33{(i // 5) * 4 + j // 4:04d}"
            rows.append(
                {
                    "zone_id": f"{county}{i:02d}{j:02d}",
                    "name": f"Z{i:02d}-{j:02d}",
                    "name_en": f"Zone {i}-{j}",
                    "level": "township",
                    "township_code": f"{county}{i:02d}{j:02d}",
                    "county_code": county,
                    "prefecture_code": "331000",
                    "province_code": "330000",
                    "typology": ("urban", "peri-urban", "rural")[(i + j) % 3],
                    "typology_reason": "synthetic",
                    "population": 1000.0 + 100.0 * ((i * j) % 7),
                    "population_source": "synthetic",
                    "seat_lon": x0 + 0.01,
                    "seat_lat": y0 + 0.01,
                    "geometry": box(x0, y0, x0 + 0.02, y0 + 0.02),
                }
            )
    return gpd.GeoDataFrame(rows, crs="EPSG:4326").set_index("zone_id")


def synthetic_flows(zones: gpd.GeoDataFrame, n: int | None = None) -> pd.DataFrame:
    rng = np.random.default_rng(20261122)
    ids = zones.index.to_numpy()
    o, d = np.meshgrid(ids, ids, indexing="ij")
    mask = o != d
    o, d = o[mask], d[mask]
    dist = np.hypot(
        zones.loc[o, "seat_lon"].to_numpy() - zones.loc[d, "seat_lon"].to_numpy(),
        zones.loc[o, "seat_lat"].to_numpy() - zones.loc[d, "seat_lat"].to_numpy(),
    )
    volume = np.exp(-dist / 0.05) * rng.lognormal(3.0, 1.0, len(o))
    flows = pd.DataFrame(
        {
            "origin": o,
            "destination": d,
            "flow_type": "people",
            "volume": volume,
            "unit": "persons/day",
            "model": "synthetic",
            "source": "synthetic",
            "crosses": np.where(
                zones.loc[o, "county_code"].to_numpy() == zones.loc[d, "county_code"].to_numpy(),
                "township",
                "county",
            ),
        }
    )
    if n is not None:
        flows = flows.nlargest(n, "volume")
    return flows


def measure(browser: object, path: Path) -> tuple[float, float]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})  # type: ignore[attr-defined]
    context.route(re.compile(r"^(?!file:|data:)"), lambda route: route.abort())
    page = context.new_page()
    t0 = time.perf_counter()
    page.goto(path.as_uri(), timeout=600_000)
    page.wait_for_function(
        f"() => ({MAP_JS}).length > 0 && ({MAP_JS}).every(m => !m._animatingZoom)",
        timeout=600_000,
    )
    load = time.perf_counter() - t0
    pan_ms = page.evaluate(
        f"""() => new Promise(resolve => {{
            const m = ({MAP_JS})[0];
            const t0 = performance.now();
            m.panBy([300, 0], {{animate: false}});
            requestAnimationFrame(() => requestAnimationFrame(
                () => resolve(performance.now() - t0)));
        }})"""
    )
    context.close()
    return load, float(pan_ms) / 1000.0


def main() -> None:
    from playwright.sync_api import sync_playwright  # noqa: PLC0415 - optional, imported on use

    zones = synthetic_region()
    every = synthetic_flows(zones)
    cases = {
        "baseline (1,000 flows, all drawn)": (synthetic_flows(zones, 1000), {"max_flows": 1000}),
        f"default ({len(every):,} flows)": (every, {}),
        f"top 5,000 of {len(every):,} + county sums": (every, {"max_flows": 5000}),
        f"all {len(every):,} drawn": (every, {"max_flows": len(every)}),
    }
    results = []
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
            ],
        )
        for i, (name, (flows, kwargs)) in enumerate(cases.items()):
            t0 = time.perf_counter()
            m = map_linkages(zones, flows, tiles=None, lang="en", **kwargs)
            path = Path(tmp) / f"case{i}.html"
            save_map(m, path, offline=True)
            build = time.perf_counter() - t0
            load, pan = measure(browser, path)
            results.append((name, path.stat().st_size / 1e6, build, load, pan))
        browser.close()
    base = results[0]
    print(f"{'case':44s} {'MB':>7s} {'build s':>8s} {'load s':>7s} {'pan s':>7s}   ratios")
    for name, mb, build, load, pan in results:
        print(
            f"{name:44s} {mb:7.2f} {build:8.2f} {load:7.2f} {pan:7.3f}   "
            f"size x{mb / base[1]:.1f}, load x{load / base[3]:.1f}, pan x{pan / base[4]:.1f}"
        )


if __name__ == "__main__":
    main()
