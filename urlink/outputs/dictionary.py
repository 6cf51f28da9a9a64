"""The data dictionary of a run's CSV files: every column with its unit and meaning (zh, en).

:data:`DATA_DICTIONARY` is written with every run as ``data_dictionary.csv``
(:func:`write_data_dictionary`), so a table opened without the documentation still says
what each column holds. ``tests/test_report.py`` checks that every column of every CSV a
run writes is described.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["DATA_DICTIONARY", "data_dictionary", "write_data_dictionary"]

_ZONE = ("", "分区编号（行政区划代码）", "zone id (official admin code)")

DATA_DICTIONARY: tuple[tuple[str, str, str, str, str], ...] = (
    # file, column, unit, meaning (zh), meaning (en)
    ("flows.csv", "origin", *_ZONE),
    ("flows.csv", "destination", *_ZONE),
    (
        "flows.csv",
        "flow_type",
        "",
        "流动类型：people/goods/capital/ecosystem",
        "flow type: people, goods, capital or ecosystem",
    ),
    ("flows.csv", "volume", "see unit", "流量", "volume of the flow, in the row's unit"),
    (
        "flows.csv",
        "unit",
        "",
        "流量单位",
        "unit of volume (persons/day, t/day, yuan/year, m3/day)",
    ),
    ("flows.csv", "model", "", "产生该流的模型", "model that produced the flow"),
    (
        "flows.csv",
        "source",
        "",
        "来源：modelled/estimated…",
        "how the number was made (modelled, estimated ...)",
    ),
    ("flows.csv", "purpose", "", "出行目的", "trip purpose (people)"),
    ("flows.csv", "inputs_source", "", "模型输入的来源", "where the model's inputs come from"),
    ("flows.csv", "mode", "", "交通方式", "travel mode (people: car, bus, ebike, walk)"),
    ("flows.csv", "time_min", "min", "出行时间", "travel time between the zones"),
    ("flows.csv", "commodity", "", "货物品类", "commodity (goods)"),
    (
        "flows.csv",
        "use",
        "",
        "用途（未利用的生态供给为unused）",
        "use (unused ecosystem supply is 'unused')",
    ),
    (
        "flows.csv",
        "basis_m3_per_day",
        "m3/day",
        "生态补偿计算基数",
        "water volume the eco-compensation is based on",
    ),
    ("flows.csv", "crosses", "", "跨越的最高行政边界", "highest administrative boundary crossed"),
    ("travel_times.csv", "origin", *_ZONE),
    ("travel_times.csv", "destination", *_ZONE),
    (
        "travel_times.csv",
        "time_min",
        "min",
        "出行时间（空值=不可达）",
        "travel time (empty = unreachable)",
    ),
    (
        "travel_times.csv",
        "network_source",
        "",
        "路网来源：osm或proxy",
        "street network: osm or proxy",
    ),
    (
        "indicators.csv",
        "strategy",
        "",
        "策略名称（baseline=现状）",
        "strategy name (baseline = today)",
    ),
    ("indicators.csv", "scope", "", "范围：district或unit", "scope: the district or one unit"),
    ("indicators.csv", "level", "", "行政层级", "administrative level of the unit"),
    ("indicators.csv", "unit", "", "行政单位代码", "code of the administrative unit"),
    ("indicators.csv", "indicator", "", "指标代码", "indicator code (docs/scoring.md)"),
    ("indicators.csv", "value", "see unit_of_measure", "指标值", "value of the indicator"),
    ("indicators.csv", "unit_of_measure", "", "指标单位", "unit of the value"),
    (
        "indicators.csv",
        "direction",
        "",
        "越大越好(max)或越小越好(min)",
        "max = more is better, min = less is better",
    ),
    ("indicators.csv", "sdg", "", "对应的SDG目标", "SDG target the indicator reports on"),
    ("attribution.csv", "strategy", "", "策略名称", "strategy name"),
    ("attribution.csv", "level", "", "行政层级", "administrative level"),
    ("attribution.csv", "unit", "", "行政单位代码", "code of the administrative unit"),
    (
        "attribution.csv",
        "time_saved_person_min_per_day",
        "person-min/day",
        "出行时间节省",
        "travel time saved by the unit's residents",
    ),
    (
        "attribution.csv",
        "centre_access_gain_person_min",
        "resident-min",
        "到区中心可达性提升",
        "access to the district centre gained",
    ),
    (
        "attribution.csv",
        "hospital_access_gain_person_min",
        "resident-min",
        "到医院可达性提升",
        "access to hospitals gained",
    ),
    (
        "attribution.csv",
        "market_access_gain_person_min",
        "resident-min",
        "到市场可达性提升",
        "access to markets gained",
    ),
    ("attribution.csv", "co2_reduction_kg_per_day", "kg/day", "CO2减排", "transport CO2 avoided"),
    (
        "attribution.csv",
        "trip_credits_kg_per_day",
        "kg/day",
        "碳普惠出行积分",
        "low-carbon trip credits",
    ),
    (
        "attribution.csv",
        "capital_net_yuan_per_year",
        "yuan/year",
        "资金净变化",
        "net change of money received",
    ),
    (
        "attribution.csv",
        "capital_paid_yuan_per_year",
        "yuan/year",
        "支出变化",
        "change of money paid",
    ),
    (
        "attribution.csv",
        "capital_received_yuan_per_year",
        "yuan/year",
        "收入变化",
        "change of money received",
    ),
    (
        "attribution.csv",
        "water_received_m3_per_day",
        "m3/day",
        "受水变化",
        "change of water received",
    ),
    (
        "attribution.csv",
        "cost_yuan",
        "yuan",
        "成本（空值=未知）",
        "cost borne (empty = unknown, never 0)",
    ),
    ("attribution.csv", "cost_known", "", "成本是否已知", "whether the cost is known"),
    (
        "attribution.csv",
        "responsible",
        "",
        "是否为实施责任单位",
        "the unit implements the strategy",
    ),
    (
        "attribution.csv",
        "outside_responsible",
        "",
        "是否受益/受损但不负责",
        "affected without being responsible",
    ),
    ("attribution.csv", "crosses", "", "影响跨越的最高边界", "highest boundary the effects cross"),
    ("guidelines.csv", "level", "", "行政层级", "administrative level"),
    ("guidelines.csv", "unit", "", "行政单位代码", "code of the administrative unit"),
    ("guidelines.csv", "unit_name", "", "行政单位名称", "name of the administrative unit"),
    ("guidelines.csv", "strategy", "", "策略名称", "strategy name"),
    ("guidelines.csv", "role", "", "角色：实施/支付/受益…", "role: implement, pay, benefit ..."),
    ("guidelines.csv", "action", "", "行动", "what the unit should do"),
    ("guidelines.csv", "gains", "", "收益", "what the unit gains"),
    ("guidelines.csv", "costs", "", "成本", "what it costs the unit (unknown costs say so)"),
    ("scores.csv", "strategy", "", "策略名称", "strategy name"),
    (
        "scores.csv",
        "group",
        "",
        "利益相关方群体（pooled=综合）",
        "stakeholder group (pooled = all groups)",
    ),
    ("scores.csv", "method", "", "评分方法", "scoring method (weighted_sum, topsis)"),
    ("scores.csv", "score", "0-1", "得分", "score (higher is better)"),
    ("scores.csv", "rank", "", "排名", "rank (1 = best)"),
    (
        "robustness.csv",
        "weights",
        "",
        "权重来源（uniform=均匀随机）",
        "weights sampled: uniform or a group's, perturbed",
    ),
    ("robustness.csv", "method", "", "评分方法", "scoring method"),
    ("robustness.csv", "strategy", "", "策略名称", "strategy name"),
    ("robustness.csv", "rank", "", "排名", "rank"),
    (
        "robustness.csv",
        "acceptability",
        "share",
        "排名可接受度（SMAA-2）",
        "share of weight samples giving this rank (SMAA-2)",
    ),
    (
        "robustness.csv",
        "first_rank",
        "share",
        "排名第一的概率",
        "share of samples ranking the strategy first",
    ),
    ("flow_changes.csv", "strategy", "", "策略名称", "strategy name"),
    ("flow_changes.csv", "flow_type", "", "流动类型", "flow type"),
    ("flow_changes.csv", "origin", *_ZONE),
    ("flow_changes.csv", "destination", *_ZONE),
    ("flow_changes.csv", "commodity", "", "货物品类", "commodity (goods)"),
    ("flow_changes.csv", "use", "", "用途", "use (ecosystem services)"),
    ("flow_changes.csv", "purpose", "", "出行目的", "trip purpose (people)"),
    ("flow_changes.csv", "mode", "", "交通方式", "travel mode (people)"),
    ("flow_changes.csv", "unit", "", "流量单位", "unit of the volumes"),
    ("flow_changes.csv", "volume_base", "see unit", "现状流量", "volume in the baseline"),
    ("flow_changes.csv", "volume_new", "see unit", "实施策略后的流量", "volume with the strategy"),
    ("flow_changes.csv", "change", "see unit", "变化量", "volume_new - volume_base"),
    ("flow_changes.csv", "change_pct", "%", "变化百分比", "change in per cent of the baseline"),
)
"""Every column of every CSV file a run writes: file, column, unit, meaning (zh), (en)."""


def data_dictionary() -> pd.DataFrame:
    """Return :data:`DATA_DICTIONARY` as a table.

    Returns
    -------
    pandas.DataFrame
        ``file``, ``column``, ``unit``, ``meaning_zh``, ``meaning_en``.

    Examples
    --------
    >>> d = data_dictionary()
    >>> d.loc[(d["file"] == "flows.csv") & (d["column"] == "time_min"), "unit"].item()
    'min'
    """
    return pd.DataFrame(
        DATA_DICTIONARY, columns=["file", "column", "unit", "meaning_zh", "meaning_en"]
    )


def write_data_dictionary(path: Path) -> Path:
    """Write ``data_dictionary.csv`` (UTF-8 with a byte-order mark, so Excel reads Chinese).

    Parameters
    ----------
    path
        Target file.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    data_dictionary().to_csv(path, index=False, encoding="utf-8-sig")
    return path
