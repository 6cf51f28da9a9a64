"""Workshop maps (folium): zones by typology, administrative boundaries, flows by type.

:func:`map_linkages` draws the linkage graph for a workshop room. It opens on the focus
area (the study area's zones fill the view), labels every zone that fits at the current
zoom without overlaps (the focus area's zones first, then the neighbouring units), and
draws one toggleable layer per flow type in a colour-blind-safe palette (Okabe-Ito) that
no zone fill uses: zones are filled by typology in muted greys. Flows are curved lines that
bend to the right of their direction of travel and end in an arrowhead; their width is
scaled within what is visible (the largest flow in view is drawn 12 px wide) and a key
gives widths with units. Clicking a zone shows only its incoming and outgoing flows (its
popup gives the totals by type); a slider hides flows below a minimum volume. Flow lines
are not interactive, so they never take a click meant for a zone. A title, a collapsible
layer panel, the credits of every data source and a light base layer (the outline of the
modelled area, main roads from OpenStreetMap where the run has them) complete the page;
with ``tiles=None`` it needs nothing from the internet (:func:`save_map` with
``offline=True`` inlines Leaflet).

To keep pages light, each flow type shows its ``max_flows`` largest flows; the rest are
summed per pair of administrative units (:func:`aggregate_flows`) and stay in
``flows.csv``.

All text that reaches the page is HTML-escaped here, because folium's GeoJSON tooltips and
popups insert property values as HTML: a zone called ``<img src=x onerror=alert(1)>``
shows as that text. ``folium.Tooltip``/``folium.Popup`` with user text are never used: they
paste the text into a JavaScript template string, where escaping HTML is not enough.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import math
import re
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, get_args

import folium
import numpy as np
import pandas as pd
import shapely
import shapely.ops
from branca.element import Element, MacroElement
from folium.utilities import JsCode
from jinja2 import Template

from urlink.errors import InputError, UrlinkError
from urlink.outputs.mapscript import MAP_CSS, MAP_JS

if TYPE_CHECKING:
    from collections.abc import Sequence

    import geopandas as gpd

__all__ = [
    "CHANGE_COLOURS",
    "FLOW_COLOURS",
    "TYPOLOGY_COLOURS",
    "ZONE_POPUP_VALUES",
    "Lang",
    "aggregate_flows",
    "curved_line",
    "focus_zones",
    "human_number",
    "indicator_name",
    "map_comparison",
    "map_linkages",
    "offline_html",
    "save_map",
]

Lang = Literal["zh", "en", "both"]

TYPOLOGY_COLOURS = {"urban": "#9a9a9a", "peri-urban": "#cdc4b1", "rural": "#f0ede3"}
"""Fill colour of each typology class: muted greys, a lightness ramp that no flow colour
uses (urban darkest)."""

FLOW_COLOURS = {
    "people": "#0072B2",
    "goods": "#D55E00",
    "capital": "#CC79A7",
    "ecosystem": "#009E73",
}
"""Line colour of each flow type (Okabe-Ito: blue, vermillion, reddish purple, bluish
green; distinguishable with the common colour-vision deficiencies)."""

CHANGE_COLOURS = ("#b35806", "#e08214", "#fdb863", "#f7f7f7", "#b2abd2", "#8073ac", "#542788")
"""Diverging scale of the comparison pages, large loss to large gain (ColorBrewer PuOr,
colour-blind safe): orange = loss, purple = gain, the middle = no change."""

_SLIDER_START = 12
"""Where the workshop map's minimum-volume slider starts: flows under (12 %)² = 1.44 % of the
largest visible flow of their type are hidden at first, which leaves the main pattern."""

_WIDTH_MIN, _WIDTH_MAX = 1.2, 12.0
"""Flow widths in px: the largest flow of the visible set is drawn ``_WIDTH_MAX`` wide."""

ZONE_POPUP_VALUES = (
    "time_to_urban_min",
    "time_to_centre_min",
    "time_to_hospital_min",
    "time_to_market_min",
    "co2_kg_per_day",
    "capital_net_yuan_per_year",
    "water_received_m3_per_day",
    "area_km2",
)
"""Zone columns shown in zone popups when present (a run adds its baseline indicators)."""

_TEXT = {
    "time_to_urban_min": {
        "zh": "到最近城市分区（分钟）",
        "en": "Minutes to the nearest urban zone",
    },
    "time_to_centre_min": {"zh": "到区中心（分钟）", "en": "Minutes to the district centre"},
    "time_to_hospital_min": {"zh": "到医院（分钟）", "en": "Minutes to a hospital"},
    "time_to_market_min": {"zh": "到市场（分钟）", "en": "Minutes to a market"},
    "co2_kg_per_day": {"zh": "交通CO2（千克/日）", "en": "Transport CO2 (kg/day)"},
    "capital_net_yuan_per_year": {"zh": "资金净流入（元/年）", "en": "Net capital (yuan/year)"},
    "water_received_m3_per_day": {"zh": "受水（立方米/日）", "en": "Water received (m³/day)"},
    "area_km2": {"zh": "面积（平方千米）", "en": "Area (km²)"},
    "time_saved_person_min_per_day": {
        "zh": "出行时间节省（人·分钟/日）",
        "en": "Travel time saved (person-min/day)",
    },
    "centre_access_gain_person_min": {
        "zh": "到区中心可达性提升（人·分钟）",
        "en": "Access to the centre gained (resident-min)",
    },
    "hospital_access_gain_person_min": {
        "zh": "到医院可达性提升（人·分钟）",
        "en": "Access to hospitals gained (resident-min)",
    },
    "market_access_gain_person_min": {
        "zh": "到市场可达性提升（人·分钟）",
        "en": "Access to markets gained (resident-min)",
    },
    "co2_reduction_kg_per_day": {"zh": "CO2减排（千克/日）", "en": "CO2 avoided (kg/day)"},
    "trip_credits_kg_per_day": {
        "zh": "碳普惠出行积分（千克/日）",
        "en": "Low-carbon trip credits (kg/day)",
    },
    "capital_paid_yuan_per_year": {
        "zh": "支出变化（元/年）",
        "en": "Change of money paid (yuan/year)",
    },
    "capital_received_yuan_per_year": {
        "zh": "收入变化（元/年）",
        "en": "Change of money received (yuan/year)",
    },
    "urban": {"zh": "城市", "en": "urban"},
    "peri-urban": {"zh": "城郊", "en": "peri-urban"},
    "rural": {"zh": "乡村", "en": "rural"},
    "people": {"zh": "人口流动", "en": "People"},
    "goods": {"zh": "货物流", "en": "Goods"},
    "capital": {"zh": "资金流", "en": "Capital"},
    "ecosystem": {"zh": "生态系统服务", "en": "Ecosystem services"},
    "zones": {"zh": "分区（类型）", "en": "Zones (typology)"},
    "seats": {"zh": "乡镇驻地", "en": "Township seats"},
    "township": {"zh": "乡镇界", "en": "Township boundaries"},
    "county": {"zh": "县级界", "en": "County boundaries"},
    "prefecture": {"zh": "地级界", "en": "Prefecture boundaries"},
    "population": {"zh": "人口", "en": "Population"},
    "typology": {"zh": "类型", "en": "Typology"},
    "reason": {"zh": "依据", "en": "Reason"},
    "volume": {"zh": "流量", "en": "Volume"},
    "model": {"zh": "模型", "en": "Model"},
    "source": {"zh": "来源", "en": "Source"},
    "crosses": {"zh": "跨越边界", "en": "Crosses"},
    "not_drawn": {"zh": "较小的流未显示", "en": "smaller flows not drawn"},
    "largest": {"zh": "条最大的流", "en": "largest"},
    "smaller": {"zh": "条较小的流", "en": "smaller flows"},
    "by_county": {"zh": "较小的流按县汇总", "en": "smaller flows summed by county"},
    "by_prefecture": {"zh": "较小的流按地级市汇总", "en": "smaller flows summed by prefecture"},
    "by_province": {"zh": "较小的流按省汇总", "en": "smaller flows summed by province"},
    "pairs_not_drawn": {
        "zh": "对较小的单位间汇总流未显示",
        "en": "smaller sums between units not drawn",
    },
    "within_unit": {
        "zh": "条单位内部的较小流未显示",
        "en": "smaller flows within one unit not drawn",
    },
    "aggregated_note": {
        "zh": "较小的流按行政单位汇总，线从单位人口加权中心出发",
        "en": "Smaller flows summed per pair of admin units, drawn between their "
        "population-weighted centres",
    },
    "voronoi": {
        "zh": "乡镇边界为泰森多边形近似",
        "en": "Township boundaries are Voronoi approximations",
    },
    "proxy": {"zh": "道路网络为近似网络（proxy）", "en": "Road network is a proxy, not OSM"},
    "legend": {"zh": "图例", "en": "Legend"},
    "baseline": {"zh": "现状", "en": "Baseline"},
    "with_strategy": {"zh": "实施策略后", "en": "With the strategy"},
    "change": {"zh": "变化", "en": "Change"},
    "gain": {"zh": "收益 / 流量增加", "en": "gain / more flow"},
    "loss": {"zh": "损失 / 流量减少", "en": "loss / less flow"},
    "no_change": {"zh": "无变化", "en": "no change"},
    "district_indicators": {"zh": "区级指标（现状 → 策略）", "en": "District indicators"},
    "direction": {
        "zh": "流线向行进方向右侧弯曲，箭头指向目的地；跨县为实线",
        "en": "Flows bend to the right and end in an arrow; solid = crosses a county boundary",
    },
    "flows_panel": {"zh": "流线", "en": "Flows"},
    "min_volume": {"zh": "最小流量", "en": "Minimum volume"},
    "at_least": {"zh": "仅显示 ≥", "en": "showing ≥"},
    "click_zone": {
        "zh": "点击分区：只显示其流入与流出",
        "en": "Click a zone to see only its incoming and outgoing flows",
    },
    "only": {"zh": "只显示", "en": "Only the flows of"},
    "click_out": {"zh": "（关闭弹窗显示全部）", "en": "(close the popup to see all)"},
    "layers": {"zh": "☰ 图层", "en": "☰ Layers"},
    "width_note": {
        "zh": "线宽按视野内最大的流缩放；箭头指向目的地",
        "en": "Widths scaled to the largest flow in view; arrows point to the destination",
    },
    "flows_out": {"zh": "流出", "en": "out"},
    "flows_in": {"zh": "流入", "en": "in"},
    "land": {"zh": "底图：模型范围", "en": "Base: modelled area"},
    "roads": {"zh": "底图：主要道路（OSM）", "en": "Base: main roads (OSM)"},
    "water": {"zh": "底图：水体（OSM）", "en": "Base: water (OSM)"},
    "neighbours": {"zh": "周边单位", "en": "Neighbouring units"},
    "labels": {"zh": "名称", "en": "Names"},
    "strategy_geometry": {"zh": "策略内容", "en": "The strategy"},
    "new_road": {"zh": "新建道路", "en": "New road"},
    "upgraded_road": {"zh": "道路升级", "en": "Upgraded road"},
    "bus_line": {"zh": "公交线路", "en": "Bus line"},
    "bus_stop": {"zh": "公交站", "en": "Bus stop"},
    "hub": {"zh": "市场/物流中心", "en": "Market hub"},
    "land_change": {"zh": "土地利用变化", "en": "Land-use change"},
    "relocation": {"zh": "服务设施迁移", "en": "Service moved"},
    "pick_strategy": {"zh": "策略", "en": "Strategy"},
    "find_zone": {"zh": "查找分区", "en": "Find a zone"},
    "show_map": {"zh": "显示", "en": "Show"},
    "magnitude": {"zh": "变化量", "en": "Size of the change"},
    "ranking": {"zh": "排序（综合）", "en": "Ranking (pooled)"},
    "with_inputs": {"zh": "含输入不确定性", "en": "with uncertain inputs"},
    "pop_within_30min_centre": {
        "zh": "30分钟内到达区中心的人口比例",
        "en": "Residents within 30 min of the centre",
    },
    "pop_within_60min_centre": {
        "zh": "60分钟内到达区中心的人口比例",
        "en": "Residents within 60 min of the centre",
    },
    "mean_time_to_hospital_min": {"zh": "到医院平均时间", "en": "Mean time to a hospital"},
    "mean_time_to_market_min": {"zh": "到市场平均时间", "en": "Mean time to a market"},
    "pop_within_45min_centre_bus": {
        "zh": "公交45分钟内到达区中心的人口比例",
        "en": "Residents within 45 min of the centre by bus",
    },
    "pt_coverage_share": {"zh": "公交覆盖人口比例", "en": "Residents served by public transport"},
    "access_ratio_rural_urban": {
        "zh": "乡村与城市可达性之比",
        "en": "Access ratio, rural to urban",
    },
    "access_gini": {"zh": "可达性基尼系数", "en": "Inequality of access (Gini)"},
    "cross_boundary_share_people": {
        "zh": "跨县出行比例",
        "en": "Person trips crossing a county boundary",
    },
    "cross_boundary_share_goods": {
        "zh": "跨县货运比例",
        "en": "Goods crossing a county boundary",
    },
    "co2_t_per_day": {"zh": "交通CO2排放", "en": "Transport CO2"},
    "co2_kg_per_person_day": {"zh": "人均交通CO2", "en": "Transport CO2 per resident"},
    "trip_credits_t_per_day": {"zh": "碳普惠出行积分", "en": "Low-carbon trip credits"},
    "es_used_outside_share": {
        "zh": "生态服务在源区外使用比例",
        "en": "Ecosystem services used outside their source",
    },
    "eco_comp_per_source_resident_yuan": {
        "zh": "源区居民人均生态补偿",
        "en": "Eco-compensation per source resident",
    },
    "cost_million_yuan": {"zh": "成本", "en": "Cost"},
    "cost_annualised_million_yuan": {"zh": "年化成本", "en": "Annualised cost"},
    "co2_saved_t_per_million_yuan": {
        "zh": "每百万元减排CO2",
        "en": "CO2 saved per million yuan",
    },
    "pop_30min_gain_per_million_yuan": {
        "zh": "每百万元新增30分钟可达人口",
        "en": "Residents newly within 30 min per million yuan",
    },
    "share": {"zh": "比例", "en": "share"},
    "unknown": {"zh": "未知", "en": "unknown"},
}


def _t(key: str, lang: Lang) -> str:
    entry = _TEXT.get(key, {"zh": key, "en": key})
    if lang == "both":
        return f"{entry['zh']} / {entry['en']}" if entry["zh"] != entry["en"] else entry["en"]
    return entry[lang]


def _esc(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _check_lang(lang: object) -> Lang:
    if lang not in get_args(Lang):
        msg = f"lang={lang!r} is not valid; use one of {get_args(Lang)}"
        raise InputError(msg)
    return lang  # type: ignore[return-value]


def indicator_name(indicator: str, lang: Lang) -> str:
    """Readable name of an indicator (or any code) in ``lang``; unknown codes get spaces.

    Parameters
    ----------
    indicator
        Indicator code, e.g. ``"pop_within_30min_centre"``.
    lang
        ``"zh"``, ``"en"`` or ``"both"``.

    Returns
    -------
    str
        Plain text (not escaped).

    Examples
    --------
    >>> indicator_name("mean_time_to_hospital_min", "en")
    'Mean time to a hospital'
    >>> indicator_name("my_plugin_indicator", "zh")
    'my plugin indicator'
    """
    if indicator in _TEXT:
        return _t(indicator, lang)
    return indicator.replace("_", " ")


def human_number(value: float, unit: str = "") -> str:
    """Format a number for people: thousands separators, no exponent, a sensible precision.

    Parameters
    ----------
    value
        The number (NaN gives ``"unknown"``).
    unit
        Appended after a space; ``share`` values are shown in per cent.

    Returns
    -------
    str

    Examples
    --------
    >>> human_number(92960.4, "persons/day")
    '92,960 persons/day'
    >>> [human_number(v) for v in (0.01234, 3.14159, 50.0)], human_number(0.4567, "share")
    (['0.0123', '3.14', '50'], '45.7 %')
    >>> human_number(float("nan"), "yuan")
    'unknown'
    """
    v = float(value)
    if not math.isfinite(v):
        return "unknown"
    if unit == "share":
        return f"{100 * v:,.1f} %"
    a = abs(v)
    if a >= 100:
        text = f"{v:,.0f}"
    elif a >= 10:
        text = f"{v:,.1f}".removesuffix(".0")
    elif a >= 1 or a == 0:
        text = f"{v:,.2f}".rstrip("0").rstrip(".")
    else:
        digits = max(2, 2 - math.floor(math.log10(a)))
        text = f"{v:.{min(digits, 8)}f}".rstrip("0").rstrip(".")
    return f"{text} {unit}".rstrip()


def focus_zones(zones: pd.DataFrame, focus: Sequence[str] | None = None) -> list[str]:
    """Ids of the zones the map opens on: ``focus`` if given, else the finest level's zones.

    Parameters
    ----------
    zones
        Zones indexed by id, optionally with ``level``.
    focus
        Zone ids of the study area (a run passes its focus unit's zones).

    Returns
    -------
    list of str
        Ids present in ``zones`` (all zones when none is left).

    Examples
    --------
    >>> z = pd.DataFrame({"level": ["township", "township", "county"]}, index=["a", "b", "C"])
    >>> focus_zones(z)
    ['a', 'b']
    """
    ids = [str(i) for i in zones.index]
    if focus is not None:
        wanted = {str(f) for f in focus}
        chosen = [i for i in ids if i in wanted]
        return chosen or ids
    if "level" in zones.columns:
        order = ["township", "county", "prefecture", "province"]
        levels = [lvl for lvl in order if lvl in set(zones["level"].astype(str))]
        if len(levels) > 1:
            finest = zones["level"].astype(str) == levels[0]
            return [str(i) for i in zones.index[finest.to_numpy()]]
    return ids


def curved_line(
    x0: float, y0: float, x1: float, y1: float, *, bend: float = 0.15, n: int = 12
) -> list[tuple[float, float]]:
    """Points of a quadratic curve from (x0, y0) to (x1, y1) bending to the right.

    Parameters
    ----------
    x0, y0, x1, y1
        End points (longitude, latitude).
    bend
        Offset of the control point, as a share of the length, to the right of the
        direction of travel.
    n
        Number of points.

    Returns
    -------
    list of tuple
        ``n`` points, first and last equal to the end points.

    Examples
    --------
    >>> pts = curved_line(0.0, 0.0, 1.0, 0.0)
    >>> pts[0], pts[-1]
    ((0.0, 0.0), (1.0, 0.0))
    >>> pts[6][1] < 0  # eastbound: bends south, to the right
    True
    """
    dx, dy = x1 - x0, y1 - y0
    cx, cy = (x0 + x1) / 2 + bend * dy, (y0 + y1) / 2 - bend * dx
    t = np.linspace(0.0, 1.0, n)
    xs = (1 - t) ** 2 * x0 + 2 * (1 - t) * t * cx + t**2 * x1
    ys = (1 - t) ** 2 * y0 + 2 * (1 - t) * t * cy + t**2 * y1
    pts = [(float(a), float(b)) for a, b in zip(xs, ys, strict=True)]
    pts[0], pts[-1] = (x0, y0), (x1, y1)
    return pts


def _arrow_curve(x0: float, y0: float, x1: float, y1: float, bend: float = 0.15) -> list[Any]:
    """Return a :func:`curved_line` that stops short of its end, where the arrowhead sits."""
    return curved_line(x0, y0, x1, y1, bend=bend, n=13)[:-1]


def _zone_name(row: pd.Series, lang: Lang) -> str:
    zh = str(row.get("name", row.name))
    en = row.get("name_en")
    en = zh if en is None or (isinstance(en, float) and math.isnan(en)) or not en else str(en)
    if lang == "zh" or zh == en:
        return zh if lang != "en" else en
    return en if lang == "en" else f"{zh} / {en}"


def _zone_popup(row: pd.Series, lang: Lang, totals: dict[str, tuple[float, float, str]]) -> str:
    lines = [f"<b>{_esc(_zone_name(row, lang))}</b> ({_esc(row.name)})"]
    if "population" in row:
        lines.append(
            f"{_esc(_t('population', lang))}: {float(row['population']):,.0f} "
            f"<i>({_esc(row.get('population_source', ''))})</i>"
        )
    if "typology" in row:
        lines.append(f"{_esc(_t('typology', lang))}: {_esc(_t(str(row['typology']), lang))}")
        lines.append(f"{_esc(_t('reason', lang))}: {_esc(row.get('typology_reason', ''))}")
    for ftype, (out, into, unit) in totals.items():
        lines.append(
            f"<b>{_esc(_t(ftype, lang))}</b>: {_esc(_t('flows_out', lang))} "
            f"{_esc(human_number(out))} &middot; {_esc(_t('flows_in', lang))} "
            f"{_esc(human_number(into, unit))}"
        )
    for col in ZONE_POPUP_VALUES:
        if col in row and pd.notna(row[col]):
            lines.append(f"{_esc(_t(col, lang))}: {float(row[col]):,.1f}")
    if "geometry_source" in row:
        lines.append(f"<i>{_esc(row['geometry_source'])}</i>")
    return "<br>".join(lines)


def _zone_totals(flows: pd.DataFrame) -> dict[str, dict[str, tuple[float, float, str]]]:
    """Per zone and flow type: (out, in, unit) of every flow between two zones."""
    out: dict[str, dict[str, tuple[float, float, str]]] = {}
    if flows.empty:
        return out
    f = flows.assign(
        origin=flows["origin"].astype(str), destination=flows["destination"].astype(str)
    )
    unit = f["unit"] if "unit" in f.columns else pd.Series("", index=f.index)
    f = f.assign(unit=unit.fillna("").astype(str))
    for ftype in ("people", "goods", "capital", "ecosystem"):
        part = f[f["flow_type"] == ftype]
        if part.empty:
            continue
        u = str(part["unit"].iloc[0])
        outs = part.groupby("origin")["volume"].sum()
        ins = part.groupby("destination")["volume"].sum()
        for zone in sorted(set(outs.index) | set(ins.index)):
            out.setdefault(zone, {})[ftype] = (
                float(outs.get(zone, 0.0)),
                float(ins.get(zone, 0.0)),
                u,
            )
    return out


class _Raw(Element):  # type: ignore[misc]
    """Text put into the page as it is (never compiled as a template)."""

    def __init__(self, text: str) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._text = text

    def render(self, **kwargs: Any) -> str:
        """Return the text."""
        return self._text


class _RawMacro(MacroElement):  # type: ignore[misc]
    """A MacroElement whose rendered parts go into the page without being compiled again.

    branca's :meth:`MacroElement.render` wraps each rendered part in ``Element(text)``,
    which compiles the text as a Jinja template: slow for large GeoJSON (about half of the
    map-writing time) and wrong for data that contains ``{{`` (Jinja would evaluate it).
    """

    def render(self, **kwargs: Any) -> str:
        """Render the header, html and script macros once, then the children."""
        figure = self.get_root()
        module = self._template.module.__dict__
        for part in ("header", "html", "script"):
            macro = module.get(part)
            if macro is not None:
                getattr(figure, part).add_child(
                    _Raw(str(macro(self, kwargs))), name=self.get_name()
                )
        for element in self._children.values():
            element.render(**kwargs)
        return ""  # like MacroElement's, the parts went into the figure


class _GeoJson(folium.GeoJson, _RawMacro):  # type: ignore[misc]
    """:class:`folium.GeoJson` rendered without compiling its data as a template."""


class _Box(_RawMacro):
    """A fixed HTML box on the page (legend, notes, title); the HTML is built escaped."""

    _template = Template("""
        {% macro html(this, kwargs) %}
        <div class="{{ this.css_class }}" style="position: fixed; {{ this.position }};">
        {{ this.html_body }}</div>
        {% endmacro %}
        """)

    def __init__(self, html_body: str, *, position: str, css_class: str = "urlink-box") -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._name = "UrlinkBox"
        self.html_body = html_body
        self.position = position
        self.css_class = css_class


class _MapScript(_RawMacro):
    """urlink's map script (:data:`urlink.outputs.mapscript.MAP_JS`) with its settings."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        (function () { var cfg = {{ this.config_json }};
        cfg.map = "{{ this._parent.get_name() }}";
        {{ this.code }}
        })();
        {% endmacro %}
        """)

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._name = "UrlinkMapScript"
        self.config_json = _json_for_script(config)
        self.code = MAP_JS


class _Labels(_RawMacro):
    """Text labels (``[lat, lon, escaped html]``) added to the parent layer as div icons."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        (function () {
          var group = {{ this._parent.get_name() }};
          {{ this.data_json }}.forEach(function (d) {
            L.marker([d[0], d[1]], {interactive: false, keyboard: false, icon: L.divIcon(
              {html: d[2], className: "urlink-icon", iconSize: [0, 0], iconAnchor: [0, 0]})
            }).addTo(group);
          });
        })();
        {% endmacro %}
        """)

    def __init__(self, labels: list[tuple[float, float, str]]) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._name = "UrlinkLabels"
        self.data_json = _json_for_script([[round(a, 6), round(b, 6), h] for a, b, h in labels])


def _json_for_script(value: Any) -> str:
    """JSON that is safe inside a ``<script>`` element."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True).replace("</", "<\\/")


