"""Goods flow models, tonne-km / WASD indicators and the mandarin supply estimate."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from urlink.errors import InputError
from urlink.model.flows import FLOW_COLUMNS, finish_flows, get_model, registry
from urlink.model.flows.goods import (
    DEFAULT_BETA_PER_MIN,
    HUANGYAN_MANDARIN_T_PER_YEAR,
    GoodsParams,
    mandarin_supply_from_area,
    min_cost_transport,
    production_constrained,
    tonne_km,
    weighted_average_source_distance,
)

GOODS_MODELS = sorted(registry("goods"))
NAN = math.nan


def _cost(ids: list[str], pairs: dict[tuple[str, str], float]) -> pd.DataFrame:
    """Cost matrix with NaN everywhere except the given pairs."""
    c = pd.DataFrame(NAN, index=ids, columns=ids)
    for (o, d), t in pairs.items():
        c.loc[o, d] = t
    return c


def _random_case(seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Six zones with mixed supply/demand, some unreachable pairs, capacity > supply."""
    rng = np.random.default_rng(seed)
    ids = [f"z{k}" for k in range(6)]
    supply = rng.uniform(0, 10, 6) * (rng.random(6) < 0.7)
    demand = rng.uniform(5, 20, 6)
    demand[0] = 0.0  # a pure producer
    supply[1] = max(supply[1], 3.0)
    times = rng.uniform(5, 90, (6, 6))
    np.fill_diagonal(times, rng.uniform(1, 5, 6))
    times[2, 3] = times[4, 5] = NAN
    cost = pd.DataFrame(times, index=ids, columns=ids)
    zones = pd.DataFrame({"supply": supply, "demand": demand}, index=ids)
    return zones, cost


CASES = [_random_case(s) for s in (1, 2, 3)]


def test_builtin_models_are_registered() -> None:
    assert {"production_constrained", "min_cost_transport"} <= set(GOODS_MODELS)
    assert get_model("goods", "min_cost_transport") is min_cost_transport
    assert get_model("goods", "production_constrained") is production_constrained


# ----------------------------------------------------------------------------- invariants


@pytest.mark.parametrize("name", GOODS_MODELS)
@pytest.mark.parametrize("case", range(len(CASES)))
@pytest.mark.parametrize("self_flows", [True, False])
def test_invariants_of_every_goods_model(name: str, case: int, self_flows: bool) -> None:
    zones, cost = CASES[case]
    model = get_model("goods", name)
    f = model(zones, cost, params=GoodsParams(self_flows=self_flows, commodity="mandarin"))

    assert list(f.columns[: len(FLOW_COLUMNS)]) == list(FLOW_COLUMNS)
    assert {"time_min", "commodity"} <= set(f.columns)
    assert (f["flow_type"] == "goods").all()
    assert (f["unit"] == "t/day").all()
    assert (f["model"] == name).all()
    assert (f["source"] == "modelled").all()
    assert (f["commodity"] == "mandarin").all()
    assert (f["volume"] > 0).all()
    assert not f.duplicated(["origin", "destination"]).any()
    # every source ships exactly its supply; nothing is created or lost
    shipped = f.groupby("origin")["volume"].sum().reindex(zones.index, fill_value=0.0)
    np.testing.assert_allclose(shipped, zones["supply"], atol=1e-6)
    assert f["volume"].sum() == pytest.approx(zones["supply"].sum(), abs=1e-6)
    # flows only on reachable pairs, into zones with demand, with the pair's time
    for row in f.itertuples():
        assert row.time_min == cost.at[row.origin, row.destination]
        assert zones.at[row.destination, "demand"] > 0
    if not self_flows:
        assert (f["origin"] != f["destination"]).all()
    if name == "min_cost_transport":
        received = f.groupby("destination")["volume"].sum()
        assert (received <= zones.loc[received.index, "demand"] + 1e-6).all()


