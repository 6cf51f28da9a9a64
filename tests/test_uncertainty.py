"""Uncertain inputs (#16): distributions, joint robustness, sensitivity, PRIM, the scenario.

The numbers are worked by hand: a strategy that dominates in every sample is always first;
PRIM finds a known switching threshold within one sampling step; the first-order indices of
an additive function are its squared coefficients over their sum.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from urlink.cli import main
from urlink.errors import InputError
from urlink.model.flows import people as people_module
from urlink.model.state import update_flows
from urlink.scenario.build import (
    base_state,
    network_from_scenario,
    weights_from_scenario,
    zones_from_scenario,
)
from urlink.scenario.spec import UncertainInput, UncertaintySpec, load_scenario
from urlink.scenario.strategies import apply_strategy
from urlink.scenario.uncertainty import (
    _apply,
    _SampleJob,
    assess_uncertainty,
    resolve_uncertainty,
    state_with,
    uncertain_parameters,
)
from urlink.scoring.indicators import evaluate
from urlink.scoring.methods import default_references, references_of
from urlink.scoring.robustness import smaa
from urlink.scoring.uncertainty import (
    Distribution,
    PrimBox,
    first_order_indices,
    joint_robustness,
    prim,
    unit_samples,
)

# ------------------------------------------------------------------------ distributions


def test_distributions_map_quantiles_by_hand():
    u = np.array([0.0, 0.25, 0.5, 1.0])
    assert Distribution("uniform", low=2.0, high=4.0).values(u).tolist() == [2.0, 2.5, 3.0, 4.0]
    assert Distribution("relative", relative=0.1).values(u, base=100.0).tolist() == pytest.approx(
        [90.0, 95.0, 100.0, 110.0]
    )
    # triangular (0, 0, 1): F(x) = 1 - (1 - x)^2, so the median is 1 - sqrt(0.5)
    tri = Distribution("triangular", low=0.0, mode=0.0, high=1.0)
    assert tri.values(np.array([0.5]))[0] == pytest.approx(1 - np.sqrt(0.5))
    assert Distribution("normal", mean=1.0, sd=2.0).values(np.array([0.5]))[0] == 1.0
    assert Distribution("lognormal", median=3.0, sigma=0.5).values(np.array([0.5]))[0] == 3.0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"kind": "uniform", "low": 2.0, "high": 1.0}, "must be below high"),
        ({"kind": "uniform", "low": 1.0}, "missing"),
        ({"kind": "relative", "relative": 1.5}, "below 1"),
        ({"kind": "normal", "mean": 0.0, "sd": 0.0}, "must be > 0"),
        ({"kind": "gamma", "low": 0.0}, "not known"),
        ({"kind": "uniform", "low": 0.0, "high": 1.0, "sd": 1.0}, "do not belong"),
    ],
)
def test_bad_distributions_are_refused(kwargs, match):
    with pytest.raises(InputError, match=match):
        Distribution(**kwargs)


def test_samples_are_stratified_and_seeded():
    u = unit_samples(16, 3, seed=7)
    assert (np.sort((u * 16).astype(int), axis=0) == np.arange(16)[:, None]).all()  # LHS
    assert np.array_equal(u, unit_samples(16, 3, seed=7))
    assert not np.array_equal(u, unit_samples(16, 3, seed=8))
    assert unit_samples(16, 2, method="sobol", seed=1).shape == (16, 2)
    with pytest.raises(InputError, match="power of 2"):
        unit_samples(12, 2, method="sobol")


# ------------------------------------------------------------------------ joint robustness


def _robust(performance, **kwargs):
    n = performance.shape[2]
    names = [f"i{j}" for j in range(n)]
    weights = pd.DataFrame(
        [[1.0 / n] * n, [0.7] + [0.3 / (n - 1)] * (n - 1)], columns=names, index=["g1", "g2"]
    )
    return joint_robustness(
        performance,
        performance.mean(axis=0),
        strategies=["baseline", "a", "b"],
        indicators=names,
        directions=dict.fromkeys(names, "max"),
        weights=weights,
        weight_samples=500,
        weight_draws=5,
        **kwargs,
    )


def test_a_strategy_dominating_every_sample_is_always_first():
    rng = np.random.default_rng(1)
    base = rng.uniform(1.0, 2.0, size=(40, 1, 3))
    b = base * rng.uniform(1.0, 1.2, size=(40, 1, 3))
    a = b * 1.1 + 0.1  # better than b and the baseline on every indicator, in every sample
    res = _robust(np.concatenate([base, a, b], axis=1))
    first = res.acceptability[res.acceptability["rank"] == 1]
    assert set(first.loc[first["strategy"] == "a", "acceptability"]) == {1.0}
    assert set(first.loc[first["strategy"] != "a", "acceptability"]) == {0.0}
    assert set(first["uncertainty"]) == {"weights", "inputs", "joint"}
    regret = res.regret.set_index(["weights", "uncertainty", "strategy"])
    assert regret.loc[("pooled", "joint", "a"), "max_regret"] == 0.0
    assert (regret.xs("b", level="strategy")["mean_regret"] > 0).all()
    # every row of rank acceptability sums to 1
    sums = res.acceptability.groupby(["weights", "method", "uncertainty", "strategy"])[
        "acceptability"
    ].sum()
    assert np.allclose(sums, 1.0)


def test_weights_only_agrees_with_smaa_on_the_nominal_table():
    # same table, same normalisation (interval, baseline ± 10 %), independent weight draws
    table = pd.DataFrame(
        {"i0": [10.0, 10.5, 10.2, 9.9], "i1": [5.0, 4.9, 5.6, 5.2], "i2": [2.0, 2.1, 1.9, 2.3]},
        index=["baseline", "a", "b", "c"],
    )
    directions = {"i0": "max", "i1": "max", "i2": "min"}
    weights = pd.DataFrame({"i0": [0.5], "i1": [0.3], "i2": [0.2]}, index=["g"])
    res = joint_robustness(
        np.stack([table.to_numpy()] * 2),
        table.to_numpy(),
        strategies=list(table.index),
        indicators=list(table.columns),
        directions=directions,
        weights=weights,
        weight_samples=20_000,
    )
    refs = references_of(default_references(table, directions))
    for label, around in (("g", weights.loc["g"]), ("uniform", None)):
        expected = smaa(
            table, directions, n_samples=20_000, around=around, references=refs
        ).first_rank
        a = res.acceptability
        mine = a[(a.weights == label) & (a.uncertainty == "weights") & (a["rank"] == 1)]
        got = mine.set_index("strategy")["acceptability"].reindex(expected.index)
        assert np.abs(got - expected).max() < 0.02  # about 4 standard errors


def _switch_at(p_star: float, n: int):
    """Samples of p, q, r and the ranking where A wins iff p > p* (B's indicator is p*)."""
    x = pd.DataFrame(unit_samples(n, 3, seed=5), columns=["p", "q", "r"])
    ones = np.ones(n)
    perf = np.stack([np.c_[ones * 0.1], np.c_[x["p"]], np.c_[ones * p_star]], axis=1)
    res = joint_robustness(
        perf,
        perf.mean(axis=0),
        strategies=["baseline", "A", "B"],
        indicators=["i"],
        directions={"i": "max"},
        weights=pd.DataFrame({"i": [1.0]}, index=["g"]),
        weight_samples=100,
        weight_draws=2,
        normalisation="minmax",
    )
    return x, res


def test_a_known_threshold_is_found_within_one_sampling_step():
    # A's indicator is p, B's is the constant p* = 0.37: A ranks first iff p > p*
    n, p_star = 200, 0.37
    x, res = _switch_at(p_star, n)
    per = res.per_sample[(res.per_sample["weights"] == "g") & (res.per_sample["strategy"] == "A")]
    wins = per.sort_values("sample")["rank"].to_numpy() == 1
    assert wins.mean() == pytest.approx(1 - p_star, abs=1.5 / n)
    box = prim(x, wins)
    assert box is not None
    assert [name for name, *_ in box.limits] == ["p"]
    _, low, high = box.limits[0]
    assert high == np.inf
    assert abs(low - p_star) <= 1.0 / n  # one LHS stratum
    assert box.density == 1.0
    assert box.coverage == 1.0
    assert "p is above 0.37" in box.describe("A ranks first")


def test_first_order_indices_of_an_additive_function_match_the_analytic_values():
    # Y = X1 + 2 X2 + 0 X3, X uniform: S1 = a_i^2 / sum a^2 = 0.2, 0.8, 0
    x = pd.DataFrame(unit_samples(1024, 3, seed=11), columns=["x1", "x2", "x3"])
    y = pd.DataFrame({"y": x["x1"] + 2 * x["x2"]})
    s1 = first_order_indices(x, y, seed=1).set_index("input")
    expected = {"x1": 0.2, "x2": 0.8, "x3": 0.0}
    for name, value in expected.items():
        # within the bootstrap 95 % interval, and never off by more than 0.05
        assert abs(s1.loc[name, "S1"] - value) <= max(s1.loc[name, "S1_conf"], 0.02)
        assert abs(s1.loc[name, "S1"] - value) <= 0.05
    constant = first_order_indices(x, pd.DataFrame({"c": np.ones(1024)}))
    assert (constant["S1"] == 0).all()


def test_prim_without_the_outcome_finds_nothing():
    x = pd.DataFrame({"p": np.linspace(0, 1, 20)})
    assert prim(x, np.zeros(20, dtype=bool)) is None


# ------------------------------------------------------------------------------ scenarios


def test_the_uncertainty_section_is_parsed(tmp_path, huangyan_scenario_path):
    s = load_scenario(huangyan_scenario_path.parent / "huangyan_uncertainty.toml")
    assert s.uncertainty is not None
    assert s.uncertainty.estimated_populations
    paths = [u.path for u in s.uncertainty.inputs]
    assert "modes.beta_time_per_min" in paths
    beta = next(u for u in s.uncertainty.inputs if u.path == "flows.goods.beta")
    assert beta.distribution == Distribution("uniform", low=0.01, high=0.04)


def _scenario_with(tmp_path, huangyan_scenario_path, block):
    root = str(huangyan_scenario_path.parent.parent)
    text = huangyan_scenario_path.read_text(encoding="utf-8").replace('"../', f'"{root}/')
    text += f"\n[uncertainty]\nsamples = 8\n[uncertainty.inputs]\n{block}\n"
    path = tmp_path / "s.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("block", "match"),
    [
        ('"flows.goods.beta" = { low = 0.01, hihg = 0.04 }', "hihg"),
        ('"flows.goods.beta" = { distribution = "gamma", low = 1 }', "gamma"),
        ("", "names no uncertain input"),
    ],
)
def test_bad_uncertainty_sections_name_the_key(tmp_path, huangyan_scenario_path, block, match):
    with pytest.raises(InputError, match=match):
        load_scenario(_scenario_with(tmp_path, huangyan_scenario_path, block))


