"""People models on a sparse support (#20): balanced on it, so no trip is dropped."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from urlink.cli import main
from urlink.errors import InputError
from urlink.model.flows import people
from urlink.model.flows.people import (
    SUPPORT_CHECK_MAX_ZONES,
    PeopleParams,
    gravity_attraction,
    gravity_doubly,
    gravity_production,
    gravity_unconstrained,
    radiation,
)

from .test_bad_inputs import _edit, make_scenario

GRAVITY = [gravity_unconstrained, gravity_production, gravity_attraction, gravity_doubly]


def _random(n: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``n`` zones at random points; costs 1.5 min per unit of distance, a few unreachable."""
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 40, (n, 2))
    minutes = 1.5 * np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1)) + 2.0
    ids = [f"z{i:03d}" for i in range(n)]
    cost = pd.DataFrame(minutes, index=ids, columns=ids)
    cost.iloc[3, 7] = np.nan  # an unreachable pair
    production = rng.uniform(10, 100, n)
    attraction = rng.uniform(10, 100, n)
    attraction *= production.sum() / attraction.sum()
    zones = pd.DataFrame(
        {"production": production, "attraction": attraction, "population": 10 * production},
        index=ids,
    )
    return zones, cost


def _margins(flows: pd.DataFrame, zones: pd.DataFrame) -> tuple[float, float]:
    """Largest relative error of the row and of the column sums."""
    rows = flows.groupby("origin")["volume"].sum().reindex(zones.index, fill_value=0.0)
    cols = flows.groupby("destination")["volume"].sum().reindex(zones.index, fill_value=0.0)
    return (
        float((rows / zones["production"] - 1).abs().max()),
        float((cols / zones["attraction"] - 1).abs().max()),
    )


def _same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    key = ["origin", "destination"]
    merged = a.merge(b, on=key, how="outer", suffixes=("_a", "_b"), indicator=True)
    assert (merged["_merge"] == "both").all()
    np.testing.assert_allclose(merged["volume_b"], merged["volume_a"], rtol=1e-9, atol=0)


@pytest.mark.parametrize("model", GRAVITY, ids=lambda f: f.__name__)
@pytest.mark.parametrize("self_flows", [False, True])
def test_sparse_equals_dense_where_the_support_holds_every_pair(model, self_flows):
    zones, cost = _random(40, seed=3)
    dense = model(zones, cost, params=PeopleParams(beta=0.1, self_flows=self_flows))
    for params in (
        PeopleParams(beta=0.1, self_flows=self_flows, support="knn", k_nearest=39),
        PeopleParams(beta=0.1, self_flows=self_flows, support="knn", k_nearest=1000),
        PeopleParams(beta=0.1, self_flows=self_flows, support="cutoff", support_cutoff_min=1e6),
    ):
        sparse = model(zones, cost, params=params)
        _same(dense, sparse)
        assert sparse.attrs["outside_support_share"] == pytest.approx(0.0, abs=1e-12)
        assert sparse.attrs["outside_support_share_production"] == pytest.approx(0.0, abs=1e-12)
        assert list(sparse.columns) == list(dense.columns)


def test_power_deterrence_sparse_equals_dense():
    zones, cost = _random(25, seed=4)
    base = PeopleParams(deterrence="power", beta=2.0, self_flows=True)
    dense = gravity_doubly(zones, cost, params=base)
    sparse = gravity_doubly(
        zones, cost, params=PeopleParams(**{**_fields(base), "support": "knn", "k_nearest": 24})
    )
    _same(dense, sparse)


def _fields(p: PeopleParams) -> dict[str, object]:
    return {k: getattr(p, k) for k in p.__slots__}  # type: ignore[attr-defined]