def _add_css(m: Any) -> None:
    root = m.get_root()
    if not getattr(root, "_urlink_css", False):
        root.header.add_child(Element(f"<style>{MAP_CSS}</style>"), name="urlink_css")
        root._urlink_css = True


def _swatch(colour: str, *, line: bool = False) -> str:
    if line:
        return (
            f'<span style="display:inline-block;width:18px;height:4px;'
            f'background:{colour};vertical-align:middle"></span>'
        )
    return f'<span class="urlink-swatch" style="background:{colour}"></span>'


def _legend(
    lang: Lang, types: list[tuple[str, str]], ids: dict[str, str], names: dict[str, str]
) -> str:
    fills = " &nbsp;".join(
        f"{_swatch(colour)} {_esc(_t(cls, lang))}" for cls, colour in TYPOLOGY_COLOURS.items()
    )
    rows = [f"<details open><summary>{_esc(_t('legend', lang))}</summary>{fills}"]
    for ftype, unit in types:
        rows.append(
            f"{_swatch(FLOW_COLOURS.get(ftype, '#333'), line=True)} {_esc(_t(ftype, lang))} "
            f"({_esc(unit)})"
        )
    body = "<br>".join(rows)
    if types:
        body += "<br>" + _flow_controls(lang, ids, start=_SLIDER_START, names=names)
        body += (
            f"<details><summary>&#9432;</summary><i>{_esc(_t('width_note', lang))}<br>"
            f"{_esc(_t('direction', lang))}</i></details>"
        )
    return body + "</details>"


