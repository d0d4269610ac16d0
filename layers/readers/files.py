"""Opening vector and tabular files of any layout the loaders accept."""

from __future__ import annotations

import csv
import hashlib
import unicodedata
import warnings
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

from layers.errors import LayerError, SchemaError
from layers.parsing import parse_number_column
from layers.validation import SOURCE_ROW

VECTOR_SUFFIXES = {".geojson", ".json", ".gpkg", ".shp", ".zip", ".fgb", ".parquet"}
LATITUDE_NAMES = ("latitude", "latitud", "lat", "y_wgs84")
LONGITUDE_NAMES = ("longitude", "longitud", "lon", "lng", "long", "x_wgs84")
EASTING_NAMES = ("utm_este", "este", "easting", "utm_e", "x_utm", "coord_x", "x")
NORTHING_NAMES = ("utm_norte", "norte", "northing", "utm_n", "y_utm", "coord_y", "y")
UTM19S = "EPSG:32719"


def sha256_of(path: Path) -> str:
    """Return the sha256 hex digest of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fold(text: str) -> str:
    """Lower-case ``text`` and strip accents and separators, for matching column or place names."""
    decomposed = unicodedata.normalize("NFKD", str(text))
    ascii_only = "".join(c for c in decomposed if not unicodedata.combining(c))
    return "".join(c for c in ascii_only.lower() if c.isalnum())


def find_column(frame: pd.DataFrame, candidates: tuple[str, ...]) -> str | None:
    """Return the first column of ``frame`` whose folded name matches a candidate."""
    folded = {fold(column): column for column in frame.columns}
    for candidate in candidates:
        if fold(candidate) in folded:
            return folded[fold(candidate)]
    return None


def require_columns(frame: pd.DataFrame, mapping: dict[str, tuple[str, ...]], path: Path) -> dict:
    """Map target names to source columns; raise a SchemaError naming what is missing."""
    found = {target: find_column(frame, names) for target, names in mapping.items()}
    missing = [
        f"{target} (one of {', '.join(mapping[target])})"
        for target, column in found.items()
        if column is None
    ]
    if missing:
        raise SchemaError(
            f"{path.name}: missing column(s) {'; '.join(missing)}. "
            f"Columns found: {', '.join(map(str, frame.columns))}"
        )
    return found


def read_csv(path: Path) -> pd.DataFrame:
    """Read a CSV as text columns, sniffing the delimiter (``,`` or ``;``) and the encoding."""
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
        encoding = "utf-8-sig"
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
        encoding = "latin-1"
    sample = text[:20_000]
    try:
        delimiter = csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        delimiter = ","
    frame = pd.read_csv(path, sep=delimiter, dtype=str, encoding=encoding, keep_default_na=False)
    frame = frame.replace({"": None})
    frame.insert(0, SOURCE_ROW, range(1, len(frame) + 1))
    return frame


def read_vector(path: Path, layer: str | None = None) -> gpd.GeoDataFrame:
    """Read a vector file, or a CSV whose points are in lat/lon or UTM 19S columns.

    The CRS is the one the file declares (GeoJSON without ``crs`` is EPSG:4326 by RFC 7946); a
    CSV with lat/lon columns is EPSG:4326 and one with UTM columns EPSG:32719. Shapefiles without
    a ``.prj`` come back with no CRS, which the loader refuses unless one is given.
    """
    if not path.exists():
        raise LayerError(f"file not found: {path}")
    if path.suffix.lower() == ".csv":
        return points_from_csv(read_csv(path), path)
    if path.suffix.lower() not in VECTOR_SUFFIXES:
        raise LayerError(
            f"{path.name}: unsupported file type {path.suffix!r}; "
            "use GeoJSON, GeoPackage, Shapefile, FlatGeobuf, GeoParquet or CSV"
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            if path.suffix.lower() == ".parquet":
                frame = gpd.read_parquet(path)
            else:
                frame = gpd.read_file(path, layer=layer, engine="pyogrio", use_arrow=True)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, ValueError) as error:
        raise LayerError(f"{path.name}: cannot read as a vector file ({error})") from None
    frame = frame.reset_index(drop=True)
    frame.insert(0, SOURCE_ROW, range(1, len(frame) + 1))
    return frame


def points_from_csv(frame: pd.DataFrame, path: Path) -> gpd.GeoDataFrame:
    """Build points from lat/lon (EPSG:4326) or UTM 19S (EPSG:32719) columns.

    Rows without coordinates keep an empty geometry; the loader decides whether that is allowed.
    """
    lat, lon = find_column(frame, LATITUDE_NAMES), find_column(frame, LONGITUDE_NAMES)
    east, north = find_column(frame, EASTING_NAMES), find_column(frame, NORTHING_NAMES)
    if lat and lon:
        x, y, crs = parse_number_column(frame[lon]), parse_number_column(frame[lat]), "EPSG:4326"
    elif east and north:
        x, y, crs = parse_number_column(frame[east]), parse_number_column(frame[north]), UTM19S
    else:
        raise SchemaError(
            f"{path.name}: no coordinate columns; a CSV of points needs latitude/longitude "
            "(EPSG:4326) or utm_este/utm_norte (UTM 19S, EPSG:32719) columns"
        )
    geometry = gpd.points_from_xy(x, y)
    geometry[(x.isna() | y.isna()).to_numpy()] = None
    return gpd.GeoDataFrame(frame, geometry=geometry, crs=crs)
