from __future__ import annotations

import pandas as pd
import pytest

from urlink.errors import InputError
from urlink.model.flows import FLOW_COLUMNS, capital, ecosystem, finish_flows, get_model, registry
from urlink.model.flows.capital import DEFAULT_ECO_RATE_YUAN_PER_M3, CapitalParams
from urlink.model.flows.ecosystem import EcosystemParams, links_from_skim


def _water_zones() -> pd.DataFrame:
    # two sources (a reservoir township and a small spring), four users
    return pd.DataFrame(
        {
            "supply": [1000.0, 100.0, 0.0, 0.0, 0.0, 0.0],
            "demand": [50.0, 0.0, 300.0, 400.0, 500.0, 0.0],
        },
        index=["res", "spring", "town", "city", "port", "idle"],
    )


def _water_links() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "source": ["res", "res", "res", "res", "spring"],
            "user": ["res", "town", "city", "port", "town"],
            "time_min": [0.0, 10.0, 25.0, 40.0, 5.0],
        }
    )


@pytest.mark.parametrize("name", sorted(registry("ecosystem")))
def test_ecosystem_invariants(name):
    zones, links = _water_zones(), _water_links()
    flows = get_model("ecosystem", name)(zones, links, params=EcosystemParams())
    assert list(flows.columns[: len(FLOW_COLUMNS)]) == list(FLOW_COLUMNS)
    assert (flows["volume"] >= 0).all()
    assert (flows["unit"] == "m3/day").all() and (flows["source"] == "estimated").all()
    # every source's supply is accounted for: used + unused == supply
    per_source = flows.groupby("origin")["volume"].sum()
    for src in ("res", "spring"):
        assert per_source[src] == pytest.approx(zones.loc[src, "supply"], rel=1e-12)
    # no user receives more than it needs
    used = flows[flows["use"] == "used"].groupby("destination")["volume"].sum()
    for user, got in used.items():
        assert got <= zones.loc[user, "demand"] + 1e-9
    unused = flows[flows["use"] == "unused"]
    assert (unused["origin"] == unused["destination"]).all()


def test_declared_links_by_hand():
    zones, links = _water_zones(), _water_links()
    flows = get_model("ecosystem", "declared_links")(zones, links, params=EcosystemParams())
    got = {
        (o, d, u): v
        for o, d, u, v in flows[["origin", "destination", "use", "volume"]].itertuples(index=False)
    }
    # spring (id order first... "res" < "spring"): res shares 1000 over demands
    # res 50, town 300, city 400, port 500 (sum 1250) -> 40, 240, 320, 400
    assert got[("res", "res", "used")] == pytest.approx(40.0)
    assert got[("res", "town", "used")] == pytest.approx(240.0)
    assert got[("res", "city", "used")] == pytest.approx(320.0)
    assert got[("res", "port", "used")] == pytest.approx(400.0)
    # then the spring: town still needs 60 of its 300 -> 60 used, 40 unused
    assert got[("spring", "town", "used")] == pytest.approx(60.0)
    assert got[("spring", "spring", "unused")] == pytest.approx(40.0)


def test_declared_links_water_filling_with_weights():
    zones = pd.DataFrame(
        {"supply": [100.0, 0, 0], "demand": [0, 10.0, 200.0]}, index=["s", "a", "b"]
    )
    links = pd.DataFrame({"source": ["s", "s"], "user": ["a", "b"], "weight": [1.0, 1.0]})
    flows = get_model("ecosystem", "declared_links")(zones, links, params=EcosystemParams())
    vol = flows.set_index("destination")["volume"]
    # equal weights would give 50/50, but a needs only 10: the rest goes to b
    assert vol["a"] == pytest.approx(10.0) and vol["b"] == pytest.approx(90.0)


def test_proximity_by_hand_and_time_limit():
    zones, links = _water_zones(), _water_links()
    flows = get_model("ecosystem", "proximity")(zones, links, params=EcosystemParams())
    got = {
        (o, d): v
        for o, d, v in flows[["origin", "destination", "volume"]].itertuples(index=False)
        if o != d
    }
    # nearest first: spring->town 5 min (100), res->town 10 (200), res->city 25 (400),
    # res->port 40 (the rest, 400); the self link res->res is not a service link
    assert got == {
        ("spring", "town"): 100.0,
        ("res", "town"): 200.0,
        ("res", "city"): 400.0,
        ("res", "port"): 400.0,
    }
    limited = get_model("ecosystem", "proximity")(
        zones, links, params=EcosystemParams(max_time_min=30.0)
    )
    unused = limited[limited["use"] == "unused"].set_index("origin")["volume"]
    assert unused["res"] == pytest.approx(400.0)


