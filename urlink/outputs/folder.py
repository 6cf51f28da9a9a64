"""The output folder of a run: every file, written into a temporary folder renamed on success.

:func:`write_outputs` writes the layers, tables, pages, report and the manifest
(:func:`run_manifest`) of a finished run; the folder replaces the previous one only when
everything is written (:func:`urlink.outputs.files.atomic_output_dir`).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from urlink.model.state import in_focus, people_summary
from urlink.network.assignment import assign_to_network
from urlink.network.skims import iter_skim_rows
from urlink.outputs.dictionary import write_data_dictionary
from urlink.outputs.files import (
    atomic_output_dir,
    network_edges_gdf,
    table_formats,
    versions,
    write_json,
    write_linkages,
    write_travel_times,
    write_travel_times_parquet,
)
from urlink.outputs.pages import write_maps
from urlink.outputs.report import write_report
from urlink.progress import Progress, advance

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

    import geopandas as gpd
    import networkx as nx

    from urlink.model.state import State
    from urlink.network.equilibrium import EquilibriumResult
    from urlink.scenario.spec import Scenario

__all__ = ["OUTPUT_FILES", "files_written", "run_manifest", "run_summary", "write_outputs"]

OUTPUT_FILES = {
    "zones.gpkg": "layer 'zones', EPSG:4326",
    "linkages.gpkg": "layers 'zones', 'flows' (seat to seat, with co2), 'network' "
    "({source}, with assigned volumes per flow type), EPSG:4326",
    "flows.csv": "every flow row of every type, including unused ecosystem supply",
    "map.html": "interactive map (folium, offline): typology, boundaries, flows by type",
    "compare_<strategy>.html": "each strategy against the baseline (offline): the strategy "
    "itself, zone effects, flow changes, district indicators, ranking",
    "report.html": "self-contained report: what was modelled, data and estimates, "
    "flows across boundaries, indicators by SDG, ranking and robustness charts, "
    "guidelines per level (prints on A4)",
    "flow_changes.csv": "strategy, flow_type, origin, destination, commodity, use, "
    "purpose, mode, unit, volume_base, volume_new, change, change_pct",
    "indicators.csv": "strategy, scope, level, unit, indicator, value, unit_of_"
    "measure, direction, sdg",
    "attribution.csv": "strategy, level, unit, effects, cost_yuan, responsible, crosses",
    "guidelines.csv": "level, unit, strategy, role, action, gains, costs",
    "scores.csv": "strategy, group, method, score, rank (groups and pooled)",
    "robustness.csv": "SMAA-2: weights, method, strategy, rank, acceptability, first_rank "
    "(with [uncertainty]: acceptability_inputs, first_rank_inputs, acceptability_joint, "
    "first_rank_joint)",
    "uncertainty.csv": "[uncertainty] only: sample, the sampled inputs, strategy, its district "
    "indicators, score_<weights> and rank_<weights> (first scoring method)",
    "uncertainty_inputs.csv": "[uncertainty] only: input, distribution, base, source",
    "uncertainty_ranks.csv": "[uncertainty] only: weights, method, uncertainty (weights, "
    "inputs, joint), strategy, rank, acceptability, first_rank, mean_regret, p95_regret, "
    "max_regret",
    "sensitivity.csv": "[uncertainty] only: weights, output (score, first), strategy, input, "
    "S1, S1_conf (first-order indices, RBD-FAST)",
    "conditions.csv": "[uncertainty] only: weights, strategy, p_first, density, coverage, "
    "mass, limits, statement (where each strategy ranks first, PRIM)",
    "travel_times.csv": "origin, destination, time_min ({mode}), network_source",
    "data_dictionary.csv": "every column of every CSV file: unit and meaning in Chinese and "
    "English",
}
"""What each file of the output folder holds (``{source}``, ``{mode}`` filled in)."""


def files_written(tables: Mapping[str, pd.DataFrame], n_strategies: int) -> int:
    """Count the files :func:`write_outputs` writes (for progress bars).

    Parameters
    ----------
    tables
        The CSV tables of the run.
    n_strategies
        Strategies (one comparison page each).

    Returns
    -------
    int
        Layers, tables, pages, the report and the manifest.

    Examples
    --------
    >>> files_written({"indicators": pd.DataFrame()}, 2)  # 5 + 1 table + map + 2 pages + 2
    11
    """
    return 5 + len(tables) + 1 + n_strategies + 2


def run_summary(
    state: State,
    zones: pd.DataFrame,
    streets: nx.MultiDiGraph,
    network_source: str,
    *,
    congestion: EquilibriumResult | None = None,
) -> dict[str, Any]:
    """Collect the headline numbers of a run (for the manifest and the report).

    Parameters
    ----------
    state
        The base state.
    zones
        Its zones as written.
    streets
        The street network.
    network_source
        Where it came from.
    congestion
        The peak-hour car assignment, if any.

    Returns
    -------
    dict
    """
    out = {
        "zones": len(zones),
        "population_total": int(zones["population"].sum()),
        "population_estimated_zones": int(
            zones["population_source"].str.startswith("estimate").sum()
        ),
        "network_source": network_source,
        "network_nodes": streets.number_of_nodes(),
        "network_edges": streets.number_of_edges(),
        "unreachable_pairs": int(
            sum(int(np.isnan(b).sum()) for _, b in iter_skim_rows(state.skim))
        ),
        "typology": {
            str(k): int(v) for k, v in zones["typology"].value_counts().sort_index().items()
        },
        "people": people_summary(state),
        "flows": {
            t: {
                "rows": len(f),
                "total": float(f["volume"].sum()),
                "unit": str(f["unit"].iloc[0]),
                # with [flows.people] top_destinations: the share of the modelled volume left out
                **(
                    {"dropped_share": f.attrs["dropped_share"]}
                    if "dropped_share" in f.attrs
                    else {}
                ),
                # with a sparse people support: where the trips were fitted (none dropped)
                **{
                    k: None if pd.isna(f.attrs[k]) else f.attrs[k]
                    for k in (
                        "support",
                        "outside_support_share",
                        "outside_support_share_production",
                    )
                    if k in f.attrs
                },
            }
            for t, f in state.flows.items()
            if len(f)
        },
    }
    if state.modes is not None:
        people = state.flows.get("people")
        mine = (
            people[people["origin"].isin(in_focus(state))]
            if people is not None and "mode" in people.columns
            else None
        )
        shares = (
            (mine.groupby("mode")["volume"].sum() / mine["volume"].sum()).round(6).to_dict()
            if mine is not None and len(mine)
            else {}
        )
        out["modes"] = {
            "asc": dict(state.modes.asc),
            "target_shares": dict(state.modes.target_shares),
            "shares_reached": shares,
            "shares_source": state.modes.shares_source,
        }
    if congestion is not None:
        links = congestion.links
        out["car_assignment"] = {
            "method": congestion.method,
            "iterations": congestion.iterations,
            "relative_gap": congestion.gap,
            "converged": congestion.converged,
            "vehicles_peak_hour": float(congestion.od["vehicles_vph"].sum()),
            "max_vc_ratio": float(links["vc_ratio"].max()) if len(links) else 0.0,
            "links_over_capacity": int((links["vc_ratio"] > 1).sum()),
        }
    return out


def run_manifest(
    scenario: Scenario,
    *,
    started_utc: str,
    run_options: Mapping[str, Any],
    inputs: list[dict[str, Any]],
    parameters: Mapping[str, Any],
    summary: Mapping[str, Any],
    network_source: str,
    timings_s: Mapping[str, float],
) -> dict[str, Any]:
    """Build the ``manifest.json`` of a run: what was run, on which inputs, with what result.

    Parameters
    ----------
    scenario
        The scenario.
    started_utc
        ISO time the run started.
    run_options
        Workers, Dask, memory limit (the numbers do not depend on them).
    inputs
        Input fingerprints (path, bytes, SHA-256).
    parameters
        Derived parameters (metric CRS, fitted community weight...).
    summary
        :func:`run_summary`.
    network_source
        Where the street network came from.
    timings_s
        Seconds per stage.

    Returns
    -------
    dict
    """
    files = {
        name: text.format(source=network_source, mode=scenario.network.mode)
        for name, text in OUTPUT_FILES.items()
        if scenario.uncertainty is not None or not text.startswith("[uncertainty] only")
    }
    return {
        "scenario": scenario.name,
        "title": scenario.title,
        "scenario_file": str(scenario.path),
        "started_utc": started_utc,
        "seed": scenario.seed,
        "run_options": dict(run_options),
        "inputs": inputs,
        "parameters": {"scenario": scenario.raw, **parameters},
        "summary": dict(summary),
        "outputs": files,
        "versions": versions(),
        "timings_s": {k: round(v, 4) for k, v in timings_s.items()},
    }


def write_outputs(
    out: Path,
    *,
    scenario: Scenario,
    state: State,
    zones: gpd.GeoDataFrame,
    streets: nx.MultiDiGraph,
    linkage_flows: gpd.GeoDataFrame,
    flows: pd.DataFrame,
    tables: Mapping[str, pd.DataFrame],
    summary: Mapping[str, Any],
    inputs: list[dict[str, Any]],
    manifest: Mapping[str, Any],
    progress: Progress | None = None,
    congestion: EquilibriumResult | None = None,
    table_format: str = "auto",
    network_layer: bool = True,
    offline: bool = True,
    force: bool = False,
    workers: int | None = 1,
    scheduler: Any = None,
) -> Path:
    """Write every file of a run into ``out`` (replaced only when all are written).

    Parameters
    ----------
    out
        The output folder.
    scenario
        The scenario.
    state
        The base state (skims, routing for the assignment).
    zones
        Zones as written (typology and model inputs).
    streets
        The street network.
    linkage_flows
        The flow edges of the linkage graph, with CO2
        (:func:`urlink.model.linkage.linkage_flows_of`): the ``flows`` layer of
        ``linkages.gpkg`` and the maps' flows.
    flows
        Every flow row.
    tables
        ``indicators``, ``attribution``, ``guidelines``, ``flow_changes``, ``scores``,
        ``robustness`` (those the run has).
    summary, inputs
        For the report.
    manifest
        :func:`run_manifest` (its ``timings_s`` gain ``write outputs``).
    progress
        Told when each file is written (:func:`files_written` of them).
    congestion
        The peak-hour car assignment: its volumes, v/c ratios and congested times join the
        network layer (``car_peak_vph``, ``vc_ratio``, ``congested_s``).
    table_format
        ``"auto"``, ``"csv"`` or ``"parquet"``: how ``travel_times`` and ``flows`` are
        written (:func:`urlink.outputs.files.table_formats`; ``"auto"`` picks Parquet for
        province-sized tables).
    network_layer
        Write the street network with its assigned volumes as the ``network`` layer of
        ``linkages.gpkg`` (``urlink select-link`` reads it); False leaves it out.
    offline
        Pages that need no internet (default); False loads Leaflet from a CDN and shows
        OpenStreetMap tiles.
    force
        Write beside files in ``out`` that urlink did not write (they are kept; see
        :func:`urlink.outputs.files.atomic_output_dir`).
    workers, scheduler
        Where the assignment's chunks of origins run (:mod:`urlink.parallel`); the volumes
        are the same for any setting.

    Returns
    -------
    pathlib.Path
        The folder.
    """
    started = time.perf_counter()
    source = str(streets.graph.get("network_source", "unknown"))
    road = [f for k, f in state.flows.items() if k in ("people", "goods")]
    volumes = (
        assign_to_network(
            state.routing,
            pd.concat(road, ignore_index=True),
            state.zones,
            workers=workers,
            scheduler=scheduler,
        )
        if road
        else pd.DataFrame(columns=["u", "v"])
    )
    if congestion is not None:
        links = congestion.links.rename(columns={"volume_vph": "car_peak_vph"})
        links = links[["u", "v", "car_peak_vph", "vc_ratio", "congested_s"]]
        volumes = volumes.groupby(["u", "v"], as_index=False).sum() if len(volumes) else volumes
        volumes = volumes.merge(links, on=["u", "v"], how="outer").fillna(0.0)
    formats = table_formats(table_format, pairs=int(state.skim.size), flows=len(flows))
    outputs = _described_outputs(manifest, formats, network_layer=network_layer)
    with atomic_output_dir(out, force=force) as tmp:
        zones.assign(network_source=source).to_crs("EPSG:4326").to_file(
            tmp / "zones.gpkg", layer="zones", driver="GPKG"
        )
        advance(progress, what="zones.gpkg")
        if formats["travel_times"] == "parquet":
            write_travel_times_parquet(tmp / "travel_times.parquet", state.skim, source)
        else:
            write_travel_times(tmp / "travel_times.csv", state.skim, source)
        advance(progress, what=f"travel_times.{formats['travel_times']}")
        write_linkages(
            tmp / "linkages.gpkg",
            zones.assign(network_source=source),
            linkage_flows,
            network_edges_gdf(streets) if network_layer else None,
            volumes,
        )
        advance(progress, what="linkages.gpkg")
        table = pd.DataFrame(flows.drop(columns="geometry", errors="ignore"))
        if formats["flows"] == "parquet":
            table.to_parquet(tmp / "flows.parquet", index=False)
        else:
            table.to_csv(tmp / "flows.csv", index=False, float_format="%.6f")
        advance(progress, what=f"flows.{formats['flows']}")
        for name, table in tables.items():
            digits = "%.10g" if name == "flow_changes" else "%.6g"  # differences need digits
            table.to_csv(tmp / f"{name}.csv", index=False, float_format=digits)
            advance(progress, what=f"{name}.csv")
        write_data_dictionary(tmp / "data_dictionary.csv")
        advance(progress, what="data_dictionary.csv")
        write_maps(
            tmp,
            zones,
            linkage_flows,
            source,
            assessed=tables,
            scenario=scenario,
            offline=offline,
            streets=streets,
            progress=progress,
        )
        write_report(
            tmp / "report.html",
            scenario=scenario,
            zones=zones,
            flows=flows,
            assessed=tables,
            summary=dict(summary),
            inputs=inputs,
        )
        timings = {**manifest["timings_s"], "write outputs": time.perf_counter() - started}
        timings = {k: round(v, 4) for k, v in timings.items()}
        advance(progress, what="report.html")
        write_json(tmp / "manifest.json", {**manifest, "outputs": outputs, "timings_s": timings})
        advance(progress, what="manifest.json")
    return out


def _described_outputs(
    manifest: Mapping[str, Any], formats: Mapping[str, str], *, network_layer: bool
) -> dict[str, str]:
    """Return the manifest's ``outputs`` as written (Parquet tables, layers left out)."""
    outputs = dict(manifest.get("outputs", {}))
    for stem, fmt in formats.items():
        if fmt == "parquet" and f"{stem}.csv" in outputs:
            text = outputs.pop(f"{stem}.csv")
            outputs[f"{stem}.parquet"] = f"{text} (Parquet)"
    if not network_layer and "linkages.gpkg" in outputs:
        outputs["linkages.gpkg"] = "layers 'zones', 'flows' (seat to seat, with co2), EPSG:4326"
    return outputs