@pytest.mark.parametrize("name", GOODS_MODELS)
def test_every_goods_model_is_deterministic_and_handles_no_supply(name: str) -> None:
    zones, cost = CASES[0]
    model = get_model("goods", name)
    pd.testing.assert_frame_equal(
        model(zones, cost, params=GoodsParams()), model(zones, cost, params=GoodsParams())
    )
    empty = model(zones.assign(supply=0.0), cost, params=GoodsParams())
    assert len(empty) == 0
    assert list(empty.columns[: len(FLOW_COLUMNS)]) == list(FLOW_COLUMNS)


@pytest.mark.parametrize("name", GOODS_MODELS)
def test_every_goods_model_names_a_source_without_market(name: str) -> None:
    zones = pd.DataFrame({"supply": [4.0, 1.0, 0.0], "demand": [0.0, 0.0, 9.0]}, index=list("abc"))
    cost = _cost(list("abc"), {("b", "c"): 5.0})  # a reaches nothing
    with pytest.raises(InputError, match=r"\['a'\] have supply but reach no zone"):
        get_model("goods", name)(zones, cost, params=GoodsParams())


@pytest.mark.parametrize("name", GOODS_MODELS)
def test_every_goods_model_rejects_bad_inputs(name: str) -> None:
    model = get_model("goods", name)
    ids = ["a", "b"]
    cost = _cost(ids, {("a", "b"): 5.0})
    ok = pd.DataFrame({"supply": [1.0, 0.0], "demand": [0.0, 1.0]}, index=ids)
    with pytest.raises(InputError, match=r"no column\(s\) \['demand'\]"):
        model(ok[["supply"]], cost, params=GoodsParams())
    with pytest.raises(InputError, match=r"zones\['supply'\] must be finite.*'a': -1\.0"):
        model(ok.assign(supply=[-1.0, 0.0]), cost, params=GoodsParams())
    with pytest.raises(InputError, match=r"cost columns lack zone ids \['b'\]"):
        model(ok, cost[["a"]], params=GoodsParams())
    with pytest.raises(InputError, match="negative or infinite travel times"):
        model(ok, cost.fillna(math.inf), params=GoodsParams())


# ------------------------------------------------------------------ production_constrained


def test_production_constrained_by_hand() -> None:
    # A produces 12, B demands 2, C produces 6 and demands 1 (local consumption).
    zones = pd.DataFrame(
        {"supply": [12.0, 0.0, 6.0], "demand": [0.0, 2.0, 1.0]}, index=["A", "B", "C"]
    )
    cost = _cost(
        ["A", "B", "C"],
        {("A", "B"): 10.0, ("A", "C"): 20.0, ("C", "B"): 10.0, ("C", "C"): 0.0, ("B", "A"): 5.0},
    )
    beta = math.log(2) / 10  # the weight halves every 10 minutes
    f = production_constrained(zones, cost, params=GoodsParams(beta=beta))
    got = {(r.origin, r.destination): r.volume for r in f.itertuples()}

    w_ab = 2 * 0.5  # D_B exp(-beta 10)
    w_ac = 1 * 0.25  # D_C exp(-beta 20)
    w_cb = 2 * 0.5
    w_cc = 1 * 1.0  # self-flow at 0 minutes
    expected = {
        ("A", "B"): 12 * w_ab / (w_ab + w_ac),  # 9.6
        ("A", "C"): 12 * w_ac / (w_ab + w_ac),  # 2.4
        ("C", "B"): 6 * w_cb / (w_cb + w_cc),  # 3.0
        ("C", "C"): 6 * w_cc / (w_cb + w_cc),  # 3.0
    }
    assert got.keys() == expected.keys()
    for pair, v in expected.items():
        assert got[pair] == pytest.approx(v, rel=1e-12)
    assert got["A", "B"] == pytest.approx(9.6)

    # without self-flows C's whole supply goes to B; A is unchanged
    f2 = production_constrained(zones, cost, params=GoodsParams(beta=beta, self_flows=False))
    got2 = {(r.origin, r.destination): r.volume for r in f2.itertuples()}
    assert got2 == pytest.approx({("A", "B"): 9.6, ("A", "C"): 2.4, ("C", "B"): 6.0})


