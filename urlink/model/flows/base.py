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
    from collections.abc import Callable, Mapping

__all__ = [
    "FLOW_COLUMNS",
    "FLOW_MODELS",
    "FLOW_TYPES",
    "SOURCES",
    "UNITS",
    "FlowModel",
    "FlowType",
    "finish_columns",
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
    constants = _constants(list(flows.columns), flow_type, model, source, extra)
    if _strings(constants) and flows.columns.is_unique and flows["volume"].dtype == np.float64:
        arrays = {name: flows[name].array for name in flows.columns}
        volume = _checked_volume(flows["volume"].to_numpy(), flow_type, model)
        return _finished(arrays, volume, constants, drop_zero=drop_zero, attrs=flows.attrs)
    vol = pd.to_numeric(flows["volume"], errors="coerce")
    if vol.isna().any() or (vol < 0).any() or not np.isfinite(vol.to_numpy(dtype=float)).all():
        msg = f"{flow_type} model {model!r} produced negative, NaN or infinite volumes"
        raise InputError(msg)
    return _finished_frame(flows, vol, constants, drop_zero=drop_zero)


def finish_columns(
    columns: Mapping[str, Any],
    *,
    flow_type: FlowType,
    model: str,
    source: Literal["observed", "modelled", "estimated"] = "modelled",
    drop_zero: bool = True,
    **extra: Any,
) -> pd.DataFrame:
    """Return the table :func:`finish_flows` makes of a model's columns, built at once.

    The same table as :func:`finish_flows` of a table whose columns hold these arrays
    (``table[name].array``), without building that table first: a model's output is a few
    arrays, and a table of them costs about as much again as the finished one (#16).

    Parameters
    ----------
    columns
        Name -> 1-d array, all of one length: ``origin``, ``destination``, ``volume`` and
        any model-specific columns, in the order wanted after :data:`FLOW_COLUMNS`. Pandas
        arrays (e.g. ``index.array.take(rows)``, whose dtype is kept, object strings as
        objects) or numpy arrays of numbers; ``volume`` a float64 numpy array. Anything else
        goes through a table: ``finish_flows(pd.DataFrame(columns), ...)``.
    flow_type, model, source, drop_zero, **extra
        As in :func:`finish_flows`.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`FLOW_COLUMNS` first, then any others.

    Raises
    ------
    InputError
        If volumes are negative or not finite, or columns are missing.

    Examples
    --------
    >>> ids = pd.Index(["a", "b"])
    >>> t = finish_columns({"origin": ids.array, "destination": ids.array[::-1],
    ...                     "volume": np.array([2.0, 0.0])}, flow_type="goods", model="m")
    >>> t.to_numpy().tolist()
    [['a', 'b', 'goods', 2.0, 't/day', 'm', 'modelled']]
    """
    constants = _constants(list(columns), flow_type, model, source, extra)
    volume = columns["volume"]
    if (
        not _strings(constants)
        or not isinstance(volume, np.ndarray)
        or volume.dtype != np.float64
        or not all(_as_column(v, len(volume)) for v in columns.values())
    ):
        table = pd.DataFrame(dict(columns))
        kw: dict[str, Any] = {"source": source, "drop_zero": drop_zero, **extra}
        return finish_flows(table, flow_type=flow_type, model=model, **kw)
    volume = _checked_volume(volume, flow_type, model)
    return _finished(dict(columns), volume, constants, drop_zero=drop_zero, attrs={})


def _as_column(values: object, n: int) -> bool:
    """Whether ``values`` is what a table's column of length ``n`` holds (see finish_columns)."""
    if isinstance(values, np.ndarray):
        return values.ndim == 1 and values.dtype != object and len(values) == n
    return isinstance(values, pd.api.extensions.ExtensionArray) and len(values) == n


def _constants(
    names: list[Any], flow_type: FlowType, model: str, source: str, extra: dict[str, Any]
) -> dict[str, Any]:
    """Check the columns and ``source``; return the constant columns."""
    missing = [c for c in ("origin", "destination", "volume") if c not in names]
    if missing:
        msg = f"{flow_type} model {model!r} returned no column(s) {missing}"
        raise InputError(msg)
    if source not in SOURCES:
        msg = f"source={source!r} is not valid; use one of {SOURCES}"
        raise InputError(msg)
    constants = {"flow_type": flow_type, "unit": UNITS[flow_type], "model": model}
    constants |= {"source": source, **extra}
    return constants


def _strings(constants: dict[str, Any]) -> bool:
    """Whether every constant column is a string (a table can then be built at once)."""
    return all(isinstance(v, str) for v in constants.values())


def _checked_volume(volume: np.ndarray, flow_type: str, model: str) -> np.ndarray:
    if not np.isfinite(volume).all() or (volume < 0).any():
        msg = f"{flow_type} model {model!r} produced negative, NaN or infinite volumes"
        raise InputError(msg)
    return volume


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
    arrays: dict[Any, Any],
    volume: np.ndarray,
    constants: dict[str, str],
    *,
    drop_zero: bool,
    attrs: dict[Any, Any],
) -> pd.DataFrame:
    """:func:`finish_flows` of the columns of a table (unique names, float volumes) at once.

    The same table as copying the table, dropping the zero rows, setting the constant
    columns (strings) one by one, ordering the columns and resetting the index, without
    the copies in between: a constant column is its one value repeated (with the dtype
    pandas gives the string), the other columns (``arrays``, what the table's columns
    hold) are taken once.
    """
    keep = volume > 0 if drop_zero else None
    rows = None if keep is None or keep.all() else np.flatnonzero(keep)
    n = len(volume) if rows is None else len(rows)
    index = pd.RangeIndex(n)
    data: dict[Any, Any] = {}
    for name, array in arrays.items():
        values = array.copy() if rows is None else array.take(rows)
        if _holds_objects(array):  # objects (strings too) stay objects, not inferred
            values = pd.Series(values, index=index, dtype=object, copy=False)
        data[name] = values
    data["volume"] = volume.copy() if rows is None else volume[rows]
    for name, value in constants.items():
        data[name] = repeated(value, n)
    order = [*FLOW_COLUMNS, *(c for c in data if c not in FLOW_COLUMNS)]
    # every column is a new array here, so the table need not copy them again
    out = pd.DataFrame({c: data[c] for c in order}, index=index, copy=False)
    if attrs:
        out.attrs = copy.deepcopy(attrs)
    return out


