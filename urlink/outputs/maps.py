"""Workshop maps (folium): zones by typology, administrative boundaries, flows by type.

:func:`map_linkages` draws the linkage graph for a workshop room: zones coloured by
typology with a legend, the boundaries of every administrative level, township seats
labelled in Chinese, pinyin/English or both, and one toggleable layer per flow type. Flows
are curved lines that bend to the right of their direction of travel (so A -> B and B -> A
do not overlap and the bend shows the direction), their width grows with the square root of
the volume, and flows that cross a county boundary are drawn solid while flows inside one
county are dashed.

To keep pages light, each flow type shows its ``max_flows`` largest flows; the rest are
counted in the layer's name ("+ 812 smaller flows not drawn") and stay in ``flows.csv``.

All text that reaches the page is HTML-escaped here, because folium's GeoJSON tooltips and
popups insert property values as HTML: a zone called ``<img src=x onerror=alert(1)>``
shows as that text. ``folium.Tooltip``/``folium.Popup`` with user text are never used: they
paste the text into a JavaScript template string, where escaping HTML is not enough.
"""

from __future__ import annotations

import base64
import html
import math
import re
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, get_args

import folium
import numpy as np
import pandas as pd
import shapely
from branca.element import MacroElement
from folium.plugins import DualMap
from folium.utilities import JsCode
from jinja2 import Template

from urlink.errors import InputError, UrlinkError

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = [
    "FLOW_COLOURS",
    "TYPOLOGY_COLOURS",
    "ZONE_POPUP_VALUES",
    "Lang",
    "curved_line",
    "map_comparison",
    "map_linkages",
    "offline_html",
    "save_map",
]

Lang = Literal["zh", "en", "both"]

TYPOLOGY_COLOURS = {"urban": "#d7301f", "peri-urban": "#fc8d59", "rural": "#78c679"}
"""Fill colour of each typology class."""

FLOW_COLOURS = {
    "people": "#2c7fb8",
    "goods": "#d95f0e",
    "capital": "#756bb1",
    "ecosystem": "#1b9e77",
}
"""Line colour of each flow type."""

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
        "zh": "流线向行进方向右侧弯曲；跨县为实线",
        "en": "Flows bend to the right of their direction; solid = crosses a county boundary",
    },
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


def _zone_popup(row: pd.Series, lang: Lang) -> str:
    name = row.get("name") if lang != "en" else row.get("name_en", row.get("name"))
    if lang == "both":
        name = f"{row.get('name')} / {row.get('name_en', '')}"
    lines = [f"<b>{_esc(name)}</b> ({_esc(row.name)})"]
    if "population" in row:
        lines.append(
            f"{_esc(_t('population', lang))}: {float(row['population']):,.0f} "
            f"<i>({_esc(row.get('population_source', ''))})</i>"
        )
    if "typology" in row:
        lines.append(f"{_esc(_t('typology', lang))}: {_esc(_t(str(row['typology']), lang))}")
        lines.append(f"{_esc(_t('reason', lang))}: {_esc(row.get('typology_reason', ''))}")
    for col in ZONE_POPUP_VALUES:
        if col in row and pd.notna(row[col]):
            lines.append(f"{_esc(_t(col, lang))}: {float(row[col]):,.1f}")
    if "geometry_source" in row:
        lines.append(f"<i>{_esc(row['geometry_source'])}</i>")
    return "<br>".join(lines)


def _flow_popup(rec: dict[str, Any], names: dict[str, str], lang: Lang) -> str:
    o, d = str(rec["origin"]), str(rec["destination"])
    return "<br>".join(
        [
            f"<b>{_esc(names.get(o, o))} &rarr; {_esc(names.get(d, d))}</b>",
            f"{_esc(_t('volume', lang))}: {float(rec['volume']):,.4g} {_esc(rec.get('unit', ''))}",
            f"{_esc(_t('model', lang))}: {_esc(rec.get('model', ''))}",
            f"{_esc(_t('source', lang))}: {_esc(rec.get('source', ''))}",
            f"{_esc(_t('crosses', lang))}: {_esc(rec.get('crosses', ''))}",
        ]
    )


class _Box(MacroElement):  # type: ignore[misc]
    """A fixed HTML box on the map (legend, notes); the HTML is built escaped."""

    def __init__(self, html_body: str, *, position: str) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._name = "UrlinkBox"
        self.html_body = html_body
        self.position = position
        self._template = Template("""
        {% macro html(this, kwargs) %}
        <div style="position: fixed; {{ this.position }}; z-index: 9999; background: white;
             padding: 6px 9px; border: 1px solid #999; border-radius: 4px;
             font: 12px/1.4 sans-serif; max-width: 320px;">{{ this.html_body }}</div>
        {% endmacro %}
        """)


