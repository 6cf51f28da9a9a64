"""urlink: urban-rural linkage planning.

Load administrative boundaries and settlement points (WGS84 or GCJ-02), build zones with
their admin codes and populations, street networks and travel-time skims, flows of people,
goods, capital and ecosystem services, and run scenario files. See ``docs/index.md``.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("urlink")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0+unknown"

from urlink import assignment as assignment
from urlink import boundaries as boundaries
from urlink import carbon as carbon
from urlink import crs as crs
from urlink import errors as errors
from urlink import flows as flows
from urlink import graph as graph
from urlink import network as network
from urlink import population as population
from urlink import rasters as rasters
from urlink import scenario as scenario
from urlink import scoring as scoring
from urlink import skims as skims
from urlink import typology as typology

__all__ = [
    "__version__",
    "assignment",
    "boundaries",
    "carbon",
    "crs",
    "errors",
    "flows",
    "graph",
    "network",
    "population",
    "rasters",
    "scenario",
    "scoring",
    "skims",
    "typology",
]
