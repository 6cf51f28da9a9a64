"""Coordinate systems: China's GCJ-02 offset, and the local metric CRS of a study area.

GCJ-02 ("Mars coordinates") is the coordinate system of Chinese commercial map data (Amap/
Gaode, Aliyun DataV, Tencent). It is WGS84 latitude/longitude plus a deliberate, smooth,
non-linear offset of a few hundred metres (about +0.0042° lon and -0.0031° lat around
Huangyan, roughly 540 m). Files in GCJ-02 are usually tagged EPSG:4326 all the same, so the
CRS tag cannot tell them apart: the user has to say ``coords="gcj02"``.

The forward transformation (WGS84 -> GCJ-02) is the widely published formula on the
Krasovsky 1940 ellipsoid (a = 6378245 m, e² = 0.00669342162296594323). It has no closed-form
inverse; :func:`gcj02_to_wgs84` inverts it by fixed-point iteration until the round trip
agrees to better than 1e-10 degrees. Outside mainland China the offset is not applied (the
usual bounding-box test: 72.004-137.8347 E, 0.8293-55.8271 N).

A GeoDataFrame converted here is marked, so that converting it a second time is refused: its
``attrs["urlink_coords"]`` is set to ``"wgs84 (converted from gcj02)"`` and, if it has a
``coords_source`` column, that column says the same, which survives a round trip through a
file.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Literal, get_args

import numpy as np
import shapely
from pyproj import CRS

from urlink.errors import InputError, UrlinkError

if TYPE_CHECKING:
    import geopandas as gpd
    from numpy.typing import ArrayLike, NDArray

__all__ = [
    "CONVERTED_MARK",
    "Coords",
    "check_coords",
    "gcj02_to_wgs84",
    "gdf_gcj02_to_wgs84",
    "local_metric_crs",
    "out_of_china",
    "wgs84_to_gcj02",
]

logger = logging.getLogger(__name__)

Coords = Literal["wgs84", "gcj02"]
"""Coordinate systems a loader accepts for longitude/latitude input."""

CONVERTED_MARK = "wgs84 (converted from gcj02)"
"""Value of ``attrs["urlink_coords"]`` and of ``coords_source`` after a conversion."""

# Krasovsky 1940 ellipsoid, as used by the GCJ-02 formula.
_A = 6378245.0
_EE = 0.00669342162296594323


def check_coords(coords: object, *, argument: str = "coords") -> Coords:
    """Return ``coords`` if it is a known coordinate system, else raise :class:`InputError`.

    Parameters
    ----------
    coords
        The value to check.
    argument
        Name of the argument or scenario key, used in the error message.

    Returns
    -------
    Coords
        The same value, typed.

    Raises
    ------
    InputError
        If ``coords`` is not one of ``"wgs84"`` or ``"gcj02"``.

    Examples
    --------
    >>> check_coords("gcj02")
    'gcj02'
    """
    allowed = get_args(Coords)
    if coords not in allowed:
        msg = f"{argument}={coords!r} is not a known coordinate system; use one of {allowed}"
        raise InputError(msg)
    return coords  # type: ignore[return-value]


def out_of_china(lon: ArrayLike, lat: ArrayLike) -> NDArray[np.bool_]:
    """Tell which points lie outside the box in which GCJ-02 applies an offset.

    Parameters
    ----------
    lon, lat
        Longitudes and latitudes in degrees.

    Returns
    -------
    numpy.ndarray
        Boolean array, True where no offset is applied.

    Examples
    --------
    >>> out_of_china([121.26, 13.4], [28.65, 52.5]).tolist()
    [False, True]
    """
    x = np.asarray(lon, dtype=float)
    y = np.asarray(lat, dtype=float)
    return np.asarray((x < 72.004) | (x > 137.8347) | (y < 0.8293) | (y > 55.8271))


def _offset(
    lon: NDArray[np.float64], lat: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """GCJ-02 offset (dlon, dlat) in degrees at WGS84 positions ``lon``, ``lat``."""
    x = lon - 105.0
    y = lat - 35.0
    sqrt_abs_x = np.sqrt(np.abs(x))
    common = (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sqrt_abs_x + common
    dlat += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    dlat += (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sqrt_abs_x + common
    dlon += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    dlon += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    rad_lat = lat / 180.0 * np.pi
    magic = 1.0 - _EE * np.sin(rad_lat) ** 2
    sqrt_magic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrt_magic) * np.pi)
    dlon = (dlon * 180.0) / (_A / sqrt_magic * np.cos(rad_lat) * np.pi)
    inside = ~out_of_china(lon, lat)
    return dlon * inside, dlat * inside


def _as_arrays(lon: ArrayLike, lat: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    x = np.asarray(lon, dtype=float)
    y = np.asarray(lat, dtype=float)
    if x.shape != y.shape:
        msg = f"lon and lat must have the same shape, got {x.shape} and {y.shape}"
        raise InputError(msg)
    if np.any(np.abs(y[np.isfinite(y)]) > 90.0):
        msg = "lat has values outside [-90, 90]; are longitude and latitude swapped?"
        raise InputError(msg)
    return x, y


def wgs84_to_gcj02(
    lon: ArrayLike, lat: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Convert WGS84 longitude/latitude to GCJ-02 (the forward formula).

    Parameters
    ----------
    lon, lat
        WGS84 longitudes and latitudes in degrees (scalars or arrays of one shape).

    Returns
    -------
    tuple of numpy.ndarray
        GCJ-02 longitudes and latitudes.

    Examples
    --------
    >>> lon, lat = wgs84_to_gcj02(121.25867, 28.64815)
    >>> round(float(lon - 121.25867), 4), round(float(lat - 28.64815), 4)
    (0.0042, -0.0031)
    """
    x, y = _as_arrays(lon, lat)
    dlon, dlat = _offset(x, y)
    return x + dlon, y + dlat