def test_validate_names_an_unknown_input(tmp_path, huangyan_scenario_path, capsys):
    path = _scenario_with(
        tmp_path, huangyan_scenario_path, '"flows.goods.bta" = { relative = 0.1 }'
    )
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert "[uncertainty.inputs] key 'flows.goods.bta' is not an input" in err
    assert "flows.goods.beta" in err


@pytest.fixture(scope="module")
def small(huangyan_scenario_path):
    """Huangyan with three cheap strategies and one road strategy, and its base state."""
    s = load_scenario(huangyan_scenario_path)
    keep = ("orange-logistics-hub", "changtan-eco-compensation", "hospital-to-ningxi")
    s = dataclasses.replace(s, strategies=tuple(x for x in s.strategies if x.name in keep))
    zones, _ = zones_from_scenario(s)
    state = base_state(s, zones, network_from_scenario(s, zones))
    return s, state


def _with_inputs(scenario, *entries, samples=8):
    inputs = tuple(UncertainInput(path=p, distribution=d) for p, d in entries)
    return dataclasses.replace(
        scenario, uncertainty=UncertaintySpec(samples=samples, inputs=inputs)
    )


def test_unknown_input_names_are_errors_listing_the_valid_ones(small):
    scenario, state = small
    s = _with_inputs(scenario, ("flows.goods.bta", Distribution("relative", relative=0.1)))
    with pytest.raises(InputError, match=r"'flows.goods.bta' is not an input.*flows\.goods\.beta"):
        resolve_uncertainty(s, state)
    known = uncertain_parameters(scenario, state)
    assert known["flows.goods.beta"] == 0.02
    assert known["strategies.orange-logistics-hub.params.demand_weight"] == 3.0
    assert known["flows.people.purposes.home_other.trip_rate"] == 1.04
    assert "modes.asc.bus" in known


