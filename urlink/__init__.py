"""urlink: urban-rural linkage planning.

Load administrative boundaries and settlement points (WGS84 or GCJ-02), build zones with
their admin codes and populations, street networks and travel-time skims, flows of people,
goods, capital and ecosystem services, score Raumbild strategies, and show the result.

``import urlink`` is light: the layers (see ``docs/architecture.md``) are imported on first
use, so ``urlink.network`` or ``urlink.run`` cost nothing until they are touched.

Examples
--------
>>> import urlink
>>> result = urlink.run("scenarios/huangyan.toml")  # doctest: +SKIP
>>> result.scores.head()  # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

try:
    __version__ = version("urlink")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0+unknown"

from urlink import _legacy

_legacy.install()  # urlink 0.1 module names (urlink.skims, urlink.pipeline...) for one release

if TYPE_CHECKING:
    from urlink.runner import Run, run
    from urlink.scenario.spec import load_scenario

__all__ = [
    "Run",
    "__version__",
    "errors",
    "io",
    "load_scenario",
    "model",
    "network",
    "outputs",
    "registry",
    "run",
    "scenario",
    "scoring",
    "store",
]

_PACKAGES = frozenset(
    {
        "errors",
        "io",
        "model",
        "network",
        "outputs",
        "params",
        "parallel",
        "registry",
        "runner",
        "scenario",
        "scoring",
        "store",
        "validate",
    }
)
_NAMES = {"run": "urlink.runner", "Run": "urlink.runner", "load_scenario": "urlink.scenario.spec"}


def __getattr__(name: str) -> Any:
    """Import a layer or a top-level name on first use (keeps ``import urlink`` fast)."""
    if name in _PACKAGES:
        return importlib.import_module(f"urlink.{name}")
    if name in _NAMES:
        return getattr(importlib.import_module(_NAMES[name]), name)
    if f"urlink.{name}" in _legacy.LEGACY_MODULES:
        return importlib.import_module(f"urlink.{name}")
    msg = f"module 'urlink' has no attribute {name!r}"
    raise AttributeError(msg)


def __dir__() -> list[str]:
    return sorted(set(__all__) | _PACKAGES)
