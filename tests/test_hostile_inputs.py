"""Inputs of a careless or hostile user end in exit code 2 naming the input, never a traceback.

The cases of issue #19 beyond ``tests/test_bad_inputs.py`` (#7): overflowing and text values
in tables, NaN and negative references, header-only tables, TOML nested too deep or with
lists where text is expected, special files as inputs, broken polygons, strategies that mean
nothing, values beyond the documented limits. Each runs the command line on the tiny
scenario and checks exit 2, one message naming the file and the key or column, nothing
written (the helpers of ``tests/test_bad_inputs.py``).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import shapely

from urlink.cli import main
from urlink.validate import MAX_STRATEGIES

from .fuzzing import RASTER, Case, apply_case
from .test_bad_inputs import _edit, _square, _write_zones, fails, make_scenario


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    return make_scenario(tmp_path)


@pytest.fixture
def earlier(tmp_path: Path) -> Path:
    out = tmp_path / "out"
    out.mkdir()
    (out / "zones.gpkg").write_bytes(b"earlier results")
    (out / ".urlink").write_text('{"written_by": "urlink", "files": ["zones.gpkg"]}')
    return out


ECOSYSTEM = """
[flows.ecosystem]
model = "declared_links"
service = "drinking water"
sources = "data/sources.csv"
phases = "data/phases.csv"

