"""The workshop session in SQLite: participants, submissions and rounds, written transactionally.

One file, ``workshop.sqlite`` in ``--data``, holds one session: its join code and
facilitator token, every participant, every submission and every round (with the results
frozen with it). Each write is one transaction (``BEGIN IMMEDIATE`` ... ``COMMIT``) in WAL
mode with ``synchronous = FULL``, so a killed server loses nothing that it had answered, and
a restart resumes the same session, addresses and all. Nothing is ever updated in place
except the freezing of a round; submissions are only added. A submission carries the
client's id for it (``client_id``, unique), so a retried request is stored once.

With ``--db postgresql://...`` the same tables live in a PostgreSQL schema
(``urlink_workshop`` by default) for a team: every write is one transaction there too,
serialised by a transaction-level advisory lock.

Keep the folder (or the schema) private: it holds the facilitator token.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import sqlite3
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from urlink.errors import InputError
from urlink.io.postgis import check_identifier, connect

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["JOIN_ALPHABET", "RoundClosedError", "Session", "SessionStore", "Submission"]

JOIN_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
"""Characters of join codes (no 0/O, 1/I: read aloud and typed on phones)."""
JOIN_CODE_LENGTH = 6

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS rounds (
    number INTEGER PRIMARY KEY,
    opened_utc TEXT NOT NULL,
    frozen_utc TEXT,
    results TEXT
);
CREATE TABLE IF NOT EXISTS participants (
    id {serial},
    secret TEXT UNIQUE NOT NULL,
    grp TEXT NOT NULL,
    name TEXT NOT NULL,
    joined_utc TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS submissions (
    id {serial},
    client_id TEXT UNIQUE NOT NULL,
    round INTEGER NOT NULL REFERENCES rounds(number),
    participant INTEGER NOT NULL REFERENCES participants(id),
    grp TEXT NOT NULL,
    mode TEXT NOT NULL CHECK (mode IN ('points', 'ahp')),
    weights TEXT NOT NULL,
    judgments TEXT,
    consistency_ratio {real},
    created_utc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS submissions_round ON submissions(round)
"""
_SQLITE_TYPES = {"serial": "INTEGER PRIMARY KEY AUTOINCREMENT", "real": "REAL"}
_PG_TYPES = {
    "serial": "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
    "real": "DOUBLE PRECISION",
}
_PG_LOCK = 17_017  # advisory lock key: one writer at a time per database
DEFAULT_PG_SCHEMA = "urlink_workshop"
"""Schema of the workshop tables with ``--db``."""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class RoundClosedError(InputError):
    """A submission to a round that is not open (HTTP 409)."""


@dataclass(frozen=True, slots=True)
class Session:
    """The session's identity.

    Attributes
    ----------
    scenario
        The scenario name it belongs to.
    join_code
        The participants' short code.
    token
        The facilitator's secret token.
    created_utc
        When the session was started.
    """

    scenario: str
    join_code: str
    token: str
    created_utc: str


@dataclass(frozen=True, slots=True)
class Submission:
    """One stored submission.

    Attributes
    ----------
    id
        Its number (in order of arrival).
    round
        The round it was made in.
    participant, name, group
        Who made it.
    mode
        ``"points"`` or ``"ahp"``.
    weights
        Indicator -> weight (summing to 1).
    judgments
        AHP judgments ``[row, col, value]`` (AHP only).
    consistency_ratio
        AHP consistency ratio (AHP only).
    created_utc
        When it was stored.
    """

    id: int
    round: int
    participant: int
    name: str
    group: str
    mode: str
    weights: dict[str, float]
    judgments: list[list[Any]] | None
    consistency_ratio: float | None
    created_utc: str


