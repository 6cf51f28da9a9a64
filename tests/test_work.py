"""A run computes each flow once and reads each input once (#13; benchmarks/bench_work.py).

One Huangyan run in this process (``workers=1``) with the flow models (as returned by
``urlink.model.state.get_model``) and the table readers (as imported by
``urlink.scenario.build``, where every scenario table is read) wrapped to count calls.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

import urlink.model.state
import urlink.scenario.assess
import urlink.scenario.build
from urlink.runner import run
from urlink.scenario.spec import load_scenario

ROAD_KINDS = ("add_link", "upgrade_road")  # change travel times: people and goods flows


def _counting(func, counter, key):
    def wrapper(*args, **kwargs):
        counter[key(*args, **kwargs)] += 1
        return func(*args, **kwargs)

    return wrapper


def _path(path, *_, **__):
    return str(Path(path).resolve())


@pytest.fixture(scope="module")
def counted(huangyan_scenario_path):
    scenario = load_scenario(huangyan_scenario_path)
    models, tables, weights = Counter(), Counter(), Counter()
    real_get_model = urlink.model.state.get_model

    def get_model(flow_type, name):
        return _counting(real_get_model(flow_type, name), models, lambda *a, **k: flow_type)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(urlink.model.state, "get_model", get_model)
        for name in ("read_table", "read_rows", "read_population_table"):
            real = getattr(urlink.scenario.build, name)
            mp.setattr(urlink.scenario.build, name, _counting(real, tables, _path))
        for module in (urlink.scenario.build, urlink.scenario.assess):
            for name in ("weights_from_points", "ahp_from_csv"):
                real = getattr(module, name, None)
                if real is not None:
                    mp.setattr(module, name, _counting(real, weights, _path))
        result = run(scenario, workers=1)
    return scenario, result, models, tables, weights


def test_each_flow_model_runs_once_per_state_that_needs_it(counted):
    scenario, result, models, _, _ = counted
    kinds = Counter(s.kind for s in scenario.strategies)
    roads = sum(kinds[k] for k in ROAD_KINDS)
    assert roads == 3 and len(scenario.strategies) == 8  # the scenario this test is about
    # the package: the bus line on the upgraded road (one more state with a road edit)
    assert [p.strategies for p in scenario.packages] == [
        ("bus-west-mountains", "western-road-upgrade")
    ]
    assert len(result.assessment.evaluations) == 1 + len(scenario.strategies) + 1
    # the baseline once, then only the strategies that change what a model reads
    purposes = len(scenario.flows.people.purposes)  # one model run per purpose and state
    assert purposes == 3
    assert models["people"] == purposes * (1 + roads + 1)
    assert models["goods"] == 1 + roads + 1 + kinds["market_hub"]
    assert models["ecosystem"] == 1 + kinds["land_change"]  # declared links: no skim
    assert set(models) == {"people", "goods", "ecosystem"}


def test_each_input_table_is_read_at_most_once(counted):
    scenario, _, _, tables, _ = counted
    assert len(tables) == 8  # populations (3), goods (2), ecosystem (2), services
    assert max(tables.values()) == 1, {Path(p).name: n for p, n in tables.items() if n > 1}
    assert set(tables) <= {str(p.resolve()) for p in scenario.input_files()}


def test_the_stakeholder_weights_are_read_once(counted):
    # read by the input check, then passed to the scoring (not read again after the run)
    scenario, _, _, _, weights = counted
    assert weights == Counter({_path(scenario.scoring.weights): 1})
