"""Hostile inputs for every reader, and the invariant the command line must keep (#19).

Hypothesis strategies that break a small scenario one way at a time. Three scenarios hold
every reader urlink has:

- ``tiny``: the tiny scenario of ``tests/test_bad_inputs.py`` (zones and seats GeoJSON,
  population, township unit, services and stakeholder-weights tables, one strategy);
- ``full``: the tiny scenario with every other input of the Huangyan showcase: settlements
  (places GeoJSON), a population raster (GeoTIFF), township references, trip purposes with
  an attraction table, goods supply weights and markets, ecosystem sources and supply
  phases, capital transfers, a bus lines table and AHP forms instead of points, and the
  sections of settings ([network], [typology], [emissions], [flows], [[packages]],
  [costs], [scoring.references]); ``uncertain`` adds [uncertainty] (validated only);
- ``malta``: the inputs of the Malta showcase in miniature: zones, buildings and bus routes
  from an OSM ``.osm.pbf`` (written here: three councils, one tagged at another
  admin_level and included by id), the dasymetric population, OSM bus options
  (``operator``, ``exclude_refs``, ``headway_min``, ``fare_yuan``), the mode choice, a
  services table and a points form with labels.

A case replaces a scenario value by any TOML value (lists, tables, nesting, huge, NaN and
infinite numbers, markup, paths) or removes or adds a key; replaces a CSV cell of any input
table with hostile text, cuts a table to its header, drops or renames a column, garbles its
bytes; breaks a GeoJSON coordinate, geometry, property or the whole file; writes a corrupt,
huge, NaN-filled, wrong-CRS or one-cell GeoTIFF; or breaks a tag, node location, relation
member or the bytes of the OSM file. :func:`run_case` writes the scenario with the case
applied and runs the CLI in-process; :func:`violation` says what is wrong with the outcome:
the invariant is exit code 0 or 2, never 1, never a traceback, never a hang (a time limit
per case).

Used by ``tests/test_fuzz.py`` (a small seeded batch) and ``benchmarks/fuzz.py`` (many
more, failing cases written to a file).
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import signal
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import osmium
import rasterio
from hypothesis import strategies as st
from rasterio.transform import Affine

from urlink.cli import main

from .test_bad_inputs import SCENARIO, STRATEGIES, _edit, _write_seats, make_scenario

TIME_LIMIT_S = 60.0
"""A case that takes longer counts as a hang."""

# ------------------------------------------------------------------------ the scenarios

FULL_EXTRA = """
[settlements]
path = "data/places.geojson"
id_col = "code"
name_col = "name_zh"
names_col = "name_zh"

[network]
proxy_method = "gabriel"
circuity = 1.3

[typology]
population_raster = "data/pop.tif"
urban_density = 1500
cluster_density = 300
periurban_max_time_min = 30

[emissions]
people_mode = "car"
goods_mode = "road_freight"

[flows]
within_zone = "half_nearest"
context_flows = "cordon"

[flows.people.purposes.home_work]
trip_rate = 1.0
rate_source = "test"
attraction = "data/attraction.csv"
attraction_source = "test"

[flows.people.purposes.other]
trip_rate = 0.8
rate_source = "test"

[flows.goods]
supply_t_per_year = 1000.0
supply_weights = "data/goods.csv"
markets = "data/markets.csv"

[flows.ecosystem]
service = "drinking water"
sources = "data/sources.csv"
phases = "data/phases.csv"

[flows.capital]
eco_compensation = true
transfers = "data/transfers.csv"

[bus]
lines = "data/bus.csv"

[[strategies]]
name = "hub"
kind = "market_hub"
sites = ["331004"]
[strategies.params]
zone = "331004"
demand_weight = 2

[[packages]]
name = "both"
strategies = ["new-road", "hub"]

[costs]
discount_rate = 0.08
life_years = 30

[scoring.references]
co2_t_per_day = [2000.0, 500.0]
"""

UNCERTAINTY_EXTRA = """
[uncertainty]
samples = 8
weight_draws = 1
estimated_populations = true
[uncertainty.inputs]
"flows.goods.beta" = { low = 0.01, high = 0.04, source = "assumed" }
"population.331002" = { distribution = "normal", mean = 800000.0, sd = 1000.0 }
[uncertainty.inputs."strategies.new-road.params.speed_kph"]
distribution = "triangular"
low = 40.0
mode = 60.0
high = 80.0
"""
"""``[uncertainty]`` of the ``uncertain`` scenario (the full one with input samples): its
cases are validated only, since a run samples every strategy again."""

FULL_POPULATION = 'township_references = "data/refs.csv"\noverride = "data/override.csv"'
"""The full scenario's ``[population]`` keys: reference figures and an override table."""