def test_the_compiled_balancing_gives_the_numpy_loops_samples(small, monkeypatch):
    # #16: the samples balance the people models in the compiled loop; the numpy loop (the
    # fallback without a C compiler) must give the same performance tables
    scenario, state = small
    s = _with_inputs(
        scenario,
        ("flows.people.purposes.home_work.beta", Distribution("relative", relative=0.25)),
        ("flows.people.purposes.home_other.beta", Distribution("uniform", low=0.16, high=0.28)),
        samples=4,
    )
    fast = assess_uncertainty(s, state, workers=1)
    monkeypatch.setattr(people_module, "_balance", None)
    plain = assess_uncertainty(s, state, workers=1)
    np.testing.assert_allclose(fast.performance, plain.performance, rtol=1e-12, atol=1e-12)
    co2 = fast.performance[:, 0, list(fast.indicators).index("co2_t_per_day")]
    assert np.isfinite(co2).all()
    assert np.ptp(co2) > 0  # the sampled betas moved the people flows


def test_samples_are_the_same_for_any_number_of_workers(small):
    scenario, state = small
    s = _with_inputs(
        scenario,
        ("flows.goods.beta", Distribution("uniform", low=0.01, high=0.04)),
        ("flows.capital.eco_rate_yuan_per_m3", Distribution("relative", relative=0.3)),
        (
            "strategies.orange-logistics-hub.params.demand_weight",
            Distribution("uniform", low=1.0, high=5.0),
        ),
    )
    weights = weights_from_scenario(s)
    one = assess_uncertainty(s, state, weights=weights, workers=1)
    two = assess_uncertainty(s, state, weights=weights, workers=2)
    assert np.array_equal(one.performance, two.performance, equal_nan=True)
    for name, table in one.tables().items():
        pd.testing.assert_frame_equal(table, two.tables()[name])
    # the inputs matter: the goods indicator varies over the samples
    goods = one.performance[:, 0, list(one.indicators).index("cross_boundary_share_goods")]
    assert np.ptp(goods) > 0
    assert set(one.first_rank().columns) == {"weights", "inputs", "joint"}


