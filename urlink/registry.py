"""One registry type for every pluggable kind: flow models, strategy kinds, methods, indicators.

A :class:`Registry` maps names (as written in scenario files) to objects that follow the
kind's :class:`typing.Protocol`, each with an optional *settings* dataclass: the keys of its
TOML table, checked by :func:`urlink.params.params_from_table` exactly like the built-in
ones. Plugins are found through entry points, loaded the first time a registry is read:

=============================  ==================================================
entry-point group              registry
=============================  ==================================================
``urlink.flow_models``         :data:`urlink.model.flows.FLOW_MODELS` (names
                               ``"people.my_model"``: flow type, dot, model name)
``urlink.strategy_kinds``      :data:`urlink.scenario.strategies.STRATEGY_KINDS`
``urlink.scoring_methods``     :data:`urlink.scoring.methods.SCORING_METHODS`
``urlink.indicators``          :data:`urlink.scoring.indicators.INDICATORS`
=============================  ==================================================

An entry point may name a module (importing it registers its objects with the registries'
decorators) or an object, which is registered under the entry point's name with the
settings class in its ``settings`` attribute (if any). See ``docs/extending.md``.

Registering a name twice is a programming error (:class:`RegistrationError`), not an input
error; looking up an unknown name is an :class:`~urlink.errors.InputError` that lists the
known names.
"""

from __future__ import annotations

import difflib
import importlib.metadata
import logging
import types
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, is_dataclass
from typing import Any, Generic, TypeVar

from urlink.errors import InputError, UrlinkError

__all__ = ["Entry", "RegistrationError", "Registry"]

logger = logging.getLogger(__name__)

T = TypeVar("T")


class RegistrationError(UrlinkError, ValueError):
    """A registry was used wrongly by code (a name registered twice, a bad settings class)."""


@dataclass(frozen=True, slots=True)
class Entry(Generic[T]):
    """One registered object.

    Attributes
    ----------
    name
        Its name in scenario files.
    obj
        The object (a function following the registry's protocol).
    settings
        Dataclass of its TOML settings, or None if it takes none.
    origin
        Where it came from: ``"urlink"``, ``"python"`` (registered at run time) or
        ``"entry point <group>:<name>"``.
    """

    name: str
    obj: T
    settings: type | None = None
    origin: str = "python"


