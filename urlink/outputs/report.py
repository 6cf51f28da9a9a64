"""The run report: one self-contained HTML page, readable on screen and printed on A4.

:func:`report_from_tables` turns the tables of a run into a page with

1. a one-page summary in Chinese and English: what was asked, the ranking, how robust it
   is, the top action per administrative level,
2. a static map of the flows and the typology (matplotlib, embedded as a PNG data URI),
3. what was modelled (zones by level and typology, the network, the flow models and
   totals, the strategies),
4. a flow summary per flow type and per administrative boundary (how much of each flow
   crosses a township, county, prefecture or province boundary; each county-level unit's
   flows out, in and within),
5. the district indicators of every strategy, grouped by SDG target,
6. the strategy ranking per stakeholder group and its robustness to the weights (SMAA-2
   rank acceptability, drawn with matplotlib and embedded as SVG),
7. the action guidelines per administrative level,
8. the data and sources, at the end: every input file with its checksum and, where a
   ``SOURCES.md`` next to it describes it, its origin and licence; which numbers are
   estimates (every ``*_source`` column, counted).

Sections are listed once in :data:`SECTIONS` (id and bilingual title); headings are numbered
by CSS counters, so a new section is one function and one entry there. Everything is
escaped with :func:`html.escape`; the page loads nothing from anywhere (no scripts, no
fonts, no images outside the page) and has print CSS for A4.
"""

from __future__ import annotations

import base64
import html
import io
import logging
import re
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from urlink import __version__
from urlink.model.graph import crosses_levels
from urlink.outputs.files import file_sha256
from urlink.outputs.maps import FLOW_COLOURS, TYPOLOGY_COLOURS
from urlink.scenario.assess import admin_names
from urlink.scoring.costs import Costs, costs_of, format_cost
from urlink.scoring.indicators import INDICATORS
from urlink.scoring.methods import default_references
from urlink.scoring.ranking import performance_table

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from urlink.scenario.spec import Scenario

__all__ = [
    "SECTIONS",
    "acceptability_chart",
    "first_rank_chart",
    "flows_by_boundary",
    "flows_by_unit",
    "flows_map_png",
    "report_from_tables",
    "source_notes",
    "write_report",
]

logger = logging.getLogger(__name__)

_LEVELS = ("none", "township", "county", "prefecture", "province")

_SDG_TITLES = {
    "11.2.1": "SDG 11.2.1 — convenient access to public transport",
    "11.6": "SDG 11.6 — adverse environmental impact of cities (transport CO2)",
    "11.a": "SDG 11.a — positive links between urban, peri-urban and rural areas",
    "": "Cost (no SDG target)",
}
"""Titles of the SDG targets that :data:`urlink.scoring.indicators.INDICATORS` refer to (UN
global indicator framework, A/RES/71/313)."""

_CSS = """
:root { --ink: #222; --muted: #666; --line: #ccc; --gain: #1a9850; --loss: #d73027; }
body { font: 10.5pt/1.45 "Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei",
       "PingFang SC", sans-serif; color: var(--ink); max-width: 190mm; margin: 1.5em auto;
       padding: 0 1em; }
h1 { font-size: 18pt; margin-bottom: .2em; }
body { counter-reset: sec; }
h2 { font-size: 13.5pt; border-bottom: 2px solid #444; padding-bottom: 2px; margin-top: 1.6em; }
h2::before { counter-increment: sec; content: counter(sec) ". "; }
nav ol { columns: 2; font-size: 9.5pt; }
#summary { border: 1px solid #999; padding: 0 .8em .6em; background: #fafafa; }
#summary h2 { margin-top: .6em; }
.lang-en { color: #333; }
figure img { max-width: 100%; height: auto; }
h3 { font-size: 11.5pt; margin: 1.2em 0 .3em; }
p.meta, p.note, td.note { color: var(--muted); font-size: 9pt; }
table { border-collapse: collapse; width: 100%; margin: .4em 0 1em; font-size: 8.5pt; }
th, td { border-bottom: 1px solid var(--line); padding: 2px 5px; text-align: left;
         vertical-align: top; }
td.wrap { overflow-wrap: anywhere; }
th { background: #f1f1f1; }
th .en { font-weight: normal; color: #555; font-size: 0.9em; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.better { color: var(--gain); } td.worse { color: var(--loss); }
tr { break-inside: avoid; page-break-inside: avoid; }
thead { display: table-header-group; }
figure { margin: .5em 0 1em; break-inside: avoid; page-break-inside: avoid; }
figure svg { max-width: 100%; height: auto; }
figcaption { font-size: 9pt; color: var(--muted); }
.estimate { background: #fff7e0; }
code { font-size: 90%; }
@page { size: A4; margin: 14mm 12mm 16mm; }
@media print {
  body { max-width: none; margin: 0; padding: 0; font-size: 9.5pt; }
  #summary { break-after: page; page-break-after: always; background: none; }
  h2 { break-after: avoid; page-break-after: avoid; }
  h3 { break-after: avoid; page-break-after: avoid; }
  section { break-before: auto; }
  a { color: inherit; text-decoration: none; }
}
"""


