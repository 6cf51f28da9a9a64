"""Pieces that keep runs with thousands of zones within memory (#8), checked on small cases."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from urlink.cli import main
from urlink.model.graph import _aggregate, linkage_graph_from
from urlink.outputs.files import _long_skim, write_travel_times

from .test_bad_inputs import _edit, make_scenario
from .test_graph import _flows, _skim, _zones


def _skim5() -> pd.DataFrame:
    ids = [f"z{i}" for i in range(5)]
    values = np.arange(25, dtype=float).reshape(5, 5) / 3
    values[1, 3] = values[4, 0] = np.nan
    return pd.DataFrame(values, index=ids, columns=ids)


def test_travel_times_written_by_blocks_equal_the_whole_table(tmp_path):
    skim = _skim5()
    whole = tmp_path / "whole.csv"
    _long_skim(skim, "proxy").to_csv(whole, index=False, float_format="%.6f")
    for rows in (1, 2, 5, 100):
        path = tmp_path / f"chunks{rows}.csv"
        assert write_travel_times(path, skim, "proxy", chunk_rows=rows) == 2
        assert path.read_bytes() == whole.read_bytes()
    back = pd.read_csv(whole)
    assert len(back) == 25 and back["time_min"].isna().sum() == 2
    assert back.loc[1 * 5 + 3, ["origin", "destination"]].tolist() == ["z1", "z3"]


def test_linkage_graph_reads_times_from_a_reordered_or_mapped_skim(tmp_path):
    """Times and distances are looked up by zone id, not by position (the lookup is by
    blocks of rows since #8): a skim in another order, or memory-mapped, gives the same."""
    z = _zones()
    skim = _skim(z)
    dist = skim * 2.0
    base = linkage_graph_from(z, skim, _flows(), distance_km=dist)
    turned = skim.iloc[::-1, ::-1]
    partial = dist.drop(index="331003002")  # one origin missing: NaN distance
    G = linkage_graph_from(z, turned, _flows(), distance_km=partial)
    for u, v, k, d in base.edges(keys=True, data=True):
        assert G.edges[u, v, k]["time_min"] == d["time_min"] == skim.loc[u, v]
        if u == "331003002":
            assert math.isnan(G.edges[u, v, k]["distance_km"])
        else:
            assert G.edges[u, v, k]["distance_km"] == d["distance_km"] == 2 * skim.loc[u, v]
    np.save(tmp_path / "time_min.npy", skim.to_numpy())
    mapped = pd.DataFrame(
        np.load(tmp_path / "time_min.npy", mmap_mode="r"), index=skim.index, columns=skim.columns
    )
    M = linkage_graph_from(z, mapped, _flows())
    assert [d["time_min"] for *_, d in M.edges(data=True)] == [
        d["time_min"] for *_, d in base.edges(data=True)
    ]


def test_a_run_with_top_destinations_reports_what_it_dropped(tmp_path, capsys):
    """Four zones, one flow kept per origin: 4 people rows, each with the note, and the
    manifest's dropped share equals 1 - kept / full volume of the same run without it."""
    full_dir, top_dir = tmp_path / "full", tmp_path / "top"
    # every flow of the model (no cordon, no within-zone trips): what top_destinations cuts
    scenario = make_scenario(
        tmp_path / "s", extra='\n[flows]\nwithin_zone = "none"\ncontext_flows = "all"\n'
    )
    assert main(["run", str(scenario), "--out", str(full_dir), "-q"]) == 0
    _edit(scenario, "beta = 0.1\n", "beta = 0.1\ntop_destinations = 1\n")
    assert main(["run", str(scenario), "--out", str(top_dir), "-q"]) == 0
    capsys.readouterr()
    full = pd.read_csv(full_dir / "flows.csv")
    top = pd.read_csv(top_dir / "flows.csv")
    people = top[top["flow_type"] == "people"]
    assert len(people) == 4 and people["origin"].is_unique
    assert people["note"].str.startswith("largest 1 flows per origin kept").all()
    largest = full[full["flow_type"] == "people"].groupby("origin")["volume"].max()
    assert people.set_index("origin")["volume"].to_dict() == pytest.approx(largest.to_dict())
    share = 1 - largest.sum() / full.loc[full["flow_type"] == "people", "volume"].sum()
    manifest = json.loads((top_dir / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["summary"]["flows"]["people"]["dropped_share"] == pytest.approx(share)
    assert (
        "dropped_share"
        not in json.loads((full_dir / "manifest.json").read_text(encoding="utf-8"))["summary"][
            "flows"
        ]["people"]
    )
    assert "note" not in full.columns


def test_aggregating_flows_without_duplicates_is_the_groupby():
    """The fast path of the linkage graph's aggregation (#20) gives the groupby's table."""
    rng = np.random.default_rng(5)
    ids = [f"z{i}" for i in range(30)]
    pairs = [(o, d) for o in ids for d in ids][::-1]
    table = pd.DataFrame(
        {
            "origin": [o for o, _ in pairs],
            "destination": [d for _, d in pairs],
            "flow_type": "people",
            "volume": rng.uniform(0, 10, len(pairs)),
            "unit": "persons/day",
            "model": "gravity_doubly",
            "source": "modelled",
        }
    )
    fast = _aggregate(table)
    slow = _aggregate(pd.concat([table, table.iloc[:0]], ignore_index=True).pipe(_with_dup))
    slow = slow[slow["origin"] != "dup"].reset_index(drop=True)
    pd.testing.assert_frame_equal(fast, slow, check_exact=True)


def _with_dup(table: pd.DataFrame) -> pd.DataFrame:
    """Add two rows on one extra key, so _aggregate takes its general path."""
    extra = table.iloc[:2].assign(origin="dup", destination="dup")
    return pd.concat([table, extra], ignore_index=True)
