"""Checks of a street network against the zones: coverage of the seats, reachability.

Both name the network file and the zones concerned; a network that misses every seat, or a
zone cut off from all others, is refused (:class:`~urlink.errors.InputError`), partial gaps
are warned about (:class:`~urlink.errors.UrlinkWarning`).
"""

from __future__ import annotations

import logging
import warnings
from typing import TYPE_CHECKING

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

from urlink.errors import InputError, UrlinkWarning

if TYPE_CHECKING:
    import geopandas as gpd
    import pandas as pd

__all__ = ["check_network_coverage", "check_reachability"]

logger = logging.getLogger(__name__)


def check_network_coverage(
    node_lonlat: np.ndarray, zones: gpd.GeoDataFrame, *, source: str, margin_deg: float = 0.05
) -> None:
    """Refuse a street network that covers none of the zone seats; warn if it misses some.

    Parameters
    ----------
    node_lonlat
        ``(n, 2)`` array of the network nodes' longitude and latitude.
    zones
        Zones with ``seat_lon`` and ``seat_lat``.
    source
        The network file, for messages.
    margin_deg
        Seats this far (degrees, about 5 km) outside the network's bounding box still count
        as covered.

    Raises
    ------
    InputError
        If no seat lies within the network's extent (a file of another region).
    """
    if len(node_lonlat) == 0:
        return
    xmin, ymin = node_lonlat.min(axis=0) - margin_deg
    xmax, ymax = node_lonlat.max(axis=0) + margin_deg
    lon = zones["seat_lon"].to_numpy(dtype=float)
    lat = zones["seat_lat"].to_numpy(dtype=float)
    inside = (lon >= xmin) & (lon <= xmax) & (lat >= ymin) & (lat <= ymax)
    extent = (
        f"lon {xmin + margin_deg:.3f}..{xmax - margin_deg:.3f}, "
        f"lat {ymin + margin_deg:.3f}..{ymax - margin_deg:.3f}"
    )
    if not inside.any():
        msg = (
            f"{source}: the street network ({extent}) lies outside the study area (zone seats "
            f"around lon {np.median(lon):.3f}, lat {np.median(lat):.3f}); use an OSM extract "
            "that covers the zones"
        )
        raise InputError(msg)
    if not inside.all():
        missing = zones.index[~inside].tolist()
        warnings.warn(
            f"{source}: the street network ({extent}) does not reach the seats of zones "
            f"{missing[:10]}; their trips start with a long access leg. Use an OSM extract "
            "that covers every zone",
            UrlinkWarning,
            stacklevel=2,
        )


_BLOCK_ROWS = 512
"""Rows of the skim counted at once."""


def check_reachability(skim: pd.DataFrame, *, source: str, max_listed: int = 10) -> int:
    """Refuse zones cut off from every other zone; warn about other unreachable pairs.

    Unreachable pairs stay NaN in every output (never 0 or infinity). A zone that can reach
    no other zone, or be reached from none, has no trips at all, which is almost always a
    gap in the street data (a missing bridge, ferry or road at the edge of the extract).

    Parameters
    ----------
    skim
        Zones x zones travel times (NaN where unreachable).
    source
        The street network, for messages.
    max_listed
        How many pairs the warning lists.

    Returns
    -------
    int
        Number of unreachable origin-destination pairs.

    Raises
    ------
    InputError
        If a zone (of several) reaches no other zone or is reached by none, or the zones
        fall into groups that cannot reach each other.
    """
    n = len(skim)
    if n < 2:
        return 0
    # counted by blocks of rows: no zone x zone temporary (#20)
    out_count = np.zeros(n, dtype=np.int64)
    in_count = np.zeros(skim.shape[1], dtype=np.int64)
    for a in range(0, n, _BLOCK_ROWS):
        block = np.isnan(skim.iloc[a : a + _BLOCK_ROWS].to_numpy(dtype=float))
        k = np.arange(a, min(a + len(block), block.shape[1]))
        block[k - a, k] = False  # a zone reaches itself
        out_count[a : a + len(block)] = block.sum(axis=1)
        in_count += block.sum(axis=0)
    total = int(out_count.sum())
    cut_out = out_count == n - 1
    cut_in = in_count == n - 1
    isolated = skim.index[cut_out | cut_in].tolist()
    fix = (
        "Use an extract that includes the connecting roads (or ferries), another "
        "network_type, or the proxy network (no osm key)"
    )
    if isolated:
        msg = (
            f"{source}: zones {isolated[:max_listed]} cannot reach, or cannot be reached from, "
            f"any other zone ({total} of {n * (n - 1)} pairs unreachable): "
            f"their seats lie on a part of the street network that is cut off from the rest. {fix}"
        )
        raise InputError(msg)

    if not total:  # every zone reaches every other: one group
        return 0
    values = skim.to_numpy(dtype=float)
    off = ~np.eye(n, dtype=bool)
    unreachable = np.isnan(values) & off
    n_groups, labels = connected_components(
        csr_matrix(~np.isnan(values) & off), directed=True, connection="strong"
    )
    if n_groups > 1:
        groups = [skim.index[labels == g].tolist()[:max_listed] for g in range(n_groups)]
        msg = (
            f"{source}: the zones fall into {n_groups} groups that cannot reach each other "
            f"({groups[:max_listed]}; {int(unreachable.sum())} of {n * (n - 1)} pairs "
            "unreachable), so trips between them cannot be balanced. " + fix
        )
        raise InputError(msg)
    count = int(unreachable.sum())
    if count:
        rows, cols = np.nonzero(unreachable)
        pairs = [
            (str(skim.index[int(i)]), str(skim.columns[int(j)]))
            for i, j in zip(rows, cols, strict=True)
        ]
        more = f" and {count - max_listed} more" if count > max_listed else ""
        warnings.warn(
            f"{source}: {count} of {n * (n - 1)} origin-destination pairs are unreachable (or "
            f"beyond cutoff_min), e.g. "
            f"{pairs[:max_listed]}{more}; they have no travel time (empty in travel_times.csv) "
            "and no flows. Check the street network's connectivity",
            UrlinkWarning,
            stacklevel=2,
        )
    return count
