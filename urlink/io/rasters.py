"""Rasters: population counts summed over zones, and raster values sampled at points.

Typical inputs are gridded population counts such as WorldPop (people per cell, GeoTIFF in
EPSG:4326, nodata ``-99999``) and travel-time rasters such as the "travel time to cities"
surface of Weiss et al. (2018). Zones and points are reprojected to the raster's CRS; the
raster is never resampled.

Rules (the same in every function of this module)
-------------------------------------------------
Cell-centre rule
    A cell belongs to a zone if and only if its centre lies inside the zone polygon (GDAL's
    default rasterisation, ``all_touched=False``). A cell cut by a zone boundary is counted
    whole in the zone that holds its centre and not at all in the others, so each cell is
    counted at most once across non-overlapping zones, and the error of a zone's sum is at
    most the cells along its boundary. A zone smaller than a cell may hold no cell centre: its
    sum is 0 and a :class:`~urlink.errors.UrlinkWarning` names it.
Nodata
    Cells equal to the band's nodata value are ignored (WorldPop marks sea and outside the
    country this way). A raster without a nodata value is read as is: every cell is a value,
    and a 0 means no people, which adds nothing to a sum, so it needs no warning. An
    undeclared nodata sentinel (typically a large negative number such as ``-99999``) shows up
    as a negative cell, which a population count cannot have: :class:`~urlink.errors.InputError`
    asks to declare it.
NaN cells
    NaN cells that are not the declared nodata value are ignored; a
    :class:`~urlink.errors.UrlinkWarning` counts them per zone (if the nodata value is NaN,
    NaN cells are nodata and ignored silently).
Coverage
    A zone that the raster does not reach at all is an :class:`~urlink.errors.InputError`
    naming the zones; a zone partly outside the raster's footprint is summed over the part
    inside, and a :class:`~urlink.errors.UrlinkWarning` gives the covered share of its area.
"""

from __future__ import annotations

import logging
import math
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import rasterio
import rasterio.features
import rasterio.transform
import rasterio.windows
import shapely
from affine import Affine
from pyproj.exceptions import CRSError, ProjError
from rasterio.errors import NotGeoreferencedWarning, RasterioError, RasterioIOError

from urlink.errors import InputError, UrlinkWarning
from urlink.io.boundaries import validate_zones

if TYPE_CHECKING:
    from collections.abc import Iterator

    import geopandas as gpd
    from shapely.geometry.base import BaseGeometry

__all__ = ["MAX_WINDOW_CELLS", "sample_raster", "zonal_population"]

logger = logging.getLogger(__name__)

MAX_WINDOW_CELLS = 50_000_000
"""Most cells urlink reads for one zone (200 MB as float32): a zone covering more cells is
refused with this limit named, so a raster of tiny cells (or a sparse file declaring a huge
grid) cannot exhaust the memory. A 100 m WorldPop raster covers a 300,000 km2 county with
30 million cells."""

_MAX_LISTED = 10
"""How many ids an error or warning message lists before it says "and N more"."""


def _ids(ids: list[Any]) -> str:
    shown = [str(i) for i in ids[:_MAX_LISTED]]
    more = f" and {len(ids) - _MAX_LISTED} more" if len(ids) > _MAX_LISTED else ""
    return f"{shown}{more}"


