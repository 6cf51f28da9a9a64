"""Writing results safely: a temporary folder renamed on success, and the run manifest.

A run writes everything into a fresh temporary folder next to the output folder. Only when
all files are written is the old output folder moved aside and the new one renamed into its
place, so a failed run leaves earlier results untouched. Output folders that are, or contain,
an input file are refused, so a run can never overwrite or delete its inputs.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import hashlib
import importlib.util
import json
import logging
import os
import platform
import re
import secrets
import shutil
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, get_args

import geopandas as gpd
import numpy as np
import osmnx as ox
import pandas as pd

from urlink import __version__
from urlink.errors import InputError
from urlink.network.skims import iter_skim_rows, skim_to_parquet

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator
    from pathlib import Path

__all__ = [
    "MARKER",
    "PARQUET_MIN_FLOWS",
    "PARQUET_MIN_PAIRS",
    "TableFormat",
    "atomic_output_dir",
    "check_new_file",
    "check_output_dir",
    "file_sha256",
    "files_into_folder",
    "foreign_files",
    "network_edges_gdf",
    "output_lock",
    "table_formats",
    "versions",
    "write_json",
    "write_linkages",
    "write_travel_times",
    "write_travel_times_parquet",
    "written_by_urlink",
]

logger = logging.getLogger(__name__)

MARKER = ".urlink"
"""Name of the marker file urlink writes into every output folder: the files it wrote."""
_MARKER_MAX_BYTES = 4 * 2**20
"""A marker or manifest larger than this is not read (it is not urlink's)."""
_DISK_ERRNOS = frozenset({errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, errno.EDQUOT})
"""Errors of the file system (not of urlink) while writing outputs: exit code 2."""

_HELD: dict[Path, int] = {}
"""Output-folder locks this process holds (lock file -> depth), so the lock is re-entrant."""

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2
try:
    _RENAMEAT2: Any = ctypes.CDLL(None, use_errno=True).renameat2
except (AttributeError, OSError, TypeError):  # not Linux (or an old C library)
    _RENAMEAT2 = None

_PACKAGES = (
    "urlink",
    "geopandas",
    "shapely",
    "pyproj",
    "pyogrio",
    "networkx",
    "osmnx",
    "rasterio",
    "folium",
    "numpy",
    "scipy",
    "pandas",
)


def file_sha256(path: Path) -> str:
    """Return the SHA-256 hex digest of a file.

    Parameters
    ----------
    path
        The file.

    Returns
    -------
    str
        64 hex digits.
    """
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def versions() -> dict[str, str]:
    """Versions of Python and of the packages a run depends on.

    Returns
    -------
    dict
        Package name to version (``"not installed"`` where missing).
    """
    out = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def _unwritable(out_dir: Path, where: Path, err: OSError) -> InputError:
    """Build the error for an output folder urlink cannot write (read-only, denied, full)."""
    reason = err.strerror or type(err).__name__
    msg = (
        f"output folder {str(out_dir)!r}: cannot write in {str(where)!r} ({reason}); choose a "
        "folder on a writable disk with --out"
    )
    return InputError(msg)


def written_by_urlink(folder: Path) -> set[str] | None:
    """Return the names of the files in ``folder`` that urlink wrote, or None if none are.

    A folder is urlink's when it holds the marker file :data:`MARKER` that urlink writes into
    every output folder (with the list of the files it wrote), or, for folders written before
    the marker existed, a ``manifest.json`` with urlink's signature (its ``versions`` name
    urlink and its ``outputs`` list the files of a run).

    Parameters
    ----------
    folder
        An existing folder.

    Returns
    -------
    set of str or None
        File names (the marker and the manifest included), or None when nothing in the
        folder says urlink wrote it.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> written_by_urlink(root) is None
    True
    >>> _ = (root / MARKER).write_text('{"written_by": "urlink", "files": ["a.csv"]}')
    >>> sorted(written_by_urlink(root))
    ['.urlink', 'a.csv']
    """
    marker = folder / MARKER
    data = _json_object(marker)
    if data is not None and data.get("written_by") == "urlink":
        files = data.get("files", [])
        if isinstance(files, list):
            return {MARKER, *(f for f in files if _plain_name(f))}
    manifest = _json_object(folder / "manifest.json")
    if manifest is None:
        return None
    versions = manifest.get("versions")
    outputs = manifest.get("outputs")
    if not (isinstance(versions, dict) and "urlink" in versions and isinstance(outputs, dict)):
        return None
    owned = {"manifest.json", *(k for k in outputs if _plain_name(k) and "<" not in k)}
    if "compare_<strategy>.html" in outputs:
        owned |= {p.name for p in folder.glob("compare_*.html")}
    return owned


def _plain_name(name: object) -> bool:
    """Whether ``name`` is a file name in a folder (a marker never names a path elsewhere)."""
    return (
        isinstance(name, str)
        and name not in ("", ".", "..")
        and not any(c in name for c in "/\\\0")
    )


def _json_object(path: Path) -> dict[str, Any] | None:
    """Read a small JSON file's object, or None (missing, not a regular file, not JSON)."""
    try:
        if path.is_symlink() or not path.is_file() or path.stat().st_size > _MARKER_MAX_BYTES:
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def foreign_files(folder: Path) -> list[str]:
    """Names of the entries of ``folder`` that urlink did not write (sorted).

    Parameters
    ----------
    folder
        An existing folder.

    Returns
    -------
    list of str
        Every entry when the folder has no sign of urlink (:func:`written_by_urlink`), else
        the entries its marker or manifest does not list.
    """
    try:
        names = sorted(p.name for p in folder.iterdir())
    except OSError as err:
        raise _unwritable(folder, folder, err) from None
    owned = written_by_urlink(folder)
    return names if owned is None else [n for n in names if n not in owned]


def _foreign_error(out_dir: Path, foreign: list[str]) -> InputError:
    shown = ", ".join(repr(n) for n in foreign[:5]) + (
        f" and {len(foreign) - 5} more" if len(foreign) > 5 else ""
    )
    msg = (
        f"output folder {str(out_dir)!r} holds files urlink did not write ({shown}); a run "
        "replaces its output folder, so choose a new or empty folder with --out, or add "
        "--force to write the outputs beside those files (they are kept)"
    )
    return InputError(msg)


def check_output_dir(out_dir: Path, inputs: Iterable[Path], *, force: bool = False) -> Path:
    """Refuse an output folder that is, or lies above, an input file, or holds others' files.

    Parameters
    ----------
    out_dir
        The folder a run will replace.
    inputs
        Every input file of the run.
    force
        Accept a folder holding files urlink did not write (they are kept; the outputs are
        written beside them).

    Returns
    -------
    pathlib.Path
        ``out_dir`` made absolute.

    Raises
    ------
    InputError
        If replacing ``out_dir`` would overwrite or delete an input or a file urlink did not
        write, or ``out_dir`` is an existing file.
    """
    out = out_dir.resolve()
    if out.exists() and not out.is_dir():
        msg = f"output folder {str(out_dir)!r} is an existing file; choose a folder with --out"
        raise InputError(msg)
    for p in inputs:
        src = p.resolve()
        if src == out or out in src.parents:
            msg = (
                f"output folder {str(out_dir)!r} contains the input {str(p)!r}; a run replaces "
                "its output folder, so choose another one with --out"
            )
            raise InputError(msg)
    if out.is_dir() and not force:
        foreign = foreign_files(out)
        if foreign:
            raise _foreign_error(out_dir, foreign)
    return out


def check_new_file(path: Path, *, what: str) -> Path:
    """Refuse to write a single output file over an existing one, or into a folder.

    Parameters
    ----------
    path
        The file to write.
    what
        The option or argument that names it, for messages (``"--out"``).

    Returns
    -------
    pathlib.Path
        ``path`` made absolute.

    Raises
    ------
    InputError
        If something exists at ``path`` (urlink never overwrites a file it cannot tell it
        wrote) or its folder cannot be written.
    """
    if path.exists() or path.is_symlink():
        msg = (
            f"{what} {str(path)!r} exists; urlink never overwrites a file: choose another "
            "name, or move the file away"
        )
        raise InputError(msg)
    parent = path.resolve().parent
    if not parent.is_dir():
        msg = f"{what} {str(path)!r}: the folder {str(parent)!r} does not exist; create it first"
        raise InputError(msg)
    if not os.access(parent, os.W_OK):
        raise _unwritable(path, parent, PermissionError(errno.EACCES, "permission denied"))
    return path.resolve()


# --------------------------------------------------------------------- lock and swap


@contextlib.contextmanager
def output_lock(out_dir: Path) -> Iterator[Path]:
    """Hold the lock of an output folder: one run at a time writes into it.

    The lock is ``.NAME.lock`` beside the folder (``fcntl.flock``, released by the kernel
    when the process ends, even when killed); it is removed again when released. Holding
    it, stale temporary folders of killed runs (``.NAME.tmp-*``, ``.NAME.old-*``, each
    holding urlink's marker) are removed, and an output folder a killed run had moved aside
    is put back. The lock is re-entrant within a process.

    Parameters
    ----------
    out_dir
        The output folder (it need not exist; its parent is created).

    Yields
    ------
    pathlib.Path
        ``out_dir`` made absolute.

    Raises
    ------
    InputError
        If another process holds the lock (another run writes into the folder), or the
        folder's parent cannot be written.
    """
    out = out_dir.resolve()
    lock = out.parent / f".{out.name}.lock"
    if lock in _HELD:
        _HELD[lock] += 1
        try:
            yield out
        finally:
            _HELD[lock] -= 1
        return
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise _unwritable(out_dir, out.parent, err) from None
    fd = _acquire(lock, out_dir)
    _HELD[lock] = 1
    try:
        _clean_stale(out)
        yield out
    finally:
        del _HELD[lock]
        with contextlib.suppress(OSError):
            lock.unlink()
        os.close(fd)


def _acquire(lock: Path, out_dir: Path) -> int:
    """Open and lock ``lock`` without waiting; return its descriptor."""
    while True:
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        except OSError as err:
            raise _unwritable(out_dir, lock.parent, err) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode("ascii", "replace").strip() or "?"
            os.close(fd)
            msg = (
                f"output folder {str(out_dir)!r} is being written by another urlink run "
                f"(process {holder}, lock {str(lock)!r}); wait for it to finish, or choose "
                "another folder with --out"
            )
            raise InputError(msg) from None
        try:
            same = os.path.samestat(os.fstat(fd), lock.lstat())
        except OSError:
            same = False
        if same:  # else the holder we raced with removed the file: lock the new one
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode("ascii"))
            return fd
        os.close(fd)


