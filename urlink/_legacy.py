"""The module names of urlink 0.1 (before the layered packages), kept for one release.

``import urlink.skims`` or ``from urlink.pipeline import run_scenario`` still work: the old
name resolves to a module whose attributes come from the new modules, with a
:class:`DeprecationWarning` that names the new place. Removed in the release after next.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import types
import warnings
from typing import Any

__all__ = ["LEGACY_MODULES", "install"]

LEGACY_MODULES: dict[str, tuple[str, ...]] = {
    "urlink.assignment": ("urlink.network.assignment",),
    "urlink.attribution": ("urlink.scoring.attribution",),
    "urlink.boundaries": ("urlink.io.boundaries",),
    "urlink.carbon": ("urlink.model.carbon",),
    "urlink.checks": (
        "urlink.validate",
        "urlink.io.checks",
        "urlink.network.checks",
        "urlink.scenario.checks",
    ),
    "urlink.crs": ("urlink.io.crs",),
    "urlink.db": ("urlink.io.postgis", "urlink.store.runs"),
    "urlink.flows": ("urlink.model.flows",),
    "urlink.flows.capital": ("urlink.model.flows.capital",),
    "urlink.flows.ecosystem": ("urlink.model.flows.ecosystem",),
    "urlink.flows.goods": ("urlink.model.flows.goods",),
    "urlink.flows.people": ("urlink.model.flows.people",),
    "urlink.graph": ("urlink.model.graph",),
    "urlink.indicators": ("urlink.scoring.indicators",),
    "urlink.linkages": ("urlink.model.inputs",),
    "urlink.maps": ("urlink.outputs.maps",),
    "urlink.pipeline": (
        "urlink.runner",
        "urlink.scenario.build",
        "urlink.scenario.assess",
        "urlink.outputs.pages",
        "urlink.outputs.files",
    ),
    "urlink.population": ("urlink.model.population", "urlink.io.tables"),
    "urlink.rasters": ("urlink.io.rasters",),
    "urlink.report": ("urlink.outputs.report",),
    "urlink.skims": ("urlink.network.skims",),
    "urlink.strategies": ("urlink.scenario.strategies", "urlink.model.state"),
    "urlink.typology": ("urlink.model.typology",),
}
"""Old module name -> the modules its names live in now (searched in order)."""


class _LegacyModule(types.ModuleType):
    """A module whose attributes are looked up in the new modules, with a warning."""

    def __init__(self, name: str, targets: tuple[str, ...]) -> None:
        super().__init__(name, f"Deprecated alias of {', '.join(targets)}.")
        self._targets = targets

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("__"):
            raise AttributeError(attr)
        for target in self._targets:
            module = importlib.import_module(target)
            if hasattr(module, attr):
                warnings.warn(
                    f"{self.__name__}.{attr} moved to {target}.{attr}; the old name goes away "
                    "in the release after next (docs/architecture.md)",
                    DeprecationWarning,
                    stacklevel=2,
                )
                return getattr(module, attr)
        msg = f"module {self.__name__!r} has no attribute {attr!r}"
        raise AttributeError(msg)


class _Loader(importlib.abc.Loader):
    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        return _LegacyModule(spec.name, LEGACY_MODULES[spec.name])

    def exec_module(self, module: types.ModuleType) -> None:
        if any(m.startswith(module.__name__ + ".") for m in LEGACY_MODULES):
            module.__path__ = []  # a package: urlink.flows.people below urlink.flows


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(
        self, fullname: str, path: Any = None, target: Any = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in LEGACY_MODULES:
            return None
        return importlib.machinery.ModuleSpec(fullname, _Loader())


_FINDER = _Finder()


def install() -> None:
    """Let the old module names resolve (called once by ``urlink/__init__.py``)."""
    if _FINDER not in sys.meta_path:
        sys.meta_path.append(_FINDER)
