"""Checks of input data that every loader shares: file sizes, counts, memory, text.

Every check raises :class:`~urlink.errors.InputError` with a message that names the file,
the field or row and the fix, or returns quietly. The limits are module constants so that
they are documented in one place (``docs/errors.md``) and can be raised by a user who has
the memory.

Size limits
-----------
urlink holds every input in memory. A run fails early, before reading, when a file is
larger than its limit, and before routing when the zone system would not fit:

========================  ============================================================
:data:`MAX_VECTOR_BYTES`  512 MiB per vector file (GeoJSON, GeoPackage, Shapefile)
:data:`MAX_TABLE_BYTES`   256 MiB per CSV table
:data:`MAX_OSM_BYTES`     1 GiB per OSM file on disk (``.osm``, ``.osm.bz2``, ``.osm.pbf``)
:data:`MAX_RASTER_BYTES`  2 GiB per raster (windows are read, so this is generous)
:data:`MAX_SCENARIO_BYTES` 1 MiB per scenario file, nested at most
                          :data:`MAX_TOML_DEPTH` (12) tables/arrays deep
:data:`MAX_STRATEGIES`    200 strategies per scenario
:data:`MAX_FEATURES`      200,000 features per vector layer
:data:`MAX_ZONES`         5,000 zones (a sparse run may raise it with ``[network]
                          max_zones``, up to :data:`MAX_ZONES_OPT_IN`), and at most half
                          of the available memory for the zone-to-zone matrices
                          (:func:`zone_matrix_bytes`; three quarters for a sparse run)
========================  ============================================================
"""

from __future__ import annotations

import errno
import logging
import os
import re
import stat
import unicodedata
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from urlink.errors import InputError

if TYPE_CHECKING:
    from collections.abc import Iterable

    import geopandas as gpd
    import pandas as pd


__all__ = [
    "MAX_FEATURES",
    "MAX_OSM_BYTES",
    "MAX_RASTER_BYTES",
    "MAX_SCENARIO_BYTES",
    "MAX_STRATEGIES",
    "MAX_TABLE_BYTES",
    "MAX_TOML_DEPTH",
    "MAX_VECTOR_BYTES",
    "MAX_ZONES",
    "MAX_ZONES_OPT_IN",
    "MAX_ZONE_POPULATION",
    "available_memory_bytes",
    "check_feature_count",
    "check_file_size",
    "check_no_markup",
    "check_text_encoding",
    "check_zone_count",
    "find_markup",
    "find_mojibake",
    "zone_matrix_bytes",
]

logger = logging.getLogger(__name__)

MAX_VECTOR_BYTES = 512 * 2**20
"""Largest vector file read (bytes)."""
MAX_TABLE_BYTES = 256 * 2**20
"""Largest CSV table read (bytes)."""
MAX_OSM_BYTES = 2**30
"""Largest OSM file read (bytes on disk; OSM XML needs about 20 times as much memory)."""
MAX_RASTER_BYTES = 2 * 2**30
"""Largest raster file opened (bytes)."""
MAX_FEATURES = 200_000
"""Most features in one vector layer."""
MAX_ZONES = 5_000
"""Most zones in a run (the travel-time, distance and flow matrices grow with zones**2),
unless the scenario raises it with ``[network] max_zones`` (a sparse run only, #20)."""
MAX_ZONES_OPT_IN = 100_000
"""Largest ``[network] max_zones`` a scenario may set (a guard against typos)."""
MAX_SCENARIO_BYTES = 2**20
"""Largest scenario file read (bytes): a scenario is a page of settings, not data."""
MAX_TOML_DEPTH = 12
"""Deepest nesting of tables and arrays in a scenario file (urlink's own use at most 5)."""
MAX_STRATEGIES = 200
"""Most strategies in one scenario (each is a full evaluation of the flows)."""
MAX_ZONE_POPULATION = 2_000_000_000
"""Most residents of one zone or table row (more than any country): larger is a typo."""

_MATRIX_COPIES = 16
"""How many zones x zones float64 matrices a run holds at once (skims, flows, strategies)."""
_SPARSE_MATRIX_COPIES = 4
"""The same for a sparse run (:func:`zone_matrix_bytes`): the skim and the distances, and
a road strategy's updated pair; everything else reads them by blocks or on the flows'
pairs (#20)."""
_MEMORY_SHARE = 0.5
"""Share of the available memory a run's zone matrices may take (dense: a generous count)."""
_SPARSE_MEMORY_SHARE = 0.75
"""The same for a sparse run, whose count is the measured peak (#20)."""

