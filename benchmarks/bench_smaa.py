"""Benchmark SMAA-2 rank acceptabilities (``urlink.scoring.smaa``).

Prints, for 50 strategies x 10 indicators x 10,000 weight samples and both built-in
methods (``weighted_sum``, ``topsis``):

- the time of ``smaa`` (vectorised, chunks of 2,000 samples; best of 3 runs),
- the time of a naive per-sample Python loop (``score`` + ``rank`` for one weight vector at a
  time, counting ranks in a dict) measured on a subset of 500 samples and scaled to 10,000,
- their ratio, and a check that the vectorised and the naive loop agree on the subset.

Target: under 2 s per method on a 2-core machine. Run from the repository root:
``python benchmarks/bench_smaa.py [--samples 10000] [--subset 500]``. Everything is measured
in this process, so the ratio compares like with like on the current machine.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter

import numpy as np
import pandas as pd

from urlink.scoring import rank, sample_weights, score, smaa

N_STRATEGIES = 50
N_INDICATORS = 10


def make_table(seed: int = 3) -> tuple[pd.DataFrame, dict[str, str]]:
    rng = np.random.default_rng(seed)
    cols = [f"ind_{j}" for j in range(N_INDICATORS)]
    table = pd.DataFrame(
        rng.uniform(0.0, 100.0, (N_STRATEGIES, N_INDICATORS)),
        index=[f"strategy_{i:02d}" for i in range(N_STRATEGIES)],
        columns=cols,
    )
    directions = {c: ("max" if j % 2 == 0 else "min") for j, c in enumerate(cols)}
    return table, directions


def naive(
    table: pd.DataFrame, directions: dict[str, str], weights: np.ndarray, method: str
) -> Counter[tuple[str, int]]:
    """One weight sample at a time through the public per-sample API."""
    counts: Counter[tuple[str, int]] = Counter()
    for w in weights:
        s = score(table, pd.Series(w, index=table.columns), directions, method=method)
        # ties (none expected with random data) would share a rank here
        for name, r in rank(s).items():
            counts[(str(name), int(r))] += 1
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=10_000)
    parser.add_argument("--subset", type=int, default=500)
    args = parser.parse_args(argv)
    table, directions = make_table()
    print(
        f"{N_STRATEGIES} strategies x {N_INDICATORS} indicators x {args.samples:,} samples; "
        f"naive loop on {args.subset:,} samples, scaled"
    )
    for method in ("weighted_sum", "topsis"):
        smaa(table, directions, method=method, n_samples=100)  # warm-up (imports, BLAS)
        times = []
        for _ in range(3):
            t0 = time.perf_counter()
            res = smaa(table, directions, method=method, n_samples=args.samples, seed=0)
            times.append(time.perf_counter() - t0)
        fast = min(times)

        weights = sample_weights(list(table.columns), n_samples=args.subset, seed=0).to_numpy()
        t0 = time.perf_counter()
        counts = naive(table, directions, weights, method)
        slow = (time.perf_counter() - t0) * args.samples / args.subset

        sub = smaa(table, directions, method=method, n_samples=args.subset, seed=0)
        loop_b = np.zeros((N_STRATEGIES, N_STRATEGIES))
        pos = {name: i for i, name in enumerate(table.index)}
        for (name, r), c in counts.items():
            loop_b[pos[name], r - 1] = c / args.subset
        agree = np.array_equal(sub.acceptability.to_numpy(), loop_b)
        best = res.first_rank.idxmax()
        print(
            f"{method:>12}: smaa {fast:.3f} s (runs {', '.join(f'{t:.3f}' for t in times)}), "
            f"naive loop {slow:.1f} s (scaled), ratio {slow / fast:,.0f}x, "
            f"agree on subset: {agree}; most often first: {best} "
            f"({res.first_rank[best]:.3f})"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
