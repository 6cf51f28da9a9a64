"""Count the work of one Huangyan run: flow-model computations and input-table reads (#13).

Issue #13 restructured the package so that a run computes its base state once and each
strategy recomputes only what it touches. This script runs ``urlink.runner.run`` on
``scenarios/huangyan.toml`` once (nothing written, one process: ``workers=1``, so that every
call is seen here) while counting, by wrapping the functions where they are looked up:

- flow-model runs: the models returned by ``urlink.model.state.get_model`` (the registered
  functions of ``urlink.model.flows.FLOW_MODELS``), per flow type, and the capital flows
  (``eco_compensation`` and ``transfers``, plain functions, not registered models);
- recomputations of a state's flows (``urlink.model.state.update_flows``, as imported by
  ``urlink.scenario.build`` for the baseline and by ``urlink.scenario.strategies``);
- input-table reads: ``read_table``, ``read_rows`` and ``read_population_table`` as
  imported by ``urlink.scenario.build`` (every scenario table is read there), per file;
- other input files, for information: the boundary and point layers
  (``zones_from_file``, ``points_from_file``) and the stakeholder weights
  (``weights_from_points``, ``ahp_from_csv``, where ``urlink.scenario.build`` and
  ``urlink.scenario.assess`` import them);

and prints them with the run time. ``tests/test_work.py`` repeats the count and checks it.

Run: ``python benchmarks/bench_work.py [--scenario PATH] [--warm-up]`` from the repository
root.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any
from unittest import mock

import urlink.model.state
import urlink.scenario.assess
import urlink.scenario.build
import urlink.scenario.strategies
from urlink.runner import run
from urlink.scenario.spec import load_scenario

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "huangyan.toml"

# Before #13 (measured on the old code, the last commit before the restructuring being
# afdfe1c): the baseline was computed twice and each of the 8 strategies once more, each time
# with all four flow types: 10 computations of the flows (10 runs of each flow type's model,
# 40 in all), and the input tables were read 44 times. A re-count at afdfe1c with this
# script's method (``urlink.population.read_rows`` and ``urlink.flows.get_model`` wrapped,
# ``urlink.pipeline.run_scenario``, which also writes the outputs) gave the same 40 model
# runs (10 per type) and 48 table reads: each of the four goods and ecosystem tables 11
# times, the four population and services tables once.
BEFORE_FLOW_COMPUTATIONS = 10
BEFORE_TABLE_READS = 44
FLOW_TYPES = ("people", "goods", "ecosystem", "capital")


@dataclass
class Work:
    """What one run did.

    Attributes
    ----------
    models
        Flow type -> runs of its model (capital: calls of its two functions).
    updates
        Recomputations of a state's flows (``update_flows`` calls).
    tables
        Input table (path) -> reads.
    other_files
        Other input files (boundaries, points, weights) -> reads.
    seconds
        Wall time of the run.
    """

    models: Counter[str] = field(default_factory=Counter)
    updates: int = 0
    tables: Counter[str] = field(default_factory=Counter)
    other_files: Counter[str] = field(default_factory=Counter)
    seconds: float = float("nan")


def _counted(func: Callable[..., Any], counter: Counter[str], key: Callable[..., str]) -> Any:
    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        counter[key(*args, **kwargs)] += 1
        return func(*args, **kwargs)

    return wrapper


def _path_key(path: Any, *_: Any, **__: Any) -> str:
    return str(Path(path).resolve()) if isinstance(path, (str, Path)) else repr(path)


@contextmanager
def counting() -> Iterator[Work]:
    """Count flow-model runs and input reads while the ``with`` block runs (one process).

    Yields
    ------
    Work
        Filled in as the block runs (``seconds`` is left to the caller).
    """
    work = Work()
    real_get_model = urlink.model.state.get_model

    def get_model(flow_type: str, name: str) -> Any:
        model = real_get_model(flow_type, name)  # type: ignore[arg-type]
        return _counted(model, work.models, lambda *a, **k: flow_type)

    def update_flows(*args: Any, **kwargs: Any) -> Any:
        work.updates += 1
        return urlink.model.state.update_flows(*args, **kwargs)

    capital = lambda *a, **k: "capital"  # noqa: E731
    patches: list[tuple[Any, str, Any]] = [
        (urlink.model.state, "get_model", get_model),
        (urlink.scenario.build, "update_flows", update_flows),
        (urlink.scenario.strategies, "update_flows", update_flows),
    ]
    for name in ("eco_compensation", "transfers"):
        real = getattr(urlink.model.state, name)
        patches.append((urlink.model.state, name, _counted(real, work.models, capital)))
    for name in ("read_table", "read_rows", "read_population_table"):
        real = getattr(urlink.scenario.build, name)
        patches.append((urlink.scenario.build, name, _counted(real, work.tables, _path_key)))
    for module, name in (
        (urlink.scenario.build, "zones_from_file"),
        (urlink.scenario.build, "points_from_file"),
        (urlink.scenario.build, "weights_from_points"),
        (urlink.scenario.build, "ahp_from_csv"),
        (urlink.scenario.assess, "weights_from_points"),
        (urlink.scenario.assess, "ahp_from_csv"),
    ):
        real = getattr(module, name, None)  # the scoring may read the weights itself
        if real is not None:
            patches.append((module, name, _counted(real, work.other_files, _path_key)))
    with ExitStack() as stack:
        for module, name, new in patches:
            stack.enter_context(mock.patch.object(module, name, new))
        yield work


def count_run(scenario_path: Path = SCENARIO) -> Work:
    """Run a scenario once in this process (nothing written) and count its work.

    Parameters
    ----------
    scenario_path
        The scenario file.

    Returns
    -------
    Work
    """
    scenario = load_scenario(scenario_path)
    with counting() as work:
        t0 = time.perf_counter()
        run(scenario, workers=1)
        work.seconds = time.perf_counter() - t0
    return work


def report(work: Work) -> str:
    """The counts as a small table, next to the figures measured before #13."""
    total = sum(work.models.values())
    rows = [
        ("flow computations (update_flows)", str(BEFORE_FLOW_COMPUTATIONS), str(work.updates)),
        *(
            (f"  {t} model runs", str(BEFORE_FLOW_COMPUTATIONS), str(work.models[t]))
            for t in FLOW_TYPES
        ),
        ("  all flow-model runs", str(4 * BEFORE_FLOW_COMPUTATIONS), str(total)),
        ("input table reads", str(BEFORE_TABLE_READS), str(sum(work.tables.values()))),
        ("  distinct tables", "", str(len(work.tables))),
        ("  most reads of one table", "", str(max(work.tables.values(), default=0))),
        ("other input file reads", "", str(sum(work.other_files.values()))),
        ("run time (s)", "", f"{work.seconds:.2f}"),
    ]
    width = max(len(r[0]) for r in rows)
    lines = [f"{'':<{width}}  {'before':>7}  {'after':>7}"]
    lines += [f"{a:<{width}}  {b:>7}  {c:>7}" for a, b, c in rows]
    again = {Path(p).name: n for p, n in (work.tables + work.other_files).items() if n > 1}
    if again:
        lines.append(f"files read more than once: {again}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", type=Path, default=SCENARIO, help="scenario file")
    ap.add_argument(
        "--warm-up",
        action="store_true",
        help="run once before counting (file cache, lazy imports)",
    )
    args = ap.parse_args(argv)
    if args.warm_up:
        run(load_scenario(args.scenario), workers=1)
    work = count_run(args.scenario)
    print(f"urlink.runner.run({args.scenario.name}), nothing written, workers=1")
    print(report(work))


if __name__ == "__main__":
    main()
