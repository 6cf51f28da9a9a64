"""The workshop web server: a Starlette application on uvicorn, with Server-Sent Events.

:func:`create_app` builds the application of a session; :func:`serve` runs it. Routes:

========================  =============  ==================================================
``GET /``                 anyone         a page saying to ask the facilitator for the address
``GET /join/{code}``      join code      the participants' page
``GET /facilitator``      token (``#``)  the facilitator's screen (token in the fragment)
``GET /assets/{name}``    anyone         the bundled scripts and style sheet
``GET /api/info``         join code      groups, indicators, strategies, the small map
``GET /api/status``       join code      the round and whether it is open
``POST /api/join``        join code      register a participant of a group; returns a secret
``POST /api/ahp``         join code      weights, CR and the pair to revise (nothing stored)
``POST /api/submit``      secret         store weights of the participant's own group
``GET /api/results``      token          every round's results, who submitted
``GET /api/events``       token          the results pushed on each change (SSE)
``POST /api/rounds/...``  token          ``freeze`` the open round, ``open`` the next one
``GET /api/export/...``   token          ``weights.csv`` (the points form) and ``report.html``
========================  =============  ==================================================

The token travels in an ``Authorization: Bearer`` header (never in a URL the server logs);
every answer to bad input is a 4xx with ``{"error": message}``; every page has a strict
Content-Security-Policy (only this server's own scripts and styles; no inline script, no
external request).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import time
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any

import anyio
import pandas as pd
import uvicorn
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from urlink.errors import InputError
from urlink.workshop.checks import (
    MAX_BODY_BYTES,
    ForbiddenError,
    TooLargeError,
    check_client_id,
    check_fields,
    check_judgments,
    check_points,
    check_secret_equal,
    check_text,
    parse_json,
)
from urlink.workshop.live import LiveScorer, group_weights
from urlink.workshop.report import rounds_report, weights_csv
from urlink.workshop.store import RoundClosedError, SessionStore

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable
    from pathlib import Path

    from starlette.requests import Request

    from urlink.workshop.data import WorkshopData

__all__ = ["Workshop", "create_app", "lan_address", "serve"]

logger = logging.getLogger(__name__)

ASSETS = {
    "participant.js": "text/javascript; charset=utf-8",
    "facilitator.js": "text/javascript; charset=utf-8",
    "common.js": "text/javascript; charset=utf-8",
    "workshop.css": "text/css; charset=utf-8",
}
"""The bundled assets served under ``/assets/`` (nothing else is)."""

_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
_HEADERS = {
    "Content-Security-Policy": _CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
_HEARTBEAT_S = 15.0
_SLICE_S = 0.5


def _asset(name: str) -> bytes:
    return resources.files("urlink.workshop").joinpath("assets", name).read_bytes()


class Workshop:
    """A running session: the run's data, the live scorer, the database and the listeners.

    Parameters
    ----------
    data
        What the run gives the room.
    store
        The session database.
    """

    def __init__(self, data: WorkshopData, store: SessionStore) -> None:
        self.data = data
        self.store = store
        self.scorer = LiveScorer(data)
        self.listeners: set[asyncio.Queue[str]] = set()
        self.latest: dict[str, Any] | None = None
        self.version = 0
        self._changed: asyncio.Event | None = None
        self._refreshing: asyncio.Lock | None = None
        self.stopping = False  # set on Ctrl+C: open event streams end, so shutdown is quick

    # ------------------------------------------------------------------ computation

    def weights_of_round(self, number: int) -> tuple[dict[str, pd.Series], list[dict[str, Any]]]:
        """Each group's weights in a round, and who they come from.

        A participant's latest submission up to the round counts (an earlier round's
        submission carries over until they submit again); a group's weights are the mean
        of its participants'.

        Parameters
        ----------
        number
            The round.

        Returns
        -------
        tuple
            Group -> weights, and per participant counted: ``participant``, ``name``,
            ``group``, ``mode``, ``round``, ``consistency_ratio``, ``at``.
        """
        by_group: dict[str, list[pd.Series]] = {}
        who = []
        for sub in self.store.latest_submissions(up_to_round=number):
            by_group.setdefault(sub.group, []).append(pd.Series(sub.weights, dtype=float))
            who.append(
                {
                    "participant": sub.participant,
                    "name": sub.name,
                    "group": sub.group,
                    "mode": sub.mode,
                    "round": sub.round,
                    "consistency_ratio": sub.consistency_ratio,
                    "at": sub.created_utc,
                }
            )
        weights = {
            g: group_weights(pd.DataFrame(rows).reindex(columns=self.data.indicator_ids))
            for g in self.data.groups
            if (rows := by_group.get(g))
        }
        return weights, who

    def compute(self) -> dict[str, Any]:
        """Results of the current round and of every frozen one.

        Returns
        -------
        dict
            ``round``, ``open``, ``current`` (live results and who submitted), ``rounds``
            (frozen ones, with their results), ``submissions`` (count), ``join_code``.
        """
        number, is_open = self.store.current_round()
        weights, who = self.weights_of_round(number)
        current = self.scorer.results(weights)
        current["submitted"] = who
        rounds = [
            {k: r[k] for k in ("number", "opened_utc", "frozen_utc", "results")}
            for r in self.store.rounds()
            if r["frozen_utc"] is not None
        ]
        return {
            "round": number,
            "open": is_open,
            "current": current,
            "rounds": rounds,
            "submissions": self.store.count_submissions(),
            "join_code": self.store.session.join_code,
        }

    async def refresh(self) -> dict[str, Any]:
        """Re-score now (in a worker thread) and push the results to every listener.

        Returns
        -------
        dict
            The results.
        """
        if self._refreshing is None:
            self._refreshing = asyncio.Lock()
        async with self._refreshing:  # one at a time, so a later state is never overwritten
            results = await anyio.to_thread.run_sync(self.compute)
            self.version += 1
            results["version"] = self.version
            self.latest = results
        message = "event: results\ndata: " + json.dumps(results, separators=(",", ":")) + "\n\n"
        for queue in list(self.listeners):
            with contextlib.suppress(asyncio.QueueEmpty):
                queue.get_nowait()  # a slow screen only needs the newest results
            queue.put_nowait(message)
        return results

    def changed(self) -> None:
        """Ask for a re-scoring (coalesced: many submissions, one re-scoring)."""
        if self._changed is not None:
            self._changed.set()

    async def rescore_loop(self) -> None:
        """Re-score whenever :meth:`changed` was called, one re-scoring at a time."""
        self._changed = asyncio.Event()
        while True:
            await self._changed.wait()
            self._changed.clear()
            try:
                t0 = time.perf_counter()
                results = await self.refresh()
                logger.info(
                    "re-scored round %d (%d submissions) in %.0f ms (scoring %.0f ms)",
                    results["round"],
                    results["submissions"],
                    (time.perf_counter() - t0) * 1000,
                    results["current"]["elapsed_ms"],
                )
            except Exception:  # keep serving; the error is logged with its traceback
                logger.exception("re-scoring failed")


# ----------------------------------------------------------------------- requests


async def _body(request: Request) -> dict[str, Any]:
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > MAX_BODY_BYTES):
        msg = f"the request body is larger than {MAX_BODY_BYTES:,} bytes; send less"
        raise TooLargeError(msg)
    chunks = bytearray()
    async for chunk in request.stream():
        chunks += chunk
        if len(chunks) > MAX_BODY_BYTES:
            msg = f"the request body is larger than {MAX_BODY_BYTES:,} bytes; send less"
            raise TooLargeError(msg)
    return parse_json(bytes(chunks))


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=_HEADERS)


def _json(value: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(value, status_code=status, headers=_HEADERS)


def _guarded(
    handler: Callable[[Request, Workshop], Awaitable[Response]], workshop: Workshop
) -> Callable[[Request], Awaitable[Response]]:
    """Wrap a handler: bad input becomes a 4xx with a message, never a 500."""

    async def endpoint(request: Request) -> Response:
        try:
            return await handler(request, workshop)
        except TooLargeError as err:
            return _error(413, str(err))
        except ForbiddenError as err:
            return _error(403, str(err))
        except RoundClosedError as err:
            return _error(409, str(err))
        except InputError as err:
            return _error(400, str(err))

    return endpoint


def _check_code(request: Request, workshop: Workshop, code: object = None) -> None:
    given = code if code is not None else request.query_params.get("code")
    check_secret_equal(given, workshop.store.session.join_code, what="join code")


def _check_token(request: Request, workshop: Workshop) -> None:
    header = request.headers.get("authorization", "")
    given = header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else None
    check_secret_equal(given, workshop.store.session.token, what="facilitator token")


def _page(title: str, script: str, body_class: str) -> Response:
    html = (
        '<!doctype html>\n<html lang="zh-Hans"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<title>{title}</title><link rel="stylesheet" href="/assets/workshop.css">'
        '<script src="/assets/common.js" defer></script>'
        f'<script src="/assets/{script}" defer></script></head>'
        f'<body class="{body_class}"><main id="app"><p class="muted">…</p></main></body></html>'
    )
    return Response(html, media_type="text/html; charset=utf-8", headers=_HEADERS)


async def _home(request: Request, workshop: Workshop) -> Response:
    html = (
        '<!doctype html>\n<html><head><meta charset="utf-8"><title>urlink workshop</title>'
        '<link rel="stylesheet" href="/assets/workshop.css"></head><body><main>'
        "<h1>urlink workshop</h1><p>请向主持人索取参与地址。 Ask the facilitator for the "
        "address to join.</p></main></body></html>"
    )
    return Response(html, media_type="text/html; charset=utf-8", headers=_HEADERS)


async def _favicon(request: Request, workshop: Workshop) -> Response:
    return Response(status_code=204, headers=_HEADERS)


async def _join_page(request: Request, workshop: Workshop) -> Response:
    _check_code(request, workshop, request.path_params["code"].upper())
    return _page("urlink workshop", "participant.js", "participant")


async def _facilitator_page(request: Request, workshop: Workshop) -> Response:
    return _page("urlink workshop: facilitator", "facilitator.js", "facilitator")


async def _asset_route(request: Request, workshop: Workshop) -> Response:
    name = request.path_params["name"]
    if name not in ASSETS:
        raise HTTPException(404, "no such asset")
    return Response(_asset(name), media_type=ASSETS[name], headers=_HEADERS)


async def _info(request: Request, workshop: Workshop) -> Response:
    if "authorization" in request.headers:
        _check_token(request, workshop)
    else:
        _check_code(request, workshop)
    number, is_open = workshop.store.current_round()
    return _json({**workshop.data.info(), "round": number, "open": is_open})


async def _status(request: Request, workshop: Workshop) -> Response:
    _check_code(request, workshop)
    number, is_open = workshop.store.current_round()
    return _json({"round": number, "open": is_open})


async def _join(request: Request, workshop: Workshop) -> Response:
    body = await _body(request)
    check_fields(body, required=("code", "group", "name"))
    _check_code(request, workshop, body["code"])
    group = body["group"]
    if not isinstance(group, str) or group not in workshop.data.groups:
        groups = list(workshop.data.groups)
        msg = f"group {str(group)[:60]!r} is not a group of this workshop: {groups}"
        raise InputError(msg)
    name = check_text(body["name"], field="name")
    pid, secret = await anyio.to_thread.run_sync(workshop.store.add_participant, group, name)
    return _json({"participant": pid, "secret": secret, "group": group, "name": name}, 201)


async def _ahp(request: Request, workshop: Workshop) -> Response:
    body = await _body(request)
    check_fields(body, required=("code", "judgments"), optional=("group",))
    _check_code(request, workshop, body["code"])
    res = check_judgments(body["judgments"], workshop.data.indicator_ids, group="this group")
    return _json(_ahp_json(res))


def _ahp_json(res: Any) -> dict[str, Any]:
    return {
        "weights": {str(k): round(float(v), 6) for k, v in res.weights.items()},
        "consistency_ratio": round(res.consistency_ratio, 4),
        "consistent": res.revise is None,
        "revise": None
        if res.revise is None
        else {
            "row": res.revise[0],
            "col": res.revise[1],
            "value": res.revise[2],
            "implied": round(res.revise[3], 3),
        },
    }


async def _submit(request: Request, workshop: Workshop) -> Response:
    body = await _body(request)
    check_fields(
        body,
        required=("secret", "group", "round", "client_id"),
        optional=("points", "judgments", "code"),
    )
    secret = body["secret"]
    who = (
        await anyio.to_thread.run_sync(workshop.store.participant, secret)
        if isinstance(secret, str) and 0 < len(secret) <= 64
        else None
    )
    if who is None:
        msg = "unknown participant secret; join the workshop again from the address you were given"
        raise ForbiddenError(msg)
    pid, group, _name = who
    if body["group"] != group:
        msg = (
            f"you joined group {group!r} and can only submit its weights, not those of "
            f"{str(body['group'])[:60]!r}"
        )
        raise ForbiddenError(msg)
    number = body["round"]
    if isinstance(number, bool) or not isinstance(number, int):
        msg = "round must be the number of the open round"
        raise InputError(msg)
    client_id = check_client_id(body["client_id"])
    has_points, has_ahp = "points" in body, "judgments" in body
    if has_points == has_ahp:
        msg = "send either points (100-point allocation) or judgments (AHP), not both or neither"
        raise InputError(msg)
    cr = None
    judgments = None
    if has_points:
        weights = check_points(body["points"], workshop.data.indicator_ids)
        mode = "points"
    else:
        res = check_judgments(body["judgments"], workshop.data.indicator_ids, group=group)
        if res.revise is not None:
            row, col, value, implied = res.revise
            msg = (
                f"the comparisons are inconsistent (CR = {res.consistency_ratio:.2f} > 0.10); "
                f"revise {row} vs {col} first (now {value:.3g}; your other judgments put it "
                f"near {implied:.3g})"
            )
            raise InputError(msg)
        weights = {str(k): float(v) for k, v in res.weights.items()}
        cr = res.consistency_ratio
        judgments = body["judgments"]
        mode = "ahp"
    sid, new = await anyio.to_thread.run_sync(
        lambda: workshop.store.submit(
            client_id=client_id,
            round_number=number,
            participant=pid,
            group=group,
            mode=mode,
            weights=weights,
            judgments=judgments,
            consistency_ratio=cr,
        )
    )
    if new:
        workshop.changed()
    return _json({"id": sid, "new": new, "round": number, "group": group, "weights": weights}, 201)


async def _results(request: Request, workshop: Workshop) -> Response:
    _check_token(request, workshop)
    results = await anyio.to_thread.run_sync(workshop.compute)
    results["version"] = workshop.version
    return _json(results)


async def _events(request: Request, workshop: Workshop) -> Response:
    _check_token(request, workshop)
    queue: asyncio.Queue[str] = asyncio.Queue(maxsize=1)
    first = workshop.latest or await workshop.refresh()

    async def stream() -> AsyncIterator[str]:
        workshop.listeners.add(queue)
        try:
            yield "retry: 1000\n\n"
            yield "event: results\ndata: " + json.dumps(first, separators=(",", ":")) + "\n\n"
            quiet = 0.0
            while not workshop.stopping:
                try:
                    yield await asyncio.wait_for(queue.get(), timeout=_SLICE_S)
                    quiet = 0.0
                except TimeoutError:
                    quiet += _SLICE_S
                    if quiet >= _HEARTBEAT_S:
                        quiet = 0.0
                        yield ": keep-alive\n\n"
        finally:
            workshop.listeners.discard(queue)

    headers = {**_HEADERS, "X-Accel-Buffering": "no"}
    return StreamingResponse(stream(), media_type="text/event-stream", headers=headers)


async def _freeze(request: Request, workshop: Workshop) -> Response:
    _check_token(request, workshop)
    number, is_open = workshop.store.current_round()
    if not is_open:
        msg = f"round {number} is frozen already; open the next round first"
        raise RoundClosedError(msg)
    results = await anyio.to_thread.run_sync(workshop.compute)
    await anyio.to_thread.run_sync(workshop.store.freeze_round, number, results["current"])
    await workshop.refresh()
    return _json({"frozen": number})


async def _open(request: Request, workshop: Workshop) -> Response:
    _check_token(request, workshop)
    try:
        number = await anyio.to_thread.run_sync(workshop.store.open_round)
    except InputError as err:
        raise RoundClosedError(str(err)) from None
    await workshop.refresh()
    return _json({"opened": number})


async def _export_weights(request: Request, workshop: Workshop) -> Response:
    _check_token(request, workshop)
    number, _ = workshop.store.current_round()
    weights, _who = await anyio.to_thread.run_sync(workshop.weights_of_round, number)
    text = weights_csv(workshop.data, weights)
    headers = {
        **_HEADERS,
        "Content-Disposition": f'attachment; filename="{workshop.data.name}_workshop_weights.csv"',
    }
    return Response(
        text.encode("utf-8-sig"), media_type="text/csv; charset=utf-8", headers=headers
    )


async def _export_report(request: Request, workshop: Workshop) -> Response:
    _check_token(request, workshop)
    results = await anyio.to_thread.run_sync(workshop.compute)
    html = rounds_report(workshop.data, results, workshop.store.session.created_utc)
    headers = {
        **_HEADERS,
        "Content-Disposition": f'attachment; filename="{workshop.data.name}_workshop_report.html"',
    }
    return Response(html, media_type="text/html; charset=utf-8", headers=headers)


async def _http_error(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 400
    detail = exc.detail if isinstance(exc, HTTPException) else "bad request"
    return _error(status, str(detail))


async def _internal_error(request: Request, exc: Exception) -> Response:
    logger.error("internal error on %s", request.url.path, exc_info=exc)
    return _error(500, "internal error; the facilitator's terminal shows the details")


def create_app(workshop: Workshop) -> Starlette:
    """Build the Starlette application of a session.

    Parameters
    ----------
    workshop
        The session.

    Returns
    -------
    starlette.applications.Starlette
    """

    def route(path: str, handler: Any, methods: list[str]) -> Route:
        return Route(path, _guarded(handler, workshop), methods=methods)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        task = asyncio.create_task(workshop.rescore_loop())
        await asyncio.sleep(0)
        await workshop.refresh()
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    routes = [
        route("/", _home, ["GET"]),
        route("/favicon.ico", _favicon, ["GET"]),
        route("/join/{code}", _join_page, ["GET"]),
        route("/facilitator", _facilitator_page, ["GET"]),
        route("/assets/{name}", _asset_route, ["GET"]),
        route("/api/info", _info, ["GET"]),
        route("/api/status", _status, ["GET"]),
        route("/api/join", _join, ["POST"]),
        route("/api/ahp", _ahp, ["POST"]),
        route("/api/submit", _submit, ["POST"]),
        route("/api/results", _results, ["GET"]),
        route("/api/events", _events, ["GET"]),
        route("/api/rounds/freeze", _freeze, ["POST"]),
        route("/api/rounds/open", _open, ["POST"]),
        route("/api/export/weights.csv", _export_weights, ["GET"]),
        route("/api/export/report.html", _export_report, ["GET"]),
    ]
    return Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={HTTPException: _http_error, Exception: _internal_error},
    )


@dataclass(frozen=True, slots=True)
class Addresses:
    """Where the room connects.

    Attributes
    ----------
    facilitator
        The facilitator's address, token included (keep it private).
    participants
        The participants' address, join code included.
    join_code
        The join code alone (to read aloud).
    """

    facilitator: str
    participants: str
    join_code: str


def lan_address() -> str:
    """Guess this machine's address on the room's network (no packet is sent).

    Returns
    -------
    str
        An IPv4 address, or ``127.0.0.1`` if there is no network.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("10.254.254.254", 1))  # UDP connect: picks the route, sends nothing
            return str(s.getsockname()[0])
        except OSError:
            return "127.0.0.1"


