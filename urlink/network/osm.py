"""OpenStreetMap way filters and great-circle lengths shared by the XML and PBF readers.

:func:`way_allowed` applies osmnx's network-type filters to a way's tags (so the PBF reader
keeps the same ways as osmnx's XML reader); :func:`great_circle_m` measures edge lengths as
osmnx does.
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Literal, get_args

import numpy as np

from urlink.errors import InputError

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "EARTH_RADIUS_M",
    "FILTER_TAGS",
    "NetworkType",
    "check_network_type",
    "great_circle_m",
    "osm_minutes",
    "way_allowed",
]

NetworkType = Literal["drive", "drive_service", "walk", "all"]

EARTH_RADIUS_M = 6_371_009.0
"""Mean Earth radius used for great-circle lengths (as in osmnx)."""

# Regular expressions mirror osmnx's Overpass filters (osmnx/_overpass.py, osmnx 2.x):
# a way is excluded when the tag value matches (re.search) the pattern.
_EXCLUDE: dict[str, dict[str, str]] = {
    "drive": {
        "area": "yes",
        "access": "private",
        "highway": "abandoned|bridleway|bus_guideway|construction|corridor|cycleway|elevator|"
        "escalator|footway|no|path|pedestrian|planned|platform|proposed|raceway|razed|"
        "rest_area|service|services|steps|track",
        "motor_vehicle": "no",
        "motorcar": "no",
        "service": "alley|driveway|emergency_access|parking|parking_aisle|private",
    },
    "drive_service": {
        "area": "yes",
        "access": "private",
        "highway": "abandoned|bridleway|bus_guideway|construction|corridor|cycleway|elevator|"
        "escalator|footway|no|path|pedestrian|planned|platform|proposed|raceway|razed|"
        "rest_area|services|steps|track",
        "motor_vehicle": "no",
        "motorcar": "no",
        "service": "emergency_access|parking|parking_aisle|private",
    },
    "walk": {
        "area": "yes",
        "access": "private",
        "highway": "abandoned|bus_guideway|construction|cycleway|motor|no|planned|platform|"
        "proposed|raceway|razed|rest_area|services",
        "foot": "no",
        "service": "private",
        "sidewalk": "separate",
        "sidewalk:both": "separate",
        "sidewalk:left": "separate",
        "sidewalk:right": "separate",
    },
    "all": {
        "area": "yes",
        "highway": "abandoned|construction|no|planned|platform|proposed|raceway|razed|"
        "rest_area|services",
    },
}
_EXCLUDE_RE = {
    nt: {tag: re.compile(pat) for tag, pat in rules.items()} for nt, rules in _EXCLUDE.items()
}
FILTER_TAGS = sorted({tag for rules in _EXCLUDE.values() for tag in rules})
"""OSM way tags that :func:`way_allowed` looks at (besides ``highway``)."""


def check_network_type(network_type: object) -> NetworkType:
    """Return ``network_type`` if known, else raise :class:`InputError`.

    Parameters
    ----------
    network_type
        Value to check.

    Returns
    -------
    NetworkType
        The same value.

    Raises
    ------
    InputError
        If it is not one of ``drive``, ``drive_service``, ``walk``, ``all``.
    """
    allowed = get_args(NetworkType)
    if network_type not in allowed:
        msg = f"network_type={network_type!r} is not valid; use one of {allowed}"
        raise InputError(msg)
    return network_type  # type: ignore[return-value]


def way_allowed(tags: Mapping[str, str], network_type: NetworkType) -> bool:
    """Tell whether an OSM way belongs to a network type (osmnx's filters, in Python).

    Parameters
    ----------
    tags
        The way's tags.
    network_type
        Which network.

    Returns
    -------
    bool
        True if the way has a ``highway`` tag and no excluded tag value.

    Examples
    --------
    >>> way_allowed({"highway": "residential"}, "drive")
    True
    >>> way_allowed({"highway": "footway"}, "drive"), way_allowed({"highway": "footway"}, "walk")
    (False, True)
    >>> way_allowed({"highway": "primary", "access": "private"}, "drive")
    False
    """
    if "highway" not in tags:
        return False
    for tag, pattern in _EXCLUDE_RE[network_type].items():
        value = tags.get(tag)
        if value is not None and pattern.search(value):
            return False
    return True


def great_circle_m(
    lon1: np.ndarray, lat1: np.ndarray, lon2: np.ndarray, lat2: np.ndarray
) -> np.ndarray:
    """Great-circle distance in metres (haversine on a sphere of radius 6,371,009 m).

    Parameters
    ----------
    lon1, lat1, lon2, lat2
        Coordinates in degrees.

    Returns
    -------
    numpy.ndarray
        Distances in metres.

    Examples
    --------
    >>> round(float(great_circle_m(np.array([0.0]), np.array([0.0]),
    ...                            np.array([1.0]), np.array([0.0]))[0]))
    111195
    """
    phi1, phi2 = np.radians(lat1), np.radians(lat2)
    dphi = phi2 - phi1
    dlmb = np.radians(lon2 - lon1)
    h = np.sin(dphi / 2) ** 2 + np.cos(phi1) * np.cos(phi2) * np.sin(dlmb / 2) ** 2
    return np.asarray(2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0))))


def osm_minutes(value: object) -> float:
    """Convert an OSM time tag (``duration``, ``interval``) to minutes; NaN if unusable.

    Accepts ``"MM"``, ``"HH:MM"`` and ``"HH:MM:SS"``; of several values separated by ``;``
    the first is taken.

    Parameters
    ----------
    value
        The tag's value (a string), or None.

    Returns
    -------
    float
        Minutes (> 0), or NaN.

    Examples
    --------
    >>> osm_minutes("00:25"), osm_minutes("1:45:30"), osm_minutes("30; 60")
    (25.0, 105.5, 30.0)
    >>> osm_minutes("soon")
    nan
    """
    if not value:
        return math.nan
    try:
        nums = [float(x) for x in str(value).split(";")[0].strip().split(":")]
    except ValueError:
        return math.nan
    if len(nums) == 1:
        minutes = nums[0]
    elif len(nums) in (2, 3):
        minutes = nums[0] * 60 + nums[1] + (nums[2] / 60 if len(nums) == 3 else 0.0)
    else:
        return math.nan
    return minutes if math.isfinite(minutes) and minutes > 0 else math.nan
