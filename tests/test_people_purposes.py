"""Within-zone trips, trip purposes, calibration to a mean trip time, flows at the cordon.

Hand-worked three-zone cases: zones a and b form the focus unit F, c is a context zone X.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point

from urlink.errors import InputError
from urlink.model.flows.people import PeopleParams
from urlink.model.inputs import FlowSetups, PeopleSetup, people_inputs
from urlink.model.intrazonal import intrazonal_values, pair_values, with_intrazonal
from urlink.model.state import State, calibrate_people, people_summary, update_flows
from urlink.scenario.spec import load_scenario
from urlink.scoring.indicators import evaluate

IDS = ["a", "b", "c"]
TIME = pd.DataFrame([[0, 10, 30], [10, 0, 24], [30, 24, 0]], index=IDS, columns=IDS, dtype=float)
KM = TIME / 2.0  # 30 km/h everywhere


def _state(**kw) -> State:
    zones = gpd.GeoDataFrame(
        {
            "population": [2000.0, 2500.0, 3000.0],
            "county_code": ["F", "F", "X"],
            "name": IDS,
        },
        index=pd.Index(IDS, name="zone_id"),
        geometry=[Point(0, 0), Point(1, 0), Point(2, 0)],
        crs="EPSG:32651",
    )
    purposes = kw.pop("purposes", (("all", 1.0, 0.1),))
    setups = tuple(
        PeopleSetup(
            model="gravity_doubly",
            params=PeopleParams(beta=beta, self_flows=kw.get("intrazonal", "none") != "none"),
            inputs=people_inputs(zones, trip_rate=rate),
            purpose=name,
        )
        for name, rate, beta in purposes
    )
    state = State(
        zones=zones,
        focus="F",
        routing=None,  # type: ignore[arg-type] - the flows need no routing graph
        routing_length=None,  # type: ignore[arg-type]
        skim=TIME,
        distance_km=KM,
        services=pd.DataFrame({"zone_id": ["a"], "service": ["district_centre"]}),
        setups=FlowSetups(people=setups),
        **kw,
    )
    return update_flows(state)


def test_intrazonal_time_is_half_the_nearest_neighbour():
    assert intrazonal_values(TIME).tolist() == [5.0, 5.0, 12.0]
    cut = TIME.copy()
    cut.loc["c", ["a", "b"]] = np.nan  # c reaches nobody
    assert np.isnan(intrazonal_values(cut)["c"])
    full = with_intrazonal(TIME, intrazonal_values(TIME))
    assert np.diag(full.to_numpy()).tolist() == [5.0, 5.0, 12.0]
    assert TIME.loc["a", "a"] == 0  # the input is unchanged
    assert pair_values(
        TIME, ["a", "c"], ["a", "a"], intrazonal=intrazonal_values(TIME)
    ).tolist() == [
        5.0,
        30.0,
    ]


def test_intrazonal_values_of_a_skim_whose_columns_are_in_another_order():
    """Each zone's own column is its diagonal, whatever the order of the columns."""
    shuffled = TIME[["c", "a", "b"]]
    assert intrazonal_values(shuffled).tolist() == [5.0, 5.0, 12.0]
    assert intrazonal_values(shuffled, rule="none").tolist() == [0.0, 0.0, 0.0]


def test_within_zone_trips_are_modelled_and_margins_met():
    state = _state(intrazonal="half_nearest")
    p = state.flows["people"]
    within = p[p["origin"] == p["destination"]]
    assert set(within["origin"]) == set(IDS) and (within["volume"] > 0).all()
    od = p.pivot_table(index="origin", columns="destination", values="volume", aggfunc="sum")
    setup = state.setups.people[0]
    np.testing.assert_allclose(od.sum(axis=1)[IDS], setup.inputs["production"][IDS], rtol=1e-9)
    np.testing.assert_allclose(od.sum(axis=0)[IDS], setup.inputs["attraction"][IDS], rtol=1e-9)
    # the doubly constrained flows follow exp(-beta t) with t_ii = 5, 5, 12 on the diagonal:
    # T_ij = A_i B_j O_i D_j f(t_ij), so the balancing factors cancel in the odds ratio
    # T_aa T_bb / (T_ab T_ba) = f(5)^2 / f(10)^2 = exp(0.1 * (10 + 10 - 5 - 5)) = e
    ratio = od.loc["a", "a"] * od.loc["b", "b"] / (od.loc["a", "b"] * od.loc["b", "a"])
    assert ratio == pytest.approx(np.e, rel=1e-9)
    without = _state()  # no within-zone trips: the diagonal is empty
    q = without.flows["people"]
    assert not (q["origin"] == q["destination"]).any()