@contextmanager
def _open_raster(path: str | Path, band: int) -> Iterator[Any]:
    """Open a raster for reading after checking the file, the band and the CRS."""
    p = Path(path)
    if not p.exists():
        msg = f"raster {str(p)!r} does not exist; check the path"
        raise InputError(msg)
    if not p.is_file():
        msg = f"raster {str(p)!r} is not a file; point to a GeoTIFF (or another GDAL raster)"
        raise InputError(msg)
    if isinstance(band, bool) or not isinstance(band, int | np.integer):
        msg = f"band={band!r} must be an integer band number (1 for the first band)"
        raise InputError(msg)
    try:
        # a raster without georeferencing is reported below as an InputError, not a warning
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            src = rasterio.open(p)
    except RasterioIOError as err:
        msg = (
            f"raster {p.name!r} could not be opened as a raster ({err}); "
            "use a GeoTIFF (or another format GDAL reads as a raster)"
        )
        raise InputError(msg) from None
    with src:
        if not 1 <= band <= src.count:
            msg = f"band={band!r} is not in raster {p.name!r}, which has bands 1..{src.count}"
            raise InputError(msg)
        dtype = src.dtypes[band - 1]
        if np.dtype(dtype).kind not in "iuf":  # complex or other cells
            msg = (
                f"raster {p.name!r}, band {band}: cells of type {dtype!r} are not counts of "
                "people; use a band of integers or real numbers (e.g. float32)"
            )
            raise InputError(msg)
        if src.crs is None:
            msg = (
                f"raster {p.name!r} has no CRS; assign the one it was made in, e.g. "
                f"`rio edit-info --crs EPSG:4326 {p.name}` (WorldPop) or "
                f"`gdal_edit.py -a_srs EPSG:32651 {p.name}`"
            )
            raise InputError(msg)
        yield src


def _check_crs(gdf: gpd.GeoDataFrame, what: str, raster: Path) -> None:
    if gdf.crs is None:
        msg = (
            f"{what} have no CRS, so they cannot be matched to raster {raster.name!r}; "
            "set the CRS they are in with GeoDataFrame.set_crs (e.g. 'EPSG:4326')"
        )
        raise InputError(msg)


def _to_raster_crs(zones: gpd.GeoDataFrame, src: Any, raster: Path) -> gpd.GeoSeries:
    """Return the zones' polygons in the raster's CRS; refuse a CRS without a transformation."""
    try:
        return zones.geometry.to_crs(src.crs)
    except (CRSError, ProjError, ValueError) as err:
        msg = (
            f"raster {raster.name!r}: its CRS {src.crs.to_string()!r} cannot be transformed "
            f"to or from the zones' CRS ({err}); assign the CRS the raster was made in, e.g. "
            f"`rio edit-info --crs EPSG:4326 {raster.name}`"
        )
        raise InputError(msg) from None


def _footprint(src: Any) -> shapely.Polygon:
    """Return the raster's footprint as a polygon in its CRS (also for rotated rasters)."""
    t = src.transform
    corners = [t @ (0, 0), t @ (src.width, 0), t @ (src.width, src.height), t @ (0, src.height)]
    return shapely.Polygon(corners)


