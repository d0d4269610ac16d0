"""Rasters on disk: the MODIS land cover in, Cloud-Optimised GeoTIFFs and PNG overlays out.

The analysis (:mod:`analysis.accessibility`) works on arrays; this module is the only place
that opens or writes raster files.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt
import rasterio
from affine import Affine
from matplotlib.colors import BoundaryNorm, ListedColormap
from PIL import Image
from rasterio.crs import CRS
from rasterio.io import MemoryFile
from rasterio.warp import Resampling, calculate_default_transform, reproject
from rio_cogeo.cogeo import cog_translate
from rio_cogeo.profiles import cog_profiles

from layers.errors import LayerError

#: Where the land cover sits in a folder laid out like ``../shared/data/chile``.
LAND_COVER_FILE = "landcover/modis_mcd12c1_2019_igbp_chile.tif"
#: Class breaks (minutes) and colours of the travel-time overlay.
MINUTE_BREAKS = (0, 15, 30, 60, 120, 240, 100_000)
MINUTE_COLOURS = ("#1a9850", "#91cf60", "#d9ef8b", "#fee08b", "#fc8d59", "#d73027")


@dataclass(frozen=True)
class LandCoverRaster:
    """The land-cover classes as read, with their transform and the CRS used for them."""

    classes: npt.NDArray[np.uint8]
    transform: Affine
    crs: str
    nodata: int
    source: Path


def read_land_cover(path: Path) -> LandCoverRaster:
    """Read an IGBP land-cover GeoTIFF.

    The MODIS MCD12C1 file declares a geographic CRS on the Clarke 1866 ellipsoid with no EPSG
    code (MODIS' own convention for its lat/lon climate-modelling grid); at 0.05° per pixel the
    datum shift to WGS 84 (well under 1 km) is far below a pixel, so it is read as EPSG:4326
    lat/lon. Any other file keeps the CRS it declares; one declaring none is read as lat/lon.
    """
    path = Path(path)
    if not path.is_file():
        raise LayerError(f"no se encuentra el ráster de cobertura de suelo {path}")
    try:
        with rasterio.open(path) as dataset:
            classes = dataset.read(1)
            transform = dataset.transform
            declared = dataset.crs
            nodata = dataset.nodata
    except rasterio.errors.RasterioIOError as error:
        raise LayerError(f"{path.name}: no se puede leer como ráster ({error})") from None
    crs = "EPSG:4326"
    if declared is not None and not declared.is_geographic and declared.to_epsg() is not None:
        crs = f"EPSG:{declared.to_epsg()}"
    return LandCoverRaster(
        classes=classes.astype(np.uint8),
        transform=transform,
        crs=crs,
        nodata=int(nodata) if nodata is not None else 255,
        source=path,
    )


def write_cog(
    path: Path,
    values: npt.NDArray[np.floating] | npt.NDArray[np.integer],
    transform: Affine,
    crs: str,
    nodata: float | None = None,
    resampling: Literal["nearest", "average", "mode"] = "average",
) -> Path:
    """Write one band as a Cloud-Optimised GeoTIFF (deflate, 256 px tiles, overviews).

    The file is built in memory and renamed into place, so a reader never sees half a file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    profile = {
        "driver": "GTiff",
        "height": values.shape[0],
        "width": values.shape[1],
        "count": 1,
        "dtype": values.dtype.name,
        "crs": CRS.from_user_input(crs),
        "transform": transform,
        "nodata": nodata,
    }
    output_profile = cog_profiles["deflate"].copy()  # what cog_profiles.get returns
    output_profile.update({"blockxsize": 256, "blockysize": 256})
    # Halve until the smallest overview fits one tile (at least one level, even for islands).
    levels = max(1, int(np.ceil(np.log2(max(values.shape) / 256))))
    handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tif.tmp")
    os.close(handle)
    try:
        with MemoryFile() as memory:
            with memory.open(**profile) as dataset:
                dataset.write(values, 1)
            with memory.open() as dataset:
                cog_translate(
                    dataset,
                    temporary,
                    output_profile,
                    overview_resampling=resampling,
                    overview_level=levels,
                    in_memory=True,
                    quiet=True,
                )
        os.chmod(temporary, 0o644)  # mkstemp makes it private; rasters are for sharing
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)
    return path


def write_overlay_png(
    path: Path,
    minutes: npt.NDArray[np.floating],
    transform: Affine,
    crs: str,
    max_pixels: int = 2_000_000,
) -> tuple[Path, list[list[float]]]:
    """Colour-map travel minutes to a PNG in EPSG:4326 for a web-map image overlay.

    Classes follow :data:`MINUTE_BREAKS`; unreachable cells and cells outside the land are
    transparent. The image is warped to lat/lon (Leaflet's ``imageOverlay`` stretches an image
    between two corners) and its bounds written beside it as ``<name>.json``.

    Returns
    -------
    tuple
        The PNG path and its bounds ``[[south, west], [north, east]]``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    height, width = minutes.shape
    source_crs = CRS.from_user_input(crs)
    left, top = transform.c, transform.f
    right = left + width * transform.a
    bottom = top + height * transform.e
    dst_transform, dst_width, dst_height = calculate_default_transform(
        source_crs, "EPSG:4326", width, height, left, bottom, right, top
    )
    scale = max(1.0, float(np.sqrt(dst_width * dst_height / max_pixels)))
    dst_width, dst_height = int(dst_width / scale), int(dst_height / scale)
    dst_transform = dst_transform * Affine.scale(scale)
    values = np.where(np.isfinite(minutes), minutes, np.nan).astype(np.float32)
    warped = np.full((dst_height, dst_width), np.nan, dtype=np.float32)
    reproject(
        values,
        warped,
        src_transform=transform,
        src_crs=source_crs,
        src_nodata=np.nan,
        dst_transform=dst_transform,
        dst_crs="EPSG:4326",
        dst_nodata=np.nan,
        resampling=Resampling.nearest,
    )
    colours = ListedColormap(list(MINUTE_COLOURS))
    norm = BoundaryNorm(list(MINUTE_BREAKS), colours.N)
    rgba = (colours(norm(np.nan_to_num(warped, nan=0.0))) * 255).astype(np.uint8)
    rgba[..., 3] = np.where(np.isfinite(warped), 200, 0)
    Image.fromarray(rgba, mode="RGBA").save(path, optimize=True)
    west, north = dst_transform.c, dst_transform.f
    east = west + dst_width * dst_transform.a
    south = north + dst_height * dst_transform.e
    bounds = [[south, west], [north, east]]
    path.with_suffix(".json").write_text(
        json.dumps(
            {
                "bounds": bounds,
                "crs": "EPSG:4326",
                "breaks_minutes": MINUTE_BREAKS[:-1],
                "colours": MINUTE_COLOURS,
            },
            indent=2,
        ),
        encoding="utf-8",
    )
    return path, bounds


__all__ = [
    "LAND_COVER_FILE",
    "LandCoverRaster",
    "read_land_cover",
    "write_cog",
    "write_overlay_png",
]