[flows.capital]
eco_compensation = true
"""


def _with_ecosystem(root: Path) -> Path:
    scenario = make_scenario(root, extra=ECOSYSTEM)
    (root / "data/sources.csv").write_text("zone_id,role\n331003002,reservoir\n")
    (root / "data/phases.csv").write_text("phase,m3_per_day,users\n1,100000,331002;331004\n")
    return scenario


def _with_references(root: Path, row: str) -> Path:
    scenario = make_scenario(root)
    _edit(scenario, "community_weight = 3.0", 'township_references = "data/refs.csv"')
    (root / "data/refs.csv").write_text(
        f"code,population,district_total,use\n{row}\n331003002,30000,700000,fit\n"
    )
    return scenario


# ------------------------------------------------------------------------ tables


def test_population_of_1e300(tiny, earlier, capsys):
    _edit(tiny.parent / "data/pop.csv", "331002,800000", "331002,1e300")
    fails(capsys, tiny, earlier, "pop.csv", "'population' (persons)", "'331002': '1e300'")


@pytest.mark.parametrize(
    ("row", "needle"),
    [
        ("331003001,many,700000,fit", "'331003001': 'many'"),
        ("331003001,nan,700000,fit", "'population'"),
        ("331003001,-5,700000,fit", "'331003001': '-5'"),
        ("331003001,50000,,fit", "'district_total': empty on the rows used in the fit"),
        ("331003001,50000,inf,fit", "'district_total'"),
    ],
)
def test_text_nan_and_negative_references(tmp_path, earlier, capsys, row, needle):
    scenario = _with_references(tmp_path, row)
    fails(capsys, scenario, earlier, "refs.csv", needle)


def test_ecosystem_tiny_scenario_runs(tmp_path, capsys):
    scenario = _with_ecosystem(tmp_path)
    assert main(["run", str(scenario), "--out", str(tmp_path / "ok"), "-q"]) == 0, (
        capsys.readouterr().err
    )


@pytest.mark.parametrize("name", ["sources.csv", "phases.csv"])
def test_header_only_ecosystem_tables(tmp_path, earlier, capsys, name):
    scenario = _with_ecosystem(tmp_path)
    path = tmp_path / "data" / name
    path.write_text(path.read_text().splitlines()[0] + "\n")
    fails(capsys, scenario, earlier, name, "header but no data rows")


@pytest.mark.parametrize("value", ["nan", "-100", "1e300", "lots"])
def test_bad_ecosystem_volumes(tmp_path, earlier, capsys, value):
    scenario = _with_ecosystem(tmp_path)
    _edit(tmp_path / "data/phases.csv", "1,100000,", f"1,{value},")
    fails(capsys, scenario, earlier, "phases.csv", "'m3_per_day' (m3/day)", "phase")


def test_empty_services_table_is_reported_against_the_services_file(tiny, earlier, capsys):
    (tiny.parent / "data/services.csv").write_text("zone_id,service\n")
    message = fails(capsys, tiny, earlier, "services.csv", "header but no data rows")
    assert "strateg" not in message


# ------------------------------------------------------------------------ scenario files


def test_toml_nested_too_deep(tiny, earlier, capsys):
    _edit(tiny, "seed = 7", "seed = 7\nx = " + "[" * 3000 + "]" * 3000)
    fails(capsys, tiny, earlier, "tiny.toml", "nested too deeply")


def test_toml_nested_deeper_than_the_limit(tiny, earlier, capsys):
    _edit(tiny, "beta = 0.1", "beta = 0.1\nx = " + "[" * 20 + "]" * 20)
    fails(capsys, tiny, earlier, "tiny.toml", "'flows.people.x'", "MAX_TOML_DEPTH")


@pytest.mark.parametrize(
    "case",
    [
        ('kind = "add_link"', 'kind = ["add_link"]', "'kind'"),
        ('name = "new-road"', 'name = ["new-road"]', "'name'"),
        ("beta = 0.1", 'beta = 0.1\nmodel = ["gravity"]', "'model'"),
        ('to = "331004"', 'to = ["331004"]', "params"),
        ('sites = ["331003002"]', 'sites = [["331003002"]]', "'sites'"),
        ("smaa_samples = 200", 'smaa_samples = 200\nmethods = [["topsis"]]', "methods"),
    ],
)
def test_a_list_where_text_is_expected(tmp_path, earlier, capsys, case):
    old, new, key = case
    scenario = make_scenario(tmp_path, strategies=True)
    _edit(scenario, old, new)
    fails(capsys, scenario, earlier, "tiny.toml", key)


def test_scenario_file_too_large(tiny, earlier, capsys):
    with tiny.open("a", encoding="utf-8") as fh:
        fh.write("# " + "x" * 2**20 + "\n")
    fails(capsys, tiny, earlier, "tiny.toml", "MAX_SCENARIO_BYTES")


def test_too_many_strategies_are_refused_up_front(tmp_path, earlier, capsys):
    scenario = make_scenario(tmp_path, strategies=True)
    more = "".join(
        f'\n[[strategies]]\nname = "road-{i}"\nkind = "add_link"\n[strategies.params]\n'
        'from = "331003002"\nto = "331002"\n'
        for i in range(MAX_STRATEGIES)
    )
    scenario.write_text(scenario.read_text(encoding="utf-8") + more, encoding="utf-8")
    fails(capsys, scenario, earlier, "tiny.toml", f"{MAX_STRATEGIES + 1} strategies", "200")


# ------------------------------------------------------------------------ strategies


def test_add_link_with_identical_ends(tmp_path, earlier, capsys):
    scenario = make_scenario(tmp_path, strategies=True)
    _edit(scenario, 'to = "331004"', 'to = "331003002"')
    fails(capsys, scenario, earlier, "tiny.toml", "'new-road'", "from and to are both")


@pytest.mark.parametrize("rate", ["inf", "1e308", "-1", "nan"])
def test_infinite_eco_compensation_rate_names_rate_in_the_strategy(
    tmp_path, earlier, capsys, rate
):
    scenario = _with_ecosystem(tmp_path)
    _edit(
        scenario,
        "[flows.capital]",
        f'[[strategies]]\nname = "eco"\nkind = "eco_compensation"\n[strategies.params]\n'
        f"rate_yuan_per_m3 = {rate}\n\n[flows.capital]",
    )
    message = fails(capsys, scenario, earlier, "tiny.toml", "'eco'", "rate_yuan_per_m3")
    assert "volume" not in message


@pytest.mark.parametrize(
    "case",
    [
        ("speed_kph = 60", "speed_kph = 1e308", "speed_kph"),
        ("speed_kph = 60", "speed_kph = inf", "speed_kph"),
        ("speed_kph = 60", "speed_kph = 60\ncircuity = 1e9", "circuity"),
    ],
)
def test_speeds_and_factors_in_range(tmp_path, earlier, capsys, case):
    old, new, key = case
    scenario = make_scenario(tmp_path, strategies=True)
    _edit(scenario, old, new)
    fails(capsys, scenario, earlier, "tiny.toml", "'new-road'", key)


# ------------------------------------------------------------------------ special files


def test_symlink_loop_as_input(tiny, earlier, capsys):
    pop = tiny.parent / "data/pop.csv"
    pop.unlink()
    pop.symlink_to(pop)
    fails(capsys, tiny, earlier, "pop.csv", "loop")


@pytest.mark.parametrize("name", ["data/pop.csv", "data/zones.geojson", "data/seats.geojson"])
def test_fifo_as_input_is_never_opened(tiny, earlier, capsys, name):
    path = tiny.parent / name
    path.unlink()
    os.mkfifo(path)  # opening it for reading would wait for a writer forever
    fails(capsys, tiny, earlier, Path(name).name, "named pipe (FIFO)")


def test_fifo_as_scenario_file(tmp_path, capsys):
    path = tmp_path / "s.toml"
    os.mkfifo(path)
    assert main(["validate", str(path)]) == 2
    assert "named pipe (FIFO)" in capsys.readouterr().err


def test_device_as_input(tiny, earlier, capsys):
    pop = tiny.parent / "data/pop.csv"
    pop.unlink()
    pop.symlink_to("/dev/zero")
    fails(capsys, tiny, earlier, "/dev/zero", "is a device")


def test_folder_as_input(tiny, earlier, capsys):
    zones = tiny.parent / "data/zones.geojson"
    zones.unlink()
    zones.mkdir()
    fails(capsys, tiny, earlier, "zones.geojson", "is a folder")


def test_unreadable_input(tiny, earlier, capsys, monkeypatch):
    import urlink.validate

    real_open = os.open

    def denied(path, flags, *args, **kwargs):
        if str(path).endswith("pop.csv"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(urlink.validate.os, "open", denied)  # root reads any file
    fails(capsys, tiny, earlier, "pop.csv", "cannot be read (Permission denied)")


# ------------------------------------------------------------------------ geometry


def test_zone_of_zero_area(tiny, earlier, capsys):
    flat = shapely.Polygon([(121.2, 28.5), (121.3, 28.5), (121.2, 28.5)])
    _write_zones(tiny.parent / "data/zones.geojson", [_square(121.0), _square(121.1), flat])
    fails(capsys, tiny, earlier, "zones.geojson", "['331004'] have (almost) no area")


def test_polygon_crossing_the_antimeridian(tiny, earlier, capsys):
    wrap = shapely.Polygon([(179.9, 28.5), (-179.9, 28.5), (-179.9, 28.6), (179.9, 28.6)])
    _write_zones(tiny.parent / "data/zones.geojson", [_square(121.0), _square(121.1), wrap])
    fails(capsys, tiny, earlier, "zones.geojson", "['331004']", "antimeridian")


def test_zone_larger_than_any_province(tiny, earlier, capsys):
    huge = shapely.box(60.0, -50.0, 170.0, 80.0)
    _write_zones(tiny.parent / "data/zones.geojson", [_square(121.0), _square(121.1), huge])
    fails(capsys, tiny, earlier, "zones.geojson", "larger than any province")


def test_repeated_points_are_removed_with_a_warning(tiny, tmp_path, capsys):
    sq = _square(121.2)
    ring = list(sq.exterior.coords)
    repeated = shapely.Polygon([ring[0], ring[0], ring[1], ring[2], ring[2], *ring[3:]])
    _write_zones(tiny.parent / "data/zones.geojson", [_square(121.0), _square(121.1), repeated])
    assert main(["run", str(tiny), "--out", str(tmp_path / "ok")]) == 0
    err = capsys.readouterr().err
    assert "2 repeated point(s) removed from the rings of zones ['331004']" in err


def test_empty_geometry_collection(tiny, earlier, capsys):
    path = tiny.parent / "data/zones.geojson"
    text = path.read_text(encoding="utf-8")
    first = text.index('"geometry": {')
    end = text.index("}", text.index("]]]", first)) + 1
    path.write_text(
        text[:first] + '"geometry": {"type": "GeometryCollection", "geometries": []}' + text[end:]
    )
    fails(capsys, tiny, earlier, "zones.geojson", "empty geometry")


# ------------------------------------------------------------------------ limits


def test_decompression_bomb_is_refused_with_the_limit_named(tiny, earlier, capsys, monkeypatch):
    import bz2

    import urlink.validate

    head = '<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6">\n'
    body = "<!-- " + "x" * (3 * 2**20) + " -->\n</osm>\n"
    path = tiny.parent / "data/roads.osm.bz2"
    path.write_bytes(bz2.compress((head + body).encode()))
    assert path.stat().st_size < 2**12  # a few KiB expanding to 3 MiB
    monkeypatch.setattr(urlink.validate, "MAX_OSM_BYTES", 2**20)
    _edit(tiny, "[services]", '[network]\nosm = "data/roads.osm.bz2"\n\n[services]')
    fails(capsys, tiny, earlier, "roads.osm.bz2", "MAX_OSM_BYTES", "expands to more than 1 MiB")


def test_a_scenario_without_flows_runs(tmp_path, capsys):
    scenario = make_scenario(tmp_path, strategies=True)
    _edit(scenario, "[flows.people]\nbeta = 0.1\n", "")
    assert main(["run", str(scenario), "--out", str(tmp_path / "ok"), "-q"]) == 0, (
        capsys.readouterr().err
    )


def test_too_many_features_are_refused_before_reading(tiny, earlier, capsys, monkeypatch):
    import geopandas as gpd

    import urlink.validate

    def never(*args, **kwargs):
        raise AssertionError("the layer was read")

    monkeypatch.setattr(urlink.validate, "MAX_FEATURES", 2)
    monkeypatch.setattr(gpd, "read_file", never)
    fails(capsys, tiny, earlier, "zones.geojson", "3 features", "MAX_FEATURES")


def test_a_zone_larger_than_any_of_its_level_is_warned_about(tiny, capsys):
    big = shapely.box(121.2, 28.5, 127.4, 34.5)  # a "county" of about 390,000 km2
    _write_zones(tiny.parent / "data/zones.geojson", [_square(121.0), _square(121.1), big])
    assert main(["validate", str(tiny)]) == 0
    err = capsys.readouterr().err
    assert "county zones {'331004': '" in err and "larger than any county in China" in err


def test_a_header_padding_a_text_column_with_blanks(tiny, tmp_path, capsys):
    _edit(tiny.parent / "data/services.csv", "zone_id,service", "zone_id ,service")
    _edit(tiny.parent / "data/pop.csv", "zone_id,", " zone_id ,")
    assert main(["run", str(tiny), "--out", str(tmp_path / "ok"), "-q"]) == 0, (
        capsys.readouterr().err
    )


def test_an_integer_too_large_for_a_float(tiny, earlier, capsys):
    # found by benchmarks/fuzz.py: pandas reads it as a Python int and cannot convert it
    _edit(tiny.parent / "data/pop.csv", "331002,800000", "331002," + "9" * 400)
    fails(capsys, tiny, earlier, "pop.csv", "'population' (persons)", "'331002': '999")


# ------------------------------------------------------------------------ rasters (fuzzing)


@pytest.mark.parametrize(
    ("case", "needles"),
    [
        (("bytes", "cut", "53858651"), ("pop.tif", "could not be read", "damaged")),
        (("dtype", None, "complex64"), ("pop.tif", "'complex64'", "not counts of people")),
        (("huge", None, 100_000), ("pop.tif", "MAX_WINDOW_CELLS", "resample the raster")),
        (("crs", None, 'LOCAL_CS["engineering",UNIT["metre",1]]'),
         ("pop.tif", "cannot be transformed", "rio edit-info --crs")),
    ],
)  # fmt: skip
def test_hostile_rasters_found_by_fuzzing(tmp_path, earlier, capsys, case, needles):
    """A truncated GeoTIFF, complex cells, a grid of 10 billion cells, a CRS without a
    transformation: each was an internal error (or a read that exhausts the memory)."""
    scenario = apply_case(tmp_path, Case("run", RASTER, *case, "full"))
    fails(capsys, scenario, earlier, *needles)


def test_a_transfer_without_an_amount_names_the_file_and_the_fix(tmp_path, capsys):
    from .fuzzing import make_full

    scenario = make_full(tmp_path)
    (tmp_path / "data/transfers.csv").write_text(
        "payer,payee,amount_yuan_per_year\n331002,331003002,100000\n331004,331003002,\n",
        encoding="utf-8",
    )
    assert main(["validate", str(scenario), "-q"]) == 2
    err = capsys.readouterr().err
    assert "transfers.csv: rows [3] have no amount_yuan_per_year" in err
    assert "[flows.capital] per_capita_yuan" in err
    assert err.count("\n") == 1
