"""Reading planners' configuration files and writing result tables to disk."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import yaml

from layers.errors import LayerError

TABLE_SUFFIXES = (".csv", ".gpkg", ".parquet")


def read_mapping_file(path: Path) -> dict[str, Any]:
    """Read a TOML, YAML or JSON file whose top level is a mapping (e.g. a weights file)."""
    path = Path(path)
    if not path.is_file():
        raise LayerError(f"no se encuentra el archivo {path}")
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix.lower() == ".toml":
            content: Any = tomllib.loads(text)
        elif path.suffix.lower() in (".yaml", ".yml"):
            content = yaml.safe_load(text)
        elif path.suffix.lower() == ".json":
            content = json.loads(text)
        else:
            raise LayerError(f"{path.name}: use un archivo .toml, .yaml o .json")
    except (tomllib.TOMLDecodeError, yaml.YAMLError, json.JSONDecodeError) as error:
        raise LayerError(f"{path.name}: no se puede leer ({error})") from None
    if not isinstance(content, dict):
        raise LayerError(f"{path.name}: el nivel superior debe asociar ids con valores")
    return content


def write_table(frame: pd.DataFrame, path: Path, communes: gpd.GeoDataFrame | None = None) -> Path:
    """Write a commune table as CSV, GeoPackage or (Geo)Parquet, chosen by the suffix.

    GeoPackage output needs a geometry: rows are joined on ``cut`` to ``communes``.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise LayerError(f"{path.name}: la salida debe terminar en {', '.join(TABLE_SUFFIXES)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".csv":
        frame.to_csv(path, index=False, encoding="utf-8")
    elif communes is not None and suffix in (".gpkg", ".parquet"):
        outlines = communes[["cut", "geom"]]
        spatial = gpd.GeoDataFrame(
            frame.merge(outlines, on="cut", how="left"), geometry="geom", crs=communes.crs
        )
        if suffix == ".gpkg":
            spatial.to_file(path, layer="brechas", driver="GPKG", engine="pyogrio")
        else:
            spatial.to_parquet(path, index=False)
    elif suffix == ".parquet":
        frame.to_parquet(path, index=False)
    else:
        raise LayerError("la salida GeoPackage necesita los límites comunales")
    return path