def zonal_population(zones: gpd.GeoDataFrame, path: str | Path, *, band: int = 1) -> pd.Series:
    """Sum a population-count raster (such as WorldPop) over each zone polygon.

    Zones are reprojected to the raster's CRS. Cells count by the cell-centre rule, nodata
    and NaN cells are ignored, and zones partly outside the raster are summed over the part
    inside (see the module docstring for the exact rules and the warnings they raise). Sums
    are in float64, whatever the raster's data type.

    Parameters
    ----------
    zones
        Zones indexed by id with (Multi)Polygon geometry and a CRS.
    path
        Raster of counts per cell (people per cell, not per km²).
    band
        Band number, from 1.

    Returns
    -------
    pandas.Series
        Sum per zone, named ``population``, aligned to ``zones.index``.

    Raises
    ------
    InputError
        If the file is missing or not a raster, the band does not exist, the raster or the
        zones have no CRS, a zone is not a polygon, some zones do not overlap the raster
        (naming them), or a cell inside a zone is negative or infinite.

    Warns
    -----
    UrlinkWarning
        For NaN cells that are not nodata, zones partly outside the raster, and zones that
        hold no cell centre.

    Examples
    --------
    A 4 x 4 raster of 100 m cells with 10 people per cell and one nodata cell:

    >>> import tempfile
    >>> from pathlib import Path
    >>> import geopandas as gpd
    >>> import numpy as np
    >>> import rasterio
    >>> from affine import Affine
    >>> from shapely.geometry import box
    >>> tmp = tempfile.TemporaryDirectory()
    >>> tif = Path(tmp.name) / "pop.tif"
    >>> cells = np.full((4, 4), 10, dtype="float32")
    >>> cells[0, 0] = -99999
    >>> with rasterio.open(tif, "w", driver="GTiff", width=4, height=4, count=1,
    ...                    dtype="float32", crs="EPSG:32651", nodata=-99999,
    ...                    transform=Affine(100, 0, 500_000, 0, -100, 3_170_000)) as dst:
    ...     dst.write(cells, 1)
    >>> zones = gpd.GeoDataFrame(
    ...     index=["a", "b"], crs="EPSG:32651",
    ...     geometry=[box(500_000, 3_169_800, 500_200, 3_170_000),    # 2 x 2 cells
    ...               box(500_200, 3_169_600, 500_400, 3_170_000)])   # 2 x 4 cells
    >>> zonal_population(zones, tif).to_dict()
    {'a': 30.0, 'b': 80.0}
    >>> tmp.cleanup()
    """
    p = Path(path)
    _check_crs(zones, "zones", p)
    zones = validate_zones(zones, source="zones")
    report = _Report()
    sums = np.zeros(len(zones), dtype=np.float64)
    with _open_raster(p, band) as src:
        geoms = _to_raster_crs(zones, src, p)
        footprint = _footprint(src)
        for i, (zid, geom) in enumerate(zip(zones.index, geoms, strict=True)):
            sums[i] = _zone_sum(src, band, zid, geom, footprint=footprint, report=report)
        bounds, crs = tuple(round(b, 6) for b in src.bounds), src.crs.to_string()
    report.raise_or_warn(p, bounds, crs)
    logger.info("zonal sums of %s over %d zones: total %.0f", p.name, len(zones), sums.sum())
    return pd.Series(sums, index=zones.index, name="population", dtype="float64")


@dataclass(slots=True)
class _Report:
    """Problems found while summing zones, reported together after the loop."""

    outside: list[Any] = field(default_factory=list)
    partial: dict[Any, float] = field(default_factory=dict)
    no_centre: list[Any] = field(default_factory=list)
    nan_cells: dict[Any, int] = field(default_factory=dict)
    bad: dict[Any, float] = field(default_factory=dict)

    def raise_or_warn(self, p: Path, bounds: tuple[float, ...], crs: str) -> None:
        """Raise for zones off the raster or bad cells, then warn about the rest."""
        if self.outside:
            msg = (
                f"zones {_ids(self.outside)} do not overlap raster {p.name!r} (bounds {bounds} "
                f"in {crs}); use a raster that covers them, drop them from the zones, or check "
                "the zones' CRS"
            )
            raise InputError(msg)
        if self.bad:
            zid, value = next(iter(self.bad.items()))
            msg = (
                f"raster {p.name!r} has negative or infinite cells inside zones "
                f"{_ids(list(self.bad))} (e.g. {value!r} in zone {zid!r}), which a population "
                "count cannot have; if it is a nodata marker, declare it, e.g. "
                f"`rio edit-info --nodata {value:g} {p.name}`"
            )
            raise InputError(msg)
        if self.nan_cells:
            warnings.warn(
                f"raster {p.name!r}: {sum(self.nan_cells.values())} NaN cell(s) inside zones "
                f"{_ids(list(self.nan_cells))} were ignored (NaN is not the declared nodata "
                "value); declare nodata or fill them to silence this warning",
                UrlinkWarning,
                stacklevel=3,
            )
        if self.partial:
            shares = {str(k): f"{v:.1%}" for k, v in list(self.partial.items())[:_MAX_LISTED]}
            warnings.warn(
                f"raster {p.name!r} covers only part of {len(self.partial)} zone(s) (share of "
                f"zone area covered: {shares}); their sums count only the covered part. Use a "
                "raster that covers the whole study area",
                UrlinkWarning,
                stacklevel=3,
            )
        if self.no_centre:
            warnings.warn(
                f"zones {_ids(self.no_centre)} hold no cell centre of raster {p.name!r} (they "
                "are smaller than a cell, or slivers), so their sum is 0; use a finer raster "
                "or larger zones",
                UrlinkWarning,
                stacklevel=3,
            )


