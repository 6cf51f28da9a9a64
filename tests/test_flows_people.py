from __future__ import annotations

import importlib.util
import math
import os
from collections.abc import Sequence

import numpy as np
import pandas as pd
import pytest

from urlink.errors import InputError, UrlinkError, UrlinkWarning
from urlink.model.flows import get_model, registry
from urlink.model.flows.people import (
    CalibrationResult,
    PeopleParams,
    _furness,
    _furness_compiled,
    _furness_numpy,
    calibrate_beta,
    common_part_of_commuters,
    gravity_attraction,
    gravity_doubly,
    gravity_production,
    gravity_unconstrained,
    od_matrix_from,
    radiation,
    srmse,
)

COMPILED = importlib.util.find_spec("urlink.model.flows._balance") is not None
# CI has a compiler: the compiled Furness loop must be tested there (as the Dijkstra kernel)
if not COMPILED and (os.environ.get("CI") or os.environ.get("URLINK_CI") == "1"):
    msg = "urlink.model.flows._balance was not built; CI must test the compiled Furness loop"
    raise RuntimeError(msg)
NO_KERNEL = "the optional compiled kernel urlink.model.flows._balance is not built"
LOOPS = [pytest.param(True, marks=pytest.mark.skipif(not COMPILED, reason=NO_KERNEL)), False]

IDS = ["a", "b", "c"]
COST3 = [[0.0, 10.0, 20.0], [10.0, 0.0, 15.0], [20.0, 15.0, 0.0]]

# Which margins each registered people model must reproduce. A new model must be added
# here (the invariant test fails for an unknown name), so its constraint is stated.
CONSTRAINTS = {
    "gravity_unconstrained": "total",
    "gravity_production": "rows",
    "gravity_attraction": "cols",
    "gravity_doubly": "both",
    "radiation": "rows",
}


def _zones3() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "production": [100.0, 50.0, 80.0],
            "attraction": [60.0, 120.0, 50.0],
            "population": [1000.0, 400.0, 700.0],
        },
        index=IDS,
    )


def _cost(values: Sequence[Sequence[float]] | np.ndarray, ids: list[str]) -> pd.DataFrame:
    return pd.DataFrame(values, index=ids, columns=ids, dtype=float)


