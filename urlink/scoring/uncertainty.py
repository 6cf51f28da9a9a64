"""Uncertain inputs: distributions, samples, joint robustness, sensitivity and PRIM.

Everything here works on numbers: distributions of uncertain inputs and their samples
(:class:`Distribution`, :func:`unit_samples`), performance tables per input sample (samples x
strategies x indicators) scored under weight uncertainty, input uncertainty or both
(:func:`joint_robustness`), first-order sensitivity indices from the same samples
(:func:`first_order_indices`, RBD-FAST through SALib) and scenario discovery by the Patient
Rule Induction Method (:func:`prim`). The scenario layer
(:mod:`urlink.scenario.uncertainty`) draws the samples, re-evaluates the strategies and
calls these functions; ``docs/uncertainty.md`` explains how to read the results.

Sources
-------
- Latin hypercube sampling: McKay, Beckman & Conover (1979), *Technometrics* 21(2);
  scrambled Sobol' points: Owen (1998); both from :mod:`scipy.stats.qmc`.
- SMAA-2 (weights): Lahdelma & Salminen (2001), *Operations Research* 49(3); with
  uncertain criteria values in the same draws: Lahdelma, Hokkanen & Salminen (1998),
  *EJOR* 106(1).
- Regret: Savage (1951), *JASA* 46; as a robustness measure in decision making under deep
  uncertainty: Lempert, Popper & Bankes (2003), RAND MR-1626.
- RBD-FAST first-order indices from given data: Tarantola, Gatelli & Mara (2006), *RESS*
  91(6); Plischke (2010), *RESS* 95(4); SALib: Herman & Usher (2017), *JOSS* 2(9).
- PRIM: Friedman & Fisher (1999), *Statistics and Computing* 9(2); for scenario discovery:
  Bryant & Lempert (2010), *Technological Forecasting & Social Change* 77(1).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd
from SALib.analyze import rbd_fast
from scipy import signal, stats
from scipy.stats import qmc

from urlink.errors import InputError
from urlink.scoring.methods import (
    DEFAULT_REFERENCE_BAND,
    Direction,
    References,
    _check_references,
    _interval,
    batch_method,
    interval_batch_method,
)
from urlink.scoring.robustness import _draw, _rank_order

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    import numpy.typing as npt

__all__ = [
    "DISTRIBUTIONS",
    "SAMPLING_METHODS",
    "UNCERTAINTY_MODES",
    "Distribution",
    "JointRobustness",
    "PrimBox",
    "first_order_indices",
    "joint_robustness",
    "prim",
    "unit_samples",
]

logger = logging.getLogger(__name__)

DistributionKind = Literal["uniform", "triangular", "normal", "lognormal", "relative"]
DISTRIBUTIONS: tuple[str, ...] = ("uniform", "triangular", "normal", "lognormal", "relative")
"""Distributions an uncertain input can have (see :class:`Distribution`)."""

SamplingMethod = Literal["lhs", "sobol"]
SAMPLING_METHODS: tuple[str, ...] = ("lhs", "sobol")
"""``"lhs"``: Latin hypercube; ``"sobol"``: scrambled Sobol' points (a power of 2 of them)."""

UNCERTAINTY_MODES: tuple[str, ...] = ("weights", "inputs", "joint")
"""What varies: the weights only (SMAA-2), the inputs only, or both in the same draws."""

_REQUIRED: dict[str, tuple[str, ...]] = {
    "uniform": ("low", "high"),
    "triangular": ("low", "mode", "high"),
    "normal": ("mean", "sd"),
    "lognormal": ("median", "sigma"),
    "relative": ("relative",),
}