def test_a_cycle_within_the_cutoff_by_hand():
    """Within 6 minutes each zone reaches only the next one round a cycle (a -> b -> c ->
    a), so every origin has one destination and every destination one origin:
    T(a, b) = O_a = D_b = 10, T(b, c) = 20, T(c, a) = 30, whatever beta."""
    ids = ["a", "b", "c"]
    zones = pd.DataFrame(
        {"production": [10.0, 20.0, 30.0], "attraction": [30.0, 10.0, 20.0]}, index=ids
    )
    cost = pd.DataFrame([[0, 5, 9], [9, 0, 5], [5, 9, 0]], index=ids, columns=ids, dtype=float)
    shares = {}
    for beta in (0.0, 0.1, 2.0):
        params = PeopleParams(beta=beta, support="cutoff", support_cutoff_min=6.0)
        flows = gravity_doubly(zones, cost, params=params)
        got = flows.set_index(["origin", "destination"])["volume"].to_dict()
        assert got == pytest.approx({("a", "b"): 10, ("b", "c"): 20, ("c", "a"): 30}, rel=1e-12)
        shares[beta] = flows.attrs["outside_support_share"]
    # the dense model puts trips on the other pairs too: that share is reported, not dropped
    assert 0 < shares[0.1] < shares[0.0] < 1
    # at beta = 2 the dense model does not balance within max_iter: the share is then not
    # computed, and the sparse flows stand
    assert math.isnan(shares[2.0])
    # K = 1 nearest: the same pairs and the pairs the other way round, i.e. all six
    knn = gravity_doubly(zones, cost, params=PeopleParams(beta=0.1, support="knn", k_nearest=1))
    _same(knn, gravity_doubly(zones, cost, params=PeopleParams(beta=0.1)))


def test_two_by_two_blocks_by_hand():
    """A 10-minute cutoff splits four zones into two pairs {a, b} and {c, d}, each with
    within-zone trips; on each block the doubly constrained model with beta = 0 is
    T_ij = O_i D_j / (sum of the block's O), met exactly."""
    ids = ["a", "b", "c", "d"]
    zones = pd.DataFrame(
        {"production": [10.0, 30.0, 20.0, 40.0], "attraction": [20.0, 20.0, 30.0, 30.0]},
        index=ids,
    )
    far = 60.0
    cost = pd.DataFrame(
        [[2, 8, far, far], [8, 3, far, far], [far, far, 2, 9], [far, far, 9, 4]],
        index=ids,
        columns=ids,
        dtype=float,
    )
    params = PeopleParams(beta=0.0, self_flows=True, support="cutoff", support_cutoff_min=10.0)
    flows = gravity_doubly(zones, cost, params=params)
    got = flows.set_index(["origin", "destination"])["volume"].to_dict()
    want = {
        ("a", "a"): 10 * 20 / 40,
        ("a", "b"): 10 * 20 / 40,
        ("b", "a"): 30 * 20 / 40,
        ("b", "b"): 30 * 20 / 40,
        ("c", "c"): 20 * 30 / 60,
        ("c", "d"): 20 * 30 / 60,
        ("d", "c"): 40 * 30 / 60,
        ("d", "d"): 40 * 30 / 60,
    }
    assert got == pytest.approx(want, rel=1e-12)
    assert max(_margins(flows, zones)) <= 1e-12


@pytest.mark.parametrize(
    "params",
    [
        PeopleParams(beta=0.1, support="knn", k_nearest=10),
        PeopleParams(beta=0.1, self_flows=True, support="knn", k_nearest=8, max_iter=20_000),
        PeopleParams(beta=0.05, self_flows=True, support="cutoff", support_cutoff_min=20.0),
        PeopleParams(beta=2.0, deterrence="power", support="knn", k_nearest=10),
    ],
)
def test_margins_met_to_1e9_on_a_random_sparse_support(params):
    zones, cost = _random(120, seed=7)
    flows = gravity_doubly(zones, cost, params=params)
    rows, cols = _margins(flows, zones)
    assert rows <= 1e-9 and cols <= 1e-9
    assert flows["volume"].sum() == pytest.approx(zones["production"].sum(), rel=1e-12)
    assert len(flows) <= flows.attrs["support_pairs"] < 120 * 119 / 2
    assert 0 < flows.attrs["outside_support_share"] < 1  # computed: 120 zones is small
    assert (flows["volume"] > 0).all()
    # the production-constrained model keeps its rows on the same support, too
    prod = gravity_production(zones, cost, params=params)
    assert _margins(prod, zones)[0] <= 1e-12