def _window(src: Any, geom: BaseGeometry) -> rasterio.windows.Window | None:
    """Return the window of whole cells covering ``geom``'s bounds, or None if it is empty.

    Computed here with ``@`` (not :func:`rasterio.features.geometry_window`, which uses the
    affine ``*`` operator that affine >= 3 flags with a PendingDeprecationWarning).
    """
    left, bottom, right, top = geom.bounds
    inv = ~src.transform
    corners = [inv @ (x, y) for x in (left, right) for y in (bottom, top)]
    cols = [c for c, _ in corners]
    rows = [r for _, r in corners]
    col0, col1 = max(math.floor(min(cols)), 0), min(math.ceil(max(cols)), src.width)
    row0, row1 = max(math.floor(min(rows)), 0), min(math.ceil(max(rows)), src.height)
    if col1 <= col0 or row1 <= row0:
        return None
    return rasterio.windows.Window(col0, row0, col1 - col0, row1 - row0)


def _read_window(
    src: Any, band: int, window: rasterio.windows.Window, zid: Any, *, what: str = "zone"
) -> Any:
    """Read the cells of one zone or point, refusing oversized windows and damaged data."""
    name = Path(src.name).name
    n_cells = int(window.width) * int(window.height)
    if n_cells > MAX_WINDOW_CELLS:
        msg = (
            f"raster {name!r}: zone {zid!r} covers {n_cells:,} cells of {abs(src.res[0]):g} x "
            f"{abs(src.res[1]):g} ({src.crs.to_string()}), more than urlink reads for one zone "
            f"({MAX_WINDOW_CELLS:,}, urlink.io.rasters.MAX_WINDOW_CELLS); resample the raster "
            "to coarser cells (e.g. gdalwarp -tr 100 100) or check its transform"
        )
        raise InputError(msg)
    try:
        return src.read(band, window=window)
    except (RasterioError, MemoryError) as err:
        msg = (
            f"raster {name!r}: the cells of {what} {zid!r} could not be read ({err}); the file "
            "is damaged or truncated, so export it again (gdal_translate checks it)"
        )
        raise InputError(msg) from None


def _zone_sum(
    src: Any,
    band: int,
    zid: Any,
    geom: BaseGeometry,
    *,
    footprint: shapely.Polygon,
    report: _Report,
) -> float:
    """Sum of the valid cells whose centres lie in ``geom`` (in the raster's CRS)."""
    area = geom.area
    share = geom.intersection(footprint).area / area if area > 0 else 0.0
    if share <= 0:
        report.outside.append(zid)
        return 0.0
    if share < 1 - 1e-9:
        report.partial[zid] = share
    window = _window(src, geom)
    if window is None:
        report.no_centre.append(zid)
        return 0.0
    cells = _read_window(src, band, window, zid)
    inside = rasterio.features.geometry_mask(
        [geom],
        out_shape=cells.shape,
        transform=src.transform @ Affine.translation(window.col_off, window.row_off),
        all_touched=False,  # the cell-centre rule
        invert=True,
    )
    raw = cells[inside]
    if raw.size == 0:
        report.no_centre.append(zid)
        return 0.0
    values = raw.astype(np.float64)
    nodata = src.nodatavals[band - 1]
    nodata_is_nan = nodata is not None and math.isnan(nodata)
    nan = np.isnan(values)
    if nan.any() and not nodata_is_nan:
        report.nan_cells[zid] = int(nan.sum())
    keep = ~nan
    if nodata is not None and not nodata_is_nan:
        keep &= raw != np.asarray(nodata).astype(raw.dtype)  # compare in the raster's type
    values = values[keep]
    wrong = (values < 0) | np.isinf(values)
    if wrong.any():
        report.bad[zid] = float(values[wrong][0])
    return float(values.sum())