def addresses(store: SessionStore, host: str, port: int) -> Addresses:
    """Return the facilitator's and participants' addresses of a session.

    Parameters
    ----------
    store
        The session.
    host, port
        Where the server listens (``0.0.0.0``: the machine's LAN address is shown).

    Returns
    -------
    Addresses
    """
    shown = lan_address() if host in {"0.0.0.0", "::", ""} else host
    if ":" in shown:
        shown = f"[{shown}]"
    base = f"http://{shown}:{port}"
    s = store.session
    return Addresses(
        facilitator=f"{base}/facilitator#token={s.token}",
        participants=f"{base}/join/{s.join_code}",
        join_code=s.join_code,
    )


def serve(
    data: WorkshopData,
    *,
    data_dir: Path,
    host: str = "127.0.0.1",
    port: int = 8765,
    on_ready: Callable[[Addresses], None] | None = None,
    db: str | None = None,
    db_schema: str = "",
) -> None:
    """Serve a workshop session until interrupted (resuming the one in ``data_dir``).

    Parameters
    ----------
    data
        What the run gives the room (:func:`urlink.workshop.data.workshop_data`).
    data_dir
        Folder of the session database (``workshop.sqlite``; created if needed).
    host, port
        Where to listen (loopback by default; ``0.0.0.0`` for the room's network).
    on_ready
        Called with the addresses once the database is open, before serving.
    db, db_schema
        Keep the session in this PostgreSQL database (schema ``urlink_workshop`` unless
        given) instead of ``data_dir``.

    Raises
    ------
    InputError
        If ``data_dir`` (or the database) holds another scenario's session, the database
        cannot be reached, or the port is taken.
    """
    store = SessionStore(data_dir / "workshop.sqlite", scenario=data.name, db=db, schema=db_schema)
    workshop = Workshop(data, store)
    app = create_app(workshop)
    try:
        sock = socket.create_server((host, port), family=_family(host), reuse_port=False)
    except OSError as err:
        store.close()
        msg = f"cannot listen on {host}:{port} ({err.strerror}); choose another --port"
        raise InputError(msg) from None
    if on_ready is not None:
        on_ready(addresses(store, host, port))
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=2,
        limit_concurrency=500,
        h11_max_incomplete_event_size=MAX_BODY_BYTES,
    )
    server = _Server(config)
    server.workshop = workshop
    try:
        server.run(sockets=[sock])
    finally:
        store.close()


class _Server(uvicorn.Server):
    """uvicorn's server, telling the workshop's event streams to end on Ctrl+C."""

    workshop: Workshop | None = None

    def handle_exit(self, sig: int, frame: Any) -> None:
        if self.workshop is not None:
            self.workshop.stopping = True
        super().handle_exit(sig, frame)


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET
