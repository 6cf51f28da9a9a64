"""Fuzzing in CI (#19): hostile scenario values, table cells and GeoJSON never reach a traceback.

A seeded, bounded batch of the cases of ``tests/fuzzing.py``, each run through the command
line in-process: exit code 0 or 2, never 1, no traceback, no hang. ``benchmarks/fuzz.py``
runs many more (docs/performance.md records a run of 10,000).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, seed, settings

from .fuzzing import Case, geojson_cases, run_case, table_cases, toml_cases, violation

FUZZ = settings(
    max_examples=30,
    deadline=None,
    database=None,
    derandomize=False,
    suppress_health_check=list(HealthCheck),
)


def _check(case: Case) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        code, err = run_case(Path(tmp), case)
    problem = violation(code, err)
    assert problem is None, f"{problem}: {case.describe()}\n{err[-2000:]}"


@seed(19)
@FUZZ
@given(toml_cases())
def test_hostile_scenario_values(case: Case) -> None:
    _check(case)


@seed(19)
@FUZZ
@given(table_cases())
def test_hostile_tables(case: Case) -> None:
    _check(case)


@seed(19)
@FUZZ
@given(geojson_cases())
def test_hostile_geojson(case: Case) -> None:
    _check(case)