def _clean_stale(out: Path) -> None:
    """Remove the temporary folders killed runs left beside ``out``; restore a moved ``out``."""
    pattern = re.compile(rf"\.{re.escape(out.name)}\.(tmp|old)-[0-9a-f]{{8}}")
    try:
        entries = sorted(out.parent.iterdir())
    except OSError:
        return
    for path in entries:
        m = pattern.fullmatch(path.name)
        if m is None or path.is_symlink() or not path.is_dir():
            continue
        ours = written_by_urlink(path) is not None or not any(path.iterdir())
        if not ours:
            continue
        if m.group(1) == "old" and not out.exists():
            path.replace(out)  # a run killed between its two renames: the earlier output
            logger.warning("put back %s, moved aside by a run that was stopped", out)
            continue
        shutil.rmtree(path, ignore_errors=True)
        logger.info("removed %s, left by a run that was stopped", path)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux ``renameat2``); False where that is unsupported."""
    if _RENAMEAT2 is None:
        return False
    rc = _RENAMEAT2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if rc == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def _write_marker(folder: Path, *, files: list[str], complete: bool) -> None:
    """Write urlink's marker (:data:`MARKER`) listing the files urlink wrote in ``folder``."""
    data = {"written_by": "urlink", "version": __version__, "complete": complete, "files": files}
    tmp = folder / f"{MARKER}.tmp"
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    tmp.replace(folder / MARKER)


