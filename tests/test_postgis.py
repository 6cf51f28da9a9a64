"""PostGIS: runs stored in one transaction, listed and compared; PostGIS tables as inputs.

The server tests run against a real PostgreSQL + PostGIS server that the ``pg`` fixture
starts in a temporary directory (tests/pg_server.py) and stops at the end of the session.
Without server binaries they are skipped, except under ``URLINK_CI=1`` (set by .ci/run),
where a missing server is a failure.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from tests import pg_server
from urlink.cli import main
from urlink.errors import InputError
from urlink.io import postgis
from urlink.scenario.spec import load_scenario
from urlink.scoring.indicators import INDICATORS
from urlink.store import runs as db

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "huangyan.toml"
PW = pg_server.PASSWORD
INJECTION = "x'; DROP TABLE runs; --"


# --- no server needed ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dsn", "expected"),
    [
        (
            "postgresql://planner:s3cr%40t@db.example:5433/gis",
            "postgresql://planner:***@db.example:5433/gis",
        ),
        ("postgres://planner@db.example/gis", "postgres://planner@db.example/gis"),
        (
            "postgresql://db.example/gis?sslmode=require&password=s3crt",
            "postgresql://db.example/gis?sslmode=require&password=***",
        ),
        ("postgresql:///gis?service=urlink", "postgresql:///gis?service=urlink"),
        ("host=db.example password=s3crt dbname=gis", "host=db.example password=*** dbname=gis"),
        ("host=h password = 'a b\\'c' user=u", "host=h password = *** user=u"),
        ("host=h dbname=gis", "host=h dbname=gis"),
    ],
)
def test_redact_dsn_masks_every_password(dsn: str, expected: str) -> None:
    assert postgis.redact_dsn(dsn) == expected
    assert "s3cr" not in postgis.redact_dsn(dsn)


@pytest.mark.parametrize(
    "name",
    ["runs; DROP TABLE runs", "Counties", "a.b.c", '"runs"', "", "1abc", "a-b", "a" * 64, "a.b;"],
)
def test_bad_table_names_are_refused(name: str) -> None:
    with pytest.raises(InputError, match="not a valid table name"):
        postgis.check_table_name(name)


def test_identifiers_are_checked() -> None:
    assert postgis.check_table_name("planning.counties_2020") == ("planning", "counties_2020")
    with pytest.raises(InputError, match="lower-case"):
        postgis.check_identifier("urlink; drop schema public", what="--db-schema")


def _scenario_copy(tmp_path: Path, *, name: str, replace: dict[str, str], extra: str = "") -> Path:
    """Huangyan scenario in tmp_path with absolute data paths and some text replaced."""
    text = SCENARIO.read_text(encoding="utf-8")
    text = text.replace('name = "huangyan"', f'name = "{name}"', 1)
    for old, new in replace.items():
        assert old in text
        text = text.replace(old, new, 1)
    text = text.replace('"../data/', f'"{ROOT}/data/')
    path = tmp_path / f"{name}.toml"
    path.write_text(text + extra, encoding="utf-8")
    return path


BOUNDARY_FILE = 'path = "../data/boundaries/taizhou_counties_gcj02.geojson"'
SEATS_FILE = 'path = "../data/places/huangyan_township_seats.geojson"'


@pytest.mark.parametrize(
    ("section", "match"),
    [
        (
            'path = "postgresql://planner:hunter2@db.example/gis"\ntable = "planning.counties"',
            "contains a password",
        ),
        ('path = "postgresql://db.example/gis"\ntable = "counties; DROP TABLE x"', "table name"),
        ('path = "postgresql://db.example/gis"', "'table' is missing"),
        ('path = "postgresql://db.example/gis"\nlayer = "counties"', "not 'layer'"),
        (BOUNDARY_FILE + '\ntable = "counties"', "must be a postgresql:// URL"),
    ],
)
def test_scenario_postgis_sources_are_checked(tmp_path: Path, section: str, match: str) -> None:
    path = _scenario_copy(tmp_path, name="pg-bad", replace={BOUNDARY_FILE: section})
    with pytest.raises(InputError, match=match) as err:
        load_scenario(path)
    assert "hunter2" not in str(err.value)


def test_scenario_with_postgis_boundaries_parses(tmp_path: Path) -> None:
    url = "postgresql://planner@db.example:5432/gis"
    section = f'path = "{url}"\ntable = "planning.counties"'
    s = load_scenario(_scenario_copy(tmp_path, name="pg-ok", replace={BOUNDARY_FILE: section}))
    assert s.boundaries.path == url
    assert s.boundaries.layer == "planning.counties"
    assert s.input_tables() == [(url, "planning.counties")]
    assert all(isinstance(p, Path) for p in s.input_files())
    assert len(s.input_files()) == len(load_scenario(SCENARIO).input_files()) - 1


def test_unreachable_database_exits_2_without_password(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("psycopg")
    port = pg_server.free_port()  # nothing listens there
    url = f"postgresql://planner:{PW}@127.0.0.1:{port}/gis"
    out = tmp_path / "out"
    code = main(["run", str(SCENARIO), "--out", str(out), "--db", url, "-q"])
    captured = capsys.readouterr()
    assert code == 2
    assert f"host 127.0.0.1, port {port}, database gis, user planner" in captured.err
    assert "Traceback" not in captured.err
    assert PW not in captured.err + captured.out
    assert not out.exists()  # checked before the run: nothing written


# --- server ----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def pg() -> object:
    try:
        import psycopg  # noqa: F401

        server = pg_server.start()
    except (
        ImportError,
        pg_server.ServerUnavailableError,
        OSError,
        subprocess.SubprocessError,
    ) as err:
        reason = f"no PostgreSQL + PostGIS server could be started for the tests: {err}"
        if os.environ.get("URLINK_CI") == "1":
            pytest.fail(f"{reason} (URLINK_CI=1: the PostGIS tests must run in CI)")
        pytest.skip(reason)
    try:
        yield server
    finally:
        pg_server.stop(server)


@pytest.fixture(scope="module")
def base_out(huangyan_run: Path) -> Path:
    """The session's Huangyan run (tests/conftest.py): read, never changed."""
    return huangyan_run