FULL_TABLES = {
    "data/override.csv": "zone_id,population,population_source\n331003001,41000,test\n",
    "data/refs.csv": "code,population,district_total,use\n"
    "331003001,40000,700000,fit\n331003002,30000,700000,fit\n",
    "data/attraction.csv": "zone_id,weight\n331003001,5\n331003002,1\n331002,3\n331004,2\n",
    "data/goods.csv": "zone_id,weight,weight_source\n331003002,3,test\n331004,1,test\n",
    "data/markets.csv": "zone_id,demand_weight\n331003001,2\n331002,1\n",
    "data/sources.csv": "zone_id,role\n331003002,reservoir\n",
    "data/phases.csv": "phase,m3_per_day,users\n1,100000,331002;331004\n2,5000,331003001\n",
    "data/transfers.csv": "payer,payee,amount_yuan_per_year\n331002,331003002,100000\n"
    "331004,331003002,5000\n",
    "data/bus.csv": "line,stops,headway_min,speed_factor,fare_yuan,source\n"
    "1,331003002;331003001;331002,20,0.6,2,test\n2,331004;331003001,30,0.5,1,test\n",
    "data/ahp.csv": "group,row,col,value\n"
    "residents,co2_t_per_day,mean_time_to_hospital_min,1/2\n"
    "enterprises,co2_t_per_day,mean_time_to_hospital_min,3\n",
}


def _raster(path: Path, values: np.ndarray, **profile: Any) -> None:
    """Write a GeoTIFF over the tiny scenario's squares (or as ``profile`` says)."""
    base = {
        "driver": "GTiff",
        "height": values.shape[0],
        "width": values.shape[1],
        "count": 1,
        "dtype": "float32",
        "crs": "EPSG:4326",
        "nodata": -99999.0,
        "transform": Affine(0.01, 0.0, 120.99, 0.0, -0.01, 28.61),
    }
    base.update(profile)
    if base["crs"] is None:
        del base["crs"]
    if base["nodata"] is None:
        del base["nodata"]
    with rasterio.open(path, "w", **base) as dst:
        for band in range(1, base["count"] + 1):
            dst.write(values.astype(base["dtype"]), band)


def make_full(root: Path, *, extra: str = "") -> Path:
    """Write the ``full`` scenario (every reader of the Huangyan showcase) under ``root``."""
    scenario = make_scenario(root, strategies=True, extra=FULL_EXTRA + extra)
    _edit(scenario, "community_weight = 3.0", FULL_POPULATION)
    _edit(scenario, 'weights = "data/weights.csv"', 'ahp = "data/ahp.csv"')
    for name, text in FULL_TABLES.items():
        (root / name).write_text(text, encoding="utf-8")
    _write_seats(root / "data/places.geojson")
    _raster(root / "data/pop.tif", np.full((12, 32), 50.0))
    return scenario


# The Malta-style scenario: three councils (squares on Malta) in a PBF written here.
COUNCILS = (101, 102, 103)
"""Relation ids; 103 is tagged admin_level=7 and included by id (as Tarxien in Malta)."""

MALTA_SCENARIO = """\
name = "minimalta"
title = "Three councils (the inputs of the Malta showcase in miniature)"
seed = 7

[boundaries]
osm = "data/mini.osm.pbf"
admin_level = 8
include = [103]
focus = "MT"
focus_name = "Malta"

[population.dasymetric]
total = 30000
total_source = "test: a census total"

[flows.people]
beta = 0.1

[services]
path = "data/malta_services.csv"

[bus]
osm = "data/mini.osm.pbf"
operator = "Mini Transport"
exclude_refs = ["N1"]
headway_min = 30.0
headway_source = "assumption: 30 min"
fare_yuan = 0.0

[modes]
beta_time_per_min = -0.04
value_of_time_yuan_per_h = 76.0
target_shares = { car = 0.84, bus = 0.06, ebike = 0.022, walk = 0.078 }
shares_source = "test"

[[strategies]]
name = "tunnel"
kind = "add_link"
sites = ["osm:relation/101", "osm:relation/103"]
[strategies.params]
from = "osm:relation/101"
to = "osm:relation/103"
speed_kph = 80

[scoring]
weights = "data/malta_weights.csv"
smaa_samples = 200
"""

MALTA_TABLES = {
    "data/malta_services.csv": "zone_id,service,name,source\n"
    "osm:relation/101,district_centre,Valletta,OpenStreetMap\n"
    "osm:relation/102,hospital,Mater Dei,OpenStreetMap\n"
    "osm:relation/103,market,Market,OpenStreetMap\n",
    "data/malta_weights.csv": "group,label,indicator,points\n"
    "ministry,Ministry (illustrative),co2_t_per_day,40\n"
    "ministry,Ministry (illustrative),mean_time_to_hospital_min,60\n"
    "councils,Councils (illustrative),co2_t_per_day,70\n"
    "councils,Councils (illustrative),mean_time_to_hospital_min,30\n",
}


