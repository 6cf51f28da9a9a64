"""Transport CO₂ of linkage graphs and 碳普惠 trip credits, checked by hand."""

from __future__ import annotations

import logging
import math

import networkx as nx
import pytest

from urlink.errors import InputError
from urlink.model.carbon import (
    EMISSION_FACTORS_G_PER_UNIT,
    EmissionFactors,
    add_emissions,
    baseline_factor_g_per_pkm,
    trip_credit_g,
)

# ----------------------------------------------------------------------------- factor table


@pytest.mark.parametrize(
    ("mode", "g", "unit", "cited"),
    [
        ("road_passenger", 31.70, "pkm", "R77"),
        ("rail_passenger", 6.11, "pkm", "R77"),
        ("road_freight", 41.25, "tkm", "R77"),
        ("rail_freight", 6.11, "tkm", "R77"),
        ("car", 129.0, "pkm", "R79"),
        ("bus", 31.70, "pkm", "R77"),
        ("walk", 0.0, "pkm", "tailpipe"),
    ],
)
def test_default_factors_and_sources(mode: str, g: float, unit: str, cited: str) -> None:
    assert EMISSION_FACTORS_G_PER_UNIT[mode][:2] == (g, unit)
    ef = EmissionFactors()
    assert ef[mode] == g
    assert ef.unit(mode) == unit
    assert cited in ef.source(mode)


def test_emission_factors_is_a_read_only_mapping() -> None:
    ef = EmissionFactors()
    assert dict(ef)["road_freight"] == 41.25
    assert len(ef) == len(EMISSION_FACTORS_G_PER_UNIT)
    assert "car" in ef
    assert "hovercraft" not in ef
    with pytest.raises(TypeError):
        ef.table["car"] = (1.0, "pkm", "x")  # type: ignore[index]
    with pytest.raises(InputError, match=r"mode = 'hovercraft' has no emission factor"):
        ef.source("hovercraft")


def test_with_overrides() -> None:
    ef = EmissionFactors()
    local = ef.with_overrides(
        {"car": 150.0, "ebike": (5.0, "pkm", "Taizhou survey"), "bus": (103.12, "pkm", "R80")}
    )
    assert local["car"] == 150.0
    assert local.unit("car") == "pkm"
    assert local.source("car") == "override"
    assert local["ebike"] == 5.0
    assert local.source("ebike") == "Taizhou survey"
    assert local["bus"] == 103.12
    assert ef["car"] == 129.0  # unchanged
    assert ef["bus"] == 31.70
    with pytest.raises(InputError, match=r"'tram' is a new mode, so give \(g per unit"):
        ef.with_overrides({"tram": 20.0})
    with pytest.raises(InputError, match=r"mode 'car' = -1\.0 must be a finite number >= 0"):
        ef.with_overrides({"car": -1.0})
    with pytest.raises(InputError, match=r"unit for mode 'tram' = 'vkm'"):
        ef.with_overrides({"tram": (20.0, "vkm", "x")})
    with pytest.raises(InputError, match=r"must be a tuple"):
        EmissionFactors({"car": 129.0})  # type: ignore[dict-item]


# ----------------------------------------------------------------------------- add_emissions


def _graph() -> nx.MultiDiGraph:
    G = nx.MultiDiGraph()
    G.add_edge("v", "t", key=0, flow_type="people", volume=100.0, distance_km=10.0)  # car
    G.add_edge(
        "v", "t", key=1, flow_type="people", volume=50, distance_km=20.0, mode="rail_passenger"
    )
    G.add_edge("f", "m", key=0, flow_type="goods", volume=10.0, distance_km=20.0)  # road
    G.add_edge(
        "f", "m", key=1, flow_type="goods", volume=100.0, distance_km=100.0, mode="rail_freight"
    )
    G.add_edge("t", "v", key=0, flow_type="capital", volume=1e6, distance_km=10.0)
    G.add_edge("r", "t", key=0, flow_type="ecosystem", volume=5000.0)
    return G


def test_add_emissions_by_hand() -> None:
    G = _graph()
    capital_before = dict(G.edges["t", "v", 0])
    eco_before = dict(G.edges["r", "t", 0])
    out = add_emissions(G)
    assert out is G  # modified in place and returned

    car = G.edges["v", "t", 0]
    assert car["pkm_per_day"] == 100 * 10  # persons/day * km
    assert car["co2_kg_per_day"] == pytest.approx(1000 * 129.0 / 1000)  # 129 kg
    rail = G.edges["v", "t", 1]
    assert rail["pkm_per_day"] == 50 * 20
    assert rail["co2_kg_per_day"] == pytest.approx(1000 * 6.11 / 1000)  # 6.11 kg
    road = G.edges["f", "m", 0]
    assert road["tkm_per_day"] == 10 * 20
    assert road["co2_kg_per_day"] == pytest.approx(200 * 41.25 / 1000)  # 8.25 kg
    rail_f = G.edges["f", "m", 1]
    assert rail_f["tkm_per_day"] == 100 * 100
    assert rail_f["co2_kg_per_day"] == pytest.approx(10_000 * 6.11 / 1000)  # 61.1 kg
    assert "pkm_per_day" not in road and "tkm_per_day" not in car

    assert G.edges["t", "v", 0] == {**capital_before, "co2_kg_per_day": 0.0}
    assert G.edges["r", "t", 0] == {**eco_before, "co2_kg_per_day": 0.0}


