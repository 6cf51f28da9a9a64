"""Settings dataclasses from TOML tables: every field a key, every value type-checked.

:func:`params_from_table` builds any frozen parameter dataclass (urlink's own model
parameters such as :class:`urlink.model.flows.people.PeopleParams`, or a plugin's settings)
from a TOML table. The field's type annotation decides what is accepted:

==========================  =====================================================
annotation                  TOML value
==========================  =====================================================
``bool``                    ``true`` / ``false``
``int``                     an integer
``float``                   an integer or a float, finite
``str``                     a string
``Literal["a", "b"]``       one of the strings
``X | None``                an X, or the key left out (None)
``tuple[X, ...]``           an array of X
``Mapping[str, X]``         a table of X values
``pathlib.Path``            a string, resolved against the scenario's folder
==========================  =====================================================

A field may carry ``metadata={"toml": "from"}`` when its TOML key is not a Python name.
Unknown keys are refused with the closest known key; the dataclass's own ``__post_init__``
checks (ranges) then run, and their :class:`~urlink.errors.InputError` is prefixed with the
file and section.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import sys
import types
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, TypeVar, get_args, get_origin, get_type_hints

from urlink.errors import InputError

__all__ = ["describe_settings", "params_from_table", "toml_key"]

P = TypeVar("P")


def toml_key(f: dataclasses.Field[Any]) -> str:
    """Return the TOML key of a dataclass field (its name, or ``metadata["toml"]``).

    Parameters
    ----------
    f
        A dataclass field.

    Returns
    -------
    str
    """
    return str(f.metadata.get("toml", f.name))


def _hints(cls: type) -> dict[str, Any]:
    """Field annotations resolved (names imported only for type checking resolve too)."""
    namespace: dict[str, Any] = {
        "Any": Any,
        "Literal": Literal,
        "Mapping": Mapping,
        "Path": Path,
        "Sequence": Sequence,
    }
    namespace.update(vars(sys.modules[cls.__module__]))
    return get_type_hints(cls, globalns=namespace)


def _fields(cls: type) -> list[dataclasses.Field[Any]]:
    return [f for f in dataclasses.fields(cls) if f.init]


def _type_name(tp: Any) -> str:  # noqa: PLR0911 - one return per kind of annotation
    origin = get_origin(tp)
    if origin is Literal:
        return " or ".join(repr(a) for a in get_args(tp))
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in get_args(tp) if a is not type(None))
    if origin is tuple:
        return f"a list of {_type_name(get_args(tp)[0])}"
    if origin is not None and issubclass(origin, Mapping):
        return f"a table of {_type_name(get_args(tp)[1])}"
    if tp is float:
        return "a number"
    if tp is int:
        return "an integer"
    if tp is bool:
        return "true or false"
    if tp is str:
        return "a string"
    if tp is Path:
        return "a file path"
    return getattr(tp, "__name__", str(tp))


def _convert(value: Any, tp: Any, where: str, base: Path | None) -> Any:  # noqa: PLR0911, PLR0912
    """Check ``value`` against the annotation ``tp`` and convert it; raise with ``where``."""
    origin = get_origin(tp)
    bad = InputError(f"{where} = {value!r} is not valid; use {_type_name(tp)}")
    if tp is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        options = [a for a in get_args(tp) if a is not type(None)]
        errors: list[InputError] = []
        for option in options:
            try:
                return _convert(value, option, where, base)
            except InputError as err:
                errors.append(err)
        raise errors[0] if len(errors) == 1 else bad
    if origin is Literal:
        if isinstance(value, str) and value in get_args(tp):
            return value
        raise bad
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise bad
        args = get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_convert(v, args[0], f"{where}[{i}]", base) for i, v in enumerate(value))
        if len(args) != len(value):
            raise bad
        return tuple(
            _convert(v, a, f"{where}[{i}]", base)
            for i, (a, v) in enumerate(zip(args, value, strict=True))
        )
    if origin is not None and isinstance(origin, type) and issubclass(origin, Mapping):
        if not isinstance(value, Mapping):
            raise bad
        key_t, val_t = get_args(tp)
        return {
            _convert(k, key_t, where, base): _convert(v, val_t, f"{where}.{k}", base)
            for k, v in sorted(value.items())
        }
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise bad
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise bad
    if tp is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            if not math.isfinite(float(value)):
                raise InputError(f"{where} = {value!r} must be a finite number")
            return float(value)
        raise bad
    if tp is str:
        if isinstance(value, str):
            return value
        raise bad
    if tp is Path:
        if isinstance(value, str) and value.strip():
            path = Path(value).expanduser()
            return (base / path).resolve() if base is not None and not path.is_absolute() else path
        raise bad
    return value


def params_from_table(
    cls: type[P],
    table: Mapping[str, Any],
    *,
    where: str = "",
    base: Path | None = None,
    ignore: tuple[str, ...] = (),
    defaults: Mapping[str, Any] | None = None,
) -> P:
    """Build the dataclass ``cls`` from a TOML table, checking every key and value.

    Parameters
    ----------
    cls
        A dataclass type (frozen parameter class).
    table
        The TOML table (a mapping of keys to values).
    where
        Prefix for messages, e.g. ``"scenario.toml: [flows.people]"``.
    base
        Folder that relative paths resolve against.
    ignore
        Keys of the table that belong to the caller, not to ``cls`` (e.g. ``"model"``).
    defaults
        Values used for fields the table leaves out (instead of the class defaults).

    Returns
    -------
    object
        The instance.

    Raises
    ------
    InputError
        For an unknown key (with the closest known one), a value of the wrong type, a
        missing required key, or a value the class itself refuses.

    Examples
    --------
    >>> from urlink.model.flows.people import PeopleParams
    >>> params_from_table(PeopleParams, {"beta": 0.05, "deterrence": "exp"}).beta
    0.05
    >>> try:
    ...     params_from_table(PeopleParams, {"betta": 1}, where="[flows.people]")
    ... except InputError as err:
    ...     print(str(err).split(";")[0])
    [flows.people] key 'betta' is not a known key (did you mean 'beta'?)
    """
    if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)):
        msg = f"{cls!r} is not a dataclass"
        raise TypeError(msg)
    prefix = f"{where} " if where else ""
    fields = _fields(cls)
    by_key = {toml_key(f): f for f in fields}
    unknown = sorted(set(table) - set(by_key) - set(ignore))
    if unknown:
        close = difflib.get_close_matches(unknown[0], list(by_key), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        msg = f"{prefix}key {unknown[0]!r} is not a known key{hint}; known keys: {sorted(by_key)}"
        raise InputError(msg)
    hints = _hints(cls)
    kwargs: dict[str, Any] = {}
    for key, f in by_key.items():
        if key in table:
            kwargs[f.name] = _convert(table[key], hints[f.name], f"{prefix}key {key!r}", base)
        elif defaults is not None and f.name in defaults:
            kwargs[f.name] = defaults[f.name]
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            msg = f"{prefix}key {key!r} is missing; give {_type_name(hints[f.name])}"
            raise InputError(msg)
    try:
        return cls(**kwargs)
    except InputError as err:
        msg = f"{prefix}{err}" if where else str(err)
        raise InputError(msg) from None
    except (TypeError, ValueError) as err:
        msg = f"{prefix}{err}"
        raise InputError(msg) from None


def describe_settings(cls: type) -> list[tuple[str, str, str]]:
    """List the TOML keys of a settings dataclass: key, accepted values, default.

    Parameters
    ----------
    cls
        A dataclass type.

    Returns
    -------
    list of tuple
        ``(key, type description, default)`` per field, in field order (for docs and
        error messages).

    Examples
    --------
    >>> from urlink.model.flows.ecosystem import EcosystemParams
    >>> describe_settings(EcosystemParams)
    [('max_time_min', 'a number', 'None')]
    """
    hints = _hints(cls)
    out = []
    for f in _fields(cls):
        if f.default is not dataclasses.MISSING:
            default = repr(f.default) if not isinstance(f.default, str) else f'"{f.default}"'
        elif f.default_factory is not dataclasses.MISSING:
            default = "(table)"
        else:
            default = "required"
        out.append((toml_key(f), _type_name(hints[f.name]), default.replace("'", '"')))
    return out