class SessionStore:
    """A workshop session in an SQLite file (created on first use, resumed afterwards).

    Parameters
    ----------
    path
        The database file (``--data``/``workshop.sqlite``).
    scenario
        The scenario name; a file holding another scenario's session is refused.

    Raises
    ------
    InputError
        If the file holds another scenario's session or is not a workshop database.
    """

    def __init__(
        self, path: str | Path, *, scenario: str, db: str | None = None, schema: str = ""
    ) -> None:
        self._lock = threading.Lock()
        self._pg = db is not None
        if db is not None:
            schema = check_identifier(schema or DEFAULT_PG_SCHEMA, what="--db-schema")
            self.path = Path(schema)
            self._db: Any = connect(db)
            self._db.autocommit = True
            try:
                with self._transaction():
                    self._db.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
                    self._db.execute(f"SET search_path TO {schema}")
                    for statement in _SCHEMA.format(**_PG_TYPES).split(";"):
                        self._db.execute(statement)
            except Exception as err:  # psycopg.Error: psycopg is optional, not imported here
                self._db.close()
                msg = f"cannot keep the workshop in schema {schema!r}: {err}"
                raise InputError(msg) from None
        else:
            self.path = Path(path)
            self.path.parent.mkdir(parents=True, exist_ok=True)
            try:
                self._db = sqlite3.connect(
                    self.path, isolation_level=None, check_same_thread=False, timeout=30
                )
                self._db.execute("PRAGMA journal_mode = WAL")
                self._db.execute("PRAGMA synchronous = FULL")
                self._db.execute("PRAGMA foreign_keys = ON")
                self._db.executescript(_SCHEMA.format(**_SQLITE_TYPES))
            except sqlite3.DatabaseError as err:
                msg = f"{self.path}: not a workshop database ({err}); use another --data folder"
                raise InputError(msg) from None
        try:
            self.session = self._session(scenario)
        except BaseException:
            self._db.close()
            raise

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        """One write transaction (the caller holds ``self._lock`` or is the constructor)."""
        if self._pg:
            self._db.execute("BEGIN")
            self._db.execute("SELECT pg_advisory_xact_lock(%s)", (_PG_LOCK,))
        else:
            self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def _execute(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        return self._db.execute(sql.replace("?", "%s") if self._pg else sql, params)

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()

    def _session(self, scenario: str) -> Session:
        with self._lock, self._transaction():
            meta = dict(self._execute("SELECT key, value FROM meta").fetchall())
            if not meta:
                meta = {
                    "scenario": scenario,
                    "join_code": "".join(
                        secrets.choice(JOIN_ALPHABET) for _ in range(JOIN_CODE_LENGTH)
                    ),
                    "token": secrets.token_urlsafe(24),
                    "created_utc": _now(),
                }
                for item in meta.items():
                    self._execute("INSERT INTO meta VALUES (?, ?)", item)
                self._execute("INSERT INTO rounds (number, opened_utc) VALUES (1, ?)", (_now(),))
        if meta.get("scenario") != scenario:
            msg = (
                f"{self.path} holds a session of scenario {meta.get('scenario')!r}, not "
                f"{scenario!r}; use another --data folder"
            )
            raise InputError(msg)
        return Session(meta["scenario"], meta["join_code"], meta["token"], meta["created_utc"])

    # ------------------------------------------------------------------------- rounds

    def rounds(self) -> list[dict[str, Any]]:
        """Return every round: ``number``, ``opened_utc``, ``frozen_utc``, ``results``.

        Returns
        -------
        list of dict
            In order; ``results`` is the frozen results (None while open).
        """
        with self._lock:
            rows = self._execute(
                "SELECT number, opened_utc, frozen_utc, results FROM rounds ORDER BY number"
            ).fetchall()
        return [
            {
                "number": n,
                "opened_utc": o,
                "frozen_utc": f,
                "results": None if r is None else json.loads(r),
            }
            for n, o, f, r in rows
        ]

    def current_round(self) -> tuple[int, bool]:
        """Return the last round's number and whether it is open.

        Returns
        -------
        tuple of (int, bool)
        """
        with self._lock:
            n, frozen = self._execute(
                "SELECT number, frozen_utc FROM rounds ORDER BY number DESC LIMIT 1"
            ).fetchone()
        return int(n), frozen is None

    def freeze_round(self, number: int, results: dict[str, Any]) -> None:
        """Freeze an open round with its results.

        Parameters
        ----------
        number
            The round (must be the open one).
        results
            The results to keep with it.

        Raises
        ------
        InputError
            If the round is not the open one.
        """
        with self._lock, self._transaction():
            cur = self._execute(
                "UPDATE rounds SET frozen_utc = ?, results = ? "
                "WHERE number = ? AND frozen_utc IS NULL",
                (_now(), json.dumps(results), number),
            )
            if cur.rowcount != 1:
                msg = f"round {number} is not open; nothing was frozen"
                raise InputError(msg)

    def open_round(self) -> int:
        """Open the next round (the last one must be frozen).

        Returns
        -------
        int
            The new round's number.

        Raises
        ------
        InputError
            If the last round is still open.
        """
        with self._lock, self._transaction():
            n, frozen = self._execute(
                "SELECT number, frozen_utc FROM rounds ORDER BY number DESC LIMIT 1"
            ).fetchone()
            if frozen is None:
                msg = f"round {n} is still open; freeze it first"
                raise InputError(msg)
            self._execute("INSERT INTO rounds (number, opened_utc) VALUES (?, ?)", (n + 1, _now()))
        return int(n) + 1

    # ------------------------------------------------------------------- participants

    def add_participant(self, group: str, name: str) -> tuple[int, str]:
        """Register a participant of a group.

        Parameters
        ----------
        group
            The group (checked by the caller).
        name
            Their name or table (checked by the caller).

        Returns
        -------
        tuple of (int, str)
            Their id and the secret their page sends with each submission.
        """
        secret = secrets.token_urlsafe(18)
        with self._lock, self._transaction():
            (pid,) = self._execute(
                "INSERT INTO participants (secret, grp, name, joined_utc) VALUES (?, ?, ?, ?) "
                "RETURNING id",
                (secret, group, name, _now()),
            ).fetchone()
        return int(pid), secret

    def participant(self, secret: str) -> tuple[int, str, str] | None:
        """Look a participant up by their secret.

        Parameters
        ----------
        secret
            The secret of :meth:`add_participant`.

        Returns
        -------
        tuple of (int, str, str) or None
            Id, group and name; None for an unknown secret.
        """
        with self._lock:
            row = self._execute(
                "SELECT id, grp, name FROM participants WHERE secret = ?", (secret,)
            ).fetchone()
        return None if row is None else (int(row[0]), str(row[1]), str(row[2]))

    # -------------------------------------------------------------------- submissions

    def submit(
        self,
        *,
        client_id: str,
        round_number: int,
        participant: int,
        group: str,
        mode: str,
        weights: dict[str, float],
        judgments: list[list[Any]] | None = None,
        consistency_ratio: float | None = None,
    ) -> tuple[int, bool]:
        """Store a submission in the open round (once per ``client_id``).

        Parameters
        ----------
        client_id
            The client's id of this submission (a retry with the same id is stored once).
        round_number
            The round the participant saw open; refused if it is no longer open.
        participant, group
            Who submits (checked by the caller against their secret).
        mode, weights, judgments, consistency_ratio
            What they submit (checked by the caller).

        Returns
        -------
        tuple of (int, bool)
            The submission's id and whether it is new (False: a retry of a stored one).

        Raises
        ------
        InputError
            If the round is frozen or not the current one.
        """
        with self._lock, self._transaction():
            old = self._execute(
                "SELECT id, participant FROM submissions WHERE client_id = ?", (client_id,)
            ).fetchone()
            if old is not None:
                if int(old[1]) != participant:
                    msg = "this submission id belongs to another participant"
                    raise InputError(msg)
                return int(old[0]), False
            n, frozen = self._execute(
                "SELECT number, frozen_utc FROM rounds ORDER BY number DESC LIMIT 1"
            ).fetchone()
            if frozen is not None or n != round_number:
                state = "frozen" if frozen is not None else "open"
                msg = (
                    f"round {round_number} is closed (round {n} is {state}); wait for the "
                    "facilitator to open the next round, then submit again"
                )
                raise RoundClosedError(msg)
            (sid,) = self._execute(
                "INSERT INTO submissions (client_id, round, participant, grp, mode, "
                "weights, judgments, consistency_ratio, created_utc) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (
                    client_id,
                    n,
                    participant,
                    group,
                    mode,
                    json.dumps(weights),
                    None if judgments is None else json.dumps(judgments),
                    consistency_ratio,
                    _now(),
                ),
            ).fetchone()
        return int(sid), True

    def submissions(self, *, up_to_round: int | None = None) -> list[Submission]:
        """Return the stored submissions in order of arrival.

        Parameters
        ----------
        up_to_round
            Only those made in this round or earlier.

        Returns
        -------
        list of Submission
        """
        if up_to_round is None:
            return self._select("", ())
        return self._select("WHERE s.round <= ?", (up_to_round,))

    def _select(self, where: str, params: tuple[Any, ...]) -> list[Submission]:
        sql = (
            "SELECT s.id, s.round, s.participant, p.name, s.grp, s.mode, s.weights, "
            "s.judgments, s.consistency_ratio, s.created_utc FROM submissions s "
            f"JOIN participants p ON p.id = s.participant {where} ORDER BY s.id"
        )
        with self._lock:
            rows = self._execute(sql, params).fetchall()
        return [
            Submission(
                id=int(r[0]),
                round=int(r[1]),
                participant=int(r[2]),
                name=str(r[3]),
                group=str(r[4]),
                mode=str(r[5]),
                weights=json.loads(r[6]),
                judgments=None if r[7] is None else json.loads(r[7]),
                consistency_ratio=r[8],
                created_utc=str(r[9]),
            )
            for r in rows
        ]

    def latest_submissions(self, *, up_to_round: int) -> list[Submission]:
        """Return each participant's latest submission made in a round or earlier.

        Parameters
        ----------
        up_to_round
            The round.

        Returns
        -------
        list of Submission
            One per participant who has submitted, in order of arrival.
        """
        return self._select(
            "WHERE s.id IN (SELECT max(id) FROM submissions WHERE round <= ? "
            "GROUP BY participant)",
            (up_to_round,),
        )

    def count_submissions(self) -> int:
        """Return the number of stored submissions.

        Returns
        -------
        int
        """
        with self._lock:
            return int(self._execute("SELECT count(*) FROM submissions").fetchone()[0])