def test_knn_support_takes_ties_with_the_kth_and_does_not_count_the_own_zone():
    ids = ["a", "b", "c", "d"]
    zones = pd.DataFrame({"production": [1.0] * 4, "attraction": [1.0] * 4}, index=ids)
    cost = pd.DataFrame(
        [[1, 5, 5, 9], [5, 1, 7, 7], [5, 7, 1, 5], [9, 7, 5, 1]],
        index=ids,
        columns=ids,
        dtype=float,
    )
    params = PeopleParams(beta=0.1, self_flows=True, support="knn", k_nearest=1)
    flows = gravity_production(zones, cost, params=params)
    pairs = set(zip(flows["origin"], flows["destination"], strict=True))
    assert pairs == {
        ("a", "a"), ("a", "b"), ("a", "c"),  # b and c tie at 5 min
        ("b", "b"), ("b", "a"),
        ("c", "c"), ("c", "a"), ("c", "d"),
        ("d", "d"), ("d", "c"),
    }  # fmt: skip
    # the same support whatever the order of the zones
    turned = cost.iloc[::-1, ::-1]
    again = gravity_production(zones.iloc[::-1], turned, params=params)
    assert set(zip(again["origin"], again["destination"], strict=True)) == pairs


def test_a_zone_off_the_support_is_an_input_error():
    """Within 11 minutes c reaches nobody and nobody reaches c, yet c sends and attracts
    trips: its row and column cannot be met (the unconstrained model has no row or column
    constraint, so it only needs some pair on the support)."""
    ids = ["a", "b", "c"]
    zones = pd.DataFrame({"production": [1.0, 1.0, 1.0], "attraction": [1.0, 1.0, 1.0]}, index=ids)
    cost = pd.DataFrame(
        [[0, 10, 30], [10, 0, 12], [30, 12, 0]], index=ids, columns=ids, dtype=float
    )
    params = PeopleParams(support="cutoff", support_cutoff_min=11.0)
    for model in GRAVITY[1:]:
        with pytest.raises(InputError, match=r"\['c'\] have positive .* support_cutoff_min"):
            model(zones, cost, params=params)


def test_a_support_that_cannot_carry_the_margins_is_an_input_error():
    """With K = 1, a's and b's nearest zone is c, c's is d and d's is c: the support (with
    the pairs the other way round) is a <-> c <-> b and c <-> d, so a, b and d can only
    send their trips to c, which attracts 1 of their 3: no balancing meets the margins."""
    ids = ["a", "b", "c", "d"]
    zones = pd.DataFrame(
        {"production": [1.0, 1.0, 1.0, 1.0], "attraction": [1.0, 1.0, 1.0, 1.0]}, index=ids
    )
    cost = pd.DataFrame(
        [[0, 20, 1, 30], [20, 0, 2, 30], [4, 5, 0, 3], [9, 9, 1, 0]],
        index=ids,
        columns=ids,
        dtype=float,
    )
    params = PeopleParams(support="knn", k_nearest=1, max_iter=200)
    with pytest.raises(InputError, match=r"support is probably infeasible.*raise k_nearest"):
        gravity_doubly(zones, cost, params=params)
    with pytest.raises(InputError, match="factors diverge, so the support is infeasible"):
        gravity_doubly(zones, cost, params=PeopleParams(support="knn", k_nearest=1))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"support": "sparse"}, "support='sparse' is not valid"),
        ({"support": "knn"}, "needs k_nearest"),
        ({"support": "cutoff"}, "needs support_cutoff_min"),
        ({"k_nearest": 5}, "only used with support='knn'"),
        ({"support": "knn", "k_nearest": 0}, "k_nearest=0 is not valid"),
        ({"support": "knn", "k_nearest": True}, "k_nearest=True is not valid"),
        ({"support": "cutoff", "support_cutoff_min": -1.0}, "support_cutoff_min=-1.0"),
        ({"support": "knn", "k_nearest": 5, "top_destinations": 5}, "drop top_destinations"),
    ],
)
def test_support_settings_are_checked(kwargs, match):
    with pytest.raises(InputError, match=match):
        PeopleParams(**kwargs)


def test_radiation_refuses_a_sparse_support():
    zones, cost = _random(10, seed=1)
    with pytest.raises(InputError, match="not valid for radiation"):
        radiation(zones, cost, params=PeopleParams(support="knn", k_nearest=2))


def test_above_the_check_size_only_the_production_share_is_reported(monkeypatch):
    zones, cost = _random(30, seed=2)
    monkeypatch.setattr("urlink.model.flows.people.SUPPORT_CHECK_MAX_ZONES", 20)
    flows = gravity_doubly(zones, cost, params=PeopleParams(support="knn", k_nearest=10))
    assert math.isnan(flows.attrs["outside_support_share"])
    assert 0 < flows.attrs["outside_support_share_production"] < 1
    assert SUPPORT_CHECK_MAX_ZONES >= 1_000