@dataclass(frozen=True, slots=True)
class Distribution:
    """The distribution of one uncertain input.

    Attributes
    ----------
    kind
        ``"uniform"`` (``low``, ``high``), ``"triangular"`` (``low``, ``mode``, ``high``),
        ``"normal"`` (``mean``, ``sd``), ``"lognormal"`` (``median``, ``sigma``: the
        standard deviation of the logarithm) or ``"relative"`` (``relative``: uniform on the
        base value x (1 ± relative)).
    low, high, mode, mean, sd, median, sigma, relative
        The parameters of ``kind`` (the others stay None).

    Examples
    --------
    >>> import numpy as np
    >>> Distribution("relative", relative=0.2).values(np.array([0.0, 0.5, 1.0]), base=10.0)
    array([ 8., 10., 12.])
    >>> Distribution("triangular", low=0.0, mode=0.0, high=1.0).values(np.array([0.75]))
    array([0.5])
    """

    kind: DistributionKind = field(metadata={"toml": "distribution"})
    low: float | None = None
    high: float | None = None
    mode: float | None = None
    mean: float | None = None
    sd: float | None = None
    median: float | None = None
    sigma: float | None = None
    relative: float | None = None

    def __post_init__(self) -> None:
        """Check that the parameters of the kind are given, finite and consistent."""
        if self.kind not in _REQUIRED:
            msg = f"distribution {self.kind!r} is not known; use one of {DISTRIBUTIONS}"
            raise InputError(msg)
        need = _REQUIRED[self.kind]
        given = {
            k
            for k in ("low", "high", "mode", "mean", "sd", "median", "sigma", "relative")
            if getattr(self, k) is not None
        }
        missing = [k for k in need if k not in given]
        extra = sorted(given - set(need))
        if missing or extra:
            msg = f"a {self.kind} distribution takes {list(need)}; " + (
                f"missing {missing}" if missing else f"{extra} do not belong to it"
            )
            raise InputError(msg)
        for k in need:
            value = getattr(self, k)
            if isinstance(value, bool) or not math.isfinite(float(value)):
                msg = f"{self.kind} distribution: {k} = {value!r} must be a finite number"
                raise InputError(msg)
        if self.kind in ("uniform", "triangular") and not float(self.low) < float(self.high):  # type: ignore[arg-type]
            msg = (
                f"{self.kind} distribution: low = {self.low!r} must be below high = {self.high!r}"
            )
            raise InputError(msg)
        if self.kind == "triangular" and not (
            float(self.low) <= float(self.mode) <= float(self.high)  # type: ignore[arg-type]
        ):
            msg = f"triangular distribution: mode = {self.mode!r} must lie in [low, high]"
            raise InputError(msg)
        positive = {"normal": "sd", "lognormal": "sigma", "relative": "relative"}.get(self.kind)
        if positive is not None and not float(getattr(self, positive)) > 0:
            msg = f"{self.kind} distribution: {positive} = {getattr(self, positive)!r} must be > 0"
            raise InputError(msg)
        if self.kind == "lognormal" and not float(self.median) > 0:  # type: ignore[arg-type]
            msg = f"lognormal distribution: median = {self.median!r} must be > 0"
            raise InputError(msg)
        if self.kind == "relative" and not float(self.relative) < 1:  # type: ignore[arg-type]
            msg = (
                f"relative range: relative = {self.relative!r} must be below 1 (e.g. 0.2 = ± 20 %)"
            )
            raise InputError(msg)

    def values(
        self, u: npt.NDArray[np.float64], *, base: float | None = None
    ) -> npt.NDArray[np.float64]:
        """Map uniform draws in (0, 1) to values of the input (inverse CDF).

        Parameters
        ----------
        u
            Draws in the unit interval (a column of :func:`unit_samples`).
        base
            The input's value in the scenario (needed by ``"relative"``).

        Returns
        -------
        numpy.ndarray

        Raises
        ------
        InputError
            If a relative range has no base value.
        """
        u = np.asarray(u, dtype=float)
        f = self._number
        out: npt.NDArray[np.float64]
        if self.kind == "uniform":
            out = f("low") + u * (f("high") - f("low"))
        elif self.kind == "relative":
            if base is None or not math.isfinite(base):
                msg = "a relative range needs the input's value in the scenario (base)"
                raise InputError(msg)
            out = base * (1.0 + f("relative") * (2.0 * u - 1.0))
        elif self.kind == "triangular":
            lo, hi = f("low"), f("high")
            c = (f("mode") - lo) / (hi - lo)
            out = np.asarray(stats.triang.ppf(u, c, loc=lo, scale=hi - lo), dtype=float)
        else:
            z = np.asarray(stats.norm.ppf(np.clip(u, 1e-12, 1 - 1e-12)), dtype=float)
            if self.kind == "normal":
                out = f("mean") + f("sd") * z
            else:
                out = f("median") * np.exp(f("sigma") * z)
        return out

    def _number(self, name: str) -> float:
        return float(getattr(self, name))

    def describe(self, base: float | None = None) -> str:
        """Describe the distribution in a few words.

        Parameters
        ----------
        base
            The input's value in the scenario (shown for relative ranges).

        Returns
        -------
        str

        Examples
        --------
        >>> Distribution("uniform", low=1.0, high=2.0).describe()
        'uniform [1, 2]'
        >>> Distribution("relative", relative=0.1).describe(base=50.0)
        '50 ± 10 % (uniform)'
        """
        if self.kind == "relative":
            shown = "base" if base is None else f"{base:.4g}"
            return f"{shown} ± {100 * float(self.relative):g} % (uniform)"  # type: ignore[arg-type]
        args = ", ".join(f"{getattr(self, k):.4g}" for k in _REQUIRED[self.kind])
        if self.kind == "uniform":
            return f"uniform [{args}]"
        names = ", ".join(_REQUIRED[self.kind])
        return f"{self.kind} ({names} = {args})"


def unit_samples(
    n: int, d: int, *, method: SamplingMethod = "lhs", seed: int = 0
) -> npt.NDArray[np.float64]:
    """Draw ``n`` points in the unit hypercube of dimension ``d``.

    Parameters
    ----------
    n
        Number of samples (a power of 2 for ``"sobol"``, to keep its balance properties).
    d
        Number of uncertain inputs.
    method
        ``"lhs"`` (:class:`scipy.stats.qmc.LatinHypercube`: each input's range cut into
        ``n`` equal-probability strata, one draw in each) or ``"sobol"`` (scrambled
        :class:`scipy.stats.qmc.Sobol`).
    seed
        The same seed gives the same points.

    Returns
    -------
    numpy.ndarray
        ``n`` x ``d``, in (0, 1).

    Raises
    ------
    InputError
        If ``method`` is unknown, ``n`` < 2, or ``n`` is not a power of 2 for Sobol'.

    Examples
    --------
    >>> u = unit_samples(8, 2, seed=1)
    >>> u.shape, sorted((u[:, 0] * 8).astype(int).tolist())
    ((8, 2), [0, 1, 2, 3, 4, 5, 6, 7])
    """
    if method not in SAMPLING_METHODS:
        msg = f"method={method!r} is not a sampling method; use one of {SAMPLING_METHODS}"
        raise InputError(msg)
    if isinstance(n, bool) or not isinstance(n, int) or n < 2:
        msg = f"samples={n!r} must be an integer >= 2"
        raise InputError(msg)
    if d < 1:
        return np.empty((n, 0))
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    if method == "lhs":
        return np.asarray(qmc.LatinHypercube(d=d, rng=rng).random(n), dtype=float)
    m = n.bit_length() - 1
    if 2**m != n:
        msg = (
            f"samples={n} must be a power of 2 for Sobol' points (e.g. {2**m} or "
            f"{2 ** (m + 1)}), or use method = 'lhs'"
        )
        raise InputError(msg)
    return np.asarray(qmc.Sobol(d=d, scramble=True, rng=rng).random_base2(m), dtype=float)