def _random_case(n: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """n zones, symmetric tie-free costs 5-60 min, attraction totalling the production."""
    rng = np.random.default_rng(seed)
    ids = [f"z{k}" for k in range(n)]
    production = rng.uniform(50, 500, n)
    attraction = rng.uniform(20, 800, n)
    attraction *= production.sum() / attraction.sum()
    zones = pd.DataFrame(
        {
            "production": production,
            "attraction": attraction,
            "population": rng.uniform(500, 20_000, n),
        },
        index=ids,
    )
    upper = np.triu(rng.uniform(5, 60, (n, n)), 1)
    cost = upper + upper.T + np.diag(rng.uniform(1, 4, n))
    return zones, _cost(cost, ids)


def _matrix(flows: pd.DataFrame, ids: list[str] | pd.Index) -> np.ndarray:
    return od_matrix_from(flows, ids).to_numpy()


# ------------------------------------------------------------------------------------
# (1) production-constrained gravity worked out by hand


def test_gravity_production_by_hand() -> None:
    # exp deterrence, beta = 0.1/min: f(10) = e^-1 = 0.3678794, f(15) = e^-1.5 = 0.2231302,
    # f(20) = e^-2 = 0.1353353. T_ij = O_i D_j f(c_ij) / sum_k D_k f(c_ik).
    e10, e15, e20 = math.exp(-1.0), math.exp(-1.5), math.exp(-2.0)
    # a (O=100): weights b 120 e^-1 = 44.14553, c 50 e^-2 = 6.76676; sum 50.91230
    #   T_ab = 100 * 44.14553 / 50.91230 = 86.7090, T_ac = 13.2910
    w_ab, w_ac = 120 * e10, 50 * e20
    # b (O=50): weights a 60 e^-1 = 22.07277, c 50 e^-1.5 = 11.15651; sum 33.22928
    #   T_ba = 50 * 22.07277 / 33.22928 = 33.2128, T_bc = 16.7872
    w_ba, w_bc = 60 * e10, 50 * e15
    # c (O=80): weights a 60 e^-2 = 8.12012, b 120 e^-1.5 = 26.77562; sum 34.89574
    #   T_ca = 80 * 8.12012 / 34.89574 = 18.6158, T_cb = 61.3842
    w_ca, w_cb = 60 * e20, 120 * e15
    expected = {
        ("a", "b"): 100 * w_ab / (w_ab + w_ac),
        ("a", "c"): 100 * w_ac / (w_ab + w_ac),
        ("b", "a"): 50 * w_ba / (w_ba + w_bc),
        ("b", "c"): 50 * w_bc / (w_ba + w_bc),
        ("c", "a"): 80 * w_ca / (w_ca + w_cb),
        ("c", "b"): 80 * w_cb / (w_ca + w_cb),
    }
    assert expected[("a", "b")] == pytest.approx(86.7090, abs=1e-4)  # the comment's numbers
    assert expected[("b", "a")] == pytest.approx(33.2128, abs=1e-4)
    assert expected[("c", "b")] == pytest.approx(61.3842, abs=1e-4)

    flows = gravity_production(_zones3(), _cost(COST3, IDS), params=PeopleParams(beta=0.1))
    got = {(o, d): v for o, d, v in flows[["origin", "destination", "volume"]].itertuples(False)}
    assert got.keys() == expected.keys()
    for pair, value in expected.items():
        assert got[pair] == pytest.approx(value, rel=1e-12), pair
    assert list(flows["flow_type"].unique()) == ["people"]
    assert list(flows["unit"].unique()) == ["persons/day"]
    assert list(flows["model"].unique()) == ["gravity_production"]
    assert list(flows["source"].unique()) == ["modelled"]


def test_power_deterrence_by_hand_with_floor() -> None:
    # power, gamma = 2, floor 1 min; self-flows on with a 0.5 min diagonal -> floored to 1.
    # a: D f = [60 * 1, 120 / 100, 50 / 400] = [60, 1.2, 0.125], sum 61.325
    zones = _zones3()
    params = PeopleParams(deterrence="power", beta=2.0, self_flows=True)
    cost = _cost([[0.5, 10, 20], [10, 0.5, 15], [20, 15, 0.5]], IDS)
    m = _matrix(gravity_production(zones, cost, params=params), IDS)
    assert m[0, 0] == pytest.approx(100 * 60 / 61.325, rel=1e-12)
    assert m[0, 1] == pytest.approx(100 * 1.2 / 61.325, rel=1e-12)
    assert m[0, 2] == pytest.approx(100 * 0.125 / 61.325, rel=1e-12)


def test_unconstrained_by_hand() -> None:
    # T_ij = k O_i D_j e^-(0.1 c_ij), k = sum O / sum_ij O_i D_j f_ij
    e10, e15, e20 = math.exp(-1.0), math.exp(-1.5), math.exp(-2.0)
    w = {
        ("a", "b"): 100 * 120 * e10,
        ("a", "c"): 100 * 50 * e20,
        ("b", "a"): 50 * 60 * e10,
        ("b", "c"): 50 * 50 * e15,
        ("c", "a"): 80 * 60 * e20,
        ("c", "b"): 80 * 120 * e15,
    }
    k = 230 / sum(w.values())
    flows = gravity_unconstrained(_zones3(), _cost(COST3, IDS), params=PeopleParams(beta=0.1))
    got = {(o, d): v for o, d, v in flows[["origin", "destination", "volume"]].itertuples(False)}
    for pair, value in w.items():
        assert got[pair] == pytest.approx(k * value, rel=1e-12)


# ------------------------------------------------------------------------------------
# (2) invariants over every registered people model


def test_every_registered_model_is_known() -> None:
    assert set(registry("people")) == set(CONSTRAINTS)
    assert get_model("people", "radiation") is radiation


@pytest.mark.parametrize("name", sorted(registry("people")))
def test_invariants(name: str) -> None:
    zones, cost = _random_case(9, seed=3)
    cost.iloc[0, 5] = np.nan  # one unreachable pair
    model = registry("people")[name]
    params = PeopleParams(beta=0.08)
    flows = model(zones, cost, params=params)
    again = model(zones, cost, params=params)
    pd.testing.assert_frame_equal(flows, again)  # deterministic

    assert (flows["volume"] >= 0).all()
    assert np.isfinite(flows["volume"]).all()
    assert not (flows["origin"] == flows["destination"]).any()
    assert not ((flows["origin"] == "z0") & (flows["destination"] == "z5")).any()
    assert set(flows["model"]) == {name}

    m = _matrix(flows, zones.index)
    rows = m.sum(axis=1)
    cols = m.sum(axis=0)
    o = zones["production"].to_numpy()
    d = zones["attraction"].to_numpy()
    kind = CONSTRAINTS[name]
    if kind in {"rows", "both"}:
        np.testing.assert_allclose(rows, o, rtol=1e-6)
    if kind in {"cols", "both"}:
        np.testing.assert_allclose(cols, d, rtol=1e-6)
    if kind == "total":
        assert m.sum() == pytest.approx(o.sum(), rel=1e-6)
        assert not np.allclose(rows, o, rtol=1e-3)  # really unconstrained by rows
    if kind == "rows":
        assert not np.allclose(cols, d, rtol=1e-3)


@pytest.mark.parametrize("name", sorted(registry("people")))
def test_zero_production_zone_sends_nothing(name: str) -> None:
    zones, cost = _random_case(6, seed=11)
    zones.loc["z2", "production"] = 0.0
    zones["attraction"] *= zones["production"].sum() / zones["attraction"].sum()
    flows = registry("people")[name](zones, cost, params=PeopleParams())
    assert not (flows["origin"] == "z2").any()


@pytest.mark.parametrize(
    "name", ["gravity_unconstrained", "gravity_production", "gravity_attraction", "gravity_doubly"]
)
def test_self_flows_when_asked(name: str) -> None:
    zones, cost = _random_case(5, seed=5)
    model = registry("people")[name]
    without = model(zones, cost, params=PeopleParams())
    with_self = model(zones, cost, params=PeopleParams(self_flows=True))
    assert not (without["origin"] == without["destination"]).any()
    assert (with_self["origin"] == with_self["destination"]).sum() == 5


def test_radiation_refuses_self_flows() -> None:
    zones, cost = _random_case(4, seed=1)
    with pytest.raises(InputError, match=r"self_flows=True is not valid for radiation"):
        radiation(zones, cost, params=PeopleParams(self_flows=True))


def test_large_beta_does_not_underflow() -> None:
    # exp(-5 * 200) underflows to 0 in float64; log-space shifting keeps the rows.
    zones, cost = _random_case(5, seed=2)
    cost = cost + 200.0
    for name in ("gravity_production", "gravity_attraction", "gravity_doubly"):
        flows = registry("people")[name](zones, cost, params=PeopleParams(beta=5.0))
        assert flows["volume"].sum() == pytest.approx(zones["production"].sum(), rel=1e-9)


# ------------------------------------------------------------------------------------
# (3) doubly constrained


def test_doubly_matches_both_margins_and_known_flows() -> None:
    zones, cost = _random_case(8, seed=7)
    params = PeopleParams(beta=0.05, tol=1e-12)
    m = _matrix(gravity_doubly(zones, cost, params=params), zones.index)
    np.testing.assert_allclose(m.sum(axis=1), zones["production"], rtol=1e-10)
    np.testing.assert_allclose(m.sum(axis=0), zones["attraction"], rtol=1e-10)
    # The solution has the form a_i b_j f_ij: log T - log f is additive (rank one).
    f = np.exp(-0.05 * cost.to_numpy())
    off = ~np.eye(8, dtype=bool)
    r = np.where(off, np.log(np.where(off, m, 1.0) / f), 0.0)
    # a_i b_j: r_ij + r_kl == r_il + r_kj for distinct i, j, k, l
    assert r[0, 1] + r[2, 3] == pytest.approx(r[0, 3] + r[2, 1], abs=1e-9)
    assert r[4, 5] + r[6, 7] == pytest.approx(r[4, 7] + r[6, 5], abs=1e-9)


def test_doubly_non_convergence_raises_urlink_error() -> None:
    zones, cost = _random_case(8, seed=7)
    with pytest.raises(UrlinkError, match=r"max_iter=1 iterations.*error \d") as info:
        gravity_doubly(zones, cost, params=PeopleParams(max_iter=1))
    assert not isinstance(info.value, InputError)


@pytest.mark.parametrize("compiled", LOOPS)
def test_doubly_two_zones_by_hand(compiled: bool) -> None:
    # f = [[1, e], [e, 1]] with e = exp(-beta 10), margins (1, 1) both ways: by symmetry
    # a = b, and T = [[1, e], [e, 1]] / (1 + e)
    e = math.exp(-0.1 * 10)
    log_f = np.log(np.array([[1.0, e], [e, 1.0]]))
    ones = np.ones(2)
    t = _furness(
        pd.Index(["a", "b"]), ones, ones, log_f, PeopleParams(tol=1e-13), compiled=compiled
    )
    np.testing.assert_allclose(t, np.array([[1.0, e], [e, 1.0]]) / (1 + e), rtol=1e-12)


@pytest.mark.parametrize("seed", [1, 7, 11])
@pytest.mark.skipif(not COMPILED, reason=NO_KERNEL)
def test_compiled_furness_takes_the_numpy_steps(seed: int) -> None:
    zones, cost = _random_case(12, seed=seed)
    c = cost.to_numpy().copy()
    c[0, 5] = c[5, 0] = np.nan  # unreachable pairs carry nothing
    production = zones["production"].to_numpy().copy()
    attraction = zones["attraction"].to_numpy().copy()
    production[[2, 3]] = 0.0  # zones without trips keep factor 0
    attraction[[4]] = 0.0
    attraction *= production.sum() / attraction.sum()
    valid = ~np.isnan(c)
    np.fill_diagonal(valid, val=False)
    log_f = np.where(valid, -0.2 * np.where(valid, c, 0.0), -np.inf)
    k = np.exp(log_f)
    params = PeopleParams(beta=0.2, tol=1e-9, max_iter=50_000)
    a_n, b_n, it_n, err_n = _furness_numpy(k, production, attraction, params)
    a_c, b_c, it_c, err_c = _furness_compiled(k, production, attraction, params)
    assert it_c == it_n > 1
    assert err_c == pytest.approx(err_n, rel=1e-6, abs=1e-15)
    np.testing.assert_allclose(a_c, a_n, rtol=1e-12)
    np.testing.assert_allclose(b_c, b_n, rtol=1e-12)
    ids = pd.Index(zones.index)
    t_c = _furness(ids, production, attraction, log_f, params, compiled=True)
    t_n = _furness(ids, production, attraction, log_f, params, compiled=False)
    np.testing.assert_allclose(t_c, t_n, rtol=1e-12, atol=0)
    assert (t_c[[2, 3]] == 0).all()
    assert (t_c[:, 4] == 0).all()


@pytest.mark.parametrize(
    ("n", "m"), [(1, 1), (31, 31), (32, 32), (33, 33), (70, 45), (5, 40), (800, 700)]
)
@pytest.mark.skipif(not COMPILED, reason=NO_KERNEL)
def test_compiled_furness_takes_the_numpy_steps_on_any_shape(n: int, m: int) -> None:
    # the kernel sums 32 rows (columns) at a time, padding the last block: every size around
    # a block boundary, rectangular matrices, zero margins and unreachable pairs, and the
    # error of the last iteration (rows and columns) when it does not converge; above 2**19
    # elements (800 x 700) it sums row by row
    rng = np.random.default_rng(n * 100 + m)
    k = rng.uniform(0.01, 1.0, (n, m)) * (rng.random((n, m)) > 0.1)
    k[:, 0] = np.maximum(k[:, 0], 0.05)  # every row reaches a column
    k[0, :] = np.maximum(k[0, :], 0.05)  # and every column a row
    production = rng.uniform(10, 100, n) * (np.arange(n) % 7 != 3)
    attraction = rng.uniform(10, 100, m) * (np.arange(m) % 5 != 2)
    attraction *= production.sum() / attraction.sum()
    for params in (PeopleParams(tol=1e-10, max_iter=50_000), PeopleParams(max_iter=2)):
        a_n, b_n, it_n, err_n = _furness_numpy(k, production, attraction, params)
        a_c, b_c, it_c, err_c = _furness_compiled(k, production, attraction, params)
        assert it_c == it_n
        assert err_c == pytest.approx(err_n, rel=1e-6, abs=1e-15)
        np.testing.assert_allclose(a_c, a_n, rtol=1e-12)
        np.testing.assert_allclose(b_c, b_n, rtol=1e-12)
        assert (a_c[production == 0] == 0).all()
    assert it_c == (1 if n == 1 else -1)  # two iterations balance only a single cell


@pytest.mark.parametrize("compiled", LOOPS)
def test_furness_loops_report_non_convergence(compiled: bool) -> None:
    zones, cost = _random_case(8, seed=7)
    log_f = -0.05 * cost.to_numpy()
    np.fill_diagonal(log_f, -np.inf)
    p, d = zones["production"].to_numpy(), zones["attraction"].to_numpy()
    with pytest.raises(UrlinkError, match=r"max_iter=3 iterations.*error \d"):
        _furness(zones.index, p, d, log_f, PeopleParams(max_iter=3), compiled=compiled)


def test_doubly_refuses_unequal_totals() -> None:
    zones = _zones3()
    zones.loc["a", "attraction"] = 61.0
    with pytest.raises(InputError, match=r"sum\(attraction\) == sum\(production\).*rescale"):
        gravity_doubly(zones, _cost(COST3, IDS), params=PeopleParams())


def test_doubly_attraction_unreachable_raises() -> None:
    zones = _zones3()
    cost = _cost(COST3, IDS)
    cost.loc[["a", "b"], "c"] = np.nan  # nobody can reach c, which attracts 50
    with pytest.raises(InputError, match=r"\['c'\] have positive attraction"):
        gravity_doubly(zones, cost, params=PeopleParams())


# ------------------------------------------------------------------------------------
# (4) calibration and fit statistics


@pytest.mark.parametrize("method", ["poisson", "mean_time"])
def test_calibration_recovers_beta(method: str) -> None:
    zones, cost = _random_case(8, seed=42)
    flows = gravity_doubly(zones, cost, params=PeopleParams(beta=0.07, tol=1e-12))
    observed = od_matrix_from(flows, zones.index)
    fit = calibrate_beta(observed, zones, cost, method=method)  # type: ignore[arg-type]
    assert isinstance(fit, CalibrationResult)
    assert fit.beta == pytest.approx(0.07, abs=1e-3)
    assert fit.method == method
    assert fit.cpc == pytest.approx(1.0, abs=1e-4)
    assert fit.srmse == pytest.approx(0.0, abs=1e-3)
    assert fit.mean_time_modelled == pytest.approx(fit.mean_time_observed, rel=1e-4)
    assert fit.n_pairs == 8 * 7
    assert fit.iterations >= 1


def test_calibration_production_power_recovers_beta() -> None:
    zones, cost = _random_case(8, seed=8)
    params = PeopleParams(deterrence="power", beta=1.5)
    observed = od_matrix_from(gravity_production(zones, cost, params=params), zones.index)
    fit = calibrate_beta(observed, zones, cost, model="gravity_production", deterrence="power")
    assert fit.beta == pytest.approx(1.5, abs=1e-3)


def test_calibration_is_scale_free() -> None:
    # A 10 % sample of the trips gives the same beta (every model fixes the total).
    zones, cost = _random_case(8, seed=42)
    flows = gravity_doubly(zones, cost, params=PeopleParams(beta=0.07, tol=1e-12))
    observed = od_matrix_from(flows, zones.index) * 0.1
    assert calibrate_beta(observed, zones, cost).beta == pytest.approx(0.07, abs=1e-3)


def test_calibration_errors() -> None:
    zones, cost = _random_case(5, seed=4)
    flows = gravity_doubly(zones, cost, params=PeopleParams(beta=0.07))
    observed = od_matrix_from(flows, zones.index)
    with pytest.raises(InputError, match=r"model='radiation' is not valid"):
        calibrate_beta(observed, zones, cost, model="radiation")  # type: ignore[arg-type]
    with pytest.raises(InputError, match=r"method='ols' is not valid"):
        calibrate_beta(observed, zones, cost, method="ols")  # type: ignore[arg-type]
    with pytest.raises(InputError, match=r"bounds=\(1.0, 0.5\) is not valid"):
        calibrate_beta(observed, zones, cost, bounds=(1.0, 0.5))
    with pytest.raises(InputError, match=r"mean trip time .* longer .* lowest beta"):
        calibrate_beta(observed, zones, cost, method="mean_time", bounds=(0.5, 1.0))
    with pytest.raises(InputError, match=r"mean trip time .* shorter .* highest beta"):
        calibrate_beta(observed, zones, cost, method="mean_time", bounds=(1e-4, 0.01))
    unreachable = cost.copy()
    unreachable.loc["z0", "z1"] = np.nan
    with pytest.raises(InputError, match=r"\('z0', 'z1'\)"):
        calibrate_beta(observed, zones, unreachable)
    with pytest.raises(InputError, match=r"observed.index lacks zone id\(s\) \['z4'\]"):
        calibrate_beta(observed.drop(index="z4"), zones, cost)


def test_calibration_warns_about_diagonal_and_bounds() -> None:
    zones, cost = _random_case(5, seed=4)
    observed = od_matrix_from(
        gravity_doubly(zones, cost, params=PeopleParams(beta=0.07)), zones.index
    )
    observed.loc["z0", "z0"] = 5.0
    with pytest.warns(UrlinkWarning, match=r"5 trips within zones"):
        fit = calibrate_beta(observed, zones, cost)
    assert fit.beta == pytest.approx(0.07, abs=1e-3)  # the diagonal was left out
    observed.loc["z0", "z0"] = 0.0
    with pytest.warns(UrlinkWarning, match=r"lies on a bound"):
        fit = calibrate_beta(observed, zones, cost, bounds=(0.2, 1.0))  # true beta 0.07
    assert fit.beta == pytest.approx(0.2, abs=1e-6)


def test_srmse_and_cpc() -> None:
    obs = _cost([[0, 4, 1], [2, 0, 3], [5, 0, 0]], IDS)
    assert srmse(obs, obs) == 0.0
    assert common_part_of_commuters(obs, obs) == 1.0
    mod = _cost([[0, 3, 1], [2, 0, 4], [3, 2, 0]], IDS)
    # SRMSE: squared errors 1 + 1 + 4 + 4 = 10 over N = 9 cells; mean observed 15 / 9
    assert srmse(obs, mod) == pytest.approx(math.sqrt(10 / 9) / (15 / 9), rel=1e-12)
    # CPC: sum of minima 3 + 1 + 2 + 3 + 3 + 0 = 12; totals 15 and 15
    assert common_part_of_commuters(obs, mod) == pytest.approx(2 * 12 / 30, rel=1e-12)
    shuffled = mod.loc[["c", "a", "b"], ["b", "c", "a"]]  # labels, not positions, count
    assert srmse(obs, shuffled) == srmse(obs, mod)
    with pytest.raises(InputError, match="same zone ids"):
        srmse(obs, mod.drop(index="c"))
    with pytest.raises(InputError, match="observed sums to 0"):
        srmse(obs * 0, mod)


# ------------------------------------------------------------------------------------
# (5) radiation by hand

RAD_IDS = ["A", "B", "C", "D"]
# populations m: A 100, B 50, C 200, D 30 (total M = 380); production O: 40, 20, 60, 10
RAD_COST = [
    [0, 5, 10, 20],
    [5, 0, 5, 15],  # from B, A and C tie at 5 min
    [10, 5, 0, 8],
    [20, 15, 8, 0],
]


def _rad_zones() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "production": [40.0, 20.0, 60.0, 10.0],
            "attraction": [1.0, 1.0, 1.0, 1.0],
            "population": [100.0, 50.0, 200.0, 30.0],
        },
        index=RAD_IDS,
    )


