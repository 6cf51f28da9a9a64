"""Optional inputs (#19): an empty table is an error unless the scenario marks it optional.

"Header-only and all-NaN tables are errors unless the input is optional and the scenario
says so." A section that names input tables ([bus], [flows.goods], [flows.ecosystem],
[flows.capital]) may say ``optional = true``: its table with a header and no rows, or with
every number empty, then leaves the section out of the run with a warning naming the file
and the indicators dropped; the same table without the key stays an error. Runs the
``full`` scenario of ``tests/fuzzing.py``, which has every one of these sections.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from urlink.cli import main
from urlink.scenario.build import OPTIONAL_INDICATORS
from urlink.scenario.spec import OPTIONAL_SECTIONS, load_scenario

from .fuzzing import make_full
from .test_bad_inputs import _edit, fails, succeeds

SECTIONS = {
    # section: (the line the key goes after, the table emptied, its name in messages)
    "bus": ('lines = "data/bus.csv"', "data/bus.csv", "bus lines table"),
    "flows.goods": ("supply_t_per_year = 1000.0", "data/markets.csv", "goods markets"),
    "flows.ecosystem": ('service = "drinking water"', "data/phases.csv", "ecosystem phases"),
    "flows.capital": ("eco_compensation = true", "data/transfers.csv", "capital transfers"),
}


def _scenario(root: Path, section: str, *, optional: bool, how: str = "header") -> Path:
    scenario = make_full(root)
    anchor, table, _ = SECTIONS[section]
    if optional:
        _edit(scenario, anchor, f"{anchor}\noptional = true")
    path = root / table
    lines = path.read_text(encoding="utf-8").splitlines()
    if how == "header":
        lines = lines[:1]
    else:  # every number column empty on every row (all NaN)
        header = lines[0].split(",")
        numbers = {"m3_per_day", "demand_weight", "amount_yuan_per_year", "headway_min",
                   "speed_factor", "fare_yuan"}  # fmt: skip
        for n in range(1, len(lines)):
            cells = zip(header, lines[n].split(","), strict=True)
            lines[n] = ",".join("" if h in numbers else c for h, c in cells)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return scenario


def _district(out: Path) -> pd.Series:
    ind = pd.read_csv(out / "indicators.csv")
    rows = ind[(ind["scope"] == "district") & (ind["strategy"] == "baseline")]
    return rows.set_index("indicator")["value"]


@pytest.fixture(scope="module")
def full_run(tmp_path_factory) -> pd.Series:
    """The district indicators of the full scenario with every table in place."""
    root = tmp_path_factory.mktemp("full")
    scenario = make_full(root)
    assert main(["run", str(scenario), "--out", str(root / "out"), "-q"]) == 0
    return _district(root / "out")


def test_every_optional_section_is_tested():
    assert set(SECTIONS) == set(OPTIONAL_SECTIONS) == set(OPTIONAL_INDICATORS)


@pytest.mark.parametrize("section", sorted(SECTIONS))
def test_header_only_table_is_an_error_unless_optional(tmp_path, capsys, section):
    scenario = _scenario(tmp_path, section, optional=False)
    _, table, what = SECTIONS[section]
    message = fails(capsys, scenario, tmp_path / "out", Path(table).name, what)
    assert "header but no data rows" in message
    assert "optional = true" in message  # the message says how to mark it optional


@pytest.mark.parametrize("section", sorted(SECTIONS))
def test_header_only_optional_table_is_left_out_with_a_warning(
    tmp_path, capsys, full_run, section
):
    scenario = _scenario(tmp_path, section, optional=True)
    assert section in load_scenario(scenario).optional_inputs
    out = tmp_path / "out"
    err = succeeds(capsys, scenario, out)
    _, table, what = SECTIONS[section]
    warning = [line for line in err.splitlines() if "optional = true" in line]
    assert len(warning) == 1, err
    assert f"[{section}]" in warning[0]
    assert Path(table).name in warning[0] and what in warning[0]
    values = _district(out)
    for name in OPTIONAL_INDICATORS[section]:
        assert name in warning[0]
        assert not pd.isna(full_run[name])  # computed when the table is there
        if section in ("flows.goods", "flows.ecosystem"):
            assert pd.isna(values[name])  # dropped: NaN, out of the scoring
        else:
            assert values[name] != pytest.approx(full_run[name])  # computed without it


@pytest.mark.parametrize("section", ["flows.ecosystem", "flows.goods", "bus"])
def test_all_nan_table_is_an_error_unless_optional(tmp_path, capsys, section):
    scenario = _scenario(tmp_path / "plain", section, optional=False, how="nan")
    message = fails(capsys, scenario, tmp_path / "out", Path(SECTIONS[section][1]).name)
    assert "must be a finite number" in message
    optional = _scenario(tmp_path / "optional", section, optional=True, how="nan")
    err = succeeds(capsys, optional, tmp_path / "ok")
    assert "every number empty" in err and f"[{section}]" in err


@pytest.mark.parametrize(
    ("old", "new", "needle"),
    [
        ('service = "drinking water"', 'service = "drinking water"\noptional = "yes"',
         "[flows.ecosystem] key 'optional' must be bool"),
        ('path = "data/services.csv"', 'path = "data/services.csv"\noptional = true',
         "[services] key 'optional' is not a known key"),
        ("trip_rate = 0.8", "trip_rate = 0.8\noptional = true",
         "key 'optional' is not a known key"),
    ],
)  # fmt: skip
def test_optional_key_is_checked(tmp_path, capsys, old, new, needle):
    scenario = make_full(tmp_path)
    _edit(scenario, old, new)
    fails(capsys, scenario, tmp_path / "out", needle, command="validate")


def test_optional_without_a_table_is_refused(tmp_path, capsys):
    scenario = make_full(tmp_path)
    _edit(scenario, 'transfers = "data/transfers.csv"', "optional = true")
    fails(capsys, scenario, tmp_path / "out", "[flows.capital] key 'optional'", "transfers")
