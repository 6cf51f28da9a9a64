"""Hostile inputs for every reader, and the invariant the command line must keep (#19).

Hypothesis strategies that break the tiny scenario of ``tests/test_bad_inputs.py`` one way
at a time: a scenario value replaced by any TOML value (lists, tables, nesting, huge, NaN
and infinite numbers, markup, paths), keys removed or added; a CSV cell of any input table
replaced by hostile text, tables cut to their header, columns dropped, bytes garbled; a
GeoJSON coordinate, geometry, property or the whole file broken. :func:`run_case` writes the
scenario with the case applied and runs the CLI in-process; :func:`violation` says what is
wrong with the outcome: the invariant is exit code 0 or 2, never 1, never a traceback,
never a hang (a time limit per case).

Used by ``tests/test_fuzz.py`` (a small seeded batch) and ``benchmarks/fuzz.py`` (many
more, failing cases written to a file).
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import signal
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from urlink.cli import main

from .test_bad_inputs import SCENARIO, STRATEGIES, make_scenario

BASE: dict[str, Any] = tomllib.loads(SCENARIO + STRATEGIES)
TIME_LIMIT_S = 60.0
"""A case that takes longer counts as a hang."""

TABLES = {
    "data/pop.csv": ["zone_id", "population", "population_source"],
    "data/units.csv": ["code", "n_communities", "n_villages", "n_other"],
    "data/services.csv": ["zone_id", "service"],
    "data/weights.csv": ["group", "indicator", "points"],
}
LAYERS = ("data/zones.geojson", "data/seats.geojson")


# ------------------------------------------------------------------------ TOML writing


def _toml_value(value: Any) -> str:  # noqa: PLR0911 - one return per TOML type
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a valid TOML basic string
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        items = (f"{json.dumps(k)} = {_toml_value(v)}" for k, v in value.items())
        return "{" + ", ".join(items) + "}"
    raise TypeError(value)


def to_toml(data: dict[str, Any]) -> str:
    """Write a dict as TOML (inline tables)."""
    return "".join(f"{json.dumps(k)} = {_toml_value(v)}\n" for k, v in data.items())


# ------------------------------------------------------------------------ strategies

COMMANDS = st.sampled_from(["validate", "validate", "validate", "run"])
"""Most cases are validated (every reader runs); one in four is run and written."""

WORDS = [
    "", " ", "x", "331003", "331002", "331003001", "331009", "gravity", "add_link", "wgs84",
    "gcj02", "all", "touching", "unknown", "data/zones.geojson", "data/pop.csv", "data",
    "/dev/zero", "/nonexistent", "../../etc/passwd", "<script>alert(1)</script>", "{{x}}",
    "javascript:x", "黄岩区", "\u0000", "\x1b[31m", "a" * 300, "postgresql://u:p@h/db",
]  # fmt: skip
NUMBERS = [0, -1, 1, 2**63 - 1, -(2**63), 10**18, 0.0, -0.0, 1e-300, 1e300, -1e300, 1e308,
           math.inf, -math.inf, math.nan, 0.5, 100, 2**32]  # fmt: skip


def _leaves() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.sampled_from(WORDS),
        st.sampled_from(NUMBERS),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=12),
    )


KEYS = st.sampled_from(["a", "from", "to", "name", "kind", "x"])


def toml_values() -> st.SearchStrategy[Any]:
    """Any value a TOML file can hold (no dates), nested a little."""
    return st.recursive(
        _leaves(),
        lambda inner: st.one_of(
            st.lists(inner, max_size=4),
            st.dictionaries(KEYS, inner, max_size=3),
        ),
        max_leaves=8,
    )


def _paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out: list[tuple[Any, ...]] = []
    items = data.items() if isinstance(data, dict) else enumerate(data)
    for key, value in items:
        out.append((*prefix, key))
        if isinstance(value, dict | list):
            out += _paths(value, (*prefix, key))
    return out


PATHS = _paths(BASE)


@dataclass(frozen=True)
class Case:
    """One hostile input: what is broken, how, and which command reads it."""

    command: str
    target: str
    op: str
    where: Any
    value: Any

    def describe(self) -> str:
        """Return the case as one line of JSON (for the failures file)."""
        return json.dumps(
            {k: getattr(self, k) for k in ("command", "target", "op", "where", "value")},
            default=repr,
            ensure_ascii=True,
        )


@st.composite
def toml_cases(draw: st.DrawFn) -> Case:
    """A scenario with one key replaced, removed or added, or deeply nested."""
    op = draw(st.sampled_from(["replace", "replace", "replace", "delete", "add", "nest", "text"]))
    path = draw(st.sampled_from(PATHS))
    value: Any = None
    if op in ("replace", "add"):
        value = draw(toml_values())
    elif op == "nest":
        value = draw(st.integers(min_value=1, max_value=3000))
    elif op == "text":
        value = draw(st.text(max_size=40))
    command = draw(COMMANDS)
    return Case(command, "tiny.toml", op, list(path), value)


CELLS = ["", " ", "nan", "NaN", "inf", "-inf", "-1", "0", "1e300", "1e-300", "1e400", "abc",
         "<b>x</b>", "1,000", '"', "331003", "331002", "331003001", "\t", "9" * 400, "true",
         "0x10", "1_000", "١٢٣", "residents", "co2_t_per_day"]  # fmt: skip


TABLE_OPS = ["cell", "cell", "cell", "header_only", "drop_column", "rename_column",
             "extra_row", "bytes", "duplicate_row"]  # fmt: skip


@st.composite
def table_cases(draw: st.DrawFn) -> Case:
    """An input table with a cell, a column, its rows or its bytes broken."""
    target = draw(st.sampled_from(sorted(TABLES)))
    op = draw(st.sampled_from(TABLE_OPS))
    where: Any = None
    value: Any = None
    if op == "cell":
        where = [draw(st.integers(0, 3)), draw(st.sampled_from(TABLES[target]))]
        value = draw(st.one_of(st.sampled_from(CELLS), st.text(max_size=15)))
    elif op in ("drop_column", "rename_column"):
        where = draw(st.sampled_from(TABLES[target]))
        value = draw(st.sampled_from(["", "x", TABLES[target][0], "zone_id ", "人口"]))
    elif op == "extra_row":
        value = draw(st.text(max_size=30))
    elif op == "bytes":
        value = draw(st.binary(max_size=30)).hex()
    command = draw(COMMANDS)
    return Case(command, target, op, where, value)


@st.composite
def geojson_cases(draw: st.DrawFn) -> Case:
    """A zones or seats GeoJSON with a coordinate, geometry, property or its text broken."""
    target = draw(st.sampled_from(LAYERS))
    op = draw(st.sampled_from(["coordinate", "coordinate", "geometry", "property", "features",
                               "text", "crs"]))  # fmt: skip
    where: Any = draw(st.integers(0, 2))
    value: Any
    if op == "coordinate":
        value = draw(st.one_of(st.sampled_from(NUMBERS), st.floats(-400, 400)))
    elif op == "geometry":
        value = draw(st.one_of(
            st.none(),
            st.sampled_from([
                {"type": "Point", "coordinates": [121.0, 28.5]},
                {"type": "Polygon", "coordinates": []},
                {"type": "Polygon", "coordinates": [[[121, 28.5], [121.1, 28.5], [121, 28.5]]]},
                {"type": "Polygon", "coordinates": [[[179.9, 28.5], [-179.9, 28.5],
                                                     [-179.9, 28.6], [179.9, 28.6],
                                                     [179.9, 28.5]]]},
                {"type": "GeometryCollection", "geometries": []},
                {"type": "LineString", "coordinates": [[121, 28.5], [121.1, 28.6]]},
                {"type": "Polygon", "coordinates": [[[121, 28.5], [121.1, 28.6], [121.1, 28.5],
                                                     [121, 28.6], [121, 28.5]]]},
                {"type": "Polygon", "coordinates": [[[-180, -90], [180, -90], [180, 90],
                                                     [-180, 90], [-180, -90]]]},
                {"type": "Nonsense", "coordinates": 5},
            ]),
        ))  # fmt: skip
    elif op == "property":
        where = [where, draw(st.sampled_from(["adcode", "code", "name_zh", "name_en"]))]
        value = draw(toml_values())
    elif op == "features":
        value = draw(st.sampled_from(["none", "duplicate", "drop", "not_a_list", "no_key"]))
    elif op == "crs":
        value = draw(st.sampled_from(["EPSG:32651", "EPSG:4490", "nonsense", 5, None]))
    else:
        value = draw(st.text(max_size=40))
    command = draw(COMMANDS)
    return Case(command, target, op, where, value)


def any_case() -> st.SearchStrategy[Case]:
    """Any hostile input for any reader."""
    return st.one_of(toml_cases(), table_cases(), geojson_cases())


# ------------------------------------------------------------------------ applying a case


def _set(data: Any, path: list[Any], value: Any) -> None:
    for key in path[:-1]:
        data = data[key]
    data[path[-1]] = value


def _delete(data: Any, path: list[Any]) -> None:
    for key in path[:-1]:
        data = data[key]
    del data[path[-1]]


def _apply_toml(root: Path, case: Case) -> None:
    path = root / "tiny.toml"
    data = json.loads(json.dumps(BASE))  # a deep copy
    if case.op == "replace":
        _set(data, case.where, case.value)
    elif case.op == "delete":
        _delete(data, case.where)
    elif case.op == "add":
        parent = case.where[:-1]
        target = data
        for key in parent:
            target = target[key]
        if isinstance(target, dict):
            target["zz_added"] = case.value
        else:
            target.append(case.value)
    elif case.op == "nest":
        _set(data, case.where, "@NEST@")
    if case.op == "nest":  # written as text: deeper than any writer (or reader) recursion
        nest = "[" * case.value + "1" + "]" * case.value
        path.write_text(to_toml(data).replace('"@NEST@"', nest), encoding="utf-8")
        return
    if case.op == "text":
        text = to_toml(data)
        cut = len(text) // 2
        path.write_text(text[:cut] + case.value + text[cut:], encoding="utf-8")
        return
    path.write_text(to_toml(data), encoding="utf-8")


def _apply_table(root: Path, case: Case) -> None:
    path = root / case.target
    lines = path.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    if case.op == "cell":
        row, col = case.where
        row = 1 + row % (len(lines) - 1)
        cells = lines[row].split(",")
        cells[header.index(col)] = case.value
        lines[row] = ",".join(cells)
    elif case.op == "header_only":
        lines = lines[:1]
    elif case.op in ("drop_column", "rename_column"):
        i = header.index(case.where)
        for n, line in enumerate(lines):
            cells = line.split(",")
            if case.op == "drop_column":
                del cells[i]
            elif n == 0:
                cells[i] = case.value
            lines[n] = ",".join(cells)
    elif case.op == "extra_row":
        lines.append(case.value)
    elif case.op == "duplicate_row":
        lines.append(lines[-1])
    if case.op == "bytes":
        data = path.read_bytes()
        cut = len(data) // 2
        path.write_bytes(data[:cut] + bytes.fromhex(case.value) + data[cut:])
        return
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _apply_geojson(root: Path, case: Case) -> None:  # noqa: PLR0912 - one branch per op
    path = root / case.target
    data = json.loads(path.read_text(encoding="utf-8"))
    features = data["features"]
    i = case.where if isinstance(case.where, int) else case.where[0]
    feature = features[i % len(features)]
    if case.op == "coordinate":
        coords = feature["geometry"]["coordinates"]
        while isinstance(coords[0], list):
            coords = coords[0]
        coords[1 if i % 2 else 0] = case.value
    elif case.op == "geometry":
        feature["geometry"] = case.value
    elif case.op == "property":
        if case.where[1] in feature["properties"]:
            feature["properties"][case.where[1]] = case.value
    elif case.op == "features":
        if case.value == "none":
            data["features"] = []
        elif case.value == "duplicate":
            features.append(feature)
        elif case.value == "drop":
            features.remove(feature)
        elif case.value == "not_a_list":
            data["features"] = {"a": feature}
        else:
            del data["features"]
    elif case.op == "crs":
        data["crs"] = {"type": "name", "properties": {"name": case.value}}
    text = json.dumps(data, ensure_ascii=False)  # NaN and Infinity as JavaScript writes them
    if case.op == "text":
        cut = len(text) // 2
        text = text[:cut] + case.value + text[cut:]
    path.write_text(text, encoding="utf-8")


def apply_case(root: Path, case: Case) -> Path:
    """Write the tiny scenario under ``root`` with ``case`` applied; return the scenario."""
    scenario = make_scenario(root, strategies=True)
    if case.target == "tiny.toml":
        _apply_toml(root, case)
    elif case.target in TABLES:
        _apply_table(root, case)
    else:
        _apply_geojson(root, case)
    return scenario


# ------------------------------------------------------------------------ running a case


class Hang(BaseException):
    """A case ran past :data:`TIME_LIMIT_S` (a BaseException, so urlink cannot catch it)."""


def _alarm(signum: int, frame: Any) -> None:
    raise Hang


def run_case(root: Path, case: Case) -> tuple[int, str]:
    """Apply ``case`` under ``root`` and run its command in-process: (exit code, stderr)."""
    scenario = apply_case(root, case)
    argv = [case.command, str(scenario), "-q"]
    if case.command == "run":
        argv += ["--out", str(root / "out")]
    err = io.StringIO()
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, TIME_LIMIT_S)
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            code = main(argv)
    except Hang:
        code = -1
        err.write(f"\nHANG: more than {TIME_LIMIT_S} s\n")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    return code, err.getvalue()


def violation(code: int, err: str) -> str | None:
    """What breaks the invariant (exit 0 or 2, no traceback, no hang), or None."""
    if code == -1:
        return "hang"
    if code not in (0, 2):
        return f"exit code {code}"
    if "Traceback" in err or "internal error" in err:
        return "traceback"
    if code == 2 and not any(line.startswith("urlink: error:") for line in err.splitlines()):
        return "exit 2 without a message"
    return None
