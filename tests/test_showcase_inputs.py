"""Every input file of the Huangyan showcase, broken, ends in exit 2 naming that file (#19).

Each CSV table is cut to its header and each GeoJSON layer is given a feature whose geometry
is missing; ``urlink validate`` must stop with one message naming the file, no traceback.
(The Malta showcase lives on another branch; its inputs join this list when it is merged.)
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
