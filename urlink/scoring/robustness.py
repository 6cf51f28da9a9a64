"""SMAA-2: rank acceptability of strategies under uncertain weights."""

from __future__ import annotations

import functools
import logging
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from urlink.errors import InputError, UrlinkError
from urlink.parallel import map_chunks
from urlink.scoring.methods import (
    _TIE_DECIMALS,
    Direction,
    References,
    ScoringMethod,
    _check_references,
    _check_table,
    _check_weights,
    _get_method,
    _interval,
    accepts_references,
    batch_method,
    interval_batch_method,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    import numpy.typing as npt

logger = logging.getLogger(__name__)


_CHUNK = 2_000  # SMAA samples scored at once: 2,000 x 50 strategies x 8 B = 0.8 MB


# ------------------------------------------------------------------------------ SMAA


@dataclass(frozen=True, slots=True, eq=False)
class SmaaResult:
    """Result of :func:`smaa` (SMAA-2 descriptive measures [R101]-[R103]).

    Attributes
    ----------
    acceptability
        Rank acceptability indices ``b_i^r``: strategies x ranks 1..m, the share of weight
        samples that give strategy ``i`` rank ``r``. Every row and every column sums to 1.
    first_rank
        ``b_i^1``, the first-rank acceptability (named ``"first_rank"``).
    central_weights
        Strategies x indicators: the mean weight vector of the samples in which the
        strategy ranks first (its "typical supporter"); NaN if it is never first.
    confidence
        SMAA-2 confidence factor: 1.0 if the strategy ranks first when scored with its own
        central weights, else 0.0; NaN if it is never first. With exact performance values
        (no sampled uncertainty in the table) it can only be 0 or 1.
    n_samples, seed, method
        The inputs, for the record.
    """

    acceptability: pd.DataFrame
    first_rank: pd.Series
    central_weights: pd.DataFrame
    confidence: pd.Series
    n_samples: int
    seed: int
    method: str


def _dirichlet_alpha(
    indicators: pd.Index, around: pd.Series | None, concentration: float
) -> npt.NDArray[np.float64]:
    if (
        isinstance(concentration, bool)
        or not (isinstance(concentration, (int, float)) and math.isfinite(concentration))
        or concentration <= 0
    ):
        msg = f"concentration={concentration!r} must be a finite number > 0 (e.g. 50.0)"
        raise InputError(msg)
    if around is None:
        return np.ones(len(indicators))
    return float(concentration) * _check_weights(around, indicators, argument="around")


def _draw(
    rng: np.random.Generator, alpha: npt.NDArray[np.float64], size: int
) -> npt.NDArray[np.float64]:
    """Dirichlet(alpha) samples; indicators with alpha = 0 always get weight 0."""
    positive = alpha > 0
    w = np.zeros((size, len(alpha)))
    w[:, positive] = rng.dirichlet(alpha[positive], size=size)
    return w


def _check_count(value: object, argument: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        msg = f"{argument}={value!r} must be an integer >= {minimum}"
        raise InputError(msg)
    return int(value)


def sample_weights(
    indicators: Sequence[str],
    *,
    n_samples: int = 10_000,
    seed: int = 0,
    around: pd.Series | None = None,
    concentration: float = 50.0,
) -> pd.DataFrame:
    """Draw the weight vectors that :func:`smaa` uses, for inspection or plotting.

    Without ``around``, weights are uniform on the simplex: Dirichlet(1, ..., 1), i.e.
    every weight vector with non-negative entries summing to 1 is equally likely [R102].
    With ``around`` (e.g. one group's workshop weights ``a``, divided by their sum), they
    are Dirichlet(``concentration`` x ``a``): the mean is ``a`` and the spread shrinks as
    ``concentration`` grows (variance of ``w_j`` = ``a_j (1 - a_j) / (concentration + 1)``;
    at 50 a weight of 0.3 varies by about ±0.06). Indicators with ``a_j = 0`` always get
    weight 0. The same ``seed`` gives the same samples as :func:`smaa`.

    Parameters
    ----------
    indicators
        Indicator names (columns of the result).
    n_samples
        Number of weight vectors.
    seed
        Root seed (:class:`numpy.random.SeedSequence`, one child per chunk of 2,000).
    around
        Centre of the distribution (weights per indicator), or None for uniform.
    concentration
        Dirichlet concentration around ``around`` (ignored without it).

    Returns
    -------
    pandas.DataFrame
        Samples x indicators, each row summing to 1.

    Raises
    ------
    InputError
        If ``n_samples``, ``seed``, ``around`` or ``concentration`` is invalid.

    Examples
    --------
    >>> import pandas as pd
    >>> from urlink.scoring import sample_weights
    >>> w = sample_weights(["access", "co2"], n_samples=4000,
    ...                    around=pd.Series({"access": 0.7, "co2": 0.3}))
    >>> w.mean().round(2)
    access    0.7
    co2       0.3
    dtype: float64
    """
    cols = pd.Index(list(indicators))
    n_samples = _check_count(n_samples, "n_samples", 1)
    seed = _check_count(seed, "seed", 0)
    alpha = _dirichlet_alpha(cols, around, concentration)
    # drawn chunk by chunk exactly as smaa does, each chunk from its own seed
    w = np.vstack(
        [_draw(np.random.default_rng(ss), alpha, size) for ss, size in _chunks(seed, n_samples)]
    )
    return pd.DataFrame(w, columns=cols)


def _chunks(seed: int, n_samples: int) -> list[tuple[np.random.SeedSequence, int]]:
    """Seeds and sizes of the sample chunks: chunk k draws from the k-th spawned seed.

    The children depend only on ``seed`` and ``k``, so the samples are the same whether the
    chunks are drawn in one process, in several, or on a cluster.
    """
    sizes = [min(_CHUNK, n_samples - s) for s in range(0, n_samples, _CHUNK)]
    return list(zip(np.random.SeedSequence(seed).spawn(len(sizes)), sizes, strict=True))


@dataclass(frozen=True, slots=True, eq=False)
class _SmaaJob:
    """What every SMAA chunk needs (sent once to each worker)."""

    values: npt.NDArray[np.float64]
    maximise: npt.NDArray[np.bool_]
    alpha: npt.NDArray[np.float64]
    batch: Callable[..., npt.NDArray[np.float64]] | None
    func: ScoringMethod
    table: pd.DataFrame
    directions: Mapping[str, Direction]

    def scores(self, w: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """Scores of every alternative (columns) under each weight vector (rows)."""
        if self.batch is not None:
            return self.batch(self.values, w, self.maximise)
        return _loop_scores(self.func, self.table, self.directions, w)


def _smaa_chunk(
    job: _SmaaJob, chunk: tuple[np.random.SeedSequence, int]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """Rank counts and first-rank weight sums of one chunk of samples (a pure function)."""
    seed, size = chunk
    m = len(job.values)
    positions = np.arange(m)
    w = _draw(np.random.default_rng(seed), job.alpha, size)
    order = _rank_order(job.scores(w))  # order[s, r] = alternative at rank r + 1
    counts = np.bincount((order * m + positions).ravel(), minlength=m * m).astype(np.int64)
    winners = (order[:, :1] == positions).astype(float)  # samples x alternatives
    return counts, winners.T @ w


def _rank_order(scores: npt.NDArray[np.float64]) -> npt.NDArray[np.intp]:
    """Per row, the alternatives from best to worst; ties go to the earlier alternative."""
    if not np.isfinite(scores).all():
        msg = "the scoring method returned missing or infinite scores"
        raise UrlinkError(msg)
    return np.argsort(-np.round(scores, _TIE_DECIMALS), axis=1, kind="stable")


def _loop_scores(
    func: ScoringMethod,
    table: pd.DataFrame,
    directions: Mapping[str, Direction],
    weights: npt.NDArray[np.float64],
) -> npt.NDArray[np.float64]:
    """Score one weight vector at a time (methods registered without a batch form)."""
    out = np.empty((len(weights), len(table)))
    for s, w in enumerate(weights):
        result = func(table, pd.Series(w, index=table.columns), directions)
        out[s] = result.reindex(table.index).to_numpy(dtype=float)
    return out


def smaa(
    table: pd.DataFrame,
    directions: Mapping[str, Direction],
    *,
    method: str = "weighted_sum",
    n_samples: int = 10_000,
    seed: int = 0,
    around: pd.Series | None = None,
    concentration: float = 50.0,
    workers: int | None = 1,
    scheduler: Any = None,
    references: References | None = None,
) -> SmaaResult:
    """Stochastic multicriteria acceptability analysis (SMAA-2) over the weight space.

    Weights are sampled (see :func:`sample_weights`): uniformly on the simplex, i.e.
    Dirichlet(1, ..., 1), when nothing is known about them, or Dirichlet(``concentration``
    x ``around``) around one stakeholder group's weights [R101]-[R103]. Every sample ranks
    all strategies with ``method``; the rank acceptability ``b_i^r`` is the share of samples
    in which strategy ``i`` gets rank ``r``. The performance table itself is taken as exact.

    The computation is vectorised: for ``"weighted_sum"`` the scores of a chunk of samples
    are one matrix product ``W @ N.T`` (samples x alternatives), for ``"topsis"`` the
    distances S+ and S- are matrix products of the squared weights with the squared
    distances to the ideal and anti-ideal. Samples are processed in chunks of 2,000 to
    bound memory; chunk ``k`` draws from the ``k``-th child of
    ``numpy.random.SeedSequence(seed)``, so chunks can be scored in any process. A method
    registered without a batch form (:func:`register_method`) is
    called once per sample instead (correct, slower).

    Ties: scores equal to 12 decimals are ranked by the strategies' order in ``table``
    (the earlier one gets the better rank), so every sample gives a strict ranking and every
    rank is held by exactly one strategy.

    Parameters
    ----------
    table
        Performance table, strategies x indicators.
    directions
        ``"max"`` or ``"min"`` per indicator.
    method
        A name in :data:`SCORING_METHODS`.
    n_samples
        Number of weight samples (the standard error of an acceptability ``b`` is
        ``sqrt(b (1 - b) / n_samples)``, at most 0.005 for 10,000).
    seed
        Root seed (:class:`numpy.random.SeedSequence`); the same inputs and seed give the same
        result.
    around
        Centre weights (e.g. a row of :func:`weights_from_points`), or None for uniform.
    concentration
        Dirichlet concentration around ``around`` (ignored without it); larger = tighter.
    workers, scheduler
        Score the sample chunks over local processes or a Dask cluster (see
        :func:`urlink.parallel.map_chunks`); each chunk of 2,000 samples draws from its own
        seed, spawned from ``seed``, so the result does not depend on them.
    references
        ``(worst, best)`` per indicator: score on interval-normalised values with fixed
        references (:func:`urlink.scoring.methods.normalise`); None: the method's own
        normalisation over the strategies (min-max for the weighted sum).

    Returns
    -------
    SmaaResult
        Rank acceptabilities, first-rank acceptability, central weights and confidence
        factors.

    Raises
    ------
    InputError
        If the table, directions, method, ``around`` or the sampling settings are invalid.

    Examples
    --------
    >>> import pandas as pd
    >>> from urlink.scoring import smaa
    >>> table = pd.DataFrame({"access_pct": [60.0, 90.0, 50.0], "co2_kt": [4.0, 1.0, 5.0]},
    ...                      index=["bus", "rail", "road"])
    >>> res = smaa(table, {"access_pct": "max", "co2_kt": "min"}, n_samples=1000)
    >>> res.first_rank
    bus     0.0
    rail    1.0
    road    0.0
    Name: first_rank, dtype: float64
    >>> res.acceptability.loc["bus"].tolist()
    [0.0, 1.0, 0.0]
    """
    values, maximise = _check_table(table, directions)
    func = _get_method(method)
    batch = batch_method(method)
    if references is not None:
        if not accepts_references(method):
            msg = (
                f"scoring method {method!r} does not take reference values; use "
                '[scoring] normalisation = "minmax" with it, or add a references keyword'
            )
            raise InputError(msg)
        # the batch forms score the oriented interval values r (1 = best reference)
        values = _interval(values, *_check_references(references, table.columns, maximise))
        batch = interval_batch_method(method)
        func = functools.partial(func, references=references)  # type: ignore[call-arg]
    n_samples = _check_count(n_samples, "n_samples", 1)
    seed = _check_count(seed, "seed", 0)
    alpha = _dirichlet_alpha(table.columns, around, concentration)
    m, n = values.shape
    if batch is None:
        logger.info(
            "scoring method %r has no batch form; scoring %s samples one by one",
            method,
            f"{n_samples:,}",
        )

    job = _SmaaJob(
        values=values,
        maximise=maximise,
        alpha=alpha,
        batch=batch,
        func=func,
        table=table,
        directions=directions,
    )
    counts = np.zeros(m * m, dtype=np.int64)
    weight_sums = np.zeros((m, n))
    # summed in chunk order, so the result is the same for any number of workers
    for c, ws in map_chunks(
        _smaa_chunk,
        _chunks(seed, n_samples),
        shared=job,
        workers=workers,
        scheduler=scheduler,
        per_task="auto",  # chunks are small: a few tasks per worker, not one per chunk
    ):
        counts += c
        weight_sums += ws
    positions = np.arange(m)
    scores_of = job.scores
    b = counts.reshape(m, m) / n_samples
    first = counts.reshape(m, m)[:, 0]
    with np.errstate(invalid="ignore", divide="ignore"):
        central = np.where(first[:, None] > 0, weight_sums / first[:, None], np.nan)
    confidence = np.full(m, np.nan)
    ever_first = first > 0
    if ever_first.any():
        winners_at_centre = _rank_order(scores_of(central[ever_first]))[:, 0]
        confidence[ever_first] = (winners_at_centre == positions[ever_first]).astype(float)
    ranks = pd.RangeIndex(1, m + 1, name="rank")
    acceptability = pd.DataFrame(b, index=table.index, columns=ranks)
    logger.info(
        "SMAA (%s): %s samples, %d strategies, %d indicators", method, f"{n_samples:,}", m, n
    )
    return SmaaResult(
        acceptability=acceptability,
        first_rank=acceptability[1].rename("first_rank"),
        central_weights=pd.DataFrame(central, index=table.index, columns=table.columns),
        confidence=pd.Series(confidence, index=table.index, name="confidence"),
        n_samples=n_samples,
        seed=seed,
        method=method,
    )
