"""Re-score the strategies whenever a group's weights change, fast enough for a live room.

:class:`LiveScorer` scores the performance table of a :class:`~urlink.workshop.data.WorkshopData`
with :func:`urlink.scoring.score` / :func:`urlink.scoring.rank` for every group that has
submitted and for the pooled weights, and runs :func:`urlink.scoring.smaa` around each of
them. Both are cached by the weights (rounded to 1e-9), so a submission re-scores only the
group it changed and the pooled weights: two scores and two SMAA analyses per method. SMAA
with uniform weights does not depend on anyone's weights: it is taken from the run's own
ranking (``[scoring] smaa_samples``). SMAA around a group uses
:attr:`~urlink.workshop.data.WorkshopData.live_smaa_samples` samples (4,000: the P(first)
of a strategy is then within ±0.016 at 95 %), with the scenario's seed, so the same
weights always give the same numbers.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

import pandas as pd

from urlink.scoring.indicators import INDICATORS
from urlink.scoring.methods import rank, score
from urlink.scoring.robustness import smaa
from urlink.scoring.uncertainty import joint_robustness
from urlink.scoring.weights import pooled_weights

if TYPE_CHECKING:
    from collections.abc import Mapping

    from urlink.workshop.data import WorkshopData

__all__ = ["LiveScorer", "group_weights"]

_KEY_DECIMALS = 9
_CACHE_MAX = 2_000
_JOINT_WEIGHT_SAMPLES = 200  # the weights-only analysis of joint_robustness is not shown here


def group_weights(vectors: pd.DataFrame) -> pd.Series:
    """Combine the weights of a group's participants: the mean of their vectors.

    Each participant's weights count once (aggregation of individual priorities, as
    :func:`urlink.scoring.pooled_weights` does for groups).

    Parameters
    ----------
    vectors
        Participants x indicators, each row summing to 1.

    Returns
    -------
    pandas.Series
        Weights per indicator, summing to 1.
    """
    return pooled_weights(vectors)


class LiveScorer:
    """Scores and SMAA of the strategies for any groups' weights, cached by weights.

    Parameters
    ----------
    data
        The workshop's performance table, methods, references and SMAA settings.
    """

    def __init__(self, data: WorkshopData) -> None:
        self.data = data
        self.directions = {c: INDICATORS[c].direction for c in data.table.columns}
        self._lock = threading.Lock()
        self._scores: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
        self._smaa: dict[tuple[Any, ...], dict[str, Any]] = {}
        rob = data.start.robustness
        self.uniform = {
            method: _smaa_json(
                rob[(rob["weights"] == "uniform") & (rob["method"] == method)],
                data.smaa_samples,
            )
            for method in data.methods
        }

    def _key(self, method: str, weights: pd.Series) -> tuple[Any, ...]:
        values = weights.reindex(self.data.table.columns).to_numpy(dtype=float)
        return (method, *(round(float(v), _KEY_DECIMALS) for v in values))

    def ranking(self, method: str, weights: pd.Series) -> list[dict[str, Any]]:
        """Score and rank the strategies by one method (cached).

        Parameters
        ----------
        method
            A scoring method of the scenario.
        weights
            Weights per indicator (summing to 1).

        Returns
        -------
        list of dict
            ``strategy``, ``score``, ``rank`` per strategy, in table order.
        """
        key = self._key(method, weights)
        with self._lock:
            hit = self._scores.get(key)
        if hit is not None:
            return hit
        s = score(
            self.data.table,
            weights,
            self.directions,
            method=method,
            references=self.data.references,
        )
        r = rank(s)
        out = [
            {"strategy": str(name), "score": round(float(s[name]), 6), "rank": int(r[name])}
            for name in self.data.table.index
        ]
        with self._lock:
            if len(self._scores) > _CACHE_MAX:
                self._scores.clear()
            self._scores[key] = out
        return out

    def robustness(self, method: str, weights: pd.Series) -> dict[str, Any]:
        """SMAA-2 around some weights (cached): P(first) and rank acceptability.

        Parameters
        ----------
        method
            A scoring method of the scenario.
        weights
            The centre of the Dirichlet weight distribution.

        Returns
        -------
        dict
            ``first`` (strategy -> P(first)), ``acceptability`` (strategy -> shares of ranks
            1..m) and ``samples``.
        """
        key = self._key(method, weights)
        with self._lock:
            hit = self._smaa.get(key)
        if hit is not None:
            return hit
        res = smaa(
            self.data.table,
            self.directions,
            method=method,
            n_samples=self.data.live_smaa_samples,
            seed=self.data.seed,
            around=weights,
            concentration=self.data.concentration,
            references=self.data.references,
        )
        out = {
            "first": {str(k): round(float(v), 4) for k, v in res.first_rank.items()},
            "acceptability": {
                str(k): [round(float(v), 4) for v in row]
                for k, row in res.acceptability.iterrows()
            },
            "samples": self.data.live_smaa_samples,
        }
        out.update(self._uncertain_first(method, weights))
        with self._lock:
            if len(self._smaa) > _CACHE_MAX:
                self._smaa.clear()
            self._smaa[key] = out
        return out

    def _uncertain_first(self, method: str, weights: pd.Series) -> dict[str, Any]:
        """P(first) with uncertain inputs alone and jointly with the weights (if sampled)."""
        d = self.data
        if d.uncertain is None or method not in ("weighted_sum", "topsis"):
            return {}
        names = [str(n) for n in d.table.index]
        cols = [str(c) for c in d.table.columns]
        robust = joint_robustness(
            d.uncertain,
            d.table.to_numpy(dtype=float),
            strategies=names,
            indicators=cols,
            directions=self.directions,
            weights=pd.DataFrame(
                [weights.reindex(cols).to_numpy(dtype=float)], columns=cols, index=["live"]
            ),
            methods=[method],
            weight_samples=_JOINT_WEIGHT_SAMPLES,
            weight_draws=d.weight_draws,
            concentration=d.concentration,
            seed=d.seed,
            normalisation="minmax" if d.normalisation == "minmax" else "interval",
            references=d.planner_references,
            reference_band=d.reference_band,
        )
        acc = robust.acceptability
        out: dict[str, Any] = {"input_samples": int(d.uncertain.shape[0])}
        for mode in ("inputs", "joint"):
            part = acc[(acc["weights"] == "live") & (acc["uncertainty"] == mode)]
            first = part.drop_duplicates("strategy").set_index("strategy")["first_rank"]
            out[f"first_{mode}"] = {str(k): round(float(v), 4) for k, v in first.items()}
        return out

    def results(self, weights_by_group: Mapping[str, pd.Series]) -> dict[str, Any]:
        """Rank the strategies for each group that has weights and for the pooled weights.

        Parameters
        ----------
        weights_by_group
            Group -> weights (indicators of the table; each summing to 1). Groups without
            weights yet are left out; the pooled weights are the mean of the others.

        Returns
        -------
        dict
            ``groups`` (group -> ``weights``, ``ranking`` and ``smaa`` per method),
            ``pooled`` (the same, or None before any submission), ``uniform`` (SMAA with
            uniform weights per method) and ``elapsed_ms``.
        """
        t0 = time.perf_counter()
        out: dict[str, Any] = {"groups": {}, "pooled": None, "uniform": self.uniform}
        table = pd.DataFrame(
            {g: w.reindex(self.data.table.columns) for g, w in weights_by_group.items()}
        ).T
        sets = list(weights_by_group.items())
        if sets:
            sets.append(("pooled", pooled_weights(table)))
        for label, w in sets:
            entry = {
                "weights": {c: round(float(w[c]), 6) for c in self.data.table.columns},
                "ranking": {m: self.ranking(m, w) for m in self.data.methods},
                "smaa": {m: self.robustness(m, w) for m in self.data.methods},
            }
            if label == "pooled":
                out["pooled"] = entry
            else:
                out["groups"][label] = entry
        out["elapsed_ms"] = round((time.perf_counter() - t0) * 1000, 1)
        return out


def _smaa_json(rows: pd.DataFrame, samples: int) -> dict[str, Any]:
    acc = rows.pivot_table(index="strategy", columns="rank", values="acceptability", sort=False)
    first = rows.drop_duplicates("strategy").set_index("strategy")["first_rank"]
    return {
        "first": {str(k): round(float(v), 4) for k, v in first.items()},
        "acceptability": {str(k): [round(float(v), 4) for v in row] for k, row in acc.iterrows()},
        "samples": samples,
    }