def test_production_constrained_beta_zero_splits_by_demand_and_skips_unreachable() -> None:
    ids = ["s", "m1", "m2", "m3", "m4"]
    zones = pd.DataFrame(
        {"supply": [8.0, 0, 0, 0, 0], "demand": [0.0, 1.0, 3.0, 5.0, 0.0]}, index=ids
    )
    # m3 is unreachable, m4 has no demand
    cost = _cost(ids, {("s", "m1"): 10.0, ("s", "m2"): 80.0, ("s", "m4"): 1.0})
    f = production_constrained(zones, cost, params=GoodsParams(beta=0.0))
    got = dict(zip(f["destination"], f["volume"], strict=True))
    assert got == pytest.approx({"m1": 8 * 1 / 4, "m2": 8 * 3 / 4})


def test_production_constrained_large_beta_does_not_underflow() -> None:
    ids = ["s", "near", "far"]
    zones = pd.DataFrame({"supply": [5.0, 0, 0], "demand": [0.0, 1.0, 1.0]}, index=ids)
    cost = _cost(ids, {("s", "near"): 500.0, ("s", "far"): 900.0})
    # exp(-10 * 500) underflows to 0 for both; shifting by the row minimum keeps it exact
    f = production_constrained(zones, cost, params=GoodsParams(beta=10.0))
    assert f[["destination", "volume"]].to_numpy().tolist() == [["near", 5.0]]


# ------------------------------------------------------------------ min_cost_transport


def test_min_cost_transport_by_hand_capacity_forces_a_split() -> None:
    # Both farms prefer x, which takes only 6 of the 10 t. Sending a unit to y instead of x
    # costs a 50 - 10 = 40 more minutes and b 25 - 20 = 5 more, so b sends 4 t to y.
    zones = pd.DataFrame(
        {"supply": [5.0, 5.0, 0.0, 0.0], "demand": [0.0, 0.0, 6.0, 6.0]},
        index=["a", "b", "x", "y"],
    )
    cost = _cost(
        ["a", "b", "x", "y"],
        {("a", "x"): 10.0, ("a", "y"): 50.0, ("b", "x"): 20.0, ("b", "y"): 25.0},
    )
    f = min_cost_transport(zones, cost, params=GoodsParams())
    got = {(r.origin, r.destination): r.volume for r in f.itertuples()}
    assert got == pytest.approx({("a", "x"): 5.0, ("b", "x"): 1.0, ("b", "y"): 4.0}, abs=1e-9)
    objective = (f["volume"] * f["time_min"]).sum()
    assert objective == pytest.approx(5 * 10 + 1 * 20 + 4 * 25)  # 170 t·min/day


def test_min_cost_transport_self_flows_switch() -> None:
    # z both grows and sells; its own market is the cheapest, unless self-flows are off
    ids = ["z", "m"]
    zones = pd.DataFrame({"supply": [3.0, 0.0], "demand": [4.0, 4.0]}, index=ids)
    cost = _cost(ids, {("z", "z"): 2.0, ("z", "m"): 30.0})
    on = min_cost_transport(zones, cost, params=GoodsParams(self_flows=True))
    assert on[["origin", "destination", "volume"]].to_numpy().tolist() == [["z", "z", 3.0]]
    off = min_cost_transport(zones, cost, params=GoodsParams(self_flows=False))
    assert off[["origin", "destination", "volume"]].to_numpy().tolist() == [["z", "m", 3.0]]


def test_min_cost_transport_total_capacity_too_small() -> None:
    ids = ["a", "b", "x", "y"]
    zones = pd.DataFrame({"supply": [6.0, 4.0, 0, 0], "demand": [0, 0, 5.0, 9.0]}, index=ids)
    # y is unreachable, so only x's 5 t/day count: 10 - 5 = 5 t/day short
    cost = _cost(ids, {("a", "x"): 10.0, ("b", "x"): 10.0})
    with pytest.raises(
        InputError, match=r"exceeds the demand the sources can reach, 5 t/day, by 5"
    ):
        min_cost_transport(zones, cost, params=GoodsParams())


