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

from collections.abc import Callable
from typing import Any, Literal

import numpy as np
import pandas as pd

from urlink.errors import InputError

__all__ = [
    "FLOW_COLUMNS",
    "FLOW_TYPES",
    "SOURCES",
    "UNITS",
    "FlowType",
    "finish_flows",
    "get_model",
    "register",
    "registry",
]

FlowType = Literal["people", "goods", "capital", "ecosystem"]
FLOW_TYPES: tuple[FlowType, ...] = ("people", "goods", "capital", "ecosystem")

UNITS: dict[str, str] = {
    "people": "persons/day",
    "goods": "t/day",
    "capital": "yuan/year",
    "ecosystem": "m3/day",
}
"""Unit of ``volume`` for each flow type."""

SOURCES = ("observed", "modelled", "estimated")
"""``source`` values: counted data, a model's output, or a documented estimate."""

FLOW_COLUMNS = ("origin", "destination", "flow_type", "volume", "unit", "model", "source")
"""Columns of a finished flow table, in order (models may add more after them)."""

FlowModel = Callable[..., pd.DataFrame]

_REGISTRY: dict[str, dict[str, FlowModel]] = {t: {} for t in FLOW_TYPES}


def register(flow_type: FlowType, name: str) -> Callable[[FlowModel], FlowModel]:
    """Register a flow model under ``name`` for ``flow_type`` (a decorator).

    Parameters
    ----------
    flow_type
        One of :data:`FLOW_TYPES`.
    name
        Name used in scenario files (``model = "gravity_doubly"``).

    Returns
    -------
    callable
        The decorator; it returns the function unchanged.

    Raises
    ------
    InputError
        If the flow type is unknown or the name is taken.
    """
    if flow_type not in _REGISTRY:
        msg = f"flow_type={flow_type!r} is not valid; use one of {FLOW_TYPES}"
        raise InputError(msg)

    def decorator(func: FlowModel) -> FlowModel:
        if name in _REGISTRY[flow_type]:
            msg = f"a {flow_type} model named {name!r} is already registered"
            raise InputError(msg)
        _REGISTRY[flow_type][name] = func
        return func

    return decorator


def registry(flow_type: FlowType) -> dict[str, FlowModel]:
    """Return the registered models of one flow type (name -> function), a copy.

    Parameters
    ----------
    flow_type
        One of :data:`FLOW_TYPES`.

    Returns
    -------
    dict
        Registered models.
    """
    _load_builtin_models()
    if flow_type not in _REGISTRY:
        msg = f"flow_type={flow_type!r} is not valid; use one of {FLOW_TYPES}"
        raise InputError(msg)
    return dict(_REGISTRY[flow_type])


def get_model(flow_type: FlowType, name: str) -> FlowModel:
    """Look up a registered model.

    Parameters
    ----------
    flow_type
        One of :data:`FLOW_TYPES`.
    name
        The model's registered name.

    Returns
    -------
    callable
        The model function.

    Raises
    ------
    InputError
        If no such model exists (the message lists the registered ones).
    """
    models = registry(flow_type)
    if name not in models:
        msg = f"{flow_type} model {name!r} is not registered; choose one of {sorted(models)}"
        raise InputError(msg)
    return models[name]


def finish_flows(
    flows: pd.DataFrame,
    *,
    flow_type: FlowType,
    model: str,
    source: Literal["observed", "modelled", "estimated"] = "modelled",
    drop_zero: bool = True,
    **extra: Any,
) -> pd.DataFrame:
    """Check a model's output and add the standard columns.

    Parameters
    ----------
    flows
        ``origin``, ``destination``, ``volume`` (and optional model-specific columns).
    flow_type, model, source
        Written into the table.
    drop_zero
        Drop rows with zero volume.
    **extra
        Further constant columns (e.g. ``commodity="mandarin"``).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`FLOW_COLUMNS` first, then any others.

    Raises
    ------
    InputError
        If volumes are negative or not finite, or columns are missing.
    """
    missing = [c for c in ("origin", "destination", "volume") if c not in flows.columns]
    if missing:
        msg = f"{flow_type} model {model!r} returned no column(s) {missing}"
        raise InputError(msg)
    if source not in SOURCES:
        msg = f"source={source!r} is not valid; use one of {SOURCES}"
        raise InputError(msg)
    vol = pd.to_numeric(flows["volume"], errors="coerce")
    if vol.isna().any() or (vol < 0).any() or not np.isfinite(vol.to_numpy(dtype=float)).all():
        msg = f"{flow_type} model {model!r} produced negative, NaN or infinite volumes"
        raise InputError(msg)
    out = flows.copy()
    out["volume"] = vol.astype(float)
    if drop_zero:
        out = out[out["volume"] > 0]
    out["flow_type"] = flow_type
    out["unit"] = UNITS[flow_type]
    out["model"] = model
    out["source"] = source
    for k, v in extra.items():
        out[k] = v
    rest = [c for c in out.columns if c not in FLOW_COLUMNS]
    return out[[*FLOW_COLUMNS, *rest]].reset_index(drop=True)


def _load_builtin_models() -> None:
    """Import the modules whose models register themselves."""
    import importlib

    for name in ("people", "goods", "capital", "ecosystem"):
        importlib.import_module(f"urlink.model.flows.{name}")
