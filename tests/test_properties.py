"""Property tests (#7): any scenario text and any small zone file either loads valid data or
raises :class:`urlink.errors.InputError`, never another exception.

Hypothesis runs derandomized (the same examples every time) with modest example counts.
"""

from __future__ import annotations

import json
import math
import tempfile
import tomllib
import warnings
from pathlib import Path
from typing import Any

import geopandas as gpd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from urlink.errors import InputError
from urlink.io.boundaries import zones_from_file
from urlink.scenario.spec import Scenario, load_scenario

from .test_bad_inputs import SCENARIO, STRATEGIES

SETTINGS = settings(
    max_examples=60,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

BASE: dict[str, Any] = tomllib.loads(SCENARIO + STRATEGIES)


# ------------------------------------------------------------------------ TOML writing


def _toml_float(value: float) -> str:
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return repr(value)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, int):
        text = str(value)
    elif isinstance(value, float):
        text = _toml_float(value)
    elif isinstance(value, str):
        text = json.dumps(value)  # a JSON string is a valid TOML basic string
    elif isinstance(value, list):
        text = "[" + ", ".join(_toml_value(v) for v in value) + "]"
    elif isinstance(value, dict):
        items = (f"{json.dumps(k)} = {_toml_value(v)}" for k, v in value.items())
        text = "{" + ", ".join(items) + "}"
    else:
        raise TypeError(value)
    return text


def to_toml(data: dict[str, Any]) -> str:
    """Write a dict as TOML (inline tables; enough for the tests)."""
    return "".join(f"{json.dumps(k)} = {_toml_value(v)}\n" for k, v in data.items())


def test_to_toml_round_trips():
    assert tomllib.loads(to_toml(BASE)) == BASE


# ------------------------------------------------------------------- scenario strategies

KEYS = sorted(
    {
        *BASE,
        *(k for v in BASE.values() if isinstance(v, dict) for k in v),
        "osm",
        "coords",
        "context",
        "weights",
        "ahp",
        "encoding",
        "kind",
        "sites",
        "params",
        "cutoff_min",
        "circuity",
    }
)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["wgs84", "gcj02", "all", "touching", "drive", "exp", "331003", "<b>x</b>"]),
)
values = st.recursive(
    scalars.filter(lambda v: v is not None),
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=6), children, max_size=3),
    ),
    max_leaves=6,
)


def _paths(data: dict[str, Any], prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out = []
    for key, value in data.items():
        out.append((*prefix, key))
        if isinstance(value, dict):
            out += _paths(value, (*prefix, key))
    return out


PATHS = _paths(BASE)


@st.composite
def mutated_scenarios(draw: st.DrawFn) -> dict[str, Any]:
    """The valid test scenario with a few keys replaced, removed or added."""
    data = json.loads(json.dumps(BASE))
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        path = draw(st.sampled_from(PATHS))
        parent = data
        for key in path[:-1]:
            parent = parent.get(key) if isinstance(parent, dict) else None
        if not isinstance(parent, dict):
            continue
        action = draw(st.sampled_from(["replace", "remove", "add"]))
        if action == "replace":
            parent[path[-1]] = draw(values)
        elif action == "remove":
            parent.pop(path[-1], None)
        else:
            parent[draw(st.sampled_from(KEYS))] = draw(values)
    return data


def _load(text: str | bytes) -> Scenario | None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "s.toml"
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
        try:
            return load_scenario(path)
        except InputError:
            return None


@SETTINGS
@given(mutated_scenarios())
def test_scenario_parser_mutations_load_or_raise_input_error(data):
    scenario = _load(to_toml(data))
    if scenario is not None:  # a scenario that loads is complete and consistent
        assert scenario.name and scenario.boundaries.focus
        assert all(p.is_absolute() for p in scenario.input_files())


@SETTINGS
@given(st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=8), values, max_size=6))
def test_scenario_parser_arbitrary_tables_load_or_raise_input_error(data):
    _load(to_toml(data))


@SETTINGS
@given(st.one_of(st.text(max_size=200), st.binary(max_size=200)))
def test_scenario_parser_arbitrary_text_raises_input_error(text):
    assert _load(text) is None  # no text this short is a complete scenario


# ----------------------------------------------------------------------- zone files

coordinates = st.floats(min_value=-200, max_value=200, allow_nan=False) | st.sampled_from(
    [121.0, 121.1, 28.5, 28.6, 0.0, 1e308, -1e-308]
)
rings = st.lists(st.tuples(coordinates, coordinates), min_size=0, max_size=6).map(
    lambda pts: [list(p) for p in pts] + ([list(pts[0])] if pts else [])
)
squares = st.builds(
    lambda x, y, w: {
        "type": "Polygon",
        "coordinates": [[[x, y], [x + w, y], [x + w, y + w], [x, y + w], [x, y]]],
    },
    st.floats(120, 122),
    st.floats(28, 29),
    st.floats(0.0, 0.2),
)
odd_geometries = st.one_of(
    st.none(),
    st.builds(lambda r: {"type": "Polygon", "coordinates": [r]}, rings),
    st.just({"type": "Polygon", "coordinates": []}),
    st.builds(
        lambda p: {"type": "Point", "coordinates": list(p)}, st.tuples(coordinates, coordinates)
    ),
)
# mostly plausible features, so that valid files are drawn as well as broken ones
geometries = st.one_of(squares, squares, squares, odd_geometries)
good_ids = st.sampled_from(["331003", "331002", "331004", "a", "b", "c"])
ids = st.one_of(
    good_ids,
    good_ids,
    good_ids,
    st.none(),
    st.sampled_from([""]),
    st.integers(-5, 5),
    st.floats(allow_nan=False, allow_infinity=False),
)
good_names = st.sampled_from(["黄岩区", "Huangyan", "Zürich", "A & B", "x < y"])
names = st.one_of(
    good_names,
    good_names,
    good_names,
    st.text(max_size=8),
    st.none(),
    st.sampled_from(["»ÆÑÒÇø", "<i>x", "a\x00b"]),
)
features = st.builds(
    lambda i, n, g: {"type": "Feature", "properties": {"id": i, "name": n}, "geometry": g},
    ids,
    names,
    geometries,
)
feature_lists = st.one_of(
    st.lists(features, max_size=4, unique_by=lambda f: str(f["properties"]["id"])),
    st.lists(features, max_size=4),
)


@SETTINGS
@given(feature_lists, st.sampled_from(["wgs84", "gcj02"]))
def test_zone_loader_loads_valid_zones_or_raises_input_error(feats, coords):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "zones.geojson"
        path.write_text(json.dumps({"type": "FeatureCollection", "features": feats}))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # repairs are reported by warnings; fine here
            try:
                zones = zones_from_file(path, id_col="id", name_col="name", coords=coords)
            except InputError:
                return
    assert isinstance(zones, gpd.GeoDataFrame) and len(zones) == len(feats)
    assert zones.index.is_unique and all(isinstance(i, str) for i in zones.index)
    assert zones.crs is not None and not zones.crs.is_geographic
    assert zones.geometry.is_valid.all() and not zones.geometry.is_empty.any()
    assert set(zones.geom_type) <= {"Polygon", "MultiPolygon"}
    assert (zones["area_km2"] > 0).all()