def test_within_zone_trips_count_in_co2_but_not_in_cross_boundary_shares():
    state = _state(intrazonal="half_nearest")
    ev = evaluate(state)
    p = state.flows["people"]
    between = p[p["origin"] != p["destination"]]
    touching = between[
        between["origin"].isin(["a", "b"]) | between["destination"].isin(["a", "b"])
    ]
    crossing = touching[touching["origin"].eq("c") | touching["destination"].eq("c")]
    expected = crossing["volume"].sum() / touching["volume"].sum()
    assert ev.district["cross_boundary_share_people"] == pytest.approx(expected, rel=1e-12)
    # CO2 of the trips from a and b: km with the intrazonal 2.5 km (half of 5 km) for a->a
    mine = p[p["origin"].isin(["a", "b"])]
    km = pair_values(KM, mine["origin"], mine["destination"], intrazonal=intrazonal_values(KM))
    assert (km[(mine["origin"] == mine["destination"]).to_numpy()] > 0).all()
    ef = state.emissions.factors()["car"]
    co2_t = float((mine["volume"].to_numpy() * km).sum() * ef / 1e6)
    assert ev.district["co2_t_per_day"] == pytest.approx(co2_t, rel=1e-9)


def test_purposes_have_their_own_rates_and_deterrence():
    state = _state(
        intrazonal="half_nearest",
        purposes=(("home_work", 0.5, 0.05), ("home_other", 1.0, 0.2)),
    )
    p = state.flows["people"]
    assert set(p["purpose"]) == {"home_work", "home_other"}
    totals = p.groupby("purpose")["volume"].sum()
    assert totals["home_work"] == pytest.approx(0.5 * 7500, rel=1e-9)
    assert totals["home_other"] == pytest.approx(1.0 * 7500, rel=1e-9)
    for setup in state.setups.people:
        part = p[p["purpose"] == setup.purpose]
        rows = part.groupby("origin")["volume"].sum()[IDS]
        np.testing.assert_allclose(rows, setup.inputs["production"][IDS], rtol=1e-9)
    summary = {r["purpose"]: r for r in people_summary(state)}
    # a steeper decay keeps trips closer to home: shorter mean time, more within-zone trips
    assert summary["home_other"]["mean_time_min"] < summary["home_work"]["mean_time_min"]
    assert summary["home_other"]["within_zone_share"] > summary["home_work"]["within_zone_share"]


def test_calibration_reaches_the_target_mean_trip_time():
    state = _state(intrazonal="half_nearest")
    calibrated = update_flows(calibrate_people(state, {"all": 12.0}))
    setup = calibrated.setups.people[0]
    assert setup.calibration is not None
    assert setup.calibration.mean_time_modelled == pytest.approx(12.0, abs=1e-9)
    assert setup.params.beta == setup.calibration.beta
    # the flows use the fitted beta: the mean time of the focus residents' trips is the target
    p = calibrated.flows["people"]
    p = p[p["origin"].isin(["a", "b"])]
    t = pair_values(TIME, p["origin"], p["destination"], intrazonal=intrazonal_values(TIME))
    assert float((t * p["volume"]).sum() / p["volume"].sum()) == pytest.approx(12.0, abs=1e-6)
    # or a mean trip length (km, intrazonal lengths half the nearest: 2.5, 2.5, 6 km)
    by_km = update_flows(calibrate_people(state, {"all": ("km", 6.0)}))
    q = by_km.flows["people"]
    q = q[q["origin"].isin(["a", "b"])]
    km = pair_values(KM, q["origin"], q["destination"], intrazonal=intrazonal_values(KM))
    assert float((km * q["volume"]).sum() / q["volume"].sum()) == pytest.approx(6.0, abs=1e-6)
    with pytest.raises(InputError, match="purposes \\['work'\\] are not modelled"):
        calibrate_people(state, {"work": 12.0})
    with pytest.raises(InputError, match="longer than the model gives at the lowest beta"):
        calibrate_people(state, {"all": 60.0})  # longer than the longest trip (30 min)