def _legend(lang: Lang, types: list[str]) -> str:
    rows = [f"<b>{_esc(_t('legend', lang))}</b>"]
    for cls, colour in TYPOLOGY_COLOURS.items():
        rows.append(
            f'<span style="display:inline-block;width:12px;height:12px;'
            f'background:{colour};opacity:.6"></span> {_esc(_t(cls, lang))}'
        )
    for ftype in types:
        rows.append(
            f'<span style="display:inline-block;width:18px;height:3px;'
            f'background:{FLOW_COLOURS.get(ftype, "#333")}"></span> '
            f"{_esc(_t(ftype, lang))}"
        )
    rows.append(f"<i>{_esc(_t('direction', lang))}</i>")
    return "<br>".join(rows)


def _dissolve_lines(zones: gpd.GeoDataFrame, col: str) -> list[Any]:
    out = []
    for _, group in zones.groupby(zones[col].astype(str)):
        geom = shapely.union_all(np.asarray(group.geometry.array))
        out.append(geom.boundary)
    return out


def map_linkages(
    zones: gpd.GeoDataFrame,
    flows: pd.DataFrame,
    *,
    lang: Lang = "both",
    max_flows: int = 500,
    network_source: str = "unknown",
    aggregate_level: Literal["county", "prefecture", "province"] | None = "county",
    tiles: str | None = "OpenStreetMap",
) -> folium.Map:
    """Draw zones, boundaries, seats and flows on an interactive map.

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
    aggregate_level
        The smaller flows of each type are summed per pair of units of this administrative
        level (:func:`aggregate_flows`) and drawn in one extra layer, hidden at first; with
        None they are only counted. This keeps a page with 100,000 flows light
        (``benchmarks/bench_map.py``).
    network_source
        ``"proxy"`` adds a visible note that travel times come from a proxy network.
    tiles
        Background tiles (OpenStreetMap, with its attribution) or None for none.

    Returns
    -------
    folium.Map
        The map.

    Raises
    ------
    InputError
        On an unknown language or a non-positive ``max_flows``.
    """
    lang = _check_lang(lang)
    if not (isinstance(max_flows, int) and max_flows > 0):
        msg = f"max_flows={max_flows!r} must be a positive integer"
        raise InputError(msg)
    if aggregate_level not in ("county", "prefecture", "province", None):
        msg = (
            f"aggregate_level={aggregate_level!r} is not valid; use 'county', 'prefecture', "
            "'province' or None"
        )
        raise InputError(msg)
    z = zones.to_crs("EPSG:4326")
    # about 30 m of detail is plenty for a workshop map and keeps the page light
    z = z.set_geometry(z.geometry.simplify(0.0003, preserve_topology=True))
    left, bottom, right, top = z.total_bounds
    m = folium.Map(
        location=[(bottom + top) / 2, (left + right) / 2],
        zoom_start=9,
        tiles=tiles,
        control_scale=True,
        prefer_canvas=True,
    )
    m.fit_bounds([[bottom, left], [top, right]])
    _add_zones(m, z, lang)
    _add_boundaries(m, z, lang)
    _add_seats(m, z, lang)
    types = _add_flows(m, z, flows, lang, max_flows=max_flows, aggregate_level=aggregate_level)
    notes = []
    if "geometry_source" in z.columns and (z["geometry_source"] == "voronoi-approximation").any():
        notes.append(_esc(_t("voronoi", lang)))
    if network_source == "proxy":
        notes.append(_esc(_t("proxy", lang)))
    if notes:
        m.add_child(
            _Box("<br>".join(f"⚠ {n}" for n in notes), position="bottom: 30px; right: 10px")
        )
    m.add_child(_Box(_legend(lang, types), position="bottom: 20px; left: 10px"))
    folium.LayerControl(collapsed=False).add_to(m)
    return m


