"""Fuzz the command line with hostile inputs for every reader; write failing cases to a file.

Each example breaks one of three small scenarios one way (``tests/fuzzing.py``: the tiny
scenario of ``tests/test_bad_inputs.py``; the same with every other reader of the Huangyan
showcase; the Malta showcase's inputs in miniature): a TOML value, a CSV cell, column or
byte of any input table, a GeoJSON coordinate, geometry or property, a GeoTIFF, an OSM tag,
node or member. It runs ``urlink validate`` or ``urlink run`` in-process. The
invariant: exit code 0 or 2, never 1, no traceback, no hang. Every failing case is appended
to ``--failures`` as one JSON line (the case, the exit code, the end of stderr), and the
run goes on; the case about to run is in ``<failures>.current.json``, so a crash of the
whole process (a segfault in a C library) leaves it behind. ``tests/test_fuzz.py`` runs a
small seeded batch of the same in CI.

    python benchmarks/fuzz.py [--examples 10000] [--seed 19] [--failures fuzz-failures.jsonl]
                              [--generator raster ...]
"""

from __future__ import annotations

import argparse
import collections
import json
import logging
import sys
import tempfile
import time
import warnings
from pathlib import Path

from hypothesis import HealthCheck, given, seed, settings

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hypothesis import strategies as st  # noqa: E402

from tests.fuzzing import GENERATORS, Case, run_case, violation  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=19)
    parser.add_argument("--failures", type=Path, default=Path("fuzz-failures.jsonl"))
    parser.add_argument("--every", type=int, default=500, help="report progress every N cases")
    parser.add_argument(
        "--generator",
        action="append",
        choices=sorted(GENERATORS),
        help="only these generators (repeat the option); default: all",
    )
    args = parser.parse_args()
    cases = st.one_of(*(GENERATORS[name]() for name in args.generator or sorted(GENERATORS)))
    warnings.simplefilter("ignore")
    logging.disable(logging.CRITICAL)
    counts: collections.Counter[str] = collections.Counter()
    failures = 0
    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="urlink-fuzz-"))
    current = args.failures.with_suffix(".current.json")

    @seed(args.seed)
    @settings(
        max_examples=args.examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(cases)
    def one(case: Case) -> None:
        nonlocal failures
        n = sum(counts.values())
        # the case about to run, so that a crash of the whole process (a segfault in a C
        # library) leaves it behind: rerun it with tests/fuzzing.py's run_case
        current.write_text(case.describe() + "\n", encoding="utf-8")
        with tempfile.TemporaryDirectory(dir=work) as tmp:
            try:
                code, err = run_case(Path(tmp), case)
            except Exception as exc:  # a broken generator is recorded, not fatal
                code, err = -2, f"the fuzzing harness failed to write the case: {exc!r}"
        counts[f"{case.scenario}:{case.target}:{code}"] += 1
        problem = violation(code, err)
        if problem is not None:
            failures += 1
            with args.failures.open("a", encoding="utf-8") as fh:
                record = {"problem": problem, "code": code, "stderr": err[-3000:]}
                fh.write(json.dumps({"case": json.loads(case.describe()), **record}) + "\n")
        if (n + 1) % args.every == 0:
            elapsed = time.perf_counter() - started
            print(f"{n + 1:,} cases, {failures} failing, {elapsed:,.0f} s", flush=True)

    try:
        one()
    except KeyboardInterrupt:  # stopped early (Ctrl-C, kill -INT): report what ran
        print("stopped before the last example")
    elapsed = time.perf_counter() - started
    total = sum(counts.values())
    print(f"{total:,} cases in {elapsed:,.0f} s ({elapsed / max(total, 1) * 1000:.0f} ms each)")
    print(f"{failures} failing (written to {args.failures})" if failures else "0 failing")
    by_code: collections.Counter[str] = collections.Counter()
    for key, n in counts.items():
        by_code[key.rsplit(":", 1)[1]] += n
    print("exit codes:", dict(sorted(by_code.items())))
    for key, n in sorted(counts.items()):
        print(f"  {key}: {n}")


if __name__ == "__main__":
    main()