def malta_osm() -> dict[str, Any]:
    """The mini OSM file as plain data: nodes, ways and relations with their tags."""
    nodes: dict[int, dict[str, Any]] = {}
    ways: dict[int, dict[str, Any]] = {}
    relations: dict[int, dict[str, Any]] = {}
    nid = 1
    for k, rel in enumerate(COUNCILS):
        x0, y0 = 14.40 + 0.01 * k, 35.88

        def square(x: float, y: float, d: float, tags: dict[str, str], wid: int) -> None:
            nonlocal nid
            ring = []
            for dx, dy in ((0, 0), (d, 0), (d, d), (0, d)):
                nodes[nid] = {"loc": [x + dx, y + dy], "tags": {}}
                ring.append(nid)
                nid += 1
            ways[wid] = {"nodes": [*ring, ring[0]], "tags": tags}

        square(x0, y0, 0.01, {}, 1000 + k)
        relations[rel] = {
            "members": [["w", 1000 + k, "outer"]],
            "tags": {
                "type": "boundary",
                "boundary": "administrative",
                "admin_level": "7" if rel == 103 else "8",
                "name": f"Council {k + 1}",
            },
        }
        for b in range(2):  # two buildings per council
            square(
                x0 + 0.002 + 0.004 * b,
                y0 + 0.004,
                0.001,
                {"building": "yes", "building:levels": "2"},
                2000 + 10 * k + b,
            )
        nodes[500 + k] = {
            "loc": [x0 + 0.005, y0 + 0.002],
            "tags": {"highway": "bus_stop", "name": f"Stop {k + 1}"},
        }
    routes = {
        201: {"ref": "1", "interval": "00:20", "stops": [500, 501, 502]},
        202: {"ref": "1", "stops": [502, 501, 500]},  # the other direction
        203: {"ref": "N1", "stops": [500, 502]},  # a night route: excluded
        204: {"ref": "2", "stops": [501, 502]},
    }
    for rid, r in routes.items():
        tags = {"type": "route", "route": "bus", "operator": "Mini Transport", "ref": r["ref"]}
        if "interval" in r:
            tags["interval"] = r["interval"]
        relations[rid] = {"members": [["n", s, "stop"] for s in r["stops"]], "tags": tags}
    return {"nodes": nodes, "ways": ways, "relations": relations}


def _no_nul(tags: dict[str, str]) -> dict[str, str]:
    """Tags without NUL characters, which OSM cannot hold and pyosmium's writer crashes on.

    (A NUL in a tag makes ``osmium.SimpleWriter`` itself segfault, in the harness, before
    urlink reads anything; found by ``benchmarks/fuzz.py``.)
    """
    return {k.replace("\0", ""): v.replace("\0", "") for k, v in tags.items()}


def write_osm(path: Path, data: dict[str, Any]) -> None:
    """Write the plain data of :func:`malta_osm` as an ``.osm.pbf`` (sorted by id)."""
    writer = osmium.SimpleWriter(str(path))
    try:
        for i in sorted(data["nodes"]):
            node = data["nodes"][i]
            loc = node["loc"]
            location = osmium.osm.Location(*loc) if loc is not None else osmium.osm.Location()
            tags = _no_nul(node["tags"])
            writer.add_node(osmium.osm.mutable.Node(id=i, location=location, tags=tags))
        for i in sorted(data["ways"]):
            way = data["ways"][i]
            tags = _no_nul(way["tags"])
            writer.add_way(osmium.osm.mutable.Way(id=i, nodes=way["nodes"], tags=tags))
        for i in sorted(data["relations"]):
            rel = data["relations"][i]
            members = [tuple(m) for m in rel["members"]]
            writer.add_relation(
                osmium.osm.mutable.Relation(id=i, members=members, tags=_no_nul(rel["tags"]))
            )
    finally:
        writer.close()


def make_malta(root: Path) -> Path:
    """Write the ``malta`` scenario (the Malta showcase's inputs in miniature)."""
    data = root / "data"
    data.mkdir(parents=True, exist_ok=True)
    write_osm(data / "mini.osm.pbf", malta_osm())
    for name, text in MALTA_TABLES.items():
        (root / name).write_text(text, encoding="utf-8")
    path = root / "minimalta.toml"
    path.write_text(MALTA_SCENARIO, encoding="utf-8")
    return path


def _make_tiny(root: Path) -> Path:
    return make_scenario(root, strategies=True)


def _make_uncertain(root: Path) -> Path:
    return make_full(root, extra=UNCERTAINTY_EXTRA)


def _full_text(extra: str = "") -> str:
    return (
        (SCENARIO + STRATEGIES + FULL_EXTRA + extra)
        .replace("community_weight = 3.0", FULL_POPULATION)
        .replace('weights = "data/weights.csv"', 'ahp = "data/ahp.csv"')
    )


MAKERS = {
    "tiny": _make_tiny,
    "full": make_full,
    "uncertain": _make_uncertain,
    "malta": make_malta,
}
SCENARIO_FILES = {
    "tiny": "tiny.toml",
    "full": "tiny.toml",
    "uncertain": "tiny.toml",
    "malta": "minimalta.toml",
}
BASES: dict[str, dict[str, Any]] = {
    "tiny": tomllib.loads(SCENARIO + STRATEGIES),
    "full": tomllib.loads(_full_text()),
    "uncertain": tomllib.loads(_full_text(UNCERTAINTY_EXTRA)),
    "malta": tomllib.loads(MALTA_SCENARIO),
}
BASE = BASES["tiny"]

