"""Benchmark a whole ``urlink run`` on a generated province of about 5,000 zones (issue 8).

``bench_scale.py`` measures the zone skim alone; this script measures everything after it
as well (typology, flows, linkage graph, assignment, strategies, outputs). It writes, with
fixed seeds, a synthetic scenario into a temporary folder:

- a 1 x 1 degree study area near Taizhou cut into a 64 x 64 grid of county-sized squares:
  a 10 x 10 block of them is the focus county ``331003``, split into 999 township zones
  (random seats, Voronoi cells), and the other 3,996 squares are context units, one zone
  each: 4,995 zones in all (``urlink.validate.MAX_ZONES`` is 5,000); ``--cells N`` makes
  the context grid N x N instead (``--cells 138``: 19,943 zones, with ``[network]
  max_zones`` set to that, which a sparse people support allows; #20);
- a street network written as an OSM PBF file (pyosmium): a ``side`` x ``side`` lattice
  (500 x 500 by default: 250,000 nodes, 998,000 directed edges after simplification), with
  every tenth row and column a primary road, node positions jittered so lengths vary;
- populations, township units, services, and (with ``--strategies``) one new road and a
  scoring table;

then runs ``python -m urlink.cli run`` on it in a subprocess, with a time limit, sampling
the child's ``VmHWM`` (peak resident memory) from ``/proc/<pid>/status`` (and that of its
worker processes) and printing the stage it is in, so that a run that does not finish still
says where it stopped, and the CPU time of the run (wall times depend on the machine's
load). Results are in ``docs/performance.md``: the issue-8 run was ``--strategies
--max-memory 4GB --extra-toml 'top_destinations = 50'`` (about 17 minutes, 71 % of the
people volume dropped); the issue-20 run keeps every trip on a sparse support::

    python benchmarks/bench_province.py --strategies --max-memory 4GB --timeout 4000 \
        --extra-toml $'support = "knn"\nk_nearest = 100\nmax_iter = 20000'

(add ``--run-args=--no-network-layer`` for a smaller ``linkages.gpkg``, and
``--network-toml 'distance = "fastest"'`` for distances along the fastest paths, found in
the skim's own search instead of a second one).

The 20,000-zone run of issue 20 (on the same lattice)::

    python benchmarks/bench_province.py --cells 138 --strategies --max-memory 4GB \
        --timeout 6000 --extra-toml $'support = "knn"\nk_nearest = 100\nmax_iter = 20000' \
        --network-toml 'distance = "fastest"' --run-args=--no-network-layer

Run from the repository root::

    python benchmarks/bench_province.py [--side 500] [--workers 2] [--max-memory 4GB]
        [--strategies] [--extra-toml 'support = "knn"'] [--run-args='--format parquet']
        [--timeout 1200]

Timings on a shared machine are noisy; the peak memory is not.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import shapely

from urlink.validate import MAX_ZONES

FOCUS = "331003"
WEST, SOUTH, SIZE = 120.0, 28.0, 1.0
CELLS = 64  # context grid: CELLS x CELLS squares
FOCUS_CELLS = 10  # the focus county is a FOCUS_CELLS x FOCUS_CELLS block in the south-west
TOWNSHIPS = 999  # NBS township codes have 3 digits after the county code

SCENARIO = """\
name = "province"
title = "Generated province ({zones:,} zones, {edges} street grid)"
seed = 8

[boundaries]
path = "data/counties.geojson"
id_col = "adcode"
name_col = "name"
focus = "331003"
context = "all"

[townships]
path = "data/seats.geojson"
id_col = "code"
name_col = "name"

[population]
counties = "data/population.csv"
township_units = "data/units.csv"
community_weight = 3.0

[network]
osm = "data/streets.osm.pbf"
{network_extra}

[flows.people]
beta = 0.1
{people_extra}