def test_radiation_by_hand() -> None:
    zones, cost = _rad_zones(), _cost(RAD_COST, RAD_IDS)
    raw = _matrix(radiation(zones, cost, params=PeopleParams(radiation_normalise=False)), RAD_IDS)
    # A (m=100): order B(5), C(10), D(20); s = 0, 50, 250
    #   p_AB = 100*50 / (100*150) = 1/3
    #   p_AC = 100*200 / (150*350) = 8/21
    #   p_AD = 100*30 / (350*380) = 3/133; sum = 14/19 = 1 - 100/380 (telescopes)
    assert raw[0, 1] == pytest.approx(40 * 1 / 3, rel=1e-12)
    assert raw[0, 2] == pytest.approx(40 * 8 / 21, rel=1e-12)
    assert raw[0, 3] == pytest.approx(40 * 3 / 133, rel=1e-12)
    # B (m=50): A and C tie at 5 min, so neither counts the other (s = 0 for both); they
    # share one shell of population 300: p = 50 n_j / ((50 + 0)(50 + 300))
    #   p_BA = 50*100 / (50*350) = 2/7, p_BC = 50*200 / (50*350) = 4/7
    #   p_BD: s = 300, p = 50*30 / (350*380) = 3/266; sum = 1 - 50/380
    assert raw[1, 0] == pytest.approx(20 * 2 / 7, rel=1e-12)
    assert raw[1, 2] == pytest.approx(20 * 4 / 7, rel=1e-12)
    assert raw[1, 3] == pytest.approx(20 * 3 / 266, rel=1e-12)
    # C (m=200): order B(5), D(8), A(10); s = 0, 50, 80
    #   p_CB = 200*50 / (200*250) = 1/5
    #   p_CD = 200*30 / (250*280) = 6/70
    #   p_CA = 200*100 / (280*380) = 20000/106400
    assert raw[2, 1] == pytest.approx(60 * 1 / 5, rel=1e-12)
    assert raw[2, 3] == pytest.approx(60 * 6 / 70, rel=1e-12)
    assert raw[2, 0] == pytest.approx(60 * 20000 / 106400, rel=1e-12)
    # D (m=30): order C(8), B(15), A(20); s = 0, 200, 250
    #   p_DC = 30*200 / (30*230) = 20/23; p_DB = 30*50 / (230*280); p_DA = 30*100 / (280*380)
    assert raw[3, 2] == pytest.approx(10 * 20 / 23, rel=1e-12)
    assert raw[3, 1] == pytest.approx(10 * 1500 / 64400, rel=1e-12)
    assert raw[3, 0] == pytest.approx(10 * 3000 / 106400, rel=1e-12)
    np.testing.assert_allclose(
        raw.sum(axis=1), [40, 20, 60, 10] * (1 - np.array([100, 50, 200, 30]) / 380)
    )

    norm = _matrix(radiation(zones, cost, params=PeopleParams()), RAD_IDS)
    # Masucci: multiply row i by 1 / (1 - m_i / M), M = 380
    assert norm[0, 2] == pytest.approx(40 * 8 / 21 / (1 - 100 / 380), rel=1e-12)
    np.testing.assert_allclose(norm.sum(axis=1), [40, 20, 60, 10], rtol=1e-12)