TABLES = {
    "data/pop.csv": ["zone_id", "population", "population_source"],
    "data/units.csv": ["code", "n_communities", "n_villages", "n_other"],
    "data/services.csv": ["zone_id", "service"],
    "data/weights.csv": ["group", "indicator", "points"],
}
"""The tables of the ``tiny`` scenario and their columns."""


def _header(text: str) -> list[str]:
    return text.split("\n", 1)[0].split(",")


SCENARIO_TABLES: dict[str, dict[str, list[str]]] = {
    "tiny": TABLES,
    "full": {
        **{k: v for k, v in TABLES.items() if k != "data/weights.csv"},
        **{name: _header(text) for name, text in FULL_TABLES.items()},
    },
    "malta": {name: _header(text) for name, text in MALTA_TABLES.items()},
}
LAYERS = ("data/zones.geojson", "data/seats.geojson")
SCENARIO_LAYERS = {"tiny": LAYERS, "full": (*LAYERS, "data/places.geojson"), "malta": ()}
RASTER = "data/pop.tif"
OSM = "data/mini.osm.pbf"


# ------------------------------------------------------------------------ TOML writing


def _toml_value(value: Any) -> str:  # noqa: PLR0911 - one return per TOML type
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a valid TOML basic string
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        items = (f"{json.dumps(k)} = {_toml_value(v)}" for k, v in value.items())
        return "{" + ", ".join(items) + "}"
    raise TypeError(value)


def to_toml(data: dict[str, Any]) -> str:
    """Write a dict as TOML (inline tables)."""
    return "".join(f"{json.dumps(k)} = {_toml_value(v)}\n" for k, v in data.items())


# ------------------------------------------------------------------------ strategies

COMMANDS = st.sampled_from(
    ["validate", "validate", "validate", "validate", "run", "map", "weights-template"]
)
"""Most cases are validated (every reader runs); one in four is run and written."""

WORDS = [
    "", " ", "x", "331003", "331002", "331003001", "331009", "gravity", "add_link", "wgs84",
    "gcj02", "all", "touching", "unknown", "data/zones.geojson", "data/pop.csv", "data",
    "/dev/zero", "/nonexistent", "../../etc/passwd", "<script>alert(1)</script>", "{{x}}",
    "javascript:x", "黄岩区", "\u0000", "\x1b[31m", "a" * 300, "postgresql://u:p@h/db",
    "data/pop.tif", "data/mini.osm.pbf", "data/bus.csv", "osm:relation/101", "Mini Transport",
    "N1", "MT", "fit",
]  # fmt: skip
NUMBERS = [0, -1, 1, 2**63 - 1, -(2**63), 10**18, 0.0, -0.0, 1e-300, 1e300, -1e300, 1e308,
           math.inf, -math.inf, math.nan, 0.5, 100, 2**32, 7, 8, 13]  # fmt: skip


def _leaves() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.sampled_from(WORDS),
        st.sampled_from(NUMBERS),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=12),
    )


KEYS = st.sampled_from(["a", "from", "to", "name", "kind", "x", "optional", "car", "bus"])


def toml_values() -> st.SearchStrategy[Any]:
    """Any value a TOML file can hold (no dates), nested a little."""
    return st.recursive(
        _leaves(),
        lambda inner: st.one_of(
            st.lists(inner, max_size=4),
            st.dictionaries(KEYS, inner, max_size=3),
        ),
        max_leaves=8,
    )


def _paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out: list[tuple[Any, ...]] = []
    items = data.items() if isinstance(data, dict) else enumerate(data)
    for key, value in items:
        out.append((*prefix, key))
        if isinstance(value, dict | list):
            out += _paths(value, (*prefix, key))
    return out


PATHS = _paths(BASE)
SCENARIO_PATHS = {name: _paths(base) for name, base in BASES.items()}
SCENARIO_PATHS["uncertain"] = [p for p in SCENARIO_PATHS["uncertain"] if p[0] == "uncertainty"]


@dataclass(frozen=True)
class Case:
    """One hostile input: what is broken, how, which command reads it, in which scenario."""

    command: str
    target: str
    op: str
    where: Any
    value: Any
    scenario: str = "tiny"

    def describe(self) -> str:
        """Return the case as one line of JSON (for the failures file)."""
        keys = ("scenario", "command", "target", "op", "where", "value")
        return json.dumps(
            {k: getattr(self, k) for k in keys},
            default=repr,
            ensure_ascii=True,
        )


@st.composite
def toml_cases(draw: st.DrawFn, scenario: str = "tiny") -> Case:
    """A scenario with one key replaced, removed or added, or deeply nested."""
    op = draw(st.sampled_from(["replace", "replace", "replace", "delete", "add", "nest", "text"]))
    path = draw(st.sampled_from(SCENARIO_PATHS[scenario]))
    value: Any = None
    if op in ("replace", "add"):
        value = draw(toml_values())
    elif op == "nest":
        value = draw(st.integers(min_value=1, max_value=3000))
    elif op == "text":
        value = draw(st.text(max_size=40))
    command = "validate" if scenario == "uncertain" else draw(COMMANDS)
    return Case(command, SCENARIO_FILES[scenario], op, list(path), value, scenario)