# ------------------------------------------------------------------------- joint robustness


@dataclass(frozen=True, slots=True, eq=False)
class JointRobustness:
    """Rank acceptability and regret under weight, input and joint uncertainty.

    Attributes
    ----------
    acceptability
        ``weights`` (a group, ``pooled`` or ``uniform``), ``method``, ``uncertainty``
        (:data:`UNCERTAINTY_MODES`), ``strategy``, ``rank``, ``acceptability``,
        ``first_rank``.
    regret
        ``weights``, ``method``, ``uncertainty``, ``strategy``, ``mean_regret``,
        ``p95_regret``, ``max_regret``: how far the strategy's score falls short of the best
        strategy's score in the same draw (0 when it is the best; score units).
    per_sample
        Per input sample (``sample``), weight set, method and strategy with the centre
        weights: ``score``, ``rank``, ``regret``, and ``first_share`` (the share of the
        joint weight draws of that input sample in which the strategy ranks first).
    indicators
        The indicators scored (those defined in every sample).
    excluded
        Indicators left out, with the reason.
    """

    acceptability: pd.DataFrame
    regret: pd.DataFrame
    per_sample: pd.DataFrame
    indicators: tuple[str, ...] = ()
    excluded: dict[str, str] = field(default_factory=dict)


def _orient(
    values: npt.NDArray[np.float64],
    maximise: npt.NDArray[np.bool_],
    *,
    normalisation: str,
    fixed: tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]] | None,
    has_fixed: npt.NDArray[np.bool_],
    band: float,
    baseline: int,
) -> npt.NDArray[np.float64]:
    """Normalise one performance table (strategies x indicators) as the ranking does."""
    if normalisation == "minmax":
        return values
    base = values[baseline]
    half = band * np.abs(base)
    worst = np.where(maximise, base - half, base + half)
    best = np.where(maximise, base + half, base - half)
    if fixed is not None:
        worst = np.where(has_fixed, fixed[0], worst)
        best = np.where(has_fixed, fixed[1], best)
    return _interval(values, worst, best)


def _scorer(method: str, normalisation: str) -> object:
    batch = interval_batch_method(method) if normalisation == "interval" else batch_method(method)
    if batch is None:
        msg = (
            f"scoring method {method!r} has no batch form; the uncertainty analysis scores "
            "with 'weighted_sum' or 'topsis'"
        )
        raise InputError(msg)
    return batch


def _check_performance(
    performance: npt.NDArray[np.float64], strategies: Sequence[str], indicators: Sequence[str]
) -> npt.NDArray[np.float64]:
    p = np.asarray(performance, dtype=float)
    if p.ndim != 3 or p.shape[1:] != (len(strategies), len(indicators)):
        msg = (
            f"performance must be samples x strategies ({len(strategies)}) x indicators "
            f"({len(indicators)}), got shape {p.shape}"
        )
        raise InputError(msg)
    if p.shape[0] < 2:
        msg = f"performance has {p.shape[0]} input sample(s); give at least 2"
        raise InputError(msg)
    return p