def test_source_without_links_keeps_its_supply_as_unused():
    zones = _water_zones()
    flows = get_model("ecosystem", "declared_links")(
        zones, _water_links().iloc[:0], params=EcosystemParams()
    )
    assert set(flows["use"]) == {"unused"}
    assert flows.set_index("origin")["volume"].to_dict() == {"res": 1000.0, "spring": 100.0}


def test_ecosystem_bad_input():
    zones, links = _water_zones(), _water_links()
    with pytest.raises(InputError, match=r"'supply' must be >= 0.*\['res'\]"):
        get_model("ecosystem", "declared_links")(
            zones.assign(supply=[-1.0, 100, 0, 0, 0, 0]), links, params=EcosystemParams()
        )
    with pytest.raises(InputError, match=r"zones \['nowhere'\]"):
        get_model("ecosystem", "declared_links")(
            zones, links.assign(user="nowhere"), params=EcosystemParams()
        )
    with pytest.raises(InputError, match="time_min"):
        get_model("ecosystem", "proximity")(
            zones, links.drop(columns="time_min"), params=EcosystemParams()
        )
    with pytest.raises(InputError, match="max_time_min"):
        EcosystemParams(max_time_min=0)


def test_links_from_skim_skips_unreachable_and_self():
    skim = pd.DataFrame(
        [[0.0, 5.0, float("nan")], [6.0, 0.0, 7.0], [1.0, 2.0, 0.0]],
        index=list("abc"),
        columns=list("abc"),
    )
    assert links_from_skim(skim, ["a", "b"], ["a", "b", "c"]).to_numpy().tolist() == [
        ["a", "b", 5.0],
        ["b", "a", 6.0],
        ["b", "c", 7.0],
    ]


def test_default_eco_rate_derivation():
    # 150 yuan/person/year x 110,000 residents / (1.10 million m3/day x 365)
    assert pytest.approx(0.04110, abs=1e-5) == DEFAULT_ECO_RATE_YUAN_PER_M3


def test_eco_compensation_by_hand_and_reversal():
    zones = _water_zones()
    water = get_model("ecosystem", "declared_links")(
        zones, _water_links(), params=EcosystemParams()
    )
    pay = get_model("capital", "eco_compensation")(
        zones, water, params=CapitalParams(eco_rate_yuan_per_m3=0.05)
    )
    got = pay.set_index(["origin", "destination"])["volume"]
    # city received 320 m3/day from res: 320 x 365 x 0.05 = 5,840 yuan/year
    assert got[("city", "res")] == pytest.approx(5840.0)
    # town received 240 from res and 60 from the spring
    assert got[("town", "spring")] == pytest.approx(60 * 365 * 0.05)
    # self-use and unused supply are not paid for
    assert ("res", "res") not in got.index and ("spring", "spring") not in got.index
    total = water[(water["use"] == "used") & (water["origin"] != water["destination"])]
    assert pay["volume"].sum() == pytest.approx(total["volume"].sum() * 365 * 0.05)
    reverse = get_model("capital", "eco_compensation")(
        zones, water, params=CapitalParams(eco_rate_yuan_per_m3=0.05, quality_met=False)
    )
    assert set(zip(reverse["origin"], reverse["destination"], strict=True)) == {
        (d, o) for o, d in got.index
    }