CELLS = ["", " ", "nan", "NaN", "inf", "-inf", "-1", "0", "1e300", "1e-300", "1e400", "abc",
         "<b>x</b>", "1,000", '"', "331003", "331002", "331003001", "\t", "9" * 400, "true",
         "0x10", "1_000", "١٢٣", "residents", "co2_t_per_day", "1/3", "1/0", "0/0", "-1/3",
         "9", "1/9", "331003001;331004", ";", "331002;331002", "331009", "fit", "check",
         "osm:relation/101", "osm:relation/999", "mean_time_to_hospital_min", "1e15",
         "1e16", "2e9", "3e9", "0.0001", "100", "1.5"]  # fmt: skip


TABLE_OPS = ["cell", "cell", "cell", "header_only", "drop_column", "rename_column",
             "extra_row", "bytes", "duplicate_row", "all_nan"]  # fmt: skip


@st.composite
def table_cases(draw: st.DrawFn, scenario: str = "tiny") -> Case:
    """An input table with a cell, a column, its rows or its bytes broken."""
    tables = SCENARIO_TABLES[scenario]
    target = draw(st.sampled_from(sorted(tables)))
    op = draw(st.sampled_from(TABLE_OPS))
    where: Any = None
    value: Any = None
    if op in ("cell", "all_nan"):
        where = [draw(st.integers(0, 3)), draw(st.sampled_from(tables[target]))]
        value = draw(st.one_of(st.sampled_from(CELLS), st.text(max_size=15)))
    elif op in ("drop_column", "rename_column"):
        where = draw(st.sampled_from(tables[target]))
        value = draw(st.sampled_from(["", "x", tables[target][0], "zone_id ", "人口"]))
    elif op == "extra_row":
        value = draw(st.text(max_size=30))
    elif op == "bytes":
        value = draw(st.binary(max_size=30)).hex()
    command = draw(COMMANDS)
    return Case(command, target, op, where, value, scenario)


GEOMETRIES = [
    {"type": "Point", "coordinates": [121.0, 28.5]},
    {"type": "Polygon", "coordinates": []},
    {"type": "Polygon", "coordinates": [[[121, 28.5], [121.1, 28.5], [121, 28.5]]]},
    {"type": "Polygon", "coordinates": [[[179.9, 28.5], [-179.9, 28.5], [-179.9, 28.6],
                                         [179.9, 28.6], [179.9, 28.5]]]},
    {"type": "GeometryCollection", "geometries": []},
    {"type": "LineString", "coordinates": [[121, 28.5], [121.1, 28.6]]},
    {"type": "Polygon", "coordinates": [[[121, 28.5], [121.1, 28.6], [121.1, 28.5],
                                         [121, 28.6], [121, 28.5]]]},
    {"type": "Polygon", "coordinates": [[[-180, -90], [180, -90], [180, 90], [-180, 90],
                                         [-180, -90]]]},
    {"type": "Nonsense", "coordinates": 5},
    {"type": "MultiPoint", "coordinates": [[121.03, 28.55], [121.2, 28.55]]},
    {"type": "Point", "coordinates": [121.03]},
    {"type": "Point", "coordinates": [121.03, 28.55, 5, 7]},
]  # fmt: skip


@st.composite
def geojson_cases(draw: st.DrawFn, scenario: str = "tiny") -> Case:
    """A GeoJSON layer with a coordinate, geometry, property or its text broken."""
    target = draw(st.sampled_from(SCENARIO_LAYERS[scenario]))
    op = draw(st.sampled_from(["coordinate", "coordinate", "geometry", "property", "features",
                               "text", "crs"]))  # fmt: skip
    where: Any = draw(st.integers(0, 2))
    value: Any
    if op == "coordinate":
        value = draw(st.one_of(st.sampled_from(NUMBERS), st.floats(-400, 400)))
    elif op == "geometry":
        value = draw(st.one_of(st.none(), st.sampled_from(GEOMETRIES)))
    elif op == "property":
        where = [where, draw(st.sampled_from(["adcode", "code", "name_zh", "name_en"]))]
        value = draw(toml_values())
    elif op == "features":
        value = draw(st.sampled_from(["none", "duplicate", "drop", "not_a_list", "no_key"]))
    elif op == "crs":
        value = draw(st.sampled_from(["EPSG:32651", "EPSG:4490", "nonsense", 5, None]))
    else:
        value = draw(st.text(max_size=40))
    command = draw(COMMANDS)
    return Case(command, target, op, where, value, scenario)


RASTER_CELLS = [0.0, -1.0, -99999.0, 1e38, -1e38, 3e38, math.nan, math.inf, -math.inf, 50.0,
                1e-38, 2e9]  # fmt: skip
CRSS = [None, "EPSG:4326", "EPSG:32651", "EPSG:3857", "EPSG:4490", "EPSG:2154",
        'LOCAL_CS["engineering",UNIT["metre",1]]']  # fmt: skip