def _holds_objects(array: Any) -> bool:
    if isinstance(array, pd.arrays.NumpyExtensionArray):  # what a column of objects holds
        array = array.to_numpy()
    return bool(array.dtype == object)


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
        The value stored once and taken ``n`` times (a new array, owned by the caller).

    Examples
    --------
    >>> t = pd.DataFrame({"volume": [1.0, 2.0]})
    >>> t["purpose"] = repeated("home_work", len(t))
    >>> t["purpose"].tolist(), t["purpose"].dtype == pd.Series(["x"]).dtype
    (['home_work', 'home_work'], True)
    """
    if n <= _KEPT_LENGTH:  # the first n of a column kept: a slice, copied (#16)
        return _stored(value, _KEPT_LENGTH)[:n].copy()
    return _stored(value, 1).take(np.zeros(n, dtype=np.intp))


_KEPT_LENGTH = 4096
"""Columns of up to this many times one string are slices of one kept column per string
(taking a string n times costs some 20 us whatever n; a slice and its copy a tenth)."""


@functools.lru_cache(maxsize=256)
def _stored(value: str, n: int) -> Any:
    """``n`` times one string as pandas stores it in a column (kept; never modified)."""
    return pd.Series([value]).array.take(np.zeros(n, dtype=np.intp))
