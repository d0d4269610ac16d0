"""Files written by the decision tools (``geogaps siting --out``)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd

from layers.errors import LayerError

SITING_SUFFIXES = (".gpkg", ".geojson", ".csv")


def write_siting(
    path: Path, sites: gpd.GeoDataFrame, communes: pd.DataFrame, outlines: gpd.GeoDataFrame
) -> Path:
    """Write chosen sites (points) and the communes' coverage gains.

    A GeoPackage gets two layers, ``sitios`` and ``comunas`` (outlines joined on ``cut``);
    GeoJSON and CSV get the sites only.

    Raises
    ------
    LayerError
        If the suffix is not one of :data:`SITING_SUFFIXES`.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SITING_SUFFIXES:
        raise LayerError(f"{path.name}: la salida debe terminar en {', '.join(SITING_SUFFIXES)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".csv":
        frame = pd.DataFrame(sites.drop(columns=sites.geometry.name))
        frame["longitude"] = sites.geometry.x.to_numpy()
        frame["latitude"] = sites.geometry.y.to_numpy()
        frame.to_csv(path, index=False, encoding="utf-8")
        return path
    if suffix == ".geojson":
        sites.to_file(path, driver="GeoJSON", engine="pyogrio")
        return path
    if path.exists():
        path.unlink()  # a GeoPackage keeps old layers otherwise
    sites.to_file(path, layer="sitios", driver="GPKG", engine="pyogrio")
    polygons = gpd.GeoDataFrame(
        communes.merge(outlines[["cut", "geom"]], on="cut", how="left"),
        geometry="geom",
        crs=outlines.crs,
    )
    polygons.to_file(path, layer="comunas", driver="GPKG", engine="pyogrio")
    return path
