"""A throw-away PostgreSQL + PostGIS server for the tests (see tests/test_postgis.py).

The server runs from a fresh data directory in ``/tmp/urlink-pg-*`` and listens on
127.0.0.1 on a free port and on a Unix socket in that directory. PostgreSQL refuses to run
as root, so under root the directory is handed to the ``postgres`` user (created by the
Debian packages) and the server binaries run through ``runuser``. Host logins need the
password :data:`PASSWORD` (scram-sha-256), so the tests exercise real authentication.

A server left behind by a test session that was killed (its ``owner.pid`` is dead) is
stopped and its directory removed before a new one starts.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

PREFIX = "urlink-pg-"
SUPERUSER = "urlink_test"
PASSWORD = "pg-Secret-7731"  # a throw-away test server
DATABASE = "urlink_test"


class ServerUnavailableError(RuntimeError):
    """The server could not be started (no binaries, no PostGIS, ...)."""


@dataclass(frozen=True)
class Server:
    """A running test server."""

    root: Path
    port: int
    bindir: Path
    run_as: str | None

    @property
    def data(self) -> Path:
        return self.root / "data"

    def dsn(self, *, password: bool = True, dbname: str = DATABASE) -> str:
        pw = f":{PASSWORD}" if password else ""
        return f"postgresql://{SUPERUSER}{pw}@127.0.0.1:{self.port}/{dbname}"


def find_bindir() -> Path:
    """Directory with initdb and pg_ctl (``URLINK_PG_BINDIR`` or the newest Debian one)."""
    env = os.environ.get("URLINK_PG_BINDIR")
    if env:  # an explicit choice: only this one
        if (Path(env) / "initdb").is_file() and (Path(env) / "pg_ctl").is_file():
            return Path(env)
        msg = f"URLINK_PG_BINDIR={env} has no initdb and pg_ctl"
        raise ServerUnavailableError(msg)
    candidates = [
        Path(p)
        for p in sorted(
            Path("/usr/lib/postgresql").glob("*/bin"),
            key=lambda p: int(Path(p).parent.name) if Path(p).parent.name.isdigit() else 0,
            reverse=True,
        )
    ]
    which = shutil.which("initdb")
    if which:
        candidates.append(Path(which).parent)
    for c in candidates:
        if (c / "initdb").is_file() and (c / "pg_ctl").is_file():
            return c
    msg = "no PostgreSQL server binaries (initdb, pg_ctl): apt-get install postgresql"
    raise ServerUnavailableError(msg)


def _run(cmd: list[str], run_as: str | None, *, timeout: float = 60.0) -> None:
    full = ["runuser", "-u", run_as, "--", *cmd] if run_as else cmd
    proc = subprocess.run(full, capture_output=True, text=True, timeout=timeout, check=False)
    if proc.returncode != 0:
        msg = f"{' '.join(cmd[:2])} failed ({proc.returncode}): {proc.stderr.strip()[-800:]}"
        raise ServerUnavailableError(msg)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _kill_postmaster(data: Path) -> None:
    pidfile = data / "postmaster.pid"
    with contextlib.suppress(OSError, ValueError, IndexError):
        pid = int(pidfile.read_text().splitlines()[0])
        if _pid_alive(pid):
            os.kill(pid, signal.SIGQUIT)  # immediate shutdown
            for _ in range(50):
                if not _pid_alive(pid):
                    break
                time.sleep(0.1)
            else:
                os.kill(pid, signal.SIGKILL)


def remove_stale() -> None:
    """Stop servers of earlier test sessions that died, and remove their directories."""
    for root in Path(tempfile.gettempdir()).glob(f"{PREFIX}*"):
        owner = root / "owner.pid"
        try:
            alive = _pid_alive(int(owner.read_text().strip()))
        except (OSError, ValueError):
            alive = False
        if not alive:
            _kill_postmaster(root / "data")
            shutil.rmtree(root, ignore_errors=True)


def start() -> Server:
    """Create a data directory, start the server, create the database with PostGIS."""
    bindir = find_bindir()
    remove_stale()
    run_as = None
    if getattr(os, "geteuid", lambda: -1)() == 0:
        import pwd

        try:
            pw = pwd.getpwnam("postgres")
        except KeyError:
            msg = "running as root and there is no 'postgres' user to run the server"
            raise ServerUnavailableError(msg) from None
        if shutil.which("runuser") is None:
            msg = "running as root and 'runuser' is missing"
            raise ServerUnavailableError(msg)
        run_as = "postgres"
    root = Path(tempfile.mkdtemp(prefix=PREFIX))
    (root / "owner.pid").write_text(str(os.getpid()))
    root.chmod(0o755)
    pwfile = root / "pwfile"
    pwfile.write_text(PASSWORD + "\n")
    if run_as:
        os.chown(root, pw.pw_uid, pw.pw_gid)
        os.chown(pwfile, pw.pw_uid, pw.pw_gid)
    server = Server(root=root, port=free_port(), bindir=bindir, run_as=run_as)
    try:
        _run(
            [
                str(bindir / "initdb"),
                "-D",
                str(server.data),
                "-U",
                SUPERUSER,
                f"--pwfile={pwfile}",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "-E",
                "UTF8",
                "--no-locale",
            ],
            run_as,
            timeout=120,
        )
        opts = (
            f"-k {root} -p {server.port} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c full_page_writes=off -c synchronous_commit=off"
        )
        _run(
            [
                str(bindir / "pg_ctl"),
                "-D",
                str(server.data),
                "-l",
                str(root / "server.log"),
                "-w",
                "-t",
                "60",
                "-o",
                opts,
                "start",
            ],
            run_as,
            timeout=90,
        )
        import psycopg

        with psycopg.connect(server.dsn(dbname="postgres"), autocommit=True) as con:
            con.execute(f"CREATE DATABASE {DATABASE}")
        with psycopg.connect(server.dsn(), autocommit=True) as con:
            try:
                con.execute("CREATE EXTENSION postgis")
            except psycopg.Error as err:
                msg = (
                    f"PostgreSQL started but PostGIS is missing ({err}); apt-get install "
                    "postgresql-15-postgis-3"
                )
                raise ServerUnavailableError(msg) from None
    except BaseException:
        stop(server)
        raise
    return server


def stop(server: Server) -> None:
    """Stop the server (fast, then by signal) and remove its directory."""
    if (server.data / "postmaster.pid").exists():
        with contextlib.suppress(ServerUnavailableError, subprocess.TimeoutExpired):
            _run(
                [
                    str(server.bindir / "pg_ctl"),
                    "-D",
                    str(server.data),
                    "-m",
                    "fast",
                    "-w",
                    "stop",
                ],
                server.run_as,
                timeout=60,
            )
        _kill_postmaster(server.data)
    shutil.rmtree(server.root, ignore_errors=True)
