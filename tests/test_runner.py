"""urlink.run(): the whole result in memory, writing optional, parameters changed in Python."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import networkx as nx
import pandas as pd
import pytest

import urlink
from urlink.runner import Run
from urlink.scenario.spec import load_scenario

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
    assert result.travel_times.shape == (29, 29)
    names = ["baseline", *(s.name for s in scenario.strategies)]
    assert list(dict.fromkeys(result.indicators["strategy"])) == names
    assert result.scores is not None and set(result.scores["strategy"]) == set(names)
    assert result.robustness is not None
    assert result.manifest["summary"]["zones"] == 29
    graph = result.graph()
    assert isinstance(graph, nx.MultiDiGraph) and graph is result.graph()  # built once
    used = result.flows[result.flows.get("use", pd.Series("used")).fillna("used") != "unused"]
    assert graph.number_of_edges() == len(used)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.flows = pd.DataFrame()  # type: ignore[misc]


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


def test_a_changed_parameter_changes_the_result(result: Run, scenario) -> None:
    people = scenario.flows.people
    doubled = dataclasses.replace(people, trip_rate=2 * people.trip_rate)
    steeper = dataclasses.replace(people.params, beta=2 * people.params.beta)
    other = dataclasses.replace(
        scenario,
        flows=dataclasses.replace(
            scenario.flows, people=dataclasses.replace(doubled, params=steeper)
        ),
        strategies=(),
    )
    again = urlink.run(other)
    before = result.flows[result.flows["flow_type"] == "people"]["volume"].sum()
    after = again.flows[again.flows["flow_type"] == "people"]["volume"].sum()
    assert after == pytest.approx(2 * before, rel=1e-9)  # doubly constrained: totals scale
    assert again.ranking is None  # no strategies, nothing to rank

    # a steeper decay keeps trips shorter: the mean trip time falls
    def mean_time(run: Run) -> float:
        p = run.flows[run.flows["flow_type"] == "people"]
        t = run.travel_times.to_numpy()[
            run.travel_times.index.get_indexer(p["origin"]),
            run.travel_times.columns.get_indexer(p["destination"]),
        ]
        return float((t * p["volume"]).sum() / p["volume"].sum())

    assert mean_time(again) < mean_time(result)
