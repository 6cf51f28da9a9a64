from __future__ import annotations

import json
import shutil
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest

from urlink.cli import main
from urlink.outputs.files import file_sha256

from .test_bad_inputs import make_scenario


@pytest.fixture
def workdir(root, tmp_path) -> Path:
    """A copy of the scenario and data, so tests may break inputs."""
    shutil.copytree(root / "data", tmp_path / "data")
    shutil.copytree(root / "scenarios", tmp_path / "scenarios")
    return tmp_path


def _snapshot(folder: Path) -> dict[str, str]:
    return {p.name: file_sha256(p) for p in sorted(folder.iterdir())}


def test_run_writes_zones_and_manifest(huangyan_run):
    out = huangyan_run
    zones = gpd.read_file(out / "zones.gpkg", layer="zones")
    assert len(zones) == 29
    assert zones.crs.to_epsg() == 4326
    towns = zones[zones["level"] == "township"]
    assert len(towns) == 19 and towns["zone_id"].is_unique
    assert towns["population"].sum() == 707_500
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["scenario"] == "huangyan"
    for item in manifest["inputs"]:
        assert item["sha256"] == file_sha256(Path(item["path"]))
    from urlink.runner import STAGES

    assert set(manifest["timings_s"]) == set(STAGES)
    assert manifest["versions"]["urlink"]
    assert manifest["parameters"]["community_weight"]["how"] == "fitted to references"
    assert not list(out.parent.glob(".huangyan.*"))  # no temporary folders left behind
    # travel times on the proxy network, labelled as such everywhere
    travel = pd.read_csv(out / "travel_times.csv", dtype={"origin": str, "destination": str})
    assert len(travel) == 29 * 29
    assert (travel["network_source"] == "proxy").all()
    assert travel["time_min"].notna().all() and (travel["time_min"] >= 0).all()
    assert (zones["network_source"] == "proxy").all()
    edges = gpd.read_file(out / "linkages.gpkg", layer="network")
    assert (edges["network_source"] == "proxy").all() and len(edges) > 0
    assert manifest["summary"]["network_source"] == "proxy"
    # county seats are matched by name: Jiaojiang's seat is Haimen (海门街道)
    assert "海门" in zones.set_index("zone_id").loc["331002", "seat_source"]


def test_default_output_folder_is_outputs_slash_name(tmp_path, monkeypatch):
    # the tiny scenario of test_bad_inputs (named "tiny"): Huangyan is not the point here
    make_scenario(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert main(["run", "tiny.toml", "-q"]) == 0
    assert (tmp_path / "outputs" / "tiny" / "zones.gpkg").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "outputs", "tiny.toml"]