def sample_raster(points_gdf: gpd.GeoDataFrame, path: str | Path, *, band: int = 1) -> pd.Series:
    """Value of the raster cell under each point.

    Points are reprojected to the raster's CRS; a point on a cell edge takes the cell to its
    lower right (row and column by ``floor``). Points on nodata or NaN cells and points
    outside the raster get NaN, and a :class:`~urlink.errors.UrlinkWarning` names them. To
    sample at zone seats, pass points built from ``seat_lon``/``seat_lat`` (EPSG:4326).

    Parameters
    ----------
    points_gdf
        Points indexed by id, with a CRS.
    path
        Raster file.
    band
        Band number, from 1.

    Returns
    -------
    pandas.Series
        float64 values aligned to ``points_gdf.index``, named after the file's stem.

    Raises
    ------
    InputError
        If the file is missing or not a raster, the band does not exist, the raster or the
        points have no CRS, the raster's CRS cannot be transformed to the points', a
        geometry is not a non-empty Point, no point is on the raster, or a cell cannot be read
        (a damaged or truncated file).

    Warns
    -----
    UrlinkWarning
        For points outside the raster or on nodata or NaN cells.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> import geopandas as gpd
    >>> import numpy as np
    >>> import rasterio
    >>> from affine import Affine
    >>> tmp = tempfile.TemporaryDirectory()
    >>> tif = Path(tmp.name) / "minutes.tif"
    >>> with rasterio.open(tif, "w", driver="GTiff", width=2, height=1, count=1,
    ...                    dtype="float32", crs="EPSG:4326",
    ...                    transform=Affine(0.1, 0, 121.0, 0, -0.1, 28.7)) as dst:
    ...     dst.write(np.array([[12.5, 40.0]], dtype="float32"), 1)
    >>> pts = gpd.GeoDataFrame(index=["x", "y"], crs="EPSG:4326",
    ...                        geometry=gpd.points_from_xy([121.05, 121.15], [28.65, 28.65]))
    >>> sample_raster(pts, tif).to_dict()
    {'x': 12.5, 'y': 40.0}
    >>> tmp.cleanup()
    """
    p = Path(path)
    _check_crs(points_gdf, "points", p)
    geom = points_gdf.geometry
    not_point = (geom.geom_type != "Point") | geom.is_empty | geom.isna()
    if not_point.any():
        kinds = {str(k): str(v) for k, v in geom.geom_type[not_point].items()}
        msg = (
            f"points {dict(list(kinds.items())[:_MAX_LISTED])} are not non-empty Points; "
            "sample at points, e.g. gdf.representative_point() or the zone seats"
        )
        raise InputError(msg)
    values = np.full(len(points_gdf), np.nan, dtype=np.float64)
    with _open_raster(p, band) as src:
        pts = _to_raster_crs(points_gdf, src, p)
        rows, cols = rasterio.transform.rowcol(
            src.transform, pts.x.to_numpy(), pts.y.to_numpy(), op=math.floor
        )
        rows, cols = np.asarray(rows), np.asarray(cols)
        on = (rows >= 0) & (rows < src.height) & (cols >= 0) & (cols < src.width)
        nodata = src.nodatavals[band - 1]
        for i in np.flatnonzero(on):
            window = rasterio.windows.Window(int(cols[i]), int(rows[i]), 1, 1)
            cell = _read_window(src, band, window, points_gdf.index[i], what="point")
            values[i] = float(cell[0, 0])
        name = p.stem
    ids = points_gdf.index
    if not on.any():
        msg = (
            f"no point of {_ids(ids.tolist())} is on raster {p.name!r}; use a raster that "
            "covers them or check the points' CRS"
        )
        raise InputError(msg)
    if nodata is not None and not math.isnan(nodata):
        values[values == nodata] = np.nan
    off = ids[~on].tolist()
    empty = ids[on & np.isnan(values)].tolist()
    if off:
        warnings.warn(
            f"points {_ids(off)} are outside raster {p.name!r}; their value is NaN",
            UrlinkWarning,
            stacklevel=2,
        )
    if empty:
        warnings.warn(
            f"points {_ids(empty)} are on nodata or NaN cells of raster {p.name!r}; "
            "their value is NaN",
            UrlinkWarning,
            stacklevel=2,
        )
    return pd.Series(values, index=ids, name=name, dtype="float64")