def _swap_in(tmp: Path, out: Path) -> None:
    """Put the complete folder ``tmp`` at ``out``; the earlier ``out`` ends in ``tmp``."""
    if not out.exists():
        tmp.replace(out)
        return
    if _exchange(tmp, out):
        return
    old = out.parent / f".{out.name}.old-{secrets.token_hex(4)}"
    out.replace(old)  # a kill now leaves old and tmp: the next run puts old back
    try:
        tmp.replace(out)
    except OSError:
        old.replace(out)
        raise
    old.replace(tmp)


def _clash_error(out_dir: Path, clash: list[str]) -> InputError:
    msg = (
        f"output folder {str(out_dir)!r}: {clash[:5]} exist(s) and urlink did not write it, so "
        "urlink will not overwrite it; move it away or choose another folder with --out"
    )
    return InputError(msg)


def _merge_in(
    tmp: Path, out: Path, files: list[str], foreign: list[str], *, replace_run: bool = True
) -> None:
    """Move the new files into ``out`` beside files urlink did not write (never over them).

    With ``replace_run`` the files of an earlier run that the new one does not write are
    removed (``--force``); without it they stay (``urlink map`` adds pages to a folder).
    """
    clash = sorted(set(files) & set(foreign))
    if MARKER in foreign:
        clash.append(MARKER)
    if clash:
        raise _clash_error(out, clash)
    earlier = (written_by_urlink(out) or set()) - {MARKER, *foreign}
    for name in files:
        (tmp / name).replace(out / name)
    if replace_run:
        for name in sorted(earlier - set(files)):
            stale = out / name
            if stale.is_file() and not stale.is_symlink():
                stale.unlink()
        listed = files
    else:
        listed = sorted(earlier | set(files))
    _write_marker(out, files=listed, complete=True)


