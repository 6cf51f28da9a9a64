"""Time the uncertainty analysis of Huangyan: input samples x strategies x groups (#16).

The target of issue #16: 1,000 input samples x the Huangyan strategies (8) x 5 stakeholder
groups in under 60 s on the 2-core machine, with bounded memory, and the ratio to a naive
loop that reruns the whole pipeline per sample.

What is timed:

- ``uncertainty``: :func:`urlink.scenario.uncertainty.assess_uncertainty` on
  ``scenarios/huangyan_uncertainty.toml`` with ``--samples`` samples over ``--workers``
  local processes, given the base state (built once before, not timed here, as in a run):
  every sample edits the base state, recomputes the flows depending on the sampled inputs,
  re-applies the 8 strategies and evaluates them; then the ranking (weights only, inputs
  only, joint; 5 groups, pooled and uniform; both scoring methods), the RBD-FAST indices
  and PRIM.
- ``naive``: :func:`urlink.run` (nothing written) of ``scenarios/huangyan.toml`` repeated
  ``--naive`` times: what rerunning the whole pipeline per sample costs (zones, network,
  skims, base state, strategies, scoring; the cost does not depend on the sampled
  values), scaled to ``--samples``.
- Peak memory: the resident set size of this process and of its largest child
  (``resource.getrusage``; Linux reports kB).
- The load average before and after (``os.getloadavg``): on a shared machine every time is
  inflated by the other jobs, so compare ratios measured in the same run. The wall time is
  split into the samples (until the last one is done) and the analysis after them (ranking,
  indices, PRIM), and the CPU time of this process and its workers is given.

Run: ``python benchmarks/bench_uncertainty.py [--samples 1000] [--workers 2] [--naive 3]``
from the repository root. The figures measured are in ``docs/performance.md``.

``--serial N`` measures only the CPU time of one sample instead: N samples (and the nominal
one) evaluated in this process without ranking, three times, the least CPU time
(``time.process_time``) divided by N + 1. CPU time is less inflated than wall time when
other jobs share the machine, so compare code versions with it.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import resource
import time
import warnings
from pathlib import Path

from urlink.runner import run
from urlink.scenario.build import (
    base_state,
    network_from_scenario,
    weights_from_scenario,
    zones_from_scenario,
)
from urlink.scenario.spec import load_scenario
from urlink.scenario.uncertainty import assess_uncertainty

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "huangyan_uncertainty.toml"
BASE = ROOT / "scenarios" / "huangyan.toml"
TARGET_S = 60.0


def _peak_mb() -> tuple[float, float]:
    me = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return me, children


class _LastSample:
    """A progress receiver that notes when the last input sample was done."""

    def __init__(self) -> None:
        self.done = time.perf_counter()

    def stage(self, name: str, *, total: int | None = None) -> None:
        """Ignore the stages."""

    def advance(self, n: int = 1, *, what: str = "") -> None:
        """Note the time of a finished sample."""
        self.done = time.perf_counter()


def _cpu_s() -> float:
    me = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--naive", type=int, default=3, help="full runs timed for the loop")
    parser.add_argument(
        "--serial", type=int, default=0, help="only the CPU ms of a sample, over N samples"
    )
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    warnings.simplefilter("ignore")
    if args.serial:
        _serial(args.serial)
        return

    scenario = load_scenario(SCENARIO)
    assert scenario.uncertainty is not None
    spec = dataclasses.replace(scenario.uncertainty, samples=args.samples)
    scenario = dataclasses.replace(scenario, uncertainty=spec)
    t0 = time.perf_counter()
    zones, _ = zones_from_scenario(scenario)
    state = base_state(scenario, zones, network_from_scenario(scenario, zones))
    weights = weights_from_scenario(scenario)
    built = time.perf_counter() - t0
    assert weights is not None

    load_before = os.getloadavg()
    last = _LastSample()
    cpu0 = _cpu_s()
    t0 = time.perf_counter()
    result = assess_uncertainty(
        scenario, state, weights=weights, workers=args.workers, progress=last
    )
    took = time.perf_counter() - t0
    cpu = _cpu_s() - cpu0
    sampling = last.done - t0
    load_after = os.getloadavg()
    n_inputs = len(result.inputs)
    n_strategies = len(result.strategies) - 1
    n_groups = len(weights.table)

    naive = []
    for _ in range(args.naive):
        t1 = time.perf_counter()
        run(BASE)
        naive.append(time.perf_counter() - t1)
    per_run = min(naive)
    me, children = _peak_mb()
    print(
        f"base state built once: {built:.2f} s\n"
        f"uncertainty: {args.samples:,} samples x {n_inputs} inputs x {n_strategies} "
        f"strategies x {n_groups} groups, {args.workers} worker(s): {took:.1f} s "
        f"({took / args.samples * 1000:.0f} ms per sample; target {TARGET_S:.0f} s for 1,000 "
        f"samples: {'met' if took * 1000 / args.samples <= TARGET_S else 'missed'})\n"
        f"  of which the samples {sampling:.1f} s, the analysis after them "
        f"{took - sampling:.1f} s; CPU time (this process and its workers) {cpu:.1f} s, "
        f"{cpu / args.samples * 1000:.0f} ms per sample\n"
        f"naive loop: urlink.run per sample {per_run:.2f} s (best of {args.naive}), "
        f"{per_run * args.samples:.0f} s for {args.samples:,} samples in one process, "
        f"{per_run * args.samples / args.workers:.0f} s on {args.workers} perfectly "
        f"parallel processes\n"
        f"ratio naive / uncertainty: {per_run * args.samples / took:.1f}x (one process), "
        f"{per_run * args.samples / args.workers / took:.1f}x (same workers)\n"
        f"peak resident memory: this process {me:.0f} MB, largest worker {children:.0f} MB\n"
        f"load average (1, 5, 15 min) before: {_load(load_before)}, after the analysis: "
        f"{_load(load_after)} on {os.cpu_count()} cores"
    )


def _serial(n: int) -> None:
    """Print the CPU time of one sample: ``n`` samples and the nominal one, in this process."""
    scenario = load_scenario(SCENARIO)
    assert scenario.uncertainty is not None
    spec = dataclasses.replace(scenario.uncertainty, samples=n)
    scenario = dataclasses.replace(scenario, uncertainty=spec)
    zones, _ = zones_from_scenario(scenario)
    state = base_state(scenario, zones, network_from_scenario(scenario, zones))
    passes = []
    for _ in range(3):
        t0 = time.process_time()
        assess_uncertainty(scenario, state, workers=1)
        passes.append((time.process_time() - t0) / (n + 1) * 1000)
    print(
        f"CPU per sample (baseline and {len(scenario.strategies)} strategies and "
        f"{len(scenario.packages)} package(s), serial, least of 3 passes of {n} + 1 samples): "
        f"{min(passes):.0f} ms (passes {', '.join(f'{p:.0f}' for p in passes)}); load average "
        f"{_load(os.getloadavg())} on {os.cpu_count()} cores"
    )


def _load(values: tuple[float, float, float]) -> str:
    return ", ".join(f"{v:.1f}" for v in values)


if __name__ == "__main__":
    main()
