"""Every input file of both showcases, broken, ends in exit 2 naming that file (#19).

Each CSV table is cut to its header and each GeoJSON layer is given a feature whose geometry
is missing; ``urlink validate`` must stop with one message naming the file, no traceback.
The Malta showcase (inputs: a PBF and two tables) is checked the same way, its tables at
the reader (reading the PBF first would take most of a minute per case).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from urlink.cli import main
from urlink.scenario.spec import load_scenario

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "huangyan.toml"
INPUTS = sorted(
    p.relative_to(ROOT).as_posix()
    for p in load_scenario(SCENARIO).input_files()
    if p.suffix in (".csv", ".geojson")
)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("showcase")
    shutil.copytree(ROOT / "data", root / "data")
    shutil.copytree(ROOT / "scenarios", root / "scenarios")
    return root


def test_every_input_is_listed():
    assert len(INPUTS) >= 12
    assert "data/tables/changtan_sources.csv" in INPUTS


@pytest.mark.parametrize("name", INPUTS)
def test_each_broken_input_is_named(workdir, capsys, name):
    path = workdir / name
    before = path.read_bytes()
    if path.suffix == ".csv":
        path.write_text(before.decode("utf-8-sig").splitlines()[0] + "\n", encoding="utf-8")
        needle = "no data rows"
    else:
        data = json.loads(before)
        data["features"][0]["geometry"] = None
        path.write_text(json.dumps(data), encoding="utf-8")
        needle = "geometry"
    try:
        code = main(["validate", str(workdir / "scenarios/huangyan.toml"), "-q"])
        err = capsys.readouterr().err
    finally:
        path.write_bytes(before)
    assert code == 2, err
    assert "Traceback" not in err
    assert path.name in err, err
    assert needle in err, err  # the points form too goes through its TableSchema


BAD_VALUES = {
    # input table: (column, bad value, what the message says of it)
    "data/tables/county_population_2020.csv": ("population", "-5", "(persons) must be"),
    "data/tables/huangyan_townships_nbs2023.csv": ("n_villages", "-2", "(units) must be"),
    "data/tables/huangyan_township_population_refs.csv": ("population", "many", "(persons)"),
    "data/tables/huangyan_mandarin_weights.csv": ("weight", "-3", "(share weight) must be"),
    "data/tables/huangyan_mandarin_markets.csv": ("demand_weight", "lots", "(share weight)"),
    "data/tables/changtan_sources.csv": ("zone_id", "", "is empty on line(s) [2]"),
    "data/tables/changtan_supply_phases.csv": ("m3_per_day", "-100", "(m3/day) must be"),
    "data/tables/huangyan_bus_lines.csv": ("speed_factor", "1.5", "(bus/car speed) must be"),
    "data/tables/huangyan_services.csv": ("service", "<b>x</b>", "markup"),
    "data/tables/huangyan_stakeholder_weights.csv": ("points", "-10", "(points) must be"),
}


def _set_cell(path: Path, column: str, value: str) -> None:
    """Write ``value`` into ``column`` of the first data row (quoting kept by pandas)."""
    table = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    table.loc[0, column] = value
    table.to_csv(path, index=False, encoding="utf-8")


def test_every_table_has_a_bad_value_case():
    assert set(BAD_VALUES) == {name for name in INPUTS if name.endswith(".csv")}


@pytest.mark.parametrize("name", sorted(BAD_VALUES))
def test_a_bad_value_in_each_table_is_named_by_its_schema(workdir, capsys, name):
    """Each table of the showcase refuses a bad cell naming the file, column and value."""
    path = workdir / name
    before = path.read_bytes()
    column, value, needle = BAD_VALUES[name]
    _set_cell(path, column, value)
    try:
        code = main(["validate", str(workdir / "scenarios/huangyan.toml"), "-q"])
        err = capsys.readouterr().err
    finally:
        path.write_bytes(before)
    assert code == 2, err
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if line.startswith("urlink: error:")]
    assert len(errors) == 1, err
    assert path.name in errors[0] and f"'{column}'" in errors[0], errors[0]
    assert needle in errors[0], errors[0]
    if value:
        assert repr(value) in errors[0] or value in errors[0], errors[0]


# ------------------------------------------------------------------ the Malta showcase

MALTA = ROOT / "scenarios" / "malta.toml"


@pytest.fixture(scope="module")
def malta(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("malta")
    (root / "scenarios").mkdir()
    shutil.copy(MALTA, root / "scenarios")
    for p in load_scenario(MALTA).input_files():
        if p.suffix in (".csv", ".pbf") and not (root / p.relative_to(ROOT)).exists():
            (root / p.relative_to(ROOT)).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(p, root / p.relative_to(ROOT))
    return root / "scenarios" / "malta.toml"


def test_malta_inputs_are_all_covered():
    names = {p.name for p in load_scenario(MALTA).input_files()} - {"malta.toml"}
    assert names == {"malta.osm.pbf", "malta_services.csv", "malta_stakeholder_weights.csv"}


def test_malta_truncated_pbf_is_named(malta, capsys):
    pbf = malta.parents[1] / "data/osm/malta.osm.pbf"
    before = pbf.read_bytes()
    pbf.write_bytes(before[:100_000])
    try:
        code = main(["validate", str(malta), "-q"])
    finally:
        pbf.write_bytes(before)
    err = capsys.readouterr().err
    assert code == 2 and "malta.osm.pbf" in err and "Traceback" not in err, err


def test_malta_bad_points_are_named_by_the_forms_schema(malta, capsys):
    """The points form is read first, so ``urlink validate`` stops before the PBF."""
    path = malta.parents[1] / "data/tables/malta_stakeholder_weights.csv"
    before = path.read_bytes()
    _set_cell(path, "points", "250")
    try:
        code = main(["validate", str(malta), "-q"])
    finally:
        path.write_bytes(before)
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err, err
    assert "malta_stakeholder_weights.csv', line 2" in err, err
    assert "column 'points' (points) must be a finite number >= 0 and <= 100" in err, err
    assert "{2: '250'}" in err, err


@pytest.mark.parametrize(
    ("column", "value", "needle"),
    [
        ("service", "<script>x</script>", "markup"),
        ("zone_id", "", "column 'zone_id' is empty on line(s) [2]"),
    ],
)
def test_malta_bad_services_are_named_by_the_schema(malta, column, value, needle):
    """At the reader (reading the PBF first would take most of a minute per case)."""
    from urlink.errors import InputError
    from urlink.scenario.build import services_from_scenario

    path = malta.parents[1] / "data/tables/malta_services.csv"
    before = path.read_bytes()
    _set_cell(path, column, value)
    try:
        with pytest.raises(InputError, match=r"malta_services\.csv") as err:
            services_from_scenario(load_scenario(malta), None)  # type: ignore[arg-type]
    finally:
        path.write_bytes(before)
    assert needle in str(err.value)


@pytest.mark.parametrize("name", ["malta_services.csv", "malta_stakeholder_weights.csv"])
def test_malta_header_only_tables_are_named(malta, name):
    from urlink.errors import InputError
    from urlink.scenario.build import services_from_scenario, weights_from_scenario

    path = malta.parents[1] / "data/tables" / name
    before = path.read_bytes()
    path.write_text(before.decode("utf-8-sig").splitlines()[0] + "\n", encoding="utf-8")
    scenario = load_scenario(malta)
    try:
        with pytest.raises(InputError, match=name.replace(".", r"\.")):
            if name == "malta_services.csv":
                services_from_scenario(scenario, None)
            else:
                weights_from_scenario(scenario)
    finally:
        path.write_bytes(before)
