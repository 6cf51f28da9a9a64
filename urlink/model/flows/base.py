"""Flow tables and the flow-model registries (the base of :mod:`urlink.model.flows`)."""

from __future__ import annotations

import copy
import functools
from typing import TYPE_CHECKING, Any, Literal, Protocol

import numpy as np
import pandas as pd

from urlink.errors import InputError
from urlink.registry import Registry

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = [
    "FLOW_COLUMNS",
    "FLOW_MODELS",
    "FLOW_TYPES",
    "SOURCES",
    "UNITS",
    "FlowModel",
    "FlowType",
    "finish_flows",
    "get_model",
    "register",
    "registry",
    "repeated",
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


class FlowModel(Protocol):
    """What a flow model is: ``model(zones, cost_or_links, *, params) -> flow table``.

    ``zones`` is indexed by zone id and holds the model's inputs (``production`` and
    ``attraction`` for people, ``supply`` and ``demand`` for goods and ecosystem services);
    the second argument is the travel-time skim (people, goods) or the declared links
    (capital, ecosystem); ``params`` is an instance of the model's settings dataclass.
    The result is a flow table passed through :func:`finish_flows`.
    """

    def __call__(
        self, zones: pd.DataFrame, other: pd.DataFrame, /, *, params: Any
    ) -> pd.DataFrame:
        """Compute the flows."""
        ...


FLOW_MODELS: dict[FlowType, Registry[FlowModel]] = {
    t: Registry(f"{t} model", group="urlink.flow_models", prefix=t) for t in FLOW_TYPES
}
"""One registry per flow type; plugins use the entry-point group ``urlink.flow_models``
with names ``"<flow type>.<model name>"``."""


def _registry_of(flow_type: object) -> Registry[FlowModel]:
    if flow_type not in FLOW_MODELS:
        msg = f"flow_type={flow_type!r} is not valid; use one of {FLOW_TYPES}"
        raise InputError(msg)
    return FLOW_MODELS[flow_type]  # type: ignore[index]


def register(
    flow_type: FlowType, name: str, *, settings: type | None = None
) -> Callable[[Any], Any]:
    """Register a flow model under ``name`` for ``flow_type`` (a decorator).

    Parameters
    ----------
    flow_type
        One of :data:`FLOW_TYPES`.
    name
        Name used in scenario files (``model = "gravity_doubly"``).
    settings
        The model's parameter dataclass: its fields are the keys of the ``[flows.<type>]``
        table that the model reads (``urlink validate`` checks them).

    Returns
    -------
    callable
        The decorator; it returns the function unchanged.

    Raises
    ------
    InputError
        If the flow type is unknown.
    urlink.registry.RegistrationError
        If the name is taken.
    """
    decorator: Callable[[Any], Any] = _registry_of(flow_type).register(name, settings=settings)
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
    return dict(_registry_of(flow_type))


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
    return _registry_of(flow_type).entry(name).obj


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
    constants = {"flow_type": flow_type, "unit": UNITS[flow_type], "model": model}
    constants |= {"source": source, **extra}
    fast = all(isinstance(v, str) for v in constants.values())
    if fast and flows.columns.is_unique and flows["volume"].dtype == np.float64:
        volume = flows["volume"].to_numpy()
        if not np.isfinite(volume).all() or (volume < 0).any():
            msg = f"{flow_type} model {model!r} produced negative, NaN or infinite volumes"
            raise InputError(msg)
        return _finished(flows, volume, constants, drop_zero=drop_zero)
    vol = pd.to_numeric(flows["volume"], errors="coerce")
    if vol.isna().any() or (vol < 0).any() or not np.isfinite(vol.to_numpy(dtype=float)).all():
        msg = f"{flow_type} model {model!r} produced negative, NaN or infinite volumes"
        raise InputError(msg)
    return _finished_frame(flows, vol, constants, drop_zero=drop_zero)


def _finished_frame(
    flows: pd.DataFrame, vol: pd.Series, constants: dict[str, Any], *, drop_zero: bool
) -> pd.DataFrame:
    """:func:`finish_flows` step by step with pandas (any columns, volumes and values)."""
    out = flows.copy()
    out["volume"] = vol.astype(float)
    if drop_zero:
        out = out[out["volume"] > 0]
    for k, v in constants.items():
        out[k] = v
    rest = [c for c in out.columns if c not in FLOW_COLUMNS]
    return out[[*FLOW_COLUMNS, *rest]].reset_index(drop=True)


def _finished(
    flows: pd.DataFrame, volume: np.ndarray, constants: dict[str, str], *, drop_zero: bool
) -> pd.DataFrame:
    """:func:`finish_flows` of a table with unique columns and float volumes, built at once.

    The same table as copying ``flows``, dropping the zero rows, setting the constant
    columns (strings) one by one, ordering the columns and resetting the index, without
    the copies in between: a constant column is its one value repeated (with the dtype
    pandas gives the string), the other columns are taken once.
    """
    keep = volume > 0 if drop_zero else None
    rows = None if keep is None or keep.all() else np.flatnonzero(keep)
    n = len(flows) if rows is None else len(rows)
    index = pd.RangeIndex(n)
    data: dict[Any, Any] = {}
    for name in flows.columns:
        column = flows[name]
        values = column.array.copy() if rows is None else column.array.take(rows)
        if column.dtype == object:  # a Series of objects: strings stay objects, not inferred
            values = pd.Series(values, index=index, dtype=object, copy=False)
        data[name] = values
    data["volume"] = volume.copy() if rows is None else volume[rows]
    for name, value in constants.items():
        data[name] = repeated(value, n)
    order = [*FLOW_COLUMNS, *(c for c in data if c not in FLOW_COLUMNS)]
    out = pd.DataFrame({c: data[c] for c in order}, index=index)
    if flows.attrs:
        out.attrs = copy.deepcopy(flows.attrs)
    return out


def repeated(value: str, n: int) -> Any:
    """Return a column of ``n`` times one string, as setting a column to the string stores it.

    ``table[name] = repeated(value, len(table))`` gives the column (and dtype) of
    ``table[name] = value``, without converting ``n`` Python strings.

    Parameters
    ----------
    value
        The string.
    n
        The length.

    Returns
    -------
    pandas.api.extensions.ExtensionArray or numpy.ndarray
        The value stored once and taken ``n`` times.

    Examples
    --------
    >>> t = pd.DataFrame({"volume": [1.0, 2.0]})
    >>> t["purpose"] = repeated("home_work", len(t))
    >>> t["purpose"].tolist(), t["purpose"].dtype == pd.Series(["x"]).dtype
    (['home_work', 'home_work'], True)
    """
    return _stored(value).take(np.zeros(n, dtype=np.intp))


@functools.lru_cache(maxsize=256)
def _stored(value: str) -> Any:
    """One string as pandas stores it in a column (an array of one; never modified)."""
    return pd.Series([value]).array