def gcj02_to_wgs84(
    lon: ArrayLike,
    lat: ArrayLike,
    *,
    tol_deg: float = 1e-10,
    max_iter: int = 30,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Convert GCJ-02 longitude/latitude back to WGS84 by fixed-point iteration.

    Starting from w = g, each step sets w <- w - (f(w) - g), where f is
    :func:`wgs84_to_gcj02` and g the GCJ-02 input. The offset changes slowly in space, so the
    error shrinks by about three orders of magnitude per step.

    Parameters
    ----------
    lon, lat
        GCJ-02 longitudes and latitudes in degrees.
    tol_deg
        Stop when ``f(w)`` is within this many degrees of the input everywhere.
    max_iter
        Give up (with an error) after this many steps.

    Returns
    -------
    tuple of numpy.ndarray
        WGS84 longitudes and latitudes.

    Raises
    ------
    UrlinkError
        If the iteration does not converge (never seen for finite input).

    Examples
    --------
    >>> glon, glat = wgs84_to_gcj02(121.25867, 28.64815)
    >>> lon, lat = gcj02_to_wgs84(glon, glat)
    >>> bool(abs(lon - 121.25867) < 1e-9 and abs(lat - 28.64815) < 1e-9)
    True
    """
    gx, gy = _as_arrays(lon, lat)
    wx, wy = gx.copy(), gy.copy()
    for _ in range(max_iter):
        fx, fy = wgs84_to_gcj02(wx, wy)
        ex, ey = fx - gx, fy - gy
        wx -= ex
        wy -= ey
        err = np.nanmax(np.abs(np.stack([ex, ey])), initial=0.0)
        if err < tol_deg:
            return wx, wy
    msg = f"GCJ-02 inversion did not converge to {tol_deg} degrees in {max_iter} iterations"
    raise UrlinkError(msg)


def _transform_geoms(geoms: NDArray[np.object_], func: object) -> NDArray[np.object_]:
    def xy_func(coords: NDArray[np.float64]) -> NDArray[np.float64]:
        lon, lat = func(coords[:, 0], coords[:, 1])  # type: ignore[operator]
        return np.column_stack([lon, lat])

    return np.asarray(shapely.transform(geoms, xy_func))


def gdf_gcj02_to_wgs84(gdf: gpd.GeoDataFrame, *, source: str = "data") -> gpd.GeoDataFrame:
    """Return a copy of a GeoDataFrame in GCJ-02 lon/lat converted to WGS84 (EPSG:4326).

    Parameters
    ----------
    gdf
        Geometries whose coordinates are GCJ-02 longitude/latitude (the CRS tag, if any, must
        be geographic; it is usually EPSG:4326 although the values are GCJ-02).
    source
        What the data is (a file name), for error messages.

    Returns
    -------
    geopandas.GeoDataFrame
        A new frame with WGS84 coordinates, CRS EPSG:4326, ``attrs["urlink_coords"]`` set to
        :data:`CONVERTED_MARK` and a ``coords_source`` column saying the same.

    Raises
    ------
    InputError
        If the frame was already converted (double conversion would move every point by
        another ~500 m), or if its CRS is projected.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import Point
    >>> g = gpd.GeoDataFrame(geometry=[Point(121.26287, 28.64505)], crs="EPSG:4326")
    >>> w = gdf_gcj02_to_wgs84(g)
    >>> w["coords_source"].iloc[0]
    'wgs84 (converted from gcj02)'
    >>> gdf_gcj02_to_wgs84(w)
    Traceback (most recent call last):
    ...
    urlink.errors.InputError: data: coordinates were already converted from GCJ-02 to WGS84; \
converting twice would shift them by another ~500 m. Load the file with coords='wgs84'.
    """
    already = gdf.attrs.get("urlink_coords") == CONVERTED_MARK
    if "coords_source" in gdf.columns:
        already = already or bool((gdf["coords_source"].astype(str) == CONVERTED_MARK).any())
    if already:
        msg = (
            f"{source}: coordinates were already converted from GCJ-02 to WGS84; converting "
            "twice would shift them by another ~500 m. Load the file with coords='wgs84'."
        )
        raise InputError(msg)
    if gdf.crs is not None and not gdf.crs.is_geographic:
        msg = (
            f"{source}: coords='gcj02' needs longitude/latitude, but the layer's CRS is "
            f"projected ({gdf.crs.to_string()}); GCJ-02 is only defined in degrees. "
            "Use coords='wgs84' for projected data."
        )
        raise InputError(msg)
    out = gdf.copy()
    geoms = np.asarray(out.geometry.array, dtype=object)
    out = out.set_geometry(_transform_geoms(geoms, gcj02_to_wgs84), crs="EPSG:4326")
    out["coords_source"] = CONVERTED_MARK
    out.attrs["urlink_coords"] = CONVERTED_MARK
    logger.info("%s: converted %d geometries from GCJ-02 to WGS84", source, len(out))
    return out


def local_metric_crs(gdf: gpd.GeoDataFrame | gpd.GeoSeries) -> CRS:
    """Choose the UTM zone (WGS84) of the centre of the data's bounding box.

    Parameters
    ----------
    gdf
        Data with a known CRS.

    Returns
    -------
    pyproj.CRS
        The UTM CRS, e.g. EPSG:32651 for Huangyan (zone 51 N).

    Raises
    ------
    InputError
        If the data has no CRS.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import Point
    >>> local_metric_crs(gpd.GeoSeries([Point(121.26, 28.65)], crs="EPSG:4326")).to_epsg()
    32651
    """
    if gdf.crs is None:
        msg = "cannot choose a metric CRS for data without a CRS; set one first"
        raise InputError(msg)
    lonlat = gdf.to_crs("EPSG:4326") if not gdf.crs.equals("EPSG:4326") else gdf
    left, bottom, right, top = lonlat.total_bounds
    lon = (left + right) / 2.0
    lat = (bottom + top) / 2.0
    zone = int(np.floor((lon + 180.0) / 6.0)) % 60 + 1
    epsg = (32600 if lat >= 0 else 32700) + zone
    return CRS.from_epsg(epsg)
