"""Benchmark the skim with the distances of its paths in one search (issue 20).

On a side x side lattice (500 x 500 by default: 250,000 nodes, 998,000 directed edges, as
in ``bench_province.py``; every tenth row and column a faster road, lengths jittered), from
a sample of origin nodes to ``--targets`` destination nodes, one thread, it measures the
CPU time per origin of

- the time search alone (``many_sources``: what ``travel_time_matrix`` does),
- the length search alone (what ``distance_matrix_km`` does: ``distance = "shortest"``),
- the time search that also sums the lengths along its paths (``many_sources_length``:
  ``travel_time_and_distance_matrix``, ``distance = "fastest"``),

and prints the ratio of the one-search form to the two searches it replaces, measured in
the same run. CPU time (``time.thread_time``) rather than wall time, so that a shared
machine's load matters less.

Run from the repository root::

    python benchmarks/bench_fastest_distance.py [--side 500] [--origins 40] [--targets 4900]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import scipy.sparse as sp

from urlink.network import _dijkstra  # type: ignore[attr-defined]


def lattice(side: int, seed: int = 8) -> tuple[sp.csr_array, sp.csr_array]:
    """Seconds and metres of a two-way lattice (CSR, the same edges, sorted indices)."""
    rng = np.random.default_rng(seed)
    ids = np.arange(side * side).reshape(side, side)
    u = np.concatenate([ids[:, :-1].ravel(), ids[:-1, :].ravel()])
    v = np.concatenate([ids[:, 1:].ravel(), ids[1:, :].ravel()])
    fast = np.concatenate(
        [
            np.repeat(np.arange(side) % 10 == 0, side - 1),
            np.tile(np.arange(side) % 10 == 0, side - 1),
        ]
    )
    metres = 222.0 * rng.uniform(0.7, 1.3, len(u))
    seconds = metres / np.where(fast, 60.0, 30.0) * 3.6
    u, v = np.concatenate([u, v]), np.concatenate([v, u])
    metres, seconds = np.tile(metres, 2), np.tile(seconds, 2)
    n = side * side
    time_csr = sp.csr_array((seconds, (u, v)), shape=(n, n))
    length_csr = sp.csr_array((metres, (u, v)), shape=(n, n))
    time_csr.sort_indices()
    length_csr.sort_indices()
    return time_csr, length_csr


def _arrays(csr: sp.csr_array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return (
        csr.indptr.astype(np.int64),
        csr.indices.astype(np.int64),
        csr.data.astype(np.float64),
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--side", type=int, default=500)
    ap.add_argument("--origins", type=int, default=40)
    ap.add_argument("--targets", type=int, default=4_900)
    args = ap.parse_args(argv)
    t_csr, l_csr = lattice(args.side)
    indptr, indices, seconds = _arrays(t_csr)
    _, _, metres = _arrays(l_csr)
    rng = np.random.default_rng(1)
    n = t_csr.shape[0]
    sources = np.sort(rng.choice(n, args.origins, replace=False)).astype(np.int64)
    targets = np.sort(rng.choice(n, args.targets, replace=False)).astype(np.int64)
    out = np.empty((len(sources), len(targets)))
    out_len = np.empty_like(out)

    def cpu(call: object) -> float:
        start = time.thread_time()
        call()  # type: ignore[operator]
        return time.thread_time() - start

    t_time = cpu(
        lambda: _dijkstra.many_sources(indptr, indices, seconds, sources, targets, out, np.inf)
    )
    t_len = cpu(
        lambda: _dijkstra.many_sources(indptr, indices, metres, sources, targets, out, np.inf)
    )
    t_both = cpu(
        lambda: _dijkstra.many_sources_length(
            indptr, indices, seconds, metres, sources, targets, out, out_len, np.inf
        )
    )
    per = 1000.0 / len(sources)
    print(f"lattice {args.side} x {args.side}: {n:,} nodes, {t_csr.nnz:,} directed edges")
    print(
        f"{len(sources)} origins x {len(targets):,} destination nodes, one thread, CPU ms/origin:"
    )
    print(f"  time search                    {t_time * per:8.1f}")
    print(f"  length search                  {t_len * per:8.1f}")
    print(f"  time search summing lengths    {t_both * per:8.1f}")
    print(
        f"ratio one search / two searches: {t_both / (t_time + t_len):.2f}; "
        f"one search / time search alone: {t_both / t_time:.2f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