@pytest.fixture(scope="module")
def base_run(pg: pg_server.Server, base_out: Path) -> int:
    return db.write_run(pg.dsn(), base_out)


def _count(pg: pg_server.Server, sql: str, *params: object) -> int:
    import psycopg

    with psycopg.connect(pg.dsn()) as con:
        row = con.execute(sql, params).fetchone()
    assert row is not None
    return int(row[0])


def _counts(pg: pg_server.Server, schema: str) -> dict[str, int]:
    out = {}
    for t in ("runs", *db.RUN_TABLES):
        exists = _count(
            pg, "SELECT count(*) FROM pg_tables WHERE schemaname=%s AND tablename=%s", schema, t
        )
        out[t] = _count(pg, f'SELECT count(*) FROM "{schema}"."{t}"') if exists else -1
    return out


def test_round_trip_matches_the_output_files(
    pg: pg_server.Server, base_out: Path, base_run: int
) -> None:
    dsn = pg.dsn()
    zones_file = gpd.read_file(base_out / "linkages.gpkg", layer="zones")
    zones = db.read_run_table(dsn, base_run, "zones")
    assert zones.crs.to_epsg() == 4326
    assert zones["zone_id"].tolist() == zones_file["zone_id"].tolist()
    assert zones["population"].tolist() == zones_file["population"].tolist()
    assert zones["typology"].tolist() == zones_file["typology"].tolist()
    assert set(zones.geom_type) == {"MultiPolygon"}
    for a, b in zip(zones.geometry, zones_file.geometry, strict=True):
        assert shapely.equals_exact(a, b, tolerance=0.0)  # WKB carries the doubles exactly

    flows_file = gpd.read_file(base_out / "linkages.gpkg", layer="flows")
    flows = db.read_run_table(dsn, base_run, "flows")
    assert len(flows) == len(flows_file) > 0
    assert flows["volume"].sum() == pytest.approx(flows_file["volume"].sum(), rel=1e-12)
    assert flows["co2_kg_per_day"].tolist() == flows_file["co2_kg_per_day"].tolist()
    assert shapely.equals_exact(flows.geometry.iloc[0], flows_file.geometry.iloc[0], 0.0)
    assert len(db.read_run_table(dsn, base_run, "network")) == len(
        gpd.read_file(base_out / "linkages.gpkg", layer="network")
    )

    for name in ("indicators", "scores", "robustness", "guidelines", "attribution"):
        csv = pd.read_csv(base_out / f"{name}.csv", dtype={"unit": str, "sdg": str})
        stored = db.read_run_table(dsn, base_run, name)
        assert list(stored.columns) == list(csv.columns), name
        assert len(stored) == len(csv) > 0, name
    ind_csv = pd.read_csv(base_out / "indicators.csv", dtype={"unit": str, "sdg": str})
    ind = db.read_run_table(dsn, base_run, "indicators")
    assert ind["value"].equals(ind_csv["value"])
    assert ind["unit"].tolist() == ind_csv["unit"].tolist()  # codes stay text: "331003"
    assert ind["sdg"].tolist() == ind_csv["sdg"].fillna("").replace("", None).tolist()

    manifest = json.loads((base_out / "manifest.json").read_text(encoding="utf-8"))
    import psycopg

    with psycopg.connect(dsn) as con:
        row = con.execute(
            "SELECT scenario, urlink_version, n_zones, n_flows, n_indicators, n_strategies, "
            "manifest FROM urlink.runs WHERE run_id = %s",
            (base_run,),
        ).fetchone()
        geometry_columns = con.execute(
            "SELECT f_table_name, type, srid FROM geometry_columns WHERE f_table_schema = "
            "'urlink' AND f_table_name NOT LIKE '%%latest' ORDER BY 1"
        ).fetchall()
        gist = con.execute(
            "SELECT count(*) FROM pg_indexes WHERE schemaname = 'urlink' AND indexdef LIKE "
            "'%USING gist (geom)%'"
        ).fetchone()
    assert row is not None
    assert row[:6] == (
        "huangyan",
        manifest["versions"]["urlink"],
        29,
        len(flows_file),
        len(ind_csv),
        9,  # 8 strategies and a package
    )
    assert row[6] == manifest
    assert geometry_columns == [
        ("flows", "LINESTRING", 4326),
        ("network", "LINESTRING", 4326),
        ("zones", "MULTIPOLYGON", 4326),
    ]
    assert gist == (3,)


