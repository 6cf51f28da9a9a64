"""urlink: urban-rural linkage planning.

Load administrative boundaries and settlement points (WGS84 or GCJ-02), build zones with
their admin codes and populations, and run scenario files. See ``docs/index.md``.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("urlink")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0+unknown"

from urlink import boundaries as boundaries
from urlink import crs as crs
from urlink import errors as errors
from urlink import population as population
from urlink import scenario as scenario

__all__ = ["__version__", "boundaries", "crs", "errors", "population", "scenario"]
