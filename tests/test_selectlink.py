from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest

from urlink.cli import main
from urlink.errors import InputError
from urlink.outputs.selectlink import select_link_from_outputs, units_using_link

LINK = ("331003001", "331003003")


def test_select_link_matches_the_assigned_volumes(huangyan_run):
    pairs = select_link_from_outputs(huangyan_run, LINK)
    network = gpd.read_file(huangyan_run / "linkages.gpkg", layer="network")
    row = network[(network["u"].astype(str) == LINK[0]) & (network["v"].astype(str) == LINK[1])]
    for ftype in ("people", "goods"):
        used = pairs.loc[pairs["flow_type"] == ftype, "volume"].sum()
        assert used == pytest.approx(float(row[ftype].sum()), rel=1e-6)
    assert pairs["volume"].is_monotonic_decreasing
    by_county = units_using_link(pairs, level="county")
    people = by_county[by_county["flow_type"] == "people"]
    total = pairs.loc[pairs["flow_type"] == "people", "volume"].sum()
    assert people["from_unit"].sum() == pytest.approx(total)
    assert people["to_unit"].sum() == pytest.approx(total)


def test_select_link_command(huangyan_run, tmp_path, capsys):
    out = tmp_path / "on_link.csv"
    code = main(["select-link", str(huangyan_run), "--link", ",".join(LINK), "--out", str(out)])
    assert code == 0
    text = capsys.readouterr().out
    assert f"use the link {LINK[0]} -> {LINK[1]}" in text
    assert "by county" in text and "by township" in text
    written = pd.read_csv(out, dtype={"origin": str, "destination": str})
    assert len(written) == len(select_link_from_outputs(huangyan_run, LINK))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--link", "331003001"], "--link '331003001': give the two node ids"),
        (["--link", "1,2"], "--link 1,2 is not a link of the run's street network"),
    ],
)
def test_select_link_bad_link_exits_2(huangyan_run, capsys, args, message):
    assert main(["select-link", str(huangyan_run), *args]) == 2
    assert message in capsys.readouterr().err


def test_select_link_on_a_folder_without_a_run_exits_2(tmp_path, capsys):
    assert main(["select-link", str(tmp_path), "--link", "1,2"]) == 2
    err = capsys.readouterr().err
    assert "has no linkages.gpkg" in err and "finished 'urlink run'" in err
    assert err.count("\n") == 1


def test_units_using_link_checks_the_level():
    with pytest.raises(InputError, match="level='village'"):
        units_using_link(pd.DataFrame(), level="village")  # type: ignore[arg-type]