def test_a_failed_write_stores_nothing(
    pg: pg_server.Server, base_out: Path, base_run: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = db._copy_rows
    written: list[str] = []

    def failing(cur, schema, name, frame, run_id):  # type: ignore[no-untyped-def]
        if name == "scores":
            raise RuntimeError("disk full (injected)")
        written.append(name)
        return real(cur, schema, name, frame, run_id)

    before = _counts(pg, "urlink")
    monkeypatch.setattr(db, "_copy_rows", failing)
    with pytest.raises(RuntimeError, match="injected"):
        db.write_run(pg.dsn(), base_out)
    assert written == ["zones", "flows", "network", "indicators", "attribution", "guidelines"]
    assert _counts(pg, "urlink") == before
    # in a new schema even the schema and its tables are rolled back
    with pytest.raises(RuntimeError, match="injected"):
        db.write_run(pg.dsn(), base_out, schema="fresh_atomic")
    assert _count(pg, "SELECT count(*) FROM pg_namespace WHERE nspname = 'fresh_atomic'") == 0


@pytest.fixture(scope="module")
def planning(pg: pg_server.Server) -> str:
    """The bundled counties and township seats as PostGIS tables; the URL without password."""
    _load_table(
        pg,
        gpd.read_file(ROOT / "data/boundaries/taizhou_counties_gcj02.geojson"),
        "planning.counties",
    )
    _load_table(
        pg,
        gpd.read_file(ROOT / "data/places/huangyan_township_seats.geojson"),
        "planning.township_seats",
    )
    return pg.dsn(password=False)


def _pg_sources(url: str, *, seats_table: str = "planning.township_seats") -> dict[str, str]:
    return {
        BOUNDARY_FILE: f'path = "{url}"\ntable = "planning.counties"',
        SEATS_FILE: f'path = "{url}"\ntable = "{seats_table}"\n',
    }


@pytest.fixture(scope="module")
def variant_run(
    pg: pg_server.Server,
    base_run: int,
    planning: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> int:
    """Huangyan read from PostGIS, every transport emission factor doubled, run by the CLI."""
    folder = tmp_path_factory.mktemp("variant")
    path = _scenario_copy(
        folder,
        name="huangyan-co2x2",
        replace=_pg_sources(planning),
        extra=(
            "\n[emissions.factors_g]\ncar = 258.0\nroad_freight = 82.5\nbus = 63.4\nebike = 40.0\n"
        ),
    )
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PGPASSWORD", PW)  # the scenario's URL has none
        code = main(["run", str(path), "--out", str(folder / "out"), "--db", pg.dsn(), "-q"])
    assert code == 0
    runs = db.runs_from_db(pg.dsn())
    return int(runs.loc[runs["scenario"] == "huangyan-co2x2", "run_id"].iloc[-1])


def test_postgis_inputs_are_recorded(
    pg: pg_server.Server, variant_run: int, planning: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import psycopg

    with psycopg.connect(pg.dsn()) as con:
        row = con.execute(
            "SELECT manifest FROM urlink.runs WHERE run_id = %s", (variant_run,)
        ).fetchone()
    assert row is not None
    tables = [i for i in row[0]["inputs"] if "table" in i]
    monkeypatch.setenv("PGPASSWORD", PW)
    assert tables == [
        postgis.table_fingerprint(planning, "planning.counties"),
        postgis.table_fingerprint(planning, "planning.township_seats"),
    ]
    assert [(t["path"], t["rows"]) for t in tables] == [(planning, 11), (planning, 19)]
    assert PW not in json.dumps(row[0])


def test_compare_two_runs(
    pg: pg_server.Server, base_run: int, variant_run: int, base_out: Path
) -> None:
    table = db.compare_runs(pg.dsn(), base_run, variant_run).set_index("indicator")
    ind = pd.read_csv(base_out / "indicators.csv", dtype={"unit": str})
    base = ind[(ind["strategy"] == "baseline") & (ind["scope"] == "district")]
    assert table.index.tolist() == base["indicator"].tolist()
    assert table["run_a"].tolist() == base["value"].tolist()
    assert table.loc["co2_t_per_day", "unit"] == INDICATORS["co2_t_per_day"].unit
    # CO2 and the trip credits (CO2 avoided against the car) are linear in the factors, all
    # doubled here (walking emits nothing), so they double
    for key in ("co2_t_per_day", "co2_kg_per_person_day", "trip_credits_t_per_day"):
        a, b = table.loc[key, ["run_a", "run_b"]]
        assert b == pytest.approx(2 * a, rel=1e-5)  # the CSV keeps 6 significant digits
        assert table.loc[key, "difference"] == pytest.approx(a, rel=1e-5)
    for key in ("co2_t_per_day", "co2_kg_per_person_day"):
        assert table.loc[key, "change"] == "worse"  # direction "min"
    others = table.drop(index=["co2_t_per_day", "co2_kg_per_person_day", "trip_credits_t_per_day"])
    assert (others["difference"] == 0).all()
    assert set(others["change"]) == {"same"}
    reverse = db.compare_runs(pg.dsn(), variant_run, base_run).set_index("indicator")
    assert reverse.loc["co2_t_per_day", "change"] == "better"


def test_a_failed_run_stores_nothing(
    pg: pg_server.Server, base_run: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _scenario_copy(
        tmp_path, name="bad-focus", replace={'focus = "331003"': 'focus = "999999"'}
    )
    before = _counts(pg, "urlink")
    out = tmp_path / "out"
    assert main(["run", str(path), "--out", str(out), "--db", pg.dsn(), "-q"]) == 2
    assert "focus = '999999' is not an id" in capsys.readouterr().err
    assert _counts(pg, "urlink") == before
    assert not out.exists()


def test_cli_runs_and_compare(
    pg: pg_server.Server, base_run: int, variant_run: int, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main(["runs", "--db", pg.dsn()]) == 0
    out = capsys.readouterr().out
    lines = {ln.split()[0]: ln.split() for ln in out.splitlines()[1:]}
    assert lines[str(base_run)][1] == "huangyan"
    assert lines[str(variant_run)][1] == "huangyan-co2x2"
    listed = db.runs_from_db(pg.dsn()).set_index("run_id")
    counts = ["n_zones", "n_flows", "n_indicators", "n_strategies"]
    assert lines[str(base_run)][-4:] == [str(v) for v in listed.loc[base_run, counts]]
    assert listed.loc[base_run, "n_zones"] == 29

    assert main(["compare", str(base_run), str(variant_run), "--db", pg.dsn()]) == 0
    out = capsys.readouterr().out
    row = next(ln for ln in out.splitlines() if ln.strip().startswith("co2_t_per_day"))
    assert row.split()[-1] == "worse"

    latest = listed.reset_index().groupby("scenario")["run_id"].max()
    import psycopg

    with psycopg.connect(pg.dsn()) as con:
        in_view = con.execute(
            "SELECT run_id, count(*), count(DISTINCT fid) FROM urlink.zones_latest GROUP BY 1 "
            "ORDER BY 1"
        ).fetchall()
    assert in_view == [(int(r), 29, 29) for r in sorted(latest)]

    assert main(["compare", str(base_run), "987654", "--db", pg.dsn()]) == 2
    assert "run id 987654 is not in urlink.runs" in capsys.readouterr().err
    assert main(["compare", "abc", str(base_run), "--db", pg.dsn()]) == 2
    assert "'abc'" in capsys.readouterr().err
    assert main(["runs", "--db", pg.dsn(), "--db-schema", "nothing_here"]) == 0
    assert "no runs stored" in capsys.readouterr().out


def test_injection_attempts_are_inert(
    pg: pg_server.Server,
    base_out: Path,
    base_run: int,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    folder = tmp_path / "out"
    shutil.copytree(base_out, folder)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    manifest["scenario"] = manifest["title"] = INJECTION
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    before = _counts(pg, "urlink")
    run_id = db.write_run(pg.dsn(), folder)
    after = _counts(pg, "urlink")
    assert after["runs"] == before["runs"] + 1
    assert after["zones"] == before["zones"] + 29
    assert (
        _count(
            pg,
            "SELECT count(*) FROM urlink.runs WHERE scenario = %s AND title = %s AND run_id = %s",
            INJECTION,
            INJECTION,
            run_id,
        )
        == 1
    )

    strategy = "baseline' OR '1'='1"
    with pytest.raises(InputError, match="no district indicators"):
        db.compare_runs(pg.dsn(), base_run, run_id, strategy=strategy)
    assert (
        main(["runs", "--db", pg.dsn(), "--db-schema", 'urlink"; DROP TABLE urlink.runs; --']) == 2
    )
    assert "not a valid PostgreSQL name" in capsys.readouterr().err
    assert main(["compare", "1; DROP TABLE urlink.runs", "1", "--db", pg.dsn()]) == 2
    assert _counts(pg, "urlink")["runs"] == after["runs"]


def _load_table(pg: pg_server.Server, gdf: gpd.GeoDataFrame, table: str) -> None:
    """Copy a layer into a PostGIS table (columns as text, numbers as numeric)."""
    import psycopg

    schema = table.split(".", maxsplit=1)[0]
    cols = [c for c in gdf.columns if c != "geometry"]
    kinds = {
        c: "numeric" if pd.api.types.is_numeric_dtype(gdf[c]) and gdf[c].dtype != bool else "text"
        for c in cols
    }
    with psycopg.connect(pg.dsn()) as con:
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        defs = ", ".join(f"{c} {kinds[c]}" for c in cols)
        con.execute(f"CREATE TABLE {table} ({defs}, geom geometry(Geometry, 4326))")
        placeholders = ", ".join(["%s"] * len(cols))
        for _, r in gdf.iterrows():
            values = [
                None if pd.isna(r[c]) else (str(r[c]) if kinds[c] == "text" else int(r[c]))
                for c in cols
            ]
            con.execute(
                f"INSERT INTO {table} ({', '.join(cols)}, geom) VALUES ({placeholders}, "
                "ST_GeomFromWKB(%s, 4326))",
                [*values, shapely.to_wkb(r.geometry)],
            )


def test_scenario_inputs_from_postgis_tables(
    pg: pg_server.Server,
    planning: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import psycopg

    from urlink.scenario.build import zones_from_scenario

    monkeypatch.setenv("PGPASSWORD", PW)  # the URL has no password
    path = _scenario_copy(
        tmp_path, name="huangyan-pg", replace=_pg_sources(planning, seats_table="township_seats")
    )
    # a bare table name is looked up on the search path ("$user", public): not found
    with pytest.raises(InputError, match="'township_seats' does not exist"):
        zones_from_scenario(load_scenario(path))
    text = path.read_text(encoding="utf-8").replace(
        'table = "township_seats"', 'table = "planning.township_seats"'
    )
    path.write_text(text, encoding="utf-8")
    zones, _ = zones_from_scenario(load_scenario(path))
    expected, _ = zones_from_scenario(load_scenario(SCENARIO))
    assert zones.index.tolist() == expected.index.tolist()
    assert zones["population"].tolist() == expected["population"].tolist()
    assert zones["name"].tolist() == expected["name"].tolist()
    assert zones.geometry.geom_equals_exact(expected.geometry, tolerance=0.0).all()
    county = zones["level"] == "county"
    assert set(zones.loc[county, "geometry_source"]) == {"postgis:planning.counties"}
    assert main(["validate", str(path), "-q"]) == 0
    assert PW not in "".join(capsys.readouterr())

    with psycopg.connect(pg.dsn()) as con:
        con.execute("CREATE TABLE planning.counties_copy AS SELECT * FROM planning.counties")
    fp = postgis.table_fingerprint(planning, "planning.counties_copy")
    assert fp["rows"] == 11
    assert len(fp["sha256"]) == 64
    assert fp["sha256"] == postgis.table_fingerprint(planning, "planning.counties")["sha256"]
    with psycopg.connect(pg.dsn()) as con:
        con.execute(
            "UPDATE planning.counties_copy SET name_en = name_en || ' ' WHERE adcode = '331003'"
        )
    assert postgis.table_fingerprint(planning, "planning.counties_copy")["sha256"] != fp["sha256"]


def test_password_never_logged_or_printed(
    pg: pg_server.Server,
    base_out: Path,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(logging.getLogger("urlink"), "propagate", True)
    caplog.set_level(logging.DEBUG, logger="urlink")
    run_id = db.write_run(pg.dsn(), base_out, schema="logged")
    assert "stored run" in caplog.text
    assert "127.0.0.1" in caplog.text  # the target is logged ...
    assert PW not in caplog.text  # ... without its password
    assert main(["runs", "--db", pg.dsn(), "--db-schema", "logged", "-vv"]) == 0
    bad = pg.dsn().replace(PW, PW + "x")
    assert main(["compare", str(run_id), str(run_id), "--db", bad, "-vv"]) == 2
    captured = capsys.readouterr()
    assert "password authentication failed" in captured.err
    assert PW not in captured.out + captured.err + caplog.text


def test_team_roles_as_in_the_docs(pg: pg_server.Server, base_out: Path) -> None:
    """A writer role owning the results schema and a read-only role for QGIS users."""
    import psycopg

    with psycopg.connect(pg.dsn(), autocommit=True) as con:
        for statement in (
            "CREATE ROLE team_writer LOGIN PASSWORD 'writer-pw'",
            "CREATE ROLE team_reader LOGIN PASSWORD 'reader-pw'",
            "CREATE SCHEMA team AUTHORIZATION team_writer",
            "GRANT USAGE ON SCHEMA team TO team_reader",
            "ALTER DEFAULT PRIVILEGES FOR ROLE team_writer IN SCHEMA team "
            "GRANT SELECT ON TABLES TO team_reader",
        ):
            con.execute(statement)
    writer = f"postgresql://team_writer:writer-pw@127.0.0.1:{pg.port}/{pg_server.DATABASE}"
    reader = f"postgresql://team_reader:reader-pw@127.0.0.1:{pg.port}/{pg_server.DATABASE}"
    run_id = db.write_run(writer, base_out, schema="team")
    assert db.runs_from_db(reader, schema="team")["run_id"].tolist() == [run_id]
    assert len(db.read_run_table(reader, run_id, "zones", schema="team")) == 29
    with pytest.raises(InputError, match="refused: permission denied") as err:
        db.write_run(reader, base_out, schema="team")
    assert "reader-pw" not in str(err.value)
    with pytest.raises(InputError, match="refused: permission denied"):  # no CREATE on the db
        db.write_run(writer, base_out, schema="team_elsewhere")
    assert db.runs_from_db(writer, schema="team")["run_id"].tolist() == [run_id]
    # once the tables exist, a role that may only insert and select can store runs too
    with psycopg.connect(pg.dsn(), autocommit=True) as con:
        con.execute("CREATE ROLE team_inserter LOGIN PASSWORD 'inserter-pw'")
        con.execute("GRANT USAGE ON SCHEMA team TO team_inserter")
        con.execute("GRANT INSERT, SELECT ON ALL TABLES IN SCHEMA team TO team_inserter")
    inserter = writer.replace("team_writer:writer-pw", "team_inserter:inserter-pw")
    second = db.write_run(inserter, base_out, schema="team")
    assert db.runs_from_db(reader, schema="team")["run_id"].tolist() == [run_id, second]
    # the query of docs/postgis.md (QGIS DB Manager) works for the reader
    with psycopg.connect(reader) as con:
        rows = con.execute(
            "SELECT z.fid, z.zone_id, z.name, a.time_saved_person_min_per_day, a.crosses, "
            "z.geom FROM team.zones z JOIN team.attribution a ON a.run_id = z.run_id AND "
            "a.unit = z.zone_id WHERE z.run_id = %s AND a.strategy = 'bus-west-mountains' "
            "AND a.level = 'township'",
            (second,),
        ).fetchall()
    assert len(rows) == 29
    assert len({r[0] for r in rows}) == 29


def test_the_workshop_session_in_postgresql(pg) -> None:
    # urlink workshop --db (#17): the same session store as SQLite, in a schema of its own
    from tests.test_workshop import store_round_trip
    from urlink.workshop.store import SessionStore

    dsn = pg.dsn()
    store_round_trip(lambda name: SessionStore("", scenario=name, db=dsn, schema="ws_test"))
    with pytest.raises(InputError, match="lower-case"):
        SessionStore("", scenario="x", db=dsn, schema="ws; drop schema public")


# --- hostile PostGIS tables (#19) --------------------------------------------------------

_HOSTILE_ROW_EDITS = {
    "null_geometry": "geom = NULL",
    "empty_geometry": "geom = ST_GeomFromText('POLYGON EMPTY', 4326)",
    "point": "geom = ST_SetSRID(ST_MakePoint(121.2, 28.6), 4326)",
    "bowtie": "geom = ST_GeomFromText('POLYGON((121 28, 122 29, 122 28, 121 29, 121 28))', 4326)",
    "huge": "geom = ST_Scale(geom, 50, 50)",
    "across_the_antimeridian": (
        "geom = ST_GeomFromText('POLYGON((-179 28, 179 28, 179 29, -179 29, -179 28))', 4326)"
    ),
    "other_srid": "geom = ST_SetSRID(geom, 3857)",
    "null_id": "adcode = NULL",
    "duplicate_id": "adcode = '331002'",
    "numeric_text_id": "adcode = '3.31003e5'",
    "markup_name": "name_zh = '<script>alert(1)</script>'",
    "null_name": "name_zh = NULL",
    "null_level": "level = NULL",
    "unknown_level": "level = 'galaxy'",
}
_HOSTILE_TABLE_EDITS = {
    "no_rows": "DELETE FROM {t}",
    "two_geometries": "ALTER TABLE {t} ADD COLUMN geom2 geometry(Point, 4326)",
    "no_geometry": "ALTER TABLE {t} DROP COLUMN geom",
    "no_id_column": "ALTER TABLE {t} DROP COLUMN adcode",
}


@pytest.mark.parametrize("edit", sorted(_HOSTILE_ROW_EDITS) + sorted(_HOSTILE_TABLE_EDITS))
def test_hostile_postgis_tables_exit_0_or_2(  # noqa: PLR0917 - fixtures
    pg: pg_server.Server,
    planning: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    edit: str,
) -> None:
    """A broken boundaries table in PostGIS is refused with a message, or repaired."""
    import psycopg

    monkeypatch.setenv("PGPASSWORD", PW)
    table = f"planning.hostile_{edit}"
    with psycopg.connect(pg.dsn()) as con:
        con.execute(f"DROP TABLE IF EXISTS {table}")
        con.execute(f"CREATE TABLE {table} AS SELECT * FROM planning.counties")
        # an unconstrained geometry column, so rows may carry another type or SRID
        con.execute(f"ALTER TABLE {table} ALTER COLUMN geom TYPE geometry")
        if edit in _HOSTILE_ROW_EDITS:
            # a context county (Huangyan itself must stay for the focus)
            con.execute(f"UPDATE {table} SET {_HOSTILE_ROW_EDITS[edit]} WHERE adcode = '331004'")
        else:
            con.execute(_HOSTILE_TABLE_EDITS[edit].format(t=table))
    sources = _pg_sources(planning)
    sources[BOUNDARY_FILE] = f'path = "{planning}"\ntable = "{table}"'
    path = _scenario_copy(tmp_path, name=f"pg-{edit}", replace=sources)
    code = main(["validate", str(path), "-q"])
    out, err = capsys.readouterr()
    assert code in (0, 2), err
    assert "Traceback" not in err
    assert PW not in out + err
    # every edit but a missing name or level (not needed for a context county) is refused,
    # naming the table, and the county or the column where it is about one
    assert code == (0 if edit in ("null_name", "null_level", "unknown_level") else 2), err
    if code == 2:
        assert f"hostile_{edit}" in err or "3.31003e5" in err, err
    if edit in ("null_geometry", "empty_geometry", "point", "bowtie", "markup_name",
                "across_the_antimeridian"):  # fmt: skip
        assert "331004" in err, err
    if edit == "duplicate_id":
        assert "331002" in err, err
