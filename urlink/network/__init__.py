"""Street networks, routing graphs, travel-time skims and the assignment of flows to roads.

Layer 2 of urlink (see ``docs/architecture.md``): imports the base modules and
:mod:`urlink.io`. The street-network functions of :mod:`urlink.network.streets` are
available from here too (``urlink.network.streets_from_file``).
"""

from urlink.network.streets import (
    DEFAULT_CIRCUITY,
    DEFAULT_SPEEDS_KPH,
    NetworkType,
    SpeedParams,
    TravelMode,
    add_travel_times,
    default_link_class,
    report_components,
    streets_from_file,
    streets_from_points,
    streets_from_polygon,
    way_allowed,
)

__all__ = [
    "DEFAULT_CIRCUITY",
    "DEFAULT_SPEEDS_KPH",
    "NetworkType",
    "SpeedParams",
    "TravelMode",
    "add_travel_times",
    "default_link_class",
    "report_components",
    "streets_from_file",
    "streets_from_points",
    "streets_from_polygon",
    "way_allowed",
]