[services]
path = "data/services.csv"
"""

STRATEGIES = """
[[strategies]]
name = "new-road"
kind = "add_link"
sites = ["331003001"]
[strategies.params]
from = "331003001"
to = "331003002"
speed_kph = 60

[scoring]
weights = "data/weights.csv"
smaa_samples = 1000
"""


def _features(rows: list[tuple[dict[str, object], object]]) -> str:
    feats = [
        {"type": "Feature", "properties": p, "geometry": shapely.geometry.mapping(g)}
        for p, g in rows
    ]
    return json.dumps({"type": "FeatureCollection", "features": feats})


def write_streets(path: Path, side: int, seed: int = 8) -> None:
    """A side x side lattice of two-way roads as an OSM PBF file (seeded jitter)."""
    import osmium  # noqa: PLC0415 - optional dependency, imported on use

    rng = np.random.default_rng(seed)
    step = SIZE / side
    x = WEST + step * (np.arange(side) + 0.5)
    y = SOUTH + step * (np.arange(side) + 0.5)
    jx = rng.uniform(-0.3, 0.3, (side, side)) * step
    jy = rng.uniform(-0.3, 0.3, (side, side)) * step
    ids = np.arange(1, side * side + 1).reshape(side, side)  # [row, col]
    w = osmium.SimpleWriter(str(path))
    try:
        for r in range(side):
            for c in range(side):
                w.add_node(
                    osmium.osm.mutable.Node(
                        id=int(ids[r, c]), location=(x[c] + jx[r, c], y[r] + jy[r, c])
                    )
                )
        way = 1
        for lines in (ids, ids.T):  # rows, then columns
            for k, line in enumerate(lines):
                cls = "primary" if k % 10 == 0 else "residential"
                w.add_way(
                    osmium.osm.mutable.Way(
                        id=way, nodes=[int(n) for n in line], tags={"highway": cls}
                    )
                )
                way += 1
    finally:
        w.close()


def county_code(k: int) -> str:
    """The six-digit code of the ``k``-th context square (34xxxx, then 35xxxx... past 9,801)."""
    return f"{34 + k // 9801}{(k // 99) % 99 + 1:02d}{k % 99 + 1:02d}"


def write_scenario(
    root: Path,
    *,
    side: int,
    strategies: bool,
    people_extra: str,
    network_extra: str = "",
    cells: int = CELLS,
) -> Path:
    """Write the generated province under ``root``; return the scenario file."""
    rng = np.random.default_rng(8)
    data = root / "data"
    data.mkdir(parents=True, exist_ok=True)
    cell = SIZE / cells
    rows: list[tuple[dict[str, object], object]] = []
    pops = ["zone_id,population,population_source"]
    k = 0
    for i in range(cells):
        for j in range(cells):
            if i < FOCUS_CELLS and j < FOCUS_CELLS:
                continue
            code = county_code(k)
            k += 1
            box = shapely.box(
                WEST + j * cell, SOUTH + i * cell, WEST + (j + 1) * cell, SOUTH + (i + 1) * cell
            )
            rows.append(({"adcode": code, "name": f"County {code}"}, box))
            pops.append(f"{code},{int(rng.integers(1_000, 12_000))},generated")
    focus = shapely.box(WEST, SOUTH, WEST + FOCUS_CELLS * cell, SOUTH + FOCUS_CELLS * cell)
    rows.insert(0, ({"adcode": FOCUS, "name": "Focus county"}, focus))
    pops.insert(1, f"{FOCUS},600000,generated")
    (data / "counties.geojson").write_text(_features(rows), encoding="utf-8")
    (data / "population.csv").write_text("\n".join(pops) + "\n", encoding="utf-8")
    span = FOCUS_CELLS * cell
    xy = rng.uniform(0.002, span - 0.002, (TOWNSHIPS, 2)) + np.array([WEST, SOUTH])
    seats = [
        ({"code": f"{FOCUS}{t + 1:03d}", "name": f"Township {t + 1}"}, shapely.Point(p))
        for t, p in enumerate(xy)
    ]
    (data / "seats.geojson").write_text(_features(seats), encoding="utf-8")
    units = ["code,n_communities,n_villages,n_other"]
    units += [
        f"{FOCUS}{t + 1:03d},{int(rng.integers(0, 12))},{int(rng.integers(1, 30))},0"
        for t in range(TOWNSHIPS)
    ]
    (data / "units.csv").write_text("\n".join(units) + "\n", encoding="utf-8")
    (data / "services.csv").write_text(
        "zone_id,service\n331003001,district_centre\n331003001,hospital\n331003500,hospital\n"
        "340101,hospital\n340102,market\n",
        encoding="utf-8",
    )
    (data / "weights.csv").write_text(
        "group,indicator,points\n"
        "residents,co2_t_per_day,40\nresidents,mean_time_to_hospital_min,60\n"
        "enterprises,co2_t_per_day,70\nenterprises,mean_time_to_hospital_min,30\n",
        encoding="utf-8",
    )
    t0 = time.perf_counter()
    write_streets(data / "streets.osm.pbf", side)
    print(f"streets: {side} x {side} lattice written in {time.perf_counter() - t0:.1f} s")
    n_zones = len(rows) - 1 + TOWNSHIPS
    if n_zones > MAX_ZONES and "max_zones" not in network_extra:  # opt in (a sparse run)
        network_extra = f"{network_extra}\nmax_zones = {n_zones}".strip()
    text = SCENARIO.format(
        zones=n_zones,
        edges=f"{side} x {side}",
        people_extra=people_extra,
        network_extra=network_extra,
    )
    path = root / "province.toml"
    path.write_text(text + (STRATEGIES if strategies else ""), encoding="utf-8")
    return path


def _status(pid: int) -> dict[str, float]:
    out: dict[str, float] = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, rest = line.partition(":")
            if key in ("VmHWM", "VmRSS"):
                out[key] = int(rest.split()[0]) / 1024
    except (FileNotFoundError, ProcessLookupError):
        pass
    return out


def _pss_mib(pid: int) -> float:
    """Proportional set size of a process (shared pages split among their users), MiB.

    Worker processes forked from the run share most of its pages: their resident sizes
    count those pages again, their PSS does not, so the PSS of the whole process tree is
    the memory the run takes from the machine.
    """
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) / 1024
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        pass
    return 0.0


def _cpu_s(pid: int) -> float:
    """CPU seconds of a process and of its reaped children (utime, stime, cutime, cstime).

    On a machine shared with other jobs the wall time of a stage depends on the load; its
    CPU time much less, so the two together say what an unloaded machine would take.
    """
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return 0.0
    return sum(int(v) for v in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def _descendants(pid: int) -> list[int]:
    """Process ids below ``pid`` (worker processes of the run), from /proc."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    out, todo = [], [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def run(
    scenario: Path,
    out: Path,
    *,
    workers: int,
    max_memory: str | None,
    timeout: float,
    run_args: str = "",
) -> int:
    """Run ``urlink run`` in a child process; print stages, wall time and peak memory."""
    cmd = [sys.executable, "-m", "urlink.cli", "run", str(scenario), "--out", str(out)]
    cmd += ["--workers", str(workers), "-v"]
    if max_memory:
        cmd += ["--max-memory", max_memory]
    cmd += run_args.split()
    log = out.parent / "run.log"
    t0 = time.perf_counter()
    peak = 0.0
    tree_pss = 0.0
    worker_peaks: dict[int, float] = {}
    with log.open("w") as f:
        proc = subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT)
        seen = 0
        cpu = 0.0
        child_cpu: dict[int, float] = {}
        while proc.poll() is None:
            s = _status(proc.pid)
            peak = max(peak, s.get("VmHWM", 0.0))
            cpu = max(cpu, _cpu_s(proc.pid))
            children = _descendants(proc.pid)
            tree_pss = max(tree_pss, sum(_pss_mib(p) for p in (proc.pid, *children)))
            for child in children:  # strategy, SMAA and assignment workers
                hwm = _status(child).get("VmHWM", 0.0)
                worker_peaks[child] = max(worker_peaks.get(child, 0.0), hwm)
                child_cpu[child] = max(child_cpu.get(child, 0.0), _cpu_s(child))
            text = log.read_text(errors="replace")
            for line in text.splitlines()[seen:]:
                if "stage:" in line or "INFO urlink" in line:
                    what = line.split("stage:")[-1].strip() if "stage:" in line else line[5:90]
                    print(
                        f"  {time.perf_counter() - t0:7.1f} s  CPU {cpu:7.1f} s  RSS "
                        f"{s.get('VmRSS', 0):6,.0f} MiB  peak {peak:6,.0f} MiB  {what}",
                        flush=True,
                    )
            seen = len(text.splitlines())
            if time.perf_counter() - t0 > timeout:
                proc.kill()
                proc.wait()
                print(f"  killed after {timeout:.0f} s (peak RSS {peak:,.0f} MiB)")
                break
            time.sleep(0.5)
    wall = time.perf_counter() - t0
    print(
        f"CPU time: main process {cpu:.1f} s (threads included; sampled every 0.5 s), "
        f"worker processes {sum(child_cpu.values()):.1f} s"
    )
    tail = log.read_text(errors="replace").splitlines()[-15:]
    print("\n".join("  | " + t for t in tail))
    print(f"exit {proc.returncode}; wall {wall:.1f} s; peak RSS of the run {peak:,.0f} MiB")
    if worker_peaks:
        big = sorted(worker_peaks.values(), reverse=True)[:4]
        print("peak RSS of its worker processes (MiB):", ", ".join(f"{v:,.0f}" for v in big))
    print(f"peak PSS of the run's process tree (shared pages counted once): {tree_pss:,.0f} MiB")
    if proc.returncode == 0:
        _print_outputs(out)
    return int(proc.returncode or 0)


