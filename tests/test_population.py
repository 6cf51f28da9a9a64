from __future__ import annotations

import pandas as pd
import pytest

from urlink.errors import InputError
from urlink.io.tables import read_population_table
from urlink.model.population import (
    add_population,
    fit_community_weight,
    population_from_units,
    round_to_total,
)


def test_round_to_total_is_exact_and_deterministic():
    s = pd.Series([1.0, 2.0, 3.0, 0.5], index=list("abcd"))
    r = round_to_total(s, 1001)
    assert r.sum() == 1001
    # exact shares: 154.0, 308.0, 462.0, 77.0 -> all integers already
    assert r.tolist() == [154, 308, 462, 77]
    assert round_to_total(pd.Series([1.0, 1.0, 1.0]), 2).tolist() == [1, 1, 0]


def test_population_from_units_by_hand():
    u = pd.DataFrame(
        {"n_communities": [3, 0, 1], "n_villages": [1, 5, 2], "n_other": [0, 1, 0]},
        index=["x", "y", "z"],
    )
    # k = 2: weights 7, 6, 4 of 17 -> 7000/17 = 411.76, 352.94, 235.29 of 1000
    out = population_from_units(u, total=1000, community_weight=2.0)
    assert out["population"].tolist() == [412, 353, 235]
    assert out["population_source"].str.startswith("estimate:").all()


def test_fit_recovers_known_weight():
    u = pd.DataFrame(
        {"n_communities": [10, 2, 0, 5], "n_villages": [2, 20, 10, 10], "n_other": [0, 0, 1, 0]},
        index=list("abcd"),
    )
    k_true = 4.0
    w = k_true * u["n_communities"] + u["n_villages"] + u["n_other"]
    refs = pd.DataFrame(
        {
            "population": w * 1000,
            "district_total": w.sum() * 1000,
            "use": ["fit", "fit", "check", "check"],
        },
        index=u.index,
    )
    assert fit_community_weight(u, refs) == pytest.approx(k_true, abs=1e-4)
    with pytest.raises(InputError, match="use = 'fit'"):
        fit_community_weight(u, refs.assign(use="check"))


def test_population_table_rejects_bad_values(tmp_path):
    p = tmp_path / "pop.csv"
    p.write_text("zone_id,population\na,100\nb,-5\nc,\nd,many\ne,0\n", encoding="utf-8")
    pattern = r"pop.csv.*'population'.*'b': '-5'.*'c'.*'d': 'many'.*'e'"
    with pytest.raises(InputError, match=pattern):
        read_population_table(p)


def test_add_population_rejects_unknown_ids():
    zones = pd.DataFrame({"name": ["A"]}, index=["331003001"])
    table = pd.DataFrame({"population": [5.0], "population_source": ["x"]}, index=["999"])
    with pytest.raises(InputError, match=r"\['999'\] are not zones"):
        add_population(zones, table)


def test_huangyan_township_estimates_sum_to_district_total(huangyan_zones):
    zones, params = huangyan_zones
    towns = zones[zones["level"] == "township"]
    assert towns["population"].sum() == 707_500
    assert (towns["population"] > 0).all()
    assert towns["population_source"].str.startswith("estimate:").all()
    k = params["community_weight"]["value"]
    assert 2.0 < k < 10.0
    # checked against the two 2011 figures used in the fit (shares of 632,100): within 10 %
    share = towns["population"] / 707_500
    assert share.loc["331003001"] == pytest.approx(97_561 / 632_100, rel=0.10)
    assert share.loc["331003004"] == pytest.approx(54_189 / 632_100, rel=0.10)


def test_every_zone_population_has_a_source(huangyan_zones):
    zones, _ = huangyan_zones
    assert zones["population"].notna().all()
    assert zones["population_source"].notna().all()
    estimates = zones[zones["population_source"].str.startswith("estimate")]
    # 19 townships + Sanmen (derived) + Yongjia (year-end estimate)
    assert len(estimates) == 21
    assert {"331022", "330324"} <= set(estimates.index)