def _flow_controls(
    lang: Lang, ids: dict[str, str], *, start: int, names: dict[str, str] | None = None
) -> str:
    """Return the width key (filled by the script), the volume slider, the selection."""
    finder = ""
    if names:
        options = "".join(
            f'<option value="{_esc(i)}">{_esc(n)}</option>'
            for i, n in sorted(names.items(), key=lambda kv: kv[1])
        )
        finder = (
            f"<label>{_esc(_t('find_zone', lang))} "
            f'<select id="{ids["find"]}" class="urlink-find"><option value="">—</option>'
            f"{options}</select></label><br>"
        )
    return finder + (
        f'<div id="{ids["key"]}"></div>'
        f"<label>{_esc(_t('min_volume', lang))} "
        f'<input id="{ids["slider"]}" class="urlink-slider" type="range" min="0" '
        f'max="100" value="{start}" step="1"></label>'
        f'<div id="{ids["sel"]}" style="font-style:italic"></div>'
    )


def _dissolve_lines(zones: gpd.GeoDataFrame, col: str) -> list[Any]:
    out = []
    for _, group in zones.groupby(zones[col].astype(str)):
        geom = shapely.union_all(np.asarray(group.geometry.array))
        out.append(geom.boundary)
    return out


def _check_options(lang: object, max_flows: object) -> Lang:
    lang = _check_lang(lang)
    if not (isinstance(max_flows, int) and max_flows > 0):
        msg = f"max_flows={max_flows!r} must be a positive integer"
        raise InputError(msg)
    return lang