def test_samples_are_the_same_on_a_dask_cluster(small, tmp_path):
    distributed = pytest.importorskip("distributed")
    import dask

    scenario, state = small
    s = _with_inputs(
        scenario,
        ("flows.goods.beta", Distribution("uniform", low=0.01, high=0.04)),
        ("flows.capital.eco_rate_yuan_per_m3", Distribution("relative", relative=0.3)),
    )
    weights = weights_from_scenario(s)
    local = assess_uncertainty(s, state, weights=weights, workers=1)
    with (
        dask.config.set({"temporary-directory": str(tmp_path)}),
        distributed.LocalCluster(  # threads: the Dask path, without seconds of start-up
            n_workers=2,
            processes=False,
            threads_per_worker=1,
            dashboard_address="127.0.0.1:0",  # not None: that still binds port 8787
            local_directory=str(tmp_path),
        ) as cluster,
        distributed.Client(cluster, set_as_default=False) as client,
    ):
        remote = assess_uncertainty(s, state, weights=weights, scheduler=client)
    assert np.array_equal(local.performance, remote.performance, equal_nan=True)
    pd.testing.assert_frame_equal(local.tables()["uncertainty"], remote.tables()["uncertainty"])


def test_the_scenario_values_reproduce_the_run(small):
    scenario, state = small
    s = _with_inputs(scenario, ("flows.goods.beta", Distribution("relative", relative=0.2)))
    inputs = resolve_uncertainty(s, state)
    same = state_with(state, {"flows.goods.beta": 0.02}, inputs)
    assert evaluate(same).district.equals(evaluate(state).district)


