"""Parallel execution: one small abstraction for the heavy steps of a run.

urlink's heavy steps (skim chunks, strategy re-evaluation, SMAA sample chunks) are all of one
shape: a pure function applied to many small *items* (index ranges, strategies, seeds) that
all read the same large *shared* object (the routing graph arrays, the base state, the
performance table). :func:`map_chunks` runs such a step

- serially in this process (``workers=1``, no scheduler),
- over local worker processes (``workers > 1``; :class:`concurrent.futures.ProcessPoolExecutor`,
  the shared object handed to each worker once, at start-up: by ``fork`` when this process
  runs no other thread, else pickled for ``forkserver``), or over threads when the caller
  says the work releases the GIL (``pool="threads"``: urlink's compiled Dijkstra),
- on a Dask cluster (``scheduler="tcp://HOST:PORT"`` or a ``distributed.Client``): the
  shared object is scattered to every worker once (``broadcast=True``), then one task per
  item (or per ``per_task`` items) is submitted.

Results always come back in input order, and with at most a few tasks in flight per worker
(so that streaming consumers, e.g. a skim written to disk, keep memory bounded). Since the
functions are pure and every random draw is seeded per item, results do not depend on the
number of workers or on the scheduler.

Dask is optional (``pip install "urlink[dask]"``) and imported only when a scheduler is given.
Functions sent to processes or to Dask must be importable on the other side (module-level
functions of an installed package): the workers of a cluster need urlink installed too.
"""

from __future__ import annotations

import contextlib
import importlib
import math
import multiprocessing as mp
import os
import re
import tempfile
import threading
from collections import deque
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar

from urlink.errors import InputError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

__all__ = [
    "Pool",
    "RunScale",
    "dask_client",
    "imap_chunks",
    "map_chunks",
    "parse_size",
    "resolve_workers",
    "run_scale",
]

S = TypeVar("S")
T = TypeVar("T")
R = TypeVar("R")

Pool = Literal["processes", "threads"]
"""Local pool for ``workers > 1``: processes (default) or threads (GIL-free work only)."""

IN_FLIGHT_PER_WORKER = 2
"""Items submitted ahead per worker: enough to keep workers busy, few enough to bound memory."""


class _Future(Protocol):
    def result(self) -> Any: ...  # pragma: no cover - a protocol


def resolve_workers(workers: int | None) -> int:
    """Check a ``workers`` option; None means every core of this machine.

    Parameters
    ----------
    workers
        A positive integer, or None.

    Returns
    -------
    int
        The number of local workers.

    Raises
    ------
    InputError
        If ``workers`` is not a positive integer.

    Examples
    --------
    >>> resolve_workers(3)
    3
    """
    if workers is None:
        return os.cpu_count() or 1
    if isinstance(workers, bool) or not (isinstance(workers, int) and workers >= 1):
        msg = f"workers={workers!r} must be a positive integer (or None for all cores)"
        raise InputError(msg)
    return workers


_UNITS = {
    "": 1,
    "b": 1,
    "k": 10**3,
    "kb": 10**3,
    "m": 10**6,
    "mb": 10**6,
    "g": 10**9,
    "gb": 10**9,
    "t": 10**12,
    "tb": 10**12,
    "kib": 2**10,
    "mib": 2**20,
    "gib": 2**30,
    "tib": 2**40,
}


def parse_size(text: str | int) -> int:
    """Turn a memory size such as ``"4GB"``, ``"512MiB"`` or ``"1.5G"`` into bytes.

    KB, MB, GB, TB (and K, M, G, T) are decimal (powers of 1000); KiB, MiB, GiB, TiB are
    binary (powers of 1024); a bare number is bytes. Case and spaces do not matter.

    Parameters
    ----------
    text
        The size, or a number of bytes.

    Returns
    -------
    int
        Bytes (at least 1).

    Raises
    ------
    InputError
        If the text is not a positive size with a known unit.

    Examples
    --------
    >>> parse_size("4GB")
    4000000000
    >>> parse_size("512 MiB")
    536870912
    """
    if isinstance(text, int) and not isinstance(text, bool):
        value, unit = float(text), ""
    else:
        m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:e[0-9]+)?)\s*([a-z]*)\s*", str(text).lower())
        if m is None or m.group(2) not in _UNITS:
            msg = (
                f"memory size {text!r} is not valid; write a number with a unit, e.g. 4GB, "
                "512MB or 2GiB (KB/MB/GB/TB are powers of 1000, KiB/MiB/GiB/TiB of 1024)"
            )
            raise InputError(msg)
        value, unit = float(m.group(1)), m.group(2)
    size = value * _UNITS[unit]
    if not (math.isfinite(size) and size >= 1):
        msg = f"memory size {text!r} must be at least 1 byte, e.g. 4GB"
        raise InputError(msg)
    return int(size)


def _distributed() -> Any:
    try:
        return importlib.import_module("distributed")
    except ImportError:
        msg = (
            "a Dask scheduler was given but dask.distributed is not installed; install it "
            'with pip install "urlink[dask]", or run without --scheduler (local workers)'
        )
        raise InputError(msg) from None