def joint_robustness(  # noqa: PLR0912, PLR0915 - one pass over modes, groups and methods
    performance: npt.NDArray[np.float64],
    nominal: npt.NDArray[np.float64],
    *,
    strategies: Sequence[str],
    indicators: Sequence[str],
    directions: Mapping[str, Direction],
    weights: pd.DataFrame,
    methods: Sequence[str] = ("weighted_sum",),
    weight_samples: int = 10_000,
    weight_draws: int = 20,
    concentration: float = 50.0,
    seed: int = 0,
    normalisation: Literal["interval", "minmax"] = "interval",
    references: References | None = None,
    reference_band: float = DEFAULT_REFERENCE_BAND,
    baseline: str = "baseline",
) -> JointRobustness:
    """Rank acceptability and regret under weight, input and joint uncertainty.

    Three analyses per weight set (each stakeholder group, ``pooled``: the mean of the
    groups' weights, and ``uniform``) and scoring method:

    - ``weights``: the nominal performance table (inputs as in the scenario) scored with
      ``weight_samples`` Dirichlet weight draws around the group's weights (uniform on the
      simplex for ``uniform``), as SMAA-2 (:func:`urlink.scoring.robustness.smaa`).
    - ``inputs``: every input sample's table scored with the group's own weights (not
      defined for ``uniform``, which has no centre).
    - ``joint``: every input sample's table scored with ``weight_draws`` weight draws:
      both uncertainties in the same draws (SMAA with uncertain criteria values).

    Each table is normalised on its own, as a run with those inputs would be: with
    ``"interval"`` the references of indicators the planner did not set are that sample's
    baseline ± ``reference_band``. Ties go to the earlier strategy (as in SMAA).

    Parameters
    ----------
    performance
        Samples x strategies x indicators.
    nominal
        Strategies x indicators with the scenario's inputs.
    strategies, indicators
        Names of the rows and columns (the baseline row is named ``baseline``).
    directions
        ``"max"`` or ``"min"`` per indicator.
    weights
        Groups x indicators (indicators not in the table are an error).
    methods
        Scoring methods with a batch form (``"weighted_sum"``, ``"topsis"``).
    weight_samples
        Weight draws of the ``weights`` analysis.
    weight_draws
        Weight draws per input sample in the ``joint`` analysis.
    concentration
        Dirichlet concentration around a group's weights.
    seed
        Root seed of the weight draws.
    normalisation, references, reference_band
        As in :func:`urlink.scoring.ranking.rank_strategies`.
    baseline
        The name of the baseline row.

    Returns
    -------
    JointRobustness

    Raises
    ------
    InputError
        If shapes or names do not match, or no indicator is defined in every sample.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> p = np.stack([[[1.0, 1.0], [2.0 + x, 2.0], [1.5, 1.5 + x]]
    ...               for x in rng.uniform(0, 1, 50)])
    >>> res = joint_robustness(p, p.mean(axis=0), strategies=["baseline", "a", "b"],
    ...     indicators=["x", "y"], directions={"x": "max", "y": "max"},
    ...     weights=pd.DataFrame({"x": [0.5], "y": [0.5]}, index=["g"]),
    ...     weight_samples=200, normalisation="minmax")
    >>> r = res.acceptability
    >>> r[(r.weights == "g") & (r.uncertainty == "inputs") & (r["rank"] == 1)
    ...   ].set_index("strategy")["first_rank"].round(2).to_dict()
    {'baseline': 0.0, 'a': 1.0, 'b': 0.0}
    """
    strategies = [str(s) for s in strategies]
    indicators = [str(c) for c in indicators]
    p = _check_performance(performance, strategies, indicators)
    nom = np.asarray(nominal, dtype=float)
    if baseline not in strategies and normalisation == "interval":
        msg = f"strategies have no {baseline!r} row to derive the reference values from"
        raise InputError(msg)
    unknown = [c for c in weights.columns if c not in indicators]
    if unknown:
        msg = f"weights name indicators {unknown} that are not in the performance table"
        raise InputError(msg)
    cols = [indicators.index(c) for c in weights.columns]
    p, nom = p[:, :, cols], nom[:, cols]
    names = [str(c) for c in weights.columns]
    maximise = np.array([directions[c] == "max" for c in names])
    refs = dict(references or {})
    has_fixed = np.array([c in refs for c in names])
    fixed = None
    if has_fixed.any():
        w_fix, b_fix = _check_references(
            {
                c: refs.get(c, (0.0, 1.0) if m else (1.0, 0.0))
                for c, m in zip(names, maximise, strict=True)
            },
            pd.Index(names),
            maximise,
        )
        fixed = (w_fix, b_fix)
    b_row = strategies.index(baseline) if baseline in strategies else 0
    excluded: dict[str, str] = {}
    stacked = np.concatenate([nom[None], p])
    for j, c in enumerate(names):
        if not np.isfinite(stacked[:, :, j]).all():
            excluded[c] = "undefined in some input samples"
        elif (
            normalisation == "interval" and not has_fixed[j] and (stacked[:, b_row, j] == 0).any()
        ):
            excluded[c] = "no reference values (baseline 0 in some samples)"
    keep = np.array([c not in excluded for c in names])
    for c, why in excluded.items():
        logger.warning("indicator %s is left out of the uncertainty analysis (%s)", c, why)
    if not keep.any():
        msg = f"no indicator is defined in every input sample: {excluded}"
        raise InputError(msg)
    w_table = weights.loc[:, keep].astype(float)
    total = w_table.sum(axis=1)
    if (total <= 0).any():
        lost = [str(g) for g in w_table.index[total <= 0]]
        msg = f"groups {lost} weight only indicators left out ({excluded})"
        raise InputError(msg)
    w_table = w_table.div(total, axis=0)
    p, nom, maximise, has_fixed = p[:, :, keep], nom[:, keep], maximise[keep], has_fixed[keep]
    if fixed is not None:
        fixed = (fixed[0][keep], fixed[1][keep])
    kept = [c for c, k in zip(names, keep, strict=True) if k]

    def norm(table: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        return _orient(
            table,
            maximise,
            normalisation=normalisation,
            fixed=fixed,
            has_fixed=has_fixed,
            band=reference_band,
            baseline=b_row,
        )

    p_norm = np.stack([norm(t) for t in p])
    n_norm = norm(nom)
    centres = pd.concat([w_table, w_table.mean().to_frame("pooled").T])
    sets: list[tuple[str, npt.NDArray[np.float64] | None]] = [
        (str(g), row.to_numpy(dtype=float)) for g, row in centres.iterrows()
    ]
    sets.append(("uniform", None))
    n_s, m = p.shape[0], len(strategies)
    seeds = np.random.SeedSequence(seed).spawn(len(sets))
    acc_rows, regret_rows, sample_frames = [], [], []
    for method in methods:
        batch = _scorer(method, normalisation)
        for (label, centre), ss in zip(sets, seeds, strict=True):
            alpha = np.ones(len(kept)) if centre is None else concentration * centre
            rng = np.random.default_rng(ss)
            w_weights = _draw(rng, alpha, weight_samples)
            w_joint = _draw(rng, alpha, n_s * weight_draws).reshape(n_s, weight_draws, -1)
            runs: dict[str, npt.NDArray[np.float64]] = {
                "weights": batch(n_norm, w_weights, maximise)  # type: ignore[operator]
            }
            joint = np.stack(
                [batch(p_norm[s], w_joint[s], maximise) for s in range(n_s)]  # type: ignore[operator]
            )
            runs["joint"] = joint.reshape(-1, m)
            if centre is not None:
                runs["inputs"] = np.vstack(
                    [batch(p_norm[s], centre[None], maximise) for s in range(n_s)]  # type: ignore[operator]
                )
            for mode in UNCERTAINTY_MODES:
                if mode not in runs:
                    continue
                scores = runs[mode]
                order = _rank_order(scores)
                counts = np.zeros((m, m))
                np.add.at(counts, (order, np.arange(m)[None, :]), 1.0)
                acc = counts / len(scores)
                regret = np.round(scores.max(axis=1, keepdims=True) - scores, 12)
                for i, name in enumerate(strategies):
                    acc_rows += [
                        (label, method, mode, name, r + 1, acc[i, r], acc[i, 0]) for r in range(m)
                    ]
                    regret_rows.append(
                        (
                            label,
                            method,
                            mode,
                            name,
                            float(regret[:, i].mean()),
                            float(np.quantile(regret[:, i], 0.95)),
                            float(regret[:, i].max()),
                        )
                    )
            if centre is None:
                continue
            s_scores = runs["inputs"]
            ranks = np.empty_like(s_scores, dtype=int)
            ranks[np.arange(n_s)[:, None], _rank_order(s_scores)] = np.arange(1, m + 1)
            first = (_rank_order(joint.reshape(-1, m))[:, 0] == np.arange(m)[:, None]).T
            first_share = first.reshape(n_s, weight_draws, m).mean(axis=1)
            sample_frames.append(
                pd.DataFrame(
                    {
                        "sample": np.repeat(np.arange(n_s), m),
                        "weights": label,
                        "method": method,
                        "strategy": np.tile(strategies, n_s),
                        "score": s_scores.ravel(),
                        "rank": ranks.ravel(),
                        "regret": (s_scores.max(axis=1, keepdims=True) - s_scores).ravel(),
                        "first_share": first_share.ravel(),
                    }
                )
            )
    acceptability = pd.DataFrame(
        acc_rows,
        columns=[
            "weights",
            "method",
            "uncertainty",
            "strategy",
            "rank",
            "acceptability",
            "first_rank",
        ],
    )
    regret_table = pd.DataFrame(
        regret_rows,
        columns=[
            "weights",
            "method",
            "uncertainty",
            "strategy",
            "mean_regret",
            "p95_regret",
            "max_regret",
        ],
    )
    return JointRobustness(
        acceptability=acceptability,
        regret=regret_table,
        per_sample=pd.concat(sample_frames, ignore_index=True),
        indicators=tuple(kept),
        excluded=excluded,
    )


# ------------------------------------------------------------------------------ sensitivity


def _rbd_fast_s1(x: np.ndarray, y: np.ndarray, harmonics: int) -> np.ndarray:
    """RBD-FAST first-order index of each column of ``y`` to ``x``, bias-corrected.

    The steps of :func:`SALib.analyze.rbd_fast.analyze` (its ``permute_outputs``, the
    periodogram and ``unskew_S1``) for many outputs at once: the outputs are ordered along
    ``x`` (up the even ranks, down the odd ones), and the share of the periodogram in the
    first ``harmonics`` frequencies is the index.
    """
    order = np.argsort(x, kind="stable")
    order = np.concatenate([order[::2], order[1::2][::-1]])
    _, pxx = signal.periodogram(y[order], axis=0)
    total = pxx[1:].sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        raw = np.where(total > 0, pxx[1 : harmonics + 1].sum(axis=0) / total, 0.0)
    return np.asarray(rbd_fast.unskew_S1(raw, harmonics, len(x)), dtype=float)


def first_order_indices(
    inputs: pd.DataFrame,
    outputs: pd.DataFrame,
    *,
    seed: int = 0,
    harmonics: int = 10,
    resamples: int = 100,
) -> pd.DataFrame:
    """First-order (Sobol') sensitivity indices of each output to each input, from given data.

    RBD-FAST (:func:`SALib.analyze.rbd_fast.analyze`) estimates the first-order index
    ``S1_i = Var(E[Y | X_i]) / Var(Y)`` of every input from the samples already evaluated
    (Latin hypercube or Sobol' points): the outputs are ordered along each input and the
    variance explained by the first ``harmonics`` Fourier harmonics of that ordering is
    ``S1_i`` [Tarantola et al. 2006; Plischke 2010]. No extra model runs are needed, unlike
    a Saltelli design (``N (2d + 2)`` runs). An output that does not vary has indices 0.

    The point estimates are SALib's, computed for all outputs at once (one ordering and one
    periodogram per input and bootstrap resample, instead of one per output): with 98
    outputs (7 weight sets x 14 strategy outputs) this is about 20 times faster than
    calling :func:`SALib.analyze.rbd_fast.analyze` per output. The bootstrap draws the same
    resamples for every output.

    Parameters
    ----------
    inputs
        Samples x inputs (the sampled values).
    outputs
        Samples x outputs (e.g. a strategy's score, or the share of draws it ranks first).
    seed
        Seed of the bootstrap confidence intervals.
    harmonics
        ``M``, Fourier harmonics (lowered to ``n // 10`` for small samples).
    resamples
        Bootstrap resamples for the 95 % confidence half-widths ``S1_conf``.

    Returns
    -------
    pandas.DataFrame
        ``output``, ``input``, ``S1``, ``S1_conf``.

    Raises
    ------
    InputError
        If the tables do not have the same samples, or there are fewer than 8 samples.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> x = pd.DataFrame(unit_samples(1024, 2, seed=3), columns=["a", "b"])
    >>> y = pd.DataFrame({"y": x["a"] + 2 * x["b"]})
    >>> first_order_indices(x, y)["S1"].round(1).tolist()
    [0.2, 0.8]
    """
    if len(inputs) != len(outputs):
        msg = f"inputs have {len(inputs)} samples and outputs {len(outputs)}; give the same"
        raise InputError(msg)
    n = len(inputs)
    if n < 8:
        msg = f"{n} samples are too few for sensitivity indices; use at least 8 (better 100+)"
        raise InputError(msg)
    x = inputs.to_numpy(dtype=float)
    m = max(1, min(harmonics, n // 10))  # the bootstrap halves the samples: keep 2M << n
    y = outputs.to_numpy(dtype=float)
    scale = np.maximum(1.0, np.abs(y).max(axis=0)) if n else np.ones(y.shape[1])
    varies = np.ptp(y, axis=0) > 1e-12 * scale
    s1 = np.zeros((x.shape[1], y.shape[1]))
    conf = np.zeros_like(s1)
    if varies.any():
        yv = y[:, varies]
        rng = np.random.default_rng(seed)
        half = n // 2
        z = stats.norm.ppf(0.975)
        for i in range(x.shape[1]):
            s1[i, varies] = _rbd_fast_s1(x[:, i], yv, m)
            boot = np.empty((resamples, yv.shape[1]))
            for r in range(resamples):
                idx = rng.choice(n, replace=True, size=half)
                boot[r] = _rbd_fast_s1(x[idx, i], yv[idx], m)
            conf[i, varies] = z * boot.std(axis=0, ddof=1) if resamples > 1 else 0.0
    rows = [
        (str(out), str(c), float(s1[i, j]), float(conf[i, j]))
        for j, out in enumerate(outputs.columns)
        for i, c in enumerate(inputs.columns)
    ]
    return pd.DataFrame(rows, columns=["output", "input", "S1", "S1_conf"])


# ---------------------------------------------------------------------------------- PRIM


@dataclass(frozen=True, slots=True)
class PrimBox:
    """A box of input values found by :func:`prim`, where the outcome is frequent.

    Attributes
    ----------
    limits
        ``(input, low, high)`` per restricted input (``-inf`` / ``inf``: that side is
        open). Each bound lies halfway between the last sample kept and the first left out.
    density
        Share of the samples in the box with the outcome.
    coverage
        Share of the samples with the outcome that lie in the box.
    mass
        Share of all samples in the box.
    n_samples
        Samples in the box.
    """

    limits: tuple[tuple[str, float, float], ...]
    density: float
    coverage: float
    mass: float
    n_samples: int

    def describe(self, outcome: str) -> str:
        """State the box in plain words.

        Parameters
        ----------
        outcome
            What happens in the box (``"bus-west ranks first"``).

        Returns
        -------
        str

        Examples
        --------
        >>> box = PrimBox((("p", 0.5, float("inf")),), 1.0, 0.9, 0.45, 45)
        >>> print(box.describe("A wins"))  # doctest: +NORMALIZE_WHITESPACE
        A wins in 100 % of the samples where p is above 0.5 (these conditions hold in 45 % of
        the samples and cover 90 % of those where it happens)
        """
        parts = []
        for name, lo, hi in self.limits:
            if math.isinf(lo):
                parts.append(f"{name} is below {hi:.4g}")
            elif math.isinf(hi):
                parts.append(f"{name} is above {lo:.4g}")
            else:
                parts.append(f"{name} is between {lo:.4g} and {hi:.4g}")
        if not parts:
            return (
                f"{outcome} in {100 * self.density:.0f} % of the samples, under no condition "
                "on the inputs that stands out"
            )
        where = " and ".join(parts)
        return (
            f"{outcome} in {100 * self.density:.0f} % of the samples where {where} (these "
            f"conditions hold in {100 * self.mass:.0f} % of the samples and cover "
            f"{100 * self.coverage:.0f} % of those where it happens)"
        )


def _inside(
    x: npt.NDArray[np.float64], lo: npt.NDArray[np.float64], hi: npt.NDArray[np.float64]
) -> npt.NDArray[np.bool_]:
    out: npt.NDArray[np.bool_] = np.all((x >= lo) & (x <= hi), axis=1)
    return out


_Cut = tuple[tuple[float, int, int, int], float]
"""A peeling cut: its key (density, samples kept, -input, -side) and its bound."""


def _peel(
    x: npt.NDArray[np.float64], y: npt.NDArray[np.float64], alpha: float, mass_min: float
) -> list[tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]]:
    """Peel: the boxes (low, high per input) from the whole space inwards."""
    n, _ = x.shape
    lo, hi = x.min(axis=0).copy(), x.max(axis=0).copy()
    boxes = [(lo.copy(), hi.copy())]
    inside = np.ones(n, dtype=bool)
    # a 0/1 outcome (a strategy ranks first or not): its sums are whole numbers, exact in
    # any order, so every cut's density comes from cumulative sums over the box's samples
    # sorted by each input (sorted once; the box's part kept as the box shrinks): the same
    # numbers as y[keep].mean(), without a pass over all samples per candidate cut
    order = np.argsort(x.T, axis=1, kind="stable") if np.all((y == 0) | (y == 1)) else None
    while inside.sum() / n > mass_min:
        n_in = int(inside.sum())
        if n_in < 2:
            break
        k = max(1, int(alpha * n_in))
        if order is None:
            cuts = _cuts(x, y, inside, k)
        else:
            order = order[inside[order]].reshape(len(order), n_in)  # the box's, still sorted
            cuts = _sorted_cuts(x, y, order, k)
        if not cuts:
            break
        (_, _, minus_j, minus_side), bound = max(cuts)
        if minus_side == 0:
            lo[-minus_j] = bound
        else:
            hi[-minus_j] = bound
        inside = _inside(x, lo, hi)
        if inside.sum() / n < mass_min:
            break
        boxes.append((lo.copy(), hi.copy()))
    return boxes


def _cuts(
    x: npt.NDArray[np.float64], y: npt.NDArray[np.float64], inside: npt.NDArray[np.bool_], k: int
) -> list[_Cut]:
    """Return the candidate cuts of a peeling step: ``k`` samples off either end of an input."""
    n_in = int(inside.sum())
    out = []
    for j in range(x.shape[1]):
        v = np.sort(x[inside, j])
        for side in (0, 1):
            bound = float(v[k] if side == 0 else v[n_in - 1 - k])
            keep = inside & ((x[:, j] >= bound) if side == 0 else (x[:, j] <= bound))
            kept = int(keep.sum())
            if kept not in (n_in, 0):
                out.append(((float(y[keep].mean()), kept, -j, -side), bound))
    return out


def _sorted_cuts(
    x: npt.NDArray[np.float64],
    y: npt.NDArray[np.float64],
    order: npt.NDArray[np.intp],
    k: int,
) -> list[_Cut]:
    """:func:`_cuts` for all inputs at once, from the box's samples sorted by each input.

    ``order``: inputs x the box's samples, by increasing value of the input; ``y`` 0 or 1.
    The same cuts and numbers as :func:`_cuts`.
    """
    d, n_in = order.shape
    values = np.take_along_axis(x.T, order, axis=1)
    hits = np.cumsum(y[order], axis=1)  # outcomes up to each position: whole numbers, exact
    rows = np.arange(d)
    out = []
    for side, rank in ((0, k), (1, n_in - 1 - k)):
        bound = values[:, rank]
        same = values == bound[:, None]  # the bound's ties
        if side == 0:  # keep x >= bound: drop the samples before the bound's first tie
            first = np.argmax(same, axis=1)
            kept = n_in - first
            total = hits[:, -1] - np.where(first > 0, hits[rows, first - 1], 0.0)
        else:  # keep x <= bound: up to the bound's last tie
            last = n_in - 1 - np.argmax(same[:, ::-1], axis=1)
            kept, total = last + 1, hits[rows, last]
        for j in range(d):
            if kept[j] not in (n_in, 0):
                key = (float(total[j]) / int(kept[j]), int(kept[j]), -j, -side)
                out.append((key, float(bound[j])))
    return out


def _paste(
    x: npt.NDArray[np.float64],
    y: npt.NDArray[np.float64],
    lo: npt.NDArray[np.float64],
    hi: npt.NDArray[np.float64],
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Widen the box one sample at a time while its density does not fall."""
    lo, hi = lo.copy(), hi.copy()
    while True:
        inside = _inside(x, lo, hi)
        density = float(y[inside].mean())
        best: tuple[float, int] | None = None
        change = (0, 0, 0.0)
        for j in range(x.shape[1]):
            others = np.all((x >= lo) & (x <= hi) | (np.arange(x.shape[1]) == j)[None, :], axis=1)
            below = others & (x[:, j] < lo[j])
            above = others & (x[:, j] > hi[j])
            for side, cand in ((0, below), (1, above)):
                if not cand.any():
                    continue
                bound = x[cand, j].max() if side == 0 else x[cand, j].min()
                grown = inside | (others & (x[:, j] == bound))
                mean = float(y[grown].mean())
                if mean >= density and (best is None or (mean, int(grown.sum())) > best):
                    best = (mean, int(grown.sum()))
                    change = (j, side, float(bound))
        if best is None:
            return lo, hi
        j, side, bound = change
        if side == 0:
            lo[j] = bound
        else:
            hi[j] = bound


def _quasi_p(
    x: npt.NDArray[np.float64],
    y: npt.NDArray[np.float64],
    lo: npt.NDArray[np.float64],
    hi: npt.NDArray[np.float64],
    dims: list[int],
) -> list[tuple[float, float]]:
    """Quasi-p-value of the restriction on each input of ``dims``, and the density without it.

    The chance that a box holding the same number of samples, drawn from the box with input
    ``j`` unrestricted, has at least as many outcomes as the box (binomial upper tail;
    Bryant & Lempert 2010, section 3.3): small when the restriction truly raises the
    density.
    """
    within = (x >= lo) & (x <= hi)  # samples x inputs: within the input's bounds
    outside = (~within).sum(axis=1)  # the inputs whose bounds a sample breaks
    inside = outside == 0
    n, k = int(inside.sum()), round(float(y[inside].sum()))
    p_wider = []
    for j in dims:
        # the box with input j open: every other input within its bounds (a value of j
        # counts if it is a number, as with bounds of -inf and inf)
        column = x[:, j]
        wider = (outside - ~within[:, j] == 0) & (column >= -np.inf) & (column <= np.inf)
        p_wider.append(float(y[wider].mean()))
    # one call for all inputs: the same binomial tail, value by value
    tails = stats.binom.sf(k - 1, n, np.asarray(p_wider))
    return [(float(t), p) for t, p in zip(np.atleast_1d(tails), p_wider, strict=True)]


def _drop_restrictions(
    x: npt.NDArray[np.float64],
    y: npt.NDArray[np.float64],
    lo: npt.NDArray[np.float64],
    hi: npt.NDArray[np.float64],
    *,
    significance: float,
    max_restricted: int,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Open the restrictions that do not matter, then keep at most ``max_restricted``.

    First, while some restriction's quasi-p-value exceeds ``significance``, the least
    significant one is opened (its input then takes any value). Then, while more than
    ``max_restricted`` inputs are restricted, the one whose opening costs the least density
    is opened, so the statement stays readable.
    """
    lo, hi = lo.copy(), hi.copy()
    xmin, xmax = x.min(axis=0), x.max(axis=0)
    while True:
        restricted = [j for j in range(x.shape[1]) if lo[j] > xmin[j] or hi[j] < xmax[j]]
        if not restricted:
            return lo, hi
        tests = [
            (*qp, j) for qp, j in zip(_quasi_p(x, y, lo, hi, restricted), restricted, strict=True)
        ]
        qp, _, j = max(tests, key=lambda t: (t[0], -t[2]))
        if qp <= significance:
            if len(restricted) <= max_restricted:
                return lo, hi
            _, _, j = max(tests, key=lambda t: (t[1], -t[2]))  # the cheapest to open
        lo[j], hi[j] = xmin[j], xmax[j]


def prim(
    inputs: pd.DataFrame,
    outcome: npt.ArrayLike,
    *,
    peel_alpha: float = 0.05,
    mass_min: float = 0.05,
    min_coverage: float = 0.5,
    significance: float = 0.05,
    max_restricted: int = 3,
) -> PrimBox | None:
    """Find a box of input values where an outcome is frequent (scenario discovery, PRIM).

    Peeling [Friedman & Fisher 1999]: starting from every sample, repeatedly cut off the
    ``peel_alpha`` share of the samples at the low or high end of one input, choosing the
    cut that leaves the highest share of samples with the outcome (density), until fewer
    than ``mass_min`` of the samples are left. Of the boxes on this trajectory, the one with
    the highest density among those covering at least ``min_coverage`` of the outcome
    samples is kept (ties: the larger). Pasting then widens it one sample at a time, on any
    side, while the density does not fall, so each bound ends next to the last sample that
    belongs in the box (within one sampling step of a true threshold). Inputs whose bounds
    stay at the sample range are not restricted. Last, restrictions that do not matter are
    opened (a quasi-p-value above ``significance``: Bryant & Lempert 2010), and of the rest
    at most ``max_restricted`` are kept (those whose opening would cost the most density), so
    the conditions can be read out in a room; the box's density, coverage and mass are
    those of the final box.

    Parameters
    ----------
    inputs
        Samples x inputs.
    outcome
        Per sample, True (or 1) where the outcome happens (e.g. a strategy ranks first).
    peel_alpha
        Share of the box's samples cut off per peeling step.
    mass_min
        Smallest share of all samples a box may hold.
    min_coverage
        Smallest share of the outcome samples the chosen box must cover.
    significance
        Quasi-p-value above which a restriction is opened.
    max_restricted
        Most inputs restricted in the box (at least 1).

    Returns
    -------
    PrimBox or None
        None when the outcome never happens.

    Raises
    ------
    InputError
        If the sizes differ or a parameter is outside (0, 1).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> x = pd.DataFrame({"p": (np.arange(100) + 0.5) / 100,
    ...                   "q": np.random.default_rng(0).uniform(size=100)})
    >>> box = prim(x, x["p"] > 0.62)
    >>> box.limits, box.density, box.coverage
    ((('p', 0.62, inf),), 1.0, 1.0)
    """
    x = inputs.to_numpy(dtype=float)
    y = np.asarray(outcome, dtype=float).ravel()
    if len(y) != len(x):
        msg = f"outcome has {len(y)} values for {len(x)} samples; give one per sample"
        raise InputError(msg)
    for name, value in (
        ("peel_alpha", peel_alpha),
        ("mass_min", mass_min),
        ("min_coverage", min_coverage),
    ):
        if not 0 < value < 1:
            msg = f"{name}={value!r} must be between 0 and 1"
            raise InputError(msg)
    if (
        isinstance(max_restricted, bool)
        or not isinstance(max_restricted, int)
        or max_restricted < 1
    ):
        msg = f"max_restricted={max_restricted!r} must be a whole number of at least 1"
        raise InputError(msg)
    total = float(y.sum())
    if total == 0:
        return None
    boxes = _peel(x, y, peel_alpha, mass_min)
    scored = []
    for i, (lo, hi) in enumerate(boxes):
        inside = _inside(x, lo, hi)
        coverage = float(y[inside].sum()) / total
        if coverage >= min_coverage:
            scored.append((float(y[inside].mean()), coverage, -i))
    _, _, pick = max(scored)
    lo, hi = _paste(x, y, *boxes[-pick])
    lo, hi = _drop_restrictions(
        x, y, lo, hi, significance=significance, max_restricted=max_restricted
    )
    inside = _inside(x, lo, hi)
    limits = []
    for j, name in enumerate(inputs.columns):
        others = np.all((x >= lo) & (x <= hi) | (np.arange(x.shape[1]) == j)[None, :], axis=1)
        low, high = -math.inf, math.inf
        below = x[others & (x[:, j] < lo[j]), j]
        above = x[others & (x[:, j] > hi[j]), j]
        if lo[j] > x[:, j].min() and below.size:
            low = float((lo[j] + below.max()) / 2)
        if hi[j] < x[:, j].max() and above.size:
            high = float((hi[j] + above.min()) / 2)
        if not (math.isinf(low) and math.isinf(high)):
            limits.append((str(name), low, high))
    return PrimBox(
        limits=tuple(limits),
        density=float(y[inside].mean()),
        coverage=float(y[inside].sum()) / total,
        mass=float(inside.mean()),
        n_samples=int(inside.sum()),
    )
