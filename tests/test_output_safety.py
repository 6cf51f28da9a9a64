"""A run never deletes or overwrites what urlink did not write; kills and races are safe (#19).

The output folder of ``urlink run`` is replaced only when urlink wrote every file in it (its
marker ``.urlink`` lists them); ``urlink map``, ``select-link`` and ``weights-template`` never
overwrite a file urlink did not write; a run killed with SIGKILL leaves the earlier output
intact and the next run removes what it left; two runs into one folder never mix.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from urlink.cli import main
from urlink.outputs import files

from .test_bad_inputs import make_scenario

ROOT = Path(__file__).resolve().parents[1]


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def _complete(out: Path) -> list[str]:
    """Check that ``out`` is one complete run's folder; return its files."""
    marker = json.loads((out / ".urlink").read_text(encoding="utf-8"))
    assert marker["written_by"] == "urlink" and marker["complete"] is True
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted([*marker["files"], ".urlink"])
    assert {"manifest.json", "zones.gpkg", "flows.csv", "report.html"} <= set(names)
    json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    return names


def _leftovers(out: Path) -> list[str]:
    return sorted(p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}."))


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    return make_scenario(tmp_path)


@pytest.fixture
def users_folder(tmp_path: Path) -> Path:
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("my notes", encoding="utf-8")
    (out / "survey.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    (out / "sub").mkdir()
    (out / "sub" / "x.txt").write_text("x", encoding="utf-8")
    return out


# ------------------------------------------------------------------ the user's own files


def test_run_refuses_a_folder_of_the_users_files_and_leaves_them(tiny, users_folder, capsys):
    before = _snapshot(users_folder)
    assert main(["run", str(tiny), "--out", str(users_folder), "-q"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert str(users_folder) in err and "did not write" in err and "'notes.txt'" in err
    assert "--force" in err
    assert _snapshot(users_folder) == before
    assert (users_folder / "sub" / "x.txt").read_text(encoding="utf-8") == "x"
    assert _leftovers(users_folder) == []


def test_force_writes_beside_the_users_files_and_never_removes_them(tiny, users_folder, capsys):
    before = _snapshot(users_folder)
    for _ in range(2):  # and again: the earlier outputs are replaced, the user's files kept
        assert main(["run", str(tiny), "--out", str(users_folder), "-q", "--force"]) == 0
        now = _snapshot(users_folder)
        assert {k: now[k] for k in before} == before
        assert (users_folder / "sub" / "x.txt").read_text(encoding="utf-8") == "x"
        marker = json.loads((users_folder / ".urlink").read_text(encoding="utf-8"))
        assert "notes.txt" not in marker["files"] and "flows.csv" in marker["files"]
        assert _leftovers(users_folder) == []
    # a user's file with an output's name is never overwritten, even with --force
    clash = users_folder.parent / "clash"
    clash.mkdir()
    (clash / "flows.csv").write_text("mine", encoding="utf-8")
    capsys.readouterr()
    assert main(["run", str(tiny), "--out", str(clash), "-q", "--force"]) == 2
    err = capsys.readouterr().err
    assert "flows.csv" in err and "Traceback" not in err
    assert _snapshot(clash) == {"flows.csv": b"mine"}
    assert _leftovers(clash) == []


def test_an_empty_folder_and_an_earlier_output_are_replaced(tiny, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    assert main(["run", str(tiny), "--out", str(out), "-q"]) == 0
    first = _complete(out)
    assert main(["run", str(tiny), "--out", str(out), "-q"]) == 0
    assert _complete(out) == first
    assert _leftovers(out) == []
    # a file the user added to an output folder is theirs: the folder is no longer replaced
    (out / "my-notes.txt").write_text("keep", encoding="utf-8")
    assert main(["run", str(tiny), "--out", str(out), "-q"]) == 2
    assert "'my-notes.txt'" in capsys.readouterr().err
    assert (out / "my-notes.txt").read_text(encoding="utf-8") == "keep"


def test_outputs_of_older_versions_are_recognised_by_their_manifest(tiny, tmp_path):
    out = tmp_path / "old"
    out.mkdir()
    manifest = {"scenario": "tiny", "versions": {"urlink": "0.1"}, "outputs": {"flows.csv": ""}}
    (out / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    (out / "flows.csv").write_text("old", encoding="utf-8")
    assert main(["run", str(tiny), "--out", str(out), "-q"]) == 0
    _complete(out)
    # a manifest.json that is not urlink's signs nothing
    other = tmp_path / "other"
    other.mkdir()
    (other / "manifest.json").write_text('{"app": "something else"}', encoding="utf-8")
    assert main(["run", str(tiny), "--out", str(other), "-q"]) == 2
    assert (other / "manifest.json").read_text(encoding="utf-8") == '{"app": "something else"}'


def test_map_never_overwrites_a_page_urlink_did_not_write(tiny, users_folder, capsys):
    (users_folder / "map.html").write_text("<p>my own map</p>", encoding="utf-8")
    before = _snapshot(users_folder)
    assert main(["map", str(tiny), "--out", str(users_folder), "-q"]) == 2
    err = capsys.readouterr().err
    assert "map.html" in err and str(users_folder) in err and "Traceback" not in err
    assert _snapshot(users_folder) == before
    # beside the user's files (no page of that name) the map is written, and again
    (users_folder / "map.html").unlink()
    for _ in range(2):
        assert main(["map", str(tiny), "--out", str(users_folder), "-q"]) == 0
        assert "<html" in (users_folder / "map.html").read_text(encoding="utf-8").lower()
        assert (users_folder / "notes.txt").read_text(encoding="utf-8") == "my notes"
    assert _leftovers(users_folder) == []


def test_map_into_a_runs_folder_keeps_the_run(tiny, tmp_path):
    out = tmp_path / "out"
    assert main(["run", str(tiny), "--out", str(out), "-q"]) == 0
    names = _complete(out)
    assert main(["map", str(tiny), "--out", str(out), "-q", "--lang", "en"]) == 0
    assert _complete(out) == names  # map.html replaced, the run still complete and replaceable
    assert main(["run", str(tiny), "--out", str(out), "-q"]) == 0


def test_select_link_and_weights_template_never_overwrite(tiny, tmp_path, capsys):
    mine = tmp_path / "mine.csv"
    mine.write_text("precious", encoding="utf-8")
    argv = ["select-link", str(tmp_path), "--link", "1,2", "--out", str(mine)]
    assert main(argv) == 2
    assert "'" + str(mine) + "' exists" in capsys.readouterr().err
    assert main(["weights-template", str(tiny), "--out", str(mine)]) == 2
    assert "never overwrites" in capsys.readouterr().err
    assert mine.read_text(encoding="utf-8") == "precious"


# ------------------------------------------------------------------ unwritable folders


def test_output_folder_on_a_read_only_file_system(tiny, tmp_path, capsys, monkeypatch):
    real_open = os.open

    def read_only(path, flags, *args, **kwargs):
        if str(path).endswith(".lock"):
            raise OSError(errno.EROFS, "Read-only file system", str(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(files.os, "open", read_only)
    out = tmp_path / "ro" / "out"
    (tmp_path / "ro").mkdir()
    assert main(["run", str(tiny), "--out", str(out), "-q"]) == 2
    err = capsys.readouterr().err
    assert "Read-only file system" in err and str(out) in err and "Traceback" not in err


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_output_folder_in_a_read_only_folder(tiny, tmp_path, capsys):  # pragma: no cover
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        assert main(["run", str(tiny), "--out", str(ro / "out"), "-q"]) == 2
        assert "cannot write in" in capsys.readouterr().err
    finally:
        ro.chmod(0o755)


# ------------------------------------------------------------------ locks, kills, races


def test_a_locked_folder_is_refused_with_a_clear_message(tiny, tmp_path, capsys):
    out = tmp_path / "out"
    fd = os.open(tmp_path / ".out.lock", os.O_RDWR | os.O_CREAT)
    os.write(fd, b"4242\n")
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    try:
        assert main(["run", str(tiny), "--out", str(out), "-q"]) == 2
        err = capsys.readouterr().err
        assert "being written by another urlink run (process 4242" in err
        assert not out.exists()
    finally:
        os.close(fd)


def test_stale_temporary_folders_are_removed_only_if_ours(tiny, tmp_path):
    out = tmp_path / "out"
    ours = tmp_path / ".out.tmp-0123abcd"
    ours.mkdir()
    (ours / ".urlink").write_text('{"written_by": "urlink", "files": []}', encoding="utf-8")
    (ours / "flows.csv").write_text("half", encoding="utf-8")
    theirs = tmp_path / ".out.tmp-89abcdef"  # the right name, but no marker: not ours
    theirs.mkdir()
    (theirs / "x.txt").write_text("x", encoding="utf-8")
    assert main(["run", str(tiny), "--out", str(out), "-q"]) == 0
    assert not ours.exists()
    assert (theirs / "x.txt").read_text(encoding="utf-8") == "x"
    _complete(out)


def test_an_output_moved_aside_by_a_killed_run_is_put_back(tiny, tmp_path):
    out = tmp_path / "out"
    assert main(["run", str(tiny), "--out", str(out), "-q"]) == 0
    names = _complete(out)
    # the fallback swap (no renameat2) killed between its two renames
    out.replace(tmp_path / ".out.old-0badf00d")
    with files.output_lock(out):
        pass
    assert _complete(out) == names
    assert _leftovers(out) == []


def _urlink(*argv: str, cwd: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "urlink.cli", *argv],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_sigkill_at_any_moment_leaves_the_earlier_output(tmp_path):
    scenario = make_scenario(tmp_path, strategies=True)
    out = tmp_path / "out"
    first = _urlink("run", str(scenario), "--out", str(out), "-q", cwd=tmp_path)
    started = time.perf_counter()
    assert first.communicate()[1] == ""
    took = time.perf_counter() - started
    names = _complete(out)
    for share in (0.5, 0.8, 0.95):  # while importing, running and writing
        proc = _urlink("run", str(scenario), "--out", str(out), "-q", cwd=tmp_path)
        time.sleep(share * took)
        proc.send_signal(signal.SIGKILL)
        proc.communicate()
        assert _complete(out) == names  # the earlier or the new output: complete either way
    done = _urlink("run", str(scenario), "--out", str(out), "-q", cwd=tmp_path)
    _, err = done.communicate()
    assert done.returncode == 0, err
    assert _complete(out) == names
    assert _leftovers(out) == []


def test_two_runs_into_one_folder_never_mix(tmp_path):
    scenario = make_scenario(tmp_path, strategies=True)
    out = tmp_path / "out"
    procs = [_urlink("run", str(scenario), "--out", str(out), "-q", cwd=tmp_path) for _ in "ab"]
    results = [(p.communicate()[1], p.returncode) for p in procs]
    codes = sorted(code for _, code in results)
    assert codes in ([0, 0], [0, 2]), results
    for err, code in results:
        assert "Traceback" not in err
        if code == 2:
            assert "being written by another urlink run" in err
    _complete(out)
    assert _leftovers(out) == []


def test_a_marker_never_names_files_outside_its_folder(tiny, tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("keep", encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    marker = {"written_by": "urlink", "files": ["../victim.txt", "/etc/hostname", ".."]}
    (out / ".urlink").write_text(json.dumps(marker), encoding="utf-8")
    (out / "mine.txt").write_text("mine", encoding="utf-8")
    assert main(["run", str(tiny), "--out", str(out), "-q", "--force"]) == 0
    assert victim.read_text(encoding="utf-8") == "keep"
    assert (out / "mine.txt").read_text(encoding="utf-8") == "mine"
    _complete_with = json.loads((out / ".urlink").read_text(encoding="utf-8"))["files"]
    assert "../victim.txt" not in _complete_with and "mine.txt" not in _complete_with