def test_a_scenario_with_a_sparse_support_keeps_every_trip(tmp_path, capsys):
    """[flows.people] support = "knn": the same total as the dense run (nothing dropped), on
    fewer pairs, with the shares in the manifest; the same files serially and with two local
    workers (the Dask cluster: tests/test_parallel.py)."""
    extra = '\n[flows]\nwithin_zone = "none"\ncontext_flows = "all"\n'
    scenario = make_scenario(tmp_path / "s", strategies=True, extra=extra)
    dense_dir, sparse_dir, two_dir = tmp_path / "dense", tmp_path / "sparse", tmp_path / "two"
    assert main(["run", str(scenario), "--out", str(dense_dir), "-q"]) == 0
    _edit(scenario, "beta = 0.1\n", 'beta = 0.1\nsupport = "knn"\nk_nearest = 2\n')
    assert main(["run", str(scenario), "--out", str(sparse_dir), "-q", "--workers", "1"]) == 0
    assert main(["run", str(scenario), "--out", str(two_dir), "-q", "--workers", "2"]) == 0
    capsys.readouterr()
    dense = pd.read_csv(dense_dir / "flows.csv")
    sparse = pd.read_csv(sparse_dir / "flows.csv")
    dense_people = dense[dense["flow_type"] == "people"]
    people = sparse[sparse["flow_type"] == "people"]
    assert len(people) < len(dense_people)
    assert people["volume"].sum() == pytest.approx(dense_people["volume"].sum(), rel=1e-9)
    summary = json.loads((sparse_dir / "manifest.json").read_text(encoding="utf-8"))["summary"]
    flows = summary["flows"]["people"]
    assert flows["support"] == "knn" and "dropped_share" not in flows
    assert 0 < flows["outside_support_share"] < 1
    assert 0 < flows["outside_support_share_production"] < 1
    for name in ("flows.csv", "indicators.csv", "scores.csv", "robustness.csv"):
        assert (sparse_dir / name).read_bytes() == (two_dir / name).read_bytes(), name


@pytest.mark.parametrize(
    "params",
    [
        PeopleParams(beta=0.05, support="knn", k_nearest=6, max_iter=20_000),
        PeopleParams(beta=0.05, support="cutoff", support_cutoff_min=25.0, self_flows=True),
    ],
)
def test_support_read_by_blocks_from_a_memory_mapped_skim(params, monkeypatch, tmp_path):
    """The support is selected block by block (#20): blocks of 7 origins, rows and columns
    in another order, and a skim memory-mapped from disk give the same flows to the bit."""
    zones, cost = _random(60, seed=9)
    whole = gravity_doubly(zones, cost, params=params)
    monkeypatch.setattr(people, "_SUPPORT_BLOCK_ROWS", 7)
    blocks = gravity_doubly(zones, cost, params=params)
    rng = np.random.default_rng(1)
    shuffled = cost.iloc[rng.permutation(60), rng.permutation(60)]
    np.save(tmp_path / "cost.npy", cost.to_numpy())
    mapped = pd.DataFrame(
        np.load(tmp_path / "cost.npy", mmap_mode="r"), index=cost.index, columns=cost.columns
    )
    for got in (
        blocks,
        gravity_doubly(zones, shuffled, params=params),
        gravity_doubly(zones, mapped, params=params),
    ):
        pd.testing.assert_frame_equal(got, whole, check_exact=True)
        # the shares off the support are sums over blocks: equal to rounding
        key = "outside_support_share_production"
        assert got.attrs[key] == pytest.approx(whole.attrs[key], rel=1e-12)
        assert {**got.attrs, key: 0} == {**whole.attrs, key: 0}
    assert whole.attrs["support_pairs"] < 60 * 60 / 2  # a sparse support


def test_a_negative_cost_in_a_later_block_is_named(monkeypatch):
    zones, cost = _random(30, seed=2)
    cost.iloc[25, 4] = -1.0
    monkeypatch.setattr(people, "_SUPPORT_BLOCK_ROWS", 7)
    with pytest.raises(InputError, match=r"\('z025', 'z004', -1.0\)"):
        gravity_doubly(zones, cost, params=PeopleParams(beta=0.05, support="knn", k_nearest=5))