def test_add_emissions_overrides_and_defaults() -> None:
    G = _graph()
    ef = EmissionFactors().with_overrides({"car": 150.0})
    add_emissions(G, ef, default_mode_goods="rail_freight")
    assert G.edges["v", "t", 0]["co2_kg_per_day"] == pytest.approx(1000 * 150.0 / 1000)
    assert G.edges["f", "m", 0]["co2_kg_per_day"] == pytest.approx(200 * 6.11 / 1000)

    G2 = nx.MultiDiGraph()
    G2.add_edge("a", "b", flow_type="people", volume=10.0, distance_km=3.0, how="bus")
    add_emissions(G2, mode_attr="how")
    assert G2.edges["a", "b", 0]["co2_kg_per_day"] == pytest.approx(30 * 31.70 / 1000)


def test_add_emissions_nan_distance_is_nan_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    G = _graph()
    G.add_edge("x", "y", flow_type="people", volume=10.0, distance_km=math.nan)
    G.add_edge("x", "y", flow_type="goods", volume=2.0)  # no distance at all
    with caplog.at_level(logging.WARNING, logger="urlink.model.carbon"):
        add_emissions(G)
    assert math.isnan(G.edges["x", "y", 0]["pkm_per_day"])
    assert math.isnan(G.edges["x", "y", 0]["co2_kg_per_day"])
    assert math.isnan(G.edges["x", "y", 1]["co2_kg_per_day"])
    assert G.edges["v", "t", 0]["co2_kg_per_day"] == pytest.approx(129.0)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "2 people/goods edge(s) have no distance_km" in warnings[0].getMessage()


@pytest.mark.parametrize(
    ("attrs", "match"),
    [
        ({"flow_type": "people", "volume": 1.0, "distance_km": 1.0, "mode": "road_freight"},
         r"'road_freight' is a tkm mode; use a pkm mode"),
        ({"flow_type": "goods", "volume": 1.0, "distance_km": 1.0, "mode": "zeppelin"},
         r"mode = 'zeppelin' has no emission factor"),
        ({"flow_type": "freight", "volume": 1.0}, r"flow_type = 'freight'; use one of"),
        ({"flow_type": "goods", "volume": -3.0, "distance_km": 1.0},
         r"volume = -3\.0 must be >= 0"),
        ({"flow_type": "goods", "distance_km": 1.0}, r"volume = None must be a finite number"),
        ({"flow_type": "people", "volume": 1.0, "distance_km": -1.0}, r"distance_km = -1\.0"),
    ],
)  # fmt: skip
def test_add_emissions_rejects_bad_edges_without_writing(attrs: dict, match: str) -> None:
    G = _graph()
    G.add_edge("bad", "edge", **attrs)
    with pytest.raises(InputError, match=match):
        add_emissions(G)
    assert all("co2_kg_per_day" not in d for _, _, d in G.edges(data=True))


def test_add_emissions_checks_default_modes() -> None:
    with pytest.raises(InputError, match=r"default_mode_people = 'road_freight' is a tkm mode"):
        add_emissions(_graph(), default_mode_people="road_freight")


# ----------------------------------------------------------------------------- trip credits


def test_trip_credit_by_hand() -> None:
    assert trip_credit_g(10.0, baseline_mode="car", chosen_mode="bus") == pytest.approx(
        (129.0 - 31.70) * 10.0  # 973 g
    )
    assert trip_credit_g(2.5, baseline_mode="car", chosen_mode="walk") == pytest.approx(
        129.0 * 2.5
    )
    assert trip_credit_g(0.0, baseline_mode="car", chosen_mode="bike") == 0.0


def test_trip_credit_is_clipped_at_zero() -> None:
    assert trip_credit_g(10.0, baseline_mode="bus", chosen_mode="car") == 0.0
    assert trip_credit_g(10.0, baseline_mode="car", chosen_mode="car") == 0.0


def test_trip_credit_with_a_city_baseline() -> None:
    # baseline = total CO₂ / total pkm of motorised trips: 1 pkm by car, 3 by bus
    base = baseline_factor_g_per_pkm({"car": 1.0, "bus": 3.0})
    assert base == pytest.approx((1 * 129.0 + 3 * 31.70) / 4)  # 56.025 g/pkm
    ef = EmissionFactors().with_overrides({"city_baseline": (base, "pkm", "city mix 2024")})
    credit = trip_credit_g(
        10.0, baseline_mode="city_baseline", chosen_mode="rail_passenger", factors=ef
    )
    assert credit == pytest.approx((56.025 - 6.11) * 10.0)  # 499.15 g


def test_trip_credit_and_baseline_errors() -> None:
    with pytest.raises(InputError, match=r"distance_km = -1\.0 must be a finite number >= 0"):
        trip_credit_g(-1.0, baseline_mode="car", chosen_mode="bus")
    with pytest.raises(InputError, match=r"distance_km = nan"):
        trip_credit_g(math.nan, baseline_mode="car", chosen_mode="bus")
    with pytest.raises(InputError, match=r"chosen_mode = 'rail_freight' is a tkm mode"):
        trip_credit_g(1.0, baseline_mode="car", chosen_mode="rail_freight")
    with pytest.raises(InputError, match=r"baseline_mode = 'rocket' has no emission factor"):
        trip_credit_g(1.0, baseline_mode="rocket", chosen_mode="bus")
    with pytest.raises(InputError, match=r"has no person-km"):
        baseline_factor_g_per_pkm({"car": 0.0})
    with pytest.raises(InputError, match=r"pkm_by_mode\['car'\] = -2\.0 must be >= 0"):
        baseline_factor_g_per_pkm({"car": -2.0})