@contextlib.contextmanager
def files_into_folder(out_dir: Path, names: Iterable[str] = ()) -> Iterator[Path]:
    """Yield a temporary folder whose files are moved into ``out_dir`` if the block succeeds.

    Unlike :func:`atomic_output_dir` the folder is not replaced: the new files join what is
    there (``urlink map`` adds pages to a run's folder or to any folder), each renamed into
    place, and the folder's marker lists them. A file urlink did not write is never
    overwritten.

    Parameters
    ----------
    out_dir
        The folder (created if needed).
    names
        File names the block will write, checked before it starts.

    Yields
    ------
    pathlib.Path
        A temporary folder beside ``out_dir``.

    Raises
    ------
    InputError
        If a file of the same name exists that urlink did not write, another run holds the
        folder's lock, or the folder cannot be written.
    """
    with output_lock(out_dir) as out:
        if out.exists() and not out.is_dir():
            msg = f"output folder {str(out_dir)!r} is an existing file; choose a folder with --out"
            raise InputError(msg)
        clash = sorted(set(names) & set(foreign_files(out))) if out.exists() else []
        if clash:
            raise _clash_error(out_dir, clash)
        try:
            tmp = _new_folder(out.parent, prefix=f".{out.name}.tmp-")
        except OSError as err:
            raise _unwritable(out_dir, out.parent, err) from None
        try:
            _write_marker(tmp, files=[], complete=False)
            yield tmp
            files = sorted(p.name for p in tmp.iterdir() if p.name != MARKER)
            out.mkdir(exist_ok=True)
            _merge_in(tmp, out, files, foreign_files(out), replace_run=False)
        except OSError as err:
            if err.errno in _DISK_ERRNOS:
                raise _unwritable(out_dir, out, err) from None
            raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