def test_transfers_observed_and_per_capita():
    zones = pd.DataFrame({"population": [1000.0, 50.0, 20.0]}, index=["city", "v1", "v2"])
    links = pd.DataFrame(
        {
            "payer": ["city", "city"],
            "payee": ["v1", "v2"],
            "amount_yuan_per_year": [1e5, None],
            "kind": ["investment", "fiscal"],
        }
    )
    with pytest.raises(InputError, match="rows \\[3\\] have no amount"):
        get_model("capital", "transfers")(zones, links, params=CapitalParams())
    flows = get_model("capital", "transfers")(
        zones, links, params=CapitalParams(per_capita_yuan=300.0)
    )
    assert flows[["destination", "volume", "source", "kind"]].to_numpy().tolist() == [
        ["v1", 1e5, "observed", "investment"],
        ["v2", 6000.0, "estimated", "fiscal"],
    ]
    with pytest.raises(InputError, match=r"\['nobody'\]"):
        get_model("capital", "transfers")(
            zones, links.assign(payee="nobody"), params=CapitalParams(per_capita_yuan=1.0)
        )
    with pytest.raises(InputError, match="per_capita_yuan"):
        CapitalParams(per_capita_yuan=-1.0)


@pytest.mark.parametrize("name", sorted(registry("capital")))
def test_capital_models_are_non_negative(name):
    zones = _water_zones().assign(population=[10.0, 5, 100, 200, 300, 1])
    links = get_model("ecosystem", "declared_links")(
        zones, _water_links(), params=EcosystemParams()
    )
    if name == "transfers":
        links = pd.DataFrame(
            {"payer": ["city"], "payee": ["res"], "amount_yuan_per_year": [1000.0]}
        )
    flows = get_model("capital", name)(zones, links, params=CapitalParams())
    assert (flows["volume"] >= 0).all() and (flows["unit"] == "yuan/year").all()


def _coded_zones() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "township_code": ["331003101", "331003102", "331004101", None],
            "county_code": ["331003", "331003", "331004", "331081"],
            "prefecture_code": ["331000", "331000", "331000", "331000"],
        },
        index=["res", "town", "city", "port"],
    )


@pytest.mark.parametrize("quality_met", [True, False])
@pytest.mark.parametrize("case", ["plain", "no use", "a pair twice", "all zero", "a unit"])
def test_eco_compensation_at_once_is_the_pandas_steps(monkeypatch, quality_met, case):
    # #16: string ids and float volumes are paid for with numpy; any other table (here: a
    # payer-payee pair twice, nothing to pay) with the pandas steps, which give the same
    water = pd.DataFrame(
        {
            "origin": ["town", "res", "res", "res", "res", "city", "res"],
            "destination": ["res", "town", "city", "port", "res", "port", "port"],
            "volume": [5.0, 240.0, 320.0, 0.0, 50.0, 7.5, 3.0],
            "use": ["used", "used", "used", "used", "used", None, "unused"],
        }
    )
    rate = 0.05
    if case == "no use":
        water = water.drop(index=6, columns="use")
    elif case == "a pair twice":
        water.loc[6, "use"] = "used"
    elif case == "all zero":
        rate = 0.0
    elif case == "a unit":
        water.loc[0, "origin"] = "331004"  # a county government pays
    zones = _coded_zones()
    params = CapitalParams(eco_rate_yuan_per_m3=rate, quality_met=quality_met)
    fast = capital.eco_compensation(zones, water, params=params)
    monkeypatch.setattr(capital, "_eco_compensation_at_once", lambda *args: None)
    plain = capital.eco_compensation(zones, water, params=params)
    pd.testing.assert_frame_equal(fast, plain, check_exact=True)
    assert fast.empty == (case == "all zero")
    if not fast.empty:
        assert fast["crosses"].isin(["township", "county", "prefecture", "unknown"]).all()


@pytest.mark.parametrize(
    "rows",
    [
        [("res", "town", 240.0, "used"), ("res", "res", 1e-3, "unused")],
        [(1, 2, 3.0, "used"), (2, 2, 0.0, "unused")],  # numbers as ids: int64 columns
        [("a", 2, 3.0, "used")],  # a string and a number: objects
        [("a", "b", 3, "used")],  # an integer volume
        [],
    ],
)
def test_ecosystem_rows_are_the_table_of_the_rows(rows):
    # #16: the columns are inferred one by one, as a table of the rows infers them
    table = pd.DataFrame(rows, columns=["origin", "destination", "volume", "use"])
    plain = finish_flows(table, flow_type="ecosystem", model="m", source="estimated")
    pd.testing.assert_frame_equal(ecosystem._flows(rows, "m"), plain, check_exact=True)