def test_radiation_ignores_unreachable_zones() -> None:
    zones, cost = _rad_zones(), _cost(RAD_COST, RAD_IDS)
    cost.loc["A", "C"] = np.nan  # C no longer intervenes between A and D
    norm = _matrix(radiation(zones, cost, params=PeopleParams()), RAD_IDS)
    # A: order B(5), D(20); s = 0, 50; p_AB = 1/3, p_AD = 100*30 / (150*180) = 1/9
    # M_A = 100 + 50 + 30 = 180, factor 1 / (1 - 100/180) = 9/4
    assert norm[0, 2] == 0.0
    assert norm[0, 1] == pytest.approx(40 * (1 / 3) * 9 / 4, rel=1e-12)
    assert norm[0, 3] == pytest.approx(40 * (1 / 9) * 9 / 4, rel=1e-12)


# ------------------------------------------------------------------------------------
# (6) unreachable pairs and zones


@pytest.mark.parametrize("name", sorted(registry("people")))
def test_unreachable_pair_gets_no_flow(name: str) -> None:
    # Only a->b, b->a, b->c, c->a remain; the margins below can be met exactly on those
    # (T_ab = 100, T_ca = 80, T_bc = 20, T_ba = 30), so gravity_doubly has a solution.
    zones = _zones3().assign(attraction=[110.0, 100.0, 20.0])
    cost = _cost(COST3, IDS)
    cost.loc["a", "c"] = np.nan
    cost.loc["c", "b"] = np.inf  # +inf also means unreachable
    flows = registry("people")[name](zones, cost, params=PeopleParams())
    pairs = set(zip(flows["origin"], flows["destination"], strict=True))
    assert ("a", "c") not in pairs
    assert ("c", "b") not in pairs
    assert ("a", "b") in pairs