@contextlib.contextmanager
def atomic_output_dir(out_dir: Path, *, force: bool = False) -> Iterator[Path]:
    """Yield a temporary folder that replaces ``out_dir`` only if the block succeeds.

    The folder's lock is held throughout (:func:`output_lock`). An existing ``out_dir`` is
    replaced only when urlink wrote every file in it (:func:`foreign_files`); the swap is
    one atomic ``renameat2`` exchange where the system has it, so a run killed at any moment
    leaves either the earlier or the new complete folder, and the next run removes what the
    killed one left behind.

    Parameters
    ----------
    out_dir
        Final location of the results.
    force
        Write into an ``out_dir`` that holds files urlink did not write: they are kept, the
        new files are moved in beside them (one by one, so this mode is not atomic), and
        files of an earlier run that the new one does not write are removed.

    Yields
    ------
    pathlib.Path
        A new empty folder in the same parent (so the final rename is atomic on one file
        system), made like a normal ``mkdir``: its permissions follow the umask (``0o755``
        under the usual umask 022), not ``tempfile.mkdtemp``'s owner-only ``0o700``.

    Raises
    ------
    InputError
        If ``out_dir`` holds files urlink did not write (without ``force``), another run
        holds its lock, or its folder cannot be written.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> with atomic_output_dir(root / "out") as tmp:
    ...     _ = (tmp / "a.txt").write_text("ok")
    >>> (root / "out" / "a.txt").read_text()
    'ok'
    >>> sorted(p.name for p in root.iterdir())
    ['out']
    """
    with output_lock(out_dir) as out:
        if out.exists() and not out.is_dir():
            msg = f"output folder {str(out_dir)!r} is an existing file; choose a folder with --out"
            raise InputError(msg)
        foreign = foreign_files(out) if out.is_dir() else []
        if foreign and not force:
            raise _foreign_error(out_dir, foreign)
        try:
            tmp = _new_folder(out.parent, prefix=f".{out.name}.tmp-")
        except OSError as err:
            raise _unwritable(out_dir, out.parent, err) from None
        try:
            _write_marker(tmp, files=[], complete=False)
            yield tmp
            files = sorted(p.name for p in tmp.iterdir() if p.name != MARKER)
            _write_marker(tmp, files=files, complete=True)
            if foreign:
                _merge_in(tmp, out, files, foreign)
            else:
                _swap_in(tmp, out)
        except OSError as err:
            if err.errno in _DISK_ERRNOS:
                raise _unwritable(out_dir, out.parent, err) from None
            raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    logger.info("wrote %s", out)


