from __future__ import annotations

import contextlib
import io
import os
import shutil
import tempfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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


# --- hostile output folders (#19) --------------------------------------------------------

_FLOW_CELLS = ["", "nan", "-1", "1e400", "abc", "331003001", "999999999", "人", "\x00"]


@st.composite
def _broken_outputs(draw):
    """A copy of a run's output folder with one thing broken, and the --link argument."""
    op = draw(st.sampled_from(["cell", "drop_column", "header_only", "flows_bytes",
                               "gpkg_bytes", "link"]))  # fmt: skip
    value = draw(st.one_of(st.sampled_from(_FLOW_CELLS), st.text(max_size=10)))
    column = draw(st.sampled_from(["origin", "destination", "volume", "flow_type", "mode"]))
    row = draw(st.integers(0, 50))
    link = draw(
        st.one_of(
            st.just(",".join(LINK)),
            st.sampled_from(["", ",", "1", "a,b", "1,2,3", "-1,-2", "1e400,2", "１,２"]),
            st.text(max_size=12),
        )
    )
    return op, value, column, row, link


@settings(
    max_examples=int(os.environ.get("URLINK_FUZZ_SELECT_LINK_EXAMPLES", "25")),
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(case=_broken_outputs())
def test_select_link_on_a_broken_output_folder_exits_0_or_2(huangyan_run, tmp_path, case):
    op, value, column, row, link = case
    folder = Path(tempfile.mkdtemp(dir=tmp_path))
    shutil.copy(huangyan_run / "linkages.gpkg", folder)
    flows = pd.read_csv(huangyan_run / "flows.csv", dtype=str, keep_default_na=False)
    if op == "cell" and column in flows.columns:
        flows.loc[flows.index[row % len(flows)], column] = value
    elif op == "drop_column" and column in flows.columns:
        flows = flows.drop(columns=[column])
    elif op == "header_only":
        flows = flows.iloc[:0]
    flows.to_csv(folder / "flows.csv", index=False)
    if op == "flows_bytes":
        (folder / "flows.csv").write_bytes(value.encode("utf-8", "surrogatepass"))
    if op == "gpkg_bytes":
        (folder / "linkages.gpkg").write_bytes(value.encode("utf-8", "surrogatepass") * 10)
    if op != "link":
        link = ",".join(LINK)
    try:
        with (
            contextlib.redirect_stdout(io.StringIO()),
            contextlib.redirect_stderr(io.StringIO()) as e,
        ):
            code = main(["select-link", str(folder), "--link", link])
    finally:
        shutil.rmtree(folder)
    assert code in (0, 2), e.getvalue()
    assert "Traceback" not in e.getvalue()