def test_runs_are_deterministic(huangyan_run, huangyan_scenario_path, tmp_path):
    a, b = huangyan_run, tmp_path / "b"
    assert main(["run", str(huangyan_scenario_path), "--out", str(b), "-q"]) == 0
    for name in ("flows.csv", "indicators.csv", "scores.csv", "robustness.csv", "report.html"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    za, zb = gpd.read_file(a / "zones.gpkg"), gpd.read_file(b / "zones.gpkg")
    pd.testing.assert_frame_equal(za.drop(columns="geometry"), zb.drop(columns="geometry"))
    assert za.geometry.geom_equals_exact(zb.geometry, tolerance=0).all()


def test_validate_prints_summary(huangyan_scenario_path, capsys):
    assert main(["validate", str(huangyan_scenario_path)]) == 0
    out = capsys.readouterr().out
    assert "29 zones (10 county, 19 township)" in out


def test_malformed_scenario_exits_2_with_one_message(workdir, capsys):
    path = workdir / "scenarios/huangyan.toml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("id_col", "idcol", 1), encoding="utf-8"
    )
    out = workdir / "out"
    assert main(["run", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "huangyan.toml" in err and "'idcol'" in err and "did you mean 'id_col'" in err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_missing_scenario_and_usage_errors_exit_2(tmp_path, capsys):
    assert main(["run", str(tmp_path / "nope.toml")]) == 2
    assert "nope.toml" in capsys.readouterr().err
    assert main(["frobnicate"]) == 2


def test_failed_run_leaves_earlier_outputs_intact(workdir, huangyan_run, capsys):
    scenario = workdir / "scenarios/huangyan.toml"
    out = workdir / "out"
    shutil.copytree(huangyan_run, out)  # the outputs of an earlier run of this scenario
    before = _snapshot(out)
    assert "zones.gpkg" in before and "report.html" in before
    table = workdir / "data/tables/county_population_2020.csv"
    table.write_text(table.read_text(encoding="utf-8").replace("707500", "-1"), encoding="utf-8")
    assert main(["run", str(scenario), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "county_population_2020.csv" in err and "'331003': '-1'" in err
    assert _snapshot(out) == before
    assert sorted(p.name for p in workdir.iterdir() if p.name.startswith(".out")) == []


def test_output_folder_holding_inputs_is_refused(workdir, capsys):
    scenario = workdir / "scenarios/huangyan.toml"
    before = _snapshot(workdir / "data/tables")
    assert main(["run", str(scenario), "--out", str(workdir / "data")]) == 2
    assert "contains the input" in capsys.readouterr().err
    assert _snapshot(workdir / "data/tables") == before


def test_missing_input_file_named(workdir, capsys):
    (workdir / "data/places/huangyan_township_seats.geojson").unlink()
    assert main(["validate", str(workdir / "scenarios/huangyan.toml")]) == 2
    err = capsys.readouterr().err
    assert "huangyan_township_seats.geojson" in err and "does not exist" in err


def test_internal_error_exits_1(monkeypatch, huangyan_scenario_path, capsys):
    import urlink.runner

    def boom(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(urlink.runner, "zones_from_scenario", boom)
    assert main(["validate", str(huangyan_scenario_path)]) == 1
    assert "internal error" in capsys.readouterr().err


def test_run_builds_all_four_flow_types(huangyan_run, root):
    out = huangyan_run
    flows = gpd.read_file(out / "linkages.gpkg", layer="flows")
    assert set(flows["flow_type"]) == {"people", "goods", "capital", "ecosystem"}
    assert (flows["volume"] >= 0).all()
    zones = gpd.read_file(out / "linkages.gpkg", layer="zones").set_index("zone_id")
    assert set(zones["typology"]) == {"urban", "peri-urban", "rural"}
    assert zones["typology_reason"].str.len().gt(10).all()
    # the model inputs are recorded with the zones
    assert zones["goods_supply_t_per_day"].sum() == pytest.approx(58_400 / 365)
    # three purposes, 1.3 + 1.04 + 0.26 = 2.6 trips per resident and day (scenarios/huangyan.toml)
    assert zones["people_production"].sum() == pytest.approx(2.6 * zones["population"].sum())
    table = pd.read_csv(out / "flows.csv", dtype={"origin": str, "destination": str})
    # mandarins: 58,400 t/yr shipped in full (t/day)
    goods = table[table["flow_type"] == "goods"]
    assert goods["volume"].sum() == pytest.approx(58_400 / 365)
    # water: the reservoir's design supply is used or reported unused, never lost
    water = table[table["flow_type"] == "ecosystem"]
    assert water["volume"].sum() == pytest.approx(1_100_000)
    # eco-compensation: 0.0411 yuan per m3 received from another zone
    received = water[(water["use"] == "used") & (water["origin"] != water["destination"])]
    capital = table[table["flow_type"] == "capital"]
    assert capital["volume"].sum() == pytest.approx(
        received["volume"].sum() * 365 * 0.041096, rel=1e-4
    )
    # payments go from users to the catchment townships
    sources = set(
        pd.read_csv(root / "data/tables/changtan_sources.csv", dtype={"zone_id": str})["zone_id"]
    )
    assert set(capital["destination"]) <= sources
    # people and goods carry CO2 on the flow layer; roads carry assigned volumes
    people = flows[flows["flow_type"] == "people"]
    assert (people["co2_kg_per_day"] > 0).all()
    network = gpd.read_file(out / "linkages.gpkg", layer="network")
    between = people[people["origin"] != people["destination"]]  # within a zone: no link
    assert network["people"].sum() > between["volume"].sum()  # trips use several links
    page = (out / "map.html").read_text(encoding="utf-8")
    assert "Voronoi approximations" in page and "proxy" in page
    assert "人口流动 / People" in page and "乡村 / rural" in page


def test_run_scores_strategies_per_group_and_tests_robustness(huangyan_run, root):
    out = huangyan_run
    scores = pd.read_csv(out / "scores.csv")
    n = scores["strategy"].nunique()
    assert n == 10  # baseline + 8 strategies + 1 package
    assert set(scores["group"]) == {
        "district_bureau",
        "township_gov",
        "farmers_coop",
        "enterprises",
        "residents",
        "pooled",
    }
    for _, block in scores.groupby(["group", "method"]):
        assert len(block) == n and block["rank"].min() == 1 and block["rank"].max() <= n
    robust = pd.read_csv(out / "robustness.csv")
    per = robust.groupby(["weights", "method", "strategy"])["acceptability"].sum()
    assert (per - 1.0).abs().max() < 1e-9  # every strategy's acceptabilities sum to 1
    per_rank = robust.groupby(["weights", "method", "rank"])["acceptability"].sum()
    assert (per_rank - 1.0).abs().max() < 1e-9  # every rank is held once per sample
    attribution = pd.read_csv(out / "attribution.csv", dtype={"unit": str})
    guidelines = pd.read_csv(out / "guidelines.csv", dtype={"unit": str})
    assert set(attribution["strategy"]) == set(scores["strategy"]) - {"baseline"}
    assert {"implement", "benefit", "pay"} <= set(guidelines["role"])
    assert set(guidelines["level"]) >= {"township", "county", "prefecture"}
    indicators = pd.read_csv(out / "indicators.csv", dtype={"unit": str})
    district = indicators[indicators["scope"] == "district"]
    assert set(district["direction"]) == {"max", "min"}
    assert "11.2.1" in set(district["sdg"].astype(str))


def test_weights_template_never_overwrites(workdir, monkeypatch, capsys):
    monkeypatch.chdir(workdir)
    assert main(["weights-template", "scenarios/huangyan.toml"]) == 0
    form = workdir / "huangyan_weights_form.csv"
    text = form.read_text(encoding="utf-8-sig")
    assert text.splitlines()[0] == "group,label,indicator,points"
    assert main(["weights-template", "scenarios/huangyan.toml"]) == 2
    assert "never overwrites" in capsys.readouterr().err
    assert form.read_text(encoding="utf-8-sig") == text


def test_validate_catches_bad_strategy_parameters(workdir, capsys):
    path = workdir / "scenarios/huangyan.toml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace('to = "331003101"', 'to = "331003999"'), encoding="utf-8")
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert "hospital-to-ningxi" in err and "params.to names ['331003999']" in err


def test_run_with_ahp_weights(tmp_path, capsys):
    # the tiny scenario with a strategy: AHP weights do not need the Huangyan run
    path = make_scenario(tmp_path, strategies=True)
    ahp = tmp_path / "data/ahp.csv"
    ahp.write_text(
        "group,row,col,value\n"
        "residents,mean_time_to_hospital_min,co2_t_per_day,3\n"
        "residents,mean_time_to_hospital_min,pt_coverage_share,1\n"
        "residents,co2_t_per_day,pt_coverage_share,1/3\n",
        encoding="utf-8",
    )
    text = path.read_text(encoding="utf-8")
    assert 'weights = "data/weights.csv"' in text
    path.write_text(
        text.replace('weights = "data/weights.csv"', 'ahp = "data/ahp.csv"'), encoding="utf-8"
    )
    out = tmp_path / "out"
    assert main(["run", str(path), "--out", str(out), "-q"]) == 0
    scores = pd.read_csv(out / "scores.csv")
    assert set(scores["group"]) == {"residents", "pooled"}
    assert set(scores["strategy"]) == {"baseline", "new-road"}
    # an inconsistent matrix is refused, naming the group
    ahp.write_text(
        "group,row,col,value\n"
        "residents,mean_time_to_hospital_min,co2_t_per_day,9\n"
        "residents,mean_time_to_hospital_min,pt_coverage_share,1/9\n"
        "residents,co2_t_per_day,pt_coverage_share,9\n",
        encoding="utf-8",
    )
    capsys.readouterr()
    assert main(["run", str(path), "--out", str(tmp_path / "out2"), "-q"]) == 2
    err = capsys.readouterr().err
    assert "ahp.csv" in err and "group 'residents'" in err and "inconsistent" in err
    assert not (tmp_path / "out2").exists()


def test_map_command_writes_only_the_map(workdir):
    out = workdir / "maps"
    out.mkdir()
    (out / "notes.txt").write_text("keep me", encoding="utf-8")
    assert (
        main(
            [
                "map",
                str(workdir / "scenarios/huangyan.toml"),
                "--out",
                str(out),
                "--lang",
                "en",
                "-q",
            ]
        )
        == 0
    )
    page = (out / "map.html").read_text(encoding="utf-8")
    assert "People" in page and "人口流动" not in page
    assert (out / "notes.txt").read_text(encoding="utf-8") == "keep me"
    assert main(["map", str(workdir / "scenarios/huangyan.toml"), "--lang", "fr"]) == 2


def test_run_writes_a_comparison_map_per_strategy(huangyan_run, root):
    out = huangyan_run
    pages = sorted(p.name for p in out.glob("compare_*.html"))
    # one per strategy and one per package
    assert len(pages) == 9 and "compare_western-mountains-access.html" in pages
    page = (out / "compare_hospital-to-ningxi.html").read_text(encoding="utf-8")
    assert "Access to hospitals gained" in page  # the effect that changes has a layer
    from urlink.outputs.maps import CHANGE_COLOURS

    gains, losses = CHANGE_COLOURS[4:], CHANGE_COLOURS[:3]
    assert any(c in page for c in gains) and any(c in page for c in losses)  # both shown
    assert "cdn.jsdelivr.net" not in page and "Leaflet" in page  # offline by default
    assert "P(first)" in page
    assert "compare_changtan-lakeside-road.html" in page  # the strategy picker


def test_run_writes_report_and_flow_changes(huangyan_run):
    assert (huangyan_run / "report.html").is_file()
    changes = pd.read_csv(huangyan_run / "flow_changes.csv", dtype={"origin": str})
    flows = pd.read_csv(huangyan_run / "flows.csv", dtype={"origin": str, "destination": str})
    diff = changes["change"] - (changes["volume_new"] - changes["volume_base"])
    scale = changes[["volume_base", "volume_new"]].abs().max(axis=1).clip(lower=1.0)
    assert (diff.abs() <= 1e-8 * scale).all()  # the 10 significant digits of the file
    # a road strategy changes people flows; baseline volumes are the run's own flows
    road = changes[(changes["strategy"] == "changtan-lakeside-road")]
    assert (road["flow_type"] == "people").any()
    people = flows[flows["flow_type"] == "people"].set_index(
        ["origin", "destination", "purpose", "mode"]
    )
    for rec in road[road["flow_type"] == "people"].head(5).itertuples():
        key = (rec.origin, str(rec.destination), rec.purpose, rec.mode)
        assert rec.volume_base == pytest.approx(people.loc[key, "volume"])
    # the doubly constrained gravity model keeps trip totals: changes sum to ~0
    assert road.loc[road["flow_type"] == "people", "change"].sum() == pytest.approx(
        0.0, abs=1e-3 * people["volume"].sum()
    )
    # relocating a hospital changes no flow
    assert "hospital-to-ningxi" not in set(changes["strategy"])
    manifest = json.loads((huangyan_run / "manifest.json").read_text(encoding="utf-8"))
    assert "report.html" in manifest["outputs"] and "flow_changes.csv" in manifest["outputs"]


def test_map_strategy_option(workdir, capsys):
    scenario = str(workdir / "scenarios/huangyan.toml")
    out = workdir / "maps"
    assert main(["map", scenario, "--out", str(out), "--strategy", "no-such-thing"]) == 2
    err = capsys.readouterr().err
    assert "no-such-thing" in err and "bus-west-mountains" in err and "Traceback" not in err
    assert not out.exists() or not any(out.iterdir())


@pytest.mark.parametrize(
    ("umask", "folder", "file"),
    [(0o022, 0o755, 0o644), (0o027, 0o750, 0o640)],
    ids=["umask-022", "umask-027"],
)
def test_output_folder_permissions_follow_the_umask(tmp_path, umask, folder, file):
    """The output folder is made like a normal mkdir, not owner-only like tempfile.mkdtemp."""
    import os
    import stat

    from urlink.outputs.files import atomic_output_dir

    scenario = make_scenario(tmp_path)
    old = os.umask(umask)
    try:
        with atomic_output_dir(tmp_path / "bare") as tmp:
            (tmp / "a.txt").write_text("ok", encoding="utf-8")
        assert main(["run", str(scenario), "--out", str(tmp_path / "out"), "-q"]) == 0
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "bare").stat().st_mode) == folder
    assert stat.S_IMODE((tmp_path / "bare" / "a.txt").stat().st_mode) == file
    out = tmp_path / "out"
    assert stat.S_IMODE(out.stat().st_mode) == folder
    assert stat.S_IMODE((out / "zones.gpkg").stat().st_mode) == file
    assert stat.S_IMODE((out / "manifest.json").stat().st_mode) == file


def test_run_reports_every_stage_and_ends_with_what_to_open(tmp_path, capsys):
    from urlink.runner import STAGES

    scenario = make_scenario(tmp_path, strategies=True)
    out = tmp_path / "out"
    assert main(["run", str(scenario), "--out", str(out)]) == 0
    captured = capsys.readouterr()
    # not a terminal (captured): one line per stage, in order, with its number of steps
    lines = [line for line in captured.err.splitlines() if line.startswith("urlink: [")]
    assert [line.split("] ")[1].split(",")[0].split(" (")[0] for line in lines] == list(STAGES)
    assert lines[0].startswith(f"urlink: [1/{len(STAGES)}] check inputs")
    n_strategies = len(pd.read_csv(out / "attribution.csv")["strategy"].unique())
    assert f"strategies, {n_strategies} steps" in lines[STAGES.index("strategies")]
    written = sum(1 for p in out.iterdir() if p.is_file() and p.name != ".urlink")  # marker
    assert f"write outputs, {written} steps" in lines[-1]
    # the last lines say which files to open and which strategy each group ranks first
    assert f"urlink: wrote {out}" in captured.out
    assert f"open {out / 'report.html'}" in captured.out
    scores = pd.read_csv(out / "scores.csv")
    first = scores[(scores["rank"] == 1) & (scores["method"] == "weighted_sum")]
    for group, strategy in zip(first["group"], first["strategy"], strict=True):
        assert f"{group}: {strategy}" in captured.out


def test_quiet_run_prints_nothing(tmp_path, capsys):
    scenario = make_scenario(tmp_path)
    assert main(["run", str(scenario), "--out", str(tmp_path / "out"), "-q"]) == 0
    captured = capsys.readouterr()
    assert captured.out == "" and "urlink: [" not in captured.err


def test_the_headline_names_each_group_once_and_marks_ties():
    from types import SimpleNamespace

    import pandas as pd

    from urlink.cli import _headline

    scores = pd.DataFrame(
        {
            "method": "weighted_sum",
            "group": ["residents", "residents", "firms", "firms", "firms"],
            "strategy": ["baseline", "new-road", "baseline", "new-road", "bus"],
            "rank": [1, 1, 2, 1, 3],
        }
    )
    (line,) = _headline(SimpleNamespace(scores=scores))
    assert line == (
        "top strategy per group (weighted sum): residents: baseline = new-road (tied); "
        "firms: new-road"
    )
