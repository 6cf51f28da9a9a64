"""Scenario files and what is built from them: specs, zones, the base state, strategies.

Layer 5 of urlink (see ``docs/architecture.md``): imports the base modules, :mod:`urlink.io`,
:mod:`urlink.network`, :mod:`urlink.model` and :mod:`urlink.scoring`. The names of
:mod:`urlink.scenario.spec` are available from here (``urlink.scenario.load_scenario``).
"""

from urlink.scenario.spec import (
    BoundariesSpec,
    CapitalSpec,
    EcosystemSpec,
    EmissionsSpec,
    FlowsSpec,
    GoodsSpec,
    NetworkSpec,
    PeopleSpec,
    PopulationSpec,
    Scenario,
    ScoringSpec,
    SettlementsSpec,
    StrategySpec,
    TownshipsSpec,
    TypologySpec,
    load_scenario,
)

__all__ = [
    "BoundariesSpec",
    "CapitalSpec",
    "EcosystemSpec",
    "EmissionsSpec",
    "FlowsSpec",
    "GoodsSpec",
    "NetworkSpec",
    "PeopleSpec",
    "PopulationSpec",
    "Scenario",
    "ScoringSpec",
    "SettlementsSpec",
    "StrategySpec",
    "TownshipsSpec",
    "TypologySpec",
    "load_scenario",
]
