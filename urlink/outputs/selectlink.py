"""Select-link analysis on the output folder of a finished run.

:func:`select_link_from_outputs` answers "who uses this road?" for a run that has been
written: it rebuilds the street network from the ``network`` layer of ``linkages.gpkg``
(node ids ``u``/``v``, free-flow ``time_s``), the zones from ``zones.gpkg`` and the road flows
(``people`` and ``goods``) from ``flows.csv``, and calls
:func:`urlink.network.assignment.select_link`: the same all-or-nothing paths as the volumes of
the ``network`` layer, without rerunning the scenario. :func:`units_using_link` sums the
result per administrative unit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, get_args

import geopandas as gpd
import networkx as nx
import pandas as pd
import shapely

from urlink.errors import InputError
from urlink.network.assignment import select_link

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["ROAD_FLOW_TYPES", "select_link_from_outputs", "units_using_link"]

ROAD_FLOW_TYPES = ("people", "goods")
"""Flow types a run assigns to the roads (the volumes of ``linkages.gpkg``)."""

Level = Literal["county", "township"]


def _read(folder: Path) -> tuple[nx.MultiDiGraph, gpd.GeoDataFrame, pd.DataFrame]:
    table = folder / "flows.parquet"  # a large run's flows (urlink run --format)
    need = [
        folder / "linkages.gpkg",
        folder / "zones.gpkg",
        table if table.is_file() else folder / "flows.csv",
    ]
    missing = [p.name for p in need if not p.is_file()]
    if missing:
        msg = (
            f"OUTPUT_DIR {str(folder)!r} has no {', '.join(missing)}: give the folder a finished "
            "'urlink run' wrote"
        )
        raise InputError(msg)
    edges = gpd.read_file(need[0], layer="network")
    G = nx.MultiDiGraph(crs="epsg:4326")
    coords = shapely.get_coordinates(shapely.boundary(edges.geometry.to_numpy()))
    first, last = coords[0::2], coords[1::2]
    for u, v, t, a, b in zip(
        edges["u"].astype(str), edges["v"].astype(str), edges["time_s"], first, last, strict=True
    ):
        G.add_node(u, x=float(a[0]), y=float(a[1]))
        G.add_node(v, x=float(b[0]), y=float(b[1]))
        G.add_edge(u, v, travel_time=float(t))
    zones = gpd.read_file(need[1], layer="zones")
    zones.index = zones["zone_id"].astype(str)
    if need[2].suffix == ".parquet":
        flows = pd.read_parquet(need[2]).astype({"origin": str, "destination": str})
    else:
        flows = pd.read_csv(need[2], dtype={"origin": str, "destination": str})
    flows = flows[flows["flow_type"].isin(ROAD_FLOW_TYPES)]
    return G, zones, flows


def select_link_from_outputs(folder: Path, link: tuple[str, str]) -> pd.DataFrame:
    """List the road flows of a written run whose shortest path uses one street link.

    Parameters
    ----------
    folder
        Output folder of ``urlink run``.
    link
        ``(u, v)``: node ids of the link, as in the ``network`` layer of ``linkages.gpkg``.

    Returns
    -------
    pandas.DataFrame
        ``origin``, ``destination``, ``flow_type``, ``volume`` (persons/day or t/day) and the
        county and township codes of both ends, largest volumes first.

    Raises
    ------
    InputError
        If the folder lacks a file or the link is not in the network.
    """
    G, zones, flows = _read(folder)
    u, v = str(link[0]), str(link[1])
    if not G.has_edge(u, v):
        msg = (
            f"--link {u},{v} is not a link of the run's street network; use the u and v of a "
            "row of the 'network' layer of linkages.gpkg (one direction: u -> v)"
        )
        raise InputError(msg)
    pairs = select_link(G, flows, zones, (u, v))
    return pairs.sort_values(
        ["volume", "flow_type", "origin", "destination"], ascending=[False, True, True, True]
    ).reset_index(drop=True)


def units_using_link(pairs: pd.DataFrame, *, level: Level = "township") -> pd.DataFrame:
    """Sum the flows on a link per administrative unit at one end.

    Parameters
    ----------
    pairs
        The result of :func:`select_link_from_outputs`.
    level
        ``"county"`` or ``"township"``.

    Returns
    -------
    pandas.DataFrame
        ``unit``, ``flow_type``, ``from_unit`` (volume of the flows starting there),
        ``to_unit`` (ending there); largest totals first.

    Raises
    ------
    InputError
        If ``level`` is unknown or the pairs have no codes at that level.

    Examples
    --------
    >>> p = pd.DataFrame({"flow_type": ["people", "people"], "volume": [10.0, 5.0],
    ...                   "origin_county": ["a", "b"], "destination_county": ["b", "a"]})
    >>> units_using_link(p, level="county").to_dict("list")
    {'unit': ['a', 'b'], 'flow_type': ['people', 'people'], 'from_unit': [10.0, 5.0], \
'to_unit': [5.0, 10.0]}
    """
    if level not in get_args(Level):
        msg = f"level={level!r} is not valid; use one of {get_args(Level)}"
        raise InputError(msg)
    o, d = f"origin_{level}", f"destination_{level}"
    if o not in pairs.columns or d not in pairs.columns:
        msg = f"the pairs have no {level} codes ({o!r}, {d!r}); the zones lack '{level}_code'"
        raise InputError(msg)
    frm = pairs.groupby([o, "flow_type"])["volume"].sum().rename("from_unit")
    to = pairs.groupby([d, "flow_type"])["volume"].sum().rename("to_unit")
    frm.index.names = to.index.names = ["unit", "flow_type"]
    out = pd.concat([frm, to], axis=1).fillna(0.0).reset_index()
    out["unit"] = out["unit"].astype(str)
    total = out["from_unit"] + out["to_unit"]
    return (
        out.assign(_t=total)
        .sort_values(["_t", "unit", "flow_type"], ascending=[False, True, True], ignore_index=True)
        .drop(columns="_t")
    )
