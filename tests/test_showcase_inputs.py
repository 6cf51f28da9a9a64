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
    if name != "data/tables/huangyan_stakeholder_weights.csv":  # the form's own reader
        assert needle in err, err


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
