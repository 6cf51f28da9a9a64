"""Exports of a workshop session: the weights as the usual points form, and a report.

:func:`weights_csv` writes each group's weights of a round in the format of
``data/tables/huangyan_stakeholder_weights.csv`` (``group,label,indicator,points``, 100
points per group), so ``[scoring] weights`` of a scenario can point at it and
:func:`urlink.scoring.weights_from_points` reads it. :func:`rounds_report` is a
self-contained ``report.html`` of every round (rankings per group and pooled, SMAA P(first),
who submitted, the change between rounds). All text is escaped.
"""

from __future__ import annotations

import csv
import html
import io
from typing import TYPE_CHECKING, Any

import numpy as np

from urlink.scoring.weights import POINTS_CSV_COLUMNS

if TYPE_CHECKING:
    from collections.abc import Mapping

    import pandas as pd

    from urlink.workshop.data import WorkshopData

__all__ = ["rounds_report", "weights_csv"]

_UNITS = 1_000_000  # points are written to 1e-4: 100 points = 1,000,000 units


def _points(weights: pd.Series) -> list[int]:
    """Weights -> units of 1e-4 points summing to exactly 100 points (largest remainder)."""
    raw = np.asarray(weights, dtype=float) / float(np.sum(weights)) * _UNITS
    units = np.floor(raw).astype(int)
    short = _UNITS - int(units.sum())
    for i in np.argsort(-(raw - units), kind="stable")[:short]:
        units[i] += 1
    return [int(u) for u in units]


def weights_csv(data: WorkshopData, weights: Mapping[str, pd.Series]) -> str:
    """Write groups' weights as the points form (``group,label,indicator,points``).

    Parameters
    ----------
    data
        The workshop (groups' labels, indicators).
    weights
        Group -> weights per indicator (groups without weights are left out).

    Returns
    -------
    str
        The CSV text; each group's points add up to exactly 100 (to 1e-4 points).
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(POINTS_CSV_COLUMNS)
    for group, given in weights.items():
        w = given.reindex(data.indicator_ids).fillna(0.0)
        label = f"{data.groups.get(group, group)} (workshop)"
        for indicator, units in zip(data.indicator_ids, _points(w), strict=True):
            writer.writerow([group, label, indicator, f"{units / 10_000:.4f}"])
    return out.getvalue()


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _ranking_table(data: WorkshopData, results: dict[str, Any], method: str) -> str:
    columns = [(g, data.groups[g]) for g in data.groups if g in results["groups"]]
    entries = [results["groups"][g] for g, _ in columns]
    if results.get("pooled"):
        columns.append(("pooled", "pooled / 合并"))
        entries.append(results["pooled"])
    if not columns:
        return "<p>No weights submitted in this round.</p>"
    head = "".join(f"<th>{_e(label)}</th>" for _, label in columns)
    rows = []
    for name in map(str, data.table.index):
        cells = []
        for entry in entries:
            rank = next(r["rank"] for r in entry["ranking"][method] if r["strategy"] == name)
            p = entry["smaa"][method]["first"].get(name, 0.0)
            cells.append(f"<td>{rank} <small>P1 {p:.2f}</small></td>")
        rows.append(f"<tr><th>{_e(name)}</th>{''.join(cells)}</tr>")
    return f"<table><tr><th>strategy</th>{head}</tr>{''.join(rows)}</table>"


def rounds_report(data: WorkshopData, results: dict[str, Any], started_utc: str) -> str:
    """Write a self-contained HTML report of every round of a session.

    Parameters
    ----------
    data
        The workshop.
    results
        :meth:`urlink.workshop.app.Workshop.compute` (the current round and frozen ones).
    started_utc
        When the session started.

    Returns
    -------
    str
        The page (no script, no external resource; prints on A4).
    """
    method = data.methods[0]
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>{_e(data.name)}: workshop report</title><style>",
        "body{font-family:sans-serif;max-width:60em;margin:1em auto}table{border-collapse:"
        "collapse;margin:.5em 0}td,th{border:1px solid #bbb;padding:.2em .5em;text-align:left}"
        "small{color:#666}@page{size:A4}",
        "</style></head><body>",
        f"<h1>{_e(data.name)}: workshop rounds / 研讨会轮次</h1>",
        f"<p>Session started {_e(started_utc)} (UTC). Ranks by {_e(method.replace('_', ' '))}"
        " with each group's weights (the mean of its participants' latest submissions); "
        "P1 = SMAA probability of ranking first around those weights.</p>",
    ]
    rounds = [(r["number"], r["frozen_utc"], r["results"]) for r in results["rounds"]]
    if results["open"]:
        rounds.append((results["round"], None, results["current"]))
    previous: dict[str, int] | None = None
    for number, frozen, res in rounds:
        state = f"frozen {frozen}" if frozen else "open (live)"
        parts.append(f"<h2>Round {number} ({_e(state)})</h2>")
        parts.append(_ranking_table(data, res, method))
        pooled = res.get("pooled")
        if pooled:
            ranks = {r["strategy"]: r["rank"] for r in pooled["ranking"][method]}
            if previous is not None:
                moves = [
                    f"{_e(s)}: {previous[s]} → {ranks[s]}"
                    for s in ranks
                    if s in previous and previous[s] != ranks[s]
                ]
                parts.append(
                    "<p>Pooled rank changes since the previous round: "
                    + ("; ".join(moves) if moves else "none")
                    + "</p>"
                )
            previous = ranks
        who = res.get("submitted", [])
        names = ", ".join(f"{_e(w['name'])} ({_e(w['group'])}, {_e(w['mode'])})" for w in who)
        parts.append(f"<p>Counted: {names or 'nobody yet'}.</p>")
    parts.append("</body></html>")
    return "\n".join(parts)
