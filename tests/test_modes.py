"""Mode choice: multinomial logit shares worked by hand, the split of trips, the constants' fit."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from urlink.errors import InputError
from urlink.model.modes import (
    MODES,
    ModeChoiceParams,
    calibrate_ascs,
    mode_costs,
    mode_probabilities,
    split_by_mode,
)

IDS = ["a", "b", "c"]
CAR = pd.DataFrame(
    [[3.0, 10.0, 20.0], [10.0, 3.0, 12.0], [20.0, 12.0, 5.0]], index=IDS, columns=IDS
)
KM = CAR / 2.0  # 30 km/h


def test_logit_shares_worked_by_hand():
    p = ModeChoiceParams(beta_time_per_min=-0.1, value_of_time_yuan_per_h=60.0)
    costs = mode_costs(CAR, KM, p)  # no bus: car, e-bike, walk
    probs = mode_probabilities(costs, p)
    assert set(probs) == {"car", "ebike", "walk"}
    # a -> b: 5 km. car 10 min and 3 yuan (0.6/km); e-bike 20 min; walk 66.67 min x 1.5
    # beta_cost = -0.1 * 60 / 60 = -0.1 per yuan
    u = {"car": -0.1 * 10 - 0.1 * 3.0, "ebike": -0.1 * 20.0, "walk": -0.1 * (5 / 4.5 * 60 * 1.5)}
    total = sum(math.exp(v) for v in u.values())
    for mode, value in u.items():
        assert probs[mode].loc["a", "b"] == pytest.approx(math.exp(value) / total, rel=1e-12)
    stacked = sum(probs[m].to_numpy() for m in probs)
    np.testing.assert_allclose(stacked, 1.0, rtol=0, atol=1e-12)  # shares sum to 1


def test_a_mode_not_available_gets_no_trips():
    class Skim:  # the fields of urlink.network.transit.TransitSkim the mode choice reads
        in_vehicle_min = CAR * 1.6
        wait_min = CAR * 0 + 10.0
        access_min = CAR * 0 + 4.0
        fare_yuan = CAR * 0 + 2.0

    Skim.in_vehicle_min.loc["a", "c"] = np.nan  # no bus from a to c
    p = ModeChoiceParams()
    probs = mode_probabilities(mode_costs(CAR, KM, p, transit=Skim()), p)
    assert probs["bus"].loc["a", "c"] == 0.0
    assert probs["bus"].loc["a", "b"] > 0
    total = sum(probs[m].loc["a", "c"] for m in probs)
    assert total == pytest.approx(1.0)
    # better bus service (shorter waits) raises the bus share on every connected pair
    Skim.wait_min = CAR * 0 + 3.0
    better = mode_probabilities(mode_costs(CAR, KM, p, transit=Skim()), p)
    assert (better["bus"].loc["a", "b"] > probs["bus"].loc["a", "b"]) and (
        better["car"].loc["a", "b"] < probs["car"].loc["a", "b"]
    )


def test_split_keeps_the_trip_totals():
    trips = pd.DataFrame(
        {"origin": ["a", "a", "b"], "destination": ["a", "b", "c"], "volume": [10.0, 20.0, 5.0]}
    )
    p = ModeChoiceParams()
    split = split_by_mode(trips, mode_probabilities(mode_costs(CAR, KM, p), p))
    assert set(split["mode"]) <= set(MODES)
    by_pair = split.groupby(["origin", "destination"])["volume"].sum()
    assert by_pair.to_dict() == pytest.approx(
        {("a", "a"): 10.0, ("a", "b"): 20.0, ("b", "c"): 5.0}
    )


def test_split_is_the_tables_per_mode_concatenated():
    # the split takes one copy of the rows; it must equal the plain construction: for each
    # mode the trips with volume x probability, rows without volume dropped, then concatenated
    trips = pd.DataFrame(
        {
            "origin": ["a", "c", "b", "a", "c"],
            "destination": ["b", "a", "c", "a", "c"],
            "volume": [10.0, 20.0, 5.0, 0.0, 7.0],
            "purpose": ["w", "w", "o", "o", "w"],
        }
    )
    trips.attrs["note"] = "kept"
    car = pd.DataFrame(np.full((3, 3), 0.5), index=IDS, columns=IDS)
    walk = car.copy()
    walk.loc["c", "c"] = 0.0  # this mode unused on one pair: its row is dropped
    bus = car.iloc[::-1, ::-1] * 0.0  # another order of the zones, all zero
    bus.loc["a", "b"] = 0.25
    probabilities = {"car": car, "walk": walk, "bus": bus}
    parts = []
    for mode, prob in probabilities.items():
        share = np.array(
            [prob.loc[o, d] for o, d in zip(trips["origin"], trips["destination"], strict=True)]
        )
        part = trips.assign(volume=trips["volume"] * share, mode=mode)
        parts.append(part[part["volume"] > 0])
    expected = pd.concat(parts, ignore_index=True)
    split = split_by_mode(trips, probabilities)
    pd.testing.assert_frame_equal(split, expected)
    assert split.attrs == {"note": "kept"}
    assert split["mode"].tolist() == ["car"] * 4 + ["walk"] * 3 + ["bus"]


def test_constants_reach_the_target_shares():
    trips = pd.DataFrame(
        {
            "origin": ["a", "a", "b", "c"],
            "destination": ["a", "b", "c", "a"],
            "volume": [10.0, 20.0, 5.0, 8.0],
        }
    )
    targets = {"car": 0.3, "ebike": 0.45, "walk": 0.25}
    p = ModeChoiceParams(target_shares=targets)
    costs = mode_costs(CAR, KM, p)
    fitted = calibrate_ascs(trips, costs, p)
    assert fitted.asc["car"] == 0.0
    split = split_by_mode(trips, mode_probabilities(costs, fitted))
    shares = split.groupby("mode")["volume"].sum() / split["volume"].sum()
    for mode, share in targets.items():
        assert shares[mode] == pytest.approx(share, abs=1e-6)
    with pytest.raises(InputError, match="available for none of the trips"):
        calibrate_ascs(trips, costs, ModeChoiceParams(target_shares={"car": 0.5, "bus": 0.5}))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"beta_time_per_min": 0.1}, "beta_time_per_min = 0.1 must be < 0"),
        ({"ebike_kph": 0.0}, "ebike_kph = 0.0 is not valid"),
        ({"target_shares": {"car": 0.5, "walk": 0.4}}, "must be positive and sum to 1"),
        ({"asc": {"plane": 1.0}}, "names modes ['plane']"),
    ],
)
def test_bad_settings_are_refused(kwargs, message):
    with pytest.raises(InputError) as err:
        ModeChoiceParams(**kwargs)
    assert message in str(err.value)