def _new_folder(parent: Path, *, prefix: str) -> Path:
    """Create a new folder ``parent / (prefix + random suffix)`` with ``mkdir``'s permissions.

    Parameters
    ----------
    parent
        An existing folder.
    prefix
        Start of the new folder's name.

    Returns
    -------
    pathlib.Path
        The new, empty folder (mode ``0o777`` less the umask, as for ``mkdir``).

    Raises
    ------
    FileExistsError
        If no unused name was found (practically impossible).
    """
    for _ in range(100):
        path = parent / f"{prefix}{secrets.token_hex(4)}"
        try:
            path.mkdir()
        except FileExistsError:
            continue
        return path
    msg = f"could not create a new folder {prefix}* in {parent}"
    raise FileExistsError(msg)


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write ``data`` as indented UTF-8 JSON with sorted keys.

    Parameters
    ----------
    path
        Target file.
    data
        JSON-serialisable mapping (paths are written as strings).
    """
    path.write_text(
        json.dumps(data, indent=2, ensure_ascii=False, sort_keys=True, default=str) + "\n",
        encoding="utf-8",
    )


def network_edges_gdf(G: Any) -> gpd.GeoDataFrame:
    """Edges of a street graph as LineStrings (WGS84) with plain, GeoPackage-safe columns.

    Parameters
    ----------
    G
        A street graph from :mod:`urlink.network.streets`.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per directed edge.
    """
    edges = ox.graph_to_gdfs(G, nodes=False, fill_edge_geometry=True).reset_index()
    keep = [
        "u",
        "v",
        "key",
        "highway",
        "name",
        "length",
        "speed_kph",
        "travel_time",
        "link_class",
        "oneway",
        "network_source",
        "geometry",
    ]
    edges = edges[[c for c in keep if c in edges.columns]].copy()
    for col in edges.columns:
        if col != "geometry" and edges[col].dtype == object:
            edges[col] = (
                edges[col]
                .map(lambda v: ";".join(map(str, v)) if isinstance(v, list) else v)
                .astype("string")
            )
    edges = edges.rename(columns={"length": "length_m", "travel_time": "time_s"})
    return gpd.GeoDataFrame(edges, geometry="geometry", crs="EPSG:4326")


def _long_skim(skim: pd.DataFrame, source: str) -> pd.DataFrame:
    """Turn the skim into rows: origin, destination, time_min, network_source."""
    return pd.DataFrame(
        {
            "origin": np.repeat(skim.index.to_numpy(), skim.shape[1]),
            "destination": np.tile(skim.columns.to_numpy(), skim.shape[0]),
            "time_min": skim.to_numpy().ravel(),
            "network_source": source,
        }
    )


def write_travel_times(
    path: Path, skim: pd.DataFrame, source: str, *, chunk_rows: int = 256
) -> int:
    """Write the skim as ``travel_times.csv`` (one row per zone pair), by blocks of origins.

    The file is the same as writing the whole long table at once, but only ``chunk_rows``
    origins are held as rows at a time (a 5,000-zone skim has 25 million pairs).

    Parameters
    ----------
    path
        Target CSV file.
    skim
        Travel times between the zones (in memory or memory-mapped).
    source
        The network source, written in every row.
    chunk_rows
        Origins per block.

    Returns
    -------
    int
        Number of unreachable pairs (NaN travel times, empty in the file).
    """
    unreachable = 0
    with path.open("w", encoding="utf-8", newline="") as f:
        for a in range(0, max(len(skim.index), 1), chunk_rows):
            block = _long_skim(skim.iloc[a : a + chunk_rows], source)
            unreachable += int(block["time_min"].isna().sum())
            block.to_csv(f, index=False, header=a == 0, float_format="%.6f")
    return unreachable


def write_linkages(
    path: Path,
    zones: gpd.GeoDataFrame,
    flows: gpd.GeoDataFrame,
    edges: gpd.GeoDataFrame | None,
    volumes: pd.DataFrame,
) -> None:
    """Write ``linkages.gpkg``: layers ``zones``, ``flows`` and ``network`` (if ``edges``).

    Parameters
    ----------
    path
        Target GeoPackage.
    zones
        Zones with typology.
    flows
        The flow edges of the linkage graph, with lines from seat to seat
        (:func:`urlink.model.linkage.linkage_flows_of`, or ``graph_to_gdfs(G)[1]``).
    edges
        Street network edges (from :func:`network_edges_gdf`); None leaves the ``network``
        layer out (it is most of the file for a large network).
    volumes
        Assigned volumes per street link (``u``, ``v``, one column per flow type).
    """
    zones.to_crs("EPSG:4326").to_file(path, layer="zones", driver="GPKG")
    flows.to_file(path, layer="flows", driver="GPKG")
    if edges is None:
        return
    network = edges.copy()
    if len(volumes):
        vol = volumes.groupby(["u", "v"], as_index=False).sum()
        vol["u"] = vol["u"].astype(str)
        vol["v"] = vol["v"].astype(str)
        network["u"] = network["u"].astype(str)
        network["v"] = network["v"].astype(str)
        network = network.merge(vol, on=["u", "v"], how="left")
        value_cols = [c for c in vol.columns if c not in ("u", "v")]
        network[value_cols] = network[value_cols].fillna(0.0)
    network.to_file(path, layer="network", driver="GPKG")


TableFormat = Literal["auto", "csv", "parquet"]
"""How ``travel_times`` and ``flows`` are written (:func:`table_formats`)."""

PARQUET_MIN_PAIRS = 4_000_000
"""With ``"auto"``, ``travel_times`` goes to Parquet from this many zone pairs (2,000 zones)."""

PARQUET_MIN_FLOWS = 1_000_000
"""With ``"auto"``, ``flows`` goes to Parquet from this many flow rows."""


def table_formats(table_format: str, *, pairs: int, flows: int) -> dict[str, str]:
    """Choose the file format of ``travel_times`` and ``flows``: ``"csv"`` or ``"parquet"``.

    Parameters
    ----------
    table_format
        ``"csv"``, ``"parquet"`` (needs pyarrow: ``pip install "urlink[parquet]"``) or
        ``"auto"``: Parquet for a table at or above :data:`PARQUET_MIN_PAIRS` zone pairs or
        :data:`PARQUET_MIN_FLOWS` flow rows when pyarrow is installed, CSV otherwise.
    pairs, flows
        Zone pairs of the skim and rows of the flow table.

    Returns
    -------
    dict
        ``{"travel_times": ..., "flows": ...}``.

    Raises
    ------
    InputError
        If ``table_format`` is not one of the three, or ``"parquet"`` without pyarrow.

    Examples
    --------
    >>> table_formats("auto", pairs=400, flows=90)
    {'travel_times': 'csv', 'flows': 'csv'}
    >>> table_formats("csv", pairs=25_000_000, flows=2_000_000)
    {'travel_times': 'csv', 'flows': 'csv'}
    """
    if table_format not in get_args(TableFormat):
        msg = f"table_format={table_format!r} is not valid; use one of {get_args(TableFormat)}"
        raise InputError(msg)
    has_arrow = importlib.util.find_spec("pyarrow") is not None
    if table_format == "parquet" and not has_arrow:
        msg = 'Parquet outputs need pyarrow: pip install "urlink[parquet]" (or use csv)'
        raise InputError(msg)
    if table_format != "auto":
        return {"travel_times": table_format, "flows": table_format}
    big = {"travel_times": pairs >= PARQUET_MIN_PAIRS, "flows": flows >= PARQUET_MIN_FLOWS}
    if any(big.values()) and not has_arrow:
        logger.info('large tables written as CSV: pip install "urlink[parquet]" for Parquet')
    return {k: "parquet" if v and has_arrow else "csv" for k, v in big.items()}


def write_travel_times_parquet(path: Path, skim: pd.DataFrame, source: str) -> int:
    """Write the skim as ``travel_times.parquet``: the rows of ``travel_times.csv``.

    Columns ``origin``, ``destination`` (strings), ``time_min`` (float64, null where
    unreachable: every pair has a row, as in the CSV); the network source is in the file's
    metadata (``network_source``) rather than in every row. One row group per block of
    origins (:func:`urlink.network.skims.skim_to_parquet`), so memory stays bounded.

    Parameters
    ----------
    path
        Target file.
    skim
        Travel times between the zones (in memory or memory-mapped).
    source
        The network source.

    Returns
    -------
    int
        Number of unreachable pairs.
    """
    skim_to_parquet(skim, path, keep_unreachable=True, metadata={"network_source": source})
    return int(sum(int(np.isnan(b).sum()) for _, b in iter_skim_rows(skim)))
