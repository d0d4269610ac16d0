"""Travel-time surfaces on a store's data: the land cover, the computation and its rasters.

Shared by ``geogaps accessibility`` and the siting of new facilities
(:mod:`geo_service.services.siting`), so both build the population, friction and travel-time
surfaces the same way. The raster stack (rasterio, exactextract, scikit-image) is imported when
a function here runs, so other commands start quickly.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from analysis import load_catalogue
from analysis.inputs import AnalysisInputs
from geo_service.services.inputs import read_analysis_inputs
from geo_service.settings import Settings
from layers.stores import Store

if TYPE_CHECKING:
    from analysis.accessibility import AccessibilityResult, LandCover


def land_cover_path(settings: Settings) -> Path:
    """The MODIS land-cover raster of the configured data folder."""
    from layers.rasters import LAND_COVER_FILE

    return settings.data_dir / LAND_COVER_FILE


def land_cover_at(path: Path | None) -> LandCover | None:
    """The land cover read from ``path``, or None when there is no such file."""
    from analysis.accessibility import LandCover
    from layers.rasters import read_land_cover

    if path is None or not path.is_file():
        return None
    raster = read_land_cover(path)
    return LandCover(raster.classes, raster.transform, raster.crs, raster.nodata)


def compute_accessibility(
    store: Store,
    *,
    resolution: float,
    kinds: tuple[str, ...],
    land_cover: LandCover | None,
    region: str | None,
    progress: Callable[[str], None] | None = None,
    inputs: AnalysisInputs | None = None,
) -> AccessibilityResult:
    """Population, friction and travel-time surfaces of the loaded layers (roads when loaded).

    ``inputs`` are the store's analysis inputs when the caller has already read them.
    """
    from analysis.accessibility import run_accessibility

    return run_accessibility(
        inputs if inputs is not None else read_analysis_inputs(store),
        resolution=float(resolution),
        kinds=kinds,
        land_cover=land_cover,
        roads=store.read_table("road_segments"),
        villages=store.read_table("villages"),
        region=region,
        settings=load_catalogue().settings,
        progress=progress,
    )


def write_rasters(result: AccessibilityResult, folder: Path, suffix: str) -> list[Path]:
    """Write every grid's population and travel-time rasters (COG) and PNG overlays."""
    from layers.rasters import write_cog, write_overlay_png

    written: list[Path] = []
    for name, grid_result in result.grids.items():
        grid = grid_result.grid
        stem = f"{round(grid.resolution)}m_{name}{suffix}"
        written.append(
            write_cog(
                folder / f"poblacion_{stem}.tif",
                grid_result.population.astype(np.float32),
                grid.transform,
                grid.crs,
                nodata=None,
                resampling="average",
            )
        )
        for kind, minutes in grid_result.minutes.items():
            values = np.where(np.isfinite(minutes), minutes, -1.0).astype(np.float32)
            # Only Chilean land is shown: sea crossings are routes, not places people live.
            values = np.where(grid_result.land, values, -1.0).astype(np.float32)
            written.append(
                write_cog(
                    folder / f"minutos_{kind}_{stem}.tif",
                    values,
                    grid.transform,
                    grid.crs,
                    nodata=-1.0,
                    resampling="nearest",
                )
            )
            shown = np.where(values >= 0, values, np.nan)
            png, _ = write_overlay_png(
                folder / f"minutos_{kind}_{stem}.png", shown, grid.transform, grid.crs
            )
            written.append(png)
    return written