FileKind = Literal["vector", "table", "osm", "raster", "scenario"]

_LIMITS: dict[str, str] = {
    "vector": "MAX_VECTOR_BYTES",
    "table": "MAX_TABLE_BYTES",
    "osm": "MAX_OSM_BYTES",
    "raster": "MAX_RASTER_BYTES",
    "scenario": "MAX_SCENARIO_BYTES",
}


def _mib(n: float) -> str:
    return f"{n / 2**20:,.0f} MiB" if n >= 2**20 else f"{n:,.0f} bytes"


def check_file_size(
    path: str | Path, *, kind: FileKind, what: str = "file", allow_empty: bool = False
) -> None:
    """Refuse a missing, empty or too large input file before it is read.

    Parameters
    ----------
    path
        The file.
    kind
        ``"vector"``, ``"table"``, ``"osm"`` or ``"raster"``: selects the limit.
    what
        What the file is for, in messages (``"zones file"``).
    allow_empty
        Accept an empty file (a scenario file then says which key is missing).

    Raises
    ------
    InputError
        If the file does not exist, is a symbolic link loop, a folder, a FIFO, a device or
        another special file (never opened, so a FIFO cannot block), cannot be read, is
        empty, or exceeds the limit.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "empty.csv"
    >>> _ = p.write_text("")
    >>> check_file_size(p, kind="table", what="population table")
    Traceback (most recent call last):
    ...
    urlink.errors.InputError: population table '...empty.csv' is empty (0 bytes); ...
    """
    p = Path(path)
    try:
        st = p.stat()
    except OSError as err:
        if err.errno == errno.ELOOP:
            msg = f"{what} {str(p)!r} is a symbolic link loop; point to the file itself"
        elif err.errno in (errno.ENOENT, errno.ENOTDIR):
            msg = f"{what} {str(p)!r} does not exist; check the path"
        else:
            msg = f"{what} {str(p)!r} cannot be read ({err.strerror}); check the path"
        raise InputError(msg) from None
    if stat.S_ISDIR(st.st_mode):
        msg = f"{what} {str(p)!r} is a folder, not a file; point to the file itself"
        raise InputError(msg)
    if not stat.S_ISREG(st.st_mode):  # never opened: reading a FIFO would wait forever
        kind_of = (
            "a named pipe (FIFO)"
            if stat.S_ISFIFO(st.st_mode)
            else "a device"
            if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode)
            else "a socket or other special file"
        )
        msg = f"{what} {str(p)!r} is {kind_of}, not a regular file; save the data to a file"
        raise InputError(msg)
    try:
        os.close(os.open(p, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)))
    except OSError as err:
        msg = f"{what} {str(p)!r} cannot be read ({err.strerror}); check its permissions"
        raise InputError(msg) from None
    size = st.st_size
    if size == 0 and not allow_empty:
        msg = f"{what} {str(p)!r} is empty (0 bytes); export the data again"
        raise InputError(msg)
    name = _LIMITS[kind]
    limit = int(globals()[name])
    if size > limit:
        msg = (
            f"{what} {str(p)!r} is {_mib(size)}, more than urlink reads ({_mib(limit)}, "
            f"urlink.validate.{name}); clip it to the study area first (e.g. `ogr2ogr -clipsrc` "
            "or `osmium extract`), see docs/errors.md"
        )
        raise InputError(msg)


def check_feature_count(n: int, *, source: str) -> None:
    """Refuse a vector layer with more than :data:`MAX_FEATURES` features.

    Parameters
    ----------
    n
        Number of features.
    source
        The file, for messages.

    Raises
    ------
    InputError
        If ``n`` exceeds the limit.
    """
    if n > MAX_FEATURES:
        msg = (
            f"{source}: {n:,} features, more than urlink handles in one layer ({MAX_FEATURES:,}, "
            "urlink.validate.MAX_FEATURES); clip or aggregate the layer to the study area"
        )
        raise InputError(msg)


