from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from urlink.errors import InputError
from urlink.network.streets import DEFAULT_SPEEDS_KPH
from urlink.scenario.spec import load_scenario


def _copy_scenario(root: Path, tmp_path: Path, text: str | None = None) -> Path:
    """Copy the Huangyan scenario and data into tmp_path, optionally with new TOML text."""
    shutil.copytree(root / "data", tmp_path / "data")
    (tmp_path / "scenarios").mkdir()
    path = tmp_path / "scenarios" / "huangyan.toml"
    path.write_text(
        text
        if text is not None
        else (root / "scenarios" / "huangyan.toml").read_text(encoding="utf-8"),
        encoding="utf-8",
    )
    return path


MINIMAL = """
name = "mini"
[boundaries]
path = "../data/boundaries/taizhou_counties_gcj02.geojson"
id_col = "adcode"
name_col = "name_zh"
coords = "gcj02"
focus = "331003"
[population]
counties = "../data/tables/county_population_2020.csv"
"""


def test_huangyan_scenario_loads_with_absolute_existing_paths(huangyan_scenario_path):
    s = load_scenario(huangyan_scenario_path)
    assert s.name == "huangyan"
    assert s.boundaries.coords == "gcj02" and s.townships is not None
    assert s.townships.coords == "wgs84"
    for p in s.input_files():
        assert p.is_absolute() and p.is_file()


def test_relative_paths_resolve_against_the_scenario_folder(root, tmp_path, monkeypatch):
    path = _copy_scenario(root, tmp_path, MINIMAL)
    monkeypatch.chdir(root / "docs")  # somewhere else entirely
    s = load_scenario(path)
    assert s.boundaries.path == (tmp_path / "data/boundaries/taizhou_counties_gcj02.geojson")
    assert s.townships is None and s.boundaries.context == "all"


def test_top_destinations_is_read(root, tmp_path):
    path = _copy_scenario(root, tmp_path, MINIMAL + "[flows.people]\ntop_destinations = 40\n")
    people = load_scenario(path).flows.people
    assert people is not None and people.params.top_destinations == 40
    path.write_text(MINIMAL + "[flows.people]\nbeta = 0.1\n", encoding="utf-8")
    people = load_scenario(path).flows.people
    assert people is not None and people.params.top_destinations is None


def test_scenario_is_frozen(huangyan_scenario_path):
    s = load_scenario(huangyan_scenario_path)
    with pytest.raises(AttributeError):
        s.name = "other"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("edit", "pattern"),
    [
        (lambda t: "foo = 1\n" + t, r"mini.toml: key 'foo' is not a known key"),
        (
            lambda t: t.replace("id_col", "idcol"),
            r"\[boundaries\] key 'idcol' is not a known key; did you mean 'id_col'",
        ),
        (
            lambda t: t.replace('coords = "gcj02"', 'coords = "gcj"'),
            r"\[boundaries\] key 'coords'.*coords='gcj'.*'wgs84'",
        ),
        (
            lambda t: t.replace('focus = "331003"', "focus = 331003"),
            r"\[boundaries\] key 'focus' must be str, got 331003",
        ),
        (
            lambda t: t.replace('name = "mini"', 'name = "Mini Run!"'),
            r"key 'name' = 'Mini Run!' is not a valid scenario name",
        ),
        (lambda t: t.replace('focus = "331003"\n', ""), r"\[boundaries\] key 'focus' is missing"),
        (lambda t: t.replace("[population]", "[population\n"), r"not valid TOML"),
        (lambda t: t + "[population.x]\ny = 1\n", r"\[population\] key 'x'"),
        (
            lambda t: t.replace('focus = "331003"', 'focus = "331003"\ncontext = "near"'),
            r"key 'context' must be 'all', 'touching' or a list of ids",
        ),
        (
            lambda t: t + "[flows.people]\ntop_destinations = 0\n",
            r"\[flows.people\] PeopleParams.top_destinations=0 is not valid; use an integer >= 1",
        ),
        (
            lambda t: t + "[flows.people]\ntop_destinations = 2.5\n",
            r"\[flows.people\] key 'top_destinations' = 2.5 is not valid; use an integer",
        ),
    ],
)
def test_bad_scenarios_name_the_file_and_key(root, tmp_path, edit, pattern):
    path = tmp_path / "mini.toml"
    path.write_text(edit(MINIMAL), encoding="utf-8")
    with pytest.raises(InputError, match=pattern):
        load_scenario(path)


