"""Load test of ``urlink workshop`` on loopback: 50 participants submitting at once.

Starts the real server (``urlink workshop scenarios/huangyan.toml --from-run DIR``) in a
subprocess on a free port with a fresh ``--data`` folder, then:

1. **Submission to screen**: with the facilitator's event stream open, submits one
   participant's weights 20 times, one at a time, and times each from the request to the
   Server-Sent Event that carries it (the re-scoring included; p50 / p95 / max).
2. **Load**: 50 simulated participants (5 groups) each submit 100-point weights in a loop
   for ``--seconds`` (default 30) or ``--per-participant`` submissions (default 200),
   whichever ends first; every tenth request also tries to write another group's weights
   (must be 403) and every seventh retries a submission already stored (must be stored
   once). Reports requests, throughput, p50 / p95 / max response time, and checks that the
   server stored exactly the submissions it answered 201 (new) to and answered nothing but
   201 and the intended 403.

Run from the repository root: ``python benchmarks/bench_workshop.py [--run DIR]`` (without
``--run`` the Huangyan scenario is run first, about 15 s). Results on the 2-core
development machine are in ``docs/workshop.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "huangyan.toml"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def call(base: str, method: str, path: str, body=None, token=None) -> tuple[int, dict]:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=30) as res:
            return res.status, json.loads(res.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"{}")


def start(run_dir: Path, data: Path, port: int) -> tuple[subprocess.Popen, str, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "urlink.cli",
            "workshop",
            str(SCENARIO),
            "--from-run",
            str(run_dir),
            "--data",
            str(data),
            "--port",
            str(port),
        ],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )
    text = ""
    while "participants:" not in text:
        line = proc.stdout.readline()
        if not line:
            raise SystemExit("the server ended")
        text += line
    token = re.search(r"#token=(\S+)", text).group(1)
    code = re.search(r"join code (\w+)", text).group(1)
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            urllib.request.urlopen(base + "/", timeout=5).read()
            break
        except OSError:
            time.sleep(0.05)
    return proc, token, code


class Stream(threading.Thread):
    """The facilitator's event stream: remembers when each submission count arrived."""

    def __init__(self, base: str, token: str) -> None:
        super().__init__(daemon=True)
        self.base, self.token = base, token
        self.seen: dict[int, float] = {}
        self.scoring_ms: list[float] = []
        self.cond = threading.Condition()

    def run(self) -> None:
        req = urllib.request.Request(self.base + "/api/events")
        req.add_header("Authorization", f"Bearer {self.token}")
        with urllib.request.urlopen(req, timeout=120) as res:
            for raw in res:
                line = raw.decode()
                if line.startswith("data:"):
                    event = json.loads(line[5:])
                    n = event["submissions"]
                    with self.cond:
                        self.scoring_ms.append(event["current"]["elapsed_ms"])
                        self.seen.setdefault(n, time.perf_counter())
                        self.cond.notify_all()

    def wait_for(self, n: int, timeout: float = 10) -> float:
        with self.cond:
            self.cond.wait_for(lambda: n in self.seen, timeout=timeout)
            return self.seen[n]


def points(ids: list[str], rng: np.random.Generator) -> dict[str, int]:
    raw = rng.dirichlet(np.ones(len(ids))) * 100
    out = np.floor(raw).astype(int)
    out[int(np.argmax(raw - out))] += 100 - int(out.sum())
    return {c: int(v) for c, v in zip(ids, out, strict=True)}


