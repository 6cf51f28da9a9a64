"""The layers of docs/architecture.md hold: every module imports only its layer or lower ones.

Imports inside functions count (only ``if TYPE_CHECKING:`` blocks are skipped), so a lazy
import cannot hide an upward dependency or an import circle.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "urlink"

LAYERS: dict[str, int] = {
    "urlink": 0,  # the package's __init__ (lazy names only)
    "urlink._legacy": 0,
    "urlink.errors": 0,
    "urlink.registry": 0,
    "urlink.params": 0,
    "urlink.validate": 0,
    "urlink.parallel": 0,
    "urlink.progress": 0,
    "urlink.memo": 0,
    "urlink.io": 1,
    "urlink.network": 2,
    "urlink.model": 3,
    "urlink.scoring": 4,
    "urlink.scenario": 5,
    "urlink.outputs": 6,
    "urlink.store": 7,
    "urlink.runner": 8,
    "urlink.cli": 8,
    "urlink.workshop": 8,
}
"""Layer of each package or base module (docs/architecture.md draws the same table)."""


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def layer_of(module: str) -> int:
    """The layer of a module: its own entry, or its package's."""
    name = module
    while name not in LAYERS:
        if "." not in name:
            msg = f"{module} belongs to no layer; add its package to LAYERS and the docs"
            raise KeyError(msg)
        name = name.rsplit(".", 1)[0]
    return LAYERS[name]


def imports_of(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every urlink import in a file, outside ``if TYPE_CHECKING:``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for stmt in node.body:
                skip.update(range(stmt.lineno, (stmt.end_lineno or stmt.lineno) + 1))
    found = []
    for node in ast.walk(tree):
        if getattr(node, "lineno", None) in skip:
            continue
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.startswith("urlink")]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "urlink":
                found += [(node.lineno, f"urlink.{a.name}") for a in node.names]
            elif node.module.startswith("urlink."):
                found.append((node.lineno, node.module))
    return found


MODULES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=_module_name)
def test_modules_import_only_their_layer_or_lower_ones(path: Path) -> None:
    me = _module_name(path)
    mine = layer_of(me)
    upward = [
        f"line {line}: {target} (layer {layer_of(target)})"
        for line, target in imports_of(path)
        if target != "urlink.__version__" and layer_of(target) > mine
    ]
    assert not upward, f"{me} (layer {mine}) imports upward: {upward}"


def test_no_import_circle_among_modules() -> None:
    names = {_module_name(p): p for p in MODULES}
    edges: dict[str, set[str]] = {}
    for name, path in names.items():
        targets = set()
        for _, imported in imports_of(path):
            target = imported
            while target and target not in names:
                target = target.rsplit(".", 1)[0] if "." in target else ""
            if target and target != name and not name.startswith(target + "."):
                targets.add(target)
        edges[name] = targets
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(edges[node]):
            if state.get(nxt) == 1:
                cycle = [*trail[trail.index(nxt) :], nxt] if nxt in trail else [node, nxt]
                pytest.fail(f"import circle: {' -> '.join(cycle)}")
            if nxt not in state:
                visit(nxt, [*trail, nxt])
        state[node] = 2

    for name in sorted(edges):
        if name not in state:
            visit(name, [name])


def test_the_layer_check_sees_an_upward_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(
        "def f():\n    from urlink.scenario.spec import load_scenario\n    return load_scenario\n",
        encoding="utf-8",
    )
    assert imports_of(bad) == [(2, "urlink.scenario.spec")]
    assert layer_of("urlink.scenario.spec") > layer_of("urlink.model.state")


HEAVY = ("pandas", "geopandas", "networkx", "osmnx", "folium", "scipy", "numpy")


@pytest.mark.parametrize(
    "statement",
    [
        "import urlink",
        "from urlink.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass",
        "from urlink.cli import main\ntry:\n    main(['validate', '--help'])\n"
        "except SystemExit:\n    pass",
    ],
    ids=["import", "help", "validate-help"],
)
def test_import_and_help_load_no_heavy_module(statement: str) -> None:
    # `urlink --help` in < 0.5 s (benchmarks/bench_startup.py) because nothing heavy loads
    code = f"import sys\n{statement}\nprint([m for m in {HEAVY!r} if m in sys.modules])"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_old_module_names_still_resolve_with_a_deprecation_warning() -> None:
    import importlib

    import urlink.network.skims

    with pytest.warns(DeprecationWarning, match=r"urlink.skims.travel_time_matrix moved to"):
        old = importlib.import_module("urlink.skims").travel_time_matrix
    assert old is urlink.network.skims.travel_time_matrix
    with pytest.warns(DeprecationWarning, match="moved to urlink.model.flows.people"):
        from urlink.flows.people import PeopleParams  # noqa: F401 - the old path
    with warnings.catch_warnings(), pytest.raises(AttributeError):
        warnings.simplefilter("ignore", DeprecationWarning)
        importlib.import_module("urlink.pipeline").no_such_name  # noqa: B018
