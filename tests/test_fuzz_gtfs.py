"""Hostile GTFS feeds (#19): the reader refuses them clearly or reads a valid service.

``bus_service_from_gtfs`` reads a feed that no showcase scenario uses (GTFS feeds are
rarely published for Chinese counties), so it is fuzzed here directly rather than through
the command line: each case breaks one file of Google's demo feed (a cell, a column, its
rows or its bytes, or removes the file), and the invariant is the CLI's: either a
:class:`~urlink.network.transit.BusService` whose every headway, speed factor and fare is
a finite number in range, or an :class:`~urlink.errors.InputError`; never another
exception, never a hang.
"""

from __future__ import annotations

import csv
import io
import math
import os
import tempfile
import warnings
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from urlink.errors import InputError
from urlink.network.transit import BusService, bus_service_from_gtfs

from .test_transit import DTA_FEED, dta_zones

pytest.importorskip("gtfs_kit")

with zipfile.ZipFile(DTA_FEED) as _z:
    FEED = {name: _z.read(name).decode("utf-8-sig") for name in _z.namelist()}
HEADERS = {name: next(csv.reader(io.StringIO(text))) for name, text in FEED.items()}
CELLS = ["", " ", "nan", "-1", "0", "1e400", "abc", "25:61:61", "99:00:00", "-05:00:00",
         "00:00", "1e300", "0.0000001", "STBA", "AB", "FULLW", "20070605", "99999999",
         "人", "\x00", '"', ";"]  # fmt: skip
EXAMPLES = int(os.environ.get("URLINK_FUZZ_GTFS_EXAMPLES", "40"))
"""Cases per run: 40 in CI; set ``URLINK_FUZZ_GTFS_EXAMPLES`` for more on demand."""
OPS = ["cell", "cell", "cell", "header_only", "drop_column", "rename_column", "bytes",
       "remove", "duplicate_rows"]  # fmt: skip


@st.composite
def feeds(draw: st.DrawFn) -> tuple[str, str, object, object]:
    """One broken file of the demo feed: (file, operation, where, value)."""
    name = draw(st.sampled_from(sorted(FEED)))
    op = draw(st.sampled_from(OPS))
    where: object = None
    value: object = None
    if op == "cell":
        where = (draw(st.integers(0, 5)), draw(st.sampled_from(HEADERS[name])))
        value = draw(st.one_of(st.sampled_from(CELLS), st.text(max_size=12)))
    elif op in ("drop_column", "rename_column"):
        where = draw(st.sampled_from(HEADERS[name]))
        value = draw(st.sampled_from(["", "x", HEADERS[name][0], "stop_id "]))
    elif op == "bytes":
        value = draw(st.binary(max_size=40))
    return name, op, where, value


def _broken(name: str, op: str, where: object, value: object) -> dict[str, bytes]:
    files = {k: v.encode("utf-8") for k, v in FEED.items()}
    rows = list(csv.reader(io.StringIO(FEED[name])))
    head, body = rows[0], rows[1:]
    if op == "remove":
        del files[name]
        return files
    if op == "bytes":
        assert isinstance(value, bytes)
        files[name] = value
        return files
    if op == "cell":
        row, col = where  # type: ignore[misc]
        if body:
            body[row % len(body)][head.index(col)] = str(value)
    elif op == "header_only":
        body = []
    elif op == "drop_column":
        i = head.index(str(where))
        head = head[:i] + head[i + 1 :]
        body = [r[:i] + r[i + 1 :] for r in body]
    elif op == "rename_column":
        head = [str(value) if h == where else h for h in head]
    elif op == "duplicate_rows":
        body = body + body
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([head, *body])
    files[name] = out.getvalue().encode("utf-8")
    return files


def _check(svc: BusService) -> None:
    lines = svc.lines
    assert len(lines) > 0
    for col, low, high in (("headway_min", 0.0, math.inf), ("speed_factor", 0.0, 1.0)):
        values = lines[col].astype(float)
        assert values.map(math.isfinite).all(), col
        assert ((values > low) & (values <= high)).all(), col
    fares = lines["fare_yuan"].astype(float)
    assert (fares.map(math.isfinite) & (fares >= 0)).all()


@seed(1914)
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(case=feeds())
def test_a_broken_gtfs_feed_is_refused_clearly_or_read_validly(case) -> None:
    zones = dta_zones()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "feed.zip"
        with zipfile.ZipFile(path, "w") as z:
            for name, data in _broken(*case).items():
                z.writestr(name, data)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                svc = bus_service_from_gtfs(
                    path, zones, date="20070605", start="06:00:00", end="10:00:00"
                )
            except InputError as err:
                assert str(err)  # a message, naming the feed or the setting
                return
    _check(svc)


def test_the_unbroken_demo_feed_passes_the_same_check() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        svc = bus_service_from_gtfs(
            DTA_FEED, dta_zones(), date="20070605", start="06:00:00", end="10:00:00"
        )
    _check(svc)
