"""Test hygiene for the whole session: no test leaves files in the system's temp directory.

The session runs with a private, initially empty temporary directory (``TMPDIR`` and
:data:`tempfile.tempdir`, so the processes the tests start use it too: Dask workers,
``python -m urlink.cli``, Chromium, PostgreSQL). At the end of the session it must still be
empty: anything left there would have been left in the system's temporary directory, which
tests must not touch (they write to their ``tmp_path``). Doctests, which have no
``tmp_path`` argument, get theirs as the temporary directory.

This file lives at the top of the repository so that it covers both ``tests/`` and the
doctests in ``urlink/``.
"""

from __future__ import annotations

import multiprocessing.util
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture(scope="session", autouse=True)
def _no_files_left_in_the_system_temp_dir(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Path]:
    tmp_path_factory.getbasetemp()  # pytest's own folders stay where they were
    # multiprocessing's folder (pymp-*) is removed only at interpreter exit, after this check:
    # it stays in the system's temporary directory, as without this fixture
    multiprocessing.util.get_temp_dir()
    private = Path(tempfile.mkdtemp(prefix="urlink-tests-tmp-"))
    private.chmod(0o1777)  # like /tmp: the PostgreSQL server's user writes there too
    saved_env, saved_tempdir = os.environ.get("TMPDIR"), tempfile.tempdir
    os.environ["TMPDIR"] = str(private)
    tempfile.tempdir = str(private)
    try:
        yield private
    finally:
        tempfile.tempdir = saved_tempdir
        if saved_env is None:
            os.environ.pop("TMPDIR", None)
        else:
            os.environ["TMPDIR"] = saved_env
        left = sorted(p.name for p in private.iterdir())
        shutil.rmtree(private, ignore_errors=True)
    assert not left, f"the tests left files in the system's temporary directory: {left}"


@pytest.fixture(autouse=True)
def _doctests_write_to_their_tmp_path(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    if isinstance(request.node, pytest.DoctestItem):
        tmp_path = request.getfixturevalue("tmp_path")
        monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