def _add_zones(m: folium.Map, z: gpd.GeoDataFrame, lang: Lang) -> None:
    zf = z[["geometry"]].copy()
    zf["zone_id"] = z.index.astype(str)
    zf["typology"] = z["typology"].astype(str) if "typology" in z.columns else "rural"
    zf["popup_html"] = [_zone_popup(z.loc[i], lang) for i in z.index]
    names = z["name_en"] if lang == "en" and "name_en" in z.columns else z["name"]
    zf["label"] = [_esc(n) for n in names]
    layer = folium.FeatureGroup(name=_t("zones", lang), show=True)
    folium.GeoJson(
        zf.to_json(drop_id=True),
        style_function=lambda f: {
            "fillColor": TYPOLOGY_COLOURS.get(f["properties"]["typology"], "#cccccc"),
            "color": "#555",
            "weight": 0.5,
            "fillOpacity": 0.45,
        },
        tooltip=folium.GeoJsonTooltip(fields=["label"], labels=False),
        popup=folium.GeoJsonPopup(fields=["popup_html"], labels=False),
    ).add_to(layer)
    layer.add_to(m)


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
        if part.empty:
            continue
        lines = _dissolve_lines(part, col)
        g = folium.FeatureGroup(name=_t(level, lang), show=level != "township")
        folium.GeoJson(
            {
                "type": "FeatureCollection",
                "features": [
                    {"type": "Feature", "properties": {}, "geometry": shapely.geometry.mapping(x)}
                    for x in lines
                ],
            },
            style_function=lambda f, w=weight, d=dash: {
                "color": "#222",
                "weight": w,
                "dashArray": d,
                "fill": False,
            },
        ).add_to(g)
        g.add_to(m)


def _add_seats(m: folium.Map, z: gpd.GeoDataFrame, lang: Lang) -> None:
    seats = folium.FeatureGroup(name=_t("seats", lang), show=True)
    towns = z[z["level"] == "township"] if "level" in z.columns else z
    for _, row in towns.iterrows():
        zh, en = _esc(row["name"]), _esc(row.get("name_en", row["name"]))
        text = {"zh": zh, "en": en, "both": f"{zh}<br>{en}"}[lang]
        folium.Marker(
            [float(row["seat_lat"]), float(row["seat_lon"])],
            icon=folium.DivIcon(
                html=f'<div class="urlink-seat" style="font: 11px sans-serif;'
                f'white-space: nowrap; text-shadow: 0 0 3px #fff;">{text}</div>'
            ),
        ).add_to(seats)
    seats.add_to(m)


_FLOW_STYLE_JS = """function (feature) {
    var p = feature.properties;
    return {color: p.c, weight: p.w, opacity: p.o, dashArray: p.d};
}"""
"""One style function in the page for all flows: folium's Python ``style_function`` would
write a ``switch`` case per feature (100,000 cases load in about a minute)."""


def _flow_feature(
    pts: list[tuple[float, float]],
    popup: str,
    label: str,
    *,
    colour: str,
    width: float,
    opacity: float,
    dash: str | None,
) -> dict[str, Any]:
    return {
        "type": "Feature",
        "geometry": {
            "type": "LineString",
            "coordinates": [[round(x, 5), round(y, 5)] for x, y in pts],
        },
        "properties": {
            "popup_html": popup,
            "label": label,
            "c": colour,
            "w": round(width, 2),
            "o": opacity,
            "d": dash,
        },
    }


