"""urlink.run(): the whole result in memory, writing optional, parameters changed in Python."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest

import urlink
import urlink.model.linkage
import urlink.runner
from urlink.model.flows.people import PeopleParams
from urlink.model.intrazonal import pair_values
from urlink.model.state import intrazonal_min
from urlink.runner import Run
from urlink.scenario.spec import PeopleSpec, load_scenario

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def scenario():
    return load_scenario(ROOT / "scenarios" / "huangyan.toml")


@pytest.fixture(scope="module")
def result(scenario) -> Run:
    return urlink.run(scenario)


def test_run_returns_every_output_in_memory(result: Run, scenario) -> None:
    assert isinstance(result, Run)
    assert len(result.zones) == 29 and "typology" in result.zones.columns
    assert set(result.flows["flow_type"]) == {"people", "goods", "capital", "ecosystem"}
    # flows are lines from the origin's seat to the destination's (WGS84)
    assert result.flows.crs == "EPSG:4326"
    first = result.flows.iloc[0]
    seat = result.zones.loc[first["origin"], ["seat_lon", "seat_lat"]].astype(float).tolist()
    assert list(first.geometry.coords[0]) == pytest.approx(seat)
    assert result.travel_times.shape == (29, 29)
    names = ["baseline", *(s.name for s in scenario.strategies)]
    names += [p.name for p in scenario.packages]
    assert list(dict.fromkeys(result.indicators["strategy"])) == names
    assert result.scores is not None and set(result.scores["strategy"]) == set(names)
    assert result.robustness is not None
    assert result.manifest["summary"]["zones"] == 29
    graph = result.graph()
    assert isinstance(graph, nx.MultiDiGraph) and graph is result.graph()  # built once
    used = result.flows[result.flows["use"].fillna("used") != "unused"]
    # one edge per origin, destination and flow type (purposes and models summed)
    pairs = used.groupby(["origin", "destination", "flow_type"]).ngroups
    assert graph.number_of_edges() == pairs
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.flows = pd.DataFrame()  # type: ignore[misc]


def test_explore_returns_the_folium_map(result: Run) -> None:
    import folium

    m = result.explore(lang="en", tiles=None)
    assert isinstance(m, folium.Map)
    page = m.get_root().render()
    assert "Huangyan" in page and "Minutes to a hospital" in page
    folium.Marker([28.6, 121.2]).add_to(m)  # a notebook user extends it like any map


def test_a_run_without_out_writes_nothing(scenario, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    urlink.run(scenario)
    assert list(tmp_path.iterdir()) == []


def test_write_gives_the_files_of_urlink_run(result: Run, huangyan_run: Path, tmp_path) -> None:
    out = result.write(tmp_path / "again")
    written = sorted(p.name for p in out.iterdir())
    assert written == sorted(p.name for p in huangyan_run.iterdir())
    for name in ("flows.csv", "indicators.csv", "scores.csv", "robustness.csv"):
        pd.testing.assert_frame_equal(
            pd.read_csv(out / name, dtype=str), pd.read_csv(huangyan_run / name, dtype=str)
        )


def test_a_run_and_its_files_build_no_linkage_graph(
    scenario, huangyan_run: Path, tmp_path, monkeypatch
) -> None:
    """The flows layer and the maps come from the flow table; the graph only on request."""

    def no_graph(*args: object, **kwargs: object) -> None:
        msg = "a run built the networkx linkage graph"
        raise AssertionError(msg)

    monkeypatch.setattr(urlink.runner, "linkage_graph_of", no_graph)
    monkeypatch.setattr(urlink.model.linkage, "linkage_graph_from", no_graph)
    out = tmp_path / "run"
    urlink.run(scenario, out=out)
    for name in ("flows.csv", "indicators.csv"):
        assert (out / name).read_bytes() == (huangyan_run / name).read_bytes(), name
    layers = [gpd.read_file(d / "linkages.gpkg", layer="flows") for d in (out, huangyan_run)]
    pd.testing.assert_frame_equal(layers[0], layers[1], check_exact=True)
    assert len(layers[0]) > 100


def test_a_changed_parameter_changes_the_result(scenario) -> None:
    def run_with(trip_rate: float, beta: float) -> Run:
        people = PeopleSpec(trip_rate=trip_rate, params=PeopleParams(beta=beta, max_iter=20_000))
        flows = dataclasses.replace(scenario.flows, people=people)
        return urlink.run(dataclasses.replace(scenario, flows=flows, strategies=()))

    base, doubled, steeper = run_with(1.0, 0.1), run_with(2.0, 0.1), run_with(1.0, 0.2)
    assert base.ranking is None  # no strategies, nothing to rank

    def people(run: Run) -> pd.DataFrame:
        return run.flows[run.flows["flow_type"] == "people"]

    # doubly constrained: every flow scales with the trip rate
    np.testing.assert_allclose(people(doubled)["volume"], 2 * people(base)["volume"], rtol=1e-9)

    # a steeper decay keeps trips shorter: the mean trip time falls
    def mean_time(run: Run) -> float:
        p = people(run)
        t = pair_values(
            run.travel_times, p["origin"], p["destination"], intrazonal=intrazonal_min(run.state)
        )
        return float((t * p["volume"]).sum() / p["volume"].sum())

    assert mean_time(steeper) < mean_time(base)
