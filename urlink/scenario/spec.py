"""Scenario files: TOML in, frozen dataclasses out.

A scenario names the input data of a run and its parameters. It is plain TOML read with the
standard library's :mod:`tomllib`; nothing in it is executed. Unknown keys, missing required
keys and values of the wrong type are errors that name the file and the key. Relative paths
resolve against the folder of the scenario file.

The full key reference is ``docs/scenarios.md``. A minimal scenario::

    name = "huangyan"
    title = "Huangyan District, Taizhou"

    [boundaries]
    path = "../data/boundaries/taizhou_counties_gcj02.geojson"
    id_col = "adcode"
    name_col = "name_zh"
    coords = "gcj02"
    focus = "331003"

    [population]
    counties = "../data/tables/county_population_2020.csv"
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from urlink.errors import InputError
from urlink.io.crs import Coords, check_coords
from urlink.io.postgis import check_table_name, is_postgis_url, redact_dsn
from urlink.model.carbon import EmissionSettings
from urlink.model.flows import FLOW_MODELS
from urlink.model.flows.capital import CapitalParams
from urlink.model.flows.ecosystem import EcosystemParams
from urlink.model.flows.goods import GoodsParams
from urlink.model.flows.people import PeopleParams
from urlink.model.intrazonal import INTRAZONAL_RULES, IntrazonalRule
from urlink.model.modes import ModeChoiceParams
from urlink.model.state import LEVELS, ContextFlows, DistancePath, Strategy
from urlink.model.typology import TypologyParams
from urlink.network.streets import DEFAULT_SPEEDS_KPH, SpeedParams
from urlink.params import params_from_table
from urlink.scenario.strategies import STRATEGY_KINDS
from urlink.scoring.costs import CostParams
from urlink.scoring.indicators import INDICATORS
from urlink.scoring.methods import (
    DEFAULT_REFERENCE_BAND,
    SCORING_METHODS,
    SCORING_NORMALISATIONS,
    ScoringNormalisation,
)
from urlink.scoring.uncertainty import SAMPLING_METHODS, Distribution, SamplingMethod
from urlink.validate import (
    MAX_STRATEGIES,
    MAX_TOML_DEPTH,
    MAX_ZONES_OPT_IN,
    check_file_size,
    find_markup,
)

if TYPE_CHECKING:
    from urlink.network.osm import NetworkType
    from urlink.network.streets import TravelMode

__all__ = [
    "OPTIONAL_SECTIONS",
    "BoundariesSpec",
    "CapitalSpec",
    "DasymetricSpec",
    "EcosystemSpec",
    "EmissionsSpec",
    "FlowsSpec",
    "GoodsSpec",
    "NetworkSpec",
    "OsmBoundariesSpec",
    "Package",
    "PeopleSpec",
    "PopulationSpec",
    "Scenario",
    "ScoringSpec",
    "SettlementsSpec",
    "StrategySpec",
    "TownshipsSpec",
    "TypologySpec",
    "UncertainInput",
    "UncertaintySpec",
    "load_scenario",
]

_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")

Context = tuple[str, ...] | Literal["all", "touching"]

_UNCITED_RATE = "assumption: trip rate not cited"
_RESIDENTS_AS_PROXY = "estimate: residents as a proxy (no table of jobs or services by zone given)"

OPTIONAL_SECTIONS = ("bus", "flows.goods", "flows.ecosystem", "flows.capital")
"""Sections whose input tables may be marked ``optional = true``: a header-only or all-NaN
table then drops the section (and the indicators computed from it) with a warning.
``[services]`` is not among them: without a district centre the access indicators would be
computed as 0 rather than dropped."""


@dataclass(frozen=True, slots=True)
class BoundariesSpec:
    """``[boundaries]``: the administrative polygons (county level for Huangyan).

    Attributes
    ----------
    path
        Vector file with the polygons, or a ``postgresql://`` URL (PostGIS source; its
        table is in ``layer``, from the TOML key ``table``).
    id_col, name_col, name_en_col
        Columns with the zone id, name and Latin-script name.
    coords
        ``"wgs84"`` or ``"gcj02"``.
    layer
        Layer in a multi-layer file; the table (``schema.table``) of a PostGIS source.
    encoding
        Text encoding of the attributes if the file does not declare it (``"gbk"``).
    focus
        Id of the study unit that is split into township zones.
    context
        Which other units become zones: ``"all"``, ``"touching"`` (sharing a border with
        ``focus``) or a list of ids.
    """

    path: Path | str
    id_col: str
    name_col: str
    focus: str
    name_en_col: str | None = None
    coords: Coords = "wgs84"
    layer: str | None = None
    encoding: str | None = None
    context: Context = "all"


@dataclass(frozen=True, slots=True)
class OsmBoundariesSpec:
    """``[boundaries]`` from OpenStreetMap: one zone per admin relation of a level.

    Used when ``[boundaries]`` has ``osm`` instead of ``path`` (see
    :func:`urlink.io.osm_admin.zones_from_osm`). Every zone belongs to the study area
    ``focus`` (e.g. a country), which stands for the county level and above in the
    attribution; the zones themselves are at the township level.

    Attributes
    ----------
    path
        The ``.osm.pbf`` file (TOML key ``osm``).
    admin_level
        The OSM ``admin_level`` of the zones (Malta's local councils: 8).
    focus
        Id of the study area that holds every zone (``"MT"``).
    focus_name
        Its name, shown in reports and attribution tables.
    include
        Relation ids to take whatever their ``admin_level`` (mistagged relations).
    names
        The OSM tag for zone names (``"name"``, ``"name:en"``, ...).
    """

    path: Path
    admin_level: int
    focus: str
    focus_name: str | None = None
    include: tuple[int, ...] = ()
    names: str = "name"
    layer: None = None
    coords: Coords = "wgs84"


@dataclass(frozen=True, slots=True)
class DasymetricSpec:
    """``[population.dasymetric]``: a published total shared over the zones by OSM footprints.

    See :func:`urlink.model.dasymetric.add_dasymetric_population`.

    Attributes
    ----------
    total
        The published population of all zones together (a census count).
    total_source
        Its citation, copied into every zone's ``population_source``.
    footprints
        The ``.osm.pbf`` with buildings and residential land use (default: the
        ``[boundaries] osm`` file).
    weight
        ``"auto"``, ``"buildings"`` or ``"residential"``.
    min_coverage
        With ``"auto"``: share of residential land use that buildings must cover.
    """

    total: int
    total_source: str
    footprints: Path | None = None
    weight: str = "auto"
    min_coverage: float = 0.25


@dataclass(frozen=True, slots=True)
class TownshipsSpec:
    """``[townships]``: seat points of the focus unit's townships (Voronoi zones).

    Attributes
    ----------
    path
        Vector file with one point per township, or a ``postgresql://`` URL (the table is
        in ``layer``).
    id_col, name_col, name_en_col
        Columns with the township code, name and Latin-script name.
    coords
        ``"wgs84"`` or ``"gcj02"``.
    layer
        Layer in a multi-layer file; the table (``schema.table``) of a PostGIS source.
    encoding
        Text encoding of the attributes if the file does not declare it (``"gbk"``).
    """

    path: Path | str
    id_col: str
    name_col: str
    name_en_col: str | None = None
    coords: Coords = "wgs84"
    layer: str | None = None
    encoding: str | None = None


@dataclass(frozen=True, slots=True)
class SettlementsSpec:
    """``[settlements]``: named places (GeoNames) used for county seats and the proxy network.

    Attributes
    ----------
    path
        Vector file with one point per place, or a ``postgresql://`` URL (the table is in
        ``layer``).
    id_col, name_col, name_en_col
        Columns with the place id, its name and a Latin-script name.
    names_col
        Column with ``;``-separated alternate names, matched against county names to find
        each county's seat town (see :func:`urlink.io.boundaries.add_seats_from_places`).
    coords
        ``"wgs84"`` or ``"gcj02"``.
    layer
        Layer in a multi-layer file; the table (``schema.table``) of a PostGIS source.
    encoding
        Text encoding of the attributes if the file does not declare it (``"gbk"``).
    proxy_nodes
        Whether the places inside the study area become extra nodes of the proxy network.
    """

    path: Path | str
    id_col: str
    name_col: str
    name_en_col: str | None = None
    names_col: str | None = None
    coords: Coords = "wgs84"
    layer: str | None = None
    encoding: str | None = None
    proxy_nodes: bool = False


@dataclass(frozen=True, slots=True)
class NetworkSpec:
    """``[network]``: the street network and travel-time settings.

    Attributes
    ----------
    osm
        OpenStreetMap file (``.osm``, ``.osm.bz2``, ``.osm.pbf``); without it a proxy
        network is built between zone seats (``network_source = "proxy"``).
    network_type
        OSM ways to keep: ``drive``, ``drive_service``, ``walk``, ``all``.
    mode
        Travel mode of the skim: ``drive``, ``walk``, ``bus``.
    proxy_method
        ``gabriel`` or ``delaunay``.
    circuity
        Road / great-circle distance of proxy links.
    speeds
        The speed table and mode speeds (:class:`urlink.network.streets.SpeedParams`; TOML
        keys ``speeds_kph`` (overrides of the table), ``fallback_kph``, ``walk_kph``,
        ``bus_speed_factor``, ``bus_headway_min`` in ``[network]``).
    access_speed_kph
        Speed of the access leg from a zone seat to the network.
    cutoff_min
        Longest trip in the skim (minutes); longer ones are NaN.
    ferries
        Keep scheduled ferries of the OSM file as network edges (islands; ``.osm.pbf``).
    distance
        What ``distance_km`` of a zone pair is: ``"shortest"``, the shortest path by length
        (a second search), or ``"fastest"``, the length of the skim's fastest path, found
        in the same search as the time (#20).
    max_zones
        Most zones the run may have; None: :data:`urlink.validate.MAX_ZONES` (5,000). A
        larger value (up to :data:`urlink.validate.MAX_ZONES_OPT_IN`) is allowed for a
        sparse run only (every people purpose on a sparse support; no goods model, mode
        choice, bus service or calibrated purpose), whose zone matrices are checked
        against the available memory (:func:`urlink.validate.check_zone_count`; #20).
    matrix_dtype
        How the skim and the distances are stored: ``"float64"`` (the default) or
        ``"float32"``, half their memory, each value rounded to about 7 significant digits
        (1e-7 relative; the searches themselves are in float64); for runs of tens of
        thousands of zones (#20).
    """

    osm: Path | None = None
    network_type: NetworkType = "drive"
    mode: TravelMode = "drive"
    proxy_method: Literal["gabriel", "delaunay"] = "gabriel"
    circuity: float = 1.3
    speeds: SpeedParams = field(default_factory=SpeedParams)
    access_speed_kph: float = 4.5
    cutoff_min: float | None = None
    ferries: bool = False
    distance: DistancePath = "shortest"
    max_zones: int | None = None
    matrix_dtype: Literal["float64", "float32"] = "float64"


@dataclass(frozen=True, slots=True)
class TypologySpec:
    """``[typology]``: thresholds of :func:`urlink.model.typology.add_typology`.

    Attributes
    ----------
    params
        The thresholds (:class:`urlink.model.typology.TypologyParams`; its fields are the
        TOML keys ``urban_density``, ``cluster_density``, ``periurban_max_time_min``).
    population_raster
        Optional population-count GeoTIFF (e.g. WorldPop); densities then come from its
        zonal sums instead of the zone populations.
    """

    params: TypologyParams = field(default_factory=TypologyParams)
    population_raster: Path | None = None


@dataclass(frozen=True, slots=True)
class PeopleSpec:
    """``[flows.people]``: trips between zones.

    Attributes
    ----------
    model
        A registered people model (:data:`urlink.model.flows.FLOW_MODELS`).
    params
        The model's settings: every other key of the table is a field of the model's
        settings dataclass (:class:`urlink.model.flows.people.PeopleParams` for the built-in
        models: ``deterrence``, ``beta``, ``self_flows``, ``tol``, ``max_iter``,
        ``min_cost_min``, ``radiation_normalise``, ``top_destinations``, ``support``,
        ``k_nearest``, ``support_cutoff_min``).
    trip_rate
        Trips per resident and day when the scenario has no purposes (productions =
        population x rate; attractions = population, scaled to the same total).
    rate_source
        Where that rate comes from (a citation, or ``assumption: ...``).
    purposes
        Trip purposes (``[flows.people.purposes.<name>]``), each with its own rate,
        attraction weights and deterrence; empty: one purpose, ``all``.
    """

    model: str = "gravity_doubly"
    params: Any = field(default_factory=PeopleParams)
    trip_rate: float = 0.3
    rate_source: str = _UNCITED_RATE
    purposes: tuple[PurposeSpec, ...] = ()


@dataclass(frozen=True, slots=True)
class PurposeSpec:
    """``[flows.people.purposes.<name>]``: one trip purpose.

    Attributes
    ----------
    name
        The purpose (``home_work``, ``home_other``, ``non_home``...).
    trip_rate
        Trips of this purpose per resident and day.
    rate_source
        Where the rate comes from (required: a citation, or ``assumption: ...``).
    params
        The model's settings for this purpose: the ``[flows.people]`` settings with this
        table's overrides (``beta``, ``deterrence``...).
    attraction
        CSV ``zone_id, weight[, weight_source]`` of attraction weights (jobs, services);
        None: the residents of each zone.
    attraction_source
        Where the weights come from (labelled in every flow row).
    mean_time_min
        Calibrate beta so the mean trip time of this purpose equals this (minutes), e.g.
        from a travel survey; None: use ``beta`` as given.
    mean_km
        Or calibrate to a mean trip length (km; network distance, intrazonal trips at half
        the distance to the nearest zone).
    mean_source
        Where the target comes from.
    """

    name: str
    trip_rate: float
    rate_source: str
    params: Any
    attraction: Path | None = None
    attraction_source: str = _RESIDENTS_AS_PROXY
    mean_time_min: float | None = None
    mean_km: float | None = None
    mean_source: str = ""

    def target(self) -> tuple[str, float] | None:
        """Return the calibration target: ``("min", value)``, ``("km", value)`` or None."""
        if self.mean_time_min is not None:
            return ("min", self.mean_time_min)
        if self.mean_km is not None:
            return ("km", self.mean_km)
        return None


@dataclass(frozen=True, slots=True)
class GoodsSpec:
    """``[flows.goods]``: a commodity shipped from producing zones to markets.

    Attributes
    ----------
    supply_weights
        CSV ``zone_id, weight, weight_source``.
    markets
        CSV ``zone_id, demand_weight``: markets absorb the supply in these shares.
    supply_t_per_year
        Annual production shared over zones by ``supply_weights``.
    model
        A registered goods model.
    params
        The model's settings (:class:`urlink.model.flows.goods.GoodsParams`: ``beta``,
        ``self_flows``, ``commodity``).
    """

    supply_weights: Path
    markets: Path
    supply_t_per_year: float
    model: str = "production_constrained"
    params: Any = field(default_factory=GoodsParams)


@dataclass(frozen=True, slots=True)
class EcosystemSpec:
    """``[flows.ecosystem]``: a service (drinking water) from source zones to users.

    Attributes
    ----------
    sources
        CSV ``zone_id``: the source zones; the total supply is shared by zone area.
    phases
        CSV ``phase, m3_per_day, users``: supply schemes and the zones they serve
        (``;``-separated ids; a county id stands for all its township zones); a phase's
        volume is shared among its users by population.
    model
        A registered ecosystem model.
    service
        Name of the service.
    params
        The model's settings (:class:`urlink.model.flows.ecosystem.EcosystemParams`:
        ``max_time_min`` for the ``proximity`` model).
    """

    sources: Path
    phases: Path
    model: str = "declared_links"
    service: str = "water"
    params: Any = field(default_factory=EcosystemParams)


@dataclass(frozen=True, slots=True)
class CapitalSpec:
    """``[flows.capital]``: money flows.

    Attributes
    ----------
    eco_compensation
        Compute payments for the ecosystem flows (``eco_compensation`` model).
    params
        Rates (:class:`urlink.model.flows.capital.CapitalParams`: ``eco_rate_yuan_per_m3``
        (default: the documented estimate), ``quality_met`` (False reverses the payments),
        ``per_capita_yuan`` for transfer rows without an amount).
    transfers
        Optional CSV of declared transfers (``payer, payee, amount_yuan_per_year``).
    """

    eco_compensation: bool = True
    params: CapitalParams = field(default_factory=CapitalParams)
    transfers: Path | None = None


EmissionsSpec = EmissionSettings
"""``[emissions]`` is :class:`urlink.model.carbon.EmissionSettings` (kept as an alias)."""

StrategySpec = Strategy
"""``[[strategies]]`` entries are :class:`urlink.model.state.Strategy` (kept as an alias)."""


@dataclass(frozen=True, slots=True)
class AttributionSpec:
    """``[attribution]``: how effects are attributed to administrative units.

    Attributes
    ----------
    materiality
        Effects of a unit below this share of the largest effect of the same kind at its
        level are not attributed to the unit
        (:data:`urlink.scoring.attribution.MATERIALITY`, 0.01; 0 keeps everything).
    """

    materiality: float = 0.01


@dataclass(frozen=True, slots=True)
class Package:
    """``[[packages]]``: strategies evaluated together, applied in order to one state.

    The package is assessed, attributed and ranked like a strategy; its effects include
    the members' interactions (a new road and the upgrade of a road next to it do not add
    up), not the sum of the members' separate effects.

    Attributes
    ----------
    name
        Short id, unique among strategies and packages.
    strategies
        Names of two or more ``[[strategies]]``, in the order they are applied.
    title
        Readable title.
    """

    name: str
    strategies: tuple[str, ...]
    title: str = ""


@dataclass(frozen=True, slots=True)
class ScoringSpec:
    """``[scoring]``: how strategies are ranked.

    Attributes
    ----------
    weights
        Stakeholder points form (``group,label,indicator,points``; 100 points per group);
        its indicators are the ones scored.
    ahp
        Alternatively, AHP judgments (``group,row,col,value``).
    methods
        Scoring methods (``weighted_sum``, ``topsis``).
    smaa_samples
        Weight samples for the robustness analysis.
    concentration
        Dirichlet concentration of the samples around each group's weights.
    normalisation
        ``"interval"`` (default: against reference values, so a strategy's score depends on
        the size of its own effects only) or ``"minmax"`` (over the strategies compared);
        see ``docs/scoring.md``.
    references
        ``[scoring.references]``: planner-set ``(indicator, worst, best)`` values.
    reference_band
        Half-width of the default reference interval of the other indicators, as a share
        of the baseline value (:data:`urlink.scoring.methods.DEFAULT_REFERENCE_BAND`).
    """

    weights: Path | None = None
    ahp: Path | None = None
    methods: tuple[str, ...] = ("weighted_sum", "topsis")
    smaa_samples: int = 10_000
    concentration: float = 50.0
    normalisation: ScoringNormalisation = "interval"
    references: tuple[tuple[str, float, float], ...] = ()
    reference_band: float = DEFAULT_REFERENCE_BAND

    @property
    def reference_map(self) -> dict[str, tuple[float, float]]:
        """The planner-set references as a mapping indicator -> ``(worst, best)``."""
        return {name: (worst, best) for name, worst, best in self.references}


@dataclass(frozen=True, slots=True)
class FlowsSpec:
    """``[flows]``: which flow types a run builds (each optional), and within-zone trips.

    Attributes
    ----------
    people, goods, ecosystem, capital
        The flow types (None: not modelled).
    within_zone
        ``"half_nearest"`` (default): trips and shipments within a zone are modelled, at half
        the time and distance to the nearest other zone (:mod:`urlink.model.intrazonal`);
        ``"none"``: every person trip leaves its zone (the zero diagonal of the skim).
    context_flows
        ``"cordon"`` (default): person trips and goods flows between two context zones
        (the whole neighbouring counties) are modelled, so the study area's flows compete
        with them, but dropped from the outputs: the study area is seen at its cordon.
        ``"all"``: keep them.
    """

    people: PeopleSpec | None = None
    goods: GoodsSpec | None = None
    ecosystem: EcosystemSpec | None = None
    capital: CapitalSpec | None = None
    within_zone: IntrazonalRule = "half_nearest"
    context_flows: ContextFlows = "cordon"


@dataclass(frozen=True, slots=True)
class BusSpec:
    """``[bus]``: the baseline bus service, from a table of lines or a GTFS feed.

    Attributes
    ----------
    lines
        CSV ``line, stops, headway_min, speed_factor, fare_yuan, source`` (stops: zone ids
        separated by ``;``) (:func:`urlink.network.transit.bus_service_from_table`).
    gtfs
        Or a GTFS feed (``.zip``) whose stops are mapped to the zones
        (:func:`urlink.network.transit.bus_service_from_gtfs`).
    osm
        Or an ``.osm.pbf`` whose ``route=bus`` relations give the lines
        (:func:`urlink.network.transit.bus_service_from_osm`), with ``operator``,
        ``exclude_refs``, ``headway_min`` and ``headway_source`` (for routes without an
        ``interval`` tag) and ``fare_yuan``.
    """

    lines: Path | None = None
    gtfs: Path | None = None
    osm: Path | None = None
    operator: str | None = None
    exclude_refs: tuple[str, ...] = ()
    headway_min: float = 30.0
    headway_source: str = "assumption"
    fare_yuan: float = 0.0


@dataclass(frozen=True, slots=True)
class PopulationSpec:
    """``[population]``: where zone populations come from.

    Attributes
    ----------
    counties
        Table (``zone_id``, ``population``, ``population_source``) for county-level zones,
        including the focus unit, whose total is split over its townships.
    township_units
        NBS unit-count table of the townships, for the estimate.
    township_references
        Published township figures used to fit the community weight.
    community_weight
        Fixed community weight k; if not given it is fitted to the references.
    override
        Optional table whose rows replace any zone's population (user data wins).
    dasymetric
        ``[population.dasymetric]``: estimate the zones' populations from OSM footprints
        scaled to a published total (zones from OSM, where no table exists).
    """

    counties: Path | None = None
    township_units: Path | None = None
    township_references: Path | None = None
    community_weight: float | None = None
    override: Path | None = None
    dasymetric: DasymetricSpec | None = None


@dataclass(frozen=True, slots=True)
class UncertainInput:
    """One entry of ``[uncertainty.inputs]``: an input and its distribution.

    Attributes
    ----------
    path
        Where the input is (``flows.goods.beta``, ``modes.beta_time_per_min``,
        ``strategies.<name>.params.<key>``, ``population.<zone id>``...; the list is in
        ``docs/uncertainty.md`` and :func:`urlink.scenario.uncertainty.uncertain_parameters`).
    distribution
        Its distribution (:class:`urlink.scoring.uncertainty.Distribution`).
    source
        Why this range (a citation or the reasoning).
    """

    path: str
    distribution: Distribution
    source: str = ""


@dataclass(frozen=True, slots=True)
class UncertaintySpec:
    """``[uncertainty]``: inputs that are not known exactly, and how to sample them.

    Attributes
    ----------
    samples
        Input samples (each re-evaluates the baseline and every strategy).
    method
        ``"lhs"`` (Latin hypercube) or ``"sobol"`` (scrambled Sobol' points; a power of 2).
    inputs
        The uncertain inputs (:class:`UncertainInput`).
    estimated_populations
        Give every zone whose population is an estimate a range from its estimation
        method (``docs/uncertainty.md``).
    weight_draws
        Weight draws per input sample in the joint analysis.
    """

    samples: int = 64
    method: SamplingMethod = "lhs"
    inputs: tuple[UncertainInput, ...] = ()
    estimated_populations: bool = False
    weight_draws: int = 20


@dataclass(frozen=True, slots=True)
class Scenario:
    """A parsed scenario file.

    Attributes
    ----------
    name
        Short name (lower-case letters, digits, ``-`` and ``_``); names the output folder.
    title
        Human-readable title.
    path
        The scenario file itself.
    boundaries, townships, population
        The sections above.
    seed
        Seed for everything random in a run.
    packages
        ``[[packages]]``: strategies assessed together (:class:`Package`).
    attribution
        ``[attribution]`` (:class:`AttributionSpec`).
    costs
        ``[costs]``: discount rate and life of the annualised costs
        (:class:`urlink.scoring.costs.CostParams`).
    optional_inputs
        The sections marked ``optional = true`` (:data:`OPTIONAL_SECTIONS`): a table of
        theirs with a header and no data rows, or with every number empty (all NaN), leaves
        the section out of the run with a warning naming the indicators dropped, instead of
        an error.
    """

    name: str
    title: str
    path: Path
    boundaries: BoundariesSpec | OsmBoundariesSpec
    population: PopulationSpec
    townships: TownshipsSpec | None = None
    settlements: SettlementsSpec | None = None
    network: NetworkSpec = field(default_factory=NetworkSpec)
    typology: TypologySpec = field(default_factory=TypologySpec)
    flows: FlowsSpec = field(default_factory=FlowsSpec)
    emissions: EmissionSettings = field(default_factory=EmissionSettings)
    services: Path | None = None
    strategies: tuple[Strategy, ...] = ()
    scoring: ScoringSpec | None = None
    bus: BusSpec | None = None
    modes: ModeChoiceParams | None = None
    seed: int = 0
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    packages: tuple[Package, ...] = ()
    attribution: AttributionSpec = field(default_factory=AttributionSpec)
    costs: CostParams = field(default_factory=CostParams)
    uncertainty: UncertaintySpec | None = None
    optional_inputs: frozenset[str] = frozenset()

    def _layer_sources(self) -> list[tuple[Path | str, str | None]]:
        specs = (self.boundaries, self.townships, self.settlements)
        return [(s.path, s.layer) for s in specs if s is not None]

    def input_tables(self) -> list[tuple[str, str]]:
        """List the PostGIS tables the scenario reads, as (URL, table) pairs.

        Returns
        -------
        list of tuple
            Each ``postgresql://`` source with its ``schema.table`` (see :mod:`urlink.store.runs`).
        """
        return [(str(p), str(t)) for p, t in self._layer_sources() if isinstance(p, str)]

    def input_files(self) -> list[Path]:
        """List every input file the scenario names, scenario file first.

        Returns
        -------
        list of pathlib.Path
            Existing or not; :func:`urlink.scenario.build.validate` checks them.
        """
        files = [self.path]
        files += [p for p, _ in self._layer_sources() if isinstance(p, Path)]
        if self.network.osm is not None:
            files.append(self.network.osm)
        if self.typology.population_raster is not None:
            files.append(self.typology.population_raster)
        if self.services is not None:
            files.append(self.services)
        if self.scoring is not None:
            files += [p for p in (self.scoring.weights, self.scoring.ahp) if p is not None]
        f = self.flows
        if f.goods is not None:
            files += [f.goods.supply_weights, f.goods.markets]
        if f.ecosystem is not None:
            files += [f.ecosystem.sources, f.ecosystem.phases]
        if f.capital is not None and f.capital.transfers is not None:
            files.append(f.capital.transfers)
        if f.people is not None:
            files += [s.attraction for s in f.people.purposes if s.attraction is not None]
        if self.bus is not None:
            files += [p for p in (self.bus.lines, self.bus.gtfs, self.bus.osm) if p is not None]
        pop = self.population
        files += [
            p
            for p in (pop.counties, pop.township_units, pop.township_references, pop.override)
            if p is not None
        ]
        if pop.dasymetric is not None and pop.dasymetric.footprints not in (None, *files):
            files.append(pop.dasymetric.footprints)  # type: ignore[arg-type]
        return files


class _Table:
    """Reads the keys of one TOML table with type checks; remembers what it used."""

    def __init__(self, data: dict[str, Any], *, section: str, file: Path) -> None:
        self.data = data
        self.section = section
        self.file = file
        self.used: set[str] = set()

    def where(self, key: str) -> str:
        prefix = f"[{self.section}] " if self.section else ""
        return f"{self.file}: {prefix}key {key!r}"

    def get(
        self,
        key: str,
        kind: type | tuple[type, ...],
        *,
        required: bool = False,
        default: Any = None,
        items: type | None = None,
    ) -> Any:
        """Return the value of ``key`` checked to be a ``kind`` (a list of ``items``)."""
        self.used.add(key)
        if key not in self.data:
            if required:
                typo = difflib.get_close_matches(
                    key, [k for k in self.data if k not in self.used], n=1
                )
                if typo:
                    msg = f"{self.where(typo[0])} is not a known key; did you mean {key!r}?"
                    raise InputError(msg)
                msg = f"{self.where(key)} is missing; add it (see docs/scenarios.md)"
                raise InputError(msg)
            return default
        value = self.data[key]
        ok = isinstance(value, kind) and not (isinstance(value, bool) and kind in (int, float))
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value, ok = float(value), True
        if not ok:
            names = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
            msg = f"{self.where(key)} must be {names}, got {value!r}"
            raise InputError(msg)
        if items is not None and isinstance(value, list):
            wrong = [v for v in value if not isinstance(v, items) or isinstance(v, bool)]
            if wrong:
                msg = f"{self.where(key)} must be a list of {items.__name__}, got {value!r}"
                raise InputError(msg)
        texts = value if isinstance(value, list) else [value]
        if any(isinstance(v, str) and find_markup(v) for v in texts):
            msg = (
                f"{self.where(key)} = {value!r} contains HTML, script or template markup (or "
                "control characters); scenario text must be plain text, so remove it"
            )
            raise InputError(msg)
        return value

    def path(self, key: str, *, required: bool = False) -> Path | None:
        value = self.get(key, str, required=required)
        if value is None:
            return None
        p = Path(value)
        if p.is_absolute():
            return p
        try:
            return (self.file.parent / p).resolve()
        except (OSError, RuntimeError) as err:  # a symbolic link loop (RuntimeError < 3.13)
            msg = f"{self.where(key)} = {value!r} cannot be resolved ({err}); check the path"
            raise InputError(msg) from None

    def required_path(self, key: str) -> Path:
        p = self.path(key, required=True)
        if p is None:  # pragma: no cover - path() raised already
            raise InputError(self.where(key))
        return p

    def coords(self, key: str = "coords") -> Coords:
        value = self.get(key, str, default="wgs84")
        try:
            return check_coords(value, argument=key)
        except InputError as err:
            msg = f"{self.where(key)}: {err}"
            raise InputError(msg) from None

    def params(
        self,
        cls: type,
        *,
        keys: tuple[str, ...] | None = None,
        defaults: dict[str, Any] | None = None,
    ) -> Any:
        """Build the settings dataclass ``cls`` from this table (or from ``keys`` of it)."""
        data = self.data if keys is None else {k: v for k, v in self.data.items() if k in keys}
        for key in data:
            self.get(key, object)  # marks it used; refuses markup in text
        where = f"{self.file}: [{self.section}]" if self.section else str(self.file)
        return params_from_table(cls, data, where=where, base=self.file.parent, defaults=defaults)

    def finish(self) -> None:
        unknown = sorted(set(self.data) - self.used)
        if unknown:
            key = unknown[0]
            close = difflib.get_close_matches(key, sorted(self.used), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            msg = (
                f"{self.where(key)} is not a known key{hint} Known keys here: {sorted(self.used)}"
            )
            raise InputError(msg)

    def sub(self, key: str) -> _Table | None:
        """Return the optional sub-table ``key``, or None."""
        value = self.get(key, dict)
        if value is None:
            return None
        name = f"{self.section}.{key}" if self.section else key
        return _Table(value, section=name, file=self.file)

    def required_sub(self, key: str) -> _Table:
        """Return the required sub-table ``key``."""
        self.get(key, dict, required=True)
        table = self.sub(key)
        if table is None:  # pragma: no cover - get() raised already
            raise InputError(self.where(key))
        return table


def _layer_fields(t: _Table) -> dict[str, Any]:
    path: Path | str
    if is_postgis_url(t.data.get("path")):  # a PostGIS table (urlink.store.runs)
        path, layer = _postgis_source(t)
    else:
        path, layer = t.required_path("path"), t.get("layer", str)
        t.used.add("table")  # a known key (for typo hints), valid only with a URL
        if "table" in t.data:
            msg = (
                f"{t.where('table')} names a PostGIS table, so 'path' must be a "
                "postgresql:// URL; for a file use 'layer' (or nothing)"
            )
            raise InputError(msg)
    return {
        "path": path,
        "id_col": t.get("id_col", str, required=True),
        "name_col": t.get("name_col", str, required=True),
        "name_en_col": t.get("name_en_col", str),
        "coords": t.coords(),
        "layer": layer,
        "encoding": t.get("encoding", str),
    }


def _postgis_source(t: _Table) -> tuple[str, str]:
    """``path`` (a URL without password) and ``table`` of a PostGIS input."""
    url: str = t.get("path", str, required=True)
    if redact_dsn(url) != url:
        msg = (
            f"{t.where('path')} = {redact_dsn(url)!r} contains a password; scenario files are "
            "shared and recorded in the manifest, so give the password in PGPASSWORD, "
            "~/.pgpass or a pg_service.conf service instead (docs/postgis.md)"
        )
        raise InputError(msg)
    if "layer" in t.data:
        msg = f"{t.where('layer')}: a PostGIS source names its table with 'table', not 'layer'"
        raise InputError(msg)
    table: str = t.get("table", str, required=True)
    check_table_name(table, what=t.where("table"))
    return url, table


def _parse_osm_boundaries(t: _Table) -> OsmBoundariesSpec:
    """``[boundaries]`` with ``osm``: zones from the admin relations of a PBF file."""
    level = t.get("admin_level", int, required=True)
    if not 1 <= level <= 12:
        msg = (
            f"{t.where('admin_level')} = {level} is not an OSM admin_level; use 1-12 "
            "(8: municipalities in most countries)"
        )
        raise InputError(msg)
    include = t.get("include", list, default=[])
    if not all(isinstance(i, int) and not isinstance(i, bool) and i > 0 for i in include):
        msg = f"{t.where('include')} must be a list of OSM relation ids (positive integers)"
        raise InputError(msg)
    for key in ("path", "id_col", "name_col", "townships"):
        if key in t.data:
            msg = (
                f"{t.where(key)} does not go with 'osm': zones from OSM take their ids and "
                "names from the relations; remove it (or remove 'osm' to read a file)"
            )
            raise InputError(msg)
    coords = t.coords()
    if coords != "wgs84":
        msg = f"{t.where('coords')}: OpenStreetMap is in WGS84; remove the key"
        raise InputError(msg)
    return OsmBoundariesSpec(
        path=t.required_path("osm"),
        admin_level=level,
        focus=t.get("focus", str, required=True),
        focus_name=t.get("focus_name", str),
        include=tuple(include),
        names=t.get("names", str, default="name"),
    )


def _parse_dasymetric(
    t: _Table | None, boundaries: BoundariesSpec | OsmBoundariesSpec
) -> DasymetricSpec | None:
    """``[population.dasymetric]``."""
    if t is None:
        return None
    total = t.get("total", int, required=True)
    if total <= 0:
        msg = f"{t.where('total')} = {total} must be a positive count of residents"
        raise InputError(msg)
    footprints = t.path("footprints")
    if footprints is None:
        if not isinstance(boundaries, OsmBoundariesSpec):
            msg = (
                f"{t.where('footprints')} is missing: name the .osm.pbf with buildings "
                "(it defaults to [boundaries] osm only for zones from OSM)"
            )
            raise InputError(msg)
        footprints = boundaries.path
    weight = t.get("weight", str, default="auto")
    if weight not in ("auto", "buildings", "residential"):
        msg = f"{t.where('weight')} = {weight!r}; use 'auto', 'buildings' or 'residential'"
        raise InputError(msg)
    coverage = t.get("min_coverage", float, default=0.25)
    if not 0.0 <= coverage <= 1.0:
        msg = f"{t.where('min_coverage')} = {coverage} must lie between 0 and 1"
        raise InputError(msg)
    spec = DasymetricSpec(
        total=total,
        total_source=t.get("total_source", str, required=True),
        footprints=footprints,
        weight=weight,
        min_coverage=coverage,
    )
    t.finish()
    return spec


def _parse_context(t: _Table) -> Context:
    value = t.get("context", (str, list), default="all")
    if isinstance(value, str):
        if value not in ("all", "touching"):
            msg = f"{t.where('context')} must be 'all', 'touching' or a list of ids, got {value!r}"
            raise InputError(msg)
        return value  # type: ignore[return-value]
    if not all(isinstance(v, str) for v in value):
        msg = f"{t.where('context')} must be a list of id strings, got {value!r}"
        raise InputError(msg)
    return tuple(value)


def _read_toml(path: str | Path) -> tuple[Path, dict[str, Any]]:
    """Read a scenario file: its absolute path and its TOML data, checked for size and depth."""
    check_file_size(path, kind="scenario", what="scenario file", allow_empty=True)
    file = Path(path).resolve()
    try:
        with file.open("rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as err:
        msg = f"{file}: not valid TOML ({err}); fix the syntax at that line"
        raise InputError(msg) from None
    except UnicodeDecodeError:
        msg = f"{file}: not UTF-8 text; save the scenario as UTF-8"
        raise InputError(msg) from None
    except RecursionError:
        msg = (
            f"{file}: tables or arrays are nested too deeply to read (more than "
            f"{MAX_TOML_DEPTH} levels, urlink.validate.MAX_TOML_DEPTH); a scenario needs at "
            "most 5"
        )
        raise InputError(msg) from None
    _check_depth(data, file=file)
    return file, data


def load_scenario(path: str | Path) -> Scenario:
    """Read and check a scenario file.

    Parameters
    ----------
    path
        The ``.toml`` file.

    Returns
    -------
    Scenario
        The parsed scenario with absolute paths.

    Raises
    ------
    InputError
        If the file is missing or not TOML, a key is unknown, missing or of the wrong type.
        The message names the file and the key.

    Examples
    --------
    >>> s = load_scenario("scenarios/huangyan.toml")
    >>> s.name, s.boundaries.focus, s.boundaries.coords
    ('huangyan', '331003', 'gcj02')
    """
    file, data = _read_toml(path)

    top = _Table(data, section="", file=file)
    name = top.get("name", str, required=True)
    if not _NAME_RE.match(name):
        msg = (
            f"{top.where('name')} = {name!r} is not a valid scenario name; use 1-63 lower-case "
            "letters, digits, '-' or '_', starting with a letter or digit"
        )
        raise InputError(msg)
    title = top.get("title", str, default=name)
    seed = _seed(top)

    b = top.required_sub("boundaries")
    boundaries: BoundariesSpec | OsmBoundariesSpec
    if "osm" in b.data:
        boundaries = _parse_osm_boundaries(b)
    else:
        boundaries = BoundariesSpec(
            **_layer_fields(b),
            focus=b.get("focus", str, required=True),
            context=_parse_context(b),
        )
    b.finish()

    townships = _parse_townships(top.sub("townships"))
    settlements = _parse_settlements(top.sub("settlements"))

    network = _parse_network(top.sub("network"))
    typology = _parse_typology(top.sub("typology"))
    optional: set[str] = set()
    flows = _parse_flows(top.sub("flows"), optional)
    emissions = _parse_emissions(top.sub("emissions"))
    sv = top.sub("services")
    services = None
    if sv is not None:
        services = sv.required_path("path")
        sv.finish()
    strategies, packages = _parse_strategies_and_packages(top, file)
    scoring, attribution_table = _parse_scoring(top.sub("scoring")), top.sub("attribution")
    cost_table = top.sub("costs")
    bus, modes, uncertainty = (
        _parse_bus(top.sub("bus"), optional),
        _parse_modes(top.sub("modes")),
        _parse_uncertainty(top.sub("uncertainty")),
    )

    p = top.required_sub("population")
    population = PopulationSpec(
        counties=p.path("counties", required=isinstance(boundaries, BoundariesSpec)),
        township_units=p.path("township_units"),
        township_references=p.path("township_references"),
        community_weight=p.get("community_weight", float),
        override=p.path("override"),
        dasymetric=_parse_dasymetric(p.sub("dasymetric"), boundaries),
    )
    p.finish()
    if (
        isinstance(boundaries, OsmBoundariesSpec)
        and population.dasymetric is None
        and population.counties is None
        and population.override is None
    ):
        msg = (
            f"{p.where('dasymetric')} is missing: zones from OSM need populations, from "
            "[population.dasymetric] (a census total shared by OSM footprints), 'counties' or "
            "'override' (zone_id,population,population_source)"
        )
        raise InputError(msg)
    if population.community_weight is not None and population.community_weight <= 0:
        msg = f"{p.where('community_weight')} must be > 0, got {population.community_weight}"
        raise InputError(msg)
    if townships is not None and population.township_units is None:
        msg = (
            f"{p.where('township_units')} is missing; townships need the NBS unit-count table "
            "to estimate their populations (or give every township in 'override')"
        )
        if population.override is None:
            raise InputError(msg)
    top.finish()
    return Scenario(
        name=name,
        title=title,
        path=file,
        boundaries=boundaries,
        townships=townships,
        settlements=settlements,
        network=network,
        typology=typology,
        flows=flows,
        emissions=emissions,
        services=services,
        strategies=strategies,
        packages=packages,
        attribution=_parse_attribution(attribution_table),
        costs=_parse_costs(cost_table),
        scoring=scoring,
        bus=bus,
        modes=modes,
        population=population,
        seed=seed,
        raw=data,
        uncertainty=uncertainty,
        optional_inputs=frozenset(optional),
    )


def _check_depth(data: Any, *, file: Path) -> None:
    """Refuse values nested deeper than :data:`urlink.validate.MAX_TOML_DEPTH`."""
    level: list[tuple[str, Any]] = [("", data)]
    for depth in range(MAX_TOML_DEPTH + 1):
        nxt: list[tuple[str, Any]] = []
        for where, value in level:
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                if isinstance(item, dict | list):
                    sub = f"{where}.{key}" if isinstance(key, str) else f"{where}[{key}]"
                    nxt.append((sub.lstrip("."), item))
        if not nxt:
            return
        if depth == MAX_TOML_DEPTH - 1:
            msg = (
                f"{file}: key {nxt[0][0].split('[')[0]!r} is nested more than {MAX_TOML_DEPTH} "
                "tables or arrays deep (urlink.validate.MAX_TOML_DEPTH); urlink's keys need at "
                "most 5, so check the brackets"
            )
            raise InputError(msg)
        level = nxt


def _seed(top: _Table) -> int:
    seed: int = top.get("seed", int, default=0)
    if not 0 <= seed < 2**32:
        msg = f"{top.where('seed')} = {seed} must be an integer in [0, 2**32); use e.g. 1"
        raise InputError(msg)
    return seed


def _choice(t: _Table, key: str, allowed: tuple[str, ...], default: str) -> Any:
    value: str = t.get(key, str, default=default)
    if value not in allowed:
        msg = f"{t.where(key)} = {value!r} is not valid; use one of {allowed}"
        raise InputError(msg)
    return value


def _positive(t: _Table, key: str, default: float) -> float:
    value: float = t.get(key, float, default=default)
    if not (value > 0 and value != float("inf")):
        msg = f"{t.where(key)} must be a positive number, got {value!r}"
        raise InputError(msg)
    return value


_SPEED_KEYS = (
    "speeds_kph",
    "fallback_kph",
    "walk_kph",
    "bus_speed_factor",
    "bus_headway_min",
    "ferry_kph",
    "ferry_wait_min",
)


def _parse_network(t: _Table | None) -> NetworkSpec:
    if t is None:
        return NetworkSpec()
    d = NetworkSpec()
    speeds: SpeedParams = t.params(SpeedParams, keys=_SPEED_KEYS)
    if "speeds_kph" in t.data:  # overrides of the default table, not a new table
        table = {**DEFAULT_SPEEDS_KPH, **speeds.speeds_kph}
        speeds = dataclasses.replace(speeds, speeds_kph=table)
    cutoff = t.get("cutoff_min", float)
    spec = NetworkSpec(
        osm=t.path("osm"),
        network_type=_choice(
            t, "network_type", ("drive", "drive_service", "walk", "all"), d.network_type
        ),
        mode=_choice(t, "mode", ("drive", "walk", "bus"), d.mode),
        proxy_method=_choice(t, "proxy_method", ("gabriel", "delaunay"), d.proxy_method),
        circuity=_positive(t, "circuity", d.circuity),
        speeds=speeds,
        access_speed_kph=_positive(t, "access_speed_kph", d.access_speed_kph),
        cutoff_min=None if cutoff is None else _positive(t, "cutoff_min", 1.0),
        ferries=t.get("ferries", bool, default=False),
        distance=_choice(t, "distance", ("shortest", "fastest"), d.distance),
        max_zones=_max_zones(t),
        matrix_dtype=_choice(t, "matrix_dtype", ("float64", "float32"), d.matrix_dtype),
    )
    t.finish()
    if spec.circuity < 1:
        msg = f"{t.where('circuity')} must be >= 1 (roads are never shorter than a straight line)"
        raise InputError(msg)
    return spec


def _max_zones(t: _Table) -> int | None:
    """``[network] max_zones``: a whole number from 1 to ``MAX_ZONES_OPT_IN``, or None."""
    value = t.get("max_zones", int)
    if value is None:
        return None
    if isinstance(value, bool) or not 1 <= value <= MAX_ZONES_OPT_IN:
        msg = (
            f"{t.where('max_zones')} = {value!r} must be a whole number from 1 to "
            f"{MAX_ZONES_OPT_IN:,} (urlink.validate.MAX_ZONES_OPT_IN)"
        )
        raise InputError(msg)
    return int(value)


def _model(t: _Table, flow_type: str, default: str) -> tuple[str, type | None]:
    """Read the ``model`` key of a ``[flows.*]`` table; return it and its settings class."""
    value: str = t.get("model", str, default=default)
    models = FLOW_MODELS[flow_type]  # type: ignore[index]
    if value not in models:
        msg = (
            f"{t.where('model')} = {value!r} is not a {flow_type} model; use one of "
            f"{sorted(models)}"
        )
        raise InputError(msg)
    return value, models.entry(value).settings


def _model_params(t: _Table, settings: type | None, *, spec_keys: tuple[str, ...]) -> Any:
    """Build the model's settings from the keys of ``t`` that are not the spec's own."""
    keys = tuple(k for k in t.data if k not in (*spec_keys, "model"))
    if settings is None:
        if keys:
            msg = f"{t.where(keys[0])} is not a known key (the model takes no settings)"
            raise InputError(msg)
        return None
    return t.params(settings, keys=keys)


def _required(t: _Table, key: str) -> float:
    value: float = t.get(key, float, required=True)
    return value


_NAME_OK = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")


def _parse_strategies(top: _Table, file: Path) -> tuple[Strategy, ...]:
    entries = top.get("strategies", list, default=[])
    if len(entries) > MAX_STRATEGIES:
        msg = (
            f"{top.where('strategies')}: {len(entries)} strategies are more than urlink "
            f"evaluates in one run ({MAX_STRATEGIES}, urlink.validate.MAX_STRATEGIES; each is a "
            "full evaluation of the flows); split them over several scenario files"
        )
        raise InputError(msg)
    out: list[Strategy] = []
    seen: set[str] = set()
    for i, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict):
            msg = f"{file}: [[strategies]] entry {i} must be a table"
            raise InputError(msg)
        t = _Table(entry, section=f"strategies #{i}", file=file)
        name = t.get("name", str, required=True)
        if not _NAME_OK.match(name) or name in seen:
            why = "is used twice" if name in seen else "must be letters, digits, '.', '-', '_'"
            msg = f"{t.where('name')} = {name!r} {why}"
            raise InputError(msg)
        seen.add(name)
        kind = t.get("kind", str, required=True)
        if kind not in STRATEGY_KINDS:
            msg = (
                f"{t.where('kind')} = {kind!r} is not a strategy kind; use one of "
                f"{sorted(STRATEGY_KINDS)}"
            )
            raise InputError(msg)
        level = _choice(t, "level", LEVELS, "district")
        sites = t.get("sites", list, default=[])
        if not all(isinstance(x, str) for x in sites):
            msg = f"{t.where('sites')} must be a list of zone id strings, got {sites!r}"
            raise InputError(msg)
        cost = _cost(t, "cost_yuan")
        capital = _cost(t, "cost_capital_yuan")
        yearly = _cost(t, "cost_yearly_yuan")
        if cost is not None and capital is not None and cost != capital:
            msg = (
                f"{t.where('cost_capital_yuan')} = {capital!r} differs from cost_yuan = "
                f"{cost!r}; cost_yuan is the capital cost, give only cost_capital_yuan"
            )
            raise InputError(msg)
        raw = t.get("params", dict, default={})
        settings = STRATEGY_KINDS.entry(kind).settings
        params: Any = dict(raw)
        if settings is not None:
            where = f"{file}: [[strategies]] {name!r} ({kind}) params"
            params = params_from_table(settings, raw, where=where, base=file.parent)
        out.append(
            Strategy(
                name=name,
                kind=kind,
                title=t.get("title", str, default=""),
                sites=tuple(sites),
                actor=t.get("actor", str, default=""),
                level=level,
                sector=t.get("sector", str, default=""),
                cost_yuan=cost,
                cost_capital_yuan=capital,
                cost_yearly_yuan=yearly,
                params=params,
            )
        )
        t.finish()
    return tuple(out)


def _cost(t: _Table, key: str) -> float | None:
    """Read a cost: a number >= 0, or ``"unknown"`` (None; also when left out)."""
    value = t.get(key, (int, float, str))
    if value is None or value == "unknown":
        return None
    if isinstance(value, (str, bool)) or not value >= 0:
        msg = f'{t.where(key)} = {value!r} must be a number >= 0 (yuan) or "unknown"'
        raise InputError(msg)
    return float(value)


def _parse_strategies_and_packages(
    top: _Table, file: Path
) -> tuple[tuple[Strategy, ...], tuple[Package, ...]]:
    strategies = _parse_strategies(top, file)
    return strategies, _parse_packages(top, file, strategies)


def _parse_packages(
    top: _Table, file: Path, strategies: tuple[Strategy, ...]
) -> tuple[Package, ...]:
    entries = top.get("packages", list, default=[])
    known = {s.name for s in strategies}
    out: list[Package] = []
    seen: set[str] = set(known)
    for i, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict):
            msg = f"{file}: [[packages]] entry {i} must be a table"
            raise InputError(msg)
        t = _Table(entry, section=f"packages #{i}", file=file)
        name = t.get("name", str, required=True)
        if not _NAME_OK.match(name) or name in seen:
            why = (
                "is already a strategy or package name"
                if name in seen
                else "must be letters, digits, '.', '-', '_'"
            )
            msg = f"{t.where('name')} = {name!r} {why}"
            raise InputError(msg)
        seen.add(name)
        members = t.get("strategies", list, required=True, items=str)
        unknown = [m for m in members if m not in known]
        if len(members) < 2 or unknown or len(set(members)) != len(members):
            msg = (
                f"{t.where('strategies')} = {members!r} must name two or more different "
                f"[[strategies]] of this file (unknown: {unknown}); use some of {sorted(known)}"
            )
            raise InputError(msg)
        out.append(
            Package(name=name, strategies=tuple(members), title=t.get("title", str, default=""))
        )
        t.finish()
    return tuple(out)


def _parse_costs(t: _Table | None) -> CostParams:
    if t is None:
        return CostParams()
    params: CostParams = t.params(CostParams)
    t.finish()
    return params


def _parse_attribution(t: _Table | None) -> AttributionSpec:
    if t is None:
        return AttributionSpec()
    value: float = t.get("materiality", float, default=AttributionSpec().materiality)
    if not 0 <= value < 1:
        msg = f"{t.where('materiality')} = {value!r} must be in [0, 1) (e.g. 0.01 for 1 %)"
        raise InputError(msg)
    t.finish()
    return AttributionSpec(materiality=value)


def _parse_scoring(t: _Table | None) -> ScoringSpec | None:
    if t is None:
        return None
    methods = t.get("methods", list, default=["weighted_sum", "topsis"], items=str)
    unknown = [m for m in methods if m not in SCORING_METHODS]
    if unknown or not methods:
        msg = f"{t.where('methods')} = {methods!r}: use some of {sorted(SCORING_METHODS)}"
        raise InputError(msg)
    samples = t.get("smaa_samples", int, default=10_000)
    if not 100 <= samples <= 1_000_000:
        msg = f"{t.where('smaa_samples')} = {samples} must be between 100 and 1,000,000"
        raise InputError(msg)
    refs: list[tuple[str, float, float]] = []
    r = t.sub("references")
    if r is not None:
        for key in list(r.data):
            if key not in INDICATORS:
                msg = f"{r.where(key)} is not an indicator; use some of {sorted(INDICATORS)}"
                raise InputError(msg)
            pair = r.get(key, list)
            if len(pair) != 2 or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
                for v in pair
            ):
                msg = f"{r.where(key)} = {pair!r} must be two finite numbers [worst, best]"
                raise InputError(msg)
            worst, best = float(pair[0]), float(pair[1])
            if worst == best or (best > worst) != (INDICATORS[key].direction == "max"):
                way = "more" if INDICATORS[key].direction == "max" else "less"
                msg = (
                    f"{r.where(key)} = {pair!r}: give [worst, best] with best "
                    f"{'above' if way == 'more' else 'below'} worst ({way} is better)"
                )
                raise InputError(msg)
            refs.append((key, worst, best))
        r.finish()
    spec = ScoringSpec(
        weights=t.path("weights"),
        ahp=t.path("ahp"),
        methods=tuple(methods),
        smaa_samples=samples,
        concentration=_positive(t, "concentration", 50.0),
        normalisation=_choice(t, "normalisation", SCORING_NORMALISATIONS, "interval"),
        references=tuple(refs),
        reference_band=_positive(t, "reference_band", DEFAULT_REFERENCE_BAND),
    )
    t.finish()
    if (spec.weights is None) == (spec.ahp is None):
        msg = f"{t.where('weights')}: give either 'weights' (points form) or 'ahp', not both"
        raise InputError(msg)
    return spec


def _parse_uncertainty(t: _Table | None) -> UncertaintySpec | None:
    """Parse ``[uncertainty]``; the paths are checked against the built scenario later.

    :func:`urlink.scenario.uncertainty.resolve_uncertainty` checks them.
    """
    if t is None:
        return None
    samples: int = t.get("samples", int, default=64)
    if not 8 <= samples <= 100_000:
        msg = f"{t.where('samples')} = {samples} must be between 8 and 100,000"
        raise InputError(msg)
    draws: int = t.get("weight_draws", int, default=20)
    if not 1 <= draws <= 10_000:
        msg = f"{t.where('weight_draws')} = {draws} must be between 1 and 10,000"
        raise InputError(msg)
    method = _choice(t, "method", SAMPLING_METHODS, "lhs")
    if method == "sobol" and samples & (samples - 1):
        msg = f"{t.where('samples')} = {samples} must be a power of 2 with method = 'sobol'"
        raise InputError(msg)
    populations: bool = t.get("estimated_populations", bool, default=False)
    inputs: list[UncertainInput] = []
    table = t.sub("inputs")
    if table is not None:
        for key in list(table.data):
            entry = dict(table.get(key, dict))
            where = table.where(key)
            source = entry.pop("source", "")
            if not isinstance(source, str):
                msg = f"{where}: source must be text, got {source!r}"
                raise InputError(msg)
            entry.setdefault("distribution", _implied_kind(entry))
            try:
                dist = params_from_table(Distribution, entry, where=where)
            except InputError as err:
                msg = f"{err}; e.g. {{ distribution = 'uniform', low = 1, high = 2 }}"
                raise InputError(msg) from None
            inputs.append(UncertainInput(path=key, distribution=dist, source=source))
        table.finish()
    t.finish()
    if not inputs and not populations:
        msg = (
            f"{t.where('inputs')}: [uncertainty] names no uncertain input; add "
            "[uncertainty.inputs] entries or estimated_populations = true"
        )
        raise InputError(msg)
    return UncertaintySpec(
        samples=samples,
        method=method,
        inputs=tuple(inputs),
        estimated_populations=populations,
        weight_draws=draws,
    )


def _implied_kind(entry: dict[str, Any]) -> str:
    """Infer the distribution: relative with ``relative``, uniform with ``low`` and ``high``."""
    return "relative" if "relative" in entry else "uniform"


def _parse_modes(t: _Table | None) -> ModeChoiceParams | None:
    if t is None:
        return None
    modes: ModeChoiceParams = t.params(ModeChoiceParams)
    t.finish()
    return modes


def _parse_bus(t: _Table | None, optional: set[str]) -> BusSpec | None:
    if t is None:
        return None
    _optional(t, optional)
    refs = t.get("exclude_refs", list, default=[])
    if not all(isinstance(r, str) for r in refs):
        msg = f"{t.where('exclude_refs')} must be a list of route numbers as strings"
        raise InputError(msg)
    spec = BusSpec(
        lines=t.path("lines"),
        gtfs=t.path("gtfs"),
        osm=t.path("osm"),
        operator=t.get("operator", str),
        exclude_refs=tuple(refs),
        headway_min=_positive(t, "headway_min", 30.0),
        headway_source=t.get("headway_source", str, default="assumption"),
        fare_yuan=t.get("fare_yuan", float, default=0.0),
    )
    t.finish()
    if sum(x is not None for x in (spec.lines, spec.gtfs, spec.osm)) != 1:
        msg = (
            f"{t.where('lines')}: give the bus service as 'lines' (a CSV), 'gtfs' or 'osm' "
            "(route relations), one of them"
        )
        raise InputError(msg)
    osm_only = ("operator", "exclude_refs", "headway_min", "headway_source", "fare_yuan")
    extra = [k for k in osm_only if k in t.data]
    if spec.osm is None and extra:
        msg = f"{t.where(extra[0])} applies to 'osm' bus routes only; remove it"
        raise InputError(msg)
    if spec.lines is None and "bus" in optional:
        msg = f"{t.where('optional')}: only a 'lines' table can be optional; remove the key"
        raise InputError(msg)
    if not (math.isfinite(spec.fare_yuan) and spec.fare_yuan >= 0):
        msg = f"{t.where('fare_yuan')} = {spec.fare_yuan} must be a fare >= 0"
        raise InputError(msg)
    return spec


def _parse_townships(t: _Table | None) -> TownshipsSpec | None:
    if t is None:
        return None
    spec = TownshipsSpec(**_layer_fields(t))
    t.finish()
    return spec


def _parse_settlements(s: _Table | None) -> SettlementsSpec | None:
    if s is None:
        return None
    spec = SettlementsSpec(
        **_layer_fields(s),
        names_col=s.get("names_col", str),
        proxy_nodes=s.get("proxy_nodes", bool, default=False),
    )
    s.finish()
    return spec


def _parse_emissions(t: _Table | None) -> EmissionSettings:
    if t is None:
        return EmissionSettings()
    spec: EmissionSettings = t.params(EmissionSettings)
    t.finish()
    return spec


def _parse_typology(t: _Table | None) -> TypologySpec:
    if t is None:
        return TypologySpec()
    raster = t.path("population_raster")
    params: TypologyParams = t.params(
        TypologyParams, keys=tuple(k for k in t.data if k != "population_raster")
    )
    t.finish()
    if params.cluster_density >= params.urban_density:
        msg = f"{t.where('cluster_density')} must be below urban_density"
        raise InputError(msg)
    return TypologySpec(params=params, population_raster=raster)


_PURPOSE_KEYS = (
    "trip_rate",
    "rate_source",
    "attraction",
    "attraction_source",
    "mean_time_min",
    "mean_km",
    "mean_source",
)
"""Keys of a purpose table that are not model settings."""


def _parse_purposes(t: _Table | None, settings: type | None, base: Any) -> tuple[PurposeSpec, ...]:
    """Read the ``[flows.people.purposes.*]`` tables, each into a :class:`PurposeSpec`."""
    if t is None:
        return ()
    out = []
    for name in list(t.data):
        if not _NAME_OK.match(name):
            msg = f"{t.where(name)}: a purpose name must be letters, digits, '.', '-', '_'"
            raise InputError(msg)
        s = t.sub(name)
        if s is None:  # pragma: no cover - sub() checked the type
            continue
        overrides = tuple(k for k in s.data if k not in _PURPOSE_KEYS)
        params = base
        if settings is not None:
            defaults = {f.name: getattr(base, f.name) for f in dataclasses.fields(base)}
            params = s.params(settings, keys=overrides, defaults=defaults)
        elif overrides:
            msg = f"{s.where(overrides[0])} is not a known key (the model takes no settings)"
            raise InputError(msg)
        attraction = s.data.get("attraction", "population")
        target = s.get("mean_time_min", float)
        km = s.get("mean_km", float)
        for key, value in (("mean_time_min", target), ("mean_km", km)):
            if value is not None and not (0 < value < 1_000):
                msg = f"{s.where(key)} = {value!r} must be a positive number below 1000"
                raise InputError(msg)
        if target is not None and km is not None:
            msg = f"{s.where('mean_km')}: calibrate to mean_time_min or to mean_km, not both"
            raise InputError(msg)
        fitted = "mean_time_min" if target is not None else "mean_km"
        if (target is not None or km is not None) and "beta" in s.data:
            msg = f"{s.where('beta')}: beta is fitted to {fitted} here; give one of the two"
            raise InputError(msg)
        out.append(
            PurposeSpec(
                name=name,
                trip_rate=_positive(s, "trip_rate", _required(s, "trip_rate")),
                rate_source=s.get("rate_source", str, required=True),
                params=params,
                attraction=None if attraction == "population" else s.required_path("attraction"),
                attraction_source=s.get(
                    "attraction_source",
                    str,
                    default=_RESIDENTS_AS_PROXY
                    if attraction == "population"
                    else "weights table (no source given)",
                ),
                mean_time_min=target,
                mean_km=km,
                mean_source=s.get("mean_source", str, default=""),
            )
        )
        s.finish()
    t.finish()
    if not out:
        msg = f"{t.file}: [flows.people.purposes] is empty; add a table per trip purpose"
        raise InputError(msg)
    return tuple(out)


def _optional(t: _Table, optional: set[str]) -> None:
    """Read ``optional = true`` of a section that names input tables (adds it to ``optional``)."""
    if t.get("optional", bool, default=False):
        optional.add(t.section)


def _parse_flows(t: _Table | None, optional: set[str]) -> FlowsSpec:
    if t is None:
        return FlowsSpec()
    within_zone = _choice(t, "within_zone", INTRAZONAL_RULES, "half_nearest")
    context_flows = _choice(t, "context_flows", ("cordon", "all"), "cordon")
    people = goods = ecosystem = capital = None
    p = t.sub("people")
    if p is not None:
        model, settings = _model(p, "people", "gravity_doubly")
        base = _model_params(p, settings, spec_keys=("trip_rate", "rate_source", "purposes"))
        purposes = _parse_purposes(p.sub("purposes"), settings, base)
        if purposes and "trip_rate" in p.data:
            msg = (
                f"{p.where('trip_rate')}: give the trip rates per purpose in "
                "[flows.people.purposes.<name>] trip_rate, not here"
            )
            raise InputError(msg)
        people = PeopleSpec(
            model=model,
            trip_rate=_positive(p, "trip_rate", 0.3),
            rate_source=p.get("rate_source", str, default=_UNCITED_RATE),
            params=base,
            purposes=purposes,
        )
        p.finish()
    g = t.sub("goods")
    if g is not None:
        _optional(g, optional)
        model, settings = _model(g, "goods", "production_constrained")
        goods = GoodsSpec(
            model=model,
            supply_t_per_year=_positive(g, "supply_t_per_year", _required(g, "supply_t_per_year")),
            supply_weights=g.required_path("supply_weights"),
            markets=g.required_path("markets"),
            params=_model_params(
                g,
                settings,
                spec_keys=("supply_t_per_year", "supply_weights", "markets", "optional"),
            ),
        )
        g.finish()
    e = t.sub("ecosystem")
    if e is not None:
        _optional(e, optional)
        model, settings = _model(e, "ecosystem", "declared_links")
        ecosystem = EcosystemSpec(
            model=model,
            service=e.get("service", str, default="water"),
            sources=e.required_path("sources"),
            phases=e.required_path("phases"),
            params=_model_params(
                e, settings, spec_keys=("service", "sources", "phases", "optional")
            ),
        )
        e.finish()
    c = t.sub("capital")
    if c is not None:
        _optional(c, optional)
        capital = CapitalSpec(
            eco_compensation=c.get("eco_compensation", bool, default=True),
            transfers=c.path("transfers"),
            params=c.params(
                CapitalParams,
                keys=tuple(
                    k for k in c.data if k not in ("eco_compensation", "transfers", "optional")
                ),
            ),
        )
        if capital.transfers is None and "flows.capital" in optional:
            msg = f"{c.where('optional')}: only the transfers table can be optional; add it"
            raise InputError(msg)
        c.finish()
    t.finish()
    if capital is not None and c is not None and capital.eco_compensation and ecosystem is None:
        msg = (
            f"{c.where('eco_compensation')} needs a [flows.ecosystem] section (payments "
            "follow the ecosystem-service flows); add one or set eco_compensation = false"
        )
        raise InputError(msg)
    if people is not None and within_zone != "none" and people.model == "radiation":
        msg = (
            f"{t.where('within_zone')} = {within_zone!r}: the radiation model has no "
            'within-zone term; set within_zone = "none" or choose a gravity model'
        )
        raise InputError(msg)
    return FlowsSpec(
        people=people,
        goods=goods,
        ecosystem=ecosystem,
        capital=capital,
        within_zone=within_zone,
        context_flows=context_flows,
    )
