"""Mode choice inside a state: bus edits re-split the same trips; CO2 and credits by mode."""

from __future__ import annotations

import dataclasses

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point

from urlink.model.flows.people import PeopleParams
from urlink.model.inputs import FlowSetups, PeopleSetup, people_inputs
from urlink.model.modes import ModeChoiceParams
from urlink.model.state import (
    State,
    Strategy,
    calibrate_modes,
    in_focus,
    transit_of,
    update_flows,
)
from urlink.network.transit import BusService
from urlink.scenario.strategies import apply_strategy
from urlink.scoring.indicators import evaluate

IDS = ["a", "b", "c"]
TIME = pd.DataFrame([[0, 10, 30], [10, 0, 24], [30, 24, 0]], index=IDS, columns=IDS, dtype=float)
KM = TIME / 2.0


def _state(bus: bool = True, **modes) -> State:
    zones = gpd.GeoDataFrame(
        {"population": [2000.0, 2500.0, 3000.0], "county_code": ["F", "F", "X"], "name": IDS},
        index=pd.Index(IDS, name="zone_id"),
        geometry=[Point(0, 0), Point(1, 0), Point(2, 0)],
        crs="EPSG:32651",
    )
    service = BusService(
        pd.DataFrame(
            {
                "line": ["1"],
                "stops": [("a", "b")],
                "headway_min": [30.0],
                "speed_factor": [0.6],
                "fare_yuan": [2.0],
                "source": ["estimate: test"],
            }
        )
    )
    state = State(
        zones=zones,
        focus="F",
        routing=None,  # type: ignore[arg-type] - no road edit in these tests
        routing_length=None,  # type: ignore[arg-type]
        skim=TIME,
        distance_km=KM,
        services=pd.DataFrame({"zone_id": ["a"], "service": ["district_centre"]}),
        setups=FlowSetups(
            people=(
                PeopleSetup(
                    model="gravity_doubly",
                    params=PeopleParams(beta=0.1, self_flows=True),
                    inputs=people_inputs(zones, trip_rate=2.0),
                ),
            )
        ),
        intrazonal="half_nearest",
        bus=service if bus else None,
        modes=ModeChoiceParams(**modes),
    )
    return update_flows(state)


def test_trips_are_split_by_mode_and_totals_kept():
    state = _state()
    people = state.flows["people"]
    assert set(people["mode"]) == {"car", "bus", "ebike", "walk"}
    assert people["volume"].sum() == pytest.approx(state.people_trips["volume"].sum(), rel=1e-12)
    bus = people[people["mode"] == "bus"]
    assert set(zip(bus["origin"], bus["destination"], strict=True)) == {("a", "b"), ("b", "a")}


def test_a_new_bus_line_moves_trips_to_the_bus_without_changing_destinations():
    state = _state()
    line = Strategy(
        name="c-line",
        kind="bus_line",
        params={"stops": ["b", "c"], "headway_min": 10.0, "speed_factor": 0.7, "fare_yuan": 2.0},
    )
    new = apply_strategy(state, line)
    assert new.people_trips is state.people_trips  # destinations are not recomputed
    before = state.flows["people"].groupby("mode")["volume"].sum()
    after = new.flows["people"].groupby("mode")["volume"].sum()
    assert after["bus"] > before["bus"] and after["car"] < before["car"]
    assert after.sum() == pytest.approx(before.sum(), rel=1e-12)
    base, ev = evaluate(state), evaluate(new)
    assert ev.district["co2_t_per_day"] < base.district["co2_t_per_day"]
    assert ev.district["trip_credits_t_per_day"] > base.district["trip_credits_t_per_day"]
    assert base.district["pt_coverage_share"] == pytest.approx(1.0)  # a and b are served
    with pytest.raises(Exception, match="mode_shift is not used"):
        apply_strategy(
            state,
            dataclasses.replace(line, params={"stops": ["b", "c"], "mode_shift": 0.2}),
        )


def test_co2_and_credits_follow_the_mode_of_each_trip():
    state = _state()
    ev = evaluate(state)
    p = state.flows["people"]
    p = p[p["origin"].isin(in_focus(state))]
    km = KM.to_numpy()[KM.index.get_indexer(p["origin"]), KM.columns.get_indexer(p["destination"])]
    same = (p["origin"] == p["destination"]).to_numpy()
    km = np.where(same, 0.5 * 5.0, km)  # intrazonal: half the nearest zone's 5 km
    factors = state.emissions.factors()
    ef = p["mode"].map(
        {"car": factors["car"], "bus": factors["bus"], "ebike": factors["ebike"], "walk": 0.0}
    )
    co2 = float((p["volume"] * km * ef).sum()) / 1e6
    assert ev.district["co2_t_per_day"] == pytest.approx(co2, rel=1e-9)
    low = (p["mode"] != "car").to_numpy()
    credits = (
        float((p["volume"].to_numpy() * km * (factors["car"] - ef.to_numpy()))[low].sum()) / 1e6
    )
    assert ev.district["trip_credits_t_per_day"] == pytest.approx(credits, rel=1e-9)


def test_mode_constants_fit_the_study_areas_shares():
    targets = {"car": 0.3, "bus": 0.1, "ebike": 0.4, "walk": 0.2}
    state = calibrate_modes(_state(target_shares=targets))
    state = update_flows(state, ("modes",))
    p = state.flows["people"]
    mine = p[p["origin"].isin(in_focus(state))]
    shares = mine.groupby("mode")["volume"].sum() / mine["volume"].sum()
    for mode, share in targets.items():
        assert shares[mode] == pytest.approx(share, abs=1e-5)


def test_the_bus_skim_is_kept_only_while_its_inputs_are_the_same_objects():
    state = _state()
    memo = state.transit_memo
    assert memo is not None
    assert memo.fits(state)
    assert transit_of(state) is memo.transit  # reused, not recomputed
    # the same numbers as computed afresh
    fresh = transit_of(dataclasses.replace(state, transit_memo=None))
    assert fresh is not None
    pd.testing.assert_frame_equal(fresh.total_min(), memo.transit.total_min())
    # another skim, bus service or walking speed: computed again, never the old one
    slower = dataclasses.replace(state, skim=TIME * 2.0)
    assert not memo.fits(slower)
    assert transit_of(slower) is not memo.transit
    assert state.modes is not None
    walk = dataclasses.replace(state, modes=dataclasses.replace(state.modes, walk_kph=3.0))
    assert not memo.fits(walk)
    assert state.bus is not None
    more = state.bus.with_line("2", ["b", "c"], headway_min=10.0, source="test")
    rebused = dataclasses.replace(state, bus=more)
    assert not memo.fits(rebused)
    updated = update_flows(rebused, ("bus",))
    assert updated.transit_memo is not None
    assert updated.transit_memo.fits(updated)
    assert updated.transit_memo.transit is not memo.transit