@contextlib.contextmanager
def dask_client(scheduler: Any) -> Iterator[Any]:
    """Connect to a Dask scheduler for the duration of a ``with`` block.

    Parameters
    ----------
    scheduler
        ``"tcp://HOST:PORT"`` (connect, and close the connection at the end), a
        ``distributed.Client`` (used as it is, left open), or None (yields None: local).

    Yields
    ------
    distributed.Client or None
        The client.

    Raises
    ------
    InputError
        If dask.distributed is not installed, the address is not a string, or the scheduler
        cannot be reached.
    """
    if scheduler is None:
        yield None
        return
    distributed = _distributed()
    if isinstance(scheduler, distributed.Client):
        yield scheduler
        return
    if not isinstance(scheduler, str) or not scheduler.strip():
        msg = (
            f"scheduler={scheduler!r} is not valid; give the scheduler's address, e.g. "
            "tcp://10.0.0.5:8786, or a distributed.Client"
        )
        raise InputError(msg)
    try:
        client = distributed.Client(scheduler, set_as_default=False, timeout="20s")
    except OSError as err:
        msg = (
            f"cannot reach the Dask scheduler at {scheduler!r} ({err}); start it with "
            "`dask scheduler` and check the address and port"
        )
        raise InputError(msg) from None
    try:
        yield client
    finally:
        client.close()


_SHARED: dict[str, Any] = {}


def _set_shared(shared: Any) -> None:
    """Process-pool initializer: keep the shared object for this worker's tasks."""
    _SHARED["value"] = shared


def _ordered(submit: Callable[[Any], _Future], items: Iterable[Any], window: int) -> Iterator[Any]:
    """Results of ``submit(item).result()`` in input order, ``window`` items in flight."""
    it = iter(items)
    pending: deque[_Future] = deque(submit(item) for item in _take(it, window))
    while pending:
        future = pending.popleft()
        result = future.result()
        for item in _take(it, 1):
            pending.append(submit(item))
        yield result


def _take(it: Iterator[Any], n: int) -> Iterator[Any]:
    for _ in range(n):
        try:
            yield next(it)
        except StopIteration:
            return


def _local_executor(workers: int, pool: Pool, shared: Any) -> Executor:
    if pool == "threads":
        return ThreadPoolExecutor(max_workers=workers)
    # fork hands the shared object to the workers without pickling it (copy on write), but
    # forking a process that runs other threads (e.g. a Dask client's) can deadlock
    methods = mp.get_all_start_methods()
    if "fork" in methods and threading.active_count() == 1:
        method = "fork"
    else:
        method = "forkserver" if "forkserver" in methods else "spawn"
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=mp.get_context(method),
        initializer=_set_shared,
        initargs=(shared,),
    )


def imap_chunks(
    func: Callable[[S, T], R],
    items: Iterable[T],
    *,
    shared: S,
    workers: int | None = 1,
    scheduler: Any = None,
    pool: Pool = "processes",
    per_task: int | Literal["auto"] = 1,
) -> Iterator[R]:
    """Apply ``func(shared, item)`` to every item; yield the results in input order.

    Parameters
    ----------
    func
        A pure function of the shared object and one item (module-level, so that it can be
        sent to processes and Dask workers).
    items
        The items (small: index ranges, names, seeds).
    shared
        The large read-only object every call needs; sent to each worker once.
    workers
        Local workers (None: all cores); ignored with a scheduler (the cluster decides).
    scheduler
        A Dask scheduler address or ``distributed.Client`` (see :func:`dask_client`), or None
        to run locally.
    pool
        ``"processes"`` or ``"threads"`` for local workers (threads only for work that
        releases the GIL).
    per_task
        Items per task sent to a worker (more items per task, less overhead per item; more
        memory in flight). ``"auto"``: about four tasks per worker.

    Yields
    ------
    object
        ``func(shared, item)`` for each item, in order.

    Raises
    ------
    InputError
        On bad options; any error of ``func`` is raised here as it is.
    """
    if pool not in ("processes", "threads"):
        msg = f"pool={pool!r} is not valid; use 'processes' or 'threads'"
        raise InputError(msg)
    if per_task != "auto" and (
        isinstance(per_task, bool) or not (isinstance(per_task, int) and per_task >= 1)
    ):
        msg = f"per_task={per_task!r} must be a positive integer or 'auto'"
        raise InputError(msg)
    n = resolve_workers(workers)
    if scheduler is not None:
        with dask_client(scheduler) as client:
            yield from _dask_map(client, func, items, shared, per_task)
        return
    if n == 1:
        for item in items:
            yield func(shared, item)
        return
    with _local_executor(n, pool, shared) as ex:

        def call(batch: list[Any]) -> _Future:
            if pool == "threads":
                return ex.submit(_call_batch, func, shared, batch)
            return ex.submit(_call_shared_batch, func, batch)

        for results in _ordered(call, _batches(items, per_task, n), IN_FLIGHT_PER_WORKER * n):
            yield from results


def _batches(
    items: Iterable[Any], per_task: int | Literal["auto"], n_workers: int
) -> Iterator[list[Any]]:
    if per_task == "auto":
        items = list(items)
        size = max(1, math.ceil(len(items) / (4 * n_workers)))
    else:
        size = per_task
    it = iter(items)
    while batch := list(_take(it, size)):
        yield batch


