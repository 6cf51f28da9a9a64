"""``urlink workshop``: the real server in a subprocess, driven by HTTP and by Chromium.

The server runs on a free loopback port from a finished Huangyan run (``--from-run``, the
session fixture ``huangyan_run``). Chromium (Playwright, network blocked but for the
server) joins as a participant, submits points and an AHP matrix, and watches the
facilitator's screen update without reload; a round is frozen; the server is SIGKILLed and
restarted on the same ``--data`` and the session is intact. Every kind of bad input is
refused with a 4xx and a message.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "huangyan.toml"
CHROMIUM = os.environ.get("URLINK_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
EVIL = "<img src=x onerror=alert(1)>"
WANG = 'Wang & "Zhao" 王'  # plain text with characters that HTML would interpret


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """``urlink workshop`` in a subprocess."""

    def __init__(self, run_dir: Path, data: Path) -> None:
        self.run_dir, self.data = run_dir, data
        self.port = _free_port()
        self.proc: subprocess.Popen[str] | None = None
        self.start()

    def start(self) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
        args = [sys.executable, "-m", "urlink.cli", "workshop", str(SCENARIO)]
        args += ["--from-run", str(self.run_dir), "--data", str(self.data)]
        args += ["--port", str(self.port)]
        self.proc = subprocess.Popen(
            args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT
        )
        lines = []
        deadline = time.monotonic() + 60
        assert self.proc.stdout is not None
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                pytest.fail(
                    f"the server ended: {self.proc.stderr.read() if self.proc.stderr else ''}"
                )
            lines.append(line)
            if "participants:" in line:
                break
        text = "".join(lines)
        self.facilitator = re.search(r"facilitator \(keep private\): (\S+)", text).group(1)  # type: ignore[union-attr]
        self.token = self.facilitator.split("#token=")[1]
        self.code = re.search(r"join code (\w+)", text).group(1)  # type: ignore[union-attr]
        self.base = f"http://127.0.0.1:{self.port}"
        while time.monotonic() < deadline:  # the socket listens before uvicorn serves
            try:
                self.get("/")
                return
            except OSError:
                time.sleep(0.05)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)
        self._close()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
        self._close()

    def _close(self) -> None:
        if self.proc is not None:
            for pipe in (self.proc.stdout, self.proc.stderr):
                if pipe is not None:
                    pipe.close()

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        raw: bytes | None = None,
        token: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        data = raw if raw is not None else None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method)
        req.add_header("Content-Type", "application/json")
        if token:
            req.add_header("Authorization", f"Bearer {token}")
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, timeout=30) as res:
                payload = res.read()
                status = res.status
                kind = res.headers.get("content-type", "")
        except urllib.error.HTTPError as err:
            payload, status, kind = err.read(), err.code, err.headers.get("content-type", "")
        return status, json.loads(payload) if "json" in kind else payload.decode("utf-8-sig")

    def get(self, path: str, **kw: Any) -> tuple[int, Any]:
        return self.request("GET", path, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> tuple[int, Any]:
        return self.request("POST", path, body, **kw)

    def join(self, group: str, name: str) -> dict[str, Any]:
        status, out = self.post("/api/join", {"code": self.code, "group": group, "name": name})
        assert status == 201, out
        return out

    def info(self) -> dict[str, Any]:
        status, out = self.get(f"/api/info?code={self.code}")
        assert status == 200, out
        return out

    def results(self) -> dict[str, Any]:
        status, out = self.get("/api/results", token=self.token)
        assert status == 200, out
        return out


@pytest.fixture(scope="module")
def server(huangyan_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    s = Server(huangyan_run, tmp_path_factory.mktemp("workshop"))
    yield s
    s.stop()


def _points(indicators: list[str], first: float = 100.0) -> dict[str, float]:
    rest = (100.0 - first) / (len(indicators) - 1)
    return {c: (first if i == 0 else rest) for i, c in enumerate(indicators)}


def _submit(server: Server, who: dict[str, Any], body: dict[str, Any]) -> tuple[int, Any]:
    full = {
        "secret": who["secret"],
        "group": who["group"],
        "round": server.info()["round"],
        "client_id": os.urandom(8).hex(),
        **body,
    }
    return server.post("/api/submit", full)


# ---------------------------------------------------------------------- bad input


def test_wrong_join_codes_and_tokens_are_refused(server: Server) -> None:
    wrong = "ZZZZZZ" if server.code != "ZZZZZZ" else "YYYYYY"
    assert server.get(f"/join/{wrong}")[0] == 403
    assert server.get(f"/api/info?code={wrong}")[0] == 403
    assert server.get(f"/api/info?code={server.code}'%3Cscript%3E")[0] == 403
    status, out = server.post("/api/join", {"code": wrong, "group": "residents", "name": "x"})
    assert status == 403
    assert "join code" in out["error"]
    for path in ("/api/results", "/api/export/weights.csv", "/api/export/report.html"):
        assert server.get(path)[0] == 403
        assert server.get(path, token="wrong")[0] == 403
    assert server.post("/api/rounds/freeze", {}, token=server.token[:-1] + "x")[0] == 403
    assert server.get("/assets/../store.py")[0] == 404
    assert server.get("/assets/app.py")[0] == 404


def test_a_participant_cannot_write_another_group(server: Server) -> None:
    who = server.join("farmers_coop", "Wang")
    ids = [i["id"] for i in server.info()["indicators"]]
    status, out = _submit(server, {**who, "group": "enterprises"}, {"points": _points(ids, 10)})
    assert status == 403
    assert "farmers_coop" in out["error"]
    status, out = _submit(server, {**who, "secret": "guessed"}, {"points": _points(ids, 10)})
    assert status == 403


@pytest.mark.parametrize(
    ("body", "status", "match"),
    [
        (b"{not json", 400, "not valid JSON"),
        (b"[1, 2]", 400, "JSON object"),
        (b'{"a": NaN}', 400, "NaN"),
        (b"\xff\xfe", 400, "not valid JSON"),
        (b"[" * 5000 + b"]" * 5000, 400, "JSON"),
        (b'{"x": "' + b"a" * 20_000 + b'"}', 413, "bytes"),
    ],
    ids=["malformed", "array", "nan", "not-utf8", "deep", "huge"],
)
def test_malformed_and_huge_bodies_are_refused(
    server: Server, body: bytes, status: int, match: str
) -> None:
    got, out = server.post("/api/submit", raw=body)
    assert got == status, out
    assert match in out["error"]


def test_a_huge_body_without_length_is_cut_off(server: Server) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        s.sendall(
            b"POST /api/join HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        chunk = b"a" * 8192
        for _ in range(4):
            s.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
        s.sendall(b"0\r\n\r\n")
        reply = s.recv(4096).decode("latin-1")
    assert reply.startswith("HTTP/1.1 413"), reply


@pytest.mark.parametrize(
    ("points", "match"),
    [
        ({"nan": True}, "finite|number"),
        ({"negative": True}, "negative"),
        ({"sum": 90}, "add up to 90"),
        ({"text": True}, "must be a number"),
        ({"missing": True}, "missing indicators"),
        ({"unknown": True}, "unknown indicators"),
    ],
    ids=["nan", "negative", "not-100", "text", "missing", "unknown"],
)
def test_bad_points_are_refused(server: Server, points: dict[str, Any], match: str) -> None:
    who = server.join("residents", "Chen")
    ids = [i["id"] for i in server.info()["indicators"]]
    good = _points(ids, 10)
    body: dict[str, Any] = dict(good)
    if "nan" in points:
        raw = json.dumps(
            {
                "secret": who["secret"],
                "group": "residents",
                "round": server.info()["round"],
                "client_id": "nan-points-1",
                "points": {**good, ids[0]: 1e400},
            }
        )
        got, out = server.post("/api/submit", raw=raw.replace("Infinity", "1e400").encode())
        assert got == 400
        assert re.search(match, out["error"])
        return
    if "negative" in points:
        body = {**good, ids[0]: -10.0, ids[1]: good[ids[1]] + 20.0}
    elif "sum" in points:
        body = {**good, ids[0]: 0.0}
    elif "text" in points:
        body = {**good, ids[0]: "10"}
    elif "missing" in points:
        body = {k: v for k, v in good.items() if k != ids[0]}
    else:
        body = {**good, "<script>": 0}
    got, out = _submit(server, who, {"points": body})
    assert got == 400, out
    assert re.search(match, out["error"]), out


def test_bad_ahp_judgments_are_refused_and_an_inconsistent_matrix_names_a_pair(
    server: Server,
) -> None:
    who = server.join("enterprises", "Zhao")
    ids = [i["id"] for i in server.info()["indicators"]]
    pairs = [[a, b, 1] for i, a in enumerate(ids) for b in ids[i + 1 :]]
    assert _submit(server, who, {"judgments": pairs[:-1]})[0] == 400
    assert _submit(server, who, {"judgments": [*pairs[:-1], [ids[0], ids[1], 1]]})[0] == 400
    assert _submit(server, who, {"judgments": [*pairs[:-1], [*pairs[-1][:2], 20]]})[0] == 400
    assert _submit(server, who, {"judgments": [*pairs[:-1], [*pairs[-1][:2], 0]]})[0] == 400
    # circular judgments: a > b > c > a
    bad = [list(p) for p in pairs]
    bad[0][2], bad[1][2] = 9, 1 / 9  # ids0 >> ids1, ids0 << ids2
    bad[len(ids) - 1][2] = 9  # ids1 >> ids2
    status, live = server.post("/api/ahp", {"code": server.code, "judgments": bad})
    assert status == 200
    assert live["consistency_ratio"] > 0.1
    assert not live["consistent"]
    assert {live["revise"]["row"], live["revise"]["col"]} <= set(ids[:3])
    status, out = _submit(server, who, {"judgments": bad})
    assert status == 400
    assert "CR" in out["error"]
    assert "revise" in out["error"]


def test_names_with_script_are_refused_and_text_is_escaped(server: Server) -> None:
    for name in (EVIL, "<script>alert(1)</script>", "a\x00b", "", "x" * 41, 12):
        status, out = server.post(
            "/api/join", {"code": server.code, "group": "residents", "name": name}
        )
        assert status == 400, (name, out)
    status, out = server.post("/api/join", {"code": server.code, "group": EVIL, "name": "x"})
    assert status == 400
    status, out = server.post(
        "/api/join", {"code": server.code, "group": "residents", "name": "x", "more": 1}
    )
    assert status == 400
    assert "unknown fields" in out["error"]
    status, page = server.get(f"/join/{server.code}")
    assert status == 200
    assert "<script src=" in page
    assert "onerror" not in page


def test_no_bad_request_ends_in_a_server_error(server: Server) -> None:
    paths = ["/api/join", "/api/submit", "/api/ahp", "/api/rounds/freeze", "/api/info"]
    bodies: list[Any] = [None, {}, [], "x", 1, {"code": None}, {"secret": [], "group": {}}]
    for path in paths:
        for body in bodies:
            for method in ("GET", "POST", "PUT"):
                status, _ = server.request(method, path, body)
                assert 400 <= status < 500, (method, path, body, status)


# ----------------------------------------------------------------- load, quickly


def test_concurrent_submissions_are_stored_once_each(server: Server) -> None:
    ids = [i["id"] for i in server.info()["indicators"]]
    groups = [g["id"] for g in server.info()["groups"]]
    people = [server.join(groups[k % len(groups)], f"load{k}") for k in range(20)]
    before = server.results()["submissions"]
    sent: list[tuple[int, str]] = []

    def one(k: int) -> tuple[int, str, float]:
        who = people[k % len(people)]
        client_id = f"load-{k:06d}"
        body = {
            "secret": who["secret"],
            "group": who["group"],
            "round": server.info()["round"],
            "client_id": client_id,
            "points": _points(ids, float(k % 60)),
        }
        t0 = time.perf_counter()
        status, _ = server.post("/api/submit", body)
        took = time.perf_counter() - t0
        if k % 7 == 0:  # a retry of the same submission is stored once
            assert server.post("/api/submit", body)[0] == 201
        return status, client_id, took

    with ThreadPoolExecutor(max_workers=20) as pool:
        out = list(pool.map(one, range(200)))
    sent = [(s, c) for s, c, _ in out]
    assert {s for s, _ in sent} == {201}
    assert server.results()["submissions"] - before == 200
    took = sorted(t for *_, t in out)
    assert took[int(0.95 * len(took))] < 2.0


# ------------------------------------------------------------- the room, in Chromium


@pytest.fixture(scope="module")
def browser() -> Any:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if os.environ.get("URLINK_CI") == "1":
            pytest.fail("browser tests must run in CI: playwright is not installed")
        pytest.skip("playwright is not installed")
    if not Path(CHROMIUM).is_file():
        if os.environ.get("URLINK_CI") == "1":
            pytest.fail(f"browser tests must run in CI: no Chromium at {CHROMIUM}")
        pytest.skip(f"no Chromium at {CHROMIUM}")
    with sync_playwright() as pw:
        b = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"],
        )
        yield b
        b.close()


def _context(browser: Any, server: Server, **kw: Any) -> tuple[Any, Any, list[str], list[str]]:
    ctx = browser.new_context(**kw)
    errors: list[str] = []
    outside: list[str] = []
    allowed = f"http://127.0.0.1:{server.port}/"

    def route(r: Any) -> None:
        if r.request.url.startswith(allowed):
            r.continue_()
        else:
            outside.append(r.request.url)
            r.abort()

    ctx.route(re.compile(r".*"), route)
    page = ctx.new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    return ctx, page, errors, outside


def test_the_room_in_chromium_survives_sigkill(
    browser: Any, huangyan_run: Path, tmp_path: Path
) -> None:
    server = Server(huangyan_run, tmp_path / "room")
    try:
        _room(browser, server)
    finally:
        server.stop()


def _room(browser: Any, server: Server) -> None:  # noqa: PLR0915 - one session, in order
    fctx, fac, ferrors, foutside = _context(
        browser, server, viewport={"width": 1400, "height": 900}
    )
    fac.goto(server.facilitator)
    fac.wait_for_selector("#stream-state.live")
    fac.wait_for_selector("#ranking")
    assert "nobody" in fac.inner_text("#ranking").lower() or "尚无" in fac.inner_text("#ranking")
    fac.evaluate("window.__same = true")  # gone if the page reloads

    pctx, par, perrors, poutside = _context(
        browser, server, viewport={"width": 390, "height": 844}, is_mobile=True
    )
    par.goto(f"{server.base}/join/{server.code}")
    par.wait_for_selector("#join-btn")
    par.check("#join-group-residents")
    par.fill("#join-name", "Li Na")
    par.click("#join-btn")
    par.wait_for_selector("#tab-points")
    # move one slider: the others follow and the total stays 100
    first = par.locator("input[data-indicator]").first
    first.fill("40")
    assert par.inner_text("#points-sum") == "100"
    assert par.locator("input[data-indicator]").first.input_value() == "40"
    par.click("#submit-btn")
    par.wait_for_selector("#submit-msg.ok")
    fac.wait_for_function(
        "() => document.querySelector('#ranking th:nth-child(2)') !== null && "
        "document.querySelector('#submitted').innerText.includes('Li Na')"
    )
    assert fac.evaluate("window.__same") is True

    # a second participant of another group answers by AHP, with a live CR
    p2ctx, p2, p2errors, p2outside = _context(
        browser, server, viewport={"width": 1024, "height": 900}
    )
    p2.goto(f"{server.base}/join/{server.code}")
    p2.check("#join-group-farmers_coop")
    p2.fill("#join-name", WANG)
    p2.click("#join-btn")
    p2.click("#tab-ahp")
    p2.wait_for_selector("#cr.ok")
    sliders = p2.locator("input[data-pair]")
    sliders.nth(0).fill("-8")  # first indicator 9x the second
    sliders.nth(1).fill("8")  # the third 9x the first
    p2.wait_for_selector("#revise")
    assert p2.locator(".pair.revise").count() == 1
    sliders = p2.locator("input[data-pair]")
    sliders.nth(1).fill("0")
    sliders.nth(0).fill("-2")
    p2.wait_for_selector("#cr.ok")
    p2.click("#submit-btn")
    p2.wait_for_selector("#submit-msg.ok")
    fac.wait_for_function(
        "() => document.querySelector('#submitted').innerText.includes('Wang & \"Zhao\" 王')"
    )
    assert fac.locator("#submitted b, #submitted i, #submitted img").count() == 5  # labels only
    assert (
        fac.locator("#ranking tr").first.locator("th").count() == 4
    )  # strategy, 2 groups, pooled
    p2.click("#lang")
    p2.wait_for_selector("#tab-ahp:has-text('两两比较')")
    p2.click("#lang")
    p2.click("#tab-strategies")
    p2.wait_for_selector(".strategy svg.map path.site")
    ARTIFACTS.mkdir(exist_ok=True)
    p2.screenshot(path=str(ARTIFACTS / "workshop_participant_strategies.png"))
    par.evaluate("window.scrollTo(0, 0)")
    par.screenshot(path=str(ARTIFACTS / "workshop_participant_points.png"))
    fac.click("#ranking tr[data-strategy='changtan-lakeside-road']")
    fac.wait_for_selector("#map svg path.site")
    fac.screenshot(path=str(ARTIFACTS / "workshop_facilitator.png"))

    # freeze the round: submissions are refused until the next one opens
    fac.click("#freeze-btn")
    fac.wait_for_selector("#rounds [data-round='1']")
    par.wait_for_selector("#submit-btn[disabled]", timeout=10_000)
    state = server.results()
    assert not state["open"]
    assert len(state["rounds"]) == 1
    fac.click("#open-btn")
    fac.wait_for_function("() => document.querySelector('#round').innerText.includes('2')")
    assert fac.evaluate("window.__same") is True

    # SIGKILL and restart on the same --data: same addresses, same session, same data
    before = server.results()
    server.kill()
    fac.wait_for_selector("#stream-state.down")
    old = (server.code, server.token)
    server.start()
    assert (server.code, server.token) == old
    fac.wait_for_selector("#stream-state.live", timeout=15_000)
    after = server.results()
    assert after["round"] == before["round"] == 2
    assert after["submissions"] == before["submissions"] == 2
    assert after["rounds"] == before["rounds"]
    assert {w["name"] for w in after["current"]["submitted"]} == {"Li Na", WANG}
    # the participant's page still knows who they are and submits into round 2
    par.reload()
    par.wait_for_selector("#submit-btn:not([disabled])")
    par.click("#submit-btn")
    par.wait_for_selector("#submit-msg.ok")
    fac.wait_for_function(
        "() => document.querySelector('#version').dataset.submissions === '3'", timeout=10_000
    )

    # the facilitator's stream was cut by the SIGKILL and refused while the server was down
    cut = ("ERR_INCOMPLETE_CHUNKED_ENCODING", "ERR_CONNECTION_REFUSED", "ERR_EMPTY_RESPONSE")
    ferrors = [e for e in ferrors if not any(c in e for c in cut)]
    for errors in (ferrors, perrors, p2errors):
        assert not errors, errors
    for outside in (foutside, poutside, p2outside):
        assert not outside, outside
    for ctx in (fctx, pctx, p2ctx):
        ctx.close()

    # the exports: the points form reads back, the report holds both rounds
    status, text = server.get("/api/export/weights.csv", token=server.token)
    assert status == 200
    form = server.data / "form.csv"
    form.write_text(text, encoding="utf-8")
    from urlink.scoring.weights import weights_from_points

    w = weights_from_points(form)
    assert set(w.index) == {"residents", "farmers_coop"}
    status, report = server.get("/api/export/report.html", token=server.token)
    assert status == 200
    assert "Round 1" in report
    assert "Round 2" in report
    assert "<script" not in report


# ----------------------------------------------------------- the store, the command


def store_round_trip(make: Any) -> None:
    """What every session store must do: one session, rounds, submissions once each."""
    from urlink.errors import InputError
    from urlink.workshop.store import RoundClosedError

    store = make("huangyan")
    session = store.session
    pid, secret = store.add_participant("residents", "Li")
    assert store.participant(secret) == (pid, "residents", "Li")
    assert store.participant("nobody") is None
    other, _ = store.add_participant("enterprises", "Zhao")
    w = {"a": 0.25, "b": 0.75}
    kw = {"round_number": 1, "group": "residents", "mode": "points", "weights": w}
    assert store.submit(client_id="c-0000001", participant=pid, **kw) == (1, True)
    assert store.submit(client_id="c-0000001", participant=pid, **kw) == (1, False)
    with pytest.raises(InputError, match="another participant"):
        store.submit(client_id="c-0000001", participant=other, **kw)
    with pytest.raises(InputError, match="still open"):
        store.open_round()
    store.freeze_round(1, {"x": 1})
    with pytest.raises(RoundClosedError, match="closed"):
        store.submit(client_id="c-0000002", participant=pid, **kw)
    with pytest.raises(InputError, match="not open"):
        store.freeze_round(1, {})
    assert store.open_round() == 2
    with pytest.raises(RoundClosedError):  # a page that still shows round 1
        store.submit(client_id="c-0000003", participant=pid, **kw)
    store.submit(client_id="c-0000004", participant=pid, **{**kw, "round_number": 2})
    store.close()
    again = make("huangyan")
    assert again.session == session
    assert again.current_round() == (2, True)
    assert [r["results"] for r in again.rounds()] == [{"x": 1}, None]
    subs = again.submissions()
    assert [(s.round, s.name, s.weights) for s in subs] == [(1, "Li", w), (2, "Li", w)]
    assert [s.id for s in again.submissions(up_to_round=1)] == [1]
    assert [s.round for s in again.latest_submissions(up_to_round=2)] == [2]
    assert [s.round for s in again.latest_submissions(up_to_round=1)] == [1]
    again.close()
    with pytest.raises(InputError, match="holds a session of scenario 'huangyan'"):
        make("malta")


def test_the_sqlite_store_keeps_one_session(tmp_path: Path) -> None:
    from urlink.workshop.store import SessionStore

    store_round_trip(lambda name: SessionStore(tmp_path / "w.sqlite", scenario=name))
    (tmp_path / "bad.sqlite").write_bytes(b"not a database" * 100)
    from urlink.errors import InputError

    with pytest.raises(InputError, match="not a workshop database"):
        SessionStore(tmp_path / "bad.sqlite", scenario="huangyan")


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["--port", "0"], "--port 0"),
        (["--from-run", "no/such/folder"], "no indicators.csv"),
    ],
    ids=["port", "from-run"],
)
def test_workshop_command_errors(
    args: list[str], match: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from urlink.cli import main

    assert main(["workshop", str(SCENARIO), "--data", str(tmp_path), *args]) == 2
    assert re.search(re.escape(match), capsys.readouterr().err)


def test_live_scores_show_p_first_under_uncertain_inputs(huangyan_run: Path) -> None:
    import dataclasses

    import numpy as np

    from urlink.scenario.spec import load_scenario
    from urlink.workshop.data import workshop_data_from_folder
    from urlink.workshop.live import LiveScorer

    root = Path(__file__).resolve().parents[1]
    data = workshop_data_from_folder(load_scenario(root / "scenarios/huangyan.toml"), huangyan_run)
    assert data.uncertain is None
    plain = LiveScorer(data).robustness("weighted_sum", data.form_weights.iloc[0])
    assert "first_joint" not in plain  # no [uncertainty]: nothing more is shown
    # eight input samples in which one strategy is far better than all others on every
    # indicator: it ranks first whatever the inputs and the weights
    table = data.table.to_numpy(dtype=float)
    best = list(data.table.index).index("orange-logistics-hub")
    rng = np.random.default_rng(3)
    perf = np.repeat(table[None], 8, axis=0) * rng.uniform(0.98, 1.02, size=(8, *table.shape))
    for j, c in enumerate(data.table.columns):
        up = data.indicators[j]["direction"] == "max"
        span = abs(float(np.nanmax(table[:, j]) - np.nanmin(table[:, j]))) + 1.0
        perf[:, best, j] = (
            np.nanmax(perf[:, :, j]) + span if up else np.nanmin(perf[:, :, j]) - span
        )
        assert str(c) == data.indicators[j]["id"]
    live = LiveScorer(dataclasses.replace(data, uncertain=perf, weight_draws=10))
    out = live.robustness("weighted_sum", data.form_weights.iloc[0])
    assert out["input_samples"] == 8
    assert out["first_inputs"]["orange-logistics-hub"] == 1.0
    assert out["first_joint"]["orange-logistics-hub"] == 1.0
    assert sum(out["first_joint"].values()) == pytest.approx(1.0)


# ---------------------------------------------------------------------- fuzzing (#19)

_JSON = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(10**30), max_value=10**30),
        st.floats(allow_nan=False, allow_infinity=False),
        st.sampled_from(["", "residents", "x" * 300, "<script>", "1/3", "9", "-1", "1e400"]),
        st.text(max_size=20),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
_KEYS = ["code", "group", "name", "secret", "round", "client_id", "points", "judgments"]


@st.composite
def _requests(draw: st.DrawFn) -> tuple[str, str, Any, bytes | None, frozenset[str]]:
    method, path = draw(
        st.sampled_from(
            [
                ("POST", "/api/join"),
                ("POST", "/api/ahp"),
                ("POST", "/api/submit"),
                ("POST", "/api/rounds/freeze"),
                ("POST", "/api/rounds/open"),
                ("GET", "/api/info?code="),
                ("GET", "/api/results"),
                ("GET", "/api/export/weights.csv"),
            ]
        )
    )
    raw = draw(st.one_of(st.none(), st.binary(max_size=40)))
    body = {k: draw(_JSON) for k in draw(st.lists(st.sampled_from(_KEYS), unique=True))}
    real = draw(st.frozensets(st.sampled_from(["code", "secret", "group", "token"])))
    return method, path, body, raw, real


@settings(
    max_examples=int(os.environ.get("URLINK_FUZZ_WORKSHOP_EXAMPLES", "60")),
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(case=_requests())
def test_hostile_requests_get_a_4xx_or_success_never_5xx(server: Server, case) -> None:
    method, path, body, raw, real = case
    who = server.join("residents", "fuzz")
    body = dict(body)  # a copy: the same case may run again while shrinking
    if "code" in real:
        body["code"] = server.code
    if "secret" in real:
        body["secret"] = who["secret"]
    if "group" in real:
        body["group"] = who["group"]
    if path.endswith("code="):
        path += urllib.parse.quote(str(body.get("code", ""))[:20], safe="")
    status, out = server.request(
        method,
        path,
        None if method == "GET" or raw is not None else body,
        raw=raw if method == "POST" else None,
        token=server.token if "token" in real else None,
    )
    assert status < 500, out
    if status >= 400:
        assert isinstance(out, dict) and out.get("error"), out
