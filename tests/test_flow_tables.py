"""Finished flow tables (:func:`urlink.model.flows.base.finish_flows`)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from urlink.errors import InputError
from urlink.model.flows.base import (
    FLOW_COLUMNS,
    _finished,
    _finished_frame,
    finish_columns,
    finish_flows,
    repeated,
)


def _arrays(table: pd.DataFrame) -> dict[str, object]:
    return {name: table[name].array for name in table.columns}


def _table(n: int = 12) -> pd.DataFrame:
    ids = pd.Index(["a", "b", "c"])
    rng = np.random.default_rng(1)
    volume = rng.random(n)
    volume[::4] = 0.0
    table = pd.DataFrame(
        {
            "origin": ids.take(np.arange(n) % 3),
            "destination": ids.take(np.arange(n) // 3 % 3),
            "volume": volume,
            "note": [f"n{i}" for i in range(n)],
            "k": np.arange(n),
            "source": "old",  # replaced in place, as by setting the column
        }
    )
    table.attrs["support"] = {"kind": "dense"}
    return table


@pytest.mark.parametrize("drop_zero", [True, False])
@pytest.mark.parametrize("n", [12, 0, 1])
def test_the_table_built_at_once_is_the_step_by_step_one(drop_zero, n):
    # #16: flow tables are built without the intermediate copies; the same table
    table = _table(n)
    constants = {"flow_type": "people", "unit": "persons/day", "model": "m", "source": "modelled"}
    constants["commodity"] = "mandarin"
    volume = table["volume"].to_numpy()
    fast = _finished(_arrays(table), volume, constants, drop_zero=drop_zero, attrs=table.attrs)
    plain = _finished_frame(table, table["volume"], constants, drop_zero=drop_zero)
    pd.testing.assert_frame_equal(fast, plain, check_exact=True)
    assert list(fast.columns) == [*FLOW_COLUMNS, "note", "k", "commodity"]
    assert fast.attrs == plain.attrs == {"support": {"kind": "dense"}}
    assert fast.attrs["support"] is not table.attrs["support"]  # a copy, as pandas makes
    assert len(fast) == (n - len(range(0, n, 4)) if drop_zero else n)
    # the result owns its data: editing it leaves the model's table as it was
    before = table.copy()
    fast.loc[:, "volume"] = -1.0
    pd.testing.assert_frame_equal(table, before)


def test_finish_flows_takes_the_same_checks_on_both_paths():
    table = _table()
    out = finish_flows(table, flow_type="goods", model="m", commodity="mandarin")
    assert out["unit"].eq("t/day").all()
    assert out["source"].eq("modelled").all()
    assert (out["volume"] > 0).all()
    bad = table.assign(volume=-table["volume"] - 1.0)
    with pytest.raises(InputError, match="negative, NaN or infinite"):
        finish_flows(bad, flow_type="goods", model="m")
    with pytest.raises(InputError, match="negative, NaN or infinite"):
        finish_flows(table.assign(volume=np.inf), flow_type="goods", model="m")
    # integer volumes and a number as an extra column: the step-by-step path
    ints = finish_flows(table.assign(volume=3), flow_type="goods", model="m", year=2024)
    assert ints["volume"].dtype == np.float64
    assert ints["year"].tolist() == [2024] * len(table)


@pytest.mark.parametrize("drop_zero", [True, False])
def test_columns_of_any_dtype_keep_it_as_step_by_step(drop_zero):
    # object strings stay objects (not inferred as str), as copying the table keeps them
    ids = np.array(["a", "b", "c"], dtype=object)
    table = pd.DataFrame(
        {
            "origin": pd.Series(ids, dtype=object),
            "destination": pd.Series(ids[::-1], dtype=object),
            "volume": [1.0, 0.0, 2.0],
            "kind": pd.Categorical(["x", "y", "x"]),
            "day": pd.to_datetime(["2020-01-01"] * 3),
            "mixed": [1, "a", None],
            "flag": [True, False, True],
            "count": pd.array([1, None, 3], dtype="Int64"),
        }
    )
    constants = {"flow_type": "goods", "unit": "t/day", "model": "m", "source": "modelled"}
    volume = table["volume"].to_numpy()
    fast = _finished(_arrays(table), volume, constants, drop_zero=drop_zero, attrs={})
    plain = _finished_frame(table, table["volume"], constants, drop_zero=drop_zero)
    pd.testing.assert_frame_equal(fast, plain, check_exact=True)
    assert fast["origin"].dtype == object


@pytest.mark.parametrize("n", [0, 1, 5, 4095, 4096, 4097, 10_000])
def test_a_repeated_string_is_the_column_setting_the_string_gives(n):
    by_value, by_array = pd.DataFrame({"volume": [1.0] * n}), pd.DataFrame({"volume": [1.0] * n})
    by_value["purpose"] = "home_work"
    by_array["purpose"] = repeated("home_work", n)
    pd.testing.assert_frame_equal(by_array, by_value, check_exact=True)


def test_a_repeated_string_is_a_new_array_each_time():
    # the first n of a column kept per string: editing one column leaves the others
    first = pd.DataFrame({"volume": [1.0] * 3})
    first["purpose"] = repeated("home_work", 3)
    first.loc[0, "purpose"] = "edited"
    assert repeated("home_work", 3).tolist() == ["home_work"] * 3
    array = repeated("home_work", 2)
    array[0] = "edited"
    assert repeated("home_work", 2).tolist() == ["home_work"] * 2


@pytest.mark.parametrize("drop_zero", [True, False])
@pytest.mark.parametrize("n", [12, 0, 1])
def test_columns_finished_at_once_are_the_table_finished(drop_zero, n):
    table = _table(n).drop(columns=["source"])
    table.attrs = {}
    columns = _arrays(table) | {"volume": table["volume"].to_numpy(), "k": np.arange(n)}
    kw = {"flow_type": "people", "model": "m", "drop_zero": drop_zero, "purpose": "work"}
    fast = finish_columns(columns, **kw)
    plain = finish_flows(table, **kw)
    pd.testing.assert_frame_equal(fast, plain, check_exact=True)
    assert list(fast.columns) == [*FLOW_COLUMNS, "note", "k", "purpose"]
    # object strings stay objects; other columns and volumes go through a table
    objects = {"origin": np.array(["a"] * n, dtype=object)}
    for other in (objects, {"volume": [1.0] * n}, {"volume": np.ones(n, dtype=int)}):
        pd.testing.assert_frame_equal(
            finish_columns(columns | other, **kw),
            finish_flows(pd.DataFrame(columns | other), **kw),
            check_exact=True,
        )
    ids = np.arange(2)
    bad = {"origin": ids, "destination": ids, "volume": np.array([1.0, -1.0])}
    with pytest.raises(InputError, match="negative, NaN or infinite"):
        finish_columns(bad, flow_type="people", model="m")
    with pytest.raises(InputError, match=r"no column\(s\) \['destination'\]"):
        finish_columns(
            {"origin": np.arange(2), "volume": np.ones(2)}, flow_type="goods", model="m"
        )