def _print_outputs(out: Path) -> None:
    """Print the manifest's stage timings and summary, and the output files' sizes."""
    manifest = out / "manifest.json"
    if not manifest.exists():
        return
    m = json.loads(manifest.read_text())
    print("timings_s:", json.dumps(m["timings_s"]))
    print("summary:", json.dumps({k: m["summary"][k] for k in ("zones", "flows")}))
    sizes = {p.name: round(p.stat().st_size / 2**20, 1) for p in sorted(out.iterdir())}
    print("output sizes (MiB):", json.dumps(sizes))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--side", type=int, default=500, help="street lattice side (nodes)")
    ap.add_argument(
        "--cells",
        type=int,
        default=CELLS,
        help=f"context grid side (default {CELLS}: 4,995 zones; 138: 19,943 zones)",
    )
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--max-memory", default=None)
    ap.add_argument("--strategies", action="store_true", help="add one strategy and scoring")
    ap.add_argument("--extra-toml", default="", help="lines added to [flows.people]")
    ap.add_argument(
        "--network-toml",
        default="",
        help="lines added to [network], e.g. 'distance = \"fastest\"'",
    )
    ap.add_argument(
        "--run-args",
        default="",
        help="more urlink run options, e.g. --run-args='--format parquet' (with '=')",
    )
    ap.add_argument("--timeout", type=float, default=1200.0, help="seconds")
    ap.add_argument("--keep", type=Path, default=None, help="write here instead of a temp dir")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        root = args.keep if args.keep is not None else Path(tmp)
        scenario = write_scenario(
            root,
            side=args.side,
            strategies=args.strategies,
            people_extra=args.extra_toml,
            network_extra=args.network_toml,
            cells=args.cells,
        )
        return run(
            scenario,
            root / "out",
            workers=args.workers,
            max_memory=args.max_memory,
            timeout=args.timeout,
            run_args=args.run_args,
        )


if __name__ == "__main__":
    raise SystemExit(main())