def test_a_cached_road_network_equals_the_incremental_update(small, huangyan_scenario_path):
    _, state = small
    road = next(
        x for x in load_scenario(huangyan_scenario_path).strategies if x.kind == "upgrade_road"
    )
    edited = apply_strategy(state, road)
    job = _SampleJob(
        state=state,
        inputs=(),
        values=np.empty((1, 0)),
        items=(),
        networks={
            road.name: (edited.routing, edited.routing_length, edited.skim, edited.distance_km)
        },
        indicators=(),
        transits={road.name: edited.transit_memo},
    )
    cached = _apply(job, state, (road,))
    assert evaluate(cached).district.equals(evaluate(edited).district)
    assert cached.applied == edited.applied
    assert edited.transit_memo is not None
    assert cached.transit_memo is edited.transit_memo  # the bus skim on that network, kept
    pd.testing.assert_frame_equal(cached.flows["people"], edited.flows["people"])


def test_a_package_reuses_its_road_members_network_and_flows(small, huangyan_scenario_path):
    # #16 speed-up: in a sample, a package's road member takes the network and the flows of
    # the same road strategy applied alone; the numbers are those of applying it again
    _, state = small
    by_name = {x.name: x for x in load_scenario(huangyan_scenario_path).strategies}
    bus, road = by_name["bus-west-mountains"], by_name["western-road-upgrade"]
    job = _SampleJob(
        state=state, inputs=(), values=np.empty((1, 0)), items=(), networks={}, indicators=()
    )
    alone = apply_strategy(state, road)
    bus_alone = apply_strategy(state, bus)
    done = {road.name: (road, alone), bus.name: (bus, bus_alone)}
    package = _apply(job, state, (bus, road), done)
    again = apply_strategy(apply_strategy(state, bus), road)
    assert package.bus is bus_alone.bus  # the first member: the state after it alone
    assert package.people_trips is alone.people_trips  # reused, not computed again
    assert package.flows["goods"] is alone.flows["goods"]
    assert package.skim is alone.skim
    for name, table in again.flows.items():
        pd.testing.assert_frame_equal(package.flows[name], table)
    assert evaluate(package).district.equals(evaluate(again).district)
    assert package.applied == again.applied
    assert package.cost_yuan == again.cost_yuan
    # another speed than the one applied alone: nothing reused
    faster = dataclasses.replace(road, params=dataclasses.replace(road.params, speed_factor=1.5))
    other = _apply(job, state, (bus, faster), done)
    assert other.people_trips is not alone.people_trips
    assert evaluate(other).district.equals(
        evaluate(apply_strategy(apply_strategy(state, bus), faster)).district
    )


def test_update_flows_takes_only_the_flows_computed_from_the_same_objects(small):
    _, state = small
    goods = state.setups.goods
    edited = dataclasses.replace(
        state,
        setups=dataclasses.replace(
            state.setups, goods=dataclasses.replace(goods, params=goods.params)
        ),
    )  # an equal but new goods setup: computed again
    plain = update_flows(edited, ("goods", "capital"))
    reused = update_flows(edited, ("goods", "capital"), like=state)
    assert reused.flows["goods"] is not state.flows["goods"]
    assert reused.flows["capital"] is state.flows["capital"]  # the same setup and ecosystem
    for name, table in plain.flows.items():
        pd.testing.assert_frame_equal(reused.flows[name], table)
    same = update_flows(state, ("skim",), like=state)
    assert same.people_trips is state.people_trips
    assert same.flows["people"] is state.flows["people"]
    # less water from the largest source: new ecosystem flows, so the capital flows follow
    # them, though the capital setup is the one of ``like``
    eco = state.setups.ecosystem
    source = str(eco.supply.idxmax())
    wetter = dataclasses.replace(
        state, setups=dataclasses.replace(state.setups, ecosystem=eco.scaled({source: 0.5}))
    )
    plain = update_flows(wetter, ("ecosystem",))
    reused = update_flows(wetter, ("ecosystem",), like=state)
    assert reused.flows["capital"] is not state.flows["capital"]
    for name in ("ecosystem", "capital"):
        pd.testing.assert_frame_equal(reused.flows[name], plain.flows[name])
    assert not plain.flows["capital"]["volume"].equals(state.flows["capital"]["volume"])


