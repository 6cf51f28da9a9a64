"""The linkage graph of a state: zones as nodes, flows as edges with CO2 (built on request).

:func:`linkage_graph_of` turns a state's flow tables into the networkx MultiDiGraph of
:func:`urlink.model.graph.linkage_graph_from`, with the inputs each zone feeds the models
as node attributes and transport CO2 on the people and goods edges
(:func:`urlink.model.carbon.add_emissions`). :func:`linkage_flows_of` gives its edges as a
table without building the graph (what a run writes; #20).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import geopandas as gpd
import pandas as pd

from urlink.model.carbon import add_emissions, emissions_of_flows
from urlink.model.graph import linkage_flows_from, linkage_graph_from
from urlink.model.inputs import node_inputs
from urlink.model.state import intrazonal_km, intrazonal_min, trip_cost, trip_km
from urlink.network.equilibrium import (
    EquilibriumResult,
    assign_equilibrium,
    link_capacities_vph,
    vehicles_from_persons,
)

if TYPE_CHECKING:
    import networkx as nx

    from urlink.model.state import State

__all__ = ["car_congestion", "linkage_flows_of", "linkage_graph_of", "zones_with_inputs"]


def zones_with_inputs(state: State) -> gpd.GeoDataFrame:
    """Return the state's zones with the inputs of the flow models as columns.

    Parameters
    ----------
    state
        A state.

    Returns
    -------
    geopandas.GeoDataFrame
        ``state.zones`` joined with :func:`urlink.model.inputs.node_inputs`.
    """
    return state.zones.join(node_inputs(state.setups, state.zones.index))


def linkage_graph_of(state: State, *, network_source: str = "unknown") -> nx.MultiDiGraph:
    """Build the linkage graph of a state (flows between zones, with CO2).

    Parameters
    ----------
    state
        A state with its flows.
    network_source
        Where the street network came from (``"osm"``, ``"proxy"``), kept on the edges.

    Returns
    -------
    networkx.MultiDiGraph
        Zones as nodes (with the model inputs), one edge per flow; unused ecosystem
        supply is not an edge.
    """
    zones = zones_with_inputs(state)
    between = [f[f["use"] != "unused"] if "use" in f.columns else f for f in state.flows.values()]
    inputs = [c for c in zones.columns if c.startswith(("people_", "goods_", "ecosystem_"))]
    graph = linkage_graph_from(
        zones,
        trip_cost(state),
        between,
        distance_km=trip_km(state),
        network_source=network_source,
        node_columns=inputs,
    )
    e = state.emissions
    add_emissions(
        graph,
        e.factors(),
        default_mode_people=e.people_mode,
        default_mode_goods=e.goods_mode,
    )
    return graph


def linkage_flows_of(state: State) -> gpd.GeoDataFrame:
    """Return the flow edges of :func:`linkage_graph_of` as a table, without the graph.

    The same rows, columns and numbers as ``graph_to_gdfs(linkage_graph_of(state))[1]``
    (tested), built column by column (:func:`urlink.model.graph.linkage_flows_from`,
    :func:`urlink.model.carbon.emissions_of_flows`).

    Parameters
    ----------
    state
        A state with its flows.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per origin, destination and flow type, with CO2; a line from seat to seat.
    """
    between = [f[f["use"] != "unused"] if "use" in f.columns else f for f in state.flows.values()]
    # the skim and distances as they are, the intrazonal values put on the flows within a
    # zone afterwards: trip_cost's and trip_km's numbers without their copies (#20)
    table = linkage_flows_from(state.zones, state.skim, between, distance_km=state.distance_km)
    if state.intrazonal != "none" and len(table):
        same = table["origin"].to_numpy() == table["destination"].to_numpy()
        if same.any():
            at = pd.Index([str(z) for z in state.zones.index])
            own = at.get_indexer(pd.Index(table["origin"].to_numpy()[same]))
            for column, values in (
                ("time_min", intrazonal_min(state)),
                ("distance_km", intrazonal_km(state)),
            ):
                v = values.reindex(state.zones.index).to_numpy(dtype=float)[own]
                column_values = table[column].to_numpy(dtype=float, copy=True)
                column_values[same] = v
                table[column] = column_values
    e = state.emissions
    if table.empty:
        return table
    out = emissions_of_flows(
        table,
        e.factors(),
        default_mode_people=e.people_mode,
        default_mode_goods=e.goods_mode,
    )
    columns = [c for c in out.columns if c != "geometry"]  # the geometry last, as the graph's
    return gpd.GeoDataFrame(out[[*columns, "geometry"]], geometry="geometry", crs="EPSG:4326")


def car_congestion(state: State, streets: nx.MultiDiGraph) -> EquilibriumResult | None:
    """Assign the car trips of a state to the roads at user equilibrium (peak hour).

    The car rows of the mode-split person trips (between zones: a trip within a zone loads no
    link) become peak-hour vehicles (:func:`urlink.network.equilibrium.vehicles_from_persons`:
    1.5 persons per car, 10 % of the daily trips in the peak hour, both assumptions) and are
    assigned with BPR link costs and capacities per road class
    (:func:`urlink.network.equilibrium.assign_equilibrium`, ``docs/network.md``).

    Parameters
    ----------
    state
        A state whose people flows carry a ``mode`` (a scenario with ``[modes]``).
    streets
        The street network the state's routing graph was built from.

    Returns
    -------
    EquilibriumResult or None
        None without a mode choice (no car trips to assign).
    """
    people = state.flows.get("people")
    if people is None or "mode" not in people.columns:
        return None
    cars = people[(people["mode"] == "car") & (people["origin"] != people["destination"])]
    od = vehicles_from_persons(cars, car_share=1.0)
    capacity = link_capacities_vph(streets, state.routing)
    return assign_equilibrium(state.routing, od, state.zones, capacity_vph=capacity)
