"""Flow models: people, goods, capital and ecosystem services between zones.

Every flow model of one type shares one signature and sits in that type's registry, so a
scenario (or a researcher) picks a model by name and new models plug in by registering a
function. All models return a *flow table*: a :class:`pandas.DataFrame` with one row per
origin-destination pair that carries a flow, and the columns

``origin``, ``destination``
    Zone ids (``origin != destination`` unless a model is asked for self-flows).
``volume``
    Non-negative flow in the type's unit (:data:`UNITS`).

:func:`finish_flows` adds the columns every flow table has once it leaves a model:
``flow_type``, ``unit``, ``model`` and ``source`` (``"modelled"``, ``"observed"`` or
``"estimated"``, see :data:`SOURCES`).

Signatures (one per type):

- people: ``model(zones, cost, *, params) -> flows`` with ``zones`` indexed by zone id
  holding ``production`` and ``attraction`` (persons/day) and ``population``; ``cost`` an
  origin x destination DataFrame of travel times in minutes (NaN = unreachable).
- goods: ``model(zones, cost, *, params) -> flows`` with ``supply`` and ``demand``
  (tonnes/day) in ``zones``.
- capital: ``model(zones, links, *, params) -> flows`` with ``links`` a table of declared
  payer -> payee relations (see :mod:`urlink.model.flows.capital`).
- ecosystem: ``model(zones, links, *, params) -> flows`` with ``supply`` and ``demand``
  (m3/day) in ``zones`` and ``links`` the declared service links.
"""

from __future__ import annotations

from urlink.model.flows import capital, ecosystem, goods, people
from urlink.model.flows.base import (
    FLOW_COLUMNS,
    FLOW_MODELS,
    FLOW_TYPES,
    SOURCES,
    UNITS,
    FlowModel,
    FlowType,
    finish_columns,
    finish_flows,
    get_model,
    register,
    registry,
)

__all__ = [
    "FLOW_COLUMNS",
    "FLOW_MODELS",
    "FLOW_TYPES",
    "SOURCES",
    "UNITS",
    "FlowModel",
    "FlowType",
    "capital",
    "ecosystem",
    "finish_columns",
    "finish_flows",
    "get_model",
    "goods",
    "people",
    "register",
    "registry",
]