def _esc(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _num(value: Any, fmt: str = ",.4g") -> str:
    try:
        x = float(value)
    except (TypeError, ValueError):
        return _esc(value)
    if not np.isfinite(x):
        return "–"
    if fmt == ",.4g" and abs(x) >= 1e4:
        fmt = ",.0f"  # no exponent notation for large totals
    return format(x, fmt)


_HEADERS_ZH: dict[str, str] = {
    "P(first)": "排名第一概率",
    "action": "行动",
    "base": "基准",
    "baseline": "现状",
    "best": "最优参考值",
    "capital (million yuan)": "投资（百万元）",
    "code": "代码",
    "column": "列",
    "costs": "代价",
    "county": "县级",
    "estimated": "估算",
    "file": "文件",
    "first for": "排名第一的群体",
    "flow type": "流动类型",
    "flow_type": "流动类型",
    "flow_unit": "流量单位",
    "flows": "流动",
    "gains": "收益",
    "in": "流入",
    "indicator": "指标",
    "inputs that decide it (S1 ± 95 %)": "决定性的输入（S1 ± 95 %）",
    "kind": "类型",
    "leave district": "离开本区",
    "level": "层级",
    "licence": "许可",
    "mean km": "平均距离（公里）",
    "mean min": "平均时间（分钟）",
    "most often first": "最常排名第一",
    "model": "模型",
    "name": "名称",
    "net_in": "净流入",
    "none": "无",
    "of its": "对象",
    "origin": "起点",
    "out": "流出",
    "own zone": "本区内",
    "pooled": "综合",
    "prefecture": "地级",
    "province": "省级",
    "purpose": "出行目的",
    "rank": "排名",
    "role": "角色",
    "rows": "行数",
    "sector": "部门",
    "share_crossing_county": "跨县比例",
    "source": "来源",
    "strategy": "策略",
    "sum of S1": "S1 之和",
    "table": "表",
    "title": "标题",
    "total": "合计",
    "township": "乡镇",
    "trips / resident / day": "人均日出行次数",
    "unit": "单位",
    "value": "数值",
    "weights": "权重",
    "within": "内部",
    "worst": "最差参考值",
    "yearly (million yuan/year)": "年费用（百万元/年）",
}
"""Chinese names of the report's table headers (shown above the English ones)."""


def _header(column: object) -> str:
    """Return a table header in Chinese and English where the Chinese name is known."""
    zh = _HEADERS_ZH.get(str(column))
    en = _esc(column)
    return f'{_esc(zh)}<br><span class="en">{en}</span>' if zh else en


def _table(
    frame: pd.DataFrame,
    *,
    numeric: Iterable[str] = (),
    formats: Mapping[str, str] | None = None,
    row_class: pd.Series | None = None,
    cell_class: Mapping[str, pd.Series] | None = None,
    wrap: Iterable[str] = (),
) -> str:
    """Render an escaped HTML table; numeric columns right-aligned and formatted."""
    numeric = set(numeric)
    wrap = set(wrap)
    formats = dict(formats or {})
    head = "".join(
        f'<th class="num">{_header(c)}</th>' if c in numeric else f"<th>{_header(c)}</th>"
        for c in frame.columns
    )
    rows = []
    for pos, (_, rec) in enumerate(frame.iterrows()):
        cells = []
        for col in frame.columns:
            classes = []
            if col in numeric:
                classes.append("num")
                text = _num(rec[col], formats.get(str(col), ",.4g"))
            else:
                text = _esc(rec[col]) if pd.notna(rec[col]) else ""
                # identifiers break after "_" and "/" instead of overflowing the page
                text = text.replace("_", "_<wbr>").replace("/", "/<wbr>")
                if col in wrap:
                    classes.append("wrap")
            if cell_class is not None and col in cell_class:
                extra = cell_class[col].iloc[pos]
                if extra:
                    classes.append(str(extra))
            cls = f' class="{" ".join(classes)}"' if classes else ""
            cells.append(f"<td{cls}>{text}</td>")
        rcls = ""
        if row_class is not None and row_class.iloc[pos]:
            rcls = f' class="{_esc(row_class.iloc[pos])}"'
        rows.append(f"<tr{rcls}>{''.join(cells)}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


# ---------------------------------------------------------------------------------------------
# Flow summaries


def flows_by_boundary(flows: pd.DataFrame, zones: pd.DataFrame) -> pd.DataFrame:
    """Total volume of each flow type by the highest admin boundary the flows cross.

    Parameters
    ----------
    flows
        Flow rows (``origin``, ``destination``, ``flow_type``, ``volume``, ``unit``;
        rows with ``use == "unused"`` are left out).
    zones
        Zones indexed by zone id with ``*_code`` columns.

    Returns
    -------
    pandas.DataFrame
        One row per flow type: ``flow_type``, ``unit``, ``total``, then the volume whose
        flows cross nothing (``none``, within one zone), a township, county, prefecture or
        province boundary, and ``share_crossing_county`` (share of the total that crosses
        a county boundary or a higher one).

    Examples
    --------
    >>> z = pd.DataFrame({"township_code": ["t1", "t2", None],
    ...                   "county_code": ["c1", "c1", "c2"],
    ...                   "prefecture_code": ["p", "p", "p"],
    ...                   "province_code": ["s", "s", "s"]}, index=["t1", "t2", "c2"])
    >>> f = pd.DataFrame({"origin": ["t1", "t1", "t2"], "destination": ["t2", "c2", "t2"],
    ...                   "flow_type": "people", "volume": [3.0, 1.0, 6.0], "unit": "p/d"})
    >>> flows_by_boundary(f, z)[["total", "none", "township", "county"]]
       total  none  township  county
    0   10.0   6.0       3.0     1.0
    """
    f = _used(flows)
    f = f.assign(
        crosses=crosses_levels(zones, f["origin"].to_numpy(), f["destination"].to_numpy())
    )
    out = []
    for ftype, part in f.groupby("flow_type", sort=False):
        rec: dict[str, Any] = {
            "flow_type": ftype,
            "unit": str(part["unit"].iloc[0]) if "unit" in part.columns else "",
            "total": float(part["volume"].sum()),
        }
        by = part.groupby("crosses")["volume"].sum()
        for level in _LEVELS:
            rec[level] = float(by.get(level, 0.0))
        crossing = sum(rec[level] for level in ("county", "prefecture", "province"))
        rec["share_crossing_county"] = crossing / rec["total"] if rec["total"] else float("nan")
        out.append(rec)
    return pd.DataFrame(out)


def _used(flows: pd.DataFrame) -> pd.DataFrame:
    if "use" in flows.columns:
        return flows[flows["use"].fillna("used").astype(str) != "unused"]
    return flows


def flows_by_unit(
    flows: pd.DataFrame, zones: pd.DataFrame, *, level: str = "county"
) -> pd.DataFrame:
    """Each admin unit's flows out of, into and within it, per flow type.

    Parameters
    ----------
    flows
        Flow rows (``origin``, ``destination``, ``flow_type``, ``volume``, ``unit``).
    zones
        Zones indexed by zone id with a ``<level>_code`` column.
    level
        Administrative level of the units.

    Returns
    -------
    pandas.DataFrame
        ``unit``, ``flow_type``, ``flow_unit``, ``out``, ``in``, ``within``, ``net_in``
        (in - out), sorted by unit and flow type.

    Examples
    --------
    >>> z = pd.DataFrame({"county_code": ["A", "A", "B"]}, index=["a1", "a2", "b1"])
    >>> f = pd.DataFrame({"origin": ["a1", "a1", "b1"], "destination": ["a2", "b1", "a2"],
    ...                   "flow_type": "goods", "volume": [1.0, 2.0, 5.0], "unit": "t"})
    >>> flows_by_unit(f, z)[["unit", "out", "in", "within", "net_in"]]
      unit  out   in  within  net_in
    0    A  2.0  5.0     1.0     3.0
    1    B  5.0  2.0     0.0    -3.0
    """
    code = zones[f"{level}_code"].astype(str)
    code.index = code.index.astype(str)
    f = _used(flows)
    f = f.assign(
        o=f["origin"].astype(str).map(code), d=f["destination"].astype(str).map(code)
    ).dropna(subset=["o", "d"])
    out = []
    units = sorted(set(f["o"]) | set(f["d"]))
    for ftype, part in f.groupby("flow_type", sort=False):
        flow_unit = str(part["unit"].iloc[0]) if "unit" in part.columns else ""
        # one pass per direction, not one filter per unit (thousands of units, #8); each
        # sum is over the same rows in the same order as a filter would give
        across = part[part["o"] != part["d"]]
        inside = part[part["o"] == part["d"]]
        out_of = {k: g.sum() for k, g in across.groupby("o", sort=False)["volume"]}
        into = {k: g.sum() for k, g in across.groupby("d", sort=False)["volume"]}
        kept = {k: g.sum() for k, g in inside.groupby("o", sort=False)["volume"]}
        for unit in units:
            leaving = out_of.get(unit, 0.0)
            entering = into.get(unit, 0.0)
            within = kept.get(unit, 0.0)
            out.append(
                {
                    "unit": unit,
                    "flow_type": ftype,
                    "flow_unit": flow_unit,
                    "out": float(leaving),
                    "in": float(entering),
                    "within": float(within),
                    # differences below 1e-9 of the volumes are rounding noise of the models
                    "net_in": float(entering - leaving)
                    if abs(entering - leaving) > 1e-9 * max(abs(entering), abs(leaving))
                    else 0.0,
                }
            )
    return pd.DataFrame(out).sort_values(["unit", "flow_type"], ignore_index=True)


# ---------------------------------------------------------------------------------------------
# Provenance


def source_notes(path: Path) -> dict[str, str]:
    """Origin, licence and estimate notes of a data file from the nearest ``SOURCES.md``.

    The nearest ``SOURCES.md`` in the file's folder or a parent folder is searched for a
    ``### `name``` heading naming the file; its ``**Origin:**``, ``**Licence:**`` and
    ``**Estimated:**`` bullets are returned (Markdown markup removed).

    Parameters
    ----------
    path
        A data file.

    Returns
    -------
    dict
        Keys among ``origin``, ``licence``, ``estimated`` and ``sources_file``; empty when
        no ``SOURCES.md`` describes the file.
    """
    path = Path(path).resolve()
    for folder in path.parents:
        candidate = folder / "SOURCES.md"
        if candidate.is_file():
            break
    else:
        return {}
    text = candidate.read_text(encoding="utf-8")
    out = {"sources_file": str(candidate)}
    heading = re.search(rf"^###\s+`{re.escape(path.name)}`.*$", text, re.M)
    if heading is not None:
        section = text[heading.end() :]
        nxt = re.search(r"^#{1,3}\s", section, re.M)
        section = section[: nxt.start()] if nxt else section
        for key, labels in (
            ("origin", ("Origin", "What")),
            ("licence", ("Licence",)),
            ("estimated", ("Estimated", "Estimates")),
        ):
            for label in labels:
                m = re.search(
                    rf"^- \*\*{label}[^*]*:\*\*(.*?)(?=^- \*\*|\Z)", section, re.M | re.S
                )
                if m:
                    out[key] = _plain(m.group(1))
                    break
        return out
    item = re.search(rf"^- `{re.escape(path.name)}`(.*?)(?=^- |^#|\Z)", text, re.M | re.S)
    if item is None:
        return {}
    body = _plain(item.group(1)).lstrip(" :")
    out["origin"] = body
    if "estimate" in body.lower() or "illustrative" in body.lower():
        out["estimated"] = "yes, see the description"
    return out


def _plain(markdown: str, limit: int = 420) -> str:
    plain = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", markdown)
    plain = " ".join(re.sub(r"[*`]", "", plain).split())
    return plain if len(plain) <= limit else plain[: limit - 1].rstrip() + "…"


def _estimates(zones: pd.DataFrame, flows: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for col in sorted(c for c in zones.columns if str(c).endswith("_source")):
        for value, n in zones[col].fillna("").astype(str).value_counts().sort_index().items():
            rows.append(("zones", col, value, int(n)))
    if "source" in flows.columns:
        counts = (
            flows.assign(source=flows["source"].fillna("").astype(str))
            .groupby(["flow_type", "source"])
            .size()
            .reset_index(name="n")
        )
        for rec in counts.itertuples(index=False):
            n = int(str(rec.n))
            rows.append((f"flows: {rec.flow_type}", "source", str(rec.source), n))
    return pd.DataFrame(rows, columns=["table", "column", "value", "rows"])


def _is_estimate(value: str) -> bool:
    v = value.lower()
    return any(
        w in v
        for w in ("estimate", "assum", "modelled", "voronoi", "proxy", "illustrative", "default")
    )


# ---------------------------------------------------------------------------------------------
# Charts


def _svg(fig: Any) -> str:
    buf = io.StringIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # missing CJK glyphs in the fonts here
        fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    svg = buf.getvalue()
    return svg[svg.index("<svg") :]


def _figure(width_in: float, height_in: float) -> tuple[Any, Any]:
    fig = Figure(figsize=(width_in, height_in))  # no pyplot: no backend, no global state
    ax = fig.subplots()
    return fig, ax


def acceptability_chart(robustness: pd.DataFrame, *, weights: str = "uniform") -> str:
    """Stacked bars of SMAA-2 rank acceptability per strategy, as an SVG string.

    Parameters
    ----------
    robustness
        The ``robustness`` table (``weights``, ``method``, ``strategy``, ``rank``,
        ``acceptability``); the weighted-sum rows of ``weights`` are drawn.
    weights
        Which weight set: ``"uniform"`` (any weights) or a stakeholder group.

    Returns
    -------
    str
        An ``<svg>`` element (empty string when there is nothing to draw).
    """
    r = robustness[(robustness["weights"] == weights) & (robustness["method"] == "weighted_sum")]
    if r.empty:
        return ""
    table = r.pivot_table(index="strategy", columns="rank", values="acceptability", aggfunc="sum")
    order = (table.mul(-np.arange(table.shape[1]), axis=1).sum(axis=1)).sort_values(
        ascending=False, kind="stable"
    )
    table = table.loc[order.index[::-1]]
    with mpl.rc_context({"svg.hashsalt": "urlink", "font.size": 8}):
        fig, ax = _figure(7.0, 0.3 * len(table) + 1.0)
        left = np.zeros(len(table))
        cmap = mpl.colormaps["RdYlGn_r"]
        k = table.shape[1]
        for j, rank in enumerate(table.columns):
            values = table[rank].fillna(0.0).to_numpy()
            ax.barh(
                table.index.astype(str),
                values,
                left=left,
                color=cmap(j / max(k - 1, 1)),
                edgecolor="white",
                linewidth=0.4,
                label=str(rank),
            )
            left += values
        ax.set_xlim(0, 1)
        ax.set_xlabel("rank acceptability (share of weight samples)")
        ax.legend(
            title="rank",
            ncols=min(k, 10),
            fontsize=6,
            title_fontsize=7,
            loc="lower center",
            bbox_to_anchor=(0.5, 1.0),
            frameon=False,
        )
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        return _svg(fig)


def first_rank_chart(robustness: pd.DataFrame) -> str:
    """Heat map of first-rank acceptability: strategies x weight sets, as an SVG string.

    Parameters
    ----------
    robustness
        The ``robustness`` table; its weighted-sum rows are drawn.

    Returns
    -------
    str
        An ``<svg>`` element (empty string when there is nothing to draw).
    """
    r = robustness[(robustness["method"] == "weighted_sum") & (robustness["rank"] == 1)]
    if r.empty:
        return ""
    table = r.pivot_table(
        index="strategy", columns="weights", values="acceptability", aggfunc="sum", sort=False
    ).fillna(0.0)
    with mpl.rc_context({"svg.hashsalt": "urlink", "font.size": 8}):
        fig, ax = _figure(7.0, 0.3 * len(table) + 1.4)
        im = ax.imshow(table.to_numpy(), cmap="Greens", vmin=0, vmax=1, aspect="auto")
        ax.set_yticks(range(len(table)), [str(s) for s in table.index])
        ax.set_xticks(
            range(table.shape[1]), [str(c) for c in table.columns], rotation=30, ha="right"
        )
        for i in range(table.shape[0]):
            for j in range(table.shape[1]):
                v = float(table.to_numpy()[i, j])
                ax.text(
                    j,
                    i,
                    f"{v:.2f}",
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="white" if v > 0.6 else "black",
                )
        fig.colorbar(im, ax=ax, label="P(rank 1)", shrink=0.8)
        return _svg(fig)


# ---------------------------------------------------------------------------------------------
# The page


SECTIONS = (
    ("summary", "摘要 / Summary"),
    ("map", "流动与类型图 / Map of flows and typology"),
    ("modelled", "模型内容 / What was modelled"),
    ("flows", "跨行政边界的流动 / Flows across administrative boundaries"),
    ("indicators", "按SDG目标的区级指标 / District indicators by SDG target"),
    ("ranking", "策略排序与稳健性 / Strategy ranking and robustness"),
    ("uncertainty", "对不确定输入的稳健性 / Robustness to uncertain inputs"),
    ("guidelines", "各级行动指引 / Action guidelines per administrative level"),
    ("data", "数据、来源与估计 / Data, sources and estimates"),
)
"""The report's sections in order: id and title (Chinese / English). The summary comes
first and the sources last; numbers come from CSS counters."""


def _heading(section: str) -> str:
    return _esc(dict(SECTIONS).get(section, section))


def report_from_tables(
    *,
    scenario: Scenario,
    zones: pd.DataFrame,
    flows: pd.DataFrame,
    assessed: Mapping[str, pd.DataFrame],
    summary: Mapping[str, Any],
    inputs: Sequence[Mapping[str, Any]] | None = None,
) -> str:
    """Build the run report (a self-contained HTML page).

    Parameters
    ----------
    scenario
        The scenario that was run.
    zones
        Its zones (indexed by zone id, with ``*_code``, ``population``,
        ``population_source``, ``typology``; with geometry and seats, the report has a map).
    flows
        Every flow row of every type (``flows.csv``).
    assessed
        The run's tables: ``indicators``, ``attribution``, ``guidelines`` and, when
        scored, ``scores`` and ``robustness``.
    summary
        The run summary of the manifest (``network_source``, ``flows`` ...).
    inputs
        The manifest's ``inputs`` (``path``, ``sha256`` per file; PostGIS tables with
        ``table`` and ``rows``), so the files are not hashed twice; None hashes the
        scenario's input files here.

    Returns
    -------
    str
        The page.
    """
    title = scenario.title or scenario.name
    focus = str(scenario.boundaries.focus)
    sections = {
        "summary": lambda: _section_summary(scenario, assessed),
        "map": lambda: _section_map(zones, flows, focus=focus),
        "modelled": lambda: _section_modelled(scenario, zones, flows, summary),
        "flows": lambda: _section_flows(
            zones,
            flows,
            focus=focus,
            focus_name=getattr(scenario.boundaries, "focus_name", None),
        ),
        "indicators": lambda: _section_indicators(assessed),
        "ranking": lambda: _section_ranking(assessed, scenario),
        "uncertainty": lambda: _section_uncertainty(assessed),
        "guidelines": lambda: _section_guidelines(assessed),
        "data": lambda: _section_data(scenario, zones, flows, inputs),
    }
    parts = [
        "<!DOCTYPE html>",
        '<html lang="zh-Hans"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_esc(title)} — urlink report</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>{_esc(title)}</h1>",
        f'<p class="meta">Scenario <code>{_esc(scenario.name)}</code> '
        f"({_esc(Path(scenario.path).name)}), seed {_esc(scenario.seed)}, urlink "
        f'{_esc(__version__)}. Numbers marked <span class="estimate">in this colour</span> '
        "rest on estimates or assumptions; see the data section at the end. Headings and the "
        "summary are in Chinese and English, the detailed tables in English.</p>",
    ]
    built = {key: sections[key]() for key, _ in SECTIONS}
    shown = [key for key, _ in SECTIONS if built[key]]  # a section may have nothing to say
    parts.append(
        "<nav><ol>"
        + "".join(f'<li><a href="#{key}">{_heading(key)}</a></li>' for key in shown)
        + "</ol></nav>"
    )
    for key in shown:
        parts += built[key]
    parts.append("</body></html>")
    return "\n".join(parts)


def _section_summary(scenario: Scenario, assessed: Mapping[str, pd.DataFrame]) -> list[str]:
    """Build the one-page summary: the question, the ranking, its robustness, top actions."""
    out = [f'<section id="summary"><h2>{_heading("summary")}</h2>']
    names = [s.name for s in scenario.strategies]
    titles = {s.name: s.title for s in scenario.strategies}
    where = scenario.title or scenario.name
    out.append(
        f"<p><b>问题</b>：{_esc(where)} 的 {len(names)} 项策略中，哪一项最符合各利益相关方的"
        "目标？结论对权重的变化有多稳健？每一级政府应该做什么？<br>"
        f'<span class="lang-en"><b>The question</b>: which of the {len(names)} strategies for '
        f"{_esc(where)} serves the stakeholder groups best, how robust is that answer to "
        "their weights, and what should each level of government do?</span></p>"
    )
    scores = assessed.get("scores")
    robust = assessed.get("robustness")
    if scores is None or scores.empty:
        out.append("<p>未评分 / The scenario has no scoring section.</p>")
    else:
        ws = scores[scores["method"] == scores["method"].iloc[0]]
        pooled = ws[ws["group"] == "pooled"].sort_values("rank", kind="stable")
        first: dict[str, float] = {}
        if robust is not None and not robust.empty:
            r = robust[
                (robust["weights"] == "uniform")
                & (robust["method"] == ws["method"].iloc[0])
                & (robust["rank"] == 1)
            ]
            first = dict(zip(r["strategy"], r["acceptability"].astype(float), strict=True))
        tops = ws[(ws["rank"] == 1) & (ws["group"] != "pooled")]
        top_of: dict[str, list[str]] = {}
        for group, strat in zip(tops["group"], tops["strategy"], strict=True):
            top_of.setdefault(str(strat), []).append(str(group))
        rows = [
            {
                "rank": int(rec["rank"]),
                "strategy": f"{rec['strategy']}: {titles.get(str(rec['strategy']), '')}",
                "P(first)": first.get(str(rec["strategy"]), float("nan")),
                "first for": ", ".join(top_of.get(str(rec["strategy"]), [])),
            }
            for rec in pooled.head(5).to_dict("records")
        ]
        out.append(
            f"<h3>排序（综合，{_esc(ws['method'].iloc[0].replace('_', ' '))}）/ "
            "Ranking (pooled groups)</h3>"
        )
        out.append(
            _table(
                pd.DataFrame(rows),
                numeric=["rank", "P(first)"],
                formats={"rank": ".0f", "P(first)": ".0%"},
            )
        )
        if len(pooled):
            best = str(pooled["strategy"].iloc[0])
            share = first.get(best, float("nan"))
            pct = _num(100 * share, ".0f") if np.isfinite(share) else "?"
            out.append(
                f"<p><b>稳健性</b>：在均匀随机权重下，<code>{_esc(best)}</code> 在 {pct}% 的样本中"
                "排名第一（SMAA-2）。<br>"
                f'<span class="lang-en"><b>Robustness</b>: with uniform random weights, '
                f"<code>{_esc(best)}</code> ranks first in {pct} % of the samples "
                "(SMAA-2).</span></p>"
            )
            out += _top_actions(assessed.get("guidelines"), best)
    out.append(
        '<p class="note">工作坊地图 / Workshop map: <code>map.html</code>; 各策略对比 / each '
        "strategy: <code>compare_&lt;strategy&gt;.html</code>; 表格说明 / what each CSV "
        "column means: <code>data_dictionary.csv</code>.</p></section>"
    )
    return out


def _top_actions(guidelines: pd.DataFrame | None, best: str) -> list[str]:
    if guidelines is None or guidelines.empty:
        return []
    rows = []
    for level in ("province", "prefecture", "county", "township"):
        part = guidelines[(guidelines["level"] == level) & (guidelines["strategy"] == best)]
        if part.empty:
            continue
        rec = part.iloc[0]
        unit = str(rec.get("unit_name", "") or "")
        rows.append(
            {
                "level": level,
                "unit": f"{unit} ({rec['unit']})".strip() if unit else str(rec["unit"]),
                "role": rec.get("role", ""),
                "action": rec.get("action", ""),
                "gains": rec.get("gains", ""),
                "costs": rec.get("costs", ""),
            }
        )
    if not rows:
        return []
    return [
        f"<h3>首要行动（各级）/ Top actions per level for <code>{_esc(best)}</code></h3>",
        _table(pd.DataFrame(rows)),
    ]


def flows_map_png(
    zones: pd.DataFrame, flows: pd.DataFrame, *, focus: str, max_flows: int = 150
) -> bytes | None:
    """Draw a static map of the zones by typology and the largest people flows (PNG).

    The view is the focus unit's zones with a margin; widths grow with the square root of
    the volume (the largest flow drawn is 6 pt); flows within one zone are left out.

    Parameters
    ----------
    zones
        Zones with geometry (a GeoDataFrame), ``typology`` and seats.
    flows
        Flow rows (``flow_type``, ``origin``, ``destination``, ``volume``).
    focus
        Code of the focus unit (zones with it as ``county_code`` or id).
    max_flows
        Largest people flows drawn.

    Returns
    -------
    bytes or None
        The PNG, or None when the zones have no geometry or seats.
    """
    if not isinstance(zones, gpd.GeoDataFrame) or "seat_lon" not in zones.columns:
        return None
    z = zones.to_crs("EPSG:4326")
    ids = z.index.astype(str)
    own = ids == focus
    if "county_code" in z.columns:
        own = own | (z["county_code"].astype(str) == focus).to_numpy()
    inside = z[own] if own.any() else z
    left, bottom, right, top = inside.total_bounds
    dx, dy = 0.08 * (right - left), 0.08 * (top - bottom)
    fig = Figure(figsize=(7.2, 4.6), dpi=110)
    ax = fig.add_axes((0, 0, 1, 1))
    colours = z["typology"].astype(str).map(TYPOLOGY_COLOURS).fillna("#cccccc")
    z.plot(ax=ax, color=list(colours), edgecolor="#666", linewidth=0.5)
    seat = {
        str(i): (float(x), float(y))
        for i, x, y in zip(ids, z["seat_lon"], z["seat_lat"], strict=True)
    }
    people = flows[flows["flow_type"] == "people"] if "flow_type" in flows.columns else flows
    if not {"origin", "destination", "volume"} <= set(people.columns):
        people = pd.DataFrame(columns=["origin", "destination", "volume"])  # no flows modelled
    people = people[
        (people["origin"].astype(str) != people["destination"].astype(str))
        & people["origin"].astype(str).isin(seat)
        & people["destination"].astype(str).isin(seat)
    ]
    summed: pd.DataFrame = (
        people.assign(o=people["origin"].astype(str), d=people["destination"].astype(str))
        .groupby(["o", "d"], as_index=False)
        .agg(volume=("volume", "sum"))
    )
    pairs = summed.sort_values(["volume", "o", "d"], ascending=[False, True, True]).head(max_flows)
    vmax = float(pairs["volume"].max()) if len(pairs) else 1.0
    for o, d, v in zip(pairs["o"], pairs["d"], pairs["volume"], strict=True):
        (x0, y0), (x1, y1) = seat[o], seat[d]
        arrow = ax.annotate(
            "",
            xy=(x1, y1),
            xytext=(x0, y0),
            arrowprops={
                "arrowstyle": "-|>,head_length=0.5,head_width=0.25",
                "color": FLOW_COLOURS["people"],
                "lw": 0.4 + 5.6 * float(np.sqrt(max(v, 0.0) / (vmax or 1.0))),
                "alpha": 0.7,
                "connectionstyle": "arc3,rad=-0.15",
                "shrinkA": 0,
                "shrinkB": 2,
            },
            annotation_clip=False,
        )
        if arrow.arrow_patch is not None:
            arrow.arrow_patch.set_clip_box(ax.bbox)
    for i, row in inside.iterrows():
        name = row.get("name_en") or row.get("name") or str(i)
        ax.annotate(
            str(name),
            (float(row["seat_lon"]), float(row["seat_lat"])),
            fontsize=6.5,
            ha="center",
            va="bottom",
            color="#111",
            fontfamily=["Noto Sans CJK SC", "DejaVu Sans"],
        )
    ax.set_xlim(left - dx, right + dx)
    ax.set_ylim(bottom - dy, top + dy)
    ax.set_aspect(1.0 / np.cos(np.radians((top + bottom) / 2)))
    ax.set_axis_off()
    buf = io.BytesIO()
    with warnings.catch_warnings():
        # without a CJK font, Chinese names are drawn as boxes: not worth failing a run
        warnings.filterwarnings("ignore", message="Glyph .* missing from font")
        warnings.filterwarnings("ignore", message="findfont: Font family")
        fig.savefig(buf, format="png", metadata={"Software": None})
    return buf.getvalue()


def _section_map(zones: pd.DataFrame, flows: pd.DataFrame, *, focus: str) -> list[str]:
    out = [f'<section id="map"><h2>{_heading("map")}</h2>']
    png = flows_map_png(zones, flows, focus=focus)
    if png is None:
        out.append("<p>No zone geometry: no map.</p></section>")
        return out
    data = base64.b64encode(png).decode("ascii")
    legend = ", ".join(f"{_esc(k)} (fill {_esc(v)})" for k, v in TYPOLOGY_COLOURS.items())
    out.append(
        f'<figure><img alt="map of flows and typology" src="data:image/png;base64,{data}">'
        "<figcaption>人口流动（最大的150条，线宽∝√流量，箭头指向目的地）与分区类型 / People "
        "flows (the 150 largest pairs; width grows with the square root of the volume, "
        f"arrows point to the destination) and zone typology: {legend}. The interactive "
        "version is <code>map.html</code>.</figcaption></figure></section>"
    )
    return out


def write_report(
    path: Path,
    *,
    scenario: Scenario,
    zones: pd.DataFrame,
    flows: pd.DataFrame,
    assessed: Mapping[str, pd.DataFrame],
    summary: Mapping[str, Any],
    inputs: Sequence[Mapping[str, Any]] | None = None,
) -> Path:
    """Write :func:`report_from_tables` to ``path``.

    Parameters
    ----------
    path
        Target ``.html`` file.
    scenario, zones, flows, assessed, summary, inputs
        As for :func:`report_from_tables`.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    page = report_from_tables(
        scenario=scenario,
        zones=zones,
        flows=flows,
        assessed=assessed,
        summary=summary,
        inputs=inputs,
    )
    Path(path).write_text(page, encoding="utf-8")
    return Path(path)


def _section_modelled(
    scenario: Scenario, zones: pd.DataFrame, flows: pd.DataFrame, summary: Mapping[str, Any]
) -> list[str]:
    out = [f'<section id="modelled"><h2>{_heading("modelled")}</h2>']
    levels = zones.groupby("level").size() if "level" in zones.columns else pd.Series(dtype=int)
    typ = zones.groupby("typology").size() if "typology" in zones.columns else pd.Series(dtype=int)
    pop = float(zones["population"].sum()) if "population" in zones.columns else float("nan")
    network = str(summary.get("network_source", "unknown"))
    out.append(
        "<p>"
        + ", ".join(f"{int(n)} {_esc(k)} zones" for k, n in levels.items())
        + f" with {_num(pop, ',.0f')} residents; typology "
        + ", ".join(f"{_esc(k)} {int(n)}" for k, n in typ.items())
        + f". Travel times on the <b>{_esc(network)}</b> network"
        + (
            ' <span class="estimate">(a proxy joining the zone seats, not OpenStreetMap)</span>'
            if network == "proxy"
            else ""
        )
        + f"; {int(summary.get('unreachable_pairs', 0))} zone pairs unreachable.</p>"
    )
    used = _used(flows)
    if len(used):
        rows = []
        for ftype, part in used.groupby("flow_type", sort=False):
            models = ", ".join(sorted(part["model"].fillna("").astype(str).unique()))
            rows.append(
                {
                    "flow type": ftype,
                    "model": models,
                    "flows": len(part),
                    "total": float(part["volume"].sum()),
                    "unit": str(part["unit"].iloc[0]),
                }
            )
        out.append(_table(pd.DataFrame(rows), numeric=["flows", "total"]))
    people = summary.get("people") or []
    if people:
        out.append("<h3>Person trips of the district's residents, by purpose</h3>")
        table = pd.DataFrame(
            [
                {
                    "purpose": r["purpose"],
                    "trips / resident / day": r["trips_per_resident_day"],
                    "mean min": r["mean_time_min"],
                    "mean km": r.get("mean_km", float("nan")),
                    "own zone": r["within_zone_share"],
                    "leave district": r["leaving_focus_share"],
                    "beta /min": r["beta"],
                }
                for r in people
            ]
        )
        formats = {
            "trips / resident / day": ",.2f",
            "mean min": ",.1f",
            "mean km": ",.1f",
            "own zone": ".0%",
            "leave district": ".0%",
            "beta /min": ".3f",
        }
        out.append(_table(table, numeric=list(formats), formats=formats))
        notes = []
        for r in people:
            fit = ""
            if "calibration_target" in r:
                fit = (
                    f" beta fitted to a mean of {_num(r['calibration_target'], ',.1f')} "
                    f"(reached {_num(r['calibration_reached'], ',.2f')})."
                )
            notes.append(f"<li><b>{_esc(r['purpose'])}</b>: {_esc(r['inputs_source'])}.{fit}</li>")
        out.append('<ul class="estimate">' + "".join(notes) + "</ul>")
    modes = summary.get("modes")
    if modes:
        reached = modes.get("shares_reached", {})
        out.append(
            "<p>Mode shares of the residents' trips: "
            + ", ".join(f"{_esc(m)} {_num(100 * s, '.0f')} %" for m, s in reached.items())
            + " (constants fitted to "
            + _esc(modes.get("shares_source") or "the given shares")
            + ").</p>"
        )
    if scenario.strategies:
        out.append("<h3>Strategies</h3>")
        by_name = {s.name: s for s in scenario.strategies}
        strategy_rows: list[tuple[str, str, str, str, str, Costs]] = [
            (f"S{i}", s.name, s.title, s.kind, s.sector, costs_of([s]))
            for i, s in enumerate(scenario.strategies, start=1)
        ]
        strategy_rows += [
            (
                f"P{i}",
                p.name,
                p.title or " + ".join(p.strategies),
                "package: " + " → ".join(p.strategies),
                "",
                costs_of([by_name[m] for m in p.strategies if m in by_name]),
            )
            for i, p in enumerate(scenario.packages, start=1)
        ]
        st = pd.DataFrame(
            [
                {
                    "code": code,
                    "strategy": name,
                    "title": title,
                    "kind": kind,
                    "sector": sector,
                    # an unknown cost is "unknown", never 0
                    "capital (million yuan)": format_cost(c.capital_yuan, scale=1e6),
                    "yearly (million yuan/year)": format_cost(c.yearly_yuan, scale=1e6),
                }
                for code, name, title, kind, sector, c in strategy_rows
            ]
        )
        out.append(_table(st))
        c = scenario.costs
        out.append(
            "<p>Annualised cost = capital × capital recovery factor + yearly cost, at a "
            f"discount rate of {_num(100 * c.discount_rate, '.1f')} % over "
            f"{c.life_years} years (CRF {_num(c.crf, '.4f')}; <code>[costs]</code> in the "
            "scenario). An unknown cost leaves the cost-effectiveness indicators empty.</p>"
        )
    out.append("</section>")
    return out


def _section_data(
    scenario: Scenario,
    zones: pd.DataFrame,
    flows: pd.DataFrame,
    inputs: Sequence[Mapping[str, Any]] | None,
) -> list[str]:
    out = [f'<section id="data"><h2>{_heading("data")}</h2><h3>Input files</h3>']
    if inputs is None:  # not given: hash the scenario's files here
        inputs = [{"path": str(p), "sha256": file_sha256(Path(p))} for p in scenario.input_files()]
    rows = []
    for item in inputs:
        if "table" in item:  # a PostGIS input table (urlink.store.runs.table_fingerprint)
            notes = {"origin": f"PostGIS table, {item.get('rows', '?')} rows"}
            name = str(item["table"])
        else:
            notes = source_notes(Path(item["path"]))
            name = Path(item["path"]).name
        rows.append(
            {
                "file": name,
                "sha256": str(item.get("sha256", ""))[:12],
                "origin": notes.get("origin", "not described in a SOURCES.md"),
                "licence": notes.get("licence", ""),
                "estimated": notes.get("estimated", ""),
            }
        )
    out.append(_table(pd.DataFrame(rows), wrap=["origin", "licence", "estimated"]))
    out.append("<h3>Which numbers are estimates</h3>")
    est = _estimates(zones, _used(flows))
    flag = est["value"].map(lambda v: "estimate" if _is_estimate(str(v)) else "")
    out.append(_table(est, numeric=["rows"], row_class=flag))
    out.append(
        '<p class="note">Rows in the estimate colour come from models, estimates, '
        "assumptions or approximations (every output table carries the same "
        "<code>*_source</code> columns). Sources of every default parameter: "
        "<code>docs/models.md</code>; of every data file: <code>data/SOURCES.md</code>.</p>"
    )
    out.append("</section>")
    return out


def _section_flows(
    zones: pd.DataFrame, flows: pd.DataFrame, *, focus: str, focus_name: str | None = None
) -> list[str]:
    out = [f'<section id="flows"><h2>{_heading("flows")}</h2>']
    if not len(_used(flows)):
        out.append("<p>No flows.</p></section>")
        return out
    by = flows_by_boundary(flows, zones)
    out.append(
        "<p>Volume of each flow type by the highest boundary its flows cross "
        "(<i>none</i> = within one zone).</p>"
    )
    out.append(
        _table(
            by,
            numeric=["total", *_LEVELS, "share_crossing_county"],
            formats={"share_crossing_county": ".1%"},
        )
    )
    if "county_code" in zones.columns:
        units = flows_by_unit(flows, zones, level="county")
        names = _unit_names(zones, "county")
        names.setdefault(focus, focus_name or "focus unit (split into townships)")
        units.insert(1, "name", units["unit"].map(names).fillna(""))
        out.append("<h3>Per county-level unit: out, in and within</h3>")
        out.append(_table(units, numeric=["out", "in", "within", "net_in"]))
    out.append("</section>")
    return out


def _unit_names(zones: pd.DataFrame, level: str) -> dict[str, str]:
    col = f"{level}_code"
    out: dict[str, str] = dict(admin_names())  # prefectures and provinces no zone names
    for i, row in zones.iterrows():
        if str(i) == str(row[col]) or str(row.get("level", "")) == level:
            name = str(row.get("name", ""))
            en = str(row.get("name_en", ""))
            out[str(row[col])] = f"{name} {en}".strip()
    return out


def _section_indicators(assessed: Mapping[str, pd.DataFrame]) -> list[str]:
    out = [f'<section id="indicators"><h2>{_heading("indicators")}</h2>']
    ind = assessed.get("indicators")
    if ind is None or ind.empty:
        out.append("<p>No indicators.</p></section>")
        return out
    district = ind[ind["scope"] == "district"]
    table = district.pivot_table(
        index="indicator", columns="strategy", values="value", aggfunc="first", sort=False
    )
    strategies = list(dict.fromkeys(district["strategy"]))
    table = table[strategies]
    codes = _strategy_codes(strategies)
    out.append(
        '<p class="note">Values of every strategy (columns: '
        + "; ".join(f"<b>{_esc(codes[s])}</b> {_esc(s)}" for s in strategies)
        + "); green = better than the baseline in the indicator's direction, red = worse.</p>"
    )
    sdgs = district.drop_duplicates("indicator").set_index("indicator")["sdg"].astype(str)
    for sdg in sorted(set(sdgs), key=_sdg_key):
        names = [i for i in table.index if sdgs.get(i) == sdg]
        part = table.loc[names].reset_index()
        classes = {}
        values = table.loc[names].astype(float)
        for s in strategies[1:]:
            cls = []
            for name in names:
                d = INDICATORS[name].direction if name in INDICATORS else "max"
                base_value = float(values.loc[name, "baseline"])  # type: ignore[arg-type]
                diff = float(values.loc[name, s]) - base_value  # type: ignore[arg-type]
                tol = 1e-9 * max(1.0, abs(base_value))
                if abs(diff) <= tol or not np.isfinite(diff):
                    cls.append("")
                else:
                    cls.append("better" if (diff > 0) == (d == "max") else "worse")
            classes[s] = pd.Series(cls)
        units = [INDICATORS[n].unit if n in INDICATORS else "" for n in names]
        part.insert(1, "unit", units)
        part = part.rename(columns=codes)
        classes = {codes[k]: v for k, v in classes.items()}
        out.append(f"<h3>{_esc(_SDG_TITLES.get(sdg, 'SDG ' + sdg))}</h3>")
        out.append(_table(part, numeric=list(codes.values()), cell_class=classes))
    out.append("</section>")
    return out


def _sdg_key(sdg: str) -> tuple[int, str]:
    head = sdg.split(".", maxsplit=1)[0]
    return (int(head) if head.isdigit() else 99, sdg)


def _strategy_codes(strategies: list[str]) -> dict[str, str]:
    """Short column labels: ``base``, ``S1``, ``S2`` ... in the scenario's order."""
    out, n = {}, 0
    for s in strategies:
        if s == "baseline":
            out[s] = "base"
        else:
            n += 1
            out[s] = f"S{n}"
    return out


def _normalisation_note(assessed: Mapping[str, pd.DataFrame], scenario: Scenario) -> list[str]:
    """Which normalisation the scores use and, for ``"interval"``, the reference values."""
    spec = scenario.scoring
    if spec is None:
        return []
    if spec.normalisation == "minmax":
        return [
            "<p>Normalisation: <b>min–max</b> over the strategies compared (0 = the worst "
            "strategy, 1 = the best on each indicator). The size of an effect counts only "
            "relative to the other strategies.</p>"
        ]
    out = [
        "<p>Normalisation: <b>interval</b> against fixed reference values (0 = worst, 1 = "
        "best reference, not clipped), so a strategy's score grows with the size of its own "
        "effects. References not set in <code>[scoring.references]</code> are the baseline "
        f"± {100 * spec.reference_band:g} % (docs/scoring.md).</p>"
    ]
    indicators = assessed.get("indicators")
    if indicators is None or indicators.empty:
        return out
    table = performance_table(indicators)
    directions = {c: INDICATORS[c].direction for c in table.columns if c in INDICATORS}
    table = table[list(directions)]
    refs = default_references(
        table,
        directions,
        band=spec.reference_band,
        references={k: v for k, v in spec.reference_map.items() if k in table.columns},
    )
    if "baseline" in table.index:
        base_row = table.loc["baseline"].astype(float)
        refs.insert(0, "baseline", [float(base_row[c]) for c in refs.index])
    refs = refs.reset_index()
    out.append(
        _table(
            refs,
            numeric=[c for c in ("baseline", "worst", "best") if c in refs.columns],
            formats=dict.fromkeys(("baseline", "worst", "best"), ",.4g"),
        )
    )
    return out


def _section_ranking(assessed: Mapping[str, pd.DataFrame], scenario: Scenario) -> list[str]:
    out = [f'<section id="ranking"><h2>{_heading("ranking")}</h2>']
    scores = assessed.get("scores")
    robust = assessed.get("robustness")
    if scores is None or scores.empty:
        out.append("<p>The scenario has no scoring section.</p></section>")
        return out
    out += _normalisation_note(assessed, scenario)
    for method in list(dict.fromkeys(scores["method"])):
        part = scores[scores["method"] == method]
        ranks = part.pivot_table(
            index="strategy", columns="group", values="rank", aggfunc="first", sort=False
        )
        if "pooled" in ranks.columns:
            ranks = ranks.sort_values("pooled", kind="stable")
        out.append(f"<h3>Rank per stakeholder group ({_esc(method.replace('_', ' '))})</h3>")
        out.append(
            _table(
                ranks.reset_index(),
                numeric=list(ranks.columns),
                formats=dict.fromkeys([str(c) for c in ranks.columns], ".0f"),
            )
        )
    if robust is not None and not robust.empty:
        chart = first_rank_chart(robust)
        if chart:
            out.append(
                f"<figure>{chart}<figcaption>Probability of ranking first (SMAA-2, weighted "
                "sum) with uniform random weights and with each group's weights "
                "perturbed.</figcaption></figure>"
            )
        chart = acceptability_chart(robust, weights="uniform")
        if chart:
            out.append(
                f"<figure>{chart}<figcaption>Rank acceptability with uniform random weights: "
                "the share of weight samples that put a strategy at each rank.</figcaption>"
                "</figure>"
            )
    out.append("</section>")
    return out


def _section_guidelines(assessed: Mapping[str, pd.DataFrame]) -> list[str]:
    out = [f'<section id="guidelines"><h2>{_heading("guidelines")}</h2>']
    g = assessed.get("guidelines")
    if g is None or g.empty:
        out.append("<p>No strategies, so no guidelines.</p></section>")
        return out
    for level in ("province", "prefecture", "county", "township"):
        part = g[g["level"] == level]
        if part.empty:
            continue
        part = part.sort_values(["strategy", "unit"], kind="stable")
        if "unit_name" in part.columns:
            label = (
                part["unit_name"].fillna("").astype(str) + " (" + part["unit"].astype(str) + ")"
            )
            part = part.assign(unit=label.str.strip())
        cols = [c for c in ("strategy", "unit", "role", "action", "gains", "costs") if c in part]
        out.append(f"<h3>{_esc(level.capitalize())} level ({len(part)} rows)</h3>")
        out.append(_table(part[cols]))
    out.append("</section>")
    return out


# ---------------------------------------------------------------------------------------------
# Uncertain inputs (#16): drawn only when the run has an [uncertainty] section


def uncertainty_chart(ranks: pd.DataFrame, *, weights: str = "pooled") -> str:
    """Bars of P(rank 1) per strategy with weights, inputs and both uncertain, as SVG.

    Parameters
    ----------
    ranks
        The ``uncertainty_ranks`` table; its rank-1 rows of the first method are drawn.
    weights
        Which weight set (``pooled``, a group or ``uniform``).

    Returns
    -------
    str
        An ``<svg>`` element (empty string when there is nothing to draw).
    """
    r = ranks[(ranks["weights"] == weights) & (ranks["rank"] == 1)]
    if r.empty:
        return ""
    r = r[r["method"] == r["method"].iloc[0]]
    table = r.pivot_table(
        index="strategy", columns="uncertainty", values="acceptability", sort=False
    ).fillna(0.0)
    modes = [m for m in ("weights", "inputs", "joint") if m in table.columns]
    labels = {"weights": "weights only", "inputs": "inputs only", "joint": "both"}
    table = table.loc[table.max(axis=1) > 0, modes].iloc[::-1]
    with mpl.rc_context({"svg.hashsalt": "urlink", "font.size": 8}):
        fig, ax = _figure(7.0, 0.35 * len(table) + 1.0)
        y = np.arange(len(table))
        height = 0.8 / max(len(modes), 1)
        colours = {"weights": "#9ecae1", "inputs": "#fdae6b", "joint": "#31a354"}
        for k, mode in enumerate(modes):
            ax.barh(
                y + (k - (len(modes) - 1) / 2) * height,
                table[mode].to_numpy(),
                height=height,
                color=colours[mode],
                label=labels[mode],
            )
        ax.set_yticks(y, [str(s) for s in table.index])
        ax.set_xlim(0, 1)
        ax.set_xlabel(f"P(rank 1), {weights} weights")
        ax.legend(
            fontsize=7, frameon=False, ncols=3, loc="lower center", bbox_to_anchor=(0.5, 1.0)
        )
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        return _svg(fig)


def sensitivity_chart(
    sensitivity: pd.DataFrame, strategy: str, *, weights: str = "pooled", top: int = 10
) -> str:
    """Bars of the first-order indices of a strategy's share of first ranks, as SVG.

    Parameters
    ----------
    sensitivity
        The ``sensitivity`` table (``weights``, ``output``, ``strategy``, ``input``, ``S1``,
        ``S1_conf``).
    strategy
        The strategy whose ``first`` output is drawn (its ``score`` if that does not vary).
    weights
        The weight set (a group, ``pooled`` or ``uniform``).
    top
        Most influential inputs drawn.

    Returns
    -------
    str
        An ``<svg>`` element (empty string when there is nothing to draw).
    """
    s = sensitivity[sensitivity["strategy"] == strategy]
    if "weights" in s.columns:
        s = s[s["weights"] == weights]
    output = "first"
    if s[s["output"] == output]["S1"].abs().sum() == 0:
        output = "score"
    s = s[s["output"] == output].sort_values("S1", ascending=False).head(top).iloc[::-1]
    if s.empty or s["S1"].abs().sum() == 0:
        return ""
    with mpl.rc_context({"svg.hashsalt": "urlink", "font.size": 8}):
        fig, ax = _figure(7.0, 0.3 * len(s) + 1.0)
        ax.barh(
            s["input"].astype(str),
            s["S1"].clip(lower=0).to_numpy(),
            xerr=s["S1_conf"].to_numpy(),
            color="#756bb1",
            error_kw={"elinewidth": 0.6, "capsize": 2},
        )
        what = "share of first ranks" if output == "first" else "score"
        ax.set_xlabel(f"first-order index S1 of {strategy}'s {what} (RBD-FAST, 95 % interval)")
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        return _svg(fig)


MIN_SAMPLES_DRIVERS = 256
"""Input samples from which the report lists each group's deciding inputs (fewer: too rough;
with 32 samples and 32 inputs the first-order indices of one output sum to about 2)."""


def sensitivity_drivers(
    sensitivity: pd.DataFrame, leaders: Mapping[str, str], *, top: int = 3
) -> pd.DataFrame:
    """List the inputs that most decide whether each group's likely leader ranks first.

    Parameters
    ----------
    sensitivity
        The ``sensitivity`` table (``weights``, ``output``, ``strategy``, ``input``, ``S1``,
        ``S1_conf``).
    leaders
        Weight set -> the strategy most often first for it (joint uncertainty).
    top
        Inputs listed per weight set (those with ``S1`` above its 95 % half-width, at most).

    Returns
    -------
    pandas.DataFrame
        ``weights``, ``strategy``, ``output`` (``first``, or ``score`` when the leader is
        first in every draw or none), ``inputs`` (``name (S1 ± half-width)``, most
        influential first; empty when no input stands out) and ``explained`` (the sum of
        the first-order indices: well below 1 means the inputs act together).

    Examples
    --------
    >>> s = pd.DataFrame({"weights": "g", "output": "first", "strategy": "bus",
    ...                   "input": ["beta", "rate"], "S1": [0.5, 0.01], "S1_conf": [0.1, 0.05]})
    >>> sensitivity_drivers(s, {"g": "bus"})["inputs"].tolist()
    ['beta (0.50 ± 0.10)']
    """
    rows = []
    for label, strategy in leaders.items():
        s = sensitivity[(sensitivity["weights"] == label) & (sensitivity["strategy"] == strategy)]
        output = "first"
        if s.loc[s["output"] == output, "S1"].abs().sum() == 0:
            output = "score"
        s = s[s["output"] == output].sort_values("S1", ascending=False)
        if s.empty:
            continue
        shown = s[s["S1"] > s["S1_conf"]].head(top)
        text = "; ".join(
            f"{name} ({v:.2f} ± {c:.2f})"
            for name, v, c in zip(shown["input"], shown["S1"], shown["S1_conf"], strict=True)
        )
        explained = float(s["S1"].clip(lower=0).sum())
        rows.append((label, strategy, output, text, explained))
    return pd.DataFrame(rows, columns=["weights", "strategy", "output", "inputs", "explained"])


def _section_uncertainty(assessed: Mapping[str, pd.DataFrame]) -> list[str]:
    ranks = assessed.get("uncertainty_ranks")
    samples = assessed.get("uncertainty")
    if ranks is None or ranks.empty or samples is None:
        return []
    inputs = assessed.get("uncertainty_inputs", pd.DataFrame())
    n = int(samples["sample"].nunique())
    out = [
        f'<section id="uncertainty"><h2>{_heading("uncertainty")}</h2>',
        f"<p>{n} input samples of {len(inputs)} uncertain inputs; each sample re-evaluates "
        "the baseline and every strategy, which are then ranked with each group's weights "
        "(<em>inputs only</em>), with perturbed weights on the scenario's inputs (<em>weights "
        "only</em>, SMAA-2 as in section 5) and with both in the same draws (<em>both</em>). "
        "Regret is how far a strategy's score falls short of the best strategy's in the "
        "same draw (docs/uncertainty.md).</p>",
    ]
    if not inputs.empty:
        out.append(
            "<details><summary>The uncertain inputs</summary>"
            + _table(inputs, numeric=["base"], wrap=["source"])
            + "</details>"
        )
    chart = uncertainty_chart(ranks)
    if chart:
        out.append(
            f"<figure>{chart}<figcaption>Probability of ranking first with the pooled "
            "weights: weights uncertain, inputs uncertain, and both.</figcaption></figure>"
        )
    first = ranks[(ranks["rank"] == 1) & (ranks["method"] == ranks["method"].iloc[0])]
    joint = first[first["uncertainty"] == "joint"]
    table = joint.pivot_table(
        index="strategy", columns="weights", values="acceptability", sort=False
    )
    regret = joint.pivot_table(index="strategy", values="mean_regret", columns="weights")
    if "pooled" in regret.columns:
        table["mean regret (pooled)"] = regret["pooled"]
    out.append("<h3>P(rank 1) with weights and inputs uncertain, per group</h3>")
    out.append(
        _table(
            table.reset_index(),
            numeric=list(table.columns),
            formats=dict.fromkeys([str(c) for c in table.columns], ".2f"),
        )
    )
    sensitivity = assessed.get("sensitivity")
    if sensitivity is not None and not sensitivity.empty and "pooled" in table.columns:
        leader = str(table["pooled"].idxmax())
        chart = sensitivity_chart(sensitivity, leader)
        if chart:
            rough = (
                f" With {n} samples the indices are rough (wide intervals); use 256 or more."
                if n < 256
                else ""
            )
            out.append(
                f"<figure>{chart}<figcaption>Which inputs decide whether {_esc(leader)} ranks "
                "first (pooled weights): the share of the variance explained by each input "
                f"alone (RBD-FAST first-order indices).{rough}</figcaption></figure>"
            )
        if "weights" in sensitivity.columns and n >= MIN_SAMPLES_DRIVERS:
            labels = set(ranks["weights"].astype(str))
            leaders = {str(c): str(table[c].idxmax()) for c in table.columns if str(c) in labels}
            drivers = sensitivity_drivers(sensitivity, leaders)
            if not drivers.empty:
                drivers = drivers.rename(
                    columns={
                        "weights": "weights",
                        "strategy": "most often first",
                        "output": "of its",
                        "inputs": "inputs that decide it (S1 ± 95 %)",
                        "explained": "sum of S1",
                    }
                )
                drivers["of its"] = drivers["of its"].map(
                    {"first": "share of first ranks", "score": "score"}
                )
                out.append("<h3>What decides it, per group</h3>")
                out.append(
                    _table(
                        drivers,
                        numeric=["sum of S1"],
                        formats={"sum of S1": ".2f"},
                        wrap=["inputs that decide it (S1 ± 95 %)"],
                    )
                )
                out.append(
                    "<p>Inputs listed when their index exceeds its 95 % half-width. A sum of "
                    "the indices well below 1 means the inputs act together: read the PRIM "
                    "conditions below.</p>"
                )
    conditions = assessed.get("conditions")
    if conditions is not None and not conditions.empty:
        out.append("<h3>When does each strategy rank first? (PRIM)</h3><ul>")
        out += [f"<li>{_esc(text)}</li>" for text in conditions["statement"]]
        out.append("</ul>")
    out.append("</section>")
    return out