RASTER_OPS = ["cells", "cells", "nodata", "crs", "shape", "transform", "dtype", "bands",
              "bytes", "huge", "text"]  # fmt: skip


@st.composite
def raster_cases(draw: st.DrawFn) -> Case:
    """A population raster (``[typology] population_raster``) broken one way."""
    op = draw(st.sampled_from(RASTER_OPS))
    where: Any = None
    value: Any = None
    if op == "cells":
        where = draw(st.sampled_from(["one", "row", "half", "all"]))
        value = draw(st.one_of(st.sampled_from(RASTER_CELLS), st.floats(allow_nan=True)))
    elif op == "nodata":
        value = draw(st.sampled_from([None, math.nan, 0.0, 50.0, 1e38, -99999.0, math.inf]))
        where = draw(st.booleans())  # also put undeclared sentinels in the cells
    elif op == "crs":
        value = draw(st.sampled_from(CRSS))
    elif op == "shape":  # tiny rasters, over the squares or not
        value = [draw(st.integers(1, 3)), draw(st.integers(1, 3))]
        where = draw(st.sampled_from([0.1, 0.01, 1.0, 100.0]))  # cell size in degrees
    elif op == "transform":
        value = draw(st.sampled_from([
            [0.01, 0.0, 0.0, 0.0, -0.01, 0.0],  # far from the zones
            [0.01, 0.0, 120.99, 0.0, 0.01, 28.49],  # rows upwards
            [0.01, 0.002, 120.99, 0.001, -0.01, 28.61],  # rotated
            [1e-9, 0.0, 120.99, 0.0, -1e-9, 28.61],  # cells of a millimetre
            [1e6, 0.0, -5e6, 0.0, -1e6, 5e6],  # cells larger than the earth
            [0.01, 0.0, 500.0, 0.0, -0.01, 28.61],  # beyond 180 degrees
        ]))  # fmt: skip
    elif op == "dtype":
        value = draw(st.sampled_from(["uint8", "int16", "int32", "float64", "complex64"]))
    elif op == "bands":
        value = draw(st.integers(2, 4))
    elif op == "bytes":
        where = draw(st.sampled_from(["cut", "insert"]))
        value = draw(st.binary(max_size=30)).hex()
    elif op == "huge":  # declared dimensions far beyond the data (a sparse GeoTIFF)
        value = draw(st.sampled_from([100_000, 400_000, 1_000_000]))
    else:
        value = draw(st.text(max_size=40))
    command = draw(COMMANDS)
    return Case(command, RASTER, op, where, value, "full")


OSM_TAGS = ["admin_level", "boundary", "type", "name", "interval", "operator", "ref", "route",
            "building", "building:levels", "landuse"]  # fmt: skip
OSM_VALUES = ["", "8", "7", "0", "-1", "99", "1e300", "nan", "yes", "no", "residential",
              "administrative", "bus", "Mini Transport", "N1", "1", "00:00", "0", "-5",
              "24:00:00", "99999:00", "0:0:1", "nan:nan", "inf", "1e308", ";", "20; 30",
              "<script>x</script>", "{{x}}", "a" * 300, "黄岩"]  # fmt: skip


@st.composite
def osm_cases(draw: st.DrawFn) -> Case:
    """The Malta-style OSM file with a tag, node, member or its bytes broken."""
    op = draw(st.sampled_from(["tag", "tag", "tag", "drop_tag", "location", "member",
                               "drop", "bytes"]))  # fmt: skip
    kind = draw(st.sampled_from(["nodes", "ways", "relations"]))
    where: Any = [kind, draw(st.integers(0, 30))]
    value: Any = None
    if op in ("tag", "drop_tag"):
        where.append(draw(st.sampled_from(OSM_TAGS)))
        value = draw(st.one_of(st.sampled_from(OSM_VALUES), st.text(max_size=10)))
    elif op == "location":
        where = ["nodes", where[1], draw(st.integers(0, 1))]
        value = draw(st.one_of(st.sampled_from([0.0, 180.0, -180.0, 90.0, -90.0, 14.41,
                                                35.885, None]),
                               st.floats(-180, 180)))  # fmt: skip
    elif op == "member":
        where = ["relations", where[1]]
        value = draw(st.sampled_from(["drop", "role", "missing", "self", "type"]))
    elif op == "bytes":
        where = draw(st.sampled_from(["cut", "insert"]))
        value = draw(st.binary(max_size=30)).hex()
    command = draw(COMMANDS)
    return Case(command, OSM, op, where, value, "malta")


GENERATORS: dict[str, Any] = {
    "toml": lambda: toml_cases("tiny"),
    "tables": lambda: table_cases("tiny"),
    "geojson": lambda: geojson_cases("tiny"),
    "full_toml": lambda: toml_cases("full"),
    "uncertainty_toml": lambda: toml_cases("uncertain"),
    "full_tables": lambda: table_cases("full"),
    "places": lambda: geojson_cases("full"),
    "raster": raster_cases,
    "malta_toml": lambda: toml_cases("malta"),
    "malta_tables": lambda: table_cases("malta"),
    "malta_osm": osm_cases,
}
"""Every generator by name (``benchmarks/fuzz.py --generator``)."""