_GEOMETRY_CACHE: dict[bytes, dict[str, Any]] = {}
"""Geometry derived from the zones (simplified polygons, outlines, boundaries), keyed by a
digest of the zones' ids, codes and shapes: a run draws nine pages of the same zones. Only
pure functions of that content are stored, and at most four zone sets."""


def _derived(z: gpd.GeoDataFrame, what: str, make: Any) -> Any:
    """Return ``make()``, computed once per zone set (:data:`_GEOMETRY_CACHE`)."""
    codes = [c for c in z.columns if c.endswith("_code")]
    digest = hashlib.sha256()
    digest.update("|".join(map(str, z.index)).encode())
    for col in codes:
        digest.update(col.encode() + "|".join(map(str, z[col])).encode())
    digest.update(b"".join(shapely.to_wkb(np.asarray(z.geometry.array))))
    key = digest.digest()
    entry = _GEOMETRY_CACHE.setdefault(key, {})
    if len(_GEOMETRY_CACHE) > 4:
        _GEOMETRY_CACHE.pop(next(iter(_GEOMETRY_CACHE)))
    if what not in entry:
        entry[what] = make()
    return entry[what]


def _map_zones(zones: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    z = zones.to_crs("EPSG:4326")
    # about 30 m of detail is plenty for a workshop map and keeps the page light
    simple = _derived(z, "simplified", lambda: z.geometry.simplify(0.0003, preserve_topology=True))
    return z.set_geometry(simple.to_numpy(), crs=z.crs)


def _fit_focus(m: folium.Map, z: gpd.GeoDataFrame, focus: list[str]) -> None:
    inside = z[z.index.astype(str).isin(focus)]
    left, bottom, right, top = (inside if len(inside) else z).total_bounds
    m.fit_bounds([[bottom, left], [top, right]], padding=(12, 12))


def map_linkages(
    zones: gpd.GeoDataFrame,
    flows: pd.DataFrame,
    *,
    lang: Lang = "both",
    max_flows: int = 500,
    network_source: str = "unknown",
    aggregate_level: Literal["county", "prefecture", "province"] | None = "county",
    tiles: str | None = "OpenStreetMap",
    focus: Sequence[str] | None = None,
    title: str = "",
    credits: Sequence[str] = (),
    roads: gpd.GeoDataFrame | None = None,
    water: gpd.GeoDataFrame | None = None,
) -> folium.Map:
    """Draw zones, boundaries, labels and flows on an interactive map for a workshop.

    Parameters
    ----------
    zones
        Zones (any CRS) with ``name``, ``name_en``, ``typology`` and ``*_code`` columns.
    flows
        Flow table(s) (``origin``, ``destination``, ``flow_type``, ``volume`` ...) between
        zones; rows with ``use == "unused"`` and flows within one zone are not drawn.
    lang
        Language of labels, legend and popups: ``"zh"``, ``"en"`` or ``"both"``.
    max_flows
        Largest flows drawn one by one per flow type.
    network_source
        ``"proxy"`` adds a visible note that travel times come from a proxy network.
    aggregate_level
        The smaller flows of each type are summed per pair of units of this administrative
        level (:func:`aggregate_flows`) and drawn in one extra layer, hidden at first; with
        None they are only counted. This keeps a page with 100,000 flows light
        (``benchmarks/bench_map.py``).
    tiles
        Background tiles (OpenStreetMap, with its attribution) or None for none (offline).
    focus
        Zone ids of the study area: the map opens on them and labels them first (default:
        :func:`focus_zones`).
    title
        Shown at the top of the page.
    credits
        Attribution of every data source (plain text; escaped here), shown in the map's
        attribution line.
    roads
        Main roads to draw in the base layer (lines, any CRS), e.g. from OpenStreetMap.
    water
        Water bodies to draw in the base layer (polygons or lines, any CRS).

    Returns
    -------
    folium.Map
        The map.

    Raises
    ------
    InputError
        On an unknown language or a non-positive ``max_flows``.
    """
    lang = _check_options(lang, max_flows)
    if aggregate_level not in ("county", "prefecture", "province", None):
        msg = (
            f"aggregate_level={aggregate_level!r} is not valid; use 'county', 'prefecture', "
            "'province' or None"
        )
        raise InputError(msg)
    z = _map_zones(zones)
    focus_ids = focus_zones(z, focus)
    left, bottom, right, top = z.total_bounds
    m = folium.Map(
        location=[(bottom + top) / 2, (left + right) / 2],
        zoom_start=9,
        tiles=tiles,
        control_scale=True,
        zoom_snap=0.25,
    )
    _add_css(m)
    _fit_focus(m, z, focus_ids)
    _add_base(m, z, lang, roads=roads, water=water)
    drawable = _drawable(flows)
    zone_layer = _add_zones(m, z, lang, totals=_zone_totals(drawable))
    _add_boundaries(m, z, lang)
    _add_labels(m, z, lang, focus_ids)
    flow_layers = _add_flows(
        m, z, drawable, lang, max_flows=max_flows, aggregate_level=aggregate_level
    )
    types = []
    for ftype in ("people", "goods", "capital", "ecosystem"):
        part = drawable[drawable["flow_type"] == ftype]
        if len(part):
            unit = str(part["unit"].iloc[0]) if "unit" in part.columns else ""
            types.append((ftype, unit))
    notes = []
    if "geometry_source" in z.columns and (z["geometry_source"] == "voronoi-approximation").any():
        notes.append(_esc(_t("voronoi", lang)))
    if network_source == "proxy":
        notes.append(_esc(_t("proxy", lang)))
    if notes:
        m.add_child(
            _Box("<br>".join(f"⚠ {n}" for n in notes), position="bottom: 22px; right: 10px")
        )
    if title:
        m.add_child(_Box(_esc(title), position="", css_class="urlink-title"))
    ids = {k: f"urlink-{k}-{m.get_name()}" for k in ("key", "slider", "sel", "find")}
    names = {str(i): _zone_name(z.loc[i], lang) for i in z.index}
    m.add_child(_Box(_legend(lang, types, ids, names), position="bottom: 50px; left: 10px"))
    folium.LayerControl(collapsed=False).add_to(m)
    unit_col = f"{aggregate_level}_code" if aggregate_level else ""
    m.add_child(
        _MapScript(
            _script_config(
                lang,
                flow_layers=flow_layers,
                zone_layers=[zone_layer],
                types=[(t, u, FLOW_COLOURS[t], _t(t, lang)) for t, u in types],
                unit_of=(
                    {str(i): str(c) for i, c in z[unit_col].items() if pd.notna(c)}
                    if unit_col in z.columns
                    else {}
                ),
                names={str(i): _zone_name(z.loc[i], lang) for i in z.index},
                ids=ids,
                credits=credits,
            )
        )
    )
    return m


def _script_config(
    lang: Lang,
    *,
    flow_layers: list[tuple[folium.GeoJson, str, bool]],
    zone_layers: list[folium.GeoJson],
    types: list[tuple[str, str, str, str]],
    unit_of: dict[str, str],
    names: dict[str, str],
    ids: dict[str, str],
    credits: Sequence[str],
    effects: Sequence[str] = (),
) -> dict[str, Any]:
    """Return the settings of :data:`urlink.outputs.mapscript.MAP_JS` (texts escaped)."""
    return {
        "flowLayers": [g.get_name() for g, _, _ in flow_layers],
        "flowTypes": [t for _, t, _ in flow_layers],
        "flowAgg": [a for _, _, a in flow_layers],
        "zoneLayers": [g.get_name() for g in zone_layers],
        "types": [
            {"type": t, "unit": _esc(u), "name": _esc(name), "colour": colour}
            for t, u, colour, name in types
        ],
        "unitOf": unit_of,
        "effects": list(effects),
        "names": {k: _esc(v) for k, v in names.items()},
        "keyId": ids["key"],
        "sliderId": ids["slider"],
        "selId": ids["sel"],
        "findId": ids.get("find", ""),
        "wmin": _WIDTH_MIN,
        "wmax": _WIDTH_MAX,
        "arrows": True,
        "credits": [_esc(c) for c in credits],
        "text": {
            k: _esc(_t(v, lang))
            for k, v in (
                ("atLeast", "at_least"),
                ("clickZone", "click_zone"),
                ("only", "only"),
                ("clickOut", "click_out"),
                ("layers", "layers"),
            )
        },
    }


def _drawable(flows: pd.DataFrame) -> pd.DataFrame:
    if flows.empty:
        return flows
    out = flows[flows["origin"].astype(str) != flows["destination"].astype(str)]
    if "use" in out.columns:
        out = out[out["use"].fillna("used") != "unused"]
    return out


def _add_base(
    m: folium.Map,
    z: gpd.GeoDataFrame,
    lang: Lang,
    *,
    roads: gpd.GeoDataFrame | None,
    water: gpd.GeoDataFrame | None,
) -> None:
    """Draw the light base layer: the outline of the modelled area, main roads, water."""
    land = _derived(z, "land", lambda: shapely.union_all(np.asarray(z.geometry.buffer(0).array)))
    g = folium.FeatureGroup(name=_t("land", lang), show=True)
    _GeoJson(
        {"type": "Feature", "properties": {}, "geometry": shapely.geometry.mapping(land)},
        style={"color": "#6b8299", "weight": 1.2, "fillColor": "#fbfaf6", "fillOpacity": 1.0},
        interactive=False,
    ).add_to(g)
    g.add_to(m)
    for key, frame, style in (
        (
            "water",
            water,
            {"color": "#7fb2d9", "weight": 1, "fillColor": "#bcd9ee", "fillOpacity": 1},
        ),
        ("roads", roads, {"color": "#9a8f80", "weight": 1.4, "opacity": 0.8}),
    ):
        if frame is None or frame.empty:
            continue
        f = frame.to_crs("EPSG:4326")
        f = f.set_geometry(f.geometry.simplify(0.0002, preserve_topology=True))[["geometry"]]
        layer = folium.FeatureGroup(name=_t(key, lang), show=True)
        _GeoJson(f.to_json(drop_id=True), style=style, interactive=False).add_to(layer)
        layer.add_to(m)


def _add_zones(
    m: folium.Map | folium.FeatureGroup,
    z: gpd.GeoDataFrame,
    lang: Lang,
    *,
    totals: dict[str, dict[str, tuple[float, float, str]]] | None = None,
    effects: dict[str, tuple[pd.Series, pd.Series]] | None = None,
    name: str | None = None,
) -> folium.GeoJson:
    """Draw the zones once: fill by typology, popups; ``effects`` add a fill per effect.

    ``effects`` maps an effect's layer name to its values and colours per zone; the script
    switches the fill when that layer is chosen, and the popups list every effect.
    """
    totals = totals or {}
    effects = effects or {}
    typology = (
        z["typology"].astype(str) if "typology" in z.columns else pd.Series("rural", z.index)
    )
    fills = typology.map(TYPOLOGY_COLOURS).fillna("#cccccc")
    features = []
    for i, geom in zip(z.index, z.geometry, strict=True):
        row = z.loc[i]
        popup = _zone_popup(row, lang, totals.get(str(i), {}))
        extra = [
            f"{_esc(label)}: {_esc(_signed(float(values.get(i, 0.0))))}"
            for label, (values, _) in effects.items()
        ]
        if extra:
            popup += "<br>" + "<br>".join(extra)
        features.append(
            {
                "type": "Feature",
                "geometry": shapely.geometry.mapping(geom),
                "properties": {
                    "zone_id": str(i),
                    "fill": str(fills.loc[i]),
                    "fx": [str(colours.get(i, "#cccccc")) for _, colours in effects.values()],
                    "popup_html": popup,
                    "label": _esc(_zone_name(row, lang)),
                },
            }
        )
    layer = folium.FeatureGroup(name=name or _t("zones", lang), show=True)
    gj = _GeoJson(
        {"type": "FeatureCollection", "features": features},
        style=JsCode(_ZONE_STYLE_JS),
        tooltip=folium.GeoJsonTooltip(fields=["label"], labels=False),
        popup=folium.GeoJsonPopup(fields=["popup_html"], labels=False, max_width=440),
    )
    gj.add_to(layer)
    layer.add_to(m)
    return gj


def _signed(value: float) -> str:
    return ("+" if value > 0 else "") + human_number(value)


_ZONE_STYLE_JS = """function (feature) {
    return {fillColor: feature.properties.fill, color: "#666", weight: 0.6,
            fillOpacity: 0.65};
}"""


def _add_boundaries(m: folium.Map, z: gpd.GeoDataFrame, lang: Lang) -> None:
    for level, weight, dash in (
        ("township", 1.0, "2,3"),
        ("county", 2.5, None),
        ("prefecture", 4.0, None),
    ):
        col = f"{level}_code"
        if col not in z.columns:
            continue
        part = z[z[col].notna()]
        if part[col].nunique() < 2:  # one unit: its outline is the base layer
            continue
        lines = _derived(z, f"lines:{col}", lambda part=part, col=col: _dissolve_lines(part, col))
        g = folium.FeatureGroup(name=_t(level, lang), show=level != "township")
        _GeoJson(
            {
                "type": "FeatureCollection",
                "features": [
                    {"type": "Feature", "properties": {}, "geometry": shapely.geometry.mapping(x)}
                    for x in lines
                ],
            },
            style={"color": "#333", "weight": weight, "dashArray": dash, "fill": False},
            interactive=False,
        ).add_to(g)
        g.add_to(m)


def _label_point(geom: Any, seat: tuple[float, float], view: Any) -> tuple[float, float]:
    """Return the seat, or a point in the view for a unit whose seat is outside it."""
    if view is None or view.contains(shapely.Point(seat)):
        return seat
    part = geom.intersection(view) if geom is not None else None
    if part is None or part.is_empty or part.area < 0.02 * view.area:
        return seat
    if part.geom_type == "MultiPolygon":
        part = max(part.geoms, key=lambda g: g.area)
    at = shapely.ops.polylabel(part, tolerance=0.002) if part.geom_type == "Polygon" else part
    return (float(at.x), float(at.y)) if at.geom_type == "Point" else seat


def _add_labels(m: folium.Map, z: gpd.GeoDataFrame, lang: Lang, focus: list[str]) -> None:
    """One label per zone, ranked: focus zones first, then by population.

    Focus zones are labelled at their seats; a neighbouring unit whose seat lies outside
    the opening view is labelled inside the part of it that shows.
    """
    inside = set(focus)
    pop = z["population"].astype(float) if "population" in z.columns else pd.Series(0.0, z.index)
    order = sorted(z.index, key=lambda i: (str(i) not in inside, -float(pop.loc[i]), str(i)))
    own = z[z.index.astype(str).isin(inside)]
    view = None
    if len(own) and len(own) < len(z):
        left, bottom, right, top = own.total_bounds
        dx, dy = 0.12 * (right - left), 0.08 * (top - bottom)
        view = shapely.box(left - dx, bottom - dy, right + dx, top + dy)
    labels = []
    for rank, i in enumerate(order):
        row = z.loc[i]
        zh = _esc(row["name"])
        en_raw = row.get("name_en")
        en = _esc(en_raw) if isinstance(en_raw, str) and en_raw else zh
        text = {"zh": zh, "en": en, "both": zh if zh == en else f"{zh}<br>{en}"}[lang]
        township = str(row.get("level", "")) == "township"
        css = "urlink-label " + ("urlink-seat" if township else "urlink-unit")
        seat = (float(row["seat_lon"]), float(row["seat_lat"]))
        if str(i) in inside:
            css += " urlink-focus"
        else:
            seat = _label_point(row.geometry, seat, view)
        labels.append((seat[1], seat[0], f'<div class="{css}" data-rank="{rank}">{text}</div>'))
    seats = folium.FeatureGroup(name=_t("labels", lang), show=True)
    seats.add_child(_Labels(labels))
    seats.add_to(m)


_FLOW_STYLE_JS = """function (feature) {
    var p = feature.properties;
    return {color: p.c, weight: p.w, opacity: p.op, dashArray: p.d, lineCap: "butt"};
}"""
"""One style function in the page for all flows: folium's Python ``style_function`` would
write a ``switch`` case per feature (100,000 cases load in about a minute)."""


def _flow_feature(
    pts: list[tuple[float, float]],
    label: str,
    *,
    origin: str,
    destination: str,
    volume: float,
    ftype: str,
    colour: str,
    width: float,
    opacity: float,
    dash: str | None,
    aggregated: bool = False,
) -> dict[str, Any]:
    return {
        "type": "Feature",
        "geometry": {
            "type": "LineString",
            "coordinates": [[round(x, 5), round(y, 5)] for x, y in pts],
        },
        "properties": {
            "label": label,
            "o": origin,
            "dd": destination,
            "v": round(abs(volume), 6),
            "t": ftype,
            "agg": aggregated,
            "c": colour,
            "w": round(width, 2),
            "op": opacity,
            "d": dash,
        },
    }


def _flow_features(
    part: pd.DataFrame,
    seat: dict[str, tuple[float, float]],
    names: dict[str, str],
    ftype: str,
    colour: str,
) -> list[dict[str, Any]]:
    vmax = float(part["volume"].abs().max()) if len(part) else 1.0
    vmax = vmax if vmax > 0 else 1.0
    features = []
    for rec in part.to_dict("records"):
        o, d = str(rec["origin"]), str(rec["destination"])
        cross = str(rec.get("crosses", "")) in ("county", "prefecture", "province")
        volume = float(rec["volume"])
        features.append(
            _flow_feature(
                _arrow_curve(*seat[o], *seat[d]),
                f"{_esc(names.get(o, o))} → {_esc(names.get(d, d))}: "
                f"{_esc(human_number(volume, str(rec.get('unit', ''))))}",
                origin=o,
                destination=d,
                volume=volume,
                ftype=ftype,
                colour=colour,
                width=_WIDTH_MIN + (_WIDTH_MAX - _WIDTH_MIN) * math.sqrt(abs(volume) / vmax),
                opacity=0.8,
                dash=None if cross else "7,4",
            )
        )
    return features


def aggregate_flows(
    flows: pd.DataFrame, zones: pd.DataFrame, *, level: str = "county"
) -> pd.DataFrame:
    """Sum flows between the administrative units of one level.

    Flows whose two ends lie in the same unit are summed into one row per unit with
    ``origin == destination``.

    Parameters
    ----------
    flows
        Flow rows with ``origin``, ``destination``, ``volume`` (and optionally ``unit``).
    zones
        Zones indexed by zone id, with a ``<level>_code`` column.
    level
        Administrative level: ``"county"``, ``"prefecture"`` or ``"province"``.

    Returns
    -------
    pandas.DataFrame
        ``origin``, ``destination`` (unit codes), ``volume`` (sum), ``n_flows`` and
        ``unit``, largest first.

    Raises
    ------
    InputError
        If the zones have no ``<level>_code`` column.

    Examples
    --------
    >>> z = pd.DataFrame({"county_code": ["A", "A", "B"]}, index=["a1", "a2", "b1"])
    >>> f = pd.DataFrame({"origin": ["a1", "a2", "a1"], "destination": ["b1", "b1", "a2"],
    ...                   "volume": [2.0, 3.0, 1.0]})
    >>> aggregate_flows(f, z)[["origin", "destination", "volume", "n_flows"]]
      origin destination  volume  n_flows
    0      A           B     5.0        2
    1      A           A     1.0        1
    """
    col = f"{level}_code"
    if col not in zones.columns:
        msg = f"level={level!r}: the zones have no {col!r} column; use a level they carry"
        raise InputError(msg)
    code = zones[col].astype(str)
    code.index = code.index.astype(str)
    f = flows.assign(
        origin=flows["origin"].astype(str).map(code),
        destination=flows["destination"].astype(str).map(code),
    )
    unit = f["unit"] if "unit" in f.columns else pd.Series("", index=f.index)
    out = (
        f.assign(unit=unit.fillna(""))
        .groupby(["origin", "destination"], sort=False)
        .agg(volume=("volume", "sum"), n_flows=("volume", "size"), unit=("unit", "first"))
        .reset_index()
    )
    return out.sort_values(
        ["volume", "origin", "destination"], ascending=[False, True, True], ignore_index=True
    )


def _unit_points(z: gpd.GeoDataFrame, col: str) -> dict[str, tuple[float, float]]:
    """Population-weighted mean seat of every unit (where its aggregated flows start)."""
    w = z["population"].astype(float).clip(lower=0) if "population" in z.columns else None
    out = {}
    for code, group in z.groupby(z[col].astype(str)):
        weights = w.loc[group.index] if w is not None else pd.Series(1.0, index=group.index)
        if float(weights.sum()) <= 0:
            weights = pd.Series(1.0, index=group.index)
        out[str(code)] = (
            float(np.average(group["seat_lon"].astype(float), weights=weights)),
            float(np.average(group["seat_lat"].astype(float), weights=weights)),
        )
    return out


def _flow_layer(
    features: list[dict[str, Any]], name: str, *, show: bool
) -> tuple[folium.FeatureGroup, folium.GeoJson]:
    g = folium.FeatureGroup(name=name, show=show)
    gj = _GeoJson(
        {"type": "FeatureCollection", "features": features},
        style=JsCode(_FLOW_STYLE_JS),
        interactive=False,
    )
    gj.add_to(g)
    return g, gj


def _add_flows(
    m: folium.Map,
    z: gpd.GeoDataFrame,
    drawable: pd.DataFrame,
    lang: Lang,
    *,
    max_flows: int,
    aggregate_level: str | None,
) -> list[tuple[folium.GeoJson, str, bool]]:
    """Draw one layer per flow type (and its summed smaller flows); return the layers."""
    names = {str(i): _zone_name(z.loc[i], lang) for i in z.index}
    seat = {str(i): (float(z.loc[i, "seat_lon"]), float(z.loc[i, "seat_lat"])) for i in z.index}
    if drawable.empty:
        return []
    types = [
        t for t in ("people", "goods", "capital", "ecosystem") if t in set(drawable["flow_type"])
    ]
    col = f"{aggregate_level}_code" if aggregate_level else ""
    can_aggregate = bool(col) and col in z.columns and z[col].notna().all()
    layers: list[tuple[folium.GeoJson, str, bool]] = []
    for ftype in types:
        part = drawable[drawable["flow_type"] == ftype].sort_values(
            ["volume", "origin", "destination"], ascending=[False, True, True]
        )
        shown = part.head(max_flows)
        hidden = part.iloc[len(shown) :]
        colour = FLOW_COLOURS[ftype]
        label = _t(ftype, lang)
        if len(hidden):
            label += f" ({len(shown):,} {_t('largest', lang)})"
        group, gj = _flow_layer(
            _flow_features(shown, seat, names, ftype, colour), label, show=ftype == "people"
        )
        group.add_to(m)
        layers.append((gj, ftype, False))
        if not len(hidden):
            continue
        if can_aggregate:
            group, gj = _aggregated_layer(
                hidden, z, lang, ftype=ftype, level=str(aggregate_level), cap=max_flows
            )
            group.add_to(m)
            layers.append((gj, ftype, True))
        else:
            m.add_child(
                folium.FeatureGroup(
                    name=f"{_t(ftype, lang)} +{len(hidden):,} ({_t('not_drawn', lang)})",
                    show=False,
                )
            )
    return layers


def _aggregated_layer(
    hidden: pd.DataFrame, z: gpd.GeoDataFrame, lang: Lang, *, ftype: str, level: str, cap: int
) -> tuple[folium.FeatureGroup, folium.GeoJson]:
    col = f"{level}_code"
    agg = aggregate_flows(hidden, z, level=level)
    points = _unit_points(z, col)
    between = agg[agg["origin"] != agg["destination"]]
    within = agg[agg["origin"] == agg["destination"]]
    unit_names = _unit_names(z, col, lang)
    n_within = int(within["n_flows"].sum())
    note = _esc(_t("aggregated_note", lang))
    if n_within:
        note += f"<br>{n_within:,} {_esc(_t('within_unit', lang))}"
    # the sums are capped too: a province has hundreds of thousands of unit pairs
    n_pairs_hidden = max(len(between) - cap, 0)
    between = between.head(cap)
    if n_pairs_hidden:
        note += f"<br>{n_pairs_hidden:,} {_esc(_t('pairs_not_drawn', lang))}"
    features = []
    vmax = float(between["volume"].abs().max()) if len(between) else 1.0
    for rec in between.to_dict("records"):
        o, d = str(rec["origin"]), str(rec["destination"])
        text = (
            f"{_esc(unit_names.get(o, o))} → {_esc(unit_names.get(d, d))}: "
            f"{_esc(human_number(float(rec['volume']), str(rec['unit'])))} "
            f"({int(rec['n_flows']):,} {_esc(_t('smaller', lang))})"
        )
        feature = _flow_feature(
            curved_line(*points[o], *points[d], bend=0.2),
            text,
            origin=o,
            destination=d,
            volume=float(rec["volume"]),
            ftype=ftype,
            colour=FLOW_COLOURS[ftype],
            width=1.0 + 9.0 * math.sqrt(abs(float(rec["volume"])) / (vmax or 1.0)),
            opacity=0.35,
            dash="2,6",
            aggregated=True,
        )
        feature["properties"]["note"] = note
        features.append(feature)
    name = f"{_t(ftype, lang)} +{len(hidden):,} ({_t('by_' + level, lang)})"
    return _flow_layer(features, name, show=False)


def _unit_names(z: gpd.GeoDataFrame, col: str, lang: Lang) -> dict[str, str]:
    """Readable names of admin units: the zone's own name where a zone is the unit."""
    out: dict[str, str] = {}
    name_col = "name_en" if lang == "en" and "name_en" in z.columns else "name"
    for i, row in z.iterrows():
        code = str(row[col])
        if str(i) == code or str(row.get("level", "")) == col.removesuffix("_code"):
            out[code] = str(row[name_col])
    return out


# ---------------------------------------------------------------------------------------------
# Offline pages: every script and stylesheet inlined from installed packages

_LEAFLET_PACKAGE = ("js_lib_leaflet", "static/js_lib_leaflet")
"""Leaflet's files come from the ``django-js-lib-leaflet`` package (Leaflet 1.9.4, BSD-2;
the package has no dependencies and does not need Django to be read)."""

_SYNC_SHIM_JS = r"""
(function () {
  if (!window.L || L.Map.prototype.sync) { return; }
  L.Map.include({
    sync: function (other) {
      var self = this;
      (this._syncTargets = this._syncTargets || []).push(other);
      if (!this._syncOn) {
        this._syncOn = true;
        this.on('move zoomend', function () {
          if (self._syncBusy) { return; }
          var c = self.getCenter(), z = self.getZoom();
          self._syncTargets.forEach(function (t) {
            t._syncBusy = true;
            try { t.setView(c, z, {animate: false}); } finally { t._syncBusy = false; }
          });
        });
      }
      return this;
    }
  });
})();
"""
"""urlink's own stand-in for Leaflet.Sync (not on PyPI): enough for folium's DualMap,
which only calls ``m1.sync(m2)`` and ``m2.sync(m1)``."""


def _leaflet_dir() -> Any:

    pkg, sub = _LEAFLET_PACKAGE
    try:
        folder = files(pkg).joinpath(sub)
    except ModuleNotFoundError:
        msg = "offline maps need the 'django-js-lib-leaflet' package: pip install it"
        raise InputError(msg) from None
    return folder


def _leaflet_css() -> str:

    folder = _leaflet_dir()
    css = str(folder.joinpath("leaflet.css").read_text(encoding="utf-8"))

    def embed(match: re.Match[str]) -> str:
        data = folder.joinpath("images", match.group(1)).read_bytes()
        return "url(data:image/png;base64," + base64.b64encode(data).decode("ascii") + ")"

    return re.sub(r"url\(\s*['\"]?images/([\w.-]+\.png)['\"]?\s*\)", embed, css)


def _leaflet_js() -> str:

    js = str(_leaflet_dir().joinpath("leaflet.js").read_text(encoding="utf-8"))
    return re.sub(r"//# sourceMappingURL=\S+\s*$", "", js)


def offline_html(page: str) -> str:
    """Make a folium page self-contained: inline Leaflet, drop the other CDN assets.

    Leaflet's script and stylesheet (with its images as data URIs) are read from the
    installed ``django-js-lib-leaflet`` package; the Leaflet.Sync script of folium's DualMap
    is replaced by :data:`_SYNC_SHIM_JS`; jQuery, Bootstrap, Font Awesome and the
    awesome-markers plugin, which urlink's maps do not use, are dropped. Any other external
    script or stylesheet is an error (the page would not work offline).

    Parameters
    ----------
    page
        HTML rendered by folium (``m.get_root().render()``).

    Returns
    -------
    str
        The self-contained page.

    Raises
    ------
    UrlinkError
        If the page references an asset with no offline copy.
    """
    rules: list[tuple[re.Pattern[str], tuple[str, Any] | None]] = [
        (re.compile(r"/leaflet(@[\d.]+)?/dist/leaflet\.js$"), ("js", _leaflet_js)),
        (re.compile(r"/leaflet(@[\d.]+)?/dist/leaflet\.css$"), ("css", _leaflet_css)),
        (re.compile(r"L\.Map\.Sync(\.min)?\.js$"), ("js", lambda: _SYNC_SHIM_JS)),
        (re.compile(r"jquery[\w.-]*\.js$"), None),
        (re.compile(r"bootstrap[\w.@/-]*\.(js|css)$"), None),
        (re.compile(r"bootstrap-glyphicons\.css$"), None),
        (re.compile(r"fontawesome-free[\w.@/-]*\.css$"), None),
        (re.compile(r"leaflet\.awesome[\w.-]*\.(js|css)$"), None),
    ]
    tag_re = re.compile(
        r"""<script\s+src="(?P<js>[^"]+)"\s*>\s*</script>"""
        r"""|<link\s+rel="stylesheet"\s+href="(?P<css>[^"]+)"\s*/?>""",
        re.I,
    )
    css_blocks: list[str] = []
    js_blocks: list[str] = []
    first: list[int] = []

    def replace(match: re.Match[str]) -> str:
        url = match.group("js") or match.group("css")
        matches = [action for pattern, action in rules if pattern.search(url)]
        if not matches:
            msg = f"no offline copy of the external asset {url!r}"
            raise UrlinkError(msg)
        action = matches[0]
        if action is not None:
            kind, content = action
            body = str(content())
            if kind == "js":
                js_blocks.append("<script>" + body.replace("</script", "<\\/script") + "</script>")
            else:
                css_blocks.append("<style>" + body.replace("</style", "") + "</style>")
        if not first:
            first.append(match.start())
            return "<!--urlink-offline-assets-->"
        return ""

    out = tag_re.sub(replace, page)
    # Leaflet first, then the shim (it extends L)
    js_blocks.sort(key=lambda b: 0 if "Leaflet" in b[:2000] else 1)
    out = out.replace("<!--urlink-offline-assets-->", "\n".join(css_blocks + js_blocks), 1)
    leftover = re.findall(
        r"""<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)\s*=\s*["']?"""
        r"""(?:https?:)?//""",
        out,
        re.I,
    )
    if leftover:
        msg = f"the offline page still references external files: {leftover[:3]}"
        raise UrlinkError(msg)
    return out


def save_map(m: folium.Map | Any, path: Any, *, offline: bool = False) -> None:
    """Write a map to an HTML file, self-contained when ``offline`` is true.

    Parameters
    ----------
    m
        A folium Map, DualMap or Figure.
    path
        Target file.
    offline
        Inline every script and stylesheet (:func:`offline_html`).
    """
    page = m.get_root().render()
    if offline:
        page = offline_html(page)
    Path(path).write_text(page, encoding="utf-8")


# ---------------------------------------------------------------------------------------------
# Strategy comparison


def _change_class(value: float, vmax: float) -> int:
    """Index into :data:`CHANGE_COLOURS`: 3 = no change, 4-6 gains, 2-0 losses by size."""
    if abs(value) <= 1e-12 or vmax <= 0:
        return 3
    step = min(int(3 * abs(value) / vmax - 1e-9), 2)
    return 4 + step if value > 0 else 2 - step


def _change_legend(vmax: float, unit: str) -> str:
    rows = []
    edges = [vmax / 3, 2 * vmax / 3, vmax]
    for k in range(7):
        if k == 3:
            text = "0"
        elif k > 3:
            lo, hi = edges[k - 4] - vmax / 3, edges[k - 4]
            text = f"+{human_number(lo)} … +{human_number(hi)}"
        else:
            lo, hi = edges[2 - k] - vmax / 3, edges[2 - k]
            text = f"−{human_number(hi)} … −{human_number(lo)}"
        rows.append(f"{_swatch(CHANGE_COLOURS[k])} {_esc(text)}")
    return f"{_esc(unit)}<br>" + "<br>".join(reversed(rows))


def _change_features(
    part: pd.DataFrame, z: gpd.GeoDataFrame, names: dict[str, str], ftype: str
) -> list[dict[str, Any]]:
    seat = {str(i): (float(z.loc[i, "seat_lon"]), float(z.loc[i, "seat_lat"])) for i in z.index}
    vmax = float(part["change"].abs().max()) if len(part) else 1.0
    vmax = vmax if vmax > 0 else 1.0
    features = []
    for rec in part.to_dict("records"):
        o, d = str(rec["origin"]), str(rec["destination"])
        if o not in seat or d not in seat:
            continue
        change = float(rec["change"])
        unit = str(rec.get("unit", ""))
        sign = "+" if change > 0 else ""
        label = (
            f"{_esc(names.get(o, o))} → {_esc(names.get(d, d))}: "
            f"{sign}{_esc(human_number(change, unit))}"
        )
        features.append(
            _flow_feature(
                _arrow_curve(*seat[o], *seat[d]),
                label,
                origin=o,
                destination=d,
                volume=change,
                ftype=ftype,
                colour=CHANGE_COLOURS[6] if change > 0 else CHANGE_COLOURS[0],
                width=_WIDTH_MIN + (_WIDTH_MAX - _WIDTH_MIN) * math.sqrt(abs(change) / vmax),
                opacity=0.85,
                dash=None,
            )
        )
    return features


def _indicator_box(changes: pd.DataFrame, lang: Lang) -> str:
    rows = [
        f'<details open class="urlink-long"><summary>{_esc(_t("district_indicators", lang))}'
        "</summary>"
    ]
    for rec in changes.to_dict("records"):
        base, new = float(rec["base"]), float(rec["new"])
        change = new - base if math.isfinite(base) and math.isfinite(new) else float("nan")
        better = (change > 0) == (str(rec.get("direction", "max")) == "max")
        if not math.isfinite(change) or abs(change) <= 1e-12:
            colour, mark = CHANGE_COLOURS[3], "&#9632;"
        else:
            colour = CHANGE_COLOURS[6] if better else CHANGE_COLOURS[0]
            mark = "&#9650;" if change > 0 else "&#9660;"
        unit = str(rec.get("unit_of_measure", "") or "")
        rows.append(
            f'<span style="color:{colour};text-shadow:0 0 1px #333">{mark}</span> '
            f"{_esc(indicator_name(str(rec['indicator']), lang))}: "
            f"{_esc(human_number(base, unit))} &rarr; {_esc(human_number(new, unit))}"
        )
    return "<br>".join(rows) + "</details>"


_GEOMETRY_STYLE: dict[str, dict[str, Any]] = {
    "road": {"color": "#111111", "weight": 6, "opacity": 0.9},
    "upgrade": {"color": "#111111", "weight": 6, "opacity": 0.9, "dashArray": "10,6"},
    "bus": {"color": "#111111", "weight": 4, "opacity": 0.9, "dashArray": "2,7"},
    "zone": {"color": "#111111", "weight": 3, "fill": False, "dashArray": "6,4"},
    "relocation": {"color": "#111111", "weight": 4, "opacity": 0.9, "dashArray": "1,6"},
}
"""Styles of the strategy's own geometry (black: no flow or zone colour is black)."""


def _add_strategy_geometry(
    m: folium.Map, features: Sequence[dict[str, Any]], lang: Lang
) -> folium.FeatureGroup:
    """Draw the strategy itself (roads, bus line and stops, hubs, zones) with labels."""
    g = folium.FeatureGroup(name=_t("strategy_geometry", lang), show=True)
    labels = []
    for feature in features:
        props = feature.get("properties", {})
        role = str(props.get("role", "road"))
        geom = shapely.geometry.shape(feature["geometry"])
        if geom.geom_type == "Point":
            folium.CircleMarker(
                [geom.y, geom.x],
                radius=9 if role == "hub" else 5,
                color="#111111",
                weight=3,
                fill=True,
                fill_color="#ffffff",
                fill_opacity=1.0,
                interactive=False,
                class_name=f"urlink-strategy-{role}",
            ).add_to(g)
        else:
            style = _GEOMETRY_STYLE.get(role, _GEOMETRY_STYLE["road"])
            data = {"type": "Feature", "properties": {}, "geometry": feature["geometry"]}
            casing = {**style, "color": "#ffffff", "weight": style["weight"] + 4, "opacity": 0.9}
            casing.pop("dashArray", None)
            _GeoJson(data, style=casing, interactive=False).add_to(g)
            _GeoJson(
                data, style=style, interactive=False, class_name=f"urlink-strategy-{role}"
            ).add_to(g)
        label = str(props.get("label", ""))
        if label:
            at = geom if geom.geom_type == "Point" else geom.interpolate(0.5, normalized=True)
            if geom.geom_type.endswith("Polygon"):
                at = geom.representative_point()
            labels.append(
                (
                    at.y,
                    at.x,
                    '<div class="urlink-label urlink-strategy" data-rank="-1" '
                    f'style="font-weight:700;transform:translate(-50%,-160%)">{_esc(label)}</div>',
                )
            )
    g.add_child(_Labels(labels))
    g.add_to(m)
    return g


def _add_change_flows(
    m: folium.Map,
    z: gpd.GeoDataFrame,
    flow_changes: pd.DataFrame | None,
    lang: Lang,
    *,
    max_flows: int,
) -> tuple[list[tuple[folium.GeoJson, str, bool]], list[tuple[str, str]]]:
    """Draw one layer per flow type with its largest changes; return layers and units."""
    flow_layers: list[tuple[folium.GeoJson, str, bool]] = []
    types = []
    if flow_changes is not None and len(flow_changes):
        name_of = {str(i): _zone_name(z.loc[i], lang) for i in z.index}
        fc = flow_changes[
            flow_changes["origin"].astype(str) != flow_changes["destination"].astype(str)
        ]
        for ftype in ("people", "goods", "capital", "ecosystem"):
            part = fc[fc["flow_type"] == ftype]
            if part.empty:
                continue
            part = part.reindex(part["change"].abs().sort_values(ascending=False).index)
            shown = part.head(max_flows)
            name = f"Δ {_t(ftype, lang)}"
            if len(part) > len(shown):
                name += f" ({len(shown):,} {_t('largest', lang)} / {len(part):,})"
            group, gj = _flow_layer(
                _change_features(shown, z, name_of, ftype), name, show=ftype == "people"
            )
            group.add_to(m)
            flow_layers.append((gj, ftype, False))
            types.append((ftype, str(part["unit"].iloc[0]) if "unit" in part.columns else ""))
    return flow_layers, types


def _comparison_legend(
    lang: Lang,
    legends: dict[str, str],
    ids: dict[str, str],
    *,
    ranking: pd.DataFrame | None,
    strategy: str,
    names: dict[str, str] | None = None,
) -> str:
    parts = [f"<details open><summary>{_esc(_t('legend', lang))}</summary>"]
    parts += [
        f'<div class="urlink-effect-legend" data-layer="{_esc(name)}" style="display:none">'
        f"<b>{_esc(_t('magnitude', lang))}</b>: {block}</div>"
        for name, block in legends.items()
    ]
    parts.append(
        f"<div>{_swatch(CHANGE_COLOURS[6], line=True)} {_esc(_t('gain', lang))} &nbsp; "
        f"{_swatch(CHANGE_COLOURS[0], line=True)} {_esc(_t('loss', lang))}<br>"
        f"{_swatch('#111111', line=True)} {_esc(_t('strategy_geometry', lang))}</div>"
    )
    parts.append(_flow_controls(lang, ids, start=0, names=names))
    if ranking is not None and len(ranking):
        rows = [f"<b>{_esc(_t('ranking', lang))}</b>"]
        for rec in ranking.sort_values("rank").to_dict("records"):
            mark = "&#9658; " if rec["strategy"] == strategy else ""
            p_first = float(rec.get("first_rank", float("nan")))
            joint = float(rec.get("first_rank_joint", float("nan")))
            extra = (
                f"; {_esc(_t('with_inputs', lang))} {_esc(human_number(joint, 'share'))}"
                if math.isfinite(joint)  # the scenario has [uncertainty]
                else ""
            )
            rows.append(
                f"{mark}{int(rec['rank'])}. {_esc(rec['strategy'])} "
                f"(P(first) {_esc(human_number(p_first, 'share'))}{extra})"
            )
        parts.append("<details><summary>" + rows[0] + "</summary>" + "<br>".join(rows[1:]))
        parts.append("</details>")
    return "".join(parts) + "</details>"


def map_comparison(
    zones: gpd.GeoDataFrame,
    effects: pd.DataFrame,
    *,
    strategy: str,
    title: str = "",
    ranking: pd.DataFrame | None = None,
    flow_changes: pd.DataFrame | None = None,
    indicator_changes: pd.DataFrame | None = None,
    max_flows: int = 300,
    lang: Lang = "both",
    tiles: str | None = "OpenStreetMap",
    focus: Sequence[str] | None = None,
    geometry: Sequence[dict[str, Any]] = (),
    pages: Sequence[tuple[str, str]] = (),
    credits: Sequence[str] = (),
) -> folium.Map:
    """One page comparing a strategy with the baseline: switch, magnitudes, the strategy.

    The layer panel switches between the baseline (zones by typology) and one layer per
    zone effect that changes anywhere (see :data:`urlink.scoring.attribution.EFFECTS`),
    coloured on a diverging colour-blind-safe scale (:data:`CHANGE_COLOURS`: purple gains,
    orange losses, three size classes each) with a legend in the effect's unit. Overlays
    show the strategy's own geometry (new or upgraded road, bus line and stops, hub; black,
    labelled) and, per flow type, the largest flow changes (purple = more, orange = less;
    widths scaled within the visible set, arrowheads). Boxes list the district indicators
    before and after (named in ``lang``; better/worse in the indicator's direction) and the
    pooled ranking; with ``pages`` a picker opens the other strategies' pages.

    Parameters
    ----------
    zones
        Zones with ``name``, ``typology`` and seats.
    effects
        Zone effects of the strategy, indexed by zone id (positive = gain).
    strategy
        Strategy name.
    title
        Readable title of the strategy.
    ranking
        Optional table ``strategy``, ``rank``, ``first_rank`` (acceptability) to show.
    flow_changes
        Optional :func:`urlink.scoring.attribution.compare_flows` table of the strategy.
    indicator_changes
        Optional table ``indicator``, ``base``, ``new``, ``change``, ``direction``,
        ``unit_of_measure`` of the district indicators.
    max_flows
        Largest flow changes drawn per flow type.
    lang
        Label language.
    tiles
        Background tiles or None (offline).
    focus
        Zone ids the page opens on (default: :func:`focus_zones`).
    geometry
        GeoJSON features (WGS84) of the strategy itself, each with ``properties.role``
        (``road``, ``upgrade``, ``bus``, ``stop``, ``hub``, ``zone``, ``relocation``) and
        ``properties.label``.
    pages
        ``(strategy name, file name)`` of every comparison page, for the picker.
    credits
        Attribution of the data sources (plain text).

    Returns
    -------
    folium.Map
        The page's map.

    Raises
    ------
    InputError
        On an unknown language or a non-positive ``max_flows``.
    """
    lang = _check_options(lang, max_flows)
    z = _map_zones(zones)
    focus_ids = focus_zones(z, focus)
    left, bottom, right, top = z.total_bounds
    m = folium.Map(
        location=[(bottom + top) / 2, (left + right) / 2],
        zoom_start=9,
        tiles=tiles,
        control_scale=True,
        zoom_snap=0.25,
    )
    _add_css(m)
    _fit_focus(m, z, focus_ids)
    _add_base(m, z, lang, roads=None, water=None)
    folium.FeatureGroup(name=f"{_t('baseline', lang)}: {_t('zones', lang)}", overlay=False).add_to(
        m
    )
    changed = [c for c in effects.columns if c != "zone_id" and (effects[c] != 0).any()]
    legends = {}
    switch: dict[str, tuple[pd.Series, pd.Series]] = {}
    for effect in changed:
        values = effects[effect].reindex(z.index).fillna(0.0).astype(float)
        vmax = float(values.abs().max())
        colours = pd.Series(
            [CHANGE_COLOURS[_change_class(v, vmax)] for v in values], index=z.index
        )
        name = _t(str(effect), lang)
        folium.FeatureGroup(name=name, overlay=False, show=False).add_to(m)
        switch[name] = (values, colours)
        legends[name] = _change_legend(vmax, _t(str(effect), lang))
    zone_layers = [_add_zones(m, z, lang, effects=switch, name=_t("zones", lang))]
    _add_boundaries(m, z, lang)
    _add_labels(m, z, lang, focus_ids)
    flow_layers, types = _add_change_flows(m, z, flow_changes, lang, max_flows=max_flows)
    if geometry:
        _add_strategy_geometry(m, geometry, lang)
    folium.LayerControl(collapsed=False).add_to(m)
    head = _esc(f"{title or strategy} ({strategy})")
    if len(pages) > 1:
        options = "".join(
            f'<option value="{_esc(href)}"{" selected" if name == strategy else ""}>'
            f"{_esc(name)}</option>"
            for name, href in pages
        )
        head += (
            f'<br><label style="font-weight:400;font-size:13px">{_esc(_t("pick_strategy", lang))}:'
            ' <select class="urlink-picker" onchange="window.location.href=this.value">'
            f"{options}</select></label>"
        )
    m.add_child(_Box(head, position="", css_class="urlink-title"))
    ids = {k: f"urlink-{k}-{m.get_name()}" for k in ("key", "slider", "sel", "find")}
    m.add_child(
        _Box(
            _comparison_legend(
                lang,
                legends,
                ids,
                ranking=ranking,
                strategy=strategy,
                names={str(i): _zone_name(z.loc[i], lang) for i in z.index},
            ),
            position="bottom: 50px; left: 10px",
        )
    )
    if indicator_changes is not None and len(indicator_changes):
        m.add_child(
            _Box(
                _indicator_box(indicator_changes, lang),
                position="bottom: 22px; right: 10px; max-width: 360px",
            )
        )
    m.add_child(
        _MapScript(
            _script_config(
                lang,
                flow_layers=flow_layers,
                zone_layers=zone_layers,
                types=[(t, u, CHANGE_COLOURS[6], "Δ " + _t(t, lang)) for t, u in types],
                unit_of={},
                effects=list(switch),
                names={str(i): _zone_name(z.loc[i], lang) for i in z.index},
                ids=ids,
                credits=credits,
            )
        )
    )
    return m
