"""Multi-criteria scoring of planning strategies for the Raumbild workshop.

A *performance table* is a :class:`pandas.DataFrame` indexed by strategy name (the
alternatives) with one numeric column per indicator. ``directions`` maps every indicator to
``"max"`` (more is better, e.g. the share of residents within 30 min of a clinic) or
``"min"`` (less is better, e.g. transport CO2 or investment cost). *Weights* are a
:class:`pandas.Series` indexed by indicator; they must be non-negative and are divided by
their sum, so points out of 100 and shares are both accepted.

Scoring methods (all in :data:`SCORING_METHODS`, each ``method(table, weights,
directions) -> pd.Series`` with higher = better):

Before weighting, indicators are normalised against reference values (``references``:
``(worst, best)`` per indicator, "interval" normalisation, the default of a scenario's
``[scoring]``; :func:`default_references` gives the baseline ± 10 %) or, without
references, over the strategies compared (min-max).

``weighted_sum``
    Simple additive weighting (SAW/WSM) on normalised values,
    ``S_a = Σ_j w_j r_aj`` [R94]. Fully compensatory: a large gain on one indicator can
    buy off a loss on another.
``topsis``
    Closeness to the ideal point on vector-normalised, weighted values (Hwang & Yoon 1981)
    [R98].

Weights come from the workshop: points out of 100 per stakeholder group
(:func:`weights_from_points`, blank form from :func:`weights_template`) or AHP pairwise
comparisons (:func:`ahp_weights`, :func:`ahp_from_csv`; Saaty's eigenvector method with
the consistency ratio, [R95][R96]). Groups are kept apart: averaging conflicting weights
hides the conflict the workshop is meant to show [R109], so :func:`pooled_weights` is only
a summary, and :func:`smaa` (SMAA-2, Lahdelma & Salminen 2001 [R101]-[R103]) shows how
robust each strategy's rank is, either over all possible weights or around one group's
weights.

References (the tags are those of the project's domain-methods notes)
--------------------------------------------------------------------
- [R40] OECD, A territorial approach to the SDGs, localised indicators normalised 0-100
  to the 2030 target value (distance to target), https://www.oecd-local-sdgs.org/data.html
- [R94] Simple additive weighting; ``mcdm`` package, https://pypi.org/project/mcdm/1.4/
- [R95] [R96] Saaty, T. L. (1980), *The Analytic Hierarchy Process*, McGraw-Hill; Saaty,
  T. L. (1990), How to make a decision: the analytic hierarchy process, *European Journal
  of Operational Research* 48(1):9-26 (random index table for n = 1..10).
- [R97] Forman, E. & Peniwati, K. (1998), Aggregating individual judgments and priorities
  with the analytic hierarchy process, *EJOR* 108(1):165-169.
- [R98] Hwang, C.-L. & Yoon, K. (1981), *Multiple Attribute Decision Making*, Springer
  (TOPSIS).
- [R101]-[R103] Lahdelma, R., Hokkanen, J. & Salminen, P. (1998), SMAA - Stochastic
  multiobjective acceptability analysis, *EJOR* 106(1):137-143; Lahdelma, R. & Salminen,
  P. (2001), SMAA-2: Stochastic multicriteria acceptability analysis for group decision
  making, *Operations Research* 49(3):444-454; Tervonen, T. & Figueira, J. R. (2008), A
  survey on stochastic multicriteria acceptability analysis methods, *Journal of
  Multi-Criteria Decision Analysis* 15:1-14.
- [R109] Participatory multi-criteria analysis: group weighting and the contested
  averaging of conflicting weights (Chadwick 1971, quoted).

Examples
--------
>>> import pandas as pd
>>> from urlink.scoring import rank, score
>>> table = pd.DataFrame(
...     {"access_pct": [60.0, 90.0, 20.0], "co2_kt": [4.0, 1.0, 8.0]},
...     index=pd.Index(["bus", "rail", "road"], name="strategy"),
... )
>>> directions = {"access_pct": "max", "co2_kt": "min"}
>>> weights = pd.Series({"access_pct": 0.5, "co2_kt": 0.5})
>>> rank(score(table, weights, directions))
strategy
rail    1
bus     2
road    3
Name: rank, dtype: int64

The package has four modules, all re-exported here: :mod:`urlink.scoring.methods`
(normalisation, scoring methods, ranks), :mod:`urlink.scoring.weights` (points forms,
pooled weights), :mod:`urlink.scoring.ahp` (pairwise comparisons) and
:mod:`urlink.scoring.robustness` (SMAA-2).
"""

from __future__ import annotations

from urlink.scoring.ahp import (
    AHP_CSV_COLUMNS,
    CR_THRESHOLD,
    RANDOM_INDEX,
    AhpConsistency,
    ahp_consistency,
    ahp_from_csv,
    ahp_weights,
)
from urlink.scoring.methods import (
    DEFAULT_REFERENCE_BAND,
    DIRECTIONS,
    NORMALISATIONS,
    SCORING_METHODS,
    SCORING_NORMALISATIONS,
    BatchScoringMethod,
    Direction,
    ScoringMethod,
    default_references,
    normalise,
    rank,
    register_method,
    score,
    topsis,
    weighted_sum,
)
from urlink.scoring.robustness import (
    SmaaResult,
    sample_weights,
    smaa,
)
from urlink.scoring.weights import (
    POINTS_CSV_COLUMNS,
    STAKEHOLDER_GROUPS,
    pooled_weights,
    weights_from_points,
    weights_template,
)

__all__ = [
    "AHP_CSV_COLUMNS",
    "CR_THRESHOLD",
    "DEFAULT_REFERENCE_BAND",
    "DIRECTIONS",
    "NORMALISATIONS",
    "POINTS_CSV_COLUMNS",
    "RANDOM_INDEX",
    "SCORING_METHODS",
    "SCORING_NORMALISATIONS",
    "STAKEHOLDER_GROUPS",
    "AhpConsistency",
    "BatchScoringMethod",
    "Direction",
    "ScoringMethod",
    "SmaaResult",
    "ahp_consistency",
    "ahp_from_csv",
    "ahp_weights",
    "default_references",
    "normalise",
    "pooled_weights",
    "rank",
    "register_method",
    "sample_weights",
    "score",
    "smaa",
    "topsis",
    "weighted_sum",
    "weights_from_points",
    "weights_template",
]