@pytest.mark.parametrize(
    "name", ["gravity_production", "gravity_doubly", "radiation", "gravity_unconstrained"]
)
def test_isolated_zone_with_production_raises(name: str) -> None:
    zones = _zones3()
    cost = _cost(COST3, IDS)
    cost.loc["b", ["a", "c"]] = np.nan  # b reaches nobody
    if name == "gravity_unconstrained":  # only the total is constrained: others carry it
        flows = gravity_unconstrained(zones, cost, params=PeopleParams())
        assert flows["volume"].sum() == pytest.approx(230.0)
        assert not (flows["origin"] == "b").any()
        return
    with pytest.raises(InputError, match=r"zone\(s\) \['b'\] have positive production"):
        registry("people")[name](zones, cost, params=PeopleParams())


def test_attraction_zone_unreached_raises() -> None:
    zones = _zones3()
    cost = _cost(COST3, IDS)
    cost.loc[["a", "c"], "b"] = np.nan
    with pytest.raises(InputError, match=r"\['b'\] have positive attraction"):
        gravity_attraction(zones, cost, params=PeopleParams())


def test_unconstrained_with_nothing_reachable_raises() -> None:
    cost = _cost(np.full((3, 3), np.nan), IDS)
    with pytest.raises(InputError, match=r"positive production"):
        gravity_unconstrained(_zones3(), cost, params=PeopleParams())