def main() -> None:  # noqa: PLR0915 - one script, step by step
    ap = argparse.ArgumentParser()
    ap.add_argument("--run", type=Path, default=None, help="a Huangyan output folder")
    ap.add_argument("--participants", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--per-participant", type=int, default=200)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench_workshop_"))
    run_dir = args.run
    if run_dir is None:
        run_dir = tmp / "run"
        subprocess.run(
            [
                sys.executable,
                "-m",
                "urlink.cli",
                "run",
                str(SCENARIO),
                "--out",
                str(run_dir),
                "-q",
            ],
            check=True,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
    port = free_port()
    proc, token, code = start(run_dir, tmp / "data", port)
    base = f"http://127.0.0.1:{port}"
    try:
        info = call(base, "GET", f"/api/info?code={code}")[1]
        ids = [i["id"] for i in info["indicators"]]
        groups = [g["id"] for g in info["groups"]]
        rng = np.random.default_rng(17)

        stream = Stream(base, token)
        stream.start()
        stream.wait_for(0)
        me = call(base, "POST", "/api/join", {"code": code, "group": groups[0], "name": "probe"})[
            1
        ]
        lat = []
        for k in range(20):
            body = {
                "secret": me["secret"],
                "group": groups[0],
                "round": 1,
                "client_id": f"probe-{k:04d}",
                "points": points(ids, rng),
            }
            t0 = time.perf_counter()
            assert call(base, "POST", "/api/submit", body)[0] == 201
            lat.append((stream.wait_for(k + 1) - t0) * 1000)
            time.sleep(0.05)
        lat_arr = np.array(lat)
        scoring = np.array(stream.scoring_ms[1:])
        results = call(base, "GET", "/api/results", token=token)[1]
        print(
            f"submission -> facilitator's screen (SSE), {len(lat)} one at a time: "
            f"p50 {np.percentile(lat_arr, 50):.0f} ms, p95 {np.percentile(lat_arr, 95):.0f} ms,"
            f" max {lat_arr.max():.0f} ms; re-scoring alone"
            f" p50 {np.percentile(scoring, 50):.0f} ms,"
            f" p95 {np.percentile(scoring, 95):.0f} ms"
        )

        people = [
            call(
                base,
                "POST",
                "/api/join",
                {"code": code, "group": groups[i % len(groups)], "name": f"p{i}"},
            )[1]
            for i in range(args.participants)
        ]
        before = results["submissions"]
        stop = time.monotonic() + args.seconds
        statuses: dict[int, int] = {}
        times: list[float] = []
        new = 0
        lock = threading.Lock()

        def participant(i: int) -> None:
            nonlocal new
            who = people[i]
            local = np.random.default_rng(i)
            for k in range(args.per_participant):
                if time.monotonic() > stop:
                    return
                body = {
                    "secret": who["secret"],
                    "group": who["group"],
                    "round": 1,
                    "client_id": f"p{i:03d}-{k:05d}",
                    "points": points(ids, local),
                }
                if k % 10 == 9:  # another group's weights: must be refused
                    body = {**body, "group": groups[(groups.index(who["group"]) + 1) % 5]}
                t0 = time.perf_counter()
                status, out = call(base, "POST", "/api/submit", body)
                took = time.perf_counter() - t0
                retry = None
                if status == 201 and k % 7 == 0:
                    retry = call(base, "POST", "/api/submit", body)
                with lock:
                    times.append(took)
                    statuses[status] = statuses.get(status, 0) + 1
                    new += status == 201 and out.get("new", False)
                    if retry is not None:
                        statuses[-retry[0]] = statuses.get(-retry[0], 0) + 1
                        new += bool(retry[1].get("new", False))

        t0 = time.perf_counter()
        with ThreadPoolExecutor(max_workers=args.participants) as pool:
            list(pool.map(participant, range(args.participants)))
        wall = time.perf_counter() - t0
        time.sleep(0.5)
        stored = call(base, "GET", "/api/results", token=token)[1]["submissions"] - before
        under_load = np.array(stream.scoring_ms[len(scoring) + 1 :])
        arr = np.array(times) * 1000
        print(
            f"load: {args.participants} participants for {wall:.1f} s: {len(arr)} requests "
            f"({len(arr) / wall:.0f}/s), p50 {np.percentile(arr, 50):.0f} ms, "
            f"p95 {np.percentile(arr, 95):.0f} ms, max {arr.max():.0f} ms"
        )
        print(f"  answers: {dict(sorted(statuses.items()))} (negative: retries of a stored one)")
        print(
            f"  {len(under_load)} re-scorings (coalesced), each p50 "
            f"{np.percentile(under_load, 50):.0f} ms, p95 {np.percentile(under_load, 95):.0f} ms"
        )
        print(
            f"  stored {stored}, answered 201 new {new}: "
            f"{'no lost or duplicated submission' if stored == new else 'MISMATCH'}"
        )
        unexpected = {s: n for s, n in statuses.items() if s not in {201, 403, -201}}
        print(f"  unexpected answers: {unexpected or 'none'}")
        if stored != new or unexpected:
            raise SystemExit(1)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


if __name__ == "__main__":
    main()
