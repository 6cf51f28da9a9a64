"""Benchmark the whole `urlink run scenarios/huangyan.toml` (issue 5: target under 10 s).

Prints the time of each pipeline stage (from the run's manifest) so the slowest is visible,
the total wall time, and, as a same-process baseline, the time of the run without its
strategy stage (zones, network, skims and flows only) so the cost of assessing the
strategies shows as a ratio.

Run: ``python benchmarks/bench_run.py`` from the repository root.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

from urlink.cli import main
from urlink.runner import STAGES

SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "huangyan.toml"


def run_once(out: Path) -> tuple[float, dict[str, float]]:
    t0 = time.perf_counter()
    code = main(["run", str(SCENARIO), "--out", str(out), "-q"])
    wall = time.perf_counter() - t0
    if code != 0:
        msg = f"urlink run failed with exit code {code}"
        raise SystemExit(msg)
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    return wall, manifest["timings_s"]


def main_bench() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "huangyan"
        run_once(out)  # warm-up: imports, file cache
        runs = [run_once(out) for _ in range(3)]
    walls = sorted(w for w, _ in runs)
    median_wall = walls[1]
    timings = runs[[w for w, _ in runs].index(median_wall)][1]
    print(
        f"urlink run scenarios/huangyan.toml: median wall time {median_wall:.2f} s "
        f"(target < 10 s) over 3 runs after a warm-up"
    )
    width = max(len(stage) for stage in STAGES)
    for stage in STAGES:
        print(f"  {stage:<{width}} {timings.get(stage, float('nan')):7.3f} s")
    without = sum(v for k, v in timings.items() if k != "strategies")
    print(f"strategy assessment / everything else: {timings.get('strategies', 0) / without:.2f}")


if __name__ == "__main__":
    main_bench()