def test_estimated_populations_keep_the_census_total(small):
    scenario, state = small
    s = dataclasses.replace(
        scenario, uncertainty=UncertaintySpec(samples=8, estimated_populations=True)
    )
    inputs = resolve_uncertainty(s, state)
    townships = [u for u in inputs if u.keep_total]
    assert len(townships) == 19
    assert {u.distribution.relative for u in townships} == {0.25}
    values = {u.path: u.base * (1.2 if i % 2 else 0.85) for i, u in enumerate(inputs)}
    new = state_with(state, values, inputs)
    ids = list(townships[0].keep_total)
    assert new.zones.loc[ids, "population"].sum() == pytest.approx(
        state.zones.loc[ids, "population"].astype(float).sum()
    )
    assert not new.zones["population"].equals(state.zones["population"].astype(float))
    people = new.flows["people"]["volume"].sum()
    assert people != pytest.approx(state.flows["people"]["volume"].sum(), rel=1e-9)


def test_the_uncertainty_showcase_is_the_huangyan_scenario_plus_uncertainty(root):
    base = (root / "scenarios" / "huangyan.toml").read_text(encoding="utf-8")
    text = (root / "scenarios" / "huangyan_uncertainty.toml").read_text(encoding="utf-8")
    head = text[: text.index("# Uncertain inputs")].rsplit("# ---", 1)[0]
    same = head.replace('name = "huangyan-uncertainty"', 'name = "huangyan"').replace(
        "linkages under uncertain inputs", "linkages"
    )
    assert same.rstrip() == base.rstrip()  # keep the two files in step


def test_first_order_indices_equal_salibs_rbd_fast_for_every_output():
    # the vectorised estimate is SALib's, output by output (not only close to the analytic)
    from SALib.analyze import rbd_fast

    x = pd.DataFrame(unit_samples(300, 4, seed=5), columns=["a", "b", "c", "d"])
    a, b, c, d = (x[k].to_numpy() for k in "abcd")
    y = pd.DataFrame(
        {
            "additive": a + 3 * b,
            "interaction": a * c + np.sin(6 * d),
            "step": (b > 0.4).astype(float),
            "flat": np.full(300, 2.5),
        }
    )
    ours = first_order_indices(x, y, seed=2, resamples=10).set_index(["output", "input"])
    problem = {"num_vars": 4, "names": list("abcd"), "bounds": [[0, 1]] * 4}
    for out in ("additive", "interaction", "step"):
        ref = rbd_fast.analyze(problem, x.to_numpy(), y[out].to_numpy(), M=10, num_resamples=2)
        for name, value in zip("abcd", ref["S1"], strict=True):
            assert ours.loc[(out, name), "S1"] == pytest.approx(value, abs=1e-12)
    assert (ours.loc["flat", "S1"] == 0).all()
    assert (ours.loc["flat", "S1_conf"] == 0).all()
    assert (ours["S1_conf"] >= 0).all()