def test_missing_scenario_file(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        load_scenario(tmp_path / "nope.toml")


def test_network_section_defaults_and_overrides(tmp_path):
    path = tmp_path / "net.toml"
    path.write_text(
        MINIMAL + '[network]\nosm = "roads.osm.pbf"\nmode = "bus"\n'
        "bus_headway_min = 10\n[network.speeds_kph]\nprimary = 45\n",
        encoding="utf-8",
    )
    s = load_scenario(path)
    assert s.network.osm == tmp_path / "roads.osm.pbf"
    assert s.network.mode == "bus" and s.network.speeds.bus_headway_min == 10.0
    # an override of the speed table keeps the other classes' defaults
    assert s.network.speeds.speeds_kph["primary"] == 45.0
    assert s.network.speeds.speeds_kph["motorway"] == DEFAULT_SPEEDS_KPH["motorway"]
    assert s.network.circuity == 1.3
    assert tmp_path / "roads.osm.pbf" in s.input_files()


def _with(root: Path, tmp_path: Path, extra: str) -> Path:
    text = (root / "scenarios" / "huangyan.toml").read_text(encoding="utf-8")
    head, scoring = text.split("[scoring]", 1)
    return _copy_scenario(root, tmp_path, head + extra + "\n[scoring]" + scoring)


def test_packages_costs_and_references_are_parsed(root, tmp_path):
    path = _with(
        root,
        tmp_path,
        """
[[packages]]
name = "west-roads"
title = "Both western roads"
strategies = ["western-road-upgrade", "changtan-lakeside-road"]
""",
    )
    text = path.read_text(encoding="utf-8")
    text = text.replace(
        'name = "western-road-upgrade"',
        'name = "western-road-upgrade"\ncost_capital_yuan = 8.0e7\ncost_yearly_yuan = "unknown"',
    )
    text = text.replace(
        "eco_comp_per_source_resident_yuan = [0.0, 150.0]", "pt_coverage_share = [0.0, 1.0]"
    ).replace("concentration = 50\n", 'concentration = 50\nnormalisation = "interval"\n')
    path.write_text(text, encoding="utf-8")
    s = load_scenario(path)
    assert [p.name for p in s.packages] == ["western-mountains-access", "west-roads"]
    assert s.packages[1].strategies == ("western-road-upgrade", "changtan-lakeside-road")
    road = next(x for x in s.strategies if x.name == "western-road-upgrade")
    assert road.cost_capital_yuan == 8.0e7 and road.cost_yuan == 8.0e7
    assert road.cost_yearly_yuan is None
    assert s.scoring is not None and s.scoring.reference_map == {"pt_coverage_share": (0.0, 1.0)}
    assert s.scoring.normalisation == "interval"


@pytest.mark.parametrize(
    ("extra", "pattern"),
    [
        ('[[packages]]\nname = "p"\nstrategies = ["western-road-upgrade", "nope"]\n', "nope"),
        ('[[packages]]\nname = "p"\nstrategies = ["western-road-upgrade"]\n', "two or more"),
        ('[[packages]]\nname = "hospital-to-ningxi"\nstrategies = ["a", "b"]\n', "already"),
    ],
)
def test_bad_packages(root, tmp_path, extra, pattern):
    with pytest.raises(InputError, match=pattern):
        load_scenario(_with(root, tmp_path, extra))


def test_bad_references_and_costs(root, tmp_path):
    path = _with(root, tmp_path, "")
    base = path.read_text(encoding="utf-8")
    ref = "eco_comp_per_source_resident_yuan = [0.0, 150.0]"
    assert ref in base
    path.write_text(base.replace(ref, "pt_coverage_share = [1.0, 0.0]"), "utf-8")
    with pytest.raises(InputError, match="best above worst"):
        load_scenario(path)
    path.write_text(base.replace(ref, f"{ref}\n[costs]\ndiscount_rate = 8\n"), "utf-8")
    with pytest.raises(InputError, match=r"Cannot declare|twice"):
        load_scenario(path)
    costs = "discount_rate = 0.08"
    path.write_text(base.replace(costs, "discount_rate = 8"), "utf-8")
    with pytest.raises(InputError, match=r"write 0\.08 for 8 %"):
        load_scenario(path)
    path.write_text(base.replace("life_years = 30", "life_years = 0"), "utf-8")
    with pytest.raises(InputError, match="years=0"):
        load_scenario(path)
    path.write_text(
        base.replace("concentration = 50\n", 'concentration = 50\nnormalisation = "zscore"\n'),
        "utf-8",
    )
    with pytest.raises(InputError, match="normalisation"):
        load_scenario(path)
    bad = base.replace(
        'name = "western-road-upgrade"', 'name = "western-road-upgrade"\ncost_yearly_yuan = "n/a"'
    )
    path.write_text(bad, "utf-8")
    with pytest.raises(InputError, match="unknown"):
        load_scenario(path)