def test_min_cost_transport_reachable_capacity_too_small_for_one_source() -> None:
    ids = ["a", "b", "x", "y"]
    zones = pd.DataFrame({"supply": [5.0, 1.0, 0, 0], "demand": [0, 0, 2.0, 10.0]}, index=ids)
    cost = _cost(ids, {("a", "x"): 10.0, ("b", "y"): 10.0})  # a reaches only x (2 t)
    with pytest.raises(InputError, match=r"markets cannot absorb.*'a': 2\.0"):
        min_cost_transport(zones, cost, params=GoodsParams())


# ----------------------------------------------------------------------------- params


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"beta": -0.1}, r"GoodsParams\.beta = -0\.1 must be a finite number >= 0"),
        ({"beta": math.nan}, r"GoodsParams\.beta = nan"),
        ({"beta": True}, r"GoodsParams\.beta = True"),
        ({"self_flows": "yes"}, r"GoodsParams\.self_flows = 'yes' must be True or False"),
        ({"commodity": " "}, r"GoodsParams\.commodity = ' ' must be a non-empty string"),
    ],
)
def test_goods_params_are_validated(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(InputError, match=match):
        GoodsParams(**kwargs)  # type: ignore[arg-type]


def test_goods_params_defaults() -> None:
    p = GoodsParams()
    assert p.beta == DEFAULT_BETA_PER_MIN == 0.02
    assert p.self_flows is True
    assert p.commodity == "goods"
    assert GoodsParams(beta=0).beta == 0


# ----------------------------------------------------------------------------- indicators


@pytest.fixture
def flows_and_distance() -> tuple[pd.DataFrame, pd.DataFrame]:
    flows = pd.DataFrame(
        {"origin": ["a", "a", "b"], "destination": ["x", "y", "x"], "volume": [2.0, 3.0, 5.0]},
        index=[10, 11, 12],
    )
    dist = pd.DataFrame({"x": [10.0, 1.0], "y": [4.0, NAN]}, index=["a", "b"])
    return flows, dist


def test_tonne_km_by_hand(flows_and_distance: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    flows, dist = flows_and_distance
    tkm = tonne_km(flows, dist)
    assert tkm.name == "tkm_per_day"
    assert list(tkm.index) == [10, 11, 12]
    assert tkm.tolist() == [2 * 10.0, 3 * 4.0, 5 * 1.0]


def test_wasd_by_hand(flows_and_distance: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    flows, dist = flows_and_distance
    wasd = weighted_average_source_distance(flows, dist)
    assert wasd == pytest.approx((2 * 10 + 3 * 4 + 5 * 1) / (2 + 3 + 5))  # 3.7 km


def test_indicators_on_missing_or_nan_distances(
    flows_and_distance: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    flows, dist = flows_and_distance
    nan_pair = pd.concat(
        [flows, pd.DataFrame({"origin": ["b"], "destination": ["y"], "volume": [1.0]})]
    )
    assert math.isnan(tonne_km(nan_pair, dist).iloc[-1])
    with pytest.raises(InputError, match=r"distance_km is NaN for flow\(s\) \[\('b', 'y'\)\]"):
        weighted_average_source_distance(nan_pair, dist)
    with pytest.raises(InputError, match=r"no row or column for zone id\(s\) \['y'\]"):
        tonne_km(flows, dist[["x"]])
    with pytest.raises(InputError, match=r"unit\(s\) \['persons/day'\]"):
        tonne_km(flows.assign(unit="persons/day"), dist)
    with pytest.raises(InputError, match="negative distances"):
        tonne_km(flows, -dist)
    assert math.isnan(weighted_average_source_distance(flows.iloc[:0], dist))


def test_indicators_on_a_model_output() -> None:
    zones = pd.DataFrame({"supply": [4.0, 0.0, 0.0], "demand": [0.0, 1.0, 1.0]}, index=list("smn"))
    cost = _cost(list("smn"), {("s", "m"): 10.0, ("s", "n"): 10.0})
    f = production_constrained(zones, cost, params=GoodsParams())  # 2 t/day to each
    dist = pd.DataFrame({"m": [3.0], "n": [7.0]}, index=["s"])
    assert tonne_km(f, dist).sum() == pytest.approx(2 * 3 + 2 * 7)
    assert weighted_average_source_distance(f, dist) == pytest.approx(5.0)


# ----------------------------------------------------------------------------- mandarin supply


def test_mandarin_supply_from_area_by_hand() -> None:
    assert HUANGYAN_MANDARIN_T_PER_YEAR == 58_400
    zones = pd.DataFrame(index=["t1", "t2", "t3"])
    s = mandarin_supply_from_area(
        zones, total_t_per_year=HUANGYAN_MANDARIN_T_PER_YEAR, weights={"t1": 1.0, "t3": 3.0}
    )
    assert s.name == "supply"
    assert list(s.index) == ["t1", "t2", "t3"]
    assert s.tolist() == pytest.approx([58_400 / 4 / 365, 0.0, 58_400 * 3 / 4 / 365])
    assert s.sum() * 365 == pytest.approx(58_400)
    assert s.attrs["source"].startswith("estimate: 58,400 t/yr")
    season = mandarin_supply_from_area(
        zones, total_t_per_year=1200.0, weights=pd.Series({"t2": 2.0}), days=120
    )
    assert season.tolist() == [0.0, 10.0, 0.0]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"total_t_per_year": -1.0}, r"total_t_per_year = -1\.0 must be a finite number >= 0"),
        ({"days": 0}, r"days = 0 must be a positive number"),
        ({"weights": {"t1": -2.0}}, r"weights must be finite numbers >= 0.*'t1': -2\.0"),
        ({"weights": {"t9": 1.0}}, r"zone id\(s\) \['t9'\] that are not in zones"),
        ({"weights": {"t1": 0.0}}, r"weights sum to 0\.0"),
    ],
)
def test_mandarin_supply_from_area_errors(kwargs: dict[str, object], match: str) -> None:
    args: dict[str, object] = {"total_t_per_year": 100.0, "weights": {"t1": 1.0}} | kwargs
    with pytest.raises(InputError, match=match):
        mandarin_supply_from_area(pd.DataFrame(index=["t1", "t2"]), **args)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "ids",
    [
        pd.Index(["b", "a", "c"]),  # pandas' string dtype
        pd.Index(["b", "a", "c"], dtype=object),  # strings as objects: inferred by a table
        pd.Index([3, 1, 2]),  # numbers
        pd.Index([3, 1, 2], dtype=object),  # numbers as objects: kept as objects
    ],
)
@pytest.mark.parametrize("name", GOODS_MODELS)
def test_goods_tables_are_the_tables_of_the_ids(ids, name):
    # #16: the ids are taken from the index when a table would give them its dtype; the
    # same table as building one from the ids as objects and finishing it
    zones = pd.DataFrame({"supply": [4.0, 0.0, 2.0], "demand": [1.0, 5.0, 3.0]}, index=ids)
    cost = pd.DataFrame([[2.0, 10, 20], [10, 3, 15], [20, np.nan, 4]], index=ids, columns=ids)
    params = GoodsParams(commodity="mandarin")
    flows = get_model("goods", name)(zones, cost, params=params)
    # the same cost labelled in another order goes through reindexing
    shuffled = cost.iloc[::-1, [1, 2, 0]]
    pd.testing.assert_frame_equal(
        get_model("goods", name)(zones, shuffled, params=params), flows, check_exact=True
    )
    rows = flows[["origin", "destination"]].to_numpy(dtype=object)
    table = pd.DataFrame(
        {
            "origin": ids.to_numpy()[ids.get_indexer(rows[:, 0])],
            "destination": ids.to_numpy()[ids.get_indexer(rows[:, 1])],
            "volume": flows["volume"].to_numpy(),
            "time_min": flows["time_min"].to_numpy(),
        }
    )
    plain = finish_flows(table, flow_type="goods", model=name, commodity="mandarin")
    pd.testing.assert_frame_equal(flows, plain, check_exact=True)
