"""Coordinate checks between layers: GCJ-02/WGS84 mix-ups explained in the error message.

GCJ-02 ("Mars coordinates", used by Amap, Tencent and most Chinese web maps) is offset from
WGS84 by 100-700 m in China. These checks recognise that offset between two layers, so the
message can name the layer and the fix (``coords = "gcj02"``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import numpy as np
import shapely

from urlink.io.crs import gcj02_to_wgs84, out_of_china, wgs84_to_gcj02

if TYPE_CHECKING:
    import geopandas as gpd
    from shapely.geometry.base import BaseGeometry

    from urlink.io.crs import Coords

__all__ = ["coords_mismatch_hint", "gcj02_offset_between"]


def coords_mismatch_hint(
    points_lonlat: gpd.GeoSeries, area_lonlat: BaseGeometry, *, declared: Coords
) -> str:
    """Explain points that fall outside a polygon by a GCJ-02/WGS84 mix-up, if that fits.

    GCJ-02 ("Mars coordinates", used by Amap, Tencent and most Chinese web maps) is offset
    from WGS84 by 100-700 m in China (about 500 m around Huangyan). If reading the points in
    the other system puts all of them inside the polygon, the two layers were declared
    inconsistently: one is GCJ-02 declared as WGS84, or was converted twice.

    Parameters
    ----------
    points_lonlat
        The points as loaded (WGS84, after any declared conversion).
    area_lonlat
        The polygon they must lie in (WGS84).
    declared
        How the points were declared (``"wgs84"`` or ``"gcj02"``).

    Returns
    -------
    str
        A sentence with the fix, or ``""`` if all points are inside already or the offset
        does not explain the mismatch.
    """
    lon = points_lonlat.x.to_numpy()
    lat = points_lonlat.y.to_numpy()
    if bool(np.all(shapely.covers(area_lonlat, shapely.points(lon, lat)))):
        return ""  # nothing to explain
    if declared == "wgs84":  # they might be GCJ-02: convert
        alt_lon, alt_lat = gcj02_to_wgs84(lon, lat)
    else:  # they were converted from GCJ-02 but might have been WGS84: undo it
        alt_lon, alt_lat = wgs84_to_gcj02(lon, lat)
    alt = shapely.points(np.asarray(alt_lon), np.asarray(alt_lat))
    if not bool(np.all(shapely.covers(area_lonlat, alt))):
        return ""
    shift = np.hypot(
        (np.asarray(alt_lon) - lon) * 111_320 * np.cos(np.radians(lat)),
        (np.asarray(alt_lat) - lat) * 110_540,
    )
    other = "gcj02" if declared == "wgs84" else "wgs84"
    return (
        f" They all fall inside once read as {other.upper()} (a shift of about "
        f"{float(np.median(shift)):.0f} m, the GCJ-02 offset): the layers mix GCJ-02 "
        "(Amap/Tencent) and WGS84 coordinates. Set coords = "
        f'"{other}" for this layer, or fix the coords of the boundaries if they are the '
        "GCJ-02 ones."
    )


def gcj02_offset_between(
    a_lonlat: np.ndarray, b_lonlat: np.ndarray, *, min_pairs: int = 2
) -> Literal["a", "b"] | None:
    """Tell whether two sets of matched points differ by the GCJ-02 offset.

    ``a_lonlat[i]`` and ``b_lonlat[i]`` are the same place in two layers that both claim to
    be WGS84 (e.g. township seats and GeoNames places of the same name). If ``b`` lies where
    ``a`` would be in GCJ-02 (within a quarter of the offset, on the median), ``b`` is
    GCJ-02 declared as WGS84; and the other way round.

    Parameters
    ----------
    a_lonlat, b_lonlat
        ``(n, 2)`` arrays of longitude and latitude.
    min_pairs
        Fewer matched places than this give no verdict.

    Returns
    -------
    "a", "b" or None
        The layer that looks like GCJ-02, or None.

    Examples
    --------
    >>> from urlink.io.crs import wgs84_to_gcj02
    >>> a = np.array([[121.26, 28.64], [121.10, 28.60], [121.35, 28.55]])
    >>> b = np.column_stack(wgs84_to_gcj02(a[:, 0], a[:, 1]))
    >>> gcj02_offset_between(a, b), gcj02_offset_between(b, a), gcj02_offset_between(a, a)
    ('b', 'a', None)
    """
    a = np.asarray(a_lonlat, dtype=float).reshape(-1, 2)
    b = np.asarray(b_lonlat, dtype=float).reshape(-1, 2)
    keep = np.isfinite(a).all(axis=1) & np.isfinite(b).all(axis=1)
    keep &= (np.abs(a[:, 1]) <= 90) & (np.abs(b[:, 1]) <= 90)
    a, b = a[keep], b[keep]
    if len(a) < min_pairs:
        return None
    keep = ~out_of_china(a[:, 0], a[:, 1])
    a, b = a[keep], b[keep]
    if len(a) < min_pairs:
        return None
    scale = np.column_stack([111_320 * np.cos(np.radians(a[:, 1])), np.full(len(a), 110_540)])
    ga = np.column_stack(wgs84_to_gcj02(a[:, 0], a[:, 1]))
    offset = (ga - a) * scale  # metres from a to a-in-GCJ-02
    moved = (b - a) * scale
    size = float(np.median(np.hypot(*offset.T)))
    if size < 50:
        return None
    if float(np.median(np.hypot(*(moved - offset).T))) < size / 4:
        return "b"
    if float(np.median(np.hypot(*(moved + offset).T))) < size / 4:
        return "a"
    return None