def any_case() -> st.SearchStrategy[Case]:
    """Any hostile input for any reader."""
    return st.one_of(*(make() for make in GENERATORS.values()))


# ------------------------------------------------------------------------ applying a case


def _set(data: Any, path: list[Any], value: Any) -> None:
    for key in path[:-1]:
        data = data[key]
    data[path[-1]] = value


def _delete(data: Any, path: list[Any]) -> None:
    for key in path[:-1]:
        data = data[key]
    del data[path[-1]]


def _apply_toml(root: Path, case: Case) -> None:
    path = root / case.target
    data = json.loads(json.dumps(BASES[case.scenario]))  # a deep copy
    if case.op == "replace":
        _set(data, case.where, case.value)
    elif case.op == "delete":
        _delete(data, case.where)
    elif case.op == "add":
        parent = case.where[:-1]
        target = data
        for key in parent:
            target = target[key]
        if isinstance(target, dict):
            target["zz_added"] = case.value
        else:
            target.append(case.value)
    elif case.op == "nest":
        _set(data, case.where, "@NEST@")
    if case.op == "nest":  # written as text: deeper than any writer (or reader) recursion
        nest = "[" * case.value + "1" + "]" * case.value
        path.write_text(to_toml(data).replace('"@NEST@"', nest), encoding="utf-8")
        return
    if case.op == "text":
        text = to_toml(data)
        cut = len(text) // 2
        path.write_text(text[:cut] + case.value + text[cut:], encoding="utf-8")
        return
    path.write_text(to_toml(data), encoding="utf-8")


def _apply_table(root: Path, case: Case) -> None:
    path = root / case.target
    lines = path.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    if case.op == "cell":
        row, col = case.where
        row = 1 + row % (len(lines) - 1)
        cells = lines[row].split(",")
        cells[header.index(col)] = case.value
        lines[row] = ",".join(cells)
    elif case.op == "all_nan":  # every cell of one column empty (NaN)
        i = header.index(case.where[1])
        for n in range(1, len(lines)):
            cells = lines[n].split(",")
            cells[i] = ""
            lines[n] = ",".join(cells)
    elif case.op == "header_only":
        lines = lines[:1]
    elif case.op in ("drop_column", "rename_column"):
        i = header.index(case.where)
        for n, line in enumerate(lines):
            cells = line.split(",")
            if case.op == "drop_column":
                del cells[i]
            elif n == 0:
                cells[i] = case.value
            lines[n] = ",".join(cells)
    elif case.op == "extra_row":
        lines.append(case.value)
    elif case.op == "duplicate_row":
        lines.append(lines[-1])
    if case.op == "bytes":
        data = path.read_bytes()
        cut = len(data) // 2
        path.write_bytes(data[:cut] + bytes.fromhex(case.value) + data[cut:])
        return
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _apply_geojson(root: Path, case: Case) -> None:  # noqa: PLR0912 - one branch per op
    path = root / case.target
    data = json.loads(path.read_text(encoding="utf-8"))
    features = data["features"]
    i = case.where if isinstance(case.where, int) else case.where[0]
    feature = features[i % len(features)]
    if case.op == "coordinate":
        coords = feature["geometry"]["coordinates"]
        while isinstance(coords[0], list):
            coords = coords[0]
        coords[1 if i % 2 else 0] = case.value
    elif case.op == "geometry":
        feature["geometry"] = case.value
    elif case.op == "property":
        if case.where[1] in feature["properties"]:
            feature["properties"][case.where[1]] = case.value
    elif case.op == "features":
        if case.value == "none":
            data["features"] = []
        elif case.value == "duplicate":
            features.append(feature)
        elif case.value == "drop":
            features.remove(feature)
        elif case.value == "not_a_list":
            data["features"] = {"a": feature}
        else:
            del data["features"]
    elif case.op == "crs":
        data["crs"] = {"type": "name", "properties": {"name": case.value}}
    text = json.dumps(data, ensure_ascii=False)  # NaN and Infinity as JavaScript writes them
    if case.op == "text":
        cut = len(text) // 2
        text = text[:cut] + case.value + text[cut:]
    path.write_text(text, encoding="utf-8")


def _insert_bytes(path: Path, where: str, hexed: str) -> None:
    data = path.read_bytes()
    cut = len(data) // 2
    tail = data[cut:] if where == "insert" else b""
    path.write_bytes(data[:cut] + bytes.fromhex(hexed) + tail)


