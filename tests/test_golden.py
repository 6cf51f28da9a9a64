"""Golden outputs: a Huangyan run gives the same tables as the reference run.

The reference (``tests/data/golden/huangyan``) was written by urlink before the layered
packages of issue #13; the restructuring must not change a number. Intended changes
regenerate the files (``python tests/test_golden.py --update``) and are recorded in
``CHANGELOG.md``.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

GOLDEN = Path(__file__).resolve().parent / "data" / "golden" / "huangyan"
TABLES = sorted(p.name.removesuffix(".gz") for p in GOLDEN.glob("*.csv.gz"))
TOLERANCE = 1e-9


def _read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def assert_tables_equal(expected: pd.DataFrame, actual: pd.DataFrame, name: str) -> None:
    """Same columns and rows; numbers equal to 1e-9 (relative above 1), text identical."""
    assert list(actual.columns) == list(expected.columns), name
    assert len(actual) == len(expected), name
    for col in expected.columns:
        e, a = expected[col], actual[col]
        e_num = pd.to_numeric(e.replace("", np.nan), errors="coerce")
        a_num = pd.to_numeric(a.replace("", np.nan), errors="coerce")
        numeric = e_num.notna() | (e == "")
        if numeric.all() and e_num.notna().any():
            assert (e_num.isna() == a_num.isna()).all(), f"{name}.{col}: missing values differ"
            scale = np.maximum(1.0, np.abs(e_num.to_numpy(float)))
            diff = np.abs(e_num.to_numpy(float) - a_num.to_numpy(float)) / scale
            worst = float(np.nanmax(diff)) if len(diff) else 0.0
            assert worst <= TOLERANCE, f"{name}.{col}: differs by {worst:.3g}"
        else:
            bad = e != a
            assert not bad.any(), (
                f"{name}.{col}, row {int(np.argmax(bad.to_numpy()))}: "
                f"{e[bad].iloc[0]!r} != {a[bad].iloc[0]!r}"
            )


@pytest.mark.parametrize("table", TABLES)
def test_huangyan_outputs_equal_the_golden_run(huangyan_run: Path, table: str) -> None:
    expected = _read(GOLDEN / f"{table}.gz")
    actual = _read(huangyan_run / table)
    assert_tables_equal(expected, actual, table)


def test_the_golden_files_cover_every_table_of_a_run(huangyan_run: Path) -> None:
    # data_dictionary.csv documents the columns (#18); it holds no result
    written = sorted(p.name for p in huangyan_run.glob("*.csv") if p.name != "data_dictionary.csv")
    assert written == TABLES


def test_the_comparison_catches_small_changes() -> None:
    expected = _read(GOLDEN / "scores.csv.gz")
    assert_tables_equal(expected, expected.copy(), "scores")
    nudged = expected.copy()
    nudged.loc[3, "score"] = repr(float(nudged.loc[3, "score"]) + 1e-7)
    with pytest.raises(AssertionError, match=r"scores.score: differs by"):
        assert_tables_equal(expected, nudged, "scores")
    renamed = expected.copy()
    renamed.loc[0, "strategy"] = "another"
    with pytest.raises(AssertionError, match=r"scores.strategy, row 0"):
        assert_tables_equal(expected, renamed, "scores")
    with pytest.raises(AssertionError):
        assert_tables_equal(expected, expected.iloc[:-1], "scores")


def _update() -> None:  # pragma: no cover - run by hand after an intended change
    import gzip

    from urlink.runner import run

    root = Path(__file__).resolve().parents[1]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "huangyan"
        run(root / "scenarios" / "huangyan.toml", out=out)
        for path in sorted(out.glob("*.csv")):
            if path.name == "data_dictionary.csv":
                continue
            with (
                path.open("rb") as src,
                gzip.GzipFile(GOLDEN / f"{path.name}.gz", "wb", mtime=0) as dst,
            ):
                shutil.copyfileobj(src, dst)
            print(f"updated {path.name}")


if __name__ == "__main__":  # pragma: no cover
    if sys.argv[1:] == ["--update"]:
        _update()
    else:
        print(__doc__)