def _call_batch(func: Callable[[Any, Any], Any], shared: Any, batch: list[Any]) -> list[Any]:
    return [func(shared, item) for item in batch]


def _call_shared_batch(func: Callable[[Any, Any], Any], batch: list[Any]) -> list[Any]:
    return _call_batch(func, _SHARED["value"], batch)


def _dask_map(
    client: Any,
    func: Callable[[Any, Any], Any],
    items: Iterable[Any],
    shared: Any,
    per_task: int | Literal["auto"],
) -> Iterator[Any]:
    n_workers = max(1, sum(client.nthreads().values()))
    [shared_future] = client.scatter([shared], broadcast=True, hash=False)

    def submit(batch: list[Any]) -> _Future:
        future: _Future = client.submit(_call_batch, func, shared_future, batch, pure=False)
        return future

    try:
        batches = _batches(items, per_task, n_workers)
        for results in _ordered(submit, batches, IN_FLIGHT_PER_WORKER * n_workers):
            yield from results
    finally:
        shared_future.release()


def map_chunks(
    func: Callable[[S, T], R],
    items: Iterable[T],
    *,
    shared: S,
    workers: int | None = 1,
    scheduler: Any = None,
    pool: Pool = "processes",
    per_task: int | Literal["auto"] = 1,
) -> list[R]:
    """Apply ``func(shared, item)`` to every item; return the results in input order.

    The list form of :func:`imap_chunks` (same parameters).

    Parameters
    ----------
    func, items, shared, workers, scheduler, pool, per_task
        As for :func:`imap_chunks`.

    Returns
    -------
    list
        ``func(shared, item)`` for each item, in order.

    Examples
    --------
    >>> import operator
    >>> map_chunks(operator.mul, [1, 2, 3], shared=10)
    [10, 20, 30]
    """
    return list(
        imap_chunks(
            func,
            items,
            shared=shared,
            workers=workers,
            scheduler=scheduler,
            pool=pool,
            per_task=per_task,
        )
    )


AUTO_PARALLEL_ZONES = 1_000
"""Zone count from which ``workers="auto"`` uses every core (:func:`auto_workers`).

Starting a worker pool costs about a second (``docs/performance.md``, "Parallel workers
and Dask"); a 1,000 x 1,000 zone skim on a 160,000-edge network takes 6.5 s on one core and
3.0 s on two, while a district run (Huangyan, 29 zones) gets slower with a pool (scoring
1.2 s instead of 0.1 s)."""


def auto_workers(n_zones: int) -> int:
    """Local workers for ``workers="auto"``: every core from :data:`AUTO_PARALLEL_ZONES` zones.

    Parameters
    ----------
    n_zones
        Zones of the run.

    Returns
    -------
    int
        1 below the threshold, else the number of cores.

    Examples
    --------
    >>> auto_workers(29)
    1
    >>> auto_workers(5_000) == (os.cpu_count() or 1)
    True
    """
    return (os.cpu_count() or 1) if n_zones >= AUTO_PARALLEL_ZONES else 1


@dataclass(frozen=True, slots=True)
class RunScale:
    """Where the heavy steps of one run go, and how much memory the skim may take.

    Build it with :func:`run_scale`.

    Attributes
    ----------
    workers
        Local workers (1: serial).
    client
        A connected ``distributed.Client``, or None to run locally.
    max_memory
        Bytes the zone skim may hold in memory (None: no bound).
    scratch
        Folder for a skim spilled to disk (exists for the run; None without ``max_memory``).
    """

    workers: int = 1
    client: Any = None
    max_memory: int | None = None
    scratch: Path | None = None


@contextlib.contextmanager
def run_scale(
    *, workers: int | None = 1, scheduler: Any = None, max_memory: int | str | None = None
) -> Iterator[RunScale]:
    """Check the scale options of a run and hold its Dask connection and scratch folder.

    Parameters
    ----------
    workers
        Local workers (None: all cores).
    scheduler
        Dask scheduler address or client (see :func:`dask_client`), or None.
    max_memory
        Bytes or a size (``"4GB"``) the skim may hold in memory; a larger skim goes to a
        scratch folder on disk, removed at the end.

    Yields
    ------
    RunScale
        The checked options.

    Raises
    ------
    InputError
        On bad options, or a scheduler that cannot be used.

    Examples
    --------
    >>> with run_scale(workers=2, max_memory="1GB") as scale:
    ...     (scale.workers, scale.max_memory, scale.scratch is not None)
    (2, 1000000000, True)
    """
    n = resolve_workers(workers)
    limit = None if max_memory is None else parse_size(max_memory)
    with contextlib.ExitStack() as stack:
        client = stack.enter_context(dask_client(scheduler))
        scratch = None
        if limit is not None:
            folder = tempfile.TemporaryDirectory(prefix="urlink-", ignore_cleanup_errors=True)
            scratch = Path(stack.enter_context(folder))
        yield RunScale(workers=n, client=client, max_memory=limit, scratch=scratch)