def _flow_features(
    part: pd.DataFrame,
    seat: dict[str, tuple[float, float]],
    names: dict[str, str],
    lang: Lang,
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
                curved_line(*seat[o], *seat[d]),
                _flow_popup({str(k): v for k, v in rec.items()}, names, lang),
                f"{_esc(names.get(o, o))} → {_esc(names.get(d, d))}: "
                f"{volume:,.4g} {_esc(rec.get('unit', ''))}",
                colour=colour,
                width=1.0 + 9.0 * math.sqrt(abs(volume) / vmax),
                opacity=0.75,
                dash=None if cross else "6,4",
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


def _flow_layer(features: list[dict[str, Any]], name: str, *, show: bool) -> folium.FeatureGroup:
    g = folium.FeatureGroup(name=name, show=show)
    if features:
        folium.GeoJson(
            {"type": "FeatureCollection", "features": features},
            style=JsCode(_FLOW_STYLE_JS),
            tooltip=folium.GeoJsonTooltip(fields=["label"], labels=False),
            popup=folium.GeoJsonPopup(fields=["popup_html"], labels=False),
        ).add_to(g)
    return g


def _add_flows(
    m: folium.Map,
    z: gpd.GeoDataFrame,
    flows: pd.DataFrame,
    lang: Lang,
    *,
    max_flows: int,
    aggregate_level: str | None,
) -> list[str]:
    names = {str(i): str(z.loc[i, "name"]) for i in z.index}
    seat = {str(i): (float(z.loc[i, "seat_lon"]), float(z.loc[i, "seat_lat"])) for i in z.index}
    drawable = flows[flows["origin"].astype(str) != flows["destination"].astype(str)]
    if "use" in drawable.columns:
        drawable = drawable[drawable["use"].fillna("used") != "unused"]
    types = [
        t for t in ("people", "goods", "capital", "ecosystem") if t in set(drawable["flow_type"])
    ]
    col = f"{aggregate_level}_code" if aggregate_level else ""
    can_aggregate = bool(col) and col in z.columns and z[col].notna().all()
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
        _flow_layer(
            _flow_features(shown, seat, names, lang, colour), label, show=ftype == "people"
        ).add_to(m)
        if not len(hidden):
            continue
        if can_aggregate:
            agg = aggregate_flows(hidden, z, level=str(aggregate_level))
            points = _unit_points(z, col)
            between = agg[agg["origin"] != agg["destination"]]
            within = agg[agg["origin"] == agg["destination"]]
            unit_names = _unit_names(z, col, lang)
            n_within = int(within["n_flows"].sum())
            note = _esc(_t("aggregated_note", lang))
            if n_within:
                note += f"<br>{n_within:,} {_esc(_t('within_unit', lang))}"
            # the sums are capped too: a province has hundreds of thousands of unit pairs
            n_pairs_hidden = max(len(between) - max_flows, 0)
            between = between.head(max_flows)
            if n_pairs_hidden:
                note += f"<br>{n_pairs_hidden:,} {_esc(_t('pairs_not_drawn', lang))}"
            features = []
            vmax = float(between["volume"].abs().max()) if len(between) else 1.0
            for rec in between.to_dict("records"):
                o, d = str(rec["origin"]), str(rec["destination"])
                text = (
                    f"{_esc(unit_names.get(o, o))} → {_esc(unit_names.get(d, d))}: "
                    f"{float(rec['volume']):,.4g} {_esc(rec['unit'])} "
                    f"({int(rec['n_flows']):,} {_esc(_t('smaller', lang))})"
                )
                features.append(
                    _flow_feature(
                        curved_line(*points[o], *points[d], bend=0.2),
                        f"<b>{text}</b><br>{note}",
                        text,
                        colour=colour,
                        width=1.0 + 9.0 * math.sqrt(abs(float(rec["volume"])) / (vmax or 1.0)),
                        opacity=0.35,
                        dash="2,6",
                    )
                )
            name = f"{_t(ftype, lang)} +{len(hidden):,} ({_t('by_' + str(aggregate_level), lang)})"
            _flow_layer(features, name, show=False).add_to(m)
        else:
            m.add_child(
                folium.FeatureGroup(
                    name=f"{_t(ftype, lang)} +{len(hidden):,} ({_t('not_drawn', lang)})",
                    show=False,
                )
            )
    return types


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

_GAIN, _LOSS, _NONE = "#1a9850", "#d73027", "#bdbdbd"

_ZONE_CHANGE_STYLE_JS = """function (feature) {
    return {fillColor: feature.properties.colour, color: "#555", weight: 0.5,
            fillOpacity: 0.6};
}"""


def _change_features(
    part: pd.DataFrame, z: gpd.GeoDataFrame, names: dict[str, str], lang: Lang
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
        pct = rec.get("change_pct")
        pct_text = f" ({float(pct):+.1f} %)" if pct is not None and pd.notna(pct) else ""
        unit = _esc(rec.get("unit", ""))
        head = f"{_esc(names.get(o, o))} → {_esc(names.get(d, d))}"
        label = f"{head}: {change:+,.4g} {unit}{pct_text}"
        popup = "<br>".join(
            [
                f"<b>{head}</b>",
                f"{_esc(_t('baseline', lang))}: {float(rec['volume_base']):,.4g} {unit}",
                f"{_esc(_t('with_strategy', lang))}: {float(rec['volume_new']):,.4g} {unit}",
                f"{_esc(_t('change', lang))}: {change:+,.4g} {unit}{pct_text}",
            ]
        )
        features.append(
            _flow_feature(
                curved_line(*seat[o], *seat[d]),
                popup,
                label,
                colour=_GAIN if change > 0 else _LOSS,
                width=1.5 + 8.5 * math.sqrt(abs(change) / vmax),
                opacity=0.8,
                dash=None,
            )
        )
    return features


def _indicator_box(changes: pd.DataFrame, lang: Lang) -> str:
    rows = [f"<b>{_esc(_t('district_indicators', lang))}</b>"]
    for rec in changes.to_dict("records"):
        change = float(rec["change"])
        better = (change > 0) == (str(rec.get("direction", "max")) == "max")
        colour = _NONE if abs(change) <= 1e-12 else _GAIN if better else _LOSS
        rows.append(
            f'<span style="color:{colour}">&#9632;</span> {_esc(rec["indicator"])}: '
            f"{float(rec['base']):,.4g} &rarr; {float(rec['new']):,.4g} "
            f"{_esc(rec.get('unit_of_measure', ''))}"
        )
    return "<br>".join(rows)


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
) -> Any:
    """Side-by-side map of one strategy against the baseline: gains green, losses red.

    The left map shows the zones by typology (the baseline). The right map has one layer
    per zone effect that changes anywhere (see :data:`urlink.scoring.attribution.EFFECTS`), each
    zone green where the strategy brings a gain, red where it brings a loss and grey where
    nothing changes, and one layer per flow type whose flows change (green = more flow,
    red = less, width by the size of the change). Both maps move together. Boxes list the
    district indicators before and after (green = better in the indicator's direction) and
    the ranking of all strategies with their first-rank acceptability.

    Parameters
    ----------
    zones
        Zones with ``name``, ``typology`` and seats.
    effects
        Zone effects of the strategy, indexed by zone id (positive = gain).
    strategy
        Strategy name.
    title
        Readable title.
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
        Background tiles or None.

    Returns
    -------
    folium.plugins.DualMap
        The side-by-side map.

    Raises
    ------
    InputError
        On an unknown language or a non-positive ``max_flows``.
    """
    lang = _check_lang(lang)
    if not (isinstance(max_flows, int) and max_flows > 0):
        msg = f"max_flows={max_flows!r} must be a positive integer"
        raise InputError(msg)
    z = zones.to_crs("EPSG:4326")
    z = z.set_geometry(z.geometry.simplify(0.0003, preserve_topology=True))
    left, bottom, right, top = z.total_bounds
    dm = DualMap(  # type: ignore[no-untyped-call]
        location=[(bottom + top) / 2, (left + right) / 2],
        zoom_start=9,
        tiles=tiles,
        prefer_canvas=True,
    )
    dm.m1.fit_bounds([[bottom, left], [top, right]])
    _add_zones(dm.m1, z, lang)
    names = z["name_en"] if lang == "en" and "name_en" in z.columns else z["name"]
    changed = [c for c in effects.columns if c != "zone_id" and (effects[c] != 0).any()]
    for i, effect in enumerate(changed or list(effects.columns[:1])):
        values = effects[effect].reindex(z.index).fillna(0.0).astype(float)
        gf = z[["geometry"]].copy()
        gf["colour"] = [_GAIN if v > 0 else _LOSS if v < 0 else _NONE for v in values]
        gf["label"] = [
            f"{_esc(n)}: {v:+,.4g} ({_esc(_t(str(effect), lang))})"
            for n, v in zip(names, values, strict=True)
        ]
        layer = folium.FeatureGroup(name=_esc(_t(str(effect), lang)), show=i == 0)
        folium.GeoJson(
            gf.to_json(drop_id=True),
            style=JsCode(_ZONE_CHANGE_STYLE_JS),
            tooltip=folium.GeoJsonTooltip(fields=["label"], labels=False),
        ).add_to(layer)
        layer.add_to(dm.m2)
    if flow_changes is not None and len(flow_changes):
        name_of = {str(i): str(n) for i, n in zip(z.index, names, strict=True)}
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
            _flow_layer(_change_features(shown, z, name_of, lang), name, show=False).add_to(dm.m2)
    folium.LayerControl(collapsed=False).add_to(dm.m2)
    head = f"<b>{_esc(title or strategy)}</b><br>{_esc(strategy)}"
    rows = []
    if ranking is not None and len(ranking):
        for rec in ranking.sort_values("rank").to_dict("records"):
            mark = "&#9658; " if rec["strategy"] == strategy else ""
            rows.append(
                f"{mark}{int(rec['rank'])}. {_esc(rec['strategy'])} "
                f"(P(first) {float(rec.get('first_rank', float('nan'))):.2f})"
            )
    legend = (
        f'<span style="color:{_GAIN}">&#9632;</span> {_esc(_t("gain", lang))} &nbsp; '
        f'<span style="color:{_LOSS}">&#9632;</span> {_esc(_t("loss", lang))} &nbsp; '
        f'<span style="color:{_NONE}">&#9632;</span> {_esc(_t("no_change", lang))}'
    )
    dm.m2.add_child(_Box("<br>".join([head, legend, *rows]), position="bottom: 20px; right: 10px"))
    if indicator_changes is not None and len(indicator_changes):
        dm.m1.add_child(
            _Box(_indicator_box(indicator_changes, lang), position="bottom: 20px; left: 10px")
        )
    return dm