def test_flows_between_context_zones_are_dropped_at_the_cordon():
    three = ["a", "b", "c", "d"]
    time = pd.DataFrame(
        [[0, 10, 30, 35], [10, 0, 24, 30], [30, 24, 0, 8], [35, 30, 8, 0]],
        index=three,
        columns=three,
        dtype=float,
    )
    zones = gpd.GeoDataFrame(
        {"population": [1000.0, 2000.0, 3000.0, 4000.0], "county_code": ["F", "F", "X", "Y"]},
        index=pd.Index(three, name="zone_id"),
        geometry=[Point(i, 0) for i in range(4)],
        crs="EPSG:32651",
    )
    setup = PeopleSetup(
        model="gravity_doubly",
        params=PeopleParams(beta=0.1),
        inputs=people_inputs(zones, trip_rate=1.0),
    )

    def run(context_flows: str) -> State:
        return update_flows(
            State(
                zones=zones,
                focus="F",
                routing=None,  # type: ignore[arg-type]
                routing_length=None,  # type: ignore[arg-type]
                skim=time,
                distance_km=time / 2,
                services=pd.DataFrame(columns=["zone_id", "service"]),
                setups=FlowSetups(people=(setup,)),
                context_flows=context_flows,  # type: ignore[arg-type]
            )
        )

    everything = run("all").flows["people"]
    cordon = run("cordon").flows["people"]
    outside = ~(everything["origin"].isin(["a", "b"]) | everything["destination"].isin(["a", "b"]))
    assert outside.any()
    kept = everything[~outside].reset_index(drop=True)
    pd.testing.assert_frame_equal(cordon, kept)  # the same flows, those crossing the cordon
    share = everything.loc[outside, "volume"].sum() / everything["volume"].sum()
    assert cordon.attrs["outside_cordon_share"] == pytest.approx(share, rel=1e-12)


MINIMAL = """
name = "mini"
[boundaries]
path = "zones.geojson"
id_col = "adcode"
name_col = "name"
focus = "331003"
[population]
counties = "pop.csv"
"""


@pytest.mark.parametrize(
    ("flows", "message"),
    [
        (
            "[flows.people]\ntrip_rate = 2\n[flows.people.purposes.home_work]\ntrip_rate = 1\n"
            'rate_source = "survey"\n',
            "give the trip rates per purpose",
        ),
        (
            '[flows.people.purposes.home_work]\ntrip_rate = 1\nrate_source = "s"\nbetta = 1\n',
            "key 'betta' is not a known key (did you mean 'beta'?)",
        ),
        (
            "[flows.people.purposes.home_work]\ntrip_rate = 1\n",
            "key 'rate_source' is missing",
        ),
        (
            '[flows.people.purposes.home_work]\ntrip_rate = 1\nrate_source = "s"\nbeta = 0.1\n'
            "mean_time_min = 20\n",
            "beta is fitted to mean_time_min here",
        ),
        (
            '[flows]\nwithin_zone = "half_nearest"\n[flows.people]\nmodel = "radiation"\n',
            "radiation model has no within-zone term",
        ),
        ('[flows]\nwithin_zone = "everywhere"\n', "'everywhere' is not valid"),
    ],
)
def test_bad_purpose_tables_name_the_key(tmp_path: Path, flows: str, message: str) -> None:
    path = tmp_path / "s.toml"
    path.write_text(MINIMAL + flows, encoding="utf-8")
    with pytest.raises(InputError) as err:
        load_scenario(path)
    assert message in str(err.value)
    assert str(path) in str(err.value)


def test_purposes_are_read_with_their_settings(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text(
        MINIMAL
        + '[flows.people]\ndeterrence = "exp"\nbeta = 0.1\n'
        + '[flows.people.purposes.home_work]\ntrip_rate = 0.6\nrate_source = "survey A"\n'
        + 'mean_time_min = 24\nmean_source = "survey A, table 3"\n'
        + '[flows.people.purposes.home_other]\ntrip_rate = 1.1\nrate_source = "survey A"\n'
        + "beta = 0.15\n",
        encoding="utf-8",
    )
    people = load_scenario(path).flows.people
    assert people is not None
    work, other = people.purposes
    assert (work.name, work.trip_rate, work.mean_time_min, work.params.beta) == (
        "home_work",
        0.6,
        24.0,
        0.1,  # the [flows.people] beta, fitted at run time
    )
    assert (other.name, other.params.beta, other.params.deterrence) == ("home_other", 0.15, "exp")
    assert other.attraction is None and other.attraction_source.startswith("estimate:")
    assert dataclasses.is_dataclass(work.params)
