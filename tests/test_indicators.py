"""Indicators of a state (urlink.scoring.indicators) on the Huangyan scenario."""

from __future__ import annotations

import dataclasses

import pytest

from urlink.model.state import intrazonal_min
from urlink.scenario.build import base_state, network_from_scenario
from urlink.scenario.spec import load_scenario
from urlink.scoring.indicators import evaluate, service_self_min


@pytest.fixture(scope="module")
def base(huangyan_scenario_path, huangyan_zones):
    scenario = load_scenario(huangyan_scenario_path)
    zones, _ = huangyan_zones
    streets = network_from_scenario(scenario, zones)
    state = base_state(scenario, zones, streets)
    return scenario, state, evaluate(state)


def test_a_service_in_the_zone_itself_is_the_intrazonal_time_away(base):
    _, state, ev = base
    own = intrazonal_min(state)
    zv = ev.zone_values
    for service, column in (
        ("district_centre", "time_to_centre_min"),
        ("hospital", "time_to_hospital_min"),
        ("market", "time_to_market_min"),
    ):
        zones = set(state.services.loc[state.services["service"] == service, "zone_id"])
        assert zones
        for z in zones:
            assert zv.loc[z, column] > 0, (service, z)
            # the intrazonal time, unless another zone with the service is nearer
            assert zv.loc[z, column] == pytest.approx(
                min(own[z], float(state.skim.loc[z, sorted(zones - {z})].min()))
                if len(zones) > 1
                else own[z]
            )
    assert (zv["time_to_centre_min"] > 0).all()


def test_the_rule_holds_when_trips_keep_a_zero_diagonal(base):
    _, state, ev = base
    flat = dataclasses.replace(state, intrazonal="none")
    assert (intrazonal_min(flat) == 0).all()
    pd_self = service_self_min(flat)
    assert (pd_self > 0).all()
    centre = state.services.loc[state.services["service"] == "district_centre", "zone_id"]
    z = centre.iloc[0]
    assert evaluate(flat).zone_values.loc[z, "time_to_centre_min"] == pytest.approx(
        ev.zone_values.loc[z, "time_to_centre_min"]
    )
