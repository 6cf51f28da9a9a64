"""A tiny urlink plugin: a people model, a strategy kind and an indicator (docs/extending.md).

Each object carries its settings dataclass in a ``settings`` attribute, so urlink checks the
TOML keys of ``[flows.people]`` and of the strategy's ``params`` like its own.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd

from urlink.errors import InputError
from urlink.model.flows import finish_flows
from urlink.model.state import BusLine, State, Strategy
from urlink.scoring.indicators import DistrictContext, IndicatorDef


@dataclass(frozen=True)
class InterveningSettings:
    """Settings of ``intervening_gravity``: trips fall off with time, shared by attraction."""

    beta: float = 0.05
    stay_share: float = 0.0

    def __post_init__(self) -> None:
        if not self.beta >= 0:
            raise InputError(f"beta = {self.beta!r} must be >= 0")
        if not 0 <= self.stay_share < 1:
            raise InputError(f"stay_share = {self.stay_share!r} must be in [0, 1)")


def intervening_gravity(
    zones: pd.DataFrame, cost: pd.DataFrame, *, params: InterveningSettings
) -> pd.DataFrame:
    """Production-constrained gravity: T_ij = O_i (1 - s) A_j f(c_ij) / sum_k A_k f(c_ik)."""
    ids = zones.index
    c = cost.loc[ids, ids].to_numpy(dtype=float)
    w = np.where(np.isfinite(c), np.exp(-params.beta * c), 0.0)
    np.fill_diagonal(w, 0.0)
    w = w * zones["attraction"].to_numpy(dtype=float)[None, :]
    rows = w.sum(axis=1, keepdims=True)
    share = np.divide(w, rows, out=np.zeros_like(w), where=rows > 0)
    trips = share * (zones["production"].to_numpy(dtype=float) * (1 - params.stay_share))[:, None]
    i, j = np.nonzero(trips > 0)
    table = pd.DataFrame({"origin": ids[i], "destination": ids[j], "volume": trips[i, j]})
    return finish_flows(table, flow_type="people", model="intervening_gravity")


intervening_gravity.settings = InterveningSettings  # type: ignore[attr-defined]


@dataclass(frozen=True)
class FareFreeSettings:
    """Settings of ``fare_free_bus``: the zones served and the car trips that move."""

    zones: tuple[str, ...] = ()
    mode_shift: float = 0.2

    def __post_init__(self) -> None:
        if len(self.zones) < 2:
            raise InputError("zones must name at least two zones")
        if not 0 < self.mode_shift <= 1:
            raise InputError(f"mode_shift = {self.mode_shift!r} must be in (0, 1]")


def fare_free_bus(state: State, strategy: Strategy) -> State:
    """Make buses free between some zones: a bus line whose mode shift is the setting."""
    p: FareFreeSettings = strategy.params
    line = BusLine(name=strategy.name, stops=p.zones, headway_min=15.0, mode_shift=p.mode_shift)
    return dataclasses.replace(state, bus_lines=(*state.bus_lines, line))


fare_free_bus.settings = FareFreeSettings  # type: ignore[attr-defined]


def _short_trips(ctx: DistrictContext) -> float:
    people = ctx.flows.get("people")
    if people is None or not len(people):
        return float("nan")
    mine = people[people["origin"].isin(ctx.inside)]
    times = ctx.state.skim.to_numpy()[
        ctx.state.skim.index.get_indexer(mine["origin"]),
        ctx.state.skim.columns.get_indexer(mine["destination"]),
    ]
    total = float(mine["volume"].sum())
    return float(mine["volume"].to_numpy()[times <= 20].sum() / total) if total else 0.0


share_trips_short = IndicatorDef(
    "max",
    "share",
    "11.2",
    "share of the district's person trips that take 20 minutes or less",
    compute=_short_trips,
)
