"""Writing results safely: a temporary folder renamed on success, and the run manifest.

A run writes everything into a fresh temporary folder next to the output folder. Only when
all files are written is the old output folder moved aside and the new one renamed into its
place, so a failed run leaves earlier results untouched. Output folders that are, or contain,
an input file are refused, so a run can never overwrite or delete its inputs.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import platform
import secrets
import shutil
import tempfile
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from urlink.errors import InputError

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

__all__ = [
    "atomic_output_dir",
    "check_output_dir",
    "file_sha256",
    "versions",
    "write_json",
]

logger = logging.getLogger(__name__)

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


def check_output_dir(out_dir: Path, inputs: Iterable[Path]) -> Path:
    """Refuse an output folder that is, or lies above, an input file.

    Parameters
    ----------
    out_dir
        The folder a run will replace.
    inputs
        Every input file of the run.

    Returns
    -------
    pathlib.Path
        ``out_dir`` made absolute.

    Raises
    ------
    InputError
        If replacing ``out_dir`` would overwrite or delete an input, or ``out_dir`` is an
        existing file.
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
    return out


@contextlib.contextmanager
def atomic_output_dir(out_dir: Path) -> Iterator[Path]:
    """Yield a temporary folder that replaces ``out_dir`` only if the block succeeds.

    Parameters
    ----------
    out_dir
        Final location of the results.

    Yields
    ------
    pathlib.Path
        A new empty folder in the same parent (so the final rename is atomic on one file
        system), made like a normal ``mkdir``: its permissions follow the umask (``0o755``
        under the usual umask 022), not ``tempfile.mkdtemp``'s owner-only ``0o700``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> with atomic_output_dir(root / "out") as tmp:
    ...     _ = (tmp / "a.txt").write_text("ok")
    >>> (root / "out" / "a.txt").read_text()
    'ok'
    """
    out = out_dir.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = _new_folder(out.parent, prefix=f".{out.name}.tmp-")
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = None
    if out.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
        out.replace(old / out.name)
    try:
        tmp.replace(out)
    except OSError:
        if old is not None:  # put the earlier results back
            (old / out.name).replace(out)
            shutil.rmtree(old, ignore_errors=True)
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
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