# ------------------------------------------------------------------------------------
# Input validation


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"deterrence": "gauss"}, r"deterrence='gauss' is not valid"),
        ({"beta": -0.1}, r"beta=-0.1 is not valid"),
        ({"beta": math.nan}, r"beta=nan is not valid"),
        ({"self_flows": 1}, r"self_flows=1 is not valid; use True or False"),
        ({"tol": 0.0}, r"tol=0.0 is not valid"),
        ({"max_iter": 0}, r"max_iter=0 is not valid"),
        ({"max_iter": 2.5}, r"max_iter=2.5 is not valid"),
        ({"min_cost_min": 0.0}, r"min_cost_min=0.0 is not valid"),
        ({"radiation_normalise": "yes"}, r"radiation_normalise='yes' is not valid"),
    ],
)
def test_params_validation(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(InputError, match=match):
        PeopleParams(**kwargs)  # type: ignore[arg-type]


def test_input_validation() -> None:
    zones, cost = _zones3(), _cost(COST3, IDS)
    params = PeopleParams()
    with pytest.raises(InputError, match=r"zones has no column 'attraction'"):
        gravity_production(zones.drop(columns="attraction"), cost, params=params)
    bad = zones.copy()
    bad.loc["b", "production"] = -5.0
    with pytest.raises(InputError, match=r"zones\['production'\].*\['b'\] have \['-5.0'\]"):
        gravity_production(bad, cost, params=params)
    with pytest.raises(InputError, match=r"cost.columns lacks zone id\(s\) \['c'\]"):
        gravity_production(zones, cost.drop(columns="c"), params=params)
    neg = cost.copy()
    neg.loc["a", "b"] = -1.0
    with pytest.raises(InputError, match=r"cost must be >= 0.*\('a', 'b', -1.0\)"):
        gravity_production(zones, neg, params=params)
    with pytest.raises(InputError, match=r"params must be a PeopleParams"):
        gravity_production(zones, cost, params={"beta": 0.1})  # type: ignore[arg-type]
    with pytest.raises(InputError, match=r"zero population"):
        radiation(zones.assign(population=[1000.0, 0.0, 700.0]), cost, params=params)


def test_cost_with_extra_zones_and_other_order() -> None:
    zones = _zones3()
    big = _cost([[0, 10, 20, 9], [10, 0, 15, 9], [20, 15, 0, 9], [9, 9, 9, 0]], [*IDS, "x"])
    shuffled = big.loc[["x", "c", "a", "b"], ["b", "x", "c", "a"]]
    a = gravity_production(zones, _cost(COST3, IDS), params=PeopleParams())
    b = gravity_production(zones, shuffled, params=PeopleParams())
    pd.testing.assert_frame_equal(a, b)


def test_top_destinations_keeps_the_largest_flows_of_each_origin():
    """Worked by hand: the full table, then each origin's single largest flow (#8)."""
    zones, cost = _zones3(), _cost(COST3, IDS)
    full = gravity_production(zones, cost, params=PeopleParams(beta=0.1))
    with pytest.warns(UrlinkWarning, match="deprecated: use support='knn'"):
        top = gravity_production(zones, cost, params=PeopleParams(beta=0.1, top_destinations=1))
    largest = full.loc[full.groupby("origin")["volume"].idxmax()].reset_index(drop=True)
    assert len(top) == 3
    pd.testing.assert_frame_equal(top.drop(columns="note"), largest)  # same numbers, kept
    dropped = 1 - largest["volume"].sum() / full["volume"].sum()
    assert top.attrs["dropped_share"] == pytest.approx(dropped, rel=1e-12)
    assert 0 < dropped < 1
    assert top["note"].str.startswith("largest 1 flows per origin kept").all()
    assert "dropped_share" not in full.attrs and "note" not in full.columns
    # as many destinations as zones: nothing dropped
    with pytest.warns(UrlinkWarning, match="drops every flow but the largest 3"):
        every = gravity_production(zones, cost, params=PeopleParams(beta=0.1, top_destinations=3))
    pd.testing.assert_frame_equal(every, full)


@pytest.mark.parametrize("value", [0, -2, 1.5, True])
def test_top_destinations_must_be_a_positive_integer(value):
    with pytest.raises(InputError, match="top_destinations"):
        PeopleParams(top_destinations=value)
