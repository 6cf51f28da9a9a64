"""Fuzzing in CI (#19): hostile inputs for every reader never reach a traceback.

A seeded, bounded batch of the cases of ``tests/fuzzing.py``, each run through the command
line in-process: exit code 0 or 2, never 1, no traceback, no hang. The scenario values,
tables and GeoJSON of the tiny scenario; every other reader of the Huangyan showcase
(settlements, the population raster, township references, attraction, goods, ecosystem,
capital and bus tables, AHP forms); and the Malta showcase's inputs in miniature (zones,
buildings and bus routes from an OSM file, OSM bus options, its tables).
``benchmarks/fuzz.py`` runs many more (docs/performance.md records a run).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, seed, settings

from urlink.cli import main

from .fuzzing import (
    GENERATORS,
    Case,
    geojson_cases,
    make_full,
    make_malta,
    run_case,
    table_cases,
    toml_cases,
    violation,
)

FUZZ = settings(
    max_examples=30,
    deadline=None,
    database=None,
    derandomize=False,
    suppress_health_check=list(HealthCheck),
)
FEW = settings(FUZZ, max_examples=25)
"""The readers added with the full and Malta-style scenarios: fewer cases each in CI."""


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


@pytest.mark.parametrize("maker", [make_full, make_malta])
def test_the_fuzzed_scenarios_are_valid_as_written(tmp_path, capsys, maker):
    """Each case breaks a valid scenario: unbroken, it validates with exit 0."""
    scenario = maker(tmp_path)
    assert main(["validate", str(scenario), "-q"]) == 0, capsys.readouterr().err


@pytest.mark.parametrize(
    "name",
    sorted(set(GENERATORS) - {"toml", "tables", "geojson"}),
)
def test_hostile_inputs_of_every_other_reader(name: str) -> None:
    @seed(19)
    @FEW
    @given(GENERATORS[name]())
    def fuzz(case: Case) -> None:
        _check(case)

    fuzz()
