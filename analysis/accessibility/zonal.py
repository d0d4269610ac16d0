"""Population-weighted zonal statistics of travel time with exactextract.

exactextract weighs every cell by the exact fraction of it a commune covers and, with
``weights``, by the population in it, so a commune's mean is ``Σ c·w·t / Σ c·w`` over the cells
it touches (``c`` coverage, ``w`` population, ``t`` minutes). Cells no path reaches count as
beyond every threshold and are left out of the mean; their share is reported.
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
from exactextract import exact_extract
from exactextract.raster import NumPyRasterSource
from pyproj import CRS

from analysis.accessibility.grid import GridSpec

FloatGrid = npt.NDArray[np.float64]
#: Thresholds (minutes) of the "beyond" shares and counts.
THRESHOLDS_MINUTES = (30, 60, 120)
NODATA = -1.0


def _source(
    grid: GridSpec, values: npt.NDArray[Any], name: str, nodata: float | None = None
) -> NumPyRasterSource:
    wkt = CRS.from_user_input(grid.crs).to_wkt()
    return NumPyRasterSource(values, *grid.bounds, nodata=nodata, name=name, srs_wkt=wkt)


def zonal_minutes(
    grid: GridSpec,
    communes: gpd.GeoDataFrame,
    minutes: dict[str, FloatGrid],
    population: FloatGrid,
    rural: FloatGrid,
    thresholds: tuple[int, ...] = THRESHOLDS_MINUTES,
) -> pd.DataFrame:
    """Per commune and kind: population-weighted minutes and rural shares beyond thresholds.

    All kinds go through exactextract in one pass over the communes per weight raster.

    Parameters
    ----------
    grid : GridSpec
        Grid of the rasters.
    communes : geopandas.GeoDataFrame
        ``cut`` and geometry in the grid's CRS.
    minutes : dict
        Destination kind → minutes to the nearest destination (``inf`` unreachable).
    population, rural : ndarray
        Total and rural inhabitants per cell.
    thresholds : tuple of int
        Minutes.

    Returns
    -------
    pandas.DataFrame
        One row per commune and kind: ``cut``, ``facility``, ``minutes_mean`` (all
        inhabitants), ``rural_minutes_mean``, ``rural_unreachable_share`` and
        ``rural_share_beyond_{T}_minutes`` for each threshold (shares 0-1; ``NaN`` where the
        commune has no rural population on the grid).
    """
    time_rasters = []
    share_rasters = []
    for kind, values in minutes.items():
        reachable = np.isfinite(values)
        time_rasters.append(
            _source(
                grid,
                np.where(reachable, values, NODATA).astype(np.float32),
                f"{kind}__minutes",
                NODATA,
            )
        )
        share_rasters.append(_source(grid, (~reachable).astype(np.uint8), f"{kind}__unreachable"))
        for threshold in thresholds:
            beyond = (~reachable | (values > threshold)).astype(np.uint8)
            share_rasters.append(_source(grid, beyond, f"{kind}__beyond_{threshold}"))
    frame = gpd.GeoDataFrame(
        {"cut": communes["cut"].astype(str).to_numpy()},
        geometry=communes.geometry.reset_index(drop=True).to_numpy(),
        crs=grid.crs,
    )
    by_rural = exact_extract(
        time_rasters + share_rasters,
        frame,
        ["weighted_mean"],
        weights=_source(grid, rural, "rural"),
        include_cols=["cut"],
        output="pandas",
    )
    by_total = exact_extract(
        time_rasters,
        frame,
        ["weighted_mean"],
        weights=_source(grid, population, "population"),
        include_cols=["cut"],
        output="pandas",
    )
    parts = []
    for kind in minutes:
        out = pd.DataFrame({"cut": by_rural["cut"].astype(str), "facility": kind})
        out["minutes_mean"] = _column(by_total, f"{kind}__minutes", "population")
        out["rural_minutes_mean"] = _column(by_rural, f"{kind}__minutes", "rural")
        out["rural_unreachable_share"] = _column(by_rural, f"{kind}__unreachable", "rural")
        for threshold in thresholds:
            out[f"rural_share_beyond_{threshold}_minutes"] = _column(
                by_rural, f"{kind}__beyond_{threshold}", "rural"
            )
        parts.append(out)
    return pd.concat(parts, ignore_index=True)


def _column(table: pd.DataFrame, name: str, weights: str) -> npt.NDArray[np.float64]:
    # exactextract names a column "<raster>_<weights>_weighted_mean" when it has several
    # rasters and plain "weighted_mean" when it has one.
    column = f"{name}_{weights}_weighted_mean"
    if column not in table.columns:
        column = "weighted_mean"
    return pd.to_numeric(table[column], errors="coerce").to_numpy(dtype=float)