@dataclass(eq=False)
class Registry(Mapping[str, T]):
    """Named objects of one pluggable kind, with their settings dataclasses.

    A registry is a read-only mapping name -> object; :meth:`register` adds to it.

    Parameters
    ----------
    kind
        What it holds, for messages (``"people model"``).
    group
        Entry-point group searched for plugins.
    prefix
        Only entry points named ``"<prefix>.<name>"`` belong here (the flow type of a
        flow model); None takes every entry point of the group.

    Examples
    --------
    >>> from dataclasses import dataclass
    >>> reg = Registry("greeting", group="urlink.test_greetings")
    >>> @dataclass(frozen=True)
    ... class Loud:
    ...     times: int = 1
    >>> @reg.register("hello", settings=Loud)
    ... def hello(name, *, params):
    ...     return "hello " * params.times + name
    >>> reg["hello"]("Huangyan", params=Loud(2))
    'hello hello Huangyan'
    >>> reg.entry("hello").settings is Loud, sorted(reg)
    (True, ['hello'])
    """

    kind: str
    group: str
    prefix: str | None = None
    _entries: dict[str, Entry[T]] = field(default_factory=dict, repr=False)
    _loaded: bool = field(default=False, repr=False)

    # --------------------------------------------------------------------- registering

    def register(
        self,
        name: str,
        obj: T | None = None,
        *,
        settings: type | None = None,
        origin: str = "python",
    ) -> Any:
        """Register ``obj`` under ``name``, or return a decorator that does.

        Parameters
        ----------
        name
            Name used in scenario files.
        obj
            The object; omit it to use the method as a decorator.
        settings
            A dataclass whose fields are the object's TOML settings (None: it takes none).
        origin
            Where it comes from (shown by ``urlink plugins``-style listings and errors).

        Returns
        -------
        object or callable
            ``obj``, or the decorator (which returns the function unchanged).

        Raises
        ------
        RegistrationError
            If the name is empty or taken, or ``settings`` is not a dataclass.
        """
        if not isinstance(name, str) or not name.strip():
            msg = f"a {self.kind} needs a non-empty name, got {name!r}"
            raise RegistrationError(msg)
        if settings is not None and not (isinstance(settings, type) and is_dataclass(settings)):
            msg = f"{self.kind} {name!r}: settings={settings!r} must be a dataclass type"
            raise RegistrationError(msg)

        def add(target: T) -> T:
            if name in self._entries:
                old = self._entries[name].origin
                msg = (
                    f"a {self.kind} named {name!r} is already registered (from {old}); "
                    "choose another name"
                )
                raise RegistrationError(msg)
            self._entries[name] = Entry(name=name, obj=target, settings=settings, origin=origin)
            return target

        if obj is None:
            return add
        return add(obj)

    def unregister(self, name: str) -> None:
        """Remove a registered name (for tests and notebooks that re-register).

        Parameters
        ----------
        name
            A registered name.
        """
        self._entries.pop(name, None)

    # ----------------------------------------------------------------------- reading

    def entry(self, name: str) -> Entry[T]:
        """Return the entry of ``name`` (object, settings class, origin).

        Parameters
        ----------
        name
            A registered name.

        Returns
        -------
        Entry

        Raises
        ------
        InputError
            If no such name is registered (the message lists the registered ones and the
            closest match).
        """
        self._load_plugins()
        found = self._entries.get(name) if isinstance(name, str) else None
        if found is None:
            names = sorted(self._entries)
            close = difflib.get_close_matches(str(name), names, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            msg = f"{name!r} is not a registered {self.kind}{hint}; use one of {names}"
            raise InputError(msg)
        return found

    def __getitem__(self, name: str) -> T:
        self._load_plugins()
        try:
            return self._entries[name].obj
        except KeyError:
            raise KeyError(name) from None

    def __iter__(self) -> Iterator[str]:
        self._load_plugins()
        return iter(list(self._entries))

    def __len__(self) -> int:
        self._load_plugins()
        return len(self._entries)

    def __contains__(self, name: object) -> bool:
        self._load_plugins()
        return name in self._entries

    # ----------------------------------------------------------------------- plugins

    def _load_plugins(self) -> None:
        if self._loaded:
            return
        self._loaded = True  # before loading: a plugin module may read the registry
        for ep in importlib.metadata.entry_points(group=self.group):
            name = ep.name
            if self.prefix is not None:
                head, _, rest = name.partition(".")
                if head != self.prefix or not rest:
                    continue
                name = rest
            if name in self._entries:
                continue  # registered already (a module imported before)
            loaded = ep.load()
            if isinstance(loaded, types.ModuleType):
                if name not in self._entries:
                    msg = (
                        f"entry point {self.group}:{ep.name} = {ep.value} imported a module "
                        f"that registers no {self.kind} named {name!r}"
                    )
                    raise RegistrationError(msg)
                continue
            self.register(
                name,
                loaded,
                settings=getattr(loaded, "settings", None),
                origin=f"entry point {self.group}:{ep.name}",
            )
            logger.debug("loaded %s %r from %s", self.kind, name, ep.value)


def builtin(
    registry: Registry[Any], name: str, *, settings: type | None = None
) -> Callable[[T], T]:
    """Register one of urlink's own objects (origin ``"urlink"``); a decorator.

    Parameters
    ----------
    registry
        The registry.
    name
        Its name.
    settings
        Its settings dataclass.

    Returns
    -------
    callable
        The decorator.
    """
    decorator: Callable[[T], T] = registry.register(name, settings=settings, origin="urlink")
    return decorator
