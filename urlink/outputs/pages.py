"""The pages of a run: the workshop map and one comparison page per strategy."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from urlink.model.graph import graph_to_gdfs
from urlink.outputs.maps import map_comparison, map_linkages, save_map
from urlink.progress import Progress, advance
from urlink.scoring.attribution import EFFECTS

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from pathlib import Path

    import geopandas as gpd

    from urlink.outputs.maps import Lang
    from urlink.scenario.spec import Scenario

__all__ = [
    "indicator_changes",
    "ranking_table",
    "write_comparisons",
    "write_map",
    "write_maps",
    "zones_with_indicators",
]


def write_map(
    path: Path,
    zones: gpd.GeoDataFrame,
    graph: Any,
    network_source: str,
    *,
    lang: Lang = "both",
    offline: bool = False,
) -> None:
    """Write the workshop map of a run (see :func:`urlink.outputs.maps.map_linkages`).

    Parameters
    ----------
    path
        Target ``.html``.
    zones
        Zones with typology.
    graph
        The linkage graph (its edges are the flows drawn).
    network_source
        ``"proxy"`` labels the map as based on a proxy network.
    lang
        Label language.
    offline
        Self-contained page without background tiles (:func:`urlink.outputs.maps.save_map`).
    """
    _, flows = graph_to_gdfs(graph)
    m = map_linkages(
        zones,
        pd.DataFrame(flows.drop(columns="geometry")),
        lang=lang,
        network_source=network_source,
        tiles=None if offline else "OpenStreetMap",
    )
    save_map(m, path, offline=offline)


def write_maps(
    folder: Path,
    zones: gpd.GeoDataFrame,
    graph: Any,
    network_source: str,
    *,
    assessed: Mapping[str, pd.DataFrame],
    scenario: Scenario,
    lang: Lang = "both",
    offline: bool = False,
    progress: Progress | None = None,
) -> list[Path]:
    """Write ``map.html`` and every ``compare_<strategy>.html`` of a run into ``folder``.

    Parameters
    ----------
    folder
        Output folder.
    zones
        Zones with typology.
    graph
        The linkage graph.
    network_source
        Source of the street network.
    assessed
        Tables of :func:`assess_strategies` and :func:`score_strategies`.
    scenario
        The scenario.
    lang
        Label language.
    offline
        Self-contained pages without background tiles.
    progress
        Told when each page is written (:mod:`urlink.progress`).

    Returns
    -------
    list of pathlib.Path
        The written pages, ``map.html`` first.
    """
    write_map(
        folder / "map.html",
        zones_with_indicators(zones, assessed.get("indicators")),
        graph,
        network_source,
        lang=lang,
        offline=offline,
    )
    advance(progress, what="map.html")
    return [
        folder / "map.html",
        *write_comparisons(
            folder, zones, assessed, scenario, lang=lang, offline=offline, progress=progress
        ),
    ]


def zones_with_indicators(
    zones: gpd.GeoDataFrame, indicators: pd.DataFrame | None, *, strategy: str = "baseline"
) -> gpd.GeoDataFrame:
    """Zones with one column per zone indicator of a strategy (for map popups).

    Parameters
    ----------
    zones
        Zones indexed by zone id, with ``level``.
    indicators
        The ``indicators`` table of :func:`assess_strategies` (None: zones unchanged).
    strategy
        Whose values to take.

    Returns
    -------
    geopandas.GeoDataFrame
        A copy of ``zones`` with the indicators of each zone's own unit as columns.
    """
    if indicators is None or indicators.empty:
        return zones
    rows = indicators[(indicators["scope"] == "unit") & (indicators["strategy"] == strategy)]
    own = rows.assign(unit=rows["unit"].astype(str))
    level = zones["level"].astype(str) if "level" in zones.columns else None
    out = zones.copy()
    for name, part in own.groupby("indicator"):
        if name in out.columns:
            continue
        values = {}
        for lvl, sub in part.groupby("level"):
            for unit, value in zip(sub["unit"], sub["value"], strict=True):
                values[(str(lvl), unit)] = float(value)
        out[str(name)] = [
            values.get((str(level.loc[i]) if level is not None else "", str(i)), np.nan)
            for i in out.index
        ]
    return out


def ranking_table(assessed: Mapping[str, pd.DataFrame]) -> pd.DataFrame | None:
    """Pooled weighted-sum ranking with first-rank acceptability (uniform weights).

    Parameters
    ----------
    assessed
        Tables of :func:`assess_strategies` and :func:`score_strategies`.

    Returns
    -------
    pandas.DataFrame or None
        ``strategy``, ``rank``, ``first_rank``; None when the run was not scored.
    """
    if "scores" not in assessed:
        return None
    s = assessed["scores"]
    ranking = s[(s["group"] == "pooled") & (s["method"] == "weighted_sum")][
        ["strategy", "rank"]
    ].copy()
    r = assessed["robustness"]
    first = r[
        (r["weights"] == "uniform") & (r["method"] == "weighted_sum") & (r["rank"] == 1)
    ].set_index("strategy")["acceptability"]
    ranking["first_rank"] = ranking["strategy"].map(first)
    return ranking


def indicator_changes(indicators: pd.DataFrame, strategy: str) -> pd.DataFrame:
    """District indicators of one strategy beside the baseline's.

    Parameters
    ----------
    indicators
        The ``indicators`` table of :func:`assess_strategies`.
    strategy
        Strategy name.

    Returns
    -------
    pandas.DataFrame
        ``indicator``, ``base``, ``new``, ``change``, ``unit_of_measure``, ``direction``,
        ``sdg``.
    """
    district = indicators[indicators["scope"] == "district"]
    base = district[district["strategy"] == "baseline"].set_index("indicator")
    new = district[district["strategy"] == strategy].set_index("indicator")
    out = base[["unit_of_measure", "direction", "sdg"]].copy()
    out["base"] = base["value"].astype(float)
    out["new"] = new["value"].reindex(out.index).astype(float)
    out["change"] = out["new"] - out["base"]
    return out.reset_index()[
        ["indicator", "base", "new", "change", "unit_of_measure", "direction", "sdg"]
    ]


def write_comparisons(
    folder: Path,
    zones: gpd.GeoDataFrame,
    assessed: Mapping[str, pd.DataFrame],
    scenario: Scenario,
    *,
    strategies: Sequence[str] | None = None,
    lang: Lang = "both",
    offline: bool = False,
    progress: Progress | None = None,
) -> list[Path]:
    """Write ``compare_<strategy>.html`` for the strategies of a run.

    Parameters
    ----------
    folder
        Output folder.
    zones
        Zones with typology.
    assessed
        Tables of :func:`assess_strategies` and :func:`score_strategies`.
    scenario
        The scenario (strategy titles).
    strategies
        Names of the strategies to draw (default: all).
    lang
        Label language.
    offline
        Self-contained pages without background tiles.
    progress
        Told when each page is written (:mod:`urlink.progress`).

    Returns
    -------
    list of pathlib.Path
        The written pages.
    """
    attribution = assessed.get("attribution")
    if attribution is None or attribution.empty:
        return []
    ranking = ranking_table(assessed)
    titles = {s.name: s.title for s in scenario.strategies}
    changes = assessed.get("flow_changes", pd.DataFrame())
    written = []
    for name, rows in attribution[attribution["level"] == "township"].groupby("strategy"):
        if strategies is not None and name not in strategies:
            continue
        effects = rows.set_index("unit")[list(EFFECTS)]
        dm = map_comparison(
            zones,
            effects,
            strategy=str(name),
            title=titles.get(str(name), ""),
            ranking=ranking,
            flow_changes=changes[changes["strategy"] == name] if len(changes) else None,
            indicator_changes=indicator_changes(assessed["indicators"], str(name)),
            lang=lang,
            tiles=None if offline else "OpenStreetMap",
        )
        path = folder / f"compare_{name}.html"
        save_map(dm, path, offline=offline)
        written.append(path)
        advance(progress, what=path.name)
    return written