def available_memory_bytes() -> int | None:
    """Memory available to a new allocation (Linux ``MemAvailable``), or None if unknown.

    Returns
    -------
    int or None
        Bytes.
    """
    try:
        with Path("/proc/meminfo").open(encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None


def zone_matrix_bytes(n_zones: int, *, sparse: bool = False, itemsize: int = 8) -> int:
    """Estimated memory of the zone-to-zone matrices of a run with ``n_zones`` zones.

    Parameters
    ----------
    n_zones
        Number of zones.
    sparse
        Whether the run is sparse: every people purpose on a sparse support (``support =
        "knn"`` or ``"cutoff"``), no goods model, mode choice, bus service or calibrated
        purpose (the zone x zone models). Its skim and distances are then read by blocks or
        on the flows' pairs, and only they and a road strategy's updated pair are whole
        matrices (#20).
    itemsize
        Bytes per value: 8 (float64), or 4 for float32 matrices (``[network]
        matrix_dtype``; used for a sparse run only, since the dense models make float64
        copies).

    Returns
    -------
    int
        Bytes: ``16 * n_zones**2 * 8``, or ``4 * n_zones**2 * itemsize`` for a sparse run.

    Examples
    --------
    >>> zone_matrix_bytes(1000) / 2**20  # doctest: +ELLIPSIS
    122.07...
    >>> zone_matrix_bytes(20_000, sparse=True) / 2**30  # doctest: +ELLIPSIS
    11.92...
    """
    if not sparse:
        return _MATRIX_COPIES * n_zones * n_zones * 8
    return _SPARSE_MATRIX_COPIES * n_zones * n_zones * itemsize


def check_zone_count(
    n_zones: int,
    *,
    source: str,
    memory: int | None = None,
    max_zones: int | None = None,
    sparse: bool = False,
    itemsize: int = 8,
) -> None:
    """Refuse a zone system that exceeds the zone limit or would not fit in memory.

    Parameters
    ----------
    n_zones
        Number of zones of the run.
    source
        Where the zones come from, for messages.
    memory
        Available memory in bytes (default: :func:`available_memory_bytes`).
    max_zones
        The scenario's limit (``[network] max_zones``); None: :data:`MAX_ZONES`.
    sparse
        Whether the run is sparse (:func:`zone_matrix_bytes`): its matrices may then take
        up to three quarters of the available memory, a dense run's half.
    itemsize
        Bytes per value of a sparse run's matrices (8, or 4 with float32).

    Raises
    ------
    InputError
        If there are too many zones.
    """
    limit = MAX_ZONES if max_zones is None else max_zones
    if n_zones > limit:
        how = (
            f"[network] max_zones = {limit:,}"
            if max_zones is not None
            else f"{MAX_ZONES:,}, urlink.validate.MAX_ZONES"
        )
        msg = (
            f"{source}: {n_zones:,} zones, more than the run allows ({how}: the travel-time "
            "and flow matrices grow with the square of the zones); use a coarser zone system "
            'or fewer context units, or, with a sparse people support (support = "knn" or '
            '"cutoff" in [flows.people]) and no goods model, mode choice, bus service or '
            "calibrated purpose, raise [network] max_zones (see docs/scale.md)"
        )
        raise InputError(msg)
    need = zone_matrix_bytes(n_zones, sparse=sparse, itemsize=itemsize)
    have = available_memory_bytes() if memory is None else memory
    share = _SPARSE_MEMORY_SHARE if sparse else _MEMORY_SHARE
    if have is not None and need > have * share:
        part = "three quarters" if sparse else "half"
        msg = (
            f"{source}: {n_zones:,} zones need about {_mib(need)} for the zone matrices, more "
            f"than {part} of the available memory ({_mib(have)}); use fewer zones or a machine "
            "with more memory"
        )
        if not sparse:
            msg += (
                ', or a sparse people support (support = "knn" or "cutoff" in '
                "[flows.people]), which needs a quarter of that memory (docs/scale.md)"
            )
        raise InputError(msg)


# ------------------------------------------------------------------------------- text

_MARKUP_RE = re.compile(r"<[A-Za-z!/?]|javascript\s*:|\{\{|\{%", re.IGNORECASE)


def find_markup(text: str) -> bool:
    """Whether ``text`` looks like HTML, script or template markup.

    Place names never contain ``<tag``, ``javascript:`` or ``{{``; such text in a name
    means a broken or malicious file, and would be interpreted by the map's HTML.

    Parameters
    ----------
    text
        A name.

    Returns
    -------
    bool
        True for markup.

    Examples
    --------
    >>> find_markup("黄岩区"), find_markup("<script>alert(1)</script>"), find_markup("A < B")
    (False, True, False)
    """
    return bool(_MARKUP_RE.search(text)) or any(
        unicodedata.category(c) == "Cc" and c not in "\t\n\r" for c in text
    )


def check_no_markup(values: pd.Series, *, source: str, column: str, row_label: str = "id") -> None:
    """Refuse names that contain HTML/script markup or control characters.

    Parameters
    ----------
    values
        The names, indexed by feature id.
    source
        The file, for messages.
    column
        The column, for messages.
    row_label
        What the index of ``values`` is (``"id"``, ``"line"``), for messages.

    Raises
    ------
    InputError
        Naming the first offending id and echoing its value.
    """
    for idx, value in values.items():
        if isinstance(value, str) and find_markup(value):
            msg = (
                f"{source}: column {column!r}, {row_label} {idx!s}: the text {value!r} "
                "contains HTML, script or template markup (or control characters); names and "
                "labels must be plain text, so remove the markup from the file"
            )
            raise InputError(msg)


_LATIN1_HIGH = re.compile(r"[\u0080-\u00ff]")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def _repair(text: str, encoding: str) -> str | None:
    """``text`` read as Latin-1 and decoded again with ``encoding``, if that gives CJK text."""
    try:
        fixed = text.encode("latin-1").decode(encoding)
    except (UnicodeEncodeError, UnicodeDecodeError):
        return None
    return fixed if _CJK.search(fixed) else None


def find_mojibake(values: Iterable[object]) -> tuple[str, str, str] | None:
    """Find text that is Chinese (GBK, GB18030, Big5 or UTF-8) decoded as Latin-1.

    A Shapefile without a ``.cpg`` file is read as Latin-1, which turns the GBK bytes of
    ``黄岩区`` into ``»ÆÑÒÇø``. Such text has characters in U+0080..U+00FF and no CJK
    characters, and decodes to CJK text when its bytes are read with the right encoding.

    Parameters
    ----------
    values
        Text values (others are skipped).

    Returns
    -------
    tuple or None
        ``(bad text, repaired text, encoding)`` for the first suspicious value, else None.

    Examples
    --------
    >>> find_mojibake(["»ÆÑÒÇø"])
    ('»ÆÑÒÇø', '黄岩区', 'gbk')
    >>> find_mojibake(["黄岩区", "Huangyan", "Zürich", "Müller-Lüdenscheid"]) is None
    True
    """
    for value in values:
        if not isinstance(value, str) or _CJK.search(value):
            continue
        high = len(_LATIN1_HIGH.findall(value))
        # Chinese text read as Latin-1 is mostly high characters (2-3 per CJK character);
        # European names have a few accented letters among many ASCII ones
        if high < 2 or high < 0.4 * len("".join(value.split())):
            continue
        for encoding in ("utf-8", "gbk", "gb18030", "big5"):
            fixed = _repair(value, encoding)
            if fixed is not None:
                return value, fixed, encoding
    return None


def check_text_encoding(
    gdf: gpd.GeoDataFrame, columns: Iterable[str | None], *, source: str, key: str = "encoding"
) -> None:
    """Refuse attribute text that was decoded with the wrong encoding (mojibake).

    Parameters
    ----------
    gdf
        The layer as read.
    columns
        Text columns to look at (None entries are skipped).
    source
        The file, for messages.
    key
        Scenario key that sets the encoding, for the fix.

    Raises
    ------
    InputError
        Saying what the text would read as, and how to declare the encoding.
    """
    for col in columns:
        if col is None or col not in gdf.columns:
            continue
        found = find_mojibake(gdf[col].tolist())
        if found is None:
            continue
        bad, fixed, encoding = found
        stem = Path(source).with_suffix(".cpg").name
        msg = (
            f"{source}: column {col!r} holds garbled text such as {bad!r}, which reads as "
            f"{fixed!r} in {encoding.upper()}; the file's encoding is not declared. Add a file "
            f"{stem!r} containing {encoding.upper()} next to it, or set {key} = "
            f'"{encoding}" in the scenario section of this layer'
        )
        raise InputError(msg)


# -------------------------------------------------------------------------- coordinates


# ----------------------------------------------------------------------------- scenarios