def test_sensitivity_is_given_for_every_weight_set_and_shown_per_group(small, monkeypatch):
    from urlink.outputs import report

    scenario, state = small
    s = _with_inputs(
        scenario,
        ("flows.goods.beta", Distribution("uniform", low=0.01, high=0.04)),
        ("flows.capital.eco_rate_yuan_per_m3", Distribution("relative", relative=0.5)),
        samples=16,
    )
    result = assess_uncertainty(s, state, weights=weights_from_scenario(s), workers=1)
    sens = result.sensitivity
    labels = list(dict.fromkeys(result.robustness.per_sample["weights"]))
    assert "pooled" in labels
    assert len(labels) > 2  # the groups as well
    assert list(dict.fromkeys(sens["weights"])) == labels
    # every weight set x strategy x output has one index per input
    counts = sens.groupby(["weights", "strategy", "output"]).size()
    assert (counts == 2).all()
    assert len(counts) == len(labels) * len(result.strategies) * 2
    assert set(sens["input"]) == {"flows.goods.beta", "flows.capital.eco_rate_yuan_per_m3"}
    # the report lists each group's deciding inputs only from enough samples
    assert "What decides it" not in "\n".join(report._section_uncertainty(result.tables()))
    monkeypatch.setattr(report, "MIN_SAMPLES_DRIVERS", 16)
    html = "\n".join(report._section_uncertainty(result.tables()))
    assert "What decides it, per group" in html
    part = html[html.index("What decides it, per group") :]
    for label in labels:
        if label != "uniform":
            assert f"<td>{label.replace('_', '_<wbr>')}</td>" in part


def test_sampled_populations_derive_the_typology_again(small):
    from urlink.scenario.uncertainty import Uncertain

    _, state = small
    assert state.typology is not None  # Huangyan's densities come from the populations
    zones = state.zones
    urban = zones.index[zones["typology"] == "urban"]
    zone = str(urban[0])
    u = Uncertain(
        path=f"population.{zone}",
        distribution=Distribution("relative", relative=0.99),
        base=float(zones.loc[zone, "population"]),
    )
    # a tenth of its residents: below the urban density, so no longer urban
    thin = state_with(state, {u.path: u.base / 10}, (u,))
    assert thin.zones.loc[zone, "density_per_km2"] == pytest.approx(
        zones.loc[zone, "density_per_km2"] / 10
    )
    assert thin.zones.loc[zone, "typology"] != "urban"
    # urban is decided by density alone: the other zones keep their urban status
    others = zones.index != zone
    assert (thin.zones.loc[others, "typology"] == "urban").equals(
        zones.loc[others, "typology"] == "urban"
    )
    # without the thresholds (densities from a raster) the class stays the base run's
    fixed = state_with(dataclasses.replace(state, typology=None), {u.path: u.base / 10}, (u,))
    assert fixed.zones.loc[zone, "typology"] == "urban"


def _in_limits(x, limits):
    inside = np.ones(len(x), dtype=bool)
    for name, low, high in limits:
        inside &= (x[name] >= low) & (x[name] <= high)
    return inside


def test_prim_opens_restrictions_that_do_not_matter():
    # the outcome depends on p alone (with 5 % of the samples flipped at random); peeling
    # on 8 noise inputs may cut some of them by chance, the significance test opens them
    n = 300
    cols = ["p"] + [f"noise{i}" for i in range(8)]
    x = pd.DataFrame(unit_samples(n, len(cols), seed=21), columns=cols)
    flip = np.random.default_rng(4).uniform(size=n) < 0.05
    wins = (x["p"] > 0.6).to_numpy() ^ flip
    box = prim(x, wins)
    assert [name for name, *_ in box.limits] == ["p"]
    _, low, high = box.limits[0]
    assert 0.55 < low < 0.75  # above the switch: PRIM trades coverage for density
    assert high == np.inf
    # the reported figures are those of the box stated
    inside = _in_limits(x, box.limits)
    assert box.density == pytest.approx(wins[inside].mean())
    assert box.mass == pytest.approx(inside.mean())
    # without the test (significance close to 1), the noise cuts stay
    loose = prim(x, wins, significance=0.999, max_restricted=9)
    assert len(loose.limits) > len(box.limits)