def _apply_raster(root: Path, case: Case) -> None:  # noqa: PLR0912 - one branch per op
    path = root / case.target
    values = np.full((12, 32), 50.0)
    profile: dict[str, Any] = {}
    if case.op == "cells":
        if case.where == "one":
            values[3, 3] = case.value
        elif case.where == "row":
            values[5, :] = case.value
        elif case.where == "half":
            values[:, 16:] = case.value
        else:
            values[:] = case.value
        profile["dtype"] = "float64"  # keeps 3e38 and tiny numbers as written
    elif case.op == "nodata":
        profile["nodata"] = case.value
        if case.where:
            values[:, 25:] = -99999.0
    elif case.op == "crs":
        profile["crs"] = case.value
    elif case.op == "shape":
        rows, cols = case.value
        values = np.full((rows, cols), 50.0)
        d = case.where
        profile["transform"] = Affine(d, 0.0, 120.99, 0.0, -d, 28.61)
    elif case.op == "transform":
        profile["transform"] = Affine(*case.value)
    elif case.op == "dtype":
        profile["dtype"] = case.value
        if not case.value.startswith("float"):
            profile["nodata"] = None  # -99999 is beyond uint8; complex nodata is not GeoTIFF
    elif case.op == "bands":
        profile["count"] = case.value
    elif case.op == "huge":  # sparse: the file is small, the declared grid is not
        n = case.value
        size = 0.4 / n  # the grid still spans the squares: each zone covers n/4 x n/4 cells
        with rasterio.open(
            path, "w", driver="GTiff", height=n, width=n, count=1, dtype="float32",
            crs="EPSG:4326", nodata=-99999.0, tiled=True, sparse_ok=True, blockxsize=1024,
            blockysize=1024,
            transform=Affine(size, 0.0, 120.99, 0.0, -size, 28.61),
        ) as dst:  # fmt: skip
            dst.write(np.full((16, 16), 50.0, dtype="float32"), 1,
                      window=rasterio.windows.Window(0, 0, 16, 16))  # fmt: skip
        return
    _raster(path, values, **profile)
    if case.op == "bytes":
        _insert_bytes(path, case.where, case.value)
    elif case.op == "text":
        path.write_text(case.value, encoding="utf-8")


def _apply_osm(root: Path, case: Case) -> None:  # noqa: PLR0912 - one branch per op
    path = root / case.target
    data = malta_osm()
    if case.op == "bytes":
        _insert_bytes(path, case.where, case.value)
        return
    kind, i = case.where[0], case.where[1]
    ids = sorted(data[kind])
    element = data[kind][ids[i % len(ids)]]
    if case.op == "tag":
        element["tags"][case.where[2]] = case.value
    elif case.op == "drop_tag":
        element["tags"].pop(case.where[2], None)
    elif case.op == "location":
        if case.value is None:
            element["loc"] = None
        else:
            element["loc"][case.where[2]] = case.value
    elif case.op == "member":
        members = element["members"]
        if case.value == "drop":
            members.pop()
        elif case.value == "role":
            members[0][2] = "inner" if members[0][0] == "w" else "platform"
        elif case.value == "missing":
            members[0][1] = 99999
        elif case.value == "self":
            members.append(["r", ids[i % len(ids)], ""])
        else:
            members[0][0] = "w" if members[0][0] == "n" else "n"
    elif case.op == "drop":
        del data[kind][ids[i % len(ids)]]
        for way in data["ways"].values():  # ways keep only nodes that exist
            way["nodes"] = [n for n in way["nodes"] if n in data["nodes"]] or way["nodes"]
    path.unlink()  # pyosmium does not overwrite
    write_osm(path, data)


def apply_case(root: Path, case: Case) -> Path:
    """Write the case's scenario under ``root`` with ``case`` applied; return the scenario."""
    scenario = MAKERS[case.scenario](root)
    if case.target.endswith(".toml"):
        _apply_toml(root, case)
    elif case.target.endswith(".csv"):
        _apply_table(root, case)
    elif case.target == RASTER:
        _apply_raster(root, case)
    elif case.target == OSM:
        _apply_osm(root, case)
    else:
        _apply_geojson(root, case)
    return scenario


# ------------------------------------------------------------------------ running a case


class Hang(BaseException):
    """A case ran past :data:`TIME_LIMIT_S` (a BaseException, so urlink cannot catch it)."""


def _alarm(signum: int, frame: Any) -> None:
    raise Hang


def run_case(root: Path, case: Case) -> tuple[int, str]:
    """Apply ``case`` under ``root`` and run its command in-process: (exit code, stderr)."""
    scenario = apply_case(root, case)
    argv = [case.command, str(scenario), "-q"]
    if case.command in ("run", "map"):
        argv += ["--out", str(root / "out")]
    elif case.command == "weights-template":
        argv += ["--out", str(root / "form.csv")]
    err = io.StringIO()
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, TIME_LIMIT_S)
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            code = main(argv)
    except Hang:
        code = -1
        err.write(f"\nHANG: more than {TIME_LIMIT_S} s\n")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    return code, err.getvalue()


def violation(code: int, err: str) -> str | None:
    """What breaks the invariant (exit 0 or 2, no traceback, no hang), or None."""
    if code == -2:  # benchmarks/fuzz.py: the case could not be written
        return "harness"
    if code == -1:
        return "hang"
    if code not in (0, 2):
        return f"exit code {code}"
    if "Traceback" in err or "internal error" in err:
        return "traceback"
    if code == 2 and not any(line.startswith("urlink: error:") for line in err.splitlines()):
        return "exit 2 without a message"
    return None
