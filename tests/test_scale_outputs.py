"""Outputs that scale (#20): Parquet tables on request or above a size, the network optional."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyogrio
import pytest
from pyarrow import parquet as pq

from urlink.cli import main
from urlink.errors import InputError
from urlink.outputs.files import PARQUET_MIN_FLOWS, PARQUET_MIN_PAIRS, table_formats

from .test_bad_inputs import make_scenario


def test_table_formats_by_size_and_on_request():
    assert table_formats("auto", pairs=PARQUET_MIN_PAIRS - 1, flows=PARQUET_MIN_FLOWS - 1) == {
        "travel_times": "csv",
        "flows": "csv",
    }
    assert table_formats("auto", pairs=PARQUET_MIN_PAIRS, flows=10) == {
        "travel_times": "parquet",
        "flows": "csv",
    }
    assert table_formats("parquet", pairs=4, flows=1)["flows"] == "parquet"
    with pytest.raises(InputError, match="table_format='xlsx' is not valid"):
        table_formats("xlsx", pairs=4, flows=1)


def test_parquet_tables_hold_the_csv_rows_and_the_network_layer_is_optional(tmp_path, capsys):
    scenario = make_scenario(tmp_path / "s")
    csv_dir, pq_dir = tmp_path / "csv", tmp_path / "pq"
    assert main(["run", str(scenario), "--out", str(csv_dir), "-q"]) == 0
    argv = ["run", str(scenario), "--out", str(pq_dir), "-q", "--format", "parquet"]
    assert main([*argv, "--no-network-layer"]) == 0
    capsys.readouterr()
    assert not (pq_dir / "travel_times.csv").exists() and not (pq_dir / "flows.csv").exists()
    times_csv = pd.read_csv(
        csv_dir / "travel_times.csv", dtype={"origin": str, "destination": str}
    )
    times = pd.read_parquet(pq_dir / "travel_times.parquet")
    assert list(times.columns) == ["origin", "destination", "time_min"]
    assert times[["origin", "destination"]].equals(times_csv[["origin", "destination"]])
    np.testing.assert_allclose(times["time_min"], times_csv["time_min"], rtol=0, atol=5e-7)
    meta = pq.read_schema(pq_dir / "travel_times.parquet").metadata
    assert meta[b"network_source"] == times_csv["network_source"].iloc[0].encode()
    flows_csv = pd.read_csv(csv_dir / "flows.csv", dtype={"origin": str, "destination": str})
    flows = pd.read_parquet(pq_dir / "flows.parquet")
    assert list(flows.columns) == list(flows_csv.columns)
    np.testing.assert_allclose(flows["volume"], flows_csv["volume"], rtol=0, atol=5e-7)
    layers = {name for name, _ in pyogrio.list_layers(pq_dir / "linkages.gpkg")}
    assert layers == {"zones", "flows"}
    assert "network" in {name for name, _ in pyogrio.list_layers(csv_dir / "linkages.gpkg")}
    outputs = json.loads((pq_dir / "manifest.json").read_text(encoding="utf-8"))["outputs"]
    assert "travel_times.parquet" in outputs and "travel_times.csv" not in outputs
    assert "flows.parquet" in outputs and "network" not in outputs["linkages.gpkg"]
    # the other files are the same
    for name in ("indicators.csv", "report.html"):
        assert (pq_dir / name).read_bytes() == (csv_dir / name).read_bytes(), name