def test_prim_keeps_at_most_max_restricted_inputs():
    # four inputs matter jointly: with max_restricted = 2 the two dearest to open are kept
    n = 2000
    x = pd.DataFrame(unit_samples(n, 5, seed=8), columns=["a", "b", "c", "d", "e"])
    wins = ((x["a"] > 0.2) & (x["b"] > 0.2) & (x["c"] > 0.5) & (x["d"] > 0.5)).to_numpy()
    full = prim(x, wins, max_restricted=4)
    assert {name for name, *_ in full.limits} == {"a", "b", "c", "d"}
    two = prim(x, wins, max_restricted=2)
    assert {name for name, *_ in two.limits} == {"c", "d"}  # the tighter, more costly ones
    inside = _in_limits(x, two.limits)
    assert two.density == pytest.approx(wins[inside].mean())
    assert two.density < full.density
    with pytest.raises(InputError, match="max_restricted"):
        prim(x, wins, max_restricted=0)


def test_conditions_are_not_sought_for_a_handful_of_wins():
    from urlink.scenario.uncertainty import MIN_WINS_FOR_CONDITIONS, _conditions

    n = 200
    for p_star, expected in ((0.97, "too few to tell"), (0.37, "p is above 0.37")):
        x, res = _switch_at(p_star, n)
        table = _conditions(x, res, res.per_sample["method"].iloc[0])
        row = table[(table["weights"] == "g") & (table["strategy"] == "A")].iloc[0]
        assert expected in row["statement"]
        if p_star > 0.9:
            assert (1 - p_star) * n < MIN_WINS_FOR_CONDITIONS
            assert row["limits"] == ""
            assert "in 6 of 200 samples" in row["statement"]


def test_a_box_without_restrictions_says_so():
    box = PrimBox((), 0.02, 1.0, 1.0, 200)
    assert box.describe("A ranks first") == (
        "A ranks first in 2 % of the samples, under no condition on the inputs that stands out"
    )


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_prim_sorted_cuts_are_the_plain_cuts(seed):
    """PRIM's peeling cuts from the samples sorted once equal those of the plain loop.

    With a 0/1 outcome the densities come from cumulative sums (exact whole numbers): the
    same candidate cuts, keys and bounds as cutting and averaging per candidate, with ties
    in the inputs (whole-number inputs) and a box that has already been peeled.
    """
    from urlink.scoring.uncertainty import _cuts, _inside, _sorted_cuts

    rng = np.random.default_rng(seed)
    x = np.column_stack([rng.uniform(size=300), rng.integers(0, 6, 300).astype(float)])
    y = ((x[:, 0] > 0.3) & (rng.uniform(size=300) > 0.2)).astype(float)
    order = np.argsort(x.T, axis=1, kind="stable")
    for lo, hi in (([0.0, 0.0], [1.0, 5.0]), ([0.2, 1.0], [0.9, 4.0])):
        inside = _inside(x, np.array(lo), np.array(hi))
        box = order[inside[order]].reshape(2, int(inside.sum()))
        for k in (1, 7, 40):
            assert sorted(_sorted_cuts(x, y, box, k)) == sorted(_cuts(x, y, inside, k))


def test_prim_quasi_p_values_match_one_input_at_a_time():
    """The quasi-p-values computed for all restricted inputs at once equal one-by-one ones."""
    from scipy import stats

    from urlink.scoring.uncertainty import _inside, _quasi_p

    rng = np.random.default_rng(5)
    x = rng.uniform(size=(400, 3))
    y = ((x[:, 0] > 0.5) | (rng.uniform(size=400) > 0.8)).astype(float)
    lo, hi = np.array([0.5, 0.1, 0.0]), np.array([1.0, 0.9, 1.0])
    got = _quasi_p(x, y, lo, hi, [0, 1])
    inside = _inside(x, lo, hi)
    n, k = int(inside.sum()), round(float(y[inside].sum()))
    for (tail, p_wider), j in zip(got, [0, 1], strict=True):
        wlo, whi = lo.copy(), hi.copy()
        wlo[j], whi[j] = -np.inf, np.inf
        p = float(y[_inside(x, wlo, whi)].mean())
        assert p_wider == p
        assert tail == float(stats.binom.sf(k - 1, n, p))
    assert got[0][0] < 1e-6 < got[1][0]  # the real restriction is significant, the other not
