"""Run a scenario: build the base state once, assess its strategies, score them, write.

:func:`run` is what ``urlink run`` does, for notebooks: it returns a frozen :class:`Run` with
every output in memory (zones and flows as GeoDataFrames/DataFrames, travel times,
indicators, scores, robustness, the manifest), ``Run.graph()`` (the linkage graph, built on
request) and ``Run.write(folder)``. Writing is optional, so a user can change a parameter
and run again without touching the disk.

Examples
--------
>>> import dataclasses, urlink
>>> s = urlink.load_scenario("scenarios/huangyan.toml")
>>> result = urlink.run(s)  # doctest: +SKIP
>>> result.scores.query("group == 'pooled'").head()  # doctest: +SKIP
>>> people = dataclasses.replace(s.flows.people, trip_rate=0.5)  # doctest: +SKIP
>>> again = urlink.run(dataclasses.replace(s, flows=dataclasses.replace(s.flows, people=people)))
... # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from urlink.errors import InputError
from urlink.io.postgis import table_fingerprint
from urlink.model.linkage import (
    car_congestion,
    linkage_flows_of,
    linkage_graph_of,
    zones_with_inputs,
)
from urlink.outputs.files import check_output_dir, file_sha256, files_into_folder, output_lock
from urlink.outputs.folder import files_written, run_manifest, run_summary, write_outputs
from urlink.outputs.maps import map_linkages
from urlink.outputs.pages import (
    base_water,
    data_credits,
    focus_ids,
    main_roads,
    write_comparisons,
    write_map,
    zones_with_indicators,
)
from urlink.parallel import RunScale, auto_workers, run_scale
from urlink.progress import Progress, report
from urlink.scenario.assess import Assessment, assess_strategies, score_strategies
from urlink.scenario.build import (
    base_state,
    check_inputs,
    network_from_scenario,
    with_scenario_path,
    zones_from_scenario,
)
from urlink.scenario.checks import check_strategy_zones
from urlink.scenario.spec import Scenario, load_scenario
from urlink.scenario.strategies import apply_strategy
from urlink.scenario.uncertainty import (
    UncertaintyResult,
    assess_uncertainty,
    resolve_uncertainty,
    robustness_with_inputs,
)
from urlink.scoring.ranking import performance_table, smaa_runs

if TYPE_CHECKING:
    from collections.abc import Callable

    import folium
    import networkx as nx

    from urlink.model.state import State
    from urlink.network.equilibrium import EquilibriumResult
    from urlink.outputs.maps import Lang
    from urlink.scoring.ranking import Ranking

__all__ = [
    "STAGES",
    "Run",
    "ValidationSummary",
    "build_map",
    "flow_lines",
    "input_fingerprints",
    "run",
    "run_scenario",
    "run_tables",
    "validate_scenario",
]

logger = logging.getLogger(__name__)

STAGES = (
    "check inputs",
    "zones",
    "network",
    "travel times and flows",
    "strategies",
    "scoring",
    "write outputs",
)
"""Stages of :func:`run`, in order (reported to ``on_stage``)."""


@dataclass(frozen=True, slots=True, eq=False)
class Run:
    """The result of a run, in memory.

    Attributes
    ----------
    scenario
        The scenario run.
    zones
        Zones with typology, populations and the flow models' inputs (GeoDataFrame).
    flows
        Every flow row of every type (including unused ecosystem supply), as lines from the
        origin's seat to the destination's (WGS84).
    state
        The base state (skims, routing, flow setups and flows by type).
    streets
        The street network (an OSM graph or the proxy network).
    assessment
        Indicators, attribution, guidelines and flow changes of every strategy.
    ranking
        Scores and robustness (None without a ``[scoring]`` section or strategies).
    manifest
        What was run, on which inputs (with SHA-256), with what parameters and result.
    congestion
        The car trips of the baseline assigned at user equilibrium in the peak hour (None
        without a mode choice).
    uncertainty
        The strategies under uncertain inputs (``[uncertainty]``; None without it): samples,
        rank acceptability and regret under weight, input and joint uncertainty,
        sensitivity indices and the conditions under which each strategy wins
        (:class:`urlink.scenario.uncertainty.UncertaintyResult`).
    """

    scenario: Scenario
    zones: gpd.GeoDataFrame
    flows: gpd.GeoDataFrame
    state: State
    streets: nx.MultiDiGraph
    assessment: Assessment
    ranking: Ranking | None
    manifest: dict[str, Any]
    congestion: EquilibriumResult | None = None
    uncertainty: UncertaintyResult | None = None
    _graph: list[nx.MultiDiGraph] = field(default_factory=list, repr=False)
    _linkage_flows: list[gpd.GeoDataFrame] = field(default_factory=list, repr=False)

    @property
    def network_source(self) -> str:
        """Where the street network came from (``"osm"`` or ``"proxy"``)."""
        return str(self.streets.graph.get("network_source", "unknown"))

    @property
    def travel_times(self) -> pd.DataFrame:
        """Travel times in minutes between the zones (origin x destination; NaN unreachable)."""
        return self.state.skim

    @property
    def indicators(self) -> pd.DataFrame:
        """District and per-unit indicators of the baseline and every strategy."""
        return self.assessment.indicators

    @property
    def scores(self) -> pd.DataFrame | None:
        """Scores and ranks per stakeholder group and method (None when not scored)."""
        return None if self.ranking is None else self.ranking.scores

    @property
    def robustness(self) -> pd.DataFrame | None:
        """SMAA-2 rank acceptabilities (None when not scored)."""
        return None if self.ranking is None else self.ranking.robustness

    def graph(self) -> nx.MultiDiGraph:
        """Return the linkage graph (zones as nodes, flows as edges with CO2), built once.

        Returns
        -------
        networkx.MultiDiGraph
        """
        if not self._graph:
            self._graph.append(linkage_graph_of(self.state, network_source=self.network_source))
        return self._graph[0]

    def linkage_flows(self) -> gpd.GeoDataFrame:
        """Return the linkage graph's flow edges as a table (with CO2), built once.

        The rows of ``graph_to_gdfs(self.graph())[1]`` without building the graph: what
        ``linkages.gpkg`` and the maps show (:func:`urlink.model.linkage.linkage_flows_of`).

        Returns
        -------
        geopandas.GeoDataFrame
        """
        if not self._linkage_flows:
            self._linkage_flows.append(linkage_flows_of(self.state))
        return self._linkage_flows[0]

    def explore(self, *, lang: Lang = "both", tiles: str | None = "OpenStreetMap") -> folium.Map:
        """Return the workshop map of the run as a ``folium.Map`` (for a notebook).

        The same map as ``map.html`` (:func:`urlink.outputs.maps.map_linkages`), opened on
        the focus unit, with the baseline indicators in the zone popups; add your own layers
        to it as to any folium map.

        Parameters
        ----------
        lang
            Label language: ``"zh"``, ``"en"`` or ``"both"``.
        tiles
            Background tiles (OpenStreetMap by default, which needs internet) or None.

        Returns
        -------
        folium.Map
        """
        flows = self.linkage_flows()
        zones = zones_with_indicators(self.zones, self.assessment.indicators)
        return map_linkages(
            zones,
            pd.DataFrame(flows.drop(columns="geometry")),
            lang=lang,
            network_source=self.network_source,
            tiles=tiles,
            focus=focus_ids(self.zones, self.scenario),
            title=self.scenario.title or self.scenario.name,
            credits=data_credits(self.scenario, self.network_source),
            roads=main_roads(self.streets),
            water=base_water(self.scenario, self.zones),
        )

    def tables(self) -> dict[str, pd.DataFrame]:
        """Return the CSV tables of the run by file stem (``indicators`` ... ``robustness``).

        Returns
        -------
        dict
        """
        return run_tables(self.assessment, self.ranking, uncertainty=self.uncertainty)

    def write(
        self,
        folder: str | Path,
        *,
        progress: Progress | None = None,
        table_format: str = "auto",
        network_layer: bool = True,
        offline: bool = True,
        force: bool = False,
        workers: int | None = 1,
        scheduler: Any = None,
    ) -> Path:
        """Write every output file into ``folder`` (replaced only when all are written).

        Parameters
        ----------
        folder
            The output folder (must not hold the scenario's input files, nor files urlink
            did not write unless ``force``).
        progress
            Told when each file is written.
        table_format, network_layer
            Parquet or CSV for the large tables, and whether ``linkages.gpkg`` holds the
            street network (:func:`urlink.outputs.folder.write_outputs`).
        offline
            Pages that need no internet (default); False uses CDNs and OSM tiles.
        force
            Write beside files urlink did not write (they are kept).
        workers, scheduler
            Where the assignment of the flows to the roads runs (:mod:`urlink.parallel`);
            the files are the same for any setting.

        Returns
        -------
        pathlib.Path
            The folder.
        """
        out = check_output_dir(Path(folder), self.scenario.input_files(), force=force)
        return write_outputs(
            out,
            scenario=self.scenario,
            state=self.state,
            zones=self.zones,
            streets=self.streets,
            linkage_flows=self.linkage_flows(),
            flows=self.flows,
            tables=self.tables(),
            summary=self.manifest["summary"],
            inputs=self.manifest["inputs"],
            manifest=self.manifest,
            progress=progress,
            congestion=self.congestion,
            table_format=table_format,
            network_layer=network_layer,
            offline=offline,
            force=force,
            workers=workers,
            scheduler=scheduler,
        )


def flow_lines(state: State) -> gpd.GeoDataFrame:
    """Every flow row of a state as a line from seat to seat (WGS84).

    Parameters
    ----------
    state
        A state with its flows.

    Returns
    -------
    geopandas.GeoDataFrame
        The flow tables concatenated, with a LineString ``geometry`` (a point-like line for
        a flow within a zone).
    """
    table = (
        pd.concat(list(state.flows.values()), ignore_index=True) if state.flows else pd.DataFrame()
    )
    seats = state.zones[["seat_lon", "seat_lat"]].astype(float)
    if table.empty:
        return gpd.GeoDataFrame(table, geometry=[], crs="EPSG:4326")
    o = seats.reindex(table["origin"]).to_numpy()
    d = seats.reindex(table["destination"]).to_numpy()
    lines = shapely.linestrings(np.stack([o, d], axis=1))
    return gpd.GeoDataFrame(table, geometry=lines, crs="EPSG:4326")


def run_tables(
    assessment: Assessment,
    ranking: Ranking | None,
    *,
    uncertainty: UncertaintyResult | None = None,
) -> dict[str, pd.DataFrame]:
    """Collect the CSV tables of a run by file stem (``indicators`` ... ``robustness``).

    Parameters
    ----------
    assessment
        The strategies assessed.
    ranking
        Their scores and robustness (None when not scored).
    uncertainty
        The uncertainty analysis: adds ``uncertainty``, ``uncertainty_ranks``,
        ``sensitivity``, ``conditions`` and the input-only and joint columns of
        ``robustness``.

    Returns
    -------
    dict
    """
    out = {
        "indicators": assessment.indicators,
        "attribution": assessment.attribution,
        "guidelines": assessment.guidelines,
        "flow_changes": assessment.flow_changes,
    }
    if ranking is not None:
        out.update(scores=ranking.scores, robustness=ranking.robustness)
    if uncertainty is not None:
        out.update(uncertainty.tables())
        if ranking is not None:
            out["robustness"] = robustness_with_inputs(ranking.robustness, uncertainty)
    return out


def input_fingerprints(scenario: Scenario) -> list[dict[str, Any]]:
    """Every input of a scenario with its size and SHA-256 (for the manifest).

    Parameters
    ----------
    scenario
        A loaded scenario.

    Returns
    -------
    list of dict
        ``path``, ``bytes``, ``sha256`` per input file; PostGIS input tables with their row
        count and a digest of their content (:func:`urlink.io.postgis.table_fingerprint`).
    """
    inputs: list[dict[str, Any]] = [
        {"path": str(p), "bytes": p.stat().st_size, "sha256": file_sha256(p)}
        for p in scenario.input_files()
    ]
    inputs += [table_fingerprint(url, table) for url, table in scenario.input_tables()]
    return inputs


def run(
    scenario: Scenario | str | Path,
    *,
    out: str | Path | None = None,
    progress: Progress | None = None,
    on_stage: Callable[[str], None] | None = None,
    workers: int | Literal["auto"] | None = 1,
    scheduler: Any = None,
    max_memory: int | str | None = None,
    table_format: str = "auto",
    network_layer: bool = True,
    offline: bool = True,
    force: bool = False,
) -> Run:
    """Run a scenario and return its outputs in memory (and write them if ``out`` is given).

    Parameters
    ----------
    scenario
        A loaded scenario or the path of a scenario file.
    out
        Output folder to write (replaced only on success); None writes nothing.
    progress
        Told when each stage of :data:`STAGES` starts and when each step within it is done
        (each strategy, each SMAA analysis, each file; :mod:`urlink.progress`).
    on_stage
        Called with each stage name as it starts (a simpler form of ``progress``).
    workers, scheduler, max_memory
        Where the heavy steps (skim chunks, strategies, SMAA samples) run and how much
        memory the skim may take (see :func:`urlink.parallel.run_scale`); the outputs are
        the same for any setting. ``workers="auto"`` uses every core for runs of
        :data:`urlink.parallel.AUTO_PARALLEL_ZONES` zones or more and one otherwise.
    table_format, network_layer
        How ``out`` is written (:meth:`Run.write`).
    offline
        Written pages need no internet (default); False loads Leaflet from a CDN and
        shows OpenStreetMap tiles.
    force
        Write ``out`` even if it holds files urlink did not write (they are kept; without
        it such a folder is refused before the run starts).

    Returns
    -------
    Run

    Raises
    ------
    InputError
        On bad input; nothing is written then.
    """
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    if progress is None and on_stage is not None:
        progress = _StageCallback(on_stage)
    auto = workers == "auto"
    fixed = 1 if auto else workers
    with contextlib.ExitStack() as stack:
        if out is not None:  # checked and locked before the run, not after it
            out = check_output_dir(Path(out), scenario.input_files(), force=force)
            stack.enter_context(output_lock(out))
        scale = stack.enter_context(
            run_scale(workers=fixed, scheduler=scheduler, max_memory=max_memory)  # type: ignore[arg-type]
        )
        result = _run(scenario, progress=progress, scale=scale, auto=auto)
        if out is not None:
            tables = result.tables()
            total = files_written(tables, len(scenario.strategies))
            _stage(progress, "write outputs", total=total)
            result.write(
                out,
                progress=progress,
                offline=offline,
                force=force,
                table_format=table_format,
                network_layer=network_layer,
                workers=result.manifest["run_options"]["workers"],
                scheduler=scale.client,
            )
    return result


@dataclass(frozen=True, slots=True)
class _StageCallback:
    """A :class:`urlink.progress.Progress` that passes stage names to a function."""

    on_stage: Callable[[str], None]

    def stage(self, name: str, *, total: int | None = None) -> None:
        self.on_stage(name)

    def advance(self, n: int = 1, *, what: str = "") -> None:
        pass


def _stage(progress: Progress | None, name: str, *, total: int | None = None) -> float:
    report(progress, name, total=total)
    logger.info("stage: %s", name)
    return time.perf_counter()


def _run(
    scenario: Scenario,
    *,
    progress: Progress | None,
    scale: RunScale,
    auto: bool,
) -> Run:
    started = datetime.now(UTC)
    timings: dict[str, float] = {}

    t0 = _stage(progress, "check inputs")
    weights = check_inputs(scenario)
    inputs = input_fingerprints(scenario)
    timings["check inputs"] = time.perf_counter() - t0

    t0 = _stage(progress, "zones")
    zones, params = zones_from_scenario(scenario)
    check_strategy_zones(scenario, zones)
    if auto:
        scale = dataclasses.replace(scale, workers=auto_workers(len(zones)))
        logger.info("%d zones: %d local worker(s)", len(zones), scale.workers)
    timings["zones"] = time.perf_counter() - t0

    t0 = _stage(progress, "network")
    streets = network_from_scenario(scenario, zones)
    source = str(streets.graph["network_source"])
    timings["network"] = time.perf_counter() - t0

    t0 = _stage(progress, "travel times and flows")
    state = base_state(scenario, zones, streets, scale=scale)
    timings["travel times and flows"] = time.perf_counter() - t0

    t0 = _stage(progress, "strategies", total=len(scenario.strategies))
    assessment = assess_strategies(
        scenario, state, workers=scale.workers, scheduler=scale.client, progress=progress
    )
    timings["strategies"] = time.perf_counter() - t0

    ranking = None
    spec = scenario.scoring
    n_samples = scenario.uncertainty.samples if scenario.uncertainty is not None else 0
    if scenario.strategies and weights is not None and spec is not None:
        runs = smaa_runs(len(weights.table), spec.methods)
        t0 = _stage(progress, "scoring", total=runs + n_samples)
        ranking = score_strategies(
            scenario,
            assessment.indicators,
            weights=weights,
            workers=scale.workers,
            scheduler=scale.client,
            progress=progress,
        )
    else:
        t0 = _stage(progress, "scoring", total=n_samples or None)
    uncertainty = None
    if scenario.uncertainty is not None:  # within the scoring stage: it ranks the samples
        uncertainty = assess_uncertainty(
            scenario,
            state,
            weights=weights if ranking is not None else None,
            nominal=performance_table(assessment.indicators),
            workers=scale.workers,
            scheduler=scale.client,
            progress=progress,
        )
    timings["scoring"] = time.perf_counter() - t0

    congestion = car_congestion(state, streets)
    zones_out = zones_with_inputs(state)
    flows = flow_lines(state)
    summary = run_summary(state, zones_out, streets, source, congestion=congestion)
    manifest = run_manifest(
        scenario,
        started_utc=started.isoformat(timespec="seconds"),
        # how the run was spread; the numbers do not depend on it (tests/test_parallel.py)
        run_options={
            "workers": scale.workers,
            "dask": scale.client is not None,
            "max_memory_bytes": scale.max_memory,
        },
        inputs=inputs,
        parameters=params,
        summary=summary,
        network_source=source,
        timings_s=timings,
    )
    if uncertainty is not None:
        manifest["uncertainty"] = {
            "samples": len(uncertainty.samples),
            "method": uncertainty.method,
            "seed": uncertainty.seed,
            "inputs": uncertainty.inputs.to_dict(orient="records"),
        }
    logger.info("%d zones, population %s", len(zones_out), f"{summary['population_total']:,}")
    return Run(
        scenario=scenario,
        zones=zones_out,
        flows=flows,
        state=state,
        streets=streets,
        assessment=assessment,
        ranking=ranking,
        manifest=manifest,
        congestion=congestion,
        uncertainty=uncertainty,
    )


def run_scenario(
    scenario: Scenario,
    out_dir: Path,
    *,
    progress: Progress | None = None,
    on_stage: Callable[[str], None] | None = None,
    workers: int | Literal["auto"] | None = 1,
    scheduler: Any = None,
    max_memory: int | str | None = None,
    force: bool = False,
) -> Path:
    """Run a scenario and write its outputs to ``out_dir``.

    Parameters
    ----------
    scenario
        A loaded scenario.
    out_dir
        Output folder, e.g. ``outputs/huangyan`` (replaced only on success).
    progress, on_stage, workers, scheduler, max_memory, force
        See :func:`run`.

    Returns
    -------
    pathlib.Path
        The output folder.
    """
    out = check_output_dir(Path(out_dir), scenario.input_files(), force=force)
    run(
        scenario,
        out=out,
        progress=progress,
        on_stage=on_stage,
        workers=workers,
        scheduler=scheduler,
        max_memory=max_memory,
        force=force,
    )
    return out


@dataclass(frozen=True, slots=True)
class ValidationSummary:
    """What ``urlink validate`` found: the zones of a valid scenario.

    Attributes
    ----------
    zones
        Number of zones.
    by_level
        Zones per level (``township``, ``county``...).
    population
        Residents of every zone.
    focus_population
        Residents of the focus unit (the district).
    context_population
        Residents of the context zones around it.
    """

    zones: int
    by_level: dict[str, int]
    population: int
    focus_population: int
    context_population: int


def validate_scenario(scenario: Scenario) -> ValidationSummary:
    """Check a scenario and its inputs without writing anything.

    Every strategy is applied once to the base state, so bad parameters show up now, and
    the paths of ``[uncertainty.inputs]`` are checked against it.

    Parameters
    ----------
    scenario
        A loaded scenario.

    Returns
    -------
    ValidationSummary

    Raises
    ------
    InputError
        On the first problem found.
    """
    check_inputs(scenario)
    zones, _ = zones_from_scenario(scenario)
    check_strategy_zones(scenario, zones)
    if scenario.strategies:
        streets = network_from_scenario(scenario, zones)
        state = base_state(scenario, zones, streets)
        for strategy in scenario.strategies:
            with_scenario_path(
                scenario,
                functools.partial(apply_strategy, state, strategy),
                section="[[strategies]]",
            )
        if scenario.uncertainty is not None:
            resolve_uncertainty(scenario, state)
    focus = scenario.boundaries.focus
    inside = (zones["county_code"] == focus) | (zones.index == focus)
    pop = zones["population"].astype(float)
    return ValidationSummary(
        zones=len(zones),
        by_level={str(k): int(v) for k, v in zones["level"].value_counts().sort_index().items()},
        population=int(pop.sum()),
        focus_population=int(pop[inside].sum()),
        context_population=int(pop[~inside].sum()),
    )


def build_map(
    scenario: Scenario,
    out_dir: Path,
    *,
    strategy: str | None = None,
    lang: Lang = "both",
    offline: bool = True,
) -> list[Path]:
    """Build a scenario's flows and write ``map.html`` (and a comparison) into ``out_dir``.

    Each file is written into a temporary folder and renamed into ``out_dir``, so an
    earlier map survives a failure; other files in ``out_dir`` are left alone, and a page
    of the same name is replaced only if urlink wrote it.

    Parameters
    ----------
    scenario
        A loaded scenario.
    out_dir
        Folder for the maps (created if needed; must not hold an input file's path).
    strategy
        Also write ``compare_<strategy>.html`` for this strategy of the scenario (its
        ranking among all strategies is shown, so all of them are assessed).
    lang
        Label language.
    offline
        Self-contained pages without background tiles (default); False uses CDNs and
        OpenStreetMap tiles.

    Returns
    -------
    list of pathlib.Path
        The written pages, ``map.html`` first.

    Raises
    ------
    InputError
        On bad input, e.g. a strategy the scenario does not have.
    """
    weights = check_inputs(scenario)
    names = [s.name for s in scenario.strategies]
    if strategy is not None and strategy not in names:
        msg = (
            f"--strategy {strategy!r}: {scenario.path} has no such strategy; use one of {names}"
            if names
            else f"--strategy {strategy!r}: {scenario.path} defines no strategies"
        )
        raise InputError(msg)
    out = check_output_dir(out_dir, scenario.input_files(), force=True)
    pages = ["map.html"] + ([f"compare_{strategy}.html"] if strategy is not None else [])
    with files_into_folder(out, pages) as tmp:
        zones, _ = zones_from_scenario(scenario)
        streets = network_from_scenario(scenario, zones)
        state = base_state(scenario, zones, streets)
        source = str(streets.graph.get("network_source", "unknown"))
        zones_out = zones_with_inputs(state)
        linkage = linkage_flows_of(state)
        credits = data_credits(scenario, source)
        write_map(
            tmp / "map.html",
            zones_out,
            linkage,
            source,
            lang=lang,
            offline=offline,
            focus=focus_ids(zones_out, scenario),
            title=scenario.title or scenario.name,
            credits=credits,
            roads=main_roads(streets),
            water=base_water(scenario, zones_out),
        )
        if strategy is not None:
            a = assess_strategies(scenario, state)
            tables = run_tables(a, score_strategies(scenario, a.indicators, weights=weights))
            write_comparisons(
                tmp,
                zones_out,
                tables,
                scenario,
                strategies=[strategy],
                lang=lang,
                offline=offline,
                credits=credits,
                streets=streets,
            )
    written = [out / name for name in pages]
    return written
