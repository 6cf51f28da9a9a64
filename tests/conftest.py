"""Shared fixtures: paths to the bundled data and the Huangyan zones built once per session."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"
TEST_DATA = Path(__file__).resolve().parent / "data"
SCENARIO = ROOT / "scenarios" / "huangyan.toml"

# The example plugin is installed by tests/test_plugins.py into a folder of its own; pytest
# must not import it (that would put its entry points in every test's registries).
collect_ignore = ["plugin"]


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def huangyan_scenario_path() -> Path:
    return SCENARIO


@pytest.fixture(scope="session")
def counties_gcj02_path() -> Path:
    return DATA / "boundaries" / "taizhou_counties_gcj02.geojson"


@pytest.fixture(scope="session")
def counties_wgs84_oracle_path() -> Path:
    return TEST_DATA / "oracle" / "taizhou_counties_wgs84.geojson"


@pytest.fixture(scope="session")
def huangyan_zones() -> tuple[gpd.GeoDataFrame, dict]:
    from urlink.scenario.build import zones_from_scenario
    from urlink.scenario.spec import load_scenario

    return zones_from_scenario(load_scenario(SCENARIO))


@pytest.fixture(scope="session")
def huangyan_run(tmp_path_factory) -> Path:
    """The outputs of one Huangyan run, shared by the tests that only read them."""
    from urlink.cli import main

    out = tmp_path_factory.mktemp("huangyan_run") / "huangyan"
    assert main(["run", str(SCENARIO), "--out", str(out), "-q"]) == 0
    return out
